/* I2O message frames posted to a simulated IOP (I2OPASSTHRU, and internally by the
 * ioctls that the kernel turned into messages).  Constants are the I2O 1.5 values the
 * kernel's include/linux/i2o.h carried; it is a kernel-only header, so the ones iopd
 * needs are repeated here under an IOP_ prefix. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iop_controller;

/* Function codes (header word 1, bits 24-31). */
#define IOP_FN_UTIL_NOP 0x00
#define IOP_FN_UTIL_PARAMS_SET 0x05
#define IOP_FN_UTIL_PARAMS_GET 0x06
#define IOP_FN_UTIL_CONFIG_DIALOG 0x10
#define IOP_FN_UTIL_EVT_REGISTER 0x13
#define IOP_FN_BSA_BLOCK_READ 0x30
#define IOP_FN_BSA_BLOCK_WRITE 0x31
#define IOP_FN_EXEC_STATUS_GET 0xA0
#define IOP_FN_EXEC_LCT_NOTIFY 0xA2
#define IOP_FN_EXEC_HRT_GET 0xA8
#define IOP_FN_EXEC_SW_DOWNLOAD 0xA9
#define IOP_FN_EXEC_SW_UPLOAD 0xAB
#define IOP_FN_EXEC_SW_REMOVE 0xAD
#define IOP_FN_EXEC_CONFIG_VALIDATE 0xBB
#define IOP_FN_PRIVATE 0xFF

/* ReqStatus (reply word 4, bits 24-31). */
#define IOP_REPLY_SUCCESS 0x00
#define IOP_REPLY_ABORT_DIRTY 0x01
#define IOP_REPLY_ABORT_NO_DATA_TRANSFER 0x02
#define IOP_REPLY_ABORT_PARTIAL_TRANSFER 0x03
#define IOP_REPLY_ERROR_DIRTY 0x04
#define IOP_REPLY_ERROR_NO_DATA_TRANSFER 0x05
#define IOP_REPLY_ERROR_PARTIAL_TRANSFER 0x06
#define IOP_REPLY_PROCESS_ABORT_DIRTY 0x08
#define IOP_REPLY_PROCESS_ABORT_NO_DATA_TRANSFER 0x09
#define IOP_REPLY_PROCESS_ABORT_PARTIAL_TRANSFER 0x0A
#define IOP_REPLY_TRANSACTION_ERROR 0x0B

/* DetailedStatusCode (reply word 4, bits 0-15), I2O 1.5 table 3-2. */
#define IOP_DSC_SUCCESS 0x0000
#define IOP_DSC_REPLY_BUFFER_FULL 0x0004
#define IOP_DSC_NO_SUCH_PAGE 0x0005
#define IOP_DSC_INSUFFICIENT_RESOURCE_HARD 0x0007
#define IOP_DSC_UNSUPPORTED_FUNCTION 0x000A
#define IOP_DSC_DEVICE_BUSY 0x001B
#define IOP_DSC_INAPPROPRIATE_FUNCTION 0x000D
#define IOP_DSC_INVALID_OFFSET 0x0010
#define IOP_DSC_INVALID_PARAMETER 0x0011
#define IOP_DSC_INVALID_REQUEST 0x0012
#define IOP_DSC_INVALID_TARGET_ADDRESS 0x0013
#define IOP_DSC_MESSAGE_TOO_SMALL 0x0015
#define IOP_DSC_UNKNOWN_FUNCTION 0x0019
#define IOP_DSC_DEVICE_NOT_AVAILABLE 0x001C
/* Block storage DSCs (table 6-7). */
#define IOP_BSA_DSC_ACCESS_ERROR 0x0002
#define IOP_BSA_DSC_MEDIA_ERROR 0x0001

/* Scatter-gather simple element flags (the FlagsCount word's top byte). */
#define IOP_SGL_SIMPLE 0x10000000u
#define IOP_SGL_DIR_TO_IOP 0x04000000u
#define IOP_SGL_END_OF_BUFFER 0x40000000u
#define IOP_SGL_LAST 0x80000000u
#define IOP_SGL_COUNT_MASK 0x00FFFFFFu

#define IOP_MSG_REPLY_FLAG 0x8000u /* in word 0's flags half */
#define IOP_MSG_HEADER_WORDS 4u
#define IOP_MSG_MAX_SG 30u         /* SG_TABLESIZE in i2o_config.c */

/* One simple SG element of a posted message, its data already gathered. */
struct iop_msg_sg {
    uint8_t *data;   /* host buffer of len bytes: input (to IOP) or output (zeroed) */
    uint32_t len;
    bool to_iop;
    uint32_t done;   /* bytes the IOP transferred (outputs) */
};

/* iop_controller_post() result: the device answers later, through m->done. */
#define IOP_MSG_PENDING 0x40000002

struct iop_msg {
    const uint32_t *frame; /* request, host-order words */
    unsigned words;
    unsigned sg_offset;    /* in words, 0: no SGL */
    struct iop_msg_sg *sg;
    unsigned n_sg;
    uint32_t *reply;       /* reply frame, filled by the IOP; words 0-4 at least */
    unsigned reply_words;  /* capacity; 0 allowed */
    /* Asynchronous answers (a USB transfer): the device returns IOP_MSG_PENDING and
     * calls done(m, rc) once, later, from the event loop, with everything above still
     * owned by the poster.  NULL done: the poster cannot wait; such devices refuse. */
    void (*done)(struct iop_msg *m, int rc);
    void *done_ctx;
    /* Set by the device when it answers IOP_MSG_PENDING: hurries the message to its
     * end (it still completes through done).  The device's own, not the iop_device's:
     * a reload may free the LCT entry while its transfer runs. */
    void (*cancel)(struct iop_msg *m);
    void *device_priv;
};

/* Post a message: returns the ReqStatus (0 success, > 0 the IOP's status), or
 * -ETIMEDOUT when the IOP does not answer, or IOP_MSG_PENDING (see struct iop_msg).
 * The reply frame is filled as far as it fits. */
int iop_controller_post(struct iop_controller *c, struct iop_msg *m);
/* Ask the device to give up a pending message early (it still calls done, soon). */
void iop_msg_cancel(struct iop_msg *m);

/* Fill a reply header for m with status and detailed status. */
void iop_msg_reply(struct iop_msg *m, unsigned words, uint8_t req_status, uint16_t dsc);
