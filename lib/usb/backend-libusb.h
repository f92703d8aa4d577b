/* The libusb-1.0 backend: real devices through usbfs.  Its own library
 * (iopd_usb_libusb); this header does not include libusb.h, so users of the engine
 * never see libusb types.
 *
 * - libusb's file descriptors are sources on the engine's loop (libusb_get_pollfds
 *   and the pollfd notifiers); on readiness libusb_handle_events_timeout_completed()
 *   runs with a zero timeout, so every callback runs on the loop thread.
 * - Devices present at start come from libusb's device list; later arrivals and
 *   departures from the kernel's own uevents (backend-libusb-hotplug.c), which need
 *   no udevd (Debian's libusb hears of hotplug only from udevd).  A device bound to
 *   usbip-host is exported to another machine and not served; binding usbip-host to
 *   a device is a departure.  Devices that arrive are opened on the worker thread
 *   (lib/util/worker.h) with libusb_wrap_sys_device(), which waits for the device.
 *   Without a uevent socket (a sandbox forbidding netlink) libusb's hotplug API is
 *   used as it is, deferred to the loop.
 * - A device is opened lazily: by its first URB (descriptor reading, at arrival) or
 *   the first claim.  Kernel drivers are detached only when the device's detach flag
 *   says so (libusb's auto-detach: re-attached when the interface is released).
 * - Descriptors are read with real control URBs through the engine (enumerate.c);
 *   libusb's cached device descriptor is only the fallback when that fails.
 * - Kept open after that: an open usbfs handle is how libusb notices a departure
 *   when udevd is not running.
 * - SET_INTERFACE and SET_CONFIGURATION control URBs become usbfs's ioctls
 *   (libusb_set_interface_alt_setting, libusb_set_configuration), which change the
 *   host side's endpoints with the device's, on the worker thread since they wait
 *   for the device.  usbfs refuses a configuration change while any interface is
 *   claimed, its own too: the claims are given back around it and taken again for
 *   the interfaces the new configuration has.  These ioctls use the kernel's fixed
 *   5 s timeout, not the URB's.
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
    int log_level;      /* libusb's LIBUSB_LOG_LEVEL_* (0: none) */
    bool uevents_off;   /* use libusb's hotplug (udevd) instead of the kernel's uevents */
    const char *sysfs;  /* where sysfs is mounted, NULL: /sys */
};

/* What libusb reported, before the engine mapped it: for tests that check what
 * usbfs really gives (e.g. on disconnect). */
#define IOP_USB_LIBUSB_STATUSES 8
struct iop_usb_libusb_stats {
    unsigned transfer_status[IOP_USB_LIBUSB_STATUSES]; /* by enum libusb_transfer_status */
    unsigned arrived, left;                            /* libusb's hotplug events */
    bool hotplug;                                      /* LIBUSB_CAP_HAS_HOTPLUG */
    bool uevent_listening;                             /* on the kernel's uevents */
    unsigned uevents;                                  /* kernel messages read */
    unsigned uevent_arrived, uevent_left;              /* devices they added, removed */
    unsigned exported;                                 /* skipped: bound to usbip-host */
    unsigned resyncs;                                  /* sysfs rescans after lost uevents */
};
/* -EINVAL if e does not use this backend. */
int iop_usb_libusb_stats(struct iop_usb_engine *e, struct iop_usb_libusb_stats *ret);
/* libusb's name for a transfer status (for printing the stats). */
const char *iop_usb_libusb_status_name(int status);
