#include "lib/usbmon/bin-ioctl.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/umem/umem.h"
#include "lib/usbmon/bin-reader.h"
#include "lib/usbmon/binary.h"

#define PAGE 4096u

/* Unlike IOP_TRY, anything but 0 goes up: a negative errno, or IOP_UMEM_RETRY (name
 * the declared ranges and run again). */
#define TRY_ROUND(expr)                                                                    \
    do {                                                                                   \
        int _r = (expr);                                                                   \
        if (_r != 0)                                                                       \
            return _r;                                                                     \
    } while (0)

/* Declare one byte of every page of [addr, addr + n) as input: the kernel then reads
 * each before the next round, and a page the caller does not have fails the ioctl with
 * EFAULT before anything is removed. */
static int probe(struct iop_umem *um, uint64_t addr, uint64_t n) {
    if (n == 0)
        return 0;
    TRY_ROUND(iop_umem_want_in(um, addr, 1));
    for (uint64_t p = (addr & ~(uint64_t)(PAGE - 1)) + PAGE; p - addr < n && p > addr; p += PAGE)
        TRY_ROUND(iop_umem_want_in(um, p, 1));
    return 0;
}

/* Nothing queued: what a call that needs a record does instead. */
static int no_record(const struct iop_mon_bin_reader *r, unsigned flags) {
    if (iop_mon_bin_reader_hung_up(r))
        return -ENODEV;
    return flags & IOP_MON_BIN_NONBLOCK ? -EAGAIN : IOP_MON_BIN_WAIT;
}

static int do_stats(struct iop_mon_bin_reader *r, uint64_t arg, struct iop_umem *um) {
    TRY_ROUND(iop_umem_want_out(um, arg, sizeof(struct iop_mon_bin_stats)));
    TRY_ROUND(iop_umem_sync(um));
    /* The kernel resets the count before it stores it: a bad pointer loses it there too. */
    struct iop_mon_bin_stats st = {
        .dropped = iop_mon_bin_reader_take_dropped(r),
        .queued = iop_mon_bin_reader_queued(r),
    };
    return iop_umem_write(um, arg, &st, sizeof(st));
}

/* mon_bin_get_event(). */
static int do_get(struct iop_mon_bin_reader *r, unsigned cmd, uint64_t arg, unsigned flags, unsigned hdrbytes,
                  struct iop_umem *um, struct iop_mon_bin_hint *hint) {
    bool compat = flags & IOP_MON_BIN_COMPAT;
    bool hinted = hint && hint->valid && hint->cmd == cmd && hint->arg == arg;
    bool mismatch = false;
    struct iop_mon_bin_get g;
    TRY_ROUND(iop_umem_want_in(um, arg, compat ? sizeof(struct iop_mon_bin_get32) : sizeof(g)));
    int first = iop_umem_sync(um); /* IOP_UMEM_RETRY: nothing of the caller's memory yet */
    if (first < 0)
        return first;
    if (first) {
        if (!hinted)
            return first;
        g = hint->g; /* name the ranges the last GET had, now */
    } else if (compat) {
        struct iop_mon_bin_get32 g32;
        TRY_ROUND(iop_umem_read(um, arg, &g32, sizeof(g32)));
        g = (struct iop_mon_bin_get){ g32.hdr32, g32.data32, g32.alloc32 };
    } else {
        TRY_ROUND(iop_umem_read(um, arg, &g, sizeof(g)));
        if (g.alloc > IOP_MON_BIN_GET_ALLOC_MAX)
            return -EINVAL;
    }
    if (!first && hinted && memcmp(&g, &hint->g, sizeof(g)) != 0) {
        /* The first round named the last GET's ranges, not these. */
        hint->valid = false;
        hinted = false;
        mismatch = true;
    }
    /* The wait comes before anything is done with hdr and data, as in the kernel. */
    const struct iop_mon_bin_hdr *h = iop_mon_bin_reader_head(r);
    if (!h)
        return first ? first : no_record(r, flags);
    uint32_t n = h->len_cap < g.alloc ? h->len_cap : (uint32_t)g.alloc;
    TRY_ROUND(iop_umem_want_out(um, g.hdr, hdrbytes));
    TRY_ROUND(iop_umem_want_out(um, g.data, n));
    if (!hinted) {
        TRY_ROUND(probe(um, g.hdr, hdrbytes));
        TRY_ROUND(probe(um, g.data, n));
    }
    if (mismatch)
        return IOP_UMEM_RETRY;
    TRY_ROUND(iop_umem_sync(um));

    TRY_ROUND(iop_umem_write(um, g.hdr, h, hdrbytes));
    /* The payload as up to two spans of the ring, written one after the other. */
    uint8_t chunk[4096];
    for (uint32_t done = 0; done < n;) {
        uint32_t k = n - done < sizeof(chunk) ? n - done : (uint32_t)sizeof(chunk);
        iop_mon_bin_reader_copy(r, done, chunk, k);
        TRY_ROUND(iop_umem_write(um, g.data + done, chunk, k));
        done += k;
    }
    iop_mon_bin_reader_consume(r);
    if (hint)
        *hint = (struct iop_mon_bin_hint){ .valid = true, .cmd = cmd, .arg = arg, .g = g };
    return 0;
}

/* MON_IOCX_MFETCH: mon_bin_flush(nflush), then mon_bin_fetch(offvec, nfetch). */
static int do_mfetch(struct iop_mon_bin_reader *r, uint64_t arg, unsigned flags, struct iop_umem *um,
                     struct iop_mon_bin_call *call) {
    bool compat = flags & IOP_MON_BIN_COMPAT;
    uint64_t offvec;
    uint32_t nfetch, nflush;
    size_t size = compat ? sizeof(struct iop_mon_bin_mfetch32) : sizeof(struct iop_mon_bin_mfetch);
    uint64_t at_nfetch = arg + (compat ? 4 : 8), at_nflush = arg + (compat ? 8 : 12);

    TRY_ROUND(iop_umem_want_in(um, arg, size));
    TRY_ROUND(iop_umem_want_out(um, at_nflush, sizeof(uint32_t)));
    TRY_ROUND(iop_umem_want_out(um, at_nfetch, sizeof(uint32_t)));
    TRY_ROUND(iop_umem_sync(um));
    if (compat) {
        struct iop_mon_bin_mfetch32 m;
        TRY_ROUND(iop_umem_read(um, arg, &m, sizeof(m)));
        offvec = m.offvec32;
        nfetch = m.nfetch32;
        nflush = m.nflush32;
    } else {
        struct iop_mon_bin_mfetch m;
        TRY_ROUND(iop_umem_read(um, arg, &m, sizeof(m)));
        offvec = m.offvec;
        nfetch = m.nfetch;
        nflush = m.nflush;
    }
    uint32_t cap = nfetch < IOP_MON_BIN_MFETCH_MAX ? nfetch : IOP_MON_BIN_MFETCH_MAX;
    TRY_ROUND(iop_umem_want_out(um, offvec, (size_t)cap * sizeof(uint32_t)));
    TRY_ROUND(iop_umem_sync(um));

    if (!call->flushed) {
        call->nflushed = nflush ? iop_mon_bin_reader_flush(r, nflush) : 0;
        call->flushed = true;
    }
    TRY_ROUND(iop_umem_write_u32(um, at_nflush, call->nflushed));
    if (!iop_mon_bin_reader_readable(r))
        return no_record(r, flags);
    uint32_t *vec = cap ? malloc((size_t)cap * sizeof(uint32_t)) : NULL;
    if (cap && !vec)
        return -ENOMEM;
    uint32_t n = iop_mon_bin_reader_fetch(r, vec, cap);
    int res = iop_umem_write_u32(um, at_nfetch, n);
    if (res == 0 && n)
        res = iop_umem_write(um, offvec, vec, (size_t)n * sizeof(uint32_t));
    free(vec);
    return res;
}

int iop_mon_bin_ioctl(struct iop_mon_bin_reader *r, unsigned cmd, uint64_t arg, unsigned flags,
                      struct iop_umem *um, struct iop_mon_bin_call *call, struct iop_mon_bin_hint *hint) {
    assert(r && um && call);
    bool compat = flags & IOP_MON_BIN_COMPAT;

    /* The commands both widths share (mon_bin_compat_ioctl passes these through). */
    switch (cmd) {
    case IOP_MON_IOCQ_URB_LEN:
        return (int)iop_mon_bin_reader_urb_len(r);
    case IOP_MON_IOCQ_RING_SIZE:
        return (int)iop_mon_bin_reader_ring_size(r);
    case IOP_MON_IOCT_RING_SIZE:
        return iop_mon_bin_reader_set_ring_size(r, arg);
    case IOP_MON_IOCH_MFLUSH:
        /* "unsigned nevents": the argument is cut to 32 bits. */
        return (int)iop_mon_bin_reader_flush(r, (uint32_t)arg);
    case IOP_MON_IOCG_STATS:
        return do_stats(r, arg, um);
    default:
        break;
    }
    /* GET, GETX, MFETCH: each width has its own numbers (the struct's size is in
     * them) and takes only those; do_get and do_mfetch read the layout flags name. */
    static const unsigned native[] = { IOP_MON_IOCX_GET, IOP_MON_IOCX_GETX, IOP_MON_IOCX_MFETCH };
    static const unsigned compat32[] = { IOP_MON_IOCX_GET32, IOP_MON_IOCX_GETX32, IOP_MON_IOCX_MFETCH32 };
    const unsigned *mine = compat ? compat32 : native;
    unsigned k = 0;
    while (k < 3 && mine[k] != cmd)
        k++;
    if (k == 3)
        return -ENOTTY;
    if (k == 2)
        return do_mfetch(r, arg, flags, um, call);
    return do_get(r, cmd, arg, flags, k == 0 ? IOP_MON_BIN_HDR_API0 : IOP_MON_BIN_HDR_API1, um, hint);
}
