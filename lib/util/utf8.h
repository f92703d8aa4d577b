/* Cutting UTF-8 text to a byte limit without splitting a character: strings from USB
 * devices (UTF-8 since lib/usb decodes them) go into fixed-size I2O fields. */
#pragma once

#include <stddef.h>

/* The length of the longest prefix of s (NUL-terminated) of at most max bytes that
 * does not end inside a multi-byte sequence.  Bytes that are not UTF-8 count as
 * characters of their own. */
static inline size_t iop_utf8_prefix(const char *s, size_t max) {
    size_t n = 0;
    while (n < max && s[n])
        n++;
    if (s[n] == 0 || ((unsigned char)s[n] & 0xc0) != 0x80)
        return n; /* the end, or the cut falls between characters */
    /* s[n] continues a sequence: find its lead byte (at most 3 back). */
    size_t k = n;
    while (k > 0 && n - k < 3 && ((unsigned char)s[k] & 0xc0) == 0x80)
        k--;
    unsigned char lead = (unsigned char)s[k];
    size_t len = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    return lead >= 0xc0 && k + len > n ? k : n;
}
