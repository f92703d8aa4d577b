#!/bin/sh
# iopd's URBs as pcap, against the kernel's usbmon for the same URBs (golden).  The
# kernel's usbmon sees every URB iopd submits through usbfs, so a capture of the
# kernel's /dev/usbmon0 (dumpcap, through libpcap's mmap path) and one of iopd's
# binary node must agree record for record, URB ids and times aside: transfer type,
# endpoint, device, bus, status, lengths, setup packet, flags, interval, isochronous
# descriptors, the data bytes, and which records belong to one URB.  The traffic is
# the text golden test's (usbmon-traffic.sh): control IN and OUT (with and without
# data), bulk OUT and IN of 200 bytes, a stall, interrupt IN unlinked by a signal, and
# isochronous OUT to QEMU's usb-audio.  One field differs by design, as in the text
# test: an ISO completion's start frame, which usbfs never returns to its user.
#
# 1. The kernel's usbmon loaded: iopd's nodes are /dev/iopd/usbmonN; iopctl capture
#    writes DLT_USB_LINUX_MMAPPED; compared with dumpcap on the kernel's node, field by
#    field as tshark decodes them and byte by byte.
# 2. usbmon unloaded: iopd's nodes are /dev/usbmonN; tcpdump -i usbmonN captures
#    through libpcap (which cannot map iopd's node and falls back to MON_IOCX_GET:
#    DLT_USB_LINUX); tshark decodes it, and it equals the kernel's capture of phase 1
#    in every field that link type has.  And iopctl capture -w - into tshark -r -, as
#    into Wireshark's "-k -i -".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gadget.sh"
. "$(dirname "$0")/usbmon-traffic.sh"
e2e_init "$@"
rm -rf "$STATE"/*
CAPS=
trap 'for p in $CAPS; do kill $p 2>/dev/null; done; remove_gadget; [ -n "$UDEVD_PID" ] && kill $UDEVD_PID; e2e_cleanup' EXIT

check "udevd runs" start_udevd
check "Loopback gadget bound" make_gadget
usbmon_devices
check "iopd starts" start_iopd --config /tmp/usb.json
usbmon_endpoints

# The records of our three devices, as tshark decodes them (one line each, ids and
# times left out; the start frame is compared in python, where an ISO completion's
# is masked), and byte for byte from the file (python).
FIELDS="frame.len frame.cap_len usb.urb_type usb.transfer_type usb.endpoint_address usb.device_address usb.bus_id
usb.setup_flag usb.data_flag usb.urb_status usb.urb_len usb.data_len usb.bmRequestType usb.setup.bRequest
usb.setup.wValue usb.setup.wIndex usb.setup.wLength usb.interval usb.copy_of_transfer_flags
usb.iso.error_count usb.iso.numdesc usb.iso.iso_status usb.iso.iso_off usb.iso.iso_len usb.capdata"
MINE="(usb.bus_id == $GBUS && usb.device_address == $GDEV) || (usb.bus_id == $KBUS && usb.device_address == $KDEV) ||
      (usb.bus_id == $ABUS && usb.device_address == $ADEV)"
DEVS="$GBUS:$GDEV $KBUS:$KDEV $ABUS:$ADEV"
decode() { # FILE FIELD...
    f=$1; shift
    args=
    for x in "$@"; do args="$args -e $x"; done
    # shellcheck disable=SC2086
    tshark -r "$f" -Y "$MINE" -T fields -E separator='|' $args 2>/dev/null
}
cat >/tmp/records.py <<'PY'
import struct, sys
# pcap records of the given bus:dev pairs: header fields but id and time, the payload,
# and the URB each record belongs to (numbered in order of appearance).
def records(path, devs):
    d = open(path, "rb").read()
    magic, _, _, _, _, snap, link = struct.unpack_from("<IHHiIII", d, 0)
    assert magic == 0xa1b2c3d4, "not a little-endian microsecond pcap"
    hlen = {220: 64, 189: 48}[link]
    out, ids, at = [], {}, 24
    while at < len(d):
        _, _, incl, orig = struct.unpack_from("<IIII", d, at)
        r = d[at + 16:at + 16 + incl]
        at += 16 + incl
        (urb_id, typ, xfer, ep, dev, bus, fs, fd, _, _, status, len_urb, len_cap, setup) = \
            struct.unpack_from("<QBBBBHbbqiiII8s", r, 0)
        if "%d:%d" % (bus, dev) not in devs:
            continue
        # Which earlier record is this one's submit: the latest unanswered S of the same
        # id (usbfs reuses freed URBs, so an id alone does not tell transfers apart).
        n = len(out)
        if chr(typ) == "S":
            ids[urb_id] = n
            urb = n
        else:
            urb = ids.pop(urb_id, -1)
        rec = dict(link=link, type=chr(typ), xfer=xfer, ep=ep, dev=dev, bus=bus, flag_setup=fs,
                   flag_data=fd, status=status, len_urb=len_urb, len_cap=len_cap, incl=incl, orig=orig,
                   setup=setup.hex() if fs == 0 else "", urb=urb)
        if hlen == 64:
            rec["interval"], rec["start_frame"], rec["xfer_flags"], rec["ndesc"] = struct.unpack_from("<iiII", r, 48)
            # An ISO completion's start frame: the HCD's, which usbfs never gives back.
            if xfer == 0 and chr(typ) == "C":
                rec["start_frame"] = "*"
        # After the header: the ISO descriptors (ndesc of 16 bytes), then the data.
        rec["payload"] = r[hlen:].hex()
        out.append(rec)
    return out
PY

# ---- 1: beside the kernel's usbmon ----
check "the kernel's usbmon is loaded: /dev/usbmon0 is its" test -c /dev/usbmon0
check "iopd's all-buses node is /dev/iopd/usbmon0" wait_for /dev/iopd/usbmon0
dumpcap -q -P -i usbmon0 -w /tmp/k.pcap >/tmp/dumpcap.log 2>&1 &
KCAP=$!
"$IOPCTL" capture --bus 0 -w /tmp/i.pcap 2>/tmp/icap.log &
ICAP=$!
CAPS="$KCAP $ICAP"
sleep 3
usbmon_traffic
sleep 1
kill -INT $KCAP; kill -TERM $ICAP
wait $KCAP; wait $ICAP
ist=$?
CAPS=
check "iopctl capture ended cleanly on SIGTERM" test "$ist" -eq 0
check "iopctl capture wrote DLT_USB_LINUX_MMAPPED (220)" sh -c "python3 -c '
import struct; print(struct.unpack_from(\"<I\", open(\"/tmp/i.pcap\",\"rb\").read(), 20)[0])' | grep -qx 220"
check "dumpcap on the kernel's node did too (libpcap's mmap path)" sh -c "python3 -c '
import struct; print(struct.unpack_from(\"<I\", open(\"/tmp/k.pcap\",\"rb\").read(), 20)[0])' | grep -qx 220"
# shellcheck disable=SC2086
decode /tmp/k.pcap $FIELDS >/tmp/k.fields
# shellcheck disable=SC2086
decode /tmp/i.pcap $FIELDS >/tmp/i.fields
tshark_same() { # A B
    echo "    kernel: $(wc -l <"$1") records, iopd: $(wc -l <"$2") records of $GD, $KBD and $AUD"
    [ -s "$1" ] && diff -u "$1" "$2"
}
check "tshark: every record of iopctl's capture equals the kernel's (usb.* fields)" tshark_same /tmp/k.fields /tmp/i.fields
cat >/tmp/cmp.py <<'PY'
import sys
sys.path.insert(0, "/tmp")
from records import records
devs = sys.argv[3:]
k, i = records(sys.argv[1], devs), records(sys.argv[2], devs)
keys = [x for x in k[0] if x != "link"] if k else []
if i and i[0]["link"] != k[0]["link"]:
    keys = [x for x in keys if x in ("type", "xfer", "ep", "dev", "bus", "flag_setup", "flag_data", "status",
                                     "len_urb", "len_cap", "setup", "urb", "payload")]
bad = 0
for n, (a, b) in enumerate(zip(k, i)):
    for x in keys:
        if a[x] != b[x]:
            bad += 1
            print("    record %d: %s: kernel %r, iopd %r" % (n, x, a[x], b[x]))
if len(k) != len(i) or not k:
    bad += 1
    print("    record counts: kernel %d, iopd %d" % (len(k), len(i)))
kinds = sorted(set("%s%d/%d" % (r["type"], r["xfer"], r["status"]) for r in i))
print("    %d records compared on %s; kinds %s" % (len(i), ",".join(keys), " ".join(kinds)))
sys.exit(1 if bad else 0)
PY
# shellcheck disable=SC2086
check "byte for byte: headers, setup, flags, lengths, ISO descriptors, data, URB pairing" \
    python3 /tmp/cmp.py /tmp/k.pcap /tmp/i.pcap $DEVS
check "the capture has the stall (-32), the unlink (-2), bulk data past 32 bytes, ISO with descriptors" sh -c "
    grep -q '|-32|' /tmp/i.fields && grep -q '|-2|' /tmp/i.fields &&
    grep -q '|200|200|' /tmp/i.fields &&
    grep -q \"^[0-9]*|[0-9]*|'S'|0x00|0x01|$ADEV|$ABUS|.*|8,8|-18,-18,-18,-18,-18,-18,-18,-18|0,192,384,\" /tmp/i.fields"
check "iopctl capture without -w: one line per event" sh -c "
    \"$IOPCTL\" capture --bus $GBUS --count 2 >/tmp/lines.txt &
    c=\$!; sleep 2; \"$IOPCTL\" usb control \"$GD\" 0x80 6 0x0100 0 18 >/dev/null; wait \$c &&
    cat /tmp/lines.txt | sed 's/^/    /' && [ \$(wc -l </tmp/lines.txt) -eq 2 ] &&
    grep -q ' S Ci:$GBUS:0*$GDEV:0 s 80 06 0100 0000 0012 18 <\$' /tmp/lines.txt &&
    grep -q ' C Ci:$GBUS:0*$GDEV:0 0 18 = 12010002 ' /tmp/lines.txt"
# Writing a file with standard error on a terminal: progress there (script(1) gives
# the command a terminal); --duration ends it.
check "iopctl capture -w FILE on a terminal: progress on stderr, --duration ends it" sh -c "
    script -qec '\"$IOPCTL\" capture --bus $GBUS --duration 3 -w /tmp/d.pcap' /tmp/typescript >/dev/null &
    c=\$!; sleep 1; \"$IOPCTL\" usb control \"$GD\" 0x80 6 0x0100 0 18 >/dev/null; wait \$c &&
    tr '\\r' '\\n' </tmp/typescript | grep -q '^2 events, [0-9]* bytes, 0 dropped\$' &&
    [ \$(python3 -c 'import os; print(os.path.getsize(\"/tmp/d.pcap\"))') -gt 24 ]"
check "SIGTERM" stop_iopd

# ---- 2: without the kernel's usbmon: tcpdump opens iopd's node ----
check "rmmod usbmon" rmmod usbmon
check "the kernel's /dev/usbmon0 is gone" wait_gone /dev/usbmon0
check "iopd starts again" start_iopd --config /tmp/usb.json
check "iopd's all-buses node is /dev/usbmon0 now" wait_for /dev/usbmon0
check "... and it says so" grep -q "bus $GBUS: binary node /dev/usbmon$GBUS (tcpdump -i usbmon$GBUS)" "$IOPD_LOG"
check "tcpdump -D lists it" sh -c "tcpdump -D | grep -q 'usbmon$GBUS '"
tcpdump -i usbmon0 -U -w /tmp/t.pcap >/tmp/tcpdump.log 2>&1 &
TCAP=$!
CAPS=$TCAP
sleep 3
usbmon_traffic
sleep 1
kill -INT $TCAP; wait $TCAP
CAPS=
sed 's/^/    /' /tmp/tcpdump.log
check "tcpdump read iopd's node through MON_IOCX_GET (link type USB_LINUX: no mmap)" \
    grep -q 'link-type USB_LINUX (USB with Linux header)' /tmp/tcpdump.log
check "tcpdump: nothing dropped (MON_IOCG_STATS)" grep -q '^0 packets dropped by kernel' /tmp/tcpdump.log
FIELDS48="frame.len frame.cap_len usb.urb_type usb.transfer_type usb.endpoint_address usb.device_address usb.bus_id
usb.setup_flag usb.data_flag usb.urb_status usb.urb_len usb.data_len usb.bmRequestType usb.setup.bRequest
usb.setup.wValue usb.setup.wIndex usb.setup.wLength usb.capdata"
# The frame lengths differ by the header sizes; the kernel's fields are the USB_LINUX
# ones of its phase-1 decode (FIELDS48 are FIELDS 1-17 and 25).  An ISO record's
# descriptors are data to the 48-byte link type (no field for them): its data is
# compared byte for byte below instead.
noiso() { awk -F'|' 'BEGIN { OFS = "|" } $2 == "0x00" { $NF = "(iso)" } { print }'; }
# shellcheck disable=SC2086
decode /tmp/t.pcap $FIELDS48 | cut -d'|' -f3- | noiso >/tmp/t.fields
cut -d'|' -f3-17,25 /tmp/k.fields | noiso >/tmp/k48.fields
check "tshark: tcpdump's capture of iopd equals the kernel's in every USB_LINUX field" tshark_same /tmp/k48.fields /tmp/t.fields
# shellcheck disable=SC2086
check "byte for byte: the 48-byte headers and what follows (ISO descriptors, data)" \
    python3 /tmp/cmp.py /tmp/k.pcap /tmp/t.pcap $DEVS
check "iopctl capture -w - | tshark -r - (as into wireshark -k -i -)" sh -c "
    \"$IOPCTL\" capture --bus $GBUS --count 2 -w - 2>/dev/null | tshark -r - -T fields -e usb.urb_type 2>/dev/null >/tmp/pipe.txt &
    p=\$!; sleep 3; \"$IOPCTL\" usb control \"$GD\" 0x80 6 0x0100 0 18 >/dev/null; wait \$p;
    [ \"\$(tr '\n' ' ' </tmp/pipe.txt)\" = \"'S' 'C' \" ]"
check "SIGTERM" stop_iopd
e2e_finish
