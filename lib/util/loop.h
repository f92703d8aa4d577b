/* A single-threaded event loop: file descriptors (epoll), one-shot timers on
 * CLOCK_MONOTONIC, and deferred calls.  iopd runs everything on it — CUSE sessions,
 * libusb's fds, signals — so lib/ never needs a lock.  Callbacks must not block. */
#pragma once

#include <stdint.h>

struct iop_loop;
struct iop_loop_source;

typedef void (*iop_loop_io_fn)(void *data, int fd, uint32_t revents);
typedef void (*iop_loop_timer_fn)(void *data);

int iop_loop_new(struct iop_loop **ret);
struct iop_loop *iop_loop_free(struct iop_loop *l);

/* Watch fd for events (EPOLLIN, EPOLLOUT ...).  The fd stays the caller's. */
int iop_loop_add_io(struct iop_loop *l, int fd, uint32_t events, iop_loop_io_fn fn, void *data,
                    struct iop_loop_source **ret);
int iop_loop_io_set_events(struct iop_loop_source *s, uint32_t events);

/* Call fn once, after usec microseconds (0: on the next iteration). */
int iop_loop_add_timer(struct iop_loop *l, uint64_t usec, iop_loop_timer_fn fn, void *data,
                       struct iop_loop_source **ret);

/* Remove a source; safe from inside any callback, including its own.  NULL is fine. */
void iop_loop_source_free(struct iop_loop_source *s);

/* Run until iop_loop_quit(); returns the code given there. */
int iop_loop_run(struct iop_loop *l);
/* One iteration: wait at most timeout_ms (-1 forever) and dispatch. */
int iop_loop_iterate(struct iop_loop *l, int timeout_ms);
void iop_loop_quit(struct iop_loop *l, int code);
uint64_t iop_loop_now_usec(void);
