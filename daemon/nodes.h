/* The CUSE device nodes iopd serves: each is its own session on /dev/cuse, watched by
 * the event loop.  Tracks when the kernel has created each node, applies the
 * configured owner and mode then, and reports when all of them are ready (for
 * sd_notify READY=1) or one of them died. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/usbmon/text.h"

struct iop_ctl;
struct iop_loop;
struct iop_mon;
struct iopd_nodes;

struct iopd_node_perms {
    uid_t uid;
    gid_t gid;
    mode_t mode;
};

struct iopd_nodes_hooks {
    void (*all_ready)(void *ctx);              /* every node added so far exists */
    void (*died)(void *ctx, const char *name, int error); /* a session ended */
    void (*activity)(void *ctx);               /* requests were served (may be NULL) */
    void *ctx;
};

int iopd_nodes_new(struct iop_loop *loop, const char *cuse_path, const struct iopd_node_perms *perms,
                   const struct iopd_nodes_hooks *hooks, struct iopd_nodes **ret);
/* Remove every node (closing a session removes its /dev entry). */
struct iopd_nodes *iopd_nodes_free(struct iopd_nodes *n);

int iopd_nodes_add_ctl(struct iopd_nodes *n, struct iop_ctl *ctl, const char *name);
int iopd_nodes_add_mon(struct iopd_nodes *n, struct iop_mon *mon, unsigned busnum, enum iop_mon_fmt fmt,
                       const char *name);
/* How long a usbmon node, text or binary, holds back the wakeup of a waiting reader to
 * collect events (iop_cuse_node_set_wake_delay), for the nodes there are and those
 * added later. */
void iopd_nodes_set_mon_wake_delay(struct iopd_nodes *n, uint64_t usec);
/* Bus busnum's binary usbmon node (0: all buses). */
int iopd_nodes_add_mon_bin(struct iopd_nodes *n, struct iop_mon *mon, unsigned busnum, const char *name);
/* Remove one node by name; -ENOENT if there is none. */
int iopd_nodes_remove(struct iopd_nodes *n, const char *name);
/* New owner and mode: applied at once to every node that exists, and to later ones. */
void iopd_nodes_set_perms(struct iopd_nodes *n, const struct iopd_node_perms *perms);
bool iopd_nodes_all_ready(const struct iopd_nodes *n);
unsigned iopd_nodes_count(const struct iopd_nodes *n);
