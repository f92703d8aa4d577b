/* bench-dma: simulated ISA DMA throughput of the high-level helper (host buffer ->
 * bounce buffer -> device and back) against a plain memcpy of the same buffers in the
 * same process.  Prints figures; asserts nothing about speed.
 *
 *   bench-dma [MiB]     (default 64) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/dma/dma-xfer.h"
#include "lib/dma/i8237.h"
#include "lib/dma/isamem.h"
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

int main(int argc, char **argv) {
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
    double worst = 1e30;

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
            double tb = 1e30, td = 1e30;
            for (int i = 0; i < RUNS; i++) {
                tb = dmin(tb, time_memcpy(dst, src, len));
                td = dmin(td, time_dma(&d, &v, chan, (enum iop_dma_dir)dir, host, len));
            }
            if (memcmp(host, devmem, len) != 0) {
                fprintf(stderr, "bench-dma: data mismatch on channel %u\n", chan);
                return 1;
            }
            double ratio = tb / td;
            if (ratio < worst)
                worst = ratio;
            printf("dma-copy ch%u (%s, %s): %.0f MB/s vs memcpy %.0f MB/s: ratio %.2f\n", chan,
                   chan >= 4 ? "16-bit, 128K blocks" : "8-bit, 64K blocks",
                   dir == IOP_DMA_TO_DEVICE ? "to device" : "from device", (double)len / td / 1e6,
                   (double)len / tb / 1e6, ratio);
        }
    }
    struct iop_dma_chan_status st;
    iop_dma_get_status(&d, 5, &st);
    printf("dma-copy: %zu MiB per run, best of %d; ch5 totals %llu bytes in %llu blocks (%llu bounced); "
           "worst ratio %.2f\n",
           mib, RUNS, (unsigned long long)st.totals.bytes, (unsigned long long)st.totals.chunks,
           (unsigned long long)st.totals.bounces, worst);
    iop_isamem_free(m);
    free(host);
    free(devmem);
    return 0;
}
