/* The worker thread (see worker.h).  The mutex guards the job lists and the stop
 * flag; everything else is the loop thread's. */
#include "lib/util/worker.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/util/log.h"
#include "lib/util/loop.h"

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_FINISHED };

struct iop_worker_job {
    iop_worker_fn fn;
    iop_worker_done_fn done;
    void *arg;
    int result;
    enum job_state state;
    struct iop_worker_job *next;
};

struct job_list {
    struct iop_worker_job *head, *tail;
};

struct iop_worker {
    struct iop_loop *loop;           /* borrowed */
    struct iop_loop_source *src;     /* owned: the eventfd on the loop */
    int efd;                         /* owned */
    pthread_mutex_t lock;
    pthread_cond_t wake;             /* the thread waits on it for work or stop */
    struct job_list queued, finished; /* under lock */
    bool stop;                       /* under lock */
    bool started;                    /* the thread exists (loop thread only) */
    pthread_t thread;
    unsigned outstanding;            /* loop thread only */
};

static void list_push(struct job_list *l, struct iop_worker_job *j) {
    j->next = NULL;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
}

static struct iop_worker_job *list_pop(struct job_list *l) {
    struct iop_worker_job *j = l->head;
    if (j) {
        l->head = j->next;
        if (!l->head)
            l->tail = NULL;
        j->next = NULL;
    }
    return j;
}

static bool list_remove(struct job_list *l, struct iop_worker_job *j) {
    struct iop_worker_job *prev = NULL;
    for (struct iop_worker_job *k = l->head; k; prev = k, k = k->next) {
        if (k != j)
            continue;
        if (prev)
            prev->next = k->next;
        else
            l->head = k->next;
        if (l->tail == k)
            l->tail = prev;
        k->next = NULL;
        return true;
    }
    return false;
}

/* Under lock: a job is done; tell the loop. */
static void finish_locked(struct iop_worker *w, struct iop_worker_job *j, int result) {
    j->result = result;
    j->state = JOB_FINISHED;
    list_push(&w->finished, j);
    uint64_t one = 1;
    (void)!write(w->efd, &one, sizeof(one)); /* only fails when the counter is full: then it is set */
}

static void *worker_main(void *data) {
    struct iop_worker *w = data;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        struct iop_worker_job *j = list_pop(&w->queued);
        if (!j) {
            if (w->stop)
                break;
            pthread_cond_wait(&w->wake, &w->lock);
            continue;
        }
        j->state = JOB_RUNNING;
        pthread_mutex_unlock(&w->lock);
        int r = j->fn(j->arg);
        pthread_mutex_lock(&w->lock);
        finish_locked(w, j, r);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void on_event(void *data, int fd, uint32_t revents) {
    (void)fd;
    (void)revents;
    iop_worker_dispatch(data, 0);
}

int iop_worker_new(struct iop_loop *loop, struct iop_worker **ret) {
    assert(loop && ret);
    struct iop_worker *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->loop = loop;
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->efd < 0) {
        int r = -errno;
        free(w);
        return r;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    int r = iop_loop_add_io(loop, w->efd, EPOLLIN, on_event, w, &w->src);
    if (r < 0) {
        w->src = NULL;
        iop_worker_free(w);
        return r;
    }
    *ret = w;
    return 0;
}

static int start_thread(struct iop_worker *w) {
    /* Every signal blocked: they are the loop's (signalfd), never the worker's. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&w->thread, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0)
        return -r;
    w->started = true;
    return 0;
}

int iop_worker_submit(struct iop_worker *w, iop_worker_fn fn, iop_worker_done_fn done, void *arg,
                      struct iop_worker_job **job) {
    assert(w && fn && done);
    if (w->stop) /* read on the loop thread, which alone writes it */
        return -ESHUTDOWN;
    if (!w->started) {
        int r = start_thread(w);
        if (r < 0)
            return r;
    }
    struct iop_worker_job *j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    j->fn = fn;
    j->done = done;
    j->arg = arg;
    pthread_mutex_lock(&w->lock);
    j->state = JOB_QUEUED;
    list_push(&w->queued, j);
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    w->outstanding++;
    if (job)
        *job = j;
    return 0;
}

int iop_worker_cancel(struct iop_worker *w, struct iop_worker_job *job) {
    assert(w && job);
    int r = -EBUSY;
    pthread_mutex_lock(&w->lock);
    if (job->state == JOB_QUEUED && list_remove(&w->queued, job)) {
        finish_locked(w, job, -ECANCELED);
        r = 0;
    }
    pthread_mutex_unlock(&w->lock);
    return r;
}

int iop_worker_dispatch(struct iop_worker *w, int timeout_ms) {
    assert(w);
    pthread_mutex_lock(&w->lock);
    bool ready = w->finished.head != NULL;
    pthread_mutex_unlock(&w->lock);
    if (!ready && timeout_ms > 0 && w->outstanding > 0) {
        struct pollfd p = { .fd = w->efd, .events = POLLIN };
        (void)poll(&p, 1, timeout_ms);
    }
    uint64_t n;
    (void)!read(w->efd, &n, sizeof(n)); /* reset the counter; EAGAIN when it was 0 */
    pthread_mutex_lock(&w->lock);
    struct job_list done = w->finished;
    w->finished = (struct job_list){ NULL, NULL };
    pthread_mutex_unlock(&w->lock);
    int count = 0;
    for (struct iop_worker_job *j; (j = list_pop(&done)); count++) {
        w->outstanding--;
        j->done(j->arg, j->result);
        free(j);
    }
    return count;
}

unsigned iop_worker_outstanding(const struct iop_worker *w) {
    assert(w);
    return w->outstanding;
}

struct iop_worker *iop_worker_free(struct iop_worker *w) {
    if (!w)
        return NULL;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    for (struct iop_worker_job *j; (j = list_pop(&w->queued));)
        finish_locked(w, j, -ECANCELED);
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    if (w->started)
        pthread_join(w->thread, NULL);
    while (w->outstanding > 0)
        if (iop_worker_dispatch(w, 0) == 0) {
            iop_err("worker: %u jobs never finished", w->outstanding); /* cannot happen */
            break;
        }
    iop_loop_source_free(w->src);
    close(w->efd);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
    return NULL;
}
