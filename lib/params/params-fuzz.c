#include "lib/params/params-fuzz.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/params/params-exec.h"
#include "lib/params/params-std.h"
#include "lib/params/params-store.h"
#include "lib/params/params.h"
#include "lib/util/bytes.h"
#include "lib/util/cleanup.h"
#include "lib/util/fuzz.h"
#include "lib/util/log.h"

IOP_DEFINE_CLEANUP(struct iop_params, iop_params_free)

/* Guard bytes after the result capacity; any change there is an overrun. */
#define GUARD 64u
#define GUARD_BYTE 0xA5u
#define FUZZ_TABLE_ROWS 16u

static const size_t caps[8] = { 4, 8, 12, 16, 30, 64, 256, IOP_PARAMS_RESULT_MAX + 100 };

int iop_params_fuzz_model(struct iop_params **ret) {
    _cleanup_(iop_params_freep) struct iop_params *p = NULL;
    struct iop_params_group *g;
    IOP_TRY(iop_params_new(&p));
    static const uint8_t serial[] = { 'F', 'Z', '0', '1' };
    const struct iop_params_identity id = {
        .class_id = 0x010, .owner_tid = 0xFFF, .parent_tid = 0, .vendor = "iopd",
        .product = "fuzz", .description = "fuzz device", .revision = "1.0",
        .sn_format = 2, .serial = serial, .serial_len = sizeof(serial), .ddm_tid = 8,
        .module_name = "fuzz ddm", .module_rev = "1", .device_name = "fz0",
    };
    IOP_TRY(iop_params_add_device_groups(p, &id));
    IOP_TRY(iop_params_add_exec_groups(p, &(struct iop_params_exec_info){ .vendor_id = 0x1234 }));

    IOP_TRY(iop_params_add_group(p, IOP_PARAMS_FUZZ_SCALAR, "Fuzz Scalar", IOP_PARAMS_SCALAR, 0, &g));
    IOP_TRY(iop_params_add_field(g, "Mode", IOP_PARAMS_U8, 0, IOP_PARAMS_FIELD_RW));
    IOP_TRY(iop_params_field_set_range(g, 0, 0, 9));
    IOP_TRY(iop_params_add_field(g, "Count", IOP_PARAMS_U16, 0, IOP_PARAMS_FIELD_RW));
    IOP_TRY(iop_params_add_field(g, "Limit", IOP_PARAMS_U32, 0, IOP_PARAMS_FIELD_RW));
    IOP_TRY(iop_params_add_field(g, "Serial", IOP_PARAMS_U64, 0, 0));
    IOP_TRY(iop_params_add_field(g, "Label", IOP_PARAMS_STRING, 12, IOP_PARAMS_FIELD_RW));
    IOP_TRY(iop_params_add_field(g, "Secret", IOP_PARAMS_BYTES, 4,
                             IOP_PARAMS_FIELD_RW | IOP_PARAMS_FIELD_NOREAD));
    IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_FUZZ_SCALAR, "Serial", NULL, 0, 0x0102030405060708ull));

    const unsigned all = IOP_PARAMS_GROUP_ROW_ADD | IOP_PARAMS_GROUP_ROW_DELETE |
                         IOP_PARAMS_GROUP_CLEAR;
    IOP_TRY(iop_params_add_group(p, IOP_PARAMS_FUZZ_TABLE, "Fuzz Table", IOP_PARAMS_TABLE, all, &g));
    IOP_TRY(iop_params_add_field(g, "Id", IOP_PARAMS_U16, 0, IOP_PARAMS_FIELD_KEY | IOP_PARAMS_FIELD_RW));
    IOP_TRY(iop_params_add_field(g, "Level", IOP_PARAMS_U8, 0, IOP_PARAMS_FIELD_RW));
    IOP_TRY(iop_params_field_set_range(g, 1, 1, 5));
    IOP_TRY(iop_params_add_field(g, "Name", IOP_PARAMS_STRING, 8, IOP_PARAMS_FIELD_RW));
    IOP_TRY(iop_params_add_field(g, "Stamp", IOP_PARAMS_U32, 0, 0));
    IOP_TRY(iop_params_set_max_rows(g, FUZZ_TABLE_ROWS));
    for (uint16_t id16 = 1; id16 <= 3; id16++) {
        uint8_t key[2];
        iop_put_le16(key, id16);
        IOP_TRY(iop_params_row_add(g, key, 2));
        IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_FUZZ_TABLE, "Level", key, 2, 1));
        IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_FUZZ_TABLE, "Stamp", key, 2, 1000u + id16));
    }

    IOP_TRY(iop_params_add_group(p, IOP_PARAMS_FUZZ_KEYLESS, "Fuzz Keyless", IOP_PARAMS_TABLE, all, &g));
    IOP_TRY(iop_params_add_field(g, "Value", IOP_PARAMS_U32, 0, IOP_PARAMS_FIELD_RW));
    IOP_TRY(iop_params_row_add(g, NULL, 0));
    IOP_TRY(iop_params_row_add(g, NULL, 0));
    *ret = TAKE_PTR(p);
    return 0;
}

static int fail(const char *what) {
    return IOP_FUZZ_FAIL("params: %s", what);
}

/* Save p; the caller frees *blob. */
static int snapshot(const struct iop_params *p, uint8_t **blob, size_t *len) {
    int r = iop_params_save(p, blob, len);
    return r < 0 ? r : 0;
}

static bool same(const uint8_t *a, size_t na, const uint8_t *b, size_t nb) {
    return na == nb && memcmp(a, b, na) == 0;
}

/* Walk the ResultList written by exec and check its structure. */
static int check_result(const uint8_t *res, int len, unsigned op_count) {
    uint8_t single;
    if (iop_params_result_len(res, (size_t)len, &single) != len)
        return fail("result_len disagrees with exec's length");
    unsigned count = iop_get_le16(res);
    if (count > op_count)
        return fail("ResultCount > OperationCount");
    size_t at = 4;
    for (unsigned i = 0; i < count; i++) {
        unsigned size = iop_get_le16(res + at);
        if (res[at + 3] >= size)
            return fail("ErrorInfoSize does not fit BlockSize");
        at += (size_t)size * 4;
    }
    if (at != (size_t)len)
        return fail("blocks do not add up to the length");
    return 0;
}

int iop_params_fuzz_one(const uint8_t *data, size_t len) {
    if (!data || len == 0)
        return 0;
    _cleanup_(iop_params_freep) struct iop_params *p = NULL;
    if (iop_params_fuzz_model(&p) < 0)
        return fail("cannot build the model");

    enum iop_params_msg msg = (data[0] & 1) ? IOP_PARAMS_MSG_SET : IOP_PARAMS_MSG_GET;
    size_t cap = caps[(data[0] >> 1) & 7];
    size_t oplen = len - 1;
    /* An exactly-sized copy, so AddressSanitizer sees any read past the list. */
    _cleanup_free_ uint8_t *list = malloc(IOP_MAX(oplen, (size_t)1));
    if (!list)
        return -ENOMEM;
    memcpy(list, data + 1, oplen);

    _cleanup_free_ uint8_t *before = NULL, *after = NULL;
    size_t nbefore, nafter;
    if (snapshot(p, &before, &nbefore) < 0)
        return fail("save failed");

    size_t alloc = cap + GUARD;
    _cleanup_free_ uint8_t *res = malloc(alloc);
    if (!res)
        return -ENOMEM;
    memset(res, GUARD_BYTE, alloc);
    int r = iop_params_exec(p, msg, list, oplen, res, cap, NULL, NULL);

    size_t untouched_from = r > 0 ? (size_t)r : 0;
    if (r >= 0 && (r < 4 || (size_t)r > IOP_MIN(cap, (size_t)IOP_PARAMS_RESULT_MAX)))
        return fail("result length out of bounds");
    if (r < 0 && r != -EBADMSG && r != -E2BIG)
        return fail("unexpected error code");
    for (size_t i = untouched_from; i < alloc; i++)
        if (res[i] != GUARD_BYTE)
            return fail("byte written past the result length");
    if (r > 0) {
        int k = check_result(res, r, oplen >= 2 ? iop_get_le16(list) : 0);
        if (k < 0)
            return k;
    }

    if (snapshot(p, &after, &nafter) < 0)
        return fail("save failed");
    if ((r < 0 || msg == IOP_PARAMS_MSG_GET) && !same(before, nbefore, after, nafter))
        return fail("state changed by a failed list or a Get message");

    /* Round trip of whatever the list left behind. */
    _cleanup_(iop_params_freep) struct iop_params *q = NULL;
    _cleanup_free_ uint8_t *again = NULL;
    size_t nagain;
    if (iop_params_fuzz_model(&q) < 0)
        return fail("cannot build the model");
    if (iop_params_load(q, after, nafter) < 0)
        return fail("own blob refused");
    if (snapshot(q, &again, &nagain) < 0 || !same(after, nafter, again, nagain))
        return fail("save/load round trip differs");

    /* The input as a blob: must be refused or applied, never crash. */
    (void)iop_params_load(q, list, oplen);
    return 0;
}
