/* The high-level data path: host buffers bounced through ISA memory, ISA-resident
 * buffers split at the 64K/128K boundaries, totals, abort with residue, stalls, errors. */
#include <errno.h>

#include "lib/dma/dma-save.h"
#include "lib/dma/dma-xfer.h"
#include "lib/dma/i8237.h"
#include "lib/dma/isamem.h"
#include "lib/util/cleanup.h"
#include "lib/util/log.h"
#include "testutil.h"

static void log_quiet(void *ctx, int level, const char *msg) {
    (void)ctx;
    (void)level;
    (void)msg;
}

#define DEV_MAX (1u << 20)

struct dev {
    uint8_t *rx;
    size_t rx_len, tx_len;
    size_t total_cap, total; /* stop (drop DREQ) after this many bytes; 0 = never */
    int fail_after;          /* fail with -EIO once this many calls happened; 0 = never */
    size_t calls, verified;
    size_t max_piece;        /* largest len ever offered */
};

static int dev_fn(void *opaque, unsigned chan, enum iop_dma_dir dir, uint8_t *buf, size_t len) {
    struct dev *v = opaque;
    (void)chan;
    v->calls++;
    if (v->fail_after && v->calls >= (size_t)v->fail_after)
        return -EIO;
    if (len > v->max_piece)
        v->max_piece = len;
    size_t n = len;
    if (v->total_cap)
        n = IOP_MIN(n, v->total_cap - v->total);
    v->total += n;
    if (dir == IOP_DMA_TO_DEVICE) {
        if (v->rx_len + n > DEV_MAX)
            return -ENOSPC;
        memcpy(v->rx + v->rx_len, buf, n);
        v->rx_len += n;
    } else if (dir == IOP_DMA_FROM_DEVICE) {
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)((v->tx_len + i) * 31 + ((v->tx_len + i) >> 8));
        v->tx_len += n;
    } else {
        v->verified += n;
    }
    return (int)n;
}

static uint8_t pattern(size_t i) { return (uint8_t)(i * 31 + (i >> 8)); }

struct rig {
    struct iop_isamem *m;
    struct iop_dma8237 d;
    struct dev v;
};

static void rig_init(struct rig *g) {
    memset(g, 0, sizeof(*g));
    CHECK_EQ(iop_isamem_new(&g->m), 0);
    iop_dma_init(&g->d, g->m);
    g->v.rx = calloc(1, DEV_MAX);
    for (unsigned c = 0; c < 8; c++)
        iop_dma_register_channel(&g->d, c, dev_fn, &g->v);
}

static void rig_done(struct rig *g) {
    free(g->v.rx);
    iop_isamem_free(g->m);
}

static uint8_t *host_buf(size_t len, uint8_t seed) {
    uint8_t *b = malloc(len);
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)(seed + i * 7 + (i >> 9));
    return b;
}

static void test_host_to_device_8bit(void) {
    struct rig g;
    rig_init(&g);
    size_t len = 200000;
    _cleanup_free_ uint8_t *src = host_buf(len, 1);

    CHECK_EQ(iop_dma_request(&g.d, 1, "swdl"), 0);
    struct iop_dma_xfer_req req = { .chan = 1, .dir = IOP_DMA_TO_DEVICE, .host = src, .len = len };
    CHECK_EQ(iop_dma_xfer(&g.d, &req), (int)len);
    CHECK_EQ(g.v.rx_len, len);
    CHECK_MEMEQ(g.v.rx, src, len);

    struct iop_dma_chan_status st;
    iop_dma_get_status(&g.d, 1, &st);
    CHECK_EQ(st.totals.bytes, len);
    CHECK_EQ(st.totals.chunks, 4); /* 3 x 64K + 3392 */
    CHECK_EQ(st.totals.bounces, 4);
    CHECK_EQ(st.residue, 0);
    CHECK(st.tc);
    CHECK(st.masked);
    CHECK(!st.xfer_active);
    /* The bounce buffer is returned; the ISA memory used is one 64K block. */
    CHECK_EQ(iop_isamem_allocated(g.m), 0);
    CHECK_EQ(iop_isamem_resident(g.m), IOP_ISAMEM_CHUNK);
    CHECK_EQ(iop_dma_xfer_abort(&g.d), -ENOENT);
    rig_done(&g);
}

static void test_device_to_host_16bit(void) {
    struct rig g;
    rig_init(&g);
    size_t len = 300000;
    _cleanup_free_ uint8_t *dst = calloc(1, len);

    CHECK_EQ(iop_dma_request(&g.d, 5, "swul"), 0);
    struct iop_dma_xfer_req req = { .chan = 5, .dir = IOP_DMA_FROM_DEVICE, .host = dst, .len = len };
    CHECK_EQ(iop_dma_xfer(&g.d, &req), (int)len);
    bool ok = true;
    for (size_t i = 0; i < len; i++)
        ok &= dst[i] == pattern(i);
    CHECK(ok);
    struct iop_dma_chan_status st;
    iop_dma_get_status(&g.d, 5, &st);
    CHECK_EQ(st.totals.chunks, 3);
    CHECK_EQ(st.totals.bounces, 3);
    CHECK_EQ(st.totals.bytes, len);
    CHECK_EQ(iop_isamem_allocated(g.m), 0);
    rig_done(&g);
}

/* The channel is programmed with whole boundary-sized blocks (the device may be fed
 * them in smaller pieces). */
static void test_block_sizes(void) {
    struct rig g;
    rig_init(&g);
    size_t len = 300000;
    _cleanup_free_ uint8_t *src = host_buf(len, 4);
    struct iop_dma_chan_status st;

    static const unsigned chans[] = { 1, 5 };
    for (size_t i = 0; i < 2; i++) {
        unsigned c = chans[i];
        uint32_t block = c >= 4 ? 131072 : 65536;
        iop_dma_request(&g.d, c, "blocks");
        struct iop_dma_xfer_req req = { .chan = c, .dir = IOP_DMA_TO_DEVICE, .host = src, .len = len };
        CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), 0);
        CHECK_EQ(iop_dma_xfer_step(&g.d, 1000), 1000);
        iop_dma_get_status(&g.d, c, &st);
        CHECK_EQ(st.count, block);
        CHECK_EQ(st.base_addr % block, 0); /* a full block is a whole aligned page (pair) */
        CHECK_EQ(st.residue, block - 1000);
        CHECK(g.v.max_piece <= block);
        CHECK_EQ(iop_dma_xfer_step(&g.d, block), (int)block); /* rest of block 1, 1000 of block 2 */
        iop_dma_get_status(&g.d, c, &st);
        CHECK_EQ(st.residue, block - 1000);
        CHECK_EQ(st.totals.chunks, 2);
        CHECK_EQ(iop_dma_xfer_abort(&g.d), (int)(len - 1000 - block));
    }
    rig_done(&g);
}

/* Data already in ISA memory: no bounce, blocks end at every boundary. */
static void test_isa_resident_split(void) {
    struct rig g;
    rig_init(&g);
    size_t len = 0x30000;
    uint32_t at = 0x2f000;
    _cleanup_free_ uint8_t *src = host_buf(len, 5);
    CHECK_EQ(iop_isamem_write(g.m, at, src, len), 0);

    CHECK_EQ(iop_dma_request(&g.d, 1, "isa8"), 0);
    struct iop_dma_xfer_req req = { .chan = 1, .dir = IOP_DMA_TO_DEVICE, .isa_addr = at, .len = len };
    CHECK_EQ(iop_dma_xfer(&g.d, &req), (int)len);
    CHECK_MEMEQ(g.v.rx, src, len);
    struct iop_dma_chan_status st;
    iop_dma_get_status(&g.d, 1, &st);
    CHECK_EQ(st.totals.chunks, 4); /* 4K | 64K | 64K | 60K */
    CHECK_EQ(st.totals.bounces, 0);

    g.v.rx_len = 0;
    CHECK_EQ(iop_dma_request(&g.d, 6, "isa16"), 0);
    req.chan = 6;
    CHECK_EQ(iop_dma_xfer(&g.d, &req), (int)len);
    CHECK_MEMEQ(g.v.rx, src, len);
    iop_dma_get_status(&g.d, 6, &st);
    CHECK_EQ(st.totals.chunks, 2); /* 0x2F000-0x3FFFF | 0x40000-0x5EFFF */
    CHECK_EQ(st.totals.bounces, 0);

    /* From the device into ISA memory in place. */
    req.dir = IOP_DMA_FROM_DEVICE;
    req.len = 0x1000;
    g.v.tx_len = 0;
    CHECK_EQ(iop_dma_xfer(&g.d, &req), 0x1000);
    uint8_t b[0x1000];
    iop_isamem_read(g.m, at, b, sizeof(b));
    bool ok = true;
    for (size_t i = 0; i < sizeof(b); i++)
        ok &= b[i] == pattern(i);
    CHECK(ok);
    rig_done(&g);
}

static void test_verify_helper(void) {
    struct rig g;
    rig_init(&g);
    _cleanup_free_ uint8_t *buf = host_buf(5000, 3);
    _cleanup_free_ uint8_t *copy = malloc(5000);
    memcpy(copy, buf, 5000);

    iop_dma_request(&g.d, 3, "verify");
    struct iop_dma_xfer_req req = { .chan = 3, .dir = IOP_DMA_VERIFY, .host = buf, .len = 5000 };
    CHECK_EQ(iop_dma_xfer(&g.d, &req), 5000);
    CHECK_MEMEQ(buf, copy, 5000);
    CHECK_EQ(g.v.verified, 5000);
    CHECK_EQ(g.v.rx_len, 0);
    struct iop_dma_chan_status st;
    iop_dma_get_status(&g.d, 3, &st);
    CHECK_EQ(st.totals.verified, 5000);
    CHECK_EQ(st.totals.bytes, 0);
    CHECK_EQ(st.totals.bounces, 0);
    rig_done(&g);
}

static void test_begin_rules(void) {
    struct rig g;
    rig_init(&g);
    uint8_t buf[64];
    struct iop_dma_xfer_req req = { .chan = 5, .dir = IOP_DMA_TO_DEVICE, .host = buf, .len = sizeof(buf) };

    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), -EPERM);
    iop_dma_request(&g.d, 5, "x");
    iop_dma_request(&g.d, 1, "y");
    req.chan = 4;
    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), -EINVAL);
    req.chan = 8;
    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), -EINVAL);
    req.chan = 5;
    req.dir = 0;
    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), -EINVAL);
    req.dir = 7;
    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), -EINVAL);
    req.dir = IOP_DMA_TO_DEVICE;
    req.len = 0;
    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), -EINVAL);
    req.len = 63; /* odd on a 16-bit channel */
    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), -EINVAL);
    req.len = (size_t)IOP_DMA_XFER_LEN_MAX + 2;
    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), -EINVAL);
    req.len = 64;
    req.host = NULL;
    req.isa_addr = IOP_ISAMEM_SIZE - 32;
    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), -EFAULT);
    req.isa_addr = 0xffffffff;
    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), -EFAULT);
    req.isa_addr = 0x1001;
    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), -EINVAL); /* odd on 16-bit */
    req.isa_addr = 0x1000;
    iop_dma_claim_lock(&g.d);
    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), -EDEADLK);
    iop_dma_release_lock(&g.d);
    /* The 8-bit channels with the cascade masked. */
    req.chan = 1;
    iop_dma_io_write(&g.d, 0xd4, 4);
    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), -EIO);
    iop_dma_io_write(&g.d, 0xd4, 0);

    /* One at a time; the channel cannot be freed under it. */
    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), 0);
    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), -EBUSY);
    CHECK_EQ(iop_dma_free(&g.d, 1), -EBUSY);
    struct iop_dma_xfer_info info;
    CHECK_EQ(iop_dma_xfer_info(&g.d, &info), 0);
    CHECK_EQ(info.chan, 1);
    CHECK_EQ(info.len, 64);
    CHECK_EQ(info.done, 0);
    CHECK(!info.bounced);
    iop_dma_claim_lock(&g.d);
    CHECK_EQ(iop_dma_xfer_step(&g.d, 10), -EDEADLK);
    iop_dma_release_lock(&g.d);
    CHECK_EQ(iop_dma_xfer_abort(&g.d), 64);
    CHECK_EQ(iop_dma_xfer_info(&g.d, &info), -ENOENT);
    CHECK_EQ(iop_dma_xfer_step(&g.d, 10), -ENOENT);
    CHECK_EQ(iop_dma_free(&g.d, 1), 0);

    /* No ISA memory. */
    struct iop_dma8237 e;
    iop_dma_init(&e, NULL);
    iop_dma_request(&e, 5, "x");
    req.chan = 5;
    CHECK_EQ(iop_dma_xfer_begin(&e, &req), -ENODEV);
    rig_done(&g);
}

/* "Stop after N bytes": the residue is what a real aborted transfer leaves. */
static void test_abort_residue(void) {
    struct rig g;
    rig_init(&g);
    size_t len = 200000;
    _cleanup_free_ uint8_t *src = host_buf(len, 9);

    iop_dma_request(&g.d, 1, "abort");
    struct iop_dma_xfer_req req = { .chan = 1, .dir = IOP_DMA_TO_DEVICE, .host = src, .len = len };
    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), 0);
    CHECK_EQ(iop_isamem_allocated(g.m), 65536); /* the bounce buffer */
    CHECK_EQ(iop_dma_xfer_step(&g.d, 70000), 70000);
    struct iop_dma_xfer_info info;
    CHECK_EQ(iop_dma_xfer_info(&g.d, &info), 0);
    CHECK_EQ(info.done, 70000);
    CHECK(info.bounced);
    CHECK_EQ(iop_dma_xfer_abort(&g.d), (int)(len - 70000));

    /* The channel: second block, 70000 - 65536 = 4464 bytes in. */
    iop_dma_claim_lock(&g.d);
    CHECK_EQ(iop_dma_get_residue(&g.d, 1), 65536 - 4464);
    iop_dma_release_lock(&g.d);
    struct iop_dma_chan_status st;
    iop_dma_get_status(&g.d, 1, &st);
    CHECK(st.masked);
    CHECK(st.tc); /* latched by the first block; nobody read the status register */
    CHECK_EQ(iop_dma_io_read(&g.d, 0x08) & 0x0f, 0x02);
    iop_dma_get_status(&g.d, 1, &st);
    CHECK(!st.tc);
    CHECK_EQ(st.totals.bytes, 70000);
    CHECK_EQ(st.totals.chunks, 2);
    CHECK_EQ(g.v.rx_len, 70000);
    CHECK_MEMEQ(g.v.rx, src, 70000);
    CHECK_EQ(iop_isamem_allocated(g.m), 0);

    /* 16-bit: an odd budget is rounded down to whole words. */
    iop_dma_request(&g.d, 7, "odd");
    req.chan = 7;
    g.v.rx_len = 0;
    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), 0);
    CHECK_EQ(iop_dma_xfer_step(&g.d, 1001), 1000);
    CHECK_EQ(iop_dma_xfer_step(&g.d, 1), 0);
    CHECK_EQ(iop_dma_xfer_abort(&g.d), (int)(len - 1000));
    iop_dma_claim_lock(&g.d);
    CHECK_EQ(iop_dma_get_residue(&g.d, 7), 131072 - 1000);
    iop_dma_release_lock(&g.d);
    rig_done(&g);
}

static void test_small_steps(void) {
    struct rig g;
    rig_init(&g);
    size_t len = 150000;
    _cleanup_free_ uint8_t *dst = calloc(1, len);

    iop_dma_request(&g.d, 2, "steps");
    struct iop_dma_xfer_req req = { .chan = 2, .dir = IOP_DMA_FROM_DEVICE, .host = dst, .len = len };
    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), 0);
    size_t total = 0;
    int r, n = 0;
    while ((r = iop_dma_xfer_step(&g.d, 777)) > 0) {
        total += (size_t)r;
        n++;
    }
    CHECK_EQ(r, -ENOENT); /* finished on the last step that moved data */
    CHECK_EQ(total, len);
    CHECK_EQ(n, (int)((len + 776) / 777));
    bool ok = true;
    for (size_t i = 0; i < len; i++)
        ok &= dst[i] == pattern(i);
    CHECK(ok);
    rig_done(&g);
}

static int lock_grabber(void *opaque, unsigned chan, enum iop_dma_dir dir, uint8_t *buf, size_t len) {
    (void)chan;
    (void)dir;
    (void)buf;
    iop_dma_claim_lock(opaque);
    return (int)IOP_MIN(len, (size_t)100);
}

static void test_stall_and_errors(void) {
    struct rig g;
    rig_init(&g);
    size_t len = 40000;
    _cleanup_free_ uint8_t *src = host_buf(len, 2);

    /* The device stops asking after 5000 bytes: a short count, the channel's residue
     * says the rest. */
    iop_dma_request(&g.d, 0, "stall");
    g.v.total_cap = 5000;
    struct iop_dma_xfer_req req = { .chan = 0, .dir = IOP_DMA_TO_DEVICE, .host = src, .len = len };
    CHECK_EQ(iop_dma_xfer(&g.d, &req), 5000);
    iop_dma_claim_lock(&g.d);
    CHECK_EQ(iop_dma_get_residue(&g.d, 0), (int)len - 5000);
    iop_dma_release_lock(&g.d);
    CHECK_EQ(iop_isamem_allocated(g.m), 0);

    /* A device error ends the transfer and is returned. */
    g.v.total_cap = 0;
    g.v.calls = 0;
    g.v.fail_after = 1;
    CHECK_EQ(iop_dma_xfer(&g.d, &req), -EIO);
    struct iop_dma_xfer_info info;
    CHECK_EQ(iop_dma_xfer_info(&g.d, &info), -ENOENT);
    CHECK_EQ(iop_isamem_allocated(g.m), 0);
    g.v.fail_after = 0;

    /* Masked under the transfer: no progress, no error; unmasked: it goes on. */
    g.v.rx_len = 0;
    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), 0);
    CHECK_EQ(iop_dma_xfer_step(&g.d, 1000), 1000);
    iop_dma_io_write(&g.d, 0x0a, 4 | 0);
    CHECK_EQ(iop_dma_xfer_step(&g.d, 1000), 0);
    iop_dma_io_write(&g.d, 0x0a, 0);
    CHECK_EQ(iop_dma_xfer_step(&g.d, SIZE_MAX), (int)len - 1000);
    CHECK_MEMEQ(g.v.rx, src, len);

    /* Reprogrammed under the transfer (another user's port writes): refused, -EIO. */
    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), 0);
    CHECK_EQ(iop_dma_xfer_step(&g.d, 1000), 1000);
    iop_dma_io_write(&g.d, 0x0c, 0);
    iop_dma_io_write(&g.d, 0x00, 0x00);
    iop_dma_io_write(&g.d, 0x00, 0x00);
    CHECK_EQ(iop_dma_xfer_step(&g.d, 1000), -EIO);
    CHECK_EQ(iop_dma_xfer_info(&g.d, &info), -ENOENT);

    /* A handler that claims the DMA lock against its contract: the one-shot call
     * returns the error and does not leave the transfer (and its bounce) behind. */
    iop_dma_register_channel(&g.d, 0, lock_grabber, &g.d);
    CHECK_EQ(iop_dma_xfer(&g.d, &req), -EDEADLK);
    CHECK_EQ(iop_dma_xfer_info(&g.d, &info), -ENOENT);
    CHECK_EQ(iop_isamem_allocated(g.m), 0);
    iop_dma_release_lock(&g.d);
    iop_dma_register_channel(&g.d, 0, dev_fn, &g.v);

    /* No room for a bounce buffer. */
    uint32_t a;
    while (iop_isamem_alloc_buf(g.m, 60 << 10, false, &a) == 0)
        ;
    CHECK_EQ(iop_dma_xfer_begin(&g.d, &req), -ENOMEM);
    rig_done(&g);
}

/* A device for the comparison below: takes at most `limit` units' bytes per call,
 * drops DREQ for good after `cap` bytes, fails on call `fail_at`. */
struct pdev {
    size_t limit, cap, total, calls, fail_at;
    uint8_t seen[4096];
    size_t seen_len;
};

static int pdev_fn(void *opaque, unsigned chan, enum iop_dma_dir dir, uint8_t *buf, size_t len) {
    struct pdev *v = opaque;
    (void)chan;
    if (++v->calls == v->fail_at)
        return -EIO;
    size_t n = IOP_MIN(len, v->limit ? v->limit : len);
    n = IOP_MIN(n, v->cap - v->total);
    for (size_t i = 0; i < n && dir != IOP_DMA_VERIFY; i++) {
        if (dir == IOP_DMA_TO_DEVICE && v->seen_len < sizeof(v->seen))
            v->seen[v->seen_len++] = buf[i];
        else if (dir == IOP_DMA_FROM_DEVICE)
            buf[i] = (uint8_t)(v->total + i);
    }
    v->total += n;
    return (int)n;
}

/* iop_dma_xfer takes a short way for ISA-resident data in one block: it must end in
 * exactly the state, result and device traffic of begin + steps (the general way, as
 * iop_dma_xfer ran it before), whatever the device does (all at once, in pieces,
 * stopping, failing) and for blocks that do or do not fit one 64K/128K window. */
static void test_one_block_equals_steps(void) {
    struct rig a, b;
    struct pdev va, vb;
    rig_init(&a);
    rig_init(&b);
    static const unsigned chans[] = { 0, 1, 2, 3, 5, 6, 7 };
    for (unsigned i = 0; i < 7; i++) {
        CHECK_EQ(iop_dma_request(&a.d, chans[i], "cmp"), 0);
        CHECK_EQ(iop_dma_request(&b.d, chans[i], "cmp"), 0);
        iop_dma_register_channel(&a.d, chans[i], pdev_fn, &va);
        iop_dma_register_channel(&b.d, chans[i], pdev_fn, &vb);
    }
    unsigned seed = 99;
    size_t outcomes[4] = { 0 }; /* whole, short, none, error */
    for (int it = 0; it < 3000; it++) {
        unsigned chan = chans[(unsigned)rand_r(&seed) % 7];
        bool wide = chan >= 4;
        uint32_t b_ = iop_isamem_boundary(wide);
        struct iop_dma_xfer_req req = {
            .chan = chan,
            .dir = (enum iop_dma_dir)(1 + rand_r(&seed) % 3),
            .isa_addr = (uint32_t)rand_r(&seed) % (IOP_ISAMEM_SIZE / 64) * 64 + (uint32_t)(rand_r(&seed) % 3) * 2,
            .len = 2 + (size_t)((unsigned)rand_r(&seed) % (b_ / 8)) * 2,
        };
        if (rand_r(&seed) % 4 == 0) /* near the end of a window: one block or two */
            req.isa_addr = (req.isa_addr | (b_ - 1)) + 1 - (uint32_t)(rand_r(&seed) % 4096) * 2;
        if (req.isa_addr + req.len > IOP_ISAMEM_SIZE)
            req.isa_addr = 0;
        memset(&va, 0, sizeof(va));
        va.limit = rand_r(&seed) % 3 ? 0 : 2 * (1 + (size_t)rand_r(&seed) % 3000);
        va.cap = rand_r(&seed) % 3 ? SIZE_MAX : (size_t)rand_r(&seed) % (req.len + 1) & ~(size_t)1;
        if (rand_r(&seed) % 16 == 0)
            va.cap = 0; /* never asks */
        va.fail_at = rand_r(&seed) % 5 ? 0 : 1 + (size_t)rand_r(&seed) % 3;
        vb = va;

        int ra = iop_dma_xfer(&a.d, &req);
        int rb = iop_dma_xfer_begin(&b.d, &req);
        size_t total = 0;
        while (rb == 0) { /* iop_dma_xfer's loop */
            int r = iop_dma_xfer_step(&b.d, IOP_DMA_XFER_LEN_MAX);
            if (r < 0) {
                if (b.d.xfer.active)
                    iop_dma_xfer_abort(&b.d);
                rb = r;
                break;
            }
            total += (size_t)r;
            if (!b.d.xfer.active || r == 0) {
                if (b.d.xfer.active)
                    iop_dma_xfer_abort(&b.d);
                rb = (int)total;
                break;
            }
        }
        CHECK_EQ(ra, rb);
        outcomes[ra == (int)req.len ? 0 : ra > 0 ? 1 : ra == 0 ? 2 : 3]++;
        CHECK_EQ(va.calls, vb.calls);
        CHECK_EQ(va.total, vb.total);
        CHECK_EQ(va.seen_len, vb.seen_len);
        CHECK_MEMEQ(va.seen, vb.seen, va.seen_len);
        CHECK_MEMEQ(a.d.ctl, b.d.ctl, sizeof(a.d.ctl));
        CHECK_MEMEQ(&a.d.xfer, &b.d.xfer, sizeof(a.d.xfer));
        uint8_t sa[1024], sb[1024];
        int na = iop_dma_save(&a.d, sa, sizeof(sa)), nb = iop_dma_save(&b.d, sb, sizeof(sb));
        CHECK(na > 0);
        CHECK_EQ(na, nb);
        CHECK_MEMEQ(sa, sb, (size_t)na);
        CHECK_EQ(iop_isamem_resident(a.m), iop_isamem_resident(b.m));
        if (req.dir == IOP_DMA_FROM_DEVICE && ra > 0) {
            uint8_t ma[4096], mb[4096];
            size_t n = IOP_MIN((size_t)ra, sizeof(ma));
            CHECK_EQ(iop_isamem_read(a.m, req.isa_addr, ma, n), 0);
            CHECK_EQ(iop_isamem_read(b.m, req.isa_addr, mb, n), 0);
            CHECK_MEMEQ(ma, mb, n);
        }
    }
    for (int k = 0; k < 4; k++)
        CHECK(outcomes[k] > 0);
    rig_done(&a);
    rig_done(&b);
}

int main(void) {
    iop_log_set_sink(log_quiet, NULL);
    TEST(test_host_to_device_8bit);
    TEST(test_device_to_host_16bit);
    TEST(test_block_sizes);
    TEST(test_isa_resident_split);
    TEST(test_verify_helper);
    TEST(test_begin_rules);
    TEST(test_abort_residue);
    TEST(test_small_steps);
    TEST(test_stall_and_errors);
    TEST(test_one_block_equals_steps);
    return test_summary();
}
