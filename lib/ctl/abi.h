/* The argument structs of <linux/i2o-dev.h>, decoded from the caller's bytes into
 * width-independent C structs.  Native callers use the x86_64 layouts (the header's own
 * structs, via offsetof); 32-bit callers (CUSE flags the request FUSE_IOCTL_COMPAT)
 * use the i386 layouts: pointers 4 bytes, no padding before them.  The kernel only
 * handled I2OGETIOPS and I2OPASSTHRU32 for 32-bit callers; iopd decodes them all (see
 * i2o-abi.md section 6), with the i386 command numbers below. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/ioctl.h>
#include <linux/i2o-dev.h>

/* i386 sizes and command numbers (i2o-abi.md sections 2 and 3; checked by
 * tests/unit/test-abi.c against _IOWR with these sizes). */
#define IOP_ABI32_HRTLCT_SIZE 12u
#define IOP_ABI32_PSETGET_SIZE 24u
#define IOP_ABI32_SW_XFER_SIZE 28u
#define IOP_ABI32_HTML_SIZE 28u
#define IOP_ABI32_PASSTHRU_SIZE 8u

#define IOP_I2OHRTGET32 _IOWR(I2O_MAGIC_NUMBER, 1, char[IOP_ABI32_HRTLCT_SIZE])
#define IOP_I2OLCTGET32 _IOWR(I2O_MAGIC_NUMBER, 2, char[IOP_ABI32_HRTLCT_SIZE])
#define IOP_I2OPARMSET32 _IOWR(I2O_MAGIC_NUMBER, 3, char[IOP_ABI32_PSETGET_SIZE])
#define IOP_I2OPARMGET32 _IOWR(I2O_MAGIC_NUMBER, 4, char[IOP_ABI32_PSETGET_SIZE])
#define IOP_I2OSWDL32 _IOWR(I2O_MAGIC_NUMBER, 5, char[IOP_ABI32_SW_XFER_SIZE])
#define IOP_I2OSWUL32 _IOWR(I2O_MAGIC_NUMBER, 6, char[IOP_ABI32_SW_XFER_SIZE])
#define IOP_I2OSWDEL32 _IOWR(I2O_MAGIC_NUMBER, 7, char[IOP_ABI32_SW_XFER_SIZE])
#define IOP_I2OHTML32 _IOWR(I2O_MAGIC_NUMBER, 9, char[IOP_ABI32_HTML_SIZE])

/* The largest argument struct in either layout. */
#define IOP_ABI_MAX_ARG 48u

struct iop_abi_hrtlct {
    uint32_t iop;
    uint64_t resbuf;
    uint64_t reslen; /* address of an unsigned int */
};

struct iop_abi_psetget {
    uint32_t iop, tid;
    uint64_t opbuf;
    uint32_t oplen;
    uint64_t resbuf;
    uint64_t reslen;
};

struct iop_abi_sw_xfer {
    uint32_t iop;
    uint8_t flags, sw_type;
    uint32_t sw_id;
    uint64_t buf, swlen, maxfrag, curfrag;
};

struct iop_abi_html {
    uint32_t iop, tid, page;
    uint64_t resbuf, reslen, qbuf;
    uint32_t qlen;
};

struct iop_abi_passthru {
    uint32_t iop;
    uint64_t msg;
};

size_t iop_abi_hrtlct_size(bool compat);
size_t iop_abi_psetget_size(bool compat);
size_t iop_abi_sw_xfer_size(bool compat);
size_t iop_abi_html_size(bool compat);
size_t iop_abi_passthru_size(bool compat);

/* Decode raw (at least the size above) into the struct. */
void iop_abi_decode_hrtlct(const void *raw, bool compat, struct iop_abi_hrtlct *out);
void iop_abi_decode_psetget(const void *raw, bool compat, struct iop_abi_psetget *out);
void iop_abi_decode_sw_xfer(const void *raw, bool compat, struct iop_abi_sw_xfer *out);
void iop_abi_decode_html(const void *raw, bool compat, struct iop_abi_html *out);
void iop_abi_decode_passthru(const void *raw, bool compat, struct iop_abi_passthru *out);
