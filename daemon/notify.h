/* Service manager notification (sd_notify); a no-op without libsystemd or outside
 * a Type=notify unit. */
#pragma once

void iopd_notify(const char *state);
void iopd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
