/* lib/util/log: levels and the rate limit. */
#include <time.h>

#include "lib/util/log.h"
#include "testutil.h"

struct captured {
    int n;
    int last_level;
    char last[256];
};

static void sink(void *ctx, int level, const char *msg) {
    struct captured *c = ctx;
    c->n++;
    c->last_level = level;
    snprintf(c->last, sizeof(c->last), "%s", msg);
}

static void sleep_ms(long ms) {
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void test_levels(void) {
    struct captured c = { 0 };
    iop_log_set_sink(sink, &c);
    iop_log_set_ratelimit(0, 0);
    iop_log_set_max_level(LOG_NOTICE);
    iop_info("dropped");
    CHECK_EQ(c.n, 0);
    iop_warn("kept %d", 7);
    CHECK_EQ(c.n, 1);
    CHECK_EQ(c.last_level, LOG_WARNING);
    CHECK_STREQ(c.last, "kept 7");
    iop_log_set_max_level(LOG_INFO);
    iop_log_set_sink(NULL, NULL);
}

/* A flood: burst messages pass, the rest are counted and reported once the interval
 * is over, before the next message. */
/* Hostile values are text: format directives are printed, not interpreted (the
 * format is always a literal), and a newline cannot start a forged journal entry. */
static void test_hostile_values(void) {
    struct captured c = { 0 };
    iop_log_set_sink(sink, &c);
    iop_log_set_ratelimit(0, 0);
    iop_warn("name \"%s\"", "%n%s%x");
    CHECK_STREQ(c.last, "name \"%n%s%x\"");
    iop_warn("value %s!", "a\n<0>forged\r\tb\x7f");
    CHECK_STREQ(c.last, "value a?<0>forged??b?!");
    iop_log_set_sink(NULL, NULL);
}

static void test_ratelimit(void) {
    struct captured c = { 0 };
    iop_log_set_sink(sink, &c);
    iop_log_set_max_level(LOG_DEBUG);
    iop_log_set_ratelimit(5, 200000); /* 5 per 200 ms */
    for (int i = 0; i < 1000; i++)
        iop_info("refused %d", i);
    CHECK_EQ(c.n, 5);
    CHECK_STREQ(c.last, "refused 4");
    iop_debug("debug output is asked for: never limited");
    CHECK_EQ(c.n, 6);
    sleep_ms(250);
    iop_warn("after the window");
    CHECK_EQ(c.n, 8); /* the report of 995 suppressed, then this */
    CHECK_STREQ(c.last, "after the window");
    iop_log_set_ratelimit(0, 0);
    iop_log_set_sink(NULL, NULL);
    iop_log_set_max_level(LOG_INFO);
}

static struct captured order[4];
static int order_n;
static void order_sink(void *ctx, int level, const char *msg) {
    (void)ctx;
    if (order_n < 4) {
        order[order_n].last_level = level;
        snprintf(order[order_n].last, sizeof(order[order_n].last), "%s", msg);
    }
    order_n++;
}

static void test_report_text(void) {
    iop_log_set_sink(order_sink, NULL);
    iop_log_set_ratelimit(2, 100000);
    for (int i = 0; i < 7; i++)
        iop_notice("m%d", i);
    sleep_ms(150);
    iop_notice("next");
    CHECK_EQ(order_n, 4);
    CHECK_STREQ(order[0].last, "m0");
    CHECK_STREQ(order[1].last, "m1");
    CHECK_EQ(order[2].last_level, LOG_WARNING);
    CHECK_STREQ(order[2].last, "5 log messages suppressed (more than 2 in 0.1 s)");
    CHECK_STREQ(order[3].last, "next");
    iop_log_set_ratelimit(0, 0);
    iop_log_set_sink(NULL, NULL);
}

int main(void) {
    TEST(test_levels);
    TEST(test_hostile_values);
    TEST(test_ratelimit);
    TEST(test_report_text);
    return test_summary();
}
