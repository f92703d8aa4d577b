/* URBs: USB Request Blocks with the semantics of the kernel's URB documentation
 * (Documentation/usb/URB.txt).  This header's PUBLIC part is shared by the URB engine
 * (lib/usb) and by the usbmon capture (lib/usbmon), which reads an URB's public fields
 * at submit, submit-error and completion time; keep those fields' names and meanings
 * stable.  The engine's private state is declared by the engine below the marker.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/usb/ch9.h"

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

/* ---- The URB API (lib/usb/urb.c) ----
 *
 * URBs are refcounted like the kernel's: iop_urb_alloc() returns one reference,
 * iop_urb_submit() takes another until the completion handler has returned, so a
 * caller may iop_urb_free() its reference at any time, even while it is submitted.
 * Everything runs on the one event loop thread; the completion handler runs from the
 * backend's event processing (never from inside iop_urb_submit/unlink), must not
 * block, and may free, modify or resubmit the URB.  priv is set by iop_urb_alloc and
 * is the engine's: fill the other fields one by one, never assign the whole struct
 * without carrying priv over. */

/* Limits.  The engine enforces them for every backend, so the simulated backend
 * fails where usbfs (under the libusb backend) would. */
/* ISO descriptors one URB may be allocated with: 1024 frames is one second at full
 * speed, more than any scheduler looks ahead; it bounds iop_urb_alloc's size. */
#define IOP_URB_ISO_ALLOC_MAX 1024
/* ISO packets one submission may carry: usbfs's limit (128) for one URB. -EFBIG. */
#define IOP_URB_ISO_PACKETS_MAX 128
/* ISO URBs queued on one endpoint: 32 is 32+ ms of streaming at full speed, enough
 * multi-buffering for any client; more only adds latency and memory. -EAGAIN. */
#define IOP_URB_ISO_QUEUE_MAX 32
/* Bytes one URB may transfer: usbfs's default total buffer limit (usbfs_memory_mb =
 * 16), which one libusb transfer cannot exceed. -EMSGSIZE. */
#define IOP_URB_TRANSFER_MAX (16u * 1024u * 1024u)

/* Allocate an URB with room for iso_packets ISO descriptors (0 for other types).
 * Zeroed, refcount 1.  -EINVAL for a negative count, -EFBIG above
 * IOP_URB_ISO_ALLOC_MAX, -ENOMEM. */
int iop_urb_alloc(int iso_packets, struct iop_urb **ret);
/* Take another reference; returns urb (NULL is fine). */
struct iop_urb *iop_urb_get(struct iop_urb *urb);
/* Drop a reference (usb_free_urb); the memory goes when the last one does, so an
 * URB still submitted stays alive until its handler has returned.  NULL is fine.
 * Returns NULL. */
struct iop_urb *iop_urb_free(struct iop_urb *urb);

/* Timeout for the transfer in milliseconds, 0 for none (the default); on expiry the
 * URB completes with -ETIMEDOUT.  Kernel URBs have no timeout (usb_control_msg
 * builds one); libusb transfers do, so the engine carries it.  -EBUSY while
 * submitted. */
int iop_urb_set_timeout(struct iop_urb *urb, uint32_t timeout_ms);

/* Queue an URB (usb_submit_urb).  0: the handler will run exactly once.  Errors, in
 * the order checked (none of these produce a completion):
 *   -EINVAL  NULL urb, no handler, bad xfer, a buffer pointer missing for a length,
 *            ISO number_of_packets <= 0 or above the allocation, an ISO packet
 *            outside the buffer, a bad INT/ISO interval
 *   -EBUSY   already submitted (kernel; URB.txt had -EINVAL)
 *   -ENODEV  no device, device gone, engine gone
 *   -ENOENT  no such endpoint in the current configuration/altsettings
 *   -ENOEXEC xfer does not match the endpoint's type; control without setup_packet
 *   -EBADR   control: wLength differs from transfer_buffer_length (kernel)
 *   -EMSGSIZE endpoint maxpacket 0, ISO packet above the endpoint's limit, or more
 *            than IOP_URB_TRANSFER_MAX bytes
 *   -EACCES  the claim list: endpoints other than 0 need their interface claimed;
 *            on endpoint 0 a request to an interface or to an endpoint of one needs
 *            that interface claimed, class and vendor requests need some claimed
 *            interface, and a device with none claimed takes only standard
 *            device-to-host requests (GET_DESCRIPTOR, GET_STATUS ...)
 *   -EFBIG   more than IOP_URB_ISO_PACKETS_MAX ISO packets
 *   -EAGAIN  IOP_URB_ISO_QUEUE_MAX ISO URBs already queued on the endpoint
 * and, after the monitor's submit() hook (then submit_error() follows, as usbcore
 * reports errors from usb_hcd_submit_urb):
 *   -EPERM   the URB is being killed (iop_urb_kill is running)
 *   -ESHUTDOWN the engine is shutting down
 *   -ENOMEM, or the backend's error (-EXDEV: ISO, every frame already expired).
 * A halted endpoint is not refused here: as in the kernel (URB.txt said -EPIPE), the
 * URB completes with -EPIPE.  For INT/ISO, interval is rounded down to a power of two
 * in frames (full/low speed) or microframes (high/super speed) with the kernel's
 * limits; see iop_urb_round_interval.  For ISO the descriptors' status is set to
 * -EXDEV and actual_length to 0 until completion, and with IOP_URB_ISO_ASAP the
 * backend sets start_frame.  For control, dir_in is set from bmRequestType bit 7. */
int iop_urb_submit(struct iop_urb *urb);

/* Asynchronous cancel (usb_unlink_urb): 0 when the cancel was started; the handler
 * runs later with -ECONNRESET (the unlink status wins even if the transfer finished
 * meanwhile, as in the kernel).  The kernel returns -EINPROGRESS for success; the
 * engine returns 0 because every lib/ caller tests r < 0 for failure.  -EINVAL NULL,
 * -EIDRM not submitted (or already given back), -EBUSY already being unlinked or
 * killed. */
int iop_urb_unlink(struct iop_urb *urb);

/* Asynchronous cancel on behalf of a submitter that has gone away, as usbfs's
 * USBDEVFS_DISCARDURB: like iop_urb_unlink, but the URB completes with -ENOENT, the
 * status usbfs's usb_kill_urb() gives (and the kernel's usbmon shows).  Used when the
 * caller of an I2OPASSTHRU is interrupted.  Errors as iop_urb_unlink. */
int iop_urb_discard(struct iop_urb *urb);

/* Synchronous cancel (usb_kill_urb): marks the URB rejected (submits fail with
 * -EPERM, also from its own handler), cancels it and processes backend events until
 * it has completed (with -ENOENT unless it had finished or was unlinked already) and
 * its handler has returned.  Returns 0 at once for an idle URB.  Not from a
 * completion handler (the loop is inside the backend's event processing there):
 * -EDEADLK, use iop_urb_unlink.  -ETIMEDOUT if the backend did not give the URB back
 * within IOP_URB_KILL_TIMEOUT_MS (the kernel would wait forever; a daemon must not). */
int iop_urb_kill(struct iop_urb *urb);
/* usbfs gives a discarded URB back within one frame; 5 s is the kernel's control
 * timeout (USB_CTRL_GET_TIMEOUT) and far beyond any healthy cancel. */
#define IOP_URB_KILL_TIMEOUT_MS 5000

/* The two standard requests usbfs does not pass to the device as they are but
 * performs itself (USBDEVFS_SETINTERFACE: usb_set_interface(); USBDEVFS_SETCONFIGURATION:
 * usb_set_configuration()), because they change the host side's endpoints too; the
 * engine does the same with them (devices.h, Claiming).  Anything else is PLAIN. */
enum iop_urb_set_request {
    IOP_URB_PLAIN = 0,
    IOP_URB_SET_INTERFACE,     /* bmRequestType 0x01, bRequest 0x0b: wIndex interface, wValue alt */
    IOP_URB_SET_CONFIGURATION, /* bmRequestType 0x00, bRequest 0x09: wValue configuration */
};
enum iop_urb_set_request iop_urb_set_request(const struct iop_urb *urb);

/* The kernel's interval rule for an INT or ISO URB at a device speed: the largest
 * power of two <= interval, capped at 1024 frames (full/low ISO), 128 frames (full/low
 * INT) or 8192 microframes (high speed); -EINVAL for interval <= 0, full/low speed
 * INT above 255, SuperSpeed above 2^15, or an unknown speed.  Other types: interval
 * unchanged. */
int iop_urb_round_interval(enum iop_usb_speed speed, int xfer, int interval);
