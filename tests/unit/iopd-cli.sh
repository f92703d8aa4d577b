#!/bin/sh
# iopd's command line, on the host (no CUSE needed): hostile option values are refused
# before anything is touched.  Usage: iopd-cli.sh PATH-TO-IOPD
iopd=${1:?usage: $0 IOPD}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
expect() { # expect STATUS ARGS...: iopd ARGS exits with STATUS
    want=$1
    shift
    "$iopd" "$@" >"$tmp/out" 2>&1
    got=$?
    if [ "$got" -eq "$want" ]; then
        echo "ok   iopd $* -> $got"
    else
        echo "FAIL iopd $* -> $got, want $want:"
        cat "$tmp/out"
        fails=$((fails + 1))
    fi
}
# --ctl-name is a node name below /dev: never a path out of it, never odd characters.
for name in ../x a/../../etc/passwd /dev/x . a/./b a/. a//b a/ 'a b' '%n%s' "$(printf 'a\nb')" \
    0123456789012345678901234567890123456789012345678901234567890123; do
    expect 2 --foreground --ctl-name="$name" --cuse "$tmp/no-cuse" --state-dir "$tmp/state"
done
[ ! -e "$tmp/state" ] || { echo "FAIL a refused option still created the state directory"; fails=$((fails + 1)); }
grep -q "ctl-name" "$tmp/out" || { echo "FAIL the refusal does not name the option"; fails=$((fails + 1)); }
# A valid name gets as far as the missing /dev/cuse (status 1, "modprobe cuse").
expect 1 --foreground --ctl-name=i2o/ctl-2 --cuse "$tmp/no-cuse" --state-dir "$tmp/state"
grep -q "modprobe cuse" "$tmp/out" || { echo "FAIL no hint about the cuse module"; fails=$((fails + 1)); }
# --reload takes a process id, nothing else (never 0, 1, a group or "all").
for pid in abc 0 1 -1 -5 12x 99999999999; do
    expect 2 --reload "$pid"
done
echo "iopd-cli: $fails failed"
[ "$fails" -eq 0 ]
