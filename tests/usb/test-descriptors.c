/* Configuration descriptor parsing against well-formed and hostile input. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/usb/descriptors.h"
#include "lib/usb/urb.h"
#include "sim-fixture.h"

static void test_header(void) {
    struct iop_usb_config_header h;
    CHECK_EQ(iop_usb_config_header(fx_config, sizeof(fx_config), &h), 0);
    CHECK_EQ(h.total_length, FX_CONFIG_LEN);
    CHECK_EQ(h.num_interfaces, 3);
    CHECK_EQ(h.value, 1);
    CHECK_EQ(h.attributes, 0x80);
    CHECK_EQ(h.max_power, 50);
    CHECK_EQ(iop_usb_config_header(fx_config, 8, &h), -EINVAL);
    CHECK_EQ(iop_usb_config_header(NULL, 9, &h), -EINVAL);
    CHECK_EQ(iop_usb_config_header(fx_device_desc, 18, &h), -EINVAL); /* wrong type */
}

static void test_endpoints(void) {
    struct iop_usb_ep_info eps[8];
    int n = iop_usb_config_endpoints(fx_config, sizeof(fx_config), NULL, 0, eps, 8);
    CHECK_EQ(n, 5); /* 0x01 0x81 0x82 (if 0), 0x83 (if 1 alt 0), 0x04 (if 2) */
    CHECK_EQ(eps[0].address, 0x01);
    CHECK_EQ(iop_usb_ep_xfer(&eps[0]), IOP_XFER_BULK);
    CHECK_EQ(iop_usb_ep_maxp(&eps[0]), 512);
    CHECK_EQ(eps[2].address, 0x82);
    CHECK_EQ(iop_usb_ep_xfer(&eps[2]), IOP_XFER_INT);
    CHECK_EQ(eps[2].interval, 4);
    CHECK_EQ(eps[3].address, 0x83);
    CHECK_EQ(iop_usb_ep_maxp(&eps[3]), 0);
    CHECK_EQ(eps[3].interface, 1);
    CHECK_EQ(eps[4].interface, 2);

    uint8_t alts[3] = { 0, 1, 0 };
    n = iop_usb_config_endpoints(fx_config, sizeof(fx_config), alts, 3, eps, 8);
    CHECK_EQ(n, 6);
    CHECK_EQ(eps[3].address, 0x83);
    CHECK_EQ(eps[3].altsetting, 1);
    CHECK_EQ(iop_usb_ep_maxp(&eps[3]), 1024);
    CHECK_EQ(iop_usb_ep_iso_max(&eps[3], IOP_USB_SPEED_HIGH), 2048);
    CHECK_EQ(iop_usb_ep_iso_max(&eps[3], IOP_USB_SPEED_FULL), 1024);
    CHECK_EQ(iop_usb_ep_xfer(&eps[3]), IOP_XFER_ISOC);
    /* A short output array: the count says how many there are. */
    CHECK_EQ(iop_usb_config_endpoints(fx_config, sizeof(fx_config), alts, 3, eps, 2), 6);
    CHECK(iop_usb_config_has_altsetting(fx_config, sizeof(fx_config), 1, 1));
    CHECK(!iop_usb_config_has_altsetting(fx_config, sizeof(fx_config), 1, 2));
    CHECK(!iop_usb_config_has_altsetting(fx_config, sizeof(fx_config), 3, 0));
}

static void test_superspeed_companion(void) {
    static const uint8_t cfg[] = {
        9, 2, 9 + 9 + 7 + 6, 0, 1, 1, 0, 0x80, 50,
        9, 4, 0, 0, 1, 0xff, 0, 0, 0,
        7, 5, 0x81, 0x01, 0x00, 0x04, 1,
        6, 0x30, 3, 2, 0, 0, /* bMaxBurst 3, mult field 2 (3 packets) */
    };
    struct iop_usb_ep_info ep;
    CHECK_EQ(iop_usb_config_endpoints(cfg, sizeof(cfg), NULL, 0, &ep, 1), 1);
    CHECK_EQ(ep.ss_max_burst, 3);
    CHECK_EQ(iop_usb_ep_iso_max(&ep, IOP_USB_SPEED_SUPER), 1024u * 4 * 3);
}

/* Malformed descriptors end the walk where the kernel ends it, never read past the
 * buffer (ASan watches), and keep what came before. */
static void test_hostile(void) {
    struct iop_usb_ep_info eps[8];
    uint8_t buf[FX_CONFIG_LEN];

    /* bLength 0 in the middle: stop there (no endless loop). */
    memcpy(buf, fx_config, sizeof(buf));
    buf[9 + 9 + 7] = 0; /* the second endpoint of interface 0 */
    CHECK_EQ(iop_usb_config_endpoints(buf, sizeof(buf), NULL, 0, eps, 8), 1);

    /* bLength running past the end. */
    memcpy(buf, fx_config, sizeof(buf));
    buf[9 + 9] = 200;
    CHECK_EQ(iop_usb_config_endpoints(buf, sizeof(buf), NULL, 0, eps, 8), 0);

    /* wTotalLength larger than what was read: the walk uses the buffer's length. */
    uint8_t *heap = malloc(40);
    memcpy(heap, fx_config, 40);
    CHECK_EQ(iop_usb_config_endpoints(heap, 40, NULL, 0, eps, 8), 3);
    /* wTotalLength smaller than the buffer: the walk stops at wTotalLength. */
    memcpy(buf, fx_config, sizeof(buf));
    buf[2] = 9 + 9 + 7;
    CHECK_EQ(iop_usb_config_endpoints(buf, sizeof(buf), NULL, 0, eps, 8), 1);

    /* A short endpoint descriptor is skipped; endpoint 0 and duplicates too. */
    static const uint8_t odd[] = {
        9, 2, 9 + 9 + 5 + 7 + 7 + 7, 0, 1, 1, 0, 0x80, 50,
        9, 4, 0, 0, 4, 0xff, 0, 0, 0,
        5, 5, 0x81, 0x02, 0x40,         /* too short */
        7, 5, 0x80, 0x02, 0x40, 0x00, 0, /* endpoint 0 */
        7, 5, 0x82, 0x02, 0x40, 0x00, 0,
        7, 5, 0x82, 0x03, 0x08, 0x00, 1, /* duplicate address */
    };
    CHECK_EQ(iop_usb_config_endpoints(odd, sizeof(odd), NULL, 0, eps, 8), 1);
    CHECK_EQ(eps[0].address, 0x82);
    CHECK_EQ(iop_usb_ep_xfer(&eps[0]), IOP_XFER_BULK);

    /* A short interface descriptor: its endpoints are not taken. */
    static const uint8_t shortif[] = {
        9, 2, 9 + 5 + 7, 0, 1, 1, 0, 0x80, 50,
        5, 4, 0, 0, 1,
        7, 5, 0x81, 0x02, 0x40, 0x00, 0,
    };
    CHECK_EQ(iop_usb_config_endpoints(shortif, sizeof(shortif), NULL, 0, eps, 8), 0);
    CHECK(!iop_usb_config_has_altsetting(shortif, sizeof(shortif), 0, 0));

    /* Every truncation of the good descriptor: never more than the full count. */
    for (size_t len = 0; len <= sizeof(fx_config); len++) {
        uint8_t *t = malloc(len ? len : 1);
        memcpy(t, fx_config, len);
        int n = iop_usb_config_endpoints(t, len, NULL, 0, eps, 8);
        CHECK(len < 9 ? n == -EINVAL : (n >= 0 && n <= 5));
        free(t);
    }
    free(heap);
}

int main(void) {
    TEST(test_header);
    TEST(test_endpoints);
    TEST(test_superspeed_companion);
    TEST(test_hostile);
    return test_summary();
}
