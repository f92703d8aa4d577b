/* Private to the simulated backend: its state, shared by backend-sim.c (the ops and the
 * scheduler), backend-sim-device.c (what a device answers) and backend-sim-api.c (the
 * test-facing calls on devices). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/usb/backend-sim.h"
#include "lib/usb/ch9.h"

struct iop_loop;
struct iop_loop_source;
struct iop_urb;
struct iop_usb_dev;
struct iop_usb_engine;

/* Endpoint slots per device: number, +16 for IN.  Endpoint 0 is slot 0 for both
 * directions (a control endpoint has one queue). */
#define EP_SLOTS (2 * IOP_USB_ENDPOINTS)
#define NEVER UINT64_MAX

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

/* backend-sim.c */
/* The simulator behind an engine, NULL when it runs another backend. */
struct sim *sim_from_engine(struct iop_usb_engine *e);
/* Something changed: a pass should run (now, on the loop's timer). */
void sim_kick(struct sim *s);

/* backend-sim-device.c */
/* The slot of endpoint address addr in iop_usb_sim_dev.eps. */
unsigned sim_ep_slot(uint8_t addr);
/* Queue a message on an endpoint: -ENOSPC beyond IOP_USB_SIM_PUSH_MAX. */
int sim_msg_append(struct sim_ep *ep, const void *data, size_t len);
/* Free a device and what it owns (its iop_usb_dev is the engine's). */
void sim_dev_free(struct iop_usb_sim_dev *sd);
/* Serve the head URB of a bulk or interrupt endpoint.  Returns 1 done (status in
 * *st), 0 NAK (wait). */
int sim_serve_data(struct iop_usb_sim_dev *sd, struct sim_ep *ep, struct iop_urb *urb, int *st);
void sim_serve_iso(struct iop_usb_sim_dev *sd, struct sim_ep *ep, struct sim_urb *su);
/* Endpoint 0.  Returns 1 done (status in *st), 0 NAK. */
int sim_serve_control(struct iop_usb_sim_dev *sd, struct sim_ep *ep0, struct iop_urb *urb, int *st);
