/* usbmon text readers: one per open() of a trace node, as the kernel's
 * struct mon_reader_text.
 *
 * A reader is a bounded FIFO of captured events plus the line being read.  Events go
 * in from the URB path (iop_mon_reader_push, never blocks, never allocates: the ring is
 * allocated with the reader); they are formatted only when read.
 *
 * Read semantics follow current kernels (mon_text_read_u/_t after the CVE-2019-9456
 * fix) with one deliberate difference.  As there, when nothing is pending the oldest
 * event is formatted into the pending text, a read returns min(n, pending) bytes, the
 * rest of a line cut by a short read comes first in the next read, and a read of 0
 * bytes still moves an event into the pending text and returns 0.  Unlike the kernel,
 * which returns at most one line per read, more queued events are appended as whole
 * lines while they fit in n (up to IOP_MON_BATCH_MAX bytes): every read of a CUSE node
 * is a round trip through the daemon, and one line per trip cannot keep up with URB
 * traffic that the kernel's reader follows (tests/usbmon/bench-trace.sh measured 0.63x
 * the kernel's lines with one line per read).  So a read either ends with a line's
 * "\n" or holds no "\n" at all (part of one long line), and a buffer of
 * IOP_MON_PRINTF_DFL bytes or more always gets whole lines, at least one.  Nothing
 * queued and nothing pending: -EAGAIN, which the caller turns into blocking or EAGAIN
 * for O_NONBLOCK.
 *
 * Overflow is a tail drop: with IOP_MON_EVENT_MAX events queued the new event is lost
 * and counted (iop_mon_reader_push returns -ENOBUFS; the bus adds it to its text_lost).
 * Nothing marks the gap in the stream, as in the kernel.
 *
 * Hangup (the bus went away): no more events arrive; what is queued can still be
 * read, after which every read returns 0 (end of file), so `cat` prints the whole
 * trace and exits with status 0.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/usbmon/reader-hooks.h"
#include "lib/usbmon/text.h"

struct iop_mon_event;
struct iop_mon_reader;

/* "This limit exists to prevent OOMs when the user process stops reading" (mon_text.c
 * EVENT_MAX = 4*PAGE_SIZE / sizeof(struct mon_event_text)).  With 4 KiB pages and the
 * kernel's 176-byte x86_64 event that is 93: the same depth here makes a slow reader
 * lose events where it would have lost them with the kernel. */
#define IOP_MON_EVENT_MAX 93u
/* Most text one read returns: a full queue of typical lines (about 100 bytes). */
#define IOP_MON_BATCH_MAX 16384u
/* Queue depth at which push notifies once more (besides the empty -> non-empty edge):
 * a waiter that holds its wakeup back to collect lines (mon-node.c) is woken then at
 * the latest, half a queue before events would be dropped. */
#define IOP_MON_WAKE_DEPTH (IOP_MON_EVENT_MAX / 2)

int iop_mon_reader_new(enum iop_mon_fmt fmt, struct iop_mon_reader **ret);
/* Detaches (reader-hooks.h), drops what is queued.  NULL is fine; returns NULL. */
struct iop_mon_reader *iop_mon_reader_free(struct iop_mon_reader *r);

/* The reader's hooks (reader-hooks.h): notify when an event arrives in an empty queue,
 * when the queue reaches IOP_MON_WAKE_DEPTH events, and when the reader hangs up;
 * detach when it is freed while attached (bus.c unlinks it). */
struct iop_mon_reader_hooks *iop_mon_reader_hooks(struct iop_mon_reader *r);

/* Queue a copy of ev.  0, or -ENOBUFS when the queue is full (the event is dropped and
 * counted in iop_mon_reader_lost), or -EPIPE after hangup (dropped, not counted). */
int iop_mon_reader_push(struct iop_mon_reader *r, const struct iop_mon_event *ev);

/* Reading in two steps, for callers that can fail to deliver (a FUSE reply to a
 * request that was interrupted meanwhile must not lose the bytes):
 * peek sets *data to the unread pending text, formatting the next event first when
 * nothing is pending and appending further events as whole lines while the text stays
 * within want bytes, and returns its length (> 0; it may exceed want when one line
 * does); 0 at end of file (hung up and drained); -EAGAIN when there is nothing yet.
 * consume marks n of those bytes read (n larger than what is pending is capped). */
int iop_mon_reader_peek(struct iop_mon_reader *r, size_t want, const char **data);
void iop_mon_reader_consume(struct iop_mon_reader *r, size_t n);
/* peek(n) + copy min(n, pending) bytes + consume: bytes read, 0 (end of file, or n == 0),
 * -EAGAIN when nothing is there yet, -EFAULT for a NULL buf with n > 0 (nothing taken). */
int iop_mon_reader_read(struct iop_mon_reader *r, char *buf, size_t n);

/* A read would not return -EAGAIN: a line is pending or an event queued (POLLIN). */
bool iop_mon_reader_readable(const struct iop_mon_reader *r);
/* The reader's bus is gone (POLLHUP); reads end with end of file once drained. */
bool iop_mon_reader_hung_up(const struct iop_mon_reader *r);
/* Detach, stop accepting events and notify.  Idempotent. */
void iop_mon_reader_hangup(struct iop_mon_reader *r);

enum iop_mon_fmt iop_mon_reader_fmt(const struct iop_mon_reader *r);
unsigned iop_mon_reader_queued(const struct iop_mon_reader *r);
/* Events this reader dropped because its queue was full (wraps like the kernel's u32). */
uint32_t iop_mon_reader_lost(const struct iop_mon_reader *r);
