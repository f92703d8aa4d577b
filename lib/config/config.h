/* iopd's configuration: JSON (json-c) parsed into plain C structs; no json-c type
 * escapes this module.  Every error names the file, the JSON path and what was
 * expected ("iopd.json: $.iops[1].unit: expected an integer 0..31, got \"x\"");
 * unknown keys are errors too, so a typo never silently falls back to a default. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <linux/i2o-dev.h>

#define IOP_CONFIG_MAX_BYTES (4u << 20) /* refuse absurd files before parsing */

struct iop_config_iop {
    unsigned unit;
    char product_id[25];
    bool answers;
};

struct iop_config {
    struct iop_config_iop iop[MAX_I2O_CONTROLLERS];
    unsigned n_iops;
};

/* The configuration iopd uses when no file is given: one simulated IOP. */
extern const char iop_config_default_json[];

/* Parse text (len bytes, need not be NUL-terminated).  origin names the source in
 * messages (a file name, or "<built-in>").  On failure returns -EINVAL and, if err is
 * not NULL, a malloc'ed message. */
int iop_config_parse(const char *text, size_t len, const char *origin, struct iop_config **ret,
                     char **err);
/* Read and parse a file; -errno from open/read, -EFBIG over IOP_CONFIG_MAX_BYTES. */
int iop_config_load_file(const char *path, struct iop_config **ret, char **err);
struct iop_config *iop_config_free(struct iop_config *cfg);
