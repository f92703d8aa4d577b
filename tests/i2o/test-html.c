/* The configuration dialog's pages: links, group views, the form applying a query
 * through the parameter engine (events, read-only refusal), escaping, size caps. */
#include <errno.h>

#include "lib/config/config.h"
#include "lib/i2o/html.h"
#include "lib/i2o/devparams.h"
#include "lib/i2o/iop.h"
#include "lib/i2o/isa-path.h"
#include "lib/params/params.h"
#include "testutil.h"

static int events;
static void on_event(void *ctx, unsigned unit, unsigned tid, uint32_t ind, const void *data, size_t len) {
    (void)ctx, (void)unit, (void)data, (void)len;
    if (tid == 0x00a && ind == I2O_EVT_IND_FIELD_MODIFIED)
        events++;
}

static struct iop_system *sys;
static struct iop_isa_path *isa;
static char page[IOP_HTML_MAX];

static void setup(void) {
    struct iop_config *cfg;
    CHECK_EQ(iop_config_parse(iop_config_default_json, strlen(iop_config_default_json), "t", &cfg, NULL), 0);
    CHECK_EQ(iop_system_new_from_config(cfg, &sys), 0);
    iop_config_free(cfg);
    struct iop_event_hook h = { .raise = on_event };
    iop_system_set_event_hook(sys, &h);
    CHECK_EQ(iop_isa_path_new(5, &isa), 0);
    sys->iop[0]->isa = isa; /* the daemon attaches the unit's data path the same way */
}

static struct iop_device *dev(unsigned tid) { return iop_controller_find_device(sys->iop[0], tid); }

static void test_device_page(void) {
    int n = iop_html_page(dev(0x00a), 0, NULL, 0, page, sizeof(page));
    CHECK(n > 0);
    CHECK_EQ((size_t)n, strlen(page));
    CHECK(strstr(page, "<!DOCTYPE html>") == page);
    CHECK(strstr(page, "Simulated disk") != NULL);
    CHECK(strstr(page, "href=\"?tid=0x009&amp;page=0\"") != NULL); /* links to the other devices */
    CHECK(strstr(page, "href=\"?tid=0x00a&amp;page=65536\"") != NULL); /* BSA group 0x0000 */
    CHECK(strstr(page, "</html>") != NULL);
    /* The ISA bus adapter shows its DMA channel. */
    CHECK(iop_html_page(dev(0x009), 0, NULL, 0, page, sizeof(page)) > 0);
    CHECK(strstr(page, "<h2>ISA DMA Channel</h2>") != NULL);
    CHECK(strstr(page, "<th>Channel</th><td>5</td>") != NULL);
    /* Group 0x8000 is DPT's elsewhere, and headed so (it was called the DMA channel). */
    CHECK(iop_html_page(dev(0), 0, NULL, 0, page, sizeof(page)) > 0);
    CHECK(strstr(page, "<h2>DPT Exec IOP Buffers</h2>") != NULL);
    CHECK(strstr(page, "ISA DMA") == NULL);
    CHECK(iop_html_page(dev(0x00a), 0, NULL, 0, page, sizeof(page)) > 0);
    CHECK(strstr(page, "ISA DMA") == NULL);
}

static void test_group_pages(void) {
    CHECK(iop_html_page(dev(0x00a), IOP_HTML_PAGE_GROUP + 0x0004, NULL, 0, page, sizeof(page)) > 0);
    CHECK(strstr(page, "<th>Capacity</th><td>1048576</td>") != NULL);
    CHECK(iop_html_page(dev(0), IOP_HTML_PAGE_GROUP + 0x0005, NULL, 0, page, sizeof(page)) > 0);
    CHECK(strstr(page, "<th>StoredDdmIndex</th>") != NULL); /* a table: a header row */
    CHECK(iop_html_page(dev(0x00a), IOP_HTML_PAGE_GROUP + 0x7777, NULL, 0, page, sizeof(page)) > 0);
    CHECK(strstr(page, "has no group 0x7777") != NULL);
    CHECK(iop_html_page(dev(0x00a), 12345, NULL, 0, page, sizeof(page)) > 0);
    CHECK(strstr(page, "does not exist") != NULL);
}

static void test_form(void) {
    CHECK(iop_html_page(dev(0x00a), 1, NULL, 0, page, sizeof(page)) > 0);
    CHECK(strstr(page, "name=\"F102.DeviceName\"") != NULL);
    CHECK(strstr(page, "name=\"F100.") == NULL); /* read-only groups have no inputs */
    const char *q = "F102.DeviceName=%3Cb%3Ebold%3C%2Fb%3E&F102.InstanceNumber=7&F100.Description=x&nope=1";
    events = 0;
    CHECK(iop_html_page(dev(0x00a), 1, q, strlen(q), page, sizeof(page)) > 0);
    char name[65];
    CHECK(iop_params_get_string(iop_device_params(dev(0x00a)), 0xF102, "DeviceName", NULL, 0, name, sizeof(name)) > 0);
    CHECK_STREQ(name, "<b>bold</b>");
    uint64_t inst;
    CHECK_EQ(iop_params_get_uint(iop_device_params(dev(0x00a)), 0xF102, "InstanceNumber", NULL, 0, &inst), 0);
    CHECK_EQ(inst, 7);
    CHECK_EQ(events, 2);
    CHECK(strstr(page, "F100.Description</li>") == NULL);
    CHECK(strstr(page, "F100.Description: no such setting") != NULL || strstr(page, "F100.Description: read-only") != NULL);
    CHECK(strstr(page, "nope: no such setting") != NULL);
    /* The stored markup comes back escaped. */
    CHECK(strstr(page, "value=\"&lt;b&gt;bold&lt;/b&gt;\"") != NULL);
    CHECK(strstr(page, "<b>bold") == NULL);
    /* Values that do not fit are refused with a reason. */
    q = "F102.InstanceNumber=99999999999";
    CHECK(iop_html_page(dev(0x00a), 1, q, strlen(q), page, sizeof(page)) > 0);
    CHECK(strstr(page, "not a number that fits") != NULL);
    CHECK_EQ(iop_html_page(dev(0x00a), 1, "a=%zz", 5, page, sizeof(page)), -EINVAL);
}

/* Names come from the configuration: markup and format directives in them are text
 * on every page (found by the query fuzzer: field names went out unescaped). */
static void test_hostile_names(void) {
    static const char json[] =
        "{\"iops\":[{\"unit\":0,\"devices\":[{\"tid\":32,\"class\":\"0x090\",\"description\":\"%s%n<d>\","
        "\"groups\":[{\"number\":\"0x9000\",\"name\":\"<g>%n\",\"fields\":["
        "{\"name\":\"<i>%n%s\\\"'&\",\"type\":\"u8\",\"writable\":true,\"max\":9}]},"
        "{\"number\":\"0x9001\",\"name\":\"T\",\"table\":true,\"fields\":["
        "{\"name\":\"<k>\",\"type\":\"u8\",\"key\":true}],\"rows\":[{\"<k>\":1}]}]}]}]}";
    struct iop_config *cfg;
    struct iop_system *s;
    CHECK_EQ(iop_config_parse(json, strlen(json), "t", &cfg, NULL), 0);
    CHECK_EQ(iop_system_new_from_config(cfg, &s), 0);
    iop_config_free(cfg);
    struct iop_device *d = iop_controller_find_device(s->iop[0], 32);
    const char *q = "9000.%3Ci%3E%25n%25s%22'%26=99";
    CHECK(iop_html_page(d, IOP_HTML_PAGE_FORM, q, strlen(q), page, sizeof(page)) > 0);
    CHECK(strstr(page, "<i>") == NULL);
    CHECK(strstr(page, "<th>0x9000 &lt;i&gt;%n%s&quot;&#39;&amp;</th>") != NULL);
    CHECK(strstr(page, "name=\"9000.&lt;i&gt;%n%s&quot;&#39;&amp;\"") != NULL);
    CHECK(strstr(page, "<li>&lt;i&gt;%n%s&quot;&#39;&amp;: not a number that fits 1 bytes</li>") == NULL);
    CHECK(strstr(page, "&lt;i&gt;%n%s&quot;&#39;&amp;: out of range") != NULL);
    q = "9000.%3Ci%3E%25n%25s%22'%26=x";
    CHECK(iop_html_page(d, IOP_HTML_PAGE_FORM, q, strlen(q), page, sizeof(page)) > 0);
    CHECK(strstr(page, "<li>&lt;i&gt;%n%s&quot;&#39;&amp;: not a number that fits 1 bytes</li>") != NULL);
    CHECK(iop_html_page(d, IOP_HTML_PAGE_GROUP + 0x9000, NULL, 0, page, sizeof(page)) > 0);
    CHECK(strstr(page, "<tr><th>&lt;i&gt;%n%s&quot;&#39;&amp;</th><td>0</td></tr>") != NULL);
    CHECK(iop_html_page(d, IOP_HTML_PAGE_GROUP + 0x9001, NULL, 0, page, sizeof(page)) > 0);
    CHECK(strstr(page, "<tr><th>&lt;k&gt;</th></tr>") != NULL);
    CHECK(iop_html_page(d, IOP_HTML_PAGE_DEVICE, NULL, 0, page, sizeof(page)) > 0);
    CHECK(strstr(page, "&lt;g&gt;%n") != NULL);
    CHECK(strstr(page, "%s%n&lt;d&gt;") != NULL);
    CHECK(strstr(page, "<g>") == NULL && strstr(page, "<d>") == NULL);
    iop_system_free(s);
}

static void test_small_buffer(void) {
    char small[100];
    int n = iop_html_page(dev(0x00a), 0, NULL, 0, small, sizeof(small));
    CHECK(n >= 0 && n < (int)sizeof(small));
    CHECK_EQ((size_t)n, strlen(small));
}

int main(void) {
    setup();
    TEST(test_device_page);
    TEST(test_group_pages);
    TEST(test_form);
    TEST(test_small_buffer);
    TEST(test_hostile_names);
    iop_system_free(sys);
    iop_isa_path_free(isa);
    return test_summary();
}
