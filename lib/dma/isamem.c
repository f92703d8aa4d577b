#include "lib/dma/isamem.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/util/cleanup.h"

#define NWORDS (IOP_ISAMEM_NUNITS / 64)
#define UNITS_PER_CHUNK (IOP_ISAMEM_CHUNK / IOP_ISAMEM_UNIT)

struct iop_isamem {
    uint8_t *base;                       /* owned: the 16 MiB reservation */
    uint64_t touched[(IOP_ISAMEM_NCHUNKS + 63) / 64]; /* chunks written since their trim */
    /* used: unit belongs to a buffer.  head: unit is the first of a buffer, which is
     * what lets free_buf find the extent without the caller passing a size. */
    uint64_t used[NWORDS];
    uint64_t head[NWORDS];
    size_t allocated;
};

_Static_assert(IOP_ISAMEM_SIZE % IOP_ISAMEM_CHUNK == 0, "chunks tile the ISA space");
_Static_assert(IOP_ISAMEM_CHUNK % IOP_ISAMEM_BOUNDARY_8BIT == 0 &&
               IOP_ISAMEM_CHUNK % IOP_ISAMEM_BOUNDARY_16BIT == 0,
               "a legal block never spans two chunks");
_Static_assert(IOP_ISAMEM_BOUNDARY_8BIT % IOP_ISAMEM_UNIT == 0, "units tile a boundary window");
_Static_assert(UNITS_PER_CHUNK % 64 == 0, "a chunk's units are whole bitmap words");

int iop_isamem_new(struct iop_isamem **ret) {
    assert(ret);
    struct iop_isamem *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    /* Address space only: nothing is committed until written (MAP_NORESERVE keeps
     * strict overcommit accounting from charging 16 MiB per IOP). */
    void *base = mmap(NULL, IOP_ISAMEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        free(m);
        return -ENOMEM;
    }
    m->base = base;
    *ret = m;
    return 0;
}

struct iop_isamem *iop_isamem_free(struct iop_isamem *m) {
    if (!m)
        return NULL;
    munmap(m->base, IOP_ISAMEM_SIZE);
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
    size_t n = 0;
    for (size_t i = 0; i < IOP_ISAMEM_NCHUNKS; i++)
        n += bit_get(m->touched, i);
    return n * IOP_ISAMEM_CHUNK;
}

/* Chunk i, about to be written. */
static uint8_t *chunk_get(struct iop_isamem *m, size_t i) {
    bit_set(m->touched, i);
    return m->base + i * IOP_ISAMEM_CHUNK;
}

static bool chunk_has_buffer(const struct iop_isamem *m, size_t i) {
    for (size_t w = i * UNITS_PER_CHUNK / 64; w < (i + 1) * UNITS_PER_CHUNK / 64; w++)
        if (m->used[w])
            return true;
    return false;
}

size_t iop_isamem_trim(struct iop_isamem *m) {
    assert(m);
    size_t released = 0;
    for (size_t i = 0; i < IOP_ISAMEM_NCHUNKS; i++) {
        if (!bit_get(m->touched, i) || chunk_has_buffer(m, i))
            continue;
        /* Private anonymous memory reads as zeros after MADV_DONTNEED. */
        if (madvise(m->base + i * IOP_ISAMEM_CHUNK, IOP_ISAMEM_CHUNK, MADV_DONTNEED) < 0)
            continue;
        bit_clr(m->touched, i);
        released += IOP_ISAMEM_CHUNK;
    }
    return released;
}

int iop_isamem_addr_of(const struct iop_isamem *m, const void *p, size_t len, uint32_t *ret_addr) {
    assert(m && ret_addr);
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)m->base;
    if (a < b || a - b > IOP_ISAMEM_SIZE || len > IOP_ISAMEM_SIZE - (a - b))
        return -ENOENT;
    *ret_addr = (uint32_t)(a - b);
    return 0;
}

int iop_isamem_read(const struct iop_isamem *m, uint32_t addr, void *buf, size_t len) {
    assert(m);
    if (!range_ok(addr, len))
        return -EFAULT;
    uint8_t *out = buf;
    while (len > 0) {
        size_t ci = addr / IOP_ISAMEM_CHUNK, off = addr % IOP_ISAMEM_CHUNK;
        size_t n = IOP_MIN(len, IOP_ISAMEM_CHUNK - off);
        if (bit_get(m->touched, ci))
            memcpy(out, m->base + addr, n);
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
        memcpy(chunk_get(m, ci) + off, in, n);
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
    *ret = chunk_get(m, ci) + off;
    return 0;
}
