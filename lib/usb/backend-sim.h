/* The simulated backend: programmable USB devices in memory, for the unit tests.
 *
 * A device is plugged with its descriptors; endpoint 0 answers the standard requests
 * from them (GET_DESCRIPTOR, GET/SET_CONFIGURATION, GET/SET_INTERFACE, GET_STATUS,
 * SET/CLEAR_FEATURE(ENDPOINT_HALT)) and hands class/vendor requests to an optional
 * handler.  Every other endpoint NAKs (its URBs wait) until programmed: canned
 * replies, loopback to a partner endpoint, a data source/sink, stalls, injected
 * errors, delays.  Unplugging completes everything in flight with -ENODEV.
 *
 * Time: on the engine's loop (delays are loop timers), or on a manual clock that
 * moves only in iop_usb_sim_advance(), which makes tests deterministic.  Completions
 * never happen inside a submit or cancel: on the loop they run from a timer, on the
 * manual clock from iop_usb_sim_advance() or iop_usb_engine_handle_events() (which
 * runs one pass over what is due now, for URBs submitted before the call).
 *
 * Units: periodic intervals and ISO frame numbers are in microframes (125 us) at
 * high speed and above, in frames (1 ms) below, counted from the engine's creation. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/usb/ch9.h"

struct iop_usb_backend;
struct iop_usb_engine;
struct iop_usb_sim_dev;

extern const struct iop_usb_backend iop_usb_backend_sim;

struct iop_usb_sim_config {
    bool manual_clock; /* false: needs the engine's loop */
};

/* What to plug in; everything is copied. */
struct iop_usb_sim_device {
    uint16_t busnum;                 /* 0: bus 1 */
    uint8_t devnum;                  /* 0: the next free address on the bus (from 2) */
    enum iop_usb_speed speed;        /* UNKNOWN: high speed */
    uint8_t port_depth;
    uint8_t port_path[IOP_USB_MAX_PORTS];
    const uint8_t *device_descriptor; /* 18 bytes */
    const uint8_t *const *configs;   /* raw configuration descriptors, wTotalLength each */
    unsigned n_configs;              /* at most IOP_USB_MAX_CONFIGS */
    uint8_t active_config;           /* bConfigurationValue at plug time, 0 unconfigured */
    const char *const *strings;      /* string descriptors 1..n (UTF-8, sent as UTF-16LE;
                                        bytes that are not UTF-8 go as Latin-1); 0 is the
                                        LANGID table { en-US } */
    unsigned n_strings;
    /* String descriptors as raw bytes, for broken ones: each replaces string `index`
     * (0: the LANGID table) and is sent as given, cut to wLength. */
    const struct iop_usb_sim_raw_string *raw_strings;
    unsigned n_raw_strings;
    bool strings_stall;              /* every GET_DESCRIPTOR(STRING) stalls */
    uint16_t string_stall_length;    /* GET_DESCRIPTOR(STRING) with this wLength stalls
                                        (0: none), as devices that only take exact lengths */
    uint32_t driver_bound;           /* interfaces a "kernel driver" holds: claiming them
                                        is -EBUSY unless the detach flag is set */
    bool silent;                     /* endpoint 0 NAKs everything (a hung device) */
};

struct iop_usb_sim_raw_string {
    uint8_t index;
    const uint8_t *data;
    size_t len;                      /* at most 255 */
};

/* GET_DESCRIPTOR(STRING) requests the device answered (or stalled), for tests that
 * count usbcore's retries. */
unsigned iop_usb_sim_string_requests(const struct iop_usb_sim_dev *sd);

/* Plug a device in: enumeration (control URBs) starts; it is registered once they
 * have completed.  The handle stays valid until the engine is freed. */
int iop_usb_sim_plug(struct iop_usb_engine *e, const struct iop_usb_sim_device *d,
                     struct iop_usb_sim_dev **ret);
/* Hot-unplug.  -ENODEV if not plugged. */
int iop_usb_sim_unplug(struct iop_usb_sim_dev *sd);
uint16_t iop_usb_sim_busnum(const struct iop_usb_sim_dev *sd);
uint8_t iop_usb_sim_devnum(const struct iop_usb_sim_dev *sd);
/* Interfaces whose "kernel driver" was detached by a claim. */
uint32_t iop_usb_sim_detached(const struct iop_usb_sim_dev *sd);

enum iop_usb_sim_mode {
    IOP_USB_SIM_NAK = 0,  /* never answers: URBs wait until unlinked (the default) */
    IOP_USB_SIM_CANNED,   /* IN: pushed replies, else the canned reply, else NAK;
                             OUT: accepted and recorded */
    IOP_USB_SIM_LOOPBACK, /* OUT transfers queue up as messages that the partner IN
                             endpoint returns one per transfer; OUT NAKs when fifo_max
                             bytes are waiting */
    IOP_USB_SIM_SOURCE,   /* IN: always a full buffer of the mod-63 pattern (g_zero's);
                             OUT: a sink */
};

/* Loopback bytes buffered before OUT NAKs, by default: g_zero's loopback holds qlen
 * (32) requests of 4096 bytes. */
#define IOP_USB_SIM_FIFO_DEFAULT (32u * 4096u)
/* Replies one endpoint may have pushed and waiting: a test that pushes more has a
 * bug; the bound keeps it from eating memory. */
#define IOP_USB_SIM_PUSH_MAX 256u
/* Bytes of the last OUT transfer kept for inspection. */
#define IOP_USB_SIM_RECORD_MAX 4096u
/* Passes one iop_usb_sim_advance() runs at most: a handler that resubmits with no
 * delay would otherwise keep it busy forever. */
#define IOP_USB_SIM_ADVANCE_MAX_PASSES 10000u

struct iop_usb_sim_ep_config {
    enum iop_usb_sim_mode mode;
    uint32_t delay_usec;       /* each URB completes no earlier than this after submit */
    const uint8_t *reply;      /* CANNED IN: the default reply (copied), may be NULL */
    size_t reply_len;
    bool has_reply;            /* CANNED IN: answer with reply (even 0 bytes) when no
                                  pushed reply waits, instead of NAK */
    uint8_t partner;           /* LOOPBACK: the other endpoint's address */
    size_t fifo_max;           /* LOOPBACK: 0 for IOP_USB_SIM_FIFO_DEFAULT */
    unsigned iso_error_every;  /* ISO: every Nth packet fails with -EILSEQ (0: never) */
};

/* Program endpoint ep_addr (with IOP_USB_DIR_IN for IN).  Endpoint 0 cannot be
 * programmed (use iop_usb_sim_set_control).  -EINVAL. */
int iop_usb_sim_ep_set(struct iop_usb_sim_dev *sd, uint8_t ep_addr,
                       const struct iop_usb_sim_ep_config *cfg);
/* Queue one IN reply (a key press on an interrupt endpoint, ...).  A reply longer
 * than the URB's buffer is babble: -EOVERFLOW.  -ENOSPC above IOP_USB_SIM_PUSH_MAX. */
int iop_usb_sim_ep_push(struct iop_usb_sim_dev *sd, uint8_t ep_addr, const void *data,
                        size_t len);
/* The next count URBs on the endpoint complete with status (-EPROTO, -EOVERFLOW,
 * -EILSEQ, ...) and no data.  For endpoint 0, the next count control requests. */
int iop_usb_sim_ep_fail(struct iop_usb_sim_dev *sd, uint8_t ep_addr, int status, unsigned count);
/* Halt (stall) or un-halt an endpoint, as SET/CLEAR_FEATURE(ENDPOINT_HALT) would.
 * A halted endpoint completes every URB with -EPIPE. */
int iop_usb_sim_ep_halt(struct iop_usb_sim_dev *sd, uint8_t ep_addr, bool halted);
bool iop_usb_sim_ep_halted(const struct iop_usb_sim_dev *sd, uint8_t ep_addr);

struct iop_usb_sim_ep_stats {
    unsigned completed;        /* URBs that moved data or stalled (not unlinks) */
    unsigned zlps;             /* zero-length packets that ended OUT transfers */
    uint64_t bytes;            /* payload moved */
    size_t last_len;           /* the last OUT transfer, truncated to RECORD_MAX */
    uint8_t last[IOP_USB_SIM_RECORD_MAX];
};
int iop_usb_sim_ep_stats(const struct iop_usb_sim_dev *sd, uint8_t ep_addr,
                         struct iop_usb_sim_ep_stats *ret);

/* Class and vendor requests on endpoint 0: return the bytes written to buf (IN, at
 * most len) or 0 (OUT, data in buf), or -EPIPE to stall.  Without a handler they
 * stall. */
typedef int (*iop_usb_sim_control_fn)(void *data, const uint8_t *setup, uint8_t *buf,
                                      uint16_t len);
void iop_usb_sim_set_control(struct iop_usb_sim_dev *sd, iop_usb_sim_control_fn fn, void *data);

/* Manual clock: move time forward by usec and complete, in time order, everything
 * that becomes due, including URBs that handlers submit on the way.  On the loop
 * clock: run one pass now.  Returns the number of URBs completed. */
unsigned iop_usb_sim_advance(struct iop_usb_engine *e, uint64_t usec);
/* Microseconds since the engine was created (manual: the manual clock). */
uint64_t iop_usb_sim_now(struct iop_usb_engine *e);
/* The current (micro)frame number of the device's bus. */
int iop_usb_sim_frame(const struct iop_usb_sim_dev *sd);
