/* Parsing of the I2O UtilParamsGet/Set OperationList (params-exec.h): one operation at a time. */
#include "lib/params/params-oplist.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/i2o-dev.h>

#include "lib/params/params-exec.h"
#include "lib/params/params-internal.h"
#include "lib/util/bytes.h"

static void op_stop(struct op *op, uint8_t status, uint16_t field) {
    op->stop_status = status;
    op->stop_field = field;
}

/* The size of a key of op's group, or 0 with op stopped when it cannot be known. */
static size_t op_key_size(struct op *op) {
    if (!op->g)
        op_stop(op, IOP_PARAMS_STATUS_INVALID_GROUP_ID, IOP_PARAMS_NO_FIELD);
    else if (op->g->kind != IOP_PARAMS_TABLE)
        op_stop(op, IOP_PARAMS_STATUS_WRONG_GROUP_TYPE, IOP_PARAMS_NO_FIELD);
    else if (op->g->key < 0)
        op_stop(op, IOP_PARAMS_STATUS_NO_KEY_FIELD, IOP_PARAMS_NO_FIELD);
    else
        return op->g->fields[op->g->key].size;
    return 0;
}

/* Bytes of one row of the selected fields; false (op stopped) when unknown. */
static bool op_sel_size(struct op *op) {
    op->sel_size = 0;
    if (!op->all && op->field_count == 0)
        return true;
    if (!op->g) {
        op_stop(op, IOP_PARAMS_STATUS_INVALID_GROUP_ID, IOP_PARAMS_NO_FIELD);
        return false;
    }
    unsigned n = params_sel_count(op);
    for (unsigned i = 0; i < n; i++) {
        unsigned fi = params_sel_field(op, i);
        if (fi >= op->g->n_fields) {
            op_stop(op, IOP_PARAMS_STATUS_NO_SUCH_FIELD, (uint16_t)fi);
            return false;
        }
        op->sel_size += op->g->fields[fi].size;
    }
    return true;
}

/* The counted tail of ROW_DELETE, LIST_GET, LIST_SET and ROW_ADD: u16 count, then count
 * items of a key (key) and/or a row of the selected fields (sel).  Moves *at past it.
 * 0: parsed; 1: op stopped (the items' size is unknown); -EBADMSG: the list ends
 * inside it. */
static int parse_counted(const uint8_t *list, size_t len, size_t *at, struct op *op, bool key, bool sel) {
    if (*at > len || len - *at < 2)
        return -EBADMSG;
    op->count = iop_get_le16(list + *at);
    *at += 2;
    op->tail = list + *at;
    if (!op->count)
        return 0;
    size_t item = 0;
    if (key) {
        item += op_key_size(op);
        if (op->stop_status)
            return 1;
    }
    if (sel) {
        if (!op_sel_size(op))
            return 1;
        item += op->sel_size;
    }
    if ((uint64_t)op->count * item > len - *at)
        return -EBADMSG;
    *at += (size_t)op->count * item;
    return 0;
}

int params_parse_op(const struct iop_params *p, const uint8_t *list, size_t len, size_t *pos,
                    struct op *op) {
    size_t at = *pos;
    int r;
    *op = (struct op){ 0 };
    /* at may lie past len: the pad after the previous operation can run off a cut list. */
#define NEED(n)                                                                            \
    do {                                                                                   \
        if (at > len || (uint64_t)(n) > len - at)                                          \
            return -EBADMSG;                                                               \
    } while (0)
    NEED(4);
    op->code = iop_get_le16(list + at);
    op->group = iop_get_le16(list + at + 2);
    op->g = iop_params_find_group(p, op->group);
    at += 4;

    switch (op->code) {
    case I2O_PARAMS_TABLE_CLEAR:
        break;
    case I2O_PARAMS_ROW_DELETE:
        if ((r = parse_counted(list, len, &at, op, true, false)) != 0)
            return r < 0 ? r : 0;
        break;
    case I2O_PARAMS_FIELD_GET:
    case I2O_PARAMS_LIST_GET:
    case I2O_PARAMS_MORE_GET:
    case I2O_PARAMS_SIZE_GET:
    case I2O_PARAMS_TABLE_GET:
    case I2O_PARAMS_FIELD_SET:
    case I2O_PARAMS_LIST_SET:
    case I2O_PARAMS_ROW_ADD: {
        NEED(2);
        op->field_count = iop_get_le16(list + at);
        at += 2;
        op->all = op->field_count == IOP_PARAMS_ALL_FIELDS;
        if (!op->all) {
            NEED(2 * (size_t)op->field_count);
            op->idx = list + at;
            at += 2 * (size_t)op->field_count;
        }
        switch (op->code) {
        case I2O_PARAMS_LIST_GET:
            if ((r = parse_counted(list, len, &at, op, true, false)) != 0)
                return r < 0 ? r : 0;
            break;
        case I2O_PARAMS_MORE_GET: {
            op->tail = list + at;
            size_t ks = op_key_size(op);
            if (op->stop_status)
                return 0;
            NEED(ks);
            at += ks;
            break;
        }
        case I2O_PARAMS_FIELD_SET:
            op->tail = list + at;
            if (!op_sel_size(op))
                return 0;
            NEED(op->sel_size);
            at += op->sel_size;
            break;
        case I2O_PARAMS_LIST_SET:
            if ((r = parse_counted(list, len, &at, op, true, true)) != 0)
                return r < 0 ? r : 0;
            break;
        case I2O_PARAMS_ROW_ADD:
            if ((r = parse_counted(list, len, &at, op, false, true)) != 0)
                return r < 0 ? r : 0;
            break;
        default:
            break;
        }
        break;
    }
    default:
        op_stop(op, IOP_PARAMS_STATUS_INVALID_OPERATION, IOP_PARAMS_NO_FIELD);
        return 0;
    }
#undef NEED
    *pos = params_pad4(at);
    return 0;
}
