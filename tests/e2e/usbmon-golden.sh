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
. "$(dirname "$0")/usbmon-traffic.sh"
e2e_init "$@"
rm -rf "$STATE"/*
trap 'remove_gadget; [ -n "$UDEVD_PID" ] && kill $UDEVD_PID; e2e_cleanup' EXIT

check "udevd runs" start_udevd
check "Loopback gadget bound" make_gadget
usbmon_devices
check "iopd starts" start_iopd --config /tmp/usb.json
check "debugfs usbmon is there" test -r /sys/kernel/debug/usb/usbmon/0u
usbmon_endpoints

cat /sys/kernel/debug/usb/usbmon/0u >/tmp/kernel.txt &
kpid=$!
cat /dev/usbmon/0u >/tmp/iopd.txt &
ipid=$!
sleep 1
usbmon_traffic
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
# Close means the same clock (a wrong one is off by far more), not a latency bound: on a
# loaded TCG machine iopd reaped a completion 392 ms after the kernel stamped it.
worst, at = max(((abs(a[1] - b[1]), n) for n, (a, b) in enumerate(zip(k, i))), default=(0, 0))
print("    largest timestamp distance: %d us (line %d)" % (worst, at))
if worst > 2000000:
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
