/* Device handles on the simulated backend: enumeration by control URBs, the
 * registry and its lookups, reference draining, unregister -EBUSY, hot-unplug with
 * URBs in flight, hangup and hotplug callbacks, engine shutdown. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/usb/internal.h"
#include "sim-fixture.h"

/* ---- Callback recorders ---- */

struct events {
    int adds, removes, hangups, drained;
    struct iop_usb_dev *last;
    int order[16]; /* 'A' add, 'R' remove, 'H' hangup, 'D' drained */
    int n;
};

static void ev_note(struct events *ev, int what) {
    if (ev->n < 16)
        ev->order[ev->n++] = what;
}

static void on_hotplug(void *data, struct iop_usb_dev *dev, enum iop_usb_hotplug_event e) {
    struct events *ev = data;
    ev->last = dev;
    if (e == IOP_USB_HOTPLUG_ADD) {
        ev->adds++;
        ev_note(ev, 'A');
    } else {
        ev->removes++;
        ev_note(ev, 'R');
        CHECK(iop_usb_dev_is_gone(dev));
    }
}

static void on_hangup(void *data, struct iop_usb_dev *dev) {
    struct events *ev = data;
    ev->hangups++;
    ev_note(ev, 'H');
    CHECK(iop_usb_dev_is_gone(dev));
}

static void on_drained(void *data, struct iop_usb_dev *dev) {
    struct events *ev = data;
    ev->drained++;
    ev_note(ev, 'D');
    (void)dev;
}

static struct iop_usb_engine *manual_engine(void) {
    static const struct iop_usb_sim_config manual = { .manual_clock = true };
    struct iop_usb_engine *e = NULL;
    CHECK_EQ(iop_usb_engine_new(NULL, &iop_usb_backend_sim, &manual, &e), 0);
    CHECK_EQ(iop_usb_engine_start(e), 0);
    CHECK_EQ(iop_usb_engine_start(e), -EALREADY);
    return e;
}

/* ---- Enumeration ---- */

static void test_enumeration(void) {
    struct iop_usb_engine *e = manual_engine();
    struct events ev = { 0 };
    CHECK_EQ(iop_usb_engine_add_hotplug(e, on_hotplug, &ev, false), 0);
    CHECK_EQ(iop_usb_engine_add_hotplug(e, on_hotplug, &ev, false), -EEXIST);
    struct iop_usb_sim_device spec = fx_spec(IOP_USB_SPEED_HIGH);
    spec.port_depth = 2;
    spec.port_path[0] = 3;
    spec.port_path[1] = 4;
    struct iop_usb_sim_dev *sd;
    CHECK_EQ(iop_usb_sim_plug(e, &spec, &sd), 0);
    struct iop_usb_dev *dev;
    /* Not registered until its descriptors are read. */
    CHECK_EQ(iop_usb_dev_ref_by_addr(e, 1, 2, &dev), -ENODEV);
    CHECK_EQ(ev.adds, 0);
    CHECK_EQ(iop_usb_engine_enumerating(e), 1);
    /* Device descriptor, GET_CONFIGURATION, config header, config, then the LANGID
     * table, the product and the manufacturer strings (no serial): seven URBs. */
    CHECK_EQ(iop_usb_sim_advance(e, 0), 7);
    CHECK_EQ(ev.adds, 1);
    CHECK_EQ(iop_usb_engine_enumerating(e), 0);
    CHECK_EQ(iop_usb_dev_ref_by_addr(e, 1, 2, &dev), 0);
    CHECK(ev.last == dev);
    CHECK_MEMEQ(iop_usb_dev_descriptor(dev), fx_device_desc, 18);
    CHECK_EQ(iop_usb_dev_vid(dev), 0x1234);
    CHECK_EQ(iop_usb_dev_pid(dev), 0x5678);
    CHECK_EQ(iop_usb_dev_num_configs(dev), 1);
    const uint8_t *cfg;
    size_t len;
    CHECK_EQ(iop_usb_dev_config(dev, 0, &cfg, &len), 0);
    CHECK_EQ(len, FX_CONFIG_LEN);
    CHECK_MEMEQ(cfg, fx_config, FX_CONFIG_LEN);
    CHECK_EQ(iop_usb_dev_config(dev, 1, &cfg, &len), -ENOENT);
    CHECK_EQ(iop_usb_dev_active_config(dev), 1);
    CHECK_STREQ(iop_usb_dev_string(dev, IOP_USB_STRING_MANUFACTURER), "iopd");
    CHECK_STREQ(iop_usb_dev_string(dev, IOP_USB_STRING_PRODUCT), "sim device");
    CHECK(iop_usb_dev_string(dev, IOP_USB_STRING_SERIAL) == NULL);
    const struct iop_usb_dev_info *info = iop_usb_dev_info(dev);
    CHECK_EQ(info->busnum, 1);
    CHECK_EQ(info->devnum, 2);
    CHECK_EQ(info->speed, IOP_USB_SPEED_HIGH);
    CHECK_EQ(info->port_depth, 2);
    CHECK_EQ(info->port_path[1], 4);
    CHECK(!iop_usb_dev_claimed(dev));
    CHECK(!iop_usb_dev_is_gone(dev));
    /* The endpoint table follows the active configuration, altsetting 0. */
    CHECK(iop_usb_dev_endpoint(dev, 1, true) != NULL);
    CHECK(iop_usb_dev_endpoint(dev, 1, false) != NULL);
    CHECK(iop_usb_dev_endpoint(dev, 3, false) == NULL); /* ISO OUT is in alt 1 only */
    CHECK_EQ(iop_usb_dev_endpoint(dev, 0, true)->info.max_packet, 64); /* bMaxPacketSize0 */

    /* A string descriptor read on the unclaimed device (standard request). */
    uint8_t setup[8], buf[255];
    struct rec r = { 0 };
    struct fixture f = { .e = e, .sd = sd, .dev = dev };
    struct iop_urb *urb = fx_ctrl(&f, setup, 0x80, IOP_USB_REQ_GET_DESCRIPTOR, 0x0302, 0x0409,
                                  buf, 255, &r);
    CHECK_EQ(iop_urb_submit(urb), 0);
    iop_usb_sim_advance(e, 0);
    CHECK_EQ(r.status, 0);
    CHECK_EQ(r.actual, 2 + 2 * strlen("sim device"));
    CHECK_EQ(buf[2], 's');
    CHECK_EQ(buf[3], 0);
    iop_urb_free(urb);

    /* SET_CONFIGURATION changes what kernel drivers see: not on a device the engine
     * does not hold. */
    urb = fx_ctrl(&f, setup, 0x00, IOP_USB_REQ_SET_CONFIGURATION, 0, 0, NULL, 0, &r);
    CHECK_EQ(iop_urb_submit(urb), -EACCES);
    CHECK_EQ(iop_usb_dev_claim_interface(dev, 0), 0);
    /* SET_CONFIGURATION 0 unconfigures: only endpoint 0 is left, no claims. */
    CHECK_EQ(iop_urb_submit(urb), 0);
    iop_usb_sim_advance(e, 0);
    CHECK_EQ(r.status, 0);
    CHECK_EQ(iop_usb_dev_active_config(dev), 0);
    CHECK(iop_usb_dev_endpoint(dev, 1, true) == NULL);
    CHECK(!iop_usb_dev_claimed(dev));
    setup[2] = 7; /* no configuration 7: refused as usb_set_configuration() refuses it */
    CHECK_EQ(iop_urb_submit(urb), -EINVAL);
    CHECK_EQ(iop_usb_dev_active_config(dev), 0);
    iop_urb_free(urb);
    iop_usb_dev_unref(dev);
    iop_usb_engine_free(e);
}

/* Unplugged while its descriptors are being read: never announced, so never
 * removed either, and nothing leaks (LSan). */
static void test_unplug_while_enumerating(void) {
    struct iop_usb_engine *e = manual_engine();
    struct events ev = { 0 };
    CHECK_EQ(iop_usb_engine_add_hotplug(e, on_hotplug, &ev, false), 0);
    struct iop_usb_sim_device spec = fx_spec(IOP_USB_SPEED_HIGH);
    struct iop_usb_sim_dev *sd;
    CHECK_EQ(iop_usb_sim_plug(e, &spec, &sd), 0);
    CHECK_EQ(iop_usb_engine_handle_events(e, 0), 0); /* the device descriptor only */
    CHECK_EQ(iop_usb_engine_enumerating(e), 1);
    CHECK_EQ(iop_usb_sim_unplug(sd), 0);
    iop_usb_sim_advance(e, 1000000);
    CHECK_EQ(iop_usb_engine_enumerating(e), 0);
    CHECK_EQ(ev.adds, 0);
    CHECK_EQ(ev.removes, 0);
    struct iop_usb_dev *dev;
    CHECK_EQ(iop_usb_dev_ref_by_addr(e, 1, 2, &dev), -ENODEV);
    iop_usb_engine_free(e);
}

static void test_silent_device(void) {
    struct iop_usb_engine *e = manual_engine();
    struct iop_usb_sim_device spec = fx_spec(IOP_USB_SPEED_FULL);
    spec.silent = true;
    struct iop_usb_sim_dev *sd;
    CHECK_EQ(iop_usb_sim_plug(e, &spec, &sd), 0);
    struct iop_usb_dev *dev;
    iop_usb_sim_advance(e, 4999999);
    CHECK_EQ(iop_usb_dev_ref_by_addr(e, 1, 2, &dev), -ENODEV); /* still waiting */
    iop_usb_sim_advance(e, 1);
    /* GET_DESCRIPTOR timed out: registered with what could be read (nothing), so
     * the layer above sees the device and that it is broken. */
    CHECK_EQ(iop_usb_dev_ref_by_addr(e, 1, 2, &dev), 0);
    CHECK_EQ(iop_usb_dev_vid(dev), 0);
    CHECK_EQ(iop_usb_dev_num_configs(dev), 0);
    iop_usb_dev_unref(dev);
    iop_usb_engine_free(e);
}

static void test_descriptor_errors(void) {
    struct iop_usb_engine *e = manual_engine();
    struct iop_usb_sim_device spec = fx_spec(IOP_USB_SPEED_HIGH);
    struct iop_usb_sim_dev *sd;
    CHECK_EQ(iop_usb_sim_plug(e, &spec, &sd), 0);
    /* The device descriptor read fails once (the control endpoint errors). */
    CHECK_EQ(iop_usb_sim_ep_fail(sd, 0x00, -EPROTO, 1), 0);
    iop_usb_sim_advance(e, 0);
    struct iop_usb_dev *dev;
    CHECK_EQ(iop_usb_dev_ref_by_addr(e, 1, 2, &dev), 0);
    CHECK_EQ(iop_usb_dev_num_configs(dev), 0);
    iop_usb_dev_unref(dev);

    /* The configuration read fails: the device is there, that configuration is not. */
    struct iop_usb_sim_dev *sd2;
    CHECK_EQ(iop_usb_sim_plug(e, &spec, &sd2), 0);
    CHECK_EQ(iop_usb_sim_devnum(sd2), 3);
    iop_usb_engine_handle_events(e, 0); /* device descriptor */
    iop_usb_engine_handle_events(e, 0); /* GET_CONFIGURATION */
    CHECK_EQ(iop_usb_sim_ep_fail(sd2, 0x00, -EPIPE, 1), 0);
    iop_usb_sim_advance(e, 0);
    CHECK_EQ(iop_usb_dev_ref_by_addr(e, 1, 3, &dev), 0);
    CHECK_EQ(iop_usb_dev_num_configs(dev), 1);
    const uint8_t *cfg;
    size_t len;
    CHECK_EQ(iop_usb_dev_config(dev, 0, &cfg, &len), -ENODATA);
    CHECK_EQ(iop_usb_dev_vid(dev), 0x1234);
    iop_usb_dev_unref(dev);
    iop_usb_engine_free(e);
}

/* ---- Registry ---- */

static void test_lookup_refs(void) {
    struct iop_usb_engine *e = manual_engine();
    struct events ev = { 0 };
    struct iop_usb_sim_dev *sd[3];
    static const uint16_t buses[3] = { 2, 1, 2 };
    for (int i = 0; i < 3; i++) {
        struct iop_usb_sim_device spec = fx_spec(IOP_USB_SPEED_HIGH);
        spec.busnum = buses[i];
        spec.port_path[0] = (uint8_t)(i + 1);
        CHECK_EQ(iop_usb_sim_plug(e, &spec, &sd[i]), 0);
    }
    iop_usb_sim_advance(e, 0);
    /* Late registration with enumerate: told about the three present. */
    CHECK_EQ(iop_usb_engine_add_hotplug(e, on_hotplug, &ev, true), 0);
    CHECK_EQ(ev.adds, 3);

    /* lsusb order: 1-2, 2-2, 2-3. */
    struct iop_usb_dev *d;
    uint16_t bus = 0;
    uint8_t num = 0;
    char order[32] = "";
    while (iop_usb_dev_ref_next(e, bus, num, &d) == 0) {
        bus = iop_usb_dev_info(d)->busnum;
        num = iop_usb_dev_info(d)->devnum;
        snprintf(order + strlen(order), sizeof(order) - strlen(order), "%u-%u ", bus, num);
        iop_usb_dev_unref(d);
    }
    CHECK_STREQ(order, "1-2 2-2 2-3 ");

    uint8_t path[1] = { 3 };
    CHECK_EQ(iop_usb_dev_ref_by_path(e, 2, path, 1, &d), 0);
    CHECK_EQ(iop_usb_dev_info(d)->devnum, 3);
    iop_usb_dev_unref(d);
    CHECK_EQ(iop_usb_dev_ref_by_path(e, 1, path, 1, &d), -ENODEV);
    CHECK_EQ(iop_usb_dev_ref_by_path(e, 1, path, 99, &d), -EINVAL);

    /* tty_unregister_ldisc: in use -> -EBUSY; the reference's holder keeps a valid
     * handle; after the last user returns it, unregister works. */
    struct iop_usb_dev *held;
    CHECK_EQ(iop_usb_dev_ref_by_addr(e, 2, 2, &held), 0);
    iop_usb_dev_set_drained(held, on_drained, &ev);
    CHECK_EQ(iop_usb_dev_unregister(e, 2, 2), -EBUSY);
    CHECK_EQ(ev.removes, 0);
    iop_usb_dev_unref(held);
    CHECK_EQ(ev.drained, 0); /* the registry still holds it */
    CHECK_EQ(iop_usb_dev_unregister(e, 2, 2), 0);
    CHECK_EQ(ev.removes, 1);
    CHECK_EQ(ev.drained, 1); /* nobody else held it: freed at once */
    CHECK_EQ(iop_usb_dev_ref_by_addr(e, 2, 2, &d), -ENODEV);
    CHECK_EQ(iop_usb_dev_unregister(e, 2, 2), -ENODEV);

    /* An URB in flight is a use as well. */
    CHECK_EQ(iop_usb_dev_ref_by_addr(e, 1, 2, &held), 0);
    CHECK_EQ(iop_usb_dev_claim_interface(held, 0), 0);
    struct fixture f = { .e = e, .sd = sd[1], .dev = held };
    uint8_t buf[8];
    struct rec r = { 0 };
    struct iop_urb *urb = fx_urb(&f, IOP_XFER_BULK, 0x81, buf, sizeof(buf), &r);
    CHECK_EQ(iop_urb_submit(urb), 0);
    iop_usb_dev_unref(held); /* the URB holds a reference now */
    CHECK_EQ(iop_usb_dev_unregister(e, 1, 2), -EBUSY);
    CHECK_EQ(iop_urb_kill(urb), 0);
    CHECK_EQ(iop_usb_dev_unregister(e, 1, 2), 0); /* and freed: urb->dev dangles now */
    iop_urb_free(urb);
    CHECK_EQ(ev.removes, 2);
    CHECK_EQ(iop_usb_engine_remove_hotplug(e, on_hotplug, &ev), 0);
    CHECK_EQ(iop_usb_engine_remove_hotplug(e, on_hotplug, &ev), -ENOENT);
    iop_usb_engine_free(e);
    CHECK_EQ(ev.removes, 2); /* removed before shutdown: not told */
}

/* ---- Hot-unplug ---- */

static struct events unplug_ev;
static int unplug_submit_result;
static struct iop_usb_dev *unplug_dev;
static void unplug_hangup(void *data, struct iop_usb_dev *dev) {
    on_hangup(data, dev);
}

struct inflight {
    int calls, status;
};
static void inflight_done(struct iop_urb *urb) {
    struct inflight *c = urb->context;
    c->calls++;
    c->status = urb->status;
    /* A handler that tries again gets -ENODEV. */
    unplug_submit_result = iop_urb_submit(urb);
}

static void test_unplug_inflight(void) {
    struct fixture f;
    fx_up(&f, IOP_USB_SPEED_HIGH, true);
    memset(&unplug_ev, 0, sizeof(unplug_ev));
    CHECK_EQ(iop_usb_engine_add_hotplug(f.e, on_hotplug, &unplug_ev, false), 0);
    CHECK_EQ(iop_usb_dev_add_hangup(f.dev, unplug_hangup, &unplug_ev), 0);
    CHECK_EQ(iop_usb_dev_add_hangup(f.dev, unplug_hangup, &unplug_ev), -EEXIST);
    iop_usb_dev_set_drained(f.dev, on_drained, &unplug_ev);
    unplug_dev = f.dev;

    enum { N = 6 };
    static const uint8_t eps[N] = { 0x81, 0x81, 0x01, 0x82, 0x04, 0x00 };
    static const int types[N] = { IOP_XFER_BULK, IOP_XFER_BULK, IOP_XFER_BULK, IOP_XFER_INT,
                                  IOP_XFER_INT, IOP_XFER_CONTROL };
    uint8_t buf[N][64], setup[8];
    struct inflight c[N] = { { 0, 0 } };
    struct iop_urb *urbs[N];
    for (int i = 0; i < N; i++) {
        urbs[i] = fx_urb(&f, types[i], eps[i], buf[i], 8, NULL);
        urbs[i]->complete = inflight_done;
        urbs[i]->context = &c[i];
        if (types[i] == IOP_XFER_CONTROL) {
            memcpy(setup, "\xc0\x01\x00\x00\x00\x00\x08\x00", 8); /* vendor IN, 8 bytes */
            urbs[i]->setup_packet = setup;
        }
    }
    /* Every endpoint NAKs; the control request waits because no pass runs before
     * the unplug. */
    for (int i = 0; i < N; i++)
        CHECK_EQ(iop_urb_submit(urbs[i]), 0);
    CHECK_EQ(f.dev->n_inflight, N);

    CHECK_EQ(iop_usb_sim_unplug(f.sd), 0);
    CHECK_EQ(iop_usb_sim_unplug(f.sd), -ENODEV);
    /* At once: gone, hung up, removed; lookups fail; submits fail. */
    CHECK(iop_usb_dev_is_gone(f.dev));
    CHECK_EQ(unplug_ev.hangups, 1);
    CHECK_EQ(unplug_ev.removes, 1);
    CHECK_EQ(unplug_ev.drained, 0); /* we and the URBs still hold it */
    struct iop_usb_dev *d;
    CHECK_EQ(iop_usb_dev_ref_by_addr(f.e, 1, 2, &d), -ENODEV);
    uint8_t nb[8];
    struct rec r = { 0 };
    struct iop_urb *late = fx_urb(&f, IOP_XFER_BULK, 0x81, nb, 8, &r);
    CHECK_EQ(iop_urb_submit(late), -ENODEV);
    CHECK_EQ(iop_usb_dev_claim_interface(f.dev, 0), -ENODEV);
    CHECK_EQ(iop_usb_dev_add_hangup(f.dev, unplug_hangup, &unplug_ev), -ENODEV);
    for (int i = 0; i < N; i++)
        CHECK_EQ(c[i].calls, 0); /* completions come from the backend, later */

    iop_usb_sim_advance(f.e, 0);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(c[i].calls, 1);
        CHECK_EQ(c[i].status, -ENODEV);
    }
    CHECK_EQ(unplug_submit_result, -ENODEV);
    iop_usb_sim_advance(f.e, 1000000);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(c[i].calls, 1); /* exactly once */
        iop_urb_free(urbs[i]);
    }
    iop_urb_free(late);
    CHECK_EQ(unplug_ev.hangups, 1);
    CHECK_EQ(unplug_ev.drained, 0);
    /* Our reference is the last: the free is deferred until it is returned. */
    f.dev = iop_usb_dev_unref(f.dev);
    CHECK_EQ(unplug_ev.drained, 1);
    /* Order: removed and hung up first, drained last. */
    CHECK_EQ(unplug_ev.order[unplug_ev.n - 1], 'D');
    fx_down(&f);
}

/* Unplugged from inside a completion handler (the device went away while the
 * driver was processing data): the rest complete once with -ENODEV. */
static struct iop_usb_sim_dev *self_unplug_sd;
static void unplug_in_handler(struct iop_urb *urb) {
    struct rec *r = urb->context;
    r->calls++;
    r->status = urb->status;
    CHECK_EQ(iop_usb_sim_unplug(self_unplug_sd), 0);
}

static void test_unplug_from_handler(void) {
    struct fixture f;
    fx_up(&f, IOP_USB_SPEED_HIGH, true);
    self_unplug_sd = f.sd;
    uint8_t b1[8], b2[8];
    struct rec r1 = { 0 }, r2 = { 0 };
    iop_usb_sim_ep_set(f.sd, 0x01, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_CANNED });
    struct iop_urb *u1 = fx_urb(&f, IOP_XFER_BULK, 0x01, b1, 8, &r1);
    struct iop_urb *u2 = fx_urb(&f, IOP_XFER_BULK, 0x81, b2, 8, &r2);
    u1->complete = unplug_in_handler;
    CHECK_EQ(iop_urb_submit(u2), 0);
    CHECK_EQ(iop_urb_submit(u1), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(r1.calls, 1);
    CHECK_EQ(r1.status, 0);
    CHECK_EQ(r2.calls, 1);
    CHECK_EQ(r2.status, -ENODEV);
    iop_urb_free(u1);
    iop_urb_free(u2);
    fx_down(&f);
}

/* ---- Shutdown ---- */

static void test_engine_free_inflight(void) {
    struct fixture f;
    fx_up(&f, IOP_USB_SPEED_HIGH, true);
    struct events ev = { 0 };
    CHECK_EQ(iop_usb_engine_add_hotplug(f.e, on_hotplug, &ev, false), 0);
    CHECK_EQ(iop_usb_dev_add_hangup(f.dev, on_hangup, &ev), 0);
    iop_usb_dev_set_drained(f.dev, on_drained, &ev);
    uint8_t buf[8];
    struct inflight c = { 0, 0 };
    struct rec dummy = { 0 };
    struct iop_urb *urb = fx_urb(&f, IOP_XFER_BULK, 0x81, buf, 8, &dummy);
    urb->complete = inflight_done;
    urb->context = &c;
    CHECK_EQ(iop_urb_submit(urb), 0);
    struct iop_usb_dev *dev = f.dev;
    f.e = iop_usb_engine_free(f.e);
    /* The host side went away: -ESHUTDOWN, hung up, removed; our handle survives. */
    CHECK_EQ(c.calls, 1);
    CHECK_EQ(c.status, -ESHUTDOWN);
    CHECK_EQ(ev.hangups, 1);
    CHECK_EQ(ev.removes, 1);
    CHECK_EQ(ev.drained, 0);
    CHECK(iop_usb_dev_is_gone(dev));
    CHECK_EQ(iop_usb_dev_vid(dev), 0x1234);
    CHECK_EQ(iop_urb_submit(urb), -ENODEV);
    CHECK_EQ(iop_usb_dev_claim_interface(dev, 0), -ENODEV);
    CHECK_EQ(iop_usb_dev_release_interface(dev, 0), 0);
    iop_urb_free(urb);
    f.dev = iop_usb_dev_unref(f.dev);
    CHECK_EQ(ev.drained, 1);
}

/* ---- Claiming ---- */

static void test_claim_detach(void) {
    struct iop_usb_engine *e = manual_engine();
    struct iop_usb_sim_device spec = fx_spec(IOP_USB_SPEED_HIGH);
    spec.driver_bound = 1u << 0; /* a kernel driver has interface 0 */
    struct iop_usb_sim_dev *sd;
    CHECK_EQ(iop_usb_sim_plug(e, &spec, &sd), 0);
    iop_usb_sim_advance(e, 0);
    struct iop_usb_dev *dev;
    CHECK_EQ(iop_usb_dev_ref_by_addr(e, 1, 2, &dev), 0);
    CHECK_EQ(iop_usb_dev_claim_interface(dev, 0), -EBUSY); /* not taken unless told */
    CHECK(!iop_usb_dev_claimed(dev));
    CHECK_EQ(iop_usb_dev_claim_interface(dev, 2), 0);
    CHECK(iop_usb_dev_claimed(dev));
    CHECK(iop_usb_dev_interface_claimed(dev, 2));
    CHECK(!iop_usb_dev_interface_claimed(dev, 0));
    CHECK_EQ(iop_usb_sim_detached(sd), 0);
    iop_usb_dev_set_detach_kernel_driver(dev, true);
    CHECK_EQ(iop_usb_dev_claim_interface(dev, 0), 0);
    CHECK_EQ(iop_usb_sim_detached(sd), 1u << 0);
    CHECK_EQ(iop_usb_dev_claim_interface(dev, 40), -EINVAL);
    CHECK_EQ(iop_usb_dev_release_interface(dev, 0), 0);
    CHECK_EQ(iop_usb_dev_release_interface(dev, 0), -ENOENT);
    iop_usb_dev_unref(dev);
    iop_usb_engine_free(e);
}

static int removed_self;
static struct iop_usb_engine *hp_engine;
static void remove_self(void *data, struct iop_usb_dev *dev, enum iop_usb_hotplug_event ev) {
    (void)dev;
    (void)ev;
    removed_self++;
    CHECK_EQ(iop_usb_engine_remove_hotplug(hp_engine, remove_self, data), 0);
}

static void test_hotplug_remove_in_callback(void) {
    struct iop_usb_engine *e = manual_engine();
    hp_engine = e;
    struct events ev = { 0 };
    CHECK_EQ(iop_usb_engine_add_hotplug(e, remove_self, NULL, false), 0);
    CHECK_EQ(iop_usb_engine_add_hotplug(e, on_hotplug, &ev, false), 0);
    struct iop_usb_sim_device spec = fx_spec(IOP_USB_SPEED_HIGH);
    struct iop_usb_sim_dev *sd;
    for (int i = 0; i < 2; i++)
        CHECK_EQ(iop_usb_sim_plug(e, &spec, &sd), 0);
    iop_usb_sim_advance(e, 0);
    CHECK_EQ(removed_self, 1); /* once, then gone */
    CHECK_EQ(ev.adds, 2);      /* the others still called */
    iop_usb_engine_free(e);
    CHECK_EQ(ev.removes, 2);
}

int main(void) {
    TEST(test_enumeration);
    TEST(test_unplug_while_enumerating);
    TEST(test_silent_device);
    TEST(test_descriptor_errors);
    TEST(test_lookup_refs);
    TEST(test_unplug_inflight);
    TEST(test_unplug_from_handler);
    TEST(test_engine_free_inflight);
    TEST(test_claim_detach);
    TEST(test_hotplug_remove_in_callback);
    return test_summary();
}
