/* The parameter-group model: builder rules and limits, rows, values by name. */
#include <errno.h>
#include <stdlib.h>

#include "lib/params/params.h"
#include "params-test.h"
#include "testutil.h"

static void test_builder(void) {
    struct iop_params *p;
    struct iop_params_group *s, *t, *g;
    CHECK_EQ(iop_params_new(&p), 0);
    CHECK_EQ(iop_params_add_group(p, 0x9000, "Scalar", IOP_PARAMS_SCALAR, 0, &s), 0);
    CHECK_EQ(iop_params_add_group(p, 0x9000, "Again", IOP_PARAMS_SCALAR, 0, NULL), -EEXIST);
    CHECK_EQ(iop_params_add_group(p, 0x9001, "", IOP_PARAMS_SCALAR, 0, NULL), -EINVAL);
    CHECK_EQ(iop_params_add_group(p, 0x9001, NULL, IOP_PARAMS_SCALAR, 0, NULL), -EINVAL);
    CHECK_EQ(iop_params_add_group(p, 0x9001, "x", (enum iop_params_kind)5, 0, NULL), -EINVAL);
    CHECK_EQ(iop_params_add_group(p, 0x9001, "x", IOP_PARAMS_SCALAR, IOP_PARAMS_GROUP_ROW_ADD,
                                  NULL), -EINVAL);
    CHECK_EQ(iop_params_add_group(p, 0x9001, "x", IOP_PARAMS_TABLE, 0x100, NULL), -EINVAL);
    char longname[IOP_PARAMS_NAME_MAX + 2];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    CHECK_EQ(iop_params_add_group(p, 0x9001, longname, IOP_PARAMS_SCALAR, 0, NULL), -EINVAL);
    CHECK_EQ(iop_params_add_group(p, 0x0005, "Table", IOP_PARAMS_TABLE, IOP_PARAMS_GROUP_ROW_ADD,
                                  &t), 0);

    /* Groups are kept in number order. */
    CHECK_EQ(iop_params_group_count(p), 2);
    CHECK(iop_params_group_at(p, 0) == t);
    CHECK(iop_params_group_at(p, 1) == s);
    CHECK(iop_params_group_at(p, 2) == NULL);
    CHECK(iop_params_find_group(p, 0x9000) == s);
    CHECK(iop_params_find_group(p, 0x9002) == NULL);
    CHECK(iop_params_find_group_by_name(p, "Table") == t);
    CHECK(iop_params_find_group_by_name(p, "nope") == NULL);

    /* Fields: indices in declaration order, sizes, flags. */
    CHECK_EQ(iop_params_add_field(s, "A", IOP_PARAMS_U8, 0, IOP_PARAMS_FIELD_RW), 0);
    CHECK_EQ(iop_params_add_field(s, "B", IOP_PARAMS_U32, 4, 0), 1);
    CHECK_EQ(iop_params_add_field(s, "C", IOP_PARAMS_STRING, 10, IOP_PARAMS_FIELD_RW), 2);
    CHECK_EQ(iop_params_add_field(s, "D", IOP_PARAMS_U16, 4, 0), -EINVAL);   /* wrong size */
    CHECK_EQ(iop_params_add_field(s, "D", IOP_PARAMS_BYTES, 0, 0), -EINVAL); /* no size */
    CHECK_EQ(iop_params_add_field(s, "D", IOP_PARAMS_BYTES, IOP_PARAMS_FIELD_SIZE_MAX + 1, 0),
             -EINVAL);
    CHECK_EQ(iop_params_add_field(s, "D", IOP_PARAMS_U8, 0, IOP_PARAMS_FIELD_KEY), -EINVAL);
    CHECK_EQ(iop_params_add_field(s, "D", IOP_PARAMS_U8, 0, 0x80), -EINVAL);
    CHECK_EQ(iop_params_add_field(s, "D", (enum iop_params_type)9, 1, 0), -EINVAL);
    CHECK_EQ(iop_params_add_field(s, "A", IOP_PARAMS_U8, 0, 0), -EEXIST);
    CHECK_EQ(iop_params_group_row_size(s), 15);
    CHECK_EQ(iop_params_group_row_count(s), 1);
    CHECK_EQ(iop_params_group_field_count(s), 3);
    struct iop_params_field_info fi;
    CHECK_EQ(iop_params_field_info(s, 2, &fi), 0);
    CHECK_STREQ(fi.name, "C");
    CHECK_EQ(fi.offset, 5);
    CHECK_EQ(fi.size, 10);
    CHECK_EQ(fi.type, IOP_PARAMS_STRING);
    CHECK_EQ(iop_params_field_info(s, 3, &fi), -ENOENT);
    CHECK_EQ(iop_params_find_field(s, "B"), 1);
    CHECK_EQ(iop_params_find_field(s, "Z"), -ENOENT);
    CHECK_EQ(iop_params_group_key_field(s), -ENOENT);

    CHECK_EQ(iop_params_add_field(t, "Id", IOP_PARAMS_U16, 0,
                                  IOP_PARAMS_FIELD_KEY | IOP_PARAMS_FIELD_NOREAD), -EINVAL);
    CHECK_EQ(iop_params_add_field(t, "Id", IOP_PARAMS_U16, 0, IOP_PARAMS_FIELD_KEY), 0);
    CHECK_EQ(iop_params_add_field(t, "Id2", IOP_PARAMS_U16, 0, IOP_PARAMS_FIELD_KEY), -EINVAL);
    CHECK_EQ(iop_params_add_field(t, "V", IOP_PARAMS_U64, 0, IOP_PARAMS_FIELD_RW), 1);
    CHECK_EQ(iop_params_group_key_field(t), 0);
    CHECK_EQ(iop_params_row_add(t, (uint8_t[]){ 1, 0 }, 2), 0);
    /* No new fields once a table has rows: they would change the row layout. */
    CHECK_EQ(iop_params_add_field(t, "W", IOP_PARAMS_U8, 0, 0), -EBUSY);
    /* A scalar group grows and keeps its values. */
    CHECK_EQ(iop_params_set_uint(p, 0x9000, "B", NULL, 0, 77), 0);
    CHECK_EQ(iop_params_add_field(s, "E", IOP_PARAMS_U16, 0, 0), 3);
    uint64_t v;
    CHECK_EQ(iop_params_get_uint(p, 0x9000, "B", NULL, 0, &v), 0);
    CHECK_EQ(v, 77);
    CHECK_EQ(iop_params_get_uint(p, 0x9000, "E", NULL, 0, &v), 0);
    CHECK_EQ(v, 0);

    /* Ranges and row limits. */
    CHECK_EQ(iop_params_field_set_range(s, 2, 0, 1), -EINVAL); /* a string */
    CHECK_EQ(iop_params_field_set_range(s, 0, 5, 4), -EINVAL);
    CHECK_EQ(iop_params_field_set_range(s, 9, 0, 4), -EINVAL);
    CHECK_EQ(iop_params_field_set_range(s, 0, 2, 4), 0);
    CHECK_EQ(iop_params_set_max_rows(s, 3), -EINVAL);
    CHECK_EQ(iop_params_set_max_rows(t, IOP_PARAMS_ROWS_MAX + 1), -EINVAL);
    CHECK_EQ(iop_params_set_max_rows(t, 0), -EBUSY);
    CHECK_EQ(iop_params_set_max_rows(t, 2), 0);
    CHECK_EQ(iop_params_row_add(t, (uint8_t[]){ 2, 0 }, 2), 1);
    CHECK_EQ(iop_params_row_add(t, (uint8_t[]){ 3, 0 }, 2), -ENOSPC);

    /* The group limit. */
    g = NULL;
    int r = 0;
    for (unsigned n = 0; n < IOP_PARAMS_GROUPS_MAX && r == 0; n++)
        r = iop_params_add_group(p, (uint16_t)(0x100 + n), "many", IOP_PARAMS_SCALAR, 0, &g);
    CHECK_EQ(r, -ENOSPC);
    CHECK_EQ(iop_params_group_count(p), IOP_PARAMS_GROUPS_MAX);
    iop_params_free(p);
    CHECK(iop_params_free(NULL) == NULL);
}

static void test_field_limits(void) {
    struct iop_params *p;
    struct iop_params_group *g;
    CHECK_EQ(iop_params_new(&p), 0);
    CHECK_EQ(iop_params_add_group(p, 1, "wide", IOP_PARAMS_SCALAR, 0, &g), 0);
    /* 4 x 1024 bytes reach the row limit; one more byte does not fit. */
    char name[8];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof(name), "f%d", i);
        CHECK_EQ(iop_params_add_field(g, name, IOP_PARAMS_BYTES, 1024, 0), i);
    }
    CHECK_EQ(iop_params_add_field(g, "x", IOP_PARAMS_U8, 0, 0), -ENOSPC);
    CHECK_EQ(iop_params_add_group(p, 2, "many", IOP_PARAMS_SCALAR, 0, &g), 0);
    int r = 0;
    unsigned n = 0;
    for (; r >= 0; n++) {
        snprintf(name, sizeof(name), "f%u", n);
        r = iop_params_add_field(g, name, IOP_PARAMS_U8, 0, 0);
    }
    CHECK_EQ(r, -ENOSPC);
    CHECK_EQ(iop_params_group_field_count(g), IOP_PARAMS_FIELDS_MAX);
    iop_params_free(p);
}

static void test_rows(void) {
    struct iop_params *p;
    struct iop_params_group *t, *k;
    CHECK_EQ(iop_params_new(&p), 0);
    CHECK_EQ(iop_params_add_group(p, 0x10, "t", IOP_PARAMS_TABLE, 0, &t), 0);
    CHECK_EQ(iop_params_add_field(t, "Key", IOP_PARAMS_U32, 0, IOP_PARAMS_FIELD_KEY), 0);
    CHECK_EQ(iop_params_add_field(t, "Val", IOP_PARAMS_U8, 0, 0), 1);
    CHECK_EQ(iop_params_field_set_range(t, 1, 1, 3), 0);
    uint8_t key[4] = { 5, 0, 0, 0 };
    CHECK_EQ(iop_params_row_add(t, key, 4), 0);
    CHECK_EQ(iop_params_row_add(t, key, 4), -EEXIST);
    CHECK_EQ(iop_params_row_add(t, key, 2), -EINVAL);
    CHECK_EQ(iop_params_row_add(t, NULL, 0), -EINVAL);
    uint8_t row[5] = { 6, 0, 0, 0, 2 };
    CHECK_EQ(iop_params_row_add_packed(t, row, 5), 1);
    CHECK_EQ(iop_params_row_add_packed(t, row, 5), -EEXIST);
    CHECK_EQ(iop_params_row_add_packed(t, row, 4), -EINVAL);
    row[0] = 7;
    row[4] = 9;
    CHECK_EQ(iop_params_row_add_packed(t, row, 5), -ERANGE);
    CHECK_EQ(iop_params_group_row_count(t), 2);
    CHECK_EQ(iop_params_row_find(t, (uint8_t[]){ 6, 0, 0, 0 }, 4), 1);
    CHECK_EQ(iop_params_row_find(t, (uint8_t[]){ 8, 0, 0, 0 }, 4), -ENOENT);
    CHECK_EQ(iop_params_row(t, 1)[4], 2);
    CHECK(iop_params_row(t, 2) == NULL);
    CHECK_EQ(iop_params_row_delete(t, key, 4), 0);
    CHECK_EQ(iop_params_row_delete(t, key, 4), -ENOENT);
    CHECK_EQ(iop_params_group_row_count(t), 1);
    CHECK_EQ(iop_params_row(t, 0)[0], 6);
    iop_params_table_clear(t);
    CHECK_EQ(iop_params_group_row_count(t), 0);
    /* Many rows: growth keeps earlier rows. */
    for (uint32_t i = 0; i < IOP_PARAMS_ROWS_MAX; i++) {
        uint8_t kk[4] = { (uint8_t)i, (uint8_t)(i >> 8), 0, 0 };
        if (iop_params_row_add(t, kk, 4) != (int)i) {
            CHECK(0);
            break;
        }
    }
    CHECK_EQ(iop_params_row_add(t, (uint8_t[]){ 0xFF, 0xFF, 0, 0 }, 4), -ENOSPC);
    CHECK_EQ(le16(iop_params_row(t, 1000)), 1000);

    /* Keyless tables. */
    CHECK_EQ(iop_params_add_group(p, 0x11, "k", IOP_PARAMS_TABLE, 0, &k), 0);
    CHECK_EQ(iop_params_add_field(k, "V", IOP_PARAMS_U16, 0, 0), 0);
    CHECK_EQ(iop_params_row_add(k, NULL, 0), 0);
    CHECK_EQ(iop_params_row_add(k, NULL, 0), 1);
    CHECK_EQ(iop_params_row_add(k, key, 4), -EINVAL);
    CHECK_EQ(iop_params_row_find(k, key, 4), -EINVAL);
    /* By-name access to a keyless table: the key is the row index. */
    CHECK_EQ(iop_params_set_uint(p, 0x11, "V", (uint8_t[]){ 1, 0 }, 2, 0x4242), 0);
    CHECK_EQ(le16(iop_params_row(k, 1)), 0x4242);
    CHECK_EQ(iop_params_set_uint(p, 0x11, "V", (uint8_t[]){ 2, 0 }, 2, 1), -ENOENT);
    iop_params_free(p);
}

static void test_values(void) {
    struct iop_params *p;
    struct iop_params_group *s, *t;
    CHECK_EQ(iop_params_new(&p), 0);
    CHECK_EQ(iop_params_add_group(p, 1, "s", IOP_PARAMS_SCALAR, 0, &s), 0);
    CHECK_EQ(iop_params_add_field(s, "u8", IOP_PARAMS_U8, 0, 0), 0);
    CHECK_EQ(iop_params_add_field(s, "u16", IOP_PARAMS_U16, 0, 0), 1);
    CHECK_EQ(iop_params_add_field(s, "u64", IOP_PARAMS_U64, 0, 0), 2);
    CHECK_EQ(iop_params_add_field(s, "str", IOP_PARAMS_STRING, 4, 0), 3);
    CHECK_EQ(iop_params_add_field(s, "raw", IOP_PARAMS_BYTES, 3, 0), 4);
    CHECK_EQ(iop_params_field_set_range(s, 1, 10, 20), 0);

    uint64_t v;
    CHECK_EQ(iop_params_set_uint(p, 1, "u8", NULL, 0, 255), 0);
    CHECK_EQ(iop_params_set_uint(p, 1, "u8", NULL, 0, 256), -ERANGE);
    CHECK_EQ(iop_params_set_uint(p, 1, "u16", NULL, 0, 9), -ERANGE);
    CHECK_EQ(iop_params_set_uint(p, 1, "u16", NULL, 0, 20), 0);
    CHECK_EQ(iop_params_set_uint(p, 1, "u64", NULL, 0, 0xFEDCBA9876543210ull), 0);
    CHECK_EQ(iop_params_get_uint(p, 1, "u64", NULL, 0, &v), 0);
    CHECK(v == 0xFEDCBA9876543210ull);
    CHECK_EQ(iop_params_set_uint(p, 1, "str", NULL, 0, 1), -EINVAL);
    CHECK_EQ(iop_params_get_uint(p, 1, "str", NULL, 0, &v), -EINVAL);
    CHECK_EQ(iop_params_set_uint(p, 1, "nope", NULL, 0, 1), -ENOENT);
    CHECK_EQ(iop_params_set_uint(p, 2, "u8", NULL, 0, 1), -ENOENT);
    CHECK_EQ(iop_params_set_uint(p, 1, "u8", (uint8_t[]){ 1 }, 1, 1), -EINVAL);

    /* Packed little-endian row. */
    const uint8_t *row = iop_params_row(s, 0);
    CHECK_EQ(row[0], 255);
    CHECK_EQ(le16(row + 1), 20);
    CHECK_EQ(row[3], 0x10);
    CHECK_EQ(row[10], 0xFE);

    /* Strings: NUL-padded, full ones unterminated. */
    char buf[8];
    CHECK_EQ(iop_params_set_string(p, 1, "str", NULL, 0, "abcde"), -E2BIG);
    CHECK_EQ(iop_params_set_string(p, 1, "str", NULL, 0, "abcd"), 0);
    CHECK_MEMEQ(row + 11, "abcd", 4);
    CHECK_EQ(iop_params_get_string(p, 1, "str", NULL, 0, buf, sizeof(buf)), 4);
    CHECK_STREQ(buf, "abcd");
    CHECK_EQ(iop_params_get_string(p, 1, "str", NULL, 0, buf, 4), -ENOBUFS);
    CHECK_EQ(iop_params_set_string(p, 1, "str", NULL, 0, "x"), 0);
    CHECK_MEMEQ(row + 11, "x\0\0\0", 4);
    CHECK_EQ(iop_params_get_string(p, 1, "str", NULL, 0, buf, 2), 1);
    CHECK_EQ(iop_params_get_string(p, 1, "raw", NULL, 0, buf, 8), -EINVAL);

    /* Raw access. */
    CHECK_EQ(iop_params_set(p, 1, "raw", NULL, 0, "\1\2", 2), 0);
    CHECK_EQ(iop_params_get(p, 1, "raw", NULL, 0, buf, sizeof(buf)), 3);
    CHECK_MEMEQ(buf, "\1\2\0", 3);
    CHECK_EQ(iop_params_get(p, 1, "raw", NULL, 0, buf, 2), -ENOBUFS);
    CHECK_EQ(iop_params_set(p, 1, "raw", NULL, 0, "\1\2\3\4", 4), -EINVAL);
    CHECK_EQ(iop_params_set(p, 1, "u16", NULL, 0, "\1", 1), -EINVAL); /* integers: exact */

    /* Tables by key; key fields stay unique. */
    CHECK_EQ(iop_params_add_group(p, 2, "t", IOP_PARAMS_TABLE, 0, &t), 0);
    CHECK_EQ(iop_params_add_field(t, "Id", IOP_PARAMS_U16, 0, IOP_PARAMS_FIELD_KEY), 0);
    CHECK_EQ(iop_params_add_field(t, "X", IOP_PARAMS_U32, 0, 0), 1);
    CHECK_EQ(iop_params_row_add(t, (uint8_t[]){ 1, 0 }, 2), 0);
    CHECK_EQ(iop_params_row_add(t, (uint8_t[]){ 2, 0 }, 2), 1);
    CHECK_EQ(iop_params_set_uint(p, 2, "X", (uint8_t[]){ 2, 0 }, 2, 99), 0);
    CHECK_EQ(iop_params_get_uint(p, 2, "X", (uint8_t[]){ 2, 0 }, 2, &v), 0);
    CHECK_EQ(v, 99);
    CHECK_EQ(iop_params_get_uint(p, 2, "X", (uint8_t[]){ 3, 0 }, 2, &v), -ENOENT);
    CHECK_EQ(iop_params_get_uint(p, 2, "X", NULL, 0, &v), -EINVAL);
    CHECK_EQ(iop_params_set_uint(p, 2, "Id", (uint8_t[]){ 2, 0 }, 2, 1), -EEXIST);
    CHECK_EQ(iop_params_set_uint(p, 2, "Id", (uint8_t[]){ 2, 0 }, 2, 2), 0); /* itself */
    CHECK_EQ(iop_params_set_uint(p, 2, "Id", (uint8_t[]){ 2, 0 }, 2, 5), 0);
    CHECK_EQ(iop_params_row_find(t, (uint8_t[]){ 5, 0 }, 2), 1);
    iop_params_free(p);
}

int main(void) {
    TEST(test_builder);
    TEST(test_field_limits);
    TEST(test_rows);
    TEST(test_values);
    return test_summary();
}
