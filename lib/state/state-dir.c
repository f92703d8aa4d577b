#include "lib/state/state.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/state/state-private.h"
#include "lib/util/cleanup.h"
#include "lib/util/log.h"

const char *iop_state_step_name(enum iop_state_step step) {
    switch (step) {
    case IOP_STATE_STEP_TEMP_CREATED: return "temp-created";
    case IOP_STATE_STEP_TEMP_DATA: return "temp-data";
    case IOP_STATE_STEP_TEMP_WRITTEN: return "temp-written";
    case IOP_STATE_STEP_TEMP_SYNCED: return "temp-synced";
    case IOP_STATE_STEP_RENAMED: return "renamed";
    case IOP_STATE_STEP_UNLINKED: return "unlinked";
    case IOP_STATE_STEP_DIR_SYNCED: return "dir-synced";
    }
    return "?";
}

int iop_state_name_valid(const char *name) {
    if (!name || !name[0] || name[0] == '.')
        return -EINVAL;
    size_t n = strnlen(name, IOP_STATE_NAME_MAX + 1);
    if (n > IOP_STATE_NAME_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return -EINVAL;
    }
    return 0;
}

int state_step(struct iop_state_dir *d, enum iop_state_step step, const char *name) {
    if (d->crashed)
        return -ECANCELED;
    if (d->crash_fn && d->crash_fn(d->crash_opaque, step, name)) {
        d->crashed = true;
        iop_debug("state: simulated crash after %s of %s", iop_state_step_name(step), name);
        return -ECANCELED;
    }
    return 0;
}

void state_sync_dir(struct iop_state_dir *d, const char *name) {
    if (fsync(d->fd) < 0)
        iop_err("state: fsync of the directory after changing %s failed: %s; the change "
                "is made but may not survive a power loss", name, strerror(errno));
}

/* A crash between creating a temporary file and renaming it leaves it behind; nobody
 * else writes here (we hold the flock), so every one found at open is garbage. */
static int remove_leftovers(struct iop_state_dir *d) {
    int fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *dir = fdopendir(fd);
    if (!dir) {
        int r = -errno;
        close(fd);
        return r;
    }
    unsigned removed = 0;
    struct dirent *de;
    while ((errno = 0, de = readdir(dir))) {
        if (strncmp(de->d_name, STATE_TMP_PREFIX, strlen(STATE_TMP_PREFIX)) != 0)
            continue;
        if (unlinkat(d->fd, de->d_name, 0) < 0) {
            iop_warn("state: cannot remove leftover temporary file %s: %s", de->d_name,
                     strerror(errno));
            continue;
        }
        iop_notice("state: removed leftover temporary file %s (interrupted write)", de->d_name);
        removed++;
    }
    int r = errno ? -errno : 0;
    closedir(dir);
    if (removed)
        state_sync_dir(d, "leftover temporary files");
    return r;
}

int iop_state_dir_open_at(int dirfd, const char *path, struct iop_state_dir **ret) {
    assert(ret);
    if (!path || !path[0])
        return -EINVAL;
    if (mkdirat(dirfd, path, 0700) < 0 && errno != EEXIST)
        return iop_log_errno(LOG_ERR, -errno, "state: cannot create %s: %s", path,
                             strerror(errno));
    _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return iop_log_errno(LOG_ERR, -errno, "state: cannot open %s: %s", path,
                             strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            return iop_log_errno(LOG_ERR, -EBUSY, "state: %s is in use by another owner",
                                 path);
        return -errno;
    }
    struct iop_state_dir *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->fd = TAKE_FD(fd);
    int r = remove_leftovers(d);
    if (r < 0) {
        iop_state_dir_free(d);
        return iop_log_errno(LOG_ERR, r, "state: cannot scan %s: %s", path, strerror(-r));
    }
    *ret = d;
    return 0;
}

int iop_state_dir_open(const char *path, struct iop_state_dir **ret) {
    return iop_state_dir_open_at(AT_FDCWD, path, ret);
}

struct iop_state_dir *iop_state_dir_free(struct iop_state_dir *d) {
    if (!d)
        return NULL;
    assert(d->n_writers == 0);
    if (d->fd >= 0)
        close(d->fd);
    free(d);
    return NULL;
}

void iop_state_dir_set_crash_hook(struct iop_state_dir *d, iop_state_crash_fn fn, void *opaque) {
    assert(d);
    d->crash_fn = fn;
    d->crash_opaque = fn ? opaque : NULL;
}

bool iop_state_dir_crashed(const struct iop_state_dir *d) {
    assert(d);
    return d->crashed;
}

int iop_state_remove_unsynced(struct iop_state_dir *d, const char *name) {
    assert(d);
    if (d->crashed)
        return -ECANCELED;
    if (iop_state_name_valid(name) < 0)
        return -EINVAL;
    if (unlinkat(d->fd, name, 0) < 0)
        return -errno;
    return state_step(d, IOP_STATE_STEP_UNLINKED, name);
}

int iop_state_remove(struct iop_state_dir *d, const char *name) {
    int r = iop_state_remove_unsynced(d, name);
    if (r < 0)
        return r;
    state_sync_dir(d, name);
    return state_step(d, IOP_STATE_STEP_DIR_SYNCED, name);
}

char **iop_state_names_free(char **names) {
    if (!names)
        return NULL;
    for (char **p = names; *p; p++)
        free(*p);
    free(names);
    return NULL;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_regular(int dirfd, const struct dirent *de) {
    if (de->d_type == DT_REG)
        return true;
    if (de->d_type != DT_UNKNOWN)
        return false;
    struct stat st;
    return fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

int iop_state_list(struct iop_state_dir *d, const char *prefix, char ***ret) {
    assert(d && ret);
    if (d->crashed)
        return -ECANCELED;
    if (!prefix)
        prefix = "";
    size_t plen = strlen(prefix);
    int fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *dir = fdopendir(fd);
    if (!dir) {
        int r = -errno;
        close(fd);
        return r;
    }
    char **names = calloc(1, sizeof(char *));
    size_t n = 0;
    int r = names ? 0 : -ENOMEM;
    struct dirent *de;
    while (r == 0 && (errno = 0, de = readdir(dir))) {
        if (strncmp(de->d_name, prefix, plen) != 0 || iop_state_name_valid(de->d_name) < 0 ||
            !is_regular(d->fd, de))
            continue;
        if (n >= IOP_STATE_LIST_MAX) {
            r = -E2BIG;
            break;
        }
        char **grown = realloc(names, (n + 2) * sizeof(char *));
        if (!grown) {
            r = -ENOMEM;
            break;
        }
        names = grown;
        if (!(names[n] = strdup(de->d_name))) {
            r = -ENOMEM;
            break;
        }
        names[++n] = NULL;
    }
    if (r == 0 && errno)
        r = -errno;
    closedir(dir);
    if (r < 0) {
        iop_state_names_free(names);
        return r;
    }
    qsort(names, n, sizeof(char *), cmp_names);
    *ret = names;
    return (int)n;
}

int iop_state_open_raw(struct iop_state_dir *d, const char *name, int flags, int mode) {
    assert(d && name);
    if (d->crashed)
        return -ECANCELED;
    if (iop_state_name_valid(name) < 0)
        return -EINVAL;
    /* O_NONBLOCK: a FIFO planted under the name must not hang the daemon in open(); and
     * only a regular file is a medium (pread/pwrite on anything else misbehave). */
    int fd = openat(d->fd, name, flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, mode);
    if (fd < 0)
        return errno == ELOOP ? iop_log_errno(LOG_WARNING, -EBADMSG, "%s: is a symbolic link", name) : -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return iop_log_errno(LOG_WARNING, -EBADMSG, "%s: not a regular file", name);
    }
    if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    return fd;
}
