/* The IOP's ISA data path: bytes really move through the 8237 channel, both ways, odd
 * lengths on word channels, totals and residue, save/load. */
#include <errno.h>

#include "lib/dma/dma-save.h"
#include "lib/i2o/isa-path.h"
#include "testutil.h"

static void fill(uint8_t *b, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 31 + seed);
}

static void roundtrip(unsigned chan, size_t n) {
    struct iop_isa_path *p;
    CHECK_EQ(iop_isa_path_new(chan, &p), 0);
    uint8_t *host = malloc(n), *iop = malloc(n + 1), *back = malloc(n);
    fill(host, n, chan);
    iop[n] = 0xEE;
    CHECK_EQ(iop_isa_path_move(p, true, iop, host, n), (long)n);
    CHECK_MEMEQ(iop, host, n);
    CHECK_EQ(iop[n], 0xEE); /* the padding byte of an odd count never reaches dst */
    CHECK_EQ(iop_isa_path_move(p, false, back, iop, n), (long)n);
    CHECK_MEMEQ(back, host, n);
    struct iop_dma_chan_status st;
    CHECK_EQ(iop_dma_get_status(&p->dma, chan, &st), 0);
    size_t padded = chan > 4 ? (n + 1) & ~(size_t)1 : n;
    CHECK_EQ(st.totals.bytes, 2 * padded);
    CHECK(st.totals.chunks >= 2);
    CHECK(st.owned);
    CHECK_STREQ(st.owner, IOP_ISA_PATH_OWNER);
    free(host);
    free(iop);
    free(back);
    iop_isa_path_free(p);
}

static void test_moves(void) {
    roundtrip(1, 8192);
    roundtrip(1, 101);
    roundtrip(5, 8192);
    roundtrip(5, 101);      /* odd on a word channel */
    roundtrip(7, 300000);   /* several 128K blocks */
    roundtrip(3, 200000);   /* several 64K blocks */
}

static void test_bad(void) {
    struct iop_isa_path *p;
    CHECK_EQ(iop_isa_path_new(4, &p), -EINVAL);
    CHECK_EQ(iop_isa_path_new(8, &p), -EINVAL);
    CHECK_EQ(iop_isa_path_new(2, &p), 0);
    uint8_t a[4], b[4];
    CHECK_EQ(iop_isa_path_move(p, true, a, b, 0), 0);
    CHECK_EQ(iop_isa_path_move(p, true, a, b, IOP_ISA_PATH_MAX_MOVE + 1), -EINVAL);
    iop_isa_path_free(p);
}

static void test_save_load(void) {
    struct iop_isa_path *p, *q;
    CHECK_EQ(iop_isa_path_new(6, &p), 0);
    uint8_t host[5000], dev[5000];
    fill(host, sizeof(host), 9);
    CHECK_EQ(iop_isa_path_move(p, true, dev, host, sizeof(host)), 5000);
    uint8_t blob[2048];
    int n = iop_isa_path_save(p, blob, sizeof(blob));
    CHECK(n > 0);
    CHECK_EQ(iop_isa_path_new(6, &q), 0);
    uint64_t residue = 99;
    CHECK_EQ(iop_isa_path_load(q, blob, (size_t)n, &residue), 0);
    CHECK_EQ(residue, 0);
    struct iop_dma_chan_status a, b;
    CHECK_EQ(iop_dma_get_status(&p->dma, 6, &a), 0);
    CHECK_EQ(iop_dma_get_status(&q->dma, 6, &b), 0);
    CHECK_EQ(a.totals.bytes, b.totals.bytes);
    CHECK_EQ(a.mode, b.mode);
    /* The loaded path still moves data. */
    uint8_t back[5000];
    CHECK_EQ(iop_isa_path_move(q, false, back, dev, sizeof(back)), 5000);
    CHECK_MEMEQ(back, host, sizeof(back));
    /* A blob from a configuration with another channel: ours is taken anyway. */
    struct iop_isa_path *r;
    CHECK_EQ(iop_isa_path_new(1, &r), 0);
    CHECK_EQ(iop_isa_path_load(r, blob, (size_t)n, NULL), 0);
    CHECK_EQ(iop_isa_path_move(r, true, dev, host, 100), 100);
    /* Garbage is refused. */
    blob[0] ^= 0xff;
    CHECK_EQ(iop_isa_path_load(q, blob, (size_t)n, NULL), -EINVAL);
    iop_isa_path_free(p);
    iop_isa_path_free(q);
    iop_isa_path_free(r);
}

/* A saved state in which the path's channel cannot reach the bus is refused and changes
 * nothing (found by the dma-state fuzzer: such a file made every later move fail). */
static void test_load_blocked(void) {
    enum { OFF_COMMAND = 12, OFF_MASK = 16 }; /* tests/dma/test-dma-save.c pins the layout */
    static const struct {
        unsigned chan, off;
        uint8_t bits;
    } cases[] = {
        { 1, OFF_MASK + 1, 0x01 },                     /* cascade channel 4 masked */
        { 2, OFF_COMMAND + 1, IOP_DMA_CMD_DISABLE },   /* the 16-bit controller disabled */
        { 3, OFF_COMMAND, IOP_DMA_CMD_DISABLE },       /* its own controller disabled */
        { 6, OFF_COMMAND + 1, IOP_DMA_CMD_DISABLE },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct iop_isa_path *p;
        CHECK_EQ(iop_isa_path_new(cases[i].chan, &p), 0);
        uint8_t blob[2048], before[2048], after[2048], a[64], b[64];
        fill(a, sizeof(a), 3);
        int n = iop_isa_path_save(p, blob, sizeof(blob));
        CHECK(n > 0);
        CHECK_EQ(iop_isa_path_save(p, before, sizeof(before)), n);
        blob[cases[i].off] |= cases[i].bits;
        CHECK_EQ(iop_isa_path_load(p, blob, (size_t)n, NULL), -EINVAL);
        CHECK_EQ(iop_isa_path_save(p, after, sizeof(after)), n);
        CHECK_MEMEQ(before, after, (size_t)n);
        CHECK_EQ(iop_isa_path_move(p, true, b, a, sizeof(a)), (int)sizeof(a));
        CHECK_MEMEQ(a, b, sizeof(a));
        iop_isa_path_free(p);
    }
}

int main(void) {
    TEST(test_moves);
    TEST(test_bad);
    TEST(test_save_load);
    TEST(test_load_blocked);
    return test_summary();
}
