/* Linux: uevent netlink socket, sysfs, usbfs nodes (see os.h). */
#include "lib/usb/os.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/usb/uevent.h"

/* Kernel messages only: the uevent socket's receive buffer asks for this much (the
 * kernel caps it at net.core.rmem_max) so that a burst of plugging does not overflow. */
#define UEVENT_RCVBUF (1 << 20)
#define KERNEL_GROUP 1u

int iop_usb_os_uevent_open(void) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
    if (fd < 0)
        return -errno;
    int on = 1, size = UEVENT_RCVBUF;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = KERNEL_GROUP };
    if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

ssize_t iop_usb_os_uevent_recv(int fd, char *buf, size_t cap) {
    struct sockaddr_nl sa;
    char control[CMSG_SPACE(sizeof(struct ucred))];
    struct iovec iov = { .iov_base = buf, .iov_len = cap };
    struct msghdr mh = { .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = control, .msg_controllen = sizeof(control) };
    ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if (mh.msg_flags & MSG_TRUNC)
        return -EMSGSIZE;
    /* The kernel sends from port 0 with root's credentials; anything else is not it. */
    const struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    if (mh.msg_namelen != sizeof(sa) || sa.nl_pid != 0 || !c || c->cmsg_level != SOL_SOCKET ||
        c->cmsg_type != SCM_CREDENTIALS || c->cmsg_len < CMSG_LEN(sizeof(struct ucred)))
        return -EPERM;
    struct ucred cred;
    memcpy(&cred, CMSG_DATA(c), sizeof(cred));
    if (cred.uid != 0)
        return -EPERM;
    return n;
}

int iop_usb_os_sysfs_name(uint16_t bus, const uint8_t *ports, size_t depth, char *buf, size_t cap) {
    if (!buf || cap == 0 || (depth && !ports) || depth > IOP_USB_MAX_PORTS)
        return -EINVAL;
    int n = depth ? snprintf(buf, cap, "%u-", bus) : snprintf(buf, cap, "usb%u", bus);
    for (size_t i = 0; i < depth && n >= 0 && (size_t)n < cap; i++)
        n += snprintf(buf + n, cap - (size_t)n, "%s%u", i ? "." : "", ports[i]);
    return n >= 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
}

/* The canonical name of a device (rebuilt from its numbers), or -EINVAL. */
static int canonical(const char *name, char *buf, size_t cap) {
    uint16_t bus;
    uint8_t ports[IOP_USB_MAX_PORTS], depth;
    if (!name || iop_usb_parse_sysfs_name(name, strlen(name), &bus, ports, &depth) < 0)
        return -EINVAL;
    return iop_usb_os_sysfs_name(bus, ports, depth, buf, cap);
}

int iop_usb_os_driver(const char *sysfs, const char *name, char *buf, size_t cap) {
    char canon[64], path[256], link[256];
    int r = canonical(name, canon, sizeof(canon));
    if (r < 0)
        return r;
    if (!buf || cap == 0)
        return -EINVAL;
    snprintf(path, sizeof(path), "%s/bus/usb/devices/%s/driver", sysfs ? sysfs : "/sys", canon);
    ssize_t n = readlink(path, link, sizeof(link) - 1);
    if (n < 0)
        return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;
    link[n] = 0;
    const char *base = strrchr(link, '/');
    base = base ? base + 1 : link;
    if (strlen(base) >= cap)
        return -ENAMETOOLONG;
    strcpy(buf, base);
    return 0;
}

int iop_usb_os_open_device(uint16_t bus, uint8_t devnum) {
    char path[64];
    snprintf(path, sizeof(path), "/dev/bus/usb/%03u/%03u", bus, devnum);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* A small decimal sysfs attribute (busnum, devnum), or -1. */
static long read_number(const char *dir, const char *name, const char *attr) {
    char path[256], text[32];
    snprintf(path, sizeof(path), "%s/%s/%s", dir, name, attr);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    text[n] = 0;
    char *end;
    long v = strtol(text, &end, 10);
    return end != text && (*end == '\n' || *end == 0) ? v : -1;
}

int iop_usb_os_scan(const char *sysfs, iop_usb_os_scan_fn fn, void *ctx) {
    char dir[200];
    snprintf(dir, sizeof(dir), "%s/bus/usb/devices", sysfs ? sysfs : "/sys");
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    struct dirent *e;
    int stop = 0;
    while (!stop && (e = readdir(d))) {
        char canon[64], driver[64] = "";
        if (canonical(e->d_name, canon, sizeof(canon)) < 0 || strcmp(canon, e->d_name) != 0)
            continue; /* interfaces (1-2:1.0), "." and ".." */
        long bus = read_number(dir, canon, "busnum"), dev = read_number(dir, canon, "devnum");
        if (bus < 1 || bus > 0xFFFF || dev < 1 || dev > 127)
            continue;
        (void)iop_usb_os_driver(sysfs, canon, driver, sizeof(driver));
        stop = fn(ctx, canon, (uint16_t)bus, (uint8_t)dev, driver);
    }
    closedir(d);
    return 0;
}
