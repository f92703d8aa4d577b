/* The SCSI target model without a kernel: every command, its sense data, boundaries
 * and hostile CDBs / allocation lengths, on an in-memory disk. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/scsi/scsi.h"
#include "lib/util/bytes.h"
#include "testutil.h"

#define BLOCKS 1024u
#define BS 512u

static uint8_t media[BLOCKS * BS];
static int syncs, fail_reads;
static struct iop_scsi_lu lu;

static int m_read(void *ctx, uint64_t off, void *buf, size_t len) {
    (void)ctx;
    if (fail_reads || off + len > sizeof(media))
        return -EIO;
    memcpy(buf, media + off, len);
    return 0;
}
static int m_write(void *ctx, uint64_t off, const void *buf, size_t len) {
    (void)ctx;
    if (off + len > sizeof(media))
        return -EIO;
    memcpy(media + off, buf, len);
    return 0;
}
static int m_sync(void *ctx) {
    (void)ctx;
    syncs++;
    return 0;
}

static void setup(uint8_t type) {
    memset(&lu, 0, sizeof(lu));
    lu.type = type;
    lu.blocks = BLOCKS;
    lu.block_size = BS;
    strcpy(lu.vendor, "iopd");
    strcpy(lu.product, "Test disk");
    strcpy(lu.revision, "1.0");
    strcpy(lu.serial, "SN0042");
    lu.naa = 0x3000000000001234ull;
    lu.medium = (struct iop_scsi_medium){ m_read, m_write, m_sync, NULL };
    CHECK_EQ(iop_scsi_lu_init(&lu), 0);
    fail_reads = 0;
}

static uint8_t in[256 * 1024];
static struct iop_scsi_cmd cmd;

/* Run a CDB with data out (may be NULL) and room for cap bytes in. */
static uint8_t run(const uint8_t *cdb, size_t len, const void *out, size_t out_len, size_t cap) {
    memset(in, 0xEE, sizeof(in));
    cmd = (struct iop_scsi_cmd){ .cdb = cdb, .cdb_len = len, .data_out = out, .data_out_len = out_len,
                                 .data_in = in, .data_in_cap = cap, .autosense = true };
    iop_scsi_exec(&lu, &cmd);
    CHECK(cmd.data_in_len <= cap);
    CHECK(cap == sizeof(in) || in[cap] == 0xEE); /* never past the buffer */
    return cmd.status;
}
#define RUN(out, out_len, cap, ...)                                                           \
    run((const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }), out, out_len, cap)

/* The last command's sense: key/asc/ascq. */
static int sense(uint8_t key, uint8_t asc, uint8_t ascq) {
    return cmd.status == IOP_SCSI_CHECK_CONDITION && cmd.sense_len == IOP_SCSI_SENSE_LEN && cmd.sense[0] == 0x70 &&
           cmd.sense[2] == key && cmd.sense[7] == 10 && cmd.sense[12] == asc && cmd.sense[13] == ascq;
}

static void test_tur_start_stop(void) {
    setup(IOP_SCSI_TYPE_DISK);
    CHECK_EQ(RUN(NULL, 0, 0, 0x00, 0, 0, 0, 0, 0), IOP_SCSI_GOOD);
    CHECK_EQ(cmd.sense_len, 0);
    CHECK_EQ(RUN(NULL, 0, 0, 0x1B, 0, 0, 0, 0x00, 0), IOP_SCSI_GOOD); /* stop */
    RUN(NULL, 0, 0, 0x00, 0, 0, 0, 0, 0);
    CHECK(sense(IOP_SCSI_NOT_READY, 0x04, 0x02));
    RUN(NULL, 0, 4096, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
    CHECK(sense(IOP_SCSI_NOT_READY, 0x04, 0x02));
    /* REQUEST SENSE reports the condition with GOOD status. */
    CHECK_EQ(RUN(NULL, 0, 252, 0x03, 0, 0, 0, 252, 0), IOP_SCSI_GOOD);
    CHECK_EQ(cmd.data_in_len, 18);
    CHECK_EQ(in[2], IOP_SCSI_NOT_READY);
    CHECK_EQ(in[12], 0x04);
    CHECK_EQ(RUN(NULL, 0, 0, 0x1B, 0x01, 0, 0, 0x01, 0), IOP_SCSI_GOOD); /* start, IMMED */
    CHECK_EQ(RUN(NULL, 0, 0, 0x00, 0, 0, 0, 0, 0), IOP_SCSI_GOOD);
    RUN(NULL, 0, 0, 0x1B, 0, 0, 0, 0x02, 0); /* LOEJ: not removable */
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x24, 0));
    CHECK_EQ(cmd.sense[15], 0x80 | 0x40 | 0x08 | 1); /* SKSV, C/D, BPV, bit 1 */
    CHECK_EQ(iop_get_be16(cmd.sense + 16), 4);
    RUN(NULL, 0, 0, 0x1B, 0, 0, 0, 0x30, 0); /* power condition */
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x24, 0));
}

static void test_inquiry(void) {
    setup(IOP_SCSI_TYPE_DISK);
    CHECK_EQ(RUN(NULL, 0, 96, 0x12, 0, 0, 0, 96, 0), IOP_SCSI_GOOD);
    CHECK_EQ(cmd.data_in_len, 36);
    CHECK_EQ(in[0], 0x00);
    CHECK_EQ(in[2], 0x05);
    CHECK_EQ(in[3] & 0x0F, 2);
    CHECK_EQ(in[4], 31);
    CHECK_MEMEQ(in + 8, "iopd    Test disk       1.0 ", 28);
    /* Allocation length shorter than the data, zero, larger than the buffer. */
    CHECK_EQ(RUN(NULL, 0, 96, 0x12, 0, 0, 0, 5, 0), IOP_SCSI_GOOD);
    CHECK_EQ(cmd.data_in_len, 5);
    CHECK_EQ(RUN(NULL, 0, 96, 0x12, 0, 0, 0, 0, 0), IOP_SCSI_GOOD);
    CHECK_EQ(cmd.data_in_len, 0);
    CHECK_EQ(RUN(NULL, 0, 10, 0x12, 0, 0, 0xFF, 0xFF, 0), IOP_SCSI_GOOD);
    CHECK_EQ(cmd.data_in_len, 10);
    /* CmdDt, and a page code without EVPD. */
    RUN(NULL, 0, 96, 0x12, 0x02, 0, 0, 96, 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x24, 0));
    CHECK_EQ(cmd.sense[15], 0xC9);
    CHECK_EQ(iop_get_be16(cmd.sense + 16), 1);
    RUN(NULL, 0, 96, 0x12, 0, 0x80, 0, 96, 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x24, 0));
    CHECK_EQ(cmd.data_in_len, 0);
}

static void test_vpd(void) {
    setup(IOP_SCSI_TYPE_DISK);
    CHECK_EQ(RUN(NULL, 0, 255, 0x12, 0x01, 0x00, 0, 255, 0), IOP_SCSI_GOOD);
    CHECK_EQ(cmd.data_in_len, 7);
    CHECK_EQ(iop_get_be16(in + 2), 3);
    CHECK_MEMEQ(in + 4, "\x00\x80\x83", 3);
    CHECK_EQ(RUN(NULL, 0, 255, 0x12, 0x01, 0x80, 0, 255, 0), IOP_SCSI_GOOD);
    CHECK_EQ(in[1], 0x80);
    CHECK_EQ(iop_get_be16(in + 2), 6);
    CHECK_MEMEQ(in + 4, "SN0042", 6);
    CHECK_EQ(RUN(NULL, 0, 255, 0x12, 0x01, 0x83, 0, 255, 0), IOP_SCSI_GOOD);
    size_t len = 4 + iop_get_be16(in + 2);
    CHECK_EQ(cmd.data_in_len, len);
    /* Walk the designators: a T10 vendor ID one, then NAA with our id. */
    size_t off = 4;
    int t10 = 0, naa = 0;
    while (off + 4 <= len) {
        uint8_t type = in[off + 1] & 0x0F, dl = in[off + 3];
        CHECK(off + 4 + dl <= len);
        if (type == 1)
            t10 = !memcmp(in + off + 4, "iopd    ", 8);
        if (type == 3)
            naa = dl == 8 && iop_get_be64(in + off + 4) == 0x3000000000001234ull;
        off += 4 + dl;
    }
    CHECK(t10 && naa);
    CHECK_EQ(off, len);
    RUN(NULL, 0, 255, 0x12, 0x01, 0x99, 0, 255, 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x24, 0));
    CHECK_EQ(iop_get_be16(cmd.sense + 16), 2);
    /* Truncated VPD: allocation length 2. */
    CHECK_EQ(RUN(NULL, 0, 255, 0x12, 0x01, 0x83, 0, 2, 0), IOP_SCSI_GOOD);
    CHECK_EQ(cmd.data_in_len, 2);
}

static void test_luns(void) {
    setup(IOP_SCSI_TYPE_DISK);
    /* 6-byte CDBs address LUN 1 in byte 1: no such unit. */
    CHECK_EQ(RUN(NULL, 0, 96, 0x12, 0x20, 0, 0, 96, 0), IOP_SCSI_GOOD);
    CHECK_EQ(in[0], 0x7F);
    RUN(NULL, 0, 0, 0x00, 0x20, 0, 0, 0, 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x25, 0));
    CHECK_EQ(RUN(NULL, 0, 18, 0x03, 0x20, 0, 0, 18, 0), IOP_SCSI_GOOD);
    CHECK_EQ(in[2], IOP_SCSI_ILLEGAL_REQUEST);
    CHECK_EQ(in[12], 0x25);
    RUN(NULL, 0, 96, 0x12, 0x21, 0x80, 0, 96, 0); /* VPD of a missing LUN */
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x25, 0));
    /* REPORT LUNS. */
    CHECK_EQ(RUN(NULL, 0, 64, 0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0), IOP_SCSI_GOOD);
    CHECK_EQ(cmd.data_in_len, 16);
    CHECK_EQ(iop_get_be32(in), 8);
    CHECK_EQ(iop_get_be64(in + 8), 0);
    RUN(NULL, 0, 64, 0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0); /* allocation < 16 */
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x24, 0));
    RUN(NULL, 0, 64, 0xA0, 0, 3, 0, 0, 0, 0, 0, 0, 64, 0, 0); /* select report 3 */
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x24, 0));
    /* A unit at LUN 3 answers 6-byte CDBs for LUN 3 and lists 3. */
    lu.lun = 3;
    CHECK_EQ(RUN(NULL, 0, 0, 0x00, 0x60, 0, 0, 0, 0), IOP_SCSI_GOOD);
    CHECK_EQ(RUN(NULL, 0, 64, 0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0), IOP_SCSI_GOOD);
    CHECK_EQ(in[9], 3);
}

static void test_capacity(void) {
    setup(IOP_SCSI_TYPE_DISK);
    CHECK_EQ(RUN(NULL, 0, 8, 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0), IOP_SCSI_GOOD);
    CHECK_EQ(iop_get_be32(in), BLOCKS - 1);
    CHECK_EQ(iop_get_be32(in + 4), BS);
    RUN(NULL, 0, 8, 0x25, 0, 0, 0, 0, 5, 0, 0, 0, 0); /* LBA without PMI */
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x24, 0));
    CHECK_EQ(RUN(NULL, 0, 32, 0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0), IOP_SCSI_GOOD);
    CHECK_EQ(cmd.data_in_len, 32);
    CHECK_EQ(iop_get_be64(in), BLOCKS - 1);
    CHECK_EQ(iop_get_be32(in + 8), BS);
    CHECK_EQ(RUN(NULL, 0, 32, 0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0), IOP_SCSI_GOOD);
    CHECK_EQ(cmd.data_in_len, 12);
    RUN(NULL, 0, 32, 0x9E, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0); /* other service action */
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x24, 0));
    /* More than 32 bits of blocks: READ CAPACITY(10) says FFFFFFFFh. */
    lu.blocks = 0x1000000000ull;
    CHECK_EQ(RUN(NULL, 0, 8, 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0), IOP_SCSI_GOOD);
    CHECK_EQ(iop_get_be32(in), 0xFFFFFFFFu);
    CHECK_EQ(RUN(NULL, 0, 32, 0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0), IOP_SCSI_GOOD);
    CHECK_EQ(iop_get_be64(in), 0x1000000000ull - 1);
    /* A bad geometry is refused. */
    struct iop_scsi_lu bad = lu;
    bad.block_size = 1000;
    CHECK_EQ(iop_scsi_lu_init(&bad), -EINVAL);
}

static void test_read_write(void) {
    setup(IOP_SCSI_TYPE_DISK);
    static uint8_t data[64 * BS];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7 + i / 512);
    /* WRITE(10) of 16 blocks at 100, READ(10) back. */
    CHECK_EQ(RUN(data, 16 * BS, 0, 0x2A, 0, 0, 0, 0, 100, 0, 0, 16, 0), IOP_SCSI_GOOD);
    CHECK_EQ(cmd.data_out_used, 16 * BS);
    CHECK_MEMEQ(media + 100 * BS, data, 16 * BS);
    CHECK_EQ(RUN(NULL, 0, 16 * BS, 0x28, 0, 0, 0, 0, 100, 0, 0, 16, 0), IOP_SCSI_GOOD);
    CHECK_EQ(cmd.data_in_len, 16 * BS);
    CHECK_MEMEQ(in, data, 16 * BS);
    /* Every size: 6, 12, 16. */
    CHECK_EQ(RUN(data + BS, BS, 0, 0x0A, 0, 0, 7, 1, 0), IOP_SCSI_GOOD);
    CHECK_EQ(RUN(NULL, 0, BS, 0x08, 0, 0, 7, 1, 0), IOP_SCSI_GOOD);
    CHECK_MEMEQ(in, data + BS, BS);
    CHECK_EQ(RUN(data, 3 * BS, 0, 0xAA, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0), IOP_SCSI_GOOD);
    CHECK_EQ(RUN(NULL, 0, 3 * BS, 0xA8, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0), IOP_SCSI_GOOD);
    CHECK_MEMEQ(in, data, 3 * BS);
    CHECK_EQ(RUN(data + 2 * BS, 2 * BS, 0, 0x8A, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xFE, 0, 0, 0, 2, 0, 0), IOP_SCSI_GOOD);
    CHECK_EQ(RUN(NULL, 0, 2 * BS, 0x88, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xFE, 0, 0, 0, 2, 0, 0), IOP_SCSI_GOOD);
    CHECK_MEMEQ(in, data + 2 * BS, 2 * BS);
    /* READ(6) with length 0 is 256 blocks. */
    CHECK_EQ(RUN(NULL, 0, 256 * BS, 0x08, 0, 0, 0, 0, 0), IOP_SCSI_GOOD);
    CHECK_EQ(cmd.data_in_len, 256 * BS);
    /* READ(10) with length 0 moves nothing. */
    CHECK_EQ(RUN(NULL, 0, BS, 0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0), IOP_SCSI_GOOD);
    CHECK_EQ(cmd.data_in_len, 0);
    /* Boundaries: the last block works, one past it does not, nor a wrapping LBA. */
    CHECK_EQ(RUN(NULL, 0, BS, 0x28, 0, 0, 0, 0x03, 0xFF, 0, 0, 1, 0), IOP_SCSI_GOOD);
    RUN(NULL, 0, 2 * BS, 0x28, 0, 0, 0, 0x03, 0xFF, 0, 0, 2, 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x21, 0));
    RUN(NULL, 0, BS, 0x28, 0, 0, 0, 0x04, 0x00, 0, 0, 1, 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x21, 0));
    RUN(NULL, 0, 2 * BS, 0x88, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 2, 0, 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x21, 0));
    RUN(data, BS, 0, 0x8A, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1, 0, 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x21, 0));
    /* Huge transfer lengths: refused without touching anything. */
    RUN(NULL, 0, BS, 0xA8, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x21, 0));
    /* The initiator's buffer is smaller than the blocks: an overrun, nothing moved. */
    CHECK_EQ(RUN(NULL, 0, BS, 0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0), IOP_SCSI_GOOD);
    CHECK(cmd.overrun);
    CHECK_EQ(cmd.data_in_len, 0);
    CHECK_EQ(RUN(data, BS, 0, 0x2A, 0, 0, 0, 0, 0, 0, 0, 2, 0), IOP_SCSI_GOOD);
    CHECK(cmd.overrun);
    CHECK_EQ(cmd.data_out_used, 0);
    /* Protection information is not supported. */
    RUN(NULL, 0, BS, 0x28, 0x20, 0, 0, 0, 0, 0, 0, 1, 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x24, 0));
    /* A failing medium: MEDIUM ERROR, UNRECOVERED READ ERROR. */
    fail_reads = 1;
    RUN(NULL, 0, BS, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
    CHECK(sense(IOP_SCSI_MEDIUM_ERROR, 0x11, 0));
}

static void test_verify_sync(void) {
    setup(IOP_SCSI_TYPE_DISK);
    static uint8_t data[4 * BS];
    memset(data, 0x5A, sizeof(data));
    CHECK_EQ(RUN(data, sizeof(data), 0, 0x2A, 0, 0, 0, 0, 10, 0, 0, 4, 0), IOP_SCSI_GOOD);
    CHECK_EQ(RUN(NULL, 0, 0, 0x2F, 0, 0, 0, 0, 10, 0, 0, 4, 0), IOP_SCSI_GOOD); /* medium verify */
    CHECK_EQ(RUN(data, sizeof(data), 0, 0x2F, 0x02, 0, 0, 0, 10, 0, 0, 4, 0), IOP_SCSI_GOOD); /* BYTCHK */
    data[3 * BS + 9] ^= 1;
    RUN(data, sizeof(data), 0, 0xAF, 0x02, 0, 0, 0, 10, 0, 0, 0, 4, 0, 0);
    CHECK(sense(IOP_SCSI_MISCOMPARE, 0x1D, 0));
    RUN(NULL, 0, 0, 0x8F, 0, 0, 0, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 1, 0, 0); /* LBA 1024 */
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x21, 0));
    int before = syncs;
    CHECK_EQ(RUN(NULL, 0, 0, 0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0), IOP_SCSI_GOOD);
    CHECK_EQ(RUN(NULL, 0, 0, 0x91, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0), IOP_SCSI_GOOD);
    CHECK_EQ(syncs, before + 2);
    RUN(NULL, 0, 0, 0x35, 0, 0, 0, 0x04, 0x01, 0, 0, 0, 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x21, 0));
}

/* Find page code in a MODE SENSE answer after hdr + bd bytes. */
static const uint8_t *find_page(size_t start, size_t end, uint8_t code) {
    for (size_t off = start; off + 2 <= end; off += in[off + 1] + 2u)
        if ((in[off] & 0x3F) == code)
            return in + off;
    return NULL;
}

static void test_mode_sense(void) {
    setup(IOP_SCSI_TYPE_DISK);
    CHECK_EQ(RUN(NULL, 0, 255, 0x1A, 0, 0x3F, 0, 255, 0), IOP_SCSI_GOOD);
    size_t n = cmd.data_in_len;
    CHECK_EQ(in[0] + 1u, n);
    CHECK_EQ(in[3], 8);
    CHECK_EQ(iop_get_be32(in + 4), BLOCKS);
    CHECK_EQ(iop_get_be32(in + 8) & 0xFFFFFF, BS);
    const uint8_t *cache = find_page(12, n, 0x08), *geo = find_page(12, n, 0x04), *ctl = find_page(12, n, 0x0A);
    CHECK(cache && geo && ctl);
    if (cache)
        CHECK_EQ(cache[2] & 0x05, 0x04); /* WCE on, RCD off */
    if (geo)
        CHECK_EQ(geo[5], 18);            /* heads, as adpt_bios_param for < 0x2000 blocks */
    /* Changeable values, DBD, truncation, MODE SENSE(10) with a long descriptor. */
    CHECK_EQ(RUN(NULL, 0, 255, 0x1A, 0x08, 0x48, 0, 255, 0), IOP_SCSI_GOOD);
    CHECK_EQ(in[3], 0);
    CHECK_EQ(in[4], 0x08);
    CHECK_EQ(in[6], 0x05);
    CHECK_EQ(RUN(NULL, 0, 255, 0x1A, 0, 0x3F, 0, 3, 0), IOP_SCSI_GOOD);
    CHECK_EQ(cmd.data_in_len, 3);
    CHECK_EQ(RUN(NULL, 0, 255, 0x5A, 0x10, 0x08, 0, 0, 0, 0, 0, 255, 0), IOP_SCSI_GOOD);
    CHECK_EQ(iop_get_be16(in) + 2u, cmd.data_in_len);
    CHECK_EQ(in[4] & 1, 1);
    CHECK_EQ(iop_get_be16(in + 6), 16);
    CHECK_EQ(iop_get_be64(in + 8), BLOCKS);
    CHECK_EQ(in[24], 0x08);
    /* Saved values, an unknown page, a subpage. */
    RUN(NULL, 0, 255, 0x1A, 0, 0xC8, 0, 255, 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x39, 0));
    RUN(NULL, 0, 255, 0x1A, 0, 0x1C, 0, 255, 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x24, 0));
    RUN(NULL, 0, 255, 0x1A, 0, 0x08, 1, 255, 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x24, 0));
    CHECK_EQ(RUN(NULL, 0, 255, 0x1A, 0, 0x3F, 0xFF, 255, 0), IOP_SCSI_GOOD);
}

static void test_mode_select(void) {
    setup(IOP_SCSI_TYPE_DISK);
    /* Clear WCE through MODE SELECT(6): header, block descriptor restating the format,
     * the caching page. */
    uint8_t p[4 + 8 + 20] = { 0, 0, 0, 8 };
    iop_put_be32(p + 4, BLOCKS);
    iop_put_be32(p + 8, BS);
    p[12] = 0x08;
    p[13] = 0x12;
    CHECK_EQ(RUN(p, sizeof(p), 0, 0x15, 0x10, 0, 0, sizeof(p), 0), IOP_SCSI_GOOD);
    CHECK(!lu.wce);
    CHECK_EQ(RUN(NULL, 0, 255, 0x1A, 0x08, 0x08, 0, 255, 0), IOP_SCSI_GOOD);
    CHECK_EQ(in[6] & 0x04, 0);
    /* Write-through now: every WRITE syncs. */
    int before = syncs;
    CHECK_EQ(RUN(media, BS, 0, 0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0), IOP_SCSI_GOOD);
    CHECK_EQ(syncs, before + 1);
    /* Changing a value that is not changeable (the geometry's heads). */
    uint8_t g[4 + 24] = { 0 };
    CHECK_EQ(RUN(NULL, 0, 255, 0x1A, 0x08, 0x04, 0, 255, 0), IOP_SCSI_GOOD);
    memcpy(g + 4, in + 4, 24);
    g[4] &= 0x3F;
    g[4 + 5] ^= 1;
    RUN(g, sizeof(g), 0, 0x15, 0x10, 0, 0, sizeof(g), 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x26, 0));
    CHECK_EQ(iop_get_be16(cmd.sense + 16), 9); /* the byte in the parameter list */
    CHECK_EQ(cmd.sense[15] & 0x40, 0);        /* C/D: parameter data */
    /* Wrong page length, unknown page, block length change, PF=0, SP=1, short data. */
    p[13] = 0x11;
    RUN(p, sizeof(p), 0, 0x15, 0x10, 0, 0, sizeof(p) - 1, 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x26, 0));
    p[13] = 0x12;
    p[12] = 0x1C;
    RUN(p, sizeof(p), 0, 0x15, 0x10, 0, 0, sizeof(p), 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x26, 0));
    p[12] = 0x08;
    iop_put_be32(p + 8, 4096);
    RUN(p, sizeof(p), 0, 0x15, 0x10, 0, 0, sizeof(p), 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x26, 0));
    iop_put_be32(p + 8, BS);
    RUN(p, sizeof(p), 0, 0x15, 0x00, 0, 0, sizeof(p), 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x24, 0));
    RUN(p, sizeof(p), 0, 0x15, 0x11, 0, 0, sizeof(p), 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x24, 0));
    RUN(p, 10, 0, 0x15, 0x10, 0, 0, sizeof(p), 0); /* less data than the length */
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x1A, 0));
    RUN(p, sizeof(p), 0, 0x15, 0x10, 0, 0, 14, 0); /* a page cut by the length */
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x1A, 0));
    /* Refused lists change nothing, even when an earlier page was fine. */
    uint8_t two[4 + 20 + 24] = { 0 };
    memcpy(two + 4, p + 12, 20);
    two[4 + 2] = 0x04;     /* WCE back on... */
    memcpy(two + 24, g + 4, 24); /* ...with the bad geometry page */
    RUN(two, sizeof(two), 0, 0x15, 0x10, 0, 0, sizeof(two), 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x26, 0));
    CHECK(!lu.wce);
    /* MODE SELECT(10) turns WCE back on. */
    uint8_t q[8 + 20] = { 0 };
    q[8] = 0x08;
    q[9] = 0x12;
    q[10] = 0x04;
    CHECK_EQ(RUN(q, sizeof(q), 0, 0x55, 0x10, 0, 0, 0, 0, 0, 0, sizeof(q), 0), IOP_SCSI_GOOD);
    CHECK(lu.wce);
    CHECK_EQ(RUN(NULL, 0, 0, 0x55, 0x10, 0, 0, 0, 0, 0, 0, 0, 0), IOP_SCSI_GOOD); /* empty list */
}

static void test_log_sense(void) {
    setup(IOP_SCSI_TYPE_DISK);
    CHECK_EQ(RUN(NULL, 0, 64, 0x4D, 0, 0x40, 0, 0, 0, 0, 0, 64, 0), IOP_SCSI_GOOD);
    CHECK_EQ(cmd.data_in_len, 6);
    CHECK_EQ(in[0], 0);
    CHECK_EQ(iop_get_be16(in + 2), 2);
    CHECK_EQ(in[4], 0x00);
    CHECK_EQ(in[5], 0x0D);
    CHECK_EQ(RUN(NULL, 0, 64, 0x4D, 0, 0x4D, 0, 0, 0, 0, 0, 64, 0), IOP_SCSI_GOOD);
    CHECK_EQ(in[0], 0x0D);
    CHECK_EQ(in[9], 35);
    RUN(NULL, 0, 64, 0x4D, 0, 0x70, 0, 0, 0, 0, 0, 64, 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x24, 0));
    RUN(NULL, 0, 64, 0x4D, 0x01, 0x40, 0, 0, 0, 0, 0, 64, 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x24, 0));
}

static void test_unsupported(void) {
    setup(IOP_SCSI_TYPE_DISK);
    RUN(NULL, 0, 64, 0x02, 0, 0, 0, 0, 0); /* unknown group-0 opcode */
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x20, 0));
    RUN(NULL, 0, 64, 0xC1, 0, 0, 0, 0, 0); /* vendor-specific group 6 */
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x20, 0));
    RUN(NULL, 0, 64, 0x04, 0, 0, 0, 0, 0); /* FORMAT UNIT */
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x20, 0));
    CHECK_EQ(cmd.data_in_len, 0);
    RUN(NULL, 0, 64, 0x28, 0, 0, 0, 0, 0); /* READ(10) cut after 6 bytes */
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x24, 0));
    RUN(NULL, 0, 64, 0x00, 0, 0, 0, 0, 0x04); /* NACA */
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x24, 0));
    cmd = (struct iop_scsi_cmd){ .cdb = NULL, .cdb_len = 0, .autosense = true };
    iop_scsi_exec(&lu, &cmd);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x20, 0));
    /* A 16-byte CDB for a 6-byte command is fine (the rest is ignored). */
    CHECK_EQ(RUN(NULL, 0, 0, 0x00, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), IOP_SCSI_GOOD);
}

static void test_contingent_allegiance(void) {
    setup(IOP_SCSI_TYPE_DISK);
    const uint8_t bad[6] = { 0x02 };
    cmd = (struct iop_scsi_cmd){ .cdb = bad, .cdb_len = 6, .autosense = false };
    iop_scsi_exec(&lu, &cmd);
    CHECK_EQ(cmd.status, IOP_SCSI_CHECK_CONDITION);
    CHECK_EQ(cmd.sense_len, 0);
    CHECK_EQ(RUN(NULL, 0, 18, 0x03, 0, 0, 0, 18, 0), IOP_SCSI_GOOD);
    CHECK_EQ(in[2], IOP_SCSI_ILLEGAL_REQUEST);
    CHECK_EQ(in[12], 0x20);
    CHECK_EQ(RUN(NULL, 0, 18, 0x03, 0, 0, 0, 18, 0), IOP_SCSI_GOOD); /* delivered once */
    CHECK_EQ(in[2], IOP_SCSI_NO_SENSE);
    RUN(NULL, 0, 18, 0x03, 0x01, 0, 0, 18, 0); /* DESC */
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x24, 0));
}

static void test_processor(void) {
    setup(IOP_SCSI_TYPE_PROCESSOR);
    CHECK_EQ(RUN(NULL, 0, 36, 0x12, 0, 0, 0, 36, 0), IOP_SCSI_GOOD);
    CHECK_EQ(in[0], 0x03);
    CHECK_EQ(RUN(NULL, 0, 0, 0x00, 0, 0, 0, 0, 0), IOP_SCSI_GOOD);
    RUN(NULL, 0, BS, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x20, 0));
    RUN(NULL, 0, 8, 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    CHECK(sense(IOP_SCSI_ILLEGAL_REQUEST, 0x20, 0));
}

int main(void) {
    TEST(test_tur_start_stop);
    TEST(test_inquiry);
    TEST(test_vpd);
    TEST(test_luns);
    TEST(test_capacity);
    TEST(test_read_write);
    TEST(test_verify_sync);
    TEST(test_mode_sense);
    TEST(test_mode_select);
    TEST(test_log_sense);
    TEST(test_unsupported);
    TEST(test_contingent_allegiance);
    TEST(test_processor);
    return test_summary();
}
