#include "lib/umem/umem-drive.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void iop_umem_drive_init(struct iop_umem_drive *d, struct iop_umem_space *user) {
    assert(d && user);
    /* Not the out list: 4 KiB that the first retry fills. */
    d->user = user;
    d->in = NULL;
    d->in_size = d->out_size = 0;
    d->n_out = 0;
    d->rounds = 0;
}

void iop_umem_drive_done(struct iop_umem_drive *d) {
    if (!d)
        return;
    free(d->in);
    d->in = NULL;
}

/* The retry reply: gather the in ranges for the next round, keep the out list. */
static int prepare_retry(struct iop_umem_drive *d, const struct iop_umem_rounds *r) {
    uint64_t in_size = 0, out_size = 0;
    /* fuse_verify_ioctl_iov(): each list within max_pages pages. */
    for (unsigned i = 0; i < r->n_in; i++)
        in_size += r->in[i].len;
    for (unsigned i = 0; i < r->n_out; i++)
        out_size += r->out[i].len;
    if (r->n_in + r->n_out > IOP_UMEM_MAX_RANGES || in_size > IOP_UMEM_MAX_BYTES || out_size > IOP_UMEM_MAX_BYTES)
        return -ENOMEM;
    uint8_t *in = malloc(in_size ? in_size : 1);
    if (!in)
        return -ENOMEM;
    size_t at = 0;
    for (unsigned i = 0; i < r->n_in; i++) {
        if (iop_umem_read(&d->user->um, r->in[i].base, in + at, r->in[i].len) < 0) {
            free(in);
            return -EFAULT;
        }
        at += r->in[i].len;
    }
    free(d->in);
    d->in = in;
    d->in_size = in_size;
    d->out_size = out_size;
    memcpy(d->out, r->out, r->n_out * sizeof(r->out[0]));
    d->n_out = r->n_out;
    return IOP_UMEM_RETRY;
}

int iop_umem_drive_round(struct iop_umem_drive *d, iop_umem_handler_fn fn, void *ctx) {
    assert(d && fn);
    struct iop_umem_rounds r;
    if (iop_umem_rounds_init(&r, d->in, d->in_size, d->out_size) < 0)
        return -ENOMEM;
    d->rounds++;
    int res = fn(ctx, &r.um);
    if (res == IOP_UMEM_RETRY) {
        res = prepare_retry(d, &r);
    } else if (res <= 0) {
        /* The final reply: its bytes over the out ranges named last, in order. */
        size_t at = 0;
        for (unsigned i = 0; i < d->n_out && at < r.out_len; i++) {
            size_t n = r.out_len - at < d->out[i].len ? r.out_len - at : d->out[i].len;
            if (iop_umem_write(&d->user->um, d->out[i].base, r.out_buf + at, n) < 0) {
                res = -EFAULT;
                break;
            }
            at += n;
        }
    }
    iop_umem_rounds_done(&r);
    return res;
}
