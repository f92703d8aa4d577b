#include "lib/ctl/abi.h"

#include <assert.h>
#include <string.h>

/* Host-endian reads at an offset: the structs are in the caller's native byte order
 * (x86 either way). */
static uint32_t u32_at(const void *raw, size_t off) {
    uint32_t v;
    memcpy(&v, (const uint8_t *)raw + off, 4);
    return v;
}

static uint64_t ptr_at(const void *raw, size_t off, bool compat) {
    if (compat)
        return u32_at(raw, off); /* compat_ptr(): zero-extended */
    uint64_t v;
    memcpy(&v, (const uint8_t *)raw + off, 8);
    return v;
}

/* Offsets: native from the header's structs, i386 from i2o-abi.md section 3. */
#define OFF(native_type, field, off32) (compat ? (size_t)(off32) : offsetof(native_type, field))

size_t iop_abi_hrtlct_size(bool compat) { return compat ? IOP_ABI32_HRTLCT_SIZE : sizeof(struct i2o_cmd_hrtlct); }
size_t iop_abi_psetget_size(bool compat) { return compat ? IOP_ABI32_PSETGET_SIZE : sizeof(struct i2o_cmd_psetget); }
size_t iop_abi_sw_xfer_size(bool compat) { return compat ? IOP_ABI32_SW_XFER_SIZE : sizeof(struct i2o_sw_xfer); }
size_t iop_abi_html_size(bool compat) { return compat ? IOP_ABI32_HTML_SIZE : sizeof(struct i2o_html); }
size_t iop_abi_passthru_size(bool compat) { return compat ? IOP_ABI32_PASSTHRU_SIZE : sizeof(struct i2o_cmd_passthru); }

_Static_assert(sizeof(struct i2o_cmd_hrtlct) == 24, "x86_64 layout");
_Static_assert(sizeof(struct i2o_cmd_psetget) == 40, "x86_64 layout");
_Static_assert(sizeof(struct i2o_sw_xfer) == 48, "x86_64 layout");
_Static_assert(sizeof(struct i2o_html) == 48, "x86_64 layout");
_Static_assert(sizeof(struct i2o_cmd_passthru) == 16, "x86_64 layout");
_Static_assert(IOP_ABI_MAX_ARG >= sizeof(struct i2o_sw_xfer), "largest struct");

void iop_abi_decode_hrtlct(const void *raw, bool compat, struct iop_abi_hrtlct *out) {
    assert(raw && out);
    out->iop = u32_at(raw, OFF(struct i2o_cmd_hrtlct, iop, 0));
    out->resbuf = ptr_at(raw, OFF(struct i2o_cmd_hrtlct, resbuf, 4), compat);
    out->reslen = ptr_at(raw, OFF(struct i2o_cmd_hrtlct, reslen, 8), compat);
}

void iop_abi_decode_psetget(const void *raw, bool compat, struct iop_abi_psetget *out) {
    assert(raw && out);
    out->iop = u32_at(raw, OFF(struct i2o_cmd_psetget, iop, 0));
    out->tid = u32_at(raw, OFF(struct i2o_cmd_psetget, tid, 4));
    out->opbuf = ptr_at(raw, OFF(struct i2o_cmd_psetget, opbuf, 8), compat);
    out->oplen = u32_at(raw, OFF(struct i2o_cmd_psetget, oplen, 12));
    out->resbuf = ptr_at(raw, OFF(struct i2o_cmd_psetget, resbuf, 16), compat);
    out->reslen = ptr_at(raw, OFF(struct i2o_cmd_psetget, reslen, 20), compat);
}

void iop_abi_decode_sw_xfer(const void *raw, bool compat, struct iop_abi_sw_xfer *out) {
    assert(raw && out);
    const uint8_t *b = raw;
    out->iop = u32_at(raw, OFF(struct i2o_sw_xfer, iop, 0));
    out->flags = b[OFF(struct i2o_sw_xfer, flags, 4)];
    out->sw_type = b[OFF(struct i2o_sw_xfer, sw_type, 5)];
    out->sw_id = u32_at(raw, OFF(struct i2o_sw_xfer, sw_id, 8));
    out->buf = ptr_at(raw, OFF(struct i2o_sw_xfer, buf, 12), compat);
    out->swlen = ptr_at(raw, OFF(struct i2o_sw_xfer, swlen, 16), compat);
    out->maxfrag = ptr_at(raw, OFF(struct i2o_sw_xfer, maxfrag, 20), compat);
    out->curfrag = ptr_at(raw, OFF(struct i2o_sw_xfer, curfrag, 24), compat);
}

void iop_abi_decode_html(const void *raw, bool compat, struct iop_abi_html *out) {
    assert(raw && out);
    out->iop = u32_at(raw, OFF(struct i2o_html, iop, 0));
    out->tid = u32_at(raw, OFF(struct i2o_html, tid, 4));
    out->page = u32_at(raw, OFF(struct i2o_html, page, 8));
    out->resbuf = ptr_at(raw, OFF(struct i2o_html, resbuf, 12), compat);
    out->reslen = ptr_at(raw, OFF(struct i2o_html, reslen, 16), compat);
    out->qbuf = ptr_at(raw, OFF(struct i2o_html, qbuf, 20), compat);
    out->qlen = u32_at(raw, OFF(struct i2o_html, qlen, 24));
}

void iop_abi_decode_passthru(const void *raw, bool compat, struct iop_abi_passthru *out) {
    assert(raw && out);
    out->iop = u32_at(raw, 0);
    out->msg = ptr_at(raw, OFF(struct i2o_cmd_passthru, msg, 4), compat);
}
