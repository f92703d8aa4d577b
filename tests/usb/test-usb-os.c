/* lib/usb/os.c against a sysfs tree of the test's own: device names rebuilt from
 * numbers, the driver a device has, the scan of every device (interfaces and stray
 * entries skipped); and the kernel's uevent socket where the sandbox allows one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/usb/os.h"
#include "testfs.h"
#include "testutil.h"

static char root[64];

static void put(const char *rel, const char *text) {
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
        close(fd);
    }
}

static void dir(const char *rel) {
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    CHECK_EQ(mkdir(p, 0755), 0);
}

static void link_to(const char *target, const char *rel) {
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    CHECK_EQ(symlink(target, p), 0);
}

/* bus/usb/devices: usb3 (root hub), 3-1 (usbip-host), 3-1:1.0 (an interface), 4-1.2
 * (the generic driver), 5-1 (no driver), junk. */
static void make_tree(void) {
    snprintf(root, sizeof(root), "/tmp/iopd-test-usb-os.%d", (int)getpid());
    test_rm_tree(root);
    CHECK_EQ(mkdir(root, 0755), 0);
    dir("bus");
    dir("bus/usb");
    dir("bus/usb/devices");
    dir("bus/usb/drivers");
    dir("bus/usb/drivers/usb");
    dir("bus/usb/drivers/usbip-host");
    static const struct { const char *name, *bus, *dev, *driver; } devs[] = {
        { "usb3", "3\n", "1\n", "usb" }, { "3-1", "3\n", "2\n", "usbip-host" },
        { "4-1.2", "4\n", "7\n", "usb" }, { "5-1", "5\n", "3\n", NULL },
    };
    for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
        char rel[128], target[128];
        snprintf(rel, sizeof(rel), "bus/usb/devices/%s", devs[i].name);
        dir(rel);
        snprintf(rel, sizeof(rel), "bus/usb/devices/%s/busnum", devs[i].name);
        put(rel, devs[i].bus);
        snprintf(rel, sizeof(rel), "bus/usb/devices/%s/devnum", devs[i].name);
        put(rel, devs[i].dev);
        if (devs[i].driver) {
            snprintf(target, sizeof(target), "../../drivers/%s", devs[i].driver);
            snprintf(rel, sizeof(rel), "bus/usb/devices/%s/driver", devs[i].name);
            link_to(target, rel);
        }
    }
    dir("bus/usb/devices/3-1:1.0");
    put("bus/usb/devices/3-1:1.0/busnum", "3\n");
    dir("bus/usb/devices/6-01"); /* not canonical: sysfs never writes leading zeros */
    put("bus/usb/devices/6-01/busnum", "6\n");
    put("bus/usb/devices/6-01/devnum", "2\n");
}

struct seen {
    int n;
    char names[8][32], drivers[8][32];
    int bus[8], dev[8];
};

static int on_dev(void *ctx, const char *name, uint16_t bus, uint8_t dev, const char *driver) {
    struct seen *s = ctx;
    if (s->n < 8) {
        snprintf(s->names[s->n], 32, "%s", name);
        snprintf(s->drivers[s->n], 32, "%s", driver);
        s->bus[s->n] = bus;
        s->dev[s->n] = dev;
        s->n++;
    }
    return 0;
}

static int find(const struct seen *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name))
            return i;
    return -1;
}

static void test_sysfs(void) {
    make_tree();
    char buf[64];
    CHECK_EQ(iop_usb_os_driver(root, "3-1", buf, sizeof(buf)), 0);
    CHECK_STREQ(buf, IOP_USB_OS_EXPORT_DRIVER);
    CHECK_EQ(iop_usb_os_driver(root, "4-1.2", buf, sizeof(buf)), 0);
    CHECK_STREQ(buf, IOP_USB_OS_GENERIC_DRIVER);
    CHECK_EQ(iop_usb_os_driver(root, "5-1", buf, sizeof(buf)), -ENOENT);
    CHECK_EQ(iop_usb_os_driver(root, "9-9", buf, sizeof(buf)), -ENOENT);
    CHECK_EQ(iop_usb_os_driver(root, "../../etc", buf, sizeof(buf)), -EINVAL);
    CHECK_EQ(iop_usb_os_driver(root, "3-1:1.0", buf, sizeof(buf)), -EINVAL);
    CHECK_EQ(iop_usb_os_driver(root, "3-1", buf, 4), -ENAMETOOLONG);
    struct seen s = { 0 };
    CHECK_EQ(iop_usb_os_scan(root, on_dev, &s), 0);
    CHECK_EQ(s.n, 4);
    int i = find(&s, "3-1");
    CHECK(i >= 0 && s.bus[i] == 3 && s.dev[i] == 2 && !strcmp(s.drivers[i], "usbip-host"));
    i = find(&s, "4-1.2");
    CHECK(i >= 0 && s.bus[i] == 4 && s.dev[i] == 7 && !strcmp(s.drivers[i], "usb"));
    i = find(&s, "5-1");
    CHECK(i >= 0 && s.drivers[i][0] == 0);
    CHECK(find(&s, "usb3") >= 0);
    CHECK(find(&s, "3-1:1.0") < 0);
    CHECK(find(&s, "6-01") < 0);
    CHECK_EQ(iop_usb_os_scan("/nonexistent-iopd", on_dev, &s), -ENOENT);
    test_rm_tree(root);
}

static void test_names(void) {
    char buf[64];
    const uint8_t ports[] = { 1, 2, 3 };
    CHECK_EQ(iop_usb_os_sysfs_name(3, ports, 3, buf, sizeof(buf)), 0);
    CHECK_STREQ(buf, "3-1.2.3");
    CHECK_EQ(iop_usb_os_sysfs_name(12, NULL, 0, buf, sizeof(buf)), 0);
    CHECK_STREQ(buf, "usb12");
    CHECK_EQ(iop_usb_os_sysfs_name(3, ports, 3, buf, 5), -ENAMETOOLONG);
    CHECK_EQ(iop_usb_os_sysfs_name(3, NULL, 2, buf, sizeof(buf)), -EINVAL);
}

static void test_uevent_socket(void) {
    int fd = iop_usb_os_uevent_open();
    if (fd < 0) {
        /* Some sandboxes forbid netlink sockets; then the backend falls back to
         * libusb's hotplug, which is what the end-to-end tests cover. */
        printf("     (no uevent socket here: %s)\n", strerror(-fd));
        CHECK(fd == -EPERM || fd == -EAFNOSUPPORT || fd == -EACCES || fd == -EPROTONOSUPPORT);
        return;
    }
    /* Nothing pending, or a kernel message of anything on this host (the kernel's,
     * so it passes the sender check). */
    char buf[8192];
    ssize_t n = iop_usb_os_uevent_recv(fd, buf, sizeof(buf));
    CHECK(n == -EAGAIN || n > 0);
    close(fd);
}

int main(void) {
    TEST(test_names);
    TEST(test_sysfs);
    TEST(test_uevent_socket);
    return test_summary();
}
