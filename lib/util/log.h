/* Logging for lib/: one sink pointer, set by whoever owns the process (the daemon
 * writes to stderr with syslog "<N>" prefixes that journald understands; tests
 * capture or silence it).  Levels are syslog's. */
#pragma once

#include <stdarg.h>
#include <syslog.h>

typedef void (*iop_log_sink_fn)(void *ctx, int level, const char *msg);

/* Install a sink (NULL restores the default: stderr).  max_level filters: messages with
 * level > max_level are dropped before formatting. */
void iop_log_set_sink(iop_log_sink_fn fn, void *ctx);
void iop_log_set_max_level(int max_level);
int iop_log_get_max_level(void);

/* Rate limit: much of what iopd logs is caused by clients (a refused fragment, a
 * failed transfer), so a busy or hostile client must not flood the journal.  At most
 * burst messages (debug messages aside: they are asked for with -vv) pass per
 * interval; the rest are counted, and the first message of the next interval is
 * preceded by a warning that says how many were suppressed.  burst 0 (the default)
 * turns the limit off; the daemon sets IOP_LOG_RATELIMIT_*. */
#define IOP_LOG_RATELIMIT_BURST 200u
#define IOP_LOG_RATELIMIT_INTERVAL_USEC 10000000ull
void iop_log_set_ratelimit(unsigned burst, unsigned long long interval_usec);

/* Formats must be literals (-Wformat=2 makes any other an error); what comes from
 * outside goes in as an argument ("%s").  A message is always one line: control
 * characters in it are replaced by '?'. */
void iop_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void iop_logv(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Log and return r (a negative errno), for "return iop_log_errno(r, ...)". */
int iop_log_errno(int level, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define iop_debug(...) iop_log(LOG_DEBUG, __VA_ARGS__)
#define iop_info(...) iop_log(LOG_INFO, __VA_ARGS__)
#define iop_notice(...) iop_log(LOG_NOTICE, __VA_ARGS__)
#define iop_warn(...) iop_log(LOG_WARNING, __VA_ARGS__)
#define iop_err(...) iop_log(LOG_ERR, __VA_ARGS__)
