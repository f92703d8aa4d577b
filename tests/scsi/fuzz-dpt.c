/* libFuzzer entry for DPT private SCSI messages and the SCSI target; see
 * lib/i2o/dpt-fuzz.h for the input format and invariants.  Built only with clang. */
#include <stdint.h>
#include <stdlib.h>

#include "lib/i2o/dpt-fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (iop_dpt_fuzz_one(data, size) != 0)
        abort(); /* an invariant broke: libFuzzer saves the input */
    return 0;
}
