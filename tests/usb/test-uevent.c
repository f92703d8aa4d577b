/* Kernel uevent messages and sysfs device names: real messages as the kernel sends
 * them, malformed and hostile ones, and the fuzz entry driven with random and mutated
 * messages. */
#include <errno.h>
#include <string.h>

#include "lib/usb/uevent.h"
#include "testutil.h"

/* What the kernel multicasts when the generic driver binds a new device (VM capture). */
static const char bind_msg[] =
    "bind@/devices/platform/dummy_hcd.0/usb3/3-1\0ACTION=bind\0DEVPATH=/devices/platform/dummy_hcd.0/usb3/3-1\0"
    "SUBSYSTEM=usb\0DEVNAME=bus/usb/003/002\0DEVTYPE=usb_device\0DRIVER=usb\0PRODUCT=1d6b/104/100\0"
    "TYPE=0/0/0\0BUSNUM=003\0DEVNUM=002\0SEQNUM=2231";

static void test_parse(void) {
    struct iop_uevent ev;
    CHECK_EQ(iop_uevent_parse(bind_msg, sizeof(bind_msg), &ev), 0);
    CHECK_EQ(ev.action, IOP_UEVENT_BIND);
    CHECK(iop_uevent_str_is(ev.subsystem, "usb"));
    CHECK(iop_uevent_str_is(ev.devtype, "usb_device"));
    CHECK(iop_uevent_str_is(ev.driver, "usb"));
    CHECK(iop_uevent_str_is(ev.devpath, "/devices/platform/dummy_hcd.0/usb3/3-1"));
    CHECK_EQ(ev.busnum, 3);
    CHECK_EQ(ev.devnum, 2);
    CHECK(iop_uevent_is_usb_device(&ev));
    CHECK(iop_uevent_str_is(iop_uevent_devpath_name(ev.devpath), "3-1"));
    /* Without the final NUL (the buffer's end ends the last variable). */
    CHECK_EQ(iop_uevent_parse(bind_msg, sizeof(bind_msg) - 1, &ev), 0);
    CHECK_EQ(ev.devnum, 2);
    /* Cut in the middle of DEVNUM's value: "00" is not a device. */
    CHECK_EQ(iop_uevent_parse(bind_msg, sizeof(bind_msg) - 14, &ev), 0);
    CHECK_EQ(ev.devnum, -1);
    CHECK(!iop_uevent_is_usb_device(&ev));

    static const char iface[] = "add@/devices/pci0000:00/0000:00:04.0/usb1/1-1/1-1:1.0\0ACTION=add\0"
                                "SUBSYSTEM=usb\0DEVTYPE=usb_interface\0INTERFACE=3/1/1\0SEQNUM=9";
    CHECK_EQ(iop_uevent_parse(iface, sizeof(iface), &ev), 0);
    CHECK_EQ(ev.action, IOP_UEVENT_ADD);
    CHECK(!iop_uevent_is_usb_device(&ev));
    CHECK(iop_uevent_str_is(ev.devpath, "/devices/pci0000:00/0000:00:04.0/usb1/1-1/1-1:1.0"));
    static const char rm[] = "remove@/devices/x/usb4/4-1\0ACTION=remove\0SUBSYSTEM=usb\0DEVTYPE=usb_device\0"
                             "BUSNUM=004\0DEVNUM=127";
    CHECK_EQ(iop_uevent_parse(rm, sizeof(rm), &ev), 0);
    CHECK_EQ(ev.action, IOP_UEVENT_REMOVE);
    CHECK(iop_uevent_is_usb_device(&ev));
    CHECK_EQ(ev.devnum, 127);
    static const char unb[] = "unbind@/devices/x/usb4/4-1\0ACTION=unbind\0";
    CHECK_EQ(iop_uevent_parse(unb, sizeof(unb), &ev), 0);
    CHECK_EQ(ev.action, IOP_UEVENT_UNBIND);
    static const char chg[] = "change@/devices/x\0";
    CHECK_EQ(iop_uevent_parse(chg, sizeof(chg), &ev), 0);
    CHECK_EQ(ev.action, IOP_UEVENT_OTHER);
}

static void test_hostile(void) {
    struct iop_uevent ev;
    static const char udev[] = "libudev\0\xfe\xed\xca\xfe";
    CHECK_EQ(iop_uevent_parse(udev, sizeof(udev), &ev), -ENOMSG);
    CHECK_EQ(iop_uevent_parse("", 0, &ev), -EINVAL);
    CHECK_EQ(iop_uevent_parse(NULL, 10, &ev), -EINVAL);
    CHECK_EQ(iop_uevent_parse("add", 3, &ev), -EINVAL);   /* no '@' */
    CHECK_EQ(iop_uevent_parse("@/x", 3, &ev), -EINVAL);   /* no action */
    CHECK_EQ(iop_uevent_parse("add@", 4, &ev), -EINVAL);  /* no path */
    CHECK_EQ(iop_uevent_parse("add@/x", 6, NULL), -EINVAL);
    /* Numbers out of range or not numbers; keys without '='; empty values. */
    static const char bad[] = "add@/a/1-1\0SUBSYSTEM=usb\0DEVTYPE=usb_device\0BUSNUM=000\0DEVNUM=128\0junk\0=\0DRIVER=";
    CHECK_EQ(iop_uevent_parse(bad, sizeof(bad), &ev), 0);
    CHECK_EQ(ev.busnum, -1);
    CHECK_EQ(ev.devnum, -1);
    CHECK(iop_uevent_str_is(ev.driver, ""));
    static const char big[] = "add@/a\0BUSNUM=65536\0DEVNUM=-1\0";
    CHECK_EQ(iop_uevent_parse(big, sizeof(big), &ev), 0);
    CHECK_EQ(ev.busnum, -1);
    CHECK_EQ(ev.devnum, -1);
    static const char longnum[] = "add@/a\0BUSNUM=000000000000000000001\0";
    CHECK_EQ(iop_uevent_parse(longnum, sizeof(longnum), &ev), 0);
    CHECK_EQ(ev.busnum, -1);
}

static void test_sysfs_names(void) {
    uint16_t bus = 0;
    uint8_t ports[IOP_USB_MAX_PORTS], depth = 9;
#define NAME(s) iop_usb_parse_sysfs_name(s, strlen(s), &bus, ports, &depth)
    CHECK_EQ(NAME("3-1.2"), 0);
    CHECK_EQ(bus, 3);
    CHECK_EQ(depth, 2);
    CHECK_EQ(ports[0], 1);
    CHECK_EQ(ports[1], 2);
    CHECK_EQ(NAME("usb12"), 0);
    CHECK_EQ(bus, 12);
    CHECK_EQ(depth, 0);
    CHECK_EQ(NAME("65535-255.1.2.3.4.5.6"), 0);
    CHECK_EQ(depth, 7);
    CHECK_EQ(NAME("1-1.1.1.1.1.1.1.1"), -E2BIG);
    CHECK_EQ(NAME("3-1:1.0"), -EINVAL); /* an interface */
    CHECK_EQ(NAME("0-1"), -ERANGE);
    CHECK_EQ(NAME("65536-1"), -ERANGE);
    CHECK_EQ(NAME("1-256"), -ERANGE);
    CHECK_EQ(NAME("1-0"), -ERANGE);
    CHECK_EQ(NAME("1-99999999999"), -ERANGE);
    CHECK_EQ(NAME("1-"), -EINVAL);
    CHECK_EQ(NAME("-1"), -EINVAL);
    CHECK_EQ(NAME("1-1..2"), -EINVAL);
    CHECK_EQ(NAME("1-1."), -EINVAL);
    CHECK_EQ(NAME("a-1"), -EINVAL);
    CHECK_EQ(NAME("usb"), -EINVAL);
    CHECK_EQ(NAME("usb0"), -ERANGE);
    CHECK_EQ(NAME("usbx"), -EINVAL);
    CHECK_EQ(iop_usb_parse_sysfs_name(NULL, 3, &bus, ports, &depth), -EINVAL);
#undef NAME
}


static void test_fuzz(void) {
    test_rand_seed(0x13198A2E03707344ull);
    static uint8_t in[2048];
    int bad = 0;
    for (int c = 0; c < 20000 && !bad; c++) {
        size_t len;
        if (c % 3 == 0) {
            len = test_rand() % 300;
            for (size_t i = 0; i < len; i++)
                in[i] = (uint8_t)test_rand();
        } else {
            /* The real message, mutated: bytes flipped, NULs and '=' moved, cut. */
            len = sizeof(bind_msg);
            memcpy(in, bind_msg, len);
            for (int k = test_rand() % 8; k >= 0; k--) {
                size_t at = test_rand() % len;
                uint32_t what = test_rand() % 4;
                in[at] = what == 0 ? 0 : what == 1 ? '=' : what == 2 ? (uint8_t)('0' + test_rand() % 10) : (uint8_t)test_rand();
            }
            len = test_rand() % 4 ? len : test_rand() % len;
        }
        bad = iop_uevent_fuzz_one(in, len);
        if (bad)
            fprintf(stderr, "case %d: invariant %d broke\n", c, bad);
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(iop_uevent_fuzz_one(NULL, 0), 0);
}

int main(void) {
    TEST(test_parse);
    TEST(test_hostile);
    TEST(test_sysfs_names);
    TEST(test_fuzz);
    return test_summary();
}
