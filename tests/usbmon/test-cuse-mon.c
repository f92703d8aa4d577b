/* The usbmon CUSE nodes over socketpairs, driven by the fake kernel: no /dev/cuse, no
 * root.  Blocking reads park and are answered when URB events arrive, O_NONBLOCK,
 * interrupts, poll notifications, hangup when the bus goes away. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>

#include <linux/fuse.h>

#include "cuse/cuse-dev.h"
#include "cuse/mon-node.h"
#include "fake-kernel.h"
#include "lib/usb/urb.h"
#include "lib/usbmon/bus.h"
#include "lib/usbmon/capture.h"
#include "lib/usbmon/reader.h"
#include "lib/util/log.h"
#include "lib/util/loop.h"
#include "testutil.h"

struct node_under_test {
    struct iop_mon_node *node;
    struct fake_kernel k;
};

static struct iop_mon *mon;
static struct node_under_test n1u, n1t, n0u, n3u;
static uint64_t clock_usec = 1000000;

static void test_clock(void *ctx, clockid_t clock, struct timespec *ts) {
    (void)clock;
    (void)ctx;
    clock_usec += 10;
    ts->tv_sec = (time_t)(clock_usec / 1000000);
    ts->tv_nsec = (long)(clock_usec % 1000000) * 1000;
}

static void pump(void *ctx) {
    struct node_under_test *t = ctx;
    CHECK_EQ(iop_cuse_dev_process(iop_mon_node_dev(t->node)), 0);
}

static void node_setup(struct node_under_test *t, unsigned bus, enum iop_mon_fmt fmt, const char *name) {
    int dfd;
    CHECK_EQ(fake_kernel_init(&t->k, &dfd), 0);
    CHECK_EQ(iop_mon_node_new(mon, bus, fmt, name, dfd, &t->node), 0);
    t->k.pump = pump;
    t->k.pump_ctx = t;
}

/* The next message must be the reply to unique: its error, or its byte count with
 * the bytes copied to buf (NUL-terminated). */
static long reply_of(struct node_under_test *t, uint64_t unique, char *buf, size_t size) {
    static struct fake_kernel_msg m;
    int r = fake_kernel_next_msg(&t->k, &m);
    if (r < 0)
        return r == -EAGAIN ? -EINPROGRESS : r; /* nothing sent: still parked */
    CHECK_EQ(m.unique, unique);
    if (m.error)
        return m.error;
    CHECK(m.len < size);
    size_t n = m.len < size - 1 ? m.len : size - 1;
    memcpy(buf, m.data, n);
    buf[n] = 0;
    return (long)m.len;
}

static bool nothing_sent(struct node_under_test *t) {
    static struct fake_kernel_msg m;
    return fake_kernel_next_msg(&t->k, &m) == -EAGAIN;
}

/* read(2) on the node: send, let the daemon run, take its answer if any. */
static long do_read(struct node_under_test *t, uint64_t fh, char *buf, size_t size, int flags, uint64_t *unique) {
    uint64_t u;
    CHECK_EQ(fake_kernel_send_read(&t->k, fh, size, flags, &u), 0);
    pump(t);
    if (unique)
        *unique = u;
    return reply_of(t, u, buf, size + 1);
}

static struct test_urb {
    struct iop_urb urb;
    uint8_t buf[16];
} bulk1, bulk2;

static void urbs_setup(void) {
    bulk1.urb = (struct iop_urb){ .xfer = IOP_XFER_BULK, .endpoint = 2, .busnum = 1, .devnum = 5,
                                  .transfer_buffer = bulk1.buf, .transfer_buffer_length = 8 };
    memcpy(bulk1.buf, "\x55\x53\x42\x43\x01\x02\x03\x04", 8);
    bulk2.urb = (struct iop_urb){ .xfer = IOP_XFER_INT, .endpoint = 1, .dir_in = true, .busnum = 2,
                                  .devnum = 3, .interval = 8, .transfer_buffer = bulk2.buf,
                                  .transfer_buffer_length = 2 };
}

/* The line bus 1's URB gives in format fmt at the timestamp the next event will get. */
static void line_for(char fmt, const struct iop_urb *u, char type, int status, uint64_t usec, char *out) {
    struct timespec ts = { (time_t)(usec / 1000000), (long)(usec % 1000000) * 1000 };
    struct iop_mon_event ev;
    CHECK_EQ(iop_mon_capture(&ev, u, type, status, iop_mon_timestamp(&ts)), 0);
    CHECK(iop_mon_format(fmt, &ev, out, IOP_MON_PRINTF_DFL) > 0);
}

static void test_init_and_open(void) {
    uint32_t flags;
    CHECK(!iop_cuse_dev_ready(iop_mon_node_dev(n1u.node)));
    CHECK_EQ(fake_kernel_cuse_init_any(&n1u.k, &flags), 0);
    CHECK_STREQ(n1u.k.devinfo, "DEVNAME=usbmon/1u");
    CHECK(!(flags & CUSE_UNRESTRICTED_IOCTL)); /* no ioctls to follow pointers for */
    CHECK(iop_cuse_dev_ready(iop_mon_node_dev(n1u.node)));
    CHECK_EQ(fake_kernel_cuse_init_any(&n1t.k, NULL), 0);
    CHECK_STREQ(n1t.k.devinfo, "DEVNAME=usbmon/1t");
    CHECK_EQ(fake_kernel_cuse_init_any(&n0u.k, NULL), 0);
    CHECK_EQ(fake_kernel_cuse_init_any(&n3u.k, NULL), 0);

    uint64_t fh;
    CHECK_EQ(fake_kernel_open(&n3u.k, O_RDONLY, &fh), -ENODEV); /* bus 3 does not exist */
    CHECK_EQ(iop_mon_node_open_count(n3u.node), 0);
    CHECK_EQ(fake_kernel_open(&n1u.k, O_RDONLY, &fh), 0);
    CHECK_EQ(iop_mon_node_open_count(n1u.node), 1);
    struct iop_mon_stats st;
    CHECK_EQ(iop_mon_stats(mon, 1, &st), 0);
    CHECK_EQ(st.nreaders, 1);
    CHECK_EQ(fake_kernel_release(&n1u.k, fh), 0);
    CHECK_EQ(iop_mon_node_open_count(n1u.node), 0);
    CHECK_EQ(iop_mon_stats(mon, 1, &st), 0);
    CHECK_EQ(st.nreaders, 0);

    /* No 0t. */
    int dfd;
    struct fake_kernel k;
    struct iop_mon_node *bad;
    CHECK_EQ(fake_kernel_init(&k, &dfd), 0);
    CHECK_EQ(iop_mon_node_new(mon, 0, IOP_MON_FMT_T, "usbmon/0t", dfd, &bad), -EINVAL);
    CHECK_EQ(fcntl(dfd, F_GETFD), -1); /* the fd was taken over and closed */
    fake_kernel_close(&k);
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Lines as the kernel prints them; a read returns the whole lines that fit in it (the
 * kernel gives one per read: see lib/usbmon/reader.h); small reads reassemble. */
static void test_read_lines(void) {
    uint64_t fh, fh_t, fh0;
    char buf[4096], want[IOP_MON_PRINTF_DFL], want_t[2 * IOP_MON_PRINTF_DFL], want_tc[IOP_MON_PRINTF_DFL];
    CHECK_EQ(fake_kernel_open(&n1u.k, O_RDONLY, &fh), 0);
    CHECK_EQ(fake_kernel_open(&n1t.k, O_RDONLY, &fh_t), 0);
    CHECK_EQ(fake_kernel_open(&n0u.k, O_RDONLY, &fh0), 0);

    CHECK_EQ(do_read(&n1u, fh, buf, 4096, O_RDONLY | O_NONBLOCK, NULL), -EAGAIN);

    line_for('u', &bulk1.urb, 'S', 0, clock_usec + 10, want);
    line_for('t', &bulk1.urb, 'S', 0, clock_usec + 10, want_t);
    CHECK(strstr(want, " S Bo:1:005:2 -115 8 = 55534243 01020304\n") != NULL);
    iop_mon_submit(mon, &bulk1.urb);
    bulk1.urb.actual_length = 8;
    iop_mon_complete(mon, &bulk1.urb, 0);
    line_for('t', &bulk1.urb, 'C', 0, clock_usec, want_tc);
    bulk2.urb.actual_length = 2;
    iop_mon_complete(mon, &bulk2.urb, 0); /* bus 2: only 0u sees it */

    /* A buffer one line long gets that line only: the next does not fit whole. */
    CHECK_EQ(do_read(&n1u, fh, buf, strlen(want) + 10, O_RDONLY | O_NONBLOCK, NULL), (long)strlen(want));
    CHECK_STREQ(buf, want);
    /* A big one gets both of bus 1's lines at once. */
    strcat(want_t, want_tc);
    CHECK_EQ(do_read(&n1t, fh_t, buf, 4096, O_RDONLY, NULL), (long)strlen(want_t));
    CHECK_STREQ(buf, want_t);
    CHECK(strstr(want_tc, " C Bo:005:02 0 8 >\n") != NULL);
    /* Bus 0: all three, the bus 2 event with its real bus number. */
    long n = do_read(&n0u, fh0, buf, 4096, O_RDONLY, NULL);
    CHECK(n > (long)strlen(want));
    CHECK(strncmp(buf, want, strlen(want)) == 0);
    CHECK(strstr(buf, " C Bo:1:005:2 0 8 >\n") != NULL);
    CHECK(strstr(buf, " C Ii:2:003:1 0:8 2 = 0000\n") != NULL);
    CHECK(n > 0 && buf[n - 1] == '\n');
    CHECK_EQ(do_read(&n0u, fh0, buf, 4096, O_NONBLOCK, NULL), -EAGAIN);

    /* The C line in 7-byte reads; the last read is short and ends the line. */
    line_for('u', &bulk1.urb, 'C', 0, clock_usec - 10, want);
    CHECK(strstr(want, " C Bo:1:005:2 0 8 >\n") != NULL);
    char got[IOP_MON_PRINTF_DFL] = "";
    size_t at = 0;
    do {
        n = do_read(&n1u, fh, buf, 7, O_RDONLY, NULL);
        CHECK(n > 0 && n <= 7);
        if (n <= 0)
            break;
        memcpy(got + at, buf, (size_t)n);
        at += (size_t)n;
    } while (n == 7 && at < strlen(want));
    got[at] = 0;
    CHECK_STREQ(got, want);
    CHECK_EQ(do_read(&n1u, fh, buf, 4096, O_NONBLOCK, NULL), -EAGAIN); /* that was all */

    CHECK_EQ(fake_kernel_release(&n1u.k, fh), 0);
    CHECK_EQ(fake_kernel_release(&n1t.k, fh_t), 0);
    CHECK_EQ(fake_kernel_release(&n0u.k, fh0), 0);
}

/* A blocking read with nothing there parks; the next event answers it.  Two parked
 * reads are answered in order, one line each. */
static void test_parked_reads(void) {
    uint64_t fh, u1, u2;
    char buf[4096], want[IOP_MON_PRINTF_DFL];
    CHECK_EQ(fake_kernel_open(&n1u.k, O_RDONLY, &fh), 0);
    CHECK_EQ(do_read(&n1u, fh, buf, 4096, O_RDONLY, &u1), -EINPROGRESS);
    CHECK_EQ(do_read(&n1u, fh, buf, 4096, O_RDONLY, &u2), -EINPROGRESS);
    CHECK_EQ(iop_mon_node_parked_reads(n1u.node), 2);
    /* A non-blocking read meanwhile does not jump the queue. */
    CHECK_EQ(do_read(&n1u, fh, buf, 4096, O_NONBLOCK, NULL), -EAGAIN);

    line_for('u', &bulk1.urb, 'S', 0, clock_usec + 10, want);
    iop_mon_submit(mon, &bulk1.urb); /* answers u1 from inside the URB path */
    CHECK_EQ(reply_of(&n1u, u1, buf, sizeof(buf)), (long)strlen(want));
    CHECK_STREQ(buf, want);
    CHECK(nothing_sent(&n1u));
    CHECK_EQ(iop_mon_node_parked_reads(n1u.node), 1);

    line_for('u', &bulk1.urb, 'C', -2, clock_usec + 10, want);
    iop_mon_complete(mon, &bulk1.urb, -2);
    CHECK_EQ(reply_of(&n1u, u2, buf, sizeof(buf)), (long)strlen(want));
    CHECK_STREQ(buf, want);
    CHECK_EQ(iop_mon_node_parked_reads(n1u.node), 0);

    /* A parked read smaller than the line gets the start; the rest comes next. */
    CHECK_EQ(do_read(&n1u, fh, buf, 5, O_RDONLY, &u1), -EINPROGRESS);
    line_for('u', &bulk1.urb, 'S', 0, clock_usec + 10, want);
    iop_mon_submit(mon, &bulk1.urb);
    CHECK_EQ(reply_of(&n1u, u1, buf, sizeof(buf)), 5);
    CHECK_MEMEQ(buf, want, 5);
    CHECK_EQ(do_read(&n1u, fh, buf, 4096, O_NONBLOCK, NULL), (long)strlen(want) - 5);
    CHECK_STREQ(buf, want + 5);

    CHECK_EQ(fake_kernel_release(&n1u.k, fh), 0);
}

/* A signal interrupts a parked read: EINTR, and the event that comes later is not
 * lost but read by the next read. */
static void test_interrupt(void) {
    uint64_t fh, u1;
    char buf[4096], want[IOP_MON_PRINTF_DFL];
    CHECK_EQ(fake_kernel_open(&n1u.k, O_RDONLY, &fh), 0);
    CHECK_EQ(do_read(&n1u, fh, buf, 4096, O_RDONLY, &u1), -EINPROGRESS);
    CHECK_EQ(fake_kernel_send_interrupt(&n1u.k, u1), 0);
    pump(&n1u);
    CHECK_EQ(reply_of(&n1u, u1, buf, sizeof(buf)), -EINTR);
    CHECK(nothing_sent(&n1u));
    CHECK_EQ(iop_mon_node_parked_reads(n1u.node), 0);

    line_for('u', &bulk1.urb, 'S', 0, clock_usec + 10, want);
    iop_mon_submit(mon, &bulk1.urb);
    CHECK(nothing_sent(&n1u)); /* nobody waits now */
    CHECK_EQ(do_read(&n1u, fh, buf, 4096, O_RDONLY, NULL), (long)strlen(want));
    CHECK_STREQ(buf, want);

    /* Read and interrupt in the same batch: the read parks, then is interrupted. */
    CHECK_EQ(fake_kernel_send_read(&n1u.k, fh, 4096, O_RDONLY, &u1), 0);
    CHECK_EQ(fake_kernel_send_interrupt(&n1u.k, u1), 0);
    pump(&n1u);
    CHECK_EQ(reply_of(&n1u, u1, buf, sizeof(buf)), -EINTR);
    CHECK(nothing_sent(&n1u));
    CHECK_EQ(fake_kernel_release(&n1u.k, fh), 0);
}

/* poll: nothing ready -> 0 and the handle is kept; an event -> a FUSE_NOTIFY_POLL
 * with the kernel's handle; then POLLIN. */
static void test_poll(void) {
    uint64_t fh, u;
    char buf[4096];
    struct fake_kernel_msg m;
    CHECK_EQ(fake_kernel_open(&n1u.k, O_RDONLY, &fh), 0);
    CHECK_EQ(fake_kernel_send_poll(&n1u.k, fh, 0x1234, POLLIN, true, &u), 0);
    pump(&n1u);
    CHECK_EQ(fake_kernel_next_msg(&n1u.k, &m), 0);
    CHECK_EQ(m.unique, u);
    CHECK_EQ(m.error, 0);
    CHECK_EQ(m.len, sizeof(struct fuse_poll_out));
    CHECK_EQ(((struct fuse_poll_out *)m.data)->revents, 0);

    iop_mon_submit(mon, &bulk1.urb);
    CHECK_EQ(fake_kernel_next_msg(&n1u.k, &m), 0);
    CHECK_EQ(m.unique, 0);
    CHECK_EQ(m.error, FUSE_NOTIFY_POLL);
    CHECK_EQ(m.len, sizeof(struct fuse_notify_poll_wakeup_out));
    CHECK_EQ(((struct fuse_notify_poll_wakeup_out *)m.data)->kh, 0x1234);
    CHECK(nothing_sent(&n1u));
    /* A second event with the line unread: nobody to wake (the handle was used). */
    iop_mon_submit(mon, &bulk1.urb);
    CHECK(nothing_sent(&n1u));

    CHECK_EQ(fake_kernel_send_poll(&n1u.k, fh, 0x1234, POLLIN, true, &u), 0);
    pump(&n1u);
    CHECK_EQ(fake_kernel_next_msg(&n1u.k, &m), 0);
    CHECK_EQ(((struct fuse_poll_out *)m.data)->revents, POLLIN | POLLRDNORM);
    CHECK(do_read(&n1u, fh, buf, 4096, O_RDONLY, NULL) > 0);
    CHECK_EQ(count_lines(buf), 2); /* both lines in one read */
    /* Drained; the handle from the last poll wakes on the next event. */
    iop_mon_submit(mon, &bulk1.urb);
    CHECK_EQ(fake_kernel_next_msg(&n1u.k, &m), 0);
    CHECK_EQ(m.error, FUSE_NOTIFY_POLL);
    CHECK(do_read(&n1u, fh, buf, 4096, O_RDONLY, NULL) > 0);
    /* Poll without a waiter (a plain check) keeps no handle. */
    CHECK_EQ(fake_kernel_send_poll(&n1u.k, fh, 0x99, POLLIN, false, &u), 0);
    pump(&n1u);
    CHECK_EQ(fake_kernel_next_msg(&n1u.k, &m), 0);
    CHECK_EQ(((struct fuse_poll_out *)m.data)->revents, 0);
    iop_mon_submit(mon, &bulk1.urb);
    CHECK(nothing_sent(&n1u));
    CHECK_EQ(fake_kernel_release(&n1u.k, fh), 0);
}

static void test_write_ioctl(void) {
    uint64_t fh;
    CHECK_EQ(fake_kernel_open(&n1u.k, O_RDWR, &fh), 0);
    CHECK_EQ(fake_kernel_write(&n1u.k, fh, "x", 1), -EINVAL);
    struct iop_umem_space user;
    iop_umem_space_init(&user);
    CHECK_EQ(fake_kernel_ioctl(&n1u.k, fh, _IO(0x92, 1), 0, false, &user), -ENOTTY);
    CHECK_EQ(fake_kernel_release(&n1u.k, fh), 0);
}

/* The bus goes away: queued lines are still read, then end of file; a read parked on
 * an empty queue gets end of file at once; poll says POLLHUP.  The 0u reader stays. */
static void test_hangup(void) {
    uint64_t fh_data, fh_wait, fh0, u_wait, u_poll;
    char buf[4096];
    struct fake_kernel_msg m;
    CHECK_EQ(fake_kernel_open(&n1u.k, O_RDONLY, &fh_data), 0);
    CHECK_EQ(fake_kernel_open(&n1u.k, O_RDONLY, &fh_wait), 0);
    CHECK_EQ(fake_kernel_open(&n0u.k, O_RDONLY, &fh0), 0);
    iop_mon_submit(mon, &bulk1.urb);
    iop_mon_complete(mon, &bulk1.urb, 0);
    CHECK(do_read(&n1u, fh_wait, buf, 4096, O_RDONLY, NULL) > 0);
    CHECK_EQ(count_lines(buf), 2);
    CHECK_EQ(do_read(&n1u, fh_wait, buf, 4096, O_RDONLY, &u_wait), -EINPROGRESS);
    CHECK_EQ(fake_kernel_send_poll(&n1u.k, fh_wait, 77, POLLIN, true, &u_poll), 0);
    pump(&n1u);
    CHECK_EQ(fake_kernel_next_msg(&n1u.k, &m), 0);
    CHECK_EQ(m.unique, u_poll);

    CHECK_EQ(iop_mon_remove_bus(mon, 1), 0);
    /* The waiting read: end of file; then the poll wake-up (either file's handle). */
    CHECK_EQ(reply_of(&n1u, u_wait, buf, sizeof(buf)), 0);
    CHECK_EQ(fake_kernel_next_msg(&n1u.k, &m), 0);
    CHECK_EQ(m.error, FUSE_NOTIFY_POLL);
    CHECK_EQ(((struct fuse_notify_poll_wakeup_out *)m.data)->kh, 77);
    CHECK(nothing_sent(&n1u));

    CHECK_EQ(fake_kernel_send_poll(&n1u.k, fh_wait, 77, POLLIN, true, &u_poll), 0);
    pump(&n1u);
    CHECK_EQ(fake_kernel_next_msg(&n1u.k, &m), 0);
    CHECK_EQ(((struct fuse_poll_out *)m.data)->revents, POLLHUP);
    CHECK_EQ(do_read(&n1u, fh_wait, buf, 4096, O_RDONLY, NULL), 0);
    CHECK_EQ(do_read(&n1u, fh_wait, buf, 4096, O_NONBLOCK, NULL), 0);

    /* The other file still has its two lines, then end of file. */
    CHECK_EQ(fake_kernel_send_poll(&n1u.k, fh_data, 78, POLLIN, true, &u_poll), 0);
    pump(&n1u);
    CHECK_EQ(fake_kernel_next_msg(&n1u.k, &m), 0);
    CHECK_EQ(((struct fuse_poll_out *)m.data)->revents, POLLIN | POLLRDNORM | POLLHUP);
    CHECK(do_read(&n1u, fh_data, buf, 4096, O_RDONLY, NULL) > 0);
    CHECK_EQ(count_lines(buf), 2);
    CHECK(strstr(buf, " S Bo:1:005:2 ") != NULL);
    CHECK(strstr(buf, " C Bo:1:005:2 ") != NULL);
    CHECK_EQ(do_read(&n1u, fh_data, buf, 4096, O_RDONLY, NULL), 0);

    /* New opens fail while the bus is gone; 0u still follows bus 2. */
    uint64_t fh;
    CHECK_EQ(fake_kernel_open(&n1u.k, O_RDONLY, &fh), -ENODEV);
    CHECK(do_read(&n0u, fh0, buf, 4096, O_RDONLY, NULL) > 0);
    CHECK_EQ(count_lines(buf), 2);
    iop_mon_complete(mon, &bulk2.urb, 0);
    CHECK(do_read(&n0u, fh0, buf, 4096, O_RDONLY, NULL) > 0);
    CHECK(strstr(buf, " C Ii:2:003:1 ") != NULL);

    CHECK_EQ(fake_kernel_release(&n1u.k, fh_data), 0);
    CHECK_EQ(fake_kernel_release(&n1u.k, fh_wait), 0);
    CHECK_EQ(fake_kernel_release(&n0u.k, fh0), 0);
    CHECK_EQ(iop_mon_add_bus(mon, 1), 0);
    CHECK_EQ(fake_kernel_open(&n1u.k, O_RDONLY, &fh), 0);
    CHECK_EQ(fake_kernel_release(&n1u.k, fh), 0);
}

/* With a wake delay, a parked read or poll is answered when the delay's timer fires,
 * with every line that arrived meanwhile; a queue at IOP_MON_WAKE_DEPTH, hangup and a
 * read that finds lines queued are answered at once; nothing waiting arms no timer;
 * an interrupted or closed file leaves nothing behind for the timer. */
static void test_wake_delay(void) {
    struct iop_loop *loop;
    uint64_t fh, u;
    char buf[16384];
    struct fake_kernel_msg m;
    CHECK_EQ(iop_loop_new(&loop), 0);
    iop_mon_node_set_wake_delay(n1u.node, loop, 20000);
    CHECK_EQ(fake_kernel_open(&n1u.k, O_RDONLY, &fh), 0);

    /* Three events for a parked read: one reply, when the timer fires. */
    CHECK_EQ(do_read(&n1u, fh, buf, sizeof(buf) - 1, O_RDONLY, &u), -EINPROGRESS);
    for (int i = 0; i < 3; i++)
        iop_mon_submit(mon, &bulk1.urb);
    CHECK(nothing_sent(&n1u));
    CHECK_EQ(iop_loop_iterate(loop, 0), 0); /* not due yet */
    CHECK(nothing_sent(&n1u));
    CHECK_EQ(iop_loop_iterate(loop, 1000), 0);
    CHECK(reply_of(&n1u, u, buf, sizeof(buf)) > 0);
    CHECK_EQ(count_lines(buf), 3);

    /* Lines queued when the read comes: answered at once, no timer involved. */
    iop_mon_submit(mon, &bulk1.urb); /* nobody waits: no timer */
    CHECK_EQ(iop_loop_iterate(loop, 0), 0);
    CHECK(nothing_sent(&n1u));
    CHECK(do_read(&n1u, fh, buf, sizeof(buf) - 1, O_RDONLY, NULL) > 0);
    CHECK_EQ(count_lines(buf), 1);

    /* A queue at WAKE_DEPTH wakes at once; the timer armed by its first event is gone. */
    CHECK_EQ(do_read(&n1u, fh, buf, sizeof(buf) - 1, O_RDONLY, &u), -EINPROGRESS);
    for (unsigned i = 0; i + 1 < IOP_MON_WAKE_DEPTH; i++)
        iop_mon_submit(mon, &bulk1.urb);
    CHECK(nothing_sent(&n1u));
    iop_mon_submit(mon, &bulk1.urb);
    CHECK(reply_of(&n1u, u, buf, sizeof(buf)) > 0);
    CHECK_EQ(count_lines(buf), (int)IOP_MON_WAKE_DEPTH);
    CHECK_EQ(do_read(&n1u, fh, buf, sizeof(buf) - 1, O_RDONLY, &u), -EINPROGRESS);
    CHECK_EQ(iop_loop_iterate(loop, 40), 0); /* past the delay: nothing fires */
    CHECK(nothing_sent(&n1u));
    /* ... and the parked read is served by the next event's timer. */
    iop_mon_submit(mon, &bulk1.urb);
    CHECK(nothing_sent(&n1u));
    CHECK_EQ(iop_loop_iterate(loop, 1000), 0);
    CHECK(reply_of(&n1u, u, buf, sizeof(buf)) > 0);
    CHECK_EQ(count_lines(buf), 1);

    /* A waiting poll is woken by the timer too. */
    CHECK_EQ(fake_kernel_send_poll(&n1u.k, fh, 0x77, POLLIN, true, &u), 0);
    pump(&n1u);
    CHECK_EQ(fake_kernel_next_msg(&n1u.k, &m), 0);
    CHECK_EQ(((struct fuse_poll_out *)m.data)->revents, 0);
    iop_mon_submit(mon, &bulk1.urb);
    iop_mon_submit(mon, &bulk1.urb);
    CHECK(nothing_sent(&n1u));
    CHECK_EQ(iop_loop_iterate(loop, 1000), 0);
    CHECK_EQ(fake_kernel_next_msg(&n1u.k, &m), 0);
    CHECK_EQ(m.error, FUSE_NOTIFY_POLL);
    CHECK_EQ(((struct fuse_notify_poll_wakeup_out *)m.data)->kh, 0x77);
    CHECK(do_read(&n1u, fh, buf, sizeof(buf) - 1, O_RDONLY, NULL) > 0);
    CHECK_EQ(count_lines(buf), 2);

    /* Interrupted while the timer is armed: EINTR; the timer then finds nobody, and
     * the line is read next. */
    CHECK_EQ(do_read(&n1u, fh, buf, sizeof(buf) - 1, O_RDONLY, &u), -EINPROGRESS);
    iop_mon_submit(mon, &bulk1.urb);
    CHECK_EQ(fake_kernel_send_interrupt(&n1u.k, u), 0);
    pump(&n1u);
    CHECK_EQ(reply_of(&n1u, u, buf, sizeof(buf)), -EINTR);
    CHECK_EQ(iop_loop_iterate(loop, 1000), 0);
    CHECK(nothing_sent(&n1u));
    CHECK(do_read(&n1u, fh, buf, sizeof(buf) - 1, O_NONBLOCK, NULL) > 0);
    CHECK_EQ(count_lines(buf), 1);

    /* Hangup wakes at once: end of file. */
    CHECK_EQ(do_read(&n1u, fh, buf, sizeof(buf) - 1, O_RDONLY, &u), -EINPROGRESS);
    CHECK_EQ(iop_mon_remove_bus(mon, 1), 0);
    CHECK_EQ(reply_of(&n1u, u, buf, sizeof(buf)), 0);
    CHECK_EQ(fake_kernel_release(&n1u.k, fh), 0);
    CHECK_EQ(iop_mon_add_bus(mon, 1), 0);

    /* Closed with the timer armed (its poll waits): the timer goes with the file. */
    CHECK_EQ(fake_kernel_open(&n1u.k, O_RDONLY, &fh), 0);
    CHECK_EQ(fake_kernel_send_poll(&n1u.k, fh, 0x78, POLLIN, true, &u), 0);
    pump(&n1u);
    CHECK_EQ(fake_kernel_next_msg(&n1u.k, &m), 0);
    iop_mon_submit(mon, &bulk1.urb);
    CHECK_EQ(fake_kernel_release(&n1u.k, fh), 0);
    CHECK_EQ(iop_loop_iterate(loop, 40), 0);
    CHECK(nothing_sent(&n1u));

    iop_mon_node_set_wake_delay(n1u.node, NULL, 0);
    iop_loop_free(loop);
}

/* Tearing a node down answers its parked reads (ENODEV) before the session closes. */
static void test_free_with_parked_read(void) {
    uint64_t fh, u;
    char buf[64];
    CHECK_EQ(fake_kernel_open(&n0u.k, O_RDONLY, &fh), 0);
    CHECK_EQ(do_read(&n0u, fh, buf, 64, O_RDONLY, &u), -EINPROGRESS);
    struct iop_mon_stats st;
    CHECK_EQ(iop_mon_stats(mon, 0, &st), 0);
    CHECK_EQ(st.nreaders, 1);
    n0u.node = iop_mon_node_free(n0u.node);
    CHECK_EQ(reply_of(&n0u, u, buf, sizeof(buf)), -ENODEV);
    CHECK_EQ(iop_mon_stats(mon, 0, &st), 0);
    CHECK_EQ(st.nreaders, 0);
}

int main(void) {
    iop_log_set_max_level(LOG_WARNING);
    CHECK_EQ(iop_mon_new(&mon), 0);
    iop_mon_set_clock(mon, test_clock, NULL);
    CHECK_EQ(iop_mon_add_bus(mon, 1), 0);
    CHECK_EQ(iop_mon_add_bus(mon, 2), 0);
    urbs_setup();
    node_setup(&n1u, 1, IOP_MON_FMT_U, "usbmon/1u");
    node_setup(&n1t, 1, IOP_MON_FMT_T, "usbmon/1t");
    node_setup(&n0u, 0, IOP_MON_FMT_U, "usbmon/0u");
    node_setup(&n3u, 3, IOP_MON_FMT_U, "usbmon/3u");
    TEST(test_init_and_open);
    TEST(test_read_lines);
    TEST(test_parked_reads);
    TEST(test_interrupt);
    TEST(test_poll);
    TEST(test_write_ioctl);
    TEST(test_hangup);
    TEST(test_wake_delay);
    TEST(test_free_with_parked_read);
    struct node_under_test *all[] = { &n1u, &n1t, &n0u, &n3u };
    for (unsigned i = 0; i < 4; i++) {
        iop_mon_node_free(all[i]->node);
        fake_kernel_close(&all[i]->k);
    }
    iop_mon_free(mon);
    return test_summary();
}
