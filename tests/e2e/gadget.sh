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

gadget_bus_dev() {
    for d in /sys/bus/usb/devices/*; do
        if [ "$(cat "$d/idVendor" 2>/dev/null):$(cat "$d/idProduct" 2>/dev/null)" = "$GADGET_VIDPID" ]; then
            echo "$(cat "$d/busnum"):$(cat "$d/devnum")"
            return 0
        fi
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
