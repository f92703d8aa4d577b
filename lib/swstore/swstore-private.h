/* Internals shared by swstore.c (the protocol) and swstore-persist.c (files, loading). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/swstore/swstore.h"

struct iop_state_reader;
struct iop_state_writer;

/* File names (swstore.h describes the layout). */
#define SW_INDEX_NAME "swstore.idx"
#define SW_DATA_PREFIX "sw-"
#define SW_DATA_NAME_SIZE sizeof("sw-TT-IIIIIIII-GGGGGGGG.img")

/* The header in front of a module's bytes in its data file:
 *   0 4 magic "SWMD"   4 1 sw_type   5 1 DownloadFlags   6 2 reserved (0)
 *   8 4 sw_id          12 4 size                                         */
#define SW_MODULE_HEADER_SIZE 16u

struct sw_module {
    uint8_t sw_type;
    uint8_t flags;                 /* DownloadFlags */
    bool valid;
    uint32_t sw_id;
    uint32_t size;
    uint32_t gen;                  /* names the data file */
    struct iop_state_reader *data; /* owned: the verified data file, kept open */
};

struct sw_staged {
    bool used;
    uint8_t sw_type;
    uint8_t flags;
    uint32_t sw_id;
    uint32_t swlen;
    uint32_t maxfrag;
    uint32_t next;                 /* the curfrag expected next */
    uint32_t gen;
    uint64_t last_use;             /* iop_swstore.tick of its last fragment */
    struct iop_state_writer *w;    /* owned */
};

struct iop_swstore {
    struct iop_state_dir *dir;     /* borrowed */
    uint32_t max_module_size;
    uint32_t max_total_size;
    uint32_t max_modules;
    struct iop_swstore_mover mover;
    struct sw_module *mod;         /* owned, IOP_SWSTORE_MODULES_MAX slots, sorted by key */
    unsigned n_mod;
    struct sw_staged staged[IOP_SWSTORE_STAGED_MAX];
    uint32_t next_gen;             /* generation of the next data file */
    bool unlink_failed;            /* a replaced module's data file could not be removed */
    uint64_t tick;                 /* counts download calls, for least-recently-used */
    uint64_t version;              /* iop_swstore_version: bumped by every change of the list */
    uint8_t bounce[IOP_SW_FRAG_SIZE]; /* one fragment between the mover and the files */
};

void sw_data_name(char buf[SW_DATA_NAME_SIZE], uint8_t sw_type, uint32_t sw_id, uint32_t gen);
void sw_module_header(uint8_t h[SW_MODULE_HEADER_SIZE], uint8_t sw_type, uint8_t flags,
                      uint32_t sw_id, uint32_t size);

/* Index position of a key, or -1; *ins gets where it would be inserted. */
int sw_find(const struct iop_swstore *s, uint8_t sw_type, uint32_t sw_id, unsigned *ins);
/* Insert at the sorted position (the key must be absent, a slot free). */
void sw_insert(struct iop_swstore *s, const struct sw_module *m);
void sw_erase(struct iop_swstore *s, unsigned pos);

/* Write the index from the table, atomically.  0 or -errno. */
int sw_index_write(struct iop_swstore *s);
/* Load the data files and the index at open (swstore.h, "Persistence"). */
int sw_load(struct iop_swstore *s);
/* Unlink every data file of (sw_type, sw_id) older than gen, without a directory fsync.
 * 0 or -errno (the first failure). */
int sw_remove_older(struct iop_swstore *s, uint8_t sw_type, uint32_t sw_id, uint32_t gen);
