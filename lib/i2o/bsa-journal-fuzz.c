#include "lib/i2o/bsa-journal-fuzz.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/i2o/bsa-journal.h"
#include "lib/i2o/bsa.h"
#include "lib/util/bytes.h"
#include "lib/util/fuzz.h"

static int broken(const char *what) { return IOP_FUZZ_FAIL("bsa-journal: %s", what); }

int iop_bsa_journal_fuzz_one(const uint8_t *data, size_t len) {
    if (len < 8)
        return 0;
    uint64_t capacity = (iop_get_le32(data) | (uint64_t)iop_get_le32(data + 4) << 32) & 0xFFFFFFFFFFull;
    const uint8_t *rec = data + 8;
    size_t n = len - 8;
    uint64_t addr = 0;
    uint32_t l = 0;
    int r = iop_bsa_journal_parse(rec, n, capacity, &addr, &l);
    if (r != 0 && r != -ENOENT && r != -ERANGE)
        return broken("an error other than ENOENT/ERANGE");
    if (r != 0)
        return 0;
    if (l == 0 || l > IOP_BSA_MAX_TRANSFER || addr > capacity || l > capacity - addr ||
        n < IOP_BSA_JOURNAL_HEADER + (size_t)l)
        return broken("accepted a record outside its bounds");
    uint8_t h[IOP_BSA_JOURNAL_HEADER];
    iop_bsa_journal_header(h, addr, rec + IOP_BSA_JOURNAL_HEADER, l);
    if (memcmp(h, rec, sizeof(h)) != 0)
        return broken("accepted a header the writer would not have written");
    /* Every single-byte change of the record is refused (CRCs cover it all but the
     * reserved word, which must be zero). */
    uint8_t *copy = malloc(IOP_BSA_JOURNAL_HEADER + l);
    if (!copy)
        return 0;
    memcpy(copy, rec, IOP_BSA_JOURNAL_HEADER + l);
    int bad = 0;
    for (size_t i = 0; i < IOP_BSA_JOURNAL_HEADER + l && !bad; i += 1 + i / 64) {
        copy[i] ^= 0x01;
        uint64_t a2;
        uint32_t l2;
        if (iop_bsa_journal_parse(copy, IOP_BSA_JOURNAL_HEADER + l, capacity, &a2, &l2) == 0)
            bad = 1;
        copy[i] ^= 0x01;
    }
    free(copy);
    return bad ? broken("accepted a record with a changed byte") : 0;
}
