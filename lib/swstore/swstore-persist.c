/* The store's files: the index, the module data files, and loading them at open
 * (including cleanup of crash leftovers and rebuilding a lost index). */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/state/state.h"
#include "lib/swstore/swstore-private.h"
#include "lib/util/bytes.h"
#include "lib/util/cleanup.h"
#include "lib/util/log.h"

/* Index payload:
 *   0 4 magic "SWIX"  4 2 version (2)  6 2 entry size (16)  8 4 count  12 4 next generation
 *   then count entries of 16 bytes:
 *   0 1 sw_type  1 1 DownloadFlags  2 1 valid (0/1)  3 1 reserved (0)
 *   4 4 sw_id    8 4 size          12 4 generation
 * Version 1 (iopd before the data files became the list of modules) has the same layout
 * but listed every module: a data file it did not name was a leftover.  Version 2 says
 * which generations were validated; an iopd that knows only version 1 refuses to touch a
 * version-2 store rather than delete the modules its index does not name. */
#define IDX_HEADER_SIZE 16u
#define IDX_ENTRY_SIZE 16u
#define IDX_VERSION 2u
#define IDX_MAX_BYTES (IDX_HEADER_SIZE + IOP_SWSTORE_MODULES_MAX * IDX_ENTRY_SIZE)

static const char idx_magic[4] = { 'S', 'W', 'I', 'X' };
static const char mod_magic[4] = { 'S', 'W', 'M', 'D' };

void sw_data_name(char buf[SW_DATA_NAME_SIZE], uint8_t sw_type, uint32_t sw_id, uint32_t gen) {
    snprintf(buf, SW_DATA_NAME_SIZE, SW_DATA_PREFIX "%02x-%08x-%08x.img", sw_type, sw_id, gen);
}

void sw_module_header(uint8_t h[SW_MODULE_HEADER_SIZE], uint8_t sw_type, uint8_t flags,
                      uint32_t sw_id, uint32_t size) {
    memcpy(h, mod_magic, 4);
    h[4] = sw_type;
    h[5] = flags;
    iop_put_le16(h + 6, 0);
    iop_put_le32(h + 8, sw_id);
    iop_put_le32(h + 12, size);
}

static int key_cmp(uint8_t ta, uint32_t ia, uint8_t tb, uint32_t ib) {
    if (ta != tb)
        return ta < tb ? -1 : 1;
    return ia < ib ? -1 : ia > ib;
}

int sw_find(const struct iop_swstore *s, uint8_t sw_type, uint32_t sw_id, unsigned *ins) {
    unsigned lo = 0, hi = s->n_mod;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        int c = key_cmp(s->mod[mid].sw_type, s->mod[mid].sw_id, sw_type, sw_id);
        if (c == 0) {
            if (ins)
                *ins = mid;
            return (int)mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (ins)
        *ins = lo;
    return -1;
}

void sw_insert(struct iop_swstore *s, const struct sw_module *m) {
    unsigned at;
    int found = sw_find(s, m->sw_type, m->sw_id, &at);
    assert(found < 0 && s->n_mod < IOP_SWSTORE_MODULES_MAX);
    (void)found;
    memmove(&s->mod[at + 1], &s->mod[at], (s->n_mod - at) * sizeof(s->mod[0]));
    s->mod[at] = *m;
    s->n_mod++;
    s->version++;
}

void sw_erase(struct iop_swstore *s, unsigned pos) {
    assert(pos < s->n_mod);
    memmove(&s->mod[pos], &s->mod[pos + 1], (s->n_mod - pos - 1) * sizeof(s->mod[0]));
    s->n_mod--;
    s->version++;
}

int sw_index_write(struct iop_swstore *s) {
    size_t len = IDX_HEADER_SIZE + (size_t)s->n_mod * IDX_ENTRY_SIZE;
    _cleanup_free_ uint8_t *buf = calloc(1, len);
    if (!buf)
        return -ENOMEM;
    memcpy(buf, idx_magic, 4);
    iop_put_le16(buf + 4, IDX_VERSION);
    iop_put_le16(buf + 6, IDX_ENTRY_SIZE);
    iop_put_le32(buf + 8, s->n_mod);
    iop_put_le32(buf + 12, s->next_gen);
    for (unsigned i = 0; i < s->n_mod; i++) {
        uint8_t *e = buf + IDX_HEADER_SIZE + i * IDX_ENTRY_SIZE;
        const struct sw_module *m = &s->mod[i];
        e[0] = m->sw_type;
        e[1] = m->flags;
        e[2] = m->valid;
        iop_put_le32(e + 4, m->sw_id);
        iop_put_le32(e + 8, m->size);
        iop_put_le32(e + 12, m->gen);
    }
    return iop_state_write_atomic(s->dir, SW_INDEX_NAME, buf, len);
}

/* One data file found in the directory. */
struct sw_file {
    const char *name; /* borrowed from the listing */
    uint8_t sw_type;
    uint32_t sw_id;
    uint32_t gen;
    bool used;        /* holds a loaded module */
    bool reported;    /* found damaged and reported already */
};

static bool parse_hex(const char *p, unsigned digits, uint32_t *ret) {
    uint32_t v = 0;
    for (unsigned i = 0; i < digits; i++) {
        char c = p[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return false;
        v = v << 4 | d;
    }
    *ret = v;
    return true;
}

/* "sw-TT-IIIIIIII-GGGGGGGG.img", exactly as sw_data_name() writes it. */
static bool parse_data_name(const char *name, struct sw_file *f) {
    uint32_t t;
    if (strlen(name) != SW_DATA_NAME_SIZE - 1 || strncmp(name, SW_DATA_PREFIX, 3) != 0 ||
        name[5] != '-' || name[14] != '-' || strcmp(name + 23, ".img") != 0 ||
        !parse_hex(name + 3, 2, &t) || !parse_hex(name + 6, 8, &f->sw_id) ||
        !parse_hex(name + 15, 8, &f->gen))
        return false;
    f->sw_type = (uint8_t)t;
    f->name = name;
    return true;
}

/* Open and verify a data file for a module of the given key, generation and (unless 0:
 * unknown, recovering) size.  On success the module, suspect; -EBADMSG if the file is
 * intact as a state file but not the module expected. */
static int module_open(struct iop_swstore *s, uint8_t sw_type, uint32_t sw_id, uint32_t gen,
                       uint32_t size, struct sw_module *ret) {
    char name[SW_DATA_NAME_SIZE];
    sw_data_name(name, sw_type, sw_id, gen);
    struct iop_state_reader *rd = NULL;
    uint64_t max = SW_MODULE_HEADER_SIZE + (uint64_t)(size ? size : IOP_SWSTORE_MODULE_SIZE_MAX);
    int r = iop_state_reader_open(s->dir, name, max, &rd);
    if (r < 0)
        return r;
    uint8_t h[SW_MODULE_HEADER_SIZE];
    uint64_t len = iop_state_reader_length(rd);
    r = iop_state_reader_pread(rd, 0, h, sizeof(h));
    if (r < 0) {
        iop_state_reader_free(rd);
        return r;
    }
    uint32_t hsize = iop_get_le32(h + 12);
    if (r != (int)sizeof(h) || memcmp(h, mod_magic, 4) != 0 || h[4] != sw_type ||
        iop_get_le16(h + 6) != 0 || iop_get_le32(h + 8) != sw_id || hsize == 0 ||
        hsize > IOP_SWSTORE_MODULE_SIZE_MAX || len != SW_MODULE_HEADER_SIZE + (uint64_t)hsize ||
        (size && hsize != size)) {
        iop_state_reader_free(rd);
        return iop_log_errno(LOG_WARNING, -EBADMSG,
                             "swstore: %s does not hold the module its name and the index say",
                             name);
    }
    *ret = (struct sw_module){ .sw_type = sw_type, .flags = h[5], .sw_id = sw_id,
                               .size = hsize, .gen = gen, .data = rd };
    return 0;
}

/* The index, parsed: which generations were validated. */
struct sw_index {
    unsigned version; /* 0: none usable */
    uint32_t next_gen;
    uint32_t count;
    const uint8_t *entries; /* count * IDX_ENTRY_SIZE bytes, checked */
};

/* Check an index payload.  -EBADMSG: not a usable index (logged); -EPROTONOSUPPORT:
 * written by a newer iopd. */
static int index_parse(const uint8_t *buf, size_t len, struct sw_index *ret) {
    if (len < IDX_HEADER_SIZE || memcmp(buf, idx_magic, 4) != 0)
        return iop_log_errno(LOG_WARNING, -EBADMSG, "swstore: " SW_INDEX_NAME " is not an index");
    unsigned version = iop_get_le16(buf + 4);
    if (version > IDX_VERSION)
        return iop_log_errno(LOG_ERR, -EPROTONOSUPPORT,
                             "swstore: " SW_INDEX_NAME " has version %u, newer than %u; "
                             "refusing to touch a newer iopd's store", version, IDX_VERSION);
    uint32_t count = iop_get_le32(buf + 8);
    if (version == 0 || iop_get_le16(buf + 6) != IDX_ENTRY_SIZE ||
        count > IOP_SWSTORE_MODULES_MAX || len != IDX_HEADER_SIZE + (size_t)count * IDX_ENTRY_SIZE)
        return iop_log_errno(LOG_WARNING, -EBADMSG, "swstore: " SW_INDEX_NAME " is malformed");
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = buf + IDX_HEADER_SIZE + i * IDX_ENTRY_SIZE;
        uint32_t size = iop_get_le32(e + 8);
        bool dup = false;
        for (uint32_t j = 0; j < i; j++) {
            const uint8_t *o = buf + IDX_HEADER_SIZE + j * IDX_ENTRY_SIZE;
            dup = dup || (o[0] == e[0] && iop_get_le32(o + 4) == iop_get_le32(e + 4));
        }
        if (!iop_sw_type_known(e[0]) || e[2] > 1 || e[3] != 0 || size == 0 ||
            size > IOP_SWSTORE_MODULE_SIZE_MAX || dup)
            return iop_log_errno(LOG_WARNING, -EBADMSG,
                                 "swstore: " SW_INDEX_NAME " entry %u is invalid", i);
    }
    *ret = (struct sw_index){ .version = version, .next_gen = iop_get_le32(buf + 12),
                              .count = count, .entries = buf + IDX_HEADER_SIZE };
    return 0;
}

/* The index's entry for exactly this data file, or NULL. */
static const uint8_t *index_entry(const struct sw_index *idx, const struct sw_file *f) {
    for (uint32_t i = 0; i < idx->count; i++) {
        const uint8_t *e = idx->entries + i * IDX_ENTRY_SIZE;
        if (e[0] == f->sw_type && iop_get_le32(e + 4) == f->sw_id &&
            iop_get_le32(e + 12) == f->gen)
            return e;
    }
    return NULL;
}

static int file_cmp(const void *a, const void *b) {
    const struct sw_file *x = a, *y = b;
    int c = key_cmp(x->sw_type, x->sw_id, y->sw_type, y->sw_id);
    if (c)
        return c;
    return x->gen > y->gen ? -1 : x->gen < y->gen; /* newest first */
}

/* Every module is its newest intact data file; it is valid if the index names that very
 * generation as validated.  A version-1 index listed every module, so there a file it
 * does not name is not a module (a leftover of a removal or an unanswered download). */
static int adopt_modules(struct iop_swstore *s, struct sw_file *files, size_t n_files,
                         const struct sw_index *idx) {
    qsort(files, n_files, sizeof(files[0]), file_cmp);
    for (size_t i = 0; i < n_files; i++) {
        struct sw_file *f = &files[i];
        if (sw_find(s, f->sw_type, f->sw_id, NULL) >= 0 || !iop_sw_type_known(f->sw_type))
            continue;
        const uint8_t *e = index_entry(idx, f);
        if (idx->version == 1 && !e)
            continue;
        if (s->n_mod >= IOP_SWSTORE_MODULES_MAX) {
            iop_warn("swstore: more than %u modules on disk; %s ignored",
                     IOP_SWSTORE_MODULES_MAX, f->name);
            continue;
        }
        struct sw_module m;
        /* The file's own header is the truth; an entry that disagrees with it (size,
         * flags) is not its validation. */
        int r = module_open(s, f->sw_type, f->sw_id, f->gen, 0, &m);
        if (r == -ENOMEM || r == -ECANCELED)
            return r;
        if (r < 0) {
            f->reported = true;
            iop_warn("swstore: data file %s is damaged; skipped", f->name);
            continue;
        }
        m.valid = e && e[2] && e[1] == m.flags && iop_get_le32(e + 8) == m.size;
        f->used = true;
        sw_insert(s, &m);
    }
    return 0;
}

/* Files no module uses: intact ones are leftovers of a replacement, a removal or an
 * interrupted download and go; damaged ones are never deleted by iopd, only reported. */
static int remove_leftovers(struct iop_swstore *s, struct sw_file *files, size_t n_files) {
    for (size_t i = 0; i < n_files; i++) {
        struct sw_file *f = &files[i];
        if (f->used)
            continue;
        if (!f->reported) {
            struct sw_module m;
            int r = module_open(s, f->sw_type, f->sw_id, f->gen, 0, &m);
            if (r == -ENOMEM || r == -ECANCELED)
                return r;
            if (r == 0) {
                iop_state_reader_free(m.data);
                r = iop_state_remove(s->dir, f->name);
                if (r == -ECANCELED)
                    return r;
                if (r < 0)
                    iop_warn("swstore: cannot remove leftover %s: %s", f->name, strerror(-r));
                else
                    iop_notice("swstore: removed leftover data file %s", f->name);
                continue;
            }
        }
        iop_warn("swstore: damaged data file %s left in place; remove it by hand", f->name);
    }
    return 0;
}

/* The data files in the directory.  With more names than lib/state lists, only the
 * generations the index names (what was validated) can be found. */
static int list_files(struct iop_swstore *s, const struct sw_index *idx, char ***ret_names,
                      struct sw_file **ret_files, size_t *ret_n) {
    char **names = NULL;
    int r = iop_state_list(s->dir, SW_DATA_PREFIX, &names);
    if (r == -E2BIG) {
        iop_warn("swstore: too many files in the state directory; only the modules "
                 SW_INDEX_NAME " names are loaded, modules downloaded since the last "
                 "validation and leftovers are not looked for");
        names = calloc(idx->count + 1, sizeof(*names));
        if (!names)
            return -ENOMEM;
        for (uint32_t i = 0; i < idx->count; i++) {
            const uint8_t *e = idx->entries + i * IDX_ENTRY_SIZE;
            if (!(names[i] = malloc(SW_DATA_NAME_SIZE))) {
                iop_state_names_free(names);
                return -ENOMEM;
            }
            sw_data_name(names[i], e[0], iop_get_le32(e + 4), iop_get_le32(e + 12));
        }
    } else if (r < 0) {
        return iop_log_errno(LOG_ERR, r, "swstore: cannot list the state directory: %s",
                             strerror(-r));
    }
    size_t n_names = 0;
    while (names && names[n_names])
        n_names++;
    struct sw_file *files = calloc(n_names + 1, sizeof(*files));
    if (!files) {
        iop_state_names_free(names);
        return -ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < n_names; i++)
        if (parse_data_name(names[i], &files[n]))
            n++;
    *ret_names = names;
    *ret_files = files;
    *ret_n = n;
    return 0;
}

int sw_load(struct iop_swstore *s) {
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len = 0;
    struct sw_index idx = { 0 };
    bool rewrite = false;
    int r = iop_state_read(s->dir, SW_INDEX_NAME, (void **)&buf, &len, IDX_MAX_BYTES);
    if (r == 0)
        r = index_parse(buf, len, &idx);
    if (r == -EPROTONOSUPPORT || r == -ENOMEM || r == -ECANCELED)
        return r;
    if (r == -EBADMSG || r == -EFBIG) {
        iop_warn("swstore: " SW_INDEX_NAME " is damaged; every module found is suspect until "
                 "validated");
        rewrite = true;
    } else if (r < 0 && r != -ENOENT) {
        return iop_log_errno(LOG_ERR, r, "swstore: cannot read " SW_INDEX_NAME ": %s",
                             strerror(-r));
    }
    rewrite = rewrite || idx.version == 1;

    char **names = NULL;
    struct sw_file *files = NULL;
    size_t n_files = 0;
    if ((r = list_files(s, &idx, &names, &files, &n_files)) < 0)
        return r;
    /* Generations only grow: above every file and every entry the index has, so a new
     * download never takes the name of a validated generation that was removed. */
    s->next_gen = IOP_MAX(1u, idx.next_gen);
    for (size_t i = 0; i < n_files; i++)
        s->next_gen = IOP_MAX(s->next_gen, files[i].gen + 1);
    for (uint32_t i = 0; i < idx.count; i++)
        s->next_gen = IOP_MAX(s->next_gen, iop_get_le32(idx.entries + i * IDX_ENTRY_SIZE + 12) + 1);

    if ((r = adopt_modules(s, files, n_files, &idx)) < 0 ||
        (r = remove_leftovers(s, files, n_files)) < 0)
        goto out;
    if (rewrite && (r = sw_index_write(s)) < 0) {
        if (r == -ECANCELED)
            goto out;
        iop_warn("swstore: cannot rewrite " SW_INDEX_NAME ": %s", strerror(-r));
        r = 0;
    }
out:
    free(files);
    iop_state_names_free(names);
    return r;
}

int sw_remove_older(struct iop_swstore *s, uint8_t sw_type, uint32_t sw_id, uint32_t gen) {
    char **names = NULL;
    int r = iop_state_list(s->dir, SW_DATA_PREFIX, &names);
    if (r < 0)
        return r;
    for (size_t i = 0; names[i] && r >= 0; i++) {
        struct sw_file f;
        if (parse_data_name(names[i], &f) && f.sw_type == sw_type && f.sw_id == sw_id &&
            f.gen < gen)
            r = iop_state_remove_unsynced(s->dir, names[i]);
    }
    iop_state_names_free(names);
    return r < 0 ? r : 0;
}
