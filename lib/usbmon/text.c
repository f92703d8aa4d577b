#include "lib/usbmon/text.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "lib/usb/urb.h"
#include "lib/usbmon/capture.h"
#include "lib/util/fmt.h"

/* A line under construction with scnprintf() semantics: every append is cut at
 * IOP_MON_LINE_MAX, so the result is the first 249 bytes of the full line.  The
 * numbers are converted by hand (the formats are only %lx %u %d %02x and zero-padded
 * %0Nu) because snprintf per field dominates the cost of a read. */
struct line {
    char *buf; /* at least IOP_MON_PRINTF_DFL bytes */
    unsigned cnt;
};

static void put(struct line *l, const char *s, unsigned n) {
    unsigned room = IOP_MON_LINE_MAX - l->cnt;
    if (n > room)
        n = room;
    memcpy(l->buf + l->cnt, s, n);
    l->cnt += n;
}

static void put_char(struct line *l, char c) {
    put(l, &c, 1);
}

/* %u with at least width digits, zero padded (%03u, %02u; width 1 is plain %u). */
static void put_u(struct line *l, uint32_t v, unsigned width) {
    char tmp[IOP_FMT_UINT_MAX];
    const char *s = iop_fmt_uint(tmp, v, 10, width, false);
    put(l, s, (unsigned)(tmp + sizeof(tmp) - s));
}

/* %d, INT_MIN included. */
static void put_d(struct line *l, int v) {
    if (v < 0) {
        put_char(l, '-');
        put_u(l, 0u - (uint32_t)v, 1);
    } else {
        put_u(l, (uint32_t)v, 1);
    }
}

static const char hexdig[16] = "0123456789abcdef";

/* %lx on a 64-bit kernel: lower case, no padding. */
static void put_x64(struct line *l, uint64_t v) {
    char tmp[IOP_FMT_UINT_MAX];
    const char *s = iop_fmt_uint(tmp, v, 16, 1, false);
    put(l, s, (unsigned)(tmp + sizeof(tmp) - s));
}

/* %0Nx for N = 2 or 4. */
static void put_x(struct line *l, unsigned v, unsigned digits) {
    char tmp[4];
    for (unsigned i = digits; i-- > 0; v >>= 4)
        tmp[i] = hexdig[v & 0xf];
    put(l, tmp, digits);
}

/* The kernel keeps devnum in a "char" and prints it %03u: on x86_64 (signed char) an
 * address above 127 would come out sign-extended.  USB addresses stop at 127, so this
 * only matters for a byte-exact answer to a broken URB. */
static uint32_t devnum_as_printed(uint8_t devnum) {
    return (uint32_t)(int)(int8_t)devnum;
}

/* mon_text_read_head_{u,t}: the type letter; anything that is not ISO, interrupt or
 * control prints as bulk, like the kernel's default case. */
static char xfer_letter(uint8_t xfer) {
    switch (xfer) {
    case IOP_XFER_ISOC: return 'Z';
    case IOP_XFER_INT: return 'I';
    case IOP_XFER_CONTROL: return 'C';
    default: return 'B';
    }
}

/* "%lx %u %c %c%c:" — common to both heads. */
static void head_common(struct line *l, const struct iop_mon_event *ev) {
    put_x64(l, ev->tag);
    put_char(l, ' ');
    put_u(l, ev->tstamp, 1);
    put_char(l, ' ');
    put_char(l, ev->type);
    put_char(l, ' ');
    put_char(l, xfer_letter(ev->xfer));
    put_char(l, ev->dir_in ? 'i' : 'o');
    put_char(l, ':');
}

/* " s %02x %02x %04x %04x %04x" | " %c __ __ ____ ____ ____" | " %d" (status) */
static void statset(struct line *l, const struct iop_mon_event *ev) {
    if (ev->setup_flag == 0) {
        const uint8_t *s = ev->setup;
        put(l, " s ", 3);
        put_x(l, s[0], 2);
        put_char(l, ' ');
        put_x(l, s[1], 2);
        for (unsigned i = 2; i < IOP_MON_SETUP_MAX; i += 2) {
            put_char(l, ' ');
            put_x(l, (unsigned)s[i + 1] << 8 | s[i], 4);
        }
    } else if (ev->setup_flag != '-') {
        put_char(l, ' ');
        put_char(l, ev->setup_flag);
        put(l, " __ __ ____ ____ ____", 21);
    } else {
        put_char(l, ' ');
        put_d(l, ev->status);
    }
}

/* " %d" length, then " = xxxxxxxx ..." | " %c" flag, then "\n" (mon_text_read_data). */
static void length_and_data(struct line *l, const struct iop_mon_event *ev) {
    put_char(l, ' ');
    put_d(l, ev->length);
    if (ev->length > 0) {
        if (ev->data_flag == 0) {
            unsigned n = ev->data_len < IOP_MON_DATA_MAX ? ev->data_len : IOP_MON_DATA_MAX;
            put(l, " =", 2);
            for (unsigned i = 0; i < n; i++) {
                if (i % 4 == 0)
                    put_char(l, ' ');
                put_x(l, ev->data[i], 2);
            }
        } else {
            put_char(l, ' ');
            put_char(l, ev->data_flag);
        }
    }
    put_char(l, '\n');
}

static void format_u(struct line *l, const struct iop_mon_event *ev) {
    head_common(l, ev);
    put_d(l, ev->busnum);
    put_char(l, ':');
    put_u(l, devnum_as_printed(ev->devnum), 3);
    put_char(l, ':');
    put_u(l, ev->epnum, 1);

    if (ev->type == 'E') {
        statset(l, ev);
    } else if (ev->xfer == IOP_XFER_ISOC) {
        put_char(l, ' ');
        put_d(l, ev->status);
        put_char(l, ':');
        put_d(l, ev->interval);
        put_char(l, ':');
        put_d(l, ev->start_frame);
        if (ev->type != 'S') {
            put_char(l, ':');
            put_d(l, ev->error_count);
        }
        put_char(l, ' ');
        put_d(l, ev->numdesc);
        int n = ev->numdesc < 0 ? 0 : ev->numdesc > IOP_MON_ISODESC_MAX ? IOP_MON_ISODESC_MAX : ev->numdesc;
        for (int i = 0; i < n; i++) {
            put_char(l, ' ');
            put_d(l, ev->iso[i].status);
            put_char(l, ':');
            put_u(l, ev->iso[i].offset, 1);
            put_char(l, ':');
            put_u(l, ev->iso[i].length, 1);
        }
    } else if (ev->xfer == IOP_XFER_INT) {
        put_char(l, ' ');
        put_d(l, ev->status);
        put_char(l, ':');
        put_d(l, ev->interval);
    } else {
        statset(l, ev);
    }
    length_and_data(l, ev);
}

static void format_t(struct line *l, const struct iop_mon_event *ev) {
    head_common(l, ev);
    put_u(l, devnum_as_printed(ev->devnum), 3);
    put_char(l, ':');
    put_u(l, ev->epnum, 2);
    statset(l, ev);
    length_and_data(l, ev);
}

int iop_mon_format(enum iop_mon_fmt fmt, const struct iop_mon_event *ev, char *buf, size_t len) {
    char tmp[IOP_MON_PRINTF_DFL];
    if (!ev || (fmt != IOP_MON_FMT_U && fmt != IOP_MON_FMT_T))
        return -EINVAL;
    if (!buf)
        return -ENOSPC;
    /* Straight into a buffer that can hold any line; via tmp into a smaller one. */
    struct line l = { .buf = len >= IOP_MON_PRINTF_DFL ? buf : tmp, .cnt = 0 };
    if (fmt == IOP_MON_FMT_U)
        format_u(&l, ev);
    else
        format_t(&l, ev);
    if (l.buf == tmp) {
        if (l.cnt + 1 > len)
            return -ENOSPC;
        memcpy(buf, tmp, l.cnt);
    }
    buf[l.cnt] = 0;
    return (int)l.cnt;
}

int iop_mon_format_u(const struct iop_mon_event *ev, char *buf, size_t len) {
    return iop_mon_format(IOP_MON_FMT_U, ev, buf, len);
}

int iop_mon_format_t(const struct iop_mon_event *ev, char *buf, size_t len) {
    return iop_mon_format(IOP_MON_FMT_T, ev, buf, len);
}
