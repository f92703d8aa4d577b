/* iopctl events: register for an IOP device's events and print them as they come,
 * waiting with poll() and reading whole i2o_evt_info records with read(). */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/i2o-dev.h>

#include "tools/iopctl/iopctl.h"

static const struct {
    uint32_t bit;
    const char *name;
} event_names[] = {
    { I2O_EVT_IND_STATE_CHANGE, "state-change" },
    { I2O_EVT_IND_GENERAL_WARNING, "general-warning" },
    { I2O_EVT_IND_CONFIGURATION_FLAG, "configuration-flag" },
    { I2O_EVT_IND_LOCK_RELEASE, "lock-release" },
    { I2O_EVT_IND_CAPABILITY_CHANGE, "capability-change" },
    { I2O_EVT_IND_DEVICE_RESET, "device-reset" },
    { I2O_EVT_IND_EVT_MASK_MODIFIED, "event-mask-modified" },
    { I2O_EVT_IND_FIELD_MODIFIED, "field-modified" },
    { I2O_EVT_IND_VENDOR_EVT, "vendor" },
    { I2O_EVT_IND_DEVICE_STATE, "device-state" },
};

/* Class-specific low bits are named for the executive only (TID 0). */
static const struct {
    uint32_t bit;
    const char *name;
} exec_names[] = {
    { I2O_EVT_IND_EXEC_RESOURCE_LIMITS, "resource-limits" },
    { I2O_EVT_IND_EXEC_CONNECTION_FAIL, "connection-fail" },
    { I2O_EVT_IND_EXEC_ADAPTER_FAULT, "adapter-fault" },
    { I2O_EVT_IND_EXEC_POWER_FAIL, "power-fail" },
    { I2O_EVT_IND_EXEC_RESET_PENDING, "reset-pending" },
    { I2O_EVT_IND_EXEC_RESET_IMMINENT, "reset-imminent" },
    { I2O_EVT_IND_EXEC_HW_FAIL, "hw-fail" },
    { I2O_EVT_IND_EXEC_XCT_CHANGE, "xct-change" },
    { I2O_EVT_IND_EXEC_NEW_LCT_ENTRY, "new-lct-entry" },
    { I2O_EVT_IND_EXEC_MODIFIED_LCT, "modified-lct" },
    { I2O_EVT_IND_EXEC_DDM_AVAILABILITY, "ddm-availability" },
};

static void print_names(uint32_t mask, unsigned tid, bool json) {
    bool first = true;
    for (size_t i = 0; i < sizeof(event_names) / sizeof(event_names[0]); i++)
        if (mask & event_names[i].bit) {
            printf(json ? "%s\"%s\"" : "%s%s", first ? "" : json ? "," : "|", event_names[i].name);
            first = false;
        }
    for (size_t i = 0; tid == 0 && i < sizeof(exec_names) / sizeof(exec_names[0]); i++)
        if (mask & exec_names[i].bit) {
            printf(json ? "%s\"%s\"" : "%s%s", first ? "" : json ? "," : "|", exec_names[i].name);
            first = false;
        }
}

static void print_event(const struct i2o_evt_info *e, bool json) {
    unsigned n = e->data_size > I2O_EVT_DATA_SIZE ? I2O_EVT_DATA_SIZE : e->data_size;
    if (json) {
        printf("{\"iop\":%u,\"tid\":%u,\"indicator\":%u,\"names\":[", e->id.iop, e->id.tid, e->id.evt_mask);
        print_names(e->id.evt_mask, e->id.tid, true);
        printf("],\"data\":\"");
        for (unsigned i = 0; i < n; i++)
            printf("%02x", e->evt_data[i]);
        printf("\"}\n");
    } else {
        printf("iop %u tid 0x%03x event 0x%08x (", e->id.iop, e->id.tid, e->id.evt_mask);
        print_names(e->id.evt_mask, e->id.tid, false);
        printf(")");
        if (n) {
            printf(" data");
            for (unsigned i = 0; i < n; i++)
                printf("%s%02x", i % 4 ? "" : " ", e->evt_data[i]);
        }
        printf("\n");
    }
    fflush(stdout);
}

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int iopctl_cmd_events(struct iopctl *ctl, int argc, char **argv) {
    static const struct option opts[] = {
        { "follow", no_argument, NULL, 'f' },
        { "count", required_argument, NULL, 'n' },
        { "timeout", required_argument, NULL, 't' },
        {}
    };
    bool follow = false;
    uint32_t count = 1, timeout_s = 0, iop, tid, mask = 0xffffffffu;
    int c;
    optind = 0; /* 0: glibc re-initialises its scanner (argv permutation state) */
    while ((c = getopt_long(argc, argv, "+fn:t:", opts, NULL)) != -1) {
        switch (c) {
        case 'f': follow = true; break;
        case 'n':
            if (iopctl_parse_u32(optarg, UINT32_MAX, &count) < 0 || count == 0)
                return iopctl_usage("events: -n wants a positive number");
            break;
        case 't':
            if (iopctl_parse_u32(optarg, 86400, &timeout_s) < 0)
                return iopctl_usage("events: -t wants seconds (0..86400)");
            break;
        default: return iopctl_usage("events [-f] [-n N] [-t SEC] IOP TID [MASK]");
        }
    }
    int rest = argc - optind;
    if (rest < 2 || rest > 3 || iopctl_parse_u32(argv[optind], UINT32_MAX, &iop) < 0 ||
        iopctl_parse_u32(argv[optind + 1], 0xFFF, &tid) < 0 ||
        (rest == 3 && iopctl_parse_u32(argv[optind + 2], UINT32_MAX, &mask) < 0))
        return iopctl_usage("events [-f] [-n N] [-t SEC] IOP TID [MASK]");

    struct i2o_evt_id id = { .iop = iop, .tid = tid, .evt_mask = mask };
    if (ioctl(ctl->fd, I2OEVTREG, &id) < 0)
        return iopctl_fail("I2OEVTREG", errno);
    if (!ctl->json)
        fprintf(stderr, "iopctl: registered for events 0x%08x of IOP %u TID 0x%03x%s\n", mask, iop, tid,
                follow ? "; waiting (Ctrl-C stops)" : "");

    long deadline = timeout_s ? now_ms() + timeout_s * 1000L : -1;
    uint32_t seen = 0;
    while (follow || seen < count) {
        struct pollfd p = { .fd = ctl->fd, .events = POLLIN };
        int wait = deadline < 0 ? -1 : (int)(deadline - now_ms());
        if (deadline >= 0 && wait <= 0)
            break;
        int n = poll(&p, 1, wait);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return iopctl_fail("poll", errno);
        }
        if (n == 0)
            break;
        struct i2o_evt_info evs[I2O_EVT_Q_LEN];
        ssize_t got = read(ctl->fd, evs, sizeof(evs));
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return iopctl_fail("read", errno);
        }
        if (got == 0) {
            /* End of file: the device hung up (poll keeps saying readable), so waiting
             * again would spin.  Nothing more will come: give up as on a timeout. */
            fprintf(stderr, "iopctl: the device hung up after %u event%s\n", seen, seen == 1 ? "" : "s");
            return IOPCTL_FAILED;
        }
        for (size_t i = 0; i < (size_t)got / sizeof(evs[0]) && (follow || seen < count); i++, seen++)
            print_event(&evs[i], ctl->json);
    }
    /* Report a queue overflow, if any, before leaving. */
    struct i2o_evt_get g;
    if (ioctl(ctl->fd, I2OEVTGET, &g) == 0 && g.lost && !ctl->json)
        fprintf(stderr, "iopctl: %d event%s lost (queue overflow)\n", g.lost, g.lost == 1 ? "" : "s");
    /* With -f only -t ends the loop: it gave up as without -f, exit 1 (iopctl(1)). */
    if (follow || seen < count) {
        fprintf(stderr, "iopctl: timed out after %u event%s\n", seen, seen == 1 ? "" : "s");
        return IOPCTL_FAILED;
    }
    return IOPCTL_OK;
}
