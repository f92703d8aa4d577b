#include "cuse/cuse-dev.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cuse/fuse-compat.h"
#include "lib/util/cleanup.h"
#include "lib/util/log.h"

struct iop_cuse_dev {
    struct fuse_session *se; /* owned; owns the fd */
    struct fuse_buf buf;     /* receive buffer, reused */
    int fd;
    bool ready;
    char devname[128];
};

int iop_cuse_open_control(const char *path) {
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENODEV || e == ENXIO)
            iop_err("%s: %s; this kernel has no CUSE support loaded. "
                    "Load it with 'modprobe cuse' (as root) and try again.",
                    path, strerror(e));
        else if (e == EACCES || e == EPERM)
            iop_err("%s: %s; iopd must run as root (or with access to %s)", path, strerror(e), path);
        else
            iop_err("%s: %s", path, strerror(e));
        return -e;
    }
    return fd;
}

static ssize_t dev_read(int fd, void *buf, size_t len, void *userdata) {
    (void)userdata;
    return read(fd, buf, len);
}

static ssize_t dev_writev(int fd, struct iovec *iov, int count, void *userdata) {
    (void)userdata;
    return writev(fd, iov, count);
}

static const struct fuse_custom_io dev_io = {
    .read = dev_read,
    .writev = dev_writev,
};

int iop_cuse_dev_new(const struct iop_cuse_dev_params *p, int fd, struct iop_cuse_dev **ret) {
    _cleanup_close_ int owned_fd = fd;
    assert(p && p->devname && p->ops && ret);

    /* The loop calls us when the fd is readable and we read until EAGAIN. */
    int fl = fcntl(owned_fd, F_GETFL);
    if (fl < 0 || fcntl(owned_fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    struct iop_cuse_dev *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    snprintf(d->devname, sizeof(d->devname), "%s", p->devname);
    d->fd = -1;

    char devarg[160];
    snprintf(devarg, sizeof(devarg), "DEVNAME=%s", p->devname);
    const char *dev_info_argv[] = { devarg };
    struct cuse_info ci = {
        .dev_major = p->dev_major,
        .dev_minor = p->dev_minor,
        .dev_info_argc = 1,
        .dev_info_argv = dev_info_argv,
        .flags = p->unrestricted_ioctl ? CUSE_UNRESTRICTED_IOCTL : 0,
    };
    /* fuse_session_new() insists on an argv[0]; no other options are passed. */
    char *argv[] = { (char *)"iopd", NULL };
    struct fuse_args args = FUSE_ARGS_INIT(1, argv);
    d->se = cuse_lowlevel_new(&args, &ci, p->ops, p->userdata);
    fuse_opt_free_args(&args); /* option parsing may have copied argv */
    if (!d->se) {
        free(d);
        return -ENOMEM;
    }
    if (fuse_session_custom_io(d->se, &dev_io, owned_fd) != 0) {
        fuse_session_destroy(d->se);
        free(d);
        return -EINVAL;
    }
    d->fd = TAKE_FD(owned_fd); /* the session closes it now */
    *ret = d;
    return 0;
}

struct iop_cuse_dev *iop_cuse_dev_free(struct iop_cuse_dev *d) {
    if (!d)
        return NULL;
    /* Closing the fd is what removes the node: the kernel tears the CUSE device down. */
    if (d->se)
        fuse_session_destroy(d->se);
    free(d->buf.mem);
    free(d);
    return NULL;
}

int iop_cuse_dev_fd(const struct iop_cuse_dev *d) {
    assert(d);
    return d->fd;
}

int iop_cuse_dev_process(struct iop_cuse_dev *d) {
    assert(d);
    /* A bounded batch, so one busy device cannot starve the rest of the loop. */
    for (int i = 0; i < 64; i++) {
        int r = fuse_session_receive_buf(d->se, &d->buf);
        if (r == -EAGAIN || r == -EINTR)
            return 0;
        if (r == 0 || fuse_session_exited(d->se))
            return -ENODEV;
        if (r < 0)
            return r;
        fuse_session_process_buf(d->se, &d->buf);
    }
    return 0;
}

bool iop_cuse_dev_ready(const struct iop_cuse_dev *d) {
    assert(d);
    return d->ready;
}

void iop_cuse_dev_set_ready(struct iop_cuse_dev *d) {
    assert(d);
    d->ready = true;
}

const char *iop_cuse_dev_name(const struct iop_cuse_dev *d) {
    assert(d);
    return d->devname;
}
