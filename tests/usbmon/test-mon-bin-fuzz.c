/* Deterministic fuzzing of iop_mon_bin_fuzz_one(): random scripts, then scripts built
 * from meaningful steps and mutated.  Every input must keep the invariants
 * lib/usbmon/bin-fuzz.h lists; run under ASan/UBSan for memory errors. */
#include <stdlib.h>

#include "lib/usbmon/bin-fuzz.h"
#include "lib/util/log.h"
#include "testutil.h"

#define RANDOM_CASES 1000
#define BUILT_CASES 1000

static uint64_t rng = 0x2545F4914F6CDD1Dull; /* fixed seed: failures reproduce */

static uint32_t next(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 32);
}

static void test_random(void) {
    static uint8_t buf[4096];
    unsigned failed = 0;
    for (unsigned i = 0; i < RANDOM_CASES; i++) {
        size_t len = 1 + next() % sizeof(buf);
        for (size_t k = 0; k < len; k++)
            buf[k] = (uint8_t)next();
        if (iop_mon_bin_fuzz_one(buf, len) != 0)
            failed++;
    }
    CHECK_EQ(failed, 0);
}

/* Scripts made of steps with plausible operands: many events, then reads and GETs
 * with good pointers, so the checks on delivered bytes run often. */
static size_t build(uint8_t *b, size_t cap) {
    size_t n = 0;
    while (n + 64 < cap) {
        unsigned kind = next() % 8;
        if (kind < 3) { /* an event: op 0, then its bytes */
            b[n++] = 0;
            for (unsigned k = 0; k < 24; k++)
                b[n++] = (uint8_t)next();
        } else if (kind < 5) { /* GET with good pointers: op 3 */
            b[n++] = 3;
            b[n++] = (uint8_t)next();          /* compat */
            b[n++] = (uint8_t)next();          /* ext */
            b[n++] = 9;                        /* hdr: the good buffer */
            b[n++] = 9;                        /* data: the good buffer */
            b[n++] = (uint8_t)(next() % 200);  /* alloc from the table */
            b[n++] = 9;                        /* arg: the good struct */
            b[n++] = (uint8_t)next();          /* if it waits */
        } else if (kind < 6) { /* read: op 8 */
            b[n++] = 8;
            b[n++] = (uint8_t)(next() % 220);
        } else if (kind < 7) { /* MFETCH: op 5 */
            b[n++] = 5;
            for (unsigned k = 0; k < 8; k++)
                b[n++] = (uint8_t)next();
        } else { /* STATS, URB_LEN, ring size, MFLUSH: op 6 */
            b[n++] = 6;
            for (unsigned k = 0; k < 6; k++)
                b[n++] = (uint8_t)next();
        }
    }
    return n;
}

static void test_built(void) {
    static uint8_t buf[8192];
    unsigned failed = 0;
    for (unsigned i = 0; i < BUILT_CASES; i++) {
        size_t len = build(buf, 256 + next() % (sizeof(buf) - 256));
        unsigned muts = next() % 4;
        for (unsigned m = 0; m < muts && len; m++)
            buf[next() % len] ^= (uint8_t)(1u << (next() % 8));
        if (iop_mon_bin_fuzz_one(buf, len) != 0)
            failed++;
    }
    CHECK_EQ(failed, 0);
}

static void test_edges(void) {
    CHECK_EQ(iop_mon_bin_fuzz_one(NULL, 0), 0);
    CHECK_EQ(iop_mon_bin_fuzz_one((const uint8_t *)"", 0), 0);
    static uint8_t ff[2048], zero[2048];
    memset(ff, 0xFF, sizeof(ff));
    CHECK_EQ(iop_mon_bin_fuzz_one(ff, sizeof(ff)), 0);
    CHECK_EQ(iop_mon_bin_fuzz_one(zero, sizeof(zero)), 0);
}

static void quiet(void *ctx, int level, const char *msg) {
    (void)ctx;
    if (level <= LOG_ERR)
        fprintf(stderr, "%s\n", msg);
}

int main(void) {
    iop_log_set_sink(quiet, NULL);
    TEST(test_edges);
    TEST(test_random);
    TEST(test_built);
    return test_summary();
}
