/* USB devices as I2O devices.
 *
 * Every USB device the URB engine (lib/usb) finds, and the policy allows, becomes an
 * LCT entry below the USB bus adapter TID (the first device of the first IOP whose
 * configuration says "usb": true), with TIDs from 0x100 up.  Its parameter groups are
 * the standard ones plus 0x8100-0x8103 (device descriptor, configurations, interfaces,
 * endpoints) filled from the descriptors the engine read with real control URBs.
 * Hotplug adds and removes entries: the executive raises NEW_LCT_ENTRY /
 * MODIFIED_LCT, and the bus adapter STATE_CHANGE (data: u32 TID, u32 state: 0 added,
 * 0x10 removed).
 *
 * I2OPASSTHRU to such a TID carries iopd's private USB transfer message, one URB:
 *
 *   word 0   size << 16 | SGL offset << 4 | 0x01
 *   word 1   0xFF (private) << 24 | initiator TID << 12 | the USB device's TID
 *   word 2-3 initiator and transaction contexts (returned in the reply)
 *   word 4   OrganizationID 0x7E0D << 16 | XFunctionCode 0x0001 (USB transfer)
 *   word 5   bits 0-7 bEndpointAddress (0x80: IN), bits 8-9 transfer type
 *            (0 isochronous, 1 interrupt, 2 control, 3 bulk), bits 16-31 URB flags
 *            (0x0001 short-not-ok, 0x0002 ISO ASAP, 0x0040 zero packet)
 *   word 6   timeout in milliseconds, 0: none
 *   word 7   bits 0-15 interval (interrupt, isochronous), bits 16-31 number of ISO
 *            packets
 *   word 8-9 the control setup packet (8 bytes, wire order), else 0
 *   word 10+ isochronous: one word per packet, its length, when they fit before the
 *            SGL (whose offset in word 0 has 4 bits: at most 5 packets)
 *   SGL      one simple element for the data (IOP-to-host for IN, host-to-IOP for
 *            OUT), or none for a transfer without data; for an isochronous transfer
 *            whose lengths are not in the message (SGL offset 10), a second simple
 *            element, host-to-IOP, holds them: 4 bytes per packet, little-endian
 *
 *   reply word 4   ReqStatus << 24 | DetailedStatus (0 when the URB succeeded)
 *   reply word 5   actual_length (bytes)
 *   reply word 6   the URB's status, a negative errno as a signed 32-bit value
 *   reply word 7   start_frame;  word 8: error_count
 *   reply word 9+  isochronous: per packet actual_length, status (as many as fit)
 *
 * Without a claimed interface only standard device-to-host requests on endpoint 0 are
 * allowed, and requests to an interface or its endpoints need that interface claimed
 * (the engine refuses the rest with -EACCES, lib/usb/urb.h); the policy says which
 * devices iopd claims (and whether it may detach a kernel driver to do so: never by
 * default). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/usb/ch9.h"

struct iop_system;
struct iop_usb_engine;
struct iop_usb_tids;

#define IOP_USB_ORG_ID 0x7E0Du
#define IOP_USB_XFN_TRANSFER 0x0001u
/* I2O class for USB devices: iopd's choice in the range I2O 1.5 leaves unassigned. */
#define IOP_CLASS_USB_DEVICE 0x0F0u
#define IOP_USB_FIRST_TID 0x100u
#define IOP_USB_POLICY_MAX 32u

struct iop_usb_match {
    uint16_t vid, pid;
    bool any_pid;          /* "vvvv:*" */
    bool detach;           /* claim rules: may detach a kernel driver */
    /* By place instead ("B-P.P", as sysfs names devices): the device on bus `bus`
     * behind the ports ports[0..depth) counted from the root hub down. */
    bool by_port;
    uint16_t bus;
    uint8_t depth;
    uint8_t ports[IOP_USB_MAX_PORTS];
};

struct iop_usb_dev_info;
/* Does the rule select this device? */
bool iop_usb_match_device(const struct iop_usb_match *m, uint16_t vid, uint16_t pid,
                          const struct iop_usb_dev_info *info);

struct iop_usb_policy {
    struct iop_usb_match allow[IOP_USB_POLICY_MAX]; /* none: every device */
    unsigned n_allow;
    struct iop_usb_match claim[IOP_USB_POLICY_MAX]; /* devices whose interfaces iopd claims */
    unsigned n_claim;
};

struct iop_usb_tids_hooks {
    /* A device appeared on a bus for the first time (for the usbmon bus nodes). */
    void (*bus_seen)(void *ctx, unsigned busnum);
    void *ctx;
};

int iop_usb_tids_new(struct iop_usb_engine *e, const struct iop_usb_policy *policy,
                     const struct iop_usb_tids_hooks *hooks, struct iop_usb_tids **ret);
/* Put the USB devices into sys (after a reload: the new system; the devices keep their
 * TIDs).  Registers for hotplug the first time.  0, or -errno. */
int iop_usb_tids_attach(struct iop_usb_tids *t, struct iop_system *sys);
/* Free before the engine (this unregisters from its hotplug list).  Transfers in
 * flight are unlinked and still complete, through the engine, after this returns;
 * entries are not removed from the system (it goes too).  NULL is fine. */
struct iop_usb_tids *iop_usb_tids_free(struct iop_usb_tids *t);
unsigned iop_usb_tids_count(const struct iop_usb_tids *t);
