#include "lib/config/json-split.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* Nesting the scanner follows; json-c's own limit for the configuration is 64. */
#define SPLIT_MAX_DEPTH 64

struct scan {
    const char *t;
    size_t len, at;
};

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static void skip_ws(struct scan *s) {
    while (s->at < s->len && is_ws(s->t[s->at]))
        s->at++;
}

/* A scalar's bytes: digits, letters (true, false, null, exponents), sign, point. */
static bool is_scalar_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '-' || c == '+' || c == '.';
}

/* At a '"': past the closing quote.  *escaped tells whether a backslash was inside. */
static int skip_string(struct scan *s, bool *escaped) {
    bool esc = false;
    for (s->at++; s->at < s->len; s->at++) {
        char c = s->t[s->at];
        if (c == '"') {
            s->at++;
            if (escaped)
                *escaped = esc;
            return 0;
        }
        if (c == '\\') {
            esc = true;
            if (++s->at >= s->len)
                return -EINVAL;
        } else if (c == '\0') {
            return -EINVAL;
        }
    }
    return -EINVAL;
}

/* One value, whatever it holds, brackets matched (not checked for what is between:
 * json-c does that). */
static int skip_value(struct scan *s) {
    char stack[SPLIT_MAX_DEPTH];
    unsigned depth = 0;
    skip_ws(s);
    do {
        if (s->at >= s->len)
            return -EINVAL;
        char c = s->t[s->at];
        if (c == '"') {
            if (skip_string(s, NULL) < 0)
                return -EINVAL;
        } else if (c == '{' || c == '[') {
            if (depth == SPLIT_MAX_DEPTH)
                return -EINVAL;
            stack[depth++] = c == '{' ? '}' : ']';
            s->at++;
        } else if (c == '}' || c == ']') {
            if (depth == 0 || stack[depth - 1] != c)
                return -EINVAL;
            depth--;
            s->at++;
        } else if (c == ',' || c == ':') {
            if (depth == 0)
                return -EINVAL;
            s->at++;
        } else if (is_scalar_char(c)) {
            while (s->at < s->len && is_scalar_char(s->t[s->at]))
                s->at++;
        } else {
            return -EINVAL; /* a comment, a single quote, a control byte: not ours */
        }
        if (depth > 0)
            skip_ws(s);
    } while (depth > 0);
    return 0;
}

int iop_json_split_member_array(const char *text, size_t len, const char *key,
                                struct iop_json_span *elems, size_t max, size_t *n,
                                size_t *open, size_t *close) {
    struct scan s = { .t = text, .len = len };
    size_t klen = strlen(key);
    bool found = false;
    skip_ws(&s);
    if (s.at >= len || text[s.at] != '{')
        return -EINVAL;
    s.at++;
    skip_ws(&s);
    if (s.at < len && text[s.at] == '}')
        return -EINVAL; /* no members: not the object wanted */
    for (;;) {
        skip_ws(&s);
        if (s.at >= len || text[s.at] != '"')
            return -EINVAL;
        size_t kstart = s.at + 1;
        bool escaped = false;
        if (skip_string(&s, &escaped) < 0 || escaped)
            return -EINVAL; /* an escaped key might spell key */
        bool is_key = s.at - 1 - kstart == klen && memcmp(text + kstart, key, klen) == 0;
        skip_ws(&s);
        if (s.at >= len || text[s.at] != ':')
            return -EINVAL;
        s.at++;
        skip_ws(&s);
        if (is_key) {
            if (found || s.at >= len || text[s.at] != '[')
                return -EINVAL; /* a repeated key: json-c keeps the last, do not guess */
            found = true;
            *open = s.at++;
            *n = 0;
            skip_ws(&s);
            if (s.at < len && text[s.at] == ']') {
                *close = s.at++;
            } else {
                for (;;) {
                    skip_ws(&s);
                    size_t start = s.at;
                    if (skip_value(&s) < 0)
                        return -EINVAL;
                    if (*n == max)
                        return -E2BIG;
                    elems[(*n)++] = (struct iop_json_span){ start, s.at };
                    skip_ws(&s);
                    if (s.at < len && text[s.at] == ',') {
                        s.at++;
                        continue;
                    }
                    if (s.at < len && text[s.at] == ']') {
                        *close = s.at++;
                        break;
                    }
                    return -EINVAL;
                }
            }
        } else if (skip_value(&s) < 0) {
            return -EINVAL;
        }
        skip_ws(&s);
        if (s.at < len && text[s.at] == ',') {
            s.at++;
            continue;
        }
        if (s.at < len && text[s.at] == '}') {
            s.at++;
            break;
        }
        return -EINVAL;
    }
    skip_ws(&s);
    return found && s.at == len ? 0 : -EINVAL;
}
