/* The standard parameter groups of I2O 1.5.
 *
 * Every device has the utility groups 0xF000-0xF103 (i2omsg.h "GROUP Parameter Groups";
 * the same numbers Linux i2o_proc.c reads: F100 dev_identity, F101 ddm_identity, F102
 * user_info, F103 sgl_limits).  The IOP's own device (TID 0, class Executive) adds the
 * Executive groups 0x0000-0x0007 (i2oexec.h "Executive Parameter Groups", i2o_proc.c
 * hw/ddm_table/driver_store/drivers_stored).  Layouts follow i2omsg.h/i2oexec.h (I2O
 * 1.5, FreeBSD sys/dev/asr); where Linux reads a field differently the comment in
 * params-std.c says so.  Field names are the spec's (ClassID, VendorInfo, ...).
 *
 * Note on numbering: some summaries put SGL Operating Limits at 0xF101 and User
 * Information at 0xF103.  Both I2O 1.5 headers and Linux use F101 DDM Identity, F102
 * User Information, F103 SGL Operating Limits, and so does this module.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct iop_params;

/* Group numbers. */
#define IOP_PARAMS_GROUP_DESCRIPTORS 0xF000u  /* table, derived from the model */
#define IOP_PARAMS_GROUP_PHYS_DEVICE 0xF001u  /* table: AdapterID */
#define IOP_PARAMS_GROUP_CLAIMED 0xF002u      /* table: ClaimedTID */
#define IOP_PARAMS_GROUP_USERS 0xF003u        /* table: Instance, UserTID, ClaimType */
#define IOP_PARAMS_GROUP_AUTH_USERS 0xF006u   /* table: AlternateTID */
#define IOP_PARAMS_GROUP_DEV_IDENTITY 0xF100u /* scalar, 321 bytes */
#define IOP_PARAMS_GROUP_DDM_IDENTITY 0xF101u /* scalar, 291 bytes */
#define IOP_PARAMS_GROUP_USER_INFO 0xF102u    /* scalar, 196 bytes, writable */
#define IOP_PARAMS_GROUP_SGL_LIMITS 0xF103u   /* scalar, 18 bytes */

#define IOP_PARAMS_GROUP_EXEC_HW 0x0000u          /* IOP Hardware, scalar */
#define IOP_PARAMS_GROUP_EXEC_MSG_IF 0x0001u      /* Executive Message Interface, scalar */
#define IOP_PARAMS_GROUP_EXEC_ENV 0x0002u         /* Executing Environment, scalar */
#define IOP_PARAMS_GROUP_EXEC_DDM_LIST 0x0003u    /* Executing DDM List, table */
#define IOP_PARAMS_GROUP_EXEC_STORE 0x0004u       /* Driver Store, scalar */
#define IOP_PARAMS_GROUP_EXEC_STORE_TABLE 0x0005u /* Driver Store Table, table */
#define IOP_PARAMS_GROUP_EXEC_BUS_ATTR 0x0006u    /* IOP Bus Attributes, table */
#define IOP_PARAMS_GROUP_EXEC_SW_ATTR 0x0007u     /* IOP Software Attributes, scalar */

/* Sizes from i2omsg.h. */
#define IOP_PARAMS_VENDOR_INFO_SZ 16
#define IOP_PARAMS_PRODUCT_INFO_SZ 16
#define IOP_PARAMS_DESCRIPTION_SZ 16
#define IOP_PARAMS_REV_LEVEL_SZ 8
#define IOP_PARAMS_MODULE_NAME_SZ 24
#define IOP_PARAMS_SERIAL_SZ 256
#define IOP_PARAMS_USER_NAME_SZ 64
#define IOP_PARAMS_USB_STRING_SZ 384 /* a USB string descriptor as UTF-8, with room to spare */

/* What the caller knows about a device; strings longer than their field are cut. */
struct iop_params_identity {
    uint32_t class_id;       /* F100 ClassID: class (bits 0-11) | version << 12 | org << 16 */
    uint16_t owner_tid;      /* F100 OwnerTID (the user's TID; 0xFFF: none) */
    uint16_t parent_tid;     /* F100 ParentTID */
    const char *vendor;      /* VendorInfo[16] */
    const char *product;     /* ProductInfo[16] */
    const char *description; /* Description[16] */
    const char *revision;    /* ProductRevLevel[8] */
    uint8_t sn_format;       /* I2O_SNFORMAT_* */
    const void *serial;      /* serial number bytes (at most 255 are kept) */
    size_t serial_len;
    uint16_t ddm_tid;        /* F101 DdmTID: the DDM that registered the device */
    const char *module_name; /* F101 ModuleName[24] */
    const char *module_rev;  /* F101 ModuleRevLevel[8] */
    const char *device_name; /* F102 defaults (writable by the host) */
    const char *service_name;
    const char *physical_location;
    uint32_t instance;
};

/* Add 0xF000-0xF006 and 0xF100-0xF103 filled from id.  -EEXIST if one exists. */
int iop_params_add_device_groups(struct iop_params *p, const struct iop_params_identity *id);

/* What the caller knows about the IOP for the Executive groups; 0 fields get the
 * defaults params-std.c documents. */
struct iop_params_exec_info {
    uint16_t vendor_id;          /* I2oVendorID (0x0000, 0x0007) */
    uint16_t product_id;         /* ProductID */
    uint32_t processor_memory;   /* bytes */
    uint32_t perm_memory;        /* bytes of non-volatile memory */
    uint32_t hw_capabilities;    /* I2O_IOP_HW_CAP_* */
    uint8_t processor_type;      /* I2O_IOP_PROC_TYPE_* */
    uint8_t processor_version;
    uint32_t inbound_frame_size; /* bytes */
    uint32_t inbound_max;        /* frames */
    uint32_t outbound_frame_size;
    uint32_t outbound_max;
    uint32_t page_size;
    uint32_t module_limit;       /* Driver Store ModuleLimit */
    uint32_t store_space;        /* Driver Store bytes in all */
    uint32_t code_size;          /* IOP SW Attributes CodeSize */
    uint32_t sw_capabilities;    /* I2O_EXEC_IOP_SW_CAP_* */
};

/* Add 0x0000-0x0007.  -EEXIST if one exists. */
int iop_params_add_exec_groups(struct iop_params *p, const struct iop_params_exec_info *info);

/* iopd's own groups (values are set by the daemon; layouts shared with iopctl). */
#define IOP_PARAMS_GROUP_ISA_DMA 0x8000u          /* ISA DMA Channel: the 8237 channel, live */
#define IOP_PARAMS_GROUP_BSA_DEVICE_INFO 0x0000u  /* block storage: Device Information */
#define IOP_PARAMS_GROUP_BSA_MEDIA_INFO 0x0004u   /* block storage: Media Information */
int iop_params_add_isa_dma_group(struct iop_params *p);
#define IOP_PARAMS_GROUP_USB_DEVICE 0x8100u      /* USB Device: descriptor, bus, address */
#define IOP_PARAMS_GROUP_USB_CONFIGS 0x8101u     /* table, key bConfigurationValue */
#define IOP_PARAMS_GROUP_USB_INTERFACES 0x8102u  /* table, key config<<16|if<<8|alt */
#define IOP_PARAMS_GROUP_USB_ENDPOINTS 0x8103u   /* table, key config<<24|if<<16|alt<<8|ep */
int iop_params_add_usb_groups(struct iop_params *p);
int iop_params_add_bsa_groups(struct iop_params *p);
