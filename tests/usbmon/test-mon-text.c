/* usbmon capture + text formats: the real lines of usbmon-format.md section 7 rebuilt
 * from URBs byte for byte, every type/direction/flag case, the 249-byte cap, and a
 * randomized comparison against mon_text.c's own printf code (mon-ref.c). */
#include <errno.h>
#include <limits.h>

#include "lib/usb/urb.h"
#include "lib/usbmon/capture.h"
#include "lib/usbmon/text.h"
#include "lib/util/cleanup.h"
#include "mon-ref.h"
#include "testutil.h"

#define MAX_PACKETS 64

/* An URB with room for MAX_PACKETS ISO descriptors and a 64 KiB buffer. */
struct test_urb {
    struct iop_urb urb;
    struct iop_iso_packet_descriptor desc[MAX_PACKETS];
};
static uint8_t buffer[65536];
static uint8_t setup[8];

static struct iop_urb *urb_init(struct test_urb *t, uint8_t xfer, bool dir_in, uint16_t bus, uint8_t dev,
                                uint8_t ep, uint32_t len) {
    memset(t, 0, sizeof(*t));
    memset(buffer, 0, sizeof(buffer));
    t->urb.xfer = xfer;
    t->urb.dir_in = dir_in;
    t->urb.busnum = bus;
    t->urb.devnum = dev;
    t->urb.endpoint = ep;
    t->urb.transfer_buffer = buffer;
    t->urb.transfer_buffer_length = len;
    t->urb.status = -EINPROGRESS;
    return &t->urb;
}

static void set_setup(struct iop_urb *u, uint8_t rt, uint8_t req, uint16_t val, uint16_t idx, uint16_t len) {
    setup[0] = rt;
    setup[1] = req;
    setup[2] = (uint8_t)val, setup[3] = (uint8_t)(val >> 8);
    setup[4] = (uint8_t)idx, setup[5] = (uint8_t)(idx >> 8);
    setup[6] = (uint8_t)len, setup[7] = (uint8_t)(len >> 8);
    u->setup_packet = setup;
}

/* Capture, check the tag is the URB's address, then give it the trace's tag (the
 * kernel addresses in the real lines are not ours to allocate at) and format. */
static const char *line_of(char fmt, const struct iop_urb *u, char type, int status, uint64_t tag, uint32_t ts) {
    static char buf[IOP_MON_PRINTF_DFL];
    struct iop_mon_event ev;
    CHECK_EQ(iop_mon_capture(&ev, u, type, status, ts), 0);
    CHECK_EQ(ev.tag, (uint64_t)(uintptr_t)u);
    ev.tag = tag;
    int n = iop_mon_format(fmt, &ev, buf, sizeof(buf));
    CHECK_EQ(n, (int)strlen(buf));
    /* The reference agrees on every line checked here. */
    char ref[IOP_MON_PRINTF_DFL];
    int rn = mon_ref_format(fmt, &ev, ref, sizeof(ref));
    CHECK_EQ(rn, n);
    CHECK_STREQ(buf, ref);
    return buf;
}

static void test_timestamp(void) {
    struct timespec ts = { 3575, 914555999 };
    CHECK_EQ(iop_mon_timestamp(&ts), 3575914555u);
    ts = (struct timespec){ 3575 + 4096 * 7, 914555000 };
    CHECK_EQ(iop_mon_timestamp(&ts), 3575914555u); /* seconds modulo 4096 */
    ts = (struct timespec){ 4095, 999999999 };
    CHECK_EQ(iop_mon_timestamp(&ts), 4095999999u);
    ts = (struct timespec){ 4096, 0 };
    CHECK_EQ(iop_mon_timestamp(&ts), 0);
    ts = (struct timespec){ 1, 999 };
    CHECK_EQ(iop_mon_timestamp(&ts), 1000000);
    CHECK_EQ(iop_mon_timestamp(NULL), 0);
}

/* Documentation/usb/usbmon.rst: a hub port status request and a bulk CBW, in 'u', and
 * the same in 't' from the old usbmon.txt (its CBW bytes differ). */
static void test_doc_lines(void) {
    struct test_urb t;
    struct iop_urb *u = urb_init(&t, IOP_XFER_CONTROL, true, 1, 1, 0, 4);
    set_setup(u, 0xa3, 0x00, 0x0000, 0x0003, 0x0004);
    CHECK_STREQ(line_of('u', u, 'S', 0, 0xd5ea89a0, 3575914555u),
                "d5ea89a0 3575914555 S Ci:1:001:0 s a3 00 0000 0003 0004 4 <\n");
    CHECK_STREQ(line_of('t', u, 'S', 0, 0xd5ea89a0, 3575914555u),
                "d5ea89a0 3575914555 S Ci:001:00 s a3 00 0000 0003 0004 4 <\n");
    u->actual_length = 4;
    memcpy(buffer, "\x01\x05\x00\x00", 4);
    CHECK_STREQ(line_of('u', u, 'C', 0, 0xd5ea89a0, 3575914560u), "d5ea89a0 3575914560 C Ci:1:001:0 0 4 = 01050000\n");
    CHECK_STREQ(line_of('t', u, 'C', 0, 0xd5ea89a0, 3575914560u), "d5ea89a0 3575914560 C Ci:001:00 0 4 = 01050000\n");

    static const uint8_t cbw_u[31] = { 0x55, 0x53, 0x42, 0x43, 0xad, 0, 0, 0, 0x00, 0x80, 0, 0, 0x80, 0x01, 0x0a,
                                       0x28, 0x20, 0, 0, 0, 0x20, 0, 0, 0x40 };
    static const uint8_t cbw_t[31] = { 0x55, 0x53, 0x42, 0x43, 0x5e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x06 };
    u = urb_init(&t, IOP_XFER_BULK, false, 1, 5, 2, 31);
    memcpy(buffer, cbw_u, 31);
    CHECK_STREQ(line_of('u', u, 'S', 0, 0xdd65f0e8, 4128379752u),
                "dd65f0e8 4128379752 S Bo:1:005:2 -115 31 = 55534243 ad000000 00800000 80010a28 20000000 20000040 "
                "00000000 000000\n");
    memcpy(buffer, cbw_t, 31);
    CHECK_STREQ(line_of('t', u, 'S', 0, 0xdd65f0e8, 4128379752u),
                "dd65f0e8 4128379752 S Bo:005:02 -115 31 = 55534243 5e000000 00000000 00000600 00000000 00000000 "
                "00000000 000000\n");
    u->actual_length = 31;
    CHECK_STREQ(line_of('u', u, 'C', 0, 0xdd65f0e8, 4128379808u), "dd65f0e8 4128379808 C Bo:1:005:2 0 31 >\n");
    CHECK_STREQ(line_of('t', u, 'C', 0, 0xdd65f0e8, 4128379808u), "dd65f0e8 4128379808 C Bo:005:02 0 31 >\n");
}

/* A real 64-bit capture (kkaempf/usbmon next-slide.mon): control OUT with a data
 * stage, then bulk IN. */
static void test_real_64bit_lines(void) {
    const uint64_t tag = 0xffff88030b710580ull;
    struct test_urb t;
    struct iop_urb *u = urb_init(&t, IOP_XFER_CONTROL, false, 1, 2, 0, 1);
    set_setup(u, 0x40, 0x0c, 0x0088, 0x0000, 0x0001);
    buffer[0] = 0xff;
    CHECK_STREQ(line_of('u', u, 'S', 0, tag, 3126510692u),
                "ffff88030b710580 3126510692 S Co:1:002:0 s 40 0c 0088 0000 0001 1 = ff\n");
    u->actual_length = 1;
    CHECK_STREQ(line_of('u', u, 'C', 0, tag, 3126511239u), "ffff88030b710580 3126511239 C Co:1:002:0 0 1 >\n");

    u = urb_init(&t, IOP_XFER_CONTROL, false, 1, 2, 0, 8);
    set_setup(u, 0x40, 0x04, 0x0082, 0x00a4, 0x0008);
    memcpy(buffer, "\0\0\0\0\x0c\0\0\0", 8);
    CHECK_STREQ(line_of('u', u, 'S', 0, tag, 3126796791u),
                "ffff88030b710580 3126796791 S Co:1:002:0 s 40 04 0082 00a4 0008 8 = 00000000 0c000000\n");

    u = urb_init(&t, IOP_XFER_BULK, true, 1, 2, 1, 512);
    CHECK_STREQ(line_of('u', u, 'S', 0, tag, 3126800684u), "ffff88030b710580 3126800684 S Bi:1:002:1 -115 512 <\n");
    u->actual_length = 12;
    memcpy(buffer, "\0\0\0\xff\xf0\0\x05\0\0\0\0\0", 12);
    CHECK_STREQ(line_of('u', u, 'C', 0, tag, 3126801326u),
                "ffff88030b710580 3126801326 C Bi:1:002:1 0 12 = 000000ff f0000500 00000000\n");
}

/* A root hub's status endpoint (linux-usb list). */
static void test_interrupt_lines(void) {
    const uint64_t tag = 0xffff9960828e9540ull;
    struct test_urb t;
    struct iop_urb *u = urb_init(&t, IOP_XFER_INT, true, 1, 1, 0x81, 4);
    u->interval = 2048;
    u->actual_length = 2;
    buffer[0] = 0x10;
    CHECK_STREQ(line_of('u', u, 'C', 0, tag, 4014796128u), "ffff9960828e9540 4014796128 C Ii:1:001:1 0:2048 2 = 1000\n");
    CHECK_STREQ(line_of('u', u, 'S', 0, tag, 4014796145u), "ffff9960828e9540 4014796145 S Ii:1:001:1 -115:2048 4 <\n");
    /* 't' has no interval: status only. */
    CHECK_STREQ(line_of('t', u, 'S', 0, tag, 4014796145u), "ffff9960828e9540 4014796145 S Ii:001:01 -115 4 <\n");
}

/* A webcam's ISO IN stream (linux-media list): 32 packets, only 5 shown. */
static void test_iso_lines(void) {
    struct test_urb t;
    struct iop_urb *u = urb_init(&t, IOP_XFER_ISOC, true, 1, 4, 1, 51200);
    u->interval = 1;
    u->start_frame = 2568;
    u->number_of_packets = 32;
    for (int i = 0; i < 32; i++)
        t.desc[i] = (struct iop_iso_packet_descriptor){ .offset = (uint32_t)i * 1600, .length = 1600, .status = -18 };
    CHECK_STREQ(line_of('u', u, 'S', 0, 0xffff880122d9f400ull, 3527230728u),
                "ffff880122d9f400 3527230728 S Zi:1:004:1 -115:1:2568 32 -18:0:1600 -18:1600:1600 -18:3200:1600 "
                "-18:4800:1600 -18:6400:1600 51200 <\n");

    u->start_frame = 2600;
    u->error_count = 0;
    u->actual_length = 32 * 12; /* ignored: ISO 'C' prints the buffer length */
    for (int i = 0; i < 32; i++) {
        t.desc[i].status = 0;
        t.desc[i].actual_length = 12;
    }
    memcpy(buffer, "\x0c\x8c\0\0\0\0\xfa\x7e\x01\x2f\x1b\x05", 12);
    CHECK_STREQ(line_of('u', u, 'C', 0, 0xffff880122d9d400ull, 3527234708u),
                "ffff880122d9d400 3527234708 C Zi:1:004:1 0:1:2600:0 32 0:0:12 0:1600:12 0:3200:12 0:4800:12 "
                "0:6400:12 51200 = 0c8c0000 0000fa7e 012f1b05 00000000 00000000 00000000 00000000 00000000\n");

    u = urb_init(&t, IOP_XFER_ISOC, true, 1, 3, 6, 100);
    u->interval = 8;
    u->number_of_packets = 1;
    t.desc[0] = (struct iop_iso_packet_descriptor){ .offset = 0, .length = 100, .status = -18 };
    CHECK_STREQ(line_of('u', u, 'S', 0, 0xf5272300, 2310418133u), "f5272300 2310418133 S Zi:1:003:6 -115:8:0 1 -18:0:100 100 <\n");
}

/* Zero-length control transfers (32-bit kernel) and an error. */
static void test_zero_length_and_error_lines(void) {
    struct test_urb t;
    struct iop_urb *u = urb_init(&t, IOP_XFER_CONTROL, false, 1, 3, 0, 0);
    set_setup(u, 0x01, 0x0b, 0x0004, 0x0001, 0x0000);
    CHECK_STREQ(line_of('u', u, 'S', 0, 0xf5272300, 2310407000u), "f5272300 2310407000 S Co:1:003:0 s 01 0b 0004 0001 0000 0\n");
    CHECK_STREQ(line_of('u', u, 'C', 0, 0xf5272300, 2310407888u), "f5272300 2310407888 C Co:1:003:0 0 0\n");

    u = urb_init(&t, IOP_XFER_BULK, false, 1, 3, 2, 512);
    CHECK_STREQ(line_of('u', u, 'E', -32, 0xeeee, 124), "eeee 124 E Bo:1:003:2 -32 0\n");
    CHECK_STREQ(line_of('t', u, 'E', -32, 0xeeee, 124), "eeee 124 E Bo:003:02 -32 0\n");
}

/* Every transfer type and direction, in both formats: the type word, the status word
 * and which event shows the data. */
static void test_types_and_directions(void) {
    static const struct {
        uint8_t xfer;
        bool in;
        const char *u_s, *u_c, *t_s, *t_c;
    } cases[] = {
        { IOP_XFER_CONTROL, true, "Ci:2:007:0 s 80 06 0100 0000 0004 4 <", "Ci:2:007:0 -71 4 = 01020304",
          "Ci:007:00 s 80 06 0100 0000 0004 4 <", "Ci:007:00 -71 4 = 01020304" },
        { IOP_XFER_CONTROL, false, "Co:2:007:0 s 00 06 0100 0000 0004 4 = 01020304", "Co:2:007:0 -71 4 >",
          "Co:007:00 s 00 06 0100 0000 0004 4 = 01020304", "Co:007:00 -71 4 >" },
        { IOP_XFER_BULK, true, "Bi:2:007:3 -115 4 <", "Bi:2:007:3 -71 4 = 01020304", "Bi:007:03 -115 4 <",
          "Bi:007:03 -71 4 = 01020304" },
        { IOP_XFER_BULK, false, "Bo:2:007:3 -115 4 = 01020304", "Bo:2:007:3 -71 4 >", "Bo:007:03 -115 4 = 01020304",
          "Bo:007:03 -71 4 >" },
        { IOP_XFER_INT, true, "Ii:2:007:3 -115:8 4 <", "Ii:2:007:3 -71:8 4 = 01020304", "Ii:007:03 -115 4 <",
          "Ii:007:03 -71 4 = 01020304" },
        { IOP_XFER_INT, false, "Io:2:007:3 -115:8 4 = 01020304", "Io:2:007:3 -71:8 4 >", "Io:007:03 -115 4 = 01020304",
          "Io:007:03 -71 4 >" },
        { IOP_XFER_ISOC, true, "Zi:2:007:3 -115:8:5 0 4 <", "Zi:2:007:3 -71:8:5:1 0 4 = 01020304",
          "Zi:007:03 -115 4 <", "Zi:007:03 -71 4 = 01020304" },
        { IOP_XFER_ISOC, false, "Zo:2:007:3 -115:8:5 0 4 = 01020304", "Zo:2:007:3 -71:8:5:1 0 4 >",
          "Zo:007:03 -115 4 = 01020304", "Zo:007:03 -71 4 >" },
    };
    for (size_t i = 0; i < IOP_ARRAY_SIZE(cases); i++) {
        struct test_urb t;
        char want[200];
        uint8_t ep = cases[i].xfer == IOP_XFER_CONTROL ? 0 : 3;
        struct iop_urb *u =
            urb_init(&t, cases[i].xfer, cases[i].in, 2, 7, (uint8_t)(ep | (cases[i].in ? 0x80 : 0)), 4);
        if (cases[i].xfer == IOP_XFER_CONTROL)
            set_setup(u, cases[i].in ? 0x80 : 0x00, 0x06, 0x0100, 0x0000, 0x0004);
        u->interval = 8;
        u->start_frame = 5;
        u->error_count = 1;
        memcpy(buffer, "\x01\x02\x03\x04", 4);

        snprintf(want, sizeof(want), "1 1 S %s\n", cases[i].u_s);
        CHECK_STREQ(line_of('u', u, 'S', 0, 1, 1), want);
        snprintf(want, sizeof(want), "1 1 S %s\n", cases[i].t_s);
        CHECK_STREQ(line_of('t', u, 'S', 0, 1, 1), want);

        u->actual_length = 4;
        snprintf(want, sizeof(want), "1 2 C %s\n", cases[i].u_c);
        CHECK_STREQ(line_of('u', u, 'C', -71, 1, 2), want);
        snprintf(want, sizeof(want), "1 2 C %s\n", cases[i].t_c);
        CHECK_STREQ(line_of('t', u, 'C', -71, 1, 2), want);

        /* The submit error of the same URB: the address word, the errno, length 0. */
        char word[16];
        snprintf(word, sizeof(word), "%.*s", (int)strcspn(cases[i].u_s, " "), cases[i].u_s);
        snprintf(want, sizeof(want), "1 3 E %s -90 0\n", word);
        CHECK_STREQ(line_of('u', u, 'E', -90, 1, 3), want);
    }
}

/* 's' (captured), 'Z' (no setup packet), and the status for control completions,
 * errors and non-control transfers. */
static void test_setup_flags(void) {
    struct test_urb t;
    struct iop_urb *u = urb_init(&t, IOP_XFER_CONTROL, true, 1, 1, 0, 2);
    set_setup(u, 0x80, 0x00, 0x0000, 0x0000, 0x0002);
    CHECK_STREQ(line_of('u', u, 'S', 0, 0xabc, 9), "abc 9 S Ci:1:001:0 s 80 00 0000 0000 0002 2 <\n");
    u->setup_packet = NULL;
    CHECK_STREQ(line_of('u', u, 'S', 0, 0xabc, 9), "abc 9 S Ci:1:001:0 Z __ __ ____ ____ ____ 2 <\n");
    CHECK_STREQ(line_of('t', u, 'S', 0, 0xabc, 9), "abc 9 S Ci:001:00 Z __ __ ____ ____ ____ 2 <\n");
    /* Completions never show the setup packet, errors neither. */
    set_setup(u, 0x80, 0x00, 0x0000, 0x0000, 0x0002);
    u->actual_length = 2;
    memcpy(buffer, "\x01\x00", 2);
    CHECK_STREQ(line_of('u', u, 'C', -32, 0xabc, 10), "abc 10 C Ci:1:001:0 -32 2 = 0100\n");
    CHECK_STREQ(line_of('u', u, 'E', -19, 0xabc, 11), "abc 11 E Ci:1:001:0 -19 0\n");
    /* A setup_packet on a bulk URB is not a setup packet. */
    u->xfer = IOP_XFER_BULK;
    CHECK_STREQ(line_of('u', u, 'S', 0, 0xabc, 12), "abc 12 S Bi:1:001:0 -115 2 <\n");
}

/* '=', '<', '>', 'Z' and nothing at all when the length is 0. */
static void test_data_flags(void) {
    struct test_urb t;
    struct iop_urb *u = urb_init(&t, IOP_XFER_BULK, true, 3, 9, 0x82, 5);
    memcpy(buffer, "\xde\xad\xbe\xef\x42", 5);
    CHECK_STREQ(line_of('u', u, 'S', 0, 1, 1), "1 1 S Bi:3:009:2 -115 5 <\n");
    u->actual_length = 5;
    CHECK_STREQ(line_of('u', u, 'C', 0, 1, 2), "1 2 C Bi:3:009:2 0 5 = deadbeef 42\n");
    u->actual_length = 0;
    CHECK_STREQ(line_of('u', u, 'C', -2, 1, 3), "1 3 C Bi:3:009:2 -2 0\n");
    u->dir_in = false;
    CHECK_STREQ(line_of('u', u, 'S', 0, 1, 4), "1 4 S Bo:3:009:2 -115 5 = deadbeef 42\n");
    u->actual_length = 3;
    CHECK_STREQ(line_of('u', u, 'C', 0, 1, 5), "1 5 C Bo:3:009:2 0 3 >\n");
    u->transfer_buffer = NULL;
    CHECK_STREQ(line_of('u', u, 'S', 0, 1, 6), "1 6 S Bo:3:009:2 -115 5 Z\n");
    u->transfer_buffer_length = 0;
    CHECK_STREQ(line_of('u', u, 'S', 0, 1, 7), "1 7 S Bo:3:009:2 -115 0\n");
    /* Lengths above INT_MAX are an int in the kernel's event too. */
    u->transfer_buffer_length = 0x80000000u;
    CHECK_STREQ(line_of('u', u, 'S', 0, 1, 8), "1 8 S Bo:3:009:2 -115 -2147483648\n");
}

/* More than 32 bytes: the dump stops at 32, the length does not. */
static void test_data_max(void) {
    struct test_urb t;
    struct iop_urb *u = urb_init(&t, IOP_XFER_BULK, false, 1, 2, 1, 4096);
    for (int i = 0; i < 4096; i++)
        buffer[i] = (uint8_t)i;
    CHECK_STREQ(line_of('u', u, 'S', 0, 0x10, 20),
                "10 20 S Bo:1:002:1 -115 4096 = 00010203 04050607 08090a0b 0c0d0e0f 10111213 14151617 18191a1b "
                "1c1d1e1f\n");
    struct iop_mon_event ev;
    CHECK_EQ(iop_mon_capture(&ev, u, 'S', 0, 0), 0);
    CHECK_EQ(ev.data_len, IOP_MON_DATA_MAX);
    CHECK_EQ(ev.length, 4096);
    u->transfer_buffer_length = 33;
    CHECK_STREQ(line_of('t', u, 'S', 0, 0x10, 20),
                "10 20 S Bo:002:01 -115 33 = 00010203 04050607 08090a0b 0c0d0e0f 10111213 14151617 18191a1b "
                "1c1d1e1f\n");
    u->transfer_buffer_length = 32;
    CHECK_STREQ(line_of('t', u, 'S', 0, 0x10, 20),
                "10 20 S Bo:002:01 -115 32 = 00010203 04050607 08090a0b 0c0d0e0f 10111213 14151617 18191a1b "
                "1c1d1e1f\n");
    u->transfer_buffer_length = 31;
    CHECK_STREQ(line_of('t', u, 'S', 0, 0x10, 20),
                "10 20 S Bo:002:01 -115 31 = 00010203 04050607 08090a0b 0c0d0e0f 10111213 14151617 18191a1b "
                "1c1d1e\n");
}

/* ISO details: IN data from the first packet that has data; the descriptor count
 * printed in full, at most 5 shown; negative or zero counts; OUT data at submit. */
static void test_iso_details(void) {
    struct test_urb t;
    struct iop_urb *u = urb_init(&t, IOP_XFER_ISOC, true, 1, 4, 1, 3 * 16);
    u->number_of_packets = 3;
    u->interval = 1;
    for (int i = 0; i < 3; i++)
        t.desc[i] = (struct iop_iso_packet_descriptor){ .offset = (uint32_t)i * 16, .length = 16 };
    t.desc[1].actual_length = 2;
    t.desc[2].actual_length = 16;
    memcpy(buffer + 16, "\xaa\xbb", 2);
    memcpy(buffer + 32, "\xcc\xdd", 2);
    CHECK_STREQ(line_of('u', u, 'C', 0, 1, 1), "1 1 C Zi:1:004:1 0:1:0:0 3 0:0:0 0:16:2 0:32:16 48 = aabb0000 00000000 "
                                               "00000000 00000000 ccdd0000 00000000 00000000 00000000\n");
    /* No packet moved data: offset 0 (the kernel reads past the array here). */
    t.desc[1].actual_length = t.desc[2].actual_length = 0;
    buffer[0] = 0x99;
    CHECK_STREQ(line_of('u', u, 'C', 0, 1, 2), "1 2 C Zi:1:004:1 0:1:0:0 3 0:0:0 0:16:0 0:32:0 48 = 99000000 00000000 "
                                               "00000000 00000000 aabb0000 00000000 00000000 00000000\n");
    /* Data offset near the end of the buffer: only the bytes that exist. */
    t.desc[2].actual_length = 16;
    t.desc[2].offset = 46;
    CHECK_STREQ(line_of('u', u, 'C', 0, 1, 3), "1 3 C Zi:1:004:1 0:1:0:0 3 0:0:0 0:16:0 0:46:16 48 = 0000\n");
    t.desc[2].offset = 48;
    CHECK_STREQ(line_of('u', u, 'C', 0, 1, 3), "1 3 C Zi:1:004:1 0:1:0:0 3 0:0:0 0:16:0 0:48:16 48 Z\n");

    /* ISO OUT shows its data at submit. */
    u = urb_init(&t, IOP_XFER_ISOC, false, 1, 4, 2, 8);
    u->number_of_packets = 2;
    t.desc[0] = (struct iop_iso_packet_descriptor){ .offset = 0, .length = 4 };
    t.desc[1] = (struct iop_iso_packet_descriptor){ .offset = 4, .length = 4 };
    memcpy(buffer, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    CHECK_STREQ(line_of('u', u, 'S', 0, 1, 4), "1 4 S Zo:1:004:2 -115:0:0 2 0:0:4 0:4:4 8 = 01020304 05060708\n");
    u->actual_length = 8;
    t.desc[0].actual_length = t.desc[1].actual_length = 4;
    CHECK_STREQ(line_of('u', u, 'C', 0, 1, 5), "1 5 C Zo:1:004:2 0:0:0:0 2 0:0:4 0:4:4 8 >\n");

    /* No packets: the C length is actual_length again (the kernel's "> 0" test). */
    u->number_of_packets = 0;
    u->actual_length = 3;
    CHECK_STREQ(line_of('u', u, 'C', 0, 1, 6), "1 6 C Zo:1:004:2 0:0:0:0 0 3 >\n");
    u->number_of_packets = -4;
    CHECK_STREQ(line_of('u', u, 'C', 0, 1, 6), "1 6 C Zo:1:004:2 0:0:0:0 -4 3 >\n");

    /* Six packets: five shown, count 6; S shows requested lengths, C actual ones. */
    u = urb_init(&t, IOP_XFER_ISOC, true, 1, 4, 1, 60);
    u->number_of_packets = 6;
    for (int i = 0; i < 6; i++)
        t.desc[i] = (struct iop_iso_packet_descriptor){ .offset = (uint32_t)i * 10, .length = 10,
                                                        .actual_length = (uint32_t)i, .status = -i };
    CHECK_STREQ(line_of('u', u, 'S', 0, 1, 7), "1 7 S Zi:1:004:1 -115:0:0 6 0:0:10 -1:10:10 -2:20:10 -3:30:10 -4:40:10 60 <\n");
    u->error_count = 5;
    CHECK_STREQ(line_of('u', u, 'C', -18, 1, 8), "1 8 C Zi:1:004:1 -18:0:0:5 6 0:0:0 -1:10:1 -2:20:2 -3:30:3 -4:40:4 60 = "
                                                 "00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n");
    /* An ISO error line has no ISO fields. */
    CHECK_STREQ(line_of('u', u, 'E', -18, 1, 9), "1 9 E Zi:1:004:1 -18 0\n");
}

/* Head fields: the endpoint number loses its direction bit, bus is unpadded, device
 * zero-padded to 3 and printed as the kernel's char would be. */
static void test_head_fields(void) {
    struct test_urb t;
    struct iop_urb *u = urb_init(&t, IOP_XFER_BULK, true, 255, 127, 0x8f, 0);
    CHECK_STREQ(line_of('u', u, 'S', 0, 0xffffffffffffffffull, 4095999999u),
                "ffffffffffffffff 4095999999 S Bi:255:127:15 -115 0\n");
    CHECK_STREQ(line_of('t', u, 'S', 0, 0, 0), "0 0 S Bi:127:15 -115 0\n");
    u->devnum = 200; /* not a USB address; the kernel's signed char shows through */
    CHECK_STREQ(line_of('u', u, 'S', 0, 0x1, 0), "1 0 S Bi:255:4294967240:15 -115 0\n");
    u->devnum = 0;
    u->busnum = 65535;
    CHECK_STREQ(line_of('u', u, 'S', 0, 0x1, 0), "1 0 S Bi:65535:000:15 -115 0\n");
    /* An unknown transfer type prints as bulk. */
    u->xfer = 9;
    CHECK_STREQ(line_of('u', u, 'S', 0, 0x1, 0), "1 0 S Bi:65535:000:15 -115 0\n");
}

/* The 250-byte buffer: a line is cut at 249 bytes, "\n" and all. */
static void test_line_cap(void) {
    struct iop_mon_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.tag = 0xffffffffffffffffull;
    ev.tstamp = 4095999999u;
    ev.type = 'C';
    ev.xfer = IOP_XFER_ISOC;
    ev.dir_in = true;
    ev.busnum = 65535;
    ev.devnum = 200;
    ev.epnum = 15;
    ev.status = INT_MIN;
    ev.interval = INT_MIN;
    ev.start_frame = INT_MIN;
    ev.error_count = INT_MIN;
    ev.numdesc = INT_MAX;
    for (int i = 0; i < IOP_MON_ISODESC_MAX; i++)
        ev.iso[i] = (struct iop_mon_iso_desc){ INT_MIN, UINT32_MAX, UINT32_MAX };
    ev.length = INT_MAX;
    ev.data_flag = 0;
    ev.data_len = IOP_MON_DATA_MAX;
    memset(ev.data, 0xab, sizeof(ev.data));

    char buf[IOP_MON_PRINTF_DFL + 10];
    memset(buf, 'x', sizeof(buf));
    int n = iop_mon_format_u(&ev, buf, sizeof(buf));
    CHECK_EQ(n, IOP_MON_LINE_MAX);
    CHECK_EQ(buf[n], 0);
    CHECK(buf[n - 1] != '\n');
    /* The first 249 bytes of the uncut line, built piece by piece here. */
    char want[1024];
    int w = snprintf(want, sizeof(want), "ffffffffffffffff 4095999999 C Zi:65535:4294967240:15 %d:%d:%d:%d %d", INT_MIN,
                     INT_MIN, INT_MIN, INT_MIN, INT_MAX);
    for (int i = 0; i < 5; i++)
        w += snprintf(want + w, sizeof(want) - (size_t)w, " %d:%u:%u", INT_MIN, UINT32_MAX, UINT32_MAX);
    w += snprintf(want + w, sizeof(want) - (size_t)w, " %d =", INT_MAX);
    for (int i = 0; i < 8; i++)
        w += snprintf(want + w, sizeof(want) - (size_t)w, " abababab");
    CHECK(w > IOP_MON_LINE_MAX);
    CHECK_MEMEQ(buf, want, IOP_MON_LINE_MAX);
    char ref[IOP_MON_PRINTF_DFL];
    CHECK_EQ(mon_ref_format('u', &ev, ref, sizeof(ref)), n);
    CHECK_STREQ(buf, ref);

    /* A line of exactly 249 bytes keeps its "\n"; one of 250 loses it: find such
     * events by shortening the dump and the tag of this one. */
    ev.numdesc = 2;
    bool seen249 = false, seen250 = false;
    for (int shift = 0; shift < 64; shift += 4) {
        for (int dl = 0; dl <= IOP_MON_DATA_MAX; dl++) {
            char full[1024];
            ev.tag = 0xffffffffffffffffull >> shift;
            ev.data_len = (uint8_t)dl;
            int fl = mon_ref_format('u', &ev, full, sizeof(full)); /* uncut */
            if (fl != IOP_MON_LINE_MAX && fl != IOP_MON_LINE_MAX + 1)
                continue;
            n = iop_mon_format_u(&ev, buf, sizeof(buf));
            CHECK_EQ(n, IOP_MON_LINE_MAX);
            CHECK_MEMEQ(buf, full, (size_t)n);
            CHECK_EQ(buf[n - 1] == '\n', fl == IOP_MON_LINE_MAX);
            seen249 |= fl == IOP_MON_LINE_MAX;
            seen250 |= fl == IOP_MON_LINE_MAX + 1;
        }
    }
    CHECK(seen249);
    CHECK(seen250);
}

/* The caller's buffer: exact fit, one short, NULL, small buffers via the copy path. */
static void test_buffer_sizes(void) {
    struct test_urb t;
    struct iop_urb *u = urb_init(&t, IOP_XFER_BULK, false, 1, 5, 2, 4);
    struct iop_mon_event ev;
    CHECK_EQ(iop_mon_capture(&ev, u, 'S', 0, 77), 0);
    ev.tag = 0xab;
    const char *want = "ab 77 S Bo:1:005:2 -115 4 = 00000000\n";
    size_t len = strlen(want);
    char buf[64];
    CHECK_EQ(iop_mon_format_u(&ev, buf, len + 1), (int)len);
    CHECK_STREQ(buf, want);
    memset(buf, 'x', sizeof(buf));
    CHECK_EQ(iop_mon_format_u(&ev, buf, len), -ENOSPC);
    CHECK_EQ(iop_mon_format_u(&ev, NULL, 0), -ENOSPC);
    CHECK_EQ(iop_mon_format_u(&ev, buf, 0), -ENOSPC);
    CHECK_EQ(iop_mon_format_u(NULL, buf, sizeof(buf)), -EINVAL);
    CHECK_EQ(iop_mon_format('x', &ev, buf, sizeof(buf)), -EINVAL);
    CHECK_EQ(iop_mon_capture(&ev, u, 'X', 0, 0), -EINVAL);
    CHECK_EQ(iop_mon_capture(NULL, u, 'S', 0, 0), -EINVAL);
    CHECK_EQ(iop_mon_capture(&ev, NULL, 'S', 0, 0), -EINVAL);
}

/* Broken URBs: lengths past the buffer never read outside it (ASan checks the rest). */
static void test_hostile_urb(void) {
    struct test_urb t;
    uint8_t small[3] = { 1, 2, 3 };
    struct iop_urb *u = urb_init(&t, IOP_XFER_BULK, true, 1, 1, 1, 3);
    u->transfer_buffer = small;
    u->actual_length = 1000; /* more than the buffer */
    CHECK_STREQ(line_of('u', u, 'C', 0, 1, 1), "1 1 C Bi:1:001:1 0 1000 = 010203\n");
    u->xfer = IOP_XFER_ISOC;
    u->number_of_packets = 1;
    t.desc[0] = (struct iop_iso_packet_descriptor){ .offset = 0xfffffff0u, .length = 3, .actual_length = 3 };
    CHECK_STREQ(line_of('u', u, 'C', 0, 1, 1), "1 1 C Zi:1:001:1 0:0:0:0 1 0:4294967280:3 3 Z\n");
    t.desc[0].offset = 2;
    CHECK_STREQ(line_of('u', u, 'C', 0, 1, 1), "1 1 C Zi:1:001:1 0:0:0:0 1 0:2:3 3 = 03\n");
}

/* Random events, both formats, against mon_text.c's printf code. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int rnd_int(void) {
    switch (rnd() % 4) {
    case 0: return (int)(rnd() % 10);
    case 1: return -(int)(rnd() % 200);
    case 2: return (int)(uint32_t)rnd();
    default: return rnd() % 2 ? INT_MIN : INT_MAX;
    }
}

static void test_random_vs_kernel_printf(void) {
    static const char types[] = "SCE";
    static const char setup_flags[] = { 0, '-', 'Z' };
    static const char data_flags[] = { 0, '<', '>', 'Z', 'L', 'E' };
    int mismatches = 0;
    for (int iter = 0; iter < 200000; iter++) {
        struct iop_mon_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.tag = rnd() >> (rnd() % 64);
        ev.tstamp = (uint32_t)rnd();
        ev.type = types[rnd() % 3];
        ev.xfer = (uint8_t)(rnd() % 5);
        ev.dir_in = rnd() % 2;
        ev.devnum = (uint8_t)rnd();
        ev.epnum = (uint8_t)(rnd() % 16);
        ev.busnum = (uint16_t)(rnd() % 3 ? rnd() % 20 : rnd());
        ev.status = rnd_int();
        ev.interval = rnd_int();
        ev.start_frame = rnd_int();
        ev.error_count = rnd_int();
        ev.numdesc = rnd() % 3 ? (int)(rnd() % 8) : rnd_int();
        for (int i = 0; i < IOP_MON_ISODESC_MAX; i++)
            ev.iso[i] = (struct iop_mon_iso_desc){ rnd_int(), (uint32_t)rnd() >> (rnd() % 32),
                                                   (uint32_t)rnd() >> (rnd() % 32) };
        ev.length = rnd() % 2 ? (int)(rnd() % 70) : rnd_int();
        ev.setup_flag = setup_flags[rnd() % 3];
        for (int i = 0; i < 8; i++)
            ev.setup[i] = (uint8_t)rnd();
        ev.data_flag = data_flags[rnd() % 6];
        ev.data_len = (uint8_t)(ev.length > 0 ? (ev.length < 32 ? ev.length : 32) : 0);
        for (int i = 0; i < 32; i++)
            ev.data[i] = (uint8_t)rnd();
        for (int f = 0; f < 2; f++) {
            char fmt = f ? 't' : 'u';
            char a[IOP_MON_PRINTF_DFL], b[IOP_MON_PRINTF_DFL];
            int na = iop_mon_format(fmt, &ev, a, sizeof(a));
            int nb = mon_ref_format(fmt, &ev, b, sizeof(b));
            if (na != nb || memcmp(a, b, (size_t)nb) != 0) {
                if (mismatches++ < 3)
                    fprintf(stderr, "mismatch (%c):\n  ours %s\n  kern %s\n", fmt, a, b);
            }
        }
    }
    CHECK_EQ(mismatches, 0);
}

int main(void) {
    TEST(test_timestamp);
    TEST(test_doc_lines);
    TEST(test_real_64bit_lines);
    TEST(test_interrupt_lines);
    TEST(test_iso_lines);
    TEST(test_zero_length_and_error_lines);
    TEST(test_types_and_directions);
    TEST(test_setup_flags);
    TEST(test_data_flags);
    TEST(test_data_max);
    TEST(test_iso_details);
    TEST(test_head_fields);
    TEST(test_line_cap);
    TEST(test_buffer_sizes);
    TEST(test_hostile_urb);
    TEST(test_random_vs_kernel_printf);
    return test_summary();
}
