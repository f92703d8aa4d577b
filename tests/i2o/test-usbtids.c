/* USB devices as I2O devices, on the simulated backend: LCT entries and events on
 * plug and unplug, descriptor groups, and the private USB transfer message through
 * I2OPASSTHRU finishing asynchronously (control, bulk loopback, stall, unclaimed,
 * cancel, unplug with the transfer in flight), TIDs kept across a reload. */
#include <errno.h>
#include <sys/ioctl.h>
#include <linux/i2o-dev.h>

#include "../usb/sim-fixture.h"
#include "lib/config/config.h"
#include "lib/ctl/ctl.h"
#include "lib/umem/umem-space.h"
#include "lib/i2o/iop.h"
#include "lib/i2o/msg.h"
#include "lib/i2o/usbtids.h"
#include "lib/params/params-std.h"
#include "lib/params/params.h"
#include "lib/util/log.h"

static struct iop_system *sys;
static struct iop_ctl *ctl;
static struct iop_ctl_file *file;
static struct iop_usb_engine *eng;
static struct iop_usb_tids *tids;
static struct iop_usb_sim_dev *sd;
static unsigned buses_seen;

static void bus_seen(void *ctx, unsigned bus) {
    (void)ctx;
    buses_seen |= 1u << bus;
}

static struct iop_system *new_system(void) {
    struct iop_config *cfg;
    struct iop_system *s = NULL;
    CHECK_EQ(iop_config_parse(iop_config_default_json, strlen(iop_config_default_json), "t", &cfg, NULL), 0);
    CHECK_EQ(iop_system_new_from_config(cfg, &s), 0);
    iop_config_free(cfg);
    return s;
}

static void setup(void) {
    sys = new_system();
    CHECK_EQ(iop_ctl_new(sys, &ctl), 0);
    CHECK_EQ(iop_ctl_open(ctl, &file), 0);
    static const struct iop_usb_sim_config manual = { .manual_clock = true };
    CHECK_EQ(iop_usb_engine_new(NULL, &iop_usb_backend_sim, &manual, &eng), 0);
    struct iop_usb_policy pol = { .n_claim = 1, .claim = { { .vid = 0x1234, .any_pid = true } } };
    struct iop_usb_tids_hooks hooks = { .bus_seen = bus_seen };
    CHECK_EQ(iop_usb_tids_new(eng, &pol, &hooks, &tids), 0);
    CHECK_EQ(iop_usb_tids_attach(tids, sys), 0);
    CHECK_EQ(iop_usb_engine_start(eng), 0);
}

static long ioc(unsigned cmd, void *arg, struct iop_umem_space *u, struct iop_ctl_async *a) {
    return iop_ctl_ioctl(ctl, file, cmd, (uintptr_t)arg, 0, &u->um, a);
}

static void test_plug(void) {
    struct iop_umem_space u;
    struct i2o_evt_id id = { .iop = 0, .tid = 0, .evt_mask = I2O_EVT_IND_EXEC_NEW_LCT_ENTRY | I2O_EVT_IND_EXEC_MODIFIED_LCT };
    struct i2o_evt_id id2 = { .iop = 0, .tid = 0x00c, .evt_mask = I2O_EVT_IND_STATE_CHANGE };
    iop_umem_space_init(&u);
    iop_umem_space_map_self(&u, &id, sizeof(id), false);
    iop_umem_space_map_self(&u, &id2, sizeof(id2), false);
    CHECK_EQ(ioc(I2OEVTREG, &id, &u, NULL), 0);
    CHECK_EQ(ioc(I2OEVTREG, &id2, &u, NULL), 0);

    struct iop_usb_sim_device spec = fx_spec(IOP_USB_SPEED_HIGH);
    CHECK_EQ(iop_usb_sim_plug(eng, &spec, &sd), 0);
    iop_usb_sim_advance(eng, 0);
    CHECK_EQ(iop_usb_tids_count(tids), 1);
    CHECK_EQ(buses_seen, 1u << 1);
    struct iop_device *d = iop_controller_find_device(sys->iop[0], IOP_USB_FIRST_TID);
    CHECK(d != NULL);
    if (!d)
        return;
    CHECK_EQ(d->class_id, IOP_CLASS_USB_DEVICE);
    CHECK_EQ(d->parent_tid, 0x00c);
    CHECK_EQ(d->vendor_id, 0x1234);
    uint64_t v;
    CHECK_EQ(iop_params_get_uint(d->params, IOP_PARAMS_GROUP_USB_DEVICE, "idProduct", NULL, 0, &v), 0);
    CHECK_EQ(v, 0x5678);
    CHECK_EQ(iop_params_get_uint(d->params, IOP_PARAMS_GROUP_USB_DEVICE, "Claimed", NULL, 0, &v), 0);
    CHECK_EQ(v, 1);
    CHECK_EQ(iop_params_group_row_count(iop_params_find_group(d->params, IOP_PARAMS_GROUP_USB_ENDPOINTS)), 7);
    CHECK_EQ(iop_params_group_row_count(iop_params_find_group(d->params, IOP_PARAMS_GROUP_USB_INTERFACES)), 4);
    uint32_t key = 1u << 24 | 1u << 16 | 1u << 8 | 0x83; /* config 1, if 1, alt 1, ep 0x83 */
    CHECK_EQ(iop_params_get_uint(d->params, IOP_PARAMS_GROUP_USB_ENDPOINTS, "wMaxPacketSize", &key, 4, &v), 0);
    CHECK_EQ(v, 0x0c00);
    /* NEW_LCT_ENTRY on the executive and STATE_CHANGE (added) on the bus adapter. */
    struct i2o_evt_get g;
    iop_umem_space_map_self(&u, &g, sizeof(g), true);
    CHECK_EQ(ioc(I2OEVTGET, &g, &u, NULL), 0);
    CHECK_EQ(g.info.id.evt_mask, I2O_EVT_IND_EXEC_NEW_LCT_ENTRY);
    CHECK_EQ(iop_get_le32(g.info.evt_data), IOP_USB_FIRST_TID);
    CHECK_EQ(ioc(I2OEVTGET, &g, &u, NULL), 0);
    CHECK_EQ(g.info.id.tid, 0x00c);
    CHECK_EQ(g.info.id.evt_mask, I2O_EVT_IND_STATE_CHANGE);
    CHECK_EQ(iop_get_le32(g.info.evt_data + 4), 0);
}

/* The passthrough machinery of one request: frame, reply area, data buffer. */
struct xfer {
    uint32_t msg[40];
    uint8_t data[512];
    struct i2o_cmd_passthru pt;
    struct iop_umem_space u;
    struct iop_ctl_async async;
    int result, calls;
};

static void xfer_done(struct iop_ctl_async *a, int result) {
    struct xfer *x = (struct xfer *)((char *)a - offsetof(struct xfer, async));
    x->result = result;
    x->calls++;
}

/* A private USB message: ep (with 0x80 for IN), type, setup, data length. */
static void xfer_init(struct xfer *x, unsigned tid, unsigned ep, unsigned type, const uint8_t setup[8], uint32_t len,
                      bool in) {
    memset(x, 0, sizeof(*x));
    x->pt.iop = 0;
    x->pt.msg = x->msg;
    unsigned words = len ? 12 : 10;
    x->msg[0] = words << 16 | (len ? 10u << 4 : 0) | 0x01;
    x->msg[1] = (uint32_t)IOP_FN_PRIVATE << 24 | 1u << 12 | tid;
    x->msg[2] = 0x1111;
    x->msg[4] = IOP_USB_ORG_ID << 16 | IOP_USB_XFN_TRANSFER;
    x->msg[5] = ep | type << 8;
    x->msg[7] = 1; /* interval */
    if (setup) {
        memcpy(&x->msg[8], setup, 4);
        memcpy(&x->msg[9], setup + 4, 4);
    }
    if (len) {
        x->msg[10] = IOP_SGL_SIMPLE | IOP_SGL_LAST | (in ? 0 : IOP_SGL_DIR_TO_IOP) | len;
        x->msg[11] = 0x40000;
    }
    x->msg[words] = 16u << 16; /* reply area */
    iop_umem_space_init(&x->u);
    iop_umem_space_map_self(&x->u, &x->pt, sizeof(x->pt), false);
    iop_umem_space_map_self(&x->u, x->msg, sizeof(x->msg), true);
    iop_umem_space_map(&x->u, 0x40000, x->data, sizeof(x->data), true);
    x->async.done = xfer_done;
}

static uint32_t *xfer_reply(struct xfer *x) { return &x->msg[(x->msg[0] >> 16)]; }

static void test_control(void) {
    static struct xfer x;
    const uint8_t get_desc[8] = { 0x80, 6, 0, 1, 0, 0, 18, 0 };
    xfer_init(&x, IOP_USB_FIRST_TID, 0x80, IOP_XFER_CONTROL, get_desc, 18, true);
    CHECK_EQ(ioc(I2OPASSTHRU, &x.pt, &x.u, &x.async), IOP_CTL_PENDING);
    CHECK_EQ(x.calls, 0);
    iop_usb_sim_advance(eng, 1000);
    CHECK_EQ(x.calls, 1);
    CHECK_EQ(x.result, 0);
    CHECK_MEMEQ(x.data, fx_device_desc, 18);
    uint32_t *r = xfer_reply(&x);
    CHECK_EQ(r[4] >> 24, 0);
    CHECK_EQ(r[5], 18);          /* actual_length */
    CHECK_EQ((int32_t)r[6], 0);  /* URB status */
    CHECK_EQ(r[2], 0x1111);      /* initiator context */
    /* Without an async context nothing can wait: refused at once. */
    xfer_init(&x, IOP_USB_FIRST_TID, 0x80, IOP_XFER_CONTROL, get_desc, 18, true);
    CHECK_EQ(ioc(I2OPASSTHRU, &x.pt, &x.u, NULL), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
}

static void test_bulk_loopback(void) {
    struct iop_usb_sim_ep_config lb = { .mode = IOP_USB_SIM_LOOPBACK, .partner = 0x81 };
    struct iop_usb_sim_ep_config lb_in = { .mode = IOP_USB_SIM_LOOPBACK, .partner = 0x01 };
    CHECK_EQ(iop_usb_sim_ep_set(sd, 0x01, &lb), 0);
    CHECK_EQ(iop_usb_sim_ep_set(sd, 0x81, &lb_in), 0);
    static struct xfer out, in;
    xfer_init(&out, IOP_USB_FIRST_TID, 0x01, IOP_XFER_BULK, NULL, 300, false);
    for (int i = 0; i < 300; i++)
        out.data[i] = (uint8_t)(i ^ 0x5a);
    CHECK_EQ(ioc(I2OPASSTHRU, &out.pt, &out.u, &out.async), IOP_CTL_PENDING);
    xfer_init(&in, IOP_USB_FIRST_TID, 0x81, IOP_XFER_BULK, NULL, 512, true);
    CHECK_EQ(ioc(I2OPASSTHRU, &in.pt, &in.u, &in.async), IOP_CTL_PENDING);
    iop_usb_sim_advance(eng, 1000);
    CHECK_EQ(out.calls, 1);
    CHECK_EQ(out.result, 0);
    CHECK_EQ(in.calls, 1);
    CHECK_EQ(in.result, 0);
    CHECK_EQ(xfer_reply(&in)[5], 300);
    CHECK_MEMEQ(in.data, out.data, 300);
}

static void test_errors(void) {
    static struct xfer x;
    /* A stalled endpoint: the URB fails with -EPIPE; the ioctl result is the ReqStatus. */
    CHECK_EQ(iop_usb_sim_ep_halt(sd, 0x81, true), 0);
    xfer_init(&x, IOP_USB_FIRST_TID, 0x81, IOP_XFER_BULK, NULL, 64, true);
    CHECK_EQ(ioc(I2OPASSTHRU, &x.pt, &x.u, &x.async), IOP_CTL_PENDING);
    iop_usb_sim_advance(eng, 1000);
    CHECK_EQ(x.result, IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ((int32_t)xfer_reply(&x)[6], -EPIPE);
    CHECK_EQ(iop_usb_sim_ep_halt(sd, 0x81, false), 0);
    /* An endpoint the device does not have: refused at submit, at once. */
    xfer_init(&x, IOP_USB_FIRST_TID, 0x8e, IOP_XFER_BULK, NULL, 64, true);
    CHECK_EQ(ioc(I2OPASSTHRU, &x.pt, &x.u, &x.async), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ((int32_t)xfer_reply(&x)[6], -ENOENT);
    /* An IN endpoint with a host-to-IOP buffer. */
    xfer_init(&x, IOP_USB_FIRST_TID, 0x81, IOP_XFER_BULK, NULL, 64, false);
    CHECK_EQ(ioc(I2OPASSTHRU, &x.pt, &x.u, &x.async), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    /* Wrong organization / function. */
    xfer_init(&x, IOP_USB_FIRST_TID, 0x81, IOP_XFER_BULK, NULL, 64, true);
    x.msg[4] = 0x12340001;
    CHECK_EQ(ioc(I2OPASSTHRU, &x.pt, &x.u, &x.async), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ(xfer_reply(&x)[4] & 0xFFFF, IOP_DSC_UNSUPPORTED_FUNCTION);
    /* UtilNOP to a USB TID is the IOP's, as for any device. */
    xfer_init(&x, IOP_USB_FIRST_TID, 0, 0, NULL, 0, true);
    x.msg[0] = 4u << 16 | 0x01;
    x.msg[1] = (uint32_t)IOP_FN_UTIL_NOP << 24 | 1u << 12 | IOP_USB_FIRST_TID;
    x.msg[4] = 8u << 16;
    CHECK_EQ(ioc(I2OPASSTHRU, &x.pt, &x.u, &x.async), 0);
}

static uint64_t current_alt(uint8_t ifnum, uint8_t alt) {
    struct iop_device *d = iop_controller_find_device(sys->iop[0], IOP_USB_FIRST_TID);
    uint32_t key = 1u << 16 | (uint32_t)ifnum << 8 | alt;
    uint64_t v = 99;
    if (d)
        CHECK_EQ(iop_params_get_uint(d->params, IOP_PARAMS_GROUP_USB_INTERFACES, "Current", &key, 4, &v), 0);
    return v;
}

/* A control request without data through the passthrough, run to completion: the
 * ioctl's result. */
static int passthru_control(const uint8_t setup[8]) {
    static struct xfer x;
    xfer_init(&x, IOP_USB_FIRST_TID, 0x00, IOP_XFER_CONTROL, setup, 0, false);
    int r = (int)ioc(I2OPASSTHRU, &x.pt, &x.u, &x.async);
    if (r != IOP_CTL_PENDING)
        return r;
    iop_usb_sim_advance(eng, 1000);
    CHECK_EQ(x.calls, 1);
    return x.result;
}

/* SET_INTERFACE through the passthrough, then isochronous OUT on the streaming
 * altsetting with per-packet results; SET_CONFIGURATION puts altsetting 0 back and
 * the policy claims the interfaces again. */
static void test_altsetting_iso(void) {
    static struct xfer x;
    CHECK_EQ(current_alt(1, 0), 1);
    CHECK_EQ(current_alt(1, 1), 0);
    const uint8_t set_alt[8] = { 0x01, 0x0b, 1, 0, 1, 0, 0, 0 };
    CHECK_EQ(passthru_control(set_alt), 0);
    CHECK_EQ(current_alt(1, 0), 0);
    CHECK_EQ(current_alt(1, 1), 1);

    /* ISO OUT 0x03: 2 packets of 256 bytes, interval 8 microframes, ISO ASAP. */
    xfer_init(&x, IOP_USB_FIRST_TID, 0x03, IOP_XFER_ISOC, NULL, 512, false);
    x.msg[0] = 14u << 16 | 12u << 4 | 0x01;
    x.msg[5] |= IOP_URB_ISO_ASAP << 16;
    x.msg[7] = 8 | 2u << 16;
    x.msg[10] = 256;
    x.msg[11] = 256;
    x.msg[12] = IOP_SGL_SIMPLE | IOP_SGL_LAST | IOP_SGL_DIR_TO_IOP | 512;
    x.msg[13] = 0x40000;
    x.msg[14] = 16u << 16;
    CHECK_EQ(ioc(I2OPASSTHRU, &x.pt, &x.u, &x.async), IOP_CTL_PENDING);
    iop_usb_sim_advance(eng, 10000);
    CHECK_EQ(x.calls, 1);
    CHECK_EQ(x.result, 0);
    uint32_t *r = &x.msg[14];
    CHECK_EQ(r[5], 512);         /* actual_length */
    CHECK_EQ((int32_t)r[6], 0);
    CHECK_EQ(r[8], 0);           /* error_count */
    CHECK_EQ(r[9], 256);         /* packet 0: actual_length, status */
    CHECK_EQ((int32_t)r[10], 0);
    CHECK_EQ(r[11], 256);
    CHECK_EQ((int32_t)r[12], 0);

    /* 8 packets: more than fit before the SGL, their lengths in a second element. */
    static uint8_t lengths[32];
    for (int i = 0; i < 8; i++)
        iop_put_le32(lengths + 4 * i, 64);
    xfer_init(&x, IOP_USB_FIRST_TID, 0x03, IOP_XFER_ISOC, NULL, 512, false);
    x.msg[0] = 14u << 16 | 10u << 4 | 0x01;
    x.msg[5] |= IOP_URB_ISO_ASAP << 16;
    x.msg[7] = 8 | 8u << 16;
    x.msg[10] = IOP_SGL_SIMPLE | IOP_SGL_DIR_TO_IOP | 512;
    x.msg[11] = 0x40000;
    x.msg[12] = IOP_SGL_SIMPLE | IOP_SGL_LAST | IOP_SGL_DIR_TO_IOP | 32;
    x.msg[13] = 0x50000;
    x.msg[14] = 26u << 16; /* 9 + 2 x 8 words, within x.msg */
    iop_umem_space_map(&x.u, 0x50000, lengths, sizeof(lengths), false);
    CHECK_EQ(ioc(I2OPASSTHRU, &x.pt, &x.u, &x.async), IOP_CTL_PENDING);
    iop_usb_sim_advance(eng, 20000);
    CHECK_EQ(x.result, 0);
    CHECK_EQ(r[5], 512);
    for (int i = 0; i < 8; i++) {
        CHECK_EQ(r[9 + 2 * i], 64);
        CHECK_EQ((int32_t)r[10 + 2 * i], 0);
    }
    /* A table of the wrong size: refused. */
    x.msg[12] = IOP_SGL_SIMPLE | IOP_SGL_LAST | IOP_SGL_DIR_TO_IOP | 28;
    CHECK_EQ(ioc(I2OPASSTHRU, &x.pt, &x.u, &x.async), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ(r[4] & 0xFFFF, IOP_DSC_MESSAGE_TOO_SMALL);

    const uint8_t set_cfg[8] = { 0x00, 0x09, 1, 0, 0, 0, 0, 0 };
    CHECK_EQ(passthru_control(set_cfg), 0);
    CHECK_EQ(current_alt(1, 0), 1);
    CHECK_EQ(current_alt(1, 1), 0);
    struct iop_device *d = iop_controller_find_device(sys->iop[0], IOP_USB_FIRST_TID);
    uint64_t v = 0;
    CHECK(d && iop_params_get_uint(d->params, IOP_PARAMS_GROUP_USB_DEVICE, "Claimed", NULL, 0, &v) == 0);
    CHECK_EQ(v, 1);
    /* An altsetting the device does not have: refused, as usb_set_interface() does. */
    const uint8_t bad_alt[8] = { 0x01, 0x0b, 5, 0, 1, 0, 0, 0 };
    CHECK_EQ(passthru_control(bad_alt), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
}

static void test_cancel_and_unplug(void) {
    static struct xfer x, y;
    /* Interrupt IN with nothing to say: waits; a cancel (FUSE interrupt) ends it. */
    xfer_init(&x, IOP_USB_FIRST_TID, 0x82, IOP_XFER_INT, NULL, 8, true);
    CHECK_EQ(ioc(I2OPASSTHRU, &x.pt, &x.u, &x.async), IOP_CTL_PENDING);
    iop_usb_sim_advance(eng, 5000);
    CHECK_EQ(x.calls, 0);
    iop_ctl_cancel(&x.async);
    iop_usb_sim_advance(eng, 1000);
    CHECK_EQ(x.calls, 1);
    CHECK_EQ((int32_t)xfer_reply(&x)[6], -ENOENT); /* discarded, as usbfs does */
    /* Unplugged with a transfer in flight: it completes once with -ENODEV, the entry
     * goes, and the executive says the LCT changed. */
    xfer_init(&y, IOP_USB_FIRST_TID, 0x82, IOP_XFER_INT, NULL, 8, true);
    CHECK_EQ(ioc(I2OPASSTHRU, &y.pt, &y.u, &y.async), IOP_CTL_PENDING);
    CHECK_EQ(iop_usb_sim_unplug(sd), 0);
    iop_usb_sim_advance(eng, 1000);
    CHECK_EQ(y.calls, 1);
    CHECK_EQ((int32_t)xfer_reply(&y)[6], -ENODEV);
    CHECK(iop_controller_find_device(sys->iop[0], IOP_USB_FIRST_TID) == NULL);
    CHECK_EQ(iop_usb_tids_count(tids), 0);
    struct iop_umem_space u;
    struct i2o_evt_get g;
    iop_umem_space_init(&u);
    iop_umem_space_map_self(&u, &g, sizeof(g), true);
    bool modified = false, removed = false;
    while (ioc(I2OEVTGET, &g, &u, NULL) == 0) {
        modified |= g.info.id.evt_mask == I2O_EVT_IND_EXEC_MODIFIED_LCT;
        removed |= g.info.id.evt_mask == I2O_EVT_IND_STATE_CHANGE && iop_get_le32(g.info.evt_data + 4) == 0x10;
    }
    CHECK(modified);
    CHECK(removed);
}

/* After a reload the devices come back with the same TIDs in the new system. */
static void test_reload(void) {
    struct iop_usb_sim_device spec = fx_spec(IOP_USB_SPEED_HIGH);
    CHECK_EQ(iop_usb_sim_plug(eng, &spec, &sd), 0);
    iop_usb_sim_advance(eng, 0);
    CHECK(iop_controller_find_device(sys->iop[0], IOP_USB_FIRST_TID) != NULL);
    struct iop_system *next = new_system();
    CHECK_EQ(iop_usb_tids_attach(tids, next), 0);
    iop_ctl_set_system(ctl, next);
    iop_system_free(sys);
    sys = next;
    CHECK(iop_controller_find_device(sys->iop[0], IOP_USB_FIRST_TID) != NULL);
    static struct xfer x;
    const uint8_t get_desc[8] = { 0x80, 6, 0, 1, 0, 0, 18, 0 };
    xfer_init(&x, IOP_USB_FIRST_TID, 0x80, IOP_XFER_CONTROL, get_desc, 18, true);
    CHECK_EQ(ioc(I2OPASSTHRU, &x.pt, &x.u, &x.async), IOP_CTL_PENDING);
    iop_usb_sim_advance(eng, 1000);
    CHECK_EQ(x.result, 0);
}

static void check_names(uint16_t tid, const char *vendor, const char *product, const char *mfr_full,
                        const char *serial) {
    struct iop_device *d = iop_controller_find_device(sys->iop[0], tid);
    CHECK(d != NULL);
    if (!d)
        return;
    char buf[400];
    CHECK(iop_params_get_string(d->params, IOP_PARAMS_GROUP_DEV_IDENTITY, "VendorInfo", NULL, 0, buf, sizeof(buf)) >= 0);
    CHECK_STREQ(buf, vendor);
    CHECK(iop_params_get_string(d->params, IOP_PARAMS_GROUP_DEV_IDENTITY, "ProductInfo", NULL, 0, buf, sizeof(buf)) >= 0);
    CHECK_STREQ(buf, product);
    CHECK(iop_params_get_string(d->params, IOP_PARAMS_GROUP_USB_DEVICE, "Manufacturer", NULL, 0, buf, sizeof(buf)) >= 0);
    CHECK_STREQ(buf, mfr_full);
    CHECK(iop_params_get_string(d->params, IOP_PARAMS_GROUP_USB_DEVICE, "SerialNumber", NULL, 0, buf, sizeof(buf)) >= 0);
    CHECK_STREQ(buf, serial);
    uint8_t sn[256];
    CHECK(iop_params_get(d->params, IOP_PARAMS_GROUP_DEV_IDENTITY, "SerialNumber", NULL, 0, sn, sizeof(sn)) > 0);
    CHECK_EQ(sn[0], strlen(serial));
    CHECK(memcmp(sn + 1, serial, strlen(serial)) == 0);
}

/* Names: the device's strings in the identity group (cut between characters to I2O's
 * 16 bytes) and whole in the USB group; numbers when the device has none. */
static void test_names(void) {
    static const char *const strings[] = { "Lautsprecher 1 \xe2\x82\xac", "SrcSink", "0042" };
    static uint8_t desc[18];
    memcpy(desc, fx_device_desc, 18);
    desc[16] = 3;
    struct iop_usb_sim_device spec = fx_spec(IOP_USB_SPEED_HIGH);
    spec.device_descriptor = desc;
    spec.strings = strings;
    spec.n_strings = 3;
    spec.devnum = 20;
    struct iop_usb_sim_dev *named, *bare;
    CHECK_EQ(iop_usb_sim_plug(eng, &spec, &named), 0);
    iop_usb_sim_advance(eng, 0);
    /* "Lautsprecher 1 €" is 18 bytes: cut before the euro sign, whose 3 bytes would
     * straddle the 16th. */
    check_names(IOP_USB_FIRST_TID + 1, "Lautsprecher 1 ", "SrcSink", strings[0], "0042");
    spec = fx_spec(IOP_USB_SPEED_HIGH);
    spec.strings_stall = true;
    spec.devnum = 21;
    CHECK_EQ(iop_usb_sim_plug(eng, &spec, &bare), 0);
    iop_usb_sim_advance(eng, 0);
    check_names(IOP_USB_FIRST_TID + 2, "USB 1234", "1234:5678", "", "");
    iop_usb_sim_unplug(named);
    iop_usb_sim_unplug(bare);
    iop_usb_sim_advance(eng, 0);
}

/* Policy rules: by id (vvvv:pppp, vvvv:*) and by place (bus, port path). */
static void test_match(void) {
    struct iop_usb_dev_info info = { .busnum = 1, .devnum = 4, .port_depth = 2, .port_path = { 2, 4 } };
    struct iop_usb_match id = { .vid = 0x1d6b, .pid = 0x0104 }, any = { .vid = 0x1d6b, .any_pid = true };
    CHECK(iop_usb_match_device(&id, 0x1d6b, 0x0104, &info));
    CHECK(!iop_usb_match_device(&id, 0x1d6b, 0x0105, &info));
    CHECK(iop_usb_match_device(&any, 0x1d6b, 0x0105, &info));
    CHECK(!iop_usb_match_device(&any, 0x1d6c, 0x0105, &info));
    struct iop_usb_match place = { .by_port = true, .bus = 1, .depth = 2, .ports = { 2, 4 } };
    CHECK(iop_usb_match_device(&place, 0xffff, 0xffff, &info)); /* any device there */
    place.ports[1] = 3;
    CHECK(!iop_usb_match_device(&place, 0x1d6b, 0x0104, &info));
    place.ports[1] = 4;
    place.bus = 2;
    CHECK(!iop_usb_match_device(&place, 0x1d6b, 0x0104, &info));
    place.bus = 1;
    place.depth = 1; /* the hub at 1-2, not the device behind it */
    CHECK(!iop_usb_match_device(&place, 0x1d6b, 0x0104, &info));
    CHECK(!iop_usb_match_device(&place, 0x1d6b, 0x0104, NULL));
}

int main(void) {
    TEST(test_match);
    iop_log_set_max_level(LOG_WARNING);
    setup();
    TEST(test_plug);
    TEST(test_control);
    TEST(test_bulk_loopback);
    TEST(test_errors);
    TEST(test_altsetting_iso);
    TEST(test_cancel_and_unplug);
    TEST(test_reload);
    TEST(test_names);
    iop_usb_tids_free(tids); /* before the engine, whose hotplug list it is on */
    eng = iop_usb_engine_free(eng);
    iop_ctl_release(file);
    iop_ctl_free(ctl);
    iop_system_free(sys);
    return test_summary();
}
