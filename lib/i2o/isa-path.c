#include "lib/i2o/isa-path.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dma/dma-save.h"
#include "lib/dma/dma-xfer.h"
#include "lib/dma/isamem.h"
#include "lib/util/log.h"

/* The device end: consume what the channel reads from memory, or produce what it
 * writes to memory, from the buffer of the move in progress. */
static int device_end(void *opaque, unsigned chan, enum iop_dma_dir dir, uint8_t *buf, size_t len) {
    struct iop_isa_path *p = opaque;
    (void)chan;
    if (dir == IOP_DMA_VERIFY)
        return (int)len;
    size_t n = p->dev_len - p->dev_pos < len ? p->dev_len - p->dev_pos : len;
    if (dir == IOP_DMA_TO_DEVICE)
        memcpy(p->dev + p->dev_pos, buf, n);
    else
        memcpy(buf, p->dev + p->dev_pos, n);
    p->dev_pos += n;
    return (int)n; /* fewer than len: the device drops DREQ */
}

int iop_isa_path_new(unsigned chan, struct iop_isa_path **ret) {
    assert(ret);
    if (chan >= IOP_DMA_NCHANNELS || chan == IOP_DMA_CASCADE_CHANNEL)
        return -EINVAL;
    struct iop_isa_path *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    int r = iop_isamem_new(&p->mem);
    if (r < 0) {
        free(p);
        return r;
    }
    iop_dma_init(&p->dma, p->mem);
    p->chan = chan;
    if ((r = iop_dma_request(&p->dma, chan, IOP_ISA_PATH_OWNER)) < 0 ||
        (r = iop_dma_register_channel(&p->dma, chan, device_end, p)) < 0) {
        iop_isa_path_free(p);
        return r;
    }
    *ret = p;
    return 0;
}

struct iop_isa_path *iop_isa_path_free(struct iop_isa_path *p) {
    if (!p)
        return NULL;
    struct iop_dma_xfer_info info;
    if (iop_dma_xfer_info(&p->dma, &info) == 0)
        iop_dma_xfer_abort(&p->dma);
    iop_isamem_free(p->mem);
    free(p);
    return NULL;
}

static bool wide_path(const struct iop_isa_path *p) { return p->chan > IOP_DMA_CASCADE_CHANNEL; }

void *iop_isa_path_buf_alloc(struct iop_isa_path *p, size_t len) {
    assert(p);
    uint32_t addr;
    uint8_t *host;
    if (iop_isamem_alloc_buf(p->mem, len, wide_path(p), &addr) < 0)
        return NULL;
    if (iop_isamem_map(p->mem, addr, len, &host) < 0) { /* cannot happen: a buffer is one block */
        iop_isamem_free_buf(p->mem, addr);
        return NULL;
    }
    return host;
}

void iop_isa_path_buf_free(struct iop_isa_path *p, void *buf) {
    assert(p);
    uint32_t addr;
    if (buf && iop_isamem_addr_of(p->mem, buf, 1, &addr) == 0)
        iop_isamem_free_buf(p->mem, addr);
}

size_t iop_isa_path_trim(struct iop_isa_path *p) {
    assert(p);
    struct iop_dma_xfer_info info;
    if (iop_dma_xfer_info(&p->dma, &info) == 0)
        return 0; /* a transfer holds its bounce buffer and ISA-resident data */
    return iop_isamem_trim(p->mem);
}

/* One transfer between the device end dev (dev_len bytes) and host memory, or, when
 * host is NULL, the ISA memory at addr. */
static int run_xfer(struct iop_isa_path *p, bool to_iop, uint8_t *dev, size_t dev_len, uint8_t *host, uint32_t addr,
                    size_t len) {
    p->dev = dev;
    p->dev_len = dev_len;
    p->dev_pos = 0;
    struct iop_dma_xfer_req req = {
        .chan = p->chan,
        .dir = to_iop ? IOP_DMA_TO_DEVICE : IOP_DMA_FROM_DEVICE,
        .host = host,
        .isa_addr = host ? 0 : addr,
        .len = len,
    };
    int r = iop_dma_xfer(&p->dma, &req);
    p->dev = NULL;
    p->dev_len = p->dev_pos = 0;
    return r;
}

int iop_isa_path_move(struct iop_isa_path *p, bool to_iop, void *dst, const void *src, size_t n) {
    assert(p && (n == 0 || (dst && src)));
    if (n == 0)
        return 0;
    if (n > IOP_ISA_PATH_MAX_MOVE)
        return -EINVAL;
    bool wide = wide_path(p);
    size_t len = wide ? (n + 1) & ~(size_t)1 : n;
    uint8_t *host = to_iop ? (uint8_t *)src : dst;
    uint8_t *dev = to_iop ? dst : (uint8_t *)src;
    uint32_t addr;
    /* Host memory inside the ISA space (an iop_isa_path_buf_alloc buffer) moves in
     * place: the channel is programmed with its bus address, the xfer helper splits it
     * at the boundaries and the device end copies straight to or from it.  Odd lengths
     * on a word channel take the padded path below. */
    if (len == n && iop_isamem_addr_of(p->mem, host, n, &addr) == 0 && !(wide && (addr & 1)))
        return run_xfer(p, to_iop, dev, n, NULL, addr, n);
    uint8_t *pad = NULL;
    if (len != n) {
        /* Odd count on a word channel: both ends see one padding byte. */
        if (!(pad = calloc(1, 2 * len)))
            return -ENOMEM;
        if (to_iop)
            memcpy(pad, src, n);
        else
            memcpy(pad + len, src, n);
        host = pad;
        dev = pad + len;
    }
    int r = run_xfer(p, to_iop, dev, len, host, 0, len);
    if (r >= 0 && pad)
        memcpy(dst, to_iop ? dev : host, n);
    free(pad);
    if (r < 0)
        return r;
    return (size_t)r > n ? (int)n : r;
}

int iop_isa_path_save(const struct iop_isa_path *p, void *buf, size_t cap) {
    assert(p);
    return iop_dma_save(&p->dma, buf, cap);
}

int iop_isa_path_load(struct iop_isa_path *p, const void *buf, size_t len, uint64_t *residue) {
    assert(p);
    /* The current state, to go back to if the blob turns out unusable. */
    uint8_t *old = malloc(iop_dma_save_size());
    if (!old)
        return -ENOMEM;
    int n = iop_dma_save(&p->dma, old, iop_dma_save_size());
    int r = n < 0 ? n : iop_dma_load(&p->dma, buf, len);
    if (r == 0 && iop_dma_path_blocked(&p->dma, p->chan)) {
        /* A state in which our channel cannot reach the bus (a controller disabled; for
         * channels 0-3 the cascade channel 4 masked or not in cascade mode) is a valid
         * 8237 state, but every later move would fail: not a usable saved state.
         * (Found by the dma-state fuzzer: such a file stopped the data path for good.) */
        (void)iop_dma_load(&p->dma, old, (size_t)n);
        r = -EINVAL;
    }
    free(old);
    if (r < 0)
        return r;
    if (residue)
        *residue = 0;
    struct iop_dma_xfer_info info;
    if (iop_dma_xfer_info(&p->dma, &info) == 0) {
        int left = iop_dma_xfer_abort(&p->dma);
        iop_log(LOG_NOTICE, "DMA channel %u: a %s transfer was interrupted by the restart after %llu of "
                "%llu bytes; residue %d bytes", info.chan, info.dir == IOP_DMA_TO_DEVICE ? "to-device" :
                "from-device", (unsigned long long)info.done, (unsigned long long)info.len, left);
        if (residue && left > 0)
            *residue = (uint64_t)left;
    }
    /* The mode and totals came from the blob; the channel and its device end are ours
     * (the blob may come from a configuration with another channel). */
    struct iop_dma_chan_status st;
    if (iop_dma_get_status(&p->dma, p->chan, &st) == 0 && !st.owned &&
        (r = iop_dma_request(&p->dma, p->chan, IOP_ISA_PATH_OWNER)) < 0)
        return r;
    return iop_dma_register_channel(&p->dma, p->chan, device_end, p);
}
