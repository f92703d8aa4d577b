/* Access to the memory of the process that made an ioctl ("user memory").
 *
 * I2O ioctls carry user pointers nested inside their argument structs.  The kernel's
 * handlers called copy_from_user() as they went.  Through CUSE the daemon cannot reach
 * the caller's memory at all: it must name the ranges it wants, and the kernel restarts
 * the ioctl with those bytes attached (fuse_reply_ioctl_retry).  Every restart is a
 * round trip that costs far more than the work, so handlers declare everything they
 * can before asking:
 *
 *     iop_umem_want_in(um, addr, n);      will read these bytes
 *     iop_umem_want_out(um, addr, n);     may write (a prefix of) these bytes
 *     r = iop_umem_sync(um);              IOP_UMEM_RETRY: return it unchanged
 *     r = iop_umem_read(um, addr, buf, n);
 *     r = iop_umem_write(um, addr, buf, n);
 *
 * Rules that let the CUSE adapter stay stateless between rounds (umem-rounds.c):
 *  - A handler is re-run from the top on every round.  Given the same caller memory it
 *    declares the same ranges in the same order, and only appends new ones.
 *  - Out ranges are written in declaration order, each range from its start: the
 *    kernel copies the reply's bytes into the out ranges in order and only as many as
 *    the reply carries, so whatever is written must be a prefix of the out list.
 *    Writing together with an error result is fine (ENOBUFS reports the needed length).
 *  - Reading a range that was never declared still works (it is declared on the spot
 *    and costs a round); writing one that was never declared is a bug (-EIO).
 *
 * Errors: -EFAULT for memory the caller does not have (NULL, unmapped); -ENOMEM when
 * the ranges exceed what one ioctl can move (IOP_UMEM_MAX_BYTES per direction, as the
 * kernel's FUSE ioctl limit).  IOP_UMEM_RETRY is positive and cannot collide with a
 * negative errno or with the small positive I2O ReqStatus values some ioctls return.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define IOP_UMEM_RETRY 0x40000001

/* One FUSE ioctl moves at most fc->max_pages pages (32 by default, CUSE never raises
 * it) in each direction, in at most FUSE_IOCTL_MAX_IOV ranges in all. */
#define IOP_UMEM_MAX_BYTES (32u * 4096u)
#define IOP_UMEM_MAX_RANGES 256u

struct iop_umem_ops {
    /* Declare intent; may be NULL for accessors with direct access. */
    int (*want_in)(void *ctx, uint64_t uaddr, size_t n);
    int (*want_out)(void *ctx, uint64_t uaddr, size_t n);
    /* 0 when every declared range is available, IOP_UMEM_RETRY or -errno otherwise. */
    int (*sync)(void *ctx);
    int (*read)(void *ctx, uint64_t uaddr, void *dst, size_t n);
    int (*write)(void *ctx, uint64_t uaddr, const void *src, size_t n);
};

struct iop_umem {
    const struct iop_umem_ops *ops;
    void *ctx;
};

int iop_umem_want_in(struct iop_umem *um, uint64_t uaddr, size_t n);
int iop_umem_want_out(struct iop_umem *um, uint64_t uaddr, size_t n);
int iop_umem_sync(struct iop_umem *um);
int iop_umem_read(struct iop_umem *um, uint64_t uaddr, void *dst, size_t n);
int iop_umem_write(struct iop_umem *um, uint64_t uaddr, const void *src, size_t n);
/* One host-endian u32 (the ABI's
 * "unsigned int *" fields are host-endian). */
int iop_umem_read_u32(struct iop_umem *um, uint64_t uaddr, uint32_t *v);
int iop_umem_write_u32(struct iop_umem *um, uint64_t uaddr, uint32_t v);
