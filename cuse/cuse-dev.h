/* One CUSE character device: a libfuse session on a /dev/cuse file descriptor (or,
 * in tests, on one end of a socketpair), driven by the caller's event loop rather than
 * libfuse's own: when the fd is readable, call iop_cuse_dev_process(). */
#pragma once

#include <stdbool.h>

struct cuse_lowlevel_ops;
struct iop_cuse_dev;

struct iop_cuse_dev_params {
    const char *devname;  /* DEVNAME, e.g. "i2o/ctl" gives /dev/i2o/ctl */
    unsigned dev_major;   /* 0: dynamic (the usual case) */
    unsigned dev_minor;
    bool unrestricted_ioctl;
    const struct cuse_lowlevel_ops *ops;
    void *userdata;       /* fuse_req_userdata() in the ops */
};

/* Open the CUSE control device (normally "/dev/cuse") non-blocking.  A clear message
 * is logged when it is missing; returns the fd or a negative errno. */
int iop_cuse_open_control(const char *path);

/* Create the session on fd (taken over, closed by iop_cuse_dev_free even on failure). */
int iop_cuse_dev_new(const struct iop_cuse_dev_params *p, int fd, struct iop_cuse_dev **ret);
struct iop_cuse_dev *iop_cuse_dev_free(struct iop_cuse_dev *d);

int iop_cuse_dev_fd(const struct iop_cuse_dev *d);
/* Handle every request that is ready.  0: keep going; -ENODEV: the kernel side is gone
 * (the session ended); other negative errno: read error. */
int iop_cuse_dev_process(struct iop_cuse_dev *d);
/* True once the kernel answered CUSE_INIT and the device node exists. */
bool iop_cuse_dev_ready(const struct iop_cuse_dev *d);
void iop_cuse_dev_set_ready(struct iop_cuse_dev *d);
const char *iop_cuse_dev_name(const struct iop_cuse_dev *d);
