/* Persistence: round trips, what is kept and what is skipped, refused blobs. */
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

static struct iop_params *model(void) {
    struct iop_params *p = NULL;
    CHECK_EQ(iop_params_fuzz_model(&p), 0);
    return p;
}

static uint8_t *save(const struct iop_params *p, size_t *n) {
    uint8_t *b = NULL;
    CHECK_EQ(iop_params_save(p, &b, n), 0);
    return b;
}

static uint64_t getu(struct iop_params *p, uint16_t g, const char *f, const void *key, size_t kl) {
    uint64_t v = 0xDEAD;
    CHECK_EQ(iop_params_get_uint(p, g, f, key, kl, &v), 0);
    return v;
}

/* Change things through the wire, save, load into a fresh model, compare. */
static void test_round_trip(void) {
    struct iop_params *p = model();
    CHECK_EQ(iop_params_set_uint(p, SC, "Mode", NULL, 0, 4), 0);
    CHECK_EQ(iop_params_set_string(p, SC, "Label", NULL, 0, "persist me"), 0);
    CHECK_EQ(iop_params_set(p, SC, "Secret", NULL, 0, "\x11\x22\x33\x44", 4), 0);
    CHECK_EQ(iop_params_set_uint(p, SC, "Serial", NULL, 0, 5), 0); /* read-only: not saved */
    CHECK_EQ(iop_params_set_string(p, IOP_PARAMS_GROUP_USER_INFO, "DeviceName", NULL, 0, "renamed"),
             0);
    struct iop_params_group *t = iop_params_find_group(p, TB);
    CHECK_EQ(iop_params_row_delete(t, (uint8_t[]){ 2, 0 }, 2), 0);
    CHECK_EQ(iop_params_row_add(t, (uint8_t[]){ 9, 0 }, 2), 2);
    CHECK_EQ(iop_params_set_uint(p, TB, "Stamp", (uint8_t[]){ 9, 0 }, 2, 99), 0);
    iop_params_table_clear(iop_params_find_group(p, KL));

    size_t n;
    uint8_t *blob = save(p, &n);
    CHECK(n > 16);
    CHECK_MEMEQ(blob, "IOPP", 4);

    struct iop_params *q = model();
    int applied = iop_params_load(q, blob, n);
    CHECK(applied > 0);
    CHECK_EQ(getu(q, SC, "Mode", NULL, 0), 4);
    CHECK_EQ(getu(q, SC, "Serial", NULL, 0), 0x0102030405060708ull);
    char s[16];
    CHECK_EQ(iop_params_get_string(q, SC, "Label", NULL, 0, s, sizeof(s)), 10);
    CHECK_STREQ(s, "persist me");
    uint8_t sec[4];
    CHECK_EQ(iop_params_get(q, SC, "Secret", NULL, 0, sec, 4), 4);
    CHECK_MEMEQ(sec, "\x11\x22\x33\x44", 4);
    char dn[80];
    CHECK_EQ(iop_params_get_string(q, IOP_PARAMS_GROUP_USER_INFO, "DeviceName", NULL, 0, dn,
                                   sizeof(dn)), 7);
    /* The dynamic table was replaced, rows in order, read-only fields included. */
    struct iop_params_group *qt = iop_params_find_group(q, TB);
    CHECK_EQ(iop_params_group_row_count(qt), 3);
    CHECK_EQ(le16(iop_params_row(qt, 0)), 1);
    CHECK_EQ(le16(iop_params_row(qt, 1)), 3);
    CHECK_EQ(le16(iop_params_row(qt, 2)), 9);
    CHECK_EQ(getu(q, TB, "Stamp", (uint8_t[]){ 9, 0 }, 2), 99);
    CHECK_EQ(getu(q, TB, "Stamp", (uint8_t[]){ 3, 0 }, 2), 1003);
    CHECK_EQ(iop_params_group_row_count(iop_params_find_group(q, KL)), 0);

    /* Saving again gives the same bytes. */
    size_t n2;
    uint8_t *blob2 = save(q, &n2);
    CHECK(n2 == n && memcmp(blob, blob2, n) == 0);
    free(blob2);
    free(blob);
    iop_params_free(q);
    iop_params_free(p);
}

/* A blob from a model with more and different groups loads into a smaller one. */
static void test_schema_changes(void) {
    struct iop_params *old, *cur;
    struct iop_params_group *g;
    CHECK_EQ(iop_params_new(&old), 0);
    CHECK_EQ(iop_params_add_group(old, 0x8000, "s", IOP_PARAMS_SCALAR, 0, &g), 0);
    CHECK_EQ(iop_params_add_field(g, "Gone", IOP_PARAMS_U32, 0, IOP_PARAMS_FIELD_RW), 0);
    CHECK_EQ(iop_params_add_field(g, "Name", IOP_PARAMS_STRING, 4, IOP_PARAMS_FIELD_RW), 1);
    CHECK_EQ(iop_params_add_field(g, "Width", IOP_PARAMS_U16, 0, IOP_PARAMS_FIELD_RW), 2);
    CHECK_EQ(iop_params_add_field(g, "Big", IOP_PARAMS_BYTES, 8, IOP_PARAMS_FIELD_RW), 3);
    CHECK_EQ(iop_params_add_field(g, "NowRO", IOP_PARAMS_U8, 0, IOP_PARAMS_FIELD_RW), 4);
    CHECK_EQ(iop_params_add_field(g, "Ranged", IOP_PARAMS_U8, 0, IOP_PARAMS_FIELD_RW), 5);
    CHECK_EQ(iop_params_add_group(old, 0x8001, "gone group", IOP_PARAMS_SCALAR, 0, &g), 0);
    CHECK_EQ(iop_params_add_field(g, "X", IOP_PARAMS_U8, 0, IOP_PARAMS_FIELD_RW), 0);
    CHECK_EQ(iop_params_add_group(old, 0x8002, "static", IOP_PARAMS_TABLE, 0, &g), 0);
    CHECK_EQ(iop_params_add_field(g, "Id", IOP_PARAMS_U16, 0, IOP_PARAMS_FIELD_KEY), 0);
    CHECK_EQ(iop_params_add_field(g, "Note", IOP_PARAMS_U8, 0, IOP_PARAMS_FIELD_RW), 1);
    CHECK_EQ(iop_params_row_add(g, (uint8_t[]){ 1, 0 }, 2), 0);
    CHECK_EQ(iop_params_row_add(g, (uint8_t[]){ 2, 0 }, 2), 1);
    CHECK_EQ(iop_params_set_uint(old, 0x8000, "Gone", NULL, 0, 1), 0);
    CHECK_EQ(iop_params_set_string(old, 0x8000, "Name", NULL, 0, "abc"), 0);
    CHECK_EQ(iop_params_set_uint(old, 0x8000, "Width", NULL, 0, 0x1234), 0);
    CHECK_EQ(iop_params_set(old, 0x8000, "Big", NULL, 0, "12345678", 8), 0);
    CHECK_EQ(iop_params_set_uint(old, 0x8000, "NowRO", NULL, 0, 7), 0);
    CHECK_EQ(iop_params_set_uint(old, 0x8000, "Ranged", NULL, 0, 200), 0);
    CHECK_EQ(iop_params_set_uint(old, 0x8002, "Note", (uint8_t[]){ 1, 0 }, 2, 11), 0);
    CHECK_EQ(iop_params_set_uint(old, 0x8002, "Note", (uint8_t[]){ 2, 0 }, 2, 22), 0);

    /* The new version: Name grew, Width became u32, Big shrank, NowRO is read-only,
     * Ranged has a range, row 2 of the static table is gone. */
    CHECK_EQ(iop_params_new(&cur), 0);
    CHECK_EQ(iop_params_add_group(cur, 0x8000, "s", IOP_PARAMS_SCALAR, 0, &g), 0);
    CHECK_EQ(iop_params_add_field(g, "Name", IOP_PARAMS_STRING, 8, IOP_PARAMS_FIELD_RW), 0);
    CHECK_EQ(iop_params_add_field(g, "Width", IOP_PARAMS_U32, 0, IOP_PARAMS_FIELD_RW), 1);
    CHECK_EQ(iop_params_add_field(g, "Big", IOP_PARAMS_BYTES, 4, IOP_PARAMS_FIELD_RW), 2);
    CHECK_EQ(iop_params_add_field(g, "NowRO", IOP_PARAMS_U8, 0, 0), 3);
    CHECK_EQ(iop_params_add_field(g, "Ranged", IOP_PARAMS_U8, 0, IOP_PARAMS_FIELD_RW), 4);
    CHECK_EQ(iop_params_field_set_range(g, 4, 0, 100), 0);
    CHECK_EQ(iop_params_add_group(cur, 0x8002, "static", IOP_PARAMS_TABLE, 0, &g), 0);
    CHECK_EQ(iop_params_add_field(g, "Id", IOP_PARAMS_U16, 0, IOP_PARAMS_FIELD_KEY), 0);
    CHECK_EQ(iop_params_add_field(g, "Note", IOP_PARAMS_U8, 0, IOP_PARAMS_FIELD_RW), 1);
    CHECK_EQ(iop_params_row_add(g, (uint8_t[]){ 1, 0 }, 2), 0);

    size_t n;
    uint8_t *blob = save(old, &n);
    /* Applied: Name (shorter string fits) and Note of row 1; nothing else. */
    CHECK_EQ(iop_params_load(cur, blob, n), 2);
    char s[16];
    CHECK_EQ(iop_params_get_string(cur, 0x8000, "Name", NULL, 0, s, sizeof(s)), 3);
    CHECK_STREQ(s, "abc");
    CHECK_EQ(getu(cur, 0x8000, "Width", NULL, 0), 0);
    CHECK_EQ(getu(cur, 0x8000, "NowRO", NULL, 0), 0);
    CHECK_EQ(getu(cur, 0x8000, "Ranged", NULL, 0), 0);
    uint8_t big[4];
    CHECK_EQ(iop_params_get(cur, 0x8000, "Big", NULL, 0, big, 4), 4);
    CHECK_MEMEQ(big, "\0\0\0\0", 4);
    CHECK_EQ(getu(cur, 0x8002, "Note", (uint8_t[]){ 1, 0 }, 2), 11);
    CHECK_EQ(iop_params_group_row_count(g), 1); /* static table: rows are not recreated */
    free(blob);
    iop_params_free(old);
    iop_params_free(cur);
}

static void test_refused(void) {
    struct iop_params *p = model();
    CHECK_EQ(iop_params_set_uint(p, SC, "Mode", NULL, 0, 9), 0);
    size_t n;
    uint8_t *blob = save(p, &n);
    struct iop_params *q = model();
    size_t n0;
    uint8_t *s0 = save(q, &n0);

    /* Any truncation, any flipped bit: refused, nothing applied. */
    unsigned refused = 0, tried = 0;
    for (size_t cut = 0; cut < n; cut++, tried++)
        refused += iop_params_load(q, blob, cut) == -EBADMSG;
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit += 3) {
            blob[i] ^= (uint8_t)(1u << bit);
            refused += iop_params_load(q, blob, n) == -EBADMSG;
            tried++;
            blob[i] ^= (uint8_t)(1u << bit);
        }
    CHECK_EQ(refused, tried);
    size_t n1;
    uint8_t *s1 = save(q, &n1);
    CHECK(n1 == n0 && memcmp(s0, s1, n0) == 0);
    CHECK_EQ(getu(q, SC, "Mode", NULL, 0), 0);

    CHECK_EQ(iop_params_load(q, NULL, 0), -EBADMSG);
    CHECK_EQ(iop_params_load(q, blob, (size_t)IOP_PARAMS_BLOB_MAX + 1), -E2BIG);
    CHECK(iop_params_load(q, blob, n) > 0);
    CHECK_EQ(getu(q, SC, "Mode", NULL, 0), 9);
    free(s0);
    free(s1);
    free(blob);
    iop_params_free(q);
    iop_params_free(p);
}

/* A blob whose CRC is right but whose records are not (a hand-made one). */
static void test_bad_records(void) {
    struct iop_params *p = model();
    size_t n;
    uint8_t *blob = save(p, &n);
    /* Claim one more record than there are, then fix the CRC up the way save does. */
    blob[8]++;
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n - 4; i++) {
        crc ^= blob[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    crc = ~crc;
    blob[n - 4] = (uint8_t)crc;
    blob[n - 3] = (uint8_t)(crc >> 8);
    blob[n - 2] = (uint8_t)(crc >> 16);
    blob[n - 1] = (uint8_t)(crc >> 24);
    CHECK_EQ(iop_params_load(p, blob, n), -EBADMSG);
    blob[8]--; /* back to the right count: the stale CRC now refuses it */
    CHECK_EQ(iop_params_load(p, blob, n), -EBADMSG);
    free(blob);
    iop_params_free(p);
}

int main(void) {
    TEST(test_round_trip);
    TEST(test_schema_changes);
    TEST(test_refused);
    TEST(test_bad_records);
    return test_summary();
}
