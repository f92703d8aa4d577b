#include "lib/util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The sink is process-wide by nature (like syslog's openlog).  Only the daemon's top
 * level and test mains set it; lib/ code only reads it. */
static iop_log_sink_fn log_sink;
static void *log_sink_ctx;
static int log_max_level = LOG_INFO;

void iop_log_set_sink(iop_log_sink_fn fn, void *ctx) {
    log_sink = fn;
    log_sink_ctx = ctx;
}

void iop_log_set_max_level(int max_level) { log_max_level = max_level; }
int iop_log_get_max_level(void) { return log_max_level; }

void iop_logv(int level, const char *fmt, va_list ap) {
    char msg[512];

    if (level > log_max_level)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (log_sink)
        log_sink(log_sink_ctx, level, msg);
    else
        fprintf(stderr, "<%d>%s\n", level, msg);
}

void iop_log(int level, const char *fmt, ...) {
    va_list ap;

    va_start(ap, fmt);
    iop_logv(level, fmt, ap);
    va_end(ap);
}

int iop_log_errno(int level, int r, const char *fmt, ...) {
    va_list ap;
    int saved = errno;

    va_start(ap, fmt);
    iop_logv(level, fmt, ap);
    va_end(ap);
    errno = saved;
    return r;
}
