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


/* Give d its groups (d->params exists, empty, from iop_controller_add_device).  cd may
 * be NULL (the executive, devices added at run time).  -EEXIST if already built. */
int iop_device_build_params(struct iop_device *d, const struct iop_config_device *cd);
/* Bring mirrored groups up to date (before a read, a page, a save). */
void iop_device_refresh(struct iop_device *d);

/* UtilParamsGet/Set on d (lib/params/params-exec.h) as its IOP runs it: mirrored
 * groups refreshed first; every change raises FIELD_MODIFIED on the device (event
 * data: u16 group, u16 field index or 0xFFFF, u16 change kind) and the new values are
 * saved.  Returns what iop_params_exec returns. */
int iop_device_params_exec(struct iop_device *d, bool set, const void *ops, size_t oplen, void *result,
                           size_t cap);

/* Persistence: "params-TTT.state" in the controller's state directory.  load applies a
 * saved blob (missing file: nothing to do); save writes the current values. */
int iop_device_params_load(struct iop_device *d);
int iop_device_params_save(struct iop_device *d);
