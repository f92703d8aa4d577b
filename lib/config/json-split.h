/* Finding the elements of one array in a JSON text without building a tree, so that a
 * large configuration can be handed to json-c one IOP at a time.
 *
 * Why: json-c's tree of a 32 IOPs x 1000 devices configuration (3.5 MB) grows the heap
 * to ~50 MB, and the page faults of that growth are most of the parse (on the host
 * 0.16-0.23 s for the whole text, 0.03 s for the same IOPs parsed one by one, which
 * reuse the memory the previous one freed; under TCG page faults cost more still).
 *
 * The scanner is deliberately narrower than JSON: it follows only double-quoted strings
 * and brackets, and gives up (-EINVAL) on anything it does not fully understand --
 * json-c's extensions (comments, single quotes), escaped keys at the top level, a
 * repeated key, a byte outside its small alphabet.  Giving up is never an error for the
 * caller: it then parses the whole text the ordinary way.  It never decides what is
 * valid JSON either: every piece it returns still goes through json-c. */
#pragma once

#include <stddef.h>

struct iop_json_span {
    size_t start, end; /* [start, end) in the text */
};

/* text (len bytes) must be a top-level object that has the member key (plain ASCII,
 * no escapes) exactly once, whose value is an array.  Fills elems[0 .. *n - 1] with its
 * elements' spans (at most max: -E2BIG beyond) and *open / *close with the offsets of the
 * array's '[' and ']'.  -EINVAL when the text is not so (or not understood). */
int iop_json_split_member_array(const char *text, size_t len, const char *key,
                                struct iop_json_span *elems, size_t max, size_t *n,
                                size_t *open, size_t *close);
