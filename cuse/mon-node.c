#include "cuse/mon-node.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <unistd.h>

#include "cuse/fuse-compat.h"
#include "cuse/node.h"
#include "lib/usbmon/bus.h"
#include "lib/usbmon/reader.h"

/* What the adapter keeps per open file, behind fi->fh. */
struct mon_file {
    struct iop_cuse_file base;     /* first */
    struct iop_mon_reader *reader; /* owned */
};
_Static_assert(offsetof(struct mon_file, base) == 0, "mon_file.base first");

struct iop_mon_node {
    struct iop_cuse_node base;   /* first */
    struct iop_mon *mon;         /* borrowed */
    unsigned busnum;
    enum iop_mon_fmt fmt;
};
_Static_assert(offsetof(struct iop_mon_node, base) == 0, "iop_mon_node.base first");

/* The reader's hook: a line became available in an empty queue, the queue reached
 * IOP_MON_WAKE_DEPTH, or the bus went away.  Runs inside the URB path.  The last two
 * wake at once; a first line may wait for others (iop_cuse_file_ready_soon). */
static void on_reader_ready(void *ctx) {
    struct mon_file *mf = ctx;
    iop_cuse_file_ready_soon(&mf->base, iop_mon_reader_hung_up(mf->reader) ||
                                            iop_mon_reader_queued(mf->reader) >= IOP_MON_WAKE_DEPTH);
}

static int mon_open_file(struct iop_cuse_file *f, const struct fuse_file_info *fi) {
    struct iop_mon_node *n = (struct iop_mon_node *)f->node;
    struct mon_file *mf = (struct mon_file *)f;
    (void)fi;
    int r = iop_mon_open(n->mon, n->busnum, n->fmt, &mf->reader);
    if (r < 0)
        return r;
    iop_mon_hooks_set_notify(iop_mon_reader_hooks(mf->reader), on_reader_ready, f);
    return 0;
}

static void mon_close_file(struct iop_cuse_file *f, int err) {
    (void)err;
    iop_mon_reader_free(((struct mon_file *)f)->reader);
}

/* Answer one read from the reader if it can be answered now: the pending text (whole
 * lines as fit in size bytes, or part of one long line), or end of file after hangup.
 * False: nothing yet.  The bytes count as read only once the reply went out, so a
 * reply the kernel refuses (its request was interrupted meanwhile) loses nothing. */
static bool mon_serve_read(struct iop_cuse_file *f, fuse_req_t req, size_t size) {
    struct mon_file *mf = (struct mon_file *)f;
    const char *data = NULL;
    int n = iop_mon_reader_peek(mf->reader, size, &data);
    if (n == -EAGAIN)
        return false;
    if (n < 0) {
        fuse_reply_err(req, -n);
        return true;
    }
    size_t c = size < (size_t)n ? size : (size_t)n;
    if (fuse_reply_buf(req, data, c) == 0)
        iop_mon_reader_consume(mf->reader, c);
    return true;
}

/* POLLIN while a line is ready; POLLHUP once the bus is gone. */
static unsigned mon_revents(const struct iop_cuse_file *f) {
    const struct iop_mon_reader *r = ((const struct mon_file *)f)->reader;
    return (iop_mon_reader_readable(r) ? POLLIN | POLLRDNORM : 0) | (iop_mon_reader_hung_up(r) ? POLLHUP : 0);
}

/* No ioctl method on the debugfs files: ENOTTY. */
static void mon_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi, unsigned flags,
                      const void *in_buf, size_t in_bufsz, size_t out_bufsz) {
    (void)cmd, (void)arg, (void)fi, (void)flags, (void)in_buf, (void)in_bufsz, (void)out_bufsz;
    fuse_reply_err(req, ENOTTY);
}

static const struct cuse_lowlevel_ops mon_ops = {
    .init_done = iop_cuse_node_init_done,
    .open = iop_cuse_node_open,
    .read = iop_cuse_node_read,
    .write = iop_cuse_node_write,
    .release = iop_cuse_node_release,
    .ioctl = mon_ioctl,
    .poll = iop_cuse_node_poll,
};

static const struct iop_cuse_node_kind mon_kind = {
    .ops = &mon_ops,
    .node_size = sizeof(struct iop_mon_node),
    .file_size = sizeof(struct mon_file),
    .open_file = mon_open_file,
    .serve_read = mon_serve_read,
    .revents = mon_revents,
    .close_file = mon_close_file,
};

int iop_mon_node_new(struct iop_mon *mon, unsigned busnum, enum iop_mon_fmt fmt, const char *devname, int fd,
                     struct iop_mon_node **ret) {
    assert(mon && devname && ret);
    if ((fmt != IOP_MON_FMT_U && fmt != IOP_MON_FMT_T) || (busnum == 0 && fmt == IOP_MON_FMT_T) ||
        busnum > IOP_MON_BUS_MAX) {
        close(fd);
        return -EINVAL;
    }
    struct iop_cuse_node *base;
    int r = iop_cuse_node_new(&mon_kind, devname, fd, &base);
    if (r < 0)
        return r;
    struct iop_mon_node *n = (struct iop_mon_node *)base;
    n->mon = mon;
    n->busnum = busnum;
    n->fmt = fmt;
    *ret = n;
    return 0;
}

void iop_mon_node_set_wake_delay(struct iop_mon_node *n, struct iop_loop *loop, uint64_t usec) {
    assert(n);
    iop_cuse_node_set_wake_delay(&n->base, loop, usec);
}

struct iop_mon_node *iop_mon_node_free(struct iop_mon_node *n) {
    if (n)
        iop_cuse_node_free(&n->base);
    return NULL;
}

struct iop_cuse_dev *iop_mon_node_dev(struct iop_mon_node *n) {
    assert(n);
    return n->base.dev;
}

unsigned iop_mon_node_open_count(const struct iop_mon_node *n) {
    assert(n);
    return n->base.n_files;
}

unsigned iop_mon_node_parked_reads(const struct iop_mon_node *n) {
    assert(n);
    return iop_cuse_node_parked_reads(&n->base);
}
