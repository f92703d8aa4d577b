/* usbmon binary readers: one per open() of a binary node (/dev/usbmonN), as the
 * kernel's struct mon_reader_bin (drivers/usb/mon/mon_bin.c).
 *
 * A reader is a byte ring of ring_size bytes holding records (binary.h) one after the
 * other, each 64-byte aligned, laid out and accounted exactly as mon_bin.c does when
 * the ring is not mmapped (mon_buff_area_alloc: records may wrap around the end; a
 * header never does, since the ring is a multiple of 64).  So offsets (MON_IOCX_MFETCH),
 * what fits and what is dropped are the kernel's for the same events and ring size:
 *  - ring size: 300 KiB at open; MON_IOCT_RING_SIZE takes 8 KiB .. 64 MiB, rounded up
 *    to a 4 KiB page (CHUNK_SIZE), and empties the ring and the drop count.  (The
 *    maximum was 1200 KiB until the kernel's "Increase BUFF_MAX to 64 MiB", which
 *    Debian's 6.1 kernel has: the e2e test compares with it.  libpcap 1.10 still
 *    asks for 1200 KiB at most.);
 *  - a record's data is capped at ring_size / 5 (and, unlike the kernel, at what one
 *    CUSE ioctl can move: see IOP_MON_BIN_CAP_MAX);
 *  - an event that does not fit is dropped and counted (an 'E' is dropped uncounted:
 *    "Not incrementing cnt_lost. Just because."); the count is returned and reset by
 *    MON_IOCG_STATS (iop_mon_bin_reader_take_dropped).
 * Events go in from the URB path (iop_mon_bin_reader_push): no allocation, no waiting,
 * a bounded copy.
 *
 * Reading (mon_bin_read): the 48-byte header then the record's payload (ISO
 * descriptors and data), across as many read() calls as the caller likes; a read
 * never goes past the end of the current record, so a large buffer gets exactly one
 * event.  A 0-byte read returns 0 and leaves everything as it was.
 *
 * Hangup (the bus went away, iopd only; the kernel's binary readers simply stop
 * seeing events): what is queued can still be read; after that read() returns 0 (end
 * of file) and the waiting ioctls -ENODEV (bin-ioctl.h).  A hung-up reader gives its
 * memory budget back and refuses MON_IOCT_RING_SIZE with -ENODEV.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lib/usbmon/reader-hooks.h"

struct iop_mon_bin_event;
struct iop_mon_bin_hdr;
struct iop_mon_bin_reader;

#define IOP_MON_BIN_CHUNK 4096u                 /* CHUNK_SIZE: PAGE_SIZE on x86 */
#define IOP_MON_BIN_RING_DFL (300u * 1024u)     /* BUFF_DFL */
#define IOP_MON_BIN_RING_MIN (8u * 1024u)       /* BUFF_MIN */
#define IOP_MON_BIN_RING_MAX (64u * 1024u * 1024u) /* BUFF_MAX */
/* What one record carries past its header: one CUSE ioctl moves at most 32 pages out
 * (fuse_do_ioctl), and MON_IOCX_GETX must deliver the 64-byte header and the whole
 * payload in one, else a caller would see len_cap bytes it never got.  The kernel's
 * only cap is ring_size / 5: transfers above 128 KiB are captured shorter here when
 * the ring is above 640 KiB. */
#define IOP_MON_BIN_CAP_MAX (32u * 4096u - 64u)

/* Memory all binary readers of one daemon may hold in rings.  The kernel allocates a
 * ring per open without a limit but the process's file limit; a daemon shared by every
 * user of the node must not grow without bound: opens and ring growth beyond the
 * budget fail with -ENOMEM, as the kernel's do when it cannot allocate.  (Rings are
 * allocated untouched, so memory in use grows only as events fill them.) */
struct iop_mon_bin_budget {
    uint64_t used;
    uint64_t limit;
};
#define IOP_MON_BIN_BUDGET_DFL (128u * 1024u * 1024u)

/* A reader with the default ring, charged to budget (borrowed; it must outlive the
 * reader or the reader's hangup).  -ENOMEM. */
int iop_mon_bin_reader_new(struct iop_mon_bin_budget *budget, struct iop_mon_bin_reader **ret);
/* Detaches (reader-hooks.h), gives the ring back.  NULL is fine; returns NULL. */
struct iop_mon_bin_reader *iop_mon_bin_reader_free(struct iop_mon_bin_reader *r);
/* The reader's hooks (reader-hooks.h): notify when the ring becomes non-empty, when it
 * becomes half full, and when the reader hangs up; detach when it is freed while attached. */
struct iop_mon_reader_hooks *iop_mon_bin_reader_hooks(struct iop_mon_bin_reader *r);

/* Store one event.  0; -ENOBUFS when it does not fit (dropped; counted unless 'E');
 * -EPIPE after hangup. */
int iop_mon_bin_reader_push(struct iop_mon_bin_reader *r, const struct iop_mon_bin_event *ev);

uint32_t iop_mon_bin_reader_ring_size(const struct iop_mon_bin_reader *r);
/* MON_IOCT_RING_SIZE: -EINVAL outside [RING_MIN, RING_MAX]; -ENOMEM over the budget
 * (the old ring is kept then, as the kernel allocates the new one first); -ENODEV
 * after hangup.  Empties the ring and the drop count. */
int iop_mon_bin_reader_set_ring_size(struct iop_mon_bin_reader *r, uint64_t size);
/* Records queued (MON_IOCG_STATS "queued"). */
uint32_t iop_mon_bin_reader_queued(const struct iop_mon_bin_reader *r);
/* Events dropped since the last call, and reset (MON_IOCG_STATS "dropped"). */
uint32_t iop_mon_bin_reader_take_dropped(struct iop_mon_bin_reader *r);
/* All drops since open (never reset; for iopd's own statistics). */
uint64_t iop_mon_bin_reader_dropped_total(const struct iop_mon_bin_reader *r);
/* len_cap of the oldest record, 0 when empty (MON_IOCQ_URB_LEN). */
uint32_t iop_mon_bin_reader_urb_len(const struct iop_mon_bin_reader *r);
/* Remove up to n records, oldest first (MON_IOCH_MFLUSH); returns how many.  Also
 * forgets a partly read record's position, as the kernel's flush resets b_read. */
uint32_t iop_mon_bin_reader_flush(struct iop_mon_bin_reader *r, uint32_t n);
/* Ring offsets of up to max records from the oldest on (MON_IOCX_MFETCH without the
 * wait); nothing is removed.  Returns how many were written to vec. */
uint32_t iop_mon_bin_reader_fetch(const struct iop_mon_bin_reader *r, uint32_t *vec, uint32_t max);

/* The oldest record: its header, or NULL when the ring is empty. */
const struct iop_mon_bin_hdr *iop_mon_bin_reader_head(const struct iop_mon_bin_reader *r);
/* Copy n bytes of the oldest record's payload from offset from into dst; the caller
 * keeps from + n <= len_cap. */
void iop_mon_bin_reader_copy(const struct iop_mon_bin_reader *r, uint32_t from, void *dst, size_t n);
/* Remove the oldest record (after MON_IOCX_GET delivered it). */
void iop_mon_bin_reader_consume(struct iop_mon_bin_reader *r);

/* read(2) in two steps, so that a reply that cannot be delivered loses nothing:
 * peek fills iov (at most IOP_MON_BIN_READ_IOV entries, pointing into the ring) with
 * the next min(n, rest of the record) bytes and returns their count (0 for n == 0),
 * or 0 at end of file (hung up and empty) with *niov = 0, or -EAGAIN when the ring is
 * empty; read_done moves on by the count peek returned. */
#define IOP_MON_BIN_READ_IOV 3
int iop_mon_bin_reader_read_peek(const struct iop_mon_bin_reader *r, size_t n, struct iovec *iov, int *niov);
void iop_mon_bin_reader_read_done(struct iop_mon_bin_reader *r, size_t n);
/* Bytes of the oldest record read() has returned so far (for tests). */
uint32_t iop_mon_bin_reader_read_pos(const struct iop_mon_bin_reader *r);
/* Both in one, into buf: bytes read, 0, -EAGAIN; -EFAULT for NULL buf with n > 0. */
long iop_mon_bin_reader_read(struct iop_mon_bin_reader *r, void *buf, size_t n);

/* A record is queued (POLLIN; a read, GET or MFETCH would not wait). */
bool iop_mon_bin_reader_readable(const struct iop_mon_bin_reader *r);
bool iop_mon_bin_reader_hung_up(const struct iop_mon_bin_reader *r);
/* Half the ring's bytes or more in use. */
bool iop_mon_bin_reader_half_full(const struct iop_mon_bin_reader *r);
/* The bus is gone: detach, stop taking events, give the budget back, notify.
 * Idempotent. */
void iop_mon_bin_reader_hangup(struct iop_mon_bin_reader *r);

/* Consistency of the ring's bookkeeping (records walk from the oldest to exactly the
 * bytes in use, each header sane): 0 or -EIO.  For tests and the fuzz target. */
int iop_mon_bin_reader_check(const struct iop_mon_bin_reader *r);
