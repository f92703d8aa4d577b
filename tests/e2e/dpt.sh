#!/bin/sh
# DPT's management software against iopd, as a 32-bit static client reproduces it:
# /dev/i2octl opened once per message, the dpt_i2o 'D' ioctls (EINVAL), executive and
# utility messages and DPT private SCSI_EXEC messages through I2OPASSTHRU32; SCSI data
# on the same medium BsaBlockRead reads, surviving a restart; an unknown opcode, a
# missing LUN and a missing target; 10,000 open/ioctl/close cycles without fd or
# memory growth in the daemon, with the cost of the first and later cycles printed.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
rm -rf "$STATE"/*
C=$E2E/dpt-client32
if [ ! -x "$C" ]; then
    echo "FAIL: $C was not built: the toolchain lacks -m32 (apt-get install gcc-multilib)"
    exit 1
fi
# ASan keeps freed memory in quarantine, which would read as growth: free it at once.
ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=0"
export ASAN_OPTIONS
N=/dev/i2octl

check "the client really is 32-bit" sh -c "od -An -tx1 -j4 -N1 '$C' | grep -q 01"
check "iopd starts" start_iopd
check "/dev/i2octl is there too" wait_for $N 100
check "both names are one device" sh -c "[ \$(ls -l /dev/i2o/ctl | cut -c1) = c ] && [ \$(ls -l $N | cut -c1) = c ]"
check "discover: GETIOPS, 'D' ioctls EINVAL, StatusGet, HRT, LCT, SCSI and DPT groups" sh -c "'$C' $N discover >/tmp/dpt.disc"
check "DPT group 0x8000: the disk is bus 0 target 0 lun 0" grep -qx "0x00a 0 0 0" /tmp/dpt.disc
check "DPT group 0x8000: the SCSI disk is bus 0 target 1 lun 0" grep -qx "0x00e 0 1 0" /tmp/dpt.disc
check "INQUIRY + VPD 00/80/83 of the logical disk" "$C" $N inquiry 0x00a 0
check "INQUIRY of the SCSI peripheral" "$C" $N inquiry 0x00e 0
check "INQUIRY of the controller (TID 0, Interpret): a processor device" "$C" $N inquiry 0 3
check "READ CAPACITY(10)/(16): 2048 blocks" "$C" $N capacity 0x00a 2048
check "READ CAPACITY(10)/(16): 4096 blocks" "$C" $N capacity 0x00e 4096
check "WRITE(10) of 1024 blocks (16 messages of 64 KiB)" "$C" $N write 0x00a 512 1024 7
check "READ(10) gives them back" "$C" $N read 0x00a 512 1024 7
check "BsaBlockRead of the same blocks reads the same bytes" "$C" $N bsaread 0x00a 512 1024 7
check "the SCSI peripheral has its own medium" sh -c "'$C' $N write 0x00e 0 300 9 && '$C' $N read 0x00e 0 300 9"
check "unknown opcode: CHECK CONDITION, ILLEGAL REQUEST 20/00; CmdDt 24/00; missing LUN" "$C" $N unknown 0x00a
check "missing target: selection timeout" "$C" $N missing 0x123
check "a TID without a SCSI target: selection timeout" "$C" $N missing 0x00b
check "iopctl scsi INQUIRY (text)" sh -c "'$IOPCTL' scsi 0 0x00a 0x12 0 0 0 36 0 --in 36 | grep -q '^status 0x00 (GOOD), HBA status 0x00 (success), ReqStatus 0x00, 36 of 36 bytes'"
check "iopctl scsi --json, an unknown opcode: exit 1, sense 5/20/00" sh -c "! '$IOPCTL' --json scsi 0 0x00a 0xC5 0 0 0 0 0 0 0 0 0 >/tmp/dpt.json; python3 -c '
import json
d = json.load(open(\"/tmp/dpt.json\"))
assert d[\"scsi_status\"] == 2 and d[\"sense_key\"] == 5 and d[\"asc\"] == 0x20 and d[\"ascq\"] == 0, d
'"
check "iopctl scsi READ(10) --out equals the client's pattern" sh -c "'$IOPCTL' scsi 0 0x00a 0x28 0 0 0 2 0 0 0 1 0 --in 512 --out /tmp/dpt.blk && [ \$(wc -c </tmp/dpt.blk) -eq 512 ]"
# READ(10) of 0 blocks moves nothing: --out was left holding the 512 bytes above.
check "iopctl scsi --in --out, 0 bytes moved: the file is empty" sh -c "'$IOPCTL' scsi 0 0x00a 0x28 0 0 0 2 0 0 0 0 0 --in 512 --out /tmp/dpt.blk && [ -f /tmp/dpt.blk ] && [ ! -s /tmp/dpt.blk ]"
check "SIGTERM" stop_iopd
check "iopd restarts" start_iopd
check "after the restart READ(10) still gives the data" "$C" $N read 0x00a 512 1024 7
check "and BsaBlockRead too" "$C" $N bsaread 0x00a 512 1024 7

# 10,000 cycles of open, one ioctl, close, as raideng sends every message; the client
# reads the daemon's /proc/PID/fd and /proc/PID/status before, half way and after.
wait_for $N 100
# Without it khugepaged makes the CUSE nodes' sparse receive buffers resident over time,
# which this measurement would see as growth.
check "iopd runs without transparent huge pages" grep -q "^THP_enabled:[[:space:]]*0" /proc/$IOPD_PID/status
"$C" $N cycles 1100 >/dev/null
check "10,000 open/I2OPASSTHRU/close cycles: no fd growth, no memory growth" sh -c "'$C' $N cycles 10000 $IOPD_PID >/tmp/dpt.cycles"
cat /tmp/dpt.cycles
check "SIGTERM (ASan finds no leak)" stop_iopd
e2e_finish
