#!/bin/sh
# The load driver (tests/load/iop-load) against iopd on a real kernel: 8 clients run
# every ordinary ioctl (and hostile EFAULT calls) together while slow processes park a
# blocking read and download a big module; then 64 clients.  Nothing may fail that
# the operation does not explain, the slow processes must end on SIGTERM (the daemon
# answers their interrupted calls), and the daemon's descriptors must be back where
# they were.  Speed is not judged here (tests/bench/run ctl does that).
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
LOAD=$BUILD/tests/load/iop-load

check "iopd starts" start_iopd
ALL=getiops,validate,hrt,lct,parmget,parmset,html,evtreg,evtget,swdl,swul,swdel,nop,bsa-read,bsa-write,efault
run8() {
    "$LOAD" --clients 8 --ops 60 --mix "$ALL" --disk 0x00a --slow read,swdl-big --big-sw-size 1048576 \
        --pid "$IOPD_PID" --json >"$1"
}
run8 /tmp/load.json
st=$?
cat /tmp/load.json
check "8 clients, every operation: no unexpected error" test $st -eq 0
run8 /tmp/load2.json
check "the same load again: no unexpected error" test $? -eq 0
# Stored modules keep a descriptor each (one per client, whose module ids are the same
# in both runs), and a download cut short keeps its staging file until the same module
# starts again: after the second run the count must be what it was after the first.
check "every operation ran, the slow processes stopped when told, descriptors do not grow" python3 -c '
import json, sys
r, r2 = json.load(open("/tmp/load.json")), json.load(open("/tmp/load2.json"))
ops = "'"$ALL"'".split(",")
missing = [o for o in ops if r["per_op"].get(o, {}).get("n", 0) == 0]
assert not missing, missing
assert r["per_op"]["efault"]["codes"].get("EFAULT") == r["per_op"]["efault"]["n"], r["per_op"]["efault"]
assert r["slow_killed"] == 0 and r2["slow_killed"] == 0, (r, r2)
assert r2["daemon"]["fds_after"] == r["daemon"]["fds_after"], (r["daemon"], r2["daemon"])
'
"$LOAD" --clients 64 --ops 20 --pid "$IOPD_PID" >/tmp/load64.out
st=$?
cat /tmp/load64.out
check "64 clients at once: no error" sh -c "test $st -eq 0 && grep -q 'ops=1280 .* errors=0 unexpected=0' /tmp/load64.out"
check "the daemon still answers" "$IOPCTL" list
check "SIGTERM stops iopd" stop_iopd
e2e_finish
