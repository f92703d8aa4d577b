#include "lib/params/params-std.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "lib/params/params-internal.h"
#include "lib/params/params.h"
#include "lib/util/bytes.h"
#include "lib/util/cleanup.h"
#include "lib/util/utf8.h"


/* ---- utility groups, i2omsg.h ---- */

/* F000 Group Descriptors: I2O_UTIL_GROUP_DESCRIPTOR_TABLE.  Rows are derived from the
 * model (params_refresh_descriptors); i2o_proc.c "groups" reads exactly this. */
static const struct fdef f000[] = {
    { "GroupNumber", IOP_PARAMS_U16, 0, KEY },
    { "FieldCount", IOP_PARAMS_U16, 0, RO },
    { "RowCount", IOP_PARAMS_U16, 0, RO },
    { "Properties", IOP_PARAMS_U8, 0, RO },
    { "reserved", IOP_PARAMS_U8, 0, RO },
};
/* F001 Physical Device Table: I2O_UTIL_PHYSICAL_DEVICE_TABLE (AdapterIDs of the HRT). */
static const struct fdef f001[] = {
    { "AdapterID", IOP_PARAMS_U32, 0, KEY },
};
/* F002 Claimed Table: I2O_UTIL_CLAIMED_TABLE. */
static const struct fdef f002[] = {
    { "ClaimedTID", IOP_PARAMS_U16, 0, KEY },
};
/* F003 User Table: I2O_UTIL_USER_TABLE. */
static const struct fdef f003[] = {
    { "Instance", IOP_PARAMS_U16, 0, KEY },
    { "UserTID", IOP_PARAMS_U16, 0, RO },
    { "ClaimType", IOP_PARAMS_U8, 0, RO },
    { "reserved1", IOP_PARAMS_U8, 0, RO },
    { "reserved2", IOP_PARAMS_U16, 0, RO },
};
/* F006 Authorized User Table: i2omsg.h says U16 AlternateTID; Linux i2o_proc.c reads the
 * rows as u32.  We follow the spec header (UNVERIFIED which one real IOPs used). */
static const struct fdef f006[] = {
    { "AlternateTID", IOP_PARAMS_U16, 0, KEY },
};
/* F005 Private Message Extensions is optional (i2o_proc.c says so) and not provided. */

/* F100 Device Identity: I2O_UTIL_DEVICE_IDENTITY_SCALAR, 321 bytes.  i2o_proc.c reads
 * VendorInfo at byte 8, ProductInfo 24, Description 40, ProductRevLevel 56, and the
 * serial number at 64 as [SNFormat][length][bytes] ("the convention / consensus", its
 * comment says, against the spec's figure): we store SerialNumber[0] = length. */
static const struct fdef f100[] = {
    { "ClassID", IOP_PARAMS_U32, 0, RO },
    { "OwnerTID", IOP_PARAMS_U16, 0, RO },
    { "ParentTID", IOP_PARAMS_U16, 0, RO },
    { "VendorInfo", IOP_PARAMS_STRING, IOP_PARAMS_VENDOR_INFO_SZ, RO },
    { "ProductInfo", IOP_PARAMS_STRING, IOP_PARAMS_PRODUCT_INFO_SZ, RO },
    { "Description", IOP_PARAMS_STRING, IOP_PARAMS_DESCRIPTION_SZ, RO },
    { "ProductRevLevel", IOP_PARAMS_STRING, IOP_PARAMS_REV_LEVEL_SZ, RO },
    { "SNFormat", IOP_PARAMS_U8, 0, RO },
    { "SerialNumber", IOP_PARAMS_BYTES, IOP_PARAMS_SERIAL_SZ, RO },
};
/* F101 DDM Identity: I2O_UTIL_DDM_IDENTITY_SCALAR, 291 bytes. */
static const struct fdef f101[] = {
    { "DdmTID", IOP_PARAMS_U16, 0, RO },
    { "ModuleName", IOP_PARAMS_STRING, IOP_PARAMS_MODULE_NAME_SZ, RO },
    { "ModuleRevLevel", IOP_PARAMS_STRING, IOP_PARAMS_REV_LEVEL_SZ, RO },
    { "SNFormat", IOP_PARAMS_U8, 0, RO },
    { "SerialNumber", IOP_PARAMS_BYTES, IOP_PARAMS_SERIAL_SZ, RO },
};
/* F102 User Information: I2O_UTIL_USER_INFORMATION_SCALAR, 196 bytes: the host names
 * the device, so every field is writable.  (i2o_proc.c prints InstanceNumber as four
 * characters; i2omsg.h says U32, which we follow.) */
static const struct fdef f102[] = {
    { "DeviceName", IOP_PARAMS_STRING, IOP_PARAMS_USER_NAME_SZ, RW },
    { "ServiceName", IOP_PARAMS_STRING, IOP_PARAMS_USER_NAME_SZ, RW },
    { "PhysicalLocation", IOP_PARAMS_STRING, IOP_PARAMS_USER_NAME_SZ, RW },
    { "InstanceNumber", IOP_PARAMS_U32, 0, RW },
};
/* F103 SGL Operating Limits: I2O_UTIL_SGL_OPERATING_LIMITS_SCALAR (1.5: 18 bytes; i2o_proc
 * also reads 2.0 fields after these, which 1.5 devices do not have).  The *Target fields
 * are the host's wish, so we make them writable (assumed; the table of access rights was
 * not available). */
static const struct fdef f103[] = {
    { "SglChainSize", IOP_PARAMS_U32, 0, RO },
    { "SglChainSizeMax", IOP_PARAMS_U32, 0, RO },
    { "SglChainSizeTarget", IOP_PARAMS_U32, 0, RW },
    { "SglFragCount", IOP_PARAMS_U16, 0, RO },
    { "SglFragCountMax", IOP_PARAMS_U16, 0, RO },
    { "SglFragCountTarget", IOP_PARAMS_U16, 0, RW },
};

static const struct gdef device_groups[] = {
    GROUP(IOP_PARAMS_GROUP_DESCRIPTORS, "Group Descriptors", IOP_PARAMS_TABLE, f000),
    GROUP(IOP_PARAMS_GROUP_PHYS_DEVICE, "Physical Device Table", IOP_PARAMS_TABLE, f001),
    GROUP(IOP_PARAMS_GROUP_CLAIMED, "Claimed Table", IOP_PARAMS_TABLE, f002),
    GROUP(IOP_PARAMS_GROUP_USERS, "User Table", IOP_PARAMS_TABLE, f003),
    GROUP(IOP_PARAMS_GROUP_AUTH_USERS, "Authorized User Table", IOP_PARAMS_TABLE, f006),
    GROUP(IOP_PARAMS_GROUP_DEV_IDENTITY, "Device Identity", IOP_PARAMS_SCALAR, f100),
    GROUP(IOP_PARAMS_GROUP_DDM_IDENTITY, "DDM Identity", IOP_PARAMS_SCALAR, f101),
    GROUP(IOP_PARAMS_GROUP_USER_INFO, "User Information", IOP_PARAMS_SCALAR, f102),
    GROUP(IOP_PARAMS_GROUP_SGL_LIMITS, "SGL Operating Limits", IOP_PARAMS_SCALAR, f103),
};

/* ---- Executive groups, i2oexec.h ---- */

/* 0000 IOP Hardware: I2O_EXEC_IOP_HARDWARE_SCALAR, 18 bytes (i2o_proc.c "hw": ProcessorType
 * at byte 16). */
static const struct fdef e0000[] = {
    { "I2oVendorID", IOP_PARAMS_U16, 0, RO },
    { "ProductID", IOP_PARAMS_U16, 0, RO },
    { "ProcessorMemory", IOP_PARAMS_U32, 0, RO },
    { "PermMemory", IOP_PARAMS_U32, 0, RO },
    { "HWCapabilities", IOP_PARAMS_U32, 0, RO },
    { "ProcessorType", IOP_PARAMS_U8, 0, RO },
    { "ProcessorVersion", IOP_PARAMS_U8, 0, RO },
};
/* 0001 Executive Message Interface: I2O_EXEC_IOP_MESSAGE_IF_SCALAR, 57 bytes.  The units
 * of the frame sizes are not in the header: we give them in 32-bit words like the status
 * block's inbound_frame_size (UNVERIFIED).  *Target fields writable, as in F103. */
static const struct fdef e0001[] = {
    { "InboundFrameSize", IOP_PARAMS_U32, 0, RO },
    { "InboundSizeTarget", IOP_PARAMS_U32, 0, RW },
    { "InboundMax", IOP_PARAMS_U32, 0, RO },
    { "InboundTarget", IOP_PARAMS_U32, 0, RW },
    { "InboundPoolCount", IOP_PARAMS_U32, 0, RO },
    { "InboundCurrentFree", IOP_PARAMS_U32, 0, RO },
    { "InboundCurrentPost", IOP_PARAMS_U32, 0, RO },
    { "StaticCount", IOP_PARAMS_U16, 0, RO },
    { "StaticInstanceCount", IOP_PARAMS_U16, 0, RO },
    { "StaticLimit", IOP_PARAMS_U16, 0, RO },
    { "StaticInstanceLimit", IOP_PARAMS_U16, 0, RO },
    { "OutboundFrameSize", IOP_PARAMS_U32, 0, RO },
    { "OutboundMax", IOP_PARAMS_U32, 0, RO },
    { "OutboundMaxTarget", IOP_PARAMS_U32, 0, RW },
    { "OutboundCurrentFree", IOP_PARAMS_U32, 0, RO },
    { "OutboundCurrentPost", IOP_PARAMS_U32, 0, RO },
    { "InitCode", IOP_PARAMS_U8, 0, RO },
};
/* 0002 Executing Environment: I2O_EXEC_EXECUTE_ENVIRONMENT_SCALAR, 24 bytes. */
static const struct fdef e0002[] = {
    { "MemTotal", IOP_PARAMS_U32, 0, RO },
    { "MemFree", IOP_PARAMS_U32, 0, RO },
    { "PageSize", IOP_PARAMS_U32, 0, RO },
    { "EventQMax", IOP_PARAMS_U32, 0, RO },
    { "EventQCurrent", IOP_PARAMS_U32, 0, RO },
    { "DDMLoadMax", IOP_PARAMS_U32, 0, RO },
};
/* 0003 Executing DDM List: I2O_EXEC_EXECUTE_DDM_TABLE, 44-byte rows.  i2o_proc.c reads
 * ModuleName and ModuleVersion together as 28 characters; i2oexec.h says U32 version. */
static const struct fdef e0003[] = {
    { "DdmTID", IOP_PARAMS_U16, 0, KEY },
    { "ModuleType", IOP_PARAMS_U8, 0, RO },
    { "reserved", IOP_PARAMS_U8, 0, RO },
    { "I2oVendorID", IOP_PARAMS_U16, 0, RO },
    { "ModuleID", IOP_PARAMS_U16, 0, RO },
    { "ModuleName", IOP_PARAMS_STRING, IOP_PARAMS_MODULE_NAME_SZ, RO },
    { "ModuleVersion", IOP_PARAMS_U32, 0, RO },
    { "DataSize", IOP_PARAMS_U32, 0, RO },
    { "CodeSize", IOP_PARAMS_U32, 0, RO },
};
/* 0004 Driver Store: I2O_EXEC_DRIVER_STORE_SCALAR, 16 bytes. */
static const struct fdef e0004[] = {
    { "ModuleLimit", IOP_PARAMS_U32, 0, RO },
    { "ModuleCount", IOP_PARAMS_U32, 0, RO },
    { "CurrentSpace", IOP_PARAMS_U32, 0, RO },
    { "FreeSpace", IOP_PARAMS_U32, 0, RO },
};
/* 0005 Driver Store Table: I2O_EXEC_DRIVER_STORE_TABLE, 56-byte rows.  i2o_proc.c reads
 * DateDay/DateMonth/DateYear as 8 characters; i2oexec.h gives u16, u16, u32. */
static const struct fdef e0005[] = {
    { "StoredDdmIndex", IOP_PARAMS_U16, 0, KEY },
    { "ModuleType", IOP_PARAMS_U8, 0, RO },
    { "reserved", IOP_PARAMS_U8, 0, RO },
    { "I2oVendorID", IOP_PARAMS_U16, 0, RO },
    { "ModuleID", IOP_PARAMS_U16, 0, RO },
    { "ModuleName", IOP_PARAMS_STRING, IOP_PARAMS_MODULE_NAME_SZ, RO },
    { "ModuleVersion", IOP_PARAMS_U32, 0, RO },
    { "DateDay", IOP_PARAMS_U16, 0, RO },
    { "DateMonth", IOP_PARAMS_U16, 0, RO },
    { "DateYear", IOP_PARAMS_U32, 0, RO },
    { "ModuleSize", IOP_PARAMS_U32, 0, RO },
    { "MpbSize", IOP_PARAMS_U32, 0, RO },
    { "ModuleFlags", IOP_PARAMS_U32, 0, RO },
};
/* 0006 IOP Bus Attributes: I2O_EXEC_IOP_BUS_ATTRIBUTE_TABLE, 8-byte rows. */
static const struct fdef e0006[] = {
    { "BusID", IOP_PARAMS_U32, 0, KEY },
    { "BusType", IOP_PARAMS_U8, 0, RO },
    { "MaxAdapters", IOP_PARAMS_U8, 0, RO },
    { "AdapterCount", IOP_PARAMS_U8, 0, RO },
    { "BusAttributes", IOP_PARAMS_U8, 0, RO },
};
/* 0007 IOP Software Attributes: I2O_EXEC_IOP_SW_ATTRIBUTES_SCALAR, 12 bytes. */
static const struct fdef e0007[] = {
    { "I2oVendorID", IOP_PARAMS_U16, 0, RO },
    { "ProductID", IOP_PARAMS_U16, 0, RO },
    { "CodeSize", IOP_PARAMS_U32, 0, RO },
    { "SWCapabilities", IOP_PARAMS_U32, 0, RO },
};
/* 0x0100-0x0104 (HRT, LCT scalar/table, System Table, External Connections) mirror tables
 * other modules own; they are not declared here. */

static const struct gdef exec_groups[] = {
    GROUP(IOP_PARAMS_GROUP_EXEC_HW, "IOP Hardware", IOP_PARAMS_SCALAR, e0000),
    GROUP(IOP_PARAMS_GROUP_EXEC_MSG_IF, "Executive Message Interface", IOP_PARAMS_SCALAR, e0001),
    GROUP(IOP_PARAMS_GROUP_EXEC_ENV, "Executing Environment", IOP_PARAMS_SCALAR, e0002),
    GROUP(IOP_PARAMS_GROUP_EXEC_DDM_LIST, "Executing DDM List", IOP_PARAMS_TABLE, e0003),
    GROUP(IOP_PARAMS_GROUP_EXEC_STORE, "Driver Store", IOP_PARAMS_SCALAR, e0004),
    GROUP(IOP_PARAMS_GROUP_EXEC_STORE_TABLE, "Driver Store Table", IOP_PARAMS_TABLE, e0005),
    GROUP(IOP_PARAMS_GROUP_EXEC_BUS_ATTR, "IOP Bus Attributes", IOP_PARAMS_TABLE, e0006),
    GROUP(IOP_PARAMS_GROUP_EXEC_SW_ATTR, "IOP Software Attributes", IOP_PARAMS_SCALAR, e0007),
};

/* iopd's own groups (live state it models), declared here so the daemon and iopctl
 * share one layout. */

/* 0x8000 ISA DMA Channel (a bus adapter driving an ISA adapter with a DMA channel):
 * the 8237 channel's registers and totals, read-only. */
static const struct fdef isa_dma[] = {
    { "Channel", IOP_PARAMS_U8, 0, RO },
    { "Width", IOP_PARAMS_U8, 0, RO },             /* 8 or 16 bits */
    { "Mode", IOP_PARAMS_U8, 0, RO },              /* mode register bits 7:2 */
    { "TransferType", IOP_PARAMS_STRING, 8, RO },  /* verify/write/read */
    { "OperatingMode", IOP_PARAMS_STRING, 8, RO }, /* demand/single/block/cascade */
    { "BaseAddress", IOP_PARAMS_U32, 0, RO },
    { "CurrentAddress", IOP_PARAMS_U32, 0, RO },
    { "Count", IOP_PARAMS_U32, 0, RO },
    { "Residue", IOP_PARAMS_U32, 0, RO },
    { "Masked", IOP_PARAMS_U8, 0, RO },
    { "TerminalCount", IOP_PARAMS_U8, 0, RO },
    { "Requested", IOP_PARAMS_U8, 0, RO },
    { "Owner", IOP_PARAMS_STRING, 32, RO },
    { "BytesMoved", IOP_PARAMS_U64, 0, RO },
    { "Chunks", IOP_PARAMS_U64, 0, RO },
    { "Bounces", IOP_PARAMS_U64, 0, RO },
    { "Faults", IOP_PARAMS_U64, 0, RO },
};

/* Random block storage class (I2O 1.5 chapter 6.4), the fields iopd fills honestly. */
static const struct fdef bsa_device[] = {
    { "DeviceType", IOP_PARAMS_U8, 0, RO }, /* 0: direct access */
    { "NumberOfPaths", IOP_PARAMS_U8, 0, RO },
    { "PowerState", IOP_PARAMS_U16, 0, RO },
    { "BlockSize", IOP_PARAMS_U32, 0, RO },
    { "DeviceCapacity", IOP_PARAMS_U64, 0, RO },
    { "DeviceCapabilitySupport", IOP_PARAMS_U32, 0, RO },
    { "DeviceState", IOP_PARAMS_U32, 0, RO },
};
static const struct fdef bsa_media[] = {
    { "Capacity", IOP_PARAMS_U64, 0, RO },
    { "BlockSize", IOP_PARAMS_U32, 0, RO },
};

static const struct gdef isa_groups[] = {
    GROUP(IOP_PARAMS_GROUP_ISA_DMA, "ISA DMA Channel", IOP_PARAMS_SCALAR, isa_dma),
};
static const struct gdef bsa_groups[] = {
    GROUP(IOP_PARAMS_GROUP_BSA_DEVICE_INFO, "Device Information", IOP_PARAMS_SCALAR, bsa_device),
    GROUP(IOP_PARAMS_GROUP_BSA_MEDIA_INFO, "Media Information", IOP_PARAMS_SCALAR, bsa_media),
};

/* USB devices as I2O devices (iopd's own): the device descriptor with where the device
 * is, and its configurations, interfaces and endpoints as tables, field names as the
 * USB specification's (what lsusb -v prints). */
static const struct fdef usb_device[] = {
    { "Bus", IOP_PARAMS_U16, 0, RO },
    { "Device", IOP_PARAMS_U8, 0, RO },
    { "Speed", IOP_PARAMS_U8, 0, RO },            /* 1 low, 2 full, 3 high, 4 super, 5 super+ */
    { "PortPath", IOP_PARAMS_STRING, 32, RO },    /* "1.2.3", as in /sys/bus/usb/devices */
    { "bcdUSB", IOP_PARAMS_U16, 0, RO },
    { "bDeviceClass", IOP_PARAMS_U8, 0, RO },
    { "bDeviceSubClass", IOP_PARAMS_U8, 0, RO },
    { "bDeviceProtocol", IOP_PARAMS_U8, 0, RO },
    { "bMaxPacketSize0", IOP_PARAMS_U8, 0, RO },
    { "idVendor", IOP_PARAMS_U16, 0, RO },
    { "idProduct", IOP_PARAMS_U16, 0, RO },
    { "bcdDevice", IOP_PARAMS_U16, 0, RO },
    { "iManufacturer", IOP_PARAMS_U8, 0, RO },
    { "iProduct", IOP_PARAMS_U8, 0, RO },
    { "iSerialNumber", IOP_PARAMS_U8, 0, RO },
    { "bNumConfigurations", IOP_PARAMS_U8, 0, RO },
    { "ActiveConfiguration", IOP_PARAMS_U8, 0, RO },
    { "Claimed", IOP_PARAMS_U8, 0, RO },          /* iopd may do more than standard requests */
    /* The strings usbcore reads at enumeration, UTF-8 ("" when the device has none or
     * a broken one); 126 UTF-16 units are at most 378 bytes. */
    { "Manufacturer", IOP_PARAMS_STRING, IOP_PARAMS_USB_STRING_SZ, RO },
    { "Product", IOP_PARAMS_STRING, IOP_PARAMS_USB_STRING_SZ, RO },
    { "SerialNumber", IOP_PARAMS_STRING, IOP_PARAMS_USB_STRING_SZ, RO },
};
static const struct fdef usb_config[] = {
    { "bConfigurationValue", IOP_PARAMS_U8, 0, KEY },
    { "wTotalLength", IOP_PARAMS_U16, 0, RO },
    { "bNumInterfaces", IOP_PARAMS_U8, 0, RO },
    { "iConfiguration", IOP_PARAMS_U8, 0, RO },
    { "bmAttributes", IOP_PARAMS_U8, 0, RO },
    { "bMaxPower", IOP_PARAMS_U8, 0, RO },
};
static const struct fdef usb_interface[] = {
    { "Key", IOP_PARAMS_U32, 0, KEY },            /* configuration << 16 | interface << 8 | alt */
    { "bConfigurationValue", IOP_PARAMS_U8, 0, RO },
    { "bInterfaceNumber", IOP_PARAMS_U8, 0, RO },
    { "bAlternateSetting", IOP_PARAMS_U8, 0, RO },
    { "bNumEndpoints", IOP_PARAMS_U8, 0, RO },
    { "bInterfaceClass", IOP_PARAMS_U8, 0, RO },
    { "bInterfaceSubClass", IOP_PARAMS_U8, 0, RO },
    { "bInterfaceProtocol", IOP_PARAMS_U8, 0, RO },
    { "iInterface", IOP_PARAMS_U8, 0, RO },
    { "Current", IOP_PARAMS_U8, 0, RO },          /* 1: the interface's altsetting now */
};
static const struct fdef usb_endpoint[] = {
    { "Key", IOP_PARAMS_U32, 0, KEY },            /* config << 24 | interface << 16 | alt << 8 | address */
    { "bConfigurationValue", IOP_PARAMS_U8, 0, RO },
    { "bInterfaceNumber", IOP_PARAMS_U8, 0, RO },
    { "bAlternateSetting", IOP_PARAMS_U8, 0, RO },
    { "bEndpointAddress", IOP_PARAMS_U8, 0, RO },
    { "bmAttributes", IOP_PARAMS_U8, 0, RO },
    { "wMaxPacketSize", IOP_PARAMS_U16, 0, RO },
    { "bInterval", IOP_PARAMS_U8, 0, RO },
};
static const struct gdef usb_groups[] = {
    GROUP(IOP_PARAMS_GROUP_USB_DEVICE, "USB Device", IOP_PARAMS_SCALAR, usb_device),
    GROUP(IOP_PARAMS_GROUP_USB_CONFIGS, "USB Configurations", IOP_PARAMS_TABLE, usb_config),
    GROUP(IOP_PARAMS_GROUP_USB_INTERFACES, "USB Interfaces", IOP_PARAMS_TABLE, usb_interface),
    GROUP(IOP_PARAMS_GROUP_USB_ENDPOINTS, "USB Endpoints", IOP_PARAMS_TABLE, usb_endpoint),
};


int iop_params_add_usb_groups(struct iop_params *p) {
    return params_add_std_groups(p, usb_groups, IOP_ARRAY_SIZE(usb_groups));
}

int iop_params_add_isa_dma_group(struct iop_params *p) {
    return params_add_std_groups(p, isa_groups, IOP_ARRAY_SIZE(isa_groups));
}

int iop_params_add_bsa_groups(struct iop_params *p) {
    return params_add_std_groups(p, bsa_groups, IOP_ARRAY_SIZE(bsa_groups));
}

int params_add_std_groups(struct iop_params *p, const struct gdef *defs, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (iop_params_find_group(p, defs[i].number))
            return -EEXIST;
    for (size_t i = 0; i < n; i++) {
        struct iop_params_group *g;
        int r = iop_params_add_group(p, defs[i].number, defs[i].name, defs[i].kind, 0, &g);
        if (r < 0)
            return r;
        for (size_t k = 0; k < defs[i].n_fields; k++) {
            const struct fdef *f = &defs[i].fields[k];
            r = iop_params_add_field(g, f->name, f->type, f->size, f->flags);
            if (r < 0)
                return r;
        }
        if (defs[i].number == IOP_PARAMS_GROUP_DESCRIPTORS) {
            /* Derived rows, one per group: preallocate them all so refreshing never
             * allocates (and so never fails). */
            r = params_reserve_rows(g, IOP_PARAMS_GROUPS_MAX);
            if (r < 0)
                return r;
            g->max_rows = IOP_PARAMS_GROUPS_MAX;
            g->descriptors = true;
            params_refresh_descriptors(p);
        }
    }
    return 0;
}

/* Set a string field, cutting what does not fit (identity strings come from USB
 * descriptors and configuration and may be longer than I2O's 16 characters). */
static int set_str(struct iop_params *p, uint16_t group, const char *field, const char *s) {
    if (!s)
        return 0;
    struct iop_params_group *g = iop_params_find_group(p, group);
    int fi = g ? iop_params_find_field(g, field) : -ENOENT;
    if (fi < 0)
        return fi;
    size_t n = iop_utf8_prefix(s, g->fields[fi].size);
    return iop_params_set(p, group, field, NULL, 0, s, n);
}

static int set_u(struct iop_params *p, uint16_t group, const char *field, uint64_t v) {
    return iop_params_set_uint(p, group, field, NULL, 0, v);
}

/* The simulated IOP's message frames: I2O_OUTBOUND_MSG_FRAME_SIZE is 128 words (i2o-abi.md
 * 4.0) and the kernel's passthrough allows SG_TABLESIZE = 30 elements; we use both as the
 * SGL limits of every device. */
#define DEFAULT_FRAME_WORDS 128u
#define DEFAULT_SGL_FRAGS 30u

int iop_params_add_device_groups(struct iop_params *p, const struct iop_params_identity *id) {
    assert(p && id);
    IOP_TRY(params_add_std_groups(p, device_groups, IOP_ARRAY_SIZE(device_groups)));

    const uint16_t di = IOP_PARAMS_GROUP_DEV_IDENTITY;
    IOP_TRY(set_u(p, di, "ClassID", id->class_id));
    IOP_TRY(set_u(p, di, "OwnerTID", id->owner_tid));
    IOP_TRY(set_u(p, di, "ParentTID", id->parent_tid));
    IOP_TRY(set_str(p, di, "VendorInfo", id->vendor));
    IOP_TRY(set_str(p, di, "ProductInfo", id->product));
    IOP_TRY(set_str(p, di, "Description", id->description));
    IOP_TRY(set_str(p, di, "ProductRevLevel", id->revision));
    IOP_TRY(set_u(p, di, "SNFormat", id->sn_format));
    uint8_t sn[IOP_PARAMS_SERIAL_SZ] = { 0 };
    size_t sn_len = id->serial ? IOP_MIN(id->serial_len, (size_t)IOP_PARAMS_SERIAL_SZ - 1) : 0;
    sn[0] = (uint8_t)sn_len; /* [length][bytes]: see f100 */
    if (sn_len)
        memcpy(sn + 1, id->serial, sn_len);
    IOP_TRY(iop_params_set(p, di, "SerialNumber", NULL, 0, sn, sizeof(sn)));

    const uint16_t dd = IOP_PARAMS_GROUP_DDM_IDENTITY;
    IOP_TRY(set_u(p, dd, "DdmTID", id->ddm_tid));
    IOP_TRY(set_str(p, dd, "ModuleName", id->module_name));
    IOP_TRY(set_str(p, dd, "ModuleRevLevel", id->module_rev));
    IOP_TRY(set_u(p, dd, "SNFormat", id->sn_format));
    IOP_TRY(iop_params_set(p, dd, "SerialNumber", NULL, 0, sn, sizeof(sn)));

    const uint16_t ui = IOP_PARAMS_GROUP_USER_INFO;
    IOP_TRY(set_str(p, ui, "DeviceName", id->device_name));
    IOP_TRY(set_str(p, ui, "ServiceName", id->service_name));
    IOP_TRY(set_str(p, ui, "PhysicalLocation", id->physical_location));
    IOP_TRY(set_u(p, ui, "InstanceNumber", id->instance));

    const uint16_t sg = IOP_PARAMS_GROUP_SGL_LIMITS;
    IOP_TRY(set_u(p, sg, "SglChainSize", DEFAULT_FRAME_WORDS * 4));
    IOP_TRY(set_u(p, sg, "SglChainSizeMax", DEFAULT_FRAME_WORDS * 4));
    IOP_TRY(set_u(p, sg, "SglChainSizeTarget", DEFAULT_FRAME_WORDS * 4));
    IOP_TRY(set_u(p, sg, "SglFragCount", DEFAULT_SGL_FRAGS));
    IOP_TRY(set_u(p, sg, "SglFragCountMax", DEFAULT_SGL_FRAGS));
    IOP_TRY(set_u(p, sg, "SglFragCountTarget", DEFAULT_SGL_FRAGS));
    return 0;
}

/* Defaults for a zero iop_params_exec_info field: a small IOP of the i960 era. */
#define DEFAULT_PROC_MEMORY (4u << 20)
#define DEFAULT_FRAMES 32u          /* inbound and outbound message frames */
#define DEFAULT_PAGE_SIZE 4096u
#define DEFAULT_EVENT_Q 32u         /* I2O_EVT_Q_LEN: the per-open event ring of i2o_config */
#define DEFAULT_DDM_LOAD_MAX 8u     /* I2O_MAX_DRIVERS */
#define DEFAULT_MODULE_LIMIT 16u
#define DEFAULT_STORE_SPACE (1u << 20)
#define INIT_CODE_OS 0x80u          /* I2O_MESSAGE_IF_INIT_CODE_OS: the OS owns the IOP */

#define OR_DEFAULT(v, d) ((v) ? (v) : (d))

int iop_params_add_exec_groups(struct iop_params *p, const struct iop_params_exec_info *in) {
    assert(p && in);
    IOP_TRY(params_add_std_groups(p, exec_groups, IOP_ARRAY_SIZE(exec_groups)));

    uint32_t mem = OR_DEFAULT(in->processor_memory, DEFAULT_PROC_MEMORY);
    const uint16_t hw = IOP_PARAMS_GROUP_EXEC_HW;
    IOP_TRY(set_u(p, hw, "I2oVendorID", in->vendor_id));
    IOP_TRY(set_u(p, hw, "ProductID", in->product_id));
    IOP_TRY(set_u(p, hw, "ProcessorMemory", mem));
    IOP_TRY(set_u(p, hw, "PermMemory", in->perm_memory));
    IOP_TRY(set_u(p, hw, "HWCapabilities", in->hw_capabilities));
    IOP_TRY(set_u(p, hw, "ProcessorType", in->processor_type));
    IOP_TRY(set_u(p, hw, "ProcessorVersion", in->processor_version));

    uint32_t in_size = OR_DEFAULT(in->inbound_frame_size, DEFAULT_FRAME_WORDS);
    uint32_t in_max = OR_DEFAULT(in->inbound_max, DEFAULT_FRAMES);
    uint32_t out_size = OR_DEFAULT(in->outbound_frame_size, DEFAULT_FRAME_WORDS);
    uint32_t out_max = OR_DEFAULT(in->outbound_max, DEFAULT_FRAMES);
    const uint16_t mi = IOP_PARAMS_GROUP_EXEC_MSG_IF;
    IOP_TRY(set_u(p, mi, "InboundFrameSize", in_size));
    IOP_TRY(set_u(p, mi, "InboundSizeTarget", in_size));
    IOP_TRY(set_u(p, mi, "InboundMax", in_max));
    IOP_TRY(set_u(p, mi, "InboundTarget", in_max));
    IOP_TRY(set_u(p, mi, "InboundPoolCount", in_max));
    IOP_TRY(set_u(p, mi, "InboundCurrentFree", in_max));
    IOP_TRY(set_u(p, mi, "OutboundFrameSize", out_size));
    IOP_TRY(set_u(p, mi, "OutboundMax", out_max));
    IOP_TRY(set_u(p, mi, "OutboundMaxTarget", out_max));
    IOP_TRY(set_u(p, mi, "OutboundCurrentFree", out_max));
    IOP_TRY(set_u(p, mi, "InitCode", INIT_CODE_OS));

    const uint16_t env = IOP_PARAMS_GROUP_EXEC_ENV;
    IOP_TRY(set_u(p, env, "MemTotal", mem));
    IOP_TRY(set_u(p, env, "MemFree", mem));
    IOP_TRY(set_u(p, env, "PageSize", OR_DEFAULT(in->page_size, DEFAULT_PAGE_SIZE)));
    IOP_TRY(set_u(p, env, "EventQMax", DEFAULT_EVENT_Q));
    IOP_TRY(set_u(p, env, "DDMLoadMax", DEFAULT_DDM_LOAD_MAX));

    const uint16_t st = IOP_PARAMS_GROUP_EXEC_STORE;
    IOP_TRY(set_u(p, st, "ModuleLimit", OR_DEFAULT(in->module_limit, DEFAULT_MODULE_LIMIT)));
    IOP_TRY(set_u(p, st, "FreeSpace", OR_DEFAULT(in->store_space, DEFAULT_STORE_SPACE)));

    const uint16_t sw = IOP_PARAMS_GROUP_EXEC_SW_ATTR;
    IOP_TRY(set_u(p, sw, "I2oVendorID", in->vendor_id));
    IOP_TRY(set_u(p, sw, "ProductID", in->product_id));
    IOP_TRY(set_u(p, sw, "CodeSize", in->code_size));
    IOP_TRY(set_u(p, sw, "SWCapabilities", in->sw_capabilities));
    return 0;
}
