/* Helpers for tests that work in a scratch directory and check what gets logged:
 * removing a tree, counting files by prefix (raw readdir, not lib/state), and a log
 * sink that counts warnings and keeps the last one. */
#pragma once

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util/log.h"

static int test_n_warnings;
static char test_last_warning[512];

static inline void test_capture_warnings(void *ctx, int level, const char *msg) {
    (void)ctx;
    if (level <= LOG_WARNING) {
        test_n_warnings++;
        snprintf(test_last_warning, sizeof(test_last_warning), "%s", msg);
    }
}

static inline void test_rm_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char p[768];
        if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >= (int)sizeof(p))
            continue;
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            test_rm_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* Entries in dir whose name starts with prefix; -1 if dir cannot be read. */
static inline int test_count_prefix(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    struct dirent *de;
    while ((de = readdir(d)))
        n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}
