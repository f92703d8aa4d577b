#include "lib/usb/descriptors.h"

#include <assert.h>
#include <errno.h>

#include "lib/usb/urb.h"
#include "lib/util/bytes.h"

int iop_usb_config_header(const uint8_t *buf, size_t len, struct iop_usb_config_header *ret) {
    assert(ret);
    if (!buf || len < IOP_USB_DT_CONFIG_SIZE || buf[0] < IOP_USB_DT_CONFIG_SIZE ||
        buf[1] != IOP_USB_DT_CONFIG)
        return -EINVAL;
    *ret = (struct iop_usb_config_header){
        .total_length = iop_get_le16(buf + 2),
        .num_interfaces = buf[4],
        .value = buf[5],
        .attributes = buf[7],
        .max_power = buf[8],
    };
    return 0;
}

/* One step of the walk: the descriptor at *pos, or NULL at the end or at the first
 * malformed descriptor (bLength below 2 or past the end), where the kernel stops. */
static const uint8_t *next_desc(const uint8_t *buf, size_t len, size_t *pos) {
    if (*pos + 2 > len)
        return NULL;
    const uint8_t *d = buf + *pos;
    if (d[0] < 2 || d[0] > len - *pos)
        return NULL;
    *pos += d[0];
    return d;
}

/* The walk's usable length: wTotalLength when the buffer holds at least that much
 * (a device may append junk), else what was actually read. */
static size_t walk_len(const uint8_t *buf, size_t len) {
    size_t total = iop_get_le16(buf + 2);
    return total < len ? total : len;
}

int iop_usb_config_endpoints(const uint8_t *buf, size_t len, const uint8_t *alts, size_t n_alts,
                             struct iop_usb_ep_info *out, size_t max) {
    struct iop_usb_config_header h;
    int r = iop_usb_config_header(buf, len, &h);
    if (r < 0)
        return r;
    len = walk_len(buf, len);
    size_t pos = buf[0];
    bool selected = false; /* inside an interface altsetting we want */
    uint8_t ifnum = 0, alt = 0;
    size_t found = 0;
    struct iop_usb_ep_info *last = NULL; /* for a following SS companion */
    uint32_t seen_in = 0, seen_out = 0;  /* duplicates are skipped, per direction */
    const uint8_t *d;

    while ((d = next_desc(buf, len, &pos))) {
        if (d[1] == IOP_USB_DT_INTERFACE) {
            last = NULL;
            if (d[0] < IOP_USB_DT_INTERFACE_SIZE) {
                selected = false; /* the kernel skips a short interface descriptor */
                continue;
            }
            ifnum = d[2];
            alt = d[3];
            uint8_t want = (alts && ifnum < n_alts) ? alts[ifnum] : 0;
            selected = alt == want;
        } else if (d[1] == IOP_USB_DT_ENDPOINT) {
            last = NULL;
            if (!selected || d[0] < IOP_USB_DT_ENDPOINT_SIZE)
                continue;
            uint8_t addr = d[2];
            unsigned num = addr & IOP_USB_ENDPOINT_NUMBER_MASK;
            if (num == 0)
                continue;
            uint32_t *seen = (addr & IOP_USB_DIR_IN) ? &seen_in : &seen_out;
            if (*seen & (1u << num))
                continue;
            *seen |= 1u << num;
            struct iop_usb_ep_info ep = {
                .address = addr & (IOP_USB_DIR_IN | IOP_USB_ENDPOINT_NUMBER_MASK),
                .attributes = d[3],
                .max_packet = iop_get_le16(d + 4),
                .interval = d[6],
                .interface = ifnum,
                .altsetting = alt,
            };
            if (found < max) {
                out[found] = ep;
                last = &out[found];
            }
            found++;
        } else if (d[1] == IOP_USB_DT_SS_ENDPOINT_COMP) {
            if (last && d[0] >= IOP_USB_DT_SS_EP_COMP_SIZE) {
                last->ss_max_burst = d[2];
                last->ss_attributes = d[3];
            }
            last = NULL;
        }
    }
    return (int)found;
}

bool iop_usb_config_has_altsetting(const uint8_t *buf, size_t len, uint8_t ifnum, uint8_t alt) {
    struct iop_usb_config_header h;
    if (iop_usb_config_header(buf, len, &h) < 0)
        return false;
    len = walk_len(buf, len);
    size_t pos = buf[0];
    const uint8_t *d;
    while ((d = next_desc(buf, len, &pos)))
        if (d[1] == IOP_USB_DT_INTERFACE && d[0] >= IOP_USB_DT_INTERFACE_SIZE && d[2] == ifnum &&
            d[3] == alt)
            return true;
    return false;
}

uint32_t iop_usb_config_interfaces(const uint8_t *buf, size_t len) {
    struct iop_usb_config_header h;
    if (iop_usb_config_header(buf, len, &h) < 0)
        return 0;
    len = walk_len(buf, len);
    size_t pos = buf[0];
    const uint8_t *d;
    uint32_t mask = 0;
    while ((d = next_desc(buf, len, &pos)))
        if (d[1] == IOP_USB_DT_INTERFACE && d[0] >= IOP_USB_DT_INTERFACE_SIZE && d[2] < 32)
            mask |= 1u << d[2];
    return mask;
}

uint32_t iop_usb_ep_iso_max(const struct iop_usb_ep_info *ep, enum iop_usb_speed speed) {
    assert(ep);
    uint32_t max = iop_usb_ep_maxp(ep);
    if (speed >= IOP_USB_SPEED_SUPER) {
        /* Up to 16 bursts of up to 3 packets (USB_SS_MULT). */
        max *= 1u + ep->ss_max_burst;
        max *= 1u + (ep->ss_attributes & 0x3u);
    } else if (speed == IOP_USB_SPEED_HIGH) {
        /* High bandwidth: 1-3 packets per microframe (usb_endpoint_maxp_mult). */
        max *= 1u + ((ep->max_packet >> 11) & 0x3u);
    }
    return max;
}
