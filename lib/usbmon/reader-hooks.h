/* The two hooks every usbmon reader carries, text (reader.h) and binary
 * (bin-reader.h) alike: notify wakes whoever waits on the reader (a CUSE node's
 * parked reads and poll), detach lets the bus the reader is attached to unlink it
 * when the reader is freed first (mon_reader_del() in the kernel). */
#pragma once

#include <stddef.h>

/* Called when the reader becomes readable (an event arrives while it was empty) and
 * on hangup.  It runs inside the URB path or iop_mon_remove_bus(): it may read from
 * this reader, but must not free readers, open new ones, or add or remove buses. */
typedef void (*iop_mon_notify_fn)(void *ctx);
/* Called first thing when an attached reader is freed, with the reader; never after
 * its hangup (the bus forgets its readers itself then). */
typedef void (*iop_mon_detach_fn)(void *ctx, const void *reader);

struct iop_mon_reader_hooks {
    iop_mon_notify_fn notify;
    void *notify_ctx; /* borrowed */
    iop_mon_detach_fn detach;
    void *detach_ctx; /* borrowed */
};

static inline void iop_mon_hooks_set_notify(struct iop_mon_reader_hooks *h, iop_mon_notify_fn fn, void *ctx) {
    h->notify = fn;
    h->notify_ctx = ctx;
}

static inline void iop_mon_hooks_set_detach(struct iop_mon_reader_hooks *h, iop_mon_detach_fn fn, void *ctx) {
    h->detach = fn;
    h->detach_ctx = ctx;
}

static inline void iop_mon_hooks_notify(const struct iop_mon_reader_hooks *h) {
    if (h->notify)
        h->notify(h->notify_ctx);
}

/* The reader is being freed: unlink it from its bus, if still attached. */
static inline void iop_mon_hooks_detach(struct iop_mon_reader_hooks *h, const void *reader) {
    if (h->detach)
        h->detach(h->detach_ctx, reader);
    iop_mon_hooks_set_detach(h, NULL, NULL);
}

/* The bus went away and forgot the reader: no detach any more, and whoever waits is
 * woken to find the hangup. */
static inline void iop_mon_hooks_hangup(struct iop_mon_reader_hooks *h) {
    iop_mon_hooks_set_detach(h, NULL, NULL);
    iop_mon_hooks_notify(h);
}
