#include "lib/params/params-oplist-fuzz.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/i2o-dev.h>

#include "lib/params/params-fuzz.h"
#include "lib/params/params-oplist.h"
#include "lib/params/params.h"
#include "lib/util/cleanup.h"
#include "lib/util/fuzz.h"
#include "lib/util/log.h"

IOP_DEFINE_CLEANUP(struct iop_params, iop_params_free)

static int fail(const char *what, size_t pos) {
    return IOP_FUZZ_FAIL("params-oplist: %s (operation at byte %zu)", what, pos);
}

/* [p, p + n) inside [list, list + len). */
static bool inside(const uint8_t *list, size_t len, const uint8_t *p, uint64_t n) {
    return p >= list && (size_t)(p - list) <= len && n <= len - (size_t)(p - list);
}

/* The bytes an operation's counted tail covers, when the parser could size them. */
static uint64_t tail_bytes(const struct op *op) {
    uint64_t key = op->g && op->g->kind == IOP_PARAMS_TABLE && op->g->key >= 0 ? op->g->fields[op->g->key].size : 0;
    switch (op->code) {
    case I2O_PARAMS_ROW_DELETE:
    case I2O_PARAMS_LIST_GET:
        return (uint64_t)op->count * key;
    case I2O_PARAMS_LIST_SET:
        return (uint64_t)op->count * (key + op->sel_size);
    case I2O_PARAMS_ROW_ADD:
        return (uint64_t)op->count * op->sel_size;
    case I2O_PARAMS_MORE_GET:
        return key;
    case I2O_PARAMS_FIELD_SET:
        return op->sel_size;
    default:
        return 0;
    }
}

int iop_params_oplist_fuzz_one(const uint8_t *data, size_t len) {
    _cleanup_(iop_params_freep) struct iop_params *p = NULL;
    if (iop_params_fuzz_model(&p) < 0)
        return 0; /* out of memory: nothing to check */
    if (len < LIST_HDR)
        return 0;
    size_t pos = LIST_HDR;
    for (size_t n = 0;; n++) {
        if (n > len / 4)
            return fail("more operations than the list has words", pos);
        if (pos >= len)
            return 0;
        struct op op;
        size_t at = pos;
        int r = params_parse_op(p, data, len, &at, &op);
        if (r == -EBADMSG) {
            if (at != pos)
                return fail("-EBADMSG moved the position", pos);
            return 0;
        }
        if (r != 0)
            return fail("result neither 0 nor -EBADMSG", pos);
        if (op.idx && !inside(data, len, op.idx, op.all ? 0 : 2 * (uint64_t)op.field_count))
            return fail("field indexes outside the list", pos);
        if (op.stop_status) {
            if (at != pos)
                return fail("a stopped operation moved the position", pos);
            if (op.tail && !inside(data, len, op.tail, 0))
                return fail("tail of a stopped operation outside the list", pos);
            return 0;
        }
        if (at <= pos || at % 4 != 0)
            return fail("the position did not move forward to a 4-byte boundary", pos);
        if (at - 3 > len)
            return fail("the operation ends past the list", pos);
        if (op.tail && !inside(data, len, op.tail, tail_bytes(&op)))
            return fail("keys or values outside the list", pos);
        pos = at;
    }
}
