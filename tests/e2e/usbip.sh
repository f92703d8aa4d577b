#!/bin/sh
# Devices on other machines through the kernel's USB/IP, on loopback (tests/vm/run
# --usbip loads usbip-core, usbip-host and vhci-hcd): usbipd exports the Loopback
# gadget, iopd stops serving the exported original (bound to usbip-host) and serves the
# copy `usbip attach` makes on vhci-hcd like a local device: an LCT entry with the
# strings lsusb shows, bulk loopback through I2OPASSTHRU, its bus traced.  Detaching
# it with a transfer in flight is an unplug: the transfer completes once, the entry
# goes, MODIFIED_LCT is raised.  Restarted while the original is exported, iopd still
# skips it; `usbip unbind` gives it back.  No udevd runs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gadget.sh"
e2e_init "$@"
rm -rf "$STATE"/*
USBIPD_PID=
BUSID=
usbip_cleanup() {
    for p in $(usbip port 2>/dev/null | sed -n 's/^Port \([0-9]*\):.*/\1/p'); do usbip detach -p "$p" >/dev/null 2>&1; done
    [ -n "$BUSID" ] && usbip unbind -b "$BUSID" >/dev/null 2>&1
    [ -n "$USBIPD_PID" ] && kill "$USBIPD_PID" 2>/dev/null
    remove_gadget
    e2e_cleanup
}
trap usbip_cleanup EXIT

if ! command -v usbipd >/dev/null || ! command -v usbip >/dev/null; then
    not_ok "usbipd and usbip are installed (tools/install-deps installs the usbip package)"
    e2e_finish; exit
fi
check "vhci-hcd and usbip-host are loaded (tests/vm/run --usbip)" test -d /sys/bus/usb/drivers/usbip-host -a -d /sys/devices/platform/vhci_hcd.0
if command -v ip >/dev/null; then IP=ip; else IP="busybox ip"; fi
check "loopback up" $IP link set lo up
check "Loopback gadget bound to $UDC" make_gadget
BUSID=$(gadget_sysfs)
cat >/tmp/usb.json <<JSON
{ "iops": [ { "unit": 0, "devices": [ { "tid": 12, "class": "bus-adapter", "usb": true } ] } ],
  "usb": { "claim": [ { "device": "$GADGET_VIDPID" } ] } }
JSON
check "iopd starts" start_iopd --config /tmp/usb.json

check "the gadget is served (one TID)" wait_tids 1
ORIG_BUS=$("$IOPCTL" --json get 0 "$(gadget_tids)" 0x8100 | python3 -c 'import json,sys; print(json.load(sys.stdin)["fields"]["Bus"])')

usbipd -D -4 >/tmp/usbipd.log 2>&1
sleep 1
USBIPD_PID=$(for p in /proc/[0-9]*; do [ "$(cat "$p/comm" 2>/dev/null)" = usbipd ] && basename "$p"; done | head -n 1)
check "usbipd runs" test -n "$USBIPD_PID"
check "usbip bind -b $BUSID (export it)" usbip bind -b "$BUSID"
check "the exported original is no longer served" wait_tids 0
check "usbip attach -r 127.0.0.1 -b $BUSID" usbip attach -r 127.0.0.1 -b "$BUSID"
check "the attached device is served" wait_tids 1
VTID=$(gadget_tids)
eval "$("$IOPCTL" --json get 0 "$VTID" 0x8100 | python3 -c '
import json, sys
f = json.load(sys.stdin)["fields"]
print("VBUS=%d VDEV=%d VPATH=%s" % (f["Bus"], f["Device"], f["PortPath"]))')"
VNAME=$VBUS-$VPATH
echo "    TID $VTID: bus $VBUS device $VDEV ($VNAME); the original is on bus $ORIG_BUS"
check "it is on vhci-hcd, not the original" sh -c "readlink -f /sys/bus/usb/devices/$VNAME | grep -q vhci_hcd && [ $VBUS -ne $ORIG_BUS ]"
check "its strings equal lsusb -v's" python3 -c "
import json, re, subprocess
f = json.loads(subprocess.check_output(['$IOPCTL', '--json', 'get', '0', '$VTID', '0x8100']))['fields']
text = subprocess.run(['lsusb', '-v', '-s', '$VBUS:$VDEV'], capture_output=True, text=True).stdout
for name, field, want in (('iManufacturer', 'Manufacturer', '$GADGET_MANUFACTURER'), ('iProduct', 'Product', '$GADGET_PRODUCT'),
                          ('iSerial', 'SerialNumber', '$GADGET_SERIAL')):
    m = re.search(r'^\s+%s\s+(\d+) ?(.*)$' % name, text, re.M)
    print('    %s: iopd %r, lsusb %r' % (field, f[field], m.group(2).rstrip() if m else None))
    assert m and f[field] == m.group(2).rstrip() == want"

bulk_eps "$VTID"
check_loopback "$VBUS:$VDEV" " over USB/IP"
check_traced "$VBUS" "$VDEV"

# Detach with a bulk IN waiting (the loopback is empty): vhci-hcd gives it back with
# -ENODEV (or usbfs -EPROTO, -ESHUTDOWN as the connection goes).
pending_in_start "$VTID" "$EP_IN" "$VBUS"
PORT=$(usbip port 2>/dev/null | sed -n 's/^Port \([0-9]*\):.*/\1/p' | head -n 1)
check "usbip detach -p $PORT" usbip detach -p "$PORT"
pending_in_finish -19 -71 -108
check "the attached device's TID is gone" wait_tids 0
check "the daemon keeps serving" "$IOPCTL" list
check "SIGTERM" stop_iopd

# Started again while the original is exported: still not served.
check "iopd starts again" start_iopd --config /tmp/usb.json
sleep 3
check "the exported original is skipped at start" sh -c "[ -z \"\$(echo $(gadget_tids))\" ]"
check "usbip unbind -b $BUSID (give it back)" usbip unbind -b "$BUSID"
BUSID=
check "given back, the original is served again" wait_tids 1
check "SIGTERM" stop_iopd
e2e_finish
