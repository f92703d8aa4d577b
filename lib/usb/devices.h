/* USB device handles: a registry per engine and refcounted handles, with the
 * reference rules of the tty layer's line disciplines (Documentation/tty.txt):
 *
 * - A lookup (iop_usb_dev_ref_by_addr ...) is tty_ldisc_ref(): it takes a reference
 *   or fails (-ENODEV) when the device is gone or going.  While you hold it the
 *   handle stays valid; iop_usb_dev_unref() returns it.  There is no
 *   tty_ldisc_ref_wait(): nothing here waits.
 * - iop_usb_dev_unregister() is tty_unregister_ldisc(): -EBUSY while the device is
 *   in use (a reference beyond the registry's own, or an URB in flight).
 * - Hot-unplug is a forced hangup: the device is marked gone at once, so lookups fail
 *   and new submissions get -ENODEV; every URB in flight completes exactly once with
 *   -ENODEV; the hangup callbacks of whoever asked for them run (so readers can be
 *   woken); hotplug REMOVE callbacks run; the registry drops its reference.  The
 *   handle is freed only when the last reference drains: single-threaded, "waiting
 *   for the users to leave" is a deferred free plus an optional drained callback.
 *
 * Counting: the reference count counts holders (the registry while registered, each
 * lookup, each submitted URB until its handler returned), as the ldisc table's count
 * counts lines using a discipline. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/usb/ch9.h"

struct iop_usb_dev;
struct iop_usb_engine;

struct iop_usb_dev_info {
    uint16_t busnum;        /* bus and device number as lsusb shows them */
    uint8_t devnum;
    enum iop_usb_speed speed;
    uint8_t port_depth;     /* entries in port_path; 0 for a root hub */
    uint8_t port_path[IOP_USB_MAX_PORTS]; /* port numbers from the root hub down */
};

/* ---- Lookups (take a reference; -ENODEV when absent, gone or not yet enumerated) ---- */
int iop_usb_dev_ref_by_addr(struct iop_usb_engine *e, uint16_t busnum, uint8_t devnum,
                            struct iop_usb_dev **ret);
int iop_usb_dev_ref_by_path(struct iop_usb_engine *e, uint16_t busnum, const uint8_t *ports,
                            size_t depth, struct iop_usb_dev **ret);
/* The registered device with the smallest (busnum, devnum) above the given pair: start
 * with (0, 0) to walk them all in lsusb order. */
int iop_usb_dev_ref_next(struct iop_usb_engine *e, uint16_t busnum, uint8_t devnum,
                         struct iop_usb_dev **ret);
/* Another reference from one you hold (also after the device is gone). */
struct iop_usb_dev *iop_usb_dev_ref(struct iop_usb_dev *dev);
/* Return a reference; the last one frees the handle (after the drained callback).
 * NULL is fine.  Returns NULL. */
struct iop_usb_dev *iop_usb_dev_unref(struct iop_usb_dev *dev);

/* Remove a device the engine no longer wants (tty_unregister_ldisc): -ENODEV not
 * registered, -EBUSY in use; 0: removed (hotplug REMOVE runs) and freed. */
int iop_usb_dev_unregister(struct iop_usb_engine *e, uint16_t busnum, uint8_t devnum);

/* ---- Notifications ---- */
typedef void (*iop_usb_dev_fn)(void *data, struct iop_usb_dev *dev);
/* Call fn once when the device is hung up (unplugged, or the engine shuts down).
 * The (fn, data) pair identifies the registration.  -ENODEV if already gone,
 * -EEXIST if registered, -ENOMEM. */
int iop_usb_dev_add_hangup(struct iop_usb_dev *dev, iop_usb_dev_fn fn, void *data);
/* -ENOENT if not registered (or already called). */
int iop_usb_dev_remove_hangup(struct iop_usb_dev *dev, iop_usb_dev_fn fn, void *data);
/* Call fn when the last reference is returned, just before the handle is freed (the
 * handle may only be read then).  One per device; NULL clears it. */
void iop_usb_dev_set_drained(struct iop_usb_dev *dev, iop_usb_dev_fn fn, void *data);

/* ---- What the device is ---- */
enum iop_usb_dev_string {
    IOP_USB_STRING_MANUFACTURER, /* iManufacturer */
    IOP_USB_STRING_PRODUCT,      /* iProduct */
    IOP_USB_STRING_SERIAL,       /* iSerialNumber */
    IOP_USB_DEV_STRINGS,
};
/* The device's strings as UTF-8, read at enumeration as usbcore reads them
 * (enumerate.c); NULL when the device has none, or stalled, timed out or sent a
 * broken or empty one. */
const char *iop_usb_dev_string(const struct iop_usb_dev *dev, enum iop_usb_dev_string which);
const struct iop_usb_dev_info *iop_usb_dev_info(const struct iop_usb_dev *dev);
/* The device descriptor (18 bytes), as the device returned it to GET_DESCRIPTOR. */
const uint8_t *iop_usb_dev_descriptor(const struct iop_usb_dev *dev);
uint16_t iop_usb_dev_vid(const struct iop_usb_dev *dev);
uint16_t iop_usb_dev_pid(const struct iop_usb_dev *dev);
/* Configuration descriptors read (at most IOP_USB_MAX_CONFIGS). */
unsigned iop_usb_dev_num_configs(const struct iop_usb_dev *dev);
/* The raw configuration descriptor with index idx (as GET_DESCRIPTOR returned it,
 * wTotalLength bytes).  -ENOENT no such index, -ENODATA the read failed. */
int iop_usb_dev_config(const struct iop_usb_dev *dev, unsigned idx, const uint8_t **buf,
                       size_t *len);
/* bConfigurationValue of the active configuration, 0 when unconfigured. */
uint8_t iop_usb_dev_active_config(const struct iop_usb_dev *dev);
/* The current altsetting of interface ifnum (0 for interfaces the engine does not
 * track).  SET_CONFIGURATION and SET_INTERFACE change it. */
uint8_t iop_usb_dev_altsetting(const struct iop_usb_dev *dev, uint8_t ifnum);
/* Whether hot-unplug (or shutdown) has happened. */
bool iop_usb_dev_is_gone(const struct iop_usb_dev *dev);

/* ---- Claiming ----
 * Unclaimed, the engine may only send standard device-to-host requests on endpoint 0
 * (enumeration and GET_* queries do not disturb a kernel driver).  Class and vendor
 * requests, requests to an interface or its endpoints, and every other endpoint need
 * the interface claimed (-EACCES; urb.h has the exact rule).
 * SET_INTERFACE needs its interface claimed; SET_CONFIGURATION a device the engine
 * holds (an interface claimed since, and not all given back); both do what usbfs
 * does: the URBs on the endpoints they end are discarded (-ENOENT), the endpoint table
 * follows the new setting, and claims stay where the new configuration has the
 * interface (see backend.h). */
int iop_usb_dev_claim_interface(struct iop_usb_dev *dev, uint8_t ifnum);
int iop_usb_dev_release_interface(struct iop_usb_dev *dev, uint8_t ifnum);
/* Whether the engine may do more than standard requests on endpoint 0: at least one
 * interface is claimed. */
bool iop_usb_dev_claimed(const struct iop_usb_dev *dev);
bool iop_usb_dev_interface_claimed(const struct iop_usb_dev *dev, uint8_t ifnum);
/* Detach a kernel driver bound to an interface when claiming it (off by default:
 * iopd never takes a device from the kernel unless configured to). */
void iop_usb_dev_set_detach_kernel_driver(struct iop_usb_dev *dev, bool detach);
