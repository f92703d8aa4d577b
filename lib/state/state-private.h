/* Internals shared by state-dir.c and state-file.c; not for other modules. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/state/state.h"

/* Temporary files: ".tmp.<name>.<counter>".  The prefix can never be a valid name. */
#define STATE_TMP_PREFIX ".tmp."
#define STATE_TMP_NAME_MAX (sizeof(STATE_TMP_PREFIX) + IOP_STATE_NAME_MAX + 1 + 20 + 1)

struct iop_state_dir {
    int fd;                      /* owned: the directory, holding our flock() */
    iop_state_crash_fn crash_fn; /* NULL: no simulation */
    void *crash_opaque;          /* borrowed */
    bool crashed;                /* a simulated crash happened: do nothing from now on */
    unsigned n_writers;          /* live writers, which borrow this object */
    uint64_t tmp_counter;        /* makes temporary names unique within this owner */
};

/* Ask the hook whether the process "dies" after step; -ECANCELED if so (and from then
 * on), else 0. */
int state_step(struct iop_state_dir *d, enum iop_state_step step, const char *name);
/* fsync the directory after a rename or unlink.  The change itself is already visible,
 * so a failure here is logged, not returned: callers must treat the change as made. */
void state_sync_dir(struct iop_state_dir *d, const char *name);
