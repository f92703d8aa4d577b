/* Private to lib/ctl: the device state, open files and the handler signature. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/ctl/ctl.h"
#include "lib/ctl/evqueue.h"
#include "lib/umem/umem.h"

struct iop_system;

/* One I2OEVTREG in force: (iop, tid) -> mask.  The file is the source of truth; on a
 * configuration reload registrations carry over to the new IOPs of the same unit. */
struct ctl_evt_reg {
    unsigned iop, tid;
    uint32_t mask;
};

#define CTL_MAX_EVT_REGS 64u /* per open file; more is -ENOSPC (nothing in the ABI needs more) */

/* A file's registrations and event queue (about 4 KiB), allocated by its first
 * I2OEVTREG and freed once it has neither registrations nor queued events again: most
 * files never register, and a client holding thousands of them costs the daemon only
 * struct iop_ctl_file each. */
struct ctl_file_events {
    struct iop_evqueue queue;
    struct ctl_evt_reg reg[CTL_MAX_EVT_REGS];
    unsigned n_reg;
};

struct iop_ctl_file {
    struct iop_ctl *ctl;         /* borrowed */
    struct iop_ctl_file *next;   /* in ctl->files */
    unsigned id;
    struct ctl_file_events *ev;  /* owned, NULL: no registrations, nothing queued */
    int lost;                    /* events lost before ev was last freed (the kernel's
                                  * q_lost is cumulative for the life of the file) */
    void (*notify)(void *ctx);   /* events became available */
    void *notify_ctx;
};

/* Dequeue the oldest event of f: 0, or -ENOENT (as iop_evqueue_pop); frees f->ev when
 * that leaves it without registrations and events. */
int ctl_file_pop_event(struct iop_ctl_file *f, struct i2o_evt_get *out);

struct iop_ctl {
    struct iop_system *sys;      /* borrowed */
    struct iop_ctl_file *files;  /* owned list */
    unsigned n_files;
    unsigned next_file_id;
};

struct ctl_call {
    struct iop_ctl *ctl;
    struct iop_ctl_file *file;
    unsigned int cmd;
    uint64_t arg;
    bool compat;
    struct iop_umem *um;
    struct iop_ctl_async *async; /* NULL: the caller cannot wait */
};

/* Fetch the argument struct at arg (size bytes) into raw: 0, IOP_UMEM_RETRY or -errno. */
int ctl_fetch_arg(struct ctl_call *c, void *raw, size_t size);

int ctl_getiops(struct ctl_call *c);
int ctl_hrtget(struct ctl_call *c);
int ctl_lctget(struct ctl_call *c);
int ctl_validate(struct ctl_call *c);
int ctl_parmget(struct ctl_call *c);
int ctl_parmset(struct ctl_call *c);
int ctl_html(struct ctl_call *c);
int ctl_swdl(struct ctl_call *c);
int ctl_swul(struct ctl_call *c);
int ctl_swdel(struct ctl_call *c);
int ctl_evtreg(struct ctl_call *c);
int ctl_evtget(struct ctl_call *c);
int ctl_passthru(struct ctl_call *c);

/* The system's event hook lands here (ctl-events.c). */
void ctl_raise_event(void *ctx, unsigned unit, unsigned tid, uint32_t indicator, const void *data,
                     size_t len);
