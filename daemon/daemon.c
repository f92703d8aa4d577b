#include "daemon/daemon.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cuse/ctl-node.h"
#include "cuse/cuse-dev.h"
#include "daemon/notify.h"
#include "iopd-config.h"
#include "lib/config/config.h"
#include "lib/ctl/ctl.h"
#include "lib/i2o/iop.h"
#include "lib/util/cleanup.h"
#include "lib/util/log.h"
#include "lib/util/loop.h"

struct iopd {
    struct iopd_options opt;
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
    if (load_config(&d->opt, &cfg, &origin) < 0 || iop_system_new_from_config(cfg, &sys) < 0) {
        iop_err("reload refused: keeping the running configuration (%s)", d->config_origin);
    } else {
        iop_ctl_set_system(d->ctl, sys);
        iop_system_free(d->sys);
        d->sys = sys;
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

    r = load_config(opt, &cfg, &d->config_origin);
    if (r < 0)
        goto fail;
    r = iop_system_new_from_config(cfg, &d->sys);
    cfg = iop_config_free(cfg);
    if (r < 0)
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
