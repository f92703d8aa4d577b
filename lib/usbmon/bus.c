#include "lib/usbmon/bus.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/usb/urb.h"
#include "lib/usbmon/bin-reader.h"
#include "lib/usbmon/binary.h"
#include "lib/usbmon/capture.h"
#include "lib/usbmon/reader.h"

/* A bus's readers of one kind (the kernel keeps one list of struct mon_reader, each
 * with its own callbacks; two typed lists say the same without function pointers). */
struct reader_list {
    void **v;            /* borrowed: each reader is its opener's */
    unsigned n, cap;
};

/* One bus's monitor (struct mon_bus). */
struct mon_bus {
    unsigned busnum;
    struct reader_list text; /* struct iop_mon_reader */
    struct reader_list bin;  /* struct iop_mon_bin_reader */
    uint32_t cnt_events;
    uint32_t cnt_text_lost;
};

struct iop_mon {
    struct iop_urb_monitor monitor;
    iop_mon_clock_fn clock;
    void *clock_ctx;                 /* borrowed */
    struct iop_mon_bin_budget bin_budget;
    struct mon_bus bus0;
    struct mon_bus *buses[IOP_MON_BUS_MAX + 1]; /* owned, by number; [0] is &bus0 */
};

static void clock_system(void *ctx, clockid_t clock, struct timespec *ts) {
    (void)ctx;
    clock_gettime(clock, ts);
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
    m->clock = clock_system;
    m->bin_budget.limit = IOP_MON_BIN_BUDGET_DFL;
    m->buses[0] = &m->bus0;
    *ret = m;
    return 0;
}

/* Hang up every reader of b and forget them; b stays usable (bus 0) or is freed. */
static void bus_hangup_all(struct mon_bus *b) {
    /* Take the lists first: a hung-up reader no longer detaches through us. */
    struct reader_list text = b->text, bin = b->bin;
    b->text = b->bin = (struct reader_list){ 0 };
    for (unsigned i = 0; i < text.n; i++)
        iop_mon_reader_hangup(text.v[i]);
    for (unsigned i = 0; i < bin.n; i++)
        iop_mon_bin_reader_hangup(bin.v[i]);
    free(text.v);
    free(bin.v);
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
    m->clock = fn ? fn : clock_system;
    m->clock_ctx = fn ? ctx : NULL;
}

const struct iop_urb_monitor *iop_mon_urb_monitor(struct iop_mon *m) {
    assert(m);
    return &m->monitor;
}

static bool monitored(const struct mon_bus *b) {
    return b && (b->text.n || b->bin.n);
}

/* mon_bus_submit() and friends: count, then queue to every reader. */
static void bus_deliver(struct mon_bus *b, const struct iop_mon_event *ev, const struct iop_mon_bin_event *bev) {
    b->cnt_events++;
    for (unsigned i = 0; i < b->text.n; i++)
        if (iop_mon_reader_push(b->text.v[i], ev) == -ENOBUFS)
            b->cnt_text_lost++;
    for (unsigned i = 0; i < b->bin.n; i++)
        iop_mon_bin_reader_push(b->bin.v[i], bev);
}

static void mon_event(struct iop_mon *m, const struct iop_urb *urb, char type, int status) {
    assert(m);
    if (!urb)
        return;
    struct mon_bus *b = urb->busnum <= IOP_MON_BUS_MAX && urb->busnum != 0 ? m->buses[urb->busnum] : NULL;
    /* Not monitored: the common case costs these tests. */
    if (!monitored(b) && !monitored(&m->bus0))
        return;

    /* One snapshot per kind of reader, each stamped as the kernel's readers stamp. */
    struct timespec ts = { 0 };
    struct iop_mon_event ev;
    struct iop_mon_bin_event bev;
    if ((b && b->text.n) || m->bus0.text.n) {
        m->clock(m->clock_ctx, CLOCK_MONOTONIC, &ts);
        if (iop_mon_capture(&ev, urb, type, status, iop_mon_timestamp(&ts)) < 0)
            return;
    }
    if ((b && b->bin.n) || m->bus0.bin.n) {
        m->clock(m->clock_ctx, CLOCK_REALTIME, &ts);
        if (iop_mon_bin_prepare(&bev, urb, type, status, &ts) < 0)
            return;
    }
    /* The URB's own bus first, then "all buses", as mon_submit() does. */
    if (b)
        bus_deliver(b, &ev, &bev);
    bus_deliver(&m->bus0, &ev, &bev);
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

static void list_remove(struct reader_list *l, const void *r) {
    for (unsigned i = 0; i < l->n; i++) {
        if (l->v[i] == r) {
            memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(l->v[0]));
            l->n--;
            return;
        }
    }
}

static int list_reserve(struct reader_list *l) {
    if (l->n < l->cap)
        return 0;
    unsigned cap = l->cap ? l->cap * 2 : 4;
    void **v = realloc(l->v, cap * sizeof(*v));
    if (!v)
        return -ENOMEM;
    l->v = v;
    l->cap = cap;
    return 0;
}

/* The readers' detach hook, ctx the list the reader is in: mon_reader_del(). */
static void list_detach(void *ctx, const void *r) {
    list_remove(ctx, r);
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
    if (list_reserve(&b->text) < 0)
        return -ENOMEM;
    struct iop_mon_reader *r;
    int res = iop_mon_reader_new(fmt, &r);
    if (res < 0)
        return res;
    iop_mon_hooks_set_detach(iop_mon_reader_hooks(r), list_detach, &b->text);
    b->text.v[b->text.n++] = r;
    *ret = r;
    return 0;
}

int iop_mon_open_bin(struct iop_mon *m, unsigned busnum, struct iop_mon_bin_reader **ret) {
    assert(m && ret);
    if (busnum > IOP_MON_BUS_MAX || !m->buses[busnum])
        return -ENODEV;
    struct mon_bus *b = m->buses[busnum];
    if (list_reserve(&b->bin) < 0)
        return -ENOMEM;
    struct iop_mon_bin_reader *r;
    int res = iop_mon_bin_reader_new(&m->bin_budget, &r);
    if (res < 0)
        return res;
    iop_mon_hooks_set_detach(iop_mon_bin_reader_hooks(r), list_detach, &b->bin);
    b->bin.v[b->bin.n++] = r;
    *ret = r;
    return 0;
}

void iop_mon_set_bin_budget(struct iop_mon *m, uint64_t bytes) {
    assert(m);
    m->bin_budget.limit = bytes;
}

int iop_mon_stats(const struct iop_mon *m, unsigned busnum, struct iop_mon_stats *st) {
    assert(m && st);
    if (busnum > IOP_MON_BUS_MAX || !m->buses[busnum])
        return -ENODEV;
    const struct mon_bus *b = m->buses[busnum];
    *st = (struct iop_mon_stats){
        .nreaders = (int)(b->text.n + b->bin.n),
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
