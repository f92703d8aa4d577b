/* The simulated device's side of a transfer (see backend-sim.h): its endpoints' message
 * queues, and its answers on endpoint 0 (standard requests), bulk, interrupt and ISO
 * endpoints. */
#include "lib/usb/backend-sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/usb/backend-sim-int.h"
#include "lib/usb/backend.h"
#include "lib/usb/descriptors.h"
#include "lib/usb/urb.h"
#include "lib/util/bytes.h"

unsigned sim_ep_slot(uint8_t addr) {
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

int sim_msg_append(struct sim_ep *ep, const void *data, size_t len) {
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

void sim_dev_free(struct iop_usb_sim_dev *sd) {
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
    unsigned slot = sim_ep_slot(ep->cfg.partner);
    return slot == 0 ? NULL : &sd->eps[slot];
}

/* Serve the head URB of a bulk or interrupt endpoint.  Returns 1 done (status in
 * *st), 0 NAK (wait). */
int sim_serve_data(struct iop_usb_sim_dev *sd, struct sim_ep *ep, struct iop_urb *urb,
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
        if (sim_msg_append(in, urb->transfer_buffer, urb->transfer_buffer_length) < 0)
            return 0;
        /* The ZLP ends this transfer and arrives as a transfer of its own. */
        if (zlp)
            (void)sim_msg_append(in, NULL, 0);
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

void sim_serve_iso(struct iop_usb_sim_dev *sd, struct sim_ep *ep, struct sim_urb *su) {
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
int sim_serve_control(struct iop_usb_sim_dev *sd, struct sim_ep *ep0, struct iop_urb *urb,
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
            b[0] = sd->eps[sim_ep_slot((uint8_t)index)].halted ? 1 : 0;
        (void)in_from(urb, b, len < 2 ? len : 2);
        return 1;
    case IOP_USB_REQ_SET_FEATURE:
    case IOP_USB_REQ_CLEAR_FEATURE:
        if (recip == IOP_USB_RECIP_ENDPOINT && value == IOP_USB_ENDPOINT_HALT &&
            sim_ep_slot((uint8_t)index) != 0) {
            struct sim_ep *ep = &sd->eps[sim_ep_slot((uint8_t)index)];
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
