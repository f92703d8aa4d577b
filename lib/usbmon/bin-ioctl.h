/* The ioctls of the binary usbmon nodes (drivers/usb/mon/mon_bin.c mon_bin_ioctl() and
 * mon_bin_compat_ioctl(); Documentation/usb/usbmon.rst), over a bin-reader and the
 * caller's memory (lib/umem: every argument pointer may be NULL, unmapped or hostile).
 *
 *   MON_IOCQ_URB_LEN        len_cap of the oldest record, 0 when none
 *   MON_IOCG_STATS          {queued, dropped} to *arg; dropped is reset
 *   MON_IOCT_RING_SIZE      arg bytes, 8 KiB .. 64 MiB (else EINVAL), empties the ring
 *   MON_IOCQ_RING_SIZE      the ring size
 *   MON_IOCX_GET / GETX     struct mon_bin_get {hdr, data, alloc}: wait for a record,
 *                           copy its 48- (GET) or 64-byte (GETX) header to hdr and
 *                           min(len_cap, alloc) payload bytes to data, remove it; 0.
 *                           alloc > 0x10000000: EINVAL (64-bit callers only, as the kernel)
 *   MON_IOCX_MFETCH         struct mon_bin_mfetch {offvec, nfetch, nflush}: remove nflush
 *                           records (nflush gets the count), wait for one, write up to
 *                           nfetch ring offsets to offvec, nfetch gets the count; 0.
 *                           At most IOP_MON_BIN_MFETCH_MAX offsets a call: what one CUSE
 *                           ioctl can carry (the kernel has no limit; callers loop)
 *   MON_IOCH_MFLUSH         remove arg records; returns how many
 * 32-bit callers (IOP_MON_BIN_COMPAT) use struct mon_bin_get32 / mon_bin_mfetch32, whose
 * commands differ by the size in the number (GET32 0x400c9206 ...); a command of the
 * other width is ENOTTY, as are #2 (MON_IOCX_URB) and #9 (MON_IOCT_SETAPI), both gone.
 * Errors in the kernel's order: EFAULT for the argument struct, EINVAL, then the wait
 * (EAGAIN with O_NONBLOCK, EINTR from a signal, which the adapter answers), then EFAULT
 * for hdr/data/offvec.  A record whose copy faults stays queued, as in the kernel.
 *
 * Waiting.  GET, GETX and MFETCH wait while the ring is empty: the handler returns
 * IOP_MON_BIN_WAIT and the caller runs it again, with the same user-memory round and
 * the same struct iop_mon_bin_call, once the reader is readable or hung up (then the
 * call fails with ENODEV).  MFETCH removes its nflush records before waiting, once:
 * call->flushed remembers it.
 *
 * Rounds (lib/umem/umem.h).  A GET declares its out ranges after the wait, sized for
 * the oldest record (the header, and min(len_cap, alloc) data bytes), and with them one
 * byte of every page they cover as input: the kernel reads those before the next
 * round, so a bad hdr or data pointer fails with EFAULT before the record is removed.
 * (A read-only page passes that probe and loses the record at the final copy; the
 * kernel would keep it.)  MFETCH's ranges depend only on the caller's memory, so its
 * flush happens once, in its last round.  Rounds per call through CUSE: URB_LEN,
 * RING_SIZE, MFLUSH 1; STATS 2; GET/GETX 3 (also after a wait: the struct is read in
 * round 2, which is the one that waits), 2 when it repeats the last one (see struct
 * iop_mon_bin_hint) and a record is there; MFETCH 3.  Out ranges are written in
 * declaration order, so MFETCH writes nflush, nfetch, then the offsets (the kernel
 * writes nflush, the offsets, then nfetch: the results differ only if offvec overlaps
 * the struct).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct iop_mon_bin_reader;
struct iop_umem;

#define IOP_MON_IOC_MAGIC 0x92
/* The kernel's numbers (x86 encodings of _IO/_IOR/_IOW/_IOWR with its struct sizes). */
#define IOP_MON_IOCQ_URB_LEN 0x00009201u
#define IOP_MON_IOCG_STATS 0x80089203u
#define IOP_MON_IOCT_RING_SIZE 0x00009204u
#define IOP_MON_IOCQ_RING_SIZE 0x00009205u
#define IOP_MON_IOCX_GET 0x40189206u
#define IOP_MON_IOCX_MFETCH 0xc0109207u
#define IOP_MON_IOCH_MFLUSH 0x00009208u
#define IOP_MON_IOCX_GETX 0x4018920au
#define IOP_MON_IOCX_GET32 0x400c9206u
#define IOP_MON_IOCX_MFETCH32 0xc00c9207u
#define IOP_MON_IOCX_GETX32 0x400c920au

/* Argument layouts. */
struct iop_mon_bin_stats {
    uint32_t queued;
    uint32_t dropped;
};
struct iop_mon_bin_get {
    uint64_t hdr;   /* struct mon_bin_hdr * (48 or 64 bytes) */
    uint64_t data;  /* void * */
    uint64_t alloc; /* size_t: room at data */
};
struct iop_mon_bin_mfetch {
    uint64_t offvec; /* u32 * */
    uint32_t nfetch; /* in: room in offvec; out: offsets written */
    uint32_t nflush; /* in: records to remove first; out: removed */
};
struct iop_mon_bin_get32 {
    uint32_t hdr32, data32, alloc32;
};
struct iop_mon_bin_mfetch32 {
    uint32_t offvec32, nfetch32, nflush32;
};
_Static_assert(sizeof(struct iop_mon_bin_get) == 24 && sizeof(struct iop_mon_bin_mfetch) == 16 &&
               sizeof(struct iop_mon_bin_get32) == 12 && sizeof(struct iop_mon_bin_mfetch32) == 12,
               "mon_bin ioctl argument sizes");

/* Offsets one MFETCH returns: 32 pages of output less the two counts. */
#define IOP_MON_BIN_MFETCH_MAX ((32u * 4096u - 8u) / 4u)

/* "Want to cast to u32": the 64-bit GET's limit on alloc. */
#define IOP_MON_BIN_GET_ALLOC_MAX 0x10000000u

/* Flags for a call. */
#define IOP_MON_BIN_COMPAT 0x1u   /* a 32-bit caller (the compat_ioctl path) */
#define IOP_MON_BIN_NONBLOCK 0x2u /* the file is O_NONBLOCK: no waiting, EAGAIN */

/* Returned (positive, unlike any result) when the call must wait for a record. */
#define IOP_MON_BIN_WAIT 0x40000002

/* State one call keeps while it waits (zero it before the first round of a call). */
struct iop_mon_bin_call {
    bool flushed;      /* MFETCH removed its nflush records already */
    uint32_t nflushed; /* ... this many */
};

/* What a file's last successful GET/GETX looked like (zero it at open).  libpcap
 * calls MON_IOCX_GET with the same struct, the same buffers, over and over: a call
 * with the command and argument address of the last one names that one's ranges in
 * its first round, blind, so that the record goes out in the second round instead of
 * the third.  The second round checks that the struct is indeed the same (else it
 * names the right ranges and takes a third).  Such a call skips the probes: its
 * buffers took the last record; should they have been unmapped since, the final copy
 * faults and the record is lost (the kernel would keep it). */
struct iop_mon_bin_hint {
    bool valid;
    unsigned cmd;
    uint64_t arg;
    struct iop_mon_bin_get g;
};

/* Run one ioctl.  Returns the ioctl's result (>= 0), -errno, IOP_UMEM_RETRY (name the
 * declared ranges and run again) or IOP_MON_BIN_WAIT.  Output may have been written
 * with an error (MFETCH's nflush with EAGAIN): deliver it with the error.  hint is the
 * file's (may be NULL). */
int iop_mon_bin_ioctl(struct iop_mon_bin_reader *r, unsigned cmd, uint64_t arg, unsigned flags,
                      struct iop_umem *um, struct iop_mon_bin_call *call, struct iop_mon_bin_hint *hint);
