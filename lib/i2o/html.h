/* The I2O configuration dialog (UtilConfigDialog, I2OHTML): every device serves HTML
 * pages built from its parameter groups, and a form whose query string changes them.
 *
 * Pages of a device (the ioctl's "page" number):
 *   0               the device: identity, links to its groups and to every device of
 *                   the IOP; a bus adapter with a DMA channel shows the channel too
 *   1               the form: every writable field of its scalar groups; a query
 *                   ("F102.DeviceName=disk0&F102.InstanceNumber=3", form-urlencoded)
 *                   sets them through UtilParamsSet, and the page says what happened
 *   0x10000 + g     group g: its fields, or its rows for a table group
 * Any other page answers with a short "no such page" page.  Links inside pages are
 * written "?tid=0x00a&amp;page=1" (relative URLs a host-side proxy can map). */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct iop_device;

#define IOP_HTML_PAGE_DEVICE 0u
#define IOP_HTML_PAGE_FORM 1u
#define IOP_HTML_PAGE_GROUP 0x10000u
/* The kernel's reply buffer for UtilConfigDialog. */
#define IOP_HTML_MAX 65536u

/* Render page of d into out (at most cap bytes, NUL-terminated when there is room);
 * query (qlen bytes, may be NULL/0) is applied first on the form page.  Returns the
 * page length (pages longer than cap are cut), or -EINVAL for a malformed query. */
int iop_html_page(struct iop_device *d, uint32_t page, const char *query, size_t qlen, char *out, size_t cap);
