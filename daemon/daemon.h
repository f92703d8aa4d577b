/* The daemon's top level: everything iopd runs, owned in one place. */
#pragma once

#include <stdbool.h>

struct iopd_options {
    const char *config_path;   /* NULL: IOPD_CONFIG_FILE if it exists, else built-in */
    const char *state_dir;
    const char *cuse_path;     /* the CUSE control device, "/dev/cuse" */
    const char *ctl_name;      /* DEVNAME of the control node; NULL: the configuration's */
    bool no_usbmon;            /* no usbmon nodes */
    unsigned usbmon_wake_ms;   /* usbmon readers' wake delay (cuse/node.h); 0: none */
    int ready_fd;              /* -1, or a pipe to report readiness on (detach mode) */
};

/* --usbmon-wake-delay's default and limit, in milliseconds. */
#define IOPD_USBMON_WAKE_MS_DEFAULT 10u
#define IOPD_USBMON_WAKE_MS_MAX 1000u

struct iopd;

int iopd_new(const struct iopd_options *opt, struct iopd **ret);
struct iopd *iopd_free(struct iopd *d);
/* Run until SIGTERM/SIGINT; returns 0 on a clean stop. */
int iopd_run(struct iopd *d);
