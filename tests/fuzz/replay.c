/* The unit-test driver of one fuzz entry point (lib/util/fuzz.h), in every build (gcc
 * with ASan and UBSan in tests/run-all): runs the target's committed seed corpus, then
 * deterministic mutations of it and random inputs, and fails on the first input that
 * breaks an invariant (or that ASan/UBSan stops).  That input is written to
 * fuzz-failure-<target>.bin in the working directory, to replay with the libFuzzer
 * binary or this one:
 *
 *   replay-<target> CORPUS_DIR [COUNT]     COUNT mutated+random inputs (default 2000)
 *   replay-<target> -f FILE...             just these inputs
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/log.h"

#ifndef IOP_FUZZ_ONE
#error "IOP_FUZZ_ONE: the entry point this driver runs"
#endif
#ifndef IOP_FUZZ_NAME
#error "IOP_FUZZ_NAME: the target's name"
#endif

int IOP_FUZZ_ONE(const uint8_t *data, size_t len);

#define REPLAY_MAX_INPUT 65536u
#define MAX_SEEDS 512u

struct blob {
    uint8_t *p;
    size_t n;
};

static struct blob seeds[MAX_SEEDS];
static unsigned n_seeds;
static uint64_t rng = 0x2545F4914F6CDD1Dull; /* fixed: a failure reproduces */

static uint32_t next(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 32);
}

static void sink(void *ctx, int level, const char *msg) {
    (void)ctx;
    if (level <= LOG_CRIT)
        fprintf(stderr, "%s\n", msg);
}

static int load(const char *path, struct blob *b) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    b->p = malloc(REPLAY_MAX_INPUT);
    b->n = b->p ? fread(b->p, 1, REPLAY_MAX_INPUT, f) : 0;
    fclose(f);
    return b->p ? 0 : -ENOMEM;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order (so the run does not depend on readdir). */
static int load_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    char *names[MAX_SEEDS];
    unsigned n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < MAX_SEEDS)
        if (de->d_name[0] != '.')
            names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_names);
    for (unsigned i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (names[i] && load(path, &seeds[n_seeds]) == 0)
            n_seeds++;
        free(names[i]);
    }
    return 0;
}

static int run(const uint8_t *p, size_t n, const char *what) {
    /* An exactly-sized copy: ASan sees any read past the input. */
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        return 0;
    if (n)
        memcpy(copy, p, n);
    int r = IOP_FUZZ_ONE(copy, n);
    free(copy);
    if (r == 0)
        return 0;
    char out[128];
    snprintf(out, sizeof(out), "fuzz-failure-%s.bin", IOP_FUZZ_NAME);
    FILE *f = fopen(out, "wb");
    if (f) {
        fwrite(p, 1, n, f);
        fclose(f);
    }
    fprintf(stderr, "%s: %s broke an invariant (returned %d); input saved as %s\n", IOP_FUZZ_NAME, what, r, out);
    return 1;
}

static const uint32_t interesting[] = { 0, 1, 2, 4, 7, 8, 0x10, 0x20, 0x7F, 0x80, 0xFF, 0x100, 0x1000,
                                        0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000u,
                                        0xFFFFFFFFu };

/* One libFuzzer-style mutation of b (len in *n, capacity REPLAY_MAX_INPUT). */
static void mutate(uint8_t *b, size_t *n) {
    size_t len = *n;
    switch (next() % 9) {
    case 0: /* flip a bit */
        if (len)
            b[next() % len] ^= (uint8_t)(1u << (next() % 8));
        break;
    case 1: /* a random byte */
        if (len)
            b[next() % len] = (uint8_t)next();
        break;
    case 2: { /* an interesting value, 1, 2 or 4 bytes little-endian */
        uint32_t v = interesting[next() % (sizeof(interesting) / sizeof(interesting[0]))];
        size_t w = (size_t)1 << (next() % 3);
        if (len >= w) {
            size_t at = next() % (len - w + 1);
            for (size_t i = 0; i < w; i++)
                b[at + i] = (uint8_t)(v >> (8 * i));
        }
        break;
    }
    case 3: /* truncate */
        if (len)
            len = next() % len;
        break;
    case 4: /* insert bytes */
        if (len < REPLAY_MAX_INPUT - 16) {
            size_t at = len ? next() % (len + 1) : 0, k = 1 + next() % 16;
            memmove(b + at + k, b + at, len - at);
            for (size_t i = 0; i < k; i++)
                b[at + i] = (uint8_t)next();
            len += k;
        }
        break;
    case 5: /* erase bytes */
        if (len) {
            size_t at = next() % len, k = 1 + next() % 16;
            if (k > len - at)
                k = len - at;
            memmove(b + at, b + at + k, len - at - k);
            len -= k;
        }
        break;
    case 6: /* copy a block inside */
        if (len > 2) {
            size_t from = next() % len, to = next() % len, k = 1 + next() % 32;
            if (k > len - from)
                k = len - from;
            if (k > len - to)
                k = len - to;
            memmove(b + to, b + from, k);
        }
        break;
    case 7: /* splice in part of another seed */
        if (n_seeds) {
            const struct blob *o = &seeds[next() % n_seeds];
            if (o->n) {
                size_t from = next() % o->n, k = 1 + next() % 64, at = len ? next() % len : 0;
                if (k > o->n - from)
                    k = o->n - from;
                if (at + k > REPLAY_MAX_INPUT)
                    k = REPLAY_MAX_INPUT - at;
                memcpy(b + at, o->p + from, k);
                if (at + k > len)
                    len = at + k;
            }
        }
        break;
    default: /* increment or decrement a byte */
        if (len)
            b[next() % len] += (next() & 1) ? 1 : 0xFF;
        break;
    }
    *n = len;
}

int main(int argc, char **argv) {
    iop_log_set_sink(sink, NULL);
    if (argc >= 3 && strcmp(argv[1], "-f") == 0) {
        int bad = 0;
        for (int i = 2; i < argc; i++) {
            struct blob b = { NULL, 0 }; /* gcc -O3 cannot see that load() sets it on success */
            if (load(argv[i], &b) < 0) {
                fprintf(stderr, "%s: cannot read %s\n", IOP_FUZZ_NAME, argv[i]);
                return 2;
            }
            bad |= run(b.p, b.n, argv[i]);
            free(b.p);
        }
        return bad;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR [COUNT] | -f FILE...\n", argv[0]);
        return 2;
    }
    unsigned long count = argc > 2 ? strtoul(argv[2], NULL, 0) : 2000;
    if (load_dir(argv[1]) < 0 || n_seeds == 0) {
        fprintf(stderr, "%s: no seed corpus in %s\n", IOP_FUZZ_NAME, argv[1]);
        return 1;
    }
    for (unsigned i = 0; i < n_seeds; i++)
        if (run(seeds[i].p, seeds[i].n, "a seed"))
            return 1;
    if (run(NULL, 0, "the empty input"))
        return 1;
    static uint8_t buf[REPLAY_MAX_INPUT];
    for (unsigned long k = 0; k < count; k++) {
        size_t n;
        if (k % 8 == 7) { /* random bytes */
            n = next() % 512;
            for (size_t i = 0; i < n; i++)
                buf[i] = (uint8_t)next();
        } else { /* a seed with 1-8 mutations */
            const struct blob *s = &seeds[next() % n_seeds];
            memcpy(buf, s->p, s->n);
            n = s->n;
            for (unsigned m = 1 + next() % 8; m > 0; m--)
                mutate(buf, &n);
        }
        if (run(buf, n, "a mutated input"))
            return 1;
    }
    for (unsigned i = 0; i < n_seeds; i++)
        free(seeds[i].p);
    printf("%s: %u seeds and %lu mutated or random inputs, every invariant held\n", IOP_FUZZ_NAME, n_seeds, count);
    return 0;
}
