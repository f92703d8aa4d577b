#include "lib/umem/umem-space.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

/* The region that holds all of [uaddr, uaddr + n), or NULL. */
static void *space_lookup(struct iop_umem_space *s, uint64_t uaddr, size_t n, bool write) {
    if (uaddr + n < uaddr)
        return NULL;
    for (unsigned i = 0; i < s->n_regions; i++) {
        uint64_t start = s->region[i].uaddr, len = s->region[i].len;
        if (uaddr >= start && uaddr - start <= len && n <= len - (uaddr - start)) {
            if (write && !s->region[i].writable)
                return NULL;
            return (uint8_t *)s->region[i].host + (uaddr - start);
        }
    }
    return NULL;
}

static int space_sync(void *ctx) {
    struct iop_umem_space *s = ctx;
    s->n_syncs++;
    return 0;
}

static int space_read(void *ctx, uint64_t uaddr, void *dst, size_t n) {
    const void *p = space_lookup(ctx, uaddr, n, false);
    if (!p)
        return -EFAULT;
    memcpy(dst, p, n);
    return 0;
}

static int space_write(void *ctx, uint64_t uaddr, const void *src, size_t n) {
    void *p = space_lookup(ctx, uaddr, n, true);
    if (!p)
        return -EFAULT;
    memcpy(p, src, n);
    return 0;
}

static const struct iop_umem_ops space_ops = {
    .sync = space_sync,
    .read = space_read,
    .write = space_write,
};

void iop_umem_space_init(struct iop_umem_space *s) {
    assert(s);
    memset(s, 0, sizeof(*s));
    s->um.ops = &space_ops;
    s->um.ctx = s;
}

int iop_umem_space_map(struct iop_umem_space *s, uint64_t uaddr, void *host, size_t len, bool writable) {
    assert(s);
    if (len == 0 || uaddr + len < uaddr)
        return -EINVAL;
    if (s->n_regions >= IOP_UMEM_SPACE_REGIONS)
        return -ENOSPC;
    s->region[s->n_regions].uaddr = uaddr;
    s->region[s->n_regions].host = host;
    s->region[s->n_regions].len = len;
    s->region[s->n_regions].writable = writable;
    s->n_regions++;
    return 0;
}

int iop_umem_space_map_self(struct iop_umem_space *s, void *host, size_t len, bool writable) {
    return iop_umem_space_map(s, (uint64_t)(uintptr_t)host, host, len, writable);
}
