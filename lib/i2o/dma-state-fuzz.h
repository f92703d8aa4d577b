/* A fuzz entry point for the DMA controller's saved state (lib/dma/dma-save.c), as the
 * daemon loads dma.state into an IOP's ISA data path (isa-path.c).
 *
 * iop_dma_state_fuzz_one(): data[0] bits 0-2 pick the channel (0-3, 5-7), bit 3 repairs
 * the blob's header (magic, version, field count, payload length) so the input reaches
 * the field checks, bit 4 takes a real blob (of a fresh path; after some traffic with
 * bit 5) and XORs the rest of the input over it (bit 6: cut to the input's length);
 * without bit 4 the rest is the blob.  Checks (-EIO when one fails):
 *  - a refused blob (-EINVAL) changes nothing: the state saves to the same bytes;
 *  - an accepted one saves back to a blob that a fresh path loads to the same state
 *    (the round trip is a fixed point);
 *  - after an accepted blob the data path still moves data both ways, intact: whatever
 *    registers a saved state holds, iopd's next transfer programs what it needs. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int iop_dma_state_fuzz_one(const uint8_t *data, size_t len);
