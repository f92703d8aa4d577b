/* USB string descriptors (USB 2.0 9.6.7): what a GET_DESCRIPTOR(STRING) returned,
 * turned into a UTF-8 string the way usbcore does it (drivers/usb/core/message.c:
 * usb_string_sub(), usb_get_langid(), usb_string(); fs/nls/nls_base.c:
 * utf16s_to_utf8s()).  The bytes come from a device and may be anything: every length
 * is checked against what was received, never trusted.  Pure functions; the reads
 * themselves are enumerate.c's. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The first read of a string asks for this much (usb_string_sub). */
#define IOP_USB_STRING_READ_MAX 255u
/* A string descriptor holds at most 126 UTF-16 units (bLength is one byte), and one
 * unit is at most 3 bytes of UTF-8: usbcore's MAX_USB_STRING_SIZE, with the NUL. */
#define IOP_USB_STRING_UTF8_MAX (127u * 3u + 1u)
/* usb_get_langid's fallback when descriptor 0 is there but malformed: US English. */
#define IOP_USB_LANGID_DEFAULT 0x0409u

/* usb_string_sub's clean-up of got bytes received into buf (at least got bytes
 * long): a descriptor with bLength 0 and type 0 is measured by its printable
 * characters (usb_try_string_workarounds, which rewrites buf[0]); junk after bLength
 * is dropped; the length is made even.  Returns the usable length (>= 2) or -EINVAL
 * when fewer than 2 bytes remain. */
int iop_usb_string_trim(uint8_t *buf, size_t got);

/* usb_get_langid's decision from string descriptor 0: rc is what reading it gave
 * (the trimmed length, or a negative status; -ENODATA: the device answered with
 * another descriptor type).  0 with *langid set (the first one listed, or
 * IOP_USB_LANGID_DEFAULT when the table is malformed), or -EPIPE: the device cannot
 * do strings and none is read. */
int iop_usb_string_langid(const uint8_t *buf, int rc, uint16_t *langid);

/* utf16s_to_utf8s(): units UTF-16LE code units at in (2 * units bytes) to UTF-8 in
 * out (cap bytes, NUL included).  A NUL unit ends the string; an unpaired surrogate
 * is skipped; a character that does not fit ends the string.  out is always
 * NUL-terminated when cap > 0.  Returns the bytes written before the NUL. */
size_t iop_usb_utf16le_to_utf8(const uint8_t *in, size_t units, char *out, size_t cap);

/* usb_string() after the read: a trimmed descriptor of len bytes (the value
 * iop_usb_string_trim returned) to UTF-8 in out (cap bytes).  Returns the length;
 * 0 means no string (usb_cache_string keeps nothing for an empty one). */
size_t iop_usb_string_decode(const uint8_t *desc, int len, char *out, size_t cap);

/* The invariants the fuzzer checks (lib/usb/strings-fuzz.c): any bytes through
 * trim, langid and decode stay within their buffers, produce valid NUL-terminated
 * UTF-8 no longer than 3 bytes per unit, and never a surrogate or NUL inside.
 * Nonzero when one breaks. */
int iop_usb_strings_fuzz_one(const uint8_t *data, size_t size);
