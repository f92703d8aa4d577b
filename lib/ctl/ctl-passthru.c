/* I2OPASSTHRU / I2OPASSTHRU32: a raw I2O message to an IOP, as i2o_cfg_passthru did
 * (i2o-abi.md section 5.12).  The caller's buffer holds the request frame (size in
 * words from word 0's upper half), immediately followed by the reply area whose first
 * word's upper half is the reply size in words.  Simple SG elements from the frame's
 * SGL offset to its end name caller buffers by 32-bit address (the kernel's "TODO
 * 64bit fix": a 64-bit caller's buffers must lie below 4 GiB, e.g. MAP_32BIT).
 *
 * Through CUSE: round 1 the struct, 2 word 0, 3 the frame and the reply size word,
 * 4 the host-to-IOP data with every output range, 5 the reply.  Outputs are declared
 * reply area first, then the IOP-to-host buffers, so a failed request (which writes
 * only the reply) is a prefix; the kernel wrote the data before the reply, which
 * differs only if one of them faults.
 *
 * Return value: the ReqStatus as a positive ioctl result when the IOP refused (the
 * kernel's quirk), -ETIMEDOUT when it did not answer, 0 on success. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ctl/abi.h"
#include "lib/ctl/ctl-internal.h"
#include "lib/i2o/iop.h"
#include "lib/i2o/msg.h"
#include "lib/util/cleanup.h"

/* Everything one passthrough moves must fit in one CUSE reply (IOP_UMEM_MAX_BYTES). */
int ctl_passthru(struct ctl_call *c) {
    uint8_t raw[IOP_ABI_MAX_ARG];
    struct iop_abi_passthru a;
    uint32_t w0, reply_word;
    int r;

    if ((r = ctl_fetch_arg(c, raw, iop_abi_passthru_size(c->compat))) != 0)
        return r;
    iop_abi_decode_passthru(raw, c->compat, &a);
    struct iop_controller *iop = iop_system_find(c->ctl->sys, a.iop);
    if (!iop)
        return -ENXIO;
    if ((r = iop_umem_want_in(c->um, a.msg, 4)) < 0 || (r = iop_umem_sync(c->um)) != 0 ||
        (r = iop_umem_read_u32(c->um, a.msg, &w0)) != 0)
        return r;
    unsigned words = w0 >> 16;
    /* The kernel answered an oversized frame with EFAULT (sic). */
    if (words > IOP_INBOUND_FRAME_WORDS)
        return -EFAULT;
    if (words < IOP_MSG_HEADER_WORDS)
        return -EINVAL; /* the kernel would have posted a frame with a stale header */
    uint64_t reply_at = a.msg + words * 4u;
    if ((r = iop_umem_want_in(c->um, a.msg, words * 4u)) < 0 ||
        (r = iop_umem_want_in(c->um, reply_at, 4)) < 0 || (r = iop_umem_sync(c->um)) != 0)
        return r;
    uint32_t frame[IOP_INBOUND_FRAME_WORDS];
    if ((r = iop_umem_read(c->um, a.msg, frame, words * 4u)) != 0 ||
        (r = iop_umem_read_u32(c->um, reply_at, &reply_word)) != 0)
        return r;
    size_t reply_bytes = (size_t)(reply_word >> 16) * 4;
    if (reply_bytes > IOP_UMEM_MAX_BYTES)
        return -ENOMEM;

    struct iop_msg_sg sg[IOP_MSG_MAX_SG];
    unsigned n_sg = 0, sg_offset = (w0 >> 4) & 0xF;
    if (sg_offset) {
        if (sg_offset * 4u >= words * 4u)
            return -EFAULT;
        n_sg = (words - sg_offset) / 2;
        if (n_sg > IOP_MSG_MAX_SG)
            return -EINVAL;
    }
    /* Validate the whole SGL before asking for any of its data. */
    for (unsigned i = 0; i < n_sg; i++) {
        uint32_t fc = frame[sg_offset + 2 * i];
        if (!(fc & IOP_SGL_SIMPLE))
            return -EINVAL;
    }
    if (reply_bytes && (r = iop_umem_want_out(c->um, reply_at, reply_bytes)) < 0)
        return r;
    for (unsigned i = 0; i < n_sg; i++) {
        uint32_t fc = frame[sg_offset + 2 * i], addr = frame[sg_offset + 2 * i + 1];
        uint32_t len = fc & IOP_SGL_COUNT_MASK;
        r = (fc & IOP_SGL_DIR_TO_IOP) ? iop_umem_want_in(c->um, addr, len) : iop_umem_want_out(c->um, addr, len);
        if (r < 0)
            return r;
    }
    if ((r = iop_umem_sync(c->um)) != 0)
        return r;

    /* Gather: every element gets a host buffer; inputs are read now. */
    _cleanup_free_ uint8_t *data = NULL;
    size_t total = 0;
    for (unsigned i = 0; i < n_sg; i++)
        total += frame[sg_offset + 2 * i] & IOP_SGL_COUNT_MASK;
    data = calloc(1, total ? total : 1);
    if (!data)
        return -ENOMEM;
    size_t at = 0;
    for (unsigned i = 0; i < n_sg; i++) {
        uint32_t fc = frame[sg_offset + 2 * i], addr = frame[sg_offset + 2 * i + 1];
        sg[i] = (struct iop_msg_sg){ .data = data + at, .len = fc & IOP_SGL_COUNT_MASK,
                                     .to_iop = (fc & IOP_SGL_DIR_TO_IOP) != 0 };
        if (sg[i].to_iop && (r = iop_umem_read(c->um, addr, sg[i].data, sg[i].len)) != 0)
            return r;
        at += sg[i].len;
    }

    _cleanup_free_ uint32_t *reply = calloc(1, reply_bytes ? reply_bytes : 4);
    if (!reply)
        return -ENOMEM;
    struct iop_msg m = {
        .frame = frame, .words = words, .sg_offset = sg_offset, .sg = sg, .n_sg = n_sg,
        .reply = reply, .reply_words = (unsigned)(reply_bytes / 4),
    };
    int rc = iop_controller_post(iop, &m);
    if (reply_bytes) {
        /* The kernel restored the caller's contexts (words 2-3) and, on failure, put
         * the result in word 4's top byte. */
        for (unsigned w = 2; w < 4 && w < m.reply_words; w++)
            reply[w] = frame[w];
        if (rc != 0 && m.reply_words > 4)
            reply[4] = (reply[4] & 0x00FFFFFFu) | (uint32_t)rc << 24;
        if ((r = iop_umem_write(c->um, reply_at, reply, reply_bytes)) != 0)
            return r;
    }
    if (rc == 0) {
        for (unsigned i = 0; i < n_sg; i++) {
            if (sg[i].to_iop)
                continue;
            uint32_t addr = frame[sg_offset + 2 * i + 1];
            if ((r = iop_umem_write(c->um, addr, sg[i].data, sg[i].len)) != 0)
                return r;
        }
    }
    return rc;
}
