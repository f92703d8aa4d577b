/* usbmon text trace nodes over CUSE (/dev/usbmon/0u, /dev/usbmon/1u, /dev/usbmon/1t
 * ...): a thin adapter from FUSE requests to lib/usbmon readers.
 *
 * Each open() is a reader (reader.h).  read() returns the queued lines that fit whole
 * (part of one when the buffer is shorter than a line; the kernel's debugfs files
 * return one line per read: reader.h says why this differs); with no line ready it
 * waits without blocking the daemon (the request is parked and answered when lines
 * arrive, see iop_mon_node_set_wake_delay), returns EAGAIN under O_NONBLOCK, and
 * EINTR when the caller is interrupted by a signal.  When the bus
 * goes away, reads return what was queued, then end of file.  poll() reports POLLIN
 * while a line is ready and POLLHUP after the bus went away (the kernel's files had no
 * poll and always looked readable).  write() is EINVAL and ioctl() ENOTTY, what the
 * VFS answered for those debugfs files. */
#pragma once

#include <stdint.h>

#include "lib/usbmon/text.h"

struct iop_loop;
struct iop_mon;
struct iop_cuse_dev;
struct iop_mon_node;

/* Serve bus busnum (0: all buses) in format fmt on a CUSE session created on fd
 * (/dev/cuse or a test socket; taken over, closed on failure too).  devname is the
 * node below /dev ("usbmon/1u").  The bus need not exist yet: opening a node whose
 * bus is missing fails with ENODEV.  -EINVAL for 't' on bus 0 (the kernel has no 0t). */
int iop_mon_node_new(struct iop_mon *mon, unsigned busnum, enum iop_mon_fmt fmt, const char *devname, int fd,
                     struct iop_mon_node **ret);
/* Hold back the wakeup of a waiting read or poll by up to usec after the first line
 * arrives, on loop's timers, so that the lines arriving meanwhile go out in the same
 * reply (cuse/node.h says why); a queue of IOP_MON_WAKE_DEPTH lines and hangup wake at
 * once.  usec 0 or loop NULL (the default): wake at every first line, as the kernel. */
void iop_mon_node_set_wake_delay(struct iop_mon_node *n, struct iop_loop *loop, uint64_t usec);
/* Answers any parked read with ENODEV, closes every reader, removes the node.  NULL is
 * fine; returns NULL.  Free nodes before the struct iop_mon they read from. */
struct iop_mon_node *iop_mon_node_free(struct iop_mon_node *n);
struct iop_cuse_dev *iop_mon_node_dev(struct iop_mon_node *n);
/* Open files and reads parked right now: for tests and stats. */
unsigned iop_mon_node_open_count(const struct iop_mon_node *n);
unsigned iop_mon_node_parked_reads(const struct iop_mon_node *n);
