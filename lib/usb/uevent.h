/* The kernel's uevent messages (NETLINK_KOBJECT_UEVENT, multicast group 1: what the
 * kernel sends, before and without udevd), parsed for USB hotplug; and sysfs device
 * names ("1-2.3", "usb1").  A message is "ACTION@DEVPATH" then KEY=VALUE strings,
 * each NUL-terminated (lib/kobject_uevent.c).  Pure functions over untrusted bytes:
 * every string found points into the caller's buffer with its length, nothing is
 * copied, nothing is read past len. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/usb/ch9.h"

/* The kernel's UEVENT_BUFFER_SIZE is 2048 bytes of variables, plus the header. */
#define IOP_UEVENT_MSG_MAX 8192u

enum iop_uevent_action {
    IOP_UEVENT_OTHER = 0, /* change, move, online, offline, or unknown */
    IOP_UEVENT_ADD,
    IOP_UEVENT_REMOVE,
    IOP_UEVENT_BIND,      /* a driver was bound (DRIVER= names it) */
    IOP_UEVENT_UNBIND,
};

struct iop_uevent_str {
    const char *s; /* into the message, not NUL-terminated; NULL when absent */
    size_t len;
};

struct iop_uevent {
    enum iop_uevent_action action;
    struct iop_uevent_str devpath, subsystem, devtype, driver;
    int busnum; /* BUSNUM= (1..65535), -1 when absent or not a number in range */
    int devnum; /* DEVNUM= (1..127, a USB address), -1 likewise */
};

/* Parse one message of len bytes.  0; -ENOMSG for a message of udevd's (it starts
 * with "libudev"); -EINVAL for anything that is not a uevent (no "action@path"
 * header, empty). */
int iop_uevent_parse(const void *buf, size_t len, struct iop_uevent *ev);

/* Whether s equals the NUL-terminated literal. */
bool iop_uevent_str_is(struct iop_uevent_str s, const char *literal);

/* A USB device (not an interface, not an endpoint): SUBSYSTEM=usb, DEVTYPE=usb_device,
 * with a valid BUSNUM and DEVNUM. */
bool iop_uevent_is_usb_device(const struct iop_uevent *ev);

/* The last component of a DEVPATH ("/devices/.../usb3/3-1/3-1.2" -> "3-1.2"). */
struct iop_uevent_str iop_uevent_devpath_name(struct iop_uevent_str devpath);

/* A USB device's sysfs name: "B-P[.P...]" (bus B, the ports from the root hub down)
 * or "usbB" (a root hub, depth 0).  Decimal.  0; -EINVAL not such a name (an
 * interface's "1-2:1.0" is not); -ERANGE a bus outside 1..65535 or a port outside
 * 1..255; -E2BIG more than IOP_USB_MAX_PORTS ports.  ports has room for
 * IOP_USB_MAX_PORTS. */
int iop_usb_parse_sysfs_name(const char *s, size_t len, uint16_t *bus, uint8_t *ports, uint8_t *depth);

/* The invariants the fuzzer checks (lib/usb/uevent-fuzz.c): parsing any bytes stays
 * inside them, every string found is NUL-free and inside the message, numbers are in
 * range, a USB device's name parses to its bus.  Nonzero when one breaks. */
int iop_uevent_fuzz_one(const uint8_t *data, size_t size);
