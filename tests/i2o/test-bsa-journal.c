/* The block write journal: records, replay after a write interrupted at every point
 * (journal torn, journal whole but medium untouched, medium half written), and the
 * parser against random and mutated records (iop_bsa_journal_fuzz_one). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/i2o/bsa-journal-fuzz.h"
#include "lib/i2o/bsa-journal.h"
#include "lib/i2o/bsa.h"
#include "lib/util/bytes.h"
#include "testutil.h"

#define CAP (1u << 20)

static int tmpfile_fd(void) {
    char name[] = "/tmp/iopd-jnl-XXXXXX";
    int fd = mkstemp(name);
    CHECK(fd >= 0);
    unlink(name);
    return fd;
}

static void fill(uint8_t *b, size_t n, uint8_t v) {
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(v + i * 31);
}

static int region_is(int fd, uint64_t at, size_t n, uint8_t v) {
    uint8_t *b = malloc(n), *want = malloc(n);
    fill(want, n, v);
    int ok = pread(fd, b, n, (off_t)at) == (ssize_t)n && memcmp(b, want, n) == 0;
    free(b);
    free(want);
    return ok;
}

/* A medium whose 64 KiB at 128 KiB hold the "old" pattern. */
static void setup(int *mfd, int *jfd, uint8_t *old, uint8_t *new, size_t n) {
    *mfd = tmpfile_fd();
    *jfd = tmpfile_fd();
    CHECK_EQ(ftruncate(*mfd, CAP), 0);
    fill(old, n, 1);
    fill(new, n, 2);
    CHECK_EQ(pwrite(*mfd, old, n, 131072), (ssize_t)n);
}

static void test_write_and_interruptions(void) {
    const size_t n = 65536;
    static uint8_t old[65536], new[65536];
    uint64_t addr;
    uint32_t len;
    int mfd, jfd, touched;

    /* A write that completes: the medium is new, the record is marked done. */
    setup(&mfd, &jfd, old, new, n);
    CHECK_EQ(iop_bsa_journal_write(jfd, mfd, 131072, new, n, &touched), 0);
    CHECK(touched);
    CHECK(region_is(mfd, 131072, n, 2));
    CHECK_EQ(iop_bsa_journal_replay(jfd, mfd, CAP, &addr, &len), 0);
    close(mfd);
    close(jfd);

    /* Killed while writing the record (every length of it): the medium keeps the old data. */
    uint8_t h[IOP_BSA_JOURNAL_HEADER];
    iop_bsa_journal_header(h, 131072, new, n);
    for (size_t cut = 0; cut < sizeof(h) + n; cut += cut < 64 ? 1 : 4093) {
        setup(&mfd, &jfd, old, new, n);
        size_t hn = cut < sizeof(h) ? cut : sizeof(h);
        CHECK_EQ(pwrite(jfd, h, hn, 0), (ssize_t)hn);
        if (cut > sizeof(h))
            CHECK_EQ(pwrite(jfd, new, cut - sizeof(h), sizeof(h)), (ssize_t)(cut - sizeof(h)));
        CHECK_EQ(iop_bsa_journal_replay(jfd, mfd, CAP, &addr, &len), 0);
        CHECK(region_is(mfd, 131072, n, 1));
        close(mfd);
        close(jfd);
    }

    /* Killed after the record, with the medium untouched or half written: replayed, new. */
    for (size_t done = 0; done <= n; done += n / 2) {
        setup(&mfd, &jfd, old, new, n);
        struct iovec iov[2] = { { h, sizeof(h) }, { new, n } };
        CHECK_EQ(pwritev(jfd, iov, 2, 0), (ssize_t)(sizeof(h) + n));
        if (done)
            CHECK_EQ(pwrite(mfd, new, done, 131072), (ssize_t)done);
        CHECK_EQ(iop_bsa_journal_replay(jfd, mfd, CAP, &addr, &len), 1);
        CHECK_EQ(addr, 131072);
        CHECK_EQ(len, n);
        CHECK(region_is(mfd, 131072, n, 2));
        CHECK_EQ(iop_bsa_journal_replay(jfd, mfd, CAP, &addr, &len), 0); /* once */
        close(mfd);
        close(jfd);
    }

    /* A record from a larger medium: refused, left alone. */
    setup(&mfd, &jfd, old, new, n);
    struct iovec iov[2] = { { h, sizeof(h) }, { new, n } };
    CHECK_EQ(pwritev(jfd, iov, 2, 0), (ssize_t)(sizeof(h) + n));
    CHECK_EQ(iop_bsa_journal_replay(jfd, mfd, 131072 + 100, &addr, &len), -ERANGE);
    CHECK(region_is(mfd, 131072, n, 1));
    close(mfd);
    close(jfd);
}

static void test_parse_limits(void) {
    static uint8_t rec[IOP_BSA_JOURNAL_HEADER + IOP_BSA_MAX_TRANSFER + 1];
    uint64_t addr;
    uint32_t len;
    fill(rec + IOP_BSA_JOURNAL_HEADER, IOP_BSA_MAX_TRANSFER + 1, 9);
    iop_bsa_journal_header(rec, 0, rec + IOP_BSA_JOURNAL_HEADER, IOP_BSA_MAX_TRANSFER);
    CHECK_EQ(iop_bsa_journal_parse(rec, sizeof(rec), CAP, &addr, &len), 0);
    CHECK_EQ(len, IOP_BSA_MAX_TRANSFER);
    CHECK_EQ(iop_bsa_journal_parse(rec, sizeof(rec) - 2, CAP, &addr, &len), -ENOENT); /* truncated */
    iop_bsa_journal_header(rec, 0, rec + IOP_BSA_JOURNAL_HEADER, IOP_BSA_MAX_TRANSFER + 1);
    CHECK_EQ(iop_bsa_journal_parse(rec, sizeof(rec), CAP, &addr, &len), -ENOENT); /* too long */
    iop_bsa_journal_header(rec, 0, rec + IOP_BSA_JOURNAL_HEADER, 0);
    CHECK_EQ(iop_bsa_journal_parse(rec, sizeof(rec), CAP, &addr, &len), -ENOENT); /* empty */
    iop_bsa_journal_header(rec, UINT64_MAX - 10, rec + IOP_BSA_JOURNAL_HEADER, 512);
    CHECK_EQ(iop_bsa_journal_parse(rec, sizeof(rec), UINT64_MAX, &addr, &len), -ERANGE); /* wraps */
    CHECK_EQ(iop_bsa_journal_parse(NULL, 0, CAP, &addr, &len), -ENOENT);
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t next(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x9E3779B97F4A7C15ull) >> 32);
}

/* Random inputs, and valid records mutated: the invariants of bsa-journal-fuzz.h. */
static void test_fuzz(void) {
    static uint8_t in[8 + IOP_BSA_JOURNAL_HEADER + 4096];
    unsigned accepted = 0;
    for (unsigned i = 0; i < 4000; i++) {
        size_t n = next() % sizeof(in);
        for (size_t k = 0; k < n; k++)
            in[k] = (uint8_t)next();
        if (i % 2) { /* a valid record, then maybe a mutation */
            uint32_t l = 1 + next() % 4096;
            n = 8 + IOP_BSA_JOURNAL_HEADER + l;
            iop_put_le32(in, next() % 2 ? CAP : next());
            iop_put_le32(in + 4, 0);
            iop_bsa_journal_header(in + 8, next() % (2 * CAP), in + 8 + IOP_BSA_JOURNAL_HEADER, l);
            if (next() % 2)
                in[8 + next() % (n - 8)] ^= (uint8_t)(1 + next() % 255);
            if (next() % 4 == 0)
                n -= next() % (n - 8);
        }
        CHECK_EQ(iop_bsa_journal_fuzz_one(in, n), 0);
        uint64_t a;
        uint32_t l;
        accepted += n >= 8 && iop_bsa_journal_parse(in + 8, n - 8, iop_get_le32(in), &a, &l) == 0;
    }
    CHECK(accepted > 100); /* the valid ones got through: the test reached the checks */
}

int main(void) {
    TEST(test_write_and_interruptions);
    TEST(test_parse_limits);
    TEST(test_fuzz);
    return test_summary();
}
