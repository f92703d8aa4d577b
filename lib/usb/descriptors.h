/* Configuration descriptor parsing: the walk that turns a device's raw configuration
 * descriptor into the endpoint table the URB engine validates submissions against.
 * Every buffer here came from a device and may be malformed: lengths are checked
 * against the buffer, never trusted, and a bad descriptor ends the walk as the
 * kernel's usb_parse_configuration() does ("skipping remainder of the config"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/usb/ch9.h"
#include "lib/usb/urb.h"

struct iop_usb_ep_info {
    uint8_t address;       /* bEndpointAddress: number | IOP_USB_DIR_IN */
    uint8_t attributes;    /* bmAttributes: transfer type in bits 1:0 */
    uint16_t max_packet;   /* wMaxPacketSize as sent: bits 12:11 are the HS mult */
    uint8_t interval;      /* bInterval as sent */
    uint8_t interface;     /* bInterfaceNumber of the interface it belongs to */
    uint8_t altsetting;    /* bAlternateSetting of that interface */
    uint8_t ss_max_burst;  /* SuperSpeed companion bMaxBurst (0 without one) */
    uint8_t ss_attributes; /* SuperSpeed companion bmAttributes (0 without one) */
};

struct iop_usb_config_header {
    uint16_t total_length; /* wTotalLength */
    uint8_t num_interfaces;
    uint8_t value;         /* bConfigurationValue */
    uint8_t attributes;
    uint8_t max_power;     /* bMaxPower, in 2 mA (8 mA at SuperSpeed) units */
};

/* Decode the 9-byte header.  -EINVAL unless buf holds a configuration descriptor. */
int iop_usb_config_header(const uint8_t *buf, size_t len, struct iop_usb_config_header *ret);

/* The endpoints of one configuration, for the altsetting alts[n] of each interface n
 * (alts NULL or n >= n_alts: altsetting 0).  Writes at most max entries to out and
 * returns how many there are in total (a count > max means out was too small), or
 * -EINVAL when buf is not a configuration descriptor.  Endpoint 0 and duplicate
 * addresses are skipped, as the kernel skips them. */
int iop_usb_config_endpoints(const uint8_t *buf, size_t len, const uint8_t *alts, size_t n_alts,
                             struct iop_usb_ep_info *out, size_t max);

/* Whether the configuration has interface ifnum with altsetting alt. */
bool iop_usb_config_has_altsetting(const uint8_t *buf, size_t len, uint8_t ifnum, uint8_t alt);

/* The interface numbers the configuration has, as a bit mask (numbers above 31, which
 * the engine does not track, are left out). */
uint32_t iop_usb_config_interfaces(const uint8_t *buf, size_t len);

/* The transfer type of an endpoint as enum iop_xfer (bmAttributes orders the types
 * control, isochronous, bulk, interrupt; the kernel's PIPE_ numbering does not). */
static inline int iop_usb_ep_xfer(const struct iop_usb_ep_info *ep) {
    static const uint8_t pipe[4] = { IOP_XFER_CONTROL, IOP_XFER_ISOC, IOP_XFER_BULK,
                                     IOP_XFER_INT };
    return pipe[ep->attributes & IOP_USB_ENDPOINT_XFERTYPE_MASK];
}

/* wMaxPacketSize without the high-bandwidth bits: the bytes in one packet. */
static inline uint32_t iop_usb_ep_maxp(const struct iop_usb_ep_info *ep) {
    return ep->max_packet & 0x7ffu;
}

/* The largest ISO packet (bytes per service interval) an endpoint accepts at a speed,
 * as usb_submit_urb() computes it: maxp times the HS mult, or times burst and mult
 * at SuperSpeed. */
uint32_t iop_usb_ep_iso_max(const struct iop_usb_ep_info *ep, enum iop_usb_speed speed);
