#include "daemon/daemon.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/nodes.h"
#include "daemon/notify.h"
#include "daemon/reload-request.h"
#include "iopd-config.h"
#include "lib/config/config.h"
#include "lib/ctl/ctl.h"
#include "lib/i2o/devparams.h"
#include "lib/i2o/iop.h"
#include "lib/i2o/isa-path.h"
#include "lib/i2o/usbtids.h"
#include "lib/state/state.h"
#include "lib/swstore/swstore.h"
#include "lib/usb/backend-libusb.h"
#include "lib/usb/engine.h"
#include "lib/usbmon/bus.h"
#include "lib/util/cleanup.h"
#include "lib/util/log.h"
#include "lib/util/loop.h"

/* What persists for an IOP unit across configuration reloads and restarts: its state
 * directory (<state-dir>/iop<unit>) and what lives in it. */
struct unit_state {
    struct iopd *d;             /* back pointer, for the save timer */
    unsigned unit;
    struct iop_state_dir *dir;  /* owned */
    struct iop_swstore *sw;     /* owned */
    struct iop_isa_path *isa;   /* owned: the DMA data path, NULL without a channel */
    bool isa_dirty;             /* channel state changed since it was last saved */
    bool isa_save_failed;       /* the last save failed (reported once, retried) */
};

/* The DMA controller's state is saved this long after activity (and at stop): often
 * enough that a restart after a crash finds recent registers and totals, rarely enough
 * that an 8 MiB download does not fsync 1024 times. */
#define DMA_SAVE_DELAY_USEC 1000000u
/* How long start-up waits for the USB devices present to be enumerated. */
#define USB_ENUMERATION_WAIT_USEC 5000000u
#define DMA_STATE_FILE "dma.state"
/* Parameter changes are written this long after the first of a burst (and at stop
 * and reload): one atomic write per changed device instead of one per UtilParamsSet,
 * and no request waits for the disk.  A crash loses at most this much of changes;
 * what is on disk is always the old or the new values, whole. */
#define PARAMS_SAVE_DELAY_USEC 250000u
/* Memory freed by a burst of requests goes back to the system once the nodes have
 * been quiet this long (the heap's free pages, the ISA memory no buffer uses). */
#define IDLE_TRIM_USEC 1000000u
/* State that could not be saved (a full or read-only state directory) stays in memory
 * and is saved again after this long, doubling up to the maximum while it keeps failing
 * (and at the next change, which saves anyway). */
#define SAVE_RETRY_FIRST_USEC 1000000u
#define SAVE_RETRY_MAX_USEC 10000000u

struct iopd {
    struct iopd_options opt;
    int state_fd;                 /* the state directory */
    struct unit_state unit[MAX_I2O_CONTROLLERS];
    char *config_origin;          /* owned: the file in use, or "<built-in>" */
    struct iop_loop *loop;        /* owned */
    struct iop_system *sys;       /* owned */
    struct iop_ctl *ctl;          /* owned */
    struct iop_mon *mon;          /* owned: usbmon buses and readers */
    struct iopd_nodes *nodes;     /* owned: the CUSE nodes */
    struct iop_config_nodes node_cfg;
    struct iop_usb_engine *usb;   /* owned, NULL without USB */
    struct iop_usb_tids *usb_tids; /* owned */
    bool started;                 /* start-up done: READY may be announced */
    int signal_fd;
    bool announced_ready;
    struct iop_loop_source *dma_save_timer; /* armed while some unit is dirty */
    struct iop_loop_source *trim_timer;     /* armed after activity */
    struct iop_loop_source *params_timer;   /* armed while parameter changes are unsaved */
    unsigned long activity, activity_seen;  /* request batches served; at the last check */
    struct iop_loop_source *save_retry_timer; /* armed while some save failed */
    uint64_t save_retry_usec;     /* the next retry's delay */
    bool stopping;                /* iopd_free: last saves, no more retries */
};

static void arm_save_retry(struct iopd *d);

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

static void save_dma(struct unit_state *u) {
    if (!u->isa || !u->dir || !u->isa_dirty)
        return;
    uint8_t blob[1024];
    int n = iop_isa_path_save(u->isa, blob, sizeof(blob));
    int r = n < 0 ? n : iop_state_write_atomic(u->dir, DMA_STATE_FILE, blob, (size_t)n);
    if (r < 0) {
        if (u->d->stopping)
            iop_err("IOP %u: cannot save the DMA controller state to %s/iop%u/%s: %s; its changes since the "
                    "last save are lost", u->unit, u->d->opt.state_dir, u->unit, DMA_STATE_FILE, strerror(-r));
        else if (!u->isa_save_failed)
            iop_err("IOP %u: cannot save the DMA controller state to %s/iop%u/%s: %s; it stays in memory "
                    "and saving is retried", u->unit, u->d->opt.state_dir, u->unit, DMA_STATE_FILE, strerror(-r));
        u->isa_save_failed = true;
        arm_save_retry(u->d);
        return;
    }
    if (u->isa_save_failed)
        iop_notice("IOP %u: DMA controller state saved again", u->unit);
    u->isa_save_failed = false;
    u->isa_dirty = false;
}

static void on_dma_save_timer(void *data) {
    struct iopd *d = data;
    d->dma_save_timer = NULL; /* one-shot: the loop frees it */
    for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++)
        save_dma(&d->unit[i]);
}

/* Retry every save that failed; again later (backing off) while some still fail. */
static void on_save_retry(void *data) {
    struct iopd *d = data;
    d->save_retry_timer = NULL;
    unsigned left = iop_system_params_flush(d->sys);
    for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++) {
        struct unit_state *u = &d->unit[i];
        if (u->isa_save_failed) {
            save_dma(u);
            left += u->isa_save_failed;
        }
    }
    if (!left) {
        d->save_retry_usec = 0;
        return;
    }
    d->save_retry_usec = d->save_retry_usec * 2 < SAVE_RETRY_MAX_USEC ? d->save_retry_usec * 2 : SAVE_RETRY_MAX_USEC;
    arm_save_retry(d);
}

static void arm_save_retry(struct iopd *d) {
    if (d->save_retry_timer || !d->loop || d->stopping)
        return;
    if (!d->save_retry_usec)
        d->save_retry_usec = SAVE_RETRY_FIRST_USEC;
    if (iop_loop_add_timer(d->loop, d->save_retry_usec, on_save_retry, d, &d->save_retry_timer) < 0)
        d->save_retry_timer = NULL; /* retried at the next change instead */
}

/* The software store's data mover: every fragment crosses the ISA DMA channel. */
static int unit_move(void *opaque, bool to_iop, void *dst, const void *src, size_t n) {
    struct unit_state *u = opaque;
    if (!u->isa) {
        memcpy(dst, src, n);
        return (int)n;
    }
    int r = iop_isa_path_move(u->isa, to_iop, dst, src, n);
    u->isa_dirty = true;
    if (!u->d->dma_save_timer)
        iop_loop_add_timer(u->d->loop, DMA_SAVE_DELAY_USEC, on_dma_save_timer, u->d, &u->d->dma_save_timer);
    return r;
}

/* The data path for the controller's DMA channel: kept while the channel stays the
 * same, rebuilt (state carried over) when a reload changes it. */
static int unit_isa_path(struct unit_state *u, const struct iop_controller *c) {
    int chan = iop_controller_dma_channel(c);
    if (u->isa && (chan < 0 || (unsigned)chan != u->isa->chan)) {
        u->isa_dirty = true;
        save_dma(u);
        u->isa = iop_isa_path_free(u->isa);
    }
    if (u->isa || chan < 0)
        return 0;
    int r = iop_isa_path_new((unsigned)chan, &u->isa);
    if (r < 0)
        return iop_log_errno(LOG_ERR, r, "IOP %u: DMA channel %d: %s", u->unit, chan, strerror(-r));
    void *blob = NULL;
    size_t len = 0;
    r = iop_state_read(u->dir, DMA_STATE_FILE, &blob, &len, 64 * 1024);
    if (r == 0) {
        uint64_t residue = 0;
        r = iop_isa_path_load(u->isa, blob, len, &residue);
        if (r < 0)
            iop_warn("IOP %u: %s/iop%u/%s: not a usable DMA state (%s); starting from reset", u->unit,
                     u->d->opt.state_dir, u->unit, DMA_STATE_FILE, strerror(-r));
        else
            iop_info("IOP %u: DMA channel %d state restored", u->unit, chan);
    } else if (r != -ENOENT) {
        iop_warn("IOP %u: %s: %s; starting from reset", u->unit, DMA_STATE_FILE, strerror(-r));
    }
    free(blob);
    return 0;
}

static void unit_state_close(struct unit_state *u) {
    save_dma(u);
    u->isa = iop_isa_path_free(u->isa);
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
        u->d = d;
        u->unit = i;
        int r = unit_isa_path(u, c);
        if (r < 0)
            return r;
        if (!u->sw) {
            struct iop_swstore_config swc = { .mover = { .move = unit_move, .opaque = u } };
            r = iop_swstore_new(u->dir, &swc, &u->sw);
            if (r < 0)
                return iop_log_errno(LOG_ERR, r, "IOP %u: software store: %s", i, strerror(-r));
        }
        c->sw = u->sw;
        c->isa = u->isa;
        c->state = u->dir;
        /* Parameter values the host changed in an earlier run (or before a reload). */
        for (unsigned k = 0; k < c->n_dev; k++)
            iop_device_params_load(c->dev[k]);
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

static void on_all_ready(void *ctx) {
    struct iopd *d = ctx;
    if (d->announced_ready || !d->started)
        return;
    d->announced_ready = true;
    unsigned n = 0;
    for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++)
        n += d->sys->iop[i] != NULL;
    const char *mon = d->node_cfg.usbmon_enabled ? " and the usbmon nodes" : "";
    iop_notice("ready: /dev/%s serving %u IOP%s%s (configuration %s)", d->node_cfg.ctl, n,
               n == 1 ? "" : "s", mon, d->config_origin);
    iopd_notifyf("READY=1\nSTATUS=Serving /dev/%s with %u IOP%s%s", d->node_cfg.ctl, n, n == 1 ? "" : "s",
                 mon);
    if (d->opt.ready_fd >= 0) {
        (void)!write(d->opt.ready_fd, "R", 1);
        close(d->opt.ready_fd);
        d->opt.ready_fd = -1;
    }
}

/* Binary nodes exist for buses below this (the kernel's MON_BIN_MAX_MINOR: its
 * /dev/usbmonN minors run out there; libpcap's names follow them). */
#define BIN_BUS_LIMIT 128u

/* Bus busnum's binary node: /dev/<usbmon_bin>N, the name libpcap opens for usbmonN,
 * unless that name exists already -- the kernel's usbmon module makes /dev/usbmonN for
 * every bus -- then /dev/<usbmon_bin_alt>N.  The choice is logged: it is how users
 * find where to point tcpdump. */
static int add_bin_node(struct iopd *d, unsigned busnum) {
    char name[96], path[128];
    struct stat st;
    if (busnum >= BIN_BUS_LIMIT) {
        iop_info("usbmon: bus %u: no binary node (the kernel has none above bus %u)", busnum, BIN_BUS_LIMIT - 1);
        return 0;
    }
    snprintf(name, sizeof(name), "%s%u", d->node_cfg.usbmon_bin, busnum);
    snprintf(path, sizeof(path), "/dev/%s", name);
    bool taken = lstat(path, &st) == 0;
    if (taken)
        snprintf(name, sizeof(name), "%s%u", d->node_cfg.usbmon_bin_alt, busnum);
    int r = iopd_nodes_add_mon_bin(d->nodes, d->mon, busnum, name);
    if (r < 0)
        return iop_log_errno(LOG_WARNING, r, "usbmon: bus %u: binary node /dev/%s: %s", busnum, name, strerror(-r));
    if (taken)
        iop_notice("usbmon: bus %u: binary node /dev/%s (%s exists, the kernel's usbmon has it: capture it with "
                   "iopctl capture)", busnum, name, path);
    else
        iop_notice("usbmon: bus %u: binary node /dev/%s (tcpdump -i %s%u)", busnum, name, d->node_cfg.usbmon_bin,
                   busnum);
    return 0;
}

/* A USB bus iopd has devices on: its usbmon bus and its nodes (Nu and the older Nt,
 * and the binary one). */
static void on_bus_seen(void *ctx, unsigned busnum) {
    struct iopd *d = ctx;
    if (!d->node_cfg.usbmon_enabled || iop_mon_has_bus(d->mon, busnum))
        return;
    int r = iop_mon_add_bus(d->mon, busnum);
    char name[96];
    for (int fmt = 0; r == 0 && fmt < 2; fmt++) {
        snprintf(name, sizeof(name), "%s/%u%c", d->node_cfg.usbmon, busnum, fmt ? 't' : 'u');
        r = iopd_nodes_add_mon(d->nodes, d->mon, busnum, fmt ? IOP_MON_FMT_T : IOP_MON_FMT_U, name);
    }
    if (r < 0) {
        iop_warn("usbmon bus %u: %s", busnum, strerror(-r));
        return;
    }
    iop_info("usbmon: bus %u traced at /dev/%s/%uu", busnum, d->node_cfg.usbmon, busnum);
    add_bin_node(d, busnum);
}

/* USB devices through libusb: the engine on the loop, usbmon watching its URBs, the
 * devices as I2O devices.  A host without USB (no usbfs) only logs: iopd still serves
 * the simulated IOPs. */
_Static_assert(IOP_CONFIG_USB_PORTS == IOP_USB_MAX_PORTS, "port path depths differ");
static struct iop_usb_match usb_match(const struct iop_config_usb_match *c, bool detach) {
    struct iop_usb_match m = { .vid = c->vid, .pid = c->pid, .any_pid = c->any_pid, .detach = detach,
                               .by_port = c->by_port, .bus = c->bus, .depth = c->depth };
    memcpy(m.ports, c->ports, sizeof(m.ports));
    return m;
}

static int start_usb(struct iopd *d, const struct iop_config_usb *uc) {
    static const struct iop_usb_libusb_config lc = { .log_level = 0 };
    if (!uc->enabled)
        return 0;
    int r = iop_usb_engine_new(d->loop, &iop_usb_backend_libusb, &lc, &d->usb);
    if (r < 0) {
        iop_warn("USB: %s; continuing without USB devices", strerror(-r));
        return 0;
    }
    iop_usb_engine_set_monitor(d->usb, iop_mon_urb_monitor(d->mon));
    struct iop_usb_policy pol = { .n_allow = uc->n_allow, .n_claim = uc->n_claim };
    for (unsigned i = 0; i < uc->n_allow; i++)
        pol.allow[i] = usb_match(&uc->allow[i], false);
    for (unsigned i = 0; i < uc->n_claim; i++)
        pol.claim[i] = usb_match(&uc->claim[i], uc->claim[i].detach);
    struct iop_usb_tids_hooks hooks = { .bus_seen = on_bus_seen, .ctx = d };
    if ((r = iop_usb_tids_new(d->usb, &pol, &hooks, &d->usb_tids)) < 0 ||
        (r = iop_usb_tids_attach(d->usb_tids, d->sys)) < 0)
        return iop_log_errno(LOG_ERR, r, "USB: %s", strerror(-r));
    if ((r = iop_usb_engine_start(d->usb)) < 0) {
        iop_warn("USB: cannot enumerate devices (%s); continuing without USB devices", strerror(-r));
        d->usb_tids = iop_usb_tids_free(d->usb_tids);
        d->usb = iop_usb_engine_free(d->usb);
        return 0;
    }
    /* The devices present at start are in the LCT (and their usbmon nodes exist)
     * before iopd says it is ready; a device that never answers does not hold it up. */
    uint64_t deadline = iop_loop_now_usec() + USB_ENUMERATION_WAIT_USEC;
    while (iop_usb_engine_enumerating(d->usb) && iop_loop_now_usec() < deadline)
        iop_loop_iterate(d->loop, 100);
    return 0;
}

/* AddressSanitizer's allocator (the test builds) ignores malloc_trim(); its own call
 * gives free memory back the same way, so that an ASan build's resident size, which
 * the e2e tests watch, follows what is in use as a release build's does.  A weak
 * reference: null in builds without ASan. */
extern void __sanitizer_purge_allocator(void) __attribute__((weak));

static void give_back_heap(void) {
    malloc_trim(0);
    if (__sanitizer_purge_allocator)
        __sanitizer_purge_allocator();
}

/* Idle: give back what bursts of requests left behind.  Requests allocate and free
 * buffers of up to 128 KiB; the heap keeps freed memory for reuse, which is right
 * while requests come and a waste once they stop. */
static void on_trim_timer(void *data) {
    struct iopd *d = data;
    d->trim_timer = NULL; /* one-shot: the loop frees it */
    if (d->activity != d->activity_seen) { /* not quiet for a whole period yet */
        d->activity_seen = d->activity;
        iop_loop_add_timer(d->loop, IDLE_TRIM_USEC, on_trim_timer, d, &d->trim_timer);
        return;
    }
    for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++)
        if (d->unit[i].isa)
            iop_isa_path_trim(d->unit[i].isa);
    iop_system_params_trim(d->sys, 0);
    give_back_heap();
}

/* Counted rather than timed: reading the clock on every request batch would cost
 * more than the trim saves. */
static void on_activity(void *ctx) {
    struct iopd *d = ctx;
    d->activity++;
    if (!d->trim_timer) {
        d->activity_seen = d->activity;
        iop_loop_add_timer(d->loop, IDLE_TRIM_USEC, on_trim_timer, d, &d->trim_timer);
    }
}

static void on_node_died(void *ctx, const char *name, int error) {
    struct iopd *d = ctx;
    (void)name;
    iop_loop_quit(d->loop, error);
}

/* Owner and mode of the nodes, resolved from the configured names. */
static int resolve_perms(const struct iop_config_nodes *nc, struct iopd_node_perms *p) {
    struct passwd *pw = getpwnam(nc->user);
    struct group *gr = getgrnam(nc->group);
    if (!pw)
        return iop_log_errno(LOG_ERR, -EINVAL, "nodes.user: no such user \"%s\"", nc->user);
    if (!gr)
        return iop_log_errno(LOG_ERR, -EINVAL, "nodes.group: no such group \"%s\"", nc->group);
    *p = (struct iopd_node_perms){ .uid = pw->pw_uid, .gid = gr->gr_gid, .mode = nc->mode };
    return 0;
}

static void on_params_timer(void *data) {
    struct iopd *d = data;
    d->params_timer = NULL; /* one-shot: the loop frees it */
    if (iop_system_params_flush(d->sys))
        arm_save_retry(d); /* logged; kept in memory */
}

static void on_params_pending(void *ctx) {
    struct iopd *d = ctx;
    if (!d->params_timer)
        iop_loop_add_timer(d->loop, PARAMS_SAVE_DELAY_USEC, on_params_timer, d, &d->params_timer);
}

static void set_save_hook(struct iopd *d, struct iop_system *sys) {
    sys->save_hook = (struct iop_save_hook){ .pending = on_params_pending, .ctx = d };
}

/* Returns 0 when the new configuration was applied, else why it was refused. */
static int reload(struct iopd *d) {
    struct iop_config *cfg = NULL;
    struct iop_system *sys = NULL;
    char *origin = NULL;

    iop_notice("SIGHUP: reloading the configuration");
    iopd_notify("RELOADING=1");
    /* The new system reads saved values: pending changes first. */
    iop_system_params_flush(d->sys);
    struct iopd_node_perms perms;
    int r;
    if ((r = load_config(&d->opt, &cfg, &origin)) < 0 || (r = resolve_perms(&cfg->nodes, &perms)) < 0 ||
        (r = iop_system_new_from_config(cfg, &sys)) < 0 || (r = attach_state(d, sys)) < 0) {
        iop_err("reload refused: keeping the running configuration (%s)", d->config_origin);
        sys = iop_system_free(sys);
        close_unused_state(d, d->sys); /* what the attempt opened for new units */
    } else {
        r = 0;
        set_save_hook(d, sys);
        if (d->usb_tids && iop_usb_tids_attach(d->usb_tids, sys) < 0)
            iop_warn("reload: USB devices could not be put into the new configuration");
        /* What the flush above could not save is only in the old system's memory. */
        if (iop_system_params_carry(d->sys, sys))
            arm_save_retry(d);
        iop_ctl_set_system(d->ctl, sys);
        iop_system_free(d->sys);
        d->sys = sys;
        close_unused_state(d, sys);
        /* Owner and mode change in place; names would need new nodes, which would
         * drop the open descriptors, so they wait for a restart. */
        iopd_nodes_set_perms(d->nodes, &perms);
        if (strcmp(cfg->nodes.usbmon, d->node_cfg.usbmon) != 0 ||
            strcmp(cfg->nodes.usbmon_bin, d->node_cfg.usbmon_bin) != 0 ||
            strcmp(cfg->nodes.usbmon_bin_alt, d->node_cfg.usbmon_bin_alt) != 0 ||
            cfg->nodes.usbmon_enabled != d->node_cfg.usbmon_enabled ||
            cfg->nodes.ctl_alias_enabled != d->node_cfg.ctl_alias_enabled ||
            strcmp(cfg->nodes.ctl_alias, d->node_cfg.ctl_alias) != 0 ||
            (!d->opt.ctl_name && strcmp(cfg->nodes.ctl, d->node_cfg.ctl) != 0))
            iop_warn("node names changed in %s: they take effect when iopd restarts", origin);
        free(d->config_origin);
        d->config_origin = TAKE_PTR(origin);
        iop_notice("configuration %s applied", d->config_origin);
    }
    iop_config_free(cfg);
    free(origin);
    give_back_heap();
    iopd_notify("READY=1");
    return r;
}

static void on_signal(void *data, int fd, uint32_t revents) {
    struct iopd *d = data;
    struct signalfd_siginfo si;
    (void)revents;
    while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            iopd_reload_answer(&si, reload(d)); /* `iopd --reload` waits for this */
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
    d->node_cfg = cfg->nodes;
    struct iop_config_usb usb_cfg = cfg->usb;
    if (opt->ctl_name) { /* one node under that name: a second instance must not take /dev/i2octl */
        snprintf(d->node_cfg.ctl, sizeof(d->node_cfg.ctl), "%s", opt->ctl_name);
        d->node_cfg.ctl_alias_enabled = false;
    }
    if (opt->no_usbmon)
        d->node_cfg.usbmon_enabled = false;
    r = iop_system_new_from_config(cfg, &d->sys);
    cfg = iop_config_free(cfg);
    /* Parsing a big configuration takes tens of MiB (json-c's tree, the parsed
     * config) that are free now: give them back before serving. */
    give_back_heap();
    if (r < 0 || (r = open_state_dir(d)) < 0 || (r = attach_state(d, d->sys)) < 0)
        goto fail;
    if ((r = iop_loop_new(&d->loop)) < 0 || (r = iop_ctl_new(d->sys, &d->ctl)) < 0)
        goto fail;
    set_save_hook(d, d->sys);

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

    struct iopd_node_perms perms;
    struct iopd_nodes_hooks hooks = { .all_ready = on_all_ready, .died = on_node_died, .activity = on_activity,
                                      .ctx = d };
    if ((r = resolve_perms(&d->node_cfg, &perms)) < 0 || (r = iop_mon_new(&d->mon)) < 0 ||
        (r = iopd_nodes_new(d->loop, opt->cuse_path, &perms, &hooks, &d->nodes)) < 0)
        goto fail;
    iopd_nodes_set_mon_wake_delay(d->nodes, (uint64_t)opt->usbmon_wake_ms * 1000);
    if ((r = iopd_nodes_add_ctl(d->nodes, d->ctl, d->node_cfg.ctl)) < 0)
        goto fail;
    /* The older name (/dev/i2octl, what DPT's raidutils open): a second CUSE node for the
     * same device model -- same IOPs, same files and events. */
    if (d->node_cfg.ctl_alias_enabled && strcmp(d->node_cfg.ctl_alias, d->node_cfg.ctl) != 0 &&
        (r = iopd_nodes_add_ctl(d->nodes, d->ctl, d->node_cfg.ctl_alias)) < 0)
        goto fail;
    if (d->node_cfg.usbmon_enabled) {
        char name[96];
        snprintf(name, sizeof(name), "%s/0u", d->node_cfg.usbmon);
        if ((r = iopd_nodes_add_mon(d->nodes, d->mon, 0, IOP_MON_FMT_U, name)) < 0 || (r = add_bin_node(d, 0)) < 0)
            goto fail;
    }
    if ((r = start_usb(d, &usb_cfg)) < 0)
        goto fail;
    d->started = true;
    if (iopd_nodes_all_ready(d->nodes))
        on_all_ready(d);
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
    /* USB first: transfers in flight complete (and answer their callers) while the
     * nodes still exist; then the nodes: closing their CUSE fds removes them. */
    iop_usb_tids_free(d->usb_tids);
    iop_usb_engine_free(d->usb);
    iopd_nodes_free(d->nodes);
    iop_mon_free(d->mon);
    iop_ctl_free(d->ctl);
    d->stopping = true;
    iop_loop_source_free(d->save_retry_timer);
    d->save_retry_timer = NULL;
    if (d->sys) {
        unsigned lost = iop_system_params_flush(d->sys);
        if (lost)
            iop_err("%u device%s' parameter changes could not be saved and are lost", lost, lost == 1 ? "" : "s");
    }
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
    /* The nodes may have come up during start-up already (READY=1 and the serving
     * status sent): then this status would replace that one for good. */
    if (!d->announced_ready)
        iopd_notify("STATUS=Waiting for the kernel to create the device nodes");
    return iop_loop_run(d->loop);
}
