/* Fuzz-style: random port traffic, driver API calls, device behaviour and transfers
 * with invariants checked after every step, and random / mutated blobs fed to the
 * loader.  Deterministic (fixed seeds); meant to run under ASan/UBSan. */
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

static uint64_t rng_state;
static uint32_t rnd(void) {
    /* xorshift64*: reproducible across libcs, unlike rand(). */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}
static uint32_t rnd_below(uint32_t n) { return n ? rnd() % n : 0; }

/* A device that does anything legal or illegal, touching every byte it is offered (so
 * ASan sees any bad pointer or length). */
static int dev_fn(void *opaque, unsigned chan, enum iop_dma_dir dir, uint8_t *buf, size_t len) {
    uint64_t *sum = opaque;
    switch (rnd_below(16)) {
    case 0:
        return -EIO;
    case 1:
        return (int)len + 1 + (int)rnd_below(3); /* more than offered */
    case 2:
        return 0;
    default:
        break;
    }
    if (dir == IOP_DMA_VERIFY) {
        CHECK(buf == NULL);
    } else {
        CHECK(buf != NULL);
        for (size_t i = 0; i < len; i++) {
            if (dir == IOP_DMA_TO_DEVICE)
                *sum += buf[i];
            else
                buf[i] = (uint8_t)i;
        }
    }
    size_t n = rnd_below(4) ? len : rnd_below((uint32_t)len + 1);
    if (chan >= 4 && rnd_below(8))
        n &= ~(size_t)1; /* mostly legal on 16-bit channels; sometimes an odd count */
    return (int)n;
}

static const uint16_t ports[] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x81, 0x82, 0x83, 0x87, 0x89, 0x8a, 0x8b, 0x8f, 0xc0, 0xc2, 0xc4, 0xc6, 0xc8, 0xca, 0xcc, 0xce,
    0xd0, 0xd2, 0xd4, 0xd6, 0xd8, 0xda, 0xdc, 0xde,
};

static void check_invariants(struct iop_dma8237 *d, struct iop_isamem *m) {
    for (unsigned i = 0; i < 2; i++) {
        CHECK(d->ctl[i].mask <= 0x0f);
        CHECK(d->ctl[i].flip_flop <= 1);
        CHECK(d->ctl[i].finished <= 0x0f);
        CHECK(d->ctl[i].command == 0 || d->ctl[i].command == IOP_DMA_CMD_DISABLE);
    }
    for (unsigned c = 0; c < IOP_DMA_NCHANNELS; c++) {
        CHECK((d->chan[c].mode & 3) == 0);
        CHECK(d->chan[c].handler != NULL);
        CHECK(d->chan[c].owner[IOP_DMA_OWNER_MAX - 1] == 0);
        struct iop_dma_chan_status st;
        CHECK_EQ(iop_dma_get_status(d, c, &st), 0);
        CHECK(st.residue <= (c >= 4 ? 131072u : 65536u));
        CHECK(st.base_addr < IOP_ISAMEM_SIZE);
    }
    CHECK(d->chan[IOP_DMA_CASCADE_CHANNEL].owner[0] == 0);
    struct iop_dma_xfer_info info;
    if (iop_dma_xfer_info(d, &info) == 0) {
        CHECK(info.done < info.len);
        /* A running bounced transfer owns exactly one bounce buffer (whole units). */
        size_t want = 0;
        if (info.bounced && !info.suspended)
            want = (IOP_MIN(info.len, info.chan >= 4 ? 131072u : 65536u) + IOP_ISAMEM_UNIT - 1) / IOP_ISAMEM_UNIT *
                   IOP_ISAMEM_UNIT;
        CHECK_EQ(iop_isamem_allocated(m), want);
    } else {
        CHECK_EQ(iop_isamem_allocated(m), 0);
    }

    /* Whatever the state, it saves, loads into a fresh controller and saves the same. */
    if (!d->locked) {
        uint8_t a[1024], b[1024];
        struct iop_dma8237 e;
        int n = iop_dma_save(d, a, sizeof(a));
        CHECK(n > 0);
        iop_dma_init(&e, NULL);
        CHECK_EQ(iop_dma_load(&e, a, (size_t)n), 0);
        CHECK_EQ(iop_dma_save(&e, b, sizeof(b)), n);
        CHECK(memcmp(a, b, (size_t)n) == 0);
    }
}

static uint32_t rnd_addr(void) {
    switch (rnd_below(4)) {
    case 0:
        return rnd();
    case 1:
        return rnd_below(IOP_ISAMEM_SIZE);
    case 2:
        return (rnd_below(256) << 16) | (0xffff - rnd_below(64)); /* near a boundary */
    default:
        return rnd_below(IOP_ISAMEM_SIZE) & ~1u;
    }
}

static void one_op(struct iop_dma8237 *d, uint8_t *host, size_t host_len) {
    unsigned chan = rnd_below(10);
    switch (rnd_below(22)) {
    case 0: case 1: case 2: case 3: case 4: case 5:
        iop_dma_io_write(d, rnd_below(5) ? ports[rnd_below(IOP_ARRAY_SIZE(ports))] : (uint16_t)rnd(), (uint8_t)rnd());
        break;
    case 6: case 7:
        iop_dma_io_read(d, rnd_below(5) ? ports[rnd_below(IOP_ARRAY_SIZE(ports))] : (uint16_t)rnd());
        break;
    case 8:
        iop_dma_hold_dreq(d, chan);
        break;
    case 9:
        iop_dma_run(d, rnd_below(3) ? rnd_below(200000) : SIZE_MAX);
        break;
    case 10:
        iop_dma_request(d, chan, rnd_below(8) ? "fuzz" : "");
        break;
    case 11:
        iop_dma_free(d, chan);
        break;
    case 12:
        if (rnd_below(2))
            iop_dma_claim_lock(d);
        else
            iop_dma_release_lock(d);
        break;
    case 13:
        iop_dma_set_mode(d, chan, (uint8_t)rnd());
        iop_dma_set_addr(d, chan, rnd_addr());
        iop_dma_set_count(d, chan, rnd_below(3) ? rnd_below(140000) : rnd());
        break;
    case 14:
        if (rnd_below(2))
            iop_dma_enable(d, chan);
        else
            iop_dma_disable(d, chan);
        iop_dma_get_residue(d, chan);
        iop_dma_clear_ff(d, chan);
        break;
    case 15: case 16: {
        struct iop_dma_xfer_req req = {
            .chan = chan,
            .dir = (enum iop_dma_dir)rnd_below(5),
            .host = rnd_below(3) ? host : NULL,
            .isa_addr = rnd_addr(),
            .len = rnd_below(8) ? 1 + rnd_below((uint32_t)host_len) : rnd(),
        };
        if (req.host && req.len > host_len)
            req.len = host_len;
        iop_dma_xfer_begin(d, &req);
        break;
    }
    case 17: case 18: case 19:
        iop_dma_xfer_step(d, rnd_below(4) ? rnd_below(100000) : SIZE_MAX);
        break;
    case 20:
        iop_dma_xfer_abort(d);
        break;
    case 21:
        if (rnd_below(8) == 0)
            iop_dma_reset(d);
        break;
    }
}

static void test_ports_and_api(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
    size_t host_len = 300000;
    _cleanup_free_ uint8_t *host = calloc(1, host_len);
    uint64_t sum = 0;
    struct iop_dma8237 d;

    uint64_t moved = 0, chunks = 0, faults = 0;

    CHECK_EQ(iop_isamem_new(&m), 0);
    rng_state = 0x9e3779b97f4a7c15ULL;
    for (int round = 0; round < 60; round++) {
        iop_dma_init(&d, m);
        for (unsigned c = 0; c < IOP_DMA_NCHANNELS; c++)
            if (rnd_below(4))
                iop_dma_register_channel(&d, c, dev_fn, &sum);
        for (int i = 0; i < 500; i++) {
            one_op(&d, host, host_len);
            check_invariants(&d, m);
        }
        iop_dma_xfer_abort(&d); /* return the bounce buffer before the next round */
        if (d.locked)
            iop_dma_release_lock(&d);
        for (unsigned c = 0; c < IOP_DMA_NCHANNELS; c++) {
            moved += d.chan[c].totals.bytes + d.chan[c].totals.verified;
            chunks += d.chan[c].totals.chunks;
            faults += d.chan[c].totals.faults;
        }
    }
    /* The random traffic must reach the data path, the helper and the fault paths. */
    printf("fuzz: %" PRIu64 " bytes moved, %" PRIu64 " helper blocks, %" PRIu64 " faults\n", moved, chunks, faults);
    CHECK(moved > 0);
    CHECK(chunks > 0);
    CHECK(faults > 0);
}

/* Random blobs: rejected, or accepted and then saved back byte for byte. */
static void test_blob_random(void) {
    size_t size = iop_dma_save_size();
    uint8_t blob[1024], out[1024], header[IOP_DMA_SAVE_HEADER];
    unsigned accepted = 0;
    struct iop_dma8237 ref;

    iop_dma_init(&ref, NULL);
    CHECK_EQ(iop_dma_save(&ref, out, sizeof(out)), (int)size);
    memcpy(header, out, sizeof(header));
    rng_state = 0x0123456789abcdefULL;
    for (int i = 0; i < 20000; i++) {
        struct iop_dma8237 d, before;
        size_t len = rnd_below(4) ? size : rnd_below(sizeof(blob));
        for (size_t k = 0; k < len; k++)
            blob[k] = (uint8_t)rnd();
        if (rnd_below(2)) {
            /* A valid header, so the field checks are what is exercised. */
            memcpy(blob, header, sizeof(header));
        }
        iop_dma_init(&d, NULL);
        memcpy(&before, &d, sizeof(d));
        int r = iop_dma_load(&d, blob, len);
        if (r == 0) {
            accepted++;
            CHECK_EQ(iop_dma_save(&d, out, sizeof(out)), (int)size);
            CHECK(memcmp(blob, out, size) == 0);
        } else {
            CHECK_EQ(r, -EINVAL);
            CHECK(memcmp(&before, &d, sizeof(d)) == 0);
        }
    }
    /* Uniform random bytes essentially never form a valid blob. */
    printf("random blobs accepted: %u\n", accepted);
}

/* Valid blobs with a few bytes flipped: the field checks see near-valid input. */
static void test_blob_mutated(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
    size_t size = iop_dma_save_size(), host_len = 200000;
    _cleanup_free_ uint8_t *host = calloc(1, host_len);
    uint8_t good[1024], bad[1024], out[1024];
    uint64_t sum = 0;
    unsigned accepted = 0, rejected = 0;
    struct iop_dma8237 src;

    CHECK_EQ(iop_isamem_new(&m), 0);
    rng_state = 0xfeedfacecafebeefULL;
    for (int round = 0; round < 40; round++) {
        iop_dma_init(&src, m);
        for (unsigned c = 0; c < IOP_DMA_NCHANNELS; c++)
            iop_dma_register_channel(&src, c, dev_fn, &sum);
        for (int i = 0; i < 100; i++)
            one_op(&src, host, host_len);
        if (src.locked)
            iop_dma_release_lock(&src);
        CHECK_EQ(iop_dma_save(&src, good, sizeof(good)), (int)size);
        iop_dma_xfer_abort(&src);

        for (int k = 0; k < 500; k++) {
            struct iop_dma8237 d, before;
            memcpy(bad, good, size);
            for (unsigned f = 1 + rnd_below(4); f > 0; f--)
                bad[IOP_DMA_SAVE_HEADER + rnd_below((uint32_t)(size - IOP_DMA_SAVE_HEADER))] ^= (uint8_t)(1u << rnd_below(8));
            iop_dma_init(&d, NULL);
            memcpy(&before, &d, sizeof(d));
            int r = iop_dma_load(&d, bad, size);
            if (r == 0) {
                accepted++;
                CHECK_EQ(iop_dma_save(&d, out, sizeof(out)), (int)size);
                CHECK(memcmp(bad, out, size) == 0);
                check_invariants(&d, m);
            } else {
                rejected++;
                CHECK_EQ(r, -EINVAL);
                CHECK(memcmp(&before, &d, sizeof(d)) == 0);
            }
        }
    }
    /* Both outcomes must occur, or the mutation is not reaching the checks. */
    CHECK(accepted > 0);
    CHECK(rejected > 0);
    printf("mutated blobs: %u accepted, %u rejected\n", accepted, rejected);
}

int main(void) {
    iop_log_set_sink(log_quiet, NULL);
    TEST(test_ports_and_api);
    TEST(test_blob_random);
    TEST(test_blob_mutated);
    return test_summary();
}
