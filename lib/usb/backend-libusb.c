/* The libusb-1.0 backend (see backend-libusb.h): the loop's file descriptors,
 * transfers, SET_INTERFACE and SET_CONFIGURATION on the worker thread, the ops table.
 * Finding devices is backend-libusb-hotplug.c's. */
#include "lib/usb/backend-libusb.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lib/usb/backend-libusb-int.h"
#include "lib/usb/urb.h"
#include "lib/util/bytes.h"
#include "lib/util/log.h"
#include "lib/util/loop.h"
#include "lib/util/worker.h"

/* The backend's area of each URB: one libusb transfer for the URB's lifetime. */
struct lu_urb {
    struct lu *lu;                 /* borrowed */
    struct libusb_transfer *t;     /* owned */
    uint8_t *bounce;               /* owned: control setup+data, or scattered ISO data */
    size_t bounce_size;
    bool iso_bounce;               /* this submission's ISO data is in bounce */
    /* SET_INTERFACE / SET_CONFIGURATION on the worker (backend.h). */
    struct iop_worker_job *job;    /* while queued or running */
    libusb_device_handle *h;       /* the device's, borrowed for the job */
    enum iop_urb_set_request set;
    uint8_t value, ifnum;
    uint32_t release, keep, lost;  /* SET_CONFIGURATION's claims (written by the job) */
    bool detach;                   /* the device's detach flag, for claiming again */
};

/* The one translation from libusb to errno.  LIBUSB_ERROR_* codes are negative and
 * enum libusb_transfer_status values are not, so one function takes both. */
int lu_errno(int code) {
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

/* Give back a released device's interfaces, handle, fd and reference (see struct
 * lu_close: never from inside libusb's event handling). */
static void close_now(struct lu_close *c) {
    if (c->h) {
        for (unsigned i = 0; i < IOP_USB_MAX_INTERFACES; i++)
            if (c->claimed & (1u << i))
                (void)libusb_release_interface(c->h, (int)i); /* fails harmlessly when gone */
        libusb_close(c->h);
    }
    if (c->wrapped_fd >= 0)
        close(c->wrapped_fd); /* libusb_close leaves a wrapped device's fd to us */
    if (c->ldev)
        libusb_unref_device(c->ldev);
    free(c);
}

/* After every return from libusb's event handling, and at exit. */
static void close_deferred(struct lu *lu) {
    while (lu->closing && !lu->in_events) {
        struct lu_close *c = lu->closing;
        lu->closing = c->next;
        close_now(c);
    }
}

static int handle_events(struct lu *lu, struct timeval *tv) {
    lu->in_events++;
    int r = libusb_handle_events_timeout_completed(lu->ctx, tv, NULL);
    lu->in_events--;
    close_deferred(lu);
    return r;
}

static void rearm_timeout(struct lu *lu);

static void process(struct lu *lu) {
    struct timeval zero = { 0, 0 };
    int r = handle_events(lu, &zero);
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

static void add_fd(struct lu *lu, int fd, short events) {
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

static void remove_fd(struct lu *lu, int fd) {
    for (struct lu_fd **pp = &lu->fds; *pp; pp = &(*pp)->next)
        if ((*pp)->fd == fd) {
            struct lu_fd *f = *pp;
            *pp = f->next;
            iop_loop_source_free(f->src);
            free(f);
            return;
        }
}

/* libusb announces a new or closed file descriptor from whichever thread opened or
 * closed a device: the loop's directly, the worker's (libusb_wrap_sys_device) through
 * a queue the loop applies before it uses that device. */
static void queue_fd_change(struct lu *lu, int fd, short events, bool added) {
    struct lu_fd_change *c = calloc(1, sizeof(*c));
    if (!c) {
        iop_err("usb: out of memory: libusb fd %d change lost", fd);
        return;
    }
    *c = (struct lu_fd_change){ .fd = fd, .events = events, .added = added };
    pthread_mutex_lock(&lu->fd_lock);
    if (lu->fd_changes_tail)
        lu->fd_changes_tail->next = c;
    else
        lu->fd_changes = c;
    lu->fd_changes_tail = c;
    pthread_mutex_unlock(&lu->fd_lock);
}

void lu_apply_fd_changes(struct lu *lu) {
    pthread_mutex_lock(&lu->fd_lock);
    struct lu_fd_change *c = lu->fd_changes;
    lu->fd_changes = lu->fd_changes_tail = NULL;
    pthread_mutex_unlock(&lu->fd_lock);
    while (c) {
        struct lu_fd_change *next = c->next;
        if (c->added)
            add_fd(lu, c->fd, c->events);
        else
            remove_fd(lu, c->fd);
        free(c);
        c = next;
    }
}

static void LIBUSB_CALL fd_added(int fd, short events, void *data) {
    struct lu *lu = data;
    if (pthread_equal(pthread_self(), lu->loop_thread))
        add_fd(lu, fd, events);
    else
        queue_fd_change(lu, fd, events, true);
}

static void LIBUSB_CALL fd_removed(int fd, void *data) {
    struct lu *lu = data;
    if (pthread_equal(pthread_self(), lu->loop_thread))
        remove_fd(lu, fd);
    else
        queue_fd_change(lu, fd, 0, false);
}

/* ---- Devices ---- */

static struct lu *engine_lu(struct iop_usb_engine *e) {
    if (!e || iop_usb_engine_backend(e) != &iop_usb_backend_libusb)
        return NULL;
    return iop_usb_engine_backend_priv(e);
}

static int ensure_open(struct lu_dev *ld) {
    if (ld->h)
        return 0;
    int r = libusb_open(ld->ldev, &ld->h);
    if (r < 0) {
        ld->h = NULL;
        return lu_errno(r);
    }
    return 0;
}

/* ---- Backend ops ---- */

static int lu_init(struct iop_usb_engine *e, const void *config) {
    struct lu *lu = iop_usb_engine_backend_priv(e);
    const struct iop_usb_libusb_config *cfg = config;
    lu->engine = e;
    lu->loop = iop_usb_engine_loop(e);
    lu->uevent_fd = -1;
    if (!lu->loop)
        return -EINVAL; /* libusb's descriptors need a loop to live on */
    lu->loop_thread = pthread_self();
    lu->sysfs = cfg ? cfg->sysfs : NULL;
    lu->uevents_off = cfg && cfg->uevents_off;
    int r = iop_worker_new(lu->loop, &lu->worker);
    if (r < 0)
        return r;
    pthread_mutex_init(&lu->fd_lock, NULL);
    lu_hotplug_init(lu); /* before libusb's first scan */
    r = libusb_init(&lu->ctx);
    if (r < 0) {
        lu_hotplug_exit(lu);
        lu->worker = iop_worker_free(lu->worker);
        pthread_mutex_destroy(&lu->fd_lock);
        return lu_errno(r);
    }
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
    return lu_hotplug_start(iop_usb_engine_backend_priv(e));
}

static void lu_exit(struct iop_usb_engine *e) {
    struct lu *lu = iop_usb_engine_backend_priv(e);
    lu->exiting = true;
    lu_hotplug_exit(lu);
    lu->worker = iop_worker_free(lu->worker); /* devices still being opened are closed */
    lu_apply_fd_changes(lu);
    iop_loop_source_free(lu->timeout_timer);
    libusb_set_pollfd_notifiers(lu->ctx, NULL, NULL, NULL);
    close_deferred(lu);
    while (lu->fds) {
        struct lu_fd *f = lu->fds;
        lu->fds = f->next;
        iop_loop_source_free(f->src);
        free(f);
    }
    libusb_exit(lu->ctx);
    pthread_mutex_destroy(&lu->fd_lock);
}

static void lu_dev_release(struct iop_usb_dev *dev) {
    struct lu_dev *ld = iop_usb_dev_backend_priv(dev);
    struct lu *lu = ld->lu;
    struct lu_close *c = ld->closer; /* dev_add gave every device one */
    assert(c);
    ld->closer = NULL;
    c->h = ld->h;
    c->wrapped_fd = ld->wrapped_fd;
    c->ldev = ld->ldev;
    c->claimed = 0;
    for (unsigned i = 0; i < IOP_USB_MAX_INTERFACES; i++)
        if (iop_usb_dev_interface_claimed(dev, (uint8_t)i))
            c->claimed |= 1u << i;
    ld->h = NULL;
    ld->wrapped_fd = -1;
    ld->ldev = NULL;
    if (lu->in_events) {
        c->next = lu->closing;
        lu->closing = c;
    } else {
        close_now(c);
    }
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
        return lu_errno(r);
    r = libusb_claim_interface(ld->h, ifnum);
    return r < 0 ? lu_errno(r) : 0;
}

static int lu_release(struct iop_usb_dev *dev, uint8_t ifnum) {
    struct lu_dev *ld = iop_usb_dev_backend_priv(dev);
    if (!ld->h)
        return 0;
    int r = libusb_release_interface(ld->h, ifnum);
    return r < 0 ? lu_errno(r) : 0;
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
    int status = lu_errno((int)t->status);
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
            d->status = lu_errno((int)p->status);
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

/* ---- SET_INTERFACE and SET_CONFIGURATION ----
 *
 * As usbfs's ioctls, which is what libusb_set_interface_alt_setting() and
 * libusb_set_configuration() are: usb_set_interface() / usb_set_configuration() send
 * the request and change the host side's endpoints with it (a control URB through
 * usbfs would change only the device's).  They wait for the device, so they run on
 * the worker thread; the URB is given back on the loop. */

/* On the worker thread: only the job's own fields and the device handle. */
static int set_request_job(void *arg) {
    struct lu_urb *lx = arg;
    if (lx->set == IOP_URB_SET_INTERFACE)
        return lu_errno(libusb_set_interface_alt_setting(lx->h, lx->ifnum, lx->value));
    /* usbfs refuses a configuration change while any interface is claimed, its own
     * included (proc_setconfig: -EBUSY): give ours back (without re-attaching kernel
     * drivers we detached), change, and claim again those the new configuration has.
     * A kernel driver bound to an interface still makes usbfs refuse, as it should. */
    (void)libusb_set_auto_detach_kernel_driver(lx->h, 0);
    for (unsigned i = 0; i < IOP_USB_MAX_INTERFACES; i++)
        if (lx->release & (1u << i))
            (void)libusb_release_interface(lx->h, (int)i);
    int r = lu_errno(libusb_set_configuration(lx->h, lx->value));
    (void)libusb_set_auto_detach_kernel_driver(lx->h, lx->detach);
    uint32_t keep = r == 0 ? lx->keep : lx->release; /* failed: the old claims again */
    for (unsigned i = 0; i < IOP_USB_MAX_INTERFACES; i++)
        if ((keep & (1u << i)) && libusb_claim_interface(lx->h, (int)i) < 0)
            lx->lost |= 1u << i;
    lx->lost |= lx->release & ~keep;
    return r;
}

/* On the loop. */
static void set_request_done(void *arg, int result) {
    struct lu_urb *lx = arg;
    struct iop_urb *urb = lx->t->user_data;
    lx->job = NULL;
    if (lx->set == IOP_URB_SET_CONFIGURATION && result != -ECANCELED)
        iop_usb_backend_dev_claims_lost(urb->dev, lx->lost);
    urb->actual_length = 0;
    if (result == -ECANCELED)
        result = -ECONNRESET; /* cancelled before it ran: the engine gives its own status */
    iop_urb_giveback(urb, result);
}

static int submit_set_request(struct lu_urb *lx, struct lu_dev *ld, struct iop_urb *urb) {
    const uint8_t *s = urb->setup_packet;
    lx->h = ld->h;
    lx->set = iop_urb_set_request(urb);
    lx->value = s[2];  /* validated: wValue <= 255 */
    lx->ifnum = s[4];  /* validated: a claimed interface < 32 */
    lx->lost = 0;
    if (lx->set == IOP_URB_SET_CONFIGURATION) {
        lx->release = iop_usb_dev_claims(urb->dev);
        lx->keep = iop_usb_dev_claims_kept(urb->dev, lx->value);
        lx->detach = iop_usb_dev_detach_kernel_driver(urb->dev);
        /* libusb turns -1 into "unconfigured"; usbfs does the same with 0 unless the
         * device has a configuration 0, which it then selects (usb_set_configuration). */
    }
    lx->t->user_data = urb; /* set_request_done finds the URB there */
    return iop_worker_submit(lx->lu->worker, set_request_job, set_request_done, lx, &lx->job);
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
    lx->job = NULL;
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
        if (iop_urb_set_request(urb) != IOP_URB_PLAIN)
            return submit_set_request(lx, ld, urb);
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
    return r < 0 ? lu_errno(r) : 0;
}

static int lu_cancel(struct iop_urb *urb) {
    struct lu_urb *lx = iop_urb_backend_priv(urb);
    if (lx->job) {
        /* Not started: dropped (its done follows); running: it finishes by itself. */
        (void)iop_worker_cancel(lx->lu->worker, lx->job);
        return 0;
    }
    int r = libusb_cancel_transfer(lx->t);
    /* NOT_FOUND: done but not yet reaped; NO_DEVICE: gone.  Either way libusb gives
     * the transfer back. */
    return r < 0 ? lu_errno(r) : 0;
}

/* Worker completions are waited for in slices this long when libusb has nothing to
 * wait for (a SET_INTERFACE running is all that is left). */
#define WORKER_SLICE_MS 20

static int lu_handle_events(struct iop_usb_engine *e, int timeout_ms) {
    struct lu *lu = iop_usb_engine_backend_priv(e);
    if (timeout_ms < 0)
        timeout_ms = 0;
    iop_worker_dispatch(lu->worker, 0);
    if (iop_worker_outstanding(lu->worker) > 0) {
        struct timeval zero = { 0, 0 };
        int r = handle_events(lu, &zero);
        rearm_timeout(lu);
        iop_worker_dispatch(lu->worker, timeout_ms < WORKER_SLICE_MS ? timeout_ms : WORKER_SLICE_MS);
        return r < 0 ? lu_errno(r) : 0;
    }
    struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
    int r = handle_events(lu, &tv);
    rearm_timeout(lu);
    return r < 0 ? lu_errno(r) : 0;
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
