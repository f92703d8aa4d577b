#include "lib/util/loop.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

enum source_kind { SOURCE_IO, SOURCE_TIMER };

struct iop_loop_source {
    struct iop_loop *loop;
    struct iop_loop_source *next; /* all sources, for free and for timers */
    enum source_kind kind;
    bool dead;                    /* freed while dispatching; reaped after */
    int fd;
    iop_loop_io_fn io_fn;
    uint64_t due_usec;
    iop_loop_timer_fn timer_fn;
    void *data;
};

struct iop_loop {
    int epfd;
    struct iop_loop_source *sources;
    int dispatching;              /* >0 while callbacks run: frees are deferred */
    bool quit;
    int quit_code;
};

uint64_t iop_loop_now_usec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int iop_loop_new(struct iop_loop **ret) {
    assert(ret);
    struct iop_loop *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        int e = errno;
        free(l);
        return -e;
    }
    *ret = l;
    return 0;
}

struct iop_loop *iop_loop_free(struct iop_loop *l) {
    if (!l)
        return NULL;
    while (l->sources) {
        struct iop_loop_source *s = l->sources;
        l->sources = s->next;
        free(s);
    }
    close(l->epfd);
    free(l);
    return NULL;
}

static struct iop_loop_source *source_new(struct iop_loop *l, enum source_kind kind, void *data) {
    struct iop_loop_source *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->loop = l;
    s->kind = kind;
    s->fd = -1;
    s->data = data;
    s->next = l->sources;
    l->sources = s;
    return s;
}

static void source_unlink(struct iop_loop *l, struct iop_loop_source *s) {
    for (struct iop_loop_source **p = &l->sources; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            return;
        }
}

int iop_loop_add_io(struct iop_loop *l, int fd, uint32_t events, iop_loop_io_fn fn, void *data,
                    struct iop_loop_source **ret) {
    assert(l && fn && fd >= 0);
    struct iop_loop_source *s = source_new(l, SOURCE_IO, data);
    if (!s)
        return -ENOMEM;
    s->fd = fd;
    s->io_fn = fn;
    struct epoll_event ev = { .events = events, .data.ptr = s };
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int e = errno;
        source_unlink(l, s);
        free(s);
        return -e;
    }
    if (ret)
        *ret = s;
    return 0;
}

int iop_loop_io_set_events(struct iop_loop_source *s, uint32_t events) {
    assert(s && s->kind == SOURCE_IO);
    struct epoll_event ev = { .events = events, .data.ptr = s };
    return epoll_ctl(s->loop->epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0 ? -errno : 0;
}

int iop_loop_add_timer(struct iop_loop *l, uint64_t usec, iop_loop_timer_fn fn, void *data,
                       struct iop_loop_source **ret) {
    assert(l && fn);
    struct iop_loop_source *s = source_new(l, SOURCE_TIMER, data);
    if (!s)
        return -ENOMEM;
    s->timer_fn = fn;
    s->due_usec = iop_loop_now_usec() + usec;
    if (ret)
        *ret = s;
    return 0;
}

void iop_loop_source_free(struct iop_loop_source *s) {
    if (!s || s->dead)
        return;
    struct iop_loop *l = s->loop;
    if (s->kind == SOURCE_IO)
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    s->dead = true;
    if (l->dispatching == 0) {
        source_unlink(l, s);
        free(s);
    }
}

static void reap_dead(struct iop_loop *l) {
    struct iop_loop_source **p = &l->sources;
    while (*p) {
        struct iop_loop_source *s = *p;
        if (s->dead) {
            *p = s->next;
            free(s);
        } else {
            p = &s->next;
        }
    }
}

/* Milliseconds until the earliest timer (rounded up), or -1 when there is none. */
static int next_timer_ms(struct iop_loop *l, uint64_t now) {
    uint64_t best = UINT64_MAX;
    for (struct iop_loop_source *s = l->sources; s; s = s->next)
        if (s->kind == SOURCE_TIMER && !s->dead && s->due_usec < best)
            best = s->due_usec;
    if (best == UINT64_MAX)
        return -1;
    if (best <= now)
        return 0;
    uint64_t ms = (best - now + 999) / 1000;
    return ms > 60000 ? 60000 : (int)ms;
}

int iop_loop_iterate(struct iop_loop *l, int timeout_ms) {
    assert(l);
    struct epoll_event evs[32];
    int t = next_timer_ms(l, iop_loop_now_usec());
    if (t >= 0 && (timeout_ms < 0 || t < timeout_ms))
        timeout_ms = t;
    int n = epoll_wait(l->epfd, evs, 32, timeout_ms);
    if (n < 0 && errno != EINTR)
        return -errno;

    l->dispatching++;
    for (int i = 0; i < n; i++) {
        struct iop_loop_source *s = evs[i].data.ptr;
        if (!s->dead)
            s->io_fn(s->data, s->fd, evs[i].events);
    }
    /* Timers due now; a timer armed by a callback waits for the next iteration. */
    uint64_t now = iop_loop_now_usec();
    for (struct iop_loop_source *s = l->sources; s; s = s->next) {
        if (s->kind != SOURCE_TIMER || s->dead || s->due_usec > now)
            continue;
        s->dead = true; /* one-shot */
        s->timer_fn(s->data);
    }
    l->dispatching--;
    if (l->dispatching == 0)
        reap_dead(l);
    return 0;
}

int iop_loop_run(struct iop_loop *l) {
    assert(l);
    l->quit = false;
    while (!l->quit) {
        int r = iop_loop_iterate(l, -1);
        if (r < 0)
            return r;
    }
    return l->quit_code;
}

void iop_loop_quit(struct iop_loop *l, int code) {
    assert(l);
    l->quit = true;
    l->quit_code = code;
}
