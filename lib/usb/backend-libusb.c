/* The libusb-1.0 backend (see backend-libusb.h).  The only file in iopd that
 * includes libusb.h. */
#include "lib/usb/backend-libusb.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <libusb.h>

#include "lib/usb/backend.h"
#include "lib/usb/urb.h"
#include "lib/util/bytes.h"
#include "lib/util/log.h"
#include "lib/util/loop.h"

struct lu_fd {
    int fd;
    struct iop_loop_source *src; /* owned */
    struct lu_fd *next;
};

/* A hotplug event, deferred from libusb's callback to the loop. */
struct lu_pending {
    libusb_device *ldev; /* owned reference */
    bool arrived;
    struct lu_pending *next;
};

struct lu_dev;

struct lu {
    struct iop_usb_engine *engine; /* borrowed: it owns us */
    struct iop_loop *loop;         /* borrowed */
    libusb_context *ctx;           /* owned */
    struct lu_fd *fds;             /* owned */
    struct iop_loop_source *timeout_timer; /* only when libusb cannot poll its timeouts */
    struct iop_loop_source *deferred;      /* zero timer for pending hotplug events */
    struct lu_pending *pending, *pending_tail; /* owned */
    libusb_hotplug_callback_handle hotplug;
    bool hotplug_registered;
    struct lu_dev *devs;           /* each lives inside its iop_usb_dev */
    struct iop_usb_libusb_stats stats;
};

struct lu_dev {
    struct lu *lu;                 /* borrowed */
    struct iop_usb_dev *dev;       /* borrowed: we live inside it */
    libusb_device *ldev;           /* owned reference */
    libusb_device_handle *h;       /* owned, opened lazily */
    struct lu_dev *next;
};

/* The backend's area of each URB: one libusb transfer for the URB's lifetime. */
struct lu_urb {
    struct lu *lu;                 /* borrowed */
    struct libusb_transfer *t;     /* owned */
    uint8_t *bounce;               /* owned: control setup+data, or scattered ISO data */
    size_t bounce_size;
    bool iso_bounce;               /* this submission's ISO data is in bounce */
};

/* The one translation from libusb to errno.  LIBUSB_ERROR_* codes are negative and
 * enum libusb_transfer_status values are not, so one function takes both. */
static int libusb_to_errno(int code) {
    switch (code) {
    case 0: /* LIBUSB_SUCCESS, LIBUSB_TRANSFER_COMPLETED */
        return 0;
    /* Transfer statuses, as libusb's linux_usbfs.c derives them from the URB's
     * status: -EPROTO, -EILSEQ, -ETIME, -ECOMM and -ENOSR all become ERROR, so the
     * kernel's generic protocol error stands for them; -ESHUTDOWN and ENODEV from
     * the reap become NO_DEVICE.
     *
     * Disconnect, as measured in the VM (tests/usb/usb-e2e.sh): URBs in flight when
     * a dummy_hcd gadget is unbound come back either as NO_DEVICE (libusb saw the
     * usbfs file descriptor fail first) or as ERROR (usbfs -EPROTO: the gadget's
     * endpoints vanished before the hub noticed the port change), which one is a
     * race.  ERROR stays -EPROTO here: at that moment nothing says the device is
     * gone, and inventing -ENODEV would mean holding back error completions.  URBs
     * still in flight once the departure is known get -ENODEV (from the engine's
     * hangup, or NO_DEVICE). */
    case LIBUSB_TRANSFER_ERROR:
        return -EPROTO;
    case LIBUSB_TRANSFER_TIMED_OUT:
        return -ETIMEDOUT;
    case LIBUSB_TRANSFER_CANCELLED:
        return -ECONNRESET;
    case LIBUSB_TRANSFER_STALL:
        return -EPIPE;
    case LIBUSB_TRANSFER_NO_DEVICE:
        return -ENODEV;
    case LIBUSB_TRANSFER_OVERFLOW:
        return -EOVERFLOW;
    /* API errors */
    case LIBUSB_ERROR_IO:
        return -EIO;
    case LIBUSB_ERROR_INVALID_PARAM:
        return -EINVAL;
    case LIBUSB_ERROR_ACCESS:
        return -EACCES;
    case LIBUSB_ERROR_NO_DEVICE:
        return -ENODEV;
    case LIBUSB_ERROR_NOT_FOUND:
        return -ENOENT;
    case LIBUSB_ERROR_BUSY:
        return -EBUSY;
    case LIBUSB_ERROR_TIMEOUT:
        return -ETIMEDOUT;
    case LIBUSB_ERROR_OVERFLOW:
        return -EOVERFLOW;
    case LIBUSB_ERROR_PIPE:
        return -EPIPE;
    case LIBUSB_ERROR_INTERRUPTED:
        return -EINTR;
    case LIBUSB_ERROR_NO_MEM:
        return -ENOMEM;
    case LIBUSB_ERROR_NOT_SUPPORTED:
        return -EOPNOTSUPP;
    default:
        return -EIO;
    }
}

const char *iop_usb_libusb_status_name(int status) {
    static const char *const names[IOP_USB_LIBUSB_STATUSES] = {
        "COMPLETED", "ERROR", "TIMED_OUT", "CANCELLED", "STALL", "NO_DEVICE", "OVERFLOW", "?",
    };
    return status >= 0 && status < IOP_USB_LIBUSB_STATUSES ? names[status] : "?";
}

/* ---- The loop ---- */

static void rearm_timeout(struct lu *lu);

static void process(struct lu *lu) {
    struct timeval zero = { 0, 0 };
    int r = libusb_handle_events_timeout_completed(lu->ctx, &zero, NULL);
    if (r < 0 && r != LIBUSB_ERROR_INTERRUPTED)
        iop_warn("usb: libusb event handling: %s", libusb_error_name(r));
    rearm_timeout(lu);
}

static void on_fd(void *data, int fd, uint32_t revents) {
    (void)fd;
    (void)revents;
    process(data);
}

static void on_timeout(void *data) {
    struct lu *lu = data;
    lu->timeout_timer = NULL; /* one-shot */
    process(lu);
}

/* Only for a libusb that cannot put its timeouts into a file descriptor (Linux has
 * timerfd, so this normally does nothing). */
static void rearm_timeout(struct lu *lu) {
    if (libusb_pollfds_handle_timeouts(lu->ctx))
        return;
    iop_loop_source_free(lu->timeout_timer);
    lu->timeout_timer = NULL;
    struct timeval tv;
    if (libusb_get_next_timeout(lu->ctx, &tv) == 1) {
        uint64_t usec = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
        if (iop_loop_add_timer(lu->loop, usec, on_timeout, lu, &lu->timeout_timer) < 0)
            lu->timeout_timer = NULL;
    }
}

static void LIBUSB_CALL fd_added(int fd, short events, void *data) {
    struct lu *lu = data;
    struct lu_fd *f = calloc(1, sizeof(*f));
    if (!f) {
        iop_err("usb: out of memory watching libusb fd %d", fd);
        return;
    }
    uint32_t ev = 0;
    if (events & POLLIN)
        ev |= EPOLLIN;
    if (events & POLLOUT)
        ev |= EPOLLOUT; /* usbfs signals reapable URBs as writable */
    int r = iop_loop_add_io(lu->loop, fd, ev, on_fd, lu, &f->src);
    if (r < 0) {
        iop_err("usb: cannot watch libusb fd %d: %s", fd, strerror(-r));
        free(f);
        return;
    }
    f->fd = fd;
    f->next = lu->fds;
    lu->fds = f;
}

static void LIBUSB_CALL fd_removed(int fd, void *data) {
    struct lu *lu = data;
    for (struct lu_fd **pp = &lu->fds; *pp; pp = &(*pp)->next)
        if ((*pp)->fd == fd) {
            struct lu_fd *f = *pp;
            *pp = f->next;
            iop_loop_source_free(f->src);
            free(f);
            return;
        }
}

/* ---- Devices and hotplug ---- */

static struct lu *engine_lu(struct iop_usb_engine *e) {
    if (!e || iop_usb_engine_backend(e) != &iop_usb_backend_libusb)
        return NULL;
    return iop_usb_engine_backend_priv(e);
}

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

static struct lu_dev *find_dev(struct lu *lu, libusb_device *ldev) {
    for (struct lu_dev *ld = lu->devs; ld; ld = ld->next)
        if (ld->ldev == ldev)
            return ld;
    return NULL;
}

static void device_arrived(struct lu *lu, libusb_device *ldev) {
    struct lu_dev *old = find_dev(lu, ldev);
    if (old && !iop_usb_dev_is_gone(old->dev))
        return; /* ENUMERATE and a real event may both report it */
    struct iop_usb_dev_info info = {
        .busnum = libusb_get_bus_number(ldev),
        .devnum = libusb_get_device_address(ldev),
        .speed = map_speed(libusb_get_device_speed(ldev)),
    };
    int n = libusb_get_port_numbers(ldev, info.port_path, IOP_USB_MAX_PORTS);
    info.port_depth = n > 0 ? (uint8_t)n : 0;

    /* libusb's cached copy (from sysfs, what the kernel read at enumeration): only
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

    struct iop_usb_dev *dev;
    int r = iop_usb_backend_dev_new(lu->engine, &info, &dev);
    if (r < 0) {
        iop_err("usb %u-%u: cannot add the device: %s", info.busnum, info.devnum, strerror(-r));
        return;
    }
    struct lu_dev *ld = iop_usb_dev_backend_priv(dev);
    ld->lu = lu;
    ld->dev = dev;
    ld->ldev = libusb_ref_device(ldev);
    ld->next = lu->devs;
    lu->devs = ld;
    iop_usb_backend_dev_attach(dev, have_cached ? cached : NULL);
}

static void device_left(struct lu *lu, libusb_device *ldev) {
    struct lu_dev *ld = find_dev(lu, ldev);
    if (ld)
        iop_usb_backend_dev_gone(ld->dev);
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
static int LIBUSB_CALL on_hotplug(libusb_context *ctx, libusb_device *ldev,
                                  libusb_hotplug_event ev, void *data) {
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

static int ensure_open(struct lu_dev *ld) {
    if (ld->h)
        return 0;
    int r = libusb_open(ld->ldev, &ld->h);
    if (r < 0) {
        ld->h = NULL;
        return libusb_to_errno(r);
    }
    return 0;
}

/* ---- Backend ops ---- */

static int lu_init(struct iop_usb_engine *e, const void *config) {
    struct lu *lu = iop_usb_engine_backend_priv(e);
    const struct iop_usb_libusb_config *cfg = config;
    lu->engine = e;
    lu->loop = iop_usb_engine_loop(e);
    if (!lu->loop)
        return -EINVAL; /* libusb's descriptors need a loop to live on */
    int r = libusb_init(&lu->ctx);
    if (r < 0)
        return libusb_to_errno(r);
    if (cfg && cfg->log_level > 0)
        libusb_set_option(lu->ctx, LIBUSB_OPTION_LOG_LEVEL, cfg->log_level);
    libusb_set_pollfd_notifiers(lu->ctx, fd_added, fd_removed, lu);
    const struct libusb_pollfd **fds = libusb_get_pollfds(lu->ctx);
    for (size_t i = 0; fds && fds[i]; i++)
        fd_added(fds[i]->fd, fds[i]->events, lu);
    libusb_free_pollfds(fds);
    lu->stats.hotplug = libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG);
    return 0;
}

static int lu_start(struct iop_usb_engine *e) {
    struct lu *lu = iop_usb_engine_backend_priv(e);
    if (lu->stats.hotplug) {
        int r = libusb_hotplug_register_callback(
            lu->ctx, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT,
            LIBUSB_HOTPLUG_ENUMERATE, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
            LIBUSB_HOTPLUG_MATCH_ANY, on_hotplug, lu, &lu->hotplug);
        if (r < 0)
            return libusb_to_errno(r);
        lu->hotplug_registered = true;
    } else {
        /* No hotplug: the devices present now are all we will know. */
        libusb_device **list;
        ssize_t n = libusb_get_device_list(lu->ctx, &list);
        if (n < 0)
            return libusb_to_errno((int)n);
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

static void lu_exit(struct iop_usb_engine *e) {
    struct lu *lu = iop_usb_engine_backend_priv(e);
    if (lu->hotplug_registered)
        libusb_hotplug_deregister_callback(lu->ctx, lu->hotplug);
    iop_loop_source_free(lu->deferred);
    iop_loop_source_free(lu->timeout_timer);
    while (lu->pending) {
        struct lu_pending *p = lu->pending;
        lu->pending = p->next;
        libusb_unref_device(p->ldev);
        free(p);
    }
    libusb_set_pollfd_notifiers(lu->ctx, NULL, NULL, NULL);
    while (lu->fds) {
        struct lu_fd *f = lu->fds;
        lu->fds = f->next;
        iop_loop_source_free(f->src);
        free(f);
    }
    libusb_exit(lu->ctx);
}

static void lu_dev_release(struct iop_usb_dev *dev) {
    struct lu_dev *ld = iop_usb_dev_backend_priv(dev);
    struct lu *lu = ld->lu;
    if (ld->h) {
        for (uint8_t i = 0; i < IOP_USB_MAX_INTERFACES; i++)
            if (iop_usb_dev_interface_claimed(dev, i))
                (void)libusb_release_interface(ld->h, i); /* fails harmlessly when gone */
        libusb_close(ld->h);
        ld->h = NULL;
    }
    if (ld->ldev)
        libusb_unref_device(ld->ldev);
    ld->ldev = NULL;
    for (struct lu_dev **pp = &lu->devs; *pp; pp = &(*pp)->next)
        if (*pp == ld) {
            *pp = ld->next;
            break;
        }
}

static int lu_claim(struct iop_usb_dev *dev, uint8_t ifnum) {
    struct lu_dev *ld = iop_usb_dev_backend_priv(dev);
    int r = ensure_open(ld);
    if (r < 0)
        return r;
    /* Auto-detach detaches on claim and re-attaches on release; off, a kernel
     * driver bound to the interface makes the claim fail with -EBUSY. */
    bool detach = iop_usb_dev_detach_kernel_driver(dev);
    r = libusb_set_auto_detach_kernel_driver(ld->h, detach);
    if (r < 0 && detach)
        return libusb_to_errno(r);
    r = libusb_claim_interface(ld->h, ifnum);
    return r < 0 ? libusb_to_errno(r) : 0;
}

static int lu_release(struct iop_usb_dev *dev, uint8_t ifnum) {
    struct lu_dev *ld = iop_usb_dev_backend_priv(dev);
    if (!ld->h)
        return 0;
    int r = libusb_release_interface(ld->h, ifnum);
    return r < 0 ? libusb_to_errno(r) : 0;
}

static int lu_urb_init(struct iop_usb_engine *e, struct iop_urb *urb, int iso_alloc) {
    struct lu_urb *lx = iop_urb_backend_priv(urb);
    lx->lu = iop_usb_engine_backend_priv(e);
    lx->t = libusb_alloc_transfer(iso_alloc);
    return lx->t ? 0 : -ENOMEM;
}

static void lu_urb_release(struct iop_usb_engine *e, struct iop_urb *urb) {
    struct lu_urb *lx = iop_urb_backend_priv(urb);
    (void)e;
    libusb_free_transfer(lx->t);
    free(lx->bounce);
    lx->t = NULL;
    lx->bounce = NULL;
}

static int ensure_bounce(struct lu_urb *lx, size_t size) {
    if (lx->bounce_size >= size)
        return 0;
    uint8_t *b = realloc(lx->bounce, size);
    if (!b)
        return -ENOMEM;
    lx->bounce = b;
    lx->bounce_size = size;
    return 0;
}

static void LIBUSB_CALL on_transfer(struct libusb_transfer *t) {
    struct iop_urb *urb = t->user_data;
    struct lu_urb *lx = iop_urb_backend_priv(urb);
    if ((unsigned)t->status < IOP_USB_LIBUSB_STATUSES)
        lx->lu->stats.transfer_status[t->status]++;
    int status = libusb_to_errno((int)t->status);
    uint32_t actual = t->actual_length > 0 ? (uint32_t)t->actual_length : 0;

    switch (urb->xfer) {
    case IOP_XFER_CONTROL:
        /* libusb's actual_length counts the data stage only. */
        if (actual > urb->transfer_buffer_length)
            actual = urb->transfer_buffer_length;
        if (urb->dir_in && actual)
            memcpy(urb->transfer_buffer, lx->bounce + LIBUSB_CONTROL_SETUP_SIZE, actual);
        urb->actual_length = actual;
        break;
    case IOP_XFER_ISOC: {
        uint32_t pos = 0;
        for (int i = 0; i < iop_urb_iso_packets(urb) && i < t->num_iso_packets; i++) {
            const struct libusb_iso_packet_descriptor *p = &t->iso_packet_desc[i];
            struct iop_iso_packet_descriptor *d = &urb->iso_frame_desc[i];
            d->actual_length = p->actual_length < d->length ? p->actual_length : d->length;
            d->status = libusb_to_errno((int)p->status);
            if (lx->iso_bounce && urb->dir_in && d->actual_length)
                memcpy(urb->transfer_buffer + d->offset, lx->bounce + pos, d->actual_length);
            pos += p->length;
        }
        break;
    }
    default:
        urb->actual_length = actual;
        break;
    }
    iop_urb_giveback(urb, status);
}

/* ISO packets in libusb follow each other in one buffer.  Returns the buffer to use:
 * the URB's own when its packets are laid out that way, else the bounce buffer
 * (gathered for OUT). */
static int iso_buffer(struct lu_urb *lx, struct iop_urb *urb, uint8_t **ret) {
    uint32_t expect = iop_urb_iso_packets(urb) ? urb->iso_frame_desc[0].offset : 0;
    uint32_t start = expect;
    bool contiguous = true;
    size_t total = 0;
    for (int i = 0; i < iop_urb_iso_packets(urb); i++) {
        const struct iop_iso_packet_descriptor *d = &urb->iso_frame_desc[i];
        if (d->offset != expect)
            contiguous = false;
        expect = d->offset + d->length; /* validated inside the buffer */
        total += d->length;
    }
    lx->iso_bounce = !contiguous;
    if (contiguous) {
        *ret = urb->transfer_buffer ? urb->transfer_buffer + start : NULL;
        return 0;
    }
    int r = ensure_bounce(lx, total ? total : 1);
    if (r < 0)
        return r;
    if (!urb->dir_in) {
        size_t pos = 0;
        for (int i = 0; i < iop_urb_iso_packets(urb); i++) {
            const struct iop_iso_packet_descriptor *d = &urb->iso_frame_desc[i];
            memcpy(lx->bounce + pos, urb->transfer_buffer + d->offset, d->length);
            pos += d->length;
        }
    }
    *ret = lx->bounce;
    return 0;
}

static int lu_submit(struct iop_urb *urb) {
    struct lu_urb *lx = iop_urb_backend_priv(urb);
    struct lu_dev *ld = iop_usb_dev_backend_priv(urb->dev);
    int r = ensure_open(ld);
    if (r < 0)
        return r;
    struct libusb_transfer *t = lx->t;
    t->dev_handle = ld->h;
    t->endpoint = (unsigned char)(urb->endpoint | (urb->dir_in ? LIBUSB_ENDPOINT_IN : 0));
    t->timeout = iop_urb_timeout(urb);
    t->callback = on_transfer;
    t->user_data = urb;
    t->flags = 0;
    t->num_iso_packets = 0;
    t->length = (int)urb->transfer_buffer_length; /* at most IOP_URB_TRANSFER_MAX */
    t->buffer = urb->transfer_buffer;

    switch (urb->xfer) {
    case IOP_XFER_CONTROL:
        /* usbfs passes these to the device without telling the host side, whose
         * endpoint state would then disagree with the device's; the ioctls that do
         * both (SETINTERFACE, SETCONFIGURATION) are synchronous and may wait for the
         * device, which nothing on the loop may do. */
        if ((urb->setup_packet[0] & (IOP_USB_TYPE_MASK | IOP_USB_DIR_IN)) == IOP_USB_TYPE_STANDARD &&
            (urb->setup_packet[1] == IOP_USB_REQ_SET_INTERFACE ||
             urb->setup_packet[1] == IOP_USB_REQ_SET_CONFIGURATION))
            return -EOPNOTSUPP;
        r = ensure_bounce(lx, LIBUSB_CONTROL_SETUP_SIZE + (size_t)urb->transfer_buffer_length);
        if (r < 0)
            return r;
        memcpy(lx->bounce, urb->setup_packet, LIBUSB_CONTROL_SETUP_SIZE);
        if (!urb->dir_in && urb->transfer_buffer_length)
            memcpy(lx->bounce + LIBUSB_CONTROL_SETUP_SIZE, urb->transfer_buffer,
                   urb->transfer_buffer_length);
        t->type = LIBUSB_TRANSFER_TYPE_CONTROL;
        t->endpoint = 0;
        t->buffer = lx->bounce;
        t->length = (int)(LIBUSB_CONTROL_SETUP_SIZE + urb->transfer_buffer_length);
        break;
    case IOP_XFER_BULK:
    case IOP_XFER_INT:
        t->type = urb->xfer == IOP_XFER_BULK ? LIBUSB_TRANSFER_TYPE_BULK
                                             : LIBUSB_TRANSFER_TYPE_INTERRUPT;
        if (!urb->dir_in && (urb->transfer_flags & IOP_URB_ZERO_PACKET))
            t->flags |= LIBUSB_TRANSFER_ADD_ZERO_PACKET;
        /* Not LIBUSB_TRANSFER_SHORT_NOT_OK: usbfs never sees that flag, libusb's
         * core only turns a short transfer into LIBUSB_TRANSFER_ERROR with it,
         * which would arrive here as -EPROTO.  The engine makes the -EREMOTEIO. */
        break;
    case IOP_XFER_ISOC: {
        uint8_t *buf;
        r = iso_buffer(lx, urb, &buf);
        if (r < 0)
            return r;
        t->type = LIBUSB_TRANSFER_TYPE_ISOCHRONOUS;
        t->buffer = buf;
        t->num_iso_packets = iop_urb_iso_packets(urb);
        int total = 0;
        for (int i = 0; i < iop_urb_iso_packets(urb); i++) {
            t->iso_packet_desc[i].length = urb->iso_frame_desc[i].length;
            total += (int)urb->iso_frame_desc[i].length;
        }
        t->length = total;
        /* libusb does not report the frame usbfs scheduled the URB in. */
        break;
    }
    default:
        return -EINVAL;
    }
    r = libusb_submit_transfer(t);
    return r < 0 ? libusb_to_errno(r) : 0;
}

static int lu_cancel(struct iop_urb *urb) {
    struct lu_urb *lx = iop_urb_backend_priv(urb);
    int r = libusb_cancel_transfer(lx->t);
    /* NOT_FOUND: done but not yet reaped; NO_DEVICE: gone.  Either way libusb gives
     * the transfer back. */
    return r < 0 ? libusb_to_errno(r) : 0;
}

static int lu_handle_events(struct iop_usb_engine *e, int timeout_ms) {
    struct lu *lu = iop_usb_engine_backend_priv(e);
    if (timeout_ms < 0)
        timeout_ms = 0;
    struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
    int r = libusb_handle_events_timeout_completed(lu->ctx, &tv, NULL);
    rearm_timeout(lu);
    return r < 0 ? libusb_to_errno(r) : 0;
}

const struct iop_usb_backend iop_usb_backend_libusb = {
    .name = "libusb",
    .engine_priv_size = sizeof(struct lu),
    .dev_priv_size = sizeof(struct lu_dev),
    .urb_priv_size = sizeof(struct lu_urb),
    .init = lu_init,
    .start = lu_start,
    .exit = lu_exit,
    .dev_release = lu_dev_release,
    .claim_interface = lu_claim,
    .release_interface = lu_release,
    .urb_init = lu_urb_init,
    .urb_release = lu_urb_release,
    .submit = lu_submit,
    .cancel = lu_cancel,
    .handle_events = lu_handle_events,
};

int iop_usb_libusb_stats(struct iop_usb_engine *e, struct iop_usb_libusb_stats *ret) {
    struct lu *lu = engine_lu(e);
    if (!lu || !ret)
        return -EINVAL;
    *ret = lu->stats;
    return 0;
}
