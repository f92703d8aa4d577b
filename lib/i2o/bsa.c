#include "lib/i2o/bsa.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/i2o/bsa-journal.h"
#include "lib/i2o/iop.h"
#include "lib/i2o/isa-path.h"
#include "lib/i2o/msg.h"
#include "lib/state/state.h"
#include "lib/util/log.h"

#define BSA_DSC_SUCCESS 0x0000
#define BSA_DSC_MEDIA_ERROR 0x0001
#define BSA_DSC_ACCESS_ERROR 0x0002
#define BSA_DSC_DEVICE_NOT_READY 0x0004

/* The write journal next to a medium in the state directory: an interrupted write is
 * completed before anything else reads the medium. */
static void open_journal(struct iop_device *d, int mfd, uint64_t size) {
    char name[32];
    snprintf(name, sizeof(name), "disk-%03x.jnl", d->tid);
    int jfd = iop_state_open_raw(d->iop->state, name, O_RDWR | O_CREAT, 0600);
    if (jfd < 0) {
        iop_log(LOG_WARNING, "IOP %u TID 0x%03x: %s: %s; block writes are not atomic against a crash",
                d->iop->unit, d->tid, name, strerror(-jfd));
        return;
    }
    uint64_t addr = 0;
    uint32_t len = 0;
    int r = iop_bsa_journal_replay(jfd, mfd, size, &addr, &len);
    if (r > 0)
        iop_log(LOG_NOTICE, "IOP %u TID 0x%03x: completed a block write the daemon was stopped in (%u bytes "
                "at byte %llu)", d->iop->unit, d->tid, len, (unsigned long long)addr);
    else if (r == -ERANGE)
        iop_log(LOG_WARNING, "IOP %u TID 0x%03x: %s holds a write outside the %llu-byte medium (an earlier "
                "geometry?); ignored", d->iop->unit, d->tid, name, (unsigned long long)size);
    else if (r < 0)
        iop_log(LOG_ERR, "IOP %u TID 0x%03x: completing an interrupted block write from %s: %s", d->iop->unit,
                d->tid, name, strerror(-r));
    d->jnl_fd = jfd;
}

/* The medium, opened on first use: a sparse file of exactly the capacity. */
int iop_bsa_medium(struct iop_device *d) {
    if (d->blk_fd >= 0)
        return d->blk_fd;
    uint64_t size = (uint64_t)d->blocks * d->block_size;
    int fd;
    if (d->iop->state) {
        char name[32];
        snprintf(name, sizeof(name), "disk-%03x.img", d->tid);
        fd = iop_state_open_raw(d->iop->state, name, O_RDWR | O_CREAT, 0600);
    } else {
        fd = memfd_create("iopd-disk", MFD_CLOEXEC);
        if (fd < 0)
            fd = -errno;
    }
    if (fd < 0)
        return fd;
    if (ftruncate(fd, (off_t)size) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    if (d->iop->state)
        open_journal(d, fd, size);
    d->blk_fd = fd;
    return fd;
}

void iop_bsa_close(struct iop_device *d) {
    if (d && d->blk_fd >= 0) {
        close(d->blk_fd);
        d->blk_fd = -1;
    }
    if (d && d->jnl_fd >= 0) {
        close(d->jnl_fd);
        d->jnl_fd = -1;
    }
}

/* Write the bytes a BsaBlockWrite brought, through the journal when there is one.
 * 0, or -errno with *touched telling whether the medium may have changed. */
static int medium_write(struct iop_device *d, int fd, const void *buf, uint32_t n, uint64_t addr, int *touched) {
    if (d->jnl_fd >= 0)
        return iop_bsa_journal_write(d->jnl_fd, fd, addr, buf, n, touched);
    *touched = 1;
    ssize_t w = pwrite(fd, buf, n, (off_t)addr);
    return w < 0 ? -errno : (uint32_t)w == n ? 0 : -ENOSPC;
}

static int reply(struct iop_msg *m, uint8_t status, uint16_t dsc, uint32_t count) {
    iop_msg_reply(m, 6, status, dsc);
    if (m->reply_words > 5)
        m->reply[5] = count;
    return status;
}

int iop_bsa_dma(struct iop_device *d, bool to_iop, void *dst, const void *src, size_t n) {
    if (!d->iop->isa) {
        memcpy(dst, src, n);
        return (int)n;
    }
    return iop_isa_path_move(d->iop->isa, to_iop, dst, src, n);
}

static int rw(struct iop_device *d, struct iop_msg *m, bool write) {
    if (m->words < 8)
        return reply(m, IOP_REPLY_ERROR_NO_DATA_TRANSFER, IOP_DSC_MESSAGE_TOO_SMALL, 0);
    uint32_t count = m->frame[5];
    uint64_t addr = (uint64_t)m->frame[6] | (uint64_t)m->frame[7] << 32;
    uint64_t size = (uint64_t)d->blocks * d->block_size;
    if (!d->block_size || count == 0 || count % d->block_size || addr % d->block_size ||
        count > IOP_BSA_MAX_TRANSFER)
        return reply(m, IOP_REPLY_ERROR_NO_DATA_TRANSFER, IOP_DSC_INVALID_PARAMETER, 0);
    if (addr > size || count > size - addr)
        return reply(m, IOP_REPLY_ERROR_NO_DATA_TRANSFER, BSA_DSC_ACCESS_ERROR, 0);
    uint64_t room = 0;
    for (unsigned i = 0; i < m->n_sg; i++)
        if (m->sg[i].to_iop == write)
            room += m->sg[i].len;
    if (room < count)
        return reply(m, IOP_REPLY_ERROR_NO_DATA_TRANSFER, IOP_DSC_INVALID_PARAMETER, 0);
    int fd = iop_bsa_medium(d);
    if (fd < 0) {
        iop_log(LOG_ERR, "IOP %u TID 0x%03x: medium: %s", d->iop->unit, d->tid, strerror(-fd));
        return reply(m, IOP_REPLY_ERROR_NO_DATA_TRANSFER, BSA_DSC_DEVICE_NOT_READY, 0);
    }
    uint8_t *buf = malloc(count);
    if (!buf)
        return reply(m, IOP_REPLY_ERROR_NO_DATA_TRANSFER, IOP_DSC_INSUFFICIENT_RESOURCE_HARD, 0);
    uint32_t done = 0;
    uint8_t status = IOP_REPLY_SUCCESS;
    uint16_t dsc = BSA_DSC_SUCCESS;
    if (!write && pread(fd, buf, count, (off_t)addr) != (ssize_t)count) {
        status = IOP_REPLY_ERROR_NO_DATA_TRANSFER;
        dsc = BSA_DSC_MEDIA_ERROR;
        goto out;
    }
    /* Element by element through the channel, as the IOP's DMA engine walks the SGL. */
    for (unsigned i = 0; i < m->n_sg && done < count; i++) {
        struct iop_msg_sg *e = &m->sg[i];
        if (e->to_iop != write)
            continue;
        uint32_t n = e->len < count - done ? e->len : count - done;
        int r = write ? iop_bsa_dma(d, true, buf + done, e->data, n) : iop_bsa_dma(d, false, e->data, buf + done, n);
        if (r < 0 || (uint32_t)r < n) {
            status = done || r > 0 ? IOP_REPLY_ABORT_PARTIAL_TRANSFER : IOP_REPLY_ABORT_NO_DATA_TRANSFER;
            dsc = BSA_DSC_ACCESS_ERROR;
            if (r > 0)
                done += (uint32_t)r;
            break;
        }
        if (!write)
            e->done = n;
        done += n;
    }
    int touched = 0, r;
    if (write && done && (r = medium_write(d, fd, buf, done, addr, &touched)) < 0) {
        iop_log(LOG_ERR, "IOP %u TID 0x%03x: writing %u bytes at byte %llu of its medium: %s%s", d->iop->unit,
                d->tid, done, (unsigned long long)addr, strerror(-r),
                touched ? "" : " (the medium is unchanged)");
        status = touched ? IOP_REPLY_ERROR_DIRTY : IOP_REPLY_ERROR_NO_DATA_TRANSFER;
        dsc = BSA_DSC_MEDIA_ERROR;
        done = 0;
    }
out:
    free(buf);
    return reply(m, status, dsc, done);
}

int iop_bsa_post(struct iop_device *d, struct iop_msg *m) {
    assert(d && m);
    unsigned fn = m->frame[1] >> 24;
    switch (fn) {
    case IOP_FN_BSA_BLOCK_READ:
        return rw(d, m, false);
    case IOP_FN_BSA_BLOCK_WRITE:
        return rw(d, m, true);
    case IOP_FN_BSA_CACHE_FLUSH: {
        int fd = iop_bsa_medium(d);
        if (fd < 0 || fsync(fd) < 0 || (d->jnl_fd >= 0 && fsync(d->jnl_fd) < 0))
            return reply(m, IOP_REPLY_ERROR_NO_DATA_TRANSFER, BSA_DSC_MEDIA_ERROR, 0);
        return reply(m, IOP_REPLY_SUCCESS, BSA_DSC_SUCCESS, 0);
    }
    }
    return -ENOSYS;
}
