#!/bin/sh
# The software store on a real kernel: an 8 MiB image down and back up byte-identical
# through iopctl (1024 fragments each way), kept across a restart, suspect until
# validated; error paths from C; and a daemon killed mid-download leaves the store
# consistent (the old module, intact).
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
rm -rf "$STATE"/*

dd if=/dev/urandom of=/tmp/v1.img bs=1M count=8 status=none
dd if=/dev/urandom of=/tmp/v2.img bs=1M count=8 status=none
size=$(stat -c %s /tmp/v1.img)

check "iopd starts" start_iopd
start=$(date +%s%N)
check "8 MiB download (I2OSWDL x 1024)" "$IOPCTL" sw download 0 private 0x10001 /tmp/v1.img
mid=$(date +%s%N)
check "8 MiB upload (I2OSWUL x 1024)" "$IOPCTL" sw upload 0 private 0x10001 /tmp/back.img --size "$size"
end=$(date +%s%N)
check "uploaded bytes are identical" cmp /tmp/v1.img /tmp/back.img
echo "    download $(( (mid - start) / 1000000 )) ms, upload $(( (end - mid) / 1000000 )) ms"
check "error paths: EFAULT, ENXIO, ReqStatus, ETIMEDOUT" "$E2E/ctl-client" /dev/i2o/ctl sw-errors 0
check "a wrong size is refused on delete (ETIMEDOUT)" sh -c "! '$IOPCTL' sw delete 0 private 0x10001 --size 5 2>/tmp/del.err && grep -q 'timed out' /tmp/del.err"

check "SIGTERM" stop_iopd
check "the DMA controller state was saved at stop" test -s "$STATE/iop0/dma.state"
check "iopd restarts" start_iopd
check "the module survived the restart" "$IOPCTL" sw upload 0 private 0x10001 /tmp/back2.img --size "$size"
check "still byte-identical" cmp /tmp/v1.img /tmp/back2.img

# A download that never finishes, then a kill: the old module stays.
check "a partial download of a new version" "$E2E/ctl-client" /dev/i2o/ctl swdl-partial 0 0x22 0x10001 "$size" 300
kill -KILL "$IOPD_PID"; wait "$IOPD_PID" 2>/dev/null; IOPD_PID=
# ... and a kill while a download is running.
check "iopd restarts after SIGKILL" start_iopd
"$IOPCTL" sw download 0 private 0x10001 /tmp/v2.img >/dev/null 2>&1 &
dl=$!
sleep 0.5
kill -KILL "$IOPD_PID"; wait "$IOPD_PID" 2>/dev/null; IOPD_PID=
wait $dl
check "iopd restarts after a kill mid-download" start_iopd
"$IOPCTL" sw upload 0 private 0x10001 /tmp/back3.img --size "$size"
check "the store holds v1 or v2 whole, never a mix" sh -c "cmp -s /tmp/v1.img /tmp/back3.img || cmp -s /tmp/v2.img /tmp/back3.img"
check "validate" "$IOPCTL" validate 0
check "delete with the right size" "$IOPCTL" sw delete 0 private 0x10001 --size "$size"
check "gone after delete" sh -c "! '$IOPCTL' sw upload 0 private 0x10001 /tmp/x --size '$size' 2>/dev/null"
check "SIGTERM" stop_iopd
e2e_finish
