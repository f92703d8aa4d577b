#include "lib/util/fuzz-scratch.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *base_dir(void) {
    const char *env = getenv("IOPD_FUZZ_TMPDIR");
    if (env && *env)
        return env;
    struct stat st;
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
        return "/dev/shm";
    env = getenv("TMPDIR");
    return env && *env ? env : "/tmp";
}

int iop_fuzz_scratch_new(char *path) {
    int n = snprintf(path, IOP_FUZZ_SCRATCH_PATH_MAX, "%s/iopd-fuzz.XXXXXX", base_dir());
    if (n < 0 || n >= IOP_FUZZ_SCRATCH_PATH_MAX)
        return -ENAMETOOLONG;
    return mkdtemp(path) ? 0 : -errno;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

void iop_fuzz_scratch_remove(const char *path) {
    if (path && *path)
        nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
