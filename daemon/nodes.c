#include "daemon/nodes.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cuse/ctl-node.h"
#include "cuse/cuse-dev.h"
#include "cuse/mon-bin-node.h"
#include "cuse/mon-node.h"
#include "lib/util/log.h"
#include "lib/util/loop.h"

struct node {
    struct iopd_nodes *set;
    struct node *next;
    char name[96];
    struct iop_ctl_node *ctl; /* owned, one of the three */
    struct iop_mon_node *mon; /* owned */
    struct iop_mon_bin_node *bin; /* owned */
    struct iop_cuse_dev *dev; /* borrowed from the node */
    struct iop_loop_source *src;
    bool ready;
};

struct iopd_nodes {
    struct iop_loop *loop;    /* borrowed */
    uint64_t mon_wake_usec;   /* the usbmon nodes' wake delay (cuse/node.h) */
    char *cuse_path;
    struct iopd_node_perms perms;
    struct iopd_nodes_hooks hooks;
    struct node *nodes;
    bool announced;
};

static void node_free(struct node *e) {
    iop_loop_source_free(e->src);
    iop_ctl_node_free(e->ctl);
    iop_mon_node_free(e->mon);
    iop_mon_bin_node_free(e->bin);
    free(e);
}

/* The kernel created /dev/<name>: give it the configured owner and mode.  Failure is
 * logged and the node stays as the kernel made it (root:root 0600: safe). */
static void apply_perms(struct iopd_nodes *set, struct node *e) {
    char path[128];
    snprintf(path, sizeof(path), "/dev/%s", e->name);
    if (chown(path, set->perms.uid, set->perms.gid) < 0)
        iop_log(LOG_WARNING, "%s: chown %u:%u: %m", path, (unsigned)set->perms.uid, (unsigned)set->perms.gid);
    if (chmod(path, set->perms.mode) < 0)
        iop_log(LOG_WARNING, "%s: chmod %03o: %m", path, (unsigned)set->perms.mode);
}

static void on_node_fd(void *data, int fd, uint32_t revents) {
    struct node *e = data;
    struct iopd_nodes *set = e->set;
    (void)fd, (void)revents;
    int r = iop_cuse_dev_process(e->dev);
    if (r < 0) {
        iop_log(LOG_ERR, "/dev/%s: CUSE session ended: %s", e->name, strerror(-r));
        if (set->hooks.died)
            set->hooks.died(set->hooks.ctx, e->name, r);
        return;
    }
    if (set->hooks.activity)
        set->hooks.activity(set->hooks.ctx);
    if (!e->ready && iop_cuse_dev_ready(e->dev)) {
        e->ready = true;
        apply_perms(set, e);
        if (iopd_nodes_all_ready(set) && set->hooks.all_ready)
            set->hooks.all_ready(set->hooks.ctx);
    }
}

int iopd_nodes_new(struct iop_loop *loop, const char *cuse_path, const struct iopd_node_perms *perms,
                   const struct iopd_nodes_hooks *hooks, struct iopd_nodes **ret) {
    assert(loop && cuse_path && perms && ret);
    struct iopd_nodes *n = calloc(1, sizeof(*n));
    if (!n || !(n->cuse_path = strdup(cuse_path))) {
        free(n);
        return -ENOMEM;
    }
    n->loop = loop;
    n->perms = *perms;
    if (hooks)
        n->hooks = *hooks;
    *ret = n;
    return 0;
}

struct iopd_nodes *iopd_nodes_free(struct iopd_nodes *n) {
    if (!n)
        return NULL;
    while (n->nodes) {
        struct node *e = n->nodes;
        n->nodes = e->next;
        node_free(e);
    }
    free(n->cuse_path);
    free(n);
    return NULL;
}

static int add(struct iopd_nodes *n, struct node *e) {
    int r = iop_loop_add_io(n->loop, iop_cuse_dev_fd(e->dev), EPOLLIN, on_node_fd, e, &e->src);
    if (r < 0) {
        node_free(e);
        return r;
    }
    e->set = n;
    e->next = n->nodes;
    n->nodes = e;
    return 0;
}

static struct node *node_alloc(const char *name) {
    struct node *e = calloc(1, sizeof(*e));
    if (e)
        snprintf(e->name, sizeof(e->name), "%s", name);
    return e;
}

int iopd_nodes_add_ctl(struct iopd_nodes *n, struct iop_ctl *ctl, const char *name) {
    assert(n && ctl && name);
    struct node *e = node_alloc(name);
    if (!e)
        return -ENOMEM;
    int fd = iop_cuse_open_control(n->cuse_path);
    int r = fd < 0 ? fd : iop_ctl_node_new(ctl, name, fd, &e->ctl);
    if (r < 0) {
        free(e);
        return r;
    }
    e->dev = iop_ctl_node_dev(e->ctl);
    return add(n, e);
}

int iopd_nodes_add_mon(struct iopd_nodes *n, struct iop_mon *mon, unsigned busnum, enum iop_mon_fmt fmt,
                       const char *name) {
    assert(n && mon && name);
    struct node *e = node_alloc(name);
    if (!e)
        return -ENOMEM;
    int fd = iop_cuse_open_control(n->cuse_path);
    int r = fd < 0 ? fd : iop_mon_node_new(mon, busnum, fmt, name, fd, &e->mon);
    if (r < 0) {
        free(e);
        return r;
    }
    iop_mon_node_set_wake_delay(e->mon, n->loop, n->mon_wake_usec);
    e->dev = iop_mon_node_dev(e->mon);
    return add(n, e);
}

void iopd_nodes_set_mon_wake_delay(struct iopd_nodes *n, uint64_t usec) {
    assert(n);
    n->mon_wake_usec = usec;
    for (struct node *e = n->nodes; e; e = e->next)
        if (e->mon)
            iop_mon_node_set_wake_delay(e->mon, n->loop, usec);
        else if (e->bin)
            iop_mon_bin_node_set_wake_delay(e->bin, n->loop, usec);
}

int iopd_nodes_add_mon_bin(struct iopd_nodes *n, struct iop_mon *mon, unsigned busnum, const char *name) {
    assert(n && mon && name);
    struct node *e = node_alloc(name);
    if (!e)
        return -ENOMEM;
    int fd = iop_cuse_open_control(n->cuse_path);
    int r = fd < 0 ? fd : iop_mon_bin_node_new(mon, busnum, name, fd, &e->bin);
    if (r < 0) {
        free(e);
        return r;
    }
    iop_mon_bin_node_set_wake_delay(e->bin, n->loop, n->mon_wake_usec);
    e->dev = iop_mon_bin_node_dev(e->bin);
    return add(n, e);
}

int iopd_nodes_remove(struct iopd_nodes *n, const char *name) {
    assert(n && name);
    for (struct node **p = &n->nodes; *p; p = &(*p)->next) {
        if (strcmp((*p)->name, name) == 0) {
            struct node *e = *p;
            *p = e->next;
            node_free(e);
            return 0;
        }
    }
    return -ENOENT;
}

void iopd_nodes_set_perms(struct iopd_nodes *n, const struct iopd_node_perms *perms) {
    assert(n && perms);
    n->perms = *perms;
    for (struct node *e = n->nodes; e; e = e->next)
        if (e->ready)
            apply_perms(n, e);
}

bool iopd_nodes_all_ready(const struct iopd_nodes *n) {
    assert(n);
    for (const struct node *e = n->nodes; e; e = e->next)
        if (!e->ready)
            return false;
    return true;
}

unsigned iopd_nodes_count(const struct iopd_nodes *n) {
    unsigned c = 0;
    for (const struct node *e = n->nodes; e; e = e->next)
        c++;
    return c;
}
