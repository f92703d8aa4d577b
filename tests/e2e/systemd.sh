#!/bin/sh
# iopd under a real systemd (tests/vm/run --systemd): Type=notify start leaves the
# node ready, reload applies a new configuration without dropping open descriptors
# and refuses a broken one, stop removes the node; the unit verifies cleanly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gadget.sh"
e2e_init "$@"
trap 'remove_gadget; e2e_cleanup' EXIT

unit=/etc/systemd/system/iopd.service
# The unit as installed, with this build's binary installed where meson would put it
# (the root is a writable overlay here; a build tree below /tmp would be hidden from
# the service by its PrivateTmp=yes).
install -m 0755 "$IOPD" /usr/local/sbin/iopd
sed -e "s|^ExecStart=.*|ExecStart=/usr/local/sbin/iopd --foreground|" \
    -e "s|^ExecReload=[^ ]*/iopd |ExecReload=/usr/local/sbin/iopd |" "$BUILD/systemd/iopd.service" >"$unit"
mkdir -p /etc/systemd/system/iopd.service.d
# Sanitizer settings reach the service.  LeakSanitizer cannot run inside the unit's
# sandbox (it stops the world with ptrace, which the system call filter refuses), so
# leak checking is off here; the other end-to-end tests run the same binary with it.
printf '[Service]\nEnvironment=ASAN_OPTIONS=%s:detect_leaks=0 UBSAN_OPTIONS=%s\n' "$ASAN_OPTIONS" "$UBSAN_OPTIONS" \
    >/etc/systemd/system/iopd.service.d/sanitizers.conf
systemctl daemon-reload

# Only the man pages are missing in a build tree (they are installed by meson install).
systemd-analyze verify "$unit" 2>&1 | grep -v "Command 'man iop" >/tmp/verify.txt
check "systemd-analyze verify is clean" test ! -s /tmp/verify.txt
cat /tmp/verify.txt
# Reload must work on a minimal system: no procps (kill, pkill) in the unit.
check "ExecReload is iopd --reload, no external kill" sh -c "
    grep -qx 'ExecReload=/usr/local/sbin/iopd --reload \\\$MAINPID' '$unit' && ! grep -q '/kill' '$unit'"
check "systemctl start iopd" systemctl start iopd
# Type=notify: start returns only after READY=1, i.e. after the node exists.
check "the node exists as soon as start returns" test -c /dev/i2o/ctl
check "so does /dev/usbmon/0u" test -c /dev/usbmon/0u
check "the service is active" sh -c '[ "$(systemctl is-active iopd)" = active ]'
# With udevd running too, the nodes end up as iopd makes them: root's, 0600, closed to
# other users (the kernel refuses their open()).
check "the nodes are 0600 root:root under the service" sh -c '
    for n in /dev/i2o/ctl /dev/usbmon/*; do [ "$(stat -c %a:%U:%G "$n")" = 600:root:root ] || exit 1; done'
for n in /dev/i2o/ctl /dev/usbmon/0u; do
    check "a non-root user gets EACCES from $n" sh -c "setpriv --reuid=nobody --regid=nogroup --clear-groups \
        sh -c 'exec 3<$n' 2>&1 | grep -q 'Permission denied'"
done
check "STATUS= says what it serves" sh -c "systemctl show -p StatusText --value iopd | grep -q 'Serving /dev/i2o/ctl with 1 IOP and the usbmon nodes'"
check "iopctl talks to it" sh -c "'$IOPCTL' list | grep -qx 0"
check "state directory created 0700" sh -c '[ "$(stat -c %a /var/lib/iopd)" = 700 ]'
# Hotplug inside the sandbox: the uevent socket (AF_NETLINK), opening the new device
# on the worker thread (clone3 under the system call filter), its usbfs node.
check "the kernel's uevents are allowed" sh -c "! journalctl -u iopd --no-pager | grep -q 'no kernel uevents'"
check "a gadget bound under the unit" make_gadget
check "becomes a TID" sh -c "n=300; until '$IOPCTL' lct 0 | grep -q '$GADGET_PRODUCT'; do n=\$((n - 1)); [ \$n -gt 0 ] || exit 1; sleep 0.1; done"
remove_gadget

# An open descriptor registered for events, held across the reloads.
python3 - <<'PY' &
import fcntl, struct, time, os
fd = os.open("/dev/i2o/ctl", os.O_RDWR)
I2OEVTREG = 0x400C690A
fcntl.ioctl(fd, I2OEVTREG, struct.pack("III", 0, 0, 0x20000000))
open("/tmp/holder.ready", "w").close()
while not os.path.exists("/tmp/holder.go"):
    time.sleep(0.1)
ev = os.read(fd, 104)
iop, tid, mask = struct.unpack_from("III", ev)
open("/tmp/holder.result", "w").write("%d %d 0x%x\n" % (iop, tid, mask))
PY
holder=$!
wait_for /tmp/holder.ready 100

mkdir -p /etc/iopd
cat >/etc/iopd/iopd.json <<'JSON'
{ "iops": [ { "unit": 0 }, { "unit": 5, "product_id": "second" } ] }
JSON
check "systemctl reload applies a new configuration" systemctl reload iopd
check "two IOPs after the reload" sh -c "[ \"\$('$IOPCTL' --json list)\" = '{\"iops\":[0,5]}' ]"
echo '{ "iops": [ { "unit": 99 } ] }' >/etc/iopd/iopd.json
# ExecReload waits for iopd's answer, so a refused configuration fails the reload.
check "systemctl reload fails for a broken configuration" sh -c '! systemctl reload iopd'
check "ExecReload said why" sh -c "journalctl -u iopd --no-pager | grep -q 'refused the new configuration and keeps the old one'"
check "a broken configuration is refused, the old one stays" sh -c "[ \"\$('$IOPCTL' --json list)\" = '{\"iops\":[0,5]}' ]"
check "the refusal is logged with the JSON path" sh -c "journalctl -u iopd --no-pager | grep -q 'iops\[0\].unit: expected an integer 0..31, got 99'"
check "still active after a refused reload" sh -c '[ "$(systemctl is-active iopd)" = active ]'
# The descriptor opened before both reloads still works and still gets its events.
"$IOPCTL" validate 0 >/dev/null
touch /tmp/holder.go
wait $holder
check "an fd opened before the reloads still receives events" sh -c 'grep -qx "0 0 0x20000000" /tmp/holder.result'

check "systemctl stop iopd" systemctl stop iopd
check "the node is removed on stop" wait_gone /dev/i2o/ctl 50
check "and /dev/usbmon/0u" test ! -e /dev/usbmon/0u
check "stopped cleanly (no failure recorded)" sh -c '[ "$(systemctl show -p Result --value iopd)" = success ]'
echo "--- systemd-analyze security iopd"
systemd-analyze security --no-pager iopd 2>&1 | tail -n 3
e2e_finish
