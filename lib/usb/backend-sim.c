/* The simulated backend (see backend-sim.h): its ops, the scheduler that completes URBs
 * on the loop or the manual clock, and the clock's test-facing calls. */
#include "lib/usb/backend-sim.h"

#include <assert.h>
#include <errno.h>
#include <time.h>

#include "lib/usb/backend-sim-int.h"
#include "lib/usb/backend.h"
#include "lib/usb/urb.h"
#include "lib/util/log.h"
#include "lib/util/loop.h"

/* How far ahead an ISO URB may be scheduled: the periodic schedule of EHCI and xHCI
 * covers 1024 frames; a start beyond it is refused as HCDs refuse it (-EFBIG). */
#define ISO_HORIZON_FRAMES 1024

static uint64_t sim_now(const struct sim *s) {
    return s->manual ? s->manual_now : iop_loop_now_usec() - s->t0;
}

static unsigned frame_usec(enum iop_usb_speed speed) {
    return speed >= IOP_USB_SPEED_HIGH ? 125u : 1000u;
}

struct sim *sim_from_engine(struct iop_usb_engine *e) {
    if (!e || iop_usb_engine_backend(e) != &iop_usb_backend_sim)
        return NULL;
    return iop_usb_engine_backend_priv(e);
}

/* ---- Scheduling on the loop ---- */

static unsigned run_pass(struct sim *s);

static void on_timer(void *data) {
    struct sim *s = data;
    s->timer = NULL; /* one-shot: the loop frees it */
    run_pass(s);
}

/* When would a pass next make progress?  now if something changed, else the next
 * due time or deadline in the future; heads already due are waiting for an event
 * (a push, FIFO space) that will set dirty. */
static uint64_t next_event(const struct sim *s, uint64_t now) {
    if (s->dirty)
        return now;
    uint64_t best = NEVER;
    for (const struct iop_usb_sim_dev *sd = s->devs; sd; sd = sd->next)
        for (unsigned i = 0; i < EP_SLOTS; i++)
            for (const struct sim_urb *su = sd->eps[i].head; su; su = su->next) {
                if (su->cancelled)
                    return now;
                if (su->deadline > now && su->deadline < best)
                    best = su->deadline;
                if (su == sd->eps[i].head && su->due > now && su->due < best)
                    best = su->due;
            }
    return best;
}

static void schedule(struct sim *s) {
    if (s->manual || s->running || !s->loop)
        return;
    uint64_t now = sim_now(s);
    uint64_t due = next_event(s, now);
    if (due == NEVER)
        return;
    if (s->timer && s->timer_due <= due)
        return;
    iop_loop_source_free(s->timer);
    s->timer = NULL;
    if (iop_loop_add_timer(s->loop, due - now, on_timer, s, &s->timer) < 0) {
        iop_err("usb sim: cannot arm a timer; completions wait for the next event");
        s->timer = NULL;
        return;
    }
    s->timer_due = due;
}

void sim_kick(struct sim *s) {
    s->dirty = true;
    schedule(s);
}

/* ---- Completing ---- */

static void dequeue(struct sim_ep *ep, struct sim_urb *su) {
    struct sim_urb **pp = &ep->head;
    struct sim_urb *prev = NULL;
    while (*pp && *pp != su) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    assert(*pp == su);
    *pp = su->next;
    if (ep->tail == su)
        ep->tail = prev;
    su->next = NULL;
}

static void complete(struct sim_ep *ep, struct sim_urb *su, int status) {
    dequeue(ep, su);
    iop_urb_giveback(su->urb, status); /* may resubmit: su is reused then */
}

/* Try to complete the head of an endpoint queue. */
static bool serve_head(struct iop_usb_sim_dev *sd, struct sim_ep *ep, struct sim_urb *su) {
    struct iop_urb *urb = su->urb;
    int st = 0;

    if (ep->fail_count > 0) {
        ep->fail_count--;
        urb->actual_length = 0;
        for (int n = 0; n < iop_urb_iso_packets(urb); n++) {
            urb->iso_frame_desc[n].status = ep->fail_status;
            urb->iso_frame_desc[n].actual_length = 0;
        }
        complete(ep, su, ep->fail_status);
        return true;
    }
    if (urb->xfer == IOP_XFER_CONTROL) {
        if (!sim_serve_control(sd, ep, urb, &st))
            return false;
    } else if (ep->halted) {
        urb->actual_length = 0;
        st = -EPIPE;
    } else if (urb->xfer == IOP_XFER_ISOC) {
        sim_serve_iso(sd, ep, su);
    } else if (!sim_serve_data(sd, ep, urb, &st)) {
        return false;
    }
    ep->stats.completed++;
    complete(ep, su, st);
    return true;
}

/* One pass: complete what is due now among the URBs submitted before the pass
 * started.  Repeats over the endpoints while anything completes (a completion may
 * unblock another endpoint: loopback FIFO space, un-halting). */
static unsigned run_pass(struct sim *s) {
    if (s->running)
        return 0;
    s->running = true;
    s->dirty = false;
    uint64_t limit = s->seq;
    unsigned done = 0;
    bool progress = true;
    while (progress) {
        progress = false;
        uint64_t now = sim_now(s);
        for (struct iop_usb_sim_dev *sd = s->devs; sd; sd = sd->next)
            for (unsigned i = 0; i < EP_SLOTS; i++) {
                struct sim_ep *ep = &sd->eps[i];
            again:
                /* Unlinked or timed out: anywhere in the queue, as an HCD unlinks. */
                for (struct sim_urb *su = ep->head; su; su = su->next) {
                    if (su->seq >= limit || (!su->cancelled && su->deadline > now))
                        continue;
                    su->urb->actual_length = 0;
                    complete(ep, su, su->cancelled ? -ECONNRESET : -ETIMEDOUT);
                    done++;
                    progress = true;
                    goto again;
                }
                struct sim_urb *head = ep->head;
                if (head && head->seq < limit && head->due <= now && serve_head(sd, ep, head)) {
                    done++;
                    progress = true;
                    goto again;
                }
            }
    }
    s->running = false;
    schedule(s);
    return done;
}

/* ---- Backend ops ---- */

static int sim_init(struct iop_usb_engine *e, const void *config) {
    struct sim *s = iop_usb_engine_backend_priv(e);
    const struct iop_usb_sim_config *cfg = config;
    s->engine = e;
    s->manual = cfg && cfg->manual_clock;
    s->loop = iop_usb_engine_loop(e);
    if (!s->manual && !s->loop)
        return -EINVAL; /* delays need timers */
    s->t0 = iop_loop_now_usec();
    return 0;
}

static int sim_start(struct iop_usb_engine *e) {
    (void)e; /* devices arrive with iop_usb_sim_plug */
    return 0;
}

static void sim_exit(struct iop_usb_engine *e) {
    struct sim *s = iop_usb_engine_backend_priv(e);
    iop_loop_source_free(s->timer);
    s->timer = NULL;
    while (s->devs) {
        struct iop_usb_sim_dev *sd = s->devs;
        s->devs = sd->next;
        sim_dev_free(sd);
    }
}

static void sim_dev_release(struct iop_usb_dev *dev) {
    struct sim_dev_priv *dp = iop_usb_dev_backend_priv(dev);
    if (dp->sd)
        dp->sd->dev = NULL;
}

static int sim_claim(struct iop_usb_dev *dev, uint8_t ifnum) {
    struct sim_dev_priv *dp = iop_usb_dev_backend_priv(dev);
    struct iop_usb_sim_dev *sd = dp->sd;
    if (!sd || !sd->plugged)
        return -ENODEV;
    if (sd->driver_bound & (1u << ifnum)) {
        if (!iop_usb_dev_detach_kernel_driver(dev))
            return -EBUSY; /* usbfs: the interface belongs to another driver */
        sd->driver_bound &= ~(1u << ifnum);
        sd->detached |= 1u << ifnum;
    }
    return 0;
}

static int sim_release(struct iop_usb_dev *dev, uint8_t ifnum) {
    (void)dev;
    (void)ifnum;
    return 0;
}

static int sim_submit(struct iop_urb *urb) {
    struct sim_urb *su = iop_urb_backend_priv(urb);
    struct sim_dev_priv *dp = iop_usb_dev_backend_priv(urb->dev);
    struct iop_usb_sim_dev *sd = dp->sd;
    if (!sd || !sd->plugged)
        return -ENODEV;
    struct sim *s = sd->sim;
    unsigned slot = urb->xfer == IOP_XFER_CONTROL
                        ? 0
                        : sim_ep_slot((uint8_t)(urb->endpoint | (urb->dir_in ? IOP_USB_DIR_IN : 0)));
    struct sim_ep *ep = &sd->eps[slot];
    uint64_t now = sim_now(s);
    unsigned fus = frame_usec(sd->speed);

    su->urb = urb;
    su->ep = ep;
    su->sd = sd;
    su->next = NULL;
    su->cancelled = false;
    su->due = now + ep->cfg.delay_usec;
    uint32_t tmo = iop_urb_timeout(urb);
    su->deadline = tmo ? now + (uint64_t)tmo * 1000u : NEVER;

    if (urb->xfer == IOP_XFER_INT) {
        su->due += (uint64_t)urb->interval * fus; /* answered at its next poll */
    } else if (urb->xfer == IOP_XFER_ISOC) {
        /* Today's kernel rule: with ISO_ASAP, or on an idle endpoint, the first free
         * slot from the next frame on; otherwise right after the previous URB, even
         * if that is in the past (those packets get -EXDEV).  On an idle endpoint
         * without ASAP the caller's start_frame is honoured. */
        long long cur = (long long)(now / fus);
        bool active = ep->head != NULL;
        long long start;
        if (urb->transfer_flags & IOP_URB_ISO_ASAP)
            start = active && ep->iso_next > cur + 1 ? ep->iso_next : cur + 1;
        else if (active)
            start = ep->iso_next;
        else
            start = urb->start_frame;
        long long horizon = (long long)ISO_HORIZON_FRAMES * (fus == 125u ? 8 : 1);
        if (start > cur + horizon)
            return -EFBIG;
        long long end = start + (long long)iop_urb_iso_packets(urb) * urb->interval;
        if (end <= cur + 1)
            return -EXDEV; /* every packet would be late */
        su->expired_before = (int)(cur + 1);
        urb->start_frame = (int)start;
        ep->iso_next = end;
        uint64_t last_end = (uint64_t)(end - urb->interval + 1) * fus;
        su->due = last_end > su->due ? last_end : su->due;
    }
    su->seq = s->seq++;
    if (ep->tail)
        ep->tail->next = su;
    else
        ep->head = su;
    ep->tail = su;
    sim_kick(s);
    return 0;
}

static int sim_cancel(struct iop_urb *urb) {
    struct sim_urb *su = iop_urb_backend_priv(urb);
    su->cancelled = true;
    sim_kick(su->sd->sim);
    return 0;
}

static int sim_handle_events(struct iop_usb_engine *e, int timeout_ms) {
    struct sim *s = iop_usb_engine_backend_priv(e);
    unsigned done = run_pass(s);
    if (done > 0 || s->manual || timeout_ms <= 0)
        return 0;
    /* Loop clock: wait (at most timeout_ms) for the next due time, then run again. */
    uint64_t now = sim_now(s), due = next_event(s, now);
    if (due == NEVER)
        return 0;
    uint64_t wait = due - now, max = (uint64_t)timeout_ms * 1000u;
    if (wait > max)
        wait = max;
    struct timespec ts = { .tv_sec = (time_t)(wait / 1000000u),
                           .tv_nsec = (long)(wait % 1000000u) * 1000 };
    nanosleep(&ts, NULL);
    run_pass(s);
    return 0;
}

const struct iop_usb_backend iop_usb_backend_sim = {
    .name = "simulated",
    .engine_priv_size = sizeof(struct sim),
    .dev_priv_size = sizeof(struct sim_dev_priv),
    .urb_priv_size = sizeof(struct sim_urb),
    .init = sim_init,
    .start = sim_start,
    .exit = sim_exit,
    .dev_release = sim_dev_release,
    .claim_interface = sim_claim,
    .release_interface = sim_release,
    .submit = sim_submit,
    .cancel = sim_cancel,
    .handle_events = sim_handle_events,
};

/* ---- The test-facing API: the clock ---- */

unsigned iop_usb_sim_advance(struct iop_usb_engine *e, uint64_t usec) {
    struct sim *s = sim_from_engine(e);
    if (!s)
        return 0;
    if (!s->manual)
        return run_pass(s);
    uint64_t target = s->manual_now + usec;
    unsigned done = 0;
    for (unsigned pass = 0; pass < IOP_USB_SIM_ADVANCE_MAX_PASSES; pass++) {
        unsigned n = run_pass(s);
        done += n;
        if (n > 0 || s->dirty)
            continue; /* a handler may have submitted something due now */
        uint64_t next = next_event(s, s->manual_now);
        if (next == NEVER || next > target)
            break;
        s->manual_now = next;
    }
    s->manual_now = target;
    done += run_pass(s);
    return done;
}

uint64_t iop_usb_sim_now(struct iop_usb_engine *e) {
    struct sim *s = sim_from_engine(e);
    return s ? sim_now(s) : 0;
}

int iop_usb_sim_frame(const struct iop_usb_sim_dev *sd) {
    assert(sd);
    return (int)(sim_now(sd->sim) / frame_usec(sd->speed));
}
