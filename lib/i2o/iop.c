#include "lib/i2o/iop.h"

#include "lib/config/config.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

int iop_system_new(struct iop_system **ret) {
    assert(ret);
    struct iop_system *sys = calloc(1, sizeof(*sys));
    if (!sys)
        return -ENOMEM;
    *ret = sys;
    return 0;
}

struct iop_system *iop_system_free(struct iop_system *sys) {
    if (!sys)
        return NULL;
    for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++)
        free(sys->iop[i]);
    free(sys);
    return NULL;
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
    c->unit = unit;
    c->answers = true;
    snprintf(c->product_id, sizeof(c->product_id), "%s", product_id ? product_id : "");
    sys->iop[unit] = c;
    if (ret)
        *ret = c;
    return 0;
}

struct iop_controller *iop_system_find(const struct iop_system *sys, uint64_t unit) {
    assert(sys);
    return unit < MAX_I2O_CONTROLLERS ? sys->iop[unit] : NULL;
}

int iop_controller_validate(struct iop_controller *c) {
    assert(c);
    if (!c->answers)
        return -ETIMEDOUT;
    c->n_validations++;
    return 0;
}

int iop_system_new_from_config(const struct iop_config *cfg, struct iop_system **ret) {
    struct iop_system *sys;
    int r;

    assert(cfg && ret);
    if ((r = iop_system_new(&sys)) < 0)
        return r;
    for (unsigned i = 0; i < cfg->n_iops; i++) {
        struct iop_controller *c;
        if ((r = iop_system_add(sys, cfg->iop[i].unit, cfg->iop[i].product_id, &c)) < 0) {
            iop_system_free(sys);
            return r;
        }
        c->answers = cfg->iop[i].answers;
    }
    *ret = sys;
    return 0;
}
