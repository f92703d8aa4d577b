/* The IOP data path on top of the 8237: move an arbitrary buffer to or from the device
 * attached to a channel (its iop_dma_xfer_fn), in blocks that respect the 64K/128K
 * boundaries and 16 MiB limit, through the driver API exactly as a kernel driver would
 * (lock, clear_dma_ff, set_dma_mode single, set_dma_addr, set_dma_count, enable).
 *
 * A host buffer (anywhere in the daemon's memory) is bounced: one ISA buffer of up to a
 * boundary's size is allocated from d->mem for the transfer, and each block is copied
 * in (to device) or out (from device) with one memcpy.  Data already in ISA memory
 * (host == NULL) is used in place, split at the boundaries.
 *
 * One transfer at a time per controller pair (iopd serialises its DMA users; the
 * controller state blob has room for exactly one in-flight transfer).
 *
 * Position: `done` counts bytes fully delivered (taken by the device, or landed in the
 * host buffer).  It is exact after every call, which is what makes suspend/resume
 * clean: a blob saved between steps lets a restarted daemon either resume from `done`
 * (re-attaching the same host buffer; the interrupted block is re-programmed from
 * `done`, no byte is moved twice) or abort and report the residue len - done. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/dma/i8237.h"

/* Counts are returned as int; I2O software images are a few MiB. */
#define IOP_DMA_XFER_LEN_MAX (1u << 30)

struct iop_dma_xfer_req {
    unsigned chan;         /* 0-3 or 5-7, requested by the caller */
    enum iop_dma_dir dir;
    void *host;            /* borrowed until the transfer ends; NULL: data at isa_addr */
    uint32_t isa_addr;     /* when host is NULL */
    size_t len;            /* 1..IOP_DMA_XFER_LEN_MAX; even on channels 5-7 */
};

/* Start a transfer.  0, or: -EINVAL (channel, dir, length, odd length/address on 5-7),
 * -EPERM channel not requested, -EBUSY a transfer is active, -EDEADLK the caller holds
 * the DMA lock, -ENODEV no ISA memory attached, -EIO the channel is blocked (controller
 * disabled, cascade not set up), -EFAULT ISA range reaches above 16 MiB, -ENOMEM no
 * bounce buffer. */
int iop_dma_xfer_begin(struct iop_dma8237 *d, const struct iop_dma_xfer_req *req);
/* Move up to budget bytes (rounded down to even on 5-7), programming blocks as needed.
 * Returns bytes moved; fewer than asked (maybe 0) means the device dropped DREQ or the
 * channel was masked; call again later or abort.  When done reaches len the transfer
 * ends by itself.  -ENOENT no transfer, -EAGAIN loaded from a blob and not resumed,
 * -EDEADLK the caller holds the DMA lock (nothing changes).  A device error ends the
 * transfer as iop_dma_xfer_abort would and is returned. */
int iop_dma_xfer_step(struct iop_dma8237 *d, size_t budget);
/* Stop now, as a driver that times out does: disable the channel, leaving its count
 * register where it stopped (iop_dma_get_residue tells what is left of the block), free
 * the bounce buffer.  Returns the transfer's residue, len - done; -ENOENT none. */
int iop_dma_xfer_abort(struct iop_dma8237 *d);
/* After iop_dma_load of a blob taken mid-transfer: re-attach the host buffer (the same
 * len; host must be NULL exactly when the transfer was ISA resident) and continue with
 * iop_dma_xfer_step from `done`.  -ENOENT no suspended transfer, -EINVAL mismatch,
 * -ENODEV / -ENOMEM as begin. */
int iop_dma_xfer_resume(struct iop_dma8237 *d, void *host, size_t len);

struct iop_dma_xfer_info {
    unsigned chan;
    enum iop_dma_dir dir;
    uint64_t len, done;
    bool bounced, suspended;
};
/* The active transfer, -ENOENT if none. */
int iop_dma_xfer_info(const struct iop_dma8237 *d, struct iop_dma_xfer_info *ret);

/* All in one call: begin, step until done; if the device stops making progress the
 * transfer is aborted there.  Returns bytes moved (short: the device stopped, the
 * channel's residue tells the rest), or a negative errno as begin/step. */
int iop_dma_xfer(struct iop_dma8237 *d, const struct iop_dma_xfer_req *req);
