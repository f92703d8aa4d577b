/* iopctl get / set / groups: UtilParamsGet/Set through I2OPARMGET / I2OPARMSET.
 *
 * The ABI carries parameter values without their types, so field names, types and
 * sizes come from the layouts of lib/params (the standard I2O groups and iopd's own),
 * chosen by the device's class from the LCT.  Groups iopctl has no layout for are
 * shown as bytes, and set takes a typed value (u32:5, str:16:text, hex:0a0b).
 *
 * Every list iopctl sends holds a second, harmless operation: a list with exactly one
 * result block that failed comes back from the kernel's ioctl as a bare EAGAIN, so the
 * extra block keeps the IOP's block status visible. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/i2o-dev.h>

#include "lib/params/params-exec.h"
#include "lib/params/params-std.h"
#include "lib/params/params.h"
#include "tools/iopctl/iopctl.h"

#define RESULT_MAX 65536u

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static const char *block_status_name(unsigned s) {
    static const char *const names[] = {
        "SUCCESS", "BAD_KEY_ABORT", "BAD_KEY_CONTINUE", "BUFFER_FULL", "BUFFER_TOO_SMALL",
        "FIELD_UNREADABLE", "FIELD_UNWRITEABLE", "INSUFFICIENT_FIELDS", "INVALID_GROUP_ID",
        "INVALID_OPERATION", "NO_KEY_FIELD", "NO_SUCH_FIELD", "NON_DYNAMIC_GROUP",
        "OPERATION_ERROR", "SCALAR_ERROR", "TABLE_ERROR", "WRONG_GROUP_TYPE",
    };
    return s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* The class of TID on IOP, from its LCT entry; -ENOENT if it has none. */
static int device_class(struct iopctl *ctl, uint32_t iop, uint32_t tid) {
    uint8_t *t;
    uint32_t len;
    int e = iopctl_get_table(ctl, I2OLCTGET, iop, &t, &len);
    if (e)
        return -e;
    int cls = -ENOENT;
    unsigned words = len >= 12 ? (unsigned)(t[0] | t[1] << 8) : 0;
    for (unsigned off = 12; off + 36 <= words * 4u && off + 36 <= len; off += 36)
        if (((unsigned)le16(t + off + 2) & 0xFFF) == tid)
            cls = le16(t + off + 12) & 0xFFF;
    free(t);
    return cls;
}

/* Layouts for a device of class cls at tid: what lib/params declares for it. */
static struct iop_params *catalog(int cls, uint32_t tid) {
    struct iop_params *p;
    struct iop_params_identity id = { 0 };
    struct iop_params_exec_info ex = { 0 };
    if (iop_params_new(&p) < 0)
        return NULL;
    iop_params_add_device_groups(p, &id);
    if (tid == 0)
        iop_params_add_exec_groups(p, &ex);
    else if (cls == I2O_CLASS_RANDOM_BLOCK_STORAGE)
        iop_params_add_bsa_groups(p);
    else if (cls == I2O_CLASS_BUS_ADAPTER)
        iop_params_add_isa_dma_group(p);
    else if (cls == 0x0F0) /* iopd's class for USB devices */
        iop_params_add_usb_groups(p);
    return p;
}

struct list {
    uint8_t b[4096];
    size_t len;
    unsigned count;
};

/* Appends; an overlong list only counts its length, and issue() refuses it. */
static void put_bytes(struct list *l, const void *v, size_t n) {
    if (l->len <= sizeof(l->b) && n <= sizeof(l->b) - l->len)
        memcpy(l->b + l->len, v, n);
    l->len += n;
}

static void put16(struct list *l, uint16_t v) {
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    put_bytes(l, b, 2);
}

static void op_begin(struct list *l) {
    if (l->len == 0) {
        put16(l, 0); /* OperationCount, patched at the end */
        put16(l, 0);
    }
    static const uint8_t zero[4];
    put_bytes(l, zero, (4 - l->len % 4) % 4); /* each operation starts on a 4-byte boundary */
    l->count++;
}

static void op_end_list(struct list *l) {
    l->b[0] = (uint8_t)l->count;
    l->b[1] = (uint8_t)(l->count >> 8);
}

/* The harmless second operation: SIZE_GET of the descriptor group (a Get family op;
 * in a Set message it is refused with INVALID_OPERATION and changes nothing). */
static void op_filler(struct list *l) {
    op_begin(l);
    put16(l, I2O_PARAMS_SIZE_GET);
    put16(l, IOP_PARAMS_GROUP_DESCRIPTORS);
    put16(l, IOP_PARAMS_ALL_FIELDS);
}

static int issue(struct iopctl *ctl, unsigned long cmd, uint32_t iop, uint32_t tid, struct list *l,
                 uint8_t *res, unsigned *reslen) {
    op_end_list(l);
    if (l->len > sizeof(l->b)) {
        fprintf(stderr, "iopctl: operation list too long\n");
        return IOPCTL_USAGE;
    }
    *reslen = RESULT_MAX;
    struct i2o_cmd_psetget pg = { .iop = iop, .tid = tid, .opbuf = l->b, .oplen = (unsigned)l->len,
                                  .resbuf = res, .reslen = reslen };
    if (ioctl(ctl->fd, cmd, &pg) < 0)
        return iopctl_fail(cmd == I2OPARMGET ? "I2OPARMGET" : "I2OPARMSET", errno);
    return 0;
}

/* The first result block: status, and its data (after the header) and length. */
static int first_block(const uint8_t *res, unsigned reslen, const uint8_t **data, size_t *len) {
    if (reslen < 8 || le16(res) < 1)
        return -EPROTO;
    unsigned words = le16(res + 4);
    if (words < 1 || 4 + words * 4u > reslen)
        return -EPROTO;
    *data = res + 8;
    *len = (words - 1) * 4u;
    return res[6];
}

static void print_value(const struct iop_params_field_info *fi, const uint8_t *v, bool json) {
    if (fi->type == IOP_PARAMS_STRING) {
        size_t n = strnlen((const char *)v, fi->size);
        char s[IOP_PARAMS_FIELD_SIZE_MAX + 1];
        memcpy(s, v, n);
        s[n] = 0;
        if (json) {
            iopctl_json_str(stdout, s, n);
        } else {
            printf("\"");
            iopctl_text_str(stdout, s, n);
            printf("\"");
        }
        return;
    }
    if (fi->type == IOP_PARAMS_BYTES) {
        printf(json ? "\"" : "");
        size_t last = fi->size;
        while (last > 0 && v[last - 1] == 0)
            last--;
        for (size_t i = 0; i < last; i++)
            printf("%02x", v[i]);
        printf(json ? "\"" : (last ? "" : "(zero)"));
        return;
    }
    uint64_t x = 0;
    for (size_t i = 0; i < fi->size; i++)
        x |= (uint64_t)v[i] << (8 * i);
    printf(json ? "%llu" : "%llu (0x%llx)", (unsigned long long)x, (unsigned long long)x);
}

static void print_row(const struct iop_params_group *g, const uint8_t *row, bool json) {
    unsigned n = iop_params_group_field_count(g);
    for (unsigned i = 0; i < n; i++) {
        struct iop_params_field_info fi;
        iop_params_field_info(g, i, &fi);
        if (json) {
            printf("%s\"%s\":", i ? "," : "", fi.name);
        } else {
            printf("  %-26s ", fi.name);
        }
        print_value(&fi, row + fi.offset, json);
        if (!json)
            printf("%s\n", fi.flags & IOP_PARAMS_FIELD_RW ? "   (writable)" : "");
    }
}

static int parse_group_arg(const char *s, uint32_t *group) {
    return iopctl_parse_u32(s, 0xFFFF, group) < 0 ? -EINVAL : 0;
}

static int cmd_get(struct iopctl *ctl, uint32_t iop, uint32_t tid, uint32_t group) {
    int cls = device_class(ctl, iop, tid);
    if (cls == -ENOENT) {
        fprintf(stderr, "iopctl: IOP %u has no TID 0x%03x\n", iop, tid);
        return IOPCTL_FAILED;
    }
    if (cls < 0)
        return iopctl_fail("I2OLCTGET", -cls);
    struct iop_params *cat = catalog(cls, tid);
    const struct iop_params_group *g = cat ? iop_params_find_group(cat, (uint16_t)group) : NULL;
    bool table = g && iop_params_group_kind(g) == IOP_PARAMS_TABLE;
    struct list l = { .len = 0 };
    op_begin(&l);
    put16(&l, table ? I2O_PARAMS_TABLE_GET : I2O_PARAMS_FIELD_GET);
    put16(&l, (uint16_t)group);
    put16(&l, IOP_PARAMS_ALL_FIELDS);
    op_filler(&l);
    uint8_t *res = malloc(RESULT_MAX);
    unsigned reslen;
    int r = res ? issue(ctl, I2OPARMGET, iop, tid, &l, res, &reslen) : IOPCTL_FAILED;
    if (r) {
        free(res);
        iop_params_free(cat);
        return r;
    }
    const uint8_t *data;
    size_t len;
    int st = first_block(res, reslen, &data, &len);
    if (st != 0) {
        fprintf(stderr, "iopctl: IOP %u TID 0x%03x group 0x%04x: %s\n", iop, tid, group,
                st < 0 ? "malformed result list" : block_status_name((unsigned)st));
        free(res);
        iop_params_free(cat);
        return IOPCTL_FAILED;
    }
    if (ctl->json)
        printf("{\"iop\":%u,\"tid\":%u,\"group\":%u,\"name\":", iop, tid, group);
    else
        printf("IOP %u TID 0x%03x group 0x%04x %s\n", iop, tid, group, g ? iop_params_group_name(g) : "(layout unknown to iopctl)");
    if (ctl->json)
        iopctl_json_str(stdout, g ? iop_params_group_name(g) : "", 64);
    size_t rs = g ? iop_params_group_row_size(g) : 0;
    if (!g) {
        printf(ctl->json ? ",\"bytes\":\"" : "  ");
        for (size_t i = 0; i < len; i++)
            printf("%02x%s", data[i], ctl->json || (i + 1) % 16 ? "" : "\n  ");
        printf(ctl->json ? "\"}\n" : "\n");
    } else if (!table) {
        if (ctl->json)
            printf(",\"fields\":{");
        if (len >= rs)
            print_row(g, data, ctl->json);
        if (ctl->json)
            printf("}}\n");
    } else {
        unsigned rows = len >= 4 ? le16(data) : 0, more = len >= 4 ? le16(data + 2) : 0;
        if (ctl->json)
            printf(",\"rows\":[");
        else
            printf("  %u row%s%s\n", rows, rows == 1 ? "" : "s", more ? " (more follow: table truncated)" : "");
        for (unsigned i = 0; i < rows && 4 + (i + 1) * rs <= len; i++) {
            if (ctl->json)
                printf("%s{", i ? "," : "");
            else
                printf(" row %u:\n", i);
            print_row(g, data + 4 + i * rs, ctl->json);
            if (ctl->json)
                printf("}");
        }
        if (ctl->json)
            printf("]}\n");
    }
    free(res);
    iop_params_free(cat);
    return IOPCTL_OK;
}

/* A value for a field: typed syntax (u8: u16: u32: u64: str:LEN: hex:), or plain for
 * a field whose layout is known.  Fills buf with size bytes. */
static int encode_value(const char *v, const struct iop_params_field_info *fi, uint8_t *buf, size_t *size) {
    enum iop_params_type type;
    size_t sz;
    if (!strncmp(v, "u8:", 3) || !strncmp(v, "u16:", 4) || !strncmp(v, "u32:", 4) || !strncmp(v, "u64:", 4)) {
        sz = v[1] == '8' ? 1 : v[1] == '1' ? 2 : v[1] == '3' ? 4 : 8;
        type = IOP_PARAMS_U64;
        v = strchr(v, ':') + 1;
    } else if (!strncmp(v, "str:", 4)) {
        char *end;
        uint64_t n;
        if (iopctl_strtou64(v + 4, &end, &n) < 0 || *end != ':' || n == 0 || n > IOP_PARAMS_FIELD_SIZE_MAX)
            return -EINVAL;
        sz = (size_t)n;
        type = IOP_PARAMS_STRING;
        v = end + 1;
    } else if (!strncmp(v, "hex:", 4)) {
        int n = iopctl_parse_hex(v + 4, buf, IOP_PARAMS_FIELD_SIZE_MAX);
        if (n <= 0)
            return -EINVAL;
        *size = (size_t)n;
        return 0;
    } else if (fi) {
        type = fi->type;
        sz = fi->size;
    } else {
        return -EINVAL;
    }
    if (fi && sz != fi->size)
        return -ERANGE;
    if (type == IOP_PARAMS_STRING || type == IOP_PARAMS_BYTES) {
        if (strlen(v) > sz)
            return -E2BIG;
        memset(buf, 0, sz);
        memcpy(buf, v, strlen(v));
    } else {
        char *end;
        uint64_t x;
        /* Decimal or 0x hex: not octal, and not strtoull's " -1" (all ones for a u64). */
        if (iopctl_strtou64(v, &end, &x) < 0 || *end || (sz < 8 && x >> (8 * sz)))
            return -ERANGE;
        for (size_t i = 0; i < sz; i++)
            buf[i] = (uint8_t)(x >> (8 * i));
    }
    *size = sz;
    return 0;
}

static int cmd_set(struct iopctl *ctl, uint32_t iop, uint32_t tid, uint32_t group, const char *field,
                   const char *value) {
    int cls = device_class(ctl, iop, tid);
    if (cls < 0)
        return cls == -ENOENT ? (fprintf(stderr, "iopctl: IOP %u has no TID 0x%03x\n", iop, tid), IOPCTL_FAILED)
                              : iopctl_fail("I2OLCTGET", -cls);
    struct iop_params *cat = catalog(cls, tid);
    const struct iop_params_group *g = cat ? iop_params_find_group(cat, (uint16_t)group) : NULL;
    struct iop_params_field_info fi, *pfi = NULL;
    uint32_t idx;
    if (iopctl_parse_u32(field, 0xFFFE, &idx) == 0) {
        if (g && iop_params_field_info(g, idx, &fi) == 0)
            pfi = &fi;
    } else {
        int k = g ? iop_params_find_field(g, field) : -ENOENT;
        if (k < 0) {
            fprintf(stderr, "iopctl: group 0x%04x has no field named %s (known to iopctl); give its index\n",
                    group, field);
            iop_params_free(cat);
            return IOPCTL_USAGE;
        }
        idx = (uint32_t)k;
        iop_params_field_info(g, idx, &fi);
        pfi = &fi;
    }
    uint8_t val[IOP_PARAMS_FIELD_SIZE_MAX];
    size_t sz;
    int e = encode_value(value, pfi, val, &sz);
    iop_params_free(cat);
    if (e < 0) {
        fprintf(stderr, "iopctl: value '%s': %s (typed values: u8:N u16:N u32:N u64:N str:LEN:TEXT hex:BYTES)\n",
                value, e == -E2BIG ? "too long for the field" : e == -ERANGE ? "does not fit the field" : "invalid");
        return IOPCTL_USAGE;
    }
    struct list l = { .len = 0 };
    op_begin(&l);
    put16(&l, I2O_PARAMS_FIELD_SET);
    put16(&l, (uint16_t)group);
    put16(&l, 1);
    put16(&l, (uint16_t)idx);
    put_bytes(&l, val, sz);
    op_filler(&l);
    uint8_t *res = malloc(RESULT_MAX);
    unsigned reslen;
    int r = res ? issue(ctl, I2OPARMSET, iop, tid, &l, res, &reslen) : IOPCTL_FAILED;
    if (r) {
        free(res);
        return r;
    }
    const uint8_t *data;
    size_t len;
    int st = first_block(res, reslen, &data, &len);
    free(res);
    if (st != 0) {
        fprintf(stderr, "iopctl: IOP %u TID 0x%03x group 0x%04x field %u: %s\n", iop, tid, group, idx,
                st < 0 ? "malformed result list" : block_status_name((unsigned)st));
        return IOPCTL_FAILED;
    }
    if (ctl->json)
        printf("{\"iop\":%u,\"tid\":%u,\"group\":%u,\"field\":%u,\"set\":true}\n", iop, tid, group, idx);
    else
        printf("IOP %u TID 0x%03x group 0x%04x field %u set\n", iop, tid, group, idx);
    return IOPCTL_OK;
}

int iopctl_cmd_get(struct iopctl *ctl, int argc, char **argv) {
    uint32_t iop, tid, group;
    if (argc != 4 || iopctl_parse_u32(argv[1], UINT32_MAX, &iop) < 0 ||
        iopctl_parse_u32(argv[2], 0xFFF, &tid) < 0 || parse_group_arg(argv[3], &group) < 0)
        return iopctl_usage("get IOP TID GROUP");
    return cmd_get(ctl, iop, tid, group);
}

int iopctl_cmd_set(struct iopctl *ctl, int argc, char **argv) {
    uint32_t iop, tid, group;
    if (argc != 6 || iopctl_parse_u32(argv[1], UINT32_MAX, &iop) < 0 ||
        iopctl_parse_u32(argv[2], 0xFFF, &tid) < 0 || parse_group_arg(argv[3], &group) < 0)
        return iopctl_usage("set IOP TID GROUP FIELD VALUE");
    return cmd_set(ctl, iop, tid, group, argv[4], argv[5]);
}
