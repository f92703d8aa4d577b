/* iopctl sw download|upload|delete: the IOP's software store through I2OSWDL,
 * I2OSWUL and I2OSWDEL, in the 8 KiB fragments the ioctls carry. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/i2o-dev.h>

#include "tools/iopctl/iopctl.h"

#define FRAG 8192u

static const struct {
    const char *name;
    uint8_t type;
} sw_types[] = {
    { "irtos", I2O_SOFTWARE_MODULE_IRTOS },
    { "private", I2O_SOFTWARE_MODULE_IOP_PRIVATE },
    { "config", I2O_SOFTWARE_MODULE_IOP_CONFIG },
};

static int parse_type(const char *s, uint8_t *out) {
    for (size_t i = 0; i < sizeof(sw_types) / sizeof(sw_types[0]); i++)
        if (strcmp(s, sw_types[i].name) == 0) {
            *out = sw_types[i].type;
            return 0;
        }
    uint32_t v;
    if (iopctl_parse_u32(s, 0xFF, &v) < 0)
        return -EINVAL;
    *out = (uint8_t)v;
    return 0;
}

/* An ioctl result: -1 with errno, or the IOP's positive ReqStatus (the kernel returned
 * it as the ioctl's value). */
static int report(const char *what, int r, unsigned frag) {
    char msg[96];
    if (r < 0) {
        snprintf(msg, sizeof(msg), "%s (fragment %u)", what, frag);
        return iopctl_fail(msg, errno);
    }
    fprintf(stderr, "iopctl: %s (fragment %u): the IOP refused it with ReqStatus 0x%02x\n", what, frag, r);
    return IOPCTL_FAILED;
}

static const char usage_text[] =
    "sw download IOP TYPE ID FILE [--flags N]\n"
    "       iopctl sw upload IOP TYPE ID FILE --size BYTES [--flags N]\n"
    "       iopctl sw delete IOP TYPE ID [--size BYTES] [--flags N]\n"
    "  TYPE: irtos, private, config or a number";

static int sw_download(struct iopctl *ctl, uint32_t iop, uint8_t type, uint32_t id, const char *file,
                       uint8_t flags) {
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return iopctl_fail(file, e);
    }
    if (st.st_size <= 0 || st.st_size > UINT32_MAX) {
        close(fd);
        fprintf(stderr, "iopctl: %s: the image must be 1 byte to 4 GiB long\n", file);
        return IOPCTL_FAILED;
    }
    /* Rounded up in 64 bits: swlen + FRAG - 1 wraps above 4 GiB - 8 KiB, 0 fragments. */
    unsigned int swlen = (unsigned int)st.st_size, maxfrag = (unsigned int)(((uint64_t)swlen + FRAG - 1) / FRAG),
                 curfrag;
    uint8_t buf[FRAG];
    struct i2o_sw_xfer x = { .iop = iop, .flags = flags, .sw_type = type, .sw_id = id, .buf = buf,
                             .swlen = &swlen, .maxfrag = &maxfrag, .curfrag = &curfrag };
    for (curfrag = 1; curfrag <= maxfrag; curfrag++) {
        size_t want = curfrag < maxfrag ? FRAG : swlen - (maxfrag - 1) * FRAG, got = 0;
        while (got < want) {
            ssize_t n = read(fd, buf + got, want - got);
            if (n <= 0) {
                int e = n < 0 ? errno : EIO;
                close(fd);
                return iopctl_fail(file, e);
            }
            got += (size_t)n;
        }
        int r = ioctl(ctl->fd, I2OSWDL, &x);
        if (r != 0) {
            close(fd);
            return report("I2OSWDL", r, curfrag);
        }
    }
    close(fd);
    if (ctl->json)
        printf("{\"iop\":%u,\"sw_type\":%u,\"sw_id\":%u,\"size\":%u,\"fragments\":%u}\n", iop, type, id,
               swlen, maxfrag);
    else
        printf("IOP %u: module type 0x%02x id 0x%08x downloaded: %u bytes in %u fragments (suspect "
               "until 'iopctl validate %u')\n", iop, type, id, swlen, maxfrag, iop);
    return IOPCTL_OK;
}

static int sw_upload(struct iopctl *ctl, uint32_t iop, uint8_t type, uint32_t id, const char *file,
                     uint32_t size, uint8_t flags) {
    /* Rounded up in 64 bits: size + FRAG - 1 wraps above 4 GiB - 8 KiB, 0 fragments. */
    unsigned int swlen = size, maxfrag = (unsigned int)(((uint64_t)size + FRAG - 1) / FRAG), curfrag;
    uint8_t buf[FRAG];
    /* flags: the SwUpload message's UploadFlags, which the kernel's I2OSWUL passed on. */
    struct i2o_sw_xfer x = { .iop = iop, .flags = flags, .sw_type = type, .sw_id = id, .buf = buf,
                             .swlen = &swlen, .maxfrag = &maxfrag, .curfrag = &curfrag };
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return iopctl_fail(file, errno);
    for (curfrag = 1; curfrag <= maxfrag; curfrag++) {
        size_t n = curfrag < maxfrag ? FRAG : size - (maxfrag - 1) * FRAG;
        int r = ioctl(ctl->fd, I2OSWUL, &x);
        if (r != 0) {
            close(fd);
            return report("I2OSWUL", r, curfrag);
        }
        if (write(fd, buf, n) != (ssize_t)n) {
            int e = errno;
            close(fd);
            return iopctl_fail(file, e);
        }
    }
    if (close(fd) < 0)
        return iopctl_fail(file, errno);
    if (ctl->json)
        printf("{\"iop\":%u,\"sw_type\":%u,\"sw_id\":%u,\"size\":%u}\n", iop, type, id, size);
    else
        printf("IOP %u: module type 0x%02x id 0x%08x uploaded to %s: %u bytes\n", iop, type, id, file, size);
    return IOPCTL_OK;
}

static int sw_delete(struct iopctl *ctl, uint32_t iop, uint8_t type, uint32_t id, uint32_t size, uint8_t flags) {
    unsigned int swlen = size;
    /* flags: the SwRemove message's RemoveFlags, which the kernel's I2OSWDEL passed on. */
    struct i2o_sw_xfer x = { .iop = iop, .flags = flags, .sw_type = type, .sw_id = id, .swlen = &swlen };
    if (ioctl(ctl->fd, I2OSWDEL, &x) < 0)
        return iopctl_fail("I2OSWDEL", errno);
    if (ctl->json)
        printf("{\"iop\":%u,\"sw_type\":%u,\"sw_id\":%u,\"size\":%u,\"deleted\":true}\n", iop, type, id, swlen);
    else
        printf("IOP %u: module type 0x%02x id 0x%08x (%u bytes) deleted\n", iop, type, id, swlen);
    return IOPCTL_OK;
}

int iopctl_cmd_sw(struct iopctl *ctl, int argc, char **argv) {
    static const struct option opts[] = {
        { "size", required_argument, NULL, 's' },
        { "flags", required_argument, NULL, 'F' },
        {}
    };
    uint32_t size = 0, flags = 0, iop, id;
    bool have_size = false;
    uint8_t type;
    int c;
    optind = 0; /* 0: glibc re-initialises its scanner (argv permutation state) */
    while ((c = getopt_long(argc, argv, "s:F:", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (iopctl_parse_u32(optarg, UINT32_MAX, &size) < 0)
                return iopctl_usage("%s", usage_text);
            have_size = true;
            break;
        case 'F':
            if (iopctl_parse_u32(optarg, 0xFF, &flags) < 0)
                return iopctl_usage("%s", usage_text);
            break;
        default: return iopctl_usage("%s", usage_text);
        }
    }
    char **a = argv + optind;
    int n = argc - optind;
    if (n < 4 || iopctl_parse_u32(a[1], UINT32_MAX, &iop) < 0 || parse_type(a[2], &type) < 0 ||
        iopctl_parse_u32(a[3], UINT32_MAX, &id) < 0)
        return iopctl_usage("%s", usage_text);
    if (strcmp(a[0], "download") == 0 && n == 5)
        return sw_download(ctl, iop, type, id, a[4], (uint8_t)flags);
    if (strcmp(a[0], "upload") == 0 && n == 5 && have_size && size > 0)
        return sw_upload(ctl, iop, type, id, a[4], size, (uint8_t)flags);
    if (strcmp(a[0], "delete") == 0 && n == 4)
        return sw_delete(ctl, iop, type, id, size, (uint8_t)flags);
    return iopctl_usage("%s", usage_text);
}
