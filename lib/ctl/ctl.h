/* /dev/i2o/ctl as a device model: open files and the ioctl dispatcher.
 *
 * The CUSE adapter (cuse/ctl-node.c) and the in-process tests drive exactly this API;
 * caller memory is reached only through struct iop_umem (umem.h).  Results follow the
 * kernel's i2o_config.c (see i2o-abi.md in the design notes): >= 0 is the ioctl's
 * return value (including the positive ReqStatus quirk), < 0 a negative errno.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/umem/umem.h"

struct iop_system;
struct iop_ctl;
struct iop_ctl_file;

/* Flags of one call. */
#define IOP_CTL_COMPAT 0x1u /* 32-bit caller: i386 command numbers and struct layouts */

int iop_ctl_new(struct iop_system *sys, struct iop_ctl **ret);
struct iop_ctl *iop_ctl_free(struct iop_ctl *ctl);

/* Replace the IOP system (configuration reload); open files stay open. */
void iop_ctl_set_system(struct iop_ctl *ctl, struct iop_system *sys);

int iop_ctl_open(struct iop_ctl *ctl, struct iop_ctl_file **ret);
void iop_ctl_release(struct iop_ctl_file *f);
unsigned iop_ctl_file_count(const struct iop_ctl *ctl);

/* An ioctl that finishes later (I2OPASSTHRU to a USB device: the answer comes when
 * its URB completes).  The caller fills done and keeps the user-memory accessor and
 * this struct alive until done(a, result) runs (once, from the event loop); the
 * outputs have been written through the accessor by then.  iop_ctl_cancel() asks
 * for an early end (a FUSE interrupt): done still runs, with -EINTR. */
struct iop_ctl_async {
    void (*done)(struct iop_ctl_async *a, int result); /* the caller's */
    void (*cancel)(struct iop_ctl_async *a);           /* lib/ctl's, while pending */
    void *priv;                                        /* lib/ctl's */
};

#define IOP_CTL_PENDING 0x40000003

/* One ioctl.  Returns the result, a negative errno, IOP_UMEM_RETRY when the user
 * memory accessor needs another round (then nothing has changed state yet), or
 * IOP_CTL_PENDING when async->done will deliver it (async may be NULL: such requests
 * then fail at once). */
int iop_ctl_ioctl(struct iop_ctl *ctl, struct iop_ctl_file *f, unsigned int cmd, uint64_t arg,
                  unsigned flags, struct iop_umem *um, struct iop_ctl_async *async);
void iop_ctl_cancel(struct iop_ctl_async *a);

/* Events for read()/poll() (a superset of the kernel's driver, which had neither;
 * the old document's "select() then read() the pending events"):
 * notify is called whenever events are queued for the file. */
void iop_ctl_file_set_notify(struct iop_ctl_file *f, void (*fn)(void *ctx), void *ctx);
bool iop_ctl_file_readable(const struct iop_ctl_file *f);
/* Dequeue whole struct i2o_evt_info records, as many as fit in size; -EINVAL when size
 * cannot hold one, -EAGAIN when none is queued. */
long iop_ctl_read(struct iop_ctl_file *f, void *buf, size_t size);

/* The name of an I2O ioctl number ("I2OGETIOPS"), or NULL. */
const char *iop_ctl_cmd_name(unsigned int cmd, unsigned flags);
