/* Mode parameters of a disk unit (SPC-3 7.4, SBC-3 6.3): MODE SENSE(6)/(10) with the
 * rigid disk geometry (04h), caching (08h) and control (0Ah) pages and a block
 * descriptor; MODE SELECT(6)/(10) changing what the changeable values allow (WCE and
 * RCD of the caching page).  Saved values are not supported: page control 11b and SP
 * are ILLEGAL REQUEST, as on a disk without non-volatile mode storage. */
#include <string.h>

#include "lib/scsi/scsi-internal.h"
#include "lib/util/bytes.h"

enum { PC_CURRENT, PC_CHANGEABLE, PC_DEFAULT, PC_SAVED };

/* Heads and sectors per track as dpt_i2o's adpt_bios_param() derived them from the
 * capacity (linux drivers/scsi/dpt_i2o.c), so the geometry page agrees with what the
 * driver reported for the same disk. */
static void geometry(uint64_t blocks, unsigned *heads, unsigned *sectors, uint64_t *cyls) {
    if (blocks < 0x2000) {
        *heads = 18;
        *sectors = 2;
    } else if (blocks < 0x20000) {
        *heads = 64;
        *sectors = 32;
    } else if (blocks < 0x40000) {
        *heads = 65;
        *sectors = 63;
    } else if (blocks < 0x80000) {
        *heads = 128;
        *sectors = 63;
    } else {
        *heads = 255;
        *sectors = 63;
    }
    *cyls = blocks / (*heads * *sectors);
}

/* One page in out (at least 24 bytes); its length, 0 for a page this unit lacks. */
static size_t page(const struct iop_scsi_lu *lu, uint8_t code, int pc, uint8_t *out) {
    switch (code) {
    case 0x04: { /* rigid disk geometry: nothing changeable */
        memset(out, 0, 24);
        out[0] = 0x04;
        out[1] = 0x16;
        if (pc == PC_CHANGEABLE)
            return 24;
        unsigned heads, sectors;
        uint64_t cyls;
        geometry(lu->blocks, &heads, &sectors, &cyls);
        if (cyls > 0xFFFFFF)
            cyls = 0xFFFFFF;
        out[2] = (uint8_t)(cyls >> 16);
        iop_put_be16(out + 3, (uint16_t)cyls);
        out[5] = (uint8_t)heads;
        iop_put_be16(out + 20, 7200); /* medium rotation rate, rpm */
        return 24;
    }
    case 0x08: /* caching */
        memset(out, 0, 20);
        out[0] = 0x08;
        out[1] = 0x12;
        if (pc == PC_CHANGEABLE)
            out[2] = 0x05; /* WCE, RCD */
        else if (pc == PC_DEFAULT)
            out[2] = 0x04;
        else
            out[2] = (uint8_t)((lu->wce ? 0x04 : 0) | (lu->rcd ? 0x01 : 0));
        return 20;
    case 0x0A: /* control: nothing changeable */
        memset(out, 0, 12);
        out[0] = 0x0A;
        out[1] = 0x0A;
        if (pc != PC_CHANGEABLE) {
            out[3] = 0x10;                  /* queue algorithm: unrestricted reordering */
            iop_put_be16(out + 8, 0xFFFF);  /* busy timeout: unlimited */
        }
        return 12;
    }
    return 0;
}

static const uint8_t page_codes[] = { 0x04, 0x08, 0x0A };

void scsi_mode_sense(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd, bool ten) {
    const uint8_t *c = cmd->cdb;
    bool dbd = c[1] & 0x08, llbaa = ten && (c[1] & 0x10);
    uint8_t code = c[2] & 0x3F, subpage = c[3];
    int pc = c[2] >> 6;
    size_t alloc = ten ? iop_get_be16(c + 7) : c[4];
    if (pc == PC_SAVED)
        return scsi_check(lu, cmd, IOP_SCSI_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED, 0);
    if (subpage && !(code == 0x3F && subpage == 0xFF))
        return scsi_bad_field(lu, cmd, false, 3, -1);

    uint8_t d[8 + 16 + 24 + 20 + 12];
    size_t hdr = ten ? 8 : 4, bdl = dbd ? 0 : (llbaa ? 16 : 8), n = hdr + bdl;
    memset(d, 0, sizeof(d));
    if (bdl == 8) {
        iop_put_be32(d + hdr, lu->blocks > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)lu->blocks);
        iop_put_be32(d + hdr + 4, lu->block_size & 0xFFFFFF); /* density code 0 */
    } else if (bdl == 16) {
        iop_put_be64(d + hdr, lu->blocks);
        iop_put_be32(d + hdr + 12, lu->block_size);
    }
    if (code == 0x3F) {
        for (size_t i = 0; i < sizeof(page_codes); i++)
            n += page(lu, page_codes[i], pc, d + n);
    } else {
        size_t l = page(lu, code, pc, d + n);
        if (!l)
            return scsi_bad_field(lu, cmd, false, 2, 5);
        n += l;
    }
    if (ten) {
        iop_put_be16(d, (uint16_t)(n - 2));
        d[3] = 0x10; /* DPOFUA */
        d[4] = llbaa ? 0x01 : 0;
        iop_put_be16(d + 6, (uint16_t)bdl);
    } else {
        d[0] = (uint8_t)(n - 1);
        d[2] = 0x10;
        d[3] = (uint8_t)bdl;
    }
    scsi_data_in(cmd, d, n, alloc);
}

/* Check one page of a MODE SELECT parameter list against the unit's current and
 * changeable values, then apply it.  off: where it starts in the list (for the
 * field pointer).  false when it was refused (the sense is set). */
static bool select_page(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd, const uint8_t *p, size_t off) {
    uint8_t cur[24], mask[24];
    if (p[0] & 0x40) { /* SPF: sub-page format; this unit has no subpages */
        scsi_bad_field(lu, cmd, true, (unsigned)off, 6);
        return false;
    }
    size_t len = page(lu, p[0] & 0x3F, PC_CURRENT, cur);
    if (!len) {
        scsi_bad_field(lu, cmd, true, (unsigned)off, 5);
        return false;
    }
    page(lu, p[0] & 0x3F, PC_CHANGEABLE, mask);
    if ((size_t)p[1] + 2 != len) {
        scsi_bad_field(lu, cmd, true, (unsigned)off + 1, -1);
        return false;
    }
    for (size_t i = 2; i < len; i++)
        if ((p[i] ^ cur[i]) & ~mask[i]) {
            scsi_bad_field(lu, cmd, true, (unsigned)(off + i), -1);
            return false;
        }
    if ((p[0] & 0x3F) == 0x08) {
        lu->wce = p[2] & 0x04;
        lu->rcd = p[2] & 0x01;
    }
    return true;
}

void scsi_mode_select(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd, bool ten) {
    const uint8_t *c = cmd->cdb;
    size_t plen = ten ? iop_get_be16(c + 7) : c[4], hdr = ten ? 8 : 4;
    if (!(c[1] & 0x10)) /* PF: only the standard page format */
        return scsi_bad_field(lu, cmd, false, 1, 4);
    if (c[1] & 0x01)    /* SP: no saved pages */
        return scsi_bad_field(lu, cmd, false, 1, 0);
    if (plen == 0)
        return;
    if (cmd->data_out_len < plen || plen < hdr)
        return scsi_check(lu, cmd, IOP_SCSI_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH, 0);
    const uint8_t *d = cmd->data_out;
    cmd->data_out_used = plen;
    bool longlba = ten && (d[4] & 0x01);
    size_t bdl = ten ? iop_get_be16(d + 6) : d[3];
    if (bdl != 0 && bdl != (longlba ? 16u : 8u))
        return scsi_bad_field(lu, cmd, true, ten ? 6 : 3, -1);
    if (hdr + bdl > plen)
        return scsi_check(lu, cmd, IOP_SCSI_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH, 0);
    if (bdl) {
        /* The block descriptor may restate the format, not change it. */
        const uint8_t *b = d + hdr;
        uint64_t nb = longlba ? iop_get_be64(b) : iop_get_be32(b);
        uint32_t bl = longlba ? iop_get_be32(b + 12) : iop_get_be32(b + 4) & 0xFFFFFF;
        uint64_t shown = longlba || lu->blocks <= 0xFFFFFFFFu ? lu->blocks : 0xFFFFFFFFu;
        if (nb != 0 && nb != shown)
            return scsi_bad_field(lu, cmd, true, (unsigned)hdr, -1);
        if (bl != lu->block_size)
            return scsi_bad_field(lu, cmd, true, (unsigned)hdr + (longlba ? 12 : 5), -1);
    }
    /* Every page is checked before any is applied. */
    for (int apply = 0; apply < 2; apply++) {
        for (size_t off = hdr + bdl; off < plen;) {
            if (plen - off < 2 || plen - off < (size_t)d[off + 1] + 2)
                return scsi_check(lu, cmd, IOP_SCSI_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH, 0);
            if (!apply) {
                struct iop_scsi_lu probe = *lu;
                if (!select_page(&probe, cmd, d + off, off)) {
                    lu->sense_pending = probe.sense_pending;
                    memcpy(lu->sense, probe.sense, sizeof(lu->sense));
                    return;
                }
            } else {
                select_page(lu, cmd, d + off, off);
            }
            off += (size_t)d[off + 1] + 2;
        }
    }
}
