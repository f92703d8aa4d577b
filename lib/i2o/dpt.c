#include "lib/i2o/dpt.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/i2o/bsa.h"
#include "lib/i2o/dpt-msg.h"
#include "lib/i2o/devparams.h"
#include "lib/i2o/iop.h"
#include "lib/params/params-std.h"
#include "lib/params/params.h"
#include "lib/scsi/scsi.h"
#include "lib/util/fmt.h"

/* The medium: the device's disk file (bsa.c), whole blocks inside the capacity. */
static int medium_read(void *ctx, uint64_t off, void *buf, size_t len) {
    int fd = iop_bsa_medium(ctx);
    if (fd < 0)
        return fd;
    ssize_t n = pread(fd, buf, len, (off_t)off);
    return n == (ssize_t)len ? 0 : -EIO;
}

static int medium_write(void *ctx, uint64_t off, const void *buf, size_t len) {
    int fd = iop_bsa_medium(ctx);
    if (fd < 0)
        return fd;
    ssize_t n = pwrite(fd, buf, len, (off_t)off);
    return n == (ssize_t)len ? 0 : -EIO;
}

static int medium_sync(void *ctx) {
    int fd = iop_bsa_medium(ctx);
    return fd < 0 ? fd : fsync(fd) < 0 ? -errno : 0;
}

/* Copy s, cut to cap - 1 bytes.  (attach runs for every disk at start: snprintf's
 * "%s" was most of what attaching 16,000 configured disks cost.) */
static void copy_cut(char *out, size_t cap, const char *s) {
    size_t n = strnlen(s, cap - 1);
    memcpy(out, s, n);
    out[n] = 0;
}

/* An identity string of group 0xF100 (without building deferred groups), or fallback. */
static void identity(const struct iop_device *d, const char *field, const char *fallback, char *out, size_t cap) {
    iop_device_identity(d, field, out, cap);
    if (!out[0])
        copy_cut(out, cap, fallback);
}

/* printf's "IOPD%02u%03X%u" of unit, TID and LUN, cut to cap - 1 bytes. */
static void default_serial(const struct iop_device *d, char *out, size_t cap) {
    char s[4 + 3 * IOP_FMT_UINT_MAX + 1] = "IOPD", digits[IOP_FMT_UINT_MAX];
    size_t n = 4;
    const uint64_t v[3] = { d->iop->unit, d->tid, d->scsi_lun };
    const unsigned base[3] = { 10, 16, 10 }, width[3] = { 2, 3, 1 };
    for (int i = 0; i < 3; i++) {
        const char *p = iop_fmt_uint(digits, v[i], base[i], width[i], true);
        size_t len = (size_t)(digits + sizeof(digits) - p);
        memcpy(s + n, p, len);
        n += len;
    }
    s[n] = 0;
    copy_cut(out, cap, s);
}

int iop_dpt_attach(struct iop_device *d) {
    assert(d && d->iop);
    bool disk = (d->class_id == I2O_CLASS_RANDOM_BLOCK_STORAGE || d->class_id == I2O_CLASS_SCSI_PERIPHERAL) &&
                d->block_size;
    if (!disk && d->tid != IOP_TID_EXECUTIVE)
        return 0;
    struct iop_scsi_lu *lu = calloc(1, sizeof(*lu));
    if (!lu)
        return -ENOMEM;
    lu->type = disk ? IOP_SCSI_TYPE_DISK : IOP_SCSI_TYPE_PROCESSOR;
    lu->lun = d->scsi_lun;
    lu->blocks = disk ? d->blocks : 0;
    lu->block_size = d->block_size;
    identity(d, "VendorInfo", "iopd", lu->vendor, sizeof(lu->vendor));
    identity(d, "ProductInfo", "I2O disk", lu->product, sizeof(lu->product));
    identity(d, "ProductRevLevel", "1.0", lu->revision, sizeof(lu->revision));
    char serial[sizeof(lu->serial)];
    default_serial(d, serial, sizeof(serial));
    identity(d, "SerialNumber", serial, lu->serial, sizeof(lu->serial));
    /* NAA 3 (locally assigned): unit, TID and LUN make it unique per host. */
    lu->naa = 0x3000000000000000ull | (uint64_t)0x10D0 << 32 | (uint64_t)d->iop->unit << 20 |
              (uint64_t)d->tid << 8 | d->scsi_lun;
    if (disk)
        lu->medium = (struct iop_scsi_medium){ medium_read, medium_write, medium_sync, d };
    if (iop_scsi_lu_init(lu) < 0) {
        free(lu);
        return 0; /* a geometry SCSI cannot describe: no target, BSA still works */
    }
    d->scsi = lu;
    return 0;
}

void iop_dpt_detach(struct iop_device *d) {
    if (d) {
        free(d->scsi);
        d->scsi = NULL;
    }
}

unsigned iop_dpt_port_bus(const struct iop_device *port) {
    assert(port && port->iop);
    const struct iop_controller *c = port->iop;
    unsigned bus = 0;
    for (unsigned i = 0; i < c->n_dev && c->dev[i] != port; i++)
        bus += c->dev[i]->class_id == I2O_CLASS_BUS_ADAPTER && c->dev[i]->scsi_port;
    return bus;
}

static int reply(struct iop_msg *m, const struct iop_dpt_result *res) {
    uint32_t w[IOP_DPT_REPLY_WORDS];
    unsigned n = iop_dpt_reply_body(res, w);
    iop_msg_reply(m, n, res->req_status, (uint16_t)w[4]);
    for (unsigned i = 5; i < n && i < m->reply_words; i++)
        m->reply[i] = w[i];
    return res->req_status;
}

static int fail(struct iop_msg *m, uint8_t hba_status) {
    struct iop_dpt_plan plan = { .hba_status = hba_status };
    struct iop_dpt_result res;
    iop_dpt_complete(&plan, NULL, &res);
    return reply(m, &res);
}

/* Move len bytes between buf and the message's elements of one direction through the
 * DMA channel, element by element as the IOP's DMA engine walks the SGL.  Returns the
 * bytes moved. */
static size_t move(struct iop_device *d, struct iop_msg *m, bool to_iop, uint8_t *buf, size_t len) {
    size_t done = 0;
    for (unsigned i = 0; i < m->n_sg && done < len; i++) {
        struct iop_msg_sg *e = &m->sg[i];
        if (e->to_iop != to_iop)
            continue;
        size_t n = e->len < len - done ? e->len : len - done;
        int r = to_iop ? iop_bsa_dma(d, true, buf + done, e->data, n) : iop_bsa_dma(d, false, e->data, buf + done, n);
        if (r > 0 && !to_iop)
            e->done = (uint32_t)r;
        if (r < 0 || (size_t)r < n)
            return done + (r > 0 ? (size_t)r : 0);
        done += n;
    }
    return done;
}

int iop_dpt_post(struct iop_controller *c, struct iop_device *d, struct iop_msg *m) {
    assert(c && m);
    struct iop_dpt_scb scb;
    int r = iop_dpt_parse(m->frame, m->words, &scb);
    if (r == -ENOENT || r == -ENOSYS)
        return -ENOSYS;
    if (r == -EMSGSIZE) {
        iop_msg_reply(m, 5, IOP_REPLY_ERROR_NO_DATA_TRANSFER, IOP_DSC_MESSAGE_TOO_SMALL);
        return IOP_REPLY_ERROR_NO_DATA_TRANSFER;
    }
    if (r < 0)
        return fail(m, IOP_DPT_HBA_REQUEST_INVALID);
    /* The frame goes to the device's TID (adpt_scsi_to_i2o) or to the controller with
     * the device named in word 5 (adpt_inquiry: both are ADAPTER_TID). */
    unsigned target = m->frame[1] & 0xFFF;
    if (target != scb.tid && target != IOP_TID_EXECUTIVE)
        return fail(m, IOP_DPT_HBA_REQUEST_INVALID);
    if (target != scb.tid)
        d = iop_controller_find_device(c, scb.tid);
    if (!d || !d->scsi)
        return fail(m, IOP_DPT_HBA_SELECTION_TIMEOUT);

    uint64_t room_from = 0, room_to = 0;
    for (unsigned i = 0; i < m->n_sg; i++)
        *(m->sg[i].to_iop ? &room_to : &room_from) += m->sg[i].len;
    struct iop_dpt_plan plan;
    iop_dpt_plan(&scb, room_from, room_to, &plan);
    if (plan.hba_status != IOP_DPT_HBA_SUCCESS)
        return fail(m, plan.hba_status);
    uint8_t *buf = malloc(plan.len ? plan.len : 1);
    if (!buf) {
        iop_msg_reply(m, 5, IOP_REPLY_ERROR_NO_DATA_TRANSFER, IOP_DSC_INSUFFICIENT_RESOURCE_HARD);
        return IOP_REPLY_ERROR_NO_DATA_TRANSFER;
    }
    if (plan.to_device && move(d, m, true, buf, plan.len) < plan.len) {
        free(buf);
        return fail(m, IOP_DPT_HBA_DATA_OVERRUN);
    }
    struct iop_scsi_cmd cmd = {
        .cdb = scb.cdb, .cdb_len = scb.cdb_len, .autosense = plan.autosense,
        .data_out = plan.to_device ? buf : NULL, .data_out_len = plan.to_device ? plan.len : 0,
        .data_in = plan.from_device ? buf : NULL, .data_in_cap = plan.from_device ? plan.len : 0,
    };
    iop_scsi_exec(d->scsi, &cmd);
    if (plan.from_device && cmd.data_in_len)
        cmd.data_in_len = move(d, m, false, buf, cmd.data_in_len);
    struct iop_dpt_result res;
    iop_dpt_complete(&plan, &cmd, &res);
    r = reply(m, &res);
    free(buf);
    return r;
}
