#include "cuse/ioctl-reply.h"

#include <sys/uio.h>

#include "lib/umem/umem-rounds.h"

static int reply_retry(fuse_req_t req, const struct iop_umem_rounds *r) {
    struct iovec in[IOP_UMEM_MAX_RANGES], out[IOP_UMEM_MAX_RANGES];
    for (unsigned i = 0; i < r->n_in; i++)
        in[i] = (struct iovec){ (void *)(uintptr_t)r->in[i].base, r->in[i].len };
    for (unsigned i = 0; i < r->n_out; i++)
        out[i] = (struct iovec){ (void *)(uintptr_t)r->out[i].base, r->out[i].len };
    return fuse_reply_ioctl_retry(req, in, r->n_in, out, r->n_out);
}

int iop_cuse_reply_ioctl(fuse_req_t req, int res, const struct iop_umem_rounds *r) {
    if (res == IOP_UMEM_RETRY)
        return reply_retry(req, r);
    if (res < 0 && r->out_len == 0)
        return fuse_reply_err(req, -res);
    return fuse_reply_ioctl(req, res, r->out_buf, r->out_len);
}
