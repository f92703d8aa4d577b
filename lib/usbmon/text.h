/* usbmon text formats: one captured event (capture.h) -> one line, byte-identical to
 * what the kernel's debugfs files print (drivers/usb/mon/mon_text.c, read side):
 *
 *   'u' (Nu, also 0u):  d5ea89a0 3575914555 S Ci:1:001:0 s a3 00 0000 0003 0004 4 <
 *   't' (Nt, N >= 1):   d5ea89a0 3575914555 S Ci:001:00 s a3 00 0000 0003 0004 4 <
 *
 * The kernel builds a line with scnprintf() calls into a PRINTF_DFL (250) byte buffer,
 * so a line is at most 249 bytes and anything beyond, the final "\n" included, is cut
 * off silently.  Only ISO events with large numbers in all five descriptors and a data
 * dump come near that; the same cap is applied here so such lines match too.
 *
 * Pure: no allocation, no state.  See /work/shared/spec/usbmon-format.md section 2.
 */
#pragma once

#include <stddef.h>

struct iop_mon_event;

/* The kernel's per-reader line buffer ("with 5 ISOs segs"); a buffer this size always
 * holds a formatted line and its terminating NUL. */
#define IOP_MON_PRINTF_DFL 250
/* Longest line: scnprintf() keeps the last byte for the NUL. */
#define IOP_MON_LINE_MAX (IOP_MON_PRINTF_DFL - 1)

enum iop_mon_fmt {
    IOP_MON_FMT_U = 'u', /* bus number and ISO/interrupt details */
    IOP_MON_FMT_T = 't', /* the old format: no bus number, status only (no 0t exists) */
};

/* Format ev into buf (NUL-terminated).  Returns the line's length in bytes, "\n"
 * included (at most IOP_MON_LINE_MAX; a cut line has no "\n"), -ENOSPC when buf cannot
 * hold it and the NUL (nothing useful is written then), -EINVAL for a NULL event or
 * an unknown format. */
int iop_mon_format_u(const struct iop_mon_event *ev, char *buf, size_t len);
int iop_mon_format_t(const struct iop_mon_event *ev, char *buf, size_t len);
int iop_mon_format(enum iop_mon_fmt fmt, const struct iop_mon_event *ev, char *buf, size_t len);
