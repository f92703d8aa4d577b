#include "lib/usbmon/binary.h"

#include <errno.h>
#include <string.h>

#include "lib/usb/urb.h"
#include "lib/usbmon/capture.h"

#define EP_NUMBER_MASK 0x0fu
#define EP_DIR_IN 0x80u

/* mon_bin_collate_isodesc(): an ISO IN completion is sparse, so actual_length cannot
 * say how much of the buffer to take; take up to the end of the last packet that
 * moved data.  Sums are done in 64 bits: a broken descriptor cannot wrap to a small
 * length (the caller caps the result at the buffer). */
static uint64_t iso_collate(const struct iop_urb *urb, unsigned ndesc) {
    uint64_t length = 0;
    for (unsigned i = 0; i < ndesc; i++) {
        const struct iop_iso_packet_descriptor *fp = &urb->iso_frame_desc[i];
        if (fp->actual_length != 0 && (uint64_t)fp->offset + fp->actual_length > length)
            length = (uint64_t)fp->offset + fp->actual_length;
    }
    return length;
}

int iop_mon_bin_prepare(struct iop_mon_bin_event *ev, const struct iop_urb *urb, char type, int status,
                        const struct timespec *ts) {
    if (!ev || !urb || !ts || (type != 'S' && type != 'C' && type != 'E'))
        return -EINVAL;

    /* Every byte defined: the header goes to callers as it is. */
    memset(ev, 0, sizeof(*ev));
    struct iop_mon_bin_hdr *h = &ev->hdr;
    h->id = (uint64_t)(uintptr_t)urb;
    h->type = (uint8_t)type;
    h->xfer_type = urb->xfer;
    h->epnum = (uint8_t)((urb->endpoint & EP_NUMBER_MASK) | (urb->dir_in ? EP_DIR_IN : 0));
    h->devnum = urb->devnum;
    h->busnum = urb->busnum;
    h->ts_sec = (int64_t)ts->tv_sec;
    h->ts_usec = (int32_t)(ts->tv_nsec / 1000);

    if (type == 'E') {
        /* mon_bin_error(): the header only, no lengths, no flags, no interval. */
        h->status = status;
        h->flag_setup = '-';
        h->flag_data = 'E';
        ev->data_tag = 'E';
        return 0;
    }

    h->status = type == 'S' ? IOP_MON_SUBMIT_STATUS : status;
    h->len_urb = type == 'S' ? urb->transfer_buffer_length : urb->actual_length;
    h->xfer_flags = urb->transfer_flags | (urb->dir_in ? IOP_MON_BIN_URB_DIR_IN : 0);

    uint64_t length = h->len_urb;
    unsigned ndesc = 0;
    if (urb->xfer == IOP_XFER_ISOC) {
        ndesc = urb->number_of_packets < 0 ? 0 : (unsigned)urb->number_of_packets;
        if (ndesc > IOP_MON_BIN_ISODESC_MAX)
            ndesc = IOP_MON_BIN_ISODESC_MAX;
        if (type == 'C' && urb->dir_in)
            length = iso_collate(urb, ndesc);
        h->interval = urb->interval;
        h->start_frame = urb->start_frame;
        h->s.iso.error_count = urb->error_count;
        h->s.iso.numdesc = urb->number_of_packets;
    } else if (urb->xfer == IOP_XFER_INT) {
        h->interval = urb->interval;
    }
    h->ndesc = ndesc;
    ev->iso = ndesc ? urb->iso_frame_desc : NULL;
    /* "not an issue unless there's a subtle bug in a HCD somewhere" */
    if (length > urb->transfer_buffer_length)
        length = urb->transfer_buffer_length;

    /* The direction rule: IN data comes with the completion, OUT data with the submit. */
    if (urb->dir_in ? type == 'S' : type == 'C') {
        length = 0;
        ev->data_tag = urb->dir_in ? '<' : '>';
    }
    ev->length = (uint32_t)length;
    ev->data = urb->transfer_buffer;

    if (urb->xfer == IOP_XFER_CONTROL && type == 'S') {
        if (urb->setup_packet) {
            memcpy(h->s.setup, urb->setup_packet, sizeof(h->s.setup));
            h->flag_setup = 0;
        } else {
            h->flag_setup = 'Z';
        }
    } else {
        h->flag_setup = '-';
    }
    return 0;
}

void iop_mon_bin_sizes(const struct iop_mon_bin_event *ev, uint32_t cap, struct iop_mon_bin_sizes *sz) {
    uint32_t lendesc = ev->hdr.ndesc * (uint32_t)sizeof(struct iop_mon_bin_isodesc);
    uint32_t length = ev->length < cap ? ev->length : cap;

    sz->reserve = iop_mon_bin_align(IOP_MON_BIN_HDR_API1 + lendesc + length);
    if (length == 0) {
        sz->flag_data = ev->data_tag;
    } else if (!ev->data) {
        /* mon_bin_get_data() found no buffer: the area is given back (shrink). */
        sz->flag_data = 'Z';
        length = 0;
    } else {
        sz->flag_data = 0;
    }
    sz->data = length;
    sz->len_cap = lendesc + length;
    sz->store = iop_mon_bin_align(IOP_MON_BIN_HDR_API1 + sz->len_cap);
}

void iop_mon_bin_isodesc(const struct iop_mon_bin_event *ev, unsigned i, struct iop_mon_bin_isodesc *out) {
    const struct iop_iso_packet_descriptor *fp = &ev->iso[i];
    out->iso_status = fp->status;
    out->iso_off = fp->offset;
    out->iso_len = ev->hdr.type == 'S' ? fp->length : fp->actual_length;
    out->pad = 0;
}
