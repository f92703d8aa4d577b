/* The ioctl dispatcher in-process, against a fake address space. */
#include <errno.h>
#include <sys/ioctl.h>
#include <linux/i2o-dev.h>

#include "lib/ctl/ctl.h"
#include "lib/ctl/umem-space.h"
#include "lib/i2o/iop.h"
#include "testutil.h"

static struct iop_system *sys;
static struct iop_ctl *ctl;
static struct iop_ctl_file *f;

static void setup(void) {
    struct iop_controller *c;
    CHECK_EQ(iop_system_new(&sys), 0);
    CHECK_EQ(iop_system_add(sys, 2, "two", NULL), 0);
    CHECK_EQ(iop_system_add(sys, 7, "seven", &c), 0);
    c->answers = false;
    CHECK_EQ(iop_system_add(sys, 7, "again", NULL), -EEXIST);
    CHECK_EQ(iop_system_add(sys, 32, "too far", NULL), -EINVAL);
    CHECK_EQ(iop_ctl_new(sys, &ctl), 0);
    CHECK_EQ(iop_ctl_open(ctl, &f), 0);
}

static void test_getiops(void) {
    struct iop_umem_space u;
    uint8_t tab[32];
    iop_umem_space_init(&u);
    iop_umem_space_map_self(&u, tab, sizeof(tab), true);
    memset(tab, 0x55, sizeof(tab));
    CHECK_EQ(iop_ctl_ioctl(ctl, f, I2OGETIOPS, (uintptr_t)tab, 0, &u.um), 0);
    for (unsigned i = 0; i < 32; i++)
        CHECK_EQ(tab[i], i == 2 || i == 7);
    CHECK_EQ(iop_ctl_ioctl(ctl, f, I2OGETIOPS, 0, 0, &u.um), -EFAULT);
    CHECK_EQ(iop_ctl_ioctl(ctl, f, I2OGETIOPS, (uintptr_t)tab + 1, 0, &u.um), -EFAULT);
}

static void test_validate(void) {
    struct iop_umem_space u;
    iop_umem_space_init(&u);
    CHECK_EQ(iop_ctl_ioctl(ctl, f, I2OVALIDATE, 2, 0, &u.um), 0);
    CHECK_EQ(sys->iop[2]->n_validations, 1);
    CHECK_EQ(iop_ctl_ioctl(ctl, f, I2OVALIDATE, 0, 0, &u.um), -ENXIO);
    CHECK_EQ(iop_ctl_ioctl(ctl, f, I2OVALIDATE, 7, 0, &u.um), -ETIMEDOUT);
    CHECK_EQ(iop_ctl_ioctl(ctl, f, I2OVALIDATE, 0xffffffffu, 0, &u.um), -ENXIO);
    CHECK_EQ(iop_ctl_ioctl(ctl, f, I2OVALIDATE, 2, IOP_CTL_COMPAT, &u.um), 0);
}

static void test_names_and_unknown(void) {
    struct iop_umem_space u;
    iop_umem_space_init(&u);
    CHECK_STREQ(iop_ctl_cmd_name(I2OGETIOPS, 0), "I2OGETIOPS");
    CHECK_STREQ(iop_ctl_cmd_name(I2OVALIDATE, 0), "I2OVALIDATE");
    CHECK(iop_ctl_cmd_name(0x1234, 0) == NULL);
    CHECK_EQ(iop_ctl_ioctl(ctl, f, 0x1234, 0, 0, &u.um), -EINVAL);
    CHECK_EQ(iop_ctl_ioctl(ctl, f, 0x1234, 0, IOP_CTL_COMPAT, &u.um), -ENOTTY);
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
    TEST(test_names_and_unknown);
    TEST(test_files);
    iop_ctl_release(f);
    iop_ctl_free(ctl);
    iop_system_free(sys);
    return test_summary();
}
