/* iopd: I2O configuration device (/dev/i2o/ctl) and usbmon trace nodes in userspace. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/reload-request.h"
#include "iopd-config.h"
#include "lib/config/config.h"
#include "lib/i2o/iop.h"
#include "lib/util/log.h"

static void usage(FILE *out) {
    fprintf(out,
            "Usage: iopd [OPTION]...\n"
            "Serve the I2O configuration device /dev/i2o/ctl from userspace (CUSE).\n"
            "\n"
            "  -f, --foreground       stay in the foreground, log to stderr (systemd uses this)\n"
            "  -c, --config=FILE      configuration file (default: %s if it exists,\n"
            "                         otherwise the built-in configuration: one IOP)\n"
            "      --check-config     validate the configuration, print the result, exit\n"
            "      --dump-default-config  print the built-in configuration and exit\n"
            "  -s, --state-dir=DIR    where changes made through ioctls persist (default %s)\n"
            "      --cuse=PATH        CUSE control device (default /dev/cuse)\n"
            "      --ctl-name=NAME    control node name below /dev (default: the configuration's,\n"
            "                         i2o/ctl, plus its older name i2octl); with this option\n"
            "                         there is no second name\n"
            "      --no-usbmon        do not create the usbmon nodes (text and binary)\n"
            "      --usbmon-wake-delay=MS  wake a usbmon reader waiting for events at most MS\n"
            "                         milliseconds after the first one arrives, so that it takes\n"
            "                         those arriving meanwhile without waiting again (default %u,\n"
            "                         at most %u; 0 wakes it at every event, as the kernel does)\n"
            "      --reload=PID       make the iopd with that process id reload its configuration\n"
            "                         and wait until it did (exit 0) or refused it (exit 1)\n"
            "  -v, --verbose          more log output (repeat for debug)\n"
            "  -q, --quiet            only warnings and errors\n"
            "  -h, --help             show this help and exit\n"
            "  -V, --version          show the version and exit\n"
            "\n"
            "Signals: SIGHUP reloads the configuration, SIGTERM/SIGINT stop.\n"
            "Needs the kernel's CUSE module: modprobe cuse.  See iopd(8).\n",
            IOPD_CONFIG_FILE, IOPD_STATE_DIR, IOPD_USBMON_WAKE_MS_DEFAULT, IOPD_USBMON_WAKE_MS_MAX);
}

static void stderr_sink(void *ctx, int level, const char *msg) {
    (void)ctx;
    /* "<N>" prefixes: journald reads them as the priority. */
    fprintf(stderr, "<%d>iopd: %s\n", level, msg);
}

static void syslog_sink(void *ctx, int level, const char *msg) {
    (void)ctx;
    syslog(level, "%s", msg);
}

static int check_config(const char *path) {
    struct iop_config *cfg = NULL;
    char *err = NULL;
    int r;

    if (path)
        r = iop_config_load_file(path, &cfg, &err);
    else if (access(IOPD_CONFIG_FILE, F_OK) == 0)
        r = iop_config_load_file(path = IOPD_CONFIG_FILE, &cfg, &err);
    else
        r = iop_config_parse(iop_config_default_json, strlen(iop_config_default_json),
                             path = "<built-in>", &cfg, &err);
    if (r < 0) {
        fprintf(stderr, "iopd: %s\n", err ? err : strerror(-r));
        free(err);
        return 1;
    }
    /* Building the IOPs catches what only the device model knows (a field a group does
     * not have, a value that does not fit); those errors are logged with their path. */
    struct iop_system *sys = NULL;
    r = iop_system_new_from_config(cfg, &sys);
    iop_system_free(sys);
    if (r < 0) {
        fprintf(stderr, "iopd: %s: the configuration does not build: %s\n", path, strerror(-r));
        iop_config_free(cfg);
        return 1;
    }
    unsigned devices = 0;
    for (unsigned i = 0; i < cfg->n_iops; i++)
        devices += cfg->iop[i].n_devices + 1;
    printf("%s: OK (%u IOP%s, %u devices)\n", path, cfg->n_iops, cfg->n_iops == 1 ? "" : "s", devices);
    iop_config_free(cfg);
    return 0;
}

/* --reload PID: what the unit's ExecReload= runs (no procps `kill` needed, and
 * synchronous: systemctl reload returns when the configuration is in use, and fails
 * when it was refused). */
static int reload_other(const char *arg) {
    char *end;
    errno = 0;
    long pid = strtol(arg, &end, 10);
    if (errno || end == arg || *end || pid <= 1 || pid > INT32_MAX) {
        fprintf(stderr, "iopd: --reload: '%s' is not a process id\n", arg);
        return 2;
    }
    int r = iopd_reload_request((pid_t)pid, IOPD_RELOAD_TIMEOUT_MS);
    if (r == 0)
        return 0;
    if (r == -ECANCELED)
        fprintf(stderr, "iopd: process %ld refused the new configuration and keeps the old one (its log says why)\n", pid);
    else if (r == -ETIMEDOUT)
        fprintf(stderr, "iopd: process %ld did not answer the reload request within %d s\n", pid,
                IOPD_RELOAD_TIMEOUT_MS / 1000);
    else
        fprintf(stderr, "iopd: cannot reload process %ld: %s\n", pid, strerror(-r));
    return 1;
}

/* Detach: the parent waits until the child reports its nodes ready (or dies), so the
 * command's exit status says whether the daemon is really up. */
static int detach(int *ready_fd) {
    int p[2];
    if (pipe(p) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid > 0) {
        char c;
        close(p[1]);
        ssize_t n = read(p[0], &c, 1);
        if (n == 1)
            _exit(0);
        int st;
        waitpid(pid, &st, 0);
        _exit(WIFEXITED(st) && WEXITSTATUS(st) ? WEXITSTATUS(st) : 1);
    }
    close(p[0]);
    setsid();
    *ready_fd = p[1];
    return 0;
}

/* Resident memory proportional to what iopd holds (BENCHMARKS.md, "memory"):
 * - No transparent huge pages: with THP "always" (Debian's default) one touched page
 *   in a 2 MiB-aligned stretch of an anonymous mapping (the 1 MiB CUSE receive buffers
 *   merge with neighbouring mappings) costs 2 MiB of RSS; iopd's memory is small and
 *   sparse, and never benefits from them.
 * - A fixed mmap threshold: buffers of 128 KiB and more (PASSTHRU data, big replies)
 *   are mapped and unmapped on free.  glibc would otherwise raise the threshold after
 *   the first such free (up to 32 MiB) and keep those sizes on the heap, whose free
 *   top is then only trimmed past twice that size.
 * The heap's free pages are given back after bursts of requests (daemon.c, idle trim). */
static void memory_policy(void) {
    if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0)
        iop_debug("prctl(PR_SET_THP_DISABLE): %m");
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024);
}

int main(int argc, char **argv) {
    enum { OPT_CHECK = 0x100, OPT_DUMP, OPT_CUSE, OPT_CTL_NAME, OPT_NO_USBMON, OPT_RELOAD, OPT_WAKE };
    static const struct option longopts[] = {
        { "foreground", no_argument, NULL, 'f' },
        { "config", required_argument, NULL, 'c' },
        { "check-config", no_argument, NULL, OPT_CHECK },
        { "dump-default-config", no_argument, NULL, OPT_DUMP },
        { "state-dir", required_argument, NULL, 's' },
        { "cuse", required_argument, NULL, OPT_CUSE },
        { "ctl-name", required_argument, NULL, OPT_CTL_NAME },
        { "no-usbmon", no_argument, NULL, OPT_NO_USBMON },
        { "usbmon-wake-delay", required_argument, NULL, OPT_WAKE },
        { "reload", required_argument, NULL, OPT_RELOAD },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        {}
    };
    struct iopd_options opt = {
        .state_dir = IOPD_STATE_DIR,
        .cuse_path = "/dev/cuse",
        .ready_fd = -1,
        .usbmon_wake_ms = IOPD_USBMON_WAKE_MS_DEFAULT,
    };
    bool foreground = false, check = false;
    int level = LOG_NOTICE, c;

    while ((c = getopt_long(argc, argv, "fc:s:vqhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': foreground = true; break;
        case 'c': opt.config_path = optarg; break;
        case 's': opt.state_dir = optarg; break;
        case OPT_CHECK: check = true; break;
        case OPT_DUMP: fputs(iop_config_default_json, stdout); return 0;
        case OPT_CUSE: opt.cuse_path = optarg; break;
        case OPT_CTL_NAME:
            if (iop_config_node_name_error(optarg)) {
                fprintf(stderr, "iopd: --ctl-name '%s': %s\n", optarg, iop_config_node_name_error(optarg));
                return 2;
            }
            opt.ctl_name = optarg;
            break;
        case OPT_NO_USBMON: opt.no_usbmon = true; break;
        case OPT_WAKE: {
            char *end;
            errno = 0;
            unsigned long ms = strtoul(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-' || ms > IOPD_USBMON_WAKE_MS_MAX) {
                fprintf(stderr, "iopd: --usbmon-wake-delay '%s': not a number of milliseconds from 0 to %u\n",
                        optarg, IOPD_USBMON_WAKE_MS_MAX);
                return 2;
            }
            opt.usbmon_wake_ms = (unsigned)ms;
            break;
        }
        case OPT_RELOAD: return reload_other(optarg);
        case 'v': level = level < LOG_INFO ? LOG_INFO : LOG_DEBUG; break;
        case 'q': level = LOG_WARNING; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("iopd %s\n", IOPD_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "iopd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (check) {
        iop_log_set_sink(stderr_sink, NULL);
        return check_config(opt.config_path);
    }

    iop_log_set_max_level(level);
    iop_log_set_sink(stderr_sink, NULL);
    /* Clients can make iopd log; they must not be able to flood the journal. */
    iop_log_set_ratelimit(IOP_LOG_RATELIMIT_BURST, IOP_LOG_RATELIMIT_INTERVAL_USEC);
    if (!foreground) {
        int r = detach(&opt.ready_fd);
        if (r < 0) {
            fprintf(stderr, "iopd: cannot detach: %s\n", strerror(-r));
            return 1;
        }
    }

    memory_policy();
    struct iopd *d;
    int r = iopd_new(&opt, &d);
    if (r < 0) {
        iop_err("startup failed: %s", strerror(-r));
        return 1;
    }
    if (!foreground) {
        /* Errors up to here went to the terminal; from now on to syslog. */
        openlog("iopd", LOG_PID, LOG_DAEMON);
        iop_log_set_sink(syslog_sink, NULL);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
            if (null > STDERR_FILENO)
                close(null);
        }
    }
    r = iopd_run(d);
    iopd_free(d);
    return r < 0 ? 1 : 0;
}
