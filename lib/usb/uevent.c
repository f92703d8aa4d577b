/* Kernel uevent messages and sysfs names (see uevent.h). */
#include "lib/usb/uevent.h"

#include <errno.h>
#include <string.h>

bool iop_uevent_str_is(struct iop_uevent_str s, const char *literal) {
    size_t n = strlen(literal);
    return s.s && s.len == n && memcmp(s.s, literal, n) == 0;
}

/* A decimal number of 1..max digits-wise (leading zeros allowed: BUSNUM is "%03d"),
 * or -1. */
static long decimal(const char *s, size_t len, long max) {
    if (len == 0 || len > 10)
        return -1;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= max ? v : -1;
}

static enum iop_uevent_action action_of(struct iop_uevent_str a) {
    if (iop_uevent_str_is(a, "add"))
        return IOP_UEVENT_ADD;
    if (iop_uevent_str_is(a, "remove"))
        return IOP_UEVENT_REMOVE;
    if (iop_uevent_str_is(a, "bind"))
        return IOP_UEVENT_BIND;
    if (iop_uevent_str_is(a, "unbind"))
        return IOP_UEVENT_UNBIND;
    return IOP_UEVENT_OTHER;
}

int iop_uevent_parse(const void *buf, size_t len, struct iop_uevent *ev) {
    if (!ev)
        return -EINVAL;
    memset(ev, 0, sizeof(*ev));
    ev->busnum = ev->devnum = -1;
    const char *m = buf;
    if (!m || len == 0)
        return -EINVAL;
    if (len >= 8 && memcmp(m, "libudev", 8) == 0)
        return -ENOMSG;
    /* The header "action@devpath", up to the first NUL (or the end). */
    const char *end = m + len;
    const char *nul = memchr(m, 0, len);
    const char *hdr_end = nul ? nul : end;
    const char *at = memchr(m, '@', (size_t)(hdr_end - m));
    if (!at || at == m || at + 1 == hdr_end)
        return -EINVAL;
    struct iop_uevent_str action = { m, (size_t)(at - m) };
    ev->devpath = (struct iop_uevent_str){ at + 1, (size_t)(hdr_end - at - 1) };

    /* KEY=VALUE strings; the last one may lack its NUL at the end of the buffer. */
    for (const char *p = nul ? nul + 1 : end; p < end;) {
        const char *q = memchr(p, 0, (size_t)(end - p));
        size_t n = (size_t)((q ? q : end) - p);
        const char *eq = memchr(p, '=', n);
        if (eq) {
            struct iop_uevent_str key = { p, (size_t)(eq - p) };
            struct iop_uevent_str val = { eq + 1, n - key.len - 1 };
            if (iop_uevent_str_is(key, "ACTION"))
                action = val;
            else if (iop_uevent_str_is(key, "DEVPATH"))
                ev->devpath = val;
            else if (iop_uevent_str_is(key, "SUBSYSTEM"))
                ev->subsystem = val;
            else if (iop_uevent_str_is(key, "DEVTYPE"))
                ev->devtype = val;
            else if (iop_uevent_str_is(key, "DRIVER"))
                ev->driver = val;
            else if (iop_uevent_str_is(key, "BUSNUM"))
                ev->busnum = (int)decimal(val.s, val.len, 0xFFFF);
            else if (iop_uevent_str_is(key, "DEVNUM"))
                ev->devnum = (int)decimal(val.s, val.len, 127);
        }
        p += n + 1;
    }
    if (ev->busnum == 0)
        ev->busnum = -1;
    if (ev->devnum == 0)
        ev->devnum = -1;
    ev->action = action_of(action);
    return 0;
}

bool iop_uevent_is_usb_device(const struct iop_uevent *ev) {
    return ev && iop_uevent_str_is(ev->subsystem, "usb") && iop_uevent_str_is(ev->devtype, "usb_device") &&
           ev->busnum > 0 && ev->devnum > 0;
}

struct iop_uevent_str iop_uevent_devpath_name(struct iop_uevent_str devpath) {
    if (!devpath.s)
        return devpath;
    size_t i = devpath.len;
    while (i > 0 && devpath.s[i - 1] != '/')
        i--;
    return (struct iop_uevent_str){ devpath.s + i, devpath.len - i };
}

int iop_usb_parse_sysfs_name(const char *s, size_t len, uint16_t *bus, uint8_t *ports, uint8_t *depth) {
    if (!s || !bus || !ports || !depth)
        return -EINVAL;
    *depth = 0;
    if (len > 3 && memcmp(s, "usb", 3) == 0) {
        long b = decimal(s + 3, len - 3, 0xFFFF);
        if (b < 0)
            return -EINVAL;
        if (b == 0)
            return -ERANGE;
        *bus = (uint16_t)b;
        return 0;
    }
    const char *dash = memchr(s, '-', len);
    if (!dash || dash == s)
        return -EINVAL;
    size_t blen = (size_t)(dash - s);
    for (size_t i = 0; i < blen; i++)
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
    long b = decimal(s, blen, 0xFFFF);
    if (b <= 0)
        return -ERANGE;
    *bus = (uint16_t)b;
    const char *p = dash + 1, *end = s + len;
    uint8_t n = 0;
    for (;;) {
        const char *q = p;
        while (q < end && *q >= '0' && *q <= '9')
            q++;
        if (q == p || (q < end && *q != '.'))
            return -EINVAL;
        if ((size_t)(q - p) > 10)
            return -ERANGE;
        long port = decimal(p, (size_t)(q - p), 0x7FFFFFFF);
        if (port < 1 || port > 255)
            return -ERANGE;
        if (n == IOP_USB_MAX_PORTS)
            return -E2BIG;
        ports[n++] = (uint8_t)port;
        if (q == end)
            break;
        p = q + 1;
    }
    *depth = n;
    return 0;
}
