#include "cuse/ctl-node.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <linux/i2o-dev.h>

#include "cuse/fuse-compat.h"
#include "cuse/ioctl-reply.h"
#include "cuse/node.h"
#include "lib/ctl/ctl.h"
#include "lib/umem/umem-rounds.h"

struct pending_call;

struct iop_ctl_node {
    struct iop_cuse_node base; /* first */
    struct iop_ctl *ctl;       /* borrowed */
    unsigned long n_requests, n_retries;
    struct pending_call *pending; /* ioctls answered later (USB transfers) */
};
_Static_assert(offsetof(struct iop_ctl_node, base) == 0, "iop_ctl_node.base first");

/* An ioctl that lib/ctl finishes later: its request, and the user-memory round whose
 * out buffer the answer is written into, live until iop_ctl_async.done. */
struct pending_call {
    struct pending_call *next;
    struct iop_ctl_node *node; /* NULL once the node is gone: just free on done */
    fuse_req_t req;
    struct iop_ctl_async async;
    struct iop_umem_rounds rounds;
};

/* What the adapter keeps per open file, behind fi->fh. */
struct node_file {
    struct iop_cuse_file base;       /* first; its reads wait for events */
    struct iop_ctl_file *f;          /* owned */
};
_Static_assert(offsetof(struct node_file, base) == 0, "node_file.base first");

/* Answer one read with the queued events as whole records, if there are any. */
static bool ctl_serve_read(struct iop_cuse_file *cf, fuse_req_t req, size_t size) {
    struct node_file *nf = (struct node_file *)cf;
    if (!iop_ctl_file_readable(nf->f))
        return false;
    uint8_t buf[I2O_EVT_Q_LEN * sizeof(struct i2o_evt_info)];
    long r = iop_ctl_read(nf->f, buf, size < sizeof(buf) ? size : sizeof(buf));
    if (r < 0)
        fuse_reply_err(req, (int)-r);
    else
        fuse_reply_buf(req, (const char *)buf, (size_t)r);
    return true;
}

static int ctl_open_file(struct iop_cuse_file *cf, const struct fuse_file_info *fi) {
    struct node_file *nf = (struct node_file *)cf;
    (void)fi;
    int r = iop_ctl_open(((struct iop_ctl_node *)cf->node)->ctl, &nf->f);
    if (r < 0)
        return r;
    /* Events were queued for this file: finish parked reads, wake a waiting poll. */
    iop_ctl_file_set_notify(nf->f, iop_cuse_file_ready, cf);
    return 0;
}

static void ctl_close_file(struct iop_cuse_file *cf, int err) {
    (void)err;
    iop_ctl_release(((struct node_file *)cf)->f);
}

/* read(): the pending events as whole struct i2o_evt_info records, as the old
 * document's section XII planned (the kernel's 2.6 driver had no read and gave
 * EINVAL).  No events: EAGAIN with O_NONBLOCK, otherwise wait. */
static void ctl_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi) {
    if (size < sizeof(struct i2o_evt_info)) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    iop_cuse_node_read(req, size, off, fi);
}

/* poll/select: readable while events are queued.  Always writable, as the default
 * mask the kernel gave this device (write itself fails at once with EINVAL). */
static unsigned ctl_revents(const struct iop_cuse_file *cf) {
    return POLLOUT | POLLWRNORM | (iop_ctl_file_readable(((const struct node_file *)cf)->f) ? POLLIN | POLLRDNORM : 0);
}

static void pending_unlink(struct pending_call *pc) {
    if (!pc->node)
        return;
    for (struct pending_call **p = &pc->node->pending; *p; p = &(*p)->next)
        if (*p == pc) {
            *p = pc->next;
            break;
        }
}

static void pending_done(struct iop_ctl_async *a, int result) {
    struct pending_call *pc = (struct pending_call *)((char *)a - offsetof(struct pending_call, async));
    if (pc->node) {
        pending_unlink(pc);
        iop_cuse_reply_ioctl(pc->req, result, &pc->rounds);
    }
    iop_umem_rounds_done(&pc->rounds);
    free(pc);
}

/* FUSE_INTERRUPT for a pending ioctl: ask lib/ctl to end it early (it still answers,
 * through pending_done, with the interruption as its result). */
static void pending_interrupted(fuse_req_t req, void *data) {
    (void)req;
    iop_ctl_cancel(&((struct pending_call *)data)->async);
}

/* Every I2O ioctl is served in unrestricted mode: the handler runs against this
 * round's gathered bytes and either finishes or names the ranges it needs next
 * (umem-rounds.h).  Errors travel as the ioctl result, not as fuse_reply_err, when
 * output bytes go with them: ENOBUFS must still store the needed length. */
static void ctl_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi, unsigned flags,
                      const void *in_buf, size_t in_bufsz, size_t out_bufsz) {
    struct iop_ctl_node *n = fuse_req_userdata(req);
    struct iop_ctl_file *f = ((struct node_file *)iop_cuse_file_of(fi))->f;
    unsigned ctl_flags = (flags & FUSE_IOCTL_COMPAT) ? IOP_CTL_COMPAT : 0;

    n->n_requests++;
    /* Not calloc: the range tables (8 KiB) are filled as used; this runs every round. */
    struct pending_call *pc = malloc(sizeof(*pc));
    if (pc) {
        pc->next = NULL;
        pc->node = NULL;
        pc->async = (struct iop_ctl_async){ 0 };
    }
    if (!pc || iop_umem_rounds_init(&pc->rounds, in_buf, in_bufsz, out_bufsz) < 0) {
        free(pc);
        fuse_reply_err(req, ENOMEM);
        return;
    }
    struct iop_umem_rounds *r = &pc->rounds;
    pc->req = req;
    pc->async.done = pending_done;
    int res = iop_ctl_ioctl(n->ctl, f, (unsigned int)cmd, (uint64_t)(uintptr_t)arg, ctl_flags, &r->um, &pc->async);
    if (res == IOP_CTL_PENDING) {
        /* The in buffer belongs to this request round only; lib/ctl copied what it
         * needs before going asynchronous. */
        r->in_buf = NULL;
        r->in_size = 0;
        pc->node = n;
        pc->next = n->pending;
        n->pending = pc;
        if (fuse_req_interrupted(req))
            iop_ctl_cancel(&pc->async);
        else
            fuse_req_interrupt_func(req, pending_interrupted, pc);
        return;
    }
    if (res == IOP_UMEM_RETRY)
        n->n_retries++;
    iop_cuse_reply_ioctl(req, res, r);
    iop_umem_rounds_done(r);
    free(pc);
}

/* The kernel's driver had no write method: the VFS answered EINVAL
 * (iop_cuse_node_write). */
static const struct cuse_lowlevel_ops ctl_ops = {
    .init_done = iop_cuse_node_init_done,
    .open = iop_cuse_node_open,
    .read = ctl_read,
    .write = iop_cuse_node_write,
    .release = iop_cuse_node_release,
    .ioctl = ctl_ioctl,
    .poll = iop_cuse_node_poll,
};

static const struct iop_cuse_node_kind ctl_kind = {
    .ops = &ctl_ops,
    .unrestricted_ioctl = true,
    .node_size = sizeof(struct iop_ctl_node),
    .file_size = sizeof(struct node_file),
    .open_file = ctl_open_file,
    .serve_read = ctl_serve_read,
    .revents = ctl_revents,
    .close_file = ctl_close_file,
};

int iop_ctl_node_new(struct iop_ctl *ctl, const char *devname, int fd, struct iop_ctl_node **ret) {
    assert(ctl && devname && ret);
    struct iop_cuse_node *base;
    int r = iop_cuse_node_new(&ctl_kind, devname, fd, &base);
    if (r < 0)
        return r;
    struct iop_ctl_node *n = (struct iop_ctl_node *)base;
    n->ctl = ctl;
    *ret = n;
    return 0;
}

struct iop_ctl_node *iop_ctl_node_free(struct iop_ctl_node *n) {
    if (!n)
        return NULL;
    /* Calls still pending finish later without us: detach and hurry them. */
    while (n->pending) {
        struct pending_call *pc = n->pending;
        n->pending = pc->next;
        pc->node = NULL;
        iop_ctl_cancel(&pc->async);
    }
    iop_cuse_node_free(&n->base);
    return NULL;
}

struct iop_cuse_dev *iop_ctl_node_dev(struct iop_ctl_node *n) {
    assert(n);
    return n->base.dev;
}

void iop_ctl_node_stats(const struct iop_ctl_node *n, unsigned long *requests, unsigned long *retries) {
    assert(n);
    if (requests)
        *requests = n->n_requests;
    if (retries)
        *retries = n->n_retries;
}
