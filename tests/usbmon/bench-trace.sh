#!/bin/sh
# usbmon trace benchmark (not a test), in the test VM:
#   tests/usbmon/bench-trace.sh [--binary] [--wake MS] [BUILD_DIR [SECONDS ROUNDS THREADS LEN BUFSIZE]]
# boots the VM (tests/vm/run) and runs this script inside it.  iopd runs with a
# Loopback gadget on dummy_hcd claimed; THREADS clients send bulk OUT/IN pairs of LEN
# bytes through I2OPASSTHRU for SECONDS, in four interleaved phases per round:
#   none    no trace reader
#   iopd    one reader on iopd's node
#   kernel  one reader on the kernel's node for the same bus
#   both    both readers at once, on the same traffic
# Text (default): iopd's /dev/usbmon/Nu and the kernel's debugfs Nu, read with
# BUFSIZE-byte read()s (cat uses 128 KiB).  --binary: iopd's binary node
# (/dev/iopd/usbmonN: the kernel's usbmon has /dev/usbmonN) and the kernel's
# /dev/usbmonN, each read with MON_IOCX_GETX, a record per call, with a ring of
# BUFSIZE bytes (default then 1200 KiB, what libpcap asks for); "lines" are records.
# Prints per phase the URB rate and each reader's lines (and drops), and two ratios:
# iopd reader lines / kernel reader lines in the "both" phases (target >= 1.0: iopd's
# node delivers at least what the kernel's does for the same traffic) and the URB
# rate with an iopd reader against none (cost target for text <= 10%, for binary no
# more than the kernel's reader costs), also as the median of each round's ratio to
# that round's "none" phase.  IOPVM_SMP=N gives the VM N CPUs (default 1).
# --wake MS runs iopd with --usbmon-wake-delay=MS (default: iopd's default).
set -u
MODE=text WAKE=
[ "${1:-}" = --binary ] && { MODE=binary; shift; }
[ "${1:-}" = --wake ] && { WAKE=$2; shift 2; }
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$here/../../build}
BUILD=$(cd "$BUILD" && pwd) || exit 2
shift $(( $# > 0 ? 1 : 0 ))
SECS=${1:-4} ROUNDS=${2:-3} THREADS=${3:-2} LEN=${4:-64}
if [ $MODE = binary ]; then BUFSIZE=${5:-1228800}; else BUFSIZE=${5:-131072}; fi

if [ -z "${IOPVM:-}" ]; then
    [ -x "$BUILD/tests/usbmon/bench-trace" ] || { echo "bench-trace: build it first: ninja -C $BUILD" >&2; exit 2; }
    flag=; [ $MODE = binary ] && flag=--binary
    [ -n "$WAKE" ] && flag="$flag --wake $WAKE"
    cd "$here/../.." && IOPVM_CACHE=${IOPVM_CACHE:-$BUILD/vm} exec tests/vm/run --timeout 900 --smp "${IOPVM_SMP:-1}" -- \
        /bin/sh "$here/bench-trace.sh" $flag "$BUILD" "$SECS" "$ROUNDS" "$THREADS" "$LEN" "$BUFSIZE"
fi

. "$here/../e2e/lib.sh"
. "$here/../e2e/gadget.sh"
e2e_init "$BUILD"
B=$BUILD/tests/usbmon/bench-trace
trap 'remove_gadget; [ -n "$UDEVD_PID" ] && kill $UDEVD_PID; e2e_cleanup' EXIT
start_udevd || exit 1
make_gadget || { echo "bench-trace: no gadget"; exit 1; }
GD=$(gadget_bus_dev); GBUS=${GD%%:*}
cat >/tmp/bench.json <<JSON
{ "iops": [ { "unit": 0, "devices": [ { "tid": 12, "class": "bus-adapter", "usb": true } ] } ],
  "usb": { "claim": [ { "device": "$GADGET_VIDPID" } ] } }
JSON
start_iopd --config /tmp/bench.json -q ${WAKE:+--usbmon-wake-delay=$WAKE} || exit 1
if [ $MODE = binary ]; then
    INODE=/dev/iopd/usbmon$GBUS KNODE=/dev/usbmon$GBUS READ=readbin
else
    INODE=/dev/usbmon/${GBUS}u KNODE=/sys/kernel/debug/usb/usbmon/${GBUS}u READ=read
fi
wait_for "$INODE" 50 || { echo "bench-trace: no $INODE"; exit 1; }
[ -r "$KNODE" ] || { echo "bench-trace: no $KNODE (usbmon, debugfs)"; exit 1; }
TID=$(gadget_tids)
bulk_eps "$TID"
IOPD_CPU() { awk '{ print $14 + $15 }' "/proc/$IOPD_PID/stat"; } # clock ticks
echo "bench-trace ($MODE${WAKE:+, iopd --usbmon-wake-delay=$WAKE}): kernel $(uname -r), $(nproc) CPU(s), bus $GBUS, TID $TID, $THREADS clients, bulk $LEN-byte OUT/IN pairs, $SECS s per phase, $ROUNDS rounds, $READ $INODE / $KNODE ($BUFSIZE)"

RES=/tmp/bench-trace.res
: >"$RES"
start_reader() { # NAME PATH
    "$B" $READ "$2" "$BUFSIZE" >"/tmp/reader.$1" &
    eval "RPID_$1=$!"
    n=50; until grep -q ready "/tmp/reader.$1" 2>/dev/null || [ $n -eq 0 ]; do sleep 0.1; n=$((n - 1)); done
}
stop_reader() { # NAME
    eval "kill -TERM \$RPID_$1; wait \$RPID_$1"
    sed -n 's/^lines/lines/p' "/tmp/reader.$1"
}
r=1
while [ $r -le "$ROUNDS" ]; do
    for phase in none iopd kernel both; do
        case $phase in iopd|both) start_reader iopd "$INODE" ;; esac
        case $phase in kernel|both) start_reader kernel "$KNODE" ;; esac
        c0=$(IOPD_CPU)
        out=$("$B" traffic 0 "$TID" "$EP_OUT" "$EP_IN" "$LEN" "$SECS" "$THREADS") || { echo "bench-trace: traffic failed"; exit 1; }
        c1=$(IOPD_CPU)
        sleep 0.5 # let the readers drain
        il=; kl=
        case $phase in iopd|both) il=$(stop_reader iopd) ;; esac
        case $phase in kernel|both) kl=$(stop_reader kernel) ;; esac
        echo "$r $phase $out iopd_ticks $((c1 - c0)) | ${il:-none} | ${kl:-none}" | tee -a "$RES"
    done
    r=$((r + 1))
done

python3 - "$RES" "$MODE" <<'PY'
import sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    head, iopd, kern = [x.strip() for x in line.split("|")]
    h = head.split()
    d = {"round": int(h[0]), "urbs": int(h[3]), "rate": float(h[7]), "ticks": int(h[9])}
    for name, part in (("iopd", iopd), ("kernel", kern)):
        if part != "none":
            p = part.split()
            d[name] = {"lines": int(p[1]), "reads": int(p[5]), "cpu_us": float(p[9]),
                       "drops": int(p[11]) if len(p) > 11 else 0}
    # A reader that printed nothing (it did not start in time) leaves its phase's row out.
    want = {"iopd": ("iopd",), "kernel": ("kernel",), "both": ("iopd", "kernel")}.get(h[1], ())
    if all(n in d for n in want):
        rows.setdefault(h[1], []).append(d)
def med(xs): return st.median(xs)
print("\nphase    URB/s (median)  iopd reader lines/URB  kernel reader lines/URB")
for ph in ("none", "iopd", "kernel", "both"):
    rs = rows[ph]
    f = lambda n: ("%.3f" % med([r[n]["lines"] / r["urbs"] for r in rs])) if n in rs[0] else "-"
    print("%-8s %14.0f  %21s  %23s" % (ph, med([r["rate"] for r in rs]), f("iopd"), f("kernel")))
both = rows["both"]
ratio = med([r["iopd"]["lines"] / max(r["kernel"]["lines"], 1) for r in both])
print("\nreader throughput, same traffic (both phases): iopd lines / kernel lines = %.3f (target >= 1.0)" % ratio)
for n in ("iopd", "kernel"):
    ph = [r for p in ("iopd" if n == "iopd" else "kernel", "both") for r in rows[p]]
    print("  %-6s reader: %d events dropped in all phases (%s)" % (n, sum(r[n]["drops"] for r in ph),
          " ".join(str(r[n]["drops"]) for r in ph)))
for n in ("iopd", "kernel"):
    rs = [r for ph in ("iopd", "both") for r in rows[ph]] if n == "iopd" else [r for ph in ("kernel", "both") for r in rows[ph]]
    print("  %-6s reader: %.1f lines per read(), %.1f us reader CPU per line" % (
        n, med([r[n]["lines"] / max(r[n]["reads"], 1) for r in rs]), med([r[n]["cpu_us"] / max(r[n]["lines"], 1) for r in rs])))
cost = 1 - med([r["rate"] for r in rows["iopd"]]) / med([r["rate"] for r in rows["none"]])
target = "no more than the kernel reader's" if sys.argv[2] == "binary" else "<= 10%"
print("URB rate with an iopd reader vs none: %.3f (cost %.1f%%, target %s)" % (1 - cost, 100 * cost, target))
kcost = 1 - med([r["rate"] for r in rows["kernel"]]) / med([r["rate"] for r in rows["none"]])
print("URB rate with a kernel reader vs none: %.3f (for scale)" % (1 - kcost))
# The same within each round (a reader's phase against that round's "none"): when the
# rate without a reader drifts between rounds, the ratio of medians mixes rounds.
none = {r["round"]: r["rate"] for r in rows["none"]}
for n in ("iopd", "kernel"):
    rs = sorted(r["rate"] / none[r["round"]] for r in rows[n] if none.get(r["round"]))
    if rs:
        print("  per round, %-6s reader vs none: median %.3f (%.3f..%.3f), %d rounds" % (n, med(rs), rs[0], rs[-1], len(rs)))
PY
stop_iopd
