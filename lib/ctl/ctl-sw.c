/* I2OSWDL, I2OSWUL, I2OSWDEL: the IOP's software store in 8 KiB fragments
 * [i2o_cfg_swdl / i2o_cfg_swul / i2o_cfg_swdel; i2o-abi.md 5.4-5.6].
 *
 * Rounds through CUSE: SWDL 4 (struct; *swlen, *maxfrag, *curfrag; the fragment; the
 * answer), SWUL 3 (the output buffer is named with the three counters, at the full
 * fragment size: only the real fragment's bytes are written), SWDEL 3. */
#include <errno.h>
#include <string.h>

#include "lib/ctl/abi.h"
#include "lib/ctl/ctl-internal.h"
#include "lib/i2o/iop.h"
#include "lib/swstore/swstore.h"
#include "lib/util/bytes.h"
#include "lib/util/log.h"

/* What a request may write, named together with the counters to save a round. */
enum sw_out {
    SW_OUT_NONE,
    SW_OUT_FRAGMENT, /* upload: buf, at the full fragment size; the real length is written */
    SW_OUT_SWLEN,    /* remove: the module's size back into *swlen */
};

/* Fetch the struct and the counters it points to (*swlen always; *maxfrag and
 * *curfrag unless only_swlen).  Every get_user() the kernel did is EFAULT here too. */
static int fetch_xfer(struct ctl_call *c, bool only_swlen, enum sw_out out, struct iop_abi_sw_xfer *a,
                      struct iop_sw_xfer *x) {
    uint8_t raw[IOP_ABI_MAX_ARG];
    int r;

    if ((r = ctl_fetch_arg(c, raw, iop_abi_sw_xfer_size(c->compat))) != 0)
        return r;
    iop_abi_decode_sw_xfer(raw, c->compat, a);
    if ((r = iop_umem_want_in(c->um, a->swlen, 4)) < 0)
        return r;
    if (!only_swlen && ((r = iop_umem_want_in(c->um, a->maxfrag, 4)) < 0 ||
                        (r = iop_umem_want_in(c->um, a->curfrag, 4)) < 0))
        return r;
    if (out == SW_OUT_FRAGMENT && a->buf && (r = iop_umem_want_out(c->um, a->buf, IOP_SW_FRAG_SIZE)) < 0)
        return r;
    if (out == SW_OUT_SWLEN && (r = iop_umem_want_out(c->um, a->swlen, 4)) < 0)
        return r;
    if ((r = iop_umem_sync(c->um)) != 0)
        return r;
    *x = (struct iop_sw_xfer){ .flags = a->flags, .sw_type = a->sw_type, .sw_id = a->sw_id };
    if ((r = iop_umem_read_u32(c->um, a->swlen, &x->swlen)) != 0)
        return r;
    if (!only_swlen && ((r = iop_umem_read_u32(c->um, a->maxfrag, &x->maxfrag)) != 0 ||
                        (r = iop_umem_read_u32(c->um, a->curfrag, &x->curfrag)) != 0))
        return r;
    return 0;
}

/* The store answers with a ReqStatus (>= 0) or a host-side -errno; the kernel knew
 * only ReqStatus, ETIMEDOUT and ENOMEM, so other host failures look like an IOP that
 * did not answer. */
static int host_failure(struct iop_controller *iop, const char *what, int r) {
    if (r == -ENOMEM)
        return r;
    iop_log(LOG_ERR, "IOP %u: %s failed in the software store: %s", iop->unit, what, strerror(-r));
    return -ETIMEDOUT;
}

/* A store change is an executive event: DDM availability, with the module's type,
 * id and size as data. */
static void sw_event(struct iop_controller *iop, const struct iop_sw_xfer *x, uint32_t size) {
    uint8_t data[12];
    iop_put_le32(data, x->sw_type);
    iop_put_le32(data + 4, x->sw_id);
    iop_put_le32(data + 8, size);
    iop_controller_raise(iop, IOP_TID_EXECUTIVE, I2O_EVT_IND_EXEC_DDM_AVAILABILITY, data, sizeof(data));
}

/* The fragment's buffer: ISA memory the IOP's DMA channel reaches directly when the
 * controller has some (the store's mover then copies once), else the caller's. */
static uint8_t *frag_buf(struct iop_controller *iop, uint8_t *fallback) {
    uint8_t *p = iop ? iop_controller_dma_alloc(iop, IOP_SW_FRAG_SIZE) : NULL;
    return p ? p : fallback;
}

static void frag_free(struct iop_controller *iop, uint8_t *frag, uint8_t *fallback) {
    if (frag != fallback)
        iop_controller_dma_free(iop, frag);
}

int ctl_swdl(struct ctl_call *c) {
    struct iop_abi_sw_xfer a;
    struct iop_sw_xfer x;
    uint8_t stack_frag[IOP_SW_FRAG_SIZE];
    int r;

    if ((r = fetch_xfer(c, false, SW_OUT_NONE, &a, &x)) != 0)
        return r;
    uint32_t len = iop_sw_frag_len(x.swlen, x.maxfrag, x.curfrag);
    if (!a.buf)
        return -EFAULT;
    if (len && ((r = iop_umem_want_in(c->um, a.buf, len)) < 0 || (r = iop_umem_sync(c->um)) != 0))
        return r;
    struct iop_controller *iop = iop_system_find(c->ctl->sys, a.iop);
    uint8_t *frag = frag_buf(iop, stack_frag);
    if (len && (r = iop_umem_read(c->um, a.buf, frag, len)) != 0)
        goto out;
    r = -ENXIO;
    if (!iop)
        goto out;
    r = -ETIMEDOUT;
    if (!iop->answers || !iop->sw)
        goto out;
    r = iop_swstore_download(iop->sw, &x, frag, len);
    if (r < 0)
        r = host_failure(iop, "download", r);
    else if (r == 0 && x.curfrag == x.maxfrag)
        sw_event(iop, &x, x.swlen);
out:
    frag_free(iop, frag, stack_frag);
    return r;
}

int ctl_swul(struct ctl_call *c) {
    struct iop_abi_sw_xfer a;
    struct iop_sw_xfer x;
    uint8_t stack_frag[IOP_SW_FRAG_SIZE];
    uint32_t len = 0;
    int r;

    /* The fragment's size is known only with the counters; naming the full fragment
     * size with them saves a round, and only the real length is written back. */
    if ((r = fetch_xfer(c, false, SW_OUT_FRAGMENT, &a, &x)) != 0)
        return r;
    if (!a.buf) /* 2.6 checked only for NULL; the copy-out faults later otherwise */
        return -EFAULT;
    struct iop_controller *iop = iop_system_find(c->ctl->sys, a.iop);
    if (!iop)
        return -ENXIO;
    if (!iop->answers || !iop->sw)
        return -ETIMEDOUT;
    uint8_t *frag = frag_buf(iop, stack_frag);
    int status = iop_swstore_upload(iop->sw, &x, frag, IOP_SW_FRAG_SIZE, &len);
    if (status < 0)
        status = host_failure(iop, "upload", status);
    else if (status == 0 && (r = iop_umem_write(c->um, a.buf, frag, len)) != 0)
        status = r;
    frag_free(iop, frag, stack_frag);
    return status;
}

int ctl_swdel(struct ctl_call *c) {
    struct iop_abi_sw_xfer a;
    struct iop_sw_xfer x;
    int r;

    if ((r = fetch_xfer(c, true, SW_OUT_SWLEN, &a, &x)) != 0)
        return r;
    struct iop_controller *iop = iop_system_find(c->ctl->sys, a.iop);
    if (!iop)
        return -ENXIO;
    if (!iop->answers || !iop->sw)
        return -ETIMEDOUT;
    uint32_t size = 0;
    x.maxfrag = x.curfrag = 0;
    int status = iop_swstore_remove(iop->sw, &x, &size);
    /* The document promises the real size in *swlen; the kernel never wrote it. */
    struct iop_sw_module_info info;
    if (iop_swstore_find(iop->sw, x.sw_type, x.sw_id, &info) == 0 || status == 0)
        if ((r = iop_umem_write_u32(c->um, a.swlen, size)) != 0)
            return r;
    if (status < 0)
        return host_failure(iop, "remove", status);
    /* Every non-OK reply was ETIMEDOUT in the kernel's I2OSWDEL. */
    if (status > 0)
        return -ETIMEDOUT;
    sw_event(iop, &x, size);
    return 0;
}
