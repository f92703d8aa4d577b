#!/bin/sh
# Concurrency (a benchmark, not a test), in the test VM (2 CPUs):
#   tests/bench/load-bench.sh [BUILD_DIR [SECONDS ROUNDS [IOPD]]]
# boots the VM and runs this script inside it.  iopd runs with its built-in
# configuration; tests/load/iop-load makes mixed small ioctls (GETIOPS, VALIDATE,
# LCTGET, PARMGET, EVTGET) for SECONDS with 1, 8 and 64 client processes, ROUNDS times
# in turn, and prints the aggregate rate of each against one client's in the same
# round (target >= 1.5 for 8 and 64), with the daemon's CPU time per call (from
# /proc/PID/stat).  Then the same 8 clients beside slow ones -- a 16 MiB software
# download, a read() parked on the node, an interrupt transfer on the VM's USB
# keyboard that never completes -- and the p50/p99 latency of a small call (VALIDATE,
# GETIOPS) with and without them.  IOPD: another daemon binary (a baseline build).
set -u
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$here/../../build-bench}
BUILD=$(cd "$BUILD" && pwd) || exit 2
shift $(( $# > 0 ? 1 : 0 ))
SECS=${1:-4} ROUNDS=${2:-3} ALT_IOPD=${3:-}

if [ -z "${IOPVM:-}" ]; then
    [ -x "$BUILD/tests/load/iop-load" ] || { echo "load-bench: build it first: ninja -C $BUILD" >&2; exit 2; }
    cd "$here/../.." && IOPVM_CACHE=${IOPVM_CACHE:-$BUILD/vm} exec tests/vm/run --timeout 1800 --smp "${IOPVM_SMP:-2}" -- \
        /bin/sh "$here/load-bench.sh" "$BUILD" "$SECS" "$ROUNDS" "$ALT_IOPD"
fi

. "$here/../e2e/lib.sh"
e2e_init "$BUILD"
LOAD=$BUILD/tests/load/iop-load
[ -n "$ALT_IOPD" ] && IOPD=$ALT_IOPD
# The built-in configuration, with QEMU's USB keyboard claimed (its interrupt endpoint
# is the stalled device: it never sends anything).
"$IOPD" --dump-default-config | python3 -c '
import json, sys
c = json.load(sys.stdin)
c["usb"] = {"claim": [{"device": "0627:0001", "detach_kernel_driver": True}]}
json.dump(c, sys.stdout)' >/tmp/load-bench.json
start_iopd -q --config /tmp/load-bench.json || exit 1
cpu() { awk '{ print $14 + $15 }' "/proc/$IOPD_PID/stat"; } # clock ticks
MIX=getiops,validate,lct,parmget,evtget
# The keyboard's interrupt IN endpoint (0x81 on QEMU's usb-kbd): TID of vendor 0x0627.
KBD=$("$IOPCTL" --json lct 0 | python3 -c '
import json, sys
print([e["tid"] for e in json.load(sys.stdin)["devices"] if e.get("class") == "usb-device" and e.get("vendor_id") == 0x0627][0])' 2>/dev/null)
echo "load-bench: $IOPD, kernel $(uname -r), $(nproc) CPU(s), $SECS s per phase, mix $MIX, keyboard TID ${KBD:-none}"
RES=/tmp/load-bench.res
: >"$RES"
r=1
while [ $r -le "$ROUNDS" ]; do
    for n in 1 8 64; do
        c0=$(cpu)
        out=$("$LOAD" --clients $n --seconds "$SECS" --mix "$MIX" --json) || { echo "load-bench: $n clients failed: $out"; exit 1; }
        c1=$(cpu)
        echo "$r $n $((c1 - c0)) $out" >>"$RES"
    done
    for slow in none slow; do
        s=
        [ $slow = slow ] && s="--slow swdl-big,read${KBD:+,usb-intr} --big-sw-size 16777216 ${KBD:+--usb $KBD:0x81}"
        # shellcheck disable=SC2086
        out=$("$LOAD" --clients 8 --seconds "$SECS" --mix validate,getiops $s --json) || {
            echo "load-bench: slow phase failed: $out"; exit 1; }
        echo "$r $slow 0 $out" >>"$RES"
    done
    r=$((r + 1))
done
stop_iopd
python3 - "$RES" "$(getconf CLK_TCK)" <<'PY'
import json, statistics as st, sys
tck = float(sys.argv[2])
rate, cpu, lat = {}, {}, {}
for line in open(sys.argv[1]):
    rnd, phase, ticks, js = line.split(" ", 3)
    j = json.loads(js)
    if phase in ("none", "slow"):
        for op in ("validate", "getiops"):
            o = j["per_op"][op]
            lat.setdefault((phase, op), []).append((o["p50_us"], o["p99_us"]))
        if phase == "slow":
            lat.setdefault(("slow", "procs"), []).append(j["slow"])
        continue
    rate.setdefault(int(rnd), {})[int(phase)] = j["ops_per_s"]
    cpu.setdefault(int(phase), []).append(int(ticks) / tck / max(j["ops"], 1) * 1e6)
print("\nclients  calls/s (median)  x one client (median, min..max)  daemon CPU us/call")
for n in (1, 8, 64):
    xs = [r[n] / r[1] for r in rate.values()]
    print("%7d  %16.0f  %5.2f (%.2f..%.2f)%s  %18.0f" % (n, st.median(r[n] for r in rate.values()), st.median(xs),
          min(xs), max(xs), "  target >= 1.5" if n > 1 else "             ", st.median(cpu[n])))
print("\nsmall call latency, 8 clients, us: p50 / p99 (median of rounds)")
for op in ("validate", "getiops"):
    a, b = lat[("none", op)], lat[("slow", op)]
    print("  %-8s alone %6.0f / %6.0f   beside slow clients %6.0f / %6.0f" % (op, st.median(x[0] for x in a),
          st.median(x[1] for x in a), st.median(x[0] for x in b), st.median(x[1] for x in b)))
for s in lat[("slow", "procs")][-1:]:
    for name, o in s.items():
        print("  slow %-9s calls done %d, errors %d" % (name, o["n"], o["errors"]))
PY
