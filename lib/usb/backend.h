/* The seam between the URB engine and whatever moves the bytes, after libusb's
 * struct usbi_os_backend: one const ops table per backend, a contract comment per
 * member, private areas whose sizes the backend declares and the engine allocates
 * (so backends never malloc per-transfer state), and one completion entry point,
 * iop_urb_giveback(), that every backend calls.
 *
 * Implementations: backend-sim.c (programmable simulated devices, for the unit tests)
 * and backend-libusb.c (real hardware; its own library, the only file that includes
 * libusb.h).
 *
 * Every member is mandatory unless marked optional.  Every member is called on the
 * loop thread, never concurrently, and none may block, except handle_events for at
 * most its timeout.  Errors are negative errno, translated once inside the backend. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/usb/devices.h"
#include "lib/usb/urb.h"

struct iop_loop;
struct iop_usb_engine;
struct iop_usb_ep_info;

struct iop_usb_backend {
    const char *name;

    /* Private area sizes; each area is zeroed, lives as long as its owner and is
     * reached with iop_usb_engine_backend_priv / iop_usb_dev_backend_priv /
     * iop_urb_backend_priv.  The URB area is allocated the first time an URB is
     * submitted to an engine using this backend and kept across resubmissions. */
    size_t engine_priv_size;
    size_t dev_priv_size;
    size_t urb_priv_size;

    /* Set up the engine's state; config is backend-specific and may be NULL.  No
     * devices exist yet.  On failure exit() is not called. */
    int (*init)(struct iop_usb_engine *e, const void *config);
    /* Report the devices present (iop_usb_backend_dev_new, then _attach) and start
     * watching for hotplug.  Called once, from iop_usb_engine_start. */
    int (*start)(struct iop_usb_engine *e);
    /* Release the engine's state.  Before it, every device has been released with
     * dev_release and every URB area with urb_release. */
    void (*exit)(struct iop_usb_engine *e);

    /* Release a device's private area (close what it opened).  Called exactly once,
     * when its last reference drains or at engine shutdown, with none of its URBs in
     * flight. */
    void (*dev_release)(struct iop_usb_dev *dev);
    /* Claim interface ifnum for the engine, opening the device if it is not open yet,
     * and detaching a kernel driver only when the device's detach flag is set.  May
     * make system calls that do not wait for the device.  -EBUSY: another driver has
     * the interface; -ENODEV: gone. */
    int (*claim_interface)(struct iop_usb_dev *dev, uint8_t ifnum);
    /* Give a claimed interface back (re-attaching a detached driver). */
    int (*release_interface)(struct iop_usb_dev *dev, uint8_t ifnum);

    /* Optional: fill a fresh URB area (e.g. a libusb transfer with room for
     * iso_alloc packets).  -ENOMEM fails that submission. */
    int (*urb_init)(struct iop_usb_engine *e, struct iop_urb *urb, int iso_alloc);
    /* Optional: release what urb_init made.  The URB is not in flight. */
    void (*urb_release)(struct iop_usb_engine *e, struct iop_urb *urb);

    /* Start an URB the engine has validated: endpoint present and of the URB's type,
     * lengths within the buffer and the endpoint's limits, interval rounded, ISO
     * descriptors reset (status -EXDEV).  Must not give the URB back from inside
     * submit: on 0, exactly one iop_urb_giveback() follows later (from the loop or
     * handle_events).  On an error nothing follows.  For IOP_URB_ISO_ASAP it sets
     * start_frame if it can know it. */
    int (*submit)(struct iop_urb *urb);
    /* Ask for early completion of a submitted URB.  Must not give it back from
     * inside: it is given back later, with any status (the engine substitutes the
     * unlink/kill/disconnect status).  Called at most once per submission; the
     * result is informational, the URB completes either way. */
    int (*cancel)(struct iop_urb *urb);
    /* Process pending completions, waiting at most timeout_ms (0: only what is ready
     * now).  The loop sources drive completions in normal operation; this is for
     * iop_urb_kill and shutdown, which must make progress without returning to the
     * loop.  0 or -errno. */
    int (*handle_events)(struct iop_usb_engine *e, int timeout_ms);
};

/* ---- Called by backends ---- */

/* The one completion path (usb_hcd_giveback_urb).  Before calling it the backend
 * has set actual_length (non-ISO) or each ISO descriptor's actual_length and
 * status, and copied IN data into transfer_buffer.  status is the transfer's result
 * (0, -EPIPE stall, -EPROTO, -EOVERFLOW babble, -ETIMEDOUT, -ENODEV ...).  The engine
 * then: substitutes the unlink/kill/disconnect status if there is one; turns a short
 * read with IOP_URB_SHORT_NOT_OK into -EREMOTEIO; sums ISO lengths and counts ISO
 * errors into error_count; calls the monitor's complete() hook; calls the URB's
 * handler; then touches only its own reference on the URB.  The handler may free or
 * resubmit the URB, so the backend must not use the URB (nor its area, except
 * through a reference it holds) after this returns. */
void iop_urb_giveback(struct iop_urb *urb, int status);

void *iop_urb_backend_priv(struct iop_urb *urb);
/* The endpoint the URB was validated against (valid while it is submitted). */
const struct iop_usb_ep_info *iop_urb_endpoint(const struct iop_urb *urb);

void *iop_usb_engine_backend_priv(struct iop_usb_engine *e);
const struct iop_usb_backend *iop_usb_engine_backend(const struct iop_usb_engine *e);
/* The event loop given to iop_usb_engine_new (NULL allowed for the simulated
 * backend on a manual clock). */
struct iop_loop *iop_usb_engine_loop(struct iop_usb_engine *e);

/* A new device: allocated with its private area zeroed, invisible until attached.
 * The engine holds the registry's reference; the backend's pointer stays valid until
 * its dev_release. */
int iop_usb_backend_dev_new(struct iop_usb_engine *e, const struct iop_usb_dev_info *info,
                            struct iop_usb_dev **ret);
/* Start reading the device's descriptors with control URBs; when done the device
 * is registered (lookups find it) and hotplug ADD callbacks run.  cached_desc (18
 * bytes, may be NULL) is used when the device does not answer GET_DESCRIPTOR. */
void iop_usb_backend_dev_attach(struct iop_usb_dev *dev, const uint8_t *cached_desc);
/* Hot-unplug: see iop_usb_dev_gone in devices.c. */
void iop_usb_backend_dev_gone(struct iop_usb_dev *dev);
void *iop_usb_dev_backend_priv(struct iop_usb_dev *dev);
struct iop_usb_engine *iop_usb_dev_engine(const struct iop_usb_dev *dev);
/* Whether the engine detaches kernel drivers when claiming this device's interfaces. */
bool iop_usb_dev_detach_kernel_driver(const struct iop_usb_dev *dev);
/* SET_INTERFACE and SET_CONFIGURATION (iop_urb_set_request, urb.h) reach a backend
 * validated (the interface claimed, the altsetting or configuration there, no data
 * stage), with the URBs they end already discarded; a backend on usbfs must issue
 * them as usbfs's ioctls (USBDEVFS_SETINTERFACE, USBDEVFS_SETCONFIGURATION), which
 * wait for the device, off the loop.
 *
 * The interfaces claimed now, and those of them the configuration with value
 * config_value has: what a backend releases before SET_CONFIGURATION and claims
 * again after it. */
uint32_t iop_usb_dev_claims(const struct iop_usb_dev *dev);
uint32_t iop_usb_dev_claims_kept(const struct iop_usb_dev *dev, uint8_t config_value);
/* After a SET_CONFIGURATION, before giving its URB back: interfaces the backend could
 * not claim again (a kernel driver took them first).  The engine releases them. */
void iop_usb_backend_dev_claims_lost(struct iop_usb_dev *dev, uint32_t mask);
/* The ISO packet count validated at submit (backends use it, not the caller's
 * number_of_packets, which nothing stops a caller from changing meanwhile). */
int iop_urb_iso_packets(const struct iop_urb *urb);
/* The URB's timeout (iop_urb_set_timeout), 0 for none. */
uint32_t iop_urb_timeout(const struct iop_urb *urb);
