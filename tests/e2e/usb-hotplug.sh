#!/bin/sh
# Hotplug without udevd (the plain test VM runs none, like containers and minimal
# systems): iopd hears the kernel's uevents itself.  A gadget bound after iopd started
# becomes a TID, announced once (one STATE_CHANGE "added"), with its strings; unbinding
# it removes the TID, announced once; binding it again brings it back.  How long iopd
# took from the kernel's uevent to the open device, and to its descriptors and strings
# read, is printed from iopd's debug log (figures, not a pass/fail threshold: the VM
# runs under TCG on a shared machine).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gadget.sh"
e2e_init "$@"
rm -rf "$STATE"/*
trap 'remove_gadget; e2e_cleanup' EXIT

no_udevd() {
    [ ! -e /run/udev/control ] || return 1
    for c in /proc/[0-9]*/comm; do
        case $(cat "$c" 2>/dev/null) in *udevd*) return 1 ;; esac
    done
}
check "no udevd is running" no_udevd
check "the gadget exists, not bound" make_gadget nobind
cat >/tmp/usb.json <<JSON
{ "iops": [ { "unit": 0, "devices": [ { "tid": 12, "class": "bus-adapter", "usb": true } ] } ],
  "usb": { "claim": [ { "device": "$GADGET_VIDPID" } ] } }
JSON
check "iopd starts" start_iopd --config /tmp/usb.json -v -v
check "no gadget in the LCT yet" sh -c "! '$IOPCTL' lct 0 | grep -q '$GADGET_PRODUCT'"
"$IOPCTL" events -f 0 0x00c 0x80000000 >/tmp/ev.txt 2>&1 &
evpid=$!
# iopctl says when its registration is in place (a loaded TCG guest can take seconds);
# an event raised before that would be lost to it, not to the daemon.
in_ev() { grep -c "$1" /tmp/ev.txt; }
registered() {
    n=1500
    until [ "$(in_ev 'registered for events')" -ge 1 ]; do
        [ $n -gt 0 ] || return 1
        sleep 0.02
        n=$((n - 1))
    done
}
# Exactly one event line matching $1: the first may take a while to come through the
# loaded guest, a second would come within a second after it.
once() {
    n=1500
    until [ "$(in_ev "$1")" -ge 1 ]; do
        [ $n -gt 0 ] || return 1
        sleep 0.02
        n=$((n - 1))
    done
    sleep 1
    [ "$(in_ev "$1")" -eq 1 ]
}
check "iopctl events has registered" registered

ms() { echo $(( $(date +%s%N) / 1000000 )); }
# The generic driver bound: the kernel's uevent that iopd acts on has gone out.
driver_bound() {
    n=600
    while [ $n -gt 0 ]; do
        d=$(gadget_sysfs) && [ "$(basename "$(readlink "/sys/bus/usb/devices/$d/driver" 2>/dev/null)")" = usb ] && return 0
        sleep 0.02
        n=$((n - 1))
    done
    return 1
}

echo "$UDC" >"$G/UDC"
check "the kernel configured the gadget" driver_bound
t0=$(ms)
check "it becomes a TID" wait_tids 1
echo "    seen here $(( $(ms) - t0 )) ms after the kernel's generic driver bound it (polling through python, TCG)"
sed -n 's/^<7>iopd: \(usb [0-9]*-[0-9]*: \(opened\|registered 1d6b\).*\)/    iopd: \1/p' "$IOPD_LOG"
TID=$(printf '0x%03x' "$(gadget_tids)")
sleep 1
check "exactly one TID for it" sh -c "[ \"\$(echo $(gadget_tids) | wc -w)\" -eq 1 ]"
tid_le=$(printf '%02x%02x0000' $((TID & 0xff)) $((TID >> 8)))
check "announced once (one STATE_CHANGE added)" once "data $tid_le 00000000"
check "its strings were read" sh -c "'$IOPCTL' --json get 0 $TID 0x8100 | grep -q '\"SerialNumber\":\"$GADGET_SERIAL\"'"
GD=$(gadget_bus_dev)
check "it answers a control transfer" "$IOPCTL" usb control "$GD" 0x80 6 0x0100 0 18

echo "" >"$G/UDC"
check "unbound: its TID goes" wait_tids 0
sleep 1
check "the removal announced once (one STATE_CHANGE removed)" once "data $tid_le 10000000"

echo "$UDC" >"$G/UDC"
check "bound again: a TID again" wait_tids 1
sleep 1
check "once" sh -c "[ \"\$(echo $(gadget_tids) | wc -w)\" -eq 1 ]"
kill $evpid 2>/dev/null
cat /tmp/ev.txt | sed 's/^/    /'
check "SIGTERM" stop_iopd
e2e_finish
