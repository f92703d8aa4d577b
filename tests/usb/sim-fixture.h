/* A simulated test device and helpers shared by the lib/usb unit tests.
 *
 * Device 1234:5678, one configuration (value 1):
 *   interface 0: bulk OUT 0x01 (512), bulk IN 0x81 (512), interrupt IN 0x82 (8)
 *   interface 1: alt 0 ISO IN 0x83 with maxpacket 0 (zero bandwidth);
 *                alt 1 ISO IN 0x83 1024 x2 (high bandwidth), ISO OUT 0x03 256
 *   interface 2: interrupt OUT 0x04 (64)
 */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "lib/usb/backend-sim.h"
#include "lib/usb/backend.h"
#include "lib/usb/devices.h"
#include "lib/usb/engine.h"
#include "lib/usb/urb.h"
#include "lib/util/bytes.h"
#include "testutil.h"

static const uint8_t fx_device_desc[18] = {
    18, 1, 0x00, 0x02, 0xff, 0x00, 0x00, 64, 0x34, 0x12, 0x78, 0x56, 0x00, 0x01, 1, 2, 0, 1,
};

#define FX_CONFIG_LEN 94
static const uint8_t fx_config[FX_CONFIG_LEN] = {
    9, 2, FX_CONFIG_LEN, 0, 3, 1, 0, 0x80, 50,
    /* interface 0 */
    9, 4, 0, 0, 3, 0xff, 0, 0, 0,
    7, 5, 0x01, 0x02, 0x00, 0x02, 0,
    7, 5, 0x81, 0x02, 0x00, 0x02, 0,
    7, 5, 0x82, 0x03, 0x08, 0x00, 4,
    /* interface 1, alt 0: zero bandwidth */
    9, 4, 1, 0, 1, 0xff, 0, 0, 0,
    7, 5, 0x83, 0x01, 0x00, 0x00, 1,
    /* interface 1, alt 1 */
    9, 4, 1, 1, 2, 0xff, 0, 0, 0,
    7, 5, 0x83, 0x01, 0x00, 0x0c, 1, /* 0x0c00: 1024 bytes, 2 per microframe */
    7, 5, 0x03, 0x01, 0x00, 0x01, 1,
    /* interface 2 */
    9, 4, 2, 0, 1, 0xff, 0, 0, 0,
    7, 5, 0x04, 0x03, 0x40, 0x00, 1,
};

static const uint8_t *const fx_configs[] = { fx_config };
static const char *const fx_strings[] = { "iopd", "sim device" };

struct fixture {
    struct iop_usb_engine *e;
    struct iop_usb_sim_dev *sd;
    struct iop_usb_dev *dev; /* our reference */
};

static inline struct iop_usb_sim_device fx_spec(enum iop_usb_speed speed) {
    return (struct iop_usb_sim_device){
        .speed = speed,
        .device_descriptor = fx_device_desc,
        .configs = fx_configs,
        .n_configs = 1,
        .active_config = 1,
        .strings = fx_strings,
        .n_strings = 2,
        .port_depth = 1,
        .port_path = { 1 },
    };
}

/* An engine on the manual clock with the test device plugged, enumerated, referenced
 * and (when claim) interfaces 0-2 claimed. */
static inline void fx_up(struct fixture *f, enum iop_usb_speed speed, bool claim) {
    memset(f, 0, sizeof(*f));
    static const struct iop_usb_sim_config manual = { .manual_clock = true };
    CHECK_EQ(iop_usb_engine_new(NULL, &iop_usb_backend_sim, &manual, &f->e), 0);
    CHECK_EQ(iop_usb_engine_start(f->e), 0);
    struct iop_usb_sim_device spec = fx_spec(speed);
    CHECK_EQ(iop_usb_sim_plug(f->e, &spec, &f->sd), 0);
    iop_usb_sim_advance(f->e, 0);
    CHECK_EQ(iop_usb_dev_ref_by_addr(f->e, 1, 2, &f->dev), 0);
    if (claim && f->dev)
        for (uint8_t i = 0; i < 3; i++)
            CHECK_EQ(iop_usb_dev_claim_interface(f->dev, i), 0);
}

static inline void fx_down(struct fixture *f) {
    f->dev = iop_usb_dev_unref(f->dev);
    f->e = iop_usb_engine_free(f->e);
}

/* Completion bookkeeping: how often and how each URB completed. */
struct rec {
    int calls;
    int status;
    uint32_t actual;
    int resubmit;       /* resubmit from the handler this many more times */
    int resubmit_error; /* what the last resubmit returned */
};

static inline void rec_done(struct iop_urb *urb) {
    struct rec *r = urb->context;
    r->calls++;
    r->status = urb->status;
    r->actual = urb->actual_length;
    if (r->resubmit > 0) {
        r->resubmit--;
        r->resubmit_error = iop_urb_submit(urb);
    }
}

/* A non-control URB on the fixture device. */
static inline struct iop_urb *fx_urb(struct fixture *f, int xfer, uint8_t ep_addr, void *buf,
                                     uint32_t len, struct rec *r) {
    struct iop_urb *urb = NULL;
    CHECK_EQ(iop_urb_alloc(0, &urb), 0);
    if (!urb)
        return NULL;
    urb->dev = f->dev;
    urb->xfer = (uint8_t)xfer;
    urb->endpoint = ep_addr & 0x0f;
    urb->dir_in = (ep_addr & 0x80) != 0;
    urb->transfer_buffer = buf;
    urb->transfer_buffer_length = len;
    urb->complete = rec_done;
    urb->context = r;
    urb->interval = 1;
    return urb;
}

/* A control URB with its own setup packet storage in setup[8]. */
static inline struct iop_urb *fx_ctrl(struct fixture *f, uint8_t *setup, uint8_t type, uint8_t req,
                                      uint16_t value, uint16_t index, void *buf, uint16_t len,
                                      struct rec *r) {
    setup[0] = type;
    setup[1] = req;
    iop_put_le16(setup + 2, value);
    iop_put_le16(setup + 4, index);
    iop_put_le16(setup + 6, len);
    struct iop_urb *urb = fx_urb(f, IOP_XFER_CONTROL, 0, buf, len, r);
    if (urb)
        urb->setup_packet = setup;
    return urb;
}
