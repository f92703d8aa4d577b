#include "lib/dma/isamem.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/cleanup.h"

#define NWORDS (IOP_ISAMEM_NUNITS / 64)

struct iop_isamem {
    uint8_t *chunk[IOP_ISAMEM_NCHUNKS]; /* owned; NULL until first touched */
    /* used: unit belongs to a buffer.  head: unit is the first of a buffer, which is
     * what lets free_buf find the extent without the caller passing a size. */
    uint64_t used[NWORDS];
    uint64_t head[NWORDS];
    size_t allocated;
    size_t resident;
};

_Static_assert(IOP_ISAMEM_SIZE % IOP_ISAMEM_CHUNK == 0, "chunks tile the ISA space");
_Static_assert(IOP_ISAMEM_CHUNK % IOP_ISAMEM_BOUNDARY_8BIT == 0 &&
               IOP_ISAMEM_CHUNK % IOP_ISAMEM_BOUNDARY_16BIT == 0,
               "a legal block never spans two chunks");
_Static_assert(IOP_ISAMEM_BOUNDARY_8BIT % IOP_ISAMEM_UNIT == 0, "units tile a boundary window");

int iop_isamem_new(struct iop_isamem **ret) {
    assert(ret);
    struct iop_isamem *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    *ret = m;
    return 0;
}

struct iop_isamem *iop_isamem_free(struct iop_isamem *m) {
    if (!m)
        return NULL;
    for (size_t i = 0; i < IOP_ISAMEM_NCHUNKS; i++)
        free(m->chunk[i]);
    free(m);
    return NULL;
}

static bool range_ok(uint32_t addr, size_t len) {
    return addr <= IOP_ISAMEM_SIZE && len <= IOP_ISAMEM_SIZE - addr;
}

int iop_isamem_check_block(uint32_t addr, size_t len, bool wide) {
    uint32_t b = iop_isamem_boundary(wide);

    if (!range_ok(addr, len))
        return -EFAULT;
    if (len == 0 || len > b)
        return -EINVAL;
    if (wide && ((addr | len) & 1))
        return -EINVAL;
    /* First and last byte in the same boundary window. */
    if (addr / b != (addr + (uint32_t)len - 1) / b)
        return -EINVAL;
    return 0;
}

static bool bit_get(const uint64_t *bm, size_t i) { return bm[i / 64] >> (i % 64) & 1; }
static void bit_set(uint64_t *bm, size_t i) { bm[i / 64] |= UINT64_C(1) << (i % 64); }
static void bit_clr(uint64_t *bm, size_t i) { bm[i / 64] &= ~(UINT64_C(1) << (i % 64)); }

int iop_isamem_alloc_buf(struct iop_isamem *m, size_t len, bool wide, uint32_t *ret_addr) {
    assert(m);
    assert(ret_addr);
    size_t win = iop_isamem_boundary(wide) / IOP_ISAMEM_UNIT;

    if (len == 0 || len > iop_isamem_boundary(wide))
        return -EINVAL;
    size_t n = (len + IOP_ISAMEM_UNIT - 1) / IOP_ISAMEM_UNIT;

    /* First fit inside each boundary window: a run never straddles two windows, so a
     * buffer can never cross the boundary. */
    for (size_t w = 0; w < IOP_ISAMEM_NUNITS; w += win) {
        size_t run = 0;
        for (size_t u = w; u < w + win; u++) {
            if (bit_get(m->used, u)) {
                run = 0;
                continue;
            }
            if (++run < n)
                continue;
            size_t first = u + 1 - n;
            for (size_t k = first; k <= u; k++)
                bit_set(m->used, k);
            bit_set(m->head, first);
            m->allocated += n * IOP_ISAMEM_UNIT;
            *ret_addr = (uint32_t)(first * IOP_ISAMEM_UNIT);
            return 0;
        }
    }
    return -ENOMEM;
}

int iop_isamem_free_buf(struct iop_isamem *m, uint32_t addr) {
    assert(m);
    if (addr >= IOP_ISAMEM_SIZE || addr % IOP_ISAMEM_UNIT)
        return -EINVAL;
    size_t u = addr / IOP_ISAMEM_UNIT;
    if (!bit_get(m->head, u))
        return -EINVAL;
    bit_clr(m->head, u);
    do {
        bit_clr(m->used, u);
        m->allocated -= IOP_ISAMEM_UNIT;
        u++;
    } while (u < IOP_ISAMEM_NUNITS && bit_get(m->used, u) && !bit_get(m->head, u));
    return 0;
}

size_t iop_isamem_allocated(const struct iop_isamem *m) {
    assert(m);
    return m->allocated;
}

size_t iop_isamem_resident(const struct iop_isamem *m) {
    assert(m);
    return m->resident;
}

static uint8_t *chunk_get(struct iop_isamem *m, size_t i) {
    if (!m->chunk[i]) {
        /* calloc: ISA memory reads as zeros until written, as the readers expect. */
        m->chunk[i] = calloc(1, IOP_ISAMEM_CHUNK);
        if (!m->chunk[i])
            return NULL;
        m->resident += IOP_ISAMEM_CHUNK;
    }
    return m->chunk[i];
}

int iop_isamem_read(const struct iop_isamem *m, uint32_t addr, void *buf, size_t len) {
    assert(m);
    if (!range_ok(addr, len))
        return -EFAULT;
    uint8_t *out = buf;
    while (len > 0) {
        size_t ci = addr / IOP_ISAMEM_CHUNK, off = addr % IOP_ISAMEM_CHUNK;
        size_t n = IOP_MIN(len, IOP_ISAMEM_CHUNK - off);
        if (m->chunk[ci])
            memcpy(out, m->chunk[ci] + off, n);
        else
            memset(out, 0, n);
        out += n;
        addr += (uint32_t)n;
        len -= n;
    }
    return 0;
}

int iop_isamem_write(struct iop_isamem *m, uint32_t addr, const void *buf, size_t len) {
    assert(m);
    if (!range_ok(addr, len))
        return -EFAULT;
    const uint8_t *in = buf;
    while (len > 0) {
        size_t ci = addr / IOP_ISAMEM_CHUNK, off = addr % IOP_ISAMEM_CHUNK;
        size_t n = IOP_MIN(len, IOP_ISAMEM_CHUNK - off);
        uint8_t *c = chunk_get(m, ci);
        if (!c)
            return -ENOMEM;
        memcpy(c + off, in, n);
        in += n;
        addr += (uint32_t)n;
        len -= n;
    }
    return 0;
}

int iop_isamem_map(struct iop_isamem *m, uint32_t addr, size_t len, uint8_t **ret) {
    assert(m);
    assert(ret);
    if (!range_ok(addr, len))
        return -EFAULT;
    size_t ci = addr / IOP_ISAMEM_CHUNK, off = addr % IOP_ISAMEM_CHUNK;
    if (len > IOP_ISAMEM_CHUNK - off)
        return -EINVAL;
    if (addr == IOP_ISAMEM_SIZE) {
        /* Only an empty range can start at the very top; it maps to nothing. */
        *ret = NULL;
        return 0;
    }
    uint8_t *c = chunk_get(m, ci);
    if (!c)
        return -ENOMEM;
    *ret = c + off;
    return 0;
}
