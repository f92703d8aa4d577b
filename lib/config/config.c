#include "lib/config/config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/config/json-get.h"
#include "lib/config/json-split.h"
#include "lib/usb/uevent.h"
#include "lib/util/cleanup.h"

IOP_DEFINE_CLEANUP(json_object, json_object_put)
IOP_DEFINE_CLEANUP(struct iop_config, iop_config_free)

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

/* Optional unsigned members described by a table (slot, field), stored into a struct. */
struct uint_member {
    uint8_t key;  /* slot */
    uint8_t size; /* 1, 2 or 4 bytes */
    size_t off;
    uint64_t max;
};

/* TIDs are 12 bits (the parsers below refuse more). */
#define IOP_CONFIG_TID_LIMIT 0x1000u
#define UM(type, key, field, max) { key, sizeof(((type *)0)->field), offsetof(type, field), max }

static int get_uint_members(struct cfg_ctx *p, const char *path, const char *const *keys, const struct cfg_slot *val,
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

struct string_member {
    uint8_t key; /* slot */
    size_t off;
    size_t size;
};

#define SM(type, key, field) { key, offsetof(type, field), sizeof(((type *)0)->field) }

static int get_string_members(struct cfg_ctx *p, const char *path, const char *const *keys,
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
static int get_bool_member(struct cfg_ctx *p, const char *path, const char *const *keys, const struct cfg_slot *val,
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
    if ((r = get_uint_members(p, path, keys, val, a, ums, IOP_ARRAY_SIZE(ums))) < 0)
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
    if ((r = get_uint_members(p, path, keys, val, d, ums, IOP_ARRAY_SIZE(ums))) < 0 ||
        (r = get_string_members(p, path, keys, val, d, sms, IOP_ARRAY_SIZE(sms))) < 0 ||
        (r = get_bool_member(p, path, keys, val, D_USB, &d->usb)) < 0 ||
        (r = get_bool_member(p, path, keys, val, D_SCSI_PORT, &d->scsi_port)) < 0)
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

static int parse_iop(struct cfg_ctx *p, const char *path, json_object *o, struct iop_config_iop *iop) {
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

const char *iop_config_node_name_error(const char *name) {
    if (!name || !*name || name[0] == '/')
        return "expected a relative name below /dev such as \"i2o/ctl\"";
    if (strlen(name) >= IOP_CONFIG_NODE_NAME_MAX)
        return "too long";
    for (const char *c = name; *c; c++)
        if (!(*c == '/' || *c == '-' || *c == '_' || *c == '.' || (*c >= '0' && *c <= '9') ||
              (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
            return "only letters, digits, '-', '_', '.' and '/' are allowed in a node name";
    /* Component by component: none empty, none "." or ".." (a name never leaves /dev). */
    for (const char *c = name; *c;) {
        size_t n = strcspn(c, "/");
        if (n == 0)
            return "empty path components are not allowed in a node name";
        if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return "\".\" and \"..\" are not allowed in a node name";
        c += n;
        if (*c == '/' && !*++c)
            return "empty path components are not allowed in a node name";
    }
    return NULL;
}

/* A node name below /dev (iop_config_node_name_error). */
static int check_node_name(struct cfg_ctx *p, const char *path, const char *name) {
    const char *why = iop_config_node_name_error(name);
    return why ? cfg_fail(p, path, "%s", why) : 0;
}

static int parse_nodes(struct cfg_ctx *p, const char *path, json_object *o, struct iop_config_nodes *n) {
    enum {
        N_CTL, N_CTL_ALIAS, N_CTL_ALIAS_ENABLED, N_USBMON, N_USBMON_BIN, N_USBMON_BIN_ALT, N_USBMON_ENABLED,
        N_USER, N_GROUP, N_MODE, N_KEYS
    };
    static const char *const keys[N_KEYS + 1] = {
        [N_CTL] = "ctl", [N_CTL_ALIAS] = "ctl_alias", [N_CTL_ALIAS_ENABLED] = "ctl_alias_enabled",
        [N_USBMON] = "usbmon", [N_USBMON_BIN] = "usbmon_bin", [N_USBMON_BIN_ALT] = "usbmon_bin_alt",
        [N_USBMON_ENABLED] = "usbmon_enabled", [N_USER] = "user", [N_GROUP] = "group", [N_MODE] = "mode",
    };
    static const struct string_member sms[] = {
        SM(struct iop_config_nodes, N_CTL, ctl),
        SM(struct iop_config_nodes, N_CTL_ALIAS, ctl_alias),
        SM(struct iop_config_nodes, N_USBMON, usbmon),
        SM(struct iop_config_nodes, N_USBMON_BIN, usbmon_bin),
        SM(struct iop_config_nodes, N_USBMON_BIN_ALT, usbmon_bin_alt),
        SM(struct iop_config_nodes, N_USER, user),
        SM(struct iop_config_nodes, N_GROUP, group),
    };
    static const struct uint_member ums[] = {
        UM(struct iop_config_nodes, N_MODE, mode, 0777), /* "0660" is octal, as chmod reads it */
    };
    char sub[160];
    struct cfg_slot val[N_KEYS];
    int r;

    if (!json_object_is_type(o, json_type_object))
        return cfg_fail(p, path, "expected an object, got %s", cfg_describe(o));
    if ((r = cfg_members(p, path, o, keys, val)) < 0 ||
        (r = get_string_members(p, path, keys, val, n, sms, IOP_ARRAY_SIZE(sms))) < 0 ||
        (r = get_uint_members(p, path, keys, val, n, ums, IOP_ARRAY_SIZE(ums))) < 0 ||
        (r = get_bool_member(p, path, keys, val, N_USBMON_ENABLED, &n->usbmon_enabled)) < 0 ||
        (r = get_bool_member(p, path, keys, val, N_CTL_ALIAS_ENABLED, &n->ctl_alias_enabled)) < 0)
        return r;
    snprintf(sub, sizeof(sub), "%s.ctl", path);
    if ((r = check_node_name(p, sub, n->ctl)) < 0)
        return r;
    snprintf(sub, sizeof(sub), "%s.ctl_alias", path);
    if (n->ctl_alias_enabled && (r = check_node_name(p, sub, n->ctl_alias)) < 0)
        return r;
    if (strcmp(n->ctl_alias, n->ctl) == 0) /* the node has that name already */
        n->ctl_alias_enabled = false;
    snprintf(sub, sizeof(sub), "%s.usbmon", path);
    if ((r = check_node_name(p, sub, n->usbmon)) < 0)
        return r;
    snprintf(sub, sizeof(sub), "%s.usbmon_bin", path);
    if ((r = check_node_name(p, sub, n->usbmon_bin)) < 0)
        return r;
    snprintf(sub, sizeof(sub), "%s.usbmon_bin_alt", path);
    if ((r = check_node_name(p, sub, n->usbmon_bin_alt)) < 0)
        return r;
    if (strcmp(n->usbmon_bin, n->usbmon_bin_alt) == 0)
        return cfg_fail(p, sub, "must differ from usbmon_bin (it is used when those names are taken)");
    if (!n->user[0] || !n->group[0])
        return cfg_fail(p, path, "user and group must not be empty");
    return 0;
}

/* "B-P[.P...]": a device by place, as sysfs names it (/sys/bus/usb/devices/1-2.3 is
 * bus 1, port 2 of the root hub, port 3 of the hub there).  Decimal. */
static int parse_usb_port(struct cfg_ctx *p, const char *path, const char *s, struct iop_config_usb_match *m) {
    static const char want[] = "expected \"BUS-PORT[.PORT...]\" (decimal, as in /sys/bus/usb/devices)";
    _Static_assert(IOP_CONFIG_USB_PORTS == IOP_USB_MAX_PORTS, "port path depths differ");
    int r = strncmp(s, "usb", 3) == 0 ? -EINVAL /* a root hub: not a place rules may name */
                                       : iop_usb_parse_sysfs_name(s, strlen(s), &m->bus, m->ports, &m->depth);
    if (r == -ERANGE)
        return cfg_fail(p, path, "%s, got \"%s\" (buses are 1-65535, ports 1-255)", want, s);
    if (r == -E2BIG)
        return cfg_fail(p, path, "%s, got \"%s\" (at most %u ports deep)", want, s, IOP_CONFIG_USB_PORTS);
    if (r < 0)
        return cfg_fail(p, path, "%s, got \"%s\"", want, s);
    m->by_port = true;
    return 0;
}

/* "vvvv:pppp" or "vvvv:*", hexadecimal as lsusb prints them; or a place, "B-P.P". */
static int parse_usb_id(struct cfg_ctx *p, const char *path, json_object *v, struct iop_config_usb_match *m) {
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    char *end;
    if (!s)
        return cfg_fail(p, path, "expected \"vvvv:pppp\", \"vvvv:*\" or \"BUS-PORT[.PORT...]\", got %s",
                        cfg_describe(v));
    if (!strchr(s, ':') && strchr(s, '-'))
        return parse_usb_port(p, path, s, m);
    unsigned long vid = strtoul(s, &end, 16);
    if (end == s || *end != ':' || vid > 0xFFFF)
        return cfg_fail(p, path, "expected \"vvvv:pppp\" or \"vvvv:*\" (hexadecimal), got \"%s\"", s);
    m->vid = (uint16_t)vid;
    if (strcmp(end + 1, "*") == 0) {
        m->any_pid = true;
        return 0;
    }
    const char *ps = end + 1;
    unsigned long pid = strtoul(ps, &end, 16);
    if (end == ps || *end || pid > 0xFFFF)
        return cfg_fail(p, path, "expected \"vvvv:pppp\" or \"vvvv:*\" (hexadecimal), got \"%s\"", s);
    m->pid = (uint16_t)pid;
    return 0;
}

static int parse_usb(struct cfg_ctx *p, const char *path, json_object *o, struct iop_config_usb *u) {
    static const char *const keys[] = { "enabled", "allow", "claim", NULL };
    char sub[160];
    json_object *v;
    int r;
    if (!json_object_is_type(o, json_type_object))
        return cfg_fail(p, path, "expected an object, got %s", cfg_describe(o));
    if ((r = cfg_check_keys(p, path, o, keys)) < 0)
        return r;
    if (cfg_member(o, "enabled", path, sub, sizeof(sub), &v) && (r = cfg_get_bool(p, sub, v, &u->enabled)) < 0)
        return r;
    if (cfg_member(o, "allow", path, sub, sizeof(sub), &v)) {
        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > IOP_CONFIG_USB_RULES)
            return cfg_fail(p, sub, "expected an array of at most %u device ids", IOP_CONFIG_USB_RULES);
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            char ip[192];
            cfg_path_index(ip, sizeof(ip), sub, i);
            if ((r = parse_usb_id(p, ip, json_object_array_get_idx(v, i), &u->allow[u->n_allow])) < 0)
                return r;
            u->n_allow++;
        }
    }
    if (cfg_member(o, "claim", path, sub, sizeof(sub), &v)) {
        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > IOP_CONFIG_USB_RULES)
            return cfg_fail(p, sub, "expected an array of at most %u rules", IOP_CONFIG_USB_RULES);
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            static const char *const ckeys[] = { "device", "detach_kernel_driver", NULL };
            char ip[192], kp[224];
            json_object *rule = json_object_array_get_idx(v, i), *x;
            struct iop_config_usb_match *m = &u->claim[u->n_claim];
            cfg_path_index(ip, sizeof(ip), sub, i);
            if (!json_object_is_type(rule, json_type_object))
                return cfg_fail(p, ip, "expected an object, got %s", cfg_describe(rule));
            if ((r = cfg_check_keys(p, ip, rule, ckeys)) < 0)
                return r;
            if (!cfg_member(rule, "device", ip, kp, sizeof(kp), &x))
                return cfg_fail(p, ip, "missing key \"device\"");
            if ((r = parse_usb_id(p, kp, x, m)) < 0)
                return r;
            if (cfg_member(rule, "detach_kernel_driver", ip, kp, sizeof(kp), &x) && (r = cfg_get_bool(p, kp, x, &m->detach)) < 0)
                return r;
            u->n_claim++;
        }
    }
    return 0;
}

static int parse_root(struct cfg_ctx *p, json_object *root, struct iop_config *cfg) {
    static const char *const keys[] = { "iops", "nodes", "usb", NULL };
    json_object *iops, *v;
    int r;

    cfg->nodes = (struct iop_config_nodes){ .ctl = "i2o/ctl", .ctl_alias = "i2octl", .ctl_alias_enabled = true,
                                            .usbmon = "usbmon", .usbmon_bin = "usbmon",
                                            .usbmon_bin_alt = "iopd/usbmon", .usbmon_enabled = true,
                                            .user = "root", .group = "root", .mode = 0600 };

    if (!json_object_is_type(root, json_type_object))
        return cfg_fail(p, "$", "expected an object, got %s", cfg_describe(root));
    if ((r = cfg_check_keys(p, "$", root, keys)) < 0)
        return r;
    if (json_object_object_get_ex(root, "nodes", &v) && (r = parse_nodes(p, "$.nodes", v, &cfg->nodes)) < 0)
        return r;
    cfg->usb.enabled = true;
    if (json_object_object_get_ex(root, "usb", &v) && (r = parse_usb(p, "$.usb", v, &cfg->usb)) < 0)
        return r;
    if (!json_object_object_get_ex(root, "iops", &iops))
        return cfg_fail(p, "$", "missing key \"iops\"");
    if (!json_object_is_type(iops, json_type_array))
        return cfg_fail(p, "$.iops", "expected an array, got %s", cfg_describe(iops));
    size_t n = json_object_array_length(iops);
    if (n > MAX_I2O_CONTROLLERS)
        return cfg_fail(p, "$.iops", "at most %d IOPs, got %zu", MAX_I2O_CONTROLLERS, n);
    for (size_t i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof(path), "$.iops[%zu]", i);
        cfg->n_iops++; /* counted first so a partial entry is freed */
        if ((r = parse_iop(p, path, json_object_array_get_idx(iops, i), &cfg->iop[i])) < 0)
            return r;
        for (size_t j = 0; j < i; j++)
            if (cfg->iop[j].unit == cfg->iop[i].unit)
                return cfg_fail(p, path, "unit %u is already used by $.iops[%zu]", cfg->iop[i].unit, j);
    }
    return 0;
}

/* json-c's nesting limit for the whole text (ours is 4 deep); an IOP parsed on its own
 * sits two levels higher (below the root object and the "iops" array), so it gets two
 * fewer: both ways refuse the same texts. */
#define CONFIG_JSON_DEPTH 64
#define CONFIG_IOP_JSON_DEPTH (CONFIG_JSON_DEPTH - 2)

/* The IOPs of a split text, parsed by one or more threads: each takes the next piece. */
struct split_job {
    const char *text;
    const struct iop_json_span *span;
    size_t n;
    const char *origin;
    struct iop_config *cfg;
    atomic_size_t next;
    atomic_int result; /* 0, 1 (refused: go the whole way) or -ENOMEM */
};

/* Piece i into cfg->iop[i]: 0, 1 or -ENOMEM. */
static int parse_piece(struct split_job *j, size_t i) {
    json_tokener *tok = json_tokener_new_ex(CONFIG_IOP_JSON_DEPTH);
    if (!tok)
        return -ENOMEM;
    size_t plen = j->span[i].end - j->span[i].start;
    json_object *obj = json_tokener_parse_ex(tok, j->text + j->span[i].start, (int)plen);
    int r = obj && json_tokener_get_error(tok) == json_tokener_success &&
            json_tokener_get_parse_end(tok) == plen ? 0 : 1;
    json_tokener_free(tok);
    if (r == 0) {
        struct cfg_ctx p = { .origin = j->origin };
        char path[64];
        cfg_path_index(path, sizeof(path), "$.iops", i);
        r = parse_iop(&p, path, obj, &j->cfg->iop[i]) < 0 ? 1 : 0;
        free(p.err);
    }
    json_object_put(obj);
    return r;
}

static void *split_worker(void *opaque) {
    struct split_job *j = opaque;
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n || atomic_load(&j->result) != 0)
            return NULL;
        int r = parse_piece(j, i);
        if (r != 0) {
            int zero = 0;
            atomic_compare_exchange_strong(&j->result, &zero, r);
        }
    }
}

/* Texts this large get more threads than one for their IOPs (json-c's trees are
 * independent): a 32 x 1000 configuration is 3.5 MB; the built-in one is 2 KiB. */
#define SPLIT_THREADS_MIN_BYTES (256u << 10)
#define SPLIT_THREADS_MAX 4

/* The text parsed in pieces: json-c builds the tree of everything but the IOPs' array
 * (checked in full: the array is there, empty), then of one IOP at a time, freed before
 * the next (json-split.h says why), on up to SPLIT_THREADS_MAX threads for a large text.
 * Returns 0 with *ret, -ENOMEM, or 1: not done this way -- the text is not split
 * (json-split.h), or anything at all was refused; the caller then parses the whole
 * text, which gives the same result or the same message as before this way existed
 * (json-c's error and our first complaint come in text order there). */
static int parse_split(const char *text, size_t len, const char *origin, struct iop_config **ret) {
    struct iop_json_span span[MAX_I2O_CONTROLLERS];
    size_t n = 0, open = 0, close = 0;
    if (iop_json_split_member_array(text, len, "iops", span, MAX_I2O_CONTROLLERS, &n, &open,
                                    &close) < 0)
        return 1;
    /* The text without the array's elements: "...[" then "]...". */
    size_t head = open + 1, tail = len - close;
    _cleanup_free_ char *skel = malloc(head + tail);
    if (!skel)
        return -ENOMEM;
    memcpy(skel, text, head);
    memcpy(skel + head, text + close, tail);
    struct cfg_ctx p = { .origin = origin };
    _cleanup_(iop_config_freep) struct iop_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return -ENOMEM;
    json_tokener *tok = json_tokener_new_ex(CONFIG_JSON_DEPTH);
    if (!tok)
        return -ENOMEM;
    json_object *root = json_tokener_parse_ex(tok, skel, (int)(head + tail));
    bool whole = root && json_tokener_get_error(tok) == json_tokener_success;
    for (size_t i = json_tokener_get_parse_end(tok); whole && i < head + tail; i++)
        whole = skel[i] == ' ' || skel[i] == '\n' || skel[i] == '\t' || skel[i] == '\r';
    json_tokener_free(tok);
    int r = whole && parse_root(&p, root, cfg) == 0 ? 0 : 1;
    json_object_put(root);
    free(p.err);
    if (r != 0)
        return r;

    /* Every entry counts from the start: unparsed ones are zero, partial ones freeable. */
    cfg->n_iops = (unsigned)n;
    struct split_job job = { .text = text, .span = span, .n = n, .origin = origin, .cfg = cfg };
    pthread_t th[SPLIT_THREADS_MAX - 1];
    unsigned n_th = 0;
    long cpus = len >= SPLIT_THREADS_MIN_BYTES ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
    while (n_th + 1 < (unsigned)IOP_MIN(cpus, SPLIT_THREADS_MAX) && n_th + 1 < n &&
           pthread_create(&th[n_th], NULL, split_worker, &job) == 0)
        n_th++;
    split_worker(&job);
    for (unsigned t = 0; t < n_th; t++)
        pthread_join(th[t], NULL);
    r = atomic_load(&job.result);
    for (size_t i = 1; i < n && r == 0; i++)
        for (size_t k = 0; k < i && r == 0; k++)
            if (cfg->iop[k].unit == cfg->iop[i].unit)
                r = 1;
    if (r == 0)
        *ret = TAKE_PTR(cfg);
    return r;
}

int iop_config_parse(const char *text, size_t len, const char *origin, struct iop_config **ret, char **err) {
    return iop_config_parse_ex(text, len, origin, 0, ret, err);
}

int iop_config_parse_ex(const char *text, size_t len, const char *origin, unsigned flags,
                        struct iop_config **ret, char **err) {
    struct cfg_ctx p = { .origin = origin ? origin : "<config>" };
    assert(text && ret);

    if (err)
        *err = NULL;
    if (len > IOP_CONFIG_MAX_BYTES || len > INT32_MAX) {
        cfg_fail(&p, "$", "file too large (%zu bytes, at most %u)", len, IOP_CONFIG_MAX_BYTES);
        goto out;
    }
    if (!(flags & IOP_CONFIG_PARSE_WHOLE)) {
        int r = parse_split(text, len, p.origin, ret);
        if (r <= 0)
            return r;
        if (flags & IOP_CONFIG_PARSE_SPLIT_ONLY)
            return -EAGAIN;
    }
    {
        json_tokener *tok = json_tokener_new_ex(CONFIG_JSON_DEPTH);
        if (!tok)
            return -ENOMEM;
        _cleanup_(json_object_putp) json_object *root = json_tokener_parse_ex(tok, text, (int)len);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        size_t off = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (!root || jerr != json_tokener_success) {
            unsigned line = 1, col = 1;
            for (size_t i = 0; i < off && i < len; i++, col++)
                if (text[i] == '\n')
                    line++, col = 0;
            cfg_fail(&p, "$", "invalid JSON at line %u, column %u: %s", line, col,
                     jerr == json_tokener_continue ? "unexpected end of input"
                                                   : json_tokener_error_desc(jerr));
            goto out;
        }
        for (size_t i = off; i < len; i++)
            if (text[i] != ' ' && text[i] != '\n' && text[i] != '\t' && text[i] != '\r') {
                cfg_fail(&p, "$", "unexpected data after the JSON value (offset %zu)", i);
                goto out;
            }
        _cleanup_(iop_config_freep) struct iop_config *cfg = calloc(1, sizeof(*cfg));
        if (!cfg)
            return -ENOMEM;
        if (parse_root(&p, root, cfg) == 0) {
            *ret = TAKE_PTR(cfg);
            return 0;
        }
    }
out:
    if (err)
        *err = p.err;
    else
        free(p.err);
    return -EINVAL;
}

int iop_config_load_file(const char *path, struct iop_config **ret, char **err) {
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (err)
        *err = NULL;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = -errno;
        if (err && asprintf(err, "%s: %s", path, strerror(-e)) < 0)
            *err = NULL;
        return e;
    }
    if (!S_ISREG(st.st_mode)) {
        if (err && asprintf(err, "%s: not a regular file", path) < 0)
            *err = NULL;
        return -EINVAL;
    }
    if (st.st_size > (off_t)IOP_CONFIG_MAX_BYTES) {
        if (err && asprintf(err, "%s: file too large (%lld bytes, at most %u)", path,
                            (long long)st.st_size, IOP_CONFIG_MAX_BYTES) < 0)
            *err = NULL;
        return -EFBIG;
    }
    _cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return -ENOMEM;
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = -errno;
            if (err && asprintf(err, "%s: %s", path, strerror(-e)) < 0)
                *err = NULL;
            return e;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got > (size_t)st.st_size) { /* grew while reading */
            if (err && asprintf(err, "%s: file changed while being read", path) < 0)
                *err = NULL;
            return -EAGAIN;
        }
    }
    return iop_config_parse(buf, got, path, ret, err);
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
