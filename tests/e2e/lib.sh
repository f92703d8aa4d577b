# Shell helpers for end-to-end tests that run inside the test VM (tests/vm/run).
# Usage in a test:  . "$(dirname "$0")/lib.sh"  then  e2e_init "$@"
# Arguments every e2e script receives: the meson build directory.

e2e_init() {
    BUILD=${1:?usage: $0 BUILD_DIR}
    IOPD=$BUILD/daemon/iopd
    IOPCTL=$BUILD/tools/iopctl
    E2E=$BUILD/tests/e2e
    E2E_FAILS=0
    E2E_PASSES=0
    IOPD_PID=
    STATE=/var/lib/iopd-test
    mkdir -p "$STATE"
    : "${ASAN_OPTIONS:=detect_leaks=1:abort_on_error=1}"
    : "${UBSAN_OPTIONS:=halt_on_error=1:print_stacktrace=1}"
    export ASAN_OPTIONS UBSAN_OPTIONS
    trap e2e_cleanup EXIT
}

e2e_cleanup() {
    [ -n "$IOPD_PID" ] && kill "$IOPD_PID" 2>/dev/null
    true
}

ok() { E2E_PASSES=$((E2E_PASSES + 1)); echo "ok   $*"; }
not_ok() { E2E_FAILS=$((E2E_FAILS + 1)); echo "FAIL $*"; }

# check DESCRIPTION COMMAND...: passes when the command exits 0.
check() {
    desc=$1; shift
    if "$@"; then ok "$desc"; else not_ok "$desc (exit $?)"; fi
}

# wait_for PATH [TENTHS]: wait until PATH exists (default 10 s).
wait_for() {
    n=${2:-100}
    while [ "$n" -gt 0 ]; do
        [ -e "$1" ] && return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}

# wait_gone PATH [TENTHS]
wait_gone() {
    n=${2:-100}
    while [ "$n" -gt 0 ]; do
        [ -e "$1" ] || return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}

# wait_line FILE PATTERN [TENTHS]: wait until a line of FILE (being written by a
# usbmon reader, say) matches the grep PATTERN (default 15 s).
wait_line() {
    n=${3:-150}
    while [ "$n" -gt 0 ]; do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}

# pending_in_start TID EP BUS: a bulk IN that waits (nothing to read), in the
# background, with a listener for MODIFIED_LCT; returns once the URB is submitted (its
# S line is in /dev/usbmon/BUSu) and is still waiting.
pending_in_start() {
    "$IOPCTL" events -t 60 0 0 0x200 >/tmp/ev.txt 2>&1 &
    PENDING_EV=$!
    cat "/dev/usbmon/$3u" >/tmp/pend-mon.txt &
    monpid=$!
    "$IOPCTL" --json usb bulk "$1" "$2" 512 --timeout 0 >/tmp/pending.json 2>&1 &
    PENDING_PID=$!
    check "the events are registered" wait_line /tmp/ev.txt registered
    check "the bulk IN is submitted" wait_line /tmp/pend-mon.txt " S Bi:$3:"
    kill $monpid
    check "the transfer is waiting" kill -0 $PENDING_PID
}

# pending_in_finish STATUS...: after the unplug, the transfer completed exactly once
# with one of the (negative errno) statuses, and MODIFIED_LCT was raised.
pending_in_finish() {
    wait $PENDING_PID
    check "the waiting transfer completed once, with one of: $*" python3 -c "
import json, sys
lines = open('/tmp/pending.json').read().splitlines()
print('    ' + ' '.join(lines))
s = json.loads(lines[0])['status']
assert len(lines) == 1 and s in [int(a) for a in sys.argv[1:]], lines" "$@"
    wait $PENDING_EV
    check "MODIFIED_LCT was raised" grep -q "modified-lct" /tmp/ev.txt
}

# start_iopd [ARGS...]: run iopd in the foreground (as systemd would) in the
# background of this shell, wait for /dev/i2o/ctl.  Log in $IOPD_LOG.
start_iopd() {
    IOPD_LOG=/tmp/iopd.$$.log
    "$IOPD" --foreground --state-dir "$STATE" "$@" >"$IOPD_LOG" 2>&1 &
    IOPD_PID=$!
    if ! wait_for /dev/i2o/ctl 150; then
        echo "iopd did not create /dev/i2o/ctl; its log:"
        cat "$IOPD_LOG"
        return 1
    fi
}

# stop_iopd: SIGTERM, wait; returns iopd's exit status.
stop_iopd() {
    [ -n "$IOPD_PID" ] || return 0
    kill -TERM "$IOPD_PID"
    wait "$IOPD_PID"
    st=$?
    IOPD_PID=
    if [ $st -ne 0 ]; then
        echo "iopd exited $st; its log:"
        cat "$IOPD_LOG"
    fi
    return $st
}

e2e_finish() {
    echo "e2e: $E2E_PASSES passed, $E2E_FAILS failed"
    [ "$E2E_FAILS" -eq 0 ]
}

# proc_kb PID FIELD: a "FIELD:  N kB" line of /proc/PID/status (VmRSS, VmHWM, VmPeak).
proc_kb() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; }
# proc_fds PID: how many descriptors the process has open.
proc_fds() { ls "/proc/$1/fd" | wc -l; }

# probe_latency LABEL: a small ioctl's latency from one more client (iop-load, 300
# I2OGETIOPS); prints "LABEL: p50 N us, p99 N us" and sets PROBE_P50 / PROBE_P99.
probe_latency() {
    "$BUILD/tests/load/iop-load" --clients 1 --ops 300 --mix getiops --json >/tmp/probe.json
    eval "$(python3 -c 'import json; o = json.load(open("/tmp/probe.json"))["per_op"]["getiops"]
print("PROBE_P50=%d PROBE_P99=%d" % (o["p50_us"], o["p99_us"]))')"
    echo "    $1: I2OGETIOPS from another client: p50 $PROBE_P50 us, p99 $PROBE_P99 us"
}

# A hang detector for long fault tests.  watchdog_start SECONDS: from then on, when
# `progress` has not been called for SECONDS, print once what every process of the
# guest is waiting on (state, wchan, kernel stack), iopd's threads and (when gdb is
# installed) their user stacks, the kernel's last messages and iopd's log tail, so a
# timeout shows where things stood instead of nothing.  watchdog_stop ends it.
progress() { : >/tmp/e2e-progress; }
hang_report() {
    echo "    ---- no progress for $1 s: where everything waits ----"
    for p in /proc/[0-9]*; do
        [ -r "$p/stat" ] || continue
        comm=$(cat "$p/comm" 2>/dev/null) || continue
        case $comm in kworker*|ksoftirqd*|rcu_*|migration*|cpuhp*|idle_inject*) continue ;; esac
        st=$(sed -n 's/^State:[[:space:]]*//p' "$p/status" 2>/dev/null)
        echo "    pid ${p#/proc/} $comm [$st] wchan=$(cat "$p/wchan" 2>/dev/null)"
        case $st in D*) sed 's/^/        /' "$p/stack" 2>/dev/null ;; esac
    done
    if [ -n "$IOPD_PID" ] && [ -d "/proc/$IOPD_PID" ]; then
        for t in /proc/"$IOPD_PID"/task/*; do
            echo "    iopd thread ${t##*/} $(cat "$t/comm") [$(sed -n 's/^State:[[:space:]]*//p' "$t/status")] wchan=$(cat "$t/wchan")"
            sed 's/^/        /' "$t/stack" 2>/dev/null
        done
        command -v gdb >/dev/null &&
            timeout 60 gdb -p "$IOPD_PID" -batch -nx -ex 'thread apply all bt' 2>&1 | grep -E '^(Thread|#)' | sed 's/^/    /'
    fi
    dmesg 2>/dev/null | tail -n 30 | sed 's/^/    dmesg: /'
    [ -n "$IOPD_LOG" ] && tail -n 20 "$IOPD_LOG" | sed 's/^/    iopd: /'
    echo "    ---- end of the hang report ----"
}
watchdog_start() {
    progress
    (
        limit=$1 reported=0
        while sleep 5; do
            age=$(( $(date +%s) - $(stat -c %Y /tmp/e2e-progress 2>/dev/null || date +%s) ))
            if [ "$age" -ge "$limit" ] && [ $reported = 0 ]; then
                hang_report "$age"; reported=1
            fi
            [ "$age" -lt "$limit" ] && reported=0
        done
    ) &
    WATCHDOG_PID=$!
}
watchdog_stop() { [ -n "$WATCHDOG_PID" ] && kill "$WATCHDOG_PID" 2>/dev/null; WATCHDOG_PID=; true; }
