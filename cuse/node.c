#include "cuse/node.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "cuse/cuse-dev.h"
#include "lib/util/log.h"
#include "lib/util/loop.h"

int iop_cuse_node_new(const struct iop_cuse_node_kind *kind, const char *devname, int fd,
                      struct iop_cuse_node **ret) {
    assert(kind && kind->node_size >= sizeof(struct iop_cuse_node) &&
           kind->file_size >= sizeof(struct iop_cuse_file) && devname && ret);
    struct iop_cuse_node *n = calloc(1, kind->node_size);
    if (!n) {
        close(fd);
        return -ENOMEM;
    }
    n->kind = kind;
    struct iop_cuse_dev_params p = {
        .devname = devname,
        .unrestricted_ioctl = kind->unrestricted_ioctl,
        .ops = kind->ops,
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

static void file_close(struct iop_cuse_file *f, int err) {
    struct iop_cuse_node *n = f->node;
    iop_parked_reads_fail_all(&f->reads, err);
    iop_poll_wait_drop(&f->poll);
    iop_loop_source_free(f->wake);
    n->kind->close_file(f, err);
    for (struct iop_cuse_file **pp = &n->files; *pp; pp = &(*pp)->next) {
        if (*pp == f) {
            *pp = f->next;
            n->n_files--;
            break;
        }
    }
    free(f);
}

void iop_cuse_node_free(struct iop_cuse_node *n) {
    if (!n)
        return;
    while (n->files)
        file_close(n->files, ENODEV);
    iop_cuse_dev_free(n->dev);
    free(n);
}

unsigned iop_cuse_node_parked_reads(const struct iop_cuse_node *n) {
    assert(n);
    unsigned c = 0;
    for (const struct iop_cuse_file *f = n->files; f; f = f->next)
        c += iop_parked_reads_count(&f->reads);
    return c;
}

static bool serve_parked(void *ctx, fuse_req_t req, size_t size) {
    struct iop_cuse_file *f = ctx;
    return f->node->kind->serve_read(f, req, size);
}

void iop_cuse_file_serve_reads(struct iop_cuse_file *f) {
    assert(f);
    iop_parked_reads_serve(&f->reads, serve_parked, f);
}

void iop_cuse_file_wake_poll(struct iop_cuse_file *f) {
    assert(f);
    iop_poll_wait_wake(&f->poll, f->node->kind->revents(f) & (POLLIN | POLLHUP));
}

void iop_cuse_file_ready(void *ctx) {
    iop_cuse_file_serve_reads(ctx);
    iop_cuse_file_wake_poll(ctx);
}

void iop_cuse_node_set_wake_delay(struct iop_cuse_node *n, struct iop_loop *loop, uint64_t usec) {
    assert(n);
    n->loop = loop;
    n->wake_delay_usec = loop ? usec : 0;
}

static void file_ready_now(struct iop_cuse_file *f) {
    iop_loop_source_free(f->wake);
    f->wake = NULL;
    if (f->node->kind->ready)
        f->node->kind->ready(f);
    else
        iop_cuse_file_ready(f);
}

static void on_wake_timer(void *ctx) {
    struct iop_cuse_file *f = ctx;
    f->wake = NULL; /* one-shot: the loop frees it */
    file_ready_now(f);
}

void iop_cuse_file_ready_soon(struct iop_cuse_file *f, bool urgent) {
    assert(f);
    const struct iop_cuse_node *n = f->node;
    if (urgent || !n->loop || !n->wake_delay_usec) {
        file_ready_now(f);
        return;
    }
    /* Nothing waits on the file: no timer, the next request finds the data. */
    if (f->wake || (iop_parked_reads_empty(&f->reads) && !iop_poll_wait_pending(&f->poll) &&
                    !(n->kind->waiting && n->kind->waiting(f))))
        return;
    if (iop_loop_add_timer(n->loop, n->wake_delay_usec, on_wake_timer, f, &f->wake) < 0)
        file_ready_now(f); /* no memory for a timer: wake now */
}

void iop_cuse_node_init_done(void *userdata) {
    struct iop_cuse_node *n = userdata;
    iop_cuse_dev_set_ready(n->dev);
    iop_info("/dev/%s ready", iop_cuse_dev_name(n->dev));
}

void iop_cuse_node_open(fuse_req_t req, struct fuse_file_info *fi) {
    struct iop_cuse_node *n = fuse_req_userdata(req);
    struct iop_cuse_file *f = calloc(1, n->kind->file_size);
    int r = -ENOMEM;
    if (f) {
        f->node = n;
        r = n->kind->open_file(f, fi);
    }
    if (r < 0) {
        free(f);
        fuse_reply_err(req, -r);
        return;
    }
    f->next = n->files;
    n->files = f;
    n->n_files++;
    fi->fh = (uintptr_t)f;
    fi->nonseekable = 1;
    fi->direct_io = 1;
    if (fuse_reply_open(req, fi) != 0) /* the opener is gone already (interrupted) */
        file_close(f, EBADF);
}

void iop_cuse_node_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi) {
    struct iop_cuse_file *f = iop_cuse_file_of(fi);
    (void)off;
    /* Reads already waiting go first, as the kernel's readers were served in turn. */
    if (iop_parked_reads_empty(&f->reads) && f->node->kind->serve_read(f, req, size))
        return;
    if (fi->flags & O_NONBLOCK) {
        fuse_reply_err(req, EAGAIN);
        return;
    }
    iop_parked_reads_add(&f->reads, req, size);
}

void iop_cuse_node_write(fuse_req_t req, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)buf, (void)size, (void)off, (void)fi;
    fuse_reply_err(req, EINVAL);
}

void iop_cuse_node_release(fuse_req_t req, struct fuse_file_info *fi) {
    file_close(iop_cuse_file_of(fi), EBADF);
    fuse_reply_err(req, 0);
}

void iop_cuse_node_poll(fuse_req_t req, struct fuse_file_info *fi, struct fuse_pollhandle *ph) {
    struct iop_cuse_file *f = iop_cuse_file_of(fi);
    iop_poll_wait_reply(&f->poll, req, ph, f->node->kind->revents(f));
}
