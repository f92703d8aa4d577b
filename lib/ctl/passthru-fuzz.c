#include "lib/ctl/passthru-fuzz.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <linux/i2o-dev.h>

#include "lib/config/config.h"
#include "lib/ctl/ctl.h"
#include "lib/i2o/iop.h"
#include "lib/i2o/isa-path.h"
#include "lib/i2o/msg.h"
#include "lib/i2o/usbtids.h"
#include "lib/state/state.h"
#include "lib/swstore/swstore.h"
#include "lib/umem/umem-space.h"
#include "lib/usb/backend-sim.h"
#include "lib/usb/engine.h"
#include "lib/usb/urb.h"
#include "lib/util/bytes.h"
#include "lib/util/fuzz-scratch.h"
#include "lib/util/fuzz.h"

#define CALLS 4u
#define MAX_OPS 32u
#define MSG_ADDR 0x10000u
#define DATA_ADDR 0x20000u
#define ARG_ADDR 0x30000u
#define DATA_MAX 8192u
#define BODY_MAX 24u
#define SGL_MAX 4u
#define REPLY_MAX 40u

static const char model_json[] =
    "{ \"iops\": ["
    " { \"unit\": 0, \"adapters\": [ { \"adapter_id\": 1, \"bus\": \"isa\", \"io_port\": \"0x330\", \"dma_channel\": 5 } ],"
    "   \"devices\": ["
    "    { \"tid\": \"0x008\", \"class\": \"ddm\" },"
    "    { \"tid\": \"0x009\", \"class\": \"bus-adapter\", \"parent\": \"0x008\", \"adapter\": 1 },"
    "    { \"tid\": \"0x00d\", \"class\": \"bus-adapter\", \"parent\": \"0x008\", \"scsi_port\": true },"
    "    { \"tid\": \"0x00a\", \"class\": \"block-storage\", \"parent\": \"0x00d\", \"blocks\": 32, \"block_size\": 512,"
    "      \"scsi_bus\": 0, \"scsi_target\": 0 },"
    "    { \"tid\": \"0x00e\", \"class\": \"scsi-peripheral\", \"parent\": \"0x00d\", \"blocks\": 16, \"block_size\": 512,"
    "      \"scsi_bus\": 0, \"scsi_target\": 1 },"
    "    { \"tid\": \"0x00b\", \"class\": \"lan\", \"parent\": \"0x008\" },"
    "    { \"tid\": \"0x00c\", \"class\": \"bus-adapter\", \"parent\": \"0x008\", \"usb\": true } ] },"
    " { \"unit\": 2, \"answers\": false } ] }";

/* Interface 0: bulk OUT 0x01 and IN 0x81 (a loopback pair), interrupt IN 0x82;
 * interface 1: isochronous IN 0x83 and OUT 0x03. */
#define CONFIG_LEN 62
static const uint8_t dev_config[CONFIG_LEN] = {
    9, 2, CONFIG_LEN, 0, 2, 1, 0, 0x80, 50,
    9, 4, 0, 0, 3, 0xff, 0, 0, 0,
    7, 5, 0x01, 0x02, 0x00, 0x02, 0,
    7, 5, 0x81, 0x02, 0x00, 0x02, 0,
    7, 5, 0x82, 0x03, 0x08, 0x00, 4,
    9, 4, 1, 0, 2, 0xff, 0, 0, 0,
    7, 5, 0x83, 0x01, 0x00, 0x02, 1,
    7, 5, 0x03, 0x01, 0x00, 0x01, 1,
};
static const uint8_t *const dev_configs[] = { dev_config };

static const uint8_t functions[] = { IOP_FN_UTIL_NOP, IOP_FN_UTIL_PARAMS_SET, IOP_FN_UTIL_PARAMS_GET,
                                     IOP_FN_UTIL_CONFIG_DIALOG, IOP_FN_UTIL_EVT_REGISTER,
                                     IOP_FN_BSA_BLOCK_READ, IOP_FN_BSA_BLOCK_WRITE, 0x37 /* cache flush */,
                                     IOP_FN_EXEC_STATUS_GET, IOP_FN_EXEC_LCT_NOTIFY, IOP_FN_EXEC_HRT_GET,
                                     IOP_FN_EXEC_SW_DOWNLOAD, IOP_FN_EXEC_CONFIG_VALIDATE, IOP_FN_PRIVATE,
                                     IOP_FN_PRIVATE, IOP_FN_PRIVATE };
static const uint16_t tids[] = { 0x000, 0x008, 0x009, 0x00a, 0x00b, 0x00c, 0x100, 0x100, 0x101, 0x102, 0xFFF,
                                 0x00d, 0x00e };

/* One I2OPASSTHRU call and the caller memory it owns until it completes. */
struct pt_call {
    bool used, pending;
    unsigned done_calls;
    int result;
    struct iop_ctl_async async;
    struct iop_umem_space u;
    uint8_t arg[16];
    uint32_t msg[IOP_INBOUND_FRAME_WORDS + REPLY_MAX + 1];
    uint8_t data[DATA_MAX];
};

struct fz {
    char dir[IOP_FUZZ_SCRATCH_PATH_MAX];
    struct iop_state_dir *sd;
    struct iop_swstore *sw;
    struct iop_isa_path *isa;
    struct iop_system *sys;
    struct iop_ctl *ctl;
    struct iop_ctl_file *file;
    struct iop_usb_engine *e;
    struct iop_usb_tids *tids;
    struct iop_usb_sim_dev *dev[3]; /* A, B, C */
    bool plugged[3];
    bool started;                   /* start-up done: C must see nothing from here on */
    int violation;
    struct iop_urb_monitor monitor;
    struct pt_call call[CALLS];
};

static bool is_dev(const struct fz *f, unsigned i, const struct iop_urb *urb) {
    return f->plugged[i] && urb->busnum == iop_usb_sim_busnum(f->dev[i]) &&
           urb->devnum == iop_usb_sim_devnum(f->dev[i]);
}

/* Every URB after the engine's checks: the allow and claim lists must have held. */
static void on_submit(void *ctx, const struct iop_urb *urb) {
    struct fz *f = ctx;
    if (f->violation)
        return;
    if (f->started && is_dev(f, 2, urb))
        f->violation = IOP_FUZZ_FAIL("passthru: an URB reached the device the allow list excludes");
    if (is_dev(f, 1, urb) && (urb->endpoint != 0 || !urb->setup_packet ||
                              (urb->setup_packet[0] & (IOP_USB_TYPE_MASK | IOP_USB_DIR_IN)) !=
                                  (IOP_USB_TYPE_STANDARD | IOP_USB_DIR_IN)))
        f->violation = IOP_FUZZ_FAIL("passthru: an unclaimed device got ep %u request 0x%02x", urb->endpoint,
                                     urb->setup_packet ? urb->setup_packet[0] : 0);
}

static int vendor(void *data, const uint8_t *setup, uint8_t *buf, uint16_t len) {
    (void)data;
    if (!(setup[0] & IOP_USB_DIR_IN))
        return 0;
    for (uint16_t i = 0; i < len && i < 16; i++)
        buf[i] = (uint8_t)(setup[1] + i);
    return len < 16 ? len : 16;
}

static int plug(struct fz *f, unsigned i) {
    static const uint16_t ids[3][2] = { { 0x1234, 0x5678 }, { 0x1234, 0x9999 }, { 0x4321, 0x0001 } };
    uint8_t desc[18] = { 18, 1, 0x00, 0x02, 0xff, 0, 0, 64, 0, 0, 0, 0, 0x00, 0x01, 0, 0, 0, 1 };
    iop_put_le16(desc + 8, ids[i][0]);
    iop_put_le16(desc + 10, ids[i][1]);
    struct iop_usb_sim_device spec = { .speed = IOP_USB_SPEED_HIGH, .device_descriptor = desc,
                                       .configs = dev_configs, .n_configs = 1, .active_config = 1,
                                       .port_depth = 1, .port_path = { (uint8_t)(i + 1) } };
    int r = iop_usb_sim_plug(f->e, &spec, &f->dev[i]);
    if (r < 0)
        return r;
    f->plugged[i] = true;
    static const struct iop_usb_sim_ep_config loop_out = { .mode = IOP_USB_SIM_LOOPBACK, .partner = 0x81 };
    static const struct iop_usb_sim_ep_config loop_in = { .mode = IOP_USB_SIM_LOOPBACK, .partner = 0x01 };
    static const struct iop_usb_sim_ep_config source = { .mode = IOP_USB_SIM_SOURCE };
    static const struct iop_usb_sim_ep_config canned = { .mode = IOP_USB_SIM_CANNED, .delay_usec = 2000 };
    iop_usb_sim_ep_set(f->dev[i], 0x01, &loop_out);
    iop_usb_sim_ep_set(f->dev[i], 0x81, &loop_in);
    iop_usb_sim_ep_set(f->dev[i], 0x82, &canned);
    iop_usb_sim_ep_set(f->dev[i], 0x83, &source);
    iop_usb_sim_ep_set(f->dev[i], 0x03, &source);
    iop_usb_sim_set_control(f->dev[i], vendor, NULL);
    iop_usb_sim_advance(f->e, 0); /* enumeration */
    return 0;
}

static int setup(struct fz *f) {
    struct iop_config *cfg = NULL;
    int r = iop_config_parse(model_json, strlen(model_json), "model", &cfg, NULL);
    if (r == 0)
        r = iop_system_new_from_config(cfg, &f->sys);
    iop_config_free(cfg);
    if (r < 0)
        return IOP_FUZZ_FAIL("passthru: the model does not build (%d)", r);
    if (iop_fuzz_scratch_new(f->dir) < 0 || iop_state_dir_open(f->dir, &f->sd) < 0)
        return 1;
    if ((r = iop_isa_path_new(5, &f->isa)) < 0 || (r = iop_swstore_new(f->sd, NULL, &f->sw)) < 0)
        return r;
    struct iop_controller *c = f->sys->iop[0];
    c->state = f->sd;
    c->isa = f->isa;
    c->sw = f->sw;
    if ((r = iop_ctl_new(f->sys, &f->ctl)) < 0 || (r = iop_ctl_open(f->ctl, &f->file)) < 0)
        return r;
    static const struct iop_usb_sim_config manual = { .manual_clock = true };
    if ((r = iop_usb_engine_new(NULL, &iop_usb_backend_sim, &manual, &f->e)) < 0)
        return r;
    f->monitor = (struct iop_urb_monitor){ .submit = on_submit, .ctx = f };
    iop_usb_engine_set_monitor(f->e, &f->monitor);
    struct iop_usb_policy pol = { .n_allow = 1, .allow = { { .vid = 0x1234, .any_pid = true } },
                                  .n_claim = 1, .claim = { { .vid = 0x1234, .pid = 0x5678 } } };
    if ((r = iop_usb_tids_new(f->e, &pol, NULL, &f->tids)) < 0 || (r = iop_usb_tids_attach(f->tids, f->sys)) < 0 ||
        (r = iop_usb_engine_start(f->e)) < 0)
        return r;
    for (unsigned i = 0; i < 3; i++)
        if ((r = plug(f, i)) < 0)
            return r;
    f->started = true;
    if (iop_usb_tids_count(f->tids) != 2)
        return IOP_FUZZ_FAIL("passthru: %u USB TIDs, expected A and B", iop_usb_tids_count(f->tids));
    return 0;
}

static bool result_ok(int r) {
    if (r >= 0)
        return r <= 0xFF;
    switch (-r) {
    case EFAULT: case ENXIO: case EINVAL: case ENOMEM: case ETIMEDOUT: case EINTR: case ENOTTY:
        return true;
    default:
        return false;
    }
}

static void call_done(struct iop_ctl_async *a, int result) {
    struct pt_call *c = (struct pt_call *)((char *)a - offsetof(struct pt_call, async));
    c->done_calls++;
    c->result = result;
}

static int finish(struct pt_call *c) {
    int r = 0;
    if (getenv("IOPD_FUZZ_TRACE"))
        fprintf(stderr, "passthru: a waiting call completed %u times: %d (URB status %d)\n", c->done_calls,
                c->result, (int)c->msg[(c->msg[0] >> 16) + 6]);
    if (c->done_calls != 1)
        r = IOP_FUZZ_FAIL("passthru: a waiting call completed %u times", c->done_calls);
    else if (!result_ok(c->result))
        r = IOP_FUZZ_FAIL("passthru: a waiting call ended with %d", c->result);
    c->used = c->pending = false;
    return r;
}

/* Collect calls that completed. */
static int reap(struct fz *f) {
    for (unsigned i = 0; i < CALLS; i++) {
        struct pt_call *c = &f->call[i];
        if (c->used && c->pending && c->done_calls) {
            int r = finish(c);
            if (r)
                return r;
        }
    }
    return f->violation;
}

static int op_message(struct fz *f, struct iop_fuzz_in *in) {
    struct pt_call *c = NULL;
    for (unsigned i = 0; i < CALLS && !c; i++)
        if (!f->call[i].used)
            c = &f->call[i];
    uint8_t flags = iop_fuzz_u8(in), fn = functions[iop_fuzz_u8(in) % sizeof(functions)];
    uint16_t tid = tids[iop_fuzz_u8(in) % (sizeof(tids) / sizeof(tids[0]))];
    uint32_t body[BODY_MAX];
    unsigned n_body = iop_fuzz_u8(in) % (BODY_MAX + 1);
    for (unsigned i = 0; i < n_body; i++)
        body[i] = iop_fuzz_u32(in);
    unsigned n_sgl = iop_fuzz_u8(in) % (SGL_MAX + 1);
    uint32_t sgl[2 * SGL_MAX];
    for (unsigned i = 0; i < n_sgl; i++) {
        uint8_t ef = iop_fuzz_u8(in);
        uint32_t len = iop_fuzz_u16(in), addr;
        uint8_t pick = iop_fuzz_u8(in);
        switch (pick % 4) {
        case 0: addr = DATA_ADDR; break;
        case 1: addr = DATA_ADDR + iop_fuzz_u16(in) % DATA_MAX; break;
        case 2: addr = 0xdead0000u; break;
        default: addr = iop_fuzz_u32(in); break;
        }
        sgl[2 * i] = ((ef & 2) ? 0x20000000u : IOP_SGL_SIMPLE) | ((ef & 1) ? IOP_SGL_DIR_TO_IOP : 0) |
                     ((ef & 4) || i + 1 < n_sgl ? 0 : IOP_SGL_LAST | IOP_SGL_END_OF_BUFFER) |
                     (len & IOP_SGL_COUNT_MASK);
        sgl[2 * i + 1] = addr;
    }
    unsigned reply_words = iop_fuzz_u8(in) % (REPLY_MAX + 1);
    const uint8_t *bytes;
    size_t n_bytes = iop_fuzz_bytes(in, iop_fuzz_u16(in) % (DATA_MAX + 1), &bytes);
    uint32_t raw_w0 = (flags & 4) ? iop_fuzz_u32(in) : 0;
    if (!c)
        return 0;

    memset(c, 0, sizeof(*c));
    c->used = true;
    unsigned words = 4 + n_body + 2 * n_sgl;
    c->msg[0] = (flags & 4) ? raw_w0 : words << 16 | (n_sgl ? (4 + n_body) << 4 : 0) | 0x01;
    c->msg[1] = (uint32_t)fn << 24 | 1u << 12 | tid;
    c->msg[2] = 0x11111111;
    c->msg[3] = 0x22222222;
    memcpy(c->msg + 4, body, n_body * 4);
    memcpy(c->msg + 4 + n_body, sgl, n_sgl * 8);
    c->msg[words] = reply_words << 16;
    memcpy(c->data, bytes, n_bytes);
    bool compat = flags & 1;
    unsigned unit = (flags & 8) ? 2 : 0;
    if (compat) {
        iop_put_le32(c->arg, unit);
        iop_put_le32(c->arg + 4, MSG_ADDR);
    } else {
        struct i2o_cmd_passthru pt = { .iop = unit, .msg = (void *)(uintptr_t)MSG_ADDR };
        memcpy(c->arg, &pt, sizeof(pt));
    }
    iop_umem_space_init(&c->u);
    iop_umem_space_map(&c->u, ARG_ADDR, c->arg, compat ? 8 : sizeof(struct i2o_cmd_passthru), false);
    iop_umem_space_map(&c->u, MSG_ADDR, c->msg, (words + 1 + reply_words) * 4, true);
    iop_umem_space_map(&c->u, DATA_ADDR, c->data, DATA_MAX, true);
    c->async.done = call_done;
    int r = iop_ctl_ioctl(f->ctl, f->file, compat ? I2OPASSTHRU32 : I2OPASSTHRU, ARG_ADDR,
                          compat ? IOP_CTL_COMPAT : 0, &c->u.um, (flags & 2) ? NULL : &c->async);
    if (getenv("IOPD_FUZZ_TRACE"))
        fprintf(stderr, "passthru: fn 0x%02x TID 0x%03x%s: %d (reply word 4: 0x%08x)\n", fn, tid,
                compat ? " (32-bit)" : "", r, c->msg[words + 4]);
    if (r == IOP_CTL_PENDING) {
        if (flags & 2)
            return IOP_FUZZ_FAIL("passthru: pending for a caller that cannot wait");
        c->pending = true;
        return 0;
    }
    c->used = false;
    if (c->done_calls)
        return IOP_FUZZ_FAIL("passthru: an answered call also called back");
    if (!result_ok(r))
        return IOP_FUZZ_FAIL("passthru: function 0x%02x to TID 0x%03x returned %d", fn, tid, r);
    return 0;
}

int iop_passthru_fuzz_one(const uint8_t *data, size_t len) {
    struct iop_fuzz_in in = iop_fuzz_in(data, len);
    struct fz *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    int r = setup(f);
    for (unsigned ops = 0; r == 0 && ops < MAX_OPS && !iop_fuzz_empty(&in); ops++) {
        uint8_t op = iop_fuzz_u8(&in) % 6, arg = iop_fuzz_u8(&in);
        switch (op) {
        case 0:
            r = op_message(f, &in);
            break;
        case 1:
            iop_usb_sim_advance(f->e, (uint64_t)iop_fuzz_u16(&in) * 100);
            break;
        case 2:
            if (f->call[arg % CALLS].pending)
                iop_ctl_cancel(&f->call[arg % CALLS].async);
            break;
        case 3: {
            unsigned i = arg % 2;
            if (f->plugged[i]) {
                iop_usb_sim_unplug(f->dev[i]);
                f->plugged[i] = false;
            } else {
                r = plug(f, i);
            }
            break;
        }
        case 4: {
            static const uint8_t eps[] = { 0x81, 0x82, 0x83 };
            const uint8_t *p;
            size_t n = iop_fuzz_bytes(&in, iop_fuzz_u8(&in), &p);
            if (f->plugged[0])
                (void)iop_usb_sim_ep_push(f->dev[0], eps[arg % 3], p, n);
            break;
        }
        default: {
            static const uint8_t eps[] = { 0x01, 0x81, 0x82, 0x83, 0x03 };
            if (f->plugged[0])
                (void)iop_usb_sim_ep_halt(f->dev[0], eps[arg % 5], arg & 0x80);
            break;
        }
        }
        if (r == 0)
            r = reap(f);
    }
    /* The end: hurry every waiting call, give the clock time, then tear down; whatever
     * is still in flight completes on the way (-ENODEV, -ESHUTDOWN). */
    for (unsigned i = 0; f->e && i < CALLS; i++)
        if (f->call[i].pending)
            iop_ctl_cancel(&f->call[i].async);
    if (f->e)
        iop_usb_sim_advance(f->e, 10000000);
    iop_usb_tids_free(f->tids);
    iop_usb_engine_free(f->e);
    for (unsigned i = 0; i < CALLS; i++) {
        struct pt_call *c = &f->call[i];
        if (c->used && c->pending) {
            int k = finish(c);
            r = r ? r : k;
        }
    }
    r = r ? r : f->violation;
    iop_ctl_free(f->ctl);
    iop_system_free(f->sys);
    iop_swstore_free(f->sw);
    iop_isa_path_free(f->isa);
    iop_state_dir_free(f->sd);
    if (f->dir[0])
        iop_fuzz_scratch_remove(f->dir);
    free(f);
    return r > 0 ? 0 : r == -ENOMEM ? 0 : r;
}
