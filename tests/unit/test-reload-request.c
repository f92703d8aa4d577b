/* `iopd --reload PID` (daemon/reload-request.c): the request and its answer between two
 * real processes, the way the daemon's signalfd loop and systemd's ExecReload= use it. */
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/reload-request.h"
#include "testutil.h"

/* A child that takes SIGHUP through a signalfd, as iopd does, and answers every one
 * with `result` (count times); then exits. */
static pid_t daemon_like(int result, int count) {
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    sigprocmask(SIG_BLOCK, &hup, NULL); /* before fork: no SIGHUP can be lost */
    pid_t pid = fork();
    if (pid == 0) {
        int fd = signalfd(-1, &hup, 0);
        for (int i = 0; i < count; i++) {
            struct signalfd_siginfo si;
            if (fd < 0 || read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
                _exit(2);
            iopd_reload_answer(&si, result);
        }
        _exit(0);
    }
    sigprocmask(SIG_UNBLOCK, &hup, NULL);
    return pid;
}

static int reap(pid_t pid) {
    int st;
    return waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_applied(void) {
    pid_t pid = daemon_like(0, 1);
    CHECK_EQ(iopd_reload_request(pid, 10000), 0);
    CHECK_EQ(reap(pid), 0);
}

static void test_refused(void) {
    pid_t pid = daemon_like(-EINVAL, 1);
    CHECK_EQ(iopd_reload_request(pid, 10000), -ECANCELED);
    CHECK_EQ(reap(pid), 0);
}

/* A plain SIGHUP (kill -HUP) reloads but gets no answer: the sender may be a shell
 * that never asked for one. */
static void test_plain_sighup_not_answered(void) {
    pid_t pid = daemon_like(0, 1);
    sigset_t answer;
    sigemptyset(&answer);
    sigaddset(&answer, IOPD_RELOAD_ANSWER);
    sigprocmask(SIG_BLOCK, &answer, NULL);
    CHECK_EQ(kill(pid, SIGHUP), 0);
    CHECK_EQ(reap(pid), 0); /* it handled the signal and exited */
    sigset_t pending;
    sigpending(&pending);
    CHECK(!sigismember(&pending, IOPD_RELOAD_ANSWER));
    sigprocmask(SIG_UNBLOCK, &answer, NULL);
}

/* A process that never answers (an iopd too old, or stuck): a timeout, not a hang. */
static void test_no_answer_times_out(void) {
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    sigprocmask(SIG_BLOCK, &hup, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        pause(); /* SIGHUP stays blocked and pending; SIGKILL ends this */
        _exit(0);
    }
    sigprocmask(SIG_UNBLOCK, &hup, NULL);
    CHECK_EQ(iopd_reload_request(pid, 600), -ETIMEDOUT);
    kill(pid, SIGKILL);
    reap(pid);
}

static void test_bad_pids(void) {
    /* A process that existed and was reaped. */
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    reap(pid);
    CHECK_EQ(iopd_reload_request(pid, 1000), -ESRCH);
    /* Never init, a process group or every process. */
    CHECK_EQ(iopd_reload_request(1, 1000), -EINVAL);
    CHECK_EQ(iopd_reload_request(0, 1000), -EINVAL);
    CHECK_EQ(iopd_reload_request(-1, 1000), -EINVAL);
}

/* The answer signal is ignored by default: an answer reaching a process that did not
 * wait for it (the requester timed out and its pid was reused) does not kill it. */
static void test_stray_answer_is_harmless(void) {
    pid_t pid = fork();
    if (pid == 0) {
        sigqueue(getpid(), IOPD_RELOAD_ANSWER, (union sigval){ .sival_int = 0 });
        _exit(7);
    }
    CHECK_EQ(reap(pid), 7);
}

int main(void) {
    TEST(test_applied);
    TEST(test_refused);
    TEST(test_plain_sighup_not_answered);
    TEST(test_no_answer_times_out);
    TEST(test_bad_pids);
    TEST(test_stray_answer_is_harmless);
    return test_summary();
}
