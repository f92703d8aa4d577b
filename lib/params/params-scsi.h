/* The SCSI parameter groups of I2O 1.5 (bus adapter port and SCSI peripheral classes)
 * and DPT's vendor groups, as dpt_i2o and the DPT management engine read them.
 * Layouts from raidutils' raideng/i2oadptr.h, i2obscsi.h and i2odpt.h (Adaptec's I2O
 * headers); dpt_i2o (linux drivers/scsi/dpt_i2o.c) queries 0x8000 on every block
 * storage and SCSI peripheral TID (bus in bits 16-31 of word 0, target in word 1, the
 * LUN as a SCSI LUN from byte 8), 0x0200 on every bus adapter port (word 1: the
 * initiator id) and 0x8000 on the executive (its firmware debug buffer). */
#pragma once

#include <stdint.h>

struct iop_params;

/* Bus adapter port (class 0x080). */
#define IOP_PARAMS_GROUP_HBA_CONTROLLER 0x0000u /* BusType, BusState, BusName */
#define IOP_PARAMS_GROUP_HBA_SCSI_CONTROLLER 0x0200u
#define IOP_PARAMS_GROUP_HBA_SCSI_PORT 0x0201u
/* SCSI peripheral (class 0x051). */
#define IOP_PARAMS_GROUP_SCSI_DEVICE 0x0000u
/* DPT (organisation 0x001B). */
#define IOP_PARAMS_GROUP_DPT_DEVICE 0x8000u   /* on storage TIDs */
#define IOP_PARAMS_GROUP_DPT_EXEC_BUFS 0x8000u /* on the executive */

/* A SCSI bus port: bus number (its channel), the initiator id. */
int iop_params_add_scsi_port_groups(struct iop_params *p, unsigned bus, unsigned initiator_id);
/* A storage TID's SCSI address (DPT 0x8000); with scsi_peripheral also 0x0000. */
int iop_params_add_scsi_device_groups(struct iop_params *p, unsigned bus, unsigned target, unsigned lun,
                                      int scsi_peripheral);
/* The executive's DPT 0x8000: no firmware debug buffer (all zero). */
int iop_params_add_dpt_exec_group(struct iop_params *p);
