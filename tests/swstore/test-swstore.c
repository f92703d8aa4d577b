/* lib/swstore: I2OSWDL/SWUL/SWDEL/VALIDATE semantics, every refusal, restarts, concurrent
 * downloads, persistence, damage handling, the data mover, and crashes at every step. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/i2o-dev.h>

#include "lib/state/state.h"
#include "lib/swstore/swstore.h"
#include "lib/util/bytes.h"
#include "lib/util/log.h"
#include "testfs.h"
#include "testutil.h"

#define FRAG IOP_SW_FRAG_SIZE
#define IRTOS I2O_SOFTWARE_MODULE_IRTOS
#define PRIV I2O_SOFTWARE_MODULE_IOP_PRIVATE
#define CONF I2O_SOFTWARE_MODULE_IOP_CONFIG

static char root[] = "/tmp/iopd-test-swstore-XXXXXX";
static char path_buf[512];

static const char *sub(const char *name) {
    snprintf(path_buf, sizeof(path_buf), "%s/%s", root, name);
    return path_buf;
}

/* The name of the first entry starting with prefix, into buf. */
static bool find_prefix(const char *dir, const char *prefix, char *buf, size_t cap) {
    DIR *d = opendir(dir);
    bool found = false;
    if (!d)
        return false;
    struct dirent *de;
    while (!found && (de = readdir(d)))
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
            snprintf(buf, cap, "%s", de->d_name);
            found = true;
        }
    closedir(d);
    return found;
}

static uint8_t *image(size_t n, unsigned seed) {
    uint8_t *p = malloc(n ? n : 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 16);
    }
    return p;
}

static uint32_t nfrag(uint32_t len) {
    return (len + FRAG - 1) / FRAG;
}

static struct iop_sw_xfer xfer(uint8_t type, uint32_t id, uint8_t flags, uint32_t swlen,
                               uint32_t maxfrag, uint32_t curfrag) {
    return (struct iop_sw_xfer){ .flags = flags, .sw_type = type, .sw_id = id, .swlen = swlen,
                                 .maxfrag = maxfrag, .curfrag = curfrag };
}

/* Send fragment k (1-based) of img as a well-behaved caller would. */
static int send_frag(struct iop_swstore *s, uint8_t type, uint32_t id, uint8_t flags,
                     const uint8_t *img, uint32_t len, uint32_t k) {
    struct iop_sw_xfer x = xfer(type, id, flags, len, nfrag(len), k);
    return iop_swstore_download(s, &x, img + (size_t)(k - 1) * FRAG,
                                iop_sw_frag_len(len, nfrag(len), k));
}

/* Download the whole image; the first nonzero result, or 0. */
static int download(struct iop_swstore *s, uint8_t type, uint32_t id, uint8_t flags,
                    const uint8_t *img, uint32_t len) {
    for (uint32_t k = 1; k <= nfrag(len); k++) {
        int r = send_frag(s, type, id, flags, img, len, k);
        if (r != 0)
            return r;
    }
    return 0;
}

/* Upload the module (into a fresh buffer) and compare it with want. */
static bool upload_equals(struct iop_swstore *s, uint8_t type, uint32_t id, const uint8_t *want,
                          uint32_t len) {
    uint8_t *got = malloc(len);
    bool ok = true;
    for (uint32_t k = 1; ok && k <= nfrag(len); k++) {
        struct iop_sw_xfer x = xfer(type, id, 0, len, nfrag(len), k);
        uint8_t frag[FRAG];
        uint32_t n = 0;
        int r = iop_swstore_upload(s, &x, frag, sizeof(frag), &n);
        ok = r == 0 && n == iop_sw_frag_len(len, nfrag(len), k);
        if (ok)
            memcpy(got + (size_t)(k - 1) * FRAG, frag, n);
    }
    ok = ok && memcmp(got, want, len) == 0;
    free(got);
    return ok;
}

static struct iop_swstore *open_store(const char *dirname, struct iop_state_dir **dir,
                                      const struct iop_swstore_config *cfg) {
    struct iop_swstore *s = NULL;
    CHECK_EQ(iop_state_dir_open(sub(dirname), dir), 0);
    CHECK_EQ(iop_swstore_new(*dir, cfg, &s), 0);
    return s;
}

static void close_store(struct iop_swstore *s, struct iop_state_dir *dir) {
    iop_swstore_free(s);
    iop_state_dir_free(dir);
}

static void test_basics(void) {
    CHECK_EQ(iop_sw_frag_len(3 * FRAG, 3, 1), FRAG);
    CHECK_EQ(iop_sw_frag_len(3 * FRAG, 3, 3), FRAG);
    CHECK_EQ(iop_sw_frag_len(10000, 2, 1), FRAG);
    CHECK_EQ(iop_sw_frag_len(10000, 2, 2), 10000 - FRAG);
    CHECK_EQ(iop_sw_frag_len(1, 1, 1), 1);
    CHECK_EQ(iop_sw_frag_len(10000, 3, 1), 0);
    CHECK_EQ(iop_sw_frag_len(10000, 1, 1), 0);
    CHECK_EQ(iop_sw_frag_len(10000, 2, 0), 0);
    CHECK_EQ(iop_sw_frag_len(10000, 2, 3), 0);
    CHECK_EQ(iop_sw_frag_len(0, 0, 0), 0);
    CHECK_EQ(iop_sw_frag_len(0, 1, 1), 0);
    CHECK_EQ(iop_sw_frag_len(UINT32_MAX, nfrag(UINT32_MAX - FRAG) + 1, 1), FRAG);
    CHECK(iop_sw_type_known(IRTOS));
    CHECK(iop_sw_type_known(PRIV));
    CHECK(iop_sw_type_known(CONF));
    CHECK(iop_sw_type_known(0x01));
    CHECK(iop_sw_type_known(0x13));
    CHECK(!iop_sw_type_known(0x00));
    CHECK(!iop_sw_type_known(0x04));
    CHECK(!iop_sw_type_known(0x24));
    CHECK(!iop_sw_type_known(0xff));
    CHECK_EQ(IOP_SW_STATUS_TRANSACTION_ERROR, 0x0B);
    CHECK_EQ(IOP_SW_STATUS_ERROR_PARTIAL_TRANSFER, 0x06);
    CHECK_STREQ(iop_sw_status_name(IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER), "ERROR_NO_DATA_TRANSFER");
    CHECK_STREQ(iop_sw_status_name(0x55), "?");

    /* Limits above the ceilings are refused; an empty store lists nothing. */
    struct iop_state_dir *dir;
    CHECK_EQ(iop_state_dir_open(sub("basics"), &dir), 0);
    struct iop_swstore *s = NULL;
    struct iop_swstore_config cfg = { .max_module_size = IOP_SWSTORE_MODULE_SIZE_MAX + 1 };
    CHECK_EQ(iop_swstore_new(dir, &cfg, &s), -EINVAL);
    cfg = (struct iop_swstore_config){ .max_modules = IOP_SWSTORE_MODULES_MAX + 1 };
    CHECK_EQ(iop_swstore_new(dir, &cfg, &s), -EINVAL);
    cfg = (struct iop_swstore_config){ .max_total_size = IOP_SWSTORE_TOTAL_SIZE_MAX + 1 };
    CHECK_EQ(iop_swstore_new(dir, &cfg, &s), -EINVAL);
    CHECK_EQ(iop_swstore_new(dir, NULL, &s), 0);
    CHECK_EQ(iop_swstore_list(s, NULL, 0), 0);
    CHECK_EQ(iop_swstore_find(s, IRTOS, 0, NULL), -ENOENT);
    iop_swstore_free(s);
    iop_swstore_free(NULL);
    iop_state_dir_free(dir);
}

/* The brief's case: 8 MiB in 1024 fragments, back byte-identical, and one that does not
 * end on a fragment boundary. */
/* Module names are the caller's (sw_type, sw_id): whatever bytes they hold, the files
 * are named from them in hex inside the store's directory and nowhere else. */
static void test_hostile_ids(void) {
    struct iop_state_dir *dir;
    struct iop_swstore *s = open_store("hostile", &dir, NULL);
    uint8_t *img = image(100, 7);
    static const uint32_t ids[] = { 0x2f2e2e2f /* "/../" */, 0x2f000000, 0x0a252e00 /* "\0.%\n" */,
                                    0xffffffff, 0 };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        CHECK_EQ(download(s, 0x22, ids[i], 0x2f, img, 100), 0);
    CHECK_EQ(download(s, 0x2f, 1, 0, img, 100), IOP_SW_STATUS_TRANSACTION_ERROR); /* '/' is no type */
    DIR *d = opendir(sub("hostile"));
    struct dirent *de;
    unsigned n = 0;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        n++;
        unsigned t, id, gen;
        char tail[8];
        bool ok = strcmp(de->d_name, "swstore.idx") == 0 ||
                  (strlen(de->d_name) == strlen("sw-22-00000000-00000001.img") &&
                   sscanf(de->d_name, "sw-%2x-%8x-%8x.%3s", &t, &id, &gen, tail) == 4 && strcmp(tail, "img") == 0);
        if (!ok)
            fprintf(stderr, "unexpected file %s\n", de->d_name);
        CHECK(ok);
    }
    if (d)
        closedir(d);
    CHECK_EQ(n, 5); /* five modules; no index until a validation */
    CHECK(access(sub("hostile/.."), F_OK) == 0);
    CHECK(access(sub("2e2f"), F_OK) != 0);
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        CHECK(upload_equals(s, 0x22, ids[i], img, 100));
    free(img);
    close_store(s, dir);
}

static void test_big_image(void) {
    struct iop_state_dir *dir;
    struct iop_swstore *s = open_store("big", &dir, NULL);
    const uint32_t len = 8u << 20;
    CHECK_EQ(nfrag(len), 1024);
    uint8_t *img = image(len, 1);
    CHECK_EQ(download(s, IRTOS, 0, 0x01, img, len), 0);
    struct iop_sw_module_info info;
    CHECK_EQ(iop_swstore_find(s, IRTOS, 0, &info), 0);
    CHECK_EQ(info.size, len);
    CHECK_EQ(info.download_flags, 0x01);
    CHECK(!info.valid);
    CHECK(upload_equals(s, IRTOS, 0, img, len));
    /* The last fragment of an exact multiple is a full one. */
    uint8_t frag[FRAG];
    uint32_t n = 0;
    struct iop_sw_xfer x = xfer(IRTOS, 0, 0, len, 1024, 1024);
    CHECK_EQ(iop_swstore_upload(s, &x, frag, sizeof(frag), &n), 0);
    CHECK_EQ(n, FRAG);
    CHECK_MEMEQ(frag, img + len - FRAG, FRAG);

    const uint32_t odd = (8u << 20) - 1000;
    uint8_t *img2 = image(odd, 2);
    CHECK_EQ(download(s, PRIV, 0x001b0001, 0x03, img2, odd), 0);
    CHECK(upload_equals(s, PRIV, 0x001b0001, img2, odd));
    x = xfer(PRIV, 0x001b0001, 0, odd, 1024, 1024);
    CHECK_EQ(iop_swstore_upload(s, &x, frag, sizeof(frag), &n), 0);
    CHECK_EQ(n, FRAG - 1000);
    /* The 8 MiB module is still intact next to it. */
    CHECK(upload_equals(s, IRTOS, 0, img, len));
    CHECK_EQ(iop_swstore_staged_count(s), 0);
    /* maxfrag truncated mod 256, as the kernel's unsigned char made it: refused, not
     * guessed at (the store takes the caller's full 32-bit values). */
    x = xfer(IRTOS, 9, 0, 300 * FRAG, 300 & 0xff, 1);
    CHECK_EQ(iop_swstore_download(s, &x, img, FRAG), IOP_SW_STATUS_TRANSACTION_ERROR);
    close_store(s, dir);
    free(img);
    free(img2);
}

static void expect_unchanged(struct iop_swstore *s, const uint8_t *img, uint32_t len) {
    struct iop_sw_module_info info;
    CHECK_EQ(iop_swstore_list(s, NULL, 0), 1);
    CHECK_EQ(iop_swstore_find(s, CONF, 7, &info), 0);
    CHECK_EQ(info.size, len);
    CHECK(upload_equals(s, CONF, 7, img, len));
}

static void test_download_refusals(void) {
    struct iop_state_dir *dir;
    struct iop_swstore_config cfg = { .max_module_size = 1u << 20 };
    struct iop_swstore *s = open_store("refuse", &dir, &cfg);
    const uint32_t len = 5 * FRAG - 100; /* 5 fragments, the last 8092 bytes */
    uint8_t *img = image(len, 3);
    uint8_t *big = image(2 * FRAG, 4);
    CHECK_EQ(download(s, CONF, 7, 0, img, len), 0);
    struct iop_sw_xfer x;

#define EXPECT_DL(status, xv, data, n)                                                      \
    do {                                                                                    \
        x = (xv);                                                                           \
        CHECK_EQ(iop_swstore_download(s, &x, (data), (n)), (status));                      \
    } while (0)
    /* The message itself is wrong: TRANSACTION_ERROR. */
    EXPECT_DL(IOP_SW_STATUS_TRANSACTION_ERROR, xfer(0x44, 7, 0, len, 5, 1), big, FRAG);
    EXPECT_DL(IOP_SW_STATUS_TRANSACTION_ERROR, xfer(0x00, 7, 0, len, 5, 1), big, FRAG);
    EXPECT_DL(IOP_SW_STATUS_TRANSACTION_ERROR, xfer(CONF, 7, 0, 0, 0, 1), big, 0);
    EXPECT_DL(IOP_SW_STATUS_TRANSACTION_ERROR, xfer(CONF, 7, 0, 0, 1, 1), big, FRAG);
    EXPECT_DL(IOP_SW_STATUS_TRANSACTION_ERROR, xfer(CONF, 7, 0, len, 6, 1), big, FRAG);
    EXPECT_DL(IOP_SW_STATUS_TRANSACTION_ERROR, xfer(CONF, 7, 0, len, 4, 1), big, FRAG);
    EXPECT_DL(IOP_SW_STATUS_TRANSACTION_ERROR, xfer(CONF, 7, 0, len, 0, 1), big, FRAG);
    EXPECT_DL(IOP_SW_STATUS_TRANSACTION_ERROR, xfer(CONF, 7, 0, len, 5, 0), big, FRAG);
    EXPECT_DL(IOP_SW_STATUS_TRANSACTION_ERROR, xfer(CONF, 7, 0, len, 5, 6), big, FRAG);
    EXPECT_DL(IOP_SW_STATUS_TRANSACTION_ERROR, xfer(CONF, 7, 0, len, 5, 1), big, FRAG - 1);
    EXPECT_DL(IOP_SW_STATUS_TRANSACTION_ERROR, xfer(CONF, 7, 0, len, 5, 1), big, FRAG + 1);
    EXPECT_DL(IOP_SW_STATUS_TRANSACTION_ERROR, xfer(CONF, 7, 0, len, 5, 1), big, 0);
    /* Over the configured maximum module size (and over any uint32 fragment math). */
    EXPECT_DL(IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER, xfer(CONF, 7, 0, (1u << 20) + 1, nfrag((1u << 20) + 1), 1), big, FRAG);
    EXPECT_DL(IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER, xfer(CONF, 7, 0, UINT32_MAX, nfrag(UINT32_MAX), 1), big, FRAG);
    /* A later fragment with nothing in progress. */
    EXPECT_DL(IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER, xfer(CONF, 7, 0, len, 5, 2), big, FRAG);
    /* Host-side misuse. */
    CHECK_EQ(iop_swstore_download(s, NULL, big, FRAG), -EINVAL);
    x = xfer(CONF, 7, 0, len, 5, 1);
    CHECK_EQ(iop_swstore_download(s, &x, NULL, FRAG), -EINVAL);
    CHECK_EQ(iop_swstore_staged_count(s), 0);
    expect_unchanged(s, img, len);

    /* Sequence errors: the partial download is discarded. */
    uint8_t *img2 = image(len, 5);
    CHECK_EQ(send_frag(s, CONF, 7, 0, img2, len, 1), 0);
    CHECK_EQ(iop_swstore_staged_count(s), 1);
    CHECK_EQ(send_frag(s, CONF, 7, 0, img2, len, 3), IOP_SW_STATUS_ERROR_PARTIAL_TRANSFER);
    CHECK_EQ(iop_swstore_staged_count(s), 0);
    CHECK_EQ(send_frag(s, CONF, 7, 0, img2, len, 2), IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER);
    /* Repeated. */
    CHECK_EQ(send_frag(s, CONF, 7, 0, img2, len, 1), 0);
    CHECK_EQ(send_frag(s, CONF, 7, 0, img2, len, 2), 0);
    CHECK_EQ(send_frag(s, CONF, 7, 0, img2, len, 2), IOP_SW_STATUS_ERROR_PARTIAL_TRANSFER);
    CHECK_EQ(iop_swstore_staged_count(s), 0);
    /* swlen changed with the same fragment count, and DownloadFlags changed. */
    CHECK_EQ(send_frag(s, CONF, 7, 0, img2, len, 1), 0);
    EXPECT_DL(IOP_SW_STATUS_ERROR_PARTIAL_TRANSFER, xfer(CONF, 7, 0, len - 1, 5, 2), img2 + FRAG, FRAG);
    CHECK_EQ(send_frag(s, CONF, 7, 0, img2, len, 1), 0);
    CHECK_EQ(send_frag(s, CONF, 7, 0x02, img2, len, 2), IOP_SW_STATUS_ERROR_PARTIAL_TRANSFER);
    /* A malformed fragment in the middle changes nothing: the download goes on. */
    CHECK_EQ(send_frag(s, CONF, 7, 0, img2, len, 1), 0);
    EXPECT_DL(IOP_SW_STATUS_TRANSACTION_ERROR, xfer(CONF, 7, 0, len, 5, 2), img2 + FRAG, FRAG - 1);
    CHECK_EQ(iop_swstore_staged_count(s), 1);
    /* The old module is still what upload returns while v2 is in progress. */
    expect_unchanged(s, img, len);
    for (uint32_t k = 2; k <= 5; k++)
        CHECK_EQ(send_frag(s, CONF, 7, 0, img2, len, k), 0);
    CHECK(upload_equals(s, CONF, 7, img2, len));
    /* A fragment after the last one: nothing in progress any more. */
    EXPECT_DL(IOP_SW_STATUS_TRANSACTION_ERROR, xfer(CONF, 7, 0, len, 5, 6), img2, FRAG);
    CHECK_EQ(send_frag(s, CONF, 7, 0, img2, len, 5), IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER);
#undef EXPECT_DL
    /* Nothing but the module's one data file and the index on disk. */
    CHECK_EQ(test_count_prefix(sub("refuse"), "sw-"), 1);
    CHECK_EQ(test_count_prefix(sub("refuse"), ".tmp."), 0);
    close_store(s, dir);
    free(img);
    free(img2);
    free(big);
}

static void test_capacity(void) {
    struct iop_state_dir *dir;
    struct iop_swstore_config cfg = { .max_total_size = 64 * 1024, .max_modules = 2 };
    struct iop_swstore *s = open_store("cap", &dir, &cfg);
    uint8_t *a = image(40 * 1024, 6), *b = image(60 * 1024, 7), *c = image(20 * 1024, 8);
    CHECK_EQ(download(s, IRTOS, 1, 0, a, 40 * 1024), 0);
    /* 40 + 30 > 64 KiB */
    CHECK_EQ(download(s, IRTOS, 2, 0, b, 30 * 1024), IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER);
    /* Replacing the 40 KiB module with 60 KiB fits: the old one is counted as replaced. */
    CHECK_EQ(download(s, IRTOS, 1, 0, b, 60 * 1024), 0);
    CHECK(upload_equals(s, IRTOS, 1, b, 60 * 1024));
    CHECK_EQ(download(s, IRTOS, 1, 0, a, 40 * 1024), 0);
    CHECK_EQ(download(s, IRTOS, 2, 0, c, 20 * 1024), 0);
    /* Two modules: a third is refused, a replacement is not. */
    CHECK_EQ(download(s, IRTOS, 3, 0, c, 1024), IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ(download(s, IRTOS, 2, 0, c, 1024), 0);
    /* Downloads in progress count too. */
    CHECK_EQ(iop_swstore_remove(s, &(struct iop_sw_xfer){ .sw_type = IRTOS, .sw_id = 2 }, NULL), 0);
    CHECK_EQ(send_frag(s, IRTOS, 5, 0, c, 20 * 1024, 1), 0);
    CHECK_EQ(download(s, IRTOS, 6, 0, c, 1024), IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER);
    /* ... but a restart of the same module does not count twice. */
    CHECK_EQ(download(s, IRTOS, 5, 0, c, 20 * 1024), 0);
    CHECK_EQ(iop_swstore_list(s, NULL, 0), 2);
    close_store(s, dir);
    free(a);
    free(b);
    free(c);
}

static void test_restart_and_concurrency(void) {
    struct iop_state_dir *dir;
    struct iop_swstore *s = open_store("restart", &dir, NULL);
    const uint32_t la = 5 * FRAG, lb = 3 * FRAG + 17;
    uint8_t *a = image(la, 9), *b = image(lb, 10);
    /* Three fragments of a, then b from fragment 1 (a different size): b wins. */
    for (uint32_t k = 1; k <= 3; k++)
        CHECK_EQ(send_frag(s, PRIV, 1, 0, a, la, k), 0);
    CHECK_EQ(iop_swstore_find(s, PRIV, 1, NULL), -ENOENT);
    CHECK_EQ(download(s, PRIV, 1, 0, b, lb), 0);
    CHECK(upload_equals(s, PRIV, 1, b, lb));
    /* The abandoned a may not continue. */
    CHECK_EQ(send_frag(s, PRIV, 1, 0, a, la, 4), IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER);

    /* Interleaved downloads of different modules do not disturb each other. */
    for (uint32_t k = 1; k <= 5; k++) {
        CHECK_EQ(send_frag(s, IRTOS, 10, 0, a, la, k), 0);
        if (k <= 4)
            CHECK_EQ(send_frag(s, IRTOS, 11, 0, b, lb, k), 0);
    }
    CHECK(upload_equals(s, IRTOS, 10, a, la));
    CHECK(upload_equals(s, IRTOS, 11, b, lb));

    /* One more than IOP_SWSTORE_STAGED_MAX at once: the idlest is abandoned. */
    for (uint32_t id = 20; id < 20 + IOP_SWSTORE_STAGED_MAX; id++)
        CHECK_EQ(send_frag(s, IRTOS, id, 0, a, la, 1), 0);
    CHECK_EQ(iop_swstore_staged_count(s), IOP_SWSTORE_STAGED_MAX);
    CHECK_EQ(send_frag(s, IRTOS, 20, 0, a, la, 2), 0); /* 20 is now the most recent */
    CHECK_EQ(send_frag(s, IRTOS, 99, 0, a, la, 1), 0); /* evicts 21 */
    CHECK_EQ(iop_swstore_staged_count(s), IOP_SWSTORE_STAGED_MAX);
    CHECK_EQ(send_frag(s, IRTOS, 21, 0, a, la, 2), IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER);
    for (uint32_t k = 3; k <= 5; k++)
        CHECK_EQ(send_frag(s, IRTOS, 20, 0, a, la, k), 0);
    CHECK(upload_equals(s, IRTOS, 20, a, la));
    /* Freeing the store abandons what is in progress; their temporary files go. */
    CHECK(test_count_prefix(sub("restart"), ".tmp.") >= 3);
    close_store(s, dir);
    CHECK_EQ(test_count_prefix(sub("restart"), ".tmp."), 0);
    s = open_store("restart", &dir, NULL);
    CHECK_EQ(iop_swstore_list(s, NULL, 0), 4);
    CHECK_EQ(iop_swstore_staged_count(s), 0);
    close_store(s, dir);
    free(a);
    free(b);
}

static void test_upload_refusals(void) {
    struct iop_state_dir *dir;
    struct iop_swstore *s = open_store("upload", &dir, NULL);
    const uint32_t len = 2 * FRAG + 5;
    uint8_t *img = image(len, 11);
    CHECK_EQ(download(s, IRTOS, 3, 0, img, len), 0);
    uint8_t buf[FRAG];
    uint32_t n = 77;
    struct iop_sw_xfer x;
#define EXPECT_UL(status, xv)                                                               \
    do {                                                                                    \
        x = (xv);                                                                           \
        n = 77;                                                                             \
        CHECK_EQ(iop_swstore_upload(s, &x, buf, sizeof(buf), &n), (status));               \
        if ((status) != 0)                                                                  \
            CHECK_EQ(n, 0);                                                                 \
    } while (0)
    EXPECT_UL(IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER, xfer(IRTOS, 4, 0, len, 3, 1));
    EXPECT_UL(IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER, xfer(PRIV, 3, 0, len, 3, 1));
    EXPECT_UL(IOP_SW_STATUS_TRANSACTION_ERROR, xfer(0x77, 3, 0, len, 3, 1));
    EXPECT_UL(IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER, xfer(IRTOS, 3, 0, len + 1, 3, 1));
    EXPECT_UL(IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER, xfer(IRTOS, 3, 0, len - 1, 3, 1));
    EXPECT_UL(IOP_SW_STATUS_TRANSACTION_ERROR, xfer(IRTOS, 3, 0, len, 2, 1));
    EXPECT_UL(IOP_SW_STATUS_TRANSACTION_ERROR, xfer(IRTOS, 3, 0, len, 4, 1));
    EXPECT_UL(IOP_SW_STATUS_TRANSACTION_ERROR, xfer(IRTOS, 3, 0, len, 3, 0));
    EXPECT_UL(IOP_SW_STATUS_TRANSACTION_ERROR, xfer(IRTOS, 3, 0, len, 3, 4));
    /* swlen 0: size unknown, the stored size is used; any order is fine. */
    EXPECT_UL(0, xfer(IRTOS, 3, 0, 0, 3, 3));
    CHECK_EQ(n, 5);
    CHECK_MEMEQ(buf, img + 2 * FRAG, 5);
    EXPECT_UL(0, xfer(IRTOS, 3, 0, len, 3, 1));
    CHECK_EQ(n, FRAG);
    CHECK_MEMEQ(buf, img, FRAG);
#undef EXPECT_UL
    /* Host-side misuse: a buffer too small for the fragment, NULL pointers. */
    x = xfer(IRTOS, 3, 0, len, 3, 2);
    CHECK_EQ(iop_swstore_upload(s, &x, buf, FRAG - 1, &n), -EINVAL);
    CHECK_EQ(iop_swstore_upload(s, &x, NULL, FRAG, &n), -EINVAL);
    CHECK_EQ(iop_swstore_upload(s, &x, buf, FRAG, NULL), -EINVAL);
    CHECK_EQ(iop_swstore_upload(s, NULL, buf, FRAG, &n), -EINVAL);
    x = xfer(IRTOS, 3, 0, len, 3, 3);
    CHECK_EQ(iop_swstore_upload(s, &x, buf, 5, &n), 0); /* the last needs only 5 */
    close_store(s, dir);
    free(img);
}

static void test_remove(void) {
    struct iop_state_dir *dir;
    struct iop_swstore *s = open_store("remove", &dir, NULL);
    uint8_t *img = image(3 * FRAG, 12);
    CHECK_EQ(download(s, IRTOS, 1, 0, img, 3 * FRAG), 0);
    CHECK_EQ(download(s, IRTOS, 2, 0, img, 2 * FRAG), 0);
    CHECK_EQ(download(s, IRTOS, 3, 0, img, 100), 0);
    CHECK_EQ(test_count_prefix(sub("remove"), "sw-"), 3);
    uint32_t size = 99;
    struct iop_sw_xfer x = { .sw_type = IRTOS, .sw_id = 1, .swlen = 3 * FRAG + 1 };
    /* Wrong swlen: refused, but the real size is reported. */
    CHECK_EQ(iop_swstore_remove(s, &x, &size), IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ(size, 3 * FRAG);
    CHECK_EQ(iop_swstore_find(s, IRTOS, 1, NULL), 0);
    /* Right swlen. */
    x.swlen = 3 * FRAG;
    size = 99;
    CHECK_EQ(iop_swstore_remove(s, &x, &size), 0);
    CHECK_EQ(size, 3 * FRAG);
    CHECK_EQ(iop_swstore_find(s, IRTOS, 1, NULL), -ENOENT);
    uint8_t buf[FRAG];
    uint32_t n;
    struct iop_sw_xfer u = xfer(IRTOS, 1, 0, 3 * FRAG, 3, 1);
    CHECK_EQ(iop_swstore_upload(s, &u, buf, sizeof(buf), &n), IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER);
    /* Gone: nothing to remove, size 0. */
    size = 99;
    CHECK_EQ(iop_swstore_remove(s, &x, &size), IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ(size, 0);
    /* swlen 0: unknown, removes whatever size; RemoveFlags are ignored. */
    x = (struct iop_sw_xfer){ .sw_type = IRTOS, .sw_id = 2, .swlen = 0, .flags = 0xff };
    CHECK_EQ(iop_swstore_remove(s, &x, &size), 0);
    CHECK_EQ(size, 2 * FRAG);
    x = (struct iop_sw_xfer){ .sw_type = 0x99, .sw_id = 3 };
    CHECK_EQ(iop_swstore_remove(s, &x, &size), IOP_SW_STATUS_TRANSACTION_ERROR);
    CHECK_EQ(iop_swstore_remove(s, NULL, &size), -EINVAL);
    /* The data files went with the modules; the remaining one persists. */
    CHECK_EQ(test_count_prefix(sub("remove"), "sw-"), 1);
    close_store(s, dir);
    s = open_store("remove", &dir, NULL);
    CHECK_EQ(iop_swstore_list(s, NULL, 0), 1);
    CHECK(upload_equals(s, IRTOS, 3, img, 100));
    close_store(s, dir);
    free(img);
}

static void test_validate_persist(void) {
    struct iop_state_dir *dir;
    struct iop_swstore *s = open_store("persist", &dir, NULL);
    uint8_t *a = image(20000, 13), *b = image(5, 14), *c = image(FRAG, 15);
    CHECK_EQ(download(s, CONF, 1, 0x01, a, 20000), 0);
    CHECK_EQ(download(s, IRTOS, 0x001b0000, 0x02, b, 5), 0);
    CHECK_EQ(iop_swstore_validate(s), 2);
    CHECK_EQ(iop_swstore_validate(s), 0);
    CHECK_EQ(download(s, PRIV, 0, 0x03, c, FRAG), 0);
    struct iop_sw_module_info list[4];
    CHECK_EQ(iop_swstore_list(s, list, 4), 3);
    /* Sorted by (type, id). */
    CHECK_EQ(list[0].sw_type, IRTOS);
    CHECK_EQ(list[1].sw_type, PRIV);
    CHECK_EQ(list[2].sw_type, CONF);
    CHECK(list[0].valid && !list[1].valid && list[2].valid);
    close_store(s, dir);

    /* A new object on the same directory sees the same store. */
    s = open_store("persist", &dir, NULL);
    struct iop_sw_module_info again[4];
    CHECK_EQ(iop_swstore_list(s, again, 1), 3); /* only one filled */
    CHECK_EQ(again[0].sw_id, 0x001b0000);
    CHECK_EQ(iop_swstore_list(s, again, 4), 3);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(again[i].sw_type, list[i].sw_type);
        CHECK_EQ(again[i].sw_id, list[i].sw_id);
        CHECK_EQ(again[i].size, list[i].size);
        CHECK_EQ(again[i].download_flags, list[i].download_flags);
        CHECK_EQ(again[i].valid, list[i].valid);
    }
    CHECK_EQ(again[2].download_flags, 0x01);
    CHECK(upload_equals(s, CONF, 1, a, 20000));
    CHECK(upload_equals(s, IRTOS, 0x001b0000, b, 5));
    CHECK(upload_equals(s, PRIV, 0, c, FRAG));
    /* suspect -> valid, persisted too; a replacement is suspect again. */
    CHECK_EQ(iop_swstore_validate(s), 1);
    CHECK_EQ(download(s, CONF, 1, 0x01, c, 100), 0);
    struct iop_sw_module_info info;
    CHECK_EQ(iop_swstore_find(s, CONF, 1, &info), 0);
    CHECK(!info.valid);
    CHECK_EQ(info.size, 100);
    close_store(s, dir);
    s = open_store("persist", &dir, NULL);
    CHECK_EQ(iop_swstore_find(s, PRIV, 0, &info), 0);
    CHECK(info.valid);
    CHECK_EQ(iop_swstore_find(s, CONF, 1, &info), 0);
    CHECK(!info.valid);
    CHECK(upload_equals(s, CONF, 1, c, 100));
    CHECK_EQ(iop_swstore_validate(s), 1);
    close_store(s, dir);
    /* One data file per module, nothing else. */
    CHECK_EQ(test_count_prefix(sub("persist"), "sw-"), 3);
    CHECK_EQ(test_count_prefix(sub("persist"), ".tmp."), 0);
    free(a);
    free(b);
    free(c);
}

/* A copy of a file, byte for byte. */
static void copy_file(const char *from, const char *to) {
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(in >= 0 && out >= 0);
    char buf[65536];
    ssize_t k;
    while ((k = read(in, buf, sizeof(buf))) > 0)
        CHECK_EQ(write(out, buf, (size_t)k), k);
    close(in);
    close(out);
}

static void flip_byte(const char *path, off_t off) {
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    uint8_t c = 0;
    CHECK_EQ(pread(fd, &c, 1, off), 1);
    c ^= 0x5a;
    CHECK_EQ(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

static void test_damage(void) {
    struct iop_state_dir *dir;
    struct iop_swstore *s = open_store("damage", &dir, NULL);
    uint8_t *a = image(30000, 16), *b = image(4000, 17);
    CHECK_EQ(download(s, IRTOS, 1, 0, a, 30000), 0);
    CHECK_EQ(download(s, IRTOS, 2, 0, b, 4000), 0);
    CHECK_EQ(iop_swstore_validate(s), 2);
    close_store(s, dir);
    char name[256], p[1024];

    /* A damaged data file: reported, skipped, left in place; the other module loads. */
    CHECK(find_prefix(sub("damage"), "sw-11-00000001-", name, sizeof(name)));
    snprintf(p, sizeof(p), "%s/%s", sub("damage"), name);
    copy_file(p, sub("module1.bak"));
    flip_byte(p, 32 + 16 + 1000);
    test_n_warnings = 0;
    s = open_store("damage", &dir, NULL);
    CHECK(test_n_warnings >= 1);
    CHECK(strstr(test_last_warning, name) != NULL);
    CHECK_EQ(iop_swstore_list(s, NULL, 0), 1);
    CHECK_EQ(iop_swstore_find(s, IRTOS, 1, NULL), -ENOENT);
    CHECK(upload_equals(s, IRTOS, 2, b, 4000));
    close_store(s, dir);
    CHECK_EQ(access(p, F_OK), 0);
    copy_file(sub("module1.bak"), p); /* repaired by hand */

    /* A damaged index: rebuilt from the data files, all suspect, and rewritten. */
    flip_byte(sub("damage/swstore.idx"), 40);
    test_n_warnings = 0;
    s = open_store("damage", &dir, NULL);
    CHECK(test_n_warnings >= 1);
    struct iop_sw_module_info list[3];
    CHECK_EQ(iop_swstore_list(s, list, 3), 2);
    CHECK(!list[0].valid && !list[1].valid);
    CHECK(upload_equals(s, IRTOS, 1, a, 30000));
    CHECK(upload_equals(s, IRTOS, 2, b, 4000));
    close_store(s, dir);
    test_n_warnings = 0;
    s = open_store("damage", &dir, NULL);
    CHECK_EQ(test_n_warnings, 0);
    CHECK_EQ(iop_swstore_list(s, NULL, 0), 2);
    CHECK_EQ(iop_swstore_validate(s), 2);
    close_store(s, dir);

    /* A missing index: rebuilt likewise. */
    CHECK_EQ(unlink(sub("damage/swstore.idx")), 0);
    s = open_store("damage", &dir, NULL);
    CHECK_EQ(iop_swstore_list(s, NULL, 0), 2);
    close_store(s, dir);

    /* An intact data file nobody references (an older generation, as a crash between the
     * index and the removal leaves it) is removed at open; a damaged one is not. */
    CHECK(find_prefix(sub("damage"), "sw-11-00000002-", name, sizeof(name)));
    snprintf(p, sizeof(p), "%s/%s", sub("damage"), name);
    copy_file(p, sub("damage/sw-11-00000002-00000000.img"));
    copy_file(p, sub("damage/sw-11-00000009-00000000.img"));
    flip_byte(sub("damage/sw-11-00000009-00000000.img"), 40);
    int fd = open(sub("damage/sw-not-ours"), O_WRONLY | O_CREAT, 0600); /* not a data file name */
    close(fd);
    test_n_warnings = 0;
    s = open_store("damage", &dir, NULL);
    CHECK_EQ(access(sub("damage/sw-11-00000002-00000000.img"), F_OK), -1);
    CHECK_EQ(access(sub("damage/sw-11-00000009-00000000.img"), F_OK), 0);
    CHECK_EQ(access(sub("damage/sw-not-ours"), F_OK), 0);
    CHECK(test_n_warnings >= 1);
    CHECK_EQ(iop_swstore_list(s, NULL, 0), 2);
    close_store(s, dir);
    unlink(sub("damage/sw-11-00000009-00000000.img"));

    /* An index from a newer iopd: the store refuses to open rather than overwrite it. */
    CHECK_EQ(iop_state_dir_open(sub("damage"), &dir), 0);
    uint8_t idx[16] = { 'S', 'W', 'I', 'X' };
    iop_put_le16(idx + 4, 3);
    iop_put_le16(idx + 6, 16);
    CHECK_EQ(iop_state_write_atomic(dir, "swstore.idx", idx, sizeof(idx)), 0);
    s = NULL;
    CHECK_EQ(iop_swstore_new(dir, NULL, &s), -EPROTONOSUPPORT);
    CHECK(s == NULL);
    /* An index whose entries are inconsistent (a duplicate key) is rebuilt. */
    uint8_t idx2[16 + 32] = { 'S', 'W', 'I', 'X' };
    iop_put_le16(idx2 + 4, 2);
    iop_put_le16(idx2 + 6, 16);
    iop_put_le32(idx2 + 8, 2);
    for (int i = 0; i < 2; i++) {
        uint8_t *e = idx2 + 16 + 16 * i;
        e[0] = IRTOS;
        iop_put_le32(e + 4, 1);
        iop_put_le32(e + 8, 30000);
        iop_put_le32(e + 12, 1);
    }
    CHECK_EQ(iop_state_write_atomic(dir, "swstore.idx", idx2, sizeof(idx2)), 0);
    CHECK_EQ(iop_swstore_new(dir, NULL, &s), 0);
    CHECK_EQ(iop_swstore_list(s, NULL, 0), 2);
    close_store(s, dir);
    free(a);
    free(b);
}

/* A mover standing in for the DMA channel: counts, can fail or stop short. */
struct mover {
    enum { MOVE_OK, MOVE_FAIL, MOVE_HALF } mode;
    size_t bytes;
    unsigned calls, to_iop_calls;
};

static int mover_fn(void *opaque, bool to_iop, void *dst, const void *src, size_t n) {
    struct mover *m = opaque;
    m->calls++;
    m->to_iop_calls += to_iop;
    if (m->mode == MOVE_FAIL)
        return -EIO;
    size_t k = m->mode == MOVE_HALF ? n / 2 : n;
    memcpy(dst, src, k);
    m->bytes += k;
    return (int)k;
}

static void test_mover(void) {
    struct mover mv = { 0 };
    struct iop_swstore_config cfg = { .mover = { .move = mover_fn, .opaque = &mv } };
    struct iop_state_dir *dir;
    struct iop_swstore *s = open_store("mover", &dir, &cfg);
    const uint32_t len = 4 * FRAG - 3;
    uint8_t *img = image(len, 18), *img2 = image(len, 19);
    CHECK_EQ(download(s, IRTOS, 1, 0, img, len), 0);
    CHECK_EQ(mv.bytes, len);
    CHECK_EQ(mv.calls, 4);
    CHECK_EQ(mv.to_iop_calls, 4); /* downloads move host -> IOP */
    CHECK(upload_equals(s, IRTOS, 1, img, len));
    CHECK_EQ(mv.bytes, 2 * len);
    CHECK_EQ(mv.calls, 8);
    CHECK_EQ(mv.to_iop_calls, 4); /* uploads the other way */

    /* Download: a failing or short move stores nothing; the fragment can be resent. */
    CHECK_EQ(send_frag(s, IRTOS, 1, 0, img2, len, 1), 0);
    mv.mode = MOVE_FAIL;
    CHECK_EQ(send_frag(s, IRTOS, 1, 0, img2, len, 2), IOP_SW_STATUS_ABORT_NO_DATA_TRANSFER);
    mv.mode = MOVE_HALF;
    CHECK_EQ(send_frag(s, IRTOS, 1, 0, img2, len, 2), IOP_SW_STATUS_ABORT_PARTIAL_TRANSFER);
    mv.mode = MOVE_OK;
    for (uint32_t k = 2; k <= 4; k++)
        CHECK_EQ(send_frag(s, IRTOS, 1, 0, img2, len, k), 0);
    CHECK(upload_equals(s, IRTOS, 1, img2, len));
    /* A failed move of a restarting fragment 1 keeps the download in progress. */
    CHECK_EQ(send_frag(s, IRTOS, 1, 0, img, len, 1), 0);
    CHECK_EQ(send_frag(s, IRTOS, 1, 0, img, len, 2), 0);
    mv.mode = MOVE_FAIL;
    CHECK_EQ(send_frag(s, IRTOS, 1, 0, img, len, 1), IOP_SW_STATUS_ABORT_NO_DATA_TRANSFER);
    mv.mode = MOVE_OK;
    CHECK_EQ(send_frag(s, IRTOS, 1, 0, img, len, 3), 0);
    CHECK_EQ(send_frag(s, IRTOS, 1, 0, img, len, 4), 0);
    CHECK(upload_equals(s, IRTOS, 1, img, len));

    /* Upload: failure -> ABORT_DIRTY; short -> ABORT_PARTIAL_TRANSFER with the count. */
    uint8_t buf[FRAG];
    uint32_t n = 5;
    struct iop_sw_xfer x = xfer(IRTOS, 1, 0, len, 4, 1);
    mv.mode = MOVE_FAIL;
    CHECK_EQ(iop_swstore_upload(s, &x, buf, sizeof(buf), &n), IOP_SW_STATUS_ABORT_DIRTY);
    CHECK_EQ(n, 0);
    mv.mode = MOVE_HALF;
    CHECK_EQ(iop_swstore_upload(s, &x, buf, sizeof(buf), &n), IOP_SW_STATUS_ABORT_PARTIAL_TRANSFER);
    CHECK_EQ(n, FRAG / 2);
    CHECK_MEMEQ(buf, img, FRAG / 2);
    close_store(s, dir);
    free(img);
    free(img2);
}

/* Crash plan for lib/state's hook: die at the crash_at'th step; remember where. */
struct plan {
    int crash_at;
    int calls;
    bool index_renamed; /* the index rename happened before the crash */
    bool data_renamed;  /* a data file's rename happened before the crash */
    bool unlinked;      /* an unlink happened before the crash */
    enum iop_state_step step;
    char name[80];
};

static bool crash_hook(void *opaque, enum iop_state_step step, const char *name) {
    struct plan *p = opaque;
    if (!strcmp(name, "swstore.idx") && step == IOP_STATE_STEP_RENAMED)
        p->index_renamed = true;
    if (!strncmp(name, "sw-", 3) && step == IOP_STATE_STEP_RENAMED)
        p->data_renamed = true;
    if (step == IOP_STATE_STEP_UNLINKED)
        p->unlinked = true;
    if (p->calls++ != p->crash_at)
        return false;
    p->step = step;
    snprintf(p->name, sizeof(p->name), "%s", name);
    return true;
}

/* Replace a valid v1 by v2, crashing at every step of the download in turn; after each
 * crash a restarted store has v1 (valid) or v2 (suspect), whole, and no leftovers. */
static void test_crash_download(void) {
    const uint32_t l1 = 3 * FRAG + 11, l2 = 4 * FRAG + 500;
    uint8_t *v1 = image(l1, 20), *v2 = image(l2, 21);
    int completed_at = -1;
    bool saw_v2 = false;
    for (int k = 0; k < 200 && completed_at < 0; k++) {
        test_rm_tree(sub("crash"));
        struct iop_state_dir *dir;
        struct iop_swstore *s = open_store("crash", &dir, NULL);
        CHECK_EQ(download(s, PRIV, 5, 0, v1, l1), 0);
        CHECK_EQ(iop_swstore_validate(s), 1);
        struct plan p = { .crash_at = k };
        iop_state_dir_set_crash_hook(dir, crash_hook, &p);
        int r = download(s, PRIV, 5, 0, v2, l2);
        if (r == 0) {
            completed_at = k;
            close_store(s, dir);
            break;
        }
        CHECK_EQ(r, -ECANCELED);
        /* The dead store does nothing more. */
        CHECK_EQ(download(s, PRIV, 6, 0, v1, l1), -ECANCELED);
        close_store(s, dir);

        s = open_store("crash", &dir, NULL);
        struct iop_sw_module_info info;
        CHECK_EQ(iop_swstore_find(s, PRIV, 5, &info), 0);
        bool is_v2 = info.size == l2;
        CHECK_EQ(is_v2, p.data_renamed); /* visible exactly when its data file was in place */
        CHECK(!saw_v2 || is_v2);          /* never back to v1 once v2 was seen */
        saw_v2 = is_v2;
        CHECK_EQ(info.valid, !is_v2);
        CHECK(upload_equals(s, PRIV, 5, is_v2 ? v2 : v1, is_v2 ? l2 : l1));
        CHECK_EQ(iop_swstore_list(s, NULL, 0), 1);
        CHECK_EQ(test_count_prefix(sub("crash"), ".tmp."), 0);
        CHECK_EQ(test_count_prefix(sub("crash"), "sw-"), 1);
        close_store(s, dir);
    }
    /* Data file: created, module header, 5 fragments, written, synced, renamed, dir
     * synced (11); removal of v1's file: 1 (unlinked: no directory fsync, a generation
     * older than one beside it).  No index write.  Each was a crash point. */
    CHECK_EQ(completed_at, 12);
    CHECK(saw_v2);
    free(v1);
    free(v2);
}

/* The same for removal and validation. */
static void test_crash_remove_validate(void) {
    uint8_t *v = image(FRAG + 1, 22);
    for (int op = 0; op < 2; op++) {
        int completed_at = -1;
        for (int k = 0; k < 50 && completed_at < 0; k++) {
            test_rm_tree(sub("crash2"));
            struct iop_state_dir *dir;
            struct iop_swstore *s = open_store("crash2", &dir, NULL);
            CHECK_EQ(download(s, IRTOS, 1, 0, v, FRAG + 1), 0);
            struct plan p = { .crash_at = k };
            iop_state_dir_set_crash_hook(dir, crash_hook, &p);
            struct iop_sw_xfer x = { .sw_type = IRTOS, .sw_id = 1 };
            int r = op == 0 ? iop_swstore_remove(s, &x, NULL) : iop_swstore_validate(s);
            if (r >= 0) {
                completed_at = k;
                close_store(s, dir);
                break;
            }
            CHECK_EQ(r, -ECANCELED);
            close_store(s, dir);
            s = open_store("crash2", &dir, NULL);
            struct iop_sw_module_info info;
            int found = iop_swstore_find(s, IRTOS, 1, &info);
            if (op == 0) {
                /* Gone exactly when its data file was. */
                CHECK_EQ(found, p.unlinked ? -ENOENT : 0);
                if (found == 0)
                    CHECK(upload_equals(s, IRTOS, 1, v, FRAG + 1));
                CHECK_EQ(test_count_prefix(sub("crash2"), "sw-"), found == 0);
            } else {
                CHECK_EQ(found, 0);
                CHECK_EQ(info.valid, p.index_renamed);
            }
            CHECK_EQ(test_count_prefix(sub("crash2"), ".tmp."), 0);
            close_store(s, dir);
        }
        /* Removal: unlinked, directory synced; validation: the index's 6 steps. */
        CHECK_EQ(completed_at, op == 0 ? 2 : 6);
    }
    free(v);
}

/* The data file of a replaced module goes without a directory fsync: a crash may bring
 * it back.  That is no state of its own: the newer generation beside it is the module,
 * so a restarted store has the new state and removes the file as a leftover.
 * When the unlink fails outright, the old file stays on disk beside the new one; a
 * removal of the module must then take both, or the old version would be the module
 * after a restart. */
static void test_lost_unlink(void) {
    uint8_t *v1 = image(FRAG + 3, 25), *v2 = image(2 * FRAG, 26);
    for (int op = 0; op < 2; op++) {
        test_rm_tree(sub("lost"));
        struct iop_state_dir *dir;
        struct iop_swstore *s = open_store("lost", &dir, NULL);
        CHECK_EQ(download(s, IRTOS, 2, 0, v1, FRAG + 3), 0);
        char name[256], path[1024], aside[1100];
        CHECK(find_prefix(sub("lost"), "sw-", name, sizeof(name)));
        snprintf(path, sizeof(path), "%s/%s", sub("lost"), name);
        snprintf(aside, sizeof(aside), "%s.aside", sub("lost"));
        struct iop_sw_xfer x = { .sw_type = IRTOS, .sw_id = 2 };
        if (op == 0) {
            copy_file(path, aside);
            CHECK_EQ(download(s, IRTOS, 2, 0, v2, 2 * FRAG), 0); /* replaces v1 */
            close_store(s, dir);
            /* The crash undid the unlink of v1's file. */
            CHECK(access(path, F_OK) < 0);
            copy_file(aside, path);
            s = open_store("lost", &dir, NULL);
            struct iop_sw_module_info info;
            CHECK_EQ(iop_swstore_find(s, IRTOS, 2, &info), 0);
            CHECK(upload_equals(s, IRTOS, 2, v2, 2 * FRAG));
            CHECK(access(path, F_OK) < 0); /* gone as a leftover */
            CHECK_EQ(test_count_prefix(sub("lost"), "sw-"), 1);
        } else {
            /* A directory in the file's place makes its unlink fail (EISDIR). */
            CHECK_EQ(rename(path, aside), 0);
            CHECK_EQ(mkdir(path, 0700), 0);
            test_n_warnings = 0;
            CHECK_EQ(download(s, IRTOS, 2, 0, v2, 2 * FRAG), 0); /* replaces v1 */
            CHECK(test_n_warnings >= 1);
            CHECK(strstr(test_last_warning, name) != NULL);
            CHECK_EQ(rmdir(path), 0);
            CHECK_EQ(rename(aside, path), 0); /* v1's file, still on disk */
            CHECK_EQ(iop_swstore_remove(s, &x, NULL), 0);
            CHECK_EQ(test_count_prefix(sub("lost"), "sw-"), 0);
            close_store(s, dir);
            s = open_store("lost", &dir, NULL);
            CHECK_EQ(iop_swstore_find(s, IRTOS, 2, NULL), -ENOENT);
        }
        close_store(s, dir);
        unlink(aside);
    }
    free(v1);
    free(v2);
}

/* A store written by an iopd whose index listed every module (version 1): a data file
 * that index does not name was a leftover there (a removal or an unanswered download
 * cut short by a crash) and is one here too; the modules it names keep their validity;
 * the index is rewritten as version 2 at once. */
static void test_index_v1(void) {
    uint8_t *a = image(FRAG + 7, 27), *b = image(300, 28);
    test_rm_tree(sub("v1"));
    struct iop_state_dir *dir;
    struct iop_swstore *s = open_store("v1", &dir, NULL);
    CHECK_EQ(download(s, IRTOS, 1, 0x04, a, FRAG + 7), 0); /* generation 1 */
    CHECK_EQ(download(s, IRTOS, 2, 0, b, 300), 0);         /* generation 2 */
    close_store(s, dir);
    CHECK_EQ(iop_state_dir_open(sub("v1"), &dir), 0);
    uint8_t idx[16 + 16] = { 'S', 'W', 'I', 'X' };
    iop_put_le16(idx + 4, 1);
    iop_put_le16(idx + 6, 16);
    iop_put_le32(idx + 8, 1);
    iop_put_le32(idx + 12, 3);
    idx[16] = IRTOS;
    idx[17] = 0x04;
    idx[18] = 1; /* valid */
    iop_put_le32(idx + 20, 1);
    iop_put_le32(idx + 24, FRAG + 7);
    iop_put_le32(idx + 28, 1);
    CHECK_EQ(iop_state_write_atomic(dir, "swstore.idx", idx, sizeof(idx)), 0);
    iop_state_dir_free(dir);
    s = open_store("v1", &dir, NULL);
    struct iop_sw_module_info info;
    CHECK_EQ(iop_swstore_list(s, NULL, 0), 1);
    CHECK_EQ(iop_swstore_find(s, IRTOS, 1, &info), 0);
    CHECK(info.valid);
    CHECK_EQ(info.download_flags, 0x04);
    CHECK(upload_equals(s, IRTOS, 1, a, FRAG + 7));
    CHECK_EQ(iop_swstore_find(s, IRTOS, 2, NULL), -ENOENT);
    CHECK_EQ(test_count_prefix(sub("v1"), "sw-"), 1);
    close_store(s, dir);
    /* Rewritten as version 2: a new download is a module without any index write. */
    CHECK_EQ(iop_state_dir_open(sub("v1"), &dir), 0);
    void *buf = NULL;
    size_t len = 0;
    CHECK_EQ(iop_state_read(dir, "swstore.idx", &buf, &len, 4096), 0);
    CHECK(len >= 6 && ((uint8_t *)buf)[4] == 2);
    free(buf);
    iop_state_dir_free(dir);
    s = open_store("v1", &dir, NULL);
    CHECK_EQ(download(s, IRTOS, 2, 0, b, 300), 0);
    close_store(s, dir);
    s = open_store("v1", &dir, NULL);
    CHECK_EQ(iop_swstore_find(s, IRTOS, 2, &info), 0);
    CHECK(!info.valid);
    CHECK(upload_equals(s, IRTOS, 2, b, 300));
    CHECK_EQ(iop_swstore_find(s, IRTOS, 1, &info), 0);
    CHECK(info.valid);
    close_store(s, dir);
    free(a);
    free(b);
}

/* A crash in the middle of a large download (half of 2 MiB written) leaves the old
 * module intact; the client's next fragment after the restart is refused. */
static void test_crash_mid_download(void) {
    const uint32_t len = 2u << 20;
    uint8_t *v1 = image(len, 23), *v2 = image(len, 24);
    struct iop_state_dir *dir;
    struct iop_swstore *s = open_store("crash3", &dir, NULL);
    CHECK_EQ(download(s, IRTOS, 0, 0, v1, len), 0);
    /* Steps: created, module header, then one per fragment: die writing fragment 128. */
    struct plan p = { .crash_at = 1 + 128 };
    iop_state_dir_set_crash_hook(dir, crash_hook, &p);
    int r = 0;
    uint32_t k;
    for (k = 1; k <= nfrag(len) && r == 0; k++)
        r = send_frag(s, IRTOS, 0, 0, v2, len, k);
    CHECK_EQ(r, -ECANCELED);
    CHECK_EQ(k - 1, 128);
    CHECK_EQ(p.step, IOP_STATE_STEP_TEMP_DATA);
    CHECK_EQ(test_count_prefix(sub("crash3"), ".tmp."), 1);
    close_store(s, dir);
    s = open_store("crash3", &dir, NULL);
    CHECK_EQ(test_count_prefix(sub("crash3"), ".tmp."), 0);
    CHECK(upload_equals(s, IRTOS, 0, v1, len));
    /* The client resends the unanswered fragment 128: that download died with the process. */
    CHECK_EQ(send_frag(s, IRTOS, 0, 0, v2, len, 128), IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER);
    close_store(s, dir);
    free(v1);
    free(v2);
}

int main(void) {
    if (!mkdtemp(root))
        return test_skip("mkdtemp failed");
    iop_log_set_sink(test_capture_warnings, NULL);
    iop_log_set_max_level(LOG_DEBUG);
    TEST(test_basics);
    TEST(test_hostile_ids);
    TEST(test_big_image);
    TEST(test_download_refusals);
    TEST(test_capacity);
    TEST(test_restart_and_concurrency);
    TEST(test_upload_refusals);
    TEST(test_remove);
    TEST(test_validate_persist);
    TEST(test_damage);
    TEST(test_mover);
    TEST(test_crash_download);
    TEST(test_crash_remove_validate);
    TEST(test_lost_unlink);
    TEST(test_index_v1);
    TEST(test_crash_mid_download);
    test_rm_tree(root);
    return test_summary();
}
