/* iopd's configuration: JSON (json-c) parsed into plain C structs; no json-c type
 * escapes this module.  Every error names the file, the JSON path and what was
 * expected ("iopd.json: $.iops[1].unit: expected an integer 0..31, got \"x\"");
 * unknown keys are errors too, so a typo never silently falls back to a default.
 * Integers may also be written as strings in hex ("0x330"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/i2o-dev.h>

#define IOP_CONFIG_MAX_BYTES (4u << 20) /* refuse absurd files before parsing */
#define IOP_CONFIG_MAX_ADAPTERS 64u     /* = IOP_MAX_ADAPTERS */
#define IOP_CONFIG_MAX_DEVICES 1024u    /* = IOP_MAX_DEVICES */

struct iop_config_adapter {
    uint32_t adapter_id;
    uint8_t bus_type;   /* I2O_BUS_* */
    uint8_t bus_num;
    uint8_t state;
    uint16_t parent_tid;
    /* ISA/EISA/local/other: */
    uint16_t io_port;
    uint32_t mem_base;
    uint8_t csn;        /* ISA */
    uint8_t dma_channel; /* ISA: kept in i2o_isa_bus's reserved byte; 0xFF none */
    /* PCI: */
    uint8_t pci_bus, pci_device, pci_function;
    uint16_t pci_vendor, pci_product;
};

/* Parameter groups a device declares beyond the standard ones, and initial values. */
enum iop_config_ftype { IOP_CFG_U8, IOP_CFG_U16, IOP_CFG_U32, IOP_CFG_U64, IOP_CFG_STRING, IOP_CFG_BYTES };

#define IOP_CONFIG_NAME_MAX 48u         /* group and field names, with the NUL */
#define IOP_CONFIG_MAX_GROUPS 32u       /* custom groups per device */
#define IOP_CONFIG_MAX_FIELDS 64u       /* fields per custom group */
#define IOP_CONFIG_MAX_ROWS 256u        /* initial rows per table group */
#define IOP_CONFIG_MAX_VALUES 1024u     /* values per device, rows included */
#define IOP_CONFIG_MAX_FIELD_SIZE 1024u /* = IOP_PARAMS_FIELD_SIZE_MAX */

struct iop_config_field {
    char name[IOP_CONFIG_NAME_MAX];
    enum iop_config_ftype type;
    uint16_t size;          /* strings and bytes */
    bool writable, key;
    bool has_range;
    uint64_t min, max;
};

struct iop_config_group {
    uint16_t number;
    char name[IOP_CONFIG_NAME_MAX];
    bool table;
    bool row_add, row_delete, clear; /* what UtilParamsSet may do to a table's rows */
    struct iop_config_field *field;  /* owned */
    unsigned n_fields;
    unsigned n_rows;                 /* initial rows (their values are in the device's list) */
};

/* One initial value: field of group (of row `row` of a table group declared here, or
 * -1 for a scalar group, custom or standard). */
struct iop_config_value {
    uint16_t group;
    int row;
    char field[IOP_CONFIG_NAME_MAX];
    bool is_string;
    uint64_t u;
    char *s;                /* owned: the string as written (hex digits for bytes fields) */
    char path[224];         /* "file: $.json.path": where it was written, for errors */
};

#define IOP_CONFIG_SCSI_AUTO 0xFF
#define IOP_CONFIG_SCSI_BUSES 5u     /* dpt_i2o's MAX_CHANNEL */
#define IOP_CONFIG_SCSI_TARGETS 128u /* dpt_i2o's MAX_ID */

struct iop_config_device {
    uint16_t tid;
    uint16_t class_id;
    uint8_t class_version;
    uint32_t sub_class;
    uint16_t vendor_id;
    uint16_t parent_tid;
    uint16_t user_tid;
    char identity[9];   /* LCT identity_tag, 8 bytes, space-padded on the wire */
    uint32_t event_capabilities;
    uint32_t device_flags;
    /* Device identity strings (parameter group 0xF100). */
    char vendor_info[17], product_info[17], description[17], revision[9], serial[65];
    /* Class specifics. */
    uint32_t adapter_id;  /* bus adapters: the HRT adapter they drive (0: none) */
    bool usb;             /* bus adapters: the USB bus adapter (USB devices appear below it) */
    uint32_t blocks;      /* block storage, SCSI peripheral: capacity in blocks */
    uint32_t block_size;  /* block storage, SCSI peripheral: bytes per block */
    bool scsi_port;       /* bus adapters: a SCSI bus port (the DPT-style channel) */
    /* Block storage and SCSI peripherals: the SCSI address dpt_i2o reads from DPT group
     * 0x8000.  scsi_target IOP_CONFIG_SCSI_AUTO: the next free id on the bus. */
    uint8_t scsi_bus, scsi_target, scsi_lun;
    struct iop_config_group *group; /* owned */
    unsigned n_groups;
    struct iop_config_value *value; /* owned */
    unsigned n_values, cap_values;
};

struct iop_config_iop {
    unsigned unit;
    char product_id[25];
    bool answers;
    struct iop_config_adapter adapter[IOP_CONFIG_MAX_ADAPTERS];
    unsigned n_adapters;
    struct iop_config_device *device; /* owned array */
    unsigned n_devices;
};

/* The device nodes: names below /dev, and who may open them. */
#define IOP_CONFIG_NODE_NAME_MAX 64u /* with the NUL */
struct iop_config_nodes {
    char ctl[IOP_CONFIG_NODE_NAME_MAX];       /* "i2o/ctl" */
    char ctl_alias[IOP_CONFIG_NODE_NAME_MAX]; /* "i2octl": the same device under its older name (off when equal to ctl) */
    bool ctl_alias_enabled;
    char usbmon[IOP_CONFIG_NODE_NAME_MAX];    /* "usbmon": /dev/usbmon/0u, /dev/usbmon/1u, 1t ... */
    char usbmon_bin[IOP_CONFIG_NODE_NAME_MAX]; /* "usbmon": the binary nodes /dev/usbmon0, /dev/usbmon1 ... */
    char usbmon_bin_alt[IOP_CONFIG_NODE_NAME_MAX]; /* "iopd/usbmon": bus N's binary node where /dev/<usbmon_bin>N is taken */
    bool usbmon_enabled; /* text and binary nodes */
    char user[33], group[33]; /* owner of every node; "root" */
    uint32_t mode;       /* 0600 */
};

/* USB devices as I2O devices (lib/i2o/usbtids.h). */
#define IOP_CONFIG_USB_RULES 32u
#define IOP_CONFIG_USB_PORTS 7u /* USB 2.0: at most 5 hubs below the root hub, +1 */
struct iop_config_usb_match {
    uint16_t vid, pid;
    bool any_pid;   /* "vvvv:*" */
    bool detach;    /* claim: may detach a kernel driver */
    bool by_port;   /* "B-P.P...": bus B, ports from the root hub down (sysfs names) */
    uint16_t bus;
    uint8_t depth;
    uint8_t ports[IOP_CONFIG_USB_PORTS];
};
struct iop_config_usb {
    bool enabled;   /* default true */
    struct iop_config_usb_match allow[IOP_CONFIG_USB_RULES]; /* none: every device */
    unsigned n_allow;
    struct iop_config_usb_match claim[IOP_CONFIG_USB_RULES];
    unsigned n_claim;
};

struct iop_config {
    struct iop_config_iop iop[MAX_I2O_CONTROLLERS];
    unsigned n_iops;
    struct iop_config_nodes nodes;
    struct iop_config_usb usb;
};

/* The configuration iopd uses when no file is given: one realistic simulated IOP. */
extern const char iop_config_default_json[];

/* Parse text (len bytes, need not be NUL-terminated).  origin names the source in
 * messages (a file name, or "<built-in>").  On failure returns -EINVAL and, if err is
 * not NULL, a malloc'ed message. */
int iop_config_parse(const char *text, size_t len, const char *origin, struct iop_config **ret,
                     char **err);
/* The same, with flags: IOP_CONFIG_PARSE_WHOLE parses the text as one json-c tree, as
 * iop_config_parse() does only when it cannot split the text into IOPs (config-parse.c,
 * parse_split): the result must be the same both ways (tests and the config fuzz target
 * check it). */
#define IOP_CONFIG_PARSE_WHOLE 1u
/* For tests: -EAGAIN (no message) where the text would have gone the whole way. */
#define IOP_CONFIG_PARSE_SPLIT_ONLY 2u
int iop_config_parse_ex(const char *text, size_t len, const char *origin, unsigned flags,
                        struct iop_config **ret, char **err);
/* Read and parse a file; -errno from open/read, -EFBIG over IOP_CONFIG_MAX_BYTES. */
int iop_config_load_file(const char *path, struct iop_config **ret, char **err);
struct iop_config *iop_config_free(struct iop_config *cfg);
/* Whether two parsed configurations say the same, member by member (tests, fuzzing). */
bool iop_config_equal(const struct iop_config *a, const struct iop_config *b);

/* Why name cannot be a node name below /dev (the configuration's nodes.ctl and
 * nodes.usbmon, iopd --ctl-name), or NULL when it can: relative, at most
 * IOP_CONFIG_NODE_NAME_MAX - 1 characters of [A-Za-z0-9._/-], no empty, "." or ".."
 * component -- so it never names anything outside /dev. */
const char *iop_config_node_name_error(const char *name);

/* Class names accepted in "class" ("block-storage", ...); NULL for unknown ids. */
const char *iop_config_class_name(unsigned class_id);
