/* The URB lifecycle: allocation and references, submission checks, unlink, kill and
 * the one completion path.  The rules are Documentation/usb/URB.txt's; where the
 * 2.6.18 text and today's drivers/usb/core/{urb,hcd}.c differ, the kernel wins and
 * the comment says so. */
#include "lib/usb/urb.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>

#include "lib/usb/internal.h"
#include "lib/util/bytes.h"
#include "lib/util/cleanup.h"
#include "lib/util/log.h"
#include "lib/util/loop.h"

/* ---- Allocation and references ---- */

static size_t priv_offset(int iso_packets) {
    size_t off = sizeof(struct iop_urb) +
                 (size_t)iso_packets * sizeof(struct iop_iso_packet_descriptor);
    size_t a = alignof(max_align_t);
    return (off + a - 1) / a * a;
}

int iop_urb_alloc(int iso_packets, struct iop_urb **ret) {
    assert(ret);
    if (iso_packets < 0)
        return -EINVAL;
    if (iso_packets > IOP_URB_ISO_ALLOC_MAX)
        return -EFBIG;
    size_t off = priv_offset(iso_packets);
    struct iop_urb *urb = calloc(1, off + sizeof(struct iop_urb_private));
    if (!urb)
        return -ENOMEM;
    struct iop_urb_private *p = (struct iop_urb_private *)((char *)urb + off);
    p->urb = urb;
    p->refcount = 1;
    p->iso_alloc = iso_packets;
    urb->priv = p;
    *ret = urb;
    return 0;
}

struct iop_urb *iop_urb_get(struct iop_urb *urb) {
    if (urb) {
        assert(urb->priv->refcount > 0);
        urb->priv->refcount++;
    }
    return urb;
}

static void bound_unlink(struct iop_usb_engine *e, struct iop_urb_private *p) {
    if (p->bound_prev)
        p->bound_prev->bound_next = p->bound_next;
    else
        e->bound = p->bound_next;
    if (p->bound_next)
        p->bound_next->bound_prev = p->bound_prev;
    p->bound_prev = p->bound_next = NULL;
    free(p->backend_area);
    p->backend_area = NULL;
    p->bound = NULL;
}

void iop_urb_unbind(struct iop_urb *urb) {
    struct iop_urb_private *p = urb->priv;
    struct iop_usb_engine *e = p->bound;
    if (!e)
        return;
    assert(!p->linked);
    if (e->backend->urb_release)
        e->backend->urb_release(e, urb);
    bound_unlink(e, p);
}

struct iop_urb *iop_urb_free(struct iop_urb *urb) {
    if (!urb)
        return NULL;
    struct iop_urb_private *p = urb->priv;
    assert(p->refcount > 0);
    if (--p->refcount > 0)
        return NULL;
    /* Submission holds a reference, so the last one cannot go while linked. */
    assert(!p->linked && p->use_count == 0);
    iop_urb_unbind(urb);
    free(urb);
    return NULL;
}

/* Give the URB the backend area of engine e (once; kept across resubmissions). */
static int bind(struct iop_usb_engine *e, struct iop_urb *urb) {
    struct iop_urb_private *p = urb->priv;
    if (p->bound == e)
        return 0;
    iop_urb_unbind(urb);
    p->backend_area = calloc(1, e->backend->urb_priv_size ? e->backend->urb_priv_size : 1);
    if (!p->backend_area)
        return -ENOMEM;
    p->bound = e;
    p->bound_next = e->bound;
    if (e->bound)
        e->bound->bound_prev = p;
    e->bound = p;
    if (e->backend->urb_init) {
        int r = e->backend->urb_init(e, urb, p->iso_alloc);
        if (r < 0) {
            bound_unlink(e, p); /* urb_init made nothing that urb_release must undo */
            return r;
        }
    }
    return 0;
}

void *iop_urb_backend_priv(struct iop_urb *urb) {
    assert(urb);
    return urb->priv->backend_area;
}

const struct iop_usb_ep_info *iop_urb_endpoint(const struct iop_urb *urb) {
    assert(urb);
    return &urb->priv->ep;
}

int iop_urb_set_timeout(struct iop_urb *urb, uint32_t timeout_ms) {
    if (!urb)
        return -EINVAL;
    if (urb->priv->linked)
        return -EBUSY;
    urb->priv->timeout_ms = timeout_ms;
    return 0;
}

uint32_t iop_urb_timeout(const struct iop_urb *urb) {
    assert(urb);
    return urb->priv->timeout_ms;
}

/* ---- Submission ---- */

static int ilog2_floor(int v) {
    int r = 0;
    while (v >>= 1)
        r++;
    return r;
}

int iop_urb_round_interval(enum iop_usb_speed speed, int xfer, int interval) {
    if (xfer != IOP_XFER_ISOC && xfer != IOP_XFER_INT)
        return interval;
    if (interval <= 0)
        return -EINVAL;
    int max;
    switch (speed) {
    case IOP_USB_SPEED_SUPER:
    case IOP_USB_SPEED_SUPER_PLUS:
        /* Units are 125 us; up to 2^(16-1) microframes. */
        if (interval > (1 << 15))
            return -EINVAL;
        max = 1 << 15;
        break;
    case IOP_USB_SPEED_HIGH:
        /* Microframes; the kernel clamps (does not refuse) above 1024 frames. */
        if (interval > 1024 * 8)
            interval = 1024 * 8;
        max = 1024 * 8;
        break;
    case IOP_USB_SPEED_FULL:
    case IOP_USB_SPEED_LOW:
        /* Frames.  INT: bInterval is 1..255 at these speeds; OHCI handles 32, the
         * kernel allows 128.  ISO: clamped to 1024. */
        if (xfer == IOP_XFER_INT) {
            if (interval > 255)
                return -EINVAL;
            max = 128;
        } else {
            if (interval > 1024)
                interval = 1024;
            max = 1024;
        }
        break;
    default:
        return -EINVAL;
    }
    int p2 = 1 << ilog2_floor(interval);
    return p2 < max ? p2 : max;
}

enum iop_urb_set_request iop_urb_set_request(const struct iop_urb *urb) {
    const uint8_t *s = urb ? urb->setup_packet : NULL;
    if (!s || urb->xfer != IOP_XFER_CONTROL || urb->endpoint != 0)
        return IOP_URB_PLAIN;
    if (s[0] == (IOP_USB_TYPE_STANDARD | IOP_USB_RECIP_INTERFACE) && s[1] == IOP_USB_REQ_SET_INTERFACE)
        return IOP_URB_SET_INTERFACE;
    if (s[0] == (IOP_USB_TYPE_STANDARD | IOP_USB_RECIP_DEVICE) && s[1] == IOP_USB_REQ_SET_CONFIGURATION)
        return IOP_URB_SET_CONFIGURATION;
    return IOP_URB_PLAIN;
}

/* SET_INTERFACE and SET_CONFIGURATION, as usbfs's USBDEVFS_SETINTERFACE and
 * USBDEVFS_SETCONFIGURATION take them: the interface claimed (usbfs would claim it
 * for the caller; the engine only acts on what iopd holds), a device the engine holds
 * for a configuration change; the altsetting or configuration must exist
 * (usb_set_interface() and usb_set_configuration(): -EINVAL); no data stage (the
 * ioctls have none). */
static int validate_set_request(const struct iop_urb *urb, const struct iop_usb_dev *dev) {
    enum iop_urb_set_request kind = iop_urb_set_request(urb);
    if (kind == IOP_URB_PLAIN)
        return 0;
    uint16_t value = iop_get_le16(urb->setup_packet + 2), index = iop_get_le16(urb->setup_packet + 4);
    if (urb->transfer_buffer_length != 0 || value > 0xff)
        return -EINVAL;
    if (kind == IOP_URB_SET_INTERFACE) {
        if (index >= IOP_USB_MAX_INTERFACES || !(dev->claimed & (1u << index)))
            return -EACCES;
        const struct dev_config *c = iop_usb_dev_config_by_value(dev, dev->active_config);
        if (!c || !iop_usb_config_has_altsetting(c->buf, c->len, (uint8_t)index, (uint8_t)value))
            return -EINVAL;
        return 0;
    }
    if (!dev->held)
        return -EACCES;
    if (value != 0 && !iop_usb_dev_config_by_value(dev, (uint8_t)value))
        return -EINVAL;
    return 0;
}

/* What usbfs does before those ioctls (destroy_async_on_interface, and releasing
 * every interface for a configuration change): the URBs on the endpoints they end
 * are discarded and complete with -ENOENT.  Endpoint 0 is not affected. */
static void discard_ended(struct iop_usb_dev *dev, const struct iop_urb *urb) {
    enum iop_urb_set_request kind = iop_urb_set_request(urb);
    if (kind == IOP_URB_PLAIN)
        return;
    uint8_t ifnum = urb->setup_packet[4];
    for (struct iop_urb *u = dev->inflight; u; u = u->priv->inflight_next) {
        const struct iop_urb_private *q = u->priv;
        if ((q->ep.address & IOP_USB_ENDPOINT_NUMBER_MASK) == 0 ||
            (kind == IOP_URB_SET_INTERFACE && q->ep.interface != ifnum))
            continue;
        (void)iop_urb_discard(u); /* -EBUSY if already being cancelled: fine */
    }
}

/* The claim list holds for endpoint 0 too.  A request naming an interface, or an
 * endpoint of one, needs that interface claimed (the kernel's usbfs check_ctrlrecip(),
 * which would otherwise claim a free interface behind iopd's back or fail with EBUSY on
 * one a driver has); class and vendor requests need a claimed interface; and on a
 * device with none claimed only standard device-to-host requests pass: iopd reads what
 * lsusb shows but never changes a device that a kernel driver, or nobody, owns
 * (SET_ADDRESS, SET_CONFIGURATION, SET_FEATURE ... were allowed there before). */
static bool control_allowed(const struct iop_usb_dev *dev, const uint8_t *s) {
    uint8_t type = s[0] & IOP_USB_TYPE_MASK, recip = s[0] & IOP_USB_RECIP_MASK;
    unsigned index = iop_get_le16(s + 4) & 0xff;
    if (type == IOP_USB_TYPE_VENDOR)
        return dev->claimed; /* usbfs passes vendor requests on without a recipient check */
    if (recip == IOP_USB_RECIP_INTERFACE)
        return index < IOP_USB_MAX_INTERFACES && (dev->claimed & (1u << index));
    if (recip == IOP_USB_RECIP_ENDPOINT && (index & IOP_USB_ENDPOINT_NUMBER_MASK) != 0) {
        const struct dev_ep *ep = iop_usb_dev_endpoint(dev, index & IOP_USB_ENDPOINT_NUMBER_MASK,
                                                      (index & IOP_USB_DIR_IN) != 0);
        return ep && ep->info.interface < IOP_USB_MAX_INTERFACES &&
               (dev->claimed & (1u << ep->info.interface));
    }
    /* The device itself (or endpoint 0 as recipient): changing it takes a device iopd
     * holds (after SET_CONFIGURATION 0 no interface is claimed, yet it is still ours). */
    if (type == IOP_USB_TYPE_STANDARD && (s[0] & IOP_USB_DIR_IN))
        return true;
    return dev->claimed != 0 || dev->held;
}

/* The checks usb_submit_urb() makes before the URB reaches the HCD (and usbmon):
 * none of these failures is seen by the monitor. */
static int validate(struct iop_urb *urb, struct iop_usb_dev *dev, const struct dev_ep **ret_ep) {
    struct iop_urb_private *p = urb->priv;

    if (urb->xfer > IOP_XFER_BULK)
        return -EINVAL;
    if (urb->transfer_buffer_length > 0 && !urb->transfer_buffer)
        return -EINVAL;

    /* Control endpoints are bidirectional; the table holds them in both halves. */
    if (urb->endpoint >= IOP_USB_ENDPOINTS)
        return -ENOENT;
    const struct dev_ep *ep = iop_usb_dev_endpoint(dev, urb->endpoint,
                                                   urb->xfer == IOP_XFER_CONTROL ? false
                                                                                 : urb->dir_in);
    if (!ep)
        return -ENOENT;
    /* The kernel takes the type from the endpoint and only warns on a mismatch; here
     * the URB's type drives the backend, so a mismatch is refused. */
    if (iop_usb_ep_xfer(&ep->info) != urb->xfer)
        return -ENOEXEC;

    const uint8_t *setup = urb->setup_packet;
    if (urb->xfer == IOP_XFER_CONTROL) {
        if (!setup)
            return -ENOEXEC;
        if (iop_get_le16(setup + 6) != urb->transfer_buffer_length)
            return -EBADR;
    }
    if (iop_usb_ep_maxp(&ep->info) == 0)
        return -EMSGSIZE;

    if (urb->xfer == IOP_XFER_ISOC) {
        if (urb->number_of_packets <= 0 || urb->number_of_packets > p->iso_alloc)
            return -EINVAL;
        if (urb->number_of_packets > IOP_URB_ISO_PACKETS_MAX)
            return -EFBIG;
        uint32_t max = iop_usb_ep_iso_max(&ep->info, dev->info.speed);
        for (int n = 0; n < urb->number_of_packets; n++) {
            const struct iop_iso_packet_descriptor *d = &urb->iso_frame_desc[n];
            if (d->length > max)
                return -EMSGSIZE;
            /* The kernel trusts offsets (they are DMA addresses it maps); here they
             * index a caller's buffer, so they must lie inside it. */
            if (d->offset > urb->transfer_buffer_length ||
                d->length > urb->transfer_buffer_length - d->offset)
                return -EINVAL;
        }
    }
    if (urb->transfer_buffer_length > IOP_URB_TRANSFER_MAX)
        return -EMSGSIZE;

    if (urb->endpoint == 0) {
        if (!control_allowed(dev, setup))
            return -EACCES;
        int r = validate_set_request(urb, dev);
        if (r < 0)
            return r;
    } else if (ep->info.interface >= IOP_USB_MAX_INTERFACES ||
               !(dev->claimed & (1u << ep->info.interface))) {
        return -EACCES;
    }

    if (urb->xfer == IOP_XFER_INT || urb->xfer == IOP_XFER_ISOC) {
        int r = iop_urb_round_interval(dev->info.speed, urb->xfer, urb->interval);
        if (r < 0)
            return r;
        urb->interval = r;
    }
    if (urb->xfer == IOP_XFER_ISOC &&
        dev->iso_queued[urb->endpoint + (urb->dir_in ? IOP_USB_ENDPOINTS : 0)] >=
            IOP_URB_ISO_QUEUE_MAX)
        return -EAGAIN;

    *ret_ep = ep;
    return 0;
}

/* The ISO queue counter of the endpoint an URB was validated against. */
static unsigned iso_slot(const struct iop_urb_private *p) {
    return (p->ep.address & IOP_USB_ENDPOINT_NUMBER_MASK) + (p->dir_in ? IOP_USB_ENDPOINTS : 0);
}

int iop_urb_iso_packets(const struct iop_urb *urb) {
    assert(urb);
    return urb->priv->iso_packets;
}

int iop_urb_submit(struct iop_urb *urb) {
    if (!urb || !urb->complete)
        return -EINVAL;
    struct iop_urb_private *p = urb->priv;
    /* Kernel: -EBUSY ("URB submitted while active"); URB.txt said -EINVAL. */
    if (p->linked)
        return -EBUSY;
    struct iop_usb_dev *dev = urb->dev;
    if (!dev || !dev->engine || dev->state == DEV_GONE || dev->state == DEV_NEW)
        return -ENODEV;
    struct iop_usb_engine *e = dev->engine;

    const struct dev_ep *ep = NULL;
    int r = validate(urb, dev, &ep);
    if (r < 0)
        return r;
    discard_ended(dev, urb);

    urb->status = -EINPROGRESS;
    urb->actual_length = 0;
    urb->error_count = 0;
    if (urb->xfer == IOP_XFER_CONTROL)
        urb->dir_in = (urb->setup_packet[0] & IOP_USB_DIR_IN) != 0;
    urb->busnum = dev->info.busnum;
    urb->devnum = dev->info.devnum;
    if (urb->xfer == IOP_XFER_ISOC)
        for (int n = 0; n < urb->number_of_packets; n++) {
            urb->iso_frame_desc[n].status = -EXDEV;
            urb->iso_frame_desc[n].actual_length = 0;
        }
    p->ep = ep->info;
    p->xfer = urb->xfer;
    p->dir_in = urb->dir_in;
    p->iso_packets = urb->xfer == IOP_XFER_ISOC ? urb->number_of_packets : 0;
    p->unlinked = 0;

    /* From here the URB is the engine's (usb_hcd_submit_urb): it holds a reference on
     * the URB and on the device until the handler has returned, and the monitor sees
     * it, so errors from here on are reported to it. */
    p->refcount++; /* iop_urb_get and iop_usb_dev_ref, inline */
    dev->refcount++;
    p->use_count++;
    p->sub_dev = dev;
    if (e->monitor && e->monitor->submit)
        e->monitor->submit(e->monitor->ctx, urb);

    if (p->reject)
        r = -EPERM; /* usb_hcd_link_urb_to_ep: the URB is being killed */
    else if (e->dying)
        r = -ESHUTDOWN; /* the host controller is not running */
    else
        r = bind(e, urb);
    if (r == 0) {
        p->linked = true;
        iop_usb_dev_inflight_add(dev, urb);
        if (urb->xfer == IOP_XFER_ISOC)
            dev->iso_queued[iso_slot(p)]++;
        r = e->backend->submit(urb);
        if (r < 0) {
            p->linked = false;
            iop_usb_dev_inflight_remove(dev, urb);
            if (urb->xfer == IOP_XFER_ISOC)
                dev->iso_queued[iso_slot(p)]--;
        }
    }
    if (r < 0) {
        if (e->monitor && e->monitor->submit_error)
            e->monitor->submit_error(e->monitor->ctx, urb, r);
        p->use_count--;
        p->sub_dev = NULL;
        iop_usb_dev_unref(dev);
        iop_urb_free(urb); /* the engine's reference; the caller still holds one */
        return r;
    }
    return 0;
}

/* ---- Cancellation ---- */

/* iop_urb_kill waits for backend events in slices this long, so that its deadline
 * is checked even when events keep arriving for other URBs. */
#define KILL_SLICE_MS 100

static int cancel_with(struct iop_urb *urb, int status) {
    if (!urb)
        return -EINVAL;
    struct iop_urb_private *p = urb->priv;
    /* usb_hcd_check_unlink_urb: not on the endpoint queue -EIDRM, already -EBUSY. */
    if (!p->linked)
        return -EIDRM;
    if (p->unlinked)
        return -EBUSY;
    p->unlinked = status;
    struct iop_usb_engine *e = p->sub_dev->engine;
    int r = e->backend->cancel(urb);
    if (r < 0)
        iop_debug("usb %u-%u: cancel of ep %u: %d; the URB completes anyway", urb->busnum,
                  urb->devnum, urb->endpoint, r);
    return 0;
}

int iop_urb_unlink(struct iop_urb *urb) { return cancel_with(urb, -ECONNRESET); }

int iop_urb_discard(struct iop_urb *urb) { return cancel_with(urb, -ENOENT); }

int iop_urb_kill(struct iop_urb *urb) {
    if (!urb)
        return 0;
    struct iop_urb_private *p = urb->priv;
    if (p->use_count == 0)
        return 0;
    /* use_count > 0 and not linked only happens while the handler runs, i.e. we are
     * inside a completion handler; and from any handler the backend's event
     * processing cannot be re-entered. */
    struct iop_usb_dev *dev = p->sub_dev;
    if (!dev || dev->engine->giveback_depth > 0)
        return -EDEADLK;
    struct iop_usb_engine *e = dev->engine;

    iop_urb_get(urb);
    p->reject++;
    if (p->linked && !p->unlinked) {
        p->unlinked = -ENOENT;
        (void)e->backend->cancel(urb);
    }
    uint64_t deadline = iop_loop_now_usec() + (uint64_t)IOP_URB_KILL_TIMEOUT_MS * 1000u;
    int r = 0;
    while (p->use_count > 0) {
        uint64_t now = iop_loop_now_usec();
        if (now >= deadline) {
            r = -ETIMEDOUT;
            iop_err("usb %u-%u: ep %u URB not given back %d ms after kill", urb->busnum,
                    urb->devnum, urb->endpoint, IOP_URB_KILL_TIMEOUT_MS);
            break;
        }
        int wait_ms = (int)((deadline - now + 999) / 1000);
        int rr = e->backend->handle_events(e, IOP_MIN(wait_ms, KILL_SLICE_MS));
        if (rr < 0 && rr != -EINTR) {
            r = rr;
            break;
        }
    }
    p->reject--;
    iop_urb_free(urb);
    return r;
}

/* ---- Completion ---- */

void iop_urb_giveback(struct iop_urb *urb, int status) {
    assert(urb);
    struct iop_urb_private *p = urb->priv;
    assert(p->linked);
    struct iop_usb_dev *dev = p->sub_dev;
    struct iop_usb_engine *e = dev->engine;

    p->linked = false;
    iop_usb_dev_inflight_remove(dev, urb);

    /* usb_hcd_giveback_urb: an unlink's status wins over what the hardware did. */
    if (p->unlinked)
        status = p->unlinked;
    if (p->xfer == IOP_XFER_ISOC) {
        dev->iso_queued[iso_slot(p)]--;
        uint32_t total = 0;
        int errors = 0;
        for (int n = 0; n < p->iso_packets; n++) {
            struct iop_iso_packet_descriptor *d = &urb->iso_frame_desc[n];
            if (d->actual_length > d->length)
                d->actual_length = d->length; /* a backend never reports more */
            total += d->actual_length;
            if (d->status != 0)
                errors++;
        }
        urb->actual_length = total;
        urb->error_count = errors;
    } else {
        if (urb->actual_length > urb->transfer_buffer_length)
            urb->actual_length = urb->transfer_buffer_length;
        if (status == 0 && (urb->transfer_flags & IOP_URB_SHORT_NOT_OK) &&
            urb->actual_length < urb->transfer_buffer_length)
            status = -EREMOTEIO;
    }
    urb->status = status;
    if (p->xfer == IOP_XFER_CONTROL)
        iop_usb_dev_note_control(dev, urb, status);

    if (e->monitor && e->monitor->complete)
        e->monitor->complete(e->monitor->ctx, urb, status);

    /* Pass ownership to the handler.  It may free (our reference keeps the memory),
     * modify or resubmit the URB, so past this point only our own references are
     * touched: the device's, the use count and the URB's refcount. */
    p->sub_dev = NULL;
    e->giveback_depth++;
    urb->complete(urb);
    e->giveback_depth--;
    p->use_count--;
    /* Drop both references; the calls only when they might be the last ones. */
    if (dev->refcount > 1)
        dev->refcount--;
    else
        iop_usb_dev_unref(dev);
    if (p->refcount > 1)
        p->refcount--;
    else
        iop_urb_free(urb);
}
