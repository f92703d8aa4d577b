/* A tiny test harness: no framework, just checks that report file:line and count.
 *
 *   int main(void) { TEST(foo); TEST(bar); return test_summary(); }
 *
 * Exit status: 0 all passed, 1 a check failed, 77 (meson SKIP) via test_skip(). */
#pragma once

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures;
static int test_checks;
static const char *test_current = "?";

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        test_checks++;                                                                     \
        if (!(cond)) {                                                                     \
            test_failures++;                                                               \
            fprintf(stderr, "%s:%d: [%s] CHECK failed: %s\n", __FILE__, __LINE__,          \
                    test_current, #cond);                                                  \
        }                                                                                  \
    } while (0)

/* Compare two integers and print both on failure. */
#define CHECK_EQ(a, b)                                                                     \
    do {                                                                                   \
        long long _a = (long long)(a), _b = (long long)(b);                                \
        test_checks++;                                                                     \
        if (_a != _b) {                                                                    \
            test_failures++;                                                               \
            fprintf(stderr, "%s:%d: [%s] CHECK_EQ failed: %s == %lld, %s == %lld\n",       \
                    __FILE__, __LINE__, test_current, #a, _a, #b, _b);                     \
        }                                                                                  \
    } while (0)

#define CHECK_STREQ(a, b)                                                                  \
    do {                                                                                   \
        const char *_a = (a), *_b = (b);                                                   \
        test_checks++;                                                                     \
        if (!_a || !_b || strcmp(_a, _b) != 0) {                                           \
            test_failures++;                                                               \
            fprintf(stderr, "%s:%d: [%s] CHECK_STREQ failed:\n  %s = \"%s\"\n  %s = \"%s\"\n", \
                    __FILE__, __LINE__, test_current, #a, _a ? _a : "(null)", #b,          \
                    _b ? _b : "(null)");                                                   \
        }                                                                                  \
    } while (0)

#define CHECK_MEMEQ(a, b, n)                                                               \
    do {                                                                                   \
        test_checks++;                                                                     \
        if (memcmp((a), (b), (n)) != 0) {                                                  \
            test_failures++;                                                               \
            fprintf(stderr, "%s:%d: [%s] CHECK_MEMEQ failed: %s vs %s (%zu bytes)\n",      \
                    __FILE__, __LINE__, test_current, #a, #b, (size_t)(n));                \
        }                                                                                  \
    } while (0)

#define TEST(fn)                                                                           \
    do {                                                                                   \
        int _before = test_failures;                                                       \
        test_current = #fn;                                                                \
        fn();                                                                              \
        printf("%s %s\n", test_failures == _before ? "ok  " : "FAIL", #fn);               \
    } while (0)

static inline int test_summary(void) {
    printf("%d checks, %d failed\n", test_checks, test_failures);
    return test_failures ? 1 : 0;
}

static inline int test_skip(const char *why) {
    printf("SKIP: %s\n", why);
    return 77;
}

/* A fixed-seed xorshift64* generator for deterministic random test inputs (failures
 * reproduce): seed it with test_rand_seed, then draw with test_rand. */
static uint64_t test_rand_state = 0x9E3779B97F4A7C15ull;
static inline void test_rand_seed(uint64_t seed) { test_rand_state = seed ? seed : 1; }
static inline uint32_t test_rand(void) {
    test_rand_state ^= test_rand_state >> 12;
    test_rand_state ^= test_rand_state << 25;
    test_rand_state ^= test_rand_state >> 27;
    return (uint32_t)((test_rand_state * 0x2545F4914F6CDD1Dull) >> 32);
}
