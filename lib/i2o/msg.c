#include "lib/i2o/msg.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "lib/i2o/bsa.h"
#include "lib/i2o/devparams.h"
#include "lib/i2o/dpt.h"
#include "lib/i2o/iop.h"

void iop_msg_reply(struct iop_msg *m, unsigned words, uint8_t req_status, uint16_t dsc) {
    if (words < 5)
        words = 5;
    if (m->reply_words == 0)
        return;
    uint32_t head[5] = {
        /* size, MSG_REPLY flag, I2O 1.5 version/offset */
        (uint32_t)words << 16 | IOP_MSG_REPLY_FLAG | 0x01,
        m->words > 1 ? m->frame[1] : 0,         /* function, initiator, target as posted */
        m->words > 2 ? m->frame[2] : 0,         /* initiator context */
        m->words > 3 ? m->frame[3] : 0,         /* transaction context */
        (uint32_t)req_status << 24 | dsc,
    };
    unsigned n = m->reply_words < 5 ? m->reply_words : 5;
    memcpy(m->reply, head, n * 4);
}

/* The first output element, for functions that return one buffer. */
static struct iop_msg_sg *first_out(struct iop_msg *m) {
    for (unsigned i = 0; i < m->n_sg; i++)
        if (!m->sg[i].to_iop)
            return &m->sg[i];
    return NULL;
}

/* Copy a table into the first output element: the whole table or what fits. */
static int reply_table(struct iop_msg *m, const void *table, size_t len) {
    struct iop_msg_sg *out = first_out(m);
    if (!out) {
        iop_msg_reply(m, 5, IOP_REPLY_ERROR_NO_DATA_TRANSFER, IOP_DSC_INVALID_PARAMETER);
        return IOP_REPLY_ERROR_NO_DATA_TRANSFER;
    }
    size_t n = len < out->len ? len : out->len;
    memcpy(out->data, table, n);
    out->done = (uint32_t)n;
    if (n < len) {
        iop_msg_reply(m, 6, IOP_REPLY_ABORT_PARTIAL_TRANSFER, IOP_DSC_REPLY_BUFFER_FULL);
        if (m->reply_words > 5)
            m->reply[5] = (uint32_t)n;
        return IOP_REPLY_ABORT_PARTIAL_TRANSFER;
    }
    iop_msg_reply(m, 6, IOP_REPLY_SUCCESS, IOP_DSC_SUCCESS);
    if (m->reply_words > 5)
        m->reply[5] = (uint32_t)n; /* transfer count */
    return IOP_REPLY_SUCCESS;
}

static int post_exec(struct iop_controller *c, struct iop_msg *m, unsigned fn) {
    uint8_t buf[(3 + 9 * IOP_MAX_DEVICES) * 4];
    switch (fn) {
    case IOP_FN_EXEC_HRT_GET: {
        size_t len = iop_controller_hrt(c, buf, sizeof(buf));
        return reply_table(m, buf, len);
    }
    case IOP_FN_EXEC_LCT_NOTIFY: {
        /* The real IOP answers when its LCT changes past LastReportedChangeIndicator
         * (word 5); a passthrough caller cannot wait on it here, so the current
         * table is returned at once.  ClassIdentifier (word 4) filters entries in
         * the spec; iopd returns them all. */
        size_t len = iop_controller_lct(c, buf, sizeof(buf));
        return reply_table(m, buf, len);
    }
    case IOP_FN_EXEC_STATUS_GET: {
        /* The IOP writes the status block where words 6-7 point (a bus address no
         * passthrough can translate); given an SGL, iopd writes it through the first
         * IOP-to-host element, as ExecHrtGet.  The SyncByte (87) is 0xFF once written. */
        if (!first_out(m)) {
            iop_msg_reply(m, 5, IOP_REPLY_ERROR_NO_DATA_TRANSFER, IOP_DSC_INVALID_PARAMETER);
            return IOP_REPLY_ERROR_NO_DATA_TRANSFER;
        }
        iop_controller_status_block(c, buf);
        buf[87] = 0xFF;
        return reply_table(m, buf, 88);
    }
    case IOP_FN_EXEC_CONFIG_VALIDATE:
        iop_controller_validate(c);
        iop_msg_reply(m, 5, IOP_REPLY_SUCCESS, IOP_DSC_SUCCESS);
        return IOP_REPLY_SUCCESS;
    }
    return -ENOSYS;
}

/* UtilParamsGet/Set (adpt_i2o_issue_params, i2o_parm_issue): the operation list in the
 * first host-to-IOP element, the result list written through the first IOP-to-host
 * one; the reply's word 5 is the result length. */
static int util_params(struct iop_device *d, struct iop_msg *m, bool set) {
    struct iop_msg_sg *ops = NULL, *res = first_out(m);
    for (unsigned i = 0; i < m->n_sg && !ops; i++)
        if (m->sg[i].to_iop)
            ops = &m->sg[i];
    if (!ops || !res) {
        iop_msg_reply(m, 5, IOP_REPLY_ERROR_NO_DATA_TRANSFER, IOP_DSC_INVALID_PARAMETER);
        return IOP_REPLY_ERROR_NO_DATA_TRANSFER;
    }
    int len = iop_device_params_exec(d, set, ops->data, ops->len, res->data, res->len);
    if (len < 0) {
        iop_msg_reply(m, 5, IOP_REPLY_ERROR_NO_DATA_TRANSFER,
                      len == -ENOBUFS ? IOP_DSC_REPLY_BUFFER_FULL : IOP_DSC_INVALID_PARAMETER);
        return IOP_REPLY_ERROR_NO_DATA_TRANSFER;
    }
    res->done = (uint32_t)len;
    iop_msg_reply(m, 6, IOP_REPLY_SUCCESS, IOP_DSC_SUCCESS);
    if (m->reply_words > 5)
        m->reply[5] = (uint32_t)len;
    return IOP_REPLY_SUCCESS;
}

int iop_controller_post(struct iop_controller *c, struct iop_msg *m) {
    assert(c && m && m->frame);
    if (!c->answers)
        return -ETIMEDOUT;
    if (m->words < IOP_MSG_HEADER_WORDS) {
        iop_msg_reply(m, 5, IOP_REPLY_ERROR_NO_DATA_TRANSFER, IOP_DSC_MESSAGE_TOO_SMALL);
        return IOP_REPLY_ERROR_NO_DATA_TRANSFER;
    }
    unsigned fn = m->frame[1] >> 24, tid = m->frame[1] & 0xFFF;
    struct iop_device *d = iop_controller_find_device(c, tid);
    int r;
    /* DPT's private SCSI messages: answered by the controller's SCSI side, also for
     * TIDs it does not have (a selection timeout, as a SCSI HBA answers). */
    if (fn == IOP_FN_PRIVATE && (r = iop_dpt_post(c, d, m)) != -ENOSYS)
        return r;
    if (!d) {
        iop_msg_reply(m, 5, IOP_REPLY_ERROR_NO_DATA_TRANSFER, IOP_DSC_INVALID_TARGET_ADDRESS);
        return IOP_REPLY_ERROR_NO_DATA_TRANSFER;
    }
    m->cancel = NULL;
    r = d->ops && d->ops->post ? d->ops->post(d->owner, d, m) : -ENOSYS;
    if (r != -ENOSYS) {
        /* answered by the device's own layer */
    } else if (fn == IOP_FN_UTIL_NOP) {
        iop_msg_reply(m, 5, IOP_REPLY_SUCCESS, IOP_DSC_SUCCESS);
        r = IOP_REPLY_SUCCESS;
    } else if (fn == IOP_FN_UTIL_PARAMS_GET || fn == IOP_FN_UTIL_PARAMS_SET) {
        r = util_params(d, m, fn == IOP_FN_UTIL_PARAMS_SET);
    } else if (tid == IOP_TID_EXECUTIVE) {
        r = post_exec(c, m, fn);
    } else if (d->class_id == I2O_CLASS_RANDOM_BLOCK_STORAGE) {
        r = iop_bsa_post(d, m);
    }
    if (r == -ENOSYS) {
        iop_msg_reply(m, 5, IOP_REPLY_ERROR_NO_DATA_TRANSFER, IOP_DSC_UNKNOWN_FUNCTION);
        r = IOP_REPLY_ERROR_NO_DATA_TRANSFER;
    }
    return r;
}

void iop_msg_cancel(struct iop_msg *m) {
    assert(m);
    if (m->cancel)
        m->cancel(m);
}
