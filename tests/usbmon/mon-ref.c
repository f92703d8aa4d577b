#include "mon-ref.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/usb/urb.h"
#include "lib/usbmon/capture.h"

#define DATA_MAX 32
#define SETUP_MAX 8
#define ISODESC_MAX 5

/* USB_ENDPOINT_XFER_*: the kernel's event stores the endpoint type, not the pipe type. */
#define USB_ENDPOINT_XFER_CONTROL 0
#define USB_ENDPOINT_XFER_ISOC 1
#define USB_ENDPOINT_XFER_BULK 2
#define USB_ENDPOINT_XFER_INT 3

struct mon_iso_desc {
    int status;
    unsigned int offset;
    unsigned int length;
};

/* struct mon_event_text, the fields the read side uses, with the kernel's types. */
struct mon_event_text {
    int type;
    unsigned long id;
    unsigned int tstamp;
    int busnum;
    char devnum;
    char epnum;
    char is_in;
    char xfertype;
    int length;
    int status;
    int interval;
    int start_frame;
    int error_count;
    char setup_flag;
    char data_flag;
    int numdesc;
    struct mon_iso_desc isodesc[ISODESC_MAX];
    unsigned char setup[SETUP_MAX];
    unsigned char data[DATA_MAX];
};

struct mon_text_ptr {
    int cnt, limit;
    char *pbuf;
};

/* The kernel's scnprintf: the count actually stored, never more than size - 1. */
__attribute__((format(printf, 3, 4))) static int scnprintf(char *buf, size_t size, const char *fmt, ...) {
    va_list ap;
    if (size == 0)
        return 0;
    va_start(ap, fmt);
    int i = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    if (i < 0)
        return 0;
    return (size_t)i < size ? i : (int)(size - 1);
}

static void mon_text_read_head_t(struct mon_text_ptr *p, const struct mon_event_text *ep) {
    char udir, utype;
    udir = (ep->is_in ? 'i' : 'o');
    switch (ep->xfertype) {
    case USB_ENDPOINT_XFER_ISOC: utype = 'Z'; break;
    case USB_ENDPOINT_XFER_INT: utype = 'I'; break;
    case USB_ENDPOINT_XFER_CONTROL: utype = 'C'; break;
    default: utype = 'B';
    }
    p->cnt += scnprintf(p->pbuf + p->cnt, p->limit - p->cnt, "%lx %u %c %c%c:%03u:%02u", ep->id, ep->tstamp,
                        ep->type, utype, udir, ep->devnum, ep->epnum);
}

static void mon_text_read_head_u(struct mon_text_ptr *p, const struct mon_event_text *ep) {
    char udir, utype;
    udir = (ep->is_in ? 'i' : 'o');
    switch (ep->xfertype) {
    case USB_ENDPOINT_XFER_ISOC: utype = 'Z'; break;
    case USB_ENDPOINT_XFER_INT: utype = 'I'; break;
    case USB_ENDPOINT_XFER_CONTROL: utype = 'C'; break;
    default: utype = 'B';
    }
    p->cnt += scnprintf(p->pbuf + p->cnt, p->limit - p->cnt, "%lx %u %c %c%c:%d:%03u:%u", ep->id, ep->tstamp,
                        ep->type, utype, udir, ep->busnum, ep->devnum, ep->epnum);
}

static void mon_text_read_statset(struct mon_text_ptr *p, const struct mon_event_text *ep) {
    if (ep->setup_flag == 0) {
        p->cnt += scnprintf(p->pbuf + p->cnt, p->limit - p->cnt, " s %02x %02x %04x %04x %04x", ep->setup[0],
                            ep->setup[1], (ep->setup[3] << 8) | ep->setup[2], (ep->setup[5] << 8) | ep->setup[4],
                            (ep->setup[7] << 8) | ep->setup[6]);
    } else if (ep->setup_flag != '-') {
        p->cnt += scnprintf(p->pbuf + p->cnt, p->limit - p->cnt, " %c __ __ ____ ____ ____", ep->setup_flag);
    } else {
        p->cnt += scnprintf(p->pbuf + p->cnt, p->limit - p->cnt, " %d", ep->status);
    }
}

static void mon_text_read_intstat(struct mon_text_ptr *p, const struct mon_event_text *ep) {
    p->cnt += scnprintf(p->pbuf + p->cnt, p->limit - p->cnt, " %d:%d", ep->status, ep->interval);
}

static void mon_text_read_isostat(struct mon_text_ptr *p, const struct mon_event_text *ep) {
    if (ep->type == 'S') {
        p->cnt += scnprintf(p->pbuf + p->cnt, p->limit - p->cnt, " %d:%d:%d", ep->status, ep->interval,
                            ep->start_frame);
    } else {
        p->cnt += scnprintf(p->pbuf + p->cnt, p->limit - p->cnt, " %d:%d:%d:%d", ep->status, ep->interval,
                            ep->start_frame, ep->error_count);
    }
}

static void mon_text_read_isodesc(struct mon_text_ptr *p, const struct mon_event_text *ep) {
    int ndesc;
    int i;
    const struct mon_iso_desc *dp;
    p->cnt += scnprintf(p->pbuf + p->cnt, p->limit - p->cnt, " %d", ep->numdesc);
    ndesc = ep->numdesc;
    if (ndesc > ISODESC_MAX)
        ndesc = ISODESC_MAX;
    if (ndesc < 0)
        ndesc = 0;
    dp = ep->isodesc;
    for (i = 0; i < ndesc; i++) {
        p->cnt += scnprintf(p->pbuf + p->cnt, p->limit - p->cnt, " %d:%u:%u", dp->status, dp->offset, dp->length);
        dp++;
    }
}

/* One deliberate difference: the number of data bytes shown is the event's data_len,
 * which lib/usbmon keeps (capture.h); for a valid URB it is min(length, DATA_MAX). */
static void mon_text_read_data(struct mon_text_ptr *p, const struct mon_event_text *ep, int data_len_captured) {
    int data_len, i;
    if ((data_len = ep->length) > 0) {
        if (ep->data_flag == 0) {
            p->cnt += scnprintf(p->pbuf + p->cnt, p->limit - p->cnt, " =");
            if (data_len >= DATA_MAX)
                data_len = DATA_MAX;
            if (data_len > data_len_captured)
                data_len = data_len_captured;
            for (i = 0; i < data_len; i++) {
                if (i % 4 == 0)
                    p->cnt += scnprintf(p->pbuf + p->cnt, p->limit - p->cnt, " ");
                p->cnt += scnprintf(p->pbuf + p->cnt, p->limit - p->cnt, "%02x", ep->data[i]);
            }
            p->cnt += scnprintf(p->pbuf + p->cnt, p->limit - p->cnt, "\n");
        } else {
            p->cnt += scnprintf(p->pbuf + p->cnt, p->limit - p->cnt, " %c\n", ep->data_flag);
        }
    } else {
        p->cnt += scnprintf(p->pbuf + p->cnt, p->limit - p->cnt, "\n");
    }
}

static const char xfer_to_endpoint_type[4] = {
    [IOP_XFER_ISOC] = USB_ENDPOINT_XFER_ISOC,
    [IOP_XFER_INT] = USB_ENDPOINT_XFER_INT,
    [IOP_XFER_CONTROL] = USB_ENDPOINT_XFER_CONTROL,
    [IOP_XFER_BULK] = USB_ENDPOINT_XFER_BULK,
};

int mon_ref_format(char fmt, const struct iop_mon_event *ev, char *buf, size_t len) {
    struct mon_event_text e;
    memset(&e, 0, sizeof(e));
    e.type = ev->type;
    e.id = (unsigned long)ev->tag;
    e.tstamp = ev->tstamp;
    e.busnum = ev->busnum;
    e.devnum = (char)ev->devnum;
    e.epnum = (char)ev->epnum;
    e.is_in = ev->dir_in;
    e.xfertype = ev->xfer < 4 ? xfer_to_endpoint_type[ev->xfer] : (char)(0x40 | ev->xfer); /* -> bulk */
    e.length = ev->length;
    e.status = ev->status;
    e.interval = ev->interval;
    e.start_frame = ev->start_frame;
    e.error_count = ev->error_count;
    e.setup_flag = ev->setup_flag;
    e.data_flag = ev->data_flag;
    e.numdesc = ev->numdesc;
    for (int i = 0; i < ISODESC_MAX; i++) {
        e.isodesc[i].status = ev->iso[i].status;
        e.isodesc[i].offset = ev->iso[i].offset;
        e.isodesc[i].length = ev->iso[i].length;
    }
    memcpy(e.setup, ev->setup, SETUP_MAX);
    memcpy(e.data, ev->data, DATA_MAX);

    struct mon_text_ptr ptr = { .cnt = 0, .pbuf = buf, .limit = len < 4096 ? (int)len : 4096 };
    const struct mon_event_text *ep = &e;
    if (fmt == 't') {
        mon_text_read_head_t(&ptr, ep);
        mon_text_read_statset(&ptr, ep);
        ptr.cnt += scnprintf(ptr.pbuf + ptr.cnt, ptr.limit - ptr.cnt, " %d", ep->length);
        mon_text_read_data(&ptr, ep, ev->data_len);
    } else {
        mon_text_read_head_u(&ptr, ep);
        if (ep->type == 'E') {
            mon_text_read_statset(&ptr, ep);
        } else if (ep->xfertype == USB_ENDPOINT_XFER_ISOC) {
            mon_text_read_isostat(&ptr, ep);
            mon_text_read_isodesc(&ptr, ep);
        } else if (ep->xfertype == USB_ENDPOINT_XFER_INT) {
            mon_text_read_intstat(&ptr, ep);
        } else {
            mon_text_read_statset(&ptr, ep);
        }
        ptr.cnt += scnprintf(ptr.pbuf + ptr.cnt, ptr.limit - ptr.cnt, " %d", ep->length);
        mon_text_read_data(&ptr, ep, ev->data_len);
    }
    return ptr.cnt;
}
