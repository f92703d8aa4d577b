#include "lib/usbmon/reader.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/usbmon/capture.h"

struct iop_mon_reader {
    enum iop_mon_fmt fmt;
    bool hung_up;
    unsigned head;  /* oldest queued event */
    unsigned count; /* queued events */
    uint32_t lost;

    struct iop_mon_reader_hooks hooks;

    /* The text being read: text[off, off + togo) is still unread (the kernel's
     * printf_togo, for up to a batch of lines). */
    unsigned off, togo;
    char text[IOP_MON_BATCH_MAX];

    struct iop_mon_event ring[IOP_MON_EVENT_MAX];
};

int iop_mon_reader_new(enum iop_mon_fmt fmt, struct iop_mon_reader **ret) {
    assert(ret);
    if (fmt != IOP_MON_FMT_U && fmt != IOP_MON_FMT_T)
        return -EINVAL;
    struct iop_mon_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->fmt = fmt;
    *ret = r;
    return 0;
}

struct iop_mon_reader *iop_mon_reader_free(struct iop_mon_reader *r) {
    if (!r)
        return NULL;
    /* Unlink first so nothing is pushed into a reader being freed (mon_text_release). */
    iop_mon_hooks_detach(&r->hooks, r);
    free(r);
    return NULL;
}

struct iop_mon_reader_hooks *iop_mon_reader_hooks(struct iop_mon_reader *r) {
    assert(r);
    return &r->hooks;
}

int iop_mon_reader_push(struct iop_mon_reader *r, const struct iop_mon_event *ev) {
    assert(r && ev);
    if (r->hung_up)
        return -EPIPE;
    if (r->count >= IOP_MON_EVENT_MAX) {
        r->lost++;
        return -ENOBUFS;
    }
    unsigned slot = (r->head + r->count) % IOP_MON_EVENT_MAX;
    memcpy(&r->ring[slot], ev, sizeof(*ev));
    /* Only the empty -> non-empty edge needs a wakeup: whoever waits re-checks after
     * each line it takes, so later events are found without one.  A waiter that
     * delays its wakeup to take lines in batches is told again at WAKE_DEPTH. */
    if (r->count++ == 0 || r->count == IOP_MON_WAKE_DEPTH)
        iop_mon_hooks_notify(&r->hooks);
    return 0;
}

int iop_mon_reader_peek(struct iop_mon_reader *r, size_t want, const char **data) {
    assert(r && data);
    if (r->togo == 0)
        r->off = 0;
    else if (r->count && r->togo < want && r->off) {
        memmove(r->text, r->text + r->off, r->togo); /* room to append behind the rest */
        r->off = 0;
    }
    /* The first line is formatted whatever want is (a short read takes part of it);
     * the next ones only whole, while they fit in want.  Formatting is pure, so a line
     * that turns out too long is simply formatted again by a later read. */
    while (r->count && (r->togo == 0 || r->togo < want)) {
        size_t end = (size_t)r->off + r->togo;
        if (sizeof(r->text) - end < IOP_MON_PRINTF_DFL)
            break;
        int n = iop_mon_format(r->fmt, &r->ring[r->head], r->text + end, IOP_MON_PRINTF_DFL);
        /* Cannot fail: the room is PRINTF_DFL bytes and the format was checked at
         * new.  Never let it pass as a 0-byte line, which would read as end of file. */
        if (n <= 0) {
            if (r->togo)
                break;
            return -EIO;
        }
        if (r->togo && r->togo + (size_t)n > want)
            break;
        r->head = (r->head + 1) % IOP_MON_EVENT_MAX;
        r->count--;
        r->togo += (unsigned)n;
    }
    if (r->togo == 0)
        return r->hung_up ? 0 : -EAGAIN;
    *data = r->text + r->off;
    return (int)r->togo;
}

void iop_mon_reader_consume(struct iop_mon_reader *r, size_t n) {
    assert(r);
    if (n > r->togo)
        n = r->togo;
    r->off += (unsigned)n;
    r->togo -= (unsigned)n;
}

int iop_mon_reader_read(struct iop_mon_reader *r, char *buf, size_t n) {
    const char *data;
    if (!buf && n)
        return -EFAULT;
    int avail = iop_mon_reader_peek(r, n, &data);
    if (avail <= 0)
        return avail;
    size_t c = n < (size_t)avail ? n : (size_t)avail;
    if (c)
        memcpy(buf, data, c);
    iop_mon_reader_consume(r, c);
    return (int)c;
}

bool iop_mon_reader_readable(const struct iop_mon_reader *r) {
    assert(r);
    return r->togo > 0 || r->count > 0;
}

bool iop_mon_reader_hung_up(const struct iop_mon_reader *r) {
    assert(r);
    return r->hung_up;
}

void iop_mon_reader_hangup(struct iop_mon_reader *r) {
    assert(r);
    if (r->hung_up)
        return;
    r->hung_up = true;
    iop_mon_hooks_hangup(&r->hooks);
}

enum iop_mon_fmt iop_mon_reader_fmt(const struct iop_mon_reader *r) {
    assert(r);
    return r->fmt;
}

unsigned iop_mon_reader_queued(const struct iop_mon_reader *r) {
    assert(r);
    return r->count;
}

uint32_t iop_mon_reader_lost(const struct iop_mon_reader *r) {
    assert(r);
    return r->lost;
}
