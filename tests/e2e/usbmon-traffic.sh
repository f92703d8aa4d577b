# The URBs the usbmon golden tests trace, and the devices they go to (sourced by
# usbmon-golden.sh and usbmon-pcap.sh, after lib.sh and gadget.sh): the Loopback
# gadget, QEMU's keyboard and QEMU's usb-audio.

# usbmon_devices: before iopd starts.  GD, KBD, AUD ("bus:dev") and their BUS/DEV
# parts; /tmp/usb.json, a configuration that claims the three (usb-audio even from a
# kernel driver: nothing here loads snd-usb-audio, but were it bound, iopd could not
# claim the device without detaching it).
usbmon_devices() {
    GD=$(gadget_bus_dev); GBUS=${GD%%:*}; GDEV=${GD##*:}
    KBD=$(lsusb -d 0627:0001 | sed -n 's/^Bus 0*\([0-9]*\) Device 0*\([0-9]*\).*/\1:\2/p' | head -n 1)
    KBUS=${KBD%%:*}; KDEV=${KBD##*:}
    AUD=$(lsusb -d 46f4:0002 | sed -n 's/^Bus 0*\([0-9]*\) Device 0*\([0-9]*\).*/\1:\2/p' | head -n 1)
    ABUS=${AUD%%:*}; ADEV=${AUD##*:}
    cat >/tmp/usb.json <<JSON
{ "iops": [ { "unit": 0, "devices": [ { "tid": 12, "class": "bus-adapter", "usb": true } ] } ],
  "usb": { "claim": [ { "device": "$GADGET_VIDPID" }, { "device": "0627:0001" },
                     { "device": "46f4:0002", "detach_kernel_driver": true } ] } }
JSON
}

# usbmon_endpoints: once iopd runs.  EP_IN/EP_OUT (the gadget's bulk endpoints), KEP
# and KIVAL (the keyboard's interrupt endpoint and the interval the kernel gives its
# URBs), and usb-audio's streaming altsetting selected once: the first SET_INTERFACE
# to a setting makes usbcore read that setting's iInterface string for sysfs
# (usb_create_sysfs_intf_files), URBs of the kernel's own that iopd does not issue;
# after this warm-up the kernel has it cached and traces only ours.
usbmon_endpoints() {
    bulk_eps "$(gadget_tids)"
    KTID=$("$IOPCTL" --json lct 0 | python3 -c '
import json, sys
print([e["tid"] for e in json.load(sys.stdin)["devices"] if e["class"] == "usb-device" and e["vendor_id"] == 0x0627][0])')
    eval "$("$IOPCTL" --json get 0 "$KTID" 0x8103 | python3 -c '
import json, sys
e = [e for e in json.load(sys.stdin)["rows"] if e["bmAttributes"] & 3 == 3][0]
print("KEP=0x%02x KINT=%d" % (e["bEndpointAddress"], e["bInterval"]))')"
    KSPEED=$("$IOPCTL" --json get 0 "$KTID" 0x8100 | python3 -c 'import json,sys; print(json.load(sys.stdin)["fields"]["Speed"])')
    # usbfs: high speed and up, bInterval is an exponent (2^(b-1) microframes); below, frames.
    if [ "$KSPEED" -ge 3 ]; then KIVAL=$((1 << (KINT - 1))); else KIVAL=$KINT; fi
    check "usb-audio: warm-up SET_INTERFACE 1, then 0" audio_warm_up
}

# audio_warm_up: the two SET_INTERFACEs (with 20 s, not iopctl's 5: usbfs runs them
# to the end, an xHCI endpoint reconfiguration included, which TCG can make slow);
# when one fails, what iopctl said and where
# usb-audio stands (which driver holds its interfaces, iopd's and the kernel's words).
audio_warm_up() {
    for alt in 1 0; do
        "$IOPCTL" usb control "$AUD" 0x01 0x0b "$alt" 1 0 --timeout 20000 >/tmp/warm.out 2>&1 && continue
        st=$?
        # Once more after a while: the answer says whether it was a moment's state.
        sleep 3
        if "$IOPCTL" usb control "$AUD" 0x01 0x0b "$alt" 1 0 --timeout 20000 >/tmp/warm2.out 2>&1; then
            echo "    SET_INTERFACE $alt to usb-audio failed first (exit $st: $(cat /tmp/warm.out)), then passed 3 s later"
            continue
        fi
        echo "    SET_INTERFACE $alt to usb-audio ($AUD) failed (exit $st), and 3 s later again:"
        sed 's/^/      /' /tmp/warm.out /tmp/warm2.out
        for i in /sys/bus/usb/devices/*:*; do
            [ "$(cat "$i/../idVendor" 2>/dev/null):$(cat "$i/../idProduct" 2>/dev/null)" = 46f4:0002 ] || continue
            echo "      ${i##*/}: altsetting $(cat "$i/bAlternateSetting" 2>/dev/null), driver $(basename "$(readlink "$i/driver")" 2>/dev/null)"
        done
        "$IOPCTL" lct 0 2>&1 | sed 's/^/      lct: /'
        grep -v usbmon "$IOPD_LOG" | tail -n 20 | sed 's/^/      iopd: /'
        dmesg | tail -n 20 | sed 's/^/      dmesg: /'
        return $st
    done
}

# usbmon_traffic: control IN and OUT (with and without data), bulk OUT and IN longer
# than the 32 bytes a text line shows, a stall, interrupt IN unlinked by a FUSE
# interrupt (a signal to the waiting iopctl), and isochronous OUT to usb-audio: its
# streaming altsetting selected with SET_INTERFACE, 8 and then 4 packets of 192 bytes
# (one millisecond of 48 kHz stereo each; the 8 packets' lengths go in an SG element,
# the 4 in the message), altsetting 0 again.  The ISO replies are in /tmp/iso8.json
# and /tmp/iso4.json.
usbmon_traffic() {
    long=$(python3 -c 'print(bytes(range(200)).hex())')
    isodata=$(python3 -c 'print(bytes(i % 251 for i in range(768)).hex())')
    "$IOPCTL" usb control "$GD" 0x80 6 0x0100 0 18 >/dev/null           # control IN
    "$IOPCTL" usb control "$GD" 0x80 6 0x0200 0 255 >/dev/null          # control IN, short
    "$IOPCTL" usb control "$GD" 0x00 3 1 0 0 >/dev/null 2>&1            # control OUT, no data (SET_FEATURE remote wakeup)
    "$IOPCTL" usb control "$GD" 0x00 1 1 0 0 >/dev/null 2>&1            # CLEAR_FEATURE remote wakeup
    "$IOPCTL" usb bulk "$GD" "$EP_OUT" --data "$long" >/dev/null        # bulk OUT of 200 bytes
    "$IOPCTL" usb bulk "$GD" "$EP_IN" 512 >/dev/null                    # bulk IN (200 back)
    "$IOPCTL" usb control "$GD" 0x02 3 0 "$EP_IN" 0 >/dev/null          # SET_FEATURE(ENDPOINT_HALT)
    "$IOPCTL" usb bulk "$GD" "$EP_IN" 64 >/dev/null 2>&1                # a stall: -EPIPE
    "$IOPCTL" usb control "$GD" 0x02 1 0 "$EP_IN" 0 >/dev/null          # CLEAR_FEATURE(ENDPOINT_HALT)
    "$IOPCTL" usb control "$GD" 0x80 0 0 0 2 >/dev/null                 # GET_STATUS
    # The signal goes once iopd's trace shows the submission (on a loaded machine the
    # background client can take seconds to get there).  SIGTERM: a non-interactive
    # shell starts background jobs with SIGINT ignored.
    cat "/dev/usbmon/${KBUS}u" >/tmp/ktrace.txt &
    trpid=$!
    "$IOPCTL" usb interrupt "$KBD" "$KEP" 8 --interval "$KIVAL" --timeout 0 >/dev/null 2>&1 &
    intr=$!
    wait_line /tmp/ktrace.txt " S Ii:$KBUS:" 200
    sleep 0.5
    kill -TERM $intr; wait $intr                                        # unlinked: -2
    kill $trpid; wait $trpid
    "$IOPCTL" usb control "$AUD" 0x01 0x0b 1 1 0 --timeout 20000 >/dev/null              # SET_INTERFACE: streaming
    "$IOPCTL" --json usb iso "$AUD" 0x01 8 192 >/tmp/iso8.json           # 8 packets (lengths in an SG element)
    "$IOPCTL" --json usb iso "$AUD" 0x01 4 192 --data "$isodata" >/tmp/iso4.json  # 4 (in the message)
    "$IOPCTL" usb control "$AUD" 0x01 0x0b 0 1 0 --timeout 20000 >/dev/null              # SET_INTERFACE: off
    sleep 1
}
