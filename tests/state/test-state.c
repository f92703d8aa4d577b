/* lib/state: atomic replace, a simulated crash at every step (old or new content, never
 * a mix), leftover cleanup, integrity checks, names, caps, streaming, readers. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util/crc32.h"
#include "lib/state/state.h"
#include "lib/util/bytes.h"
#include "lib/util/log.h"
#include "testfs.h"
#include "testutil.h"

static char root[] = "/tmp/iopd-test-state-XXXXXX";
static char path_buf[512];

static const char *sub(const char *name) {
    snprintf(path_buf, sizeof(path_buf), "%s/%s", root, name);
    return path_buf;
}

static void write_raw(const char *path, const void *data, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, data, n), (long)n);
    close(fd);
}

static size_t read_raw(const char *path, uint8_t *buf, size_t cap) {
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    ssize_t n = read(fd, buf, cap);
    close(fd);
    return n < 0 ? 0 : (size_t)n;
}

/* Expect name to read back as exactly want (NULL: must not exist). */
static void expect_content(struct iop_state_dir *d, const char *name, const char *want) {
    void *buf = NULL;
    size_t len = 0;
    int r = iop_state_read(d, name, &buf, &len, 1 << 20);
    if (!want) {
        CHECK_EQ(r, -ENOENT);
    } else {
        CHECK_EQ(r, 0);
        CHECK_EQ(len, strlen(want));
        if (r == 0 && len == strlen(want))
            CHECK_MEMEQ(buf, want, len);
    }
    free(buf);
}

static void test_crc32(void) {
    CHECK_EQ(iop_crc32(0, "123456789", 9), 0xCBF43926u);
    CHECK_EQ(iop_crc32(0, "", 0), 0);
    CHECK_EQ(iop_crc32(0, "a", 1), 0xE8B7BE43u);
    uint32_t c = iop_crc32(0, "1234", 4);
    CHECK_EQ(iop_crc32(c, "56789", 5), 0xCBF43926u);
}

static void test_open(void) {
    struct iop_state_dir *d = NULL, *d2 = NULL;
    CHECK_EQ(iop_state_dir_open(sub("new"), &d), 0);
    struct stat st;
    CHECK_EQ(stat(sub("new"), &st), 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK_EQ(st.st_mode & 0777, 0700);
    /* One owner at a time. */
    CHECK_EQ(iop_state_dir_open(sub("new"), &d2), -EBUSY);
    d = iop_state_dir_free(d);
    CHECK(d == NULL);
    CHECK_EQ(iop_state_dir_open(sub("new"), &d), 0);
    iop_state_dir_free(d);
    write_raw(sub("plainfile"), "x", 1);
    CHECK_EQ(iop_state_dir_open(sub("plainfile"), &d), -ENOTDIR);
    CHECK_EQ(iop_state_dir_open(sub("missing/deeper"), &d), -ENOENT);
    CHECK_EQ(iop_state_dir_open("", &d), -EINVAL);
    iop_state_dir_free(NULL);
}

static void test_names(void) {
    struct iop_state_dir *d;
    CHECK_EQ(iop_state_dir_open(sub("names"), &d), 0);
    const char *bad[] = { "", ".", "..", "a/b", "/abs", ".hidden", "sp ace", "nl\n", "caf\xc3\xa9",
                          "x\\y", "../escape", "tab\t" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(iop_state_name_valid(bad[i]), -EINVAL);
        CHECK_EQ(iop_state_write_atomic(d, bad[i], "x", 1), -EINVAL);
        void *b;
        size_t l;
        CHECK_EQ(iop_state_read(d, bad[i], &b, &l, 10), -EINVAL);
        CHECK_EQ(iop_state_remove(d, bad[i]), -EINVAL);
        struct iop_state_writer *w;
        CHECK_EQ(iop_state_writer_new(d, bad[i], 10, &w), -EINVAL);
    }
    CHECK_EQ(iop_state_name_valid(NULL), -EINVAL);
    char name[IOP_STATE_NAME_MAX + 2];
    memset(name, 'n', sizeof(name));
    name[IOP_STATE_NAME_MAX] = 0;
    CHECK_EQ(iop_state_name_valid(name), 0);
    CHECK_EQ(iop_state_write_atomic(d, name, "long", 4), 0);
    expect_content(d, name, "long");
    name[IOP_STATE_NAME_MAX] = 'n';
    name[IOP_STATE_NAME_MAX + 1] = 0;
    CHECK_EQ(iop_state_name_valid(name), -EINVAL);
    CHECK_EQ(iop_state_write_atomic(d, name, "x", 1), -EINVAL);
    CHECK_EQ(iop_state_name_valid("sw-11-00000000-00000001.img"), 0);
    CHECK_EQ(iop_state_name_valid("A.b_c-9"), 0);
    /* Nothing escaped the directory. */
    CHECK_EQ(access(sub("escape"), F_OK), -1);
    iop_state_dir_free(d);
}

/* Raw files (disk images): only regular files, and nothing planted under the name can
 * hang the open (a FIFO) or redirect it (a symbolic link). */
static void test_open_raw(void) {
    struct iop_state_dir *d;
    CHECK_EQ(iop_state_dir_open(sub("raw"), &d), 0);
    int fd = iop_state_open_raw(d, "disk-00a.img", O_RDWR | O_CREAT, 0600);
    CHECK(fd >= 0);
    CHECK_EQ(pwrite(fd, "abc", 3, 4096), 3);
    CHECK_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    close(fd);
    CHECK_EQ(mkfifo(sub("raw/disk-00b.img"), 0600), 0);
    CHECK_EQ(iop_state_open_raw(d, "disk-00b.img", O_RDWR | O_CREAT, 0600), -EBADMSG);
    CHECK(iop_state_open_raw(d, "disk-00b.img", O_WRONLY, 0) < 0); /* ENXIO; without O_NONBLOCK: blocked */
    CHECK_EQ(symlink("disk-00a.img", sub("raw/disk-00c.img")), 0);
    CHECK_EQ(iop_state_open_raw(d, "disk-00c.img", O_RDWR, 0), -EBADMSG);
    CHECK_EQ(mkdir(sub("raw/disk-00d.img"), 0700), 0);
    CHECK(iop_state_open_raw(d, "disk-00d.img", O_RDONLY, 0) < 0);
    CHECK_EQ(iop_state_open_raw(d, "../disk", O_RDWR | O_CREAT, 0600), -EINVAL);
    iop_state_dir_free(d);
}

static void test_write_read(void) {
    struct iop_state_dir *d;
    CHECK_EQ(iop_state_dir_open(sub("rw"), &d), 0);
    expect_content(d, "cfg", NULL);
    CHECK_EQ(iop_state_write_atomic(d, "cfg", "hello", 5), 0);
    expect_content(d, "cfg", "hello");
    CHECK_EQ(iop_state_write_atomic(d, "cfg", "a longer second version", 23), 0);
    expect_content(d, "cfg", "a longer second version");
    CHECK_EQ(iop_state_write_atomic(d, "cfg", "x", 1), 0);
    expect_content(d, "cfg", "x");
    CHECK_EQ(iop_state_write_atomic(d, "empty", NULL, 0), 0);
    expect_content(d, "empty", "");
    CHECK_EQ(iop_state_write_atomic(d, "bad", NULL, 3), -EINVAL);

    /* Binary content with NULs, and the NUL terminator one past the end. */
    uint8_t bin[300];
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (uint8_t)(i * 7);
    CHECK_EQ(iop_state_write_atomic(d, "bin", bin, sizeof(bin)), 0);
    void *buf = NULL;
    size_t len = 0;
    CHECK_EQ(iop_state_read(d, "bin", &buf, &len, sizeof(bin)), 0);
    CHECK_EQ(len, sizeof(bin));
    CHECK_MEMEQ(buf, bin, sizeof(bin));
    CHECK_EQ(((uint8_t *)buf)[len], 0);
    free(buf);

    /* The on-disk layout is the documented one. */
    uint8_t raw[400];
    size_t n = read_raw(sub("rw/bin"), raw, sizeof(raw));
    CHECK_EQ(n, IOP_STATE_HEADER_SIZE + sizeof(bin));
    CHECK_MEMEQ(raw, "iopdstat", 8);
    CHECK_EQ(iop_get_le16(raw + 8), 1);
    CHECK_EQ(iop_get_le16(raw + 10), 32);
    CHECK_EQ(iop_get_le32(raw + 12), iop_crc32(0, bin, sizeof(bin)));
    CHECK_EQ(iop_get_le64(raw + 16), sizeof(bin));
    CHECK_EQ(iop_get_le32(raw + 24), 0);
    CHECK_EQ(iop_get_le32(raw + 28), iop_crc32(0, raw, 28));
    CHECK_MEMEQ(raw + 32, bin, sizeof(bin));
    /* No temporary file is left after successful writes. */
    CHECK_EQ(test_count_prefix(sub("rw"), ".tmp."), 0);
    iop_state_dir_free(d);
}

static void test_caps(void) {
    struct iop_state_dir *d;
    CHECK_EQ(iop_state_dir_open(sub("caps"), &d), 0);
    char data[100];
    memset(data, 'c', sizeof(data));
    CHECK_EQ(iop_state_write_atomic(d, "f", data, sizeof(data)), 0);
    void *buf = (void *)1;
    size_t len = 77;
    CHECK_EQ(iop_state_read(d, "f", &buf, &len, 99), -EFBIG);
    CHECK(buf == (void *)1); /* untouched on failure */
    CHECK_EQ(len, 77);
    CHECK_EQ(iop_state_read(d, "f", &buf, &len, 100), 0);
    free(buf);
    struct iop_state_reader *r;
    CHECK_EQ(iop_state_reader_open(d, "f", 50, &r), -EFBIG);
    /* Over the absolute ceiling: refused before the pointer is used. */
    CHECK_EQ(iop_state_write_atomic(d, "huge", data, (size_t)IOP_STATE_SIZE_MAX + 1), -EFBIG);
    struct iop_state_writer *w;
    CHECK_EQ(iop_state_writer_new(d, "huge", IOP_STATE_SIZE_MAX + 1, &w), -EFBIG);
    CHECK_EQ(access(sub("caps/huge"), F_OK), -1);
    CHECK_EQ(test_count_prefix(sub("caps"), ".tmp."), 0);
    iop_state_dir_free(d);
}

static void test_streaming(void) {
    struct iop_state_dir *d;
    CHECK_EQ(iop_state_dir_open(sub("stream"), &d), 0);
    CHECK_EQ(iop_state_write_atomic(d, "img", "old", 3), 0);

    /* Abandon: the old content stays, the temporary file goes. */
    struct iop_state_writer *w;
    CHECK_EQ(iop_state_writer_new(d, "img", 10, &w), 0);
    CHECK_EQ(iop_state_writer_write(w, "0123456", 7), 0);
    CHECK_EQ(test_count_prefix(sub("stream"), ".tmp."), 1);
    expect_content(d, "img", "old");
    w = iop_state_writer_free(w);
    CHECK(w == NULL);
    CHECK_EQ(test_count_prefix(sub("stream"), ".tmp."), 0);
    expect_content(d, "img", "old");

    /* Over max_len: refused, the writer stays usable. */
    CHECK_EQ(iop_state_writer_new(d, "img", 10, &w), 0);
    CHECK_EQ(iop_state_writer_write(w, "0123456", 7), 0);
    CHECK_EQ(iop_state_writer_write(w, "789a", 4), -EFBIG);
    CHECK_EQ(iop_state_writer_write(w, "789", 3), 0);
    CHECK_EQ(iop_state_writer_length(w), 10);
    CHECK_EQ(iop_state_writer_write(w, "x", 1), -EFBIG);
    CHECK_EQ(iop_state_writer_write(w, NULL, 1), -EINVAL);
    struct iop_state_reader *r = NULL;
    CHECK_EQ(iop_state_writer_commit(w, &r), 0);
    CHECK_EQ(iop_state_writer_write(w, "y", 1), -EINVAL); /* finished */
    CHECK_EQ(iop_state_writer_commit(w, NULL), -EINVAL);
    iop_state_writer_free(w);
    expect_content(d, "img", "0123456789");
    /* The reader handed over by commit sees the same content. */
    CHECK(r != NULL);
    if (r) {
        char b[16] = { 0 };
        CHECK_EQ(iop_state_reader_length(r), 10);
        CHECK_EQ(iop_state_reader_pread(r, 3, b, 4), 4);
        CHECK_MEMEQ(b, "3456", 4);
        iop_state_reader_free(r);
    }

    /* A large streamed file in chunks, read back. */
    enum { CHUNK = 8192, CHUNKS = 300 };
    static uint8_t chunk[CHUNK];
    CHECK_EQ(iop_state_writer_new(d, "big", (uint64_t)CHUNK * CHUNKS, &w), 0);
    for (unsigned i = 0; i < CHUNKS; i++) {
        for (unsigned k = 0; k < CHUNK; k++)
            chunk[k] = (uint8_t)(i + k * 13);
        CHECK_EQ(iop_state_writer_write(w, chunk, CHUNK), 0);
    }
    CHECK_EQ(iop_state_writer_commit(w, NULL), 0);
    iop_state_writer_free(w);
    CHECK_EQ(iop_state_reader_open(d, "big", (uint64_t)CHUNK * CHUNKS, &r), 0);
    CHECK_EQ(iop_state_reader_length(r), (uint64_t)CHUNK * CHUNKS);
    bool same = true;
    for (unsigned i = 0; i < CHUNKS; i++) {
        static uint8_t got[CHUNK];
        CHECK_EQ(iop_state_reader_pread(r, (uint64_t)i * CHUNK, got, CHUNK), CHUNK);
        for (unsigned k = 0; k < CHUNK; k++)
            same = same && got[k] == (uint8_t)(i + k * 13);
    }
    CHECK(same);
    uint8_t tail[100];
    CHECK_EQ(iop_state_reader_pread(r, (uint64_t)CHUNK * CHUNKS - 10, tail, 100), 10);
    CHECK_EQ(iop_state_reader_pread(r, (uint64_t)CHUNK * CHUNKS, tail, 100), 0);
    CHECK_EQ(iop_state_reader_pread(r, UINT64_MAX, tail, 100), 0);
    CHECK_EQ(iop_state_reader_pread(r, 0, tail, IOP_STATE_PREAD_MAX + 1), -EINVAL);
    /* The reader keeps what it verified even when the name is replaced or removed. */
    CHECK_EQ(iop_state_write_atomic(d, "big", "tiny", 4), 0);
    CHECK_EQ(iop_state_reader_pread(r, 0, tail, 4), 4);
    CHECK_EQ(tail[0], (uint8_t)0);
    CHECK_EQ(tail[1], (uint8_t)13);
    CHECK_EQ(iop_state_remove(d, "big"), 0);
    CHECK_EQ(iop_state_reader_pread(r, CHUNK, tail, 2), 2);
    CHECK_EQ(tail[1], (uint8_t)(1 + 13));
    iop_state_reader_free(r);
    iop_state_dir_free(d);
}

/* Chunks of every size around the writer's held-back buffer, in random orders, with and
 * without a tail given to commit: what reads back is what was written, byte for byte,
 * and the file is exactly header + payload long. */
static void test_mixed_chunks(void) {
    static const size_t sizes[] = { 0, 1, 15, 16, 100, 255, 256, 257, 511, 4096, 8192 };
    enum { NS = sizeof(sizes) / sizeof(sizes[0]), MAXLEN = 6 * 8192 + 4096 };
    static uint8_t want[MAXLEN];
    struct iop_state_dir *d;
    CHECK_EQ(iop_state_dir_open(sub("mixed"), &d), 0);
    unsigned seed = 12345, bad = 0;
    for (unsigned round = 0; round < 300; round++) {
        struct iop_state_writer *w;
        CHECK_EQ(iop_state_writer_new(d, "m", MAXLEN, &w), 0);
        size_t len = 0;
        unsigned chunks = (seed = seed * 1103515245u + 12345u) >> 16 & 7;
        for (unsigned c = 0; c < chunks; c++) {
            size_t n = sizes[((seed = seed * 1103515245u + 12345u) >> 16) % NS];
            if (len + n > MAXLEN - 8192)
                break;
            for (size_t k = 0; k < n; k++)
                want[len + k] = (uint8_t)(round * 7 + len + k);
            CHECK_EQ(iop_state_writer_write(w, want + len, n), 0);
            len += n;
        }
        size_t tail = sizes[((seed = seed * 1103515245u + 12345u) >> 16) % NS];
        for (size_t k = 0; k < tail; k++)
            want[len + k] = (uint8_t)(round * 11 + k);
        if (round % 2)
            CHECK_EQ(iop_state_writer_commit_with(w, want + len, tail, NULL), 0);
        else
            CHECK_EQ(iop_state_writer_write(w, want + len, tail) | iop_state_writer_commit(w, NULL), 0);
        len += tail;
        iop_state_writer_free(w);
        struct stat st;
        CHECK_EQ(stat(sub("mixed/m"), &st), 0);
        bad += (uint64_t)st.st_size != IOP_STATE_HEADER_SIZE + len;
        void *buf = NULL;
        size_t blen = 0;
        CHECK_EQ(iop_state_read(d, "m", &buf, &blen, MAXLEN), 0);
        bad += blen != len || (len && memcmp(buf, want, len) != 0);
        free(buf);
    }
    CHECK_EQ(bad, 0u);

    /* commit_with refuses what write refuses, and the writer stays usable. */
    struct iop_state_writer *w;
    CHECK_EQ(iop_state_writer_new(d, "m", 10, &w), 0);
    CHECK_EQ(iop_state_writer_write(w, "0123", 4), 0);
    CHECK_EQ(iop_state_writer_commit_with(w, "456789x", 7, NULL), -EFBIG);
    CHECK_EQ(iop_state_writer_commit_with(w, NULL, 1, NULL), -EINVAL);
    CHECK_EQ(iop_state_writer_commit_with(w, "456789", 6, NULL), 0);
    CHECK_EQ(iop_state_writer_commit_with(w, "", 0, NULL), -EINVAL); /* finished */
    iop_state_writer_free(w);
    expect_content(d, "m", "0123456789");
    CHECK_EQ(test_count_prefix(sub("mixed"), ".tmp."), 0);
    iop_state_dir_free(d);
}

static void test_remove_list(void) {
    struct iop_state_dir *d;
    CHECK_EQ(iop_state_dir_open(sub("list"), &d), 0);
    CHECK_EQ(iop_state_remove(d, "nothing"), -ENOENT);
    CHECK_EQ(iop_state_write_atomic(d, "sw-2", "b", 1), 0);
    CHECK_EQ(iop_state_write_atomic(d, "a", "a", 1), 0);
    CHECK_EQ(iop_state_write_atomic(d, "sw-1", "a", 1), 0);
    CHECK_EQ(mkdir(sub("list/sw-dir"), 0700), 0);
    write_raw(sub("list/.tmp.sw-3.9"), "x", 1); /* someone else's temporary file */
    char **names = NULL;
    CHECK_EQ(iop_state_list(d, "sw-", &names), 2);
    if (names) {
        CHECK_STREQ(names[0], "sw-1");
        CHECK_STREQ(names[1], "sw-2");
        CHECK(names[2] == NULL);
    }
    names = iop_state_names_free(names);
    CHECK_EQ(iop_state_list(d, NULL, &names), 3);
    if (names)
        CHECK_STREQ(names[0], "a");
    iop_state_names_free(names);
    CHECK_EQ(iop_state_remove(d, "sw-1"), 0);
    expect_content(d, "sw-1", NULL);
    CHECK_EQ(iop_state_remove(d, "sw-1"), -ENOENT);
    CHECK_EQ(iop_state_list(d, "sw-", &names), 1);
    iop_state_names_free(names);
    iop_state_dir_free(d);
}

/* The crash plan: die at the crash_at'th step (0-based) of any operation. */
struct plan {
    int crash_at;
    int calls;
    enum iop_state_step last;
};

static bool crash_hook(void *opaque, enum iop_state_step step, const char *name) {
    struct plan *p = opaque;
    (void)name;
    p->last = step;
    return p->calls++ == p->crash_at;
}

/* What a writer does: whole or streamed in three chunks. */
static int do_write(struct iop_state_dir *d, bool stream, const char *data) {
    if (!stream)
        return iop_state_write_atomic(d, "victim", data, strlen(data));
    struct iop_state_writer *w;
    int r = iop_state_writer_new(d, "victim", 1000, &w);
    if (r < 0)
        return r;
    size_t n = strlen(data), third = n / 3;
    if ((r = iop_state_writer_write(w, data, third)) >= 0 &&
        (r = iop_state_writer_write(w, data + third, third)) >= 0 &&
        (r = iop_state_writer_write(w, data + 2 * third, n - 2 * third)) >= 0)
        r = iop_state_writer_commit(w, NULL);
    /* After a crash the writer refuses everything and frees without cleaning up. */
    if (r == -ECANCELED) {
        CHECK_EQ(iop_state_writer_write(w, "z", 1), -ECANCELED);
        CHECK_EQ(iop_state_writer_commit(w, NULL), -ECANCELED);
    }
    iop_state_writer_free(w);
    return r;
}

static void crash_points(bool stream, bool had_old) {
    const char *old = "old content: version 1";
    const char *new = "new content, version two, somewhat longer";
    int completed_at = -1;
    for (int k = 0; k < 32 && completed_at < 0; k++) {
        test_rm_tree(sub("crash"));
        struct iop_state_dir *d;
        CHECK_EQ(iop_state_dir_open(sub("crash"), &d), 0);
        if (had_old)
            CHECK_EQ(iop_state_write_atomic(d, "victim", old, strlen(old)), 0);
        struct plan p = { .crash_at = k };
        iop_state_dir_set_crash_hook(d, crash_hook, &p);
        int r = do_write(d, stream, new);
        if (r == 0) {
            completed_at = k; /* k is beyond the last step: no crash happened */
            CHECK(!iop_state_dir_crashed(d));
            iop_state_dir_free(d);
            break;
        }
        CHECK_EQ(r, -ECANCELED);
        CHECK(iop_state_dir_crashed(d));
        /* A dead process does nothing more. */
        CHECK_EQ(iop_state_write_atomic(d, "other", "x", 1), -ECANCELED);
        void *b;
        size_t l;
        CHECK_EQ(iop_state_read(d, "victim", &b, &l, 100), -ECANCELED);
        enum iop_state_step at = p.last;
        bool renamed = at == IOP_STATE_STEP_RENAMED || at == IOP_STATE_STEP_DIR_SYNCED;
        /* Before the rename, the temporary file is still there (as after a real crash). */
        CHECK_EQ(test_count_prefix(sub("crash"), ".tmp."), renamed ? 0 : 1);
        iop_state_dir_free(d);

        /* The restarted owner: old or new, never anything else; leftovers gone. */
        test_n_warnings = 0;
        CHECK_EQ(iop_state_dir_open(sub("crash"), &d), 0);
        CHECK_EQ(test_count_prefix(sub("crash"), ".tmp."), 0);
        expect_content(d, "victim", renamed ? new : (had_old ? old : NULL));
        CHECK_EQ(test_n_warnings, 0); /* a leftover is routine, not damage */
        char **names;
        CHECK_EQ(iop_state_list(d, "", &names), renamed || had_old ? 1 : 0);
        iop_state_names_free(names);
        iop_state_dir_free(d);
    }
    /* created, one data step per chunk (1 whole, 3 streamed), written, synced, renamed,
     * dir synced: every one of them was a crash point above. */
    CHECK_EQ(completed_at, stream ? 8 : 6);
}

static void test_crash_every_step(void) {
    crash_points(false, true);
    crash_points(false, false);
    crash_points(true, true);
    crash_points(true, false);
}

static void test_crash_remove(void) {
    for (int k = 0; k < 3; k++) {
        test_rm_tree(sub("crashrm"));
        struct iop_state_dir *d;
        CHECK_EQ(iop_state_dir_open(sub("crashrm"), &d), 0);
        CHECK_EQ(iop_state_write_atomic(d, "gone", "x", 1), 0);
        struct plan p = { .crash_at = k };
        iop_state_dir_set_crash_hook(d, crash_hook, &p);
        CHECK_EQ(iop_state_remove(d, "gone"), k < 2 ? -ECANCELED : 0);
        iop_state_dir_free(d);
        CHECK_EQ(iop_state_dir_open(sub("crashrm"), &d), 0);
        expect_content(d, "gone", NULL);
        iop_state_dir_free(d);
    }
}

static void test_leftovers(void) {
    struct iop_state_dir *d;
    CHECK_EQ(iop_state_dir_open(sub("left"), &d), 0);
    CHECK_EQ(iop_state_write_atomic(d, "keep", "kept", 4), 0);
    iop_state_dir_free(d);
    write_raw(sub("left/.tmp.keep.0"), "partial garbage", 15);
    write_raw(sub("left/.tmp.other.17"), "", 0);
    write_raw(sub("left/.unrelated"), "u", 1);
    CHECK_EQ(iop_state_dir_open(sub("left"), &d), 0);
    CHECK_EQ(test_count_prefix(sub("left"), ".tmp."), 0);
    CHECK_EQ(access(sub("left/.unrelated"), F_OK), 0); /* only our temporary names go */
    expect_content(d, "keep", "kept");
    /* A writer that collides with a stale name picks the next one. */
    iop_state_dir_free(d);
    CHECK_EQ(iop_state_dir_open(sub("left"), &d), 0);
    write_raw(sub("left/.tmp.keep.0"), "stale", 5);
    CHECK_EQ(iop_state_write_atomic(d, "keep", "again", 5), 0);
    expect_content(d, "keep", "again");
    iop_state_dir_free(d);
}

/* Damage the file in some way and expect it to be refused (and reported). */
static void expect_damage(struct iop_state_dir *d, const char *name, int err) {
    test_n_warnings = 0;
    test_last_warning[0] = 0;
    void *buf = NULL;
    size_t len;
    CHECK_EQ(iop_state_read(d, name, &buf, &len, 1 << 20), err);
    CHECK(buf == NULL);
    CHECK(test_n_warnings >= 1);
    if (!strstr(test_last_warning, name)) {
        test_failures++;
        fprintf(stderr, "damage report \"%s\" does not name %s\n", test_last_warning, name);
    }
    struct iop_state_reader *r = NULL;
    CHECK_EQ(iop_state_reader_open(d, name, 1 << 20, &r), err);
    CHECK(r == NULL);
}

static void test_integrity(void) {
    struct iop_state_dir *d;
    CHECK_EQ(iop_state_dir_open(sub("integ"), &d), 0);
    const char *payload = "integrity-checked payload";
    size_t plen = strlen(payload);
    uint8_t good[128];
    CHECK_EQ(iop_state_write_atomic(d, "f", payload, plen), 0);
    size_t n = read_raw(sub("integ/f"), good, sizeof(good));
    CHECK_EQ(n, 32 + plen);
    uint8_t bad[128];

    /* Truncated (as by a full disk), by one byte and down to the header. */
    write_raw(sub("integ/f"), good, n - 1);
    expect_damage(d, "f", -EBADMSG);
    write_raw(sub("integ/f"), good, 32);
    expect_damage(d, "f", -EBADMSG);
    write_raw(sub("integ/f"), good, 10);
    expect_damage(d, "f", -EBADMSG);
    write_raw(sub("integ/f"), good, 0);
    expect_damage(d, "f", -EBADMSG);
    /* Trailing data. */
    memcpy(bad, good, n);
    bad[n] = 'X';
    write_raw(sub("integ/f"), bad, n + 1);
    expect_damage(d, "f", -EBADMSG);
    /* Payload edited, every byte position in turn. */
    for (size_t i = 32; i < n; i++) {
        memcpy(bad, good, n);
        bad[i] ^= 0x20;
        write_raw(sub("integ/f"), bad, n);
        expect_damage(d, "f", -EBADMSG);
    }
    /* Header edited, every bit position. */
    for (size_t i = 0; i < 32 * 8; i++) {
        memcpy(bad, good, n);
        bad[i / 8] ^= (uint8_t)(1u << (i % 8));
        write_raw(sub("integ/f"), bad, n);
        void *b = NULL;
        size_t l;
        CHECK_EQ(iop_state_read(d, "f", &b, &l, 1 << 20), -EBADMSG);
    }
    /* A newer format (consistent header): refused as such. */
    memcpy(bad, good, n);
    iop_put_le16(bad + 8, 2);
    iop_put_le32(bad + 28, iop_crc32(0, bad, 28));
    write_raw(sub("integ/f"), bad, n);
    expect_damage(d, "f", -EPROTONOSUPPORT);
    /* Version 0 and a nonzero reserved field are malformed. */
    iop_put_le16(bad + 8, 0);
    iop_put_le32(bad + 28, iop_crc32(0, bad, 28));
    write_raw(sub("integ/f"), bad, n);
    expect_damage(d, "f", -EBADMSG);
    memcpy(bad, good, n);
    iop_put_le32(bad + 24, 1);
    iop_put_le32(bad + 28, iop_crc32(0, bad, 28));
    write_raw(sub("integ/f"), bad, n);
    expect_damage(d, "f", -EBADMSG);
    /* A consistent header claiming a length the file does not have. */
    memcpy(bad, good, n);
    iop_put_le64(bad + 16, plen + 1);
    iop_put_le32(bad + 28, iop_crc32(0, bad, 28));
    write_raw(sub("integ/f"), bad, n);
    expect_damage(d, "f", -EBADMSG);
    /* Not a regular file, and a symlink pointing at a good file. */
    write_raw(sub("integ/f"), good, n);
    CHECK_EQ(mkdir(sub("integ/dirname"), 0700), 0);
    expect_damage(d, "dirname", -EBADMSG);
    CHECK_EQ(symlink("f", sub("integ/link")), 0);
    expect_damage(d, "link", -EBADMSG);
    /* The intact file still reads, and a rewrite heals a damaged one. */
    expect_content(d, "f", payload);
    write_raw(sub("integ/f"), good, 7);
    CHECK_EQ(iop_state_write_atomic(d, "f", "healed", 6), 0);
    expect_content(d, "f", "healed");
    iop_state_dir_free(d);
}

int main(void) {
    if (!mkdtemp(root))
        return test_skip("mkdtemp failed");
    iop_log_set_sink(test_capture_warnings, NULL);
    iop_log_set_max_level(LOG_DEBUG);
    TEST(test_crc32);
    TEST(test_open);
    TEST(test_names);
    TEST(test_open_raw);
    TEST(test_write_read);
    TEST(test_caps);
    TEST(test_streaming);
    TEST(test_mixed_chunks);
    TEST(test_remove_list);
    TEST(test_crash_every_step);
    TEST(test_crash_remove);
    TEST(test_leftovers);
    TEST(test_integrity);
    test_rm_tree(root);
    return test_summary();
}
