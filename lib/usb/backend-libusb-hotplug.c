/* Finding devices for the libusb backend (see backend-libusb.h).
 *
 * The devices present at start come from libusb's device list (libusb builds it from
 * sysfs, with or without udevd).  Later arrivals and departures come from the
 * kernel's own uevents on a netlink socket of ours (os.c), because Debian's libusb
 * hears of hotplug only through udevd, which containers and minimal systems do not
 * run.  A device arrives when usbcore's generic driver binds to it (BIND with
 * DRIVER=usb: it is configured by then), and leaves on REMOVE, or when usbip-host
 * binds to it: it is exported to another machine then, whose URBs it carries.  A
 * device libusb did not list itself is opened with libusb_wrap_sys_device() on its
 * usbfs node; that reads the active configuration with a synchronous control
 * transfer, so it runs on the worker thread.  When the kernel dropped uevents (the
 * socket's buffer overflowed), sysfs is scanned again.  Without a uevent socket (a
 * sandbox that forbids netlink) libusb's own hotplug is used, which needs udevd. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lib/usb/backend-libusb-int.h"
#include "lib/usb/os.h"
#include "lib/usb/uevent.h"
#include "lib/util/bytes.h"
#include "lib/util/log.h"
#include "lib/util/loop.h"
#include "lib/util/worker.h"

/* Messages read per wakeup, so that a storm of uevents does not starve the loop. */
#define UEVENTS_PER_WAKEUP 64

/* A device a uevent announced, being opened on the worker. */
struct lu_arrival {
    struct lu *lu;                 /* borrowed */
    struct iop_usb_dev_info info;
    bool cancelled;                /* left before it was opened, or the backend is exiting */
    struct iop_worker_job *job;
    int fd;                        /* the job's result: the usbfs fd and libusb's handle on it */
    libusb_device_handle *h;
    uint64_t since;                /* when the uevent came, for the log */
    struct lu_arrival *next;
};

static enum iop_usb_speed map_speed(int s) {
    switch (s) {
    case LIBUSB_SPEED_LOW:
        return IOP_USB_SPEED_LOW;
    case LIBUSB_SPEED_FULL:
        return IOP_USB_SPEED_FULL;
    case LIBUSB_SPEED_HIGH:
        return IOP_USB_SPEED_HIGH;
    case LIBUSB_SPEED_SUPER:
        return IOP_USB_SPEED_SUPER;
    case LIBUSB_SPEED_SUPER_PLUS:
        return IOP_USB_SPEED_SUPER_PLUS;
    default:
        return IOP_USB_SPEED_UNKNOWN;
    }
}

static bool same_place(const struct iop_usb_dev_info *a, uint16_t bus, uint8_t devnum) {
    return a->busnum == bus && a->devnum == devnum;
}

/* A device we have (not gone) or are opening at bus/devnum. */
static bool known(struct lu *lu, uint16_t bus, uint8_t devnum) {
    for (struct lu_dev *ld = lu->devs; ld; ld = ld->next)
        if (!iop_usb_dev_is_gone(ld->dev) && same_place(iop_usb_dev_info(ld->dev), bus, devnum))
            return true;
    for (struct lu_arrival *a = lu->arrivals; a; a = a->next)
        if (!a->cancelled && same_place(&a->info, bus, devnum))
            return true;
    return false;
}

/* Bound to usbip-host: exported to another machine, not ours to use. */
static bool exported(struct lu *lu, const struct iop_usb_dev_info *info) {
    char name[64], driver[64];
    if (iop_usb_os_sysfs_name(info->busnum, info->port_path, info->port_depth, name, sizeof(name)) < 0 ||
        iop_usb_os_driver(lu->sysfs, name, driver, sizeof(driver)) < 0 || strcmp(driver, IOP_USB_OS_EXPORT_DRIVER))
        return false;
    iop_info("usb %u-%u (%s): exported by %s, not served here", info->busnum, info->devnum, name, driver);
    lu->stats.exported++;
    return true;
}

/* A new device for the engine: h may be NULL (opened lazily), wrapped_fd -1. */
static void dev_add(struct lu *lu, libusb_device *ldev, libusb_device_handle *h, int wrapped_fd,
                    const struct iop_usb_dev_info *info) {
    /* libusb's cached device descriptor (what the kernel read at enumeration): only
     * used if the device does not answer GET_DESCRIPTOR itself. */
    struct libusb_device_descriptor d;
    uint8_t cached[IOP_USB_DT_DEVICE_SIZE];
    bool have_cached = libusb_get_device_descriptor(ldev, &d) == 0;
    if (have_cached) {
        cached[0] = d.bLength;
        cached[1] = d.bDescriptorType;
        iop_put_le16(cached + 2, d.bcdUSB);
        cached[4] = d.bDeviceClass;
        cached[5] = d.bDeviceSubClass;
        cached[6] = d.bDeviceProtocol;
        cached[7] = d.bMaxPacketSize0;
        iop_put_le16(cached + 8, d.idVendor);
        iop_put_le16(cached + 10, d.idProduct);
        iop_put_le16(cached + 12, d.bcdDevice);
        cached[14] = d.iManufacturer;
        cached[15] = d.iProduct;
        cached[16] = d.iSerialNumber;
        cached[17] = d.bNumConfigurations;
    }
    struct iop_usb_dev *dev = NULL;
    struct lu_close *closer = calloc(1, sizeof(*closer));
    int r = closer ? iop_usb_backend_dev_new(lu->engine, info, &dev) : -ENOMEM;
    if (r < 0) {
        iop_err("usb %u-%u: cannot add the device: %s", info->busnum, info->devnum, strerror(-r));
        free(closer);
        if (h)
            libusb_close(h);
        if (wrapped_fd >= 0)
            close(wrapped_fd);
        return;
    }
    struct lu_dev *ld = iop_usb_dev_backend_priv(dev);
    ld->closer = closer;
    ld->lu = lu;
    ld->dev = dev;
    ld->ldev = libusb_ref_device(ldev);
    ld->h = h;
    ld->wrapped_fd = wrapped_fd;
    ld->next = lu->devs;
    lu->devs = ld;
    iop_usb_backend_dev_attach(dev, have_cached ? cached : NULL);
}

/* ---- Devices libusb reports (its list, or its hotplug without uevents) ---- */

static void device_arrived(struct lu *lu, libusb_device *ldev) {
    struct iop_usb_dev_info info = {
        .busnum = libusb_get_bus_number(ldev),
        .devnum = libusb_get_device_address(ldev),
        .speed = map_speed(libusb_get_device_speed(ldev)),
    };
    int n = libusb_get_port_numbers(ldev, info.port_path, IOP_USB_MAX_PORTS);
    info.port_depth = n > 0 ? (uint8_t)n : 0;
    if (known(lu, info.busnum, info.devnum) || exported(lu, &info))
        return; /* the list and a real event may both report it */
    dev_add(lu, ldev, NULL, -1, &info);
}

static void device_left(struct lu *lu, libusb_device *ldev) {
    for (struct lu_dev *ld = lu->devs; ld; ld = ld->next)
        if (ld->ldev == ldev) {
            iop_usb_backend_dev_gone(ld->dev);
            return;
        }
}

static void process_pending(struct lu *lu) {
    while (lu->pending) {
        struct lu_pending *p = lu->pending;
        lu->pending = p->next;
        if (!lu->pending)
            lu->pending_tail = NULL;
        if (p->arrived)
            device_arrived(lu, p->ldev);
        else
            device_left(lu, p->ldev);
        libusb_unref_device(p->ldev);
        free(p);
    }
}

static void on_deferred(void *data) {
    struct lu *lu = data;
    lu->deferred = NULL; /* one-shot */
    process_pending(lu);
}

/* Called from inside libusb's event handling (or hotplug registration): record the
 * event and handle it from the loop, where the engine may open devices and its
 * callbacks may do anything. */
static int LIBUSB_CALL on_hotplug(libusb_context *ctx, libusb_device *ldev, libusb_hotplug_event ev,
                                  void *data) {
    struct lu *lu = data;
    (void)ctx;
    bool arrived = ev == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED;
    if (arrived)
        lu->stats.arrived++;
    else
        lu->stats.left++;
    struct lu_pending *p = calloc(1, sizeof(*p));
    if (!p) {
        iop_err("usb: out of memory: hotplug event for %u-%u lost", libusb_get_bus_number(ldev),
                libusb_get_device_address(ldev));
        return 0;
    }
    p->ldev = libusb_ref_device(ldev);
    p->arrived = arrived;
    if (lu->pending_tail)
        lu->pending_tail->next = p;
    else
        lu->pending = p;
    lu->pending_tail = p;
    if (!lu->deferred && iop_loop_add_timer(lu->loop, 0, on_deferred, lu, &lu->deferred) < 0)
        lu->deferred = NULL;
    return 0; /* stay registered */
}

/* ---- Devices the kernel's uevents report ---- */

/* On the worker thread: open the usbfs node and give it to libusb. */
static int open_job(void *arg) {
    struct lu_arrival *a = arg;
    int fd = iop_usb_os_open_device(a->info.busnum, a->info.devnum);
    if (fd < 0)
        return fd;
    libusb_device_handle *h;
    int r = libusb_wrap_sys_device(a->lu->ctx, (intptr_t)fd, &h);
    if (r < 0) {
        close(fd);
        return lu_errno(r);
    }
    a->fd = fd;
    a->h = h;
    return 0;
}

static void arrival_unlink(struct lu *lu, struct lu_arrival *a) {
    for (struct lu_arrival **pp = &lu->arrivals; *pp; pp = &(*pp)->next)
        if (*pp == a) {
            *pp = a->next;
            return;
        }
}

/* On the loop. */
static void open_done(void *arg, int result) {
    struct lu_arrival *a = arg;
    struct lu *lu = a->lu;
    lu_apply_fd_changes(lu); /* the handle's fd, announced on the worker */
    arrival_unlink(lu, a);
    if (result == 0 && (a->cancelled || lu->exiting)) {
        libusb_close(a->h);
        close(a->fd);
    } else if (result == 0) {
        iop_debug("usb %u-%u: opened %llu ms after its uevent", a->info.busnum, a->info.devnum,
                  (unsigned long long)((iop_loop_now_usec() - a->since) / 1000));
        libusb_device *ldev = libusb_get_device(a->h);
        a->info.speed = map_speed(libusb_get_device_speed(ldev));
        lu->stats.uevent_arrived++;
        dev_add(lu, ldev, a->h, a->fd, &a->info);
    } else if (result != -ECANCELED) {
        iop_warn("usb %u-%u: cannot open the device that arrived: %s", a->info.busnum, a->info.devnum,
                 strerror(-result));
    }
    free(a);
}

static void arrive(struct lu *lu, const struct iop_usb_dev_info *info) {
    if (known(lu, info->busnum, info->devnum))
        return;
    struct lu_arrival *a = calloc(1, sizeof(*a));
    if (!a) {
        iop_err("usb %u-%u: out of memory: arrival lost", info->busnum, info->devnum);
        return;
    }
    a->lu = lu;
    a->info = *info;
    a->fd = -1;
    a->since = iop_loop_now_usec();
    int r = iop_worker_submit(lu->worker, open_job, open_done, a, &a->job);
    if (r < 0) {
        iop_err("usb %u-%u: cannot open the device that arrived: %s", info->busnum, info->devnum, strerror(-r));
        free(a);
        return;
    }
    a->next = lu->arrivals;
    lu->arrivals = a;
}

static void depart(struct lu *lu, uint16_t bus, uint8_t devnum) {
    for (struct lu_arrival *a = lu->arrivals; a; a = a->next)
        if (!a->cancelled && same_place(&a->info, bus, devnum)) {
            a->cancelled = true;
            (void)iop_worker_cancel(lu->worker, a->job); /* running: closed when done */
        }
    for (struct lu_dev *ld = lu->devs; ld; ld = ld->next)
        if (!iop_usb_dev_is_gone(ld->dev) && same_place(iop_usb_dev_info(ld->dev), bus, devnum)) {
            lu->stats.uevent_left++;
            iop_usb_backend_dev_gone(ld->dev); /* ld stays on the list until released */
            return;
        }
}

/* The device a uevent names: its place from the sysfs name, its address. */
static bool uevent_device(const struct iop_uevent *ev, struct iop_usb_dev_info *info) {
    struct iop_uevent_str name = iop_uevent_devpath_name(ev->devpath);
    uint16_t bus;
    if (!name.s || iop_usb_parse_sysfs_name(name.s, name.len, &bus, info->port_path, &info->port_depth) < 0 ||
        bus != ev->busnum)
        return false;
    info->busnum = (uint16_t)ev->busnum;
    info->devnum = (uint8_t)ev->devnum;
    return true;
}

static void handle_uevent(struct lu *lu, const char *msg, size_t len) {
    struct iop_uevent ev;
    struct iop_usb_dev_info info = { 0 };
    if (iop_uevent_parse(msg, len, &ev) < 0 || !iop_uevent_is_usb_device(&ev) || !uevent_device(&ev, &info))
        return;
    if (ev.action == IOP_UEVENT_BIND && iop_uevent_str_is(ev.driver, IOP_USB_OS_GENERIC_DRIVER)) {
        iop_debug("usb %u-%u: arrived (uevent)", info.busnum, info.devnum);
        arrive(lu, &info);
    } else if (ev.action == IOP_UEVENT_REMOVE ||
               (ev.action == IOP_UEVENT_BIND && iop_uevent_str_is(ev.driver, IOP_USB_OS_EXPORT_DRIVER))) {
        iop_debug("usb %u-%u: %s (uevent)", info.busnum, info.devnum,
                  ev.action == IOP_UEVENT_REMOVE ? "removed" : "exported by usbip-host");
        depart(lu, info.busnum, info.devnum);
    }
}

/* ---- Rescanning sysfs after lost uevents ---- */

struct scan {
    struct lu *lu;
    struct { uint16_t bus; uint8_t devnum; } *seen;
    size_t n, cap;
};

static int scan_one(void *ctx, const char *name, uint16_t bus, uint8_t devnum, const char *driver) {
    struct scan *s = ctx;
    if (strcmp(driver, IOP_USB_OS_GENERIC_DRIVER) != 0)
        return 0; /* not ready, or exported: as if absent */
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        void *p = realloc(s->seen, cap * sizeof(*s->seen));
        if (!p)
            return 1;
        s->seen = p;
        s->cap = cap;
    }
    s->seen[s->n].bus = bus;
    s->seen[s->n++].devnum = devnum;
    struct iop_usb_dev_info info = { .busnum = bus, .devnum = devnum };
    uint16_t b;
    if (iop_usb_parse_sysfs_name(name, strlen(name), &b, info.port_path, &info.port_depth) == 0)
        arrive(s->lu, &info);
    return 0;
}

static void resync(struct lu *lu) {
    lu->stats.resyncs++;
    struct scan s = { .lu = lu };
    int r = iop_usb_os_scan(lu->sysfs, scan_one, &s);
    if (r < 0) {
        iop_warn("usb: cannot rescan sysfs: %s", strerror(-r));
        free(s.seen);
        return;
    }
    /* Those we have that sysfs no longer shows (or shows exported) left.  Departing
     * may free a device (its hotplug callbacks drop references), so look again from
     * the start after each. */
    bool again = true;
    while (again) {
        again = false;
        for (struct lu_dev *ld = lu->devs; ld; ld = ld->next) {
            if (iop_usb_dev_is_gone(ld->dev))
                continue;
            const struct iop_usb_dev_info *in = iop_usb_dev_info(ld->dev);
            bool found = false;
            for (size_t i = 0; i < s.n && !found; i++)
                found = same_place(in, s.seen[i].bus, s.seen[i].devnum);
            if (!found) {
                depart(lu, in->busnum, in->devnum); /* ld may be freed: do not step on */
                again = true;
                break;
            }
        }
    }
    free(s.seen);
}

static void on_uevent(void *data, int fd, uint32_t revents) {
    struct lu *lu = data;
    (void)revents;
    char msg[IOP_UEVENT_MSG_MAX];
    for (int i = 0; i < UEVENTS_PER_WAKEUP; i++) {
        ssize_t n = iop_usb_os_uevent_recv(fd, msg, sizeof(msg));
        if (n == -EAGAIN)
            return;
        if (n == -ENOBUFS) {
            iop_warn("usb: the kernel dropped uevents; rescanning the devices");
            resync(lu);
            continue;
        }
        if (n == -EPERM || n == -EMSGSIZE)
            continue; /* not the kernel's, or not a uevent: dropped */
        if (n < 0) {
            iop_warn("usb: reading uevents: %s", strerror((int)-n));
            return;
        }
        lu->stats.uevents++;
        handle_uevent(lu, msg, (size_t)n);
    }
}

/* ---- Start and stop ---- */

void lu_hotplug_init(struct lu *lu) {
    lu->uevent_fd = -1;
    if (lu->uevents_off)
        return;
    int fd = iop_usb_os_uevent_open();
    if (fd < 0) {
        iop_info("usb: no kernel uevents (%s): hotplug through libusb, which needs udevd", strerror(-fd));
        return;
    }
    lu->uevent_fd = fd;
}

int lu_hotplug_start(struct lu *lu) {
    if (lu->uevent_fd >= 0) {
        int r = iop_loop_add_io(lu->loop, lu->uevent_fd, EPOLLIN, on_uevent, lu, &lu->uevent_src);
        if (r < 0)
            return r;
        lu->stats.uevent_listening = true;
    }
    if (lu->uevent_fd < 0 && lu->stats.hotplug) {
        int r = libusb_hotplug_register_callback(
            lu->ctx, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, LIBUSB_HOTPLUG_ENUMERATE,
            LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY, on_hotplug, lu, &lu->hotplug);
        if (r < 0)
            return lu_errno(r);
        lu->hotplug_registered = true;
    } else {
        /* The devices present now; later ones come from uevents (or, with neither
         * uevents nor libusb hotplug, never). */
        libusb_device **list;
        ssize_t n = libusb_get_device_list(lu->ctx, &list);
        if (n < 0)
            return lu_errno((int)n);
        for (ssize_t i = 0; i < n; i++)
            on_hotplug(lu->ctx, list[i], LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED, lu);
        libusb_free_device_list(list, 1);
    }
    /* The devices present at start are added now, not on the first loop turn. */
    iop_loop_source_free(lu->deferred);
    lu->deferred = NULL;
    process_pending(lu);
    return 0;
}

void lu_hotplug_exit(struct lu *lu) {
    if (lu->hotplug_registered)
        libusb_hotplug_deregister_callback(lu->ctx, lu->hotplug);
    lu->hotplug_registered = false;
    iop_loop_source_free(lu->deferred);
    lu->deferred = NULL;
    while (lu->pending) {
        struct lu_pending *p = lu->pending;
        lu->pending = p->next;
        libusb_unref_device(p->ldev);
        free(p);
    }
    lu->pending_tail = NULL;
    iop_loop_source_free(lu->uevent_src);
    lu->uevent_src = NULL;
    if (lu->uevent_fd >= 0)
        close(lu->uevent_fd);
    lu->uevent_fd = -1;
    /* Devices being opened: their completions close them (the worker runs them). */
    for (struct lu_arrival *a = lu->arrivals; a; a = a->next) {
        a->cancelled = true;
        (void)iop_worker_cancel(lu->worker, a->job);
    }
}
