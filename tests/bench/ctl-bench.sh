#!/bin/sh
# ioctl cost against its floor (a benchmark, not a test), in the test VM:
#   tests/bench/ctl-bench.sh [BUILD_DIR [OPS ROUNDS [OP,... [IOPD]]]]
# boots the VM (2 CPUs; IOPVM_SMP=N to change) and runs this script inside it.  iopd
# runs with its built-in configuration; tests/bench/cuse-floor, a CUSE device that
# answers in the same rounds with the same ranges and bytes but does no work, runs
# beside it as /dev/i2o/floor.  For every ioctl, one client (tests/load/iop-load
# --compare) makes OPS pairs of calls, one on each node in alternating order, so both
# see the same moment of a machine whose load drifts; a run's figure is the median of
# the per-pair latency ratios (iopd / floor).  ROUNDS runs per ioctl give the median
# and the spread (min..max) of that figure (target <= 1.10), printed with the CUSE
# rounds the call takes (counted by the floor, which names iopd's ranges) and the
# fewest the ABI allows through an unrestricted CUSE ioctl.  IOPD: another daemon
# binary to measure the same way (a baseline build).
set -u
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$here/../../build-bench}
BUILD=$(cd "$BUILD" && pwd) || exit 2
shift $(( $# > 0 ? 1 : 0 ))
OPS=${1:-2000} ROUNDS=${2:-5}
OPLIST=${3:-validate,getiops,evtreg,evtget,hrt,lct,parmget,parmset,html,swul,swdel,swdl,nop,bsa-read,bsa-write}
ALT_IOPD=${4:-}

if [ -z "${IOPVM:-}" ]; then
    for x in daemon/iopd tests/load/iop-load tests/bench/cuse-floor; do
        [ -x "$BUILD/$x" ] || { echo "ctl-bench: build it first: ninja -C $BUILD" >&2; exit 2; }
    done
    cd "$here/../.." && IOPVM_CACHE=${IOPVM_CACHE:-$BUILD/vm} exec tests/vm/run --timeout 1800 --smp "${IOPVM_SMP:-2}" -- \
        /bin/sh "$here/ctl-bench.sh" "$BUILD" "$OPS" "$ROUNDS" "$OPLIST" "$ALT_IOPD"
fi

. "$here/../e2e/lib.sh"
e2e_init "$BUILD"
LOAD=$BUILD/tests/load/iop-load
FLOOR_PID=
[ -n "$ALT_IOPD" ] && IOPD=$ALT_IOPD
trap '[ -n "$FLOOR_PID" ] && kill $FLOOR_PID; e2e_cleanup' EXIT
start_iopd -q || exit 1
SIZES=$("$LOAD" --probe) || { echo "ctl-bench: probe failed"; exit 1; }
"$BUILD/tests/bench/cuse-floor" --sizes "$SIZES" >/tmp/floor.out 2>/tmp/floor.err &
FLOOR_PID=$!
wait_for /dev/i2o/floor 100 || { echo "ctl-bench: no /dev/i2o/floor"; cat /tmp/floor.err; exit 1; }
echo "ctl-bench: $IOPD, kernel $(uname -r), $(nproc) CPU(s), $OPS calls per run, $ROUNDS runs per node, sizes $SIZES"

RES=/tmp/ctl-bench.res
: >"$RES"
for op in $(echo "$OPLIST" | tr , ' '); do
    r=1
    while [ $r -le "$ROUNDS" ]; do
        out=$("$LOAD" --dev /dev/i2o/ctl --compare /dev/i2o/floor --clients 1 --ops "$OPS" --mix "$op" --disk 0x00a \
              --json) || { echo "ctl-bench: $op failed: $out"; exit 1; }
        echo "$out" >>"$RES"
        r=$((r + 1))
    done
done
kill -TERM $FLOOR_PID; wait $FLOOR_PID; FLOOR_PID=
python3 - "$RES" /tmp/floor.err <<'PY'
import json, re, statistics as st, sys
runs = {}
for line in open(sys.argv[1]):
    for op, c in json.loads(line)["compare"].items():
        runs.setdefault(op, []).append(c)
rounds = {}
for line in open(sys.argv[2]):
    m = re.match(r"cuse-floor: (\S+)\s+(\d+) calls, ([\d.]+) rounds each", line)
    if m:
        rounds[m.group(1)] = float(m.group(3))
cmd = {"nop": "passthru", "bsa-read": "passthru", "bsa-write": "passthru"}
# The fewest rounds an unrestricted CUSE ioctl allows: the first request carries no
# data; every nested pointer read needs the round after the one that named it; input
# cannot be fetched speculatively (an over-long range faults where the kernel's
# copy_from_user of the exact length did not); output can (only written bytes go back).
fewest = {"validate": "1 (argument by value)", "getiops": "2 (name the table)", "evtreg": "2 (the struct)",
          "evtget": "2 (name the record)", "hrt": "3 (struct; *reslen + table)", "lct": "3 (struct; *reslen + table)",
          "parmget": "3 (struct; *reslen, op list + results)", "parmset": "3 (struct; *reslen, op list + results)",
          "html": "3 (struct; *reslen, query + page)", "swul": "3 (struct; counters + fragment out)",
          "swdel": "3 (struct; *swlen)", "swdl": "4 (struct; counters; the fragment)",
          "passthru": "5 (struct; word 0; frame, reply size; data)"}
print("\n%-9s %6s %-44s %8s %8s  %s" % ("ioctl", "rounds", "fewest possible", "iopd us", "floor us",
                                         "iopd/floor: median (min..max) of runs, target <= 1.10"))
worst = 0
for op, rs in runs.items():
    meds = [r["pair_ratio_median"] for r in rs]
    med = st.median(meds)
    worst = max(worst, med)
    c = cmd.get(op, op)
    print("%-9s %6s %-44s %8.0f %8.0f  %.3f (%.3f..%.3f)" % (
        op, "%.0f" % rounds[c] if c in rounds else "?", fewest.get(c, "?"),
        st.median(r["p50_us"] for r in rs), st.median(r["p50_us_cmp"] for r in rs), med, min(meds), max(meds)))
print("\nworst: %.3f (target <= 1.10); swdel includes the swdl that stores the module again, swdl is one" % worst)
print("8 KiB module (one fragment, committed); rounds are per ioctl")
PY
stop_iopd
