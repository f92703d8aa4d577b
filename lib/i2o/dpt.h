/* The simulated IOP as a DPT (Adaptec SmartRAID) SCSI RAID controller: every device
 * with blocks (block storage, SCSI peripheral) is a SCSI target (lib/scsi) on its
 * medium -- the same file BsaBlockRead/Write use, data through the IOP's ISA DMA
 * channel -- and the executive is the controller itself (a processor device: INQUIRY
 * with the Interpret flag, as dpt_i2o's adpt_inquiry() asks it).  DPT private
 * messages (dpt-msg.h) reach them.
 *
 * A SCSI_EXEC for a TID that is not in the LCT, or that has no SCSI target behind it,
 * is a selection timeout (HBA status 0Ah), which dpt_i2o's adpt_i2o_to_scsi() reports
 * as DID_TIME_OUT (it gives DID_NO_CONNECT itself, without sending, for addresses it
 * did not find in group 0x8000).  A target's CHECK CONDITION comes with its sense in
 * the reply (autosense, SCB flag 0x0020) or waits for REQUEST SENSE. */
#pragma once

#include "lib/i2o/msg.h"

struct iop_controller;
struct iop_device;

/* The initiator id of every SCSI bus port (dpt_i2o's this_id). */
#define IOP_SCSI_INITIATOR_ID 7u

/* Give d its SCSI target if its class has one (disks, the executive); 0 or -ENOMEM. */
int iop_dpt_attach(struct iop_device *d);
void iop_dpt_detach(struct iop_device *d);
/* A SCSI bus port's channel number: its place among the controller's ports. */
unsigned iop_dpt_port_bus(const struct iop_device *port);

/* Answer a private message (function 0xFF) addressed to TID tid (d: that device, NULL
 * when the LCT has none): a ReqStatus, or -ENOSYS when it is not DPT's SCSI_EXEC (the
 * caller answers it as any other function). */
int iop_dpt_post(struct iop_controller *c, struct iop_device *d, struct iop_msg *m);
