/* The configuration dialog's query parser: decoding, limits, hostile input. */
#include <errno.h>

#include "lib/i2o/query.h"
#include "testutil.h"

static void test_parse(void) {
    static struct iop_query q;
    const char *s = "F102.DeviceName=my+disk%21&x=&&y&F102.InstanceNumber=0x10";
    CHECK_EQ(iop_query_parse(&q, s, strlen(s)), 0);
    CHECK_EQ(q.n, 4);
    CHECK_STREQ(iop_query_get(&q, "F102.DeviceName"), "my disk!");
    CHECK_STREQ(iop_query_get(&q, "x"), "");
    CHECK_STREQ(iop_query_get(&q, "y"), "");
    CHECK_STREQ(iop_query_get(&q, "F102.InstanceNumber"), "0x10");
    CHECK(iop_query_get(&q, "nope") == NULL);
    /* A NUL ends the query; the length need not include one. */
    CHECK_EQ(iop_query_parse(&q, "a=1\0b=2", 7), 0);
    CHECK_EQ(q.n, 1);
    CHECK_EQ(iop_query_parse(&q, "a=%4", 4), -EINVAL);   /* escape cut short */
    CHECK_EQ(iop_query_parse(&q, "a=%zz", 5), -EINVAL);
    CHECK_EQ(iop_query_parse(&q, "a=%00", 5), -EINVAL);  /* no NULs inside values */
    CHECK_EQ(iop_query_parse(&q, "=1", 2), -EINVAL);     /* empty name */
    CHECK_EQ(iop_query_parse(&q, "%41=%42", 7), 0);
    CHECK_STREQ(iop_query_get(&q, "A"), "B");
    CHECK_EQ(iop_query_parse(&q, "", 0), 0);
    CHECK_EQ(q.n, 0);
}

static void test_limits(void) {
    static struct iop_query q;
    static char s[20000];
    size_t n = 0;
    for (unsigned i = 0; i < IOP_QUERY_MAX_PAIRS + 1; i++)
        n += (size_t)snprintf(s + n, sizeof(s) - n, "k%u=v&", i);
    CHECK_EQ(iop_query_parse(&q, s, n), -E2BIG);
    memset(s, 'a', sizeof(s));
    s[0] = 'k';
    s[1] = '=';
    CHECK_EQ(iop_query_parse(&q, s, sizeof(s)), -E2BIG);
}

/* Random bytes never crash it, and what it accepts respects the limits. */
static void test_random(void) {
    static struct iop_query q;
    unsigned seed = 12345;
    char s[600];
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(seed % sizeof(s));
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            static const char alphabet[] = "ab=&%+0Fz\x01\xff";
            s[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        seed = seed * 1103515245u + 12345u;
        int r = iop_query_parse(&q, s, n);
        CHECK(r == 0 || r == -EINVAL || r == -E2BIG);
        if (r == 0) {
            CHECK(q.n <= IOP_QUERY_MAX_PAIRS);
            for (unsigned i = 0; i < q.n; i++)
                CHECK(q.pair[i].name[0] != 0);
        }
    }
}

int main(void) {
    TEST(test_parse);
    TEST(test_limits);
    TEST(test_random);
    return test_summary();
}
