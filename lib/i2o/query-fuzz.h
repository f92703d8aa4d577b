/* A fuzz entry point for the configuration dialog: the query parser (query.c) and the
 * pages (html.c) with a query applied.
 *
 * iop_query_fuzz_one(): data[0] picks the device (of the fuzz model below), data[1] the
 * page (device, form, one of its groups, a missing one), the rest is the query.
 * Checks, returning -EIO when one fails:
 *  - iop_query_parse: 0, -EINVAL or -E2BIG; on success at most IOP_QUERY_MAX_PAIRS
 *    pairs, each name non-empty, name and value NUL-terminated inside q->text, and
 *    iop_query_get() finds every name;
 *  - the page: its length within the buffer, NUL-terminated, and well-formed as far as
 *    injection goes: every '<' opens one of the tags html.c writes, every '&' starts
 *    one of its entities, no control bytes but '\n'.  The model has a device whose
 *    field and group names are hostile markup and format strings ('<', '"', "%n%s"), so
 *    anything emitted without escaping breaks this.
 * The model: the built-in configuration plus that device, built from JSON each call. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int iop_query_fuzz_one(const uint8_t *data, size_t len);
