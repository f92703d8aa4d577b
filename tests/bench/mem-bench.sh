#!/bin/sh
# iopd's resident memory (a benchmark, not a test), in the test VM:
#   tests/bench/mem-bench.sh [BUILD_DIR [OPS [IOPD]]]
# boots the VM and runs this script inside it.  iopd runs with its built-in
# configuration; after each phase of calls that store nothing new, the script waits
# for the daemon to be idle (2.5 s: it gives memory back after 1 s of quiet) and reads
# VmRSS, RssAnon and VmHWM from /proc/PID/status.  Target: <= 4 MiB (4096 kB) VmRSS at
# idle after every phase.  It also measures what an open client and a usbmon reader
# cost while they exist (16 of each, holding a parked read / a full queue), to check
# the per-file bounds documented in BENCHMARKS.md.  IOPD: another daemon binary to
# measure with the same clients (a baseline build).
set -u
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$here/../../build-bench}
BUILD=$(cd "$BUILD" && pwd) || exit 2
shift $(( $# > 0 ? 1 : 0 ))
OPS=${1:-400} ALT_IOPD=${2:-}

if [ -z "${IOPVM:-}" ]; then
    [ -x "$BUILD/tests/load/iop-load" ] || { echo "mem-bench: build it first: ninja -C $BUILD" >&2; exit 2; }
    cd "$here/../.." && IOPVM_CACHE=${IOPVM_CACHE:-$BUILD/vm} exec tests/vm/run --timeout 1800 --smp "${IOPVM_SMP:-2}" -- \
        /bin/sh "$here/mem-bench.sh" "$BUILD" "$OPS" "$ALT_IOPD"
fi

. "$here/../e2e/lib.sh"
e2e_init "$BUILD"
LOAD=$BUILD/tests/load/iop-load
[ -n "$ALT_IOPD" ] && IOPD=$ALT_IOPD
start_iopd -q || exit 1
status() { awk '/^(VmRSS|RssAnon|RssFile|VmHWM):/ { printf "%s=%s ", $1, $2 }' "/proc/$IOPD_PID/status" | tr -d :; }
idle() { sleep 2.5; echo "idle   $1: $(status)"; }
busy() { echo "busy   $1: $(status)"; }

echo "mem-bench: $IOPD, kernel $(uname -r), $(nproc) CPU(s), $OPS calls per client and phase, 4 clients"
idle start
ALL=getiops,validate,hrt,lct,parmget,html,evtreg,evtget,swul,nop,bsa-read,bsa-write
"$LOAD" --clients 4 --ops "$OPS" --mix "$ALL" --disk 0x00a -q >/dev/null; idle ordinary
"$LOAD" --clients 4 --ops "$OPS" --mix efault,hostile --disk 0x00a -q >/dev/null; idle hostile
"$LOAD" --clients 4 --ops "$OPS" --mix "$ALL,efault,hostile" --disk 0x00a -q >/dev/null; idle mixed
# A big download goes to the state directory, not to memory.
"$LOAD" --clients 1 --ops 1 --mix getiops --slow swdl-big --big-sw-size 4194304 --lead-ms 8000 -q >/dev/null
idle "4 MiB download"
# 16 clients parked in read(), then 16 usbmon readers that never read.
"$LOAD" --clients 1 --ops 1 --mix getiops --slow read:16 --lead-ms 15000 -q >/dev/null &
L=$!
# (wait for that one only: a plain wait would wait for the daemon too)
sleep 12; busy "16 parked readers"; wait $L; idle "readers gone"
if [ -e /dev/usbmon/0u ]; then
    "$LOAD" --clients 1 --ops 1 --mix lct --mon /dev/usbmon/0u --slow mon-idle:16 --lead-ms 20000 -q >/dev/null &
    L=$!
    sleep 8
    # URBs for them to queue (and drop past the kernel's 93-event bound): GET_DESCRIPTOR
    # on the VM's first USB device.
    n=0; while [ $n -lt 100 ]; do "$IOPCTL" usb control 0x100 0x80 6 0x0100 0 18 >/dev/null 2>&1; n=$((n + 1)); done
    busy "16 usbmon readers, full queues"; wait $L; idle "usbmon readers gone"
fi
stop_iopd
