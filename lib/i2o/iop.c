#include "lib/i2o/iop.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config/config.h"
#include "lib/i2o/bsa.h"
#include "lib/i2o/devparams.h"
#include "lib/i2o/dpt.h"
#include "lib/i2o/isa-path.h"
#include "lib/params/params.h"
#include "lib/swstore/swstore.h"
#include "lib/util/bytes.h"
#include "lib/util/log.h"

/* I2O 1.5 Executive: the IOP's own device, class 0x000 at TID 0. */
#define EXEC_EVENT_CAPS                                                                     \
    (I2O_EVT_IND_STATE_CHANGE | I2O_EVT_IND_GENERAL_WARNING | I2O_EVT_IND_CONFIGURATION_FLAG | \
     I2O_EVT_IND_EXEC_NEW_LCT_ENTRY | I2O_EVT_IND_EXEC_MODIFIED_LCT |                       \
     I2O_EVT_IND_EXEC_DDM_AVAILABILITY)

int iop_system_new(struct iop_system **ret) {
    assert(ret);
    struct iop_system *sys = calloc(1, sizeof(*sys));
    if (!sys)
        return -ENOMEM;
    *ret = sys;
    return 0;
}

static void device_free(struct iop_device *d) {
    if (!d)
        return;
    iop_bsa_close(d);
    iop_dpt_detach(d);
    iop_device_params_forget(d);
    iop_params_free(d->params);
    free(d->ident);
    free(d);
}

static void controller_free(struct iop_controller *c) {
    if (!c)
        return;
    for (unsigned i = 0; i < c->n_dev; i++)
        device_free(c->dev[i]);
    free(c->dev);
    free(c);
}

struct iop_system *iop_system_free(struct iop_system *sys) {
    if (!sys)
        return NULL;
    for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++)
        controller_free(sys->iop[i]);
    free(sys);
    return NULL;
}

void iop_system_set_event_hook(struct iop_system *sys, const struct iop_event_hook *hook) {
    assert(sys);
    sys->hook = hook ? *hook : (struct iop_event_hook){ 0 };
}

int iop_system_add(struct iop_system *sys, unsigned unit, const char *product_id,
                   struct iop_controller **ret) {
    assert(sys);
    if (unit >= MAX_I2O_CONTROLLERS)
        return -EINVAL;
    if (sys->iop[unit])
        return -EEXIST;
    struct iop_controller *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->sys = sys;
    c->unit = unit;
    c->answers = true;
    c->org_id = 0x001b;      /* I2O_VENDOR_DPT-style organisation id; any u16 works */
    c->iop_id = (uint16_t)(0x200 + unit);
    c->iop_state = 0x08;     /* ADAPTER_STATE_OPERATIONAL */
    c->i2o_version = 0x1;    /* I2O 1.5 */
    c->hrt_change_ind = 1;
    c->lct_change_ind = 1;
    snprintf(c->product_id, sizeof(c->product_id), "%s", product_id ? product_id : "");

    struct iop_device exec = {
        .tid = IOP_TID_EXECUTIVE,
        .class_id = I2O_CLASS_EXECUTIVE,
        .class_version = I2O_CLASS_VERSION_11,
        .vendor_id = c->org_id,
        .user_tid = 0xFFF,
        .parent_tid = IOP_TID_EXECUTIVE,
        .event_capabilities = EXEC_EVENT_CAPS,
    };
    memcpy(exec.identity_tag, "IOPEXEC ", 8);
    struct iop_device *e;
    int r = iop_controller_add_device(c, &exec, &e);
    if (r == 0)
        r = iop_device_params_defer(e, NULL);
    if (r == 0)
        r = iop_dpt_attach(e);
    if (r < 0) {
        controller_free(c);
        return r;
    }
    c->lct_change_ind = 1; /* a fresh IOP starts at 1 */
    c->dev[0]->change_ind = 1;
    sys->iop[unit] = c;
    if (ret)
        *ret = c;
    return 0;
}

struct iop_controller *iop_system_find(const struct iop_system *sys, uint64_t unit) {
    assert(sys);
    return unit < MAX_I2O_CONTROLLERS ? sys->iop[unit] : NULL;
}

/* Binary search over the TID-sorted device array: index of tid or of its insertion. */
static unsigned dev_index(const struct iop_controller *c, unsigned tid, bool *found) {
    unsigned lo = 0, hi = c->n_dev;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (c->dev[mid]->tid < tid)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < c->n_dev && c->dev[lo]->tid == tid;
    return lo;
}

struct iop_device *iop_controller_find_device(const struct iop_controller *c, uint64_t tid) {
    bool found;
    assert(c);
    if (tid > IOP_TID_MAX)
        return NULL;
    unsigned i = dev_index(c, (unsigned)tid, &found);
    return found ? c->dev[i] : NULL;
}

int iop_controller_free_tid(const struct iop_controller *c, unsigned from) {
    for (unsigned tid = from < 2 ? 2 : from; tid <= IOP_TID_MAX; tid++)
        if (!iop_controller_find_device(c, tid))
            return (int)tid;
    return -ENOSPC;
}

static void lct_changed(struct iop_controller *c, uint32_t indicator, unsigned tid) {
    c->lct_change_ind++;
    /* The executive reports LCT changes; the data is the TID concerned. */
    uint32_t data = tid;
    iop_controller_raise(c, IOP_TID_EXECUTIVE, indicator, &data, sizeof(data));
}

int iop_controller_add_device(struct iop_controller *c, const struct iop_device *tmpl,
                              struct iop_device **ret) {
    bool found;
    assert(c && tmpl);
    if (tmpl->tid > IOP_TID_MAX || tmpl->tid == IOP_TID_HOST || tmpl->class_id > 0xFFF ||
        tmpl->parent_tid > IOP_TID_MAX || tmpl->user_tid > IOP_TID_MAX)
        return -EINVAL;
    unsigned at = dev_index(c, tmpl->tid, &found);
    if (found)
        return -EEXIST;
    if (tmpl->tid != IOP_TID_EXECUTIVE && !iop_controller_find_device(c, tmpl->parent_tid))
        return -EINVAL;
    if (c->n_dev >= IOP_MAX_DEVICES)
        return -ENOSPC;
    if (c->n_dev == c->cap_dev) {
        unsigned cap = c->cap_dev ? c->cap_dev * 2 : 16;
        struct iop_device **n = realloc(c->dev, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        c->dev = n;
        c->cap_dev = cap;
    }
    struct iop_device *d = malloc(sizeof(*d));
    if (!d)
        return -ENOMEM;
    *d = *tmpl;
    d->iop = c;
    d->blk_fd = -1;
    d->scsi = NULL;
    d->jnl_fd = -1;
    /* Every device answers UtilParams; its groups come from iop_device_build_params
     * or, deferred, from iop_device_params (devparams.h). */
    d->params = NULL;
    d->ident = NULL;
    d->params_lazy = d->params_dirty = d->params_save_failed = false;
    d->lru_prev = d->lru_next = NULL;
    memmove(&c->dev[at + 1], &c->dev[at], (c->n_dev - at) * sizeof(*c->dev));
    c->dev[at] = d;
    c->n_dev++;
    if (d->tid != IOP_TID_EXECUTIVE)
        lct_changed(c, I2O_EVT_IND_EXEC_NEW_LCT_ENTRY, d->tid);
    d->change_ind = c->lct_change_ind;
    if (ret)
        *ret = d;
    return 0;
}

int iop_controller_remove_device(struct iop_controller *c, unsigned tid) {
    bool found;
    assert(c);
    if (tid == IOP_TID_EXECUTIVE)
        return -EPERM;
    unsigned at = dev_index(c, tid, &found);
    if (!found)
        return -ENOENT;
    for (unsigned i = 0; i < c->n_dev; i++)
        if (c->dev[i]->parent_tid == tid && c->dev[i]->tid != tid)
            return -EBUSY; /* remove children first */
    device_free(c->dev[at]);
    memmove(&c->dev[at], &c->dev[at + 1], (c->n_dev - at - 1) * sizeof(*c->dev));
    c->n_dev--;
    lct_changed(c, I2O_EVT_IND_EXEC_MODIFIED_LCT, tid);
    return 0;
}

void iop_device_changed(struct iop_device *d) {
    assert(d && d->iop);
    lct_changed(d->iop, I2O_EVT_IND_EXEC_MODIFIED_LCT, d->tid);
    d->change_ind = d->iop->lct_change_ind;
}

int iop_controller_add_adapter(struct iop_controller *c, const struct iop_hrt_adapter *a) {
    assert(c && a);
    if (c->n_adapters >= IOP_MAX_ADAPTERS)
        return -ENOSPC;
    if (a->parent_tid > IOP_TID_MAX || a->state > 0xF)
        return -EINVAL;
    c->adapter[c->n_adapters++] = *a;
    c->hrt_change_ind++;
    return 0;
}

int iop_controller_dma_channel(const struct iop_controller *c) {
    assert(c);
    for (unsigned i = 0; i < c->n_adapters; i++)
        if (c->adapter[i].bus_type == I2O_BUS_ISA && c->adapter[i].bus_info[3] != 0xFF)
            return c->adapter[i].bus_info[3];
    return -ENOENT;
}

void *iop_controller_dma_alloc(struct iop_controller *c, size_t len) {
    assert(c);
    return c->isa ? iop_isa_path_buf_alloc(c->isa, len) : NULL;
}

void iop_controller_dma_free(struct iop_controller *c, void *buf) {
    assert(c);
    if (buf && c->isa)
        iop_isa_path_buf_free(c->isa, buf);
}

bool iop_device_dma_data(const struct iop_device *d) {
    assert(d);
    return d->iop->isa && !d->ops && d->class_id == I2O_CLASS_RANDOM_BLOCK_STORAGE;
}

void iop_controller_raise(struct iop_controller *c, unsigned tid, uint32_t indicator,
                          const void *data, size_t len) {
    assert(c);
    struct iop_event_hook *h = &c->sys->hook;
    if (h->raise)
        h->raise(h->ctx, c->unit, tid, indicator, data, len > I2O_EVT_DATA_SIZE ? I2O_EVT_DATA_SIZE : len);
}

int iop_controller_validate(struct iop_controller *c) {
    assert(c);
    if (!c->answers)
        return -ETIMEDOUT;
    if (c->sw) {
        int r = iop_swstore_validate(c->sw);
        if (r < 0)
            return iop_log_errno(LOG_ERR, -ETIMEDOUT, "IOP %u: validate: %s", c->unit, strerror(-r));
    }
    c->n_validations++;
    iop_controller_raise(c, IOP_TID_EXECUTIVE, I2O_EVT_IND_CONFIGURATION_FLAG, NULL, 0);
    return 0;
}

/* The 8 bus-specific bytes of an HRT entry, per the unions in <linux/i2o-dev.h>.
 * i2o_isa_bus has no DMA channel field; iopd reports the channel in its reserved byte
 * (0xFF: none) as well as in the adapter's parameter group. */
static void encode_bus_info(const struct iop_config_adapter *a, uint8_t out[8]) {
    memset(out, 0, 8);
    switch (a->bus_type) {
    case I2O_BUS_PCI:
        out[0] = a->pci_function;
        out[1] = a->pci_device;
        out[2] = a->pci_bus;
        iop_put_le16(out + 4, a->pci_vendor);
        iop_put_le16(out + 6, a->pci_product);
        break;
    case I2O_BUS_ISA:
        iop_put_le16(out, a->io_port);
        out[2] = a->csn;
        out[3] = a->dma_channel;
        iop_put_le32(out + 4, a->mem_base);
        break;
    default: /* local, EISA, MCA and "other" share {u16 io; u16; u32 mem} */
        iop_put_le16(out, a->io_port);
        iop_put_le32(out + 4, a->mem_base);
        break;
    }
}

static bool is_disk(const struct iop_config_device *cd) {
    return cd->class_id == I2O_CLASS_RANDOM_BLOCK_STORAGE || cd->class_id == I2O_CLASS_SCSI_PERIPHERAL;
}

/* SCSI target ids for the disks that asked for one (IOP_CONFIG_SCSI_AUTO): in
 * configuration order, the lowest id on the disk's bus that no disk names explicitly
 * and no earlier disk took, skipping the initiator's.  -ENOSPC when a bus is full. */
static int assign_scsi_targets(const struct iop_config_iop *ci, uint8_t *target) {
    bool used[IOP_CONFIG_SCSI_BUSES][IOP_CONFIG_SCSI_TARGETS] = { { false } };
    for (unsigned b = 0; b < IOP_CONFIG_SCSI_BUSES; b++)
        used[b][IOP_SCSI_INITIATOR_ID] = true;
    for (unsigned k = 0; k < ci->n_devices; k++)
        if (is_disk(&ci->device[k]) && ci->device[k].scsi_target != IOP_CONFIG_SCSI_AUTO)
            used[ci->device[k].scsi_bus][ci->device[k].scsi_target] = true;
    for (unsigned k = 0; k < ci->n_devices; k++) {
        const struct iop_config_device *cd = &ci->device[k];
        target[k] = cd->scsi_target;
        if (!is_disk(cd) || cd->scsi_target != IOP_CONFIG_SCSI_AUTO)
            continue;
        unsigned t = 0;
        while (t < IOP_CONFIG_SCSI_TARGETS && used[cd->scsi_bus][t])
            t++;
        if (t == IOP_CONFIG_SCSI_TARGETS)
            return iop_log_errno(LOG_ERR, -ENOSPC, "IOP %u TID 0x%03x: no free SCSI target id on bus %u",
                                 ci->unit, cd->tid, cd->scsi_bus);
        used[cd->scsi_bus][t] = true;
        target[k] = (uint8_t)t;
    }
    return 0;
}

static int controller_from_config(struct iop_system *sys, const struct iop_config_iop *ci) {
    struct iop_controller *c;
    int r;

    if ((r = iop_system_add(sys, ci->unit, ci->product_id, &c)) < 0)
        return r;
    c->answers = ci->answers;
    for (unsigned i = 0; i < ci->n_adapters; i++) {
        const struct iop_config_adapter *a = &ci->adapter[i];
        struct iop_hrt_adapter h = {
            .adapter_id = a->adapter_id, .parent_tid = a->parent_tid, .state = a->state,
            .bus_num = a->bus_num, .bus_type = a->bus_type,
        };
        encode_bus_info(a, h.bus_info);
        if ((r = iop_controller_add_adapter(c, &h)) < 0)
            return r;
    }
    uint8_t *targets = calloc(ci->n_devices ? ci->n_devices : 1, 1);
    if (!targets)
        return -ENOMEM;
    if ((r = assign_scsi_targets(ci, targets)) < 0) {
        free(targets);
        return r;
    }
    for (unsigned i = 0; i < ci->n_devices; i++) {
        const struct iop_config_device *cd = &ci->device[i];
        struct iop_device d = {
            .tid = cd->tid, .class_id = cd->class_id, .class_version = cd->class_version,
            .vendor_id = cd->vendor_id, .sub_class = cd->sub_class, .user_tid = cd->user_tid,
            .parent_tid = cd->parent_tid, .event_capabilities = cd->event_capabilities,
            .device_flags = cd->device_flags, .adapter_id = cd->adapter_id, .usb_bus = cd->usb,
            .blocks = cd->blocks, .block_size = cd->block_size, .scsi_port = cd->scsi_port,
            .scsi_bus = cd->scsi_bus, .scsi_target = cd->scsi_target, .scsi_lun = cd->scsi_lun,
        };
        d.scsi_target = targets[i];
        /* identity_tag: 8 bytes, space padded */
        memset(d.identity_tag, ' ', sizeof(d.identity_tag));
        memcpy(d.identity_tag, cd->identity, strnlen(cd->identity, sizeof(d.identity_tag)));
        struct iop_device *dev;
        if ((r = iop_controller_add_device(c, &d, &dev)) < 0 || (r = iop_device_params_defer(dev, cd)) < 0 ||
            (r = iop_dpt_attach(dev)) < 0) {
            free(targets);
            return r;
        }
    }
    free(targets);

    /* A configured IOP starts with fresh change indicators, as after its own boot. */
    c->hrt_change_ind = c->lct_change_ind = 1;
    for (unsigned i = 0; i < c->n_dev; i++)
        c->dev[i]->change_ind = 1;
    return 0;
}

int iop_system_new_from_config(const struct iop_config *cfg, struct iop_system **ret) {
    struct iop_system *sys;
    int r;

    assert(cfg && ret);
    if ((r = iop_system_new(&sys)) < 0)
        return r;
    for (unsigned i = 0; i < cfg->n_iops; i++) {
        if ((r = controller_from_config(sys, &cfg->iop[i])) < 0) {
            iop_log(LOG_ERR, "IOP %u: %s", cfg->iop[i].unit, strerror(-r));
            iop_system_free(sys);
            return r;
        }
    }
    *ret = sys;
    return 0;
}
