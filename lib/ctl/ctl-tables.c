/* I2OGETIOPS, I2OHRTGET, I2OLCTGET, I2OVALIDATE: the IOP-level ioctls. */
#include <errno.h>
#include <stdlib.h>

#include "lib/ctl/abi.h"
#include "lib/ctl/ctl-internal.h"
#include "lib/i2o/iop.h"
#include "lib/util/cleanup.h"

/* I2OGETIOPS: 32 bytes, tab[unit] = 1 for every IOP present [i2o_cfg_getiops].
 * Never ENXIO; EFAULT when the table cannot be written. */
int ctl_getiops(struct ctl_call *c) {
    uint8_t tab[MAX_I2O_CONTROLLERS];
    int r;

    if ((r = iop_umem_want_out(c->um, c->arg, sizeof(tab))) < 0)
        return r;
    if ((r = iop_umem_sync(c->um)) != 0)
        return r;
    for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++)
        tab[i] = iop_system_find(c->ctl->sys, i) != NULL;
    return iop_umem_write(c->um, c->arg, tab, sizeof(tab));
}

/* I2OHRTGET / I2OLCTGET [i2o_cfg_gethrt / i2o_cfg_getlct], checks in the kernel's
 * order: copy the struct (EFAULT), get_user(reslen) (EFAULT), resbuf NULL (EFAULT),
 * IOP (ENXIO); then *reslen = len always, ENOBUFS if len > the caller's *reslen, else
 * copy the table.  Three rounds through CUSE: the struct, then *reslen in and both
 * outputs at once. */
static int hrtlct(struct ctl_call *c, bool lct) {
    uint8_t raw[IOP_ABI_MAX_ARG];
    struct iop_abi_hrtlct a;
    uint32_t reslen;
    int r;

    if ((r = ctl_fetch_arg(c, raw, iop_abi_hrtlct_size(c->compat))) != 0)
        return r;
    iop_abi_decode_hrtlct(raw, c->compat, &a);
    struct iop_controller *iop = iop_system_find(c->ctl->sys, a.iop);
    size_t len = 0;
    if (iop)
        len = lct ? iop_controller_lct(iop, NULL, 0) : iop_controller_hrt(iop, NULL, 0);
    if ((r = iop_umem_want_in(c->um, a.reslen, 4)) < 0 || (r = iop_umem_want_out(c->um, a.reslen, 4)) < 0)
        return r;
    if (iop && a.resbuf && (r = iop_umem_want_out(c->um, a.resbuf, len)) < 0)
        return r;
    if ((r = iop_umem_sync(c->um)) != 0)
        return r;
    if ((r = iop_umem_read_u32(c->um, a.reslen, &reslen)) != 0)
        return r;
    if (!a.resbuf)
        return -EFAULT;
    if (!iop)
        return -ENXIO;
    if ((r = iop_umem_write_u32(c->um, a.reslen, (uint32_t)len)) != 0)
        return r;
    if (len > reslen)
        return -ENOBUFS;
    _cleanup_free_ uint8_t *table = malloc(len);
    if (!table)
        return -ENOMEM;
    if (lct)
        iop_controller_lct(iop, table, len);
    else
        iop_controller_hrt(iop, table, len);
    return iop_umem_write(c->um, a.resbuf, table, len);
}

int ctl_hrtget(struct ctl_call *c) { return hrtlct(c, false); }
int ctl_lctget(struct ctl_call *c) { return hrtlct(c, true); }

/* I2OVALIDATE: the argument is the IOP number itself, not a pointer, whatever the
 * _IOR(..., __u32) in the header and "int *iop" in the old document say: the kernel
 * did "iop = (int)arg" [i2o_cfg_validate], so binary-compatible callers pass the value.
 * Any failure to get an answer is ETIMEDOUT. */
int ctl_validate(struct ctl_call *c) {
    struct iop_controller *iop = iop_system_find(c->ctl->sys, (uint32_t)c->arg);
    if (!iop)
        return -ENXIO;
    return iop_controller_validate(iop) < 0 ? -ETIMEDOUT : 0;
}
