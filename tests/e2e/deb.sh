#!/bin/sh
# The Debian packages under a real systemd (tests/vm/run --systemd, started by
# tests/e2e/deb-run, which built them into BUILD/deb): apt installs them (service
# enabled and running, cuse loaded, nodes present, iopctl works, its capture writes
# pcap through libpcap), the cuse module is loaded at boot through modules-load.d,
# /etc/iopd/iopd.json is applied by systemctl
# reload, an upgrade to a higher version keeps configuration and state and restarts
# the daemon exactly once, apt remove stops it cleanly and keeps configuration and
# state, apt purge deletes them.  The root is a writable overlay over the host's, so
# dpkg works here and the host's libraries satisfy the dependencies.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

DEB=$(cd "$BUILD/deb" && pwd)
arch=$(dpkg --print-architecture)
old_iopd=$(ls "$DEB"/iopd_*_"$arch".deb)
old_iopctl=$(ls "$DEB"/iopctl_*_"$arch".deb)
new_iopd=$(ls "$DEB"/next/iopd_*_"$arch".deb)
new_version=$(dpkg-deb -f "$new_iopd" Version)
export DEBIAN_FRONTEND=noninteractive
# The guest boots the host's root, which may be a container image: Docker's
# policy-rc.d ("exit 101") would refuse the service starts a booted Debian allows.  It
# goes, from this VM's overlay only.
rm -f /usr/sbin/policy-rc.d
# The VM has no network and the host's packages satisfy the dependencies, so apt
# resolves them against the installed system alone instead of reading the host's
# package lists first (tens of seconds per apt run under TCG); and man-db's trigger
# does not rebuild its index after each run (its own setting, man-db/auto-update).
mkdir -p /tmp/apt-lists/partial
rm -f /var/lib/man-db/auto-update
# apt-get, its output kept in /tmp/apt.log and shown when it fails.
apt() {
    echo "--- apt-get $*" >>/tmp/apt.log
    apt-get -y -q -o Dpkg::Use-Pty=0 --no-install-recommends -o Dir::State::Lists=/tmp/apt-lists \
        -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= "$@" >>/tmp/apt.log 2>&1 && return 0
    st=$?
    tail -n 40 /tmp/apt.log
    return $st
}
# must DESCRIPTION COMMAND...: a check that what follows depends on; stop if it fails.
must() {
    fails=$E2E_FAILS
    check "$@"
    [ "$E2E_FAILS" -eq "$fails" ] && return 0
    echo "stopping here: the remaining checks depend on this one"
    phase "end"
e2e_finish
    exit 1
}
# unit_prop PROPERTY: the property of iopd.service as systemctl shows it.
unit_prop() { systemctl show -p "$1" --value iopd.service; }
# journal_mark: a cursor; journal_after CURSOR MATCH...: the messages after it.
journal_mark() { journalctl -q -n 1 -o export | sed -n 's/^__CURSOR=//p'; }
journal_after() { c=$1; shift; journalctl --sync; journalctl -q --after-cursor="$c" -o cat "$@"; }
# unit_messages CURSOR MESSAGE_ID: how many of systemd's messages of that kind about
# iopd.service came after the cursor.
unit_messages() {
    journalctl --sync
    journalctl -q --after-cursor="$1" -o export UNIT=iopd.service | grep -cx "MESSAGE_ID=$2"
}
# phase NAME: a heading with the seconds since the start (where the time goes).
t0=$(date +%s)
phase() { echo "--- $1 (at $(( $(date +%s) - t0 ))s)"; }
# systemd's catalogue message ids (sd-messages.h): a start job done, a stop job done,
# a unit deactivated successfully, a unit failed.
MSG_STARTED=39f53479d3a045ac8e11786248231fbf
MSG_STOPPED=9d1aaa27d60140bd96365438aad20286
MSG_SUCCESS=7ad2d189f7e94e70a38c781354912448
MSG_FAILURE=d9b373ed55a64feb8242e02dbe79a49c
# sw_files: the software store's files in the state directory (names and contents).
sw_files() { (cd /var/lib/iopd && find . -name 'sw*' -type f | sort | xargs -r md5sum); }

must "iopd is not installed before the test" sh -c '! dpkg -s iopd >/dev/null 2>&1 && [ ! -e /usr/sbin/iopd ]'
# The VM's initramfs loaded cuse; unload it so that installing must load it.
[ -e /sys/module/cuse ] && rmmod cuse
check "cuse is not loaded before the install" test ! -e /dev/cuse

# --- install
phase "install"
must "apt install ./iopd_*.deb ./iopctl_*.deb" apt install "$old_iopd" "$old_iopctl"
check "both packages are installed" sh -c "dpkg -s iopd iopctl | grep -c '^Status: install ok installed' | grep -qx 2"
check "the postinst loaded cuse" test -c /dev/cuse
check "the service is enabled" sh -c '[ "$(systemctl is-enabled iopd)" = enabled ] && test -L /etc/systemd/system/multi-user.target.wants/iopd.service'
must "the service is running" sh -c '[ "$(systemctl is-active iopd)" = active ]'
check "it runs the packaged daemon" test "$(readlink "/proc/$(unit_prop MainPID)/exe")" = /usr/sbin/iopd
check "/dev/i2o/ctl exists" test -c /dev/i2o/ctl
check "/dev/usbmon/0u exists" test -c /dev/usbmon/0u
check "so does the alias /dev/i2octl" test -c /dev/i2octl
check "iopctl list works as root" test "$(/usr/bin/iopctl --json list)" = '{"iops":[0]}'
check "the built-in configuration is in effect" sh -c "[ ! -e /etc/iopd/iopd.json ] && journalctl -u iopd --no-pager -o cat | grep -q 'ready: .*(configuration <built-in>)'"
check "the example configuration is a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' iopd | grep -q ' /etc/iopd/iopd.json.example '"
check "the example is the built-in configuration" sh -c '/usr/sbin/iopd --dump-default-config | cmp -s - /etc/iopd/iopd.json.example'
check "the example is a valid configuration" /usr/sbin/iopd --check-config --config /etc/iopd/iopd.json.example
check "the state directory exists, 0700" sh -c '[ "$(stat -c %a /var/lib/iopd)" = 700 ]'
check "modules-load.d names cuse" sh -c 'grep -qx cuse /usr/lib/modules-load.d/iopd.conf'
# Every program the unit runs is iopd's own or comes from a package iopd depends on.
deps=$(dpkg-query -W -f='${Depends}' iopd | tr -d ' ' | tr ',|' '\n\n' | sed 's/(.*//')
for prog in $(sed -n 's/^Exec[A-Za-z]*=[-@!+:]*\([^ ]*\).*/\1/p' /lib/systemd/system/iopd.service | sort -u); do
    pkg=$(dpkg -S "$prog" 2>/dev/null | sed -n 's/^\([^:]*\):.*/\1/p' | head -n 1)
    check "the unit runs $prog, which is iopd's or a dependency's (${pkg:-no package})" \
        sh -c "[ '$pkg' = iopd ] || printf '%s\n' '$deps' | grep -qx '$pkg'"
done
check "the man pages are installed" test -f /usr/share/man/man8/iopd.8.gz -a -f /usr/share/man/man1/iopctl.1.gz
# The binary usbmon node for all buses (/dev/usbmon0, or /dev/iopd/usbmon0 beside the
# kernel's usbmon: the journal names it) and iopctl capture, linked with libpcap.
node=$(journalctl -u iopd --no-pager -o cat | sed -n 's|.*usbmon: bus 0: binary node \(/dev/[^ ]*\) .*|\1|p' | tail -n 1)
check "the binary usbmon node for all buses is there (${node:-not in the journal})" test -c "${node:-/nonexistent}"
check "iopctl depends on libpcap (shlibs)" sh -c "dpkg-query -W -f='\${Depends}' iopctl | grep -q 'libpcap0\.8'"
check "the packaged iopctl capture writes a DLT_USB_LINUX_MMAPPED pcap file" sh -c '
    /usr/bin/iopctl capture --bus 0 --duration 1 -w /tmp/cap.pcap 2>/dev/null &&
    python3 -c "import struct, sys; d = open(\"/tmp/cap.pcap\", \"rb\").read(24); sys.exit(struct.unpack(\"<IHHiIII\", d)[6] != 220)"'

# --- at boot: systemd-modules-load loads cuse (run again here, without cuse loaded)
phase "at boot"
systemctl stop iopd
rmmod cuse
check "cuse unloaded" test ! -e /dev/cuse
check "systemd-modules-load loads cuse from iopd.conf" sh -c 'systemctl restart systemd-modules-load.service && test -c /dev/cuse'
check "the service starts again" systemctl start iopd

# --- configuration: /etc/iopd/iopd.json and systemctl reload
phase "configuration"
pid=$(unit_prop MainPID)
cat >/etc/iopd/iopd.json <<'JSON'
{ "iops": [ { "unit": 0 }, { "unit": 5, "product_id": "second" } ] }
JSON
cp /etc/iopd/iopd.json /tmp/iopd.json.mine
check "systemctl reload iopd" systemctl reload iopd
check "the edited configuration is applied" test "$(/usr/bin/iopctl --json list)" = '{"iops":[0,5]}'
check "by the same process" test "$(unit_prop MainPID)" = "$pid"

# --- state: a software module stored through the device
phase "state"
head -c 20000 /dev/urandom >/tmp/module.img
check "a module is stored (I2OSWDL)" /usr/bin/iopctl sw download 0 private 0x10001 /tmp/module.img
sw_files >/tmp/sw.before
check "the store is in /var/lib/iopd" test -s /tmp/sw.before

# --- upgrade to a higher version
phase "upgrade to a higher version"
pid=$(unit_prop MainPID)
inv=$(unit_prop InvocationID)
mark=$(journal_mark)
must "apt install the upgrade ($new_version)" apt install "$new_iopd"
check "iopd is at $new_version" test "$(dpkg-query -W -f='${Version}' iopd)" = "$new_version"
check "the service is running after the upgrade" sh -c '[ "$(systemctl is-active iopd)" = active ]'
check "a new process, a new invocation" test "$(unit_prop MainPID)" != "$pid" -a "$(unit_prop InvocationID)" != "$inv"
check "the old process is gone" sh -c "! kill -0 $pid 2>/dev/null"
stops=$(unit_messages "$mark" $MSG_STOPPED)
starts=$(unit_messages "$mark" $MSG_STARTED)
readies=$(journal_after "$mark" _SYSTEMD_UNIT=iopd.service | grep -c 'ready: ')
failures=$(unit_messages "$mark" $MSG_FAILURE)
check "restarted exactly once: one stop job ($stops)" test "$stops" -eq 1
check "restarted exactly once: one start job ($starts)" test "$starts" -eq 1
check "restarted exactly once: the daemon became ready once ($readies)" test "$readies" -eq 1
check "no failure ($failures), no automatic restart" test "$failures" -eq 0 -a "$(unit_prop NRestarts)" = 0
check "the configuration file is kept" cmp /etc/iopd/iopd.json /tmp/iopd.json.mine
check "and used by the new daemon" test "$(/usr/bin/iopctl --json list)" = '{"iops":[0,5]}'
check "the untouched example follows the new version" grep -q 'next version' /etc/iopd/iopd.json.example
check "without dpkg-old/dpkg-dist leftovers" sh -c '! ls /etc/iopd | grep -q dpkg'
sw_files >/tmp/sw.after
check "the state is kept" cmp -s /tmp/sw.after /tmp/sw.before
check "and served by the new daemon (I2OSWUL)" sh -c '/usr/bin/iopctl sw upload 0 private 0x10001 /tmp/module.back --size 20000 && cmp /tmp/module.img /tmp/module.back'

# --- apt remove: stopped cleanly, nodes gone, configuration and state kept
phase "apt remove"
pid=$(unit_prop MainPID)
mark=$(journal_mark)
must "apt remove iopd" apt remove iopd
check "iopd is removed, its configuration files remain" test "$(dpkg-query -W -f='${db:Status-Abbrev}' iopd)" = 'rc '
check "the daemon has exited" sh -c "! kill -0 $pid 2>/dev/null && [ \"\$(systemctl is-active iopd)\" != active ]"
successes=$(unit_messages "$mark" $MSG_SUCCESS)
failures=$(unit_messages "$mark" $MSG_FAILURE)
check "it was stopped cleanly (deactivated successfully $successes, failed $failures)" \
    test "$successes" -eq 1 -a "$failures" -eq 0
check "/dev/i2o/ctl is gone" test ! -e /dev/i2o/ctl
check "/dev/usbmon/0u is gone" test ! -e /dev/usbmon/0u
check "so is the binary node" test -n "$node" -a ! -e "$node"
check "/dev/i2octl is gone" test ! -e /dev/i2octl
check "the daemon and the unit are gone" test ! -e /usr/sbin/iopd -a ! -e /lib/systemd/system/iopd.service
sw_files >/tmp/sw.after
check "the state is kept" cmp -s /tmp/sw.after /tmp/sw.before
check "the configuration is kept" sh -c 'cmp /etc/iopd/iopd.json /tmp/iopd.json.mine && test -f /etc/iopd/iopd.json.example'
check "iopctl (still installed) finds no device" sh -c '/usr/bin/iopctl list 2>/dev/null; [ $? -eq 3 ]'

# --- apt purge: state and configuration gone (iopctl's purge goes along)
phase "apt purge"
must "apt purge iopd iopctl" apt purge iopd iopctl
check "iopd is purged" sh -c '! dpkg -s iopd >/dev/null 2>&1'
check "the state directory is gone" test ! -e /var/lib/iopd
check "/etc/iopd is gone" test ! -e /etc/iopd
check "no unit links or masks are left" sh -c '[ -z "$(find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked -name "iopd*" 2>/dev/null)" ]'
check "iopctl is purged" sh -c '! dpkg -s iopctl >/dev/null 2>&1 && [ ! -e /usr/bin/iopctl ]'
phase "end"
e2e_finish
