#include "lib/ctl/ctl.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sys/ioctl.h>
#include <linux/i2o-dev.h>

#include "lib/ctl/abi.h"
#include "lib/ctl/ctl-internal.h"
#include "lib/i2o/iop.h"

int ctl_fetch_arg(struct ctl_call *c, void *raw, size_t size) {
    int r;
    if ((r = iop_umem_want_in(c->um, c->arg, size)) < 0)
        return r;
    if ((r = iop_umem_sync(c->um)) != 0)
        return r;
    return iop_umem_read(c->um, c->arg, raw, size);
}

struct ctl_cmd {
    unsigned int cmd;        /* x86_64 number */
    unsigned int cmd_compat; /* number from a 32-bit caller, 0: none */
    const char *name;
    int (*handler)(struct ctl_call *c);
};

static const struct ctl_cmd ctl_cmds[] = {
    { I2OGETIOPS, I2OGETIOPS, "I2OGETIOPS", ctl_getiops },
    { I2OHRTGET, IOP_I2OHRTGET32, "I2OHRTGET", ctl_hrtget },
    { I2OLCTGET, IOP_I2OLCTGET32, "I2OLCTGET", ctl_lctget },
    { I2OPARMSET, IOP_I2OPARMSET32, "I2OPARMSET", ctl_parmset },
    { I2OPARMGET, IOP_I2OPARMGET32, "I2OPARMGET", ctl_parmget },
    { I2OSWDL, IOP_I2OSWDL32, "I2OSWDL", ctl_swdl },
    { I2OSWUL, IOP_I2OSWUL32, "I2OSWUL", ctl_swul },
    { I2OSWDEL, IOP_I2OSWDEL32, "I2OSWDEL", ctl_swdel },
    { I2OVALIDATE, I2OVALIDATE, "I2OVALIDATE", ctl_validate },
    { I2OHTML, IOP_I2OHTML32, "I2OHTML", ctl_html },
    { I2OEVTREG, I2OEVTREG, "I2OEVTREG", ctl_evtreg },
    { I2OEVTGET, I2OEVTGET, "I2OEVTGET", ctl_evtget },
    /* A 32-bit caller's I2OPASSTHRU is the I2OPASSTHRU32 number. */
    { I2OPASSTHRU, I2OPASSTHRU32, "I2OPASSTHRU", ctl_passthru },
};

static const struct ctl_cmd *ctl_cmd_lookup(unsigned int cmd, unsigned flags) {
    for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++) {
        unsigned int want = (flags & IOP_CTL_COMPAT) ? ctl_cmds[i].cmd_compat : ctl_cmds[i].cmd;
        if (want && want == cmd)
            return &ctl_cmds[i];
    }
    return NULL;
}

const char *iop_ctl_cmd_name(unsigned int cmd, unsigned flags) {
    const struct ctl_cmd *d = ctl_cmd_lookup(cmd, flags);
    return d ? d->name : NULL;
}

int iop_ctl_ioctl(struct iop_ctl *ctl, struct iop_ctl_file *f, unsigned int cmd, uint64_t arg,
                  unsigned flags, struct iop_umem *um, struct iop_ctl_async *async) {
    assert(ctl && f && um);
    const struct ctl_cmd *d = ctl_cmd_lookup(cmd, flags);
    if (!d)
        /* EINVAL on both paths.  Native: i2o_cfg_ioctl's default case.  A 32-bit
         * caller's unknown command (DPT's 'D' ioctls from a 32-bit raidutils) came
         * back from i2o_cfg_compat_ioctl as -ENOIOCTLCMD, which 2.6's compat_sys_ioctl
         * (fs/compat.c: "ioctl32(...): Unknown cmd", error = -EINVAL) turned into
         * EINVAL; kernels from 2.6.39 on say ENOTTY there, but i2o_config's users ran
         * on 2.6. */
        return -EINVAL;
    struct ctl_call c = {
        .ctl = ctl, .file = f, .cmd = cmd, .arg = arg,
        .compat = (flags & IOP_CTL_COMPAT) != 0, .um = um, .async = async,
    };
    return d->handler(&c);
}

void iop_ctl_cancel(struct iop_ctl_async *a) {
    if (a && a->cancel)
        a->cancel(a);
}

int iop_ctl_new(struct iop_system *sys, struct iop_ctl **ret) {
    assert(sys && ret);
    struct iop_ctl *ctl = calloc(1, sizeof(*ctl));
    if (!ctl)
        return -ENOMEM;
    iop_ctl_set_system(ctl, sys);
    *ret = ctl;
    return 0;
}

struct iop_ctl *iop_ctl_free(struct iop_ctl *ctl) {
    if (!ctl)
        return NULL;
    while (ctl->files)
        iop_ctl_release(ctl->files);
    if (ctl->sys)
        iop_system_set_event_hook(ctl->sys, NULL);
    free(ctl);
    return NULL;
}

void iop_ctl_set_system(struct iop_ctl *ctl, struct iop_system *sys) {
    assert(ctl && sys);
    if (ctl->sys && ctl->sys != sys)
        iop_system_set_event_hook(ctl->sys, NULL);
    ctl->sys = sys;
    struct iop_event_hook hook = { .raise = ctl_raise_event, .ctx = ctl };
    iop_system_set_event_hook(sys, &hook);
}

int iop_ctl_open(struct iop_ctl *ctl, struct iop_ctl_file **ret) {
    assert(ctl && ret);
    struct iop_ctl_file *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->ctl = ctl;
    f->id = ++ctl->next_file_id;
    f->next = ctl->files;
    ctl->files = f;
    ctl->n_files++;
    *ret = f;
    return 0;
}

void iop_ctl_release(struct iop_ctl_file *f) {
    if (!f)
        return;
    struct iop_ctl *ctl = f->ctl;
    for (struct iop_ctl_file **p = &ctl->files; *p; p = &(*p)->next) {
        if (*p == f) {
            *p = f->next;
            ctl->n_files--;
            break;
        }
    }
    free(f->ev); /* its registrations and queued events go with it */
    free(f);
}

unsigned iop_ctl_file_count(const struct iop_ctl *ctl) {
    assert(ctl);
    return ctl->n_files;
}

void iop_ctl_file_set_notify(struct iop_ctl_file *f, void (*fn)(void *ctx), void *ctx) {
    assert(f);
    f->notify = fn;
    f->notify_ctx = ctx;
}

bool iop_ctl_file_readable(const struct iop_ctl_file *f) {
    assert(f);
    return f->ev && iop_evqueue_len(&f->ev->queue) > 0;
}

long iop_ctl_read(struct iop_ctl_file *f, void *buf, size_t size) {
    assert(f && (buf || size == 0));
    if (size < sizeof(struct i2o_evt_info))
        return -EINVAL;
    if (!iop_ctl_file_readable(f))
        return -EAGAIN;
    size_t n = 0;
    struct i2o_evt_get g;
    while (size - n >= sizeof(struct i2o_evt_info) && ctl_file_pop_event(f, &g) == 0) {
        memcpy((uint8_t *)buf + n, &g.info, sizeof(g.info));
        n += sizeof(g.info);
    }
    return (long)n;
}
