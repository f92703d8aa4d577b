#!/bin/sh
# Bulk throughput of the URB engine against plain libusb, on a Loopback gadget in the
# test VM.  On the host:
#   tests/usb/bench-usb.sh [--usbip] [BUILD_DIR [SIZE DEPTH SECONDS ROUNDS]]
# boots the VM (tests/vm/run) and runs this script inside it, which binds the gadget
# and runs BUILD_DIR/tests/usb/bench-usb.  Prints the per-round rates and one line
# with the ratio (target >= 0.95).  With --usbip it measures the local gadget first,
# then exports it with usbipd on loopback, attaches it with `usbip attach` (vhci-hcd)
# and measures the same over that USB/IP link: both figures from one VM.
set -u
here=$(cd "$(dirname "$0")" && pwd)
usbip=
[ "${1-}" = --usbip ] && { usbip=--usbip; shift; }
BUILD=${1:-$here/../../build}
BUILD=$(cd "$BUILD" && pwd) || exit 2
shift $(( $# > 0 ? 1 : 0 ))

if [ -z "${IOPVM:-}" ]; then
    [ -x "$BUILD/tests/usb/bench-usb" ] || { echo "bench-usb: build it first: ninja -C $BUILD tests/usb/bench-usb" >&2; exit 2; }
    cd "$here/../.." && IOPVM_CACHE=${IOPVM_CACHE:-$BUILD/vm} exec tests/vm/run --timeout 900 $usbip -- /bin/sh "$here/bench-usb.sh" $usbip "$BUILD" "$@"
fi

G=/sys/kernel/config/usb_gadget/iopd-bench
UDC=$(ls /sys/class/udc | head -n 1)
[ -n "$UDC" ] || { echo "bench-usb: no UDC (dummy_hcd)"; exit 1; }
mkdir -p "$G" && cd "$G" || exit 1
echo 0x1d6b >idVendor && echo 0x0105 >idProduct
mkdir -p configs/c.1 functions/Loopback.0
# Larger gadget buffers than the 4096-byte default, so that one request holds one
# host transfer of the benchmark's size.
echo "${1:-16384}" >functions/Loopback.0/bulk_buflen
echo 32 >functions/Loopback.0/qlen
ln -s functions/Loopback.0 configs/c.1/
echo "$UDC" >UDC
n=50
until grep -qs 0105 /sys/bus/usb/devices/*/idProduct || [ $n -eq 0 ]; do sleep 0.1; n=$((n - 1)); done
cd /
[ -n "$usbip" ] && echo "== local: the gadget on dummy_hcd"
"$BUILD/tests/usb/bench-usb" 1d6b:0105 "$@"
rc=$?
if [ -n "$usbip" ] && [ $rc -eq 0 ]; then
    echo "== USB/IP: the same gadget exported by usbipd on 127.0.0.1, attached with usbip attach"
    busid=$(for d in /sys/bus/usb/devices/*; do [ "$(cat "$d/idProduct" 2>/dev/null)" = 0105 ] && basename "$d"; done | head -n 1)
    if command -v ip >/dev/null; then ip link set lo up; else busybox ip link set lo up; fi
    usbipd -D -4 >/dev/null 2>&1
    sleep 1
    usbip bind -b "$busid" >/dev/null && usbip attach -r 127.0.0.1 -b "$busid" || rc=1
    n=100
    vbus=
    while [ -z "$vbus" ] && [ $n -gt 0 ]; do
        for d in /sys/bus/usb/devices/*; do
            [ "$(cat "$d/idProduct" 2>/dev/null)" = 0105 ] && readlink -f "$d" | grep -q vhci_hcd && vbus=$(cat "$d/busnum")
        done
        sleep 0.1
        n=$((n - 1))
    done
    sleep 1 # the generic driver configures it
    if [ -n "$vbus" ] && [ $rc -eq 0 ]; then
        "$BUILD/tests/usb/bench-usb" "1d6b:0105@$vbus" "$@"
        rc=$?
    else
        echo "bench-usb: the USB/IP device did not appear"
        rc=1
    fi
    usbip detach -p 0 >/dev/null 2>&1
    usbip unbind -b "$busid" >/dev/null 2>&1
    for p in /proc/[0-9]*; do [ "$(cat "$p/comm" 2>/dev/null)" = usbipd ] && kill "$(basename "$p")"; done
fi
echo "" >"$G/UDC"
exit $rc
