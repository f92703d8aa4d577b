/* Helpers for the lib/params tests: build OperationLists byte by byte and walk
 * ResultLists, independently of the engine's own code. */
#pragma once

#include <stdint.h>
#include <string.h>

#include "lib/params/params-exec.h"
#include "lib/params/params.h"
#include "testutil.h"

#define OP_FIELD_GET 1
#define OP_LIST_GET 2
#define OP_MORE_GET 3
#define OP_SIZE_GET 4
#define OP_TABLE_GET 5
#define OP_FIELD_SET 6
#define OP_LIST_SET 7
#define OP_ROW_ADD 8
#define OP_ROW_DELETE 9
#define OP_TABLE_CLEAR 10
#define ALL 0xFFFF

struct oplist {
    uint8_t b[8192];
    size_t len;
    unsigned ops;
};

static inline void ol_init(struct oplist *o) {
    memset(o, 0, sizeof(*o));
    o->len = 4;
}

static inline void ol_u8(struct oplist *o, uint8_t v) {
    o->b[o->len++] = v;
}

static inline void ol_u16(struct oplist *o, uint16_t v) {
    o->b[o->len++] = (uint8_t)v;
    o->b[o->len++] = (uint8_t)(v >> 8);
}

static inline void ol_u32(struct oplist *o, uint32_t v) {
    ol_u16(o, (uint16_t)v);
    ol_u16(o, (uint16_t)(v >> 16));
}

static inline void ol_bytes(struct oplist *o, const void *p, size_t n) {
    memcpy(o->b + o->len, p, n);
    o->len += n;
}

/* Start an operation on a 4-byte boundary (zero pad). */
static inline void ol_op(struct oplist *o, uint16_t code, uint16_t group) {
    while (o->len % 4)
        o->b[o->len++] = 0;
    ol_u16(o, code);
    ol_u16(o, group);
    o->ops++;
    o->b[0] = (uint8_t)o->ops;
    o->b[1] = (uint8_t)(o->ops >> 8);
}

/* FieldCount and the FieldIdx list (n = ALL: no list). */
static inline void ol_fields(struct oplist *o, unsigned n, const uint16_t *idx) {
    ol_u16(o, (uint16_t)n);
    if (n != ALL)
        for (unsigned i = 0; i < n; i++)
            ol_u16(o, idx[i]);
}

struct rblock {
    unsigned size;   /* words */
    uint8_t status;
    uint8_t errwords;
    const uint8_t *data; /* after the header */
    size_t data_len;     /* (size-1)*4 - errwords*4 */
    const uint8_t *err;  /* error information or NULL */
};

/* Split a ResultList; returns ResultCount, or -1 when the blocks do not add up to len. */
static inline int rl_parse(const uint8_t *res, int len, struct rblock *out, unsigned max) {
    if (len < 4)
        return -1;
    unsigned count = (unsigned)(res[0] | res[1] << 8);
    size_t at = 4;
    for (unsigned i = 0; i < count; i++) {
        if (at + 4 > (size_t)len)
            return -1;
        struct rblock bl;
        bl.size = (unsigned)(res[at] | res[at + 1] << 8);
        bl.status = res[at + 2];
        bl.errwords = res[at + 3];
        if (bl.size == 0 || at + bl.size * 4u > (size_t)len || bl.errwords >= bl.size)
            return -1;
        bl.data = res + at + 4;
        bl.data_len = (bl.size - 1u - bl.errwords) * 4u;
        bl.err = bl.errwords ? res + at + bl.size * 4u - bl.errwords * 4u : NULL;
        if (i < max)
            out[i] = bl;
        at += bl.size * 4u;
    }
    return at == (size_t)len ? (int)count : -1;
}

static inline uint16_t le16(const uint8_t *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
