#include "lib/config/config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/config/json-get.h"
#include "lib/util/cleanup.h"

IOP_DEFINE_CLEANUP(json_object, json_object_put)
IOP_DEFINE_CLEANUP(struct iop_config, iop_config_free)

/* One IOP on an ISA bus adapter (DMA channel 5, a 16-bit channel), with the devices a
 * real I2O board showed: its DDM, the ISA bus adapter, a disk below it, a LAN port,
 * and the USB bus adapter under which USB devices appear. */
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
    "        { \"tid\": \"0x00a\", \"class\": \"block-storage\", \"parent\": \"0x009\", \"identity\": \"DISK0\",\n"
    "          \"description\": \"Simulated disk\", \"blocks\": 2048, \"block_size\": 512 },\n"
    "        { \"tid\": \"0x00b\", \"class\": \"lan\", \"parent\": \"0x008\", \"identity\": \"LAN0\",\n"
    "          \"description\": \"Simulated LAN\" },\n"
    "        { \"tid\": \"0x00c\", \"class\": \"bus-adapter\", \"parent\": \"0x008\", \"identity\": \"USB\",\n"
    "          \"description\": \"USB bus adapter\", \"usb\": true }\n"
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

/* Optional unsigned members described by a table, stored into a struct. */
struct uint_member {
    const char *key;
    size_t off;
    uint8_t size; /* 1, 2 or 4 bytes */
    uint64_t max;
};

#define UM(type, key, field, max) { key, offsetof(type, field), sizeof(((type *)0)->field), max }

static int get_uint_members(struct cfg_ctx *p, const char *path, json_object *obj, void *base,
                            const struct uint_member *m, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char sub[160];
        json_object *v;
        uint64_t x;
        int r;
        if (!cfg_member(obj, m[i].key, path, sub, sizeof(sub), &v))
            continue;
        if ((r = cfg_get_uint(p, sub, v, m[i].max, &x)) < 0)
            return r;
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
    const char *key;
    size_t off;
    size_t size;
};

#define SM(type, key, field) { key, offsetof(type, field), sizeof(((type *)0)->field) }

static int get_string_members(struct cfg_ctx *p, const char *path, json_object *obj, void *base,
                              const struct string_member *m, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char sub[160];
        json_object *v;
        int r;
        if (cfg_member(obj, m[i].key, path, sub, sizeof(sub), &v) &&
            (r = cfg_get_string(p, sub, v, (char *)base + m[i].off, m[i].size)) < 0)
            return r;
    }
    return 0;
}

static int parse_adapter(struct cfg_ctx *p, const char *path, json_object *o, struct iop_config_adapter *a) {
    static const char *const keys[] = { "adapter_id", "bus", "bus_num", "state", "parent_tid",
                                        "io_port", "mem_base", "csn", "dma_channel", "pci_bus",
                                        "pci_device", "pci_function", "pci_vendor", "pci_product", NULL };
    static const struct uint_member ums[] = {
        UM(struct iop_config_adapter, "adapter_id", adapter_id, UINT32_MAX),
        UM(struct iop_config_adapter, "bus_num", bus_num, 0xFF),
        UM(struct iop_config_adapter, "state", state, 0xF),
        UM(struct iop_config_adapter, "parent_tid", parent_tid, 0xFFF),
        UM(struct iop_config_adapter, "io_port", io_port, 0xFFFF),
        UM(struct iop_config_adapter, "mem_base", mem_base, UINT32_MAX),
        UM(struct iop_config_adapter, "csn", csn, 0xFF),
        /* 8237 channels 0-3 and 5-7; 4 is the cascade and never usable */
        UM(struct iop_config_adapter, "dma_channel", dma_channel, 7),
        UM(struct iop_config_adapter, "pci_bus", pci_bus, 0xFF),
        UM(struct iop_config_adapter, "pci_device", pci_device, 31),
        UM(struct iop_config_adapter, "pci_function", pci_function, 7),
        UM(struct iop_config_adapter, "pci_vendor", pci_vendor, 0xFFFF),
        UM(struct iop_config_adapter, "pci_product", pci_product, 0xFFFF),
    };
    char sub[160];
    json_object *v;
    int r;

    if (!json_object_is_type(o, json_type_object))
        return cfg_fail(p, path, "expected an object, got %s", cfg_describe(o));
    if ((r = cfg_check_keys(p, path, o, keys)) < 0)
        return r;
    *a = (struct iop_config_adapter){ .bus_type = I2O_BUS_ISA, .dma_channel = 0xFF };
    if (!json_object_object_get_ex(o, "adapter_id", &v))
        return cfg_fail(p, path, "missing key \"adapter_id\"");
    if (cfg_member(o, "bus", path, sub, sizeof(sub), &v)) {
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        size_t i;
        for (i = 0; i < IOP_ARRAY_SIZE(buses); i++)
            if (strcmp(s, buses[i].name) == 0)
                break;
        if (i == IOP_ARRAY_SIZE(buses))
            return cfg_fail(p, sub, "expected one of local, isa, eisa, pci, pcmcia, nubus, cardbus, unknown");
        a->bus_type = buses[i].type;
    }
    if ((r = get_uint_members(p, path, o, a, ums, IOP_ARRAY_SIZE(ums))) < 0)
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

static int parse_device(struct cfg_ctx *p, const char *path, json_object *o, struct iop_config_device *d) {
    static const char *const keys[] = { "tid", "class", "class_version", "sub_class", "vendor_id",
                                        "parent", "user_tid", "identity", "event_capabilities",
                                        "device_flags", "vendor_info", "product_info", "description",
                                        "revision", "serial", "adapter", "usb", "blocks", "block_size",
                                        NULL };
    static const struct uint_member ums[] = {
        UM(struct iop_config_device, "tid", tid, 0xFFF),
        UM(struct iop_config_device, "class_version", class_version, 0xF),
        UM(struct iop_config_device, "sub_class", sub_class, UINT32_MAX),
        UM(struct iop_config_device, "vendor_id", vendor_id, 0xFFFF),
        UM(struct iop_config_device, "parent", parent_tid, 0xFFF),
        UM(struct iop_config_device, "user_tid", user_tid, 0xFFF),
        UM(struct iop_config_device, "event_capabilities", event_capabilities, UINT32_MAX),
        UM(struct iop_config_device, "device_flags", device_flags, UINT32_MAX),
        UM(struct iop_config_device, "adapter", adapter_id, UINT32_MAX),
        UM(struct iop_config_device, "blocks", blocks, UINT32_MAX),
        UM(struct iop_config_device, "block_size", block_size, 65536),
    };
    static const struct string_member sms[] = {
        SM(struct iop_config_device, "identity", identity),
        SM(struct iop_config_device, "vendor_info", vendor_info),
        SM(struct iop_config_device, "product_info", product_info),
        SM(struct iop_config_device, "description", description),
        SM(struct iop_config_device, "revision", revision),
        SM(struct iop_config_device, "serial", serial),
    };
    char sub[160];
    json_object *v;
    int r;

    if (!json_object_is_type(o, json_type_object))
        return cfg_fail(p, path, "expected an object, got %s", cfg_describe(o));
    if ((r = cfg_check_keys(p, path, o, keys)) < 0)
        return r;
    *d = (struct iop_config_device){
        .class_version = 1, .vendor_id = 0x001b, .user_tid = 0xFFF,
        .event_capabilities = 0xFFC00000u, /* the generic indicators */
    };
    if (!json_object_object_get_ex(o, "tid", &v))
        return cfg_fail(p, path, "missing key \"tid\"");
    if (!cfg_member(o, "class", path, sub, sizeof(sub), &v))
        return cfg_fail(p, path, "missing key \"class\"");
    if ((r = parse_class(p, sub, v, &d->class_id)) < 0)
        return r;
    if ((r = get_uint_members(p, path, o, d, ums, IOP_ARRAY_SIZE(ums))) < 0 ||
        (r = get_string_members(p, path, o, d, sms, IOP_ARRAY_SIZE(sms))) < 0)
        return r;
    if (cfg_member(o, "usb", path, sub, sizeof(sub), &v) && (r = cfg_get_bool(p, sub, v, &d->usb)) < 0)
        return r;
    if (d->tid < 2)
        return cfg_fail(p, path, "tid %u is reserved (0: the executive, 1: the host)", d->tid);
    if ((d->usb || d->adapter_id) && d->class_id != I2O_CLASS_BUS_ADAPTER)
        return cfg_fail(p, path, "\"usb\" and \"adapter\" belong to bus-adapter devices");
    if (d->class_id == I2O_CLASS_RANDOM_BLOCK_STORAGE) {
        if (!d->block_size)
            d->block_size = 512;
        if (d->block_size & (d->block_size - 1))
            return cfg_fail(p, path, "block_size must be a power of two");
    } else if (d->blocks || d->block_size) {
        return cfg_fail(p, path, "\"blocks\" and \"block_size\" belong to block-storage devices");
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
            snprintf(ap, sizeof(ap), "%s[%zu]", sub, i);
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
        for (size_t i = 0; i < n; i++) {
            char dp[192];
            struct iop_config_device *d = &iop->device[i];
            snprintf(dp, sizeof(dp), "%s[%zu]", sub, i);
            if ((r = parse_device(p, dp, json_object_array_get_idx(v, i), d)) < 0)
                return r;
            iop->n_devices++;
            bool parent_ok = d->parent_tid == 0;
            for (size_t j = 0; j < i; j++) {
                if (iop->device[j].tid == d->tid)
                    return cfg_fail(p, dp, "tid 0x%03x is already used by %s[%zu]", d->tid, sub, j);
                parent_ok |= iop->device[j].tid == d->parent_tid;
            }
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

/* A node name below /dev: relative, no "..", no empty components. */
static int check_node_name(struct cfg_ctx *p, const char *path, const char *name) {
    if (!*name || name[0] == '/' || strstr(name, "//") || name[strlen(name) - 1] == '/')
        return cfg_fail(p, path, "expected a relative name below /dev such as \"i2o/ctl\"");
    for (const char *c = name; *c; c++)
        if (!(*c == '/' || *c == '-' || *c == '_' || *c == '.' || (*c >= '0' && *c <= '9') ||
              (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
            return cfg_fail(p, path, "character '%c' is not allowed in a node name", *c);
    if (strstr(name, "..") || strncmp(name, "./", 2) == 0)
        return cfg_fail(p, path, "\".\" and \"..\" are not allowed in a node name");
    return 0;
}

static int parse_nodes(struct cfg_ctx *p, const char *path, json_object *o, struct iop_config_nodes *n) {
    static const char *const keys[] = { "ctl", "usbmon", "usbmon_enabled", "user", "group", "mode", NULL };
    static const struct string_member sms[] = {
        SM(struct iop_config_nodes, "ctl", ctl),
        SM(struct iop_config_nodes, "usbmon", usbmon),
        SM(struct iop_config_nodes, "user", user),
        SM(struct iop_config_nodes, "group", group),
    };
    static const struct uint_member ums[] = {
        UM(struct iop_config_nodes, "mode", mode, 0777), /* "0660" is octal, as chmod reads it */
    };
    char sub[160];
    json_object *v;
    int r;

    if (!json_object_is_type(o, json_type_object))
        return cfg_fail(p, path, "expected an object, got %s", cfg_describe(o));
    if ((r = cfg_check_keys(p, path, o, keys)) < 0 ||
        (r = get_string_members(p, path, o, n, sms, IOP_ARRAY_SIZE(sms))) < 0 ||
        (r = get_uint_members(p, path, o, n, ums, IOP_ARRAY_SIZE(ums))) < 0)
        return r;
    if (cfg_member(o, "usbmon_enabled", path, sub, sizeof(sub), &v) &&
        (r = cfg_get_bool(p, sub, v, &n->usbmon_enabled)) < 0)
        return r;
    snprintf(sub, sizeof(sub), "%s.ctl", path);
    if ((r = check_node_name(p, sub, n->ctl)) < 0)
        return r;
    snprintf(sub, sizeof(sub), "%s.usbmon", path);
    if ((r = check_node_name(p, sub, n->usbmon)) < 0)
        return r;
    if (!n->user[0] || !n->group[0])
        return cfg_fail(p, path, "user and group must not be empty");
    return 0;
}

static int parse_root(struct cfg_ctx *p, json_object *root, struct iop_config *cfg) {
    static const char *const keys[] = { "iops", "nodes", NULL };
    json_object *iops, *v;
    int r;

    cfg->nodes = (struct iop_config_nodes){ .ctl = "i2o/ctl", .usbmon = "usbmon", .usbmon_enabled = true,
                                            .user = "root", .group = "root", .mode = 0600 };

    if (!json_object_is_type(root, json_type_object))
        return cfg_fail(p, "$", "expected an object, got %s", cfg_describe(root));
    if ((r = cfg_check_keys(p, "$", root, keys)) < 0)
        return r;
    if (json_object_object_get_ex(root, "nodes", &v) && (r = parse_nodes(p, "$.nodes", v, &cfg->nodes)) < 0)
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

int iop_config_parse(const char *text, size_t len, const char *origin, struct iop_config **ret, char **err) {
    struct cfg_ctx p = { .origin = origin ? origin : "<config>" };
    assert(text && ret);

    if (err)
        *err = NULL;
    if (len > IOP_CONFIG_MAX_BYTES || len > INT32_MAX) {
        cfg_fail(&p, "$", "file too large (%zu bytes, at most %u)", len, IOP_CONFIG_MAX_BYTES);
        goto out;
    }
    {
        json_tokener *tok = json_tokener_new_ex(64); /* nesting depth: ours is 4 */
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

struct iop_config *iop_config_free(struct iop_config *cfg) {
    if (!cfg)
        return NULL;
    for (unsigned i = 0; i < cfg->n_iops; i++)
        free(cfg->iop[i].device);
    free(cfg);
    return NULL;
}
