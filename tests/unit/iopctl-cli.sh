#!/bin/sh
# iopctl's command line on the host (no iopd needed): what it sends, or refuses before
# sending, for numbers, lengths and data given on its command line.  The device is /dev/null, so a request that
# is sent fails with ENOTTY (status 1); a refusal is status 2 (usage) or 1 with EFBIG.
# With iopctl-spy (an LD_PRELOAD ioctl), the fields iopctl puts in a struct and its
# handling of what a driver answers are checked too.
# Usage: iopctl-cli.sh PATH-TO-IOPCTL [PATH-TO-IOPCTL-SPY]
iopctl=${1:?usage: $0 IOPCTL [SPY]}
spy=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
expect() { # expect STATUS PATTERN ARGS...: iopctl -d /dev/null ARGS exits STATUS, says PATTERN
    want=$1 pattern=$2
    shift 2
    "$iopctl" -d /dev/null "$@" >"$tmp/out" 2>&1
    got=$?
    if [ "$got" -eq "$want" ] && grep -q -- "$pattern" "$tmp/out"; then
        echo "ok   iopctl $* -> $got"
    else
        echo "FAIL iopctl $* -> $got, want $want and '$pattern':"
        cat "$tmp/out"
        fails=$((fails + 1))
    fi
}
# An SG element's byte count is 24 bits: 16 MiB would go out as a count of 0 with a
# stray flag bit (the IOP would move nothing, and iopctl print 16 MiB of zeros).
expect 2 "at most 16777215 bytes" passthru 0 0x00a 0x30 0 512 0 0 --from-iop 16777216
expect 1 "Inappropriate ioctl" passthru 0 0x00a 0x30 0 512 0 0 --from-iop 16777215
expect 2 "at most 16777215 bytes" scsi 0 0x00a 0x08 0 0 0 1 0 --in 16777216
expect 1 "Inappropriate ioctl" scsi 0 0x00a 0x08 0 0 0 1 0 --in 16777215
head -c 16777216 /dev/zero >"$tmp/16m"
head -c 16777215 /dev/zero >"$tmp/16m-1"
expect 1 "File too large" passthru 0 0x00a 0x31 0 512 0 0 --to-iop "$tmp/16m"
expect 1 "Inappropriate ioctl" passthru 0 0x00a 0x31 0 512 0 0 --to-iop "$tmp/16m-1"
expect 1 "File too large" scsi 0 0x00a 0x0a 0 0 0 1 0 --data-out "$tmp/16m"
expect 1 "Inappropriate ioctl" scsi 0 0x00a 0x0a 0 0 0 1 0 --data-out "$tmp/16m-1"
# sw: the fragment count of a size near 4 GiB wrapped to 0: nothing was sent, and iopctl
# said "downloaded"/"uploaded" with exit 0.  The first fragment must go out.
truncate -s 4294967295 "$tmp/4g-1"
expect 1 "Inappropriate ioctl" sw download 0 irtos 1 "$tmp/4g-1"
expect 1 "Inappropriate ioctl" sw upload 0 irtos 1 "$tmp/up" --size 4294967295
# passthru: the SGL offset has 4 bits, so an SG element after 12 payload words went out
# with offset 0 and a message flag set (the IOP saw no SG element).
expect 2 "at most 11 payload words" passthru 0 0x00a 0x30 0 0 0 0 0 0 0 0 0 0 0 0 --from-iop 512
expect 1 "Inappropriate ioctl" passthru 0 0x00a 0x30 0 0 0 0 0 0 0 0 0 0 0 --from-iop 512
expect 1 "Inappropriate ioctl" passthru 0 0x00a 0x30 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
# usb iso: PACKETS x PACKET_LENGTH beyond the 120 KiB data buffer (64 x 3072) was sent,
# the IOP to write past iopctl's buffer.
expect 2 "at most 122880 bytes" usb iso 1 0x81 64 3072
expect 1 "Inappropriate ioctl" usb iso 1 0x81 40 3072
# usb --data: each byte is two hex digits; strtoul took "-1" for 0xff and " 1" for 0x01.
expect 2 "hex bytes" usb bulk 1 0x02 --data 00-1
expect 2 "hex bytes" usb bulk 1 0x02 --data "00 1"
expect 1 "Inappropriate ioctl" usb bulk 1 0x02 --data 00fFa9
# usb control: an OUT request with a LENGTH and no --data sent LENGTH zeros; --data on
# an IN request (control or endpoint) was ignored.  Both are refused before the device lookup.
expect 2 "OUT request with a LENGTH takes --data" usb control 1 0x40 0x01 0 0 4
expect 1 "Inappropriate ioctl" usb control 1 0x40 0x01 0 0 0
expect 1 "Inappropriate ioctl" usb control 1 0x40 0x01 0 0 2 --data 0102
expect 2 "for OUT transfers" usb control 1 0xc0 0x01 0 0 2 --data 0102
expect 2 "for OUT transfers" usb bulk 1 0x81 64 --data 0102
expect 1 "Inappropriate ioctl" usb control 1 0xc0 0x01 0 0 2
# Numbers are decimal or 0x hex (iopctl(1)): strtoull's base 0 read 0377 as octal 255,
# sent as a CDB byte, and refused 08.
expect 1 "Inappropriate ioctl" passthru 0 0x00a 0x30 08
expect 2 "usage: iopctl scsi" scsi 0 0x00a 0x12 0 0 0 0377 0
expect 1 "Inappropriate ioctl" scsi 0 0x00a 0x12 0 0 0 0xfF 0
# --help's capture line left out --snaplen and --device, which capture takes.
expect 0 "capture .*--snaplen N.*--device PATH.*-w FILE" --help
if [ -n "$spy" ]; then
    # ASan wants to be the first library loaded; the spy comes before it.
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
    spied() { LD_PRELOAD="$spy" expect "$@"; }
    # sw upload and delete dropped --flags: the kernel's I2OSWUL and I2OSWDEL put them
    # in the message.
    spied 1 "sw flags 0x5a" sw upload 0 irtos 1 "$tmp/up" --size 10 --flags 0x5a
    spied 1 "sw flags 0x5a" sw delete 0 irtos 1 --flags 0x5a
    spied 1 "sw flags 0x5a" sw download 0 irtos 1 "$tmp/16m-1" --flags 0x5a
    # html: a driver's success with *reslen past the buffer made iopctl write
    # buf[reslen] (and print) beyond it.
    spied 1 "answered 16400 bytes for a 16384-byte buffer" --json html 0 0x00a
    spied 1 "answered 16400 bytes for a 16384-byte buffer" html 0 0x00a
    # A short write of --out (here past a file size limit) sets no errno: iopctl said
    # "Success" and exit 1.
    printf '#!/bin/sh\ntrap "" XFSZ\nulimit -f 2\nexec "%s" "$@"\n' "$(readlink -f "$iopctl")" >"$tmp/limited"
    chmod +x "$tmp/limited"
    real=$iopctl iopctl=$tmp/limited
    spied 1 "short: Input/output error" passthru 0 0x00a 0x30 0 4096 0 0 --from-iop 4096 --out "$tmp/short"
    iopctl=$real
    # events: poll() on a hung-up device says readable and read() gives end of file;
    # the loop read again for ever (timeout(1) ends it here if it still does).
    printf '#!/bin/sh\nexec timeout 30 "%s" "$@"\n' "$(readlink -f "$iopctl")" >"$tmp/bounded"
    chmod +x "$tmp/bounded"
    iopctl=$tmp/bounded
    spied 1 "the device hung up after 0 events" events -f 0 0
    spied 1 "the device hung up after 0 events" events 0 0
    iopctl=$real
else
    echo "not run: the checks that need iopctl-spy (no path to it given)"
fi
echo "iopctl-cli: $fails failed"
[ "$fails" -eq 0 ]
