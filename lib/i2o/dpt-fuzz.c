#include "lib/i2o/dpt-fuzz.h"

#include <errno.h>
#include <string.h>

#include "lib/i2o/dpt-msg.h"
#include "lib/i2o/msg.h"
#include "lib/scsi/scsi.h"
#include "lib/util/bytes.h"

#define FZ_BLOCKS 64u
#define FZ_BS 512u
#define FZ_MAX_LEN 0x10000u /* SG element lengths are u15 */

struct fz_disk {
    uint8_t media[FZ_BLOCKS * FZ_BS];
    int bad; /* set when the target reached outside the medium */
};

static int fz_read(void *ctx, uint64_t off, void *buf, size_t len) {
    struct fz_disk *d = ctx;
    if (off > sizeof(d->media) || len > sizeof(d->media) - off || len % FZ_BS || off % FZ_BS) {
        d->bad = 1;
        return -EIO;
    }
    memcpy(buf, d->media + off, len);
    return 0;
}

static int fz_write(void *ctx, uint64_t off, const void *buf, size_t len) {
    struct fz_disk *d = ctx;
    if (off > sizeof(d->media) || len > sizeof(d->media) - off || len % FZ_BS || off % FZ_BS) {
        d->bad = 1;
        return -EIO;
    }
    memcpy(d->media + off, buf, len);
    return 0;
}

static int fz_sync(void *ctx) {
    (void)ctx;
    return 0;
}

/* One command; 0 or the number of the broken invariant. */
static int one(struct iop_scsi_lu *lu, struct fz_disk *disk, const uint32_t *frame, unsigned words,
               const uint16_t *sg, unsigned n_sg) {
    static uint8_t buf[FZ_MAX_LEN * 8 + 64];
    struct iop_dpt_scb scb;
    int r = iop_dpt_parse(frame, words, &scb);
    if (r != 0 && r != -ENOENT && r != -ENOSYS && r != -EMSGSIZE && r != -EINVAL)
        return 1;
    if (r != 0)
        return 0;
    if (scb.cdb_len == 0 || scb.cdb_len > 16)
        return 2;
    uint64_t room_from = 0, room_to = 0;
    for (unsigned i = 0; i < n_sg; i++)
        *(sg[i] & 0x8000 ? &room_to : &room_from) += sg[i] & 0x7FFF;
    struct iop_dpt_plan plan;
    iop_dpt_plan(&scb, room_from, room_to, &plan);
    struct iop_dpt_result res;
    struct iop_scsi_cmd cmd = { 0 };
    if (plan.hba_status == IOP_DPT_HBA_SUCCESS) {
        if (plan.len > room_from + room_to || plan.len > sizeof(buf) - 64)
            return 3;
        /* A guard after the data: the target must not touch it. */
        memset(buf + plan.len, 0xA5, 64);
        cmd = (struct iop_scsi_cmd){
            .cdb = scb.cdb, .cdb_len = scb.cdb_len, .autosense = plan.autosense,
            .data_out = plan.to_device ? buf : NULL, .data_out_len = plan.to_device ? plan.len : 0,
            .data_in = plan.from_device ? buf : NULL, .data_in_cap = plan.from_device ? plan.len : 0,
        };
        iop_scsi_exec(lu, &cmd);
        for (unsigned i = 0; i < 64; i++)
            if (buf[plan.len + i] != 0xA5)
                return 4;
        if (disk->bad)
            return 5;
        if (cmd.status != IOP_SCSI_GOOD && cmd.status != IOP_SCSI_CHECK_CONDITION)
            return 6;
        if (cmd.data_in_len > cmd.data_in_cap || cmd.data_out_used > cmd.data_out_len)
            return 7;
        bool want_sense = cmd.status == IOP_SCSI_CHECK_CONDITION && cmd.autosense;
        if (want_sense != (cmd.sense_len == IOP_SCSI_SENSE_LEN) || (cmd.sense_len && cmd.sense_len != IOP_SCSI_SENSE_LEN))
            return 8;
        if (cmd.sense_len && (cmd.sense[0] != 0x70 || (cmd.sense[2] & 0x0F) == 0 || cmd.sense[7] != 10))
            return 9;
        if (cmd.overrun && (cmd.data_in_len || cmd.data_out_used || cmd.status != IOP_SCSI_GOOD))
            return 10;
        iop_dpt_complete(&plan, &cmd, &res);
    } else {
        iop_dpt_complete(&plan, NULL, &res);
    }
    uint32_t w[IOP_DPT_REPLY_WORDS];
    unsigned n = iop_dpt_reply_body(&res, w);
    if (n != 6 && n != IOP_DPT_REPLY_WORDS)
        return 11;
    if (res.hba_status != IOP_DPT_HBA_SUCCESS && res.req_status == IOP_REPLY_SUCCESS)
        return 12;
    if (res.transfer_count > plan.len || (n == IOP_DPT_REPLY_WORDS && w[6] > IOP_DPT_SENSE_BYTES))
        return 13;
    return 0;
}

int iop_dpt_fuzz_one(const uint8_t *data, size_t size) {
    static struct fz_disk disk;
    memset(&disk, 0, sizeof(disk));
    struct iop_scsi_lu lu = {
        .type = size && (data[0] & 0x80) ? IOP_SCSI_TYPE_PROCESSOR : IOP_SCSI_TYPE_DISK,
        .lun = size ? data[0] & 7 : 0,
        .blocks = FZ_BLOCKS, .block_size = FZ_BS,
        .vendor = "iopd", .product = "fuzz", .revision = "1", .serial = "F1", .naa = 0x3000000000000001ull,
        .medium = { fz_read, fz_write, fz_sync, &disk },
    };
    if (iop_scsi_lu_init(&lu) < 0)
        return 100;
    size_t at = size ? 1 : 0;
    while (at < size) {
        unsigned words = data[at++];
        words = words < 4 ? 4 : words > 32 ? 32 : words;
        uint32_t frame[32] = { 0 };
        for (unsigned i = 0; i < words * 4 && at < size; i++, at++)
            frame[i / 4] |= (uint32_t)data[at] << (8 * (i % 4));
        unsigned n_sg = at < size ? data[at++] & 7 : 0;
        uint16_t sg[8] = { 0 };
        for (unsigned i = 0; i < n_sg && at + 1 < size; i++, at += 2)
            sg[i] = iop_get_le16(data + at);
        int r = one(&lu, &disk, frame, words, sg, n_sg);
        if (r)
            return r;
    }
    return 0;
}
