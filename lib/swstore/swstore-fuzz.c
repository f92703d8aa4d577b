#include "lib/swstore/swstore-fuzz.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/state/state.h"
#include "lib/swstore/swstore-private.h"
#include "lib/swstore/swstore.h"
#include "lib/util/bytes.h"
#include "lib/util/cleanup.h"
#include "lib/util/fuzz-scratch.h"
#include "lib/util/fuzz.h"

#define MAX_FILES 10u
#define MAX_OPS 64u
#define MAX_SWLEN 3u * IOP_SW_FRAG_SIZE
#define MODEL_MAX 8u

static const uint8_t types[] = { 0x01, 0x02, 0x03, 0x11, 0x12, 0x13, 0x22, 0x23, 0x00, 0x7F };

/* What the run itself downloaded: the exact bytes each such module must upload. */
struct model {
    bool used;
    uint8_t type;
    uint32_t id, size;
    uint8_t *bytes;
};

struct fz {
    char dir[IOP_FUZZ_SCRATCH_PATH_MAX];
    struct iop_state_dir *sd;
    struct iop_swstore *s;
    struct iop_swstore_config cfg;
    struct model model[MODEL_MAX];
    uint8_t staging[MODEL_MAX][MAX_SWLEN]; /* downloads in progress, by model slot */
};

static struct model *model_find(struct fz *f, uint8_t type, uint32_t id, bool create) {
    struct model *free_slot = NULL;
    for (unsigned i = 0; i < MODEL_MAX; i++) {
        if (f->model[i].used && f->model[i].type == type && f->model[i].id == id)
            return &f->model[i];
        if (!f->model[i].used && !free_slot)
            free_slot = &f->model[i];
    }
    if (!create || !free_slot)
        return NULL;
    *free_slot = (struct model){ .used = true, .type = type, .id = id };
    return free_slot;
}

static void model_forget(struct model *m) {
    if (!m)
        return;
    free(m->bytes);
    *m = (struct model){ 0 };
}

static void write_raw(const char *dir, const char *name, const void *p, size_t n, bool trunc_only) {
    char path[IOP_FUZZ_SCRATCH_PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (trunc_only) {
        (void)!truncate(path, (off_t)n);
        return;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
    if (fd < 0)
        return;
    (void)!write(fd, p, n);
    close(fd);
}

static void put_files(struct fz *f, struct iop_fuzz_in *in) {
    unsigned n = iop_fuzz_u8(in) % (MAX_FILES + 1);
    for (unsigned i = 0; i < n; i++) {
        uint8_t kind = iop_fuzz_u8(in) % 4;
        bool truncate_after = kind == 3;
        if (truncate_after)
            kind = iop_fuzz_u8(in) & 1;
        char name[SW_DATA_NAME_SIZE + 16];
        const uint8_t *p;
        size_t len;
        uint8_t buf[SW_MODULE_HEADER_SIZE + 4096];
        if (kind == 0) {
            snprintf(name, sizeof(name), "%s", SW_INDEX_NAME);
            len = iop_fuzz_chunk(in, 4096, &p);
            (void)iop_state_write_atomic(f->sd, name, p, len);
        } else if (kind == 1) {
            uint8_t type = iop_fuzz_u8(in);
            uint32_t id = iop_fuzz_u32(in), gen = iop_fuzz_u32(in);
            uint8_t flags = iop_fuzz_u8(in);
            uint32_t size = iop_fuzz_u32(in);
            sw_data_name(name, type, id, gen);
            len = iop_fuzz_chunk(in, 4096, &p);
            size_t at = 0;
            if (!(flags & 0x80)) {
                sw_module_header(buf, type, flags, id, size);
                at = SW_MODULE_HEADER_SIZE;
            }
            memcpy(buf + at, p, len);
            (void)iop_state_write_atomic(f->sd, name, buf, at + len);
            len += at;
        } else {
            static const char *const raw_names[] = { SW_INDEX_NAME, "sw-01-00000001-00000001.img",
                                                     ".tmp." SW_INDEX_NAME ".9", "sw-zz" };
            snprintf(name, sizeof(name), "%s", raw_names[iop_fuzz_u8(in) % 4]);
            len = iop_fuzz_chunk(in, 4096, &p);
            write_raw(f->dir, name, p, len, false);
        }
        if (truncate_after)
            write_raw(f->dir, name, NULL, iop_fuzz_u16(in) % (len + IOP_STATE_HEADER_SIZE + 1), true);
    }
}

static int check_list(struct fz *f) {
    struct iop_sw_module_info mods[IOP_SWSTORE_MODULES_MAX];
    int n = iop_swstore_list(f->s, mods, IOP_SWSTORE_MODULES_MAX);
    if (n < 0 || (unsigned)n > IOP_SWSTORE_MODULES_MAX)
        return IOP_FUZZ_FAIL("swstore: list returned %d", n);
    for (int i = 0; i < n; i++) {
        const struct iop_sw_module_info *m = &mods[i];
        if (!iop_sw_type_known(m->sw_type) || m->size == 0 || m->size > IOP_SWSTORE_MODULE_SIZE_MAX)
            return IOP_FUZZ_FAIL("swstore: module %02x/%08x: size %u", m->sw_type, m->sw_id, m->size);
        if (i && (mods[i - 1].sw_type > m->sw_type ||
                  (mods[i - 1].sw_type == m->sw_type && mods[i - 1].sw_id >= m->sw_id)))
            return IOP_FUZZ_FAIL("swstore: list not sorted or not unique at %d", i);
        /* Every fragment uploads, and they add up to the size. */
        uint32_t frags = (m->size + IOP_SW_FRAG_SIZE - 1) / IOP_SW_FRAG_SIZE, total = 0;
        static uint8_t buf[IOP_SW_FRAG_SIZE];
        const struct model *mm = model_find(f, m->sw_type, m->sw_id, false);
        for (uint32_t k = 1; k <= frags && k <= 4; k++) {
            struct iop_sw_xfer x = { .sw_type = m->sw_type, .sw_id = m->sw_id, .swlen = m->size,
                                     .maxfrag = frags, .curfrag = k };
            uint32_t got = 0;
            int r = iop_swstore_upload(f->s, &x, buf, sizeof(buf), &got);
            if (r != 0 || got != iop_sw_frag_len(m->size, frags, k))
                return IOP_FUZZ_FAIL("swstore: upload of %02x/%08x fragment %u: %d, %u bytes", m->sw_type,
                                     m->sw_id, k, r, got);
            if (mm && mm->bytes && (mm->size != m->size ||
                                    memcmp(buf, mm->bytes + (size_t)(k - 1) * IOP_SW_FRAG_SIZE, got) != 0))
                return IOP_FUZZ_FAIL("swstore: %02x/%08x fragment %u differs from what was downloaded",
                                     m->sw_type, m->sw_id, k);
            total += got;
        }
        if (frags <= 4 && total != m->size)
            return IOP_FUZZ_FAIL("swstore: fragments add up to %u of %u", total, m->size);
    }
    return 0;
}

static int snapshot(struct fz *f, struct iop_sw_module_info *out) {
    return iop_swstore_list(f->s, out, IOP_SWSTORE_MODULES_MAX);
}

static int reopen(struct fz *f) {
    static struct iop_sw_module_info before[IOP_SWSTORE_MODULES_MAX], after[IOP_SWSTORE_MODULES_MAX];
    int nb = snapshot(f, before);
    f->s = iop_swstore_free(f->s);
    int r = iop_swstore_new(f->sd, &f->cfg, &f->s);
    if (r < 0)
        return r == -ENOMEM ? r : IOP_FUZZ_FAIL("swstore: reopen failed with %d", r);
    int na = snapshot(f, after);
    if (na != nb || memcmp(before, after, (size_t)na * sizeof(before[0])) != 0)
        return IOP_FUZZ_FAIL("swstore: %d modules before closing, %d after reopening (or they differ)", nb, na);
    /* Downloads in progress are lost with the process. */
    for (unsigned i = 0; i < MODEL_MAX; i++)
        if (f->model[i].used && !f->model[i].bytes)
            model_forget(&f->model[i]);
    return 0;
}

static bool status_ok(int r) {
    return r == IOP_SW_STATUS_SUCCESS || r == IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER ||
           r == IOP_SW_STATUS_ERROR_PARTIAL_TRANSFER || r == IOP_SW_STATUS_TRANSACTION_ERROR ||
           r == IOP_SW_STATUS_PROCESS_ABORT_NO_DATA_TRANSFER;
}

static int op_transfer(struct fz *f, struct iop_fuzz_in *in, uint8_t op) {
    uint8_t type = types[iop_fuzz_u8(in) % sizeof(types)];
    uint32_t id = iop_fuzz_u8(in);
    uint32_t swlen = iop_fuzz_u16(in) % (MAX_SWLEN + 1);
    uint32_t maxfrag = (swlen + IOP_SW_FRAG_SIZE - 1) / IOP_SW_FRAG_SIZE + (uint32_t)(int8_t)iop_fuzz_u8(in) / 64;
    uint32_t curfrag = iop_fuzz_u8(in) % 5;
    uint8_t flags = iop_fuzz_u8(in);
    struct iop_sw_xfer x = { .flags = flags, .sw_type = type, .sw_id = id, .swlen = swlen,
                             .maxfrag = maxfrag, .curfrag = curfrag };
    static uint8_t buf[IOP_SW_FRAG_SIZE];
    uint32_t want = iop_sw_frag_len(swlen, maxfrag, curfrag);
    int r;
    if (op == 0) {
        iop_fuzz_fill(in, buf, want);
        r = iop_swstore_download(f->s, &x, buf, want);
        struct model *m = model_find(f, type, id, r == 0 && curfrag == 1);
        if (r == 0 && m && curfrag >= 1 && (size_t)(m - f->model) < MODEL_MAX) {
            size_t slot = (size_t)(m - f->model);
            memcpy(f->staging[slot] + (size_t)(curfrag - 1) * IOP_SW_FRAG_SIZE, buf, want);
            if (curfrag == maxfrag) { /* complete: this is the module now */
                free(m->bytes);
                m->bytes = malloc(swlen);
                if (m->bytes)
                    memcpy(m->bytes, f->staging[slot], swlen);
                m->size = swlen;
            }
        }
    } else if (op == 1) {
        uint32_t got = 0;
        r = iop_swstore_upload(f->s, &x, buf, sizeof(buf), &got);
        if (r == 0 && got != want && swlen != 0)
            return IOP_FUZZ_FAIL("swstore: upload returned %u bytes for a %u-byte fragment", got, want);
    } else {
        uint32_t real = 0;
        r = iop_swstore_remove(f->s, &x, &real);
        if (r == 0)
            model_forget(model_find(f, type, id, false));
    }
    if (r < 0 && r != -ENOMEM)
        return IOP_FUZZ_FAIL("swstore: op %u returned %d", op, r);
    if (r > 0 && !status_ok(r))
        return IOP_FUZZ_FAIL("swstore: op %u returned status 0x%x", op, r);
    return 0;
}

int iop_swstore_fuzz_one(const uint8_t *data, size_t len) {
    struct iop_fuzz_in in = iop_fuzz_in(data, len);
    struct fz *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    uint8_t limits = iop_fuzz_u8(&in);
    if (limits & 1)
        f->cfg.max_modules = 3;
    if (limits & 2) {
        f->cfg.max_module_size = 20000;
        f->cfg.max_total_size = 50000;
    }
    int r = 0;
    if (iop_fuzz_scratch_new(f->dir) < 0 || iop_state_dir_open(f->dir, &f->sd) < 0)
        goto out; /* no scratch space: nothing to test */
    put_files(f, &in);
    r = iop_swstore_new(f->sd, &f->cfg, &f->s);
    if (r < 0) {
        /* A newer iopd's index is refused on purpose (swstore.h); nothing else may be. */
        r = r == -ENOMEM || r == -EPROTONOSUPPORT ? 0 : IOP_FUZZ_FAIL("swstore: open failed with %d", r);
        goto out;
    }
    r = check_list(f);
    for (unsigned ops = 0; r == 0 && ops < MAX_OPS && !iop_fuzz_empty(&in); ops++) {
        uint8_t op = iop_fuzz_u8(&in) % 5;
        if (op <= 2)
            r = op_transfer(f, &in, op);
        else if (op == 3)
            r = iop_swstore_validate(f->s) < 0 ? IOP_FUZZ_FAIL("swstore: validate failed") : 0;
        else
            r = reopen(f);
        if (r == 0)
            r = check_list(f);
    }
    if (r == 0)
        r = reopen(f);
    if (r == 0)
        r = check_list(f);
out:
    iop_swstore_free(f->s);
    iop_state_dir_free(f->sd);
    if (f->dir[0])
        iop_fuzz_scratch_remove(f->dir);
    for (unsigned i = 0; i < MODEL_MAX; i++)
        free(f->model[i].bytes);
    free(f);
    return r;
}
