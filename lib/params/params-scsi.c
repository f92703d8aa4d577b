#include "lib/params/params-scsi.h"

#include <errno.h>
#include <stdio.h>

#include "lib/params/params-internal.h"
#include "lib/params/params.h"
#include "lib/util/cleanup.h"

/* 0000 HBA Controller Information: I2O_HBA_CONTROLLER_INFO_SCALAR, 16 bytes. */
static const struct fdef hba_controller[] = {
    { "BusType", IOP_PARAMS_U8, 0, RO },   /* 0x01 SCSI */
    { "BusState", IOP_PARAMS_U8, 0, RO },
    { "Reserved2", IOP_PARAMS_U16, 0, RO },
    { "BusName", IOP_PARAMS_STRING, 12, RO },
};
/* 0200 HBA SCSI Controller Information: I2O_HBA_SCSI_CONTROLLER_INFO_SCALAR, 28 bytes
 * (dpt_i2o reads 28 and takes word 1). */
static const struct fdef hba_scsi_controller[] = {
    { "SCSIType", IOP_PARAMS_U8, 0, RO },
    { "ProtectionManagement", IOP_PARAMS_U8, 0, RO },
    { "Settings", IOP_PARAMS_U8, 0, RO },
    { "Reserved1", IOP_PARAMS_U8, 0, RO },
    { "InitiatorID", IOP_PARAMS_U32, 0, RO },
    { "ScanLun0Only", IOP_PARAMS_U64, 0, RO },
    { "DisableDevice", IOP_PARAMS_U16, 0, RO },
    { "MaxOffset", IOP_PARAMS_U8, 0, RO },
    { "MaxDataWidth", IOP_PARAMS_U8, 0, RO },
    { "MaxSyncRate", IOP_PARAMS_U64, 0, RO },
};
/* 0201 HBA SCSI Bus Port Information: I2O_HBA_SCSI_BUS_PORT_INFO_SCALAR, 36 bytes. */
static const struct fdef hba_scsi_port[] = {
    { "PhysicalInterface", IOP_PARAMS_U8, 0, RO },
    { "ElectricalInterface", IOP_PARAMS_U8, 0, RO },
    { "Isochronous", IOP_PARAMS_U8, 0, RO },
    { "ConnectorType", IOP_PARAMS_U8, 0, RO },
    { "ConnectorGender", IOP_PARAMS_U8, 0, RO },
    { "Reserved1", IOP_PARAMS_U8, 0, RO },
    { "Reserved2", IOP_PARAMS_U16, 0, RO },
    { "MaxNumberDevices", IOP_PARAMS_U32, 0, RO },
    { "DeviceIdBegin", IOP_PARAMS_U32, 0, RO },
    { "DeviceIdEnd", IOP_PARAMS_U32, 0, RO },
    { "LunBegin", IOP_PARAMS_BYTES, 8, RO },
    { "LunEnd", IOP_PARAMS_BYTES, 8, RO },
};
static const struct gdef port_groups[] = {
    GROUP(IOP_PARAMS_GROUP_HBA_CONTROLLER, "HBA Controller Information", IOP_PARAMS_SCALAR, hba_controller),
    GROUP(IOP_PARAMS_GROUP_HBA_SCSI_CONTROLLER, "SCSI Controller Information", IOP_PARAMS_SCALAR,
          hba_scsi_controller),
    GROUP(IOP_PARAMS_GROUP_HBA_SCSI_PORT, "SCSI Bus Port Information", IOP_PARAMS_SCALAR, hba_scsi_port),
};

/* 0000 SCSI Device Information: I2O_SCSI_DEVICE_INFO_SCALAR, 36 bytes. */
static const struct fdef scsi_device[] = {
    { "DeviceType", IOP_PARAMS_U8, 0, RO },
    { "Flags", IOP_PARAMS_U8, 0, RO },
    { "Reserved2", IOP_PARAMS_U16, 0, RO },
    { "Identifier", IOP_PARAMS_U32, 0, RO },
    { "LunInfo", IOP_PARAMS_BYTES, 8, RO },
    { "QueueDepth", IOP_PARAMS_U32, 0, RO },
    { "Reserved1a", IOP_PARAMS_U8, 0, RO },
    { "NegOffset", IOP_PARAMS_U8, 0, RO },
    { "NegDataWidth", IOP_PARAMS_U8, 0, RO },
    { "Reserved1b", IOP_PARAMS_U8, 0, RO },
    { "NegSyncRate", IOP_PARAMS_U64, 0, RO },
};
/* DPT 8000 Device Information: I2O_DPT_DEVICE_INFO_SCALAR, 16 bytes. */
static const struct fdef dpt_device[] = {
    { "DeviceType", IOP_PARAMS_U8, 0, RO },
    { "Flags", IOP_PARAMS_U8, 0, RO },
    { "Bus", IOP_PARAMS_U16, 0, RO },
    { "Identifier", IOP_PARAMS_U32, 0, RO },
    { "LunInfo", IOP_PARAMS_BYTES, 8, RO }, /* SCSI-2 8-bit LUN at offset 1 */
};
static const struct gdef dpt_device_groups[] = {
    GROUP(IOP_PARAMS_GROUP_DPT_DEVICE, "DPT Device Information", IOP_PARAMS_SCALAR, dpt_device),
};
static const struct gdef scsi_device_groups[] = {
    GROUP(IOP_PARAMS_GROUP_SCSI_DEVICE, "SCSI Device Information", IOP_PARAMS_SCALAR, scsi_device),
};
/* DPT 8000 on the executive: I2O_DPT_EXEC_IOP_BUFFERS_SCALAR, 16 bytes. */
static const struct fdef dpt_exec[] = {
    { "SerialOutputOffset", IOP_PARAMS_U32, 0, RO },
    { "SerialOutputSize", IOP_PARAMS_U32, 0, RO },
    { "SerialHeaderSize", IOP_PARAMS_U32, 0, RO },
    { "SerialFlagsSupported", IOP_PARAMS_U32, 0, RO },
};
static const struct gdef dpt_exec_groups[] = {
    GROUP(IOP_PARAMS_GROUP_DPT_EXEC_BUFS, "DPT Exec IOP Buffers", IOP_PARAMS_SCALAR, dpt_exec),
};

int iop_params_add_scsi_port_groups(struct iop_params *p, unsigned bus, unsigned initiator_id) {
    IOP_TRY(params_add_std_groups(p, port_groups, IOP_ARRAY_SIZE(port_groups)));
    char name[13];
    snprintf(name, sizeof(name), "SCSI%u", bus);
    IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_HBA_CONTROLLER, "BusType", NULL, 0, 0x01));
    IOP_TRY(iop_params_set_string(p, IOP_PARAMS_GROUP_HBA_CONTROLLER, "BusName", NULL, 0, name));
    IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_HBA_SCSI_CONTROLLER, "SCSIType", NULL, 0, 0x03));
    IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_HBA_SCSI_CONTROLLER, "ProtectionManagement", NULL, 0, 0x02));
    /* parity enabled, initiator id specified */
    IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_HBA_SCSI_CONTROLLER, "Settings", NULL, 0, 0x05));
    IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_HBA_SCSI_CONTROLLER, "InitiatorID", NULL, 0, initiator_id));
    IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_HBA_SCSI_CONTROLLER, "MaxOffset", NULL, 0, 15));
    IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_HBA_SCSI_CONTROLLER, "MaxDataWidth", NULL, 0, 16));
    IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_HBA_SCSI_CONTROLLER, "MaxSyncRate", NULL, 0, 160000000));
    IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_HBA_SCSI_PORT, "MaxNumberDevices", NULL, 0, 16));
    IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_HBA_SCSI_PORT, "DeviceIdEnd", NULL, 0, 15));
    static const uint8_t lun_end[8] = { 0, 7 };
    return iop_params_set(p, IOP_PARAMS_GROUP_HBA_SCSI_PORT, "LunEnd", NULL, 0, lun_end, sizeof(lun_end));
}

int iop_params_add_scsi_device_groups(struct iop_params *p, unsigned bus, unsigned target, unsigned lun,
                                      int scsi_peripheral) {
    const uint8_t lun_info[8] = { 0, (uint8_t)lun };
    IOP_TRY(params_add_std_groups(p, dpt_device_groups, IOP_ARRAY_SIZE(dpt_device_groups)));
    /* type 0 (direct access); flags: parallel, disconnect, 16-bit wide, sync */
    IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_DPT_DEVICE, "Flags", NULL, 0, 0xA4));
    IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_DPT_DEVICE, "Bus", NULL, 0, bus));
    IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_DPT_DEVICE, "Identifier", NULL, 0, target));
    IOP_TRY(iop_params_set(p, IOP_PARAMS_GROUP_DPT_DEVICE, "LunInfo", NULL, 0, lun_info, sizeof(lun_info)));
    if (!scsi_peripheral)
        return 0;
    IOP_TRY(params_add_std_groups(p, scsi_device_groups, IOP_ARRAY_SIZE(scsi_device_groups)));
    IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_SCSI_DEVICE, "Flags", NULL, 0, 0xA4));
    IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_SCSI_DEVICE, "Identifier", NULL, 0, target));
    IOP_TRY(iop_params_set(p, IOP_PARAMS_GROUP_SCSI_DEVICE, "LunInfo", NULL, 0, lun_info, sizeof(lun_info)));
    IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_SCSI_DEVICE, "QueueDepth", NULL, 0, 32));
    IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_SCSI_DEVICE, "NegOffset", NULL, 0, 15));
    IOP_TRY(iop_params_set_uint(p, IOP_PARAMS_GROUP_SCSI_DEVICE, "NegDataWidth", NULL, 0, 16));
    return iop_params_set_uint(p, IOP_PARAMS_GROUP_SCSI_DEVICE, "NegSyncRate", NULL, 0, 160000000);
}

int iop_params_add_dpt_exec_group(struct iop_params *p) {
    return params_add_std_groups(p, dpt_exec_groups, IOP_ARRAY_SIZE(dpt_exec_groups));
}
