/* The kernel's side of the CUSE retry protocol, in-process: runs an ioctl handler
 * round after round as fs/fuse/ioctl.c fuse_do_ioctl() does for an unrestricted CUSE
 * device, against a region table standing for the caller's memory (umem-space.h).
 * For fuzz targets and unit tests that want the real protocol (umem-rounds.h on the
 * daemon's side) without a socket: ranges named by a retry are gathered from the
 * regions (EFAULT if one is missing), the kernel's limits are enforced (256 ranges,
 * 32 pages each way: ENOMEM), and a final reply's bytes are scattered over the out
 * ranges in order (EFAULT at the first missing one, after the ranges before it).
 *
 *     struct iop_umem_drive d;
 *     iop_umem_drive_init(&d, &space);
 *     do r = iop_umem_drive_round(&d, handler, ctx); while (r == IOP_UMEM_RETRY);
 *     iop_umem_drive_done(&d);
 *
 * A handler result that is positive but not IOP_UMEM_RETRY (a "wait" of the caller's
 * own) is returned as it is, nothing scattered, and the same round can be run again.
 */
#pragma once

#include <stdint.h>

#include "lib/umem/umem-rounds.h"
#include "lib/umem/umem-space.h"

/* The handler of one round: the ioctl run against um (an iop_umem_rounds accessor). */
typedef int (*iop_umem_handler_fn)(void *ctx, struct iop_umem *um);

struct iop_umem_drive {
    struct iop_umem_space *user; /* borrowed */
    uint8_t *in;                 /* owned: this round's gathered input */
    size_t in_size, out_size;
    struct iop_uiov out[IOP_UMEM_MAX_RANGES];
    unsigned n_out;
    unsigned rounds;             /* rounds run so far */
};

void iop_umem_drive_init(struct iop_umem_drive *d, struct iop_umem_space *user);
void iop_umem_drive_done(struct iop_umem_drive *d);
/* One round: IOP_UMEM_RETRY (the next round is prepared), the ioctl's final result
 * (>= 0 or -errno from the handler, out bytes scattered), -EFAULT or -ENOMEM from the
 * kernel's side, -EIO for a reply the kernel would refuse, or the handler's other
 * positive value. */
int iop_umem_drive_round(struct iop_umem_drive *d, iop_umem_handler_fn fn, void *ctx);
