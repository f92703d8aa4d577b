/* The engine: backend instance, monitor, hotplug callbacks, shutdown. */
#include "lib/usb/engine.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "lib/usb/internal.h"
#include "lib/util/log.h"
#include "lib/util/loop.h"

/* How long shutdown waits for the backend to give back the URBs it cancelled:
 * usbfs returns discarded URBs within a frame, so this only matters for a broken
 * backend, which is then reported instead of waited for forever. */
#define SHUTDOWN_TIMEOUT_MS 5000
/* Each wait for backend events during shutdown; short, so that the deadline holds. */
#define SHUTDOWN_SLICE_MS 100

int iop_usb_engine_new(struct iop_loop *loop, const struct iop_usb_backend *backend,
                       const void *config, struct iop_usb_engine **ret) {
    assert(backend && ret);
    struct iop_usb_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->loop = loop;
    e->backend = backend;
    e->backend_priv = calloc(1, backend->engine_priv_size ? backend->engine_priv_size : 1);
    if (!e->backend_priv) {
        free(e);
        return -ENOMEM;
    }
    int r = backend->init(e, config);
    if (r < 0) {
        free(e->backend_priv);
        free(e);
        return r;
    }
    *ret = e;
    return 0;
}

int iop_usb_engine_start(struct iop_usb_engine *e) {
    assert(e);
    if (e->started)
        return -EALREADY;
    e->started = true;
    return e->backend->start(e);
}

static unsigned urbs_in_flight(const struct iop_usb_engine *e) {
    unsigned n = 0;
    for (const struct iop_usb_dev *d = e->devs; d; d = d->next)
        n += d->n_inflight;
    return n;
}

struct iop_usb_engine *iop_usb_engine_free(struct iop_usb_engine *e) {
    if (!e)
        return NULL;
    /* Freeing the engine from a completion handler would pull the loop out from
     * under the giveback that called it. */
    assert(e->giveback_depth == 0);
    e->dying = true;

    /* The host side goes away: hang every device up, URBs in flight get -ESHUTDOWN.
     * Restart the walk after each: callbacks may free devices. */
    for (;;) {
        struct iop_usb_dev *d = e->devs;
        while (d && d->state == DEV_GONE)
            d = d->next;
        if (!d)
            break;
        iop_usb_dev_hangup(d, -ESHUTDOWN);
    }

    uint64_t deadline = iop_loop_now_usec() + SHUTDOWN_TIMEOUT_MS * 1000ull;
    while (urbs_in_flight(e) > 0 && iop_loop_now_usec() < deadline)
        if (e->backend->handle_events(e, SHUTDOWN_SLICE_MS) < 0)
            break;
    unsigned stuck = urbs_in_flight(e);

    /* Handles still referenced outlive the engine as gone devices.  A device whose
     * URBs the backend never gave back keeps its engine pointer and its backend
     * state (leaked, reported): releasing them could let a late completion touch
     * freed memory. */
    if (stuck == 0) {
        while (e->devs) {
            struct iop_usb_dev *d = e->devs;
            e->devs = d->next;
            iop_usb_dev_release_backend(d);
            d->engine = NULL;
            d->next = NULL;
        }
        while (e->bound)
            iop_urb_unbind(e->bound->urb);
        e->backend->exit(e);
    } else {
        iop_err("usb: %u URBs not given back at shutdown; leaking the %s backend", stuck,
                e->backend->name);
        return NULL;
    }

    while (e->hotplug) {
        struct hotplug_cb *cb = e->hotplug;
        e->hotplug = cb->next;
        free(cb);
    }
    free(e->backend_priv);
    free(e);
    return NULL;
}

void iop_usb_engine_set_monitor(struct iop_usb_engine *e, const struct iop_urb_monitor *mon) {
    assert(e);
    e->monitor = mon;
}

int iop_usb_engine_handle_events(struct iop_usb_engine *e, int timeout_ms) {
    assert(e);
    return e->backend->handle_events(e, timeout_ms);
}

unsigned iop_usb_engine_enumerating(const struct iop_usb_engine *e) {
    assert(e);
    unsigned n = 0;
    for (const struct iop_usb_dev *d = e->devs; d; d = d->next)
        if (d->state == DEV_NEW || d->state == DEV_ENUMERATING)
            n++;
    return n;
}

void *iop_usb_engine_backend_priv(struct iop_usb_engine *e) {
    assert(e);
    return e->backend_priv;
}

const struct iop_usb_backend *iop_usb_engine_backend(const struct iop_usb_engine *e) {
    assert(e);
    return e->backend;
}

struct iop_loop *iop_usb_engine_loop(struct iop_usb_engine *e) {
    assert(e);
    return e->loop;
}

/* ---- Hotplug callbacks ---- */

static void reap_hotplug(struct iop_usb_engine *e) {
    struct hotplug_cb **pp = &e->hotplug;
    while (*pp) {
        struct hotplug_cb *cb = *pp;
        if (cb->dead) {
            *pp = cb->next;
            free(cb);
        } else {
            pp = &cb->next;
        }
    }
}

void iop_usb_engine_notify(struct iop_usb_engine *e, struct iop_usb_dev *dev,
                           enum iop_usb_hotplug_event ev) {
    e->hotplug_dispatching++;
    for (struct hotplug_cb *cb = e->hotplug; cb; cb = cb->next)
        if (!cb->dead)
            cb->fn(cb->data, dev, ev);
    if (--e->hotplug_dispatching == 0)
        reap_hotplug(e);
}

int iop_usb_engine_add_hotplug(struct iop_usb_engine *e, iop_usb_hotplug_fn fn, void *data,
                               bool enumerate) {
    assert(e && fn);
    struct hotplug_cb **tail = &e->hotplug;
    for (; *tail; tail = &(*tail)->next)
        if (!(*tail)->dead && (*tail)->fn == fn && (*tail)->data == data)
            return -EEXIST;
    struct hotplug_cb *cb = calloc(1, sizeof(*cb));
    if (!cb)
        return -ENOMEM;
    cb->fn = fn;
    cb->data = data;
    *tail = cb; /* callbacks run in registration order */
    if (!enumerate)
        return 0;
    /* Walk by address so that callbacks may unplug or unregister devices. */
    uint16_t bus = 0;
    uint8_t devnum = 0;
    struct iop_usb_dev *dev;
    e->hotplug_dispatching++;
    while (!cb->dead && iop_usb_dev_ref_next(e, bus, devnum, &dev) == 0) {
        bus = dev->info.busnum;
        devnum = dev->info.devnum;
        fn(data, dev, IOP_USB_HOTPLUG_ADD);
        iop_usb_dev_unref(dev);
    }
    if (--e->hotplug_dispatching == 0)
        reap_hotplug(e);
    return 0;
}

int iop_usb_engine_remove_hotplug(struct iop_usb_engine *e, iop_usb_hotplug_fn fn, void *data) {
    assert(e);
    for (struct hotplug_cb **pp = &e->hotplug; *pp; pp = &(*pp)->next) {
        struct hotplug_cb *cb = *pp;
        if (cb->dead || cb->fn != fn || cb->data != data)
            continue;
        if (e->hotplug_dispatching > 0) {
            cb->dead = true;
        } else {
            *pp = cb->next;
            free(cb);
        }
        return 0;
    }
    return -ENOENT;
}
