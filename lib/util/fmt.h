/* Unsigned numbers as digits without printf: the formatters on hot paths (usbmon text
 * lines, HTML pages, configuration paths) used to keep one copy each of this loop. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Enough for UINT64_MAX in decimal (20 digits) and any width the callers ask for. */
#define IOP_FMT_UINT_MAX 24u

/* v in base 10 or 16 (lower or upper case digits), at least width digits (zero padded,
 * as printf's "%0*u" / "%0*x"; width is capped at IOP_FMT_UINT_MAX), written to end at
 * buf + IOP_FMT_UINT_MAX.  Returns where the digits start. */
static inline char *iop_fmt_uint(char buf[IOP_FMT_UINT_MAX], uint64_t v, unsigned base,
                                 unsigned width, bool upper) {
    const char *digit = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char *p = buf + IOP_FMT_UINT_MAX;
    do {
        *--p = digit[v % base];
        v /= base;
    } while (v);
    while (p > buf && (unsigned)(buf + IOP_FMT_UINT_MAX - p) < width)
        *--p = '0';
    return p;
}
