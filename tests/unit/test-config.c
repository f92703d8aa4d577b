/* Configuration parsing: the built-in default, valid files, every class of error. */
#include <errno.h>
#include <unistd.h>

#include "lib/config/config.h"
#include "testutil.h"

static int parse(const char *text, struct iop_config **cfg, char **err) {
    return iop_config_parse(text, strlen(text), "t.json", cfg, err);
}

static void expect_error(const char *text, const char *fragment) {
    struct iop_config *cfg = NULL;
    char *err = NULL;
    CHECK_EQ(parse(text, &cfg, &err), -EINVAL);
    CHECK(cfg == NULL);
    CHECK(err != NULL);
    if (err && !strstr(err, fragment)) {
        test_failures++;
        fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err, fragment);
    }
    free(err);
}

static void test_default(void) {
    struct iop_config *cfg;
    char *err = NULL;
    CHECK_EQ(parse(iop_config_default_json, &cfg, &err), 0);
    CHECK(err == NULL);
    CHECK_EQ(cfg->n_iops, 1);
    CHECK_EQ(cfg->iop[0].unit, 0);
    CHECK(cfg->iop[0].answers);
    iop_config_free(cfg);
}

static void test_valid(void) {
    struct iop_config *cfg;
    CHECK_EQ(parse("{\"iops\":[{\"unit\":4,\"product_id\":\"abc\",\"answers\":false},{\"unit\":31}]}", &cfg, NULL), 0);
    CHECK_EQ(cfg->n_iops, 2);
    CHECK_EQ(cfg->iop[0].unit, 4);
    CHECK_STREQ(cfg->iop[0].product_id, "abc");
    CHECK(!cfg->iop[0].answers);
    CHECK_EQ(cfg->iop[1].unit, 31);
    iop_config_free(cfg);
    CHECK_EQ(parse("{\"iops\":[]}\n\n", &cfg, NULL), 0);
    CHECK_EQ(cfg->n_iops, 0);
    iop_config_free(cfg);
}

static void test_errors(void) {
    expect_error("", "t.json: $: invalid JSON");
    expect_error("{\"iops\": [", "unexpected end of input");
    expect_error("{\n\"iops\": [}\n", "line 2");
    expect_error("[]", "$: expected an object, got an array");
    expect_error("{}", "$: missing key \"iops\"");
    expect_error("{\"iops\":{}}", "$.iops: expected an array");
    expect_error("{\"iops\":[],\"ipos\":1}", "unknown key \"ipos\"");
    expect_error("{\"iops\":[{\"unit\":32}]}", "$.iops[0].unit: expected an integer 0..31, got 32");
    expect_error("{\"iops\":[{\"unit\":-1}]}", "got -1");
    expect_error("{\"iops\":[{\"unit\":\"zero\"}]}", "got \"zero\"");
    expect_error("{\"iops\":[{\"unit\":\"0x20\"}]}", "got 0x20");
    expect_error("{\"iops\":[{\"unit\":1.5}]}", "got a number");
    expect_error("{\"iops\":[{}]}", "$.iops[0]: missing key \"unit\"");
    expect_error("{\"iops\":[{\"unit\":1},{\"unit\":1}]}", "$.iops[1]: unit 1 is already used by $.iops[0]");
    expect_error("{\"iops\":[{\"unit\":1,\"answers\":1}]}", "$.iops[0].answers: expected true or false");
    expect_error("{\"iops\":[{\"unit\":1,\"product_id\":\"0123456789012345678901234\"}]}", "too long");
    expect_error("{\"iops\":[{\"unit\":1,\"product_id\":\"a\\u0000b\"}]}", "NUL");
    expect_error("{\"iops\":[]} x", "unexpected data after");
    expect_error("{\"iops\":[1]}", "$.iops[0]: expected an object");
}

static void test_devices(void) {
    struct iop_config *cfg;
    char *err = NULL;
    const char *ok =
        "{\"iops\":[{\"unit\":\"0x1\",\"adapters\":[{\"adapter_id\":7,\"bus\":\"isa\",\"io_port\":\"0x330\","
        "\"dma_channel\":5},{\"adapter_id\":8,\"bus\":\"pci\",\"pci_vendor\":\"0x8086\"}],"
        "\"devices\":[{\"tid\":16,\"class\":\"ddm\"},{\"tid\":17,\"class\":\"bus-adapter\",\"parent\":16,"
        "\"adapter\":7},{\"tid\":18,\"class\":\"block-storage\",\"parent\":17,\"blocks\":100,"
        "\"identity\":\"DISK\",\"serial\":\"S1\"},{\"tid\":19,\"class\":\"0x20\"}]}]}";
    CHECK_EQ(parse(ok, &cfg, &err), 0);
    if (err)
        fprintf(stderr, "%s\n", err);
    CHECK_EQ(cfg->iop[0].unit, 1);
    CHECK_EQ(cfg->iop[0].n_adapters, 2);
    CHECK_EQ(cfg->iop[0].adapter[0].io_port, 0x330);
    CHECK_EQ(cfg->iop[0].adapter[0].dma_channel, 5);
    CHECK_EQ(cfg->iop[0].adapter[1].bus_type, I2O_BUS_PCI);
    CHECK_EQ(cfg->iop[0].adapter[1].pci_vendor, 0x8086);
    CHECK_EQ(cfg->iop[0].adapter[1].dma_channel, 0xFF);
    CHECK_EQ(cfg->iop[0].n_devices, 4);
    CHECK_EQ(cfg->iop[0].device[2].class_id, I2O_CLASS_RANDOM_BLOCK_STORAGE);
    CHECK_EQ(cfg->iop[0].device[2].block_size, 512);
    CHECK_STREQ(cfg->iop[0].device[2].serial, "S1");
    CHECK_EQ(cfg->iop[0].device[3].class_id, I2O_CLASS_LAN);
    CHECK_EQ(cfg->iop[0].device[1].adapter_id, 7);
    iop_config_free(cfg);

    expect_error("{\"iops\":[{\"unit\":0,\"adapters\":[{\"adapter_id\":1,\"dma_channel\":4}]}]}", "cascade");
    expect_error("{\"iops\":[{\"unit\":0,\"adapters\":[{\"adapter_id\":1,\"bus\":\"usb\"}]}]}",
                 "$.iops[0].adapters[0].bus: expected one of");
    expect_error("{\"iops\":[{\"unit\":0,\"adapters\":[{\"adapter_id\":1},{\"adapter_id\":1}]}]}",
                 "adapter_id 1 is already used");
    expect_error("{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":1,\"class\":\"ddm\"}]}]}", "reserved");
    expect_error("{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":5,\"class\":\"toaster\"}]}]}",
                 "$.iops[0].devices[0].class: unknown class \"toaster\"");
    expect_error("{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":5}]}]}", "missing key \"class\"");
    /* Unit numbers and TIDs name state files (iopN/, params-TTT.state, disk-TTT.img):
     * only numbers in range, never text that could be a path. */
    expect_error("{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":\"0x1000\",\"class\":\"lan\"}]}]}",
                 "$.iops[0].devices[0].tid: expected an integer 0..4095");
    expect_error("{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":\"../x\",\"class\":\"lan\"}]}]}",
                 "$.iops[0].devices[0].tid: expected an integer");
    expect_error("{\"iops\":[{\"unit\":\"../../etc\"}]}", "$.iops[0].unit: expected an integer 0..31");
    expect_error("{\"iops\":[{\"unit\":-1}]}", "$.iops[0].unit: expected an integer 0..31");
    expect_error("{\"iops\":[{\"unit\":\"1\\u0000\"}]}", "$.iops[0].unit: expected an integer 0..31");
    expect_error("{\"iops\":[{\"unit\":\" 1\"}]}", "$.iops[0].unit: expected an integer 0..31");
    expect_error("{\"iops\":[{\"unit\":\"+1\"}]}", "$.iops[0].unit: expected an integer 0..31");
    /* Values with format directives are text everywhere, messages included. */
    expect_error("{\"iops\":[{\"unit\":0,\"%n%s%x\":1}]}", "$.iops[0]: unknown key \"%n%s%x\"");
    expect_error("{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":5,\"class\":\"%n%s\"}]}]}",
                 "unknown class \"%n%s\"");
    expect_error("{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":5,\"class\":\"lan\",\"parent\":9}]}]}",
                 "parent 0x009 is not a device listed before");
    expect_error("{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":5,\"class\":\"lan\"},{\"tid\":5,\"class\":\"lan\"}]}]}",
                 "tid 0x005 is already used");
    expect_error("{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":5,\"class\":\"lan\",\"usb\":true}]}]}",
                 "belong to bus-adapter");
    expect_error("{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":5,\"class\":\"bus-adapter\",\"adapter\":3}]}]}",
                 "adapter 3 is not in $.iops[0].adapters");
    expect_error("{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":5,\"class\":\"block-storage\",\"block_size\":500}]}]}",
                 "power of two");
    expect_error("{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":5,\"class\":\"lan\",\"identity\":\"123456789\"}]}]}",
                 "$.iops[0].devices[0].identity: string too long");
    expect_error("{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":5,\"class\":\"lan\",\"colour\":1}]}]}",
                 "$.iops[0].devices[0]: unknown key \"colour\"");
    /* A key given as null is given (it is not an absent optional key), in every object
     * read in one pass (devices, adapters, nodes); the first unknown key is named. */
    expect_error("{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":5,\"class\":\"block-storage\",\"blocks\":null}]}]}",
                 "$.iops[0].devices[0].blocks: expected an integer 0..4294967295, got null");
    expect_error("{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":5,\"class\":\"lan\",\"scsi_lun\":null}]}]}",
                 "$.iops[0].devices[0].scsi_lun: expected an integer 0..7, got null");
    expect_error("{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":null,\"class\":\"lan\"}]}]}",
                 "$.iops[0].devices[0].tid: expected an integer 0..4095, got null");
    expect_error("{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":5,\"class\":null}]}]}",
                 "$.iops[0].devices[0].class: expected an integer 0..4095, got null");
    expect_error("{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":5,\"class\":\"lan\",\"serial\":null}]}]}",
                 "$.iops[0].devices[0].serial: expected a string, got null");
    expect_error("{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":5,\"class\":\"lan\",\"usb\":null}]}]}",
                 "$.iops[0].devices[0].usb: expected true or false, got null");
    expect_error("{\"iops\":[{\"unit\":0,\"adapters\":[{\"adapter_id\":null}]}]}",
                 "$.iops[0].adapters[0].adapter_id: expected an integer 0..4294967295, got null");
    expect_error("{\"iops\":[],\"nodes\":{\"mode\":null}}", "$.nodes.mode: expected an integer 0..511, got null");
    expect_error("{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":5,\"colour\":1,\"class\":\"lan\",\"flavour\":2}]}]}",
                 "$.iops[0].devices[0]: unknown key \"colour\"");
    /* Deep nesting is refused by the tokenizer, not by the stack. */
    char deep[400];
    memset(deep, '[', sizeof(deep) - 1);
    deep[sizeof(deep) - 1] = 0;
    expect_error(deep, "invalid JSON");
}

static void test_nodes(void) {
    struct iop_config *cfg;
    CHECK_EQ(parse("{\"iops\":[]}", &cfg, NULL), 0);
    CHECK_STREQ(cfg->nodes.ctl, "i2o/ctl");
    CHECK_STREQ(cfg->nodes.usbmon, "usbmon");
    CHECK_STREQ(cfg->nodes.usbmon_bin, "usbmon");
    CHECK_STREQ(cfg->nodes.usbmon_bin_alt, "iopd/usbmon");
    CHECK(cfg->nodes.usbmon_enabled);
    CHECK_STREQ(cfg->nodes.user, "root");
    CHECK_EQ(cfg->nodes.mode, 0600);
    iop_config_free(cfg);
    CHECK_EQ(parse("{\"iops\":[],\"nodes\":{\"ctl\":\"i2octl\",\"mode\":\"0660\",\"group\":\"disk\","
                   "\"usbmon_enabled\":false}}", &cfg, NULL), 0);
    CHECK_STREQ(cfg->nodes.ctl, "i2octl");
    CHECK_EQ(cfg->nodes.mode, 0660);
    CHECK_STREQ(cfg->nodes.group, "disk");
    CHECK(!cfg->nodes.usbmon_enabled);
    iop_config_free(cfg);
    expect_error("{\"iops\":[],\"nodes\":{\"mode\":\"0777\",\"ctl\":\"/dev/x\"}}", "$.nodes.ctl: expected a relative name");
    expect_error("{\"iops\":[],\"nodes\":{\"ctl\":\"../etc/passwd\"}}", "not allowed");
    expect_error("{\"iops\":[],\"nodes\":{\"usbmon\":\"a b\"}}", "$.nodes.usbmon: only letters, digits");
    /* Nothing that leaves /dev or is not a plain path (found missing: ".", "a/./b" and
     * "a/." passed). */
    static const char *const bad_names[] = { ".", "./x", "a/./b", "a/.", "a/..", "../x", "a/../../b", "a//b", "a/",
                                             "/dev/x", "%n%s", "a\\u0000b",
                                             "0123456789012345678901234567890123456789012345678901234567890123" };
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        char json[256];
        snprintf(json, sizeof(json), "{\"iops\":[],\"nodes\":{\"ctl\":\"%s\"}}", bad_names[i]);
        expect_error(json, "$.nodes.ctl: ");
    }
    CHECK(iop_config_node_name_error("i2o/ctl") == NULL);
    CHECK(iop_config_node_name_error("a.b/c-d_e") == NULL);
    CHECK(iop_config_node_name_error(".hidden/x") == NULL); /* a dot starting a name is a name */
    CHECK(iop_config_node_name_error("a/..b") == NULL);
    CHECK(iop_config_node_name_error("") != NULL);
    CHECK(iop_config_node_name_error(NULL) != NULL);
    expect_error("{\"iops\":[],\"nodes\":{\"usbmon_bin\":\"x/\"}}", "$.nodes.usbmon_bin: ");
    expect_error("{\"iops\":[],\"nodes\":{\"usbmon_bin_alt\":\"usbmon\"}}", "$.nodes.usbmon_bin_alt: must differ");
    CHECK_EQ(parse("{\"iops\":[],\"nodes\":{\"usbmon_bin\":\"mon/bus\",\"usbmon_bin_alt\":\"mon2/bus\"}}", &cfg, NULL), 0);
    CHECK_STREQ(cfg->nodes.usbmon_bin, "mon/bus");
    CHECK_STREQ(cfg->nodes.usbmon_bin_alt, "mon2/bus");
    iop_config_free(cfg);
    expect_error("{\"iops\":[],\"nodes\":{\"mode\":\"01777\"}}", "$.nodes.mode: expected an integer 0..511");
    expect_error("{\"iops\":[],\"nodes\":{\"user\":\"\"}}", "must not be empty");
    expect_error("{\"iops\":[],\"nodes\":{\"owner\":\"x\"}}", "$.nodes: unknown key \"owner\"");
}

static void test_usb(void) {
    struct iop_config *cfg;
    CHECK_EQ(parse("{\"iops\":[]}", &cfg, NULL), 0);
    CHECK(cfg->usb.enabled);
    CHECK_EQ(cfg->usb.n_allow, 0);
    iop_config_free(cfg);
    CHECK_EQ(parse("{\"iops\":[],\"usb\":{\"allow\":[\"1d6b:*\",\"0627:0001\"],"
                   "\"claim\":[{\"device\":\"1209:0001\",\"detach_kernel_driver\":true}]}}", &cfg, NULL), 0);
    CHECK_EQ(cfg->usb.n_allow, 2);
    CHECK_EQ(cfg->usb.allow[0].vid, 0x1d6b);
    CHECK(cfg->usb.allow[0].any_pid);
    CHECK_EQ(cfg->usb.allow[1].pid, 0x0001);
    CHECK_EQ(cfg->usb.n_claim, 1);
    CHECK(cfg->usb.claim[0].detach);
    iop_config_free(cfg);
    expect_error("{\"iops\":[],\"usb\":{\"allow\":[\"xyz\"]}}", "$.usb.allow[0]: expected \"vvvv:pppp\"");
    expect_error("{\"iops\":[],\"usb\":{\"allow\":[\"1234:56789\"]}}", "hexadecimal");
    expect_error("{\"iops\":[],\"usb\":{\"claim\":[{}]}}", "$.usb.claim[0]: missing key \"device\"");
    expect_error("{\"iops\":[],\"usb\":{\"enabled\":\"yes\"}}", "$.usb.enabled: expected true or false");
    /* By place, as sysfs names devices. */
    CHECK_EQ(parse("{\"iops\":[],\"usb\":{\"allow\":[\"3-1\",\"1-2.4.7\"],\"claim\":[{\"device\":\"2-5\"}]}}",
                   &cfg, NULL), 0);
    CHECK_EQ(cfg->usb.n_allow, 2);
    CHECK(cfg->usb.allow[0].by_port);
    CHECK_EQ(cfg->usb.allow[0].bus, 3);
    CHECK_EQ(cfg->usb.allow[0].depth, 1);
    CHECK_EQ(cfg->usb.allow[0].ports[0], 1);
    CHECK_EQ(cfg->usb.allow[1].bus, 1);
    CHECK_EQ(cfg->usb.allow[1].depth, 3);
    CHECK_EQ(cfg->usb.allow[1].ports[2], 7);
    CHECK(cfg->usb.claim[0].by_port);
    CHECK_EQ(cfg->usb.claim[0].ports[0], 5);
    iop_config_free(cfg);
    static const char *const bad_places[] = { "1-", "0-1", "1-0", "1-2..3", "1-2.", "-1", "1-256", "1-x",
                                              "1-1.1.1.1.1.1.1.1", "1-2 ", "70000-1", "1--2" };
    for (size_t i = 0; i < sizeof(bad_places) / sizeof(bad_places[0]); i++) {
        char json[128];
        snprintf(json, sizeof(json), "{\"iops\":[],\"usb\":{\"allow\":[\"%s\"]}}", bad_places[i]);
        expect_error(json, "$.usb.allow[0]: expected \"BUS-PORT[.PORT...]\"");
    }
}

static void test_files(void) {
    struct iop_config *cfg;
    char *err = NULL;
    char path[] = "/tmp/iopd-test-config-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *text = "{\"iops\":[{\"unit\":9}]}";
    CHECK_EQ(write(fd, text, strlen(text)), (long)strlen(text));
    close(fd);
    CHECK_EQ(iop_config_load_file(path, &cfg, &err), 0);
    CHECK_EQ(cfg->iop[0].unit, 9);
    iop_config_free(cfg);
    unlink(path);
    CHECK_EQ(iop_config_load_file(path, &cfg, &err), -ENOENT);
    CHECK(err && strstr(err, path));
    free(err);
}

/* text parses the same in pieces (iop_config_parse: one json-c tree per IOP) as in one
 * tree: the same configuration, or the same message. */
static void same_both_ways_split(const char *text, bool ok, bool split) {
    struct iop_config *a = NULL, *b = NULL;
    char *ea = NULL, *eb = NULL;
    int ra = iop_config_parse(text, strlen(text), "t.json", &a, &ea);
    int rb = iop_config_parse_ex(text, strlen(text), "t.json", IOP_CONFIG_PARSE_WHOLE, &b, &eb);
    CHECK_EQ(ra, rb);
    CHECK_EQ(ra == 0, ok);
    if (ra == 0 && rb == 0) {
        CHECK(iop_config_equal(a, b));
        CHECK(iop_config_equal(b, a));
    } else if (ea && eb) {
        CHECK_STREQ(ea, eb);
    } else {
        CHECK(ea == NULL && eb == NULL);
    }
    if (ra != 0 && ea && !ok)
        fprintf(stderr, "    (refused both ways: %s)\n", ea);
    iop_config_free(a);
    iop_config_free(b);
    free(ea);
    free(eb);
    /* Whether the pieces did it (a success), or the whole way was needed. */
    struct iop_config *c = NULL;
    int rc = iop_config_parse_ex(text, strlen(text), "t.json", IOP_CONFIG_PARSE_SPLIT_ONLY, &c, NULL);
    CHECK_EQ(rc, split ? 0 : -EAGAIN);
    iop_config_free(c);
}

static void same_both_ways(const char *text, bool ok) { same_both_ways_split(text, ok, false); }

/* A text over config.c's threshold for parsing its IOPs on several threads (256 KiB):
 * iops IOPs of devs devices each; bad_iop (if below iops) gets an unknown key in its
 * last device. */
static char *big_config(int iops, int devs, int bad_iop) {
    size_t cap = (size_t)iops * (size_t)devs * 200 + 4096, at = 0;
    char *t = malloc(cap);
    CHECK(t != NULL);
    at += (size_t)snprintf(t + at, cap - at, "{\"iops\": [\n");
    for (int i = 0; i < iops; i++) {
        at += (size_t)snprintf(t + at, cap - at, "%s{\"unit\": %d, \"devices\": [", i ? ",\n" : "", i);
        for (int k = 0; k < devs; k++)
            at += (size_t)snprintf(t + at, cap - at,
                "%s{\"tid\": %d, \"class\": \"lan\", \"identity\": \"L%d\", \"description\": "
                "\"lan %d of %d\", \"serial\": \"%032d\"%s}", k ? ",\n " : "", 16 + k, k, k, i,
                k, i == bad_iop && k == devs - 1 ? ", \"bad\": 1" : "");
        at += (size_t)snprintf(t + at, cap - at, "]}");
    }
    snprintf(t + at, cap - at, "\n]}\n");
    return t;
}

static void test_split_threads(void) {
    char *t = big_config(12, 250, -1);
    CHECK(strlen(t) > (256u << 10));
    same_both_ways_split(t, true, true);
    free(t);
    for (int bad = 0; bad < 12; bad += 5) {
        t = big_config(12, 250, bad);
        same_both_ways(t, false); /* the first complaint in text order, both ways */
        free(t);
    }
}

static void test_split(void) {
    same_both_ways_split(iop_config_default_json, true, true);
    /* Several IOPs with adapters, devices, custom groups and values, nodes and usb. */
    char big[65536];
    size_t at = 0;
    at += (size_t)snprintf(big + at, sizeof(big) - at,
                           "{ \"nodes\": {\"ctl\": \"i2o/ctl2\"}, \"usb\": {\"enabled\": false},\n"
                           "  \"iops\" : [\n");
    for (int i = 0; i < 6; i++) {
        at += (size_t)snprintf(big + at, sizeof(big) - at,
            "%s  { \"unit\": %d, \"product_id\": \"p\\u00e9 %d\", \"adapters\": [{\"adapter_id\": 1, "
            "\"bus\": \"isa\", \"io_port\": \"0x330\", \"dma_channel\": 5}],\n    \"devices\": [",
            i ? ",\n" : "", 3 * i + 1, i);
        for (int k = 0; k < 20; k++)
            at += (size_t)snprintf(big + at, sizeof(big) - at,
                "%s{\"tid\": %d, \"class\": \"%s\", \"identity\": \"D%d\", \"serial\": \"s\\\"%d]}\"%s}",
                k ? ", " : "", 16 + k, k % 2 ? "lan" : "block-storage", k, k,
                k % 2 ? "" : ", \"blocks\": 64");
        at += (size_t)snprintf(big + at, sizeof(big) - at, "] }");
    }
    snprintf(big + at, sizeof(big) - at, "\n] }\n");
    same_both_ways_split(big, true, true);
    same_both_ways_split("  {\"iops\":[]}\n\n", true, true);
    same_both_ways_split("{\"usb\":{\"enabled\":false},\"iops\":[{\"unit\":1}],\"nodes\":{}}", true, true);
    /* What the splitter gives up on goes the whole way, with the same result. */
    same_both_ways("{\"iops\":[{\"unit\":1}] /* c */}", true);
    same_both_ways("{\"iops\":[{\"unit\":1}, /* c */ {\"unit\":2}]}", true);
    same_both_ways("{\"iops\":[{'unit':1}]}", true);
    same_both_ways("{\"iops\":[{\"unit\":1}],\"iops\":[{\"unit\":2}]}", true);
    same_both_ways("{\"iop\\u0073\":[{\"unit\":3}]}", true);
    same_both_ways("{\"iops\":[{\"unit\":1},]}", true); /* json-c takes trailing commas */
    same_both_ways("{\"iops\":[{\"unit\":1}]}}", false);
    same_both_ways("{\"iops\":[{\"unit\":1} {\"unit\":2}]}", false);
    same_both_ways("{\"iops\":[{\"unit\":1}],}", true);
    same_both_ways("{\"iops\":[1]}", false);
    same_both_ways("{\"iops\":[{\"unit\":1},{\"unit\":1}]}", false);
    same_both_ways("{\"iops\":[{\"unit\":1},{\"unit\":2,\"x\":1}, {\"unit\": ]}", false);
    same_both_ways("{\"iops\":[{\"unit\":1,\"product_id\":\"a\\u0000b\"}]}", false);
    /* Nesting around json-c's limit (64 for the whole text, 62 for one IOP). */
    for (int depth = 58; depth <= 66; depth++) {
        char deep[512];
        int n = snprintf(deep, sizeof(deep), "{\"iops\":[{\"unit\":1,\"x\":");
        for (int d = 0; d < depth; d++)
            deep[n++] = '[';
        for (int d = 0; d < depth; d++)
            deep[n++] = ']';
        snprintf(deep + n, sizeof(deep) - (size_t)n, "}]}");
        same_both_ways(deep, false); /* "x" is no key of an IOP: refused either way */
    }
}

int main(void) {
    TEST(test_default);
    TEST(test_valid);
    TEST(test_errors);
    TEST(test_devices);
    TEST(test_nodes);
    TEST(test_usb);
    TEST(test_files);
    TEST(test_split);
    TEST(test_split_threads);
    return test_summary();
}
