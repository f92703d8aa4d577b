/* What the daemon itself does for one ioctl, without CUSE (a profiling aid, not a
 * test): the built-in configuration, lib/ctl's dispatcher on an in-process address
 * space, the same calls ctl-bench makes (tests/load/load-ops.c: TID 0, page 0 of the
 * HTML, group 0xF100, an 8 KiB module, 4 KiB BSA blocks on TID 0x00a).
 *
 *   ioctl-work OP [CALLS [pages|cold]]     OP: lct parmget parmset html swul swdl bsa-write bsa-read
 *
 * prints the mean time per call; with "cold", also the mean time of a call made right
 * after a round trip through a pipe to another process (as a CUSE round puts the
 * client and the kernel between two of the daemon's steps: caches and, under TCG, the
 * emulated TLB and its jump cache are what that leaves); with "pages", also the memory pages one call touches
 * (read or written), by mapping: the Referenced bits of /proc/self/smaps, cleared
 * through /proc/self/clear_refs before the call, less what the same measurement
 * touches around no call.  Under TCG every context switch empties the emulated TLB, so
 * each page a call touches costs a refill in every CUSE round; this counts them.  For instruction counts, run it under
 *   valgrind --tool=callgrind --toggle-collect=iop_ctl_ioctl ioctl-work OP 1000
 * and divide by CALLS: ctl-bench's ratio against the no-work CUSE device is the
 * round trips plus this. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/i2o-dev.h>

#include "lib/config/config.h"
#include "lib/ctl/ctl.h"
#include "lib/i2o/devparams.h"
#include "lib/i2o/iop.h"
#include "lib/state/state.h"
#include "lib/swstore/swstore.h"
#include "lib/umem/umem-space.h"

static struct iop_ctl *ctl;
static struct iop_ctl_file *file;
static struct iop_umem_space user;

static long ioc(unsigned cmd, void *arg) { return iop_ctl_ioctl(ctl, file, cmd, (uintptr_t)arg, 0, &user.um, NULL); }

static uint8_t res[65536], frag[8192];
static unsigned int reslen;

static struct i2o_cmd_hrtlct lct = { .iop = 0, .resbuf = res, .reslen = &reslen };

static long op_lct(void) {
    reslen = sizeof(res);
    return ioc(I2OLCTGET, &lct);
}

static uint16_t get_ops[] = { 1, 0, I2O_PARAMS_FIELD_GET, 0xF100, 0xFFFF };
static struct i2o_cmd_psetget get = { .iop = 0, .tid = 0, .opbuf = get_ops, .oplen = sizeof(get_ops),
                                      .resbuf = res, .reslen = &reslen };

static long op_parmget(void) {
    reslen = sizeof(res);
    return ioc(I2OPARMGET, &get);
}

static struct __attribute__((packed)) {
    uint16_t w[6];
    char name[64];
} set_ops = { { 1, 0, I2O_PARAMS_FIELD_SET, 0xF102, 1, 0 }, "work" };

static struct i2o_cmd_psetget set = { .iop = 0, .tid = 0, .opbuf = &set_ops, .oplen = sizeof(set_ops),
                                      .resbuf = res, .reslen = &reslen };

static long op_parmset(void) {
    static unsigned n;
    snprintf(set_ops.name, sizeof(set_ops.name), "work-%u", n++ % 1000);
    reslen = sizeof(res);
    return ioc(I2OPARMSET, &set);
}

static struct i2o_html html = { .iop = 0, .tid = 0, .page = 0, .resbuf = res, .reslen = &reslen };

static long op_html(void) {
    reslen = sizeof(res);
    return ioc(I2OHTML, &html);
}

static unsigned int swlen = sizeof(frag), maxfrag = 1, curfrag = 1;
static struct i2o_sw_xfer sw = { .iop = 0, .flags = 0, .sw_type = I2O_SOFTWARE_MODULE_IOP_PRIVATE, .sw_id = 0x77,
                                 .buf = frag, .swlen = &swlen, .maxfrag = &maxfrag, .curfrag = &curfrag };

static long op_swul(void) { return ioc(I2OSWUL, &sw); }
static long op_swdl(void) { return ioc(I2OSWDL, &sw); } /* the module again: replaced */

/* BsaBlockWrite / BsaBlockRead of 4 KiB at block 8 of TID 0x00a, one simple SGL
 * element (the frame load-ops.c's bsa() builds). */
static uint32_t msg[10 + 17];
static uint8_t block[4096];
#define BLOCK_ADDR 0x30000u /* SGL addresses are 32 bits: the block is mapped there */
static struct i2o_cmd_passthru pt = { .iop = 0, .msg = msg };

static long bsa(bool write) {
    memset(msg, 0, sizeof(msg));
    msg[0] = 10u << 16 | 8u << 4 | 1;                                /* 10 words, SGL at word 8 */
    msg[1] = (write ? 0x31u : 0x30u) << 24 | 1u << 12 | 0x00a;       /* BSA_BLOCK_WRITE / READ */
    msg[4] = 0;                                                      /* control */
    msg[5] = 4096;                                                   /* byte count */
    msg[6] = 8 * 512;                                                /* offset, low */
    msg[7] = 0;
    msg[8] = 0xD0000000u | (write ? 0x04000000u : 0) | 4096;        /* simple, last, end */
    msg[9] = BLOCK_ADDR;
    msg[10] = 17u << 16;                                             /* reply area: 17 words */
    return ioc(I2OPASSTHRU, &pt);
}

static long op_bsa_write(void) { return bsa(true); }
static long op_bsa_read(void) { return bsa(false); }

static const struct {
    const char *name;
    long (*fn)(void);
} ops[] = {
    { "lct", op_lct }, { "parmget", op_parmget }, { "parmset", op_parmset }, { "html", op_html },
    { "swul", op_swul }, { "swdl", op_swdl }, { "bsa-write", op_bsa_write }, { "bsa-read", op_bsa_read },
};

/* The daemon saves changed parameters in a burst's wake (daemon.c's save hook); so
 * does this, at the end: a PARMSET's own cost excludes the file write. */
static void params_pending(void *ctx) { (void)ctx; }

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Referenced kB per mapping, from /proc/self/smaps: read with plain system calls into
 * static memory, so that the measurement itself touches the same pages every time. */
#define MAPS_MAX 64
struct maps_ref {
    unsigned n;
    char name[MAPS_MAX][48];
    long kb[MAPS_MAX];
};
static char smaps_buf[1 << 20];

/* Clearing the bits does not flush the TLB (x86 does not, by design), and a page
 * whose translation is still cached is not marked again.  A round trip through a pipe
 * to a child process switches address spaces, which empties QEMU's emulated TLB (TCG)
 * as a CUSE round does: what the call touches after that is counted.  (On hardware with
 * PCID the switch may keep translations: there the count is a lower bound.) */
static int ping[2] = { -1, -1 }, pong[2] = { -1, -1 };

static void clear_refs(void) {
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    if (fd >= 0) {
        (void)!write(fd, "1", 1);
        close(fd);
    }
    char c = 0;
    if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
        fprintf(stderr, "ioctl-work: the switching child is gone\n");
}

static void start_switcher(void) {
    if (ping[0] >= 0 || pipe(ping) < 0 || pipe(pong) < 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        while (read(ping[0], &c, 1) == 1 && write(pong[1], &c, 1) == 1)
            ;
        _exit(0);
    }
}

static void maps_add(struct maps_ref *m, const char *name, long kb) {
    unsigned i = 0;
    while (i < m->n && strcmp(m->name[i], name) != 0)
        i++;
    if (i == m->n) {
        if (m->n == MAPS_MAX)
            return;
        snprintf(m->name[m->n++], sizeof(m->name[0]), "%s", name);
    }
    m->kb[i] += kb;
}

static void read_refs(struct maps_ref *m) {
    size_t n = 0;
    int fd = open("/proc/self/smaps", O_RDONLY);
    ssize_t k;
    while (fd >= 0 && n < sizeof(smaps_buf) - 1 && (k = read(fd, smaps_buf + n, sizeof(smaps_buf) - 1 - n)) > 0)
        n += (size_t)k;
    if (fd >= 0)
        close(fd);
    smaps_buf[n] = 0;
    memset(m, 0, sizeof(*m));
    char name[48] = "?";
    for (char *line = smaps_buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        unsigned long lo, hi;
        char perms[8];
        int off = 0;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s%n", &lo, &hi, perms, &off) == 3) {
            const char *path = line + off;
            while (*path == ' ')
                path++;
            const char *base = strrchr(path, '/');
            snprintf(name, sizeof(name), "%s %s", *path ? (base ? base + 1 : path) : "[anon]", perms);
        } else if (!strncmp(line, "Referenced:", 11)) {
            maps_add(m, name, strtol(line + 11, NULL, 10));
        }
    }
}

/* Mean time of calls made right after an address-space switch (see the top). */
static void report_cold(const char *op, long (*fn)(void), unsigned calls) {
    start_switcher();
    double total = 0;
    for (unsigned i = 0; i < calls; i++) {
        char c = 0;
        if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
            return;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        fn();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        total += (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    }
    printf("%s: %u calls after a switch, %.2f us each\n", op, calls, total / calls / 1e3);
}

/* Pages one call of fn touches, by mapping: the median of 7 tries, less no call. */
static void report_pages(const char *op, long (*fn)(void)) {
    enum { TRIES = 7 };
    static struct maps_ref none[TRIES], call[TRIES];
    start_switcher();
    for (int t = 0; t < TRIES; t++) {
        clear_refs();
        read_refs(&none[t]);
        clear_refs();
        fn();
        read_refs(&call[t]);
    }
    long total = 0;
    printf("%s: pages touched by one call (median of %d; by mapping, less the measurement's own):\n", op, TRIES);
    for (unsigned i = 0; i < call[0].n; i++) {
        long d[TRIES];
        for (int t = 0; t < TRIES; t++) {
            long base = 0;
            for (unsigned j = 0; j < none[t].n; j++)
                if (!strcmp(none[t].name[j], call[0].name[i]))
                    base = none[t].kb[j];
            long got = 0;
            for (unsigned j = 0; j < call[t].n; j++)
                if (!strcmp(call[t].name[j], call[0].name[i]))
                    got = call[t].kb[j];
            d[t] = (got - base) / 4;
        }
        for (int a = 1; a < TRIES; a++)
            for (int b = a; b > 0 && d[b] < d[b - 1]; b--) {
                long x = d[b];
                d[b] = d[b - 1];
                d[b - 1] = x;
            }
        if (d[TRIES / 2] != 0)
            printf("  %5ld  %s\n", d[TRIES / 2], call[0].name[i]);
        total += d[TRIES / 2];
    }
    printf("  %5ld  in all\n", total);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: ioctl-work OP [CALLS [pages|cold]]  (lct parmget parmset html swul swdl bsa-write bsa-read)\n");
        return 2;
    }
    unsigned calls = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 10000;
    long (*fn)(void) = NULL;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (!strcmp(argv[1], ops[i].name))
            fn = ops[i].fn;
    if (!fn) {
        fprintf(stderr, "ioctl-work: unknown op %s\n", argv[1]);
        return 2;
    }
    char dir[] = "/tmp/ioctl-work-XXXXXX";
    struct iop_config *cfg;
    struct iop_system *sys;
    struct iop_state_dir *sd;
    struct iop_swstore *store;
    if (!mkdtemp(dir) || iop_state_dir_open(dir, &sd) < 0 || iop_swstore_new(sd, NULL, &store) < 0 ||
        iop_config_parse(iop_config_default_json, strlen(iop_config_default_json), "<built-in>", &cfg, NULL) < 0 ||
        iop_system_new_from_config(cfg, &sys) < 0 || iop_ctl_new(sys, &ctl) < 0 || iop_ctl_open(ctl, &file) < 0) {
        fprintf(stderr, "ioctl-work: setup failed\n");
        return 1;
    }
    iop_config_free(cfg);
    sys->iop[0]->sw = store;
    sys->iop[0]->state = sd;
    sys->save_hook = (struct iop_save_hook){ .pending = params_pending };
    iop_umem_space_init(&user);
    iop_umem_space_map_self(&user, res, sizeof(res), true);
    iop_umem_space_map_self(&user, frag, sizeof(frag), true);
    iop_umem_space_map_self(&user, &reslen, sizeof(reslen), true);
    iop_umem_space_map_self(&user, &swlen, sizeof(swlen), true);
    iop_umem_space_map_self(&user, &maxfrag, sizeof(maxfrag), false);
    iop_umem_space_map_self(&user, &curfrag, sizeof(curfrag), false);
    iop_umem_space_map_self(&user, &sw, sizeof(sw), false);
    iop_umem_space_map_self(&user, msg, sizeof(msg), true);
    iop_umem_space_map_self(&user, &pt, sizeof(pt), false);
    iop_umem_space_map_self(&user, &set_ops, sizeof(set_ops), false);
    iop_umem_space_map(&user, BLOCK_ADDR, block, sizeof(block), true);
    iop_umem_space_map_self(&user, &lct, sizeof(lct), false);
    iop_umem_space_map_self(&user, &get, sizeof(get), false);
    iop_umem_space_map_self(&user, get_ops, sizeof(get_ops), false);
    iop_umem_space_map_self(&user, &set, sizeof(set), false);
    iop_umem_space_map_self(&user, &html, sizeof(html), false);
    /* The module SWUL reads: downloaded once, one fragment. */
    memset(frag, 0x5A, sizeof(frag));
    long r = ioc(I2OSWDL, &sw);
    if (r != 0) {
        fprintf(stderr, "ioctl-work: I2OSWDL: %ld\n", r);
        return 1;
    }
    if ((r = fn()) < 0) {
        fprintf(stderr, "ioctl-work: %s: %ld (%s)\n", argv[1], r, strerror((int)-r));
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 0; i < calls; i++)
        if ((r = fn()) < 0) {
            fprintf(stderr, "ioctl-work: %s call %u: %ld\n", argv[1], i, r);
            return 1;
        }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%s: %u calls, %.2f us each (result %ld)\n", argv[1], calls,
           ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / calls / 1e3, r);
    if (argc > 3 && !strcmp(argv[3], "pages"))
        report_pages(argv[1], fn);
    if (argc > 3 && !strcmp(argv[3], "cold"))
        report_cold(argv[1], fn, calls);
    if (iop_system_params_flush(sys))
        fprintf(stderr, "ioctl-work: parameters not saved\n");
    iop_ctl_release(file);
    iop_ctl_free(ctl);
    iop_system_free(sys);
    iop_swstore_free(store);
    iop_state_dir_free(sd);
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS); /* the state directory made above */
    return 0;
}
