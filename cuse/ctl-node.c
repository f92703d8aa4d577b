#include "cuse/ctl-node.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cuse/cuse-dev.h"
#include "cuse/fuse-compat.h"
#include "lib/ctl/ctl.h"
#include "lib/ctl/umem-rounds.h"
#include "lib/util/log.h"

struct iop_ctl_node {
    struct iop_ctl *ctl;      /* borrowed */
    struct iop_cuse_dev *dev; /* owned */
    unsigned long n_requests, n_retries;
};

static void ctl_init_done(void *userdata) {
    struct iop_ctl_node *n = userdata;
    iop_cuse_dev_set_ready(n->dev);
    iop_info("/dev/%s ready", iop_cuse_dev_name(n->dev));
}

static void ctl_open(fuse_req_t req, struct fuse_file_info *fi) {
    struct iop_ctl_node *n = fuse_req_userdata(req);
    struct iop_ctl_file *f;
    int r = iop_ctl_open(n->ctl, &f);
    if (r < 0) {
        fuse_reply_err(req, -r);
        return;
    }
    fi->fh = (uintptr_t)f;
    fi->nonseekable = 1;
    fi->direct_io = 1;
    if (fuse_reply_open(req, fi) != 0)
        iop_ctl_release(f); /* the opener is gone already (interrupted) */
}

static void ctl_release(fuse_req_t req, struct fuse_file_info *fi) {
    iop_ctl_release((struct iop_ctl_file *)(uintptr_t)fi->fh);
    fuse_reply_err(req, 0);
}

/* The kernel's 2.6 driver had no read or write method: the VFS answered EINVAL. */
static void ctl_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)size, (void)off, (void)fi;
    fuse_reply_err(req, EINVAL);
}

static void ctl_write(fuse_req_t req, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)buf, (void)size, (void)off, (void)fi;
    fuse_reply_err(req, EINVAL);
}

static int reply_retry(fuse_req_t req, const struct iop_umem_rounds *r) {
    struct iovec in[IOP_UMEM_MAX_RANGES], out[IOP_UMEM_MAX_RANGES];
    for (unsigned i = 0; i < r->n_in; i++)
        in[i] = (struct iovec){ (void *)(uintptr_t)r->in[i].base, r->in[i].len };
    for (unsigned i = 0; i < r->n_out; i++)
        out[i] = (struct iovec){ (void *)(uintptr_t)r->out[i].base, r->out[i].len };
    return fuse_reply_ioctl_retry(req, in, r->n_in, out, r->n_out);
}

/* Every I2O ioctl is served in unrestricted mode: the handler runs against this
 * round's gathered bytes and either finishes or names the ranges it needs next
 * (umem-rounds.h).  Errors travel as the ioctl result, not as fuse_reply_err, when
 * output bytes go with them: ENOBUFS must still store the needed length. */
static void ctl_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi, unsigned flags,
                      const void *in_buf, size_t in_bufsz, size_t out_bufsz) {
    struct iop_ctl_node *n = fuse_req_userdata(req);
    struct iop_ctl_file *f = (struct iop_ctl_file *)(uintptr_t)fi->fh;
    unsigned ctl_flags = (flags & FUSE_IOCTL_COMPAT) ? IOP_CTL_COMPAT : 0;

    n->n_requests++;
    struct iop_umem_rounds *r = malloc(sizeof(*r));
    if (!r || iop_umem_rounds_init(r, in_buf, in_bufsz, out_bufsz) < 0) {
        free(r);
        fuse_reply_err(req, ENOMEM);
        return;
    }
    int res = iop_ctl_ioctl(n->ctl, f, (unsigned int)cmd, (uint64_t)(uintptr_t)arg, ctl_flags, &r->um);
    if (res == IOP_UMEM_RETRY) {
        n->n_retries++;
        reply_retry(req, r);
    } else if (res < 0 && r->out_len == 0) {
        fuse_reply_err(req, -res);
    } else {
        fuse_reply_ioctl(req, res, r->out_buf, r->out_len);
    }
    iop_umem_rounds_done(r);
    free(r);
}

static const struct cuse_lowlevel_ops ctl_ops = {
    .init_done = ctl_init_done,
    .open = ctl_open,
    .read = ctl_read,
    .write = ctl_write,
    .release = ctl_release,
    .ioctl = ctl_ioctl,
};

int iop_ctl_node_new(struct iop_ctl *ctl, const char *devname, int fd, struct iop_ctl_node **ret) {
    assert(ctl && devname && ret);
    struct iop_ctl_node *n = calloc(1, sizeof(*n));
    if (!n) {
        close(fd);
        return -ENOMEM;
    }
    n->ctl = ctl;
    struct iop_cuse_dev_params p = {
        .devname = devname,
        .unrestricted_ioctl = true,
        .ops = &ctl_ops,
        .userdata = n,
    };
    int r = iop_cuse_dev_new(&p, fd, &n->dev);
    if (r < 0) {
        free(n);
        return r;
    }
    *ret = n;
    return 0;
}

struct iop_ctl_node *iop_ctl_node_free(struct iop_ctl_node *n) {
    if (!n)
        return NULL;
    iop_cuse_dev_free(n->dev);
    free(n);
    return NULL;
}

struct iop_cuse_dev *iop_ctl_node_dev(struct iop_ctl_node *n) {
    assert(n);
    return n->dev;
}

void iop_ctl_node_stats(const struct iop_ctl_node *n, unsigned long *requests, unsigned long *retries) {
    assert(n);
    if (requests)
        *requests = n->n_requests;
    if (retries)
        *retries = n->n_retries;
}
