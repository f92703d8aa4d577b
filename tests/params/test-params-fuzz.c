/* Deterministic fuzzing of iop_params_fuzz_one(): random bytes, then valid operation
 * lists mutated (bit flips, truncation, insertion, count changes).  Every input must
 * keep the invariants params-fuzz.h lists; run under ASan/UBSan for memory errors. */
#include <stdlib.h>

#include "lib/params/params-fuzz.h"
#include "lib/util/cleanup.h"
#include "lib/util/log.h"
#include "params-test.h"
#include "testutil.h"

#define RANDOM_CASES 5000
#define MUTATED_CASES 15000

static uint64_t rng = 0x9E3779B97F4A7C15ull; /* fixed seed: failures reproduce */

static uint32_t next(void) {
    /* xorshift64* */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 32);
}

/* Valid lists for the fuzz model, one of each operation and some mixes. */
static size_t seed_list(unsigned which, uint8_t *out, size_t cap) {
    struct oplist o;
    ol_init(&o);
    uint16_t g = (uint16_t)(0x8000 + which % 3);
    switch (which % 8) {
    case 0:
        ol_op(&o, OP_FIELD_GET, g);
        ol_fields(&o, ALL, NULL);
        ol_op(&o, OP_SIZE_GET, g);
        ol_fields(&o, 2, (uint16_t[]){ 0, 1 });
        break;
    case 1:
        ol_op(&o, OP_TABLE_GET, 0x8001);
        ol_fields(&o, ALL, NULL);
        ol_op(&o, OP_LIST_GET, 0x8001);
        ol_fields(&o, 1, (uint16_t[]){ 3 });
        ol_u16(&o, 2);
        ol_u16(&o, 1);
        ol_u16(&o, 3);
        ol_op(&o, OP_MORE_GET, 0x8001);
        ol_fields(&o, ALL, NULL);
        ol_u16(&o, 1);
        break;
    case 2:
        ol_op(&o, OP_FIELD_SET, 0x8000);
        ol_fields(&o, 2, (uint16_t[]){ 0, 4 });
        ol_u8(&o, 3);
        ol_bytes(&o, "label\0\0\0\0\0\0\0", 12);
        break;
    case 3:
        ol_op(&o, OP_LIST_SET, 0x8001);
        ol_fields(&o, 2, (uint16_t[]){ 1, 0 });
        ol_u16(&o, 1);
        ol_u16(&o, 2);
        ol_u8(&o, 4);
        ol_u16(&o, 12);
        break;
    case 4:
        ol_op(&o, OP_ROW_ADD, 0x8001);
        ol_fields(&o, ALL, NULL);
        ol_u16(&o, 1);
        ol_u16(&o, 50);
        ol_u8(&o, 2);
        ol_bytes(&o, "fifty\0\0\0", 8);
        ol_u32(&o, 7);
        ol_op(&o, OP_ROW_ADD, 0x8002);
        ol_fields(&o, ALL, NULL);
        ol_u16(&o, 1);
        ol_u32(&o, 5);
        break;
    case 5:
        ol_op(&o, OP_ROW_DELETE, 0x8001);
        ol_u16(&o, 2);
        ol_u16(&o, 1);
        ol_u16(&o, 2);
        ol_op(&o, OP_TABLE_CLEAR, 0x8002);
        break;
    case 6:
        ol_op(&o, OP_FIELD_GET, 0xF100);
        ol_fields(&o, ALL, NULL);
        ol_op(&o, OP_TABLE_GET, 0xF000);
        ol_fields(&o, ALL, NULL);
        ol_op(&o, OP_FIELD_GET, 0x0001);
        ol_fields(&o, ALL, NULL);
        break;
    default:
        ol_op(&o, OP_FIELD_SET, 0xF102);
        ol_fields(&o, 1, (uint16_t[]){ 3 });
        ol_u32(&o, 9);
        ol_op(&o, OP_LIST_SET, 0x8001);
        ol_fields(&o, 1, (uint16_t[]){ 2 });
        ol_u16(&o, 1);
        ol_u16(&o, 3);
        ol_bytes(&o, "three\0\0\0", 8);
        break;
    }
    size_t n = IOP_MIN(o.len, cap);
    memcpy(out, o.b, n);
    return n;
}

static void test_random(void) {
    static uint8_t buf[512];
    unsigned failed = 0;
    for (unsigned i = 0; i < RANDOM_CASES; i++) {
        size_t len = 1 + next() % sizeof(buf);
        for (size_t k = 0; k < len; k++)
            buf[k] = (uint8_t)next();
        /* A plausible header most of the time, so the parser gets past it. */
        if (len >= 5 && (next() & 3)) {
            buf[1] = (uint8_t)(1 + next() % 4);
            buf[2] = 0;
        }
        if (iop_params_fuzz_one(buf, len) != 0)
            failed++;
    }
    CHECK_EQ(failed, 0);
}

static void test_mutated(void) {
    static uint8_t buf[1024];
    unsigned failed = 0;
    for (unsigned i = 0; i < MUTATED_CASES; i++) {
        buf[0] = (uint8_t)next(); /* message type and result capacity */
        size_t len = 1 + seed_list(next(), buf + 1, sizeof(buf) - 1);
        unsigned muts = 1 + next() % 4;
        for (unsigned m = 0; m < muts; m++) {
            switch (next() % 6) {
            case 0: /* flip a bit */
                if (len > 1)
                    buf[1 + next() % (len - 1)] ^= (uint8_t)(1u << (next() % 8));
                break;
            case 1: /* truncate */
                len = 1 + next() % len;
                break;
            case 2: /* insert a byte */
                if (len < sizeof(buf)) {
                    size_t at = 1 + next() % len;
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = (uint8_t)next();
                    len++;
                }
                break;
            case 3: /* OperationCount off by a little */
                if (len > 2)
                    buf[1] = (uint8_t)(buf[1] + (next() % 3) - 1);
                break;
            case 4: /* an interesting u16 somewhere */
                if (len > 3) {
                    static const uint16_t v[] = { 0, 1, 0xFFFF, 0xFFFE, 0x8000, 0x8001, 0x8002,
                                                  0xF000, 11, 0x7FFF };
                    size_t at = 1 + next() % (len - 2);
                    uint16_t x = v[next() % (sizeof(v) / sizeof(v[0]))];
                    buf[at] = (uint8_t)x;
                    buf[at + 1] = (uint8_t)(x >> 8);
                }
                break;
            default: /* append a second valid list's operations */
                if (len > 5) {
                    uint8_t more[256];
                    size_t n = seed_list(next(), more, sizeof(more));
                    if (n > 4 && len + n - 4 <= sizeof(buf)) {
                        memcpy(buf + len, more + 4, n - 4);
                        len += n - 4;
                        buf[1] = (uint8_t)(buf[1] + more[0]);
                    }
                }
                break;
            }
        }
        if (iop_params_fuzz_one(buf, len) != 0)
            failed++;
    }
    CHECK_EQ(failed, 0);
}

/* The unmutated seeds must all be executed successfully in both message types. */
static void test_seeds(void) {
    static uint8_t buf[1024];
    for (unsigned which = 0; which < 24; which++)
        for (unsigned flags = 0; flags < 16; flags++) {
            buf[0] = (uint8_t)flags;
            size_t len = 1 + seed_list(which, buf + 1, sizeof(buf) - 1);
            CHECK_EQ(iop_params_fuzz_one(buf, len), 0);
        }
    CHECK_EQ(iop_params_fuzz_one(NULL, 0), 0);
    CHECK_EQ(iop_params_fuzz_one((const uint8_t *)"", 0), 0);
}

static void quiet(void *ctx, int level, const char *msg) {
    (void)ctx;
    if (level <= LOG_ERR)
        fprintf(stderr, "%s\n", msg);
}

int main(void) {
    iop_log_set_sink(quiet, NULL);
    TEST(test_seeds);
    TEST(test_random);
    TEST(test_mutated);
    return test_summary();
}
