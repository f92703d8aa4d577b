/* libFuzzer entry for the usbmon binary reader and its ioctl argument parsing; see
 * lib/usbmon/bin-fuzz.h for the invariants.  Built only with clang (meson.build). */
#include <stdint.h>
#include <stdlib.h>

#include "lib/usbmon/bin-fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (iop_mon_bin_fuzz_one(data, size) != 0)
        abort(); /* an invariant broke: libFuzzer saves the input */
    return 0;
}
