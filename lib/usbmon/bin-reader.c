#include "lib/usbmon/bin-reader.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/usbmon/binary.h"

struct iop_mon_bin_reader {
    uint8_t *ring;       /* owned, b_size bytes */
    uint32_t b_size;     /* bytes in the ring, a multiple of IOP_MON_BIN_CHUNK */
    uint32_t b_cnt;      /* bytes in use */
    uint32_t b_in;       /* where the next record goes */
    uint32_t b_out;      /* the oldest record */
    uint32_t b_read;     /* bytes of the oldest record read() has returned */
    uint32_t nevents;    /* records queued */
    uint32_t cnt_lost;   /* drops since the last MON_IOCG_STATS */
    uint64_t lost_total;
    bool hung_up;
    struct iop_mon_bin_budget *budget; /* borrowed; NULL once hung up */

    struct iop_mon_reader_hooks hooks;
};

static uint32_t chunk_align(uint64_t n) {
    return (uint32_t)((n + IOP_MON_BIN_CHUNK - 1) & ~(uint64_t)(IOP_MON_BIN_CHUNK - 1));
}

static int budget_take(struct iop_mon_bin_budget *b, uint64_t give_back, uint64_t take) {
    if (!b)
        return 0;
    if (b->used - give_back + take > b->limit)
        return -ENOMEM;
    b->used = b->used - give_back + take;
    return 0;
}

int iop_mon_bin_reader_new(struct iop_mon_bin_budget *budget, struct iop_mon_bin_reader **ret) {
    assert(ret);
    struct iop_mon_bin_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->b_size = IOP_MON_BIN_RING_DFL;
    if (budget_take(budget, 0, r->b_size) < 0) {
        free(r);
        return -ENOMEM;
    }
    /* calloc: the untouched pages of a large ring stay unallocated until events land. */
    r->ring = calloc(1, r->b_size);
    if (!r->ring) {
        budget_take(budget, r->b_size, 0);
        free(r);
        return -ENOMEM;
    }
    r->budget = budget;
    *ret = r;
    return 0;
}

struct iop_mon_bin_reader *iop_mon_bin_reader_free(struct iop_mon_bin_reader *r) {
    if (!r)
        return NULL;
    /* Unlink first so nothing is pushed into a reader being freed (mon_bin_release). */
    iop_mon_hooks_detach(&r->hooks, r);
    budget_take(r->budget, r->b_size, 0);
    free(r->ring);
    free(r);
    return NULL;
}

struct iop_mon_reader_hooks *iop_mon_bin_reader_hooks(struct iop_mon_bin_reader *r) {
    assert(r);
    return &r->hooks;
}

static struct iop_mon_bin_hdr *hdr_at(const struct iop_mon_bin_reader *r, uint32_t off) {
    /* Records start 64-aligned in a ring that is a multiple of 64: a header is whole. */
    return (struct iop_mon_bin_hdr *)(void *)(r->ring + off);
}

static uint32_t ring_add(const struct iop_mon_bin_reader *r, uint32_t off, uint32_t n) {
    uint64_t o = (uint64_t)off + n;
    return (uint32_t)(o >= r->b_size ? o - r->b_size : o);
}

/* mon_copy_to_buff(): n bytes into the ring at off, wrapping at its end. */
static void copy_in(struct iop_mon_bin_reader *r, uint32_t off, const uint8_t *src, uint32_t n) {
    uint32_t first = r->b_size - off < n ? r->b_size - off : n;
    memcpy(r->ring + off, src, first);
    if (n > first)
        memcpy(r->ring, src + first, n - first);
}

int iop_mon_bin_reader_push(struct iop_mon_bin_reader *r, const struct iop_mon_bin_event *ev) {
    assert(r && ev);
    if (r->hung_up)
        return -EPIPE;
    uint32_t lendesc = ev->hdr.ndesc * (uint32_t)sizeof(struct iop_mon_bin_isodesc);
    uint32_t cap = r->b_size / 5;
    if (cap > IOP_MON_BIN_CAP_MAX - lendesc)
        cap = IOP_MON_BIN_CAP_MAX - lendesc;
    struct iop_mon_bin_sizes sz;
    iop_mon_bin_sizes(ev, cap, &sz);
    /* mon_buff_area_alloc(): the full area must be free, even when a missing buffer
     * then gives the data part back. */
    if ((uint64_t)r->b_cnt + sz.reserve > r->b_size) {
        if (ev->hdr.type != 'E') {
            r->cnt_lost++;
            r->lost_total++;
        }
        return -ENOBUFS;
    }
    uint32_t off = r->b_in;
    struct iop_mon_bin_hdr *h = hdr_at(r, off);
    *h = ev->hdr;
    h->len_cap = sz.len_cap;
    h->flag_data = sz.flag_data;
    off = ring_add(r, off, IOP_MON_BIN_HDR_API1);
    for (unsigned i = 0; i < ev->hdr.ndesc; i++) {
        /* 16-byte descriptors from a 64-aligned start never straddle the end. */
        struct iop_mon_bin_isodesc d;
        iop_mon_bin_isodesc(ev, i, &d);
        memcpy(r->ring + off, &d, sizeof(d));
        off = ring_add(r, off, sizeof(d));
    }
    if (sz.data)
        copy_in(r, off, ev->data, sz.data);
    bool was_half = iop_mon_bin_reader_half_full(r);
    r->b_cnt += sz.store;
    r->b_in = ring_add(r, r->b_in, sz.store);
    /* Only the empty -> non-empty edge needs a wakeup: whoever waits re-checks.  A
     * waiter that delays its wakeup to take records in batches is told again when the
     * ring passes half full. */
    if (r->nevents++ == 0 || (!was_half && iop_mon_bin_reader_half_full(r)))
        iop_mon_hooks_notify(&r->hooks);
    return 0;
}

uint32_t iop_mon_bin_reader_ring_size(const struct iop_mon_bin_reader *r) {
    assert(r);
    return r->b_size;
}

int iop_mon_bin_reader_set_ring_size(struct iop_mon_bin_reader *r, uint64_t size) {
    assert(r);
    if (size < IOP_MON_BIN_RING_MIN || size > IOP_MON_BIN_RING_MAX)
        return -EINVAL;
    if (r->hung_up)
        return -ENODEV;
    uint32_t n = chunk_align(size);
    /* The new ring is had before the old one goes, "to be sure the device will stay
     * functional also in case of memory pressure". */
    if (budget_take(r->budget, r->b_size, n) < 0)
        return -ENOMEM;
    uint8_t *ring = calloc(1, n);
    if (!ring) {
        budget_take(r->budget, n, r->b_size);
        return -ENOMEM;
    }
    free(r->ring);
    r->ring = ring;
    r->b_size = n;
    r->b_cnt = r->b_in = r->b_out = r->b_read = 0;
    r->nevents = 0;
    r->cnt_lost = 0;
    return 0;
}

uint32_t iop_mon_bin_reader_queued(const struct iop_mon_bin_reader *r) {
    assert(r);
    return r->nevents;
}

uint32_t iop_mon_bin_reader_take_dropped(struct iop_mon_bin_reader *r) {
    assert(r);
    uint32_t n = r->cnt_lost;
    r->cnt_lost = 0;
    return n;
}

uint64_t iop_mon_bin_reader_dropped_total(const struct iop_mon_bin_reader *r) {
    assert(r);
    return r->lost_total;
}

uint32_t iop_mon_bin_reader_urb_len(const struct iop_mon_bin_reader *r) {
    assert(r);
    return r->nevents ? hdr_at(r, r->b_out)->len_cap : 0;
}

/* mon_buff_area_free() of the oldest record. */
static void free_head(struct iop_mon_bin_reader *r) {
    uint32_t size = iop_mon_bin_align(IOP_MON_BIN_HDR_API1 + hdr_at(r, r->b_out)->len_cap);
    r->b_cnt -= size;
    r->b_out = ring_add(r, r->b_out, size);
    r->nevents--;
    r->b_read = 0;
}

uint32_t iop_mon_bin_reader_flush(struct iop_mon_bin_reader *r, uint32_t n) {
    assert(r);
    uint32_t i = 0;
    while (i < n && r->nevents) {
        free_head(r);
        i++;
    }
    r->b_read = 0;
    return i;
}

uint32_t iop_mon_bin_reader_fetch(const struct iop_mon_bin_reader *r, uint32_t *vec, uint32_t max) {
    assert(r && (vec || max == 0));
    uint32_t off = r->b_out, n = 0;
    for (; n < max && n < r->nevents; n++) {
        vec[n] = off;
        off = ring_add(r, off, iop_mon_bin_align(IOP_MON_BIN_HDR_API1 + hdr_at(r, off)->len_cap));
    }
    return n;
}

const struct iop_mon_bin_hdr *iop_mon_bin_reader_head(const struct iop_mon_bin_reader *r) {
    assert(r);
    return r->nevents ? hdr_at(r, r->b_out) : NULL;
}

/* The payload bytes [from, from + n) of the oldest record as up to two ring spans. */
static int payload_spans(const struct iop_mon_bin_reader *r, uint32_t from, size_t n, struct iovec *iov) {
    if (n == 0)
        return 0;
    uint32_t at = ring_add(r, ring_add(r, r->b_out, IOP_MON_BIN_HDR_API1), from);
    size_t first = r->b_size - at < n ? r->b_size - at : n;
    iov[0] = (struct iovec){ r->ring + at, first };
    if (n == first)
        return 1;
    iov[1] = (struct iovec){ r->ring, n - first };
    return 2;
}

void iop_mon_bin_reader_copy(const struct iop_mon_bin_reader *r, uint32_t from, void *dst, size_t n) {
    assert(r && r->nevents && (uint64_t)from + n <= hdr_at(r, r->b_out)->len_cap);
    struct iovec iov[2];
    int k = payload_spans(r, from, n, iov);
    uint8_t *d = dst;
    for (int i = 0; i < k; i++) {
        memcpy(d, iov[i].iov_base, iov[i].iov_len);
        d += iov[i].iov_len;
    }
}

void iop_mon_bin_reader_consume(struct iop_mon_bin_reader *r) {
    assert(r);
    if (r->nevents)
        free_head(r);
}

int iop_mon_bin_reader_read_peek(const struct iop_mon_bin_reader *r, size_t n, struct iovec *iov, int *niov) {
    assert(r && iov && niov);
    *niov = 0;
    if (!r->nevents)
        return r->hung_up ? 0 : -EAGAIN;
    const struct iop_mon_bin_hdr *h = hdr_at(r, r->b_out);
    size_t total = IOP_MON_BIN_HDR_API0 + (size_t)h->len_cap;
    size_t take = total - r->b_read < n ? total - r->b_read : n;
    size_t pos = r->b_read, left = take;
    if (left && pos < IOP_MON_BIN_HDR_API0) {
        size_t k = IOP_MON_BIN_HDR_API0 - pos < left ? IOP_MON_BIN_HDR_API0 - pos : left;
        iov[(*niov)++] = (struct iovec){ (uint8_t *)h + pos, k };
        pos += k;
        left -= k;
    }
    if (left)
        *niov += payload_spans(r, (uint32_t)(pos - IOP_MON_BIN_HDR_API0), left, iov + *niov);
    return (int)take;
}

void iop_mon_bin_reader_read_done(struct iop_mon_bin_reader *r, size_t n) {
    assert(r);
    if (!r->nevents || n == 0)
        return;
    /* "Check if whole packet was read, and if so, jump to the next one." */
    r->b_read += (uint32_t)n;
    if (r->b_read >= IOP_MON_BIN_HDR_API0 + hdr_at(r, r->b_out)->len_cap)
        free_head(r);
}

uint32_t iop_mon_bin_reader_read_pos(const struct iop_mon_bin_reader *r) {
    assert(r);
    return r->b_read;
}

long iop_mon_bin_reader_read(struct iop_mon_bin_reader *r, void *buf, size_t n) {
    if (!buf && n)
        return -EFAULT;
    struct iovec iov[IOP_MON_BIN_READ_IOV];
    int k;
    int got = iop_mon_bin_reader_read_peek(r, n, iov, &k);
    if (got <= 0)
        return got;
    uint8_t *d = buf;
    for (int i = 0; i < k; i++) {
        memcpy(d, iov[i].iov_base, iov[i].iov_len);
        d += iov[i].iov_len;
    }
    iop_mon_bin_reader_read_done(r, (size_t)got);
    return got;
}

bool iop_mon_bin_reader_readable(const struct iop_mon_bin_reader *r) {
    assert(r);
    return r->nevents > 0;
}

bool iop_mon_bin_reader_half_full(const struct iop_mon_bin_reader *r) {
    assert(r);
    return r->b_cnt >= r->b_size / 2;
}

bool iop_mon_bin_reader_hung_up(const struct iop_mon_bin_reader *r) {
    assert(r);
    return r->hung_up;
}

void iop_mon_bin_reader_hangup(struct iop_mon_bin_reader *r) {
    assert(r);
    if (r->hung_up)
        return;
    r->hung_up = true;
    /* The budget's owner may go before this reader does. */
    budget_take(r->budget, r->b_size, 0);
    r->budget = NULL;
    iop_mon_hooks_hangup(&r->hooks);
}

int iop_mon_bin_reader_check(const struct iop_mon_bin_reader *r) {
    assert(r);
    if (r->b_size < IOP_MON_BIN_RING_MIN || r->b_size > IOP_MON_BIN_RING_MAX || r->b_size % IOP_MON_BIN_CHUNK ||
        r->b_cnt > r->b_size || r->b_in >= r->b_size || r->b_out >= r->b_size || r->b_out % 64 || r->b_in % 64)
        return -EIO;
    uint64_t bytes = 0;
    uint32_t off = r->b_out;
    for (uint32_t i = 0; i < r->nevents; i++) {
        const struct iop_mon_bin_hdr *h = hdr_at(r, off);
        if ((h->type != 'S' && h->type != 'C' && h->type != 'E') || h->ndesc > IOP_MON_BIN_ISODESC_MAX ||
            h->len_cap < h->ndesc * sizeof(struct iop_mon_bin_isodesc) ||
            h->len_cap - h->ndesc * sizeof(struct iop_mon_bin_isodesc) > r->b_size / 5 ||
            IOP_MON_BIN_HDR_API1 + h->len_cap > IOP_MON_BIN_CAP_MAX + 64u)
            return -EIO;
        uint32_t size = iop_mon_bin_align(IOP_MON_BIN_HDR_API1 + h->len_cap);
        bytes += size;
        if (bytes > r->b_cnt)
            return -EIO;
        off = ring_add(r, off, size);
    }
    if (bytes != r->b_cnt || off != r->b_in)
        return -EIO;
    if (r->nevents ? r->b_read >= IOP_MON_BIN_HDR_API0 + hdr_at(r, r->b_out)->len_cap : r->b_read != 0)
        return -EIO;
    return 0;
}
