/* The UtilParamsGet/Set engine (params-exec.h): runs the operations params-oplist.c
 * parses against the model and writes the ResultList. */
#include "lib/params/params-exec.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <linux/i2o-dev.h>

#include "lib/params/params-internal.h"
#include "lib/params/params-oplist.h"
#include "lib/util/bytes.h"
#include "lib/util/cleanup.h"

#define BLOCK_HDR 4u  /* BlockSize, BlockStatus, ErrorInfoSize */
#define TABLE_HDR 4u  /* RowCount, MoreFlag */
#define ERRINFO_HDR 8u /* OperationCode, GroupNumber, FieldIdx, AdditionalStatus, NumberKeys */
/* ErrorInfoSize is a u8 count of words: 255 words hold the 8-byte template and a key of
 * at most 1012 bytes; a longer key is left out of the error information. */
#define ERRINFO_KEY_MAX (255u * 4u - ERRINFO_HDR)

/* ---- result writer ---- */

struct ctx {
    struct iop_params *p;
    enum iop_params_msg msg;
    uint8_t *buf;
    size_t cap;         /* usable bytes: a multiple of 4 */
    size_t pos;
    unsigned n_blocks;
    bool done;          /* the list ends: buffer full or the rest cannot be located */
    iop_params_change_fn on_change;
    void *userdata;
};

static bool room(const struct ctx *c, size_t n) {
    return n <= c->cap - c->pos;
}

/* Finish the block that starts at start: pad the data to a word and fill the header. */
static void block_end(struct ctx *c, size_t start, uint8_t status, unsigned err_words) {
    size_t end = params_pad4(c->pos);
    assert(end <= c->cap);
    memset(c->buf + c->pos, 0, end - c->pos);
    c->pos = end;
    iop_put_le16(c->buf + start, (uint16_t)((end - start) / 4));
    c->buf[start + 2] = status;
    c->buf[start + 3] = (uint8_t)err_words;
    c->n_blocks++;
}

/* Append error information (if it fits) to the block being built. */
static unsigned put_errinfo(struct ctx *c, const struct op *op, uint16_t field,
                            const uint8_t *key, size_t key_len) {
    if (!key || key_len > ERRINFO_KEY_MAX)
        key_len = 0;
    size_t n = params_pad4(c->pos) - c->pos; /* pad of the results before the information */
    size_t info = params_pad4(ERRINFO_HDR + key_len);
    if (!room(c, n + info))
        return 0;
    memset(c->buf + c->pos, 0, n + info);
    uint8_t *e = c->buf + c->pos + n;
    iop_put_le16(e, op->code);
    iop_put_le16(e + 2, op->group);
    iop_put_le16(e + 4, field);
    e[6] = 0;                     /* AdditionalStatus */
    e[7] = key_len ? 1 : 0;       /* NumberKeys */
    if (key_len)
        memcpy(e + ERRINFO_HDR, key, key_len);
    c->pos += n + info;
    return (unsigned)(info / 4);
}

/* A block with no results: the status and its error information. */
static void put_error(struct ctx *c, const struct op *op, uint8_t status, uint16_t field,
                      const uint8_t *key, size_t key_len) {
    size_t start = c->pos;
    c->pos += BLOCK_HDR;
    unsigned w = put_errinfo(c, op, field, key, key_len);
    block_end(c, start, status, w);
}

/* The result does not fit: a bare header, and the list ends. */
static void put_buffer_full(struct ctx *c) {
    size_t start = c->pos;
    c->pos += BLOCK_HDR;
    block_end(c, start,
              c->n_blocks ? IOP_PARAMS_STATUS_BUFFER_FULL : IOP_PARAMS_STATUS_BUFFER_TOO_SMALL, 0);
    c->done = true;
}

static void report(struct ctx *c, enum iop_params_change_kind kind, uint16_t group,
                   uint16_t field, const void *key, size_t key_len) {
    if (!c->on_change)
        return;
    struct iop_params_change ch = { .kind = kind, .group = group, .field = field,
                                    .key = key_len ? key : NULL, .key_len = key_len };
    c->on_change(c->userdata, &ch);
}

/* ---- key lookup ----
 *
 * LIST_GET and LIST_SET may name tens of thousands of keys (a 64 KiB list of u16 keys)
 * in a table of up to IOP_PARAMS_ROWS_MAX rows; a linear search per key took 75 ms in
 * the worst case.  A sorted index of the row keys, built per operation (O(n log n), n <=
 * 1024), makes every lookup a binary search.  Without memory for the index, the linear
 * search still gives the same answers. */

struct key_index {
    const struct iop_params_group *g;
    unsigned *rows; /* owned; row indices sorted by key bytes, or NULL */
};

static int cmp_rows_by_key(const void *a, const void *b, void *arg) {
    const struct iop_params_group *g = arg;
    const struct params_field *k = &g->fields[g->key];
    return memcmp(params_value(g, *(const unsigned *)a, k), params_value(g, *(const unsigned *)b, k),
                  k->size);
}

static void key_index_init(struct key_index *ix, const struct iop_params_group *g) {
    ix->g = g;
    ix->rows = g->n_rows ? malloc(g->n_rows * sizeof(*ix->rows)) : NULL;
    if (!ix->rows)
        return;
    for (unsigned i = 0; i < g->n_rows; i++)
        ix->rows[i] = i;
    qsort_r(ix->rows, g->n_rows, sizeof(*ix->rows), cmp_rows_by_key, (void *)g);
}

static void key_index_done(struct key_index *ix) {
    free(ix->rows);
    ix->rows = NULL;
}

/* Row index of key, or -1.  Keys are unique, so any match is the match. */
static int key_index_find(const struct key_index *ix, const uint8_t *key) {
    const struct iop_params_group *g = ix->g;
    if (!ix->rows)
        return params_find_row(g, key);
    const struct params_field *k = &g->fields[g->key];
    unsigned lo = 0, hi = g->n_rows;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        int c = memcmp(params_value(g, ix->rows[mid], k), key, k->size);
        if (c == 0)
            return (int)ix->rows[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* ---- reads ---- */

/* Check the selected fields of a read; 0 or the status (with *bad the field). */
static uint8_t check_read_fields(const struct op *op, bool values, uint16_t *bad) {
    unsigned n = params_sel_count(op);
    for (unsigned i = 0; i < n; i++) {
        unsigned fi = params_sel_field(op, i);
        *bad = (uint16_t)fi;
        if (fi >= op->g->n_fields)
            return IOP_PARAMS_STATUS_NO_SUCH_FIELD;
        if (values && !op->all && (op->g->fields[fi].flags & IOP_PARAMS_FIELD_NOREAD))
            return IOP_PARAMS_STATUS_FIELD_UNREADABLE;
    }
    return 0;
}

static size_t read_sel_size(const struct op *op) {
    size_t n = 0;
    for (unsigned i = 0; i < params_sel_count(op); i++)
        n += op->g->fields[params_sel_field(op, i)].size;
    return n;
}

/* Copy the selected fields of row i to the result. */
static void put_row(struct ctx *c, const struct op *op, unsigned row) {
    const struct iop_params_group *g = op->g;
    for (unsigned i = 0; i < params_sel_count(op); i++) {
        const struct params_field *f = &g->fields[params_sel_field(op, i)];
        if (f->flags & IOP_PARAMS_FIELD_NOREAD)
            memset(c->buf + c->pos, 0, f->size); /* only with 0xFFFF, see the header */
        else
            memcpy(c->buf + c->pos, params_value(g, row, f), f->size);
        c->pos += f->size;
    }
}

static void exec_field_get(struct ctx *c, const struct op *op) {
    uint16_t bad;
    uint8_t st;
    if (op->g->kind != IOP_PARAMS_SCALAR)
        return put_error(c, op, IOP_PARAMS_STATUS_WRONG_GROUP_TYPE, IOP_PARAMS_NO_FIELD, NULL, 0);
    if ((st = check_read_fields(op, true, &bad)))
        return put_error(c, op, st, bad, NULL, 0);
    size_t size = read_sel_size(op);
    if (!room(c, BLOCK_HDR + params_pad4(size)))
        return put_buffer_full(c);
    size_t start = c->pos;
    c->pos += BLOCK_HDR;
    put_row(c, op, 0);
    block_end(c, start, IOP_PARAMS_STATUS_SUCCESS, 0);
}

static void exec_size_get(struct ctx *c, const struct op *op) {
    uint16_t bad;
    uint8_t st;
    if ((st = check_read_fields(op, false, &bad)))
        return put_error(c, op, st, bad, NULL, 0);
    if (!room(c, BLOCK_HDR + 4))
        return put_buffer_full(c);
    size_t size = read_sel_size(op);
    size_t start = c->pos;
    c->pos += BLOCK_HDR;
    iop_put_le16(c->buf + c->pos, (uint16_t)op->g->n_rows);
    /* Repeated FieldIdx can describe more than a u16 of bytes; saturate. */
    iop_put_le16(c->buf + c->pos + 2, (uint16_t)IOP_MIN(size, (size_t)0xFFFF));
    c->pos += 4;
    block_end(c, start, IOP_PARAMS_STATUS_SUCCESS, 0);
}

/* TABLE_GET, MORE_GET and LIST_GET: RowCount, MoreFlag, rows. */
static void exec_table_read(struct ctx *c, const struct op *op) {
    const struct iop_params_group *g = op->g;
    uint16_t bad;
    uint8_t st;
    if (g->kind != IOP_PARAMS_TABLE)
        return put_error(c, op, IOP_PARAMS_STATUS_WRONG_GROUP_TYPE, IOP_PARAMS_NO_FIELD, NULL, 0);
    if (op->code != I2O_PARAMS_TABLE_GET && g->key < 0)
        return put_error(c, op, IOP_PARAMS_STATUS_NO_KEY_FIELD, IOP_PARAMS_NO_FIELD, NULL, 0);
    if ((st = check_read_fields(op, true, &bad)))
        return put_error(c, op, st, bad, NULL, 0);

    size_t ks = g->key >= 0 ? g->fields[g->key].size : 0;
    _cleanup_(key_index_done) struct key_index ix = { .g = g };
    unsigned first = 0, n_rows = g->n_rows; /* TABLE_GET/MORE_GET: rows first.. */
    const uint8_t *bad_key = NULL;
    if (op->code == I2O_PARAMS_MORE_GET) {
        int r = params_find_row(g, op->tail);
        if (r < 0)
            return put_error(c, op, IOP_PARAMS_STATUS_BAD_KEY_ABORT, IOP_PARAMS_NO_FIELD,
                             op->tail, ks);
        first = (unsigned)r + 1;
    } else if (op->code == I2O_PARAMS_LIST_GET) {
        n_rows = 0;
        key_index_init(&ix, g);
        for (unsigned k = 0; k < op->count; k++) {
            const uint8_t *key = op->tail + (size_t)k * ks;
            if (key_index_find(&ix, key) >= 0)
                n_rows++;
            else if (!bad_key)
                bad_key = key;
        }
        first = 0;
    }
    unsigned want = op->code == I2O_PARAMS_LIST_GET ? n_rows : n_rows - first;

    if (!room(c, BLOCK_HDR + TABLE_HDR))
        return put_buffer_full(c);
    size_t row = read_sel_size(op);
    size_t avail = c->cap - c->pos - BLOCK_HDR - TABLE_HDR;
    unsigned fit = want;
    if (row && params_pad4((size_t)want * row) > avail)
        fit = (unsigned)(avail / row); /* avail is a multiple of 4: params_pad4(fit*row) <= avail */
    if (fit == 0 && want > 0)
        return put_buffer_full(c);

    size_t start = c->pos;
    c->pos += BLOCK_HDR;
    iop_put_le16(c->buf + c->pos, (uint16_t)fit);
    iop_put_le16(c->buf + c->pos + 2, fit < want ? 1 : 0);
    c->pos += TABLE_HDR;
    if (op->code == I2O_PARAMS_LIST_GET) {
        unsigned done = 0;
        for (unsigned k = 0; k < op->count && done < fit; k++) {
            int r = key_index_find(&ix, op->tail + (size_t)k * ks);
            if (r >= 0) {
                put_row(c, op, (unsigned)r);
                done++;
            }
        }
    } else {
        for (unsigned i = 0; i < fit; i++)
            put_row(c, op, first + i);
    }
    unsigned w = 0;
    if (bad_key)
        w = put_errinfo(c, op, IOP_PARAMS_NO_FIELD, bad_key, ks);
    block_end(c, start, bad_key ? IOP_PARAMS_STATUS_BAD_KEY_CONTINUE : IOP_PARAMS_STATUS_SUCCESS,
              w);
    if (fit < want)
        c->done = true;
}

/* ---- modifications ---- */

static void put_success(struct ctx *c) {
    size_t start = c->pos;
    c->pos += BLOCK_HDR;
    block_end(c, start, IOP_PARAMS_STATUS_SUCCESS, 0);
}

/* Check that the selected fields may be written with the values at v (one row of the
 * selected fields); 0 or the status with *bad the field. */
static uint8_t check_write(const struct op *op, const uint8_t *v, bool need_rw, uint16_t *bad) {
    for (unsigned i = 0; i < params_sel_count(op); i++) {
        unsigned fi = params_sel_field(op, i);
        const struct params_field *f = &op->g->fields[fi];
        *bad = (uint16_t)fi;
        if (need_rw && !(f->flags & IOP_PARAMS_FIELD_RW))
            return IOP_PARAMS_STATUS_FIELD_UNWRITEABLE;
        if (!params_value_in_range(f, v))
            return IOP_PARAMS_STATUS_SCALAR_ERROR;
        v += f->size;
    }
    return 0;
}

/* Write one row of selected-field values v into row (a packed row buffer). */
static void apply_values(const struct op *op, uint8_t *row, const uint8_t *v) {
    for (unsigned i = 0; i < params_sel_count(op); i++) {
        const struct params_field *f = &op->g->fields[params_sel_field(op, i)];
        memcpy(row + f->offset, v, f->size);
        v += f->size;
    }
}

/* Install new rows (same row count) and report the fields that differ from old. */
static void commit_rows(struct ctx *c, struct iop_params_group *g, uint8_t *staged) {
    _cleanup_free_ uint8_t *old = g->rows;
    g->rows = staged;
    g->cap_rows = g->n_rows;
    for (unsigned r = 0; r < g->n_rows; r++) {
        const uint8_t *o = old + (size_t)r * g->row_size;
        const uint8_t *n = params_row(g, r);
        for (unsigned fi = 0; fi < g->n_fields; fi++) {
            const struct params_field *f = &g->fields[fi];
            if (memcmp(o + f->offset, n + f->offset, f->size) == 0)
                continue;
            if (g->kind == IOP_PARAMS_SCALAR || g->key < 0)
                report(c, IOP_PARAMS_CHANGE_FIELD, g->number, (uint16_t)fi, NULL, 0);
            else
                report(c, IOP_PARAMS_CHANGE_FIELD, g->number, (uint16_t)fi,
                       n + g->fields[g->key].offset, g->fields[g->key].size);
        }
    }
}

static uint8_t *stage_rows(const struct iop_params_group *g) {
    size_t bytes = (size_t)g->n_rows * g->row_size;
    uint8_t *s = malloc(IOP_MAX(bytes, (size_t)1));
    if (s && bytes)
        memcpy(s, g->rows, bytes);
    return s;
}

static void exec_field_set(struct ctx *c, const struct op *op) {
    struct iop_params_group *g = op->g;
    uint16_t bad;
    uint8_t st;
    if (g->kind != IOP_PARAMS_SCALAR)
        return put_error(c, op, IOP_PARAMS_STATUS_WRONG_GROUP_TYPE, IOP_PARAMS_NO_FIELD, NULL, 0);
    if ((st = check_write(op, op->tail, true, &bad)))
        return put_error(c, op, st, bad, NULL, 0);
    uint8_t *staged = stage_rows(g);
    if (!staged)
        return put_error(c, op, IOP_PARAMS_STATUS_OPERATION_ERROR, IOP_PARAMS_NO_FIELD, NULL, 0);
    apply_values(op, staged, op->tail);
    put_success(c);
    commit_rows(c, g, staged);
}

/* Does the staged table have two rows with the same key? */
static bool duplicate_keys(const struct iop_params_group *g, const uint8_t *rows, unsigned n,
                           const uint8_t **dup) {
    const struct params_field *k = &g->fields[g->key];
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = i + 1; j < n; j++)
            if (memcmp(rows + (size_t)i * g->row_size + k->offset,
                       rows + (size_t)j * g->row_size + k->offset, k->size) == 0) {
                *dup = rows + (size_t)j * g->row_size + k->offset;
                return true;
            }
    return false;
}

static void exec_list_set(struct ctx *c, const struct op *op) {
    struct iop_params_group *g = op->g;
    uint16_t bad;
    uint8_t st;
    if (g->kind != IOP_PARAMS_TABLE)
        return put_error(c, op, IOP_PARAMS_STATUS_WRONG_GROUP_TYPE, IOP_PARAMS_NO_FIELD, NULL, 0);
    if (g->key < 0)
        return put_error(c, op, IOP_PARAMS_STATUS_NO_KEY_FIELD, IOP_PARAMS_NO_FIELD, NULL, 0);
    size_t ks = g->fields[g->key].size, stride = ks + op->sel_size;
    _cleanup_(key_index_done) struct key_index ix = { .g = g };
    key_index_init(&ix, g);
    /* Keys name rows of the table as it was before the operation. */
    for (unsigned k = 0; k < op->count; k++) {
        const uint8_t *e = op->tail + (size_t)k * stride;
        if (key_index_find(&ix, e) < 0)
            return put_error(c, op, IOP_PARAMS_STATUS_BAD_KEY_ABORT, IOP_PARAMS_NO_FIELD, e, ks);
        if ((st = check_write(op, e + ks, true, &bad)))
            return put_error(c, op, st, bad, e, ks);
    }
    uint8_t *staged = stage_rows(g);
    if (!staged)
        return put_error(c, op, IOP_PARAMS_STATUS_OPERATION_ERROR, IOP_PARAMS_NO_FIELD, NULL, 0);
    for (unsigned k = 0; k < op->count; k++) {
        const uint8_t *e = op->tail + (size_t)k * stride;
        int r = key_index_find(&ix, e);
        apply_values(op, staged + (size_t)r * g->row_size, e + ks);
    }
    bool writes_key = false;
    for (unsigned i = 0; i < params_sel_count(op) && !writes_key; i++)
        writes_key = params_sel_field(op, i) == (unsigned)g->key;
    const uint8_t *dup;
    if (writes_key && duplicate_keys(g, staged, g->n_rows, &dup)) {
        put_error(c, op, IOP_PARAMS_STATUS_BAD_KEY_ABORT, IOP_PARAMS_NO_FIELD, dup, ks);
        free(staged);
        return;
    }
    put_success(c);
    commit_rows(c, g, staged);
}

static void exec_row_add(struct ctx *c, const struct op *op) {
    struct iop_params_group *g = op->g;
    uint16_t bad;
    uint8_t st;
    if (g->kind != IOP_PARAMS_TABLE)
        return put_error(c, op, IOP_PARAMS_STATUS_WRONG_GROUP_TYPE, IOP_PARAMS_NO_FIELD, NULL, 0);
    if (!(g->flags & IOP_PARAMS_GROUP_ROW_ADD) || g->descriptors)
        return put_error(c, op, IOP_PARAMS_STATUS_NON_DYNAMIC_GROUP, IOP_PARAMS_NO_FIELD, NULL, 0);
    if (g->key >= 0) {
        bool has_key = op->all;
        for (unsigned i = 0; i < params_sel_count(op) && !has_key; i++)
            has_key = params_sel_field(op, i) == (unsigned)g->key;
        if (!has_key)
            return put_error(c, op, IOP_PARAMS_STATUS_INSUFFICIENT_FIELDS, (uint16_t)g->key,
                             NULL, 0);
    }
    if (op->count > g->max_rows - g->n_rows)
        return put_error(c, op, IOP_PARAMS_STATUS_TABLE_ERROR, IOP_PARAMS_NO_FIELD, NULL, 0);
    for (unsigned k = 0; k < op->count; k++)
        if ((st = check_write(op, op->tail + (size_t)k * op->sel_size, false, &bad)))
            return put_error(c, op, st, bad, NULL, 0);
    if (params_reserve_rows(g, op->count) < 0)
        return put_error(c, op, IOP_PARAMS_STATUS_OPERATION_ERROR, IOP_PARAMS_NO_FIELD, NULL, 0);

    /* Build the new rows after the last one; they count only once all are valid. */
    for (unsigned k = 0; k < op->count; k++) {
        uint8_t *row = params_row(g, g->n_rows + k);
        memset(row, 0, g->row_size);
        apply_values(op, row, op->tail + (size_t)k * op->sel_size);
    }
    if (g->key >= 0) {
        const struct params_field *kf = &g->fields[g->key];
        for (unsigned k = 0; k < op->count; k++) {
            const uint8_t *key = params_row(g, g->n_rows + k) + kf->offset;
            const uint8_t *dup = NULL;
            if (params_find_row(g, key) >= 0)
                dup = key;
            for (unsigned j = 0; j < k && !dup; j++)
                if (memcmp(params_row(g, g->n_rows + j) + kf->offset, key, kf->size) == 0)
                    dup = key;
            /* The staged rows stay untouched (beyond n_rows) while the error is written. */
            if (dup)
                return put_error(c, op, IOP_PARAMS_STATUS_BAD_KEY_ABORT, IOP_PARAMS_NO_FIELD,
                                 dup, kf->size);
        }
    }
    unsigned first = g->n_rows;
    g->n_rows += op->count;
    params_refresh_descriptors(c->p);
    put_success(c);
    for (unsigned k = 0; k < op->count; k++) {
        if (g->key >= 0)
            report(c, IOP_PARAMS_CHANGE_ROW_ADD, g->number, IOP_PARAMS_NO_FIELD,
                   params_row(g, first + k) + g->fields[g->key].offset, g->fields[g->key].size);
        else
            report(c, IOP_PARAMS_CHANGE_ROW_ADD, g->number, IOP_PARAMS_NO_FIELD, NULL, 0);
    }
}

static int cmp_desc(const void *a, const void *b) {
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void exec_row_delete(struct ctx *c, const struct op *op) {
    struct iop_params_group *g = op->g;
    if (g->kind != IOP_PARAMS_TABLE)
        return put_error(c, op, IOP_PARAMS_STATUS_WRONG_GROUP_TYPE, IOP_PARAMS_NO_FIELD, NULL, 0);
    if (!(g->flags & IOP_PARAMS_GROUP_ROW_DELETE) || g->descriptors)
        return put_error(c, op, IOP_PARAMS_STATUS_NON_DYNAMIC_GROUP, IOP_PARAMS_NO_FIELD, NULL, 0);
    if (g->key < 0)
        return put_error(c, op, IOP_PARAMS_STATUS_NO_KEY_FIELD, IOP_PARAMS_NO_FIELD, NULL, 0);
    size_t ks = g->fields[g->key].size;
    _cleanup_free_ unsigned *rows = malloc(IOP_MAX((size_t)op->count, (size_t)1) * sizeof(*rows));
    if (!rows)
        return put_error(c, op, IOP_PARAMS_STATUS_OPERATION_ERROR, IOP_PARAMS_NO_FIELD, NULL, 0);
    for (unsigned k = 0; k < op->count; k++) {
        const uint8_t *key = op->tail + (size_t)k * ks;
        int r = params_find_row(g, key);
        bool again = false;
        for (unsigned j = 0; j < k && r >= 0 && !again; j++)
            again = rows[j] == (unsigned)r; /* deleted by an earlier key of the list */
        if (r < 0 || again)
            return put_error(c, op, IOP_PARAMS_STATUS_BAD_KEY_ABORT, IOP_PARAMS_NO_FIELD, key, ks);
        rows[k] = (unsigned)r;
    }
    /* Highest index first so earlier indices stay valid. */
    qsort(rows, op->count, sizeof(*rows), cmp_desc);
    for (unsigned k = 0; k < op->count; k++)
        params_delete_row(g, rows[k]);
    params_refresh_descriptors(c->p);
    put_success(c);
    for (unsigned k = 0; k < op->count; k++)
        report(c, IOP_PARAMS_CHANGE_ROW_DELETE, g->number, IOP_PARAMS_NO_FIELD,
               op->tail + (size_t)k * ks, ks);
}

static void exec_table_clear(struct ctx *c, const struct op *op) {
    struct iop_params_group *g = op->g;
    if (g->kind != IOP_PARAMS_TABLE)
        return put_error(c, op, IOP_PARAMS_STATUS_WRONG_GROUP_TYPE, IOP_PARAMS_NO_FIELD, NULL, 0);
    if (!(g->flags & IOP_PARAMS_GROUP_CLEAR) || g->descriptors)
        return put_error(c, op, IOP_PARAMS_STATUS_NON_DYNAMIC_GROUP, IOP_PARAMS_NO_FIELD, NULL, 0);
    bool had = g->n_rows > 0;
    g->n_rows = 0;
    params_refresh_descriptors(c->p);
    put_success(c);
    if (had)
        report(c, IOP_PARAMS_CHANGE_TABLE_CLEAR, g->number, IOP_PARAMS_NO_FIELD, NULL, 0);
}

static bool is_get_op(uint16_t code) {
    return code >= I2O_PARAMS_FIELD_GET && code <= I2O_PARAMS_TABLE_GET;
}

static bool is_set_op(uint16_t code) {
    return code >= I2O_PARAMS_FIELD_SET && code <= I2O_PARAMS_TABLE_CLEAR;
}

static void exec_op(struct ctx *c, const struct op *op) {
    if (!room(c, BLOCK_HDR)) {
        c->done = true; /* not even a header fits: the list ends without a block */
        return;
    }
    bool family = c->msg == IOP_PARAMS_MSG_GET ? is_get_op(op->code) : is_set_op(op->code);
    if (!family && (is_get_op(op->code) || is_set_op(op->code))) {
        put_error(c, op, IOP_PARAMS_STATUS_INVALID_OPERATION, IOP_PARAMS_NO_FIELD, NULL, 0);
        if (op->stop_status)
            c->done = true;
        return;
    }
    if (op->stop_status) {
        put_error(c, op, op->stop_status, op->stop_field, NULL, 0);
        c->done = true;
        return;
    }
    if (!op->g) {
        put_error(c, op, IOP_PARAMS_STATUS_INVALID_GROUP_ID, IOP_PARAMS_NO_FIELD, NULL, 0);
        return;
    }
    switch (op->code) {
    case I2O_PARAMS_FIELD_GET: exec_field_get(c, op); break;
    case I2O_PARAMS_LIST_GET:
    case I2O_PARAMS_MORE_GET:
    case I2O_PARAMS_TABLE_GET: exec_table_read(c, op); break;
    case I2O_PARAMS_SIZE_GET: exec_size_get(c, op); break;
    case I2O_PARAMS_FIELD_SET: exec_field_set(c, op); break;
    case I2O_PARAMS_LIST_SET: exec_list_set(c, op); break;
    case I2O_PARAMS_ROW_ADD: exec_row_add(c, op); break;
    case I2O_PARAMS_ROW_DELETE: exec_row_delete(c, op); break;
    case I2O_PARAMS_TABLE_CLEAR: exec_table_clear(c, op); break;
    default: assert(!"unreachable: params_parse_op stops unknown operations");
    }
}

int iop_params_exec(struct iop_params *p, enum iop_params_msg msg, const void *oplist,
                    size_t oplen, void *result, size_t result_cap, iop_params_change_fn on_change,
                    void *userdata) {
    if (!p || (!oplist && oplen) || (msg != IOP_PARAMS_MSG_GET && msg != IOP_PARAMS_MSG_SET))
        return -EINVAL;
    if (oplen > IOP_PARAMS_OPLIST_MAX)
        return -E2BIG;
    if (!result || result_cap < LIST_HDR)
        return -ENOBUFS;
    const uint8_t *list = oplist;
    if (oplen < LIST_HDR)
        return -EBADMSG;
    unsigned count = iop_get_le16(list);

    /* Pass 1: the whole list must be well-formed before anything runs. */
    size_t pos = LIST_HDR;
    for (unsigned i = 0; i < count; i++) {
        struct op op;
        int r = params_parse_op(p, list, oplen, &pos, &op);
        if (r < 0)
            return r;
        if (op.stop_status)
            break;
    }

    /* Pass 2: run it.  F000 is derived state: bring it up to date first. */
    params_refresh_descriptors(p);
    struct ctx c = { .p = p, .msg = msg, .buf = result,
                     .cap = IOP_MIN(result_cap, (size_t)IOP_PARAMS_RESULT_MAX) & ~(size_t)3,
                     .pos = LIST_HDR, .on_change = on_change, .userdata = userdata };
    pos = LIST_HDR;
    for (unsigned i = 0; i < count && !c.done; i++) {
        struct op op;
        int r = params_parse_op(p, list, oplen, &pos, &op);
        /* The model can only have changed in ways pass 1 already allowed for: a group
         * or key size never changes during a list, so this parse cannot fail. */
        assert(r == 0);
        (void)r;
        exec_op(&c, &op);
    }
    iop_put_le16(c.buf, (uint16_t)c.n_blocks);
    iop_put_le16(c.buf + 2, 0);
    return (int)c.pos;
}

int iop_params_result_len(const void *res, size_t len, uint8_t *single_status) {
    const uint8_t *b = res;
    if (single_status)
        *single_status = 0;
    if (!b || len < LIST_HDR)
        return -EBADMSG;
    unsigned count = iop_get_le16(b);
    size_t words = 1;
    for (unsigned i = 0; i < count; i++) {
        size_t at = words * 4;
        if (at + BLOCK_HDR > len)
            return -EBADMSG;
        unsigned size = iop_get_le16(b + at);
        if (size == 0 || at + (size_t)size * 4 > len)
            return -EBADMSG;
        if (count == 1 && single_status)
            *single_status = b[at + 2];
        words += size;
    }
    return (int)(words * 4);
}
