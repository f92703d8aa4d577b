/* usbmon readers and the bus fan-out: who sees which event, partial reads, overflow
 * accounting, events before open, hangup, stats. */
#include <errno.h>

#include "lib/usb/urb.h"
#include "lib/usbmon/bus.h"
#include "lib/usbmon/capture.h"
#include "lib/usbmon/reader.h"
#include "lib/usbmon/text.h"
#include "lib/util/cleanup.h"
#include "testutil.h"

/* A clock that advances 7 us per reading and counts readings. */
struct test_clock {
    unsigned long calls;
    uint64_t usec;
};

static void test_clock_fn(void *ctx, clockid_t clock, struct timespec *ts) {
    (void)clock;
    struct test_clock *c = ctx;
    c->calls++;
    c->usec += 7;
    ts->tv_sec = (time_t)(c->usec / 1000000);
    ts->tv_nsec = (long)(c->usec % 1000000) * 1000;
}

struct test_urb {
    struct iop_urb urb;
    struct iop_iso_packet_descriptor desc[4];
    uint8_t buf[64];
};

static void urb_init(struct test_urb *t, uint16_t bus, uint8_t dev, uint8_t ep, bool in, uint32_t len) {
    memset(t, 0, sizeof(*t));
    t->urb.xfer = IOP_XFER_BULK;
    t->urb.dir_in = in;
    t->urb.busnum = bus;
    t->urb.devnum = dev;
    t->urb.endpoint = ep;
    t->urb.transfer_buffer = t->buf;
    t->urb.transfer_buffer_length = len;
    for (unsigned i = 0; i < sizeof(t->buf); i++)
        t->buf[i] = (uint8_t)(i * 3 + dev);
}

/* The line an event must read as, built independently of the bus: capture at the
 * timestamp the clock gave for that event. */
static void expected_line(char fmt, const struct iop_urb *u, char type, int status, uint64_t usec, char *out) {
    struct timespec ts = { (time_t)(usec / 1000000), (long)(usec % 1000000) * 1000 };
    struct iop_mon_event ev;
    CHECK_EQ(iop_mon_capture(&ev, u, type, status, iop_mon_timestamp(&ts)), 0);
    CHECK(iop_mon_format(fmt, &ev, out, IOP_MON_PRINTF_DFL) > 0);
}

/* Take exactly one line (or the rest of one): peek without asking for more, copy up to
 * the first "\n", consume that.  Returns as iop_mon_reader_read(). */
static int read_line(struct iop_mon_reader *r, char *buf) {
    const char *p;
    int n = iop_mon_reader_peek(r, 0, &p);
    if (n <= 0)
        return n;
    const char *nl = memchr(p, '\n', (size_t)n);
    if (nl)
        n = (int)(nl - p) + 1;
    memcpy(buf, p, (size_t)n);
    buf[n] = 0;
    iop_mon_reader_consume(r, (size_t)n);
    return n;
}

struct notify_count {
    int calls;
};

static void count_notify(void *ctx) {
    ((struct notify_count *)ctx)->calls++;
}

static void test_open_errors(void) {
    struct iop_mon *m;
    struct iop_mon_reader *r;
    CHECK_EQ(iop_mon_new(&m), 0);
    CHECK_EQ(iop_mon_add_bus(m, 0), -EINVAL);
    CHECK_EQ(iop_mon_add_bus(m, IOP_MON_BUS_MAX + 1), -EINVAL);
    CHECK_EQ(iop_mon_add_bus(m, 3), 0);
    CHECK_EQ(iop_mon_add_bus(m, 3), -EEXIST);
    CHECK_EQ(iop_mon_add_bus(m, IOP_MON_BUS_MAX), 0);
    CHECK(iop_mon_has_bus(m, 0));
    CHECK(iop_mon_has_bus(m, 3));
    CHECK(!iop_mon_has_bus(m, 4));
    CHECK(!iop_mon_has_bus(m, 100000));
    CHECK_EQ(iop_mon_open(m, 4, IOP_MON_FMT_U, &r), -ENODEV);
    CHECK_EQ(iop_mon_open(m, 100000, IOP_MON_FMT_U, &r), -ENODEV);
    CHECK_EQ(iop_mon_open(m, 0, IOP_MON_FMT_T, &r), -EINVAL); /* there is no 0t */
    CHECK_EQ(iop_mon_open(m, 3, (enum iop_mon_fmt)'x', &r), -EINVAL);
    CHECK_EQ(iop_mon_remove_bus(m, 4), -ENOENT);
    CHECK_EQ(iop_mon_remove_bus(m, 0), -ENOENT); /* bus 0 is not removable */
    CHECK_EQ(iop_mon_remove_bus(m, 3), 0);
    CHECK_EQ(iop_mon_open(m, 3, IOP_MON_FMT_U, &r), -ENODEV);
    struct iop_mon_stats st;
    CHECK_EQ(iop_mon_stats(m, 3, &st), -ENODEV);
    char buf[8];
    CHECK_EQ(iop_mon_stats_text(m, 3, buf, sizeof(buf)), -ENODEV);
    CHECK_EQ(iop_mon_reader_new((enum iop_mon_fmt)0, &r), -EINVAL);
    iop_mon_free(m);
    iop_mon_free(NULL);
    iop_mon_reader_free(NULL);
}

/* Readers on bus 1, 2 and 0, in both formats: bus N readers see bus N, bus 0 readers
 * see everything (a bus with no monitor of its own too), every reader its own copy. */
static void test_fan_out(void) {
    struct iop_mon *m;
    struct test_clock clk = { 0, 5000000 };
    CHECK_EQ(iop_mon_new(&m), 0);
    iop_mon_set_clock(m, test_clock_fn, &clk);
    CHECK_EQ(iop_mon_add_bus(m, 1), 0);
    CHECK_EQ(iop_mon_add_bus(m, 2), 0);
    const struct iop_urb_monitor *mon = iop_mon_urb_monitor(m);

    struct iop_mon_reader *r1u, *r1u2, *r1t, *r2u, *r0a, *r0b;
    CHECK_EQ(iop_mon_open(m, 1, IOP_MON_FMT_U, &r1u), 0);
    CHECK_EQ(iop_mon_open(m, 1, IOP_MON_FMT_U, &r1u2), 0);
    CHECK_EQ(iop_mon_open(m, 1, IOP_MON_FMT_T, &r1t), 0);
    CHECK_EQ(iop_mon_open(m, 2, IOP_MON_FMT_U, &r2u), 0);
    CHECK_EQ(iop_mon_open(m, 0, IOP_MON_FMT_U, &r0a), 0);
    CHECK_EQ(iop_mon_open(m, 0, IOP_MON_FMT_U, &r0b), 0);

    struct test_urb a, b, c;
    urb_init(&a, 1, 4, 2, false, 13);
    urb_init(&b, 2, 9, 0x81, true, 8);
    urb_init(&c, 7, 3, 1, false, 0); /* bus 7 has no monitor: only bus 0 sees it */
    b.urb.actual_length = 8;

    /* The order an engine would call, and the clock reading each event gets. */
    mon->submit(mon->ctx, &a.urb);           /* 5000007 */
    mon->submit(mon->ctx, &b.urb);           /* 5000014 */
    mon->submit(mon->ctx, &c.urb);           /* 5000021 */
    mon->submit_error(mon->ctx, &c.urb, -19); /* 5000028 */
    a.urb.actual_length = 13;
    mon->complete(mon->ctx, &a.urb, 0);      /* 5000035 */
    mon->complete(mon->ctx, &b.urb, -75);    /* 5000042 */
    CHECK_EQ(clk.calls, 6); /* one capture per event, whatever the number of readers */

    char want[6][IOP_MON_PRINTF_DFL], want_t[2][IOP_MON_PRINTF_DFL], got[4096];
    expected_line('u', &a.urb, 'S', 0, 5000007, want[0]);
    a.urb.actual_length = 0;
    expected_line('t', &a.urb, 'S', 0, 5000007, want_t[0]);
    expected_line('u', &b.urb, 'S', 0, 5000014, want[1]);
    expected_line('u', &c.urb, 'S', 0, 5000021, want[2]);
    expected_line('u', &c.urb, 'E', -19, 5000028, want[3]);
    a.urb.actual_length = 13;
    expected_line('u', &a.urb, 'C', 0, 5000035, want[4]);
    expected_line('t', &a.urb, 'C', 0, 5000035, want_t[1]);
    expected_line('u', &b.urb, 'C', -75, 5000042, want[5]);
    /* Spot-check the expectations themselves. */
    CHECK(strstr(want[0], " 5000007 S Bo:1:004:2 -115 13 = ") != NULL);
    CHECK(strstr(want_t[1], " 5000035 C Bo:004:02 0 13 >\n") != NULL);
    CHECK(strstr(want[3], " 5000028 E Bo:7:003:1 -19 0\n") != NULL);
    CHECK(strstr(want[5], " 5000042 C Bi:2:009:1 -75 8 = ") != NULL);

    struct iop_mon_reader *bus1[] = { r1u, r1u2 };
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(iop_mon_reader_queued(bus1[i]), 2);
        CHECK_EQ(read_line(bus1[i], got), (int)strlen(want[0]));
        CHECK_STREQ(got, want[0]);
        CHECK_EQ(read_line(bus1[i], got), (int)strlen(want[4]));
        CHECK_STREQ(got, want[4]);
        CHECK_EQ(read_line(bus1[i], got), -EAGAIN);
    }
    read_line(r1t, got);
    CHECK_STREQ(got, want_t[0]);
    read_line(r1t, got);
    CHECK_STREQ(got, want_t[1]);
    CHECK_EQ(read_line(r1t, got), -EAGAIN);
    read_line(r2u, got);
    CHECK_STREQ(got, want[1]);
    read_line(r2u, got);
    CHECK_STREQ(got, want[5]);
    CHECK_EQ(read_line(r2u, got), -EAGAIN);
    struct iop_mon_reader *bus0[] = { r0a, r0b };
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 6; j++) {
            read_line(bus0[i], got);
            CHECK_STREQ(got, want[j]);
        }
        CHECK_EQ(read_line(bus0[i], got), -EAGAIN);
    }

    struct iop_mon_stats st;
    CHECK_EQ(iop_mon_stats(m, 0, &st), 0);
    CHECK_EQ(st.nreaders, 2);
    CHECK_EQ(st.events, 6);
    CHECK_EQ(iop_mon_stats(m, 1, &st), 0);
    CHECK_EQ(st.nreaders, 3);
    CHECK_EQ(st.events, 2);
    CHECK_EQ(iop_mon_stats(m, 2, &st), 0);
    CHECK_EQ(st.events, 2);
    char text[IOP_MON_STAT_BUF];
    CHECK_EQ(iop_mon_stats_text(m, 1, text, sizeof(text)), (int)strlen("nreaders 3 events 2 text_lost 0\n"));
    CHECK_STREQ(text, "nreaders 3 events 2 text_lost 0\n");
    CHECK_EQ(iop_mon_stats_text(m, 1, text, 10), -ENOSPC);

    /* Closing readers unlinks them. */
    iop_mon_reader_free(r1u2);
    iop_mon_reader_free(r1t);
    CHECK_EQ(iop_mon_stats(m, 1, &st), 0);
    CHECK_EQ(st.nreaders, 1);
    mon->submit(mon->ctx, &a.urb);
    CHECK_EQ(iop_mon_reader_queued(r1u), 1);
    CHECK_EQ(iop_mon_reader_queued(r0a), 1);

    iop_mon_reader_free(r1u);
    iop_mon_reader_free(r2u);
    iop_mon_reader_free(r0a);
    iop_mon_reader_free(r0b);
    CHECK_EQ(iop_mon_stats(m, 0, &st), 0);
    CHECK_EQ(st.nreaders, 0);
    iop_mon_free(m);
}

/* Nothing is captured while nobody reads, and a reader never sees what came before
 * its open.  Bus 2 with no reader of its own is not monitored while only bus 1 is. */
static void test_before_open(void) {
    struct iop_mon *m;
    struct test_clock clk = { 0, 0 };
    CHECK_EQ(iop_mon_new(&m), 0);
    iop_mon_set_clock(m, test_clock_fn, &clk);
    CHECK_EQ(iop_mon_add_bus(m, 1), 0);
    CHECK_EQ(iop_mon_add_bus(m, 2), 0);
    struct test_urb a, b;
    urb_init(&a, 1, 2, 1, false, 4);
    urb_init(&b, 2, 2, 1, false, 4);
    for (int i = 0; i < 10; i++) {
        iop_mon_submit(m, &a.urb);
        iop_mon_complete(m, &b.urb, 0);
    }
    CHECK_EQ(clk.calls, 0);
    struct iop_mon_stats st;
    iop_mon_stats(m, 1, &st);
    CHECK_EQ(st.events, 0);

    struct iop_mon_reader *r;
    CHECK_EQ(iop_mon_open(m, 1, IOP_MON_FMT_U, &r), 0);
    char got[4096];
    CHECK_EQ(read_line(r, got), -EAGAIN);
    CHECK(!iop_mon_reader_readable(r));
    iop_mon_complete(m, &b.urb, 0); /* bus 2: not monitored */
    CHECK_EQ(clk.calls, 0);
    iop_mon_stats(m, 2, &st);
    CHECK_EQ(st.events, 0);
    iop_mon_submit(m, &a.urb);
    CHECK_EQ(clk.calls, 1);
    CHECK(iop_mon_reader_readable(r));
    CHECK(read_line(r, got) > 0);
    CHECK(strstr(got, " 7 S Bo:1:002:1 -115 4 = ") != NULL);
    CHECK_EQ(read_line(r, got), -EAGAIN);
    iop_mon_reader_free(r);

    /* With the last reader gone, capture stops again. */
    iop_mon_submit(m, &a.urb);
    CHECK_EQ(clk.calls, 1);
    /* A bus 0 reader makes every bus monitored. */
    CHECK_EQ(iop_mon_open(m, 0, IOP_MON_FMT_U, &r), 0);
    iop_mon_complete(m, &b.urb, 0);
    CHECK_EQ(clk.calls, 2);
    iop_mon_stats(m, 2, &st);
    CHECK_EQ(st.events, 1);
    iop_mon_stats(m, 1, &st);
    CHECK_EQ(st.events, 1); /* the one submit while r was open */
    iop_mon_reader_free(r);
    iop_mon_free(m);
}

/* Reads of 1, 2 and 7 bytes, line-size reads and big ones return exactly the same
 * text; a read ends with a "\n" or holds none (part of one line); big buffers get
 * several whole lines per read (reader.h: iopd batches where the kernel gives one). */
static void test_small_reads(void) {
    static const size_t sizes[] = { 1, 2, 7, 100, 249, 250, 4096, 65536 };
    struct iop_mon *m;
    struct test_clock clk = { 0, 123456789 };
    CHECK_EQ(iop_mon_new(&m), 0);
    iop_mon_set_clock(m, test_clock_fn, &clk);
    CHECK_EQ(iop_mon_add_bus(m, 5), 0);
    struct iop_mon_reader *r[IOP_ARRAY_SIZE(sizes)], *whole;
    for (size_t i = 0; i < IOP_ARRAY_SIZE(sizes); i++)
        CHECK_EQ(iop_mon_open(m, 5, IOP_MON_FMT_U, &r[i]), 0);
    CHECK_EQ(iop_mon_open(m, 0, IOP_MON_FMT_U, &whole), 0);

    /* 40 events of varying length: bulk IN/OUT up to 64 bytes, zero-length, errors. */
    struct test_urb t;
    for (int i = 0; i < 40; i++) {
        urb_init(&t, 5, (uint8_t)(i + 1), (uint8_t)(i % 16), i % 3 == 0, (uint32_t)(i * 7 % 65));
        t.urb.actual_length = t.urb.transfer_buffer_length / 2;
        if (i % 5 == 4)
            iop_mon_submit_error(m, &t.urb, -i);
        else if (i % 2)
            iop_mon_complete(m, &t.urb, 0);
        else
            iop_mon_submit(m, &t.urb);
    }

    static char expect[40 * IOP_MON_PRINTF_DFL];
    size_t expect_len = 0;
    char line[4096];
    int n;
    while ((n = read_line(whole, line)) > 0) {
        CHECK(n <= IOP_MON_LINE_MAX);
        CHECK_EQ(line[n - 1], '\n');
        CHECK(memchr(line, '\n', (size_t)n - 1) == NULL); /* one line per read */
        memcpy(expect + expect_len, line, (size_t)n);
        expect_len += (size_t)n;
    }
    CHECK_EQ(n, -EAGAIN);

    for (size_t i = 0; i < IOP_ARRAY_SIZE(sizes); i++) {
        static char got[40 * IOP_MON_PRINTF_DFL];
        size_t got_len = 0;
        int reads = 0, lines = 0;
        static char chunk[65536];
        while ((n = iop_mon_reader_read(r[i], chunk, sizes[i])) > 0) {
            CHECK((size_t)n <= sizes[i]);
            /* A read ends with a "\n" or holds none: a line is cut only at the end of
             * a read that has nothing else. */
            char *nl = memchr(chunk, '\n', (size_t)n);
            CHECK(nl == NULL || chunk[n - 1] == '\n');
            if (sizes[i] >= IOP_MON_PRINTF_DFL)
                CHECK(nl != NULL); /* whole lines only */
            for (int k = 0; k < n; k++)
                lines += chunk[k] == '\n';
            if (got_len + (size_t)n <= sizeof(got))
                memcpy(got + got_len, chunk, (size_t)n);
            got_len += (size_t)n;
            reads++;
        }
        CHECK_EQ(n, -EAGAIN);
        CHECK_EQ(lines, 40);
        CHECK_EQ(got_len, expect_len);
        CHECK_MEMEQ(got, expect, expect_len);
        if (sizes[i] >= IOP_MON_BATCH_MAX)
            CHECK_EQ(reads, 1); /* the 40 lines (about 4 KiB) in one big read */
        else if (sizes[i] >= IOP_MON_PRINTF_DFL) /* several whole lines per read */
            CHECK((size_t)reads >= (expect_len + sizes[i] - 1) / sizes[i] && reads < 40);
        else if (sizes[i] == 1)
            CHECK_EQ((size_t)reads, expect_len);
        iop_mon_reader_free(r[i]);
    }
    iop_mon_reader_free(whole);
    iop_mon_free(m);
}

/* read(fd, buf, 0) moves an event into the pending line and returns 0; peek/consume. */
static void test_zero_read_and_peek(void) {
    struct iop_mon_reader *r;
    CHECK_EQ(iop_mon_reader_new(IOP_MON_FMT_U, &r), 0);
    char buf[64];
    CHECK_EQ(iop_mon_reader_read(r, buf, 0), -EAGAIN); /* nothing: would block */
    struct iop_mon_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.tag = 0xab;
    ev.type = 'S';
    ev.xfer = IOP_XFER_BULK;
    ev.busnum = 1;
    ev.setup_flag = '-';
    ev.status = IOP_MON_SUBMIT_STATUS;
    CHECK_EQ(iop_mon_reader_push(r, &ev), 0);
    ev.tag = 0xcd;
    CHECK_EQ(iop_mon_reader_push(r, &ev), 0);
    CHECK_EQ(iop_mon_reader_queued(r), 2);
    CHECK_EQ(iop_mon_reader_read(r, NULL, 5), -EFAULT);
    CHECK_EQ(iop_mon_reader_queued(r), 2); /* nothing taken */
    CHECK_EQ(iop_mon_reader_read(r, NULL, 0), 0);
    CHECK_EQ(iop_mon_reader_queued(r), 1);
    CHECK(iop_mon_reader_readable(r));
    const char *p;
    const char *want = "ab 0 S Bo:1:000:0 -115 0\n";
    int len = (int)strlen(want);
    CHECK_EQ(iop_mon_reader_peek(r, 0, &p), len);
    CHECK_MEMEQ(p, want, strlen(want));
    CHECK_EQ(iop_mon_reader_peek(r, 0, &p), len); /* peeking takes nothing */
    iop_mon_reader_consume(r, 3);
    CHECK_EQ(iop_mon_reader_peek(r, 0, &p), len - 3);
    CHECK_EQ(p[0], '0');
    iop_mon_reader_consume(r, 1000); /* capped at what is pending */
    CHECK_EQ(iop_mon_reader_queued(r), 1);
    CHECK_EQ(iop_mon_reader_read(r, buf, sizeof(buf)), len);
    CHECK_MEMEQ(buf, "cd 0 S", 6);
    CHECK_EQ(iop_mon_reader_peek(r, 0, &p), -EAGAIN);
    CHECK(!iop_mon_reader_readable(r));

    /* Asking for more appends queued events as whole lines behind the rest of a cut
     * line, and never part of one. */
    ev.tag = 0xef;
    CHECK_EQ(iop_mon_reader_push(r, &ev), 0);
    ev.tag = 0x12;
    CHECK_EQ(iop_mon_reader_push(r, &ev), 0);
    CHECK_EQ(iop_mon_reader_read(r, buf, 3), 3);
    CHECK_EQ(iop_mon_reader_peek(r, (size_t)len - 3 + 10, &p), len - 3); /* 10 more: no room */
    CHECK_EQ(iop_mon_reader_queued(r), 1);
    CHECK_EQ(iop_mon_reader_peek(r, 1000, &p), 2 * len - 3);
    CHECK_EQ(iop_mon_reader_queued(r), 0);
    CHECK_MEMEQ(p + len - 3, "12 0 S", 6);
    CHECK_EQ(iop_mon_reader_read(r, buf, sizeof(buf)), 2 * len - 3);
    CHECK_MEMEQ(buf, "0 S Bo", 6);
    CHECK_EQ(iop_mon_reader_read(r, buf, sizeof(buf)), -EAGAIN);
    iop_mon_reader_free(r);
}

/* A full queue drops the newest event and counts it for the reader and its bus. */
static void test_overflow(void) {
    struct iop_mon *m;
    struct test_clock clk = { 0, 0 };
    CHECK_EQ(iop_mon_new(&m), 0);
    iop_mon_set_clock(m, test_clock_fn, &clk);
    CHECK_EQ(iop_mon_add_bus(m, 1), 0);
    struct iop_mon_reader *slow, *fast, *slow0;
    CHECK_EQ(iop_mon_open(m, 1, IOP_MON_FMT_U, &slow), 0);
    CHECK_EQ(iop_mon_open(m, 1, IOP_MON_FMT_U, &fast), 0);
    CHECK_EQ(iop_mon_open(m, 0, IOP_MON_FMT_U, &slow0), 0);

    struct test_urb t;
    urb_init(&t, 1, 1, 1, false, 0);
    const unsigned extra = 17;
    char line[4096];
    for (unsigned i = 0; i < IOP_MON_EVENT_MAX + extra; i++) {
        iop_mon_submit(m, &t.urb);
        CHECK(read_line(fast, line) > 0); /* the fast reader keeps up */
    }
    CHECK_EQ(iop_mon_reader_queued(slow), IOP_MON_EVENT_MAX);
    CHECK_EQ(iop_mon_reader_lost(slow), extra);
    CHECK_EQ(iop_mon_reader_lost(fast), 0);
    CHECK_EQ(iop_mon_reader_lost(slow0), extra);
    struct iop_mon_stats st;
    iop_mon_stats(m, 1, &st);
    CHECK_EQ(st.events, IOP_MON_EVENT_MAX + extra);
    CHECK_EQ(st.text_lost, extra); /* bus 1's readers only */
    iop_mon_stats(m, 0, &st);
    CHECK_EQ(st.text_lost, extra);
    char text[IOP_MON_STAT_BUF], want[IOP_MON_STAT_BUF];
    snprintf(want, sizeof(want), "nreaders 2 events %u text_lost %u\n", IOP_MON_EVENT_MAX + extra, extra);
    iop_mon_stats_text(m, 1, text, sizeof(text));
    CHECK_STREQ(text, want);

    /* Tail drop: the 93 kept are the oldest, timestamps 7, 14, ... 93 * 7. */
    for (unsigned i = 0; i < IOP_MON_EVENT_MAX; i++) {
        char ts[32];
        CHECK(read_line(slow, line) > 0);
        snprintf(ts, sizeof(ts), " %u S ", (i + 1) * 7);
        CHECK(strstr(line, ts) != NULL);
    }
    CHECK_EQ(read_line(slow, line), -EAGAIN);
    /* Drained, it takes events again; the counts stay. */
    iop_mon_submit(m, &t.urb);
    CHECK_EQ(iop_mon_reader_queued(slow), 1);
    CHECK_EQ(iop_mon_reader_lost(slow), extra);
    CHECK_EQ(iop_mon_reader_queued(slow0), IOP_MON_EVENT_MAX);
    CHECK_EQ(iop_mon_reader_lost(slow0), extra + 1);
    iop_mon_stats(m, 0, &st);
    CHECK_EQ(st.text_lost, extra + 1);
    iop_mon_stats(m, 1, &st);
    CHECK_EQ(st.text_lost, extra);

    iop_mon_reader_free(slow);
    iop_mon_reader_free(fast);
    iop_mon_reader_free(slow0);
    iop_mon_free(m);
}

/* The notification fires on the empty -> non-empty edge and on hangup only. */
static void test_notify(void) {
    struct iop_mon *m;
    CHECK_EQ(iop_mon_new(&m), 0);
    CHECK_EQ(iop_mon_add_bus(m, 1), 0);
    struct iop_mon_reader *r;
    CHECK_EQ(iop_mon_open(m, 1, IOP_MON_FMT_U, &r), 0);
    struct notify_count nc = { 0 };
    iop_mon_hooks_set_notify(iop_mon_reader_hooks(r), count_notify, &nc);
    struct test_urb t;
    urb_init(&t, 1, 1, 1, false, 0);
    iop_mon_submit(m, &t.urb);
    CHECK_EQ(nc.calls, 1);
    iop_mon_submit(m, &t.urb);
    iop_mon_submit(m, &t.urb);
    CHECK_EQ(nc.calls, 1);
    char line[4096];
    while (read_line(r, line) > 0)
        ;
    iop_mon_submit(m, &t.urb);
    CHECK_EQ(nc.calls, 2);
    CHECK_EQ(iop_mon_remove_bus(m, 1), 0);
    CHECK_EQ(nc.calls, 3);
    iop_mon_reader_hangup(r); /* again: nothing */
    CHECK_EQ(nc.calls, 3);
    iop_mon_reader_free(r);
    iop_mon_free(m);
}

/* Removing a bus: its readers can read what was queued (a partial line included),
 * then get end of file for good; bus 0 readers carry on; the bus can come back. */
static void test_hangup(void) {
    struct iop_mon *m;
    struct test_clock clk = { 0, 0 };
    CHECK_EQ(iop_mon_new(&m), 0);
    iop_mon_set_clock(m, test_clock_fn, &clk);
    CHECK_EQ(iop_mon_add_bus(m, 1), 0);
    struct iop_mon_reader *r, *r0, *idle;
    CHECK_EQ(iop_mon_open(m, 1, IOP_MON_FMT_U, &r), 0);
    CHECK_EQ(iop_mon_open(m, 1, IOP_MON_FMT_T, &idle), 0);
    CHECK_EQ(iop_mon_open(m, 0, IOP_MON_FMT_U, &r0), 0);
    struct test_urb t;
    urb_init(&t, 1, 1, 1, false, 4);
    for (int i = 0; i < 3; i++)
        iop_mon_submit(m, &t.urb);
    char part[8], line[4096];
    CHECK_EQ(iop_mon_reader_read(r, part, 5), 5);

    CHECK_EQ(iop_mon_remove_bus(m, 1), 0);
    CHECK(iop_mon_reader_hung_up(r));
    CHECK(iop_mon_reader_hung_up(idle));
    CHECK(!iop_mon_reader_hung_up(r0));
    CHECK(iop_mon_reader_readable(r));
    iop_mon_submit(m, &t.urb); /* bus 1 is gone: bus 0 still sees its URBs */
    CHECK_EQ(iop_mon_reader_queued(r), 2);
    CHECK_EQ(iop_mon_reader_queued(r0), 4);

    int n = read_line(r, line);
    CHECK(n > 0 && line[n - 1] == '\n'); /* the rest of the first line */
    CHECK(strstr(line, " S Bo:1:001:1 -115 4 = ") != NULL);
    CHECK(read_line(r, line) > 0);
    CHECK(read_line(r, line) > 0);
    CHECK_EQ(read_line(r, line), 0); /* end of file */
    CHECK_EQ(read_line(r, line), 0);
    CHECK_EQ(iop_mon_reader_read(r, line, 0), 0);
    CHECK(!iop_mon_reader_readable(r));
    struct iop_mon_event ev;
    memset(&ev, 0, sizeof(ev));
    CHECK_EQ(iop_mon_reader_push(r, &ev), -EPIPE);
    /* Freeing hung-up readers touches no bus (ASan would see it). */
    iop_mon_reader_free(r);

    CHECK_EQ(iop_mon_add_bus(m, 1), 0);
    struct iop_mon_stats st;
    iop_mon_stats(m, 1, &st);
    CHECK_EQ(st.nreaders, 0);
    CHECK_EQ(st.events, 0);
    CHECK_EQ(iop_mon_open(m, 1, IOP_MON_FMT_U, &r), 0);
    iop_mon_submit(m, &t.urb);
    CHECK_EQ(iop_mon_reader_queued(r), 1);
    CHECK_EQ(iop_mon_reader_queued(idle), 3);

    /* Freeing the whole monitor hangs up whoever is left; they stay readable. */
    iop_mon_free(m);
    CHECK(iop_mon_reader_hung_up(r));
    CHECK(iop_mon_reader_hung_up(r0));
    CHECK(read_line(r, line) > 0);
    CHECK_EQ(read_line(r, line), 0);
    iop_mon_reader_free(r);
    iop_mon_reader_free(r0);
    iop_mon_reader_free(idle);
}

/* A control URB's S and its E carry the same tag; C the completion status. */
static void test_tags(void) {
    struct iop_mon *m;
    CHECK_EQ(iop_mon_new(&m), 0);
    struct iop_mon_reader *r;
    CHECK_EQ(iop_mon_open(m, 0, IOP_MON_FMT_U, &r), 0);
    struct test_urb t1, t2;
    urb_init(&t1, 1, 1, 0, true, 0);
    urb_init(&t2, 1, 1, 0, true, 0);
    iop_mon_submit(m, &t1.urb);
    iop_mon_submit(m, &t2.urb);
    iop_mon_submit_error(m, &t1.urb, -22);
    iop_mon_complete(m, &t2.urb, -2);
    char l[4][4096];
    for (int i = 0; i < 4; i++)
        CHECK(read_line(r, l[i]) > 0);
    char tag1[32], tag2[32];
    snprintf(tag1, sizeof(tag1), "%lx ", (unsigned long)(uintptr_t)&t1.urb);
    snprintf(tag2, sizeof(tag2), "%lx ", (unsigned long)(uintptr_t)&t2.urb);
    CHECK(strncmp(l[0], tag1, strlen(tag1)) == 0);
    CHECK(strncmp(l[2], tag1, strlen(tag1)) == 0);
    CHECK(strncmp(l[1], tag2, strlen(tag2)) == 0);
    CHECK(strncmp(l[3], tag2, strlen(tag2)) == 0);
    CHECK(strstr(l[2], " E Bi:1:001:0 -22 0\n") != NULL);
    CHECK(strstr(l[3], " C Bi:1:001:0 -2 0\n") != NULL);
    /* NULL URBs are ignored. */
    iop_mon_submit(m, NULL);
    CHECK_EQ(iop_mon_reader_queued(r), 0);
    iop_mon_reader_free(r);
    iop_mon_free(m);
}

int main(void) {
    TEST(test_open_errors);
    TEST(test_fan_out);
    TEST(test_before_open);
    TEST(test_small_reads);
    TEST(test_zero_read_and_peek);
    TEST(test_overflow);
    TEST(test_notify);
    TEST(test_hangup);
    TEST(test_tags);
    return test_summary();
}
