/* Parameter groups built from the configuration: custom scalar and table groups, their
 * rows and ranges, values for standard groups, and every error naming its path. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "lib/config/config.h"
#include "lib/i2o/devparams.h"
#include "lib/i2o/iop.h"
#include "lib/params/params-exec.h"
#include "lib/params/params-std.h"
#include "lib/params/params-store.h"
#include "lib/params/params.h"
#include "lib/state/state.h"
#include "lib/swstore/swstore.h"
#include "lib/util/log.h"
#include "testfs.h"
#include "testutil.h"

static char last_log[4096]; /* every message since the last reset */
static void sink(void *ctx, int level, const char *msg) {
    (void)ctx, (void)level;
    size_t n = strlen(last_log);
    snprintf(last_log + n, sizeof(last_log) - n, "%s\n", msg);
}

static struct iop_system *build(const char *json, int *err) {
    struct iop_config *cfg;
    char *e = NULL;
    struct iop_system *sys = NULL;
    *err = iop_config_parse(json, strlen(json), "c.json", &cfg, &e);
    if (*err < 0) {
        snprintf(last_log, sizeof(last_log), "%s", e ? e : "?");
        free(e);
        return NULL;
    }
    *err = iop_system_new_from_config(cfg, &sys);
    iop_config_free(cfg);
    return sys;
}

static const char good[] =
    "{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":16,\"class\":\"lan\","
    "\"groups\":[{\"number\":\"0x8001\",\"name\":\"Tuning\",\"fields\":["
    "  {\"name\":\"Speed\",\"type\":\"u32\",\"writable\":true,\"min\":10,\"max\":1000},"
    "  {\"name\":\"Label\",\"type\":\"string\",\"size\":8},"
    "  {\"name\":\"Mac\",\"type\":\"bytes\",\"size\":6}]},"
    " {\"number\":\"0x8002\",\"name\":\"Paths\",\"table\":true,\"row_add\":true,\"fields\":["
    "  {\"name\":\"Id\",\"type\":\"u16\",\"key\":true},{\"name\":\"Cost\",\"type\":\"u8\",\"writable\":true}],"
    "  \"rows\":[{\"Id\":7,\"Cost\":3},{\"Id\":9,\"Cost\":4}]}],"
    "\"params\":{\"0x8001\":{\"Speed\":100,\"Label\":\"eth\",\"Mac\":\"020000000001\"},"
    "  \"0xF102\":{\"DeviceName\":\"uplink\"}}}]}]}";

static void test_build(void) {
    int err;
    struct iop_system *sys = build(good, &err);
    CHECK_EQ(err, 0);
    if (!sys)
        return;
    struct iop_params *p = iop_device_params(iop_controller_find_device(sys->iop[0], 16));
    uint64_t v;
    char s[80];
    CHECK_EQ(iop_params_get_uint(p, 0x8001, "Speed", NULL, 0, &v), 0);
    CHECK_EQ(v, 100);
    CHECK(iop_params_get_string(p, 0x8001, "Label", NULL, 0, s, sizeof(s)) > 0);
    CHECK_STREQ(s, "eth");
    uint8_t mac[6];
    CHECK_EQ(iop_params_get(p, 0x8001, "Mac", NULL, 0, mac, sizeof(mac)), 6);
    CHECK_EQ(mac[5], 1);
    CHECK(iop_params_get_string(p, 0xF102, "DeviceName", NULL, 0, s, sizeof(s)) > 0);
    CHECK_STREQ(s, "uplink");
    uint16_t key = 9;
    CHECK_EQ(iop_params_get_uint(p, 0x8002, "Cost", &key, 2, &v), 0);
    CHECK_EQ(v, 4);
    /* The range is the engine's too: a FIELD_SET of 5 is SCALAR_ERROR. */
    uint8_t ops[16] = { 1, 0, 0, 0, 6, 0, 0x01, 0x80, 1, 0, 0, 0, 5, 0, 0, 0 };
    uint8_t res[64];
    CHECK(iop_params_exec(p, IOP_PARAMS_MSG_SET, ops, sizeof(ops), res, sizeof(res), NULL, NULL) > 0);
    CHECK_EQ(res[6], IOP_PARAMS_STATUS_SCALAR_ERROR);
    iop_system_free(sys);
}

static void expect_build_error(const char *json, const char *fragment) {
    int err;
    last_log[0] = 0;
    struct iop_system *sys = build(json, &err);
    CHECK(err < 0);
    CHECK(sys == NULL);
    if (!strstr(last_log, fragment)) {
        test_failures++;
        fprintf(stderr, "log \"%s\" lacks \"%s\"\n", last_log, fragment);
    }
}

#define DEV(x) "{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":16,\"class\":\"lan\"," x "}]}]}"

static void test_errors(void) {
    /* Found by the parser: */
    expect_build_error(DEV("\"groups\":[{\"number\":1,\"name\":\"x\",\"fields\":[{\"name\":\"a\",\"type\":\"u7\"}]}]"),
                       "$.iops[0].devices[0].groups[0].fields[0].type: expected one of");
    expect_build_error(DEV("\"groups\":[{\"number\":1,\"name\":\"x\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"}]}]"),
                       "need a \"size\"");
    expect_build_error(DEV("\"groups\":[{\"number\":1,\"name\":\"x\",\"fields\":[{\"name\":\"a\",\"type\":\"u8\"}],\"rows\":[]}]"),
                       "rows belong to table groups");
    expect_build_error(DEV("\"params\":{\"zz\":{\"a\":1}}"), "$.iops[0].devices[0].params.zz: \"zz\" is not a group number");
    expect_build_error(DEV("\"params\":{\"0xF102\":{\"DeviceName\":1.5}}"), "expected a non-negative integer or a string");
    /* Found when the device is built, still naming the path: */
    expect_build_error(DEV("\"params\":{\"0xF102\":{\"Colour\":\"red\"}}"),
                       "$.iops[0].devices[0].params.0xF102.Colour: no such field");
    expect_build_error(DEV("\"params\":{\"0x9999\":{\"A\":1}}"), "params.0x9999.A: no such group");
    expect_build_error(DEV("\"params\":{\"0xF102\":{\"DeviceName\":7}}"), "DeviceName: expected a string");
    expect_build_error(DEV("\"params\":{\"0xF102\":{\"InstanceNumber\":\"x\"}}"), "expected an integer");
    expect_build_error(DEV("\"params\":{\"0xF102\":{\"DeviceName\":\"" "0123456789012345678901234567890123456789012345678901234567890123456789" "\"}}"),
                       "string longer than the field");
    expect_build_error(DEV("\"groups\":[{\"number\":\"0xF100\",\"name\":\"dup\",\"fields\":[{\"name\":\"a\",\"type\":\"u8\"}]}]"),
                       "the device has this group already");
    expect_build_error(DEV("\"groups\":[{\"number\":1,\"name\":\"x\",\"fields\":[{\"name\":\"a\",\"type\":\"u8\",\"max\":3}]}],"
                           "\"params\":{\"1\":{\"a\":9}}"), "out of the field's range");
    expect_build_error(DEV("\"groups\":[{\"number\":2,\"name\":\"t\",\"table\":true,\"fields\":[{\"name\":\"k\",\"type\":\"u8\",\"key\":true}],"
                           "\"rows\":[{\"k\":1},{\"k\":1}]}]"), "duplicate key");
}

/* Every group of a against b: numbers, names, shapes and every row's bytes. */
static void same_groups(const struct iop_params *a, const struct iop_params *b) {
    CHECK_EQ(iop_params_group_count(a), iop_params_group_count(b));
    for (unsigned i = 0; i < iop_params_group_count(a) && i < iop_params_group_count(b); i++) {
        const struct iop_params_group *x = iop_params_group_at(a, i), *y = iop_params_group_at(b, i);
        CHECK_EQ(iop_params_group_number(x), iop_params_group_number(y));
        CHECK_STREQ(iop_params_group_name(x), iop_params_group_name(y));
        CHECK_EQ(iop_params_group_field_count(x), iop_params_group_field_count(y));
        CHECK_EQ(iop_params_group_row_size(x), iop_params_group_row_size(y));
        CHECK_EQ(iop_params_group_row_count(x), iop_params_group_row_count(y));
        for (unsigned r = 0; r < iop_params_group_row_count(x); r++)
            CHECK_MEMEQ(iop_params_row(x, r), iop_params_row(y, r), iop_params_group_row_size(x));
    }
}

/* The built-in configuration twice: one system as the daemon gets it (groups
 * deferred), one whose devices are then built at once from the same configuration
 * entries.  Every device's groups must be identical, and the identity strings a
 * device list (or the SCSI layer) reads without building must be the built ones. */
static void test_deferred_equals_built(void) {
    struct iop_config *cfg;
    struct iop_system *sys, *eager;
    static const char *const fields[] = { "VendorInfo", "ProductInfo", "Description", "ProductRevLevel",
                                          "SerialNumber" };
    CHECK_EQ(iop_config_parse(iop_config_default_json, strlen(iop_config_default_json), "t", &cfg, NULL), 0);
    CHECK_EQ(iop_system_new_from_config(cfg, &sys), 0);
    CHECK_EQ(iop_system_new_from_config(cfg, &eager), 0);
    struct iop_controller *c = sys->iop[0], *e = eager->iop[0];
    CHECK_EQ(c->n_dev, e->n_dev);
    for (unsigned k = 0; k < c->n_dev && k < e->n_dev; k++) {
        struct iop_device *d = c->dev[k], *b = e->dev[k];
        CHECK(d->params == NULL); /* nothing built at load */
        CHECK(d->params_lazy);
        char before[5][300], after[300];
        for (int f = 0; f < 5; f++)
            iop_device_identity(d, fields[f], before[f], sizeof(before[f]));
        const struct iop_config_device *cd = NULL;
        for (unsigned i = 0; i < cfg->iop[0].n_devices; i++)
            if (cfg->iop[0].device[i].tid == b->tid)
                cd = &cfg->iop[0].device[i];
        b->params_lazy = false;
        CHECK_EQ(iop_device_build_params(b, cd), 0);
        struct iop_params *p = iop_device_params(d);
        CHECK(p != NULL);
        same_groups(p, b->params);
        for (int f = 0; f < 5; f++) {
            iop_device_identity(d, fields[f], after, sizeof(after));
            CHECK_STREQ(before[f], after);
            iop_device_identity(b, fields[f], after, sizeof(after));
            CHECK_STREQ(before[f], after);
        }
    }
    CHECK_EQ(sys->n_params_cached, c->n_dev);
    iop_system_params_trim(sys, 0);
    CHECK_EQ(sys->n_params_cached, 0);
    for (unsigned k = 0; k < c->n_dev; k++)
        CHECK(c->dev[k]->params == NULL);
    iop_system_free(sys);
    iop_system_free(eager);
    iop_config_free(cfg);
}

/* FIELD_SET of 0xF102 DeviceName on a device, through the engine. */
static int set_name(struct iop_device *d, const char *name) {
    struct {
        uint16_t w[6];
        char v[64];
    } __attribute__((packed)) ops = { { 1, 0, 6, 0xF102, 1, 0 }, { 0 } };
    snprintf(ops.v, sizeof(ops.v), "%s", name);
    uint8_t res[64];
    int n = iop_device_params_exec(d, true, &ops, sizeof(ops), res, sizeof(res));
    return n > 0 && res[6] == 0 ? 0 : -1;
}

static void get_name(struct iop_device *d, char *out, size_t cap) {
    out[0] = 0;
    iop_params_get_string(iop_device_params(d), 0xF102, "DeviceName", NULL, 0, out, cap);
}

/* At most IOP_PARAMS_CACHED clean built devices stay; dropped ones come back with
 * their saved values; changes that could not be saved pin their device. */
/* A UtilParams read of any group (what refreshes the mirrored groups first). */
static void read_any(struct iop_device *d) {
    static const uint16_t ops[] = { 1, 0, I2O_PARAMS_FIELD_GET, 0xF100, 0xFFFF };
    uint8_t res[1024];
    CHECK(iop_device_params_exec(d, false, ops, sizeof(ops), res, sizeof(res)) > 0);
}

static uint64_t store_count(struct iop_device *e) {
    uint64_t n = 99;
    read_any(e);
    CHECK_EQ(iop_params_get_uint(e->params, IOP_PARAMS_GROUP_EXEC_STORE, "ModuleCount", NULL, 0, &n), 0);
    return n;
}

/* Row k of the Driver Store Table: its name and size. */
static void store_row(struct iop_device *e, uint16_t k, const char *name, uint64_t size) {
    char got[64] = "";
    uint64_t sz = 0;
    read_any(e);
    CHECK(iop_params_get_string(e->params, IOP_PARAMS_GROUP_EXEC_STORE_TABLE, "ModuleName", &k, 2, got,
                                sizeof(got)) >= 0);
    CHECK_STREQ(got, name);
    CHECK_EQ(iop_params_get_uint(e->params, IOP_PARAMS_GROUP_EXEC_STORE_TABLE, "ModuleSize", &k, 2, &sz), 0);
    CHECK_EQ(sz, size);
}

static int store_download(struct iop_swstore *s, uint32_t id, uint32_t len) {
    static uint8_t data[IOP_SW_FRAG_SIZE];
    struct iop_sw_xfer x = { .sw_type = I2O_SOFTWARE_MODULE_IRTOS, .sw_id = id, .swlen = len, .maxfrag = 1,
                             .curfrag = 1 };
    memset(data, (int)id, len);
    return iop_swstore_download(s, &x, data, len);
}

/* The executive's Driver Store groups (0x0004, 0x0005) mirror the software store:
 * built again only when it changed, they must follow every change -- a module
 * stored, validated, replaced, removed -- with reads in between, and survive the
 * groups being dropped and built again. */
static void test_driver_store_mirror(void) {
    int err;
    struct iop_system *sys = build("{\"iops\":[{\"unit\":0}]}", &err);
    CHECK_EQ(err, 0);
    if (!sys)
        return;
    char dir[] = "/tmp/test-devparams.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    struct iop_state_dir *sd = NULL;
    struct iop_swstore *s = NULL;
    CHECK_EQ(iop_state_dir_open(dir, &sd), 0);
    CHECK_EQ(iop_swstore_new(sd, NULL, &s), 0);
    struct iop_controller *c = sys->iop[0];
    c->sw = s;
    struct iop_device *e = iop_controller_find_device(c, 0);

    CHECK_EQ(store_count(e), 0);
    CHECK_EQ(store_count(e), 0);
    CHECK_EQ(store_download(s, 1, 100), 0);
    CHECK_EQ(store_count(e), 1);
    store_row(e, 0, "*11-00000001", 100);
    CHECK_EQ(iop_swstore_validate(s), 1);
    store_row(e, 0, "11-00000001", 100);
    CHECK_EQ(store_download(s, 1, 200), 0); /* replaced: suspect again */
    store_row(e, 0, "*11-00000001", 200);
    CHECK_EQ(store_download(s, 2, 300), 0);
    CHECK_EQ(store_count(e), 2);
    store_row(e, 1, "*11-00000002", 300);
    struct iop_sw_xfer x = { .sw_type = I2O_SOFTWARE_MODULE_IRTOS, .sw_id = 1 };
    CHECK_EQ(iop_swstore_remove(s, &x, NULL), 0);
    CHECK_EQ(store_count(e), 1);
    store_row(e, 0, "*11-00000002", 300);
    /* The executive's groups are built on demand: dropped, then built again. */
    CHECK(e->params_lazy);
    iop_system_params_trim(sys, 0);
    CHECK(e->params == NULL);
    CHECK_EQ(store_count(e), 1);
    store_row(e, 0, "*11-00000002", 300);

    c->sw = NULL;
    iop_system_free(sys);
    iop_swstore_free(s);
    iop_state_dir_free(sd);
    test_rm_tree(dir);
}

static void test_cache_and_persistence(void) {
    char json[64 * 1024], *w = json;
    w += sprintf(w, "{\"iops\":[{\"unit\":0,\"devices\":[");
    for (unsigned i = 0; i < 100; i++)
        w += sprintf(w, "%s{\"tid\":%u,\"class\":\"lan\",\"identity\":\"L%u\"}", i ? "," : "", 16 + i, i);
    sprintf(w, "]}]}");
    int err;
    struct iop_system *sys = build(json, &err);
    CHECK_EQ(err, 0);
    if (!sys)
        return;
    struct iop_controller *c = sys->iop[0];
    char dir[] = "/tmp/test-devparams.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    struct iop_state_dir *sd = NULL;
    CHECK_EQ(iop_state_dir_open(dir, &sd), 0);

    /* No state directory: a change pins its device. */
    struct iop_device *d7 = iop_controller_find_device(c, 16 + 7);
    CHECK_EQ(set_name(d7, "kept"), 0);
    CHECK(d7->params_dirty);
    for (unsigned i = 0; i < 100; i++)
        CHECK(iop_device_params(iop_controller_find_device(c, 16 + i)) != NULL);
    CHECK_EQ(sys->n_params_cached, IOP_PARAMS_CACHED);
    iop_system_params_trim(sys, 0);
    CHECK_EQ(sys->n_params_cached, 0);
    unsigned built = 0;
    for (unsigned k = 0; k < c->n_dev; k++)
        built += c->dev[k]->params != NULL;
    CHECK_EQ(built, 1); /* d7 */
    char name[80];
    get_name(d7, name, sizeof(name));
    CHECK_STREQ(name, "kept");

    /* With one: changes are saved, the groups dropped, and rebuilt with the change. */
    c->state = sd;
    struct iop_device *d9 = iop_controller_find_device(c, 16 + 9);
    CHECK_EQ(set_name(d9, "saved"), 0);
    CHECK(!d9->params_dirty);
    iop_system_params_trim(sys, 0);
    CHECK(d9->params == NULL);
    get_name(d9, name, sizeof(name));
    CHECK_STREQ(name, "saved");
    /* Most recently used stays: touch d9, build 40 more, d9 is still built. */
    for (unsigned i = 40; i < 80; i++) {
        iop_device_params(d9);
        iop_device_params(iop_controller_find_device(c, 16 + i));
    }
    CHECK(d9->params != NULL);
    CHECK(iop_controller_find_device(c, 16 + 40)->params == NULL);
    /* Removing a device takes it out of the list. */
    unsigned n = sys->n_params_cached;
    CHECK_EQ(iop_controller_remove_device(c, 16 + 9), 0);
    CHECK_EQ(sys->n_params_cached, n - 1);
    iop_system_params_trim(sys, 0);
    iop_system_free(sys);
    iop_state_dir_free(sd);
    test_rm_tree(dir);
}

static unsigned pending_calls;
static void on_pending(void *ctx) {
    (void)ctx;
    pending_calls++;
}

/* With a save hook, changes wait for iop_system_params_flush: nothing is written
 * before, the device is kept built until then, and everything is written after. */
static void test_deferred_saves(void) {
    int err;
    struct iop_system *sys = build(DEV("\"identity\":\"L\""), &err);
    CHECK_EQ(err, 0);
    if (!sys)
        return;
    char dir[] = "/tmp/test-devparams.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    struct iop_state_dir *sd = NULL;
    CHECK_EQ(iop_state_dir_open(dir, &sd), 0);
    sys->iop[0]->state = sd;
    sys->save_hook = (struct iop_save_hook){ .pending = on_pending };
    struct iop_device *d = iop_controller_find_device(sys->iop[0], 16);
    CHECK_EQ(set_name(d, "one"), 0);
    CHECK_EQ(set_name(d, "two"), 0);
    CHECK_EQ(pending_calls, 2);
    CHECK(d->params_dirty);
    CHECK_EQ(test_count_prefix(dir, "params-"), 0);
    iop_system_params_trim(sys, 0);
    CHECK(d->params != NULL); /* unsaved: kept */
    iop_system_params_flush(sys);
    CHECK(!d->params_dirty);
    CHECK_EQ(test_count_prefix(dir, "params-010"), 1);
    iop_system_params_trim(sys, 0);
    CHECK(d->params == NULL);
    char name[80];
    get_name(d, name, sizeof(name));
    CHECK_STREQ(name, "two");
    iop_system_free(sys);
    iop_state_dir_free(sd);
    test_rm_tree(dir);
}

/* F102 InstanceNumber (u32) of TID 16 through UtilParamsSet, as an ioctl would. */
static void set_instance(struct iop_device *d, uint32_t v) {
    uint16_t ops[] = { 1, 0, 6 /* FIELD_SET */, 0xF102, 1, 3, (uint16_t)v, (uint16_t)(v >> 16) };
    uint8_t res[64];
    CHECK(iop_device_params_exec(d, true, ops, sizeof(ops), res, sizeof(res)) > 0);
    CHECK_EQ(res[6], 0);
}

static uint64_t instance(struct iop_device *d) {
    uint64_t v = 0;
    CHECK_EQ(iop_params_get_uint(iop_device_params(d), 0xF102, "InstanceNumber", NULL, 0, &v), 0);
    return v;
}

/* What the state directory holds for TID 16, in a fresh system. */
static uint64_t saved_instance(struct iop_state_dir *dir) {
    int err;
    struct iop_system *sys = build(good, &err);
    struct iop_device *d = iop_controller_find_device(sys->iop[0], 16);
    sys->iop[0]->state = dir;
    CHECK_EQ(iop_device_params_load(d), 0); /* built at load; a deferred one loads when built */
    uint64_t v = instance(d);
    iop_system_free(sys);
    return v;
}

/* A save that fails (here: the file's name is taken by a directory, as a full or
 * read-only state directory would fail it) keeps the value in memory and the device
 * dirty, says so once, leaves the last saved file alone; the flush the daemon retries
 * with counts it; a retry after the cause is gone saves it and says so; a reload
 * carries what is still unsaved. */
static void test_unsaved(void) {
    char tmp[] = "/tmp/iopd-devparams-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    struct iop_state_dir *dir;
    CHECK_EQ(iop_state_dir_open(tmp, &dir), 0);
    int err;
    struct iop_system *sys = build(good, &err);
    sys->iop[0]->state = dir;
    struct iop_device *d = iop_controller_find_device(sys->iop[0], 16);

    set_instance(d, 1111); /* no save hook: saved as it is made */
    CHECK(!d->params_dirty);
    CHECK_EQ(saved_instance(dir), 1111);

    char blocker[128];
    snprintf(blocker, sizeof(blocker), "%s/params-010.state", tmp);
    CHECK_EQ(unlink(blocker), 0);
    CHECK_EQ(mkdir(blocker, 0700), 0);
    char inner[160];
    snprintf(inner, sizeof(inner), "%s/x", blocker);
    CHECK_EQ(mkdir(inner, 0700), 0); /* a non-empty directory: rename() over it fails */
    last_log[0] = 0;
    set_instance(d, 2222);
    set_instance(d, 3333);
    CHECK(d->params_dirty);
    CHECK(d->params_save_failed);
    CHECK_EQ(instance(d), 3333); /* served from memory */
    iop_system_params_trim(sys, 0);
    CHECK(d->params != NULL);    /* unsaved groups are never dropped */
    CHECK_EQ(instance(d), 3333);
    CHECK(strstr(last_log, "cannot save its parameters to params-010.state") != NULL);
    CHECK(strstr(last_log, "retried") != NULL);
    CHECK(strstr(strstr(last_log, "retried") + 1, "cannot save") == NULL); /* said once */
    CHECK_EQ(iop_system_params_flush(sys), 1);

    /* A reload before the directory recovers: the new system gets the unsaved value. */
    struct iop_system *sys2 = build(good, &err);
    sys2->iop[0]->state = dir;
    struct iop_device *d2 = iop_controller_find_device(sys2->iop[0], 16);
    CHECK_EQ(iop_system_params_carry(sys, sys2), 1);
    CHECK(d2->params_dirty);
    CHECK_EQ(instance(d2), 3333);
    iop_system_free(sys);

    rmdir(inner);
    rmdir(blocker);
    last_log[0] = 0;
    CHECK_EQ(iop_system_params_flush(sys2), 0);
    CHECK(!d2->params_dirty);
    CHECK(!d2->params_save_failed);
    CHECK(strstr(last_log, "saved to params-010.state again") != NULL);
    CHECK_EQ(saved_instance(dir), 3333);
    iop_system_free(sys2);
    iop_state_dir_free(dir);
    test_rm_tree(tmp);
}

int main(void) {
    iop_log_set_sink(sink, NULL);
    TEST(test_unsaved);
    TEST(test_build);
    TEST(test_errors);
    TEST(test_deferred_equals_built);
    TEST(test_cache_and_persistence);
    TEST(test_driver_store_mirror);
    TEST(test_deferred_saves);
    return test_summary();
}
