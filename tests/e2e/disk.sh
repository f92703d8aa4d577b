#!/bin/sh
# Block storage through I2OPASSTHRU on a real kernel: BsaBlockWrite/BsaBlockRead
# messages from iopctl (buffers mapped below 4 GiB for the 32-bit SG addresses), data
# through the ISA DMA channel, the medium persisting across a restart; an oversized
# transfer and a misaligned one refused with the IOP's status.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
rm -rf "$STATE"/*
dd if=/dev/urandom of=/tmp/blk.bin bs=1k count=64 status=none

check "iopd starts" start_iopd
before=$("$IOPCTL" --json get 0 0x009 0x8000 | python3 -c 'import json,sys; print(json.load(sys.stdin)["fields"]["BytesMoved"])')
# BsaBlockWrite (0x31): word 4 flags, 5 byte count, 6-7 byte address.
check "BsaBlockWrite of 64 KiB at block 8" "$IOPCTL" passthru 0 0x00a 0x31 0 65536 4096 0 --to-iop /tmp/blk.bin
check "BsaBlockRead gives the same bytes back" "$IOPCTL" passthru 0 0x00a 0x30 0 65536 4096 0 --from-iop 65536 --out /tmp/blk.back
check "identical" cmp /tmp/blk.bin /tmp/blk.back
after=$("$IOPCTL" --json get 0 0x009 0x8000 | python3 -c 'import json,sys; print(json.load(sys.stdin)["fields"]["BytesMoved"])')
check "both directions crossed the DMA channel ($before -> $after)" test $((after - before)) -eq 131072
# --json --from-iop without --out printed the reply and no data at all.
check "--json --from-iop without --out: the bytes are its \"data\"" sh -c "'$IOPCTL' --json passthru 0 0x00a 0x30 0 512 4096 0 --from-iop 512 | python3 -c 'import json,sys; assert bytes.fromhex(json.load(sys.stdin)[\"data\"]) == open(\"/tmp/blk.bin\", \"rb\").read(512)'"
check "a misaligned address: ERROR_NO_DATA_TRANSFER" sh -c "! '$IOPCTL' passthru 0 0x00a 0x30 0 512 100 0 --from-iop 512 >/tmp/mis.out 2>&1 && grep -q 'ReqStatus 0x05, DetailedStatus 0x0011' /tmp/mis.out"
check "past the end of the 1 MiB disk: ACCESS_ERROR" sh -c "! '$IOPCTL' passthru 0 0x00a 0x30 0 512 1048576 0 --from-iop 512 >/tmp/end.out 2>&1 && grep -q 'DetailedStatus 0x0002' /tmp/end.out"
check "more than one ioctl can carry: ENOMEM" sh -c "'$IOPCTL' passthru 0 0x00a 0x30 0 262144 0 0 --from-iop 262144 2>&1 | grep -q 'Cannot allocate memory'"
check "BsaCacheFlush" "$IOPCTL" passthru 0 0x00a 0x37
check "SIGTERM" stop_iopd
check "iopd restarts" start_iopd
check "the medium kept the data" "$IOPCTL" passthru 0 0x00a 0x30 0 65536 4096 0 --from-iop 65536 --out /tmp/blk.back2
check "identical after the restart" cmp /tmp/blk.bin /tmp/blk.back2
check "SIGTERM" stop_iopd
e2e_finish
