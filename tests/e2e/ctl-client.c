/* An I2O client built only on <linux/i2o-dev.h>, as any old program would be:
 * checks /dev/i2o/ctl behaves as the kernel's driver did.
 *
 *   ctl-client DEVICE getiops UNIT...       the IOPs present are exactly these
 *   ctl-client DEVICE validate IOP ERRNO    I2OVALIDATE gives ERRNO (0 or a name)
 *   ctl-client DEVICE efault                NULL/unmapped pointers give EFAULT
 *   ctl-client DEVICE unknown               unknown commands give EINVAL, short read EINVAL
 *   ctl-client DEVICE hrt IOP N BUS PORT DMA  HRT has N adapters, the first as given
 *   ctl-client DEVICE lct IOP TID:CLASS...  LCT lists exactly these (or: lct IOP ERRNO)
 *   ctl-client DEVICE enobufs IOP           too small a buffer: ENOBUFS and the length
 *   ctl-client DEVICE evtreg-errors         I2OEVTREG's ENXIO / ENODEV / EFAULT
 *   ctl-client DEVICE events-select IOP     select() wakes on an event, read()/EVTGET
 *   ctl-client DEVICE read-nonblock         O_NONBLOCK read with no events: EAGAIN
 *   ctl-client DEVICE sw-errors IOP         I2OSWDL/SWUL/SWDEL error paths
 *   ctl-client DEVICE swdl-partial IOP TYPE ID SIZE N   send only the first N fragments
 *   ctl-client DEVICE params-errors IOP TID   I2OPARMGET/SET errno paths and ENOBUFS retry
 *   ctl-client DEVICE unknown32              a 32-bit caller's unknown command: EINVAL (2.6)
 *   ctl-client DEVICE passthru-nop IOP       UtilNOP through I2OPASSTHRU, reply checked
 *   ctl-client DEVICE html IOP TID           I2OHTML page 0 is an HTML page
 *   ctl-client DEVICE sw-roundtrip IOP       a 3-fragment module down and back up
 *
 * Built twice: natively, and with -m32 (ctl-client32), so the same checks exercise
 * the i386 structure layouts and command numbers through the compat path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/i2o-dev.h>

static int failures;

#define EXPECT(cond, ...)                                                                   \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            failures++;                                                                     \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                     \
            printf(__VA_ARGS__);                                                            \
            printf("\n");                                                                   \
        }                                                                                   \
    } while (0)

static int errno_by_name(const char *s) {
    static const struct { const char *name; int e; } t[] = {
        { "0", 0 }, { "ENXIO", ENXIO }, { "ETIMEDOUT", ETIMEDOUT }, { "EFAULT", EFAULT },
        { "EINVAL", EINVAL }, { "ENOTTY", ENOTTY }, { "ENOBUFS", ENOBUFS }, { "ENODEV", ENODEV },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(t[i].name, s) == 0)
            return t[i].e;
    fprintf(stderr, "unknown errno name %s\n", s);
    exit(2);
}

/* ioctl result as 0 or errno */
static int ioctl_errno(int fd, unsigned long cmd, unsigned long arg) {
    return ioctl(fd, cmd, arg) < 0 ? errno : 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: ctl-client DEVICE COMMAND ...\n");
        return 2;
    }
    int fd = open(argv[1], O_RDWR);
    if (fd < 0) {
        perror(argv[1]);
        return 2;
    }
    const char *cmd = argv[2];
    if (strcmp(cmd, "getiops") == 0) {
        __u8 tab[MAX_I2O_CONTROLLERS];
        memset(tab, 0xee, sizeof(tab));
        EXPECT(ioctl(fd, I2OGETIOPS, tab) == 0, "I2OGETIOPS: %s", strerror(errno));
        __u8 want[MAX_I2O_CONTROLLERS] = { 0 };
        for (int i = 3; i < argc; i++)
            want[atoi(argv[i])] = 1;
        for (int i = 0; i < MAX_I2O_CONTROLLERS; i++)
            EXPECT(!!tab[i] == want[i] && tab[i] <= 1, "I2OGETIOPS[%d] = %u, want %u", i, tab[i], want[i]);
    } else if (strcmp(cmd, "validate") == 0 && argc == 5) {
        int want = errno_by_name(argv[4]);
        int got = ioctl_errno(fd, I2OVALIDATE, strtoul(argv[3], NULL, 0));
        EXPECT(got == want, "I2OVALIDATE(%s): got %s, want %s", argv[3], strerror(got), strerror(want));
    } else if (strcmp(cmd, "efault") == 0) {
        EXPECT(ioctl_errno(fd, I2OGETIOPS, 0) == EFAULT, "I2OGETIOPS(NULL)");
        /* A page that is mapped, then unmapped: a dangling pointer. */
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        munmap(p, 4096);
        EXPECT(ioctl_errno(fd, I2OGETIOPS, (unsigned long)p) == EFAULT, "I2OGETIOPS(unmapped)");
        /* Read-only memory cannot receive the table. */
        void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        EXPECT(ioctl_errno(fd, I2OGETIOPS, (unsigned long)ro) == EFAULT, "I2OGETIOPS(read-only)");
        /* The last 16 bytes of a mapping: the table runs off its end. */
        char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        munmap(two + 4096, 4096);
        EXPECT(ioctl_errno(fd, I2OGETIOPS, (unsigned long)(two + 4096 - 16)) == EFAULT, "I2OGETIOPS(straddling)");
    } else if (strcmp(cmd, "unknown") == 0) {
        EXPECT(ioctl_errno(fd, _IO('i', 77), 0) == EINVAL, "unknown 'i' ioctl");
        EXPECT(ioctl_errno(fd, _IOR('z', 1, int), 0) == EINVAL, "foreign ioctl");
        char b[8];
        EXPECT(read(fd, b, sizeof(b)) < 0 && errno == EINVAL, "read shorter than an event gives EINVAL");
        /* The kernel's driver had llseek = no_llseek (ESPIPE).  CUSE devices always get
         * noop_llseek, which succeeds without moving; a daemon cannot change that. */
        EXPECT(lseek(fd, 0, SEEK_SET) == 0, "lseek is a no-op under CUSE");
    } else if (strcmp(cmd, "hrt") == 0 && argc == 8) {
        unsigned char buf[4096];
        unsigned int len = sizeof(buf);
        struct i2o_cmd_hrtlct c = { .iop = (unsigned)atoi(argv[3]), .resbuf = buf, .reslen = &len };
        EXPECT(ioctl(fd, I2OHRTGET, &c) == 0, "I2OHRTGET: %s", strerror(errno));
        i2o_hrt *h = (i2o_hrt *)buf;
        EXPECT(h->num_entries == atoi(argv[4]), "num_entries %u", h->num_entries);
        EXPECT(h->entry_len == 4, "entry_len %u", h->entry_len);
        EXPECT(len == 8u + h->num_entries * 16u, "reslen %u", len);
        i2o_hrt_entry *e = &h->hrt_entry[0];
        int bus = strcmp(argv[5], "isa") == 0 ? I2O_BUS_ISA : I2O_BUS_PCI;
        EXPECT(e->bus_type == bus, "bus_type %u", e->bus_type);
        EXPECT(e->bus.isa_bus.IsaBaseIOPort == strtoul(argv[6], NULL, 0), "io port 0x%x", e->bus.isa_bus.IsaBaseIOPort);
        EXPECT(e->bus.isa_bus.reserved == strtoul(argv[7], NULL, 0), "dma channel %u", e->bus.isa_bus.reserved);
    } else if (strcmp(cmd, "lct") == 0 && argc == 5 && argv[4][0] == 'E') {
        unsigned char buf[64];
        unsigned int len = sizeof(buf);
        struct i2o_cmd_hrtlct c = { .iop = (unsigned)atoi(argv[3]), .resbuf = buf, .reslen = &len };
        int e = ioctl(fd, I2OLCTGET, &c) < 0 ? errno : 0;
        EXPECT(e == errno_by_name(argv[4]), "I2OLCTGET: %s", strerror(e));
    } else if (strcmp(cmd, "lct") == 0 && argc >= 4) {
        unsigned char buf[8192];
        unsigned int len = sizeof(buf);
        struct i2o_cmd_hrtlct c = { .iop = (unsigned)atoi(argv[3]), .resbuf = buf, .reslen = &len };
        EXPECT(ioctl(fd, I2OLCTGET, &c) == 0, "I2OLCTGET: %s", strerror(errno));
        i2o_lct *l = (i2o_lct *)buf;
        int n = (l->table_size - 3) / 9;
        EXPECT(len == l->table_size * 4u, "reslen %u vs table_size %u", len, l->table_size);
        /* The listed entries first; then only USB devices (class 0x0F0, TIDs from
         * 0x100), which the built-in configuration's USB adapter shows for the host's
         * devices (the VM has a keyboard, a disk and root hubs). */
        EXPECT(n >= argc - 4, "%d entries, want at least %d", n, argc - 4);
        for (int i = argc - 4; i < n; i++)
            EXPECT(l->lct_entry[i].class_id == 0x0F0 && l->lct_entry[i].tid >= 0x100,
                   "entry %d: tid 0x%x class 0x%x is not a USB device", i, l->lct_entry[i].tid,
                   l->lct_entry[i].class_id);
        for (int i = 0; i < n && i < argc - 4; i++) {
            unsigned tid = (unsigned)strtoul(argv[4 + i], NULL, 0);
            unsigned cls = (unsigned)strtoul(strchr(argv[4 + i], ':') + 1, NULL, 0);
            EXPECT(l->lct_entry[i].tid == tid && l->lct_entry[i].class_id == cls, "entry %d: tid 0x%x class 0x%x",
                   i, l->lct_entry[i].tid, l->lct_entry[i].class_id);
            EXPECT(l->lct_entry[i].entry_size == 9, "entry_size %u", l->lct_entry[i].entry_size);
        }
    } else if (strcmp(cmd, "enobufs") == 0 && argc == 4) {
        unsigned char buf[4096];
        memset(buf, 0x5a, sizeof(buf));
        unsigned int len = 8;
        struct i2o_cmd_hrtlct c = { .iop = (unsigned)atoi(argv[3]), .resbuf = buf, .reslen = &len };
        EXPECT(ioctl(fd, I2OLCTGET, &c) < 0 && errno == ENOBUFS, "too small: %s", strerror(errno));
        EXPECT(len > 8 && len % 4 == 0, "needed length %u", len);
        EXPECT(buf[0] == 0x5a, "buffer untouched");
        unsigned int need = len;
        EXPECT(ioctl(fd, I2OLCTGET, &c) == 0, "retry: %s", strerror(errno));
        EXPECT(len == need, "length %u then %u", need, len);
    } else if (strcmp(cmd, "evtreg-errors") == 0) {
        struct i2o_evt_id id = { .iop = 9, .tid = 0, .evt_mask = ~0u };
        EXPECT(ioctl_errno(fd, I2OEVTREG, (unsigned long)&id) == ENXIO, "bad IOP");
        id.iop = 0;
        id.tid = 0x777;
        EXPECT(ioctl_errno(fd, I2OEVTREG, (unsigned long)&id) == ENODEV, "bad TID");
        EXPECT(ioctl_errno(fd, I2OEVTREG, 0) == EFAULT, "NULL");
        struct i2o_evt_get g;
        EXPECT(ioctl_errno(fd, I2OEVTGET, (unsigned long)&g) == ENOENT, "empty queue");
    } else if (strcmp(cmd, "events-select") == 0 && argc == 4) {
        unsigned iop = (unsigned)atoi(argv[3]);
        struct i2o_evt_id id = { .iop = iop, .tid = 0, .evt_mask = I2O_EVT_IND_CONFIGURATION_FLAG };
        EXPECT(ioctl(fd, I2OEVTREG, &id) == 0, "I2OEVTREG: %s", strerror(errno));
        fd_set rd;
        struct timeval tv = { 0, 200000 };
        FD_ZERO(&rd);
        FD_SET(fd, &rd);
        EXPECT(select(fd + 1, &rd, NULL, NULL, &tv) == 0, "not readable before the event");
        pid_t child = fork();
        if (child == 0) { /* another process changes the IOP */
            int fd2 = open(argv[1], O_RDWR);
            usleep(200000);
            _exit(ioctl(fd2, I2OVALIDATE, (unsigned long)iop) == 0 ? 0 : 1);
        }
        tv = (struct timeval){ 10, 0 };
        FD_ZERO(&rd);
        FD_SET(fd, &rd);
        EXPECT(select(fd + 1, &rd, NULL, NULL, &tv) == 1 && FD_ISSET(fd, &rd), "select wakes on the event");
        int st;
        waitpid(child, &st, 0);
        struct i2o_evt_info e[4];
        ssize_t n = read(fd, e, sizeof(e));
        EXPECT(n == (ssize_t)sizeof(e[0]), "read %zd bytes", n);
        EXPECT(e[0].id.iop == iop && e[0].id.tid == 0 && e[0].id.evt_mask == I2O_EVT_IND_CONFIGURATION_FLAG,
               "event %u/%u/0x%x", e[0].id.iop, e[0].id.tid, e[0].id.evt_mask);
        /* Two more; I2OEVTGET then reports pending and takes them one by one. */
        ioctl(fd, I2OVALIDATE, (unsigned long)iop);
        ioctl(fd, I2OVALIDATE, (unsigned long)iop);
        struct i2o_evt_get g;
        EXPECT(ioctl(fd, I2OEVTGET, &g) == 0 && g.pending == 1 && g.lost == 0, "EVTGET pending %d lost %d", g.pending, g.lost);
        EXPECT(ioctl(fd, I2OEVTGET, &g) == 0 && g.pending == 0, "EVTGET pending %d", g.pending);
        EXPECT(ioctl_errno(fd, I2OEVTGET, (unsigned long)&g) == ENOENT, "then ENOENT");
        /* 40 events into the 32-entry queue: 8 lost, the oldest dropped. */
        for (int i = 0; i < 40; i++)
            ioctl(fd, I2OVALIDATE, (unsigned long)iop);
        EXPECT(ioctl(fd, I2OEVTGET, &g) == 0 && g.pending == 31 && g.lost == 8, "overflow: pending %d lost %d",
               g.pending, g.lost);
    } else if (strcmp(cmd, "read-nonblock") == 0) {
        int nb = open(argv[1], O_RDWR | O_NONBLOCK);
        struct i2o_evt_info e;
        EXPECT(read(nb, &e, sizeof(e)) < 0 && errno == EAGAIN, "EAGAIN: %s", strerror(errno));
        EXPECT(read(nb, &e, 10) < 0 && errno == EINVAL, "short buffer: EINVAL");
        close(nb);
    } else if (strcmp(cmd, "sw-errors") == 0 && argc == 4) {
        static unsigned char buf[8192];
        unsigned int swlen = 100, maxfrag = 1, curfrag = 1;
        struct i2o_sw_xfer x = { .iop = (unsigned)atoi(argv[3]), .sw_type = I2O_SOFTWARE_MODULE_IOP_CONFIG,
                                 .sw_id = 99, .buf = NULL, .swlen = &swlen, .maxfrag = &maxfrag, .curfrag = &curfrag };
        EXPECT(ioctl_errno(fd, I2OSWDL, (unsigned long)&x) == EFAULT, "SWDL NULL buf");
        EXPECT(ioctl_errno(fd, I2OSWUL, (unsigned long)&x) == EFAULT, "SWUL NULL buf");
        x.buf = buf;
        x.curfrag = NULL;
        EXPECT(ioctl_errno(fd, I2OSWDL, (unsigned long)&x) == EFAULT, "SWDL NULL curfrag");
        x.curfrag = &curfrag;
        EXPECT(ioctl_errno(fd, I2OSWDL, 0) == EFAULT, "SWDL NULL arg");
        /* A buffer shorter than the fragment: the copy-in faults. */
        char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        munmap(two + 4096, 4096);
        swlen = 8192;
        x.buf = two + 4096 - 100;
        EXPECT(ioctl_errno(fd, I2OSWDL, (unsigned long)&x) == EFAULT, "SWDL short buffer");
        x.buf = buf;
        swlen = 100;
        x.iop = 17;
        EXPECT(ioctl_errno(fd, I2OSWDL, (unsigned long)&x) == ENXIO, "SWDL bad IOP");
        EXPECT(ioctl_errno(fd, I2OSWDEL, (unsigned long)&x) == ENXIO, "SWDEL bad IOP");
        x.iop = (unsigned)atoi(argv[3]);
        maxfrag = 7; /* inconsistent with swlen: refused with a positive ReqStatus */
        int r = ioctl(fd, I2OSWDL, &x);
        EXPECT(r == 0x0B, "inconsistent fragment counts: ioctl returned %d (want ReqStatus 0x0b)", r);
        maxfrag = 2;
        curfrag = 2;
        swlen = 9000;
        r = ioctl(fd, I2OSWDL, &x); /* a fragment 2 with no download in progress */
        EXPECT(r == 0x05, "fragment 2 first: ioctl returned %d (want 0x05)", r);
        swlen = 0;
        EXPECT(ioctl_errno(fd, I2OSWDEL, (unsigned long)&x) == ETIMEDOUT, "SWDEL of a missing module");
        EXPECT(swlen == 0, "nothing written back for a missing module");
    } else if (strcmp(cmd, "swdl-partial") == 0 && argc == 8) {
        static unsigned char buf[8192];
        unsigned int swlen = (unsigned)strtoul(argv[6], NULL, 0), maxfrag = (swlen + 8191) / 8192, curfrag;
        struct i2o_sw_xfer x = { .iop = (unsigned)atoi(argv[3]), .sw_type = (unsigned char)strtoul(argv[4], NULL, 0),
                                 .sw_id = (unsigned)strtoul(argv[5], NULL, 0), .buf = buf, .swlen = &swlen,
                                 .maxfrag = &maxfrag, .curfrag = &curfrag };
        unsigned n = (unsigned)atoi(argv[7]);
        memset(buf, 0x77, sizeof(buf));
        for (curfrag = 1; curfrag <= n && curfrag < maxfrag; curfrag++)
            EXPECT(ioctl(fd, I2OSWDL, &x) == 0, "fragment %u: %s", curfrag, strerror(errno));
    } else if (strcmp(cmd, "params-errors") == 0 && argc == 5) {
        unsigned short ops[] = { 1, 0, I2O_PARAMS_FIELD_GET, 0xF100, 0xFFFF };
        unsigned char res[1024];
        unsigned int reslen = 8;
        struct i2o_cmd_psetget pg = { .iop = (unsigned)atoi(argv[3]), .tid = (unsigned)strtoul(argv[4], NULL, 0),
                                      .opbuf = ops, .oplen = sizeof(ops), .resbuf = res, .reslen = &reslen };
        EXPECT(ioctl_errno(fd, I2OPARMGET, (unsigned long)&pg) == ENOBUFS, "small buffer: ENOBUFS");
        EXPECT(reslen == 4 + 4 + 324, "needed length %u", reslen);
        EXPECT(ioctl(fd, I2OPARMGET, &pg) == 0, "retry with the length: %s", strerror(errno));
        EXPECT(res[0] == 1 && res[6] == 0, "one block, success");
        pg.tid = 0x999;
        EXPECT(ioctl_errno(fd, I2OPARMGET, (unsigned long)&pg) == ENXIO, "bad TID: ENXIO");
        pg.tid = (unsigned)strtoul(argv[4], NULL, 0);
        pg.iop = 30;
        EXPECT(ioctl_errno(fd, I2OPARMGET, (unsigned long)&pg) == ENXIO, "bad IOP: ENXIO");
        pg.iop = (unsigned)atoi(argv[3]);
        pg.opbuf = NULL;
        EXPECT(ioctl_errno(fd, I2OPARMGET, (unsigned long)&pg) == EFAULT, "NULL opbuf: EFAULT");
        pg.opbuf = ops;
        pg.reslen = NULL;
        EXPECT(ioctl_errno(fd, I2OPARMGET, (unsigned long)&pg) == EFAULT, "NULL reslen: EFAULT");
        pg.reslen = &reslen;
        ops[3] = 0x7777; /* no such group: one failed block, EAGAIN as the kernel */
        EXPECT(ioctl_errno(fd, I2OPARMGET, (unsigned long)&pg) == EAGAIN, "single failed block: EAGAIN");
        ops[3] = 0xF100;
        pg.oplen = 3; /* truncated list */
        EXPECT(ioctl_errno(fd, I2OPARMGET, (unsigned long)&pg) == EAGAIN, "truncated list: EAGAIN");
        pg.oplen = 0x40000000;
        EXPECT(ioctl_errno(fd, I2OPARMGET, (unsigned long)&pg) == ENOMEM, "absurd oplen: ENOMEM");
    } else if (strcmp(cmd, "unknown32") == 0) {
        EXPECT(ioctl_errno(fd, _IO('i', 77), 0) == EINVAL, "unknown command from a 32-bit caller (2.6's compat_sys_ioctl)");
    } else if (strcmp(cmd, "passthru-nop") == 0 && argc == 4) {
        static unsigned int m[16];
        memset(m, 0, sizeof(m));
        m[0] = 4u << 16 | 0x01;
        m[1] = 0x00u << 24 | 1u << 12 | 0; /* UtilNOP to the executive */
        m[2] = 0xabcd0123;
        m[4] = 8u << 16;                   /* reply area: 8 words */
        struct i2o_cmd_passthru pt = { .iop = (unsigned)atoi(argv[3]), .msg = m };
        EXPECT(ioctl(fd, I2OPASSTHRU, &pt) == 0, "I2OPASSTHRU: %s", strerror(errno));
        EXPECT(m[4 + 2] == 0xabcd0123, "initiator context restored: %08x", m[6]);
        EXPECT((m[4 + 4] >> 24) == 0, "ReqStatus %u", m[8] >> 24);
        m[1] = 0x77u << 24 | 1u << 12 | 0;
        m[4] = 8u << 16;
        int r = ioctl(fd, I2OPASSTHRU, &pt);
        EXPECT(r == 5, "unknown function: ioctl returned %d, want ReqStatus 5", r);
    } else if (strcmp(cmd, "html") == 0 && argc == 5) {
        static char page[65536];
        unsigned int len = sizeof(page);
        struct i2o_html h = { .iop = (unsigned)atoi(argv[3]), .tid = (unsigned)strtoul(argv[4], NULL, 0), .page = 0,
                              .resbuf = page, .reslen = &len };
        EXPECT(ioctl(fd, I2OHTML, &h) == 0, "I2OHTML: %s", strerror(errno));
        EXPECT(len > 100 && len < sizeof(page) && memcmp(page, "<!DOCTYPE html>", 15) == 0, "page of %u bytes", len);
    } else if (strcmp(cmd, "sw-roundtrip") == 0 && argc == 4) {
        static unsigned char img[20000], frag[8192], back[20000];
        for (size_t i = 0; i < sizeof(img); i++)
            img[i] = (unsigned char)(i * 13 + 1);
        unsigned int swlen = sizeof(img), maxfrag = 3, curfrag;
        struct i2o_sw_xfer x = { .iop = (unsigned)atoi(argv[3]), .sw_type = I2O_SOFTWARE_MODULE_IOP_CONFIG, .sw_id = 0x32,
                                 .buf = frag, .swlen = &swlen, .maxfrag = &maxfrag, .curfrag = &curfrag };
        for (curfrag = 1; curfrag <= 3; curfrag++) {
            memcpy(frag, img + (curfrag - 1) * 8192, curfrag < 3 ? 8192 : sizeof(img) - 16384);
            EXPECT(ioctl(fd, I2OSWDL, &x) == 0, "SWDL %u: %s", curfrag, strerror(errno));
        }
        for (curfrag = 1; curfrag <= 3; curfrag++) {
            EXPECT(ioctl(fd, I2OSWUL, &x) == 0, "SWUL %u: %s", curfrag, strerror(errno));
            memcpy(back + (curfrag - 1) * 8192, frag, curfrag < 3 ? 8192 : sizeof(img) - 16384);
        }
        EXPECT(memcmp(img, back, sizeof(img)) == 0, "uploaded bytes differ");
        swlen = 0;
        EXPECT(ioctl(fd, I2OSWDEL, &x) == 0 && swlen == sizeof(img), "SWDEL: %s, swlen %u", strerror(errno), swlen);
    } else {
        fprintf(stderr, "ctl-client: bad command\n");
        return 2;
    }
    close(fd);
    printf("%s %s\n", failures ? "FAIL" : "ok  ", cmd);
    return failures ? 1 : 0;
}
