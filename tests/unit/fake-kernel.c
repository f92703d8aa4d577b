#include "fake-kernel.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/fuse.h>

#define FK_MAX_MSG (1u << 20)
#define FK_MAX_PAGES 32u   /* FUSE_DEFAULT_MAX_PAGES_PER_REQ; CUSE never raises it */
#define FK_PAGE 4096u

int fake_kernel_init(struct fake_kernel *k, int *daemon_fd) {
    int sv[2];
    memset(k, 0, sizeof(*k));
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    /* Room for a full-size reply in one packet. */
    int sz = 4 << 20;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    k->fd = sv[0];
    k->next_unique = 2;
    *daemon_fd = sv[1];
    return 0;
}

void fake_kernel_close(struct fake_kernel *k) {
    if (k->fd >= 0)
        close(k->fd);
    k->fd = -1;
}

/* Send one request, let the daemon run, read its reply into a malloc'ed buffer. */
static int transact(struct fake_kernel *k, uint32_t opcode, uint64_t nodeid, const void *arg, size_t arglen,
                    const void *data, size_t datalen, uint8_t **reply, size_t *reply_len) {
    struct fuse_in_header ih = {
        .len = (uint32_t)(sizeof(ih) + arglen + datalen),
        .opcode = opcode,
        .unique = k->next_unique++,
        .nodeid = nodeid,
        .uid = 0, .gid = 0, .pid = (uint32_t)getpid(),
    };
    struct iovec iov[3] = { { &ih, sizeof(ih) }, { (void *)arg, arglen }, { (void *)data, datalen } };
    if (writev(k->fd, iov, 3) != (ssize_t)ih.len)
        return -EIO;
    if (k->pump)
        k->pump(k->pump_ctx);
    /* Received into one scratch buffer, returned in an allocation of the reply's size:
     * a fresh 1 MiB buffer per request would dominate what bench-cycles measures. */
    static uint8_t rx[FK_MAX_MSG];
    ssize_t n = recv(k->fd, rx, sizeof(rx), MSG_DONTWAIT);
    if (n < (ssize_t)sizeof(struct fuse_out_header))
        return -EPROTO; /* no reply: the daemon did not answer */
    uint8_t *buf = malloc((size_t)n);
    if (!buf)
        return -ENOMEM;
    memcpy(buf, rx, (size_t)n);
    struct fuse_out_header *oh = (void *)buf;
    if (oh->unique != ih.unique || oh->len != (uint32_t)n) {
        free(buf);
        return -EPROTO;
    }
    if (oh->error) {
        int e = oh->error; /* -errno */
        free(buf);
        return e;
    }
    *reply = buf;
    *reply_len = (size_t)n;
    return 0;
}

int fake_kernel_cuse_init(struct fake_kernel *k) {
    struct cuse_init_in in = { .major = FUSE_KERNEL_VERSION, .minor = FUSE_KERNEL_MINOR_VERSION,
                               .flags = CUSE_UNRESTRICTED_IOCTL };
    uint8_t *rep = NULL;
    size_t len = 0;
    int r = transact(k, CUSE_INIT, 0, &in, sizeof(in), NULL, 0, &rep, &len);
    if (r < 0)
        return r;
    size_t off = sizeof(struct fuse_out_header) + sizeof(struct cuse_init_out);
    if (len < off) {
        free(rep);
        return -EPROTO;
    }
    struct cuse_init_out *out = (void *)(rep + sizeof(struct fuse_out_header));
    if (!(out->flags & CUSE_UNRESTRICTED_IOCTL)) {
        free(rep);
        return -EPROTO; /* the daemon must ask for unrestricted ioctls */
    }
    size_t n = len - off < sizeof(k->devinfo) - 1 ? len - off : sizeof(k->devinfo) - 1;
    memcpy(k->devinfo, rep + off, n);
    k->devinfo[n] = 0;
    free(rep);
    return 0;
}

int fake_kernel_open(struct fake_kernel *k, int flags, uint64_t *fh) {
    struct fuse_open_in in = { .flags = (uint32_t)flags };
    uint8_t *rep = NULL;
    size_t len = 0;
    int r = transact(k, FUSE_OPEN, 0, &in, sizeof(in), NULL, 0, &rep, &len);
    if (r < 0)
        return r;
    if (len < sizeof(struct fuse_out_header) + sizeof(struct fuse_open_out)) {
        free(rep);
        return -EPROTO;
    }
    *fh = ((struct fuse_open_out *)(rep + sizeof(struct fuse_out_header)))->fh;
    free(rep);
    return 0;
}

int fake_kernel_release(struct fake_kernel *k, uint64_t fh) {
    struct fuse_release_in in = { .fh = fh };
    uint8_t *rep = NULL;
    size_t len = 0;
    int r = transact(k, FUSE_RELEASE, 0, &in, sizeof(in), NULL, 0, &rep, &len);
    if (r == 0)
        free(rep);
    return r;
}

long fake_kernel_read(struct fake_kernel *k, uint64_t fh, void *buf, size_t size) {
    struct fuse_read_in in = { .fh = fh, .size = (uint32_t)size };
    uint8_t *rep = NULL;
    size_t len = 0;
    int r = transact(k, FUSE_READ, 0, &in, sizeof(in), NULL, 0, &rep, &len);
    if (r < 0)
        return r;
    size_t n = len - sizeof(struct fuse_out_header);
    if (n > size) {
        free(rep);
        return -EIO;
    }
    memcpy(buf, rep + sizeof(struct fuse_out_header), n);
    free(rep);
    return (long)n;
}

/* fuse_verify_ioctl_iov(): each range and the total must fit in max_pages pages. */
static int verify_iov(const struct fake_kernel_iov *iov, unsigned n) {
    uint64_t max = (uint64_t)FK_MAX_PAGES * FK_PAGE;
    for (unsigned i = 0; i < n; i++) {
        if (iov[i].len > max)
            return -ENOMEM;
        max -= iov[i].len;
    }
    return 0;
}

/* Send the next round of io, with the input gathered for it. */
static int ioctl_send_round(struct fake_kernel *k, struct fake_kernel_ioctl *io) {
    struct fuse_ioctl_in in = {
        .fh = io->fh,
        .flags = FUSE_IOCTL_UNRESTRICTED | (io->compat ? FUSE_IOCTL_COMPAT : 0),
        .cmd = io->cmd,
        .arg = io->arg,
        .in_size = (uint32_t)io->in_size,
        .out_size = (uint32_t)io->out_size,
    };
    struct fuse_in_header ih = {
        .len = (uint32_t)(sizeof(ih) + sizeof(in) + io->in_size),
        .opcode = FUSE_IOCTL,
        .unique = k->next_unique++,
        .pid = (uint32_t)getpid(),
    };
    struct iovec iov[3] = { { &ih, sizeof(ih) }, { &in, sizeof(in) }, { io->in_data, io->in_size } };
    io->rounds++;
    k->rounds = io->rounds;
    io->unique = ih.unique;
    ssize_t n = writev(k->fd, iov, 3);
    free(io->in_data);
    io->in_data = NULL;
    if (n != (ssize_t)ih.len)
        return -EIO;
    if (k->pump)
        k->pump(k->pump_ctx);
    return 0;
}

/* Take the daemon's answer to the round in flight, if there is one, and act on it as
 * fuse_do_ioctl() does: another round, or the final scatter. */
static long ioctl_step(struct fake_kernel *k, struct fake_kernel_ioctl *io) {
    for (;;) {
        /* One scratch buffer, as transact(): a fresh 1 MiB per round would dominate what
         * bench-cycles measures.  Each reply is done with before the next is read. */
        static uint8_t rx[FK_MAX_MSG];
        uint8_t *rep = rx;
        ssize_t len = recv(k->fd, rep, sizeof(rx), MSG_DONTWAIT);
        if (len < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? -EINPROGRESS : -errno;
        struct fuse_out_header *oh = (void *)rep;
        if (len < (ssize_t)sizeof(*oh) || oh->len != (uint32_t)len || oh->unique != io->unique) {
            return -EPROTO;
        }
        if (oh->error) {
            int e = oh->error;
            return e;
        }
        size_t hdr = sizeof(struct fuse_out_header) + sizeof(struct fuse_ioctl_out);
        if ((size_t)len < hdr) {
            return -EIO;
        }
        struct fuse_ioctl_out out;
        memcpy(&out, rep + sizeof(struct fuse_out_header), sizeof(out));
        const uint8_t *payload = rep + hdr;
        size_t plen = (size_t)len - hdr;

        if (out.flags & FUSE_IOCTL_RETRY) {
            if (out.in_iovs > FUSE_IOCTL_MAX_IOV || out.out_iovs > FUSE_IOCTL_MAX_IOV ||
                out.in_iovs + out.out_iovs > FUSE_IOCTL_MAX_IOV) {
                return -ENOMEM;
            }
            if (plen != (out.in_iovs + out.out_iovs) * sizeof(struct fuse_ioctl_iovec) || io->rounds > 16) {
                return -EIO;
            }
            io->in_iovs = out.in_iovs;
            io->out_iovs = out.out_iovs;
            memcpy(io->in_iov, payload, io->in_iovs * sizeof(struct fake_kernel_iov));
            memcpy(io->out_iov, payload + io->in_iovs * sizeof(struct fake_kernel_iov),
                   io->out_iovs * sizeof(struct fake_kernel_iov));
            /* 32-bit callers: ranges must be 32-bit addresses (fuse_copy_ioctl_iovec). */
            for (unsigned i = 0; io->compat && i < io->in_iovs + io->out_iovs; i++) {
                const struct fake_kernel_iov *v = i < io->in_iovs ? &io->in_iov[i] : &io->out_iov[i - io->in_iovs];
                if (v->base > UINT32_MAX || v->len > UINT32_MAX)
                    return -EIO;
            }
            long ret;
            if ((ret = verify_iov(io->in_iov, io->in_iovs)) < 0 || (ret = verify_iov(io->out_iov, io->out_iovs)) < 0)
                return ret;
            io->in_size = io->out_size = 0;
            for (unsigned i = 0; i < io->in_iovs; i++)
                io->in_size += io->in_iov[i].len;
            for (unsigned i = 0; i < io->out_iovs; i++)
                io->out_size += io->out_iov[i].len;
            io->in_data = malloc(io->in_size ? io->in_size : 1);
            if (!io->in_data)
                return -ENOMEM;
            size_t at = 0;
            for (unsigned i = 0; i < io->in_iovs; i++) {
                if (io->in_iov[i].len &&
                    io->user->um.ops->read(io->user, io->in_iov[i].base, io->in_data + at, io->in_iov[i].len) < 0) {
                    free(io->in_data);
                    io->in_data = NULL;
                    return -EFAULT;
                }
                at += io->in_iov[i].len;
            }
            if ((ret = ioctl_send_round(k, io)) < 0)
                return ret;
            continue;
        }

        /* Final reply: plen bytes go to the out ranges in order. */
        if (plen > io->out_size) {
            return -EIO;
        }
        size_t at = 0;
        for (unsigned i = 0; i < io->out_iovs && at < plen; i++) {
            size_t n = plen - at < io->out_iov[i].len ? plen - at : io->out_iov[i].len;
            if (io->user->um.ops->write(io->user, io->out_iov[i].base, payload + at, n) < 0) {
                return -EFAULT;
            }
            at += n;
        }
        return out.result;
    }
}

long fake_kernel_ioctl_start(struct fake_kernel *k, struct fake_kernel_ioctl *io, uint64_t fh, unsigned int cmd,
                             uint64_t arg, bool compat, struct iop_umem_space *user) {
    memset(io, 0, offsetof(struct fake_kernel_ioctl, in_iov));
    io->fh = fh;
    io->cmd = cmd;
    io->arg = arg;
    io->compat = compat;
    io->user = user;
    long r = ioctl_send_round(k, io);
    return r < 0 ? r : ioctl_step(k, io);
}

long fake_kernel_ioctl_resume(struct fake_kernel *k, struct fake_kernel_ioctl *io) {
    return ioctl_step(k, io);
}

long fake_kernel_ioctl(struct fake_kernel *k, uint64_t fh, unsigned int cmd, uint64_t arg, bool compat,
                       struct iop_umem_space *user) {
    struct fake_kernel_ioctl *io = malloc(sizeof(*io));
    if (!io)
        return -ENOMEM;
    long r = fake_kernel_ioctl_start(k, io, fh, cmd, arg, compat, user);
    free(io->in_data);
    free(io);
    /* Synchronous callers: a round with no answer is a daemon that did not reply. */
    return r == -EINPROGRESS ? -EPROTO : r;
}

/* ---- Asynchronous requests and notifications ---- */

int fake_kernel_cuse_init_any(struct fake_kernel *k, uint32_t *flags) {
    struct cuse_init_in in = { .major = FUSE_KERNEL_VERSION, .minor = FUSE_KERNEL_MINOR_VERSION,
                               .flags = CUSE_UNRESTRICTED_IOCTL };
    uint8_t *rep = NULL;
    size_t len = 0;
    int r = transact(k, CUSE_INIT, 0, &in, sizeof(in), NULL, 0, &rep, &len);
    if (r < 0)
        return r;
    size_t off = sizeof(struct fuse_out_header) + sizeof(struct cuse_init_out);
    if (len < off) {
        free(rep);
        return -EPROTO;
    }
    struct cuse_init_out *out = (void *)(rep + sizeof(struct fuse_out_header));
    if (flags)
        *flags = out->flags;
    size_t n = len - off < sizeof(k->devinfo) - 1 ? len - off : sizeof(k->devinfo) - 1;
    memcpy(k->devinfo, rep + off, n);
    k->devinfo[n] = 0;
    free(rep);
    return 0;
}

int fake_kernel_send(struct fake_kernel *k, uint32_t opcode, const void *arg, size_t arglen, uint64_t *unique) {
    struct fuse_in_header ih = {
        .len = (uint32_t)(sizeof(ih) + arglen),
        .opcode = opcode,
        .unique = k->next_unique++,
        .pid = (uint32_t)getpid(),
    };
    struct iovec iov[2] = { { &ih, sizeof(ih) }, { (void *)arg, arglen } };
    if (writev(k->fd, iov, 2) != (ssize_t)ih.len)
        return -EIO;
    if (unique)
        *unique = ih.unique;
    return 0;
}

int fake_kernel_send_read(struct fake_kernel *k, uint64_t fh, size_t size, int flags, uint64_t *unique) {
    struct fuse_read_in in = { .fh = fh, .size = (uint32_t)size, .flags = (uint32_t)flags };
    return fake_kernel_send(k, FUSE_READ, &in, sizeof(in), unique);
}

int fake_kernel_send_poll(struct fake_kernel *k, uint64_t fh, uint64_t kh, uint32_t events, bool notify,
                          uint64_t *unique) {
    struct fuse_poll_in in = { .fh = fh, .kh = kh, .flags = notify ? FUSE_POLL_SCHEDULE_NOTIFY : 0,
                               .events = events };
    return fake_kernel_send(k, FUSE_POLL, &in, sizeof(in), unique);
}

int fake_kernel_send_interrupt(struct fake_kernel *k, uint64_t target) {
    struct fuse_interrupt_in in = { .unique = target };
    return fake_kernel_send(k, FUSE_INTERRUPT, &in, sizeof(in), NULL);
}

int fake_kernel_next_msg(struct fake_kernel *k, struct fake_kernel_msg *m) {
    uint8_t *buf = malloc(FK_MAX_MSG);
    if (!buf)
        return -ENOMEM;
    ssize_t n = recv(k->fd, buf, FK_MAX_MSG, MSG_DONTWAIT);
    if (n < 0) {
        int e = errno;
        free(buf);
        return e == EWOULDBLOCK ? -EAGAIN : -e;
    }
    struct fuse_out_header *oh = (void *)buf;
    if (n < (ssize_t)sizeof(*oh) || oh->len != (uint32_t)n ||
        (size_t)n - sizeof(*oh) > sizeof(m->data)) {
        free(buf);
        return -EPROTO;
    }
    m->unique = oh->unique;
    m->error = oh->error;
    m->len = (uint32_t)((size_t)n - sizeof(*oh));
    memcpy(m->data, buf + sizeof(*oh), m->len);
    free(buf);
    return 0;
}

long fake_kernel_write(struct fake_kernel *k, uint64_t fh, const void *buf, size_t size) {
    struct fuse_write_in in = { .fh = fh, .size = (uint32_t)size };
    uint8_t *rep = NULL;
    size_t len = 0;
    int r = transact(k, FUSE_WRITE, 0, &in, sizeof(in), buf, size, &rep, &len);
    if (r < 0)
        return r;
    if (len < sizeof(struct fuse_out_header) + sizeof(struct fuse_write_out)) {
        free(rep);
        return -EPROTO;
    }
    long n = ((struct fuse_write_out *)(rep + sizeof(struct fuse_out_header)))->size;
    free(rep);
    return n;
}
