/* Private to lib/usb: the engine's, devices' and URBs' bookkeeping, shared by
 * urb.c, devices.c, enumerate.c and engine.c.  Backends use backend.h only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/usb/backend.h"
#include "lib/usb/descriptors.h"
#include "lib/usb/devices.h"
#include "lib/usb/engine.h"
#include "lib/usb/urb.h"

/* The private part of every URB, allocated behind its ISO descriptors. */
struct iop_urb_private {
    struct iop_urb *urb;        /* back pointer */
    int refcount;
    int iso_alloc;              /* iso_frame_desc entries allocated */
    int use_count;              /* 1 from a successful submit until its handler returned */
    int reject;                 /* > 0 while iop_urb_kill runs: submits get -EPERM */
    int unlinked;               /* 0, or the status an unlink/kill/hangup imposes */
    bool linked;                /* submitted and not yet given back (kernel: hcpriv) */
    uint32_t timeout_ms;
    struct iop_usb_dev *sub_dev;      /* owned reference while submitted */
    struct iop_usb_ep_info ep;        /* the endpoint it was validated against */
    uint8_t xfer;                     /* the type, direction and ISO packet count */
    bool dir_in;                      /*   validated at submit: what the engine uses */
    int iso_packets;                  /*   while submitted, whatever the caller writes */
    struct iop_urb *inflight_prev;    /* the device's list of URBs in flight */
    struct iop_urb *inflight_next;
    /* The backend's area: bound lazily to one engine, kept across resubmissions. */
    struct iop_usb_engine *bound;     /* borrowed, NULL when unbound */
    struct iop_urb_private *bound_prev, *bound_next; /* the engine's bound list */
    void *backend_area;               /* owned */
};

enum dev_state {
    DEV_NEW,         /* allocated by the backend, not attached */
    DEV_ENUMERATING, /* reading descriptors; invisible to lookups */
    DEV_LIVE,        /* registered */
    DEV_GONE,        /* hung up: unplugged, unregistered or shut down */
};

struct dev_ep {
    bool present;
    struct iop_usb_ep_info info;
};

struct dev_config {
    uint8_t *buf;    /* owned, len bytes, NULL if the read failed */
    size_t len;
};

struct dev_hangup {
    iop_usb_dev_fn fn;
    void *data;
    struct dev_hangup *next;
};

struct iop_usb_enum;

struct iop_usb_dev {
    struct iop_usb_engine *engine;    /* borrowed; NULL once the engine is gone */
    struct iop_usb_dev *next;         /* the engine's device list */
    int refcount;
    enum dev_state state;
    uint64_t attached_usec;           /* when enumeration started, for the log */
    bool registered;                  /* the registry holds one of the references */
    bool released;                    /* the backend's dev_release has run */
    bool detach_kernel_driver;
    struct iop_usb_dev_info info;

    uint8_t desc[IOP_USB_DT_DEVICE_SIZE];
    struct dev_config configs[IOP_USB_MAX_CONFIGS];
    unsigned n_configs;
    uint8_t active_config;            /* bConfigurationValue, 0 unconfigured */
    uint8_t alts[IOP_USB_MAX_INTERFACES]; /* current altsetting per interface */
    struct dev_ep ep_in[IOP_USB_ENDPOINTS], ep_out[IOP_USB_ENDPOINTS];
    uint16_t iso_queued[2 * IOP_USB_ENDPOINTS]; /* by endpoint number, +16 for IN */
    uint32_t claimed;                 /* bit n: interface n claimed */
    bool held;                        /* claimed since, not all released: may SET_CONFIGURATION */
    uint32_t claims_lost;             /* set by the backend for the SET_CONFIGURATION completing */
    char *strings[IOP_USB_DEV_STRINGS]; /* owned, UTF-8, NULL: none */

    struct iop_urb *inflight;         /* URBs in flight (not owned: each holds a ref) */
    unsigned n_inflight;
    struct dev_hangup *hangups;       /* owned */
    iop_usb_dev_fn drained_fn;
    void *drained_data;
    struct iop_usb_enum *enumr;       /* owned while enumerating */
    void *backend_priv;               /* inside this allocation */
};

struct hotplug_cb {
    iop_usb_hotplug_fn fn;
    void *data;
    bool dead;                        /* removed during a dispatch; reaped after */
    struct hotplug_cb *next;
};

struct iop_usb_engine {
    struct iop_loop *loop;                 /* borrowed, may be NULL */
    const struct iop_usb_backend *backend; /* borrowed (static const) */
    void *backend_priv;                    /* owned */
    const struct iop_urb_monitor *monitor; /* borrowed */
    struct iop_usb_dev *devs;              /* every device not yet freed (each owns itself) */
    struct hotplug_cb *hotplug;            /* owned */
    int hotplug_dispatching;
    struct iop_urb_private *bound;         /* URBs holding a backend area of this engine */
    int giveback_depth;                    /* > 0 inside a completion handler */
    bool started;
    bool dying;                            /* iop_usb_engine_free is running */
};

/* devices.c */
void iop_usb_dev_rebuild_endpoints(struct iop_usb_dev *dev);
/* The active configuration's descriptor (NULL unconfigured or unread), and the one
 * with value `value`. */
const struct dev_config *iop_usb_dev_config_by_value(const struct iop_usb_dev *dev, uint8_t value);
/* A control URB completed with status: follow a SET_CONFIGURATION / SET_INTERFACE
 * that succeeded, and claims the backend lost. */
void iop_usb_dev_note_control(struct iop_usb_dev *dev, const struct iop_urb *urb, int status);
/* Hang a device up with the status its URBs in flight complete with. */
void iop_usb_dev_hangup(struct iop_usb_dev *dev, int status);
/* Enumeration is done: register the device and announce it. */
void iop_usb_dev_publish(struct iop_usb_dev *dev);
void iop_usb_dev_release_backend(struct iop_usb_dev *dev);

/* enumerate.c */
int iop_usb_enum_start(struct iop_usb_dev *dev, const uint8_t *cached_desc);
void iop_usb_enum_free(struct iop_usb_enum *en);

/* engine.c */
void iop_usb_engine_notify(struct iop_usb_engine *e, struct iop_usb_dev *dev,
                           enum iop_usb_hotplug_event ev);

/* urb.c */
void iop_urb_unbind(struct iop_urb *urb);

/* ---- The per-URB hot path, inline (every submit and giveback runs these) ---- */

static inline const struct dev_ep *iop_usb_dev_endpoint(const struct iop_usb_dev *dev,
                                                        unsigned num, bool in) {
    if (num >= IOP_USB_ENDPOINTS)
        return NULL;
    const struct dev_ep *ep = in ? &dev->ep_in[num] : &dev->ep_out[num];
    return ep->present ? ep : NULL;
}

static inline void iop_usb_dev_inflight_add(struct iop_usb_dev *dev, struct iop_urb *urb) {
    struct iop_urb_private *p = urb->priv;
    p->inflight_prev = NULL;
    p->inflight_next = dev->inflight;
    if (dev->inflight)
        dev->inflight->priv->inflight_prev = urb;
    dev->inflight = urb;
    dev->n_inflight++;
}

static inline void iop_usb_dev_inflight_remove(struct iop_usb_dev *dev, struct iop_urb *urb) {
    struct iop_urb_private *p = urb->priv;
    if (p->inflight_prev)
        p->inflight_prev->priv->inflight_next = p->inflight_next;
    else
        dev->inflight = p->inflight_next;
    if (p->inflight_next)
        p->inflight_next->priv->inflight_prev = p->inflight_prev;
    p->inflight_prev = p->inflight_next = NULL;
    dev->n_inflight--;
}
