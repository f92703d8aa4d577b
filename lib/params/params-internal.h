/* lib/params private: the model's structures, shared by the model, the UtilParams
 * engine and persistence.  Not for other modules: they use params.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/params/params.h"

struct params_field {
    char name[IOP_PARAMS_NAME_MAX + 1];
    enum iop_params_type type;
    uint16_t size;
    uint16_t offset; /* in the packed row */
    unsigned flags;
    bool has_range;
    uint64_t min, max;
};

struct iop_params_group {
    struct iop_params *owner; /* borrowed */
    uint16_t number;
    char name[IOP_PARAMS_NAME_MAX + 1];
    enum iop_params_kind kind;
    unsigned flags;
    struct params_field *fields; /* owned, n_fields */
    unsigned n_fields;
    int key;                     /* key field index, -1: none */
    size_t row_size;
    uint8_t *rows;               /* owned, n_rows * row_size bytes (cap_rows allocated) */
    unsigned n_rows;             /* always 1 for a scalar group */
    unsigned cap_rows;
    unsigned max_rows;
    /* Group 0xF000 (Group Descriptors) whose rows the model derives from the groups. */
    bool descriptors;
};

struct iop_params {
    struct iop_params_group **groups; /* owned, ascending number, n_groups */
    unsigned n_groups;
};

/* The bytes of row i / of field f in row i. */
static inline uint8_t *params_row(const struct iop_params_group *g, unsigned i) {
    return g->rows + (size_t)i * g->row_size;
}

static inline uint8_t *params_value(const struct iop_params_group *g, unsigned row,
                                    const struct params_field *f) {
    return params_row(g, row) + f->offset;
}

static inline bool params_is_int(enum iop_params_type t) {
    return t == IOP_PARAMS_U8 || t == IOP_PARAMS_U16 || t == IOP_PARAMS_U32 || t == IOP_PARAMS_U64;
}

/* Row index of the row whose key field equals key (exactly key size bytes), or -1. */
int params_find_row(const struct iop_params_group *g, const uint8_t *key);
/* Is the little-endian value of f at v inside f's range? */
bool params_value_in_range(const struct params_field *f, const uint8_t *v);
/* Make room for n more rows (no change of n_rows).  -ENOSPC past max_rows, -ENOMEM. */
int params_reserve_rows(struct iop_params_group *g, unsigned n);
/* Append a zeroed row (room must have been reserved); returns it. */
uint8_t *params_append_row(struct iop_params_group *g);
void params_delete_row(struct iop_params_group *g, unsigned i);
/* Re-derive group 0xF000 if present (never allocates: its rows are preallocated). */
void params_refresh_descriptors(struct iop_params *p);

/* Groups declared by table (params-std.c, params-scsi.c). */
struct fdef {
    const char *name;
    enum iop_params_type type;
    uint16_t size; /* strings and bytes only */
    unsigned flags;
};

struct gdef {
    uint16_t number;
    const char *name;
    enum iop_params_kind kind;
    const struct fdef *fields;
    size_t n_fields;
};

#define RO 0u
#define RW IOP_PARAMS_FIELD_RW
#define KEY IOP_PARAMS_FIELD_KEY
#define GROUP(num, nm, kd, f) { num, nm, kd, f, IOP_ARRAY_SIZE(f) }

/* Add the groups defs[0..n) describe: -EEXIST (nothing added) if one exists. */
int params_add_std_groups(struct iop_params *p, const struct gdef *defs, size_t n);
