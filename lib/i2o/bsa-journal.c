#include "lib/i2o/bsa-journal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/i2o/bsa.h"
#include "lib/util/crc32.h"
#include "lib/util/bytes.h"

static const uint8_t magic[8] = { 'I', 'O', 'P', 'D', 'B', 'J', 'N', 'L' };

void iop_bsa_journal_header(uint8_t h[IOP_BSA_JOURNAL_HEADER], uint64_t addr, const void *data, uint32_t len) {
    memcpy(h, magic, 8);
    iop_put_le32(h + 8, (uint32_t)addr);
    iop_put_le32(h + 12, (uint32_t)(addr >> 32));
    iop_put_le32(h + 16, len);
    iop_put_le32(h + 20, iop_crc32(0, data, len));
    iop_put_le32(h + 24, iop_crc32(0, h, 24));
    iop_put_le32(h + 28, 0);
}

int iop_bsa_journal_parse(const uint8_t *rec, size_t n, uint64_t capacity, uint64_t *addr, uint32_t *len) {
    if (!rec || n < IOP_BSA_JOURNAL_HEADER || memcmp(rec, magic, 8) != 0 ||
        iop_get_le32(rec + 24) != iop_crc32(0, rec, 24) || iop_get_le32(rec + 28) != 0)
        return -ENOENT;
    uint64_t a = (uint64_t)iop_get_le32(rec + 8) | (uint64_t)iop_get_le32(rec + 12) << 32;
    uint32_t l = iop_get_le32(rec + 16);
    if (l == 0 || l > IOP_BSA_MAX_TRANSFER || n - IOP_BSA_JOURNAL_HEADER < l ||
        iop_get_le32(rec + 20) != iop_crc32(0, rec + IOP_BSA_JOURNAL_HEADER, l))
        return -ENOENT;
    if (a > capacity || l > capacity - a)
        return -ERANGE;
    *addr = a;
    *len = l;
    return 0;
}

static int pwrite_all(int fd, const void *buf, size_t n, off_t off) {
    ssize_t w = pwrite(fd, buf, n, off);
    if (w < 0)
        return -errno;
    return (size_t)w == n ? 0 : -ENOSPC; /* a short write to a regular file: out of room */
}

int iop_bsa_journal_write(int jfd, int mfd, uint64_t addr, const void *data, uint32_t len, int *medium_written) {
    uint8_t h[IOP_BSA_JOURNAL_HEADER];
    *medium_written = 0;
    iop_bsa_journal_header(h, addr, data, len);
    struct iovec iov[2] = { { h, sizeof(h) }, { (void *)data, len } };
    ssize_t w = pwritev(jfd, iov, 2, 0);
    if (w < 0)
        return -errno;
    if ((size_t)w != sizeof(h) + len)
        return -ENOSPC;
    *medium_written = 1;
    int r = pwrite_all(mfd, data, len, (off_t)addr);
    if (r < 0)
        return r;
    static const uint8_t done[8];
    return pwrite_all(jfd, done, sizeof(done), 0);
}

int iop_bsa_journal_replay(int jfd, int mfd, uint64_t capacity, uint64_t *addr, uint32_t *len) {
    size_t cap = IOP_BSA_JOURNAL_HEADER + IOP_BSA_MAX_TRANSFER;
    uint8_t *rec = malloc(cap);
    if (!rec)
        return -ENOMEM;
    ssize_t n = pread(jfd, rec, cap, 0);
    int r = n < 0 ? -errno : iop_bsa_journal_parse(rec, (size_t)n, capacity, addr, len);
    if (r == 0 && (r = pwrite_all(mfd, rec + IOP_BSA_JOURNAL_HEADER, *len, (off_t)*addr)) == 0) {
        static const uint8_t done[8];
        r = pwrite_all(jfd, done, sizeof(done), 0);
        r = r < 0 ? r : 1;
    } else if (r == -ENOENT) {
        r = 0;
    }
    free(rec);
    return r;
}
