/* The simulated backend (see backend-sim.h). */
#include "lib/usb/backend-sim.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/usb/backend.h"
#include "lib/usb/descriptors.h"
#include "lib/usb/urb.h"
#include "lib/util/bytes.h"
#include "lib/util/cleanup.h"
#include "lib/util/log.h"
#include "lib/util/loop.h"

/* Endpoint slots per device: number, +16 for IN.  Endpoint 0 is slot 0 for both
 * directions (a control endpoint has one queue). */
#define EP_SLOTS (2 * IOP_USB_ENDPOINTS)
#define NEVER UINT64_MAX
/* String descriptors hold at most 126 UTF-16 units (bLength is one byte). */
#define STRING_MAX_CHARS 126u
/* USB device addresses are 7 bits; address 0 is the default one. */
#define USB_MAX_ADDRESS 127
/* How far ahead an ISO URB may be scheduled: the periodic schedule of EHCI and xHCI
 * covers 1024 frames; a start beyond it is refused as HCDs refuse it (-EFBIG). */
#define ISO_HORIZON_FRAMES 1024

struct sim_msg {
    struct sim_msg *next;
    size_t len;
    uint8_t data[];
};

struct sim_ep;

/* The backend's area of each URB. */
struct sim_urb {
    struct iop_urb *urb;
    struct sim_urb *next;       /* the endpoint's queue */
    struct sim_ep *ep;
    struct iop_usb_sim_dev *sd; /* the device it was submitted to */
    uint64_t due;               /* earliest completion, usec */
    uint64_t deadline;          /* timeout, NEVER without one */
    uint64_t seq;               /* submission order: a pass handles older ones only */
    int expired_before;         /* ISO: packets in frames below this were too late */
    bool cancelled;
};

struct sim_ep {
    struct iop_usb_sim_ep_config cfg;
    uint8_t *reply;             /* owned copy of cfg.reply */
    struct sim_urb *head, *tail;
    bool halted;
    int fail_status;
    unsigned fail_count;
    struct sim_msg *msgs, *msgs_tail; /* pushed replies / the loopback FIFO (IN side) */
    size_t msg_bytes;
    unsigned n_msgs;
    long long iso_next;         /* first frame after the last scheduled ISO packet */
    unsigned iso_packets;       /* ISO packets served, for iso_error_every */
    struct iop_usb_sim_ep_stats stats;
};

struct sim;

struct iop_usb_sim_dev {
    struct sim *sim;            /* borrowed */
    struct iop_usb_sim_dev *next;
    struct iop_usb_dev *dev;    /* the engine's handle; NULL after dev_release */
    bool plugged;
    bool silent;
    enum iop_usb_speed speed;
    uint16_t busnum;
    uint8_t devnum;
    uint8_t desc[IOP_USB_DT_DEVICE_SIZE];
    uint8_t *configs[IOP_USB_MAX_CONFIGS]; /* owned */
    size_t config_len[IOP_USB_MAX_CONFIGS];
    unsigned n_configs;
    uint8_t active_config;
    uint8_t alts[IOP_USB_MAX_INTERFACES];
    uint8_t *strings[256];      /* owned: string descriptors by index, as sent */
    uint8_t string_len[256];
    bool strings_stall;
    uint16_t string_stall_length;
    unsigned string_requests;
    uint32_t driver_bound, detached;
    iop_usb_sim_control_fn control;
    void *control_data;
    struct sim_ep eps[EP_SLOTS];
};

struct sim {
    struct iop_usb_engine *engine;      /* borrowed: it owns us */
    struct iop_loop *loop;              /* borrowed, NULL on the manual clock */
    bool manual;
    uint64_t manual_now;
    uint64_t t0;                        /* loop clock origin */
    uint64_t seq;
    bool running;                       /* inside a pass */
    bool dirty;                         /* something changed that a pass should see */
    struct iop_usb_sim_dev *devs;       /* owned */
    struct iop_loop_source *timer;      /* NULL when not armed (cleared when it fires) */
    uint64_t timer_due;
};

struct sim_dev_priv {
    struct iop_usb_sim_dev *sd; /* borrowed: the sim owns it */
};

static uint64_t sim_now(const struct sim *s) {
    return s->manual ? s->manual_now : iop_loop_now_usec() - s->t0;
}

static unsigned frame_usec(enum iop_usb_speed speed) {
    return speed >= IOP_USB_SPEED_HIGH ? 125u : 1000u;
}

static struct sim *engine_sim(struct iop_usb_engine *e) {
    if (!e || iop_usb_engine_backend(e) != &iop_usb_backend_sim)
        return NULL;
    return iop_usb_engine_backend_priv(e);
}

static unsigned ep_slot(uint8_t addr) {
    unsigned num = addr & IOP_USB_ENDPOINT_NUMBER_MASK;
    return num == 0 ? 0 : num + ((addr & IOP_USB_DIR_IN) ? IOP_USB_ENDPOINTS : 0);
}

static void msgs_clear(struct sim_ep *ep) {
    while (ep->msgs) {
        struct sim_msg *m = ep->msgs;
        ep->msgs = m->next;
        free(m);
    }
    ep->msgs_tail = NULL;
    ep->msg_bytes = 0;
    ep->n_msgs = 0;
}

static int msg_append(struct sim_ep *ep, const void *data, size_t len) {
    if (ep->n_msgs >= IOP_USB_SIM_PUSH_MAX)
        return -ENOSPC;
    struct sim_msg *m = malloc(sizeof(*m) + len);
    if (!m)
        return -ENOMEM;
    m->next = NULL;
    m->len = len;
    if (len)
        memcpy(m->data, data, len);
    if (ep->msgs_tail)
        ep->msgs_tail->next = m;
    else
        ep->msgs = m;
    ep->msgs_tail = m;
    ep->msg_bytes += len;
    ep->n_msgs++;
    return 0;
}

static struct sim_msg *msg_pop(struct sim_ep *ep) {
    struct sim_msg *m = ep->msgs;
    if (!m)
        return NULL;
    ep->msgs = m->next;
    if (!ep->msgs)
        ep->msgs_tail = NULL;
    ep->msg_bytes -= m->len;
    ep->n_msgs--;
    return m;
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

static void kick(struct sim *s) {
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

/* g_zero's pattern: byte i of a transfer is i % 63, so that packet boundaries show. */
static void fill_pattern(uint8_t *buf, size_t len) {
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i % 63);
}

static void record_out(struct sim_ep *ep, const struct iop_urb *urb) {
    size_t n = urb->transfer_buffer_length;
    ep->stats.last_len = n < IOP_USB_SIM_RECORD_MAX ? n : IOP_USB_SIM_RECORD_MAX;
    if (ep->stats.last_len)
        memcpy(ep->stats.last, urb->transfer_buffer, ep->stats.last_len);
}

/* Whether a bulk/interrupt OUT transfer ends with a zero-length packet on the wire. */
static bool sends_zlp(const struct iop_urb *urb) {
    uint32_t maxp = iop_usb_ep_maxp(iop_urb_endpoint(urb));
    return (urb->transfer_flags & IOP_URB_ZERO_PACKET) && urb->transfer_buffer_length > 0 &&
           maxp > 0 && urb->transfer_buffer_length % maxp == 0;
}

/* An IN transfer from a message: a message longer than the buffer is babble. */
static int in_from(struct iop_urb *urb, const uint8_t *data, size_t len) {
    size_t n = len < urb->transfer_buffer_length ? len : urb->transfer_buffer_length;
    if (n)
        memcpy(urb->transfer_buffer, data, n);
    urb->actual_length = (uint32_t)n;
    return len > urb->transfer_buffer_length ? -EOVERFLOW : 0;
}

static struct sim_ep *partner_of(struct iop_usb_sim_dev *sd, const struct sim_ep *ep) {
    unsigned slot = ep_slot(ep->cfg.partner);
    return slot == 0 ? NULL : &sd->eps[slot];
}

/* Serve the head URB of a bulk or interrupt endpoint.  Returns 1 done (status in
 * *st), 0 NAK (wait). */
static int serve_data(struct iop_usb_sim_dev *sd, struct sim_ep *ep, struct iop_urb *urb,
                      int *st) {
    *st = 0;
    if (urb->dir_in) {
        struct sim_msg *m = msg_pop(ep);
        if (m) {
            *st = in_from(urb, m->data, m->len);
            free(m);
            if (ep->cfg.mode == IOP_USB_SIM_LOOPBACK)
                sd->sim->dirty = true; /* FIFO space for the OUT side */
        } else if (ep->cfg.mode == IOP_USB_SIM_CANNED && ep->cfg.has_reply) {
            *st = in_from(urb, ep->reply, ep->cfg.reply_len);
        } else if (ep->cfg.mode == IOP_USB_SIM_SOURCE) {
            fill_pattern(urb->transfer_buffer, urb->transfer_buffer_length);
            urb->actual_length = urb->transfer_buffer_length;
        } else {
            return 0;
        }
        ep->stats.bytes += urb->actual_length;
        return 1;
    }
    switch (ep->cfg.mode) {
    case IOP_USB_SIM_NAK:
        return 0;
    case IOP_USB_SIM_LOOPBACK: {
        struct sim_ep *in = partner_of(sd, ep);
        if (!in)
            return 0;
        size_t max = ep->cfg.fifo_max ? ep->cfg.fifo_max : IOP_USB_SIM_FIFO_DEFAULT;
        bool zlp = sends_zlp(urb);
        if (in->msg_bytes + urb->transfer_buffer_length > max ||
            in->n_msgs + 1u + zlp > IOP_USB_SIM_PUSH_MAX)
            return 0;
        if (msg_append(in, urb->transfer_buffer, urb->transfer_buffer_length) < 0)
            return 0;
        /* The ZLP ends this transfer and arrives as a transfer of its own. */
        if (zlp)
            (void)msg_append(in, NULL, 0);
        sd->sim->dirty = true;
        break;
    }
    default:
        break;
    }
    if (sends_zlp(urb))
        ep->stats.zlps++;
    record_out(ep, urb);
    ep->stats.bytes += urb->transfer_buffer_length;
    urb->actual_length = urb->transfer_buffer_length;
    return 1;
}

static void serve_iso(struct iop_usb_sim_dev *sd, struct sim_ep *ep, struct sim_urb *su) {
    struct iop_urb *urb = su->urb;
    for (int n = 0; n < iop_urb_iso_packets(urb); n++) {
        struct iop_iso_packet_descriptor *d = &urb->iso_frame_desc[n];
        long long frame = (long long)urb->start_frame + (long long)n * urb->interval;
        if (frame < su->expired_before) {
            d->status = -EXDEV; /* scheduled in a frame that had passed */
            d->actual_length = 0;
            continue;
        }
        ep->iso_packets++;
        if (ep->cfg.iso_error_every && ep->iso_packets % ep->cfg.iso_error_every == 0) {
            d->status = -EILSEQ; /* a CRC error: the packet is lost */
            d->actual_length = 0;
            continue;
        }
        if (urb->dir_in && d->length) /* no buffer at all for zero-length packets */
            fill_pattern(urb->transfer_buffer + d->offset, d->length);
        d->status = 0;
        d->actual_length = d->length;
        ep->stats.bytes += d->length;
    }
    (void)sd;
    if (!urb->dir_in)
        record_out(ep, urb);
}

/* A string descriptor for UTF-8 text (a byte that does not start a valid sequence
 * counts as Latin-1), at most STRING_MAX_CHARS UTF-16 units. */
static size_t make_string_desc(const char *str, uint8_t *d) {
    const uint8_t *p = (const uint8_t *)str;
    size_t n = 0;
    while (*p && n < STRING_MAX_CHARS) {
        uint32_t u = *p;
        size_t len = u < 0x80 ? 1 : (u & 0xe0) == 0xc0 ? 2 : (u & 0xf0) == 0xe0 ? 3 : (u & 0xf8) == 0xf0 ? 4 : 1;
        bool ok = len > 1;
        for (size_t i = 1; i < len && ok; i++)
            ok = (p[i] & 0xc0) == 0x80;
        if (ok) {
            u &= 0x7fu >> len;
            for (size_t i = 1; i < len; i++)
                u = u << 6 | (p[i] & 0x3f);
        } else {
            len = 1;
        }
        p += len;
        if (u >= 0x10000) {
            if (n + 2 > STRING_MAX_CHARS)
                break;
            iop_put_le16(d + 2 + 2 * n++, (uint16_t)(0xd800 + ((u - 0x10000) >> 10)));
            u = 0xdc00 + ((u - 0x10000) & 0x3ff);
        }
        iop_put_le16(d + 2 + 2 * n++, (uint16_t)u);
    }
    d[0] = (uint8_t)(2 + 2 * n);
    d[1] = IOP_USB_DT_STRING;
    return d[0];
}

static int set_string(struct iop_usb_sim_dev *sd, uint8_t index, const uint8_t *data, size_t len) {
    if (len > 255 || (len && !data))
        return -EINVAL;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return -ENOMEM;
    if (len)
        memcpy(copy, data, len);
    free(sd->strings[index]);
    sd->strings[index] = copy;
    sd->string_len[index] = (uint8_t)len;
    return 0;
}

static const uint8_t *config_by_value(const struct iop_usb_sim_dev *sd, uint8_t value,
                                      size_t *len) {
    for (unsigned i = 0; i < sd->n_configs; i++)
        if (sd->configs[i][5] == value) {
            *len = sd->config_len[i];
            return sd->configs[i];
        }
    return NULL;
}

/* Endpoint 0.  Returns 1 done (status in *st), 0 NAK.  A stall here is a protocol
 * stall: it ends this request only. */
static int serve_control(struct iop_usb_sim_dev *sd, struct sim_ep *ep0, struct iop_urb *urb,
                         int *st) {
    const uint8_t *s = urb->setup_packet;
    uint8_t type = s[0] & IOP_USB_TYPE_MASK, recip = s[0] & IOP_USB_RECIP_MASK;
    uint16_t value = iop_get_le16(s + 2), index = iop_get_le16(s + 4);
    uint16_t len = (uint16_t)urb->transfer_buffer_length;
    uint8_t b[2] = { 0, 0 };

    (void)ep0;
    *st = 0;
    urb->actual_length = 0;
    if (sd->silent)
        return 0;
    if (type != IOP_USB_TYPE_STANDARD) {
        if (!sd->control) {
            *st = -EPIPE;
            return 1;
        }
        int r = sd->control(sd->control_data, s, urb->transfer_buffer, len);
        if (r < 0)
            *st = r;
        else if (urb->dir_in)
            urb->actual_length = (uint32_t)r < len ? (uint32_t)r : len;
        else
            urb->actual_length = len;
        return 1;
    }
    switch (s[1]) {
    case IOP_USB_REQ_GET_DESCRIPTOR: {
        uint8_t dt = value >> 8, idx = value & 0xff;
        if (dt == IOP_USB_DT_DEVICE) {
            (void)in_from(urb, sd->desc, len < sizeof(sd->desc) ? len : sizeof(sd->desc));
        } else if (dt == IOP_USB_DT_CONFIG && idx < sd->n_configs) {
            size_t n = sd->config_len[idx];
            (void)in_from(urb, sd->configs[idx], len < n ? len : n);
        } else if (dt == IOP_USB_DT_STRING) {
            sd->string_requests++;
            if (sd->strings_stall || (sd->string_stall_length && len == sd->string_stall_length) ||
                !sd->strings[idx])
                *st = -EPIPE;
            else
                (void)in_from(urb, sd->strings[idx],
                              len < sd->string_len[idx] ? len : sd->string_len[idx]);
        } else {
            *st = -EPIPE;
        }
        return 1;
    }
    case IOP_USB_REQ_GET_CONFIGURATION:
        b[0] = sd->active_config;
        (void)in_from(urb, b, len < 1 ? len : 1);
        return 1;
    case IOP_USB_REQ_SET_CONFIGURATION: {
        size_t clen;
        if (value != 0 && !config_by_value(sd, (uint8_t)value, &clen)) {
            *st = -EPIPE;
            return 1;
        }
        sd->active_config = (uint8_t)value;
        memset(sd->alts, 0, sizeof(sd->alts));
        for (unsigned i = 1; i < EP_SLOTS; i++)
            sd->eps[i].halted = false;
        return 1;
    }
    case IOP_USB_REQ_GET_INTERFACE:
        if (recip != IOP_USB_RECIP_INTERFACE || (index & 0xff) >= IOP_USB_MAX_INTERFACES) {
            *st = -EPIPE;
            return 1;
        }
        b[0] = sd->alts[index & 0xff];
        (void)in_from(urb, b, len < 1 ? len : 1);
        return 1;
    case IOP_USB_REQ_SET_INTERFACE: {
        size_t clen;
        const uint8_t *c = config_by_value(sd, sd->active_config, &clen);
        if (recip != IOP_USB_RECIP_INTERFACE || (index & 0xff) >= IOP_USB_MAX_INTERFACES || !c ||
            !iop_usb_config_has_altsetting(c, clen, index & 0xff, (uint8_t)value)) {
            *st = -EPIPE;
            return 1;
        }
        sd->alts[index & 0xff] = (uint8_t)value;
        return 1;
    }
    case IOP_USB_REQ_GET_STATUS:
        if (recip == IOP_USB_RECIP_ENDPOINT)
            b[0] = sd->eps[ep_slot((uint8_t)index)].halted ? 1 : 0;
        (void)in_from(urb, b, len < 2 ? len : 2);
        return 1;
    case IOP_USB_REQ_SET_FEATURE:
    case IOP_USB_REQ_CLEAR_FEATURE:
        if (recip == IOP_USB_RECIP_ENDPOINT && value == IOP_USB_ENDPOINT_HALT &&
            ep_slot((uint8_t)index) != 0) {
            struct sim_ep *ep = &sd->eps[ep_slot((uint8_t)index)];
            ep->halted = s[1] == IOP_USB_REQ_SET_FEATURE;
            sd->sim->dirty = true;
            return 1;
        }
        *st = -EPIPE;
        return 1;
    default:
        *st = -EPIPE;
        return 1;
    }
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
        if (!serve_control(sd, ep, urb, &st))
            return false;
    } else if (ep->halted) {
        urb->actual_length = 0;
        st = -EPIPE;
    } else if (urb->xfer == IOP_XFER_ISOC) {
        serve_iso(sd, ep, su);
    } else if (!serve_data(sd, ep, urb, &st)) {
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

static void sim_dev_free(struct iop_usb_sim_dev *sd) {
    for (unsigned i = 0; i < EP_SLOTS; i++) {
        msgs_clear(&sd->eps[i]);
        free(sd->eps[i].reply);
    }
    for (unsigned i = 0; i < sd->n_configs; i++)
        free(sd->configs[i]);
    for (unsigned i = 0; i < 256; i++)
        free(sd->strings[i]);
    free(sd);
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
                        : ep_slot((uint8_t)(urb->endpoint | (urb->dir_in ? IOP_USB_DIR_IN : 0)));
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
    kick(s);
    return 0;
}

static int sim_cancel(struct iop_urb *urb) {
    struct sim_urb *su = iop_urb_backend_priv(urb);
    su->cancelled = true;
    kick(su->sd->sim);
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

/* ---- The test-facing API ---- */

int iop_usb_sim_plug(struct iop_usb_engine *e, const struct iop_usb_sim_device *d,
                     struct iop_usb_sim_dev **ret) {
    struct sim *s = engine_sim(e);
    if (!s || !d || !ret || !d->device_descriptor || d->n_configs > IOP_USB_MAX_CONFIGS ||
        (d->n_configs && !d->configs) || (d->n_strings && !d->strings) || d->n_strings > 255 ||
        (d->n_raw_strings && !d->raw_strings) || d->port_depth > IOP_USB_MAX_PORTS)
        return -EINVAL;
    struct iop_usb_sim_dev *sd = calloc(1, sizeof(*sd));
    if (!sd)
        return -ENOMEM;
    sd->sim = s;
    sd->busnum = d->busnum ? d->busnum : 1;
    sd->speed = d->speed ? d->speed : IOP_USB_SPEED_HIGH;
    sd->silent = d->silent;
    sd->driver_bound = d->driver_bound;
    memcpy(sd->desc, d->device_descriptor, sizeof(sd->desc));
    int r = 0;
    for (unsigned i = 0; i < d->n_configs && r == 0; i++) {
        struct iop_usb_config_header h;
        if (!d->configs[i] || iop_usb_config_header(d->configs[i], IOP_USB_DT_CONFIG_SIZE, &h) < 0 ||
            h.total_length < IOP_USB_DT_CONFIG_SIZE) {
            r = -EINVAL;
            break;
        }
        sd->configs[i] = malloc(h.total_length);
        if (!sd->configs[i]) {
            r = -ENOMEM;
            break;
        }
        memcpy(sd->configs[i], d->configs[i], h.total_length);
        sd->config_len[i] = h.total_length;
        sd->n_configs = i + 1;
    }
    static const uint8_t langids[] = { 4, IOP_USB_DT_STRING, 0x09, 0x04 }; /* en-US */
    if (r == 0)
        r = set_string(sd, 0, langids, sizeof(langids));
    for (unsigned i = 0; r == 0 && i < d->n_strings; i++) {
        uint8_t desc[2 + 2 * STRING_MAX_CHARS];
        r = set_string(sd, (uint8_t)(i + 1), desc, make_string_desc(d->strings[i] ? d->strings[i] : "", desc));
    }
    for (unsigned i = 0; r == 0 && i < d->n_raw_strings; i++)
        r = set_string(sd, d->raw_strings[i].index, d->raw_strings[i].data, d->raw_strings[i].len);
    sd->strings_stall = d->strings_stall;
    sd->string_stall_length = d->string_stall_length;
    sd->active_config = d->active_config;
    uint8_t devnum = d->devnum;
    if (devnum == 0) {
        devnum = 2; /* 1 is the root hub */
        for (struct iop_usb_sim_dev *o = s->devs; o; o = o->next)
            if (o->busnum == sd->busnum && o->devnum >= devnum && o->devnum < USB_MAX_ADDRESS)
                devnum = (uint8_t)(o->devnum + 1);
    }
    sd->devnum = devnum;
    if (r < 0) {
        sim_dev_free(sd);
        return r;
    }

    struct iop_usb_dev_info info = {
        .busnum = sd->busnum, .devnum = sd->devnum, .speed = sd->speed,
        .port_depth = d->port_depth,
    };
    memcpy(info.port_path, d->port_path, d->port_depth);
    struct iop_usb_dev *dev;
    r = iop_usb_backend_dev_new(e, &info, &dev);
    if (r < 0) {
        sim_dev_free(sd);
        return r;
    }
    struct sim_dev_priv *dp = iop_usb_dev_backend_priv(dev);
    dp->sd = sd;
    sd->dev = dev;
    sd->plugged = true;
    sd->next = s->devs;
    s->devs = sd;
    iop_usb_backend_dev_attach(dev, NULL);
    *ret = sd;
    return 0;
}

int iop_usb_sim_unplug(struct iop_usb_sim_dev *sd) {
    if (!sd || !sd->plugged)
        return -ENODEV;
    sd->plugged = false;
    if (sd->dev)
        iop_usb_backend_dev_gone(sd->dev);
    kick(sd->sim);
    return 0;
}

uint16_t iop_usb_sim_busnum(const struct iop_usb_sim_dev *sd) {
    assert(sd);
    return sd->busnum;
}

uint8_t iop_usb_sim_devnum(const struct iop_usb_sim_dev *sd) {
    assert(sd);
    return sd->devnum;
}

unsigned iop_usb_sim_string_requests(const struct iop_usb_sim_dev *sd) {
    assert(sd);
    return sd->string_requests;
}

uint32_t iop_usb_sim_detached(const struct iop_usb_sim_dev *sd) {
    assert(sd);
    return sd->detached;
}

static struct sim_ep *ep_of(const struct iop_usb_sim_dev *sd, uint8_t addr) {
    if (!sd || (addr & ~(IOP_USB_DIR_IN | IOP_USB_ENDPOINT_NUMBER_MASK)))
        return NULL;
    return (struct sim_ep *)&sd->eps[ep_slot(addr)];
}

int iop_usb_sim_ep_set(struct iop_usb_sim_dev *sd, uint8_t ep_addr,
                       const struct iop_usb_sim_ep_config *cfg) {
    struct sim_ep *ep = ep_of(sd, ep_addr);
    if (!ep || !cfg || ep_slot(ep_addr) == 0 || (cfg->reply_len && !cfg->reply))
        return -EINVAL;
    uint8_t *reply = NULL;
    if (cfg->reply_len) {
        reply = malloc(cfg->reply_len);
        if (!reply)
            return -ENOMEM;
        memcpy(reply, cfg->reply, cfg->reply_len);
    }
    free(ep->reply);
    ep->reply = reply;
    ep->cfg = *cfg;
    ep->cfg.reply = NULL; /* only ep->reply is ours */
    kick(sd->sim);
    return 0;
}

int iop_usb_sim_ep_push(struct iop_usb_sim_dev *sd, uint8_t ep_addr, const void *data,
                        size_t len) {
    struct sim_ep *ep = ep_of(sd, ep_addr);
    if (!ep || ep_slot(ep_addr) == 0 || !(ep_addr & IOP_USB_DIR_IN) || (len && !data))
        return -EINVAL;
    int r = msg_append(ep, data, len);
    if (r < 0)
        return r;
    kick(sd->sim);
    return 0;
}

int iop_usb_sim_ep_fail(struct iop_usb_sim_dev *sd, uint8_t ep_addr, int status, unsigned count) {
    struct sim_ep *ep = ep_of(sd, ep_addr);
    if (!ep || status >= 0)
        return -EINVAL;
    ep->fail_status = status;
    ep->fail_count = count;
    kick(sd->sim);
    return 0;
}

int iop_usb_sim_ep_halt(struct iop_usb_sim_dev *sd, uint8_t ep_addr, bool halted) {
    struct sim_ep *ep = ep_of(sd, ep_addr);
    if (!ep || ep_slot(ep_addr) == 0)
        return -EINVAL;
    ep->halted = halted;
    kick(sd->sim);
    return 0;
}

bool iop_usb_sim_ep_halted(const struct iop_usb_sim_dev *sd, uint8_t ep_addr) {
    const struct sim_ep *ep = ep_of(sd, ep_addr);
    return ep && ep->halted;
}

int iop_usb_sim_ep_stats(const struct iop_usb_sim_dev *sd, uint8_t ep_addr,
                         struct iop_usb_sim_ep_stats *ret) {
    const struct sim_ep *ep = ep_of(sd, ep_addr);
    if (!ep || !ret)
        return -EINVAL;
    *ret = ep->stats;
    return 0;
}

void iop_usb_sim_set_control(struct iop_usb_sim_dev *sd, iop_usb_sim_control_fn fn, void *data) {
    assert(sd);
    sd->control = fn;
    sd->control_data = data;
}

unsigned iop_usb_sim_advance(struct iop_usb_engine *e, uint64_t usec) {
    struct sim *s = engine_sim(e);
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
    struct sim *s = engine_sim(e);
    return s ? sim_now(s) : 0;
}

int iop_usb_sim_frame(const struct iop_usb_sim_dev *sd) {
    assert(sd);
    return (int)(sim_now(sd->sim) / frame_usec(sd->speed));
}
