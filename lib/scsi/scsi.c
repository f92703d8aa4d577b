/* The SCSI target: command dispatch, identification (INQUIRY, VPD, REPORT LUNS, LOG
 * SENSE), sense handling and the media commands.  Layouts are SPC-3 (T10/1416-D) and
 * SBC-3 (T10/1799-D) as the Linux initiator (sd.c, scsi_scan.c) reads them. */
#include "lib/scsi/scsi.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "lib/scsi/scsi-internal.h"
#include "lib/util/bytes.h"

void iop_scsi_sense_fixed(uint8_t out[IOP_SCSI_SENSE_LEN], uint8_t key, uint8_t asc, uint8_t ascq) {
    memset(out, 0, IOP_SCSI_SENSE_LEN);
    out[0] = 0x70;                        /* current error, fixed format */
    out[2] = key & 0x0F;
    out[7] = IOP_SCSI_SENSE_LEN - 8;      /* additional sense length */
    out[12] = asc;
    out[13] = ascq;
}

static void finish_check(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd, const uint8_t sense[IOP_SCSI_SENSE_LEN]) {
    cmd->status = IOP_SCSI_CHECK_CONDITION;
    if (cmd->autosense) {
        memcpy(cmd->sense, sense, IOP_SCSI_SENSE_LEN);
        cmd->sense_len = IOP_SCSI_SENSE_LEN;
        lu->sense_pending = false;
    } else {
        memcpy(lu->sense, sense, IOP_SCSI_SENSE_LEN);
        lu->sense_pending = true;
    }
}

void scsi_check(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd, uint8_t key, uint8_t asc, uint8_t ascq) {
    uint8_t s[IOP_SCSI_SENSE_LEN];
    iop_scsi_sense_fixed(s, key, asc, ascq);
    finish_check(lu, cmd, s);
}

void scsi_bad_field(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd, bool param, unsigned byte, int bit) {
    uint8_t s[IOP_SCSI_SENSE_LEN];
    iop_scsi_sense_fixed(s, IOP_SCSI_ILLEGAL_REQUEST, param ? ASC_INVALID_FIELD_PARAM : ASC_INVALID_FIELD_CDB, 0);
    /* Sense-key specific field pointer (SPC-3 4.5.2.4.2): SKSV, C/D, BPV, bit, field. */
    s[15] = (uint8_t)(0x80 | (param ? 0 : 0x40) | (bit >= 0 ? 0x08 | (bit & 7) : 0));
    iop_put_be16(s + 16, (uint16_t)byte);
    finish_check(lu, cmd, s);
}

void scsi_data_in(struct iop_scsi_cmd *cmd, const void *data, size_t n, size_t alloc) {
    if (n > alloc)
        n = alloc;
    if (n > cmd->data_in_cap)
        n = cmd->data_in_cap;
    if (n)
        memcpy(cmd->data_in, data, n);
    cmd->data_in_len = n;
}

int iop_scsi_lu_init(struct iop_scsi_lu *lu) {
    assert(lu);
    if (lu->type == IOP_SCSI_TYPE_DISK) {
        uint32_t bs = lu->block_size;
        if (bs < 512 || bs > 65536 || (bs & (bs - 1)) || lu->blocks > UINT64_MAX / bs)
            return -EINVAL;
    } else if (lu->type != IOP_SCSI_TYPE_PROCESSOR) {
        return -EINVAL;
    }
    lu->lun &= 7;
    lu->stopped = false;
    lu->wce = true;
    lu->rcd = false;
    lu->sense_pending = false;
    return 0;
}

/* CDB length by group code (SPC-3 4.3.2): 0 -> 6, 1-2 -> 10, 4 -> 16, 5 -> 12; groups
 * 3, 6 and 7 are reserved or vendor specific: 0 (not understood here). */
static size_t cdb_len_of(uint8_t opcode) {
    static const uint8_t len[8] = { 6, 10, 10, 0, 16, 12, 0, 0 };
    return len[opcode >> 5];
}

/* Block commands' LBA and transfer length. */
struct rw {
    uint64_t lba;
    uint32_t blocks;
    bool write, verify, bytchk;
    unsigned protect;  /* RDPROTECT/WRPROTECT/VRPROTECT (byte 1 bits 5-7) */
};

static bool decode_rw(const uint8_t *c, struct rw *rw) {
    memset(rw, 0, sizeof(*rw));
    switch (c[0]) {
    case 0x08: case 0x0A: /* READ(6), WRITE(6): 21-bit LBA, 0 blocks means 256 */
        rw->lba = (uint64_t)(c[1] & 0x1F) << 16 | iop_get_be16(c + 2);
        rw->blocks = c[4] ? c[4] : 256;
        rw->write = c[0] == 0x0A;
        return true;
    case 0x28: case 0x2A: case 0x2F:
        rw->lba = iop_get_be32(c + 2);
        rw->blocks = iop_get_be16(c + 7);
        break;
    case 0xA8: case 0xAA: case 0xAF:
        rw->lba = iop_get_be32(c + 2);
        rw->blocks = iop_get_be32(c + 6);
        break;
    case 0x88: case 0x8A: case 0x8F:
        rw->lba = iop_get_be64(c + 2);
        rw->blocks = iop_get_be32(c + 10);
        break;
    default:
        return false;
    }
    rw->write = c[0] == 0x2A || c[0] == 0xAA || c[0] == 0x8A;
    rw->verify = c[0] == 0x2F || c[0] == 0xAF || c[0] == 0x8F;
    rw->bytchk = rw->verify && (c[1] & 0x02);
    rw->protect = c[1] >> 5;
    return true;
}

/* ---- identification ---- */

static void pad_copy(uint8_t *dst, const char *src, size_t n) {
    size_t l = strnlen(src, n);
    memset(dst, ' ', n);
    memcpy(dst, src, l);
}

static void inquiry_std(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd, size_t alloc, bool lun_ok) {
    uint8_t d[36] = { 0 };
    if (!lun_ok) {
        d[0] = 0x7F; /* qualifier 011b: no unit at this LUN; type 1Fh */
    } else {
        d[0] = lu->type;
        d[2] = 0x05;           /* SPC-3 */
        d[3] = 0x12;           /* HiSup, response data format 2 */
        d[7] = 0x02;           /* CmdQue */
        pad_copy(d + 8, lu->vendor, 8);
        pad_copy(d + 16, lu->product, 16);
        pad_copy(d + 32, lu->revision, 4);
    }
    d[4] = sizeof(d) - 5;      /* additional length */
    scsi_data_in(cmd, d, sizeof(d), alloc);
}

static void inquiry_vpd(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd, uint8_t page, size_t alloc) {
    uint8_t d[128] = { 0 };
    size_t n = 4;
    d[0] = lu->type;
    d[1] = page;
    switch (page) {
    case 0x00: /* supported VPD pages */
        d[n++] = 0x00;
        d[n++] = 0x80;
        d[n++] = 0x83;
        break;
    case 0x80: { /* unit serial number */
        size_t l = strnlen(lu->serial, sizeof(lu->serial) - 1);
        memcpy(d + n, lu->serial, l);
        n += l;
        break;
    }
    case 0x83: { /* device identification: T10 vendor ID based, then NAA */
        uint8_t *t = d + n;
        t[0] = 0x02;           /* code set ASCII */
        t[1] = 0x01;           /* association: logical unit; type 1: T10 vendor ID */
        size_t sl = strnlen(lu->serial, sizeof(lu->serial) - 1);
        pad_copy(t + 4, lu->vendor, 8);
        pad_copy(t + 12, lu->product, 16);
        memcpy(t + 28, lu->serial, sl);
        t[3] = (uint8_t)(24 + sl);
        n += 4 + t[3];
        t = d + n;
        t[0] = 0x01;           /* binary */
        t[1] = 0x03;           /* logical unit; type 3: NAA */
        t[3] = 8;
        iop_put_be64(t + 4, lu->naa);
        n += 12;
        break;
    }
    default:
        scsi_bad_field(lu, cmd, false, 2, -1);
        return;
    }
    iop_put_be16(d + 2, (uint16_t)(n - 4));
    scsi_data_in(cmd, d, n, alloc);
}

static void inquiry(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd, bool lun_ok) {
    const uint8_t *c = cmd->cdb;
    size_t alloc = iop_get_be16(c + 3);
    if (c[1] & 0x02) /* CmdDt (obsolete) */
        return scsi_bad_field(lu, cmd, false, 1, 1);
    if (!(c[1] & 0x01)) {
        if (c[2])
            return scsi_bad_field(lu, cmd, false, 2, -1);
        return inquiry_std(lu, cmd, alloc, lun_ok);
    }
    if (!lun_ok)
        return scsi_check(lu, cmd, IOP_SCSI_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED, 0);
    inquiry_vpd(lu, cmd, c[2], alloc);
}

static void report_luns(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd) {
    const uint8_t *c = cmd->cdb;
    uint32_t alloc = iop_get_be32(c + 6);
    if (c[2] > 2)
        return scsi_bad_field(lu, cmd, false, 2, -1);
    if (alloc < 16) /* SPC-3 6.21: less than 16 is an invalid field */
        return scsi_bad_field(lu, cmd, false, 6, -1);
    uint8_t d[16] = { 0 };
    iop_put_be32(d, 8);      /* LUN list length: one LUN */
    d[9] = lu->lun;          /* single level, peripheral device addressing */
    scsi_data_in(cmd, d, sizeof(d), alloc);
}

static void request_sense(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd, bool lun_ok) {
    uint8_t s[IOP_SCSI_SENSE_LEN];
    if (cmd->cdb[1] & 0x01) /* DESC: descriptor format is not supported */
        return scsi_bad_field(lu, cmd, false, 1, 0);
    if (!lun_ok)
        iop_scsi_sense_fixed(s, IOP_SCSI_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED, 0);
    else if (lu->sense_pending)
        memcpy(s, lu->sense, sizeof(s));
    else if (lu->stopped)
        iop_scsi_sense_fixed(s, IOP_SCSI_NOT_READY, ASC_NOT_READY, 0x02);
    else
        iop_scsi_sense_fixed(s, IOP_SCSI_NO_SENSE, ASC_NONE, 0);
    lu->sense_pending = false;
    scsi_data_in(cmd, s, sizeof(s), cmd->cdb[4]);
}

/* LOG SENSE: the supported pages page and a temperature page (SPC-3 7.2.13). */
static void log_sense(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd) {
    const uint8_t *c = cmd->cdb;
    uint8_t page = c[2] & 0x3F, pc = c[2] >> 6;
    uint16_t alloc = iop_get_be16(c + 7);
    if (c[1] & 0x03) /* PPC, SP: no saved parameters */
        return scsi_bad_field(lu, cmd, false, 1, c[1] & 0x01 ? 0 : 1);
    if (c[3] || iop_get_be16(c + 5))
        return scsi_bad_field(lu, cmd, false, c[3] ? 3 : 5, -1);
    uint8_t d[32] = { 0 };
    size_t n = 4;
    d[0] = page;
    if (page == 0x00) {
        d[n++] = 0x00;
        d[n++] = 0x0D;
    } else if (page == 0x0D) {
        /* 0000h temperature, 0001h reference temperature, degrees Celsius */
        static const uint8_t params[] = { 0x00, 0x00, 0x03, 0x02, 0x00, 35, 0x00, 0x01, 0x03, 0x02, 0x00, 60 };
        memcpy(d + n, params, sizeof(params));
        if (pc == 0 || pc == 2) /* threshold values: none */
            d[n + 5] = d[n + 11] = 0xFF;
        n += sizeof(params);
    } else {
        return scsi_bad_field(lu, cmd, false, 2, 5);
    }
    iop_put_be16(d + 2, (uint16_t)(n - 4));
    scsi_data_in(cmd, d, n, alloc);
}

/* ---- media ---- */

static void read_capacity(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd, bool sixteen) {
    const uint8_t *c = cmd->cdb;
    uint64_t last = lu->blocks ? lu->blocks - 1 : 0;
    if (sixteen) {
        if ((c[1] & 0x1F) != 0x10) /* READ CAPACITY(16) is service action 10h */
            return scsi_bad_field(lu, cmd, false, 1, 4);
        if (!(c[14] & 0x01) && iop_get_be64(c + 2))
            return scsi_bad_field(lu, cmd, false, 2, -1);
        uint8_t d[32] = { 0 };
        iop_put_be64(d, last);
        iop_put_be32(d + 8, lu->block_size);
        return scsi_data_in(cmd, d, sizeof(d), iop_get_be32(c + 10));
    }
    if (!(c[8] & 0x01) && iop_get_be32(c + 2)) /* an LBA without PMI */
        return scsi_bad_field(lu, cmd, false, 2, -1);
    uint8_t d[8];
    iop_put_be32(d, last > 0xFFFFFFFEu ? 0xFFFFFFFFu : (uint32_t)last);
    iop_put_be32(d + 4, lu->block_size);
    scsi_data_in(cmd, d, sizeof(d), sizeof(d));
}

static void media_rw(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd, const struct rw *rw) {
    if (rw->protect) /* no protection information */
        return scsi_bad_field(lu, cmd, false, 1, 7);
    if (rw->lba > lu->blocks || rw->blocks > lu->blocks - rw->lba)
        return scsi_check(lu, cmd, IOP_SCSI_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
    if (lu->stopped)
        return scsi_check(lu, cmd, IOP_SCSI_NOT_READY, ASC_NOT_READY, 0x02);
    uint64_t off = rw->lba * lu->block_size, len = (uint64_t)rw->blocks * lu->block_size;
    if (len == 0)
        return;
    if (len > IOP_SCSI_MAX_XFER)
        return scsi_bad_field(lu, cmd, false, cmd->cdb[0] == 0x08 || cmd->cdb[0] == 0x0A ? 4 : 7, -1);
    if (rw->verify && !rw->bytchk) {
        /* Medium verification: read it all back in pieces that fit data_in... no
         * buffer is needed, the medium read reports errors itself. */
        uint8_t chunk[4096];
        for (uint64_t done = 0; done < len; done += sizeof(chunk)) {
            size_t n = len - done < sizeof(chunk) ? (size_t)(len - done) : sizeof(chunk);
            if (lu->medium.read(lu->medium.ctx, off + done, chunk, n) < 0)
                return scsi_check(lu, cmd, IOP_SCSI_MEDIUM_ERROR, ASC_READ_ERROR, 0);
        }
        return;
    }
    if (rw->write || rw->verify) {
        if (cmd->data_out_len < len) { /* the initiator sent less than the CDB says */
            cmd->overrun = true;
            return;
        }
        cmd->data_out_used = (size_t)len;
        if (rw->write) {
            if (lu->medium.write(lu->medium.ctx, off, cmd->data_out, (size_t)len) < 0)
                return scsi_check(lu, cmd, IOP_SCSI_MEDIUM_ERROR, ASC_WRITE_ERROR, 0);
            if (!lu->wce && lu->medium.sync && lu->medium.sync(lu->medium.ctx) < 0)
                return scsi_check(lu, cmd, IOP_SCSI_MEDIUM_ERROR, ASC_WRITE_ERROR, 0);
            return;
        }
        /* VERIFY with BYTCHK: compare block by block. */
        uint8_t chunk[4096];
        for (uint64_t done = 0; done < len; done += sizeof(chunk)) {
            size_t n = len - done < sizeof(chunk) ? (size_t)(len - done) : sizeof(chunk);
            if (lu->medium.read(lu->medium.ctx, off + done, chunk, n) < 0)
                return scsi_check(lu, cmd, IOP_SCSI_MEDIUM_ERROR, ASC_READ_ERROR, 0);
            if (memcmp(chunk, cmd->data_out + done, n) != 0)
                return scsi_check(lu, cmd, IOP_SCSI_MISCOMPARE, ASC_MISCOMPARE, 0);
        }
        return;
    }
    if (cmd->data_in_cap < len) {
        cmd->overrun = true;
        return;
    }
    if (lu->medium.read(lu->medium.ctx, off, cmd->data_in, (size_t)len) < 0)
        return scsi_check(lu, cmd, IOP_SCSI_MEDIUM_ERROR, ASC_READ_ERROR, 0);
    cmd->data_in_len = (size_t)len;
}

static void sync_cache(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd, bool sixteen) {
    const uint8_t *c = cmd->cdb;
    uint64_t lba = sixteen ? iop_get_be64(c + 2) : iop_get_be32(c + 2);
    uint64_t n = sixteen ? iop_get_be32(c + 10) : iop_get_be16(c + 7);
    if (lba > lu->blocks || n > lu->blocks - lba)
        return scsi_check(lu, cmd, IOP_SCSI_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
    if (lu->stopped)
        return scsi_check(lu, cmd, IOP_SCSI_NOT_READY, ASC_NOT_READY, 0x02);
    if (lu->medium.sync && lu->medium.sync(lu->medium.ctx) < 0)
        return scsi_check(lu, cmd, IOP_SCSI_MEDIUM_ERROR, ASC_WRITE_ERROR, 0);
}

static void start_stop(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd) {
    const uint8_t *c = cmd->cdb;
    if (c[4] & 0xF0) /* power conditions other than START_VALID */
        return scsi_bad_field(lu, cmd, false, 4, 4);
    if (c[4] & 0x02) /* LOEJ: the medium is not removable */
        return scsi_bad_field(lu, cmd, false, 4, 1);
    lu->stopped = !(c[4] & 0x01);
    if (!lu->stopped)
        lu->sense_pending = false;
}

static void disk_command(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd) {
    const uint8_t *c = cmd->cdb;
    struct rw rw;
    if (decode_rw(c, &rw))
        return media_rw(lu, cmd, &rw);
    switch (c[0]) {
    case 0x15: return scsi_mode_select(lu, cmd, false);
    case 0x1A: return scsi_mode_sense(lu, cmd, false);
    case 0x1B: return start_stop(lu, cmd);
    case 0x25: return read_capacity(lu, cmd, false);
    case 0x35: return sync_cache(lu, cmd, false);
    case 0x55: return scsi_mode_select(lu, cmd, true);
    case 0x5A: return scsi_mode_sense(lu, cmd, true);
    case 0x91: return sync_cache(lu, cmd, true);
    case 0x9E: return read_capacity(lu, cmd, true);
    }
    scsi_check(lu, cmd, IOP_SCSI_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
}

void iop_scsi_exec(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd) {
    assert(lu && cmd);
    cmd->status = IOP_SCSI_GOOD;
    cmd->data_in_len = cmd->data_out_used = cmd->sense_len = 0;
    cmd->overrun = false;
    if (!cmd->data_in)
        cmd->data_in_cap = 0;
    if (!cmd->data_out)
        cmd->data_out_len = 0;
    lu->commands++;
    if (!cmd->cdb || cmd->cdb_len == 0)
        return scsi_check(lu, cmd, IOP_SCSI_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
    const uint8_t *c = cmd->cdb;
    size_t need = cdb_len_of(c[0]);
    if (need == 0)
        return scsi_check(lu, cmd, IOP_SCSI_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
    if (cmd->cdb_len < need) /* the CDB ends before its fields */
        return scsi_bad_field(lu, cmd, false, (unsigned)cmd->cdb_len, -1);
    if (c[need - 1] & 0x07) /* CONTROL: NACA (bit 2) and the obsolete FLAG/LINK bits */
        return scsi_bad_field(lu, cmd, false, (unsigned)need - 1, -1);
    bool lun_ok = need != 6 || (c[1] >> 5) == lu->lun;
    switch (c[0]) {
    case 0x12: return inquiry(lu, cmd, lun_ok);
    case 0x03: return request_sense(lu, cmd, lun_ok);
    case 0xA0: return report_luns(lu, cmd);
    }
    if (!lun_ok)
        return scsi_check(lu, cmd, IOP_SCSI_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED, 0);
    switch (c[0]) {
    case 0x00: /* TEST UNIT READY */
        if (lu->type == IOP_SCSI_TYPE_DISK && lu->stopped)
            return scsi_check(lu, cmd, IOP_SCSI_NOT_READY, ASC_NOT_READY, 0x02);
        return;
    case 0x4D: return log_sense(lu, cmd);
    }
    if (lu->type != IOP_SCSI_TYPE_DISK)
        return scsi_check(lu, cmd, IOP_SCSI_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
    disk_command(lu, cmd);
}
