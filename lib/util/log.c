#include "lib/util/log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The sink is process-wide by nature (like syslog's openlog).  Only the daemon's top
 * level and test mains set it; lib/ code only reads it. */
static iop_log_sink_fn log_sink;
static void *log_sink_ctx;
static int log_max_level = LOG_INFO;
static struct {
    unsigned burst;
    unsigned long long interval_usec;
    unsigned long long window_start; /* usec, CLOCK_MONOTONIC */
    unsigned passed, suppressed;
} log_limit = { 0, 0, 0, 0, 0 }; /* off until the owner of the process sets it */

void iop_log_set_ratelimit(unsigned burst, unsigned long long interval_usec) {
    log_limit.burst = burst;
    log_limit.interval_usec = interval_usec;
    log_limit.window_start = 0;
    log_limit.passed = log_limit.suppressed = 0;
}

static void emit(int level, const char *msg) {
    if (log_sink)
        log_sink(log_sink_ctx, level, msg);
    else
        fprintf(stderr, "<%d>%s\n", level, msg);
}

/* True when this message may pass; reports what the last window suppressed. */
static bool ratelimit_pass(void) {
    if (log_limit.burst == 0)
        return true;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long long now = (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000;
    if (log_limit.window_start == 0 || now - log_limit.window_start >= log_limit.interval_usec) {
        if (log_limit.suppressed) {
            char msg[96];
            snprintf(msg, sizeof(msg), "%u log messages suppressed (more than %u in %g s)", log_limit.suppressed,
                     log_limit.burst, (double)log_limit.interval_usec / 1e6);
            emit(LOG_WARNING, msg);
        }
        log_limit.window_start = now;
        log_limit.passed = log_limit.suppressed = 0;
    }
    if (log_limit.passed < log_limit.burst) {
        log_limit.passed++;
        return true;
    }
    log_limit.suppressed++;
    return false;
}

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
    if (level < LOG_DEBUG && !ratelimit_pass())
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* One message, one line: journald and syslog split at newlines and read a "<N>" at
     * the start of each, so a value with "\n<0>..." in it would forge an entry of
     * another priority.  Control characters from values become '?'. */
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    emit(level, msg);
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
