/* The UtilParamsGet/Set engine: every operation, each block status, malformed and
 * truncated lists, buffer limits, change reports.  The fixture is the fuzz model
 * (params-fuzz.h): standard groups plus 0x8000 scalar, 0x8001 keyed table, 0x8002
 * keyless table. */
#include <errno.h>
#include <stdlib.h>

#include "lib/params/params-exec.h"
#include "lib/params/params-fuzz.h"
#include "lib/params/params-std.h"
#include "lib/params/params-store.h"
#include "lib/params/params.h"
#include "params-test.h"
#include "testutil.h"

#define SC IOP_PARAMS_FUZZ_SCALAR
#define TB IOP_PARAMS_FUZZ_TABLE
#define KL IOP_PARAMS_FUZZ_KEYLESS
#define GET IOP_PARAMS_MSG_GET
#define SET IOP_PARAMS_MSG_SET
#define BIG (IOP_PARAMS_RESULT_MAX)

static uint8_t res[IOP_PARAMS_RESULT_MAX + 4096];
static struct rblock bl[64];

struct change_log {
    unsigned n;
    struct {
        int kind;
        uint16_t group, field;
        uint8_t key[8];
        size_t key_len;
        int has_key;
    } c[64];
};
static struct change_log chg;

static void on_change(void *u, const struct iop_params_change *c) {
    struct change_log *l = u;
    if (l->n >= 64)
        return;
    l->c[l->n].kind = c->kind;
    l->c[l->n].group = c->group;
    l->c[l->n].field = c->field;
    l->c[l->n].has_key = c->key != NULL;
    l->c[l->n].key_len = c->key_len;
    if (c->key && c->key_len <= 8)
        memcpy(l->c[l->n].key, c->key, c->key_len);
    l->n++;
}

static struct iop_params *model(void) {
    struct iop_params *p = NULL;
    CHECK_EQ(iop_params_fuzz_model(&p), 0);
    return p;
}

static int run(struct iop_params *p, enum iop_params_msg m, const struct oplist *o, size_t cap) {
    memset(res, 0xEE, sizeof(res));
    memset(&chg, 0, sizeof(chg));
    return iop_params_exec(p, m, o->b, o->len, res, cap, on_change, &chg);
}

/* Run and split; returns ResultCount (and checks the list length rule). */
static int run_blocks(struct iop_params *p, enum iop_params_msg m, const struct oplist *o,
                      size_t cap) {
    int len = run(p, m, o, cap);
    CHECK(len >= 4);
    if (len < 4)
        return -1;
    int n = rl_parse(res, len, bl, 64);
    CHECK(n >= 0);
    CHECK_EQ(iop_params_result_len(res, (size_t)len, NULL), len);
    return n;
}

static void check_err(const struct rblock *b, uint8_t status, uint16_t op, uint16_t group,
                      uint16_t field) {
    CHECK_EQ(b->status, status);
    CHECK(b->errwords >= 2);
    if (b->errwords < 2)
        return;
    CHECK_EQ(le16(b->err), op);
    CHECK_EQ(le16(b->err + 2), group);
    CHECK_EQ(le16(b->err + 4), field);
    CHECK_EQ(b->err[6], 0);
}

static void key16(uint8_t k[2], uint16_t v) {
    k[0] = (uint8_t)v;
    k[1] = (uint8_t)(v >> 8);
}

static uint64_t getu(struct iop_params *p, uint16_t g, const char *f, uint16_t key) {
    uint8_t k[2];
    key16(k, key);
    uint64_t v = 0xDEAD;
    int r = iop_params_get_uint(p, g, f, g == SC ? NULL : k, g == SC ? 0 : 2, &v);
    CHECK_EQ(r, 0);
    return v;
}

/* ---- reads ---- */

static void test_field_get(void) {
    struct iop_params *p = model();
    CHECK_EQ(iop_params_set_uint(p, SC, "Limit", NULL, 0, 0x11223344), 0);
    CHECK_EQ(iop_params_set_uint(p, SC, "Mode", NULL, 0, 6), 0);
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_FIELD_GET, SC);
    ol_fields(&o, 2, (uint16_t[]){ 2, 0 });
    int len = run(p, GET, &o, BIG);
    CHECK_EQ(len, 16); /* list header + block header + 5 bytes padded to 8 */
    CHECK_EQ(rl_parse(res, len, bl, 64), 1);
    CHECK_EQ(bl[0].size, 3);
    CHECK_EQ(bl[0].status, IOP_PARAMS_STATUS_SUCCESS);
    CHECK_EQ(bl[0].errwords, 0);
    CHECK_EQ(le32(bl[0].data), 0x11223344);
    CHECK_EQ(bl[0].data[4], 6);
    CHECK_EQ(bl[0].data[5] | bl[0].data[6] | bl[0].data[7], 0); /* pad is zero */
    CHECK_EQ(chg.n, 0);
    iop_params_free(p);
}

static void test_field_get_all(void) {
    struct iop_params *p = model();
    CHECK_EQ(iop_params_set(p, SC, "Secret", NULL, 0, "abcd", 4), 0);
    CHECK_EQ(iop_params_set_string(p, SC, "Label", NULL, 0, "hello"), 0);
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_FIELD_GET, SC);
    ol_fields(&o, ALL, NULL);
    CHECK_EQ(run_blocks(p, GET, &o, BIG), 1);
    CHECK_EQ(bl[0].status, 0);
    CHECK_EQ(bl[0].size, 1 + 8); /* 31 bytes of values, padded to 32 */
    const uint8_t *d = bl[0].data;
    CHECK_EQ(le32(d + 7) & 0xFF, 0x08); /* Serial (u64) at 7: 0x0102030405060708 LE */
    CHECK_EQ(d[14], 0x01);
    CHECK_MEMEQ(d + 15, "hello\0\0\0\0\0\0\0", 12);
    /* The write-only field reads as zeros when the whole group is asked for. */
    CHECK_MEMEQ(d + 27, "\0\0\0\0", 4);

    /* Asked for by name it is FIELD_UNREADABLE. */
    ol_init(&o);
    ol_op(&o, OP_FIELD_GET, SC);
    ol_fields(&o, 1, (uint16_t[]){ 5 });
    CHECK_EQ(run_blocks(p, GET, &o, BIG), 1);
    check_err(&bl[0], IOP_PARAMS_STATUS_FIELD_UNREADABLE, OP_FIELD_GET, SC, 5);
    CHECK_EQ(bl[0].size, 3);
    CHECK_EQ(bl[0].errwords, 2);
    CHECK_EQ(bl[0].err[7], 0); /* NumberKeys */
    iop_params_free(p);
}

static void test_get_errors(void) {
    struct iop_params *p = model();
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_FIELD_GET, 0x7777);
    ol_fields(&o, ALL, NULL);
    ol_op(&o, OP_FIELD_GET, SC);
    ol_fields(&o, 2, (uint16_t[]){ 0, 9 });
    ol_op(&o, OP_FIELD_GET, TB);
    ol_fields(&o, ALL, NULL);
    ol_op(&o, OP_TABLE_GET, SC);
    ol_fields(&o, ALL, NULL);
    ol_op(&o, OP_TABLE_GET, TB);
    ol_fields(&o, 1, (uint16_t[]){ 4 });
    ol_op(&o, OP_SIZE_GET, 0x7777);
    ol_fields(&o, ALL, NULL);
    CHECK_EQ(run_blocks(p, GET, &o, BIG), 6);
    check_err(&bl[0], IOP_PARAMS_STATUS_INVALID_GROUP_ID, OP_FIELD_GET, 0x7777, 0xFFFF);
    check_err(&bl[1], IOP_PARAMS_STATUS_NO_SUCH_FIELD, OP_FIELD_GET, SC, 9);
    check_err(&bl[2], IOP_PARAMS_STATUS_WRONG_GROUP_TYPE, OP_FIELD_GET, TB, 0xFFFF);
    check_err(&bl[3], IOP_PARAMS_STATUS_WRONG_GROUP_TYPE, OP_TABLE_GET, SC, 0xFFFF);
    check_err(&bl[4], IOP_PARAMS_STATUS_NO_SUCH_FIELD, OP_TABLE_GET, TB, 4);
    check_err(&bl[5], IOP_PARAMS_STATUS_INVALID_GROUP_ID, OP_SIZE_GET, 0x7777, 0xFFFF);
    for (int i = 0; i < 6; i++)
        CHECK_EQ(bl[i].data_len, 0);
    iop_params_free(p);
}

static void test_table_get(void) {
    struct iop_params *p = model();
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_TABLE_GET, TB);
    ol_fields(&o, 2, (uint16_t[]){ 0, 1 });
    ol_op(&o, OP_TABLE_GET, TB);
    ol_fields(&o, ALL, NULL);
    ol_op(&o, OP_TABLE_GET, KL);
    ol_fields(&o, ALL, NULL);
    CHECK_EQ(run_blocks(p, GET, &o, BIG), 3);
    CHECK_EQ(bl[0].status, 0);
    CHECK_EQ(bl[0].size, 5);
    CHECK_EQ(le16(bl[0].data), 3);     /* RowCount */
    CHECK_EQ(le16(bl[0].data + 2), 0); /* MoreFlag */
    CHECK_MEMEQ(bl[0].data + 4, "\x01\x00\x01\x02\x00\x01\x03\x00\x01\0\0\0", 12);
    CHECK_EQ(bl[1].size, 1 + 1 + 12); /* 3 rows of 15 bytes: 45 -> 48 */
    const uint8_t *r2 = bl[1].data + 4 + 15;
    CHECK_EQ(le16(r2), 2);
    CHECK_EQ(r2[2], 1);
    CHECK_EQ(le32(r2 + 11), 1002);
    CHECK_EQ(le16(bl[2].data), 2);
    CHECK_EQ(bl[2].size, 1 + 1 + 2);

    /* An empty table: RowCount 0. */
    iop_params_table_clear(iop_params_find_group(p, KL));
    ol_init(&o);
    ol_op(&o, OP_TABLE_GET, KL);
    ol_fields(&o, ALL, NULL);
    CHECK_EQ(run_blocks(p, GET, &o, BIG), 1);
    CHECK_EQ(bl[0].size, 2);
    CHECK_EQ(le16(bl[0].data), 0);
    iop_params_free(p);
}

static void test_list_get(void) {
    struct iop_params *p = model();
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_LIST_GET, TB);
    ol_fields(&o, 1, (uint16_t[]){ 3 });
    ol_u16(&o, 3); /* KeyCount */
    ol_u16(&o, 3);
    ol_u16(&o, 9);
    ol_u16(&o, 1);
    ol_op(&o, OP_LIST_GET, TB);
    ol_fields(&o, ALL, NULL);
    ol_u16(&o, 1);
    ol_u16(&o, 2);
    CHECK_EQ(run_blocks(p, GET, &o, BIG), 2);
    CHECK_EQ(bl[0].status, IOP_PARAMS_STATUS_BAD_KEY_CONTINUE);
    CHECK_EQ(le16(bl[0].data), 2);
    CHECK_EQ(le16(bl[0].data + 2), 0);
    CHECK_EQ(le32(bl[0].data + 4), 1003);
    CHECK_EQ(le32(bl[0].data + 8), 1001);
    CHECK_EQ(bl[0].errwords, 3); /* 8-byte template + 2-byte key, padded */
    check_err(&bl[0], IOP_PARAMS_STATUS_BAD_KEY_CONTINUE, OP_LIST_GET, TB, 0xFFFF);
    CHECK_EQ(bl[0].err[7], 1); /* NumberKeys */
    CHECK_EQ(le16(bl[0].err + 8), 9);
    CHECK_EQ(bl[0].size, 1 + 3 + 3);
    CHECK_EQ(bl[1].status, 0);
    CHECK_EQ(le16(bl[1].data), 1);
    CHECK_EQ(le16(bl[1].data + 4), 2);

    /* Keyless table: NO_KEY_FIELD.  With no keys the length is known and the list goes
     * on; with keys it cannot be located and the list ends there. */
    ol_init(&o);
    ol_op(&o, OP_LIST_GET, KL);
    ol_fields(&o, ALL, NULL);
    ol_u16(&o, 0);
    ol_op(&o, OP_LIST_GET, KL);
    ol_fields(&o, ALL, NULL);
    ol_u16(&o, 1);
    ol_u32(&o, 0);
    ol_op(&o, OP_FIELD_GET, SC);
    ol_fields(&o, ALL, NULL);
    CHECK_EQ(run_blocks(p, GET, &o, BIG), 2);
    check_err(&bl[0], IOP_PARAMS_STATUS_NO_KEY_FIELD, OP_LIST_GET, KL, 0xFFFF);
    check_err(&bl[1], IOP_PARAMS_STATUS_NO_KEY_FIELD, OP_LIST_GET, KL, 0xFFFF);

    /* Keys of a scalar group: WRONG_GROUP_TYPE, the list ends. */
    ol_init(&o);
    ol_op(&o, OP_LIST_GET, SC);
    ol_fields(&o, ALL, NULL);
    ol_u16(&o, 1);
    ol_u16(&o, 1);
    ol_op(&o, OP_FIELD_GET, SC);
    ol_fields(&o, ALL, NULL);
    CHECK_EQ(run_blocks(p, GET, &o, BIG), 1);
    check_err(&bl[0], IOP_PARAMS_STATUS_WRONG_GROUP_TYPE, OP_LIST_GET, SC, 0xFFFF);
    iop_params_free(p);
}

static void test_more_get(void) {
    struct iop_params *p = model();
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_MORE_GET, TB);
    ol_fields(&o, 1, (uint16_t[]){ 0 });
    ol_u16(&o, 1);
    ol_op(&o, OP_MORE_GET, TB);
    ol_fields(&o, 1, (uint16_t[]){ 0 });
    ol_u16(&o, 3);
    ol_op(&o, OP_MORE_GET, TB);
    ol_fields(&o, 1, (uint16_t[]){ 0 });
    ol_u16(&o, 7);
    CHECK_EQ(run_blocks(p, GET, &o, BIG), 3);
    CHECK_EQ(bl[0].status, 0);
    CHECK_EQ(le16(bl[0].data), 2);
    CHECK_EQ(le16(bl[0].data + 4), 2);
    CHECK_EQ(le16(bl[0].data + 6), 3);
    CHECK_EQ(le16(bl[1].data), 0); /* after the last row: nothing */
    check_err(&bl[2], IOP_PARAMS_STATUS_BAD_KEY_ABORT, OP_MORE_GET, TB, 0xFFFF);
    CHECK_EQ(le16(bl[2].err + 8), 7);
    iop_params_free(p);
}

static void test_size_get(void) {
    struct iop_params *p = model();
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_SIZE_GET, TB);
    ol_fields(&o, ALL, NULL);
    ol_op(&o, OP_SIZE_GET, SC);
    ol_fields(&o, 2, (uint16_t[]){ 0, 4 });
    ol_op(&o, OP_SIZE_GET, SC);
    ol_fields(&o, 1, (uint16_t[]){ 5 }); /* write-only: its size is no secret */
    CHECK_EQ(run_blocks(p, GET, &o, BIG), 3);
    CHECK_EQ(bl[0].status, 0);
    CHECK_EQ(le16(bl[0].data), 3);
    CHECK_EQ(le16(bl[0].data + 2), 15);
    CHECK_EQ(le16(bl[1].data), 1);
    CHECK_EQ(le16(bl[1].data + 2), 13);
    CHECK_EQ(le16(bl[2].data + 2), 4);
    iop_params_free(p);
}

/* ---- modifications ---- */

static void test_field_set(void) {
    struct iop_params *p = model();
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_FIELD_SET, SC);
    ol_fields(&o, 2, (uint16_t[]){ 0, 2 });
    ol_u8(&o, 7);
    ol_u32(&o, 0xAABBCCDD);
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 1);
    CHECK_EQ(bl[0].status, 0);
    CHECK_EQ(bl[0].size, 1);
    CHECK_EQ(getu(p, SC, "Mode", 0), 7);
    CHECK_EQ(getu(p, SC, "Limit", 0), 0xAABBCCDD);
    CHECK_EQ(chg.n, 2);
    CHECK_EQ(chg.c[0].kind, IOP_PARAMS_CHANGE_FIELD);
    CHECK_EQ(chg.c[0].group, SC);
    CHECK_EQ(chg.c[0].field, 0);
    CHECK_EQ(chg.c[0].has_key, 0);
    CHECK_EQ(chg.c[1].field, 2);

    /* The same values again: success, nothing reported. */
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 1);
    CHECK_EQ(bl[0].status, 0);
    CHECK_EQ(chg.n, 0);

    /* Out of range, read-only, all fields with a read-only one, a table group. */
    ol_init(&o);
    ol_op(&o, OP_FIELD_SET, SC);
    ol_fields(&o, 2, (uint16_t[]){ 2, 0 });
    ol_u32(&o, 1);
    ol_u8(&o, 10); /* Mode allows 0..9 */
    ol_op(&o, OP_FIELD_SET, SC);
    ol_fields(&o, 1, (uint16_t[]){ 3 });
    ol_bytes(&o, "\1\2\3\4\5\6\7\x8", 8);
    ol_op(&o, OP_FIELD_SET, SC);
    ol_fields(&o, ALL, NULL);
    for (int i = 0; i < 31; i++)
        ol_u8(&o, 0);
    ol_op(&o, OP_FIELD_SET, TB);
    ol_fields(&o, 1, (uint16_t[]){ 1 });
    ol_u8(&o, 2);
    ol_op(&o, OP_FIELD_SET, 0x7777);
    ol_fields(&o, 0, NULL);
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 5);
    check_err(&bl[0], IOP_PARAMS_STATUS_SCALAR_ERROR, OP_FIELD_SET, SC, 0);
    check_err(&bl[1], IOP_PARAMS_STATUS_FIELD_UNWRITEABLE, OP_FIELD_SET, SC, 3);
    check_err(&bl[2], IOP_PARAMS_STATUS_FIELD_UNWRITEABLE, OP_FIELD_SET, SC, 3);
    check_err(&bl[3], IOP_PARAMS_STATUS_WRONG_GROUP_TYPE, OP_FIELD_SET, TB, 0xFFFF);
    check_err(&bl[4], IOP_PARAMS_STATUS_INVALID_GROUP_ID, OP_FIELD_SET, 0x7777, 0xFFFF);
    CHECK_EQ(chg.n, 0);
    /* All-or-nothing: Limit (valid, listed first) did not change either. */
    CHECK_EQ(getu(p, SC, "Limit", 0), 0xAABBCCDD);
    CHECK_EQ(getu(p, SC, "Mode", 0), 7);

    /* A group whose fields are all writable takes FieldCount 0xFFFF: F102. */
    ol_init(&o);
    ol_op(&o, OP_FIELD_SET, IOP_PARAMS_GROUP_USER_INFO);
    ol_fields(&o, ALL, NULL);
    uint8_t names[192] = { 0 };
    memcpy(names, "disk0", 5);
    memcpy(names + 64, "storage", 7);
    memcpy(names + 128, "rack 3", 6);
    ol_bytes(&o, names, sizeof(names));
    ol_u32(&o, 42);
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 1);
    CHECK_EQ(bl[0].status, 0);
    char s[80];
    CHECK_EQ(iop_params_get_string(p, IOP_PARAMS_GROUP_USER_INFO, "PhysicalLocation", NULL, 0, s,
                                   sizeof(s)), 6);
    CHECK_STREQ(s, "rack 3");
    CHECK_EQ(chg.n, 4);
    iop_params_free(p);
}

static void test_list_set(void) {
    struct iop_params *p = model();
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_LIST_SET, TB);
    ol_fields(&o, 2, (uint16_t[]){ 1, 2 });
    ol_u16(&o, 2);
    ol_u16(&o, 2);
    ol_u8(&o, 4);
    ol_bytes(&o, "two\0\0\0\0\0", 8);
    ol_u16(&o, 3);
    ol_u8(&o, 5);
    ol_bytes(&o, "three\0\0\0", 8);
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 1);
    CHECK_EQ(bl[0].status, 0);
    CHECK_EQ(getu(p, TB, "Level", 2), 4);
    CHECK_EQ(getu(p, TB, "Level", 3), 5);
    CHECK_EQ(getu(p, TB, "Level", 1), 1);
    CHECK_EQ(chg.n, 4);
    CHECK_EQ(chg.c[0].field, 1);
    CHECK_EQ(chg.c[0].has_key, 1);
    CHECK_EQ(le16(chg.c[0].key), 2);
    CHECK_EQ(chg.c[3].field, 2);
    CHECK_EQ(le16(chg.c[3].key), 3);

    /* A bad key anywhere aborts the whole operation. */
    ol_init(&o);
    ol_op(&o, OP_LIST_SET, TB);
    ol_fields(&o, 1, (uint16_t[]){ 1 });
    ol_u16(&o, 2);
    ol_u16(&o, 1);
    ol_u8(&o, 3);
    ol_u16(&o, 9);
    ol_u8(&o, 3);
    ol_op(&o, OP_LIST_SET, TB);
    ol_fields(&o, 1, (uint16_t[]){ 3 }); /* Stamp: read-only */
    ol_u16(&o, 1);
    ol_u16(&o, 1);
    ol_u32(&o, 5);
    ol_op(&o, OP_LIST_SET, TB);
    ol_fields(&o, 1, (uint16_t[]){ 1 });
    ol_u16(&o, 1);
    ol_u16(&o, 1);
    ol_u8(&o, 0); /* Level allows 1..5 */
    ol_op(&o, OP_LIST_SET, TB);
    ol_fields(&o, 1, (uint16_t[]){ 0 }); /* key 1 -> 3: 3 exists */
    ol_u16(&o, 1);
    ol_u16(&o, 1);
    ol_u16(&o, 3);
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 4);
    check_err(&bl[0], IOP_PARAMS_STATUS_BAD_KEY_ABORT, OP_LIST_SET, TB, 0xFFFF);
    CHECK_EQ(le16(bl[0].err + 8), 9);
    check_err(&bl[1], IOP_PARAMS_STATUS_FIELD_UNWRITEABLE, OP_LIST_SET, TB, 3);
    check_err(&bl[2], IOP_PARAMS_STATUS_SCALAR_ERROR, OP_LIST_SET, TB, 1);
    check_err(&bl[3], IOP_PARAMS_STATUS_BAD_KEY_ABORT, OP_LIST_SET, TB, 0xFFFF);
    CHECK_EQ(le16(bl[3].err + 8), 3);
    CHECK_EQ(getu(p, TB, "Level", 1), 1);
    CHECK_EQ(chg.n, 0);

    /* Renaming a key works when the new key is free; the change carries the new key. */
    ol_init(&o);
    ol_op(&o, OP_LIST_SET, TB);
    ol_fields(&o, 1, (uint16_t[]){ 0 });
    ol_u16(&o, 1);
    ol_u16(&o, 1);
    ol_u16(&o, 7);
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 1);
    CHECK_EQ(bl[0].status, 0);
    uint8_t k[2];
    key16(k, 7);
    CHECK_EQ(iop_params_row_find(iop_params_find_group(p, TB), k, 2), 0);
    CHECK_EQ(chg.n, 1);
    CHECK_EQ(le16(chg.c[0].key), 7);

    /* On a scalar group, and on a keyless table. */
    ol_init(&o);
    ol_op(&o, OP_LIST_SET, KL);
    ol_fields(&o, ALL, NULL);
    ol_u16(&o, 0);
    ol_op(&o, OP_LIST_SET, SC);
    ol_fields(&o, ALL, NULL);
    ol_u16(&o, 0);
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 2);
    check_err(&bl[0], IOP_PARAMS_STATUS_NO_KEY_FIELD, OP_LIST_SET, KL, 0xFFFF);
    check_err(&bl[1], IOP_PARAMS_STATUS_WRONG_GROUP_TYPE, OP_LIST_SET, SC, 0xFFFF);
    iop_params_free(p);
}

static void add_row(struct oplist *o, uint16_t id, uint8_t level, const char *name, uint32_t stamp) {
    uint8_t nm[8] = { 0 };
    memcpy(nm, name, strnlen(name, 8));
    ol_u16(o, id);
    ol_u8(o, level);
    ol_bytes(o, nm, 8);
    ol_u32(o, stamp);
}

static void test_row_add(void) {
    struct iop_params *p = model();
    struct iop_params_group *t = iop_params_find_group(p, TB);
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_ROW_ADD, TB);
    ol_fields(&o, ALL, NULL);
    ol_u16(&o, 2);
    add_row(&o, 10, 2, "ten", 5);
    add_row(&o, 11, 3, "eleven", 6);
    ol_op(&o, OP_ROW_ADD, TB);
    ol_fields(&o, 1, (uint16_t[]){ 0 }); /* only the key: the rest is zero */
    ol_u16(&o, 1);
    ol_u16(&o, 30);
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 2);
    CHECK_EQ(bl[0].status, 0);
    CHECK_EQ(bl[1].status, 0);
    CHECK_EQ(iop_params_group_row_count(t), 6);
    CHECK_EQ(getu(p, TB, "Stamp", 11), 6);
    CHECK_EQ(getu(p, TB, "Level", 30), 0);
    char s[16];
    CHECK_EQ(iop_params_get_string(p, TB, "Name", (uint8_t[]){ 11, 0 }, 2, s, sizeof(s)), 6);
    CHECK_STREQ(s, "eleven");
    CHECK_EQ(chg.n, 3);
    CHECK_EQ(chg.c[0].kind, IOP_PARAMS_CHANGE_ROW_ADD);
    CHECK_EQ(le16(chg.c[0].key), 10);
    CHECK_EQ(chg.c[0].field, 0xFFFF);
    CHECK_EQ(le16(chg.c[2].key), 30);

    /* Group 0xF000 follows the row count. */
    ol_init(&o);
    ol_op(&o, OP_LIST_GET, IOP_PARAMS_GROUP_DESCRIPTORS);
    ol_fields(&o, 1, (uint16_t[]){ 2 });
    ol_u16(&o, 1);
    ol_u16(&o, TB);
    CHECK_EQ(run_blocks(p, GET, &o, BIG), 1);
    CHECK_EQ(le16(bl[0].data + 4), 6);

    /* Errors: duplicate of an existing key, duplicate within the list, no key field,
     * out of range, non-dynamic table, scalar group. */
    ol_init(&o);
    ol_op(&o, OP_ROW_ADD, TB);
    ol_fields(&o, ALL, NULL);
    ol_u16(&o, 1);
    add_row(&o, 1, 1, "dup", 0);
    ol_op(&o, OP_ROW_ADD, TB);
    ol_fields(&o, ALL, NULL);
    ol_u16(&o, 2);
    add_row(&o, 20, 1, "a", 0);
    add_row(&o, 20, 1, "b", 0);
    ol_op(&o, OP_ROW_ADD, TB);
    ol_fields(&o, 1, (uint16_t[]){ 1 });
    ol_u16(&o, 1);
    ol_u8(&o, 1);
    ol_op(&o, OP_ROW_ADD, TB);
    ol_fields(&o, ALL, NULL);
    ol_u16(&o, 1);
    add_row(&o, 21, 9, "x", 0);
    ol_op(&o, OP_ROW_ADD, IOP_PARAMS_GROUP_CLAIMED);
    ol_fields(&o, ALL, NULL);
    ol_u16(&o, 1);
    ol_u16(&o, 0x123);
    ol_op(&o, OP_ROW_ADD, SC);
    ol_fields(&o, 1, (uint16_t[]){ 0 });
    ol_u16(&o, 1);
    ol_u8(&o, 1);
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 6);
    check_err(&bl[0], IOP_PARAMS_STATUS_BAD_KEY_ABORT, OP_ROW_ADD, TB, 0xFFFF);
    CHECK_EQ(le16(bl[0].err + 8), 1);
    check_err(&bl[1], IOP_PARAMS_STATUS_BAD_KEY_ABORT, OP_ROW_ADD, TB, 0xFFFF);
    CHECK_EQ(le16(bl[1].err + 8), 20);
    check_err(&bl[2], IOP_PARAMS_STATUS_INSUFFICIENT_FIELDS, OP_ROW_ADD, TB, 0);
    check_err(&bl[3], IOP_PARAMS_STATUS_SCALAR_ERROR, OP_ROW_ADD, TB, 1);
    check_err(&bl[4], IOP_PARAMS_STATUS_NON_DYNAMIC_GROUP, OP_ROW_ADD,
              IOP_PARAMS_GROUP_CLAIMED, 0xFFFF);
    check_err(&bl[5], IOP_PARAMS_STATUS_WRONG_GROUP_TYPE, OP_ROW_ADD, SC, 0xFFFF);
    CHECK_EQ(iop_params_group_row_count(t), 6);
    CHECK_EQ(chg.n, 0);

    /* The row limit (16): 10 more fit, 11 do not -> TABLE_ERROR, nothing added. */
    ol_init(&o);
    ol_op(&o, OP_ROW_ADD, TB);
    ol_fields(&o, 1, (uint16_t[]){ 0 });
    ol_u16(&o, 11);
    for (uint16_t i = 0; i < 11; i++)
        ol_u16(&o, (uint16_t)(100 + i));
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 1);
    check_err(&bl[0], IOP_PARAMS_STATUS_TABLE_ERROR, OP_ROW_ADD, TB, 0xFFFF);
    CHECK_EQ(iop_params_group_row_count(t), 6);
    o.b[12] = 10; /* RowCount 11 -> 10 (the spare key at the end is ignored) */
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 1);
    CHECK_EQ(bl[0].status, 0);
    CHECK_EQ(iop_params_group_row_count(t), 16);

    /* Keyless tables take rows without a key. */
    ol_init(&o);
    ol_op(&o, OP_ROW_ADD, KL);
    ol_fields(&o, ALL, NULL);
    ol_u16(&o, 1);
    ol_u32(&o, 77);
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 1);
    CHECK_EQ(bl[0].status, 0);
    CHECK_EQ(iop_params_group_row_count(iop_params_find_group(p, KL)), 3);
    CHECK_EQ(chg.n, 1);
    CHECK_EQ(chg.c[0].has_key, 0);
    iop_params_free(p);
}

static void test_row_delete(void) {
    struct iop_params *p = model();
    struct iop_params_group *t = iop_params_find_group(p, TB);
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_ROW_DELETE, TB);
    ol_u16(&o, 1);
    ol_u16(&o, 2);
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 1);
    CHECK_EQ(bl[0].status, 0);
    CHECK_EQ(iop_params_group_row_count(t), 2);
    CHECK_EQ(le16(iop_params_row(t, 0)), 1);
    CHECK_EQ(le16(iop_params_row(t, 1)), 3);
    CHECK_EQ(chg.n, 1);
    CHECK_EQ(chg.c[0].kind, IOP_PARAMS_CHANGE_ROW_DELETE);
    CHECK_EQ(le16(chg.c[0].key), 2);

    ol_init(&o);
    ol_op(&o, OP_ROW_DELETE, TB);
    ol_u16(&o, 2);
    ol_u16(&o, 1);
    ol_u16(&o, 1); /* the same row twice */
    ol_op(&o, OP_ROW_DELETE, TB);
    ol_u16(&o, 2);
    ol_u16(&o, 3);
    ol_u16(&o, 9);
    ol_op(&o, OP_ROW_DELETE, IOP_PARAMS_GROUP_CLAIMED);
    ol_u16(&o, 0);
    ol_op(&o, OP_ROW_DELETE, KL);
    ol_u16(&o, 0);
    ol_op(&o, OP_ROW_DELETE, 0x7777);
    ol_u16(&o, 0);
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 5);
    check_err(&bl[0], IOP_PARAMS_STATUS_BAD_KEY_ABORT, OP_ROW_DELETE, TB, 0xFFFF);
    CHECK_EQ(le16(bl[0].err + 8), 1);
    check_err(&bl[1], IOP_PARAMS_STATUS_BAD_KEY_ABORT, OP_ROW_DELETE, TB, 0xFFFF);
    CHECK_EQ(le16(bl[1].err + 8), 9);
    check_err(&bl[2], IOP_PARAMS_STATUS_NON_DYNAMIC_GROUP, OP_ROW_DELETE,
              IOP_PARAMS_GROUP_CLAIMED, 0xFFFF);
    check_err(&bl[3], IOP_PARAMS_STATUS_NO_KEY_FIELD, OP_ROW_DELETE, KL, 0xFFFF);
    check_err(&bl[4], IOP_PARAMS_STATUS_INVALID_GROUP_ID, OP_ROW_DELETE, 0x7777, 0xFFFF);
    CHECK_EQ(iop_params_group_row_count(t), 2);
    CHECK_EQ(chg.n, 0);

    /* Several rows at once, in any order. */
    ol_init(&o);
    ol_op(&o, OP_ROW_DELETE, TB);
    ol_u16(&o, 2);
    ol_u16(&o, 1);
    ol_u16(&o, 3);
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 1);
    CHECK_EQ(bl[0].status, 0);
    CHECK_EQ(iop_params_group_row_count(t), 0);
    CHECK_EQ(chg.n, 2);
    iop_params_free(p);
}

static void test_table_clear(void) {
    struct iop_params *p = model();
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_TABLE_CLEAR, KL);
    ol_op(&o, OP_TABLE_CLEAR, KL);
    ol_op(&o, OP_TABLE_CLEAR, IOP_PARAMS_GROUP_DESCRIPTORS);
    ol_op(&o, OP_TABLE_CLEAR, IOP_PARAMS_GROUP_CLAIMED);
    ol_op(&o, OP_TABLE_CLEAR, SC);
    ol_op(&o, OP_TABLE_CLEAR, 0x7777);
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 6);
    CHECK_EQ(bl[0].status, 0);
    CHECK_EQ(bl[1].status, 0);
    check_err(&bl[2], IOP_PARAMS_STATUS_NON_DYNAMIC_GROUP, OP_TABLE_CLEAR,
              IOP_PARAMS_GROUP_DESCRIPTORS, 0xFFFF);
    check_err(&bl[3], IOP_PARAMS_STATUS_NON_DYNAMIC_GROUP, OP_TABLE_CLEAR,
              IOP_PARAMS_GROUP_CLAIMED, 0xFFFF);
    check_err(&bl[4], IOP_PARAMS_STATUS_WRONG_GROUP_TYPE, OP_TABLE_CLEAR, SC, 0xFFFF);
    check_err(&bl[5], IOP_PARAMS_STATUS_INVALID_GROUP_ID, OP_TABLE_CLEAR, 0x7777, 0xFFFF);
    CHECK_EQ(iop_params_group_row_count(iop_params_find_group(p, KL)), 0);
    /* Reported once: the second clear removed nothing. */
    CHECK_EQ(chg.n, 1);
    CHECK_EQ(chg.c[0].kind, IOP_PARAMS_CHANGE_TABLE_CLEAR);
    CHECK_EQ(chg.c[0].group, KL);
    iop_params_free(p);
}

/* ---- message families, unknown operations, lists that end early ---- */

static void test_families(void) {
    struct iop_params *p = model();
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_FIELD_SET, SC);
    ol_fields(&o, 1, (uint16_t[]){ 0 });
    ol_u8(&o, 5);
    ol_op(&o, OP_TABLE_CLEAR, KL);
    ol_op(&o, OP_FIELD_GET, SC);
    ol_fields(&o, 1, (uint16_t[]){ 0 });
    CHECK_EQ(run_blocks(p, GET, &o, BIG), 3);
    check_err(&bl[0], IOP_PARAMS_STATUS_INVALID_OPERATION, OP_FIELD_SET, SC, 0xFFFF);
    check_err(&bl[1], IOP_PARAMS_STATUS_INVALID_OPERATION, OP_TABLE_CLEAR, KL, 0xFFFF);
    CHECK_EQ(bl[2].status, 0);
    CHECK_EQ(bl[2].data[0], 0); /* Mode unchanged */
    CHECK_EQ(iop_params_group_row_count(iop_params_find_group(p, KL)), 2);
    CHECK_EQ(chg.n, 0);

    ol_init(&o);
    ol_op(&o, OP_TABLE_GET, TB);
    ol_fields(&o, ALL, NULL);
    ol_op(&o, OP_FIELD_SET, SC);
    ol_fields(&o, 1, (uint16_t[]){ 0 });
    ol_u8(&o, 5);
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 2);
    check_err(&bl[0], IOP_PARAMS_STATUS_INVALID_OPERATION, OP_TABLE_GET, TB, 0xFFFF);
    CHECK_EQ(bl[1].status, 0);
    CHECK_EQ(getu(p, SC, "Mode", 0), 5);
    iop_params_free(p);
}

static void test_unknown_op_ends_list(void) {
    struct iop_params *p = model();
    static const uint16_t codes[] = { 0, 11, 0xFFFF };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        struct oplist o;
        ol_init(&o);
        ol_op(&o, OP_FIELD_GET, SC);
        ol_fields(&o, 1, (uint16_t[]){ 0 });
        ol_op(&o, codes[i], SC);
        ol_u16(&o, 0xBEEF); /* whatever follows cannot be located */
        ol_op(&o, OP_FIELD_GET, SC);
        ol_fields(&o, 1, (uint16_t[]){ 0 });
        CHECK_EQ(run_blocks(p, GET, &o, BIG), 2);
        CHECK_EQ(bl[0].status, 0);
        check_err(&bl[1], IOP_PARAMS_STATUS_INVALID_OPERATION, codes[i], SC, 0xFFFF);
    }
    /* An unknown group whose operation carries values: INVALID_GROUP_ID, list ends. */
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_FIELD_SET, 0x7777);
    ol_fields(&o, 1, (uint16_t[]){ 0 });
    ol_u8(&o, 1);
    ol_op(&o, OP_FIELD_SET, SC);
    ol_fields(&o, 1, (uint16_t[]){ 0 });
    ol_u8(&o, 1);
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 1);
    check_err(&bl[0], IOP_PARAMS_STATUS_INVALID_GROUP_ID, OP_FIELD_SET, 0x7777, 0xFFFF);
    CHECK_EQ(getu(p, SC, "Mode", 0), 0);
    /* An unknown field in a set: NO_SUCH_FIELD, list ends. */
    ol_init(&o);
    ol_op(&o, OP_FIELD_SET, SC);
    ol_fields(&o, 1, (uint16_t[]){ 40 });
    ol_op(&o, OP_TABLE_CLEAR, KL);
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 1);
    check_err(&bl[0], IOP_PARAMS_STATUS_NO_SUCH_FIELD, OP_FIELD_SET, SC, 40);
    CHECK_EQ(iop_params_group_row_count(iop_params_find_group(p, KL)), 2);
    iop_params_free(p);
}

/* ---- malformed lists ---- */

static uint8_t *save(struct iop_params *p, size_t *n) {
    uint8_t *b = NULL;
    CHECK_EQ(iop_params_save(p, &b, n), 0);
    return b;
}

/* Every proper prefix of a list must fail with -EBADMSG and leave everything as it was. */
static void check_truncations(enum iop_params_msg m, const struct oplist *full, size_t valid_from) {
    struct iop_params *p = model();
    size_t n0;
    uint8_t *s0 = save(p, &n0);
    unsigned bad = 0, good = 0;
    for (size_t cut = 0; cut <= full->len; cut++) {
        struct oplist o = *full;
        o.len = cut;
        int r = run(p, m, &o, BIG);
        if (cut >= valid_from) {
            good += r >= 4;
            continue;
        }
        bad += r == -EBADMSG;
        CHECK(res[0] == 0xEE && res[3] == 0xEE); /* nothing written */
        size_t n1;
        uint8_t *s1 = save(p, &n1);
        CHECK(n1 == n0 && memcmp(s0, s1, n0) == 0);
        free(s1);
    }
    CHECK_EQ(bad, valid_from);
    CHECK_EQ(good, full->len + 1 - valid_from);
    free(s0);
    iop_params_free(p);
}

static void test_truncated_lists(void) {
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_FIELD_SET, SC);
    ol_fields(&o, 1, (uint16_t[]){ 0 });
    ol_u8(&o, 3); /* 9 bytes: padded before the next operation */
    ol_op(&o, OP_LIST_SET, TB);
    ol_fields(&o, 1, (uint16_t[]){ 1 });
    ol_u16(&o, 1);
    ol_u16(&o, 2);
    ol_u8(&o, 4);
    ol_op(&o, OP_ROW_ADD, TB);
    ol_fields(&o, ALL, NULL);
    ol_u16(&o, 1);
    add_row(&o, 40, 2, "forty", 1);
    ol_op(&o, OP_ROW_DELETE, TB);
    ol_u16(&o, 1);
    ol_u16(&o, 3);
    ol_op(&o, OP_TABLE_CLEAR, KL);
    check_truncations(SET, &o, o.len);

    ol_init(&o);
    ol_op(&o, OP_FIELD_GET, SC);
    ol_fields(&o, 2, (uint16_t[]){ 0, 1 });
    ol_op(&o, OP_LIST_GET, TB);
    ol_fields(&o, ALL, NULL);
    ol_u16(&o, 2);
    ol_u16(&o, 1);
    ol_u16(&o, 3);
    ol_op(&o, OP_MORE_GET, TB);
    ol_fields(&o, 1, (uint16_t[]){ 0 });
    ol_u16(&o, 1);
    ol_op(&o, OP_SIZE_GET, TB);
    ol_fields(&o, ALL, NULL);
    ol_op(&o, OP_TABLE_GET, TB);
    ol_fields(&o, ALL, NULL); /* ends 2 bytes short of a word: the pad is optional */
    size_t end = o.len;
    o.b[o.len++] = 0;
    o.b[o.len++] = 0;
    check_truncations(GET, &o, end);
}

static void test_malformed(void) {
    struct iop_params *p = model();
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_FIELD_GET, SC);
    ol_fields(&o, ALL, NULL);
    o.b[0] = 2; /* OperationCount says two */
    CHECK_EQ(run(p, GET, &o, BIG), -EBADMSG);
    o.b[0] = 0; /* none: an empty result list */
    CHECK_EQ(run(p, GET, &o, BIG), 4);
    CHECK_EQ(le16(res), 0);
    o.b[0] = 1;
    /* FieldCount running past the end. */
    o.b[8] = 0x10;
    o.b[9] = 0;
    CHECK_EQ(run(p, GET, &o, BIG), -EBADMSG);
    /* KeyCount running past the end. */
    ol_init(&o);
    ol_op(&o, OP_LIST_GET, TB);
    ol_fields(&o, ALL, NULL);
    ol_u16(&o, 0x7FFF);
    ol_u16(&o, 1);
    CHECK_EQ(run(p, GET, &o, BIG), -EBADMSG);
    /* Trailing bytes after the last operation are ignored. */
    ol_init(&o);
    ol_op(&o, OP_FIELD_GET, SC);
    ol_fields(&o, 1, (uint16_t[]){ 0 });
    ol_u32(&o, 0xFFFFFFFF);
    CHECK_EQ(run(p, GET, &o, BIG), 12);
    /* Arguments. */
    CHECK_EQ(iop_params_exec(p, GET, o.b, 3, res, BIG, NULL, NULL), -EBADMSG);
    CHECK_EQ(iop_params_exec(p, GET, o.b, IOP_PARAMS_OPLIST_MAX + 1, res, BIG, NULL, NULL), -E2BIG);
    CHECK_EQ(iop_params_exec(p, GET, o.b, o.len, res, 3, NULL, NULL), -ENOBUFS);
    CHECK_EQ(iop_params_exec(p, GET, o.b, o.len, NULL, 100, NULL, NULL), -ENOBUFS);
    CHECK_EQ(iop_params_exec(p, GET, NULL, 8, res, 100, NULL, NULL), -EINVAL);
    CHECK_EQ(iop_params_exec(NULL, GET, o.b, o.len, res, 100, NULL, NULL), -EINVAL);
    CHECK_EQ(iop_params_exec(p, (enum iop_params_msg)7, o.b, o.len, res, 100, NULL, NULL), -EINVAL);
    iop_params_free(p);
}

/* ---- result buffer limits ---- */

static void test_buffer_limits(void) {
    struct iop_params *p = model();
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_FIELD_GET, IOP_PARAMS_GROUP_DEV_IDENTITY);
    ol_fields(&o, ALL, NULL); /* 321 bytes -> a 328-byte block, 332 in all */
    int len = run(p, GET, &o, 332);
    CHECK_EQ(len, 332);
    CHECK_EQ(res[332], 0xEE);
    for (size_t cap = 8; cap <= 331; cap += 323) { /* 8 and 331 */
        len = run(p, GET, &o, cap);
        CHECK_EQ(len, 8);
        CHECK_EQ(rl_parse(res, len, bl, 64), 1);
        CHECK_EQ(bl[0].status, IOP_PARAMS_STATUS_BUFFER_TOO_SMALL);
        CHECK_EQ(bl[0].size, 1);
        CHECK_EQ(res[8], 0xEE);
    }
    for (size_t cap = 4; cap < 8; cap++) { /* room for the list header only */
        len = run(p, GET, &o, cap);
        CHECK_EQ(len, 4);
        CHECK_EQ(le16(res), 0);
        CHECK_EQ(res[4], 0xEE);
    }

    /* The second operation does not fit: BUFFER_FULL, and the list ends. */
    ol_init(&o);
    ol_op(&o, OP_FIELD_GET, SC);
    ol_fields(&o, 1, (uint16_t[]){ 0 });
    ol_op(&o, OP_FIELD_GET, IOP_PARAMS_GROUP_DEV_IDENTITY);
    ol_fields(&o, ALL, NULL);
    ol_op(&o, OP_FIELD_GET, SC);
    ol_fields(&o, 1, (uint16_t[]){ 0 });
    len = run(p, GET, &o, 20);
    CHECK_EQ(len, 16);
    CHECK_EQ(rl_parse(res, len, bl, 64), 2);
    CHECK_EQ(bl[0].status, 0);
    CHECK_EQ(bl[1].status, IOP_PARAMS_STATUS_BUFFER_FULL);

    /* A modification runs only when its block fits. */
    ol_init(&o);
    ol_op(&o, OP_FIELD_SET, SC);
    ol_fields(&o, 1, (uint16_t[]){ 0 });
    ol_u8(&o, 4);
    CHECK_EQ(run(p, SET, &o, 7), 4);
    CHECK_EQ(getu(p, SC, "Mode", 0), 0);
    CHECK_EQ(run(p, SET, &o, 8), 8);
    CHECK_EQ(getu(p, SC, "Mode", 0), 4);

    /* A table read that fits partly: the rows that fit, MoreFlag 1; MORE_GET goes on. */
    ol_init(&o);
    ol_op(&o, OP_TABLE_GET, TB);
    ol_fields(&o, ALL, NULL);
    ol_op(&o, OP_SIZE_GET, TB);
    ol_fields(&o, ALL, NULL);
    len = run(p, GET, &o, 12 + 32 + 3); /* room for two 15-byte rows */
    CHECK_EQ(len, 44);
    CHECK_EQ(rl_parse(res, len, bl, 64), 1);
    CHECK_EQ(bl[0].status, 0);
    CHECK_EQ(le16(bl[0].data), 2);
    CHECK_EQ(le16(bl[0].data + 2), 1);
    uint16_t last = le16(bl[0].data + 4 + 15);
    CHECK_EQ(last, 2);
    ol_init(&o);
    ol_op(&o, OP_MORE_GET, TB);
    ol_fields(&o, ALL, NULL);
    ol_u16(&o, last);
    CHECK_EQ(run_blocks(p, GET, &o, 12 + 32), 1);
    CHECK_EQ(le16(bl[0].data), 1);
    CHECK_EQ(le16(bl[0].data + 2), 0);
    CHECK_EQ(le16(bl[0].data + 4), 3);

    /* Not even one row fits. */
    ol_init(&o);
    ol_op(&o, OP_TABLE_GET, TB);
    ol_fields(&o, ALL, NULL);
    len = run(p, GET, &o, 16);
    CHECK_EQ(len, 8);
    CHECK_EQ(rl_parse(res, len, bl, 64), 1);
    CHECK_EQ(bl[0].status, IOP_PARAMS_STATUS_BUFFER_TOO_SMALL);

    /* Error information that does not fit is left out. */
    ol_init(&o);
    ol_op(&o, OP_FIELD_GET, 0x7777);
    ol_fields(&o, ALL, NULL);
    len = run(p, GET, &o, 12);
    CHECK_EQ(len, 8);
    CHECK_EQ(rl_parse(res, len, bl, 64), 1);
    CHECK_EQ(bl[0].status, IOP_PARAMS_STATUS_INVALID_GROUP_ID);
    CHECK_EQ(bl[0].errwords, 0);
    iop_params_free(p);
}

/* Nothing is ever longer than the kernel's 64 KiB buffer, whatever the caller offers. */
static void test_result_max(void) {
    struct iop_params *p = model();
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_TABLE_GET, TB);
    ol_u16(&o, 4000); /* Name (8 bytes) 4000 times: 32000 bytes a row, 96000 in all */
    for (int i = 0; i < 4000; i++)
        ol_u16(&o, 2);
    CHECK_EQ(o.len, 8010);
    int len = run(p, GET, &o, sizeof(res));
    CHECK_EQ(len, 12 + 64000);
    CHECK(len <= (int)IOP_PARAMS_RESULT_MAX);
    CHECK_EQ(rl_parse(res, len, bl, 64), 1);
    CHECK_EQ(le16(bl[0].data), 2);
    CHECK_EQ(le16(bl[0].data + 2), 1);
    CHECK_EQ(res[len], 0xEE);
    iop_params_free(p);
}

static void test_result_len(void) {
    struct iop_params *p = model();
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_FIELD_GET, 0x7777);
    ol_fields(&o, ALL, NULL);
    int len = run(p, GET, &o, BIG);
    uint8_t st = 0xAA;
    CHECK_EQ(iop_params_result_len(res, (size_t)len, &st), len);
    CHECK_EQ(len, 4 * (1 + le16(res + 4)));
    CHECK_EQ(st, IOP_PARAMS_STATUS_INVALID_GROUP_ID); /* the kernel's EAGAIN case */

    ol_op(&o, OP_FIELD_GET, SC);
    ol_fields(&o, ALL, NULL);
    len = run(p, GET, &o, BIG);
    CHECK_EQ(iop_params_result_len(res, (size_t)len, &st), len);
    CHECK_EQ(st, 0); /* two blocks: no single-block error */

    /* Walking a broken list. */
    uint8_t bad[16] = { 1, 0, 0, 0, 0, 0, 0, 0 }; /* BlockSize 0 */
    CHECK_EQ(iop_params_result_len(bad, sizeof(bad), NULL), -EBADMSG);
    bad[4] = 5; /* 20 bytes of block in a 16-byte buffer */
    CHECK_EQ(iop_params_result_len(bad, sizeof(bad), NULL), -EBADMSG);
    bad[4] = 3;
    CHECK_EQ(iop_params_result_len(bad, sizeof(bad), NULL), 16);
    CHECK_EQ(iop_params_result_len(bad, 3, NULL), -EBADMSG);
    iop_params_free(p);
}

/* Key lookups in a big table (the sorted key index): keys inserted out of order, asked
 * for in another order, some missing. */
static void test_many_keys(void) {
    struct iop_params *p;
    struct iop_params_group *g;
    CHECK_EQ(iop_params_new(&p), 0);
    CHECK_EQ(iop_params_add_group(p, 0x10, "big", IOP_PARAMS_TABLE, 0, &g), 0);
    CHECK_EQ(iop_params_add_field(g, "K", IOP_PARAMS_U32, 0, IOP_PARAMS_FIELD_KEY), 0);
    CHECK_EQ(iop_params_add_field(g, "V", IOP_PARAMS_U16, 0, IOP_PARAMS_FIELD_RW), 1);
    for (uint32_t i = 0; i < 1000; i++) {
        uint32_t k = (i * 7919u) % 1000u * 3u; /* a permutation of 0, 3, ..., 2997 */
        uint8_t kb[4] = { (uint8_t)k, (uint8_t)(k >> 8), 0, 0 };
        CHECK_EQ(iop_params_row_add(g, kb, 4), (int)i);
        CHECK_EQ(iop_params_set_uint(p, 0x10, "V", kb, 4, k / 3), 0);
    }
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_LIST_GET, 0x10);
    ol_fields(&o, 1, (uint16_t[]){ 1 });
    ol_u16(&o, 600);
    for (uint32_t i = 0; i < 600; i++)
        ol_u32(&o, 2999 - i * 5); /* 3 divides 1 key in 3 of these */
    CHECK_EQ(run_blocks(p, GET, &o, BIG), 1);
    CHECK_EQ(bl[0].status, IOP_PARAMS_STATUS_BAD_KEY_CONTINUE);
    unsigned want = 0, ok = 1;
    const uint8_t *v = bl[0].data + 4;
    for (uint32_t i = 0; i < 600; i++) {
        uint32_t k = 2999 - i * 5;
        if (k % 3)
            continue;
        ok &= le16(v + 2 * want) == k / 3;
        want++;
    }
    CHECK_EQ(le16(bl[0].data), want);
    CHECK(ok);
    CHECK_EQ(le32(bl[0].err + 8), 2999); /* the first missing key */

    /* LIST_SET through the same index: every key, new values. */
    ol_init(&o);
    ol_op(&o, OP_LIST_SET, 0x10);
    ol_fields(&o, 1, (uint16_t[]){ 1 });
    ol_u16(&o, 1000);
    for (uint32_t k = 0; k < 3000; k += 3) {
        ol_u32(&o, k);
        ol_u16(&o, (uint16_t)(k + 1));
    }
    CHECK_EQ(run_blocks(p, SET, &o, BIG), 1);
    CHECK_EQ(bl[0].status, 0);
    CHECK_EQ(chg.n, 64); /* the log keeps 64 of the 1000 reports */
    uint64_t x;
    CHECK_EQ(iop_params_get_uint(p, 0x10, "V", (uint8_t[]){ 0xB5, 0x0B, 0, 0 }, 4, &x), 0);
    CHECK_EQ(x, 3000 - 3 + 1); /* key 2997 */
    iop_params_free(p);
}

int main(void) {
    TEST(test_field_get);
    TEST(test_field_get_all);
    TEST(test_get_errors);
    TEST(test_table_get);
    TEST(test_list_get);
    TEST(test_more_get);
    TEST(test_size_get);
    TEST(test_field_set);
    TEST(test_list_set);
    TEST(test_row_add);
    TEST(test_row_delete);
    TEST(test_table_clear);
    TEST(test_families);
    TEST(test_unknown_op_ends_list);
    TEST(test_truncated_lists);
    TEST(test_malformed);
    TEST(test_buffer_limits);
    TEST(test_result_max);
    TEST(test_result_len);
    TEST(test_many_keys);
    return test_summary();
}
