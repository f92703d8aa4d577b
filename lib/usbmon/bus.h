/* usbmon fan-out: the per-bus monitors and bus 0, "all buses" (mon_main.c).
 *
 * struct iop_mon is what the URB engine calls (iop_mon_urb_monitor()): the one capture
 * point of both the text and the binary nodes.  For each URB event it finds the URB's
 * bus by urb->busnum and, only if that bus or bus 0 has a reader open (the kernel's
 * "monitored"), takes the event once for each kind of reader present -- a text
 * snapshot (capture.h) stamped with CLOCK_MONOTONIC, a binary record (binary.h)
 * stamped with CLOCK_REALTIME, as the kernel's two readers stamp theirs -- and queues
 * it to that bus's readers, then to bus 0's.  Text is formatted later, by each reader
 * that reads it; binary records are copied into each binary reader's ring at once (the
 * data would be gone later).  Events that happen while nobody reads are not captured
 * and cannot be read later: a reader sees only what happens after its open().
 *
 * Buses are added and removed by the daemon as it sees USB buses come and go.  When a
 * bus is removed its readers hang up (reader.h: the queued lines can still be read,
 * then end of file); bus 0 readers stay.  Per bus the kernel's stats are kept:
 * readers, events seen while monitored, and text_lost (events dropped by a full reader
 * queue on that bus), printed by iop_mon_stats_text() as the Ns file does.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/usbmon/text.h"

struct iop_mon;
struct iop_mon_bin_reader;
struct iop_mon_reader;
struct iop_urb;
struct iop_urb_monitor;

/* Bus numbers come from libusb_get_bus_number(), a uint8_t; 0 is "all buses". */
#define IOP_MON_BUS_MAX 255u
/* The Ns file's buffer (mon_stat.c STAT_BUF_SIZE): enough for three 32-bit numbers. */
#define IOP_MON_STAT_BUF 80

/* Where timestamps come from: clock_gettime(clock) unless a test installs its own.
 * clock is CLOCK_MONOTONIC (text) or CLOCK_REALTIME (binary). */
typedef void (*iop_mon_clock_fn)(void *ctx, clockid_t clock, struct timespec *ts);

int iop_mon_new(struct iop_mon **ret);
/* Hangs up every reader still open (they stay valid until freed), then frees the rest.
 * NULL is fine; returns NULL. */
struct iop_mon *iop_mon_free(struct iop_mon *m);
void iop_mon_set_clock(struct iop_mon *m, iop_mon_clock_fn fn, void *ctx);

/* The hooks for the URB engine (urb.h); valid as long as m. */
const struct iop_urb_monitor *iop_mon_urb_monitor(struct iop_mon *m);
/* What those hooks call: usbcore's usbmon_urb_submit / _submit_error / _complete.
 * Never block, never allocate; read the URB only. */
void iop_mon_submit(struct iop_mon *m, const struct iop_urb *urb);
void iop_mon_submit_error(struct iop_mon *m, const struct iop_urb *urb, int error);
void iop_mon_complete(struct iop_mon *m, const struct iop_urb *urb, int status);

/* Bus busnum (1..IOP_MON_BUS_MAX) appears: 0, -EEXIST, -EINVAL, -ENOMEM. */
int iop_mon_add_bus(struct iop_mon *m, unsigned busnum);
/* Bus busnum is gone: its readers hang up and are woken.  0 or -ENOENT. */
int iop_mon_remove_bus(struct iop_mon *m, unsigned busnum);
bool iop_mon_has_bus(const struct iop_mon *m, unsigned busnum);

/* A new reader on bus busnum (0: all buses), owned by the caller and freed with
 * iop_mon_reader_free().  -ENODEV: no such bus; -EINVAL: a bad format, or 't' on bus 0
 * (the kernel has no 0t: the 't' line carries no bus number). */
int iop_mon_open(struct iop_mon *m, unsigned busnum, enum iop_mon_fmt fmt, struct iop_mon_reader **ret);
/* A new binary reader on bus busnum (0: all buses), owned by the caller and freed with
 * iop_mon_bin_reader_free().  -ENODEV: no such bus; -ENOMEM: no memory, or the rings
 * of all binary readers would pass the budget (iop_mon_set_bin_budget). */
int iop_mon_open_bin(struct iop_mon *m, unsigned busnum, struct iop_mon_bin_reader **ret);
/* Bytes all binary rings together may take (default IOP_MON_BIN_BUDGET_DFL). */
void iop_mon_set_bin_budget(struct iop_mon *m, uint64_t bytes);

struct iop_mon_stats {
    int nreaders;       /* text and binary, as the kernel counts them */
    uint32_t events;    /* events on this bus while it was monitored (bus 0: all) */
    uint32_t text_lost; /* events dropped by this bus's readers */
};
int iop_mon_stats(const struct iop_mon *m, unsigned busnum, struct iop_mon_stats *st);
/* "nreaders %d events %u text_lost %u\n": the length, -ENODEV, or -ENOSPC. */
int iop_mon_stats_text(const struct iop_mon *m, unsigned busnum, char *buf, size_t len);
