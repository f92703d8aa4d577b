#include "lib/i2o/dma-state-fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "lib/dma/dma-save.h"
#include "lib/i2o/isa-path.h"
#include "lib/util/bytes.h"
#include "lib/util/cleanup.h"
#include "lib/util/fuzz.h"

#define BLOB_CAP 2048u
#define MOVE_LEN 777u /* odd: the 16-bit channels pad it */

static int check_moves(struct iop_isa_path *p) {
    static uint8_t src[MOVE_LEN], dst[MOVE_LEN], back[MOVE_LEN];
    for (unsigned i = 0; i < MOVE_LEN; i++)
        src[i] = (uint8_t)(i * 7 + 3);
    memset(dst, 0, sizeof(dst));
    memset(back, 0, sizeof(back));
    int r = iop_isa_path_move(p, true, dst, src, MOVE_LEN);
    if (r != (int)MOVE_LEN || memcmp(dst, src, MOVE_LEN) != 0)
        return IOP_FUZZ_FAIL("dma-state: a move to the IOP after the load gave %d", r);
    r = iop_isa_path_move(p, false, back, dst, MOVE_LEN);
    if (r != (int)MOVE_LEN || memcmp(back, src, MOVE_LEN) != 0)
        return IOP_FUZZ_FAIL("dma-state: a move from the IOP after the load gave %d", r);
    return 0;
}

int iop_dma_state_fuzz_one(const uint8_t *data, size_t len) {
    static const unsigned chans[8] = { 0, 1, 2, 3, 5, 6, 7, 5 };
    struct iop_fuzz_in in = iop_fuzz_in(data, len);
    uint8_t flags = iop_fuzz_u8(&in);
    const uint8_t *body;
    size_t n = iop_fuzz_rest(&in, &body);
    uint8_t *blob = malloc(BLOB_CAP + n);
    if (!blob)
        return -ENOMEM;
    if (flags & 0x10) {
        /* A real blob (after some traffic with bit 5) with the input XORed over it:
         * valid in most fields, so the checks behind the header get exercised. */
        struct iop_isa_path *src = NULL;
        int k = iop_isa_path_new(chans[flags & 7], &src);
        if (k == 0 && (flags & 0x20))
            (void)check_moves(src);
        k = k < 0 ? k : iop_isa_path_save(src, blob, BLOB_CAP);
        iop_isa_path_free(src);
        if (k <= 0) {
            free(blob);
            return IOP_FUZZ_FAIL("dma-state: a fresh path does not save (%d)", k);
        }
        for (size_t i = 0; i < n && i < (size_t)k; i++)
            blob[i] ^= body[i];
        n = (flags & 0x40) ? IOP_MIN(n, (size_t)k) : (size_t)k;
    } else if (n) {
        memcpy(blob, body, n);
    }
    if ((flags & 8) && n >= IOP_DMA_SAVE_HEADER) {
        uint8_t ref[BLOB_CAP];
        struct iop_isa_path *fresh = NULL;
        if (iop_isa_path_new(5, &fresh) == 0 && iop_isa_path_save(fresh, ref, sizeof(ref)) > 0)
            memcpy(blob, ref, 8); /* magic, version, field count */
        iop_isa_path_free(fresh);
        iop_put_le32(blob + 8, (uint32_t)(n - IOP_DMA_SAVE_HEADER));
    }

    struct iop_isa_path *p = NULL, *q = NULL;
    static uint8_t before[BLOB_CAP], after[BLOB_CAP], again[BLOB_CAP];
    int r = iop_isa_path_new(chans[flags & 7], &p);
    if (r < 0) {
        free(blob);
        return r == -ENOMEM ? 0 : IOP_FUZZ_FAIL("dma-state: no path on channel %u", chans[flags & 7]);
    }
    int nb = iop_isa_path_save(p, before, sizeof(before));
    uint64_t residue = 0;
    int lr = iop_isa_path_load(p, blob, n, &residue);
    int na = iop_isa_path_save(p, after, sizeof(after));
    if (nb <= 0 || na <= 0)
        r = IOP_FUZZ_FAIL("dma-state: save failed (%d, %d)", nb, na);
    else if (lr == -EINVAL && (na != nb || memcmp(before, after, (size_t)na) != 0))
        r = IOP_FUZZ_FAIL("dma-state: a refused blob changed the controller");
    else if (lr < 0 && lr != -EINVAL)
        r = IOP_FUZZ_FAIL("dma-state: load returned %d", lr);
    else if (lr == 0) {
        /* The round trip: what it saves now loads into a fresh path to the same state. */
        r = iop_isa_path_new(chans[flags & 7], &q);
        int ng = r < 0 ? r : iop_isa_path_load(q, after, (size_t)na, NULL);
        ng = ng < 0 ? ng : iop_isa_path_save(q, again, sizeof(again));
        if (ng != na || memcmp(after, again, (size_t)na) != 0)
            r = IOP_FUZZ_FAIL("dma-state: saved state does not load back to itself (%d)", ng);
        else
            r = check_moves(p);
    }
    iop_isa_path_free(q);
    iop_isa_path_free(p);
    free(blob);
    return r;
}
