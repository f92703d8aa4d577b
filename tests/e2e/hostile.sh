#!/bin/sh
# Hostile callers on a real kernel, as 64-bit and as 32-bit (compat) programs: every
# pointer of every ioctl NULL, unmapped, freed, a kernel address or straddling a guard
# page (EFAULT, nothing else of the caller's written, no state change); every length
# 0, huge or overflowing (the kernel's errno); a storm of random ioctls from four
# processes; two processes downloading at once; a client holding 10,000 descriptors;
# clients registered for every event that never read.  Throughout: the daemon's peak
# virtual size never jumps (no huge allocation), its memory comes back, its
# descriptors stay, and another client's I2OGETIOPS latency is reported (not asserted).
# IOPD_E2E_STORM (calls per storm process, default 2500) and IOPD_E2E_FDS (default
# 10000) scale it; the README's figures are from IOPD_E2E_STORM=20000.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
rm -rf "$STATE"/*
STORM=${IOPD_E2E_STORM:-2500}
NFDS=${IOPD_E2E_FDS:-10000}
H=$E2E/hostile-client
H32=$E2E/hostile-client32
# The built-in configuration without USB: random messages must not reach the VM's
# real USB devices (their transfers are tested in usb.sh and faults-usb.sh).
"$IOPD" --dump-default-config | python3 -c '
import json, sys; c = json.load(sys.stdin); c["usb"] = {"enabled": False}; json.dump(c, sys.stdout)' >/tmp/nousb.json
# ASan's quarantine (256 MiB of freed memory held back) would hide what the daemon
# gives back: off here (redzones still catch overflows; the unit and CUSE tests keep
# the quarantine).
asan=$ASAN_OPTIONS
export ASAN_OPTIONS="$asan:quarantine_size_mb=0"
check "iopd starts" start_iopd --config /tmp/nousb.json
export ASAN_OPTIONS="$asan"
P=$IOPD_PID
peak0=$(proc_kb $P VmPeak)
echo "    start: VmRSS $(proc_kb $P VmRSS) kB, VmPeak $peak0 kB, $(proc_fds $P) descriptors"
probe_latency "idle"
idle_p50=$PROBE_P50

for c in "$H" "$H32"; do
    b=$(basename "$c")
    check "$b: every pointer of every ioctl" "$c" /dev/i2o/ctl pointers 0 0x00a 0x00a
    check "$b: every length" "$c" /dev/i2o/ctl lengths 0 0x00a 0x00a
done

# Four processes (two native, two 32-bit) of random ioctls at once.
pids=
for i in 1 2 3 4; do
    c=$H; [ $i -gt 2 ] && c=$H32
    "$c" /dev/i2o/ctl storm "$STORM" "$i" 0 >/tmp/storm.$i 2>&1 &
    pids="$pids $!"
done
probe_latency "during the storm"
st=0
for p in $pids; do wait $p || st=1; done
cat /tmp/storm.1 /tmp/storm.3 | grep -v "checks passed"
check "4 x $STORM random ioctls all answered" test $st -eq 0
check "the daemon is alive" kill -0 $P
# Correct afterwards: the checks of ctl-client, on a fresh state.
check "afterwards: GETIOPS" "$E2E/ctl-client" /dev/i2o/ctl getiops 0
check "afterwards: LCT" "$E2E/ctl-client" /dev/i2o/ctl lct 0 0x000:0x000 0x008:0x001 0x009:0x080 0x00a:0x010 0x00b:0x020 0x00c:0x080 0x00d:0x080 0x00e:0x051
check "afterwards: parameters" "$E2E/ctl-client" /dev/i2o/ctl params-errors 0 0x00a
check "afterwards: PASSTHRU" "$E2E/ctl-client" /dev/i2o/ctl passthru-nop 0
check "afterwards: software store" "$E2E/ctl-client" /dev/i2o/ctl sw-roundtrip 0
check "afterwards: events" "$E2E/ctl-client" /dev/i2o/ctl events-select 0

check "two processes downloading at once (256 KiB, 3 rounds)" "$H" /dev/i2o/ctl swrace 0 256 3
# The daemon's descriptors from here on: the stored modules hold one each.
fds0=$(proc_fds $P)

# A client holding many descriptors, twice: the second time must not need more memory
# than the first (nothing kept per file once it is closed).
mkfifo /tmp/hold
hog_fds() {
    "$H" /dev/i2o/ctl hog-fds "$NFDS" </tmp/hold >/tmp/hog.out 2>&1 &
    hog=$!
    exec 7>/tmp/hold
    n=600; while [ $n -gt 0 ] && ! grep -q ready /tmp/hog.out; do sleep 0.1; n=$((n - 1)); done
    check "a client opened $NFDS descriptors" grep -q "ready $NFDS" /tmp/hog.out
}
unhog_fds() {
    exec 7>&-
    wait $hog
    check "... and closed them" grep -q closed /tmp/hog.out
}
rss1=$(proc_kb $P VmRSS)
hog_fds
rss2=$(proc_kb $P VmRSS)
echo "    $NFDS open files: daemon VmRSS $rss1 -> $rss2 kB ($(( (rss2 - rss1) * 1024 / NFDS )) bytes per file), $(proc_fds $P) descriptors"
probe_latency "with $NFDS files open"
unhog_fds
check "the daemon's descriptors did not change ($fds0)" test "$(proc_fds $P)" -eq "$fds0"
closed1=$(proc_kb $P VmRSS)
# Two more rounds: the first one warms the allocator up (in four runs the second round's
# files-open level was 0.1 to 0.9 MiB above the first's, the third within 0.1 MiB of
# the second), so the third is compared with the second.  Levels after a close are
# printed, not judged: what the allocator has given back at an instant varies (ASan's
# allocator releases on an allocation, at most every 5 s), by 1.1 MiB in one CI run
# with nothing kept.  Memory kept per file (the first round costs 260-350 bytes a file)
# would put each round 2.6 MiB and more above the one before.
hog_fds; open2=$(proc_kb $P VmRSS)
unhog_fds; closed2=$(proc_kb $P VmRSS)
hog_fds; open3=$(proc_kb $P VmRSS)
unhog_fds; closed3=$(proc_kb $P VmRSS)
echo "    files open: $rss2, $open2, $open3 kB in rounds 1, 2, 3; closed: $closed1, $closed2, $closed3 kB"
check "a third round of $NFDS needed no more memory than the second (within 1 MiB)" \
    test "$open3" -le $((open2 + 1024))

# Clients registered for every event of every device, never reading.
"$H" /dev/i2o/ctl hog-events 16 0 </tmp/hold >/tmp/hogev.out 2>&1 &
hog=$!
exec 7>/tmp/hold
n=600; while [ $n -gt 0 ] && ! grep -q ready /tmp/hogev.out; do sleep 0.1; n=$((n - 1)); done
check "16 descriptors registered for every event" grep -q "ready 16" /tmp/hogev.out
rss3=$(proc_kb $P VmRSS)
"$BUILD/tests/load/iop-load" --clients 2 --ops 300 --mix parmset,validate --tid 0x00a --quiet &
gen=$!
probe_latency "with 16 files registered for every event, never read, 600 events raised"
wait $gen
rss4=$(proc_kb $P VmRSS)
echo "    event queues never read: daemon VmRSS $rss3 -> $rss4 kB"
exec 7>&-
wait $hog
cat /tmp/hogev.out | grep drained
check "every queue stayed within 32 events" grep -q "0 failed" /tmp/hogev.out

peak1=$(proc_kb $P VmPeak)
echo "    end: VmRSS $(proc_kb $P VmRSS) kB, VmHWM $(proc_kb $P VmHWM) kB, VmPeak $peak0 -> $peak1 kB, $(proc_fds $P) descriptors"
check "no huge allocation: the peak virtual size grew by less than 64 MiB" test $((peak1 - peak0)) -lt 65536
check "the daemon's descriptors are back to $fds0" test "$(proc_fds $P)" -eq "$fds0"
check "SIGTERM" stop_iopd
e2e_finish
