/* What DPT's management engine (raidutils' raideng, osd_unix.cpp) does to the I2O
 * control node, as a small C client built -m32 -static: every message opens the node,
 * issues one ioctl and closes it again (osdSendMessage/osdSendIoctl); the 'D' ioctls of
 * the dpt_i2o driver are tried on the node; executive and utility messages and DPT's
 * private SCSI_EXEC messages (laid out as dpt_i2o's adpt_scsi_to_i2o()) go through
 * I2OPASSTHRU, which a 32-bit caller issues as I2OPASSTHRU32.
 *
 *   dpt-client NODE discover               GETIOPS, 'D' ioctls (EINVAL), StatusGet,
 *                                          HrtGet, LctNotify, UtilParamsGet of the SCSI
 *                                          and DPT groups; prints "tid bus target lun"
 *   dpt-client NODE inquiry TID TYPE       INQUIRY (standard + VPD 00/80/83), TYPE expected
 *   dpt-client NODE capacity TID BLOCKS    READ CAPACITY(10) and (16)
 *   dpt-client NODE write TID LBA N SEED   WRITE(10) of N blocks of a pattern, 64 KiB a message
 *   dpt-client NODE read TID LBA N SEED    READ(10) of them, compared with the pattern
 *   dpt-client NODE bsaread TID LBA N SEED BsaBlockRead of them, compared with the pattern
 *   dpt-client NODE unknown TID            an unknown opcode and a missing LUN: sense checked
 *   dpt-client NODE missing TID            TEST UNIT READY to a TID with no target
 *   dpt-client NODE cycles N [PID]         N x (open, TEST UNIT READY, close) to TID 0x00a;
 *                                          prints the median cost of 100 cycles around the
 *                                          1st, the 1,000th, the 10,000th and the last;
 *                                          with the daemon's PID checks its descriptors
 *                                          and memory (/proc/PID/fd, /proc/PID/status)
 * Exit status 0 when every expectation held. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/i2o-dev.h>

#define EXPECT(cond, ...)                                                                  \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                           \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fprintf(stderr, "\n");                                                         \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

static int failures;
static const char *node;

#define BS 512u
#define CHUNK_BLOCKS 128u /* 64 KiB a message */
#define DISK_TID 0x00a

/* The dpt_i2o ioctls (drivers/scsi/dpt/dpti_ioctl.h); dpt_sig_S is 81 bytes packed. */
#define DPT_SIGNATURE _IOR('D', 67, char[81])
#define DPT_NUMCTRLS _IOR('D', 68, int)
#define DPT_BLINKLED _IOR('D', 75, int)
#define I2OUSRCMD _IO('D', 76)
#define I2ORESCANCMD _IO('D', 77)
#define I2ORESETCMD _IO('D', 78)

/* One ioctl on a fresh open of the node, as raideng does it. */
static int once(unsigned long cmd, void *arg, int *err) {
    int fd = open(node, O_RDONLY);
    if (fd < 0) {
        *err = errno;
        return -2;
    }
    int r = ioctl(fd, cmd, arg);
    *err = r < 0 ? errno : 0;
    close(fd);
    return r;
}

static uint32_t frame[160];          /* message + reply */
static uint8_t data[CHUNK_BLOCKS * BS];
static uint8_t data2[4096];

/* Post words of frame (its SGL already in place) with a reply area of 17 words. */
static int post(unsigned words, uint32_t *reply_out) {
    uint32_t *reply = frame + words;
    memset(reply, 0, 17 * 4);
    reply[0] = 17u << 16;
    struct i2o_cmd_passthru pt = { .iop = 0, .msg = frame };
    int err, r = once(I2OPASSTHRU, &pt, &err);
    EXPECT(r >= 0, "I2OPASSTHRU: %s", strerror(err));
    if (reply_out)
        memcpy(reply_out, reply, 17 * 4);
    return r;
}

/* A DPT private SCSI_EXEC (dpt_i2o adpt_scsi_to_i2o()): dir 0 none, 1 in, 2 out. */
static int scsi(unsigned tid, const uint8_t *cdb, unsigned cdb_len, unsigned dir, void *buf, uint32_t len,
                uint32_t *reply) {
    memset(frame, 0, 16 * 4);
    unsigned words = len ? 14 : 12;
    frame[0] = words << 16 | (len ? 12u << 4 : 0) | 0x01;
    frame[1] = 0xFFu << 24 | 1u << 12 | tid;
    frame[3] = 0xC0FFEE;
    frame[4] = 0x001Bu << 16 | 0x0081;                 /* DPT_ORGANIZATION_ID, I2O_CMD_SCSI_EXEC */
    frame[5] = tid | (tid == 0 ? 1u << 16 : 0);         /* Interpret for the controller */
    frame[6] = (dir == 1 ? 0x40000000u : dir == 2 ? 0x80000000u : 0) | 0x20a00000u | cdb_len;
    memcpy(frame + 7, cdb, cdb_len);
    frame[11] = len;
    if (len) {
        frame[12] = 0xD0000000u | (dir == 2 ? 0x04000000u : 0) | len;
        frame[13] = (uint32_t)(uintptr_t)buf;
    }
    return post(words, reply);
}

/* UtilParamsGet of a whole scalar group (adpt_i2o_query_scalar()); the values from
 * byte 8 of the result list into out. */
static int query(unsigned tid, uint16_t group, uint8_t *out, unsigned len) {
    static uint16_t op[6];
    uint16_t o[6] = { 1, 0, 1, group, 0xFFFF, 0 };
    memcpy(op, o, sizeof(op));
    memset(frame, 0, 9 * 4);
    frame[0] = 9u << 16 | 5u << 4 | 0x01;
    frame[1] = 0x06u << 24 | 1u << 12 | tid;
    frame[5] = 0x54000000u | sizeof(op);
    frame[6] = (uint32_t)(uintptr_t)op;
    frame[7] = 0xD0000000u | (8 + len);
    frame[8] = (uint32_t)(uintptr_t)data2;
    uint32_t reply[17];
    int r = post(9, reply);
    if (r == 0 && (data2[6] != 0 || (reply[4] >> 24) != 0))
        r = -1;
    memcpy(out, data2 + 8, len);
    return r;
}

static uint8_t pattern(unsigned seed, uint32_t lba, unsigned i) {
    uint32_t x = (lba * 2654435761u) ^ (i * 40503u) ^ (seed * 97u);
    return (uint8_t)(x >> 7 ^ x);
}

static void discover(void) {
    int err;
    unsigned char iops[MAX_I2O_CONTROLLERS];
    EXPECT(once(I2OGETIOPS, iops, &err) == 0 && iops[0] == 1, "I2OGETIOPS: %s", strerror(err));
    /* dpt_i2o's ioctls: the I2O node never knew them. */
    static char sig[81];
    static int v;
    const struct { unsigned long cmd; void *arg; const char *name; } d[] = {
        { DPT_SIGNATURE, sig, "DPT_SIGNATURE" }, { DPT_NUMCTRLS, &v, "DPT_NUMCTRLS" },
        { DPT_BLINKLED, &v, "DPT_BLINKLED" },    { I2OUSRCMD, frame, "I2OUSRCMD" },
        { I2ORESCANCMD, NULL, "I2ORESCANCMD" },  { I2ORESETCMD, NULL, "I2ORESETCMD" },
    };
    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
        EXPECT(once(d[i].cmd, d[i].arg, &err) < 0 && err == EINVAL, "%s: %s, want EINVAL", d[i].name, strerror(err));
    /* ExecStatusGet through an SGL: the 88-byte status block. */
    static uint8_t sb[88];
    memset(frame, 0, 11 * 4);
    frame[0] = 11u << 16 | 9u << 4 | 0x01;
    frame[1] = 0xA0u << 24 | 1u << 12;
    frame[9] = 0xD0000000u | sizeof(sb);
    frame[10] = (uint32_t)(uintptr_t)sb;
    EXPECT(post(11, NULL) == 0 && sb[87] == 0xFF && sb[10] == 0x08, "ExecStatusGet");
    /* ExecHrtGet and ExecLctNotify (adpt_i2o_hrt_get(), adpt_i2o_lct_get()). */
    static uint8_t hrt[256], lct[4096];
    memset(frame, 0, 6 * 4);
    frame[0] = 6u << 16 | 4u << 4 | 0x01;
    frame[1] = 0xA8u << 24 | 1u << 12;
    frame[4] = 0xD0000000u | sizeof(hrt);
    frame[5] = (uint32_t)(uintptr_t)hrt;
    EXPECT(post(6, NULL) == 0 && hrt[0] >= 1, "ExecHrtGet");
    memset(frame, 0, 8 * 4);
    frame[0] = 8u << 16 | 6u << 4 | 0x01;
    frame[1] = 0xA2u << 24 | 1u << 12;
    frame[4] = 0xFFFFFFFF;
    frame[6] = 0xD0000000u | sizeof(lct);
    frame[7] = (uint32_t)(uintptr_t)lct;
    EXPECT(post(8, NULL) == 0, "ExecLctNotify");
    unsigned words = lct[0] | lct[1] << 8, ports = 0, disks = 0;
    EXPECT(words >= 3 && words * 4 <= sizeof(lct), "LCT size %u words", words);
    for (unsigned e = 0; e < (words - 3) / 9; e++) {
        const uint8_t *p = lct + 12 + 36 * e;
        unsigned tid = (p[2] | p[3] << 8) & 0xFFF, cls = (p[12] | p[13] << 8) & 0xFFF;
        uint8_t b[400];
        if (cls == 0x080 && query(tid, 0x0200, b, 28) == 0) { /* a SCSI bus port */
            EXPECT(b[4] == 7, "port 0x%03x initiator id %u", tid, b[4]);
            ports++;
        }
        if (cls == 0x010 || cls == 0x051) { /* as adpt_i2o_parse_lct() */
            EXPECT(query(tid, 0x8000, b, 32) == 0, "TID 0x%03x: DPT group 0x8000", tid);
            printf("0x%03x %u %u %u\n", tid, (b[0] | b[1] << 8 | b[2] << 16 | (unsigned)b[3] << 24) >> 16,
                   b[4] | b[5] << 8, b[9]);
            EXPECT(query(tid, 0xF100, b, 328) == 0 && !memcmp(b + 8, "iopd", 4), "TID 0x%03x: group 0xF100", tid);
            disks++;
        }
    }
    EXPECT(ports >= 1 && disks >= 2, "%u SCSI ports, %u disks", ports, disks);
}

static void inquiry(unsigned tid, unsigned type) {
    uint32_t reply[17];
    uint8_t cdb[6] = { 0x12, 0, 0, 0, 96, 0 };
    EXPECT(scsi(tid, cdb, 6, 1, data, 96, reply) == 0, "INQUIRY");
    EXPECT(reply[4] == 0 && reply[5] == 36, "INQUIRY: status word 0x%08x, %u bytes", reply[4], reply[5]);
    EXPECT((data[0] & 0x1F) == type, "device type %u, want %u", data[0] & 0x1F, type);
    printf("%.8s %.16s %.4s\n", (char *)data + 8, (char *)data + 16, (char *)data + 32);
    if (type != 0)
        return;
    const uint8_t pages[] = { 0x00, 0x80, 0x83 };
    for (size_t i = 0; i < sizeof(pages); i++) {
        uint8_t vpd[6] = { 0x12, 0x01, pages[i], 0, 255, 0 };
        EXPECT(scsi(tid, vpd, 6, 1, data, 255, reply) == 0 && reply[4] == 0 && data[1] == pages[i] &&
                   reply[5] == 4u + (data[2] << 8 | data[3]),
               "VPD page 0x%02x: 0x%08x", pages[i], reply[4]);
    }
}

static void capacity(unsigned tid, uint32_t blocks) {
    uint32_t reply[17];
    uint8_t rc10[10] = { 0x25 }, rc16[16] = { 0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0 };
    EXPECT(scsi(tid, rc10, 10, 1, data, 8, reply) == 0 && reply[4] == 0, "READ CAPACITY(10)");
    uint32_t last = (uint32_t)data[0] << 24 | data[1] << 16 | data[2] << 8 | data[3];
    uint32_t bs = (uint32_t)data[4] << 24 | data[5] << 16 | data[6] << 8 | data[7];
    EXPECT(last + 1 == blocks && bs == BS, "READ CAPACITY(10): %u blocks of %u", last + 1, bs);
    EXPECT(scsi(tid, rc16, 16, 1, data, 32, reply) == 0 && reply[4] == 0 && reply[5] == 32, "READ CAPACITY(16)");
    EXPECT(data[7] == (uint8_t)(blocks - 1) && data[6] == (uint8_t)((blocks - 1) >> 8), "READ CAPACITY(16) LBA");
}

/* WRITE(10)/READ(10) or BsaBlockRead of n blocks from lba, in 64 KiB messages. */
static void blocks(const char *how, unsigned tid, uint32_t lba, uint32_t n, unsigned seed) {
    for (uint32_t done = 0; done < n;) {
        uint32_t k = n - done < CHUNK_BLOCKS ? n - done : CHUNK_BLOCKS, at = lba + done, len = k * BS;
        uint32_t reply[17];
        if (strcmp(how, "write") == 0) {
            for (uint32_t i = 0; i < len; i++)
                data[i] = pattern(seed, at + i / BS, i % BS);
            uint8_t cdb[10] = { 0x2A, 0, at >> 24, at >> 16, at >> 8, at, 0, k >> 8, k, 0 };
            EXPECT(scsi(tid, cdb, 10, 2, data, len, reply) == 0 && reply[4] == 0 && reply[5] == len,
                   "WRITE(10) at %u: 0x%08x %u", at, reply[4], reply[5]);
        } else {
            memset(data, 0, len);
            if (strcmp(how, "read") == 0) {
                uint8_t cdb[10] = { 0x28, 0, at >> 24, at >> 16, at >> 8, at, 0, k >> 8, k, 0 };
                EXPECT(scsi(tid, cdb, 10, 1, data, len, reply) == 0 && reply[4] == 0 && reply[5] == len,
                       "READ(10) at %u: 0x%08x %u", at, reply[4], reply[5]);
            } else { /* BsaBlockRead (i2o_block's layout) */
                memset(frame, 0, 10 * 4);
                frame[0] = 10u << 16 | 8u << 4 | 0x01;
                frame[1] = 0x30u << 24 | 1u << 12 | tid;
                frame[5] = len;
                frame[6] = at * BS;
                frame[8] = 0xD0000000u | len;
                frame[9] = (uint32_t)(uintptr_t)data;
                EXPECT(post(10, reply) == 0 && reply[5] == len, "BsaBlockRead at %u", at);
            }
            uint32_t bad = 0;
            for (uint32_t i = 0; i < len; i++)
                bad += data[i] != pattern(seed, at + i / BS, i % BS);
            EXPECT(bad == 0, "%s at %u: %u bytes differ from what was written", how, at, bad);
        }
        done += k;
    }
}

static void unknown(unsigned tid) {
    uint32_t reply[17];
    uint8_t cdb[10] = { 0xC5 }; /* vendor-specific group 6: no such command */
    EXPECT(scsi(tid, cdb, 10, 1, data, 512, reply) == 0, "unknown opcode: ioctl");
    const uint8_t *s = (const uint8_t *)(reply + 7);
    EXPECT((reply[0] >> 16) == 17 && reply[4] == 0x02 && reply[5] == 0 && reply[6] >= 18,
           "unknown opcode: reply %u words, status word 0x%08x, sense %u", reply[0] >> 16, reply[4], reply[6]);
    EXPECT(s[0] == 0x70 && (s[2] & 0xF) == 5 && s[12] == 0x20 && s[13] == 0,
           "sense %02x key %x ASC %02x ASCQ %02x, want 70 5 20 00", s[0], s[2] & 0xF, s[12], s[13]);
    uint8_t field[6] = { 0x12, 0x02, 0, 0, 36, 0 }; /* CmdDt: INVALID FIELD IN CDB */
    EXPECT(scsi(tid, field, 6, 1, data, 36, reply) == 0 && reply[4] == 0x02 && s[12] == 0x24, "CmdDt: ASC 0x24");
    uint8_t lun[6] = { 0x12, 0x40, 0, 0, 36, 0 }; /* INQUIRY to LUN 2 */
    EXPECT(scsi(tid, lun, 6, 1, data, 36, reply) == 0 && reply[4] == 0 && data[0] == 0x7F,
           "missing LUN: peripheral qualifier 3, type 1Fh (0x%02x)", data[0]);
    uint8_t tur[6] = { 0x00, 0x40 };
    EXPECT(scsi(tid, tur, 6, 0, NULL, 0, reply) == 0 && reply[4] == 0x02 && s[12] == 0x25,
           "missing LUN: LOGICAL UNIT NOT SUPPORTED");
}

static void missing(unsigned tid) {
    uint32_t reply[17];
    uint8_t tur[6] = { 0 };
    /* Selection timeout: ReqStatus ERROR_NO_DATA_TRANSFER (the ioctl returns it, as the
     * kernel's passthrough returned a ReqStatus), HBA status 0Ah -- dpt_i2o's DID_TIME_OUT. */
    int r = scsi(tid, tur, 6, 0, NULL, 0, reply);
    EXPECT(r == 0x05 && (reply[4] >> 8 & 0xFF) == 0x0A, "missing target: ioctl %d, status word 0x%08x", r, reply[4]);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median cost of the 100 of n cycles around cycle k (1-based): robust on a loaded
 * machine. */
static double median(const double *t, unsigned n, unsigned k) {
    unsigned from = k > 50 ? k - 50 : 1;
    if (from + 99 > n)
        from = n - 99;
    double w[100];
    memcpy(w, t + from, sizeof(w));
    qsort(w, 100, sizeof(w[0]), cmp);
    return (w[49] + w[50]) / 2;
}

/* The daemon's open descriptors and VmRSS (kB), from /proc (no procps needed). */
static void daemon_usage(unsigned pid, unsigned *fds, long *rss) {
    char path[64], line[256];
    *fds = 0;
    *rss = -1;
    snprintf(path, sizeof(path), "/proc/%u/fd", pid);
    DIR *d = opendir(path);
    for (struct dirent *e; d && (e = readdir(d));)
        *fds += e->d_name[0] != '.';
    if (d)
        closedir(d);
    snprintf(path, sizeof(path), "/proc/%u/status", pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", rss) == 1)
            break;
    if (f)
        fclose(f);
}

/* n cycles of open, I2OPASSTHRU (TEST UNIT READY), close.  With the daemon's pid its
 * descriptors and memory are read before, half way and after: the descriptors must
 * not change, and memory must not grow over the second half (the first half lets
 * the allocator -- ASan's in the tests -- settle). */
static void cycles(unsigned n, unsigned pid) {
    uint8_t tur[6] = { 0 };
    uint32_t reply[17];
    static double t[100001];
    unsigned fds[3] = { 0 };
    long rss[3] = { 0 };
    if (pid)
        daemon_usage(pid, &fds[0], &rss[0]);
    for (unsigned i = 1; i <= n; i++) {
        double t0 = now();
        if (scsi(DISK_TID, tur, 6, 0, NULL, 0, reply) != 0 || reply[4] != 0) {
            EXPECT(0, "cycle %u: 0x%08x", i, reply[4]);
            return;
        }
        t[i] = now() - t0;
        if (pid && i == n / 2)
            daemon_usage(pid, &fds[1], &rss[1]);
    }
    if (pid)
        daemon_usage(pid, &fds[2], &rss[2]);
    double first = median(t, n, 1), at1000 = median(t, n, 1000), at10000 = median(t, n, 10000);
    printf("%u cycles of open+I2OPASSTHRU+close: cycle 1 %.0f us; median of 100 around the 1st %.0f us, "
           "the 1,000th %.0f us, the 10,000th %.0f us, the last %.0f us; ratios to the 1st: 1,000th %.2f, "
           "10,000th %.2f\n", n, t[1] * 1e6, first * 1e6, at1000 * 1e6, at10000 * 1e6, median(t, n, n) * 1e6,
           at1000 / first, at10000 / first);
    if (!pid)
        return;
    printf("daemon: fds %u -> %u -> %u, VmRSS %ld -> %ld -> %ld kB\n", fds[0], fds[1], fds[2], rss[0], rss[1], rss[2]);
    EXPECT(fds[0] == fds[1] && fds[1] == fds[2], "the daemon's descriptors changed");
    EXPECT(rss[2] - rss[1] <= 256, "the daemon grew by %ld kB over the last %u cycles", rss[2] - rss[1], n - n / 2);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: dpt-client NODE discover|inquiry|capacity|write|read|bsaread|unknown|missing|cycles ...\n");
        return 2;
    }
    node = argv[1];
    const char *cmd = argv[2];
    unsigned long a[4] = { 0 };
    for (int i = 3; i < argc && i < 7; i++)
        a[i - 3] = strtoul(argv[i], NULL, 0);
    if (strcmp(cmd, "discover") == 0)
        discover();
    else if (strcmp(cmd, "inquiry") == 0 && argc == 5)
        inquiry((unsigned)a[0], (unsigned)a[1]);
    else if (strcmp(cmd, "capacity") == 0 && argc == 5)
        capacity((unsigned)a[0], (uint32_t)a[1]);
    else if ((!strcmp(cmd, "write") || !strcmp(cmd, "read") || !strcmp(cmd, "bsaread")) && argc == 7)
        blocks(cmd, (unsigned)a[0], (uint32_t)a[1], (uint32_t)a[2], (unsigned)a[3]);
    else if (strcmp(cmd, "unknown") == 0 && argc == 4)
        unknown((unsigned)a[0]);
    else if (strcmp(cmd, "missing") == 0 && argc == 4)
        missing((unsigned)a[0]);
    else if (strcmp(cmd, "cycles") == 0 && (argc == 4 || argc == 5) && a[0] >= 1100 && a[0] <= 100000)
        cycles((unsigned)a[0], (unsigned)a[1]);
    else {
        fprintf(stderr, "dpt-client: bad command\n");
        return 2;
    }
    return failures ? 1 : 0;
}
