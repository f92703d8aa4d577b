/* The block device's write journal: a BsaBlockWrite is atomic against the daemon dying.
 *
 * A write goes first, whole, into "disk-TTT.jnl" next to the medium (one pwritev of a
 * record), then into the medium, then the record is marked done.  When the medium is
 * opened again (after a restart), a valid record that is not marked done is written to
 * the medium once more: so a daemon killed at any point of a write leaves the old data
 * (the record was not complete: its checksums fail and it is ignored) or the new data
 * (the record was complete: replayed), never a mix of the two.  Replaying is idempotent,
 * because the record is always the last write the medium received.
 *
 * Durability is a disk's: nothing here fsyncs (BsaCacheFlush fsyncs the medium and the
 * journal); after a power loss the medium may hold any mix, as a disk's write cache
 * would leave it.
 *
 * Record (little-endian): "IOPDBJNL" magic (8 bytes; zero once done), u64 byte address,
 * u32 length (1 .. IOP_BSA_MAX_TRANSFER), u32 CRC-32 of the data, u32 CRC-32 of bytes
 * 0..23, u32 0 (reserved, must be 0); then the data. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define IOP_BSA_JOURNAL_HEADER 32u

/* Encode a record header for len bytes of data at addr. */
void iop_bsa_journal_header(uint8_t h[IOP_BSA_JOURNAL_HEADER], uint64_t addr, const void *data, uint32_t len);
/* Check a record (header and data, n bytes) for a medium of capacity bytes: 0 with the
 * address and length of a record to replay, -ENOENT for none (done, empty, or damaged:
 * an interrupted record), -ERANGE for a record outside the medium (a journal from an
 * earlier geometry). */
int iop_bsa_journal_parse(const uint8_t *rec, size_t n, uint64_t capacity, uint64_t *addr, uint32_t *len);

/* Write len bytes at addr of the medium mfd through the journal jfd.  -errno: when the
 * journal could not be written the medium is untouched (*medium_written false). */
int iop_bsa_journal_write(int jfd, int mfd, uint64_t addr, const void *data, uint32_t len, int *medium_written);
/* Replay an interrupted write from jfd into mfd: 1 replayed (*addr, *len say what), 0
 * nothing to do, -ERANGE a record outside the medium (left alone), -errno. */
int iop_bsa_journal_replay(int jfd, int mfd, uint64_t capacity, uint64_t *addr, uint32_t *len);
