/* daemon/notify: the sd_notify protocol spoken without libsystemd.  A datagram socket
 * stands in for the service manager, at a path and at an abstract name; what it
 * receives must be the state text, exactly.  Without $NOTIFY_SOCKET, or with a form
 * that is not ours, nothing is sent and nothing breaks. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/notify.h"
#include "iopd-config.h"
#include "testutil.h"

/* A manager's socket bound to name (a path, or '@' + an abstract name); returns its fd. */
static int manager(const char *name) {
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    CHECK(fd >= 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t n = strlen(name);
    memcpy(sa.sun_path, name, n);
    if (name[0] == '@')
        sa.sun_path[0] = '\0';
    CHECK_EQ(bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)), 0);
    return fd;
}

/* The next datagram on fd as a string ("" when none is queued). */
static const char *received(int fd) {
    static char buf[1024];
    ssize_t r = recv(fd, buf, sizeof(buf) - 1, 0);
    buf[r > 0 ? r : 0] = '\0';
    return buf;
}

static void test_path(void) {
    char dir[] = "/tmp/iopd-notify-XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/notify", dir);
    int fd = manager(path);
    setenv("NOTIFY_SOCKET", path, 1);
    iopd_notify("READY=1");
    iopd_notifyf("STATUS=Serving /dev/%s with %u IOPs", "i2o/ctl", 3u);
#if IOPD_SD_NOTIFY
    CHECK_STREQ(received(fd), "READY=1");
    CHECK_STREQ(received(fd), "STATUS=Serving /dev/i2o/ctl with 3 IOPs");
#endif
    CHECK_STREQ(received(fd), "");
    close(fd);
    unlink(path);
    rmdir(dir);
}

static void test_abstract(void) {
    char name[64];
    snprintf(name, sizeof(name), "@iopd-notify-test-%ld", (long)getpid());
    int fd = manager(name);
    setenv("NOTIFY_SOCKET", name, 1);
    iopd_notify("RELOADING=1");
#if IOPD_SD_NOTIFY
    CHECK_STREQ(received(fd), "RELOADING=1");
#endif
    CHECK_STREQ(received(fd), "");
    close(fd);
}

static void test_absent_or_foreign(void) {
    unsetenv("NOTIFY_SOCKET");
    iopd_notify("READY=1");
    char too_long[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
    memset(too_long, 'x', sizeof(too_long) - 1);
    too_long[0] = '/';
    too_long[sizeof(too_long) - 1] = '\0';
    const char *foreign[] = { "", "relative/path", "vsock:2:1234", too_long };
    for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
        setenv("NOTIFY_SOCKET", foreign[i], 1);
        iopd_notify("READY=1"); /* ignored: no crash, no fault */
    }
    setenv("NOTIFY_SOCKET", "/nonexistent-dir/notify", 1);
    iopd_notify("STOPPING=1"); /* no manager listening: dropped */
    unsetenv("NOTIFY_SOCKET");
}

int main(void) {
    TEST(test_path);
    TEST(test_abstract);
    TEST(test_absent_or_foreign);
    return test_summary();
}
