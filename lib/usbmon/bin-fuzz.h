/* A fuzz entry point for the binary usbmon reader and its ioctl argument parsing.
 *
 * iop_mon_bin_fuzz_one() takes the input as a script and runs it against one binary
 * reader (bin-reader.h) through the ioctl layer (bin-ioctl.h), with every ioctl driven
 * round by round through the CUSE retry protocol (lib/umem/umem-drive.h) over a fake
 * caller address space: argument struct, header, data and offset buffers, a read-only
 * page, NULL and unmapped addresses.  Script steps: URB events of every type and
 * transfer kind (ISO with up to 200 packets, broken offsets, no buffer) pushed into
 * the ring; GET/GETX/MFETCH (64- and 32-bit) with chosen or hostile pointers and sizes;
 * STATS, URB_LEN, RING_SIZE, MFLUSH with boundary and random arguments; unknown
 * commands; read()s of every size; O_NONBLOCK on and off; a call that waits gets an
 * event from the script or is abandoned (an interrupted caller).
 *
 * After every step it checks, and returns -EIO (logging which) when one fails:
 *  - the ring's bookkeeping (iop_mon_bin_reader_check);
 *  - every drop counted, 'E' drops not, STATS's dropped is what was lost since the last
 *    STATS and its queued the ring's count; URB_LEN the oldest record's len_cap;
 *  - a GET that returns 0 delivered exactly the oldest record's header (48 or 64
 *    bytes) and min(len_cap, alloc) payload bytes and removed it; one that fails
 *    removed nothing (unless it faulted on the read-only page, which a probe cannot see);
 *  - a read() returns the next bytes of the oldest record (48-byte header, payload),
 *    never past its end, and removes it when done;
 *  - MFETCH's offsets are the records' ring offsets in order, its counts are right;
 *  - RING_SIZE takes exactly [8 KiB, 64 MiB] rounded up to 4 KiB and empties;
 *  - no call takes more than 4 rounds, and nothing is written outside the ranges a
 *    call named (the protocol driver refuses such a reply).
 * Returns 0 when everything holds.  Deterministic; no global state.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

int iop_mon_bin_fuzz_one(const uint8_t *data, size_t len);
