#include "lib/i2o/config-fuzz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config/config.h"
#include "lib/i2o/devparams.h"
#include "lib/i2o/iop.h"
#include "lib/util/fuzz.h"

#define ORIGIN "fuzz.json"

static bool terminated(const char *s, size_t size) { return memchr(s, '\0', size) != NULL; }

/* Written here independently of config.c: relative, and every component a name. */
static bool below_dev(const char *name) {
    if (!*name || name[0] == '/')
        return false;
    char copy[IOP_CONFIG_NODE_NAME_MAX];
    snprintf(copy, sizeof(copy), "%s", name);
    char *save = NULL;
    unsigned parts = 0;
    for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save), parts++)
        if (strcmp(c, ".") == 0 || strcmp(c, "..") == 0)
            return false;
    return parts > 0;
}

static int check_config(const struct iop_config *cfg) {
    if (cfg->n_iops > MAX_I2O_CONTROLLERS)
        return IOP_FUZZ_FAIL("config: %u IOPs", cfg->n_iops);
    uint32_t units = 0;
    for (unsigned i = 0; i < cfg->n_iops; i++) {
        const struct iop_config_iop *c = &cfg->iop[i];
        if (c->unit >= MAX_I2O_CONTROLLERS || (units & 1u << c->unit))
            return IOP_FUZZ_FAIL("config: unit %u out of range or repeated", c->unit);
        units |= 1u << c->unit;
        if (c->n_adapters > IOP_CONFIG_MAX_ADAPTERS || c->n_devices > IOP_CONFIG_MAX_DEVICES)
            return IOP_FUZZ_FAIL("config: IOP %u: %u adapters, %u devices", c->unit, c->n_adapters,
                                 c->n_devices);
        if (!terminated(c->product_id, sizeof(c->product_id)))
            return IOP_FUZZ_FAIL("config: product_id not terminated");
        for (unsigned k = 0; k < c->n_devices; k++) {
            const struct iop_config_device *d = &c->device[k];
            if (d->tid > IOP_TID_MAX || d->n_groups > IOP_CONFIG_MAX_GROUPS ||
                d->n_values > IOP_CONFIG_MAX_VALUES)
                return IOP_FUZZ_FAIL("config: device %u: tid 0x%x, %u groups, %u values", k, d->tid,
                                     d->n_groups, d->n_values);
            if (!terminated(d->identity, sizeof(d->identity)) || !terminated(d->serial, sizeof(d->serial)) ||
                !terminated(d->description, sizeof(d->description)))
                return IOP_FUZZ_FAIL("config: device %u: a string is not terminated", k);
            for (unsigned g = 0; g < d->n_groups; g++) {
                const struct iop_config_group *gr = &d->group[g];
                if (gr->n_fields > IOP_CONFIG_MAX_FIELDS || gr->n_rows > IOP_CONFIG_MAX_ROWS ||
                    !terminated(gr->name, sizeof(gr->name)))
                    return IOP_FUZZ_FAIL("config: group 0x%04x: %u fields, %u rows", gr->number,
                                         gr->n_fields, gr->n_rows);
                for (unsigned f = 0; f < gr->n_fields; f++)
                    if (!terminated(gr->field[f].name, sizeof(gr->field[f].name)) ||
                        gr->field[f].size > IOP_CONFIG_MAX_FIELD_SIZE)
                        return IOP_FUZZ_FAIL("config: group 0x%04x field %u", gr->number, f);
            }
        }
    }
    const struct iop_config_nodes *n = &cfg->nodes;
    if (!terminated(n->ctl, sizeof(n->ctl)) || !terminated(n->usbmon, sizeof(n->usbmon)) ||
        !terminated(n->user, sizeof(n->user)) || !terminated(n->group, sizeof(n->group)))
        return IOP_FUZZ_FAIL("config: a node setting is not terminated");
    /* Node names are paths below /dev: never absolute, no "." or ".." component. */
    if (!below_dev(n->ctl) || !below_dev(n->usbmon))
        return IOP_FUZZ_FAIL("config: node name \"%s\" / \"%s\" leaves /dev", n->ctl, n->usbmon);
    if (n->mode & ~07777u)
        return IOP_FUZZ_FAIL("config: node mode 0%o", n->mode);
    if (cfg->usb.n_allow > IOP_CONFIG_USB_RULES || cfg->usb.n_claim > IOP_CONFIG_USB_RULES)
        return IOP_FUZZ_FAIL("config: %u allow, %u claim rules", cfg->usb.n_allow, cfg->usb.n_claim);
    return 0;
}

static int check_system(const struct iop_config *cfg, const struct iop_system *sys) {
    for (unsigned i = 0; i < cfg->n_iops; i++) {
        const struct iop_config_iop *ci = &cfg->iop[i];
        struct iop_controller *c = iop_system_find(sys, ci->unit);
        if (!c)
            return IOP_FUZZ_FAIL("config: IOP %u was not built", ci->unit);
        if (c->n_dev != ci->n_devices + 1 || c->n_adapters != ci->n_adapters)
            return IOP_FUZZ_FAIL("config: IOP %u has %u devices and %u adapters, configured %u and %u",
                                 ci->unit, c->n_dev, c->n_adapters, ci->n_devices, ci->n_adapters);
        size_t hrt = iop_controller_hrt(c, NULL, 0), lct = iop_controller_lct(c, NULL, 0);
        if (hrt != 8 + 16 * (size_t)c->n_adapters || lct != 12 + 36 * (size_t)c->n_dev)
            return IOP_FUZZ_FAIL("config: IOP %u: HRT %zu, LCT %zu bytes", ci->unit, hrt, lct);
        /* Groups may be deferred (devparams.h): asking for them builds them. */
        for (unsigned k = 0; k < c->n_dev; k++)
            if (!iop_device_params(c->dev[k]))
                return IOP_FUZZ_FAIL("config: IOP %u TID 0x%03x has no parameter groups", ci->unit,
                                     c->dev[k]->tid);
    }
    return 0;
}

int iop_config_fuzz_one(const uint8_t *data, size_t len) {
    struct iop_config *cfg = NULL;
    char *err = NULL;
    int r = iop_config_parse((const char *)(data ? data : (const uint8_t *)""), data ? len : 0, ORIGIN, &cfg, &err);
    if (r < 0) {
        bool named = err && strncmp(err, ORIGIN ": ", strlen(ORIGIN) + 2) == 0 && err[strlen(ORIGIN) + 2];
        free(err);
        if (cfg)
            return IOP_FUZZ_FAIL("config: refused (%d) but returned an object", r);
        if (r != -EINVAL && r != -ENOMEM)
            return IOP_FUZZ_FAIL("config: refused with %d", r);
        if (r == -EINVAL && !named)
            return IOP_FUZZ_FAIL("config: refused without a message naming the file");
        return 0;
    }
    free(err);
    if (r != 0 || !cfg)
        return IOP_FUZZ_FAIL("config: accepted with %d and %p", r, (void *)cfg);
    /* Parsed in pieces or as one tree (config-parse.c, parse_split), the same configuration. */
    struct iop_config *whole = NULL;
    r = iop_config_parse_ex((const char *)data, len, ORIGIN, IOP_CONFIG_PARSE_WHOLE, &whole, NULL);
    /* (data is not NULL here: an empty text is refused above.) */
    if (r == -ENOMEM) {
        iop_config_free(cfg);
        return 0;
    }
    if (r != 0 || !iop_config_equal(cfg, whole)) {
        iop_config_free(whole);
        iop_config_free(cfg);
        return IOP_FUZZ_FAIL("config: accepted, but parsed as one tree %s", r ? "refused" : "it differs");
    }
    iop_config_free(whole);
    r = check_config(cfg);
    struct iop_system *sys = NULL;
    if (r == 0 && iop_system_new_from_config(cfg, &sys) == 0) {
        r = check_system(cfg, sys);
        iop_system_free(sys);
    }
    iop_config_free(cfg);
    return r;
}
