/* The binary usbmon CUSE nodes over socketpairs, driven by the fake kernel (its
 * fuse_do_ioctl() transcription runs every ioctl round by round): the ioctls with the
 * kernel's rounds and errno, 32-bit callers, records read in tiny pieces, blocking
 * reads and ioctls parked and answered by the next URB event, O_NONBLOCK (also as a
 * later read() reports it), interrupts (an interrupted MFETCH still stores nflush),
 * poll, overflow counted while the URB path goes on, hangup, teardown. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>

#include <linux/fuse.h>

#include "cuse/cuse-dev.h"
#include "cuse/mon-bin-node.h"
#include "fake-kernel.h"
#include "lib/umem/umem-space.h"
#include "lib/usb/urb.h"
#include "lib/usbmon/bin-ioctl.h"
#include "lib/usbmon/bin-reader.h"
#include "lib/usbmon/binary.h"
#include "lib/usbmon/bus.h"
#include "lib/util/log.h"
#include "lib/util/loop.h"
#include "testutil.h"

struct node_under_test {
    struct iop_mon_bin_node *node;
    struct fake_kernel k;
};

static struct iop_mon *mon;
static struct node_under_test n1, n0, n5;
static struct iop_umem_space user;
/* The caller's memory: whole pages at 32-bit addresses, so 32-bit callers can use it. */
#define U_ARG 0x10000u
#define U_HDR 0x20000u
#define U_DATA 0x30000u
#define U_VEC 0x40000u
#define U_HOLE 0x70000u
static uint8_t m_arg[4096], m_hdr[4096], m_data[4096];
static uint32_t m_vec[1024];

static void test_clock(void *ctx, clockid_t clock, struct timespec *ts) {
    (void)ctx;
    ts->tv_sec = clock == CLOCK_REALTIME ? 1700000000 : 5;
    ts->tv_nsec = 1000;
}

static void pump(void *ctx) {
    struct node_under_test *t = ctx;
    CHECK_EQ(iop_cuse_dev_process(iop_mon_bin_node_dev(t->node)), 0);
}

static void node_setup(struct node_under_test *t, unsigned bus, const char *name) {
    int dfd;
    CHECK_EQ(fake_kernel_init(&t->k, &dfd), 0);
    CHECK_EQ(iop_mon_bin_node_new(mon, bus, name, dfd, &t->node), 0);
    t->k.pump = pump;
    t->k.pump_ctx = t;
}

static struct iop_urb bulk_urb, intr_urb;
static uint8_t bulk_buf[600], intr_buf[8];

static void urbs_setup(void) {
    bulk_urb = (struct iop_urb){ .xfer = IOP_XFER_BULK, .endpoint = 2, .busnum = 1, .devnum = 5,
                                 .transfer_buffer = bulk_buf, .transfer_buffer_length = 500 };
    for (unsigned i = 0; i < sizeof(bulk_buf); i++)
        bulk_buf[i] = (uint8_t)(i ^ 0x5a);
    intr_urb = (struct iop_urb){ .xfer = IOP_XFER_INT, .endpoint = 1, .dir_in = true, .busnum = 2, .devnum = 3,
                                 .interval = 8, .transfer_buffer = intr_buf, .transfer_buffer_length = 4 };
}

/* The record one event gives, built independently of the node. */
static struct iop_mon_bin_hdr record_of(const struct iop_urb *u, char type, int status) {
    struct timespec ts = { 1700000000, 1000 };
    struct iop_mon_bin_event ev;
    CHECK_EQ(iop_mon_bin_prepare(&ev, u, type, status, &ts), 0);
    struct iop_mon_bin_sizes sz;
    iop_mon_bin_sizes(&ev, 300 * 1024 / 5, &sz);
    ev.hdr.len_cap = sz.len_cap;
    ev.hdr.flag_data = sz.flag_data;
    return ev.hdr;
}

static struct fake_kernel_msg msg;

static long reply_of(struct node_under_test *t, uint64_t unique, void *buf, size_t size) {
    int r = fake_kernel_next_msg(&t->k, &msg);
    if (r < 0)
        return r == -EAGAIN ? -EINPROGRESS : r;
    CHECK_EQ(msg.unique, unique);
    if (msg.error)
        return msg.error;
    CHECK(msg.len <= size);
    memcpy(buf, msg.data, msg.len < size ? msg.len : size);
    return (long)msg.len;
}

static bool nothing_sent(struct node_under_test *t) {
    return fake_kernel_next_msg(&t->k, &msg) == -EAGAIN;
}

static long do_read(struct node_under_test *t, uint64_t fh, void *buf, size_t size, int flags, uint64_t *unique) {
    uint64_t u;
    CHECK_EQ(fake_kernel_send_read(&t->k, fh, size, flags, &u), 0);
    pump(t);
    if (unique)
        *unique = u;
    return reply_of(t, u, buf, size);
}

static long ioctl1(struct node_under_test *t, uint64_t fh, unsigned cmd, uint64_t arg) {
    return fake_kernel_ioctl(&t->k, fh, cmd, arg, false, &user);
}

static void set_get(uint64_t hdr, uint64_t data, uint64_t alloc) {
    struct iop_mon_bin_get g = { hdr, data, alloc };
    memcpy(m_arg, &g, sizeof(g));
}

static void test_init(void) {
    uint32_t flags;
    CHECK_EQ(fake_kernel_cuse_init_any(&n1.k, &flags), 0);
    CHECK_STREQ(n1.k.devinfo, "DEVNAME=usbmon1");
    CHECK(flags & CUSE_UNRESTRICTED_IOCTL); /* the GET/MFETCH structs carry pointers */
    CHECK(iop_cuse_dev_ready(iop_mon_bin_node_dev(n1.node)));
    CHECK_EQ(fake_kernel_cuse_init(&n0.k), 0);
    CHECK_EQ(fake_kernel_cuse_init(&n5.k), 0);
    uint64_t fh;
    CHECK_EQ(fake_kernel_open(&n5.k, O_RDONLY, &fh), -ENODEV); /* no bus 5 */
    CHECK_EQ(fake_kernel_open(&n1.k, O_RDONLY, &fh), 0);
    CHECK_EQ(iop_mon_bin_node_open_count(n1.node), 1);
    struct iop_mon_stats st;
    CHECK_EQ(iop_mon_stats(mon, 1, &st), 0);
    CHECK_EQ(st.nreaders, 1);
    CHECK_EQ(fake_kernel_write(&n1.k, fh, "x", 1), -EINVAL);
    CHECK_EQ(fake_kernel_release(&n1.k, fh), 0);
    CHECK_EQ(iop_mon_stats(mon, 1, &st), 0);
    CHECK_EQ(st.nreaders, 0);
    /* Out of range. */
    int dfd;
    struct fake_kernel k;
    struct iop_mon_bin_node *bad;
    CHECK_EQ(fake_kernel_init(&k, &dfd), 0);
    CHECK_EQ(iop_mon_bin_node_new(mon, 256, "usbmon256", dfd, &bad), -EINVAL);
    fake_kernel_close(&k);
}

/* Every ioctl through the retry rounds, with the round counts the header promises. */
static void test_ioctls(void) {
    uint64_t fh;
    CHECK_EQ(fake_kernel_open(&n1.k, O_RDONLY, &fh), 0);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCQ_URB_LEN, 0), 0);
    CHECK_EQ(n1.k.rounds, 1);
    iop_mon_submit(mon, &bulk_urb);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCQ_URB_LEN, 0), 500);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCQ_RING_SIZE, 0), 300 * 1024);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCT_RING_SIZE, 100), -EINVAL);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCT_RING_SIZE, 20000), 0);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCQ_RING_SIZE, 0), 20480);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCQ_URB_LEN, 0), 0); /* the new ring is empty */

    /* GET: the kernel's header, the data, three rounds. */
    iop_mon_submit(mon, &bulk_urb);
    struct iop_mon_bin_hdr want = record_of(&bulk_urb, 'S', 0);
    want.len_cap = 500; /* 20480 / 5 = 4096: not capped */
    set_get(U_HDR, U_DATA, sizeof(m_data));
    memset(m_hdr, 0xEE, 128);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCX_GET, U_ARG), 0);
    CHECK_EQ(n1.k.rounds, 3);
    CHECK_MEMEQ(m_hdr, &want, 48);
    CHECK_EQ(m_hdr[48], 0xEE);
    CHECK_MEMEQ(m_data, bulk_buf, 500);
    /* The same call again, as libpcap makes it: two rounds (bin-ioctl.h). */
    iop_mon_submit(mon, &bulk_urb);
    memset(m_data, 0, 500);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCX_GET, U_ARG), 0);
    CHECK_EQ(n1.k.rounds, 2);
    CHECK_MEMEQ(m_data, bulk_buf, 500);
    /* GETX: 64 bytes; a bad header pointer first: EFAULT and the record is kept. */
    iop_mon_submit(mon, &bulk_urb);
    set_get(0, U_DATA, sizeof(m_data));
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCX_GETX, U_ARG), -EFAULT);
    set_get(U_HDR, U_HOLE, sizeof(m_data));
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCX_GETX, U_ARG), -EFAULT);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCX_GETX, U_HOLE), -EFAULT);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCX_GETX, 0), -EFAULT);
    set_get(U_HDR, U_DATA, 0x10000001);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCX_GETX, U_ARG), -EINVAL);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCQ_URB_LEN, 0), 500);
    set_get(U_HDR, U_DATA, 100);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCX_GETX, U_ARG), 0);
    CHECK_MEMEQ(m_hdr, &want, 64);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCQ_URB_LEN, 0), 0);

    /* STATS in two rounds; MFLUSH in one; MFETCH in three. */
    for (int i = 0; i < 3; i++)
        iop_mon_submit(mon, &bulk_urb);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCG_STATS, U_ARG), 0);
    CHECK_EQ(n1.k.rounds, 2);
    struct iop_mon_bin_stats st;
    memcpy(&st, m_arg, sizeof(st));
    CHECK_EQ(st.queued, 3);
    CHECK_EQ(st.dropped, 0);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCG_STATS, 0), -EFAULT);
    struct iop_mon_bin_mfetch mf = { U_VEC, 8, 1 };
    memcpy(m_arg, &mf, sizeof(mf));
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCX_MFETCH, U_ARG), 0);
    CHECK_EQ(n1.k.rounds, 3);
    memcpy(&mf, m_arg, sizeof(mf));
    CHECK_EQ(mf.nflush, 1);
    CHECK_EQ(mf.nfetch, 2);
    CHECK_EQ(m_vec[1] - m_vec[0], 576); /* 64 + 500 -> 576 */
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCH_MFLUSH, 5), 2);
    CHECK_EQ(n1.k.rounds, 1);
    CHECK_EQ(ioctl1(&n1, fh, 0x12345678, U_ARG), -ENOTTY);
    CHECK_EQ(fake_kernel_release(&n1.k, fh), 0);
}

/* A static i386 program's calls: FUSE_IOCTL_COMPAT, the 12-byte structs. */
static void test_compat(void) {
    uint64_t fh;
    CHECK_EQ(fake_kernel_open(&n1.k, O_RDONLY, &fh), 0);
    iop_mon_submit(mon, &bulk_urb);
    struct iop_mon_bin_get32 g = { U_HDR, U_DATA, 0x10000001 }; /* no alloc limit for them */
    memcpy(m_arg, &g, sizeof(g));
    memset(m_data, 0, sizeof(m_data));
    CHECK_EQ(fake_kernel_ioctl(&n1.k, fh, IOP_MON_IOCX_GETX32, U_ARG, true, &user), 0);
    CHECK_EQ(n1.k.rounds, 3);
    CHECK_MEMEQ(m_data, bulk_buf, 500);
    CHECK_EQ(((struct iop_mon_bin_hdr *)(void *)m_hdr)->len_cap, 500);
    /* The 64-bit numbers mean nothing to the compat path, and the other way round. */
    CHECK_EQ(fake_kernel_ioctl(&n1.k, fh, IOP_MON_IOCX_GET, U_ARG, true, &user), -ENOTTY);
    CHECK_EQ(fake_kernel_ioctl(&n1.k, fh, IOP_MON_IOCX_GET32, U_ARG, false, &user), -ENOTTY);
    iop_mon_submit(mon, &bulk_urb);
    struct iop_mon_bin_mfetch32 m = { U_VEC, 4, 0 };
    memcpy(m_arg, &m, sizeof(m));
    CHECK_EQ(fake_kernel_ioctl(&n1.k, fh, IOP_MON_IOCX_MFETCH32, U_ARG, true, &user), 0);
    memcpy(&m, m_arg, sizeof(m));
    CHECK_EQ(m.nfetch32, 1);
    CHECK_EQ(fake_kernel_ioctl(&n1.k, fh, IOP_MON_IOCG_STATS, U_ARG, true, &user), 0);
    CHECK_EQ(fake_kernel_ioctl(&n1.k, fh, IOP_MON_IOCQ_URB_LEN, 0, true, &user), 500);
    CHECK_EQ(fake_kernel_release(&n1.k, fh), 0);
}

/* read(): the 48-byte header, then the payload; one byte at a time works; a big
 * buffer gets one record. */
static void test_read(void) {
    uint64_t fh;
    static uint8_t buf[8192], got[8192];
    CHECK_EQ(fake_kernel_open(&n1.k, O_RDONLY, &fh), 0);
    CHECK_EQ(do_read(&n1, fh, buf, 100, O_RDONLY | O_NONBLOCK, NULL), -EAGAIN);
    iop_mon_submit(mon, &bulk_urb);
    iop_mon_submit(mon, &bulk_urb);
    struct iop_mon_bin_hdr want = record_of(&bulk_urb, 'S', 0);
    CHECK_EQ(do_read(&n1, fh, buf, sizeof(buf), O_RDONLY, NULL), 548);
    CHECK_MEMEQ(buf, &want, 48);
    CHECK_MEMEQ(buf + 48, bulk_buf, 500);
    for (int i = 0; i < 548; i++)
        CHECK_EQ(do_read(&n1, fh, got + i, 1, O_RDONLY, NULL), 1);
    CHECK_MEMEQ(got, buf, 548);
    CHECK_EQ(do_read(&n1, fh, buf, 100, O_RDONLY | O_NONBLOCK, NULL), -EAGAIN);
    /* A blocking read parks; the next event answers it from inside the URB path. */
    uint64_t u;
    CHECK_EQ(do_read(&n1, fh, buf, 30, O_RDONLY, &u), -EINPROGRESS);
    CHECK_EQ(iop_mon_bin_node_parked(n1.node), 1);
    iop_mon_complete(mon, &bulk_urb, 0);
    CHECK_EQ(reply_of(&n1, u, buf, sizeof(buf)), 30);
    CHECK_EQ(do_read(&n1, fh, buf + 30, sizeof(buf), O_RDONLY, NULL), 18); /* OUT 'C': no data */
    CHECK_EQ(buf[8], 'C');
    CHECK_EQ(buf[15], '>');
    CHECK_EQ(fake_kernel_release(&n1.k, fh), 0);
}

/* GET waits for an event; with O_NONBLOCK (as of the open, or of a later read) it
 * fails with EAGAIN; a signal ends the wait with EINTR. */
static void test_waiting_ioctls(void) {
    uint64_t fh;
    struct fake_kernel_ioctl *io = calloc(1, sizeof(*io));
    CHECK_EQ(fake_kernel_open(&n1.k, O_RDONLY, &fh), 0);
    set_get(U_HDR, U_DATA, sizeof(m_data));
    CHECK_EQ(fake_kernel_ioctl_start(&n1.k, io, fh, IOP_MON_IOCX_GET, U_ARG, false, &user), -EINPROGRESS);
    CHECK_EQ(io->rounds, 2);
    CHECK_EQ(iop_mon_bin_node_parked(n1.node), 1);
    CHECK(nothing_sent(&n1));
    iop_mon_submit(mon, &bulk_urb); /* answers the waiting round with a retry */
    CHECK_EQ(fake_kernel_ioctl_resume(&n1.k, io), 0);
    CHECK_EQ(io->rounds, 3);
    CHECK_MEMEQ(m_data, bulk_buf, 500);
    CHECK_EQ(iop_mon_bin_node_parked(n1.node), 0);

    /* A signal: EINTR, and the event that comes later waits for the next call. */
    CHECK_EQ(fake_kernel_ioctl_start(&n1.k, io, fh, IOP_MON_IOCX_GET, U_ARG, false, &user), -EINPROGRESS);
    CHECK_EQ(fake_kernel_send_interrupt(&n1.k, io->unique), 0);
    pump(&n1);
    CHECK_EQ(fake_kernel_ioctl_resume(&n1.k, io), -EINTR);
    CHECK_EQ(iop_mon_bin_node_parked(n1.node), 0);
    iop_mon_submit(mon, &bulk_urb);
    CHECK(nothing_sent(&n1));
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCX_GET, U_ARG), 0);

    /* An interrupted MFETCH has removed its nflush records, and says so. */
    iop_mon_submit(mon, &bulk_urb);
    iop_mon_submit(mon, &bulk_urb);
    struct iop_mon_bin_mfetch mf = { U_VEC, 8, 5 };
    memcpy(m_arg, &mf, sizeof(mf));
    CHECK_EQ(fake_kernel_ioctl_start(&n1.k, io, fh, IOP_MON_IOCX_MFETCH, U_ARG, false, &user), -EINPROGRESS);
    CHECK_EQ(io->rounds, 3);
    CHECK_EQ(fake_kernel_send_interrupt(&n1.k, io->unique), 0);
    pump(&n1);
    CHECK_EQ(fake_kernel_ioctl_resume(&n1.k, io), -EINTR);
    memcpy(&mf, m_arg, sizeof(mf));
    CHECK_EQ(mf.nflush, 2);
    CHECK_EQ(mf.nfetch, 8);

    /* O_NONBLOCK as the file was opened ... */
    uint64_t fhn;
    CHECK_EQ(fake_kernel_open(&n1.k, O_RDONLY | O_NONBLOCK, &fhn), 0);
    CHECK_EQ(ioctl1(&n1, fhn, IOP_MON_IOCX_GET, U_ARG), -EAGAIN);
    memcpy(m_arg, &(struct iop_mon_bin_mfetch){ U_VEC, 8, 0 }, sizeof(mf));
    CHECK_EQ(ioctl1(&n1, fhn, IOP_MON_IOCX_MFETCH, U_ARG), -EAGAIN);
    CHECK_EQ(fake_kernel_release(&n1.k, fhn), 0);
    /* ... or as a read reports it after fcntl(F_SETFL). */
    uint8_t buf[64];
    CHECK_EQ(do_read(&n1, fh, buf, sizeof(buf), O_RDONLY | O_NONBLOCK, NULL), -EAGAIN);
    set_get(U_HDR, U_DATA, sizeof(m_data));
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCX_GET, U_ARG), -EAGAIN);
    CHECK_EQ(do_read(&n1, fh, buf, sizeof(buf), O_RDONLY, &(uint64_t){ 0 }), -EINPROGRESS);
    iop_mon_submit(mon, &bulk_urb); /* the parked read takes 64 bytes of it */
    CHECK(fake_kernel_next_msg(&n1.k, &msg) == 0 && msg.len == 64);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCX_GET, U_ARG), 0); /* GET takes the record whole */
    CHECK_EQ(fake_kernel_release(&n1.k, fh), 0);
    free(io);
}

/* With a wake delay a waiting GET (or read) is answered when the delay's timer fires,
 * and at once when the ring passes half full; the cancelled timer leaves nothing. */
static void test_wake_delay(void) {
    uint64_t fh, u;
    struct iop_loop *loop;
    struct fake_kernel_ioctl *io = calloc(1, sizeof(*io));
    CHECK_EQ(iop_loop_new(&loop), 0);
    iop_mon_bin_node_set_wake_delay(n1.node, loop, 20000);
    CHECK_EQ(fake_kernel_open(&n1.k, O_RDONLY, &fh), 0);

    set_get(U_HDR, U_DATA, sizeof(m_data));
    CHECK_EQ(fake_kernel_ioctl_start(&n1.k, io, fh, IOP_MON_IOCX_GET, U_ARG, false, &user), -EINPROGRESS);
    iop_mon_submit(mon, &bulk_urb);
    CHECK(nothing_sent(&n1));
    CHECK_EQ(iop_loop_iterate(loop, 0), 0); /* not due yet */
    CHECK(nothing_sent(&n1));
    CHECK_EQ(iop_loop_iterate(loop, 1000), 0);
    CHECK_EQ(fake_kernel_ioctl_resume(&n1.k, io), 0);
    CHECK_MEMEQ(m_data, bulk_buf, 500);

    /* A parked read the same way. */
    uint8_t buf[64];
    CHECK_EQ(do_read(&n1, fh, buf, sizeof(buf), O_RDONLY, &u), -EINPROGRESS);
    iop_mon_submit(mon, &bulk_urb);
    CHECK(nothing_sent(&n1));
    CHECK_EQ(iop_loop_iterate(loop, 1000), 0);
    CHECK_EQ(reply_of(&n1, u, buf, sizeof(buf)), 64);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCH_MFLUSH, 1), 1);

    /* 576-byte records in an 8 KiB ring: the 8th passes half and wakes at once. */
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCT_RING_SIZE, 8192), 0);
    set_get(U_HDR, U_DATA, sizeof(m_data));
    CHECK_EQ(fake_kernel_ioctl_start(&n1.k, io, fh, IOP_MON_IOCX_GET, U_ARG, false, &user), -EINPROGRESS);
    for (int i = 0; i < 7; i++)
        iop_mon_submit(mon, &bulk_urb);
    CHECK(nothing_sent(&n1));
    iop_mon_submit(mon, &bulk_urb);
    CHECK_EQ(fake_kernel_ioctl_resume(&n1.k, io), 0);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCH_MFLUSH, 7), 7);
    CHECK_EQ(iop_loop_iterate(loop, 40), 0); /* the first record's timer is gone */
    CHECK(nothing_sent(&n1));
    CHECK_EQ(fake_kernel_release(&n1.k, fh), 0);

    iop_mon_bin_node_set_wake_delay(n1.node, NULL, 0);
    iop_loop_free(loop);
    free(io);
}

/* A full ring drops and counts; the URB path goes on and readers are unaffected. */
static void test_overflow(void) {
    uint64_t fh, fh0;
    CHECK_EQ(fake_kernel_open(&n1.k, O_RDONLY, &fh), 0);
    CHECK_EQ(fake_kernel_open(&n0.k, O_RDONLY, &fh0), 0);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCT_RING_SIZE, 8192), 0);
    for (int i = 0; i < 100; i++)
        iop_mon_submit(mon, &bulk_urb); /* 576 bytes each: 14 fit in 8 KiB */
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCG_STATS, U_ARG), 0);
    struct iop_mon_bin_stats st;
    memcpy(&st, m_arg, sizeof(st));
    CHECK_EQ(st.queued, 14);
    CHECK_EQ(st.dropped, 86);
    /* The bus 0 reader with the default ring lost nothing. */
    CHECK_EQ(fake_kernel_ioctl(&n0.k, fh0, IOP_MON_IOCG_STATS, U_ARG, false, &user), 0);
    memcpy(&st, m_arg, sizeof(st));
    CHECK_EQ(st.queued, 100);
    CHECK_EQ(st.dropped, 0);
    CHECK_EQ(fake_kernel_release(&n1.k, fh), 0);
    CHECK_EQ(fake_kernel_release(&n0.k, fh0), 0);
}

static void test_poll(void) {
    uint64_t fh, u;
    CHECK_EQ(fake_kernel_open(&n1.k, O_RDONLY, &fh), 0);
    CHECK_EQ(fake_kernel_send_poll(&n1.k, fh, 0x42, POLLIN, true, &u), 0);
    pump(&n1);
    CHECK_EQ(fake_kernel_next_msg(&n1.k, &msg), 0);
    CHECK_EQ(msg.unique, u);
    CHECK_EQ(((struct fuse_poll_out *)(void *)msg.data)->revents, 0);
    iop_mon_submit(mon, &bulk_urb);
    CHECK_EQ(fake_kernel_next_msg(&n1.k, &msg), 0);
    CHECK_EQ(msg.error, FUSE_NOTIFY_POLL);
    CHECK_EQ(((struct fuse_notify_poll_wakeup_out *)(void *)msg.data)->kh, 0x42);
    CHECK_EQ(fake_kernel_send_poll(&n1.k, fh, 0x42, POLLIN, false, &u), 0);
    pump(&n1);
    CHECK_EQ(fake_kernel_next_msg(&n1.k, &msg), 0);
    CHECK_EQ(((struct fuse_poll_out *)(void *)msg.data)->revents, POLLIN | POLLRDNORM);
    CHECK_EQ(fake_kernel_release(&n1.k, fh), 0);
}

/* The bus goes away: queued records are still read; then read() is end of file, a
 * waiting GET ends with ENODEV, poll says POLLHUP.  Teardown answers what waits. */
static void test_hangup_and_free(void) {
    uint64_t fh, fh0, u;
    struct fake_kernel_ioctl *io = calloc(1, sizeof(*io));
    CHECK_EQ(fake_kernel_open(&n1.k, O_RDONLY, &fh), 0);
    set_get(U_HDR, U_DATA, sizeof(m_data));
    CHECK_EQ(fake_kernel_ioctl_start(&n1.k, io, fh, IOP_MON_IOCX_GET, U_ARG, false, &user), -EINPROGRESS);
    CHECK_EQ(iop_mon_remove_bus(mon, 1), 0);
    CHECK_EQ(fake_kernel_ioctl_resume(&n1.k, io), -ENODEV);
    uint8_t buf[64];
    CHECK_EQ(do_read(&n1, fh, buf, sizeof(buf), O_RDONLY, NULL), 0);
    CHECK_EQ(fake_kernel_send_poll(&n1.k, fh, 1, POLLIN, false, &u), 0);
    pump(&n1);
    CHECK_EQ(fake_kernel_next_msg(&n1.k, &msg), 0);
    CHECK_EQ(((struct fuse_poll_out *)(void *)msg.data)->revents, POLLHUP);
    CHECK_EQ(ioctl1(&n1, fh, IOP_MON_IOCT_RING_SIZE, 8192), -ENODEV);
    CHECK_EQ(fake_kernel_release(&n1.k, fh), 0);
    CHECK_EQ(fake_kernel_open(&n1.k, O_RDONLY, &fh), -ENODEV);
    CHECK_EQ(iop_mon_add_bus(mon, 1), 0);

    /* Freeing the node answers a waiting read and a waiting ioctl with ENODEV. */
    CHECK_EQ(fake_kernel_open(&n0.k, O_RDONLY, &fh0), 0);
    CHECK_EQ(do_read(&n0, fh0, buf, sizeof(buf), O_RDONLY, &u), -EINPROGRESS);
    CHECK_EQ(fake_kernel_ioctl_start(&n0.k, io, fh0, IOP_MON_IOCX_GETX, U_ARG, false, &user), -EINPROGRESS);
    CHECK_EQ(iop_mon_bin_node_parked(n0.node), 2);
    n0.node = iop_mon_bin_node_free(n0.node);
    CHECK_EQ(reply_of(&n0, u, buf, sizeof(buf)), -ENODEV);
    CHECK_EQ(fake_kernel_ioctl_resume(&n0.k, io), -ENODEV);
    struct iop_mon_stats st;
    CHECK_EQ(iop_mon_stats(mon, 0, &st), 0);
    CHECK_EQ(st.nreaders, 0);
    free(io);
}

int main(void) {
    iop_log_set_max_level(LOG_WARNING);
    CHECK_EQ(iop_mon_new(&mon), 0);
    iop_mon_set_clock(mon, test_clock, NULL);
    CHECK_EQ(iop_mon_add_bus(mon, 1), 0);
    CHECK_EQ(iop_mon_add_bus(mon, 2), 0);
    urbs_setup();
    iop_umem_space_init(&user);
    iop_umem_space_map(&user, U_ARG, m_arg, sizeof(m_arg), true);
    iop_umem_space_map(&user, U_HDR, m_hdr, sizeof(m_hdr), true);
    iop_umem_space_map(&user, U_DATA, m_data, sizeof(m_data), true);
    iop_umem_space_map(&user, U_VEC, m_vec, sizeof(m_vec), true);
    node_setup(&n1, 1, "usbmon1");
    node_setup(&n0, 0, "usbmon0");
    node_setup(&n5, 5, "usbmon5");
    TEST(test_init);
    TEST(test_ioctls);
    TEST(test_compat);
    TEST(test_read);
    TEST(test_waiting_ioctls);
    TEST(test_wake_delay);
    TEST(test_overflow);
    TEST(test_poll);
    TEST(test_hangup_and_free);
    iop_mon_bin_node_free(n1.node);
    iop_mon_bin_node_free(n5.node);
    fake_kernel_close(&n1.k);
    fake_kernel_close(&n0.k);
    fake_kernel_close(&n5.k);
    iop_mon_free(mon);
    return test_summary();
}
