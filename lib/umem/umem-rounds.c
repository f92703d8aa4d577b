#include "lib/umem/umem-rounds.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool range_contains(const struct iop_uiov *v, uint64_t uaddr, size_t n) {
    return uaddr >= v->base && uaddr - v->base <= v->len && n <= v->len - (uaddr - v->base);
}

static int add_range(struct iop_umem_rounds *r, bool out, uint64_t uaddr, size_t n) {
    struct iop_uiov *list = out ? r->out : r->in;
    unsigned *count = out ? &r->n_out : &r->n_in;
    uint64_t *bytes = out ? &r->out_bytes : &r->in_bytes;

    if (r->error)
        return r->error;
    if (n == 0)
        return 0;
    /* The kernel refuses a request over these limits with ENOMEM; so do we. */
    if (r->n_in + r->n_out >= IOP_UMEM_MAX_RANGES || n > IOP_UMEM_MAX_BYTES ||
        *bytes + n > IOP_UMEM_MAX_BYTES)
        return (r->error = -ENOMEM);
    if (uaddr + n < uaddr)
        return (r->error = -EFAULT);
    list[*count].base = uaddr;
    list[*count].len = n;
    (*count)++;
    *bytes += n;
    return 0;
}

static int rounds_want_in(void *ctx, uint64_t uaddr, size_t n) { return add_range(ctx, false, uaddr, n); }
static int rounds_want_out(void *ctx, uint64_t uaddr, size_t n) { return add_range(ctx, true, uaddr, n); }

static int rounds_sync(void *ctx) {
    struct iop_umem_rounds *r = ctx;

    if (r->error)
        return r->error;
    if (r->in_bytes > r->in_size || r->out_bytes > r->out_size)
        return IOP_UMEM_RETRY;
    return 0;
}

static int rounds_read(void *ctx, uint64_t uaddr, void *dst, size_t n) {
    struct iop_umem_rounds *r = ctx;
    uint64_t off = 0;

    for (unsigned i = 0; i < r->n_in; off += r->in[i].len, i++) {
        if (!range_contains(&r->in[i], uaddr, n))
            continue;
        uint64_t at = off + (uaddr - r->in[i].base);
        if (at + n > r->in_size)
            return IOP_UMEM_RETRY; /* declared, not gathered yet */
        memcpy(dst, r->in_buf + at, n);
        return 0;
    }
    int e = add_range(r, false, uaddr, n);
    return e < 0 ? e : IOP_UMEM_RETRY;
}

static int rounds_write(void *ctx, uint64_t uaddr, const void *src, size_t n) {
    struct iop_umem_rounds *r = ctx;
    uint64_t off = 0;

    for (unsigned i = 0; i < r->n_out; off += r->out[i].len, i++) {
        if (!range_contains(&r->out[i], uaddr, n))
            continue;
        uint64_t at = off + (uaddr - r->out[i].base);
        /* Only a prefix reaches the caller: a write past the written part would leave
         * a hole that the kernel fills with our buffer's stale bytes. */
        if (at > r->out_len || at + n > r->out_size)
            return -EIO;
        memcpy(r->out_buf + at, src, n);
        if (at + n > r->out_len)
            r->out_len = at + n;
        return 0;
    }
    return -EIO;
}

static const struct iop_umem_ops rounds_ops = {
    .want_in = rounds_want_in,
    .want_out = rounds_want_out,
    .sync = rounds_sync,
    .read = rounds_read,
    .write = rounds_write,
};

int iop_umem_rounds_init(struct iop_umem_rounds *r, const void *in_buf, size_t in_size, size_t out_size) {
    assert(r);
    memset(r, 0, offsetof(struct iop_umem_rounds, in));
    r->n_in = r->n_out = 0;
    r->in_bytes = r->out_bytes = 0;
    r->out_len = 0;
    r->error = 0;
    r->um.ops = &rounds_ops;
    r->um.ctx = r;
    r->in_buf = in_buf;
    r->in_size = in_buf ? in_size : 0;
    r->out_size = out_size < IOP_UMEM_MAX_BYTES ? out_size : IOP_UMEM_MAX_BYTES;
    r->out_buf = NULL;
    if (r->out_size) {
        r->out_buf = malloc(r->out_size);
        if (!r->out_buf)
            return -ENOMEM;
    }
    return 0;
}

void iop_umem_rounds_done(struct iop_umem_rounds *r) {
    if (!r)
        return;
    free(r->out_buf);
    r->out_buf = NULL;
}
