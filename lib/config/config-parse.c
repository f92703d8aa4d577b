/* From a text or a file to a struct iop_config: the text parsed whole, or split into its
 * IOPs (parsed on several threads when the text is large). */
#include "lib/config/config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/config/config-internal.h"
#include "lib/config/json-get.h"
#include "lib/config/json-split.h"
#include "lib/util/cleanup.h"

IOP_DEFINE_CLEANUP(json_object, json_object_put)
IOP_DEFINE_CLEANUP(struct iop_config, iop_config_free)

/* json-c's nesting limit for the whole text (ours is 4 deep); an IOP parsed on its own
 * sits two levels higher (below the root object and the "iops" array), so it gets two
 * fewer: both ways refuse the same texts. */
#define CONFIG_JSON_DEPTH 64
#define CONFIG_IOP_JSON_DEPTH (CONFIG_JSON_DEPTH - 2)

/* The IOPs of a split text, parsed by one or more threads: each takes the next piece. */
struct split_job {
    const char *text;
    const struct iop_json_span *span;
    size_t n;
    const char *origin;
    struct iop_config *cfg;
    atomic_size_t next;
    atomic_int result; /* 0, 1 (refused: go the whole way) or -ENOMEM */
};

/* Piece i into cfg->iop[i]: 0, 1 or -ENOMEM. */
static int parse_piece(struct split_job *j, size_t i) {
    json_tokener *tok = json_tokener_new_ex(CONFIG_IOP_JSON_DEPTH);
    if (!tok)
        return -ENOMEM;
    size_t plen = j->span[i].end - j->span[i].start;
    json_object *obj = json_tokener_parse_ex(tok, j->text + j->span[i].start, (int)plen);
    int r = obj && json_tokener_get_error(tok) == json_tokener_success &&
            json_tokener_get_parse_end(tok) == plen ? 0 : 1;
    json_tokener_free(tok);
    if (r == 0) {
        struct cfg_ctx p = { .origin = j->origin };
        char path[64];
        cfg_path_index(path, sizeof(path), "$.iops", i);
        r = cfg_parse_iop(&p, path, obj, &j->cfg->iop[i]) < 0 ? 1 : 0;
        free(p.err);
    }
    json_object_put(obj);
    return r;
}

static void *split_worker(void *opaque) {
    struct split_job *j = opaque;
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n || atomic_load(&j->result) != 0)
            return NULL;
        int r = parse_piece(j, i);
        if (r != 0) {
            int zero = 0;
            atomic_compare_exchange_strong(&j->result, &zero, r);
        }
    }
}

/* Texts this large get more threads than one for their IOPs (json-c's trees are
 * independent): a 32 x 1000 configuration is 3.5 MB; the built-in one is 2 KiB. */
#define SPLIT_THREADS_MIN_BYTES (256u << 10)
#define SPLIT_THREADS_MAX 4

/* The text parsed in pieces: json-c builds the tree of everything but the IOPs' array
 * (checked in full: the array is there, empty), then of one IOP at a time, freed before
 * the next (json-split.h says why), on up to SPLIT_THREADS_MAX threads for a large text.
 * Returns 0 with *ret, -ENOMEM, or 1: not done this way -- the text is not split
 * (json-split.h), or anything at all was refused; the caller then parses the whole
 * text, which gives the same result or the same message as before this way existed
 * (json-c's error and our first complaint come in text order there). */
static int parse_split(const char *text, size_t len, const char *origin, struct iop_config **ret) {
    struct iop_json_span span[MAX_I2O_CONTROLLERS];
    size_t n = 0, open = 0, close = 0;
    if (iop_json_split_member_array(text, len, "iops", span, MAX_I2O_CONTROLLERS, &n, &open,
                                    &close) < 0)
        return 1;
    /* The text without the array's elements: "...[" then "]...". */
    size_t head = open + 1, tail = len - close;
    _cleanup_free_ char *skel = malloc(head + tail);
    if (!skel)
        return -ENOMEM;
    memcpy(skel, text, head);
    memcpy(skel + head, text + close, tail);
    struct cfg_ctx p = { .origin = origin };
    _cleanup_(iop_config_freep) struct iop_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return -ENOMEM;
    json_tokener *tok = json_tokener_new_ex(CONFIG_JSON_DEPTH);
    if (!tok)
        return -ENOMEM;
    json_object *root = json_tokener_parse_ex(tok, skel, (int)(head + tail));
    bool whole = root && json_tokener_get_error(tok) == json_tokener_success;
    for (size_t i = json_tokener_get_parse_end(tok); whole && i < head + tail; i++)
        whole = skel[i] == ' ' || skel[i] == '\n' || skel[i] == '\t' || skel[i] == '\r';
    json_tokener_free(tok);
    int r = whole && cfg_parse_root(&p, root, cfg) == 0 ? 0 : 1;
    json_object_put(root);
    free(p.err);
    if (r != 0)
        return r;

    /* Every entry counts from the start: unparsed ones are zero, partial ones freeable. */
    cfg->n_iops = (unsigned)n;
    struct split_job job = { .text = text, .span = span, .n = n, .origin = origin, .cfg = cfg };
    pthread_t th[SPLIT_THREADS_MAX - 1];
    unsigned n_th = 0;
    long cpus = len >= SPLIT_THREADS_MIN_BYTES ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
    while (n_th + 1 < (unsigned)IOP_MIN(cpus, SPLIT_THREADS_MAX) && n_th + 1 < n &&
           pthread_create(&th[n_th], NULL, split_worker, &job) == 0)
        n_th++;
    split_worker(&job);
    for (unsigned t = 0; t < n_th; t++)
        pthread_join(th[t], NULL);
    r = atomic_load(&job.result);
    for (size_t i = 1; i < n && r == 0; i++)
        for (size_t k = 0; k < i && r == 0; k++)
            if (cfg->iop[k].unit == cfg->iop[i].unit)
                r = 1;
    if (r == 0)
        *ret = TAKE_PTR(cfg);
    return r;
}

int iop_config_parse(const char *text, size_t len, const char *origin, struct iop_config **ret, char **err) {
    return iop_config_parse_ex(text, len, origin, 0, ret, err);
}

int iop_config_parse_ex(const char *text, size_t len, const char *origin, unsigned flags,
                        struct iop_config **ret, char **err) {
    struct cfg_ctx p = { .origin = origin ? origin : "<config>" };
    assert(text && ret);

    if (err)
        *err = NULL;
    if (len > IOP_CONFIG_MAX_BYTES || len > INT32_MAX) {
        cfg_fail(&p, "$", "file too large (%zu bytes, at most %u)", len, IOP_CONFIG_MAX_BYTES);
        goto out;
    }
    if (!(flags & IOP_CONFIG_PARSE_WHOLE)) {
        int r = parse_split(text, len, p.origin, ret);
        if (r <= 0)
            return r;
        if (flags & IOP_CONFIG_PARSE_SPLIT_ONLY)
            return -EAGAIN;
    }
    {
        json_tokener *tok = json_tokener_new_ex(CONFIG_JSON_DEPTH);
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
            cfg_fail(&p, "$", "invalid JSON at line %u, column %u: %s", line, col,
                     jerr == json_tokener_continue ? "unexpected end of input"
                                                   : json_tokener_error_desc(jerr));
            goto out;
        }
        for (size_t i = off; i < len; i++)
            if (text[i] != ' ' && text[i] != '\n' && text[i] != '\t' && text[i] != '\r') {
                cfg_fail(&p, "$", "unexpected data after the JSON value (offset %zu)", i);
                goto out;
            }
        _cleanup_(iop_config_freep) struct iop_config *cfg = calloc(1, sizeof(*cfg));
        if (!cfg)
            return -ENOMEM;
        if (cfg_parse_root(&p, root, cfg) == 0) {
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
    if (!S_ISREG(st.st_mode)) {
        if (err && asprintf(err, "%s: not a regular file", path) < 0)
            *err = NULL;
        return -EINVAL;
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
