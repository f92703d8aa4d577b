#include "lib/i2o/query-fuzz.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config/config.h"
#include "lib/i2o/html.h"
#include "lib/i2o/iop.h"
#include "lib/i2o/query.h"
#include "lib/util/fuzz.h"

/* The built-in IOP plus a device whose names are markup and format strings. */
static const char model_json[] =
    "{ \"iops\": [ { \"unit\": 0, \"product_id\": \"<p>%s%n\","
    "  \"adapters\": [ { \"adapter_id\": 1, \"bus\": \"isa\", \"io_port\": \"0x330\", \"dma_channel\": 5 } ],"
    "  \"devices\": ["
    "   { \"tid\": \"0x008\", \"class\": \"ddm\", \"identity\": \"IOPDDM\" },"
    "   { \"tid\": \"0x009\", \"class\": \"bus-adapter\", \"parent\": \"0x008\", \"adapter\": 1 },"
    "   { \"tid\": \"0x00a\", \"class\": \"block-storage\", \"parent\": \"0x009\", \"blocks\": 64,"
    "     \"block_size\": 512, \"description\": \"<b>&%n'\\\"\" },"
    "   { \"tid\": \"0x010\", \"class\": \"0x090\", \"description\": \"%s%s%s%n\","
    "     \"groups\": [ { \"number\": \"0x9000\", \"name\": \"<script>%n\\\"'&\", \"fields\": ["
    "       { \"name\": \"<i>%n%s\", \"type\": \"u16\", \"writable\": true, \"max\": 100 },"
    "       { \"name\": \"a\\\"b'c&d>\", \"type\": \"string\", \"size\": 12, \"writable\": true },"
    "       { \"name\": \"Raw\", \"type\": \"bytes\", \"size\": 8, \"writable\": true } ] },"
    "      { \"number\": \"0x9001\", \"name\": \"T<a>\", \"table\": true, \"row_add\": true, \"fields\": ["
    "       { \"name\": \"<k>\", \"type\": \"u8\", \"key\": true },"
    "       { \"name\": \"%n\", \"type\": \"string\", \"size\": 8, \"writable\": true } ],"
    "       \"rows\": [ { \"<k>\": 1, \"%n\": \"<x>&\" } ] } ] } ] } ] }";

static const char *const tags[] = { "!DOCTYPE", "a", "body", "form", "h1", "h2", "head", "html",
                                    "input", "li", "meta", "p", "table", "td", "th", "title", "tr",
                                    "ul", NULL };
static const char *const entities[] = { "amp;", "lt;", "gt;", "quot;", "#39;", "middot;", "larr;",
                                        "hellip;", NULL };

static bool starts_with_one(const char *s, const char *const *list, bool tag) {
    for (unsigned i = 0; list[i]; i++) {
        size_t n = strlen(list[i]);
        if (strncmp(s, list[i], n) == 0 && (!tag || s[n] == '>' || s[n] == ' '))
            return true;
    }
    return false;
}

static int check_page(const char *page, int len, size_t cap) {
    if (len < 0 || (size_t)len >= cap || page[len] != '\0' || strlen(page) != (size_t)len)
        return IOP_FUZZ_FAIL("query: page length %d, cap %zu", len, cap);
    for (int i = 0; i < len; i++) {
        unsigned char c = (unsigned char)page[i];
        if (c == '<' && !starts_with_one(page + i + 1 + (page[i + 1] == '/'), tags, true))
            return IOP_FUZZ_FAIL("query: markup not from html.c at %d: \"%.24s\"", i, page + i);
        if (c == '&' && !starts_with_one(page + i + 1, entities, false))
            return IOP_FUZZ_FAIL("query: '&' not an entity at %d: \"%.24s\"", i, page + i);
        if ((c < 0x20 && c != '\n') || c == 0x7f)
            return IOP_FUZZ_FAIL("query: control byte 0x%02x at %d", c, i);
    }
    return 0;
}

static int check_query(const char *s, size_t len) {
    struct iop_query *q = malloc(sizeof(*q));
    if (!q)
        return -ENOMEM;
    int r = iop_query_parse(q, s, len), ret = 0;
    if (r != 0 && r != -EINVAL && r != -E2BIG)
        ret = IOP_FUZZ_FAIL("query: parse returned %d", r);
    for (unsigned i = 0; r == 0 && ret == 0 && i < q->n; i++) {
        const char *end = q->text + sizeof(q->text);
        const char *name = q->pair[i].name, *value = q->pair[i].value;
        if (q->n > IOP_QUERY_MAX_PAIRS || name < q->text || name >= end || value < q->text || value >= end ||
            !memchr(name, '\0', (size_t)(end - name)) || !memchr(value, '\0', (size_t)(end - value)) || !*name)
            ret = IOP_FUZZ_FAIL("query: pair %u outside the text or unterminated", i);
        else if (!iop_query_get(q, name))
            ret = IOP_FUZZ_FAIL("query: \"%s\" not found", name);
    }
    free(q);
    return ret;
}

int iop_query_fuzz_one(const uint8_t *data, size_t len) {
    struct iop_fuzz_in in = iop_fuzz_in(data, len);
    unsigned dev_pick = iop_fuzz_u8(&in), page_pick = iop_fuzz_u8(&in);
    const uint8_t *query;
    size_t qlen = iop_fuzz_rest(&in, &query);
    int r = check_query((const char *)query, qlen);
    if (r)
        return r;

    struct iop_config *cfg = NULL;
    struct iop_system *sys = NULL;
    if (iop_config_parse(model_json, strlen(model_json), "model", &cfg, NULL) < 0 ||
        iop_system_new_from_config(cfg, &sys) < 0) {
        iop_config_free(cfg);
        return IOP_FUZZ_FAIL("query: the model does not build");
    }
    iop_config_free(cfg);
    struct iop_controller *c = sys->iop[0];
    struct iop_device *d = c->dev[dev_pick % c->n_dev];
    static const uint32_t pages[] = { IOP_HTML_PAGE_DEVICE, IOP_HTML_PAGE_FORM, IOP_HTML_PAGE_GROUP + 0x9000,
                                      IOP_HTML_PAGE_GROUP + 0x9001, IOP_HTML_PAGE_GROUP + 0xF100,
                                      IOP_HTML_PAGE_GROUP + 0x8000, 7 };
    uint32_t page = pages[page_pick % (sizeof(pages) / sizeof(pages[0]))];
    /* A short buffer now and then: cutting must keep the page terminated. */
    size_t cap = (page_pick & 0x80) ? 1 + (page_pick & 0x7F) * 16 : IOP_HTML_MAX;
    char *out = malloc(cap);
    if (!out) {
        iop_system_free(sys);
        return -ENOMEM;
    }
    int n = iop_html_page(d, page, (const char *)query, qlen, out, cap);
    if (n == -EINVAL || n == -E2BIG)
        r = 0; /* a malformed query: refused before anything changed */
    else if (cap == IOP_HTML_MAX || (n >= 0 && (size_t)n < cap - 1))
        r = check_page(out, n, cap);
    else if (n < 0 || (size_t)n >= cap || out[n] != '\0')
        r = IOP_FUZZ_FAIL("query: cut page length %d, cap %zu", n, cap);
    free(out);
    iop_system_free(sys);
    return r;
}
