/* Scope-bound cleanup helpers, after systemd's alloc-util.h/macro.h.
 *
 *   _cleanup_free_ char *s = strdup(x);      freed when s goes out of scope
 *   _cleanup_close_ int fd = open(...);       closed likewise
 *   return TAKE_PTR(s);                       hand ownership out, s becomes NULL
 */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Read a pointer and reset the variable to NULL (ownership moves to the caller). */
#define TAKE_PTR(p) ({ __typeof__(p) _take_tmp = (p); (p) = NULL; _take_tmp; })
/* The same for file descriptors. */
#define TAKE_FD(fd) ({ int _take_fd = (fd); (fd) = -1; _take_fd; })

/* Define NAMEp(type **) calling func(*p) when non-NULL; func's return value is ignored
 * (json_object_put() returns int, most of ours return void). */
#define IOP_DEFINE_CLEANUP(type, func)                        \
    static inline void func##p(type **p) { if (*p) (void)func(*p); }

#define IOP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Evaluate expr (an int: 0 or more, or a negative errno) and return it if negative. */
#define IOP_TRY(expr)                                                                      \
    do {                                                                                   \
        int _iop_try_r = (expr);                                                           \
        if (_iop_try_r < 0)                                                                \
            return _iop_try_r;                                                             \
    } while (0)
#define IOP_MIN(a, b) ((a) < (b) ? (a) : (b))
#define IOP_MAX(a, b) ((a) > (b) ? (a) : (b))
