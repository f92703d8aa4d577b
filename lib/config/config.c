/* The IOPs of the configuration: each IOP's adapters and devices, with their parameter
 * groups, fields and values; the built-in default text; freeing a configuration. */
#include "lib/config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/config/config-internal.h"
#include "lib/config/json-get.h"
#include "lib/util/cleanup.h"

/* One IOP on an ISA bus adapter (DMA channel 5, a 16-bit channel), with the devices a
 * real I2O board showed: its DDM, the ISA bus adapter, a LAN port and the USB bus
 * adapter under which USB devices appear; and, as a DPT SmartRAID controller showed
 * them to dpt_i2o, a SCSI bus port (channel 0) with a logical disk (block storage,
 * target 0) and a physical SCSI disk (SCSI peripheral, target 1) on it. */
const char iop_config_default_json[] =
    "{\n"
    "  \"iops\": [\n"
    "    {\n"
    "      \"unit\": 0,\n"
    "      \"product_id\": \"iopd simulated IOP\",\n"
    "      \"adapters\": [\n"
    "        { \"adapter_id\": 1, \"bus\": \"isa\", \"io_port\": \"0x330\", \"csn\": 0,\n"
    "          \"mem_base\": \"0xd0000\", \"dma_channel\": 5 }\n"
    "      ],\n"
    "      \"devices\": [\n"
    "        { \"tid\": \"0x008\", \"class\": \"ddm\", \"identity\": \"IOPDDM\",\n"
    "          \"description\": \"iopd DDM\" },\n"
    "        { \"tid\": \"0x009\", \"class\": \"bus-adapter\", \"parent\": \"0x008\", \"identity\": \"ISA\",\n"
    "          \"description\": \"ISA bus adapter\", \"adapter\": 1 },\n"
    "        { \"tid\": \"0x00d\", \"class\": \"bus-adapter\", \"parent\": \"0x008\", \"identity\": \"SCSI0\",\n"
    "          \"description\": \"SCSI channel 0\", \"scsi_port\": true },\n"
    "        { \"tid\": \"0x00a\", \"class\": \"block-storage\", \"parent\": \"0x00d\", \"identity\": \"DISK0\",\n"
    "          \"description\": \"Simulated disk\", \"blocks\": 2048, \"block_size\": 512,\n"
    "          \"scsi_bus\": 0, \"scsi_target\": 0 },\n"
    "        { \"tid\": \"0x00b\", \"class\": \"lan\", \"parent\": \"0x008\", \"identity\": \"LAN0\",\n"
    "          \"description\": \"Simulated LAN\" },\n"
    "        { \"tid\": \"0x00c\", \"class\": \"bus-adapter\", \"parent\": \"0x008\", \"identity\": \"USB\",\n"
    "          \"description\": \"USB bus adapter\", \"usb\": true },\n"
    "        { \"tid\": \"0x00e\", \"class\": \"scsi-peripheral\", \"parent\": \"0x00d\", \"identity\": \"SCSIDSK1\",\n"
    "          \"description\": \"SCSI disk\", \"blocks\": 4096, \"block_size\": 512,\n"
    "          \"scsi_bus\": 0, \"scsi_target\": 1 }\n"
    "      ]\n"
    "    }\n"
    "  ]\n"
    "}\n";

static const struct {
    const char *name;
    uint16_t id;
} classes[] = {
    { "executive", I2O_CLASS_EXECUTIVE },
    { "ddm", I2O_CLASS_DDM },
    { "block-storage", I2O_CLASS_RANDOM_BLOCK_STORAGE },
    { "sequential-storage", I2O_CLASS_SEQUENTIAL_STORAGE },
    { "lan", I2O_CLASS_LAN },
    { "wan", I2O_CLASS_WAN },
    { "fc-port", I2O_CLASS_FIBRE_CHANNEL_PORT },
    { "fc-peripheral", I2O_CLASS_FIBRE_CHANNEL_PERIPHERAL },
    { "scsi-peripheral", I2O_CLASS_SCSI_PERIPHERAL },
    { "ate-port", I2O_CLASS_ATE_PORT },
    { "ate-peripheral", I2O_CLASS_ATE_PERIPHERAL },
    { "floppy-controller", I2O_CLASS_FLOPPY_CONTROLLER },
    { "floppy", I2O_CLASS_FLOPPY_DEVICE },
    { "bus-adapter", I2O_CLASS_BUS_ADAPTER },
    { "peer-transport-agent", I2O_CLASS_PEER_TRANSPORT_AGENT },
    { "peer-transport", I2O_CLASS_PEER_TRANSPORT },
};

const char *iop_config_class_name(unsigned class_id) {
    for (size_t i = 0; i < IOP_ARRAY_SIZE(classes); i++)
        if (classes[i].id == class_id)
            return classes[i].name;
    return NULL;
}

static const struct {
    const char *name;
    uint8_t type;
} buses[] = {
    { "local", I2O_BUS_LOCAL }, { "isa", I2O_BUS_ISA }, { "eisa", I2O_BUS_EISA },
    { "pci", I2O_BUS_PCI }, { "pcmcia", I2O_BUS_PCMCIA }, { "nubus", I2O_BUS_NUBUS },
    { "cardbus", I2O_BUS_CARDBUS }, { "unknown", I2O_BUS_UNKNOWN },
};

/* Objects of many optional keys are read in one pass (cfg_members): an enum names
 * each allowed key's slot, in the order the keys are listed in messages. */

/* "PATH.KEY" of slot k, for a message. */
static const char *member_path(char *sub, size_t size, const char *path, const char *const *keys, unsigned k) {
    cfg_path_key(sub, size, path, keys[k]);
    return sub;
}

/* TIDs are 12 bits (the parsers below refuse more). */
#define IOP_CONFIG_TID_LIMIT 0x1000u

int cfg_get_uint_members(struct cfg_ctx *p, const char *path, const char *const *keys, const struct cfg_slot *val,
                         void *base, const struct uint_member *m, size_t n) {
    for (size_t i = 0; i < n; i++) {
        json_object *v = val[m[i].key].v;
        uint64_t x;
        if (!val[m[i].key].given)
            continue;
        if (cfg_get_uint(NULL, NULL, v, m[i].max, &x) < 0) {
            char sub[160];
            return cfg_get_uint(p, member_path(sub, sizeof(sub), path, keys, m[i].key), v, m[i].max, &x);
        }
        uint8_t *dst = (uint8_t *)base + m[i].off;
        if (m[i].size == 1)
            *dst = (uint8_t)x;
        else if (m[i].size == 2)
            *(uint16_t *)(void *)dst = (uint16_t)x;
        else
            *(uint32_t *)(void *)dst = (uint32_t)x;
    }
    return 0;
}

int cfg_get_string_members(struct cfg_ctx *p, const char *path, const char *const *keys,
                           const struct cfg_slot *val, void *base, const struct string_member *m, size_t n) {
    for (size_t i = 0; i < n; i++) {
        json_object *v = val[m[i].key].v;
        char *dst = (char *)base + m[i].off;
        if (val[m[i].key].given && cfg_get_string(NULL, NULL, v, dst, m[i].size) < 0) {
            char sub[160];
            return cfg_get_string(p, member_path(sub, sizeof(sub), path, keys, m[i].key), v, dst, m[i].size);
        }
    }
    return 0;
}

/* An optional boolean in slot k. */
int cfg_get_bool_member(struct cfg_ctx *p, const char *path, const char *const *keys, const struct cfg_slot *val,
                        unsigned k, bool *out) {
    char sub[160];
    if (!val[k].given || cfg_get_bool(NULL, NULL, val[k].v, out) == 0)
        return 0;
    return cfg_get_bool(p, member_path(sub, sizeof(sub), path, keys, k), val[k].v, out);
}

static int parse_adapter(struct cfg_ctx *p, const char *path, json_object *o, struct iop_config_adapter *a) {
    enum {
        A_ADAPTER_ID, A_BUS, A_BUS_NUM, A_STATE, A_PARENT_TID, A_IO_PORT, A_MEM_BASE, A_CSN,
        A_DMA_CHANNEL, A_PCI_BUS, A_PCI_DEVICE, A_PCI_FUNCTION, A_PCI_VENDOR, A_PCI_PRODUCT, A_KEYS
    };
    static const char *const keys[A_KEYS + 1] = {
        [A_ADAPTER_ID] = "adapter_id", [A_BUS] = "bus", [A_BUS_NUM] = "bus_num", [A_STATE] = "state",
        [A_PARENT_TID] = "parent_tid", [A_IO_PORT] = "io_port", [A_MEM_BASE] = "mem_base", [A_CSN] = "csn",
        [A_DMA_CHANNEL] = "dma_channel", [A_PCI_BUS] = "pci_bus", [A_PCI_DEVICE] = "pci_device",
        [A_PCI_FUNCTION] = "pci_function", [A_PCI_VENDOR] = "pci_vendor", [A_PCI_PRODUCT] = "pci_product",
    };
    static const struct uint_member ums[] = {
        UM(struct iop_config_adapter, A_ADAPTER_ID, adapter_id, UINT32_MAX),
        UM(struct iop_config_adapter, A_BUS_NUM, bus_num, 0xFF),
        UM(struct iop_config_adapter, A_STATE, state, 0xF),
        UM(struct iop_config_adapter, A_PARENT_TID, parent_tid, 0xFFF),
        UM(struct iop_config_adapter, A_IO_PORT, io_port, 0xFFFF),
        UM(struct iop_config_adapter, A_MEM_BASE, mem_base, UINT32_MAX),
        UM(struct iop_config_adapter, A_CSN, csn, 0xFF),
        /* 8237 channels 0-3 and 5-7; 4 is the cascade and never usable */
        UM(struct iop_config_adapter, A_DMA_CHANNEL, dma_channel, 7),
        UM(struct iop_config_adapter, A_PCI_BUS, pci_bus, 0xFF),
        UM(struct iop_config_adapter, A_PCI_DEVICE, pci_device, 31),
        UM(struct iop_config_adapter, A_PCI_FUNCTION, pci_function, 7),
        UM(struct iop_config_adapter, A_PCI_VENDOR, pci_vendor, 0xFFFF),
        UM(struct iop_config_adapter, A_PCI_PRODUCT, pci_product, 0xFFFF),
    };
    char sub[160];
    struct cfg_slot val[A_KEYS];
    int r;

    if (!json_object_is_type(o, json_type_object))
        return cfg_fail(p, path, "expected an object, got %s", cfg_describe(o));
    if ((r = cfg_members(p, path, o, keys, val)) < 0)
        return r;
    *a = (struct iop_config_adapter){ .bus_type = I2O_BUS_ISA, .dma_channel = 0xFF };
    if (!val[A_ADAPTER_ID].given)
        return cfg_fail(p, path, "missing key \"adapter_id\"");
    if (val[A_BUS].given) {
        json_object *v = val[A_BUS].v;
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        size_t i;
        for (i = 0; i < IOP_ARRAY_SIZE(buses); i++)
            if (strcmp(s, buses[i].name) == 0)
                break;
        if (i == IOP_ARRAY_SIZE(buses))
            return cfg_fail(p, member_path(sub, sizeof(sub), path, keys, A_BUS),
                            "expected one of local, isa, eisa, pci, pcmcia, nubus, cardbus, unknown");
        a->bus_type = buses[i].type;
    }
    if ((r = cfg_get_uint_members(p, path, keys, val, a, ums, IOP_ARRAY_SIZE(ums))) < 0)
        return r;
    if (a->dma_channel == 4)
        return cfg_fail(p, path, "dma_channel 4 is the cascade between the two 8237s and cannot be used");
    if (a->dma_channel != 0xFF && a->bus_type != I2O_BUS_ISA)
        return cfg_fail(p, path, "dma_channel is only meaningful on an isa adapter");
    return 0;
}

static int parse_class(struct cfg_ctx *p, const char *path, json_object *v, uint16_t *out) {
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        for (size_t i = 0; i < IOP_ARRAY_SIZE(classes); i++)
            if (strcmp(s, classes[i].name) == 0) {
                *out = classes[i].id;
                return 0;
            }
        if (strncmp(s, "0x", 2) != 0)
            return cfg_fail(p, path, "unknown class \"%s\" (a class name such as block-storage, or a number)", s);
    }
    uint64_t x;
    int r = cfg_get_uint(p, path, v, 0xFFF, &x);
    *out = (uint16_t)x;
    return r;
}

static const struct {
    const char *name;
    enum iop_config_ftype type;
    uint16_t size;
} ftypes[] = {
    { "u8", IOP_CFG_U8, 1 }, { "u16", IOP_CFG_U16, 2 }, { "u32", IOP_CFG_U32, 4 },
    { "u64", IOP_CFG_U64, 8 }, { "string", IOP_CFG_STRING, 0 }, { "bytes", IOP_CFG_BYTES, 0 },
};

/* A value as written: an unsigned integer or a string; the field decides later. */
static int parse_value(struct cfg_ctx *p, const char *path, json_object *v, struct iop_config_device *d,
                       uint16_t group, int row, const char *field) {
    if (d->n_values >= IOP_CONFIG_MAX_VALUES)
        return cfg_fail(p, path, "at most %u values per device", IOP_CONFIG_MAX_VALUES);
    if (d->n_values == d->cap_values) {
        unsigned cap = d->cap_values ? d->cap_values * 2 : 8;
        struct iop_config_value *n = realloc(d->value, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        d->value = n;
        d->cap_values = cap;
    }
    struct iop_config_value *val = &d->value[d->n_values];
    *val = (struct iop_config_value){ .group = group, .row = row };
    snprintf(val->field, sizeof(val->field), "%s", field);
    snprintf(val->path, sizeof(val->path), "%s: %s", p->origin, path);
    if (json_object_is_type(v, json_type_string)) {
        size_t len = (size_t)json_object_get_string_len(v);
        if (len > IOP_CONFIG_MAX_FIELD_SIZE * 2)
            return cfg_fail(p, path, "string too long (%zu bytes)", len);
        if (memchr(json_object_get_string(v), '\0', len))
            return cfg_fail(p, path, "string contains a NUL byte");
        if (!(val->s = strdup(json_object_get_string(v))))
            return -ENOMEM;
        val->is_string = true;
    } else if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0) {
        val->u = (uint64_t)json_object_get_int64(v);
    } else if (json_object_is_type(v, json_type_int) && json_object_get_uint64(v) > INT64_MAX) {
        val->u = json_object_get_uint64(v);
    } else {
        return cfg_fail(p, path, "expected a non-negative integer or a string, got %s", cfg_describe(v));
    }
    d->n_values++;
    return 0;
}

static int parse_group_number(struct cfg_ctx *p, const char *path, const char *s, uint16_t *out) {
    char *end;
    errno = 0;
    unsigned long x = strtoul(s, &end, 0);
    if (!*s || *s == '-' || *end || errno || x > 0xFFFF)
        return cfg_fail(p, path, "\"%s\" is not a group number (0..0xffff)", s);
    *out = (uint16_t)x;
    return 0;
}

static int parse_field(struct cfg_ctx *p, const char *path, json_object *o, struct iop_config_field *f) {
    static const char *const keys[] = { "name", "type", "size", "writable", "key", "min", "max", NULL };
    char sub[192];
    json_object *v;
    uint64_t x;
    int r;
    if (!json_object_is_type(o, json_type_object))
        return cfg_fail(p, path, "expected an object, got %s", cfg_describe(o));
    if ((r = cfg_check_keys(p, path, o, keys)) < 0)
        return r;
    if (!cfg_member(o, "name", path, sub, sizeof(sub), &v))
        return cfg_fail(p, path, "missing key \"name\"");
    if ((r = cfg_get_string(p, sub, v, f->name, sizeof(f->name))) < 0)
        return r;
    if (!f->name[0])
        return cfg_fail(p, sub, "a field needs a name");
    if (!cfg_member(o, "type", path, sub, sizeof(sub), &v))
        return cfg_fail(p, path, "missing key \"type\"");
    const char *t = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
    size_t i;
    for (i = 0; i < IOP_ARRAY_SIZE(ftypes); i++)
        if (strcmp(t, ftypes[i].name) == 0)
            break;
    if (i == IOP_ARRAY_SIZE(ftypes))
        return cfg_fail(p, sub, "expected one of u8, u16, u32, u64, string, bytes");
    f->type = ftypes[i].type;
    f->size = ftypes[i].size;
    if (cfg_member(o, "size", path, sub, sizeof(sub), &v)) {
        if (f->size)
            return cfg_fail(p, sub, "integer fields have their own size");
        if ((r = cfg_get_uint(p, sub, v, IOP_CONFIG_MAX_FIELD_SIZE, &x)) < 0)
            return r;
        f->size = (uint16_t)x;
    }
    if (!f->size)
        return cfg_fail(p, path, "string and bytes fields need a \"size\" (1..%u)", IOP_CONFIG_MAX_FIELD_SIZE);
    if (cfg_member(o, "writable", path, sub, sizeof(sub), &v) && (r = cfg_get_bool(p, sub, v, &f->writable)) < 0)
        return r;
    if (cfg_member(o, "key", path, sub, sizeof(sub), &v) && (r = cfg_get_bool(p, sub, v, &f->key)) < 0)
        return r;
    bool has_min = cfg_member(o, "min", path, sub, sizeof(sub), &v);
    if (has_min && (r = cfg_get_uint(p, sub, v, UINT64_MAX, &f->min)) < 0)
        return r;
    f->max = UINT64_MAX;
    bool has_max = cfg_member(o, "max", path, sub, sizeof(sub), &v);
    if (has_max && (r = cfg_get_uint(p, sub, v, UINT64_MAX, &f->max)) < 0)
        return r;
    f->has_range = has_min || has_max;
    if (f->has_range && f->type >= IOP_CFG_STRING)
        return cfg_fail(p, path, "min and max belong to integer fields");
    if (f->has_range && f->min > f->max)
        return cfg_fail(p, path, "min is greater than max");
    return 0;
}

static int parse_custom_group(struct cfg_ctx *p, const char *path, json_object *o, struct iop_config_device *d,
                              struct iop_config_group *g) {
    static const char *const keys[] = { "number", "name", "table", "row_add", "row_delete", "clear",
                                        "fields", "rows", NULL };
    char sub[192];
    json_object *v;
    uint64_t x;
    int r;
    if (!json_object_is_type(o, json_type_object))
        return cfg_fail(p, path, "expected an object, got %s", cfg_describe(o));
    if ((r = cfg_check_keys(p, path, o, keys)) < 0)
        return r;
    if (!cfg_member(o, "number", path, sub, sizeof(sub), &v))
        return cfg_fail(p, path, "missing key \"number\"");
    if ((r = cfg_get_uint(p, sub, v, 0xFFFF, &x)) < 0)
        return r;
    g->number = (uint16_t)x;
    if (!cfg_member(o, "name", path, sub, sizeof(sub), &v))
        return cfg_fail(p, path, "missing key \"name\"");
    if ((r = cfg_get_string(p, sub, v, g->name, sizeof(g->name))) < 0)
        return r;
    static const struct { const char *key; size_t off; } flags[] = {
        { "table", offsetof(struct iop_config_group, table) },
        { "row_add", offsetof(struct iop_config_group, row_add) },
        { "row_delete", offsetof(struct iop_config_group, row_delete) },
        { "clear", offsetof(struct iop_config_group, clear) },
    };
    for (size_t i = 0; i < IOP_ARRAY_SIZE(flags); i++)
        if (cfg_member(o, flags[i].key, path, sub, sizeof(sub), &v) &&
            (r = cfg_get_bool(p, sub, v, (bool *)((uint8_t *)g + flags[i].off))) < 0)
            return r;
    if (!g->table && (g->row_add || g->row_delete || g->clear))
        return cfg_fail(p, path, "row_add, row_delete and clear belong to table groups");
    if (!cfg_member(o, "fields", path, sub, sizeof(sub), &v))
        return cfg_fail(p, path, "missing key \"fields\"");
    if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0 ||
        json_object_array_length(v) > IOP_CONFIG_MAX_FIELDS)
        return cfg_fail(p, sub, "expected an array of 1..%u fields", IOP_CONFIG_MAX_FIELDS);
    size_t n = json_object_array_length(v);
    if (!(g->field = calloc(n, sizeof(*g->field))))
        return -ENOMEM;
    unsigned keys_seen = 0;
    for (size_t i = 0; i < n; i++) {
        char fp[224];
        cfg_path_index(fp, sizeof(fp), sub, i);
        if ((r = parse_field(p, fp, json_object_array_get_idx(v, i), &g->field[i])) < 0)
            return r;
        g->n_fields++;
        keys_seen += g->field[i].key;
        for (size_t j = 0; j < i; j++)
            if (strcmp(g->field[j].name, g->field[i].name) == 0)
                return cfg_fail(p, fp, "field \"%s\" is declared twice", g->field[i].name);
    }
    if (keys_seen > 1 || (keys_seen && !g->table))
        return cfg_fail(p, path, "a table group has at most one key field, a scalar group none");
    if (cfg_member(o, "rows", path, sub, sizeof(sub), &v)) {
        if (!g->table)
            return cfg_fail(p, sub, "rows belong to table groups; scalar values go in \"params\"");
        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > IOP_CONFIG_MAX_ROWS)
            return cfg_fail(p, sub, "expected an array of at most %u rows", IOP_CONFIG_MAX_ROWS);
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            char rp[224];
            json_object *row = json_object_array_get_idx(v, i);
            cfg_path_index(rp, sizeof(rp), sub, i);
            if (!json_object_is_type(row, json_type_object))
                return cfg_fail(p, rp, "expected an object of field values, got %s", cfg_describe(row));
            json_object_object_foreach(row, fname, fval) {
                char vp[288];
                cfg_path_key(vp, sizeof(vp), rp, fname);
                if ((r = parse_value(p, vp, fval, d, g->number, (int)i, fname)) < 0)
                    return r;
            }
            g->n_rows++;
        }
    }
    return 0;
}

static int parse_groups(struct cfg_ctx *p, const char *path, json_object *v, struct iop_config_device *d) {
    if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > IOP_CONFIG_MAX_GROUPS)
        return cfg_fail(p, path, "expected an array of at most %u groups", IOP_CONFIG_MAX_GROUPS);
    size_t n = json_object_array_length(v);
    if (!(d->group = calloc(n ? n : 1, sizeof(*d->group))))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char gp[192];
        int r;
        cfg_path_index(gp, sizeof(gp), path, i);
        d->n_groups++;
        if ((r = parse_custom_group(p, gp, json_object_array_get_idx(v, i), d, &d->group[i])) < 0)
            return r;
        for (size_t j = 0; j < i; j++)
            if (d->group[j].number == d->group[i].number)
                return cfg_fail(p, gp, "group 0x%04x is declared twice", d->group[i].number);
    }
    return 0;
}

/* "params": { "0xF102": { "DeviceName": "disk0" } }: values of scalar groups. */
static int parse_params(struct cfg_ctx *p, const char *path, json_object *v, struct iop_config_device *d) {
    if (!json_object_is_type(v, json_type_object))
        return cfg_fail(p, path, "expected an object of groups, got %s", cfg_describe(v));
    json_object_object_foreach(v, gname, fields) {
        char gp[192];
        uint16_t group = 0;
        int r;
        cfg_path_key(gp, sizeof(gp), path, gname);
        if ((r = parse_group_number(p, gp, gname, &group)) < 0)
            return r;
        if (!json_object_is_type(fields, json_type_object))
            return cfg_fail(p, gp, "expected an object of field values, got %s", cfg_describe(fields));
        json_object_object_foreach(fields, fname, fval) {
            char vp[288];
            cfg_path_key(vp, sizeof(vp), gp, fname);
            if ((r = parse_value(p, vp, fval, d, group, -1, fname)) < 0)
                return r;
        }
    }
    return 0;
}

static int parse_device(struct cfg_ctx *p, const char *path, json_object *o, struct iop_config_device *d) {
    enum {
        D_TID, D_CLASS, D_CLASS_VERSION, D_SUB_CLASS, D_VENDOR_ID, D_PARENT, D_USER_TID, D_IDENTITY,
        D_EVENT_CAPABILITIES, D_DEVICE_FLAGS, D_VENDOR_INFO, D_PRODUCT_INFO, D_DESCRIPTION, D_REVISION,
        D_SERIAL, D_ADAPTER, D_USB, D_BLOCKS, D_BLOCK_SIZE, D_SCSI_PORT, D_SCSI_BUS, D_SCSI_TARGET,
        D_SCSI_LUN, D_GROUPS, D_PARAMS, D_KEYS
    };
    static const char *const keys[D_KEYS + 1] = {
        [D_TID] = "tid", [D_CLASS] = "class", [D_CLASS_VERSION] = "class_version",
        [D_SUB_CLASS] = "sub_class", [D_VENDOR_ID] = "vendor_id", [D_PARENT] = "parent",
        [D_USER_TID] = "user_tid", [D_IDENTITY] = "identity", [D_EVENT_CAPABILITIES] = "event_capabilities",
        [D_DEVICE_FLAGS] = "device_flags", [D_VENDOR_INFO] = "vendor_info", [D_PRODUCT_INFO] = "product_info",
        [D_DESCRIPTION] = "description", [D_REVISION] = "revision", [D_SERIAL] = "serial",
        [D_ADAPTER] = "adapter", [D_USB] = "usb", [D_BLOCKS] = "blocks", [D_BLOCK_SIZE] = "block_size",
        [D_SCSI_PORT] = "scsi_port", [D_SCSI_BUS] = "scsi_bus", [D_SCSI_TARGET] = "scsi_target",
        [D_SCSI_LUN] = "scsi_lun", [D_GROUPS] = "groups", [D_PARAMS] = "params",
    };
    static const struct uint_member ums[] = {
        UM(struct iop_config_device, D_TID, tid, 0xFFF),
        UM(struct iop_config_device, D_CLASS_VERSION, class_version, 0xF),
        UM(struct iop_config_device, D_SUB_CLASS, sub_class, UINT32_MAX),
        UM(struct iop_config_device, D_VENDOR_ID, vendor_id, 0xFFFF),
        UM(struct iop_config_device, D_PARENT, parent_tid, 0xFFF),
        UM(struct iop_config_device, D_USER_TID, user_tid, 0xFFF),
        UM(struct iop_config_device, D_EVENT_CAPABILITIES, event_capabilities, UINT32_MAX),
        UM(struct iop_config_device, D_DEVICE_FLAGS, device_flags, UINT32_MAX),
        UM(struct iop_config_device, D_ADAPTER, adapter_id, UINT32_MAX),
        UM(struct iop_config_device, D_BLOCKS, blocks, UINT32_MAX),
        UM(struct iop_config_device, D_BLOCK_SIZE, block_size, 65536),
        UM(struct iop_config_device, D_SCSI_BUS, scsi_bus, IOP_CONFIG_SCSI_BUSES - 1),
        UM(struct iop_config_device, D_SCSI_TARGET, scsi_target, IOP_CONFIG_SCSI_TARGETS - 1),
        UM(struct iop_config_device, D_SCSI_LUN, scsi_lun, 7),
    };
    static const struct string_member sms[] = {
        SM(struct iop_config_device, D_IDENTITY, identity),
        SM(struct iop_config_device, D_VENDOR_INFO, vendor_info),
        SM(struct iop_config_device, D_PRODUCT_INFO, product_info),
        SM(struct iop_config_device, D_DESCRIPTION, description),
        SM(struct iop_config_device, D_REVISION, revision),
        SM(struct iop_config_device, D_SERIAL, serial),
    };
    char sub[160];
    struct cfg_slot val[D_KEYS];
    int r;

    if (!json_object_is_type(o, json_type_object))
        return cfg_fail(p, path, "expected an object, got %s", cfg_describe(o));
    if ((r = cfg_members(p, path, o, keys, val)) < 0)
        return r;
    *d = (struct iop_config_device){
        .class_version = 1, .vendor_id = 0x001b, .user_tid = 0xFFF,
        .event_capabilities = 0xFFC00000u, /* the generic indicators */
        .scsi_target = IOP_CONFIG_SCSI_AUTO,
    };
    if (!val[D_TID].given)
        return cfg_fail(p, path, "missing key \"tid\"");
    if (!val[D_CLASS].given)
        return cfg_fail(p, path, "missing key \"class\"");
    if (parse_class(NULL, NULL, val[D_CLASS].v, &d->class_id) < 0)
        return parse_class(p, member_path(sub, sizeof(sub), path, keys, D_CLASS), val[D_CLASS].v, &d->class_id);
    if ((r = cfg_get_uint_members(p, path, keys, val, d, ums, IOP_ARRAY_SIZE(ums))) < 0 ||
        (r = cfg_get_string_members(p, path, keys, val, d, sms, IOP_ARRAY_SIZE(sms))) < 0 ||
        (r = cfg_get_bool_member(p, path, keys, val, D_USB, &d->usb)) < 0 ||
        (r = cfg_get_bool_member(p, path, keys, val, D_SCSI_PORT, &d->scsi_port)) < 0)
        return r;
    if (val[D_GROUPS].given &&
        (r = parse_groups(p, member_path(sub, sizeof(sub), path, keys, D_GROUPS), val[D_GROUPS].v, d)) < 0)
        return r;
    if (val[D_PARAMS].given &&
        (r = parse_params(p, member_path(sub, sizeof(sub), path, keys, D_PARAMS), val[D_PARAMS].v, d)) < 0)
        return r;
    if (d->tid < 2)
        return cfg_fail(p, path, "tid %u is reserved (0: the executive, 1: the host)", d->tid);
    if ((d->usb || d->adapter_id || d->scsi_port) && d->class_id != I2O_CLASS_BUS_ADAPTER)
        return cfg_fail(p, path, "\"usb\", \"adapter\" and \"scsi_port\" belong to bus-adapter devices");
    bool disk = d->class_id == I2O_CLASS_RANDOM_BLOCK_STORAGE || d->class_id == I2O_CLASS_SCSI_PERIPHERAL;
    if (disk) {
        if (!d->block_size)
            d->block_size = 512;
        if (d->block_size < 512 || (d->block_size & (d->block_size - 1)))
            return cfg_fail(p, path, "block_size must be a power of two from 512 to 65536");
        if (d->class_id == I2O_CLASS_SCSI_PERIPHERAL && !d->blocks)
            return cfg_fail(p, path, "a scsi-peripheral needs \"blocks\" (iopd models SCSI disks)");
    } else if (d->blocks || d->block_size) {
        return cfg_fail(p, path, "\"blocks\" and \"block_size\" belong to block-storage and scsi-peripheral devices");
    } else if (val[D_SCSI_BUS].given || val[D_SCSI_TARGET].given || val[D_SCSI_LUN].given) {
        return cfg_fail(p, path, "SCSI addresses belong to block-storage and scsi-peripheral devices");
    }
    return 0;
}

int cfg_parse_iop(struct cfg_ctx *p, const char *path, json_object *o, struct iop_config_iop *iop) {
    static const char *const keys[] = { "unit", "product_id", "answers", "adapters", "devices", NULL };
    char sub[160];
    json_object *v;
    uint64_t x;
    int r;

    if (!json_object_is_type(o, json_type_object))
        return cfg_fail(p, path, "expected an object, got %s", cfg_describe(o));
    if ((r = cfg_check_keys(p, path, o, keys)) < 0)
        return r;
    iop->answers = true;
    snprintf(iop->product_id, sizeof(iop->product_id), "iopd simulated IOP");
    if (!cfg_member(o, "unit", path, sub, sizeof(sub), &v))
        return cfg_fail(p, path, "missing key \"unit\"");
    if ((r = cfg_get_uint(p, sub, v, MAX_I2O_CONTROLLERS - 1, &x)) < 0)
        return r;
    iop->unit = (unsigned)x;
    if (cfg_member(o, "product_id", path, sub, sizeof(sub), &v) &&
        (r = cfg_get_string(p, sub, v, iop->product_id, sizeof(iop->product_id))) < 0)
        return r;
    if (cfg_member(o, "answers", path, sub, sizeof(sub), &v) && (r = cfg_get_bool(p, sub, v, &iop->answers)) < 0)
        return r;

    if (cfg_member(o, "adapters", path, sub, sizeof(sub), &v)) {
        if (!json_object_is_type(v, json_type_array))
            return cfg_fail(p, sub, "expected an array, got %s", cfg_describe(v));
        size_t n = json_object_array_length(v);
        if (n > IOP_CONFIG_MAX_ADAPTERS)
            return cfg_fail(p, sub, "at most %u adapters, got %zu", IOP_CONFIG_MAX_ADAPTERS, n);
        for (size_t i = 0; i < n; i++) {
            char ap[192];
            cfg_path_index(ap, sizeof(ap), sub, i);
            if ((r = parse_adapter(p, ap, json_object_array_get_idx(v, i), &iop->adapter[i])) < 0)
                return r;
            for (size_t j = 0; j < i; j++)
                if (iop->adapter[j].adapter_id == iop->adapter[i].adapter_id)
                    return cfg_fail(p, ap, "adapter_id %u is already used by %s[%zu]",
                                    iop->adapter[i].adapter_id, sub, j);
            iop->n_adapters++;
        }
    }
    if (cfg_member(o, "devices", path, sub, sizeof(sub), &v)) {
        if (!json_object_is_type(v, json_type_array))
            return cfg_fail(p, sub, "expected an array, got %s", cfg_describe(v));
        size_t n = json_object_array_length(v);
        if (n > IOP_CONFIG_MAX_DEVICES - 1) /* the executive takes one slot */
            return cfg_fail(p, sub, "at most %u devices, got %zu", IOP_CONFIG_MAX_DEVICES - 1, n);
        iop->device = calloc(n ? n : 1, sizeof(*iop->device));
        if (!iop->device)
            return -ENOMEM;
        /* Where each TID was listed (+1; 0: not yet): a thousand devices per IOP
         * must not cost a million comparisons. */
        uint16_t seen[IOP_CONFIG_TID_LIMIT] = { 0 };
        for (size_t i = 0; i < n; i++) {
            char dp[192];
            struct iop_config_device *d = &iop->device[i];
            cfg_path_index(dp, sizeof(dp), sub, i);
            iop->n_devices++; /* counted first so a partial entry is freed */
            if ((r = parse_device(p, dp, json_object_array_get_idx(v, i), d)) < 0)
                return r;
            if (seen[d->tid])
                return cfg_fail(p, dp, "tid 0x%03x is already used by %s[%u]", d->tid, sub, seen[d->tid] - 1u);
            bool parent_ok = d->parent_tid == 0 || seen[d->parent_tid];
            seen[d->tid] = (uint16_t)(i + 1);
            if (!parent_ok)
                return cfg_fail(p, dp, "parent 0x%03x is not a device listed before this one", d->parent_tid);
            if (d->adapter_id) {
                bool found = false;
                for (unsigned j = 0; j < iop->n_adapters; j++)
                    found |= iop->adapter[j].adapter_id == d->adapter_id;
                if (!found)
                    return cfg_fail(p, dp, "adapter %u is not in %s.adapters", d->adapter_id, path);
            }
        }
    }
    return 0;
}

static void device_free_contents(struct iop_config_device *d) {
    for (unsigned g = 0; g < d->n_groups; g++)
        free(d->group[g].field);
    free(d->group);
    for (unsigned k = 0; d->value && k < d->n_values; k++)
        free(d->value[k].s);
    free(d->value);
}

struct iop_config *iop_config_free(struct iop_config *cfg) {
    if (!cfg)
        return NULL;
    for (unsigned i = 0; i < cfg->n_iops; i++) {
        for (unsigned k = 0; k < cfg->iop[i].n_devices; k++)
            device_free_contents(&cfg->iop[i].device[k]);
        free(cfg->iop[i].device);
    }
    free(cfg);
    return NULL;
}
