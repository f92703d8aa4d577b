#include "lib/config/json-get.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/fmt.h"

int cfg_fail(struct cfg_ctx *p, const char *path, const char *fmt, ...) {
    if (p && !p->err) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (asprintf(&p->err, "%s: %s: %s", p->origin, path, msg) < 0)
            p->err = NULL;
    }
    return -EINVAL;
}

const char *cfg_describe(json_object *v) {
    switch (json_object_get_type(v)) {
    case json_type_null: return "null";
    case json_type_boolean: return "a boolean";
    case json_type_double: return "a number";
    case json_type_int: return "an integer";
    case json_type_object: return "an object";
    case json_type_array: return "an array";
    case json_type_string: return "a string";
    }
    return "something else";
}

static int unknown_key(struct cfg_ctx *p, const char *path, const char *key, const char *const *allowed) {
    char known[512] = "";
    for (const char *const *a = allowed; *a; a++)
        snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", a == allowed ? "" : ", ", *a);
    return cfg_fail(p, path, "unknown key \"%s\" (known keys: %s)", key, known);
}

/* Where key is in allowed, or -1.  The first byte is compared before strcmp: most
 * allowed keys differ from the one looked for there. */
static int key_index(const char *const *allowed, const char *key) {
    for (int i = 0; allowed[i]; i++)
        if (allowed[i][0] == key[0] && strcmp(allowed[i], key) == 0)
            return i;
    return -1;
}

int cfg_check_keys(struct cfg_ctx *p, const char *path, json_object *obj, const char *const *allowed) {
    json_object_object_foreach(obj, key, val) {
        (void)val;
        if (key_index(allowed, key) < 0)
            return unknown_key(p, path, key, allowed);
    }
    return 0;
}

int cfg_members(struct cfg_ctx *p, const char *path, json_object *obj, const char *const *allowed,
                struct cfg_slot *val) {
    size_t n = 0;
    while (allowed[n])
        n++;
    memset(val, 0, n * sizeof(*val));
    /* json-c's objects hold each key once (a repeated key replaces the value). */
    json_object_object_foreach(obj, key, v) {
        int i = key_index(allowed, key);
        if (i < 0)
            return unknown_key(p, path, key, allowed);
        val[i] = (struct cfg_slot){ v, true };
    }
    return 0;
}

int cfg_get_uint(struct cfg_ctx *p, const char *path, json_object *v, uint64_t max, uint64_t *out) {
    if (json_object_is_type(v, json_type_int)) {
        int64_t x = json_object_get_int64(v);
        if (x < 0 || (uint64_t)x > max)
            return cfg_fail(p, path, "expected an integer 0..%llu, got %lld", (unsigned long long)max,
                            (long long)x);
        *out = (uint64_t)x;
        return 0;
    }
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        char *end;
        errno = 0;
        unsigned long long x = strtoull(s, &end, 0);
        /* Digits only: no sign or blanks (strtoull takes them), no NUL inside. */
        if (!(*s >= '0' && *s <= '9') || *end || errno || (size_t)json_object_get_string_len(v) != strlen(s))
            return cfg_fail(p, path, "expected an integer 0..%llu, got \"%s\"", (unsigned long long)max, s);
        if (x > max)
            return cfg_fail(p, path, "expected an integer 0..%llu, got %s", (unsigned long long)max, s);
        *out = x;
        return 0;
    }
    return cfg_fail(p, path, "expected an integer 0..%llu, got %s", (unsigned long long)max, cfg_describe(v));
}

int cfg_get_bool(struct cfg_ctx *p, const char *path, json_object *v, bool *out) {
    if (!json_object_is_type(v, json_type_boolean))
        return cfg_fail(p, path, "expected true or false, got %s", cfg_describe(v));
    *out = json_object_get_boolean(v);
    return 0;
}

int cfg_get_string(struct cfg_ctx *p, const char *path, json_object *v, char *out, size_t size) {
    if (!json_object_is_type(v, json_type_string))
        return cfg_fail(p, path, "expected a string, got %s", cfg_describe(v));
    size_t len = (size_t)json_object_get_string_len(v);
    if (len >= size)
        return cfg_fail(p, path, "string too long (%zu bytes, at most %zu)", len, size - 1);
    if (memchr(json_object_get_string(v), '\0', len))
        return cfg_fail(p, path, "string contains a NUL byte");
    memcpy(out, json_object_get_string(v), len + 1);
    return 0;
}

/* Append s (n bytes) at out[*len], keeping room for the NUL. */
static void path_put(char *out, size_t size, size_t *len, const char *s, size_t n) {
    if (*len + 1 >= size)
        return;
    if (n > size - 1 - *len)
        n = size - 1 - *len;
    memcpy(out + *len, s, n);
    *len += n;
}

void cfg_path_key(char *out, size_t size, const char *path, const char *key) {
    if (!size)
        return;
    size_t len = 0;
    path_put(out, size, &len, path, strlen(path));
    path_put(out, size, &len, ".", 1);
    path_put(out, size, &len, key, strlen(key));
    out[len] = 0;
}

void cfg_path_index(char *out, size_t size, const char *path, size_t i) {
    if (!size)
        return;
    char digits[IOP_FMT_UINT_MAX];
    const char *d = iop_fmt_uint(digits, i, 10, 1, false);
    size_t len = 0;
    path_put(out, size, &len, path, strlen(path));
    path_put(out, size, &len, "[", 1);
    path_put(out, size, &len, d, (size_t)(digits + sizeof(digits) - d));
    path_put(out, size, &len, "]", 1);
    out[len] = 0;
}

/* A small object is scanned instead of hashed: most lookups ask for a key a device
 * does not give (a device gives a handful of the 25 allowed), and comparing a few keys
 * costs less than json-c hashing the one asked for (lookups were 19% of loading a
 * 32 x 1000 configuration).  json-c's objects hold each key once. */
#define CFG_SCAN_MEMBERS 8

static bool find_member(json_object *obj, const char *key, json_object **v) {
    *v = NULL;
    if (!json_object_is_type(obj, json_type_object))
        return false;
    if (json_object_object_length(obj) > CFG_SCAN_MEMBERS)
        return json_object_object_get_ex(obj, key, v);
    json_object_object_foreach(obj, k, val) {
        if (k[0] == key[0] && strcmp(k, key) == 0) {
            *v = val;
            return true;
        }
    }
    return false;
}

int cfg_member(json_object *obj, const char *key, const char *path, char *subpath, size_t subsize,
               json_object **v) {
    if (!find_member(obj, key, v))
        return 0;
    cfg_path_key(subpath, subsize, path, key);
    return 1;
}
