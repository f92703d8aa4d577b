/* The simulated I2O IOPs: a system of up to MAX_I2O_CONTROLLERS controllers, each
 * addressed by its unit number as the ioctls' "iop" field is.  A controller has a
 * status block, a Hardware Resource Table (its bus adapters) and a Logical
 * Configuration Table (its devices, by TID).  Tables are encoded on demand in the
 * little-endian wire layout of <linux/i2o-dev.h> (tables.c); change indicators move
 * whenever a table changes, as the IOP's would. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/i2o-dev.h>

/* i2o_status_block.product_id is 24 bytes, not NUL-terminated when full. */
#define IOP_PRODUCT_ID_LEN 24
/* TIDs are 12 bits.  0 is the IOP's executive (ADAPTER_TID), 1 the host (HOST_TID). */
#define IOP_TID_EXECUTIVE 0x000u
#define IOP_TID_HOST 0x001u
#define IOP_TID_MAX 0xFFFu
/* A bound on the LCT so it always fits one ioctl reply (and the 16-bit table_size):
 * 3 + 9 * 1024 words = 36 KiB. */
#define IOP_MAX_DEVICES 1024u
#define IOP_MAX_ADAPTERS 64u
/* Inbound message frame size in 32-bit words (status block); limits I2OPASSTHRU. */
#define IOP_INBOUND_FRAME_WORDS 128u

struct iop_params;  /* lib/params: a device's parameter groups */
struct iop_scsi_lu; /* lib/scsi: a SCSI logical unit */
struct iop_swstore; /* lib/swstore: the IOP's software store */
struct iop_isa_path; /* isa-path.h: the DMA channel on the ISA bus adapter */
struct iop_state_dir; /* lib/state: the IOP's state directory */
struct iop_controller;

/* One HRT entry: a bus adapter of the IOP. */
struct iop_hrt_adapter {
    uint32_t adapter_id;
    uint16_t parent_tid; /* 12 bits */
    uint8_t state;       /* 4 bits */
    uint8_t bus_num;
    uint8_t bus_type;    /* I2O_BUS_* */
    uint8_t bus_info[8]; /* the union in i2o_hrt_entry, already little-endian */
};

struct iop_msg;
struct iop_device;

/* Devices whose messages are served by another layer (USB devices: lib/i2o/usbtids.c). */
struct iop_device_ops {
    /* Answer m (every function): a ReqStatus, or IOP_MSG_PENDING with m->done called
     * later (and m->cancel set).  Must not block. */
    int (*post)(void *ctx, struct iop_device *d, struct iop_msg *m);
};

/* One LCT entry: a device addressed by TID. */
struct iop_device {
    struct iop_controller *iop; /* borrowed back pointer */
    uint16_t tid;
    uint16_t class_id;   /* 12 bits, I2O_CLASS_* */
    uint8_t class_version; /* 4 bits */
    uint16_t vendor_id;
    uint32_t sub_class;
    uint16_t user_tid;   /* 12 bits; 0xFFF: unclaimed */
    uint16_t parent_tid; /* 12 bits */
    uint8_t bios_info;
    uint8_t identity_tag[8];
    uint32_t event_capabilities;
    uint32_t device_flags;
    uint32_t change_ind; /* the LCT change indicator when this entry last changed */
    /* Class specifics from the configuration. */
    uint32_t adapter_id;   /* bus adapter: the HRT entry it drives, 0 none */
    bool usb_bus;          /* bus adapter: USB devices appear below it */
    uint32_t blocks, block_size; /* block storage, SCSI peripheral: geometry */
    int blk_fd;            /* block storage: its medium (bsa.c), -1 until first used */
    bool scsi_port;        /* bus adapter: a SCSI bus port (channel scsi_bus) */
    uint8_t scsi_bus, scsi_target, scsi_lun; /* storage: the SCSI address (DPT 0x8000) */
    struct iop_scsi_lu *scsi; /* owned: the SCSI target behind this TID (dpt.c), or NULL */
    int jnl_fd;            /* block storage: its write journal (bsa-journal.h), -1: none */
    struct iop_params *params; /* owned: its groups once built (iop_device_params); NULL before */
    /* Groups built on first use (devparams.h): what they derive from beyond the fields
     * above, and the device's place in its system's list of built ones. */
    char *ident;           /* owned: configured vendor, product, description, revision, serial
                              strings, each NUL-terminated, in that order; NULL: defaults */
    bool params_lazy;      /* built on first use, dropped again while they hold nothing unsaved */
    bool params_dirty;     /* changes not saved yet (a flush is due, or saving failed): kept */
    bool params_save_failed; /* the last save failed (said once; the next good one says so) */
    struct iop_device *lru_prev, *lru_next;
    void *owner;         /* for the layer that created it (e.g. a USB device), borrowed */
    const struct iop_device_ops *ops; /* NULL: the IOP itself answers */
};

/* Hook through which a controller reports events (I2O EventIndicator words) to
 * whoever registered for them: the ctl layer's per-open-file queues. */
struct iop_event_hook {
    void (*raise)(void *ctx, unsigned unit, unsigned tid, uint32_t indicator, const void *data,
                  size_t len);
    void *ctx;
};

struct iop_controller {
    struct iop_system *sys;   /* borrowed back pointer */
    unsigned unit;            /* 0 .. MAX_I2O_CONTROLLERS-1 */
    char product_id[IOP_PRODUCT_ID_LEN + 1];
    /* false: the IOP never answers a message; every request that waits for a reply
     * fails as the kernel's post-wait does (ETIMEDOUT, or EAGAIN for UtilParams). */
    bool answers;
    uint16_t org_id;
    uint16_t iop_id;          /* 12 bits */
    uint8_t iop_state;        /* ADAPTER_STATE_* */
    uint8_t i2o_version;      /* 4 bits: 1 = I2O 1.5 */
    uint32_t hrt_change_ind;
    uint32_t lct_change_ind;
    struct iop_hrt_adapter adapter[IOP_MAX_ADAPTERS];
    unsigned n_adapters;
    struct iop_device **dev;  /* owned array of owned devices, sorted by TID */
    unsigned n_dev, cap_dev;
    unsigned n_validations;   /* ExecConfigValidate messages accepted */
    /* Persistent runtime state, owned by whoever keeps it across configuration
     * reloads (the daemon, per unit); NULL when there is none. */
    struct iop_swstore *sw;   /* borrowed */
    /* The store and iop_swstore_version() the executive's Driver Store groups show
     * (NULL, 0: none yet); they are rebuilt only when these differ (devparams.c). */
    const struct iop_swstore *store_mirrored;
    uint64_t store_version_mirrored;
    struct iop_isa_path *isa; /* borrowed: the ISA adapter's DMA data path */
    struct iop_state_dir *state; /* borrowed: where parameter changes persist */
};

/* Hook through which parameter changes ask to be saved later (devparams.h): without
 * one they are saved as they are made. */
struct iop_save_hook {
    void (*pending)(void *ctx); /* some device has unsaved changes: call
                                   iop_system_params_flush() soon */
    void *ctx;
};

struct iop_system {
    struct iop_controller *iop[MAX_I2O_CONTROLLERS]; /* owned; NULL: no IOP at that unit */
    struct iop_event_hook hook;
    struct iop_save_hook save_hook;
    /* Devices whose lazily built groups are in memory and clean, most recently used
     * first (devparams.c: at most IOP_PARAMS_CACHED). */
    struct iop_device *params_lru, *params_lru_tail;
    unsigned n_params_cached;
};

int iop_system_new(struct iop_system **ret);
struct iop_system *iop_system_free(struct iop_system *sys);
void iop_system_set_event_hook(struct iop_system *sys, const struct iop_event_hook *hook);

/* Create a controller at unit with its executive device (TID 0); -EINVAL out of
 * range, -EEXIST taken. */
int iop_system_add(struct iop_system *sys, unsigned unit, const char *product_id,
                   struct iop_controller **ret);
/* The controller at unit, or NULL (also for any out-of-range unit). */
struct iop_controller *iop_system_find(const struct iop_system *sys, uint64_t unit);

/* Devices.  add: -EEXIST for a used TID, -EINVAL for a TID over 12 bits, the host
 * TID, or a parent that does not exist; -ENOSPC past IOP_MAX_DEVICES.  Each add or
 * remove moves the LCT change indicator and raises the executive's LCT events. */
int iop_controller_add_device(struct iop_controller *c, const struct iop_device *tmpl,
                              struct iop_device **ret);
int iop_controller_remove_device(struct iop_controller *c, unsigned tid);
struct iop_device *iop_controller_find_device(const struct iop_controller *c, uint64_t tid);
/* A TID not yet used, from `from` upwards, or -ENOSPC. */
int iop_controller_free_tid(const struct iop_controller *c, unsigned from);
/* Mark an entry changed (moves both change indicators and raises the events). */
void iop_device_changed(struct iop_device *d);

int iop_controller_add_adapter(struct iop_controller *c, const struct iop_hrt_adapter *a);
/* The DMA channel of the controller's first ISA bus adapter that has one (kept in
 * i2o_isa_bus's reserved byte), or -ENOENT. */
int iop_controller_dma_channel(const struct iop_controller *c);

/* I/O buffers for data the IOP moves through its DMA channel (software store
 * fragments, block storage data): ISA memory the channel reaches without a bounce, as
 * an OSM allocates its buffers with GFP_DMA (isa-path.h).  NULL when the controller
 * has no DMA path, len is over the channel's 64K/128K block, or no such memory is
 * free: ordinary memory works too, the path bounces it.  The contents are stale:
 * clear what must not leak.  Free with iop_controller_dma_free (NULL is fine). */
void *iop_controller_dma_alloc(struct iop_controller *c, size_t len);
void iop_controller_dma_free(struct iop_controller *c, void *buf);
/* Does d's message data cross the IOP's DMA channel (block storage the IOP serves
 * itself, synchronously)?  Then its buffers are worth taking from the above. */
bool iop_device_dma_data(const struct iop_device *d);

/* Raise an event on a device of the controller (lib/ctl delivers it to the files
 * registered for it).  data may be NULL; at most I2O_EVT_DATA_SIZE bytes are kept. */
void iop_controller_raise(struct iop_controller *c, unsigned tid, uint32_t indicator,
                          const void *data, size_t len);

/* ExecConfigValidate: the current configuration is accepted and suspect software
 * modules become valid.  0, or -ETIMEDOUT when the IOP does not answer. */
int iop_controller_validate(struct iop_controller *c);

/* Wire encodings (tables.c).  Each returns the byte length; with buf == NULL or a
 * short cap it only computes the length (never writes past cap). */
size_t iop_controller_hrt(const struct iop_controller *c, void *buf, size_t cap);
size_t iop_controller_lct(const struct iop_controller *c, void *buf, size_t cap);
/* The 88-byte i2o_status_block. */
void iop_controller_status_block(const struct iop_controller *c, uint8_t out[88]);

struct iop_config;
/* Build the system a configuration describes. */
int iop_system_new_from_config(const struct iop_config *cfg, struct iop_system **ret);
