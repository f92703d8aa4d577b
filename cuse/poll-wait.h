/* The poll() waiter a CUSE node keeps per open file: the handle of the latest poll
 * that asked to be woken.  The newest is kept even when the file was ready already,
 * so that a poller that does not drain is woken by the next change too. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cuse/fuse-compat.h"

struct iop_poll_wait {
    struct fuse_pollhandle *ph; /* owned */
};

/* Answer a poll request with revents, keeping ph (may be NULL: nobody waits). */
void iop_poll_wait_reply(struct iop_poll_wait *w, fuse_req_t req, struct fuse_pollhandle *ph, unsigned revents);
/* The file became ready: wake the waiter, if any, once. */
void iop_poll_wait_wake(struct iop_poll_wait *w, bool ready);
/* A poll asked to be woken and was not yet. */
static inline bool iop_poll_wait_pending(const struct iop_poll_wait *w) { return w->ph != NULL; }
/* The file is closed: forget the waiter. */
void iop_poll_wait_drop(struct iop_poll_wait *w);
