/* The operations iop-load's clients run: one I2O ioctl each (or one blocking call for
 * the "slow" kinds), written against <linux/i2o-dev.h> alone, as any client program
 * would be.  Each returns a result code:
 *     0                        success
 *     1 .. LOAD_CODE_STATUS-1  the ioctl failed with this errno
 *     LOAD_CODE_STATUS + s     the call returned, but the IOP refused: ReqStatus s (a
 *                              positive ioctl result, or a non-zero reply status)
 *     LOAD_CODE_URB + e        a USB transfer's URB completed with status -e ("urb:EPIPE")
 *     LOAD_CODE_NODEVICE       the --usb-dev device is not in the LCT (unplugged)
 *     LOAD_CODE_SHORT          a USB transfer moved fewer bytes than asked
 * A code equal to the op's `expect` counts as an expected outcome, not an error that
 * needs explaining (e.g. I2OEVTGET with nothing queued is ENOENT); LOAD_EXPECT_ANY
 * takes every outcome (hostile calls: only an answer matters). */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOAD_CODE_STATUS 4096
#define LOAD_CODE_URB 8192
#define LOAD_CODE_NODEVICE 12288
#define LOAD_CODE_SHORT 12289
#define LOAD_EXPECT_ANY (-1)

/* What the operations address; the defaults suit iopd's built-in configuration. */
struct load_target {
    const char *dev;       /* the control node, "/dev/i2o/ctl" */
    const char *mon_path;  /* a usbmon node for "mon-read", NULL: none */
    const char *cmp_dev;   /* --compare: a second node every call is also made on */
    unsigned iop;          /* unit for every op */
    unsigned tid;          /* parmget / parmset / html / evtreg */
    unsigned disk_tid;     /* block storage TID for bsa-read / bsa-write, 0: none */
    unsigned bsa_len;      /* bytes per block op (a multiple of the block size) */
    unsigned bsa_span;     /* ops address [0, bsa_span) bytes of the disk */
    unsigned sw_size;      /* bytes of the module swdl / swul move */
    unsigned big_sw_size;  /* bytes of the module swdl-big moves */
    unsigned usb_tid, usb_ep; /* usb-intr: an interrupt IN endpoint that stays quiet */
    /* usb, usbin, usbctl: a device found in the LCT by vendor and product (again after
     * every failure: it may be unplugged and come back under another TID), its bulk
     * OUT and IN endpoint numbers (a Loopback gadget) and the bytes per transfer. */
    bool have_usb_dev;
    unsigned usb_vid, usb_pid, usb_out, usb_in, usb_len;
};

enum load_dev { LOAD_DEV_CTL, LOAD_DEV_MON };

struct load_client {
    const struct load_target *t;
    unsigned id;           /* 0.., unique per process of one run */
    int fd;
    int fd_cmp;            /* the --compare node, -1: none */
    uint32_t *msg;         /* MAP_32BIT: frame + reply area for I2OPASSTHRU */
    uint8_t *data;         /* MAP_32BIT: SG data, LOAD_DATA_MAX bytes */
    uint8_t *res;          /* result buffer (tables, parameters, pages, reads) */
    uint8_t *guard;        /* a page that is never mapped: hostile pointers */
    uint64_t rng;
    bool have_module;      /* swul: this client's module is stored */
    uint32_t last_len;     /* the *reslen the last table/params/html call got back */
    uint16_t *tids;        /* parmget-any: the TIDs of the IOP's LCT (malloc'ed) */
    unsigned n_tids;
    int usb_dev_tid;       /* usb, usbin, usbctl: the device's TID, -1: look it up */
    /* USB transfers one by one: URB completed with status 0, with an error status, and
     * requests refused before any URB (ioctl errors, IOP refusals). */
    uint64_t urb_ok, urb_error, urb_refused;
    const volatile sig_atomic_t *stop; /* set when the process is told to stop, or NULL:
                                        * multi-call ops (a big download) end early, EINTR */
};

#define LOAD_DATA_MAX (128u * 1024u)
#define LOAD_RES_MAX (128u * 1024u)

struct load_op {
    const char *name;
    const char *help;
    enum load_dev dev;
    int expect;            /* a code that is not an error here, 0: none */
    bool slow;             /* meant for --slow: may block for as long as it likes */
    int (*setup)(struct load_client *c); /* once per process before the start, or NULL */
    int (*run)(struct load_client *c);
};

extern const struct load_op load_ops[];
extern const unsigned load_n_ops;
const struct load_op *load_op_find(const char *name);

/* Open the node the op needs and map the buffers.  Returns 0 or an errno. */
int load_client_init(struct load_client *c, const struct load_target *t, unsigned id, enum load_dev dev);
void load_client_fini(struct load_client *c);

/* "ENOENT", "ReqStatus 0x05", "urb:EPIPE", "nodevice", "short", "ok". */
const char *load_code_name(int code, char *buf, size_t cap);
/* The code of such a name ("req0x05" for "ReqStatus 0x05" too), -1: not one. */
int load_code_parse(const char *name);
