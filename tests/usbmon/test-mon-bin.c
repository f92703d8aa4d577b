/* The usbmon binary API: record encoding (binary.c) against the rules of the kernel's
 * mon_bin.c written out field by field, the per-reader ring (bin-reader.c: sizes,
 * overflow, wrap, offsets, read() in pieces, hangup, memory budget), every ioctl with
 * good, bad and hostile arguments for 64- and 32-bit callers (bin-ioctl.c), through
 * the CUSE retry protocol round by round (lib/umem/umem-drive.h), and the bus fan-out
 * with text and binary readers on one capture point (bus.c). */
#include <errno.h>
#include <sys/ioctl.h>

#include "lib/umem/umem-drive.h"
#include "lib/umem/umem-space.h"
#include "lib/usb/urb.h"
#include "lib/usbmon/bin-ioctl.h"
#include "lib/usbmon/bin-reader.h"
#include "lib/usbmon/binary.h"
#include "lib/usbmon/bus.h"
#include "lib/usbmon/reader.h"
#include "testutil.h"

/* ---- URBs ---- */

struct test_urb {
    struct iop_urb *urb; /* owned, with 200 ISO descriptors after it */
    uint8_t buf[8192];
    uint8_t setup[8];
};

static struct test_urb *urb_new(uint8_t xfer, bool in, uint8_t ep, uint32_t len) {
    struct test_urb *t = calloc(1, sizeof(*t));
    t->urb = calloc(1, sizeof(*t->urb) + 200 * sizeof(t->urb->iso_frame_desc[0]));
    t->urb->xfer = xfer;
    t->urb->dir_in = in;
    t->urb->endpoint = ep;
    t->urb->busnum = 3;
    t->urb->devnum = 7;
    t->urb->transfer_buffer = t->buf;
    t->urb->transfer_buffer_length = len;
    for (unsigned i = 0; i < sizeof(t->buf); i++)
        t->buf[i] = (uint8_t)(i * 7 + 1);
    return t;
}

static void urb_free(struct test_urb *t) {
    free(t->urb);
    free(t);
}

static const struct timespec ts0 = { 1700000000, 123456789 };

static struct iop_mon_bin_event prep(const struct test_urb *t, char type, int status) {
    struct iop_mon_bin_event ev;
    CHECK_EQ(iop_mon_bin_prepare(&ev, t->urb, type, status, &ts0), 0);
    return ev;
}

/* Store ev in r and return a copy of the record: header and payload. */
static struct iop_mon_bin_hdr stored(struct iop_mon_bin_reader *r, const struct iop_mon_bin_event *ev, uint8_t *payload) {
    struct iop_mon_bin_hdr h;
    memset(&h, 0, sizeof(h));
    uint32_t q = iop_mon_bin_reader_queued(r);
    CHECK_EQ(iop_mon_bin_reader_push(r, ev), 0);
    CHECK_EQ(iop_mon_bin_reader_queued(r), q + 1);
    /* The newest record is the last MFETCH offset. */
    uint32_t *vec = calloc(q + 1, sizeof(uint32_t));
    CHECK_EQ(iop_mon_bin_reader_fetch(r, vec, q + 1), q + 1);
    free(vec);
    while (iop_mon_bin_reader_queued(r) > 1)
        iop_mon_bin_reader_consume(r);
    h = *iop_mon_bin_reader_head(r);
    if (payload)
        iop_mon_bin_reader_copy(r, 0, payload, h.len_cap);
    iop_mon_bin_reader_consume(r);
    return h;
}

static struct iop_mon_bin_reader *reader(struct iop_mon_bin_budget *b) {
    struct iop_mon_bin_reader *r = NULL;
    CHECK_EQ(iop_mon_bin_reader_new(b, &r), 0);
    return r;
}

/* ---- Encoding ---- */

static void test_control(void) {
    struct iop_mon_bin_budget b = { 0, IOP_MON_BIN_BUDGET_DFL };
    struct iop_mon_bin_reader *r = reader(&b);
    static uint8_t payload[IOP_MON_BIN_CAP_MAX];

    /* GET_DESCRIPTOR(device), 18 bytes IN. */
    struct test_urb *t = urb_new(IOP_XFER_CONTROL, true, 0, 18);
    memcpy(t->setup, "\x80\x06\x00\x01\x00\x00\x12\x00", 8);
    t->urb->setup_packet = t->setup;
    t->urb->transfer_flags = IOP_URB_SHORT_NOT_OK;
    struct iop_mon_bin_event ev = prep(t, 'S', 0);
    struct iop_mon_bin_hdr h = stored(r, &ev, payload);
    CHECK_EQ(h.id, (uint64_t)(uintptr_t)t->urb);
    CHECK_EQ(h.type, 'S');
    CHECK_EQ(h.xfer_type, 2);
    CHECK_EQ(h.epnum, 0x80);
    CHECK_EQ(h.devnum, 7);
    CHECK_EQ(h.busnum, 3);
    CHECK_EQ(h.flag_setup, 0);
    CHECK_MEMEQ(h.s.setup, t->setup, 8);
    CHECK_EQ(h.flag_data, '<');
    CHECK_EQ(h.ts_sec, 1700000000);
    CHECK_EQ(h.ts_usec, 123456);
    CHECK_EQ(h.status, -115);
    CHECK_EQ(h.len_urb, 18);
    CHECK_EQ(h.len_cap, 0);
    CHECK_EQ(h.xfer_flags, IOP_URB_SHORT_NOT_OK | 0x200); /* usbcore's URB_DIR_IN */
    CHECK_EQ(h.interval, 0);
    CHECK_EQ(h.start_frame, 0);
    CHECK_EQ(h.ndesc, 0);

    /* Its completion, 18 bytes back: the data, no setup. */
    t->urb->actual_length = 18;
    ev = prep(t, 'C', 0);
    h = stored(r, &ev, payload);
    CHECK_EQ(h.type, 'C');
    CHECK_EQ(h.flag_setup, '-');
    CHECK_EQ(h.flag_data, 0);
    CHECK_EQ(h.status, 0);
    CHECK_EQ(h.len_urb, 18);
    CHECK_EQ(h.len_cap, 18);
    CHECK_MEMEQ(payload, t->buf, 18);
    uint8_t zero8[8] = { 0 };
    CHECK_MEMEQ(h.s.setup, zero8, 8);

    /* A short IN completion: actual_length counts. */
    t->urb->actual_length = 5;
    ev = prep(t, 'C', -121);
    h = stored(r, &ev, payload);
    CHECK_EQ(h.status, -121);
    CHECK_EQ(h.len_urb, 5);
    CHECK_EQ(h.len_cap, 5);

    /* Control OUT with data: the data goes with the submit, '>' at completion. */
    struct test_urb *o = urb_new(IOP_XFER_CONTROL, false, 0, 8);
    memcpy(o->setup, "\x40\x04\x82\x00\xa4\x00\x08\x00", 8);
    o->urb->setup_packet = o->setup;
    ev = prep(o, 'S', 0);
    h = stored(r, &ev, payload);
    CHECK_EQ(h.epnum, 0);
    CHECK_EQ(h.flag_setup, 0);
    CHECK_EQ(h.flag_data, 0);
    CHECK_EQ(h.len_cap, 8);
    CHECK_MEMEQ(payload, o->buf, 8);
    CHECK_EQ(h.xfer_flags, 0);
    o->urb->actual_length = 8;
    ev = prep(o, 'C', 0);
    h = stored(r, &ev, payload);
    CHECK_EQ(h.flag_data, '>');
    CHECK_EQ(h.len_urb, 8);
    CHECK_EQ(h.len_cap, 0);

    /* No data stage: flag 0 with nothing after the header (not '<' or 'Z'). */
    o->urb->transfer_buffer_length = 0;
    o->urb->transfer_buffer = NULL;
    ev = prep(o, 'S', 0);
    h = stored(r, &ev, NULL);
    CHECK_EQ(h.flag_data, 0);
    CHECK_EQ(h.len_cap, 0);
    /* No setup packet: 'Z'. */
    o->urb->setup_packet = NULL;
    ev = prep(o, 'S', 0);
    h = stored(r, &ev, NULL);
    CHECK_EQ(h.flag_setup, 'Z');

    CHECK_EQ(iop_mon_bin_reader_check(r), 0);
    iop_mon_bin_reader_free(r);
    CHECK_EQ(b.used, 0);
    urb_free(t);
    urb_free(o);
}

static void test_bulk_int_error(void) {
    struct iop_mon_bin_budget b = { 0, IOP_MON_BIN_BUDGET_DFL };
    struct iop_mon_bin_reader *r = reader(&b);
    static uint8_t payload[IOP_MON_BIN_CAP_MAX];

    /* Bulk OUT of 200 bytes: all of them (the text nodes show 32). */
    struct test_urb *t = urb_new(IOP_XFER_BULK, false, 2, 200);
    t->urb->transfer_flags = IOP_URB_ZERO_PACKET;
    struct iop_mon_bin_event ev = prep(t, 'S', 0);
    struct iop_mon_bin_hdr h = stored(r, &ev, payload);
    CHECK_EQ(h.xfer_type, 3);
    CHECK_EQ(h.epnum, 2);
    CHECK_EQ(h.flag_setup, '-');
    CHECK_EQ(h.len_urb, 200);
    CHECK_EQ(h.len_cap, 200);
    CHECK_MEMEQ(payload, t->buf, 200);
    CHECK_EQ(h.xfer_flags, IOP_URB_ZERO_PACKET);

    /* No buffer: 'Z', and the ring keeps only the header. */
    t->urb->transfer_buffer = NULL;
    ev = prep(t, 'S', 0);
    uint32_t before = iop_mon_bin_reader_queued(r);
    CHECK_EQ(iop_mon_bin_reader_push(r, &ev), 0);
    uint32_t offs[64];
    CHECK_EQ(iop_mon_bin_reader_fetch(r, offs, 64), before + 1);
    h = *iop_mon_bin_reader_head(r);
    CHECK_EQ(h.flag_data, 'Z');
    CHECK_EQ(h.len_cap, 0);
    CHECK_EQ(h.len_urb, 200);
    CHECK_EQ(iop_mon_bin_reader_check(r), 0);
    iop_mon_bin_reader_consume(r);

    /* Interrupt IN: interval in the 64-byte header. */
    struct test_urb *i = urb_new(IOP_XFER_INT, true, 1, 8);
    i->urb->interval = 8;
    i->urb->actual_length = 3;
    ev = prep(i, 'C', 0);
    h = stored(r, &ev, payload);
    CHECK_EQ(h.xfer_type, 1);
    CHECK_EQ(h.epnum, 0x81);
    CHECK_EQ(h.interval, 8);
    CHECK_EQ(h.len_cap, 3);

    /* A submit error: the header alone, mon_bin_error()'s fields only. */
    t->urb->transfer_buffer = t->buf;
    t->urb->transfer_flags = 0x40;
    ev = prep(t, 'E', -19);
    h = stored(r, &ev, NULL);
    CHECK_EQ(h.type, 'E');
    CHECK_EQ(h.status, -19);
    CHECK_EQ(h.flag_setup, '-');
    CHECK_EQ(h.flag_data, 'E');
    CHECK_EQ(h.len_urb, 0);
    CHECK_EQ(h.len_cap, 0);
    CHECK_EQ(h.xfer_flags, 0);
    CHECK_EQ(h.epnum, 2);
    /* Bad types and arguments. */
    struct iop_mon_bin_event e2;
    CHECK_EQ(iop_mon_bin_prepare(&e2, t->urb, 'X', 0, &ts0), -EINVAL);
    CHECK_EQ(iop_mon_bin_prepare(&e2, NULL, 'S', 0, &ts0), -EINVAL);
    CHECK_EQ(iop_mon_bin_prepare(&e2, t->urb, 'S', 0, NULL), -EINVAL);

    iop_mon_bin_reader_free(r);
    urb_free(t);
    urb_free(i);
}

static void test_iso(void) {
    struct iop_mon_bin_budget b = { 0, IOP_MON_BIN_BUDGET_DFL };
    struct iop_mon_bin_reader *r = reader(&b);
    static uint8_t payload[IOP_MON_BIN_CAP_MAX];

    struct test_urb *t = urb_new(IOP_XFER_ISOC, true, 1, 1000);
    t->urb->number_of_packets = 4;
    t->urb->interval = 1;
    t->urb->start_frame = 2568;
    t->urb->error_count = 1;
    for (int k = 0; k < 4; k++) {
        t->urb->iso_frame_desc[k].offset = 200u * (unsigned)k;
        t->urb->iso_frame_desc[k].length = 200;
        t->urb->iso_frame_desc[k].status = -18;
    }
    struct iop_mon_bin_event ev = prep(t, 'S', 0);
    struct iop_mon_bin_hdr h = stored(r, &ev, payload);
    CHECK_EQ(h.xfer_type, 0);
    CHECK_EQ(h.ndesc, 4);
    CHECK_EQ(h.s.iso.numdesc, 4);
    CHECK_EQ(h.s.iso.error_count, 1);
    CHECK_EQ(h.interval, 1);
    CHECK_EQ(h.start_frame, 2568);
    CHECK_EQ(h.flag_data, '<');
    CHECK_EQ(h.len_cap, 4 * 16);
    struct iop_mon_bin_isodesc d[4];
    memcpy(d, payload, sizeof(d));
    CHECK_EQ(d[2].iso_status, -18);
    CHECK_EQ(d[2].iso_off, 400);
    CHECK_EQ(d[2].iso_len, 200); /* S: the requested length */
    CHECK_EQ(d[2].pad, 0);

    /* Completion, sparse: packets 0 and 2 moved data; the data runs from 0 to the end
     * of packet 2, though actual_length says 30. */
    t->urb->iso_frame_desc[0].actual_length = 10;
    t->urb->iso_frame_desc[2].actual_length = 20;
    for (int k = 0; k < 4; k++)
        t->urb->iso_frame_desc[k].status = 0;
    t->urb->actual_length = 30;
    ev = prep(t, 'C', 0);
    h = stored(r, &ev, payload);
    CHECK_EQ(h.len_urb, 30);
    CHECK_EQ(h.len_cap, 4 * 16 + 420);
    memcpy(d, payload, sizeof(d));
    CHECK_EQ(d[2].iso_len, 20); /* C: actual_length */
    CHECK_EQ(d[1].iso_len, 0);
    CHECK_MEMEQ(payload + 64, t->buf, 420);

    /* A descriptor past the buffer: capped at the buffer. */
    t->urb->iso_frame_desc[3].offset = 5000;
    t->urb->iso_frame_desc[3].actual_length = 100;
    ev = prep(t, 'C', 0);
    h = stored(r, &ev, payload);
    CHECK_EQ(h.len_cap, 4 * 16 + 1000);

    /* ISO OUT: data with the submit, all of the buffer. */
    t->urb->dir_in = false;
    ev = prep(t, 'S', 0);
    h = stored(r, &ev, payload);
    CHECK_EQ(h.epnum, 1);
    CHECK_EQ(h.len_cap, 4 * 16 + 1000);

    /* 200 packets: 128 descriptors stored, numdesc says 200. */
    t->urb->number_of_packets = 200;
    t->urb->transfer_buffer_length = 0;
    ev = prep(t, 'S', 0);
    h = stored(r, &ev, NULL);
    CHECK_EQ(h.ndesc, 128);
    CHECK_EQ(h.s.iso.numdesc, 200);
    CHECK_EQ(h.len_cap, 128 * 16);
    /* A negative count: no descriptors. */
    t->urb->number_of_packets = -3;
    ev = prep(t, 'S', 0);
    h = stored(r, &ev, NULL);
    CHECK_EQ(h.ndesc, 0);
    CHECK_EQ(h.s.iso.numdesc, -3);
    CHECK_EQ(h.len_cap, 0);
    CHECK_EQ(iop_mon_bin_reader_check(r), 0);
    iop_mon_bin_reader_free(r);
    urb_free(t);
}

/* The data cap: a fifth of the ring, and what one CUSE ioctl can carry. */
static void test_caps(void) {
    struct iop_mon_bin_budget b = { 0, IOP_MON_BIN_BUDGET_DFL };
    struct iop_mon_bin_reader *r = reader(&b);
    struct test_urb *t = urb_new(IOP_XFER_BULK, false, 2, 4000);
    CHECK_EQ(iop_mon_bin_reader_set_ring_size(r, 8192), 0);
    struct iop_mon_bin_event ev = prep(t, 'S', 0);
    struct iop_mon_bin_hdr h = stored(r, &ev, NULL);
    CHECK_EQ(h.len_urb, 4000);
    CHECK_EQ(h.len_cap, 8192 / 5);

    /* A 200000-byte transfer into the largest ring: 240 KiB by the kernel's rule, but
     * a record must fit one ioctl. */
    uint8_t *big = calloc(1, 200000);
    t->urb->transfer_buffer = big;
    t->urb->transfer_buffer_length = 200000;
    CHECK_EQ(iop_mon_bin_reader_set_ring_size(r, IOP_MON_BIN_RING_MAX), 0);
    ev = prep(t, 'S', 0);
    h = stored(r, &ev, NULL);
    CHECK_EQ(h.len_cap, IOP_MON_BIN_CAP_MAX);
    CHECK_EQ(h.len_urb, 200000);
    /* ISO: the descriptors count against it too. */
    t->urb->xfer = IOP_XFER_ISOC;
    t->urb->number_of_packets = 128;
    ev = prep(t, 'S', 0);
    h = stored(r, &ev, NULL);
    CHECK_EQ(h.len_cap, IOP_MON_BIN_CAP_MAX);
    CHECK_EQ(h.ndesc, 128);
    iop_mon_bin_reader_free(r);
    free(big);
    urb_free(t);
}

/* ---- The ring ---- */

static void test_ring_size(void) {
    struct iop_mon_bin_budget b = { 0, IOP_MON_BIN_BUDGET_DFL };
    struct iop_mon_bin_reader *r = reader(&b);
    CHECK_EQ(iop_mon_bin_reader_ring_size(r), 300 * 1024);
    CHECK_EQ(b.used, 300 * 1024);
    CHECK_EQ(iop_mon_bin_reader_set_ring_size(r, 0), -EINVAL);
    CHECK_EQ(iop_mon_bin_reader_set_ring_size(r, 8191), -EINVAL);
    CHECK_EQ(iop_mon_bin_reader_set_ring_size(r, (64 << 20) + 1), -EINVAL);
    CHECK_EQ(iop_mon_bin_reader_set_ring_size(r, UINT64_MAX), -EINVAL);
    CHECK_EQ(iop_mon_bin_reader_set_ring_size(r, (1ull << 32) | 8192), -EINVAL);
    CHECK_EQ(iop_mon_bin_reader_ring_size(r), 300 * 1024);
    CHECK_EQ(iop_mon_bin_reader_set_ring_size(r, 8193), 0); /* rounded up to a page */
    CHECK_EQ(iop_mon_bin_reader_ring_size(r), 12288);
    CHECK_EQ(b.used, 12288);
    CHECK_EQ(iop_mon_bin_reader_set_ring_size(r, 1200 * 1024 + 1), 0); /* the old maximum: no more */
    CHECK_EQ(iop_mon_bin_reader_ring_size(r), 1200 * 1024 + 4096);
    CHECK_EQ(iop_mon_bin_reader_set_ring_size(r, 64 << 20), 0);
    CHECK_EQ(iop_mon_bin_reader_ring_size(r), 64 << 20);

    /* A new size empties the ring and the drop count. */
    struct test_urb *t = urb_new(IOP_XFER_BULK, true, 1, 10);
    CHECK_EQ(iop_mon_bin_reader_set_ring_size(r, 8192), 0);
    struct iop_mon_bin_event ev = prep(t, 'S', 0); /* 64 bytes each */
    for (int i = 0; i < 130; i++)
        iop_mon_bin_reader_push(r, &ev);
    CHECK_EQ(iop_mon_bin_reader_queued(r), 128);
    CHECK_EQ(iop_mon_bin_reader_set_ring_size(r, 8192), 0);
    CHECK_EQ(iop_mon_bin_reader_queued(r), 0);
    CHECK_EQ(iop_mon_bin_reader_take_dropped(r), 0);
    CHECK_EQ(iop_mon_bin_reader_check(r), 0);
    iop_mon_bin_reader_free(r);
    CHECK_EQ(b.used, 0);
    urb_free(t);
}

static void test_overflow(void) {
    struct iop_mon_bin_budget b = { 0, IOP_MON_BIN_BUDGET_DFL };
    struct iop_mon_bin_reader *r = reader(&b);
    CHECK_EQ(iop_mon_bin_reader_set_ring_size(r, 8192), 0);
    struct test_urb *t = urb_new(IOP_XFER_BULK, true, 1, 10);
    struct iop_mon_bin_event s = prep(t, 'S', 0), e = prep(t, 'E', -32);
    /* 8192 / 64: exactly 128 headers fit, the ring full to the last byte. */
    for (int i = 0; i < 128; i++)
        CHECK_EQ(iop_mon_bin_reader_push(r, &s), 0);
    CHECK_EQ(iop_mon_bin_reader_push(r, &s), -ENOBUFS);
    CHECK_EQ(iop_mon_bin_reader_push(r, &s), -ENOBUFS);
    CHECK_EQ(iop_mon_bin_reader_push(r, &e), -ENOBUFS); /* dropped, not counted */
    CHECK_EQ(iop_mon_bin_reader_check(r), 0);
    CHECK_EQ(iop_mon_bin_reader_take_dropped(r), 2);
    CHECK_EQ(iop_mon_bin_reader_take_dropped(r), 0);
    CHECK_EQ(iop_mon_bin_reader_dropped_total(r), 2);
    /* Room again after one is taken: exactly one more fits. */
    iop_mon_bin_reader_consume(r);
    CHECK_EQ(iop_mon_bin_reader_push(r, &s), 0);
    CHECK_EQ(iop_mon_bin_reader_push(r, &s), -ENOBUFS);
    /* A record with data needs its whole aligned size: 64 + 10 -> 128. */
    t->urb->actual_length = 10;
    struct iop_mon_bin_event c = prep(t, 'C', 0);
    iop_mon_bin_reader_consume(r);
    CHECK_EQ(iop_mon_bin_reader_push(r, &c), -ENOBUFS);
    iop_mon_bin_reader_consume(r);
    CHECK_EQ(iop_mon_bin_reader_push(r, &c), 0);
    CHECK_EQ(iop_mon_bin_reader_check(r), 0);
    iop_mon_bin_reader_free(r);
    urb_free(t);
}

/* Records that wrap around the ring's end come out whole; MFETCH offsets are the
 * kernel's (64-aligned, wrapping). */
static void test_wrap_and_offsets(void) {
    struct iop_mon_bin_budget b = { 0, IOP_MON_BIN_BUDGET_DFL };
    struct iop_mon_bin_reader *r = reader(&b);
    CHECK_EQ(iop_mon_bin_reader_set_ring_size(r, 8192), 0);
    struct test_urb *t = urb_new(IOP_XFER_BULK, false, 2, 1000);
    struct iop_mon_bin_event ev = prep(t, 'S', 0); /* 64 + 1000 -> 1088 bytes */
    uint32_t offs[16];
    for (int i = 0; i < 7; i++)
        CHECK_EQ(iop_mon_bin_reader_push(r, &ev), 0);
    CHECK_EQ(iop_mon_bin_reader_fetch(r, offs, 16), 7);
    for (int i = 0; i < 7; i++)
        CHECK_EQ(offs[i], 1088u * (unsigned)i);
    CHECK_EQ(iop_mon_bin_reader_fetch(r, offs, 3), 3);
    CHECK_EQ(iop_mon_bin_reader_fetch(r, NULL, 0), 0);
    CHECK_EQ(iop_mon_bin_reader_push(r, &ev), -ENOBUFS); /* 7616 + 1088 > 8192 */
    CHECK_EQ(iop_mon_bin_reader_flush(r, 2), 2);
    CHECK_EQ(iop_mon_bin_reader_push(r, &ev), 0); /* at 7616: its data wraps */
    CHECK_EQ(iop_mon_bin_reader_fetch(r, offs, 16), 6);
    CHECK_EQ(offs[5], 7616);
    CHECK_EQ(iop_mon_bin_reader_flush(r, 5), 5);
    static uint8_t buf[4096];
    CHECK_EQ(iop_mon_bin_reader_urb_len(r), 1000);
    CHECK_EQ(iop_mon_bin_reader_read(r, buf, sizeof(buf)), 48 + 1000);
    CHECK_MEMEQ(buf + 48, t->buf, 1000);
    CHECK_EQ(iop_mon_bin_reader_queued(r), 0);
    /* The next one goes where the last ended: (7616 + 1088) - 8192. */
    CHECK_EQ(iop_mon_bin_reader_push(r, &ev), 0);
    CHECK_EQ(iop_mon_bin_reader_fetch(r, offs, 16), 1);
    CHECK_EQ(offs[0], 512);
    CHECK_EQ(iop_mon_bin_reader_flush(r, 100), 1);
    CHECK_EQ(iop_mon_bin_reader_flush(r, 100), 0);
    CHECK_EQ(iop_mon_bin_reader_urb_len(r), 0);
    CHECK_EQ(iop_mon_bin_reader_check(r), 0);
    iop_mon_bin_reader_free(r);
    urb_free(t);
}

/* read(): 48-byte header then payload, in pieces of any size, one record per read. */
static void test_read(void) {
    struct iop_mon_bin_budget b = { 0, IOP_MON_BIN_BUDGET_DFL };
    struct iop_mon_bin_reader *r = reader(&b);
    static uint8_t buf[4096], want[4096];
    CHECK_EQ(iop_mon_bin_reader_read(r, buf, 100), -EAGAIN);
    CHECK_EQ(iop_mon_bin_reader_read(r, buf, 0), -EAGAIN); /* the kernel waits here too */
    struct test_urb *t = urb_new(IOP_XFER_BULK, false, 2, 100);
    struct iop_mon_bin_event ev = prep(t, 'S', 0);
    CHECK_EQ(iop_mon_bin_reader_push(r, &ev), 0);
    CHECK_EQ(iop_mon_bin_reader_push(r, &ev), 0);
    memcpy(want, iop_mon_bin_reader_head(r), 48);
    memcpy(want + 48, t->buf, 100);
    /* One byte at a time, 148 reads, then the next record. */
    CHECK_EQ(iop_mon_bin_reader_read(r, buf, 0), 0);
    for (int i = 0; i < 148; i++) {
        CHECK_EQ(iop_mon_bin_reader_read(r, buf + i, 1), 1);
        CHECK_EQ(iop_mon_bin_reader_queued(r), i == 147 ? 1 : 2);
    }
    CHECK_MEMEQ(buf, want, 148);
    /* Header split 30 + 18, then the rest in one: a large buffer stops at the end. */
    CHECK_EQ(iop_mon_bin_reader_read(r, buf, 30), 30);
    CHECK_EQ(iop_mon_bin_reader_read_pos(r), 30);
    CHECK_EQ(iop_mon_bin_reader_read(r, buf + 30, sizeof(buf) - 30), 118);
    CHECK_MEMEQ(buf + 48, t->buf, 100);
    CHECK_EQ(iop_mon_bin_reader_queued(r), 0);
    CHECK_EQ(iop_mon_bin_reader_read(r, NULL, 10), -EFAULT);
    /* A flush forgets a partly read record's position (the kernel resets b_read). */
    CHECK_EQ(iop_mon_bin_reader_push(r, &ev), 0);
    CHECK_EQ(iop_mon_bin_reader_push(r, &ev), 0);
    CHECK_EQ(iop_mon_bin_reader_read(r, buf, 10), 10);
    CHECK_EQ(iop_mon_bin_reader_flush(r, 1), 1);
    CHECK_EQ(iop_mon_bin_reader_read_pos(r), 0);
    CHECK_EQ(iop_mon_bin_reader_read(r, buf, sizeof(buf)), 148);
    /* peek with iovecs: the wrapped payload comes as header + two spans. */
    CHECK_EQ(iop_mon_bin_reader_set_ring_size(r, 8192), 0);
    t->urb->transfer_buffer_length = 1000;
    ev = prep(t, 'S', 0);
    for (int i = 0; i < 7; i++)
        CHECK_EQ(iop_mon_bin_reader_push(r, &ev), 0);
    CHECK_EQ(iop_mon_bin_reader_flush(r, 7), 7);
    CHECK_EQ(iop_mon_bin_reader_push(r, &ev), 0); /* at 7616, data wraps at 8192 */
    struct iovec iov[IOP_MON_BIN_READ_IOV];
    int k;
    CHECK_EQ(iop_mon_bin_reader_read_peek(r, 4096, iov, &k), 1048);
    CHECK_EQ(k, 3);
    CHECK_EQ(iov[0].iov_len, 48);
    CHECK_EQ(iov[1].iov_len, 8192 - 7616 - 64);
    CHECK_EQ(iov[2].iov_len, 1000 - (8192 - 7616 - 64));
    CHECK_MEMEQ(iov[2].iov_base, t->buf + 512, iov[2].iov_len);
    iop_mon_bin_reader_read_done(r, 1048);
    CHECK_EQ(iop_mon_bin_reader_queued(r), 0);
    /* Hangup: what is queued is read, then end of file. */
    CHECK_EQ(iop_mon_bin_reader_push(r, &ev), 0);
    iop_mon_bin_reader_hangup(r);
    CHECK_EQ(b.used, 0);
    CHECK_EQ(iop_mon_bin_reader_push(r, &ev), -EPIPE);
    CHECK_EQ(iop_mon_bin_reader_set_ring_size(r, 8192), -ENODEV);
    CHECK(iop_mon_bin_reader_hung_up(r));
    CHECK_EQ(iop_mon_bin_reader_read(r, buf, sizeof(buf)), 1048);
    CHECK_EQ(iop_mon_bin_reader_read(r, buf, sizeof(buf)), 0);
    iop_mon_bin_reader_hangup(r); /* idempotent */
    iop_mon_bin_reader_free(r);
    CHECK_EQ(b.used, 0);
    iop_mon_bin_reader_free(NULL);
    urb_free(t);
}

static void test_budget(void) {
    struct iop_mon_bin_budget b = { 0, 700 * 1024 };
    struct iop_mon_bin_reader *r1 = reader(&b), *r2 = reader(&b), *r3 = NULL;
    CHECK_EQ(iop_mon_bin_reader_new(&b, &r3), -ENOMEM);
    CHECK_EQ(b.used, 600 * 1024);
    CHECK_EQ(iop_mon_bin_reader_set_ring_size(r1, 500 * 1024), -ENOMEM);
    CHECK_EQ(iop_mon_bin_reader_ring_size(r1), 300 * 1024); /* the old ring stays */
    CHECK_EQ(iop_mon_bin_reader_set_ring_size(r1, 400 * 1024), 0);
    CHECK_EQ(b.used, 700 * 1024);
    iop_mon_bin_reader_free(r2);
    CHECK_EQ(iop_mon_bin_reader_new(&b, &r3), 0);
    iop_mon_bin_reader_free(r1);
    iop_mon_bin_reader_free(r3);
    CHECK_EQ(b.used, 0);
}

/* ---- ioctls ---- */

/* The kernel's argument structs, for the numbers <sys/ioctl.h> gives. */
struct k_stats { uint32_t queued, dropped; };
struct k_get { void *hdr; void *data; size_t alloc; };
struct k_mfetch { uint32_t *offvec; uint32_t nfetch, nflush; };
struct k_get32 { uint32_t hdr32, data32, alloc32; };
struct k_mfetch32 { uint32_t offvec32, nfetch32, nflush32; };

static void test_numbers(void) {
    CHECK_EQ(IOP_MON_IOCQ_URB_LEN, _IO(0x92, 1));
    CHECK_EQ(IOP_MON_IOCG_STATS, _IOR(0x92, 3, struct k_stats));
    CHECK_EQ(IOP_MON_IOCT_RING_SIZE, _IO(0x92, 4));
    CHECK_EQ(IOP_MON_IOCQ_RING_SIZE, _IO(0x92, 5));
    CHECK_EQ(IOP_MON_IOCX_GET, _IOW(0x92, 6, struct k_get));
    CHECK_EQ(IOP_MON_IOCX_MFETCH, _IOWR(0x92, 7, struct k_mfetch));
    CHECK_EQ(IOP_MON_IOCH_MFLUSH, _IO(0x92, 8));
    CHECK_EQ(IOP_MON_IOCX_GETX, _IOW(0x92, 10, struct k_get));
    CHECK_EQ(IOP_MON_IOCX_GET32, _IOW(0x92, 6, struct k_get32));
    CHECK_EQ(IOP_MON_IOCX_MFETCH32, _IOWR(0x92, 7, struct k_mfetch32));
    CHECK_EQ(IOP_MON_IOCX_GETX32, _IOW(0x92, 10, struct k_get32));
}

/* A caller: its memory (whole pages, as mappings are), a reader, and the ioctl run
 * through the retry protocol round by round. */
#define U_ARG 0x10000u
#define U_HDR 0x20000u
#define U_DATA 0x30000u
#define U_VEC 0x40000u
#define U_RO 0x50000u
#define U_HOLE 0x70000u

struct caller {
    struct iop_umem_space space;
    struct iop_mon_bin_budget budget;
    struct iop_mon_bin_reader *r;
    uint8_t arg[4096], hdr[4096], data[3 * 4096], ro[4096];
    uint32_t vec[1024];
    unsigned rounds;
    unsigned flags;
    struct iop_mon_bin_call call;
    unsigned cmd;
    uint64_t uarg;
    struct iop_mon_bin_hint *hint; /* NULL: every call starts blind */
};

static struct caller *caller_new(void) {
    struct caller *c = calloc(1, sizeof(*c));
    c->budget.limit = IOP_MON_BIN_BUDGET_DFL;
    c->r = reader(&c->budget);
    iop_umem_space_init(&c->space);
    iop_umem_space_map(&c->space, U_ARG, c->arg, sizeof(c->arg), true);
    iop_umem_space_map(&c->space, U_HDR, c->hdr, sizeof(c->hdr), true);
    iop_umem_space_map(&c->space, U_DATA, c->data, sizeof(c->data), true);
    iop_umem_space_map(&c->space, U_VEC, c->vec, sizeof(c->vec), true);
    iop_umem_space_map(&c->space, U_RO, c->ro, sizeof(c->ro), false);
    return c;
}

static void caller_free(struct caller *c) {
    iop_mon_bin_reader_free(c->r);
    free(c);
}

static int one_round(void *ctx, struct iop_umem *um) {
    struct caller *c = ctx;
    return iop_mon_bin_ioctl(c->r, c->cmd, c->uarg, c->flags, um, &c->call, c->hint);
}

/* Start a call; it runs until it finishes or waits.  *d stays valid for resume(). */
static long start(struct caller *c, struct iop_umem_drive *d, unsigned cmd, uint64_t arg) {
    c->cmd = cmd;
    c->uarg = arg;
    memset(&c->call, 0, sizeof(c->call));
    iop_umem_drive_init(d, &c->space);
    int r;
    do
        r = iop_umem_drive_round(d, one_round, c);
    while (r == IOP_UMEM_RETRY && d->rounds < 8);
    c->rounds = d->rounds;
    return r;
}

static long resume(struct caller *c, struct iop_umem_drive *d) {
    d->rounds--; /* the waiting round again */
    int r;
    do
        r = iop_umem_drive_round(d, one_round, c);
    while (r == IOP_UMEM_RETRY && d->rounds < 8);
    c->rounds = d->rounds;
    return r;
}

static long call(struct caller *c, unsigned cmd, uint64_t arg) {
    struct iop_umem_drive d;
    long r = start(c, &d, cmd, arg);
    iop_umem_drive_done(&d);
    return r;
}

static void set_get(struct caller *c, uint64_t hdr, uint64_t data, uint64_t alloc) {
    struct iop_mon_bin_get g = { hdr, data, alloc };
    memcpy(c->arg, &g, sizeof(g));
}

static void set_get32(struct caller *c, uint32_t hdr, uint32_t data, uint32_t alloc) {
    struct iop_mon_bin_get32 g = { hdr, data, alloc };
    memcpy(c->arg, &g, sizeof(g));
}

static void push(struct caller *c, const struct test_urb *t, char type) {
    struct iop_mon_bin_event ev = prep(t, type, 0);
    CHECK_EQ(iop_mon_bin_reader_push(c->r, &ev), 0);
}

static void test_ioctl_simple(void) {
    struct caller *c = caller_new();
    struct test_urb *t = urb_new(IOP_XFER_BULK, false, 2, 100);
    CHECK_EQ(call(c, IOP_MON_IOCQ_URB_LEN, 0), 0);
    CHECK_EQ(c->rounds, 1);
    push(c, t, 'S');
    push(c, t, 'C');
    CHECK_EQ(call(c, IOP_MON_IOCQ_URB_LEN, 0), 100);
    CHECK_EQ(call(c, IOP_MON_IOCQ_RING_SIZE, 0), 300 * 1024);
    CHECK_EQ(call(c, IOP_MON_IOCT_RING_SIZE, 4096), -EINVAL);
    CHECK_EQ(call(c, IOP_MON_IOCT_RING_SIZE, 1ull << 40), -EINVAL);
    CHECK_EQ(call(c, IOP_MON_IOCT_RING_SIZE, 10000), 0);
    CHECK_EQ(call(c, IOP_MON_IOCQ_RING_SIZE, 0), 12288);
    CHECK_EQ(iop_mon_bin_reader_queued(c->r), 0);
    for (int i = 0; i < 5; i++)
        push(c, t, 'S');
    CHECK_EQ(call(c, IOP_MON_IOCH_MFLUSH, 2), 2);
    CHECK_EQ(c->rounds, 1);
    CHECK_EQ(call(c, IOP_MON_IOCH_MFLUSH, (1ull << 32) | 1), 1); /* cut to 32 bits */
    CHECK_EQ(call(c, IOP_MON_IOCH_MFLUSH, 100), 2);
    CHECK_EQ(call(c, IOP_MON_IOCH_MFLUSH, 100), 0);

    /* STATS: queued now, dropped since the last STATS. */
    CHECK_EQ(call(c, IOP_MON_IOCT_RING_SIZE, 8192), 0);
    for (int i = 0; i < 60; i++) {
        struct iop_mon_bin_event ev = prep(t, 'S', 0); /* 192 bytes each: 42 fit */
        iop_mon_bin_reader_push(c->r, &ev);
    }
    CHECK_EQ(call(c, IOP_MON_IOCG_STATS, U_ARG), 0);
    CHECK_EQ(c->rounds, 2);
    struct iop_mon_bin_stats st;
    memcpy(&st, c->arg, sizeof(st));
    CHECK_EQ(st.queued, 42);
    CHECK_EQ(st.dropped, 18);
    CHECK_EQ(call(c, IOP_MON_IOCG_STATS, U_ARG), 0);
    memcpy(&st, c->arg, sizeof(st));
    CHECK_EQ(st.dropped, 0);
    CHECK_EQ(st.queued, 42);
    /* Bad pointers: EFAULT, and the count is gone, as in the kernel. */
    struct iop_mon_bin_event ev = prep(t, 'S', 0);
    CHECK_EQ(iop_mon_bin_reader_push(c->r, &ev), -ENOBUFS);
    CHECK_EQ(call(c, IOP_MON_IOCG_STATS, 0), -EFAULT);
    CHECK_EQ(call(c, IOP_MON_IOCG_STATS, U_HOLE), -EFAULT);
    CHECK_EQ(call(c, IOP_MON_IOCG_STATS, U_RO), -EFAULT);
    CHECK_EQ(call(c, IOP_MON_IOCG_STATS, UINT64_MAX - 3), -EFAULT);
    CHECK_EQ(iop_mon_bin_reader_take_dropped(c->r), 0);
    /* 32-bit callers: the same commands, the same layout. */
    c->flags = IOP_MON_BIN_COMPAT;
    CHECK_EQ(call(c, IOP_MON_IOCG_STATS, U_ARG), 0);
    CHECK_EQ(call(c, IOP_MON_IOCQ_RING_SIZE, 0), 8192);
    CHECK_EQ(call(c, IOP_MON_IOCH_MFLUSH, 40), 40);
    CHECK_EQ(call(c, IOP_MON_IOCQ_URB_LEN, 0), 100);
    c->flags = 0;

    /* Unknown and gone commands, and the other width's numbers. */
    CHECK_EQ(call(c, 0x4030920 | 2u << 0, U_ARG), -ENOTTY);
    CHECK_EQ(call(c, _IOWR(0x92, 2, struct iop_mon_bin_hdr), U_ARG), -ENOTTY); /* MON_IOCX_URB */
    CHECK_EQ(call(c, _IO(0x92, 9), 1), -ENOTTY);                               /* MON_IOCT_SETAPI */
    CHECK_EQ(call(c, IOP_MON_IOCX_GET32, U_ARG), -ENOTTY);
    CHECK_EQ(call(c, IOP_MON_IOCX_MFETCH32, U_ARG), -ENOTTY);
    c->flags = IOP_MON_BIN_COMPAT;
    CHECK_EQ(call(c, IOP_MON_IOCX_GET, U_ARG), -ENOTTY);
    CHECK_EQ(call(c, IOP_MON_IOCX_GETX, U_ARG), -ENOTTY);
    CHECK_EQ(call(c, IOP_MON_IOCX_MFETCH, U_ARG), -ENOTTY);
    CHECK_EQ(call(c, 0xdeadbeef, U_ARG), -ENOTTY);
    c->flags = 0;
    caller_free(c);
    urb_free(t);
}

static void test_ioctl_get(void) {
    struct caller *c = caller_new();
    struct test_urb *t = urb_new(IOP_XFER_BULK, false, 2, 300);
    push(c, t, 'S');
    push(c, t, 'S');
    const struct iop_mon_bin_hdr want = *iop_mon_bin_reader_head(c->r);

    /* GET: 48 bytes of header, the data, the record gone: three rounds. */
    memset(c->hdr, 0xEE, 128);
    set_get(c, U_HDR, U_DATA, 4096);
    CHECK_EQ(call(c, IOP_MON_IOCX_GET, U_ARG), 0);
    CHECK_EQ(c->rounds, 3);
    CHECK_MEMEQ(c->hdr, &want, 48);
    CHECK_EQ(c->hdr[48], 0xEE);
    CHECK_MEMEQ(c->data, t->buf, 300);
    CHECK_EQ(iop_mon_bin_reader_queued(c->r), 1);
    /* GETX: all 64, and alloc smaller than the data: cut, record gone all the same. */
    memset(c->data, 0, 300);
    set_get(c, U_HDR, U_DATA, 10);
    CHECK_EQ(call(c, IOP_MON_IOCX_GETX, U_ARG), 0);
    CHECK_MEMEQ(c->hdr, &want, 64);
    CHECK_MEMEQ(c->data, t->buf, 10);
    CHECK_EQ(c->data[10], 0);
    CHECK_EQ(iop_mon_bin_reader_queued(c->r), 0);

    /* Empty ring: EAGAIN with O_NONBLOCK, else the call waits (in its second round)
     * and finishes once an event comes. */
    c->flags = IOP_MON_BIN_NONBLOCK;
    CHECK_EQ(call(c, IOP_MON_IOCX_GET, U_ARG), -EAGAIN);
    c->flags = 0;
    struct iop_umem_drive d;
    CHECK_EQ(start(c, &d, IOP_MON_IOCX_GET, U_ARG), IOP_MON_BIN_WAIT);
    CHECK_EQ(c->rounds, 2);
    set_get(c, U_HOLE, U_HOLE, 0); /* changing the struct meanwhile changes nothing */
    push(c, t, 'S');
    CHECK_EQ(resume(c, &d), 0);
    CHECK_EQ(c->rounds, 3);
    iop_umem_drive_done(&d);
    CHECK_EQ(iop_mon_bin_reader_queued(c->r), 0);

    /* Hostile arguments, in the kernel's order. */
    push(c, t, 'S');
    CHECK_EQ(call(c, IOP_MON_IOCX_GET, 0), -EFAULT);
    CHECK_EQ(call(c, IOP_MON_IOCX_GET, U_HOLE), -EFAULT);
    CHECK_EQ(call(c, IOP_MON_IOCX_GET, U_ARG + 4096 - 8), -EFAULT); /* runs off the page */
    CHECK_EQ(call(c, IOP_MON_IOCX_GET, UINT64_MAX - 7), -EFAULT);
    set_get(c, U_HDR, U_DATA, 0x10000001);
    CHECK_EQ(call(c, IOP_MON_IOCX_GET, U_ARG), -EINVAL);
    set_get(c, U_HDR, U_DATA, UINT64_MAX);
    CHECK_EQ(call(c, IOP_MON_IOCX_GET, U_ARG), -EINVAL);
    set_get(c, 0, U_DATA, 4096);
    CHECK_EQ(call(c, IOP_MON_IOCX_GET, U_ARG), -EFAULT);
    set_get(c, U_HOLE, U_DATA, 4096);
    CHECK_EQ(call(c, IOP_MON_IOCX_GETX, U_ARG), -EFAULT);
    set_get(c, U_HDR + 4096 - 40, U_DATA, 4096); /* 40 of the 48 bytes mapped */
    CHECK_EQ(call(c, IOP_MON_IOCX_GET, U_ARG), -EFAULT);
    set_get(c, UINT64_MAX - 20, U_DATA, 4096);
    CHECK_EQ(call(c, IOP_MON_IOCX_GET, U_ARG), -EFAULT);
    set_get(c, U_HDR, 0, 4096);
    CHECK_EQ(call(c, IOP_MON_IOCX_GET, U_ARG), -EFAULT);
    set_get(c, U_HDR, U_DATA + 3 * 4096 - 100, 4096); /* the data runs off the mapping */
    CHECK_EQ(call(c, IOP_MON_IOCX_GET, U_ARG), -EFAULT);
    /* ... and after all of them the record is still there, whole. */
    CHECK_EQ(iop_mon_bin_reader_queued(c->r), 1);
    set_get(c, U_HDR, U_DATA + 3 * 4096 - 300, 4096); /* exactly fits */
    CHECK_EQ(call(c, IOP_MON_IOCX_GET, U_ARG), 0);
    CHECK_MEMEQ(c->data + 3 * 4096 - 300, t->buf, 300);
    /* No data asked for, or none there: a NULL data pointer is fine. */
    push(c, t, 'S');
    set_get(c, U_HDR, 0, 0);
    CHECK_EQ(call(c, IOP_MON_IOCX_GET, U_ARG), 0);
    push(c, t, 'C'); /* OUT completion: nothing after the header */
    set_get(c, U_HDR, 0, 4096);
    CHECK_EQ(call(c, IOP_MON_IOCX_GET, U_ARG), 0);
    /* A read-only page passes the probe, then the copy faults: the one case where
     * the record is lost (the kernel would keep it). */
    push(c, t, 'S');
    set_get(c, U_RO, U_DATA, 4096);
    CHECK_EQ(call(c, IOP_MON_IOCX_GET, U_ARG), -EFAULT);

    /* 32-bit callers: their 12-byte struct, no alloc limit. */
    c->flags = IOP_MON_BIN_COMPAT;
    push(c, t, 'S');
    set_get32(c, U_HDR, U_DATA, 0x10000001);
    memset(c->data, 0, 300);
    CHECK_EQ(call(c, IOP_MON_IOCX_GETX32, U_ARG), 0);
    CHECK_EQ(c->rounds, 3);
    CHECK_MEMEQ(c->data, t->buf, 300);
    push(c, t, 'S');
    set_get32(c, U_HDR, U_DATA, 7);
    CHECK_EQ(call(c, IOP_MON_IOCX_GET32, U_ARG), 0);
    CHECK_EQ(call(c, IOP_MON_IOCX_GET32, U_ARG + 4096 - 4), -EFAULT);
    c->flags = 0;

    /* The bus went away: a waiting GET ends with ENODEV. */
    CHECK_EQ(start(c, &d, IOP_MON_IOCX_GET, U_ARG), IOP_MON_BIN_WAIT);
    iop_mon_bin_reader_hangup(c->r);
    CHECK_EQ(resume(c, &d), -ENODEV);
    iop_umem_drive_done(&d);
    caller_free(c);
    urb_free(t);
}

/* A file that repeats its GET (libpcap): the second one is done in two rounds, a
 * changed struct costs a round and never lands in the old buffers. */
static void test_ioctl_get_hint(void) {
    struct caller *c = caller_new();
    struct iop_mon_bin_hint hint = { 0 };
    c->hint = &hint;
    struct test_urb *t = urb_new(IOP_XFER_BULK, false, 2, 300);
    for (int i = 0; i < 6; i++)
        push(c, t, 'S');
    set_get(c, U_HDR, U_DATA, 4096);
    CHECK_EQ(call(c, IOP_MON_IOCX_GET, U_ARG), 0);
    CHECK_EQ(c->rounds, 3);
    CHECK(hint.valid);
    memset(c->data, 0, 300);
    CHECK_EQ(call(c, IOP_MON_IOCX_GET, U_ARG), 0);
    CHECK_EQ(c->rounds, 2);
    CHECK_MEMEQ(c->data, t->buf, 300);
    /* Another command or argument address: blind again. */
    CHECK_EQ(call(c, IOP_MON_IOCX_GETX, U_ARG), 0);
    CHECK_EQ(c->rounds, 3);
    CHECK_EQ(call(c, IOP_MON_IOCX_GETX, U_ARG), 0);
    CHECK_EQ(c->rounds, 2);
    /* The same address with other buffers: the first round named the old ones, so a
     * third names these; nothing goes to the old data buffer. */
    memset(c->data, 0, sizeof(c->data));
    set_get(c, U_HDR, U_DATA + 4096, 4096);
    CHECK_EQ(call(c, IOP_MON_IOCX_GETX, U_ARG), 0);
    CHECK_EQ(c->rounds, 3);
    CHECK_MEMEQ(c->data + 4096, t->buf, 300);
    CHECK_EQ(c->data[0], 0);
    /* Empty ring: EAGAIN, and a wait ends in three rounds as without the hint. */
    c->flags = IOP_MON_BIN_NONBLOCK;
    CHECK_EQ(call(c, IOP_MON_IOCX_GETX, U_ARG), 0);
    CHECK_EQ(call(c, IOP_MON_IOCX_GETX, U_ARG), -EAGAIN);
    c->flags = 0;
    struct iop_umem_drive d;
    CHECK_EQ(start(c, &d, IOP_MON_IOCX_GETX, U_ARG), IOP_MON_BIN_WAIT);
    push(c, t, 'S');
    CHECK_EQ(resume(c, &d), 0);
    CHECK_EQ(c->rounds, 3);
    iop_umem_drive_done(&d);
    /* A 32-bit caller's own numbers and layout are a hint of their own. */
    c->flags = IOP_MON_BIN_COMPAT;
    push(c, t, 'S');
    push(c, t, 'S');
    set_get32(c, U_HDR, U_DATA, 100);
    CHECK_EQ(call(c, IOP_MON_IOCX_GET32, U_ARG), 0);
    CHECK_EQ(c->rounds, 3);
    CHECK_EQ(call(c, IOP_MON_IOCX_GET32, U_ARG), 0);
    CHECK_EQ(c->rounds, 2);
    c->flags = 0;
    CHECK_EQ(iop_mon_bin_reader_queued(c->r), 0);
    caller_free(c);
    urb_free(t);
}

static void set_mfetch(struct caller *c, uint64_t offvec, uint32_t nfetch, uint32_t nflush) {
    struct iop_mon_bin_mfetch m = { offvec, nfetch, nflush };
    memcpy(c->arg, &m, sizeof(m));
}

static struct iop_mon_bin_mfetch get_mfetch(struct caller *c) {
    struct iop_mon_bin_mfetch m;
    memcpy(&m, c->arg, sizeof(m));
    return m;
}

static void test_ioctl_mfetch(void) {
    struct caller *c = caller_new();
    struct test_urb *t = urb_new(IOP_XFER_BULK, false, 2, 100); /* 192 bytes a record */
    for (int i = 0; i < 5; i++)
        push(c, t, 'S');
    set_mfetch(c, U_VEC, 3, 0);
    CHECK_EQ(call(c, IOP_MON_IOCX_MFETCH, U_ARG), 0);
    CHECK_EQ(c->rounds, 3);
    CHECK_EQ(get_mfetch(c).nfetch, 3);
    CHECK_EQ(get_mfetch(c).nflush, 0);
    CHECK_EQ(c->vec[0], 0);
    CHECK_EQ(c->vec[1], 192);
    CHECK_EQ(c->vec[2], 384);
    CHECK_EQ(iop_mon_bin_reader_queued(c->r), 5); /* fetching removes nothing */
    /* Flush the three seen, fetch the rest. */
    memset(c->vec, 0xFF, 64);
    set_mfetch(c, U_VEC, 32, 3);
    CHECK_EQ(call(c, IOP_MON_IOCX_MFETCH, U_ARG), 0);
    CHECK_EQ(get_mfetch(c).nflush, 3);
    CHECK_EQ(get_mfetch(c).nfetch, 2);
    CHECK_EQ(c->vec[0], 576);
    CHECK_EQ(c->vec[1], 768);
    CHECK_EQ(c->vec[2], 0xFFFFFFFFu); /* only what was fetched is written */
    /* nflush beyond what is there: the count says how many went.  Then the ring is
     * empty: with O_NONBLOCK EAGAIN, and nflush is stored all the same. */
    c->flags = IOP_MON_BIN_NONBLOCK;
    set_mfetch(c, U_VEC, 32, 10);
    CHECK_EQ(call(c, IOP_MON_IOCX_MFETCH, U_ARG), -EAGAIN);
    CHECK_EQ(get_mfetch(c).nflush, 2);
    CHECK_EQ(get_mfetch(c).nfetch, 32);
    c->flags = 0;
    /* Blocking: the flush happens once, before the wait; the event that ends the wait
     * is fetched, not flushed. */
    push(c, t, 'S');
    push(c, t, 'S');
    set_mfetch(c, U_VEC, 32, 2);
    struct iop_umem_drive d;
    CHECK_EQ(start(c, &d, IOP_MON_IOCX_MFETCH, U_ARG), IOP_MON_BIN_WAIT);
    CHECK_EQ(iop_mon_bin_reader_queued(c->r), 0);
    push(c, t, 'S');
    CHECK_EQ(resume(c, &d), 0);
    iop_umem_drive_done(&d);
    CHECK_EQ(get_mfetch(c).nflush, 2);
    CHECK_EQ(get_mfetch(c).nfetch, 1);
    CHECK_EQ(iop_mon_bin_reader_queued(c->r), 1);
    /* nfetch 0: waits for an event like the kernel, fetches none. */
    set_mfetch(c, 0, 0, 0);
    CHECK_EQ(call(c, IOP_MON_IOCX_MFETCH, U_ARG), 0);
    CHECK_EQ(get_mfetch(c).nfetch, 0);
    /* A huge nfetch is no problem: one call returns what one CUSE ioctl can carry. */
    set_mfetch(c, U_VEC, UINT32_MAX, 0);
    CHECK_EQ(call(c, IOP_MON_IOCX_MFETCH, U_ARG), 0);
    CHECK_EQ(get_mfetch(c).nfetch, 1);
    CHECK_EQ(call(c, IOP_MON_IOCT_RING_SIZE, 4 << 20), 0);
    struct test_urb *s = urb_new(IOP_XFER_BULK, true, 1, 100); /* IN submit: 64 bytes */
    for (unsigned i = 0; i < IOP_MON_BIN_MFETCH_MAX + 10; i++)
        push(c, s, 'S');
    uint32_t *big = calloc(IOP_MON_BIN_MFETCH_MAX + 10, sizeof(uint32_t));
    CHECK_EQ(iop_umem_space_map(&c->space, 0x1000000, big, (IOP_MON_BIN_MFETCH_MAX + 10) * sizeof(uint32_t), true), 0);
    set_mfetch(c, 0x1000000, UINT32_MAX, 0);
    CHECK_EQ(call(c, IOP_MON_IOCX_MFETCH, U_ARG), 0);
    CHECK_EQ(get_mfetch(c).nfetch, IOP_MON_BIN_MFETCH_MAX);
    CHECK_EQ(big[IOP_MON_BIN_MFETCH_MAX - 1], 64 * (IOP_MON_BIN_MFETCH_MAX - 1));
    CHECK_EQ(big[IOP_MON_BIN_MFETCH_MAX], 0);
    CHECK_EQ(call(c, IOP_MON_IOCH_MFLUSH, UINT32_MAX), IOP_MON_BIN_MFETCH_MAX + 10);
    free(big);
    push(c, t, 'S');
    urb_free(s);
    /* Bad pointers. */
    CHECK_EQ(call(c, IOP_MON_IOCX_MFETCH, 0), -EFAULT);
    CHECK_EQ(call(c, IOP_MON_IOCX_MFETCH, U_RO), -EFAULT); /* readable, but nfetch is written */
    set_mfetch(c, 0, 4, 0);
    CHECK_EQ(call(c, IOP_MON_IOCX_MFETCH, U_ARG), -EFAULT);
    set_mfetch(c, U_HOLE, 4, 0);
    CHECK_EQ(call(c, IOP_MON_IOCX_MFETCH, U_ARG), -EFAULT);
    set_mfetch(c, UINT64_MAX - 7, 4, 0);
    CHECK_EQ(call(c, IOP_MON_IOCX_MFETCH, U_ARG), -EFAULT);
    CHECK_EQ(iop_mon_bin_reader_queued(c->r), 1);
    /* 32-bit: {offvec32, nfetch32, nflush32}. */
    c->flags = IOP_MON_BIN_COMPAT;
    push(c, t, 'S');
    struct iop_mon_bin_mfetch32 m32 = { U_VEC, 8, 1 };
    memcpy(c->arg, &m32, sizeof(m32));
    CHECK_EQ(call(c, IOP_MON_IOCX_MFETCH32, U_ARG), 0);
    memcpy(&m32, c->arg, sizeof(m32));
    CHECK_EQ(m32.nflush32, 1);
    CHECK_EQ(m32.nfetch32, 1);
    c->flags = 0;
    /* Hung up and empty: ENODEV. */
    CHECK_EQ(call(c, IOP_MON_IOCH_MFLUSH, 10), 1);
    iop_mon_bin_reader_hangup(c->r);
    set_mfetch(c, U_VEC, 4, 0);
    CHECK_EQ(call(c, IOP_MON_IOCX_MFETCH, U_ARG), -ENODEV);
    caller_free(c);
    urb_free(t);
}

/* ---- One capture point for text and binary readers ---- */

struct clock_log {
    unsigned mono, real;
};

static void log_clock(void *ctx, clockid_t clock, struct timespec *ts) {
    struct clock_log *l = ctx;
    if (clock == CLOCK_REALTIME) {
        l->real++;
        *ts = ts0;
    } else {
        l->mono++;
        *ts = (struct timespec){ 77, 5000 };
    }
}

static void test_bus(void) {
    struct iop_mon *m;
    struct clock_log cl = { 0, 0 };
    CHECK_EQ(iop_mon_new(&m), 0);
    iop_mon_set_clock(m, log_clock, &cl);
    CHECK_EQ(iop_mon_add_bus(m, 3), 0);
    CHECK_EQ(iop_mon_add_bus(m, 4), 0);
    const struct iop_urb_monitor *mon = iop_mon_urb_monitor(m);
    struct test_urb *t = urb_new(IOP_XFER_BULK, false, 2, 40);   /* bus 3 */
    struct test_urb *u = urb_new(IOP_XFER_BULK, true, 1, 40);    /* bus 4 */
    u->urb->busnum = 4;

    /* Nobody reads: no clock, no capture. */
    mon->submit(mon->ctx, t->urb);
    CHECK_EQ(cl.mono + cl.real, 0);

    struct iop_mon_bin_reader *b3, *b0, *bx;
    struct iop_mon_reader *t3;
    CHECK_EQ(iop_mon_open_bin(m, 5, &bx), -ENODEV);
    CHECK_EQ(iop_mon_open_bin(m, 3, &b3), 0);
    CHECK_EQ(iop_mon_open_bin(m, 0, &b0), 0);
    CHECK_EQ(iop_mon_open(m, 3, IOP_MON_FMT_U, &t3), 0);
    struct iop_mon_stats st;
    CHECK_EQ(iop_mon_stats(m, 3, &st), 0);
    CHECK_EQ(st.nreaders, 2);

    mon->submit(mon->ctx, t->urb);
    CHECK_EQ(cl.mono, 1); /* one reading per kind of reader, not per reader */
    CHECK_EQ(cl.real, 1);
    mon->complete(mon->ctx, u->urb, 0);
    CHECK_EQ(cl.mono, 1); /* bus 4 has only bus 0's binary reader */
    CHECK_EQ(cl.real, 2);
    mon->submit_error(mon->ctx, t->urb, -19);

    CHECK_EQ(iop_mon_bin_reader_queued(b3), 2);
    CHECK_EQ(iop_mon_bin_reader_queued(b0), 3);
    CHECK_EQ(iop_mon_reader_queued(t3), 2);
    const struct iop_mon_bin_hdr *h = iop_mon_bin_reader_head(b0);
    CHECK_EQ(h->id, (uint64_t)(uintptr_t)t->urb);
    CHECK_EQ(h->ts_sec, ts0.tv_sec); /* the binary stamp is the wall clock */
    CHECK_EQ(h->len_cap, 40);
    iop_mon_bin_reader_consume(b0);
    h = iop_mon_bin_reader_head(b0);
    CHECK_EQ(h->busnum, 4);
    CHECK_EQ(h->type, 'C');
    iop_mon_bin_reader_consume(b0);
    CHECK_EQ(iop_mon_bin_reader_head(b0)->type, 'E');
    /* The text reader saw the same events, stamped with the monotonic clock. */
    char line[IOP_MON_PRINTF_DFL];
    const char *p;
    int n = iop_mon_reader_peek(t3, 0, &p);
    CHECK(n > 0);
    snprintf(line, sizeof(line), "%.*s", n, p);
    char want[64];
    snprintf(want, sizeof(want), "%lx 77000005 S Bo:3:007:2 -115 40 = ", (unsigned long)(uintptr_t)t->urb);
    CHECK_STREQ(strncmp(line, want, strlen(want)) == 0 ? want : line, want);

    /* Closing detaches; removing the bus hangs its binary readers up. */
    iop_mon_reader_free(t3);
    CHECK_EQ(iop_mon_stats(m, 3, &st), 0);
    CHECK_EQ(st.nreaders, 1);
    CHECK_EQ(iop_mon_remove_bus(m, 3), 0);
    CHECK(iop_mon_bin_reader_hung_up(b3));
    CHECK(!iop_mon_bin_reader_hung_up(b0));
    iop_mon_bin_reader_free(b3);
    /* Budget: a daemon-wide limit on ring memory. */
    iop_mon_set_bin_budget(m, 400 * 1024);
    CHECK_EQ(iop_mon_open_bin(m, 4, &bx), -ENOMEM);
    iop_mon_set_bin_budget(m, IOP_MON_BIN_BUDGET_DFL);
    CHECK_EQ(iop_mon_open_bin(m, 4, &bx), 0);
    iop_mon_bin_reader_free(bx);
    /* Freeing the monitor hangs up what is still open; the reader outlives it. */
    iop_mon_free(m);
    CHECK(iop_mon_bin_reader_hung_up(b0));
    iop_mon_bin_reader_free(b0);
    urb_free(t);
    urb_free(u);
}

int main(void) {
    TEST(test_control);
    TEST(test_bulk_int_error);
    TEST(test_iso);
    TEST(test_caps);
    TEST(test_ring_size);
    TEST(test_overflow);
    TEST(test_wrap_and_offsets);
    TEST(test_read);
    TEST(test_budget);
    TEST(test_numbers);
    TEST(test_ioctl_simple);
    TEST(test_ioctl_get);
    TEST(test_ioctl_get_hint);
    TEST(test_ioctl_mfetch);
    TEST(test_bus);
    return test_summary();
}
