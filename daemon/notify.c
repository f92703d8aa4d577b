#include "daemon/notify.h"

#include <stdarg.h>
#include <stdio.h>

#include "iopd-config.h"
#if HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

void iopd_notify(const char *state) {
#if HAVE_LIBSYSTEMD
    (void)sd_notify(0, state);
#else
    (void)state;
#endif
}

void iopd_notifyf(const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    iopd_notify(buf);
}
