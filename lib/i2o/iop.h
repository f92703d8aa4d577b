/* The simulated I2O IOPs: a system of up to MAX_I2O_CONTROLLERS controllers, each
 * addressed by its unit number as the ioctls' "iop" field is. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <linux/i2o-dev.h>

/* i2o_status_block.product_id is 24 bytes, not NUL-terminated when full. */
#define IOP_PRODUCT_ID_LEN 24

struct iop_controller {
    unsigned unit;                          /* 0 .. MAX_I2O_CONTROLLERS-1 */
    char product_id[IOP_PRODUCT_ID_LEN + 1];
    /* false: the IOP never answers a message; every request that waits for a reply
     * fails as the kernel's post-wait does (ETIMEDOUT, or EAGAIN for UtilParams). */
    bool answers;
    unsigned n_validations; /* ExecConfigValidate messages accepted */
};

struct iop_system {
    struct iop_controller *iop[MAX_I2O_CONTROLLERS]; /* owned; NULL: no IOP at that unit */
};

int iop_system_new(struct iop_system **ret);
struct iop_system *iop_system_free(struct iop_system *sys);

/* Create a controller at unit; -EINVAL out of range, -EEXIST taken. */
int iop_system_add(struct iop_system *sys, unsigned unit, const char *product_id,
                   struct iop_controller **ret);
/* The controller at unit, or NULL (also for any out-of-range unit). */
struct iop_controller *iop_system_find(const struct iop_system *sys, uint64_t unit);

/* ExecConfigValidate: the current configuration is accepted and suspect software
 * modules become valid.  0, or -ETIMEDOUT when the IOP does not answer. */
int iop_controller_validate(struct iop_controller *c);

struct iop_config;
/* Build the system a configuration describes. */
int iop_system_new_from_config(const struct iop_config *cfg, struct iop_system **ret);
