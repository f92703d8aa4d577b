/* Benchmark helper (not a test) for tests/usbmon/bench-trace.sh, run inside the VM.
 *
 *   bench-trace traffic IOP TID EP_OUT EP_IN LEN SECONDS THREADS
 *       THREADS clients, each with its own open /dev/i2o/ctl, each sending bulk OUT
 *       of LEN bytes then bulk IN of LEN bytes to a Loopback gadget through
 *       I2OPASSTHRU and iopd's private USB message, for SECONDS.  Prints
 *       "urbs N seconds S rate R" (URBs per second, all clients together).
 *   bench-trace read PATH BUFSIZE
 *       Reads PATH with read(2) of BUFSIZE bytes until SIGTERM (or end of file),
 *       counts lines.  Prints "lines N bytes B reads R seconds S cpu_us U": S from
 *       the first byte to the last, U the reader's user+system time.
 *   bench-trace readbin PATH RING
 *       A binary usbmon reader on PATH (/dev/usbmonN, the kernel's or iopd's) with a
 *       ring of RING bytes, taking records with MON_IOCX_GETX as libpcap does when it
 *       cannot map the ring, until SIGTERM.  Prints "lines N bytes B reads R seconds S
 *       cpu_us U drops D": N records, D the drops MON_IOCG_STATS reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <linux/i2o-dev.h>

#define ORG_XFN 0x7E0D0001u /* iopd's private USB message: OrganizationID 0x7E0D, XFunctionCode 1 */
#define REPLY_WORDS 16u
#define MAX_LEN 65536u

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct traffic {
    unsigned iop, tid, ep_out, ep_in, len;
    double end;
    unsigned long urbs;
    int err;
};

/* One bulk URB on ep through I2OPASSTHRU (the layout tools/iopctl/usb.c builds). */
static int urb(int fd, uint32_t *msg, const struct traffic *t, unsigned ep) {
    unsigned body = 10, words = body + 2;
    uint8_t *data = (uint8_t *)(msg + 128 + REPLY_WORDS);
    msg[0] = words << 16 | body << 4 | 0x01;
    msg[1] = 0xFFu << 24 | 1u << 12 | t->tid;
    msg[2] = 0x62656e63;
    msg[3] = 0;
    msg[4] = ORG_XFN;
    msg[5] = ep | 3u << 8; /* bulk, no URB flags */
    msg[6] = 5000;         /* timeout, ms */
    msg[7] = 1;
    msg[8] = msg[9] = 0;
    msg[body] = 0x90000000u | (ep & 0x80 ? 0 : 0x04000000u) | t->len;
    msg[body + 1] = (uint32_t)(uintptr_t)data;
    uint32_t *reply = msg + words;
    memset(reply, 0, REPLY_WORDS * 4);
    reply[0] = REPLY_WORDS << 16;
    struct i2o_cmd_passthru pt = { .iop = t->iop, .msg = msg };
    if (ioctl(fd, I2OPASSTHRU, &pt) != 0)
        return errno ? -errno : -EIO;
    return (int32_t)reply[6];
}

static void *traffic_thread(void *arg) {
    struct traffic *t = arg;
    int fd = open("/dev/i2o/ctl", O_RDWR);
    /* Frame, reply and data below 4 GiB: the SG addresses are 32-bit. */
    size_t map_len = (128 + REPLY_WORDS) * 4 + MAX_LEN;
    uint32_t *msg = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (fd < 0 || msg == MAP_FAILED) {
        t->err = -errno;
        return NULL;
    }
    memset(msg + 128 + REPLY_WORDS, 0xa5, t->len);
    while (now() < t->end) {
        int r = urb(fd, msg, t, t->ep_out);
        if (r == 0)
            r = urb(fd, msg, t, t->ep_in);
        if (r != 0) {
            t->err = r;
            break;
        }
        t->urbs += 2;
    }
    munmap(msg, map_len);
    close(fd);
    return NULL;
}

static int traffic(char **a) {
    unsigned v[5];
    for (int i = 0; i < 5; i++)
        v[i] = (unsigned)strtoul(a[i], NULL, 0);
    double secs = atof(a[5]);
    unsigned n = (unsigned)atoi(a[6]);
    if (v[4] == 0 || v[4] > MAX_LEN || n == 0 || n > 16 || secs <= 0) {
        fprintf(stderr, "bench-trace: bad traffic arguments\n");
        return 2;
    }
    struct traffic t[16];
    pthread_t th[16];
    double start = now();
    for (unsigned i = 0; i < n; i++) {
        t[i] = (struct traffic){ v[0], v[1], v[2], v[3], v[4], start + secs, 0, 0 };
        pthread_create(&th[i], NULL, traffic_thread, &t[i]);
    }
    unsigned long urbs = 0;
    int err = 0;
    for (unsigned i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        urbs += t[i].urbs;
        if (t[i].err)
            err = t[i].err;
    }
    double el = now() - start;
    if (err) {
        fprintf(stderr, "bench-trace: transfer failed: %s\n", strerror(-err));
        return 1;
    }
    printf("urbs %lu seconds %.3f rate %.0f\n", urbs, el, (double)urbs / el);
    return 0;
}

/* This process's user and system time so far, in microseconds. */
static double cpu_usec(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

static int reader(char **a) {
    size_t bufsize = (size_t)strtoul(a[1], NULL, 0);
    if (bufsize == 0 || bufsize > (1u << 20))
        return 2;
    char *buf = malloc(bufsize);
    int fd = open(a[0], O_RDONLY);
    if (fd < 0 || !buf) {
        fprintf(stderr, "bench-trace: %s: %s\n", a[0], strerror(errno));
        return 1;
    }
    /* No SA_RESTART: SIGTERM ends a blocked read with EINTR (through FUSE_INTERRUPT
     * for the CUSE node). */
    struct sigaction sa = { .sa_handler = on_term };
    sigaction(SIGTERM, &sa, NULL);
    unsigned long lines = 0, bytes = 0, reads = 0;
    double first = 0, last = 0;
    printf("ready\n");
    fflush(stdout);
    while (!stop) {
        ssize_t r = read(fd, buf, bufsize);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        last = now();
        if (!first)
            first = last;
        reads++;
        bytes += (unsigned long)r;
        for (ssize_t i = 0; i < r; i++)
            lines += buf[i] == '\n';
    }
    double cpu = cpu_usec();
    printf("lines %lu bytes %lu reads %lu seconds %.3f cpu_us %.0f\n", lines, bytes, reads, last - first, cpu);
    close(fd);
    free(buf);
    return 0;
}

/* The kernel's usbmon binary ABI (drivers/usb/mon/mon_bin.c), as libpcap declares it. */
struct mon_bin_get {
    void *hdr;
    void *data;
    size_t alloc;
};
struct mon_bin_stats {
    uint32_t queued, dropped;
};
#define MON_IOCG_STATS _IOR(0x92, 3, struct mon_bin_stats)
#define MON_IOCT_RING_SIZE _IO(0x92, 4)
#define MON_IOCX_GETX _IOW(0x92, 10, struct mon_bin_get)

static int reader_bin(char **a) {
    unsigned long ring = strtoul(a[1], NULL, 0);
    int fd = open(a[0], O_RDONLY);
    static uint8_t hdr[64], data[1 << 17];
    if (fd < 0 || ioctl(fd, MON_IOCT_RING_SIZE, ring) < 0) {
        fprintf(stderr, "bench-trace: %s: %s\n", a[0], strerror(errno));
        return 1;
    }
    struct sigaction sa = { .sa_handler = on_term };
    sigaction(SIGTERM, &sa, NULL);
    unsigned long records = 0, bytes = 0, drops = 0;
    double first = 0, last = 0;
    struct mon_bin_get g = { hdr, data, sizeof(data) };
    printf("ready\n");
    fflush(stdout);
    while (!stop) {
        if (ioctl(fd, MON_IOCX_GETX, &g) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        last = now();
        if (!first)
            first = last;
        records++;
        uint32_t len_cap;
        memcpy(&len_cap, hdr + 36, sizeof(len_cap));
        bytes += 64 + len_cap;
    }
    struct mon_bin_stats st;
    if (ioctl(fd, MON_IOCG_STATS, &st) == 0)
        drops = st.dropped;
    double cpu = cpu_usec();
    printf("lines %lu bytes %lu reads %lu seconds %.3f cpu_us %.0f drops %lu\n", records, bytes, records, last - first,
           cpu, drops);
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 9 && strcmp(argv[1], "traffic") == 0)
        return traffic(argv + 2);
    if (argc == 4 && strcmp(argv[1], "read") == 0)
        return reader(argv + 2);
    if (argc == 4 && strcmp(argv[1], "readbin") == 0)
        return reader_bin(argv + 2);
    fprintf(stderr, "usage: bench-trace traffic IOP TID EP_OUT EP_IN LEN SECONDS THREADS\n"
                    "       bench-trace read PATH BUFSIZE\n"
                    "       bench-trace readbin PATH RING\n");
    return 2;
}
