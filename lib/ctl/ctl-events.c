/* I2OEVTREG, I2OEVTGET and event delivery to the per-file queues. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ctl/ctl-internal.h"
#include "lib/i2o/iop.h"

/* A file that has neither registrations nor queued events gives its event state back
 * (keeping the cumulative lost count for a later queue). */
static void file_events_trim(struct iop_ctl_file *f) {
    if (f->ev && f->ev->n_reg == 0 && iop_evqueue_len(&f->ev->queue) == 0) {
        f->lost = f->ev->queue.lost;
        free(f->ev);
        f->ev = NULL;
    }
}

/* I2OEVTREG [i2o_cfg_evt_reg]: copy in (EFAULT), IOP (ENXIO), device (ENODEV), then
 * the kernel posted UtilEventRegister and returned 0 without waiting, so a silent IOP
 * does not fail it.  The registration for (iop, tid) replaces an earlier one from the
 * same file; mask 0 cancels it (the I2O spec's meaning of an empty mask). */
int ctl_evtreg(struct ctl_call *c) {
    struct i2o_evt_id id;
    int r;

    if ((r = ctl_fetch_arg(c, &id, sizeof(id))) != 0)
        return r;
    struct iop_controller *iop = iop_system_find(c->ctl->sys, id.iop);
    if (!iop)
        return -ENXIO;
    if (!iop_controller_find_device(iop, id.tid))
        return -ENODEV;
    struct iop_ctl_file *f = c->file;
    struct ctl_file_events *ev = f->ev;
    for (unsigned i = 0; ev && i < ev->n_reg; i++) {
        if (ev->reg[i].iop != id.iop || ev->reg[i].tid != id.tid)
            continue;
        if (id.evt_mask) {
            ev->reg[i].mask = id.evt_mask;
        } else {
            ev->reg[i] = ev->reg[ev->n_reg - 1];
            ev->n_reg--;
            file_events_trim(f);
        }
        return 0;
    }
    if (!id.evt_mask)
        return 0;
    if (!ev) {
        if (!(ev = calloc(1, sizeof(*ev))))
            return -ENOMEM;
        iop_evqueue_init(&ev->queue);
        ev->queue.lost = f->lost;
        f->ev = ev;
    }
    if (ev->n_reg >= CTL_MAX_EVT_REGS)
        return -ENOSPC;
    ev->reg[ev->n_reg++] = (struct ctl_evt_reg){ .iop = id.iop, .tid = id.tid, .mask = id.evt_mask };
    return 0;
}

int ctl_file_pop_event(struct iop_ctl_file *f, struct i2o_evt_get *out) {
    if (!f->ev)
        return -ENOENT;
    int r = iop_evqueue_pop(&f->ev->queue, out);
    file_events_trim(f);
    return r;
}

/* I2OEVTGET [i2o_cfg_evt_get]: the macro encodes struct i2o_evt_info (104 bytes) but
 * the kernel copies out struct i2o_evt_get (112 bytes): info, pending, lost.  ENOENT
 * when nothing is queued. */
int ctl_evtget(struct ctl_call *c) {
    struct i2o_evt_get g;
    int r;

    if ((r = iop_umem_want_out(c->um, c->arg, sizeof(g))) < 0)
        return r;
    if ((r = iop_umem_sync(c->um)) != 0)
        return r;
    if ((r = ctl_file_pop_event(c->file, &g)) < 0)
        return r;
    return iop_umem_write(c->um, c->arg, &g, sizeof(g));
}

void ctl_raise_event(void *ctx, unsigned unit, unsigned tid, uint32_t indicator, const void *data,
                     size_t len) {
    struct iop_ctl *ctl = ctx;
    struct i2o_evt_info e;

    memset(&e, 0, sizeof(e));
    e.id.iop = unit;
    e.id.tid = tid;
    e.id.evt_mask = indicator;
    if (len > I2O_EVT_DATA_SIZE)
        len = I2O_EVT_DATA_SIZE;
    if (data && len)
        memcpy(e.evt_data, data, len);
    e.data_size = (unsigned)len;
    for (struct iop_ctl_file *f = ctl->files; f; f = f->next) {
        for (unsigned i = 0; f->ev && i < f->ev->n_reg; i++) {
            const struct ctl_evt_reg *reg = &f->ev->reg[i];
            if (reg->iop != unit || reg->tid != tid || !(reg->mask & indicator))
                continue;
            iop_evqueue_push(&f->ev->queue, &e);
            if (f->notify)
                f->notify(f->notify_ctx);
            break; /* one copy per file */
        }
    }
}
