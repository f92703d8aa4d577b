/* Shared by the SCSI target's files (scsi.c: dispatch, identification, media;
 * scsi-mode.c: mode pages).  Not for other modules. */
#pragma once

#include "lib/scsi/scsi.h"

/* Additional sense codes used here (SPC-3 annex D). */
#define ASC_NONE 0x00
#define ASC_NOT_READY 0x04          /* ASCQ 02: initializing command required */
#define ASC_WRITE_ERROR 0x0C
#define ASC_READ_ERROR 0x11
#define ASC_MISCOMPARE 0x1D
#define ASC_INVALID_OPCODE 0x20
#define ASC_LBA_OUT_OF_RANGE 0x21
#define ASC_INVALID_FIELD_CDB 0x24
#define ASC_LUN_NOT_SUPPORTED 0x25
#define ASC_INVALID_FIELD_PARAM 0x26
#define ASC_PARAM_LIST_LENGTH 0x1A
#define ASC_SAVING_NOT_SUPPORTED 0x39

/* End cmd with CHECK CONDITION and this sense. */
void scsi_check(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd, uint8_t key, uint8_t asc, uint8_t ascq);
/* ILLEGAL REQUEST, INVALID FIELD IN CDB (or IN PARAMETER LIST when param), with the
 * sense-key specific field pointer to byte/bit (bit < 0: the whole byte). */
void scsi_bad_field(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd, bool param, unsigned byte, int bit);
/* Return n bytes of data, cut to the allocation length and the initiator's buffer. */
void scsi_data_in(struct iop_scsi_cmd *cmd, const void *data, size_t n, size_t alloc);

/* MODE SENSE(6)/(10) and MODE SELECT(6)/(10) (scsi-mode.c). */
void scsi_mode_sense(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd, bool ten);
void scsi_mode_select(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd, bool ten);
