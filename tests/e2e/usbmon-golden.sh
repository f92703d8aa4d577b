#!/bin/sh
# iopd's usbmon text against the kernel's, for the same URBs: the kernel's usbmon sees
# every URB libusb submits through usbfs, so both traces of one device must agree
# field by field except the URB tag and the timestamp (which must be monotonic and
# close).  Transfers: control IN and OUT (with and without data), bulk OUT and IN
# longer than the 32 printed bytes, a stall, interrupt IN unlinked by a FUSE interrupt
# (a signal to the waiting iopctl); and isochronous OUT to QEMU's usb-audio: its
# streaming altsetting selected with SET_INTERFACE (usbfs's ioctl), 8 and then 4
# packets of 192 bytes (one millisecond of 48 kHz stereo each), per-packet status and
# length checked, altsetting 0 again.  One field differs by design: an ISO
# completion's start frame, which usbfs never returns to its user (processcompl()
# copies status, lengths and error count, not start_frame): it is compared as "*".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gadget.sh"
e2e_init "$@"
rm -rf "$STATE"/*
trap 'remove_gadget; [ -n "$UDEVD_PID" ] && kill $UDEVD_PID; e2e_cleanup' EXIT

check "udevd runs" start_udevd
check "Loopback gadget bound" make_gadget
GD=$(gadget_bus_dev); GBUS=${GD%%:*}; GDEV=${GD##*:}
KBD=$(lsusb -d 0627:0001 | sed -n 's/^Bus 0*\([0-9]*\) Device 0*\([0-9]*\).*/\1:\2/p' | head -n 1)
KBUS=${KBD%%:*}; KDEV=${KBD##*:}
AUD=$(lsusb -d 46f4:0002 | sed -n 's/^Bus 0*\([0-9]*\) Device 0*\([0-9]*\).*/\1:\2/p' | head -n 1)
ABUS=${AUD%%:*}; ADEV=${AUD##*:}
cat >/tmp/usb.json <<JSON
{ "iops": [ { "unit": 0, "devices": [ { "tid": 12, "class": "bus-adapter", "usb": true } ] } ],
  "usb": { "claim": [ { "device": "$GADGET_VIDPID" }, { "device": "0627:0001" }, { "device": "46f4:0002" } ] } }
JSON
check "iopd starts" start_iopd --config /tmp/usb.json
check "debugfs usbmon is there" test -r /sys/kernel/debug/usb/usbmon/0u
TID=$("$IOPCTL" --json lct 0 | python3 -c '
import json, sys
print([e["tid"] for e in json.load(sys.stdin)["devices"] if e["class"] == "usb-device" and e["vendor_id"] == 0x1d6b and e["sub_class"] & 0xffff == 0x0104][0])')
bulk_eps "$TID"
# The keyboard's interrupt endpoint and the interval the kernel gives its URBs.
KTID=$("$IOPCTL" --json lct 0 | python3 -c '
import json, sys
print([e["tid"] for e in json.load(sys.stdin)["devices"] if e["class"] == "usb-device" and e["vendor_id"] == 0x0627][0])')
eval "$("$IOPCTL" --json get 0 "$KTID" 0x8103 | python3 -c '
import json, sys
e = [e for e in json.load(sys.stdin)["rows"] if e["bmAttributes"] & 3 == 3][0]
print("KEP=0x%02x KINT=%d" % (e["bEndpointAddress"], e["bInterval"]))')"
KSPEED=$("$IOPCTL" --json get 0 "$KTID" 0x8100 | python3 -c 'import json,sys; print(json.load(sys.stdin)["fields"]["Speed"])')
# usbfs: high speed and up, bInterval is an exponent (2^(b-1) microframes); below, frames.
if [ "$KSPEED" -ge 3 ]; then KIVAL=$((1 << (KINT - 1))); else KIVAL=$KINT; fi

# usb-audio: interface 1 streams, altsetting 1 has ISO OUT endpoint 0x01.  The first
# SET_INTERFACE to a setting makes usbcore read that setting's iInterface string for
# sysfs (usb_create_sysfs_intf_files), URBs of the kernel's own that iopd does not
# issue: select it once before tracing, so that the kernel has it cached.
check "usb-audio: warm-up SET_INTERFACE 1, then 0" sh -c "'$IOPCTL' usb control $AUD 0x01 0x0b 1 1 0 >/dev/null && '$IOPCTL' usb control $AUD 0x01 0x0b 0 1 0 >/dev/null"
isodata=$(python3 -c 'print(bytes(i % 251 for i in range(768)).hex())')

cat /sys/kernel/debug/usb/usbmon/0u >/tmp/kernel.txt &
kpid=$!
cat /dev/usbmon/0u >/tmp/iopd.txt &
ipid=$!
sleep 1
long=$(python3 -c 'print(bytes(range(200)).hex())')
"$IOPCTL" usb control "$GD" 0x80 6 0x0100 0 18 >/dev/null           # control IN
"$IOPCTL" usb control "$GD" 0x80 6 0x0200 0 255 >/dev/null          # control IN, short
"$IOPCTL" usb control "$GD" 0x00 3 1 0 0 >/dev/null 2>&1            # control OUT, no data (SET_FEATURE remote wakeup)
"$IOPCTL" usb control "$GD" 0x00 1 1 0 0 >/dev/null 2>&1            # CLEAR_FEATURE remote wakeup
"$IOPCTL" usb bulk "$GD" "$EP_OUT" --data "$long" >/dev/null        # bulk OUT of 200 bytes
"$IOPCTL" usb bulk "$GD" "$EP_IN" 512 >/dev/null                    # bulk IN (200 back)
"$IOPCTL" usb control "$GD" 0x02 3 0 "$EP_IN" 0 >/dev/null          # SET_FEATURE(ENDPOINT_HALT)
"$IOPCTL" usb bulk "$GD" "$EP_IN" 64 >/dev/null 2>&1                # a stall: -EPIPE
"$IOPCTL" usb control "$GD" 0x02 1 0 "$EP_IN" 0 >/dev/null          # CLEAR_FEATURE(ENDPOINT_HALT)
"$IOPCTL" usb control "$GD" 0x80 0 0 0 2 >/dev/null                 # GET_STATUS
"$IOPCTL" usb interrupt "$KBD" "$KEP" 8 --interval "$KIVAL" --timeout 0 >/dev/null 2>&1 &
intr=$!
# Wait for the submission to show in the trace (a fixed second is not enough for the
# background client to start on a loaded machine).
n=200; while [ $n -gt 0 ] && ! grep -q ' S Ii:' /tmp/iopd.txt; do sleep 0.1; n=$((n - 1)); done
sleep 0.5
# A signal to the waiting caller: the kernel sends FUSE_INTERRUPT, iopd unlinks the
# URB.  (SIGTERM: a non-interactive shell starts background jobs with SIGINT ignored.)
kill -TERM $intr; wait $intr
"$IOPCTL" usb control "$AUD" 0x01 0x0b 1 1 0 >/dev/null              # SET_INTERFACE: streaming
"$IOPCTL" --json usb iso "$AUD" 0x01 8 192 >/tmp/iso8.json           # 8 packets (lengths in an SG element)
"$IOPCTL" --json usb iso "$AUD" 0x01 4 192 --data "$isodata" >/tmp/iso4.json  # 4 (in the message)
"$IOPCTL" usb control "$AUD" 0x01 0x0b 0 1 0 >/dev/null              # SET_INTERFACE: off
sleep 1
kill $kpid $ipid

cat >/tmp/cmp.py <<'PY'
import sys
devs = set(sys.argv[1:])   # "bus:dev" of the devices our transfers used
def load(path):
    out = []
    for line in open(path):
        t = line.split()
        if len(t) < 4:
            continue
        addr = t[3].split(":")
        if len(addr) != 4 or "%d:%d" % (int(addr[1]), int(addr[2])) not in devs:
            continue
        # An ISO completion's start frame: the HCD's, which usbfs never gives back.
        if t[2] == "C" and t[3].startswith("Z") and len(t) > 4:
            f = t[4].split(":")
            if len(f) == 4:
                f[2] = "*"
                t[4] = ":".join(f)
        out.append((t[0], int(t[1]), " ".join(t[2:])))
    return out
k, i = load("/tmp/kernel.txt"), load("/tmp/iopd.txt")
print("    kernel: %d lines, iopd: %d lines for %s" % (len(k), len(i), " ".join(sorted(devs))))
bad = 0
for n, (a, b) in enumerate(zip(k, i)):
    if a[2] != b[2]:
        bad += 1
        print("  line %d differs:\n    kernel %s\n    iopd   %s" % (n, a[2], b[2]))
if len(k) != len(i):
    bad += 1
    print("  line counts differ")
# Timestamps: monotonic in each trace, and each iopd event close to the kernel's.
for name, tr in (("kernel", k), ("iopd", i)):
    for x, y in zip(tr, tr[1:]):
        if y[1] < x[1] and x[1] - y[1] < 2000000000:  # allow the 4096 s wrap
            bad += 1
            print("  %s timestamps go backwards: %d then %d" % (name, x[1], y[1]))
worst = max((abs(a[1] - b[1]) for a, b in zip(k, i)), default=0)
print("    largest timestamp distance: %d us" % worst)
if worst > 200000:
    bad += 1
print("\n".join("    " + l[2] for l in i))
sys.exit(1 if bad else 0)
PY
check "every line matches the kernel's but tag and time" python3 /tmp/cmp.py "$GBUS:$GDEV" "$KBUS:$KDEV" "$ABUS:$ADEV"
check "ISO OUT: every packet sent whole, status 0" python3 -c "
import json
for name, n in (('/tmp/iso8.json', 8), ('/tmp/iso4.json', 4)):
    d = json.load(open(name))
    print('    %d packets: status %d, %d bytes, errors %d' % (n, d['status'], d['actual_length'], d['error_count']))
    assert d['status'] == 0 and d['error_count'] == 0 and d['actual_length'] == 192 * n, d
    assert [(p['status'], p['actual_length']) for p in d['packets']] == [(0, 192)] * n, d['packets']"
check "the trace has the ISO submissions and completions with their packets" sh -c "
grep -q ' S Zo:$ABUS:0*$ADEV:1 -115:1:0 8 -18:0:192 -18:192:192 -18:384:192 -18:576:192 -18:768:192 1536 = 00000000' /tmp/iopd.txt &&
grep -q ' C Zo:$ABUS:0*$ADEV:1 0:1:[0-9]*:0 8 0:0:192 0:192:192 0:384:192 0:576:192 0:768:192 1536 >' /tmp/iopd.txt &&
grep -q ' S Zo:$ABUS:0*$ADEV:1 -115:1:0 4 -18:0:192 -18:192:192 -18:384:192 -18:576:192 768 = 00010203 04050607' /tmp/iopd.txt"
check "the trace has the discarded interrupt (-2, as usbfs's discard)" sh -c "grep -q ' C Ii:$KBUS:.* -2:' /tmp/iopd.txt"
check "the stall is there (-32)" sh -c "grep -q ' C Bi:$GBUS:.* -32 ' /tmp/iopd.txt"
check "bulk data is cut at 32 bytes, length printed whole" sh -c "grep -q ' S Bo:$GBUS:[0-9]*:[0-9]* -115 200 = 00010203 04050607 08090a0b 0c0d0e0f 10111213 14151617 18191a1b 1c1d1e1f$' /tmp/iopd.txt"
check "SIGTERM" stop_iopd
e2e_finish
