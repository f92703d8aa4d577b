/* The ioctl dispatcher in-process, against a fake address space: every errno path of
 * the ioctls implemented so far, in the kernel's order of checks. */
#include <errno.h>
#include <sys/ioctl.h>
#include <linux/i2o-dev.h>

#include "lib/ctl/abi.h"
#include "lib/ctl/ctl-internal.h"
#include "lib/ctl/ctl.h"
#include "lib/umem/umem-space.h"
#include "lib/i2o/devparams.h"
#include "lib/i2o/iop.h"
#include "lib/i2o/isa-path.h"
#include "lib/i2o/msg.h"
#include "lib/state/state.h"
#include "lib/swstore/swstore.h"
#include "lib/params/params.h"
#include "lib/util/bytes.h"
#include "testutil.h"

static struct iop_system *sys;
static struct iop_ctl *ctl;
static struct iop_ctl_file *f;

static void setup(void) {
    struct iop_controller *c;
    CHECK_EQ(iop_system_new(&sys), 0);
    CHECK_EQ(iop_system_add(sys, 2, "two", &c), 0);
    struct iop_hrt_adapter isa = { .adapter_id = 0x10, .bus_type = I2O_BUS_ISA, .bus_info = { 0x30, 0x03 } };
    CHECK_EQ(iop_controller_add_adapter(c, &isa), 0);
    struct iop_device blk = { .tid = 0x12, .class_id = I2O_CLASS_RANDOM_BLOCK_STORAGE, .parent_tid = 0,
                              .user_tid = 0xFFF, .blocks = 100, .block_size = 512 };
    struct iop_device *bd;
    CHECK_EQ(iop_controller_add_device(c, &blk, &bd), 0);
    CHECK_EQ(iop_device_build_params(bd, NULL), 0);
    CHECK_EQ(iop_system_add(sys, 7, "seven", &c), 0);
    c->answers = false;
    CHECK_EQ(iop_system_add(sys, 7, "again", NULL), -EEXIST);
    CHECK_EQ(iop_system_add(sys, 32, "too far", NULL), -EINVAL);
    CHECK_EQ(iop_ctl_new(sys, &ctl), 0);
    CHECK_EQ(iop_ctl_open(ctl, &f), 0);
}

static long ioc(unsigned cmd, uint64_t arg, struct iop_umem_space *u) {
    return iop_ctl_ioctl(ctl, f, cmd, arg, 0, &u->um, NULL);
}

static void test_getiops(void) {
    struct iop_umem_space u;
    uint8_t tab[32];
    iop_umem_space_init(&u);
    iop_umem_space_map_self(&u, tab, sizeof(tab), true);
    memset(tab, 0x55, sizeof(tab));
    CHECK_EQ(ioc(I2OGETIOPS, (uintptr_t)tab, &u), 0);
    for (unsigned i = 0; i < 32; i++)
        CHECK_EQ(tab[i], i == 2 || i == 7);
    CHECK_EQ(ioc(I2OGETIOPS, 0, &u), -EFAULT);
    CHECK_EQ(ioc(I2OGETIOPS, (uintptr_t)tab + 1, &u), -EFAULT);
}

static void test_validate(void) {
    struct iop_umem_space u;
    iop_umem_space_init(&u);
    CHECK_EQ(ioc(I2OVALIDATE, 2, &u), 0);
    CHECK_EQ(sys->iop[2]->n_validations, 1);
    CHECK_EQ(ioc(I2OVALIDATE, 0, &u), -ENXIO);
    CHECK_EQ(ioc(I2OVALIDATE, 7, &u), -ETIMEDOUT);
    CHECK_EQ(ioc(I2OVALIDATE, 0xffffffffu, &u), -ENXIO);
    CHECK_EQ(iop_ctl_ioctl(ctl, f, I2OVALIDATE, 2, IOP_CTL_COMPAT, &u.um, NULL), 0);
}

/* HRT/LCT, native layout. */
static void test_hrt_lct(void) {
    struct iop_umem_space u;
    struct i2o_cmd_hrtlct cmd;
    uint8_t buf[4096];
    unsigned int reslen;

    iop_umem_space_init(&u);
    iop_umem_space_map_self(&u, &cmd, sizeof(cmd), false);
    iop_umem_space_map_self(&u, &reslen, sizeof(reslen), true);
    iop_umem_space_map_self(&u, buf, sizeof(buf), true);

    cmd = (struct i2o_cmd_hrtlct){ .iop = 2, .resbuf = buf, .reslen = &reslen };
    reslen = sizeof(buf);
    CHECK_EQ(ioc(I2OHRTGET, (uintptr_t)&cmd, &u), 0);
    CHECK_EQ(reslen, 8 + 16);
    CHECK_EQ(iop_get_le16(buf), 1);      /* num_entries */
    CHECK_EQ(buf[2], 4);                 /* entry_len in words */
    CHECK_EQ(iop_get_le32(buf + 8), 0x10); /* adapter_id */
    CHECK_EQ(buf[15], I2O_BUS_ISA);      /* bus_type, top byte of word 1 */
    CHECK_EQ(iop_get_le16(buf + 16), 0x330);

    reslen = sizeof(buf);
    CHECK_EQ(ioc(I2OLCTGET, (uintptr_t)&cmd, &u), 0);
    CHECK_EQ(reslen, 12 + 2 * 36);
    CHECK_EQ(iop_get_le32(buf) & 0xFFFF, 3 + 2 * 9); /* table_size in words */
    CHECK_EQ(iop_get_le32(buf + 12) >> 16 & 0xFFF, 0);   /* executive first */
    CHECK_EQ(iop_get_le32(buf + 12 + 36) >> 16 & 0xFFF, 0x12);
    CHECK_EQ(iop_get_le32(buf + 12 + 36 + 12) & 0xFFF, I2O_CLASS_RANDOM_BLOCK_STORAGE);

    /* ENOBUFS: the needed length is written back, the buffer is untouched. */
    memset(buf, 0xAB, sizeof(buf));
    reslen = 10;
    CHECK_EQ(ioc(I2OLCTGET, (uintptr_t)&cmd, &u), -ENOBUFS);
    CHECK_EQ(reslen, 12 + 2 * 36);
    CHECK_EQ(buf[0], 0xAB);
    /* Exactly enough is enough. */
    CHECK_EQ(ioc(I2OLCTGET, (uintptr_t)&cmd, &u), 0);

    /* The kernel's order of checks. */
    cmd.iop = 5;
    CHECK_EQ(ioc(I2OHRTGET, (uintptr_t)&cmd, &u), -ENXIO);
    cmd.resbuf = NULL;
    CHECK_EQ(ioc(I2OHRTGET, (uintptr_t)&cmd, &u), -EFAULT);   /* resbuf before IOP */
    cmd = (struct i2o_cmd_hrtlct){ .iop = 5, .resbuf = buf, .reslen = (void *)8 };
    CHECK_EQ(ioc(I2OHRTGET, (uintptr_t)&cmd, &u), -EFAULT);   /* reslen before IOP */
    CHECK_EQ(ioc(I2OHRTGET, 0, &u), -EFAULT);
    CHECK_EQ(ioc(I2OHRTGET, 16, &u), -EFAULT);
    /* An unwritable result buffer. */
    static const uint8_t ro[64];
    iop_umem_space_map_self(&u, (void *)ro, sizeof(ro), false);
    cmd = (struct i2o_cmd_hrtlct){ .iop = 2, .resbuf = (void *)ro, .reslen = &reslen };
    reslen = sizeof(ro);
    CHECK_EQ(ioc(I2OHRTGET, (uintptr_t)&cmd, &u), -EFAULT);
}

/* The i386 layout from a 32-bit caller: 12 bytes, 4-byte pointers. */
static void test_hrt_compat(void) {
    struct iop_umem_space u;
    uint8_t arg32[12], buf[256];
    uint32_t reslen = sizeof(buf);
    iop_umem_space_init(&u);
    iop_umem_space_map(&u, 0x1000, arg32, sizeof(arg32), false);
    iop_umem_space_map(&u, 0x2000, buf, sizeof(buf), true);
    iop_umem_space_map(&u, 0x3000, &reslen, 4, true);
    iop_put_le32(arg32, 2);
    iop_put_le32(arg32 + 4, 0x2000);
    iop_put_le32(arg32 + 8, 0x3000);
    CHECK_EQ(iop_ctl_ioctl(ctl, f, IOP_I2OHRTGET32, 0x1000, IOP_CTL_COMPAT, &u.um, NULL), 0);
    CHECK_EQ(reslen, 24);
    CHECK_EQ(iop_get_le32(buf + 8), 0x10);
    /* The native number from a 32-bit caller is not this command: EINVAL, as 2.6. */
    CHECK_EQ(iop_ctl_ioctl(ctl, f, I2OHRTGET, 0x1000, IOP_CTL_COMPAT, &u.um, NULL), -EINVAL);
    CHECK_EQ(IOP_I2OHRTGET32, 0xC00C6901u);
    CHECK_EQ(IOP_I2OPARMGET32, 0xC0186904u);
    CHECK_EQ(IOP_I2OSWDL32, 0xC01C6905u);
    CHECK_EQ(IOP_I2OHTML32, 0xC01C6909u);
}

static void test_events(void) {
    struct iop_umem_space u;
    struct i2o_evt_id id;
    struct i2o_evt_get g;
    iop_umem_space_init(&u);
    iop_umem_space_map_self(&u, &id, sizeof(id), false);
    iop_umem_space_map_self(&u, &g, sizeof(g), true);

    CHECK_EQ(ioc(I2OEVTGET, (uintptr_t)&g, &u), -ENOENT);
    id = (struct i2o_evt_id){ .iop = 3, .tid = 0, .evt_mask = ~0u };
    CHECK_EQ(ioc(I2OEVTREG, (uintptr_t)&id, &u), -ENXIO);
    id = (struct i2o_evt_id){ .iop = 2, .tid = 0x99, .evt_mask = ~0u };
    CHECK_EQ(ioc(I2OEVTREG, (uintptr_t)&id, &u), -ENODEV);
    CHECK_EQ(ioc(I2OEVTREG, 0, &u), -EFAULT);
    /* A silent IOP still accepts the registration: the kernel did not wait. */
    id = (struct i2o_evt_id){ .iop = 7, .tid = 0, .evt_mask = ~0u };
    CHECK_EQ(ioc(I2OEVTREG, (uintptr_t)&id, &u), 0);

    id = (struct i2o_evt_id){ .iop = 2, .tid = 0, .evt_mask = I2O_EVT_IND_EXEC_NEW_LCT_ENTRY };
    CHECK_EQ(ioc(I2OEVTREG, (uintptr_t)&id, &u), 0);
    CHECK(!iop_ctl_file_readable(f));
    /* A new LCT entry raises it on the executive, with the TID as data. */
    struct iop_device lan = { .tid = 0x20, .class_id = I2O_CLASS_LAN, .user_tid = 0xFFF };
    CHECK_EQ(iop_controller_add_device(sys->iop[2], &lan, NULL), 0);
    CHECK(iop_ctl_file_readable(f));
    memset(&g, 0xff, sizeof(g));
    CHECK_EQ(ioc(I2OEVTGET, (uintptr_t)&g, &u), 0);
    CHECK_EQ(g.info.id.iop, 2);
    CHECK_EQ(g.info.id.tid, 0);
    CHECK_EQ(g.info.id.evt_mask, I2O_EVT_IND_EXEC_NEW_LCT_ENTRY);
    CHECK_EQ(g.info.data_size, 4);
    CHECK_EQ(iop_get_le32(g.info.evt_data), 0x20);
    CHECK_EQ(g.pending, 0);
    CHECK_EQ(g.lost, 0);
    /* Not registered for MODIFIED_LCT: removal is not queued. */
    CHECK_EQ(iop_controller_remove_device(sys->iop[2], 0x20), 0);
    CHECK(!iop_ctl_file_readable(f));

    /* Overflow: 40 events into a 32-entry ring: the 8 oldest are lost. */
    for (unsigned i = 0; i < 40; i++) {
        struct iop_device d = { .tid = (uint16_t)(0x100 + i), .class_id = I2O_CLASS_LAN, .user_tid = 0xFFF };
        CHECK_EQ(iop_controller_add_device(sys->iop[2], &d, NULL), 0);
    }
    CHECK_EQ(ioc(I2OEVTGET, (uintptr_t)&g, &u), 0);
    CHECK_EQ(iop_get_le32(g.info.evt_data), 0x108); /* the oldest kept */
    CHECK_EQ(g.pending, 31);
    CHECK_EQ(g.lost, 8);

    /* read(): whole records, as many as fit. */
    uint8_t rbuf[3 * sizeof(struct i2o_evt_info) + 50];
    CHECK_EQ(iop_ctl_read(f, rbuf, 100), -EINVAL);
    CHECK_EQ(iop_ctl_read(f, rbuf, sizeof(rbuf)), 3 * (long)sizeof(struct i2o_evt_info));
    struct i2o_evt_info e;
    memcpy(&e, rbuf + 2 * sizeof(e), sizeof(e));
    CHECK_EQ(iop_get_le32(e.evt_data), 0x10B);
    uint8_t big[40 * sizeof(struct i2o_evt_info)];
    CHECK_EQ(iop_ctl_read(f, big, sizeof(big)), 28 * (long)sizeof(struct i2o_evt_info));
    CHECK_EQ(iop_ctl_read(f, big, sizeof(big)), -EAGAIN);
    CHECK_EQ(ioc(I2OEVTGET, (uintptr_t)&g, &u), -ENOENT);

    /* mask 0 cancels. */
    id = (struct i2o_evt_id){ .iop = 2, .tid = 0, .evt_mask = 0 };
    CHECK_EQ(ioc(I2OEVTREG, (uintptr_t)&id, &u), 0);
    struct iop_device d = { .tid = 0x300, .class_id = I2O_CLASS_LAN, .user_tid = 0xFFF };
    CHECK_EQ(iop_controller_add_device(sys->iop[2], &d, NULL), 0);
    CHECK(!iop_ctl_file_readable(f));

    /* Other files see only their own registrations. */
    struct iop_ctl_file *g2;
    CHECK_EQ(iop_ctl_open(ctl, &g2), 0);
    id = (struct i2o_evt_id){ .iop = 2, .tid = 0, .evt_mask = I2O_EVT_IND_EXEC_MODIFIED_LCT };
    CHECK_EQ(iop_ctl_ioctl(ctl, g2, I2OEVTREG, (uintptr_t)&id, 0, &u.um, NULL), 0);
    CHECK_EQ(iop_controller_remove_device(sys->iop[2], 0x300), 0);
    CHECK(iop_ctl_file_readable(g2));
    CHECK(!iop_ctl_file_readable(f));
    iop_ctl_release(g2); /* frees its registration and queue (ASan checks) */
    CHECK_EQ(iop_controller_remove_device(sys->iop[2], 0x101), 0);
}

/* A file's event state exists only while it has registrations or queued events (a
 * client holding thousands of files that never register costs little), and the lost
 * count stays cumulative across it, as the kernel's q_lost. */
static void test_events_lazy(void) {
    struct iop_umem_space u;
    struct i2o_evt_id id;
    struct i2o_evt_get g;
    struct iop_ctl_file *h;
    iop_umem_space_init(&u);
    iop_umem_space_map_self(&u, &id, sizeof(id), false);
    iop_umem_space_map_self(&u, &g, sizeof(g), true);
    CHECK_EQ(iop_ctl_open(ctl, &h), 0);
    CHECK(h->ev == NULL);
    CHECK_EQ(iop_ctl_ioctl(ctl, h, I2OEVTGET, (uintptr_t)&g, 0, &u.um, NULL), -ENOENT);
    CHECK_EQ(iop_ctl_read(h, &g, sizeof(g)), -EAGAIN);
    id = (struct i2o_evt_id){ .iop = 2, .tid = 0, .evt_mask = 0 }; /* cancelling nothing */
    CHECK_EQ(iop_ctl_ioctl(ctl, h, I2OEVTREG, (uintptr_t)&id, 0, &u.um, NULL), 0);
    CHECK(h->ev == NULL);
    id.evt_mask = I2O_EVT_IND_EXEC_NEW_LCT_ENTRY;
    CHECK_EQ(iop_ctl_ioctl(ctl, h, I2OEVTREG, (uintptr_t)&id, 0, &u.um, NULL), 0);
    CHECK(h->ev != NULL);
    for (unsigned i = 0; i < 35; i++) { /* 3 lost */
        struct iop_device d = { .tid = (uint16_t)(0x400 + i), .class_id = I2O_CLASS_LAN, .user_tid = 0xFFF };
        CHECK_EQ(iop_controller_add_device(sys->iop[2], &d, NULL), 0);
    }
    id.evt_mask = 0; /* cancelled, but events are still queued: kept */
    CHECK_EQ(iop_ctl_ioctl(ctl, h, I2OEVTREG, (uintptr_t)&id, 0, &u.um, NULL), 0);
    CHECK(h->ev != NULL);
    unsigned n = 0;
    while (iop_ctl_ioctl(ctl, h, I2OEVTGET, (uintptr_t)&g, 0, &u.um, NULL) == 0)
        n++;
    CHECK_EQ(n, 32);
    CHECK(h->ev == NULL); /* drained and unregistered: given back */
    id.evt_mask = I2O_EVT_IND_EXEC_NEW_LCT_ENTRY;
    CHECK_EQ(iop_ctl_ioctl(ctl, h, I2OEVTREG, (uintptr_t)&id, 0, &u.um, NULL), 0);
    struct iop_device d = { .tid = 0x500, .class_id = I2O_CLASS_LAN, .user_tid = 0xFFF };
    CHECK_EQ(iop_controller_add_device(sys->iop[2], &d, NULL), 0);
    CHECK_EQ(iop_ctl_ioctl(ctl, h, I2OEVTGET, (uintptr_t)&g, 0, &u.um, NULL), 0);
    CHECK_EQ(g.lost, 3);
    iop_ctl_release(h);
    for (unsigned i = 0; i < 35; i++)
        CHECK_EQ(iop_controller_remove_device(sys->iop[2], 0x400 + i), 0);
    CHECK_EQ(iop_controller_remove_device(sys->iop[2], 0x500), 0);
}

/* I2OPASSTHRU: frame + reply area in one buffer, SG elements by 32-bit address. */
static void test_passthru(void) {
    struct iop_umem_space u;
    uint32_t buf[64];
    uint8_t table[256];
    struct i2o_cmd_passthru pt = { .iop = 2, .msg = buf };
    iop_umem_space_init(&u);
    iop_umem_space_map_self(&u, &pt, sizeof(pt), false);
    iop_umem_space_map_self(&u, buf, sizeof(buf), true);
    iop_umem_space_map(&u, 0x10000, table, sizeof(table), true);

    /* UtilNOP to the executive: 4-word frame, 8-word reply area. */
    memset(buf, 0, sizeof(buf));
    buf[0] = 4u << 16 | 0x01;
    buf[1] = (uint32_t)IOP_FN_UTIL_NOP << 24 | 1u << 12 | 0;
    buf[2] = 0x11111111;
    buf[3] = 0x22222222;
    buf[4] = 8u << 16;
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), 0);
    CHECK_EQ(buf[4] >> 16, 5);              /* reply frame size */
    CHECK_EQ(buf[4] & IOP_MSG_REPLY_FLAG, IOP_MSG_REPLY_FLAG);
    CHECK_EQ(buf[6], 0x11111111);           /* contexts restored */
    CHECK_EQ(buf[7], 0x22222222);
    CHECK_EQ(buf[8] >> 24, 0);              /* ReqStatus */

    /* ExecHrtGet with a simple IOP->host element at 0x10000. */
    memset(buf, 0, sizeof(buf));
    buf[0] = 6u << 16 | 4u << 4 | 0x01;
    buf[1] = (uint32_t)IOP_FN_EXEC_HRT_GET << 24 | 1u << 12 | 0;
    buf[4] = IOP_SGL_LAST | IOP_SGL_END_OF_BUFFER | IOP_SGL_SIMPLE | sizeof(table);
    buf[5] = 0x10000;
    buf[6] = 8u << 16;
    memset(table, 0xEE, sizeof(table));
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), 0);
    CHECK_EQ(iop_get_le16(table), 1);
    CHECK_EQ(iop_get_le32(table + 8), 0x10);
    CHECK_EQ(buf[6 + 5], 24);                /* transfer count in the reply */

    /* An unknown function: the ReqStatus comes back as a positive ioctl result. */
    buf[0] = 4u << 16 | 0x01;
    buf[1] = 0x77u << 24 | 1u << 12 | 0;
    buf[4] = 8u << 16;
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ(buf[8] >> 24, IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ(buf[8] & 0xFFFF, IOP_DSC_UNKNOWN_FUNCTION);
    /* A TID that does not exist. */
    buf[1] = (uint32_t)IOP_FN_UTIL_NOP << 24 | 1u << 12 | 0x555;
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ(buf[8] & 0xFFFF, IOP_DSC_INVALID_TARGET_ADDRESS);

    /* The kernel's error cases. */
    pt.iop = 3;
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), -ENXIO);
    pt.iop = 2;
    buf[0] = 129u << 16 | 0x01;          /* over the inbound frame size: EFAULT (sic) */
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), -EFAULT);
    buf[0] = 6u << 16 | 6u << 4 | 0x01;  /* SGL offset at the end of the frame */
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), -EFAULT);
    buf[0] = 6u << 16 | 4u << 4 | 0x01;
    buf[1] = (uint32_t)IOP_FN_UTIL_NOP << 24 | 1u << 12 | 0;
    buf[4] = 0x20000000u | 16;           /* a page-list element: not simple */
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), -EINVAL);
    /* The kernel tested only the simple bit, so a chain element (0x30) passes it. */
    buf[4] = 0x30000000u | 16;
    buf[5] = 0x10000;
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), 0);
    buf[4] = IOP_SGL_SIMPLE | 16;
    buf[5] = 0xdead0000;                 /* unmapped output, written on success */
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), -EFAULT);
    buf[4] = IOP_SGL_SIMPLE | IOP_SGL_DIR_TO_IOP | 16; /* unmapped input */
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), -EFAULT);
    pt.msg = NULL;
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), -EFAULT);
    /* A frame that reaches the end of the buffer has no reply word: EFAULT. */
    pt.msg = &buf[60];
    buf[60] = 4u << 16 | 0x01;
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), -EFAULT);

    /* Data limits are the dispatcher's own, whatever the accessor (this one has no
     * limit): 128 KiB each way, as one CUSE ioctl moves; beyond, ENOMEM before anything
     * is allocated (30 elements of 16 MiB would otherwise be asked for). */
    static uint8_t big[2][100 * 1024];
    iop_umem_space_map(&u, 0x100000, big[0], sizeof(big[0]), true);
    iop_umem_space_map(&u, 0x200000, big[1], sizeof(big[1]), true);
    pt.msg = buf;
    memset(buf, 0, sizeof(buf));
    buf[0] = 8u << 16 | 4u << 4 | 0x01;
    buf[1] = (uint32_t)IOP_FN_UTIL_NOP << 24 | 1u << 12 | 0;
    buf[4] = IOP_SGL_SIMPLE | IOP_SGL_DIR_TO_IOP | (uint32_t)sizeof(big[0]);
    buf[5] = 0x100000;
    buf[6] = IOP_SGL_SIMPLE | IOP_SGL_LAST | (uint32_t)sizeof(big[1]);
    buf[7] = 0x200000;
    buf[8] = 8u << 16;
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), 0); /* 100 KiB in and 100 KiB out */
    buf[4] &= ~IOP_SGL_DIR_TO_IOP;
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), -ENOMEM); /* 200 KiB out */
    buf[4] = IOP_SGL_SIMPLE | IOP_SGL_COUNT_MASK;
    buf[6] = IOP_SGL_SIMPLE | IOP_SGL_LAST | IOP_SGL_COUNT_MASK;
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), -ENOMEM); /* 2 x 16 MiB */

    /* A silent IOP: ETIMEDOUT, and word 4 carries it as the kernel wrote it. */
    struct i2o_cmd_passthru pt7 = { .iop = 7, .msg = buf };
    iop_umem_space_map_self(&u, &pt7, sizeof(pt7), false);
    memset(buf, 0, sizeof(buf));
    buf[0] = 4u << 16 | 0x01;
    buf[1] = (uint32_t)IOP_FN_UTIL_NOP << 24 | 1u << 12;
    buf[4] = 8u << 16;
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt7, &u), -ETIMEDOUT);
    CHECK_EQ(buf[8] >> 24, (uint8_t)(-ETIMEDOUT));

    /* 32-bit caller: {u32 iop; u32 msg}, number I2OPASSTHRU32. */
    uint32_t pt32[2] = { 2, 0x20000 };
    uint32_t msg32[16] = { 4u << 16 | 0x01, (uint32_t)IOP_FN_UTIL_NOP << 24 | 1u << 12, 7, 9, 6u << 16 };
    iop_umem_space_map(&u, 0x30000, pt32, sizeof(pt32), false);
    iop_umem_space_map(&u, 0x20000, msg32, sizeof(msg32), true);
    CHECK_EQ(iop_ctl_ioctl(ctl, f, I2OPASSTHRU32, 0x30000, IOP_CTL_COMPAT, &u.um, NULL), 0);
    CHECK_EQ(msg32[4 + 2], 7);
    /* From a native caller the 32-bit number is unknown: EINVAL as the kernel. */
    CHECK_EQ(ioc(I2OPASSTHRU32, 0x30000, &u), -EINVAL);
}

/* The software store through I2OSWDL / I2OSWUL / I2OSWDEL (native layout). */
static void test_sw(void) {
    char dir[] = "/tmp/iopd-test-sw-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    struct iop_state_dir *sd;
    struct iop_swstore *store;
    CHECK_EQ(iop_state_dir_open(dir, &sd), 0);
    CHECK_EQ(iop_swstore_new(sd, NULL, &store), 0);
    sys->iop[2]->sw = store;

    struct iop_umem_space u;
    static uint8_t image[20000], back[20000];
    uint8_t frag[8192];
    unsigned int swlen, maxfrag, curfrag;
    struct i2o_sw_xfer sw = { .iop = 2, .flags = 0, .sw_type = I2O_SOFTWARE_MODULE_IOP_PRIVATE, .sw_id = 7,
                              .buf = frag, .swlen = &swlen, .maxfrag = &maxfrag, .curfrag = &curfrag };
    iop_umem_space_init(&u);
    iop_umem_space_map_self(&u, &sw, sizeof(sw), false);
    iop_umem_space_map_self(&u, frag, sizeof(frag), true);
    iop_umem_space_map_self(&u, &swlen, 4, true);
    iop_umem_space_map_self(&u, &maxfrag, 4, false);
    iop_umem_space_map_self(&u, &curfrag, 4, false);
    for (size_t i = 0; i < sizeof(image); i++)
        image[i] = (uint8_t)(i * 7 + 3);

    struct i2o_evt_id id = { .iop = 2, .tid = 0, .evt_mask = I2O_EVT_IND_EXEC_DDM_AVAILABILITY };
    iop_umem_space_map_self(&u, &id, sizeof(id), false);
    CHECK_EQ(ioc(I2OEVTREG, (uintptr_t)&id, &u), 0);

    swlen = sizeof(image);
    maxfrag = 3;
    for (curfrag = 1; curfrag <= 3; curfrag++) {
        size_t n = curfrag < 3 ? 8192 : sizeof(image) - 2 * 8192;
        memcpy(frag, image + (curfrag - 1) * 8192, n);
        CHECK_EQ(ioc(I2OSWDL, (uintptr_t)&sw, &u), 0);
        CHECK_EQ(iop_ctl_file_readable(f), curfrag == 3); /* the module appears with the last */
    }
    struct i2o_evt_get g;
    iop_umem_space_map_self(&u, &g, sizeof(g), true);
    CHECK_EQ(ioc(I2OEVTGET, (uintptr_t)&g, &u), 0);
    CHECK_EQ(iop_get_le32(g.info.evt_data + 8), sizeof(image));
    struct iop_sw_module_info info;
    CHECK_EQ(iop_swstore_find(store, I2O_SOFTWARE_MODULE_IOP_PRIVATE, 7, &info), 0);
    CHECK(!info.valid); /* suspect until validated */

    /* Upload it back. */
    for (curfrag = 1; curfrag <= 3; curfrag++) {
        memset(frag, 0, sizeof(frag));
        size_t n = curfrag < 3 ? 8192 : sizeof(image) - 2 * 8192;
        CHECK_EQ(ioc(I2OSWUL, (uintptr_t)&sw, &u), 0);
        memcpy(back + (curfrag - 1) * 8192, frag, n);
    }
    CHECK_MEMEQ(back, image, sizeof(image));

    /* Refusals come back as the positive ReqStatus. */
    curfrag = 2; /* no download in progress */
    CHECK_EQ(ioc(I2OSWDL, (uintptr_t)&sw, &u), IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER);
    maxfrag = 9; /* inconsistent with swlen */
    CHECK_EQ(ioc(I2OSWDL, (uintptr_t)&sw, &u), IOP_SW_STATUS_TRANSACTION_ERROR);
    maxfrag = 3;
    sw.buf = NULL;
    CHECK_EQ(ioc(I2OSWDL, (uintptr_t)&sw, &u), -EFAULT);
    CHECK_EQ(ioc(I2OSWUL, (uintptr_t)&sw, &u), -EFAULT);
    sw.buf = frag;
    sw.iop = 4;
    CHECK_EQ(ioc(I2OSWDL, (uintptr_t)&sw, &u), -ENXIO);
    CHECK_EQ(ioc(I2OSWUL, (uintptr_t)&sw, &u), -ENXIO);
    CHECK_EQ(ioc(I2OSWDEL, (uintptr_t)&sw, &u), -ENXIO);
    sw.iop = 7; /* the silent IOP */
    CHECK_EQ(ioc(I2OSWDL, (uintptr_t)&sw, &u), -ETIMEDOUT);
    sw.iop = 2;
    sw.curfrag = (void *)0x10; /* unmapped counter */
    CHECK_EQ(ioc(I2OSWDL, (uintptr_t)&sw, &u), -EFAULT);
    sw.curfrag = &curfrag;

    /* I2OVALIDATE: suspect becomes valid. */
    CHECK_EQ(ioc(I2OVALIDATE, 2, &u), 0);
    CHECK_EQ(iop_swstore_find(store, I2O_SOFTWARE_MODULE_IOP_PRIVATE, 7, &info), 0);
    CHECK(info.valid);

    /* I2OSWDEL: a wrong size is refused (ETIMEDOUT, as the kernel mapped every
     * failure) but the real size is written back; then 0 (unknown) removes it. */
    swlen = 5;
    CHECK_EQ(ioc(I2OSWDEL, (uintptr_t)&sw, &u), -ETIMEDOUT);
    CHECK_EQ(swlen, sizeof(image));
    swlen = 0;
    CHECK_EQ(ioc(I2OSWDEL, (uintptr_t)&sw, &u), 0);
    CHECK_EQ(swlen, sizeof(image));
    CHECK_EQ(iop_swstore_find(store, I2O_SOFTWARE_MODULE_IOP_PRIVATE, 7, &info), -ENOENT);
    swlen = 0;
    CHECK_EQ(ioc(I2OSWDEL, (uintptr_t)&sw, &u), -ETIMEDOUT); /* gone: nothing written */
    CHECK_EQ(swlen, 0);
    /* Drain the events of this test. */
    while (ioc(I2OEVTGET, (uintptr_t)&g, &u) == 0)
        ;
    id.evt_mask = 0;
    CHECK_EQ(ioc(I2OEVTREG, (uintptr_t)&id, &u), 0);

    sys->iop[2]->sw = NULL;
    iop_swstore_free(store);
    iop_state_dir_free(sd);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_EQ(system(cmd), 0);
}

/* UtilParams through I2OPARMGET / I2OPARMSET. */
static void test_params(void) {
    struct iop_umem_space u;
    uint16_t ops[16];
    uint8_t res[2048];
    unsigned int reslen;
    struct i2o_cmd_psetget pg = { .iop = 2, .tid = 0x12, .opbuf = ops, .resbuf = res, .reslen = &reslen };
    iop_umem_space_init(&u);
    iop_umem_space_map_self(&u, &pg, sizeof(pg), false);
    iop_umem_space_map_self(&u, ops, sizeof(ops), false);
    iop_umem_space_map_self(&u, res, sizeof(res), true);
    iop_umem_space_map_self(&u, &reslen, 4, true);

    /* FIELD_GET of F100 field 0 (ClassID). */
    uint16_t get[] = { 1, 0, 0x0001, 0xF100, 1, 0 };
    memcpy(ops, get, sizeof(get));
    pg.oplen = sizeof(get);
    reslen = sizeof(res);
    CHECK_EQ(ioc(I2OPARMGET, (uintptr_t)&pg, &u), 0);
    CHECK_EQ(reslen, 4 + 4 + 4);             /* list header, block header, one u32 */
    CHECK_EQ(iop_get_le16(res), 1);          /* ResultCount */
    CHECK_EQ(iop_get_le16(res + 4), 2);      /* BlockSize, words */
    CHECK_EQ(res[6], 0);                     /* BlockStatus */
    CHECK_EQ(iop_get_le32(res + 8) & 0xFFF, I2O_CLASS_RANDOM_BLOCK_STORAGE);

    /* ENOBUFS stores the needed length; 0 bytes of result. */
    reslen = 4;
    CHECK_EQ(ioc(I2OPARMGET, (uintptr_t)&pg, &u), -ENOBUFS);
    CHECK_EQ(reslen, 12);

    /* FIELD_SET of F102 DeviceName (field 0, 64 bytes), then read it back. */
    struct i2o_evt_id id = { .iop = 2, .tid = 0x12, .evt_mask = I2O_EVT_IND_FIELD_MODIFIED };
    iop_umem_space_map_self(&u, &id, sizeof(id), false);
    CHECK_EQ(ioc(I2OEVTREG, (uintptr_t)&id, &u), 0);
    uint8_t setops[4 + 8 + 64];
    memset(setops, 0, sizeof(setops));
    iop_put_le16(setops, 1);
    iop_put_le16(setops + 4, 0x0006);
    iop_put_le16(setops + 6, 0xF102);
    iop_put_le16(setops + 8, 1);
    iop_put_le16(setops + 10, 0);
    memcpy(setops + 12, "scratch-disk", 12);
    iop_umem_space_map_self(&u, setops, sizeof(setops), false);
    pg.opbuf = setops;
    pg.oplen = sizeof(setops);
    reslen = sizeof(res);
    CHECK_EQ(ioc(I2OPARMSET, (uintptr_t)&pg, &u), 0);
    CHECK_EQ(res[6], 0);
    char name[65];
    CHECK(iop_params_get_string(iop_device_params(iop_controller_find_device(sys->iop[2], 0x12)), 0xF102, "DeviceName",
                                NULL, 0, name, sizeof(name)) > 0);
    CHECK_STREQ(name, "scratch-disk");
    CHECK(iop_ctl_file_readable(f)); /* FIELD_MODIFIED was raised */
    struct i2o_evt_get g;
    iop_umem_space_map_self(&u, &g, sizeof(g), true);
    CHECK_EQ(ioc(I2OEVTGET, (uintptr_t)&g, &u), 0);
    CHECK_EQ(g.info.id.evt_mask, I2O_EVT_IND_FIELD_MODIFIED);
    CHECK_EQ(iop_get_le16(g.info.evt_data), 0xF102);
    id.evt_mask = 0;
    CHECK_EQ(ioc(I2OEVTREG, (uintptr_t)&id, &u), 0);
    /* A set in a Get message changes nothing: one failed block, EAGAIN. */
    memcpy(setops + 12, "other", 6);
    CHECK_EQ(ioc(I2OPARMGET, (uintptr_t)&pg, &u), -EAGAIN);
    /* A read-only field: FIELD_UNWRITEABLE, a single failed block: EAGAIN. */
    iop_put_le16(setops + 6, 0xF100);
    CHECK_EQ(ioc(I2OPARMSET, (uintptr_t)&pg, &u), -EAGAIN);

    /* Errors in the kernel's order. */
    pg.opbuf = ops;
    pg.oplen = sizeof(get);
    pg.tid = 0x777;
    CHECK_EQ(ioc(I2OPARMGET, (uintptr_t)&pg, &u), -ENXIO);
    pg.tid = 0x12;
    pg.iop = 5;
    CHECK_EQ(ioc(I2OPARMGET, (uintptr_t)&pg, &u), -ENXIO);
    pg.reslen = (void *)4;
    CHECK_EQ(ioc(I2OPARMGET, (uintptr_t)&pg, &u), -EFAULT); /* reslen before the IOP */
    pg.reslen = &reslen;
    pg.iop = 2;
    pg.opbuf = (void *)0x40;
    CHECK_EQ(ioc(I2OPARMGET, (uintptr_t)&pg, &u), -EFAULT);
    pg.opbuf = ops;
    pg.oplen = 0x7fffffff;
    CHECK_EQ(ioc(I2OPARMGET, (uintptr_t)&pg, &u), -ENOMEM);
    pg.oplen = 5; /* truncated list */
    CHECK_EQ(ioc(I2OPARMGET, (uintptr_t)&pg, &u), -EAGAIN);
    pg.oplen = sizeof(get);
    pg.iop = 7; /* silent */
    pg.tid = 0;
    CHECK_EQ(ioc(I2OPARMGET, (uintptr_t)&pg, &u), -EAGAIN);
    pg.iop = 2;
    pg.resbuf = NULL;
    reslen = sizeof(res);
    CHECK_EQ(ioc(I2OPARMGET, (uintptr_t)&pg, &u), -EFAULT);
}

/* I2OHTML: the page as a string, ENOBUFS with its length, the query applied. */
static void test_html(void) {
    struct iop_umem_space u;
    static char page[65536];
    unsigned int reslen;
    const char *q = "F102.DeviceName=via-html";
    struct i2o_html h = { .iop = 2, .tid = 0x12, .page = 1, .resbuf = page, .reslen = &reslen,
                          .qbuf = (void *)q, .qlen = (unsigned)strlen(q) };
    iop_umem_space_init(&u);
    iop_umem_space_map_self(&u, &h, sizeof(h), false);
    iop_umem_space_map_self(&u, page, sizeof(page), true);
    iop_umem_space_map_self(&u, &reslen, 4, true);
    iop_umem_space_map_self(&u, (void *)q, strlen(q), false);
    reslen = 10;
    CHECK_EQ(ioc(I2OHTML, (uintptr_t)&h, &u), -ENOBUFS);
    CHECK(reslen > 100);
    unsigned need = reslen;
    CHECK_EQ(ioc(I2OHTML, (uintptr_t)&h, &u), 0);
    CHECK_EQ(reslen, need);
    CHECK(memmem(page, reslen, "via-html", 8) != NULL);
    char name[65];
    CHECK(iop_params_get_string(iop_device_params(iop_controller_find_device(sys->iop[2], 0x12)), 0xF102, "DeviceName", NULL,
                                0, name, sizeof(name)) > 0);
    CHECK_STREQ(name, "via-html");
    h.tid = 0x444;
    CHECK_EQ(ioc(I2OHTML, (uintptr_t)&h, &u), -ENXIO);
    h.tid = 0x12;
    h.resbuf = NULL;
    CHECK_EQ(ioc(I2OHTML, (uintptr_t)&h, &u), -EFAULT);
    h.resbuf = page;
    h.qbuf = (void *)0x10;
    CHECK_EQ(ioc(I2OHTML, (uintptr_t)&h, &u), -EFAULT);
    h.qlen = 1u << 20;
    CHECK_EQ(ioc(I2OHTML, (uintptr_t)&h, &u), -ENOMEM);
    h.qlen = 0; /* qbuf is ignored without a length */
    CHECK_EQ(ioc(I2OHTML, (uintptr_t)&h, &u), 0);
    h.iop = 7;
    h.tid = 0;
    CHECK_EQ(ioc(I2OHTML, (uintptr_t)&h, &u), -ETIMEDOUT);
}

/* Block storage through I2OPASSTHRU: BsaBlockWrite then BsaBlockRead, two SG elements,
 * the data through the ISA DMA channel. */
static void test_bsa(void) {
    struct iop_isa_path *isa;
    CHECK_EQ(iop_isa_path_new(5, &isa), 0);
    sys->iop[2]->isa = isa;
    struct iop_umem_space u;
    uint32_t buf[64];
    static uint8_t a[1024], b[512], back[1536];
    struct i2o_cmd_passthru pt = { .iop = 2, .msg = buf };
    iop_umem_space_init(&u);
    iop_umem_space_map_self(&u, &pt, sizeof(pt), false);
    iop_umem_space_map_self(&u, buf, sizeof(buf), true);
    iop_umem_space_map(&u, 0x10000, a, sizeof(a), false);
    iop_umem_space_map(&u, 0x20000, b, sizeof(b), false);
    iop_umem_space_map(&u, 0x30000, back, sizeof(back), true);
    for (size_t i = 0; i < sizeof(a); i++)
        a[i] = (uint8_t)(i * 3);
    memset(b, 0x5A, sizeof(b));

    memset(buf, 0, sizeof(buf));
    buf[0] = 12u << 16 | 8u << 4 | 0x01;
    buf[1] = (uint32_t)IOP_FN_BSA_BLOCK_WRITE << 24 | 1u << 12 | 0x12;
    buf[5] = 1536;   /* bytes */
    buf[6] = 512;    /* at block 1 */
    buf[7] = 0;
    buf[8] = IOP_SGL_SIMPLE | IOP_SGL_DIR_TO_IOP | 1024;
    buf[9] = 0x10000;
    buf[10] = IOP_SGL_SIMPLE | IOP_SGL_DIR_TO_IOP | IOP_SGL_LAST | 512;
    buf[11] = 0x20000;
    buf[12] = 8u << 16;
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), 0);
    CHECK_EQ(buf[12 + 5], 1536); /* transfer count */

    buf[1] = (uint32_t)IOP_FN_BSA_BLOCK_READ << 24 | 1u << 12 | 0x12;
    buf[0] = 10u << 16 | 8u << 4 | 0x01;
    buf[8] = IOP_SGL_SIMPLE | IOP_SGL_LAST | 1536;
    buf[9] = 0x30000;
    buf[10] = 8u << 16;
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), 0);
    CHECK_MEMEQ(back, a, 1024);
    CHECK_MEMEQ(back + 1024, b, 512);
    struct iop_dma_chan_status st;
    CHECK_EQ(iop_dma_get_status(&isa->dma, 5, &st), 0);
    CHECK_EQ(st.totals.bytes, 3072); /* both directions went through the channel */

    /* Misaligned, beyond the capacity (100 blocks of 512), and too small a buffer. */
    buf[6] = 100;
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ(buf[10 + 4] & 0xFFFF, IOP_DSC_INVALID_PARAMETER);
    buf[6] = 99 * 512;
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    CHECK_EQ(buf[10 + 4] & 0xFFFF, 0x0002); /* BSA ACCESS_ERROR */
    buf[6] = 0;
    buf[5] = 2048;
    CHECK_EQ(ioc(I2OPASSTHRU, (uintptr_t)&pt, &u), IOP_REPLY_ERROR_NO_DATA_TRANSFER);
    sys->iop[2]->isa = NULL;
    iop_isa_path_free(isa);
}

static void test_names_and_unknown(void) {
    struct iop_umem_space u;
    iop_umem_space_init(&u);
    CHECK_STREQ(iop_ctl_cmd_name(I2OGETIOPS, 0), "I2OGETIOPS");
    CHECK_STREQ(iop_ctl_cmd_name(I2OVALIDATE, 0), "I2OVALIDATE");
    CHECK_STREQ(iop_ctl_cmd_name(IOP_I2OLCTGET32, IOP_CTL_COMPAT), "I2OLCTGET");
    CHECK(iop_ctl_cmd_name(0x1234, 0) == NULL);
    CHECK_EQ(ioc(0x1234, 0, &u), -EINVAL);
    CHECK_EQ(iop_ctl_ioctl(ctl, f, 0x1234, 0, IOP_CTL_COMPAT, &u.um, NULL), -EINVAL);
}

static void test_files(void) {
    struct iop_ctl_file *g;
    CHECK_EQ(iop_ctl_file_count(ctl), 1);
    CHECK_EQ(iop_ctl_open(ctl, &g), 0);
    CHECK_EQ(iop_ctl_file_count(ctl), 2);
    iop_ctl_release(g);
    CHECK_EQ(iop_ctl_file_count(ctl), 1);
}

int main(void) {
    setup();
    TEST(test_getiops);
    TEST(test_validate);
    TEST(test_hrt_lct);
    TEST(test_hrt_compat);
    TEST(test_events);
    TEST(test_events_lazy);
    TEST(test_passthru);
    TEST(test_sw);
    TEST(test_params);
    TEST(test_html);
    TEST(test_bsa);
    TEST(test_names_and_unknown);
    TEST(test_files);
    iop_ctl_release(f);
    iop_ctl_free(ctl);
    iop_system_free(sys);
    return test_summary();
}
