/* The built-in configuration's IOP as a DPT SCSI RAID controller, message by message
 * (what I2OPASSTHRU posts): SCSI_EXEC to the disks and the controller, one medium for
 * BSA and SCSI, missing targets, HBA-level refusals, the DPT and SCSI parameter groups
 * by UtilParamsGet, ExecStatusGet through an SGL. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config/config.h"
#include "lib/i2o/bsa.h"
#include "lib/i2o/dpt-msg.h"
#include "lib/i2o/iop.h"
#include "lib/i2o/msg.h"
#include "lib/scsi/scsi.h"
#include "lib/util/bytes.h"
#include "testutil.h"

static struct iop_system *sys;
static struct iop_controller *c;

static void build(void) {
    struct iop_config *cfg;
    CHECK_EQ(iop_config_parse(iop_config_default_json, strlen(iop_config_default_json), "<built-in>", &cfg, NULL), 0);
    CHECK_EQ(iop_system_new_from_config(cfg, &sys), 0);
    iop_config_free(cfg);
    c = sys->iop[0];
}

static uint32_t frame[32], reply[32];
static struct iop_msg_sg sg[4];
static struct iop_msg m;
static uint8_t data[2][64 * 1024];

/* Post frame (words) with n_sg elements of the given lengths/directions over data[]. */
static int post(unsigned words, unsigned n_sg, const uint32_t *lens, const bool *to_iop) {
    memset(reply, 0, sizeof(reply));
    for (unsigned i = 0; i < n_sg; i++)
        sg[i] = (struct iop_msg_sg){ .data = data[i], .len = lens[i], .to_iop = to_iop[i] };
    m = (struct iop_msg){ .frame = frame, .words = words, .sg_offset = n_sg ? words - 2 * n_sg : 0, .sg = sg,
                          .n_sg = n_sg, .reply = reply, .reply_words = 32 };
    return iop_controller_post(c, &m);
}

/* A DPT SCSI_EXEC as adpt_scsi_to_i2o() builds it: one data element (len 0: none). */
static int scsi(unsigned target, unsigned tid, const uint8_t *cdb, unsigned cdb_len, unsigned dir, uint32_t len) {
    memset(frame, 0, sizeof(frame));
    uint8_t cdb16[16] = { 0 };
    memcpy(cdb16, cdb, cdb_len);
    unsigned words = len ? 14 : 12;
    frame[0] = words << 16 | (len ? 12u << 4 : 0) | 1;
    frame[1] = 0xFFu << 24 | 1u << 12 | target;
    frame[3] = 0x5555;
    frame[4] = IOP_DPT_ORG_ID << 16 | IOP_DPT_XFN_SCSI_EXEC;
    frame[5] = tid | (target == 0 ? 1u << 16 : 0);
    frame[6] = (dir == 1 ? 0x40000000u : dir == 2 ? 0x80000000u : 0) | 0x20a00000u | cdb_len;
    for (unsigned i = 0; i < 4; i++)
        frame[7 + i] = iop_get_le32(cdb16 + 4 * i);
    frame[11] = len;
    frame[12] = 0xD0000000u | (dir == 2 ? 0x04000000u : 0) | len;
    frame[13] = 0x1000;
    bool to = dir == 2;
    return post(words, len ? 1 : 0, &len, &to);
}

static void test_inquiry(void) {
    const uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 };
    CHECK_EQ(scsi(0x00a, 0x00a, inq, 6, 1, 96), IOP_REPLY_SUCCESS);
    CHECK_EQ(reply[0] >> 16, 6);
    CHECK_EQ(reply[3], 0x5555);
    CHECK_EQ(reply[4], 0);  /* ReqStatus 0, HBA 0, SCSI GOOD */
    CHECK_EQ(reply[5], 36); /* TransferCount: dpt_i2o's resid = 96 - 36 */
    CHECK_EQ(sg[0].done, 36);
    CHECK_EQ(data[0][0], 0x00);
    CHECK_MEMEQ(data[0] + 8, "iopd    ", 8);
    /* The controller itself, as adpt_inquiry() asks (TID 0, Interpret). */
    CHECK_EQ(scsi(0x000, 0x000, inq, 6, 1, 36), IOP_REPLY_SUCCESS);
    CHECK_EQ(data[0][0], 0x03);
    CHECK_MEMEQ(data[0] + 16, "iopd simulated I", 16);
    /* The SCSI peripheral (physical disk) answers too. */
    CHECK_EQ(scsi(0x00e, 0x00e, inq, 6, 1, 36), IOP_REPLY_SUCCESS);
    CHECK_EQ(reply[5], 36);
}

/* The IOPs a configuration text gives. */
static struct iop_system *system_of(const char *json) {
    struct iop_config *cfg;
    struct iop_system *s = NULL;
    CHECK_EQ(iop_config_parse(json, strlen(json), "<test>", &cfg, NULL), 0);
    CHECK_EQ(iop_system_new_from_config(cfg, &s), 0);
    iop_config_free(cfg);
    return s;
}

/* A disk's unit serial number (VPD page 80h) when none is configured: what printf's
 * "IOPD%02u%03X%u" makes of unit, TID and LUN (attach formats it by hand: it runs for
 * every disk at start). */
static void test_default_serial(void) {
    static const char json[] =
        "{ \"iops\": [ { \"unit\": 17, \"devices\": ["
        " { \"tid\": \"0xabc\", \"class\": \"block-storage\", \"blocks\": 64, \"scsi_lun\": 5 },"
        " { \"tid\": 16, \"class\": \"scsi-peripheral\", \"blocks\": 64 } ] } ] }";
    struct iop_system *s = system_of(json);
    unsigned disks = 0;
    for (unsigned i = 0; i < s->iop[17]->n_dev; i++) {
        const struct iop_device *d = s->iop[17]->dev[i];
        if (!d->scsi || d->tid == 0)
            continue;
        char want[64];
        snprintf(want, sizeof(want), "IOPD%02u%03X%u", 17u, d->tid, d->scsi_lun);
        CHECK_STREQ(d->scsi->serial, want);
        disks++;
    }
    CHECK_EQ(disks, 2);
    iop_system_free(s);
}

/* A configured identity reaches the SCSI target: INQUIRY's vendor, product and
 * revision and the unit serial number (VPD 80h), cut to SCSI's sizes.  The second disk
 * has configured parameter values, so its groups are built at load and attach reads
 * them (the first reads the deferred strings); both must give the same. */
static void test_configured_identity(void) {
    static const char json[] =
        "{ \"iops\": [ { \"unit\": 3, \"devices\": ["
        " { \"tid\": 16, \"class\": \"block-storage\", \"blocks\": 64,"
        "   \"vendor_info\": \"ExampleCorp\", \"product_info\": \"A product, long!\","
        "   \"revision\": \"2.10b\", \"serial\": \"SN0123456789abcdefghijklmnopqrstuvwxyz\" },"
        " { \"tid\": 17, \"class\": \"block-storage\", \"blocks\": 64,"
        "   \"vendor_info\": \"ExampleCorp\", \"product_info\": \"A product, long!\","
        "   \"revision\": \"2.10b\", \"serial\": \"SN0123456789abcdefghijklmnopqrstuvwxyz\","
        "   \"params\": { \"0xF102\": { \"DeviceName\": \"disk17\" } } },"
        " { \"tid\": 18, \"class\": \"block-storage\", \"blocks\": 64, \"serial\": \"S18\" } ] } ] }";
    struct iop_system *s = system_of(json);
    const struct iop_controller *ctl = s->iop[3];
    CHECK(ctl != NULL);
    for (unsigned i = 0; ctl && i < ctl->n_dev; i++) {
        const struct iop_device *d = ctl->dev[i];
        if (d->tid < 16)
            continue;
        CHECK(d->scsi != NULL);
        if (!d->scsi)
            continue;
        CHECK_EQ(d->params != NULL, d->tid == 17);
        if (d->tid == 18) {
            CHECK_STREQ(d->scsi->serial, "S18");
            CHECK_STREQ(d->scsi->vendor, "iopd");
            continue;
        }
        CHECK_STREQ(d->scsi->vendor, "ExampleC");
        CHECK_STREQ(d->scsi->product, "A product, long!");
        CHECK_STREQ(d->scsi->revision, "2.10");
        CHECK_STREQ(d->scsi->serial, "SN0123456789abcdefghijklmnopqrst");
    }
    iop_system_free(s);
}

static void test_one_medium(void) {
    /* SCSI WRITE(10) of 8 blocks at LBA 40, then BsaBlockRead of the same bytes. */
    for (unsigned i = 0; i < 4096; i++)
        data[0][i] = (uint8_t)(i * 13 + 1);
    uint8_t wr[10] = { 0x2A, 0, 0, 0, 0, 40, 0, 0, 8, 0 };
    CHECK_EQ(scsi(0x00a, 0x00a, wr, 10, 2, 4096), IOP_REPLY_SUCCESS);
    CHECK_EQ(reply[4], 0);
    CHECK_EQ(reply[5], 4096);
    uint8_t want[4096];
    memcpy(want, data[0], sizeof(want));
    memset(frame, 0, sizeof(frame));
    frame[0] = 10u << 16 | 8u << 4 | 1;
    frame[1] = IOP_FN_BSA_BLOCK_READ << 24 | 1u << 12 | 0x00a;
    frame[5] = 4096;
    frame[6] = 40 * 512;
    frame[8] = 0xD0000000u | 4096;
    uint32_t len = 4096;
    bool to = false;
    memset(data[0], 0, 4096);
    CHECK_EQ(post(10, 1, &len, &to), IOP_REPLY_SUCCESS);
    CHECK_MEMEQ(data[0], want, 4096);
    /* And back: READ(16) sees the same bytes. */
    uint8_t rd[16] = { 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 40, 0, 0, 0, 8, 0, 0 };
    memset(data[0], 0, 4096);
    CHECK_EQ(scsi(0x00a, 0x00a, rd, 16, 1, 4096), IOP_REPLY_SUCCESS);
    CHECK_MEMEQ(data[0], want, 4096);
    /* READ CAPACITY: the configured 2048 blocks of 512. */
    const uint8_t cap[10] = { 0x25 };
    CHECK_EQ(scsi(0x00a, 0x00a, cap, 10, 1, 8), IOP_REPLY_SUCCESS);
    CHECK_EQ(iop_get_be32(data[0]), 2047);
    CHECK_EQ(iop_get_be32(data[0] + 4), 512);
    CHECK_EQ(scsi(0x00e, 0x00e, cap, 10, 1, 8), IOP_REPLY_SUCCESS);
    CHECK_EQ(iop_get_be32(data[0]), 4095);
}

static void test_check_condition(void) {
    const uint8_t bad[6] = { 0x02 };
    CHECK_EQ(scsi(0x00a, 0x00a, bad, 6, 0, 0), IOP_REPLY_SUCCESS);
    CHECK_EQ(reply[0] >> 16, IOP_DPT_REPLY_WORDS);
    CHECK_EQ(reply[4], IOP_SCSI_CHECK_CONDITION); /* HBA success, CHECK CONDITION */
    CHECK_EQ(reply[6], IOP_SCSI_SENSE_LEN);
    uint8_t s[40];
    for (unsigned i = 0; i < 10; i++)
        iop_put_le32(s + 4 * i, reply[7 + i]);
    CHECK_EQ(s[0], 0x70);
    CHECK_EQ(s[2], IOP_SCSI_ILLEGAL_REQUEST);
    CHECK_EQ(s[12], 0x20);
    /* Without autosense the sense waits for REQUEST SENSE. */
    frame[6] &= ~0x00200000u;
    CHECK_EQ(post(12, 0, NULL, NULL), IOP_REPLY_SUCCESS);
    CHECK_EQ(reply[4], IOP_SCSI_CHECK_CONDITION);
    CHECK_EQ(reply[0] >> 16, 6);
    const uint8_t rs[6] = { 0x03, 0, 0, 0, 18, 0 };
    CHECK_EQ(scsi(0x00a, 0x00a, rs, 6, 1, 18), IOP_REPLY_SUCCESS);
    CHECK_EQ(data[0][2], IOP_SCSI_ILLEGAL_REQUEST);
    CHECK_EQ(data[0][12], 0x20);
}

static void test_missing_targets(void) {
    const uint8_t tur[6] = { 0 };
    /* No such TID: selection timeout, ReqStatus error. */
    CHECK_EQ(scsi(0x123, 0x123, tur, 6, 0, 0), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ(reply[4], (uint32_t)IOP_REPLY_ERROR_NO_DATA_TRANSFER << 24 | IOP_DPT_HBA_SELECTION_TIMEOUT << 8);
    /* A TID without a SCSI target (the LAN port, the SCSI port itself). */
    CHECK_EQ(scsi(0x00b, 0x00b, tur, 6, 0, 0), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ(reply[4] >> 8 & 0xFF, IOP_DPT_HBA_SELECTION_TIMEOUT);
    CHECK_EQ(scsi(0x00d, 0x00d, tur, 6, 0, 0), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    /* Through the controller to a missing TID, and a frame whose target and TID differ. */
    CHECK_EQ(scsi(0x000, 0x0ff, tur, 6, 0, 0), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ(reply[4] >> 8 & 0xFF, IOP_DPT_HBA_SELECTION_TIMEOUT);
    CHECK_EQ(scsi(0x00a, 0x00e, tur, 6, 0, 0), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ(reply[4] >> 8 & 0xFF, IOP_DPT_HBA_REQUEST_INVALID);
    /* A missing LUN (6-byte CDB, LUN 2): the target's own answer. */
    const uint8_t inq[6] = { 0x12, 0x40, 0, 0, 36, 0 };
    CHECK_EQ(scsi(0x00a, 0x00a, inq, 6, 1, 36), IOP_REPLY_SUCCESS);
    CHECK_EQ(data[0][0], 0x7F);
}

static void test_hba_refusals(void) {
    /* ByteCount larger than the SGL. */
    const uint8_t rd[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 4, 0 };
    scsi(0x00a, 0x00a, rd, 10, 1, 2048);
    frame[11] = 4096;
    CHECK_EQ(post(14, 1, (uint32_t[]){ 2048 }, (bool[]){ false }), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ(reply[4] >> 8 & 0xFF, IOP_DPT_HBA_REQUEST_LENGTH_ERROR);
    /* Blocks that do not fit the buffer: data overrun, nothing moved. */
    CHECK_EQ(scsi(0x00a, 0x00a, rd, 10, 1, 1024), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ(reply[4] >> 8 & 0xFF, IOP_DPT_HBA_DATA_OVERRUN);
    CHECK_EQ(reply[5], 0);
    /* Direction "to device" for a read: the target sees no room. */
    CHECK_EQ(scsi(0x00a, 0x00a, rd, 10, 2, 2048), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ(reply[4] >> 8 & 0xFF, IOP_DPT_HBA_DATA_OVERRUN);
    /* A CDB length of 0 and a short frame. */
    scsi(0x00a, 0x00a, rd, 10, 0, 0);
    frame[6] &= ~0xFFu;
    CHECK_EQ(post(12, 0, NULL, NULL), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ(reply[4] >> 8 & 0xFF, IOP_DPT_HBA_REQUEST_INVALID);
    CHECK_EQ(post(8, 0, NULL, NULL), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ(reply[4] & 0xFFFF, IOP_DSC_MESSAGE_TOO_SMALL);
    /* Another organisation's private function: an unknown function, as before. */
    frame[4] = 0x1234u << 16 | 0x81;
    CHECK_EQ(post(12, 0, NULL, NULL), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ(reply[4] & 0xFFFF, IOP_DSC_UNKNOWN_FUNCTION);
}

/* UtilParamsGet of a whole scalar group, as adpt_i2o_query_scalar(). */
static int query(unsigned tid, uint16_t group, uint8_t *out, uint32_t cap) {
    memset(frame, 0, sizeof(frame));
    frame[0] = 9u << 16 | 5u << 4 | 1;
    frame[1] = IOP_FN_UTIL_PARAMS_GET << 24 | 1u << 12 | tid;
    frame[5] = 0x54000000u | 12;
    frame[7] = 0xD0000000u | cap;
    const uint16_t op[6] = { 1, 0, 1 /* FIELD_GET */, group, 0xFFFF, 0 };
    memcpy(data[0], op, sizeof(op));
    int r = post(9, 2, (uint32_t[]){ 12, cap }, (bool[]){ true, false });
    memcpy(out, data[1] + 8, cap - 8);
    return r;
}

static void test_groups(void) {
    uint8_t b[64];
    /* DPT 0x8000 on the disks: bus in word 0's top half, target, LUN at byte 9. */
    CHECK_EQ(query(0x00a, 0x8000, b, 40), IOP_REPLY_SUCCESS);
    CHECK_EQ(reply[5], 4 + 4 + 16);
    CHECK_EQ(iop_get_le16(data[1]), 1); /* ResultCount */
    CHECK_EQ(data[1][6], 0);            /* BlockStatus: success */
    CHECK_EQ(iop_get_le32(b) >> 16, 0);
    CHECK_EQ(iop_get_le32(b + 4), 0);
    CHECK_EQ(query(0x00e, 0x8000, b, 40), IOP_REPLY_SUCCESS);
    CHECK_EQ(iop_get_le32(b + 4), 1);
    CHECK_EQ(b[9], 0);
    /* The SCSI peripheral's 0x0000 SCSI Device Information. */
    CHECK_EQ(query(0x00e, 0x0000, b, 60), IOP_REPLY_SUCCESS);
    CHECK_EQ(iop_get_le32(b + 4), 1);
    /* The SCSI port: 0x0200 word 1 is the initiator id; 0x0000 says SCSI. */
    CHECK_EQ(query(0x00d, 0x0200, b, 40), IOP_REPLY_SUCCESS);
    CHECK_EQ(iop_get_le32(b + 4), 7);
    CHECK_EQ(query(0x00d, 0x0000, b, 40), IOP_REPLY_SUCCESS);
    CHECK_EQ(b[0], 0x01);
    CHECK_MEMEQ(b + 4, "SCSI0", 5);
    /* The identity group dpt_i2o's adpt_i2o_report_hba_unit() prints. */
    uint8_t id[400];
    CHECK_EQ(query(0x00a, 0xF100, id, 336), IOP_REPLY_SUCCESS);
    CHECK_MEMEQ(id + 8, "iopd", 4);
    /* The executive's DPT 0x8000 (no firmware debug buffer). */
    CHECK_EQ(query(0x000, 0x8000, b, 24), IOP_REPLY_SUCCESS);
    CHECK_EQ(iop_get_le32(b + 4), 0);
    /* Without the result element: refused. */
    frame[0] = 7u << 16 | 5u << 4 | 1;
    CHECK_EQ(post(7, 1, (uint32_t[]){ 12 }, (bool[]){ true }), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
}

static void test_status_get(void) {
    memset(frame, 0, sizeof(frame));
    frame[0] = 11u << 16 | 9u << 4 | 1;
    frame[1] = (uint32_t)IOP_FN_EXEC_STATUS_GET << 24 | 1u << 12;
    frame[9] = 0xD0000000u | 88;
    memset(data[0], 0, 88);
    CHECK_EQ(post(11, 1, (uint32_t[]){ 88 }, (bool[]){ false }), IOP_REPLY_SUCCESS);
    CHECK_EQ(iop_get_le16(data[0]), 0x001b); /* org id */
    CHECK_EQ(data[0][10], 0x08);             /* operational */
    CHECK_EQ(data[0][87], 0xFF);             /* SyncByte */
    /* The real layout (addresses in words 6-7, no SGL) cannot be served. */
    frame[0] = 9u << 16;
    CHECK_EQ(post(9, 0, NULL, NULL), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
}

int main(void) {
    build();
    if (!c)
        return test_summary();
    TEST(test_inquiry);
    TEST(test_default_serial);
    TEST(test_configured_identity);
    TEST(test_one_medium);
    TEST(test_check_condition);
    TEST(test_missing_targets);
    TEST(test_hba_refusals);
    TEST(test_groups);
    TEST(test_status_get);
    iop_system_free(sys);
    return test_summary();
}
