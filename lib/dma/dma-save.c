#include "lib/dma/dma-save.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "lib/dma/dma-xfer.h"
#include "lib/dma/isamem.h"
#include "lib/util/bytes.h"
#include "lib/util/cleanup.h"

enum field_kind {
    F_MAX,  /* unsigned integer, value <= limit */
    F_BITS, /* unsigned integer, only the bits in limit may be set */
    F_STR,  /* fixed-size char array: NUL-terminated, printable, zero padded */
};

struct field {
    const char *name;
    size_t offset; /* of element 0 in struct iop_dma8237 */
    size_t size;   /* bytes per element: 1, 2, 4, 8, or the array size for F_STR */
    size_t count;  /* elements */
    size_t stride; /* between elements */
    enum field_kind kind;
    uint64_t limit;
};

#define MEMBER_SIZE(type, m) sizeof(((type *)0)->m)

#define CTL(m, kind, limit)                                                                 \
    { "ctl." #m, offsetof(struct iop_dma8237, ctl[0].m), MEMBER_SIZE(struct iop_dma_ctl, m), \
      2, sizeof(struct iop_dma_ctl), kind, limit }
#define CHAN(m, kind, limit)                                                                   \
    { "chan." #m, offsetof(struct iop_dma8237, chan[0].m), MEMBER_SIZE(struct iop_dma_chan, m), \
      IOP_DMA_NCHANNELS, sizeof(struct iop_dma_chan), kind, limit }
#define XFER(m, kind, limit)                                                                       \
    { "xfer." #m, offsetof(struct iop_dma8237, xfer.m), MEMBER_SIZE(struct iop_dma_xfer_state, m), \
      1, 0, kind, limit }

/* Version 1.  Every migratable field, with what a valid value is. */
static const struct field fields_v1[] = {
    CTL(command, F_BITS, IOP_DMA_CMD_DISABLE),
    CTL(status, F_BITS, 0xff),
    CTL(mask, F_BITS, 0x0f),
    CTL(flip_flop, F_MAX, 1),
    CTL(finished, F_BITS, 0x0f),
    CHAN(base_addr, F_MAX, 0xffff),
    CHAN(base_count, F_MAX, 0xffff),
    CHAN(cur_addr, F_MAX, 0xffff),
    CHAN(cur_count, F_MAX, 0xffff),
    CHAN(mode, F_BITS, 0xfc),
    CHAN(owner, F_STR, 0),
    CHAN(totals.bytes, F_MAX, UINT64_MAX),
    CHAN(totals.verified, F_MAX, UINT64_MAX),
    CHAN(totals.chunks, F_MAX, UINT64_MAX),
    CHAN(totals.bounces, F_MAX, UINT64_MAX),
    CHAN(totals.faults, F_MAX, UINT64_MAX),
    { "page", offsetof(struct iop_dma8237, page), 1, 16, 1, F_MAX, 0xff },
    XFER(active, F_MAX, 1),
    XFER(chan, F_MAX, IOP_DMA_NCHANNELS - 1),
    XFER(dir, F_MAX, IOP_DMA_VERIFY),
    XFER(bounced, F_MAX, 1),
    XFER(isa_addr, F_MAX, IOP_ISAMEM_SIZE - 1),
    XFER(len, F_MAX, IOP_DMA_XFER_LEN_MAX),
    XFER(done, F_MAX, IOP_DMA_XFER_LEN_MAX),
};

static size_t payload_size(const struct field *t, size_t n) {
    size_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += t[i].size * t[i].count;
    return s;
}

size_t iop_dma_save_size(void) {
    return IOP_DMA_SAVE_HEADER + payload_size(fields_v1, IOP_ARRAY_SIZE(fields_v1));
}

static uint64_t get_uint(const void *p, size_t size) {
    switch (size) {
    case 1:
        return *(const uint8_t *)p;
    case 2:
        return iop_get_le16(p);
    case 4:
        return iop_get_le32(p);
    default:
        return iop_get_le64(p);
    }
}

static void put_uint(void *p, size_t size, uint64_t v) {
    switch (size) {
    case 1:
        *(uint8_t *)p = (uint8_t)v;
        break;
    case 2:
        iop_put_le16(p, (uint16_t)v);
        break;
    case 4:
        iop_put_le32(p, (uint32_t)v);
        break;
    default:
        iop_put_le64(p, v);
    }
}

/* Host-endian member access: the struct side of the copy. */
static uint64_t load_member(const void *p, size_t size) {
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;

    switch (size) {
    case 1:
        memcpy(&u8, p, 1);
        return u8;
    case 2:
        memcpy(&u16, p, 2);
        return u16;
    case 4:
        memcpy(&u32, p, 4);
        return u32;
    default:
        memcpy(&u64, p, 8);
        return u64;
    }
}

static void store_member(void *p, size_t size, uint64_t v) {
    uint8_t u8 = (uint8_t)v;
    uint16_t u16 = (uint16_t)v;
    uint32_t u32 = (uint32_t)v;

    switch (size) {
    case 1:
        memcpy(p, &u8, 1);
        break;
    case 2:
        memcpy(p, &u16, 2);
        break;
    case 4:
        memcpy(p, &u32, 4);
        break;
    default:
        memcpy(p, &v, 8);
    }
}

static bool str_valid(const char *s, size_t size) {
    size_t n = strnlen(s, size);
    if (n == size)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    /* Zero padding: the encoding stays canonical (load then save gives the same bytes). */
    for (size_t i = n; i < size; i++)
        if (s[i])
            return false;
    return true;
}

static bool value_valid(const struct field *f, uint64_t v) {
    return f->kind == F_BITS ? (v & ~f->limit) == 0 : v <= f->limit;
}

/* The one generic dumper. */
static void dump(const struct field *t, size_t n, const struct iop_dma8237 *d, uint8_t *out) {
    for (size_t i = 0; i < n; i++) {
        const struct field *f = &t[i];
        for (size_t e = 0; e < f->count; e++) {
            const uint8_t *m = (const uint8_t *)d + f->offset + e * f->stride;
            if (f->kind == F_STR)
                memcpy(out, m, f->size);
            else
                put_uint(out, f->size, load_member(m, f->size));
            out += f->size;
        }
    }
}

/* The one generic loader: every value is checked before it is stored into *d. */
static int undump(const struct field *t, size_t n, struct iop_dma8237 *d, const uint8_t *in) {
    for (size_t i = 0; i < n; i++) {
        const struct field *f = &t[i];
        for (size_t e = 0; e < f->count; e++) {
            uint8_t *m = (uint8_t *)d + f->offset + e * f->stride;
            if (f->kind == F_STR) {
                if (!str_valid((const char *)in, f->size))
                    return -EINVAL;
                memcpy(m, in, f->size);
            } else {
                uint64_t v = get_uint(in, f->size);
                if (!value_valid(f, v))
                    return -EINVAL;
                store_member(m, f->size, v);
            }
            in += f->size;
        }
    }
    return 0;
}

/* Relations between fields that no single-field limit expresses. */
static int check_consistency(const struct iop_dma8237 *d) {
    const struct iop_dma_xfer_state *x = &d->xfer;

    if (d->chan[IOP_DMA_CASCADE_CHANNEL].owner[0])
        return -EINVAL;
    if (!x->active)
        return x->chan || x->dir || x->bounced || x->isa_addr || x->len || x->done ? -EINVAL : 0;

    bool wide = x->chan >= 4;
    if (x->chan == IOP_DMA_CASCADE_CHANNEL || !d->chan[x->chan].owner[0])
        return -EINVAL;
    if (x->dir == 0 || x->len == 0 || x->done >= x->len)
        return -EINVAL; /* a transfer with done == len has ended and is not saved active */
    if (wide && ((x->len | x->done) & 1))
        return -EINVAL;
    if (x->bounced) {
        if (x->isa_addr)
            return -EINVAL;
    } else {
        if (x->len > IOP_ISAMEM_SIZE - x->isa_addr || (wide && (x->isa_addr & 1)))
            return -EINVAL;
    }
    return 0;
}

/* QEMU's post_load: recompute what is not in the blob. */
static void post_load(struct iop_dma8237 *d) {
    struct iop_dma_xfer_state *x = &d->xfer;

    x->suspended = x->active;
    x->have_bounce = 0;
    x->bounce_addr = x->bounce_len = 0;
    x->chunk_addr = x->chunk_len = x->chunk_pos = 0;
    x->host = NULL;
    d->locked = false;
}

int iop_dma_save(const struct iop_dma8237 *d, void *buf, size_t cap) {
    assert(d);
    size_t n = iop_dma_save_size();
    uint8_t *out = buf;

    if (d->locked)
        return -EBUSY;
    if (!buf || cap < n)
        return -ENOSPC;
    memcpy(out, IOP_DMA_SAVE_MAGIC, 4);
    iop_put_le16(out + 4, IOP_DMA_SAVE_VERSION);
    iop_put_le16(out + 6, (uint16_t)IOP_ARRAY_SIZE(fields_v1));
    iop_put_le32(out + 8, (uint32_t)(n - IOP_DMA_SAVE_HEADER));
    dump(fields_v1, IOP_ARRAY_SIZE(fields_v1), d, out + IOP_DMA_SAVE_HEADER);
    return (int)n;
}

int iop_dma_load(struct iop_dma8237 *d, const void *buf, size_t len) {
    assert(d);
    const uint8_t *in = buf;
    struct iop_dma8237 tmp;
    int r;

    if (d->locked || (d->xfer.active && !d->xfer.suspended))
        return -EBUSY;
    if (!buf || len < IOP_DMA_SAVE_HEADER || memcmp(in, IOP_DMA_SAVE_MAGIC, 4) != 0)
        return -EINVAL;
    if (iop_get_le16(in + 4) != IOP_DMA_SAVE_VERSION || iop_get_le16(in + 6) != IOP_ARRAY_SIZE(fields_v1))
        return -EINVAL;
    if (len != iop_dma_save_size() || iop_get_le32(in + 8) != len - IOP_DMA_SAVE_HEADER)
        return -EINVAL;

    /* Work on a copy so a bad blob leaves *d untouched; the copy keeps d's handlers and
     * memory, which the blob does not carry. */
    tmp = *d;
    if ((r = undump(fields_v1, IOP_ARRAY_SIZE(fields_v1), &tmp, in + IOP_DMA_SAVE_HEADER)) < 0)
        return r;
    if ((r = check_consistency(&tmp)) < 0)
        return r;
    post_load(&tmp);
    *d = tmp;
    return 0;
}
