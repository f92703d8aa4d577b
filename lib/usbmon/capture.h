/* usbmon capture: a fixed-size snapshot of one URB event, taken in the URB path.
 *
 * This is the kernel's mon_text_event()/mon_text_error() (drivers/usb/mon/mon_text.c):
 * the hooks only copy what the text formats will need, and all printing happens
 * later, when a reader reads (text.h).  Keeping the snapshot small and flat is what
 * lets the URB path stay cheap and lets one capture be queued to many readers.
 *
 * What is copied follows mon_text.c exactly, including its flag characters:
 *   setup_flag  0 = the 8 setup bytes were captured (control 'S' only),
 *               'Z' = control 'S' without a setup packet, '-' = no setup for this event
 *   data_flag   0 = data captured, '<' = IN data not there yet (S), '>' = OUT data already
 *               shown (C), 'Z' = no buffer, 'L' = length <= 0 (never printed),
 *               'E' = submit error (never printed)
 * See /work/shared/spec/usbmon-format.md sections 2 and 3.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct iop_urb;

/* "No, we do not want arbitrarily long data strings.  Use the binary interface if you
 * want to capture bulk data!" (mon_text.c DATA_MAX): only the first 32 bytes of a
 * transfer are printed, the length is printed unclipped. */
#define IOP_MON_DATA_MAX 32
/* A control setup packet, USB 2.0 clause 9.3. */
#define IOP_MON_SETUP_MAX 8
/* ISO descriptors shown per event (mon_text.c ISODESC_MAX); the full count is still
 * printed, so a line stays bounded whatever number_of_packets is. */
#define IOP_MON_ISODESC_MAX 5

/* The status an 'S' event carries: usbcore passes -EINPROGRESS, never urb->status. */
#define IOP_MON_SUBMIT_STATUS (-115)

struct iop_mon_iso_desc {
    int status;
    uint32_t offset;
    uint32_t length; /* S: requested length, C: actual_length */
};

struct iop_mon_event {
    uint64_t tag;        /* per-URB id, the same on S and its C/E: the URB's address */
    uint32_t tstamp;     /* iop_mon_timestamp() when the event happened */
    char type;           /* 'S' submit, 'C' complete, 'E' submit error */
    uint8_t xfer;        /* enum iop_xfer; unknown values print as bulk, as the kernel */
    bool dir_in;
    uint8_t devnum;
    uint8_t epnum;       /* 0..15, no direction bit */
    uint16_t busnum;     /* the URB's real bus, never 0 */
    int status;          /* S: -115; C: completion status; E: the submit error */
    int interval;        /* INT and ISO */
    int start_frame;     /* ISO */
    int error_count;     /* ISO */
    int numdesc;         /* urb->number_of_packets, the full count */
    int length;          /* S: transfer_buffer_length; C: actual_length (ISO: buffer length); E: 0 */
    char setup_flag;
    char data_flag;
    uint8_t data_len;    /* bytes in data[] when data_flag == 0 (<= IOP_MON_DATA_MAX) */
    struct iop_mon_iso_desc iso[IOP_MON_ISODESC_MAX]; /* the first min(numdesc, 5) (ISO only) */
    uint8_t setup[IOP_MON_SETUP_MAX];
    uint8_t data[IOP_MON_DATA_MAX];
};

/* The text timestamp: microseconds modulo 4096 s, so it fits 32 bits
 * ("(sec & 0xFFF) * USEC_PER_SEC + nsec / NSEC_PER_USEC", mon_get_timestamp()).
 * Current kernels read CLOCK_MONOTONIC; the reading is a parameter so tests are exact. */
uint32_t iop_mon_timestamp(const struct timespec *ts);

/* Snapshot one event of urb into *ev.  type is 'S', 'C' or 'E'; status is the
 * completion status for 'C' and the submit error for 'E' (ignored for 'S', which
 * always carries IOP_MON_SUBMIT_STATUS).  Reads only the URB's public fields, never
 * writes it, and never reads outside transfer_buffer[0, transfer_buffer_length) or
 * iso_frame_desc[0, number_of_packets).  Returns 0, or -EINVAL (bad type, NULL). */
int iop_mon_capture(struct iop_mon_event *ev, const struct iop_urb *urb, char type, int status,
                    uint32_t tstamp);
