#!/bin/sh
# The binary usbmon nodes' ABI against the kernel's own.  The same client
# (usbmon-bin-client, native and 32-bit) runs the same script of calls -- every ioctl
# with good, bad and hostile arguments, tiny reads, waits ended by an event and by a
# signal, an overflowing 8 KiB ring -- on the kernel's /dev/usbmonN and on iopd's node
# for the same bus, with the same traffic (iopd's URBs, which the kernel's usbmon sees
# through usbfs), and the two outputs must be equal line for line but the lines marked
# "~" (mmap: CUSE has none).  Also: where the nodes are and who may open them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gadget.sh"
e2e_init "$@"
rm -rf "$STATE"/*
trap 'remove_gadget; [ -n "$UDEVD_PID" ] && kill $UDEVD_PID; e2e_cleanup' EXIT
C64=$E2E/usbmon-bin-client
C32=$E2E/usbmon-bin-client32
[ -x "$C32" ] || echo "note: $C32 was not built (no -m32 toolchain: apt-get install gcc-multilib)"

check "udevd runs" start_udevd
check "Loopback gadget bound" make_gadget
GD=$(gadget_bus_dev); GBUS=${GD%%:*}
cat >/tmp/usb.json <<JSON
{ "iops": [ { "unit": 0, "devices": [ { "tid": 12, "class": "bus-adapter", "usb": true } ] } ],
  "nodes": { "group": "disk", "mode": "0640" },
  "usb": { "claim": [ { "device": "$GADGET_VIDPID" } ] } }
JSON
check "the kernel's usbmon has /dev/usbmon$GBUS" test -c "/dev/usbmon$GBUS"
check "iopd starts" start_iopd --config /tmp/usb.json
check "iopd says where the binary nodes are: not /dev/usbmonN (taken), /dev/iopd/usbmonN" sh -c "
    grep -q 'bus 0: binary node /dev/iopd/usbmon0 (/dev/usbmon0 exists' '$IOPD_LOG' &&
    grep -q 'bus $GBUS: binary node /dev/iopd/usbmon$GBUS ' '$IOPD_LOG'"
check "iopd's binary nodes: owner and mode as the other nodes" sh -c "
    wait_for() { n=50; while [ \$n -gt 0 ]; do [ -e \"\$1\" ] && return 0; sleep 0.1; n=\$((n-1)); done; return 1; }
    wait_for /dev/iopd/usbmon$GBUS && sleep 0.5 &&
    [ \"\$(stat -c '%U:%G %a' /dev/iopd/usbmon0)\" = 'root:disk 640' ] &&
    [ \"\$(stat -c '%U:%G %a' /dev/iopd/usbmon$GBUS)\" = 'root:disk 640' ] &&
    [ \"\$(stat -c '%U:%G %a' /dev/i2o/ctl)\" = 'root:disk 640' ]"

bulk_eps "$(gadget_tids)"
BULK=$(python3 -c 'print(bytes(i % 251 for i in range(4096)).hex())')
cat >/tmp/traffic.sh <<SH
#!/bin/sh
# The URBs the client asks for, through iopd (and so through usbfs, which the
# kernel's usbmon sees).
case \$1 in
    control) "$IOPCTL" usb control "$GD" 0x80 6 0x0100 0 18 ;;
    bulk) for i in 1 2 3 4 5 6; do "$IOPCTL" usb bulk "$GD" "$EP_OUT" --data "$BULK" || exit 1; done ;;
esac
SH
chmod +x /tmp/traffic.sh

compare() { # NAME CLIENT
    "$2" "/dev/usbmon$GBUS" /tmp/traffic.sh >"/tmp/k.$1" 2>&1
    "$2" "/dev/iopd/usbmon$GBUS" /tmp/traffic.sh >"/tmp/i.$1" 2>&1
    grep -v '^~' "/tmp/k.$1" >"/tmp/k.$1.cmp"
    grep -v '^~' "/tmp/i.$1" >"/tmp/i.$1.cmp"
    if ! diff -u "/tmp/k.$1.cmp" "/tmp/i.$1.cmp"; then
        echo "    (kernel's lines first, iopd's second; iopd's whole output:)"
        sed 's/^/    /' "/tmp/i.$1"
        return 1
    fi
    echo "    $(wc -l <"/tmp/i.$1.cmp") lines equal"
}
check "64-bit client: iopd's node answers every call as the kernel's does" compare 64 "$C64"
# Equal output could still be equally wrong: the facts the kernel's mon_bin.c gives.
check "... and that is the kernel's ABI (limits, EFAULT, EINVAL, EINTR, drops, records)" sh -c "
    grep -qx 'set ring 8193: 0' /tmp/i.64 && grep -qx 'ring size: 12288' /tmp/i.64 &&
    grep -qx 'ring size: 1232896' /tmp/i.64 && grep -qx 'set ring 67108865: EINVAL' /tmp/i.64 &&
    grep -qx 'ring size: 67108864' /tmp/i.64 && grep -qx 'stats NULL: EFAULT' /tmp/i.64 &&
    grep -qx 'get alloc 0x10000001: EINVAL' /tmp/i.64 && grep -qx 'get, hdr NULL: EFAULT' /tmp/i.64 &&
    grep -qx 'stats after faults: 2' /tmp/i.64 && grep -qx 'get, blocking, signal: EINTR' /tmp/i.64 &&
    grep -qx 'read rest: 18' /tmp/i.64 && grep -qx 'stats: queued 10 dropped 2' /tmp/i.64 &&
    grep -qx 'stats: queued 10 dropped 0' /tmp/i.64 && grep -qx 'unknown command: ENOTTY' /tmp/i.64 &&
    grep -q '^C data: 12 01 ' /tmp/i.64 && grep -q '^bulk S: type S xfer 3 .* len_urb 4096 len_cap 1638' /tmp/i.64"
check "mmap is refused (ENODEV), as libpcap's fallback expects" grep -qx '~mmap: ENODEV' /tmp/i.64
if [ -x "$C32" ]; then
    check "the 32-bit client really is 32-bit" sh -c "od -An -tx1 -j4 -N1 '$C32' | grep -q 01"
    check "32-bit client (compat ioctls): iopd's node answers as the kernel's does" compare 32 "$C32"
    check "... with the 32-bit layout (no alloc limit, its own command numbers)" sh -c "
        grep -qx 'width: 32-bit' /tmp/i.32 && grep -qx 'get alloc 0x10000001: EAGAIN' /tmp/i.32 &&
        grep -qx 'the other width'\"'\"'s GET: ENOTTY' /tmp/i.32 && grep -qx 'stats: queued 10 dropped 2' /tmp/i.32"
else
    not_ok "32-bit client: not built"
fi
check "SIGTERM" stop_iopd
e2e_finish
