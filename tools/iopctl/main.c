/* iopctl: a command-line client for /dev/i2o/ctl.  It talks to the device only
 * through the public ABI of <linux/i2o-dev.h>, so it works the same against the
 * kernel's old driver and against iopd.  "capture" reads a binary usbmon node through
 * the kernel's usbmon ABI instead (capture.c). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/i2o-dev.h>

#include "iopd-config.h"
#include "tools/iopctl/iopctl.h"

static const struct iopctl_command commands[] = {
    { "list", "iops", "", "list the IOPs present (I2OGETIOPS)", iopctl_cmd_list },
    { "hrt", NULL, "IOP", "show the Hardware Resource Table (I2OHRTGET)", iopctl_cmd_hrt },
    { "lct", NULL, "IOP", "show the Logical Configuration Table (I2OLCTGET)", iopctl_cmd_lct },
    { "get", NULL, "IOP TID GROUP", "read a parameter group (I2OPARMGET)", iopctl_cmd_get },
    { "set", NULL, "IOP TID GROUP FIELD VALUE", "write one field (I2OPARMSET)", iopctl_cmd_set },
    { "validate", NULL, "IOP", "accept the IOP's configuration (I2OVALIDATE)", iopctl_cmd_validate },
    { "passthru", NULL, "IOP TID FUNCTION [WORD...] [--to-iop FILE] [--from-iop LEN] [--out FILE]",
      "send one raw I2O message (I2OPASSTHRU)", iopctl_cmd_passthru },
    { "scsi", NULL, "IOP TID CDB... [--in LEN] [--out FILE] [--data-out FILE] [--no-autosense]",
      "send one SCSI CDB as a DPT private SCSI_EXEC message (I2OPASSTHRU)", iopctl_cmd_scsi },
    { "usb", NULL, "control|bulk|interrupt|iso DEV ...",
      "one USB transfer on a device shown as a TID (I2OPASSTHRU)", iopctl_cmd_usb },
    { "html", NULL, "IOP TID [PAGE] [--query Q]", "a configuration dialog page (I2OHTML)", iopctl_cmd_html },
    { "sw", NULL, "download|upload|delete IOP TYPE ID ...",
      "software store (I2OSWDL/I2OSWUL/I2OSWDEL); see iopctl(1)", iopctl_cmd_sw },
    { "events", NULL, "[-f] [-n N] [-t SEC] IOP TID [MASK]",
      "register for events and print them (I2OEVTREG, poll, read/I2OEVTGET)", iopctl_cmd_events },
    { "capture", NULL, "[--bus N] [--count N] [--duration S] [--snaplen N] [--device PATH] [-w FILE|-]",
      "capture iopd's URBs from its usbmon node: a pcap file (-w) or a line per event", iopctl_cmd_capture,
      .own_device = true },
};

int iopctl_fail(const char *what, int e) {
    fprintf(stderr, "iopctl: %s: %s\n", what, strerror(e));
    return IOPCTL_FAILED;
}

int iopctl_usage(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "usage: iopctl ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    return IOPCTL_USAGE;
}

int iopctl_strtou64(const char *s, char **end, uint64_t *out) {
    *end = (char *)s;
    if (!isdigit((unsigned char)s[0]))
        return -EINVAL;
    /* Not strtoull's base 0: that read "010" as octal 8 (and "08" not at all). */
    bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    errno = 0;
    unsigned long long v = strtoull(s, end, hex ? 16 : 10);
    if (errno)
        return -ERANGE;
    *out = v;
    return 0;
}

int iopctl_parse_u32(const char *s, uint32_t max, uint32_t *out) {
    char *end;
    uint64_t v;
    if (!s || iopctl_strtou64(s, &end, &v) < 0 || *end || v > max)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

static int hex_digit(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int iopctl_parse_hex(const char *s, uint8_t *out, size_t cap) {
    size_t n = strlen(s);
    if (n % 2 || n / 2 > cap)
        return -EINVAL;
    for (size_t i = 0; i < n / 2; i++) {
        /* Two hex digits a byte, nothing else (strtoul took "-1" for 0xff and " 1"). */
        int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (int)(n / 2);
}

/* The length of the well-formed UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    size_t len = s[0] < 0xc2 ? 0 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : s[0] < 0xf5 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    /* No overlong forms, surrogates or code points above U+10FFFF. */
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) || (s[0] == 0xf0 && s[1] < 0x90) ||
        (s[0] == 0xf4 && s[1] >= 0x90))
        return 0;
    return len;
}

/* Print s, escaping what esc says for bytes that are not printable ASCII or UTF-8. */
static void print_str(FILE *out, const char *s, size_t maxlen, bool json) {
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strnlen(s, maxlen);
    for (size_t i = 0; i < n;) {
        size_t len = u[i] >= 0x80 ? utf8_seq(u + i, n - i) : 0;
        if (len) {
            fwrite(u + i, 1, len, out);
            i += len;
            continue;
        }
        unsigned char ch = u[i++];
        if (json && (ch == '"' || ch == '\\'))
            fprintf(out, "\\%c", ch);
        else if (ch >= 0x20 && ch < 0x7f)
            fputc(ch, out);
        else
            fprintf(out, json ? "\\u%04x" : "\\x%02x", ch);
    }
}

void iopctl_json_str(FILE *out, const char *s, size_t maxlen) {
    fputc('"', out);
    print_str(out, s, maxlen, true);
    fputc('"', out);
}

void iopctl_text_str(FILE *out, const char *s, size_t maxlen) { print_str(out, s, maxlen, false); }

int iopctl_field_get(struct iopctl *ctl, uint32_t iop, uint32_t tid, uint16_t group, uint16_t field, void *out,
                     size_t size) {
    /* One FIELD_GET, plus a filler block so that a failure is not flattened into EAGAIN. */
    uint16_t ops[] = { 2, 0, I2O_PARAMS_FIELD_GET, group, 1, field, 0, I2O_PARAMS_SIZE_GET, 0xF000, 0xFFFF };
    uint8_t res[512];
    unsigned int reslen = sizeof(res);
    struct i2o_cmd_psetget pg = { .iop = iop, .tid = tid, .opbuf = ops, .oplen = sizeof(ops), .resbuf = res,
                                  .reslen = &reslen };
    if (ioctl(ctl->fd, I2OPARMGET, &pg) < 0 || reslen < 12 || reslen > sizeof(res) || res[6] != 0)
        return -1;
    size_t words = (size_t)(res[4] | res[5] << 8), n = words ? (words - 1) * 4 : 0;
    if (n > reslen - 8)
        n = reslen - 8;
    if (n > size)
        n = size;
    memcpy(out, res + 8, n);
    return (int)n;
}

int iopctl_cmd_list(struct iopctl *ctl, int argc, char **argv) {
    uint8_t tab[MAX_I2O_CONTROLLERS];
    (void)argv;
    if (argc > 1)
        return iopctl_usage("list");
    if (ioctl(ctl->fd, I2OGETIOPS, tab) < 0)
        return iopctl_fail("I2OGETIOPS", errno);
    unsigned n = 0;
    if (ctl->json) {
        printf("{\"iops\":[");
        for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++)
            if (tab[i])
                printf("%s%u", n++ ? "," : "", i);
        printf("]}\n");
        return IOPCTL_OK;
    }
    for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++)
        if (tab[i]) {
            if (n++ == 0)
                printf("IOP\n");
            printf("%u\n", i);
        }
    if (n == 0)
        printf("no IOPs\n");
    return IOPCTL_OK;
}

int iopctl_cmd_validate(struct iopctl *ctl, int argc, char **argv) {
    uint32_t iop;
    if (argc != 2 || iopctl_parse_u32(argv[1], UINT32_MAX, &iop) < 0)
        return iopctl_usage("validate IOP");
    /* The IOP number is passed by value, as the kernel's driver read it. */
    if (ioctl(ctl->fd, I2OVALIDATE, (unsigned long)iop) < 0)
        return iopctl_fail("I2OVALIDATE", errno);
    if (ctl->json)
        printf("{\"iop\":%u,\"validated\":true}\n", iop);
    else
        printf("IOP %u: configuration validated\n", iop);
    return IOPCTL_OK;
}

static void usage(FILE *out) {
    fprintf(out,
            "Usage: iopctl [OPTION]... COMMAND [ARG]...\n"
            "Talk to the I2O configuration device (/dev/i2o/ctl); capture iopd's USB traffic.\n"
            "\n"
            "Options:\n"
            "  -d, --device=PATH   device node (default /dev/i2o/ctl; for capture: iopd's usbmon node)\n"
            "  -j, --json          machine-readable output (one JSON document per result)\n"
            "  -h, --help          show this help\n"
            "  -V, --version       show the version\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        char head[160];
        snprintf(head, sizeof(head), "%s%s%s %s", commands[i].name, commands[i].alias ? "|" : "",
                 commands[i].alias ? commands[i].alias : "", commands[i].args);
        /* A long synopsis gets its own line, the help goes below it. */
        if (strlen(head) > 34)
            fprintf(out, "  %s\n  %-34s %s\n", head, "", commands[i].help);
        else
            fprintf(out, "  %-34s %s\n", head, commands[i].help);
    }
    fprintf(out, "\nNumbers may be decimal or 0x-prefixed hex.\n"
                 "Exit status: 0 success, 1 the request failed, 2 usage error, "
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
        case 'd': ctl.device = optarg; ctl.device_set = true; break;
        case 'j': ctl.json = true; break;
        case 'h': usage(stdout); return IOPCTL_OK;
        case 'V': printf("iopctl %s\n", IOPD_VERSION); return IOPCTL_OK;
        default: usage(stderr); return IOPCTL_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return IOPCTL_USAGE;
    }
    const char *name = argv[optind];
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(name, commands[i].name) != 0 && !(commands[i].alias && strcmp(name, commands[i].alias) == 0))
            continue;
        if (commands[i].own_device)
            return commands[i].fn(&ctl, argc - optind, argv + optind);
        ctl.fd = open(ctl.device, O_RDWR | O_CLOEXEC);
        if (ctl.fd < 0) {
            int e = errno;
            fprintf(stderr, "iopctl: %s: %s%s\n", ctl.device, strerror(e),
                    e == ENOENT ? " (is iopd running?)" : "");
            return IOPCTL_NODEV;
        }
        int r = commands[i].fn(&ctl, argc - optind, argv + optind);
        close(ctl.fd);
        return r;
    }
    fprintf(stderr, "iopctl: unknown command '%s' (see iopctl --help)\n", name);
    return IOPCTL_USAGE;
}
