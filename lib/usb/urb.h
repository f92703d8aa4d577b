/* URBs: USB Request Blocks with the semantics of the kernel's URB documentation
 * (Documentation/usb/URB.txt).  This header's PUBLIC part is shared by the URB engine
 * (lib/usb) and by the usbmon capture (lib/usbmon), which reads an URB's public fields
 * at submit, submit-error and completion time; keep those fields' names and meanings
 * stable.  The engine's private state is declared by the engine below the marker.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct iop_usb_dev; /* a refcounted device handle, lib/usb/devices.h */
struct iop_urb;

/* Transfer types: the kernel's PIPE_* numbering (usbmon's xfer_to_pipe order). */
enum iop_xfer {
    IOP_XFER_ISOC = 0,
    IOP_XFER_INT = 1,
    IOP_XFER_CONTROL = 2,
    IOP_XFER_BULK = 3,
};

/* transfer_flags: the kernel's URB_* values. */
#define IOP_URB_SHORT_NOT_OK 0x0001u /* short reads are errors (-EREMOTEIO) */
#define IOP_URB_ISO_ASAP 0x0002u     /* ISO: start as soon as possible, sets start_frame */
#define IOP_URB_ZERO_PACKET 0x0040u  /* bulk OUT: end with a zero-length packet if needed */
#define IOP_URB_NO_INTERRUPT 0x0080u /* hint only */

struct iop_iso_packet_descriptor {
    uint32_t offset;        /* (IN) into transfer_buffer */
    uint32_t length;        /* (IN) bytes expected/sent in this packet */
    uint32_t actual_length; /* (OUT) */
    int status;             /* (OUT) 0 or negative errno for this packet */
};

typedef void (*iop_urb_complete_fn)(struct iop_urb *urb);

struct iop_urb {
    /* ---- PUBLIC: filled by the submitter (IN) or the engine (OUT) ---- */
    struct iop_usb_dev *dev;   /* (IN) borrowed; the engine holds a reference while submitted */
    uint8_t xfer;              /* (IN) enum iop_xfer */
    uint8_t endpoint;          /* (IN) endpoint number 0..15, without the direction bit */
    bool dir_in;               /* (IN) device-to-host; for control, from bmRequestType bit 7 */
    unsigned transfer_flags;   /* (IN) IOP_URB_* */

    void *context;             /* (IN) for the completion handler */
    iop_urb_complete_fn complete; /* (IN) runs exactly once per successful submit */

    int status;                /* (OUT) -EINPROGRESS while submitted, then the result */

    uint8_t *transfer_buffer;  /* (IN) borrowed, transfer_buffer_length bytes */
    uint32_t transfer_buffer_length;
    uint32_t actual_length;    /* (OUT) bytes transferred (non-ISO) */

    const uint8_t *setup_packet; /* (IN) control only: 8 bytes, borrowed; NULL allowed */

    int start_frame;           /* (IN/OUT) ISO: set by the engine with IOP_URB_ISO_ASAP */
    int interval;              /* (IN/OUT) INT/ISO: rounded down to a power of two */
    int error_count;           /* (OUT) ISO: packets that failed */
    int number_of_packets;     /* (IN) ISO: entries in iso_frame_desc */

    /* (OUT) the device's address when submitted, kept for tracing (usbmon prints the
     * real bus and device numbers, as lsusb shows them). */
    uint16_t busnum;
    uint8_t devnum;

    /* ---- PRIVATE to lib/usb: the engine's bookkeeping ---- */
    struct iop_urb_private *priv;

    struct iop_iso_packet_descriptor iso_frame_desc[]; /* number_of_packets entries */
};

/* Observers of URB traffic (usbmon).  Called from the URB path itself, so they must
 * not block, and they only read the URB.  Order per URB, as usbcore's hcd.c does:
 * submit() before the backend sees it; then either submit_error() (the submit
 * failed after that point, no completion follows) or complete() exactly once, before
 * the URB's own completion handler runs (which may free or resubmit it). */
struct iop_urb_monitor {
    void (*submit)(void *ctx, const struct iop_urb *urb);
    void (*submit_error)(void *ctx, const struct iop_urb *urb, int error);
    void (*complete)(void *ctx, const struct iop_urb *urb, int status);
    void *ctx;
};
