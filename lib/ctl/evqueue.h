/* A per-open-file event ring, as the 2.4 kernel's i2o_config kept one: I2O_EVT_Q_LEN
 * entries; when full, the OLDEST event is dropped and `lost` counts it (cumulative,
 * never reset) [i2o_cfg_reply in 2.4's i2o_config.c]. */
#pragma once

#include <stdint.h>

#include <linux/i2o-dev.h>

struct iop_evqueue {
    struct i2o_evt_info q[I2O_EVT_Q_LEN];
    unsigned in, out, len;
    int lost;
};

void iop_evqueue_init(struct iop_evqueue *q);
void iop_evqueue_push(struct iop_evqueue *q, const struct i2o_evt_info *e);
/* Oldest event into *out with pending = events left and lost; -ENOENT when empty. */
int iop_evqueue_pop(struct iop_evqueue *q, struct i2o_evt_get *out);
unsigned iop_evqueue_len(const struct iop_evqueue *q);
