#include "lib/usbmon/capture.h"

#include <errno.h>
#include <string.h>

#include "lib/usb/urb.h"

/* USB_ENDPOINT_NUMBER_MASK: the kernel prints usb_endpoint_num(), the address without
 * the direction bit. */
#define EP_NUMBER_MASK 0x0fu

uint32_t iop_mon_timestamp(const struct timespec *ts) {
    if (!ts)
        return 0;
    /* 2^32 us is about 4295 s: keep 4096 s of seconds so the sum fits, as the kernel. */
    uint32_t stamp = (uint32_t)ts->tv_sec & 0xFFFu;
    return stamp * 1000000u + (uint32_t)(ts->tv_nsec / 1000);
}

/* mon_text_get_setup(): only a control submission shows its setup packet. */
static char get_setup(struct iop_mon_event *ev, const struct iop_urb *urb) {
    if (ev->xfer != IOP_XFER_CONTROL || ev->type != 'S')
        return '-';
    if (!urb->setup_packet)
        return 'Z';
    memcpy(ev->setup, urb->setup_packet, IOP_MON_SETUP_MAX);
    return 0;
}

/* Where ISO data starts: the first packet that moved data (mon_text_get_data()).
 * When none did (every ISO OUT submit, an all-empty IN completion) the kernel reads the
 * descriptor one past the array; that value is unpredictable, so take offset 0, what
 * kernels before the ISO fix used. */
static uint32_t iso_data_offset(const struct iop_urb *urb) {
    for (int i = 0; i < urb->number_of_packets; i++)
        if (urb->iso_frame_desc[i].actual_length != 0)
            return urb->iso_frame_desc[i].offset;
    return 0;
}

/* mon_text_get_data(): OUT data is shown at submit, IN data at completion, at most
 * IOP_MON_DATA_MAX bytes.  Unlike the kernel, which trusts the URB, bytes are taken
 * only from inside the buffer: an offset or length past its end (a broken URB) shows
 * the bytes that exist, and 'Z' when none do. */
static char get_data(struct iop_mon_event *ev, const struct iop_urb *urb) {
    int len = ev->length;
    if (len <= 0)
        return 'L';
    if (len > IOP_MON_DATA_MAX)
        len = IOP_MON_DATA_MAX;
    if (ev->dir_in ? ev->type != 'C' : ev->type != 'S')
        return ev->dir_in ? '<' : '>';

    uint32_t offset = ev->xfer == IOP_XFER_ISOC ? iso_data_offset(urb) : 0;
    if (!urb->transfer_buffer || offset >= urb->transfer_buffer_length)
        return 'Z';
    uint32_t avail = urb->transfer_buffer_length - offset;
    uint32_t n = (uint32_t)len < avail ? (uint32_t)len : avail;
    memcpy(ev->data, urb->transfer_buffer + offset, n);
    ev->data_len = (uint8_t)n;
    return 0;
}

int iop_mon_capture(struct iop_mon_event *ev, const struct iop_urb *urb, char type, int status,
                    uint32_t tstamp) {
    if (!ev || !urb || (type != 'S' && type != 'C' && type != 'E'))
        return -EINVAL;

    /* Every byte defined (padding too): events are copied and compared as they are. */
    memset(ev, 0, sizeof(*ev));
    ev->tag = (uint64_t)(uintptr_t)urb;
    ev->tstamp = tstamp;
    ev->type = type;
    ev->xfer = urb->xfer;
    ev->dir_in = urb->dir_in;
    ev->devnum = urb->devnum;
    ev->epnum = (uint8_t)(urb->endpoint & EP_NUMBER_MASK);
    ev->busnum = urb->busnum;

    if (type == 'E') {
        /* mon_text_error(): length 0 and no setup, so the line ends after the errno. */
        ev->status = status;
        ev->length = 0;
        ev->setup_flag = '-';
        ev->data_flag = 'E';
        return 0;
    }

    ev->status = type == 'S' ? IOP_MON_SUBMIT_STATUS : status;
    /* The kernel stores these u32 lengths in an int; so do we (and print them %d). */
    ev->length = (int)(type == 'S' ? urb->transfer_buffer_length : urb->actual_length);
    if (ev->xfer == IOP_XFER_INT) {
        ev->interval = urb->interval;
    } else if (ev->xfer == IOP_XFER_ISOC) {
        ev->interval = urb->interval;
        ev->start_frame = urb->start_frame;
        ev->error_count = urb->error_count;
    }
    ev->numdesc = urb->number_of_packets;
    if (ev->xfer == IOP_XFER_ISOC && urb->number_of_packets > 0) {
        int n = urb->number_of_packets < IOP_MON_ISODESC_MAX ? urb->number_of_packets : IOP_MON_ISODESC_MAX;
        for (int i = 0; i < n; i++) {
            const struct iop_iso_packet_descriptor *fp = &urb->iso_frame_desc[i];
            ev->iso[i].status = fp->status;
            ev->iso[i].offset = fp->offset;
            ev->iso[i].length = type == 'S' ? fp->length : fp->actual_length;
        }
        /* "Wasteful, but simple to understand: ISO 'C' is sparse." */
        if (type == 'C')
            ev->length = (int)urb->transfer_buffer_length;
    }
    ev->setup_flag = get_setup(ev, urb);
    ev->data_flag = get_data(ev, urb);
    return 0;
}
