/* An IOP's data path on its ISA bus adapter: a simulated 8237 pair with its ISA
 * memory, one channel (the HRT's ISA adapter's dma_channel) requested for the IOP,
 * and the device end of that channel.  Software download/upload fragments and block
 * storage reads/writes move through it (lib/dma/dma-xfer.h: in blocks that never cross
 * a 64K (8-bit channels) or 128K (16-bit) boundary below 16 MiB), so the channel's
 * registers, residue and totals are those of real traffic.
 *
 * Where the host side of a move lives decides its cost, as for an ISA driver:
 *  - a buffer from iop_isa_path_buf_alloc() is ISA memory (what a driver gets with
 *    GFP_DMA): the channel is programmed with its own bus address and the device end
 *    copies straight to or from it -- one copy, no bounce;
 *  - any other host memory is bounced through an ISA buffer the transfer allocates:
 *    two copies, and the channel's "Bounces" total counts the blocks.
 * iopd's data paths (the software store's fragments, block storage I/O) use the first.
 *
 * Odd lengths on a 16-bit channel (5-7) cannot be programmed (counts are in words): the
 * last byte is padded to a word on both ends, as an ISA card's firmware would. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/dma/i8237.h"

struct iop_isamem;

#define IOP_ISA_PATH_OWNER "i2o-iop"
/* The largest single move (a BSA request's data); the path itself streams. */
#define IOP_ISA_PATH_MAX_MOVE (16u << 20)

struct iop_isa_path {
    struct iop_isamem *mem;   /* owned */
    struct iop_dma8237 dma;   /* the controller pair, saved and restored whole */
    unsigned chan;            /* 0-3 or 5-7 */
    /* The device end of the move in progress. */
    uint8_t *dev;
    size_t dev_len, dev_pos;
};

/* -EINVAL for channel 4 or > 7, -ENOMEM. */
int iop_isa_path_new(unsigned chan, struct iop_isa_path **ret);
struct iop_isa_path *iop_isa_path_free(struct iop_isa_path *p);

/* Move n bytes from src to dst through the channel: to_iop (host memory to the IOP,
 * the 8237's read transfer) has src in host memory and dst on the IOP; otherwise the
 * other way round.  Returns the bytes delivered (n, or fewer when the transfer was
 * cut short) or a negative errno. */
int iop_isa_path_move(struct iop_isa_path *p, bool to_iop, void *dst, const void *src, size_t n);

/* A DMA buffer of len bytes (1 .. the channel's 64K/128K boundary) in the path's ISA
 * memory, never crossing the boundary; NULL when len is out of range or no such run
 * is free (the caller then uses ordinary memory, which moves bounce).  Its contents
 * are whatever the last user left: clear what must not leak. */
void *iop_isa_path_buf_alloc(struct iop_isa_path *p, size_t len);
/* Free a buffer from iop_isa_path_buf_alloc (NULL is fine). */
void iop_isa_path_buf_free(struct iop_isa_path *p, void *buf);
/* Give back the ISA memory no buffer uses (lib/dma/isamem.h); not while a move runs,
 * which moves never do between calls.  Returns the bytes released. */
size_t iop_isa_path_trim(struct iop_isa_path *p);

/* The whole controller state as a blob (lib/dma/dma-save.h), and back.  A transfer
 * that was in progress when the blob was taken is aborted on load (iopd's moves are
 * synchronous, so there is no host buffer to resume into); its residue is logged and
 * returned in *residue (0: none).  A blob is refused (-EINVAL, the path unchanged) when
 * it is malformed or would leave the channel unable to reach the bus. */
int iop_isa_path_save(const struct iop_isa_path *p, void *buf, size_t cap);
int iop_isa_path_load(struct iop_isa_path *p, const void *buf, size_t len, uint64_t *residue);
