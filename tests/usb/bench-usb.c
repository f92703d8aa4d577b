/* Bulk throughput through the URB engine against plain libusb, on the Loopback
 * gadget in the test VM (tests/usb/bench-usb.sh runs it there).
 *
 *   bench-usb VID:PID[@BUS] [SIZE [DEPTH [SECONDS [ROUNDS]]]]
 *
 * @BUS picks the device on that bus when two have the same ids (a device exported
 * with USB/IP is still there on its own bus, bound to usbip-host, next to the copy
 * vhci-hcd attaches).
 * Both sides keep DEPTH OUT and DEPTH IN transfers of SIZE bytes in flight,
 * resubmitted from their completion callbacks; the rate is the bytes that came back
 * per second.  Rounds alternate engine and libusb in the same process (each opens
 * the device on its own, one after the other); the medians are compared, and so is
 * each round's engine rate with that round's libusb rate (the median of those ratios
 * holds when the link's rate drifts from round to round):
 *
 *   bulk-loopback: 41.2 MB/s vs libusb 42.0 MB/s: ratio 0.98
 *   per-round ratio engine/libusb: median 0.98 (0.96..1.00)
 *
 * The baseline necessarily includes libusb.h: this file is a benchmark, not lib/. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <libusb.h>

#include "lib/usb/backend-libusb.h"
#include "lib/usb/backend.h"
#include "lib/usb/descriptors.h"
#include "lib/usb/devices.h"
#include "lib/usb/engine.h"
#include "lib/usb/urb.h"
#include "lib/util/loop.h"

/* Transfers in flight per direction, at most: more than usbfs needs to stay busy. */
#define DEPTH_MAX 64
/* A lull this long after the senders stop means the gadget's FIFO is drained. */
#define DRAIN_IDLE_USEC 300000u

struct run {
    size_t size;
    int depth;
    uint64_t deadline;  /* stop resubmitting OUT after this */
    bool stopping;
    uint64_t bytes_in;  /* counted until the deadline */
    uint64_t last_activity;
    int in_flight;
    int errors;
};

static double mbps(uint64_t bytes, uint64_t usec) {
    return usec ? (double)bytes / (double)usec : 0.0; /* bytes/us = MB/s */
}

/* ---- Through the engine ---- */

static struct run R;

static void eng_out(struct iop_urb *urb) {
    R.in_flight--;
    if (urb->status != 0) {
        if (urb->status != -ENOENT)
            R.errors++;
        return;
    }
    R.last_activity = iop_loop_now_usec();
    if (!R.stopping && iop_urb_submit(urb) == 0)
        R.in_flight++;
}

static void eng_in(struct iop_urb *urb) {
    R.in_flight--;
    if (urb->status != 0) {
        if (urb->status != -ENOENT)
            R.errors++;
        return;
    }
    uint64_t now = iop_loop_now_usec();
    R.last_activity = now;
    if (now < R.deadline)
        R.bytes_in += urb->actual_length;
    if (iop_urb_submit(urb) == 0)
        R.in_flight++;
}

static int engine_find_eps(struct iop_usb_dev *dev, int *in, int *out) {
    const uint8_t *cfg;
    size_t len;
    if (iop_usb_dev_config(dev, 0, &cfg, &len) < 0)
        return -ENODATA;
    struct iop_usb_ep_info eps[8];
    int n = iop_usb_config_endpoints(cfg, len, NULL, 0, eps, 8);
    *in = *out = -1;
    for (int i = 0; i < n && i < 8; i++)
        if (iop_usb_ep_xfer(&eps[i]) == IOP_XFER_BULK && eps[i].interface == 0)
            *((eps[i].address & 0x80) ? in : out) = eps[i].address;
    return *in > 0 && *out >= 0 ? 0 : -ENOENT;
}

static unsigned want_bus; /* 0: any */

static bool on_bus(unsigned bus) { return want_bus == 0 || bus == want_bus; }

static double run_engine(uint16_t vid, uint16_t pid, size_t size, int depth, int seconds) {
    struct iop_loop *loop;
    struct iop_usb_engine *e;
    if (iop_loop_new(&loop) < 0 || iop_usb_engine_new(loop, &iop_usb_backend_libusb, NULL, &e) < 0 ||
        iop_usb_engine_start(e) < 0)
        return -1;
    while (iop_usb_engine_enumerating(e) > 0)
        iop_loop_iterate(loop, 50);
    struct iop_usb_dev *dev = NULL, *d;
    uint16_t bus = 0;
    uint8_t num = 0;
    while (!dev && iop_usb_dev_ref_next(e, bus, num, &d) == 0) {
        bus = iop_usb_dev_info(d)->busnum;
        num = iop_usb_dev_info(d)->devnum;
        if (iop_usb_dev_vid(d) == vid && iop_usb_dev_pid(d) == pid && on_bus(bus))
            dev = d;
        else
            iop_usb_dev_unref(d);
    }
    int in, out;
    if (!dev || engine_find_eps(dev, &in, &out) < 0 || iop_usb_dev_claim_interface(dev, 0) < 0) {
        fprintf(stderr, "engine: gadget %04x:%04x not usable\n", vid, pid);
        return -1;
    }
    uint8_t *mem = calloc((size_t)depth * 2, size);
    struct iop_urb *urbs[2 * DEPTH_MAX];
    R = (struct run){ .size = size, .depth = depth };
    for (int i = 0; i < 2 * depth; i++) {
        iop_urb_alloc(0, &urbs[i]);
        struct iop_urb *u = urbs[i];
        u->dev = dev;
        u->xfer = IOP_XFER_BULK;
        bool is_in = i < depth;
        u->endpoint = (uint8_t)((is_in ? in : out) & 0x0f);
        u->dir_in = is_in;
        u->transfer_buffer = mem + (size_t)i * size;
        u->transfer_buffer_length = (uint32_t)size;
        u->complete = is_in ? eng_in : eng_out;
    }
    uint64_t t0 = iop_loop_now_usec();
    R.deadline = t0 + (uint64_t)seconds * 1000000u;
    for (int i = 0; i < 2 * depth; i++)
        if (iop_urb_submit(urbs[i]) == 0)
            R.in_flight++;
    while (iop_loop_now_usec() < R.deadline)
        iop_loop_iterate(loop, 100);
    R.stopping = true;
    /* Drain what the gadget still holds so the next run starts empty. */
    R.last_activity = iop_loop_now_usec();
    while (iop_loop_now_usec() - R.last_activity < DRAIN_IDLE_USEC)
        iop_loop_iterate(loop, 50);
    for (int i = 0; i < 2 * depth; i++) {
        iop_urb_kill(urbs[i]);
        iop_urb_free(urbs[i]);
    }
    double rate = mbps(R.bytes_in, R.deadline - t0);
    if (R.errors)
        fprintf(stderr, "engine: %d transfer errors\n", R.errors);
    free(mem);
    iop_usb_dev_unref(dev);
    iop_usb_engine_free(e);
    iop_loop_free(loop);
    return R.errors ? -1 : rate;
}

/* ---- Plain libusb ---- */

static void LIBUSB_CALL lu_out(struct libusb_transfer *t) {
    R.in_flight--;
    if (t->status != LIBUSB_TRANSFER_COMPLETED) {
        if (t->status != LIBUSB_TRANSFER_CANCELLED)
            R.errors++;
        return;
    }
    R.last_activity = iop_loop_now_usec();
    if (!R.stopping && libusb_submit_transfer(t) == 0)
        R.in_flight++;
}

static void LIBUSB_CALL lu_in(struct libusb_transfer *t) {
    R.in_flight--;
    if (t->status != LIBUSB_TRANSFER_COMPLETED) {
        if (t->status != LIBUSB_TRANSFER_CANCELLED)
            R.errors++;
        return;
    }
    uint64_t now = iop_loop_now_usec();
    R.last_activity = now;
    if (now < R.deadline)
        R.bytes_in += (uint64_t)t->actual_length;
    if (libusb_submit_transfer(t) == 0)
        R.in_flight++;
}

/* The control experiment: plain libusb, but driven the way the engine's backend
 * drives it (its fds on an iop_loop, libusb_handle_events_timeout_completed with a
 * zero timeout on readiness).  Engine vs this isolates the engine's own cost from
 * the price of sharing one event loop (an epoll_wait, then libusb's own poll). */
static void loop_fd(void *data, int fd, uint32_t revents) {
    struct timeval zero = { 0, 0 };
    (void)fd;
    (void)revents;
    libusb_handle_events_timeout_completed(data, &zero, NULL);
}

static double run_libusb(uint16_t vid, uint16_t pid, size_t size, int depth, int seconds,
                         bool via_loop) {
    libusb_context *ctx;
    if (libusb_init(&ctx) < 0)
        return -1;
    struct iop_loop *loop = NULL;
    if (via_loop) {
        iop_loop_new(&loop);
        const struct libusb_pollfd **fds = libusb_get_pollfds(ctx);
        for (size_t i = 0; fds && fds[i]; i++)
            iop_loop_add_io(loop, fds[i]->fd,
                            (fds[i]->events & POLLIN ? EPOLLIN : 0) |
                                (fds[i]->events & POLLOUT ? EPOLLOUT : 0),
                            loop_fd, ctx, NULL);
        libusb_free_pollfds(fds);
    }
    libusb_device_handle *h = NULL;
    libusb_device **list;
    ssize_t n = libusb_get_device_list(ctx, &list);
    for (ssize_t i = 0; i < n && !h; i++) {
        struct libusb_device_descriptor dd;
        if (libusb_get_device_descriptor(list[i], &dd) == 0 && dd.idVendor == vid && dd.idProduct == pid &&
            on_bus(libusb_get_bus_number(list[i])) && libusb_open(list[i], &h) < 0)
            h = NULL;
    }
    if (n >= 0)
        libusb_free_device_list(list, 1);
    struct libusb_config_descriptor *cfg = NULL;
    int in = -1, out = -1;
    if (h && libusb_get_active_config_descriptor(libusb_get_device(h), &cfg) == 0) {
        const struct libusb_interface_descriptor *alt = &cfg->interface[0].altsetting[0];
        for (int i = 0; i < alt->bNumEndpoints; i++)
            if ((alt->endpoint[i].bmAttributes & 3) == LIBUSB_TRANSFER_TYPE_BULK)
                *((alt->endpoint[i].bEndpointAddress & 0x80) ? &in : &out) =
                    alt->endpoint[i].bEndpointAddress;
        libusb_free_config_descriptor(cfg);
    }
    if (!h || in < 0 || out < 0 || libusb_claim_interface(h, 0) < 0) {
        fprintf(stderr, "libusb: gadget %04x:%04x not usable\n", vid, pid);
        return -1;
    }
    if (via_loop) {
        /* The device's fd exists now: watch it too (the backend uses the notifiers). */
        const struct libusb_pollfd **fds = libusb_get_pollfds(ctx);
        for (size_t i = 0; fds && fds[i]; i++)
            if (fds[i]->events & POLLOUT)
                iop_loop_add_io(loop, fds[i]->fd, EPOLLOUT, loop_fd, ctx, NULL);
        libusb_free_pollfds(fds);
    }
    uint8_t *mem = calloc((size_t)depth * 2, size);
    struct libusb_transfer *ts[2 * DEPTH_MAX];
    R = (struct run){ .size = size, .depth = depth };
    for (int i = 0; i < 2 * depth; i++) {
        ts[i] = libusb_alloc_transfer(0);
        bool is_in = i < depth;
        libusb_fill_bulk_transfer(ts[i], h, (unsigned char)(is_in ? in : out),
                                  mem + (size_t)i * size, (int)size, is_in ? lu_in : lu_out, NULL,
                                  0);
    }
    uint64_t t0 = iop_loop_now_usec();
    R.deadline = t0 + (uint64_t)seconds * 1000000u;
    for (int i = 0; i < 2 * depth; i++)
        if (libusb_submit_transfer(ts[i]) == 0)
            R.in_flight++;
    while (iop_loop_now_usec() < R.deadline) {
        struct timeval tv = { 0, 100000 };
        if (loop)
            iop_loop_iterate(loop, 100);
        else
            libusb_handle_events_timeout_completed(ctx, &tv, NULL);
    }
    R.stopping = true;
    R.last_activity = iop_loop_now_usec();
    while (iop_loop_now_usec() - R.last_activity < DRAIN_IDLE_USEC) {
        struct timeval tv = { 0, 50000 };
        libusb_handle_events_timeout_completed(ctx, &tv, NULL);
    }
    for (int i = 0; i < 2 * depth; i++)
        libusb_cancel_transfer(ts[i]);
    while (R.in_flight > 0) {
        struct timeval tv = { 0, 100000 };
        libusb_handle_events_timeout_completed(ctx, &tv, NULL);
    }
    for (int i = 0; i < 2 * depth; i++)
        libusb_free_transfer(ts[i]);
    double rate = mbps(R.bytes_in, R.deadline - t0);
    if (R.errors)
        fprintf(stderr, "libusb: %d transfer errors\n", R.errors);
    free(mem);
    libusb_release_interface(h, 0);
    libusb_close(h);
    iop_loop_free(loop); /* before libusb_exit closes the fds it watches */
    libusb_exit(ctx);
    return R.errors ? -1 : rate;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    unsigned vid, pid;
    if (argc < 2 || sscanf(argv[1], "%x:%x@%u", &vid, &pid, &want_bus) < 2) {
        fprintf(stderr, "usage: bench-usb VID:PID[@BUS] [SIZE [DEPTH [SECONDS [ROUNDS]]]]\n");
        return 2;
    }
    size_t size = argc > 2 ? strtoul(argv[2], NULL, 0) : 16384;
    int depth = argc > 3 ? atoi(argv[3]) : 8;
    int seconds = argc > 4 ? atoi(argv[4]) : 3;
    int rounds = argc > 5 ? atoi(argv[5]) : 3;
    if (size == 0 || size > IOP_URB_TRANSFER_MAX || depth < 1 || depth > DEPTH_MAX || seconds < 1 ||
        rounds < 1 || rounds > 15) {
        fprintf(stderr, "bench-usb: size 1..%u, depth 1..%d, seconds >= 1, rounds 1..15\n",
                IOP_URB_TRANSFER_MAX, DEPTH_MAX);
        return 2;
    }
    double eng[15], lu[15], lul[15], ratio[15];
    uint16_t v = (uint16_t)vid, p = (uint16_t)pid;
    for (int r = 0; r < rounds; r++) {
        /* Rotate which goes first, so that none profits from the order. */
        for (int k = 0; k < 3; k++)
            switch ((r + k) % 3) {
            case 0:
                eng[r] = run_engine(v, p, size, depth, seconds);
                break;
            case 1:
                lu[r] = run_libusb(v, p, size, depth, seconds, false);
                break;
            default:
                lul[r] = run_libusb(v, p, size, depth, seconds, true);
                break;
            }
        printf("round %d: engine %.1f MB/s, libusb %.1f MB/s, libusb on the loop %.1f MB/s\n",
               r + 1, eng[r], lu[r], lul[r]);
        fflush(stdout);
        if (eng[r] < 0 || lu[r] < 0 || lul[r] < 0)
            return 1;
        ratio[r] = lu[r] > 0 ? eng[r] / lu[r] : 0.0;
    }
    qsort(eng, (size_t)rounds, sizeof(double), cmp_double);
    qsort(lu, (size_t)rounds, sizeof(double), cmp_double);
    qsort(lul, (size_t)rounds, sizeof(double), cmp_double);
    qsort(ratio, (size_t)rounds, sizeof(double), cmp_double);
    double e = eng[rounds / 2], l = lu[rounds / 2], ll = lul[rounds / 2];
    printf("(control: plain libusb driven by an iop_loop as the backend drives it: %.1f MB/s, "
           "engine/that %.2f)\n", ll, ll > 0 ? e / ll : 0.0);
    printf("bulk-loopback (%zu bytes x %d deep each way, median of %d): %.1f MB/s vs libusb "
           "%.1f MB/s: ratio %.2f\n", size, depth, rounds, e, l, l > 0 ? e / l : 0.0);
    /* Where the link's own rate drifts between rounds (USB/IP on a loaded host varied 2x),
     * the ratio of the medians mixes rounds; the ratio within each round does not. */
    printf("per-round ratio engine/libusb: median %.2f (%.2f..%.2f)\n", ratio[rounds / 2], ratio[0],
           ratio[rounds - 1]);
    return 0;
}
