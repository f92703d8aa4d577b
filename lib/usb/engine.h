/* The URB engine: one per backend instance.  It owns the device registry, runs the
 * URB lifecycle (urb.h) over a backend (backend.h) and reports URB traffic to one
 * monitor (usbmon).  Single-threaded: the backend's file descriptors and timers are
 * sources on the caller's event loop, so every callback (URB completion, hotplug,
 * hangup) runs on the loop thread and nothing here takes a lock. */
#pragma once

#include <stdbool.h>

struct iop_loop;
struct iop_usb_backend;
struct iop_usb_dev;
struct iop_usb_engine;
struct iop_urb_monitor;

/* loop is borrowed and must outlive the engine; it may be NULL only for a backend
 * that needs none (the simulated one on a manual clock).  backend is borrowed (a
 * static const table); config is the backend's (e.g. struct iop_usb_sim_config). */
int iop_usb_engine_new(struct iop_loop *loop, const struct iop_usb_backend *backend,
                       const void *config, struct iop_usb_engine **ret);
/* Enumerate the devices present and start hotplug.  Register hotplug callbacks
 * before, to hear about the devices present at start. */
int iop_usb_engine_start(struct iop_usb_engine *e);
/* Shut down: the host side goes away.  Every URB in flight completes with
 * -ESHUTDOWN, every device is hung up (hangup and hotplug REMOVE callbacks run),
 * backend state is released.  Handles still referenced stay valid as gone devices
 * until unreferenced.  NULL is fine; returns NULL. */
struct iop_usb_engine *iop_usb_engine_free(struct iop_usb_engine *e);

/* Observe URB traffic (borrowed; NULL removes).  One monitor: the usbmon bus. */
void iop_usb_engine_set_monitor(struct iop_usb_engine *e, const struct iop_urb_monitor *mon);

/* Process pending backend events, waiting at most timeout_ms.  Not needed when the
 * loop runs; for tests and synchronous callers. */
int iop_usb_engine_handle_events(struct iop_usb_engine *e, int timeout_ms);

/* Devices whose descriptors are still being read (not yet registered).  A caller
 * that wants the devices present at start runs the loop until this is 0. */
unsigned iop_usb_engine_enumerating(const struct iop_usb_engine *e);

enum iop_usb_hotplug_event {
    IOP_USB_HOTPLUG_ADD,    /* registered: descriptors read, lookups find it */
    IOP_USB_HOTPLUG_REMOVE, /* gone (unplugged, unregistered or shutdown) */
};
typedef void (*iop_usb_hotplug_fn)(void *data, struct iop_usb_dev *dev,
                                   enum iop_usb_hotplug_event ev);
/* Hotplug callbacks for the layer above; (fn, data) identifies the registration.
 * With enumerate, fn runs for every registered device before this returns.  The
 * device pointer is borrowed for the call: take a reference to keep it.  ADD runs
 * from the completion of the last descriptor read, so the rules of a completion
 * handler apply (no iop_urb_kill there).  -EEXIST, -ENOMEM. */
int iop_usb_engine_add_hotplug(struct iop_usb_engine *e, iop_usb_hotplug_fn fn, void *data,
                               bool enumerate);
/* Safe from inside a hotplug callback.  -ENOENT if not registered. */
int iop_usb_engine_remove_hotplug(struct iop_usb_engine *e, iop_usb_hotplug_fn fn, void *data);
