/* A fuzz entry point for the block write journal's record parser (bsa-journal.h).
 *
 * iop_bsa_journal_fuzz_one() takes data[0..7] as the medium's capacity (little-endian,
 * masked to 40 bits) and the rest as a journal file, parses it and checks (returning
 * -EIO, after logging which, when one fails):
 *  - an accepted record lies inside the medium, 1 .. IOP_BSA_MAX_TRANSFER bytes long,
 *    within the input;
 *  - encoding a header for what was accepted reproduces the input's header byte for
 *    byte (nothing is accepted that the writer would not have written);
 *  - changing any one byte of an accepted record's header or data gets it refused.
 * Returns 0 when everything holds.  Deterministic; no global state. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int iop_bsa_journal_fuzz_one(const uint8_t *data, size_t len);
