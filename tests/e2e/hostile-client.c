/* A hostile caller of /dev/i2o/ctl, built only on <linux/i2o-dev.h> (natively and as a
 * static i386 program, hostile-client32, so the same cases cross the compat path).
 *
 *   hostile-client DEV pointers IOP TID DISK  every pointer of every ioctl NULL, unmapped,
 *                                             a kernel address, and straddling a guard
 *                                             page: the kernel's errno (EFAULT), the
 *                                             caller's other buffers untouched (canaries
 *                                             around each, contents compared), and no
 *                                             state change behind a refused call
 *   hostile-client DEV lengths IOP TID DISK   every length 0, huge or overflowing: the
 *                                             kernel's errno or the IOP's ReqStatus
 *   hostile-client DEV storm N SEED [IOP]     N random ioctls (random command, struct
 *                                             fields, pointers and lengths); every call
 *                                             must return, and a GETIOPS every 500 calls
 *                                             must still work.  Prints a histogram.
 *   hostile-client DEV swrace IOP KIB ROUNDS  two processes download at once: different
 *                                             modules (both complete, both intact), then
 *                                             the same module (what is stored afterwards
 *                                             is one of the two images, whole, or none)
 *   hostile-client DEV hog-fds N              open N descriptors (RLIMIT_NOFILE raised),
 *                                             print "ready N", hold them until stdin
 *                                             closes, close them, print "closed"
 *   hostile-client DEV hog-events NFD IOP     NFD descriptors each registered for every
 *                                             event of every device of IOP; print
 *                                             "ready", never read until stdin closes;
 *                                             then drain: at most 32 queued per
 *                                             descriptor, the rest counted as lost
 *   hostile-client PATH hog-mon N             N usbmon readers that never read until
 *                                             stdin closes; then each holds at most 93
 *                                             events
 *
 * Exit status: 0 when every check passed, 1 otherwise, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/i2o-dev.h>

#ifndef MAP_32BIT
#define MAP_32BIT 0 /* i386: every address is below 4 GiB anyway */
#endif
#define PAGE 4096u

static int failures, passes;
static int fd = -1;
static const char *dev_path;

#define EXPECT(cond, ...)                                                                   \
    do {                                                                                    \
        if (cond) {                                                                         \
            passes++;                                                                       \
        } else {                                                                            \
            failures++;                                                                     \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                     \
            printf(__VA_ARGS__);                                                            \
            printf("\n");                                                                   \
        }                                                                                   \
    } while (0)

static const char *ename(int e) {
    static char buf[32];
    switch (e) {
    case 0: return "0";
    case EFAULT: return "EFAULT";
    case ENXIO: return "ENXIO";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case ENOBUFS: return "ENOBUFS";
    case ENOENT: return "ENOENT";
    case ENODEV: return "ENODEV";
    case EAGAIN: return "EAGAIN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ENOTTY: return "ENOTTY";
    case ENOSPC: return "ENOSPC";
    }
    if (e >= 1000)
        snprintf(buf, sizeof(buf), "ReqStatus 0x%02x", e - 1000);
    else
        snprintf(buf, sizeof(buf), "errno %d", e);
    return buf;
}

/* ioctl result as 0, an errno, or 1000 + a positive ReqStatus. */
static int xioctl(unsigned long cmd, uintptr_t arg) {
    int r = ioctl(fd, cmd, arg);
    return r < 0 ? errno : r > 0 ? 1000 + r : 0;
}

/* ---- caller memory: buffers with canaries, bad pointers ---- */

#define ARENA_SIZE (1u << 20)
#define CANARY 64u
#define CANARY_BYTE 0xCB
#define MAX_BUFS 8

struct ubuf {
    const char *name;
    uint8_t *p;
    size_t n;
    uint8_t snap[16384]; /* contents before the call (first 16 KiB) */
};

static uint8_t *arena;       /* below 4 GiB: SG addresses are 32-bit */
static size_t arena_used;
static struct ubuf bufs[MAX_BUFS];
static unsigned n_bufs;
static uint8_t *guard;       /* a page, then a PROT_NONE page */
static uint8_t *scratch;     /* below 4 GiB, for the checks' own messages and data */
static uintptr_t freed;      /* a page that was mapped once (a dangling pointer) */
/* Below mmap_min_addr: never mapped, whatever the process does. */
#define NEVER_MAPPED ((uintptr_t)0x8000)
#define SCRATCH_SIZE (1u << 20)

static void *map32(size_t n) {
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    return p;
}

/* A page that is not mapped now but was (msync says ENOMEM for unmapped memory): made
 * again whenever a later mapping reused the hole. */
static uintptr_t freed_page(void) {
    if (freed && msync((void *)freed, PAGE, MS_ASYNC) < 0 && errno == ENOMEM)
        return freed;
    void *p = map32(PAGE);
    munmap(p, PAGE);
    freed = (uintptr_t)p;
    return freed;
}

static void mem_init(void) {
    arena = map32(ARENA_SIZE);
    scratch = map32(SCRATCH_SIZE);
    guard = map32(3 * PAGE);
    /* Two readable pages, then the guard: a straddling range starts in the second. */
    mprotect(guard + 2 * PAGE, PAGE, PROT_NONE);
    guard += PAGE; /* guard[0 .. PAGE) mapped, guard[PAGE ..) not */
    freed_page();
}

static void case_begin(void) {
    arena_used = 0;
    n_bufs = 0;
    memset(guard - PAGE, 0x33, 2 * PAGE);
}

/* A caller buffer of n bytes filled with a pattern, canaries on both sides. */
static void *ubuf(const char *name, size_t n) {
    size_t need = (CANARY + n + CANARY + 15) & ~(size_t)15;
    if (arena_used + need > ARENA_SIZE || n_bufs == MAX_BUFS) {
        fprintf(stderr, "hostile-client: arena full\n");
        exit(2);
    }
    uint8_t *p = arena + arena_used + CANARY;
    memset(p - CANARY, CANARY_BYTE, CANARY);
    memset(p + n, CANARY_BYTE, CANARY);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(0x5A ^ (i * 7) ^ n_bufs);
    arena_used += need;
    bufs[n_bufs] = (struct ubuf){ .name = name, .p = p, .n = n };
    n_bufs++;
    return p;
}

static void snapshot(void) {
    for (unsigned i = 0; i < n_bufs; i++)
        memcpy(bufs[i].snap, bufs[i].p, bufs[i].n < sizeof(bufs[i].snap) ? bufs[i].n : sizeof(bufs[i].snap));
}

/* Canaries intact everywhere; contents unchanged except in the buffers of may_write
 * (bit i: the i-th buffer allocated). */
static void check_untouched(const char *what, unsigned may_write) {
    for (unsigned i = 0; i < n_bufs; i++) {
        struct ubuf *b = &bufs[i];
        bool canaries = true;
        for (unsigned k = 0; k < CANARY; k++)
            canaries = canaries && b->p[-1 - (int)k] == CANARY_BYTE && b->p[b->n + k] == CANARY_BYTE;
        EXPECT(canaries, "%s: written outside the caller's buffer %s", what, b->name);
        if (!(may_write & (1u << i))) {
            size_t n = b->n < sizeof(b->snap) ? b->n : sizeof(b->snap);
            EXPECT(memcmp(b->snap, b->p, n) == 0, "%s: buffer %s was written", what, b->name);
        }
    }
}

enum bad { BAD_NULL, BAD_UNMAPPED, BAD_FREED, BAD_KERNEL, BAD_STRADDLE, N_BAD };
static const char *const bad_names[N_BAD] = { "NULL", "unmapped", "freed", "kernel", "straddling" };

/* A bad address for a range of need bytes; a straddling range starts in the last mapped
 * page with the first bytes of content (need bytes, or NULL) in its mapped part. */
static uintptr_t bad_ptr(enum bad k, size_t need, const void *content) {
    switch (k) {
    case BAD_NULL: return 0;
    case BAD_UNMAPPED: return NEVER_MAPPED;
    case BAD_FREED: return freed_page();
    case BAD_KERNEL: return sizeof(void *) == 8 ? (uintptr_t)0xffff888000000000ull : (uintptr_t)0xfffff000u;
    case BAD_STRADDLE: {
        size_t in = need > 1 ? need / 2 : 0;
        if (in > PAGE)
            in = PAGE;
        uint8_t *p = guard + PAGE - in;
        if (content) /* content holds need bytes */
            memcpy(p, content, in);
        return (uintptr_t)p;
    }
    case N_BAD: break;
    }
    return 0;
}

/* The SG addresses of I2OPASSTHRU are 32 bits: a kernel address cannot be named. */
static bool bad_fits_sg(enum bad k) { return k != BAD_KERNEL; }

/* ---- device state probes ---- */

static int parm_instance(unsigned iop, unsigned tid, uint32_t *v) {
    uint16_t ops[] = { 1, 0, I2O_PARAMS_FIELD_GET, 0xF102, 1, 3 };
    uint8_t res[64];
    unsigned int reslen = sizeof(res);
    struct i2o_cmd_psetget p = { .iop = iop, .tid = tid, .opbuf = ops, .oplen = sizeof(ops), .resbuf = res,
                                 .reslen = &reslen };
    if (ioctl(fd, I2OPARMGET, &p) != 0 || reslen < 12)
        return -1;
    memcpy(v, res + 8, 4);
    return 0;
}

static void parm_ops_set(uint16_t *ops, uint32_t v) {
    uint16_t t[] = { 1, 0, I2O_PARAMS_FIELD_SET, 0xF102, 1, 3, (uint16_t)v, (uint16_t)(v >> 16) };
    memcpy(ops, t, sizeof(t));
}

/* A one-fragment module: 0 when it is stored and its first byte is `first`. */
static int sw_probe(unsigned iop, uint8_t type, unsigned id, unsigned size, uint8_t *first) {
    static uint8_t b[8192];
    unsigned int swlen = size, maxfrag = 1, curfrag = 1;
    struct i2o_sw_xfer x = { .iop = iop, .sw_type = type, .sw_id = id, .buf = b, .swlen = &swlen,
                             .maxfrag = &maxfrag, .curfrag = &curfrag };
    int r = xioctl(I2OSWUL, (uintptr_t)&x);
    if (r == 0 && first)
        *first = b[0];
    return r;
}

static int sw_put(unsigned iop, uint8_t type, unsigned id, unsigned size, uint8_t fill) {
    static uint8_t b[8192];
    memset(b, fill, sizeof(b));
    unsigned int swlen = size, maxfrag = 1, curfrag = 1;
    struct i2o_sw_xfer x = { .iop = iop, .sw_type = type, .sw_id = id, .buf = b, .swlen = &swlen,
                             .maxfrag = &maxfrag, .curfrag = &curfrag };
    return xioctl(I2OSWDL, (uintptr_t)&x);
}

/* BSA block I/O through I2OPASSTHRU on disk TID (4 KiB at byte address at). */
static int bsa(unsigned iop, unsigned disk, bool write, uint32_t at, void *data32) {
    uint32_t *m = (uint32_t *)(scratch + SCRATCH_SIZE - PAGE);
    memset(m, 0, PAGE);
    m[0] = 10u << 16 | 8u << 4 | 0x01;
    m[1] = (write ? 0x31u : 0x30u) << 24 | 1u << 12 | disk;
    m[5] = 4096;
    m[6] = at;
    m[8] = (write ? 0xD4000000u : 0xD0000000u) | 4096;
    m[9] = (uint32_t)(uintptr_t)data32;
    m[10] = 8u << 16;
    struct i2o_cmd_passthru pt = { .iop = iop, .msg = m };
    return xioctl(I2OPASSTHRU, (uintptr_t)&pt);
}

/* ---- the pointer matrix ---- */

struct target {
    unsigned iop, tid, disk;
};

static void case_name(char *out, size_t n, const char *ioctl_name, const char *field, enum bad k) {
    snprintf(out, n, "%s %s=%s", ioctl_name, field, bad_names[k]);
}

static void expect_errno(const char *what, int got, int want) {
    EXPECT(got == want, "%s: got %s, want %s", what, ename(got), ename(want));
}

static void ptr_getiops(void) {
    for (enum bad k = 0; k < N_BAD; k++) {
        char what[96];
        case_begin();
        case_name(what, sizeof(what), "I2OGETIOPS", "arg", k);
        snapshot();
        expect_errno(what, xioctl(I2OGETIOPS, bad_ptr(k, MAX_I2O_CONTROLLERS, NULL)), EFAULT);
    }
}

/* HRT / LCT: fields arg, reslen, resbuf. */
static void ptr_hrtlct(const struct target *t, bool lct) {
    const char *name = lct ? "I2OLCTGET" : "I2OHRTGET";
    unsigned long cmd = lct ? I2OLCTGET : I2OHRTGET;
    /* The table's length, for straddling the result. */
    unsigned int need = 0;
    static uint8_t tmp[65536];
    need = sizeof(tmp);
    struct i2o_cmd_hrtlct q = { .iop = t->iop, .resbuf = tmp, .reslen = &need };
    EXPECT(ioctl(fd, cmd, &q) == 0, "%s: %s", name, strerror(errno));
    static const char *const fields[] = { "arg", "reslen", "resbuf" };
    for (unsigned f = 0; f < 3; f++)
        for (enum bad k = 0; k < N_BAD; k++) {
            char what[96];
            case_begin();
            case_name(what, sizeof(what), name, fields[f], k);
            unsigned int *reslen = ubuf("reslen", 4);
            *reslen = 65536;
            uint8_t *res = ubuf("resbuf", 65536);
            struct i2o_cmd_hrtlct *a = ubuf("arg", sizeof(*a));
            *a = (struct i2o_cmd_hrtlct){ .iop = t->iop, .resbuf = res, .reslen = reslen };
            uintptr_t arg = (uintptr_t)a;
            unsigned may = 0;
            if (f == 0)
                arg = bad_ptr(k, sizeof(*a), a);
            else if (f == 1)
                a->reslen = (unsigned int *)bad_ptr(k, 4, reslen);
            else {
                a->resbuf = (void *)bad_ptr(k, need, NULL);
                /* The kernel stores *reslen before it copies the table (but checks for
                 * NULL before both). */
                if (k != BAD_NULL)
                    may = 1u << 0;
            }
            snapshot();
            expect_errno(what, xioctl(cmd, arg), EFAULT);
            check_untouched(what, may);
        }
}

/* PARMGET / PARMSET: arg, reslen, opbuf, resbuf.  A refused PARMSET changes nothing. */
static void ptr_parms(const struct target *t, bool set) {
    const char *name = set ? "I2OPARMSET" : "I2OPARMGET";
    unsigned long cmd = set ? I2OPARMSET : I2OPARMGET;
    static const char *const fields[] = { "arg", "reslen", "opbuf", "resbuf" };
    uint32_t before = 0, after = 0;
    EXPECT(parm_instance(t->iop, t->tid, &before) == 0, "%s: reading F102 InstanceNumber", name);
    for (unsigned f = 0; f < 4; f++)
        for (enum bad k = 0; k < N_BAD; k++) {
            char what[96];
            case_begin();
            case_name(what, sizeof(what), name, fields[f], k);
            unsigned int *reslen = ubuf("reslen", 4);
            *reslen = 4096;
            uint8_t *res = ubuf("resbuf", 4096);
            uint16_t *ops = ubuf("opbuf", 16);
            if (set)
                parm_ops_set(ops, before ^ 0x5a5a5a5a);
            else
                memcpy(ops, (uint16_t[]){ 1, 0, I2O_PARAMS_FIELD_GET, 0xF102, 0xFFFF }, 10);
            struct i2o_cmd_psetget *a = ubuf("arg", sizeof(*a));
            *a = (struct i2o_cmd_psetget){ .iop = t->iop, .tid = t->tid, .opbuf = ops, .oplen = set ? 16 : 10,
                                           .resbuf = res, .reslen = reslen };
            uintptr_t arg = (uintptr_t)a;
            unsigned may = 0;
            bool changes = false; /* the kernel made the change before the fault */
            if (f == 0)
                arg = bad_ptr(k, sizeof(*a), a);
            else if (f == 1)
                a->reslen = (unsigned int *)bad_ptr(k, 4, reslen);
            else if (f == 2)
                a->opbuf = (void *)bad_ptr(k, a->oplen, ops);
            else {
                a->resbuf = (void *)bad_ptr(k, 4, NULL);
                may = 1u << 0;
                changes = set;
            }
            snapshot();
            expect_errno(what, xioctl(cmd, arg), EFAULT);
            check_untouched(what, may);
            if (set) {
                EXPECT(parm_instance(t->iop, t->tid, &after) == 0, "%s: reading back", what);
                if (changes) {
                    before = after; /* set, as the kernel would have */
                } else {
                    EXPECT(after == before, "%s: the parameter changed (%08x -> %08x)", what, before, after);
                }
            }
        }
}

#define SW_TYPE 0x22
#define SW_ID_NEW 0x4e4e /* never stored: a refused download must not create it */
#define SW_ID_OLD 0x4f4f /* stored: a refused remove must not remove it */

/* SWDL / SWUL / SWDEL: arg, swlen, maxfrag, curfrag, buf. */
static void ptr_sw(const struct target *t, unsigned long cmd) {
    const char *name = cmd == I2OSWDL ? "I2OSWDL" : cmd == I2OSWUL ? "I2OSWUL" : "I2OSWDEL";
    static const char *const fields[] = { "arg", "swlen", "maxfrag", "curfrag", "buf" };
    unsigned nfields = cmd == I2OSWDEL ? 2 : 5; /* SWDEL reads only *swlen */
    for (unsigned f = 0; f < nfields; f++)
        for (enum bad k = 0; k < N_BAD; k++) {
            char what[96];
            case_begin();
            case_name(what, sizeof(what), name, fields[f], k);
            EXPECT(sw_put(t->iop, SW_TYPE, SW_ID_OLD, 3000, 0x11) == 0, "%s: storing a module", what);
            unsigned int *swlen = ubuf("swlen", 4), *maxfrag = ubuf("maxfrag", 4), *curfrag = ubuf("curfrag", 4);
            *swlen = 3000;
            *maxfrag = *curfrag = 1;
            uint8_t *b = ubuf("buf", 3000);
            if (cmd == I2OSWDL)
                memset(b, 0x22, 3000);
            struct i2o_sw_xfer *a = ubuf("arg", sizeof(*a));
            *a = (struct i2o_sw_xfer){ .iop = t->iop, .sw_type = SW_TYPE,
                                       .sw_id = cmd == I2OSWDL ? SW_ID_NEW : SW_ID_OLD, .buf = b,
                                       .swlen = swlen, .maxfrag = maxfrag, .curfrag = curfrag };
            uintptr_t arg = (uintptr_t)a;
            unsigned may = 0;
            switch (f) {
            case 0: arg = bad_ptr(k, sizeof(*a), a); break;
            case 1: a->swlen = (unsigned int *)bad_ptr(k, 4, swlen); break;
            case 2: a->maxfrag = (unsigned int *)bad_ptr(k, 4, maxfrag); break;
            case 3: a->curfrag = (unsigned int *)bad_ptr(k, 4, curfrag); break;
            case 4: a->buf = (void *)bad_ptr(k, 3000, b); break;
            }
            snapshot();
            expect_errno(what, xioctl(cmd, arg), EFAULT);
            check_untouched(what, may);
            if (cmd == I2OSWDL)
                EXPECT(sw_probe(t->iop, SW_TYPE, SW_ID_NEW, 3000, NULL) == 1005,
                       "%s: a refused download stored a module", what);
            uint8_t first = 0;
            EXPECT(sw_probe(t->iop, SW_TYPE, SW_ID_OLD, 3000, &first) == 0 && first == 0x11,
                   "%s: the stored module is gone or changed", what);
        }
}

/* HTML: arg, reslen, resbuf, qbuf (with a query length). */
static void ptr_html(const struct target *t) {
    static const char *const fields[] = { "arg", "reslen", "resbuf", "qbuf" };
    static const char query[] = "F102.PhysicalLocation=hostile";
    for (unsigned f = 0; f < 4; f++)
        for (enum bad k = 0; k < N_BAD; k++) {
            char what[96];
            case_begin();
            case_name(what, sizeof(what), "I2OHTML", fields[f], k);
            unsigned int *reslen = ubuf("reslen", 4);
            *reslen = 65536;
            uint8_t *res = ubuf("resbuf", 65536);
            char *q = ubuf("qbuf", sizeof(query) - 1);
            memcpy(q, query, sizeof(query) - 1);
            struct i2o_html *a = ubuf("arg", sizeof(*a));
            *a = (struct i2o_html){ .iop = t->iop, .tid = t->tid, .page = 1, .resbuf = res, .reslen = reslen,
                                    .qbuf = q, .qlen = sizeof(query) - 1 };
            uintptr_t arg = (uintptr_t)a;
            unsigned may = 0;
            switch (f) {
            case 0: arg = bad_ptr(k, sizeof(*a), a); break;
            case 1: a->reslen = (unsigned int *)bad_ptr(k, 4, reslen); break;
            case 2:
                a->resbuf = (void *)bad_ptr(k, 64, NULL);
                if (k != BAD_NULL)
                    may = 1u << 0;
                break;
            case 3: a->qbuf = (void *)bad_ptr(k, a->qlen, q); break;
            }
            snapshot();
            expect_errno(what, xioctl(I2OHTML, arg), EFAULT);
            check_untouched(what, may);
        }
    /* qbuf is ignored when qlen is 0 (2.4 copied nothing): a bad one is no error. */
    for (enum bad k = 0; k < N_BAD; k++) {
        char what[96];
        case_begin();
        case_name(what, sizeof(what), "I2OHTML", "qbuf(qlen 0)", k);
        unsigned int *reslen = ubuf("reslen", 4);
        *reslen = 65536;
        uint8_t *res = ubuf("resbuf", 65536);
        struct i2o_html a = { .iop = t->iop, .tid = t->tid, .page = 0, .resbuf = res, .reslen = reslen,
                              .qbuf = (void *)bad_ptr(k, 16, NULL), .qlen = 0 };
        expect_errno(what, xioctl(I2OHTML, (uintptr_t)&a), 0);
    }
}

static void ptr_events(const struct target *t) {
    for (enum bad k = 0; k < N_BAD; k++) {
        char what[96];
        case_begin();
        case_name(what, sizeof(what), "I2OEVTREG", "arg", k);
        struct i2o_evt_id *id = ubuf("arg", sizeof(*id));
        *id = (struct i2o_evt_id){ .iop = t->iop, .tid = t->tid, .evt_mask = I2O_EVT_IND_FIELD_MODIFIED };
        snapshot();
        expect_errno(what, xioctl(I2OEVTREG, bad_ptr(k, sizeof(*id), id)), EFAULT);
    }
    /* Nothing queued: ENOENT comes first, before the pointer is used (i2o_cfg_evt_get). */
    struct i2o_evt_get g;
    while (ioctl(fd, I2OEVTGET, &g) == 0)
        ;
    for (enum bad k = 0; k < N_BAD; k++) {
        char what[96];
        case_name(what, sizeof(what), "I2OEVTGET", "arg(empty queue)", k);
        expect_errno(what, xioctl(I2OEVTGET, bad_ptr(k, sizeof(g), NULL)), ENOENT);
    }
    /* An event queued: EFAULT. */
    struct i2o_evt_id id = { .iop = t->iop, .tid = t->tid, .evt_mask = I2O_EVT_IND_FIELD_MODIFIED };
    EXPECT(ioctl(fd, I2OEVTREG, &id) == 0, "I2OEVTREG: %s", strerror(errno));
    for (enum bad k = 0; k < N_BAD; k++) {
        char what[96];
        uint32_t v = 0;
        parm_instance(t->iop, t->tid, &v);
        uint16_t ops[8];
        parm_ops_set(ops, v + 1);
        uint8_t res[64];
        unsigned int reslen = sizeof(res);
        struct i2o_cmd_psetget p = { .iop = t->iop, .tid = t->tid, .opbuf = ops, .oplen = 16, .resbuf = res,
                                     .reslen = &reslen };
        EXPECT(ioctl(fd, I2OPARMSET, &p) == 0, "PARMSET to raise an event: %s", strerror(errno));
        case_name(what, sizeof(what), "I2OEVTGET", "arg(event queued)", k);
        expect_errno(what, xioctl(I2OEVTGET, bad_ptr(k, sizeof(g), NULL)), EFAULT);
        while (ioctl(fd, I2OEVTGET, &g) == 0)
            ;
    }
    id.evt_mask = 0;
    ioctl(fd, I2OEVTREG, &id);
}

/* PASSTHRU: arg, msg, the reply area, a host-to-IOP SG buffer (BsaBlockWrite: the disk
 * must not change) and an IOP-to-host one (BsaBlockRead). */
static void ptr_passthru(const struct target *t) {
    static const char *const fields[] = { "arg", "msg", "reply", "sg(to IOP)", "sg(from IOP)" };
    const uint32_t at = 8 * 4096;
    uint8_t *orig = scratch, *now = scratch + PAGE;
    memset(orig, 0x44, PAGE);
    EXPECT(bsa(t->iop, t->disk, true, at, orig) == 0, "BsaBlockWrite setup");
    for (unsigned f = 0; f < 5; f++)
        for (enum bad k = 0; k < N_BAD; k++) {
            char what[96];
            if (f >= 3 && !bad_fits_sg(k))
                continue;
            case_begin();
            case_name(what, sizeof(what), "I2OPASSTHRU", fields[f], k);
            bool write = f == 3;
            uint8_t *data = ubuf("data", 4096);
            if (write)
                memset(data, 0x99, 4096);
            uint32_t *m = ubuf("msg", (10 + 8) * 4); /* frame, then an 8-word reply area */
            memset(m, 0, (10 + 8) * 4);
            m[0] = 10u << 16 | 8u << 4 | 0x01;
            m[1] = (write ? 0x31u : 0x30u) << 24 | 1u << 12 | t->disk;
            m[2] = 0x686f7374;
            m[5] = 4096;
            m[6] = at;
            m[8] = (write ? 0xD4000000u : 0xD0000000u) | 4096;
            m[9] = (uint32_t)(uintptr_t)data;
            m[10] = 8u << 16;
            struct i2o_cmd_passthru *a = ubuf("arg", sizeof(*a));
            *a = (struct i2o_cmd_passthru){ .iop = t->iop, .msg = m };
            uintptr_t arg = (uintptr_t)a;
            unsigned may = 0;
            switch (f) {
            case 0: arg = bad_ptr(k, sizeof(*a), a); break;
            case 1: a->msg = (void *)bad_ptr(k, 40, m); break;
            case 2: {
                if (k != BAD_STRADDLE)
                    continue; /* the reply follows the frame: only straddling reaches it */
                /* The frame and the reply-size word readable, the rest of the reply not. */
                uint8_t *p = guard + PAGE - 44;
                memcpy(p, m, 44);
                a->msg = (void *)p;
                break;
            }
            case 3:
            case 4:
                m[9] = (uint32_t)bad_ptr(k, 4096, NULL);
                /* The kernel wrote the reply after a failed SG copy (sg_list_cleanup). */
                may = 1u << 1;
                break;
            }
            snapshot();
            expect_errno(what, xioctl(I2OPASSTHRU, arg), EFAULT);
            check_untouched(what, may);
            memset(now, 0, PAGE);
            EXPECT(bsa(t->iop, t->disk, false, at, now) == 0 && memcmp(now, orig, PAGE) == 0,
                   "%s: the disk changed behind a refused write", what);
        }
}

static int cmd_pointers(const struct target *t) {
    ptr_getiops();
    ptr_hrtlct(t, false);
    ptr_hrtlct(t, true);
    ptr_parms(t, false);
    ptr_parms(t, true);
    ptr_sw(t, I2OSWDL);
    ptr_sw(t, I2OSWUL);
    ptr_sw(t, I2OSWDEL);
    ptr_html(t);
    ptr_events(t);
    ptr_passthru(t);
    return 0;
}

/* ---- lengths ---- */

static int sw_frag(unsigned iop, unsigned id, unsigned swlen, unsigned maxfrag, unsigned curfrag, void *b) {
    unsigned int s = swlen, mf = maxfrag, cf = curfrag;
    struct i2o_sw_xfer x = { .iop = iop, .sw_type = SW_TYPE, .sw_id = id, .buf = b, .swlen = &s,
                             .maxfrag = &mf, .curfrag = &cf };
    return xioctl(I2OSWDL, (uintptr_t)&x);
}

static int sw_up(unsigned iop, unsigned id, unsigned swlen, unsigned maxfrag, unsigned curfrag, void *b) {
    unsigned int s = swlen, mf = maxfrag, cf = curfrag;
    struct i2o_sw_xfer x = { .iop = iop, .sw_type = SW_TYPE, .sw_id = id, .buf = b, .swlen = &s,
                             .maxfrag = &mf, .curfrag = &cf };
    return xioctl(I2OSWUL, (uintptr_t)&x);
}

static int passthru_words(unsigned iop, uint32_t *m) {
    struct i2o_cmd_passthru pt = { .iop = iop, .msg = m };
    return xioctl(I2OPASSTHRU, (uintptr_t)&pt);
}

static int cmd_lengths(const struct target *t) {
    static uint8_t big[65536];
    char what[128];

    /* HRT / LCT *reslen: 0 -> ENOBUFS with the length; all ones -> the table. */
    for (int lct = 0; lct < 2; lct++) {
        unsigned long cmd = lct ? I2OLCTGET : I2OHRTGET;
        unsigned int reslen = 0;
        struct i2o_cmd_hrtlct h = { .iop = t->iop, .resbuf = big, .reslen = &reslen };
        int r = xioctl(cmd, (uintptr_t)&h);
        EXPECT(r == ENOBUFS && reslen >= 8, "%s reslen 0: %s, reslen %u", lct ? "LCT" : "HRT", ename(r), reslen);
        unsigned need = reslen;
        reslen = 0xFFFFFFFFu;
        r = xioctl(cmd, (uintptr_t)&h);
        EXPECT(r == 0 && reslen == need, "%s reslen ~0: %s, reslen %u", lct ? "LCT" : "HRT", ename(r), reslen);
        /* A caller that claims a huge buffer but has a small one: the copy faults. */
        case_begin();
        reslen = 0xFFFFFFFFu;
        h.resbuf = (void *)bad_ptr(BAD_STRADDLE, need, NULL);
        r = xioctl(cmd, (uintptr_t)&h);
        EXPECT(need < 2 || r == EFAULT, "%s into a too-small buffer: %s", lct ? "LCT" : "HRT", ename(r));
    }

    /* PARMGET: oplen 0, past the buffer, huge; *reslen 0 and huge. */
    uint16_t ops[] = { 1, 0, I2O_PARAMS_FIELD_GET, 0xF100, 0xFFFF };
    unsigned int reslen = sizeof(big);
    struct i2o_cmd_psetget p = { .iop = t->iop, .tid = t->tid, .opbuf = ops, .oplen = 0, .resbuf = big,
                                 .reslen = &reslen };
    /* An empty operation list: the IOP fails it, which i2o_parm_issue made EAGAIN. */
    expect_errno("PARMGET oplen 0", xioctl(I2OPARMGET, (uintptr_t)&p), EAGAIN);
    static const uint32_t huge[] = { 65537, 0x00100000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF };
    for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
        p.oplen = huge[i];
        snprintf(what, sizeof(what), "PARMGET oplen %#x (kmalloc fails)", huge[i]);
        expect_errno(what, xioctl(I2OPARMGET, (uintptr_t)&p), ENOMEM);
    }
    case_begin();
    p.oplen = 8192; /* within the limit, but longer than the caller's buffer */
    p.opbuf = (void *)bad_ptr(BAD_STRADDLE, 8192, NULL);
    expect_errno("PARMGET oplen past the caller's buffer", xioctl(I2OPARMGET, (uintptr_t)&p), EFAULT);
    p.opbuf = ops;
    p.oplen = sizeof(ops);
    reslen = 0;
    int r = xioctl(I2OPARMGET, (uintptr_t)&p);
    EXPECT(r == ENOBUFS && reslen > 8, "PARMGET reslen 0: %s, needed %u", ename(r), reslen);
    reslen = 0xFFFFFFFFu;
    expect_errno("PARMGET reslen ~0", xioctl(I2OPARMGET, (uintptr_t)&p), 0);

    /* I2OSWDL counters (I2O ReqStatus answers, as the IOP's; see lib/swstore/swstore.h). */
    static uint8_t frag[8192];
    const unsigned id = 0x4c4c;
    expect_errno("SWDL swlen 0", sw_frag(t->iop, id, 0, 1, 1, frag), 1000 + 0x0B);
    expect_errno("SWDL maxfrag != ceil(swlen/8192)", sw_frag(t->iop, id, 9000, 1, 1, frag), 1000 + 0x0B);
    expect_errno("SWDL curfrag 0", sw_frag(t->iop, id, 9000, 2, 0, frag), 1000 + 0x0B);
    expect_errno("SWDL curfrag > maxfrag", sw_frag(t->iop, id, 9000, 2, 3, frag), 1000 + 0x0B);
    expect_errno("SWDL maxfrag ~0", sw_frag(t->iop, id, 9000, 0xFFFFFFFF, 1, frag), 1000 + 0x0B);
    expect_errno("SWDL swlen ~0 (past the module size limit)",
                 sw_frag(t->iop, id, 0xFFFFFFFF, 0xFFFFFFFF / 8192 + 1, 1, frag), 1000 + 0x05);
    expect_errno("SWDL fragment 2 with no download", sw_frag(t->iop, id, 20000, 3, 2, frag), 1000 + 0x05);
    expect_errno("SWDL fragment 1", sw_frag(t->iop, id, 20000, 3, 1, frag), 0);
    expect_errno("SWDL fragment 3 after 1 (out of order)", sw_frag(t->iop, id, 20000, 3, 3, frag), 1000 + 0x06);
    expect_errno("SWDL fragment 2 after the broken sequence", sw_frag(t->iop, id, 20000, 3, 2, frag), 1000 + 0x05);
    expect_errno("SWDL fragment 1 again", sw_frag(t->iop, id, 20000, 3, 1, frag), 0);
    expect_errno("SWDL fragment 1 repeated", sw_frag(t->iop, id, 20000, 3, 1, frag), 0); /* restarts */
    expect_errno("SWDL fragment 2", sw_frag(t->iop, id, 20000, 3, 2, frag), 0);
    expect_errno("SWDL fragment 2 repeated", sw_frag(t->iop, id, 20000, 3, 2, frag), 1000 + 0x06);
    expect_errno("SWUL of a module that never completed", sw_up(t->iop, id, 20000, 3, 1, frag), 1000 + 0x05);
    EXPECT(sw_put(t->iop, SW_TYPE, id, 3000, 0x66) == 0, "SWDL a 3000-byte module");
    expect_errno("SWUL swlen wrong", sw_up(t->iop, id, 3001, 1, 1, frag), 1000 + 0x05);
    expect_errno("SWUL swlen 0 (unknown)", sw_up(t->iop, id, 0, 1, 1, frag), 0);
    expect_errno("SWUL curfrag 0", sw_up(t->iop, id, 3000, 1, 0, frag), 1000 + 0x0B);
    expect_errno("SWUL curfrag ~0", sw_up(t->iop, id, 3000, 1, 0xFFFFFFFF, frag), 1000 + 0x0B);
    expect_errno("SWUL maxfrag wrong", sw_up(t->iop, id, 3000, 9, 1, frag), 1000 + 0x0B);
    {
        unsigned int s = 3001;
        struct i2o_sw_xfer x = { .iop = t->iop, .sw_type = SW_TYPE, .sw_id = id, .swlen = &s };
        expect_errno("SWDEL swlen wrong (any refusal is ETIMEDOUT)", xioctl(I2OSWDEL, (uintptr_t)&x), ETIMEDOUT);
        s = 0xFFFFFFFF;
        expect_errno("SWDEL swlen ~0", xioctl(I2OSWDEL, (uintptr_t)&x), ETIMEDOUT);
        s = 3000;
        expect_errno("SWDEL", xioctl(I2OSWDEL, (uintptr_t)&x), 0);
    }

    /* HTML: qlen 0 / huge, *reslen 0. */
    reslen = sizeof(big);
    struct i2o_html h = { .iop = t->iop, .tid = t->tid, .page = 0, .resbuf = big, .reslen = &reslen,
                          .qbuf = NULL, .qlen = 0 };
    expect_errno("HTML qlen 0, qbuf NULL", xioctl(I2OHTML, (uintptr_t)&h), 0);
    h.qbuf = big;
    for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
        h.qlen = huge[i];
        snprintf(what, sizeof(what), "HTML qlen %#x", huge[i]);
        expect_errno(what, xioctl(I2OHTML, (uintptr_t)&h), ENOMEM);
    }
    h.qlen = 0;
    reslen = 0;
    r = xioctl(I2OHTML, (uintptr_t)&h);
    EXPECT(r == ENOBUFS && reslen > 0, "HTML reslen 0: %s, needed %u", ename(r), reslen);

    /* PASSTHRU frame and reply sizes, SG lists. */
    uint32_t *m = (uint32_t *)scratch;
    uint8_t *data = scratch + 2 * PAGE; /* 256 KiB */
    static const struct { unsigned words; int want; const char *why; } sizes[] = {
        { 0, EINVAL, "frame size 0 (iopd: EINVAL; the kernel posted a stale frame)" },
        { 3, EINVAL, "frame size 3 (shorter than a header)" },
        { 129, EFAULT, "frame size 129 > inbound_frame_size (EFAULT, sic)" },
        { 0xFFFF, EFAULT, "frame size 0xFFFF" },
    };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        memset(m, 0, 2 * PAGE);
        m[0] = sizes[i].words << 16 | 0x01;
        m[1] = 1u << 12;
        expect_errno(sizes[i].why, passthru_words(t->iop, m), sizes[i].want);
    }
    memset(m, 0, 2 * PAGE);
    m[0] = 5u << 16 | 0x01; /* UtilNOP, no reply area */
    m[1] = 1u << 12;
    m[5] = 0;
    expect_errno("NOP with reply size 0", passthru_words(t->iop, m), 0);
    EXPECT(m[5] == 0, "nothing written for a zero-size reply");
    m[5] = 0xFFFFu << 16; /* 256 KiB reply: more than one ioctl carries */
    expect_errno("reply size 0xFFFF words", passthru_words(t->iop, m), ENOMEM);
    /* BsaBlockRead with SG lengths 0 and 0xFFFFFF, and an SGL too long. */
    memset(m, 0, 2 * PAGE);
    m[0] = 10u << 16 | 8u << 4 | 0x01;
    m[1] = 0x30u << 24 | 1u << 12 | t->disk;
    m[5] = 4096;
    m[8] = 0xD0000000u | 0;
    m[9] = (uint32_t)(uintptr_t)data;
    m[10] = 8u << 16;
    expect_errno("BsaBlockRead into an SG element of 0 bytes (the IOP refuses)", passthru_words(t->iop, m),
                 1000 + 0x05);
    m[8] = 0xD0000000u | 0xFFFFFF;
    expect_errno("SG element of 16 MiB", passthru_words(t->iop, m), ENOMEM);
    m[0] = 12u << 16 | 8u << 4 | 0x01; /* two elements of 100 KiB: 200 KiB in all */
    m[8] = 0x50000000u | 102400;
    m[10] = 0xD0000000u | 102400;
    m[11] = (uint32_t)(uintptr_t)(data + 102400);
    m[12] = 8u << 16;
    expect_errno("two SG elements of 100 KiB", passthru_words(t->iop, m), ENOMEM);
    m[0] = (8u + 62) << 16 | 8u << 4 | 0x01; /* 31 elements > SG_TABLESIZE */
    for (unsigned i = 0; i < 31; i++) {
        m[8 + 2 * i] = 0x10000000u | 16;
        m[9 + 2 * i] = (uint32_t)(uintptr_t)data;
    }
    m[70] = 8u << 16;
    expect_errno("31 SG elements", passthru_words(t->iop, m), EINVAL);
    m[0] = 10u << 16 | 0xA0 | 0x01; /* SGL offset 10 >= frame size */
    expect_errno("SGL offset past the frame", passthru_words(t->iop, m), EFAULT);
    m[0] = 10u << 16 | 8u << 4 | 0x01;
    m[8] = 0x20000000u | 16; /* a page-list element */
    m[9] = (uint32_t)(uintptr_t)data;
    m[10] = 8u << 16;
    expect_errno("a non-simple SG element", passthru_words(t->iop, m), EINVAL);

    /* read(): shorter than one record, huge. */
    int rfd = open(dev_path, O_RDWR | O_NONBLOCK);
    EXPECT(read(rfd, data, 103) < 0 && errno == EINVAL, "read of 103 bytes: EINVAL");
    static volatile size_t huge_read = 0x7FFFF000; /* more than the buffer: only what comes is written */
    EXPECT(read(rfd, data, huge_read) < 0 && errno == EAGAIN, "read of 2 GiB, nothing queued: EAGAIN");
    close(rfd);
    return 0;
}

/* ---- random storm ---- */

static uint64_t seed;
static uint32_t rnd(void) {
    seed ^= seed >> 12;
    seed ^= seed << 25;
    seed ^= seed >> 27;
    return (uint32_t)((seed * 2685821657736338717ull) >> 32);
}

static uintptr_t storm_ptr(uint8_t *valid, size_t vlen) {
    switch (rnd() % 8) {
    case 0: return 0;
    case 1: return rnd() % 2 ? NEVER_MAPPED : freed_page();
    case 2: return bad_ptr(BAD_KERNEL, 0, NULL);
    case 3: return bad_ptr(BAD_STRADDLE, 1 + rnd() % 16384, NULL);
    case 4: return (uintptr_t)rnd();
    default: return (uintptr_t)(valid + rnd() % (vlen ? vlen : 1));
    }
}

static uint32_t storm_u32(void) {
    static const uint32_t special[] = { 0, 1, 2, 3, 4, 8, 12, 31, 32, 104, 112, 4096, 8192, 65535, 65536,
                                        0x7FFFFFFF, 0x80000000, 0xFFFFFFFF };
    return rnd() % 3 ? special[rnd() % (sizeof(special) / sizeof(special[0]))] : rnd();
}

static int cmd_storm(unsigned n, unsigned s, unsigned iop) {
    static const unsigned long cmds[] = { I2OGETIOPS, I2OHRTGET, I2OLCTGET, I2OPARMSET, I2OPARMGET, I2OSWDL,
                                          I2OSWUL, I2OSWDEL, I2OVALIDATE, I2OHTML, I2OEVTREG, I2OEVTGET,
                                          I2OPASSTHRU };
    const size_t ncmds = sizeof(cmds) / sizeof(cmds[0]);
    seed = (uint64_t)s * 0x9E3779B97F4A7C15ull + 1;
    unsigned hist[1200] = { 0 };
    uint8_t *pool = arena + 65536, *pool_end = arena + ARENA_SIZE;
    size_t pool_len = (size_t)(pool_end - pool);
    for (unsigned i = 0; i < n; i++) {
        case_begin();
        uint8_t *st = arena; /* the argument struct (and a PASSTHRU frame) */
        for (unsigned k = 0; k < 1024; k += 4) {
            uint32_t v = storm_u32();
            memcpy(st + k, &v, 4);
        }
        /* Pointer fields of every layout get pointers from the pool now and then. */
        for (unsigned k = 0; k < 64; k += sizeof(void *))
            if (rnd() % 2) {
                uintptr_t pv = storm_ptr(pool, pool_len);
                memcpy(st + k, &pv, sizeof(pv));
            }
        uint32_t first = iop;
        if (rnd() % 4)
            memcpy(st, &first, 4);
        /* For PASSTHRU, sometimes a plausible frame: header, target, SG elements. */
        if (rnd() % 2) {
            uint32_t *m = (uint32_t *)(pool + (rnd() % 1024) * 16);
            unsigned words = rnd() % 4 ? 4 + rnd() % 60 : storm_u32() & 0xFFFF;
            unsigned sgo = rnd() % 3 ? 4 + rnd() % 12 : 0;
            m[0] = words << 16 | (sgo & 0xF) << 4 | 0x01;
            static const uint8_t fns[] = { 0x00, 0x30, 0x31, 0x37, 0xA2, 0xA8, 0xBB, 0xFF, 0x06, 0x05 };
            unsigned tid = rnd() % 2 ? 8 + rnd() % 5 : rnd() & 0xFFF;
            m[1] = (uint32_t)fns[rnd() % sizeof(fns)] << 24 | 1u << 12 | tid;
            for (unsigned w = 2; w < 64 && w < words + 8; w++)
                m[w] = storm_u32();
            for (unsigned w = sgo; sgo && w + 1 < words && w + 1 < 60; w += 2) {
                m[w] = (rnd() % 2 ? 0xD0000000u : 0xD4000000u) | (storm_u32() & 0xFFFFFF);
                m[w + 1] = (uint32_t)storm_ptr(pool, pool_len);
            }
            if (words < 64)
                m[words] = (rnd() % 32) << 16;
            uintptr_t mp = (uintptr_t)m;
            memcpy(st + (sizeof(void *) == 8 ? 8 : 4), &mp, sizeof(mp));
        }
        unsigned long cmd;
        switch (rnd() % 8) {
        case 0: cmd = _IOC(rnd() % 4, 'i', rnd() % 16, rnd() % 0x4000); break;
        case 1: cmd = rnd(); break;
        default: cmd = cmds[rnd() % ncmds]; break;
        }
        uintptr_t arg = rnd() % 6 ? (uintptr_t)st : storm_ptr(pool, pool_len);
        if (cmd == I2OVALIDATE)
            arg = rnd() % 2 ? iop : storm_u32();
        int r = xioctl(cmd, arg);
        hist[r < 1200 ? r : 1199]++;
        if (i % 500 == 499) {
            uint8_t tab[MAX_I2O_CONTROLLERS];
            EXPECT(ioctl(fd, I2OGETIOPS, tab) == 0 && tab[iop] == 1, "GETIOPS after %u storm calls", i + 1);
        }
    }
    printf("storm %u calls (seed %u):", n, s);
    for (unsigned e = 0; e < 1200; e++)
        if (hist[e])
            printf(" %s=%u", ename(e), hist[e]);
    printf("\n");
    return 0;
}

/* ---- two downloads at once ---- */

static void image(uint8_t *b, size_t n, unsigned s) {
    uint64_t x = s * 0x9E3779B97F4A7C15ull + 7;
    for (size_t i = 0; i < n; i++) {
        x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
        b[i] = (uint8_t)((x * 2685821657736338717ull) >> 56);
    }
}

/* Download n bytes as (SW_TYPE, id), restarting from fragment 1 after a refusal, at most
 * tries times.  0 when one attempt completed. */
static int download(int dfd, unsigned iop, unsigned id, const uint8_t *img, unsigned n, unsigned tries) {
    unsigned maxfrag = (n + 8191) / 8192;
    for (unsigned t = 0; t < tries; t++) {
        unsigned f;
        for (f = 1; f <= maxfrag; f++) {
            unsigned int s = n, mf = maxfrag, cf = f;
            struct i2o_sw_xfer x = { .iop = iop, .sw_type = SW_TYPE, .sw_id = id, .buf = (void *)(img + (f - 1) * 8192),
                                     .swlen = &s, .maxfrag = &mf, .curfrag = &cf };
            if (ioctl(dfd, I2OSWDL, &x) != 0)
                break;
            if (f % 3 == 0)
                sched_yield();
        }
        if (f > maxfrag)
            return 0;
    }
    return -1;
}

static int upload(unsigned iop, unsigned id, uint8_t *out, unsigned n) {
    unsigned maxfrag = (n + 8191) / 8192;
    for (unsigned f = 1; f <= maxfrag; f++) {
        unsigned int s = n, mf = maxfrag, cf = f;
        struct i2o_sw_xfer x = { .iop = iop, .sw_type = SW_TYPE, .sw_id = id, .buf = out + (f - 1) * 8192,
                                 .swlen = &s, .maxfrag = &mf, .curfrag = &cf };
        int r = xioctl(I2OSWUL, (uintptr_t)&x);
        if (r)
            return r;
    }
    return 0;
}

static int cmd_swrace(unsigned iop, unsigned kib, unsigned rounds) {
    unsigned n = kib * 1024;
    uint8_t *a = malloc(n), *b = malloc(n), *back = malloc(n + 8192), *prev = malloc(n);
    unsigned same_a = 0, same_b = 0, same_none = 0, diff_ok = 0;
    bool have_prev = false;
    {
        unsigned int s = 0;
        struct i2o_sw_xfer x = { .iop = iop, .sw_type = SW_TYPE, .sw_id = 0x5a5a, .swlen = &s };
        ioctl(fd, I2OSWDEL, &x); /* start from nothing stored */
    }
    for (unsigned round = 0; round < rounds; round++) {
        image(a, n, 2 * round + 1);
        image(b, n, 2 * round + 2);
        for (int same = 0; same < 2; same++) {
            unsigned id_a = same ? 0x5a5a : 0x5a00 + 2 * round, id_b = same ? 0x5a5a : 0x5a01 + 2 * round;
            pid_t pa = fork();
            if (pa == 0) {
                int dfd = open(dev_path, O_RDWR);
                _exit(download(dfd, iop, id_a, a, n, same ? 20 : 1) == 0 ? 0 : 1);
            }
            pid_t pb = fork();
            if (pb == 0) {
                int dfd = open(dev_path, O_RDWR);
                _exit(download(dfd, iop, id_b, b, n, same ? 20 : 1) == 0 ? 0 : 1);
            }
            int sa, sb;
            waitpid(pa, &sa, 0);
            waitpid(pb, &sb, 0);
            bool ok_a = WIFEXITED(sa) && WEXITSTATUS(sa) == 0, ok_b = WIFEXITED(sb) && WEXITSTATUS(sb) == 0;
            if (!same) {
                EXPECT(ok_a && ok_b, "round %u: two downloads of different modules: %d %d", round, ok_a, ok_b);
                EXPECT(upload(iop, id_a, back, n) == 0 && memcmp(back, a, n) == 0, "round %u: module A intact", round);
                EXPECT(upload(iop, id_b, back, n) == 0 && memcmp(back, b, n) == 0, "round %u: module B intact", round);
                diff_ok += ok_a && ok_b;
                continue;
            }
            /* What is stored is the last completed download: A's, B's, or what was
             * there before the round (or nothing) when neither completed. */
            int r = upload(iop, id_a, back, n);
            bool is_a = r == 0 && memcmp(back, a, n) == 0, is_b = r == 0 && memcmp(back, b, n) == 0;
            bool is_prev = have_prev ? r == 0 && memcmp(back, prev, n) == 0 : r == 1005;
            EXPECT((is_a && ok_a) || (is_b && ok_b) || (is_prev && !(ok_a && ok_b)),
                   "round %u: same module from two processes: stored is %s (upload %s; A %s, B %s)", round,
                   is_a ? "A" : is_b ? "B" : is_prev ? "the earlier one" : "neither", ename(r),
                   ok_a ? "done" : "gave up", ok_b ? "done" : "gave up");
            same_a += is_a;
            same_b += is_b;
            same_none += !is_a && !is_b;
            if (r == 0) {
                memcpy(prev, back, n);
                have_prev = true;
            }
        }
    }
    printf("swrace: %u rounds of %u KiB: different modules both intact %u/%u; same module: A %u, B %u, "
           "neither (the earlier module kept) %u\n", rounds, kib, diff_ok, rounds, same_a, same_b, same_none);
    free(prev);
    free(a);
    free(b);
    free(back);
    return 0;
}

/* ---- hogs ---- */

static void wait_stdin_eof(void) {
    char c;
    while (read(0, &c, 1) > 0)
        ;
}

static int raise_nofile(unsigned n) {
    struct rlimit rl = { n + 64, n + 64 };
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        perror("setrlimit");
        return -1;
    }
    return 0;
}

static int cmd_hog_fds(unsigned n) {
    if (raise_nofile(n) < 0)
        return 1;
    int *fds = calloc(n, sizeof(int));
    unsigned opened = 0;
    for (; opened < n; opened++)
        if ((fds[opened] = open(dev_path, O_RDWR)) < 0)
            break;
    EXPECT(opened == n, "opened %u of %u: %s", opened, n, strerror(errno));
    printf("ready %u\n", opened);
    fflush(stdout);
    wait_stdin_eof();
    for (unsigned i = 0; i < opened; i++)
        close(fds[i]);
    printf("closed\n");
    free(fds);
    return 0;
}

static int cmd_hog_events(unsigned nfd, unsigned iop) {
    if (raise_nofile(nfd) < 0)
        return 1;
    static uint8_t lct[65536];
    unsigned int len = sizeof(lct);
    struct i2o_cmd_hrtlct h = { .iop = iop, .resbuf = lct, .reslen = &len };
    EXPECT(ioctl(fd, I2OLCTGET, &h) == 0, "LCT: %s", strerror(errno));
    unsigned words = len >= 12 ? (lct[0] | lct[1] << 8) : 0, tids[1024], ntid = 0;
    tids[ntid++] = 0; /* the executive */
    for (unsigned off = 12; off + 36 <= words * 4u && ntid < 1024; off += 36)
        tids[ntid++] = (lct[off + 2] | lct[off + 3] << 8) & 0xFFF;
    int *fds = calloc(nfd, sizeof(int));
    unsigned regs = 0;
    for (unsigned i = 0; i < nfd; i++) {
        fds[i] = open(dev_path, O_RDWR);
        for (unsigned k = 0; k < ntid && fds[i] >= 0; k++) {
            struct i2o_evt_id id = { .iop = iop, .tid = tids[k], .evt_mask = 0xFFFFFFFFu };
            regs += ioctl(fds[i], I2OEVTREG, &id) == 0;
        }
    }
    printf("ready %u descriptors, %u registrations\n", nfd, regs);
    fflush(stdout);
    wait_stdin_eof();
    unsigned max_queued = 0, total = 0, lost_max = 0;
    for (unsigned i = 0; i < nfd; i++) {
        struct i2o_evt_get g;
        unsigned q = 0;
        while (ioctl(fds[i], I2OEVTGET, &g) == 0) {
            q++;
            if ((unsigned)g.lost > lost_max)
                lost_max = (unsigned)g.lost;
        }
        EXPECT(errno == ENOENT, "drain: %s", strerror(errno));
        max_queued = q > max_queued ? q : max_queued;
        total += q;
        close(fds[i]);
    }
    printf("drained %u events, at most %u per descriptor, lost up to %u per descriptor\n", total, max_queued,
           lost_max);
    EXPECT(max_queued <= I2O_EVT_Q_LEN, "a queue held %u events (bound %u)", max_queued, I2O_EVT_Q_LEN);
    free(fds);
    return 0;
}

static int cmd_hog_mon(const char *path, unsigned n) {
    int *fds = calloc(n, sizeof(int));
    for (unsigned i = 0; i < n; i++) {
        fds[i] = open(path, O_RDONLY | O_NONBLOCK);
        EXPECT(fds[i] >= 0, "%s: %s", path, strerror(errno));
    }
    printf("ready %u readers\n", n);
    fflush(stdout);
    wait_stdin_eof();
    static char buf[1 << 20];
    unsigned max_lines = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned lines = 0;
        ssize_t r;
        while ((r = read(fds[i], buf, sizeof(buf))) > 0)
            for (char *p = buf; (p = memchr(p, '\n', (size_t)(buf + r - p))); p++)
                lines++;
        max_lines = lines > max_lines ? lines : max_lines;
        close(fds[i]);
    }
    printf("readers held at most %u lines each\n", max_lines);
    EXPECT(max_lines <= 93, "a reader held %u events (bound 93)", max_lines);
    free(fds);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: hostile-client DEVICE COMMAND ... (see the source's header)\n");
        return 2;
    }
    dev_path = argv[1];
    const char *cmd = argv[2];
    signal(SIGPIPE, SIG_IGN);
    mem_init();
    if (strcmp(cmd, "hog-mon") == 0 && argc == 4) {
        cmd_hog_mon(argv[1], (unsigned)atoi(argv[3]));
        goto out;
    }
    fd = open(dev_path, O_RDWR);
    if (fd < 0) {
        perror(dev_path);
        return 2;
    }
    struct target t = { 0 };
    if (argc == 6) {
        t.iop = (unsigned)strtoul(argv[3], NULL, 0);
        t.tid = (unsigned)strtoul(argv[4], NULL, 0);
        t.disk = (unsigned)strtoul(argv[5], NULL, 0);
    }
    if (strcmp(cmd, "pointers") == 0 && argc == 6)
        cmd_pointers(&t);
    else if (strcmp(cmd, "lengths") == 0 && argc == 6)
        cmd_lengths(&t);
    else if (strcmp(cmd, "storm") == 0 && (argc == 5 || argc == 6))
        cmd_storm((unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]), argc == 6 ? (unsigned)atoi(argv[5]) : 0);
    else if (strcmp(cmd, "swrace") == 0 && argc == 6)
        cmd_swrace((unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]), (unsigned)atoi(argv[5]));
    else if (strcmp(cmd, "hog-fds") == 0 && argc == 4)
        cmd_hog_fds((unsigned)atoi(argv[3]));
    else if (strcmp(cmd, "hog-events") == 0 && argc == 5)
        cmd_hog_events((unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]));
    else {
        fprintf(stderr, "hostile-client: bad command or arguments (see the source's header)\n");
        return 2;
    }
out:
    printf("hostile-client %s: %d checks passed, %d failed\n", cmd, passes, failures);
    return failures ? 1 : 0;
}
