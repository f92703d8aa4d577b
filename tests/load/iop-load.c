/* iop-load: a multi-client load driver for /dev/i2o/ctl (and usbmon nodes).
 *
 *   iop-load [--clients N] [--ops M | --seconds S] [--mix OP[:WEIGHT],...]
 *            [--slow OP[:PROCS],...] [--pid PID] [--json | --quiet] [target options]
 *   iop-load --list
 *   iop-load --probe [target options]
 *
 * N client processes (fork()ed, each with its own open file) run M operations each (or
 * for S seconds), picked at random from the mix by weight.  They start together (a
 * barrier) and each records the latency of every call, so the report has the
 * aggregate throughput over the common window, per-operation counts, error counts by
 * errno (or IOP ReqStatus), and the latency spread (p50, p90, p99, max).
 *
 * --slow adds processes that run a slow operation over and over for as long as the
 * clients run (a big software download, a parked blocking read, a USB transfer that
 * never completes, a usbmon reader): the clients' figures then show whether they
 * stall the others.  They start a moment before the clients, so they are in their
 * slow state when the measurement begins, and are stopped (SIGTERM, then SIGKILL
 * after 10 s) when the clients are done.
 *
 * --pid PID samples the daemon's VmRSS and VmHWM from /proc/PID/status and its open
 * descriptors from /proc/PID/fd, before any process is started and after every one
 * has stopped (--settle-ms later).  Nothing here needs procps.
 *
 * --compare PATH makes every call twice, on the node and on PATH, alternating which
 * goes first (ABBA...), and reports per operation the median of the per-pair latency
 * ratios: the way to compare two devices on a machine whose load drifts (the
 * benchmark of iopd against a no-work CUSE device, tests/bench/ctl-bench.sh).
 *
 * --usb-dev VID:PID[:OUT:IN] names the device of the usb, usbin and usbctl operations
 * (bulk OUT/IN pairs to a Loopback gadget, lone bulk INs, control reads), looked up in
 * the LCT by vendor and product, again after every failure (it may be unplugged and
 * come back).  --allow OP=OUTCOME,... makes outcomes of an op expected ("usb=urb:ENODEV":
 * transfers that an unplug ends); outcomes are named as the report names them.  The
 * report counts the URBs of those operations one by one ("urbs": completed with status
 * 0, with an error status, refused before an URB).  --stop-file PATH: the clients also
 * stop, before --ops or --seconds, once PATH exists (a test ends the load when its
 * faults are done).
 *
 * --probe runs hrt, lct, parmget, parmset and html once each and prints the lengths
 * the daemon wrote to *reslen ("hrt=24 lct=228 ..."): what a stand-in device must
 * answer to move the same bytes (tests/bench/cuse-floor --sizes).
 *
 * Output: one summary line (key=value), then one line per operation, the slow
 * processes and the daemon; or one JSON object (--json).  Exit status: 0, 1 when a
 * process could not start or an operation failed in a way it should not (an
 * "unexpected" error: any code but success and the operation's expected one), 2 usage,
 * 3 the node cannot be opened. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "tests/load/load-ops.h"

#define MAX_OPS 32u
#define MAX_MIX 32u
#define MAX_CODES 12u
#define MAX_ALLOW 64u
#define MAX_PROCS 1024u
#define LAT_BITS 26u /* latency in µs, capped at 67 s; the op index above, */
#define CMP_BIT 31u  /* and the --compare node's bit */
#define DEFAULT_SAMPLES (4u << 20)

struct code_count {
    int code;
    uint64_t n;
};

struct op_stats {
    uint64_t n, n_err, n_unexpected, n_other; /* n_other: errors past MAX_CODES codes */
    struct code_count codes[MAX_CODES];
};

/* One process's results, in memory shared with the parent. */
struct proc_res {
    int init_err;          /* errno of open/setup, 0 ok */
    int exited;
    uint64_t t0, t1;       /* ns, CLOCK_MONOTONIC, around the op loop */
    uint64_t ops, n_samples;
    uint64_t urb_ok, urb_error, urb_refused; /* load-ops.h */
    struct op_stats op[MAX_OPS];
    struct op_stats op_cmp[MAX_OPS]; /* --compare: the same calls on the second node */
};

struct mix_entry {
    const struct load_op *op;
    unsigned weight;
};

struct opts {
    unsigned clients;
    uint64_t ops;
    double seconds;
    struct mix_entry mix[MAX_MIX];
    unsigned n_mix, total_weight;
    struct mix_entry slow[MAX_MIX]; /* weight = processes */
    unsigned n_slow;
    int pid;
    unsigned settle_ms, lead_ms;
    unsigned max_samples;
    bool json, quiet, probe;
    const char *stop_file;
    struct { const struct load_op *op; int code; } allow[MAX_ALLOW]; /* --allow */
    unsigned n_allow;
    struct load_target t;
};

static volatile sig_atomic_t stop_flag;

static void on_term(int sig) {
    (void)sig;
    stop_flag = 1;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned op_index(const struct load_op *op) { return (unsigned)(op - load_ops); }

static uint32_t sample_word(unsigned op, bool cmp, uint64_t ns) {
    uint64_t us = ns / 1000;
    if (us >= 1u << LAT_BITS)
        us = (1u << LAT_BITS) - 1;
    return (uint32_t)cmp << CMP_BIT | op << LAT_BITS | (uint32_t)us;
}

static unsigned sample_op(uint32_t w) { return (w >> LAT_BITS) & (MAX_OPS - 1); }
static uint32_t sample_us(uint32_t w) { return w & ((1u << LAT_BITS) - 1); }

static bool expected(const struct opts *o, const struct load_op *op, int code) {
    if (code == op->expect || op->expect == LOAD_EXPECT_ANY)
        return true;
    for (unsigned i = 0; i < o->n_allow; i++)
        if (o->allow[i].op == op && o->allow[i].code == code)
            return true;
    return false;
}

static void count(const struct opts *o, struct op_stats *s, const struct load_op *op, int code) {
    s->n++;
    if (code == 0)
        return;
    s->n_err++;
    if (!expected(o, op, code))
        s->n_unexpected++;
    for (unsigned i = 0; i < MAX_CODES; i++) {
        if (s->codes[i].n && s->codes[i].code != code)
            continue;
        s->codes[i].code = code;
        s->codes[i].n++;
        return;
    }
    s->n_other++;
}

static const struct load_op *pick(const struct opts *o, uint64_t *rng) {
    if (o->n_mix == 1)
        return o->mix[0].op;
    *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
    unsigned x = (unsigned)((*rng >> 33) % o->total_weight);
    for (unsigned i = 0; i < o->n_mix; i++) {
        if (x < o->mix[i].weight)
            return o->mix[i].op;
        x -= o->mix[i].weight;
    }
    return o->mix[0].op;
}

/* --compare: the op on both nodes, in alternating order (ABBA...), so that drifts in
 * the machine's load touch both alike; samples go in pairs, first node first. */
static void run_pair(const struct opts *o, struct load_client *c, const struct load_op *op, uint64_t k,
                     struct proc_res *res, uint32_t *samples, unsigned cap) {
    int fds[2] = { c->fd, c->fd_cmp }, code[2];
    uint64_t t[2];
    for (int j = 0; j < 2; j++) {
        int which = (k & 1) ? 1 - j : j;
        c->fd = fds[which];
        t[which] = now_ns();
        code[which] = op->run(c);
        t[which] = now_ns() - t[which];
    }
    c->fd = fds[0];
    count(o, &res->op[op_index(op)], op, code[0]);
    count(o, &res->op_cmp[op_index(op)], op, code[1]);
    res->ops++;
    if (res->n_samples + 2 <= cap) {
        samples[res->n_samples++] = sample_word(op_index(op), false, t[0]);
        samples[res->n_samples++] = sample_word(op_index(op), true, t[1]);
    }
}

/* A child: open, set up, report ready, wait for the start, run, exit. */
static void child(const struct opts *o, unsigned id, const struct load_op *slow_op, struct proc_res *res,
                  uint32_t *samples, unsigned cap, int ready_fd, int go_fd) {
    struct sigaction sa = { .sa_handler = on_term }; /* no SA_RESTART: blocking calls end */
    sigaction(SIGTERM, &sa, NULL);
    struct load_client c;
    enum load_dev dev = slow_op ? slow_op->dev : LOAD_DEV_CTL;
    int r = load_client_init(&c, &o->t, id, dev);
    c.stop = &stop_flag;
    for (unsigned i = 0; r == 0 && i < o->n_mix && !slow_op; i++)
        if (o->mix[i].op->setup)
            r = o->mix[i].op->setup(&c);
    if (r == 0 && slow_op && slow_op->setup)
        r = slow_op->setup(&c);
    res->init_err = r;
    (void)!write(ready_fd, "r", 1);
    close(ready_fd);
    if (r) {
        load_client_fini(&c);
        _exit(1);
    }
    if (!slow_op) {
        char b;
        while (read(go_fd, &b, 1) < 0 && errno == EINTR)
            ;
    }
    close(go_fd);
    uint64_t rng = 0x2545F4914F6CDD1Dull + id;
    uint64_t deadline = o->seconds > 0 ? now_ns() + (uint64_t)(o->seconds * 1e9) : 0;
    res->t0 = now_ns();
    for (uint64_t k = 0; !stop_flag; k++) {
        if (!slow_op && (deadline ? now_ns() >= deadline : k >= o->ops))
            break;
        if (o->stop_file && access(o->stop_file, F_OK) == 0)
            break;
        const struct load_op *op = slow_op ? slow_op : pick(o, &rng);
        if (!slow_op && o->t.cmp_dev) {
            run_pair(o, &c, op, k, res, samples, cap);
            res->t1 = now_ns();
            continue;
        }
        uint64_t t = now_ns();
        int code = op->run(&c);
        t = now_ns() - t;
        /* The stop itself, not a result: an interrupted call, or whatever a slow call
         * the stop cut short answered (an I2OPASSTHRU to USB whose URB the daemon
         * cancelled replies with an error status, not EINTR). */
        if (stop_flag && (code == EINTR || slow_op))
            break;
        count(o, &res->op[op_index(op)], op, code);
        res->ops++;
        res->urb_ok = c.urb_ok, res->urb_error = c.urb_error, res->urb_refused = c.urb_refused;
        if (res->n_samples < cap)
            samples[res->n_samples++] = sample_word(op_index(op), false, t);
        res->t1 = now_ns();
    }
    if (!res->t1)
        res->t1 = now_ns();
    load_client_fini(&c);
    res->exited = 1;
    _exit(0);
}

/* --- the daemon, from /proc --- */

struct daemon_sample {
    long rss_kb, hwm_kb, fds;
};

static long status_kb(const char *text, const char *key) {
    const char *p = strstr(text, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static void sample_daemon(int pid, struct daemon_sample *s) {
    char path[64], buf[4096];
    s->rss_kb = s->hwm_kb = s->fds = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "re");
    if (f) {
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = 0;
        fclose(f);
        s->rss_kb = status_kb(buf, "VmRSS:");
        s->hwm_kb = status_kb(buf, "VmHWM:");
    }
    snprintf(path, sizeof(path), "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (d) {
        s->fds = 0;
        for (struct dirent *e; (e = readdir(d));)
            s->fds += e->d_name[0] != '.';
        closedir(d);
    }
}

/* --- options --- */

static int usage(void) {
    fprintf(stderr,
            "usage: iop-load [--clients N] [--ops M | --seconds S] [--mix OP[:WEIGHT],...]\n"
            "                [--slow OP[:PROCS],...] [--pid PID] [--settle-ms MS] [--json | --quiet]\n"
            "                [--dev PATH] [--iop N] [--tid TID] [--disk TID] [--bsa-len N] [--bsa-span N]\n"
            "                [--sw-size N] [--big-sw-size N] [--usb TID:EP] [--mon PATH] [--max-samples N]\n"
            "                [--compare PATH] [--usb-dev VID:PID[:OUT:IN]] [--usb-len N] [--allow OP=OUTCOME,...]\n"
            "                [--stop-file PATH]\n"
            "       iop-load --list      the operations\n");
    return 2;
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *out) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 0);
    if (errno || end == s || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_uint(const char *s, unsigned max, unsigned *out) {
    unsigned long v;
    if (parse_ulong(s, max, &v) < 0)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* "op[:n],op[:n]" into list; *total gets the sum of the numbers. */
static int parse_list(const char *arg, struct mix_entry *list, unsigned *n, unsigned *total) {
    char *copy = strdup(arg), *save = NULL;
    int r = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && r == 0; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        unsigned w = 1;
        if (colon) {
            *colon = 0;
            if (parse_uint(colon + 1, 1000000, &w) < 0 || w == 0)
                r = -1;
        }
        const struct load_op *op = load_op_find(tok);
        if (!op || *n >= MAX_MIX) {
            fprintf(stderr, "iop-load: unknown operation \"%s\" (iop-load --list)\n", tok);
            r = -1;
            break;
        }
        list[(*n)++] = (struct mix_entry){ op, w };
        if (total)
            *total += w;
    }
    free(copy);
    return *n ? r : -1;
}

/* "op=outcome,op=outcome": outcomes that are not errors for that op. */
static int parse_allow(const char *arg, struct opts *o) {
    char *copy = strdup(arg), *save = NULL;
    int r = copy ? 0 : -1;
    for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && r == 0; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        const struct load_op *op = NULL;
        int code = -1;
        if (eq) {
            *eq = 0;
            op = load_op_find(tok);
            code = load_code_parse(eq + 1);
        }
        if (!op || code < 0 || o->n_allow >= MAX_ALLOW) {
            fprintf(stderr, "iop-load: --allow: \"%s\": not OP=OUTCOME\n", arg);
            r = -1;
            break;
        }
        o->allow[o->n_allow].op = op;
        o->allow[o->n_allow++].code = code;
    }
    free(copy);
    return r;
}

static int parse_opts(int argc, char **argv, struct opts *o) {
    enum { O_DEV = 256, O_IOP, O_TID, O_DISK, O_BSA_LEN, O_BSA_SPAN, O_SW, O_BIG_SW, O_USB, O_MON, O_SETTLE,
           O_LEAD, O_SAMPLES, O_LIST, O_PROBE, O_COMPARE, O_USB_DEV, O_USB_LEN, O_ALLOW, O_STOP_FILE };
    static const struct option lo[] = {
        { "clients", required_argument, NULL, 'c' }, { "ops", required_argument, NULL, 'n' },
        { "seconds", required_argument, NULL, 's' }, { "mix", required_argument, NULL, 'm' },
        { "slow", required_argument, NULL, 'S' },    { "pid", required_argument, NULL, 'p' },
        { "json", no_argument, NULL, 'j' },          { "quiet", no_argument, NULL, 'q' },
        { "dev", required_argument, NULL, O_DEV },   { "iop", required_argument, NULL, O_IOP },
        { "tid", required_argument, NULL, O_TID },   { "disk", required_argument, NULL, O_DISK },
        { "bsa-len", required_argument, NULL, O_BSA_LEN }, { "bsa-span", required_argument, NULL, O_BSA_SPAN },
        { "sw-size", required_argument, NULL, O_SW }, { "big-sw-size", required_argument, NULL, O_BIG_SW },
        { "usb", required_argument, NULL, O_USB },   { "mon", required_argument, NULL, O_MON },
        { "settle-ms", required_argument, NULL, O_SETTLE }, { "lead-ms", required_argument, NULL, O_LEAD },
        { "max-samples", required_argument, NULL, O_SAMPLES }, { "list", no_argument, NULL, O_LIST },
        { "probe", no_argument, NULL, O_PROBE },
        { "compare", required_argument, NULL, O_COMPARE },
        { "usb-dev", required_argument, NULL, O_USB_DEV }, { "usb-len", required_argument, NULL, O_USB_LEN },
        { "allow", required_argument, NULL, O_ALLOW }, { "stop-file", required_argument, NULL, O_STOP_FILE },
        { "help", no_argument, NULL, 'h' },          {}
    };
    *o = (struct opts){ .clients = 1, .ops = 1000, .settle_ms = 200, .lead_ms = 300, .pid = -1,
                        .max_samples = DEFAULT_SAMPLES,
                        .t = { .dev = "/dev/i2o/ctl", .bsa_len = 4096, .bsa_span = 1u << 20, .sw_size = 8192,
                               .big_sw_size = 8u << 20, .usb_len = 64 } };
    const char *mix = "getiops,validate,lct,parmget";
    unsigned long ul;
    int c;
    while ((c = getopt_long(argc, argv, "c:n:s:m:S:p:jqh", lo, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'c': bad = parse_uint(optarg, MAX_PROCS, &o->clients) < 0 || o->clients == 0; break;
        case 'n': bad = parse_ulong(optarg, 1ul << 40, &ul) < 0; o->ops = ul; break;
        case 's': o->seconds = strtod(optarg, NULL); bad = !(o->seconds > 0 && o->seconds < 1e6); break;
        case 'm': mix = optarg; break;
        case 'S': bad = parse_list(optarg, o->slow, &o->n_slow, NULL) < 0; break;
        case 'p': bad = parse_ulong(optarg, 1u << 30, &ul) < 0; o->pid = (int)ul; break;
        case 'j': o->json = true; break;
        case 'q': o->quiet = true; break;
        case O_DEV: o->t.dev = optarg; break;
        case O_MON: o->t.mon_path = optarg; break;
        case O_IOP: bad = parse_uint(optarg, 1000, &o->t.iop) < 0; break;
        case O_TID: bad = parse_uint(optarg, 0xFFF, &o->t.tid) < 0; break;
        case O_DISK: bad = parse_uint(optarg, 0xFFF, &o->t.disk_tid) < 0; break;
        case O_BSA_LEN: bad = parse_uint(optarg, LOAD_DATA_MAX, &o->t.bsa_len) < 0 || !o->t.bsa_len; break;
        case O_BSA_SPAN: bad = parse_uint(optarg, 1u << 31, &o->t.bsa_span) < 0; break;
        case O_SW: bad = parse_uint(optarg, 64u << 20, &o->t.sw_size) < 0 || !o->t.sw_size; break;
        case O_BIG_SW: bad = parse_uint(optarg, 64u << 20, &o->t.big_sw_size) < 0 || !o->t.big_sw_size; break;
        case O_USB: {
            char *colon = strchr(optarg, ':');
            bad = !colon;
            if (!bad) {
                *colon = 0;
                bad = parse_uint(optarg, 0xFFF, &o->t.usb_tid) < 0 || parse_uint(colon + 1, 0xFF, &o->t.usb_ep) < 0;
            }
            break;
        }
        case O_SETTLE: bad = parse_uint(optarg, 600000, &o->settle_ms) < 0; break;
        case O_LEAD: bad = parse_uint(optarg, 600000, &o->lead_ms) < 0; break;
        case O_SAMPLES: bad = parse_uint(optarg, 1u << 28, &o->max_samples) < 0; break;
        case O_LIST:
            for (unsigned i = 0; i < load_n_ops; i++)
                printf("%-10s %s%s\n", load_ops[i].name, load_ops[i].help, load_ops[i].slow ? " [slow]" : "");
            exit(0);
        case O_PROBE: o->probe = true; break;
        case O_COMPARE: o->t.cmp_dev = optarg; break;
        case O_USB_DEV: {
            int n = sscanf(optarg, "%x:%x:%i:%i", &o->t.usb_vid, &o->t.usb_pid, &o->t.usb_out, &o->t.usb_in);
            bad = (n != 2 && n != 4) || o->t.usb_vid > 0xFFFF || o->t.usb_pid > 0xFFFF;
            o->t.have_usb_dev = !bad;
            break;
        }
        case O_USB_LEN: bad = parse_uint(optarg, 4096, &o->t.usb_len) < 0 || !o->t.usb_len; break;
        case O_ALLOW: bad = parse_allow(optarg, o) < 0; break;
        case O_STOP_FILE: o->stop_file = optarg; break;
        default: return usage();
        }
        if (bad) {
            fprintf(stderr, "iop-load: bad option value \"%s\"\n", optarg);
            return usage();
        }
    }
    if (optind != argc || parse_list(mix, o->mix, &o->n_mix, &o->total_weight) < 0)
        return usage();
    unsigned procs = o->clients;
    for (unsigned i = 0; i < o->n_slow; i++)
        procs += o->slow[i].weight;
    if (procs > MAX_PROCS) {
        fprintf(stderr, "iop-load: at most %u processes\n", MAX_PROCS);
        return 2;
    }
    if (load_n_ops > MAX_OPS) {
        fprintf(stderr, "iop-load: built with too many operations\n");
        return 2;
    }
    return 0;
}

/* --- the report --- */

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

struct lat {
    uint64_t n;
    uint32_t p50, p90, p99, max;
};

/* Latencies of op (or of every op, op < 0) in the given processes. */
static struct lat latency(const struct proc_res *res, uint32_t *const *samples, unsigned from, unsigned to,
                          int op) {
    struct lat l = { 0 };
    uint64_t n = 0;
    for (unsigned p = from; p < to; p++)
        n += res[p].n_samples;
    uint32_t *v = malloc((n ? n : 1) * sizeof(*v));
    if (!v)
        return l;
    for (unsigned p = from; p < to; p++)
        for (uint64_t i = 0; i < res[p].n_samples; i++)
            if (!(samples[p][i] >> CMP_BIT) && (op < 0 || sample_op(samples[p][i]) == (unsigned)op))
                v[l.n++] = sample_us(samples[p][i]);
    if (l.n) {
        qsort(v, l.n, sizeof(*v), cmp_u32);
        l.p50 = v[(l.n - 1) * 50 / 100];
        l.p90 = v[(l.n - 1) * 90 / 100];
        l.p99 = v[(l.n - 1) * 99 / 100];
        l.max = v[l.n - 1];
    }
    free(v);
    return l;
}

/* The op's counts summed over processes [from, to). */
static struct op_stats sum_op(const struct proc_res *res, unsigned from, unsigned to, unsigned op) {
    struct op_stats s = { 0 };
    for (unsigned p = from; p < to; p++) {
        const struct op_stats *x = &res[p].op[op];
        s.n += x->n;
        s.n_err += x->n_err;
        s.n_unexpected += x->n_unexpected;
        s.n_other += x->n_other;
        for (unsigned i = 0; i < MAX_CODES && x->codes[i].n; i++) {
            unsigned k = 0;
            while (k < MAX_CODES && s.codes[k].n && s.codes[k].code != x->codes[i].code)
                k++;
            if (k == MAX_CODES) {
                s.n_other += x->codes[i].n;
                continue;
            }
            s.codes[k].code = x->codes[i].code;
            s.codes[k].n += x->codes[i].n;
        }
    }
    return s;
}

static void print_codes(const struct op_stats *s, bool json) {
    char name[48];
    bool first = true;
    for (unsigned i = 0; i < MAX_CODES && s->codes[i].n; i++) {
        load_code_name(s->codes[i].code, name, sizeof(name));
        if (json)
            printf("%s\"%s\":%llu", first ? "" : ",", name, (unsigned long long)s->codes[i].n);
        else
            printf(" %s=%llu", name, (unsigned long long)s->codes[i].n);
        first = false;
    }
    if (s->n_other)
        printf(json ? "%s\"other\":%llu" : "%s other=%llu", json && !first ? "," : "",
               (unsigned long long)s->n_other);
}

static void print_op(const char *name, const struct op_stats *s, const struct lat *l, bool json, bool first) {
    if (json) {
        printf("%s\"%s\":{\"n\":%llu,\"errors\":%llu,\"unexpected\":%llu,\"codes\":{", first ? "" : ",", name,
               (unsigned long long)s->n, (unsigned long long)s->n_err, (unsigned long long)s->n_unexpected);
        print_codes(s, true);
        printf("},\"p50_us\":%u,\"p90_us\":%u,\"p99_us\":%u,\"max_us\":%u}", l->p50, l->p90, l->p99, l->max);
    } else {
        printf("  %-10s n=%llu errors=%llu unexpected=%llu p50_us=%u p90_us=%u p99_us=%u max_us=%u", name,
               (unsigned long long)s->n, (unsigned long long)s->n_err, (unsigned long long)s->n_unexpected,
               l->p50, l->p90, l->p99, l->max);
        print_codes(s, false);
        printf("\n");
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* --compare: for each op, the pairs (this node, the other node) of consecutive calls:
 * the median of the per-pair ratios (and its 10th/90th percentiles), and both medians. */
static void print_compare(const struct opts *o, const struct proc_res *res, uint32_t *const *samples,
                          unsigned from, unsigned to) {
    bool first = true;
    if (o->json)
        printf(",\"compare\":{");
    for (unsigned k = 0; k < load_n_ops; k++) {
        uint64_t n = 0;
        for (unsigned p = from; p < to; p++)
            n += res[p].n_samples / 2;
        double *ratio = malloc((n ? n : 1) * sizeof(double));
        uint32_t *a = malloc((n ? n : 1) * sizeof(uint32_t)), *b = malloc((n ? n : 1) * sizeof(uint32_t));
        uint64_t m = 0;
        for (unsigned p = from; p < to && ratio && a && b; p++)
            for (uint64_t i = 0; i + 1 < res[p].n_samples; i += 2) {
                uint32_t x = samples[p][i], y = samples[p][i + 1];
                if (sample_op(x) != k || (x >> CMP_BIT) || !(y >> CMP_BIT))
                    continue;
                a[m] = sample_us(x);
                b[m] = sample_us(y);
                ratio[m] = (double)(a[m] ? a[m] : 1) / (double)(b[m] ? b[m] : 1);
                m++;
            }
        if (m) {
            qsort(ratio, m, sizeof(*ratio), cmp_double);
            qsort(a, m, sizeof(*a), cmp_u32);
            qsort(b, m, sizeof(*b), cmp_u32);
            double med = ratio[(m - 1) / 2], p10 = ratio[(m - 1) / 10], p90 = ratio[(m - 1) * 9 / 10];
            uint32_t ma = a[(m - 1) / 2], mb = b[(m - 1) / 2];
            if (o->json)
                printf("%s\"%s\":{\"pairs\":%llu,\"p50_us\":%u,\"p50_us_cmp\":%u,\"pair_ratio_median\":%.4f,"
                       "\"pair_ratio_p10\":%.4f,\"pair_ratio_p90\":%.4f,\"median_ratio\":%.4f}",
                       first ? "" : ",", load_ops[k].name, (unsigned long long)m, ma, mb, med, p10, p90,
                       mb ? (double)ma / mb : 0.0);
            else
                printf("  compare %-10s pairs=%llu p50_us=%u p50_us_cmp=%u pair_ratio_median=%.3f p10=%.3f p90=%.3f "
                       "median_ratio=%.3f\n",
                       load_ops[k].name, (unsigned long long)m, ma, mb, med, p10, p90, mb ? (double)ma / mb : 0.0);
            first = false;
        }
        free(ratio);
        free(a);
        free(b);
    }
    if (o->json)
        printf("}");
}

/* The lengths the daemon answers with, for a stand-in that must move the same bytes. */
static int probe(const struct opts *o) {
    static const char *const names[] = { "hrt", "lct", "parmget", "parmset", "html" };
    struct load_client c;
    int r = load_client_init(&c, &o->t, 0, LOAD_DEV_CTL);
    if (r) {
        fprintf(stderr, "iop-load: %s: %s\n", o->t.dev, strerror(r));
        return 3;
    }
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        r = load_op_find(names[i])->run(&c);
        if (r && r != ENOBUFS) {
            char name[48];
            fprintf(stderr, "iop-load: --probe: %s: %s\n", names[i], load_code_name(r, name, sizeof(name)));
            load_client_fini(&c);
            return 1;
        }
        printf("%s%s=%u", i ? "," : "", names[i], c.last_len);
    }
    printf("\n");
    load_client_fini(&c);
    return 0;
}

int main(int argc, char **argv) {
    struct opts o;
    int r = parse_opts(argc, argv, &o);
    if (r)
        return r;
    if (o.probe)
        return probe(&o);
    unsigned n_procs = o.clients;
    for (unsigned i = 0; i < o.n_slow; i++)
        n_procs += o.slow[i].weight;
    unsigned cap = o.max_samples / (n_procs ? n_procs : 1);
    if (o.seconds <= 0 && o.ops < cap)
        cap = (unsigned)o.ops;
    if (cap == 0)
        cap = 1;

    /* Results and samples live in memory the children share with us. */
    size_t res_bytes = n_procs * sizeof(struct proc_res);
    size_t sample_bytes = (size_t)n_procs * cap * sizeof(uint32_t);
    struct proc_res *res = mmap(NULL, res_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint32_t *sample_mem = mmap(NULL, sample_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint32_t **samples = calloc(n_procs, sizeof(*samples));
    pid_t *pids = calloc(n_procs, sizeof(*pids));
    if (res == MAP_FAILED || sample_mem == MAP_FAILED || !samples || !pids) {
        fprintf(stderr, "iop-load: out of memory\n");
        return 1;
    }
    for (unsigned p = 0; p < n_procs; p++)
        samples[p] = sample_mem + (size_t)p * cap;

    int ready[2], go[2];
    if (pipe(ready) < 0 || pipe(go) < 0) {
        perror("iop-load: pipe");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    struct daemon_sample before = { -1, -1, -1 }, after = { -1, -1, -1 };
    if (o.pid > 0)
        sample_daemon(o.pid, &before);
    fflush(stdout);
    /* Slow processes first (they get going right away), then the clients. */
    unsigned p = 0, n_clients_from = 0;
    for (unsigned i = 0; i < o.n_slow; i++)
        for (unsigned k = 0; k < o.slow[i].weight; k++, p++) {
            pids[p] = fork();
            if (pids[p] == 0) {
                close(ready[0]);
                close(go[1]);
                child(&o, p, o.slow[i].op, &res[p], samples[p], cap, ready[1], go[0]);
            }
        }
    n_clients_from = p;
    for (unsigned i = 0; i < o.clients; i++, p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            close(ready[0]);
            close(go[1]);
            child(&o, p, NULL, &res[p], samples[p], cap, ready[1], go[0]);
        }
    }
    close(ready[1]);
    close(go[0]);
    unsigned got = 0;
    char b;
    while (got < n_procs && read(ready[0], &b, 1) == 1)
        got++;
    close(ready[0]);
    int open_err = 0;
    for (unsigned i = 0; i < n_procs; i++)
        if (pids[i] < 0 || res[i].init_err)
            open_err = pids[i] < 0 ? errno : res[i].init_err;
    if (o.n_slow && o.lead_ms)
        usleep(o.lead_ms * 1000u);
    close(go[1]); /* go */

    for (unsigned i = n_clients_from; i < n_procs; i++)
        if (pids[i] > 0)
            waitpid(pids[i], NULL, 0);
    /* Stop the slow processes: SIGTERM to all, then again until they are gone, SIGKILL
     * after 10 s.  One that SIGKILL does not end within 10 s more is waiting in the
     * kernel for an answer the daemon never gives: reported, not waited for. */
    uint64_t give_up = now_ns() + 10000000000ull, abandon = give_up + 10000000000ull;
    unsigned killed = 0, left = 0;
    for (unsigned i = 0; i < n_clients_from; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGTERM), left++;
    while (left && now_ns() < abandon) {
        usleep(20000);
        for (unsigned i = 0; i < n_clients_from; i++) {
            if (pids[i] <= 0)
                continue;
            pid_t w = waitpid(pids[i], NULL, WNOHANG);
            if (w == pids[i] || (w < 0 && errno == ECHILD)) {
                killed += !res[i].exited;
                pids[i] = 0;
                left--;
            } else {
                kill(pids[i], now_ns() < give_up ? SIGTERM : SIGKILL);
            }
        }
    }
    if (left)
        fprintf(stderr, "iop-load: %u slow processes did not end even on SIGKILL (a call the daemon never "
                "answers)\n", left);
    killed += left;
    if (o.pid > 0) {
        usleep(o.settle_ms * 1000u);
        sample_daemon(o.pid, &after);
    }

    /* The clients' window: first start to last end. */
    uint64_t t0 = UINT64_MAX, t1 = 0, total = 0, errors = 0, unexpected = 0, urb[3] = { 0, 0, 0 };
    for (unsigned i = 0; i < n_procs; i++)
        urb[0] += res[i].urb_ok, urb[1] += res[i].urb_error, urb[2] += res[i].urb_refused;
    for (unsigned i = n_clients_from; i < n_procs; i++) {
        if (res[i].t0 && res[i].t0 < t0)
            t0 = res[i].t0;
        if (res[i].t1 > t1)
            t1 = res[i].t1;
        total += res[i].ops;
    }
    double secs = t1 > t0 ? (double)(t1 - t0) / 1e9 : 0;
    for (unsigned k = 0; k < load_n_ops; k++) {
        struct op_stats s = sum_op(res, 0, n_procs, k);
        errors += s.n_err;
        unexpected += s.n_unexpected;
        for (unsigned q = 0; q < n_procs; q++) {
            errors += res[q].op_cmp[k].n_err;
            unexpected += res[q].op_cmp[k].n_unexpected;
        }
    }
    struct lat all = latency(res, samples, n_clients_from, n_procs, -1);
    char mixs[512] = "";
    for (unsigned i = 0; i < o.n_mix; i++)
        snprintf(mixs + strlen(mixs), sizeof(mixs) - strlen(mixs), "%s%s:%u", i ? "," : "", o.mix[i].op->name,
                 o.mix[i].weight);

    if (o.json) {
        printf("{\"clients\":%u,\"mix\":\"%s\",\"ops\":%llu,\"seconds\":%.6f,\"ops_per_s\":%.1f,\"errors\":%llu,"
               "\"unexpected\":%llu,\"start_errno\":%d,\"p50_us\":%u,\"p99_us\":%u,\"per_op\":{",
               o.clients, mixs, (unsigned long long)total, secs, secs > 0 ? (double)total / secs : 0,
               (unsigned long long)errors, (unsigned long long)unexpected, open_err, all.p50, all.p99);
        bool first = true;
        for (unsigned k = 0; k < load_n_ops; k++) {
            struct op_stats s = sum_op(res, n_clients_from, n_procs, k);
            if (!s.n)
                continue;
            struct lat l = latency(res, samples, n_clients_from, n_procs, (int)k);
            print_op(load_ops[k].name, &s, &l, true, first);
            first = false;
        }
        printf("},\"slow\":{");
        for (unsigned i = 0, from = 0; i < o.n_slow; from += o.slow[i].weight, i++) {
            unsigned k = op_index(o.slow[i].op);
            struct op_stats s = sum_op(res, from, from + o.slow[i].weight, k);
            struct lat l = latency(res, samples, from, from + o.slow[i].weight, (int)k);
            print_op(load_ops[k].name, &s, &l, true, i == 0);
        }
        printf("},\"slow_killed\":%u,\"urbs\":{\"ok\":%llu,\"error\":%llu,\"refused\":%llu}", killed,
               (unsigned long long)urb[0], (unsigned long long)urb[1], (unsigned long long)urb[2]);
        if (o.t.cmp_dev)
            print_compare(&o, res, samples, n_clients_from, n_procs);
        if (o.pid > 0)
            printf(",\"daemon\":{\"pid\":%d,\"rss_kb_before\":%ld,\"rss_kb_after\":%ld,\"hwm_kb\":%ld,"
                   "\"fds_before\":%ld,\"fds_after\":%ld}",
                   o.pid, before.rss_kb, after.rss_kb, after.hwm_kb, before.fds, after.fds);
        printf("}\n");
    } else {
        printf("iop-load: clients=%u mix=%s ops=%llu seconds=%.3f ops_per_s=%.0f errors=%llu unexpected=%llu "
               "p50_us=%u p99_us=%u%s\n",
               o.clients, mixs, (unsigned long long)total, secs, secs > 0 ? (double)total / secs : 0,
               (unsigned long long)errors, (unsigned long long)unexpected, all.p50, all.p99,
               open_err ? " (some processes could not start)" : "");
        if (!o.quiet) {
            for (unsigned k = 0; k < load_n_ops; k++) {
                struct op_stats s = sum_op(res, n_clients_from, n_procs, k);
                if (!s.n)
                    continue;
                struct lat l = latency(res, samples, n_clients_from, n_procs, (int)k);
                print_op(load_ops[k].name, &s, &l, false, false);
            }
            for (unsigned i = 0, from = 0; i < o.n_slow; from += o.slow[i].weight, i++) {
                unsigned k = op_index(o.slow[i].op);
                struct op_stats s = sum_op(res, from, from + o.slow[i].weight, k);
                struct lat l = latency(res, samples, from, from + o.slow[i].weight, (int)k);
                printf("  slow x%u:", o.slow[i].weight);
                print_op(load_ops[k].name, &s, &l, false, false);
            }
            if (o.t.cmp_dev)
                print_compare(&o, res, samples, n_clients_from, n_procs);
            if (killed)
                printf("  slow processes that had to be killed: %u\n", killed);
            if (urb[0] || urb[1] || urb[2])
                printf("  URBs: %llu completed with status 0, %llu with an error, %llu refused before an URB\n",
                       (unsigned long long)urb[0], (unsigned long long)urb[1], (unsigned long long)urb[2]);
            if (o.pid > 0)
                printf("  daemon pid=%d rss_kb=%ld->%ld hwm_kb=%ld fds=%ld->%ld\n", o.pid, before.rss_kb,
                       after.rss_kb, after.hwm_kb, before.fds, after.fds);
        }
    }
    fflush(stdout);
    free(samples);
    free(pids);
    munmap(res, res_bytes);
    munmap(sample_mem, sample_bytes);
    if (open_err) {
        char name[48];
        fprintf(stderr, "iop-load: %s: %s\n", o.t.dev, load_code_name(open_err, name, sizeof(name)));
        return open_err == ENOENT || open_err == EACCES || open_err == ENODEV ? 3 : 1;
    }
    return unexpected ? 1 : 0;
}
