/* lib/params private: the parsed form of an OperationList operation and its parser
 * (params-oplist.c), shared with the engine that runs it (params-exec.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/params/params-internal.h"
#include "lib/util/bytes.h"

#define LIST_HDR 4u   /* ResultCount, Reserved / OperationCount, Reserved */

/* n rounded up to a 4-byte boundary: operations and result blocks start on one. */
static inline size_t params_pad4(size_t n) {
    return (n + 3) & ~(size_t)3;
}

/* One operation of the list, parsed; pointers point into the list. */
struct op {
    uint16_t code, group;
    struct iop_params_group *g; /* NULL: no such group */
    bool all;                   /* FieldCount 0xFFFF */
    uint16_t field_count;       /* as sent (FIELD_GET..ROW_ADD) */
    const uint8_t *idx;         /* FieldIdx[field_count] */
    size_t sel_size;            /* bytes of one row of the selected fields (if g known) */
    uint16_t count;             /* KeyCount / RowCount */
    const uint8_t *tail;        /* keys or values */
    /* Nonzero: the length of the operation is unknown; report and end the list. */
    uint8_t stop_status;
    uint16_t stop_field;
};

static inline unsigned params_sel_count(const struct op *op) {
    return op->all ? op->g->n_fields : op->field_count;
}

/* Field index of the i-th selected field (may be out of range when sent so). */
static inline unsigned params_sel_field(const struct op *op, unsigned i) {
    return op->all ? i : iop_get_le16(op->idx + 2 * (size_t)i);
}

/* Parse the operation at *pos.  0: parsed (*pos moves to the next operation, which
 * starts on a 4-byte boundary); 0 with op->stop_status: its length is unknown;
 * -EBADMSG: the list ends inside it. */
int params_parse_op(const struct iop_params *p, const uint8_t *list, size_t len, size_t *pos,
                    struct op *op);
