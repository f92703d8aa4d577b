#include "lib/umem/umem.h"

#include <assert.h>
#include <errno.h>

int iop_umem_want_in(struct iop_umem *um, uint64_t uaddr, size_t n) {
    assert(um);
    return um->ops->want_in ? um->ops->want_in(um->ctx, uaddr, n) : 0;
}

int iop_umem_want_out(struct iop_umem *um, uint64_t uaddr, size_t n) {
    assert(um);
    return um->ops->want_out ? um->ops->want_out(um->ctx, uaddr, n) : 0;
}

int iop_umem_sync(struct iop_umem *um) {
    assert(um);
    return um->ops->sync ? um->ops->sync(um->ctx) : 0;
}

int iop_umem_read(struct iop_umem *um, uint64_t uaddr, void *dst, size_t n) {
    assert(um);
    if (n == 0)
        return 0;
    return um->ops->read(um->ctx, uaddr, dst, n);
}

int iop_umem_write(struct iop_umem *um, uint64_t uaddr, const void *src, size_t n) {
    assert(um);
    if (n == 0)
        return 0;
    return um->ops->write(um->ctx, uaddr, src, n);
}

int iop_umem_read_u32(struct iop_umem *um, uint64_t uaddr, uint32_t *v) {
    return iop_umem_read(um, uaddr, v, sizeof(*v));
}

int iop_umem_write_u32(struct iop_umem *um, uint64_t uaddr, uint32_t v) {
    return iop_umem_write(um, uaddr, &v, sizeof(v));
}
