#!/bin/sh
# Scale (a benchmark, not a test), in the test VM:
#   tests/bench/scale-bench.sh [BUILD_DIR [N M [IOPD]]]
# boots the VM and runs this script inside it: iopd with the built-in configuration,
# then with N IOPs x M devices (tests/bench/scale-config.sh; default 32 x 1000).  For
# each: the time from starting iopd to its being ready (it detaches once its nodes
# exist: the command's own run time), VmRSS then, after every IOP's LCT was read,
# after PARMGETs on 2000 random devices (groups built on demand), and idle again
# (2.5 s); and apart, the time --check-config takes (parse and build the IOPs: no CUSE
# node, no USB).  Targets for 32 x 1000: ready <= 1 s, <= 48 MiB resident.  IOPD: another
# daemon binary (a baseline build), run the same way in the same VM boot, after this
# build's in every round, and the ratio of the two ready times.
set -u
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$here/../../build-bench}
BUILD=$(cd "$BUILD" && pwd) || exit 2
shift $(( $# > 0 ? 1 : 0 ))
N=${1:-32} M=${2:-1000} ALT_IOPD=${3:-}

if [ -z "${IOPVM:-}" ]; then
    [ -x "$BUILD/tests/load/iop-load" ] || { echo "scale-bench: build it first: ninja -C $BUILD" >&2; exit 2; }
    cd "$here/../.." && IOPVM_CACHE=${IOPVM_CACHE:-$BUILD/vm} exec tests/vm/run --timeout 1800 --mem 2048 \
        --smp "${IOPVM_SMP:-2}" -- /bin/sh "$here/scale-bench.sh" "$BUILD" "$N" "$M" "$ALT_IOPD"
fi

. "$here/../e2e/lib.sh"
e2e_init "$BUILD"
LOAD=$BUILD/tests/load/iop-load
sh "$here/scale-config.sh" "$N" "$M" >/tmp/scale.json
if [ -n "$ALT_IOPD" ]; then
    cp /tmp/scale.json /tmp/scale-alt.json
    # A daemon older than the SCSI addressing refuses "scsi_bus": the same devices without.
    "$ALT_IOPD" --check-config --config /tmp/scale-alt.json >/dev/null 2>&1 ||
        sh "$here/scale-config.sh" "$N" "$M" legacy >/tmp/scale-alt.json
fi
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
pid_of_iopd() {
    for s in /proc/[0-9]*/comm; do
        [ "$(cat "$s" 2>/dev/null)" = iopd ] && { p=${s#/proc/}; echo "${p%/comm}"; return; }
    done
}
# Parsing and building alone (--check-config, no CUSE, no USB): DAEMON CONFIG-ARGS...
check_ms() {
    t0=$(date +%s%N)
    "$@" --check-config >/dev/null 2>&1
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000000 ))
}
# One run: DAEMON CONFIG-ARGS...
run() {
    daemon=$1
    shift
    rm -rf /var/lib/iopd-scale
    t0=$(date +%s%N)
    "$daemon" --state-dir /var/lib/iopd-scale -q --no-usbmon "$@" || { echo "scale-bench: iopd failed"; return 1; }
    t1=$(date +%s%N)
    P=$(pid_of_iopd)
    r0=$(rss "$P")
    n=0; units=""
    for u in $(seq 0 $((N - 1))); do
        "$LOAD" --iop "$u" --clients 1 --ops 1 --mix lct -q >/dev/null 2>&1 && n=$((n + 1))
    done
    r1=$(rss "$P")
    "$LOAD" --clients 2 --ops 1000 --mix parmget-any -q >/dev/null
    r2=$(rss "$P")
    sleep 2.5
    r3=$(rss "$P")
    echo "ready_s=$(( (t1 - t0) / 1000000 ))e-3 rss_kb_ready=$r0 rss_kb_lct=$r1 rss_kb_parmget=$r2 rss_kb_idle=$r3 lcts_read=$n"
    kill "$P"
    while [ -e "/proc/$P" ]; do sleep 0.1; done
}
echo "scale-bench: $IOPD${ALT_IOPD:+ and $ALT_IOPD}, kernel $(uname -r), $(nproc) CPU(s); config $N x $M: $(wc -c </tmp/scale.json) bytes"
for round in 1 2 3; do
    echo "round $round built-in: $(N=1 run "$IOPD") check_s=$(check_ms "$IOPD")e-3"
    own=$(run "$IOPD" --config /tmp/scale.json)
    echo "round $round $N x $M:  $own check_s=$(check_ms "$IOPD" --config /tmp/scale.json)e-3"
    [ -n "$ALT_IOPD" ] || continue
    alt="$(run "$ALT_IOPD" --config /tmp/scale-alt.json) check_s=$(check_ms "$ALT_IOPD" --config /tmp/scale-alt.json)e-3"
    ms() { echo "$1" | sed -n 's/.*ready_s=\([0-9]*\)e-3.*/\1/p'; }
    echo "round $round $N x $M, baseline: $alt ready_ratio=$(awk -v a="$(ms "$alt")" -v b="$(ms "$own")" \
        'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
done
