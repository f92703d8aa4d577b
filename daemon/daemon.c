#include "daemon/daemon.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cuse/ctl-node.h"
#include "cuse/cuse-dev.h"
#include "daemon/notify.h"
#include "iopd-config.h"
#include "lib/config/config.h"
#include "lib/ctl/ctl.h"
#include "lib/i2o/iop.h"
#include "lib/state/state.h"
#include "lib/swstore/swstore.h"
#include "lib/util/cleanup.h"
#include "lib/util/log.h"
#include "lib/util/loop.h"

/* What persists for an IOP unit across configuration reloads and restarts: its state
 * directory (<state-dir>/iop<unit>) and what lives in it. */
struct unit_state {
    struct iop_state_dir *dir;  /* owned */
    struct iop_swstore *sw;     /* owned */
};

struct iopd {
    struct iopd_options opt;
    int state_fd;                 /* the state directory */
    struct unit_state unit[MAX_I2O_CONTROLLERS];
    char *config_origin;          /* owned: the file in use, or "<built-in>" */
    struct iop_loop *loop;        /* owned */
    struct iop_system *sys;       /* owned */
    struct iop_ctl *ctl;          /* owned */
    struct iop_ctl_node *ctl_node; /* owned */
    int signal_fd;
    bool announced_ready;
};

static int load_config(const struct iopd_options *opt, struct iop_config **cfg, char **origin) {
    char *err = NULL;
    int r;

    if (opt->config_path || access(IOPD_CONFIG_FILE, F_OK) == 0) {
        const char *path = opt->config_path ? opt->config_path : IOPD_CONFIG_FILE;
        r = iop_config_load_file(path, cfg, &err);
        if (r < 0) {
            iop_err("%s", err ? err : strerror(-r));
            free(err);
            return r;
        }
        *origin = strdup(path);
    } else {
        r = iop_config_parse(iop_config_default_json, strlen(iop_config_default_json),
                             "<built-in>", cfg, &err);
        if (r < 0) { /* a bug: the built-in configuration is tested */
            iop_err("%s", err ? err : strerror(-r));
            free(err);
            return r;
        }
        *origin = strdup("<built-in>");
    }
    return *origin ? 0 : -ENOMEM;
}

static void unit_state_close(struct unit_state *u) {
    u->sw = iop_swstore_free(u->sw);
    u->dir = iop_state_dir_free(u->dir);
}

/* Open the state of every unit the system has (keeping what is open already) and
 * attach it to the controllers.  Nothing is closed here: a reload that fails later
 * keeps running on the old system, whose controllers still use their state. */
static int attach_state(struct iopd *d, struct iop_system *sys) {
    for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++) {
        struct iop_controller *c = sys->iop[i];
        struct unit_state *u = &d->unit[i];
        if (!c)
            continue;
        if (!u->dir) {
            char name[16];
            snprintf(name, sizeof(name), "iop%u", i);
            int r = iop_state_dir_open_at(d->state_fd, name, &u->dir);
            if (r < 0)
                return iop_log_errno(LOG_ERR, r, "%s/%s: %s", d->opt.state_dir, name, strerror(-r));
        }
        if (!u->sw) {
            int r = iop_swstore_new(u->dir, NULL, &u->sw);
            if (r < 0)
                return iop_log_errno(LOG_ERR, r, "IOP %u: software store: %s", i, strerror(-r));
        }
        c->sw = u->sw;
    }
    return 0;
}

/* After a switch to sys: the state of units it no longer has is closed. */
static void close_unused_state(struct iopd *d, const struct iop_system *sys) {
    for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++)
        if (!sys->iop[i])
            unit_state_close(&d->unit[i]);
}

static int open_state_dir(struct iopd *d) {
    if (mkdir(d->opt.state_dir, 0700) < 0 && errno != EEXIST)
        return iop_log_errno(LOG_ERR, -errno, "%s: %m", d->opt.state_dir);
    d->state_fd = open(d->opt.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->state_fd < 0)
        return iop_log_errno(LOG_ERR, -errno, "%s: %m", d->opt.state_dir);
    return 0;
}

static void announce_ready(struct iopd *d) {
    if (d->announced_ready || !iop_cuse_dev_ready(iop_ctl_node_dev(d->ctl_node)))
        return;
    d->announced_ready = true;
    unsigned n = 0;
    for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++)
        n += d->sys->iop[i] != NULL;
    iop_notice("ready: /dev/%s serving %u IOP%s (configuration %s)", d->opt.ctl_name, n,
               n == 1 ? "" : "s", d->config_origin);
    iopd_notifyf("READY=1\nSTATUS=Serving /dev/%s with %u IOP%s", d->opt.ctl_name, n,
                 n == 1 ? "" : "s");
    if (d->opt.ready_fd >= 0) {
        (void)!write(d->opt.ready_fd, "R", 1);
        close(d->opt.ready_fd);
        d->opt.ready_fd = -1;
    }
}

static void on_ctl_fd(void *data, int fd, uint32_t revents) {
    struct iopd *d = data;
    (void)fd, (void)revents;
    int r = iop_cuse_dev_process(iop_ctl_node_dev(d->ctl_node));
    if (r < 0) {
        iop_err("/dev/%s: CUSE session ended: %s", d->opt.ctl_name, strerror(-r));
        iop_loop_quit(d->loop, r);
        return;
    }
    announce_ready(d);
}

static void reload(struct iopd *d) {
    struct iop_config *cfg = NULL;
    struct iop_system *sys = NULL;
    char *origin = NULL;

    iop_notice("SIGHUP: reloading the configuration");
    iopd_notify("RELOADING=1");
    if (load_config(&d->opt, &cfg, &origin) < 0 || iop_system_new_from_config(cfg, &sys) < 0 ||
        attach_state(d, sys) < 0) {
        iop_err("reload refused: keeping the running configuration (%s)", d->config_origin);
        sys = iop_system_free(sys);
        close_unused_state(d, d->sys); /* what the attempt opened for new units */
    } else {
        iop_ctl_set_system(d->ctl, sys);
        iop_system_free(d->sys);
        d->sys = sys;
        close_unused_state(d, sys);
        free(d->config_origin);
        d->config_origin = TAKE_PTR(origin);
        iop_notice("configuration %s applied", d->config_origin);
    }
    iop_config_free(cfg);
    free(origin);
    iopd_notify("READY=1");
}

static void on_signal(void *data, int fd, uint32_t revents) {
    struct iopd *d = data;
    struct signalfd_siginfo si;
    (void)revents;
    while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            reload(d);
        } else {
            iop_notice("%s: stopping", strsignal((int)si.ssi_signo));
            iopd_notify("STOPPING=1");
            iop_loop_quit(d->loop, 0);
        }
    }
}

int iopd_new(const struct iopd_options *opt, struct iopd **ret) {
    struct iop_config *cfg = NULL;
    int r;

    assert(opt && ret);
    struct iopd *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->opt = *opt;
    d->signal_fd = -1;
    d->state_fd = -1;

    r = load_config(opt, &cfg, &d->config_origin);
    if (r < 0)
        goto fail;
    r = iop_system_new_from_config(cfg, &d->sys);
    cfg = iop_config_free(cfg);
    if (r < 0 || (r = open_state_dir(d)) < 0 || (r = attach_state(d, d->sys)) < 0)
        goto fail;
    if ((r = iop_loop_new(&d->loop)) < 0 || (r = iop_ctl_new(d->sys, &d->ctl)) < 0)
        goto fail;

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    d->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (d->signal_fd < 0) {
        r = -errno;
        goto fail;
    }
    if ((r = iop_loop_add_io(d->loop, d->signal_fd, EPOLLIN, on_signal, d, NULL)) < 0)
        goto fail;

    int fd = iop_cuse_open_control(opt->cuse_path);
    if (fd < 0) {
        r = fd;
        goto fail;
    }
    if ((r = iop_ctl_node_new(d->ctl, opt->ctl_name, fd, &d->ctl_node)) < 0)
        goto fail;
    r = iop_loop_add_io(d->loop, iop_cuse_dev_fd(iop_ctl_node_dev(d->ctl_node)), EPOLLIN, on_ctl_fd, d, NULL);
    if (r < 0)
        goto fail;
    *ret = d;
    return 0;
fail:
    iop_config_free(cfg);
    iopd_free(d);
    return r;
}

struct iopd *iopd_free(struct iopd *d) {
    if (!d)
        return NULL;
    /* Nodes first: closing their CUSE fds removes /dev/i2o/ctl. */
    iop_ctl_node_free(d->ctl_node);
    iop_ctl_free(d->ctl);
    iop_system_free(d->sys);
    for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++)
        unit_state_close(&d->unit[i]);
    if (d->state_fd >= 0)
        close(d->state_fd);
    iop_loop_free(d->loop);
    if (d->signal_fd >= 0)
        close(d->signal_fd);
    if (d->opt.ready_fd >= 0)
        close(d->opt.ready_fd);
    free(d->config_origin);
    free(d);
    return NULL;
}

int iopd_run(struct iopd *d) {
    assert(d);
    iopd_notify("STATUS=Waiting for the kernel to create the device nodes");
    return iop_loop_run(d->loop);
}
