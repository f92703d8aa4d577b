#include "lib/i2o/dpt-msg.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "lib/i2o/msg.h"
#include "lib/scsi/scsi.h"
#include "lib/util/bytes.h"

#define FN_PRIVATE 0xFFu

int iop_dpt_parse(const uint32_t *frame, unsigned words, struct iop_dpt_scb *out) {
    assert(out);
    memset(out, 0, sizeof(*out));
    /* Without word 4 the organisation is unknown: not ours to answer. */
    if (!frame || words < 5 || frame[1] >> 24 != FN_PRIVATE || frame[4] >> 16 != IOP_DPT_ORG_ID)
        return -ENOENT;
    if ((frame[4] & 0xFFFF) != IOP_DPT_XFN_SCSI_EXEC)
        return -ENOSYS;
    if (words < IOP_DPT_SCSI_WORDS)
        return -EMSGSIZE;
    out->tid = (uint16_t)(frame[5] & 0xFFFF);
    out->interpret = frame[5] & (1u << 16);
    out->physical = frame[5] & (1u << 17);
    out->cdb_len = (uint8_t)frame[6];
    out->flags = (uint16_t)(frame[6] >> 16);
    for (unsigned i = 0; i < 4; i++)
        iop_put_le32(out->cdb + 4 * i, frame[7 + i]);
    out->byte_count = frame[11];
    if (out->cdb_len == 0 || out->cdb_len > sizeof(out->cdb))
        return -EINVAL;
    if ((out->flags & IOP_DPT_SCB_DIR_MASK) == IOP_DPT_SCB_DIR_MASK)
        return -EINVAL;
    return 0;
}

void iop_dpt_plan(const struct iop_dpt_scb *scb, uint64_t room_from, uint64_t room_to, struct iop_dpt_plan *p) {
    assert(scb && p);
    memset(p, 0, sizeof(*p));
    p->autosense = (scb->flags & IOP_DPT_SCB_AUTOSENSE_MASK) != 0;
    unsigned dir = scb->flags & IOP_DPT_SCB_DIR_MASK;
    if (dir == 0)
        return; /* no data phase: dpt_i2o sends ByteCount 0 and no SGL */
    p->from_device = dir == IOP_DPT_SCB_FROM_DEVICE;
    p->to_device = !p->from_device;
    p->len = scb->byte_count;
    if (p->len > IOP_SCSI_MAX_XFER || p->len > (p->from_device ? room_from : room_to))
        p->hba_status = IOP_DPT_HBA_REQUEST_LENGTH_ERROR;
}

void iop_dpt_complete(const struct iop_dpt_plan *plan, const struct iop_scsi_cmd *cmd, struct iop_dpt_result *r) {
    assert(plan && r);
    memset(r, 0, sizeof(*r));
    r->hba_status = plan->hba_status;
    if (r->hba_status == IOP_DPT_HBA_SUCCESS && cmd && cmd->overrun)
        r->hba_status = IOP_DPT_HBA_DATA_OVERRUN;
    if (r->hba_status != IOP_DPT_HBA_SUCCESS || !cmd) {
        /* The HBA failed the request: no data moved (ReqStatus as the I2O spec's
         * request errors; dpt_i2o maps the HBA status, raideng both). */
        r->req_status = IOP_REPLY_ERROR_NO_DATA_TRANSFER;
        if (r->hba_status == IOP_DPT_HBA_SUCCESS)
            r->hba_status = IOP_DPT_HBA_REQUEST_INVALID;
        return;
    }
    /* The target answered: ReqStatus SUCCESS even for CHECK CONDITION -- raideng's
     * DPTI_eataSynchronousCallback() treats any other ReqStatus with a good HBA status
     * as an aborted command, and only then reads the SCSI status and sense. */
    r->req_status = IOP_REPLY_SUCCESS;
    r->scsi_status = cmd->status;
    r->transfer_count = (uint32_t)(plan->from_device ? cmd->data_in_len : plan->to_device ? cmd->data_out_used : 0);
    if (cmd->status == IOP_SCSI_CHECK_CONDITION && cmd->sense_len) {
        r->sense = cmd->sense;
        r->sense_len = cmd->sense_len;
    }
}

unsigned iop_dpt_reply_body(const struct iop_dpt_result *r, uint32_t w[IOP_DPT_REPLY_WORDS]) {
    assert(r && w);
    memset(w + 4, 0, (IOP_DPT_REPLY_WORDS - 4) * 4);
    w[4] = (uint32_t)r->req_status << 24 | (uint32_t)r->hba_status << 8 | r->scsi_status;
    w[5] = r->transfer_count;
    if (!r->sense || !r->sense_len)
        return 6;
    size_t n = r->sense_len < IOP_DPT_SENSE_BYTES ? r->sense_len : IOP_DPT_SENSE_BYTES;
    uint8_t sense[IOP_DPT_SENSE_BYTES] = { 0 };
    memcpy(sense, r->sense, n);
    w[6] = (uint32_t)n;
    for (unsigned i = 0; i < IOP_DPT_SENSE_BYTES / 4; i++)
        w[7 + i] = iop_get_le32(sense + 4 * i);
    return IOP_DPT_REPLY_WORDS;
}
