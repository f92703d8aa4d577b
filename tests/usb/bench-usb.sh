#!/bin/sh
# Bulk throughput of the URB engine against plain libusb, on a Loopback gadget in the
# test VM.  On the host:  tests/usb/bench-usb.sh [BUILD_DIR [SIZE DEPTH SECONDS ROUNDS]]
# boots the VM (tests/vm/run) and runs this script inside it, which binds the gadget
# and runs BUILD_DIR/tests/usb/bench-usb.  Prints the per-round rates and one line
# with the ratio (target >= 0.95).
set -u
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$here/../../build}
BUILD=$(cd "$BUILD" && pwd) || exit 2
shift $(( $# > 0 ? 1 : 0 ))

if [ -z "${IOPVM:-}" ]; then
    [ -x "$BUILD/tests/usb/bench-usb" ] || { echo "bench-usb: build it first: ninja -C $BUILD tests/usb/bench-usb" >&2; exit 2; }
    cd "$here/../.." && IOPVM_CACHE=${IOPVM_CACHE:-$BUILD/vm} exec tests/vm/run --timeout 600 -- /bin/sh "$here/bench-usb.sh" "$BUILD" "$@"
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
"$BUILD/tests/usb/bench-usb" 1d6b:0105 "$@"
rc=$?
echo "" >"$G/UDC"
exit $rc
