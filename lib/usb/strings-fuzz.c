/* Fuzz entry for string descriptor decoding (strings.h lists the invariants).  The
 * first byte picks the output capacity and the received length; the rest is what the
 * "device" sent. */
#include <errno.h>
#include <string.h>

#include "lib/usb/strings.h"
#include "lib/util/bytes.h"

#define GUARD 32u
#define GUARD_BYTE 0x5Au

/* Decode one UTF-8 sequence at s (n bytes left): the code point, or -1 when it is
 * not well-formed (overlong, surrogate, above U+10FFFF, cut short). */
static long utf8_next(const uint8_t *s, size_t n, size_t *used) {
    uint8_t c = s[0];
    size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || len > n)
        return -1;
    long u = len == 1 ? c : c & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        u = u << 6 | (s[i] & 0x3f);
    }
    static const long min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (u < min[len] || u > 0x10ffff || (u >= 0xd800 && u <= 0xdfff))
        return -1;
    *used = len;
    return u;
}

/* The UTF-16 units a correct decoder keeps: up to the first NUL, without unpaired
 * surrogates.  Returns how many were written to out. */
static size_t expected_units(const uint8_t *in, size_t units, uint16_t *out) {
    size_t n = 0;
    for (size_t i = 0; i < units; i++) {
        uint16_t u = iop_get_le16(in + 2 * i);
        if (u == 0)
            break;
        if (u >= 0xdc00 && u <= 0xdfff)
            continue;
        if (u >= 0xd800 && u <= 0xdbff) {
            if (i + 1 >= units)
                break;
            uint16_t v = iop_get_le16(in + 2 * i + 2);
            if (v < 0xdc00 || v > 0xdfff)
                continue;
            out[n++] = u;
            out[n++] = v;
            i++;
            continue;
        }
        out[n++] = u;
    }
    return n;
}

int iop_usb_strings_fuzz_one(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    const uint8_t *dev = data + 1;
    size_t devlen = size - 1 > IOP_USB_STRING_READ_MAX ? IOP_USB_STRING_READ_MAX : size - 1;

    /* What the engine keeps: the received bytes in a 256-byte buffer. */
    uint8_t buf[IOP_USB_STRING_READ_MAX + 1 + GUARD];
    memset(buf, GUARD_BYTE, sizeof(buf));
    memcpy(buf, dev, devlen);
    size_t got = sel & 1 ? devlen : devlen / 2; /* a short read, sometimes */
    int rc = iop_usb_string_trim(buf, got);
    for (size_t i = IOP_USB_STRING_READ_MAX + 1; i < sizeof(buf); i++)
        if (buf[i] != GUARD_BYTE)
            return 1;
    if (rc != -EINVAL && (rc < 2 || (size_t)rc > got || rc & 1))
        return 2;
    uint16_t langid = 0;
    int lr = iop_usb_string_langid(buf, rc, &langid);
    if (lr != 0 && lr != -EPIPE)
        return 3;
    if (lr == 0 && rc < 4 && langid != IOP_USB_LANGID_DEFAULT)
        return 4;
    if (rc < 0)
        return 0;

    /* Decode into a buffer of a chosen capacity with a guard after it. */
    size_t cap = sel & 2 ? IOP_USB_STRING_UTF8_MAX : (size_t)(sel >> 2) + 1;
    char out[IOP_USB_STRING_UTF8_MAX + GUARD];
    memset(out, GUARD_BYTE, sizeof(out));
    size_t n = iop_usb_string_decode(buf, rc, out, cap);
    for (size_t i = cap; i < sizeof(out); i++)
        if ((uint8_t)out[i] != GUARD_BYTE)
            return 5;
    size_t units = (size_t)(rc - 2) / 2;
    if (n >= cap || out[n] != 0 || strlen(out) != n || n > 3 * units)
        return 6;

    /* Well-formed UTF-8, and with room for everything, exactly the units a correct
     * decoder keeps. */
    uint16_t want[IOP_USB_STRING_READ_MAX], back[IOP_USB_STRING_READ_MAX];
    size_t nwant = expected_units(buf + 2, units, want), nback = 0;
    for (size_t i = 0; i < n;) {
        size_t used = 0;
        long u = utf8_next((const uint8_t *)out + i, n - i, &used);
        if (u <= 0)
            return 7;
        i += used;
        if (nback + 2 > IOP_USB_STRING_READ_MAX)
            return 8;
        if (u >= 0x10000) {
            back[nback++] = (uint16_t)(0xd800 + ((u - 0x10000) >> 10));
            back[nback++] = (uint16_t)(0xdc00 + ((u - 0x10000) & 0x3ff));
        } else {
            back[nback++] = (uint16_t)u;
        }
    }
    if (cap == IOP_USB_STRING_UTF8_MAX && (nback != nwant || memcmp(back, want, 2 * nwant) != 0))
        return 9;
    if (nback > nwant || memcmp(back, want, 2 * nback) != 0)
        return 10; /* a cut string must be a prefix */
    return 0;
}
