/* Block writes for the crash tests (faults-kill.sh), through I2OPASSTHRU's BsaBlockWrite
 * and BsaBlockRead as any I2O program sends them.
 *
 *   fault-client DEV bsa-write IOP TID ADDR LEN GEN [COUNT [PID AFTER DELAY_US]]
 *       Write LEN bytes at byte ADDR with generation GEN, GEN+1, ... until an ioctl
 *       fails (the daemon died) or COUNT writes are done; after each write the daemon
 *       acknowledged, print "acked G" (flushed).  With PID: once AFTER writes are
 *       acknowledged, a helper process sends SIGKILL to PID (the daemon) DELAY_US
 *       microseconds later while the writes go on: a kill at a chosen point.  Every 512-byte block holds its generation, its index and
 *       bytes derived from both.
 *   fault-client DEV sw-download IOP TYPE ID FILE [PID AFTER DELAY_US]
 *       Download FILE with I2OSWDL, printing "frag N" (flushed) after each fragment the
 *       daemon acknowledged and "done" at the end (exit 0), or exit 1 at a failure.
 *       With PID: SIGKILL to PID DELAY_US after fragment AFTER was acknowledged (0:
 *       before the first fragment) while the download goes on.
 *   fault-client DEV events IOP TID MASK STOPFILE
 *       Register for MASK on (IOP, TID) and print every event as it comes
 *       ("event TID INDICATOR DATA0 DATA1", the first two data words), waiting with
 *       poll(); once STOPFILE exists and nothing is queued, print "lost N" (the queue's
 *       overflow count) and exit.
 *   fault-client DEV usb-tid IOP VID PID
 *       One I2OLCTGET: print the TID of the USB device (class 0x0F0) with that vendor and
 *       product (in the sub-class's low 16 bits) and exit 0, or exit 1 when there is
 *       none (cheaper than iopctl, which also reads every device's identity).
 *   fault-client DEV bsa-check IOP TID ADDR LEN
 *       Read the region back: print "gen G" when every block holds the same generation
 *       with intact contents (exit 0), else say which blocks differ (exit 1: torn).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/i2o-dev.h>

#define BLOCK 512u
#define MAX_LEN (64u * 1024u)

/* SIGKILL to pid, delay_us from now, from a helper process (the caller goes on). */
static void arm_killer(pid_t pid, unsigned delay_us) {
    if (pid <= 0)
        return;
    if (fork() == 0) {
        usleep(delay_us);
        kill(pid, SIGKILL);
        _exit(0);
    }
}

static void pattern(uint8_t *b, uint32_t gen, uint32_t index) {
    uint64_t x = (uint64_t)gen * 0x9E3779B97F4A7C15ull + index + 1;
    memcpy(b, &gen, 4);
    memcpy(b + 4, &index, 4);
    for (unsigned i = 8; i < BLOCK; i++) {
        x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
        b[i] = (uint8_t)((x * 2685821657736338717ull) >> 56);
    }
}

/* One BsaBlockWrite (0x31) or BsaBlockRead (0x30) through I2OPASSTHRU: 0, or -1. */
static int bsa(int fd, unsigned iop, unsigned tid, int write, uint32_t addr, uint32_t len, uint8_t *data,
               uint32_t *msg) {
    memset(msg, 0, 18 * 4);
    msg[0] = 10u << 16 | 8u << 4 | 0x01;
    msg[1] = (write ? 0x31u : 0x30u) << 24 | 1u << 12 | tid;
    msg[5] = len;
    msg[6] = addr;
    msg[8] = (write ? 0xD4000000u : 0xD0000000u) | len;
    msg[9] = (uint32_t)(uintptr_t)data;
    msg[10] = 8u << 16;
    struct i2o_cmd_passthru pt = { .iop = iop, .msg = msg };
    int r = ioctl(fd, I2OPASSTHRU, &pt);
    if (r != 0) {
        fprintf(stderr, "fault-client: %s: %s\n", write ? "BsaBlockWrite" : "BsaBlockRead",
                r < 0 ? strerror(errno) : "refused by the IOP");
        return -1;
    }
    return 0;
}

static int sw_download(int fd, int argc, char **argv) {
    pid_t victim = argc == 10 ? (pid_t)atoi(argv[7]) : 0;
    unsigned after = argc == 10 ? (unsigned)atoi(argv[8]) : 0, delay = argc == 10 ? (unsigned)atoi(argv[9]) : 0;
    FILE *f = fopen(argv[6], "rb");
    static uint8_t img[16u << 20];
    size_t n = f ? fread(img, 1, sizeof(img), f) : 0;
    if (!f || n == 0) {
        fprintf(stderr, "fault-client: %s: cannot read\n", argv[6]);
        return 2;
    }
    fclose(f);
    unsigned int swlen = (unsigned)n, maxfrag = (unsigned)((n + 8191) / 8192), curfrag;
    struct i2o_sw_xfer x = { .iop = (unsigned)strtoul(argv[3], NULL, 0),
                             .sw_type = (unsigned char)strtoul(argv[4], NULL, 0),
                             .sw_id = (unsigned)strtoul(argv[5], NULL, 0), .swlen = &swlen, .maxfrag = &maxfrag,
                             .curfrag = &curfrag };
    if (after == 0)
        arm_killer(victim, delay);
    for (curfrag = 1; curfrag <= maxfrag; curfrag++) {
        x.buf = img + (size_t)(curfrag - 1) * 8192;
        int r = ioctl(fd, I2OSWDL, &x);
        if (r != 0) {
            fprintf(stderr, "fault-client: I2OSWDL fragment %u: %s\n", curfrag, r < 0 ? strerror(errno) : "refused");
            return 1;
        }
        printf("frag %u\n", curfrag);
        fflush(stdout);
        if (curfrag == after)
            arm_killer(victim, delay);
    }
    printf("done\n");
    fflush(stdout);
    while (wait(NULL) > 0) /* the helper, if any */
        ;
    return 0;
}

static int events(int fd, char **argv) {
    struct i2o_evt_id id = { .iop = (unsigned)strtoul(argv[3], NULL, 0), .tid = (unsigned)strtoul(argv[4], NULL, 0),
                             .evt_mask = (unsigned)strtoul(argv[5], NULL, 0) };
    if (ioctl(fd, I2OEVTREG, &id) != 0) {
        perror("I2OEVTREG");
        return 1;
    }
    int lost = 0;
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int stop = access(argv[6], F_OK) == 0;
        if (poll(&p, 1, 200) < 0 && errno != EINTR)
            return 1;
        struct i2o_evt_get g;
        int n = 0;
        while (ioctl(fd, I2OEVTGET, &g) == 0) {
            uint32_t d0, d1;
            memcpy(&d0, g.info.evt_data, 4);
            memcpy(&d1, g.info.evt_data + 4, 4);
            printf("event 0x%03x 0x%08x 0x%x 0x%x\n", g.info.id.tid, g.info.id.evt_mask, d0, d1);
            lost = g.lost;
            n++;
        }
        fflush(stdout);
        if (stop && n == 0)
            break;
    }
    printf("lost %d\n", lost);
    return 0;
}

static int usb_tid(int fd, unsigned iop, unsigned vid, unsigned pid) {
    static uint8_t buf[65536];
    unsigned int len = sizeof(buf);
    struct i2o_cmd_hrtlct c = { .iop = iop, .resbuf = buf, .reslen = &len };
    if (ioctl(fd, I2OLCTGET, &c) < 0) {
        perror("I2OLCTGET");
        return 2;
    }
    i2o_lct *l = (i2o_lct *)buf;
    unsigned n = l->table_size >= 3 ? (l->table_size - 3) / 9 : 0;
    for (unsigned i = 0; i < n && 12 + (i + 1) * 36 <= len; i++)
        if (l->lct_entry[i].class_id == 0x0F0 && l->lct_entry[i].vendor_id == vid &&
            (l->lct_entry[i].sub_class & 0xFFFF) == pid) {
            printf("%u\n", l->lct_entry[i].tid);
            return 0;
        }
    return 1;
}

int main(int argc, char **argv) {
    if (argc == 6 && strcmp(argv[2], "usb-tid") == 0) {
        int fd = open(argv[1], O_RDWR);
        if (fd < 0) {
            perror(argv[1]);
            return 2;
        }
        int r = usb_tid(fd, (unsigned)strtoul(argv[3], NULL, 0), (unsigned)strtoul(argv[4], NULL, 16),
                        (unsigned)strtoul(argv[5], NULL, 16));
        close(fd);
        return r;
    }
    if (argc == 7 && strcmp(argv[2], "events") == 0) {
        int fd = open(argv[1], O_RDWR);
        if (fd < 0) {
            perror(argv[1]);
            return 2;
        }
        return events(fd, argv);
    }
    if ((argc == 7 || argc == 10) && strcmp(argv[2], "sw-download") == 0) {
        int fd = open(argv[1], O_RDWR);
        if (fd < 0) {
            perror(argv[1]);
            return 2;
        }
        return sw_download(fd, argc, argv);
    }
    if (argc < 7) {
        fprintf(stderr, "usage: fault-client DEV bsa-write|bsa-check IOP TID ADDR LEN [GEN [COUNT]]\n"
                        "       fault-client DEV sw-download IOP TYPE ID FILE\n");
        return 2;
    }
    int fd = open(argv[1], O_RDWR);
    unsigned iop = (unsigned)strtoul(argv[3], NULL, 0), tid = (unsigned)strtoul(argv[4], NULL, 0);
    uint32_t addr = (uint32_t)strtoul(argv[5], NULL, 0), len = (uint32_t)strtoul(argv[6], NULL, 0);
    /* The data below 4 GiB: SG addresses are 32-bit. */
    uint8_t *mem = mmap(NULL, MAX_LEN + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (fd < 0 || mem == MAP_FAILED || len == 0 || len > MAX_LEN || len % BLOCK) {
        fprintf(stderr, "fault-client: bad arguments or %s\n", strerror(errno));
        return 2;
    }
    uint32_t *msg = (uint32_t *)(mem + MAX_LEN);
    if (strcmp(argv[2], "bsa-write") == 0 && (argc == 8 || argc == 9 || argc == 12)) {
        uint32_t count = argc >= 9 ? (uint32_t)strtoul(argv[8], NULL, 0) : UINT32_MAX;
        pid_t victim = argc == 12 ? (pid_t)atoi(argv[9]) : 0;
        uint32_t after = argc == 12 ? (uint32_t)atoi(argv[10]) : 0, acked = 0;
        unsigned delay = argc == 12 ? (unsigned)atoi(argv[11]) : 0;
        if (victim && after == 0)
            arm_killer(victim, delay);
        for (uint32_t gen = (uint32_t)strtoul(argv[7], NULL, 0); count--; gen++) {
            for (uint32_t b = 0; b < len / BLOCK; b++)
                pattern(mem + b * BLOCK, gen, b);
            if (bsa(fd, iop, tid, 1, addr, len, mem, msg) < 0)
                return 0;
            printf("acked %u\n", gen);
            fflush(stdout);
            if (victim && ++acked == after)
                arm_killer(victim, delay);
        }
        return 0;
    }
    if (strcmp(argv[2], "bsa-check") == 0 && argc == 7) {
        if (bsa(fd, iop, tid, 0, addr, len, mem, msg) < 0)
            return 2;
        uint32_t first, bad = 0;
        memcpy(&first, mem, 4);
        uint8_t want[BLOCK];
        for (uint32_t b = 0; b < len / BLOCK; b++) {
            uint32_t g;
            memcpy(&g, mem + b * BLOCK, 4);
            pattern(want, g, b);
            if (g != first || memcmp(want, mem + b * BLOCK, BLOCK) != 0) {
                if (bad++ < 8)
                    printf("block %u: generation %u%s (block 0 has %u)\n", b, g,
                           memcmp(want, mem + b * BLOCK, BLOCK) ? ", contents damaged" : "", first);
            }
        }
        if (bad) {
            printf("torn: %u of %u blocks differ\n", bad, len / BLOCK);
            return 1;
        }
        printf("gen %u\n", first);
        return 0;
    }
    fprintf(stderr, "fault-client: unknown command %s\n", argv[2]);
    return 2;
}
