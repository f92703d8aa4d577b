/* A fuzz entry point for the OperationList parser alone (params-oplist.h).
 *
 * iop_params_oplist_fuzz_one() takes the input as an OperationList (its 4-byte header
 * included) and parses it operation by operation against the fuzz model's groups
 * (params-fuzz.h), the way the engine walks it, checking, and returning -EIO (after
 * logging which) when one fails:
 *  - the result is 0 or -EBADMSG, and -EBADMSG or a stopped operation leaves the
 *    position where it was;
 *  - a parsed operation moves the position forward, to a 4-byte boundary, and its
 *    unpadded end lies inside the list;
 *  - every pointer the operation holds (field indexes, keys or values) and the bytes
 *    they cover lie inside the list;
 *  - the walk ends within len / 4 operations.
 * The engine's fuzzer (params-fuzz.h) reaches the parser too, but only through what the
 * engine makes of its output; this one holds the parser to its own contract.
 * Deterministic; no global state.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

int iop_params_oplist_fuzz_one(const uint8_t *data, size_t len);
