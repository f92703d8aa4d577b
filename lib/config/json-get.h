/* Typed, path-reporting accessors over json-c values, private to lib/config. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* A NULL context is allowed wherever one is taken: the call then only says whether
 * the value is good (-EINVAL without a message), which costs no path.  Hot loops
 * check that way first and build the member's path only to ask again for the
 * message (the answer does not change). */
struct cfg_ctx {
    const char *origin;
    char *err; /* first error, owned */
};

int cfg_fail(struct cfg_ctx *p, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *cfg_describe(json_object *v);
/* Every key of obj must be in allowed (NULL-terminated). */
int cfg_check_keys(struct cfg_ctx *p, const char *path, json_object *obj, const char *const *allowed);
/* The value of one allowed key: given (JSON null is a value, v NULL) or not. */
struct cfg_slot {
    json_object *v;
    bool given;
};
/* cfg_check_keys, and val[i] = allowed[i]'s value (val has a slot per allowed key):
 * one pass over the object instead of a lookup per key, for objects of many optional
 * keys (a device may give any of 25). */
int cfg_members(struct cfg_ctx *p, const char *path, json_object *obj, const char *const *allowed,
                struct cfg_slot *val);
/* Integer in [0, max]: a JSON integer or a string "0x..."/decimal. */
int cfg_get_uint(struct cfg_ctx *p, const char *path, json_object *v, uint64_t max, uint64_t *out);
int cfg_get_bool(struct cfg_ctx *p, const char *path, json_object *v, bool *out);
/* String of at most size-1 bytes without NULs. */
int cfg_get_string(struct cfg_ctx *p, const char *path, json_object *v, char *out, size_t size);
/* Paths for messages, "PATH.KEY" and "PATH[I]", cut to size like snprintf's (which
 * cost 22% of loading a 32 x 1000 configuration: one per member found). */
void cfg_path_key(char *out, size_t size, const char *path, const char *key);
void cfg_path_index(char *out, size_t size, const char *path, size_t i);
/* Optional member: 1 found (stored in *v, path set), 0 absent. */
int cfg_member(json_object *obj, const char *key, const char *path, char *subpath, size_t subsize,
               json_object **v);
