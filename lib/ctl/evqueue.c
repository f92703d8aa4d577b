#include "lib/ctl/evqueue.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

void iop_evqueue_init(struct iop_evqueue *q) {
    assert(q);
    memset(q, 0, sizeof(*q));
}

void iop_evqueue_push(struct iop_evqueue *q, const struct i2o_evt_info *e) {
    assert(q && e);
    q->q[q->in] = *e;
    q->in = (q->in + 1) % I2O_EVT_Q_LEN;
    if (q->len == I2O_EVT_Q_LEN) {
        q->out = (q->out + 1) % I2O_EVT_Q_LEN;
        if (q->lost < INT32_MAX)
            q->lost++;
    } else {
        q->len++;
    }
}

int iop_evqueue_pop(struct iop_evqueue *q, struct i2o_evt_get *out) {
    assert(q && out);
    if (q->len == 0)
        return -ENOENT;
    memset(out, 0, sizeof(*out));
    out->info = q->q[q->out];
    q->out = (q->out + 1) % I2O_EVT_Q_LEN;
    q->len--;
    out->pending = (int)q->len;
    out->lost = q->lost;
    return 0;
}

unsigned iop_evqueue_len(const struct iop_evqueue *q) {
    assert(q);
    return q->len;
}
