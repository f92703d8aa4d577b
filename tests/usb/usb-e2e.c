/* The URB engine with the libusb backend against real (virtual) hardware, run inside
 * the test VM by usb-e2e.sh: QEMU's usb-kbd and usb-storage on xHCI, and a configfs
 * Loopback gadget on dummy_hcd.
 *
 *   usb-e2e list                      descriptors of every device, lsusb -v's names
 *   usb-e2e loopback VID:PID          bulk data round-trips through the gadget
 *   usb-e2e stall VID:PID             a halted endpoint and an unknown request: -EPIPE
 *   usb-e2e kbd                       interrupt IN reports; unlink/kill on hardware
 *   usb-e2e storage                   bulk-only transport: INQUIRY, READ CAPACITY,
 *                                     WRITE(10) + READ(10) of one sector
 *   usb-e2e iso                       ISO OUT to QEMU's usb-audio: SET_INTERFACE to
 *                                     its streaming altsetting, packets with their
 *                                     status; altsetting 0 ends the stream
 *   usb-e2e unbind VID:PID UDC-FILE   unbind the gadget with URBs in flight
 *   usb-e2e replug VID:PID UDC-FILE UDC   unbind and bind again: hotplug both ways
 *
 * With USB_E2E_UEVENTS_OFF=1 the backend uses libusb's hotplug (udevd) instead of
 * the kernel's uevents.
 *
 * Each prints "ok"/"FAIL" lines and exits 0 only if every check passed. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/usb/backend-libusb.h"
#include "lib/usb/backend.h"
#include "lib/usb/descriptors.h"
#include "lib/usb/devices.h"
#include "lib/usb/engine.h"
#include "lib/usb/urb.h"
#include "lib/util/bytes.h"
#include "lib/util/log.h"
#include "lib/util/loop.h"

static int fails;
#define EXPECT(cond, ...)                                                                  \
    do {                                                                                   \
        if (cond) {                                                                        \
            printf("ok   ");                                                               \
        } else {                                                                           \
            printf("FAIL ");                                                               \
            fails++;                                                                       \
        }                                                                                  \
        printf(__VA_ARGS__);                                                               \
        printf("\n");                                                                      \
        fflush(stdout);                                                                    \
    } while (0)

static struct iop_loop *L;
static struct iop_usb_engine *E;

/* Run the loop until *flag is set or ms pass. */
static bool run_until(const int *flag, int want, int ms) {
    uint64_t end = iop_loop_now_usec() + (uint64_t)ms * 1000u;
    while (*flag < want && iop_loop_now_usec() < end)
        iop_loop_iterate(L, 20);
    return *flag >= want;
}

static void engine_up(void) {
    if (iop_loop_new(&L) < 0)
        exit(2);
    static struct iop_usb_libusb_config cfg;
    cfg.uevents_off = getenv("USB_E2E_UEVENTS_OFF") != NULL;
    int r = iop_usb_engine_new(L, &iop_usb_backend_libusb, &cfg, &E);
    if (r < 0) {
        fprintf(stderr, "engine: %s\n", strerror(-r));
        exit(2);
    }
    r = iop_usb_engine_start(E);
    if (r < 0) {
        fprintf(stderr, "start: %s\n", strerror(-r));
        exit(2);
    }
    uint64_t end = iop_loop_now_usec() + 10000000u;
    while (iop_usb_engine_enumerating(E) > 0 && iop_loop_now_usec() < end)
        iop_loop_iterate(L, 20);
}

static void engine_down(void) {
    E = iop_usb_engine_free(E);
    L = iop_loop_free(L);
}

static struct iop_usb_dev *find(uint16_t vid, uint16_t pid) {
    struct iop_usb_dev *d;
    uint16_t bus = 0;
    uint8_t num = 0;
    while (iop_usb_dev_ref_next(E, bus, num, &d) == 0) {
        if (iop_usb_dev_vid(d) == vid && iop_usb_dev_pid(d) == pid)
            return d;
        bus = iop_usb_dev_info(d)->busnum;
        num = iop_usb_dev_info(d)->devnum;
        iop_usb_dev_unref(d);
    }
    return NULL;
}

static bool parse_vidpid(const char *s, uint16_t *vid, uint16_t *pid) {
    unsigned v, p;
    if (!s || sscanf(s, "%x:%x", &v, &p) != 2)
        return false;
    *vid = (uint16_t)v;
    *pid = (uint16_t)p;
    return true;
}

/* The active configuration's endpoints of one interface. */
static int endpoints(struct iop_usb_dev *dev, uint8_t ifnum, struct iop_usb_ep_info *eps, int max) {
    for (unsigned i = 0; i < iop_usb_dev_num_configs(dev); i++) {
        const uint8_t *cfg;
        size_t len;
        if (iop_usb_dev_config(dev, i, &cfg, &len) < 0 || cfg[5] != iop_usb_dev_active_config(dev))
            continue;
        struct iop_usb_ep_info all[32];
        int n = iop_usb_config_endpoints(cfg, len, NULL, 0, all, 32);
        int k = 0;
        for (int j = 0; j < n && j < 32 && k < max; j++)
            if (all[j].interface == ifnum)
                eps[k++] = all[j];
        return k;
    }
    return 0;
}

static int find_ep(struct iop_usb_dev *dev, uint8_t ifnum, int xfer, bool in) {
    struct iop_usb_ep_info eps[16];
    int n = endpoints(dev, ifnum, eps, 16);
    for (int i = 0; i < n; i++)
        if (iop_usb_ep_xfer(&eps[i]) == xfer && !!(eps[i].address & 0x80) == in)
            return eps[i].address;
    return -1;
}

/* ---- Synchronous URBs on the loop ---- */

struct done {
    int calls;
    int status;
};

static void on_done(struct iop_urb *urb) {
    struct done *d = urb->context;
    d->calls++;
    d->status = urb->status;
}

static struct iop_urb *new_urb(struct iop_usb_dev *dev, int xfer, int ep, void *buf, uint32_t len,
                               struct done *d) {
    struct iop_urb *urb;
    if (iop_urb_alloc(0, &urb) < 0)
        exit(2);
    urb->dev = dev;
    urb->xfer = (uint8_t)xfer;
    urb->endpoint = (uint8_t)(ep & 0x0f);
    urb->dir_in = (ep & 0x80) != 0;
    urb->transfer_buffer = buf;
    urb->transfer_buffer_length = len;
    urb->complete = on_done;
    urb->context = d;
    urb->interval = 1;
    return urb;
}

/* Submit and wait; returns the status (or the submit error).  *actual gets the
 * length. */
static int sync_urb(struct iop_urb *urb, uint32_t *actual, int ms) {
    struct done *d = urb->context;
    int calls = d->calls;
    int r = iop_urb_submit(urb);
    if (r < 0)
        return r;
    if (!run_until(&d->calls, calls + 1, ms)) {
        iop_urb_kill(urb);
        return -ETIMEDOUT;
    }
    if (actual)
        *actual = urb->actual_length;
    return d->status;
}

static int control(struct iop_usb_dev *dev, uint8_t type, uint8_t req, uint16_t value,
                   uint16_t index, void *buf, uint16_t len, uint32_t *actual) {
    uint8_t setup[8] = { type, req };
    iop_put_le16(setup + 2, value);
    iop_put_le16(setup + 4, index);
    iop_put_le16(setup + 6, len);
    struct done d = { 0, 0 };
    struct iop_urb *urb = new_urb(dev, IOP_XFER_CONTROL, 0, buf, len, &d);
    urb->setup_packet = setup;
    iop_urb_set_timeout(urb, 5000);
    int r = sync_urb(urb, actual, 6000);
    iop_urb_free(urb);
    return r;
}

static int bulk(struct iop_usb_dev *dev, int ep, void *buf, uint32_t len, unsigned flags,
                uint32_t *actual) {
    struct done d = { 0, 0 };
    struct iop_urb *urb = new_urb(dev, IOP_XFER_BULK, ep, buf, len, &d);
    urb->transfer_flags = flags;
    iop_urb_set_timeout(urb, 5000);
    int r = sync_urb(urb, actual, 6000);
    iop_urb_free(urb);
    return r;
}

/* ---- list: descriptors with lsusb -v's field names ---- */

static void dump_device(struct iop_usb_dev *dev) {
    const struct iop_usb_dev_info *in = iop_usb_dev_info(dev);
    const uint8_t *d = iop_usb_dev_descriptor(dev);
    printf("device %03u:%03u\n", in->busnum, in->devnum);
    printf("bcdUSB %x.%02x\n", d[3], d[2]);
    printf("bDeviceClass %u\nbDeviceSubClass %u\nbDeviceProtocol %u\n", d[4], d[5], d[6]);
    printf("bMaxPacketSize0 %u\n", d[7]);
    printf("idVendor 0x%04x\nidProduct 0x%04x\n", iop_get_le16(d + 8), iop_get_le16(d + 10));
    printf("bcdDevice %x.%02x\n", d[13], d[12]);
    printf("iManufacturer %u\niProduct %u\niSerial %u\n", d[14], d[15], d[16]);
    printf("bNumConfigurations %u\n", d[17]);
    bool ss = iop_get_le16(d + 2) >= 0x0300;
    for (unsigned i = 0; i < iop_usb_dev_num_configs(dev); i++) {
        const uint8_t *c;
        size_t len;
        if (iop_usb_dev_config(dev, i, &c, &len) < 0)
            continue;
        size_t pos = 0;
        while (pos + 2 <= len && c[pos] >= 2 && c[pos] <= len - pos) {
            const uint8_t *x = c + pos;
            if (x[1] == IOP_USB_DT_CONFIG && x[0] >= 9) {
                printf("wTotalLength 0x%04x\nbNumInterfaces %u\nbConfigurationValue %u\n",
                       iop_get_le16(x + 2), x[4], x[5]);
                printf("iConfiguration %u\nbmAttributes 0x%02x\nMaxPower %umA\n", x[6], x[7],
                       x[8] * (ss ? 8u : 2u));
            } else if (x[1] == IOP_USB_DT_INTERFACE && x[0] >= 9) {
                printf("bInterfaceNumber %u\nbAlternateSetting %u\nbNumEndpoints %u\n", x[2],
                       x[3], x[4]);
                printf("bInterfaceClass %u\nbInterfaceSubClass %u\nbInterfaceProtocol %u\n", x[5],
                       x[6], x[7]);
                printf("iInterface %u\n", x[8]);
            } else if (x[1] == IOP_USB_DT_ENDPOINT && x[0] >= 7) {
                printf("bEndpointAddress 0x%02x\nbmAttributes %u\nwMaxPacketSize 0x%04x\n", x[2],
                       x[3], iop_get_le16(x + 4));
                printf("bInterval %u\n", x[6]);
            }
            pos += x[0];
        }
    }
}

static int cmd_list(void) {
    engine_up();
    struct iop_usb_dev *d;
    uint16_t bus = 0;
    uint8_t num = 0;
    int n = 0;
    while (iop_usb_dev_ref_next(E, bus, num, &d) == 0) {
        dump_device(d);
        n++;
        bus = iop_usb_dev_info(d)->busnum;
        num = iop_usb_dev_info(d)->devnum;
        iop_usb_dev_unref(d);
    }
    engine_down();
    return n > 0 ? 0 : 1;
}

/* ---- loopback ---- */

static void fill_random(uint8_t *b, size_t n, uint32_t *seed) {
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        b[i] = (uint8_t)(*seed >> 16);
    }
}

/* Stream: DEPTH OUT and DEPTH IN URBs in flight, resubmitted from their handlers. */
enum { DEPTH = 8, CHUNK = 4096, CHUNKS = 256 };
struct stream {
    uint8_t out[DEPTH][CHUNK], in[DEPTH][CHUNK];
    int sent, received, out_submitted, in_submitted;
    int errors, mismatches, done;
    uint32_t seed_out, seed_in;
};

static void stream_out(struct iop_urb *urb) {
    struct stream *s = urb->context;
    if (urb->status != 0 || urb->actual_length != CHUNK) {
        s->errors++;
        return;
    }
    s->sent++;
    if (s->out_submitted < CHUNKS) {
        fill_random(urb->transfer_buffer, CHUNK, &s->seed_out);
        if (iop_urb_submit(urb) == 0)
            s->out_submitted++;
        else
            s->errors++;
    }
}

static void stream_in(struct iop_urb *urb) {
    struct stream *s = urb->context;
    if (urb->status != 0 || urb->actual_length != CHUNK) {
        s->errors++;
        s->done = 1;
        return;
    }
    uint8_t want[CHUNK];
    fill_random(want, CHUNK, &s->seed_in);
    if (memcmp(want, urb->transfer_buffer, CHUNK) != 0)
        s->mismatches++;
    s->received++;
    if (s->received == CHUNKS)
        s->done = 1;
    if (s->in_submitted < CHUNKS) {
        if (iop_urb_submit(urb) == 0)
            s->in_submitted++;
        else
            s->errors++;
    }
}

static int cmd_loopback(const char *vidpid) {
    uint16_t vid, pid;
    if (!parse_vidpid(vidpid, &vid, &pid))
        return 2;
    engine_up();
    struct iop_usb_dev *dev = find(vid, pid);
    EXPECT(dev != NULL, "gadget %04x:%04x registered", vid, pid);
    if (!dev)
        return 1;
    int in = find_ep(dev, 0, IOP_XFER_BULK, true), out = find_ep(dev, 0, IOP_XFER_BULK, false);
    EXPECT(in > 0 && out >= 0, "bulk endpoints IN 0x%02x OUT 0x%02x", in, out);
    uint8_t buf[4096], back[4096];
    uint32_t got = 0;
    EXPECT(bulk(dev, out, buf, 64, 0, &got) == -EACCES, "bulk on an unclaimed interface: -EACCES");
    EXPECT(iop_usb_dev_claim_interface(dev, 0) == 0, "claim interface 0");

    /* The Loopback function echoes each OUT request of bulk_buflen (4096) bytes that
     * completes: full, or ended by a short packet. */
    uint32_t seed = 1;
    static const uint32_t sizes[] = { 4096, 1000, 1, 511, 3000 };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        fill_random(buf, sizes[i], &seed);
        uint32_t o = 0, b = 0;
        int r1 = bulk(dev, out, buf, sizes[i], 0, &o);
        int r2 = bulk(dev, in, back, sizeof(back), 0, &b);
        EXPECT(r1 == 0 && r2 == 0 && o == sizes[i] && b == sizes[i] && !memcmp(buf, back, b),
               "%u bytes out and back intact (out %d/%u, in %d/%u)", sizes[i], r1, o, r2, b);
    }
    /* 512 bytes is one full packet: the gadget's request is not complete until a
     * short packet, so only ZERO_PACKET's ZLP brings it back. */
    fill_random(buf, 512, &seed);
    uint32_t o = 0, b = 0;
    int r1 = bulk(dev, out, buf, 512, IOP_URB_ZERO_PACKET, &o);
    int r2 = bulk(dev, in, back, sizeof(back), 0, &b);
    EXPECT(r1 == 0 && r2 == 0 && b == 512 && !memcmp(buf, back, 512),
           "512 bytes with ZERO_PACKET come back (the ZLP ended the request: in %d/%u)", r2, b);
    /* Without it the next transfer joins the same request. */
    fill_random(buf, 612, &seed);
    r1 = bulk(dev, out, buf, 512, 0, &o);
    int r3 = bulk(dev, out, buf + 512, 100, 0, &o);
    r2 = bulk(dev, in, back, sizeof(back), 0, &b);
    EXPECT(r1 == 0 && r3 == 0 && r2 == 0 && b == 612 && !memcmp(buf, back, 612),
           "512 without ZLP then 100: one 612-byte echo (in %d/%u)", r2, b);
    /* SHORT_NOT_OK on a short echo. */
    fill_random(buf, 100, &seed);
    r1 = bulk(dev, out, buf, 100, 0, &o);
    r2 = bulk(dev, in, back, sizeof(back), IOP_URB_SHORT_NOT_OK, &b);
    EXPECT(r2 == -EREMOTEIO && b == 100, "short echo with SHORT_NOT_OK: %d (%u bytes)", r2, b);

    /* A stream, 8 deep each way, 1 MiB of random data. */
    struct stream *s = calloc(1, sizeof(*s));
    s->seed_out = s->seed_in = 42;
    struct iop_urb *outs[DEPTH], *ins[DEPTH];
    struct done unused = { 0, 0 };
    for (int i = 0; i < DEPTH; i++) {
        ins[i] = new_urb(dev, IOP_XFER_BULK, in, s->in[i], CHUNK, &unused);
        ins[i]->complete = stream_in;
        ins[i]->context = s;
        if (iop_urb_submit(ins[i]) == 0)
            s->in_submitted++;
    }
    for (int i = 0; i < DEPTH; i++) {
        outs[i] = new_urb(dev, IOP_XFER_BULK, out, s->out[i], CHUNK, &unused);
        outs[i]->complete = stream_out;
        outs[i]->context = s;
        fill_random(s->out[i], CHUNK, &s->seed_out);
        if (iop_urb_submit(outs[i]) == 0)
            s->out_submitted++;
    }
    run_until(&s->done, 1, 60000);
    EXPECT(s->received == CHUNKS && s->errors == 0 && s->mismatches == 0,
           "stream of %d x %d bytes, %d deep: %d back, %d errors, %d corrupt", CHUNKS, CHUNK, DEPTH,
           s->received, s->errors, s->mismatches);
    for (int i = 0; i < DEPTH; i++) {
        iop_urb_kill(outs[i]);
        iop_urb_kill(ins[i]);
        iop_urb_free(outs[i]);
        iop_urb_free(ins[i]);
    }
    free(s);
    iop_usb_dev_unref(dev);
    engine_down();
    return fails ? 1 : 0;
}

/* ---- stall ---- */

static int cmd_stall(const char *vidpid) {
    uint16_t vid, pid;
    if (!parse_vidpid(vidpid, &vid, &pid))
        return 2;
    engine_up();
    struct iop_usb_dev *dev = find(vid, pid);
    EXPECT(dev != NULL, "gadget registered");
    if (!dev)
        return 1;
    int in = find_ep(dev, 0, IOP_XFER_BULK, true), out = find_ep(dev, 0, IOP_XFER_BULK, false);
    uint8_t buf[64];
    uint32_t got;
    EXPECT(control(dev, 0xc0, 0x42, 0, 0, buf, 8, &got) == -EACCES,
           "vendor request on an unclaimed device: -EACCES");
    EXPECT(iop_usb_dev_claim_interface(dev, 0) == 0, "claim interface 0");
    int r = control(dev, 0xc0, 0x42, 0, 0, buf, 8, &got);
    EXPECT(r == -EPIPE, "unknown vendor request: the gadget stalls ep0: %d", r);
    r = control(dev, 0x80, IOP_USB_REQ_GET_DESCRIPTOR, 0x0100, 0, buf, 18, &got);
    EXPECT(r == 0 && got == 18, "endpoint 0 works again after the protocol stall: %d", r);
    r = control(dev, 0x02, IOP_USB_REQ_SET_FEATURE, IOP_USB_ENDPOINT_HALT, (uint16_t)in, NULL, 0, NULL);
    EXPECT(r == 0, "SET_FEATURE(ENDPOINT_HALT) on 0x%02x: %d", in, r);
    r = bulk(dev, in, buf, sizeof(buf), 0, &got);
    EXPECT(r == -EPIPE, "bulk IN on the halted endpoint: %d (want -EPIPE)", r);
    uint8_t st[2] = { 0, 0 };
    r = control(dev, 0x82, IOP_USB_REQ_GET_STATUS, 0, (uint16_t)in, st, 2, &got);
    EXPECT(r == 0 && (st[0] & 1), "GET_STATUS says halted: %d, %02x", r, st[0]);
    r = control(dev, 0x02, IOP_USB_REQ_CLEAR_FEATURE, IOP_USB_ENDPOINT_HALT, (uint16_t)in, NULL, 0,
                NULL);
    EXPECT(r == 0, "CLEAR_FEATURE(ENDPOINT_HALT): %d", r);
    memset(buf, 0x33, 10);
    int r1 = bulk(dev, out, buf, 10, 0, &got);
    uint8_t back[4096];
    r = bulk(dev, in, back, sizeof(back), 0, &got);
    EXPECT(r1 == 0 && r == 0 && got == 10, "the endpoint moves data again: %d %d/%u", r1, r, got);
    /* SET_INTERFACE through usbfs's ioctl: the endpoints are set up again (toggles
     * reset), data moves as before; an altsetting the interface lacks is refused. */
    r = control(dev, 0x01, IOP_USB_REQ_SET_INTERFACE, 0, 0, NULL, 0, NULL);
    EXPECT(r == 0, "SET_INTERFACE(0, 0) on usbfs: %d", r);
    r = control(dev, 0x01, IOP_USB_REQ_SET_INTERFACE, 7, 0, NULL, 0, NULL);
    EXPECT(r == -EINVAL, "SET_INTERFACE to a missing altsetting: %d", r);
    r1 = bulk(dev, out, buf, 10, 0, &got);
    r = bulk(dev, in, back, sizeof(back), 0, &got);
    EXPECT(r1 == 0 && r == 0 && got == 10, "data moves after SET_INTERFACE: %d %d/%u", r1, r, got);
    /* SET_CONFIGURATION to the same configuration (usb_reset_configuration): the
     * claim is given back to usbfs around it and taken again. */
    r = control(dev, 0x00, IOP_USB_REQ_SET_CONFIGURATION, iop_usb_dev_active_config(dev), 0, NULL, 0, NULL);
    EXPECT(r == 0 && iop_usb_dev_interface_claimed(dev, 0), "SET_CONFIGURATION(%u) on usbfs: %d, claimed again",
           iop_usb_dev_active_config(dev), r);
    r1 = bulk(dev, out, buf, 10, 0, &got);
    r = bulk(dev, in, back, sizeof(back), 0, &got);
    EXPECT(r1 == 0 && r == 0 && got == 10, "data moves after SET_CONFIGURATION: %d %d/%u", r1, r, got);
    iop_usb_dev_unref(dev);
    engine_down();
    return fails ? 1 : 0;
}

/* ---- kbd: interrupt IN ---- */

static int cmd_kbd(void) {
    engine_up();
    struct iop_usb_dev *dev = find(0x0627, 0x0001);
    EXPECT(dev != NULL, "QEMU keyboard registered");
    if (!dev)
        return 1;
    int ep = find_ep(dev, 0, IOP_XFER_INT, true);
    struct iop_usb_ep_info eps[4];
    int n = endpoints(dev, 0, eps, 4);
    EXPECT(ep > 0 && n >= 1, "interrupt IN endpoint 0x%02x, bInterval %u", ep, n ? eps[0].interval : 0);
    EXPECT(iop_usb_dev_claim_interface(dev, 0) == 0, "claim interface 0");
    enum iop_usb_speed sp = iop_usb_dev_info(dev)->speed;
    /* bInterval is 2^(n-1) microframes at high speed, frames at full speed. */
    int period = sp >= IOP_USB_SPEED_HIGH ? 1 << (eps[0].interval - 1) : eps[0].interval;

    /* SET_IDLE(4 ms): the HID keyboard reports every 4 ms even with no key down. */
    int r = control(dev, 0x21, 0x0a, 1 << 8, 0, NULL, 0, NULL);
    EXPECT(r == 0, "SET_IDLE (class request on the claimed interface): %d", r);
    uint8_t rep[8];
    struct done d = { 0, 0 };
    struct iop_urb *urb = new_urb(dev, IOP_XFER_INT, ep, rep, sizeof(rep), &d);
    urb->interval = period * 2 + 1;
    uint32_t got = 0;
    int reports = 0;
    for (int i = 0; i < 3; i++) {
        memset(rep, 0xee, sizeof(rep));
        r = sync_urb(urb, &got, 3000);
        if (r == 0 && got == 8 && rep[1] == 0)
            reports++;
    }
    EXPECT(urb->interval == period * 2, "interval %d rounded down to %d (units of %s)",
           period * 2 + 1, urb->interval, sp >= IOP_USB_SPEED_HIGH ? "microframes" : "frames");
    EXPECT(reports == 3, "3 interrupt reports of 8 bytes: %d", reports);

    /* Idle off again (duration 0: report only on change): the URB waits. */
    r = control(dev, 0x21, 0x0a, 0, 0, NULL, 0, NULL);
    EXPECT(r == 0, "SET_IDLE(0): %d", r);
    int calls = d.calls;
    EXPECT(iop_urb_submit(urb) == 0, "interrupt URB queued");
    /* A report already on its way may complete it: queue it again until it waits. */
    for (int tries = 0; tries < 3 && run_until(&d.calls, calls + 1, 300); tries++) {
        calls = d.calls;
        (void)iop_urb_submit(urb);
    }
    r = iop_urb_unlink(urb);
    EXPECT(r == 0, "unlink of the waiting interrupt URB: %d", r);
    run_until(&d.calls, calls + 1, 2000);
    EXPECT(d.calls == calls + 1 && d.status == -ECONNRESET,
           "unlinked interrupt URB on hardware: %d", d.status);
    int pending_calls = d.calls - 1;
    EXPECT(iop_urb_submit(urb) == 0, "queued again");
    EXPECT(iop_urb_kill(urb) == 0, "kill returns");
    EXPECT(d.calls == pending_calls + 2 && d.status == -ENOENT,
           "killed interrupt URB on hardware: %d, handler ran before kill returned", d.status);
    iop_urb_free(urb);
    iop_usb_dev_unref(dev);
    engine_down();
    return fails ? 1 : 0;
}

/* ---- iso: QEMU's usb-audio, an isochronous OUT device ---- */

static int cmd_iso(void) {
    engine_up();
    struct iop_usb_dev *dev = find(0x46f4, 0x0002);
    EXPECT(dev != NULL, "QEMU usb-audio registered");
    if (!dev)
        return 1;
    int r = control(dev, 0x01, IOP_USB_REQ_SET_INTERFACE, 1, 1, NULL, 0, NULL);
    EXPECT(r == -EACCES, "SET_INTERFACE on an unclaimed interface: -EACCES (%d)", r);
    EXPECT(iop_usb_dev_claim_interface(dev, 1) == 0, "claim interface 1 (streaming)");
    enum { PACKETS = 16, LEN = 192 }; /* 48 kHz, 16-bit stereo: 192 bytes a millisecond */
    static uint8_t pcm[PACKETS * LEN];
    for (size_t i = 0; i < sizeof(pcm); i++)
        pcm[i] = (uint8_t)i;
    struct done d = { 0, 0 };
    struct iop_urb *urb;
    if (iop_urb_alloc(PACKETS, &urb) < 0)
        exit(2);
    urb->dev = dev;
    urb->xfer = IOP_XFER_ISOC;
    urb->endpoint = 1;
    urb->transfer_buffer = pcm;
    urb->transfer_buffer_length = sizeof(pcm);
    urb->number_of_packets = PACKETS;
    urb->interval = 1;
    urb->transfer_flags = IOP_URB_ISO_ASAP;
    urb->complete = on_done;
    urb->context = &d;
    for (int i = 0; i < PACKETS; i++)
        urb->iso_frame_desc[i] = (struct iop_iso_packet_descriptor){ .offset = (uint32_t)i * LEN, .length = LEN };
    EXPECT(iop_urb_submit(urb) == -ENOENT, "altsetting 0 has no ISO endpoint: -ENOENT");
    r = control(dev, 0x01, IOP_USB_REQ_SET_INTERFACE, 1, 1, NULL, 0, NULL);
    EXPECT(r == 0 && iop_usb_dev_altsetting(dev, 1) == 1, "SET_INTERFACE(1, 1) through usbfs: %d", r);
    for (int round = 0; round < 3; round++) {
        r = sync_urb(urb, NULL, 5000);
        int good = 0;
        for (int i = 0; i < PACKETS; i++)
            good += urb->iso_frame_desc[i].status == 0 && urb->iso_frame_desc[i].actual_length == LEN;
        EXPECT(r == 0 && good == PACKETS && urb->actual_length == sizeof(pcm) && urb->error_count == 0,
               "ISO OUT %d x %d bytes: %d, %d packets whole, %u bytes, %d errors", PACKETS, LEN, r, good,
               urb->actual_length, urb->error_count);
    }
    /* Altsetting 0 takes the endpoint away: the next submission finds none. */
    r = control(dev, 0x01, IOP_USB_REQ_SET_INTERFACE, 0, 1, NULL, 0, NULL);
    EXPECT(r == 0, "SET_INTERFACE(1, 0): %d", r);
    EXPECT(iop_urb_submit(urb) == -ENOENT, "no ISO endpoint in altsetting 0: -ENOENT");
    iop_urb_free(urb);
    iop_usb_dev_unref(dev);
    engine_down();
    return fails ? 1 : 0;
}

/* ---- storage: bulk-only transport ---- */

static int bot(struct iop_usb_dev *dev, int in, int out, uint32_t tag, const uint8_t *cb,
               uint8_t cblen, bool data_in, uint8_t *data, uint32_t len, uint8_t *csw_status) {
    uint8_t cbw[31] = { 'U', 'S', 'B', 'C' };
    iop_put_le32(cbw + 4, tag);
    iop_put_le32(cbw + 8, len);
    cbw[12] = data_in ? 0x80 : 0x00;
    cbw[13] = 0;
    cbw[14] = cblen;
    memcpy(cbw + 15, cb, cblen);
    uint32_t got;
    int r = bulk(dev, out, cbw, sizeof(cbw), 0, &got);
    if (r < 0)
        return r;
    if (len) {
        r = bulk(dev, data_in ? in : out, data, len, 0, &got);
        if (r < 0)
            return r;
        if (got != len)
            return -EIO;
    }
    uint8_t csw[13];
    r = bulk(dev, in, csw, sizeof(csw), 0, &got);
    if (r < 0)
        return r;
    if (got != 13 || memcmp(csw, "USBS", 4) || iop_get_le32(csw + 4) != tag)
        return -EPROTO;
    *csw_status = csw[12];
    return 0;
}

static int cmd_storage(void) {
    engine_up();
    struct iop_usb_dev *dev = find(0x46f4, 0x0001);
    EXPECT(dev != NULL, "QEMU storage registered");
    if (!dev)
        return 1;
    EXPECT(iop_usb_dev_info(dev)->speed == IOP_USB_SPEED_SUPER, "SuperSpeed on xHCI");
    int in = find_ep(dev, 0, IOP_XFER_BULK, true), out = find_ep(dev, 0, IOP_XFER_BULK, false);
    EXPECT(iop_usb_dev_claim_interface(dev, 0) == 0, "claim interface 0");
    uint8_t st = 0xff, data[512];
    static const uint8_t inquiry[6] = { 0x12, 0, 0, 0, 36, 0 };
    int r = bot(dev, in, out, 1, inquiry, 6, true, data, 36, &st);
    EXPECT(r == 0 && st == 0 && !memcmp(data + 8, "QEMU", 4), "INQUIRY: vendor '%.8s' (%d, %u)",
           r == 0 ? (char *)data + 8 : "", r, st);
    static const uint8_t capacity[10] = { 0x25 };
    r = bot(dev, in, out, 2, capacity, 10, true, data, 8, &st);
    /* SCSI is big-endian. */
    uint32_t last = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | data[2] << 8 | data[3];
    uint32_t blk = (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | data[6] << 8 | data[7];
    EXPECT(r == 0 && st == 0 && last == 16383 && blk == 512,
           "READ CAPACITY: last LBA %u, %u-byte blocks (the 8 MiB disk)", last, blk);
    uint8_t pattern[512], back[512];
    uint32_t seed = 7;
    fill_random(pattern, sizeof(pattern), &seed);
    uint8_t wr[10] = { 0x2a, 0, 0, 0, 0, 100, 0, 0, 1, 0 }; /* WRITE(10) LBA 100, 1 block */
    r = bot(dev, in, out, 3, wr, 10, false, pattern, 512, &st);
    EXPECT(r == 0 && st == 0, "WRITE(10) one sector: %d %u", r, st);
    uint8_t rd[10] = { 0x28, 0, 0, 0, 0, 100, 0, 0, 1, 0 };
    r = bot(dev, in, out, 4, rd, 10, true, back, 512, &st);
    EXPECT(r == 0 && st == 0 && !memcmp(pattern, back, 512), "READ(10) gives it back: %d %u", r, st);
    iop_usb_dev_unref(dev);
    engine_down();
    return fails ? 1 : 0;
}

/* ---- unbind with URBs in flight ---- */

struct watch {
    int adds, removes, hangups, drained;
    struct iop_usb_dev *gadget;
};
static struct watch W;

static void on_hotplug(void *data, struct iop_usb_dev *dev, enum iop_usb_hotplug_event ev) {
    struct watch *w = data;
    if (ev == IOP_USB_HOTPLUG_ADD)
        w->adds++;
    else if (dev == w->gadget)
        w->removes++;
}
static void on_hangup(void *data, struct iop_usb_dev *dev) {
    ((struct watch *)data)->hangups++;
    (void)dev;
}
static void on_drained(void *data, struct iop_usb_dev *dev) {
    ((struct watch *)data)->drained++;
    (void)dev;
}

static bool write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text);
}

enum { PENDING = 40 };
struct counted {
    int calls, status;
};
static int completions;
static void counted_done(struct iop_urb *urb) {
    struct counted *c = urb->context;
    c->calls++;
    c->status = urb->status;
    completions++;
}

static void others_still_work(void) {
    struct iop_usb_dev *kbd = find(0x0627, 0x0001), *disk = find(0x46f4, 0x0001);
    uint8_t buf[18];
    uint32_t got = 0;
    int r = kbd ? control(kbd, 0x80, IOP_USB_REQ_GET_DESCRIPTOR, 0x0100, 0, buf, 18, &got) : -1;
    EXPECT(r == 0 && got == 18 && iop_get_le16(buf + 8) == 0x0627,
           "the keyboard still answers GET_DESCRIPTOR: %d", r);
    if (disk) {
        int in = find_ep(disk, 0, IOP_XFER_BULK, true), out = find_ep(disk, 0, IOP_XFER_BULK, false);
        uint8_t st = 0xff, data[36];
        static const uint8_t inquiry[6] = { 0x12, 0, 0, 0, 36, 0 };
        r = iop_usb_dev_claim_interface(disk, 0);
        if (r == 0)
            r = bot(disk, in, out, 9, inquiry, 6, true, data, 36, &st);
        EXPECT(r == 0 && st == 0, "the disk still answers INQUIRY over bulk: %d", r);
    } else {
        EXPECT(false, "the disk is registered");
    }
    iop_usb_dev_unref(kbd);
    iop_usb_dev_unref(disk);
}

static int cmd_unbind(const char *vidpid, const char *udc_file) {
    uint16_t vid, pid;
    if (!parse_vidpid(vidpid, &vid, &pid) || !udc_file)
        return 2;
    engine_up();
    struct iop_usb_dev *dev = find(vid, pid);
    EXPECT(dev != NULL, "gadget registered");
    if (!dev)
        return 1;
    uint16_t bus = iop_usb_dev_info(dev)->busnum;
    uint8_t num = iop_usb_dev_info(dev)->devnum;
    W.gadget = dev;
    iop_usb_engine_add_hotplug(E, on_hotplug, &W, false);
    iop_usb_dev_add_hangup(dev, on_hangup, &W);
    iop_usb_dev_set_drained(dev, on_drained, &W);
    EXPECT(iop_usb_dev_claim_interface(dev, 0) == 0, "claim interface 0");
    int out = find_ep(dev, 0, IOP_XFER_BULK, false);

    /* Nobody reads the echoes: after the gadget's 32 requests are full, OUT NAKs, so
     * most of these stay in flight. */
    static uint8_t bufs[PENDING][4096];
    struct counted c[PENDING];
    struct iop_urb *urbs[PENDING];
    memset(c, 0, sizeof(c));
    int submitted = 0;
    for (int i = 0; i < PENDING; i++) {
        struct done unused;
        urbs[i] = new_urb(dev, IOP_XFER_BULK, out, bufs[i], sizeof(bufs[i]), &unused);
        urbs[i]->complete = counted_done;
        urbs[i]->context = &c[i];
        if (iop_urb_submit(urbs[i]) == 0)
            submitted++;
    }
    int settle = 0;
    run_until(&settle, 1, 1000);
    int before = completions;
    EXPECT(submitted == PENDING && before < PENDING,
           "%d OUT URBs submitted, %d completed, %d in flight", submitted, before,
           PENDING - before);

    EXPECT(write_file(udc_file, "\n"), "gadget unbound (%s)", udc_file);
    run_until(&completions, PENDING, 10000);
    /* In flight at the unbind: -ENODEV once the engine knows the device is gone;
     * -EPROTO for those usbfs failed on the wire before anybody knew (see
     * backend-libusb.c); nothing else, and never success. */
    int once = 0, enodev = 0, eproto = 0, ok0 = 0, other = 0;
    for (int i = 0; i < PENDING; i++) {
        once += c[i].calls == 1;
        if (c[i].calls != 1)
            continue;
        if (c[i].status == -ENODEV)
            enodev++;
        else if (c[i].status == -EPROTO)
            eproto++;
        else if (c[i].status == 0)
            ok0++;
        else
            other = c[i].status;
    }
    EXPECT(once == PENDING, "every URB completed exactly once: %d of %d", once, PENDING);
    EXPECT(ok0 == before && enodev + eproto == PENDING - before && other == 0,
           "the %d in flight failed: %d with -ENODEV, %d with -EPROTO (other status %d)",
           PENDING - before, enodev, eproto, other);
    struct iop_usb_libusb_stats s;
    iop_usb_libusb_stats(E, &s);
    printf("info libusb/usbfs reported:");
    for (int i = 0; i < IOP_USB_LIBUSB_STATUSES; i++)
        if (s.transfer_status[i])
            printf(" %s=%u", iop_usb_libusb_status_name(i), s.transfer_status[i]);
    printf("; hotplug LEFT events so far %u\n", s.left);
    int later = 0;
    run_until(&later, 1, 500);
    iop_usb_libusb_stats(E, &s);
    printf("info hotplug LEFT events after 0.5 s: %u\n", s.left);
    EXPECT(iop_usb_dev_is_gone(dev), "the handle is marked gone");
    EXPECT(W.hangups == 1, "hangup callback ran once: %d", W.hangups);
    EXPECT(W.removes == 1, "hotplug REMOVE ran once: %d", W.removes);
    struct iop_usb_dev *again;
    EXPECT(iop_usb_dev_ref_by_addr(E, bus, num, &again) == -ENODEV, "%u-%u is out of the registry",
           bus, num);
    EXPECT(iop_urb_submit(urbs[0]) == -ENODEV, "a new submit gets -ENODEV");
    EXPECT(W.drained == 0, "not freed while referenced");
    for (int i = 0; i < PENDING; i++)
        iop_urb_free(urbs[i]);
    iop_usb_dev_unref(dev);
    EXPECT(W.drained == 1, "freed when the last reference drained");
    others_still_work();
    engine_down();
    return fails ? 1 : 0;
}

/* ---- replug: hotplug both ways (kernel uevents, or libusb's hotplug with udevd) ---- */

static int cmd_replug(const char *vidpid, const char *udc_file, const char *udc) {
    uint16_t vid, pid;
    if (!parse_vidpid(vidpid, &vid, &pid) || !udc_file || !udc)
        return 2;
    engine_up();
    struct iop_usb_dev *dev = find(vid, pid);
    EXPECT(dev != NULL, "gadget registered");
    if (!dev)
        return 1;
    W = (struct watch){ .gadget = dev };
    iop_usb_engine_add_hotplug(E, on_hotplug, &W, false);
    uint8_t old = iop_usb_dev_info(dev)->devnum;
    iop_usb_dev_unref(dev); /* the pointer stays only as an identity */
    EXPECT(write_file(udc_file, "\n"), "gadget unbound");
    run_until(&W.removes, 1, 10000);
    EXPECT(W.removes == 1, "hotplug REMOVE for the gadget (not open: %s)",
           getenv("USB_E2E_UEVENTS_OFF") ? "from libusb/udev" : "from the kernel's uevent");
    W.gadget = NULL;
    EXPECT(write_file(udc_file, udc), "gadget bound to %s again", udc);
    run_until(&W.adds, 1, 15000);
    int settle = 0;
    run_until(&settle, 1, 1000); /* a second announcement would come now */
    dev = find(vid, pid);
    EXPECT(W.adds == 1 && dev, "hotplug ADD once, registered again: %d", W.adds);
    if (dev) {
        EXPECT(iop_usb_dev_info(dev)->devnum != old, "new address %u (was %u)",
               iop_usb_dev_info(dev)->devnum, old);
        EXPECT(iop_usb_dev_num_configs(dev) == 1, "its descriptors were read");
        int in = find_ep(dev, 0, IOP_XFER_BULK, true), out = find_ep(dev, 0, IOP_XFER_BULK, false);
        uint8_t buf[100], back[4096];
        memset(buf, 0x77, sizeof(buf));
        uint32_t got = 0;
        int r = iop_usb_dev_claim_interface(dev, 0);
        int r1 = r == 0 ? bulk(dev, out, buf, sizeof(buf), 0, &got) : r;
        int r2 = r1 == 0 ? bulk(dev, in, back, sizeof(back), 0, &got) : r1;
        EXPECT(r2 == 0 && got == 100 && !memcmp(buf, back, 100), "loopback works on it: %d", r2);
        iop_usb_dev_unref(dev);
    }
    engine_down();
    return fails ? 1 : 0;
}

static void quiet_sink(void *ctx, int level, const char *msg) {
    (void)ctx;
    fprintf(stderr, "log<%d> %s\n", level, msg);
}

int main(int argc, char **argv) {
    iop_log_set_sink(quiet_sink, NULL);
    if (getenv("USB_E2E_DEBUG"))
        iop_log_set_max_level(LOG_DEBUG);
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "list"))
        return cmd_list();
    if (!strcmp(cmd, "loopback"))
        return cmd_loopback(argc > 2 ? argv[2] : NULL);
    if (!strcmp(cmd, "stall"))
        return cmd_stall(argc > 2 ? argv[2] : NULL);
    if (!strcmp(cmd, "kbd"))
        return cmd_kbd();
    if (!strcmp(cmd, "storage"))
        return cmd_storage();
    if (!strcmp(cmd, "iso"))
        return cmd_iso();
    if (!strcmp(cmd, "unbind"))
        return cmd_unbind(argc > 2 ? argv[2] : NULL, argc > 3 ? argv[3] : NULL);
    if (!strcmp(cmd, "replug"))
        return cmd_replug(argc > 2 ? argv[2] : NULL, argc > 3 ? argv[3] : NULL,
                          argc > 4 ? argv[4] : NULL);
    fprintf(stderr, "usage: usb-e2e list|loopback|stall|kbd|storage|iso|unbind|replug ...\n");
    return 2;
}
