/* Wire encodings of the HRT, LCT and status block: the little-endian layouts of
 * <linux/i2o-dev.h> (i2o_hrt, i2o_lct, i2o_status_block), which use bitfields in the
 * header; we pack the words by hand so the bytes do not depend on the compiler's
 * bitfield allocation. */
#include <assert.h>
#include <string.h>

#include "lib/i2o/iop.h"
#include "lib/util/bytes.h"

#define HRT_HEADER_BYTES 8u
#define HRT_ENTRY_WORDS 4u /* i2o_hrt_entry: 16 bytes */
#define LCT_HEADER_WORDS 3u
#define LCT_ENTRY_WORDS 9u /* i2o_lct_entry: 36 bytes */

_Static_assert(sizeof(i2o_hrt_entry) == HRT_ENTRY_WORDS * 4, "i2o_hrt_entry layout");
_Static_assert(sizeof(i2o_lct_entry) == LCT_ENTRY_WORDS * 4, "i2o_lct_entry layout");
_Static_assert(sizeof(i2o_status_block) == 88, "i2o_status_block layout");

size_t iop_controller_hrt(const struct iop_controller *c, void *buf, size_t cap) {
    assert(c);
    size_t len = HRT_HEADER_BYTES + (size_t)c->n_adapters * HRT_ENTRY_WORDS * 4;
    if (!buf || cap < len)
        return len;
    uint8_t *p = buf;
    iop_put_le16(p + 0, (uint16_t)c->n_adapters);
    p[2] = HRT_ENTRY_WORDS;  /* entry_len, in words */
    p[3] = 0;                /* hrt_version */
    iop_put_le32(p + 4, c->hrt_change_ind);
    p += HRT_HEADER_BYTES;
    for (unsigned i = 0; i < c->n_adapters; i++, p += HRT_ENTRY_WORDS * 4) {
        const struct iop_hrt_adapter *a = &c->adapter[i];
        iop_put_le32(p, a->adapter_id);
        iop_put_le32(p + 4, (uint32_t)(a->parent_tid & 0xFFF) | (uint32_t)(a->state & 0xF) << 12 |
                                (uint32_t)a->bus_num << 16 | (uint32_t)a->bus_type << 24);
        memcpy(p + 8, a->bus_info, 8);
    }
    return len;
}

size_t iop_controller_lct(const struct iop_controller *c, void *buf, size_t cap) {
    assert(c);
    size_t words = LCT_HEADER_WORDS + (size_t)c->n_dev * LCT_ENTRY_WORDS;
    size_t len = words * 4;
    if (!buf || cap < len)
        return len;
    uint8_t *p = buf;
    /* table_size (16 bits, whole table in words), boot_tid, lct_ver (1 = I2O 1.5) */
    iop_put_le32(p, (uint32_t)(words & 0xFFFF) | 0u << 16 | 1u << 28);
    iop_put_le32(p + 4, 0); /* iop_flags */
    iop_put_le32(p + 8, c->lct_change_ind);
    p += LCT_HEADER_WORDS * 4;
    for (unsigned i = 0; i < c->n_dev; i++, p += LCT_ENTRY_WORDS * 4) {
        const struct iop_device *d = c->dev[i];
        iop_put_le32(p, LCT_ENTRY_WORDS | (uint32_t)(d->tid & 0xFFF) << 16);
        iop_put_le32(p + 4, d->change_ind);
        iop_put_le32(p + 8, d->device_flags);
        iop_put_le32(p + 12, (uint32_t)(d->class_id & 0xFFF) | (uint32_t)(d->class_version & 0xF) << 12 |
                                 (uint32_t)d->vendor_id << 16);
        iop_put_le32(p + 16, d->sub_class);
        iop_put_le32(p + 20, (uint32_t)(d->user_tid & 0xFFF) | (uint32_t)(d->parent_tid & 0xFFF) << 12 |
                                 (uint32_t)d->bios_info << 24);
        memcpy(p + 24, d->identity_tag, 8);
        iop_put_le32(p + 32, d->event_capabilities);
    }
    return len;
}

void iop_controller_status_block(const struct iop_controller *c, uint8_t out[88]) {
    assert(c && out);
    memset(out, 0, 88);
    iop_put_le16(out + 0, c->org_id);
    iop_put_le16(out + 4, (uint16_t)(c->iop_id & 0xFFF));
    iop_put_le16(out + 6, (uint16_t)c->unit);                      /* host_unit_id */
    iop_put_le16(out + 8, (uint16_t)((c->i2o_version & 0xF) << 12)); /* segment 0 */
    out[10] = c->iop_state;
    out[11] = 0;                                                   /* msg_type: 32-bit contexts */
    iop_put_le16(out + 12, IOP_INBOUND_FRAME_WORDS);
    out[14] = 0x80;                                                /* init_code: owned by host */
    iop_put_le32(out + 16, 32);                                    /* max_inbound_frames */
    iop_put_le32(out + 20, 32);
    iop_put_le32(out + 24, 32);                                    /* max_outbound_frames */
    size_t n = strnlen(c->product_id, IOP_PRODUCT_ID_LEN);
    memcpy(out + 28, c->product_id, n);
    iop_put_le32(out + 52, (uint32_t)iop_controller_lct(c, NULL, 0)); /* expected_lct_size */
    iop_put_le32(out + 56, 0);                                     /* iop_capabilities */
}
