/* I2OHTML: the configuration dialog [2.4 i2o_config.c ioctl_html; i2o-abi.md 5.8].
 *
 * The 2.6 driver dropped it (EINVAL); iopd serves it as 2.4 did, with the document's
 * ENOBUFS instead of 2.4's ENOMEM-after-overflowing-the-buffer: copy the struct
 * (EFAULT), get_user(reslen) (EFAULT), resbuf NULL (EFAULT), IOP (ENXIO), then the TID
 * (ENXIO: iopd checks it, 2.4 let the IOP fail), copy the query (EFAULT; over
 * IOP_HTML_QUERY_MAX: ENOMEM, the kernel's kmalloc), post; an IOP that does not answer
 * is ETIMEDOUT.  The page is the reply as a string: *reslen = strlen(page), ENOBUFS if
 * that is more than the caller's *reslen, else the page (without its NUL).
 * Rounds through CUSE: 3. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ctl/abi.h"
#include "lib/ctl/ctl-internal.h"
#include "lib/i2o/html.h"
#include "lib/i2o/iop.h"
#include "lib/util/cleanup.h"

/* A form's query string is a few hundred bytes; this bounds what a caller can make the
 * daemon copy and parse. */
#define IOP_HTML_QUERY_MAX 16384u

int ctl_html(struct ctl_call *c) {
    uint8_t raw[IOP_ABI_MAX_ARG];
    struct iop_abi_html a;
    uint32_t reslen;
    int r;

    if ((r = ctl_fetch_arg(c, raw, iop_abi_html_size(c->compat))) != 0)
        return r;
    iop_abi_decode_html(raw, c->compat, &a);
    struct iop_controller *iop = iop_system_find(c->ctl->sys, a.iop);
    struct iop_device *dev = iop ? iop_controller_find_device(iop, a.tid) : NULL;
    bool query = a.qlen != 0 && a.qlen <= IOP_HTML_QUERY_MAX;
    if ((r = iop_umem_want_in(c->um, a.reslen, 4)) < 0)
        return r;
    if (dev && a.resbuf) {
        if ((query && (r = iop_umem_want_in(c->um, a.qbuf, a.qlen)) < 0) ||
            (r = iop_umem_want_out(c->um, a.reslen, 4)) < 0 ||
            (r = iop_umem_want_out(c->um, a.resbuf, IOP_HTML_MAX)) < 0)
            return r;
    }
    if ((r = iop_umem_sync(c->um)) != 0)
        return r;
    if ((r = iop_umem_read_u32(c->um, a.reslen, &reslen)) != 0)
        return r;
    if (!a.resbuf)
        return -EFAULT;
    if (!iop || !dev)
        return -ENXIO;
    if (a.qlen > IOP_HTML_QUERY_MAX)
        return -ENOMEM;
    _cleanup_free_ char *q = malloc(a.qlen ? a.qlen : 1);
    _cleanup_free_ char *page = malloc(IOP_HTML_MAX);
    if (!q || !page)
        return -ENOMEM;
    if (query && (r = iop_umem_read(c->um, a.qbuf, q, a.qlen)) != 0)
        return r;
    if (!iop->answers)
        return -ETIMEDOUT;
    int len = iop_html_page(dev, a.page, q, a.qlen, page, IOP_HTML_MAX);
    if (len == -ENOMEM)
        return len;
    if (len < 0)
        /* A query the dialog cannot parse: the IOP's reply is an error status, which
         * 2.4 did not treat as a failure; the page is then empty. */
        len = 0;
    len = (int)strnlen(page, (size_t)len);
    if ((r = iop_umem_write_u32(c->um, a.reslen, (uint32_t)len)) != 0)
        return r;
    if ((uint32_t)len > reslen)
        return -ENOBUFS;
    return iop_umem_write(c->um, a.resbuf, page, (size_t)len);
}
