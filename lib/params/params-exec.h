/* The UtilParamsGet / UtilParamsSet engine: runs an I2O OperationList against a
 * parameter-group model (params.h) and writes the ResultList, as an IOP would.
 *
 * Sources: the operation codes are <linux/i2o-dev.h>'s I2O_PARAMS_*; the block status
 * codes are the kernel's I2O_PARAMS_STATUS_* (include/linux/i2o.h, = FreeBSD
 * sys/dev/asr/i2omsg.h); the list, operation and result templates are i2omsg.h's
 * I2O_PARAM_* structures (I2O 1.5 chapter 6, "Basic Parameter Group Access") and the
 * Linux helpers i2o_parm_field_get/i2o_parm_table_get (drivers/message/i2o/device.c)
 * and i2o_set_scalar/i2o_row_add_table/i2o_row_delete_table/i2o_clear_table (2.4
 * i2o_core.c).  i2o-abi.md section 5.3 summarises them.
 *
 * OperationList (all u16 little-endian):
 *   u16 OperationCount, u16 Reserved, then per operation, each starting on a 4-byte
 *   boundary of the list (the templates end in "Pad (if any)"; the pad after the LAST
 *   operation may be missing, as in the kernel's 10-byte TABLE_GET lists):
 *     FIELD_GET, TABLE_GET, SIZE_GET: Operation, GroupNumber, FieldCount, FieldIdx[]
 *     LIST_GET:   ... FieldIdx[], KeyCount, KeyValue[KeyCount]
 *     MORE_GET:   ... FieldIdx[], KeyValue            (the last row received; see below)
 *     FIELD_SET:  ... FieldIdx[], values of the fields
 *     LIST_SET:   ... FieldIdx[], KeyCount, KeyCount x (KeyValue, values of the fields)
 *     ROW_ADD:    ... FieldIdx[], RowCount, RowCount x (values of the fields)
 *     ROW_DELETE: Operation, GroupNumber, RowCount, KeyValue[RowCount]   (no FieldCount)
 *     TABLE_CLEAR: Operation, GroupNumber                                (no FieldCount)
 *   FieldCount 0xFFFF means all fields in index order, with no FieldIdx[].  Key values
 *   and field values are packed at their field sizes, without padding.
 *
 * ResultList:
 *   u16 ResultCount, u16 Reserved, then one block per operation executed:
 *     u16 BlockSize (32-bit words, this header included), u8 BlockStatus,
 *     u8 ErrorInfoSize (32-bit words), results, pad to 4, error information.
 *   Reads of table groups (TABLE_GET, LIST_GET, MORE_GET) start their results with
 *   u16 RowCount, u16 MoreFlag (i2omsg.h I2O_TABLE_READ_OPERATION_RESULT; Linux
 *   i2o_proc.c reads every table that way).  Error information is i2omsg.h's
 *   I2O_PARAM_ERROR_INFO_TEMPLATE: u16 OperationCode, u16 GroupNumber, u16 FieldIdx
 *   (0xFFFF: none), u8 AdditionalStatus (0), u8 NumberKeys (0/1), the key, pad.
 *   The length of the list is 4 * (1 + sum of BlockSize): what the early-2.6 kernel's
 *   i2o_parm_issue reported (i2o-abi.md 5.3).
 *
 * Choices where the spec text was not available (each is tested):
 *  - Message families.  A Get message runs FIELD_GET..TABLE_GET (1-5), a Set message
 *    FIELD_SET..TABLE_CLEAR (6-10).  An operation of the other family is not executed
 *    and gets INVALID_OPERATION; the list goes on.  Mixing is refused both ways so
 *    I2OPARMGET can never change state and a Set is never a read channel.
 *  - Malformed lists.  The whole list is checked before anything runs: a list shorter
 *    than its header, an operation cut short, OperationCount larger than the list,
 *    FieldIdx/keys/values running past oplen all return -EBADMSG with nothing written
 *    and nothing changed.  Bytes after the last operation are ignored.
 *  - Operations whose length cannot be known (unknown operation code; a group-dependent
 *    tail -- keys or values -- for an unknown group, a scalar group, a keyless table or
 *    an unknown field) get their error block (INVALID_OPERATION, INVALID_GROUP_ID,
 *    WRONG_GROUP_TYPE, NO_KEY_FIELD, NO_SUCH_FIELD) and END the list: the rest cannot be
 *    located.  ResultCount then counts only the blocks written.
 *  - Group type.  WRONG_GROUP_TYPE: a scalar operation (FIELD_GET/FIELD_SET) on a table
 *    or a table operation on a scalar group.  SIZE_GET works on both.  SCALAR_ERROR: a
 *    value outside the field's range (iop_params_field_set_range) in FIELD_SET,
 *    LIST_SET or ROW_ADD.  TABLE_ERROR: ROW_ADD beyond the table's row limit.
 *  - Keys.  LIST_GET skips unknown keys and reports BAD_KEY_CONTINUE with the first
 *    one in the error information.  LIST_SET, ROW_DELETE, MORE_GET and ROW_ADD (a
 *    duplicate key) stop at a bad key: BAD_KEY_ABORT, and the operation changes
 *    nothing.  Every modify operation is all-or-nothing.
 *  - MORE_GET's tail is the key of the last row the initiator got; it returns the rows
 *    after that one, like TABLE_GET.
 *  - SIZE_GET returns u16 RowCount (1 for scalars), u16 RowSize: the bytes one row of
 *    the selected fields takes, so RowCount * RowSize sizes a read.
 *  - Read access.  An explicitly requested write-only field is FIELD_UNREADABLE; with
 *    FieldCount 0xFFFF it reads as zeros.  FIELD_SET/LIST_SET of a read-only field is
 *    FIELD_UNWRITEABLE (also with 0xFFFF, which includes read-only fields); ROW_ADD may
 *    give every field.  ROW_ADD of a keyed table must include the key field
 *    (INSUFFICIENT_FIELDS); fields it omits are zero.  Row operations on a table
 *    without the matching group flag are NON_DYNAMIC_GROUP.
 *  - Buffer.  An operation runs only if its whole result block fits (a modify
 *    operation needs its 4-byte block).  If it does not fit it gets a bare header with
 *    BUFFER_TOO_SMALL when it is the first block, BUFFER_FULL otherwise, and the list
 *    ends.  A table read that fits only partly returns the rows that fit with
 *    MoreFlag = 1 and SUCCESS (MORE_GET continues it); the list ends after it.  Error
 *    information that does not fit is left out (ErrorInfoSize 0).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct iop_params;

/* Block status codes (Linux include/linux/i2o.h, i2omsg.h I2O_PARAMS_STATUS_*). */
#define IOP_PARAMS_STATUS_SUCCESS 0x00
#define IOP_PARAMS_STATUS_BAD_KEY_ABORT 0x01
#define IOP_PARAMS_STATUS_BAD_KEY_CONTINUE 0x02
#define IOP_PARAMS_STATUS_BUFFER_FULL 0x03
#define IOP_PARAMS_STATUS_BUFFER_TOO_SMALL 0x04
#define IOP_PARAMS_STATUS_FIELD_UNREADABLE 0x05
#define IOP_PARAMS_STATUS_FIELD_UNWRITEABLE 0x06
#define IOP_PARAMS_STATUS_INSUFFICIENT_FIELDS 0x07
#define IOP_PARAMS_STATUS_INVALID_GROUP_ID 0x08
#define IOP_PARAMS_STATUS_INVALID_OPERATION 0x09
#define IOP_PARAMS_STATUS_NO_KEY_FIELD 0x0A
#define IOP_PARAMS_STATUS_NO_SUCH_FIELD 0x0B
#define IOP_PARAMS_STATUS_NON_DYNAMIC_GROUP 0x0C
#define IOP_PARAMS_STATUS_OPERATION_ERROR 0x0D
#define IOP_PARAMS_STATUS_SCALAR_ERROR 0x0E
#define IOP_PARAMS_STATUS_TABLE_ERROR 0x0F
#define IOP_PARAMS_STATUS_WRONG_GROUP_TYPE 0x10

/* The kernel's UtilParams result buffer (i2o_cfg_parms allocates 64 KiB): no result list
 * is ever longer, whatever result_cap says. */
#define IOP_PARAMS_RESULT_MAX 65536u
/* Operation lists longer than this are refused (-E2BIG) before parsing.  The kernel put
 * the list in the message frame as immediate data, so real lists are a few hundred
 * bytes; 64 KiB bounds the work a hostile list can cause. */
#define IOP_PARAMS_OPLIST_MAX 65536u
/* FieldCount value meaning "all fields". */
#define IOP_PARAMS_ALL_FIELDS 0xFFFFu
/* FieldIdx in error information when no single field is at fault. */
#define IOP_PARAMS_NO_FIELD 0xFFFFu

enum iop_params_msg {
    IOP_PARAMS_MSG_GET, /* UtilParamsGet (I2OPARMGET) */
    IOP_PARAMS_MSG_SET, /* UtilParamsSet (I2OPARMSET) */
};

enum iop_params_change_kind {
    IOP_PARAMS_CHANGE_FIELD,       /* a field of a scalar group or of one row changed */
    IOP_PARAMS_CHANGE_ROW_ADD,
    IOP_PARAMS_CHANGE_ROW_DELETE,
    IOP_PARAMS_CHANGE_TABLE_CLEAR, /* reported only when rows were removed */
};

/* One modification, for FIELD_MODIFIED events and persistence.  Reported after it is
 * applied, in operation order; a FIELD_SET of an unchanged value reports nothing. */
struct iop_params_change {
    enum iop_params_change_kind kind;
    uint16_t group;
    uint16_t field;  /* field index for CHANGE_FIELD, IOP_PARAMS_NO_FIELD otherwise */
    const void *key; /* the row's key (borrowed, valid during the call); NULL for scalar
                        groups, keyless tables and TABLE_CLEAR */
    size_t key_len;
};

/* Called for each change.  It may read the params object but must not modify it. */
typedef void (*iop_params_change_fn)(void *userdata, const struct iop_params_change *c);

/* Execute oplen bytes of OperationList against p and write the ResultList into result
 * (at most min(result_cap, IOP_PARAMS_RESULT_MAX) bytes; nothing is written past
 * that).  Returns the length of the ResultList (>= 4, = 4 * (1 + sum of BlockSize)), or
 * -EBADMSG for a malformed list, -E2BIG for oplen > IOP_PARAMS_OPLIST_MAX, -ENOBUFS for
 * result_cap < 4, -EINVAL for bad arguments; on any error nothing is written or changed.
 * on_change may be NULL. */
int iop_params_exec(struct iop_params *p, enum iop_params_msg msg, const void *oplist,
                    size_t oplen, void *result, size_t result_cap, iop_params_change_fn on_change,
                    void *userdata);

/* The early-2.6 kernel's walk of a ResultList (i2o-abi.md 5.3): returns
 * 4 * (1 + sum of BlockSize) for the ResultCount blocks of res, or -EBADMSG when the
 * blocks run past len or a BlockSize is 0.  *single_status (optional) gets the
 * BlockStatus when there is exactly one block and it is not SUCCESS -- the case the
 * kernel turned into -BlockStatus and the ioctl into EAGAIN -- and 0 otherwise. */
int iop_params_result_len(const void *res, size_t len, uint8_t *single_status);
