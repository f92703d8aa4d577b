#!/bin/sh
# HRT, LCT and events on a real kernel: the built-in configuration's tables as C and
# iopctl see them, ENOBUFS with the needed length, events through poll()+read() in
# one process while another process changes the IOP.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

check "iopd starts" start_iopd
check "HRT: one ISA adapter at 0x330, DMA channel 5" "$E2E/ctl-client" /dev/i2o/ctl hrt 0 1 isa 0x330 5
check "LCT: executive, DDM, ISA adapter, disk, LAN, USB adapter, SCSI port, SCSI disk, then USB devices" "$E2E/ctl-client" /dev/i2o/ctl lct 0 \
    0x000:0x000 0x008:0x001 0x009:0x080 0x00a:0x010 0x00b:0x020 0x00c:0x080 0x00d:0x080 0x00e:0x051
check "HRT/LCT of a missing IOP: ENXIO" "$E2E/ctl-client" /dev/i2o/ctl lct 4 ENXIO
check "ENOBUFS reports the needed length, then the retry works" "$E2E/ctl-client" /dev/i2o/ctl enobufs 0
check "iopctl hrt" sh -c "'$IOPCTL' hrt 0 | grep -q 'isa .*io=0x330 csn=0 dma=5 mem=0xd0000'"
check "iopctl lct --json lists the 8 devices, then the VM's USB devices" sh -c "'$IOPCTL' --json lct 0 | python3 -c '
import json, sys
d = json.load(sys.stdin)[\"devices\"]
assert [e[\"tid\"] for e in d[:8]] == [0, 8, 9, 10, 11, 12, 13, 14], d
assert d[3][\"class\"] == \"block-storage\"
usb = d[8:]
assert len(usb) >= 2 and all(e[\"class\"] == \"usb-device\" and e[\"tid\"] >= 0x100 for e in usb), usb
assert any(e[\"vendor_id\"] == 0x0627 for e in usb), usb  # QEMU usb-kbd
'"
check "event registration errors: ENXIO, ENODEV" "$E2E/ctl-client" /dev/i2o/ctl evtreg-errors
# One process waits in poll(); another validates the IOP (CONFIGURATION_FLAG event).
"$IOPCTL" events -t 20 0 0 0x20000000 >/tmp/ev.out 2>/tmp/ev.err &
waiter=$!
sleep 1
"$IOPCTL" validate 0 >/dev/null
wait $waiter; st=$?
check "events: a waiting process sees another process's change" test $st -eq 0
check "events: the event is configuration-flag" grep -q "event 0x20000000 (configuration-flag)" /tmp/ev.out
check "events: select() + read() + I2OEVTGET in C" "$E2E/ctl-client" /dev/i2o/ctl events-select 0
check "read() with O_NONBLOCK and no events gives EAGAIN" "$E2E/ctl-client" /dev/i2o/ctl read-nonblock
check "SIGTERM stops iopd" stop_iopd
e2e_finish
