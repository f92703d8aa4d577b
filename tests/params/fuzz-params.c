/* libFuzzer entry for the UtilParams engine and the persistence loader; see
 * lib/params/params-fuzz.h for the invariants.  Built only with clang (meson.build). */
#include <stdint.h>
#include <stdlib.h>

#include "lib/params/params-fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (iop_params_fuzz_one(data, size) != 0)
        abort(); /* an invariant broke: libFuzzer saves the input */
    return 0;
}
