/* The top-level object of the configuration: "nodes" (device node names below /dev,
 * their owner and mode), "usb" (which host USB devices iopd shows and claims), "iops". */
#include "lib/config/config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/config/config-internal.h"
#include "lib/config/json-get.h"
#include "lib/usb/uevent.h"
#include "lib/util/cleanup.h"

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
        (r = cfg_get_string_members(p, path, keys, val, n, sms, IOP_ARRAY_SIZE(sms))) < 0 ||
        (r = cfg_get_uint_members(p, path, keys, val, n, ums, IOP_ARRAY_SIZE(ums))) < 0 ||
        (r = cfg_get_bool_member(p, path, keys, val, N_USBMON_ENABLED, &n->usbmon_enabled)) < 0 ||
        (r = cfg_get_bool_member(p, path, keys, val, N_CTL_ALIAS_ENABLED, &n->ctl_alias_enabled)) < 0)
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

int cfg_parse_root(struct cfg_ctx *p, json_object *root, struct iop_config *cfg) {
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
        if ((r = cfg_parse_iop(p, path, json_object_array_get_idx(iops, i), &cfg->iop[i])) < 0)
            return r;
        for (size_t j = 0; j < i; j++)
            if (cfg->iop[j].unit == cfg->iop[i].unit)
                return cfg_fail(p, path, "unit %u is already used by $.iops[%zu]", cfg->iop[i].unit, j);
    }
    return 0;
}
