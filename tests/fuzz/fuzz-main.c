/* The libFuzzer driver of one fuzz entry point (lib/util/fuzz.h), built only in the
 * clang fuzz build (tests/fuzz/run sets it up): IOP_FUZZ_ONE names the entry point. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/util/log.h"

#ifndef IOP_FUZZ_ONE
#error "IOP_FUZZ_ONE: the entry point this driver runs"
#endif

int IOP_FUZZ_ONE(const uint8_t *data, size_t len);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Damaged input makes the code under test log; only invariant failures are shown. */
static void sink(void *ctx, int level, const char *msg) {
    (void)ctx;
    if (level <= LOG_CRIT)
        fprintf(stderr, "%s\n", msg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    iop_log_set_sink(sink, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (IOP_FUZZ_ONE(data, size) != 0)
        abort(); /* an invariant broke: libFuzzer saves the input */
    return 0;
}
