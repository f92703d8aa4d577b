/* Benchmark: the cost of one open + I2OPASSTHRU (a DPT SCSI_EXEC, TEST UNIT READY) +
 * close through the CUSE adapter, as DPT's engine repeats it for every message: the
 * 1st cycles against the 1,000th and the 10,000th (ratios, same process), and the
 * process's memory before and after.  The fake kernel of the cuse tests stands in for
 * /dev/cuse (the wire protocol and retry rounds are the real ones); the VM test (dpt)
 * measures the same with a real kernel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/i2o-dev.h>

#include "cuse/ctl-node.h"
#include "cuse/cuse-dev.h"
#include "fake-kernel.h"
#include "lib/config/config.h"
#include "lib/ctl/ctl.h"
#include "lib/i2o/iop.h"

#define CYCLES_DEFAULT 20000u
#define WINDOW 100u /* cycles per median: robust against a loaded machine */

static struct iop_ctl_node *node;

static void pump(void *ctx) {
    (void)ctx;
    iop_cuse_dev_process(iop_ctl_node_dev(node));
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median cost of WINDOW cycles from `from` (1-based). */
static double median(const double *t, unsigned from) {
    double w[WINDOW];
    memcpy(w, t + from, sizeof(w));
    qsort(w, WINDOW, sizeof(w[0]), cmp);
    return (w[WINDOW / 2 - 1] + w[WINDOW / 2]) / 2;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

int main(int argc, char **argv) {
    unsigned cycles = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : CYCLES_DEFAULT;
    if (cycles < 12000)
        cycles = 12000;
    struct iop_config *cfg;
    struct iop_system *sys;
    struct iop_ctl *ctl;
    struct fake_kernel k;
    int dfd;
    if (iop_config_parse(iop_config_default_json, strlen(iop_config_default_json), "<built-in>", &cfg, NULL) < 0 ||
        iop_system_new_from_config(cfg, &sys) < 0 || iop_ctl_new(sys, &ctl) < 0 || fake_kernel_init(&k, &dfd) < 0 ||
        iop_ctl_node_new(ctl, "i2octl", dfd, &node) < 0)
        return 1;
    iop_config_free(cfg);
    k.pump = pump;
    if (fake_kernel_cuse_init(&k) < 0)
        return 1;
    /* The message: DPT SCSI_EXEC, TEST UNIT READY to TID 0x00a, 12 words + reply. */
    static uint32_t msg[12 + 17];
    msg[0] = 12u << 16 | 0x01;
    msg[1] = 0xFFu << 24 | 1u << 12 | 0x00a;
    msg[4] = 0x001Bu << 16 | 0x81;
    msg[5] = 0x00a;
    msg[6] = 0x20a00000u | 6;
    struct i2o_cmd_passthru32 pt = { .iop = 0, .msg = 0x20000 };
    struct iop_umem_space user;
    iop_umem_space_init(&user);
    iop_umem_space_map(&user, 0x10000, &pt, sizeof(pt), false);
    iop_umem_space_map(&user, 0x20000, msg, sizeof(msg), true);
    double *t = calloc(cycles + 1, sizeof(*t));
    long rss0 = 0;
    if (!t)
        return 1;
    memset(t, 0xff, (cycles + 1) * sizeof(*t)); /* touched now: its pages are not growth later */
    for (unsigned i = 1; i <= cycles; i++) {
        if (i == 1001)
            rss0 = rss_kb();
        if (getenv("BENCH_PROGRESS") && i % 20000 == 0)
            fprintf(stderr, "%u cycles: VmRSS %ld kB\n", i, rss_kb());
        uint64_t fh;
        msg[12] = 17u << 16;
        double s = now();
        if (fake_kernel_open(&k, 0, &fh) < 0 || fake_kernel_ioctl(&k, fh, I2OPASSTHRU32, 0x10000, true, &user) != 0 ||
            fake_kernel_release(&k, fh) < 0 || msg[12 + 4] != 0) {
            fprintf(stderr, "cycle %u failed\n", i);
            return 1;
        }
        t[i] = now() - s;
    }
    long rss1 = rss_kb();
    double first = median(t, 1), at1000 = median(t, 951), at10000 = median(t, 9951), last = median(t, cycles - WINDOW + 1);
    printf("open+I2OPASSTHRU32+close: cycle 1 %.1f us; median of %u cycles around the 1st %.1f us, the 1,000th "
           "%.1f us, the 10,000th %.1f us, the last (%u) %.1f us\n",
           t[1] * 1e6, WINDOW, first * 1e6, at1000 * 1e6, at10000 * 1e6, cycles, last * 1e6);
    printf("ratios to the first: 1,000th %.2f, 10,000th %.2f, last %.2f\n", at1000 / first, at10000 / first,
           last / first);
    printf("VmRSS after 1,000 cycles %ld kB, after %u %ld kB; files open in the model %u\n", rss0, cycles, rss1,
           iop_ctl_file_count(ctl));
    free(t);
    iop_ctl_node_free(node);
    fake_kernel_close(&k);
    iop_ctl_free(ctl);
    iop_system_free(sys);
    return 0;
}
