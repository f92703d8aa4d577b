/* bench-dma: simulated ISA DMA throughput against a plain memcpy of the same bytes in
 * the same process.  Prints figures; asserts nothing about speed.
 *
 *   bench-dma [MiB]     (default 64)
 *   bench-dma --moves N [KiB]   N path moves each way on channels 5 and 1, of KiB (8:
 *                        the software store's fragments) or, without it, of 8 KiB and of
 *                        one block each; untimed, for instruction counts:
 *                        valgrind --tool=callgrind --toggle-collect=iop_isa_path_move
 *
 * Two kinds of transfer, on a 16-bit (5) and an 8-bit (1) channel, both directions:
 *  - "bounced": one transfer of MiB from ordinary host memory through the 8237 helper,
 *    which bounces every block through an ISA buffer (two copies);
 *  - "path": what iopd's data paths do (lib/i2o/isa-path.h): moves of 8 KiB (software
 *    store fragments) and of one 64K/128K block (block storage I/O) whose host side is
 *    a DMA buffer in ISA memory; the channel is programmed with its bus address and the
 *    device end copies once.  The baseline copies the same pieces with memcpy.
 * Targets: path >= 0.9; the bounced figure is for reference. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/dma/dma-xfer.h"
#include "lib/dma/i8237.h"
#include "lib/dma/isamem.h"
#include "lib/i2o/isa-path.h"
#include "lib/util/log.h"

/* Best of several runs: the machine is shared, the minimum is the least disturbed. */
#define RUNS 9

struct device {
    uint8_t *mem; /* the device's side: where a download lands, where an upload comes from */
    size_t pos;
};

static int dev_fn(void *opaque, unsigned chan, enum iop_dma_dir dir, uint8_t *buf, size_t len) {
    struct device *v = opaque;
    (void)chan;
    if (dir == IOP_DMA_TO_DEVICE)
        memcpy(v->mem + v->pos, buf, len);
    else if (dir == IOP_DMA_FROM_DEVICE)
        memcpy(buf, v->mem + v->pos, len);
    v->pos += len;
    return (int)len;
}

static double dmin(double a, double b) { return a < b ? a : b; }

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double time_memcpy(uint8_t *dst, const uint8_t *src, size_t len) {
    double t = now();
    memcpy(dst, src, len);
    return now() - t;
}

static double time_dma(struct iop_dma8237 *d, struct device *v, unsigned chan, enum iop_dma_dir dir, uint8_t *host,
                       size_t len) {
    struct iop_dma_xfer_req req = { .chan = chan, .dir = dir, .host = host, .len = len };
    v->pos = 0;
    double t = now();
    int r = iop_dma_xfer(d, &req);
    t = now() - t;
    if (r != (int)len) {
        fprintf(stderr, "bench-dma: transfer on channel %u returned %d\n", chan, r);
        exit(1);
    }
    return t;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of n per-pair ratios (sorts them). */
static double median(double *v, size_t n) {
    qsort(v, n, sizeof(*v), cmp_double);
    return v[(n - 1) / 2];
}

/* One piece: a path move (dma) or the memcpy it stands against. */
static void move(struct iop_isa_path *p, int dma, int to_iop, uint8_t *buf, uint8_t *dev, size_t piece) {
    int r = (int)piece;
    if (!dma && to_iop)
        memcpy(dev, buf, piece);
    else if (!dma)
        memcpy(buf, dev, piece);
    else if (to_iop)
        r = iop_isa_path_move(p, true, dev, buf, piece);
    else
        r = iop_isa_path_move(p, false, buf, dev, piece);
    if (r != (int)piece) {
        fprintf(stderr, "bench-dma: path move returned %d\n", r);
        exit(1);
    }
}

/* iop_isa_path_move of `piece` bytes at a time between a DMA buffer of the path and
 * the device memory (len bytes in all), against memcpy of the same pieces.  The two
 * alternate in batches of BATCH moves and each pair of batches gives a ratio: the
 * median of those is the figure (the machine's speed drifts; a pair sees one moment). */
#define BATCH 32
static void bench_path(unsigned chan, size_t len, size_t piece, uint8_t *devmem, double *worst) {
    size_t total = len;
    /* hot: the device side is a few pieces that stay in the cache (the software store's
     * fragment buffer); streaming: it walks through len bytes (a disk's data). */
    bool hot = len < (1u << 20);
    struct iop_isa_path *p = NULL;
    if (iop_isa_path_new(chan, &p) < 0) {
        fprintf(stderr, "bench-dma: no path\n");
        exit(1);
    }
    uint8_t *buf = iop_isa_path_buf_alloc(p, piece);
    if (!buf) {
        fprintf(stderr, "bench-dma: no DMA buffer of %zu bytes\n", piece);
        exit(1);
    }
    for (size_t i = 0; i < piece; i++)
        buf[i] = (uint8_t)(i * 13 + 5);
    if (hot)
        total = 64u << 20;
    size_t pairs = RUNS * (total / piece) / BATCH, k = 0;
    double *ratio = malloc(pairs * sizeof(double));
    for (int to_iop = 1; to_iop >= 0; to_iop--) {
        double tb = 0, td = 0, med, p10, p90;
        if (hot) {
            for (k = 0; k < pairs; k++) {
                double t[2] = { 0, 0 };
                /* ABBA, so that neither always finds the other's data in the cache. */
                for (int j = 0; j < 2; j++) {
                    int dma = (int)(k & 1) ^ j;
                    double t0 = now();
                    for (size_t i = 0, at = 0; i < BATCH; i++, at = (at + piece) % len)
                        move(p, dma, to_iop, buf, devmem + at, piece);
                    t[dma] = now() - t0;
                }
                ratio[k] = t[0] / t[1];
                tb += t[0];
                td += t[1];
            }
            med = median(ratio, pairs);
            p10 = ratio[(pairs - 1) / 10];
            p90 = ratio[(pairs - 1) * 9 / 10];
        } else {
            /* Each side walks its own half of the device memory, which is far larger
             * than the caches: both always stream.  Passes in ABBA pairs. */
            size_t half = len / 2 / piece * piece;
            double pr[3 * RUNS];
            for (int run = 0; run < 3 * RUNS; run++) {
                double t[2];
                for (int j = 0; j < 2; j++) {
                    int dma = (run & 1) ^ j;
                    double t0 = now();
                    for (size_t at = 0; at < half; at += piece)
                        move(p, dma, to_iop, buf, devmem + (dma ? half : 0) + at, piece);
                    t[dma] = now() - t0;
                }
                pr[run] = t[0] / t[1];
                tb += t[0];
                td += t[1];
            }
            med = median(pr, 3 * RUNS);
            p10 = pr[(3 * RUNS - 1) / 10];
            p90 = pr[(3 * RUNS - 1) * 9 / 10];
            pairs = 3 * RUNS * (half / piece) / BATCH;
        }
        if (med < *worst)
            *worst = med;
        (void)tb, (void)td;
        printf("dma-path ch%u (%s, %s), %s, moves of %zu KiB from a DMA buffer: ratio %.2f", chan,
               chan >= 4 ? "16-bit" : "8-bit", to_iop ? "to device" : "from device", hot ? "hot" : "streaming",
               piece >> 10, med);
        if (hot)
            printf(" (median of %zu pairs of %d moves; p10 %.2f, p90 %.2f)\n", pairs, BATCH, p10, p90);
        else
            printf(" (median of %d pairs of passes; p10 %.2f, p90 %.2f)\n", 3 * RUNS, p10, p90);
    }
    free(ratio);
    struct iop_dma_chan_status st;
    iop_dma_get_status(&p->dma, chan, &st);
    printf("dma-path ch%u: totals %llu bytes in %llu blocks, %llu bounced\n", chan,
           (unsigned long long)st.totals.bytes, (unsigned long long)st.totals.chunks,
           (unsigned long long)st.totals.bounces);
    iop_isa_path_buf_free(p, buf);
    iop_isa_path_free(p);
}

/* N moves each way on channels 5 and 1 of `kib` KiB (0: of 8 KiB and of one block),
 * untimed: the instructions a move costs, by callgrind (the copies are the device
 * end's memcpy, the rest is the path's). */
static int count_moves(size_t n, size_t kib) {
    static const unsigned chans[] = { 5, 1 };
    if (kib > IOP_ISAMEM_BOUNDARY_8BIT >> 10) {
        fprintf(stderr, "usage: bench-dma --moves N [KiB 1..64]\n");
        return 2;
    }
    uint8_t *devmem = calloc(1, IOP_ISAMEM_BOUNDARY_16BIT);
    if (!devmem)
        return 1;
    for (size_t c = 0; c < 2; c++) {
        size_t block = iop_isamem_boundary(chans[c] >= 4);
        const size_t pieces[] = { kib ? kib << 10 : 8u << 10, block };
        struct iop_isa_path *p = NULL;
        if (iop_isa_path_new(chans[c], &p) < 0)
            return 1;
        for (size_t k = 0; k < (kib ? 1u : 2u); k++) {
            uint8_t *buf = iop_isa_path_buf_alloc(p, pieces[k]);
            if (!buf)
                return 1;
            for (size_t i = 0; i < n; i++) {
                move(p, 1, 1, buf, devmem, pieces[k]);
                move(p, 1, 0, buf, devmem, pieces[k]);
            }
            iop_isa_path_buf_free(p, buf);
        }
        iop_isa_path_free(p);
    }
    free(devmem);
    if (kib)
        printf("dma: %zu moves of %zu KiB each way on channels 5 and 1\n", n, kib);
    else
        printf("dma: %zu moves of 8 KiB and of one block each way on channels 5 and 1\n", n);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "--moves") == 0)
        return count_moves(strtoul(argv[2], NULL, 10), argc > 3 ? strtoul(argv[3], NULL, 10) : 0);
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
    if (mib == 0 || mib > 512) {
        fprintf(stderr, "usage: bench-dma [MiB 1..512]\n");
        return 2;
    }
    size_t len = mib << 20;
    uint8_t *host = malloc(len), *devmem = malloc(len);
    struct iop_isamem *m = NULL;
    struct iop_dma8237 d;
    struct device v = { 0 };
    double worst_bounced = 1e30, worst_path = 1e30;

    if (!host || !devmem || iop_isamem_new(&m) < 0) {
        fprintf(stderr, "bench-dma: out of memory\n");
        return 1;
    }
    /* Touch every page first, so neither side pays the page faults. */
    for (size_t i = 0; i < len; i++)
        host[i] = (uint8_t)(i * 7 + (i >> 12));
    memset(devmem, 0, len);

    iop_dma_init(&d, m);
    v.mem = devmem;
    static const unsigned chans[] = { 5, 1 };
    for (size_t c = 0; c < 2; c++) {
        iop_dma_register_channel(&d, chans[c], dev_fn, &v);
        iop_dma_request(&d, chans[c], "bench");
    }

    for (size_t c = 0; c < 2; c++) {
        unsigned chan = chans[c];
        for (int dir = IOP_DMA_TO_DEVICE; dir <= IOP_DMA_FROM_DEVICE; dir++) {
            uint8_t *dst = dir == IOP_DMA_TO_DEVICE ? devmem : host;
            uint8_t *src = dir == IOP_DMA_TO_DEVICE ? host : devmem;
            /* Alternate the two so both see the same machine load; keep the best. */
            /* Pairs in ABBA order (64 MiB is far more than the caches: neither side
             * finds the other's data there); the median of the pair ratios. */
            double tb = 1e30, td = 1e30, pair[RUNS];
            for (int i = 0; i < RUNS; i++) {
                double b, t;
                if (i & 1) {
                    t = time_dma(&d, &v, chan, (enum iop_dma_dir)dir, host, len);
                    b = time_memcpy(dst, src, len);
                } else {
                    b = time_memcpy(dst, src, len);
                    t = time_dma(&d, &v, chan, (enum iop_dma_dir)dir, host, len);
                }
                tb = dmin(tb, b);
                td = dmin(td, t);
                pair[i] = b / t;
            }
            if (memcmp(host, devmem, len) != 0) {
                fprintf(stderr, "bench-dma: data mismatch on channel %u\n", chan);
                return 1;
            }
            double ratio = median(pair, RUNS);
            if (ratio < worst_bounced)
                worst_bounced = ratio;
            printf("dma-bounced ch%u (%s, %s): %.0f MB/s vs memcpy %.0f MB/s: ratio %.2f\n", chan,
                   chan >= 4 ? "16-bit, 128K blocks" : "8-bit, 64K blocks",
                   dir == IOP_DMA_TO_DEVICE ? "to device" : "from device", (double)len / td / 1e6,
                   (double)len / tb / 1e6, ratio);
        }
    }
    struct iop_dma_chan_status st;
    iop_dma_get_status(&d, 5, &st);
    printf("dma-bounced: %zu MiB per run, ratio: median of %d ABBA pairs; ch5 totals %llu bytes in %llu blocks (%llu bounced)\n",
           mib, RUNS, (unsigned long long)st.totals.bytes, (unsigned long long)st.totals.chunks,
           (unsigned long long)st.totals.bounces);
    iop_isamem_free(m);
    free(host);

    for (size_t c = 0; c < 2; c++) {
        size_t block = iop_isamem_boundary(chans[c] >= 4);
        bench_path(chans[c], 4 * (8u << 10), 8u << 10, devmem, &worst_path);
        bench_path(chans[c], len, 8u << 10, devmem, &worst_path);
        bench_path(chans[c], 4 * block, block, devmem, &worst_path);
        bench_path(chans[c], len, block, devmem, &worst_path);
    }
    free(devmem);
    printf("dma: worst ratio, path (iopd's software store and block I/O, target >= 0.9): %.2f; bounced "
           "(ordinary host memory, for reference): %.2f\n", worst_path, worst_bounced);
    return 0;
}
