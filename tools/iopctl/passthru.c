/* iopctl passthru: one raw I2O message through I2OPASSTHRU, with optional data to the
 * IOP (a file) and from it (a length), and the reply frame printed.  Data buffers are
 * mapped below 4 GiB (MAP_32BIT) because the message's SG elements carry 32-bit
 * addresses, as the kernel's passthrough did. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/i2o-dev.h>

#include "tools/iopctl/iopctl.h"

#define MAX_WORDS 128u   /* the inbound frame size of an iopd IOP */
#define REPLY_WORDS 32u
#define SGL_SIMPLE 0x10000000u
#define SGL_TO_IOP 0x04000000u
#define SGL_END_OF_BUFFER 0x40000000u
#define SGL_LAST 0x80000000u

void *iopctl_map32(size_t n) {
    void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int iopctl_read_file32(const char *path, uint8_t **buf, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    *buf = NULL;
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > (off_t)IOPCTL_SG_COUNT_MAX) {
        int e = fd < 0 ? errno : EFBIG;
        if (fd >= 0)
            close(fd);
        return iopctl_fail(path, e);
    }
    *len = (size_t)st.st_size;
    *buf = iopctl_map32(*len);
    errno = 0;
    if (!*buf || (*len && read(fd, *buf, *len) != (ssize_t)*len)) {
        int e = errno ? errno : EIO;
        close(fd);
        return iopctl_fail(path, e);
    }
    close(fd);
    return IOPCTL_OK;
}

int iopctl_write_file(const char *path, const void *buf, size_t len) {
    errno = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, buf, len) != (ssize_t)len) {
        /* A short write (a full disk, RLIMIT_FSIZE) sets no errno: EIO, not "Success". */
        int e = errno ? errno : EIO;
        if (fd >= 0)
            close(fd);
        return iopctl_fail(path, e);
    }
    close(fd);
    return IOPCTL_OK;
}

static const char usage_text[] =
    "passthru IOP TID FUNCTION [WORD...] [--to-iop FILE] [--from-iop LEN] [--out FILE]";

int iopctl_cmd_passthru(struct iopctl *ctl, int argc, char **argv) {
    static const struct option opts[] = {
        { "to-iop", required_argument, NULL, 'i' },
        { "from-iop", required_argument, NULL, 'f' },
        { "out", required_argument, NULL, 'o' },
        {}
    };
    const char *in_file = NULL, *out_file = NULL;
    uint32_t out_len = 0, iop, tid, fn;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "i:f:o:", opts, NULL)) != -1) {
        switch (c) {
        case 'i': in_file = optarg; break;
        case 'o': out_file = optarg; break;
        case 'f':
            if (iopctl_parse_u32(optarg, IOPCTL_SG_COUNT_MAX, &out_len) < 0)
                return iopctl_usage("%s (--from-iop: at most %u bytes, what one SG element holds)", usage_text,
                                    IOPCTL_SG_COUNT_MAX);
            break;
        default: return iopctl_usage("%s", usage_text);
        }
    }
    int rest = argc - optind;
    char **a = argv + optind;
    if (rest < 3 || iopctl_parse_u32(a[0], UINT32_MAX, &iop) < 0 || iopctl_parse_u32(a[1], 0xFFF, &tid) < 0 ||
        iopctl_parse_u32(a[2], 0xFF, &fn) < 0)
        return iopctl_usage("%s", usage_text);
    unsigned n_body = (unsigned)rest - 3, n_sg = (in_file != NULL) + (out_len != 0);
    unsigned words = 4 + n_body + 2 * n_sg;
    if (words > MAX_WORDS)
        return iopctl_usage("%s (at most %u words in all)", usage_text, MAX_WORDS);
    /* The SGL offset is bits 4-7 of word 0: with an SG element, 12 or more payload words
     * would spill into the message flags and point the IOP at the wrong SGL. */
    if (n_sg && 4 + n_body > 15)
        return iopctl_usage("%s (with --to-iop or --from-iop at most 11 payload words: the SGL offset has 4 bits)",
                            usage_text);

    uint32_t *msg = iopctl_map32((MAX_WORDS + REPLY_WORDS) * 4);
    uint8_t *in = NULL, *out = NULL;
    size_t in_len = 0;
    int ret = IOPCTL_FAILED;
    if (!msg)
        return iopctl_fail("mmap", errno);
    if (in_file && (ret = iopctl_read_file32(in_file, &in, &in_len)) != IOPCTL_OK)
        goto done;
    ret = IOPCTL_FAILED;
    if (out_len && !(out = iopctl_map32(out_len))) {
        ret = iopctl_fail("mmap", errno);
        goto done;
    }
    unsigned w = 0, sgl = n_sg ? 4 + n_body : 0;
    msg[w++] = words << 16 | sgl << 4 | 0x01; /* I2O 1.5, SGL offset */
    msg[w++] = fn << 24 | 1u << 12 | tid;     /* from the host (TID 1) */
    msg[w++] = 0x69706f70;                    /* initiator context: comes back in the reply */
    msg[w++] = 0;
    for (unsigned i = 0; i < n_body; i++)
        if (iopctl_parse_u32(a[3 + i], UINT32_MAX, &msg[w++]) < 0) {
            ret = iopctl_usage("%s", usage_text);
            goto done;
        }
    if (in) {
        msg[w++] = SGL_SIMPLE | SGL_TO_IOP | SGL_END_OF_BUFFER | (out ? 0 : SGL_LAST) | (uint32_t)in_len;
        msg[w++] = (uint32_t)(uintptr_t)in;
    }
    if (out) {
        msg[w++] = SGL_SIMPLE | SGL_END_OF_BUFFER | SGL_LAST | out_len;
        msg[w++] = (uint32_t)(uintptr_t)out;
    }
    uint32_t *reply = msg + words;
    memset(reply, 0, REPLY_WORDS * 4);
    reply[0] = REPLY_WORDS << 16;
    struct i2o_cmd_passthru pt = { .iop = iop, .msg = msg };
    int r = ioctl(ctl->fd, I2OPASSTHRU, &pt);
    if (r < 0) {
        ret = iopctl_fail("I2OPASSTHRU", errno);
        goto done;
    }
    unsigned rw = reply[0] >> 16;
    if (rw > REPLY_WORDS)
        rw = REPLY_WORDS;
    unsigned status = reply[4] >> 24, dsc = reply[4] & 0xFFFF;
    if (ctl->json) {
        printf("{\"iop\":%u,\"tid\":%u,\"function\":%u,\"result\":%d,\"req_status\":%u,\"detailed_status\":%u,\"reply\":[",
               iop, tid, fn, r, status, dsc);
        for (unsigned i = 0; i < rw; i++)
            printf("%s%u", i ? "," : "", reply[i]);
        printf("]");
        /* --from-iop without --out: the bytes go in the document (as usb's "data"), not nowhere. */
        if (out && !out_file) {
            printf(",\"data\":\"");
            for (uint32_t i = 0; r == 0 && i < out_len; i++)
                printf("%02x", out[i]);
            printf("\"");
        }
        printf("}\n");
    } else {
        printf("reply: ReqStatus 0x%02x, DetailedStatus 0x%04x, %u words:", status, dsc, rw);
        for (unsigned i = 0; i < rw; i++)
            printf("%s%08x", i % 8 ? " " : "\n  ", reply[i]);
        printf("\n");
    }
    if (out && r == 0) {
        if (out_file) {
            if ((ret = iopctl_write_file(out_file, out, out_len)) != IOPCTL_OK)
                goto done;
        } else if (!ctl->json) {
            for (uint32_t i = 0; i < out_len; i++)
                printf("%02x%s", out[i], (i + 1) % 32 ? "" : "\n");
            printf("\n");
        }
    }
    /* A positive result is the IOP's ReqStatus (the kernel returned it as the value). */
    ret = r == 0 ? IOPCTL_OK : IOPCTL_FAILED;
    if (r > 0)
        fprintf(stderr, "iopctl: the IOP answered ReqStatus 0x%02x\n", r);
done:
    munmap(msg, (MAX_WORDS + REPLY_WORDS) * 4);
    if (in)
        munmap(in, in_len ? in_len : 1);
    if (out)
        munmap(out, out_len);
    return ret;
}
