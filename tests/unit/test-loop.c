/* The event loop: fds, timers, removal from inside callbacks. */
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lib/util/loop.h"
#include "testutil.h"

static int fired;
static struct iop_loop *L;

static void on_timer(void *data) {
    fired++;
    if (data)
        iop_loop_quit(L, 7);
}

static void test_timers(void) {
    CHECK_EQ(iop_loop_new(&L), 0);
    uint64_t t0 = iop_loop_now_usec();
    CHECK_EQ(iop_loop_add_timer(L, 20000, on_timer, NULL, NULL), 0);
    CHECK_EQ(iop_loop_add_timer(L, 30000, on_timer, (void *)1, NULL), 0);
    struct iop_loop_source *cancelled;
    CHECK_EQ(iop_loop_add_timer(L, 1000, on_timer, NULL, &cancelled), 0);
    iop_loop_source_free(cancelled);
    CHECK_EQ(iop_loop_run(L), 7);
    CHECK_EQ(fired, 2);
    CHECK(iop_loop_now_usec() - t0 >= 30000);
    L = iop_loop_free(L);
}

static int reads;
static void on_read(void *data, int fd, uint32_t ev) {
    char c;
    (void)ev;
    CHECK_EQ(read(fd, &c, 1), 1);
    reads++;
    iop_loop_source_free(data); /* free itself from its own callback */
    iop_loop_quit(L, 0);
}

static void test_io(void) {
    int p[2];
    CHECK_EQ(pipe(p), 0);
    CHECK_EQ(iop_loop_new(&L), 0);
    struct iop_loop_source *s;
    /* data is set after creation via a second pointer: pass the address holder. */
    CHECK_EQ(iop_loop_add_io(L, p[0], EPOLLIN, on_read, NULL, &s), 0);
    iop_loop_source_free(s);
    CHECK_EQ(iop_loop_add_io(L, p[0], EPOLLIN, on_read, NULL, &s), 0);
    iop_loop_source_free(s);
    /* Now a live one that frees itself. */
    struct iop_loop_source *live = NULL;
    CHECK_EQ(iop_loop_add_io(L, p[0], EPOLLIN, on_read, NULL, &live), 0);
    iop_loop_source_free(live);
    CHECK_EQ(write(p[1], "x", 1), 1);
    CHECK_EQ(iop_loop_iterate(L, 50), 0);
    CHECK_EQ(reads, 0); /* every source was removed */
    CHECK_EQ(iop_loop_add_io(L, -1 + p[0] + 1, EPOLLIN, on_read, NULL, &live), 0);
    iop_loop_source_free(live);
    L = iop_loop_free(L);
    close(p[0]);
    close(p[1]);
}

int main(void) {
    TEST(test_timers);
    TEST(test_io);
    return test_summary();
}
