/* A fuzz entry point for the JSON configuration loader (lib/config) and what builds
 * IOPs from it (iop_system_new_from_config).
 *
 * iop_config_fuzz_one() parses the input as a configuration file.  Refused: the result
 * is -EINVAL with a message that names the file ("fuzz.json: ...") and no object.
 * Accepted: every count is within its limit, units are distinct and below 32, every
 * fixed-size string is terminated; then the IOPs are built (which may still fail with
 * an errno the device model gives), and each built IOP has an executive plus exactly the
 * configured devices, and HRT/LCT encodings of the lengths their entries imply.
 * Returns 0 when all of this holds.  Deterministic; touches no files. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int iop_config_fuzz_one(const uint8_t *data, size_t len);
