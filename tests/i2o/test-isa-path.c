/* The IOP's ISA data path: bytes really move through the 8237 channel, both ways, odd
 * lengths on word channels, totals and residue, save/load. */
#include <errno.h>

#include "lib/dma/dma-save.h"
#include "lib/dma/isamem.h"
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

/* A buffer from the path's own ISA memory moves in place: the channel is programmed
 * with the buffer's bus address, nothing is bounced, the registers tell the story
 * (address past the block, terminal count, residue 0), boundary rules hold for the
 * buffers handed out, and odd lengths on a word channel still pad correctly. */
static void direct(unsigned chan, size_t n) {
    struct iop_isa_path *p;
    CHECK_EQ(iop_isa_path_new(chan, &p), 0);
    bool wide = chan > 4;
    uint8_t *buf = iop_isa_path_buf_alloc(p, n), *dev = malloc(n + 1), *host = malloc(n);
    CHECK(buf != NULL);
    uint32_t addr;
    CHECK_EQ(iop_isamem_addr_of(p->mem, buf, n, &addr), 0);
    CHECK_EQ(iop_isamem_check_block(addr, wide ? (n + 1) & ~(size_t)1 : n, wide), 0);
    fill(buf, n, chan + 7);
    memcpy(host, buf, n);
    dev[n] = 0xEE;
    CHECK_EQ(iop_isa_path_move(p, true, dev, buf, n), (long)n);
    CHECK_MEMEQ(dev, host, n);
    CHECK_EQ(dev[n], 0xEE);
    struct iop_dma_chan_status st;
    CHECK_EQ(iop_dma_get_status(&p->dma, chan, &st), 0);
    size_t padded = wide ? (n + 1) & ~(size_t)1 : n;
    if (padded == n) { /* in place: programmed at the buffer itself */
        CHECK_EQ(st.base_addr, addr);
        /* The address register counts through the block and wraps inside its page
         * after a whole 64K/128K block, as the silicon's does. */
        uint32_t b = iop_isamem_boundary(wide);
        CHECK_EQ(st.cur_addr, (addr & ~(b - 1)) | ((addr + (uint32_t)n) & (b - 1)));
        CHECK_EQ(st.totals.bounces, 0);
    } else { /* odd on a word channel: bounced with a pad byte */
        CHECK(st.totals.bounces > 0);
    }
    CHECK(st.tc);
    CHECK(st.masked);
    CHECK_EQ(st.residue, 0);
    CHECK_EQ(st.totals.bytes, padded);
    memset(buf, 0, n);
    CHECK_EQ(iop_isa_path_move(p, false, buf, dev, n), (long)n);
    CHECK_MEMEQ(buf, host, n);
    iop_isa_path_buf_free(p, buf);
    free(dev);
    free(host);
    iop_isa_path_free(p);
}

static void test_direct_buffers(void) {
    direct(5, 8192);
    direct(5, 128 << 10);
    direct(1, 64 << 10);
    direct(3, 777);
    direct(6, 101); /* odd on a word channel: the padded path */
    /* What cannot be one block is refused; a full space runs out, then recovers. */
    struct iop_isa_path *p;
    CHECK_EQ(iop_isa_path_new(1, &p), 0);
    CHECK(iop_isa_path_buf_alloc(p, (64 << 10) + 1) == NULL);
    CHECK(iop_isa_path_buf_alloc(p, 0) == NULL);
    void *bufs[256];
    for (unsigned i = 0; i < 256; i++)
        CHECK((bufs[i] = iop_isa_path_buf_alloc(p, 64 << 10)) != NULL);
    CHECK(iop_isa_path_buf_alloc(p, 1) == NULL);
    iop_isa_path_buf_free(p, bufs[17]);
    CHECK(iop_isa_path_buf_alloc(p, 1) == bufs[17]);
    /* Memory the path does not own is not freed by it. */
    uint8_t other[16];
    iop_isa_path_buf_free(p, other);
    iop_isa_path_buf_free(p, NULL);
    iop_isa_path_free(p);
}

/* Idle: the ISA memory no buffer holds goes back; buffers keep theirs. */
static void test_trim(void) {
    struct iop_isa_path *p;
    CHECK_EQ(iop_isa_path_new(5, &p), 0);
    uint8_t host[20000], dev[20000];
    fill(host, sizeof(host), 3);
    CHECK_EQ(iop_isa_path_move(p, true, dev, host, sizeof(host)), 20000); /* bounced */
    CHECK(iop_isamem_resident(p->mem) > 0);
    CHECK_EQ(iop_isa_path_trim(p), IOP_ISAMEM_CHUNK);
    CHECK_EQ(iop_isamem_resident(p->mem), 0);
    uint8_t *keep = iop_isa_path_buf_alloc(p, 4096);
    fill(keep, 4096, 11);
    CHECK_EQ(iop_isa_path_move(p, true, dev, host, sizeof(host)), 20000); /* a bounce elsewhere */
    CHECK_EQ(iop_isa_path_trim(p), 0); /* the bounce shared keep's chunk */
    CHECK(iop_isamem_resident(p->mem) > 0);
    uint8_t want[4096];
    fill(want, sizeof(want), 11);
    CHECK_MEMEQ(keep, want, sizeof(want));
    iop_isa_path_buf_free(p, keep);
    CHECK_EQ(iop_isa_path_trim(p), IOP_ISAMEM_CHUNK);
    iop_isa_path_free(p);
}

int main(void) {
    TEST(test_moves);
    TEST(test_direct_buffers);
    TEST(test_trim);
    TEST(test_bad);
    TEST(test_save_load);
    TEST(test_load_blocked);
    return test_summary();
}
