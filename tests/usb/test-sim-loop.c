/* The simulated backend on a real event loop: delays are loop timers, completions
 * run from the loop, kill processes events itself.  Nothing here asserts on time;
 * only order and results are checked. */
#include <errno.h>
#include <string.h>

#include "lib/util/loop.h"
#include "sim-fixture.h"

static struct iop_loop *L;

static void fx_up_loop(struct fixture *f) {
    memset(f, 0, sizeof(*f));
    CHECK_EQ(iop_loop_new(&L), 0);
    CHECK_EQ(iop_usb_engine_new(L, &iop_usb_backend_sim, NULL, &f->e), 0);
    CHECK_EQ(iop_usb_engine_start(f->e), 0);
    struct iop_usb_sim_device spec = fx_spec(IOP_USB_SPEED_HIGH);
    CHECK_EQ(iop_usb_sim_plug(f->e, &spec, &f->sd), 0);
    for (int i = 0; i < 50 && iop_usb_dev_ref_by_addr(f->e, 1, 2, &f->dev) < 0; i++)
        iop_loop_iterate(L, 100);
    CHECK(f->dev != NULL);
    for (uint8_t i = 0; f->dev && i < 3; i++)
        CHECK_EQ(iop_usb_dev_claim_interface(f->dev, i), 0);
}

static void test_loop_needed(void) {
    struct iop_usb_engine *e = NULL;
    CHECK_EQ(iop_usb_engine_new(NULL, &iop_usb_backend_sim, NULL, &e), -EINVAL);
    CHECK(e == NULL);
}

/* A stream through the loopback endpoints, URBs queued several deep on each side,
 * every handler resubmitting until the byte count is reached. */
enum { DEPTH = 4, CHUNK = 2048, TOTAL = 64 * CHUNK };
struct stream {
    uint64_t sent, received;
    int out_busy, in_busy;
    int errors;
    uint8_t next_in; /* expected first byte of the next IN chunk */
};
static struct stream st;

static void out_done(struct iop_urb *urb) {
    st.out_busy--;
    if (urb->status != 0) {
        st.errors++;
        return;
    }
    st.sent += urb->actual_length;
    if (st.sent + (uint64_t)st.out_busy * CHUNK < TOTAL) {
        /* Stamp the chunk with its sequence number so that order is checked. */
        uint64_t seq = (st.sent + (uint64_t)st.out_busy * CHUNK) / CHUNK;
        memset(urb->transfer_buffer, (int)(seq & 0xff), CHUNK);
        if (iop_urb_submit(urb) == 0)
            st.out_busy++;
        else
            st.errors++;
    }
}

static void in_done(struct iop_urb *urb) {
    st.in_busy--;
    if (urb->status != 0 || urb->actual_length != CHUNK) {
        st.errors++;
        return;
    }
    if (urb->transfer_buffer[0] != st.next_in || urb->transfer_buffer[CHUNK - 1] != st.next_in)
        st.errors++;
    st.next_in++;
    st.received += urb->actual_length;
    if (st.received + (uint64_t)st.in_busy * CHUNK < TOTAL) {
        if (iop_urb_submit(urb) == 0)
            st.in_busy++;
        else
            st.errors++;
    }
    if (st.received == TOTAL)
        iop_loop_quit(L, 0);
}

static void test_loopback_stream(void) {
    struct fixture f;
    fx_up_loop(&f);
    iop_usb_sim_ep_set(f.sd, 0x01, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_LOOPBACK,
                                                                    .partner = 0x81,
                                                                    .delay_usec = 200,
                                                                    .fifo_max = 2 * CHUNK });
    iop_usb_sim_ep_set(f.sd, 0x81, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_LOOPBACK,
                                                                    .partner = 0x01,
                                                                    .delay_usec = 100 });
    static uint8_t outb[DEPTH][CHUNK], inb[DEPTH][CHUNK];
    struct iop_urb *outs[DEPTH], *ins[DEPTH];
    memset(&st, 0, sizeof(st));
    for (int i = 0; i < DEPTH; i++) {
        outs[i] = fx_urb(&f, IOP_XFER_BULK, 0x01, outb[i], CHUNK, NULL);
        ins[i] = fx_urb(&f, IOP_XFER_BULK, 0x81, inb[i], CHUNK, NULL);
        outs[i]->complete = out_done;
        ins[i]->complete = in_done;
        memset(outb[i], i, CHUNK);
        CHECK_EQ(iop_urb_submit(ins[i]), 0);
        st.in_busy++;
    }
    for (int i = 0; i < DEPTH; i++) {
        CHECK_EQ(iop_urb_submit(outs[i]), 0);
        st.out_busy++;
    }
    CHECK_EQ(iop_loop_run(L), 0);
    CHECK_EQ(st.errors, 0);
    CHECK_EQ(st.received, TOTAL);
    CHECK_EQ(st.sent, TOTAL);
    for (int i = 0; i < DEPTH; i++) {
        iop_urb_free(outs[i]);
        iop_urb_free(ins[i]);
    }
    fx_down(&f);
    L = iop_loop_free(L);
}

/* Kill on the loop clock: the cancel completes from kill's own event processing,
 * even with a long delay programmed. */
static void test_kill_on_loop(void) {
    struct fixture f;
    fx_up_loop(&f);
    iop_usb_sim_ep_set(f.sd, 0x81, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_SOURCE,
                                                                    .delay_usec = 60000000 });
    uint8_t buf[16];
    struct rec r = { 0 };
    struct iop_urb *urb = fx_urb(&f, IOP_XFER_BULK, 0x81, buf, sizeof(buf), &r);
    CHECK_EQ(iop_urb_submit(urb), 0);
    iop_loop_iterate(L, 0);
    CHECK_EQ(r.calls, 0);
    CHECK_EQ(iop_urb_kill(urb), 0);
    CHECK_EQ(r.calls, 1);
    CHECK_EQ(r.status, -ENOENT);
    /* A short delay completes from the loop. */
    iop_usb_sim_ep_set(f.sd, 0x81, &(struct iop_usb_sim_ep_config){ .mode = IOP_USB_SIM_SOURCE,
                                                                    .delay_usec = 2000 });
    CHECK_EQ(iop_urb_submit(urb), 0);
    for (int i = 0; i < 100 && r.calls < 2; i++)
        iop_loop_iterate(L, 50);
    CHECK_EQ(r.calls, 2);
    CHECK_EQ(r.status, 0);
    CHECK_EQ(r.actual, sizeof(buf));
    iop_urb_free(urb);
    fx_down(&f);
    L = iop_loop_free(L);
}

/* Unplug from a loop timer with URBs waiting; they complete from the loop. */
static struct iop_usb_sim_dev *timer_sd;
static void unplug_timer(void *data) {
    (void)data;
    CHECK_EQ(iop_usb_sim_unplug(timer_sd), 0);
}

static void test_unplug_on_loop(void) {
    struct fixture f;
    fx_up_loop(&f);
    timer_sd = f.sd;
    uint8_t b[3][8];
    struct rec r[3] = { { 0 } };
    struct iop_urb *u[3];
    for (int i = 0; i < 3; i++) {
        u[i] = fx_urb(&f, IOP_XFER_BULK, 0x81, b[i], 8, &r[i]);
        CHECK_EQ(iop_urb_submit(u[i]), 0);
    }
    CHECK_EQ(iop_loop_add_timer(L, 1000, unplug_timer, NULL, NULL), 0);
    for (int i = 0; i < 100 && (r[0].calls + r[1].calls + r[2].calls) < 3; i++)
        iop_loop_iterate(L, 50);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(r[i].calls, 1);
        CHECK_EQ(r[i].status, -ENODEV);
        iop_urb_free(u[i]);
    }
    fx_down(&f);
    L = iop_loop_free(L);
}

int main(void) {
    TEST(test_loop_needed);
    TEST(test_loopback_stream);
    TEST(test_kill_on_loop);
    TEST(test_unplug_on_loop);
    return test_summary();
}
