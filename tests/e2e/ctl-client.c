/* An I2O client built only on <linux/i2o-dev.h>, as any old program would be:
 * checks /dev/i2o/ctl behaves as the kernel's driver did.
 *
 *   ctl-client DEVICE getiops UNIT...       the IOPs present are exactly these
 *   ctl-client DEVICE validate IOP ERRNO    I2OVALIDATE gives ERRNO (0 or a name)
 *   ctl-client DEVICE efault                NULL/unmapped pointers give EFAULT
 *   ctl-client DEVICE unknown               unknown commands give EINVAL, read EINVAL
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/i2o-dev.h>

static int failures;

#define EXPECT(cond, ...)                                                                   \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            failures++;                                                                     \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                     \
            printf(__VA_ARGS__);                                                            \
            printf("\n");                                                                   \
        }                                                                                   \
    } while (0)

static int errno_by_name(const char *s) {
    static const struct { const char *name; int e; } t[] = {
        { "0", 0 }, { "ENXIO", ENXIO }, { "ETIMEDOUT", ETIMEDOUT }, { "EFAULT", EFAULT },
        { "EINVAL", EINVAL }, { "ENOTTY", ENOTTY }, { "ENOBUFS", ENOBUFS }, { "ENODEV", ENODEV },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(t[i].name, s) == 0)
            return t[i].e;
    fprintf(stderr, "unknown errno name %s\n", s);
    exit(2);
}

/* ioctl result as 0 or errno */
static int ioctl_errno(int fd, unsigned long cmd, unsigned long arg) {
    return ioctl(fd, cmd, arg) < 0 ? errno : 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: ctl-client DEVICE COMMAND ...\n");
        return 2;
    }
    int fd = open(argv[1], O_RDWR);
    if (fd < 0) {
        perror(argv[1]);
        return 2;
    }
    const char *cmd = argv[2];
    if (strcmp(cmd, "getiops") == 0) {
        __u8 tab[MAX_I2O_CONTROLLERS];
        memset(tab, 0xee, sizeof(tab));
        EXPECT(ioctl(fd, I2OGETIOPS, tab) == 0, "I2OGETIOPS: %s", strerror(errno));
        __u8 want[MAX_I2O_CONTROLLERS] = { 0 };
        for (int i = 3; i < argc; i++)
            want[atoi(argv[i])] = 1;
        for (int i = 0; i < MAX_I2O_CONTROLLERS; i++)
            EXPECT(!!tab[i] == want[i] && tab[i] <= 1, "I2OGETIOPS[%d] = %u, want %u", i, tab[i], want[i]);
    } else if (strcmp(cmd, "validate") == 0 && argc == 5) {
        int want = errno_by_name(argv[4]);
        int got = ioctl_errno(fd, I2OVALIDATE, strtoul(argv[3], NULL, 0));
        EXPECT(got == want, "I2OVALIDATE(%s): got %s, want %s", argv[3], strerror(got), strerror(want));
    } else if (strcmp(cmd, "efault") == 0) {
        EXPECT(ioctl_errno(fd, I2OGETIOPS, 0) == EFAULT, "I2OGETIOPS(NULL)");
        /* A page that is mapped, then unmapped: a dangling pointer. */
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        munmap(p, 4096);
        EXPECT(ioctl_errno(fd, I2OGETIOPS, (unsigned long)p) == EFAULT, "I2OGETIOPS(unmapped)");
        /* Read-only memory cannot receive the table. */
        void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        EXPECT(ioctl_errno(fd, I2OGETIOPS, (unsigned long)ro) == EFAULT, "I2OGETIOPS(read-only)");
        /* The last 16 bytes of a mapping: the table runs off its end. */
        char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        munmap(two + 4096, 4096);
        EXPECT(ioctl_errno(fd, I2OGETIOPS, (unsigned long)(two + 4096 - 16)) == EFAULT, "I2OGETIOPS(straddling)");
    } else if (strcmp(cmd, "unknown") == 0) {
        EXPECT(ioctl_errno(fd, _IO('i', 77), 0) == EINVAL, "unknown 'i' ioctl");
        EXPECT(ioctl_errno(fd, _IOR('z', 1, int), 0) == EINVAL, "foreign ioctl");
        char b[8];
        EXPECT(read(fd, b, sizeof(b)) < 0 && errno == EINVAL, "read gives EINVAL");
        /* The kernel's driver had llseek = no_llseek (ESPIPE).  CUSE devices always get
         * noop_llseek, which succeeds without moving; a daemon cannot change that. */
        EXPECT(lseek(fd, 0, SEEK_SET) == 0, "lseek is a no-op under CUSE");
    } else {
        fprintf(stderr, "ctl-client: bad command\n");
        return 2;
    }
    close(fd);
    printf("%s %s\n", failures ? "FAIL" : "ok  ", cmd);
    return failures ? 1 : 0;
}
