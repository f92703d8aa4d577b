/* The I2O parameter-group model of one device (one TID).
 *
 * I2O 1.5 describes everything a device exposes to UtilParamsGet/UtilParamsSet as
 * numbered parameter groups.  A group is either a *scalar* group (one row of fields) or
 * a *table* group (any number of rows of the same fields, told apart by a key field).
 * Fields are addressed by their index: their position in the group, 0-based, in
 * declaration order.  Values are kept exactly as the wire carries them: fixed-size,
 * little-endian integers and fixed-size byte/character arrays, packed without padding
 * (Linux i2o_proc.c reads group 0x0000 with ProcessorType at byte 16, right after four
 * u32/u16 pairs, and 0xF100's SNFormat at byte 64 -- the fields are contiguous).
 *
 * The daemon declares groups with the builder below (from its JSON configuration, from
 * USB descriptors, params-std.h for the groups every device has); other modules read
 * and write values by field name.  UtilParamsGet/Set operation lists are executed
 * against the model by params-exec.h, and params-store.h keeps writable values across
 * restarts.
 *
 * Strings (IOP_PARAMS_STRING) are NUL-padded to the field size and are NOT
 * NUL-terminated when they fill it, as in the I2O identity groups.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iop_params;
struct iop_params_group;

enum iop_params_kind {
    IOP_PARAMS_SCALAR,
    IOP_PARAMS_TABLE,
};

enum iop_params_type {
    IOP_PARAMS_U8,
    IOP_PARAMS_U16,
    IOP_PARAMS_U32,
    IOP_PARAMS_U64,
    IOP_PARAMS_STRING, /* fixed-size, NUL-padded characters */
    IOP_PARAMS_BYTES,  /* fixed-size opaque bytes */
};

/* Field flags. */
#define IOP_PARAMS_FIELD_RW 0x1u     /* writable by FIELD_SET/LIST_SET (else read-only) */
#define IOP_PARAMS_FIELD_KEY 0x2u    /* the key field of a table group; at most one */
#define IOP_PARAMS_FIELD_NOREAD 0x4u /* write-only: an explicit get is FIELD_UNREADABLE */

/* Group flags: what UtilParamsSet may do to the rows of a table group.  The values are
 * the Properties bits of group 0xF000 (i2omsg.h I2O_UTIL_GROUP_PROPERTIES_*); bit 0
 * there is "table", which the kind already says.  Tables without them are
 * NON_DYNAMIC_GROUP for ROW_ADD/ROW_DELETE/TABLE_CLEAR; the daemon itself can always
 * change rows through the functions below. */
#define IOP_PARAMS_GROUP_ROW_ADD 0x2u
#define IOP_PARAMS_GROUP_ROW_DELETE 0x4u
#define IOP_PARAMS_GROUP_CLEAR 0x8u

/* Limits.  Every one bounds memory or work that a configuration or an operation list
 * can ask for. */
/* Group numbers are u16; i2o_proc.c sizes its 0xF000 read for 256 descriptor rows, so no
 * real device had more groups than that. */
#define IOP_PARAMS_GROUPS_MAX 256u
/* The largest standard group (0x0001 Executive Message Interface) has 17 fields. */
#define IOP_PARAMS_FIELDS_MAX 128u
/* Rows per table.  1024 rows of the smallest row (2 bytes) is far below the 64 KiB
 * result buffer, so a whole table can still be read with MORE_GET continuation. */
#define IOP_PARAMS_ROWS_MAX 1024u
/* The largest standard field is SerialNumber[256] (I2O_MAX_SERIAL_NUMBER_SZ). */
#define IOP_PARAMS_FIELD_SIZE_MAX 1024u
/* A row must fit one result block with room to spare: 64 KiB result list minus headers. */
#define IOP_PARAMS_ROW_SIZE_MAX 4096u
/* Group and field names (for the config pages and persistence), without the NUL. */
#define IOP_PARAMS_NAME_MAX 47u
/* The longest key: keys are fields, so FIELD_SIZE_MAX; real keys are u16/u32. */
#define IOP_PARAMS_KEY_MAX IOP_PARAMS_FIELD_SIZE_MAX

int iop_params_new(struct iop_params **ret);
struct iop_params *iop_params_free(struct iop_params *p);

/* Declare group `number`.  -EEXIST if it exists, -EINVAL for a bad name/kind/flags (row
 * flags on a scalar group), -ENOSPC past IOP_PARAMS_GROUPS_MAX.  *ret (optional) is
 * borrowed, valid until p is freed. */
int iop_params_add_group(struct iop_params *p, uint16_t number, const char *name,
                         enum iop_params_kind kind, unsigned flags,
                         struct iop_params_group **ret);
struct iop_params_group *iop_params_find_group(const struct iop_params *p, uint16_t number);
struct iop_params_group *iop_params_find_group_by_name(const struct iop_params *p,
                                                       const char *name);
unsigned iop_params_group_count(const struct iop_params *p);
/* The i-th group in ascending group-number order, or NULL. */
struct iop_params_group *iop_params_group_at(const struct iop_params *p, unsigned i);

/* Append a field; returns its index (>= 0).  size: 0 or the natural size for integers,
 * 1..IOP_PARAMS_FIELD_SIZE_MAX for strings and bytes.  Errors: -EINVAL (bad name, type,
 * size or flags; a key on a scalar group; a second key; KEY|NOREAD), -EEXIST (name
 * taken), -ENOSPC (field or row-size limit), -EBUSY (table already has rows), -ENOMEM.
 * New fields of a scalar group start as zero. */
int iop_params_add_field(struct iop_params_group *g, const char *name, enum iop_params_type type,
                         size_t size, unsigned flags);
/* Allowed values of an integer field, inclusive.  Writes outside it are refused
 * (SCALAR_ERROR on the wire, -ERANGE here).  -EINVAL for non-integer fields or min > max. */
int iop_params_field_set_range(struct iop_params_group *g, unsigned idx, uint64_t min,
                               uint64_t max);
/* Lower the row limit of a table (default and ceiling IOP_PARAMS_ROWS_MAX).  ROW_ADD past
 * it is TABLE_ERROR.  -EINVAL on a scalar group or above the ceiling, -EBUSY below the
 * current row count. */
int iop_params_set_max_rows(struct iop_params_group *g, unsigned max_rows);

struct iop_params_field_info {
    const char *name; /* borrowed */
    enum iop_params_type type;
    size_t size;
    size_t offset; /* in the packed row */
    unsigned flags;
};

uint16_t iop_params_group_number(const struct iop_params_group *g);
const char *iop_params_group_name(const struct iop_params_group *g);
enum iop_params_kind iop_params_group_kind(const struct iop_params_group *g);
unsigned iop_params_group_flags(const struct iop_params_group *g);
unsigned iop_params_group_field_count(const struct iop_params_group *g);
/* Bytes of one packed row (all fields). */
size_t iop_params_group_row_size(const struct iop_params_group *g);
/* Rows: 1 for a scalar group. */
unsigned iop_params_group_row_count(const struct iop_params_group *g);
/* Index of the key field, or -ENOENT (scalar group or keyless table). */
int iop_params_group_key_field(const struct iop_params_group *g);
/* Index of the field called name, or -ENOENT. */
int iop_params_find_field(const struct iop_params_group *g, const char *name);
int iop_params_field_info(const struct iop_params_group *g, unsigned idx,
                          struct iop_params_field_info *ret);
/* The packed row i (borrowed; valid until the next change of the group), or NULL. */
const uint8_t *iop_params_row(const struct iop_params_group *g, unsigned i);

/* Rows of a table group, for the daemon (group flags do not apply here).
 * iop_params_row_add: a zeroed row whose key field holds key (key_len == the key size);
 * on a keyless table key must be NULL/0.  Returns the row index; -EEXIST duplicate key,
 * -ENOSPC at the row limit, -EINVAL scalar group or key size mismatch, -ENOMEM. */
int iop_params_row_add(struct iop_params_group *g, const void *key, size_t key_len);
/* A whole packed row (len == row size); the key must be new.  Returns the row index.
 * Range limits are checked (-ERANGE). */
int iop_params_row_add_packed(struct iop_params_group *g, const void *row, size_t len);
/* Row index of key, or -ENOENT (-EINVAL on a scalar/keyless group or wrong key size). */
int iop_params_row_find(const struct iop_params_group *g, const void *key, size_t key_len);
int iop_params_row_delete(struct iop_params_group *g, const void *key, size_t key_len);
void iop_params_table_clear(struct iop_params_group *g);

/* Values by group number and field name.  key/key_len select the row of a table group
 * (NULL/0 for scalar groups; on a keyless table the key is the row index as a
 * little-endian u16).  These are the device's own accesses: read-only and write-only
 * flags do not apply, range limits and key uniqueness do.  Errors: -ENOENT (no such
 * group, field or row), -EINVAL (bad key size or value length), -ENOBUFS (buffer too
 * small), -ERANGE (outside the field's range or integer width), -EEXIST (a key field
 * set to a key another row has).
 *
 * iop_params_get copies the raw field and returns its size.  iop_params_set takes the
 * raw value; strings and bytes may be shorter than the field (zero-padded). */
int iop_params_get(const struct iop_params *p, uint16_t group, const char *field,
                   const void *key, size_t key_len, void *buf, size_t cap);
int iop_params_set(struct iop_params *p, uint16_t group, const char *field, const void *key,
                   size_t key_len, const void *val, size_t len);
int iop_params_get_uint(const struct iop_params *p, uint16_t group, const char *field,
                        const void *key, size_t key_len, uint64_t *ret);
int iop_params_set_uint(struct iop_params *p, uint16_t group, const char *field,
                        const void *key, size_t key_len, uint64_t v);
/* A NUL-terminated copy; returns its length.  -ENOBUFS when cap <= that length. */
int iop_params_get_string(const struct iop_params *p, uint16_t group, const char *field,
                          const void *key, size_t key_len, char *buf, size_t cap);
/* -E2BIG when strlen(s) exceeds the field size. */
int iop_params_set_string(struct iop_params *p, uint16_t group, const char *field,
                          const void *key, size_t key_len, const char *s);

/* The natural size of an integer type (0 for strings and bytes). */
size_t iop_params_type_size(enum iop_params_type type);
