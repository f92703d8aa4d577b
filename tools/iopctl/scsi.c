/* iopctl scsi: one SCSI CDB to a TID as DPT's private SCSI_EXEC message (function
 * 0xFF, organisation 0x001B, XFunctionCode 0x81), laid out as dpt_i2o's
 * adpt_scsi_to_i2o() builds it (lib/i2o/dpt-msg.h), through I2OPASSTHRU.  Prints the
 * SCSI status, the HBA status, the transfer count and residual, the sense data, and the
 * data read. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/i2o-dev.h>

#include "lib/i2o/dpt-msg.h"
#include "lib/scsi/scsi.h"
#include "tools/iopctl/iopctl.h"

#define SGL_SIMPLE_LAST 0xD0000000u /* simple, end of buffer, last element */
#define SGL_TO_IOP 0x04000000u

static const char usage_text[] =
    "scsi IOP TID CDB-BYTE... [--in LEN] [--out FILE] [--data-out FILE] [--no-autosense]";

static const char *key_name(unsigned key) {
    static const char *const names[16] = {
        "NO SENSE", "RECOVERED ERROR", "NOT READY", "MEDIUM ERROR", "HARDWARE ERROR", "ILLEGAL REQUEST",
        "UNIT ATTENTION", "DATA PROTECT", "BLANK CHECK", "VENDOR SPECIFIC", "COPY ABORTED", "ABORTED COMMAND",
        "EQUAL", "VOLUME OVERFLOW", "MISCOMPARE", "RESERVED",
    };
    return names[key & 0xF];
}

static const char *hba_name(unsigned hba) {
    switch (hba) {
    case IOP_DPT_HBA_SUCCESS: return "success";
    case IOP_DPT_HBA_REQUEST_INVALID: return "request invalid";
    case IOP_DPT_HBA_SELECTION_TIMEOUT: return "selection timeout";
    case IOP_DPT_HBA_DATA_OVERRUN: return "data overrun";
    case IOP_DPT_HBA_REQUEST_LENGTH_ERROR: return "request length error";
    }
    return "error";
}

static void hex(const uint8_t *b, size_t n, const char *sep) {
    for (size_t i = 0; i < n; i++)
        printf("%02x%s", b[i], sep && (i + 1) % 32 == 0 && i + 1 < n ? sep : "");
}

int iopctl_cmd_scsi(struct iopctl *ctl, int argc, char **argv) {
    static const struct option opts[] = {
        { "in", required_argument, NULL, 'i' },
        { "out", required_argument, NULL, 'o' },
        { "data-out", required_argument, NULL, 'd' },
        { "no-autosense", no_argument, NULL, 'n' },
        {}
    };
    const char *out_file = NULL, *data_file = NULL;
    uint32_t in_len = 0, iop, tid;
    bool autosense = true;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "i:o:d:n", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            /* The message's byte count could say 16 MiB (IOP_SCSI_MAX_XFER), its SG element not. */
            if (iopctl_parse_u32(optarg, IOPCTL_SG_COUNT_MAX, &in_len) < 0)
                return iopctl_usage("%s (--in: at most %u bytes, what one SG element holds)", usage_text,
                                    IOPCTL_SG_COUNT_MAX);
            break;
        case 'o': out_file = optarg; break;
        case 'd': data_file = optarg; break;
        case 'n': autosense = false; break;
        default: return iopctl_usage("%s", usage_text);
        }
    }
    int rest = argc - optind;
    char **a = argv + optind;
    uint8_t cdb[16] = { 0 };
    if (rest < 3 || rest > 2 + 16 || iopctl_parse_u32(a[0], UINT32_MAX, &iop) < 0 ||
        iopctl_parse_u32(a[1], 0xFFF, &tid) < 0 || (in_len && data_file))
        return iopctl_usage("%s (one CDB of 1-16 bytes; --in and --data-out exclude each other)", usage_text);
    unsigned cdb_len = (unsigned)rest - 2;
    for (unsigned i = 0; i < cdb_len; i++) {
        uint32_t v;
        if (iopctl_parse_u32(a[2 + i], 0xFF, &v) < 0)
            return iopctl_usage("%s", usage_text);
        cdb[i] = (uint8_t)v;
    }
    uint8_t *data = NULL;
    size_t data_len = 0;
    if (data_file && iopctl_read_file32(data_file, &data, &data_len) != IOPCTL_OK)
        return IOPCTL_FAILED;
    if (in_len && !(data = iopctl_map32(data_len = in_len)))
        return iopctl_fail("mmap", errno);
    uint32_t *msg = iopctl_map32((16 + IOP_DPT_REPLY_WORDS) * 4);
    int ret = IOPCTL_FAILED;
    if (!msg) {
        ret = iopctl_fail("mmap", errno);
        goto done;
    }
    unsigned words = data_len ? IOP_DPT_SCSI_WORDS + 2 : IOP_DPT_SCSI_WORDS;
    memset(msg, 0, (16 + IOP_DPT_REPLY_WORDS) * 4);
    msg[0] = words << 16 | (data_len ? IOP_DPT_SCSI_WORDS << 4 : 0) | 0x01;
    msg[1] = 0xFFu << 24 | 1u << 12 | tid;
    msg[2] = 0x69706f70;
    msg[4] = IOP_DPT_ORG_ID << 16 | IOP_DPT_XFN_SCSI_EXEC;
    msg[5] = tid | (tid == 0 ? 1u << 16 : 0); /* the controller: Interpret */
    uint32_t flags = 0x2000 | 0x0080 | (autosense ? 0x0020 : 0); /* disconnect, simple tag */
    if (data_len)
        flags |= in_len ? IOP_DPT_SCB_FROM_DEVICE : IOP_DPT_SCB_TO_DEVICE;
    msg[6] = flags << 16 | cdb_len;
    memcpy(msg + 7, cdb, 16); /* the CDB in memory order, as dpt_i2o copies it */
    msg[11] = (uint32_t)data_len;
    if (data_len) {
        msg[12] = SGL_SIMPLE_LAST | (in_len ? 0 : SGL_TO_IOP) | (uint32_t)data_len;
        msg[13] = (uint32_t)(uintptr_t)data;
    }
    uint32_t *reply = msg + words;
    reply[0] = IOP_DPT_REPLY_WORDS << 16;
    struct i2o_cmd_passthru pt = { .iop = iop, .msg = msg };
    int r = ioctl(ctl->fd, I2OPASSTHRU, &pt);
    if (r < 0) {
        ret = iopctl_fail("I2OPASSTHRU", errno);
        goto done;
    }
    unsigned req = reply[4] >> 24, hba = reply[4] >> 8 & 0xFF, status = reply[4] & 0xFF;
    uint32_t count = reply[5], sense_len = (reply[0] >> 16) >= IOP_DPT_REPLY_WORDS ? reply[6] : 0;
    uint8_t sense[IOP_DPT_SENSE_BYTES];
    memcpy(sense, reply + 7, sizeof(sense));
    if (sense_len > sizeof(sense))
        sense_len = sizeof(sense);
    size_t got = in_len && r == 0 && count <= in_len ? count : 0;
    if (ctl->json) {
        printf("{\"iop\":%u,\"tid\":%u,\"result\":%d,\"req_status\":%u,\"hba_status\":%u,\"scsi_status\":%u,"
               "\"transfer_count\":%u,\"residual\":%lld,\"sense\":\"",
               iop, tid, r, req, hba, status, count, (long long)data_len - (long long)count);
        hex(sense, sense_len, NULL);
        printf("\"");
        if (sense_len >= 14)
            printf(",\"sense_key\":%u,\"asc\":%u,\"ascq\":%u", sense[2] & 0xF, sense[12], sense[13]);
        if (in_len && !out_file) {
            printf(",\"data\":\"");
            hex(data, got, NULL);
            printf("\"");
        }
        printf("}\n");
    } else {
        printf("status 0x%02x (%s), HBA status 0x%02x (%s), ReqStatus 0x%02x, %u of %zu bytes moved\n", status,
               status == IOP_SCSI_GOOD ? "GOOD" : status == IOP_SCSI_CHECK_CONDITION ? "CHECK CONDITION" : "other",
               hba, hba_name(hba), req, count, data_len);
        if (sense_len >= 14)
            printf("sense: key 0x%x %s, ASC 0x%02x, ASCQ 0x%02x\n", sense[2] & 0xF, key_name(sense[2]), sense[12],
                   sense[13]);
        if (got && !out_file) {
            hex(data, got, "\n");
            printf("\n");
        }
    }
    /* --out holds exactly the bytes moved: with none, an empty file, not an old file's bytes. */
    if (in_len && out_file && iopctl_write_file(out_file, data, got) != IOPCTL_OK)
        goto done;
    ret = r == 0 && req == 0 && hba == 0 && status == IOP_SCSI_GOOD ? IOPCTL_OK : IOPCTL_FAILED;
done:
    if (msg)
        munmap(msg, (16 + IOP_DPT_REPLY_WORDS) * 4);
    if (data)
        munmap(data, data_len ? data_len : 1);
    return ret;
}
