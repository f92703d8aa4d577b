#include "tests/load/load-ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/i2o-dev.h>

#define FRAG 8192u               /* I2OSWDL fragment size (i2o_config.c) */
#define SW_TYPE 0x22u            /* IOP private module */
#define REPLY_WORDS 32u
#define SGL_SIMPLE 0x10000000u
#define SGL_TO_IOP 0x04000000u
#define SGL_END 0xC0000000u      /* last element, end of buffer */
#define HOST_TID 1u

static int status_code(int r) { return r > 0 ? LOAD_CODE_STATUS + (r & 0xFF) : 0; }

/* One ioctl: 0, the errno, or the ReqStatus code of a positive result. */
static int do_ioctl(struct load_client *c, unsigned long cmd, void *arg) {
    int r = ioctl(c->fd, cmd, arg);
    return r < 0 ? errno : status_code(r);
}

static uint64_t next_rand(struct load_client *c) {
    /* xorshift64: each client's sequence is reproducible from its id. */
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return c->rng;
}

static int op_getiops(struct load_client *c) {
    uint8_t tab[MAX_I2O_CONTROLLERS];
    return do_ioctl(c, I2OGETIOPS, tab);
}

static int op_validate(struct load_client *c) {
    int r = ioctl(c->fd, I2OVALIDATE, (unsigned long)c->t->iop);
    return r < 0 ? errno : status_code(r);
}

static int table(struct load_client *c, unsigned long cmd) {
    unsigned int reslen = LOAD_RES_MAX;
    struct i2o_cmd_hrtlct h = { .iop = c->t->iop, .resbuf = c->res, .reslen = &reslen };
    int r = do_ioctl(c, cmd, &h);
    c->last_len = reslen;
    return r;
}

static int op_hrt(struct load_client *c) { return table(c, I2OHRTGET); }
static int op_lct(struct load_client *c) { return table(c, I2OLCTGET); }

/* A result list whose only block failed comes back as EAGAIN from the ioctl; a list
 * with several blocks carries the status in each: look at the first. */
static int params(struct load_client *c, unsigned long cmd, const void *ops, unsigned oplen) {
    unsigned int reslen = LOAD_RES_MAX;
    struct i2o_cmd_psetget p = { .iop = c->t->iop, .tid = c->t->tid, .opbuf = (void *)ops, .oplen = oplen,
                                 .resbuf = c->res, .reslen = &reslen };
    int r = do_ioctl(c, cmd, &p);
    c->last_len = reslen;
    if (r == 0 && reslen >= 8 && c->res[6] != 0)
        return LOAD_CODE_STATUS + c->res[6];
    return r;
}

/* FIELD_GET of every field of Device Identity (0xF100): the 321-byte group every TID
 * has, what i2o_proc.c reads first. */
static int op_parmget(struct load_client *c) {
    static const uint16_t ops[] = { 1, 0, I2O_PARAMS_FIELD_GET, 0xF100, 0xFFFF };
    return params(c, I2OPARMGET, ops, sizeof(ops));
}

/* The TIDs of the IOP's LCT (once per process). */
static int setup_tids(struct load_client *c) {
    int r = table(c, I2OLCTGET);
    if (r)
        return r;
    /* i2o_lct: 3 header words, then 9-word entries whose word 0 is the entry size
     * (bits 0-15) and the TID (bits 16-27). */
    unsigned n = c->last_len > 12 ? (c->last_len - 12) / 36 : 0;
    free(c->tids);
    c->tids = malloc((n ? n : 1) * sizeof(*c->tids));
    if (!c->tids)
        return ENOMEM;
    for (unsigned i = 0; i < n; i++) {
        uint32_t w0;
        memcpy(&w0, c->res + 12 + 36 * i, 4);
        c->tids[i] = (uint16_t)((w0 >> 16) & 0xFFF);
    }
    c->n_tids = n;
    return n ? 0 : ENOENT;
}

/* FIELD_GET of 0xF100 on a random device of the LCT: every device gets asked. */
static int op_parmget_any(struct load_client *c) {
    static const uint16_t ops[] = { 1, 0, I2O_PARAMS_FIELD_GET, 0xF100, 0xFFFF };
    unsigned int reslen = LOAD_RES_MAX;
    struct i2o_cmd_psetget p = { .iop = c->t->iop, .tid = c->tids[next_rand(c) % c->n_tids], .opbuf = (void *)ops,
                                 .oplen = sizeof(ops), .resbuf = c->res, .reslen = &reslen };
    int r = do_ioctl(c, I2OPARMGET, &p);
    if (r == 0 && reslen >= 8 && c->res[6] != 0)
        return LOAD_CODE_STATUS + c->res[6];
    return r;
}

/* FIELD_SET of User Information (0xF102) DeviceName: a change that is saved. */
static int op_parmset(struct load_client *c) {
    struct {
        uint16_t w[6];
        char name[64];
    } __attribute__((packed)) ops = { { 1, 0, I2O_PARAMS_FIELD_SET, 0xF102, 1, 0 }, { 0 } };
    snprintf(ops.name, sizeof(ops.name), "load-%u-%u", c->id, (unsigned)(next_rand(c) % 1000));
    return params(c, I2OPARMSET, &ops, sizeof(ops));
}

static int op_html(struct load_client *c) {
    unsigned int reslen = LOAD_RES_MAX;
    struct i2o_html h = { .iop = c->t->iop, .tid = c->t->tid, .page = 0, .resbuf = c->res, .reslen = &reslen };
    int r = do_ioctl(c, I2OHTML, &h);
    c->last_len = reslen;
    return r;
}

static int op_evtreg(struct load_client *c) {
    struct i2o_evt_id e = { .iop = c->t->iop, .tid = c->t->tid, .evt_mask = I2O_EVT_IND_FIELD_MODIFIED };
    return do_ioctl(c, I2OEVTREG, &e);
}

static int op_evtget(struct load_client *c) {
    struct i2o_evt_get g;
    return do_ioctl(c, I2OEVTGET, &g);
}

/* The software store: each process has its own module (sw_id from its id). */
static int sw_xfer(struct load_client *c, unsigned long cmd, uint32_t sw_id, uint32_t size, uint32_t frag) {
    unsigned int swlen = size, maxfrag = (size + FRAG - 1) / FRAG, curfrag = frag;
    struct i2o_sw_xfer x = { .iop = c->t->iop, .sw_type = SW_TYPE, .sw_id = sw_id, .buf = c->data,
                             .swlen = &swlen, .maxfrag = &maxfrag, .curfrag = &curfrag };
    return do_ioctl(c, cmd, &x);
}

static int download(struct load_client *c, uint32_t sw_id, uint32_t size) {
    uint32_t frags = (size + FRAG - 1) / FRAG;
    for (uint32_t f = 1; f <= frags; f++) {
        if (c->stop && *c->stop)
            return EINTR; /* a stop between two fragments: the download is cut short */
        memset(c->data, (int)(f + c->id), FRAG);
        int r = sw_xfer(c, I2OSWDL, sw_id, size, f);
        if (r)
            return r;
    }
    return 0;
}

static uint32_t own_module(const struct load_client *c) { return 0x10000u + c->id; }

static int op_swdl(struct load_client *c) {
    int r = download(c, own_module(c), c->t->sw_size);
    c->have_module = r == 0;
    return r;
}

static int setup_swul(struct load_client *c) { return c->have_module ? 0 : op_swdl(c); }

/* Upload one fragment of this process's module (stored again first after a swdel). */
static int op_swul(struct load_client *c) {
    int r = setup_swul(c);
    if (r)
        return r;
    uint32_t frags = (c->t->sw_size + FRAG - 1) / FRAG;
    return sw_xfer(c, I2OSWUL, own_module(c), c->t->sw_size, 1 + (uint32_t)(next_rand(c) % frags));
}

/* Remove this process's module (downloading it first when it is not there). */
static int op_swdel(struct load_client *c) {
    int r = setup_swul(c);
    if (r)
        return r;
    c->have_module = false;
    return sw_xfer(c, I2OSWDEL, own_module(c), c->t->sw_size, 0);
}

/* A big module (8 MiB by default), fragment after fragment: the slow client of the
 * software store.  Every module of these clients has its own id. */
static int op_swdl_big(struct load_client *c) { return download(c, 0x7F000000u + c->id, c->t->big_sw_size); }

/* I2OPASSTHRU of a frame of `words` words at c->msg (the reply area follows); the
 * reply's ReqStatus, when not SUCCESS, is the result. */
static int passthru(struct load_client *c, unsigned words) {
    uint32_t *reply = c->msg + words;
    memset(reply, 0, REPLY_WORDS * 4);
    reply[0] = REPLY_WORDS << 16;
    struct i2o_cmd_passthru pt = { .iop = c->t->iop, .msg = c->msg };
    int r = do_ioctl(c, I2OPASSTHRU, &pt);
    if (r == 0 && reply[4] >> 24)
        return LOAD_CODE_STATUS + (int)(reply[4] >> 24);
    return r;
}

static void header(struct load_client *c, unsigned words, unsigned sgl, unsigned fn, unsigned tid) {
    c->msg[0] = words << 16 | sgl << 4 | 0x01;
    c->msg[1] = fn << 24 | HOST_TID << 12 | tid;
    c->msg[2] = 0x6c6f6164; /* initiator context */
    c->msg[3] = c->id;
}

static int op_nop(struct load_client *c) {
    header(c, 4, 0, 0x00, 0); /* UtilNOP to the executive */
    return passthru(c, 4);
}

/* BsaBlockRead/Write (0x30/0x31) of bsa_len bytes at a random aligned address. */
static int bsa(struct load_client *c, bool write) {
    const struct load_target *t = c->t;
    if (!t->disk_tid)
        return ENODEV;
    uint32_t slots = t->bsa_span / t->bsa_len;
    uint32_t addr = (uint32_t)(next_rand(c) % (slots ? slots : 1)) * t->bsa_len;
    header(c, 10, 8, write ? 0x31 : 0x30, t->disk_tid);
    c->msg[4] = 0;
    c->msg[5] = t->bsa_len;
    c->msg[6] = addr;
    c->msg[7] = 0;
    c->msg[8] = SGL_SIMPLE | SGL_END | (write ? SGL_TO_IOP : 0) | t->bsa_len;
    c->msg[9] = (uint32_t)(uintptr_t)c->data;
    if (write)
        memset(c->data, (int)c->id, t->bsa_len);
    return passthru(c, 10);
}

static int op_bsa_read(struct load_client *c) { return bsa(c, false); }
static int op_bsa_write(struct load_client *c) { return bsa(c, true); }

/* iopd's private USB transfer message: an interrupt IN on an endpoint that has nothing
 * to say, no timeout.  It waits until the device answers or the process is signalled
 * (the daemon unlinks the URB). */
static int op_usb_intr(struct load_client *c) {
    const struct load_target *t = c->t;
    if (!t->usb_tid)
        return ENODEV;
    header(c, 12, 10, 0xFF, t->usb_tid);
    c->msg[4] = 0x7E0Du << 16 | 0x0001;
    c->msg[5] = 1u << 8 | 0x80 | (t->usb_ep & 0x7F);
    c->msg[6] = 0;
    c->msg[7] = 8;
    c->msg[8] = c->msg[9] = 0;
    c->msg[10] = SGL_SIMPLE | SGL_END | 64;
    c->msg[11] = (uint32_t)(uintptr_t)c->data;
    return passthru(c, 12);
}

/* --- a USB device by vendor and product (usb, usbin, usbctl) --- */

#define USB_CLASS 0x0F0u /* the LCT class of a USB device */
/* Transfers that must complete get a timeout far beyond what a loaded VM needs (the
 * clients queue on one endpoint): only a lost URB should reach it. */
#define USB_TIMEOUT_MS 60000u

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* The device's TID from the LCT: class, vendor_id and the product in sub_class. */
static int find_usb_dev(struct load_client *c) {
    if (table(c, I2OLCTGET))
        return -1;
    unsigned len = c->last_len < LOAD_RES_MAX ? c->last_len : LOAD_RES_MAX;
    unsigned words = len >= 12 ? le16(c->res) : 0;
    for (unsigned off = 12; off + 36 <= words * 4u && off + 36 <= len; off += 36) {
        const uint8_t *e = c->res + off;
        if ((le16(e + 12) & 0xFFF) == USB_CLASS && le16(e + 14) == c->t->usb_vid && le16(e + 16) == c->t->usb_pid)
            return le16(e + 2) & 0xFFF;
    }
    return -1;
}

/* One URB through iopd's private USB message: bulk on ep (0x80: IN), or a control
 * transfer with the 8-byte setup packet (IN, len bytes).  A failed URB comes back as a
 * ReqStatus with the URB's status in reply word 6; a request refused before any URB
 * (no such TID...) has 0 there. */
static int usb_urb(struct load_client *c, unsigned ep, const uint8_t *setup, unsigned len, unsigned timeout_ms) {
    const unsigned words = 12;
    header(c, words, 10, 0xFF, (unsigned)c->usb_dev_tid);
    c->msg[4] = 0x7E0Du << 16 | 0x0001;
    c->msg[5] = setup ? 2u << 8 : 3u << 8 | ep; /* control or bulk (the kernel's PIPE_ numbers) */
    c->msg[6] = timeout_ms;
    c->msg[7] = c->msg[8] = c->msg[9] = 0;
    if (setup) {
        memcpy(&c->msg[8], setup, 4);
        memcpy(&c->msg[9], setup + 4, 4);
    }
    bool in = setup ? (setup[0] & 0x80) : (ep & 0x80);
    c->msg[10] = SGL_SIMPLE | SGL_END | (in ? 0 : SGL_TO_IOP) | len;
    c->msg[11] = (uint32_t)(uintptr_t)c->data;
    int r = passthru(c, words);
    const uint32_t *reply = c->msg + words;
    int32_t status = (int32_t)reply[6];
    if (r && (r < LOAD_CODE_STATUS || status == 0)) {
        c->urb_refused++;
        return r;
    }
    if (status) {
        c->urb_error++;
        return LOAD_CODE_URB + (status < 0 ? -status : status);
    }
    c->urb_ok++;
    return reply[5] == len ? 0 : LOAD_CODE_SHORT;
}

/* The device's TID, or LOAD_CODE_NODEVICE after a pause (it is unplugged: look again
 * soon, not in a tight loop). */
static int usb_dev(struct load_client *c) {
    if (!c->t->have_usb_dev)
        return ENODEV;
    if (c->usb_dev_tid < 0 && (c->usb_dev_tid = find_usb_dev(c)) < 0) {
        usleep(50000);
        return LOAD_CODE_NODEVICE;
    }
    return 0;
}

/* A bulk OUT then a bulk IN of usb_len bytes: a Loopback gadget echoes them. */
static int op_usb(struct load_client *c) {
    int r = usb_dev(c);
    if (r)
        return r;
    const struct load_target *t = c->t;
    memset(c->data, (int)c->id, t->usb_len);
    r = usb_urb(c, t->usb_out & 0x7F, NULL, t->usb_len, USB_TIMEOUT_MS);
    if (!r)
        r = usb_urb(c, 0x80 | t->usb_in, NULL, t->usb_len, USB_TIMEOUT_MS);
    if (r)
        c->usb_dev_tid = -1; /* it may have gone (or come back under another TID) */
    return r;
}

/* A bulk IN alone, timing out after 2 s: with nothing to echo it waits, so one is
 * nearly always in flight. */
static int op_usbin(struct load_client *c) {
    int r = usb_dev(c);
    if (r)
        return r;
    r = usb_urb(c, 0x80 | c->t->usb_in, NULL, c->t->usb_len, 2000);
    if (r && r != LOAD_CODE_URB + ETIMEDOUT)
        c->usb_dev_tid = -1;
    return r;
}

/* GET_DESCRIPTOR(DEVICE), 18 bytes, on the control endpoint (any device). */
static int op_usbctl(struct load_client *c) {
    static const uint8_t get_device_descriptor[8] = { 0x80, 6, 0, 1, 0, 0, 18, 0 };
    int r = usb_dev(c);
    if (r)
        return r;
    r = usb_urb(c, 0, get_device_descriptor, 18, USB_TIMEOUT_MS);
    if (r)
        c->usb_dev_tid = -1;
    return r;
}

/* A blocking read() of events nobody raises: parks in the daemon until signalled. */
static int op_read(struct load_client *c) {
    ssize_t n = read(c->fd, c->res, sizeof(struct i2o_evt_info));
    return n < 0 ? errno : 0;
}

/* A usbmon reader: one read of whatever is queued (blocks while nothing is). */
static int op_mon_read(struct load_client *c) {
    ssize_t n = read(c->fd, c->res, LOAD_RES_MAX);
    return n < 0 ? errno : 0;
}

/* A usbmon reader that never reads: its queue fills, the daemon must not care. */
static int op_mon_idle(struct load_client *c) {
    (void)c;
    pause();
    return EINTR;
}

/* A hostile call: a command with its argument on a page that is not mapped.  Not
 * I2OEVTGET: with nothing queued it answers ENOENT before it touches the argument, as
 * i2o_config.c does (tests/e2e/hostile.sh covers its EFAULT). */
static int op_efault(struct load_client *c) {
    static const unsigned long cmds[] = { I2OGETIOPS, I2OHRTGET, I2OLCTGET, I2OPARMGET, I2OPARMSET, I2OSWDL,
                                          I2OSWUL, I2OSWDEL, I2OHTML, I2OEVTREG, I2OPASSTHRU };
    unsigned long cmd = cmds[next_rand(c) % (sizeof(cmds) / sizeof(cmds[0]))];
    return do_ioctl(c, cmd, c->guard);
}

/* Hostile but well-formed calls that make the daemon size things from what the caller
 * says: absurd op list and query lengths, the largest tables and replies, PASSTHRU
 * frames naming 128 KiB of data in both directions, fragment counters that do not
 * add up.  Any answer will do; none may crash, hang or bloat the daemon. */
static int op_hostile(struct load_client *c) {
    unsigned int reslen = (unsigned int)next_rand(c);
    switch (next_rand(c) % 6) {
    case 0: {
        struct i2o_cmd_psetget p = { .iop = c->t->iop, .tid = c->t->tid, .opbuf = c->data,
                                     .oplen = 0x7FFFFFFFu >> (next_rand(c) % 16), .resbuf = c->res,
                                     .reslen = &reslen };
        return do_ioctl(c, next_rand(c) & 1 ? I2OPARMGET : I2OPARMSET, &p);
    }
    case 1: {
        struct i2o_cmd_hrtlct h = { .iop = c->t->iop, .resbuf = c->res, .reslen = &reslen };
        return do_ioctl(c, next_rand(c) & 1 ? I2OLCTGET : I2OHRTGET, &h);
    }
    case 2: {
        struct i2o_html h = { .iop = c->t->iop, .tid = c->t->tid, .page = (unsigned)next_rand(c) % 40,
                              .resbuf = c->res, .reslen = &reslen, .qbuf = c->data,
                              .qlen = (unsigned)next_rand(c) % (LOAD_DATA_MAX + 1) };
        memset(c->data, 'a' + (int)(next_rand(c) % 26), LOAD_DATA_MAX);
        return do_ioctl(c, I2OHTML, &h);
    }
    case 3: { /* 128 words of frame, SG elements for 64 KiB to and 64 KiB from the IOP */
        unsigned words = 12;
        header(c, words, 8, (unsigned)next_rand(c) & 0xFF, c->t->disk_tid ? c->t->disk_tid : c->t->tid);
        c->msg[4] = (uint32_t)next_rand(c);
        c->msg[5] = (uint32_t)next_rand(c);
        c->msg[6] = c->msg[7] = 0;
        c->msg[8] = SGL_SIMPLE | SGL_TO_IOP | LOAD_DATA_MAX / 2;
        c->msg[9] = (uint32_t)(uintptr_t)c->data;
        c->msg[10] = SGL_SIMPLE | SGL_END | LOAD_DATA_MAX / 2;
        c->msg[11] = (uint32_t)(uintptr_t)(c->data + LOAD_DATA_MAX / 2);
        return passthru(c, words);
    }
    case 4: {
        unsigned int swlen = (unsigned int)next_rand(c), maxfrag = (unsigned int)next_rand(c) % 4,
                     curfrag = (unsigned int)next_rand(c) % 4;
        struct i2o_sw_xfer x = { .iop = c->t->iop, .sw_type = (unsigned char)next_rand(c),
                                 .sw_id = (unsigned)next_rand(c), .buf = c->data, .swlen = &swlen,
                                 .maxfrag = &maxfrag, .curfrag = &curfrag };
        static const unsigned long cmds[] = { I2OSWDL, I2OSWUL, I2OSWDEL };
        return do_ioctl(c, cmds[next_rand(c) % 3], &x);
    }
    default: {
        struct i2o_evt_id e = { .iop = (unsigned)next_rand(c) % 40, .tid = (unsigned)next_rand(c) & 0xFFF,
                                .evt_mask = (unsigned)next_rand(c) };
        return do_ioctl(c, I2OEVTREG, &e);
    }
    }
}

const struct load_op load_ops[] = {
    { "getiops", "I2OGETIOPS", LOAD_DEV_CTL, 0, false, NULL, op_getiops },
    { "validate", "I2OVALIDATE of the IOP", LOAD_DEV_CTL, 0, false, NULL, op_validate },
    { "hrt", "I2OHRTGET", LOAD_DEV_CTL, 0, false, NULL, op_hrt },
    { "lct", "I2OLCTGET", LOAD_DEV_CTL, 0, false, NULL, op_lct },
    { "parmget", "I2OPARMGET: FIELD_GET of group 0xF100, all fields, on --tid", LOAD_DEV_CTL, 0, false, NULL,
      op_parmget },
    { "parmget-any", "I2OPARMGET: FIELD_GET of 0xF100 on a random TID of the LCT", LOAD_DEV_CTL, 0, false,
      setup_tids, op_parmget_any },
    { "parmset", "I2OPARMSET: FIELD_SET of 0xF102 DeviceName on --tid (saved)", LOAD_DEV_CTL, 0, false, NULL,
      op_parmset },
    { "html", "I2OHTML page 0 of --tid", LOAD_DEV_CTL, 0, false, NULL, op_html },
    { "evtreg", "I2OEVTREG for FIELD_MODIFIED on --tid", LOAD_DEV_CTL, 0, false, NULL, op_evtreg },
    { "evtget", "I2OEVTGET (ENOENT when nothing is queued)", LOAD_DEV_CTL, ENOENT, false, NULL, op_evtget },
    { "swdl", "I2OSWDL of this process's module (--sw-size bytes)", LOAD_DEV_CTL, 0, false, NULL, op_swdl },
    { "swul", "I2OSWUL of one fragment of this process's module", LOAD_DEV_CTL, 0, false, setup_swul, op_swul },
    { "swdel", "I2OSWDEL of this process's module (stored again first)", LOAD_DEV_CTL, 0, false, NULL, op_swdel },
    { "nop", "I2OPASSTHRU: UtilNOP to the executive", LOAD_DEV_CTL, 0, false, NULL, op_nop },
    { "bsa-read", "I2OPASSTHRU: BsaBlockRead of --bsa-len bytes from --disk", LOAD_DEV_CTL, 0, false, NULL,
      op_bsa_read },
    { "bsa-write", "I2OPASSTHRU: BsaBlockWrite of --bsa-len bytes to --disk", LOAD_DEV_CTL, 0, false, NULL,
      op_bsa_write },
    { "efault", "a random command with its argument on an unmapped page (EFAULT)", LOAD_DEV_CTL, EFAULT, false,
      NULL, op_efault },
    { "hostile", "absurd lengths, the biggest tables and PASSTHRU data, bad counters (any answer)", LOAD_DEV_CTL,
      LOAD_EXPECT_ANY, false, NULL, op_hostile },
    { "swdl-big", "I2OSWDL of a --big-sw-size module, fragment by fragment", LOAD_DEV_CTL, 0, true, NULL,
      op_swdl_big },
    { "usb", "I2OPASSTHRU: bulk OUT then IN of --usb-len bytes to --usb-dev (a Loopback gadget)", LOAD_DEV_CTL, 0,
      false, NULL, op_usb },
    { "usbin", "I2OPASSTHRU: a lone bulk IN from --usb-dev, 2 s timeout (urb:ETIMEDOUT expected)", LOAD_DEV_CTL,
      LOAD_CODE_URB + ETIMEDOUT, false, NULL, op_usbin },
    { "usbctl", "I2OPASSTHRU: GET_DESCRIPTOR(DEVICE) to --usb-dev", LOAD_DEV_CTL, 0, false, NULL, op_usbctl },
    { "read", "a blocking read() of events that never come", LOAD_DEV_CTL, 0, true, NULL, op_read },
    { "usb-intr", "I2OPASSTHRU: interrupt IN on --usb TID:EP, no timeout", LOAD_DEV_CTL, 0, true, NULL,
      op_usb_intr },
    { "mon-read", "read() of a usbmon node (--mon PATH), 128 KiB at a time", LOAD_DEV_MON, 0, true, NULL,
      op_mon_read },
    { "mon-idle", "open a usbmon node (--mon PATH) and never read it", LOAD_DEV_MON, 0, true, NULL, op_mon_idle },
};
const unsigned load_n_ops = sizeof(load_ops) / sizeof(load_ops[0]);

const struct load_op *load_op_find(const char *name) {
    for (unsigned i = 0; i < load_n_ops; i++)
        if (strcmp(load_ops[i].name, name) == 0)
            return &load_ops[i];
    return NULL;
}

static void *map32(size_t n) {
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int load_client_init(struct load_client *c, const struct load_target *t, unsigned id, enum load_dev dev) {
    memset(c, 0, sizeof(*c));
    c->fd = c->fd_cmp = -1;
    c->usb_dev_tid = -1;
    c->t = t;
    c->id = id;
    c->rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t)id << 17 | 1);
    const char *path = dev == LOAD_DEV_MON ? t->mon_path : t->dev;
    if (!path)
        return EINVAL;
    c->fd = open(path, O_RDWR | O_CLOEXEC);
    if (c->fd < 0 && dev == LOAD_DEV_MON)
        c->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (c->fd < 0)
        return errno;
    if (t->cmp_dev && dev == LOAD_DEV_CTL && (c->fd_cmp = open(t->cmp_dev, O_RDWR | O_CLOEXEC)) < 0) {
        int e = errno;
        load_client_fini(c);
        return e;
    }
    /* The guard page: mapped, then unmapped, so nothing else sits there. */
    long page = sysconf(_SC_PAGESIZE);
    c->msg = map32((size_t)page);
    c->data = map32(LOAD_DATA_MAX);
    c->res = map32(LOAD_RES_MAX);
    c->guard = map32((size_t)page);
    if (!c->msg || !c->data || !c->res || !c->guard) {
        load_client_fini(c);
        return ENOMEM;
    }
    munmap(c->guard, (size_t)page);
    return 0;
}

void load_client_fini(struct load_client *c) {
    long page = sysconf(_SC_PAGESIZE);
    if (c->msg)
        munmap(c->msg, (size_t)page);
    if (c->data)
        munmap(c->data, LOAD_DATA_MAX);
    if (c->res)
        munmap(c->res, LOAD_RES_MAX);
    if (c->fd >= 0)
        close(c->fd);
    if (c->fd_cmp >= 0)
        close(c->fd_cmp);
    free(c->tids);
    c->tids = NULL;
    c->msg = NULL;
    c->data = c->res = NULL;
    c->fd = c->fd_cmp = -1;
}

const char *load_code_name(int code, char *buf, size_t cap) {
    if (code == 0)
        snprintf(buf, cap, "ok");
    else if (code == LOAD_CODE_NODEVICE)
        snprintf(buf, cap, "nodevice");
    else if (code == LOAD_CODE_SHORT)
        snprintf(buf, cap, "short");
    else if (code >= LOAD_CODE_URB) {
        const char *n = strerrorname_np(code - LOAD_CODE_URB);
        snprintf(buf, cap, "urb:%s", n ? n : "errno?");
    } else if (code >= LOAD_CODE_STATUS)
        snprintf(buf, cap, "ReqStatus 0x%02x", code - LOAD_CODE_STATUS);
    else {
        const char *n = strerrorname_np(code);
        snprintf(buf, cap, "%s", n ? n : "errno?");
    }
    return buf;
}

static int errno_of(const char *name) {
    for (int e = 1; e < LOAD_CODE_STATUS; e++) {
        const char *n = strerrorname_np(e);
        if (n && strcmp(n, name) == 0)
            return e;
    }
    return -1;
}

int load_code_parse(const char *name) {
    unsigned s;
    int e;
    if (strcmp(name, "ok") == 0)
        return 0;
    if (strcmp(name, "nodevice") == 0)
        return LOAD_CODE_NODEVICE;
    if (strcmp(name, "short") == 0)
        return LOAD_CODE_SHORT;
    if (sscanf(name, "req0x%2x", &s) == 1 || sscanf(name, "ReqStatus 0x%2x", &s) == 1)
        return LOAD_CODE_STATUS + (int)(s & 0xFF);
    if (strncmp(name, "urb:", 4) == 0)
        return (e = errno_of(name + 4)) < 0 ? -1 : LOAD_CODE_URB + e;
    return errno_of(name);
}
