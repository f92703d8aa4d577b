/* Deterministic fuzzing of iop_dpt_fuzz_one(): random bytes, then well-formed DPT
 * SCSI_EXEC frames (every opcode the target knows, data in and out, autosense on and
 * off) mutated by bit flips, word changes, truncation and random SG lengths.  Every
 * input must keep the invariants dpt-fuzz.h lists; ASan/UBSan catch memory errors. */
#include <stdlib.h>
#include <string.h>

#include "lib/i2o/dpt-fuzz.h"
#include "lib/i2o/dpt-msg.h"
#include "lib/util/bytes.h"
#include "testutil.h"

#define RANDOM_CASES 4000
#define MUTATED_CASES 20000

static uint64_t rng = 0x243F6A8885A308D3ull; /* fixed seed: failures reproduce */

static uint32_t next(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 32);
}

static const uint8_t opcodes[] = { 0x00, 0x03, 0x08, 0x0A, 0x12, 0x15, 0x1A, 0x1B, 0x25, 0x28, 0x2A, 0x2F, 0x35,
                                   0x4D, 0x55, 0x5A, 0x88, 0x8A, 0x8F, 0x91, 0x9E, 0xA0, 0xA8, 0xAA, 0xAF, 0x04 };

/* One command record of the fuzz input format: a valid frame for a random opcode. */
static size_t seed_cmd(uint8_t *out) {
    uint32_t f[16] = { 0 };
    uint8_t cdb[16] = { 0 };
    cdb[0] = opcodes[next() % sizeof(opcodes)];
    for (unsigned i = 1; i < 16; i++)
        cdb[i] = (next() % 4) ? 0 : (uint8_t)next();
    cdb[4] = (uint8_t)(next() % 8);      /* small transfer lengths mostly */
    cdb[8] = (uint8_t)(next() % 8);
    cdb[1] &= 0x1F;
    unsigned dir = next() % 3, len = (next() % 9) * 512;
    f[0] = 14u << 16 | 12u << 4 | 1;
    f[1] = 0xFFu << 24 | 1u << 12 | 0x00A;
    f[4] = IOP_DPT_ORG_ID << 16 | IOP_DPT_XFN_SCSI_EXEC;
    f[5] = 0x00A;
    f[6] = (uint32_t)(dir == 1 ? 0x4000 : dir == 2 ? 0x8000 : 0) << 16 | (next() % 2 ? 0x20a0u << 16 : 0) |
           (cdb[0] >= 0x80 ? 16u : cdb[0] >= 0x20 ? (cdb[0] >= 0xA0 ? 12u : 10u) : 6u);
    for (unsigned i = 0; i < 4; i++)
        f[7 + i] = iop_get_le32(cdb + 4 * i);
    f[11] = dir ? len : 0;
    f[12] = 0xD0000000u | (dir == 2 ? 0x04000000u : 0) | len;
    size_t n = 0;
    out[n++] = 14;
    for (unsigned i = 0; i < 14; i++, n += 4)
        iop_put_le32(out + n, f[i]);
    out[n++] = dir ? 1 : 0;
    iop_put_le16(out + n, (uint16_t)(len | (dir == 2 ? 0x8000 : 0)));
    return n + 2;
}

static void test_random(void) {
    uint8_t buf[512];
    for (int c = 0; c < RANDOM_CASES; c++) {
        size_t n = next() % sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)next();
        int r = iop_dpt_fuzz_one(buf, n);
        CHECK_EQ(r, 0);
        if (r)
            return;
    }
}

static void test_mutated(void) {
    uint8_t buf[2048];
    for (int c = 0; c < MUTATED_CASES; c++) {
        size_t n = 1;
        buf[0] = (uint8_t)(next() % 2 ? 0 : next());
        unsigned cmds = 1 + next() % 6;
        for (unsigned k = 0; k < cmds && n + 80 < sizeof(buf); k++)
            n += seed_cmd(buf + n);
        unsigned muts = next() % 4;
        for (unsigned m = 0; m < muts && n > 1; m++) {
            size_t at = 1 + next() % (n - 1);
            switch (next() % 4) {
            case 0: buf[at] ^= (uint8_t)(1u << (next() % 8)); break;
            case 1: buf[at] = (uint8_t)next(); break;
            case 2: n = at; break;                          /* truncate */
            case 3: if (at + 4 <= n) iop_put_le32(buf + at, next()); break;
            }
        }
        int r = iop_dpt_fuzz_one(buf, n);
        CHECK_EQ(r, 0);
        if (r)
            return;
    }
}

/* The parser's answers for the documented cases. */
static void test_parse(void) {
    uint32_t f[14] = { 14u << 16 | 12u << 4, 0xFFu << 24 | 1u << 12 | 0xA, 0, 0,
                       IOP_DPT_ORG_ID << 16 | IOP_DPT_XFN_SCSI_EXEC, 0x1000A, 0x20a0u << 16 | 0x40000000u | 6,
                       0x12, 36, 0, 0, 36, 0xD0000024, 0x1000 };
    struct iop_dpt_scb s;
    CHECK_EQ(iop_dpt_parse(f, 14, &s), 0);
    CHECK_EQ(s.tid, 0xA);
    CHECK(s.interpret);
    CHECK_EQ(s.cdb_len, 6);
    CHECK_EQ(s.cdb[0], 0x12);
    CHECK_EQ(s.cdb[4], 36);
    CHECK_EQ(s.flags, 0x60a0);
    CHECK_EQ(s.byte_count, 36);
    CHECK_EQ(iop_dpt_parse(f, 11, &s), -EMSGSIZE);
    f[6] = (f[6] & ~0xFFu) | 17;
    CHECK_EQ(iop_dpt_parse(f, 14, &s), -EINVAL);
    f[6] = 0xC0000006;
    CHECK_EQ(iop_dpt_parse(f, 14, &s), -EINVAL);
    f[4] = IOP_DPT_ORG_ID << 16 | 0x100;
    CHECK_EQ(iop_dpt_parse(f, 14, &s), -ENOSYS);
    f[4] = 0x1234u << 16 | IOP_DPT_XFN_SCSI_EXEC;
    CHECK_EQ(iop_dpt_parse(f, 14, &s), -ENOENT);
}

int main(void) {
    TEST(test_parse);
    TEST(test_random);
    TEST(test_mutated);
    return test_summary();
}
