#include "cuse/mon-node.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "cuse/cuse-dev.h"
#include "cuse/fuse-compat.h"
#include "cuse/parked-reads.h"
#include "cuse/poll-wait.h"
#include "lib/usbmon/bus.h"
#include "lib/usbmon/reader.h"
#include "lib/util/log.h"

struct mon_file;

/* What the adapter keeps per open file, behind fi->fh. */
struct mon_file {
    struct iop_mon_node *node;   /* borrowed */
    struct mon_file *next;       /* in node->files */
    struct iop_mon_reader *reader; /* owned */
    struct iop_parked_reads reads; /* blocking reads waiting for a line */
    struct iop_poll_wait poll;
};

struct iop_mon_node {
    struct iop_mon *mon;         /* borrowed */
    unsigned busnum;
    enum iop_mon_fmt fmt;
    struct iop_cuse_dev *dev;    /* owned */
    struct mon_file *files;      /* owned list */
    unsigned n_files;
};

static void mon_init_done(void *userdata) {
    struct iop_mon_node *n = userdata;
    iop_cuse_dev_set_ready(n->dev);
    iop_info("/dev/%s ready", iop_cuse_dev_name(n->dev));
}

/* Answer one read from the reader if it can be answered now: the pending text (whole
 * lines as fit in size bytes, or part of one long line), or end of file after hangup.
 * False: nothing yet.  The bytes count as read only once the reply went out, so a
 * reply the kernel refuses (its request was interrupted meanwhile) loses nothing. */
static bool serve_read(void *ctx, fuse_req_t req, size_t size) {
    struct mon_file *mf = ctx;
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

/* The reader's hook: a line became available or the bus went away.  Runs inside the
 * URB path; it only answers requests, which never blocks. */
static void on_reader_ready(void *ctx) {
    struct mon_file *mf = ctx;
    iop_parked_reads_serve(&mf->reads, serve_read, mf);
    iop_poll_wait_wake(&mf->poll, iop_mon_reader_readable(mf->reader) || iop_mon_reader_hung_up(mf->reader));
}

static void mon_file_free(struct mon_file *mf, int parked_err) {
    struct iop_mon_node *n = mf->node;
    iop_parked_reads_fail_all(&mf->reads, parked_err);
    iop_poll_wait_drop(&mf->poll);
    iop_mon_reader_free(mf->reader);
    for (struct mon_file **pp = &n->files; *pp; pp = &(*pp)->next) {
        if (*pp == mf) {
            *pp = mf->next;
            n->n_files--;
            break;
        }
    }
    free(mf);
}

static void mon_open(fuse_req_t req, struct fuse_file_info *fi) {
    struct iop_mon_node *n = fuse_req_userdata(req);
    struct mon_file *mf = calloc(1, sizeof(*mf));
    int r = mf ? iop_mon_open(n->mon, n->busnum, n->fmt, &mf->reader) : -ENOMEM;
    if (r < 0) {
        free(mf);
        fuse_reply_err(req, -r);
        return;
    }
    mf->node = n;
    mf->next = n->files;
    n->files = mf;
    n->n_files++;
    iop_mon_hooks_set_notify(iop_mon_reader_hooks(mf->reader), on_reader_ready, mf);
    fi->fh = (uintptr_t)mf;
    fi->nonseekable = 1;
    fi->direct_io = 1;
    if (fuse_reply_open(req, fi) != 0) /* the opener is gone already (interrupted) */
        mon_file_free(mf, EBADF);
}

/* The kernel sends RELEASE only when no read is in flight on the file, so parked reads
 * here would be a kernel bug; they are answered EBADF rather than leaked. */
static void mon_release(fuse_req_t req, struct fuse_file_info *fi) {
    mon_file_free((struct mon_file *)(uintptr_t)fi->fh, EBADF);
    fuse_reply_err(req, 0);
}

static void mon_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi) {
    struct mon_file *mf = (struct mon_file *)(uintptr_t)fi->fh;
    (void)off; /* no seek: the kernel's reader ignored the offset too */

    /* Reads already waiting go first, as they held the kernel's printf_lock. */
    if (iop_parked_reads_empty(&mf->reads) && serve_read(mf, req, size))
        return;
    if (fi->flags & O_NONBLOCK) {
        fuse_reply_err(req, EAGAIN);
        return;
    }
    iop_parked_reads_add(&mf->reads, req, size);
}

/* No write method on the debugfs files: the VFS answered EINVAL. */
static void mon_write(fuse_req_t req, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)buf, (void)size, (void)off, (void)fi;
    fuse_reply_err(req, EINVAL);
}

/* No ioctl method either: ENOTTY. */
static void mon_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi, unsigned flags,
                      const void *in_buf, size_t in_bufsz, size_t out_bufsz) {
    (void)cmd, (void)arg, (void)fi, (void)flags, (void)in_buf, (void)in_bufsz, (void)out_bufsz;
    fuse_reply_err(req, ENOTTY);
}

/* POLLIN while a line is ready; POLLHUP once the bus is gone. */
static void mon_poll(fuse_req_t req, struct fuse_file_info *fi, struct fuse_pollhandle *ph) {
    struct mon_file *mf = (struct mon_file *)(uintptr_t)fi->fh;
    unsigned revents = 0;
    if (iop_mon_reader_readable(mf->reader))
        revents |= POLLIN | POLLRDNORM;
    if (iop_mon_reader_hung_up(mf->reader))
        revents |= POLLHUP;
    iop_poll_wait_reply(&mf->poll, req, ph, revents);
}

static const struct cuse_lowlevel_ops mon_ops = {
    .init_done = mon_init_done,
    .open = mon_open,
    .read = mon_read,
    .write = mon_write,
    .release = mon_release,
    .ioctl = mon_ioctl,
    .poll = mon_poll,
};

int iop_mon_node_new(struct iop_mon *mon, unsigned busnum, enum iop_mon_fmt fmt, const char *devname, int fd,
                     struct iop_mon_node **ret) {
    assert(mon && devname && ret);
    if ((fmt != IOP_MON_FMT_U && fmt != IOP_MON_FMT_T) || (busnum == 0 && fmt == IOP_MON_FMT_T) ||
        busnum > IOP_MON_BUS_MAX) {
        close(fd);
        return -EINVAL;
    }
    struct iop_mon_node *n = calloc(1, sizeof(*n));
    if (!n) {
        close(fd);
        return -ENOMEM;
    }
    n->mon = mon;
    n->busnum = busnum;
    n->fmt = fmt;
    struct iop_cuse_dev_params p = {
        .devname = devname,
        .ops = &mon_ops,
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

struct iop_mon_node *iop_mon_node_free(struct iop_mon_node *n) {
    if (!n)
        return NULL;
    /* Answer what waits while the session can still send, then close it. */
    while (n->files)
        mon_file_free(n->files, ENODEV);
    iop_cuse_dev_free(n->dev);
    free(n);
    return NULL;
}

struct iop_cuse_dev *iop_mon_node_dev(struct iop_mon_node *n) {
    assert(n);
    return n->dev;
}

unsigned iop_mon_node_open_count(const struct iop_mon_node *n) {
    assert(n);
    return n->n_files;
}

unsigned iop_mon_node_parked_reads(const struct iop_mon_node *n) {
    assert(n);
    unsigned c = 0;
    for (const struct mon_file *mf = n->files; mf; mf = mf->next)
        c += iop_parked_reads_count(&mf->reads);
    return c;
}
