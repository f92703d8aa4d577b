/* Helpers for fuzz entry points.
 *
 * A fuzz entry point is `int iop_<thing>_fuzz_one(const uint8_t *data, size_t len)` in
 * lib/<module>/<thing>-fuzz.c (tests/fuzz/ when it needs test doubles): it runs one
 * input through the code under test and returns 0, or nonzero when an invariant broke
 * (after saying which with IOP_FUZZ_FAIL).  It is deterministic and keeps no state
 * between calls.  tests/fuzz/ runs every entry point under libFuzzer (clang) and, in
 * every build, over its seed corpus and mutations of it under ASan (tests/fuzz/README).
 *
 * The drivers print log messages of level LOG_CRIT and above only: the code under test
 * logs a lot for damaged input, invariant failures use LOG_CRIT.
 *
 * struct iop_fuzz_in consumes structured values from the input: past the end every
 * value reads as 0 and every byte string as empty, so a harness never has to check
 * lengths and a truncated input is simply a shorter run.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/util/log.h"

#define IOP_FUZZ_FAIL(...) (iop_log(LOG_CRIT, "fuzz: invariant broken: " __VA_ARGS__), -EIO)

struct iop_fuzz_in {
    const uint8_t *p;
    size_t n;
};

static inline struct iop_fuzz_in iop_fuzz_in(const uint8_t *data, size_t len) {
    return (struct iop_fuzz_in){ data ? data : (const uint8_t *)"", data ? len : 0 };
}

static inline bool iop_fuzz_empty(const struct iop_fuzz_in *in) { return in->n == 0; }

static inline uint8_t iop_fuzz_u8(struct iop_fuzz_in *in) {
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint16_t iop_fuzz_u16(struct iop_fuzz_in *in) {
    uint16_t v = iop_fuzz_u8(in);
    return (uint16_t)(v | iop_fuzz_u8(in) << 8);
}

static inline uint32_t iop_fuzz_u32(struct iop_fuzz_in *in) {
    uint32_t v = iop_fuzz_u16(in);
    return v | (uint32_t)iop_fuzz_u16(in) << 16;
}

static inline uint64_t iop_fuzz_u64(struct iop_fuzz_in *in) {
    uint64_t v = iop_fuzz_u32(in);
    return v | (uint64_t)iop_fuzz_u32(in) << 32;
}

/* Up to n bytes (fewer at the end of the input): *ret points into the input. */
static inline size_t iop_fuzz_bytes(struct iop_fuzz_in *in, size_t n, const uint8_t **ret) {
    if (n > in->n)
        n = in->n;
    *ret = in->p;
    in->p += n;
    in->n -= n;
    return n;
}

/* Copy up to n bytes into dst, zero-filling what the input does not have. */
static inline void iop_fuzz_fill(struct iop_fuzz_in *in, void *dst, size_t n) {
    const uint8_t *src;
    size_t got = iop_fuzz_bytes(in, n, &src);
    memcpy(dst, src, got);
    memset((uint8_t *)dst + got, 0, n - got);
}

/* A length-prefixed chunk: a u16 length (capped by max), then that many bytes. */
static inline size_t iop_fuzz_chunk(struct iop_fuzz_in *in, size_t max, const uint8_t **ret) {
    size_t n = iop_fuzz_u16(in);
    return iop_fuzz_bytes(in, n < max ? n : max, ret);
}

/* The rest of the input. */
static inline size_t iop_fuzz_rest(struct iop_fuzz_in *in, const uint8_t **ret) {
    return iop_fuzz_bytes(in, in->n, ret);
}
