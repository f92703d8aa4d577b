#!/bin/sh
# SIGKILL at random points of software downloads (I2OSWDL) and of block writes
# (BsaBlockWrite through I2OPASSTHRU), then a restart: the module is the old or the new
# one whole, never torn, and never the old one after the download was acknowledged; the
# written region holds one generation in every block, the last acknowledged one or the
# one in flight.  IOPD_E2E_KILLS kills of each kind (default 10; the README's figures are
# from IOPD_E2E_KILLS=50).
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
rm -rf "$STATE"/*
KILLS=${IOPD_E2E_KILLS:-10}
FC=$E2E/fault-client
"$IOPD" --dump-default-config | python3 -c '
import json, sys; c = json.load(sys.stdin); c["usb"] = {"enabled": False}; json.dump(c, sys.stdout)' >/tmp/nousb.json

# random N SEED: a pseudo-random number in [0, N).  The kills are placed by the
# client itself (fault-client: SIGKILL from a helper a random number of microseconds
# after a random acknowledged fragment or write), so they land inside the daemon's
# work as often as between requests.
random() { awk -v s="$2" -v m="$1" 'BEGIN { srand(s); print int(rand() * m) }'; }
BASE=${IOPD_E2E_SEED:-$$}
echo "    random seed $BASE (IOPD_E2E_SEED=$BASE repeats this run)"
# The daemon was killed: wait for it and its node to go.
reap_iopd() {
    wait "$IOPD_PID" 2>/dev/null
    IOPD_PID=
    wait_gone /dev/i2o/ctl 100
}

# --- Software downloads: killed after a random number of acknowledged fragments ---
for v in 0 1 2 3; do dd if=/dev/urandom of=/tmp/v$v.img bs=1k count=192 status=none; done
SIZE=196608 FRAGS=24
check "iopd starts" start_iopd --config /tmp/nousb.json
t0=$(date +%s%N)
check "a first version is stored" "$IOPCTL" sw download 0 private 0x99 /tmp/v0.img
echo "    one download of 192 KiB ($FRAGS fragments): $(( ($(date +%s%N) - t0) / 1000000 )) ms"
prev=0 old=0 new=0 torn=0 lost=0 unacked_new=0
i=1
while [ $i -le "$KILLS" ]; do
    v=$(( i % 4 )); [ $v -eq $prev ] && v=$(( (v + 1) % 4 ))
    # Half the kills around the last fragment, where the module is committed.
    k=$(random $((FRAGS + 1)) $((BASE + i)))
    [ $((i % 2)) -eq 0 ] && k=$((FRAGS - 2 + $(random 3 $((BASE + 500 + i)))))
    us=$(random 20000 $((BASE + 1000 + i)))
    "$FC" /dev/i2o/ctl sw-download 0 0x22 0x99 /tmp/v$v.img "$IOPD_PID" "$k" "$us" >/tmp/frags 2>/dev/null
    reap_iopd
    acked=0; grep -q "^done" /tmp/frags && acked=1
    if ! start_iopd --config /tmp/nousb.json; then not_ok "restart after kill $i"; break; fi
    rm -f /tmp/back.img
    "$IOPCTL" sw upload 0 private 0x99 /tmp/back.img --size $SIZE >/dev/null 2>&1
    if cmp -s /tmp/back.img /tmp/v$v.img; then
        new=$((new + 1)); prev=$v
        [ $acked -eq 0 ] && unacked_new=$((unacked_new + 1))
    elif cmp -s /tmp/back.img /tmp/v$prev.img; then
        old=$((old + 1))
        [ $acked -eq 1 ] && lost=$((lost + 1))
    else
        torn=$((torn + 1))
        echo "    kill $i: the stored module is neither v$prev nor v$v"
    fi
    echo "    kill $i, $us us after fragment $k: last acknowledged: $(tail -n 1 /tmp/frags), stored: $( [ "$prev" = "$v" ] && echo new || echo old)"
    i=$((i + 1))
done
echo "    $KILLS kills during downloads: old module $old, new module $new (of which $unacked_new before the last acknowledgement), torn $torn"
check "every kill left the old or the new module, whole" test $torn -eq 0 -a $((old + new)) -eq "$KILLS"
check "no acknowledged download was lost" test $lost -eq 0
check "no damaged file was reported" sh -c "! grep -q 'damaged\|not usable' '$IOPD_LOG'"

# --- Block writes (64 KiB at 64 KiB on the disk) ---
ADDR=65536 LEN=65536
check "the region gets generation 1" sh -c "'$FC' /dev/i2o/ctl bsa-write 0 0x00a $ADDR $LEN 1 1 | grep -q 'acked 1'"
gen=1 bad=0 in_flight=0 replays=0 writes=0
i=1
while [ $i -le "$KILLS" ]; do
    after=$(( 1 + $(random 10 $((BASE + 2000 + i))) ))
    us=$(random 40000 $((BASE + 3000 + i)))
    "$FC" /dev/i2o/ctl bsa-write 0 0x00a $ADDR $LEN $((gen + 1)) 1000000 "$IOPD_PID" $after $us >/tmp/acks 2>/dev/null
    reap_iopd
    last=$(sed -n 's/^acked //p' /tmp/acks | tail -n 1)
    [ -n "$last" ] || last=$gen
    writes=$((writes + last - gen))
    if ! start_iopd --config /tmp/nousb.json; then not_ok "restart after kill $i"; break; fi
    out=$("$FC" /dev/i2o/ctl bsa-check 0 0x00a $ADDR $LEN)
    g=$(echo "$out" | sed -n 's/^gen //p')
    if [ -z "$g" ]; then
        bad=$((bad + 1)); echo "    kill $i: $out"
    elif [ "$g" -ne "$last" ] && [ "$g" -ne $((last + 1)) ]; then
        bad=$((bad + 1)); echo "    kill $i: generation $g, last acknowledged $last"
    else
        [ "$g" -eq $((last + 1)) ] && in_flight=$((in_flight + 1))
        gen=$g
    fi
    grep -q "completed a block write the daemon was stopped in" "$IOPD_LOG" && replays=$((replays + 1))
    i=$((i + 1))
done
echo "    $KILLS kills during $writes acknowledged block writes: the write in flight found done $in_flight times, completed from the journal at restart $replays times; torn or wrong $bad"
check "every kill left one whole generation: the last acknowledged or the one in flight" test $bad -eq 0
check "SIGTERM" stop_iopd
e2e_finish
