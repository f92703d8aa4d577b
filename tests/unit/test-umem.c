/* The user-memory accessors: the region table used in-process and the stateless
 * round logic behind the CUSE retry protocol. */
#include <errno.h>

#include "lib/umem/umem-rounds.h"
#include "lib/umem/umem-space.h"
#include "testutil.h"

static void test_space_faults(void) {
    struct iop_umem_space s;
    uint8_t a[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, ro[4] = { 9 }, out[8];
    iop_umem_space_init(&s);
    CHECK_EQ(iop_umem_space_map(&s, 0x1000, a, sizeof(a), true), 0);
    CHECK_EQ(iop_umem_space_map(&s, 0x2000, ro, sizeof(ro), false), 0);
    CHECK_EQ(iop_umem_space_map(&s, UINT64_MAX - 2, a, 8, true), -EINVAL);
    CHECK_EQ(iop_umem_read(&s.um, 0x1000, out, 8), 0);
    CHECK_MEMEQ(out, a, 8);
    CHECK_EQ(iop_umem_read(&s.um, 0x1004, out, 4), 0);
    CHECK_EQ(out[0], 5);
    CHECK_EQ(iop_umem_read(&s.um, 0x1004, out, 5), -EFAULT); /* runs off the end */
    CHECK_EQ(iop_umem_read(&s.um, 0, out, 1), -EFAULT);
    CHECK_EQ(iop_umem_read(&s.um, UINT64_MAX, out, 2), -EFAULT); /* wraps */
    CHECK_EQ(iop_umem_write(&s.um, 0x2000, out, 1), -EFAULT);    /* read-only */
    CHECK_EQ(iop_umem_read(&s.um, 0x2000, out, 1), 0);
    CHECK_EQ(iop_umem_read(&s.um, 0xdead, out, 0), 0); /* zero bytes never fault */
}

/* A handler in the style umem.h asks for: struct first, then what it points to. */
struct two_level {
    uint64_t buf;
    uint32_t len;
};

static int handler(struct iop_umem *um, uint64_t arg, uint8_t *seen, uint32_t *seen_len) {
    struct two_level t;
    int r;
    if ((r = iop_umem_want_in(um, arg, sizeof(t))) < 0 || (r = iop_umem_sync(um)) != 0)
        return r;
    if ((r = iop_umem_read(um, arg, &t, sizeof(t))) != 0)
        return r;
    iop_umem_want_in(um, t.buf, t.len);
    iop_umem_want_out(um, arg + 8, 4);
    iop_umem_want_out(um, t.buf, t.len);
    if ((r = iop_umem_sync(um)) != 0)
        return r;
    if ((r = iop_umem_read(um, t.buf, seen, t.len)) != 0)
        return r;
    *seen_len = t.len;
    uint32_t v = 42;
    if ((r = iop_umem_write(um, arg + 8, &v, 4)) != 0)
        return r;
    for (uint32_t i = 0; i < t.len; i++)
        seen[i] ^= 0xff;
    return iop_umem_write(um, t.buf, seen, t.len);
}

static void test_rounds_protocol(void) {
    struct iop_umem_rounds *r = malloc(sizeof(*r));
    uint8_t data[5] = { 1, 2, 3, 4, 5 }, seen[16];
    uint32_t seen_len = 0;
    struct two_level t = { .buf = 0x5000, .len = 5 };

    /* Round 1: nothing gathered; asks for the struct. */
    CHECK_EQ(iop_umem_rounds_init(r, NULL, 0, 0), 0);
    CHECK_EQ(handler(&r->um, 0x4000, seen, &seen_len), IOP_UMEM_RETRY);
    CHECK_EQ(r->n_in, 1);
    CHECK_EQ(r->n_out, 0);
    CHECK_EQ(r->in[0].base, 0x4000);
    CHECK_EQ(r->in[0].len, sizeof(t));
    iop_umem_rounds_done(r);

    /* Round 2: the struct arrives; asks for the buffer in, and two ranges out. */
    CHECK_EQ(iop_umem_rounds_init(r, &t, sizeof(t), 0), 0);
    CHECK_EQ(handler(&r->um, 0x4000, seen, &seen_len), IOP_UMEM_RETRY);
    CHECK_EQ(r->n_in, 2);
    CHECK_EQ(r->in[1].base, 0x5000);
    CHECK_EQ(r->n_out, 2);
    CHECK_EQ(r->out[0].base, 0x4008);
    CHECK_EQ(r->out_bytes, 9);
    iop_umem_rounds_done(r);

    /* Round 3: everything is there: the reply is the out prefix. */
    uint8_t gathered[sizeof(t) + 5];
    memcpy(gathered, &t, sizeof(t));
    memcpy(gathered + sizeof(t), data, 5);
    CHECK_EQ(iop_umem_rounds_init(r, gathered, sizeof(gathered), 9), 0);
    CHECK_EQ(handler(&r->um, 0x4000, seen, &seen_len), 0);
    CHECK_EQ(seen_len, 5);
    CHECK_EQ(r->out_len, 9);
    uint32_t v;
    memcpy(&v, r->out_buf, 4);
    CHECK_EQ(v, 42);
    CHECK_EQ(r->out_buf[4], 0xfe);
    CHECK_EQ(r->out_buf[8], 0xfa);
    iop_umem_rounds_done(r);
    free(r);
}

static void test_rounds_limits(void) {
    struct iop_umem_rounds *r = malloc(sizeof(*r));
    uint8_t b[8];

    CHECK_EQ(iop_umem_rounds_init(r, NULL, 0, 0), 0);
    CHECK_EQ(iop_umem_want_in(&r->um, 0x1000, IOP_UMEM_MAX_BYTES), 0);
    CHECK_EQ(iop_umem_want_in(&r->um, 0x1000, 1), -ENOMEM);
    CHECK_EQ(iop_umem_sync(&r->um), -ENOMEM); /* sticky */
    iop_umem_rounds_done(r);

    CHECK_EQ(iop_umem_rounds_init(r, NULL, 0, 0), 0);
    for (unsigned i = 0; i < IOP_UMEM_MAX_RANGES - 1; i++)
        CHECK_EQ(iop_umem_want_in(&r->um, 0x1000 + i, 1), 0);
    CHECK_EQ(iop_umem_want_out(&r->um, 0x1000, 1), 0); /* 256 ranges in all: allowed */
    CHECK_EQ(iop_umem_want_out(&r->um, 0x1001, 1), -ENOMEM);
    iop_umem_rounds_done(r);

    /* Wrapping range. */
    CHECK_EQ(iop_umem_rounds_init(r, NULL, 0, 0), 0);
    CHECK_EQ(iop_umem_want_in(&r->um, UINT64_MAX - 1, 4), -EFAULT);
    iop_umem_rounds_done(r);

    /* Reading something never declared declares it and asks for a round. */
    CHECK_EQ(iop_umem_rounds_init(r, NULL, 0, 0), 0);
    CHECK_EQ(iop_umem_read(&r->um, 0x7000, b, 4), IOP_UMEM_RETRY);
    CHECK_EQ(r->n_in, 1);
    /* Writing something never declared is a handler bug. */
    CHECK_EQ(iop_umem_write(&r->um, 0x7000, b, 4), -EIO);
    iop_umem_rounds_done(r);

    /* A write that would leave a hole before it is refused. */
    CHECK_EQ(iop_umem_rounds_init(r, NULL, 0, 8), 0);
    CHECK_EQ(iop_umem_want_out(&r->um, 0x1000, 4), 0);
    CHECK_EQ(iop_umem_want_out(&r->um, 0x2000, 4), 0);
    CHECK_EQ(iop_umem_sync(&r->um), 0);
    CHECK_EQ(iop_umem_write(&r->um, 0x2000, b, 4), -EIO);
    CHECK_EQ(iop_umem_write(&r->um, 0x1000, b, 4), 0);
    CHECK_EQ(iop_umem_write(&r->um, 0x2000, b, 4), 0);
    CHECK_EQ(r->out_len, 8);
    iop_umem_rounds_done(r);

    /* In data shorter than declared (a caller that changed its struct meanwhile):
     * reads past what arrived ask again instead of reading out of bounds. */
    uint8_t small[4] = { 0 };
    CHECK_EQ(iop_umem_rounds_init(r, small, sizeof(small), 0), 0);
    CHECK_EQ(iop_umem_want_in(&r->um, 0x1000, 8), 0);
    CHECK_EQ(iop_umem_sync(&r->um), IOP_UMEM_RETRY);
    CHECK_EQ(iop_umem_read(&r->um, 0x1000, b, 8), IOP_UMEM_RETRY);
    CHECK_EQ(iop_umem_read(&r->um, 0x1000, b, 4), 0);
    iop_umem_rounds_done(r);
    free(r);
}

int main(void) {
    TEST(test_space_faults);
    TEST(test_rounds_protocol);
    TEST(test_rounds_limits);
    return test_summary();
}
