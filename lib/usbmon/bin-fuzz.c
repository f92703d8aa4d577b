#include "lib/usbmon/bin-fuzz.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/umem/umem-drive.h"
#include "lib/usb/urb.h"
#include "lib/usbmon/bin-ioctl.h"
#include "lib/usbmon/bin-reader.h"
#include "lib/usbmon/binary.h"
#include "lib/util/fuzz.h"

/* The fake caller's address space. */
#define A_ARG 0x10000u
#define A_HDR 0x20000u
#define A_DATA 0x30000u
#define A_VEC 0x40000u
#define A_RO 0x50000u
#define A_UNMAPPED 0x60000u
#define DATA_SZ (20u * 1024u)
#define VEC_N 1024u
#define URB_BUF 16384u
#define URB_ISO 200
#define MAX_ROUNDS 4u
#define MAX_STEPS 400u

/* The record at the head of the ring, as it must come out. */
struct snapshot {
    bool valid;
    struct iop_mon_bin_hdr hdr;
    uint8_t payload[IOP_MON_BIN_CAP_MAX];
};

struct fuzz {
    const uint8_t *p;
    size_t n;
    struct iop_mon_bin_budget budget;
    struct iop_mon_bin_reader *r;
    struct iop_umem_space user;
    unsigned flags;          /* IOP_MON_BIN_NONBLOCK */
    uint64_t lost;           /* drops the reader must have counted */
    uint64_t lost_at_stats;  /* ... at the last STATS */
    uint64_t clock;
    /* Whole pages, as memory is mapped: a probe of one byte per page is then exact. */
    uint8_t arg[4096], hdr[4096], ro[4096], data[DATA_SZ];
    uint32_t vec[VEC_N];
    uint8_t urb_buf[URB_BUF];
    uint8_t rbuf[65536];
    struct iop_urb *urb; /* owned, with URB_ISO descriptors after it */
    struct snapshot snap;
    struct iop_mon_bin_hint hint; /* the file's, as the CUSE node keeps it */
};

static int fail(const char *what) {
    return IOP_FUZZ_FAIL("usbmon binary: %s", what);
}

static uint8_t u8(struct fuzz *f) {
    if (!f->n)
        return 0;
    f->n--;
    return *f->p++;
}

/* Sequenced: the low byte first, whichever order a compiler evaluates operands in. */
static uint16_t u16(struct fuzz *f) {
    uint16_t lo = u8(f);
    return (uint16_t)(lo | u8(f) << 8);
}

static uint32_t u32(struct fuzz *f) {
    uint32_t lo = u16(f);
    return lo | (uint32_t)u16(f) << 16;
}

/* An address for a pointer argument: mostly good buffers, sometimes hostile ones. */
static uint64_t pick_addr(struct fuzz *f, uint64_t good) {
    switch (u8(f) % 10) {
    case 0: return 0;
    case 1: return A_UNMAPPED;
    case 2: return A_RO;
    case 3: return UINT64_MAX - 15;
    case 4: return A_DATA + u16(f) % DATA_SZ; /* runs off the end for large copies */
    case 5: return A_ARG;
    default: return good;
    }
}

static uint64_t pick_size(struct fuzz *f) {
    static const uint64_t v[] = { 0, 1, 47, 48, 63, 64, 100, 4096, DATA_SZ, DATA_SZ + 1, IOP_MON_BIN_CAP_MAX,
                                  0x10000000u, 0x10000001u, UINT32_MAX, UINT64_MAX };
    uint8_t k = u8(f);
    return k < 200 ? v[k % (sizeof(v) / sizeof(v[0]))] : u32(f);
}

static void snapshot_head(struct fuzz *f) {
    const struct iop_mon_bin_hdr *h = iop_mon_bin_reader_head(f->r);
    f->snap.valid = h != NULL;
    if (h) {
        f->snap.hdr = *h;
        iop_mon_bin_reader_copy(f->r, 0, f->snap.payload, h->len_cap);
    }
}

/* One URB event from the script into the ring. */
static int step_event(struct fuzz *f) {
    struct iop_urb *u = f->urb;
    memset(u, 0, sizeof(*u) + URB_ISO * sizeof(u->iso_frame_desc[0]));
    uint8_t k = u8(f);
    u->xfer = k & 3;
    u->dir_in = k & 4;
    u->endpoint = (uint8_t)(u8(f) & 0x1f); /* bit 4: a caller's bad endpoint number */
    u->devnum = u8(f);
    u->busnum = u8(f);
    u->transfer_flags = u16(f);
    u->transfer_buffer = (k & 8) ? NULL : f->urb_buf;
    u->transfer_buffer_length = u16(f) % (URB_BUF + 1);
    u->actual_length = (k & 16) ? u16(f) : u->transfer_buffer_length / 2;
    u->interval = (int)u16(f);
    u->start_frame = (int)u16(f);
    u->error_count = (int)u8(f);
    static const uint8_t setup[8] = { 0x80, 6, 0, 1, 0, 0, 18, 0 };
    u->setup_packet = (k & 32) ? NULL : setup;
    if (u->xfer == IOP_XFER_ISOC) {
        u->number_of_packets = (int)(u8(f) % (URB_ISO + 1));
        if (k & 64)
            u->number_of_packets = -(int)u8(f);
        for (int i = 0; i < u->number_of_packets; i++) {
            u->iso_frame_desc[i].offset = u8(f) * 64u;
            u->iso_frame_desc[i].length = u8(f);
            u->iso_frame_desc[i].actual_length = (i & 1) ? u8(f) : 0;
            u->iso_frame_desc[i].status = -(int)(u8(f) & 127);
        }
    }
    for (unsigned i = 0; i < 64; i++)
        f->urb_buf[i] = (uint8_t)(i + k);
    static const char types[4] = { 'S', 'C', 'E', 'C' };
    char type = types[u8(f) & 3];
    struct iop_mon_bin_event ev;
    struct timespec ts = { (time_t)(f->clock / 1000000), (long)(f->clock % 1000000) * 1000 };
    f->clock += 17;
    if (iop_mon_bin_prepare(&ev, u, type, -(int)(u8(f) & 127), &ts) < 0)
        return fail("prepare refused a URB");
    if (ev.hdr.ndesc > IOP_MON_BIN_ISODESC_MAX || ev.length > u->transfer_buffer_length)
        return fail("prepare: ndesc or length out of bounds");
    uint32_t before = iop_mon_bin_reader_queued(f->r);
    int r = iop_mon_bin_reader_push(f->r, &ev);
    if (r == -ENOBUFS) {
        if (type != 'E')
            f->lost++;
    } else if (r != 0 && !(r == -EPIPE && iop_mon_bin_reader_hung_up(f->r))) {
        return fail("push: unexpected error");
    } else if (r == 0 && iop_mon_bin_reader_queued(f->r) != before + 1) {
        return fail("push did not queue");
    }
    return 0;
}

struct call {
    struct fuzz *f;
    unsigned cmd;
    uint64_t arg;
    unsigned flags;
    struct iop_mon_bin_call state;
};

static int handler(void *ctx, struct iop_umem *um) {
    struct call *c = ctx;
    return iop_mon_bin_ioctl(c->f->r, c->cmd, c->arg, c->flags, um, &c->state, &c->f->hint);
}

/* Run one ioctl to its end: rounds, waits (an event from the script, or give up). */
static int run_ioctl(struct fuzz *f, unsigned cmd, uint64_t arg, bool compat, long *result) {
    struct call c = { .f = f, .cmd = cmd, .arg = arg, .flags = f->flags | (compat ? IOP_MON_BIN_COMPAT : 0) };
    struct iop_umem_drive d;
    iop_umem_drive_init(&d, &f->user);
    int r;
    bool abandoned = false;
    for (;;) {
        snapshot_head(f);
        r = iop_umem_drive_round(&d, handler, &c);
        if (r == IOP_UMEM_RETRY && d.rounds < MAX_ROUNDS)
            continue;
        if (r == IOP_MON_BIN_WAIT) {
            if (iop_mon_bin_reader_readable(f->r) || iop_mon_bin_reader_hung_up(f->r)) {
                iop_umem_drive_done(&d);
                return fail("a call waits though the reader is readable");
            }
            /* The script decides: an event arrives (the call goes on), or the caller is
             * interrupted. */
            if ((u8(f) & 3) && f->n) {
                int e = step_event(f);
                if (e < 0) {
                    iop_umem_drive_done(&d);
                    return e;
                }
                d.rounds--; /* the same round again */
                continue;
            }
            abandoned = true;
        }
        break;
    }
    unsigned rounds = d.rounds;
    iop_umem_drive_done(&d);
    if (r == IOP_UMEM_RETRY)
        return fail("a call needs more than 4 rounds");
    if (r == -EIO && rounds)
        return fail("the handler wrote outside the ranges it named (or the protocol broke)");
    *result = abandoned ? -EINTR : r;
    return 0;
}

static void put_get(struct fuzz *f, bool compat, uint64_t hdr, uint64_t data, uint64_t alloc) {
    memset(f->arg, 0, sizeof(f->arg));
    if (compat) {
        struct iop_mon_bin_get32 g = { (uint32_t)hdr, (uint32_t)data, (uint32_t)alloc };
        memcpy(f->arg, &g, sizeof(g));
    } else {
        struct iop_mon_bin_get g = { hdr, data, alloc };
        memcpy(f->arg, &g, sizeof(g));
    }
}

static bool in_ro(uint64_t a, uint64_t n) {
    return n && a < A_RO + 4096 && a + n > A_RO;
}

static int step_get(struct fuzz *f) {
    bool compat = u8(f) & 1, ext = u8(f) & 1;
    uint64_t hdr = pick_addr(f, A_HDR), data = pick_addr(f, A_DATA), alloc = pick_size(f);
    put_get(f, compat, hdr, data, alloc);
    uint64_t arg = pick_addr(f, A_ARG);
    unsigned cmd = compat ? (ext ? IOP_MON_IOCX_GETX32 : IOP_MON_IOCX_GET32)
                          : (ext ? IOP_MON_IOCX_GETX : IOP_MON_IOCX_GET);
    if (compat)
        alloc = (uint32_t)alloc, hdr = (uint32_t)hdr, data = (uint32_t)data;
    memset(f->hdr, 0xEE, 128);
    /* A GET that repeats the last good one names its ranges blind and skips the probes
     * (bin-ioctl.h): a fault can cost it the record. */
    struct iop_mon_bin_get g = { hdr, data, alloc };
    bool repeat = f->hint.valid && f->hint.cmd == cmd && f->hint.arg == arg && memcmp(&f->hint.g, &g, sizeof(g)) == 0;
    uint32_t before = iop_mon_bin_reader_queued(f->r);
    long res;
    int e = run_ioctl(f, cmd, arg, compat, &res);
    if (e < 0)
        return e;
    uint32_t after = iop_mon_bin_reader_queued(f->r);
    unsigned hdrbytes = ext ? IOP_MON_BIN_HDR_API1 : IOP_MON_BIN_HDR_API0;
    if (res == 0) {
        if (!f->snap.valid)
            return fail("GET succeeded on an empty ring");
        if (arg == A_ARG && hdr == A_HDR && memcmp(f->hdr, &f->snap.hdr, hdrbytes) != 0)
            return fail("GET: the header is not the oldest record's");
        uint32_t n = f->snap.hdr.len_cap < alloc ? f->snap.hdr.len_cap : (uint32_t)alloc;
        if (arg == A_ARG && data == A_DATA && n <= DATA_SZ && memcmp(f->data, f->snap.payload, n) != 0)
            return fail("GET: the payload is not the oldest record's");
        if (arg == A_ARG && hdr == A_HDR && hdrbytes < sizeof(f->hdr) && f->hdr[hdrbytes] != 0xEE)
            return fail("GET wrote past the header");
    } else if (res == -EFAULT && arg == A_ARG && !repeat && !in_ro(hdr, hdrbytes) && !in_ro(data, alloc) &&
               after < before) {
        return fail("a GET that faulted removed the record");
    } else if (res == -EINVAL && arg == A_ARG && (compat || alloc <= IOP_MON_BIN_GET_ALLOC_MAX)) {
        return fail("GET: EINVAL without a reason");
    } else if (res != -EFAULT && res != -EINVAL && res != -EAGAIN && res != -EINTR && res != -ENODEV) {
        return fail("GET: unexpected result");
    }
    return 0;
}

static int step_mfetch(struct fuzz *f) {
    bool compat = u8(f) & 1;
    uint64_t offvec = pick_addr(f, A_VEC);
    uint32_t nfetch = u8(f) < 200 ? u8(f) : u32(f), nflush = u8(f) < 128 ? u8(f) % 8 : u32(f);
    memset(f->arg, 0, sizeof(f->arg));
    if (compat) {
        struct iop_mon_bin_mfetch32 m = { (uint32_t)offvec, nfetch, nflush };
        memcpy(f->arg, &m, sizeof(m));
        offvec = (uint32_t)offvec;
    } else {
        struct iop_mon_bin_mfetch m = { offvec, nfetch, nflush };
        memcpy(f->arg, &m, sizeof(m));
    }
    uint64_t arg = u8(f) < 230 ? A_ARG : pick_addr(f, A_ARG);
    uint32_t before = iop_mon_bin_reader_queued(f->r);
    long res;
    int e = run_ioctl(f, compat ? IOP_MON_IOCX_MFETCH32 : IOP_MON_IOCX_MFETCH, arg, compat, &res);
    if (e < 0)
        return e;
    if (res != 0)
        return res == -EFAULT || res == -EAGAIN || res == -EINTR || res == -ENODEV || res == -ENOMEM
                   ? 0 : fail("MFETCH: unexpected result");
    /* offvec over the struct: the kernel and iopd write the two in another order. */
    if (arg != A_ARG || (offvec <= A_ARG + 16 && offvec + 4ull * nfetch > A_ARG))
        return 0;
    uint32_t got_fetch, got_flush;
    memcpy(&got_fetch, f->arg + (compat ? 4 : 8), 4);
    memcpy(&got_flush, f->arg + (compat ? 8 : 12), 4);
    uint32_t q = iop_mon_bin_reader_queued(f->r);
    if (got_fetch > nfetch || got_fetch > q || (got_fetch < nfetch && got_fetch < q && got_fetch < IOP_MON_BIN_MFETCH_MAX))
        return fail("MFETCH: wrong nfetch");
    if (nflush && got_flush > nflush)
        return fail("MFETCH: wrong nflush");
    (void)before;
    if (offvec == A_VEC && got_fetch && got_fetch <= VEC_N) {
        uint32_t *want = malloc(got_fetch * sizeof(uint32_t));
        if (!want)
            return 0;
        uint32_t n = iop_mon_bin_reader_fetch(f->r, want, got_fetch);
        int bad = n != got_fetch || memcmp(want, f->vec, n * sizeof(uint32_t)) != 0;
        free(want);
        if (bad)
            return fail("MFETCH: offsets are not the records'");
    }
    return 0;
}

static int step_simple(struct fuzz *f) {
    bool compat = u8(f) & 1;
    long res;
    int e;
    switch (u8(f) % 6) {
    case 0: { /* STATS */
        uint64_t arg = u8(f) < 200 ? A_ARG : pick_addr(f, A_ARG);
        uint32_t q = iop_mon_bin_reader_queued(f->r);
        uint64_t lost = f->lost - f->lost_at_stats;
        if ((e = run_ioctl(f, IOP_MON_IOCG_STATS, arg, compat, &res)) < 0)
            return e;
        if (res == 0 || res == -EFAULT)
            f->lost_at_stats = f->lost; /* reset even when the store faults */
        if (res == 0 && arg == A_ARG) {
            struct iop_mon_bin_stats st;
            memcpy(&st, f->arg, sizeof(st));
            if (st.queued != q || st.dropped != (uint32_t)lost)
                return fail("STATS: wrong counts");
        } else if (res != 0 && res != -EFAULT) {
            return fail("STATS: unexpected result");
        }
        return 0;
    }
    case 1: { /* URB_LEN */
        const struct iop_mon_bin_hdr *h = iop_mon_bin_reader_head(f->r);
        uint32_t want = h ? h->len_cap : 0;
        if ((e = run_ioctl(f, IOP_MON_IOCQ_URB_LEN, u32(f), compat, &res)) < 0)
            return e;
        return res == (long)want ? 0 : fail("URB_LEN: not the oldest record's len_cap");
    }
    case 2: { /* T_RING_SIZE */
        static const uint64_t v[] = { 0, 8191, 8192, 8193, 12288, 300 * 1024, 1200 * 1024 + 1, 2ull << 20,
                                      (64ull << 20) + 1, 4096, UINT64_MAX, 1ull << 32 | 8192 };
        uint8_t k = u8(f);
        uint64_t size = k < 240 ? v[k % (sizeof(v) / sizeof(v[0]))] : u32(f);
        if (compat)
            size = (uint32_t)size;
        if ((e = run_ioctl(f, IOP_MON_IOCT_RING_SIZE, size, compat, &res)) < 0)
            return e;
        bool ok = size >= IOP_MON_BIN_RING_MIN && size <= IOP_MON_BIN_RING_MAX;
        if (res == 0) {
            if (!ok || iop_mon_bin_reader_ring_size(f->r) != ((size + 4095) & ~4095ull) ||
                iop_mon_bin_reader_queued(f->r) != 0)
                return fail("RING_SIZE: accepted a bad size or did not apply it");
            f->lost_at_stats = f->lost; /* the drop count starts again */
        } else if (!(res == -EINVAL && !ok) && res != -ENOMEM && res != -ENODEV) {
            return fail("RING_SIZE: unexpected result");
        }
        return 0;
    }
    case 3: { /* Q_RING_SIZE */
        if ((e = run_ioctl(f, IOP_MON_IOCQ_RING_SIZE, 0, compat, &res)) < 0)
            return e;
        return res == (long)iop_mon_bin_reader_ring_size(f->r) ? 0 : fail("Q_RING_SIZE: wrong size");
    }
    case 4: { /* MFLUSH */
        uint64_t n = u8(f) < 200 ? u8(f) % 10 : ((uint64_t)u32(f) << 32 | u32(f));
        uint32_t q = iop_mon_bin_reader_queued(f->r), want = (uint32_t)n < q ? (uint32_t)n : q;
        if ((e = run_ioctl(f, IOP_MON_IOCH_MFLUSH, n, compat, &res)) < 0)
            return e;
        return res == (long)want && iop_mon_bin_reader_queued(f->r) == q - want ? 0 : fail("MFLUSH: wrong count");
    }
    default: { /* anything else */
        unsigned cmd;
        if (u8(f) < 128) {
            cmd = 0x9200u | u8(f);
            cmd |= (unsigned)(u8(f) & 0xc0) << 24;
            cmd |= (unsigned)u8(f) << 16;
        } else {
            cmd = u32(f);
        }
        uint64_t arg = pick_addr(f, A_ARG);
        memset(f->arg, 0, sizeof(f->arg));
        if ((e = run_ioctl(f, cmd, arg, compat, &res)) < 0)
            return e;
        return 0;
    }
    }
}

static int step_read(struct fuzz *f) {
    static const size_t sizes[] = { 0, 1, 10, 47, 48, 49, 63, 64, 100, 4096, 65536 };
    uint8_t k = u8(f);
    size_t n = k < 220 ? sizes[k % (sizeof(sizes) / sizeof(sizes[0]))] : u16(f);
    uint8_t *buf = f->rbuf;
    snapshot_head(f);
    uint32_t pos = iop_mon_bin_reader_read_pos(f->r), q = iop_mon_bin_reader_queued(f->r);
    long got = iop_mon_bin_reader_read(f->r, buf, n);
    if (!f->snap.valid)
        return got == (iop_mon_bin_reader_hung_up(f->r) ? 0 : -EAGAIN) ? 0 : fail("read on an empty ring");
    size_t total = IOP_MON_BIN_HDR_API0 + f->snap.hdr.len_cap;
    size_t want = total - pos < n ? total - pos : n;
    if (got < 0 || (size_t)got != want)
        return fail("read: wrong length");
    for (size_t i = 0; i < want; i++) {
        size_t at = pos + i;
        uint8_t b = at < IOP_MON_BIN_HDR_API0 ? ((const uint8_t *)&f->snap.hdr)[at]
                                              : f->snap.payload[at - IOP_MON_BIN_HDR_API0];
        if (buf[i] != b)
            return fail("read: wrong bytes");
    }
    bool done = pos + want == total;
    if (iop_mon_bin_reader_queued(f->r) != q - done || iop_mon_bin_reader_read_pos(f->r) != (done ? 0 : pos + want))
        return fail("read: wrong position after the read");
    return 0;
}

static int run(struct fuzz *f) {
    int r = iop_mon_bin_reader_new(&f->budget, &f->r);
    if (r < 0)
        return r == -ENOMEM ? 0 : fail("reader_new");
    iop_umem_space_init(&f->user);
    if (iop_umem_space_map(&f->user, A_ARG, f->arg, sizeof(f->arg), true) < 0 ||
        iop_umem_space_map(&f->user, A_HDR, f->hdr, sizeof(f->hdr), true) < 0 ||
        iop_umem_space_map(&f->user, A_DATA, f->data, sizeof(f->data), true) < 0 ||
        iop_umem_space_map(&f->user, A_VEC, f->vec, sizeof(f->vec), true) < 0 ||
        iop_umem_space_map(&f->user, A_RO, f->ro, sizeof(f->ro), false) < 0)
        return fail("space");
    for (unsigned step = 0; step < MAX_STEPS && f->n; step++) {
        uint8_t op = u8(f);
        switch (op % 12) {
        case 0: case 1: case 2: r = step_event(f); break;
        case 3: case 4: r = step_get(f); break;
        case 5: r = step_mfetch(f); break;
        case 6: case 7: r = step_simple(f); break;
        case 8: case 9: r = step_read(f); break;
        case 10: f->flags ^= IOP_MON_BIN_NONBLOCK; r = 0; break;
        default:
            /* A burst of events (overflow), or rarely the bus going away. */
            if (op == 0xFF) {
                iop_mon_bin_reader_hangup(f->r);
                r = 0;
            } else {
                unsigned k = 1 + op % 40;
                r = 0;
                for (unsigned i = 0; i < k && r == 0 && f->n; i++)
                    r = step_event(f);
            }
            break;
        }
        if (r < 0)
            return r;
        if (iop_mon_bin_reader_check(f->r) < 0)
            return fail("ring bookkeeping inconsistent");
        if (iop_mon_bin_reader_dropped_total(f->r) != f->lost)
            return fail("drops not counted as they happened");
    }
    return 0;
}

int iop_mon_bin_fuzz_one(const uint8_t *data, size_t len) {
    struct fuzz *f = calloc(1, sizeof(*f));
    if (!f)
        return 0;
    f->urb = calloc(1, sizeof(*f->urb) + URB_ISO * sizeof(f->urb->iso_frame_desc[0]));
    if (!f->urb) {
        free(f);
        return 0;
    }
    f->p = data;
    f->n = data ? len : 0;
    f->budget.limit = IOP_MON_BIN_BUDGET_DFL;
    f->clock = 1700000000ull * 1000000ull;
    int r = run(f);
    iop_mon_bin_reader_free(f->r);
    if (r == 0 && f->budget.used != 0)
        r = fail("the budget was not given back");
    free(f->urb);
    free(f);
    return r < 0 ? r : 0;
}
