/* cuse-floor: the floor for iopd's ioctl cost.  A CUSE device built from the
 * project's own pieces (cuse/cuse-dev.c on lib/util's loop, lib/ctl's user-memory
 * rounds and ABI decoders) that answers every I2O ioctl in the SAME CUSE rounds, with
 * the SAME ranges and the same number of bytes as iopd, and does no work: no IOP, no
 * tables, no parameters, no store, no DMA.  Outputs are zeros of the right length.
 * What is left is what any CUSE daemon pays for the round trips: iopd's cost for an
 * ioctl divided by this one's is its overhead.
 *
 *   cuse-floor [--cuse PATH] [--name DEVNAME] [--sizes KEY=N,...]
 *
 * DEVNAME defaults to "i2o/floor" (/dev/i2o/floor).  The lengths iopd writes depend
 * on its configuration; --sizes gives them (hrt, lct, parmget, parmset, html: what
 * iop-load --probe prints for the real node).  Ranges iopd names at a fixed size (the
 * 64 KiB result buffer of PARMGET/PARMSET and the HTML page, the 8 KiB fragment of
 * SWUL) are named here at the same size.  On SIGTERM/SIGINT it prints, per command,
 * the calls and the CUSE rounds they took, and exits. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/i2o-dev.h>

#include "cuse/cuse-dev.h"
#include "cuse/fuse-compat.h"
#include "lib/ctl/abi.h"
#include "lib/umem/umem-rounds.h"
#include "lib/util/log.h"
#include "lib/util/loop.h"

#define RESULT_MAX 65536u /* IOP_PARAMS_RESULT_MAX, IOP_HTML_MAX */
#define FRAG 8192u
#define FRAME_WORDS 128u
#define NCMDS 13u

struct floor_sizes {
    uint32_t hrt, lct, parmget, parmset, html;
};

struct floor {
    struct iop_cuse_dev *dev;
    struct iop_loop *loop;
    struct floor_sizes sz;
    unsigned long calls[NCMDS], rounds[NCMDS];
    bool ready_said;
};

static const char *const cmd_names[NCMDS] = { "getiops", "hrt", "lct", "parmset", "parmget", "swdl", "swul",
                                              "swdel", "validate", "html", "evtreg", "evtget", "passthru" };

static int fetch(struct iop_umem *um, uint64_t arg, void *raw, size_t n) {
    int r;
    if ((r = iop_umem_want_in(um, arg, n)) < 0 || (r = iop_umem_sync(um)) != 0)
        return r;
    return iop_umem_read(um, arg, raw, n);
}

static uint8_t zeros[RESULT_MAX];

/* *reslen = len, then len bytes of result: what iopd writes on success. */
static int reply_len(struct iop_umem *um, uint64_t reslen_at, uint64_t resbuf, uint32_t len, uint32_t reslen) {
    int r;
    if ((r = iop_umem_write_u32(um, reslen_at, len)) != 0)
        return r;
    if (len > reslen)
        return -ENOBUFS;
    return iop_umem_write(um, resbuf, zeros, len);
}

static int hrtlct(struct iop_umem *um, uint64_t arg, uint32_t len) {
    uint8_t raw[IOP_ABI_MAX_ARG];
    struct iop_abi_hrtlct a;
    uint32_t reslen;
    int r;
    if ((r = fetch(um, arg, raw, iop_abi_hrtlct_size(false))) != 0)
        return r;
    iop_abi_decode_hrtlct(raw, false, &a);
    if ((r = iop_umem_want_in(um, a.reslen, 4)) < 0 || (r = iop_umem_want_out(um, a.reslen, 4)) < 0 ||
        (r = iop_umem_want_out(um, a.resbuf, len)) < 0 || (r = iop_umem_sync(um)) != 0 ||
        (r = iop_umem_read_u32(um, a.reslen, &reslen)) != 0)
        return r;
    return reply_len(um, a.reslen, a.resbuf, len, reslen);
}

static int parms(struct iop_umem *um, uint64_t arg, uint32_t len) {
    uint8_t raw[IOP_ABI_MAX_ARG], ops[RESULT_MAX];
    struct iop_abi_psetget a;
    uint32_t reslen;
    int r;
    if ((r = fetch(um, arg, raw, iop_abi_psetget_size(false))) != 0)
        return r;
    iop_abi_decode_psetget(raw, false, &a);
    if (a.oplen > sizeof(ops))
        return -ENOMEM;
    if ((r = iop_umem_want_in(um, a.reslen, 4)) < 0 || (r = iop_umem_want_in(um, a.opbuf, a.oplen)) < 0 ||
        (r = iop_umem_want_out(um, a.reslen, 4)) < 0 || (r = iop_umem_want_out(um, a.resbuf, RESULT_MAX)) < 0 ||
        (r = iop_umem_sync(um)) != 0 || (r = iop_umem_read_u32(um, a.reslen, &reslen)) != 0 ||
        (r = iop_umem_read(um, a.opbuf, ops, a.oplen)) != 0)
        return r;
    return reply_len(um, a.reslen, a.resbuf, len, reslen);
}

static int html(struct iop_umem *um, uint64_t arg, uint32_t len) {
    uint8_t raw[IOP_ABI_MAX_ARG];
    struct iop_abi_html a;
    uint32_t reslen;
    int r;
    if ((r = fetch(um, arg, raw, iop_abi_html_size(false))) != 0)
        return r;
    iop_abi_decode_html(raw, false, &a);
    if ((r = iop_umem_want_in(um, a.reslen, 4)) < 0 || (r = iop_umem_want_out(um, a.reslen, 4)) < 0 ||
        (r = iop_umem_want_out(um, a.resbuf, RESULT_MAX)) < 0 || (r = iop_umem_sync(um)) != 0 ||
        (r = iop_umem_read_u32(um, a.reslen, &reslen)) != 0)
        return r;
    return reply_len(um, a.reslen, a.resbuf, len, reslen);
}

/* SWDL 4 rounds, SWUL and SWDEL 3, as iopd. */
static int sw(struct iop_umem *um, uint64_t arg, unsigned cmd) {
    uint8_t raw[IOP_ABI_MAX_ARG], frag[FRAG];
    struct iop_abi_sw_xfer a;
    uint32_t swlen, maxfrag, curfrag;
    int r;
    if ((r = fetch(um, arg, raw, iop_abi_sw_xfer_size(false))) != 0)
        return r;
    iop_abi_decode_sw_xfer(raw, false, &a);
    if ((r = iop_umem_want_in(um, a.swlen, 4)) < 0)
        return r;
    if (cmd != I2OSWDEL &&
        ((r = iop_umem_want_in(um, a.maxfrag, 4)) < 0 || (r = iop_umem_want_in(um, a.curfrag, 4)) < 0))
        return r;
    if (cmd == I2OSWUL && (r = iop_umem_want_out(um, a.buf, FRAG)) < 0)
        return r;
    if (cmd == I2OSWDEL && (r = iop_umem_want_out(um, a.swlen, 4)) < 0)
        return r;
    if ((r = iop_umem_sync(um)) != 0 || (r = iop_umem_read_u32(um, a.swlen, &swlen)) != 0)
        return r;
    if (cmd == I2OSWDEL)
        return iop_umem_write_u32(um, a.swlen, swlen);
    if ((r = iop_umem_read_u32(um, a.maxfrag, &maxfrag)) != 0 || (r = iop_umem_read_u32(um, a.curfrag, &curfrag)) != 0)
        return r;
    uint32_t len = curfrag < maxfrag ? FRAG : swlen - (maxfrag - 1) * FRAG;
    if (len > FRAG)
        return -EINVAL;
    if (cmd == I2OSWUL)
        return iop_umem_write(um, a.buf, zeros, len);
    if ((r = iop_umem_want_in(um, a.buf, len)) < 0 || (r = iop_umem_sync(um)) != 0)
        return r;
    return iop_umem_read(um, a.buf, frag, len);
}

/* PASSTHRU in 5 rounds: struct; word 0; frame and reply size; data in with the
 * outputs; answer (the reply frame, IOP-to-host data as zeros). */
static int passthru(struct iop_umem *um, uint64_t arg) {
    uint8_t raw[IOP_ABI_MAX_ARG], data[IOP_UMEM_MAX_BYTES];
    struct iop_abi_passthru a;
    uint32_t w0, rw, frame[FRAME_WORDS];
    int r;
    if ((r = fetch(um, arg, raw, iop_abi_passthru_size(false))) != 0)
        return r;
    iop_abi_decode_passthru(raw, false, &a);
    if ((r = fetch(um, a.msg, &w0, 4)) != 0)
        return r;
    unsigned words = w0 >> 16, sgl = (w0 >> 4) & 0xF;
    if (words > FRAME_WORDS || words < 4 || (sgl && sgl >= words))
        return -EINVAL;
    uint64_t reply_at = a.msg + words * 4u;
    if ((r = iop_umem_want_in(um, a.msg, words * 4u)) < 0 || (r = iop_umem_want_in(um, reply_at, 4)) < 0 ||
        (r = iop_umem_sync(um)) != 0 || (r = iop_umem_read(um, a.msg, frame, words * 4u)) != 0 ||
        (r = iop_umem_read_u32(um, reply_at, &rw)) != 0)
        return r;
    size_t reply_bytes = (size_t)(rw >> 16) * 4;
    unsigned n_sg = sgl ? (words - sgl) / 2 : 0;
    if (reply_bytes > RESULT_MAX)
        return -ENOMEM;
    if (reply_bytes && (r = iop_umem_want_out(um, reply_at, reply_bytes)) < 0)
        return r;
    for (unsigned i = 0; i < n_sg; i++) {
        uint32_t fc = frame[sgl + 2 * i], addr = frame[sgl + 2 * i + 1], len = fc & 0x00FFFFFFu;
        r = (fc & 0x04000000u) ? iop_umem_want_in(um, addr, len) : iop_umem_want_out(um, addr, len);
        if (r < 0)
            return r;
    }
    if ((r = iop_umem_sync(um)) != 0)
        return r;
    for (unsigned i = 0; i < n_sg; i++) {
        uint32_t fc = frame[sgl + 2 * i], addr = frame[sgl + 2 * i + 1], len = fc & 0x00FFFFFFu;
        if ((fc & 0x04000000u) && (r = iop_umem_read(um, addr, data, len)) != 0)
            return r;
    }
    if (reply_bytes) {
        uint32_t hdr[2] = { (uint32_t)(reply_bytes / 4) << 16 | 0x01, frame[1] };
        if ((r = iop_umem_write(um, reply_at, hdr, reply_bytes < sizeof(hdr) ? reply_bytes : sizeof(hdr))) != 0 ||
            (reply_bytes > sizeof(hdr) &&
             (r = iop_umem_write(um, reply_at + sizeof(hdr), zeros, reply_bytes - sizeof(hdr))) != 0))
            return r;
    }
    for (unsigned i = 0; i < n_sg; i++) {
        uint32_t fc = frame[sgl + 2 * i], addr = frame[sgl + 2 * i + 1], len = fc & 0x00FFFFFFu;
        if (!(fc & 0x04000000u) && (r = iop_umem_write(um, addr, zeros, len)) != 0)
            return r;
    }
    return 0;
}

static int floor_call(struct floor *fl, unsigned cmd, uint64_t arg, struct iop_umem *um) {
    uint8_t raw[IOP_ABI_MAX_ARG];
    int r;
    switch (cmd) {
    case I2OGETIOPS:
        if ((r = iop_umem_want_out(um, arg, MAX_I2O_CONTROLLERS)) < 0 || (r = iop_umem_sync(um)) != 0)
            return r;
        return iop_umem_write(um, arg, zeros, MAX_I2O_CONTROLLERS);
    case I2OVALIDATE:
        return 0;
    case I2OHRTGET:
        return hrtlct(um, arg, fl->sz.hrt);
    case I2OLCTGET:
        return hrtlct(um, arg, fl->sz.lct);
    case I2OPARMGET:
        return parms(um, arg, fl->sz.parmget);
    case I2OPARMSET:
        return parms(um, arg, fl->sz.parmset);
    case I2OHTML:
        return html(um, arg, fl->sz.html);
    case I2OSWDL:
    case I2OSWUL:
    case I2OSWDEL:
        return sw(um, arg, cmd);
    case I2OEVTREG:
        return fetch(um, arg, raw, sizeof(struct i2o_evt_id));
    case I2OEVTGET:
        if ((r = iop_umem_want_out(um, arg, sizeof(struct i2o_evt_get))) < 0 || (r = iop_umem_sync(um)) != 0)
            return r;
        return -ENOENT;
    case I2OPASSTHRU:
        return passthru(um, arg);
    }
    return -EINVAL;
}

static void fl_init_done(void *userdata) {
    struct floor *fl = userdata;
    iop_cuse_dev_set_ready(fl->dev);
}

static void fl_open(fuse_req_t req, struct fuse_file_info *fi) {
    fi->nonseekable = 1;
    fi->direct_io = 1;
    fuse_reply_open(req, fi);
}

static void fl_release(fuse_req_t req, struct fuse_file_info *fi) {
    (void)fi;
    fuse_reply_err(req, 0);
}

/* The same reply logic as cuse/ctl-node.c: a retry naming the ranges, an error, or
 * the result with the written out prefix. */
static void fl_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi, unsigned flags,
                     const void *in_buf, size_t in_bufsz, size_t out_bufsz) {
    struct floor *fl = fuse_req_userdata(req);
    static struct iop_umem_rounds r; /* one round at a time: the loop is single-threaded */
    (void)fi;
    if (flags & FUSE_IOCTL_COMPAT) {
        fuse_reply_err(req, ENOTTY);
        return;
    }
    if (iop_umem_rounds_init(&r, in_buf, in_bufsz, out_bufsz) < 0) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    unsigned nr = _IOC_NR((unsigned)cmd);
    int res = floor_call(fl, (unsigned)cmd, (uint64_t)(uintptr_t)arg, &r.um);
    if (nr < NCMDS) {
        fl->rounds[nr]++;
        fl->calls[nr] += res != IOP_UMEM_RETRY;
    }
    if (res == IOP_UMEM_RETRY) {
        struct iovec in[IOP_UMEM_MAX_RANGES], out[IOP_UMEM_MAX_RANGES];
        for (unsigned i = 0; i < r.n_in; i++)
            in[i] = (struct iovec){ (void *)(uintptr_t)r.in[i].base, r.in[i].len };
        for (unsigned i = 0; i < r.n_out; i++)
            out[i] = (struct iovec){ (void *)(uintptr_t)r.out[i].base, r.out[i].len };
        fuse_reply_ioctl_retry(req, in, r.n_in, out, r.n_out);
    } else if (res < 0 && r.out_len == 0) {
        fuse_reply_err(req, -res);
    } else {
        fuse_reply_ioctl(req, res, r.out_buf, r.out_len);
    }
    iop_umem_rounds_done(&r);
}

static const struct cuse_lowlevel_ops fl_ops = {
    .init_done = fl_init_done,
    .open = fl_open,
    .release = fl_release,
    .ioctl = fl_ioctl,
};

static void on_fd(void *data, int fd, uint32_t revents) {
    struct floor *fl = data;
    (void)fd, (void)revents;
    if (iop_cuse_dev_process(fl->dev) < 0)
        iop_loop_quit(fl->loop, 1);
    if (!fl->ready_said && iop_cuse_dev_ready(fl->dev)) {
        fl->ready_said = true;
        printf("cuse-floor: /dev/%s ready\n", iop_cuse_dev_name(fl->dev));
        fflush(stdout);
    }
}

static void on_signal(void *data, int fd, uint32_t revents) {
    struct floor *fl = data;
    struct signalfd_siginfo si;
    (void)revents;
    while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        iop_loop_quit(fl->loop, 0);
}

static int parse_sizes(char *s, struct floor_sizes *sz) {
    char *save = NULL;
    for (char *tok = strtok_r(s, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return -1;
        *eq = 0;
        unsigned long v = strtoul(eq + 1, NULL, 0);
        if (v > RESULT_MAX)
            return -1;
        if (!strcmp(tok, "hrt"))
            sz->hrt = (uint32_t)v;
        else if (!strcmp(tok, "lct"))
            sz->lct = (uint32_t)v;
        else if (!strcmp(tok, "parmget"))
            sz->parmget = (uint32_t)v;
        else if (!strcmp(tok, "parmset"))
            sz->parmset = (uint32_t)v;
        else if (!strcmp(tok, "html"))
            sz->html = (uint32_t)v;
        /* other keys (iop-load --probe prints more) are not lengths iopd varies */
    }
    return 0;
}

int main(int argc, char **argv) {
    static const struct option lo[] = { { "cuse", required_argument, NULL, 'c' },
                                        { "name", required_argument, NULL, 'n' },
                                        { "sizes", required_argument, NULL, 's' },
                                        {} };
    const char *cuse = "/dev/cuse", *name = "i2o/floor";
    /* iopd's built-in configuration: one ISA adapter, 6 devices. */
    struct floor fl = { .sz = { .hrt = 24, .lct = 228, .parmget = 336, .parmset = 8, .html = 1024 } };
    int c;
    while ((c = getopt_long(argc, argv, "c:n:s:", lo, NULL)) != -1) {
        switch (c) {
        case 'c': cuse = optarg; break;
        case 'n': name = optarg; break;
        case 's':
            if (parse_sizes(optarg, &fl.sz) < 0) {
                fprintf(stderr, "cuse-floor: bad --sizes\n");
                return 2;
            }
            break;
        default:
            fprintf(stderr, "usage: cuse-floor [--cuse PATH] [--name DEVNAME] [--sizes hrt=N,lct=N,...]\n");
            return 2;
        }
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    int fd = iop_cuse_open_control(cuse);
    if (fd < 0 || sfd < 0)
        return 1;
    struct iop_cuse_dev_params p = { .devname = name, .unrestricted_ioctl = true, .ops = &fl_ops, .userdata = &fl };
    int r;
    if ((r = iop_loop_new(&fl.loop)) < 0 || (r = iop_cuse_dev_new(&p, fd, &fl.dev)) < 0 ||
        (r = iop_loop_add_io(fl.loop, iop_cuse_dev_fd(fl.dev), EPOLLIN, on_fd, &fl, NULL)) < 0 ||
        (r = iop_loop_add_io(fl.loop, sfd, EPOLLIN, on_signal, &fl, NULL)) < 0) {
        fprintf(stderr, "cuse-floor: %s\n", strerror(-r));
        return 1;
    }
    r = iop_loop_run(fl.loop);
    for (unsigned i = 0; i < NCMDS; i++)
        if (fl.calls[i])
            fprintf(stderr, "cuse-floor: %-8s %lu calls, %.2f rounds each\n", cmd_names[i], fl.calls[i],
                    (double)fl.rounds[i] / (double)fl.calls[i]);
    iop_cuse_dev_free(fl.dev);
    iop_loop_free(fl.loop);
    close(sfd);
    return r;
}
