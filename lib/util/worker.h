/* A worker thread for the few system calls that wait for a device and have no
 * asynchronous form (usbfs's USBDEVFS_SETINTERFACE and USBDEVFS_SETCONFIGURATION
 * ioctls; libusb's opening of a device, which reads its active configuration with a
 * synchronous control transfer).  The call runs on the thread; its completion runs on
 * the loop thread (an eventfd is a loop source), so nothing on the loop waits and
 * nothing outside this file takes a lock.  One thread per worker, started with the
 * first job, jobs run one at a time in submission order, with every signal blocked.
 *
 * The job function runs on the worker thread and must only touch what its caller
 * handed over; done runs on the loop thread exactly once per submitted job. */
#pragma once

struct iop_loop;
struct iop_worker;
struct iop_worker_job;

typedef int (*iop_worker_fn)(void *arg);
typedef void (*iop_worker_done_fn)(void *arg, int result);

/* loop: where the done callbacks run (borrowed, must outlive the worker). */
int iop_worker_new(struct iop_loop *loop, struct iop_worker **ret);
/* Queue fn(arg); done(arg, fn's result) follows on the loop, or done(arg,
 * -ECANCELED) for a job cancelled before it ran.  *job (may be NULL) identifies it for
 * iop_worker_cancel until done has run.  -ENOMEM, -EAGAIN (no thread),
 * -ESHUTDOWN (the worker is being freed). */
int iop_worker_submit(struct iop_worker *w, iop_worker_fn fn, iop_worker_done_fn done, void *arg,
                      struct iop_worker_job **job);
/* Cancel a job that has not started: 0, its done follows with -ECANCELED (from the
 * loop, not from inside this call); -EBUSY when it is running or has finished. */
int iop_worker_cancel(struct iop_worker *w, struct iop_worker_job *job);
/* Run the done callbacks of finished jobs, first waiting at most timeout_ms for one
 * when none has finished and some job is outstanding.  For callers that must make
 * progress without returning to the loop (shutdown, a synchronous kill).  Returns the
 * number of callbacks run. */
int iop_worker_dispatch(struct iop_worker *w, int timeout_ms);
/* Jobs submitted whose done has not run yet. */
unsigned iop_worker_outstanding(const struct iop_worker *w);
/* Stop: the running job finishes (this waits for it), queued ones are cancelled, and
 * every outstanding done runs before this returns.  NULL is fine.  Returns NULL. */
struct iop_worker *iop_worker_free(struct iop_worker *w);
