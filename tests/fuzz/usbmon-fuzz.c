/* A fuzz entry point for the usbmon text path: capture (lib/usbmon/capture.c) of
 * arbitrary URBs, the bus fan-out (bus.c), the readers (reader.c) read in pieces of
 * any size, and the formatter (text.c) -- checked against the kernel's own printf
 * code (tests/usbmon/mon-ref.c), which is why it lives here and not in lib/.
 *
 * The input is a list of operations (see op_* below): open or close a reader on bus
 * 0-3 in 'u' or 't' format, add or remove a bus, an URB event (submit, submit error or
 * completion) with every URB field from the input (ISO descriptors, lengths that
 * exceed the buffer, no buffer, no setup packet), a read of 0-300 or 64 KiB bytes, a
 * peek and partial consume.  At the end every reader is drained.
 *
 * Invariants (returning -EIO when one breaks):
 *  - what each reader returned, concatenated, is exactly the kernel's text for the
 *    events it should have seen: those on its bus (or any bus for bus 0) after it
 *    opened and before its bus went away, minus those its full queue dropped -- each
 *    line formatted by mon-ref from an independent capture of the same URB at the same
 *    timestamp;
 *  - a read returns at most what was asked, -EAGAIN only when nothing is there, 0 only
 *    for end of file (hung up and drained) or a 0-byte read;
 *  - each reader's lost count is the number of events its full queue dropped, and the
 *    bus statistics add up (readers, text_lost);
 *  - an event nobody monitors is not captured (the clock is not even read).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/usb/urb.h"
#include "lib/usbmon/bus.h"
#include "lib/usbmon/capture.h"
#include "lib/usbmon/reader.h"
#include "lib/usbmon/text.h"
#include "lib/util/fuzz.h"
#include "usbmon/mon-ref.h"

int iop_usbmon_fuzz_one(const uint8_t *data, size_t len);

#define READERS 6
#define BUSES 4      /* 0 (all) .. 3 */
#define MAX_OPS 400
#define MAX_ISO 8
#define MAX_BUF 512
#define TEXT_MAX (1u << 20)

struct fz_reader {
    struct iop_mon_reader *r; /* NULL: slot free */
    unsigned bus;
    char fmt;
    char *got, *want;         /* what reads returned / what they should have */
    size_t n_got, n_want;
    uint32_t dropped;
};

struct fz_clock {
    unsigned long calls;
    uint64_t usec;
};

struct fz {
    struct iop_mon *m;
    struct fz_clock clock;
    struct fz_reader rd[READERS];
    uint32_t bus_lost[BUSES];
    bool bus_present[BUSES];
};

static void fz_clock_fn(void *ctx, clockid_t clock, struct timespec *ts) {
    struct fz_clock *c = ctx;
    (void)clock; /* text readers only: always CLOCK_MONOTONIC */
    c->calls++;
    c->usec += 13;
    ts->tv_sec = (time_t)(c->usec / 1000000);
    ts->tv_nsec = (long)(c->usec % 1000000) * 1000;
}

static int append(char **buf, size_t *n, const char *s, size_t len) {
    if (*n + len > TEXT_MAX)
        return IOP_FUZZ_FAIL("usbmon: more text than any input can produce");
    /* Grows in powers of two from 4 KiB: most runs read a few lines. */
    size_t cap = 4096;
    while (cap < *n)
        cap *= 2;
    if (!*buf || *n + len > cap) {
        while (cap < *n + len)
            cap *= 2;
        char *nb = realloc(*buf, cap);
        if (!nb)
            return -ENOMEM;
        *buf = nb;
    }
    memcpy(*buf + *n, s, len);
    *n += len;
    return 0;
}

static int read_some(struct fz_reader *x, size_t n) {
    static char buf[65536];
    int r = iop_mon_reader_read(x->r, buf, n);
    if (r == -EAGAIN)
        return iop_mon_reader_readable(x->r) ? IOP_FUZZ_FAIL("usbmon: -EAGAIN while readable") : 0;
    if (r < 0 || (size_t)r > n)
        return IOP_FUZZ_FAIL("usbmon: read of %zu returned %d", n, r);
    if (r == 0 && n && !(iop_mon_reader_hung_up(x->r) && !iop_mon_reader_readable(x->r)))
        return IOP_FUZZ_FAIL("usbmon: end of file while not hung up and drained");
    return append(&x->got, &x->n_got, buf, (size_t)r);
}

static int drain(struct fz_reader *x) {
    for (unsigned guard = 0; iop_mon_reader_readable(x->r); guard++) {
        if (guard > 10000)
            return IOP_FUZZ_FAIL("usbmon: a reader never drains");
        int r = read_some(x, 65536);
        if (r)
            return r;
    }
    return 0;
}

static int close_reader(struct fz *f, struct fz_reader *x) {
    int r = drain(x);
    if (!r && (x->n_got != x->n_want || (x->n_got && memcmp(x->got, x->want, x->n_got) != 0)))
        r = IOP_FUZZ_FAIL("usbmon: reader on bus %u (%c) read %zu bytes, the kernel's text is %zu", x->bus,
                          x->fmt, x->n_got, x->n_want);
    if (!r && iop_mon_reader_lost(x->r) != x->dropped)
        r = IOP_FUZZ_FAIL("usbmon: lost %u, dropped %u", iop_mon_reader_lost(x->r), x->dropped);
    iop_mon_reader_free(x->r);
    free(x->got);
    free(x->want);
    *x = (struct fz_reader){ 0 };
    (void)f;
    return r;
}

/* An URB event: which readers take it is decided by their queues before it happens. */
static int urb_event(struct fz *f, struct iop_urb *u, char type, int status) {
    bool full[READERS], live[READERS], monitored = false;
    for (unsigned i = 0; i < READERS; i++) {
        struct fz_reader *x = &f->rd[i];
        live[i] = x->r && !iop_mon_reader_hung_up(x->r) && (x->bus == 0 || x->bus == u->busnum);
        full[i] = live[i] && iop_mon_reader_queued(x->r) >= IOP_MON_EVENT_MAX;
        monitored |= live[i];
    }
    unsigned long calls = f->clock.calls;
    if (type == 'S')
        iop_mon_submit(f->m, u);
    else if (type == 'E')
        iop_mon_submit_error(f->m, u, status);
    else
        iop_mon_complete(f->m, u, status);
    bool captured = f->clock.calls != calls;
    if (monitored != captured)
        return IOP_FUZZ_FAIL("usbmon: event on bus %u captured %d, monitored %d", u->busnum, captured,
                             monitored);
    if (!captured)
        return 0;
    struct timespec ts = { (time_t)(f->clock.usec / 1000000), (long)(f->clock.usec % 1000000) * 1000 };
    struct iop_mon_event ev;
    if (iop_mon_capture(&ev, u, type, status, iop_mon_timestamp(&ts)) < 0)
        return IOP_FUZZ_FAIL("usbmon: capture refused an event");
    for (unsigned i = 0; i < READERS; i++) {
        struct fz_reader *x = &f->rd[i];
        if (!live[i])
            continue;
        if (full[i]) {
            x->dropped++;
            f->bus_lost[x->bus]++; /* counted on the reader's bus (0 for "all buses") */
            continue;
        }
        char line[IOP_MON_PRINTF_DFL];
        int n = mon_ref_format(x->fmt, &ev, line, sizeof(line));
        int r = n < 0 ? IOP_FUZZ_FAIL("usbmon: the reference formatter failed") : append(&x->want, &x->n_want, line, (size_t)n);
        if (r)
            return r;
    }
    return 0;
}

/* An URB with every field from the input.  The buffer is exactly
 * transfer_buffer_length bytes (or absent), so ASan sees any read outside it. */
static int op_urb(struct fz *f, struct iop_fuzz_in *in) {
    uint8_t flags = iop_fuzz_u8(in);
    unsigned npk = (flags & 0x80) ? iop_fuzz_u8(in) % (MAX_ISO + 1) : 0;
    struct iop_urb *u = calloc(1, sizeof(*u) + npk * sizeof(u->iso_frame_desc[0]));
    if (!u)
        return -ENOMEM;
    u->xfer = flags & 3;
    u->dir_in = flags & 4;
    uint8_t ev_pick = (flags >> 3) & 3;
    u->endpoint = iop_fuzz_u8(in);
    u->busnum = 1 + iop_fuzz_u8(in) % (BUSES - 1);
    u->devnum = iop_fuzz_u8(in);
    uint32_t blen = iop_fuzz_u16(in) % (MAX_BUF + 1);
    u->transfer_buffer_length = blen;
    if (!(flags & 0x40) && blen) {
        u->transfer_buffer = malloc(blen);
        if (!u->transfer_buffer) {
            free(u);
            return -ENOMEM;
        }
        iop_fuzz_fill(in, u->transfer_buffer, blen);
    }
    uint8_t setup[8];
    if (flags & 0x20) {
        iop_fuzz_fill(in, setup, sizeof(setup));
        u->setup_packet = setup;
    }
    u->actual_length = iop_fuzz_u32(in);
    u->interval = (int)iop_fuzz_u32(in);
    u->start_frame = (int)iop_fuzz_u32(in);
    u->error_count = (int)iop_fuzz_u32(in);
    u->number_of_packets = (int)npk;
    for (unsigned i = 0; i < npk; i++) {
        u->iso_frame_desc[i].offset = iop_fuzz_u32(in);
        u->iso_frame_desc[i].length = iop_fuzz_u32(in);
        u->iso_frame_desc[i].actual_length = iop_fuzz_u32(in);
        u->iso_frame_desc[i].status = (int)iop_fuzz_u32(in);
    }
    int status = (int)iop_fuzz_u32(in);
    int r = urb_event(f, u, ev_pick == 1 ? 'E' : ev_pick >= 2 ? 'C' : 'S', status);
    free(u->transfer_buffer);
    free(u);
    return r;
}

static int op_open(struct fz *f, struct iop_fuzz_in *in) {
    uint8_t a = iop_fuzz_u8(in);
    unsigned bus = a % BUSES;
    char fmt = (a & 0x10) ? 't' : 'u';
    struct fz_reader *x = NULL;
    for (unsigned i = 0; i < READERS && !x; i++)
        if (!f->rd[i].r)
            x = &f->rd[i];
    if (!x)
        return 0;
    struct iop_mon_reader *r;
    int e = iop_mon_open(f->m, bus, fmt == 't' ? IOP_MON_FMT_T : IOP_MON_FMT_U, &r);
    int want = (bus && !f->bus_present[bus]) ? -ENODEV : (bus == 0 && fmt == 't') ? -EINVAL : 0;
    if (e != want)
        return IOP_FUZZ_FAIL("usbmon: open of bus %u '%c' gave %d, expected %d", bus, fmt, e, want);
    if (e == 0)
        *x = (struct fz_reader){ .r = r, .bus = bus, .fmt = fmt };
    return 0;
}

static int check_stats(struct fz *f) {
    for (unsigned b = 0; b < BUSES; b++) {
        if (b && !f->bus_present[b])
            continue;
        struct iop_mon_stats st;
        if (iop_mon_stats(f->m, b, &st) < 0)
            return IOP_FUZZ_FAIL("usbmon: no stats for bus %u", b);
        int readers = 0;
        for (unsigned i = 0; i < READERS; i++)
            readers += f->rd[i].r && f->rd[i].bus == b && !iop_mon_reader_hung_up(f->rd[i].r);
        if (st.nreaders != readers || st.text_lost != f->bus_lost[b])
            return IOP_FUZZ_FAIL("usbmon: bus %u: %d readers and %u lost, stats say %d and %u", b, readers,
                                 f->bus_lost[b], st.nreaders, st.text_lost);
        char text[IOP_MON_STAT_BUF];
        if (iop_mon_stats_text(f->m, b, text, sizeof(text)) <= 0)
            return IOP_FUZZ_FAIL("usbmon: bus %u: no stats text", b);
    }
    return 0;
}

int iop_usbmon_fuzz_one(const uint8_t *data, size_t len) {
    struct iop_fuzz_in in = iop_fuzz_in(data, len);
    struct fz f = { 0 };
    if (iop_mon_new(&f.m) < 0)
        return -ENOMEM;
    iop_mon_set_clock(f.m, fz_clock_fn, &f.clock);
    f.bus_present[0] = true;
    int r = 0;
    for (unsigned ops = 0; r == 0 && ops < MAX_OPS && !iop_fuzz_empty(&in); ops++) {
        uint8_t op = iop_fuzz_u8(&in);
        uint8_t arg = iop_fuzz_u8(&in);
        struct fz_reader *x = &f.rd[arg % READERS];
        unsigned bus = 1 + arg % (BUSES - 1);
        switch (op % 8) {
        case 0: /* open */
            r = op_open(&f, &in);
            break;
        case 1: /* close */
            if (x->r)
                r = close_reader(&f, x);
            break;
        case 2: /* a bus appears */
            if (iop_mon_add_bus(f.m, bus) != (f.bus_present[bus] ? -EEXIST : 0))
                r = IOP_FUZZ_FAIL("usbmon: add bus %u", bus);
            f.bus_present[bus] = true;
            break;
        case 3: /* a bus goes away: its readers hang up */
            if (iop_mon_remove_bus(f.m, bus) != (f.bus_present[bus] ? 0 : -ENOENT))
                r = IOP_FUZZ_FAIL("usbmon: remove bus %u", bus);
            f.bus_present[bus] = false;
            for (unsigned i = 0; r == 0 && i < READERS; i++)
                if (f.rd[i].r && f.rd[i].bus == bus && !iop_mon_reader_hung_up(f.rd[i].r))
                    r = IOP_FUZZ_FAIL("usbmon: a reader of removed bus %u did not hang up", bus);
            break;
        case 4:
        case 5: /* URB events are what matters most */
            r = op_urb(&f, &in);
            break;
        case 6: /* a read of some size */
            if (x->r) {
                uint8_t sz = iop_fuzz_u8(&in);
                r = read_some(x, sz == 0xFF ? 65536 : sz * 300u / 255u);
            }
            break;
        default: /* peek for `want`, consume part of it */
            if (x->r) {
                const char *p;
                size_t want = iop_fuzz_u8(&in) * 4u, take = iop_fuzz_u8(&in);
                int n = iop_mon_reader_peek(x->r, want, &p);
                if (n > 0) {
                    take = take < (size_t)n ? take : (size_t)n;
                    r = append(&x->got, &x->n_got, p, take);
                    iop_mon_reader_consume(x->r, take);
                } else if (n != -EAGAIN && n != 0) {
                    r = IOP_FUZZ_FAIL("usbmon: peek returned %d", n);
                }
            }
            break;
        }
        if (r == 0 && ops % 16 == 0)
            r = check_stats(&f);
    }
    if (r == 0)
        r = check_stats(&f);
    for (unsigned i = 0; i < READERS; i++) {
        if (!f.rd[i].r)
            continue;
        int e = close_reader(&f, &f.rd[i]);
        r = r ? r : e;
    }
    iop_mon_free(f.m);
    return r;
}
