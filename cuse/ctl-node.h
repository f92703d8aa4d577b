/* /dev/i2o/ctl over CUSE: a thin adapter from FUSE requests to lib/ctl. */
#pragma once

#include <stdbool.h>

struct iop_ctl;
struct iop_cuse_dev;
struct iop_ctl_node;

/* Serve ctl on a CUSE session created on fd (/dev/cuse or a test socket; taken over).
 * devname is the node name below /dev ("i2o/ctl"). */
int iop_ctl_node_new(struct iop_ctl *ctl, const char *devname, int fd, struct iop_ctl_node **ret);
struct iop_ctl_node *iop_ctl_node_free(struct iop_ctl_node *n);
struct iop_cuse_dev *iop_ctl_node_dev(struct iop_ctl_node *n);
/* Round trips (FUSE ioctl requests) served, retries among them: for tests and stats. */
void iop_ctl_node_stats(const struct iop_ctl_node *n, unsigned long *requests, unsigned long *retries);
