/* A fuzz entry point for I2OPASSTHRU: the message parser (lib/ctl/ctl-passthru.c), every
 * function an IOP answers (UtilNOP, UtilParams, ExecStatusGet, ExecHrtGet, ExecLctNotify,
 * ExecConfigValidate, BSA read/write/flush, unknown ones), DPT's private SCSI_EXEC to a
 * SCSI port's disks, and iopd's private USB transfer message to USB TIDs
 * on the simulated backend (control, bulk, interrupt, isochronous; SGLs of every shape;
 * asynchronous completion, cancellation, unplug in flight), native and 32-bit callers.
 *
 * The USB side: three simulated devices -- A 1234:5678 (allowed and claimed), B
 * 1234:9999 (allowed, not claimed), C 4321:0001 (not allowed) -- and an URB monitor on
 * the engine that sees every URB after the engine's checks.
 *
 * Input: operations, u8 op%6 then
 *  0 a message: u8 flags (bit 0 32-bit caller, bit 1 a caller that cannot wait, bit 2
 *    word 0 raw from the input, bit 3 to the silent IOP), u8 function pick, u8 TID pick,
 *    u8 body word count (up to 24) and the words, u8 SGL element count (up to 4), each
 *    u8 flags (bit 0 host-to-IOP, bit 1 not simple, bit 2 no LAST), u16 length and u8
 *    address pick (the data buffer, an offset into it, unmapped, raw u32), u8 reply
 *    words (up to 40), u16 count of data bytes and the bytes;
 *  1 let u16 * 100 us pass on the USB clock (URBs complete);
 *  2 cancel a waiting call (a signal to the caller);  3 unplug or replug A or B;
 *  4 queue bytes on one of A's IN endpoints;  5 halt or clear one of A's endpoints.
 *
 * Checks (-EIO when one breaks): results are 0, a ReqStatus (<= 0xFF) or an errno of the
 * ABI's set; every call that went asynchronous completes exactly once (by the end at the
 * latest), and one that did not never calls back; C never gets an URB after start-up,
 * and has no TID; B gets nothing but standard device-to-host requests on endpoint 0
 * (the allow and claim lists hold for everything the message reaches).
 * IOPD_FUZZ_TRACE=1 in the environment prints each call's result.  Uses a scratch
 * state directory (lib/util/fuzz-scratch.h) for the block device's medium. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int iop_passthru_fuzz_one(const uint8_t *data, size_t len);
