/* The standard groups: sizes and offsets from i2omsg.h/i2oexec.h and Linux i2o_proc.c,
 * contents from the descriptor structs, read back through UtilParamsGet. */
#include <errno.h>
#include <stdlib.h>

#include <linux/i2o-dev.h>

#include "lib/params/params-exec.h"
#include "lib/params/params-std.h"
#include "lib/params/params.h"
#include "params-test.h"
#include "testutil.h"

static uint8_t res[IOP_PARAMS_RESULT_MAX];

static struct iop_params *device(void) {
    struct iop_params *p = NULL;
    static const uint8_t serial[] = { 'S', 'N', '4', '2' };
    const struct iop_params_identity id = {
        .class_id = I2O_CLASS_RANDOM_BLOCK_STORAGE | 1u << 12 | 0x001Bu << 16,
        .owner_tid = 0x00A,
        .parent_tid = 0x008,
        .vendor = "iopd project",
        .product = "a very long product name",
        .description = "USB disk",
        .revision = "1.23",
        .sn_format = I2O_SNFORMAT_ASCII,
        .serial = serial,
        .serial_len = sizeof(serial),
        .ddm_tid = 0x009,
        .module_name = "iopd usb ddm",
        .module_rev = "0.1",
        .device_name = "disk0",
        .service_name = "storage",
        .physical_location = "usb 1-2",
        .instance = 3,
    };
    CHECK_EQ(iop_params_new(&p), 0);
    CHECK_EQ(iop_params_add_device_groups(p, &id), 0);
    return p;
}

/* FIELD_GET with FieldCount 0xFFFF; returns the values (in res) and their block size. */
static const uint8_t *get_all(struct iop_params *p, uint16_t group, size_t *len) {
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_FIELD_GET, group);
    ol_fields(&o, ALL, NULL);
    int n = iop_params_exec(p, IOP_PARAMS_MSG_GET, o.b, o.len, res, sizeof(res), NULL, NULL);
    struct rblock bl[1];
    CHECK(n > 8);
    CHECK_EQ(rl_parse(res, n, bl, 1), 1);
    CHECK_EQ(bl[0].status, 0);
    *len = bl[0].data_len;
    return bl[0].data;
}

static void test_sizes(void) {
    struct iop_params *p = device();
    struct iop_params_exec_info info = { 0 };
    CHECK_EQ(iop_params_add_exec_groups(p, &info), 0);
    static const struct {
        uint16_t group;
        size_t row;
        unsigned fields;
        enum iop_params_kind kind;
    } want[] = {
        { 0xF000, 8, 5, IOP_PARAMS_TABLE },   { 0xF001, 4, 1, IOP_PARAMS_TABLE },
        { 0xF002, 2, 1, IOP_PARAMS_TABLE },   { 0xF003, 8, 5, IOP_PARAMS_TABLE },
        { 0xF006, 2, 1, IOP_PARAMS_TABLE },   { 0xF100, 321, 9, IOP_PARAMS_SCALAR },
        { 0xF101, 291, 5, IOP_PARAMS_SCALAR }, { 0xF102, 196, 4, IOP_PARAMS_SCALAR },
        { 0xF103, 18, 6, IOP_PARAMS_SCALAR },  { 0x0000, 18, 7, IOP_PARAMS_SCALAR },
        { 0x0001, 57, 17, IOP_PARAMS_SCALAR }, { 0x0002, 24, 6, IOP_PARAMS_SCALAR },
        { 0x0003, 44, 9, IOP_PARAMS_TABLE },   { 0x0004, 16, 4, IOP_PARAMS_SCALAR },
        { 0x0005, 56, 13, IOP_PARAMS_TABLE },  { 0x0006, 8, 5, IOP_PARAMS_TABLE },
        { 0x0007, 12, 4, IOP_PARAMS_SCALAR },
    };
    CHECK_EQ(iop_params_group_count(p), sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        struct iop_params_group *g = iop_params_find_group(p, want[i].group);
        CHECK(g != NULL);
        if (!g)
            continue;
        if (iop_params_group_row_size(g) != want[i].row)
            fprintf(stderr, "group %#06x row %zu\n", want[i].group, iop_params_group_row_size(g));
        CHECK_EQ(iop_params_group_row_size(g), want[i].row);
        CHECK_EQ(iop_params_group_field_count(g), want[i].fields);
        CHECK_EQ(iop_params_group_kind(g), want[i].kind);
    }
    CHECK_EQ(iop_params_add_device_groups(p, &(struct iop_params_identity){ 0 }), -EEXIST);
    CHECK_EQ(iop_params_add_exec_groups(p, &info), -EEXIST);
    iop_params_free(p);
}

static void test_device_identity(void) {
    struct iop_params *p = device();
    size_t n;
    const uint8_t *d = get_all(p, IOP_PARAMS_GROUP_DEV_IDENTITY, &n);
    CHECK_EQ(n, 324); /* 321 padded */
    /* Offsets as Linux i2o_proc.c's dev_identity reads them. */
    CHECK_EQ(le16(d) & 0xFFF, I2O_CLASS_RANDOM_BLOCK_STORAGE);
    CHECK_EQ(le16(d + 2), 0x001B);
    CHECK_EQ(le16(d + 4), 0x00A);
    CHECK_EQ(le16(d + 6), 0x008);
    CHECK_MEMEQ(d + 8, "iopd project\0\0\0\0", 16);
    CHECK_MEMEQ(d + 24, "a very long prod", 16); /* cut to 16, no NUL */
    CHECK_MEMEQ(d + 40, "USB disk\0\0\0\0\0\0\0\0", 16);
    CHECK_MEMEQ(d + 56, "1.23\0\0\0\0", 8);
    CHECK_EQ(d[64], I2O_SNFORMAT_ASCII);
    CHECK_EQ(d[65], 4); /* [length][bytes], see params-std.c */
    CHECK_MEMEQ(d + 66, "SN42", 4);
    CHECK_EQ(d[70], 0);

    d = get_all(p, IOP_PARAMS_GROUP_DDM_IDENTITY, &n);
    CHECK_EQ(n, 292);
    CHECK_EQ(le16(d), 0x009);
    CHECK_MEMEQ(d + 2, "iopd usb ddm", 13);
    CHECK_MEMEQ(d + 26, "0.1", 4);
    CHECK_EQ(d[34], I2O_SNFORMAT_ASCII);
    CHECK_EQ(d[35], 4);

    d = get_all(p, IOP_PARAMS_GROUP_USER_INFO, &n);
    CHECK_EQ(n, 196);
    CHECK_MEMEQ(d, "disk0", 6);
    CHECK_MEMEQ(d + 64, "storage", 8);
    CHECK_MEMEQ(d + 128, "usb 1-2", 8);
    CHECK_EQ(le32(d + 192), 3);

    d = get_all(p, IOP_PARAMS_GROUP_SGL_LIMITS, &n);
    CHECK_EQ(n, 20);
    CHECK_EQ(le32(d), 512);
    CHECK_EQ(le32(d + 4), 512);
    CHECK_EQ(le16(d + 12), 30);
    CHECK_EQ(le16(d + 16), 30);

    /* Writable and read-only as documented. */
    struct iop_params_group *g = iop_params_find_group(p, IOP_PARAMS_GROUP_USER_INFO);
    struct iop_params_field_info fi;
    for (unsigned i = 0; i < 4; i++) {
        CHECK_EQ(iop_params_field_info(g, i, &fi), 0);
        CHECK(fi.flags & IOP_PARAMS_FIELD_RW);
    }
    g = iop_params_find_group(p, IOP_PARAMS_GROUP_DEV_IDENTITY);
    for (unsigned i = 0; i < 9; i++) {
        CHECK_EQ(iop_params_field_info(g, i, &fi), 0);
        CHECK(!(fi.flags & IOP_PARAMS_FIELD_RW));
    }
    iop_params_free(p);
}

static void test_descriptors(void) {
    struct iop_params *p = device();
    struct iop_params_group *g;
    CHECK_EQ(iop_params_add_group(p, 0x8100, "Dyn", IOP_PARAMS_TABLE,
                                  IOP_PARAMS_GROUP_ROW_ADD | IOP_PARAMS_GROUP_CLEAR, &g), 0);
    CHECK_EQ(iop_params_add_field(g, "K", IOP_PARAMS_U16, 0, IOP_PARAMS_FIELD_KEY), 0);
    CHECK_EQ(iop_params_row_add(g, (uint8_t[]){ 1, 0 }, 2), 0);
    CHECK_EQ(iop_params_row_add(g, (uint8_t[]){ 2, 0 }, 2), 1);

    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_TABLE_GET, IOP_PARAMS_GROUP_DESCRIPTORS);
    ol_fields(&o, ALL, NULL);
    int n = iop_params_exec(p, IOP_PARAMS_MSG_GET, o.b, o.len, res, sizeof(res), NULL, NULL);
    struct rblock bl[1];
    CHECK_EQ(rl_parse(res, n, bl, 1), 1);
    unsigned rows = le16(bl[0].data);
    CHECK_EQ(rows, iop_params_group_count(p));
    CHECK_EQ(rows, 10);
    /* Rows in group order: F000 itself is not first, 0x8100 is. */
    const uint8_t *r = bl[0].data + 4;
    CHECK_EQ(le16(r), 0x8100);
    CHECK_EQ(le16(r + 2), 1);   /* FieldCount */
    CHECK_EQ(le16(r + 4), 2);   /* RowCount */
    CHECK_EQ(r[6], 0x01 | 0x02 | 0x08); /* table, row add, clear */
    r += 8;
    CHECK_EQ(le16(r), 0xF000);
    CHECK_EQ(le16(r + 2), 5);
    CHECK_EQ(le16(r + 4), 10);
    CHECK_EQ(r[6], 0x01);
    r += 8 * 5; /* F001 F002 F003 F006 -> F100 */
    CHECK_EQ(le16(r), 0xF100);
    CHECK_EQ(le16(r + 2), 9);
    CHECK_EQ(le16(r + 4), 1);
    CHECK_EQ(r[6], 0x00);
    /* It is derived: the daemon cannot write it. */
    CHECK_EQ(iop_params_set_uint(p, 0xF000, "RowCount", (uint8_t[]){ 0, 0xF0 }, 2, 3), -EINVAL);
    CHECK_EQ(iop_params_row_add(iop_params_find_group(p, 0xF000), (uint8_t[]){ 9, 9 }, 2), -EINVAL);
    iop_params_free(p);
}

static void test_exec_groups(void) {
    struct iop_params *p;
    CHECK_EQ(iop_params_new(&p), 0);
    struct iop_params_exec_info info = {
        .vendor_id = 0x001B, .product_id = 0xA511, .processor_memory = 8u << 20,
        .perm_memory = 1u << 20, .hw_capabilities = 0x1F, .processor_type = 8,
        .processor_version = 3, .code_size = 4096, .sw_capabilities = 0xF,
    };
    CHECK_EQ(iop_params_add_exec_groups(p, &info), 0);
    size_t n;
    const uint8_t *d = get_all(p, IOP_PARAMS_GROUP_EXEC_HW, &n);
    CHECK_EQ(n, 20);
    /* i2o_proc.c "hw": work16[0] vendor, work16[1] product, work32[1..3], work8[16] CPU. */
    CHECK_EQ(le16(d), 0x001B);
    CHECK_EQ(le16(d + 2), 0xA511);
    CHECK_EQ(le32(d + 4), 8u << 20);
    CHECK_EQ(le32(d + 8), 1u << 20);
    CHECK_EQ(le32(d + 12), 0x1F);
    CHECK_EQ(d[16], 8);
    CHECK_EQ(d[17], 3);

    d = get_all(p, IOP_PARAMS_GROUP_EXEC_MSG_IF, &n);
    CHECK_EQ(n, 60);             /* 57 bytes */
    CHECK_EQ(le32(d), 128);      /* InboundFrameSize default */
    CHECK_EQ(le32(d + 8), 32);   /* InboundMax default */
    CHECK_EQ(le32(d + 36), 128); /* OutboundFrameSize */
    CHECK_EQ(d[56], 0x80);       /* InitCode: OS */

    d = get_all(p, IOP_PARAMS_GROUP_EXEC_ENV, &n);
    CHECK_EQ(le32(d), 8u << 20);
    CHECK_EQ(le32(d + 8), 4096);

    d = get_all(p, IOP_PARAMS_GROUP_EXEC_STORE, &n);
    CHECK_EQ(n, 16);
    CHECK_EQ(le32(d), 16);
    CHECK_EQ(le32(d + 4), 0);
    CHECK_EQ(le32(d + 12), 1u << 20);

    d = get_all(p, IOP_PARAMS_GROUP_EXEC_SW_ATTR, &n);
    CHECK_EQ(n, 12);
    CHECK_EQ(le16(d + 2), 0xA511);
    CHECK_EQ(le32(d + 4), 4096);
    CHECK_EQ(le32(d + 8), 0xF);

    /* The DDM list is a table keyed by DdmTID that the daemon fills. */
    struct iop_params_group *g = iop_params_find_group(p, IOP_PARAMS_GROUP_EXEC_DDM_LIST);
    CHECK_EQ(iop_params_group_key_field(g), 0);
    CHECK_EQ(iop_params_row_add(g, (uint8_t[]){ 0x09, 0 }, 2), 0);
    CHECK_EQ(iop_params_set_string(p, IOP_PARAMS_GROUP_EXEC_DDM_LIST, "ModuleName",
                                   (uint8_t[]){ 0x09, 0 }, 2, "usb ddm"), 0);
    struct oplist o;
    ol_init(&o);
    ol_op(&o, OP_TABLE_GET, IOP_PARAMS_GROUP_EXEC_DDM_LIST);
    ol_fields(&o, ALL, NULL);
    int len = iop_params_exec(p, IOP_PARAMS_MSG_GET, o.b, o.len, res, sizeof(res), NULL, NULL);
    struct rblock bl[1];
    CHECK_EQ(rl_parse(res, len, bl, 1), 1);
    CHECK_EQ(le16(bl[0].data), 1);
    CHECK_EQ(le16(bl[0].data + 4), 0x09);
    CHECK_MEMEQ(bl[0].data + 4 + 8, "usb ddm", 8); /* i2o_proc: module name at 8 */
    iop_params_free(p);
}

int main(void) {
    TEST(test_sizes);
    TEST(test_device_identity);
    TEST(test_descriptors);
    TEST(test_exec_groups);
    return test_summary();
}
