/* iopctl usb: one USB transfer on a device the IOP shows as a TID, through
 * I2OPASSTHRU and iopd's private USB transfer message (see iopd(8), "USB devices"). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/i2o-dev.h>

#include "lib/params/params-std.h"
#include "tools/iopctl/iopctl.h"

#define USB_CLASS 0x0F0u       /* iopd's I2O class for USB devices */
#define ORG_XFN 0x7E0D0001u    /* OrganizationID 0x7E0D, XFunctionCode 1 */
#define MAX_DATA (120u * 1024u) /* one passthrough carries at most 128 KiB in all */
#define REPLY_WORDS (9u + 2u * 64u)

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Bus (u16) or Device (u8) of group 0x8100 of a TID. */
static int usb_field(struct iopctl *ctl, uint32_t iop, uint32_t tid, uint16_t field, uint32_t *out) {
    uint8_t v[2] = { 0, 0 };
    if (iopctl_field_get(ctl, iop, tid, IOP_PARAMS_GROUP_USB_DEVICE, field, v, field == 0 ? 2 : 1) < 1)
        return -1;
    *out = field == 0 ? le16(v) : v[0];
    return 0;
}

/* Find the IOP and TID of a device named "TID" or "BUS:DEV". */
static int find_device(struct iopctl *ctl, const char *name, uint32_t *iop, uint32_t *tid) {
    uint32_t bus = 0, dev = 0;
    const char *colon = strchr(name, ':');
    if (!colon) {
        if (iopctl_parse_u32(name, 0xFFF, tid) < 0)
            return -EINVAL;
    } else {
        char b[16];
        size_t n = (size_t)(colon - name);
        if (n == 0 || n >= sizeof(b))
            return -EINVAL;
        memcpy(b, name, n);
        b[n] = 0;
        if (iopctl_parse_u32(b, 0xFFFF, &bus) < 0 || iopctl_parse_u32(colon + 1, 127, &dev) < 0)
            return -EINVAL;
    }
    uint8_t tab[MAX_I2O_CONTROLLERS];
    if (ioctl(ctl->fd, I2OGETIOPS, tab) < 0)
        return -errno;
    for (uint32_t i = 0; i < MAX_I2O_CONTROLLERS; i++) {
        if (!tab[i])
            continue;
        uint8_t *t;
        uint32_t len;
        if (iopctl_get_table(ctl, I2OLCTGET, i, &t, &len))
            continue;
        unsigned words = len >= 12 ? le16(t) : 0;
        for (unsigned off = 12; off + 36 <= words * 4u && off + 36 <= len; off += 36) {
            uint32_t etid = le16(t + off + 2) & 0xFFF, cls = le16(t + off + 12) & 0xFFF, b, d;
            if (cls != USB_CLASS)
                continue;
            if (colon ? usb_field(ctl, i, etid, 0, &b) == 0 && usb_field(ctl, i, etid, 1, &d) == 0 && b == bus && d == dev
                      : etid == *tid) {
                *iop = i;
                *tid = etid;
                free(t);
                return 0;
            }
        }
        free(t);
    }
    return -ENODEV;
}

static const char usage_text[] =
    "usb control DEV REQTYPE REQUEST VALUE INDEX LENGTH [--data HEX]\n"
    "       iopctl usb bulk|interrupt DEV ENDPOINT LENGTH|--data HEX [--interval N]\n"
    "       iopctl usb iso DEV ENDPOINT PACKETS PACKET_LENGTH [--interval N] [--data HEX]\n"
    "  DEV: the device's TID or BUS:DEVICE (as lsusb shows it); ENDPOINT with 0x80 for IN;\n"
    "  options: --timeout MS (default 5000), --flags N (URB flags)";

int iopctl_cmd_usb(struct iopctl *ctl, int argc, char **argv) {
    static const struct option opts[] = {
        { "data", required_argument, NULL, 'D' },
        { "timeout", required_argument, NULL, 't' },
        { "interval", required_argument, NULL, 'i' },
        { "flags", required_argument, NULL, 'F' },
        {}
    };
    const char *data_hex = NULL;
    uint32_t timeout = 5000, interval = 1, flags = 0;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "D:t:i:F:", opts, NULL)) != -1) {
        switch (c) {
        case 'D': data_hex = optarg; break;
        case 't': if (iopctl_parse_u32(optarg, 3600000, &timeout) < 0) return iopctl_usage("%s", usage_text); break;
        case 'i': if (iopctl_parse_u32(optarg, 0xFFFF, &interval) < 0) return iopctl_usage("%s", usage_text); break;
        case 'F': if (iopctl_parse_u32(optarg, 0xFFFF, &flags) < 0) return iopctl_usage("%s", usage_text); break;
        default: return iopctl_usage("%s", usage_text);
        }
    }
    char **a = argv + optind;
    int n = argc - optind;
    if (n < 3)
        return iopctl_usage("%s", usage_text);
    const char *kind = a[0];
    uint32_t iop = 0, tid = 0, ep = 0, type, len = 0, npackets = 0, plen = 0;
    uint32_t v[5];
    uint8_t setup[8] = { 0 };
    bool in;
    if (strcmp(kind, "control") == 0) {
        if (n != 7)
            return iopctl_usage("%s", usage_text);
        for (int i = 0; i < 5; i++)
            if (iopctl_parse_u32(a[2 + i], i < 2 ? 0xFF : 0xFFFF, &v[i]) < 0)
                return iopctl_usage("%s", usage_text);
        type = 2;
        setup[0] = (uint8_t)v[0];
        setup[1] = (uint8_t)v[1];
        setup[2] = (uint8_t)v[2], setup[3] = (uint8_t)(v[2] >> 8);
        setup[4] = (uint8_t)v[3], setup[5] = (uint8_t)(v[3] >> 8);
        setup[6] = (uint8_t)v[4], setup[7] = (uint8_t)(v[4] >> 8);
        len = v[4];
        in = setup[0] & 0x80;
        /* An OUT request's LENGTH bytes come from --data: without it LENGTH zeros went out. */
        if (!in && len && !data_hex)
            return iopctl_usage("%s (control: an OUT request with a LENGTH takes --data)", usage_text);
    } else if (strcmp(kind, "bulk") == 0 || strcmp(kind, "interrupt") == 0) {
        if (n < 3 || n > 4 || iopctl_parse_u32(a[2], 0xFF, &ep) < 0)
            return iopctl_usage("%s", usage_text);
        type = kind[0] == 'b' ? 3 : 1;
        in = ep & 0x80;
        if (in && (n != 4 || iopctl_parse_u32(a[3], MAX_DATA, &len) < 0))
            return iopctl_usage("%s", usage_text);
        if (!in && (n != 3 || !data_hex))
            return iopctl_usage("%s (OUT endpoints take --data)", usage_text);
    } else if (strcmp(kind, "iso") == 0) {
        if (n != 5 || iopctl_parse_u32(a[2], 0xFF, &ep) < 0 || iopctl_parse_u32(a[3], 64, &npackets) < 0 ||
            npackets == 0 || iopctl_parse_u32(a[4], 3 * 1024, &plen) < 0)
            return iopctl_usage("%s", usage_text);
        type = 0;
        in = ep & 0x80;
        len = npackets * plen;
        /* 64 packets of 3 KiB are 192 KiB: more than the data buffer below (an IN ran
         * over the packet length table and past the mapping). */
        if (len > MAX_DATA)
            return iopctl_usage("%s (iso: PACKETS x PACKET_LENGTH at most %u bytes)", usage_text, MAX_DATA);
        flags |= 0x0002; /* ISO ASAP */
    } else {
        return iopctl_usage("%s", usage_text);
    }
    /* IN transfers read: --data was ignored, as if it had been sent. */
    if (in && data_hex)
        return iopctl_usage("%s (--data is for OUT transfers)", usage_text);
    /* Frame, reply and data in one mapping below 4 GiB: SG addresses are 32-bit. */
    size_t map_len = (128 + REPLY_WORDS) * 4 + MAX_DATA + 4 * 64;
    uint32_t *msg = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (msg == MAP_FAILED)
        return iopctl_fail("mmap", errno);
    uint8_t *data = (uint8_t *)(msg + 128 + REPLY_WORDS);
    if (!in && data_hex) {
        int k = iopctl_parse_hex(data_hex, data, MAX_DATA);
        if (k < 0 || ((type == 2 || type == 0) && (uint32_t)k != len)) {
            munmap(msg, map_len);
            return iopctl_usage("%s (--data: hex bytes%s)", usage_text,
                                type == 2 ? ", exactly LENGTH of them" : type == 0 ? ", PACKETS x PACKET_LENGTH of them" : "");
        }
        if (type != 2)
            len = (uint32_t)k;
    }
    /* The device is looked up once the command line is known to be good. */
    int r = find_device(ctl, a[1], &iop, &tid);
    if (r == -EINVAL) {
        munmap(msg, map_len);
        return iopctl_usage("%s", usage_text);
    }
    if (r < 0) {
        munmap(msg, map_len);
        fprintf(stderr, "iopctl: no IOP shows a USB device %s%s%s\n", a[1], r == -ENODEV ? "" : ": ",
                r == -ENODEV ? "" : strerror(-r));
        return IOPCTL_FAILED;
    }
    /* ISO packet lengths in the message when they fit before the SGL (its offset has
     * 4 bits), else in a second SG element. */
    bool table = type == 0 && 10 + npackets > 15;
    unsigned body = 10 + (type == 0 && !table ? npackets : 0);
    unsigned words = body + (len ? 2 : 0) + (table ? 2 : 0);
    msg[0] = words << 16 | (len ? body << 4 : 0) | 0x01;
    msg[1] = 0xFFu << 24 | 1u << 12 | tid;
    msg[2] = 0x75736221; /* initiator context */
    msg[3] = 0;
    msg[4] = ORG_XFN;
    msg[5] = (type == 2 ? (in ? 0x80u : 0) : ep) | type << 8 | flags << 16;
    msg[6] = timeout;
    msg[7] = interval | npackets << 16;
    memcpy(&msg[8], setup, 8);
    uint8_t *lengths = data + MAX_DATA;
    for (unsigned i = 0; i < npackets; i++) {
        if (table)
            memcpy(lengths + 4 * i, (uint8_t[4]){ (uint8_t)plen, (uint8_t)(plen >> 8), 0, 0 }, 4);
        else
            msg[10 + i] = plen;
    }
    if (len) {
        msg[body] = 0x10000000u | (table ? 0 : 0x80000000u) | (in ? 0 : 0x04000000u) | len;
        msg[body + 1] = (uint32_t)(uintptr_t)data;
    }
    if (table) {
        msg[body + 2] = 0x10000000u | 0x80000000u | 0x04000000u | 4 * npackets;
        msg[body + 3] = (uint32_t)(uintptr_t)lengths;
    }
    uint32_t *reply = msg + words;
    memset(reply, 0, REPLY_WORDS * 4);
    reply[0] = REPLY_WORDS << 16;
    struct i2o_cmd_passthru pt = { .iop = iop, .msg = msg };
    r = ioctl(ctl->fd, I2OPASSTHRU, &pt);
    if (r < 0) {
        int e = errno;
        munmap(msg, map_len);
        return iopctl_fail("I2OPASSTHRU", e);
    }
    uint32_t actual = reply[5];
    int32_t status = (int32_t)reply[6];
    if (actual > len)
        actual = len;
    if (ctl->json) {
        printf("{\"iop\":%u,\"tid\":%u,\"status\":%d,\"actual_length\":%u,\"req_status\":%u,\"data\":\"", iop, tid,
               status, actual, reply[4] >> 24);
        for (uint32_t i = 0; in && i < actual; i++)
            printf("%02x", data[i]);
        printf("\"");
        if (type == 0) {
            printf(",\"start_frame\":%u,\"error_count\":%u,\"packets\":[", reply[7], reply[8]);
            for (unsigned i = 0; i < npackets && 10 + 2 * i < REPLY_WORDS; i++)
                printf("%s{\"actual_length\":%u,\"status\":%d}", i ? "," : "", reply[9 + 2 * i], (int32_t)reply[10 + 2 * i]);
            printf("]");
        }
        printf("}\n");
    } else {
        char why[80] = "";
        if (status)
            snprintf(why, sizeof(why), " (%s)", strerror(-status));
        printf("IOP %u TID 0x%03x: status %d%s, %u byte%s\n", iop, tid, status, why, actual, actual == 1 ? "" : "s");
        for (unsigned i = 0; type == 0 && i < npackets; i++)
            printf("  packet %u: status %d, %u byte%s\n", i, (int32_t)reply[10 + 2 * i], reply[9 + 2 * i],
                   reply[9 + 2 * i] == 1 ? "" : "s");
        for (uint32_t i = 0; in && i < actual; i++)
            printf("%02x%s", data[i], (i + 1) % 32 && i + 1 < actual ? (i + 1) % 4 ? "" : " " : "\n");
    }
    munmap(msg, map_len);
    /* A positive ioctl result is the IOP's ReqStatus: the URB failed. */
    return r == 0 && status == 0 ? IOPCTL_OK : IOPCTL_FAILED;
}
