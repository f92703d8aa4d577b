/* Private to lib/config: what config.c (the IOPs), config-root.c (the top-level object)
 * and config-parse.c (texts and files) share. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "lib/config/config.h"
#include "lib/config/json-get.h"

/* config.c */

/* Optional unsigned members described by a table (slot, field), stored into a struct. */
struct uint_member {
    uint8_t key;  /* slot */
    uint8_t size; /* 1, 2 or 4 bytes */
    size_t off;
    uint64_t max;
};

#define UM(type, key, field, max) { key, sizeof(((type *)0)->field), offsetof(type, field), max }

int cfg_get_uint_members(struct cfg_ctx *p, const char *path, const char *const *keys, const struct cfg_slot *val,
                         void *base, const struct uint_member *m, size_t n);

struct string_member {
    uint8_t key; /* slot */
    size_t off;
    size_t size;
};

#define SM(type, key, field) { key, offsetof(type, field), sizeof(((type *)0)->field) }

int cfg_get_string_members(struct cfg_ctx *p, const char *path, const char *const *keys,
                           const struct cfg_slot *val, void *base, const struct string_member *m, size_t n);

/* An optional boolean in slot k. */
int cfg_get_bool_member(struct cfg_ctx *p, const char *path, const char *const *keys, const struct cfg_slot *val,
                        unsigned k, bool *out);

/* One element of "iops", at path, into *iop. */
int cfg_parse_iop(struct cfg_ctx *p, const char *path, json_object *o, struct iop_config_iop *iop);

/* config-root.c */
/* The whole object: "nodes", "usb" and every IOP. */
int cfg_parse_root(struct cfg_ctx *p, json_object *root, struct iop_config *cfg);
