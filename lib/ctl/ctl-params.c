/* I2OPARMGET / I2OPARMSET: UtilParamsGet/Set against a device's parameter groups
 * [i2o_cfg_parms; i2o-abi.md 5.3].
 *
 * Order of checks, as the kernel: copy the struct (EFAULT), get_user(reslen) (EFAULT),
 * IOP (ENXIO), TID (ENXIO, as 2.6 did), copy opbuf (EFAULT, ENOMEM), post; a helper
 * failure (no answer, or a single result block that failed) is EAGAIN; then *reslen =
 * len, ENOBUFS if len > the caller's *reslen, else the result list.  The length is the
 * early 2.6 kernel's: 4 * (1 + sum of BlockSize); the last kernels wrote 0 (a
 * regression userspace never expected).
 *
 * Rounds through CUSE: 3.  The struct; then *reslen and opbuf in, *reslen and up to the
 * kernel's 64 KiB result buffer out (only len bytes are written); then the answer.  A
 * bad IOP or TID asks for *reslen alone, so a fault there still wins over ENXIO. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ctl/abi.h"
#include "lib/ctl/ctl-internal.h"
#include "lib/i2o/devparams.h"
#include "lib/i2o/iop.h"
#include "lib/params/params-exec.h"
#include "lib/util/cleanup.h"
#include "lib/util/log.h"

static int parms(struct ctl_call *c, bool set) {
    uint8_t raw[IOP_ABI_MAX_ARG];
    struct iop_abi_psetget a;
    uint32_t reslen;
    int r;

    if ((r = ctl_fetch_arg(c, raw, iop_abi_psetget_size(c->compat))) != 0)
        return r;
    iop_abi_decode_psetget(raw, c->compat, &a);
    struct iop_controller *iop = iop_system_find(c->ctl->sys, a.iop);
    struct iop_device *dev = iop ? iop_controller_find_device(iop, a.tid) : NULL;
    /* memdup_user(oplen) of more than the IOP could ever take: the kernel's kmalloc
     * would fail first for absurd sizes; nothing is fetched. */
    bool too_big = a.oplen > IOP_PARAMS_OPLIST_MAX;
    if ((r = iop_umem_want_in(c->um, a.reslen, 4)) < 0)
        return r;
    if (dev && !too_big && (r = iop_umem_want_in(c->um, a.opbuf, a.oplen)) < 0)
        return r;
    if (dev && ((r = iop_umem_want_out(c->um, a.reslen, 4)) < 0 ||
                (a.resbuf && (r = iop_umem_want_out(c->um, a.resbuf, IOP_PARAMS_RESULT_MAX)) < 0)))
        return r;
    if ((r = iop_umem_sync(c->um)) != 0)
        return r;
    if ((r = iop_umem_read_u32(c->um, a.reslen, &reslen)) != 0)
        return r;
    if (!iop || !dev)
        return -ENXIO;
    if (too_big)
        return -ENOMEM;
    _cleanup_free_ uint8_t *ops = malloc(a.oplen ? a.oplen : 1);
    _cleanup_free_ uint8_t *res = malloc(IOP_PARAMS_RESULT_MAX);
    if (!ops || !res)
        return -ENOMEM;
    if ((r = iop_umem_read(c->um, a.opbuf, ops, a.oplen)) != 0)
        return r;
    if (!iop->answers)
        return -EAGAIN; /* i2o_parm_issue timed out: the ioctl said EAGAIN */

    int len = iop_device_params_exec(dev, set, ops, a.oplen, res, IOP_PARAMS_RESULT_MAX);
    if (len < 0)
        /* A list the IOP cannot parse fails the request: the kernel's helper returned a
         * negative status, which the ioctl turned into EAGAIN. */
        return len == -ENOMEM ? -ENOMEM : -EAGAIN;
    uint8_t single = 0;
    if (iop_params_result_len(res, (size_t)len, &single) >= 0 && single)
        return -EAGAIN; /* one block, failed: the early 2.6 helper returned -BlockStatus */
    if ((r = iop_umem_write_u32(c->um, a.reslen, (uint32_t)len)) != 0)
        return r;
    if ((uint32_t)len > reslen)
        return -ENOBUFS;
    if (!a.resbuf)
        return -EFAULT;
    return iop_umem_write(c->um, a.resbuf, res, (size_t)len);
}

int ctl_parmget(struct ctl_call *c) { return parms(c, false); }
int ctl_parmset(struct ctl_call *c) { return parms(c, true); }
