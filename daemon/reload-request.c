#include "daemon/reload-request.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/signalfd.h>
#include <time.h>

#include "lib/util/log.h"

/* How often the requester checks that the daemon still exists while it waits. */
#define POLL_MS 250

int iopd_reload_request(pid_t pid, int timeout_ms) {
    if (pid <= 1)
        return -EINVAL; /* never init, a process group or "all processes" */
    sigset_t answer, old;
    sigemptyset(&answer);
    sigaddset(&answer, IOPD_RELOAD_ANSWER);
    /* Blocked before the request goes out, so the answer cannot be missed. */
    if (sigprocmask(SIG_BLOCK, &answer, &old) < 0)
        return -errno;
    int r;
    if (sigqueue(pid, SIGHUP, (union sigval){ .sival_int = IOPD_RELOAD_COOKIE }) < 0) {
        r = -errno;
        goto out;
    }
    r = -ETIMEDOUT;
    for (int waited = 0; waited < timeout_ms; waited += POLL_MS) {
        siginfo_t si;
        const struct timespec slice = { .tv_sec = 0, .tv_nsec = POLL_MS * 1000000L };
        int s = sigtimedwait(&answer, &si, &slice);
        if (s == IOPD_RELOAD_ANSWER && si.si_code == SI_QUEUE && si.si_pid == pid) {
            r = si.si_value.sival_int == 0 ? 0 : -ECANCELED;
            break;
        }
        if (s < 0 && errno != EAGAIN && errno != EINTR) {
            r = -errno;
            break;
        }
        if (kill(pid, 0) < 0 && errno == ESRCH) {
            r = -ESRCH;
            break;
        }
    }
out:
    sigprocmask(SIG_SETMASK, &old, NULL);
    return r;
}

void iopd_reload_answer(const struct signalfd_siginfo *si, int result) {
    if (si->ssi_code != SI_QUEUE || si->ssi_int != IOPD_RELOAD_COOKIE || si->ssi_pid == 0)
        return;
    union sigval v = { .sival_int = result < 0 ? -result : 0 };
    if (sigqueue((pid_t)si->ssi_pid, IOPD_RELOAD_ANSWER, v) < 0)
        iop_debug("reload: cannot answer process %u: %m", si->ssi_pid);
}
