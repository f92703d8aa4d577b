/* String descriptor decoding (lib/usb/strings.c) against usbcore's rules, with
 * hostile lengths, and its fuzz entry driven with random and mutated descriptors. */
#include <errno.h>
#include <string.h>

#include "lib/usb/strings.h"
#include "lib/util/utf8.h"
#include "testutil.h"

/* A string descriptor for an ASCII/Latin-1 text, as a device would send it. */
static size_t make_desc(uint8_t *d, const char *s) {
    size_t n = strlen(s);
    d[0] = (uint8_t)(2 + 2 * n);
    d[1] = 3;
    for (size_t i = 0; i < n; i++) {
        d[2 + 2 * i] = (uint8_t)s[i];
        d[3 + 2 * i] = 0;
    }
    return 2 + 2 * n;
}

static void test_trim(void) {
    uint8_t d[256];
    size_t n = make_desc(d, "Acme");
    CHECK_EQ(iop_usb_string_trim(d, n), 10);
    /* Junk after bLength is dropped. */
    memset(d + n, 0x41, 20);
    CHECK_EQ(iop_usb_string_trim(d, n + 20), 10);
    /* A short read keeps what came; an odd length loses its half unit. */
    CHECK_EQ(iop_usb_string_trim(d, 7), 6);
    CHECK_EQ(iop_usb_string_trim(d, 2), 2);
    CHECK_EQ(iop_usb_string_trim(d, 1), -EINVAL);
    CHECK_EQ(iop_usb_string_trim(d, 0), -EINVAL);
    CHECK_EQ(iop_usb_string_trim(NULL, 10), -EINVAL);
    /* bLength 1 or 0 (with a type): nothing usable. */
    d[0] = 1;
    CHECK_EQ(iop_usb_string_trim(d, n), -EINVAL);
    d[0] = 0;
    CHECK_EQ(iop_usb_string_trim(d, n), -EINVAL);
    /* bLength and type both 0: measured by its printable characters. */
    n = make_desc(d, "ab\x7f");
    d[0] = d[1] = 0;
    CHECK_EQ(iop_usb_string_trim(d, n), 6); /* "ab", then 0x7f is not printable */
    CHECK_EQ(d[0], 6);
    n = make_desc(d, "\xe9t\xe9"); /* Latin-1 is printable to the kernel's isprint */
    d[0] = d[1] = 0;
    CHECK_EQ(iop_usb_string_trim(d, n), 8);
    d[0] = d[1] = d[2] = 0; /* nothing printable: stays unusable */
    CHECK_EQ(iop_usb_string_trim(d, n), -EINVAL);
    /* bLength says more than came (a device that lies): what came counts. */
    n = make_desc(d, "xyz");
    d[0] = 200;
    CHECK_EQ(iop_usb_string_trim(d, n), 8);
    /* More bytes than any read asks for: capped. */
    memset(d, 0xff, sizeof(d));
    CHECK_EQ(iop_usb_string_trim(d, 10000), 254);
}

static void test_langid(void) {
    uint8_t d[8] = { 6, 3, 0x07, 0x04, 0x09, 0x04 };
    uint16_t l = 0;
    CHECK_EQ(iop_usb_string_langid(d, 6, &l), 0);
    CHECK_EQ(l, 0x0407); /* the first one listed */
    /* Reported but malformed: English. */
    CHECK_EQ(iop_usb_string_langid(d, 2, &l), 0);
    CHECK_EQ(l, 0x0409);
    l = 0;
    CHECK_EQ(iop_usb_string_langid(d, -ENODATA, &l), 0);
    CHECK_EQ(l, 0x0409);
    /* Stalled, timed out, garbage: no strings at all. */
    CHECK_EQ(iop_usb_string_langid(d, -EPIPE, &l), -EPIPE);
    CHECK_EQ(iop_usb_string_langid(d, -ETIMEDOUT, &l), -EPIPE);
    CHECK_EQ(iop_usb_string_langid(d, -EINVAL, &l), -EPIPE);
    CHECK_EQ(iop_usb_string_langid(d, 4, NULL), -EINVAL);
}

static void test_utf8(void) {
    char out[IOP_USB_STRING_UTF8_MAX];
    /* ASCII, Latin-1, BMP, and a surrogate pair (U+1F600). */
    static const uint8_t s1[] = { 'A', 0, 0xe9, 0, 0xac, 0x20, 0x3d, 0xd8, 0x00, 0xde, 'z', 0 };
    CHECK_EQ(iop_usb_utf16le_to_utf8(s1, 6, out, sizeof(out)), 1 + 2 + 3 + 4 + 1);
    CHECK_STREQ(out, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z");
    /* A NUL unit ends the string. */
    static const uint8_t s2[] = { 'a', 0, 0, 0, 'b', 0 };
    CHECK_EQ(iop_usb_utf16le_to_utf8(s2, 3, out, sizeof(out)), 1);
    CHECK_STREQ(out, "a");
    /* Unpaired surrogates are skipped: low alone, high followed by a non-low, high
     * at the end. */
    static const uint8_t s3[] = { 0x00, 0xdc, 'x', 0, 0x00, 0xd8, 'y', 0, 0x00, 0xd8 };
    CHECK_EQ(iop_usb_utf16le_to_utf8(s3, 5, out, sizeof(out)), 2);
    CHECK_STREQ(out, "xy");
    /* A character that does not fit ends the string; out stays terminated. */
    static const uint8_t s4[] = { 'a', 0, 0xac, 0x20 };
    CHECK_EQ(iop_usb_utf16le_to_utf8(s4, 2, out, 3), 1);
    CHECK_STREQ(out, "a");
    CHECK_EQ(iop_usb_utf16le_to_utf8(s4, 2, out, 1), 0);
    CHECK_STREQ(out, "");
    CHECK_EQ(iop_usb_utf16le_to_utf8(s4, 2, out, 0), 0);
    CHECK_EQ(iop_usb_utf16le_to_utf8(NULL, 5, out, sizeof(out)), 0);
    /* The longest descriptor of the widest characters fits usbcore's buffer. */
    uint8_t big[2 + 2 * 126];
    big[0] = sizeof(big);
    big[1] = 3;
    for (int i = 0; i < 126; i++) {
        big[2 + 2 * i] = 0xac;
        big[3 + 2 * i] = 0x20;
    }
    CHECK_EQ(iop_usb_string_decode(big, sizeof(big), out, sizeof(out)), 378);
    CHECK_EQ(iop_usb_string_decode(big, 1, out, sizeof(out)), 0);
    CHECK_EQ(iop_usb_string_decode(NULL, 10, out, sizeof(out)), 0);
}

/* Device strings go into fixed-size fields: cut between characters, never inside. */
static void test_utf8_prefix(void) {
    const char *s = "ab\xe2\x82\xac" "cd\xf0\x9f\x8e\xb5";
    static const size_t want[13] = { 0, 1, 2, 2, 2, 5, 6, 7, 7, 7, 7, 11, 11 };
    for (size_t m = 0; m <= 12; m++)
        CHECK_EQ(iop_utf8_prefix(s, m), want[m]);
    CHECK_EQ(iop_utf8_prefix("\x80\x80\x80\x80\x80", 2), 2); /* not UTF-8: bytes */
    CHECK_EQ(iop_utf8_prefix("a\xc3", 5), 2);                /* cut short at the end */
    CHECK_EQ(iop_utf8_prefix("", 5), 0);
}


static void test_fuzz(void) {
    test_rand_seed(0x243F6A8885A308D3ull);
    uint8_t in[1 + 300];
    int bad = 0;
    for (int c = 0; c < 20000 && !bad; c++) {
        size_t len = test_rand() % sizeof(in);
        for (size_t i = 0; i < len; i++)
            in[i] = (uint8_t)test_rand();
        if (c % 2 && len > 3) {
            /* Mostly well-formed: a real header, surrogates and NULs sprinkled. */
            in[1] = (uint8_t)(len - 1);
            in[2] = 3;
            for (size_t i = 4; i + 1 < len; i += 2)
                if (test_rand() % 4)
                    in[i + 1] = (uint8_t)(test_rand() % 3 == 0 ? 0xd8 + test_rand() % 8 : test_rand() % 2 ? 0 : in[i + 1]);
        }
        bad = iop_usb_strings_fuzz_one(in, len);
        if (bad)
            fprintf(stderr, "case %d: invariant %d broke\n", c, bad);
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(iop_usb_strings_fuzz_one(NULL, 0), 0);
}

int main(void) {
    TEST(test_trim);
    TEST(test_langid);
    TEST(test_utf8);
    TEST(test_utf8_prefix);
    TEST(test_fuzz);
    return test_summary();
}
