#include "daemon/notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "iopd-config.h"

/* The service manager's notification protocol (sd_notify(3)): one datagram with the
 * state lines to the AF_UNIX socket named by $NOTIFY_SOCKET, a path or, with a leading
 * '@', an abstract name.  The manager takes the sender's credentials from the socket
 * (SO_PASSCRED), so nothing else goes with it.  Spoken here rather than through
 * libsystemd: that library and the six it pulls in (gcrypt, lz4, lzma, zstd, cap,
 * gpg-error) cost about 1 MB of resident memory for this one call (BENCHMARKS.md,
 * "Memory"). */
static int notify_send(const char *state) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return 0; /* not under a Type=notify unit */
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t n = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path))
        return -EAFNOSUPPORT; /* vsock and other forms: not for a local system service */
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@')
        sa.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    ssize_t r = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&sa,
                       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
    int err = r < 0 ? -errno : 0;
    close(fd);
    return err;
}

void iopd_notify(const char *state) {
#if IOPD_SD_NOTIFY
    (void)notify_send(state);
#else
    (void)notify_send;
    (void)state;
#endif
}

void iopd_notifyf(const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    iopd_notify(buf);
}
