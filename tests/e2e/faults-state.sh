#!/bin/sh
# The state directory full (a small tmpfs filled up) or read-only (remounted): every
# failed save is logged clearly, nothing already saved is lost, the daemon keeps
# serving the new values from memory, and saves them by itself once it can (without
# another change); a download that cannot be stored fails with the IOP's status and
# keeps the old module; a block write that cannot be stored fails with a media error.
# Also: iopd starts and serves on a read-only state directory.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
STATE=/var/lib/iopd-small
mkdir -p "$STATE"
mount -t tmpfs -o size=2m tmpfs "$STATE" || { echo "cannot mount a tmpfs"; exit 1; }
trap 'e2e_cleanup; umount "$STATE" 2>/dev/null' EXIT

devname() { "$IOPCTL" --json get 0 0x00a 0xF102 | python3 -c 'import json,sys; print(json.load(sys.stdin)["fields"]["DeviceName"])'; }
# wait_log TEXT [SECONDS]: until iopd's log has TEXT.
wait_log() {
    n=$(( ${2:-30} * 10 ))
    while [ $n -gt 0 ]; do grep -q "$1" "$IOPD_LOG" && return 0; sleep 0.1; n=$((n - 1)); done
    return 1
}
sums() { (cd "$STATE/iop0" && sha256sum params-00a.state swstore.idx sw-* dma.state 2>/dev/null); }

# The built-in configuration without USB (not needed here; enumerating it is slow).
"$IOPD" --dump-default-config | python3 -c '
import json, sys; c = json.load(sys.stdin); c["usb"] = {"enabled": False}; json.dump(c, sys.stdout)' >/tmp/nousb.json
dd if=/dev/urandom of=/tmp/m1.img bs=1k count=100 status=none
dd if=/dev/urandom of=/tmp/m2.img bs=1k count=100 status=none
dd if=/dev/urandom of=/tmp/blk.bin bs=1k count=4 status=none
check "iopd starts on a 2 MiB state directory" start_iopd --config /tmp/nousb.json
check "a parameter is set and saved" "$IOPCTL" set 0 0x00a 0xF102 DeviceName saved-value
check "a module is stored" "$IOPCTL" sw download 0 private 0x77 /tmp/m1.img
check "a block is written" "$IOPCTL" passthru 0 0x00a 0x31 0 4096 0 0 --to-iop /tmp/blk.bin
sleep 1.5 # the DMA state is saved a second after activity
sums >/tmp/sums.before
check "the state files exist" grep -q "params-00a.state" /tmp/sums.before

# --- Full ---
dd if=/dev/zero of="$STATE/filler" bs=4k 2>/dev/null
df -k "$STATE" | tail -1 | sed 's/^/    /'
check "a change while full is accepted" "$IOPCTL" set 0 0x00a 0xF102 DeviceName during-enospc
check "and served from memory" test "$(devname)" = during-enospc
check "the failure is logged: file and reason" wait_log "cannot save its parameters to params-00a.state: No space left on device" 5
check "... with what happens next" grep -q "the new values stay in memory (the file keeps the last saved ones) and saving is retried" "$IOPD_LOG"
"$IOPCTL" sw download 0 private 0x78 /tmp/m2.img >/tmp/dl.out 2>&1
check "a download that cannot be stored fails with the IOP's status 0x09" grep -q "0x09" /tmp/dl.out
check "... and says why in the log" grep -q "swstore: download of 22/00000078 failed in the store: No space left on device" "$IOPD_LOG"
check "the stored module is intact" "$IOPCTL" sw upload 0 private 0x77 /tmp/m1.back --size 102400
check "... byte for byte" cmp /tmp/m1.img /tmp/m1.back
"$IOPCTL" passthru 0 0x00a 0x31 0 4096 65536 0 --to-iop /tmp/blk.bin >/tmp/bw.out 2>&1
check "a block write that cannot be stored fails (media error)" grep -q "DetailedStatus 0x0001" /tmp/bw.out
check "... and is logged" grep -q "writing 4096 bytes at byte 65536 of its medium: No space left on device" "$IOPD_LOG"
check "the DMA state's failure is logged" wait_log "cannot save the DMA controller state to $STATE/iop0/dma.state: No space left on device" 5
sums >/tmp/sums.full
check "nothing already saved changed" cmp /tmp/sums.before /tmp/sums.full
check "the daemon keeps serving" "$IOPCTL" list
rm -f "$STATE/filler"
check "space again: the parameters are saved without another change" wait_log "parameters saved to params-00a.state again" 30
check "... and the DMA state" wait_log "DMA controller state saved again" 30
check "the failure is logged once, not at every retry" test "$(grep -c 'cannot save its parameters' "$IOPD_LOG")" -eq 1

# --- Read-only ---
# A file system cannot be remounted read-only while a file on it is open for writing
# (the kernel says EBUSY): the disk's medium is, once used.  So: a restart that leaves
# it closed, then the remount (a file system that fails into read-only, errors=
# remount-ro, gives the daemon the same EROFS).
check "SIGTERM" stop_iopd
check "iopd restarts" start_iopd --config /tmp/nousb.json
check "the value saved after the failure survived" test "$(devname)" = during-enospc
check "remount the state directory read-only" mount -o remount,ro "$STATE"
check "a change on a read-only directory is accepted" "$IOPCTL" set 0 0x00a 0xF102 DeviceName during-ro
check "and served from memory" test "$(devname)" = during-ro
check "the failure is logged" wait_log "cannot save its parameters to params-00a.state: Read-only file system" 5
mount -o remount,rw "$STATE"
check "writable again: saved" wait_log "parameters saved to params-00a.state again.*" 30
check "SIGTERM" stop_iopd
check "iopd restarts" start_iopd --config /tmp/nousb.json
check "the last value survived" test "$(devname)" = during-ro
check "the module too" "$IOPCTL" sw upload 0 private 0x77 /tmp/m1.back2 --size 102400
check "... byte for byte" cmp /tmp/m1.img /tmp/m1.back2
check "the block too" sh -c "'$IOPCTL' passthru 0 0x00a 0x30 0 4096 0 0 --from-iop 4096 --out /tmp/blk.back && cmp /tmp/blk.bin /tmp/blk.back"
check "SIGTERM" stop_iopd

# --- Starting read-only ---
check "remount the state directory read-only" mount -o remount,ro "$STATE"
check "iopd starts on a read-only state directory" start_iopd --config /tmp/nousb.json
check "it serves the saved values" test "$(devname)" = during-ro
check "and the stored module" "$IOPCTL" sw upload 0 private 0x77 /tmp/m1.back3 --size 102400
check "a change is accepted and kept in memory" "$IOPCTL" set 0 0x00a 0xF102 DeviceName ro-start
check "... logged" wait_log "Read-only file system" 5
check "SIGTERM" stop_iopd
check "at the stop, what could not be saved is reported lost" grep -q "parameter changes could not be saved and are lost" "$IOPD_LOG"
mount -o remount,rw "$STATE"
e2e_finish
