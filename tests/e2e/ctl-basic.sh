#!/bin/sh
# /dev/i2o/ctl in a real kernel: the node appears, GETIOPS and VALIDATE behave as the
# kernel's driver did from C and from Python, and SIGTERM removes the node.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

check "no /dev/i2o/ctl before iopd" test ! -e /dev/i2o/ctl
check "iopd starts with the built-in configuration" start_iopd
check "/dev/i2o/ctl is a character device" test -c /dev/i2o/ctl
check "mode 0600 root:root" sh -c '[ "$(stat -c %a:%U:%G /dev/i2o/ctl)" = 600:root:root ]'
check "I2OGETIOPS from C lists IOP 0" "$E2E/ctl-client" /dev/i2o/ctl getiops 0
check "I2OVALIDATE 0 succeeds" "$E2E/ctl-client" /dev/i2o/ctl validate 0 0
check "I2OVALIDATE of a missing IOP is ENXIO" "$E2E/ctl-client" /dev/i2o/ctl validate 5 ENXIO
check "bad pointers give EFAULT" "$E2E/ctl-client" /dev/i2o/ctl efault
check "unknown ioctls give EINVAL, short read EINVAL" "$E2E/ctl-client" /dev/i2o/ctl unknown
check "I2OGETIOPS from Python" python3 -c '
import fcntl
I2OGETIOPS = 0x80206900
tab = bytearray(32)
with open("/dev/i2o/ctl", "rb", buffering=0) as f:
    fcntl.ioctl(f, I2OGETIOPS, tab)
assert list(tab) == [1] + [0] * 31, list(tab)
'
check "iopctl list" sh -c "'$IOPCTL' list | grep -qx 0"
check "iopctl list --json" sh -c "[ \"\$('$IOPCTL' --json list)\" = '{\"iops\":[0]}' ]"
check "/dev/usbmon/0u exists too, 0600 root:root" sh -c '[ "$(stat -c %a:%U:%G /dev/usbmon/0u)" = 600:root:root ]'
check "/dev/i2octl, the older name, too, 0600 root:root" sh -c '[ "$(stat -c %a:%U:%G /dev/i2octl)" = 600:root:root ]'
check "I2OGETIOPS through /dev/i2octl" "$E2E/ctl-client" /dev/i2octl getiops 0
# Permissions are the kernel's business: a user without access gets EACCES from open().
# Every node iopd makes (the usbmon nodes of each USB bus included) is root's, 0600,
# and refuses anyone else for reading and for writing.
check "the usbmon bus nodes exist" sh -c "ls /dev/usbmon | grep -q '^[1-9][0-9]*[ut]\$'"
check "every node is 0600 root:root" sh -c '
    for n in /dev/i2o/ctl /dev/usbmon/*; do
        [ "$(stat -c %a:%U:%G "$n")" = 600:root:root ] || { echo "$n: $(stat -c %a:%U:%G "$n")"; exit 1; }
    done'
check "a non-root user gets EACCES on every node, read and write" sh -c "setpriv --reuid=nobody --regid=nogroup --clear-groups \
    python3 -c 'import glob, os
for path in [\"/dev/i2o/ctl\"] + glob.glob(\"/dev/usbmon/*\"):
    for mode in (os.O_RDONLY, os.O_WRONLY, os.O_RDWR):
        try:
            os.close(os.open(path, mode))
        except PermissionError:
            continue
        raise SystemExit(path + \" opened\")
'"
check "SIGTERM stops iopd with status 0" stop_iopd
check "the node is gone after SIGTERM" wait_gone /dev/i2o/ctl
check "so is /dev/usbmon/0u" test ! -e /dev/usbmon/0u
check "and /dev/i2octl" test ! -e /dev/i2octl

# Owner, group and mode from the configuration; a member of the group may open it.
cat >/tmp/perm.json <<'JSON'
{ "iops": [ { "unit": 0 } ], "nodes": { "group": "nogroup", "mode": "0660", "ctl": "i2octl" } }
JSON
"$IOPD" --foreground --config /tmp/perm.json --state-dir "$STATE" >/tmp/perm.log 2>&1 &
IOPD_PID=$!
check "the control node has the configured name" wait_for /dev/i2octl 150
check "mode 0660 root:nogroup" sh -c '[ "$(stat -c %a:%U:%G /dev/i2octl)" = 660:root:nogroup ]'
check "a member of the group may use it" setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$IOPCTL" -d /dev/i2octl list
check "the usbmon node gets the same owner and mode" sh -c '[ "$(stat -c %a:%G /dev/usbmon/0u)" = 660:nogroup ]'
check "SIGTERM stops it" stop_iopd

# Several IOPs from a configuration file; one that never answers.
cfg=/tmp/iops.json
cat >"$cfg" <<'JSON'
{ "iops": [ { "unit": 2 }, { "unit": 9, "answers": false }, { "unit": 31 } ] }
JSON
check "iopd starts with --config" start_iopd --config "$cfg"
check "I2OGETIOPS lists 2, 9, 31" "$E2E/ctl-client" /dev/i2o/ctl getiops 2 9 31
check "I2OVALIDATE on a silent IOP is ETIMEDOUT" "$E2E/ctl-client" /dev/i2o/ctl validate 9 ETIMEDOUT
kill -INT "$IOPD_PID"
check "SIGINT stops iopd too" wait_gone /dev/i2o/ctl
wait "$IOPD_PID"; check "exit status 0 after SIGINT" test $? -eq 0
IOPD_PID=

# Without CUSE the daemon says how to fix it.
check "a missing /dev/cuse is explained" sh -c "
    ! '$IOPD' -f --cuse /nonexistent/cuse 2>/tmp/err.txt && grep -q 'modprobe cuse' /tmp/err.txt"
e2e_finish
