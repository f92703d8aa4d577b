/* A fuzz entry point for the ioctl dispatcher (lib/ctl) with a fake kernel: random
 * commands, argument structs and caller memory, native and 32-bit layouts, against
 * IOPs with state on disk (software store, block device, parameters) as the daemon
 * wires them.
 *
 * Every call runs twice, in lockstep on two identical systems:
 *  A  through the CUSE protocol as the kernel drives it (fs/fuse/ioctl.c
 *     fuse_do_ioctl for an unrestricted ioctl, transcribed here): a first round with no
 *     data, then rounds that gather the in ranges the daemon named in its retry reply
 *     (EFAULT when the caller lacks them), at most 256 ranges and 128 KiB each way
 *     (ENOMEM), and a final reply whose out bytes are scattered over the out ranges in
 *     order -- with lib/ctl's umem-rounds accessor on the daemon side, as cuse/ctl-node.c;
 *  B  with direct access to the caller's memory (umem-space), as the kernel's own
 *     driver had with copy_{from,to}_user.
 *
 * Input: data[0] flags (bit 0: no lockstep, only A); u8 region count (at most 8), each
 * u8 flags (bit 0 writable, bit 1 large: 160 KiB of zeros), for a small one u16 size
 * (at most 16 KiB) and its bytes, mapped at 0x10000 * (k + 1); then operations: u8 op%8 -- 0-5 an ioctl (u8
 * command pick: the thirteen I2O commands, else a raw u32 number follows; u8 flags:
 * bit 0 a 32-bit caller; u32 arg), 6 poke the caller's memory (u8 region, u16 offset,
 * u8 length, bytes), 7 read() the queued events (u8 size).
 *
 * Checks (-EIO when one breaks):
 *  - every ioctl returns 0, a small positive ReqStatus, or a negative errno of the set
 *    the ABI uses; never IOP_UMEM_RETRY or IOP_CTL_PENDING, never -EIO (lib/ctl's own
 *    "wrote outside what it declared");
 *  - the CUSE rounds: at most the number README.md documents for the command (1 for
 *    VALIDATE and unknown commands, 2 GETIOPS/EVTREG/EVTGET, 3 HRT/LCT/PARMGET/PARMSET/
 *    SWUL/SWDEL/HTML, 4 SWDL, 5 PASSTHRU); each round's ranges start with the previous
 *    round's (handlers only append), and the final round's ranges are exactly the ones
 *    the kernel scatters the reply over;
 *  - A and B agree, call by call, on the result and on every byte of caller memory,
 *    unless one of them faulted (where the kernel's gathering order and direct access
 *    may legitimately differ; lockstep stops there) or A hit the CUSE size limit that B
 *    shows the call really needed (more than 128 KiB one way);
 *  - read() returns whole i2o_evt_info records or EAGAIN/EINVAL.
 * IOPD_FUZZ_TRACE=1 in the environment prints each call's result and rounds.
 * Uses two scratch state directories (lib/util/fuzz-scratch.h), removed afterwards. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int iop_ctl_fuzz_one(const uint8_t *data, size_t len);
