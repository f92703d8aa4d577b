/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum of zlib, gzip and
 * PNG, so a state file can be checked with standard tools (python3 -c 'zlib.crc32').
 * Incremental: crc = iop_crc32(0, a, n); crc = iop_crc32(crc, b, m) equals one call over
 * a||b.  The check value of "123456789" is 0xCBF43926. */
#pragma once

#include <stddef.h>
#include <stdint.h>

uint32_t iop_crc32(uint32_t crc, const void *buf, size_t n);

/* The same by the portable byte-at-a-time table alone, whatever the CPU; iop_crc32 uses a
 * faster way where the CPU has one.  For tests that check the two against each other. */
uint32_t iop_crc32_table(uint32_t crc, const void *buf, size_t n);
