/* iopctl: a command-line client for /dev/i2o/ctl.  It talks to the device only
 * through the public ABI of <linux/i2o-dev.h>, so it works the same against the
 * kernel's old driver and against iopd. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/i2o-dev.h>

#include "iopd-config.h"

struct iopctl {
    const char *device;
    bool json;
    int fd;
};

static int open_device(struct iopctl *ctl) {
    ctl->fd = open(ctl->device, O_RDWR | O_CLOEXEC);
    if (ctl->fd < 0) {
        int e = errno;
        fprintf(stderr, "iopctl: %s: %s%s\n", ctl->device, strerror(e),
                e == ENOENT ? " (is iopd running?)" : "");
        return -e;
    }
    return 0;
}

/* Exit codes: 0 ok, 1 the ioctl failed, 2 usage, 3 the device could not be opened. */
static int fail_ioctl(const char *what, int e) {
    fprintf(stderr, "iopctl: %s: %s\n", what, strerror(e));
    return 1;
}

static int cmd_list(struct iopctl *ctl, int argc, char **argv) {
    uint8_t tab[MAX_I2O_CONTROLLERS];
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "iopctl list: no arguments expected\n");
        return 2;
    }
    if (ioctl(ctl->fd, I2OGETIOPS, tab) < 0)
        return fail_ioctl("I2OGETIOPS", errno);
    unsigned n = 0;
    if (ctl->json) {
        printf("{\"iops\":[");
        for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++)
            if (tab[i])
                printf("%s%u", n++ ? "," : "", i);
        printf("]}\n");
        return 0;
    }
    for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++)
        if (tab[i]) {
            if (n++ == 0)
                printf("IOP\n");
            printf("%u\n", i);
        }
    if (n == 0)
        printf("no IOPs\n");
    return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 0);
    if (errno || end == s || *end || v > max || s[0] == '-')
        return -EINVAL;
    *out = v;
    return 0;
}

static int cmd_validate(struct iopctl *ctl, int argc, char **argv) {
    unsigned long iop;
    if (argc != 2 || parse_uint(argv[1], UINT32_MAX, &iop) < 0) {
        fprintf(stderr, "usage: iopctl validate IOP\n");
        return 2;
    }
    /* The IOP number is passed by value, as the kernel's driver read it. */
    if (ioctl(ctl->fd, I2OVALIDATE, iop) < 0)
        return fail_ioctl("I2OVALIDATE", errno);
    if (ctl->json)
        printf("{\"iop\":%lu,\"validated\":true}\n", iop);
    else
        printf("IOP %lu: configuration validated\n", iop);
    return 0;
}

struct command {
    const char *name;
    const char *alias;
    const char *args;
    const char *help;
    int (*fn)(struct iopctl *ctl, int argc, char **argv);
};

static const struct command commands[] = {
    { "list", "iops", "", "list the IOPs present (I2OGETIOPS)", cmd_list },
    { "validate", NULL, "IOP", "accept the IOP's configuration (I2OVALIDATE)", cmd_validate },
};

static void usage(FILE *out) {
    fprintf(out,
            "Usage: iopctl [OPTION]... COMMAND [ARG]...\n"
            "Talk to the I2O configuration device (/dev/i2o/ctl).\n"
            "\n"
            "Options:\n"
            "  -d, --device=PATH   device node (default /dev/i2o/ctl)\n"
            "  -j, --json          machine-readable output\n"
            "  -h, --help          show this help\n"
            "  -V, --version       show the version\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        char head[64];
        snprintf(head, sizeof(head), "%s%s%s %s", commands[i].name, commands[i].alias ? "|" : "",
                 commands[i].alias ? commands[i].alias : "", commands[i].args);
        fprintf(out, "  %-22s %s\n", head, commands[i].help);
    }
    fprintf(out, "\nExit status: 0 success, 1 the request failed, 2 usage error, "
                 "3 the device could not be opened.\nSee iopctl(1).\n");
}

int main(int argc, char **argv) {
    static const struct option longopts[] = {
        { "device", required_argument, NULL, 'd' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        {}
    };
    struct iopctl ctl = { .device = "/dev/i2o/ctl", .fd = -1 };
    int c;

    while ((c = getopt_long(argc, argv, "+d:jhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': ctl.device = optarg; break;
        case 'j': ctl.json = true; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("iopctl %s\n", IOPD_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[optind];
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(name, commands[i].name) != 0 && !(commands[i].alias && strcmp(name, commands[i].alias) == 0))
            continue;
        if (open_device(&ctl) < 0)
            return 3;
        int r = commands[i].fn(&ctl, argc - optind, argv + optind);
        close(ctl.fd);
        return r;
    }
    fprintf(stderr, "iopctl: unknown command '%s' (see iopctl --help)\n", name);
    return 2;
}
