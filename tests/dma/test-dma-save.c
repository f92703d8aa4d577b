/* Suspend/resume: the versioned blob round-trips every register, refuses corrupt input
 * without touching the controller, and a transfer saved mid-way can be resumed or
 * reported after a "restart" (fresh controller, fresh ISA memory). */
#include <errno.h>

#include "lib/dma/dma-save.h"
#include "lib/dma/dma-xfer.h"
#include "lib/dma/i8237.h"
#include "lib/dma/isamem.h"
#include "lib/util/bytes.h"
#include "lib/util/cleanup.h"
#include "lib/util/log.h"
#include "testutil.h"

IOP_DEFINE_CLEANUP(struct iop_isamem, iop_isamem_free)

static void log_quiet(void *ctx, int level, const char *msg) {
    (void)ctx;
    (void)level;
    (void)msg;
}

/* Version 1 layout, pinned: changing it without a version bump must fail here. */
enum {
    OFF_COMMAND = 12, OFF_STATUS = 14, OFF_MASK = 16, OFF_FF = 18, OFF_FINISHED = 20,
    OFF_BASE_ADDR = 22, OFF_BASE_COUNT = 38, OFF_CUR_ADDR = 54, OFF_CUR_COUNT = 70,
    OFF_MODE = 86, OFF_OWNER = 94, OFF_BYTES = 350, OFF_VERIFIED = 414, OFF_CHUNKS = 478,
    OFF_BOUNCES = 542, OFF_FAULTS = 606, OFF_PAGE = 670, OFF_X_ACTIVE = 686, OFF_X_CHAN = 687,
    OFF_X_DIR = 688, OFF_X_BOUNCED = 689, OFF_X_ISA = 690, OFF_X_LEN = 694, OFF_X_DONE = 702,
    BLOB_SIZE = 710,
};

#define DEV_MAX (1u << 20)
struct dev {
    uint8_t *rx;
    size_t rx_len, tx_len;
};

static int dev_fn(void *opaque, unsigned chan, enum iop_dma_dir dir, uint8_t *buf, size_t len) {
    struct dev *v = opaque;
    (void)chan;
    if (dir == IOP_DMA_TO_DEVICE) {
        if (v->rx_len + len > DEV_MAX)
            return -ENOSPC;
        memcpy(v->rx + v->rx_len, buf, len);
        v->rx_len += len;
    } else if (dir == IOP_DMA_FROM_DEVICE) {
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)((v->tx_len + i) * 13 + 1);
        v->tx_len += len;
    }
    return (int)len;
}

static int program(struct iop_dma8237 *d, unsigned chan, uint8_t mode, uint32_t addr, uint32_t bytes) {
    int r;
    if ((r = iop_dma_claim_lock(d)) < 0)
        return r;
    if ((r = iop_dma_set_mode(d, chan, mode)) >= 0 && (r = iop_dma_set_addr(d, chan, addr)) >= 0 &&
        (r = iop_dma_set_count(d, chan, bytes)) >= 0)
        r = iop_dma_enable(d, chan);
    iop_dma_release_lock(d);
    return r;
}

/* A controller with something in every field. */
static void build_rich(struct iop_dma8237 *d, struct iop_isamem *m, struct dev *v) {
    iop_dma_init(d, m);
    for (unsigned c = 0; c < 8; c++)
        iop_dma_register_channel(d, c, dev_fn, v);
    iop_dma_request(d, 1, "floppy");
    iop_dma_request(d, 3, "i2o/iop0 swdl");
    iop_dma_request(d, 6, "block");
    program(d, 1, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_READ | IOP_DMA_MODE_AUTOINIT, 0x12340, 1000);
    program(d, 3, IOP_DMA_MODE_DEMAND | IOP_DMA_MODE_WRITE, 0x56000, 65536);
    program(d, 6, IOP_DMA_MODE_BLOCK | IOP_DMA_MODE_READ | IOP_DMA_MODE_DECREMENT, 0x7fffe, 4096);
    iop_dma_hold_dreq(d, 1);
    iop_dma_run(d, 300);
    iop_dma_hold_dreq(d, 6);
    iop_dma_run(d, SIZE_MAX); /* ch6 to TC, ch1 another 300... */
    iop_dma_io_write(d, 0x84, 0x5a);
    iop_dma_io_write(d, 0xc4, 0x77); /* leave controller 2's flip-flop on the high byte */
    iop_dma_io_write(d, 0x08, IOP_DMA_CMD_DISABLE);
    iop_dma_io_write(d, 0x09, 4 | 2);
    d->chan[7].totals.faults = 0x0123456789abcdefULL;
}

static void check_same_state(const struct iop_dma8237 *a, const struct iop_dma8237 *b) {
    CHECK_MEMEQ(a->ctl, b->ctl, sizeof(a->ctl));
    CHECK_MEMEQ(a->page, b->page, sizeof(a->page));
    for (unsigned c = 0; c < 8; c++) {
        const struct iop_dma_chan *x = &a->chan[c], *y = &b->chan[c];
        CHECK_EQ(x->base_addr, y->base_addr);
        CHECK_EQ(x->base_count, y->base_count);
        CHECK_EQ(x->cur_addr, y->cur_addr);
        CHECK_EQ(x->cur_count, y->cur_count);
        CHECK_EQ(x->mode, y->mode);
        CHECK_MEMEQ(x->owner, y->owner, sizeof(x->owner));
        CHECK_MEMEQ(&x->totals, &y->totals, sizeof(x->totals));
    }
}

static void test_round_trip(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
    struct dev v = { .rx = calloc(1, DEV_MAX) };
    struct iop_dma8237 d, e;
    uint8_t blob[BLOB_SIZE + 16], blob2[BLOB_SIZE + 16];

    CHECK_EQ(iop_isamem_new(&m), 0);
    build_rich(&d, m, &v);
    CHECK_EQ(iop_dma_save_size(), BLOB_SIZE);
    CHECK_EQ(iop_dma_save(&d, blob, sizeof(blob)), BLOB_SIZE);
    CHECK_MEMEQ(blob, "IDMA", 4);
    CHECK_EQ(iop_get_le16(blob + 4), IOP_DMA_SAVE_VERSION);
    CHECK_EQ(iop_get_le32(blob + 8), BLOB_SIZE - 12);
    /* Spot-check the pinned layout against the live struct. */
    CHECK_EQ(blob[OFF_COMMAND], d.ctl[0].command);
    CHECK_EQ(blob[OFF_FF + 1], 1);
    CHECK_EQ(iop_get_le16(blob + OFF_CUR_COUNT + 2 * 1), d.chan[1].cur_count);
    CHECK_EQ(blob[OFF_MODE + 6], d.chan[6].mode);
    CHECK_STREQ((const char *)blob + OFF_OWNER + 32 * 3, "i2o/iop0 swdl");
    CHECK_EQ(iop_get_le64(blob + OFF_FAULTS + 8 * 7), 0x0123456789abcdefULL);
    CHECK_EQ(blob[OFF_PAGE + 4], 0x5a);

    /* Into a fresh controller: same registers, same bytes when saved again. */
    iop_dma_init(&e, NULL);
    CHECK_EQ(iop_dma_load(&e, blob, BLOB_SIZE), 0);
    check_same_state(&d, &e);
    CHECK(e.mem == NULL); /* runtime wiring is the loader's own */
    CHECK_EQ(iop_dma_save(&e, blob2, sizeof(blob2)), BLOB_SIZE);
    CHECK_MEMEQ(blob, blob2, BLOB_SIZE);
    for (unsigned c = 0; c < 8; c++) {
        struct iop_dma_chan_status s1, s2;
        iop_dma_get_status(&d, c, &s1);
        iop_dma_get_status(&e, c, &s2);
        CHECK_MEMEQ(&s1, &s2, sizeof(s1));
    }
    /* The flip-flop came back: the next write to controller 2 is a high byte. */
    iop_dma_io_write(&e, 0xc4, 0x12);
    CHECK_EQ(e.chan[5].base_addr & 0xff00, 0x1200);

    /* The residue of a full 65536 block not yet started survives (the TC latch). */
    iop_dma_claim_lock(&e);
    CHECK_EQ(iop_dma_get_residue(&e, 3), 65536);
    CHECK_EQ(iop_dma_get_residue(&e, 6), 0);
    iop_dma_release_lock(&e);
    free(v.rx);
}

static void test_save_errors(void) {
    struct iop_dma8237 d;
    uint8_t blob[BLOB_SIZE];

    iop_dma_init(&d, NULL);
    CHECK_EQ(iop_dma_save(&d, blob, BLOB_SIZE - 1), -ENOSPC);
    CHECK_EQ(iop_dma_save(&d, NULL, 0), -ENOSPC);
    iop_dma_claim_lock(&d);
    CHECK_EQ(iop_dma_save(&d, blob, sizeof(blob)), -EBUSY);
    iop_dma_release_lock(&d);
    CHECK_EQ(iop_dma_save(&d, blob, sizeof(blob)), BLOB_SIZE);
    iop_dma_claim_lock(&d);
    CHECK_EQ(iop_dma_load(&d, blob, sizeof(blob)), -EBUSY);
    iop_dma_release_lock(&d);
}

/* Mutate one thing, expect -EINVAL and an untouched controller. */
static void expect_reject(struct iop_dma8237 *d, const uint8_t *good, void (*mutate)(uint8_t *b, size_t *len),
                          const char *what) {
    uint8_t bad[BLOB_SIZE + 8];
    size_t len = BLOB_SIZE;
    struct iop_dma8237 before;

    memcpy(&before, d, sizeof(before)); /* bytes, padding included */
    memcpy(bad, good, BLOB_SIZE);
    mutate(bad, &len);
    int r = iop_dma_load(d, bad, len);
    if (r != -EINVAL)
        fprintf(stderr, "not rejected: %s\n", what);
    CHECK_EQ(r, -EINVAL);
    CHECK(memcmp(&before, d, sizeof(before)) == 0);
}

static void m_magic(uint8_t *b, size_t *l) { (void)l; b[0] = 'X'; }
static void m_version(uint8_t *b, size_t *l) { (void)l; iop_put_le16(b + 4, IOP_DMA_SAVE_VERSION + 1); }
static void m_version0(uint8_t *b, size_t *l) { (void)l; iop_put_le16(b + 4, 0); }
static void m_nfields(uint8_t *b, size_t *l) { (void)l; b[6]++; }
static void m_paylen(uint8_t *b, size_t *l) { (void)l; iop_put_le32(b + 8, BLOB_SIZE); }
static void m_trailing(uint8_t *b, size_t *l) { b[BLOB_SIZE] = 0; *l = BLOB_SIZE + 1; }
static void m_ff(uint8_t *b, size_t *l) { (void)l; b[OFF_FF] = 2; }
static void m_mask(uint8_t *b, size_t *l) { (void)l; b[OFF_MASK + 1] = 0x10; }
static void m_finished(uint8_t *b, size_t *l) { (void)l; b[OFF_FINISHED] = 0x80; }
static void m_command(uint8_t *b, size_t *l) { (void)l; b[OFF_COMMAND] = 0x10; }
static void m_mode(uint8_t *b, size_t *l) { (void)l; b[OFF_MODE + 2] |= 1; }
static void m_owner_unterminated(uint8_t *b, size_t *l) { (void)l; memset(b + OFF_OWNER + 32 * 2, 'a', 32); }
static void m_owner_ctrl(uint8_t *b, size_t *l) { (void)l; memcpy(b + OFF_OWNER + 32 * 2, "a\x1b[2J", 6); }
static void m_owner_padding(uint8_t *b, size_t *l) { (void)l; memcpy(b + OFF_OWNER + 32 * 2, "ab\0c", 4); }
static void m_owner_cascade(uint8_t *b, size_t *l) { (void)l; memcpy(b + OFF_OWNER + 32 * 4, "x", 2); }
static void m_xfer_garbage(uint8_t *b, size_t *l) { (void)l; b[OFF_X_ACTIVE] = 0; iop_put_le64(b + OFF_X_LEN, 5); }
static void m_xfer_active2(uint8_t *b, size_t *l) { (void)l; b[OFF_X_ACTIVE] = 2; }
static void m_xfer_done(uint8_t *b, size_t *l) {
    (void)l;
    iop_put_le64(b + OFF_X_DONE, iop_get_le64(b + OFF_X_LEN));
}
static void m_xfer_chan4(uint8_t *b, size_t *l) { (void)l; b[OFF_X_CHAN] = 4; }
static void m_xfer_chan8(uint8_t *b, size_t *l) { (void)l; b[OFF_X_CHAN] = 8; }
static void m_xfer_unowned(uint8_t *b, size_t *l) { (void)l; b[OFF_X_CHAN] = 7; }
static void m_xfer_dir(uint8_t *b, size_t *l) { (void)l; b[OFF_X_DIR] = 0; }
static void m_xfer_dir4(uint8_t *b, size_t *l) { (void)l; b[OFF_X_DIR] = 4; }
static void m_xfer_len(uint8_t *b, size_t *l) { (void)l; iop_put_le64(b + OFF_X_LEN, (uint64_t)IOP_DMA_XFER_LEN_MAX + 2); }
static void m_xfer_odd(uint8_t *b, size_t *l) { (void)l; iop_put_le64(b + OFF_X_DONE, 1001); }
static void m_xfer_bounced_isa(uint8_t *b, size_t *l) { (void)l; iop_put_le32(b + OFF_X_ISA, 0x1000); }
static void m_xfer_isa_range(uint8_t *b, size_t *l) {
    (void)l;
    b[OFF_X_BOUNCED] = 0;
    iop_put_le32(b + OFF_X_ISA, IOP_ISAMEM_SIZE - 0x1000);
}
static void m_xfer_isa_max(uint8_t *b, size_t *l) { (void)l; b[OFF_X_BOUNCED] = 0; iop_put_le32(b + OFF_X_ISA, IOP_ISAMEM_SIZE); }

static void test_reject_corrupt(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
    struct iop_dma8237 src, d;
    uint8_t good[BLOB_SIZE], *host = calloc(1, 300000);

    CHECK_EQ(iop_isamem_new(&m), 0);
    /* A blob with an active transfer on channel 5 (bounced, 16-bit), so the transfer
     * fields can be corrupted too. */
    struct dev v = { .rx = calloc(1, DEV_MAX) };
    iop_dma_init(&src, m);
    iop_dma_register_channel(&src, 5, dev_fn, &v);
    iop_dma_request(&src, 2, "two");
    iop_dma_request(&src, 5, "five");
    struct iop_dma_xfer_req req = { .chan = 5, .dir = IOP_DMA_TO_DEVICE, .host = host, .len = 300000 };
    CHECK_EQ(iop_dma_xfer_begin(&src, &req), 0);
    CHECK_EQ(iop_dma_xfer_step(&src, 1000), 1000);
    CHECK_EQ(iop_dma_save(&src, good, sizeof(good)), BLOB_SIZE);

    iop_dma_init(&d, NULL);
    iop_dma_request(&d, 0, "mine");
    CHECK_EQ(iop_dma_load(&d, good, BLOB_SIZE), 0); /* the unmutated blob is fine */
    iop_dma_init(&d, NULL);
    iop_dma_request(&d, 0, "mine");

    /* Every truncation. */
    for (size_t n = 0; n < BLOB_SIZE; n++) {
        struct iop_dma8237 before;
        memcpy(&before, &d, sizeof(d));
        CHECK_EQ(iop_dma_load(&d, good, n), -EINVAL);
        CHECK(memcmp(&before, &d, sizeof(d)) == 0);
    }
    CHECK_EQ(iop_dma_load(&d, NULL, BLOB_SIZE), -EINVAL);

    static const struct {
        void (*fn)(uint8_t *, size_t *);
        const char *what;
    } cases[] = {
        { m_magic, "magic" }, { m_version, "version+1" }, { m_version0, "version 0" },
        { m_nfields, "field count" }, { m_paylen, "payload length" }, { m_trailing, "trailing byte" },
        { m_ff, "flip-flop 2" }, { m_mask, "mask 0x10" }, { m_finished, "tc latch bit 7" },
        { m_command, "unsupported command" }, { m_mode, "mode channel bits" },
        { m_owner_unterminated, "owner unterminated" }, { m_owner_ctrl, "owner escape" },
        { m_owner_padding, "owner padding" }, { m_owner_cascade, "owner on channel 4" },
        { m_xfer_garbage, "inactive transfer with a length" }, { m_xfer_active2, "active 2" },
        { m_xfer_done, "done == len" }, { m_xfer_chan4, "transfer on 4" }, { m_xfer_chan8, "transfer on 8" },
        { m_xfer_unowned, "transfer on unowned channel" }, { m_xfer_dir, "dir 0" }, { m_xfer_dir4, "dir 4" },
        { m_xfer_len, "len too big" }, { m_xfer_odd, "odd done on 16-bit" },
        { m_xfer_bounced_isa, "bounced with an ISA address" }, { m_xfer_isa_range, "ISA range over 16 MiB" },
        { m_xfer_isa_max, "ISA address 16 MiB" },
    };
    for (size_t i = 0; i < IOP_ARRAY_SIZE(cases); i++)
        expect_reject(&d, good, cases[i].fn, cases[i].what);

    /* Loading over a running transfer would leak its bounce buffer. */
    CHECK_EQ(iop_dma_load(&src, good, BLOB_SIZE), -EBUSY);
    iop_dma_xfer_abort(&src);
    free(host);
    free(v.rx);
}

/* Save in the middle of a chunked transfer, "restart" (fresh ISA memory, fresh
 * controller), then either finish it or report the residue. */
static void test_restart_mid_transfer(void) {
    size_t len = 300000;
    uint8_t *src = malloc(len), blob[BLOB_SIZE];
    struct dev v = { .rx = calloc(1, DEV_MAX) };
    for (size_t i = 0; i < len; i++)
        src[i] = (uint8_t)(i * 7 + (i >> 11));

    /* Before the restart: 100000 bytes of 300000 through channel 5. */
    {
        _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
        struct iop_dma8237 d;
        CHECK_EQ(iop_isamem_new(&m), 0);
        iop_dma_init(&d, m);
        iop_dma_register_channel(&d, 5, dev_fn, &v);
        iop_dma_request(&d, 5, "i2o swdl");
        struct iop_dma_xfer_req req = { .chan = 5, .dir = IOP_DMA_TO_DEVICE, .host = src, .len = len };
        CHECK_EQ(iop_dma_xfer_begin(&d, &req), 0);
        CHECK_EQ(iop_dma_xfer_step(&d, 60000), 60000);
        CHECK_EQ(iop_dma_xfer_step(&d, 40001), 40000);
        CHECK_EQ(iop_dma_save(&d, blob, sizeof(blob)), BLOB_SIZE);
        /* the old process dies with its transfer */
        iop_dma_xfer_abort(&d);
    }
    CHECK_EQ(v.rx_len, 100000);

    /* Restart 1: resume and finish. */
    {
        _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
        struct iop_dma8237 d;
        CHECK_EQ(iop_isamem_new(&m), 0);
        iop_dma_init(&d, m);
        iop_dma_register_channel(&d, 5, dev_fn, &v);
        CHECK_EQ(iop_dma_load(&d, blob, sizeof(blob)), 0);

        struct iop_dma_xfer_info info;
        CHECK_EQ(iop_dma_xfer_info(&d, &info), 0);
        CHECK(info.suspended);
        CHECK_EQ(info.done, 100000);
        CHECK_EQ(info.len, len);
        struct iop_dma_chan_status st;
        iop_dma_get_status(&d, 5, &st);
        CHECK(st.xfer_active);
        CHECK(st.xfer_suspended);
        CHECK_STREQ(st.owner, "i2o swdl");
        CHECK_EQ(st.residue, 131072 - 100000); /* the block in the registers */
        CHECK(!st.requested);                  /* nothing moves before resume */
        CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 0);

        CHECK_EQ(iop_dma_xfer_step(&d, 100), -EAGAIN);
        CHECK_EQ(iop_dma_free(&d, 5), -EBUSY);
        CHECK_EQ(iop_dma_xfer_resume(&d, src, len - 2), -EINVAL);
        CHECK_EQ(iop_dma_xfer_resume(&d, NULL, len), -EINVAL);
        CHECK_EQ(iop_dma_xfer_resume(&d, src, len), 0);
        CHECK_EQ(iop_dma_xfer_resume(&d, src, len), -ENOENT);
        CHECK_EQ(iop_dma_xfer_step(&d, SIZE_MAX), (int)(len - 100000));
        CHECK_EQ(v.rx_len, len);
        CHECK_MEMEQ(v.rx, src, len); /* every byte exactly once, in order */
        iop_dma_get_status(&d, 5, &st);
        CHECK(!st.xfer_active);
        CHECK_EQ(st.totals.bytes, len); /* totals carried across the restart */
        CHECK_EQ(st.totals.chunks, 1 + 2); /* one before; 128K + 68928 after */
        CHECK_EQ(iop_isamem_allocated(m), 0);
    }

    /* Restart 2: give up and report the residue. */
    {
        struct iop_dma8237 d;
        iop_dma_init(&d, NULL);
        CHECK_EQ(iop_dma_load(&d, blob, sizeof(blob)), 0);
        CHECK_EQ(iop_dma_xfer_abort(&d), (int)(len - 100000));
        iop_dma_claim_lock(&d);
        CHECK_EQ(iop_dma_get_residue(&d, 5), 131072 - 100000);
        iop_dma_release_lock(&d);
        struct iop_dma_chan_status st;
        iop_dma_get_status(&d, 5, &st);
        CHECK(st.masked);
        CHECK(!st.xfer_active);
        CHECK_EQ(iop_dma_free(&d, 5), 0);
    }
    free(src);
    free(v.rx);
}

/* The same from the device into a host buffer, 8-bit, resumed. */
static void test_restart_from_device(void) {
    size_t len = 150000;
    uint8_t *dst = calloc(1, len), blob[BLOB_SIZE];
    struct dev v = { .rx = calloc(1, DEV_MAX) };

    {
        _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
        struct iop_dma8237 d;
        CHECK_EQ(iop_isamem_new(&m), 0);
        iop_dma_init(&d, m);
        iop_dma_register_channel(&d, 2, dev_fn, &v);
        iop_dma_request(&d, 2, "upload");
        struct iop_dma_xfer_req req = { .chan = 2, .dir = IOP_DMA_FROM_DEVICE, .host = dst, .len = len };
        CHECK_EQ(iop_dma_xfer_begin(&d, &req), 0);
        CHECK_EQ(iop_dma_xfer_step(&d, 70001), 70001);
        CHECK_EQ(iop_dma_save(&d, blob, sizeof(blob)), BLOB_SIZE);
        iop_dma_xfer_abort(&d);
    }
    {
        _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
        struct iop_dma8237 d;
        CHECK_EQ(iop_isamem_new(&m), 0);
        iop_dma_init(&d, m);
        iop_dma_register_channel(&d, 2, dev_fn, &v);
        CHECK_EQ(iop_dma_load(&d, blob, sizeof(blob)), 0);
        CHECK_EQ(iop_dma_xfer_resume(&d, dst, len), 0);
        CHECK_EQ(iop_dma_xfer_step(&d, SIZE_MAX), (int)(len - 70001));
    }
    bool ok = true;
    for (size_t i = 0; i < len; i++)
        ok &= dst[i] == (uint8_t)(i * 13 + 1);
    CHECK(ok);
    CHECK_EQ(v.tx_len, len);
    free(dst);
    free(v.rx);
}

int main(void) {
    iop_log_set_sink(log_quiet, NULL);
    TEST(test_round_trip);
    TEST(test_save_errors);
    TEST(test_reject_corrupt);
    TEST(test_restart_mid_transfer);
    TEST(test_restart_from_device);
    return test_summary();
}
