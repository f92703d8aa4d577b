#include "lib/params/params-store-fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "lib/params/params-fuzz.h"
#include "lib/params/params-store.h"
#include "lib/params/params.h"
#include "lib/util/crc32.h"
#include "lib/util/bytes.h"
#include "lib/util/cleanup.h"
#include "lib/util/fuzz.h"

IOP_DEFINE_CLEANUP(struct iop_params, iop_params_free)

/* Some changes a host makes: a scalar field, table rows. */
static void change(struct iop_params *p) {
    uint8_t key[2];
    (void)iop_params_set_uint(p, IOP_PARAMS_FUZZ_SCALAR, "Count", NULL, 0, 4242);
    (void)iop_params_set_string(p, IOP_PARAMS_FUZZ_SCALAR, "Label", NULL, 0, "fuzzed");
    struct iop_params_group *g = iop_params_find_group(p, IOP_PARAMS_FUZZ_TABLE);
    iop_put_le16(key, 9);
    if (g && iop_params_row_add(g, key, 2) == 0)
        (void)iop_params_set_uint(p, IOP_PARAMS_FUZZ_TABLE, "Level", key, 2, 3);
}

int iop_params_store_fuzz_one(const uint8_t *data, size_t len) {
    struct iop_fuzz_in in = iop_fuzz_in(data, len);
    uint8_t flags = iop_fuzz_u8(&in);
    const uint8_t *body;
    size_t n = iop_fuzz_rest(&in, &body);

    _cleanup_(iop_params_freep) struct iop_params *p = NULL, *q = NULL;
    if (iop_params_fuzz_model(&p) < 0 || iop_params_fuzz_model(&q) < 0)
        return IOP_FUZZ_FAIL("params-store: cannot build the model");
    _cleanup_free_ uint8_t *blob = NULL, *before = NULL, *after = NULL, *again = NULL;
    size_t nblob = n, nbefore, nafter, nagain;
    if (flags & 2) {
        if (flags & 4)
            change(q);
        if (iop_params_save(q, &blob, &nblob) < 0)
            return IOP_FUZZ_FAIL("params-store: the model does not save");
        for (size_t i = 0; i < n && i < nblob; i++)
            blob[i] ^= body[i];
    } else {
        if (!(blob = malloc(n ? n : 1)))
            return -ENOMEM;
        if (n)
            memcpy(blob, body, n);
    }
    if ((flags & 1) && nblob >= 4)
        iop_put_le32(blob + nblob - 4, iop_crc32(0, blob, nblob - 4));

    if (iop_params_save(p, &before, &nbefore) < 0)
        return IOP_FUZZ_FAIL("params-store: save failed");
    int r = iop_params_load(p, blob, nblob);
    if (iop_params_save(p, &after, &nafter) < 0)
        return IOP_FUZZ_FAIL("params-store: save after load failed");
    if (r < 0) {
        if (r != -EBADMSG && r != -E2BIG)
            return IOP_FUZZ_FAIL("params-store: load returned %d", r);
        if (nbefore != nafter || memcmp(before, after, nafter) != 0)
            return IOP_FUZZ_FAIL("params-store: a refused blob changed the parameters");
        return 0;
    }
    /* What an accepted blob left is a fixed point of save and load. */
    iop_params_free(q);
    q = NULL;
    if (iop_params_fuzz_model(&q) < 0)
        return IOP_FUZZ_FAIL("params-store: cannot build the model");
    if (iop_params_load(q, after, nafter) < 0 || iop_params_save(q, &again, &nagain) < 0)
        return IOP_FUZZ_FAIL("params-store: its own blob is refused");
    if (nagain != nafter || memcmp(after, again, nafter) != 0)
        return IOP_FUZZ_FAIL("params-store: save/load/save is not a fixed point");
    return 0;
}
