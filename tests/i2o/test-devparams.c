/* Parameter groups built from the configuration: custom scalar and table groups, their
 * rows and ranges, values for standard groups, and every error naming its path. */
#include <errno.h>

#include "lib/config/config.h"
#include "lib/i2o/iop.h"
#include "lib/params/params-exec.h"
#include "lib/params/params.h"
#include "lib/util/log.h"
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
    struct iop_params *p = iop_controller_find_device(sys->iop[0], 16)->params;
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

int main(void) {
    iop_log_set_sink(sink, NULL);
    TEST(test_build);
    TEST(test_errors);
    return test_summary();
}
