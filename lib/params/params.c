#include "lib/params/params.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/params/params-internal.h"
#include "lib/util/bytes.h"
#include "lib/util/cleanup.h"

/* Group 0xF000 descriptor row, i2omsg.h I2O_UTIL_GROUP_DESCRIPTOR_TABLE:
 * u16 GroupNumber, u16 FieldCount, u16 RowCount, u8 Properties, u8 reserved. */
#define DESC_ROW_SIZE 8u
#define DESC_PROP_TABLE 0x01u

size_t iop_params_type_size(enum iop_params_type type) {
    switch (type) {
    case IOP_PARAMS_U8: return 1;
    case IOP_PARAMS_U16: return 2;
    case IOP_PARAMS_U32: return 4;
    case IOP_PARAMS_U64: return 8;
    default: return 0;
    }
}

static bool name_ok(const char *name) {
    if (!name)
        return false;
    size_t n = strnlen(name, IOP_PARAMS_NAME_MAX + 1);
    return n > 0 && n <= IOP_PARAMS_NAME_MAX;
}

int iop_params_new(struct iop_params **ret) {
    assert(ret);
    struct iop_params *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    *ret = p;
    return 0;
}

static void group_free(struct iop_params_group *g) {
    if (!g)
        return;
    free(g->fields);
    free(g->rows);
    free(g);
}

struct iop_params *iop_params_free(struct iop_params *p) {
    if (!p)
        return NULL;
    for (unsigned i = 0; i < p->n_groups; i++)
        group_free(p->groups[i]);
    free(p->groups);
    free(p);
    return NULL;
}

IOP_DEFINE_CLEANUP(struct iop_params_group, group_free)

int iop_params_add_group(struct iop_params *p, uint16_t number, const char *name,
                         enum iop_params_kind kind, unsigned flags,
                         struct iop_params_group **ret) {
    assert(p);
    const unsigned row_flags = IOP_PARAMS_GROUP_ROW_ADD | IOP_PARAMS_GROUP_ROW_DELETE |
                               IOP_PARAMS_GROUP_CLEAR;
    if (!name_ok(name) || (kind != IOP_PARAMS_SCALAR && kind != IOP_PARAMS_TABLE) ||
        (flags & ~row_flags) || (kind == IOP_PARAMS_SCALAR && flags))
        return -EINVAL;
    if (iop_params_find_group(p, number))
        return -EEXIST;
    if (p->n_groups >= IOP_PARAMS_GROUPS_MAX)
        return -ENOSPC;

    _cleanup_(group_freep) struct iop_params_group *g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->owner = p;
    g->number = number;
    strcpy(g->name, name);
    g->kind = kind;
    g->flags = flags;
    g->key = -1;
    g->max_rows = kind == IOP_PARAMS_SCALAR ? 1 : IOP_PARAMS_ROWS_MAX;
    g->n_rows = kind == IOP_PARAMS_SCALAR ? 1 : 0;

    struct iop_params_group **v = realloc(p->groups, (p->n_groups + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    p->groups = v;
    unsigned at = 0;
    while (at < p->n_groups && p->groups[at]->number < number)
        at++;
    memmove(&p->groups[at + 1], &p->groups[at], (p->n_groups - at) * sizeof(*v));
    p->groups[at] = g;
    p->n_groups++;
    if (ret)
        *ret = g;
    TAKE_PTR(g);
    params_refresh_descriptors(p);
    return 0;
}

struct iop_params_group *iop_params_find_group(const struct iop_params *p, uint16_t number) {
    assert(p);
    /* Sorted: a binary search keeps a 256-group device cheap per operation. */
    unsigned lo = 0, hi = p->n_groups;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        uint16_t n = p->groups[mid]->number;
        if (n == number)
            return p->groups[mid];
        if (n < number)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

struct iop_params_group *iop_params_find_group_by_name(const struct iop_params *p,
                                                       const char *name) {
    assert(p);
    if (!name)
        return NULL;
    for (unsigned i = 0; i < p->n_groups; i++)
        if (strcmp(p->groups[i]->name, name) == 0)
            return p->groups[i];
    return NULL;
}

unsigned iop_params_group_count(const struct iop_params *p) {
    assert(p);
    return p->n_groups;
}

struct iop_params_group *iop_params_group_at(const struct iop_params *p, unsigned i) {
    assert(p);
    return i < p->n_groups ? p->groups[i] : NULL;
}

int iop_params_add_field(struct iop_params_group *g, const char *name, enum iop_params_type type,
                         size_t size, unsigned flags) {
    assert(g);
    const unsigned all = IOP_PARAMS_FIELD_RW | IOP_PARAMS_FIELD_KEY | IOP_PARAMS_FIELD_NOREAD;
    if (!name_ok(name) || (flags & ~all) || g->descriptors)
        return -EINVAL;
    if (type > IOP_PARAMS_BYTES)
        return -EINVAL;
    size_t natural = iop_params_type_size(type);
    if (natural) {
        if (size && size != natural)
            return -EINVAL;
        size = natural;
    } else if (size == 0 || size > IOP_PARAMS_FIELD_SIZE_MAX)
        return -EINVAL;
    if (flags & IOP_PARAMS_FIELD_KEY) {
        /* A key identifies rows: it must be readable and there is only one. */
        if (g->kind != IOP_PARAMS_TABLE || g->key >= 0 || (flags & IOP_PARAMS_FIELD_NOREAD))
            return -EINVAL;
    }
    if (iop_params_find_field(g, name) >= 0)
        return -EEXIST;
    if (g->n_fields >= IOP_PARAMS_FIELDS_MAX || g->row_size + size > IOP_PARAMS_ROW_SIZE_MAX)
        return -ENOSPC;
    if (g->kind == IOP_PARAMS_TABLE && g->n_rows > 0)
        return -EBUSY;

    struct params_field *fv = realloc(g->fields, (g->n_fields + 1) * sizeof(*fv));
    if (!fv)
        return -ENOMEM;
    g->fields = fv;
    if (g->kind == IOP_PARAMS_SCALAR) {
        uint8_t *row = realloc(g->rows, g->row_size + size);
        if (!row)
            return -ENOMEM;
        memset(row + g->row_size, 0, size);
        g->rows = row;
        g->cap_rows = 1;
    }
    struct params_field *f = &g->fields[g->n_fields];
    *f = (struct params_field){ .type = type, .size = (uint16_t)size,
                                .offset = (uint16_t)g->row_size, .flags = flags };
    strcpy(f->name, name);
    if (flags & IOP_PARAMS_FIELD_KEY)
        g->key = (int)g->n_fields;
    g->row_size += size;
    params_refresh_descriptors(g->owner);
    return (int)g->n_fields++;
}

int iop_params_field_set_range(struct iop_params_group *g, unsigned idx, uint64_t min,
                               uint64_t max) {
    assert(g);
    if (idx >= g->n_fields || !params_is_int(g->fields[idx].type) || min > max)
        return -EINVAL;
    g->fields[idx].has_range = true;
    g->fields[idx].min = min;
    g->fields[idx].max = max;
    return 0;
}

int iop_params_set_max_rows(struct iop_params_group *g, unsigned max_rows) {
    assert(g);
    if (g->kind != IOP_PARAMS_TABLE || g->descriptors || max_rows > IOP_PARAMS_ROWS_MAX)
        return -EINVAL;
    if (max_rows < g->n_rows)
        return -EBUSY;
    g->max_rows = max_rows;
    return 0;
}

uint16_t iop_params_group_number(const struct iop_params_group *g) {
    assert(g);
    return g->number;
}

const char *iop_params_group_name(const struct iop_params_group *g) {
    assert(g);
    return g->name;
}

enum iop_params_kind iop_params_group_kind(const struct iop_params_group *g) {
    assert(g);
    return g->kind;
}

unsigned iop_params_group_flags(const struct iop_params_group *g) {
    assert(g);
    return g->flags;
}

unsigned iop_params_group_field_count(const struct iop_params_group *g) {
    assert(g);
    return g->n_fields;
}

size_t iop_params_group_row_size(const struct iop_params_group *g) {
    assert(g);
    return g->row_size;
}

unsigned iop_params_group_row_count(const struct iop_params_group *g) {
    assert(g);
    return g->n_rows;
}

int iop_params_group_key_field(const struct iop_params_group *g) {
    assert(g);
    return g->key >= 0 ? g->key : -ENOENT;
}

int iop_params_find_field(const struct iop_params_group *g, const char *name) {
    assert(g);
    if (!name)
        return -ENOENT;
    for (unsigned i = 0; i < g->n_fields; i++)
        if (strcmp(g->fields[i].name, name) == 0)
            return (int)i;
    return -ENOENT;
}

int iop_params_field_info(const struct iop_params_group *g, unsigned idx,
                          struct iop_params_field_info *ret) {
    assert(g && ret);
    if (idx >= g->n_fields)
        return -ENOENT;
    const struct params_field *f = &g->fields[idx];
    *ret = (struct iop_params_field_info){ .name = f->name, .type = f->type, .size = f->size,
                                          .offset = f->offset, .flags = f->flags };
    return 0;
}

const uint8_t *iop_params_row(const struct iop_params_group *g, unsigned i) {
    assert(g);
    if (i >= g->n_rows || g->row_size == 0)
        return NULL;
    return params_row(g, i);
}

/* ---- rows ---- */

int params_find_row(const struct iop_params_group *g, const uint8_t *key) {
    if (g->key < 0)
        return -1;
    const struct params_field *k = &g->fields[g->key];
    for (unsigned i = 0; i < g->n_rows; i++)
        if (memcmp(params_value(g, i, k), key, k->size) == 0)
            return (int)i;
    return -1;
}

bool params_value_in_range(const struct params_field *f, const uint8_t *v) {
    if (!f->has_range)
        return true;
    uint64_t x;
    switch (f->type) {
    case IOP_PARAMS_U8: x = v[0]; break;
    case IOP_PARAMS_U16: x = iop_get_le16(v); break;
    case IOP_PARAMS_U32: x = iop_get_le32(v); break;
    case IOP_PARAMS_U64: x = iop_get_le64(v); break;
    default: return true;
    }
    return x >= f->min && x <= f->max;
}

int params_reserve_rows(struct iop_params_group *g, unsigned n) {
    if (g->kind != IOP_PARAMS_TABLE)
        return -EINVAL;
    if (n > g->max_rows - g->n_rows)
        return -ENOSPC;
    unsigned want = g->n_rows + n;
    if (want <= g->cap_rows)
        return 0;
    /* Grow geometrically so a table filled row by row costs O(n) copies in all. */
    unsigned cap = IOP_MAX(want, IOP_MIN(g->max_rows, IOP_MAX(4u, g->cap_rows * 2)));
    size_t bytes = (size_t)cap * IOP_MAX(g->row_size, (size_t)1);
    uint8_t *rows = realloc(g->rows, bytes);
    if (!rows)
        return -ENOMEM;
    g->rows = rows;
    g->cap_rows = cap;
    return 0;
}

uint8_t *params_append_row(struct iop_params_group *g) {
    assert(g->n_rows < g->cap_rows);
    uint8_t *row = params_row(g, g->n_rows++);
    memset(row, 0, g->row_size);
    return row;
}

void params_delete_row(struct iop_params_group *g, unsigned i) {
    assert(i < g->n_rows);
    memmove(params_row(g, i), params_row(g, i + 1), (size_t)(g->n_rows - i - 1) * g->row_size);
    g->n_rows--;
}

/* The table and key of a daemon-side row access; -EINVAL when key does not fit. */
static int check_key(const struct iop_params_group *g, const void *key, size_t key_len) {
    if (g->kind != IOP_PARAMS_TABLE || g->key < 0 || !key ||
        key_len != g->fields[g->key].size)
        return -EINVAL;
    return 0;
}

int iop_params_row_add(struct iop_params_group *g, const void *key, size_t key_len) {
    assert(g);
    if (g->kind != IOP_PARAMS_TABLE || g->descriptors)
        return -EINVAL;
    if (g->key < 0) {
        if (key || key_len)
            return -EINVAL;
    } else {
        if (check_key(g, key, key_len) < 0)
            return -EINVAL;
        if (params_find_row(g, key) >= 0)
            return -EEXIST;
    }
    int r = params_reserve_rows(g, 1);
    if (r < 0)
        return r;
    uint8_t *row = params_append_row(g);
    if (g->key >= 0)
        memcpy(row + g->fields[g->key].offset, key, key_len);
    params_refresh_descriptors(g->owner);
    return (int)g->n_rows - 1;
}

int iop_params_row_add_packed(struct iop_params_group *g, const void *row, size_t len) {
    assert(g);
    if (g->kind != IOP_PARAMS_TABLE || g->descriptors || !row || len != g->row_size)
        return -EINVAL;
    if (g->key >= 0 && params_find_row(g, (const uint8_t *)row + g->fields[g->key].offset) >= 0)
        return -EEXIST;
    for (unsigned i = 0; i < g->n_fields; i++)
        if (!params_value_in_range(&g->fields[i], (const uint8_t *)row + g->fields[i].offset))
            return -ERANGE;
    int r = params_reserve_rows(g, 1);
    if (r < 0)
        return r;
    memcpy(params_append_row(g), row, len);
    params_refresh_descriptors(g->owner);
    return (int)g->n_rows - 1;
}

int iop_params_row_find(const struct iop_params_group *g, const void *key, size_t key_len) {
    assert(g);
    int r = check_key(g, key, key_len);
    if (r < 0)
        return r;
    int i = params_find_row(g, key);
    return i >= 0 ? i : -ENOENT;
}

int iop_params_row_delete(struct iop_params_group *g, const void *key, size_t key_len) {
    assert(g);
    if (g->descriptors)
        return -EINVAL;
    int i = iop_params_row_find(g, key, key_len);
    if (i < 0)
        return i;
    params_delete_row(g, (unsigned)i);
    params_refresh_descriptors(g->owner);
    return 0;
}

void iop_params_table_clear(struct iop_params_group *g) {
    assert(g);
    if (g->kind != IOP_PARAMS_TABLE || g->descriptors)
        return;
    g->n_rows = 0;
    params_refresh_descriptors(g->owner);
}

void params_refresh_descriptors(struct iop_params *p) {
    struct iop_params_group *d = iop_params_find_group(p, 0xF000);
    if (!d || !d->descriptors)
        return;
    assert(d->cap_rows >= IOP_PARAMS_GROUPS_MAX && d->row_size == DESC_ROW_SIZE);
    d->n_rows = p->n_groups;
    for (unsigned i = 0; i < p->n_groups; i++) {
        const struct iop_params_group *g = p->groups[i];
        uint8_t *row = params_row(d, i);
        iop_put_le16(row, g->number);
        iop_put_le16(row + 2, (uint16_t)g->n_fields);
        iop_put_le16(row + 4, (uint16_t)g->n_rows);
        row[6] = (uint8_t)((g->kind == IOP_PARAMS_TABLE ? DESC_PROP_TABLE : 0) | g->flags);
        row[7] = 0;
    }
}

/* ---- values by name ---- */

/* Locate group/field/row for a by-name access. */
static int locate(const struct iop_params *p, uint16_t group, const char *field, const void *key,
                  size_t key_len, struct iop_params_group **ret_g, const struct params_field **ret_f,
                  unsigned *ret_row) {
    assert(p);
    struct iop_params_group *g = iop_params_find_group(p, group);
    if (!g)
        return -ENOENT;
    int fi = iop_params_find_field(g, field);
    if (fi < 0)
        return -ENOENT;
    unsigned row = 0;
    if (g->kind == IOP_PARAMS_SCALAR) {
        if (key || key_len)
            return -EINVAL;
    } else if (g->key < 0) {
        /* Keyless tables: the row index, as the by-name helpers document. */
        if (!key || key_len != 2)
            return -EINVAL;
        row = iop_get_le16(key);
        if (row >= g->n_rows)
            return -ENOENT;
    } else {
        int r = iop_params_row_find(g, key, key_len);
        if (r < 0)
            return r;
        row = (unsigned)r;
    }
    *ret_g = g;
    *ret_f = &g->fields[fi];
    *ret_row = row;
    return 0;
}

int iop_params_get(const struct iop_params *p, uint16_t group, const char *field,
                   const void *key, size_t key_len, void *buf, size_t cap) {
    struct iop_params_group *g;
    const struct params_field *f;
    unsigned row;
    int r = locate(p, group, field, key, key_len, &g, &f, &row);
    if (r < 0)
        return r;
    if (!buf || cap < f->size)
        return -ENOBUFS;
    memcpy(buf, params_value(g, row, f), f->size);
    return f->size;
}

int iop_params_set(struct iop_params *p, uint16_t group, const char *field, const void *key,
                   size_t key_len, const void *val, size_t len) {
    struct iop_params_group *g;
    const struct params_field *f;
    unsigned row;
    int r = locate(p, group, field, key, key_len, &g, &f, &row);
    if (r < 0)
        return r;
    if (g->descriptors)
        return -EINVAL;
    if (!val || len > f->size || (params_is_int(f->type) && len != f->size))
        return -EINVAL;
    uint8_t v[IOP_PARAMS_FIELD_SIZE_MAX];
    memset(v, 0, f->size);
    memcpy(v, val, len);
    if (!params_value_in_range(f, v))
        return -ERANGE;
    if (g->key >= 0 && f == &g->fields[g->key]) {
        int other = params_find_row(g, v);
        if (other >= 0 && (unsigned)other != row)
            return -EEXIST;
    }
    memcpy(params_value(g, row, f), v, f->size);
    return 0;
}

int iop_params_get_uint(const struct iop_params *p, uint16_t group, const char *field,
                        const void *key, size_t key_len, uint64_t *ret) {
    struct iop_params_group *g;
    const struct params_field *f;
    unsigned row;
    assert(ret);
    int r = locate(p, group, field, key, key_len, &g, &f, &row);
    if (r < 0)
        return r;
    const uint8_t *v = params_value(g, row, f);
    switch (f->type) {
    case IOP_PARAMS_U8: *ret = v[0]; return 0;
    case IOP_PARAMS_U16: *ret = iop_get_le16(v); return 0;
    case IOP_PARAMS_U32: *ret = iop_get_le32(v); return 0;
    case IOP_PARAMS_U64: *ret = iop_get_le64(v); return 0;
    default: return -EINVAL;
    }
}

int iop_params_set_uint(struct iop_params *p, uint16_t group, const char *field,
                        const void *key, size_t key_len, uint64_t v) {
    struct iop_params_group *g;
    const struct params_field *f;
    unsigned row;
    int r = locate(p, group, field, key, key_len, &g, &f, &row);
    if (r < 0)
        return r;
    if (!params_is_int(f->type))
        return -EINVAL;
    if (f->size < 8 && v >> (8 * f->size))
        return -ERANGE;
    uint8_t buf[8];
    iop_put_le64(buf, v);
    return iop_params_set(p, group, field, key, key_len, buf, f->size);
}

int iop_params_get_string(const struct iop_params *p, uint16_t group, const char *field,
                          const void *key, size_t key_len, char *buf, size_t cap) {
    struct iop_params_group *g;
    const struct params_field *f;
    unsigned row;
    int r = locate(p, group, field, key, key_len, &g, &f, &row);
    if (r < 0)
        return r;
    if (f->type != IOP_PARAMS_STRING)
        return -EINVAL;
    const char *s = (const char *)params_value(g, row, f);
    size_t n = strnlen(s, f->size);
    if (!buf || cap <= n)
        return -ENOBUFS;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return (int)n;
}

int iop_params_set_string(struct iop_params *p, uint16_t group, const char *field,
                          const void *key, size_t key_len, const char *s) {
    struct iop_params_group *g;
    const struct params_field *f;
    unsigned row;
    int r = locate(p, group, field, key, key_len, &g, &f, &row);
    if (r < 0)
        return r;
    if (f->type != IOP_PARAMS_STRING || !s)
        return -EINVAL;
    size_t n = strnlen(s, (size_t)f->size + 1);
    if (n > f->size)
        return -E2BIG;
    return iop_params_set(p, group, field, key, key_len, s, n);
}
