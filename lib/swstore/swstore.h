/* The simulated IOP's software store: modules keyed by (sw_type, sw_id), downloaded,
 * uploaded and removed in 8 KiB fragments as I2OSWDL / I2OSWUL / I2OSWDEL carried them
 * (i2o-abi.md 5.4-5.7; ExecSwDownload/Upload/Remove, I2O 1.5 chapter 4), and validated by
 * ExecConfigValidate (I2OVALIDATE).
 *
 * Results.  The download, upload and remove calls return
 *     0     the IOP accepted the request (ReqStatus SUCCESS);
 *     > 0   the IOP refused it: an I2O ReqStatus (IOP_SW_STATUS_*), which the ioctl layer
 *           returns as the ioctl's value, as the kernel did for I2OSWDL/I2OSWUL (for
 *           I2OSWDEL the kernel turned every non-OK reply into ETIMEDOUT);
 *     < 0   a host-side failure, as a negative errno: -EINVAL (NULL pointers, a buffer
 *           too small: caller bugs), -ENOMEM, -ECANCELED (a simulated crash in lib/state:
 *           the test must free the store as if the process had died).
 *
 * Which status for which refusal (the closest I2O 1.5 Table 3-1 reply status):
 *     TRANSACTION_ERROR (0x0B)      the message itself is invalid: unknown sw_type,
 *                                   swlen 0, maxfrag != ceil(swlen / 8192), curfrag 0 or
 *                                   > maxfrag, fragment length not what swlen implies.
 *                                   Nothing changes.
 *     ERROR_NO_DATA_TRANSFER (0x05) valid but not possible, nothing changed: over the
 *                                   module size / store size / module count limits; a
 *                                   fragment > 1 with no download of that module in
 *                                   progress; upload or remove of a module not in the
 *                                   store, or with a swlen that does not match it.
 *     ERROR_PARTIAL_TRANSFER (0x06) sequence broken in a download in progress: a
 *                                   fragment out of order or repeated, or swlen or
 *                                   DownloadFlags changed; the partial download is
 *                                   discarded (start again at curfrag 1).
 *     ABORT_NO_DATA_TRANSFER (0x02) the data mover failed before moving anything on a
 *                                   download; nothing changed, the same fragment can be
 *                                   sent again.
 *     ABORT_PARTIAL_TRANSFER (0x03) the data mover moved only part of a fragment (an
 *                                   aborted DMA); nothing stored for a download (resend);
 *                                   the caller's buffer holds a partial upload fragment.
 *     ABORT_DIRTY (0x01)            the data mover failed on an upload: the caller's
 *                                   buffer may hold anything.
 *     PROCESS_ABORT_NO_DATA_TRANSFER (0x09)
 *                                   the IOP's own storage failed (lib/state I/O error);
 *                                   the stored modules are unchanged and a download in
 *                                   progress for that module is discarded.
 *
 * Fragments.  Every fragment is IOP_SW_FRAG_SIZE (8192) bytes except the last, which is
 * swlen - (maxfrag - 1) * 8192; maxfrag = ceil(swlen / 8192); swlen, maxfrag and the
 * DownloadFlags are the same in every fragment.  The store takes the caller's full 32-bit
 * *maxfrag / *curfrag values.  The kernel read them into unsigned chars, because
 * ExecSwDownload's TotalFragments / CurrentFragment are 8-bit: for modules of up to 255
 * fragments (2 088 960 bytes) that changes nothing; larger modules could not cross the
 * kernel at all (its fragment size came from the wrapped count), while iopd moves them
 * correctly, up to the configured maximum (16 MiB by default).
 *
 * Downloads.  Fragments go straight to a lib/state streaming write of a new data file;
 * only when the last one arrives is the file committed (fsync, rename, directory fsync),
 * which makes the module durable and visible at once, so a crash at any point leaves the
 * old module (or none), never a torn one, and a download in progress is lost with the
 * process (its next fragment gets ERROR_NO_DATA_TRANSFER).
 * A fragment 1 always (re)starts the download of its module, discarding one in progress.
 * Up to IOP_SWSTORE_STAGED_MAX modules can be in progress at once (clients downloading
 * different modules do not disturb each other); a new download beyond that discards the
 * one that has been idle longest.  A completed download replaces the module of the same
 * (sw_type, sw_id) at once (the old version is not kept until validation) and is
 * "suspect" until the next validate makes it "valid".
 *
 * Software types (sw_type): the eight of ExecSwDownload's SwType table in the I2O 1.5
 * headers are accepted -- DDM 0x01, DDM_MPB 0x02, DDM_CONFIG_TABLE 0x03, IRTOS 0x11,
 * IRTOS_PRIVATE_MODULE 0x12, IRTOS_DIALOG_TABLE 0x13, IOP_PRIVATE_MODULE 0x22,
 * IOP_DIALOG_TABLE 0x23 (<linux/i2o-dev.h> names 0x11, 0x22, 0x23 IRTOS, IOP_PRIVATE and
 * IOP_CONFIG) -- and any other value is refused (TRANSACTION_ERROR), as the spec lets an
 * IOP reject types it does not know.  sw_id (ModuleID | OrganizationID << 16) is opaque.
 *
 * Uploads.  Fragment curfrag of the stored module, 8192 bytes or the shorter last one.
 * swlen 0 means "size unknown" (the document calls swlen optional for uploads); any other
 * value must equal the stored size.  maxfrag must equal the stored module's fragment
 * count.  Fragments may be read in any order (the kernel document asks callers for order;
 * an IOP serving reads needs no sequence state).
 *
 * Removal.  swlen 0 = unknown, otherwise it must equal the stored size (the IOP uses it
 * to check it identified the right module); RemoveFlags are ignored.  The real size is
 * reported whenever the module exists, for the ioctl layer to write back to *swlen as the
 * document promises (the kernel never did).
 *
 * Persistence (the state directory is the store's, or shared with files whose names do
 * not start with "sw").  The data files are the list of modules: each module's bytes are
 * in "sw-TT-IIIIIIII-GGGGGGGG.img" (type, id, generation in hex; generations only grow),
 * written once and never modified, with a 16-byte header of its own (magic "SWMD", type,
 * DownloadFlags, id, size); a module is the newest intact generation of its key.
 * "swstore.idx" says which generations were validated (type, id, size, DownloadFlags,
 * valid, generation): a module is valid when the index names that very generation as
 * valid, suspect otherwise.  So a download commits one file and writes no index; a
 * replacement then unlinks the old generation without a directory fsync (should a crash
 * bring it back, the newer one beside it makes it a leftover); a removal unlinks the data
 * file and fsyncs the directory, which also makes the replaced generations' unlinks
 * durable (if one of those unlinks failed, the removal first takes every older
 * generation of the module); validate rewrites only the small index.  At open, intact
 * older generations are leftovers and are removed; a damaged data file is reported and skipped (and left in place for
 * inspection); a missing or damaged index makes every module suspect (whether they had
 * been validated is lost) and is rewritten.  An index of version 1 (iopd before this
 * layout) listed every module: the files it does not name are leftovers, and it is
 * rewritten as version 2, which such an iopd refuses to touch.
 *
 * Data movement.  Every copy of fragment bytes into the store (download) or out of it
 * (upload) goes through an optional mover (iopd routes it through the simulated ISA DMA
 * channel); without one it is memcpy.  Storage I/O is lib/state's, synchronous.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iop_state_dir;
struct iop_swstore;

/* i2o_config.c: "fragsize = 8192" for every fragment but the last. */
#define IOP_SW_FRAG_SIZE 8192u

/* Defaults and hard ceilings of the configurable limits.  Modules are firmware images
 * of a few MiB; the ceiling on one module bounds the synchronous fsync at the end of a
 * download, the ceilings on the totals bound disk use and the open readers (one fd per
 * module). */
#define IOP_SWSTORE_MODULE_SIZE_DEFAULT (16u << 20)
#define IOP_SWSTORE_MODULE_SIZE_MAX (64u << 20)
#define IOP_SWSTORE_TOTAL_SIZE_DEFAULT (64u << 20)
#define IOP_SWSTORE_TOTAL_SIZE_MAX (1024u << 20)
#define IOP_SWSTORE_MODULES_DEFAULT 32u
#define IOP_SWSTORE_MODULES_MAX 256u
/* Downloads in progress at once (each holds an open temporary file). */
#define IOP_SWSTORE_STAGED_MAX 4u

/* I2O ReqStatus values (I2O 1.5 Table 3-1 "Reply Status Codes") the store answers with.
 * If lib/i2o grows a shared table of reply statuses, these belong there. */
enum iop_sw_status {
    IOP_SW_STATUS_SUCCESS = 0x00,
    IOP_SW_STATUS_ABORT_DIRTY = 0x01,
    IOP_SW_STATUS_ABORT_NO_DATA_TRANSFER = 0x02,
    IOP_SW_STATUS_ABORT_PARTIAL_TRANSFER = 0x03,
    IOP_SW_STATUS_ERROR_NO_DATA_TRANSFER = 0x05,
    IOP_SW_STATUS_ERROR_PARTIAL_TRANSFER = 0x06,
    IOP_SW_STATUS_PROCESS_ABORT_NO_DATA_TRANSFER = 0x09,
    IOP_SW_STATUS_TRANSACTION_ERROR = 0x0B,
};

/* The name of a status ("ERROR_NO_DATA_TRANSFER"), or "?" for other values. */
const char *iop_sw_status_name(int status);

/* True for the software types the store accepts (see above). */
bool iop_sw_type_known(uint8_t sw_type);

/* The fields of struct i2o_sw_xfer the store uses, with *swlen, *maxfrag and *curfrag
 * already read from the caller. */
struct iop_sw_xfer {
    uint8_t flags;    /* DownloadFlags / UploadFlags / RemoveFlags */
    uint8_t sw_type;
    uint32_t sw_id;
    uint32_t swlen;   /* total module size */
    uint32_t maxfrag; /* fragment count */
    uint32_t curfrag; /* this fragment, 1-based */
};

/* The length of fragment curfrag of a swlen-byte module sent as maxfrag fragments:
 * IOP_SW_FRAG_SIZE, or the remainder for the last one, exactly as the kernel computed it
 * when the values are consistent (swlen >= 1, maxfrag == ceil(swlen / 8192),
 * 1 <= curfrag <= maxfrag).  0 when they are not: then the ioctl layer fetches nothing
 * and the store refuses the fragment (TRANSACTION_ERROR). */
uint32_t iop_sw_frag_len(uint32_t swlen, uint32_t maxfrag, uint32_t curfrag);

/* Moves n (<= IOP_SW_FRAG_SIZE) bytes from src to dst, as the IOP's DMA engine would:
 * to_iop is true for a download (host memory to the IOP: the 8237's read transfer),
 * false for an upload.  Returns the number of bytes moved (n on success; fewer: the
 * transfer was aborted) or a negative errno.  Must not call back into the store. */
struct iop_swstore_mover {
    int (*move)(void *opaque, bool to_iop, void *dst, const void *src, size_t n);
    void *opaque; /* borrowed */
};

struct iop_swstore_config {
    uint32_t max_module_size; /* 0: default; at most IOP_SWSTORE_MODULE_SIZE_MAX */
    uint32_t max_total_size;  /* stored + in progress; 0: default; <= ..._TOTAL_SIZE_MAX */
    uint32_t max_modules;     /* stored + in progress; 0: default; <= ..._MODULES_MAX */
    struct iop_swstore_mover mover; /* move == NULL: memcpy */
};

/* One stored module, for the Executive "IOP Software Modules" group and iopctl. */
struct iop_sw_module_info {
    uint8_t sw_type;
    uint8_t download_flags; /* the DownloadFlags byte of its first fragment */
    bool valid;             /* false: suspect (downloaded, not validated yet) */
    uint32_t sw_id;
    uint32_t size;
};

/* Open the store kept in dir (borrowed; it must outlive the store) and load what is
 * there (damaged files are reported and skipped, never fatal).  cfg may be NULL for the
 * defaults.  -EINVAL for limits above the ceilings, -ENOMEM, -ECANCELED,
 * -EPROTONOSUPPORT when the index was written by a newer iopd (its store is not
 * touched), or the directory's -errno when it cannot be listed. */
int iop_swstore_new(struct iop_state_dir *dir, const struct iop_swstore_config *cfg,
                    struct iop_swstore **ret);
/* Downloads in progress are abandoned (their temporary files removed, unless a crash was
 * simulated).  NULL is fine. */
struct iop_swstore *iop_swstore_free(struct iop_swstore *s);

/* I2OSWDL: one fragment of n bytes at data.  Status as above. */
int iop_swstore_download(struct iop_swstore *s, const struct iop_sw_xfer *x, const void *data,
                         size_t n);

/* I2OSWUL: fragment x->curfrag into buf (cap >= its length, -EINVAL otherwise;
 * IOP_SW_FRAG_SIZE always suffices); its length in *ret_len.  x->flags is ignored. */
int iop_swstore_upload(struct iop_swstore *s, const struct iop_sw_xfer *x, void *buf,
                       size_t cap, uint32_t *ret_len);

/* I2OSWDEL: remove (x->sw_type, x->sw_id) if x->swlen is 0 or its size.  *ret_size (may
 * be NULL) gets the module's real size whenever it exists, refused or not. */
int iop_swstore_remove(struct iop_swstore *s, const struct iop_sw_xfer *x, uint32_t *ret_size);

/* ExecConfigValidate: every suspect module becomes valid.  Returns how many changed, or
 * a negative errno when the index could not be written (nothing changed then; the ioctl
 * layer reports any failure as ETIMEDOUT, as the kernel did). */
int iop_swstore_validate(struct iop_swstore *s);

/* The stored modules, sorted by (sw_type, sw_id): fills out[0 .. min(n, count) - 1] and
 * returns the count (out may be NULL when n is 0). */
int iop_swstore_list(const struct iop_swstore *s, struct iop_sw_module_info *out, size_t n);
/* Changes whenever the list above does (a module stored, replaced, removed or
 * validated): a mirror of it, such as the executive's Driver Store groups, is
 * current while this is what it was built from.  Never 0. */
uint64_t iop_swstore_version(const struct iop_swstore *s);
/* One module: 0, or -ENOENT. */
int iop_swstore_find(const struct iop_swstore *s, uint8_t sw_type, uint32_t sw_id,
                     struct iop_sw_module_info *ret);
/* Downloads in progress (for reporting). */
unsigned iop_swstore_staged_count(const struct iop_swstore *s);
