#include "lib/state/state-fuzz.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util/crc32.h"
#include "lib/state/state.h"
#include "lib/util/bytes.h"
#include "lib/util/cleanup.h"
#include "lib/util/fuzz-scratch.h"
#include "lib/util/fuzz.h"

#define FILE_NAME "t.state"
#define COPY_NAME "copy.state"
#define LEFTOVER_NAME ".tmp." FILE_NAME ".1"
#define MAX_EXTRA 8

/* The format of state.h, read independently: 0 intact, else the errno expected. */
static int reference(const uint8_t *f, size_t n, uint64_t max_len) {
    static const uint8_t magic[8] = { 'i', 'o', 'p', 'd', 's', 't', 'a', 't' };
    if (n < 32 || memcmp(f, magic, 8) != 0 || iop_get_le32(f + 28) != iop_crc32(0, f, 28))
        return -EBADMSG;
    unsigned version = iop_get_le16(f + 8);
    if (version > IOP_STATE_VERSION)
        return -EPROTONOSUPPORT;
    if (version == 0 || iop_get_le16(f + 10) != 32 || iop_get_le32(f + 24) != 0 ||
        iop_get_le64(f + 16) != n - 32)
        return -EBADMSG;
    if (n - 32 > max_len)
        return -EFBIG;
    if (iop_crc32(0, f + 32, n - 32) != iop_get_le32(f + 12))
        return -EBADMSG;
    return 0;
}

static int write_file(const char *dir, const char *name, const void *p, size_t n) {
    char path[IOP_FUZZ_SCRATCH_PATH_MAX + 300];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
    if (fd < 0)
        return -errno;
    ssize_t w = n ? write(fd, p, n) : 0;
    close(fd);
    return w == (ssize_t)n ? 0 : -EIO;
}

static void make_extra(const char *dir, struct iop_fuzz_in *in) {
    unsigned count = iop_fuzz_u8(in) % (MAX_EXTRA + 1);
    for (unsigned i = 0; i < count; i++) {
        uint8_t kind = iop_fuzz_u8(in);
        const uint8_t *raw;
        size_t nlen = iop_fuzz_bytes(in, iop_fuzz_u8(in) % 80, &raw);
        char name[81];
        for (size_t k = 0; k < nlen; k++)
            name[k] = raw[k] == '/' || raw[k] == 0 ? 'x' : (char)raw[k];
        name[nlen] = 0;
        const uint8_t *body;
        size_t blen = iop_fuzz_bytes(in, iop_fuzz_u8(in), &body);
        /* Not the harness's own names: those must stay what the harness makes them. */
        if (!nlen || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strcmp(name, FILE_NAME) == 0 ||
            strcmp(name, COPY_NAME) == 0 || strcmp(name, LEFTOVER_NAME) == 0 ||
            strncmp(name, ".tmp." COPY_NAME, strlen(".tmp." COPY_NAME)) == 0)
            continue;
        char path[IOP_FUZZ_SCRATCH_PATH_MAX + 100];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        switch (kind % 4) {
        case 0: (void)write_file(dir, name, body, blen); break;
        case 1: (void)mkdir(path, 0700); break;
        case 2: (void)!symlink(FILE_NAME, path); break;
        default: (void)mkfifo(path, 0600); break;
        }
    }
}

static int check_listing(const char *dir, struct iop_state_dir *d) {
    DIR *dd = opendir(dir);
    if (!dd)
        return IOP_FUZZ_FAIL("state: scratch directory gone");
    struct dirent *de;
    int r = 0;
    /* Regular temporary files are ours; anything else by that name is left alone. */
    while ((de = readdir(dd)) && !r)
        if (strncmp(de->d_name, ".tmp.", 5) == 0 && de->d_type == DT_REG)
            r = IOP_FUZZ_FAIL("state: leftover \"%s\" survived the open", de->d_name);
    closedir(dd);
    char **names = NULL;
    int n = iop_state_list(d, "", &names);
    if (!r && n < 0)
        r = IOP_FUZZ_FAIL("state: list failed with %d", n);
    for (int i = 0; !r && i < n; i++) {
        char path[IOP_FUZZ_SCRATCH_PATH_MAX + 300];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (iop_state_name_valid(names[i]) < 0 || lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
            r = IOP_FUZZ_FAIL("state: list names \"%s\", not a valid regular state file", names[i]);
    }
    iop_state_names_free(names);
    /* Raw opens (disk images) take regular files only, and never block (a FIFO). */
    if (!r && (dd = opendir(dir))) {
        while ((de = readdir(dd)) && !r) {
            if (iop_state_name_valid(de->d_name) < 0)
                continue;
            char path[IOP_FUZZ_SCRATCH_PATH_MAX + 300];
            struct stat st;
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
            int fd = iop_state_open_raw(d, de->d_name, O_WRONLY, 0);
            bool regular = lstat(path, &st) == 0 && S_ISREG(st.st_mode);
            if ((fd >= 0) != regular)
                r = IOP_FUZZ_FAIL("state: raw open of \"%s\" gave %d (regular: %d)", de->d_name, fd, regular);
            if (fd >= 0)
                close(fd);
        }
        closedir(dd);
    }
    return r;
}

static int check_file(struct iop_state_dir *d, const uint8_t *f, size_t n, uint64_t max_len) {
    int want = reference(f, n, max_len);
    void *buf = NULL;
    size_t got_len = 0;
    int r = iop_state_read(d, FILE_NAME, &buf, &got_len, max_len);
    int ret = 0;
    if (r != want)
        ret = IOP_FUZZ_FAIL("state: read gave %d, the format says %d", r, want);
    else if (r == 0 && (got_len != n - 32 || memcmp(buf, f + 32, got_len) != 0 || ((char *)buf)[got_len] != 0))
        ret = IOP_FUZZ_FAIL("state: read returned other bytes than the payload");
    free(buf);
    if (ret)
        return ret;

    struct iop_state_reader *rd = NULL;
    r = iop_state_reader_open(d, FILE_NAME, max_len, &rd);
    if (r != want)
        ret = IOP_FUZZ_FAIL("state: reader_open gave %d, the format says %d", r, want);
    if (r == 0 && !ret) {
        size_t plen = n - 32;
        if (iop_state_reader_length(rd) != plen)
            ret = IOP_FUZZ_FAIL("state: reader length %llu, payload %zu",
                                (unsigned long long)iop_state_reader_length(rd), plen);
        uint8_t tmp[96];
        for (size_t off = 0; !ret && off <= plen + 8; off += 37) {
            int k = iop_state_reader_pread(rd, off, tmp, sizeof(tmp));
            size_t expect = off >= plen ? 0 : IOP_MIN(sizeof(tmp), plen - off);
            if (k != (int)expect || (k > 0 && memcmp(tmp, f + 32 + off, (size_t)k) != 0))
                ret = IOP_FUZZ_FAIL("state: pread at %zu gave %d, expected %zu bytes", off, k, expect);
        }
    }
    iop_state_reader_free(rd);
    return ret;
}

static int check_roundtrip(struct iop_state_dir *d, const uint8_t *payload, size_t n) {
    if (iop_state_write_atomic(d, COPY_NAME, payload, n) < 0)
        return IOP_FUZZ_FAIL("state: write_atomic of %zu bytes failed", n);
    void *buf = NULL;
    size_t len = 0;
    int r = iop_state_read(d, COPY_NAME, &buf, &len, n);
    int ret = r < 0 || len != n || (n && memcmp(buf, payload, n) != 0) ? IOP_FUZZ_FAIL("state: round trip differs") : 0;
    free(buf);
    return ret;
}

int iop_state_fuzz_one(const uint8_t *data, size_t len) {
    struct iop_fuzz_in in = iop_fuzz_in(data, len);
    uint8_t flags = iop_fuzz_u8(&in);
    char dir[IOP_FUZZ_SCRATCH_PATH_MAX];
    if (iop_fuzz_scratch_new(dir) < 0)
        return 0; /* no scratch space: nothing to test, not a failure of the code */
    if (flags & 4)
        make_extra(dir, &in);
    const uint8_t *body;
    size_t n = iop_fuzz_rest(&in, &body);
    uint8_t *f = malloc(n ? n : 1);
    if (!f) {
        iop_fuzz_scratch_remove(dir);
        return -ENOMEM;
    }
    if (n)
        memcpy(f, body, n);
    if ((flags & 2) && n >= 32) {
        iop_put_le64(f + 16, n - 32);
        iop_put_le32(f + 12, iop_crc32(0, f + 32, n - 32));
    }
    if ((flags & 3) && n >= 32)
        iop_put_le32(f + 28, iop_crc32(0, f, 28));
    uint64_t max_len = (flags >> 4) == 0 ? (n >= 32 ? n - 32 : 0) : (uint64_t)1 << (flags >> 4);
    /* A temporary file a crash left behind: the open must remove it.  (No scratch
     * space to write them is not a failure of the code under test.) */
    int r = 0;
    struct iop_state_dir *d = NULL;
    if (write_file(dir, FILE_NAME, f, n) < 0 || write_file(dir, LEFTOVER_NAME, f, n < 40 ? n : 40) < 0)
        ; /* d stays NULL: nothing checked */
    else if ((r = iop_state_dir_open(dir, &d)) < 0)
        r = IOP_FUZZ_FAIL("state: open of the scratch directory failed (%d)", r);
    if (r == 0 && d)
        r = check_listing(dir, d);
    if (r == 0 && d)
        r = check_file(d, f, n, max_len);
    if (r == 0 && d && n > 32)
        r = check_roundtrip(d, f + 32, n - 32);
    iop_state_dir_free(d);
    free(f);
    iop_fuzz_scratch_remove(dir);
    return r;
}
