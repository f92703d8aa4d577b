/* A bounds-checked parser for the HTTP query strings of the I2O configuration dialog
 * (I2OHTML's qbuf): application/x-www-form-urlencoded, "name=value&name=value", with
 * %XX escapes and '+' for space.  Pure, no allocation: the caller gives the storage. */
#pragma once

#include <stddef.h>

#define IOP_QUERY_MAX_PAIRS 64u    /* a form page has at most a few dozen fields */
#define IOP_QUERY_MAX_TEXT 4096u   /* decoded bytes of all names and values */

struct iop_query_pair {
    const char *name;  /* NUL-terminated, in the query's text buffer */
    const char *value;
};

struct iop_query {
    struct iop_query_pair pair[IOP_QUERY_MAX_PAIRS];
    unsigned n;
    char text[IOP_QUERY_MAX_TEXT];
};

/* Parse len bytes of s (need not be NUL-terminated; a NUL ends it early).  0, or
 * -EINVAL (a bad %XX escape, an empty name, a NUL inside a decoded name or value),
 * -E2BIG (more pairs or text than the limits). */
int iop_query_parse(struct iop_query *q, const char *s, size_t len);
/* The value of name, or NULL. */
const char *iop_query_get(const struct iop_query *q, const char *name);
