/* Fuzz entry point for DPT private SCSI messages: the frame parser (dpt-msg.h), the
 * HBA's checks of ByteCount against the SGL, and the SCSI target (lib/scsi) on an
 * in-memory disk, with random frames, CDBs and SG element lengths.
 *
 * Input: a sequence of commands against one unit (its state -- stopped, caching
 * page, pending sense -- carries over): byte 0 the frame length in words (clamped to
 * 4..32), then that many little-endian words (short input is zero-filled), then one
 * byte n (0..7) of SG elements and n little-endian u16 lengths, bit 15 the direction
 * (host to IOP).  The first byte of the input picks the unit: disk or controller.
 *
 * Invariants (a nonzero return names the broken one): the parser returns a documented
 * code; the target never writes past its buffers, never reads or writes the medium
 * outside the capacity, answers GOOD or CHECK CONDITION, gives fixed-format sense with
 * a non-zero key exactly when CHECK CONDITION meets autosense, moves no data on an
 * overrun; the reply is 6 or 17 words, a failed HBA status comes with an error
 * ReqStatus, and TransferCount never exceeds the data length. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int iop_dpt_fuzz_one(const uint8_t *data, size_t size);
