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

#define CYCLES 20000u

static struct iop_ctl_node *node;

static void pump(void *ctx) {
    (void)ctx;
    iop_cuse_dev_process(iop_ctl_node_dev(node));
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

int main(void) {
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
    static double t[CYCLES + 1];
    long rss0 = 0;
    for (unsigned i = 1; i <= CYCLES; i++) {
        if (i == 1001)
            rss0 = rss_kb();
        uint64_t fh;
        msg[12] = 17u << 16;
        double s = now();
        if (fake_kernel_open(&k, 0, &fh) < 0 || fake_kernel_ioctl(&k, fh, I2OPASSTHRU32, 0x10000, true, &user) != 0 ||
            fake_kernel_release(&k, fh) < 0 || msg[12 + 4] != 0) {
            fprintf(stderr, "cycle %u failed\n", i);
            return 1;
        }
        t[i] = now() - s;
        if (getenv("BENCH_PROGRESS") && (i % 500 == 0 || i < 6))
            fprintf(stderr, "%u: %.1f us\n", i, t[i] * 1e6);
    }
    long rss1 = rss_kb();
    double a = 0, b = 0, c = 0;
    for (unsigned i = 1; i <= 10; i++)
        a += t[i] / 10;
    for (unsigned i = 991; i <= 1000; i++)
        b += t[i] / 10;
    for (unsigned i = 9991; i <= 10000; i++)
        c += t[i] / 10;
    double m1 = 0, m2 = 0;
    for (unsigned i = 1001; i <= 2000; i++)
        m1 += t[i] / 1000;
    for (unsigned i = CYCLES - 999; i <= CYCLES; i++)
        m2 += t[i] / 1000;
    printf("open+I2OPASSTHRU32+close, mean us: cycles 1-10 %.1f, 991-1000 %.1f, 9991-10000 %.1f\n", a * 1e6, b * 1e6,
           c * 1e6);
    printf("ratio 1000th/1st %.2f, 10000th/1st %.2f; cycles 1001-2000 %.1f us vs %u-%u %.1f us (ratio %.2f)\n", b / a,
           c / a, m1 * 1e6, CYCLES - 999, CYCLES, m2 * 1e6, m2 / m1);
    printf("VmRSS after 1000 cycles %ld kB, after %u %ld kB; open files in the model %u\n", rss0, CYCLES, rss1,
           iop_ctl_file_count(ctl));
    iop_ctl_node_free(node);
    fake_kernel_close(&k);
    iop_ctl_free(ctl);
    iop_system_free(sys);
    return 0;
}
