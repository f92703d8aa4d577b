#include "lib/dma/i8237.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "lib/dma/isamem.h"
#include "lib/util/cleanup.h"
#include "lib/util/log.h"

/* Controller register indices (port offset on the 8-bit controller), 8237A datasheet
 * table "Software commands / internal registers". */
enum {
    REG_STATUS_COMMAND = 0x08,
    REG_REQUEST = 0x09,
    REG_SINGLE_MASK = 0x0a,
    REG_MODE = 0x0b,
    REG_CLEAR_FF = 0x0c,
    REG_TEMP_MASTER_CLEAR = 0x0d,
    REG_CLEAR_MASK = 0x0e,
    REG_ALL_MASK = 0x0f,
};

#define PAGE_PORT_FIRST 0x81
#define PAGE_PORT_LAST 0x8f
#define CTL1_PORT_FIRST 0xc0
#define CTL1_PORT_LAST 0xdf

/* Channel -> page register port (AT wiring; the order is historical, not arithmetic). */
static const uint8_t page_port[IOP_DMA_NCHANNELS] = { 0x87, 0x83, 0x81, 0x82, 0x8f, 0x8b, 0x89, 0x8a };

/* Decrement mode reverses the order of units, so a piece cannot be handed to the
 * device in place; it goes through this much stack at a time.  Decrement mode is rare
 * (no Linux driver uses it), the increment path stays zero-copy. */
#define DECREMENT_SCRATCH 512

/* The run loop returns an int byte count. */
#define RUN_BUDGET_MAX ((size_t)INT_MAX)

static bool chan_valid(unsigned chan) { return chan < IOP_DMA_NCHANNELS; }
static bool chan_allocatable(unsigned chan) { return chan_valid(chan) && chan != IOP_DMA_CASCADE_CHANNEL; }
static unsigned chan_ctl(unsigned chan) { return chan >> 2; }
static unsigned chan_shift(unsigned chan) { return chan >> 2; } /* 0: bytes, 1: words */
static uint8_t chan_bit(unsigned chan) { return (uint8_t)(1u << (chan & 3)); }

/* Port of controller register reg (0x08..0x0f) for channel's controller. */
static uint16_t port_ctl(unsigned chan, unsigned reg) {
    return chan < 4 ? (uint16_t)reg : (uint16_t)(0xd0 + (reg - 8) * 2);
}
static uint16_t port_addr(unsigned chan) {
    return chan < 4 ? (uint16_t)(chan * 2) : (uint16_t)(0xc0 + (chan - 4) * 4);
}
static uint16_t port_count(unsigned chan) {
    return (uint16_t)(port_addr(chan) + (chan < 4 ? 1 : 2));
}

/* The byte pointer flip-flop: returns its state and toggles it (QEMU's getff()). */
static unsigned getff(struct iop_dma_ctl *c) {
    unsigned ff = c->flip_flop;
    c->flip_flop = !ff;
    return ff;
}

static uint32_t page_base(const struct iop_dma8237 *d, unsigned chan) {
    uint8_t p = d->page[page_port[chan] & 0xf];
    /* 16-bit channels: A0 is always 0 and the address register drives A1-A16, so page
     * bit 0 (A16) is not used: blocks live in 128 KiB page pairs. */
    if (chan >= 4)
        p &= 0xfe;
    return (uint32_t)p << 16;
}

static uint32_t bus_addr(const struct iop_dma8237 *d, unsigned chan, uint16_t reg) {
    return page_base(d, chan) + ((uint32_t)reg << chan_shift(chan));
}

/* --- ports --- */

static void write_chan(struct iop_dma8237 *d, unsigned ctl, unsigned reg, uint8_t val) {
    struct iop_dma_ctl *c = &d->ctl[ctl];
    unsigned chan = ctl * 4 + (reg >> 1);
    struct iop_dma_chan *ch = &d->chan[chan];
    bool is_count = reg & 1;
    uint16_t *base = is_count ? &ch->base_count : &ch->base_addr;
    uint16_t *cur = is_count ? &ch->cur_count : &ch->cur_addr;

    /* Writing loads the base and current register together, one byte per access. */
    if (getff(c))
        *base = (uint16_t)((*base & 0x00ff) | (uint16_t)val << 8);
    else
        *base = (uint16_t)((*base & 0xff00) | val);
    *cur = *base;
    if (is_count)
        c->finished &= (uint8_t)~chan_bit(chan);
}

static uint8_t read_chan(struct iop_dma8237 *d, unsigned ctl, unsigned reg) {
    struct iop_dma_ctl *c = &d->ctl[ctl];
    const struct iop_dma_chan *ch = &d->chan[ctl * 4 + (reg >> 1)];
    uint16_t v = (reg & 1) ? ch->cur_count : ch->cur_addr;

    return getff(c) ? (uint8_t)(v >> 8) : (uint8_t)v;
}

static void write_cont(struct iop_dma8237 *d, unsigned ctl, unsigned reg, uint8_t val) {
    struct iop_dma_ctl *c = &d->ctl[ctl];
    unsigned ci = val & 3;

    switch (reg) {
    case REG_STATUS_COMMAND: /* write command register */
        if (val & ~IOP_DMA_CMD_DISABLE) {
            iop_warn("dma%u: command 0x%02x not supported, ignored", ctl, val);
            return;
        }
        c->command = val;
        break;
    case REG_REQUEST: /* write request register */
        if (val & 4)
            c->status |= (uint8_t)(0x10 << ci);
        else
            c->status &= (uint8_t)~(0x10 << ci);
        break;
    case REG_SINGLE_MASK: /* write single mask register bit */
        if (val & 4)
            c->mask |= (uint8_t)(1 << ci);
        else
            c->mask &= (uint8_t)~(1 << ci);
        break;
    case REG_MODE: /* write mode register */
        d->chan[ctl * 4 + ci].mode = val & 0xfc;
        break;
    case REG_CLEAR_FF: /* clear byte pointer flip-flop */
        c->flip_flop = 0;
        break;
    case REG_TEMP_MASTER_CLEAR: /* master clear */
        c->command = 0;
        c->status = 0;
        c->flip_flop = 0;
        c->mask = 0x0f;
        break;
    case REG_CLEAR_MASK: /* clear mask register */
        c->mask = 0;
        break;
    case REG_ALL_MASK: /* write all mask register bits */
        c->mask = val & 0x0f;
        break;
    default:
        assert(!"controller register out of range");
    }
}

static uint8_t read_cont(struct iop_dma8237 *d, unsigned ctl, unsigned reg) {
    struct iop_dma_ctl *c = &d->ctl[ctl];
    uint8_t v;

    switch (reg) {
    case REG_STATUS_COMMAND: /* read status register: TC bits clear on read */
        v = c->status;
        c->status &= 0xf0;
        return v;
    case REG_TEMP_MASTER_CLEAR: /* read temporary register: memory-to-memory only */
        return 0;
    case REG_ALL_MASK: /* read all mask bits (AT chipsets); upper bits read as 1 */
        return (uint8_t)(0xf0 | c->mask);
    default: /* write-only: nothing drives the bus */
        return 0xff;
    }
}

/* Port -> controller and register index 0x00..0x0f. */
static bool decode(uint16_t port, unsigned *ctl, unsigned *reg) {
    if (port <= 0x0f) {
        *ctl = 0;
        *reg = port;
        return true;
    }
    if (port >= CTL1_PORT_FIRST && port <= CTL1_PORT_LAST) {
        *ctl = 1;
        *reg = (unsigned)(port - CTL1_PORT_FIRST) >> 1;
        return true;
    }
    return false;
}

static bool is_page_port(uint16_t port) { return port >= PAGE_PORT_FIRST && port <= PAGE_PORT_LAST; }

bool iop_dma_port_decoded(uint16_t port) {
    unsigned ctl, reg;
    return decode(port, &ctl, &reg) || is_page_port(port);
}

int iop_dma_io_write(struct iop_dma8237 *d, uint16_t port, uint8_t val) {
    unsigned ctl, reg;

    assert(d);
    if (is_page_port(port)) {
        d->page[port & 0xf] = val;
        return 0;
    }
    if (!decode(port, &ctl, &reg))
        return -EINVAL;
    if (reg < 8)
        write_chan(d, ctl, reg, val);
    else
        write_cont(d, ctl, reg, val);
    return 0;
}

int iop_dma_io_read(struct iop_dma8237 *d, uint16_t port) {
    unsigned ctl, reg;

    assert(d);
    if (is_page_port(port))
        return d->page[port & 0xf];
    if (!decode(port, &ctl, &reg))
        return -EINVAL;
    return reg < 8 ? read_chan(d, ctl, reg) : read_cont(d, ctl, reg);
}

/* --- init --- */

static int default_handler(void *opaque, unsigned chan, enum iop_dma_dir dir, uint8_t *buf, size_t len) {
    (void)opaque;
    (void)buf;
    /* QEMU's dma_phony_handler: nothing attached, so nothing asserts DREQ in earnest;
     * make no progress and say so. */
    iop_warn("dma: channel %u runs with no device attached (dir %d, %zu bytes)", chan, (int)dir, len);
    return 0;
}

void iop_dma_reset(struct iop_dma8237 *d) {
    assert(d);
    /* Reset through the register path, as QEMU's dma_reset() does. */
    iop_dma_io_write(d, port_ctl(0, REG_TEMP_MASTER_CLEAR), 0);
    iop_dma_io_write(d, port_ctl(4, REG_TEMP_MASTER_CLEAR), 0);
    /* The BIOS: channel 4 carries the 8-bit controller's hold request, so it must be in
     * cascade mode and unmasked before channels 0-3 can do anything. */
    iop_dma_io_write(d, port_ctl(4, REG_MODE), IOP_DMA_MODE_CASCADE | 0);
    iop_dma_io_write(d, port_ctl(4, REG_SINGLE_MASK), 0);
}

void iop_dma_init(struct iop_dma8237 *d, struct iop_isamem *mem) {
    assert(d);
    memset(d, 0, sizeof(*d));
    d->mem = mem;
    for (unsigned i = 0; i < IOP_DMA_NCHANNELS; i++)
        d->chan[i].handler = default_handler;
    iop_dma_reset(d);
}

/* --- device side and the run loop --- */

int iop_dma_register_channel(struct iop_dma8237 *d, unsigned chan, iop_dma_xfer_fn fn, void *opaque) {
    assert(d);
    if (!chan_valid(chan))
        return -EINVAL;
    d->chan[chan].handler = fn ? fn : default_handler;
    d->chan[chan].opaque = fn ? opaque : NULL;
    return 0;
}

int iop_dma_hold_dreq(struct iop_dma8237 *d, unsigned chan) {
    assert(d);
    if (!chan_valid(chan))
        return -EINVAL;
    d->ctl[chan_ctl(chan)].status |= (uint8_t)(chan_bit(chan) << 4);
    return 0;
}

int iop_dma_release_dreq(struct iop_dma8237 *d, unsigned chan) {
    assert(d);
    if (!chan_valid(chan))
        return -EINVAL;
    d->ctl[chan_ctl(chan)].status &= (uint8_t)~(chan_bit(chan) << 4);
    return 0;
}

bool iop_dma_path_blocked(const struct iop_dma8237 *d, unsigned chan) {
    assert(d);
    assert(chan_valid(chan));
    const struct iop_dma_ctl *m = &d->ctl[1];

    if (d->ctl[chan_ctl(chan)].command & IOP_DMA_CMD_DISABLE)
        return true;
    /* Channels 0-3 reach the bus through the 16-bit controller's channel 4. */
    if (chan < 4 && ((m->command & IOP_DMA_CMD_DISABLE) || (m->mask & 1) ||
                     (d->chan[IOP_DMA_CASCADE_CHANNEL].mode & IOP_DMA_MODE_OP_MASK) != IOP_DMA_MODE_CASCADE))
        return true;
    return false;
}

static void chan_fault(struct iop_dma8237 *d, unsigned chan, const char *why) {
    d->ctl[chan_ctl(chan)].mask |= chan_bit(chan);
    d->chan[chan].totals.faults++;
    iop_warn("dma: channel %u stopped: %s", chan, why);
}

/* Terminal count: datasheet "TC" — status bit, request cleared, autoinit reloads the
 * current registers from the base registers, otherwise the channel masks itself. */
static void terminal_count(struct iop_dma8237 *d, unsigned chan) {
    struct iop_dma_ctl *c = &d->ctl[chan_ctl(chan)];
    struct iop_dma_chan *ch = &d->chan[chan];
    uint8_t bit = chan_bit(chan);

    c->status |= bit;
    c->status &= (uint8_t)~(bit << 4);
    if (ch->mode & IOP_DMA_MODE_AUTOINIT) {
        ch->cur_addr = ch->base_addr;
        ch->cur_count = ch->base_count;
    } else {
        c->mask |= bit;
        c->finished |= bit;
    }
}

/* Validate a handler's answer: -EIO for a count it could not have done. */
static int handler_result(int r, size_t len, unsigned shift) {
    if (r < 0)
        return r;
    if ((size_t)r > len || (r & ((1 << shift) - 1)))
        return -EIO;
    return r;
}

/* What a piece of the run loop needs to know about its channel. */
struct run_ctx {
    struct iop_dma8237 *d;
    struct iop_dma_chan *ch;
    unsigned chan;
    unsigned shift;  /* 0: bytes, 1: words */
    uint32_t base;   /* page base: bus address of unit 0 */
    enum iop_dma_dir dir;
};

static int map_units(const struct run_ctx *rc, uint32_t first, uint32_t n, uint8_t **p) {
    *p = NULL;
    if (rc->dir == IOP_DMA_VERIFY)
        return 0;
    return iop_isamem_map(rc->d->mem, rc->base + (first << rc->shift), (size_t)n << rc->shift, p);
}

/* One contiguous piece of n units in increment mode, from the current address. */
static int piece_inc(const struct run_ctx *rc, uint32_t n, uint32_t *done) {
    size_t len = (size_t)n << rc->shift;
    uint8_t *p;
    int r;

    if ((r = map_units(rc, rc->ch->cur_addr, n, &p)) < 0)
        return r;
    r = handler_result(rc->ch->handler(rc->ch->opaque, rc->chan, rc->dir, p, len), len, rc->shift);
    if (r < 0)
        return r;
    *done = (uint32_t)r >> rc->shift;
    return 0;
}

/* The same in decrement mode: the device sees units in descending address order
 * (bytes inside a 16-bit word keep their order: the bus moves whole words). */
static int piece_dec(const struct run_ctx *rc, uint32_t n, uint32_t *done) {
    unsigned unit = 1u << rc->shift;
    uint8_t tmp[DECREMENT_SCRATCH];

    *done = 0;
    while (*done < n) {
        uint32_t k = IOP_MIN(n - *done, (uint32_t)(sizeof(tmp) >> rc->shift));
        uint32_t top = (uint32_t)rc->ch->cur_addr - *done; /* highest unit of this piece */
        size_t len = (size_t)k << rc->shift;
        uint8_t *p;
        int r;

        if ((r = map_units(rc, top - k + 1, k, &p)) < 0)
            return r;
        if (rc->dir == IOP_DMA_TO_DEVICE)
            for (uint32_t i = 0; i < k; i++)
                memcpy(tmp + i * unit, p + (k - 1 - i) * unit, unit);
        r = handler_result(rc->ch->handler(rc->ch->opaque, rc->chan, rc->dir, p ? tmp : NULL, len), len,
                           rc->shift);
        if (r < 0)
            return r;
        uint32_t got = (uint32_t)r >> rc->shift;
        if (rc->dir == IOP_DMA_FROM_DEVICE)
            for (uint32_t i = 0; i < got; i++)
                memcpy(p + (k - 1 - i) * unit, tmp + i * unit, unit);
        *done += got;
        if (got < k)
            break;
    }
    return 0;
}

/* After a piece: the registers and totals move by what the device took, and a device
 * error faults the channel.  Shared by the run loop and the one-piece way. */
static int count_piece(struct iop_dma8237 *d, unsigned chan, const struct run_ctx *rc, bool dec, uint32_t got,
                       int r) {
    struct iop_dma_chan *ch = &d->chan[chan];

    ch->cur_addr = (uint16_t)(dec ? ch->cur_addr - got : ch->cur_addr + got);
    ch->cur_count = (uint16_t)(ch->cur_count - got);
    if (rc->dir == IOP_DMA_VERIFY)
        ch->totals.verified += (uint64_t)got << rc->shift;
    else
        ch->totals.bytes += (uint64_t)got << rc->shift;
    if (r < 0)
        chan_fault(d, chan, r == -EIO ? "device returned an impossible count" : "device error");
    return r;
}

int iop_dma_channel_run(struct iop_dma8237 *d, unsigned chan, size_t budget) {
    assert(d);
    if (!chan_valid(chan))
        return -EINVAL;
    struct iop_dma_chan *ch = &d->chan[chan];
    struct run_ctx rc = { .d = d, .ch = ch, .chan = chan, .shift = chan_shift(chan), .base = page_base(d, chan) };
    bool dec = ch->mode & IOP_DMA_MODE_DECREMENT;
    size_t moved = 0;

    switch (ch->mode & IOP_DMA_MODE_XFER_MASK) {
    case IOP_DMA_MODE_READ:
        rc.dir = IOP_DMA_TO_DEVICE;
        break;
    case IOP_DMA_MODE_WRITE:
        rc.dir = IOP_DMA_FROM_DEVICE;
        break;
    case IOP_DMA_MODE_VERIFY:
        rc.dir = IOP_DMA_VERIFY;
        break;
    default:
        chan_fault(d, chan, "illegal transfer type in mode register");
        return 0;
    }
    if (rc.dir != IOP_DMA_VERIFY && !d->mem) {
        chan_fault(d, chan, "no ISA memory attached");
        return 0;
    }

    budget = IOP_MIN(budget, RUN_BUDGET_MAX);
    while ((budget - moved) >> rc.shift > 0) {
        uint32_t left = (uint32_t)ch->cur_count + 1;
        /* Units before the 16-bit address register would wrap inside the page. */
        uint32_t contig = dec ? (uint32_t)ch->cur_addr + 1 : 0x10000u - ch->cur_addr;
        uint32_t n = IOP_MIN(IOP_MIN(left, contig), (uint32_t)((budget - moved) >> rc.shift));
        uint32_t got = 0;
        int r = dec ? piece_dec(&rc, n, &got) : piece_inc(&rc, n, &got);

        moved += (size_t)got << rc.shift;
        if (count_piece(d, chan, &rc, dec, got, r) < 0)
            return r;
        if (got == left) {
            terminal_count(d, chan);
            break;
        }
        if (got < n)
            break; /* the device dropped DREQ */
        if (n == contig) {
            chan_fault(d, chan, "block crosses the 64K/128K boundary");
            break;
        }
    }
    return (int)moved;
}

/* The block as iop_dma_program leaves it (single mode, increment, no autoinit, not
 * reaching the boundary) is one piece for the device, and what iop_dma_channel_run
 * does with it comes down to this: map it, hand it over, count, terminal count. */
static int run_one_piece(struct iop_dma8237 *d, unsigned chan, enum iop_dma_dir dir) {
    struct iop_dma_chan *ch = &d->chan[chan];
    struct run_ctx rc = { .d = d, .ch = ch, .chan = chan, .shift = chan_shift(chan), .base = page_base(d, chan), .dir = dir };
    uint32_t left = (uint32_t)ch->cur_count + 1;
    uint32_t got = 0;
    int r = piece_inc(&rc, left, &got);

    if (count_piece(d, chan, &rc, false, got, r) < 0)
        return r;
    if (got == left)
        terminal_count(d, chan);
    return (int)((size_t)got << rc.shift);
}

int iop_dma_run_block(struct iop_dma8237 *d, unsigned chan) {
    assert(d);
    if (!chan_valid(chan))
        return -EINVAL;
    const struct iop_dma_chan *ch = &d->chan[chan];
    struct iop_dma_ctl *c = &d->ctl[chan_ctl(chan)];
    uint8_t dreq = (uint8_t)(chan_bit(chan) << 4);
    uint32_t left = (uint32_t)ch->cur_count + 1;
    enum iop_dma_dir dir = IOP_DMA_VERIFY;
    int r;

    switch (ch->mode) {
    case IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_READ:
        dir = IOP_DMA_TO_DEVICE;
        break;
    case IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_WRITE:
        dir = IOP_DMA_FROM_DEVICE;
        break;
    case IOP_DMA_MODE_SINGLE | IOP_DMA_MODE_VERIFY:
        break;
    default:
        left = 0; /* any other mode: the run loop */
    }
    c->status |= dreq; /* iop_dma_hold_dreq */
    if (left && d->mem && (uint32_t)ch->cur_addr + left <= 0x10000u)
        r = run_one_piece(d, chan, dir);
    else
        r = iop_dma_channel_run(d, chan, ((size_t)ch->cur_count + 1) << chan_shift(chan));
    c->status &= (uint8_t)~dreq; /* iop_dma_release_dreq */
    return r;
}

int iop_dma_run(struct iop_dma8237 *d, size_t budget) {
    assert(d);
    size_t moved = 0;

    budget = IOP_MIN(budget, RUN_BUDGET_MAX);
    /* Fixed priority: the 16-bit controller's channel 4 (the whole 8-bit controller,
     * itself 0 > 1 > 2 > 3) beats 5 > 6 > 7. */
    for (unsigned chan = 0; chan < IOP_DMA_NCHANNELS && moved < budget; chan++) {
        const struct iop_dma_ctl *c = &d->ctl[chan_ctl(chan)];
        uint8_t bit = chan_bit(chan);

        /* A channel in cascade mode belongs to a bus master: the 8237 moves no data. */
        if (chan == IOP_DMA_CASCADE_CHANNEL || (c->mask & bit) || !(c->status & (bit << 4)) ||
            (d->chan[chan].mode & IOP_DMA_MODE_OP_MASK) == IOP_DMA_MODE_CASCADE || iop_dma_path_blocked(d, chan))
            continue;
        int r = iop_dma_channel_run(d, chan, budget - moved);
        if (r < 0)
            return r;
        moved += (size_t)r;
    }
    return (int)moved;
}

/* --- driver side --- */

static int check_owned(struct iop_dma8237 *d, unsigned chan) {
    if (!chan_allocatable(chan))
        return -EINVAL;
    if (!d->locked)
        return -ENOLCK;
    if (!d->chan[chan].owner[0])
        return -EPERM;
    return 0;
}

static int name_check(const char *name) {
    if (!name)
        return -EINVAL;
    size_t n = strnlen(name, IOP_DMA_OWNER_MAX);
    if (n == 0)
        return -EINVAL;
    if (n == IOP_DMA_OWNER_MAX)
        return -ENAMETOOLONG;
    for (size_t i = 0; i < n; i++)
        if (name[i] < 0x20 || name[i] > 0x7e)
            return -EINVAL;
    return 0;
}

int iop_dma_request(struct iop_dma8237 *d, unsigned chan, const char *name) {
    int r;

    assert(d);
    if (!chan_allocatable(chan))
        return -EINVAL;
    if ((r = name_check(name)) < 0)
        return r;
    if (d->chan[chan].owner[0])
        return -EBUSY;
    memset(d->chan[chan].owner, 0, sizeof(d->chan[chan].owner));
    memcpy(d->chan[chan].owner, name, strlen(name));
    return 0;
}

int iop_dma_free(struct iop_dma8237 *d, unsigned chan) {
    assert(d);
    if (!chan_allocatable(chan))
        return -EINVAL;
    if (!d->chan[chan].owner[0])
        return -ENOENT;
    if (d->xfer.active && d->xfer.chan == chan)
        return -EBUSY;
    memset(d->chan[chan].owner, 0, sizeof(d->chan[chan].owner));
    iop_dma_io_write(d, port_ctl(chan, REG_SINGLE_MASK), (uint8_t)(4 | (chan & 3)));
    return 0;
}

int iop_dma_claim_lock(struct iop_dma8237 *d) {
    assert(d);
    if (d->locked)
        return -EDEADLK;
    d->locked = true;
    return 0;
}

int iop_dma_release_lock(struct iop_dma8237 *d) {
    assert(d);
    if (!d->locked)
        return -EPERM;
    d->locked = false;
    return 0;
}

/* A 16-bit channel register loaded as the driver's three port writes would load it
 * (clear the flip-flop, low byte, high byte): base and current take v and the
 * flip-flop ends cleared; loading a count forgets that the channel reached TC.  Done
 * on the registers directly: the data path programs a channel for every block, and
 * decoding each byte access costs more than the copy of a small block. */
static void load16(struct iop_dma8237 *d, unsigned chan, bool count, uint16_t v) {
    struct iop_dma_ctl *c = &d->ctl[chan_ctl(chan)];
    struct iop_dma_chan *ch = &d->chan[chan];
    if (count) {
        ch->base_count = ch->cur_count = v;
        c->finished &= (uint8_t)~chan_bit(chan);
    } else {
        ch->base_addr = ch->cur_addr = v;
    }
    c->flip_flop = 0;
}

/* The single mask register write (0x0A / 0xD4) for one channel. */
static void set_mask(struct iop_dma8237 *d, unsigned chan, bool masked) {
    struct iop_dma_ctl *c = &d->ctl[chan_ctl(chan)];
    if (masked)
        c->mask |= chan_bit(chan);
    else
        c->mask &= (uint8_t)~chan_bit(chan);
}

static uint16_t read16(struct iop_dma8237 *d, unsigned chan, uint16_t port) {
    iop_dma_io_write(d, port_ctl(chan, REG_CLEAR_FF), 0);
    uint16_t lo = (uint16_t)iop_dma_io_read(d, port);
    uint16_t hi = (uint16_t)iop_dma_io_read(d, port);
    return (uint16_t)(lo | hi << 8);
}

/* The register effects of the driver calls, once check_owned has passed; each returns
 * what the call returns from there on.  The single calls below and iop_dma_program
 * (the whole sequence) share them, so the two cannot drift apart. */
static int do_set_mode(struct iop_dma8237 *d, unsigned chan, uint8_t mode) {
    if ((mode & 3) || (mode & IOP_DMA_MODE_XFER_MASK) == IOP_DMA_MODE_XFER_MASK)
        return -EINVAL;
    d->chan[chan].mode = mode; /* the mode port write, channel select (bits 1:0) dropped */
    return 0;
}

static int do_set_addr(struct iop_dma8237 *d, unsigned chan, uint32_t addr) {
    if (addr >= IOP_ISAMEM_SIZE)
        return -EFAULT;
    if (chan >= 4 && (addr & 1))
        return -EINVAL;
    uint8_t page = (uint8_t)(addr >> 16);
    if (chan >= 4)
        page &= 0xfe;
    d->page[page_port[chan] & 0xf] = page;
    load16(d, chan, false, (uint16_t)(addr >> chan_shift(chan)));
    return 0;
}

static int do_set_count(struct iop_dma8237 *d, unsigned chan, uint32_t bytes) {
    if (bytes == 0 || bytes > iop_isamem_boundary(chan >= 4) || (chan >= 4 && (bytes & 1)))
        return -EINVAL;
    load16(d, chan, true, (uint16_t)((bytes >> chan_shift(chan)) - 1));
    return 0;
}

static int do_enable(struct iop_dma8237 *d, unsigned chan) {
    const struct iop_dma_chan *ch = &d->chan[chan];
    if ((ch->mode & IOP_DMA_MODE_OP_MASK) != IOP_DMA_MODE_CASCADE) {
        bool crosses = (ch->mode & IOP_DMA_MODE_DECREMENT) ? ch->base_addr < ch->base_count
                                                           : (uint32_t)ch->base_addr + ch->base_count > 0xffff;
        if (crosses)
            return -EINVAL;
    }
    set_mask(d, chan, false);
    return 0;
}

int iop_dma_clear_ff(struct iop_dma8237 *d, unsigned chan) {
    int r;

    assert(d);
    if ((r = check_owned(d, chan)) < 0)
        return r;
    d->ctl[chan_ctl(chan)].flip_flop = 0; /* the clear-flip-flop port write */
    return 0;
}

int iop_dma_set_mode(struct iop_dma8237 *d, unsigned chan, uint8_t mode) {
    int r;

    assert(d);
    if ((r = check_owned(d, chan)) < 0)
        return r;
    return do_set_mode(d, chan, mode);
}

int iop_dma_set_addr(struct iop_dma8237 *d, unsigned chan, uint32_t addr) {
    int r;

    assert(d);
    if ((r = check_owned(d, chan)) < 0)
        return r;
    return do_set_addr(d, chan, addr);
}

int iop_dma_set_count(struct iop_dma8237 *d, unsigned chan, uint32_t bytes) {
    int r;

    assert(d);
    if ((r = check_owned(d, chan)) < 0)
        return r;
    return do_set_count(d, chan, bytes);
}

int iop_dma_enable(struct iop_dma8237 *d, unsigned chan) {
    int r;

    assert(d);
    if ((r = check_owned(d, chan)) < 0)
        return r;
    return do_enable(d, chan);
}

/* The sequence claims the lock, so check_owned's -ENOLCK cannot happen inside it, and
 * every later call of it would pass the same channel checks: checked once. */
int iop_dma_program(struct iop_dma8237 *d, unsigned chan, uint8_t mode, uint32_t addr, uint32_t bytes) {
    int r;

    assert(d);
    if (d->locked)
        return -EDEADLK;
    if (!chan_allocatable(chan))
        return -EINVAL;
    if (!d->chan[chan].owner[0])
        return -EPERM;
    d->ctl[chan_ctl(chan)].flip_flop = 0;
    if ((r = do_set_mode(d, chan, mode)) < 0 || (r = do_set_addr(d, chan, addr)) < 0 ||
        (r = do_set_count(d, chan, bytes)) < 0)
        return r;
    return do_enable(d, chan);
}

int iop_dma_disable(struct iop_dma8237 *d, unsigned chan) {
    int r;

    assert(d);
    if ((r = check_owned(d, chan)) < 0)
        return r;
    set_mask(d, chan, true);
    return 0;
}

static uint32_t residue_of(const struct iop_dma8237 *d, unsigned chan, uint16_t count) {
    if (count == 0xffff && (d->ctl[chan_ctl(chan)].finished & chan_bit(chan)))
        return 0;
    return ((uint32_t)count + 1) << chan_shift(chan);
}

int iop_dma_get_residue(struct iop_dma8237 *d, unsigned chan) {
    int r;

    assert(d);
    if ((r = check_owned(d, chan)) < 0)
        return r;
    return (int)residue_of(d, chan, read16(d, chan, port_count(chan)));
}

/* --- reporting --- */

int iop_dma_get_status(const struct iop_dma8237 *d, unsigned chan, struct iop_dma_chan_status *ret) {
    assert(d);
    assert(ret);
    if (!chan_valid(chan))
        return -EINVAL;
    const struct iop_dma_chan *ch = &d->chan[chan];
    const struct iop_dma_ctl *c = &d->ctl[chan_ctl(chan)];
    uint8_t bit = chan_bit(chan);

    memset(ret, 0, sizeof(*ret));
    ret->chan = chan;
    ret->width = chan >= 4 ? 16 : 8;
    ret->mode = ch->mode;
    ret->base_addr = bus_addr(d, chan, ch->base_addr);
    ret->cur_addr = bus_addr(d, chan, ch->cur_addr);
    ret->count = ((uint32_t)ch->base_count + 1) << chan_shift(chan);
    ret->residue = residue_of(d, chan, ch->cur_count);
    ret->masked = c->mask & bit;
    ret->tc = c->status & bit;
    ret->requested = c->status & (bit << 4);
    ret->owned = ch->owner[0] != 0;
    memcpy(ret->owner, ch->owner, sizeof(ret->owner));
    ret->owner[IOP_DMA_OWNER_MAX - 1] = 0;
    ret->totals = ch->totals;
    if (d->xfer.active && d->xfer.chan == chan) {
        ret->xfer_active = true;
        ret->xfer_suspended = d->xfer.suspended;
        ret->xfer_len = d->xfer.len;
        ret->xfer_done = d->xfer.done;
    }
    return 0;
}

const char *iop_dma_xfer_type_name(uint8_t mode) {
    static const char *const names[] = { "verify", "write", "read", "illegal" };
    return names[(mode >> 2) & 3];
}

const char *iop_dma_op_mode_name(uint8_t mode) {
    static const char *const names[] = { "demand", "single", "block", "cascade" };
    return names[(mode >> 6) & 3];
}

/* --- the ops table --- */

static int op_register_channel(void *ctx, unsigned chan, iop_dma_xfer_fn fn, void *opaque) {
    return iop_dma_register_channel(ctx, chan, fn, opaque);
}
static int op_hold_dreq(void *ctx, unsigned chan) { return iop_dma_hold_dreq(ctx, chan); }
static int op_release_dreq(void *ctx, unsigned chan) { return iop_dma_release_dreq(ctx, chan); }
static int op_run(void *ctx, size_t budget) { return iop_dma_run(ctx, budget); }

const struct iop_isa_dma_ops iop_dma8237_isa_ops = {
    .register_channel = op_register_channel,
    .hold_dreq = op_hold_dreq,
    .release_dreq = op_release_dreq,
    .run = op_run,
};
