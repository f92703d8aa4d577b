/* Two cascaded Intel 8237A DMA controllers as wired in the PC/AT, and the driver-side
 * API of Documentation/DMA-ISA-LPC.txt (request_dma, claim_dma_lock, clear_dma_ff,
 * set_dma_mode/addr/count, enable/disable, get_dma_residue) built on the ports.
 *
 * Channels 0-3 are the 8-bit controller (ports 0x00-0x0F), channels 4-7 the 16-bit one
 * (ports 0xC0-0xDF, registers on even ports).  The 8-bit controller is cascaded into
 * channel 4 of the 16-bit one: channel 4 is never allocatable, and channels 0-3 only
 * move data while channel 4 is in cascade mode and unmasked (iop_dma_init does that,
 * as the BIOS did).  On channels 5-7 addresses and counts are in 16-bit words and bit 0
 * of the page register is ignored (the address register supplies A1-A16).
 *
 * Port map (AT):
 *   0x00+2n / 0x01+2n   channel n (0-3) current address / count (base on write)
 *   0x08 status (R) / command (W)       0x09 request (W)
 *   0x0A single mask bit (W)            0x0B mode (W)
 *   0x0C clear byte pointer flip-flop   0x0D temporary (R) / master clear (W)
 *   0x0E clear all mask bits (W)        0x0F all mask bits (R/W)
 *   0xC0+4n / 0xC2+4n   channel 4+n address / count; 0xD0..0xDE: the same registers as
 *                       0x08..0x0F at 0xD0 + 2*(reg - 8).  Odd ports alias the even one
 *                       below (A0 of the 16-bit controller is wired to SA1).
 *   0x81..0x8F page registers (74LS612): 0x87 ch0, 0x83 ch1, 0x81 ch2, 0x82 ch3,
 *                       0x8F ch4, 0x8B ch5, 0x89 ch6, 0x8A ch7; the rest are scratch.
 *
 * iopd is single-threaded (one event loop, house style 7.9), so the "DMA lock" is a
 * consistency check, not a mutex: the register routines refuse to run without it
 * (-ENOLCK), claiming it twice is the deadlock a spinlock would give (-EDEADLK).
 *
 * Deviation from the silicon, on purpose: where the real 8237 would wrap its 16-bit
 * address register inside the page (silently corrupting memory), the simulation stops
 * the channel at the boundary, masks it and counts a fault.  The driver API refuses to
 * enable a channel whose programmed block would get there (-EINVAL). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iop_isamem;

#define IOP_DMA_NCHANNELS 8
/* The 16-bit controller's channel 0: the cascade input of the 8-bit controller. */
#define IOP_DMA_CASCADE_CHANNEL 4
/* Owner names go into I2O parameter groups and an HTML page: short and printable. */
#define IOP_DMA_OWNER_MAX 32

/* Mode register (0x0B / 0xD6), datasheet names.  Bits 1:0 select the channel and are
 * supplied by iop_dma_set_mode.  Transfer type is named from memory's side: a "read
 * transfer" reads memory and writes the device.  Linux's DMA_MODE_READ (0x44) is
 * IOP_DMA_MODE_SINGLE|IOP_DMA_MODE_WRITE (device -> memory), DMA_MODE_WRITE (0x48)
 * is IOP_DMA_MODE_SINGLE|IOP_DMA_MODE_READ. */
#define IOP_DMA_MODE_VERIFY 0x00      /* cycles, no data */
#define IOP_DMA_MODE_WRITE 0x04       /* device -> memory */
#define IOP_DMA_MODE_READ 0x08        /* memory -> device */
#define IOP_DMA_MODE_XFER_MASK 0x0c   /* 0x0c is "illegal" on the 8237 */
#define IOP_DMA_MODE_AUTOINIT 0x10
#define IOP_DMA_MODE_DECREMENT 0x20
#define IOP_DMA_MODE_DEMAND 0x00
#define IOP_DMA_MODE_SINGLE 0x40
#define IOP_DMA_MODE_BLOCK 0x80
#define IOP_DMA_MODE_CASCADE 0xc0
#define IOP_DMA_MODE_OP_MASK 0xc0

/* Command register bits.  Only "controller disable" is emulated; a write with any other
 * bit set is logged and ignored (not half-emulated, as QEMU's i8257 does). */
#define IOP_DMA_CMD_MEM_TO_MEM 0x01
#define IOP_DMA_CMD_DISABLE 0x04

/* Direction seen by a device. */
enum iop_dma_dir {
    IOP_DMA_TO_DEVICE = 1,   /* read transfer */
    IOP_DMA_FROM_DEVICE = 2, /* write transfer */
    IOP_DMA_VERIFY = 3,      /* verify: no data */
};

/* The device side of a channel (QEMU's DMA_transfer_handler + opaque).  Called by the
 * run loop with one contiguous piece: for TO_DEVICE buf holds len bytes to consume, for
 * FROM_DEVICE the device fills buf, for VERIFY buf is NULL (no data moves, the device
 * only sees the cycles).  Returns how many bytes it took or produced, 0..len (fewer than
 * len: the device dropped DREQ, the channel stops there until the next run), or a
 * negative errno (the channel is masked and a fault is counted).  On a 16-bit channel
 * the count must be even.  Must not block and must not call back into the controller. */
typedef int (*iop_dma_xfer_fn)(void *opaque, unsigned chan, enum iop_dma_dir dir,
                               uint8_t *buf, size_t len);

/* Per-channel totals, kept across transfers and saved in the state blob. */
struct iop_dma_totals {
    uint64_t bytes;    /* data moved by the channel (either direction) */
    uint64_t verified; /* verify-mode cycles, in bytes: counted, no data moved */
    uint64_t chunks;   /* blocks programmed by the high-level helper */
    uint64_t bounces;  /* of those, blocks copied through an ISA bounce buffer */
    uint64_t faults;   /* handler errors, boundary stops, illegal modes */
};

struct iop_dma_chan {
    /* 8237 channel registers.  cur_count counts down and reads 0xFFFF after the last
     * transfer (terminal count). */
    uint16_t base_addr, base_count, cur_addr, cur_count;
    uint8_t mode; /* mode register bits 7:2 (bits 1:0 are the channel select) */
    char owner[IOP_DMA_OWNER_MAX]; /* request_dma name, "" when free; zero padded */
    struct iop_dma_totals totals;
    /* Runtime only, never saved: */
    iop_dma_xfer_fn handler; /* never NULL after iop_dma_init (default logs) */
    void *opaque;            /* borrowed */
};

struct iop_dma_ctl {
    uint8_t command;
    uint8_t status;    /* bits 3:0 terminal count reached, 7:4 DREQ pending */
    uint8_t mask;      /* bits 3:0, 1 = masked */
    uint8_t flip_flop; /* byte pointer: 0 low byte next, 1 high byte next */
    /* Not visible at the ports: channel reached TC since its count was last written.
     * It tells "finished" from "programmed for 65536 units, not started", which the
     * count register alone cannot (both read 0xFFFF). */
    uint8_t finished;
};

/* The high-level helper's transfer (lib/dma/dma-xfer.h).  Saved: active..done. */
struct iop_dma_xfer_state {
    uint8_t active;   /* begun, not finished or aborted */
    uint8_t chan;
    uint8_t dir;      /* enum iop_dma_dir */
    uint8_t bounced;  /* 1: host buffer through a bounce buffer; 0: ISA resident */
    uint32_t isa_addr; /* ISA-resident data (bounced == 0) */
    uint64_t len;
    uint64_t done;    /* bytes fully delivered (device consumed / host received) */
    /* Runtime, recomputed: */
    uint8_t suspended;    /* loaded from a blob: needs iop_dma_xfer_resume or _abort */
    uint8_t have_bounce;
    uint32_t bounce_addr; /* ISA bounce buffer (owned, from d->mem) */
    uint32_t bounce_len;
    uint32_t chunk_addr;  /* ISA address of the programmed block */
    uint32_t chunk_len;   /* its length, 0 = none programmed */
    uint32_t chunk_pos;   /* bytes of it done */
    void *host;           /* borrowed */
};

struct iop_dma8237 {
    struct iop_dma_ctl ctl[2]; /* [0] 8-bit (ch 0-3), [1] 16-bit (ch 4-7) */
    struct iop_dma_chan chan[IOP_DMA_NCHANNELS];
    uint8_t page[16]; /* page register file, indexed by port & 0xf (0x80 is not ours) */
    struct iop_dma_xfer_state xfer;
    bool locked;             /* the DMA lock; runtime only */
    struct iop_isamem *mem;  /* borrowed: the memory the channels address */
};

/* Power-on state of both controllers (master clear, all registers zero), default
 * handlers, then what the BIOS does: channel 4 to cascade mode, unmasked.  mem may be
 * NULL (no transfers then: the run loop faults channels, the helper gives -ENODEV). */
void iop_dma_init(struct iop_dma8237 *d, struct iop_isamem *mem);
/* Master clear of both controllers through the ports, plus the BIOS cascade setup.
 * Registers other than command/status/request/mask/flip-flop keep their values, as on
 * the chip; owners, totals and handlers are kept. */
void iop_dma_reset(struct iop_dma8237 *d);

/* The register entry points.  io_write: 0, or -EINVAL for a port outside the map (no
 * effect).  io_read: the byte 0..255, or -EINVAL for a port outside the map.  Reading a
 * write-only register gives 0xFF (open bus).  Reading status clears its TC bits. */
int iop_dma_io_write(struct iop_dma8237 *d, uint16_t port, uint8_t val);
int iop_dma_io_read(struct iop_dma8237 *d, uint16_t port);
/* True if the port is one the controllers decode. */
bool iop_dma_port_decoded(uint16_t port);

/* --- device side --- */
/* Attach a device to channel 0-7 (fn NULL restores the logging default). */
int iop_dma_register_channel(struct iop_dma8237 *d, unsigned chan, iop_dma_xfer_fn fn, void *opaque);
/* DREQ asserted / dropped by the device (status bits 7:4).  TC clears it. */
int iop_dma_hold_dreq(struct iop_dma8237 *d, unsigned chan);
int iop_dma_release_dreq(struct iop_dma8237 *d, unsigned chan);
/* Move data on every channel that is unmasked, requested and not blocked (controller
 * disabled, or channels 0-3 while the cascade is not set up), in fixed priority order
 * 0,1,2,3,5,6,7, at most `budget` bytes in all and at most one terminal count per
 * channel per call (so an autoinit channel cannot spin forever).  Returns bytes moved,
 * or the first handler error (that channel is masked). */
int iop_dma_run(struct iop_dma8237 *d, size_t budget);

/* --- driver side (DMA-ISA-LPC.txt Parts IV and V) ---
 * All take a channel 0-7; channel 4 (the cascade) and > 7 give -EINVAL. */
/* request_dma: name is copied (1..IOP_DMA_OWNER_MAX-1 printable ASCII, else -EINVAL /
 * -ENAMETOOLONG).  -EBUSY if the channel is owned. */
int iop_dma_request(struct iop_dma8237 *d, unsigned chan, const char *name);
/* free_dma: -ENOENT if the channel is not owned, -EBUSY while the high-level helper
 * uses it.  Masks the channel, so a forgotten enable cannot move data for the next
 * owner. */
int iop_dma_free(struct iop_dma8237 *d, unsigned chan);
/* claim_dma_lock / release_dma_lock: -EDEADLK if already held, -EPERM if not held. */
int iop_dma_claim_lock(struct iop_dma8237 *d);
int iop_dma_release_lock(struct iop_dma8237 *d);
/* The register routines below need the lock (-ENOLCK) and a requested channel (-EPERM);
 * they also reset the flip-flop before each 16-bit register access, so one stray single
 * port access elsewhere cannot swap their bytes. */
/* clear_dma_ff for the channel's controller. */
int iop_dma_clear_ff(struct iop_dma8237 *d, unsigned chan);
/* set_dma_mode: mode bits 1:0 must be 0, transfer type 0x0c is illegal (-EINVAL). */
int iop_dma_set_mode(struct iop_dma8237 *d, unsigned chan, uint8_t mode);
/* set_dma_addr: a bus address below 16 MiB (-EFAULT otherwise); even on channels 5-7
 * (-EINVAL).  Writes the page register (bit 0 cleared on 5-7) and the address register
 * (bytes on 0-3, words on 5-7). */
int iop_dma_set_addr(struct iop_dma8237 *d, unsigned chan, uint32_t addr);
/* set_dma_count: bytes, 1..65536 on 0-3, even 2..131072 on 5-7 (-EINVAL); writes
 * count-1 in the channel's units. */
int iop_dma_set_count(struct iop_dma8237 *d, unsigned chan, uint32_t bytes);
/* enable_dma: clear the mask bit.  -EINVAL (channel stays masked) if the programmed
 * block would cross the 64K/128K boundary: the silicon would wrap inside the page. */
int iop_dma_enable(struct iop_dma8237 *d, unsigned chan);
/* disable_dma: set the mask bit. */
int iop_dma_disable(struct iop_dma8237 *d, unsigned chan);
/* get_dma_residue: bytes not yet transferred (16-bit channels: words * 2), >= 0.
 * Unlike the kernel's, a 65536-unit block not yet started reports 65536, not 0. */
int iop_dma_get_residue(struct iop_dma8237 *d, unsigned chan);

/* --- reporting --- */
struct iop_dma_chan_status {
    unsigned chan;
    unsigned width;        /* 8 or 16 */
    uint8_t mode;          /* mode register bits 7:2 */
    uint32_t base_addr;    /* bus address of the programmed block (page included) */
    uint32_t cur_addr;     /* bus address of the next transfer */
    uint32_t count;        /* programmed length, bytes */
    uint32_t residue;      /* bytes left, as iop_dma_get_residue */
    bool masked, tc, requested;
    bool owned;
    char owner[IOP_DMA_OWNER_MAX];
    struct iop_dma_totals totals;
    /* The high-level transfer, if it runs on this channel. */
    bool xfer_active, xfer_suspended;
    uint64_t xfer_len, xfer_done;
};
/* A side-effect-free snapshot of channel 0-7 (4 included: it shows the cascade).
 * Does not clear TC, does not touch the flip-flop. -EINVAL for chan > 7. */
int iop_dma_get_status(const struct iop_dma8237 *d, unsigned chan, struct iop_dma_chan_status *ret);
/* Names for reports: "verify", "write", "read", "illegal"; "demand", "single", "block",
 * "cascade". */
const char *iop_dma_xfer_type_name(uint8_t mode);
const char *iop_dma_op_mode_name(uint8_t mode);

/* --- the IsaDmaClass analogue: what emulated devices see (style anchors, section 4) ---
 * ctx is the struct iop_dma8237.  Same contracts as the functions above; none blocks. */
struct iop_isa_dma_ops {
    int (*register_channel)(void *ctx, unsigned chan, iop_dma_xfer_fn fn, void *opaque);
    int (*hold_dreq)(void *ctx, unsigned chan);
    int (*release_dreq)(void *ctx, unsigned chan);
    int (*run)(void *ctx, size_t budget);
};
extern const struct iop_isa_dma_ops iop_dma8237_isa_ops;

/* Internal to lib/dma (dma-xfer.c): the driver sequence claim_dma_lock, clear_dma_ff,
 * set_dma_mode, set_dma_addr, set_dma_count, enable_dma, release_dma_lock in one call,
 * with the same checks in the same order and the same effects, including those of the
 * calls before one that fails (test-i8237 holds the two against each other).  The data
 * path programs a channel for every block; one call costs a fraction of seven. */
int iop_dma_program(struct iop_dma8237 *d, unsigned chan, uint8_t mode, uint32_t addr, uint32_t bytes);
/* Internal to lib/dma (dma-xfer.c): run one channel regardless of its mask, request
 * and the other channels, at most budget bytes; bytes moved or a handler error
 * (-EINVAL for chan > 7). */
int iop_dma_channel_run(struct iop_dma8237 *d, unsigned chan, size_t budget);
/* Internal to lib/dma (dma-xfer.c): the device runs the programmed block with its DREQ
 * held, as iop_dma_hold_dreq, iop_dma_channel_run(the block's bytes) and
 * iop_dma_release_dreq would, in one piece when the block is as iop_dma_program leaves
 * it in single increment mode (test-i8237 holds the two against each other; any
 * other mode or state goes to the run loop). */
int iop_dma_run_block(struct iop_dma8237 *d, unsigned chan);
/* True if the channel's path to the bus is closed: its controller is disabled, or (0-3)
 * the cascade on channel 4 is not set up (cascade mode, unmasked, master enabled). */
bool iop_dma_path_blocked(const struct iop_dma8237 *d, unsigned chan);
