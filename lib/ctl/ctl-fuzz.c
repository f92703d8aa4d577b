#include "lib/ctl/ctl-fuzz.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <linux/i2o-dev.h>

#include "lib/config/config.h"
#include "lib/ctl/abi.h"
#include "lib/ctl/ctl.h"
#include "lib/i2o/devparams.h"
#include "lib/i2o/iop.h"
#include "lib/i2o/isa-path.h"
#include "lib/state/state.h"
#include "lib/swstore/swstore.h"
#include "lib/umem/umem-rounds.h"
#include "lib/umem/umem-space.h"
#include "lib/util/cleanup.h"
#include "lib/util/fuzz-scratch.h"
#include "lib/util/fuzz.h"

#define REGIONS 8u
#define REGION_BASE 0x10000u
#define REGION_SMALL_MAX 16384u
#define REGION_LARGE (160u * 1024u) /* more than one CUSE ioctl moves */
#define MAX_OPS 24u
#define MAX_ROUNDS 16u /* the emulated kernel gives up here: a handler that never settles */

/* Two devices with state, a silent IOP and one on an 8-bit DMA channel. */
static const char model_json[] =
    "{ \"iops\": ["
    " { \"unit\": 0, \"product_id\": \"fuzz\","
    "   \"adapters\": [ { \"adapter_id\": 1, \"bus\": \"isa\", \"io_port\": \"0x330\", \"dma_channel\": 5 } ],"
    "   \"devices\": ["
    "    { \"tid\": \"0x008\", \"class\": \"ddm\" },"
    "    { \"tid\": \"0x009\", \"class\": \"bus-adapter\", \"parent\": \"0x008\", \"adapter\": 1 },"
    "    { \"tid\": \"0x00a\", \"class\": \"block-storage\", \"parent\": \"0x009\", \"blocks\": 64, \"block_size\": 512 },"
    "    { \"tid\": \"0x010\", \"class\": \"0x090\", \"groups\": ["
    "      { \"number\": \"0x9000\", \"name\": \"G\", \"fields\": ["
    "        { \"name\": \"A\", \"type\": \"u16\", \"writable\": true, \"max\": 100 },"
    "        { \"name\": \"S\", \"type\": \"string\", \"size\": 12, \"writable\": true } ] },"
    "      { \"number\": \"0x9001\", \"name\": \"T\", \"table\": true, \"row_add\": true, \"row_delete\": true,"
    "        \"clear\": true, \"fields\": [ { \"name\": \"K\", \"type\": \"u16\", \"key\": true },"
    "        { \"name\": \"V\", \"type\": \"u32\", \"writable\": true } ], \"rows\": [ { \"K\": 1, \"V\": 2 } ] } ] } ] },"
    " { \"unit\": 3, \"answers\": false },"
    " { \"unit\": 31, \"adapters\": [ { \"adapter_id\": 2, \"bus\": \"isa\", \"dma_channel\": 1 } ],"
    "   \"devices\": [ { \"tid\": \"0x020\", \"class\": \"block-storage\", \"blocks\": 8, \"block_size\": 4096 } ] } ] }";

/* Per unit, what the daemon attaches (daemon/daemon.c attach_state). */
struct fz_unit {
    struct iop_state_dir *dir;
    struct iop_swstore *sw;
    struct iop_isa_path *isa;
};

/* One side of the lockstep: a system, its state, its caller's memory. */
struct fz_side {
    char dir[IOP_FUZZ_SCRATCH_PATH_MAX];
    int dirfd;
    struct iop_system *sys;
    struct fz_unit unit[MAX_I2O_CONTROLLERS];
    struct iop_ctl *ctl;
    struct iop_ctl_file *file;
    struct iop_umem_space space;
    uint8_t *mem[REGIONS];
    size_t mem_len[REGIONS];
    /* B only: what the handler really touched, for the size-limit comparison. */
    struct iop_umem counted;
    uint64_t bytes_in, bytes_out;
};

static int unit_move(void *opaque, bool to_iop, void *dst, const void *src, size_t n) {
    struct fz_unit *u = opaque;
    return iop_isa_path_move(u->isa, to_iop, dst, src, n);
}

static void side_free(struct fz_side *s) {
    if (s->file)
        iop_ctl_release(s->file);
    iop_ctl_free(s->ctl);
    iop_system_free(s->sys);
    for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++) {
        iop_swstore_free(s->unit[i].sw);
        iop_isa_path_free(s->unit[i].isa);
        iop_state_dir_free(s->unit[i].dir);
    }
    if (s->dirfd > 0)
        close(s->dirfd);
    if (s->dir[0])
        iop_fuzz_scratch_remove(s->dir);
    for (unsigned i = 0; i < REGIONS; i++)
        free(s->mem[i]);
}

/* 1: no scratch space (not a failure of the code under test); <0 errors. */
static int side_new(struct fz_side *s, const struct iop_config *cfg) {
    if (iop_fuzz_scratch_new(s->dir) < 0) {
        s->dir[0] = 0;
        return 1;
    }
    s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd < 0)
        return 1;
    int r = iop_system_new_from_config(cfg, &s->sys);
    if (r < 0)
        return IOP_FUZZ_FAIL("ctl: the model does not build (%d)", r);
    for (unsigned i = 0; i < MAX_I2O_CONTROLLERS; i++) {
        struct iop_controller *c = s->sys->iop[i];
        struct fz_unit *u = &s->unit[i];
        if (!c)
            continue;
        char name[16];
        snprintf(name, sizeof(name), "iop%u", i);
        if (iop_state_dir_open_at(s->dirfd, name, &u->dir) < 0)
            return 1;
        int chan = iop_controller_dma_channel(c);
        if (chan >= 0 && (r = iop_isa_path_new((unsigned)chan, &u->isa)) < 0)
            return r;
        struct iop_swstore_config swc = { .max_module_size = 65536, .max_total_size = 131072, .max_modules = 8,
                                          .mover = { .move = u->isa ? unit_move : NULL, .opaque = u } };
        if ((r = iop_swstore_new(u->dir, &swc, &u->sw)) < 0)
            return r;
        c->sw = u->sw;
        c->isa = u->isa;
        c->state = u->dir;
        for (unsigned k = 0; k < c->n_dev; k++)
            iop_device_params_load(c->dev[k]);
    }
    if ((r = iop_ctl_new(s->sys, &s->ctl)) < 0 || (r = iop_ctl_open(s->ctl, &s->file)) < 0)
        return r;
    iop_umem_space_init(&s->space);
    return 0;
}

/* ---- B's accessor: direct access that counts what it moves ---- */

static int counted_read(void *ctx, uint64_t uaddr, void *dst, size_t n) {
    struct fz_side *s = ctx;
    s->bytes_in += n;
    return s->space.um.ops->read(s->space.um.ctx, uaddr, dst, n);
}

static int counted_write(void *ctx, uint64_t uaddr, const void *src, size_t n) {
    struct fz_side *s = ctx;
    s->bytes_out += n;
    return s->space.um.ops->write(s->space.um.ctx, uaddr, src, n);
}

static int counted_sync(void *ctx) {
    (void)ctx;
    return 0;
}

static const struct iop_umem_ops counted_ops = {
    .sync = counted_sync,
    .read = counted_read,
    .write = counted_write,
};

/* ---- A: the kernel's fuse_do_ioctl for an unrestricted CUSE ioctl ---- */

static bool same_prefix(const struct iop_uiov *a, unsigned na, const struct iop_uiov *b, unsigned nb) {
    for (unsigned i = 0; i < na && i < nb; i++)
        if (a[i].base != b[i].base || a[i].len != b[i].len)
            return false;
    return true;
}

struct kernel_lists {
    struct iop_uiov in[IOP_UMEM_MAX_RANGES], out[IOP_UMEM_MAX_RANGES];
    unsigned n_in, n_out;
    uint64_t out_size;
};

static int kernel_ioctl(struct fz_side *s, unsigned cmd, uint64_t arg, unsigned flags, unsigned *rounds, int *broken) {
    static struct kernel_lists k;
    struct iop_umem_rounds *r = malloc(sizeof(*r));
    if (!r)
        return -ENOMEM;
    k.n_in = k.n_out = 0;
    k.out_size = 0;
    *broken = 0;
    int result = 0;
    for (*rounds = 1;; (*rounds)++) {
        if (*rounds > MAX_ROUNDS) {
            *broken = IOP_FUZZ_FAIL("ctl: command 0x%08x still retrying after %u rounds", cmd, MAX_ROUNDS);
            break;
        }
        /* Gather the in ranges of the last retry, in order. */
        uint64_t in_size = 0;
        for (unsigned i = 0; i < k.n_in; i++)
            in_size += k.in[i].len;
        uint8_t *in = malloc(in_size ? in_size : 1);
        if (!in) {
            result = -ENOMEM;
            break;
        }
        int e = 0;
        for (unsigned i = 0, at = 0; i < k.n_in && !e; at += (unsigned)k.in[i].len, i++)
            e = s->space.um.ops->read(s->space.um.ctx, k.in[i].base, in + at, k.in[i].len);
        if (e) {
            free(in);
            result = -EFAULT;
            break;
        }
        if (iop_umem_rounds_init(r, in, in_size, k.out_size) < 0) {
            free(in);
            result = -ENOMEM;
            break;
        }
        int rc = iop_ctl_ioctl(s->ctl, s->file, cmd, arg, flags, &r->um, NULL);
        /* Handlers re-declare the same ranges in the same order and only append. */
        if (!same_prefix(r->in, r->n_in, k.in, k.n_in) || !same_prefix(r->out, r->n_out, k.out, k.n_out))
            *broken = IOP_FUZZ_FAIL("ctl: command 0x%08x declared other ranges in round %u", cmd, *rounds);
        if (rc == IOP_UMEM_RETRY && !*broken) {
            if (r->n_in < k.n_in || r->n_out < k.n_out || (r->n_in == k.n_in && r->n_out == k.n_out))
                *broken = IOP_FUZZ_FAIL("ctl: command 0x%08x retried without asking for more", cmd);
            memcpy(k.in, r->in, r->n_in * sizeof(k.in[0]));
            memcpy(k.out, r->out, r->n_out * sizeof(k.out[0]));
            k.n_in = r->n_in;
            k.n_out = r->n_out;
            k.out_size = r->out_bytes;
            iop_umem_rounds_done(r);
            free(in);
            if (*broken)
                break;
            continue;
        }
        /* The final reply: an error alone, or a result with the written out prefix,
         * which the kernel copies over the out ranges of the last retry. */
        if (!*broken && rc != IOP_UMEM_RETRY && r->out_len &&
            (r->n_out != k.n_out || !same_prefix(r->out, r->n_out, k.out, k.n_out)))
            *broken = IOP_FUZZ_FAIL("ctl: command 0x%08x wrote through ranges the kernel does not have", cmd);
        result = rc;
        if (!*broken && (rc >= 0 || r->out_len)) {
            size_t at = 0;
            for (unsigned i = 0; i < k.n_out && at < r->out_len && result != -EFAULT; i++) {
                size_t n = IOP_MIN((size_t)k.out[i].len, r->out_len - at);
                if (s->space.um.ops->write(s->space.um.ctx, k.out[i].base, r->out_buf + at, n) < 0)
                    result = -EFAULT;
                at += n;
            }
        }
        iop_umem_rounds_done(r);
        free(in);
        break;
    }
    free(r);
    return result;
}

/* ---- the commands ---- */

struct fz_cmd {
    unsigned native, compat;
    unsigned max_rounds; /* README.md: "iopd gathers nested user buffers in ..." */
};

static const struct fz_cmd cmds[] = {
    { I2OGETIOPS, I2OGETIOPS, 2 },
    { I2OHRTGET, IOP_I2OHRTGET32, 3 },
    { I2OLCTGET, IOP_I2OLCTGET32, 3 },
    { I2OPARMSET, IOP_I2OPARMSET32, 3 },
    { I2OPARMGET, IOP_I2OPARMGET32, 3 },
    { I2OSWDL, IOP_I2OSWDL32, 4 },
    { I2OSWUL, IOP_I2OSWUL32, 3 },
    { I2OSWDEL, IOP_I2OSWDEL32, 3 },
    { I2OVALIDATE, I2OVALIDATE, 1 },
    { I2OHTML, IOP_I2OHTML32, 3 },
    { I2OEVTREG, I2OEVTREG, 2 },
    { I2OEVTGET, I2OEVTGET, 2 },
    { I2OPASSTHRU, I2OPASSTHRU32, 5 },
};
#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static bool errno_ok(int r) {
    switch (-r) {
    case EFAULT: case ENXIO: case EINVAL: case ENOTTY: case ENOMEM: case ENOBUFS: case ETIMEDOUT:
    case EAGAIN: case ENOENT: case ENODEV: case EBUSY: case E2BIG: case ENOSPC: case EPERM:
        return true;
    default:
        return false;
    }
}

static int compare_memory(const struct fz_side *a, const struct fz_side *b, unsigned cmd) {
    for (unsigned i = 0; i < REGIONS; i++)
        if (a->mem[i] && memcmp(a->mem[i], b->mem[i], a->mem_len[i]) != 0)
            return IOP_FUZZ_FAIL("ctl: command 0x%08x left region %u different through CUSE and directly", cmd, i);
    return 0;
}

static int do_ioctl(struct fz_side *a, struct fz_side *b, bool *lockstep, struct iop_fuzz_in *in) {
    uint8_t pick = iop_fuzz_u8(in), cflags = iop_fuzz_u8(in);
    uint64_t arg = iop_fuzz_u32(in);
    bool compat = cflags & 1;
    unsigned cmd, max_rounds = 1;
    if (pick < N_CMDS) {
        cmd = compat ? cmds[pick].compat : cmds[pick].native;
        max_rounds = cmds[pick].max_rounds;
    } else {
        cmd = iop_fuzz_u32(in);
        for (unsigned i = 0; i < N_CMDS; i++)
            if (cmd == (compat ? cmds[i].compat : cmds[i].native))
                max_rounds = cmds[i].max_rounds;
    }
    unsigned flags = compat ? IOP_CTL_COMPAT : 0, rounds = 0;
    int broken = 0;
    int ra = kernel_ioctl(a, cmd, arg, flags, &rounds, &broken);
    if (broken)
        return broken;
    if (ra == IOP_UMEM_RETRY || ra == IOP_CTL_PENDING || (ra < 0 && !errno_ok(ra)) || ra > 0xFF)
        return IOP_FUZZ_FAIL("ctl: command 0x%08x returned %d", cmd, ra);
    if (getenv("IOPD_FUZZ_TRACE"))
        fprintf(stderr, "ctl: cmd 0x%08x%s arg 0x%llx: %d in %u rounds\n", cmd, compat ? " (32-bit)" : "",
                (unsigned long long)arg, ra, rounds);
    if (rounds > max_rounds)
        return IOP_FUZZ_FAIL("ctl: command 0x%08x took %u CUSE rounds, at most %u documented", cmd, rounds, max_rounds);
    if (!*lockstep)
        return 0;

    b->bytes_in = b->bytes_out = 0;
    int rb = iop_ctl_ioctl(b->ctl, b->file, cmd, arg, flags, &b->counted, NULL);
    if (rb == IOP_UMEM_RETRY || rb == IOP_CTL_PENDING || (rb < 0 && !errno_ok(rb)) || rb > 0xFF)
        return IOP_FUZZ_FAIL("ctl: command 0x%08x returned %d with direct access", cmd, rb);
    if (ra == -EFAULT || rb == -EFAULT) {
        /* The kernel gathers every declared range before the handler reads one; with
         * direct access a fault shows only where it is read.  Both are right; the two
         * systems may differ from here on. */
        *lockstep = ra == rb;
        return ra == rb ? compare_memory(a, b, cmd) : 0;
    }
    if (ra == -ENOMEM && rb != -ENOMEM) {
        if (b->bytes_in > IOP_UMEM_MAX_BYTES || b->bytes_out > IOP_UMEM_MAX_BYTES) {
            *lockstep = false; /* CUSE cannot carry it: documented */
            return 0;
        }
        return IOP_FUZZ_FAIL("ctl: command 0x%08x: ENOMEM through CUSE for %llu bytes in, %llu out", cmd,
                             (unsigned long long)b->bytes_in, (unsigned long long)b->bytes_out);
    }
    if (ra != rb)
        return IOP_FUZZ_FAIL("ctl: command 0x%08x returned %d through CUSE, %d directly", cmd, ra, rb);
    return compare_memory(a, b, cmd);
}

static void do_poke(struct fz_side *a, struct fz_side *b, struct iop_fuzz_in *in) {
    unsigned region = iop_fuzz_u8(in) % REGIONS;
    size_t off = iop_fuzz_u16(in);
    const uint8_t *p;
    size_t n = iop_fuzz_bytes(in, iop_fuzz_u8(in), &p);
    if (!a->mem[region] || off >= a->mem_len[region])
        return;
    n = IOP_MIN(n, a->mem_len[region] - off);
    memcpy(a->mem[region] + off, p, n);
    memcpy(b->mem[region] + off, p, n);
}

static int do_read(struct fz_side *a, struct fz_side *b, bool lockstep, struct iop_fuzz_in *in) {
    size_t size = iop_fuzz_u8(in) * 8u;
    static uint8_t buf[2][256 * 8];
    long ra = iop_ctl_read(a->file, buf[0], size);
    if (ra != -EAGAIN && ra != -EINVAL && (ra < 0 || ra % (long)sizeof(struct i2o_evt_info) != 0 || (size_t)ra > size))
        return IOP_FUZZ_FAIL("ctl: read of %zu returned %ld", size, ra);
    if (!lockstep)
        return 0;
    long rb = iop_ctl_read(b->file, buf[1], size);
    if (ra != rb || (ra > 0 && memcmp(buf[0], buf[1], (size_t)ra) != 0))
        return IOP_FUZZ_FAIL("ctl: read gave %ld and %ld on the two systems", ra, rb);
    return 0;
}

static int map_regions(struct fz_side *a, struct fz_side *b, struct iop_fuzz_in *in) {
    unsigned n = iop_fuzz_u8(in) % (REGIONS + 1);
    for (unsigned i = 0; i < n; i++) {
        uint8_t rflags = iop_fuzz_u8(in);
        /* A large region starts zeroed; a small one with its bytes from the input. */
        size_t len = REGION_LARGE;
        if (!(rflags & 2) && (len = iop_fuzz_u16(in) % (REGION_SMALL_MAX + 1)) == 0)
            len = 1;
        const uint8_t *p = NULL;
        size_t got = (rflags & 2) ? 0 : iop_fuzz_bytes(in, len, &p);
        struct fz_side *sides[2] = { a, b };
        for (unsigned s = 0; s < 2; s++) {
            if (!(sides[s]->mem[i] = calloc(1, len)))
                return -ENOMEM;
            if (got)
                memcpy(sides[s]->mem[i], p, got);
            sides[s]->mem_len[i] = len;
            iop_umem_space_map(&sides[s]->space, REGION_BASE * (i + 1), sides[s]->mem[i], len, rflags & 1);
        }
    }
    return 0;
}

int iop_ctl_fuzz_one(const uint8_t *data, size_t len) {
    struct iop_fuzz_in in = iop_fuzz_in(data, len);
    bool lockstep = !(iop_fuzz_u8(&in) & 1);
    struct iop_config *cfg = NULL;
    if (iop_config_parse(model_json, strlen(model_json), "model", &cfg, NULL) < 0)
        return IOP_FUZZ_FAIL("ctl: the model configuration is refused");
    struct fz_side *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    int r = !a || !b ? -ENOMEM : side_new(a, cfg);
    if (r == 0)
        r = side_new(b, cfg);
    iop_config_free(cfg);
    if (r == 0) {
        b->counted = (struct iop_umem){ .ops = &counted_ops, .ctx = b };
        r = map_regions(a, b, &in);
    }
    for (unsigned ops = 0; r == 0 && ops < MAX_OPS && !iop_fuzz_empty(&in); ops++) {
        uint8_t op = iop_fuzz_u8(&in) % 8;
        if (op <= 5)
            r = do_ioctl(a, b, &lockstep, &in);
        else if (op == 6)
            do_poke(a, b, &in);
        else
            r = do_read(a, b, lockstep, &in);
    }
    if (a)
        side_free(a);
    if (b)
        side_free(b);
    free(a);
    free(b);
    return r > 0 ? 0 : r == -ENOMEM ? 0 : r;
}
