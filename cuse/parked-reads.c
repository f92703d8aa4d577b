#include "cuse/parked-reads.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

struct iop_parked_read {
    struct iop_parked_read *next;
    struct iop_parked_reads *q; /* borrowed: the queue it waits in */
    fuse_req_t req;
    size_t size;
};

/* FUSE_INTERRUPT for a parked read.  The kernel's readers returned -EINTR (not
 * -ERESTARTSYS), so the read is not restarted either. */
static void read_interrupted(fuse_req_t req, void *data) {
    struct iop_parked_read *target = data;
    for (struct iop_parked_read **p = &target->q->head; *p; p = &(*p)->next) {
        if (*p == target) {
            *p = target->next;
            fuse_reply_err(req, EINTR);
            free(target);
            return;
        }
    }
}

void iop_parked_reads_add(struct iop_parked_reads *q, fuse_req_t req, size_t size) {
    assert(q && req);
    /* The session is single-threaded, so the interrupt flag cannot change between this
     * test and the registration below; registering on an already interrupted request
     * would run read_interrupted from inside fuse_req_interrupt_func(), and replying
     * there frees the request while libfuse still holds its lock. */
    if (fuse_req_interrupted(req)) {
        fuse_reply_err(req, EINTR);
        return;
    }
    struct iop_parked_read *p = calloc(1, sizeof(*p));
    if (!p) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    p->q = q;
    p->req = req;
    p->size = size;
    struct iop_parked_read **tail = &q->head;
    while (*tail)
        tail = &(*tail)->next;
    *tail = p;
    fuse_req_interrupt_func(req, read_interrupted, p);
}

void iop_parked_reads_serve(struct iop_parked_reads *q, iop_parked_serve_fn serve, void *ctx) {
    assert(q && serve);
    while (q->head && serve(ctx, q->head->req, q->head->size)) {
        struct iop_parked_read *p = q->head;
        q->head = p->next;
        free(p);
    }
}

void iop_parked_reads_fail_all(struct iop_parked_reads *q, int err) {
    assert(q);
    while (q->head) {
        struct iop_parked_read *p = q->head;
        q->head = p->next;
        fuse_reply_err(p->req, err);
        free(p);
    }
}

unsigned iop_parked_reads_count(const struct iop_parked_reads *q) {
    unsigned c = 0;
    for (const struct iop_parked_read *p = q->head; p; p = p->next)
        c++;
    return c;
}
