/* A scratch directory per fuzz input, for entry points that exercise code working on
 * files (state files, the software store, the ioctl dispatcher's persistence).
 *
 * Created below $IOPD_FUZZ_TMPDIR, else /dev/shm (a tmpfs: fsync costs nothing), else
 * $TMPDIR, else /tmp; removed with everything in it.  Stateless: every call makes a new
 * directory, so inputs do not see each other's files. */
#pragma once

#include <stddef.h>

#define IOP_FUZZ_SCRATCH_PATH_MAX 256

/* Create a fresh empty directory; its path in path[IOP_FUZZ_SCRATCH_PATH_MAX].  0 or
 * -errno. */
int iop_fuzz_scratch_new(char *path);
/* Remove path and everything below it (symbolic links are not followed). */
void iop_fuzz_scratch_remove(const char *path);
