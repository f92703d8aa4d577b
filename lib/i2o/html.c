#include "lib/i2o/html.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/i2o/devparams.h"
#include "lib/i2o/iop.h"
#include "lib/i2o/query.h"
#include "lib/params/params-exec.h"
#include "lib/params/params.h"
#include "lib/util/bytes.h"
#include "lib/util/fmt.h"

struct page {
    char *b;
    size_t len, cap;
};

static void emit(struct page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct page *p, const char *fmt, ...) {
    if (p->len + 1 >= p->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->b + p->len, p->cap - p->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        p->len += (size_t)n < p->cap - p->len ? (size_t)n : p->cap - p->len - 1;
}

/* n bytes as they are, cut like emit's output when the page is full. */
static void emit_raw(struct page *p, const char *s, size_t n) {
    if (p->len + 1 >= p->cap)
        return;
    size_t room = p->cap - p->len - 1;
    if (n > room)
        n = room;
    memcpy(p->b + p->len, s, n);
    p->len += n;
    p->b[p->len] = '\0';
}

/* The bytes emit_text copies as they are: printable ASCII but the five it escapes, and
 * every byte from 0x80 (UTF-8 is passed through).  Control bytes are dropped. */
static const uint8_t html_plain[256] = {
    [0x20 ... 0x21] = 1, /* '"' escaped */ [0x23 ... 0x25] = 1, /* '&', '\'' escaped */
    [0x28 ... 0x3b] = 1, /* '<' escaped */ [0x3d] = 1, /* '>' escaped */ [0x3f ... 0x7e] = 1,
    [0x80 ... 0xff] = 1,
};

/* Text into HTML: the five special characters escaped, control bytes dropped, up to
 * n bytes or a NUL.  Runs of plain characters are copied at once (one vsnprintf per
 * character made a device page cost twice the CUSE round trips that carry it:
 * BENCHMARKS.md, ioctls), found with a table (the tests of each character were half
 * of what an executive's page cost). */
static void emit_text(struct page *p, const char *s, size_t n) {
    size_t i = 0;
    for (;;) {
        size_t run = i;
        while (i < n && html_plain[(unsigned char)s[i]])
            i++;
        emit_raw(p, s + run, i - run);
        if (i >= n || !s[i])
            return;
        char c = s[i++];
        const char *esc = c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : c == '"' ? "&quot;"
                        : c == '\'' ? "&#39;" : NULL;
        if (esc)
            emit_raw(p, esc, strlen(esc));
    }
}

/* A string as it is (a literal: no format, so no vsnprintf, which was 75% of building
 * a device page: 168k instructions a page, BENCHMARKS.md, ioctls). */
static void emit_lit(struct page *p, const char *s) { emit_raw(p, s, strlen(s)); }

/* x in decimal, as "%llu" would. */
static void emit_uint(struct page *p, uint64_t x) {
    char d[IOP_FMT_UINT_MAX];
    const char *s = iop_fmt_uint(d, x, 10, 1, false);
    emit_raw(p, s, (size_t)(d + sizeof(d) - s));
}

/* v in hex, at least digits digits, as "%0*x" (or "%0*X") would. */
static void emit_hex(struct page *p, unsigned v, unsigned digits, bool upper) {
    char d[IOP_FMT_UINT_MAX];
    const char *s = iop_fmt_uint(d, v, 16, digits, upper);
    emit_raw(p, s, (size_t)(d + sizeof(d) - s));
}

/* A field name: from the configuration, so escaped like any text. */
static void emit_name(struct page *p, const char *name) { emit_text(p, name, strlen(name)); }

static void emit_value(struct page *p, const struct iop_params_field_info *fi, const uint8_t *v) {
    if (fi->type == IOP_PARAMS_STRING) {
        emit_text(p, (const char *)v, fi->size);
    } else if (fi->type == IOP_PARAMS_BYTES) {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < fi->size && i < 64; i++)
            emit_raw(p, (const char[2]){ hex[v[i] >> 4], hex[v[i] & 15] }, 2);
        if (fi->size > 64)
            emit_lit(p, "&hellip;");
    } else {
        uint64_t x = 0;
        for (size_t i = 0; i < fi->size; i++)
            x |= (uint64_t)v[i] << (8 * i);
        emit_uint(p, x);
    }
}

/* The head of every page, without printf (it was a tenth of a page's cost). */
static void head(struct page *p, const struct iop_device *d, const char *title) {
    emit_lit(p, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>IOP ");
    emit_uint(p, d->iop->unit);
    emit_lit(p, " TID 0x");
    emit_hex(p, d->tid, 3, false);
    emit_lit(p, ": ");
    emit_text(p, title, strlen(title));
    emit_lit(p, "</title></head>\n<body>\n<h1>IOP ");
    emit_uint(p, d->iop->unit);
    emit_lit(p, " &middot; TID 0x");
    emit_hex(p, d->tid, 3, false);
    emit_lit(p, " &middot; ");
    emit_text(p, title, strlen(title));
    emit_lit(p, "</h1>\n<p><a href=\"?tid=0x");
    emit_hex(p, d->tid, 3, false);
    emit_lit(p, "&amp;page=0\">device</a> | <a href=\"?tid=0x");
    emit_hex(p, d->tid, 3, false);
    emit_lit(p, "&amp;page=1\">settings</a></p>\n");
}

static void tail(struct page *p) { emit_lit(p, "</body></html>\n"); }

/* The device's Description, or "device", cut to n - 1 bytes (as snprintf's "%s"
 * would; the device page takes one per device of the IOP). */
static void device_title(const struct iop_device *d, char *out, size_t n) {
    char desc[17] = "";
    iop_device_identity(d, "Description", desc, sizeof(desc));
    const char *t = desc[0] ? desc : "device";
    size_t len = strlen(t); /* desc is terminated */
    if (len > n - 1)
        len = n - 1;
    memcpy(out, t, len);
    out[len] = 0;
}

static void group_table(struct page *p, const struct iop_params_group *g, bool table) {
    unsigned nf = iop_params_group_field_count(g), rows = iop_params_group_row_count(g);
    emit_lit(p, "<table border=\"1\">\n");
    if (table) {
        emit_lit(p, "<tr>");
        for (unsigned i = 0; i < nf; i++) {
            struct iop_params_field_info fi;
            iop_params_field_info(g, i, &fi);
            emit_lit(p, "<th>");
            emit_name(p, fi.name);
            emit_lit(p, "</th>");
        }
        emit_lit(p, "</tr>\n");
    }
    for (unsigned r = 0; r < rows; r++) {
        const uint8_t *row = iop_params_row(g, r);
        if (!row)
            continue;
        if (table)
            emit_lit(p, "<tr>");
        for (unsigned i = 0; i < nf; i++) {
            struct iop_params_field_info fi;
            iop_params_field_info(g, i, &fi);
            if (!table) {
                emit_lit(p, "<tr><th>");
                emit_name(p, fi.name);
                emit_lit(p, "</th><td>");
            } else
                emit_lit(p, "<td>");
            if (fi.flags & IOP_PARAMS_FIELD_NOREAD)
                emit_lit(p, "(write-only)");
            else
                emit_value(p, &fi, row + fi.offset);
            emit_lit(p, table ? "</td>" : "</td></tr>\n");
        }
        if (table)
            emit_lit(p, "</tr>\n");
    }
    emit_lit(p, "</table>\n");
}

static void page_device(struct page *p, struct iop_device *d) {
    char title[32];
    device_title(d, title, sizeof(title));
    head(p, d, title);
    emit_lit(p, "<h2>Identity</h2>\n");
    const struct iop_params_group *id = iop_params_find_group(d->params, 0xF100);
    if (id)
        group_table(p, id, false);
    /* Group 0x8000 is the ISA DMA channel on the adapter that drives it, and DPT's
     * private group on the executive and on storage TIDs: headed by its own name. */
    const struct iop_params_group *g8 = iop_params_find_group(d->params, 0x8000);
    if (g8) {
        emit_lit(p, "<h2>");
        emit_text(p, iop_params_group_name(g8), IOP_PARAMS_NAME_MAX);
        emit_lit(p, "</h2>\n");
        group_table(p, g8, false);
    }
    emit_lit(p, "<h2>Parameter groups</h2>\n<ul>\n");
    for (unsigned i = 0; i < iop_params_group_count(d->params); i++) {
        const struct iop_params_group *g = iop_params_group_at(d->params, i);
        uint16_t num = iop_params_group_number(g);
        /* The lists of groups and devices by hand, not by emit(): the device page's
         * cost was in vsnprintf (BENCHMARKS.md, ioctls). */
        emit_lit(p, "<li><a href=\"?tid=0x");
        emit_hex(p, d->tid, 3, false);
        emit_lit(p, "&amp;page=");
        emit_uint(p, IOP_HTML_PAGE_GROUP + num);
        emit_lit(p, "\">0x");
        emit_hex(p, num, 4, false);
        emit_lit(p, " ");
        emit_text(p, iop_params_group_name(g), IOP_PARAMS_NAME_MAX);
        emit_lit(p, iop_params_group_kind(g) == IOP_PARAMS_TABLE ? "</a> (table)</li>\n" : "</a></li>\n");
    }
    emit_lit(p, "</ul>\n<h2>Devices of IOP ");
    emit_uint(p, d->iop->unit);
    emit_lit(p, "</h2>\n<ul>\n");
    const struct iop_controller *c = d->iop;
    for (unsigned i = 0; i < c->n_dev; i++) {
        const struct iop_device *o = c->dev[i];
        char t[32];
        device_title(o, t, sizeof(t));
        emit_lit(p, "<li><a href=\"?tid=0x");
        emit_hex(p, o->tid, 3, false);
        emit_lit(p, "&amp;page=0\">TID 0x");
        emit_hex(p, o->tid, 3, false);
        emit_lit(p, "</a> ");
        emit_text(p, t, sizeof(t));
        emit_lit(p, " (class 0x");
        emit_hex(p, o->class_id, 3, false);
        emit_lit(p, ", parent 0x");
        emit_hex(p, o->parent_tid, 3, false);
        emit_lit(p, o == d ? ") &larr; this</li>\n" : ")</li>\n");
    }
    emit_lit(p, "</ul>\n");
    tail(p);
}

static void page_group(struct page *p, struct iop_device *d, uint16_t num) {
    const struct iop_params_group *g = iop_params_find_group(d->params, num);
    char title[80];
    snprintf(title, sizeof(title), "group 0x%04x %s", num, g ? iop_params_group_name(g) : "(none)");
    head(p, d, title);
    if (!g)
        emit(p, "<p>This device has no group 0x%04x.</p>\n", num);
    else
        group_table(p, g, iop_params_group_kind(g) == IOP_PARAMS_TABLE);
    tail(p);
}

/* The query's "GGGG.Field=value" pairs as one UtilParamsSet list, executed through the
 * device's engine (so read-only fields, ranges and events are all the engine's). */
static void apply_query(struct page *p, struct iop_device *d, const struct iop_query *q) {
    uint8_t ops[8192], res[4096];
    size_t len = 4;
    unsigned count = 0;
    const char *what[IOP_QUERY_MAX_PAIRS];
    emit_lit(p, "<h2>Changes</h2>\n<ul>\n");
    for (unsigned i = 0; i < q->n; i++) {
        char *end;
        unsigned long group = strtoul(q->pair[i].name, &end, 16);
        const struct iop_params_group *g = *end == '.' && group <= 0xFFFF ? iop_params_find_group(d->params, (uint16_t)group) : NULL;
        int idx = g ? iop_params_find_field(g, end + 1) : -ENOENT;
        struct iop_params_field_info fi;
        if (idx < 0 || iop_params_field_info(g, (unsigned)idx, &fi) < 0 || iop_params_group_kind(g) != IOP_PARAMS_SCALAR) {
            emit_lit(p, "<li>");
            emit_text(p, q->pair[i].name, strlen(q->pair[i].name));
            emit_lit(p, ": no such setting</li>\n");
            continue;
        }
        uint8_t val[IOP_PARAMS_FIELD_SIZE_MAX];
        memset(val, 0, fi.size);
        const char *v = q->pair[i].value;
        if (fi.type == IOP_PARAMS_STRING || fi.type == IOP_PARAMS_BYTES) {
            if (strlen(v) > fi.size) {
                emit_lit(p, "<li>");
                emit_name(p, fi.name);
                emit(p, ": too long (at most %zu characters)</li>\n", fi.size);
                continue;
            }
            memcpy(val, v, strlen(v));
        } else {
            errno = 0;
            unsigned long long x = strtoull(v, &end, 0);
            if (errno || *end || !*v || *v == '-' || (fi.size < 8 && x >> (8 * fi.size))) {
                emit_lit(p, "<li>");
                emit_name(p, fi.name);
                emit(p, ": not a number that fits %zu bytes</li>\n", fi.size);
                continue;
            }
            for (size_t k = 0; k < fi.size; k++)
                val[k] = (uint8_t)(x >> (8 * k));
        }
        size_t need = ((len + 3) & ~(size_t)3) + 8 + fi.size;
        if (need > sizeof(ops))
            break;
        while (len % 4)
            ops[len++] = 0;
        iop_put_le16(ops + len, I2O_PARAMS_FIELD_SET);
        iop_put_le16(ops + len + 2, (uint16_t)group);
        iop_put_le16(ops + len + 4, 1);
        iop_put_le16(ops + len + 6, (uint16_t)idx);
        memcpy(ops + len + 8, val, fi.size);
        len += 8 + fi.size;
        what[count++] = q->pair[i].name;
    }
    if (count) {
        iop_put_le16(ops, (uint16_t)count);
        iop_put_le16(ops + 2, 0);
        int rl = iop_device_params_exec(d, true, ops, len, res, sizeof(res));
        size_t at = 4;
        for (unsigned i = 0; i < count; i++) {
            emit_lit(p, "<li>");
            emit_text(p, what[i], strlen(what[i]));
            if (rl < 0 || at + 4 > (size_t)rl) {
                emit_lit(p, ": not applied</li>\n");
                continue;
            }
            unsigned words = iop_get_le16(res + at), st = res[at + 2];
            emit_lit(p, st == 0 ? ": set</li>\n" : st == IOP_PARAMS_STATUS_FIELD_UNWRITEABLE ? ": read-only</li>\n"
                            : st == IOP_PARAMS_STATUS_SCALAR_ERROR ? ": out of range</li>\n" : ": refused</li>\n");
            at += (words ? words : 1) * 4u;
        }
    }
    emit_lit(p, "</ul>\n");
}

static void page_form(struct page *p, struct iop_device *d, const struct iop_query *q) {
    char title[32];
    device_title(d, title, sizeof(title));
    head(p, d, "settings");
    if (q && q->n)
        apply_query(p, d, q);
    emit(p, "<form method=\"get\" action=\"?tid=0x%03x&amp;page=1\">\n<table border=\"1\">\n", d->tid);
    unsigned shown = 0;
    for (unsigned i = 0; i < iop_params_group_count(d->params); i++) {
        const struct iop_params_group *g = iop_params_group_at(d->params, i);
        if (iop_params_group_kind(g) != IOP_PARAMS_SCALAR)
            continue;
        const uint8_t *row = iop_params_row(g, 0);
        for (unsigned k = 0; row && k < iop_params_group_field_count(g); k++) {
            struct iop_params_field_info fi;
            iop_params_field_info(g, k, &fi);
            if (!(fi.flags & IOP_PARAMS_FIELD_RW))
                continue;
            uint16_t num = iop_params_group_number(g);
            emit_lit(p, "<tr><th>0x");
            emit_hex(p, num, 4, false);
            emit_lit(p, " ");
            emit_name(p, fi.name);
            emit_lit(p, "</th><td><input name=\"");
            emit_hex(p, num, 4, true);
            emit_lit(p, ".");
            emit_name(p, fi.name);
            emit_lit(p, "\" value=\"");
            if (!(fi.flags & IOP_PARAMS_FIELD_NOREAD))
                emit_value(p, &fi, row + fi.offset);
            emit_lit(p, "\"></td></tr>\n");
            shown++;
        }
    }
    emit(p, "</table>\n%s<input type=\"submit\" value=\"Apply\">\n</form>\n",
         shown ? "" : "<p>This device has no writable settings.</p>\n");
    tail(p);
}

int iop_html_page(struct iop_device *d, uint32_t page, const char *query, size_t qlen, char *out, size_t cap) {
    assert(d && (out || cap == 0));
    struct page p = { .b = out, .cap = cap };
    if (cap)
        out[0] = 0;
    struct iop_query *q = NULL;
    if (qlen) {
        q = malloc(sizeof(*q));
        if (!q)
            return -ENOMEM;
        int r = iop_query_parse(q, query, qlen);
        if (r < 0) {
            free(q);
            return r;
        }
    }
    /* Built now if they were deferred; d->params stays valid for the whole page. */
    if (!iop_device_params(d)) {
        free(q);
        return -ENOMEM;
    }
    iop_device_refresh(d);
    if (page == IOP_HTML_PAGE_DEVICE) {
        page_device(&p, d);
    } else if (page == IOP_HTML_PAGE_FORM) {
        page_form(&p, d, q);
    } else if (page >= IOP_HTML_PAGE_GROUP && page <= IOP_HTML_PAGE_GROUP + 0xFFFF) {
        page_group(&p, d, (uint16_t)(page - IOP_HTML_PAGE_GROUP));
    } else {
        head(&p, d, "no such page");
        emit(&p, "<p>Page %u does not exist; see <a href=\"?tid=0x%03x&amp;page=0\">the device page</a>.</p>\n",
             page, d->tid);
        tail(&p);
    }
    free(q);
    return (int)p.len;
}
