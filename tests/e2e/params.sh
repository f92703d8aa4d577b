#!/bin/sh
# Parameter groups on a real kernel: the standard groups of the built-in devices, a
# change through I2OPARMSET seen by another process's select() as FIELD_MODIFIED, kept
# across a restart; the ISA DMA channel's group moving with software downloads; the
# driver store table; the errno paths from C.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
rm -rf "$STATE"/*

check "iopd starts" start_iopd
check "F100 Device Identity of the disk" sh -c "'$IOPCTL' get 0 0x00a 0xF100 | grep -q 'Description *\"Simulated disk\"'"
check "BSA Device Information: capacity 2048 x 512" sh -c "'$IOPCTL' get 0 0x00a 0x0000 | grep -q 'DeviceCapacity *1048576 '"
check "the executive's IOP Hardware group" sh -c "'$IOPCTL' get 0 0 0x0000 | grep -q 'I2oVendorID'"
check "ISA DMA Channel group: channel 5, 16 bits, owned by the IOP" sh -c "'$IOPCTL' --json get 0 0x009 0x8000 | python3 -c '
import json, sys
f = json.load(sys.stdin)[\"fields\"]
assert f[\"Channel\"] == 5 and f[\"Width\"] == 16 and f[\"Owner\"] == \"i2o-iop\", f
'"
check "errno paths from C: ENOBUFS+retry, ENXIO, EFAULT, EAGAIN, ENOMEM" "$E2E/ctl-client" /dev/i2o/ctl params-errors 0 0x00a

# Another process waits for FIELD_MODIFIED on the disk while this one sets a field.
"$IOPCTL" events -t 20 0 0x00a 0x01000000 >/tmp/fm.out 2>&1 &
waiter=$!
sleep 1
check "I2OPARMSET of F102 DeviceName" "$IOPCTL" set 0 0x00a 0xF102 DeviceName data-disk
wait $waiter
check "the other process saw FIELD_MODIFIED" grep -q "event 0x01000000 (field-modified)" /tmp/fm.out
# events -f -t: giving up at the timeout is exit 1 as without -f (iopctl(1)); it was 0.
check "events -f -t 1 with no event: gives up, exit 1" sh -c "'$IOPCTL' events -f -t 1 0 0x00a 0x01000000 >/tmp/ft.out 2>&1; [ \$? -eq 1 ] && grep -q 'timed out after 0 events' /tmp/ft.out"
check "the value reads back" sh -c "'$IOPCTL' get 0 0x00a 0xF102 | grep -q 'DeviceName *\"data-disk\"'"
check "a read-only field is refused (FIELD_UNWRITEABLE)" sh -c "! '$IOPCTL' set 0 0x00a 0xF100 Description x 2>/tmp/ro.err && grep -q FIELD_UNWRITEABLE /tmp/ro.err"
check "a value too long for its field is refused before sending" sh -c "! '$IOPCTL' set 0 0x00a 0xF102 DeviceName $(printf '%070d' 0) 2>/dev/null"
check "hex: is two hex digits a byte (not strtoul's '-1' or ' 1')" sh -c "! '$IOPCTL' set 0 0x00a 0xF103 SglChainSizeTarget hex:-1000000 2>/dev/null && ! '$IOPCTL' set 0 0x00a 0xF103 SglChainSizeTarget 'hex: 1000000' 2>/dev/null"
check "hex: of the field's size sets it, little-endian" sh -c "'$IOPCTL' set 0 0x00a 0xF103 SglChainSizeTarget hex:00100000 && '$IOPCTL' --json get 0 0x00a 0xF103 | grep -q '\"SglChainSizeTarget\": *4096[,}]'"
check "a plain value with a leading 0 is decimal (010 is 10, not octal 8)" sh -c "'$IOPCTL' set 0 0x00a 0xF103 SglChainSizeTarget 010 && '$IOPCTL' --json get 0 0x00a 0xF103 | grep -q '\"SglChainSizeTarget\": *10[,}]'"

dd if=/dev/urandom of=/tmp/m.img bs=1k count=100 status=none
check "a download moves data through the DMA channel" "$IOPCTL" sw download 0 irtos 1 /tmp/m.img
moved=$("$IOPCTL" --json get 0 0x009 0x8000 | python3 -c 'import json,sys; print(json.load(sys.stdin)["fields"]["BytesMoved"])')
check "BytesMoved counts the image ($moved bytes)" test "$moved" -ge 102400
check "the Driver Store Table lists the module, suspect" sh -c "'$IOPCTL' get 0 0 0x0005 | grep -q 'ModuleName *\"\*11-00000001\"'"

# The configuration dialog: pages link to each other; the form's query changes settings.
check "I2OHTML device page links every device" sh -c "'$IOPCTL' html 0 0x00a | grep -q 'href=\"?tid=0x00c&amp;page=0\"'"
check "the ISA adapter's page shows the DMA channel" sh -c "'$IOPCTL' html 0 0x009 | grep -q '<th>Channel</th><td>5</td>'"
check "a query through qbuf changes a parameter" sh -c "'$IOPCTL' html 0 0x00b 1 --query 'F102.PhysicalLocation=rack+4' | grep -q 'F102.PhysicalLocation: set'"
check "the change is visible through I2OPARMGET" sh -c "'$IOPCTL' get 0 0x00b 0xF102 | grep -q 'PhysicalLocation *\"rack 4\"'"
check "SIGTERM" stop_iopd
check "iopd restarts" start_iopd
check "the parameter change survived the restart" sh -c "'$IOPCTL' get 0 0x00a 0xF102 | grep -q 'DeviceName *\"data-disk\"'"
moved2=$("$IOPCTL" --json get 0 0x009 0x8000 | python3 -c 'import json,sys; print(json.load(sys.stdin)["fields"]["BytesMoved"])')
check "the DMA channel's totals survived it too ($moved2)" test "$moved2" -eq "$moved"
check "SIGTERM" stop_iopd
e2e_finish
