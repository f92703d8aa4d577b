/* Private to the libusb backend: its state, shared by backend-libusb.c (the loop's
 * file descriptors, transfers, SET_INTERFACE/SET_CONFIGURATION) and
 * backend-libusb-hotplug.c (finding devices).  These two files and this header are
 * the only ones that include libusb.h. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <libusb.h>

#include "lib/usb/backend-libusb.h"
#include "lib/usb/backend.h"

struct iop_loop;
struct iop_loop_source;
struct iop_worker;

struct lu_fd {
    int fd;
    struct iop_loop_source *src; /* owned */
    struct lu_fd *next;
};

/* A pollfd change libusb announced on the worker thread (while it opened a device
 * there), applied on the loop before that device is used. */
struct lu_fd_change {
    int fd;
    short events;
    bool added;
    struct lu_fd_change *next;
};

/* A hotplug event from libusb's callback, handled on the loop. */
struct lu_pending {
    libusb_device *ldev; /* owned reference */
    bool arrived;
    struct lu_pending *next;
};

/* What releasing a device leaves to do once libusb's event handling has returned.  A
 * transfer callback can drop a device's last reference, and libusb_close() from inside
 * libusb's event handling deadlocks: linux_usbfs's op_handle_events holds the
 * context's open_devs_lock around the callbacks it makes, and libusb_close() takes it
 * again (seen in the VM: faults-usb hung at an unplug with the loop thread waiting on
 * that mutex in libusb_close under on_transfer).  Allocated with the device, so a
 * release never needs memory. */
struct lu_close {
    libusb_device_handle *h;       /* owned, or NULL */
    int wrapped_fd;                /* owned, or -1 */
    libusb_device *ldev;           /* owned reference, or NULL */
    uint32_t claimed;              /* interfaces to release first */
    struct lu_close *next;
};

struct lu_dev;
struct lu_arrival;

struct lu {
    struct iop_usb_engine *engine; /* borrowed: it owns us */
    struct iop_loop *loop;         /* borrowed */
    libusb_context *ctx;           /* owned */
    struct lu_fd *fds;             /* owned */
    struct iop_loop_source *timeout_timer; /* only when libusb cannot poll its timeouts */
    struct iop_usb_libusb_stats stats;
    struct lu_dev *devs;           /* each lives inside its iop_usb_dev */
    /* The blocking calls (SET_INTERFACE, SET_CONFIGURATION, opening a device a uevent
     * announced) run on this thread. */
    struct iop_worker *worker;     /* owned */
    pthread_t loop_thread;
    pthread_mutex_t fd_lock;
    struct lu_fd_change *fd_changes, *fd_changes_tail; /* under fd_lock */
    /* Finding devices (backend-libusb-hotplug.c). */
    const char *sysfs;             /* borrowed from the config; NULL: /sys */
    bool uevents_off;              /* the config says: libusb's hotplug only */
    int uevent_fd;                 /* owned, -1 when libusb's hotplug is used */
    struct iop_loop_source *uevent_src;
    struct iop_loop_source *deferred; /* zero timer for pending libusb hotplug events */
    struct lu_pending *pending, *pending_tail; /* owned */
    libusb_hotplug_callback_handle hotplug;
    bool hotplug_registered;
    struct lu_arrival *arrivals;   /* owned: devices being opened on the worker */
    bool exiting;
    unsigned in_events;            /* inside libusb_handle_events*(): closing must wait */
    struct lu_close *closing;      /* owned: released during event handling */
};

struct lu_dev {
    struct lu *lu;                 /* borrowed */
    struct iop_usb_dev *dev;       /* borrowed: we live inside it */
    libusb_device *ldev;           /* owned reference */
    libusb_device_handle *h;       /* owned, opened lazily (or at arrival, wrapped) */
    int wrapped_fd;                /* owned, -1: a device opened through libusb_wrap_sys_device
                                      keeps its usbfs fd ours to close after libusb_close */
    struct lu_close *closer;       /* owned: what releasing it uses */
    struct lu_dev *next;
};

/* backend-libusb.c */
int lu_errno(int code);
/* Apply the pollfd changes libusb announced on the worker thread. */
void lu_apply_fd_changes(struct lu *lu);

/* backend-libusb-hotplug.c */
/* Open the uevent socket (before libusb's first scan, so nothing is missed between). */
void lu_hotplug_init(struct lu *lu);
/* Report the devices present and start watching for more. */
int lu_hotplug_start(struct lu *lu);
/* Stop watching; devices being opened are dropped (the worker must still run). */
void lu_hotplug_exit(struct lu *lu);
