/* A SCSI target: one logical unit answering CDBs as a direct-access disk (SBC-3 /
 * SPC-3 subset) or as a processor device (the controller itself, which only
 * identifies).  Pure: no I/O of its own; the medium is reached through callbacks, and
 * data moves between the caller's buffers and the unit (the transport decides how the
 * bytes reach the initiator: lib/i2o/dpt.c moves them through the ISA DMA channel).
 *
 * Commands (opcode): TEST UNIT READY 00, REQUEST SENSE 03, READ(6) 08, WRITE(6) 0A,
 * INQUIRY 12 (standard data; VPD pages 00, 80, 83), MODE SELECT(6) 15, MODE SENSE(6) 1A,
 * START STOP UNIT 1B, READ CAPACITY(10) 25, READ(10) 28, WRITE(10) 2A, VERIFY(10) 2F,
 * SYNCHRONIZE CACHE(10) 35, LOG SENSE 4D (pages 00, 0D), MODE SELECT(10) 55,
 * MODE SENSE(10) 5A, READ(16) 88, WRITE(16) 8A, VERIFY(16) 8F, SYNCHRONIZE CACHE(16) 91,
 * SERVICE ACTION IN(16) 9E / READ CAPACITY(16), REPORT LUNS A0, READ(12) A8, WRITE(12) AA,
 * VERIFY(12) AF.  Mode pages: 04 rigid disk geometry, 08 caching (WCE, RCD changeable),
 * 0A control.  Anything else is CHECK CONDITION, ILLEGAL REQUEST with INVALID COMMAND
 * OPERATION CODE (20/00) or INVALID FIELD IN CDB (24/00, with the sense-key specific
 * field pointer) -- never a silent empty answer.
 *
 * LUN addressing: I2O gives every logical unit its own TID, so a CDB reaches exactly one
 * unit.  The SCSI-2 LUN field (bits 5-7 of byte 1) is honoured in 6-byte CDBs, where
 * SPC-3 left those bits reserved; a CDB naming another LUN gets what a target gives for
 * a LUN it does not have (INQUIRY: peripheral qualifier 011b, type 1Fh; REQUEST SENSE:
 * LOGICAL UNIT NOT SUPPORTED in the data; anything else CHECK CONDITION 05/25/00).  In
 * 10-, 12- and 16-byte CDBs those bits are RDPROTECT/WRPROTECT and friends (SBC-3). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SAM status codes. */
#define IOP_SCSI_GOOD 0x00
#define IOP_SCSI_CHECK_CONDITION 0x02

/* Sense keys. */
#define IOP_SCSI_NO_SENSE 0x0
#define IOP_SCSI_NOT_READY 0x2
#define IOP_SCSI_MEDIUM_ERROR 0x3
#define IOP_SCSI_HARDWARE_ERROR 0x4
#define IOP_SCSI_ILLEGAL_REQUEST 0x5
#define IOP_SCSI_UNIT_ATTENTION 0x6
#define IOP_SCSI_MISCOMPARE 0xE

/* Fixed-format sense data (SPC-3 4.5.3): what autosense delivers. */
#define IOP_SCSI_SENSE_LEN 18u

/* Peripheral device types this model can be. */
#define IOP_SCSI_TYPE_DISK 0x00
#define IOP_SCSI_TYPE_PROCESSOR 0x03

/* The largest transfer one command may ask for (blocks * block size); larger ones are
 * refused before any data moves.  A passthrough message carries at most 128 KiB. */
#define IOP_SCSI_MAX_XFER (16u << 20)

/* The medium of a disk unit.  Offsets and lengths are in bytes, whole blocks, inside
 * the capacity (the model checks).  0 or a negative errno (a MEDIUM ERROR sense). */
struct iop_scsi_medium {
    int (*read)(void *ctx, uint64_t off, void *buf, size_t len);
    int (*write)(void *ctx, uint64_t off, const void *buf, size_t len);
    int (*sync)(void *ctx);
    void *ctx;
};

/* One logical unit.  Fill the identity and geometry, then iop_scsi_lu_init(). */
struct iop_scsi_lu {
    uint8_t type;           /* IOP_SCSI_TYPE_* */
    uint8_t lun;            /* 0-7: what REPORT LUNS lists and 6-byte CDBs address */
    uint64_t blocks;        /* disk: capacity */
    uint32_t block_size;    /* disk: 512..65536, a power of two */
    char vendor[9];         /* INQUIRY T10 vendor identification, space padded */
    char product[17];
    char revision[5];
    char serial[33];        /* VPD 80h; also part of the VPD 83h designators */
    uint64_t naa;           /* VPD 83h NAA designator, 8 bytes (the top nibble is the NAA type) */
    struct iop_scsi_medium medium;
    /* State (SPC/SBC), changed by commands. */
    bool stopped;           /* START STOP UNIT START=0: media commands NOT READY */
    bool wce, rcd;          /* caching mode page */
    bool sense_pending;     /* a CHECK CONDITION whose sense was not delivered */
    uint8_t sense[IOP_SCSI_SENSE_LEN];
    uint64_t commands;      /* statistics */
};

/* Set the mode page defaults (write cache enabled) and clear the state.  -EINVAL for a
 * disk without a valid block size or with more blocks than 64-bit LBAs reach. */
int iop_scsi_lu_init(struct iop_scsi_lu *lu);

/* One command. */
struct iop_scsi_cmd {
    const uint8_t *cdb;
    size_t cdb_len;          /* 1..16; shorter than the opcode's length: ILLEGAL REQUEST */
    const uint8_t *data_out; /* what the initiator sent (writes, MODE SELECT, VERIFY) */
    size_t data_out_len;
    uint8_t *data_in;        /* room for what the unit returns */
    size_t data_in_cap;
    bool autosense;          /* deliver sense with CHECK CONDITION; else keep it for
                              * the next REQUEST SENSE (contingent allegiance) */
    /* Results. */
    uint8_t status;          /* IOP_SCSI_GOOD or IOP_SCSI_CHECK_CONDITION */
    size_t data_in_len;      /* bytes written to data_in */
    size_t data_out_used;    /* bytes of data_out the unit took */
    uint8_t sense[IOP_SCSI_SENSE_LEN];
    size_t sense_len;        /* 0, or IOP_SCSI_SENSE_LEN with CHECK CONDITION + autosense */
    /* The CDB asks to move more blocks than the initiator's buffer holds (data_in_cap
     * for reads, data_out_len for writes and VERIFY with BYTCHK): nothing was done;
     * the transport reports the overrun, the unit's status stays GOOD. */
    bool overrun;
};

/* Run cmd on lu.  Never fails as a function: every outcome is a SCSI status. */
void iop_scsi_exec(struct iop_scsi_lu *lu, struct iop_scsi_cmd *cmd);

/* A fixed-format sense buffer (18 bytes) for key/asc/ascq. */
void iop_scsi_sense_fixed(uint8_t out[IOP_SCSI_SENSE_LEN], uint8_t key, uint8_t asc, uint8_t ascq);
