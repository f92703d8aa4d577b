/* What iopd's CUSE nodes share (ctl-node.c, mon-node.c, mon-bin-node.c): the session
 * on /dev/cuse, the list of open files, and per open file the blocking reads parked on
 * it and the poll waiting for it.
 *
 * A node kind keeps its own const struct cuse_lowlevel_ops of thin adapters to lib/,
 * as libfuse's example/cuse.c does; the ops that are the same for every node point at
 * the iop_cuse_node_* functions below, and what differs per kind (what a file opens,
 * how a read is answered, the poll mask) is named in its struct iop_cuse_node_kind.
 * The node's struct has struct iop_cuse_node as its first member, its per-file struct
 * has struct iop_cuse_file first; both are allocated here, zeroed, at the sizes the
 * kind gives (as libusb's backends declare their private sizes to the core). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cuse/fuse-compat.h"
#include "cuse/parked-reads.h"
#include "cuse/poll-wait.h"

struct iop_cuse_dev;
struct iop_cuse_node;
struct iop_loop;
struct iop_loop_source;

/* The first member of a kind's per-file struct, behind fi->fh. */
struct iop_cuse_file {
    struct iop_cuse_node *node;    /* borrowed */
    struct iop_cuse_file *next;    /* in node->files */
    struct iop_parked_reads reads; /* blocking reads waiting for data */
    struct iop_poll_wait poll;     /* the latest poll waiting to be woken */
    struct iop_loop_source *wake;  /* owned: a held-back wakeup, while armed */
};

struct iop_cuse_node_kind {
    const struct cuse_lowlevel_ops *ops; /* fuse_req_userdata() in them is the node */
    bool unrestricted_ioctl;
    size_t node_size, file_size;         /* of the structs that embed the two above */
    /* open(): open what f reads from (its lib/ object); f->node is set.  0 or a
     * negative errno, which the open fails with. */
    int (*open_file)(struct iop_cuse_file *f, const struct fuse_file_info *fi);
    /* Answer one read of size bytes if it can be answered now: true, having replied
     * to req; false, nothing sent (the read waits, or gets EAGAIN). */
    bool (*serve_read)(struct iop_cuse_file *f, fuse_req_t req, size_t size);
    /* poll()'s mask for f right now; POLLIN or POLLHUP in it wake a waiting poll. */
    unsigned (*revents)(const struct iop_cuse_file *f);
    /* f closes (release, a failed open reply, the node's end): answer with err what
     * the kind keeps waiting on f, release its lib/ object.  Not f itself. */
    void (*close_file)(struct iop_cuse_file *f, int err);
    /* Optional, for kinds that park more than reads and polls (ioctls that wait):
     * answer everything waiting on f that can be answered now (NULL:
     * iop_cuse_file_ready), and whether anything of the kind's own waits. */
    void (*ready)(struct iop_cuse_file *f);
    bool (*waiting)(const struct iop_cuse_file *f);
};

/* The first member of a kind's node struct. */
struct iop_cuse_node {
    const struct iop_cuse_node_kind *kind;
    struct iop_cuse_dev *dev;    /* owned */
    struct iop_cuse_file *files; /* owned, newest first */
    unsigned n_files;
    struct iop_loop *loop;       /* borrowed; NULL: no held-back wakeups */
    uint64_t wake_delay_usec;
};

/* A node of kind (kind->node_size bytes, zeroed) serving /dev/<devname> on a CUSE
 * session created on fd (/dev/cuse or a test socket; taken over, closed on failure
 * too).  The kind fills in its own members after. */
int iop_cuse_node_new(const struct iop_cuse_node_kind *kind, const char *devname, int fd,
                      struct iop_cuse_node **ret);
/* Close every open file (what waits on them gets ENODEV, while the session can still
 * send), end the session (the kernel removes the device node), free n.  NULL is fine. */
void iop_cuse_node_free(struct iop_cuse_node *n);
/* Reads parked on all open files right now: for tests and stats. */
unsigned iop_cuse_node_parked_reads(const struct iop_cuse_node *n);

static inline struct iop_cuse_file *iop_cuse_file_of(const struct fuse_file_info *fi) {
    return (struct iop_cuse_file *)(uintptr_t)fi->fh;
}

/* Data arrived for f, or its source went away: answer parked reads, oldest first,
 * while kind->serve_read can; then wake a waiting poll if revents says so.  Runs in
 * the URB path too: it only answers requests, which never blocks. */
void iop_cuse_file_serve_reads(struct iop_cuse_file *f);
void iop_cuse_file_wake_poll(struct iop_cuse_file *f);
/* Both, for a lib/ object's notify hook: ctx is the struct iop_cuse_file. */
void iop_cuse_file_ready(void *ctx);

/* Held-back wakeups, for trace readers.  The kernel wakes a waiting reader at every
 * event, and its readers take one event per system call.  Through CUSE every wakeup
 * is a reply through /dev/cuse and every read a round trip through the daemon, so a
 * reader that keeps up with the traffic costs two context switches and a request
 * per event.  With a wake delay the first event waits up to that long for others to
 * join it, as BPF's buffer timeout does for libpcap, and the reader then takes them
 * back to back.  Set per node (usec 0 or loop NULL, the default: no delay; timers on
 * loop). */
void iop_cuse_node_set_wake_delay(struct iop_cuse_node *n, struct iop_loop *loop, uint64_t usec);
/* Data arrived for f: answer what waits on it now if urgent (hangup, a queue filling
 * up) or the node has no delay; else within the node's delay (a timer armed by the
 * first such call, when something waits on f).  A request that arrives meanwhile and
 * finds data is answered at once as always. */
void iop_cuse_file_ready_soon(struct iop_cuse_file *f, bool urgent);

/* The ops every kind shares (cuse_lowlevel_ops signatures).
 * init_done: the kernel answered CUSE_INIT, the device node exists.
 * open: a file of kind->file_size bytes, kind->open_file, the reply (not seekable,
 *   direct I/O).
 * read: kind->serve_read now if no earlier read waits; else EAGAIN under O_NONBLOCK,
 *   else the read parks (parked-reads.h) until iop_cuse_file_serve_reads answers it.
 *   No seek, as the kernel's nodes: the offset is ignored.
 * write: EINVAL, what the VFS answers for a file with no write method: none of the
 *   kernel's nodes that iopd serves has one.
 * release: closes the file.  The kernel sends RELEASE only when nothing is in flight
 *   on the file, so anything still parked would be a kernel bug; it is answered
 *   EBADF rather than leaked.
 * poll: kind->revents, keeping the newest handle (poll-wait.h). */
void iop_cuse_node_init_done(void *userdata);
void iop_cuse_node_open(fuse_req_t req, struct fuse_file_info *fi);
void iop_cuse_node_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi);
void iop_cuse_node_write(fuse_req_t req, const char *buf, size_t size, off_t off, struct fuse_file_info *fi);
void iop_cuse_node_release(fuse_req_t req, struct fuse_file_info *fi);
void iop_cuse_node_poll(fuse_req_t req, struct fuse_file_info *fi, struct fuse_pollhandle *ph);
