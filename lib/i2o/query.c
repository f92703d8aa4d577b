#include "lib/i2o/query.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode s[0..len) into q->text at *at; returns the start, or NULL with *err set. */
static const char *decode(struct iop_query *q, const char *s, size_t len, size_t *at, int *err) {
    size_t start = *at;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = len - i >= 3 ? hexval(s[i + 1]) : -1;
            int lo = len - i >= 3 ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) { /* bad escape, or %00 */
                *err = -EINVAL;
                return NULL;
            }
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (*at + 1 >= IOP_QUERY_MAX_TEXT) {
            *err = -E2BIG;
            return NULL;
        }
        q->text[(*at)++] = c;
    }
    if (*at >= IOP_QUERY_MAX_TEXT) {
        *err = -E2BIG;
        return NULL;
    }
    q->text[(*at)++] = '\0';
    return q->text + start;
}

int iop_query_parse(struct iop_query *q, const char *s, size_t len) {
    assert(q && (s || len == 0));
    q->n = 0;
    const char *nul = len ? memchr(s, '\0', len) : NULL;
    if (nul)
        len = (size_t)(nul - s);
    size_t at = 0, pos = 0;
    int err = 0;
    while (pos < len) {
        const char *amp = memchr(s + pos, '&', len - pos);
        size_t end = amp ? (size_t)(amp - s) : len;
        if (end > pos) { /* empty segments ("a=1&&b=2") are skipped */
            const char *eq = memchr(s + pos, '=', end - pos);
            size_t name_end = eq ? (size_t)(eq - s) : end;
            if (name_end == pos)
                return -EINVAL;
            if (q->n >= IOP_QUERY_MAX_PAIRS)
                return -E2BIG;
            const char *name = decode(q, s + pos, name_end - pos, &at, &err);
            if (!name)
                return err;
            const char *value = eq ? decode(q, eq + 1, end - name_end - 1, &at, &err) : decode(q, "", 0, &at, &err);
            if (!value)
                return err;
            q->pair[q->n++] = (struct iop_query_pair){ name, value };
        }
        pos = end + 1;
    }
    return 0;
}

const char *iop_query_get(const struct iop_query *q, const char *name) {
    assert(q && name);
    for (unsigned i = 0; i < q->n; i++)
        if (strcmp(q->pair[i].name, name) == 0)
            return q->pair[i].value;
    return NULL;
}
