/* A fuzz entry point for the UtilParams engine and the persistence loader.
 *
 * iop_params_fuzz_one() builds a fresh params object (the standard device and
 * Executive groups plus test groups covering every field type, flag, range, keyed and
 * keyless tables), then takes data[0] as the message type (bit 0: Set) and result
 * capacity (bits 1-3 select one of 4, 8, 12, 16, 30, 64, 256, 65536+) and the rest as an
 * OperationList, and runs it.  It checks, and returns -EIO (after logging which) when one
 * fails:
 *  - the result length is >= 4 or a negative errno, and never above the capacity;
 *  - not one byte at or after the result length was written (guard bytes past the cap);
 *  - the ResultList walks cleanly: iop_params_result_len() gives the same length,
 *    ResultCount <= OperationCount, ErrorInfoSize < BlockSize in every block;
 *  - an error return or a Get message changed nothing (the saved state is identical);
 *  - saving the state and loading it into a fresh object reproduces the same blob;
 *  - loading the input itself as a blob does not crash (it is almost always refused).
 * Returns 0 when everything holds.  Deterministic; no global state.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

int iop_params_fuzz_one(const uint8_t *data, size_t len);

/* The params object iop_params_fuzz_one runs against (tests build lists for it). */
struct iop_params;
int iop_params_fuzz_model(struct iop_params **ret);

/* Group numbers of the fuzz model's test groups. */
#define IOP_PARAMS_FUZZ_SCALAR 0x8000u /* scalar: u8 range 0..9, u16, u32 RW, u64, str, NOREAD */
#define IOP_PARAMS_FUZZ_TABLE 0x8001u  /* table keyed u16, all row flags, max 16 rows */
#define IOP_PARAMS_FUZZ_KEYLESS 0x8002u /* keyless table with all row flags */
