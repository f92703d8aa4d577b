/* Blocking read()s that cannot be answered yet, for the CUSE nodes: the request is
 * kept, not the thread (the session is single-threaded), in FIFO order as the
 * kernel's readers were served in turn.  A FUSE_INTERRUPT (the caller got a signal)
 * answers its parked read with EINTR, as the kernel's wait_event_interruptible()
 * readers returned -EINTR. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cuse/fuse-compat.h"

struct iop_parked_read;

struct iop_parked_reads {
    struct iop_parked_read *head; /* owned */
};

/* Park req, a read of size bytes.  Replies itself instead when it cannot park: EINTR
 * when the request was interrupted already, ENOMEM. */
void iop_parked_reads_add(struct iop_parked_reads *q, fuse_req_t req, size_t size);

/* Answer parked reads, oldest first, while serve answers one (returns true, having
 * replied to req); stops at the first it cannot answer yet. */
typedef bool (*iop_parked_serve_fn)(void *ctx, fuse_req_t req, size_t size);
void iop_parked_reads_serve(struct iop_parked_reads *q, iop_parked_serve_fn serve, void *ctx);

/* Reply err to every parked read and forget them. */
void iop_parked_reads_fail_all(struct iop_parked_reads *q, int err);

static inline bool iop_parked_reads_empty(const struct iop_parked_reads *q) { return !q->head; }
unsigned iop_parked_reads_count(const struct iop_parked_reads *q);
