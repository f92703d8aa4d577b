#!/bin/sh
# The URB engine's libusb backend on real (virtual) hardware, inside the test VM
# (tests/vm/run): QEMU's usb-kbd, usb-storage and usb-audio on xHCI, and a configfs
# Loopback gadget on dummy_hcd.  Argument: the meson build directory.
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
E2E=$BUILD/tests/usb/usb-e2e
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }
check() {
    desc=$1; shift
    if "$@"; then ok "$desc"; else not_ok "$desc (exit $?)"; fi
}

. "$(dirname "$0")/../e2e/gadget.sh"   # make_gadget, bind_gadget, remove_gadget, start_udevd
VIDPID=$GADGET_VIDPID
cleanup() {
    [ -n "$UDEVD_PID" ] && kill "$UDEVD_PID" 2>/dev/null
    remove_gadget
}
trap cleanup EXIT

# Descriptors as our engine read them (control URBs) against lsusb -v (the kernel's
# cached copy), field by field, for every device.
LSUSB_FIELDS="bcdUSB bDeviceClass bDeviceSubClass bDeviceProtocol bMaxPacketSize0 idVendor
idProduct bcdDevice iManufacturer iProduct iSerial bNumConfigurations wTotalLength
bNumInterfaces bConfigurationValue iConfiguration bmAttributes MaxPower bInterfaceNumber
bAlternateSetting bNumEndpoints bInterfaceClass bInterfaceSubClass bInterfaceProtocol
iInterface bEndpointAddress wMaxPacketSize bInterval"
descriptors_match_lsusb() {
    "$E2E" list >/tmp/usb-list.txt || return 1
    devs=$(awk '/^device /{print $2}' /tmp/usb-list.txt)
    [ -n "$devs" ] || return 1
    rc=0
    for d in $devs; do
        awk -v d="$d" '/^device /{on = ($2 == d); next} on' /tmp/usb-list.txt >/tmp/ours.txt
        # Only the standard descriptors: class-specific ones (audio's) reuse field names.
        lsusb -v -s "$d" 2>/dev/null | awk -v fields="$LSUSB_FIELDS" '
            BEGIN { n = split(fields, f); for (i = 1; i <= n; i++) want[f[i]] = 1; std = 1 }
            /Binary Object Store Descriptor:|Hub Descriptor:|Device Status:|Device Qualifier/ { stop = 1 }
            /Descriptor:$/ { std = ($0 ~ /^ *(Device|Configuration|Interface|Endpoint) Descriptor:$/) }
            !stop && std && ($1 in want) { print $1, $2 }' >/tmp/lsusb.txt
        if ! diff -u /tmp/lsusb.txt /tmp/ours.txt >/tmp/diff.txt; then
            echo "device $d: engine vs lsusb -v differ:"; cat /tmp/diff.txt; rc=1
        else
            echo "  $d: $(wc -l </tmp/ours.txt) fields equal ($(awk '/^idVendor|^idProduct/{printf "%s ", $2}' /tmp/ours.txt))"
        fi
    done
    return $rc
}

[ -n "$UDC" ] || { echo "no UDC (dummy_hcd not loaded)"; exit 1; }
check "Loopback gadget bound to $UDC" make_gadget
check "descriptors read by the engine equal lsusb -v" descriptors_match_lsusb
check "bulk loopback through the gadget" "$E2E" loopback $VIDPID
check "stalls give -EPIPE" "$E2E" stall $VIDPID
check "interrupt IN on the QEMU keyboard" "$E2E" kbd
check "bulk-only transport on the QEMU disk" "$E2E" storage
check "isochronous OUT on QEMU's usb-audio (altsetting through usbfs)" "$E2E" iso
# Without udevd: the kernel's uevents (and usbfs's error on the open device's fd).
check "unbind with URBs in flight (no udevd)" "$E2E" unbind $VIDPID "$G/UDC"
check "gadget bound again" bind_gadget
check "hotplug without udevd: unbind and bind again are seen" "$E2E" replug $VIDPID "$G/UDC" "$UDC"
# With udevd and the uevent socket off: libusb's own hotplug, the fallback.
if start_udevd; then
    check "unbind with URBs in flight (udevd, libusb hotplug)" env USB_E2E_UEVENTS_OFF=1 "$E2E" unbind $VIDPID "$G/UDC"
    check "gadget bound again" bind_gadget
    check "libusb hotplug: unbind and bind again are seen" env USB_E2E_UEVENTS_OFF=1 "$E2E" replug $VIDPID "$G/UDC" "$UDC"
else
    not_ok "udevd could not be started"
fi
echo "usb-e2e: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
