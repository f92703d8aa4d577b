/* usbmon binary events: one URB event -> the record the kernel's binary readers store
 * (drivers/usb/mon/mon_bin.c: mon_bin_event() and mon_bin_error()), the format
 * libpcap's DLT_USB_LINUX and DLT_USB_LINUX_MMAPPED carry:
 *
 *     struct mon_bin_hdr (64 bytes) | ndesc ISO descriptors (16 bytes each) | data
 *
 * This file is the encoding only, as text.c is for the text nodes; where records are
 * kept and how they are read is bin-reader.h.  An event is prepared once per URB event
 * (iop_mon_bin_prepare) and stored by each binary reader, which applies its own cap on
 * the data (a fifth of its ring) as the kernel's readers do.
 *
 * The fields, as mon_bin.c fills them:
 *   id          the URB's address, the same on S and its C or E (the text tag)
 *   type        'S' submit, 'C' complete, 'E' submit error
 *   xfer_type   0 ISO, 1 interrupt, 2 control, 3 bulk (the PIPE_* order, as urb.h)
 *   epnum       endpoint number, | 0x80 when the URB is IN
 *   devnum, busnum  the device's address as lsusb shows it
 *   flag_setup  0: s.setup holds the setup packet (control S only); 'Z': control S
 *               without one; '-': no setup for this event
 *   flag_data   0: the data (possibly none) follows; '<': IN submit; '>': OUT
 *               completion (the data went with the submit); 'Z': no buffer; 'E': error
 *   ts_sec, ts_usec  CLOCK_REALTIME (ktime_get_real_ts64), unlike the text nodes
 *   status      S: -EINPROGRESS; C: the completion status; E: the submit error
 *   len_urb     S: transfer_buffer_length; C: actual_length; E: 0
 *   len_cap     bytes after the header: ISO descriptors, then the captured data
 *   s.iso       ISO: error_count and number_of_packets (the full count)
 *   interval    interrupt and ISO; start_frame ISO
 *   xfer_flags  the URB's transfer_flags as usbcore holds them: the caller's flags
 *               plus URB_DIR_IN (0x0200), which usb_submit_urb() sets on IN URBs
 *   ndesc       ISO descriptors in the record: number_of_packets capped at 128
 * An 'E' record is the header alone, everything zero but the address, type, id, time,
 * status and flags ('-', 'E'), as mon_bin_error() writes it.
 *
 * Data goes with the direction: OUT data at submit, IN data at completion, at most
 * transfer_buffer_length bytes; an ISO IN completion carries the buffer from 0 to the
 * end of the last packet that moved data (mon_bin_collate_isodesc).  Unlike the kernel,
 * which trusts the URB, nothing outside transfer_buffer[0, transfer_buffer_length) or
 * iso_frame_desc[0, number_of_packets) is ever read.
 */
#pragma once

#include <stdint.h>
#include <time.h>

struct iop_urb;
struct iop_iso_packet_descriptor;

/* struct mon_bin_hdr: the kernel's layout, the same for 32- and 64-bit callers (every
 * field is naturally aligned), little-endian on x86. */
struct iop_mon_bin_hdr {
    uint64_t id;
    uint8_t type;
    uint8_t xfer_type;
    uint8_t epnum;
    uint8_t devnum;
    uint16_t busnum;
    char flag_setup;
    char flag_data;
    int64_t ts_sec;
    int32_t ts_usec;
    int32_t status;
    uint32_t len_urb;
    uint32_t len_cap;
    union {
        uint8_t setup[8];
        struct {
            int32_t error_count;
            int32_t numdesc;
        } iso;
    } s;
    /* The 64-byte header (MON_IOCX_GETX, mmap) only; read() and MON_IOCX_GET stop at 48. */
    int32_t interval;
    int32_t start_frame;
    uint32_t xfer_flags;
    uint32_t ndesc;
};

/* struct mon_bin_isodesc: 16 bytes, so a descriptor never straddles the ring's end. */
struct iop_mon_bin_isodesc {
    int32_t iso_status;
    uint32_t iso_off;
    uint32_t iso_len; /* S: the requested length; C: actual_length */
    uint32_t pad;
};

#define IOP_MON_BIN_HDR_API0 48u /* PKT_SZ_API0: read(), MON_IOCX_GET (2.6.20's header) */
#define IOP_MON_BIN_HDR_API1 64u /* PKT_SZ_API1: MON_IOCX_GETX, the mmapped ring */
#define IOP_MON_BIN_ISODESC_MAX 128u /* ISODESC_MAX, "same number as usbfs allows" */
/* URB_DIR_IN: usbcore's direction flag in transfer_flags. */
#define IOP_MON_BIN_URB_DIR_IN 0x0200u

_Static_assert(sizeof(struct iop_mon_bin_hdr) == IOP_MON_BIN_HDR_API1, "struct mon_bin_hdr is 64 bytes");
_Static_assert(__builtin_offsetof(struct iop_mon_bin_hdr, ts_sec) == 16, "mon_bin_hdr.ts_sec");
_Static_assert(__builtin_offsetof(struct iop_mon_bin_hdr, s) == 40, "mon_bin_hdr.s");
_Static_assert(__builtin_offsetof(struct iop_mon_bin_hdr, interval) == IOP_MON_BIN_HDR_API0, "mon_bin_hdr API 0");
_Static_assert(sizeof(struct iop_mon_bin_isodesc) == 16, "struct mon_bin_isodesc is 16 bytes");

/* One event, prepared once and stored by every binary reader.  It borrows the URB's
 * buffer and descriptors, so it is valid only inside the monitor hook that made it. */
struct iop_mon_bin_event {
    /* Complete but for len_cap and flag_data, which depend on the reader's data cap
     * (iop_mon_bin_data_len) and on whether the buffer exists. */
    struct iop_mon_bin_hdr hdr;
    const struct iop_iso_packet_descriptor *iso; /* hdr.ndesc entries; NULL when 0 */
    const uint8_t *data;  /* transfer_buffer: NULL gives flag 'Z' (when length > 0) */
    uint32_t length;      /* data to capture before the reader's cap (0: none) */
    char data_tag;        /* flag_data when length is 0: '<', '>', 'E' or 0 */
};

/* Prepare the record of urb's event.  type is 'S', 'C' or 'E'; status is the
 * completion status ('C') or the submit error ('E'), ignored for 'S' (-EINPROGRESS).
 * ts is the wall clock reading for the event.  0, or -EINVAL (NULL, bad type). */
int iop_mon_bin_prepare(struct iop_mon_bin_event *ev, const struct iop_urb *urb, char type, int status,
                        const struct timespec *ts);

/* The data bytes a reader whose cap is cap (its ring size / 5) stores, and with them
 * the header's len_cap and flag_data: what mon_bin_event() computes per reader. */
struct iop_mon_bin_sizes {
    uint32_t data;     /* data bytes stored */
    uint32_t len_cap;  /* ndesc * 16 + data */
    uint32_t reserve;  /* bytes the reader must find free first (before a 'Z' shrinks it), 64-aligned */
    uint32_t store;    /* bytes the record takes in the ring, 64-aligned */
    char flag_data;
};
void iop_mon_bin_sizes(const struct iop_mon_bin_event *ev, uint32_t cap, struct iop_mon_bin_sizes *sz);

/* ISO descriptor i (< hdr.ndesc) of the event, as the record holds it. */
void iop_mon_bin_isodesc(const struct iop_mon_bin_event *ev, unsigned i, struct iop_mon_bin_isodesc *out);

/* Round a record length up to PKT_ALIGN (64), the unit of the ring. */
static inline uint32_t iop_mon_bin_align(uint32_t n) { return (n + 63u) & ~63u; }
