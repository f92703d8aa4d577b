/* Persistence of parameter values across restarts.
 *
 * The daemon builds its groups afresh at every start (configuration, USB descriptors,
 * params-std.h) and then loads what the host changed last time.  What is saved:
 *  - writable fields (IOP_PARAMS_FIELD_RW) of scalar groups;
 *  - writable fields of the rows of static keyed tables, by row key;
 *  - tables the host may reshape (any of IOP_PARAMS_GROUP_ROW_ADD/ROW_DELETE/CLEAR):
 *    all their rows, whole; loading replaces the table's rows with them.
 * Not saved: read-only fields, group 0xF000 (derived), rows of static keyless tables.
 *
 * Fields are named by group number and field NAME, not index, so a later version may
 * reorder or add fields.  Loading skips what no longer fits the model: unknown groups or
 * fields, fields that became read-only, integer values of another size, strings and
 * byte arrays longer than the field (shorter ones are zero-padded, so a field may
 * grow), values outside the field's range, duplicate keys, rows past the row limit.
 *
 * Blob layout (little-endian):
 *   "IOPP", u16 version (1), u16 reserved, u32 record count,
 *   records: u8 type, u16 group, u8 key_len, key, u8 name_len, name, u16 val_len, value
 *     type 1 TABLE: the rows of the (dynamic) table `group` follow: clear it first
 *     type 2 ROW:   append a row with this key (key_len 0 on keyless tables)
 *     type 3 FIELD: set field `name`; key_len 0 = the scalar group, or the row of the
 *                   latest ROW record of the same table
 *   u32 CRC-32 (IEEE 802.3, as zlib's crc32) of all the bytes before it.
 * The caller writes the blob atomically (lib/state); the CRC catches bit rot and
 * foreign files, and a blob that fails any check is refused whole.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct iop_params;

/* Largest blob saved or loaded: real ones are a few KiB (user names, a few rows); the
 * cap keeps a corrupt or hostile length from costing memory. */
#define IOP_PARAMS_BLOB_MAX (16u << 20)

/* Serialise p into a new malloc'd blob (*ret, *ret_len; free() it).  -E2BIG past
 * IOP_PARAMS_BLOB_MAX, -ENOMEM. */
int iop_params_save(const struct iop_params *p, uint8_t **ret, size_t *ret_len);

/* Apply a blob made by iop_params_save.  Returns the number of values and rows applied
 * (>= 0).  -EBADMSG when the blob is malformed (bad magic, version, CRC, record bounds or
 * count) and -E2BIG past IOP_PARAMS_BLOB_MAX: then p is unchanged. */
int iop_params_load(struct iop_params *p, const void *blob, size_t len);
