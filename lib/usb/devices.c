/* Device handles and the per-engine registry, with tty.txt's ldisc reference rules
 * (see devices.h). */
#include "lib/usb/devices.h"

#include <assert.h>
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "lib/usb/internal.h"
#include "lib/util/bytes.h"
#include "lib/util/cleanup.h"
#include "lib/util/log.h"
#include "lib/util/loop.h"

/* ---- Creation (by backends) ---- */

int iop_usb_backend_dev_new(struct iop_usb_engine *e, const struct iop_usb_dev_info *info,
                            struct iop_usb_dev **ret) {
    assert(e && info && ret);
    if (info->port_depth > IOP_USB_MAX_PORTS)
        return -EINVAL;
    size_t a = alignof(max_align_t);
    size_t off = (sizeof(struct iop_usb_dev) + a - 1) / a * a;
    struct iop_usb_dev *dev = calloc(1, off + e->backend->dev_priv_size);
    if (!dev)
        return -ENOMEM;
    dev->engine = e;
    dev->refcount = 1; /* the registry's */
    dev->registered = true;
    dev->state = DEV_NEW;
    dev->info = *info;
    dev->backend_priv = (char *)dev + off;
    iop_usb_dev_rebuild_endpoints(dev);
    dev->next = e->devs;
    e->devs = dev;
    *ret = dev;
    return 0;
}

void iop_usb_backend_dev_attach(struct iop_usb_dev *dev, const uint8_t *cached_desc) {
    assert(dev && dev->state == DEV_NEW);
    dev->state = DEV_ENUMERATING;
    dev->attached_usec = iop_loop_now_usec();
    int r = iop_usb_enum_start(dev, cached_desc);
    if (r < 0) {
        iop_warn("usb %u-%u: cannot read descriptors: %s", dev->info.busnum, dev->info.devnum,
                 strerror(-r));
        if (cached_desc)
            memcpy(dev->desc, cached_desc, sizeof(dev->desc));
        iop_usb_dev_rebuild_endpoints(dev);
        iop_usb_dev_publish(dev);
    }
}

void iop_usb_backend_dev_gone(struct iop_usb_dev *dev) {
    assert(dev);
    iop_usb_dev_hangup(dev, -ENODEV);
}

void *iop_usb_dev_backend_priv(struct iop_usb_dev *dev) {
    assert(dev);
    return dev->backend_priv;
}

struct iop_usb_engine *iop_usb_dev_engine(const struct iop_usb_dev *dev) {
    assert(dev);
    return dev->engine;
}

bool iop_usb_dev_detach_kernel_driver(const struct iop_usb_dev *dev) {
    assert(dev);
    return dev->detach_kernel_driver;
}

void iop_usb_dev_publish(struct iop_usb_dev *dev) {
    if (dev->state != DEV_ENUMERATING)
        return;
    dev->state = DEV_LIVE;
    iop_debug("usb %u-%u: registered %04x:%04x, descriptors read in %llu ms", dev->info.busnum,
              dev->info.devnum, iop_usb_dev_vid(dev), iop_usb_dev_pid(dev),
              (unsigned long long)((iop_loop_now_usec() - dev->attached_usec) / 1000));
    iop_usb_dev_ref(dev); /* the callbacks may unplug it */
    iop_usb_engine_notify(dev->engine, dev, IOP_USB_HOTPLUG_ADD);
    iop_usb_dev_unref(dev);
}

/* ---- References ---- */

struct iop_usb_dev *iop_usb_dev_ref(struct iop_usb_dev *dev) {
    assert(dev && dev->refcount > 0);
    dev->refcount++;
    return dev;
}

void iop_usb_dev_release_backend(struct iop_usb_dev *dev) {
    if (dev->released || !dev->engine)
        return;
    dev->released = true;
    dev->engine->backend->dev_release(dev);
}

static void dev_free(struct iop_usb_dev *dev) {
    assert(dev->n_inflight == 0);
    if (dev->drained_fn)
        dev->drained_fn(dev->drained_data, dev);
    if (dev->engine) {
        iop_usb_dev_release_backend(dev);
        for (struct iop_usb_dev **pp = &dev->engine->devs; *pp; pp = &(*pp)->next)
            if (*pp == dev) {
                *pp = dev->next;
                break;
            }
    }
    iop_usb_enum_free(dev->enumr);
    for (unsigned i = 0; i < IOP_USB_MAX_CONFIGS; i++)
        free(dev->configs[i].buf);
    for (unsigned i = 0; i < IOP_USB_DEV_STRINGS; i++)
        free(dev->strings[i]);
    while (dev->hangups) {
        struct dev_hangup *h = dev->hangups;
        dev->hangups = h->next;
        free(h);
    }
    free(dev);
}

struct iop_usb_dev *iop_usb_dev_unref(struct iop_usb_dev *dev) {
    if (!dev)
        return NULL;
    assert(dev->refcount > 0);
    if (--dev->refcount == 0)
        dev_free(dev);
    return NULL;
}

/* ---- Lookups ---- */

int iop_usb_dev_ref_by_addr(struct iop_usb_engine *e, uint16_t busnum, uint8_t devnum,
                            struct iop_usb_dev **ret) {
    assert(e && ret);
    for (struct iop_usb_dev *d = e->devs; d; d = d->next)
        if (d->state == DEV_LIVE && d->info.busnum == busnum && d->info.devnum == devnum) {
            *ret = iop_usb_dev_ref(d);
            return 0;
        }
    return -ENODEV;
}

int iop_usb_dev_ref_by_path(struct iop_usb_engine *e, uint16_t busnum, const uint8_t *ports,
                            size_t depth, struct iop_usb_dev **ret) {
    assert(e && ret);
    if (depth > IOP_USB_MAX_PORTS || (depth > 0 && !ports))
        return -EINVAL;
    for (struct iop_usb_dev *d = e->devs; d; d = d->next)
        if (d->state == DEV_LIVE && d->info.busnum == busnum && d->info.port_depth == depth &&
            (depth == 0 || memcmp(d->info.port_path, ports, depth) == 0)) {
            *ret = iop_usb_dev_ref(d);
            return 0;
        }
    return -ENODEV;
}

int iop_usb_dev_ref_next(struct iop_usb_engine *e, uint16_t busnum, uint8_t devnum,
                         struct iop_usb_dev **ret) {
    assert(e && ret);
    uint32_t after = (uint32_t)busnum << 8 | devnum;
    struct iop_usb_dev *best = NULL;
    uint32_t best_key = UINT32_MAX;
    for (struct iop_usb_dev *d = e->devs; d; d = d->next) {
        if (d->state != DEV_LIVE)
            continue;
        uint32_t key = (uint32_t)d->info.busnum << 8 | d->info.devnum;
        if (key > after && key < best_key) {
            best = d;
            best_key = key;
        }
    }
    if (!best)
        return -ENODEV;
    *ret = iop_usb_dev_ref(best);
    return 0;
}

/* ---- Hangup, unregister ---- */

void iop_usb_dev_hangup(struct iop_usb_dev *dev, int status) {
    if (dev->state == DEV_GONE)
        return;
    bool was_live = dev->state == DEV_LIVE;
    dev->state = DEV_GONE; /* from now on lookups fail and submits get -ENODEV */
    iop_usb_dev_ref(dev);  /* the callbacks below may drop the others */

    /* URBs in flight complete (later, from the backend) with status: the backend's
     * cancel never gives back from inside, so the list is stable here. */
    for (struct iop_urb *u = dev->inflight; u; u = u->priv->inflight_next) {
        if (!u->priv->unlinked)
            u->priv->unlinked = status;
        if (dev->engine)
            (void)dev->engine->backend->cancel(u);
    }
    iop_debug("usb %u-%u: hung up (%d), %u URBs in flight", dev->info.busnum, dev->info.devnum,
              status, dev->n_inflight);

    /* Wake whoever asked (readers blocked on this device), each exactly once. */
    while (dev->hangups) {
        struct dev_hangup *h = dev->hangups;
        dev->hangups = h->next;
        iop_usb_dev_fn fn = h->fn;
        void *data = h->data;
        free(h);
        fn(data, dev);
    }
    if (was_live && dev->engine)
        iop_usb_engine_notify(dev->engine, dev, IOP_USB_HOTPLUG_REMOVE);
    if (dev->registered) {
        dev->registered = false;
        iop_usb_dev_unref(dev);
    }
    iop_usb_dev_unref(dev);
}

int iop_usb_dev_unregister(struct iop_usb_engine *e, uint16_t busnum, uint8_t devnum) {
    assert(e);
    struct iop_usb_dev *dev = NULL;
    for (struct iop_usb_dev *d = e->devs; d; d = d->next)
        if (d->state == DEV_LIVE && d->info.busnum == busnum && d->info.devnum == devnum)
            dev = d;
    if (!dev)
        return -ENODEV;
    /* tty_unregister_ldisc: refuse while anyone uses it (only the registry's own
     * reference may remain, and no URB may be in flight). */
    if (dev->refcount > 1 || dev->n_inflight > 0)
        return -EBUSY;
    iop_usb_dev_hangup(dev, -ENODEV);
    return 0;
}

int iop_usb_dev_add_hangup(struct iop_usb_dev *dev, iop_usb_dev_fn fn, void *data) {
    assert(dev && fn);
    if (dev->state == DEV_GONE)
        return -ENODEV;
    for (struct dev_hangup *h = dev->hangups; h; h = h->next)
        if (h->fn == fn && h->data == data)
            return -EEXIST;
    struct dev_hangup *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->fn = fn;
    h->data = data;
    h->next = dev->hangups;
    dev->hangups = h;
    return 0;
}

int iop_usb_dev_remove_hangup(struct iop_usb_dev *dev, iop_usb_dev_fn fn, void *data) {
    assert(dev);
    for (struct dev_hangup **pp = &dev->hangups; *pp; pp = &(*pp)->next)
        if ((*pp)->fn == fn && (*pp)->data == data) {
            struct dev_hangup *h = *pp;
            *pp = h->next;
            free(h);
            return 0;
        }
    return -ENOENT;
}

void iop_usb_dev_set_drained(struct iop_usb_dev *dev, iop_usb_dev_fn fn, void *data) {
    assert(dev);
    dev->drained_fn = fn;
    dev->drained_data = fn ? data : NULL;
}

/* ---- Endpoints ---- */

const struct dev_config *iop_usb_dev_config_by_value(const struct iop_usb_dev *dev, uint8_t value) {
    if (value == 0)
        return NULL;
    for (unsigned i = 0; i < dev->n_configs; i++) {
        const struct dev_config *c = &dev->configs[i];
        struct iop_usb_config_header h;
        if (c->buf && iop_usb_config_header(c->buf, c->len, &h) == 0 && h.value == value)
            return c;
    }
    return NULL;
}

static const struct dev_config *active_config(const struct iop_usb_dev *dev) {
    return iop_usb_dev_config_by_value(dev, dev->active_config);
}

void iop_usb_dev_rebuild_endpoints(struct iop_usb_dev *dev) {
    memset(dev->ep_in, 0, sizeof(dev->ep_in));
    memset(dev->ep_out, 0, sizeof(dev->ep_out));

    /* Endpoint 0 exists in every state.  bMaxPacketSize0 is an exponent at 3.x
     * (bcdUSB >= 0x0300); before the descriptor is read, 8 bytes is what every device
     * takes. */
    uint16_t maxp0 = 8;
    if (dev->desc[1] == IOP_USB_DT_DEVICE) {
        uint16_t bcd = iop_get_le16(dev->desc + 2);
        maxp0 = bcd >= 0x0300 ? (uint16_t)(1u << (dev->desc[7] & 0xf)) : dev->desc[7];
    }
    struct iop_usb_ep_info ep0 = {
        .address = 0, .attributes = IOP_USB_ENDPOINT_XFER_CONTROL, .max_packet = maxp0,
    };
    dev->ep_in[0] = dev->ep_out[0] = (struct dev_ep){ .present = true, .info = ep0 };

    const struct dev_config *c = active_config(dev);
    if (!c)
        return;
    struct iop_usb_ep_info eps[2 * IOP_USB_ENDPOINTS];
    int n = iop_usb_config_endpoints(c->buf, c->len, dev->alts, IOP_USB_MAX_INTERFACES, eps,
                                     IOP_ARRAY_SIZE(eps));
    if (n < 0)
        return;
    if (n > (int)IOP_ARRAY_SIZE(eps))
        n = IOP_ARRAY_SIZE(eps);
    for (int i = 0; i < n; i++) {
        unsigned num = eps[i].address & IOP_USB_ENDPOINT_NUMBER_MASK;
        struct dev_ep *slot = (eps[i].address & IOP_USB_DIR_IN) ? &dev->ep_in[num]
                                                                 : &dev->ep_out[num];
        *slot = (struct dev_ep){ .present = true, .info = eps[i] };
    }
}

void iop_usb_dev_note_control(struct iop_usb_dev *dev, const struct iop_urb *urb, int status) {
    const uint8_t *s = urb->setup_packet;
    uint16_t value = iop_get_le16(s + 2), index = iop_get_le16(s + 4);
    if (status != 0) {
        dev->claimed &= ~dev->claims_lost; /* a failed SET_CONFIGURATION may lose claims too */
        dev->claims_lost = 0;
        return;
    }
    switch (iop_urb_set_request(urb)) {
    case IOP_URB_SET_CONFIGURATION:
        /* Claims stay where the new configuration has the interface and the backend
         * could take it again. */
        dev->claimed = iop_usb_dev_claims_kept(dev, (uint8_t)value) & ~dev->claims_lost;
        dev->active_config = (uint8_t)value;
        memset(dev->alts, 0, sizeof(dev->alts));
        iop_usb_dev_rebuild_endpoints(dev);
        break;
    case IOP_URB_SET_INTERFACE:
        dev->alts[index & 0xff] = (uint8_t)value; /* validated: < IOP_USB_MAX_INTERFACES */
        iop_usb_dev_rebuild_endpoints(dev);
        break;
    case IOP_URB_PLAIN:
        break;
    }
    dev->claims_lost = 0;
}

uint32_t iop_usb_dev_claims(const struct iop_usb_dev *dev) {
    assert(dev);
    return dev->claimed;
}

uint32_t iop_usb_dev_claims_kept(const struct iop_usb_dev *dev, uint8_t config_value) {
    assert(dev);
    const struct dev_config *c = iop_usb_dev_config_by_value(dev, config_value);
    return c ? dev->claimed & iop_usb_config_interfaces(c->buf, c->len) : 0;
}

void iop_usb_backend_dev_claims_lost(struct iop_usb_dev *dev, uint32_t mask) {
    assert(dev);
    dev->claims_lost |= mask;
}

uint8_t iop_usb_dev_altsetting(const struct iop_usb_dev *dev, uint8_t ifnum) {
    assert(dev);
    return ifnum < IOP_USB_MAX_INTERFACES ? dev->alts[ifnum] : 0;
}

/* ---- Claiming ---- */

int iop_usb_dev_claim_interface(struct iop_usb_dev *dev, uint8_t ifnum) {
    assert(dev);
    if (dev->state == DEV_GONE || !dev->engine)
        return -ENODEV;
    if (ifnum >= IOP_USB_MAX_INTERFACES)
        return -EINVAL;
    const struct dev_config *c = active_config(dev);
    if (c && !iop_usb_config_has_altsetting(c->buf, c->len, ifnum, dev->alts[ifnum]))
        return -ENOENT;
    if (dev->claimed & (1u << ifnum))
        return 0;
    int r = dev->engine->backend->claim_interface(dev, ifnum);
    if (r < 0)
        return r;
    dev->claimed |= 1u << ifnum;
    dev->held = true;
    return 0;
}

int iop_usb_dev_release_interface(struct iop_usb_dev *dev, uint8_t ifnum) {
    assert(dev);
    if (ifnum >= IOP_USB_MAX_INTERFACES || !(dev->claimed & (1u << ifnum)))
        return -ENOENT;
    dev->claimed &= ~(1u << ifnum);
    if (!dev->claimed)
        dev->held = false;
    if (dev->state == DEV_GONE || !dev->engine)
        return 0; /* released with the device */
    return dev->engine->backend->release_interface(dev, ifnum);
}

bool iop_usb_dev_claimed(const struct iop_usb_dev *dev) {
    assert(dev);
    return dev->claimed != 0;
}

bool iop_usb_dev_interface_claimed(const struct iop_usb_dev *dev, uint8_t ifnum) {
    assert(dev);
    return ifnum < IOP_USB_MAX_INTERFACES && (dev->claimed & (1u << ifnum));
}

void iop_usb_dev_set_detach_kernel_driver(struct iop_usb_dev *dev, bool detach) {
    assert(dev);
    dev->detach_kernel_driver = detach;
}

/* ---- What the device is ---- */

const struct iop_usb_dev_info *iop_usb_dev_info(const struct iop_usb_dev *dev) {
    assert(dev);
    return &dev->info;
}

const uint8_t *iop_usb_dev_descriptor(const struct iop_usb_dev *dev) {
    assert(dev);
    return dev->desc;
}

const char *iop_usb_dev_string(const struct iop_usb_dev *dev, enum iop_usb_dev_string which) {
    assert(dev);
    return (unsigned)which < IOP_USB_DEV_STRINGS ? dev->strings[which] : NULL;
}

uint16_t iop_usb_dev_vid(const struct iop_usb_dev *dev) {
    assert(dev);
    return iop_get_le16(dev->desc + 8);
}

uint16_t iop_usb_dev_pid(const struct iop_usb_dev *dev) {
    assert(dev);
    return iop_get_le16(dev->desc + 10);
}

unsigned iop_usb_dev_num_configs(const struct iop_usb_dev *dev) {
    assert(dev);
    return dev->n_configs;
}

int iop_usb_dev_config(const struct iop_usb_dev *dev, unsigned idx, const uint8_t **buf,
                       size_t *len) {
    assert(dev && buf && len);
    if (idx >= dev->n_configs)
        return -ENOENT;
    if (!dev->configs[idx].buf)
        return -ENODATA;
    *buf = dev->configs[idx].buf;
    *len = dev->configs[idx].len;
    return 0;
}

uint8_t iop_usb_dev_active_config(const struct iop_usb_dev *dev) {
    assert(dev);
    return dev->active_config;
}

bool iop_usb_dev_is_gone(const struct iop_usb_dev *dev) {
    assert(dev);
    return dev->state == DEV_GONE;
}
