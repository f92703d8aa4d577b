/* The /dev/i2o/ctl CUSE adapter, driven over a socketpair by a fake kernel that
 * follows fuse_do_ioctl()'s retry protocol: no /dev/cuse, no root. */
#include <errno.h>
#include <sys/ioctl.h>
#include <linux/i2o-dev.h>

#include "cuse/ctl-node.h"
#include "cuse/cuse-dev.h"
#include "fake-kernel.h"
#include "lib/ctl/ctl.h"
#include "lib/i2o/iop.h"
#include "lib/state/state.h"
#include "lib/swstore/swstore.h"
#include "lib/util/log.h"
#include "testutil.h"

static struct iop_system *sys;
static struct iop_ctl *ctl;
static struct iop_ctl_node *node;
static struct fake_kernel k;
static uint64_t fh;

static void pump(void *ctx) {
    (void)ctx;
    CHECK_EQ(iop_cuse_dev_process(iop_ctl_node_dev(node)), 0);
}

static void setup(void) {
    int dfd;
    struct iop_controller *c;
    CHECK_EQ(iop_system_new(&sys), 0);
    CHECK_EQ(iop_system_add(sys, 0, "zero", NULL), 0);
    CHECK_EQ(iop_system_add(sys, 3, "silent", &c), 0);
    c->answers = false;
    CHECK_EQ(iop_system_add(sys, 31, "last", NULL), 0);
    CHECK_EQ(iop_ctl_new(sys, &ctl), 0);
    CHECK_EQ(fake_kernel_init(&k, &dfd), 0);
    CHECK_EQ(iop_ctl_node_new(ctl, "i2o/ctl", dfd, &node), 0);
    k.pump = pump;
}

static void test_init_and_open(void) {
    CHECK(!iop_cuse_dev_ready(iop_ctl_node_dev(node)));
    CHECK_EQ(fake_kernel_cuse_init(&k), 0);
    CHECK_STREQ(k.devinfo, "DEVNAME=i2o/ctl");
    CHECK(iop_cuse_dev_ready(iop_ctl_node_dev(node)));
    CHECK_EQ(fake_kernel_open(&k, 2 /* O_RDWR */, &fh), 0);
    CHECK_EQ(iop_ctl_file_count(ctl), 1);
}

static void test_getiops(void) {
    struct iop_umem_space user;
    uint8_t tab[MAX_I2O_CONTROLLERS];
    memset(tab, 0xaa, sizeof(tab));
    iop_umem_space_init(&user);
    iop_umem_space_map(&user, 0x10000, tab, sizeof(tab), true);
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OGETIOPS, 0x10000, false, &user), 0);
    /* Round 1 names the 32-byte out range, round 2 fills it. */
    CHECK_EQ(k.rounds, 2);
    for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++)
        CHECK_EQ(tab[i], i == 0 || i == 3 || i == 31);
    /* The same number is valid for 32-bit callers. */
    memset(tab, 0, sizeof(tab));
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OGETIOPS, 0x10000, true, &user), 0);
    CHECK_EQ(tab[31], 1);
}

static void test_getiops_efault(void) {
    struct iop_umem_space user;
    uint8_t small[16];
    iop_umem_space_init(&user);
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OGETIOPS, 0, false, &user), -EFAULT);
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OGETIOPS, 0xdead0000, false, &user), -EFAULT);
    /* A buffer shorter than 32 bytes faults too, as copy_to_user would. */
    iop_umem_space_map(&user, 0x20000, small, sizeof(small), true);
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OGETIOPS, 0x20000, false, &user), -EFAULT);
    /* Read-only memory. */
    uint8_t ro[32];
    iop_umem_space_map(&user, 0x30000, ro, sizeof(ro), false);
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OGETIOPS, 0x30000, false, &user), -EFAULT);
}

static void test_validate(void) {
    struct iop_umem_space user;
    iop_umem_space_init(&user);
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OVALIDATE, 0, false, &user), 0);
    CHECK_EQ(k.rounds, 1); /* by value: no user memory, no retry */
    CHECK_EQ(sys->iop[0]->n_validations, 1);
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OVALIDATE, 31, false, &user), 0);
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OVALIDATE, 1, false, &user), -ENXIO);
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OVALIDATE, 32, false, &user), -ENXIO);
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OVALIDATE, (uint64_t)-1, false, &user), -ENXIO);
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OVALIDATE, 3, false, &user), -ETIMEDOUT);
    /* The kernel did iop = (int)arg: only the low 32 bits count. */
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OVALIDATE, 0x100000000ull, false, &user), 0);
    CHECK_EQ(sys->iop[0]->n_validations, 2);
}

/* HRTGET through the retry protocol: struct, then *reslen and both outputs at once. */
static void test_hrt_rounds(void) {
    struct iop_umem_space user;
    struct i2o_cmd_hrtlct cmd;
    unsigned int reslen;
    uint8_t buf[512];
    iop_umem_space_init(&user);
    iop_umem_space_map(&user, 0x1000, &cmd, sizeof(cmd), false);
    iop_umem_space_map(&user, 0x2000, &reslen, sizeof(reslen), true);
    iop_umem_space_map(&user, 0x3000, buf, sizeof(buf), true);
    cmd = (struct i2o_cmd_hrtlct){ .iop = 0, .resbuf = (void *)0x3000, .reslen = (void *)0x2000 };
    reslen = sizeof(buf);
    memset(buf, 0xCC, sizeof(buf));
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OLCTGET, 0x1000, false, &user), 0);
    CHECK_EQ(k.rounds, 3);
    CHECK_EQ(reslen, 12 + 36); /* header + the executive */
    CHECK_EQ(buf[0], 3 + 9);
    CHECK_EQ(buf[reslen], 0xCC); /* nothing written past the table */
    /* ENOBUFS still stores the needed length (the result travels with data). */
    reslen = 4;
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OLCTGET, 0x1000, false, &user), -ENOBUFS);
    CHECK_EQ(reslen, 48);
    /* No such IOP: ENXIO after the same rounds. */
    cmd.iop = 1;
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OHRTGET, 0x1000, false, &user), -ENXIO);
    /* An unmapped reslen faults in the kernel's copy-in. */
    cmd = (struct i2o_cmd_hrtlct){ .iop = 0, .resbuf = (void *)0x3000, .reslen = (void *)0x9000 };
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OHRTGET, 0x1000, false, &user), -EFAULT);
}

/* Events through the node: registration, I2OEVTGET's 112 bytes, non-blocking read. */
static void test_events_node(void) {
    struct iop_umem_space user;
    struct i2o_evt_id id = { .iop = 0, .tid = 0, .evt_mask = ~0u };
    struct i2o_evt_get g;
    iop_umem_space_init(&user);
    iop_umem_space_map(&user, 0x1000, &id, sizeof(id), false);
    iop_umem_space_map(&user, 0x2000, &g, sizeof(g), true);
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OEVTGET, 0x2000, false, &user), -ENOENT);
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OEVTREG, 0x1000, false, &user), 0);
    CHECK_EQ(k.rounds, 2);
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OVALIDATE, 0, false, &user), 0); /* raises CONFIGURATION_FLAG */
    memset(&g, 0, sizeof(g));
    g.lost = -1;
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OEVTGET, 0x2000, false, &user), 0);
    CHECK_EQ(g.info.id.evt_mask, I2O_EVT_IND_CONFIGURATION_FLAG);
    CHECK_EQ(g.lost, 0); /* all 112 bytes were written */
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OVALIDATE, 0, false, &user), 0);
    struct i2o_evt_info e[2];
    CHECK_EQ(fake_kernel_read(&k, fh, e, sizeof(e)), (long)sizeof(e[0]));
    CHECK_EQ(e[0].id.evt_mask, I2O_EVT_IND_CONFIGURATION_FLAG);
    CHECK_EQ(fake_kernel_read(&k, fh, e, 10), -EINVAL);
    id.evt_mask = 0;
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OEVTREG, 0x1000, false, &user), 0);
}

/* The software ioctls' rounds: SWDL 4, SWUL 3, SWDEL 3. */
static void test_sw_rounds(void) {
    char dir[] = "/tmp/iopd-test-cuse-sw-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    struct iop_state_dir *sd;
    struct iop_swstore *store;
    CHECK_EQ(iop_state_dir_open(dir, &sd), 0);
    CHECK_EQ(iop_swstore_new(sd, NULL, &store), 0);
    sys->iop[0]->sw = store;

    struct iop_umem_space user;
    static uint8_t frag[8192];
    uint32_t swlen = 8192 + 100, maxfrag = 2, curfrag = 1;
    struct i2o_sw_xfer sw = { .iop = 0, .sw_type = I2O_SOFTWARE_MODULE_IRTOS, .sw_id = 1, .buf = (void *)0x5000,
                              .swlen = (void *)0x2000, .maxfrag = (void *)0x2004, .curfrag = (void *)0x2008 };
    uint32_t counters[3];
    iop_umem_space_init(&user);
    iop_umem_space_map(&user, 0x1000, &sw, sizeof(sw), false);
    iop_umem_space_map(&user, 0x2000, counters, sizeof(counters), true);
    iop_umem_space_map(&user, 0x5000, frag, sizeof(frag), true);
    counters[0] = swlen;
    counters[1] = maxfrag;
    for (curfrag = 1; curfrag <= 2; curfrag++) {
        counters[2] = curfrag;
        memset(frag, (int)curfrag, sizeof(frag));
        CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OSWDL, 0x1000, false, &user), 0);
        CHECK_EQ(k.rounds, 4);
    }
    /* Upload the short last fragment into a buffer just big enough for it: the
     * full-size out range named early must not make the copy fault. */
    struct iop_umem_space user2;
    uint8_t small[100];
    iop_umem_space_init(&user2);
    iop_umem_space_map(&user2, 0x1000, &sw, sizeof(sw), false);
    iop_umem_space_map(&user2, 0x2000, counters, sizeof(counters), true);
    iop_umem_space_map(&user2, 0x5000, small, sizeof(small), true);
    counters[2] = 2;
    memset(small, 0, sizeof(small));
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OSWUL, 0x1000, false, &user2), 0);
    CHECK_EQ(k.rounds, 3);
    CHECK_EQ(small[0], 2);
    CHECK_EQ(small[99], 2);
    counters[0] = 0;
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OSWDEL, 0x1000, false, &user), 0);
    CHECK_EQ(k.rounds, 3);
    CHECK_EQ(counters[0], 8192 + 100);

    sys->iop[0]->sw = NULL;
    iop_swstore_free(store);
    iop_state_dir_free(sd);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_EQ(system(cmd), 0);
}

/* PARMGET in three rounds: the struct; *reslen and the op list in with both outputs. */
static void test_params_rounds(void) {
    struct iop_umem_space user;
    uint16_t ops[] = { 1, 0, 0x0001, 0xF100, 0xFFFF };
    uint8_t res[512];
    uint32_t reslen = sizeof(res);
    struct i2o_cmd_psetget pg = { .iop = 0, .tid = 0, .opbuf = (void *)0x2000, .oplen = sizeof(ops),
                                  .resbuf = (void *)0x3000, .reslen = (void *)0x4000 };
    iop_umem_space_init(&user);
    iop_umem_space_map(&user, 0x1000, &pg, sizeof(pg), false);
    iop_umem_space_map(&user, 0x2000, ops, sizeof(ops), false);
    iop_umem_space_map(&user, 0x3000, res, sizeof(res), true);
    iop_umem_space_map(&user, 0x4000, &reslen, 4, true);
    CHECK_EQ(fake_kernel_ioctl(&k, fh, I2OPARMGET, 0x1000, false, &user), 0);
    CHECK_EQ(k.rounds, 3);
    CHECK_EQ(reslen, 4 + 4 + 324); /* F100 is 321 bytes, padded to words */
    CHECK_EQ(res[6], 0);
}

static void test_unknown(void) {
    struct iop_umem_space user;
    iop_umem_space_init(&user);
    CHECK_EQ(fake_kernel_ioctl(&k, fh, _IO('i', 99), 0, false, &user), -EINVAL);
    CHECK_EQ(fake_kernel_ioctl(&k, fh, _IO('x', 0), 0, false, &user), -EINVAL);
    CHECK_EQ(fake_kernel_ioctl(&k, fh, _IO('i', 99), 0, true, &user), -EINVAL);
    char buf[16];
    CHECK_EQ(fake_kernel_read(&k, fh, buf, sizeof(buf)), -EINVAL); /* shorter than one event */
}

static void test_release(void) {
    CHECK_EQ(fake_kernel_release(&k, fh), 0);
    CHECK_EQ(iop_ctl_file_count(ctl), 0);
}

int main(void) {
    iop_log_set_max_level(LOG_WARNING);
    setup();
    TEST(test_init_and_open);
    TEST(test_getiops);
    TEST(test_getiops_efault);
    TEST(test_validate);
    TEST(test_hrt_rounds);
    TEST(test_events_node);
    TEST(test_sw_rounds);
    TEST(test_params_rounds);
    TEST(test_unknown);
    TEST(test_release);
    iop_ctl_node_free(node);
    fake_kernel_close(&k);
    iop_ctl_free(ctl);
    iop_system_free(sys);
    return test_summary();
}
