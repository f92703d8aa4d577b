/* The software store's protocol: ExecSwDownload / ExecSwUpload / ExecSwRemove /
 * ExecConfigValidate as a simulated IOP answers them (swstore.h has the rules). */
#include "lib/swstore/swstore.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/i2o-dev.h>

#include "lib/state/state.h"
#include "lib/swstore/swstore-private.h"
#include "lib/util/cleanup.h"
#include "lib/util/log.h"

const char *iop_sw_status_name(int status) {
    switch (status) {
    case IOP_SW_STATUS_SUCCESS: return "SUCCESS";
    case IOP_SW_STATUS_ABORT_DIRTY: return "ABORT_DIRTY";
    case IOP_SW_STATUS_ABORT_NO_DATA_TRANSFER: return "ABORT_NO_DATA_TRANSFER";
    case IOP_SW_STATUS_ABORT_PARTIAL_TRANSFER: return "ABORT_PARTIAL_TRANSFER";
    case IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER: return "ERROR_NO_DATA_TRANSFER";
    case IOP_SW_STATUS_ERROR_PARTIAL_TRANSFER: return "ERROR_PARTIAL_TRANSFER";
    case IOP_SW_STATUS_PROCESS_ABORT_NO_DATA_TRANSFER: return "PROCESS_ABORT_NO_DATA_TRANSFER";
    case IOP_SW_STATUS_TRANSACTION_ERROR: return "TRANSACTION_ERROR";
    }
    return "?";
}

bool iop_sw_type_known(uint8_t sw_type) {
    switch (sw_type) {
    case 0x01: /* DDM */
    case 0x02: /* DDM_MPB */
    case 0x03: /* DDM_CONFIG_TABLE */
    case I2O_SOFTWARE_MODULE_IRTOS:       /* 0x11 */
    case 0x12: /* IRTOS_PRIVATE_MODULE */
    case 0x13: /* IRTOS_DIALOG_TABLE */
    case I2O_SOFTWARE_MODULE_IOP_PRIVATE: /* 0x22 */
    case I2O_SOFTWARE_MODULE_IOP_CONFIG:  /* 0x23, IOP_DIALOG_TABLE in the I2O headers */
        return true;
    }
    return false;
}

static uint32_t frag_count(uint32_t swlen) {
    return swlen / IOP_SW_FRAG_SIZE + (swlen % IOP_SW_FRAG_SIZE != 0);
}

uint32_t iop_sw_frag_len(uint32_t swlen, uint32_t maxfrag, uint32_t curfrag) {
    if (swlen == 0 || maxfrag != frag_count(swlen) || curfrag == 0 || curfrag > maxfrag)
        return 0;
    if (curfrag < maxfrag)
        return IOP_SW_FRAG_SIZE;
    return swlen - (maxfrag - 1) * IOP_SW_FRAG_SIZE;
}

/* Log a refusal where it is decided and return the status. */
static int refuse(int status, const char *what, const struct iop_sw_xfer *x, const char *why) {
    iop_info("swstore: %s of %02x/%08x fragment %u/%u (swlen %u) refused with %s: %s", what,
             x->sw_type, x->sw_id, x->curfrag, x->maxfrag, x->swlen, iop_sw_status_name(status),
             why);
    return status;
}

/* The IOP's own storage failed: host-side conditions stay errnos, the rest is the IOP
 * aborting the request. */
static int storage_failed(const char *what, const struct iop_sw_xfer *x, int r) {
    if (r == -ENOMEM || r == -ECANCELED)
        return r;
    iop_err("swstore: %s of %02x/%08x failed in the store: %s", what, x->sw_type, x->sw_id,
            strerror(-r));
    return IOP_SW_STATUS_PROCESS_ABORT_NO_DATA_TRANSFER;
}

static int move(struct iop_swstore *s, bool to_iop, void *dst, const void *src, size_t n) {
    if (!s->mover.move) {
        memcpy(dst, src, n);
        return (int)n;
    }
    int r = s->mover.move(s->mover.opaque, to_iop, dst, src, n);
    return r > (int)n ? -EIO : r; /* a mover claiming more than asked is broken */
}

static struct sw_staged *staged_find(struct iop_swstore *s, uint8_t sw_type, uint32_t sw_id) {
    for (unsigned i = 0; i < IOP_SWSTORE_STAGED_MAX; i++)
        if (s->staged[i].used && s->staged[i].sw_type == sw_type && s->staged[i].sw_id == sw_id)
            return &s->staged[i];
    return NULL;
}

static void staged_drop(struct sw_staged *st) {
    iop_state_writer_free(st->w);
    *st = (struct sw_staged){ 0 };
}

/* Room for a new download of x: stored plus in progress, with a module of the same key
 * counted as replaced and its download in progress (restarted) as dropped. */
static const char *over_capacity(const struct iop_swstore *s, const struct iop_sw_xfer *x,
                                 const struct sw_staged *restarted) {
    int pos = sw_find(s, x->sw_type, x->sw_id, NULL);
    uint64_t total = x->swlen;
    unsigned count = s->n_mod + (pos < 0);
    for (unsigned i = 0; i < s->n_mod; i++)
        total += s->mod[i].size;
    if (pos >= 0)
        total -= s->mod[pos].size;
    for (unsigned i = 0; i < IOP_SWSTORE_STAGED_MAX; i++) {
        const struct sw_staged *st = &s->staged[i];
        if (!st->used || st == restarted)
            continue;
        total += st->swlen;
        count += sw_find(s, st->sw_type, st->sw_id, NULL) < 0;
    }
    if (count > s->max_modules)
        return "the store holds its maximum number of modules";
    if (total > s->max_total_size)
        return "the store is full";
    return NULL;
}

/* A slot for a new download: a free one, or the one idle longest. */
static struct sw_staged *staged_slot(struct iop_swstore *s) {
    struct sw_staged *lru = &s->staged[0];
    for (unsigned i = 0; i < IOP_SWSTORE_STAGED_MAX; i++) {
        if (!s->staged[i].used)
            return &s->staged[i];
        if (s->staged[i].last_use < lru->last_use)
            lru = &s->staged[i];
    }
    iop_notice("swstore: download of %02x/%08x abandoned after fragment %u/%u: %u downloads "
               "at once at most, it was idle longest", lru->sw_type, lru->sw_id, lru->next - 1,
               lru->maxfrag, IOP_SWSTORE_STAGED_MAX);
    staged_drop(lru);
    return lru;
}

static int staged_start(struct iop_swstore *s, const struct iop_sw_xfer *x,
                        struct sw_staged **ret) {
    if (s->next_gen == UINT32_MAX)
        return -EOVERFLOW; /* four billion downloads into one store */
    struct sw_staged *st = staged_slot(s);
    char name[SW_DATA_NAME_SIZE];
    uint32_t gen = s->next_gen++;
    sw_data_name(name, x->sw_type, x->sw_id, gen);
    struct iop_state_writer *w = NULL;
    int r = iop_state_writer_new(s->dir, name, SW_MODULE_HEADER_SIZE + (uint64_t)x->swlen, &w);
    if (r < 0)
        return r;
    uint8_t h[SW_MODULE_HEADER_SIZE];
    sw_module_header(h, x->sw_type, x->flags, x->sw_id, x->swlen);
    if ((r = iop_state_writer_write(w, h, sizeof(h))) < 0) {
        iop_state_writer_free(w);
        return r;
    }
    *st = (struct sw_staged){ .used = true, .sw_type = x->sw_type, .flags = x->flags,
                              .sw_id = x->sw_id, .swlen = x->swlen, .maxfrag = x->maxfrag,
                              .next = 1, .gen = gen, .w = w };
    *ret = st;
    return 0;
}

/* The last fragment (n bytes of data) is in: committing the data file with it makes the
 * module durable and visible (the directory is the list of modules), then the version
 * it replaces goes. */
static int staged_finish(struct iop_swstore *s, struct sw_staged *st, const struct iop_sw_xfer *x,
                         const void *data, size_t n) {
    struct iop_state_reader *rd = NULL;
    int r = iop_state_writer_commit_with(st->w, data, n, &rd);
    struct sw_module m = { .sw_type = st->sw_type, .flags = st->flags, .sw_id = st->sw_id,
                           .size = st->swlen, .gen = st->gen, .data = rd };
    staged_drop(st);
    if (r < 0)
        return storage_failed("download", x, r);

    int pos = sw_find(s, m.sw_type, m.sw_id, NULL);
    struct sw_module old = { 0 };
    if (pos >= 0) {
        old = s->mod[pos];
        s->mod[pos] = m;
        s->version++;
    } else {
        sw_insert(s, &m);
    }
    iop_info("swstore: module %02x/%08x stored (%u bytes, DownloadFlags 0x%02x), suspect until "
             "validated%s", m.sw_type, m.sw_id, m.size, m.flags, pos >= 0 ? "; replaced the old one" : "");
    if (pos >= 0) {
        iop_state_reader_free(old.data);
        char name[SW_DATA_NAME_SIZE];
        sw_data_name(name, old.sw_type, old.sw_id, old.gen);
        /* No directory fsync for it: should a crash bring the file back, the newer
         * generation beside it makes it a leftover, which the next start removes. */
        r = iop_state_remove_unsynced(s->dir, name);
        if (r == -ECANCELED)
            return r;
        if (r < 0) {
            /* A removal of this module must take it too (iop_swstore_remove). */
            s->unlink_failed = true;
            iop_warn("swstore: cannot remove the replaced %s (removed at the next start): %s",
                     name, strerror(-r));
        }
    }
    return 0;
}

int iop_swstore_download(struct iop_swstore *s, const struct iop_sw_xfer *x, const void *data,
                         size_t n) {
    assert(s);
    if (!x || (n > 0 && !data))
        return -EINVAL;
    if (iop_state_dir_crashed(s->dir))
        return -ECANCELED;
    s->tick++;
    if (!iop_sw_type_known(x->sw_type))
        return refuse(IOP_SW_STATUS_TRANSACTION_ERROR, "download", x, "unknown software type");
    if (x->swlen == 0)
        return refuse(IOP_SW_STATUS_TRANSACTION_ERROR, "download", x, "zero-length module");
    if (x->swlen > s->max_module_size)
        return refuse(IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER, "download", x,
                      "larger than the largest module the store accepts");
    uint32_t want = iop_sw_frag_len(x->swlen, x->maxfrag, x->curfrag);
    if (want == 0)
        return refuse(IOP_SW_STATUS_TRANSACTION_ERROR, "download", x,
                      "maxfrag or curfrag inconsistent with swlen");
    if (n != want)
        return refuse(IOP_SW_STATUS_TRANSACTION_ERROR, "download", x,
                      "fragment length differs from what swlen implies");

    /* Refusals first, then the data, and only then any change of state, so that every
     * refusal but a broken sequence leaves everything as it was. */
    struct sw_staged *st = staged_find(s, x->sw_type, x->sw_id);
    if (x->curfrag == 1) {
        const char *why = over_capacity(s, x, st);
        if (why)
            return refuse(IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER, "download", x, why);
    } else if (!st) {
        return refuse(IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER, "download", x,
                      "no download of this module in progress (start at fragment 1)");
    } else if (st->swlen != x->swlen || st->flags != x->flags || x->curfrag != st->next) {
        const char *why = x->curfrag != st->next ? "fragment out of order or repeated"
                                                 : "swlen or DownloadFlags changed";
        staged_drop(st);
        return refuse(IOP_SW_STATUS_ERROR_PARTIAL_TRANSFER, "download", x, why);
    }

    int m = move(s, true, s->bounce, data, n);
    if (m < 0)
        return refuse(IOP_SW_STATUS_ABORT_NO_DATA_TRANSFER, "download", x, "data mover failed");
    if ((size_t)m < n)
        return refuse(IOP_SW_STATUS_ABORT_PARTIAL_TRANSFER, "download", x,
                      "data mover moved part of the fragment");

    int r;
    if (x->curfrag == 1) {
        if (st) {
            iop_notice("swstore: download of %02x/%08x restarted at fragment 1 (was at %u/%u)",
                       x->sw_type, x->sw_id, st->next - 1, st->maxfrag);
            staged_drop(st);
        }
        if ((r = staged_start(s, x, &st)) < 0)
            return storage_failed("download", x, r);
    }
    if (x->curfrag == x->maxfrag)
        return staged_finish(s, st, x, s->bounce, n);
    if ((r = iop_state_writer_write(st->w, s->bounce, n)) < 0) {
        staged_drop(st);
        return storage_failed("download", x, r);
    }
    st->next++;
    st->last_use = s->tick;
    return 0;
}

int iop_swstore_upload(struct iop_swstore *s, const struct iop_sw_xfer *x, void *buf,
                       size_t cap, uint32_t *ret_len) {
    assert(s);
    if (!x || !buf || !ret_len)
        return -EINVAL;
    *ret_len = 0;
    if (!iop_sw_type_known(x->sw_type))
        return refuse(IOP_SW_STATUS_TRANSACTION_ERROR, "upload", x, "unknown software type");
    int pos = sw_find(s, x->sw_type, x->sw_id, NULL);
    if (pos < 0)
        return refuse(IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER, "upload", x, "no such module");
    const struct sw_module *mod = &s->mod[pos];
    if (x->swlen != 0 && x->swlen != mod->size)
        return refuse(IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER, "upload", x,
                      "swlen does not match the stored module");
    uint32_t len = iop_sw_frag_len(mod->size, x->maxfrag, x->curfrag);
    if (len == 0)
        return refuse(IOP_SW_STATUS_TRANSACTION_ERROR, "upload", x,
                      "maxfrag or curfrag inconsistent with the module's size");
    if (cap < len)
        return -EINVAL;
    uint64_t off = SW_MODULE_HEADER_SIZE + (uint64_t)(x->curfrag - 1) * IOP_SW_FRAG_SIZE;
    int r = iop_state_reader_pread(mod->data, off, s->bounce, len);
    if (r != (int)len)
        return storage_failed("upload", x, r < 0 ? r : -EIO);
    int m = move(s, false, buf, s->bounce, len);
    if (m < 0)
        return refuse(IOP_SW_STATUS_ABORT_DIRTY, "upload", x, "data mover failed");
    *ret_len = (uint32_t)m;
    if ((uint32_t)m < len)
        return refuse(IOP_SW_STATUS_ABORT_PARTIAL_TRANSFER, "upload", x,
                      "data mover moved part of the fragment");
    return 0;
}

int iop_swstore_remove(struct iop_swstore *s, const struct iop_sw_xfer *x, uint32_t *ret_size) {
    assert(s);
    if (!x)
        return -EINVAL;
    if (ret_size)
        *ret_size = 0;
    if (iop_state_dir_crashed(s->dir))
        return -ECANCELED;
    if (!iop_sw_type_known(x->sw_type))
        return refuse(IOP_SW_STATUS_TRANSACTION_ERROR, "remove", x, "unknown software type");
    int pos = sw_find(s, x->sw_type, x->sw_id, NULL);
    if (pos < 0)
        return refuse(IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER, "remove", x, "no such module");
    struct sw_module old = s->mod[pos];
    if (ret_size)
        *ret_size = old.size;
    if (x->swlen != 0 && x->swlen != old.size)
        return refuse(IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER, "remove", x,
                      "swlen does not match the stored module");
    /* Removing the data file removes the module; the directory fsync makes that durable
     * and with it the unlinks of the module's older generations (replaced without a
     * directory fsync), which would otherwise come back as the module after a crash. */
    char name[SW_DATA_NAME_SIZE];
    int r = 0;
    if (s->unlink_failed)
        r = sw_remove_older(s, old.sw_type, old.sw_id, old.gen);
    if (r >= 0) {
        sw_data_name(name, old.sw_type, old.sw_id, old.gen);
        r = iop_state_remove(s->dir, name);
        if (r == -ENOENT) /* removed by hand: the module is gone all the same */
            r = 0;
    }
    if (r < 0)
        return storage_failed("remove", x, r);
    sw_erase(s, (unsigned)pos);
    iop_state_reader_free(old.data);
    iop_info("swstore: module %02x/%08x (%u bytes) removed", old.sw_type, old.sw_id, old.size);
    return 0;
}

int iop_swstore_validate(struct iop_swstore *s) {
    assert(s);
    bool changed[IOP_SWSTORE_MODULES_MAX];
    int n = 0;
    for (unsigned i = 0; i < s->n_mod; i++) {
        changed[i] = !s->mod[i].valid;
        s->mod[i].valid = true;
        n += changed[i];
    }
    if (n == 0)
        return 0;
    s->version++; /* whether or not the index takes it, the flags were touched */
    int r = sw_index_write(s);
    if (r < 0) {
        for (unsigned i = 0; i < s->n_mod; i++)
            if (changed[i])
                s->mod[i].valid = false;
        return iop_log_errno(LOG_ERR, r, "swstore: validation not recorded: %s", strerror(-r));
    }
    iop_info("swstore: %d suspect module%s now valid", n, n == 1 ? "" : "s");
    return n;
}

static void module_info(const struct sw_module *m, struct iop_sw_module_info *ret) {
    *ret = (struct iop_sw_module_info){ .sw_type = m->sw_type, .download_flags = m->flags,
                                        .valid = m->valid, .sw_id = m->sw_id, .size = m->size };
}

uint64_t iop_swstore_version(const struct iop_swstore *s) {
    assert(s);
    return s->version;
}

int iop_swstore_list(const struct iop_swstore *s, struct iop_sw_module_info *out, size_t n) {
    assert(s);
    for (unsigned i = 0; out && i < s->n_mod && i < n; i++)
        module_info(&s->mod[i], &out[i]);
    return (int)s->n_mod;
}

int iop_swstore_find(const struct iop_swstore *s, uint8_t sw_type, uint32_t sw_id,
                     struct iop_sw_module_info *ret) {
    assert(s);
    int pos = sw_find(s, sw_type, sw_id, NULL);
    if (pos < 0)
        return -ENOENT;
    if (ret)
        module_info(&s->mod[pos], ret);
    return 0;
}

unsigned iop_swstore_staged_count(const struct iop_swstore *s) {
    assert(s);
    unsigned n = 0;
    for (unsigned i = 0; i < IOP_SWSTORE_STAGED_MAX; i++)
        n += s->staged[i].used;
    return n;
}

static int limit(uint32_t v, uint32_t def, uint32_t max, uint32_t *ret) {
    if (v > max)
        return -EINVAL;
    *ret = v ? v : def;
    return 0;
}

int iop_swstore_new(struct iop_state_dir *dir, const struct iop_swstore_config *cfg,
                    struct iop_swstore **ret) {
    assert(dir && ret);
    static const struct iop_swstore_config defaults = { 0 };
    if (!cfg)
        cfg = &defaults;
    _cleanup_free_ struct iop_swstore *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->dir = dir;
    s->mover = cfg->mover;
    s->version = 1;
    if (limit(cfg->max_module_size, IOP_SWSTORE_MODULE_SIZE_DEFAULT, IOP_SWSTORE_MODULE_SIZE_MAX,
              &s->max_module_size) < 0 ||
        limit(cfg->max_total_size, IOP_SWSTORE_TOTAL_SIZE_DEFAULT, IOP_SWSTORE_TOTAL_SIZE_MAX,
              &s->max_total_size) < 0 ||
        limit(cfg->max_modules, IOP_SWSTORE_MODULES_DEFAULT, IOP_SWSTORE_MODULES_MAX,
              &s->max_modules) < 0)
        return -EINVAL;
    if (!(s->mod = calloc(IOP_SWSTORE_MODULES_MAX, sizeof(s->mod[0]))))
        return -ENOMEM;
    int r = sw_load(s);
    if (r < 0) {
        iop_swstore_free(TAKE_PTR(s));
        return r;
    }
    iop_info("swstore: %u module%s loaded", s->n_mod, s->n_mod == 1 ? "" : "s");
    *ret = TAKE_PTR(s);
    return 0;
}

struct iop_swstore *iop_swstore_free(struct iop_swstore *s) {
    if (!s)
        return NULL;
    for (unsigned i = 0; i < IOP_SWSTORE_STAGED_MAX; i++)
        if (s->staged[i].used)
            staged_drop(&s->staged[i]);
    for (unsigned i = 0; s->mod && i < s->n_mod; i++)
        iop_state_reader_free(s->mod[i].data);
    free(s->mod);
    free(s);
    return NULL;
}
