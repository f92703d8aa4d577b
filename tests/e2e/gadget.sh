# A Loopback gadget on dummy_hcd through configfs, for the USB end-to-end tests
# (sourced by them).  VIDPID and the strings are what the host side sees;
# gadget_bus_dev prints "BUS:DEV" as lsusb shows it, gadget_sysfs its sysfs name.

GADGET_VIDPID=1d6b:0104
GADGET_MANUFACTURER=iopd
GADGET_PRODUCT="iopd loopback"
GADGET_SERIAL=IOPD-0001
G=/sys/kernel/config/usb_gadget/iopd-lb
UDC=$(ls /sys/class/udc 2>/dev/null | head -n 1)
UDEVD_PID=

gadget_present() {
    for d in /sys/bus/usb/devices/*; do
        [ "$(cat "$d/idVendor" 2>/dev/null):$(cat "$d/idProduct" 2>/dev/null)" = "$GADGET_VIDPID" ] && return 0
    done
    return 1
}

wait_gadget() { # present|absent
    n=100
    while [ $n -gt 0 ]; do
        if gadget_present; then [ "$1" = present ] && return 0
        else [ "$1" = absent ] && return 0; fi
        sleep 0.1; n=$((n - 1))
    done
    return 1
}

gadget_sysfs() {
    for d in /sys/bus/usb/devices/*; do
        if [ "$(cat "$d/idVendor" 2>/dev/null):$(cat "$d/idProduct" 2>/dev/null)" = "$GADGET_VIDPID" ]; then
            basename "$d"
            return 0
        fi
    done
    return 1
}

gadget_bus_dev() {
    d=/sys/bus/usb/devices/$(gadget_sysfs) || return 1
    echo "$(cat "$d/busnum"):$(cat "$d/devnum")"
}

# The TIDs (decimal) iopd shows the gadget as: the LCT entries whose ProductInfo is its
# product string (needs $IOPCTL).
gadget_tids() { "$IOPCTL" --json lct 0 | python3 -c '
import json, sys
print(" ".join(str(e["tid"]) for e in json.load(sys.stdin)["devices"] if e.get("product_info") == sys.argv[1]))' "$GADGET_PRODUCT"; }

# wait_tids COUNT: until the gadget has COUNT TIDs (at most 30 s).
wait_tids() {
    n=300
    while [ $n -gt 0 ]; do
        set -- "$1" $(gadget_tids)
        [ $(($# - 1)) -eq "$1" ] && return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}

# bulk_eps TID: EP_IN and EP_OUT, the Loopback function's bulk endpoints, from the
# TID's endpoint table (group 0x8103; dummy_hcd numbers them).
bulk_eps() {
    eval "$("$IOPCTL" --json get 0 "$1" 0x8103 | python3 -c '
import json, sys
for e in json.load(sys.stdin)["rows"]:
    if e["bmAttributes"] & 3 == 2:
        print("%s=0x%02x" % ("EP_IN" if e["bEndpointAddress"] & 0x80 else "EP_OUT", e["bEndpointAddress"]))')"
}

# check_loopback DEV WHAT: 300 random bytes OUT and back IN through I2OPASSTHRU.
check_loopback() {
    payload=$(python3 -c 'import os; print(os.urandom(300).hex())')
    check "bulk OUT of 300 bytes$2" "$IOPCTL" usb bulk "$1" "$EP_OUT" --data "$payload"
    "$IOPCTL" --json usb bulk "$1" "$EP_IN" 512 >/tmp/in.json
    check "bulk IN returns the same 300 bytes" python3 -c "
import json; d = json.load(open('/tmp/in.json')); assert d['status'] == 0 and d['data'] == '$payload', d"
}

# check_traced BUS DEV: the first two lines of /dev/usbmon/BUSu while a control
# transfer runs are its S and C lines.
check_traced() {
    (head -n 2 "/dev/usbmon/$1u" >/tmp/head.txt) &
    headpid=$!
    sleep 0.5
    "$IOPCTL" usb control "$1:$2" 0x80 6 0x0100 0 18 >/dev/null
    wait $headpid
    check "head -n 2 /dev/usbmon/$1u shows the S and C lines" sh -c "grep -q ' S Ci:$1:' /tmp/head.txt && grep -q ' C Ci:$1:' /tmp/head.txt"
}

bind_gadget() { echo "$UDC" >"$G/UDC" && wait_gadget present; }
unbind_gadget() { echo "" >"$G/UDC" && wait_gadget absent; }

# make_gadget [nobind]: create it (and bind it to the UDC unless told not to).
make_gadget() {
    [ -n "$UDC" ] || { echo "no UDC: dummy_hcd is not loaded"; return 1; }
    mkdir -p "$G" && cd "$G" || return 1
    echo 0x1d6b >idVendor && echo 0x0104 >idProduct
    mkdir -p strings/0x409 configs/c.1/strings/0x409 functions/Loopback.0
    echo "$GADGET_MANUFACTURER" >strings/0x409/manufacturer
    echo "$GADGET_PRODUCT" >strings/0x409/product
    echo "$GADGET_SERIAL" >strings/0x409/serialnumber
    echo loopback >configs/c.1/strings/0x409/configuration
    [ -e configs/c.1/Loopback.0 ] || ln -s functions/Loopback.0 configs/c.1/
    cd / || return 1
    [ "${1-}" = nobind ] || bind_gadget
}

remove_gadget() {
    [ -d "$G" ] || return 0
    echo "" >"$G/UDC" 2>/dev/null
    rm -f "$G/configs/c.1/Loopback.0"
    rmdir "$G/configs/c.1/strings/0x409" "$G/configs/c.1" "$G/functions/Loopback.0" "$G/strings/0x409" "$G" 2>/dev/null
    true
}

# libusb learns of new devices from udev's netlink messages, so hotplug needs udevd.
start_udevd() {
    [ -x /lib/systemd/systemd-udevd ] || { echo "systemd-udevd missing (apt-get install udev)"; return 1; }
    /lib/systemd/systemd-udevd >/tmp/udevd.log 2>&1 &
    UDEVD_PID=$!
    sleep 0.5
}
