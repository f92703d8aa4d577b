#include "lib/dma/dma-xfer.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "lib/dma/isamem.h"
#include "lib/util/cleanup.h"
#include "lib/util/log.h"

/* A programmed block (up to 64K/128K) is fed through in pieces of this size: each
 * piece is copied into the bounce buffer just before the device reads it (or out just
 * after the device wrote it), so the second copy finds it in L1 (48 KiB here).
 * Measured with bench-dma on the development VM: whole 128K blocks 0.72-0.80x memcpy;
 * 16K pieces 0.73-0.80x; 8K pieces 0.76-0.88x, which is also the ceiling of a bare
 * two-memcpy loop through an 8K buffer on that machine (0.80-0.84x).  8 KiB is also
 * the I2O software-download fragment size. */
#define XFER_PIECE (8u << 10)

static bool wide_chan(unsigned chan) { return chan >= 4; }

static uint8_t mode_for(enum iop_dma_dir dir) {
    /* Single mode, increment, no autoinit: what Linux ISA drivers program. */
    switch (dir) {
    case IOP_DMA_TO_DEVICE:
        return IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_READ;
    case IOP_DMA_FROM_DEVICE:
        return IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_WRITE;
    default:
        return IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_VERIFY;
    }
}

/* End the transfer where it stands: the channel is disabled but keeps its count
 * register, as after a driver's disable_dma() on timeout. */
/* What the single mask register write (0x0A / 0xD4) does; the driver API would want
 * the lock, which a step ending on a device error does not hold. */
static void mask_chan(struct iop_dma8237 *d, unsigned chan) {
    d->ctl[chan >> 2].mask |= (uint8_t)(1u << (chan & 3));
}

static void xfer_end(struct iop_dma8237 *d) {
    struct iop_dma_xfer_state *x = &d->xfer;

    mask_chan(d, x->chan);
    if (x->have_bounce && d->mem)
        (void)iop_isamem_free_buf(d->mem, x->bounce_addr);
    memset(x, 0, sizeof(*x));
}

static int alloc_bounce(struct iop_dma8237 *d) {
    struct iop_dma_xfer_state *x = &d->xfer;
    bool wide = wide_chan(x->chan);
    uint32_t len = (uint32_t)IOP_MIN(x->len, (uint64_t)iop_isamem_boundary(wide));
    int r = iop_isamem_alloc_buf(d->mem, len, wide, &x->bounce_addr);

    if (r < 0)
        return r;
    x->have_bounce = 1;
    x->bounce_len = len;
    return 0;
}

/* What begin refuses, in its order. */
static int xfer_check(const struct iop_dma8237 *d, const struct iop_dma_xfer_req *req) {
    unsigned chan = req->chan;
    bool wide = wide_chan(chan);

    if (d->xfer.active)
        return -EBUSY;
    if (d->locked)
        return -EDEADLK;
    if (chan >= IOP_DMA_NCHANNELS || chan == IOP_DMA_CASCADE_CHANNEL)
        return -EINVAL;
    if (req->dir != IOP_DMA_TO_DEVICE && req->dir != IOP_DMA_FROM_DEVICE && req->dir != IOP_DMA_VERIFY)
        return -EINVAL;
    if (req->len == 0 || req->len > IOP_DMA_XFER_LEN_MAX || (wide && (req->len & 1)))
        return -EINVAL;
    if (!d->chan[chan].owner[0])
        return -EPERM;
    if (!d->mem)
        return -ENODEV;
    if (iop_dma_path_blocked(d, chan))
        return -EIO;
    if (!req->host) {
        if (req->isa_addr > IOP_ISAMEM_SIZE || req->len > IOP_ISAMEM_SIZE - req->isa_addr)
            return -EFAULT;
        if (wide && (req->isa_addr & 1))
            return -EINVAL;
    }
    return 0;
}

int iop_dma_xfer_begin(struct iop_dma8237 *d, const struct iop_dma_xfer_req *req) {
    assert(d);
    assert(req);
    struct iop_dma_xfer_state *x = &d->xfer;
    unsigned chan = req->chan;
    int r;

    if ((r = xfer_check(d, req)) < 0)
        return r;
    memset(x, 0, sizeof(*x));
    x->chan = (uint8_t)chan;
    x->dir = (uint8_t)req->dir;
    x->bounced = req->host != NULL;
    x->isa_addr = req->host ? 0 : req->isa_addr;
    x->len = req->len;
    x->host = req->host;
    if (x->bounced && (r = alloc_bounce(d)) < 0) {
        memset(x, 0, sizeof(*x));
        return r;
    }
    x->active = 1;
    return 0;
}

/* Pick the next block and program the channel (the bounce buffer is filled piece by
 * piece in xfer_step). */
static int program_block(struct iop_dma8237 *d) {
    struct iop_dma_xfer_state *x = &d->xfer;
    unsigned chan = x->chan;
    uint64_t remaining = x->len - x->done;
    uint32_t addr, len;
    int r;

    if (x->bounced) {
        addr = x->bounce_addr;
        len = (uint32_t)IOP_MIN(remaining, (uint64_t)x->bounce_len);
    } else {
        uint32_t b = iop_isamem_boundary(wide_chan(chan)); /* a power of two */
        addr = x->isa_addr + (uint32_t)x->done;
        len = (uint32_t)IOP_MIN(remaining, (uint64_t)(b - (addr & (b - 1))));
    }
    /* The driver sequence of DMA-ISA-LPC.txt Part V (lock, clear_dma_ff, set_dma_mode,
     * set_dma_addr, set_dma_count, enable_dma, unlock), in one call. */
    if ((r = iop_dma_program(d, chan, mode_for(x->dir), addr, len)) < 0)
        return r;

    x->chunk_addr = addr;
    x->chunk_len = len;
    x->chunk_pos = 0;
    d->chan[chan].totals.chunks++;
    if (x->bounced && x->dir != IOP_DMA_VERIFY)
        d->chan[chan].totals.bounces++;
    return 0;
}

/* The channel must still be where this transfer left it: a port write in between
 * (another user reprogramming it) would make the copy-out read the wrong bytes. */
static bool channel_consistent(const struct iop_dma8237 *d) {
    const struct iop_dma_xfer_state *x = &d->xfer;
    struct iop_dma_chan_status st;

    if (iop_dma_get_status(d, x->chan, &st) < 0)
        return false;
    return st.mode == mode_for(x->dir) && st.cur_addr == x->chunk_addr + x->chunk_pos &&
           st.residue == x->chunk_len - x->chunk_pos;
}

int iop_dma_xfer_step(struct iop_dma8237 *d, size_t budget) {
    assert(d);
    struct iop_dma_xfer_state *x = &d->xfer;
    size_t moved = 0;
    int r;

    if (!x->active)
        return -ENOENT;
    if (x->suspended)
        return -EAGAIN;
    if (d->locked)
        return -EDEADLK;

    unsigned chan = x->chan;
    const struct iop_dma_ctl *c = &d->ctl[chan >> 2];
    uint8_t bit = (uint8_t)(1u << (chan & 3));

    budget = IOP_MIN(budget, (size_t)INT_MAX);
    if (wide_chan(chan))
        budget &= ~(size_t)1;
    /* Between steps anyone may write the ports; during a step nothing else runs (the
     * handler must not call back), so one check per step is enough. */
    if (x->chunk_pos < x->chunk_len && !channel_consistent(d)) {
        iop_warn("dma: channel %u reprogrammed under a transfer, aborting it", chan);
        r = -EIO;
        goto fail;
    }
    while (moved < budget && x->done < x->len) {
        if (x->chunk_pos == x->chunk_len && (r = program_block(d)) < 0)
            goto fail;
        if ((c->mask & bit) || iop_dma_path_blocked(d, chan))
            break; /* masked under us, or the path closed: no progress, not an error */

        /* Bounced data goes piece by piece (see XFER_PIECE); data already in ISA memory
         * is one copy, by the device, of the whole block. */
        size_t want = IOP_MIN(budget - moved, (size_t)(x->chunk_len - x->chunk_pos));
        if (x->bounced)
            want = IOP_MIN(want, (size_t)XFER_PIECE);
        uint8_t *p;
        if (x->bounced && x->dir != IOP_DMA_VERIFY &&
            (r = iop_isamem_map(d->mem, x->chunk_addr + x->chunk_pos, want, &p)) < 0)
            goto fail;
        /* Idempotent if the device takes less: the next step copies the same bytes. */
        if (x->bounced && x->dir == IOP_DMA_TO_DEVICE)
            memcpy(p, (const uint8_t *)x->host + x->done, want);
        /* The helper plays the device's DREQ line for the length of the step. */
        iop_dma_hold_dreq(d, chan);
        r = iop_dma_channel_run(d, chan, want);
        iop_dma_release_dreq(d, chan);
        if (r < 0)
            goto fail;
        if (r > 0 && x->bounced && x->dir == IOP_DMA_FROM_DEVICE)
            memcpy((uint8_t *)x->host + x->done, p, (size_t)r);
        x->chunk_pos += (uint32_t)r;
        x->done += (uint64_t)r;
        moved += (size_t)r;
        if ((size_t)r < want)
            break;
    }
    if (x->done == x->len)
        xfer_end(d);
    return (int)moved;

fail:
    xfer_end(d);
    return r;
}

int iop_dma_xfer_abort(struct iop_dma8237 *d) {
    assert(d);
    if (!d->xfer.active)
        return -ENOENT;
    int residue = (int)(d->xfer.len - d->xfer.done);
    xfer_end(d);
    return residue;
}

int iop_dma_xfer_resume(struct iop_dma8237 *d, void *host, size_t len) {
    assert(d);
    struct iop_dma_xfer_state *x = &d->xfer;
    int r;

    if (!x->active || !x->suspended)
        return -ENOENT;
    if (len != x->len || (host != NULL) != (x->bounced != 0))
        return -EINVAL;
    if (!d->mem)
        return -ENODEV;
    if (x->bounced && (r = alloc_bounce(d)) < 0)
        return r;
    x->host = host;
    x->chunk_addr = x->chunk_len = x->chunk_pos = 0;
    x->suspended = 0;
    return 0;
}

int iop_dma_xfer_info(const struct iop_dma8237 *d, struct iop_dma_xfer_info *ret) {
    assert(d);
    assert(ret);
    const struct iop_dma_xfer_state *x = &d->xfer;

    if (!x->active)
        return -ENOENT;
    *ret = (struct iop_dma_xfer_info){
        .chan = x->chan,
        .dir = (enum iop_dma_dir)x->dir,
        .len = x->len,
        .done = x->done,
        .bounced = x->bounced,
        .suspended = x->suspended,
    };
    return 0;
}

/* iop_dma_xfer's common case, after xfer_check: ISA-resident data that fits in one
 * block (a software store fragment, a block storage request of up to 64K/128K).  It
 * does what begin and the first step do with it -- program the block, run the channel
 * once for all of it -- in the same order and with the same effects, but leaves the
 * transfer state alone: nothing can look at it while the device end runs (it must not
 * call back), and a transfer that ends in this call leaves it all zero, as it was.
 * Only when the device stops short and the transfer goes on is it filled in, as the
 * first step would have left it.  Returns what that step returns.  (An 8 KiB move
 * still costs about 540 instructions besides the copy: BENCHMARKS.md, DMA.) */
static int xfer_one_block(struct iop_dma8237 *d, const struct iop_dma_xfer_req *req) {
    unsigned chan = req->chan;
    uint32_t len = (uint32_t)req->len;
    int r;

    if ((r = iop_dma_program(d, chan, mode_for(req->dir), req->isa_addr, len)) < 0) {
        mask_chan(d, chan); /* xfer_end */
        return r;
    }
    d->chan[chan].totals.chunks++;
    r = iop_dma_run_block(d, chan); /* the step's DREQ and run, for the whole block */
    if (r > 0 && (uint32_t)r < len) {
        struct iop_dma_xfer_state *x = &d->xfer;
        x->active = 1;
        x->chan = (uint8_t)chan;
        x->dir = (uint8_t)req->dir;
        x->isa_addr = req->isa_addr;
        x->len = len;
        x->done = (uint64_t)r;
        x->chunk_addr = req->isa_addr;
        x->chunk_len = len;
        x->chunk_pos = (uint32_t)r;
        return r;
    }
    mask_chan(d, chan); /* done, failed, or no progress: xfer_end (or the abort) */
    return r;
}

static bool one_block(const struct iop_dma_xfer_req *req) {
    uint32_t b = iop_isamem_boundary(wide_chan(req->chan));
    return !req->host && (req->isa_addr & (b - 1)) + req->len <= b;
}

int iop_dma_xfer(struct iop_dma8237 *d, const struct iop_dma_xfer_req *req) {
    assert(d);
    assert(req);
    size_t total = 0;
    int r;

    if ((r = xfer_check(d, req)) < 0)
        return r;
    if (one_block(req)) {
        if ((r = xfer_one_block(d, req)) <= 0 || !d->xfer.active)
            return r;
        total = (size_t)r;
    } else if ((r = iop_dma_xfer_begin(d, req)) < 0) {
        return r;
    }
    for (;;) {
        r = iop_dma_xfer_step(d, IOP_DMA_XFER_LEN_MAX);
        if (r < 0) {
            /* Errors that leave it running (a handler that took the DMA lock against
             * its contract): this call owns the transfer, so end it here. */
            if (d->xfer.active)
                iop_dma_xfer_abort(d);
            return r;
        }
        total += (size_t)r;
        if (!d->xfer.active)
            return (int)total;
        if (r == 0) {
            /* The device stopped asking: end it like a driver's timeout would. */
            iop_dma_xfer_abort(d);
            return (int)total;
        }
    }
}
