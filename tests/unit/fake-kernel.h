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

#include "lib/ctl/umem-space.h"

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
