/* DPT (Adaptec SmartRAID) private I2O messages: the frame layout and reply decoding
 * that Linux's dpt_i2o driver and the DPT management engine (raidutils' raideng) use.
 * Pure: parsing and reply encoding only; lib/i2o/dpt.c runs them against the IOP.
 *
 * Request (linux drivers/scsi/dpt_i2o.c adpt_scsi_to_i2o() and adpt_inquiry();
 * PRIVATE_SCSI_SCB_EXECUTE_MESSAGE in raidutils raideng/i2odpt.h), 32-bit words:
 *   0  size << 16 | SGL offset << 4 (12 with data, 0 without) | version
 *   1  function 0xFF (I2O_PRIVATE) << 24 | initiator << 12 | target TID
 *   2  initiator context      3  transaction context
 *   4  OrganizationID 0x001B << 16 | XFunctionCode (0x0081 I2O_SCSI_SCB_EXEC)
 *   5  TID (bits 0-15) | Interpret (bit 16: the controller's firmware answers) |
 *      Physical (bit 17: the physical device behind an array)
 *   6  CDB length (bits 0-7) | SCB flags << 16: data direction 0x4000 from the device,
 *      0x8000 to the device, 0 none; 0x2000 disconnect; 0x0080 simple queue tag;
 *      0x0020 sense data in the reply message (autosense), 0 none
 *   7-10  the CDB, 16 bytes in memory order
 *   11 ByteCount: the data length
 *   12... simple SG elements (the direction bit 0x04000000 set for data to the device)
 *
 * Reply (I2O_SCSI_ERROR_REPLY_MESSAGE_FRAME, raideng/i2obscsi.h; read by dpt_i2o's
 * adpt_i2o_to_scsi()): words 0-3 the header, 4 ReqStatus << 24 | DetailedStatus where
 * DetailedStatus = HBA status << 8 (I2O_SCSI_DSC_*, dpti.h) | SCSI status; 5
 * TransferCount (dpt_i2o: resid = bufflen - TransferCount); 6 AutoSenseTransferCount;
 * 7-16 sense data (40 bytes; dpt_i2o copies them on CHECK CONDITION).  A reply without
 * CHECK CONDITION is the 6-word success frame. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iop_scsi_cmd;

#define IOP_DPT_ORG_ID 0x001Bu        /* DPT_ORGANIZATION_ID (dpti.h) */
#define IOP_DPT_XFN_SCSI_EXEC 0x0081u /* I2O_SCSI_SCB_EXEC */
#define IOP_DPT_SCSI_WORDS 12u        /* the frame up to the SGL */
#define IOP_DPT_REPLY_WORDS 17u       /* REPLY_FRAME_SIZE (dpti.h) */
#define IOP_DPT_SENSE_BYTES 40u       /* I2O_SCSI_SENSE_DATA_SZ */

/* SCB flags (word 6, bits 16-31; I2O_SCB_FLAG_* in raideng/i2obscsi.h). */
#define IOP_DPT_SCB_DIR_MASK 0xC000u
#define IOP_DPT_SCB_FROM_DEVICE 0x4000u
#define IOP_DPT_SCB_TO_DEVICE 0x8000u
#define IOP_DPT_SCB_AUTOSENSE_MASK 0x0060u

/* HBA status (DetailedStatus bits 8-15; I2O_SCSI_DSC_* >> 8 in dpti.h). */
#define IOP_DPT_HBA_SUCCESS 0x00
#define IOP_DPT_HBA_REQUEST_INVALID 0x06
#define IOP_DPT_HBA_SELECTION_TIMEOUT 0x0A
#define IOP_DPT_HBA_DATA_OVERRUN 0x12
#define IOP_DPT_HBA_REQUEST_LENGTH_ERROR 0x15

struct iop_dpt_scb {
    uint16_t tid;
    bool interpret, physical;
    uint8_t cdb_len;
    uint16_t flags;
    uint8_t cdb[16];
    uint32_t byte_count;
};

/* Parse a private message.  0: a DPT SCSI_EXEC in *out; -ENOENT: not function 0xFF
 * of organisation 0x001B (or too short to say); -ENOSYS: another DPT XFunctionCode;
 * -EMSGSIZE: a SCSI_EXEC of fewer than 12 words; -EINVAL: a CDB length of 0 or over 16, or an undefined direction (both bits). */
int iop_dpt_parse(const uint32_t *frame, unsigned words, struct iop_dpt_scb *out);

/* What the HBA does with a parsed SCB before the target sees it. */
struct iop_dpt_plan {
    uint8_t hba_status;      /* not IOP_DPT_HBA_SUCCESS: the command is not run */
    bool from_device, to_device;
    uint32_t len;            /* bytes of data (0 without a data phase) */
    bool autosense;
};

/* room_from/room_to: the bytes of the SG elements in each direction (IOP to host,
 * host to IOP).  ByteCount larger than the elements in its direction, or than
 * IOP_SCSI_MAX_XFER: REQUEST_LENGTH_ERROR. */
void iop_dpt_plan(const struct iop_dpt_scb *scb, uint64_t room_from, uint64_t room_to, struct iop_dpt_plan *p);

struct iop_dpt_result {
    uint8_t req_status;      /* I2O ReqStatus */
    uint8_t hba_status;      /* IOP_DPT_HBA_* */
    uint8_t scsi_status;     /* SAM status */
    uint32_t transfer_count;
    const uint8_t *sense;    /* with CHECK CONDITION and autosense */
    size_t sense_len;        /* at most IOP_DPT_SENSE_BYTES are kept */
};

/* The reply for a command the target ran (cmd: its results); plan->hba_status other
 * than success: the reply for a command that was not run. */
void iop_dpt_complete(const struct iop_dpt_plan *plan, const struct iop_scsi_cmd *cmd, struct iop_dpt_result *r);

/* Words 4-16 of the reply into w[4..16] (w has IOP_DPT_REPLY_WORDS words); returns the
 * reply's size in words (6, or 17 with sense). */
unsigned iop_dpt_reply_body(const struct iop_dpt_result *r, uint32_t w[IOP_DPT_REPLY_WORDS]);
