/* The 8237 pair: port decode, flip-flop, mode/mask/status registers, page registers,
 * the driver API of DMA-ISA-LPC.txt and its rules, and the run loop (directions,
 * increment/decrement, terminal count, autoinit, residue, cascade, boundary stop). */
#include <errno.h>

#include "lib/dma/i8237.h"
#include "lib/dma/isamem.h"
#include "lib/util/cleanup.h"
#include "lib/util/log.h"
#include "testutil.h"

IOP_DEFINE_CLEANUP(struct iop_isamem, iop_isamem_free)

static int log_count;
static char log_last[512];
static void log_sink(void *ctx, int level, const char *msg) {
    (void)ctx;
    (void)level;
    log_count++;
    snprintf(log_last, sizeof(log_last), "%s", msg);
}

/* A device: records what it is given, produces a pattern, accepts at most `limit`
 * bytes per call (0 = everything), can fail. */
struct dev {
    uint8_t rx[1 << 18];
    size_t rx_len;
    uint8_t tx_seed;
    size_t tx_len;
    size_t limit;
    int fail;
    size_t calls, verify_bytes;
    bool saw_null;
    size_t total_cap; /* stop after this many bytes in all (0 = no cap) */
    size_t total;
};

static int dev_fn(void *opaque, unsigned chan, enum iop_dma_dir dir, uint8_t *buf, size_t len) {
    struct dev *v = opaque;
    (void)chan;
    v->calls++;
    if (v->fail)
        return v->fail;
    size_t n = len;
    if (v->limit && n > v->limit)
        n = v->limit;
    if (v->total_cap && n > v->total_cap - v->total)
        n = v->total_cap - v->total;
    v->total += n;
    switch (dir) {
    case IOP_DMA_TO_DEVICE:
        if (v->rx_len + n > sizeof(v->rx))
            return -ENOSPC;
        memcpy(v->rx + v->rx_len, buf, n);
        v->rx_len += n;
        break;
    case IOP_DMA_FROM_DEVICE:
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)(v->tx_seed + v->tx_len + i);
        v->tx_len += n;
        break;
    case IOP_DMA_VERIFY:
        v->saw_null = buf == NULL;
        v->verify_bytes += n;
        break;
    }
    return (int)n;
}

static struct dev *dev_new(void) {
    struct dev *v = calloc(1, sizeof(*v));
    if (!v)
        abort();
    return v;
}

/* The DMA-ISA-LPC.txt example sequence. */
static int program(struct iop_dma8237 *d, unsigned chan, uint8_t mode, uint32_t addr, uint32_t bytes) {
    int r;
    if ((r = iop_dma_claim_lock(d)) < 0)
        return r;
    if ((r = iop_dma_clear_ff(d, chan)) >= 0 && (r = iop_dma_set_mode(d, chan, mode)) >= 0 &&
        (r = iop_dma_set_addr(d, chan, addr)) >= 0 && (r = iop_dma_set_count(d, chan, bytes)) >= 0)
        r = iop_dma_enable(d, chan);
    iop_dma_release_lock(d);
    return r;
}

static int residue(struct iop_dma8237 *d, unsigned chan) {
    iop_dma_claim_lock(d);
    int r = iop_dma_get_residue(d, chan);
    iop_dma_release_lock(d);
    return r;
}

static void fill(struct iop_isamem *m, uint32_t addr, size_t len, uint8_t seed) {
    for (size_t i = 0; i < len; i++) {
        uint8_t b = (uint8_t)(seed + i * 13);
        iop_isamem_write(m, addr + (uint32_t)i, &b, 1);
    }
}

static void test_port_decode(void) {
    struct iop_dma8237 d;
    iop_dma_init(&d, NULL);

    static const uint16_t bad[] = { 0x10, 0x1f, 0x20, 0x7f, 0x80, 0x90, 0xbf, 0xe0, 0x480, 0xffff };
    for (size_t i = 0; i < IOP_ARRAY_SIZE(bad); i++) {
        CHECK(!iop_dma_port_decoded(bad[i]));
        CHECK_EQ(iop_dma_io_write(&d, bad[i], 0x55), -EINVAL);
        CHECK_EQ(iop_dma_io_read(&d, bad[i]), -EINVAL);
    }
    static const uint16_t good[] = { 0x00, 0x0f, 0x81, 0x8f, 0xc0, 0xdf };
    for (size_t i = 0; i < IOP_ARRAY_SIZE(good); i++)
        CHECK(iop_dma_port_decoded(good[i]));

    /* Write-only registers read as open bus; the temporary register as 0. */
    CHECK_EQ(iop_dma_io_read(&d, 0x0b), 0xff);
    CHECK_EQ(iop_dma_io_read(&d, 0x0d), 0);
    /* After init: 0-3 masked (master clear), 4 unmasked (BIOS cascade), 5-7 masked. */
    CHECK_EQ(iop_dma_io_read(&d, 0x0f), 0xff);
    CHECK_EQ(iop_dma_io_read(&d, 0xde), 0xfe);
    /* An odd port of the 16-bit controller aliases the even one below it. */
    CHECK_EQ(iop_dma_io_read(&d, 0xdf), 0xfe);
}

static void test_flip_flop(void) {
    struct iop_dma8237 d;
    iop_dma_init(&d, NULL);

    /* Low byte, then high byte. */
    CHECK_EQ(iop_dma_io_write(&d, 0x02, 0x34), 0);
    CHECK_EQ(iop_dma_io_write(&d, 0x02, 0x12), 0);
    CHECK_EQ(d.chan[1].base_addr, 0x1234);
    CHECK_EQ(d.chan[1].cur_addr, 0x1234);
    CHECK_EQ(iop_dma_io_read(&d, 0x02), 0x34);
    CHECK_EQ(iop_dma_io_read(&d, 0x02), 0x12);

    /* A stray single access leaves the pointer on the high byte: the next pair lands
     * swapped... */
    iop_dma_io_write(&d, 0x03, 0xaa);
    iop_dma_io_write(&d, 0x02, 0x78);
    iop_dma_io_write(&d, 0x02, 0x56);
    CHECK_EQ(d.chan[1].cur_addr, 0x7856);
    /* ...until clear_dma_ff (0x0C) resets it. */
    iop_dma_io_write(&d, 0x03, 0xaa);
    iop_dma_io_write(&d, 0x0c, 0);
    iop_dma_io_write(&d, 0x02, 0x78);
    iop_dma_io_write(&d, 0x02, 0x56);
    CHECK_EQ(d.chan[1].cur_addr, 0x5678);
    /* Reads toggle it too. */
    iop_dma_io_read(&d, 0x02);
    CHECK_EQ(iop_dma_io_read(&d, 0x02), 0x56);
    iop_dma_io_write(&d, 0x0c, 0);
    CHECK_EQ(iop_dma_io_read(&d, 0x02), 0x78);

    /* Each controller has its own; the 16-bit one clears at 0xD8. */
    iop_dma_io_write(&d, 0x0c, 0);
    iop_dma_io_write(&d, 0xc4, 0x11); /* ch5 address, low */
    CHECK_EQ(d.ctl[1].flip_flop, 1);
    CHECK_EQ(d.ctl[0].flip_flop, 0);
    iop_dma_io_write(&d, 0xd8, 0);
    CHECK_EQ(d.ctl[1].flip_flop, 0);
    iop_dma_io_write(&d, 0xc6, 0xcd); /* ch5 count */
    iop_dma_io_write(&d, 0xc6, 0xab);
    CHECK_EQ(d.chan[5].base_count, 0xabcd);
    CHECK_EQ(d.chan[5].cur_count, 0xabcd);

    /* The API resets the pointer itself and then reads in the right order. */
    struct iop_dma8237 e;
    iop_dma_init(&e, NULL);
    CHECK_EQ(iop_dma_request(&e, 1, "t"), 0);
    CHECK_EQ(program(&e, 1, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_READ, 0x1000, 300), 0);
    iop_dma_io_read(&e, 0x03); /* stray */
    CHECK_EQ(residue(&e, 1), 300);
    CHECK_EQ(e.ctl[0].flip_flop, 0);
}

static void test_mode_mask_status(void) {
    struct iop_dma8237 d;
    iop_dma_init(&d, NULL);

    iop_dma_io_write(&d, 0x0b, 0x55); /* ch1: single, autoinit, write */
    CHECK_EQ(d.chan[1].mode, 0x54);
    iop_dma_io_write(&d, 0xd6, 0x4b); /* ch7: single, read */
    CHECK_EQ(d.chan[7].mode, 0x48);
    CHECK_STREQ(iop_dma_xfer_type_name(d.chan[1].mode), "write");
    CHECK_STREQ(iop_dma_op_mode_name(d.chan[1].mode), "single");
    CHECK_STREQ(iop_dma_xfer_type_name(0x0c), "illegal");
    CHECK_STREQ(iop_dma_op_mode_name(0xc0), "cascade");

    /* Masks: clear all, single set, write all. */
    iop_dma_io_write(&d, 0x0e, 0);
    CHECK_EQ(iop_dma_io_read(&d, 0x0f), 0xf0);
    iop_dma_io_write(&d, 0x0a, 4 | 2);
    CHECK_EQ(iop_dma_io_read(&d, 0x0f), 0xf4);
    iop_dma_io_write(&d, 0x0a, 2);
    CHECK_EQ(iop_dma_io_read(&d, 0x0f), 0xf0);
    iop_dma_io_write(&d, 0x0f, 0xfa);
    CHECK_EQ(iop_dma_io_read(&d, 0x0f), 0xfa);

    /* Request register shows in status bits 7:4. */
    iop_dma_io_write(&d, 0x09, 4 | 3);
    CHECK_EQ(iop_dma_io_read(&d, 0x08), 0x80);
    iop_dma_io_write(&d, 0x09, 3);
    CHECK_EQ(iop_dma_io_read(&d, 0x08), 0x00);

    /* Command: only "controller disable" is emulated; others are refused. */
    iop_dma_io_write(&d, 0x08, IOP_DMA_CMD_DISABLE);
    CHECK_EQ(d.ctl[0].command, IOP_DMA_CMD_DISABLE);
    int before = log_count;
    iop_dma_io_write(&d, 0x08, 0x10); /* rotating priority */
    CHECK_EQ(d.ctl[0].command, IOP_DMA_CMD_DISABLE);
    CHECK(log_count > before);

    /* Master clear: command, status, flip-flop cleared, all masked. */
    iop_dma_io_write(&d, 0x09, 4 | 1);
    iop_dma_io_write(&d, 0x02, 0x01);
    iop_dma_io_write(&d, 0x0d, 0);
    CHECK_EQ(d.ctl[0].command, 0);
    CHECK_EQ(d.ctl[0].status, 0);
    CHECK_EQ(d.ctl[0].flip_flop, 0);
    CHECK_EQ(iop_dma_io_read(&d, 0x0f), 0xff);
}

static void test_page_registers(void) {
    struct iop_dma8237 d;
    iop_dma_init(&d, NULL);
    static const uint16_t port[8] = { 0x87, 0x83, 0x81, 0x82, 0x8f, 0x8b, 0x89, 0x8a };

    for (unsigned c = 0; c < 8; c++)
        CHECK_EQ(iop_dma_io_write(&d, port[c], (uint8_t)(0x20 + c)), 0);
    for (unsigned c = 0; c < 8; c++)
        CHECK_EQ(iop_dma_io_read(&d, port[c]), 0x20 + c);
    iop_dma_io_write(&d, 0x84, 0x99); /* scratch page register */
    CHECK_EQ(iop_dma_io_read(&d, 0x84), 0x99);

    struct iop_dma_chan_status st;
    d.chan[0].base_addr = 0x1234;
    CHECK_EQ(iop_dma_get_status(&d, 0, &st), 0);
    CHECK_EQ(st.base_addr, 0x201234);
    /* 16-bit: page bit 0 ignored, address in words. */
    iop_dma_io_write(&d, 0x8b, 0x13);
    d.chan[5].base_addr = 0x8001;
    CHECK_EQ(iop_dma_get_status(&d, 5, &st), 0);
    CHECK_EQ(st.base_addr, 0x120000 + 0x10002);
    CHECK_EQ(st.width, 16);
}

static void test_request_free_lock(void) {
    struct iop_dma8237 d;
    iop_dma_init(&d, NULL);
    char longname[IOP_DMA_OWNER_MAX + 1];

    CHECK_EQ(iop_dma_request(&d, 4, "x"), -EINVAL);
    CHECK_EQ(iop_dma_request(&d, 8, "x"), -EINVAL);
    CHECK_EQ(iop_dma_request(&d, 1000, "x"), -EINVAL);
    CHECK_EQ(iop_dma_request(&d, 1, NULL), -EINVAL);
    CHECK_EQ(iop_dma_request(&d, 1, ""), -EINVAL);
    CHECK_EQ(iop_dma_request(&d, 1, "bad\nname"), -EINVAL);
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    CHECK_EQ(iop_dma_request(&d, 1, longname), -ENAMETOOLONG);
    longname[IOP_DMA_OWNER_MAX - 1] = 0;
    CHECK_EQ(iop_dma_request(&d, 1, longname), 0);
    CHECK_EQ(iop_dma_request(&d, 1, "again"), -EBUSY);
    CHECK_EQ(iop_dma_request(&d, 5, "i2o-swdl"), 0);

    struct iop_dma_chan_status st;
    CHECK_EQ(iop_dma_get_status(&d, 5, &st), 0);
    CHECK(st.owned);
    CHECK_STREQ(st.owner, "i2o-swdl");
    CHECK_EQ(iop_dma_get_status(&d, 4, &st), 0);
    CHECK(!st.owned);
    CHECK_EQ(st.mode, IOP_DMA_MODE_CASCADE);
    CHECK_EQ(iop_dma_get_status(&d, 8, &st), -EINVAL);

    /* The lock. */
    CHECK_EQ(iop_dma_set_mode(&d, 5, IOP_DMA_MODE_SINGLE), -ENOLCK);
    CHECK_EQ(iop_dma_release_lock(&d), -EPERM);
    CHECK_EQ(iop_dma_claim_lock(&d), 0);
    CHECK_EQ(iop_dma_claim_lock(&d), -EDEADLK);
    CHECK_EQ(iop_dma_set_mode(&d, 5, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_READ), 0);
    CHECK_EQ(iop_dma_set_mode(&d, 5, IOP_DMA_MODE_SINGLE | 1), -EINVAL);     /* channel bits */
    CHECK_EQ(iop_dma_set_mode(&d, 5, IOP_DMA_MODE_XFER_MASK), -EINVAL);      /* illegal type */
    CHECK_EQ(d.chan[5].mode, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_READ);
    CHECK_EQ(iop_dma_set_mode(&d, 6, IOP_DMA_MODE_SINGLE), -EPERM);          /* not requested */
    CHECK_EQ(iop_dma_set_mode(&d, 4, IOP_DMA_MODE_SINGLE), -EINVAL);
    CHECK_EQ(iop_dma_enable(&d, 4), -EINVAL);
    CHECK_EQ(iop_dma_get_residue(&d, 9), -EINVAL);
    CHECK_EQ(iop_dma_release_lock(&d), 0);

    /* free */
    CHECK_EQ(iop_dma_free(&d, 6), -ENOENT);
    CHECK_EQ(iop_dma_free(&d, 4), -EINVAL);
    CHECK_EQ(iop_dma_claim_lock(&d), 0);
    CHECK_EQ(iop_dma_set_addr(&d, 5, 0x40000), 0);
    CHECK_EQ(iop_dma_set_count(&d, 5, 64), 0);
    CHECK_EQ(iop_dma_enable(&d, 5), 0);
    CHECK_EQ(iop_dma_release_lock(&d), 0);
    CHECK_EQ(iop_dma_get_status(&d, 5, &st), 0);
    CHECK(!st.masked);
    CHECK_EQ(iop_dma_free(&d, 5), 0);
    CHECK_EQ(iop_dma_get_status(&d, 5, &st), 0);
    CHECK(st.masked); /* a forgotten enable does not outlive the owner */
    CHECK(!st.owned);
    CHECK_EQ(iop_dma_free(&d, 5), -ENOENT);
    CHECK_EQ(iop_dma_request(&d, 5, "next"), 0);
}

static void test_addr_count_programming(void) {
    struct iop_dma8237 d;
    iop_dma_init(&d, NULL);
    iop_dma_request(&d, 1, "a");
    iop_dma_request(&d, 6, "b");
    iop_dma_claim_lock(&d);

    /* 8-bit: page = A23-A16, address register = A15-A0, count in bytes - 1. */
    CHECK_EQ(iop_dma_set_addr(&d, 1, 0x123456), 0);
    CHECK_EQ(iop_dma_io_read(&d, 0x83), 0x12);
    iop_dma_io_write(&d, 0x0c, 0);
    CHECK_EQ(iop_dma_io_read(&d, 0x02), 0x56);
    CHECK_EQ(iop_dma_io_read(&d, 0x02), 0x34);
    CHECK_EQ(iop_dma_set_count(&d, 1, 1000), 0);
    CHECK_EQ(d.chan[1].base_count, 999);
    CHECK_EQ(iop_dma_set_count(&d, 1, 65536), 0);
    CHECK_EQ(d.chan[1].base_count, 0xffff);
    CHECK_EQ(iop_dma_get_residue(&d, 1), 65536); /* programmed, not started */
    CHECK_EQ(iop_dma_set_count(&d, 1, 65537), -EINVAL);
    CHECK_EQ(iop_dma_set_count(&d, 1, 0), -EINVAL);
    CHECK_EQ(iop_dma_set_addr(&d, 1, IOP_ISAMEM_SIZE), -EFAULT);
    CHECK_EQ(iop_dma_set_addr(&d, 1, 0xffffffff), -EFAULT);
    CHECK_EQ(iop_dma_set_addr(&d, 1, 0x123457), 0); /* 8-bit: odd is fine */

    /* 16-bit: page bit 0 cleared, address register = A16-A1, count in words - 1. */
    CHECK_EQ(iop_dma_set_addr(&d, 6, 0x134566), 0);
    CHECK_EQ(iop_dma_io_read(&d, 0x89), 0x12);
    iop_dma_io_write(&d, 0xd8, 0);
    CHECK_EQ(iop_dma_io_read(&d, 0xc8), 0xb3);
    CHECK_EQ(iop_dma_io_read(&d, 0xc8), 0xa2);
    CHECK_EQ(iop_dma_set_count(&d, 6, 1000), 0);
    CHECK_EQ(d.chan[6].base_count, 499);
    CHECK_EQ(iop_dma_get_residue(&d, 6), 1000);
    CHECK_EQ(iop_dma_set_count(&d, 6, 131072), 0);
    CHECK_EQ(d.chan[6].base_count, 0xffff);
    CHECK_EQ(iop_dma_get_residue(&d, 6), 131072);
    CHECK_EQ(iop_dma_set_count(&d, 6, 131074), -EINVAL);
    CHECK_EQ(iop_dma_set_count(&d, 6, 999), -EINVAL);
    CHECK_EQ(iop_dma_set_addr(&d, 6, 0x134567), -EINVAL);

    struct iop_dma_chan_status st;
    CHECK_EQ(iop_dma_set_addr(&d, 6, 0x134566), 0);
    CHECK_EQ(iop_dma_set_count(&d, 6, 1000), 0);
    CHECK_EQ(iop_dma_get_status(&d, 6, &st), 0);
    CHECK_EQ(st.base_addr, 0x134566);
    CHECK_EQ(st.count, 1000);
    iop_dma_release_lock(&d);
}

/* Both controllers' registers (ports, page registers, every channel's) alike. */
static void check_same_regs(const struct iop_dma8237 *a, const struct iop_dma8237 *b) {
    CHECK_MEMEQ(a->ctl, b->ctl, sizeof(a->ctl));
    CHECK_MEMEQ(a->page, b->page, sizeof(a->page));
    for (unsigned c = 0; c < 8; c++) {
        CHECK_EQ(a->chan[c].base_addr, b->chan[c].base_addr);
        CHECK_EQ(a->chan[c].cur_addr, b->chan[c].cur_addr);
        CHECK_EQ(a->chan[c].base_count, b->chan[c].base_count);
        CHECK_EQ(a->chan[c].cur_count, b->chan[c].cur_count);
        CHECK_EQ(a->chan[c].mode, b->chan[c].mode);
    }
}

/* The driver API loads the registers directly; every call must leave the controllers
 * exactly as the port writes of the kernel's inline functions (asm/dma.h: outb to the
 * flip-flop, mode, page, address and count ports, the single mask register) would,
 * from any state: random channels, values and stray flip-flop states. */
static void test_api_equals_ports(void) {
    struct iop_dma8237 a, b;
    iop_dma_init(&a, NULL);
    iop_dma_init(&b, NULL);
    static const unsigned chans[] = { 0, 1, 2, 3, 5, 6, 7 };
    static const uint8_t page_port[8] = { 0x87, 0x83, 0x81, 0x82, 0x8f, 0x8b, 0x89, 0x8a };
    for (unsigned i = 0; i < 7; i++) {
        CHECK_EQ(iop_dma_request(&a, chans[i], "api"), 0);
        CHECK_EQ(iop_dma_request(&b, chans[i], "api"), 0);
    }
    unsigned seed = 4242;
    iop_dma_claim_lock(&a);
    for (int it = 0; it < 20000; it++) {
        unsigned chan = chans[(unsigned)rand_r(&seed) % 7];
        bool wide = chan >= 4;
        uint16_t ctlport = wide ? 0xd0 : 0x00; /* + 2 * (reg - 8) on the 16-bit controller */
#define CREG(r) (uint16_t)(wide ? ctlport + ((r) - 8) * 2 : (r))
        uint16_t aport = wide ? (uint16_t)(0xc0 + (chan - 4) * 4) : (uint16_t)(chan * 2);
        uint16_t cport = (uint16_t)(aport + (wide ? 2 : 1));
        /* A stray byte access first, on either side alike: the API must not care. */
        if (rand_r(&seed) & 1) {
            iop_dma_io_write(&a, cport, 0x5a);
            iop_dma_io_write(&b, cport, 0x5a);
        }
        switch (rand_r(&seed) % 5) {
        case 0: {
            CHECK_EQ(iop_dma_clear_ff(&a, chan), 0);
            iop_dma_io_write(&b, CREG(0x0c), 0);
            break;
        }
        case 1: {
            uint8_t mode = (uint8_t)((unsigned)rand_r(&seed) & 0xf0) | (uint8_t)(rand_r(&seed) % 3) << 2;
            CHECK_EQ(iop_dma_set_mode(&a, chan, mode), 0);
            iop_dma_io_write(&b, CREG(0x0b), (uint8_t)(mode | (chan & 3)));
            break;
        }
        case 2: {
            uint32_t addr = (uint32_t)rand_r(&seed) % IOP_ISAMEM_SIZE & (wide ? ~1u : ~0u);
            CHECK_EQ(iop_dma_set_addr(&a, chan, addr), 0);
            iop_dma_io_write(&b, page_port[chan], (uint8_t)((addr >> 16) & (wide ? 0xfe : 0xff)));
            iop_dma_io_write(&b, CREG(0x0c), 0);
            uint16_t v = (uint16_t)(addr >> wide);
            iop_dma_io_write(&b, aport, (uint8_t)v);
            iop_dma_io_write(&b, aport, (uint8_t)(v >> 8));
            break;
        }
        case 3: {
            uint32_t bytes = 1 + (uint32_t)rand_r(&seed) % iop_isamem_boundary(wide);
            if (wide)
                bytes = (bytes + 1) & ~1u;
            CHECK_EQ(iop_dma_set_count(&a, chan, bytes), 0);
            iop_dma_io_write(&b, CREG(0x0c), 0);
            uint16_t v = (uint16_t)((bytes >> wide) - 1);
            iop_dma_io_write(&b, cport, (uint8_t)v);
            iop_dma_io_write(&b, cport, (uint8_t)(v >> 8));
            break;
        }
        default:
            if (rand_r(&seed) & 1) {
                CHECK_EQ(iop_dma_disable(&a, chan), 0);
                iop_dma_io_write(&b, CREG(0x0a), (uint8_t)(4 | (chan & 3)));
            } else if (iop_dma_enable(&a, chan) == 0) {
                iop_dma_io_write(&b, CREG(0x0a), (uint8_t)(chan & 3));
            }
            break;
        }
#undef CREG
        check_same_regs(&a, &b);
    }
    iop_dma_release_lock(&a);
}

/* iop_dma_program (the data path's one call) must be the driver sequence claim_lock,
 * clear_ff, set_mode, set_addr, set_count, enable, release_lock: the same result and
 * the same registers, also when a step fails half-way (bad mode, address, count,
 * crossing block, lock held, channel not requested or not allocatable). */
static void test_program_equals_sequence(void) {
    struct iop_dma8237 a, b;
    iop_dma_init(&a, NULL);
    iop_dma_init(&b, NULL);
    for (unsigned c = 0; c < 8; c++)
        if (c != 4 && c != 6) { /* 6 stays unrequested: -EPERM */
            CHECK_EQ(iop_dma_request(&a, c, "seq"), 0);
            CHECK_EQ(iop_dma_request(&b, c, "seq"), 0);
        }
    unsigned seed = 777;
    int seen[8] = { 0 };
    for (int it = 0; it < 20000; it++) {
        unsigned chan = (unsigned)rand_r(&seed) % 9; /* 4 and 8: -EINVAL */
        bool wide = chan >= 4;
        uint8_t mode = (uint8_t)((unsigned)rand_r(&seed) & 0xfc);
        if (rand_r(&seed) % 8 == 0)
            mode |= (uint8_t)(rand_r(&seed) % 4); /* channel-select bits set: refused */
        uint32_t addr = (uint32_t)rand_r(&seed) % (IOP_ISAMEM_SIZE + (IOP_ISAMEM_SIZE >> 4));
        uint32_t bytes = (uint32_t)rand_r(&seed) % (iop_isamem_boundary(wide) + 2);
        if (rand_r(&seed) & 1) { /* mostly legal blocks, so the later steps run too */
            mode = (uint8_t)(IOP_DMA_MODE_SINGLE | (uint8_t)(rand_r(&seed) % 3) << 2);
            addr &= IOP_ISAMEM_SIZE - 1;
            if (wide)
                addr &= ~1u, bytes &= ~1u;
            uint32_t room = iop_isamem_boundary(wide) - (addr & (iop_isamem_boundary(wide) - 1));
            bytes = bytes % room + (wide ? 2 : 1);
            if (bytes > room)
                bytes = room;
        }
        bool locked = rand_r(&seed) % 16 == 0;
        if (locked) {
            iop_dma_claim_lock(&a);
            iop_dma_claim_lock(&b);
        }
        if (rand_r(&seed) & 1) { /* a stray flip-flop state on either side alike */
            a.ctl[chan % 8 >> 2].flip_flop = b.ctl[chan % 8 >> 2].flip_flop = 1;
        }
        int ra = iop_dma_program(&a, chan, mode, addr, bytes);
        int rb = program(&b, chan, mode, addr, bytes);
        CHECK_EQ(ra, rb);
        seen[ra == 0 ? 0 : ra == -EDEADLK ? 1 : ra == -EPERM ? 2 : ra == -EFAULT ? 3 : ra == -EINVAL ? 4 : 5]++;
        if (locked) {
            iop_dma_release_lock(&a);
            iop_dma_release_lock(&b);
        }
        CHECK_EQ(a.locked, b.locked);
        check_same_regs(&a, &b);
    }
    /* Every outcome occurred, so the comparison covered each exit. */
    for (int k = 0; k < 5; k++)
        CHECK(seen[k] > 0);
    CHECK_EQ(seen[5], 0);
}

/* iop_dma_run_block (the data path's run of a programmed block) must do what
 * hold_dreq, iop_dma_channel_run(the block's bytes) and release_dreq do: the same
 * result, registers, totals, device traffic and memory, in the modes it takes in one
 * piece (single increment) and in those it leaves to the run loop (decrement,
 * autoinit, demand/block, blocks reaching the boundary, a channel left mid-block or at
 * terminal count), with devices that take all, part, nothing or fail. */
static void test_run_block_equals_run(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *ma = NULL, *mb = NULL;
    CHECK_EQ(iop_isamem_new(&ma), 0);
    CHECK_EQ(iop_isamem_new(&mb), 0);
    struct iop_dma8237 a, b;
    iop_dma_init(&a, ma);
    iop_dma_init(&b, mb);
    struct dev *va = dev_new(), *vb = dev_new();
    static const unsigned chans[] = { 0, 1, 2, 3, 5, 6, 7 };
    for (unsigned i = 0; i < 7; i++) {
        CHECK_EQ(iop_dma_request(&a, chans[i], "blk"), 0);
        CHECK_EQ(iop_dma_request(&b, chans[i], "blk"), 0);
        iop_dma_register_channel(&a, chans[i], dev_fn, va);
        iop_dma_register_channel(&b, chans[i], dev_fn, vb);
    }
    unsigned seed = 31337;
    int fast = 0, loop = 0, short_ = 0, failed = 0;
    for (int it = 0; it < 4000; it++) {
        unsigned chan = chans[(unsigned)rand_r(&seed) % 7];
        bool wide = chan >= 4;
        uint8_t mode = (uint8_t)(IOP_DMA_MODE_SINGLE | (uint8_t)(rand_r(&seed) % 3) << 2);
        if (rand_r(&seed) % 4 == 0)
            mode = (uint8_t)((unsigned)rand_r(&seed) & 0xf0) | (uint8_t)(rand_r(&seed) % 3) << 2;
        uint32_t addr = (uint32_t)rand_r(&seed) % (IOP_ISAMEM_SIZE - (128u << 10)) & ~1u;
        uint32_t bytes = 2 + ((uint32_t)rand_r(&seed) % (wide ? 4096u : 2048u)) * 2;
        if (rand_r(&seed) % 4 == 0) /* close to the window's end: may reach the boundary */
            addr = (addr | (iop_isamem_boundary(wide) - 1)) + 1 - 2 * (1 + (uint32_t)rand_r(&seed) % 1024);
        if (rand_r(&seed) % 8) { /* else: run again what the last iteration left */
            program(&a, chan, mode, addr, bytes);
            program(&b, chan, mode, addr, bytes);
        }
        fast += (a.chan[chan].mode & ~0x0c) == IOP_DMA_MODE_SINGLE && (a.chan[chan].mode & 0x0c) != 0x0c &&
                (uint32_t)a.chan[chan].cur_addr + a.chan[chan].cur_count + 1 <= 0x10000u;
        loop++;
        va->limit = vb->limit = rand_r(&seed) % 3 ? 0 : 2 * (1 + (size_t)rand_r(&seed) % 1000);
        va->fail = vb->fail = rand_r(&seed) % 10 ? 0 : -EIO;
        va->rx_len = vb->rx_len = 0; /* only the last run's bytes are compared */

        int ra = iop_dma_run_block(&a, chan);
        iop_dma_hold_dreq(&b, chan);
        int rb = iop_dma_channel_run(&b, chan, ((size_t)b.chan[chan].cur_count + 1) << wide);
        iop_dma_release_dreq(&b, chan);
        CHECK_EQ(ra, rb);
        failed += ra < 0;
        short_ += ra >= 0 && va->limit;
        CHECK_EQ(va->calls, vb->calls);
        CHECK_EQ(va->rx_len, vb->rx_len);
        CHECK_MEMEQ(va->rx, vb->rx, va->rx_len);
        CHECK_EQ(va->tx_len, vb->tx_len);
        CHECK_EQ(va->verify_bytes, vb->verify_bytes);
        CHECK_EQ(va->saw_null, vb->saw_null);
        check_same_regs(&a, &b);
        for (unsigned c = 0; c < 8; c++)
            CHECK_MEMEQ(&a.chan[c].totals, &b.chan[c].totals, sizeof(a.chan[c].totals));
        CHECK_EQ(iop_isamem_resident(ma), iop_isamem_resident(mb));
        uint8_t xa[512], xb[512];
        CHECK_EQ(iop_isamem_read(ma, addr, xa, sizeof(xa)), 0);
        CHECK_EQ(iop_isamem_read(mb, addr, xb, sizeof(xb)), 0);
        CHECK_MEMEQ(xa, xb, sizeof(xa));
    }
    /* Both ways of running and every kind of outcome were compared. */
    CHECK(fast > 1000 && loop - fast > 500);
    CHECK(short_ > 100 && failed > 100);
    free(va);
    free(vb);
}

static void test_enable_refuses_boundary_crossing(void) {
    struct iop_dma8237 d;
    iop_dma_init(&d, NULL);
    struct iop_dma_chan_status st;
    iop_dma_request(&d, 1, "a");
    iop_dma_request(&d, 5, "b");

    CHECK_EQ(program(&d, 1, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_READ, 0x2ff00, 0x200), -EINVAL);
    iop_dma_get_status(&d, 1, &st);
    CHECK(st.masked);
    CHECK_EQ(program(&d, 1, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_READ, 0x2fe00, 0x200), 0);
    iop_dma_get_status(&d, 1, &st);
    CHECK(!st.masked);
    /* Decrement runs down from the address: crossing below the page start. */
    CHECK_EQ(program(&d, 1, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_READ | IOP_DMA_MODE_DECREMENT, 0x30100, 0x200),
             -EINVAL);
    CHECK_EQ(program(&d, 1, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_READ | IOP_DMA_MODE_DECREMENT, 0x301ff, 0x200), 0);
    /* 16-bit: 64K is no boundary, 128K is. */
    CHECK_EQ(program(&d, 5, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_WRITE, 0x2ff00, 0x200), 0);
    CHECK_EQ(program(&d, 5, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_WRITE, 0x3ff00, 0x200), -EINVAL);
}

/* Run one channel to completion with the device side of the API. */
static void test_run_to_device(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
    struct dev *v = dev_new();
    struct iop_dma8237 d;
    uint8_t want[3000];

    CHECK_EQ(iop_isamem_new(&m), 0);
    iop_dma_init(&d, m);
    fill(m, 0x45000, sizeof(want), 7);
    iop_isamem_read(m, 0x45000, want, sizeof(want));
    CHECK_EQ(iop_dma_register_channel(&d, 1, dev_fn, v), 0);
    CHECK_EQ(iop_dma_register_channel(&d, 8, dev_fn, v), -EINVAL);
    iop_dma_request(&d, 1, "dev");
    CHECK_EQ(program(&d, 1, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_READ, 0x45000, sizeof(want)), 0);

    /* No DREQ, no transfer. */
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 0);
    CHECK_EQ(v->calls, 0);
    /* The device takes 1000 bytes per request. */
    v->limit = 1000;
    CHECK_EQ(iop_dma_hold_dreq(&d, 1), 0);
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 1000);
    CHECK_EQ(residue(&d, 1), 2000);
    CHECK_EQ(iop_dma_run(&d, 1500), 1000);
    CHECK_EQ(iop_dma_run(&d, 500), 500); /* the budget, not the device, stops it */
    CHECK_EQ(residue(&d, 1), 500);
    CHECK_EQ(iop_dma_io_read(&d, 0x08) & 0x0f, 0); /* no TC yet */
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 500);
    CHECK_EQ(v->rx_len, sizeof(want));
    CHECK_MEMEQ(v->rx, want, sizeof(want));
    CHECK_EQ(residue(&d, 1), 0);
    CHECK_EQ(d.chan[1].cur_count, 0xffff); /* counted down through 0 */

    /* Terminal count: status bit 1 set, request dropped, channel masked itself. */
    struct iop_dma_chan_status st;
    iop_dma_get_status(&d, 1, &st);
    CHECK(st.tc);
    CHECK(st.masked);
    CHECK(!st.requested);
    CHECK_EQ(st.totals.bytes, sizeof(want));
    CHECK_EQ(st.cur_addr, 0x45000 + sizeof(want));
    iop_dma_get_status(&d, 1, &st); /* snapshots do not clear TC */
    CHECK(st.tc);
    CHECK_EQ(iop_dma_io_read(&d, 0x08), 0x02);
    CHECK_EQ(iop_dma_io_read(&d, 0x08), 0x00); /* reading status cleared it */
    iop_dma_get_status(&d, 1, &st);
    CHECK(!st.tc);
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 0);
    free(v);
}

static void test_run_from_device_16bit(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
    struct dev *v = dev_new();
    struct iop_dma8237 d;
    uint8_t got[2048];

    CHECK_EQ(iop_isamem_new(&m), 0);
    iop_dma_init(&d, m);
    iop_dma_register_channel(&d, 6, dev_fn, v);
    v->tx_seed = 0x40;

    /* By the ports, as a DOS driver would: page 0x13 (bit 0 ignored), word address
     * 0x8000 -> bus 0x120000 + 0x10000; 1024 words. */
    iop_dma_io_write(&d, 0xd6, IOP_DMA_MODE_BLOCK | IOP_DMA_MODE_WRITE | 2);
    iop_dma_io_write(&d, 0x89, 0x13);
    iop_dma_io_write(&d, 0xd8, 0);
    iop_dma_io_write(&d, 0xc8, 0x00);
    iop_dma_io_write(&d, 0xc8, 0x80);
    iop_dma_io_write(&d, 0xca, 0xff);
    iop_dma_io_write(&d, 0xca, 0x03);
    iop_dma_io_write(&d, 0xd4, 2);        /* unmask ch6 */
    iop_dma_io_write(&d, 0xd2, 4 | 2);    /* software request */
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 2048);
    CHECK_EQ(iop_isamem_read(m, 0x130000, got, sizeof(got)), 0);
    for (size_t i = 0; i < sizeof(got); i++)
        if (got[i] != (uint8_t)(0x40 + i)) {
            CHECK_EQ(got[i], (uint8_t)(0x40 + i));
            break;
        }
    uint8_t b;
    iop_isamem_read(m, 0x130000 - 1, &b, 1);
    CHECK_EQ(b, 0);
    iop_isamem_read(m, 0x130000 + 2048, &b, 1);
    CHECK_EQ(b, 0);
    CHECK_EQ(iop_dma_io_read(&d, 0xd0), 0x04); /* TC on ch6 = bit 2 of controller 2 */
    /* Count register read through the ports: 0xFFFF after TC. */
    iop_dma_io_write(&d, 0xd8, 0);
    CHECK_EQ(iop_dma_io_read(&d, 0xca), 0xff);
    CHECK_EQ(iop_dma_io_read(&d, 0xca), 0xff);
    free(v);
}

static void test_verify_moves_no_data(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
    struct dev *v = dev_new();
    struct iop_dma8237 d;
    uint8_t before[512], after[512];

    CHECK_EQ(iop_isamem_new(&m), 0);
    iop_dma_init(&d, m);
    fill(m, 0x8000, sizeof(before), 3);
    iop_isamem_read(m, 0x8000, before, sizeof(before));
    iop_dma_register_channel(&d, 2, dev_fn, v);
    iop_dma_request(&d, 2, "v");
    CHECK_EQ(program(&d, 2, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_VERIFY, 0x8000, 512), 0);
    iop_dma_hold_dreq(&d, 2);
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 512);
    iop_isamem_read(m, 0x8000, after, sizeof(after));
    CHECK_MEMEQ(before, after, sizeof(before));
    CHECK(v->saw_null);
    CHECK_EQ(v->verify_bytes, 512);
    CHECK_EQ(v->rx_len, 0);
    CHECK_EQ(v->tx_len, 0);
    CHECK_EQ(residue(&d, 2), 0);
    struct iop_dma_chan_status st;
    iop_dma_get_status(&d, 2, &st);
    CHECK(st.tc);
    CHECK_EQ(st.totals.bytes, 0);
    CHECK_EQ(st.totals.verified, 512);
    free(v);
}

static void test_autoinit(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
    struct dev *v = dev_new();
    struct iop_dma8237 d;
    uint8_t want[100];

    CHECK_EQ(iop_isamem_new(&m), 0);
    iop_dma_init(&d, m);
    fill(m, 0x5000, sizeof(want), 9);
    iop_isamem_read(m, 0x5000, want, sizeof(want));
    iop_dma_register_channel(&d, 3, dev_fn, v);
    iop_dma_request(&d, 3, "sb");
    CHECK_EQ(program(&d, 3, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_READ | IOP_DMA_MODE_AUTOINIT, 0x5000, 100), 0);
    iop_dma_hold_dreq(&d, 3);
    /* One TC per run: 100 bytes even with more budget. */
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 100);
    struct iop_dma_chan_status st;
    iop_dma_get_status(&d, 3, &st);
    CHECK(st.tc);
    CHECK(!st.masked);              /* autoinit: stays enabled */
    CHECK_EQ(st.cur_addr, 0x5000);  /* reloaded from the base registers */
    CHECK_EQ(st.residue, 100);
    CHECK_EQ(residue(&d, 3), 100);
    /* The request bit dropped at TC; the device asks again and gets the same block. */
    iop_dma_hold_dreq(&d, 3);
    CHECK_EQ(iop_dma_run(&d, 30), 30);
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 70);
    CHECK_EQ(v->rx_len, 200);
    CHECK_MEMEQ(v->rx, want, 100);
    CHECK_MEMEQ(v->rx + 100, want, 100);
    free(v);
}

static void test_decrement(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
    struct dev *v = dev_new();
    struct iop_dma8237 d;
    uint8_t src[1200];

    CHECK_EQ(iop_isamem_new(&m), 0);
    iop_dma_init(&d, m);

    /* 8-bit, to device: bytes in descending address order (more than the scratch). */
    fill(m, 0x10000, sizeof(src), 1);
    iop_isamem_read(m, 0x10000, src, sizeof(src));
    iop_dma_register_channel(&d, 0, dev_fn, v);
    iop_dma_request(&d, 0, "dec");
    CHECK_EQ(program(&d, 0, IOP_DMA_MODE_DEMAND | IOP_DMA_MODE_READ | IOP_DMA_MODE_DECREMENT,
                     0x10000 + sizeof(src) - 1, sizeof(src)), 0);
    iop_dma_hold_dreq(&d, 0);
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), (int)sizeof(src));
    CHECK_EQ(v->rx_len, sizeof(src));
    bool ok = true;
    for (size_t i = 0; i < sizeof(src); i++)
        ok &= v->rx[i] == src[sizeof(src) - 1 - i];
    CHECK(ok);
    struct iop_dma_chan_status st;
    iop_dma_get_status(&d, 0, &st);
    /* The address register ran one past the block's start: 0x0000 - 1 = 0xFFFF in the
     * same page, as on the chip (nothing is transferred there: TC came first). */
    CHECK_EQ(st.cur_addr, 0x1ffff);
    CHECK_EQ(st.totals.faults, 0);
    free(v);

    /* 16-bit, from device: words descending, bytes inside a word in order. */
    v = dev_new();
    v->tx_seed = 0;
    iop_dma_register_channel(&d, 7, dev_fn, v);
    iop_dma_request(&d, 7, "dec16");
    CHECK_EQ(program(&d, 7, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_WRITE | IOP_DMA_MODE_DECREMENT, 0x60000 + 1000 - 2,
                     1000), 0);
    v->limit = 300; /* device stops after 150 words per request */
    iop_dma_hold_dreq(&d, 7);
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 300);
    CHECK_EQ(residue(&d, 7), 700);
    v->limit = 0;
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 700);
    uint8_t got[1000];
    iop_isamem_read(m, 0x60000, got, sizeof(got));
    ok = true;
    for (size_t w = 0; w < 500; w++) {
        /* word w of the stream (bytes 2w, 2w+1) landed at 0x60000 + 998 - 2w */
        size_t at = 998 - 2 * w;
        ok &= got[at] == (uint8_t)(2 * w) && got[at + 1] == (uint8_t)(2 * w + 1);
    }
    CHECK(ok);
    free(v);
}

static void test_residue_after_abort(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
    struct dev *v = dev_new();
    struct iop_dma8237 d;

    CHECK_EQ(iop_isamem_new(&m), 0);
    iop_dma_init(&d, m);
    iop_dma_register_channel(&d, 5, dev_fn, v);
    iop_dma_request(&d, 5, "abort");
    CHECK_EQ(program(&d, 5, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_READ, 0x80000, 4096), 0);
    v->total_cap = 1234; /* the device hangs after 617 words */
    iop_dma_hold_dreq(&d, 5);
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 1234);
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 0);
    /* The driver times out: disable, read the residue (the kernel example). */
    iop_dma_claim_lock(&d);
    CHECK_EQ(iop_dma_disable(&d, 5), 0);
    CHECK_EQ(iop_dma_get_residue(&d, 5), 4096 - 1234);
    iop_dma_release_lock(&d);
    struct iop_dma_chan_status st;
    iop_dma_get_status(&d, 5, &st);
    CHECK(st.masked);
    CHECK(!st.tc);
    CHECK_EQ(st.residue, 4096 - 1234);
    /* A masked channel does not move even with DREQ held. */
    v->total_cap = 0;
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 0);

    /* Full-size block: 65536 before it starts, 0 after. */
    iop_dma_request(&d, 1, "full");
    iop_dma_register_channel(&d, 1, dev_fn, v);
    v->rx_len = 0;
    CHECK_EQ(program(&d, 1, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_READ, 0x90000, 65536), 0);
    CHECK_EQ(residue(&d, 1), 65536);
    iop_dma_hold_dreq(&d, 1);
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 65536);
    CHECK_EQ(residue(&d, 1), 0);
    free(v);
}

static void test_cascade_and_disable(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
    struct dev *v = dev_new();
    struct iop_dma8237 d;

    CHECK_EQ(iop_isamem_new(&m), 0);
    iop_dma_init(&d, m);
    iop_dma_register_channel(&d, 1, dev_fn, v);
    iop_dma_request(&d, 1, "c");
    CHECK_EQ(program(&d, 1, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_READ, 0x1000, 100), 0);
    iop_dma_hold_dreq(&d, 1);

    /* Channel 4 masked: the 8-bit controller has no path to the bus. */
    iop_dma_io_write(&d, 0xd4, 4 | 0);
    CHECK(iop_dma_path_blocked(&d, 1));
    CHECK(!iop_dma_path_blocked(&d, 5));
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 0);
    iop_dma_io_write(&d, 0xd4, 0);
    /* Channel 4 not in cascade mode: same. */
    iop_dma_io_write(&d, 0xd6, IOP_DMA_MODE_SINGLE | 0);
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 0);
    iop_dma_io_write(&d, 0xd6, IOP_DMA_MODE_CASCADE | 0);
    /* Controller disable (command bit 2). */
    iop_dma_io_write(&d, 0x08, IOP_DMA_CMD_DISABLE);
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 0);
    iop_dma_io_write(&d, 0x08, 0);
    CHECK_EQ(v->calls, 0);
    CHECK_EQ(iop_dma_run(&d, 40), 40);

    /* A master clear of the 16-bit controller masks channel 4 again; iop_dma_reset
     * redoes the BIOS setup but keeps the channel programming. */
    iop_dma_io_write(&d, 0xda, 0);
    CHECK(iop_dma_path_blocked(&d, 1));
    iop_dma_reset(&d);
    CHECK(!iop_dma_path_blocked(&d, 1));
    CHECK_EQ(d.chan[1].cur_count, 59);

    /* A channel in cascade mode belongs to a bus master: the 8237 moves nothing. */
    iop_dma_request(&d, 6, "busmaster");
    iop_dma_claim_lock(&d);
    CHECK_EQ(iop_dma_set_mode(&d, 6, IOP_DMA_MODE_CASCADE), 0);
    CHECK_EQ(iop_dma_enable(&d, 6), 0);
    iop_dma_release_lock(&d);
    iop_dma_register_channel(&d, 6, dev_fn, v);
    iop_dma_hold_dreq(&d, 6);
    size_t calls = v->calls;
    iop_dma_run(&d, SIZE_MAX);
    CHECK_EQ(v->calls, calls);
    free(v);
}

static void test_priority(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
    struct dev *a = dev_new(), *b = dev_new();
    struct iop_dma8237 d;

    CHECK_EQ(iop_isamem_new(&m), 0);
    iop_dma_init(&d, m);
    iop_dma_register_channel(&d, 2, dev_fn, a);
    iop_dma_register_channel(&d, 5, dev_fn, b);
    iop_dma_request(&d, 2, "lo");
    iop_dma_request(&d, 5, "hi");
    CHECK_EQ(program(&d, 2, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_READ, 0x1000, 100), 0);
    CHECK_EQ(program(&d, 5, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_READ, 0x2000, 100), 0);
    iop_dma_hold_dreq(&d, 5);
    iop_dma_hold_dreq(&d, 2);
    /* Channel 2 (via 4) outranks 5. */
    CHECK_EQ(iop_dma_run(&d, 60), 60);
    CHECK_EQ(a->rx_len, 60);
    CHECK_EQ(b->rx_len, 0);
    CHECK_EQ(iop_dma_run(&d, 60), 60);
    CHECK_EQ(a->rx_len, 100);
    CHECK_EQ(b->rx_len, 20);
    free(a);
    free(b);
}

static void test_boundary_stop(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
    struct dev *v = dev_new();
    struct iop_dma8237 d;
    uint8_t sentinel = 0xee, b;

    CHECK_EQ(iop_isamem_new(&m), 0);
    iop_dma_init(&d, m);
    iop_isamem_write(m, 0x30000, &sentinel, 1);
    v->tx_seed = 1;
    iop_dma_register_channel(&d, 1, dev_fn, v);
    /* Programmed by the ports, bypassing the API's check: 32 bytes from 0x3FFF0. */
    iop_dma_io_write(&d, 0x0b, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_WRITE | 1);
    iop_dma_io_write(&d, 0x83, 0x03);
    iop_dma_io_write(&d, 0x0c, 0);
    iop_dma_io_write(&d, 0x02, 0xf0);
    iop_dma_io_write(&d, 0x02, 0xff);
    iop_dma_io_write(&d, 0x03, 31);
    iop_dma_io_write(&d, 0x03, 0);
    iop_dma_io_write(&d, 0x0a, 1);
    iop_dma_io_write(&d, 0x09, 4 | 1);
    int before = log_count;
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 16);
    CHECK(log_count > before);
    CHECK(strstr(log_last, "boundary") != NULL);
    /* The silicon would have wrapped to 0x30000; the simulation stopped instead. */
    iop_isamem_read(m, 0x30000, &b, 1);
    CHECK_EQ(b, 0xee);
    iop_isamem_read(m, 0x40000, &b, 1);
    CHECK_EQ(b, 0);
    struct iop_dma_chan_status st;
    iop_dma_get_status(&d, 1, &st);
    CHECK(st.masked);
    CHECK_EQ(st.totals.faults, 1);
    CHECK_EQ(st.residue, 16);
    CHECK_EQ(st.totals.bytes, 16);
    free(v);
}

static void test_handler_errors(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
    struct dev *v = dev_new();
    struct iop_dma8237 d;

    CHECK_EQ(iop_isamem_new(&m), 0);
    iop_dma_init(&d, m);
    iop_dma_register_channel(&d, 5, dev_fn, v);
    iop_dma_request(&d, 5, "err");
    CHECK_EQ(program(&d, 5, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_WRITE, 0x2000, 64), 0);
    iop_dma_hold_dreq(&d, 5);
    v->fail = -EPIPE;
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), -EPIPE);
    struct iop_dma_chan_status st;
    iop_dma_get_status(&d, 5, &st);
    CHECK(st.masked);
    CHECK_EQ(st.totals.faults, 1);
    CHECK_EQ(st.residue, 64);

    /* An odd count on a 16-bit channel, or more than asked: impossible, -EIO. */
    v->fail = 0;
    v->limit = 3;
    CHECK_EQ(program(&d, 5, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_WRITE, 0x2000, 64), 0);
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), -EIO);
    iop_dma_get_status(&d, 5, &st);
    CHECK_EQ(st.totals.faults, 2);

    /* Unregistered channel: the default handler logs and moves nothing. */
    iop_dma_register_channel(&d, 5, NULL, NULL);
    CHECK_EQ(program(&d, 5, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_WRITE, 0x2000, 64), 0);
    int before = log_count;
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 0);
    CHECK(log_count > before);
    CHECK_EQ(residue(&d, 5), 64);

    /* Illegal transfer type written through the port: a fault, not a transfer. */
    iop_dma_register_channel(&d, 5, dev_fn, v);
    iop_dma_io_write(&d, 0xd6, 0x4c | 1);
    iop_dma_io_write(&d, 0xd4, 1);
    iop_dma_hold_dreq(&d, 5);
    size_t calls = v->calls;
    CHECK_EQ(iop_dma_run(&d, SIZE_MAX), 0);
    CHECK_EQ(v->calls, calls);
    iop_dma_get_status(&d, 5, &st);
    CHECK_EQ(st.totals.faults, 3);

    /* No ISA memory: the channel faults rather than dereferencing anything. */
    struct iop_dma8237 e;
    iop_dma_init(&e, NULL);
    iop_dma_register_channel(&e, 5, dev_fn, v);
    iop_dma_request(&e, 5, "nomem");
    CHECK_EQ(program(&e, 5, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_READ, 0x2000, 64), 0);
    iop_dma_hold_dreq(&e, 5);
    CHECK_EQ(iop_dma_run(&e, SIZE_MAX), 0);
    iop_dma_get_status(&e, 5, &st);
    CHECK_EQ(st.totals.faults, 1);
    free(v);
}

static void test_ops_table(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
    struct dev *v = dev_new();
    struct iop_dma8237 d;
    const struct iop_isa_dma_ops *ops = &iop_dma8237_isa_ops;

    CHECK_EQ(iop_isamem_new(&m), 0);
    iop_dma_init(&d, m);
    iop_dma_request(&d, 7, "ops");
    CHECK_EQ(program(&d, 7, IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_READ, 0x4000, 256), 0);
    CHECK_EQ(ops->register_channel(&d, 7, dev_fn, v), 0);
    CHECK_EQ(ops->hold_dreq(&d, 7), 0);
    CHECK_EQ(ops->release_dreq(&d, 7), 0);
    CHECK_EQ(ops->run(&d, SIZE_MAX), 0);
    CHECK_EQ(ops->hold_dreq(&d, 7), 0);
    CHECK_EQ(ops->run(&d, SIZE_MAX), 256);
    CHECK_EQ(ops->hold_dreq(&d, 9), -EINVAL);
    free(v);
}

int main(void) {
    iop_log_set_sink(log_sink, NULL);
    TEST(test_port_decode);
    TEST(test_flip_flop);
    TEST(test_mode_mask_status);
    TEST(test_page_registers);
    TEST(test_request_free_lock);
    TEST(test_addr_count_programming);
    TEST(test_api_equals_ports);
    TEST(test_program_equals_sequence);
    TEST(test_run_block_equals_run);
    TEST(test_enable_refuses_boundary_crossing);
    TEST(test_run_to_device);
    TEST(test_run_from_device_16bit);
    TEST(test_verify_moves_no_data);
    TEST(test_autoinit);
    TEST(test_decrement);
    TEST(test_residue_after_abort);
    TEST(test_cascade_and_disable);
    TEST(test_priority);
    TEST(test_boundary_stop);
    TEST(test_handler_errors);
    TEST(test_ops_table);
    return test_summary();
}
