/* Service manager notification (the sd_notify protocol, spoken directly); a no-op
 * outside a Type=notify unit or when built with -Dsystemd=disabled. */
#pragma once

void iopd_notify(const char *state);
void iopd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
