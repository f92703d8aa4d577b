/* lib/util/crc32: iop_crc32 (the carry-less multiply on a CPU that has it, the table for
 * the rest) and iop_crc32_table against a bitwise reference that shares no code with them:
 * every short length, long ones at every alignment, any initial value, any split. */
#include <stdbool.h>

#include "lib/util/crc32.h"
#include "testutil.h"

#define MAX_LEN 70000

/* Bit at a time, no table: what both ways must equal. */
static uint32_t ref_crc32(uint32_t crc, const uint8_t *p, size_t n) {
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int i = 0; i < 8; i++)
            crc = (crc & 1) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    }
    return ~crc;
}

static uint8_t data[MAX_LEN + 16];

static void fill_random(uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)test_rand();
}

static uint32_t nonzero_rand(void) {
    uint32_t v;
    while ((v = test_rand()) == 0)
        ;
    return v;
}

/* All three agree on p[0..n) from crc; a copy in a block of exactly n bytes, so that
 * AddressSanitizer sees any read past the end.  Returns whether they agreed. */
static bool agree(uint32_t crc, const uint8_t *p, size_t n, size_t align) {
    uint8_t *block = malloc(align + n ? align + n : 1);
    CHECK(block != NULL);
    if (!block)
        return false;
    memcpy(block + align, p, n);
    uint32_t want = ref_crc32(crc, p, n);
    uint32_t fast = iop_crc32(crc, block + align, n);
    uint32_t table = iop_crc32_table(crc, block + align, n);
    free(block);
    if (fast == want && table == want)
        return true;
    CHECK_EQ(fast, want);
    CHECK_EQ(table, want);
    fprintf(stderr, "  n %zu, alignment %zu, initial crc 0x%08x\n", n, align, (unsigned)crc);
    return false;
}

static void test_check_value(void) {
    CHECK_EQ(ref_crc32(0, (const uint8_t *)"123456789", 9), 0xCBF43926u);
    CHECK_EQ(iop_crc32(0, "123456789", 9), 0xCBF43926u);
    CHECK_EQ(iop_crc32_table(0, "123456789", 9), 0xCBF43926u);
    CHECK_EQ(iop_crc32(0, "", 0), 0);
    CHECK_EQ(iop_crc32(0x12345678u, "", 0), 0x12345678u);
    /* zlib.crc32(b'\0' * 4096) and zlib.crc32(b'\xff' * 4096): the long path on known data */
    memset(data, 0, 4096);
    CHECK_EQ(iop_crc32(0, data, 4096), 0xC71C0011u);
    memset(data, 0xff, 4096);
    CHECK_EQ(iop_crc32(0, data, 4096), 0xF154670Au);
    CHECK(agree(0, data, 4096, 0));
}

/* Every length to 300 (both sides of 64 and of each 16), from 0 and from a random start,
 * at every alignment. */
static void test_short_lengths(void) {
    fill_random(data, 300);
    for (size_t n = 0; n <= 300; n++) {
        bool ok = agree(0, data, n, n % 16) && agree(nonzero_rand(), data, n, (n + 7) % 16);
        CHECK(ok);
        if (!ok)
            return;
    }
}

static void test_random_lengths(void) {
    fill_random(data, sizeof(data));
    for (int i = 0; i < 200; i++) {
        size_t n = test_rand() % (MAX_LEN + 1), off = test_rand() % 16;
        if (!agree(nonzero_rand(), data + off, n, test_rand() % 16))
            return;
    }
}

/* Cut one buffer at random points: the pieces' chained CRC equals one call's, both ways. */
static void test_incremental(void) {
    fill_random(data, sizeof(data));
    for (int i = 0; i < 200; i++) {
        size_t n = test_rand() % (MAX_LEN + 1);
        uint32_t crc = i % 2 ? nonzero_rand() : 0;
        uint32_t want = ref_crc32(crc, data, n), fast = crc, table = crc;
        size_t at = 0;
        while (at < n) {
            /* mostly pieces of a few KiB, sometimes a short one */
            size_t piece = test_rand() % 4 == 0 ? test_rand() % 100 : test_rand() % 9000;
            if (piece > n - at)
                piece = n - at;
            fast = iop_crc32(fast, data + at, piece);
            table = iop_crc32_table(table, data + at, piece);
            at += piece;
        }
        CHECK_EQ(fast, want);
        CHECK_EQ(table, want);
        if (fast != want || table != want)
            return;
    }
}

int main(void) {
#if defined(__x86_64__)
    bool pclmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
#else
    bool pclmul = false;
#endif
    printf("iop_crc32 on this CPU: %s\n",
           pclmul ? "PCLMULQDQ folding for 64 bytes and more" : "the table only (no PCLMULQDQ)");
    test_rand_seed(0x43524333u);
    TEST(test_check_value);
    TEST(test_short_lengths);
    TEST(test_random_lengths);
    TEST(test_incremental);
    return test_summary();
}
