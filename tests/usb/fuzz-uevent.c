/* libFuzzer entry for kernel uevent messages and sysfs names; see lib/usb/uevent.h for
 * the invariants.  Built only with clang (meson.build). */
#include <stdint.h>
#include <stdlib.h>

#include "lib/usb/uevent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (iop_uevent_fuzz_one(data, size) != 0)
        abort(); /* an invariant broke: libFuzzer saves the input */
    return 0;
}
