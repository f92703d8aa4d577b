/* A reference for the usbmon text formats: mon_text.c's read side transcribed as
 * literally as possible (its struct field types, its format strings, scnprintf into a
 * PRINTF_DFL buffer), so lib/usbmon/text.c can be checked against it on any event. */
#pragma once

#include <stddef.h>

struct iop_mon_event;

/* Format ev as the kernel would ('u' or 't') into buf with len as the kernel's
 * printf_size: pass PRINTF_DFL (250) for the kernel's output, more for the uncut line.
 * Returns the length, as ptr.cnt in mon_text_read_u/_t. */
int mon_ref_format(char fmt, const struct iop_mon_event *ev, char *buf, size_t len);
