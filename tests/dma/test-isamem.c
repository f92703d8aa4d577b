/* ISA memory: the 16 MiB limit, the 64K/128K boundary rules of DMA-ISA-LPC.txt and the
 * buffer allocator. */
#include <errno.h>

#include "lib/dma/isamem.h"
#include "lib/util/cleanup.h"
#include "testutil.h"

IOP_DEFINE_CLEANUP(struct iop_isamem, iop_isamem_free)

static void test_check_block(void) {
    CHECK_EQ(iop_isamem_check_block(0, 1, false), 0);
    CHECK_EQ(iop_isamem_check_block(0, 0x10000, false), 0);
    CHECK_EQ(iop_isamem_check_block(0, 0x10001, false), -EINVAL);   /* longer than a page */
    CHECK_EQ(iop_isamem_check_block(0xffff, 2, false), -EINVAL);    /* crosses 64K */
    CHECK_EQ(iop_isamem_check_block(0xffff, 1, false), 0);
    CHECK_EQ(iop_isamem_check_block(0xf000, 0x2000, false), -EINVAL); /* crosses 64K */
    CHECK_EQ(iop_isamem_check_block(0xf000, 0x2000, true), 0);       /* inside one 128K pair */
    CHECK_EQ(iop_isamem_check_block(0x3f000, 0x2000, true), -EINVAL); /* crosses 128K */
    CHECK_EQ(iop_isamem_check_block(0x20000, 0x20000, true), 0);
    CHECK_EQ(iop_isamem_check_block(0x20001, 2, true), -EINVAL);    /* odd address, 16-bit */
    CHECK_EQ(iop_isamem_check_block(0x20000, 3, true), -EINVAL);    /* odd length, 16-bit */
    CHECK_EQ(iop_isamem_check_block(0x1000, 0, false), -EINVAL);
    CHECK_EQ(iop_isamem_check_block(IOP_ISAMEM_SIZE - 1, 1, false), 0);
    CHECK_EQ(iop_isamem_check_block(IOP_ISAMEM_SIZE - 1, 2, false), -EFAULT); /* over 16 MiB */
    CHECK_EQ(iop_isamem_check_block(IOP_ISAMEM_SIZE, 1, false), -EFAULT);
    CHECK_EQ(iop_isamem_check_block(UINT32_MAX, 2, false), -EFAULT);
    CHECK_EQ(iop_isamem_check_block(0x100, SIZE_MAX, false), -EFAULT); /* would wrap */
}

static void test_read_write(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
    uint8_t in[300], out[300];

    CHECK_EQ(iop_isamem_new(&m), 0);
    CHECK_EQ(iop_isamem_resident(m), 0);
    /* Never-written memory reads as zeros and costs nothing. */
    memset(out, 0xaa, sizeof(out));
    CHECK_EQ(iop_isamem_read(m, 0x123456, out, sizeof(out)), 0);
    CHECK_EQ(out[0], 0);
    CHECK_EQ(out[299], 0);
    CHECK_EQ(iop_isamem_resident(m), 0);

    /* A write across a backing chunk border lands in two chunks and reads back whole. */
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 7 + 3);
    uint32_t a = IOP_ISAMEM_CHUNK * 3 - 100;
    CHECK_EQ(iop_isamem_write(m, a, in, sizeof(in)), 0);
    CHECK_EQ(iop_isamem_resident(m), 2 * IOP_ISAMEM_CHUNK);
    CHECK_EQ(iop_isamem_read(m, a, out, sizeof(out)), 0);
    CHECK_MEMEQ(in, out, sizeof(in));
    CHECK_EQ(iop_isamem_read(m, a + 100, out, 1), 0);
    CHECK_EQ(out[0], in[100]);

    /* The top of ISA space, and nothing above it. */
    CHECK_EQ(iop_isamem_write(m, IOP_ISAMEM_SIZE - 4, in, 4), 0);
    CHECK_EQ(iop_isamem_write(m, IOP_ISAMEM_SIZE - 4, in, 5), -EFAULT);
    CHECK_EQ(iop_isamem_read(m, IOP_ISAMEM_SIZE, out, 1), -EFAULT);
    CHECK_EQ(iop_isamem_read(m, UINT32_MAX, out, 2), -EFAULT);
    CHECK_EQ(iop_isamem_read(m, IOP_ISAMEM_SIZE, out, 0), 0);

    /* map: one chunk at a time. */
    uint8_t *p = NULL;
    CHECK_EQ(iop_isamem_map(m, a, 100, &p), 0);
    CHECK(p != NULL);
    CHECK_MEMEQ(p, in, 100);
    CHECK_EQ(iop_isamem_map(m, a, 101, &p), -EINVAL);
    CHECK_EQ(iop_isamem_map(m, IOP_ISAMEM_SIZE - 1, 2, &p), -EFAULT);
}

/* trim: chunks without a buffer go back and read as zeros; buffers keep their bytes.
 * addr_of: host pointers inside the space have ISA addresses, others do not. */
static void test_trim_addr_of(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
    uint8_t in[64], out[64];
    uint32_t a, at;

    CHECK_EQ(iop_isamem_new(&m), 0);
    CHECK_EQ(iop_isamem_trim(m), 0);
    memset(in, 0x5c, sizeof(in));
    CHECK_EQ(iop_isamem_write(m, 100, in, sizeof(in)), 0);            /* chunk 0, no buffer */
    CHECK_EQ(iop_isamem_alloc_buf(m, 4096, true, &a), 0);              /* first fit: chunk 0 */
    CHECK_EQ(a, 0);
    CHECK_EQ(iop_isamem_write(m, 5 * IOP_ISAMEM_CHUNK + 7, in, sizeof(in)), 0); /* chunk 5 */
    CHECK_EQ(iop_isamem_resident(m), 2 * IOP_ISAMEM_CHUNK);
    CHECK_EQ(iop_isamem_trim(m), IOP_ISAMEM_CHUNK); /* chunk 5 only: chunk 0 has a buffer */
    CHECK_EQ(iop_isamem_read(m, 5 * IOP_ISAMEM_CHUNK + 7, out, sizeof(out)), 0);
    for (size_t i = 0; i < sizeof(out); i++)
        CHECK_EQ(out[i], 0);
    CHECK_EQ(iop_isamem_read(m, 100, out, sizeof(out)), 0);
    CHECK_MEMEQ(out, in, sizeof(in));
    CHECK_EQ(iop_isamem_free_buf(m, a), 0);
    CHECK_EQ(iop_isamem_trim(m), IOP_ISAMEM_CHUNK);
    CHECK_EQ(iop_isamem_resident(m), 0);
    CHECK_EQ(iop_isamem_read(m, 100, out, sizeof(out)), 0);
    CHECK_EQ(out[0], 0);

    uint8_t *p;
    CHECK_EQ(iop_isamem_map(m, 0x30000, 16, &p), 0);
    CHECK_EQ(iop_isamem_addr_of(m, p, 16, &at), 0);
    CHECK_EQ(at, 0x30000);
    CHECK_EQ(iop_isamem_addr_of(m, p - 0x30000 + IOP_ISAMEM_SIZE - 1, 1, &at), 0);
    CHECK_EQ(at, IOP_ISAMEM_SIZE - 1);
    CHECK_EQ(iop_isamem_addr_of(m, p - 0x30000 + IOP_ISAMEM_SIZE - 1, 2, &at), -ENOENT);
    CHECK_EQ(iop_isamem_addr_of(m, in, sizeof(in), &at), -ENOENT);
}

static void test_alloc_rules(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
    uint32_t a, b, c;

    CHECK_EQ(iop_isamem_new(&m), 0);
    CHECK_EQ(iop_isamem_alloc_buf(m, 0, false, &a), -EINVAL);
    CHECK_EQ(iop_isamem_alloc_buf(m, 0x10001, false, &a), -EINVAL);
    CHECK_EQ(iop_isamem_alloc_buf(m, 0x20001, true, &a), -EINVAL);

    /* 40 KiB + 40 KiB 8-bit: the second cannot share the first's 64K page. */
    CHECK_EQ(iop_isamem_alloc_buf(m, 40 << 10, false, &a), 0);
    CHECK_EQ(iop_isamem_alloc_buf(m, 40 << 10, false, &b), 0);
    CHECK_EQ(iop_isamem_check_block(a, 40 << 10, false), 0);
    CHECK_EQ(iop_isamem_check_block(b, 40 << 10, false), 0);
    CHECK(b >= a + (40 << 10) || a >= b + (40 << 10));
    /* A full 128K 16-bit buffer is a whole aligned page pair. */
    CHECK_EQ(iop_isamem_alloc_buf(m, 128 << 10, true, &c), 0);
    CHECK_EQ(c % (128 << 10), 0);
    CHECK_EQ(iop_isamem_check_block(c, 128 << 10, true), 0);
    CHECK_EQ(iop_isamem_allocated(m), (80u << 10) + (128u << 10));

    /* Free: only what alloc returned, only once. */
    CHECK_EQ(iop_isamem_free_buf(m, a + IOP_ISAMEM_UNIT), -EINVAL);
    CHECK_EQ(iop_isamem_free_buf(m, a + 1), -EINVAL);
    CHECK_EQ(iop_isamem_free_buf(m, IOP_ISAMEM_SIZE), -EINVAL);
    CHECK_EQ(iop_isamem_free_buf(m, a), 0);
    CHECK_EQ(iop_isamem_free_buf(m, a), -EINVAL);
    CHECK_EQ(iop_isamem_allocated(m), (40u << 10) + (128u << 10));
    /* Neighbouring buffers keep their extent: freeing b frees exactly 40 KiB. */
    uint32_t d1, d2;
    CHECK_EQ(iop_isamem_alloc_buf(m, 1, false, &d1), 0);
    CHECK_EQ(iop_isamem_alloc_buf(m, 1, false, &d2), 0);
    CHECK_EQ(iop_isamem_free_buf(m, d1), 0);
    CHECK_EQ(iop_isamem_allocated(m), (41u << 10) + (128u << 10));
    CHECK_EQ(iop_isamem_free_buf(m, d2), 0);
    CHECK_EQ(iop_isamem_free_buf(m, b), 0);
    CHECK_EQ(iop_isamem_free_buf(m, c), 0);
    CHECK_EQ(iop_isamem_allocated(m), 0);
    /* Allocation does not back memory: only touching it does. */
    CHECK_EQ(iop_isamem_resident(m), 0);
}

static void test_alloc_exhaustion(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
    uint32_t a, first = 0;
    size_t n = 0;

    CHECK_EQ(iop_isamem_new(&m), 0);
    /* 36 KiB 8-bit buffers: one per 64K page fits, so exactly 256. */
    while (iop_isamem_alloc_buf(m, 36 << 10, false, &a) == 0) {
        if (n == 0)
            first = a;
        CHECK_EQ(iop_isamem_check_block(a, 36 << 10, false), 0);
        n++;
    }
    CHECK_EQ(n, IOP_ISAMEM_SIZE / IOP_ISAMEM_BOUNDARY_8BIT);
    CHECK_EQ(iop_isamem_alloc_buf(m, 36 << 10, false, &a), -ENOMEM);
    /* The leftover 28 KiB per page still serves smaller buffers. */
    CHECK_EQ(iop_isamem_alloc_buf(m, 28 << 10, false, &a), 0);
    CHECK_EQ(iop_isamem_alloc_buf(m, 36 << 10, true, &a), -ENOMEM);
    CHECK_EQ(iop_isamem_free_buf(m, first), 0);
    CHECK_EQ(iop_isamem_alloc_buf(m, 36 << 10, false, &a), 0);
    CHECK_EQ(a, first);
}

/* Random allocate/free: buffers never overlap and never cross their boundary. */
static void test_alloc_random(void) {
    _cleanup_(iop_isamem_freep) struct iop_isamem *m = NULL;
    enum { SLOTS = 200 };
    struct { uint32_t addr; size_t len; bool wide, used; } s[SLOTS] = { { 0 } };
    unsigned seed = 12345;

    CHECK_EQ(iop_isamem_new(&m), 0);
    for (int it = 0; it < 5000; it++) {
        unsigned i = (unsigned)rand_r(&seed) % SLOTS;
        if (s[i].used) {
            CHECK_EQ(iop_isamem_free_buf(m, s[i].addr), 0);
            s[i].used = false;
            continue;
        }
        s[i].wide = rand_r(&seed) & 1;
        s[i].len = 1 + (size_t)rand_r(&seed) % iop_isamem_boundary(s[i].wide);
        int r = iop_isamem_alloc_buf(m, s[i].len, s[i].wide, &s[i].addr);
        if (r == -ENOMEM)
            continue;
        CHECK_EQ(r, 0);
        s[i].used = true;
        size_t len = s[i].wide ? (s[i].len + 1) & ~(size_t)1 : s[i].len;
        CHECK_EQ(iop_isamem_check_block(s[i].addr, len, s[i].wide), 0);
        for (unsigned j = 0; j < SLOTS; j++)
            if (j != i && s[j].used)
                CHECK(s[i].addr + s[i].len <= s[j].addr || s[j].addr + s[j].len <= s[i].addr);
    }
    size_t total = 0;
    for (unsigned j = 0; j < SLOTS; j++)
        if (s[j].used)
            total += (s[j].len + IOP_ISAMEM_UNIT - 1) / IOP_ISAMEM_UNIT * IOP_ISAMEM_UNIT;
    CHECK_EQ(iop_isamem_allocated(m), total);
}

int main(void) {
    TEST(test_check_block);
    TEST(test_read_write);
    TEST(test_trim_addr_of);
    TEST(test_alloc_rules);
    TEST(test_alloc_exhaustion);
    TEST(test_alloc_random);
    return test_summary();
}
