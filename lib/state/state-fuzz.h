/* A fuzz entry point for lib/state's loaders: damaged, truncated and foreign state
 * files, and whatever else a state directory may hold.
 *
 * iop_state_fuzz_one(): data[0] holds flags -- bit 0 repair the header checksum, bit 1
 * also make the length and payload checksum fields match (so the input reaches the
 * checks behind them), bit 2 the next byte counts extra directory entries, bits 4-7
 * pick max_len (0 = the file's own length, then 1 << n); the rest is the file "t.state"
 * (after the extra entries: u8 kind, u8 name length, name, u8 size, bytes -- kind 0 a
 * regular file, 1 a directory, 2 a symbolic link to t.state, 3 a FIFO; names with '/'
 * or NUL have them replaced, "." and ".." skipped).
 *
 * Checks (-EIO when one fails), against a reference reading of the format in
 * state.h written here independently of state-file.c:
 *  - iop_state_read() succeeds exactly when the reference says the file is intact and
 *    within max_len, and then returns the payload, NUL-terminated; otherwise -EBADMSG,
 *    -EPROTONOSUPPORT or -EFBIG as the reference says;
 *  - iop_state_reader_open() agrees, and pread of any range returns the payload's bytes;
 *  - iop_state_dir_open() removed every ".tmp." leftover and iop_state_list() names
 *    only valid state names of regular files (never a link, directory or FIFO);
 *  - a write_atomic of the payload under another name reads back the same.
 * Uses a scratch directory (lib/util/fuzz-scratch.h), removed afterwards. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int iop_state_fuzz_one(const uint8_t *data, size_t len);
