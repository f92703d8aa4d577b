/* `iopd --reload PID`: a synchronous reload, for systemd's ExecReload=.
 *
 * A plain SIGHUP is asynchronous (and `kill` is procps's, absent on a minimal system).
 * The requester sends SIGHUP with sigqueue() carrying IOPD_RELOAD_COOKIE; the daemon
 * reloads as for any SIGHUP and, seeing the cookie in the signalfd record, answers the
 * sender with IOPD_RELOAD_ANSWER (sigqueue, the value 0 when the new configuration was
 * applied, else the positive errno of the refusal).  A plain `kill -HUP` gets no answer.
 * The answer signal's default action is to ignore it, so an answer that outlives its
 * requester (timed out, pid reused) cannot kill another process.
 */
#pragma once

#include <sys/types.h>

struct signalfd_siginfo;

#define IOPD_RELOAD_COOKIE 0x696f7064 /* "iopd" */
#define IOPD_RELOAD_ANSWER SIGURG
/* How long a requester waits: systemd's default reload timeout (TimeoutStartSec=). */
#define IOPD_RELOAD_TIMEOUT_MS 90000

/* Ask pid to reload and wait for its answer, at most timeout_ms.  0: applied;
 * -ECANCELED: the configuration was refused (the daemon logged why); -ESRCH: no such
 * process or it exited; -ETIMEDOUT: no answer (an iopd too old to answer, or stuck);
 * another negative errno if the request could not be sent. */
int iopd_reload_request(pid_t pid, int timeout_ms);

/* Daemon side, after the reload that si triggered: answer the requester if the
 * signal carried the cookie.  result: 0 or the reload's negative errno. */
void iopd_reload_answer(const struct signalfd_siginfo *si, int result);
