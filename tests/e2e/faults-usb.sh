#!/bin/sh
# Hot-unplug during transfers: four clients keep bulk OUT/IN transfers going through
# I2OPASSTHRU to a Loopback gadget on dummy_hcd while its UDC is unbound and bound
# again IOPD_E2E_UNPLUGS times (default 5; more for a longer run).  Every
# URB completes exactly once (usbmon /dev/usbmon/0u: each S line has one C or E line
# and no completion comes without one; the clients' successful transfers equal the
# bulk completions with status 0), the gadget's LCT entry goes and comes back each
# time with the adapter's STATE_CHANGE events (none lost), and the daemon serves on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gadget.sh"
e2e_init "$@"
rm -rf "$STATE"/*
UNPLUGS=${IOPD_E2E_UNPLUGS:-5}
trap 'watchdog_stop; touch /tmp/stop; remove_gadget; [ -n "$UDEVD_PID" ] && kill $UDEVD_PID; e2e_cleanup' EXIT

check "udevd runs (libusb hotplug)" start_udevd
check "Loopback gadget bound to $UDC" make_gadget
cat >/tmp/usb.json <<JSON
{ "iops": [ { "unit": 0, "devices": [ { "tid": 12, "class": "bus-adapter", "usb": true } ] } ],
  "usb": { "claim": [ { "device": "$GADGET_VIDPID" } ] } }
JSON
check "iopd starts with USB" start_iopd --config /tmp/usb.json
P=$IOPD_PID
gadget_tid() {
    "$IOPCTL" --json lct 0 2>/dev/null | python3 -c '
import json, sys
d = [e["tid"] for e in json.load(sys.stdin)["devices"] if e["class"] == "usb-device" and e["vendor_id"] == 0x1d6b and e["sub_class"] & 0xffff == 0x0104]
print(d[0] if d else "")'
}
# wait_tid present|absent [TENTHS]: the gadget's entry in the LCT (one I2OLCTGET per
# look: iopctl would read every device's identity too, which a loaded VM feels).
wait_tid() {
    n=${2:-150}
    while [ $n -gt 0 ]; do
        if "$E2E/fault-client" /dev/i2o/ctl usb-tid 0 1d6b 0104 >/dev/null; then
            [ "$1" = present ] && return 0
        else [ "$1" = absent ] && return 0; fi
        sleep 0.1; n=$((n - 1))
    done
    return 1
}
if wait_tid present 300; then ok "the gadget is in the LCT"; else not_ok "the gadget is in the LCT"; "$IOPCTL" lct 0; fi
# Its place in sysfs ("3-1"), the same after every bind: checking for it forks nothing,
# which matters with the CPU busy with the traffic (gadget.sh's checks read every device).
GPLACE=$(for d in /sys/bus/usb/devices/*-*; do
    [ "$(cat "$d/idVendor" 2>/dev/null):$(cat "$d/idProduct" 2>/dev/null)" = "$GADGET_VIDPID" ] && basename "$d" && break; done)
# wait_place present|absent
wait_place() {
    n=200
    while [ $n -gt 0 ]; do
        if [ -e "/sys/bus/usb/devices/$GPLACE/idVendor" ]; then [ "$1" = present ] && return 0
        else [ "$1" = absent ] && return 0; fi
        sleep 0.05; n=$((n - 1))
    done
    return 1
}
TID=$(gadget_tid)
eval "$("$IOPCTL" --json get 0 "$TID" 0x8103 | python3 -c '
import json, sys
for e in json.load(sys.stdin)["rows"]:
    if e["bmAttributes"] & 3 == 2:
        print("%s=0x%02x" % ("EP_IN" if e["bEndpointAddress"] & 0x80 else "EP_OUT", e["bEndpointAddress"]))')"
echo "    gadget $GPLACE, TID $TID, bulk OUT $EP_OUT, bulk IN $EP_IN"

rm -f /tmp/stop
cat /dev/usbmon/0u >/tmp/mon.txt &
mon=$!
"$E2E/fault-client" /dev/i2o/ctl events 0 0x00c 0x80000000 /tmp/stop >/tmp/events.txt 2>&1 &
ev=$!
sleep 0.5
# Pairs of bulk OUT and IN, and lone bulk INs that wait (up to 2 s) for data: there is
# nearly always an URB in flight when the UDC goes.
allow=
for op in usb usbin; do
    for o in urb:ENODEV urb:EPROTO urb:ESHUTDOWN urb:ENOENT urb:ECONNRESET urb:ETIMEDOUT urb:EPIPE nodevice req0x05 short; do
        allow="$allow${allow:+,}$op=$o"
    done
done
"$BUILD/tests/load/iop-load" --clients 4 --ops 200000 --mix usb:3,usbin:1 --usb-dev "1d6b:0104:$EP_OUT:$EP_IN" \
    --stop-file /tmp/stop --json --allow "$allow" >/tmp/load.json &
load=$!
sleep 2
SEED=${IOPD_E2E_SEED:-$$}
echo "    random seed $SEED (IOPD_E2E_SEED=$SEED repeats this run)"
gone=0 back=0 i=1
start=$(date +%s)
watchdog_start 90
while [ $i -le "$UNPLUGS" ]; do
    progress
    [ -n "$IOPD_E2E_VERBOSE" ] && echo "    $(date +%T) unplug $i"
    { echo "" >"$G/UDC" && wait_place absent; } || { not_ok "unbind $i"; break; }
    progress
    wait_tid absent && gone=$((gone + 1))
    progress
    [ -n "$IOPD_E2E_VERBOSE" ] && echo "    $(date +%T) gone"
    { echo "$UDC" >"$G/UDC" && wait_place present; } || { not_ok "bind $i"; break; }
    progress
    wait_tid present && back=$((back + 1))
    progress
    [ -n "$IOPD_E2E_VERBOSE" ] && echo "    $(date +%T) back"
    # Let the traffic pick the device up again for a random 0.2-0.7 s.
    sleep "$(awk -v s=$((SEED + i)) 'BEGIN { srand(s); printf "%.2f", 0.2 + rand() / 2 }')"
    i=$((i + 1))
done
echo "    $UNPLUGS unplugs in $(( $(date +%s) - start )) s"
check "after each of $UNPLUGS unbinds the TID left the LCT ($gone)" test $gone -eq "$UNPLUGS"
check "after each bind it came back ($back)" test $back -eq "$UNPLUGS"
touch /tmp/stop
progress
wait $load; lst=$?
wait $ev
watchdog_stop
sleep 1
kill $mon; wait $mon 2>/dev/null
python3 -c '
import json; j = json.load(open("/tmp/load.json"))
for op, what in (("usb", "OUT+IN pairs"), ("usbin", "lone INs")):
    u = j["per_op"].get(op, {"n": 0, "errors": 0, "codes": {}})
    print("    clients: %d %s, %d ok, the others %s" % (u["n"], what, u["n"] - u["errors"], u["codes"]))
print("    clients: URBs %s" % j["urbs"])'
check "the clients saw nothing the unplugs do not explain" test $lst -eq 0

# Every URB completed exactly once, by usbmon; the clients' successes match.
cat >/tmp/mon.py <<'PY'
import json, sys
open_urbs, bad, n = {}, [], {"S": 0, "C": 0, "E": 0}
bulk_ok = bulk_err = bulk_unplugged = 0
for no, line in enumerate(open("/tmp/mon.txt"), 1):
    f = line.split()
    if len(f) < 5 or f[2] not in n:
        continue
    tag, ev, addr = f[0], f[2], f[3]
    n[ev] += 1
    if ev == "S":
        if tag in open_urbs:
            bad.append("line %d: %s submitted again before it completed (line %d)" % (no, tag, open_urbs[tag]))
        open_urbs[tag] = no
    else:
        if tag not in open_urbs:
            bad.append("line %d: %s completed without a submission" % (no, tag))
        open_urbs.pop(tag, None)
        if ev == "C" and addr.startswith("B"):
            if f[4] == "0":
                bulk_ok += 1
            else:
                bulk_err += 1
                # -ENODEV, -ESHUTDOWN, -EPROTO: ended by the unplug (-ETIMEDOUT is not)
                bulk_unplugged += f[4] in ("-19", "-108", "-71")
for tag, no in open_urbs.items():
    bad.append("%s (line %d) never completed" % (tag, no))
urbs = json.load(open("/tmp/load.json"))["urbs"]
print("    usbmon: %d submissions, %d completions, %d submission errors; bulk completions: %d with status 0, %d with an error (in flight at an unplug: %d)"
      % (n["S"], n["C"], n["E"], bulk_ok, bulk_err, bulk_unplugged))
for b in bad[:10]:
    print("    " + b)
ok = not bad and n["S"] == n["C"] + n["E"] and n["S"] > 0
if bulk_unplugged == 0:
    print("    no URB was in flight at any unplug: the test did not test that")
    ok = False
if bulk_ok != urbs["ok"]:
    print("    the clients saw %d successful URBs, usbmon %d" % (urbs["ok"], bulk_ok))
    ok = False
sys.exit(0 if ok else 1)
PY
check "every URB completed exactly once (usbmon and the clients agree)" python3 /tmp/mon.py
n_removed=$(grep -c "^event 0x00c 0x80000000 0x[0-9a-f]* 0x10$" /tmp/events.txt)
n_added=$(grep -c "^event 0x00c 0x80000000 0x[0-9a-f]* 0x0$" /tmp/events.txt)
echo "    adapter events: $n_removed removed, $n_added added, $(tail -n 1 /tmp/events.txt)"
check "one STATE_CHANGE (removed) per unplug" test "$n_removed" -eq "$UNPLUGS"
check "one STATE_CHANGE (added) per plug" test "$n_added" -eq "$UNPLUGS"
check "no event lost" grep -q "^lost 0$" /tmp/events.txt
check "the daemon serves on" "$IOPCTL" list
check "a transfer works afterwards" sh -c "'$IOPCTL' usb bulk $(gadget_bus_dev) $EP_OUT --data 0102 && '$IOPCTL' --json usb bulk $(gadget_bus_dev) $EP_IN 64 | grep -q '\"data\":\"0102\"'"
check "SIGTERM" stop_iopd
e2e_finish
