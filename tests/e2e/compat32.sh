#!/bin/sh
# A 32-bit program against /dev/i2o/ctl on a 64-bit kernel: the same client built with
# -m32, so every struct has its i386 layout and I2OPASSTHRU is the 32-bit number.
# The kernel's driver handled only I2OGETIOPS and I2OPASSTHRU32 for such callers; iopd
# decodes every i386 layout (an extension), and unknown commands are EINVAL there,
# as 2.6's compat_sys_ioctl made them.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
rm -rf "$STATE"/*
C32=$E2E/ctl-client32
if [ ! -x "$C32" ]; then
    echo "FAIL: $C32 was not built: the toolchain lacks -m32 (apt-get install gcc-multilib)"
    exit 1
fi
check "the client really is 32-bit" sh -c "od -An -tx1 -j4 -N1 '$C32' | grep -q 01"
check "iopd starts" start_iopd
check "I2OGETIOPS" "$C32" /dev/i2o/ctl getiops 0
check "I2OVALIDATE" "$C32" /dev/i2o/ctl validate 0 0
check "I2OVALIDATE of a missing IOP: ENXIO" "$C32" /dev/i2o/ctl validate 4 ENXIO
check "bad pointers: EFAULT" "$C32" /dev/i2o/ctl efault
check "unknown command: EINVAL" "$C32" /dev/i2o/ctl unknown32
check "I2OHRTGET (i386 layout)" "$C32" /dev/i2o/ctl hrt 0 1 isa 0x330 5
check "I2OLCTGET (i386 layout)" "$C32" /dev/i2o/ctl lct 0 \
    0x000:0x000 0x008:0x001 0x009:0x080 0x00a:0x010 0x00b:0x020 0x00c:0x080 0x00d:0x080 0x00e:0x051
check "ENOBUFS and retry" "$C32" /dev/i2o/ctl enobufs 0
check "I2OPARMGET errno paths" "$C32" /dev/i2o/ctl params-errors 0 0x00a
check "I2OEVTREG errors" "$C32" /dev/i2o/ctl evtreg-errors
check "events through select() and read()" "$C32" /dev/i2o/ctl events-select 0
check "I2OSWDL / I2OSWUL / I2OSWDEL round trip" "$C32" /dev/i2o/ctl sw-roundtrip 0
check "I2OSWDL error paths" "$C32" /dev/i2o/ctl sw-errors 0
check "I2OPASSTHRU32" "$C32" /dev/i2o/ctl passthru-nop 0
check "I2OHTML" "$C32" /dev/i2o/ctl html 0 0x00a
check "the native client agrees on PASSTHRU" "$E2E/ctl-client" /dev/i2o/ctl passthru-nop 0
check "SIGTERM" stop_iopd
e2e_finish
