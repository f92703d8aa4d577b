/* The URB lifecycle on the simulated backend: submission checks and their errno,
 * interval rounding, unlink vs kill, -EPERM during kill, ISO frames, short reads,
 * zero packets, status mapping, completing exactly once, monitor hook order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/usb/internal.h"
#include "sim-fixture.h"

/* ---- Allocation and references ---- */

static int freed_handler_calls;
static void free_in_handler(struct iop_urb *urb) {
    freed_handler_calls++;
    CHECK_EQ(urb->status, 0);
    iop_urb_free(urb); /* the submitter's last reference, from the handler */
}

static void test_alloc_refs(void) {
    struct iop_urb *urb = NULL;
    CHECK_EQ(iop_urb_alloc(-1, &urb), -EINVAL);
    CHECK_EQ(iop_urb_alloc(IOP_URB_ISO_ALLOC_MAX + 1, &urb), -EFBIG);
    CHECK_EQ(iop_urb_alloc(IOP_URB_ISO_ALLOC_MAX, &urb), 0);
    CHECK_EQ(urb->priv->iso_alloc, IOP_URB_ISO_ALLOC_MAX);
    urb->iso_frame_desc[IOP_URB_ISO_ALLOC_MAX - 1].length = 1; /* the last one is ours */
    CHECK(iop_urb_get(urb) == urb);
    CHECK_EQ(urb->priv->refcount, 2);
    CHECK(iop_urb_free(urb) == NULL);
    CHECK_EQ(urb->priv->refcount, 1);
    iop_urb_free(urb);
    CHECK(iop_urb_free(NULL) == NULL);
    CHECK(iop_urb_get(NULL) == NULL);

    /* Freeing a submitted URB drops only the caller's reference (usb_free_urb). */
    struct fixture f;
    fx_up(&f, IOP_USB_SPEED_HIGH, true);
    uint8_t buf[16];
    struct rec r = { 0 };
    urb = fx_urb(&f, IOP_XFER_BULK, 0x01, buf, sizeof(buf), &r);
    iop_usb_sim_ep_set(f.sd, 0x01, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_CANNED });
    CHECK_EQ(iop_urb_submit(urb), 0);
    CHECK_EQ(urb->priv->refcount, 2);
    iop_urb_free(urb);
    CHECK_EQ(urb->priv->refcount, 1); /* still alive: the engine's reference */
    CHECK_EQ(iop_usb_sim_advance(f.e, 0), 1);
    CHECK_EQ(r.calls, 1); /* and the memory is gone now: ASan checks */

    /* A handler may free its URB; the engine's reference keeps it valid until
     * giveback is done with it. */
    CHECK_EQ(iop_urb_alloc(0, &urb), 0);
    *urb = (struct iop_urb){ .dev = f.dev, .xfer = IOP_XFER_BULK, .endpoint = 1,
                             .transfer_buffer = buf, .transfer_buffer_length = 4,
                             .complete = free_in_handler, .priv = urb->priv };
    CHECK_EQ(iop_urb_submit(urb), 0);
    CHECK_EQ(iop_usb_sim_advance(f.e, 0), 1);
    CHECK_EQ(freed_handler_calls, 1);
    fx_down(&f);
}

/* ---- Submission checks ---- */

static void test_submit_errors(void) {
    struct fixture f;
    fx_up(&f, IOP_USB_SPEED_HIGH, false);
    uint8_t buf[4096], setup[8];
    struct rec r = { 0 };

    CHECK_EQ(iop_urb_submit(NULL), -EINVAL);
    struct iop_urb *urb = fx_urb(&f, IOP_XFER_BULK, 0x81, buf, 512, &r);
    urb->complete = NULL;
    CHECK_EQ(iop_urb_submit(urb), -EINVAL); /* no handler */
    urb->complete = rec_done;
    urb->xfer = 7;
    CHECK_EQ(iop_urb_submit(urb), -EINVAL); /* no such transfer type */
    urb->xfer = IOP_XFER_BULK;
    urb->transfer_buffer = NULL;
    CHECK_EQ(iop_urb_submit(urb), -EINVAL); /* a length without a buffer */
    urb->transfer_buffer = buf;
    urb->dev = NULL;
    CHECK_EQ(iop_urb_submit(urb), -ENODEV);
    urb->dev = f.dev;
    urb->endpoint = 5;
    CHECK_EQ(iop_urb_submit(urb), -ENOENT); /* no endpoint 5 */
    urb->endpoint = 200;
    CHECK_EQ(iop_urb_submit(urb), -ENOENT); /* hostile endpoint number */
    urb->endpoint = 2; /* 0x82 is interrupt */
    CHECK_EQ(iop_urb_submit(urb), -ENOEXEC);
    urb->endpoint = 1;
    CHECK_EQ(iop_urb_submit(urb), -EACCES); /* interface 0 not claimed */
    CHECK_EQ(iop_usb_dev_claim_interface(f.dev, 0), 0);
    CHECK(iop_usb_dev_claimed(f.dev));
    urb->transfer_buffer_length = IOP_URB_TRANSFER_MAX + 1;
    CHECK_EQ(iop_urb_submit(urb), -EMSGSIZE);
    urb->transfer_buffer_length = 512;
    CHECK_EQ(iop_urb_submit(urb), 0);
    CHECK_EQ(urb->status, -EINPROGRESS);
    CHECK_EQ(iop_urb_submit(urb), -EBUSY); /* kernel: already active */
    CHECK_EQ(iop_urb_kill(urb), 0);
    CHECK_EQ(r.calls, 1);
    CHECK_EQ(r.status, -ENOENT);
    iop_urb_free(urb);

    /* Control. */
    urb = fx_ctrl(&f, setup, 0x80, IOP_USB_REQ_GET_DESCRIPTOR, 0x0100, 0, buf, 18, &r);
    urb->setup_packet = NULL;
    CHECK_EQ(iop_urb_submit(urb), -ENOEXEC); /* control without setup */
    urb->setup_packet = setup;
    urb->transfer_buffer_length = 17;
    CHECK_EQ(iop_urb_submit(urb), -EBADR); /* wLength 18 != 17 */
    urb->transfer_buffer_length = 18;
    urb->xfer = IOP_XFER_BULK;
    CHECK_EQ(iop_urb_submit(urb), -ENOEXEC); /* endpoint 0 is a control endpoint */
    urb->xfer = IOP_XFER_CONTROL;
    setup[0] = 0xc0; /* vendor */
    CHECK_EQ(iop_usb_dev_release_interface(f.dev, 0), 0);
    CHECK(!iop_usb_dev_claimed(f.dev));
    CHECK_EQ(iop_urb_submit(urb), -EACCES); /* vendor request on an unclaimed device */
    CHECK_EQ(iop_usb_dev_claim_interface(f.dev, 2), 0);
    CHECK_EQ(iop_urb_submit(urb), 0); /* any claimed interface allows it */
    CHECK_EQ(iop_usb_sim_advance(f.e, 0), 1);
    CHECK_EQ(r.status, -EPIPE); /* no vendor handler: the device stalls */
    iop_urb_free(urb);

    /* ISO. */
    CHECK_EQ(iop_usb_dev_claim_interface(f.dev, 1), 0);
    CHECK_EQ(iop_urb_alloc(4, &urb), 0);
    urb->dev = f.dev;
    urb->xfer = IOP_XFER_ISOC;
    urb->endpoint = 3;
    urb->dir_in = true;
    urb->transfer_buffer = buf;
    urb->transfer_buffer_length = sizeof(buf);
    urb->complete = rec_done;
    urb->context = &r;
    urb->interval = 1;
    urb->transfer_flags = IOP_URB_ISO_ASAP;
    urb->number_of_packets = 4;
    for (int i = 0; i < 4; i++)
        urb->iso_frame_desc[i] = (struct iop_iso_packet_descriptor){ .offset = i * 1024u,
                                                                     .length = 1024 };
    CHECK_EQ(iop_urb_submit(urb), -EMSGSIZE); /* altsetting 0: maxpacket 0 */
    CHECK_EQ(iop_usb_dev_claim_interface(f.dev, 5), -ENOENT);
    uint8_t s2[8];
    struct rec r2 = { 0 };
    struct iop_urb *alt = fx_ctrl(&f, s2, 0x01, IOP_USB_REQ_SET_INTERFACE, 1, 1, NULL, 0, &r2);
    CHECK_EQ(iop_urb_submit(alt), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(r2.status, 0);
    iop_urb_free(alt);
    urb->number_of_packets = 0;
    CHECK_EQ(iop_urb_submit(urb), -EINVAL);
    urb->number_of_packets = 5; /* more than allocated */
    CHECK_EQ(iop_urb_submit(urb), -EINVAL);
    urb->number_of_packets = 4;
    urb->iso_frame_desc[3].length = 2049; /* 2 x 1024 per microframe */
    CHECK_EQ(iop_urb_submit(urb), -EMSGSIZE);
    urb->iso_frame_desc[3].length = 2048;
    urb->iso_frame_desc[3].offset = sizeof(buf) - 1000; /* runs past the buffer */
    CHECK_EQ(iop_urb_submit(urb), -EINVAL);
    urb->iso_frame_desc[3].offset = UINT32_MAX;
    CHECK_EQ(iop_urb_submit(urb), -EINVAL);
    urb->iso_frame_desc[3] = (struct iop_iso_packet_descriptor){ .offset = 3072, .length = 1024 };
    urb->interval = 0;
    CHECK_EQ(iop_urb_submit(urb), -EINVAL);
    urb->interval = 1;
    CHECK_EQ(iop_urb_submit(urb), 0);
    CHECK_EQ(iop_urb_kill(urb), 0);
    iop_urb_free(urb);

    /* -EFBIG: more packets than usbfs takes in one URB. */
    CHECK_EQ(iop_urb_alloc(IOP_URB_ISO_PACKETS_MAX + 1, &urb), 0);
    urb->dev = f.dev;
    urb->xfer = IOP_XFER_ISOC;
    urb->endpoint = 3;
    urb->dir_in = true;
    urb->complete = rec_done;
    urb->context = &r;
    urb->interval = 1;
    urb->number_of_packets = IOP_URB_ISO_PACKETS_MAX + 1; /* zero-length packets */
    CHECK_EQ(iop_urb_submit(urb), -EFBIG);
    urb->number_of_packets = IOP_URB_ISO_PACKETS_MAX;
    CHECK_EQ(iop_urb_submit(urb), 0);
    CHECK_EQ(iop_urb_kill(urb), 0);
    iop_urb_free(urb);

    /* -EAGAIN: too many ISO URBs queued on one endpoint. */
    struct iop_urb *q[IOP_URB_ISO_QUEUE_MAX + 1];
    struct rec rq = { 0 };
    for (int i = 0; i <= IOP_URB_ISO_QUEUE_MAX; i++) {
        CHECK_EQ(iop_urb_alloc(1, &q[i]), 0);
        q[i]->dev = f.dev;
        q[i]->xfer = IOP_XFER_ISOC;
        q[i]->endpoint = 3;
        q[i]->dir_in = true;
        q[i]->transfer_buffer = buf;
        q[i]->transfer_buffer_length = 8;
        q[i]->iso_frame_desc[0].length = 8;
        q[i]->number_of_packets = 1;
        q[i]->interval = 1;
        q[i]->transfer_flags = IOP_URB_ISO_ASAP;
        q[i]->complete = rec_done;
        q[i]->context = &rq;
        CHECK_EQ(iop_urb_submit(q[i]), i < IOP_URB_ISO_QUEUE_MAX ? 0 : -EAGAIN);
    }
    iop_usb_sim_advance(f.e, 100000);
    CHECK_EQ(rq.calls, IOP_URB_ISO_QUEUE_MAX);
    CHECK_EQ(iop_urb_submit(q[IOP_URB_ISO_QUEUE_MAX]), 0); /* room again */
    CHECK_EQ(iop_urb_kill(q[IOP_URB_ISO_QUEUE_MAX]), 0);
    for (int i = 0; i <= IOP_URB_ISO_QUEUE_MAX; i++)
        iop_urb_free(q[i]);
    fx_down(&f);
}

/* ---- Intervals ---- */

/* The claim list on endpoint 0 (the kernel's usbfs check_ctrlrecip() for interfaces
 * and endpoints; nothing but standard reads on a device iopd has not claimed). */
static void test_control_claims(void) {
    struct fixture f;
    fx_up(&f, IOP_USB_SPEED_HIGH, false);
    uint8_t setup[8], buf[18];
    struct rec r = { 0 };
    struct iop_urb *urb = fx_ctrl(&f, setup, 0x80, IOP_USB_REQ_GET_DESCRIPTOR, 0x0100, 0, buf, 18, &r);
    static const struct {
        uint8_t type, req;
        uint16_t value, index;
        int unclaimed, if0;
    } cases[] = {
        { 0x80, IOP_USB_REQ_GET_DESCRIPTOR, 0x0100, 0, 0, 0 },      /* reading the device: always */
        { 0x80, IOP_USB_REQ_GET_STATUS, 0, 0, 0, 0 },
        { 0x82, IOP_USB_REQ_GET_STATUS, 0, 0x80, 0, 0 },            /* endpoint 0 as recipient */
        { 0x00, IOP_USB_REQ_SET_ADDRESS, 9, 0, -EACCES, 0 },         /* changing it: claimed only */
        { 0x00, IOP_USB_REQ_SET_FEATURE, 1, 0, -EACCES, 0 },
        { 0x00, IOP_USB_REQ_SET_CONFIGURATION, 1, 0, -EACCES, 0 },
        { 0x02, IOP_USB_REQ_CLEAR_FEATURE, 0, 0x00, -EACCES, 0 },    /* endpoint 0, OUT */
        { 0x81, IOP_USB_REQ_GET_STATUS, 0, 0, -EACCES, 0 },          /* interface 0 */
        { 0x81, IOP_USB_REQ_GET_STATUS, 0, 1, -EACCES, -EACCES },    /* interface 1: never claimed */
        { 0x01, IOP_USB_REQ_SET_INTERFACE, 0, 0x0101, -EACCES, -EACCES },
        { 0x02, IOP_USB_REQ_CLEAR_FEATURE, 0, 0x81, -EACCES, 0 },    /* 0x81 is in interface 0 */
        { 0x82, IOP_USB_REQ_GET_STATUS, 0, 0x04, -EACCES, -EACCES }, /* 0x04 is in interface 2 */
        { 0x02, IOP_USB_REQ_CLEAR_FEATURE, 0, 0x0e, -EACCES, -EACCES }, /* no such endpoint */
        { 0xa1, 0x01, 0, 0, -EACCES, 0 },                             /* class, interface 0 */
        { 0xa1, 0x01, 0, 2, -EACCES, -EACCES },
        { 0xc0, 0x42, 0, 7, -EACCES, 0 },                             /* vendor: any claim */
    };
    for (unsigned claimed = 0; claimed < 2; claimed++) {
        if (claimed)
            CHECK_EQ(iop_usb_dev_claim_interface(f.dev, 0), 0);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            setup[0] = cases[i].type;
            setup[1] = cases[i].req;
            iop_put_le16(setup + 2, cases[i].value);
            iop_put_le16(setup + 4, cases[i].index);
            iop_put_le16(setup + 6, 0);
            urb->transfer_buffer_length = 0;
            int want = claimed ? cases[i].if0 : cases[i].unclaimed;
            int got = iop_urb_submit(urb);
            if (got != want)
                fprintf(stderr, "case %zu (claimed %u): %d, want %d\n", i, claimed, got, want);
            CHECK_EQ(got, want);
            if (got == 0)
                iop_usb_sim_advance(f.e, 0);
        }
    }
    iop_urb_free(urb);
    fx_down(&f);
}

static void test_interval_rounding(void) {
    static const struct {
        enum iop_usb_speed speed;
        int xfer, in, out;
    } cases[] = {
        { IOP_USB_SPEED_FULL, IOP_XFER_INT, 1, 1 },
        { IOP_USB_SPEED_FULL, IOP_XFER_INT, 3, 2 },
        { IOP_USB_SPEED_FULL, IOP_XFER_INT, 10, 8 },
        { IOP_USB_SPEED_FULL, IOP_XFER_INT, 200, 128 },
        { IOP_USB_SPEED_FULL, IOP_XFER_INT, 255, 128 },
        { IOP_USB_SPEED_FULL, IOP_XFER_INT, 256, -EINVAL },
        { IOP_USB_SPEED_LOW, IOP_XFER_INT, 10, 8 },
        { IOP_USB_SPEED_FULL, IOP_XFER_INT, 0, -EINVAL },
        { IOP_USB_SPEED_FULL, IOP_XFER_INT, -4, -EINVAL },
        { IOP_USB_SPEED_FULL, IOP_XFER_ISOC, 1, 1 },
        { IOP_USB_SPEED_FULL, IOP_XFER_ISOC, 1000, 512 },
        { IOP_USB_SPEED_FULL, IOP_XFER_ISOC, 1024, 1024 },
        { IOP_USB_SPEED_FULL, IOP_XFER_ISOC, 5000, 1024 }, /* clamped, not refused */
        { IOP_USB_SPEED_HIGH, IOP_XFER_INT, 7, 4 },
        { IOP_USB_SPEED_HIGH, IOP_XFER_INT, 8, 8 },
        { IOP_USB_SPEED_HIGH, IOP_XFER_INT, 300, 256 },
        { IOP_USB_SPEED_HIGH, IOP_XFER_INT, 100000, 8192 }, /* clamped to 1024 frames */
        { IOP_USB_SPEED_HIGH, IOP_XFER_ISOC, 3, 2 },
        { IOP_USB_SPEED_HIGH, IOP_XFER_ISOC, 9000, 8192 },
        { IOP_USB_SPEED_HIGH, IOP_XFER_ISOC, 0, -EINVAL },
        { IOP_USB_SPEED_SUPER, IOP_XFER_INT, 40000, -EINVAL },
        { IOP_USB_SPEED_SUPER, IOP_XFER_ISOC, 32768, 32768 },
        { IOP_USB_SPEED_SUPER, IOP_XFER_ISOC, 20000, 16384 },
        { IOP_USB_SPEED_UNKNOWN, IOP_XFER_INT, 8, -EINVAL },
        { IOP_USB_SPEED_FULL, IOP_XFER_BULK, 77, 77 }, /* not periodic: untouched */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = iop_urb_round_interval(cases[i].speed, cases[i].xfer, cases[i].in);
        if (got != cases[i].out)
            fprintf(stderr, "case %zu: speed %d xfer %d interval %d -> %d, want %d\n", i,
                    cases[i].speed, cases[i].xfer, cases[i].in, got, cases[i].out);
        CHECK_EQ(got, cases[i].out);
    }

    /* Through submit, on a full-speed and a high-speed device. */
    static const enum iop_usb_speed speeds[] = { IOP_USB_SPEED_FULL, IOP_USB_SPEED_HIGH };
    for (int s = 0; s < 2; s++) {
        struct fixture f;
        fx_up(&f, speeds[s], true);
        uint8_t buf[8];
        struct rec r = { 0 };
        struct iop_urb *urb = fx_urb(&f, IOP_XFER_INT, 0x82, buf, sizeof(buf), &r);
        urb->interval = 200;
        CHECK_EQ(iop_urb_submit(urb), 0);
        CHECK_EQ(urb->interval, 128);
        CHECK_EQ(iop_urb_kill(urb), 0);
        urb->interval = 300;
        CHECK_EQ(iop_urb_submit(urb), speeds[s] == IOP_USB_SPEED_FULL ? -EINVAL : 0);
        if (speeds[s] == IOP_USB_SPEED_HIGH) {
            CHECK_EQ(urb->interval, 256);
            CHECK_EQ(iop_urb_kill(urb), 0);
        }
        /* The interrupt endpoint is polled every interval: a pushed report arrives at
         * the first poll, interval units after submit. */
        urb->interval = 5;
        CHECK_EQ(iop_urb_submit(urb), 0);
        CHECK_EQ(urb->interval, 4);
        iop_usb_sim_ep_set(f.sd, 0x82, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_CANNED });
        CHECK_EQ(iop_usb_sim_ep_push(f.sd, 0x82, "\x01\x02", 2), 0);
        unsigned unit = speeds[s] == IOP_USB_SPEED_FULL ? 1000 : 125;
        CHECK_EQ(iop_usb_sim_advance(f.e, 4 * unit - 1), 0);
        CHECK_EQ(iop_usb_sim_advance(f.e, 1), 1);
        CHECK_EQ(r.status, 0);
        CHECK_EQ(r.actual, 2);
        iop_urb_free(urb);
        fx_down(&f);
    }
}

/* ---- Unlink, kill ---- */

static void test_unlink_vs_kill(void) {
    struct fixture f;
    fx_up(&f, IOP_USB_SPEED_HIGH, true);
    uint8_t a[64], b[64];
    struct rec ra = { 0 }, rb = { 0 };
    /* 0x81 NAKs (default): both wait. */
    struct iop_urb *ua = fx_urb(&f, IOP_XFER_BULK, 0x81, a, sizeof(a), &ra);
    struct iop_urb *ub = fx_urb(&f, IOP_XFER_BULK, 0x81, b, sizeof(b), &rb);
    CHECK_EQ(iop_urb_unlink(ua), -EIDRM); /* not submitted */
    CHECK_EQ(iop_urb_kill(ua), 0);        /* idle: returns at once */
    CHECK_EQ(ra.calls, 0);
    CHECK_EQ(iop_urb_submit(ua), 0);
    CHECK_EQ(iop_urb_submit(ub), 0);
    CHECK_EQ(iop_usb_sim_advance(f.e, 1000000), 0);
    CHECK_EQ(iop_urb_unlink(ua), 0);
    CHECK_EQ(ra.calls, 0); /* asynchronous: nothing completes inside unlink */
    CHECK_EQ(iop_urb_unlink(ua), -EBUSY);
    CHECK_EQ(iop_usb_sim_advance(f.e, 0), 1);
    CHECK_EQ(ra.calls, 1);
    CHECK_EQ(ra.status, -ECONNRESET);
    CHECK_EQ(iop_urb_unlink(ua), -EIDRM); /* given back */

    CHECK_EQ(iop_urb_kill(ub), 0); /* synchronous: done when it returns */
    CHECK_EQ(rb.calls, 1);
    CHECK_EQ(rb.status, -ENOENT);
    CHECK_EQ(ub->priv->use_count, 0);

    /* Kill after unlink: waits, keeps the unlink's status. */
    CHECK_EQ(iop_urb_submit(ua), 0);
    CHECK_EQ(iop_urb_unlink(ua), 0);
    CHECK_EQ(iop_urb_kill(ua), 0);
    CHECK_EQ(ra.calls, 2);
    CHECK_EQ(ra.status, -ECONNRESET);

    /* The unlink status wins even if the data arrived meanwhile. */
    iop_usb_sim_ep_set(f.sd, 0x81, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_SOURCE });
    CHECK_EQ(iop_urb_submit(ua), 0);
    CHECK_EQ(iop_urb_unlink(ua), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(ra.calls, 3);
    CHECK_EQ(ra.status, -ECONNRESET);
    iop_urb_free(ua);
    iop_urb_free(ub);
    fx_down(&f);
}

static struct iop_urb *self_kill_urb;
static int self_kill_result = 1;
static void kill_self(struct iop_urb *urb) {
    self_kill_result = iop_urb_kill(self_kill_urb);
    (void)urb;
}

static void test_kill_rejects_resubmit(void) {
    struct fixture f;
    fx_up(&f, IOP_USB_SPEED_HIGH, true);
    uint8_t buf[64];
    struct rec r = { .resubmit = 1000 };
    struct iop_urb *urb = fx_urb(&f, IOP_XFER_BULK, 0x81, buf, sizeof(buf), &r);
    iop_usb_sim_ep_set(f.sd, 0x81, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_SOURCE });
    CHECK_EQ(iop_urb_submit(urb), 0);
    /* Two rounds of resubmission from the handler (one pass each). */
    CHECK_EQ(iop_usb_engine_handle_events(f.e, 0), 0);
    CHECK_EQ(iop_usb_engine_handle_events(f.e, 0), 0);
    CHECK_EQ(r.calls, 2);
    CHECK_EQ(r.resubmit_error, 0);
    int before = r.calls;
    CHECK_EQ(iop_urb_kill(urb), 0);
    /* The handler ran once more (for the kill) and its resubmit was refused. */
    CHECK_EQ(r.calls, before + 1);
    CHECK_EQ(r.status, -ENOENT);
    CHECK_EQ(r.resubmit_error, -EPERM);
    CHECK_EQ(urb->priv->use_count, 0);
    CHECK_EQ(urb->priv->linked, false);
    /* The rejection ends with the kill: the URB is reusable. */
    r.resubmit = 0;
    CHECK_EQ(iop_urb_submit(urb), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(r.status, 0);
    CHECK_EQ(r.actual, sizeof(buf));

    /* Killing from a completion handler would re-enter the backend: refused. */
    struct rec r2 = { 0 };
    struct iop_urb *other = fx_urb(&f, IOP_XFER_BULK, 0x01, buf, 8, &r2);
    self_kill_urb = urb;
    other->complete = kill_self;
    iop_usb_sim_ep_set(f.sd, 0x81, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_NAK });
    iop_usb_sim_ep_set(f.sd, 0x01, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_CANNED });
    CHECK_EQ(iop_urb_submit(urb), 0);
    CHECK_EQ(iop_urb_submit(other), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(self_kill_result, -EDEADLK);
    CHECK_EQ(iop_urb_kill(urb), 0);
    iop_urb_free(other);
    iop_urb_free(urb);
    fx_down(&f);
}

/* ---- ISO ---- */

static void iso_setup(struct fixture *f) {
    uint8_t s[8];
    struct rec r = { 0 };
    struct iop_urb *alt = fx_ctrl(f, s, 0x01, IOP_USB_REQ_SET_INTERFACE, 1, 1, NULL, 0, &r);
    CHECK_EQ(iop_urb_submit(alt), 0);
    iop_usb_sim_advance(f->e, 0);
    CHECK_EQ(r.status, 0);
    iop_urb_free(alt);
}

static struct iop_urb *iso_urb(struct fixture *f, uint8_t ep_addr, uint8_t *buf, int packets,
                               uint32_t plen, struct rec *r) {
    struct iop_urb *urb = NULL;
    CHECK_EQ(iop_urb_alloc(packets, &urb), 0);
    urb->dev = f->dev;
    urb->xfer = IOP_XFER_ISOC;
    urb->endpoint = ep_addr & 0xf;
    urb->dir_in = ep_addr & 0x80;
    urb->transfer_buffer = buf;
    urb->transfer_buffer_length = (uint32_t)packets * plen;
    urb->number_of_packets = packets;
    urb->interval = 1;
    urb->transfer_flags = IOP_URB_ISO_ASAP;
    urb->complete = rec_done;
    urb->context = r;
    for (int i = 0; i < packets; i++)
        urb->iso_frame_desc[i] = (struct iop_iso_packet_descriptor){
            .offset = (uint32_t)i * plen, .length = plen, .actual_length = 77, .status = 77 };
    return urb;
}

static void test_iso(void) {
    struct fixture f;
    fx_up(&f, IOP_USB_SPEED_HIGH, true);
    iso_setup(&f);
    iop_usb_sim_ep_set(f.sd, 0x83, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_SOURCE,
                                                                    .iso_error_every = 3 });
    static uint8_t b1[8 * 1024], b2[8 * 1024];
    struct rec r1 = { 0 }, r2 = { 0 };
    struct iop_urb *u1 = iso_urb(&f, 0x83, b1, 8, 1024, &r1);
    struct iop_urb *u2 = iso_urb(&f, 0x83, b2, 8, 1024, &r2);
    u1->interval = 3; /* rounds to 2 microframes */
    u2->interval = 2;
    iop_usb_sim_advance(f.e, 1000); /* frame 8 */
    int cur = iop_usb_sim_frame(f.sd);
    CHECK_EQ(cur, 8);
    CHECK_EQ(iop_urb_submit(u1), 0);
    CHECK_EQ(u1->interval, 2);
    CHECK_EQ(u1->start_frame, cur + 1); /* ASAP: the next frame */
    for (int i = 0; i < 8; i++) { /* reset at submit, as usb_submit_urb does */
        CHECK_EQ(u1->iso_frame_desc[i].status, -EXDEV);
        CHECK_EQ(u1->iso_frame_desc[i].actual_length, 0);
    }
    CHECK_EQ(iop_urb_submit(u2), 0);
    CHECK_EQ(u2->start_frame, cur + 1 + 8 * 2); /* queued right behind u1 */
    /* u1 ends after frame cur+1+14; one microframe before that nothing is done. */
    CHECK_EQ(iop_usb_sim_advance(f.e, (uint64_t)(1 + 14) * 125), 0);
    CHECK_EQ(iop_usb_sim_advance(f.e, 125), 1);
    CHECK_EQ(r1.calls, 1);
    CHECK_EQ(r1.status, 0); /* packet errors do not fail an ISO URB */
    CHECK_EQ(u1->error_count, 2); /* packets 3 and 6 of the endpoint */
    CHECK_EQ(u1->iso_frame_desc[2].status, -EILSEQ);
    CHECK_EQ(u1->iso_frame_desc[5].status, -EILSEQ);
    CHECK_EQ(u1->iso_frame_desc[0].status, 0);
    CHECK_EQ(u1->iso_frame_desc[0].actual_length, 1024);
    CHECK_EQ(u1->iso_frame_desc[2].actual_length, 0);
    CHECK_EQ(u1->actual_length, 6 * 1024);
    CHECK_EQ(b1[1024 + 70], 70 % 63); /* pattern data in packet 1 */
    iop_usb_sim_advance(f.e, 16 * 125);
    CHECK_EQ(r2.calls, 1);
    CHECK_EQ(u2->error_count, 3); /* packets 9, 12, 15 */

    /* Zero-length packets and no buffer at all (found by the passthru fuzzer: the
     * simulated device computed a pointer from the NULL buffer). */
    struct rec r0 = { 0 };
    struct iop_urb *u0 = iso_urb(&f, 0x83, NULL, 2, 0, &r0);
    u0->transfer_buffer_length = 0;
    CHECK_EQ(iop_urb_submit(u0), 0);
    iop_usb_sim_advance(f.e, 8 * 125);
    CHECK_EQ(r0.calls, 1);
    CHECK_EQ(u0->iso_frame_desc[0].actual_length, 0);
    iop_urb_free(u0);

    /* Without ASAP on an idle endpoint the caller's start frame counts; frames that
     * have passed give -EXDEV per packet, all of them fail the submit. */
    cur = iop_usb_sim_frame(f.sd);
    u1->transfer_flags = 0;
    u1->interval = 1;
    u1->start_frame = cur - 20;
    CHECK_EQ(iop_urb_submit(u1), -EXDEV);
    u1->start_frame = cur - 2; /* frames cur-2 .. cur+5: the first three are late */
    CHECK_EQ(iop_urb_submit(u1), 0);
    CHECK_EQ(u1->start_frame, cur - 2);
    iop_usb_sim_advance(f.e, 10 * 125);
    CHECK_EQ(r1.calls, 2);
    CHECK_EQ(u1->iso_frame_desc[0].status, -EXDEV);
    CHECK_EQ(u1->iso_frame_desc[2].status, -EXDEV);
    CHECK(u1->iso_frame_desc[3].status != -EXDEV);
    CHECK(u1->error_count >= 3);
    u1->start_frame = cur + 100000; /* beyond the schedule */
    CHECK_EQ(iop_urb_submit(u1), -EFBIG);

    /* ISO OUT. */
    struct rec r3 = { 0 };
    static uint8_t b3[4 * 256];
    memset(b3, 0x5a, sizeof(b3));
    struct iop_urb *u3 = iso_urb(&f, 0x03, b3, 4, 256, &r3);
    iop_usb_sim_ep_set(f.sd, 0x03, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_SOURCE });
    CHECK_EQ(iop_urb_submit(u3), 0);
    iop_usb_sim_advance(f.e, 10 * 125);
    CHECK_EQ(r3.status, 0);
    CHECK_EQ(u3->actual_length, 1024);
    CHECK_EQ(u3->error_count, 0);
    struct iop_usb_sim_ep_stats st;
    CHECK_EQ(iop_usb_sim_ep_stats(f.sd, 0x03, &st), 0);
    CHECK_EQ(st.bytes, 1024);
    /* A caller scribbling on a submitted URB cannot make the engine walk past the
     * descriptors it allocated or miscount the endpoint's queue. */
    struct rec r4 = { 0 };
    struct iop_urb *u4 = iso_urb(&f, 0x83, b1, 4, 1024, &r4);
    CHECK_EQ(iop_urb_submit(u4), 0);
    CHECK_EQ(f.dev->iso_queued[3 + 16], 1);
    u4->number_of_packets = 100000;
    u4->dir_in = false;
    u4->xfer = IOP_XFER_BULK;
    iop_usb_sim_advance(f.e, 10 * 125);
    CHECK_EQ(r4.calls, 1);
    CHECK_EQ(u4->actual_length, 4 * 1024 - (uint32_t)u4->error_count * 1024);
    CHECK_EQ(f.dev->iso_queued[3 + 16], 0);
    iop_urb_free(u1);
    iop_urb_free(u2);
    iop_urb_free(u3);
    iop_urb_free(u4);
    fx_down(&f);
}

/* ---- Data rules ---- */

static void test_short_not_ok(void) {
    struct fixture f;
    fx_up(&f, IOP_USB_SPEED_HIGH, true);
    uint8_t buf[64];
    struct rec r = { 0 };
    iop_usb_sim_ep_set(f.sd, 0x81, &(struct iop_usb_sim_ep_config){
        .mode = IOP_USB_SIM_CANNED, .reply = (const uint8_t *)"0123456789", .reply_len = 10,
        .has_reply = true });
    struct iop_urb *urb = fx_urb(&f, IOP_XFER_BULK, 0x81, buf, sizeof(buf), &r);
    urb->transfer_flags = IOP_URB_SHORT_NOT_OK;
    CHECK_EQ(iop_urb_submit(urb), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(r.status, -EREMOTEIO);
    CHECK_EQ(r.actual, 10);
    CHECK_MEMEQ(buf, "0123456789", 10);
    urb->transfer_flags = 0; /* a short read is fine without the flag */
    CHECK_EQ(iop_urb_submit(urb), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(r.status, 0);
    CHECK_EQ(r.actual, 10);
    urb->transfer_flags = IOP_URB_SHORT_NOT_OK; /* a full read is fine with it */
    urb->transfer_buffer_length = 10;
    CHECK_EQ(iop_urb_submit(urb), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(r.status, 0);
    /* Babble: the device sends more than asked for. */
    urb->transfer_buffer_length = 4;
    CHECK_EQ(iop_urb_submit(urb), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(r.status, -EOVERFLOW);
    CHECK_EQ(r.actual, 4);
    iop_urb_free(urb);
    fx_down(&f);
}

static void test_zero_packet(void) {
    struct fixture f;
    fx_up(&f, IOP_USB_SPEED_HIGH, true);
    static uint8_t out[1024], in[2048];
    for (size_t i = 0; i < sizeof(out); i++)
        out[i] = (uint8_t)(i * 7);
    struct rec ro = { 0 }, ri = { 0 };
    iop_usb_sim_ep_set(f.sd, 0x01, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_LOOPBACK,
                                                                    .partner = 0x81 });
    iop_usb_sim_ep_set(f.sd, 0x81, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_LOOPBACK,
                                                                    .partner = 0x01 });
    struct iop_urb *uo = fx_urb(&f, IOP_XFER_BULK, 0x01, out, sizeof(out), &ro);
    struct iop_urb *ui = fx_urb(&f, IOP_XFER_BULK, 0x81, in, sizeof(in), &ri);
    struct iop_usb_sim_ep_stats st;

    /* 1024 = 2 x 512: a multiple of maxpacket, so ZERO_PACKET adds a ZLP. */
    uo->transfer_flags = IOP_URB_ZERO_PACKET;
    CHECK_EQ(iop_urb_submit(ui), 0); /* IN first: it waits for data */
    CHECK_EQ(iop_urb_submit(uo), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(ro.status, 0);
    CHECK_EQ(ro.actual, 1024);
    CHECK_EQ(ri.status, 0);
    CHECK_EQ(ri.actual, 1024);
    CHECK_MEMEQ(in, out, 1024);
    CHECK_EQ(iop_usb_sim_ep_stats(f.sd, 0x01, &st), 0);
    CHECK_EQ(st.zlps, 1);
    CHECK_EQ(st.last_len, 1024);
    CHECK_MEMEQ(st.last, out, 1024);
    /* The ZLP arrives on the other side as a transfer of its own. */
    CHECK_EQ(iop_urb_submit(ui), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(ri.calls, 2);
    CHECK_EQ(ri.actual, 0);

    /* Not a multiple of maxpacket: the short last packet ends it, no ZLP. */
    uo->transfer_buffer_length = 1000;
    CHECK_EQ(iop_urb_submit(uo), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(iop_usb_sim_ep_stats(f.sd, 0x01, &st), 0);
    CHECK_EQ(st.zlps, 1);
    /* Without the flag: no ZLP either. */
    uo->transfer_flags = 0;
    uo->transfer_buffer_length = 512;
    CHECK_EQ(iop_urb_submit(uo), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(iop_usb_sim_ep_stats(f.sd, 0x01, &st), 0);
    CHECK_EQ(st.zlps, 1);
    CHECK_EQ(ro.calls, 3);
    iop_urb_free(uo);
    iop_urb_free(ui);
    fx_down(&f);
}

static void test_status_mapping(void) {
    struct fixture f;
    fx_up(&f, IOP_USB_SPEED_HIGH, true);
    uint8_t buf[64], setup[8];
    struct rec r = { 0 }, rc = { 0 };
    struct iop_urb *urb = fx_urb(&f, IOP_XFER_BULK, 0x81, buf, sizeof(buf), &r);
    iop_usb_sim_ep_set(f.sd, 0x81, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_SOURCE });

    /* Stall: -EPIPE, and the endpoint stays halted until CLEAR_FEATURE(HALT). */
    CHECK_EQ(iop_usb_sim_ep_halt(f.sd, 0x81, true), 0);
    CHECK_EQ(iop_urb_submit(urb), 0); /* a halted endpoint is not refused at submit */
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(r.status, -EPIPE);
    CHECK_EQ(iop_urb_submit(urb), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(r.status, -EPIPE);
    struct iop_urb *clear = fx_ctrl(&f, setup, 0x02, IOP_USB_REQ_CLEAR_FEATURE,
                                    IOP_USB_ENDPOINT_HALT, 0x81, NULL, 0, &rc);
    CHECK_EQ(iop_urb_submit(clear), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(rc.status, 0);
    CHECK(!iop_usb_sim_ep_halted(f.sd, 0x81));
    CHECK_EQ(iop_urb_submit(urb), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(r.status, 0);
    /* SET_FEATURE(HALT) from the host halts it again. */
    setup[1] = IOP_USB_REQ_SET_FEATURE;
    CHECK_EQ(iop_urb_submit(clear), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK(iop_usb_sim_ep_halted(f.sd, 0x81));
    CHECK_EQ(iop_urb_submit(urb), 0);
    iop_usb_sim_advance(f.e, 0);
    CHECK_EQ(r.status, -EPIPE);
    iop_usb_sim_ep_halt(f.sd, 0x81, false);

    /* Errors the device or the bus produce pass through unchanged. */
    static const int errs[] = { -EPROTO, -EILSEQ, -EOVERFLOW, -ETIME };
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        CHECK_EQ(iop_usb_sim_ep_fail(f.sd, 0x81, errs[i], 1), 0);
        CHECK_EQ(iop_urb_submit(urb), 0);
        iop_usb_sim_advance(f.e, 0);
        CHECK_EQ(r.status, errs[i]);
        CHECK_EQ(r.actual, 0);
    }
    /* Timeout: -ETIMEDOUT after the URB's timeout, not before. */
    iop_usb_sim_ep_set(f.sd, 0x81, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_NAK });
    CHECK_EQ(iop_urb_set_timeout(urb, 50), 0);
    int calls = r.calls;
    CHECK_EQ(iop_urb_submit(urb), 0);
    CHECK_EQ(iop_urb_set_timeout(urb, 10), -EBUSY);
    iop_usb_sim_advance(f.e, 49999);
    CHECK_EQ(r.calls, calls);
    iop_usb_sim_advance(f.e, 1);
    CHECK_EQ(r.calls, calls + 1);
    CHECK_EQ(r.status, -ETIMEDOUT);
    /* A delay: completes no earlier than programmed. */
    CHECK_EQ(iop_urb_set_timeout(urb, 0), 0);
    iop_usb_sim_ep_set(f.sd, 0x81, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_SOURCE,
                                                                    .delay_usec = 3000 });
    CHECK_EQ(iop_urb_submit(urb), 0);
    CHECK_EQ(iop_usb_sim_advance(f.e, 2999), 0);
    CHECK_EQ(iop_usb_sim_advance(f.e, 1), 1);
    CHECK_EQ(r.status, 0);
    iop_urb_free(clear);
    iop_urb_free(urb);
    fx_down(&f);
}

/* ---- Exactly once ---- */

struct once {
    int calls;
};
static void once_done(struct iop_urb *urb) {
    ((struct once *)urb->context)->calls++;
}

static void test_exactly_once(void) {
    struct fixture f;
    fx_up(&f, IOP_USB_SPEED_HIGH, true);
    enum { N = 60 };
    static uint8_t bufs[N][512];
    struct once counts[N] = { { 0 } };
    struct iop_urb *urbs[N];
    iop_usb_sim_ep_set(f.sd, 0x01, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_LOOPBACK,
                                                                    .partner = 0x81,
                                                                    .fifo_max = 4 * 512 });
    iop_usb_sim_ep_set(f.sd, 0x81, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_LOOPBACK,
                                                                    .partner = 0x01 });
    int submitted = 0;
    for (int i = 0; i < N; i++) {
        urbs[i] = fx_urb(&f, IOP_XFER_BULK, (i % 3 == 0) ? 0x81 : 0x01, bufs[i], 512, NULL);
        urbs[i]->complete = once_done;
        urbs[i]->context = &counts[i];
        if (iop_urb_submit(urbs[i]) == 0)
            submitted++;
    }
    CHECK_EQ(submitted, N);
    /* Cancel a few, both ways; some of them may be done already: that is fine. */
    iop_urb_unlink(urbs[5]);
    iop_urb_unlink(urbs[10]);
    iop_urb_kill(urbs[20]);
    iop_usb_sim_advance(f.e, 0);
    iop_urb_unlink(urbs[30]);
    iop_urb_unlink(urbs[30]);
    /* The rest: unplugged with URBs still waiting (the FIFO is small). */
    CHECK_EQ(iop_usb_sim_unplug(f.sd), 0);
    iop_usb_sim_advance(f.e, 1000);
    int total = 0;
    for (int i = 0; i < N; i++) {
        if (counts[i].calls != 1)
            fprintf(stderr, "urb %d completed %d times\n", i, counts[i].calls);
        CHECK_EQ(counts[i].calls, 1);
        total += counts[i].calls;
        CHECK_EQ(urbs[i]->priv->use_count, 0);
        iop_urb_free(urbs[i]);
    }
    CHECK_EQ(total, N);
    fx_down(&f);
}

/* ---- Monitor ---- */

struct mon_log {
    char text[4096];
    size_t len;
};
static struct mon_log mlog;
/* "<kind><tag>" or "<kind><tag>:<v>" */
static void mlog_add(char kind, const struct iop_urb *urb, bool with_v, int v) {
    char tag = (char)(urb->context ? *(const char *)urb->context : '?');
    int n = with_v ? snprintf(mlog.text + mlog.len, sizeof(mlog.text) - mlog.len, "%c%c:%d ",
                              kind, tag, v)
                   : snprintf(mlog.text + mlog.len, sizeof(mlog.text) - mlog.len, "%c%c ", kind,
                              tag);
    if (n > 0 && (size_t)n < sizeof(mlog.text) - mlog.len)
        mlog.len += (size_t)n;
}
static void mon_submit(void *ctx, const struct iop_urb *urb) {
    CHECK(ctx == &mlog);
    CHECK_EQ(urb->status, -EINPROGRESS);
    mlog_add('S', urb, false, 0);
}
static void mon_error(void *ctx, const struct iop_urb *urb, int error) {
    (void)ctx;
    mlog_add('E', urb, true, error);
}
static void mon_complete(void *ctx, const struct iop_urb *urb, int status) {
    (void)ctx;
    CHECK_EQ(urb->status, status);
    mlog_add('C', urb, true, status);
}
static const struct iop_urb_monitor mon = {
    .submit = mon_submit, .submit_error = mon_error, .complete = mon_complete, .ctx = &mlog,
};
static int mon_resubmit = 0;
static void mon_handler(struct iop_urb *urb) {
    mlog_add('H', urb, true, urb->status);
    if (mon_resubmit-- > 0)
        mlog_add('R', urb, true, iop_urb_submit(urb));
}

static void test_monitor_order(void) {
    struct fixture f;
    fx_up(&f, IOP_USB_SPEED_HIGH, true);
    iop_usb_engine_set_monitor(f.e, &mon);
    uint8_t buf[64];
    char tag_a = 'a', tag_b = 'b';
    struct iop_urb *a = fx_urb(&f, IOP_XFER_BULK, 0x81, buf, sizeof(buf), NULL);
    struct iop_urb *b = fx_urb(&f, IOP_XFER_BULK, 0x81, buf, 0, NULL);
    a->context = &tag_a;
    b->context = &tag_b;
    a->complete = b->complete = mon_handler;
    iop_usb_sim_ep_set(f.sd, 0x81, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_SOURCE });

    /* A submission the checks refuse is never seen (usb_submit_urb fails before
     * usb_hcd_submit_urb reaches usbmon). */
    a->endpoint = 9;
    CHECK_EQ(iop_urb_submit(a), -ENOENT);
    CHECK_EQ(mlog.len, 0);
    a->endpoint = 1;

    /* Submit, complete before the handler, the handler's resubmission. */
    mon_resubmit = 1;
    CHECK_EQ(iop_urb_submit(a), 0);
    CHECK_STREQ(mlog.text, "Sa ");
    iop_usb_sim_advance(f.e, 0);
    CHECK_STREQ(mlog.text, "Sa Ca:0 Ha:0 Sa Ra:0 Ca:0 Ha:0 ");

    /* Refused after the monitor saw it: submit then submit_error, no completion. */
    mlog.len = 0;
    mlog.text[0] = 0;
    iop_usb_sim_ep_set(f.sd, 0x81, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_NAK });
    mon_resubmit = 1;
    CHECK_EQ(iop_urb_submit(b), 0);
    CHECK_EQ(iop_urb_kill(b), 0);
    CHECK_STREQ(mlog.text, "Sb Cb:-2 Hb:-2 Sb Eb:-1 Rb:-1 ");
    iop_urb_free(a);
    iop_urb_free(b);
    fx_down(&f);
}

int main(void) {
    TEST(test_alloc_refs);
    TEST(test_submit_errors);
    TEST(test_control_claims);
    TEST(test_interval_rounding);
    TEST(test_unlink_vs_kill);
    TEST(test_kill_rejects_resubmit);
    TEST(test_iso);
    TEST(test_short_not_ok);
    TEST(test_zero_packet);
    TEST(test_status_mapping);
    TEST(test_exactly_once);
    TEST(test_monitor_order);
    return test_summary();
}
