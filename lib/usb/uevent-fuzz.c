/* Fuzz entry for uevent parsing and sysfs names (uevent.h lists the invariants).  The
 * input is copied into a buffer of exactly its size, so reads past it are ASan's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/usb/uevent.h"

static bool inside(struct iop_uevent_str s, const char *buf, size_t len) {
    if (!s.s)
        return s.len == 0;
    return s.s >= buf && s.len <= len && (size_t)(s.s - buf) <= len - s.len && !memchr(s.s, 0, s.len);
}

/* A parsed name written back and parsed again gives the same numbers. */
static int name_round_trip(const char *s, size_t len) {
    uint16_t bus = 0;
    uint8_t ports[IOP_USB_MAX_PORTS], depth = 0;
    int r = iop_usb_parse_sysfs_name(s, len, &bus, ports, &depth);
    if (r != 0 && r != -EINVAL && r != -ERANGE && r != -E2BIG)
        return 20;
    if (r != 0)
        return 0;
    if (bus == 0 || depth > IOP_USB_MAX_PORTS)
        return 21;
    char again[64];
    int n = depth ? snprintf(again, sizeof(again), "%u-", bus) : snprintf(again, sizeof(again), "usb%u", bus);
    for (uint8_t i = 0; i < depth; i++) {
        if (ports[i] == 0)
            return 22;
        n += snprintf(again + n, sizeof(again) - (size_t)n, "%s%u", i ? "." : "", ports[i]);
    }
    uint16_t bus2 = 0;
    uint8_t ports2[IOP_USB_MAX_PORTS], depth2 = 0;
    if (iop_usb_parse_sysfs_name(again, (size_t)n, &bus2, ports2, &depth2) != 0 || bus2 != bus ||
        depth2 != depth || memcmp(ports, ports2, depth) != 0)
        return 23;
    return 0;
}

int iop_uevent_fuzz_one(const uint8_t *data, size_t size) {
    if (size > IOP_UEVENT_MSG_MAX)
        size = IOP_UEVENT_MSG_MAX;
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    int bad = 0;
    struct iop_uevent ev;
    int r = iop_uevent_parse(buf, size, &ev);
    if (r != 0 && r != -EINVAL && r != -ENOMSG)
        bad = 1;
    else if (r == 0) {
        const struct iop_uevent_str all[] = { ev.devpath, ev.subsystem, ev.devtype, ev.driver };
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]) && !bad; i++)
            if (!inside(all[i], buf, size))
                bad = 2 + (int)i;
        if (!bad && (ev.busnum == 0 || ev.busnum > 0xFFFF || ev.busnum < -1 || ev.devnum == 0 ||
                     ev.devnum > 127 || ev.devnum < -1))
            bad = 10;
        if (!bad && iop_uevent_is_usb_device(&ev) &&
            (!iop_uevent_str_is(ev.subsystem, "usb") || ev.busnum < 1 || ev.devnum < 1))
            bad = 11;
        struct iop_uevent_str name = iop_uevent_devpath_name(ev.devpath);
        if (!bad && (!inside(name, buf, size) || (name.s && memchr(name.s, '/', name.len))))
            bad = 12;
        if (!bad && name.s)
            bad = name_round_trip(name.s, name.len);
    }
    /* The whole input as a name, too. */
    if (!bad)
        bad = name_round_trip(buf, size);
    free(buf);
    return bad;
}
