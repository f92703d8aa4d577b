/* Suspend/resume of the controller pair: a versioned little-endian blob produced from
 * one static field table (QEMU's VMStateDescription analogue) by one generic dumper and
 * checked by one generic loader.
 *
 * Blob: "IDMA" (4 bytes), version (le16), field count (le16), payload length (le32),
 * then every table field in table order, each element little-endian at its own width;
 * strings as fixed NUL-padded byte arrays.
 *
 * In the blob: both controllers (command, status, mask, flip-flop, the TC latch), all
 * eight channels (base/current address and count, mode, owner name, totals), the 16
 * page registers, and the high-level transfer's position (active, channel, direction,
 * bounced, ISA address, len, done).  Not in it: handlers and the ISA memory pointer
 * (runtime wiring, kept from the loading struct), the DMA lock (a snapshot is refused
 * while it is held), ISA memory contents, the bounce buffer and the host pointer.
 * After load, a transfer that was active is "suspended": see iop_dma_xfer_resume /
 * iop_dma_xfer_abort in dma-xfer.h. */
#pragma once

#include <stddef.h>

#include "lib/dma/i8237.h"

#define IOP_DMA_SAVE_MAGIC "IDMA"
/* Bump when the table changes; the loader then keeps the old table to read old blobs
 * (QEMU's minimum_version_id). */
#define IOP_DMA_SAVE_VERSION 1
#define IOP_DMA_SAVE_HEADER 12

/* Exact size of a blob of the current version. */
size_t iop_dma_save_size(void);
/* Write the blob into buf; returns its length, -ENOSPC if cap is too small (nothing
 * written), -EBUSY while the DMA lock is held (registers may be half programmed). */
int iop_dma_save(const struct iop_dma8237 *d, void *buf, size_t cap);
/* Replace d's state with the blob's.  0; -EINVAL for wrong magic, version, field
 * count or length, or any out-of-range or inconsistent value, and then *d is untouched;
 * -EBUSY if d holds the lock or has a running transfer (its bounce buffer would leak).
 * d must have been through iop_dma_init (its handlers and memory are kept). */
int iop_dma_load(struct iop_dma8237 *d, const void *buf, size_t len);
