/* ISA "physical memory": the 16 MiB an ISA/LPC DMA controller can address, and the
 * buffer rules of Documentation/DMA-ISA-LPC.txt, Part II.
 *
 * - The DMA-able space is the low 16 MiB (24 address lines: 8 page bits + 16).
 * - A DMA block may not cross a "page" boundary: 64 KiB for the 8-bit channels 0-3,
 *   128 KiB for the 16-bit channels 5-7 (their page register's bit 0 is ignored and
 *   the address register counts words, so a block lives in one 128K-aligned page pair).
 *
 * The 16 MiB are one reservation of address space (no memory is committed for it):
 * pages become resident when written and go back to the system when iop_isamem_trim()
 * finds no buffer in their IOP_ISAMEM_CHUNK, so a daemon that moves 8 KiB I2O
 * fragments holds one 128 KiB chunk while it moves them and nothing when idle.  The
 * whole space is contiguous in host memory: every legal block is one memcpy, and a
 * host pointer into it has an ISA address (iop_isamem_addr_of), which is how a data
 * path recognises a buffer it can hand to the DMA controller without a bounce.
 *
 * Errors: a range that is not below 16 MiB gives -EFAULT (it has no bus address); a
 * range that is below 16 MiB but not usable for DMA (crosses the channel's boundary,
 * zero or oversized length, odd address on a 16-bit channel) gives -EINVAL. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 24 ISA address lines. */
#define IOP_ISAMEM_SIZE (16u << 20)
/* The 8237's address register is 16 bits; above it sits the page register, which the
 * controller never increments: a block may not cross these. */
#define IOP_ISAMEM_BOUNDARY_8BIT (64u << 10)
#define IOP_ISAMEM_BOUNDARY_16BIT (128u << 10)
/* Residency granule (touched / trimmed as a whole): the largest legal block. */
#define IOP_ISAMEM_CHUNK IOP_ISAMEM_BOUNDARY_16BIT
#define IOP_ISAMEM_NCHUNKS (IOP_ISAMEM_SIZE / IOP_ISAMEM_CHUNK)
/* Allocation granule.  1 KiB keeps the bookkeeping at two 2 KiB bitmaps while wasting
 * at most 1023 bytes per buffer; the buffers iopd uses are 8 KiB..128 KiB. */
#define IOP_ISAMEM_UNIT 1024u
#define IOP_ISAMEM_NUNITS (IOP_ISAMEM_SIZE / IOP_ISAMEM_UNIT)

struct iop_isamem;

int iop_isamem_new(struct iop_isamem **ret);
struct iop_isamem *iop_isamem_free(struct iop_isamem *m);

/* The boundary a channel of this width may not cross (wide: a 16-bit channel). */
static inline uint32_t iop_isamem_boundary(bool wide) {
    return wide ? IOP_ISAMEM_BOUNDARY_16BIT : IOP_ISAMEM_BOUNDARY_8BIT;
}

/* 0 if [addr, addr+len) is a legal single DMA block for a channel of this width;
 * -EFAULT if it reaches above 16 MiB; -EINVAL if len is 0, it crosses the boundary, or
 * (wide) addr or len is odd. */
int iop_isamem_check_block(uint32_t addr, size_t len, bool wide);

/* Allocate a DMA buffer of len bytes (1..boundary) that never crosses the boundary of
 * a channel of this width; *ret_addr is its ISA bus address (IOP_ISAMEM_UNIT aligned).
 * -EINVAL bad length, -ENOMEM no free run (ISA memory is scarce: allocate early,
 * keep it, as the seed advises). */
int iop_isamem_alloc_buf(struct iop_isamem *m, size_t len, bool wide, uint32_t *ret_addr);
/* Free a buffer; addr must be exactly what iop_isamem_alloc_buf returned (-EINVAL
 * otherwise, and nothing is freed). */
int iop_isamem_free_buf(struct iop_isamem *m, uint32_t addr);
/* Bytes currently allocated (in whole units). */
size_t iop_isamem_allocated(const struct iop_isamem *m);
/* Bytes of host memory backing the ISA space (whole chunks written since their last
 * trim: an upper bound of what is resident). */
size_t iop_isamem_resident(const struct iop_isamem *m);
/* Give back the memory of every chunk that no allocated buffer overlaps: what was
 * written there outside buffers reads as zeros afterwards, as never-written memory
 * does.  Buffers keep their contents.  Returns the bytes released. */
size_t iop_isamem_trim(struct iop_isamem *m);
/* The ISA address of host memory [p, p+len) if it lies inside this ISA space: 0, or
 * -ENOENT when it does not (then it is ordinary host memory). */
int iop_isamem_addr_of(const struct iop_isamem *m, const void *p, size_t len, uint32_t *ret_addr);

/* Copy between ISA memory and a host buffer; any range below 16 MiB (-EFAULT
 * otherwise).  Reading never-written memory gives zeros and makes nothing resident. */
int iop_isamem_read(const struct iop_isamem *m, uint32_t addr, void *buf, size_t len);
int iop_isamem_write(struct iop_isamem *m, uint32_t addr, const void *buf, size_t len);

/* A direct host pointer to [addr, addr+len), which must lie inside one chunk (any
 * legal DMA block does): -EFAULT above 16 MiB, -EINVAL if it spans chunks.  The
 * pointer stays valid until iop_isamem_free(); the memory counts as written. */
int iop_isamem_map(struct iop_isamem *m, uint32_t addr, size_t len, uint8_t **ret);
