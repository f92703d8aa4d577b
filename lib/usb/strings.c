/* String descriptor decoding, as usbcore does it (see strings.h). */
#include "lib/usb/strings.h"

#include <errno.h>

#include "lib/usb/ch9.h"
#include "lib/util/bytes.h"

/* The kernel's isprint() (lib/ctype.c): ASCII 0x20-0x7e and Latin-1 0xa0-0xff. */
static int kernel_isprint(uint8_t c) {
    return (c >= 0x20 && c <= 0x7e) || c >= 0xa0;
}

int iop_usb_string_trim(uint8_t *buf, size_t got) {
    if (!buf || got < 2)
        return -EINVAL;
    if (got > IOP_USB_STRING_READ_MAX)
        got = IOP_USB_STRING_READ_MAX; /* more than was asked for: not from a device */
    size_t rc = got;
    if (buf[0] == 0 && buf[1] == 0) {
        /* usb_try_string_workarounds: some devices send bLength 0; count the
         * printable characters (high bytes zero) instead. */
        size_t n = 2;
        while (n + 1 < rc && kernel_isprint(buf[n]) && buf[n + 1] == 0)
            n += 2;
        if (n > 2) {
            buf[0] = (uint8_t)n;
            rc = n;
        }
    }
    if (buf[0] < rc)
        rc = buf[0]; /* junk after the descriptor */
    rc -= rc & 1;    /* whole UTF-16 units only */
    return rc < 2 ? -EINVAL : (int)rc;
}

int iop_usb_string_langid(const uint8_t *buf, int rc, uint16_t *langid) {
    if (!langid)
        return -EINVAL;
    /* Reported but malformed (another descriptor type, or no room for one LANGID):
     * English, as usb_get_langid() assumes. */
    if (rc == -ENODATA || (rc > 0 && rc < 4)) {
        *langid = IOP_USB_LANGID_DEFAULT;
        return 0;
    }
    /* Any other failure: the device is taken not to do strings at all. */
    if (rc < 0 || !buf)
        return -EPIPE;
    *langid = iop_get_le16(buf + 2); /* the first one listed */
    return 0;
}

#define SURROGATE_MASK 0xfffff800u
#define SURROGATE_PAIR 0x0000d800u
#define SURROGATE_LOW 0x00000400u
#define SURROGATE_BITS 0x000003ffu
#define PLANE_SIZE 0x00010000u
#define UNICODE_MAX 0x0010ffffu

/* utf32_to_utf8(): the bytes written, or 0 when it does not fit in room. */
static size_t put_utf8(uint32_t u, char *out, size_t room) {
    size_t n = u <= 0x7f ? 1 : u <= 0x7ff ? 2 : u <= 0xffff ? 3 : 4;
    if (n > room)
        return 0;
    if (n == 1) {
        out[0] = (char)u;
        return 1;
    }
    static const uint8_t lead[5] = { 0, 0, 0xc0, 0xe0, 0xf0 };
    for (size_t i = n - 1; i > 0; i--) {
        out[i] = (char)(0x80 | (u & 0x3f));
        u >>= 6;
    }
    out[0] = (char)(lead[n] | u);
    return n;
}

size_t iop_usb_utf16le_to_utf8(const uint8_t *in, size_t units, char *out, size_t cap) {
    if (!out || cap == 0)
        return 0;
    size_t o = 0, maxout = cap - 1;
    if (!in)
        units = 0;
    for (size_t i = 0; i < units && o < maxout;) {
        uint32_t u = iop_get_le16(in + 2 * i++);
        if (u == 0)
            break;
        if ((u & SURROGATE_MASK) == SURROGATE_PAIR) {
            if (u & SURROGATE_LOW)
                continue; /* a low surrogate without its high one: skipped */
            if (i >= units)
                break;
            uint32_t v = iop_get_le16(in + 2 * i);
            if ((v & SURROGATE_MASK) != SURROGATE_PAIR || !(v & SURROGATE_LOW))
                continue; /* a high surrogate without its low one: skipped */
            u = PLANE_SIZE + ((u & SURROGATE_BITS) << 10) + (v & SURROGATE_BITS);
            i++;
        }
        if (u > UNICODE_MAX)
            continue; /* cannot happen from UTF-16; utf32_to_utf8() skips it */
        size_t n = put_utf8(u, out + o, maxout - o);
        if (n == 0)
            break; /* does not fit: the string ends (today's utf16s_to_utf8s) */
        o += n;
    }
    out[o] = 0;
    return o;
}

size_t iop_usb_string_decode(const uint8_t *desc, int len, char *out, size_t cap) {
    if (!out || cap == 0)
        return 0;
    if (!desc || len < 2) {
        out[0] = 0;
        return 0;
    }
    return iop_usb_utf16le_to_utf8(desc + 2, (size_t)(len - 2) / 2, out, cap);
}
