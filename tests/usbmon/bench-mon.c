/* usbmon throughput, as ratios against baselines run in the same process:
 *
 *  mon-read     events captured + queued + formatted + read through one reader, against
 *               formatting the same event with mon_text.c's own scnprintf code alone
 *  mon-capture  the monitor hooks' cost per URB (submit + completion) with one reader
 *               attached, against none attached (the hooks' early return), each
 *               around the same fake completion handler
 *
 * Not a test: nothing is asserted.  Usage: bench-mon [seconds per measurement] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/usb/urb.h"
#include "lib/usbmon/bus.h"
#include "lib/usbmon/capture.h"
#include "lib/usbmon/reader.h"
#include "lib/usbmon/text.h"
#include "mon-ref.h"

static double now_sec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A bulk OUT CBW, the commonest line on a storage bus. */
static struct {
    struct iop_urb urb;
    uint8_t buf[31];
} cbw;
static volatile unsigned long completions;
static volatile size_t sink;

static void on_complete(struct iop_urb *urb) {
    (void)urb;
    completions++;
}

static void cbw_init(void) {
    cbw.urb = (struct iop_urb){ .xfer = IOP_XFER_BULK, .endpoint = 2, .busnum = 1, .devnum = 5,
                                .transfer_buffer = cbw.buf, .transfer_buffer_length = 31,
                                .complete = on_complete };
    memcpy(cbw.buf, "USBC\xad\0\0\0\0\x80\0\0\x80\x01\x0a\x28\x20\0\0\0\x20\0\0\x40", 24);
}

/* What an engine does per URB around the hooks. */
static void one_urb(const struct iop_urb_monitor *mon) {
    cbw.urb.status = -115;
    if (mon)
        mon->submit(mon->ctx, &cbw.urb);
    cbw.urb.actual_length = 31;
    cbw.urb.status = 0;
    if (mon)
        mon->complete(mon->ctx, &cbw.urb, 0);
    cbw.urb.complete(&cbw.urb);
}

/* Events per second through a reader: 2 events per URB, each line read whole. */
static double bench_read(struct iop_mon *m, double secs) {
    struct iop_mon_reader *r;
    if (iop_mon_open(m, 1, IOP_MON_FMT_U, &r) < 0)
        abort();
    const struct iop_urb_monitor *mon = iop_mon_urb_monitor(m);
    char line[4096];
    unsigned long events = 0;
    double t0 = now_sec(), t;
    do {
        for (int i = 0; i < 1000; i++) {
            one_urb(mon);
            sink += (size_t)iop_mon_reader_read(r, line, sizeof(line));
            sink += (size_t)iop_mon_reader_read(r, line, sizeof(line));
        }
        events += 2000;
    } while ((t = now_sec() - t0) < secs);
    iop_mon_reader_free(r);
    return (double)events / t;
}

/* Lines per second formatted by the kernel's own printf code from a ready event. */
static double bench_kernel_printf(double secs) {
    struct iop_mon_event ev[2];
    iop_mon_capture(&ev[0], &cbw.urb, 'S', 0, 3126510692u);
    cbw.urb.actual_length = 31;
    iop_mon_capture(&ev[1], &cbw.urb, 'C', 0, 3126511239u);
    char line[256];
    unsigned long lines = 0;
    double t0 = now_sec(), t;
    do {
        for (int i = 0; i < 1000; i++) {
            sink += (size_t)mon_ref_format('u', &ev[0], line, 250);
            sink += (size_t)mon_ref_format('u', &ev[1], line, 250);
        }
        lines += 2000;
    } while ((t = now_sec() - t0) < secs);
    return (double)lines / t;
}

/* Seconds per URB through the hooks.  With a reader the queue is drained between
 * timed batches (batches fit the queue), so only capture and queueing are timed. */
static double bench_hooks(struct iop_mon *m, int readers, double secs) {
    struct iop_mon_reader *r[8];
    const struct iop_urb_monitor *mon = iop_mon_urb_monitor(m);
    for (int i = 0; i < readers; i++)
        if (iop_mon_open(m, 1, IOP_MON_FMT_U, &r[i]) < 0)
            abort();
    const int batch = (int)IOP_MON_EVENT_MAX / 2; /* 2 events per URB */
    char line[4096];
    unsigned long urbs = 0;
    double timed = 0, t0 = now_sec();
    while (now_sec() - t0 < secs) {
        double b0 = now_sec();
        for (int i = 0; i < batch; i++)
            one_urb(mon);
        timed += now_sec() - b0;
        urbs += (unsigned long)batch;
        for (int i = 0; i < readers; i++)
            while (iop_mon_reader_read(r[i], line, sizeof(line)) > 0)
                ;
    }
    for (int i = 0; i < readers; i++)
        iop_mon_reader_free(r[i]);
    return timed / (double)urbs;
}

int main(int argc, char **argv) {
    double secs = argc > 1 ? atof(argv[1]) : 0.5;
    if (secs <= 0)
        secs = 0.5;
    struct iop_mon *m;
    if (iop_mon_new(&m) < 0 || iop_mon_add_bus(m, 1) < 0)
        return 1;
    cbw_init();

    bench_read(m, secs / 5); /* warm up */
    double ours = bench_read(m, secs);
    double kern = bench_kernel_printf(secs);
    printf("mon-read: %.2f M events/s captured+queued+formatted+read vs %.2f M lines/s formatted by "
           "mon_text.c's scnprintf code alone: ratio %.2f\n",
           ours / 1e6, kern / 1e6, ours / kern);

    double none = bench_hooks(m, 0, secs);
    double one = bench_hooks(m, 1, secs);
    double four = bench_hooks(m, 4, secs);
    printf("mon-capture: %.1f ns per URB (S+C) with 1 reader vs %.1f ns with none: ratio %.2f "
           "(4 readers: %.1f ns, ratio %.2f)\n",
           one * 1e9, none * 1e9, one / none, four * 1e9, four / none);
    iop_mon_free(m);
    return completions == 0;
}
