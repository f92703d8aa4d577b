#!/bin/sh
# USB devices inside the IOP, on real (virtual) hardware: QEMU's usb-kbd, usb-storage
# and usb-audio on xHCI and a Loopback gadget on dummy_hcd.  Their descriptors and
# strings through I2OPARMGET equal lsusb -v, the identity group names them, iopctl lct
# keeps its columns; bulk data round-trips through I2OPASSTHRU's USB message; a stall
# is -EPIPE; an unclaimed device refuses non-standard transfers; unbinding the gadget
# with a transfer in flight completes it once, removes the LCT entry and raises the
# event, and the daemon keeps serving; a non-ASCII product string comes out as the
# kernel's sysfs shows it; /dev/usbmon/Nu traces it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gadget.sh"
e2e_init "$@"
rm -rf "$STATE"/*
trap 'remove_gadget; [ -n "$UDEVD_PID" ] && kill $UDEVD_PID; e2e_cleanup' EXIT

check "udevd runs (libusb hotplug)" start_udevd
check "Loopback gadget bound to $UDC" make_gadget
GD=$(gadget_bus_dev)
cat >/tmp/usb.json <<JSON
{ "iops": [ { "unit": 0, "devices": [ { "tid": 12, "class": "bus-adapter", "usb": true } ] } ],
  "usb": { "claim": [ { "device": "$GADGET_VIDPID" } ] } }
JSON
check "iopd starts with USB" start_iopd --config /tmp/usb.json
n_usb=$(lsusb | wc -l)
n_tids=$("$IOPCTL" --json lct 0 | python3 -c 'import json,sys; print(sum(1 for d in json.load(sys.stdin)["devices"] if d["class"] == "usb-device"))')
check "every USB device is an LCT entry ($n_tids of $n_usb)" test "$n_tids" -eq "$n_usb"
check "usbmon nodes exist per bus" sh -c "ls /dev/usbmon/ | grep -q '^[1-9][0-9]*u$'"

# Descriptors through I2OPARMGET against lsusb -v, field by field, every device.
cat >/tmp/cmp.py <<'PY'
import json, re, subprocess, sys
iopctl = sys.argv[1]
def get(tid, group):
    return json.loads(subprocess.check_output([iopctl, "--json", "get", "0", str(tid), hex(group)]))
lct = json.loads(subprocess.check_output([iopctl, "--json", "lct", "0"]))
bad = 0
for d in lct["devices"]:
    if d["class"] != "usb-device":
        continue
    dev = get(d["tid"], 0x8100)["fields"]
    where = "%d:%d" % (dev["Bus"], dev["Device"])
    text = subprocess.run(["lsusb", "-v", "-s", where], capture_output=True, text=True).stdout
    text = re.split(r"Binary Object Store|Hub Descriptor|Device Status|Device Qualifier", text)[0]
    ls = [(m.group(1), int(m.group(2), 16) if m.group(2).startswith("0x") else float(m.group(2)))
          for m in re.finditer(r"^\s+(\w+)\s+(0x[0-9a-f]+|[0-9.]+)", text, re.M)]
    def first(name):
        return [v for k, v in ls if k == name]
    want = {
        "bcdUSB": first("bcdUSB")[0], "bDeviceClass": first("bDeviceClass")[0],
        "bDeviceSubClass": first("bDeviceSubClass")[0], "bDeviceProtocol": first("bDeviceProtocol")[0],
        "bMaxPacketSize0": first("bMaxPacketSize0")[0], "idVendor": first("idVendor")[0],
        "idProduct": first("idProduct")[0], "bcdDevice": first("bcdDevice")[0],
        "bNumConfigurations": first("bNumConfigurations")[0],
    }
    got = {k: dev[k] for k in want}
    # lsusb prints BCD numbers as decimals ("2.00"): compare as BCD.
    for k in ("bcdUSB", "bcdDevice"):
        want[k] = int(("%05.2f" % want[k]).replace(".", ""), 16)
    eps_ls = list(zip(first("bEndpointAddress"), first("wMaxPacketSize"), first("bInterval")))
    eps = get(d["tid"], 0x8103)["rows"]
    eps_io = [(e["bEndpointAddress"], e["wMaxPacketSize"], e["bInterval"]) for e in eps]
    # The strings, as lsusb prints them after their index (nothing for index 0).
    strings_bad = []
    ident = get(d["tid"], 0xF100)["fields"]
    for name, field in (("iManufacturer", "Manufacturer"), ("iProduct", "Product"), ("iSerial", "SerialNumber")):
        m = re.search(r"^\s+%s\s+(\d+) ?(.*)$" % name, text, re.M)
        want_s = m.group(2).rstrip() if m and int(m.group(1)) else ""
        if dev[field].rstrip() != want_s:
            strings_bad.append("%s: iopd %r, lsusb %r" % (field, dev[field], want_s))
    # The identity group: the strings cut to 16 bytes between characters, or numbers.
    def cut16(s):
        return s.encode()[:16].decode(errors="ignore")
    want_v = cut16(dev["Manufacturer"]) if dev["Manufacturer"] else "USB %04x" % dev["idVendor"]
    want_p = cut16(dev["Product"]) if dev["Product"] else "%04x:%04x" % (dev["idVendor"], dev["idProduct"])
    if ident["VendorInfo"] != want_v or ident["ProductInfo"] != want_p:
        strings_bad.append("identity %r %r, want %r %r" % (ident["VendorInfo"], ident["ProductInfo"], want_v, want_p))
    if d["vendor_info"] != want_v or d["product_info"] != want_p:
        strings_bad.append("iopctl lct names %r %r" % (d["vendor_info"], d["product_info"]))
    ifs_ls = list(zip(first("bInterfaceNumber"), first("bAlternateSetting"), first("bInterfaceClass")))
    ifs_io = [(i["bInterfaceNumber"], i["bAlternateSetting"], i["bInterfaceClass"]) for i in get(d["tid"], 0x8102)["rows"]]
    if got != want or sorted(eps_io) != sorted(eps_ls) or sorted(ifs_io) != sorted(ifs_ls) or strings_bad:
        bad += 1
        print("TID 0x%x (%s): iopd %s %s %s\n  lsusb %s %s %s\n  %s" % (d["tid"], where, got, eps_io, ifs_io, want,
                                                                  eps_ls, ifs_ls, "; ".join(strings_bad)))
    else:
        print("  TID 0x%x (%s %04x:%04x %r): %d device fields, 3 strings, %d interfaces, %d endpoints equal"
              % (d["tid"], where, got["idVendor"], got["idProduct"], dev["Product"], len(got), len(ifs_io), len(eps_io)))
sys.exit(1 if bad else 0)
PY
check "descriptors and strings through I2OPARMGET equal lsusb -v" python3 /tmp/cmp.py "$IOPCTL"
check "the gadget's strings are the configured ones" sh -c "'$IOPCTL' --json lct 0 | grep -q '\"vendor_info\":\"$GADGET_MANUFACTURER\",\"product_info\":\"$GADGET_PRODUCT\"'"
# iopctl lct: every row in the same columns, whatever the class (a 32-bit sub-class too).
"$IOPCTL" lct 0 >/tmp/lct.txt
check "iopctl lct keeps its columns for every class" python3 -c "
import re, sys
rows = open('/tmp/lct.txt').read().splitlines()[2:]
# Fixed positions: TID, sub-class, vendor, parent, events, change indicator.
cols = [(0, 5, r'0x[0-9a-f]{3}'), (25, 35, r'0x[0-9a-f]+ *'), (36, 42, r'0x[0-9a-f]{4}'), (43, 48, r'0x[0-9a-f]{3}'),
        (66, 76, r'0x[0-9a-f]{8}'), (77, 83, r'[0-9]+ *')]
bad = [r for r in rows if not all(re.fullmatch(p, r[a:b]) for a, b, p in cols)]
print('    %d rows, %d out of column' % (len(rows), len(bad)))
for r in bad: print('    ' + r)
sys.exit(1 if bad or not rows else 0)"

# The gadget's bulk endpoints, from its endpoint table (dummy_hcd numbers them).
TID=$("$IOPCTL" --json lct 0 | python3 -c '
import json, sys
d = json.load(sys.stdin)
print([e["tid"] for e in d["devices"] if e["class"] == "usb-device" and e["vendor_id"] == 0x1d6b and e["sub_class"] & 0xffff == 0x0104][0])')
bulk_eps "$TID"
echo "    gadget $GD is TID $TID, bulk OUT $EP_OUT, bulk IN $EP_IN"
# Bulk loopback through the gadget: OUT then IN, through I2OPASSTHRU.
check_loopback "$GD"
check "control GET_DESCRIPTOR (standard request)" "$IOPCTL" usb control "$GD" 0x80 6 0x0100 0 18

# A stall: halt the IN endpoint with SET_FEATURE, a bulk read gets -EPIPE, CLEAR_FEATURE.
check "SET_FEATURE(ENDPOINT_HALT) on $EP_IN" "$IOPCTL" usb control "$GD" 0x02 3 0 "$EP_IN" 0
"$IOPCTL" --json usb bulk "$GD" "$EP_IN" 64 >/tmp/stall.json
check "a halted endpoint gives -EPIPE" python3 -c "import json; assert json.load(open('/tmp/stall.json'))['status'] == -32"
check "CLEAR_FEATURE(ENDPOINT_HALT)" "$IOPCTL" usb control "$GD" 0x02 1 0 "$EP_IN" 0

# The QEMU disk is not claimed: only standard requests on endpoint 0.
DISK=$(lsusb -d 46f4:0001 | sed -n 's/^Bus 0*\([0-9]*\) Device 0*\([0-9]*\).*/\1:\2/p')
"$IOPCTL" --json usb bulk "$DISK" 0x81 512 >/tmp/acc.json
check "an unclaimed device refuses a bulk transfer: -EACCES" python3 -c "import json; assert json.load(open('/tmp/acc.json'))['status'] == -13"
check "but answers GET_DESCRIPTOR" "$IOPCTL" usb control "$DISK" 0x80 6 0x0100 0 18

# usbmon: head of the gadget bus's node while a transfer runs.
BUS=${GD%%:*}
check_traced "$BUS" "${GD##*:}"

# Unbind the gadget with a bulk IN waiting (the loopback is empty): -ENODEV, or -EPROTO
# for usbfs when the gadget's endpoints went first (backend-libusb.c).
pending_in_start "$TID" "$EP_IN" "$BUS"
check "unbind the gadget" unbind_gadget
pending_in_finish -19 -71
check "the gadget's TID is gone from the LCT" sh -c "! '$IOPCTL' --json lct 0 | grep -q '\"tid\":$TID,'"
check "the daemon keeps serving" "$IOPCTL" list
# A product string beyond ASCII: UTF-16 on the wire, UTF-8 as the kernel's sysfs shows it.
printf 'iopd l\303\266\303\266pback \342\234\223\n' >"$G/strings/0x409/product"
check "bind the gadget again" bind_gadget
sleep 2
# (vendor 0x1d6b is also every root hub's: match the gadget's product too)
check "it is back in the LCT" sh -c "'$IOPCTL' lct 0 | grep -Eq '^0x[0-9a-f]+ +usb-device +0x[0-9a-f]*0104 +0x1d6b '"
NEWTID=$("$IOPCTL" --json lct 0 | python3 -c '
import json, sys
print([e["tid"] for e in json.load(sys.stdin)["devices"] if e["class"] == "usb-device" and e["vendor_id"] == 0x1d6b and e["sub_class"] & 0xffff == 0x0104][0])')
check "its UTF-8 product string equals the kernel's (sysfs)" python3 -c "
import json, subprocess
got = json.loads(subprocess.check_output(['$IOPCTL', '--json', 'get', '0', '$NEWTID', '0x8100']))['fields']['Product']
want = open('/sys/bus/usb/devices/$(gadget_sysfs)/product', encoding='utf-8').read().rstrip('\n')
print('    iopd %r, sysfs %r' % (got, want))
assert got == want and got == 'iopd l\u00f6\u00f6pback \u2713', got"
check "SIGTERM" stop_iopd

# usb.allow by place: the keyboard's sysfs name (bus-port), nothing else.
KPLACE=$(for d in /sys/bus/usb/devices/*-*; do
    [ "$(cat "$d/idVendor" 2>/dev/null)" = 0627 ] && basename "$d" && break; done)
cat >/tmp/usb-place.json <<JSON
{ "iops": [ { "unit": 0, "devices": [ { "tid": 12, "class": "bus-adapter", "usb": true } ] } ],
  "usb": { "allow": [ "$KPLACE" ] } }
JSON
check "iopd starts with usb.allow [\"$KPLACE\"]" start_iopd --config /tmp/usb-place.json
check "only the keyboard at $KPLACE is a TID" sh -c "'$IOPCTL' --json lct 0 | python3 -c '
import json, sys
usb = [d for d in json.load(sys.stdin)[\"devices\"] if d[\"class\"] == \"usb-device\"]
assert [d[\"vendor_id\"] for d in usb] == [0x0627], usb'"
check "SIGTERM" stop_iopd
e2e_finish
