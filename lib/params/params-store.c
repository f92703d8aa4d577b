#include "lib/params/params-store.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/params/params-internal.h"
#include "lib/util/bytes.h"
#include "lib/util/crc32.h"
#include "lib/util/cleanup.h"
#include "lib/util/log.h"

#define MAGIC "IOPP"
#define VERSION 1u
#define HDR_SIZE 12u
#define CRC_SIZE 4u

enum { REC_TABLE = 1, REC_ROW = 2, REC_FIELD = 3 };

#define DYNAMIC_FLAGS (IOP_PARAMS_GROUP_ROW_ADD | IOP_PARAMS_GROUP_ROW_DELETE | IOP_PARAMS_GROUP_CLEAR)

/* ---- save ---- */

struct blob {
    uint8_t *b;
    size_t len, cap;
    uint32_t records;
    int err;
};

static void put(struct blob *w, const void *src, size_t n) {
    if (w->err || n == 0)
        return;
    if (n > IOP_PARAMS_BLOB_MAX - w->len) {
        w->err = -E2BIG;
        return;
    }
    if (w->len + n > w->cap) {
        size_t cap = IOP_MAX(w->len + n, IOP_MIN((size_t)IOP_PARAMS_BLOB_MAX, w->cap * 2 + 256));
        uint8_t *nb = realloc(w->b, cap);
        if (!nb) {
            w->err = -ENOMEM;
            return;
        }
        w->b = nb;
        w->cap = cap;
    }
    memcpy(w->b + w->len, src, n);
    w->len += n;
}

/* Keys longer than a u8 length cannot be saved; such tables are skipped (no standard
 * key is longer than 4 bytes). */
#define SAVE_KEY_MAX 255u

static void put_record(struct blob *w, uint8_t type, uint16_t group, const void *key,
                       size_t key_len, const char *name, const void *val, size_t val_len) {
    uint8_t h[3] = { type };
    iop_put_le16(h + 1, group);
    put(w, h, 3);
    uint8_t kl = (uint8_t)key_len; /* <= SAVE_KEY_MAX */
    put(w, &kl, 1);
    put(w, key, key_len);
    size_t nl = name ? strlen(name) : 0;
    uint8_t nlb = (uint8_t)nl;
    put(w, &nlb, 1);
    put(w, name, nl);
    uint8_t vl[2];
    iop_put_le16(vl, (uint16_t)val_len);
    put(w, vl, 2);
    put(w, val, val_len);
    w->records++;
}


static void save_group(struct blob *w, const struct iop_params_group *g) {
    if (g->descriptors)
        return;
    if (g->kind == IOP_PARAMS_SCALAR) {
        for (unsigned fi = 0; fi < g->n_fields; fi++) {
            const struct params_field *f = &g->fields[fi];
            if (f->flags & IOP_PARAMS_FIELD_RW)
                put_record(w, REC_FIELD, g->number, NULL, 0, f->name, params_value(g, 0, f),
                           f->size);
        }
        return;
    }
    const struct params_field *k = g->key >= 0 ? &g->fields[g->key] : NULL;
    if (k && k->size > SAVE_KEY_MAX)
        return;
    if (g->flags & DYNAMIC_FLAGS) {
        put_record(w, REC_TABLE, g->number, NULL, 0, NULL, NULL, 0);
        for (unsigned r = 0; r < g->n_rows; r++) {
            put_record(w, REC_ROW, g->number, k ? params_value(g, r, k) : NULL, k ? k->size : 0,
                       NULL, NULL, 0);
            for (unsigned fi = 0; fi < g->n_fields; fi++) {
                const struct params_field *f = &g->fields[fi];
                if (f != k)
                    put_record(w, REC_FIELD, g->number, NULL, 0, f->name,
                               params_value(g, r, f), f->size);
            }
        }
        return;
    }
    if (!k)
        return;
    for (unsigned r = 0; r < g->n_rows; r++)
        for (unsigned fi = 0; fi < g->n_fields; fi++) {
            const struct params_field *f = &g->fields[fi];
            if (f->flags & IOP_PARAMS_FIELD_RW)
                put_record(w, REC_FIELD, g->number, params_value(g, r, k), k->size, f->name,
                           params_value(g, r, f), f->size);
        }
}

int iop_params_save(const struct iop_params *p, uint8_t **ret, size_t *ret_len) {
    assert(p && ret && ret_len);
    struct blob w = { 0 };
    uint8_t hdr[HDR_SIZE] = { 0 };
    put(&w, hdr, sizeof(hdr));
    for (unsigned i = 0; i < p->n_groups; i++)
        save_group(&w, p->groups[i]);
    if (!w.err) {
        memcpy(w.b, MAGIC, 4);
        iop_put_le16(w.b + 4, VERSION);
        iop_put_le16(w.b + 6, 0);
        iop_put_le32(w.b + 8, w.records);
        uint8_t crc[CRC_SIZE];
        iop_put_le32(crc, iop_crc32(0, w.b, w.len));
        put(&w, crc, sizeof(crc));
    }
    if (w.err) {
        free(w.b);
        return w.err;
    }
    *ret = w.b;
    *ret_len = w.len;
    return 0;
}

/* ---- load ---- */

struct record {
    uint8_t type;
    uint16_t group;
    const uint8_t *key;
    size_t key_len;
    char name[256];
    const uint8_t *val;
    size_t val_len;
};

/* Parse the record at *pos (within end); -EBADMSG if it does not fit. */
static int read_record(const uint8_t *b, size_t end, size_t *pos, struct record *r) {
    size_t at = *pos;
#define NEED(n)                                                                            \
    do {                                                                                   \
        if ((n) > end - at)                                                                \
            return -EBADMSG;                                                               \
    } while (0)
    NEED(4);
    r->type = b[at];
    r->group = iop_get_le16(b + at + 1);
    r->key_len = b[at + 3];
    at += 4;
    NEED(r->key_len);
    r->key = b + at;
    at += r->key_len;
    NEED(1);
    size_t nl = b[at++];
    NEED(nl);
    memcpy(r->name, b + at, nl);
    r->name[nl] = '\0';
    at += nl;
    NEED(2);
    r->val_len = iop_get_le16(b + at);
    at += 2;
    NEED(r->val_len);
    r->val = b + at;
    at += r->val_len;
#undef NEED
    if (r->type < REC_TABLE || r->type > REC_FIELD)
        return -EBADMSG;
    *pos = at;
    return 0;
}

struct load {
    struct iop_params *p;
    struct iop_params_group *table; /* the table being replaced, NULL: skip its rows */
    int row;                        /* the row of the latest ROW record, -1: none */
    int applied;
};

static void load_table(struct load *l, const struct record *r) {
    struct iop_params_group *g = iop_params_find_group(l->p, r->group);
    l->row = -1;
    l->table = NULL;
    if (!g || g->kind != IOP_PARAMS_TABLE || g->descriptors || !(g->flags & DYNAMIC_FLAGS)) {
        iop_debug("params: saved table %#06x no longer exists or is static, skipped", r->group);
        return;
    }
    iop_params_table_clear(g);
    l->table = g;
}

static void load_row(struct load *l, const struct record *r) {
    struct iop_params_group *g = l->table;
    l->row = -1;
    if (!g || g->number != r->group)
        return;
    int i = iop_params_row_add(g, r->key_len ? r->key : NULL, r->key_len);
    if (i < 0) {
        iop_debug("params: saved row of %#06x skipped: %d", r->group, i);
        return;
    }
    l->row = i;
    l->applied++;
}

static void load_field(struct load *l, const struct record *r) {
    struct iop_params_group *g = iop_params_find_group(l->p, r->group);
    int fi = g ? iop_params_find_field(g, r->name) : -ENOENT;
    if (fi < 0 || g->descriptors) {
        iop_debug("params: saved field %#06x/%s no longer exists, skipped", r->group, r->name);
        return;
    }
    const struct params_field *f = &g->fields[fi];
    unsigned row;
    bool whole_row = false; /* a row of a dynamic table: every field is restored */
    if (g->kind == IOP_PARAMS_SCALAR) {
        if (r->key_len)
            return;
        row = 0;
    } else if (r->key_len == 0) {
        if (l->table != g || l->row < 0)
            return;
        row = (unsigned)l->row;
        whole_row = true;
    } else {
        int i = g->key >= 0 && r->key_len == g->fields[g->key].size ? params_find_row(g, r->key)
                                                                     : -1;
        if (i < 0)
            return;
        row = (unsigned)i;
    }
    if (!whole_row && !(f->flags & IOP_PARAMS_FIELD_RW))
        return;
    if (r->val_len > f->size || (params_is_int(f->type) && r->val_len != f->size)) {
        iop_debug("params: saved %#06x/%s has %zu bytes, field has %u: skipped", r->group,
                  r->name, r->val_len, f->size);
        return;
    }
    uint8_t v[IOP_PARAMS_FIELD_SIZE_MAX];
    memset(v, 0, f->size);
    memcpy(v, r->val, r->val_len);
    if (!params_value_in_range(f, v))
        return;
    if (fi == g->key) {
        int other = params_find_row(g, v);
        if (other >= 0 && (unsigned)other != row)
            return;
    }
    memcpy(params_value(g, row, f), v, f->size);
    l->applied++;
}

int iop_params_load(struct iop_params *p, const void *blob, size_t len) {
    assert(p);
    const uint8_t *b = blob;
    if (len > IOP_PARAMS_BLOB_MAX)
        return -E2BIG;
    if (!b || len < HDR_SIZE + CRC_SIZE || memcmp(b, MAGIC, 4) != 0 ||
        iop_get_le16(b + 4) != VERSION)
        return -EBADMSG;
    size_t end = len - CRC_SIZE;
    if (iop_get_le32(b + end) != iop_crc32(0, b, end))
        return -EBADMSG;
    uint32_t count = iop_get_le32(b + 8);

    /* Check every record before applying any, so a bad blob changes nothing. */
    size_t pos = HDR_SIZE;
    struct record r;
    for (uint32_t i = 0; i < count; i++)
        if (read_record(b, end, &pos, &r) < 0)
            return -EBADMSG;
    if (pos != end)
        return -EBADMSG;

    struct load l = { .p = p, .row = -1 };
    pos = HDR_SIZE;
    for (uint32_t i = 0; i < count; i++) {
        int k = read_record(b, end, &pos, &r);
        assert(k == 0);
        (void)k;
        switch (r.type) {
        case REC_TABLE: load_table(&l, &r); break;
        case REC_ROW: load_row(&l, &r); break;
        case REC_FIELD: load_field(&l, &r); break;
        }
    }
    params_refresh_descriptors(p);
    return l.applied;
}
