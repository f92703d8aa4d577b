/* The test-facing API for simulated devices (see backend-sim.h): plugging and unplugging
 * them, programming and inspecting their endpoints.  The clock's calls are in
 * backend-sim.c, with the scheduler they drive. */
#include "lib/usb/backend-sim.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/usb/backend-sim-int.h"
#include "lib/usb/backend.h"
#include "lib/usb/descriptors.h"
#include "lib/util/bytes.h"

/* String descriptors hold at most 126 UTF-16 units (bLength is one byte). */
#define STRING_MAX_CHARS 126u
/* USB device addresses are 7 bits; address 0 is the default one. */
#define USB_MAX_ADDRESS 127

/* A string descriptor for UTF-8 text (a byte that does not start a valid sequence
 * counts as Latin-1), at most STRING_MAX_CHARS UTF-16 units. */
static size_t make_string_desc(const char *str, uint8_t *d) {
    const uint8_t *p = (const uint8_t *)str;
    size_t n = 0;
    while (*p && n < STRING_MAX_CHARS) {
        uint32_t u = *p;
        size_t len = u < 0x80 ? 1 : (u & 0xe0) == 0xc0 ? 2 : (u & 0xf0) == 0xe0 ? 3 : (u & 0xf8) == 0xf0 ? 4 : 1;
        bool ok = len > 1;
        for (size_t i = 1; i < len && ok; i++)
            ok = (p[i] & 0xc0) == 0x80;
        if (ok) {
            u &= 0x7fu >> len;
            for (size_t i = 1; i < len; i++)
                u = u << 6 | (p[i] & 0x3f);
        } else {
            len = 1;
        }
        p += len;
        if (u >= 0x10000) {
            if (n + 2 > STRING_MAX_CHARS)
                break;
            iop_put_le16(d + 2 + 2 * n++, (uint16_t)(0xd800 + ((u - 0x10000) >> 10)));
            u = 0xdc00 + ((u - 0x10000) & 0x3ff);
        }
        iop_put_le16(d + 2 + 2 * n++, (uint16_t)u);
    }
    d[0] = (uint8_t)(2 + 2 * n);
    d[1] = IOP_USB_DT_STRING;
    return d[0];
}

static int set_string(struct iop_usb_sim_dev *sd, uint8_t index, const uint8_t *data, size_t len) {
    if (len > 255 || (len && !data))
        return -EINVAL;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return -ENOMEM;
    if (len)
        memcpy(copy, data, len);
    free(sd->strings[index]);
    sd->strings[index] = copy;
    sd->string_len[index] = (uint8_t)len;
    return 0;
}

/* ---- The test-facing API ---- */

int iop_usb_sim_plug(struct iop_usb_engine *e, const struct iop_usb_sim_device *d,
                     struct iop_usb_sim_dev **ret) {
    struct sim *s = sim_from_engine(e);
    if (!s || !d || !ret || !d->device_descriptor || d->n_configs > IOP_USB_MAX_CONFIGS ||
        (d->n_configs && !d->configs) || (d->n_strings && !d->strings) || d->n_strings > 255 ||
        (d->n_raw_strings && !d->raw_strings) || d->port_depth > IOP_USB_MAX_PORTS)
        return -EINVAL;
    struct iop_usb_sim_dev *sd = calloc(1, sizeof(*sd));
    if (!sd)
        return -ENOMEM;
    sd->sim = s;
    sd->busnum = d->busnum ? d->busnum : 1;
    sd->speed = d->speed ? d->speed : IOP_USB_SPEED_HIGH;
    sd->silent = d->silent;
    sd->driver_bound = d->driver_bound;
    memcpy(sd->desc, d->device_descriptor, sizeof(sd->desc));
    int r = 0;
    for (unsigned i = 0; i < d->n_configs && r == 0; i++) {
        struct iop_usb_config_header h;
        if (!d->configs[i] || iop_usb_config_header(d->configs[i], IOP_USB_DT_CONFIG_SIZE, &h) < 0 ||
            h.total_length < IOP_USB_DT_CONFIG_SIZE) {
            r = -EINVAL;
            break;
        }
        sd->configs[i] = malloc(h.total_length);
        if (!sd->configs[i]) {
            r = -ENOMEM;
            break;
        }
        memcpy(sd->configs[i], d->configs[i], h.total_length);
        sd->config_len[i] = h.total_length;
        sd->n_configs = i + 1;
    }
    static const uint8_t langids[] = { 4, IOP_USB_DT_STRING, 0x09, 0x04 }; /* en-US */
    if (r == 0)
        r = set_string(sd, 0, langids, sizeof(langids));
    for (unsigned i = 0; r == 0 && i < d->n_strings; i++) {
        uint8_t desc[2 + 2 * STRING_MAX_CHARS];
        r = set_string(sd, (uint8_t)(i + 1), desc, make_string_desc(d->strings[i] ? d->strings[i] : "", desc));
    }
    for (unsigned i = 0; r == 0 && i < d->n_raw_strings; i++)
        r = set_string(sd, d->raw_strings[i].index, d->raw_strings[i].data, d->raw_strings[i].len);
    sd->strings_stall = d->strings_stall;
    sd->string_stall_length = d->string_stall_length;
    sd->active_config = d->active_config;
    uint8_t devnum = d->devnum;
    if (devnum == 0) {
        devnum = 2; /* 1 is the root hub */
        for (struct iop_usb_sim_dev *o = s->devs; o; o = o->next)
            if (o->busnum == sd->busnum && o->devnum >= devnum && o->devnum < USB_MAX_ADDRESS)
                devnum = (uint8_t)(o->devnum + 1);
    }
    sd->devnum = devnum;
    if (r < 0) {
        sim_dev_free(sd);
        return r;
    }

    struct iop_usb_dev_info info = {
        .busnum = sd->busnum, .devnum = sd->devnum, .speed = sd->speed,
        .port_depth = d->port_depth,
    };
    memcpy(info.port_path, d->port_path, d->port_depth);
    struct iop_usb_dev *dev;
    r = iop_usb_backend_dev_new(e, &info, &dev);
    if (r < 0) {
        sim_dev_free(sd);
        return r;
    }
    struct sim_dev_priv *dp = iop_usb_dev_backend_priv(dev);
    dp->sd = sd;
    sd->dev = dev;
    sd->plugged = true;
    sd->next = s->devs;
    s->devs = sd;
    iop_usb_backend_dev_attach(dev, NULL);
    *ret = sd;
    return 0;
}

int iop_usb_sim_unplug(struct iop_usb_sim_dev *sd) {
    if (!sd || !sd->plugged)
        return -ENODEV;
    sd->plugged = false;
    if (sd->dev)
        iop_usb_backend_dev_gone(sd->dev);
    sim_kick(sd->sim);
    return 0;
}

uint16_t iop_usb_sim_busnum(const struct iop_usb_sim_dev *sd) {
    assert(sd);
    return sd->busnum;
}

uint8_t iop_usb_sim_devnum(const struct iop_usb_sim_dev *sd) {
    assert(sd);
    return sd->devnum;
}

unsigned iop_usb_sim_string_requests(const struct iop_usb_sim_dev *sd) {
    assert(sd);
    return sd->string_requests;
}

uint32_t iop_usb_sim_detached(const struct iop_usb_sim_dev *sd) {
    assert(sd);
    return sd->detached;
}

static struct sim_ep *ep_of(const struct iop_usb_sim_dev *sd, uint8_t addr) {
    if (!sd || (addr & ~(IOP_USB_DIR_IN | IOP_USB_ENDPOINT_NUMBER_MASK)))
        return NULL;
    return (struct sim_ep *)&sd->eps[sim_ep_slot(addr)];
}

int iop_usb_sim_ep_set(struct iop_usb_sim_dev *sd, uint8_t ep_addr,
                       const struct iop_usb_sim_ep_config *cfg) {
    struct sim_ep *ep = ep_of(sd, ep_addr);
    if (!ep || !cfg || sim_ep_slot(ep_addr) == 0 || (cfg->reply_len && !cfg->reply))
        return -EINVAL;
    uint8_t *reply = NULL;
    if (cfg->reply_len) {
        reply = malloc(cfg->reply_len);
        if (!reply)
            return -ENOMEM;
        memcpy(reply, cfg->reply, cfg->reply_len);
    }
    free(ep->reply);
    ep->reply = reply;
    ep->cfg = *cfg;
    ep->cfg.reply = NULL; /* only ep->reply is ours */
    sim_kick(sd->sim);
    return 0;
}

int iop_usb_sim_ep_push(struct iop_usb_sim_dev *sd, uint8_t ep_addr, const void *data,
                        size_t len) {
    struct sim_ep *ep = ep_of(sd, ep_addr);
    if (!ep || sim_ep_slot(ep_addr) == 0 || !(ep_addr & IOP_USB_DIR_IN) || (len && !data))
        return -EINVAL;
    int r = sim_msg_append(ep, data, len);
    if (r < 0)
        return r;
    sim_kick(sd->sim);
    return 0;
}

int iop_usb_sim_ep_fail(struct iop_usb_sim_dev *sd, uint8_t ep_addr, int status, unsigned count) {
    struct sim_ep *ep = ep_of(sd, ep_addr);
    if (!ep || status >= 0)
        return -EINVAL;
    ep->fail_status = status;
    ep->fail_count = count;
    sim_kick(sd->sim);
    return 0;
}

int iop_usb_sim_ep_halt(struct iop_usb_sim_dev *sd, uint8_t ep_addr, bool halted) {
    struct sim_ep *ep = ep_of(sd, ep_addr);
    if (!ep || sim_ep_slot(ep_addr) == 0)
        return -EINVAL;
    ep->halted = halted;
    sim_kick(sd->sim);
    return 0;
}

bool iop_usb_sim_ep_halted(const struct iop_usb_sim_dev *sd, uint8_t ep_addr) {
    const struct sim_ep *ep = ep_of(sd, ep_addr);
    return ep && ep->halted;
}

int iop_usb_sim_ep_stats(const struct iop_usb_sim_dev *sd, uint8_t ep_addr,
                         struct iop_usb_sim_ep_stats *ret) {
    const struct sim_ep *ep = ep_of(sd, ep_addr);
    if (!ep || !ret)
        return -EINVAL;
    *ret = ep->stats;
    return 0;
}

void iop_usb_sim_set_control(struct iop_usb_sim_dev *sd, iop_usb_sim_control_fn fn, void *data) {
    assert(sd);
    sd->control = fn;
    sd->control_data = data;
}
