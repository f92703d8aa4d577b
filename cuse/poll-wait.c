#include "cuse/poll-wait.h"

#include <assert.h>
#include <stddef.h>

void iop_poll_wait_reply(struct iop_poll_wait *w, fuse_req_t req, struct fuse_pollhandle *ph, unsigned revents) {
    assert(w);
    if (ph) {
        iop_poll_wait_drop(w);
        w->ph = ph;
    }
    fuse_reply_poll(req, revents);
}

void iop_poll_wait_wake(struct iop_poll_wait *w, bool ready) {
    assert(w);
    if (w->ph && ready) {
        fuse_lowlevel_notify_poll(w->ph);
        iop_poll_wait_drop(w);
    }
}

void iop_poll_wait_drop(struct iop_poll_wait *w) {
    assert(w);
    if (w->ph)
        fuse_pollhandle_destroy(w->ph);
    w->ph = NULL;
}
