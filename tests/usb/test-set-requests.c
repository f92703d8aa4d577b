/* SET_INTERFACE and SET_CONFIGURATION as usbfs does them (USBDEVFS_SETINTERFACE,
 * USBDEVFS_SETCONFIGURATION): only on what the engine holds, validated as
 * usb_set_interface() / usb_set_configuration() validate, the URBs on the endpoints
 * they end discarded (-ENOENT), the endpoint table rebuilt, claims kept where the new
 * configuration has the interface; then isochronous transfers on the streaming
 * altsetting. */
#include <errno.h>
#include <string.h>

#include "lib/usb/internal.h"
#include "sim-fixture.h"

/* A second configuration (value 2) with interfaces 0 and 3 only. */
#define CFG2_LEN (9 + 9 + 7 + 9 + 7)
static const uint8_t cfg2[CFG2_LEN] = {
    9, 2, CFG2_LEN, 0, 2, 2, 0, 0x80, 50,
    9, 4, 0, 0, 1, 0xff, 0, 0, 0,
    7, 5, 0x81, 0x02, 0x00, 0x02, 0,
    9, 4, 3, 0, 1, 0xff, 0, 0, 0,
    7, 5, 0x05, 0x02, 0x00, 0x02, 0,
};

static void up_two_configs(struct fixture *f) {
    memset(f, 0, sizeof(*f));
    static const struct iop_usb_sim_config manual = { .manual_clock = true };
    CHECK_EQ(iop_usb_engine_new(NULL, &iop_usb_backend_sim, &manual, &f->e), 0);
    CHECK_EQ(iop_usb_engine_start(f->e), 0);
    static uint8_t desc[18];
    memcpy(desc, fx_device_desc, 18);
    desc[17] = 2;
    static const uint8_t *const configs[] = { fx_config, cfg2 };
    struct iop_usb_sim_device spec = fx_spec(IOP_USB_SPEED_HIGH);
    spec.device_descriptor = desc;
    spec.configs = configs;
    spec.n_configs = 2;
    CHECK_EQ(iop_usb_sim_plug(f->e, &spec, &f->sd), 0);
    iop_usb_sim_advance(f->e, 0);
    CHECK_EQ(iop_usb_dev_ref_by_addr(f->e, 1, 2, &f->dev), 0);
}

/* Submit a control request and run it; returns the submit error or the status. */
static int ctrl(struct fixture *f, uint8_t type, uint8_t req, uint16_t value, uint16_t index, uint16_t len) {
    uint8_t setup[8], buf[8] = { 0 };
    struct rec r = { 0 };
    struct iop_urb *urb = fx_ctrl(f, setup, type, req, value, index, len ? buf : NULL, len, &r);
    int st = iop_urb_submit(urb);
    if (st == 0) {
        iop_usb_sim_advance(f->e, 1000);
        CHECK_EQ(r.calls, 1);
        st = r.status;
    }
    iop_urb_free(urb);
    return st;
}

static int set_interface(struct fixture *f, uint16_t ifnum, uint16_t alt) {
    return ctrl(f, 0x01, IOP_USB_REQ_SET_INTERFACE, alt, ifnum, 0);
}

static int set_config(struct fixture *f, uint16_t value) {
    return ctrl(f, 0x00, IOP_USB_REQ_SET_CONFIGURATION, value, 0, 0);
}

static void test_set_interface(void) {
    struct fixture f;
    fx_up(&f, IOP_USB_SPEED_HIGH, false);
    /* Not claimed: a kernel driver may be using it. */
    CHECK_EQ(set_interface(&f, 1, 1), -EACCES);
    CHECK_EQ(iop_usb_dev_claim_interface(f.dev, 0), 0);
    CHECK_EQ(iop_usb_dev_claim_interface(f.dev, 1), 0);
    CHECK_EQ(set_interface(&f, 1, 2), -EINVAL);  /* no altsetting 2 */
    CHECK_EQ(set_interface(&f, 7, 0), -EACCES);  /* no interface 7 (not claimable) */
    CHECK_EQ(ctrl(&f, 0x01, IOP_USB_REQ_SET_INTERFACE, 1, 1, 2), -EINVAL); /* a data stage */
    CHECK_EQ(ctrl(&f, 0x01, IOP_USB_REQ_SET_INTERFACE, 0x101, 1, 0), -EINVAL); /* alt > 255 */
    /* Altsetting 0 of interface 1 has no bandwidth: ISO OUT 0x03 is not there. */
    CHECK(iop_usb_dev_endpoint(f.dev, 3, false) == NULL);
    CHECK_EQ(iop_usb_dev_endpoint(f.dev, 3, true)->info.max_packet, 0);

    /* A bulk IN waiting on interface 0 and an interrupt IN on interface 0 stay; the
     * endpoints of interface 1 follow its new altsetting. */
    uint8_t b[512];
    struct rec rb = { 0 };
    struct iop_urb *bulk = fx_urb(&f, IOP_XFER_BULK, 0x81, b, sizeof(b), &rb);
    CHECK_EQ(iop_urb_submit(bulk), 0);
    CHECK_EQ(set_interface(&f, 1, 1), 0);
    CHECK_EQ(iop_usb_dev_altsetting(f.dev, 1), 1);
    CHECK(iop_usb_dev_endpoint(f.dev, 3, false) != NULL);
    CHECK_EQ(iop_usb_dev_endpoint(f.dev, 3, true)->info.max_packet, 0x0c00);
    CHECK_EQ(rb.calls, 0);

    /* An ISO OUT in flight on interface 1 is ended by the next SET_INTERFACE, as
     * usbfs's destroy_async_on_interface ends it. */
    uint8_t iso_buf[4 * 256];
    struct rec ri = { 0 };
    struct iop_urb *iso = NULL;
    CHECK_EQ(iop_urb_alloc(4, &iso), 0);
    iso->dev = f.dev;
    iso->xfer = IOP_XFER_ISOC;
    iso->endpoint = 3;
    iso->transfer_buffer = iso_buf;
    iso->transfer_buffer_length = sizeof(iso_buf);
    iso->number_of_packets = 4;
    iso->interval = 8;
    iso->transfer_flags = IOP_URB_ISO_ASAP;
    iso->complete = rec_done;
    iso->context = &ri;
    for (int i = 0; i < 4; i++)
        iso->iso_frame_desc[i] = (struct iop_iso_packet_descriptor){ .offset = i * 256u, .length = 256 };
    CHECK_EQ(iop_urb_submit(iso), 0);
    uint8_t setup[8];
    struct rec rs = { 0 };
    struct iop_urb *alt0 = fx_ctrl(&f, setup, 0x01, IOP_USB_REQ_SET_INTERFACE, 0, 1, NULL, 0, &rs);
    CHECK_EQ(iop_urb_submit(alt0), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(rs.calls, 1);
    CHECK_EQ(rs.status, 0);
    CHECK_EQ(ri.calls, 1);
    CHECK_EQ(ri.status, -ENOENT);
    CHECK(iop_usb_dev_endpoint(f.dev, 3, false) == NULL);
    CHECK_EQ(rb.calls, 0); /* interface 0's bulk IN still waits */
    /* The ISO endpoint is gone with altsetting 1: a new submit finds no endpoint. */
    CHECK_EQ(iop_urb_submit(iso), -ENOENT);
    CHECK_EQ(set_interface(&f, 1, 1), 0);
    CHECK_EQ(iop_urb_submit(iso), 0);
    iop_usb_sim_advance(f.e, 10000);
    CHECK_EQ(ri.calls, 2);
    CHECK_EQ(ri.status, 0);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(iso->iso_frame_desc[i].status, 0);
        CHECK_EQ(iso->iso_frame_desc[i].actual_length, 256);
    }
    iop_urb_kill(bulk);
    iop_urb_free(bulk);
    iop_urb_free(iso);
    iop_urb_free(alt0);
    fx_down(&f);
}

static void test_set_configuration(void) {
    struct fixture f;
    up_two_configs(&f);
    CHECK_EQ(set_config(&f, 2), -EACCES); /* the engine does not hold the device */
    for (uint8_t i = 0; i < 3; i++)
        CHECK_EQ(iop_usb_dev_claim_interface(f.dev, i), 0);
    CHECK_EQ(set_config(&f, 3), -EINVAL); /* no such configuration */
    CHECK_EQ(set_interface(&f, 1, 1), 0);

    /* Every URB off endpoint 0 ends with the configuration. */
    uint8_t b[512];
    struct rec rb = { 0 };
    struct iop_urb *bulk = fx_urb(&f, IOP_XFER_BULK, 0x81, b, sizeof(b), &rb);
    CHECK_EQ(iop_urb_submit(bulk), 0);
    /* The same configuration again: altsettings back to 0, claims kept. */
    CHECK_EQ(set_config(&f, 1), 0);
    CHECK_EQ(rb.calls, 1);
    CHECK_EQ(rb.status, -ENOENT);
    CHECK_EQ(iop_usb_dev_altsetting(f.dev, 1), 0);
    CHECK_EQ(iop_usb_dev_claims(f.dev), 0x7);

    /* Configuration 2 has interfaces 0 and 3: the claim on 0 stays, 1 and 2 go; the
     * backend lost interface 0 (a kernel driver got there first): it goes too. */
    uint8_t setup[8];
    struct rec rc = { 0 };
    struct iop_urb *cfg = fx_ctrl(&f, setup, 0x00, IOP_USB_REQ_SET_CONFIGURATION, 2, 0, NULL, 0, &rc);
    CHECK_EQ(iop_urb_submit(cfg), 0);
    CHECK_EQ(iop_usb_dev_claims_kept(f.dev, 2), 0x1);
    CHECK_EQ(iop_usb_dev_claims_kept(f.dev, 0), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(rc.status, 0);
    CHECK_EQ(iop_usb_dev_active_config(f.dev), 2);
    CHECK_EQ(iop_usb_dev_claims(f.dev), 0x1);
    CHECK(iop_usb_dev_endpoint(f.dev, 5, false) != NULL);
    CHECK(iop_usb_dev_endpoint(f.dev, 2, true) == NULL);
    CHECK_EQ(iop_urb_submit(bulk), 0); /* 0x81 exists in configuration 2 too */
    iop_urb_kill(bulk);
    rc = (struct rec){ 0 };
    setup[2] = 1;
    CHECK_EQ(iop_urb_submit(cfg), 0);
    iop_usb_backend_dev_claims_lost(f.dev, 0x1);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(rc.status, 0);
    CHECK_EQ(iop_usb_dev_claims(f.dev), 0);
    CHECK(!iop_usb_dev_claimed(f.dev));

    /* Unconfigured and configured again: the engine still holds the device (it gave
     * nothing back), the claims are the policy's to take again. */
    CHECK_EQ(set_config(&f, 0), 0);
    CHECK_EQ(iop_usb_dev_active_config(f.dev), 0);
    CHECK_EQ(set_config(&f, 1), 0);
    CHECK_EQ(iop_usb_dev_claim_interface(f.dev, 1), 0);
    CHECK_EQ(iop_usb_dev_release_interface(f.dev, 1), 0);
    /* Everything given back: no more configuration changes. */
    CHECK_EQ(set_config(&f, 2), -EACCES);
    iop_urb_free(bulk);
    iop_urb_free(cfg);
    fx_down(&f);
}

/* GET_* and other standard requests stay plain control transfers.  (GET_INTERFACE
 * names an interface: it needs that interface claimed, as usbfs's check_ctrlrecip.) */
static void test_plain_requests(void) {
    struct fixture f;
    fx_up(&f, IOP_USB_SPEED_HIGH, false);
    uint8_t setup[8], buf[8];
    struct rec r = { 0 };
    struct iop_urb *urb = fx_ctrl(&f, setup, 0x81, IOP_USB_REQ_GET_INTERFACE, 0, 1, buf, 1, &r);
    CHECK_EQ(iop_urb_set_request(urb), IOP_URB_PLAIN);
    CHECK_EQ(iop_urb_submit(urb), -EACCES);
    CHECK_EQ(iop_usb_dev_claim_interface(f.dev, 1), 0);
    CHECK_EQ(iop_urb_submit(urb), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(r.status, 0);
    CHECK_EQ(buf[0], 0);
    setup[0] = 0x01;
    setup[1] = IOP_USB_REQ_SET_INTERFACE;
    CHECK_EQ(iop_urb_set_request(urb), IOP_URB_SET_INTERFACE);
    setup[0] = 0x00;
    setup[1] = IOP_USB_REQ_SET_CONFIGURATION;
    CHECK_EQ(iop_urb_set_request(urb), IOP_URB_SET_CONFIGURATION);
    setup[0] = 0x40; /* vendor request numbered 9: plain */
    CHECK_EQ(iop_urb_set_request(urb), IOP_URB_PLAIN);
    CHECK_EQ(iop_urb_set_request(NULL), IOP_URB_PLAIN);
    iop_urb_free(urb);
    fx_down(&f);
}

int main(void) {
    TEST(test_set_interface);
    TEST(test_set_configuration);
    TEST(test_plain_requests);
    return test_summary();
}
