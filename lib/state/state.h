/* Crash-safe state files in one directory.
 *
 * Every file is replaced as a whole: the new content goes to a temporary file in the
 * same directory, which is fsync()ed, rename()d over the target, and then the directory
 * is fsync()ed.  rename() within one file system is atomic, so a process killed at any
 * instant leaves the old or the new content under the name, never a mix; the two
 * fsyncs extend that to a power loss (the data is on disk before the name points at it,
 * and the new name is on disk before the call returns).
 *
 * On-disk format of every state file (little-endian; 32-byte header, then the payload):
 *
 *     off size
 *       0    8  magic "iopdstat"
 *       8    2  format version, 1
 *      10    2  header size, 32
 *      12    4  CRC-32 (lib/util/crc32.h) of the payload
 *      16    8  payload length in bytes; the file is exactly 32 + this long
 *      24    4  reserved, 0
 *      28    4  CRC-32 of bytes 0..27
 *
 * A file damaged some other way (truncated by a full disk, edited, bit rot) fails one of
 * these checks and is reported (-EBADMSG, logged with the reason), never returned as
 * data.  A newer format version is -EPROTONOSUPPORT.
 *
 * Temporary files are named ".tmp.<name>.<n>"; they are invisible to readers and to
 * iop_state_list(), and the next iop_state_dir_open() removes any a crash left behind.
 * Names are chosen by iopd, not by clients: 1..IOP_STATE_NAME_MAX characters from
 * [A-Za-z0-9._-], not starting with '.' (reserved for temporary files), so never "..".
 *
 * One iop_state_dir per directory at a time: open takes a non-blocking exclusive flock()
 * on the directory (-EBUSY if another object or another iopd holds it), because open
 * deletes temporary files another owner could still be writing.
 *
 * Durability costs an fsync per write, done synchronously on the caller's thread; a
 * 16 MiB module takes that long to reach the disk once, at the end of its download.
 *
 * Crash simulation (tests): a hook in the directory object is asked at each step of
 * every write and removal (IOP_STATE_STEP_*) whether the "process" dies there.  When it
 * says yes, the operation stops on the spot, exactly as if the process had been killed:
 * files stay as they are (temporary file included), and the directory object is dead
 * from then on: every later call on it or on its writers returns -ECANCELED and
 * freeing it cleans nothing up.  The test then frees everything and opens the directory
 * again, as a restarted daemon would.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest file name: ours are short ("swstore.idx", "sw-11-00000000-00000001.img");
 * the bound keeps ".tmp.<name>.<n>" far below NAME_MAX (255). */
#define IOP_STATE_NAME_MAX 64u
/* Largest payload any state file may have, whatever a caller asks for: the biggest
 * thing iopd stores is one software module (16 MiB by default, at most 64 MiB). */
#define IOP_STATE_SIZE_MAX (256ull << 20)
/* At most this many names from iop_state_list(): iopd keeps tens of files per
 * directory; a directory holding more is not ours to walk. */
#define IOP_STATE_LIST_MAX 4096u
/* Largest single iop_state_reader_pread(), so the byte count fits the int result. */
#define IOP_STATE_PREAD_MAX (1u << 20)

#define IOP_STATE_HEADER_SIZE 32u
#define IOP_STATE_VERSION 1u

struct iop_state_dir;
struct iop_state_writer;
struct iop_state_reader;

/* The points where a simulated crash can stop an operation, in the order they occur. */
enum iop_state_step {
    IOP_STATE_STEP_TEMP_CREATED, /* the temporary file exists (empty) */
    IOP_STATE_STEP_TEMP_DATA,    /* after each chunk given to the writer (small ones may still
                                  * be held back: the file is garbage until committed) */
    IOP_STATE_STEP_TEMP_WRITTEN, /* all data and the final header written, not synced */
    IOP_STATE_STEP_TEMP_SYNCED,  /* the temporary file is fsync()ed */
    IOP_STATE_STEP_RENAMED,      /* the temporary file replaced the target */
    IOP_STATE_STEP_UNLINKED,     /* iop_state_remove(): the name is gone */
    IOP_STATE_STEP_DIR_SYNCED,   /* the directory is fsync()ed: the operation is complete */
};

/* Return true to "crash" right after step, on the file called name (the target name,
 * not the temporary one).  Must not call back into the directory. */
typedef bool (*iop_state_crash_fn)(void *opaque, enum iop_state_step step, const char *name);

const char *iop_state_step_name(enum iop_state_step step);

/* Open the directory path (relative to dirfd, which may be AT_FDCWD), creating it with
 * mode 0700 if missing (only the last component; the parent must exist).  Removes
 * leftover temporary files.  -ENOTDIR, -EBUSY (held by another owner), -errno. */
int iop_state_dir_open_at(int dirfd, const char *path, struct iop_state_dir **ret);
int iop_state_dir_open(const char *path, struct iop_state_dir **ret);
/* Every writer must be freed before its directory.  NULL is fine. */
struct iop_state_dir *iop_state_dir_free(struct iop_state_dir *d);

/* Open (O_CREAT allowed) a plain data file in the directory that is not a state file:
 * for contents with their own semantics, such as a simulated disk image (written in
 * place, block by block, as a disk is).  name follows iop_state_name_valid().  Returns
 * the fd (O_CLOEXEC) or -errno; -EBADMSG when the name is a symbolic link or anything
 * but a regular file (a FIFO there never blocks the open). */
int iop_state_open_raw(struct iop_state_dir *d, const char *name, int flags, int mode);

/* Install (fn non-NULL) or remove the crash-simulation hook. */
void iop_state_dir_set_crash_hook(struct iop_state_dir *d, iop_state_crash_fn fn, void *opaque);
/* True once a simulated crash has happened. */
bool iop_state_dir_crashed(const struct iop_state_dir *d);

/* 0 if name is a valid state file name (rules above), -EINVAL otherwise. */
int iop_state_name_valid(const char *name);

/* Replace name with len bytes of data, atomically and durably.  -EINVAL bad name,
 * -EFBIG len > IOP_STATE_SIZE_MAX, -ECANCELED simulated crash, -errno (ENOSPC, EIO...). */
int iop_state_write_atomic(struct iop_state_dir *d, const char *name, const void *data,
                           size_t len);

/* Read the whole payload of name into a malloc'ed buffer (*ret_buf, NUL-terminated one
 * byte past *ret_len for the convenience of text users; NULL-safe to free).  Files longer
 * than max_len are refused before anything is allocated.  -ENOENT missing, -EFBIG over
 * max_len, -EBADMSG damaged, -EPROTONOSUPPORT newer format, -EINVAL bad name, -errno. */
int iop_state_read(struct iop_state_dir *d, const char *name, void **ret_buf, size_t *ret_len,
                   size_t max_len);

/* Remove name: unlink, then fsync the directory.  -ENOENT if it does not exist. */
int iop_state_remove(struct iop_state_dir *d, const char *name);
/* Unlink name without syncing the directory: after a crash the file may be back.  Only
 * for a file nothing durable refers to any more, which the next start removes as a
 * leftover (a software module's old data file once the index without it is durable):
 * its coming back is not a state of its own, and no caller waits for the removal. */
int iop_state_remove_unsynced(struct iop_state_dir *d, const char *name);

/* The valid state file names starting with prefix ("" for all), sorted, as a
 * NULL-terminated malloc'ed array (free with iop_state_names_free()).  Returns the count;
 * -E2BIG if more than IOP_STATE_LIST_MAX match. */
int iop_state_list(struct iop_state_dir *d, const char *prefix, char ***ret);
char **iop_state_names_free(char **names);

/* Streaming write, for content too large to hold in memory at once (software images):
 * new -> write ... -> commit, or free at any point to abandon (the temporary file is
 * removed; the target keeps its old content).  At most max_len payload bytes
 * (<= IOP_STATE_SIZE_MAX): a write going beyond is -EFBIG and changes nothing. */
int iop_state_writer_new(struct iop_state_dir *d, const char *name, uint64_t max_len,
                         struct iop_state_writer **ret);
int iop_state_writer_write(struct iop_state_writer *w, const void *data, size_t n);
uint64_t iop_state_writer_length(const struct iop_state_writer *w);
/* Finish: header, fsync, rename, directory fsync.  After commit (successful or not) the
 * writer accepts nothing more and only needs freeing.  On success, if ret_reader is not
 * NULL, it receives a reader on the committed content (same file, no re-verification:
 * this writer produced it). */
int iop_state_writer_commit(struct iop_state_writer *w, struct iop_state_reader **ret_reader);
/* iop_state_writer_write(w, tail, n) and then commit, in fewer system calls: a file
 * whose payload was all written by small writes or comes with the tail is one write. */
int iop_state_writer_commit_with(struct iop_state_writer *w, const void *tail, size_t n,
                                 struct iop_state_reader **ret_reader);
/* Abandon (if not committed) and free.  NULL is fine. */
struct iop_state_writer *iop_state_writer_free(struct iop_state_writer *w);

/* Random access to one state file without loading it: open verifies the header and the
 * CRC of the whole payload (streamed through a small buffer) and refuses payloads over
 * max_len (errors as iop_state_read()).  The reader keeps the file open, so it keeps
 * reading the content it verified even if the name is replaced or removed later; it
 * does not depend on the directory object after open. */
int iop_state_reader_open(struct iop_state_dir *d, const char *name, uint64_t max_len,
                          struct iop_state_reader **ret);
uint64_t iop_state_reader_length(const struct iop_state_reader *r);
/* Copy up to n (<= IOP_STATE_PREAD_MAX) payload bytes from offset off; returns the count,
 * short only at the end of the payload (0 at or past it).  -EIO if the file shrank. */
int iop_state_reader_pread(struct iop_state_reader *r, uint64_t off, void *buf, size_t n);
struct iop_state_reader *iop_state_reader_free(struct iop_state_reader *r);
