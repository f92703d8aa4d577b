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

# After iopd has started (these ask it with $IOPCTL):
# the gadget's TID in IOP 0's LCT,
gadget_tid() {
    "$IOPCTL" --json lct 0 | python3 -c '
import json, sys
print([e["tid"] for e in json.load(sys.stdin)["devices"] if e["class"] == "usb-device" and e["vendor_id"] == 0x1d6b and e["sub_class"] & 0xffff == 0x0104][0])'
}
# EP_IN=0x8N and EP_OUT=0x0N, its bulk endpoints: eval "$(gadget_bulk_eps TID)",
gadget_bulk_eps() {
    "$IOPCTL" --json get 0 "$1" 0x8103 | python3 -c '
import json, sys
for e in json.load(sys.stdin)["rows"]:
    if e["bmAttributes"] & 3 == 2:
        print("%s=0x%02x" % ("EP_IN" if e["bEndpointAddress"] & 0x80 else "EP_OUT", e["bEndpointAddress"]))'
}
# and for QEMU's keyboard: KBD=bus:dev, KEP its interrupt endpoint and KIVAL the
# interval usbfs gives its URBs (from high speed on bInterval is an exponent, 2^(b-1)
# microframes; below, frames): eval "$(keyboard_int_ep)".
keyboard_int_ep() {
    kbd=$(lsusb -d 0627:0001 | sed -n 's/^Bus 0*\([0-9]*\) Device 0*\([0-9]*\).*/\1:\2/p' | head -n 1)
    ktid=$("$IOPCTL" --json lct 0 | python3 -c '
import json, sys
print([e["tid"] for e in json.load(sys.stdin)["devices"] if e["class"] == "usb-device" and e["vendor_id"] == 0x0627][0])')
    speed=$("$IOPCTL" --json get 0 "$ktid" 0x8100 | python3 -c 'import json,sys; print(json.load(sys.stdin)["fields"]["Speed"])')
    "$IOPCTL" --json get 0 "$ktid" 0x8103 | python3 -c '
import json, sys
e = [e for e in json.load(sys.stdin)["rows"] if e["bmAttributes"] & 3 == 3][0]
b = e["bInterval"]
print("KBD=%s KEP=0x%02x KIVAL=%d" % (sys.argv[1], e["bEndpointAddress"], 1 << (b - 1) if int(sys.argv[2]) >= 3 else b))' "$kbd" "$speed"
}

# The transfers the usbmon golden tests trace, through iopd: control IN (18 bytes, and
# a short one), control OUT without data, bulk OUT and IN of 200 bytes, a stall on
# bulk IN, GET_STATUS, and interrupt IN on the keyboard unlinked by a signal to its
# caller.  Needs GD, EP_IN, EP_OUT (gadget_bulk_eps) and KBD, KEP, KIVAL
# (keyboard_int_ep).
usbmon_traffic() {
    long=$(python3 -c 'print(bytes(range(200)).hex())')
    "$IOPCTL" usb control "$GD" 0x80 6 0x0100 0 18 >/dev/null           # control IN
    "$IOPCTL" usb control "$GD" 0x80 6 0x0200 0 255 >/dev/null          # control IN, short
    "$IOPCTL" usb control "$GD" 0x00 3 1 0 0 >/dev/null 2>&1            # control OUT, no data
    "$IOPCTL" usb control "$GD" 0x00 1 1 0 0 >/dev/null 2>&1
    "$IOPCTL" usb bulk "$GD" "$EP_OUT" --data "$long" >/dev/null        # bulk OUT of 200 bytes
    "$IOPCTL" usb bulk "$GD" "$EP_IN" 512 >/dev/null                    # bulk IN (200 back)
    "$IOPCTL" usb control "$GD" 0x02 3 0 "$EP_IN" 0 >/dev/null          # SET_FEATURE(ENDPOINT_HALT)
    "$IOPCTL" usb bulk "$GD" "$EP_IN" 64 >/dev/null 2>&1                # a stall: -EPIPE
    "$IOPCTL" usb control "$GD" 0x02 1 0 "$EP_IN" 0 >/dev/null          # CLEAR_FEATURE(ENDPOINT_HALT)
    "$IOPCTL" usb control "$GD" 0x80 0 0 0 2 >/dev/null                 # GET_STATUS
    # Interrupt IN that never completes, unlinked when a signal hits its caller (the
    # kernel sends FUSE_INTERRUPT, iopd unlinks the URB): the signal goes once iopd's
    # text trace shows the submit (a loaded machine can take seconds to get there).
    # SIGTERM: a non-interactive shell starts background jobs with SIGINT ignored.
    kbus=${KBD%%:*}
    cat "/dev/usbmon/${kbus}u" >/tmp/ktrace &
    tr=$!
    "$IOPCTL" usb interrupt "$KBD" "$KEP" 8 --interval "$KIVAL" --timeout 0 >/dev/null 2>&1 &
    intr=$!
    n=200
    until grep -q " S Ii:$kbus:" /tmp/ktrace || [ $n -eq 0 ]; do sleep 0.1; n=$((n - 1)); done
    kill -TERM $intr; wait $intr                                        # unlinked: -2
    sleep 1
    kill $tr; wait $tr
}

