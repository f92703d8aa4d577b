/* A fuzz entry point for the software store: loading whatever a state directory holds
 * (damaged, truncated, foreign, inconsistent index and data files) and the download /
 * upload / remove / validate protocol on top, across reopenings.
 *
 * iop_swstore_fuzz_one(): data[0] picks the limits (bit 0: at most 3 modules, bit 1:
 * 20000-byte modules and 50000 bytes in all; else the defaults); data[1] counts files
 * to put in the directory first, each u8 kind then:
 *   0  swstore.idx, a valid state file around a u16-length-prefixed payload
 *   1  a data file sw-TT-IIIIIIII-GGGGGGGG.img (u8 type, u32 id, u32 gen), a valid state
 *      file around u8 flags, u32 size and a payload: "SWMD" header built from them
 *      when flags bit 7 is clear, then the payload bytes
 *   2  a raw file (u8 name pick: the index, a data name, a temporary file, a foreign
 *      "sw-" name) with raw bytes, no state header
 *   3  like 0 or 1, then truncated to a u16 length
 * then operations: u8 op%5 -- 0 download a fragment (u8 type pick, u8 id, u16 swlen,
 * u8 maxfrag delta, u8 curfrag, u8 flags; data from the input), 1 upload a fragment,
 * 2 remove, 3 validate, 4 close and reopen.
 *
 * Checks (-EIO): opening never fails on content (only on resources); the module list
 * is sorted, unique, known types, sizes within the limits and the counts too; every
 * fragment of every stored module uploads with status 0 and adds up to its size;
 * modules downloaded during the run upload exactly the bytes sent; results are 0, a
 * ReqStatus of the documented set, or -EINVAL for a caller bug the harness never makes;
 * a reopen lists the same modules (type, id, size, flags, validity) as before it. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int iop_swstore_fuzz_one(const uint8_t *data, size_t len);
