#include "lib/config/config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/util/cleanup.h"

IOP_DEFINE_CLEANUP(json_object, json_object_put)
IOP_DEFINE_CLEANUP(struct iop_config, iop_config_free)

const char iop_config_default_json[] =
    "{\n"
    "  \"iops\": [\n"
    "    { \"unit\": 0, \"product_id\": \"iopd simulated IOP\" }\n"
    "  ]\n"
    "}\n";

struct parse_ctx {
    const char *origin;
    char *err; /* first error, owned */
};

static int fail(struct parse_ctx *p, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct parse_ctx *p, const char *path, const char *fmt, ...) {
    if (!p->err) {
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

static const char *describe(json_object *v) {
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

/* Every key of obj must be in allowed (NULL-terminated). */
static int check_keys(struct parse_ctx *p, const char *path, json_object *obj, const char *const *allowed) {
    json_object_object_foreach(obj, key, val) {
        (void)val;
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            ok |= strcmp(*a, key) == 0;
        if (!ok) {
            char known[256] = "";
            for (const char *const *a = allowed; *a; a++)
                snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
                         a == allowed ? "" : ", ", *a);
            return fail(p, path, "unknown key \"%s\" (known keys: %s)", key, known);
        }
    }
    return 0;
}

static int get_uint(struct parse_ctx *p, const char *path, json_object *v, unsigned max, unsigned *out) {
    if (!json_object_is_type(v, json_type_int))
        return fail(p, path, "expected an integer 0..%u, got %s", max, describe(v));
    int64_t x = json_object_get_int64(v);
    if (x < 0 || x > (int64_t)max)
        return fail(p, path, "expected an integer 0..%u, got %lld", max, (long long)x);
    *out = (unsigned)x;
    return 0;
}

static int get_bool(struct parse_ctx *p, const char *path, json_object *v, bool *out) {
    if (!json_object_is_type(v, json_type_boolean))
        return fail(p, path, "expected true or false, got %s", describe(v));
    *out = json_object_get_boolean(v);
    return 0;
}

static int get_string(struct parse_ctx *p, const char *path, json_object *v, char *out, size_t size) {
    if (!json_object_is_type(v, json_type_string))
        return fail(p, path, "expected a string, got %s", describe(v));
    size_t len = (size_t)json_object_get_string_len(v);
    if (len >= size)
        return fail(p, path, "string too long (%zu bytes, at most %zu)", len, size - 1);
    if (memchr(json_object_get_string(v), '\0', len))
        return fail(p, path, "string contains a NUL byte");
    memcpy(out, json_object_get_string(v), len + 1);
    return 0;
}

static int parse_iop(struct parse_ctx *p, const char *path, json_object *o, struct iop_config_iop *iop) {
    static const char *const keys[] = { "unit", "product_id", "answers", NULL };
    char sub[128];
    json_object *v;
    int r;

    if (!json_object_is_type(o, json_type_object))
        return fail(p, path, "expected an object, got %s", describe(o));
    if ((r = check_keys(p, path, o, keys)) < 0)
        return r;
    *iop = (struct iop_config_iop){ .answers = true };
    snprintf(iop->product_id, sizeof(iop->product_id), "iopd simulated IOP");
    if (!json_object_object_get_ex(o, "unit", &v))
        return fail(p, path, "missing key \"unit\"");
    snprintf(sub, sizeof(sub), "%s.unit", path);
    if ((r = get_uint(p, sub, v, MAX_I2O_CONTROLLERS - 1, &iop->unit)) < 0)
        return r;
    if (json_object_object_get_ex(o, "product_id", &v)) {
        snprintf(sub, sizeof(sub), "%s.product_id", path);
        if ((r = get_string(p, sub, v, iop->product_id, sizeof(iop->product_id))) < 0)
            return r;
    }
    if (json_object_object_get_ex(o, "answers", &v)) {
        snprintf(sub, sizeof(sub), "%s.answers", path);
        if ((r = get_bool(p, sub, v, &iop->answers)) < 0)
            return r;
    }
    return 0;
}

static int parse_root(struct parse_ctx *p, json_object *root, struct iop_config *cfg) {
    static const char *const keys[] = { "iops", NULL };
    json_object *iops;
    int r;

    if (!json_object_is_type(root, json_type_object))
        return fail(p, "$", "expected an object, got %s", describe(root));
    if ((r = check_keys(p, "$", root, keys)) < 0)
        return r;
    if (!json_object_object_get_ex(root, "iops", &iops))
        return fail(p, "$", "missing key \"iops\"");
    if (!json_object_is_type(iops, json_type_array))
        return fail(p, "$.iops", "expected an array, got %s", describe(iops));
    size_t n = json_object_array_length(iops);
    if (n > MAX_I2O_CONTROLLERS)
        return fail(p, "$.iops", "at most %d IOPs, got %zu", MAX_I2O_CONTROLLERS, n);
    for (size_t i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof(path), "$.iops[%zu]", i);
        if ((r = parse_iop(p, path, json_object_array_get_idx(iops, i), &cfg->iop[i])) < 0)
            return r;
        for (size_t j = 0; j < i; j++)
            if (cfg->iop[j].unit == cfg->iop[i].unit)
                return fail(p, path, "unit %u is already used by $.iops[%zu]", cfg->iop[i].unit, j);
        cfg->n_iops++;
    }
    return 0;
}

int iop_config_parse(const char *text, size_t len, const char *origin, struct iop_config **ret, char **err) {
    struct parse_ctx p = { .origin = origin ? origin : "<config>" };
    assert(text && ret);

    if (err)
        *err = NULL;
    if (len > IOP_CONFIG_MAX_BYTES || len > INT32_MAX) {
        fail(&p, "$", "file too large (%zu bytes, at most %u)", len, IOP_CONFIG_MAX_BYTES);
        goto out;
    }
    {
        json_tokener *tok = json_tokener_new();
        if (!tok)
            return -ENOMEM;
        _cleanup_(json_object_putp) json_object *root = json_tokener_parse_ex(tok, text, (int)len);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        size_t off = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (!root || jerr != json_tokener_success) {
            unsigned line = 1, col = 1;
            for (size_t i = 0; i < off && i < len; i++, col++)
                if (text[i] == '\n')
                    line++, col = 0;
            fail(&p, "$", "invalid JSON at line %u, column %u: %s", line, col,
                 jerr == json_tokener_continue ? "unexpected end of input"
                                               : json_tokener_error_desc(jerr));
            goto out;
        }
        for (size_t i = off; i < len; i++)
            if (text[i] != ' ' && text[i] != '\n' && text[i] != '\t' && text[i] != '\r') {
                fail(&p, "$", "unexpected data after the JSON value (offset %zu)", i);
                goto out;
            }
        _cleanup_(iop_config_freep) struct iop_config *cfg = calloc(1, sizeof(*cfg));
        if (!cfg)
            return -ENOMEM;
        if (parse_root(&p, root, cfg) == 0) {
            *ret = TAKE_PTR(cfg);
            return 0;
        }
    }
out:
    if (err)
        *err = p.err;
    else
        free(p.err);
    return -EINVAL;
}

int iop_config_load_file(const char *path, struct iop_config **ret, char **err) {
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (err)
        *err = NULL;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = -errno;
        if (err && asprintf(err, "%s: %s", path, strerror(-e)) < 0)
            *err = NULL;
        return e;
    }
    if (st.st_size > (off_t)IOP_CONFIG_MAX_BYTES) {
        if (err && asprintf(err, "%s: file too large (%lld bytes, at most %u)", path,
                            (long long)st.st_size, IOP_CONFIG_MAX_BYTES) < 0)
            *err = NULL;
        return -EFBIG;
    }
    _cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return -ENOMEM;
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = -errno;
            if (err && asprintf(err, "%s: %s", path, strerror(-e)) < 0)
                *err = NULL;
            return e;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got > (size_t)st.st_size) { /* grew while reading */
            if (err && asprintf(err, "%s: file changed while being read", path) < 0)
                *err = NULL;
            return -EAGAIN;
        }
    }
    return iop_config_parse(buf, got, path, ret, err);
}

struct iop_config *iop_config_free(struct iop_config *cfg) {
    free(cfg);
    return NULL;
}
