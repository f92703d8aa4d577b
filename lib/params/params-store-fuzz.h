/* A fuzz entry point for parameter persistence (params-store.c): the blob a device's
 * params-TTT.state holds, damaged, truncated or foreign.
 *
 * iop_params_store_fuzz_one(): data[0] bit 0 recomputes the trailing CRC (so the input
 * reaches the record checks), bit 1 takes a real blob (the fuzz model's, after some
 * changes with bit 2) and XORs the rest of the input over it; otherwise the rest is the
 * blob.  Against the model of params-fuzz.h:
 *  - a refused blob (-EBADMSG, -E2BIG) changes nothing (the model saves the same bytes);
 *  - an accepted one leaves a model whose saved blob loads into a fresh model to the
 *    same state (save -> load -> save is a fixed point), and its result is the count of
 *    what was applied (>= 0).
 * Returns 0 when all holds. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int iop_params_store_fuzz_one(const uint8_t *data, size_t len);
