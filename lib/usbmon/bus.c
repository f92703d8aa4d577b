#include "lib/usbmon/bus.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/usb/urb.h"
#include "lib/usbmon/capture.h"
#include "lib/usbmon/reader.h"

/* One bus's monitor (struct mon_bus). */
struct mon_bus {
    unsigned busnum;
    struct iop_mon_reader **readers; /* borrowed: each reader is its opener's */
    unsigned n_readers, cap_readers;
    uint32_t cnt_events;
    uint32_t cnt_text_lost;
};

struct iop_mon {
    struct iop_urb_monitor monitor;
    iop_mon_clock_fn clock;
    void *clock_ctx;                 /* borrowed */
    struct mon_bus bus0;
    struct mon_bus *buses[IOP_MON_BUS_MAX + 1]; /* owned, by number; [0] is &bus0 */
};

static void clock_monotonic(void *ctx, struct timespec *ts) {
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, ts);
}

static void op_submit(void *ctx, const struct iop_urb *urb) {
    iop_mon_submit(ctx, urb);
}

static void op_submit_error(void *ctx, const struct iop_urb *urb, int error) {
    iop_mon_submit_error(ctx, urb, error);
}

static void op_complete(void *ctx, const struct iop_urb *urb, int status) {
    iop_mon_complete(ctx, urb, status);
}

int iop_mon_new(struct iop_mon **ret) {
    assert(ret);
    struct iop_mon *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->monitor = (struct iop_urb_monitor){
        .submit = op_submit,
        .submit_error = op_submit_error,
        .complete = op_complete,
        .ctx = m,
    };
    m->clock = clock_monotonic;
    m->buses[0] = &m->bus0;
    *ret = m;
    return 0;
}

/* Hang up every reader of b and forget them; b stays usable (bus 0) or is freed. */
static void bus_hangup_all(struct mon_bus *b) {
    /* Take the list first: a hung-up reader no longer detaches through us. */
    struct iop_mon_reader **readers = b->readers;
    unsigned n = b->n_readers;
    b->readers = NULL;
    b->n_readers = b->cap_readers = 0;
    for (unsigned i = 0; i < n; i++)
        iop_mon_reader_hangup(readers[i]);
    free(readers);
}

struct iop_mon *iop_mon_free(struct iop_mon *m) {
    if (!m)
        return NULL;
    for (unsigned i = 1; i <= IOP_MON_BUS_MAX; i++)
        if (m->buses[i])
            iop_mon_remove_bus(m, i);
    bus_hangup_all(&m->bus0);
    free(m);
    return NULL;
}

void iop_mon_set_clock(struct iop_mon *m, iop_mon_clock_fn fn, void *ctx) {
    assert(m);
    m->clock = fn ? fn : clock_monotonic;
    m->clock_ctx = fn ? ctx : NULL;
}

const struct iop_urb_monitor *iop_mon_urb_monitor(struct iop_mon *m) {
    assert(m);
    return &m->monitor;
}

/* mon_bus_submit() and friends: count, then queue to every reader. */
static void bus_deliver(struct mon_bus *b, const struct iop_mon_event *ev) {
    b->cnt_events++;
    for (unsigned i = 0; i < b->n_readers; i++)
        if (iop_mon_reader_push(b->readers[i], ev) == -ENOBUFS)
            b->cnt_text_lost++;
}

static void mon_event(struct iop_mon *m, const struct iop_urb *urb, char type, int status) {
    assert(m);
    if (!urb)
        return;
    struct mon_bus *b = urb->busnum <= IOP_MON_BUS_MAX && urb->busnum != 0 ? m->buses[urb->busnum] : NULL;
    /* Not monitored: the common case costs these two tests. */
    if (!(b && b->n_readers) && !m->bus0.n_readers)
        return;

    struct timespec ts = { 0 };
    struct iop_mon_event ev;
    m->clock(m->clock_ctx, &ts);
    if (iop_mon_capture(&ev, urb, type, status, iop_mon_timestamp(&ts)) < 0)
        return;
    /* The URB's own bus first, then "all buses", as mon_submit() does. */
    if (b)
        bus_deliver(b, &ev);
    bus_deliver(&m->bus0, &ev);
}

void iop_mon_submit(struct iop_mon *m, const struct iop_urb *urb) {
    mon_event(m, urb, 'S', IOP_MON_SUBMIT_STATUS);
}

void iop_mon_submit_error(struct iop_mon *m, const struct iop_urb *urb, int error) {
    mon_event(m, urb, 'E', error);
}

void iop_mon_complete(struct iop_mon *m, const struct iop_urb *urb, int status) {
    mon_event(m, urb, 'C', status);
}

int iop_mon_add_bus(struct iop_mon *m, unsigned busnum) {
    assert(m);
    if (busnum == 0 || busnum > IOP_MON_BUS_MAX)
        return -EINVAL;
    if (m->buses[busnum])
        return -EEXIST;
    struct mon_bus *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->busnum = busnum;
    m->buses[busnum] = b;
    return 0;
}

int iop_mon_remove_bus(struct iop_mon *m, unsigned busnum) {
    assert(m);
    if (busnum == 0 || busnum > IOP_MON_BUS_MAX || !m->buses[busnum])
        return -ENOENT;
    struct mon_bus *b = m->buses[busnum];
    /* Unlink first: a notify callback that (against the rules) looks the bus up
     * finds it gone rather than half torn down. */
    m->buses[busnum] = NULL;
    bus_hangup_all(b);
    free(b);
    return 0;
}

bool iop_mon_has_bus(const struct iop_mon *m, unsigned busnum) {
    assert(m);
    return busnum <= IOP_MON_BUS_MAX && m->buses[busnum] != NULL;
}

/* The reader's detach hook: mon_reader_del(). */
static void bus_detach(void *ctx, struct iop_mon_reader *r) {
    struct mon_bus *b = ctx;
    for (unsigned i = 0; i < b->n_readers; i++) {
        if (b->readers[i] == r) {
            memmove(&b->readers[i], &b->readers[i + 1], (b->n_readers - i - 1) * sizeof(b->readers[0]));
            b->n_readers--;
            return;
        }
    }
}

int iop_mon_open(struct iop_mon *m, unsigned busnum, enum iop_mon_fmt fmt, struct iop_mon_reader **ret) {
    assert(m && ret);
    if (fmt != IOP_MON_FMT_U && fmt != IOP_MON_FMT_T)
        return -EINVAL;
    if (busnum > IOP_MON_BUS_MAX || !m->buses[busnum])
        return -ENODEV;
    if (busnum == 0 && fmt == IOP_MON_FMT_T)
        return -EINVAL;
    struct mon_bus *b = m->buses[busnum];
    if (b->n_readers == b->cap_readers) {
        unsigned cap = b->cap_readers ? b->cap_readers * 2 : 4;
        struct iop_mon_reader **v = realloc(b->readers, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        b->readers = v;
        b->cap_readers = cap;
    }
    struct iop_mon_reader *r;
    int res = iop_mon_reader_new(fmt, &r);
    if (res < 0)
        return res;
    iop_mon_reader_set_detach(r, bus_detach, b);
    b->readers[b->n_readers++] = r;
    *ret = r;
    return 0;
}

int iop_mon_stats(const struct iop_mon *m, unsigned busnum, struct iop_mon_stats *st) {
    assert(m && st);
    if (busnum > IOP_MON_BUS_MAX || !m->buses[busnum])
        return -ENODEV;
    const struct mon_bus *b = m->buses[busnum];
    *st = (struct iop_mon_stats){
        .nreaders = (int)b->n_readers,
        .events = b->cnt_events,
        .text_lost = b->cnt_text_lost,
    };
    return 0;
}

int iop_mon_stats_text(const struct iop_mon *m, unsigned busnum, char *buf, size_t len) {
    struct iop_mon_stats st;
    int r = iop_mon_stats(m, busnum, &st);
    if (r < 0)
        return r;
    if (!buf)
        return -ENOSPC;
    int n = snprintf(buf, len, "nreaders %d events %u text_lost %u\n", st.nreaders, st.events, st.text_lost);
    if (n < 0 || (size_t)n >= len)
        return -ENOSPC;
    return n;
}
