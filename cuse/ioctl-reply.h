/* Answering one round of an unrestricted CUSE ioctl from the user-memory accessor it
 * ran against (lib/umem/umem-rounds.h), the same way for every node. */
#pragma once

#include "cuse/fuse-compat.h"

struct iop_umem_rounds;

/* res is the handler's result for this round: IOP_UMEM_RETRY (a retry naming every
 * range declared), or the ioctl's result, sent with the output written so far.  An
 * error without output goes as the request's error; with output (ENOBUFS with the
 * needed length, MFETCH's nflush with EAGAIN) as the ioctl's result, so the output is
 * delivered too.  Returns what libfuse's reply returned. */
int iop_cuse_reply_ioctl(fuse_req_t req, int res, const struct iop_umem_rounds *r);
