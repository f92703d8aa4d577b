/* String descriptors read at enumeration, request by request, as usbcore reads them:
 * the LANGID table first, then product, manufacturer and serial number; a stall, an
 * empty answer or another descriptor type retried 3 times; 255 bytes, else 2 then
 * exactly bLength; devices without strings, with broken ones, or that stall keep no
 * string (their users fall back to numeric names). */
#include <errno.h>
#include <string.h>

#include "lib/usb/internal.h"
#include "sim-fixture.h"

/* Every GET_DESCRIPTOR(STRING) the engine submits, from the monitor's submit hook. */
struct seen {
    unsigned n;
    uint16_t value[64], index[64], length[64];
};

static void mon_submit(void *ctx, const struct iop_urb *urb) {
    struct seen *s = ctx;
    const uint8_t *p = urb->setup_packet;
    if (urb->xfer != IOP_XFER_CONTROL || !p || p[1] != IOP_USB_REQ_GET_DESCRIPTOR ||
        p[3] != IOP_USB_DT_STRING || s->n >= 64)
        return;
    s->value[s->n] = iop_get_le16(p + 2);
    s->index[s->n] = iop_get_le16(p + 4);
    s->length[s->n] = iop_get_le16(p + 6);
    s->n++;
}

struct setup {
    struct iop_usb_engine *e;
    struct iop_usb_sim_dev *sd;
    struct iop_usb_dev *dev;
    struct seen seen;
    struct iop_urb_monitor mon;
};

/* Plug spec (with a device descriptor whose string indices are m, p, s), enumerate. */
static void plug(struct setup *t, struct iop_usb_sim_device *spec, uint8_t m, uint8_t p, uint8_t s) {
    memset(t, 0, sizeof(*t));
    static const struct iop_usb_sim_config manual = { .manual_clock = true };
    CHECK_EQ(iop_usb_engine_new(NULL, &iop_usb_backend_sim, &manual, &t->e), 0);
    t->mon = (struct iop_urb_monitor){ .submit = mon_submit, .ctx = &t->seen };
    iop_usb_engine_set_monitor(t->e, &t->mon);
    CHECK_EQ(iop_usb_engine_start(t->e), 0);
    static uint8_t desc[18];
    memcpy(desc, fx_device_desc, 18);
    desc[14] = m;
    desc[15] = p;
    desc[16] = s;
    spec->device_descriptor = desc;
    CHECK_EQ(iop_usb_sim_plug(t->e, spec, &t->sd), 0);
    iop_usb_sim_advance(t->e, 0);
    CHECK_EQ(iop_usb_engine_enumerating(t->e), 0);
    CHECK_EQ(iop_usb_dev_ref_by_addr(t->e, 1, 2, &t->dev), 0);
}

static void unplug(struct setup *t) {
    t->dev = iop_usb_dev_unref(t->dev);
    t->e = iop_usb_engine_free(t->e);
}

static const char *str(struct setup *t, enum iop_usb_dev_string w) {
    return t->dev ? iop_usb_dev_string(t->dev, w) : NULL;
}

static void test_all_three(void) {
    static const char *const strings[] = { "Acme", "SrcSink", "S/N 0042" };
    struct iop_usb_sim_device spec = fx_spec(IOP_USB_SPEED_HIGH);
    spec.strings = strings;
    spec.n_strings = 3;
    struct setup t;
    plug(&t, &spec, 1, 2, 3);
    CHECK_STREQ(str(&t, IOP_USB_STRING_MANUFACTURER), "Acme");
    CHECK_STREQ(str(&t, IOP_USB_STRING_PRODUCT), "SrcSink");
    CHECK_STREQ(str(&t, IOP_USB_STRING_SERIAL), "S/N 0042");
    /* usbcore's order: LANGID, product, manufacturer, serial; 255 bytes each, in the
     * first language listed. */
    CHECK_EQ(t.seen.n, 4);
    static const uint16_t value[] = { 0x0300, 0x0302, 0x0301, 0x0303 };
    static const uint16_t index[] = { 0, 0x0409, 0x0409, 0x0409 };
    for (unsigned i = 0; i < 4 && i < t.seen.n; i++) {
        CHECK_EQ(t.seen.value[i], value[i]);
        CHECK_EQ(t.seen.index[i], index[i]);
        CHECK_EQ(t.seen.length[i], 255);
    }
    unplug(&t);
}

static void test_unicode(void) {
    /* UTF-8 in, UTF-16LE on the wire (with a surrogate pair), UTF-8 back. */
    static const char *const strings[] = { "\xc3\x9cnic\xc3\xb6" "de \xe2\x82\xac", "\xf0\x9f\x8e\xb5 audio" };
    struct iop_usb_sim_device spec = fx_spec(IOP_USB_SPEED_FULL);
    spec.strings = strings;
    spec.n_strings = 2;
    struct setup t;
    plug(&t, &spec, 1, 2, 0);
    CHECK_STREQ(str(&t, IOP_USB_STRING_MANUFACTURER), "\xc3\x9cnic\xc3\xb6" "de \xe2\x82\xac");
    CHECK_STREQ(str(&t, IOP_USB_STRING_PRODUCT), "\xf0\x9f\x8e\xb5 audio");
    CHECK(str(&t, IOP_USB_STRING_SERIAL) == NULL);
    CHECK_EQ(t.seen.n, 3); /* no serial index: not read */
    unplug(&t);
}

static void test_none(void) {
    struct iop_usb_sim_device spec = fx_spec(IOP_USB_SPEED_HIGH);
    struct setup t;
    plug(&t, &spec, 0, 0, 0);
    for (int w = 0; w < IOP_USB_DEV_STRINGS; w++)
        CHECK(str(&t, w) == NULL);
    /* No index: not even the LANGID table is read (usb_string is never called). */
    CHECK_EQ(t.seen.n, 0);
    CHECK_EQ(iop_usb_sim_string_requests(t.sd), 0);
    unplug(&t);
}

static void test_stall(void) {
    struct iop_usb_sim_device spec = fx_spec(IOP_USB_SPEED_HIGH);
    spec.strings_stall = true;
    struct setup t;
    plug(&t, &spec, 1, 2, 3);
    for (int w = 0; w < IOP_USB_DEV_STRINGS; w++)
        CHECK(str(&t, w) == NULL);
    /* String 0: 255 bytes three times, 2 bytes three times; then nothing more. */
    CHECK_EQ(t.seen.n, 6);
    CHECK_EQ(iop_usb_sim_string_requests(t.sd), 6);
    for (unsigned i = 0; i < 6 && i < t.seen.n; i++) {
        CHECK_EQ(t.seen.value[i], 0x0300);
        CHECK_EQ(t.seen.length[i], i < 3 ? 255 : 2);
    }
    /* The device is registered all the same, its descriptors read. */
    CHECK_EQ(iop_usb_dev_num_configs(t.dev), 1);
    unplug(&t);
}

static void test_exact_length_only(void) {
    /* A device that stalls a 255-byte request: 2 bytes for bLength, then exactly that. */
    static const char *const strings[] = { "iopd", "exact" };
    struct iop_usb_sim_device spec = fx_spec(IOP_USB_SPEED_HIGH);
    spec.strings = strings;
    spec.n_strings = 2;
    spec.string_stall_length = 255;
    struct setup t;
    plug(&t, &spec, 1, 2, 0);
    CHECK_STREQ(str(&t, IOP_USB_STRING_MANUFACTURER), "iopd");
    CHECK_STREQ(str(&t, IOP_USB_STRING_PRODUCT), "exact");
    CHECK_EQ(t.seen.n, 15); /* 3 x 5 reads: 255, 255, 255, 2, bLength */
    static const uint16_t len[15] = { 255, 255, 255, 2, 4, 255, 255, 255, 2, 12, 255, 255, 255, 2, 10 };
    for (unsigned i = 0; i < 15 && i < t.seen.n; i++)
        CHECK_EQ(t.seen.length[i], len[i]);
    unplug(&t);
}

static void test_broken(void) {
    /* LANGID table of another descriptor type: -ENODATA, English assumed. */
    static const uint8_t bad_langid[] = { 4, 0x02, 0x07, 0x04 };
    /* Manufacturer: bLength 1 (nothing usable).  Product: a NUL unit inside, an odd
     * length and junk after bLength.  Serial: empty. */
    static const uint8_t m[] = { 1, 3, 'A', 0, 'B', 0 };
    static const uint8_t p[] = { 9, 3, 'a', 0, 'b', 0, 0, 0, 'c', 0, 'J', 'U', 'N', 'K' };
    static const uint8_t s[] = { 2, 3 };
    const struct iop_usb_sim_raw_string raw[] = {
        { 0, bad_langid, sizeof(bad_langid) }, { 1, m, sizeof(m) }, { 2, p, sizeof(p) }, { 3, s, sizeof(s) },
    };
    struct iop_usb_sim_device spec = fx_spec(IOP_USB_SPEED_HIGH);
    spec.raw_strings = raw;
    spec.n_raw_strings = 4;
    struct setup t;
    plug(&t, &spec, 1, 2, 3);
    CHECK(str(&t, IOP_USB_STRING_MANUFACTURER) == NULL);
    CHECK_STREQ(str(&t, IOP_USB_STRING_PRODUCT), "ab");
    CHECK(str(&t, IOP_USB_STRING_SERIAL) == NULL);
    /* String 0: 3 x 255 and 3 x 2 (each of another type), then one read per string
     * in language 0x0409. */
    CHECK_EQ(t.seen.n, 9);
    for (unsigned i = 6; i < t.seen.n; i++)
        CHECK_EQ(t.seen.index[i], 0x0409);
    unplug(&t);

    /* A LANGID table too short for one id: English too. */
    static const uint8_t short_langid[] = { 2, 3 };
    static const char *const strings[] = { "x" };
    const struct iop_usb_sim_raw_string raw2[] = { { 0, short_langid, 2 } };
    spec = fx_spec(IOP_USB_SPEED_HIGH);
    spec.strings = strings;
    spec.n_strings = 1;
    spec.raw_strings = raw2;
    spec.n_raw_strings = 1;
    plug(&t, &spec, 1, 0, 0);
    CHECK_STREQ(str(&t, IOP_USB_STRING_MANUFACTURER), "x");
    CHECK_EQ(t.seen.n, 2);
    if (t.seen.n == 2)
        CHECK_EQ(t.seen.index[1], 0x0409);
    unplug(&t);

    /* A string index the device does not have: stalled 6 times, the others read. */
    static const char *const one[] = { "only" };
    spec = fx_spec(IOP_USB_SPEED_HIGH);
    spec.strings = one;
    spec.n_strings = 1;
    plug(&t, &spec, 1, 9, 0);
    CHECK_STREQ(str(&t, IOP_USB_STRING_MANUFACTURER), "only");
    CHECK(str(&t, IOP_USB_STRING_PRODUCT) == NULL);
    CHECK_EQ(t.seen.n, 1 + 6 + 1);
    unplug(&t);
}

static void test_unplug_while_reading(void) {
    /* Unplugged in the middle of the strings: never announced, nothing leaks. */
    static const char *const strings[] = { "a", "b" };
    struct iop_usb_sim_device spec = fx_spec(IOP_USB_SPEED_HIGH);
    spec.strings = strings;
    spec.n_strings = 2;
    spec.strings_stall = true;
    static const struct iop_usb_sim_config manual = { .manual_clock = true };
    struct iop_usb_engine *e = NULL;
    CHECK_EQ(iop_usb_engine_new(NULL, &iop_usb_backend_sim, &manual, &e), 0);
    CHECK_EQ(iop_usb_engine_start(e), 0);
    struct iop_usb_sim_dev *sd;
    CHECK_EQ(iop_usb_sim_plug(e, &spec, &sd), 0);
    iop_usb_engine_handle_events(e, 0); /* device descriptor */
    iop_usb_engine_handle_events(e, 0); /* GET_CONFIGURATION */
    iop_usb_engine_handle_events(e, 0); /* config header */
    iop_usb_engine_handle_events(e, 0); /* config */
    iop_usb_engine_handle_events(e, 0); /* first string read */
    CHECK_EQ(iop_usb_engine_enumerating(e), 1);
    CHECK_EQ(iop_usb_sim_unplug(sd), 0);
    iop_usb_sim_advance(e, 0);
    CHECK_EQ(iop_usb_engine_enumerating(e), 0);
    struct iop_usb_dev *dev;
    CHECK_EQ(iop_usb_dev_ref_by_addr(e, 1, 2, &dev), -ENODEV);
    iop_usb_engine_free(e);
}

int main(void) {
    TEST(test_all_three);
    TEST(test_unicode);
    TEST(test_none);
    TEST(test_stall);
    TEST(test_exact_length_only);
    TEST(test_broken);
    TEST(test_unplug_while_reading);
    return test_summary();
}
