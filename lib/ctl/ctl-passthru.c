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
 * A device may answer later (USB transfers): the call then lives on the heap until
 * its message completes, and the ioctl finishes through iop_ctl_async.
 *
 * Return value: the ReqStatus as a positive ioctl result when the IOP refused (the
 * kernel's quirk), -ETIMEDOUT when it did not answer, 0 on success. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ctl/abi.h"
#include "lib/ctl/ctl-internal.h"
#include "lib/i2o/iop.h"
#include "lib/i2o/msg.h"

struct pt_call {
    struct iop_umem *um;           /* borrowed: the caller keeps it alive while pending */
    struct iop_ctl_async *async;   /* borrowed, NULL for synchronous callers */
    struct iop_msg m;
    uint32_t frame[IOP_INBOUND_FRAME_WORDS];
    struct iop_msg_sg sg[IOP_MSG_MAX_SG];
    uint32_t sg_addr[IOP_MSG_MAX_SG];
    uint8_t *data;                 /* owned: every element's buffer */
    struct iop_controller *dma;    /* data is this controller's DMA memory, else malloc's */
    uint32_t *reply;               /* owned */
    size_t reply_bytes;
    uint64_t reply_at;
};

static void pt_free(struct pt_call *pc) {
    if (pc->dma)
        iop_controller_dma_free(pc->dma, pc->data);
    else
        free(pc->data);
    free(pc->reply);
    free(pc);
}

/* The kernel's ending: restore the caller's contexts, put a failure in word 4's top
 * byte, copy the reply; on success the IOP-to-host data too. */
static int pt_finish(struct pt_call *pc, int rc) {
    int r;
    if (pc->reply_bytes) {
        for (unsigned w = 2; w < 4 && w < pc->m.reply_words; w++)
            pc->reply[w] = pc->frame[w];
        if (rc != 0 && pc->m.reply_words > 4)
            pc->reply[4] = (pc->reply[4] & 0x00FFFFFFu) | (uint32_t)rc << 24;
        if ((r = iop_umem_write(pc->um, pc->reply_at, pc->reply, pc->reply_bytes)) != 0)
            return r;
    }
    if (rc == 0)
        for (unsigned i = 0; i < pc->m.n_sg; i++)
            if (!pc->sg[i].to_iop && (r = iop_umem_write(pc->um, pc->sg_addr[i], pc->sg[i].data, pc->sg[i].len)) != 0)
                return r;
    return rc;
}

static void pt_done(struct iop_msg *m, int rc) {
    struct pt_call *pc = m->done_ctx;
    struct iop_ctl_async *a = pc->async;
    int result = pt_finish(pc, rc);
    a->cancel = NULL;
    a->priv = NULL;
    pt_free(pc);
    a->done(a, result);
}

static void pt_cancel(struct iop_ctl_async *a) {
    struct pt_call *pc = a->priv;
    if (pc)
        iop_msg_cancel(&pc->m);
}

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

    unsigned n_sg = 0, sg_offset = (w0 >> 4) & 0xF;
    if (sg_offset) {
        if (sg_offset * 4u >= words * 4u)
            return -EFAULT;
        n_sg = (words - sg_offset) / 2;
        if (n_sg > IOP_MSG_MAX_SG)
            return -EINVAL;
    }
    /* Validate the whole SGL before asking for any of its data. */
    for (unsigned i = 0; i < n_sg; i++)
        if (!(frame[sg_offset + 2 * i] & IOP_SGL_SIMPLE))
            return -EINVAL;
    if (reply_bytes && (r = iop_umem_want_out(c->um, reply_at, reply_bytes)) < 0)
        return r;
    size_t total = 0, total_in = 0, total_out = reply_bytes;
    for (unsigned i = 0; i < n_sg; i++) {
        uint32_t fc = frame[sg_offset + 2 * i], addr = frame[sg_offset + 2 * i + 1];
        uint32_t len = fc & IOP_SGL_COUNT_MASK;
        total += len;
        *((fc & IOP_SGL_DIR_TO_IOP) ? &total_in : &total_out) += len;
        /* What one CUSE ioctl can move each way (the kernel's ENOMEM), checked here as
         * well: no accessor can make this allocate 30 x 16 MiB. */
        if (total_in > IOP_UMEM_MAX_BYTES || total_out > IOP_UMEM_MAX_BYTES)
            return -ENOMEM;
        r = (fc & IOP_SGL_DIR_TO_IOP) ? iop_umem_want_in(c->um, addr, len) : iop_umem_want_out(c->um, addr, len);
        if (r < 0)
            return r;
    }
    if ((r = iop_umem_sync(c->um)) != 0)
        return r;

    struct pt_call *pc = calloc(1, sizeof(*pc));
    if (!pc)
        return -ENOMEM;
    pc->um = c->um;
    pc->async = c->async;
    pc->reply_bytes = reply_bytes;
    pc->reply_at = reply_at;
    memcpy(pc->frame, frame, words * 4u);
    /* Data the IOP moves through its DMA channel goes in memory the channel reaches
     * without a bounce (block storage); the rest in ordinary memory. */
    struct iop_device *dev = iop_controller_find_device(iop, frame[1] & IOP_TID_MAX);
    if (total && dev && iop_device_dma_data(dev) && (pc->data = iop_controller_dma_alloc(iop, total))) {
        pc->dma = iop;
        memset(pc->data, 0, total); /* stale bytes of another transfer must not reach the caller */
    } else {
        pc->data = calloc(1, total ? total : 1);
    }
    pc->reply = calloc(1, reply_bytes ? reply_bytes : 4);
    if (!pc->data || !pc->reply) {
        pt_free(pc);
        return -ENOMEM;
    }
    /* Gather: every element gets a host buffer; inputs are read now. */
    size_t at = 0;
    for (unsigned i = 0; i < n_sg; i++) {
        uint32_t fc = frame[sg_offset + 2 * i];
        pc->sg_addr[i] = frame[sg_offset + 2 * i + 1];
        pc->sg[i] = (struct iop_msg_sg){ .data = pc->data + at, .len = fc & IOP_SGL_COUNT_MASK,
                                         .to_iop = (fc & IOP_SGL_DIR_TO_IOP) != 0 };
        if (pc->sg[i].to_iop && (r = iop_umem_read(c->um, pc->sg_addr[i], pc->sg[i].data, pc->sg[i].len)) != 0) {
            pt_free(pc);
            return r;
        }
        at += pc->sg[i].len;
    }
    pc->m = (struct iop_msg){
        .frame = pc->frame, .words = words, .sg_offset = sg_offset, .sg = pc->sg, .n_sg = n_sg,
        .reply = pc->reply, .reply_words = (unsigned)(reply_bytes / 4),
        .done = c->async ? pt_done : NULL, .done_ctx = pc,
    };
    int rc = iop_controller_post(iop, &pc->m);
    /* Devices with DMA data answer at once; the controller may not outlive a wait. */
    assert(rc != IOP_MSG_PENDING || !pc->dma);
    if (rc == IOP_MSG_PENDING) {
        c->async->priv = pc;
        c->async->cancel = pt_cancel;
        return IOP_CTL_PENDING;
    }
    int result = pt_finish(pc, rc);
    pt_free(pc);
    return result;
}
