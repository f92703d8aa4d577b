/* A stand-in for the kernel's side of a CUSE device, for tests without /dev/cuse.
 *
 * It speaks the FUSE wire protocol over one end of a SOCK_SEQPACKET socketpair whose
 * other end a libfuse session uses through fuse_session_custom_io().  Its ioctl() is a
 * transcription of fs/fuse/ioctl.c:fuse_do_ioctl() for unrestricted ioctls: start with
 * no data, follow FUSE_IOCTL_RETRY by gathering the named in ranges from a fake user
 * address space (EFAULT if unmapped), enforce the kernel's limits (256 ranges, 32
 * pages per direction: ENOMEM), and on the final reply scatter the data over the out
 * ranges in order.  Errors come back as a negative errno, like the syscall would. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/umem/umem-space.h"

struct fake_kernel {
    int fd;                  /* our end of the socketpair */
    uint64_t next_unique;
    /* Drive the daemon side between our write and our read (single-threaded tests). */
    void (*pump)(void *ctx);
    void *pump_ctx;
    char devinfo[256];       /* from the CUSE_INIT reply */
    unsigned rounds;         /* FUSE_IOCTL requests sent by the last ioctl() */
};

/* Create the socketpair; *daemon_fd is the end for fuse_session_custom_io(). */
int fake_kernel_init(struct fake_kernel *k, int *daemon_fd);
void fake_kernel_close(struct fake_kernel *k);

/* CUSE_INIT; fills devinfo.  Returns 0 or -errno. */
int fake_kernel_cuse_init(struct fake_kernel *k);
/* FUSE_OPEN; returns 0 and the file handle, or -errno. */
int fake_kernel_open(struct fake_kernel *k, int flags, uint64_t *fh);
int fake_kernel_release(struct fake_kernel *k, uint64_t fh);
/* FUSE_READ of up to size bytes into buf; returns the byte count or -errno. */
long fake_kernel_read(struct fake_kernel *k, uint64_t fh, void *buf, size_t size);
/* An ioctl as fuse_do_ioctl performs it for an unrestricted CUSE device.
 * compat: a 32-bit caller (FUSE_IOCTL_COMPAT).  Returns the result or -errno. */
long fake_kernel_ioctl(struct fake_kernel *k, uint64_t fh, unsigned int cmd, uint64_t arg, bool compat,
                       struct iop_umem_space *user);

/* An ioctl that may be answered later (a device that waits for data): start it, and
 * if a round gets no answer at once (-EINPROGRESS), resume it after letting things
 * happen; both return the result, -errno, or -EINPROGRESS again.  io->unique is the
 * round in flight (for fake_kernel_send_interrupt). */
struct fake_kernel_iov {
    uint64_t base, len;
};
struct fake_kernel_ioctl {
    uint64_t fh, arg;
    unsigned int cmd;
    bool compat;
    struct iop_umem_space *user;
    uint8_t *in_data;        /* the next round's input, while it is being sent */
    size_t in_size, out_size;
    unsigned in_iovs, out_iovs;
    unsigned rounds;
    uint64_t unique;
    struct fake_kernel_iov in_iov[256], out_iov[256];
};
long fake_kernel_ioctl_start(struct fake_kernel *k, struct fake_kernel_ioctl *io, uint64_t fh, unsigned int cmd,
                             uint64_t arg, bool compat, struct iop_umem_space *user);
long fake_kernel_ioctl_resume(struct fake_kernel *k, struct fake_kernel_ioctl *io);

/* ---- Asynchronous requests and notifications (added for the usbmon node tests) ----
 * The functions above wait for one reply per request.  These send a request without
 * running the daemon (call your pump, or let events happen), and read whatever the
 * daemon sent next, in order: replies to parked requests and FUSE notifications. */

#define FAKE_KERNEL_MSG_MAX 8192

struct fake_kernel_msg {
    uint64_t unique;   /* 0 for a notification */
    int32_t error;     /* reply: 0 or -errno; notification: the FUSE_NOTIFY_* code */
    uint32_t len;      /* payload bytes after the out header */
    uint8_t data[FAKE_KERNEL_MSG_MAX];
};

/* CUSE_INIT that accepts a daemon which does not ask for unrestricted ioctls; fills
 * devinfo and, if flags is not NULL, the reply's flags. */
int fake_kernel_cuse_init_any(struct fake_kernel *k, uint32_t *flags);
/* Write one request; *unique (may be NULL) gets its id.  Does not run the daemon. */
int fake_kernel_send(struct fake_kernel *k, uint32_t opcode, const void *arg, size_t arglen, uint64_t *unique);
/* FUSE_READ as the kernel sends it for read(2) on a file with these f_flags
 * (O_NONBLOCK matters). */
int fake_kernel_send_read(struct fake_kernel *k, uint64_t fh, size_t size, int flags, uint64_t *unique);
/* FUSE_POLL; notify: FUSE_POLL_SCHEDULE_NOTIFY (someone waits), kh the kernel's handle. */
int fake_kernel_send_poll(struct fake_kernel *k, uint64_t fh, uint64_t kh, uint32_t events, bool notify,
                          uint64_t *unique);
/* FUSE_INTERRUPT of the request with id target (a signal hit the caller). */
int fake_kernel_send_interrupt(struct fake_kernel *k, uint64_t target);
/* The next message from the daemon, without waiting: 0, or -EAGAIN when there is none. */
int fake_kernel_next_msg(struct fake_kernel *k, struct fake_kernel_msg *m);
/* FUSE_WRITE of size bytes: the count written or -errno. */
long fake_kernel_write(struct fake_kernel *k, uint64_t fh, const void *buf, size_t size);
