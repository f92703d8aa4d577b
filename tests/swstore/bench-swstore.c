/* The software store's durable writes on the host's file system (a benchmark, not a
 * test): the I2OSWDL of a one-fragment (8 KiB) module that replaces the stored one, and
 * the I2OSWDEL of it, as iopd runs them, without CUSE.  Each pair of operations is
 * timed; the medians and the fsync() calls per operation (counted by the crash hook's
 * steps: every TEMP_SYNCED and DIR_SYNCED is one) are printed.
 *
 *   bench-swstore DIR [PAIRS]      DIR on the file system to measure (created; emptied)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <linux/i2o-dev.h>

#include "lib/state/state.h"
#include "lib/swstore/swstore.h"
#include "lib/util/log.h"

static unsigned syncs;

static bool count_syncs(void *opaque, enum iop_state_step step, const char *name) {
    (void)opaque, (void)name;
    syncs += step == IOP_STATE_STEP_TEMP_SYNCED || step == IOP_STATE_STEP_DIR_SYNCED;
    return false;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench-swstore DIR [PAIRS]\n");
        return 2;
    }
    unsigned pairs = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 200;
    if (pairs == 0 || pairs > 100000)
        pairs = 200;
    iop_log_set_max_level(LOG_WARNING);
    mkdir(argv[1], 0700);
    struct iop_state_dir *dir;
    struct iop_swstore *s;
    if (iop_state_dir_open(argv[1], &dir) < 0 || iop_swstore_new(dir, NULL, &s) < 0) {
        fprintf(stderr, "bench-swstore: %s: cannot open the store\n", argv[1]);
        return 1;
    }
    iop_state_dir_set_crash_hook(dir, count_syncs, NULL);
    static uint8_t frag[IOP_SW_FRAG_SIZE];
    uint64_t *dl = calloc(pairs, sizeof(*dl)), *del = calloc(pairs, sizeof(*del));
    unsigned dl_syncs = 0, del_syncs = 0;
    struct iop_sw_xfer x = { .sw_type = I2O_SOFTWARE_MODULE_IOP_PRIVATE, .sw_id = 1, .swlen = sizeof(frag),
                             .maxfrag = 1, .curfrag = 1 };
    for (unsigned i = 0; i < pairs; i++) {
        /* A download that replaces the module (stored by the previous one), then a
         * download and its removal: I2OSWDL and I2OSWDEL as ctl-bench makes them. */
        memset(frag, (int)i, sizeof(frag));
        if (i == 0 && iop_swstore_download(s, &x, frag, sizeof(frag)) != 0)
            return 1;
        syncs = 0;
        uint64_t t = now_ns();
        int r = iop_swstore_download(s, &x, frag, sizeof(frag));
        dl[i] = now_ns() - t;
        dl_syncs = syncs;
        syncs = 0;
        t = now_ns();
        r |= iop_swstore_remove(s, &x, NULL);
        del[i] = now_ns() - t;
        del_syncs = syncs;
        r |= iop_swstore_download(s, &x, frag, sizeof(frag));
        if (r != 0) {
            fprintf(stderr, "bench-swstore: an operation failed (%d)\n", r);
            return 1;
        }
    }
    qsort(dl, pairs, sizeof(*dl), cmp_u64);
    qsort(del, pairs, sizeof(*del), cmp_u64);
    printf("swdl-replace: median %.1f us (p10 %.1f, p90 %.1f), %u fsync per call\n", dl[pairs / 2] / 1e3,
           dl[pairs / 10] / 1e3, dl[pairs * 9 / 10] / 1e3, dl_syncs);
    printf("swdel:        median %.1f us (p10 %.1f, p90 %.1f), %u fsync per call\n", del[pairs / 2] / 1e3,
           del[pairs / 10] / 1e3, del[pairs * 9 / 10] / 1e3, del_syncs);
    iop_swstore_remove(s, &x, NULL);
    iop_swstore_free(s);
    iop_state_dir_free(dir);
    free(dl);
    free(del);
    return 0;
}
