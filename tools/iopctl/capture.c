/* iopctl capture: iopd's URB trace from a binary usbmon node, as a pcap file for
 * Wireshark/tshark/tcpdump, or as one summary line per event.
 *
 * It reads the node the way libpcap would if it could map the ring: MON_IOCX_GETX, the
 * 64-byte header with the ISO descriptors after it, and writes the records as they
 * come as DLT_USB_LINUX_MMAPPED packets (the link type of a memory-mapped Linux usbmon
 * capture).  libpcap 1.10 writes classic pcap files only, so that is the format:
 * pcapng would need a writer of our own.  The node works just as well with the
 * kernel's own /dev/usbmonN. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "lib/usbmon/bin-ioctl.h"
#include "lib/usbmon/bin-reader.h"
#include "lib/usbmon/binary.h"
#include "tools/iopctl/iopctl.h"

#ifndef DLT_USB_LINUX_MMAPPED
#define DLT_USB_LINUX_MMAPPED 220
#endif

#define SNAPLEN_DFL 262144u
#define PROGRESS_USEC 500000u

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig) {
    stop_signal = sig;
}

static uint64_t now_usec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* iopd's binary node for bus: the CUSE device whose name ends in "usbmon<bus>"
 * (/dev/usbmonN, or /dev/iopd/usbmonN when the kernel's usbmon has that name).
 * The kernel's own nodes are not CUSE devices, so they are never taken for iopd's. */
static int find_node(unsigned bus, char *path, size_t len) {
    glob_t g;
    char want[32];
    int found = 0;
    snprintf(want, sizeof(want), "usbmon%u", bus);
    if (glob("/sys/class/cuse/*/uevent", 0, NULL, &g) != 0)
        return 0;
    for (size_t i = 0; i < g.gl_pathc && !found; i++) {
        FILE *f = fopen(g.gl_pathv[i], "r");
        char line[256];
        while (f && fgets(line, sizeof(line), f)) {
            if (strncmp(line, "DEVNAME=", 8) != 0)
                continue;
            line[strcspn(line, "\n")] = 0;
            const char *name = line + 8, *base = strrchr(name, '/');
            base = base ? base + 1 : name;
            size_t bl = strlen(base), wl = strlen(want);
            /* "usbmon1" must not match "usbmon11": compare the ends, digits and all. */
            if (bl >= wl && strcmp(base + bl - wl, want) == 0 && (bl == wl || !(base[bl - wl - 1] >= '0' &&
                                                                                base[bl - wl - 1] <= '9'))) {
                snprintf(path, len, "/dev/%s", name);
                found = 1;
            }
        }
        if (f)
            fclose(f);
    }
    globfree(&g);
    return found;
}

/* libpcap's on-the-wire length for a DLT_USB_LINUX_MMAPPED record (pcap-usb-linux.c
 * and fix_linux_usb_mmapped_length()): the header and what the URB carried, so that a
 * record cut by the ring's or the snapshot's limit says how long it was. */
static uint32_t wire_len(const struct iop_mon_bin_hdr *h, const uint8_t *payload, uint32_t caplen) {
    uint32_t len;
    if (h->flag_data)
        return IOP_MON_BIN_HDR_API1 + h->len_cap;
    len = IOP_MON_BIN_HDR_API1 + h->ndesc * 16u + h->len_urb;
    if (h->xfer_type == 0 && h->type == 'C' && (h->epnum & 0x80)) {
        /* ISO IN completion: the data is scattered; its end is the last packet's end. */
        uint32_t end = 0, avail = caplen - IOP_MON_BIN_HDR_API1;
        for (uint32_t i = 0; i < h->ndesc && avail >= 16; i++, avail -= 16) {
            struct iop_mon_bin_isodesc d;
            memcpy(&d, payload + 16u * i, sizeof(d));
            if (d.iso_len && d.iso_off + d.iso_len > end)
                end = d.iso_off + d.iso_len;
        }
        uint32_t pre = IOP_MON_BIN_HDR_API1 + h->ndesc * 16u + end;
        if (pre >= caplen)
            len = pre;
    }
    return len < caplen ? caplen : len;
}

static char utype(uint8_t xfer) {
    static const char t[4] = { 'Z', 'I', 'C', 'B' };
    return xfer < 4 ? t[xfer] : 'B';
}

/* One line per event, in the spirit of the usbmon text format ('u'), with the wall
 * clock time and all of the captured data up to 32 bytes. */
static void print_summary(const struct iop_mon_bin_hdr *h, const uint8_t *payload, uint32_t got) {
    struct tm tm;
    time_t sec = (time_t)h->ts_sec;
    localtime_r(&sec, &tm);
    printf("%02d:%02d:%02d.%06d %" PRIx64 " %c %c%c:%u:%03u:%u", tm.tm_hour, tm.tm_min, tm.tm_sec, h->ts_usec,
           h->id, h->type, utype(h->xfer_type), (h->epnum & 0x80) ? 'i' : 'o', h->busnum, h->devnum,
           h->epnum & 0x7f);
    if (h->flag_setup == 0)
        printf(" s %02x %02x %04x %04x %04x", h->s.setup[0], h->s.setup[1], h->s.setup[2] | h->s.setup[3] << 8,
               h->s.setup[4] | h->s.setup[5] << 8, h->s.setup[6] | h->s.setup[7] << 8);
    else
        printf(" %d", h->status);
    if (h->xfer_type == 1)
        printf(":%d", h->interval);
    else if (h->xfer_type == 0)
        printf(":%d:%d %d", h->interval, h->start_frame, h->s.iso.numdesc);
    printf(" %u", h->len_urb);
    uint32_t skip = h->ndesc * 16u;
    if (h->flag_data) {
        printf(" %c\n", h->flag_data);
        return;
    }
    if (got > skip && h->len_cap > skip) {
        uint32_t n = got - skip < 32 ? got - skip : 32;
        printf(" =");
        for (uint32_t i = 0; i < n; i++)
            printf("%s%02x", i % 4 ? "" : " ", payload[skip + i]);
    }
    printf("\n");
}

struct capture {
    const char *path;      /* the node */
    const char *out;       /* -w: a file, "-" for stdout, NULL for summary lines */
    unsigned long count;   /* 0: no limit */
    double duration;       /* 0: no limit */
    uint32_t snaplen;
};

static void progress(unsigned long events, uint64_t bytes, uint32_t dropped, bool final) {
    fprintf(stderr, "\r%lu events, %" PRIu64 " bytes, %u dropped%s", events, bytes, dropped, final ? "\n" : "");
    fflush(stderr);
}

static int run_capture(const struct capture *c) {
    int fd = open(c->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        fprintf(stderr, "iopctl: %s: %s\n", c->path, strerror(e));
        return IOPCTL_NODEV;
    }
    /* The ring libpcap would ask for at this snapshot length. */
    uint64_t ring = ((uint64_t)c->snaplen - IOP_MON_BIN_HDR_API1) * 5u;
    if (ring < IOP_MON_BIN_RING_MIN)
        ring = IOP_MON_BIN_RING_MIN;
    if (ring > 1200u * 1024u) /* libpcap's MAX_RING_SIZE */
        ring = 1200u * 1024u;
    if (ioctl(fd, IOP_MON_IOCT_RING_SIZE, (unsigned long)ring) < 0)
        fprintf(stderr, "iopctl: %s: MON_IOCT_RING_SIZE %" PRIu64 ": %s (keeping the default)\n", c->path, ring,
                strerror(errno));

    pcap_t *dead = NULL;
    pcap_dumper_t *dump = NULL;
    bool to_pipe = false;
    if (c->out) {
        dead = pcap_open_dead(DLT_USB_LINUX_MMAPPED, (int)c->snaplen);
        if (!dead) {
            close(fd);
            return iopctl_fail("pcap_open_dead", ENOMEM);
        }
        if (strcmp(c->out, "-") == 0) {
            dump = pcap_dump_fopen(dead, stdout);
            struct stat st;
            to_pipe = fstat(STDOUT_FILENO, &st) == 0 && !S_ISREG(st.st_mode);
        } else {
            dump = pcap_dump_open(dead, c->out);
        }
        if (!dump) {
            fprintf(stderr, "iopctl: %s: %s\n", c->out, pcap_geterr(dead));
            pcap_close(dead);
            close(fd);
            return IOPCTL_FAILED;
        }
    }
    bool show_progress = c->out && strcmp(c->out, "-") != 0 && isatty(STDERR_FILENO);

    struct sigaction sa = { .sa_handler = on_stop };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);

    uint8_t *buf = malloc(c->snaplen);
    if (!buf) {
        close(fd);
        return iopctl_fail("malloc", ENOMEM);
    }
    struct iop_mon_bin_get get = {
        .hdr = (uint64_t)(uintptr_t)buf,
        .data = (uint64_t)(uintptr_t)(buf + IOP_MON_BIN_HDR_API1),
        .alloc = c->snaplen - IOP_MON_BIN_HDR_API1,
    };
    uint64_t start = now_usec(), next_progress = start + PROGRESS_USEC, next_flush = start + PROGRESS_USEC;
    uint64_t end = c->duration > 0 ? start + (uint64_t)(c->duration * 1e6) : 0, bytes = 0;
    unsigned long events = 0;
    uint32_t dropped = 0;
    int rc = IOPCTL_OK;

    while (!stop_signal && (!c->count || events < c->count)) {
        uint64_t now = now_usec();
        if (end && now >= end)
            break;
        if (show_progress && now >= next_progress) {
            struct iop_mon_bin_stats st;
            if (ioctl(fd, IOP_MON_IOCG_STATS, &st) == 0)
                dropped += st.dropped;
            progress(events, bytes, dropped, false);
            next_progress = now + PROGRESS_USEC;
        }
        if (dump && !to_pipe && now >= next_flush) {
            pcap_dump_flush(dump);
            next_flush = now + PROGRESS_USEC;
        }
        if (ioctl(fd, IOP_MON_IOCX_GETX, &get) < 0) {
            int e = errno;
            if (e == EINTR)
                continue;
            if (e != EAGAIN) {
                if (e != ENODEV)
                    rc = iopctl_fail("MON_IOCX_GETX", e);
                else
                    fprintf(stderr, "iopctl: %s: the bus went away\n", c->path);
                break;
            }
            /* Nothing queued: wait for the node, but wake for the duration and the
             * progress line. */
            int timeout = show_progress ? (int)(PROGRESS_USEC / 1000) : -1;
            if (end) {
                int left = (int)((end - now + 999) / 1000);
                timeout = timeout < 0 || left < timeout ? left : timeout;
            }
            if (!to_pipe && dump && (timeout < 0 || timeout > (int)(PROGRESS_USEC / 1000)))
                timeout = (int)(PROGRESS_USEC / 1000);
            struct pollfd pfd = { .fd = fd, .events = POLLIN };
            if (poll(&pfd, 1, timeout) > 0 && (pfd.revents & POLLHUP) && !(pfd.revents & POLLIN)) {
                fprintf(stderr, "iopctl: %s: the bus went away\n", c->path);
                break;
            }
            continue;
        }
        const struct iop_mon_bin_hdr *h = (const void *)buf;
        uint32_t got = h->len_cap < get.alloc ? h->len_cap : (uint32_t)get.alloc;
        events++;
        bytes += IOP_MON_BIN_HDR_API1 + got;
        if (dump) {
            struct pcap_pkthdr ph = {
                .ts = { .tv_sec = (time_t)h->ts_sec, .tv_usec = h->ts_usec },
                .caplen = IOP_MON_BIN_HDR_API1 + got,
            };
            ph.len = wire_len(h, buf + IOP_MON_BIN_HDR_API1, ph.caplen);
            pcap_dump((u_char *)dump, &ph, buf);
            if (to_pipe && pcap_dump_flush(dump) < 0) {
                stop_signal = SIGPIPE; /* the reader went away */
                break;
            }
        } else {
            print_summary(h, buf + IOP_MON_BIN_HDR_API1, got);
            if (fflush(stdout) == EOF)
                break;
        }
    }
    struct iop_mon_bin_stats st;
    if (ioctl(fd, IOP_MON_IOCG_STATS, &st) == 0)
        dropped += st.dropped;
    if (show_progress)
        progress(events, bytes, dropped, true);
    else if (c->out && dropped)
        fprintf(stderr, "iopctl: %u events dropped by the node (its ring was full)\n", dropped);
    if (dump) {
        pcap_dump_flush(dump);
        pcap_dump_close(dump);
    }
    if (dead)
        pcap_close(dead);
    free(buf);
    close(fd);
    return rc;
}

int iopctl_cmd_capture(struct iopctl *ctl, int argc, char **argv) {
    static const struct option longopts[] = {
        { "bus", required_argument, NULL, 'b' },
        { "count", required_argument, NULL, 'c' },
        { "duration", required_argument, NULL, 't' },
        { "device", required_argument, NULL, 'd' },
        { "snaplen", required_argument, NULL, 's' },
        { "write", required_argument, NULL, 'w' },
        {}
    };
    static const char use[] = "capture [--bus N] [--count N] [--duration S] [--snaplen N] [--device PATH] "
                              "[-w FILE|-]";
    struct capture c = { .snaplen = SNAPLEN_DFL };
    uint32_t bus = 0, v;
    const char *device = ctl->device_set ? ctl->device : NULL;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "b:c:t:d:s:w:", longopts, NULL)) != -1) {
        switch (o) {
        case 'b':
            if (iopctl_parse_u32(optarg, 255, &bus) < 0)
                return iopctl_usage("%s (bus 0-255)", use);
            break;
        case 'c':
            if (iopctl_parse_u32(optarg, UINT32_MAX, &v) < 0)
                return iopctl_usage("%s", use);
            c.count = v;
            break;
        case 't': {
            char *e;
            c.duration = strtod(optarg, &e);
            if (*e || !(c.duration > 0) || c.duration > 1e7)
                return iopctl_usage("%s (duration in seconds)", use);
            break;
        }
        case 'd': device = optarg; break;
        case 's':
            if (iopctl_parse_u32(optarg, 1u << 30, &c.snaplen) < 0 || c.snaplen < IOP_MON_BIN_HDR_API1)
                return iopctl_usage("%s (snaplen >= 64)", use);
            break;
        case 'w': c.out = optarg; break;
        default: return iopctl_usage("%s", use);
        }
    }
    if (optind != argc)
        return iopctl_usage("%s", use);
    /* libpcap's MAXIMUM_SNAPLEN; a record is at most 128 KiB anyway. */
    if (c.snaplen > SNAPLEN_DFL)
        c.snaplen = SNAPLEN_DFL;
    char path[PATH_MAX];
    if (device) {
        snprintf(path, sizeof(path), "%s", device);
    } else if (!find_node(bus, path, sizeof(path))) {
        fprintf(stderr, "iopctl: no iopd usbmon node for bus %u (is iopd running, with usbmon nodes?); "
                        "name one with --device\n", bus);
        return IOPCTL_NODEV;
    }
    c.path = path;
    if (c.out && strcmp(c.out, "-") == 0 && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "iopctl: not writing a pcap file to a terminal (redirect it, or leave out -w)\n");
        return IOPCTL_USAGE;
    }
    return run_capture(&c);
}
