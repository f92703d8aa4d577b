#include "lib/i2o/devparams.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config/config.h"
#include "lib/dma/i8237.h"
#include "lib/i2o/iop.h"
#include "lib/i2o/isa-path.h"
#include "lib/i2o/dpt.h"
#include "lib/params/params-exec.h"
#include "lib/params/params-scsi.h"
#include "lib/params/params-std.h"
#include "lib/params/params-store.h"
#include "lib/params/params.h"
#include "lib/state/state.h"
#include "lib/swstore/swstore.h"
#include "lib/util/bytes.h"
#include "lib/util/log.h"
#include "lib/util/cleanup.h"

/* Is d the bus adapter for the controller's DMA-capable ISA adapter? */
static bool drives_isa_dma(const struct iop_device *d) {
    if (d->class_id != I2O_CLASS_BUS_ADAPTER || !d->adapter_id)
        return false;
    const struct iop_controller *c = d->iop;
    for (unsigned i = 0; i < c->n_adapters; i++)
        if (c->adapter[i].adapter_id == d->adapter_id)
            return c->adapter[i].bus_type == I2O_BUS_ISA && c->adapter[i].bus_info[3] != 0xFF;
    return false;
}

static enum iop_params_type ptype(enum iop_config_ftype t) {
    switch (t) {
    case IOP_CFG_U8: return IOP_PARAMS_U8;
    case IOP_CFG_U16: return IOP_PARAMS_U16;
    case IOP_CFG_U32: return IOP_PARAMS_U32;
    case IOP_CFG_U64: return IOP_PARAMS_U64;
    case IOP_CFG_STRING: return IOP_PARAMS_STRING;
    case IOP_CFG_BYTES: return IOP_PARAMS_BYTES;
    }
    return IOP_PARAMS_BYTES;
}

static int hexbytes(const char *s, uint8_t *out, size_t cap) {
    size_t n = strlen(s);
    if (n % 2 || n / 2 > cap)
        return -EINVAL;
    for (size_t i = 0; i < n / 2; i++) {
        char h[3] = { s[2 * i], s[2 * i + 1], 0 }, *end;
        out[i] = (uint8_t)strtoul(h, &end, 16);
        if (*end)
            return -EINVAL;
    }
    return (int)(n / 2);
}

/* One configured value into its field; a failure names the configuration path. */
static int apply_value(struct iop_device *d, const struct iop_config_value *v, const void *key, size_t key_len) {
    struct iop_params *p = d->params;
    struct iop_params_group *g = iop_params_find_group(p, v->group);
    int idx = g ? iop_params_find_field(g, v->field) : -ENOENT;
    struct iop_params_field_info fi;
    const char *why = NULL;
    int r = 0;
    if (!g)
        why = "no such group on this device";
    else if (idx < 0 || iop_params_field_info(g, (unsigned)idx, &fi) < 0)
        why = "no such field in the group";
    else if (v->row < 0 && iop_params_group_kind(g) != IOP_PARAMS_SCALAR)
        why = "a table group's values go in its rows";
    if (!why) {
        if (fi.type == IOP_PARAMS_STRING) {
            if (!v->is_string)
                why = "expected a string";
            else if ((r = iop_params_set_string(p, v->group, v->field, key, key_len, v->s)) == -E2BIG)
                why = "string longer than the field";
        } else if (fi.type == IOP_PARAMS_BYTES) {
            uint8_t buf[IOP_CONFIG_MAX_FIELD_SIZE];
            int n = v->is_string ? hexbytes(v->s, buf, fi.size) : -EINVAL;
            if (n < 0)
                why = "expected a string of hex digits that fits the field";
            else
                r = iop_params_set(p, v->group, v->field, key, key_len, buf, (size_t)n);
        } else if (v->is_string) {
            why = "expected an integer";
        } else if ((r = iop_params_set_uint(p, v->group, v->field, key, key_len, v->u)) == -ERANGE) {
            why = "out of the field's range";
        }
        if (!why && r < 0)
            why = strerror(-r);
    }
    if (why)
        return iop_log_errno(LOG_ERR, -EINVAL, "%s: %s", v->path, why);
    return 0;
}

/* Groups declared in the configuration, their initial rows, and every configured value
 * (standard groups' writable and read-only fields alike: the configuration describes
 * the device, it is not a UtilParamsSet). */
static int apply_config(struct iop_device *d, const struct iop_config_device *cd) {
    struct iop_params *p = d->params;
    for (unsigned i = 0; i < cd->n_groups; i++) {
        const struct iop_config_group *cg = &cd->group[i];
        unsigned flags = (cg->row_add ? IOP_PARAMS_GROUP_ROW_ADD : 0) | (cg->row_delete ? IOP_PARAMS_GROUP_ROW_DELETE : 0) |
                         (cg->clear ? IOP_PARAMS_GROUP_CLEAR : 0);
        struct iop_params_group *g;
        int r = iop_params_add_group(p, cg->number, cg->name, cg->table ? IOP_PARAMS_TABLE : IOP_PARAMS_SCALAR, flags, &g);
        if (r < 0)
            return iop_log_errno(LOG_ERR, r, "IOP %u TID 0x%03x: group 0x%04x: %s", d->iop->unit, d->tid, cg->number,
                                 r == -EEXIST ? "the device has this group already" : strerror(-r));
        for (unsigned k = 0; k < cg->n_fields; k++) {
            const struct iop_config_field *cf = &cg->field[k];
            unsigned fl = (cf->writable ? IOP_PARAMS_FIELD_RW : 0) | (cf->key ? IOP_PARAMS_FIELD_KEY : 0);
            r = iop_params_add_field(g, cf->name, ptype(cf->type), cf->size, fl);
            if (r >= 0 && cf->has_range)
                r = iop_params_field_set_range(g, (unsigned)r, cf->min, cf->max);
            if (r < 0)
                return iop_log_errno(LOG_ERR, r, "IOP %u TID 0x%03x: group 0x%04x field %s: %s", d->iop->unit, d->tid,
                                     cg->number, cf->name, strerror(-r));
        }
        /* Rows: each starts with its key (the key field's value), then the rest. */
        int key_idx = iop_params_group_key_field(g);
        struct iop_params_field_info kfi;
        if (key_idx >= 0)
            iop_params_field_info(g, (unsigned)key_idx, &kfi);
        for (unsigned row = 0; row < cg->n_rows; row++) {
            uint8_t key[IOP_CONFIG_MAX_FIELD_SIZE];
            size_t key_len = 0;
            const struct iop_config_value *kv = NULL;
            for (unsigned k = 0; key_idx >= 0 && k < cd->n_values; k++)
                if (cd->value[k].group == cg->number && cd->value[k].row == (int)row &&
                    strcmp(cd->value[k].field, kfi.name) == 0)
                    kv = &cd->value[k];
            if (key_idx >= 0) {
                if (!kv || kv->is_string)
                    return iop_log_errno(LOG_ERR, -EINVAL, "IOP %u TID 0x%03x: group 0x%04x row %u: needs an integer %s (its key)",
                                         d->iop->unit, d->tid, cg->number, row, kfi.name);
                for (size_t b = 0; b < kfi.size && b < 8; b++)
                    key[b] = (uint8_t)(kv->u >> (8 * b));
                key_len = kfi.size;
                if (kfi.size < 8 && kv->u >> (8 * kfi.size))
                    return iop_log_errno(LOG_ERR, -EINVAL, "%s: the key does not fit the field", kv->path);
            }
            r = iop_params_row_add(g, key_len ? key : NULL, key_len);
            if (r < 0)
                return iop_log_errno(LOG_ERR, r, "IOP %u TID 0x%03x: group 0x%04x row %u: %s", d->iop->unit, d->tid,
                                     cg->number, row, r == -EEXIST ? "duplicate key" : strerror(-r));
            uint16_t index = (uint16_t)r; /* keyless tables: rows are addressed by index */
            for (unsigned k = 0; k < cd->n_values; k++) {
                const struct iop_config_value *v = &cd->value[k];
                if (v->group != cg->number || v->row != (int)row || v == kv)
                    continue;
                if ((r = apply_value(d, v, key_len ? key : (const void *)&index, key_len ? key_len : 2)) < 0)
                    return r;
            }
        }
    }
    for (unsigned k = 0; k < cd->n_values; k++)
        if (cd->value[k].row < 0) {
            int r = apply_value(d, &cd->value[k], NULL, 0);
            if (r < 0)
                return r;
        }
    return 0;
}

/* The configured identity strings of a device: from its configuration, or from the
 * copy a deferred device keeps. */
struct dev_strings {
    const char *vendor, *product, *description, *revision, *serial;
};

static struct dev_strings strings_of_config(const struct iop_config_device *cd) {
    if (!cd)
        return (struct dev_strings){ "", "", "", "", "" };
    return (struct dev_strings){ cd->vendor_info, cd->product_info, cd->description, cd->revision, cd->serial };
}

static struct dev_strings strings_of_device(const struct iop_device *d) {
    struct dev_strings st = { "", "", "", "", "" };
    const char *p = d->ident;
    if (p) {
        const char **f[] = { &st.vendor, &st.product, &st.description, &st.revision, &st.serial };
        for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++, p += strlen(p) + 1)
            *f[i] = p;
    }
    return st;
}

/* The LCT identity tag without its space padding. */
static void ident_tag(const struct iop_device *d, char out[9]) {
    memcpy(out, d->identity_tag, 8);
    out[8] = 0;
    for (int i = 7; i >= 0 && out[i] == ' '; i--)
        out[i] = 0;
}

/* The Device Identity strings build_groups derives, defaults included. */
static const char *vendor_of(const struct dev_strings *st) { return st->vendor[0] ? st->vendor : "iopd"; }
static const char *revision_of(const struct dev_strings *st) { return st->revision[0] ? st->revision : "1.0"; }
static const char *product_of(const struct iop_device *d, const struct dev_strings *st, const char *ident) {
    return st->product[0] ? st->product : (d->tid == 0 ? d->iop->product_id : ident);
}
static const char *description_of(const struct iop_device *d, const struct dev_strings *st, const char *ident) {
    return st->description[0] ? st->description : (d->tid == 0 ? "Executive" : ident);
}

/* Every group iopd derives: the standard ones, the class's, the executive's. */
static int build_groups(struct iop_device *d, const struct dev_strings *st) {
    struct iop_controller *c = d->iop;
    struct iop_params *p = d->params;

    char ident[9];
    ident_tag(d, ident);
    char dev_name[64];
    snprintf(dev_name, sizeof(dev_name), "%s", ident[0] ? ident : "device");
    const char *serial = st->serial[0] ? st->serial : NULL;
    struct iop_params_identity id = {
        .class_id = (uint32_t)(d->class_id & 0xFFF) | (uint32_t)(d->class_version & 0xF) << 12 |
                    (uint32_t)d->vendor_id << 16,
        .owner_tid = d->user_tid,
        .parent_tid = d->parent_tid,
        .vendor = vendor_of(st),
        .product = product_of(d, st, ident),
        .description = description_of(d, st, ident),
        .revision = revision_of(st),
        .sn_format = serial ? I2O_SNFORMAT_ASCII : I2O_SNFORMAT_UNKNOWN,
        .serial = serial,
        .serial_len = serial ? strlen(serial) : 0,
        .ddm_tid = d->tid == 0 ? 0 : 8,
        .module_name = "iopd",
        .module_rev = "1.0",
        .device_name = dev_name,
        .service_name = "",
        .physical_location = "",
        .instance = d->tid,
    };
    IOP_TRY(iop_params_add_device_groups(p, &id));
    if (d->tid == IOP_TID_EXECUTIVE) {
        struct iop_params_exec_info info = {
            .vendor_id = c->org_id,
            .product_id = c->iop_id,
            .inbound_frame_size = IOP_INBOUND_FRAME_WORDS * 4,
            .module_limit = IOP_SWSTORE_MODULES_DEFAULT,
            .store_space = IOP_SWSTORE_TOTAL_SIZE_DEFAULT,
        };
        IOP_TRY(iop_params_add_exec_groups(p, &info));
        IOP_TRY(iop_params_add_dpt_exec_group(p));
    }
    if (d->class_id == I2O_CLASS_BUS_ADAPTER && d->scsi_port)
        IOP_TRY(iop_params_add_scsi_port_groups(p, iop_dpt_port_bus(d), IOP_SCSI_INITIATOR_ID));
    if (d->class_id == I2O_CLASS_RANDOM_BLOCK_STORAGE || d->class_id == I2O_CLASS_SCSI_PERIPHERAL)
        IOP_TRY(iop_params_add_scsi_device_groups(p, d->scsi_bus, d->scsi_target, d->scsi_lun,
                                              d->class_id == I2O_CLASS_SCSI_PERIPHERAL));
    if (drives_isa_dma(d))
        IOP_TRY(iop_params_add_isa_dma_group(p));
    if (d->class_id == I2O_CLASS_RANDOM_BLOCK_STORAGE) {
        IOP_TRY(iop_params_add_bsa_groups(p));
        uint64_t cap = (uint64_t)d->blocks * d->block_size;
        IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_BSA_DEVICE_INFO, "NumberOfPaths", NULL, 0, 1));
        IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_BSA_DEVICE_INFO, "BlockSize", NULL, 0, d->block_size));
        IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_BSA_DEVICE_INFO, "DeviceCapacity", NULL, 0, cap));
        IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_BSA_MEDIA_INFO, "Capacity", NULL, 0, cap));
        IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_BSA_MEDIA_INFO, "BlockSize", NULL, 0, d->block_size));
    }
    return 0;
}

/* d's groups freed: whatever they mirrored must be built again with the next ones. */
static void params_drop(struct iop_device *d) {
    d->params = iop_params_free(d->params);
    if (d->tid == IOP_TID_EXECUTIVE) {
        d->iop->store_mirrored = NULL;
        d->iop->store_version_mirrored = 0;
    }
}

int iop_device_build_params(struct iop_device *d, const struct iop_config_device *cd) {
    assert(d && d->iop);
    if (d->params || d->params_lazy)
        return -EEXIST;
    int r = iop_params_new(&d->params);
    if (r < 0)
        return r;
    struct dev_strings st = strings_of_config(cd);
    if ((r = build_groups(d, &st)) < 0 || (cd && (r = apply_config(d, cd)) < 0)) {
        params_drop(d);
        return r;
    }
    iop_device_refresh(d);
    return 0;
}

/* ---- built on demand ---- */

int iop_device_params_defer(struct iop_device *d, const struct iop_config_device *cd) {
    assert(d && d->iop);
    if (cd && (cd->n_groups || cd->n_values))
        return iop_device_build_params(d, cd);
    if (d->params || d->params_lazy)
        return -EEXIST;
    struct dev_strings st = strings_of_config(cd);
    const char *f[] = { st.vendor, st.product, st.description, st.revision, st.serial };
    size_t len = 0;
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        len += strlen(f[i]) + 1;
    if (len > sizeof(f) / sizeof(f[0])) { /* something to keep */
        if (!(d->ident = malloc(len)))
            return -ENOMEM;
        char *w = d->ident;
        for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
            w = stpcpy(w, f[i]) + 1;
    }
    d->params_lazy = true;
    return 0;
}

/* v cut to size bytes (a field's size) and to cap - 1. */
static void copy_field(char *buf, size_t cap, const char *v, size_t size) {
    size_t n = strnlen(v, size); /* snprintf "%.*s" cost 4% of loading 32 x 1000 */
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, v, n);
    buf[n] = 0;
}

enum ident_field { ID_VENDOR, ID_PRODUCT, ID_DESCRIPTION, ID_REVISION, ID_SERIAL, ID_NONE };

static enum ident_field ident_field_of(const char *name) {
    static const char *const names[] = { "VendorInfo", "ProductInfo", "Description", "ProductRevLevel",
                                         "SerialNumber" };
    for (unsigned i = 0; i < IOP_ARRAY_SIZE(names); i++)
        if (!strcmp(name, names[i]))
            return (enum ident_field)i;
    return ID_NONE;
}

void iop_device_identity(const struct iop_device *d, const char *field, char *buf, size_t cap) {
    assert(d && field && buf && cap);
    buf[0] = 0;
    enum ident_field which = ident_field_of(field);
    if (which == ID_NONE)
        return;
    if (d->params) {
        /* The raw field, so that a value longer than buf is cut as the deferred branch
         * cuts it (iop_params_get_string refuses a small buffer).  SerialNumber is
         * [length][bytes] (see params-std.c). */
        char raw[IOP_PARAMS_SERIAL_SZ];
        int n = iop_params_get(d->params, IOP_PARAMS_GROUP_DEV_IDENTITY, field, NULL, 0, raw, sizeof(raw));
        if (n <= 0)
            return;
        if (which == ID_SERIAL)
            copy_field(buf, cap, raw + 1, IOP_MIN((size_t)(uint8_t)raw[0], (size_t)n - 1));
        else
            copy_field(buf, cap, raw, (size_t)n);
        return;
    }
    /* What build_groups would put there, cut to the field's size. */
    struct dev_strings st = strings_of_device(d);
    char ident[9];
    ident_tag(d, ident);
    switch (which) {
    case ID_VENDOR:
        copy_field(buf, cap, vendor_of(&st), IOP_PARAMS_VENDOR_INFO_SZ);
        break;
    case ID_PRODUCT:
        copy_field(buf, cap, product_of(d, &st, ident), IOP_PARAMS_PRODUCT_INFO_SZ);
        break;
    case ID_DESCRIPTION:
        copy_field(buf, cap, description_of(d, &st, ident), IOP_PARAMS_DESCRIPTION_SZ);
        break;
    case ID_REVISION:
        copy_field(buf, cap, revision_of(&st), IOP_PARAMS_REV_LEVEL_SZ);
        break;
    case ID_SERIAL: /* build_groups stores at most SERIAL_SZ - 1 bytes behind the length */
        copy_field(buf, cap, st.serial, IOP_PARAMS_SERIAL_SZ - 1);
        break;
    case ID_NONE:
        break;
    }
}

static void lru_unlink(struct iop_system *sys, struct iop_device *d) {
    if (d->lru_prev)
        d->lru_prev->lru_next = d->lru_next;
    else if (sys->params_lru == d)
        sys->params_lru = d->lru_next;
    else
        return; /* not in the list */
    if (d->lru_next)
        d->lru_next->lru_prev = d->lru_prev;
    else
        sys->params_lru_tail = d->lru_prev;
    d->lru_prev = d->lru_next = NULL;
    sys->n_params_cached--;
}

static void lru_push(struct iop_system *sys, struct iop_device *d) {
    d->lru_prev = NULL;
    d->lru_next = sys->params_lru;
    if (sys->params_lru)
        sys->params_lru->lru_prev = d;
    else
        sys->params_lru_tail = d;
    sys->params_lru = d;
    sys->n_params_cached++;
}

void iop_device_params_forget(struct iop_device *d) {
    assert(d);
    if (d->params_lazy)
        lru_unlink(d->iop->sys, d);
}

void iop_system_params_trim(struct iop_system *sys, unsigned keep) {
    assert(sys);
    while (sys->n_params_cached > keep) {
        struct iop_device *d = sys->params_lru_tail;
        lru_unlink(sys, d);
        params_drop(d);
    }
}

struct iop_params *iop_device_params(struct iop_device *d) {
    assert(d && d->iop);
    struct iop_system *sys = d->iop->sys;
    if (d->params) {
        if (d->params_lazy && !d->params_dirty && sys->params_lru != d) {
            lru_unlink(sys, d);
            lru_push(sys, d);
        }
        return d->params;
    }
    if (!d->params_lazy || iop_params_new(&d->params) < 0)
        return NULL;
    struct dev_strings st = strings_of_device(d);
    if (build_groups(d, &st) < 0) {
        params_drop(d);
        return NULL;
    }
    iop_device_params_load(d);
    iop_device_refresh(d);
    if (!d->params_dirty) {
        lru_push(sys, d);
        /* The one just built stays: it is at the head. */
        iop_system_params_trim(sys, IOP_PARAMS_CACHED);
    }
    return d->params;
}

static void refresh_isa_dma(struct iop_device *d) {
    struct iop_params *p = d->params;
    struct iop_isa_path *isa = d->iop->isa;
    struct iop_dma_chan_status st;
    if (!isa || iop_dma_get_status(&isa->dma, isa->chan, &st) < 0)
        return;
    iop_params_set_uint(p, IOP_PARAMS_GROUP_ISA_DMA, "Channel", NULL, 0, st.chan);
    iop_params_set_uint(p, IOP_PARAMS_GROUP_ISA_DMA, "Width", NULL, 0, st.width);
    iop_params_set_uint(p, IOP_PARAMS_GROUP_ISA_DMA, "Mode", NULL, 0, st.mode);
    iop_params_set_string(p, IOP_PARAMS_GROUP_ISA_DMA, "TransferType", NULL, 0, iop_dma_xfer_type_name(st.mode));
    iop_params_set_string(p, IOP_PARAMS_GROUP_ISA_DMA, "OperatingMode", NULL, 0, iop_dma_op_mode_name(st.mode));
    iop_params_set_uint(p, IOP_PARAMS_GROUP_ISA_DMA, "BaseAddress", NULL, 0, st.base_addr);
    iop_params_set_uint(p, IOP_PARAMS_GROUP_ISA_DMA, "CurrentAddress", NULL, 0, st.cur_addr);
    iop_params_set_uint(p, IOP_PARAMS_GROUP_ISA_DMA, "Count", NULL, 0, st.count);
    iop_params_set_uint(p, IOP_PARAMS_GROUP_ISA_DMA, "Residue", NULL, 0, st.residue);
    iop_params_set_uint(p, IOP_PARAMS_GROUP_ISA_DMA, "Masked", NULL, 0, st.masked);
    iop_params_set_uint(p, IOP_PARAMS_GROUP_ISA_DMA, "TerminalCount", NULL, 0, st.tc);
    iop_params_set_uint(p, IOP_PARAMS_GROUP_ISA_DMA, "Requested", NULL, 0, st.requested);
    iop_params_set_string(p, IOP_PARAMS_GROUP_ISA_DMA, "Owner", NULL, 0, st.owned ? st.owner : "");
    iop_params_set_uint(p, IOP_PARAMS_GROUP_ISA_DMA, "BytesMoved", NULL, 0, st.totals.bytes);
    iop_params_set_uint(p, IOP_PARAMS_GROUP_ISA_DMA, "Chunks", NULL, 0, st.totals.chunks);
    iop_params_set_uint(p, IOP_PARAMS_GROUP_ISA_DMA, "Bounces", NULL, 0, st.totals.bounces);
    iop_params_set_uint(p, IOP_PARAMS_GROUP_ISA_DMA, "Faults", NULL, 0, st.totals.faults);
}

/* Driver Store (0x0004) and Driver Store Table (0x0005) from the software store, when
 * it changed since they were last built (a listing rebuilt before every UtilParams
 * read of the executive, whatever the group asked, was three quarters of a PARMGET's
 * work).  Their fields are read-only and their rows cannot be added, deleted or
 * cleared by a host: only this writes them. */
static void refresh_driver_store(struct iop_device *d) {
    struct iop_params *p = d->params;
    struct iop_swstore *sw = d->iop->sw;
    struct iop_controller *c = d->iop;
    if (!sw || (c->store_mirrored == sw && c->store_version_mirrored == iop_swstore_version(sw)))
        return;
    struct iop_params_group *t = iop_params_find_group(p, IOP_PARAMS_GROUP_EXEC_STORE_TABLE);
    if (!t)
        return;
    struct iop_sw_module_info mods[IOP_SWSTORE_MODULES_MAX];
    int n = iop_swstore_list(sw, mods, IOP_SWSTORE_MODULES_MAX);
    if (n < 0)
        return;
    if (n > (int)IOP_SWSTORE_MODULES_MAX)
        n = (int)IOP_SWSTORE_MODULES_MAX;
    uint64_t used = 0;
    bool complete = true;
    iop_params_table_clear(t);
    for (int i = 0; i < n; i++) {
        uint16_t key = (uint16_t)i;
        used += mods[i].size;
        if (iop_params_row_add(t, &key, sizeof(key)) < 0) {
            complete = false; /* not a mirror of the store: built again next time */
            break;
        }
        char name[24];
        snprintf(name, sizeof(name), "%s%02x-%08x", mods[i].valid ? "" : "*", mods[i].sw_type, mods[i].sw_id);
        iop_params_set_uint(p, IOP_PARAMS_GROUP_EXEC_STORE_TABLE, "ModuleType", &key, 2, mods[i].sw_type);
        iop_params_set_uint(p, IOP_PARAMS_GROUP_EXEC_STORE_TABLE, "I2oVendorID", &key, 2, mods[i].sw_id >> 16);
        iop_params_set_uint(p, IOP_PARAMS_GROUP_EXEC_STORE_TABLE, "ModuleID", &key, 2, mods[i].sw_id & 0xFFFF);
        iop_params_set_string(p, IOP_PARAMS_GROUP_EXEC_STORE_TABLE, "ModuleName", &key, 2, name);
        iop_params_set_uint(p, IOP_PARAMS_GROUP_EXEC_STORE_TABLE, "ModuleSize", &key, 2, mods[i].size);
        /* ModuleFlags bit 0: suspect (downloaded, not validated yet). */
        iop_params_set_uint(p, IOP_PARAMS_GROUP_EXEC_STORE_TABLE, "ModuleFlags", &key, 2,
                            (uint64_t)(mods[i].valid ? 0 : 1) | (uint64_t)mods[i].download_flags << 8);
    }
    iop_params_set_uint(p, IOP_PARAMS_GROUP_EXEC_STORE, "ModuleCount", NULL, 0, (uint64_t)n);
    iop_params_set_uint(p, IOP_PARAMS_GROUP_EXEC_STORE, "CurrentSpace", NULL, 0, used);
    uint64_t total = IOP_SWSTORE_TOTAL_SIZE_DEFAULT;
    iop_params_set_uint(p, IOP_PARAMS_GROUP_EXEC_STORE, "FreeSpace", NULL, 0, used < total ? total - used : 0);
    c->store_mirrored = complete ? sw : NULL;
    c->store_version_mirrored = complete ? iop_swstore_version(sw) : 0;
}

void iop_device_refresh(struct iop_device *d) {
    assert(d);
    if (!d->params)
        return;
    if (d->tid == IOP_TID_EXECUTIVE)
        refresh_driver_store(d);
    /* Only where build_groups added it: on the executive, 0x8000 is DPT's IOP buffers
     * group, whose fields the status below would look for in vain on every read. */
    if (drives_isa_dma(d) && iop_params_find_group(d->params, IOP_PARAMS_GROUP_ISA_DMA))
        refresh_isa_dma(d);
}

struct change_ctx {
    struct iop_device *dev;
    unsigned changes;
};

static void on_change(void *userdata, const struct iop_params_change *ch) {
    struct change_ctx *cc = userdata;
    uint8_t data[6];
    iop_put_le16(data, ch->group);
    iop_put_le16(data + 2, ch->field);
    iop_put_le16(data + 4, (uint16_t)ch->kind);
    cc->changes++;
    iop_controller_raise(cc->dev->iop, cc->dev->tid, I2O_EVT_IND_FIELD_MODIFIED, data, sizeof(data));
}

/* Save d's changes; once they are on disk lazily built groups may be dropped again.
 * Without a state directory they stay dirty (in memory) for good. */
static int params_clean(struct iop_device *d) {
    if (!d->iop->state)
        return 0;
    int r = iop_device_params_save(d);
    if (r < 0)
        return r;
    d->params_dirty = false;
    if (d->params_lazy)
        lru_push(d->iop->sys, d);
    return 0;
}

/* d's groups hold changes that are not saved: keep them till they are. */
static void params_mark_dirty(struct iop_device *d) {
    if (d->params_dirty)
        return;
    d->params_dirty = true;
    if (d->params_lazy)
        lru_unlink(d->iop->sys, d);
}

int iop_device_params_exec(struct iop_device *d, bool set, const void *ops, size_t oplen, void *result,
                           size_t cap) {
    assert(d);
    struct iop_params *p = iop_device_params(d);
    if (!p)
        return -ENOMEM;
    iop_device_refresh(d);
    struct change_ctx cc = { .dev = d };
    int len = iop_params_exec(p, set ? IOP_PARAMS_MSG_SET : IOP_PARAMS_MSG_GET, ops, oplen, result, cap, on_change,
                              &cc);
    if (cc.changes) {
        struct iop_system *sys = d->iop->sys;
        params_mark_dirty(d);
        if (sys->save_hook.pending)
            sys->save_hook.pending(sys->save_hook.ctx);
        else
            params_clean(d);
    }
    return len;
}

unsigned iop_system_params_flush(struct iop_system *sys) {
    assert(sys);
    unsigned failed = 0;
    for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++) {
        struct iop_controller *c = sys->iop[i];
        for (unsigned k = 0; c && k < c->n_dev; k++)
            if (c->dev[k]->params_dirty && params_clean(c->dev[k]) < 0)
                failed++;
    }
    return failed;
}

unsigned iop_system_params_carry(const struct iop_system *from, struct iop_system *to) {
    assert(from && to);
    unsigned carried = 0;
    for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++) {
        const struct iop_controller *c = from->iop[i];
        for (unsigned k = 0; c && to->iop[i] && k < c->n_dev; k++) {
            const struct iop_device *old = c->dev[k];
            struct iop_device *nd = iop_controller_find_device(to->iop[i], old->tid);
            struct iop_params *np;
            uint8_t *blob;
            size_t len;
            if (!old->params_dirty || !old->params || !nd || !(np = iop_device_params(nd)) ||
                iop_params_save(old->params, &blob, &len) < 0)
                continue;
            if (iop_params_load(np, blob, len) >= 0) {
                params_mark_dirty(nd);
                nd->params_save_failed = old->params_save_failed; /* said already */
                carried++;
            }
            free(blob);
        }
    }
    return carried;
}

static void state_name(const struct iop_device *d, char name[32]) {
    snprintf(name, 32, "params-%03x.state", d->tid);
}

int iop_device_params_load(struct iop_device *d) {
    assert(d);
    struct iop_state_dir *dir = d->iop->state;
    if (!dir || !d->params)
        return 0;
    char name[32];
    void *blob = NULL;
    size_t len = 0;
    state_name(d, name);
    int r = iop_state_read(dir, name, &blob, &len, IOP_PARAMS_BLOB_MAX);
    if (r == -ENOENT)
        return 0;
    if (r == 0)
        r = iop_params_load(d->params, blob, len);
    free(blob);
    if (r < 0)
        iop_log(LOG_WARNING, "IOP %u TID 0x%03x: saved parameters not usable (%s); using the configured ones",
                d->iop->unit, d->tid, strerror(-r));
    return r < 0 ? r : 0;
}

int iop_device_params_save(struct iop_device *d) {
    assert(d);
    struct iop_state_dir *dir = d->iop->state;
    if (!dir || !d->params)
        return 0;
    char name[32];
    uint8_t *blob;
    size_t len;
    state_name(d, name);
    int r = iop_params_save(d->params, &blob, &len);
    if (r == 0) {
        r = iop_state_write_atomic(dir, name, blob, len);
        free(blob);
    }
    if (r < 0) {
        if (!d->params_save_failed)
            iop_log(LOG_ERR, "IOP %u TID 0x%03x: cannot save its parameters to %s: %s; the new values stay "
                    "in memory (the file keeps the last saved ones) and saving is retried",
                    d->iop->unit, d->tid, name, strerror(-r));
        d->params_save_failed = true;
        return r;
    }
    if (d->params_save_failed)
        iop_log(LOG_NOTICE, "IOP %u TID 0x%03x: parameters saved to %s again", d->iop->unit, d->tid, name);
    d->params_save_failed = false;
    return 0;
}
