/* The libusb-1.0 backend: real devices through usbfs.  Its own library
 * (iopd_usb_libusb); this header does not include libusb.h, so users of the engine
 * never see libusb types.
 *
 * - libusb's file descriptors are sources on the engine's loop (libusb_get_pollfds
 *   and the pollfd notifiers); on readiness libusb_handle_events_timeout_completed()
 *   runs with a zero timeout, so every callback runs on the loop thread.
 * - Devices are enumerated with libusb's hotplug API (LIBUSB_HOTPLUG_ENUMERATE).
 *   Debian's libusb takes hotplug events from udev: without udevd running, devices
 *   that appear later are not seen, but a device the engine has open is still seen
 *   leaving (libusb notices the usbfs file descriptor's error and reports it).
 *   Hotplug callbacks are deferred to the loop, outside libusb's event handling.
 * - A device is opened lazily: by its first URB (descriptor reading, at arrival) or
 *   the first claim.  Kernel drivers are detached only when the device's detach flag
 *   says so (libusb's auto-detach: re-attached when the interface is released).
 * - Descriptors are read with real control URBs through the engine (enumerate.c);
 *   libusb's cached device descriptor is only the fallback when that fails.
 * - Kept open after that: an open usbfs handle is how libusb notices a departure
 *   when udevd is not running.
 * - SET_CONFIGURATION and SET_INTERFACE control URBs are refused (-EOPNOTSUPP):
 *   usbfs would pass them to the device behind the host side's back, and the ioctls
 *   that change both are synchronous (they wait for the device), which nothing on
 *   the loop may do.  So on real hardware only altsetting 0 is usable, which also
 *   rules out ISO on interfaces whose altsetting 0 has no bandwidth.
 * - Transfers are libusb async transfers kept with the URB across resubmissions.
 *   Bulk/interrupt/ISO data is not copied (libusb uses the URB's buffer), except ISO
 *   packets that are not laid out back to back; control transfers go through a
 *   bounce buffer (libusb wants the setup packet in front of the data). */
#pragma once

#include <stdbool.h>

struct iop_usb_backend;
struct iop_usb_engine;

extern const struct iop_usb_backend iop_usb_backend_libusb;

struct iop_usb_libusb_config {
    int log_level; /* libusb's LIBUSB_LOG_LEVEL_* (0: none) */
};

/* What libusb reported, before the engine mapped it: for tests that check what
 * usbfs really gives (e.g. on disconnect). */
#define IOP_USB_LIBUSB_STATUSES 8
struct iop_usb_libusb_stats {
    unsigned transfer_status[IOP_USB_LIBUSB_STATUSES]; /* by enum libusb_transfer_status */
    unsigned arrived, left;                            /* hotplug events */
    bool hotplug;                                      /* LIBUSB_CAP_HAS_HOTPLUG */
};
/* -EINVAL if e does not use this backend. */
int iop_usb_libusb_stats(struct iop_usb_engine *e, struct iop_usb_libusb_stats *ret);
/* libusb's name for a transfer status (for printing the stats). */
const char *iop_usb_libusb_status_name(int status);
