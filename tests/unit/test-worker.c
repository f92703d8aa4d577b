/* The worker thread: jobs run off the loop in order, their completions run on the loop
 * exactly once (also when cancelled or when the worker is freed), a running job
 * cannot be cancelled, dispatch waits for a completion. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "lib/util/loop.h"
#include "lib/util/worker.h"
#include "testutil.h"

struct job {
    int id;
    int sleep_ms;
    pthread_t ran_on;
    atomic_int started;
    int done_calls, result;
    int *order, *n_order;
};

static pthread_t loop_thread;

static int run(void *arg) {
    struct job *j = arg;
    j->ran_on = pthread_self();
    atomic_store(&j->started, 1);
    struct timespec ts = { 0, (long)j->sleep_ms * 1000000L };
    nanosleep(&ts, NULL);
    return j->id * 10;
}

static void done(void *arg, int result) {
    struct job *j = arg;
    CHECK(pthread_equal(pthread_self(), loop_thread));
    j->done_calls++;
    j->result = result;
    j->order[(*j->n_order)++] = j->id;
}

static void test_order_and_loop(void) {
    struct iop_loop *l;
    struct iop_worker *w;
    CHECK_EQ(iop_loop_new(&l), 0);
    CHECK_EQ(iop_worker_new(l, &w), 0);
    int order[8], n = 0;
    struct job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct job){ .id = i + 1, .sleep_ms = i == 0 ? 50 : 1, .order = order, .n_order = &n };
        CHECK_EQ(iop_worker_submit(w, run, done, &jobs[i], NULL), 0);
    }
    CHECK_EQ(iop_worker_outstanding(w), 4);
    for (int tries = 0; tries < 100 && n < 4; tries++)
        iop_loop_iterate(l, 100); /* completions arrive through the loop */
    CHECK_EQ(n, 4);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(order[i], i + 1);
        CHECK_EQ(jobs[i].done_calls, 1);
        CHECK_EQ(jobs[i].result, (i + 1) * 10);
        CHECK(!pthread_equal(jobs[i].ran_on, loop_thread));
    }
    CHECK_EQ(iop_worker_outstanding(w), 0);
    iop_worker_free(w);
    iop_loop_free(l);
}

static void test_cancel_and_free(void) {
    struct iop_loop *l;
    struct iop_worker *w;
    CHECK_EQ(iop_loop_new(&l), 0);
    CHECK_EQ(iop_worker_new(l, &w), 0);
    int order[8], n = 0;
    struct job slow = { .id = 1, .sleep_ms = 200, .order = order, .n_order = &n };
    struct job queued = { .id = 2, .order = order, .n_order = &n };
    struct job last = { .id = 3, .order = order, .n_order = &n };
    struct iop_worker_job *js, *jq;
    CHECK_EQ(iop_worker_submit(w, run, done, &slow, &js), 0);
    CHECK_EQ(iop_worker_submit(w, run, done, &queued, &jq), 0);
    CHECK_EQ(iop_worker_submit(w, run, done, &last, NULL), 0);
    /* Wait until the slow one runs, then: it cannot be cancelled; the next one can. */
    for (int i = 0; i < 200 && !atomic_load(&slow.started); i++) {
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
    CHECK_EQ(iop_worker_cancel(w, js), -EBUSY);
    CHECK_EQ(iop_worker_cancel(w, jq), 0);
    CHECK_EQ(queued.done_calls, 0); /* not from inside cancel */
    /* dispatch waits for the first completion: the cancelled job's, at once. */
    CHECK(iop_worker_dispatch(w, 1000) >= 1);
    CHECK_EQ(queued.done_calls, 1);
    CHECK_EQ(queued.result, -ECANCELED);
    /* Freed with the slow one running and one queued: both done before free returns. */
    iop_worker_free(w);
    CHECK_EQ(slow.done_calls, 1);
    CHECK_EQ(slow.result, 10);
    CHECK_EQ(last.done_calls, 1);
    CHECK_EQ(last.result, -ECANCELED);
    CHECK_EQ(n, 3);
    iop_loop_free(l);
}

static void test_unused(void) {
    /* No job, no thread; free is immediate. */
    struct iop_loop *l;
    struct iop_worker *w;
    CHECK_EQ(iop_loop_new(&l), 0);
    CHECK_EQ(iop_worker_new(l, &w), 0);
    CHECK_EQ(iop_worker_dispatch(w, 1000), 0); /* nothing outstanding: no wait */
    CHECK(iop_worker_free(w) == NULL);
    CHECK(iop_worker_free(NULL) == NULL);
    iop_loop_free(l);
}

int main(void) {
    loop_thread = pthread_self();
    TEST(test_order_and_loop);
    TEST(test_cancel_and_free);
    TEST(test_unused);
    return test_summary();
}
