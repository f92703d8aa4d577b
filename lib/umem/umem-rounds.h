/* The user-memory accessor behind the CUSE unrestricted-ioctl retry protocol.
 *
 * One object serves one round (one FUSE_IOCTL request).  The kernel hands the round
 * the bytes of the in ranges named by the previous retry, concatenated in order
 * (in_buf), and the total size of the out ranges it will accept (out_size).  Because
 * handlers re-declare the same ranges in the same order every round (umem.h), range
 * k's bytes sit at the sum of the sizes of ranges 0..k-1: no state survives between
 * rounds.  When the handler needs more, the adapter replies with a retry naming the
 * whole, grown, lists; when it is done, with the written out prefix.
 *
 * A caller that changes its own argument memory between rounds can only confuse
 * itself: every access here is bounds-checked against what the kernel handed over.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/umem/umem.h"

struct iop_uiov {
    uint64_t base;
    uint64_t len;
};

struct iop_umem_rounds {
    struct iop_umem um;
    const uint8_t *in_buf; /* borrowed: this round's gathered input */
    size_t in_size;
    size_t out_size; /* capacity of the out ranges named by the last retry */
    struct iop_uiov in[IOP_UMEM_MAX_RANGES], out[IOP_UMEM_MAX_RANGES];
    unsigned n_in, n_out;
    uint64_t in_bytes, out_bytes; /* sums over in[] and out[] */
    uint8_t *out_buf;             /* owned, out_size bytes */
    size_t out_len;               /* bytes of out_buf written, always a prefix */
    int error;                    /* sticky: -ENOMEM over the limits */
};

/* Set up for one round; returns -ENOMEM if out_size cannot be allocated. */
int iop_umem_rounds_init(struct iop_umem_rounds *r, const void *in_buf, size_t in_size, size_t out_size);
void iop_umem_rounds_done(struct iop_umem_rounds *r);
