/* The parameter groups of an IOP's devices (lib/params): built for every TID from the
 * configuration, kept current where they mirror live state, and persisted per TID in
 * the IOP's state directory.
 *
 * Groups per device class:
 *  - every TID: the utility groups 0xF000-0xF103 (identity from the configuration);
 *  - the executive (TID 0): the Executive groups 0x0000-0x0007; 0x0004/0x0005 (Driver
 *    Store) mirror the software store;
 *  - a bus adapter driving an ISA adapter with a DMA channel: 0x8000 "ISA DMA Channel",
 *    the 8237 channel's live registers and totals (iopd's own, class-specific range);
 *  - block storage: 0x0000 "Device Information" and 0x0004 "Media Information" with the
 *    configured geometry (the BSA class groups as far as iopd models them).
 *
 * Mirrored groups are refreshed before every read (iop_device_refresh). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iop_controller;
struct iop_device;
struct iop_config_device;
struct iop_params;
struct iop_system;


/* Give d its groups now.  cd may be NULL (devices added at run time).  -EEXIST if
 * already built, -EINVAL for a configured value that does not fit (logged). */
int iop_device_build_params(struct iop_device *d, const struct iop_config_device *cd);

/* Groups on demand.  A device's groups cost kilobytes (field descriptors, rows, the
 * 0xF000 descriptor table) and most devices of a big configuration are never asked
 * for them, so a configured device that needs only the groups derived from its LCT
 * entry, its class and the configuration's identity strings keeps just those strings
 * and builds its groups on first use (applying saved values then).  A device whose
 * configuration declares groups or sets values is built at once: errors in those
 * must stop a configuration from loading.  Built lazy groups that hold nothing
 * unsaved are dropped again, least recently used first, past IOP_PARAMS_CACHED per
 * system, and all of them when the daemon is idle: every change is saved when it is
 * made, so rebuilding gives the same values.  Lazy groups with changes that could not
 * be saved (no state directory, an I/O error) stay. */
#define IOP_PARAMS_CACHED 32u
int iop_device_params_defer(struct iop_device *d, const struct iop_config_device *cd);
/* d's groups, built if they were deferred; NULL when building fails (memory). */
struct iop_params *iop_device_params(struct iop_device *d);
/* A string field of d's Device Identity group (0xF100: VendorInfo, ProductInfo,
 * Description, ProductRevLevel, and SerialNumber without its length byte), cut to
 * cap - 1 bytes and NUL-terminated in buf ("" for other fields), without building
 * deferred groups: a page that lists a thousand devices, or the SCSI identity of a
 * thousand disks, must not build a thousand sets of groups. */
void iop_device_identity(const struct iop_device *d, const char *field, char *buf, size_t cap);
/* Drop clean lazily built groups until at most keep remain. */
void iop_system_params_trim(struct iop_system *sys, unsigned keep);
/* Save every device with unsaved changes (the save hook's timer, stop, reload, and
 * the daemon's retries): the number of devices whose save failed (their changes stay
 * in memory, dirty, for the next flush). */
unsigned iop_system_params_flush(struct iop_system *sys);
/* A configuration reload builds a new system and loads the saved values into it:
 * changes that could not be saved would be lost.  Carry them from the dirty devices
 * of `from` to the same (unit, TID) in `to`, dirty there.  The count carried. */
unsigned iop_system_params_carry(const struct iop_system *from, struct iop_system *to);
/* Take d out of its system's list (before d is freed). */
void iop_device_params_forget(struct iop_device *d);
/* Bring mirrored groups up to date (before a read, a page, a save); nothing for groups
 * not built yet. */
void iop_device_refresh(struct iop_device *d);

/* UtilParamsGet/Set on d (lib/params/params-exec.h) as its IOP runs it: mirrored
 * groups refreshed first; every change raises FIELD_MODIFIED on the device (event
 * data: u16 group, u16 field index or 0xFFFF, u16 change kind) and the new values are
 * saved: at once, or, when the system has a save hook, by the next
 * iop_system_params_flush() (a burst of changes costs one atomic write per device,
 * and none of them waits for the disk).  Returns what iop_params_exec returns. */
int iop_device_params_exec(struct iop_device *d, bool set, const void *ops, size_t oplen, void *result,
                           size_t cap);

/* Persistence: "params-TTT.state" in the controller's state directory.  load applies a
 * saved blob (missing file: nothing to do); save writes the current values.  A save
 * that fails (ENOSPC, EROFS, EIO...) is logged once (d->params_save_failed) and leaves
 * the file with the last saved values; the next successful save says so. */
int iop_device_params_load(struct iop_device *d);
int iop_device_params_save(struct iop_device *d);
