/* The operating system's side of finding USB devices, for the libusb backend: the
 * kernel's uevent socket (hotplug without udevd), sysfs (which driver has a device,
 * which devices there are) and the usbfs device nodes.  Linux only; no libusb here.
 * Every path is built from numbers, never from a name a message carried. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The usb_device driver that exports a device over the network (usbip-host): a
 * device bound to it belongs to usbipd's remote users, not to this host. */
#define IOP_USB_OS_EXPORT_DRIVER "usbip-host"
/* The usb_device driver every device has while the host uses it (usbcore's generic
 * driver): when it binds, the device is configured and ready. */
#define IOP_USB_OS_GENERIC_DRIVER "usb"

/* A socket on the kernel's uevents (NETLINK_KOBJECT_UEVENT, multicast group 1), non-
 * blocking, close-on-exec, credentials passed: the fd, or -errno (EPERM, EAFNOSUPPORT
 * where the sandbox forbids netlink). */
int iop_usb_os_uevent_open(void);
/* One message into buf (cap bytes): its length; -EAGAIN none waiting; -ENOBUFS the
 * kernel dropped messages (the socket's buffer overflowed: rescan); -EPERM a
 * message not from the kernel (dropped: only the kernel, pid 0 and uid 0, is
 * believed); -EMSGSIZE one too long (dropped). */
ssize_t iop_usb_os_uevent_recv(int fd, char *buf, size_t cap);

/* The sysfs name of the device at bus/ports ("1-2.3", or "usb1" for a root hub). */
int iop_usb_os_sysfs_name(uint16_t bus, const uint8_t *ports, size_t depth, char *buf, size_t cap);
/* sysfs below: NULL for "/sys" (tests give a tree of their own). */
/* The driver bound to the USB device with that sysfs name (its driver link's last
 * component) into buf: 0; -ENOENT none bound (or no such device); -EINVAL a name
 * that is not a USB device's; -ENAMETOOLONG. */
int iop_usb_os_driver(const char *sysfs, const char *name, char *buf, size_t cap);
/* Open the device's usbfs node (/dev/bus/usb/BBB/DDD) read-write: the fd or -errno. */
int iop_usb_os_open_device(uint16_t bus, uint8_t devnum);

/* Every USB device sysfs shows: fn(ctx, name, bus, devnum, driver or "") for each;
 * fn returning nonzero stops the walk.  0 or -errno (no sysfs). */
typedef int (*iop_usb_os_scan_fn)(void *ctx, const char *name, uint16_t bus, uint8_t devnum,
                                  const char *driver);
int iop_usb_os_scan(const char *sysfs, iop_usb_os_scan_fn fn, void *ctx);
