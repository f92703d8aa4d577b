/* The state file format (see state.h), whole-file writes and reads, the streaming
 * writer and the random-access reader. */
#include "lib/state/state.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/util/crc32.h"
#include "lib/state/state-private.h"
#include "lib/util/bytes.h"
#include "lib/util/cleanup.h"
#include "lib/util/log.h"

static const char state_magic[8] = { 'i', 'o', 'p', 'd', 's', 't', 'a', 't' };

/* Header field offsets (state.h has the table). */
#define H_MAGIC 0
#define H_VERSION 8
#define H_HDRSIZE 10
#define H_CRC 12
#define H_LENGTH 16
#define H_RESERVED 24
#define H_HDRCRC 28

/* Verification streams the payload through this much memory. */
#define VERIFY_CHUNK (64u * 1024u)
/* Bounded retries for a unique temporary name (a clash means a stale file from an
 * earlier owner that open could not remove). */
#define TMP_NAME_TRIES 16
/* A writer holds up to this many payload bytes back, so that a small write (a software
 * module's 16-byte header) goes to the file in the same system call as the data after
 * it, or as the header at commit.  Under the VM's emulated CPU each system call of a
 * download costs ~20 us: writing the header, a placeholder and the data separately made
 * four pwrites of a one-fragment download where one does. */
#define PEND_MAX 256u

struct iop_state_writer {
    struct iop_state_dir *dir; /* borrowed; outlives the writer */
    int fd;                    /* owned: the temporary file, -1 once handed to a reader */
    uint64_t len;
    uint64_t max_len;
    uint32_t crc;              /* of all len bytes, pending ones included */
    uint32_t pend_len;         /* the last pend_len of the len bytes are in pend, not the file */
    bool finished;             /* committed or abandoned: accepts nothing more */
    uint8_t pend[PEND_MAX];
    char name[IOP_STATE_NAME_MAX + 1];
    char tmp[STATE_TMP_NAME_MAX];
};

struct iop_state_reader {
    int fd; /* owned */
    uint64_t len;
};

static void header_build(uint8_t h[IOP_STATE_HEADER_SIZE], uint64_t len, uint32_t crc) {
    memset(h, 0, IOP_STATE_HEADER_SIZE);
    memcpy(h + H_MAGIC, state_magic, sizeof(state_magic));
    iop_put_le16(h + H_VERSION, IOP_STATE_VERSION);
    iop_put_le16(h + H_HDRSIZE, IOP_STATE_HEADER_SIZE);
    iop_put_le32(h + H_CRC, crc);
    iop_put_le64(h + H_LENGTH, len);
    iop_put_le32(h + H_HDRCRC, iop_crc32(0, h, H_HDRCRC));
}

/* Check a header against the file's real size; on success the payload length and
 * CRC.  Every failure names the file and the reason. */
static int header_parse(const uint8_t h[IOP_STATE_HEADER_SIZE], uint64_t file_size,
                        const char *name, uint64_t max_len, uint64_t *ret_len,
                        uint32_t *ret_crc) {
    if (memcmp(h + H_MAGIC, state_magic, sizeof(state_magic)) != 0)
        return iop_log_errno(LOG_WARNING, -EBADMSG, "state file %s: not a state file (bad magic)",
                             name);
    if (iop_get_le32(h + H_HDRCRC) != iop_crc32(0, h, H_HDRCRC))
        return iop_log_errno(LOG_WARNING, -EBADMSG, "state file %s: header checksum mismatch",
                             name);
    unsigned version = iop_get_le16(h + H_VERSION);
    if (version > IOP_STATE_VERSION)
        return iop_log_errno(LOG_WARNING, -EPROTONOSUPPORT,
                             "state file %s: format version %u is newer than %u", name,
                             version, IOP_STATE_VERSION);
    if (version == 0 || iop_get_le16(h + H_HDRSIZE) != IOP_STATE_HEADER_SIZE ||
        iop_get_le32(h + H_RESERVED) != 0)
        return iop_log_errno(LOG_WARNING, -EBADMSG, "state file %s: malformed header", name);
    uint64_t len = iop_get_le64(h + H_LENGTH);
    if (len != file_size - IOP_STATE_HEADER_SIZE)
        return iop_log_errno(LOG_WARNING, -EBADMSG,
                             "state file %s: %s (header says %" PRIu64 " bytes, file has %" PRIu64 ")",
                             name, len > file_size - IOP_STATE_HEADER_SIZE ? "truncated" : "trailing data",
                             len, file_size - IOP_STATE_HEADER_SIZE);
    if (len > max_len || len > IOP_STATE_SIZE_MAX)
        return iop_log_errno(LOG_WARNING, -EFBIG,
                             "state file %s: %" PRIu64 " bytes, more than the %" PRIu64 " allowed",
                             name, len, IOP_MIN(max_len, (uint64_t)IOP_STATE_SIZE_MAX));
    *ret_len = len;
    *ret_crc = iop_get_le32(h + H_CRC);
    return 0;
}

/* pwritev() all of iov[0..cnt) at off, going on after a short write.  Modifies iov. */
static int pwritev_full(int fd, struct iovec *iov, int cnt, uint64_t off) {
    while (cnt > 0) {
        if (iov->iov_len == 0) {
            iov++;
            cnt--;
            continue;
        }
        ssize_t k = pwritev(fd, iov, cnt, (off_t)off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            return -EIO;
        off += (uint64_t)k;
        for (size_t left = (size_t)k; left > 0;) {
            size_t step = IOP_MIN(left, iov->iov_len);
            iov->iov_base = (uint8_t *)iov->iov_base + step;
            iov->iov_len -= step;
            left -= step;
            if (iov->iov_len == 0) {
                iov++;
                cnt--;
            }
        }
    }
    return 0;
}

static int pwrite_full(int fd, const void *buf, size_t n, uint64_t off) {
    struct iovec iov = { (void *)buf, n };
    return pwritev_full(fd, &iov, 1, off);
}

/* Read exactly n bytes; a file shorter than that changed under us: -EIO. */
static int pread_full(int fd, void *buf, size_t n, uint64_t off) {
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t k = pread(fd, p, n, (off_t)off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            return -EIO;
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* Open name and check its header; the fd and the payload's length and CRC. */
static int open_checked(struct iop_state_dir *d, const char *name, uint64_t max_len, int *ret_fd,
                        uint64_t *ret_len, uint32_t *ret_crc) {
    if (d->crashed)
        return -ECANCELED;
    if (iop_state_name_valid(name) < 0)
        return -EINVAL;
    /* O_NOFOLLOW: a symlink planted in the state directory is not followed. */
    _cleanup_close_ int fd = openat(d->fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return errno == ELOOP ? iop_log_errno(LOG_WARNING, -EBADMSG,
                                              "state file %s: is a symbolic link", name)
                              : -errno;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return iop_log_errno(LOG_WARNING, -EBADMSG, "state file %s: not a regular file", name);
    if ((uint64_t)st.st_size < IOP_STATE_HEADER_SIZE)
        return iop_log_errno(LOG_WARNING, -EBADMSG,
                             "state file %s: truncated (%jd bytes, shorter than the header)",
                             name, (intmax_t)st.st_size);
    uint8_t h[IOP_STATE_HEADER_SIZE];
    int r = pread_full(fd, h, sizeof(h), 0);
    if (r < 0)
        return r;
    r = header_parse(h, (uint64_t)st.st_size, name, max_len, ret_len, ret_crc);
    if (r < 0)
        return r;
    *ret_fd = TAKE_FD(fd);
    return 0;
}

static int crc_mismatch(const char *name, uint32_t want, uint32_t got) {
    return iop_log_errno(LOG_WARNING, -EBADMSG,
                         "state file %s: payload checksum mismatch (0x%08x, header says 0x%08x)",
                         name, got, want);
}

int iop_state_read(struct iop_state_dir *d, const char *name, void **ret_buf, size_t *ret_len,
                   size_t max_len) {
    assert(d && ret_buf && ret_len);
    _cleanup_close_ int fd = -1;
    uint64_t len;
    uint32_t crc;
    int r = open_checked(d, name, max_len, &fd, &len, &crc);
    if (r < 0)
        return r;
    _cleanup_free_ uint8_t *buf = malloc((size_t)len + 1);
    if (!buf)
        return -ENOMEM;
    r = pread_full(fd, buf, (size_t)len, IOP_STATE_HEADER_SIZE);
    if (r < 0)
        return r;
    uint32_t got = iop_crc32(0, buf, (size_t)len);
    if (got != crc)
        return crc_mismatch(name, crc, got);
    buf[len] = 0;
    *ret_buf = TAKE_PTR(buf);
    *ret_len = (size_t)len;
    return 0;
}

int iop_state_write_atomic(struct iop_state_dir *d, const char *name, const void *data,
                           size_t len) {
    assert(d);
    if (len > 0 && !data)
        return -EINVAL;
    if (len > IOP_STATE_SIZE_MAX)
        return -EFBIG;
    struct iop_state_writer *w = NULL;
    int r = iop_state_writer_new(d, name, len, &w);
    if (r < 0)
        return r;
    r = iop_state_writer_commit_with(w, data, len, NULL);
    iop_state_writer_free(w);
    return r;
}

/* Give up a writer's temporary file: closed and removed, unless the process is "dead",
 * in which case it stays for the next open to find. */
static void writer_abandon(struct iop_state_writer *w) {
    if (w->finished)
        return;
    w->finished = true;
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    if (!w->dir->crashed && unlinkat(w->dir->fd, w->tmp, 0) < 0)
        iop_warn("state: cannot remove temporary file %s: %s", w->tmp, strerror(errno));
}

/* A simulated crash: the fd closes as at process death, the file stays. */
static int writer_died(struct iop_state_writer *w, int r) {
    w->finished = true;
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    return r;
}

int iop_state_writer_new(struct iop_state_dir *d, const char *name, uint64_t max_len,
                         struct iop_state_writer **ret) {
    assert(d && ret);
    if (d->crashed)
        return -ECANCELED;
    if (iop_state_name_valid(name) < 0)
        return -EINVAL;
    if (max_len > IOP_STATE_SIZE_MAX)
        return -EFBIG;
    struct iop_state_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->dir = d;
    w->max_len = max_len;
    w->fd = -1;
    snprintf(w->name, sizeof(w->name), "%s", name);
    for (int i = 0; i < TMP_NAME_TRIES && w->fd < 0; i++) {
        snprintf(w->tmp, sizeof(w->tmp), STATE_TMP_PREFIX "%s.%" PRIu64, name, d->tmp_counter++);
        /* O_RDWR: a committed writer hands its fd to a reader. */
        w->fd = openat(d->fd, w->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (w->fd < 0 && errno != EEXIST)
            break;
    }
    if (w->fd < 0) {
        int r = -errno;
        free(w);
        return iop_log_errno(LOG_ERR, r, "state: cannot create a temporary file for %s: %s",
                             name, strerror(-r));
    }
    d->n_writers++;
    /* No header yet: until commit writes the real one, the first 32 bytes are a hole
     * (zeros) or not there at all, so a file left by a crash is never mistaken for a
     * state file, even if renamed by hand. */
    int r = state_step(d, IOP_STATE_STEP_TEMP_CREATED, name);
    if (r < 0) {
        writer_died(w, r);
        iop_state_writer_free(w);
        return r;
    }
    *ret = w;
    return 0;
}

/* Write the pending bytes and then data[0..n) behind them; on success nothing is
 * pending.  The file offset of the pending bytes is where the payload's len - pend_len
 * byte goes. */
static int writer_flush(struct iop_state_writer *w, const void *data, size_t n) {
    struct iovec iov[2] = { { w->pend, w->pend_len }, { (void *)data, n } };
    int r = pwritev_full(w->fd, iov, 2, IOP_STATE_HEADER_SIZE + (w->len - w->pend_len));
    if (r == 0)
        w->pend_len = 0;
    return r;
}

int iop_state_writer_write(struct iop_state_writer *w, const void *data, size_t n) {
    assert(w);
    if (w->dir->crashed)
        return writer_died(w, -ECANCELED);
    if (w->finished || (n > 0 && !data))
        return -EINVAL;
    if (n > w->max_len - w->len)
        return -EFBIG;
    if (n <= PEND_MAX - w->pend_len) {
        if (n > 0)
            memcpy(w->pend + w->pend_len, data, n);
        w->pend_len += (uint32_t)n;
    } else {
        int r = writer_flush(w, data, n);
        if (r < 0) {
            iop_err("state: cannot write %s: %s", w->tmp, strerror(-r));
            writer_abandon(w);
            return r;
        }
    }
    w->crc = iop_crc32(w->crc, data, n);
    w->len += n;
    int r = state_step(w->dir, IOP_STATE_STEP_TEMP_DATA, w->name);
    if (r < 0)
        return writer_died(w, r);
    return 0;
}

uint64_t iop_state_writer_length(const struct iop_state_writer *w) {
    assert(w);
    return w->len;
}

int iop_state_writer_commit(struct iop_state_writer *w, struct iop_state_reader **ret_reader) {
    return iop_state_writer_commit_with(w, NULL, 0, ret_reader);
}

int iop_state_writer_commit_with(struct iop_state_writer *w, const void *tail, size_t n,
                                 struct iop_state_reader **ret_reader) {
    assert(w);
    struct iop_state_dir *d = w->dir;
    if (d->crashed)
        return writer_died(w, -ECANCELED);
    if (w->finished || (n > 0 && !tail))
        return -EINVAL;
    if (n > w->max_len - w->len)
        return -EFBIG;
    struct iop_state_reader *reader = NULL;
    if (ret_reader && !(reader = calloc(1, sizeof(*reader))))
        return -ENOMEM;

    /* The tail, the pending bytes and the header in as few writes as their places
     * allow: one when nothing was written yet (every small file, every one-fragment
     * module), else the bytes behind what was written and then the header. */
    uint32_t crc = n > 0 ? iop_crc32(w->crc, tail, n) : w->crc;
    uint8_t h[IOP_STATE_HEADER_SIZE];
    header_build(h, w->len + n, crc);
    int r;
    if (w->len == w->pend_len) {
        struct iovec iov[3] = { { h, sizeof(h) }, { w->pend, w->pend_len }, { (void *)tail, n } };
        r = pwritev_full(w->fd, iov, 3, 0);
    } else {
        r = writer_flush(w, tail, n);
        if (r == 0)
            r = pwrite_full(w->fd, h, sizeof(h), 0);
    }
    if (r < 0)
        goto fail_io;
    w->pend_len = 0;
    w->crc = crc;
    w->len += n;
    if (n > 0 && (r = state_step(d, IOP_STATE_STEP_TEMP_DATA, w->name)) < 0)
        goto died;
    if ((r = state_step(d, IOP_STATE_STEP_TEMP_WRITTEN, w->name)) < 0)
        goto died;
    /* The data must be on disk before the name points at it. */
    if (fsync(w->fd) < 0) {
        r = -errno;
        goto fail_io;
    }
    if ((r = state_step(d, IOP_STATE_STEP_TEMP_SYNCED, w->name)) < 0)
        goto died;
    if (renameat(d->fd, w->tmp, d->fd, w->name) < 0) {
        r = -errno;
        goto fail_io;
    }
    w->finished = true;
    if ((r = state_step(d, IOP_STATE_STEP_RENAMED, w->name)) < 0)
        goto died;
    state_sync_dir(d, w->name);
    if ((r = state_step(d, IOP_STATE_STEP_DIR_SYNCED, w->name)) < 0)
        goto died;
    if (reader) {
        reader->fd = w->fd;
        reader->len = w->len;
        w->fd = -1;
        *ret_reader = reader;
    }
    return 0;

fail_io:
    iop_err("state: cannot commit %s: %s", w->name, strerror(-r));
    writer_abandon(w);
    free(reader);
    return r;
died:
    free(reader);
    return writer_died(w, r);
}

struct iop_state_writer *iop_state_writer_free(struct iop_state_writer *w) {
    if (!w)
        return NULL;
    writer_abandon(w);
    if (w->fd >= 0)
        close(w->fd);
    assert(w->dir->n_writers > 0);
    w->dir->n_writers--;
    free(w);
    return NULL;
}

int iop_state_reader_open(struct iop_state_dir *d, const char *name, uint64_t max_len,
                          struct iop_state_reader **ret) {
    assert(d && ret);
    _cleanup_close_ int fd = -1;
    uint64_t len;
    uint32_t crc;
    int r = open_checked(d, name, max_len, &fd, &len, &crc);
    if (r < 0)
        return r;
    _cleanup_free_ uint8_t *buf = malloc(VERIFY_CHUNK);
    if (!buf)
        return -ENOMEM;
    uint32_t got = 0;
    for (uint64_t off = 0; off < len;) {
        size_t n = (size_t)IOP_MIN((uint64_t)VERIFY_CHUNK, len - off);
        if ((r = pread_full(fd, buf, n, IOP_STATE_HEADER_SIZE + off)) < 0)
            return r;
        got = iop_crc32(got, buf, n);
        off += n;
    }
    if (got != crc)
        return crc_mismatch(name, crc, got);
    struct iop_state_reader *rd = calloc(1, sizeof(*rd));
    if (!rd)
        return -ENOMEM;
    rd->fd = TAKE_FD(fd);
    rd->len = len;
    *ret = rd;
    return 0;
}

uint64_t iop_state_reader_length(const struct iop_state_reader *r) {
    assert(r);
    return r->len;
}

int iop_state_reader_pread(struct iop_state_reader *r, uint64_t off, void *buf, size_t n) {
    assert(r);
    if (n > IOP_STATE_PREAD_MAX || (n > 0 && !buf))
        return -EINVAL;
    if (off >= r->len)
        return 0;
    n = (size_t)IOP_MIN((uint64_t)n, r->len - off);
    int k = pread_full(r->fd, buf, n, IOP_STATE_HEADER_SIZE + off);
    return k < 0 ? k : (int)n;
}

struct iop_state_reader *iop_state_reader_free(struct iop_state_reader *r) {
    if (!r)
        return NULL;
    if (r->fd >= 0)
        close(r->fd);
    free(r);
    return NULL;
}
