#include "lib/ctl/ctl.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sys/ioctl.h>
#include <linux/i2o-dev.h>

#include "lib/i2o/iop.h"
#include "lib/util/log.h"

struct iop_ctl_file {
    struct iop_ctl *ctl;         /* borrowed */
    struct iop_ctl_file *next;   /* in ctl->files */
    unsigned id;
};

struct iop_ctl {
    struct iop_system *sys;      /* borrowed */
    struct iop_ctl_file *files;  /* owned list */
    unsigned n_files;
    unsigned next_file_id;
};

struct ctl_call {
    struct iop_ctl *ctl;
    struct iop_ctl_file *file;
    uint64_t arg;
    unsigned flags;
    struct iop_umem *um;
};

/* I2OGETIOPS: 32 bytes, tab[unit] = 1 for every IOP present [i2o_cfg_getiops].
 * Never ENXIO; EFAULT when the table cannot be written. */
static int ctl_getiops(struct ctl_call *c) {
    uint8_t tab[MAX_I2O_CONTROLLERS];
    int r;

    if ((r = iop_umem_want_out(c->um, c->arg, sizeof(tab))) < 0)
        return r;
    if ((r = iop_umem_sync(c->um)) != 0)
        return r;
    for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++)
        tab[i] = iop_system_find(c->ctl->sys, i) != NULL;
    return iop_umem_write(c->um, c->arg, tab, sizeof(tab));
}

/* I2OVALIDATE: the argument is the IOP number itself, not a pointer, whatever the
 * _IOR(..., __u32) in the header and "int *iop" in the old document say: the kernel
 * did "iop = (int)arg" [i2o_cfg_validate], so binary-compatible callers pass the value.
 * Any failure to get an answer is ETIMEDOUT. */
static int ctl_validate(struct ctl_call *c) {
    struct iop_controller *iop = iop_system_find(c->ctl->sys, (uint32_t)c->arg);
    if (!iop)
        return -ENXIO;
    return iop_controller_validate(iop) < 0 ? -ETIMEDOUT : 0;
}

struct ctl_cmd {
    unsigned int cmd;        /* x86_64 number */
    unsigned int cmd_compat; /* i386 number, 0: none */
    const char *name;
    int (*handler)(struct ctl_call *c);
};

static const struct ctl_cmd ctl_cmds[] = {
    { I2OGETIOPS, I2OGETIOPS, "I2OGETIOPS", ctl_getiops },
    { I2OVALIDATE, I2OVALIDATE, "I2OVALIDATE", ctl_validate },
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
                  unsigned flags, struct iop_umem *um) {
    assert(ctl && f && um);
    const struct ctl_cmd *d = ctl_cmd_lookup(cmd, flags);
    if (!d)
        /* The native path's default case is EINVAL; a 32-bit caller's unknown command
         * went through compat_ioctl's -ENOIOCTLCMD, which the VFS turns into ENOTTY. */
        return (flags & IOP_CTL_COMPAT) ? -ENOTTY : -EINVAL;
    struct ctl_call c = { .ctl = ctl, .file = f, .arg = arg, .flags = flags, .um = um };
    return d->handler(&c);
}

int iop_ctl_new(struct iop_system *sys, struct iop_ctl **ret) {
    assert(ret);
    struct iop_ctl *ctl = calloc(1, sizeof(*ctl));
    if (!ctl)
        return -ENOMEM;
    ctl->sys = sys;
    *ret = ctl;
    return 0;
}

struct iop_ctl *iop_ctl_free(struct iop_ctl *ctl) {
    if (!ctl)
        return NULL;
    while (ctl->files)
        iop_ctl_release(ctl->files);
    free(ctl);
    return NULL;
}

void iop_ctl_set_system(struct iop_ctl *ctl, struct iop_system *sys) {
    assert(ctl && sys);
    ctl->sys = sys;
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
    free(f);
}

unsigned iop_ctl_file_count(const struct iop_ctl *ctl) {
    assert(ctl);
    return ctl->n_files;
}
