/* A usbmon binary-API client written from the kernel's ABI alone (mon_bin.c's structs
 * and numbers, as libpcap declares them): it runs a fixed script of calls on a node
 * and prints one line per result, so that the output for the kernel's /dev/usbmonN
 * and for iopd's node of the same bus can be compared line for line.
 *
 *   usbmon-bin-client NODE TRAFFIC
 *
 * TRAFFIC is a command run (with an argument "control" or "bulk") whenever the script
 * needs URB events on the node's bus: "control" must make exactly one control IN
 * transfer of 18 bytes (GET_DESCRIPTOR device), "bulk" six bulk OUT transfers of 4096
 * bytes.  Built twice: natively and with -m32 -static (usbmon-bin-client32), so the
 * 32-bit callers' layouts and command numbers go through the compat path.
 *
 * Lines that are expected to differ between the kernel and iopd start with "~" (mmap:
 * CUSE has none); everything else must be identical.  Exit 0 unless the client itself
 * could not run.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

struct mon_bin_hdr {
    uint64_t id;
    unsigned char type, xfer_type, epnum, devnum;
    unsigned short busnum;
    char flag_setup, flag_data;
    int64_t ts_sec;
    int32_t ts_usec;
    int status;
    unsigned int len_urb, len_cap;
    union {
        unsigned char setup[8];
        struct {
            int error_count, numdesc;
        } iso;
    } s;
    int interval, start_frame;
    unsigned int xfer_flags, ndesc;
};
struct mon_bin_stats {
    uint32_t queued, dropped;
};
struct mon_bin_get {
    struct mon_bin_hdr *hdr;
    void *data;
    size_t alloc;
};
struct mon_bin_mfetch {
    uint32_t *offvec;
    uint32_t nfetch, nflush;
};
/* The other width's struct, for the "wrong width" cases. */
struct other_get {
    unsigned char b[sizeof(void *) == 8 ? 12 : 24];
};

#define MON_IOC_MAGIC 0x92
#define MON_IOCQ_URB_LEN _IO(MON_IOC_MAGIC, 1)
#define MON_IOCX_URB _IOWR(MON_IOC_MAGIC, 2, struct mon_bin_hdr)
#define MON_IOCG_STATS _IOR(MON_IOC_MAGIC, 3, struct mon_bin_stats)
#define MON_IOCT_RING_SIZE _IO(MON_IOC_MAGIC, 4)
#define MON_IOCQ_RING_SIZE _IO(MON_IOC_MAGIC, 5)
#define MON_IOCX_GET _IOW(MON_IOC_MAGIC, 6, struct mon_bin_get)
#define MON_IOCX_MFETCH _IOWR(MON_IOC_MAGIC, 7, struct mon_bin_mfetch)
#define MON_IOCH_MFLUSH _IO(MON_IOC_MAGIC, 8)
#define MON_IOCX_GETX _IOW(MON_IOC_MAGIC, 10, struct mon_bin_get)
#define OTHER_GET _IOW(MON_IOC_MAGIC, 6, struct other_get)

static int fd;
static const char *traffic;
static long page;
static unsigned char *good, *hole, *ro; /* a mapped page, an unmapped one, a read-only one */

static const char *err(long r) {
    static char b[32];
    if (r >= 0) {
        snprintf(b, sizeof(b), "%ld", r);
        return b;
    }
    switch (errno) {
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case EAGAIN: return "EAGAIN";
    case EINTR: return "EINTR";
    case ENOTTY: return "ENOTTY";
    case ENODEV: return "ENODEV";
    case ENOMEM: return "ENOMEM";
    case EBUSY: return "EBUSY";
    case EPERM: return "EPERM";
    default: snprintf(b, sizeof(b), "errno %d", errno); return b;
    }
}

#define SHOW(name, expr)                                                                    \
    do {                                                                                    \
        errno = 0;                                                                          \
        long _r = (long)(expr);                                                             \
        printf("%s: %s\n", name, err(_r));                                                  \
    } while (0)

static void run_traffic(const char *kind) {
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s %s >/dev/null 2>&1", traffic, kind);
    if (system(cmd) != 0)
        printf("traffic %s failed\n", kind);
}

/* Records queued, counted without touching the drop count (STATS would reset it):
 * MFETCH removes nothing when nflush is 0, and poll keeps it from waiting. */
static int queued(void) {
    struct pollfd p = { .fd = fd, .events = POLLIN };
    uint32_t v[64];
    struct mon_bin_mfetch m = { v, 64, 0 };
    if (poll(&p, 1, 0) <= 0)
        return 0;
    if (ioctl(fd, MON_IOCX_MFETCH, &m) < 0)
        return -1;
    return (int)m.nfetch;
}

/* Wait until n records are queued (events come from another process). */
static void wait_queued(int n) {
    for (int i = 0; i < 100 && queued() < n; i++)
        usleep(50000);
}

static void show_hdr(const char *name, const struct mon_bin_hdr *h, int full) {
    printf("%s: type %c xfer %u ep %02x dev %u bus %u setup %d/%02x%02x%02x%02x%02x%02x%02x%02x data %d status %d "
           "len_urb %u len_cap %u", name, h->type, h->xfer_type, h->epnum, h->devnum, h->busnum, h->flag_setup, h->s.setup[0], h->s.setup[1], h->s.setup[2], h->s.setup[3],
           h->s.setup[4], h->s.setup[5], h->s.setup[6], h->s.setup[7], h->flag_data, h->status, h->len_urb,
           h->len_cap);
    if (full)
        printf(" interval %d start %d flags %#x ndesc %u", h->interval, h->start_frame, h->xfer_flags, h->ndesc);
    printf("\n");
}

static void on_alarm(int sig) {
    (void)sig;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: usbmon-bin-client NODE TRAFFIC\n");
        return 2;
    }
    traffic = argv[2];
    setvbuf(stdout, NULL, _IOLBF, 0);
    page = sysconf(_SC_PAGESIZE);
    good = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (good == MAP_FAILED)
        return 2;
    hole = good + page;
    ro = good + 2 * page;
    munmap(hole, page);
    mprotect(ro, page, PROT_READ);
    fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        perror(argv[1]);
        return 2;
    }
    printf("width: %d-bit\n", (int)sizeof(void *) * 8);

    /* Ring size: limits and rounding; a new size empties the ring. */
    SHOW("ring size at open", ioctl(fd, MON_IOCQ_RING_SIZE));
    SHOW("set ring 0", ioctl(fd, MON_IOCT_RING_SIZE, 0));
    SHOW("set ring 8191", ioctl(fd, MON_IOCT_RING_SIZE, 8191));
    SHOW("set ring 1228801", ioctl(fd, MON_IOCT_RING_SIZE, 1228801)); /* 1200 KiB was the old limit */
    SHOW("ring size", ioctl(fd, MON_IOCQ_RING_SIZE));
    SHOW("set ring 67108865", ioctl(fd, MON_IOCT_RING_SIZE, 67108865));
    SHOW("set ring 67108864", ioctl(fd, MON_IOCT_RING_SIZE, 67108864));
    SHOW("ring size", ioctl(fd, MON_IOCQ_RING_SIZE));
    SHOW("set ring -1", ioctl(fd, MON_IOCT_RING_SIZE, -1L));
    SHOW("set ring 8193", ioctl(fd, MON_IOCT_RING_SIZE, 8193));
    SHOW("ring size", ioctl(fd, MON_IOCQ_RING_SIZE));
    SHOW("set ring 1228800", ioctl(fd, MON_IOCT_RING_SIZE, 1228800));
    SHOW("ring size", ioctl(fd, MON_IOCQ_RING_SIZE));
    SHOW("set ring 307200", ioctl(fd, MON_IOCT_RING_SIZE, 307200));

    /* An empty ring. */
    struct mon_bin_stats st = { 7, 7 };
    SHOW("urb len, empty", ioctl(fd, MON_IOCQ_URB_LEN));
    SHOW("stats", ioctl(fd, MON_IOCG_STATS, &st));
    printf("stats: queued %u dropped %u\n", st.queued, st.dropped);
    SHOW("stats NULL", ioctl(fd, MON_IOCG_STATS, NULL));
    SHOW("stats unmapped", ioctl(fd, MON_IOCG_STATS, hole));
    SHOW("stats read-only", ioctl(fd, MON_IOCG_STATS, ro));
    SHOW("unknown command", ioctl(fd, _IO(MON_IOC_MAGIC, 0x77), 0));
    SHOW("MON_IOCX_URB (gone)", ioctl(fd, MON_IOCX_URB, good));
    SHOW("MON_IOCT_SETAPI (gone)", ioctl(fd, _IO(MON_IOC_MAGIC, 9), 1));
    SHOW("the other width's GET", ioctl(fd, OTHER_GET, good));
    SHOW("write", write(fd, "x", 1));
    SHOW("mflush, empty", ioctl(fd, MON_IOCH_MFLUSH, 5));
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    SHOW("poll, empty", poll(&pfd, 1, 0));

    /* Non-blocking: fcntl, then a read (iopd learns O_NONBLOCK from reads). */
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    unsigned char buf[8192];
    SHOW("read, nonblocking", read(fd, buf, 64));
    struct mon_bin_hdr hdr;
    struct mon_bin_get get = { &hdr, buf, sizeof(buf) };
    SHOW("get, nonblocking", ioctl(fd, MON_IOCX_GET, &get));
    uint32_t vec[64];
    struct mon_bin_mfetch mf = { vec, 8, 0 };
    SHOW("mfetch, nonblocking", ioctl(fd, MON_IOCX_MFETCH, &mf));
    SHOW("get NULL", ioctl(fd, MON_IOCX_GET, NULL));
    SHOW("get unmapped", ioctl(fd, MON_IOCX_GET, hole));
    get.alloc = 0x10000001;
    SHOW("get alloc 0x10000001", ioctl(fd, MON_IOCX_GET, &get)); /* 64-bit: EINVAL; 32-bit: no limit */
    get.alloc = sizeof(buf);
    SHOW("mfetch NULL", ioctl(fd, MON_IOCX_MFETCH, NULL));

    /* Blocking again: a read waits for the first event (and tells iopd the file's mode:
     * CUSE passes a file's flags with reads, not with ioctls). */
    fcntl(fd, F_SETFL, fl);
    struct sigaction sa = { .sa_handler = on_alarm };
    sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART */
    pid_t child = fork();
    if (child == 0) {
        usleep(500000);
        run_traffic("control");
        _exit(0);
    }
    SHOW("read 1 byte, blocking until an event", read(fd, buf, 1));
    waitpid(child, NULL, 0);
    wait_queued(2);
    SHOW("poll, queued", poll(&pfd, 1, 0));
    printf("poll revents: %#x\n", pfd.revents);
    SHOW("stats", ioctl(fd, MON_IOCG_STATS, &st));
    printf("stats: queued %u dropped %u\n", st.queued, st.dropped);
    SHOW("urb len (S of a control IN)", ioctl(fd, MON_IOCQ_URB_LEN));

    /* GET with bad pointers: EFAULT, and the record is kept. */
    get = (struct mon_bin_get){ NULL, buf, sizeof(buf) };
    SHOW("get, hdr NULL", ioctl(fd, MON_IOCX_GET, &get));
    get.hdr = (struct mon_bin_hdr *)hole;
    SHOW("getx, hdr unmapped", ioctl(fd, MON_IOCX_GETX, &get));
    get.hdr = (struct mon_bin_hdr *)(hole - 20); /* runs into the hole */
    SHOW("get, hdr across the hole", ioctl(fd, MON_IOCX_GET, &get));
    SHOW("stats after faults", (ioctl(fd, MON_IOCG_STATS, &st), (long)st.queued));
    /* The S record: a 64-byte header, nothing after it, so data may be anything. */
    memset(&hdr, 0, sizeof(hdr));
    get = (struct mon_bin_get){ &hdr, NULL, 100 };
    SHOW("getx S, data NULL", ioctl(fd, MON_IOCX_GETX, &get));
    show_hdr("S", &hdr, 1);
    /* The C record: 18 bytes of descriptor. */
    SHOW("urb len (C)", ioctl(fd, MON_IOCQ_URB_LEN));
    get = (struct mon_bin_get){ &hdr, hole, 100 };
    SHOW("get C, data unmapped", ioctl(fd, MON_IOCX_GET, &get));
    get = (struct mon_bin_get){ &hdr, hole - 10, 100 };
    SHOW("get C, data across the hole", ioctl(fd, MON_IOCX_GET, &get));
    SHOW("urb len, still there", ioctl(fd, MON_IOCQ_URB_LEN));
    /* Read it in pieces of 1, 7, 40 and 100 bytes: 48 + 18. */
    unsigned char rec[256];
    size_t at = 0;
    long n;
    n = read(fd, rec, 1); at += n > 0 ? (size_t)n : 0;
    n = read(fd, rec + at, 7); at += n > 0 ? (size_t)n : 0;
    n = read(fd, rec + at, 40); at += n > 0 ? (size_t)n : 0;
    printf("read pieces: %zu bytes so far\n", at);
    n = read(fd, rec + at, 100);
    printf("read rest: %ld\n", n);
    at += n > 0 ? (size_t)n : 0;
    memset(&hdr, 0, sizeof(hdr));
    memcpy(&hdr, rec, 48);
    show_hdr("C by read", &hdr, 0);
    printf("C data:");
    for (size_t i = 48; i < at; i++)
        printf(" %02x", rec[i]);
    printf("\n");
    SHOW("queued after read", queued());

    /* MFETCH: offsets into the ring, in the kernel's arithmetic; MFLUSH. */
    run_traffic("control");
    wait_queued(2);
    mf = (struct mon_bin_mfetch){ vec, 8, 0 };
    SHOW("mfetch", ioctl(fd, MON_IOCX_MFETCH, &mf));
    printf("mfetch: nfetch %u offsets %u %u\n", mf.nfetch, vec[0], vec[1]);
    mf = (struct mon_bin_mfetch){ vec, 1, 1 };
    SHOW("mfetch nflush 1", ioctl(fd, MON_IOCX_MFETCH, &mf));
    printf("mfetch: nflush %u nfetch %u offset %u\n", mf.nflush, mf.nfetch, vec[0]);
    mf = (struct mon_bin_mfetch){ (uint32_t *)hole, 4, 0 };
    SHOW("mfetch, offvec unmapped", ioctl(fd, MON_IOCX_MFETCH, &mf));
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    SHOW("read 1 byte (and O_NONBLOCK with it)", read(fd, buf, 1));
    mf = (struct mon_bin_mfetch){ vec, 4, 5 };
    SHOW("mfetch nflush 5, nonblocking", ioctl(fd, MON_IOCX_MFETCH, &mf));
    printf("mfetch: nflush %u\n", mf.nflush);
    fcntl(fd, F_SETFL, fl);
    run_traffic("control");
    wait_queued(2);
    SHOW("read 1 byte (and blocking with it)", read(fd, buf, 1));
    SHOW("mflush 10", ioctl(fd, MON_IOCH_MFLUSH, 10));
    /* A blocking GET that a signal interrupts. */
    alarm(1);
    get = (struct mon_bin_get){ &hdr, buf, sizeof(buf) };
    SHOW("get, blocking, signal", ioctl(fd, MON_IOCX_GET, &get));
    alarm(0);

    /* Overflow: 8 KiB ring, six 4096-byte bulk OUTs: S records of 64 + 8192/5 bytes
     * (1728 with alignment), C records of 64: four pairs fit, two S are dropped. */
    SHOW("set ring 8192", ioctl(fd, MON_IOCT_RING_SIZE, 8192));
    run_traffic("bulk");
    wait_queued(10);
    usleep(300000);
    SHOW("stats after overflow", ioctl(fd, MON_IOCG_STATS, &st));
    printf("stats: queued %u dropped %u\n", st.queued, st.dropped);
    SHOW("stats again", ioctl(fd, MON_IOCG_STATS, &st));
    printf("stats: queued %u dropped %u\n", st.queued, st.dropped);
    memset(&hdr, 0, sizeof(hdr));
    get = (struct mon_bin_get){ &hdr, buf, sizeof(buf) };
    SHOW("getx bulk S", ioctl(fd, MON_IOCX_GETX, &get));
    show_hdr("bulk S", &hdr, 1);
    printf("bulk data: %02x %02x .. %02x\n", buf[0], buf[1], buf[hdr.len_cap - 1]);
    SHOW("mflush rest", ioctl(fd, MON_IOCH_MFLUSH, 100));

    /* mmap: the kernel maps the ring; CUSE has no mmap (libpcap then uses GET). */
    void *m = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
    printf("~mmap: %s\n", m == MAP_FAILED ? err(-1) : "mapped");
    if (m != MAP_FAILED)
        munmap(m, 8192);
    close(fd);
    return 0;
}
