/* usbmon binary nodes over CUSE (/dev/usbmon0, /dev/usbmon1 ...: what libpcap,
 * tcpdump, dumpcap and Wireshark open): a thin adapter from FUSE requests to
 * lib/usbmon's binary readers (bin-reader.h) and ioctls (bin-ioctl.h).
 *
 * Each open() is a reader with its own ring.  read() returns the 48-byte header then
 * the record's payload, in as many reads as the caller likes, never more than one
 * record per read; the ioctls are the kernel's, 64- and 32-bit, served in unrestricted
 * mode through the retry rounds.  A read, MON_IOCX_GET/GETX or MON_IOCX_MFETCH that
 * finds the ring empty waits without blocking the daemon (the request is parked and
 * answered when an event arrives), fails with EAGAIN under O_NONBLOCK, and with EINTR
 * when the caller gets a signal.  poll() reports POLLIN while a record is queued, and
 * POLLHUP once the bus went away (then reads end with end of file, the waiting ioctls
 * with ENODEV; the kernel's readers just stop seeing events).
 *
 * What CUSE cannot do:
 *  - mmap(): CUSE devices have no mmap, so the kernel itself answers ENODEV.  That is
 *    what libpcap expects of a node it cannot map: it sets the ring size for the
 *    48-byte header and reads with MON_IOCX_GET (DLT_USB_LINUX) instead.
 *  - O_NONBLOCK for ioctls: FUSE sends an ioctl without the file's flags.  The node
 *    uses the flags of the open() and of the latest read(), so a change by fcntl()
 *    reaches the ioctls once the file has been read (or polled and read) after it.
 * write() is EINVAL, as the kernel's node (it has no write method).
 */
#pragma once

#include <stdint.h>

struct iop_cuse_dev;
struct iop_loop;
struct iop_mon;
struct iop_mon_bin_node;

/* Serve bus busnum's binary API (0: all buses) on a CUSE session created on fd
 * (/dev/cuse or a test socket; taken over, closed on failure too).  devname is the
 * node below /dev ("usbmon1").  The bus need not exist yet: an open() of a node whose
 * bus is missing fails with ENODEV.  -EINVAL for a bus number out of range. */
int iop_mon_bin_node_new(struct iop_mon *mon, unsigned busnum, const char *devname, int fd,
                         struct iop_mon_bin_node **ret);
/* Hold back the wakeup of a waiting read, ioctl or poll by up to usec after the first
 * record arrives (iop_cuse_node_set_wake_delay in node.h); a ring half full and
 * hangup wake at once.  usec 0 or loop NULL (the default): wake at every first record. */
void iop_mon_bin_node_set_wake_delay(struct iop_mon_bin_node *n, struct iop_loop *loop, uint64_t usec);
/* Answers what waits with ENODEV, closes every reader, removes the node.  NULL is
 * fine; returns NULL.  Free nodes before the struct iop_mon they read from. */
struct iop_mon_bin_node *iop_mon_bin_node_free(struct iop_mon_bin_node *n);
struct iop_cuse_dev *iop_mon_bin_node_dev(struct iop_mon_bin_node *n);
/* Open files, and reads and ioctls parked right now: for tests and stats. */
unsigned iop_mon_bin_node_open_count(const struct iop_mon_bin_node *n);
unsigned iop_mon_bin_node_parked(const struct iop_mon_bin_node *n);
