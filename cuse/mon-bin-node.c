#include "cuse/mon-bin-node.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cuse/fuse-compat.h"
#include "cuse/ioctl-reply.h"
#include "cuse/node.h"
#include "lib/umem/umem-rounds.h"
#include "lib/usbmon/bin-ioctl.h"
#include "lib/usbmon/bin-reader.h"
#include "lib/usbmon/bus.h"

struct bin_file;

/* An ioctl waiting for a record: its request, and what its round had (the kernel
 * resends nothing: the gathered input is kept here). */
struct parked_call {
    struct parked_call *next;
    struct bin_file *bf;      /* borrowed: the file it waits on */
    fuse_req_t req;
    unsigned cmd;
    uint64_t arg;
    unsigned flags;
    struct iop_mon_bin_call call;
    uint8_t *in;              /* owned copy of the round's input */
    size_t in_size, out_size;
};

/* What the adapter keeps per open file, behind fi->fh. */
struct bin_file {
    struct iop_cuse_file base;       /* first; its reads wait for a record */
    struct iop_mon_bin_reader *reader; /* owned */
    struct parked_call *calls;       /* owned, oldest first */
    struct iop_mon_bin_hint hint;    /* the last GET, to name its ranges early next time */
    bool nonblock;                   /* O_NONBLOCK as the open or the latest read saw it */
};
_Static_assert(offsetof(struct bin_file, base) == 0, "bin_file.base first");

struct iop_mon_bin_node {
    struct iop_cuse_node base;       /* first */
    struct iop_mon *mon;             /* borrowed */
    unsigned busnum;
};
_Static_assert(offsetof(struct iop_mon_bin_node, base) == 0, "iop_mon_bin_node.base first");

/* ---- read ---- */

/* Answer one read if it can be answered now; the bytes count as read only once the
 * reply went out (a request interrupted meanwhile loses nothing). */
static bool bin_serve_read(struct iop_cuse_file *f, fuse_req_t req, size_t size) {
    struct bin_file *bf = (struct bin_file *)f;
    struct iovec iov[IOP_MON_BIN_READ_IOV];
    int k;
    int n = iop_mon_bin_reader_read_peek(bf->reader, size, iov, &k);
    if (n == -EAGAIN)
        return false;
    if (n < 0) {
        fuse_reply_err(req, -n);
        return true;
    }
    if (fuse_reply_iov(req, iov, k) == 0)
        iop_mon_bin_reader_read_done(bf->reader, (size_t)n);
    return true;
}

/* The flags each read brings are what the ioctls use from then on (mon-bin-node.h). */
static void bin_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi) {
    ((struct bin_file *)iop_cuse_file_of(fi))->nonblock = fi->flags & O_NONBLOCK;
    iop_cuse_node_read(req, size, off, fi);
}

/* ---- ioctl ---- */

/* Run one round of an ioctl and answer it: a retry, or the result with the output
 * written so far (errors included: MFETCH's nflush goes with EAGAIN).  False, and
 * nothing sent, when it must wait. */
static bool run_round(struct bin_file *bf, fuse_req_t req, unsigned cmd, uint64_t arg, unsigned flags,
                      struct iop_mon_bin_call *call, const void *in, size_t in_size, size_t out_size) {
    struct iop_umem_rounds r;
    if (iop_umem_rounds_init(&r, in, in_size, out_size) < 0) {
        fuse_reply_err(req, ENOMEM);
        return true;
    }
    int res = iop_mon_bin_ioctl(bf->reader, cmd, arg, flags, &r.um, call, &bf->hint);
    if (res != IOP_MON_BIN_WAIT)
        iop_cuse_reply_ioctl(req, res, &r);
    iop_umem_rounds_done(&r);
    return res != IOP_MON_BIN_WAIT;
}

static void parked_unlink(struct parked_call *pc) {
    for (struct parked_call **p = &pc->bf->calls; *p; p = &(*p)->next)
        if (*p == pc) {
            *p = pc->next;
            return;
        }
}

static void parked_free(struct parked_call *pc) {
    free(pc->in);
    free(pc);
}

/* FUSE_INTERRUPT for a waiting ioctl: the kernel's wait returned -EINTR.  The call
 * runs once more without waiting, so that what it stores before its wait (MFETCH's
 * nflush) still goes out, with EINTR. */
static void call_interrupted(fuse_req_t req, void *data) {
    struct parked_call *pc = data;
    parked_unlink(pc);
    struct iop_umem_rounds r;
    if (iop_umem_rounds_init(&r, pc->in, pc->in_size, pc->out_size) < 0) {
        fuse_reply_err(req, EINTR);
    } else {
        int res = iop_mon_bin_ioctl(pc->bf->reader, pc->cmd, pc->arg, pc->flags | IOP_MON_BIN_NONBLOCK, &r.um,
                                    &pc->call, &pc->bf->hint);
        /* (IOP_UMEM_RETRY, a record that came after all, goes out as a retry.) */
        iop_cuse_reply_ioctl(req, res == -EAGAIN ? -EINTR : res, &r);
        iop_umem_rounds_done(&r);
    }
    parked_free(pc);
}

static void park_call(struct bin_file *bf, fuse_req_t req, unsigned cmd, uint64_t arg, unsigned flags,
                      const struct iop_mon_bin_call *call, const void *in, size_t in_size, size_t out_size) {
    /* Single-threaded: nothing can interrupt between this test and the registration. */
    if (fuse_req_interrupted(req)) {
        fuse_reply_err(req, EINTR);
        return;
    }
    struct parked_call *pc = calloc(1, sizeof(*pc));
    if (!pc || (in_size && !(pc->in = malloc(in_size)))) {
        free(pc);
        fuse_reply_err(req, ENOMEM);
        return;
    }
    if (in_size)
        memcpy(pc->in, in, in_size);
    pc->bf = bf;
    pc->req = req;
    pc->cmd = cmd;
    pc->arg = arg;
    pc->flags = flags;
    pc->call = *call;
    pc->in_size = in_size;
    pc->out_size = out_size;
    struct parked_call **tail = &bf->calls;
    while (*tail)
        tail = &(*tail)->next;
    *tail = pc;
    fuse_req_interrupt_func(req, call_interrupted, pc);
}

/* Every ioctl in unrestricted mode: the handler runs against this round's gathered
 * bytes and finishes, names the ranges it needs next, or waits for a record. */
static void bin_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi, unsigned flags,
                      const void *in_buf, size_t in_bufsz, size_t out_bufsz) {
    struct bin_file *bf = (struct bin_file *)iop_cuse_file_of(fi);
    unsigned f = ((flags & FUSE_IOCTL_COMPAT) ? IOP_MON_BIN_COMPAT : 0) | (bf->nonblock ? IOP_MON_BIN_NONBLOCK : 0);
    struct iop_mon_bin_call call = { 0 };
    uint64_t uarg = (uint64_t)(uintptr_t)arg;
    if (!run_round(bf, req, (unsigned)cmd, uarg, f, &call, in_buf, in_bufsz, out_bufsz))
        park_call(bf, req, (unsigned)cmd, uarg, f, &call, in_buf, in_bufsz, out_bufsz);
}

/* ---- the rest of the file operations ---- */

/* Answer what waits on the file: reads first, then waiting ioctls in their order;
 * each that still finds nothing stays.  It only answers requests, which never blocks. */
static void bin_ready(struct iop_cuse_file *f) {
    struct bin_file *bf = (struct bin_file *)f;
    iop_cuse_file_serve_reads(&bf->base);
    while (bf->calls) {
        struct parked_call *pc = bf->calls;
        if (!run_round(bf, pc->req, pc->cmd, pc->arg, pc->flags, &pc->call, pc->in, pc->in_size, pc->out_size))
            break;
        bf->calls = pc->next;
        parked_free(pc);
    }
    iop_cuse_file_wake_poll(&bf->base);
}

static bool bin_waiting(const struct iop_cuse_file *f) {
    return ((const struct bin_file *)f)->calls != NULL;
}

/* The reader's hook: a record arrived in an empty ring, the ring passed half full, or
 * the bus went away.  Runs inside the URB path.  The last two wake at once; a first
 * record may wait for others (iop_cuse_file_ready_soon). */
static void on_reader_ready(void *ctx) {
    struct bin_file *bf = ctx;
    iop_cuse_file_ready_soon(&bf->base, iop_mon_bin_reader_hung_up(bf->reader) ||
                                            iop_mon_bin_reader_half_full(bf->reader));
}

static int bin_open_file(struct iop_cuse_file *f, const struct fuse_file_info *fi) {
    struct iop_mon_bin_node *n = (struct iop_mon_bin_node *)f->node;
    struct bin_file *bf = (struct bin_file *)f;
    int r = iop_mon_open_bin(n->mon, n->busnum, &bf->reader);
    if (r < 0)
        return r;
    bf->nonblock = fi->flags & O_NONBLOCK;
    iop_mon_hooks_set_notify(iop_mon_bin_reader_hooks(bf->reader), on_reader_ready, bf);
    return 0;
}

static void bin_close_file(struct iop_cuse_file *f, int err) {
    struct bin_file *bf = (struct bin_file *)f;
    while (bf->calls) {
        struct parked_call *pc = bf->calls;
        bf->calls = pc->next;
        fuse_reply_err(pc->req, err);
        parked_free(pc);
    }
    iop_mon_bin_reader_free(bf->reader);
}

/* POLLIN while a record is queued (mon_bin_poll); POLLHUP once the bus is gone. */
static unsigned bin_revents(const struct iop_cuse_file *f) {
    const struct iop_mon_bin_reader *r = ((const struct bin_file *)f)->reader;
    return (iop_mon_bin_reader_readable(r) ? POLLIN | POLLRDNORM : 0) | (iop_mon_bin_reader_hung_up(r) ? POLLHUP : 0);
}

/* mon_bin.c has no write method (it is commented out there): EINVAL from the VFS,
 * iop_cuse_node_write. */
static const struct cuse_lowlevel_ops bin_ops = {
    .init_done = iop_cuse_node_init_done,
    .open = iop_cuse_node_open,
    .read = bin_read,
    .write = iop_cuse_node_write,
    .release = iop_cuse_node_release,
    .ioctl = bin_ioctl,
    .poll = iop_cuse_node_poll,
};

static const struct iop_cuse_node_kind bin_kind = {
    .ops = &bin_ops,
    .unrestricted_ioctl = true,
    .node_size = sizeof(struct iop_mon_bin_node),
    .file_size = sizeof(struct bin_file),
    .open_file = bin_open_file,
    .serve_read = bin_serve_read,
    .revents = bin_revents,
    .close_file = bin_close_file,
    .ready = bin_ready,
    .waiting = bin_waiting,
};

int iop_mon_bin_node_new(struct iop_mon *mon, unsigned busnum, const char *devname, int fd,
                         struct iop_mon_bin_node **ret) {
    assert(mon && devname && ret);
    if (busnum > IOP_MON_BUS_MAX) {
        close(fd);
        return -EINVAL;
    }
    struct iop_cuse_node *base;
    int r = iop_cuse_node_new(&bin_kind, devname, fd, &base);
    if (r < 0)
        return r;
    struct iop_mon_bin_node *n = (struct iop_mon_bin_node *)base;
    n->mon = mon;
    n->busnum = busnum;
    *ret = n;
    return 0;
}

void iop_mon_bin_node_set_wake_delay(struct iop_mon_bin_node *n, struct iop_loop *loop, uint64_t usec) {
    assert(n);
    iop_cuse_node_set_wake_delay(&n->base, loop, usec);
}

struct iop_mon_bin_node *iop_mon_bin_node_free(struct iop_mon_bin_node *n) {
    if (n)
        iop_cuse_node_free(&n->base);
    return NULL;
}

struct iop_cuse_dev *iop_mon_bin_node_dev(struct iop_mon_bin_node *n) {
    assert(n);
    return n->base.dev;
}

unsigned iop_mon_bin_node_open_count(const struct iop_mon_bin_node *n) {
    assert(n);
    return n->base.n_files;
}

unsigned iop_mon_bin_node_parked(const struct iop_mon_bin_node *n) {
    assert(n);
    unsigned c = iop_cuse_node_parked_reads(&n->base);
    for (const struct iop_cuse_file *f = n->base.files; f; f = f->next)
        for (const struct parked_call *pc = ((const struct bin_file *)f)->calls; pc; pc = pc->next)
            c++;
    return c;
}
