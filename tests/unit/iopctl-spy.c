/* LD_PRELOAD for iopctl-cli.sh: a driver the host does not have.  ioctl() prints the
 * struct fields iopctl-cli.sh checks and fails with ENOTTY, as /dev/null does; I2OHTML,
 * I2OPASSTHRU and I2OEVTREG succeed, I2OHTML saying it wrote more than the buffer
 * holds, so that iopctl's handling of what comes back runs without an IOP. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include <linux/i2o-dev.h>

int ioctl(int fd, unsigned long req, ...);

int ioctl(int fd, unsigned long req, ...) {
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    (void)fd;
    if (req == I2OSWDL || req == I2OSWUL || req == I2OSWDEL) {
        fprintf(stderr, "spy: sw flags 0x%02x\n", ((struct i2o_sw_xfer *)arg)->flags);
    } else if (req == I2OHTML) {
        struct i2o_html *h = arg;
        *h->reslen += 16;
        return 0;
    } else if (req == I2OEVTREG) {
        return 0; /* then read() of /dev/null gives end of file, as a hung-up device */
    } else if (req == I2OPASSTHRU) {
        return 0; /* the reply frame and the data stay as iopctl left them */
    }
    errno = ENOTTY;
    return -1;
}
