#include "lib/i2o/usbtids.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config/config.h"
#include "lib/i2o/devparams.h"
#include "lib/i2o/iop.h"
#include "lib/i2o/msg.h"
#include "lib/params/params-std.h"
#include "lib/params/params.h"
#include "lib/usb/ch9.h"
#include "lib/usb/devices.h"
#include "lib/usb/engine.h"
#include "lib/usb/urb.h"
#include "lib/util/bytes.h"
#include "lib/util/log.h"
#include "lib/util/utf8.h"

/* Private message words. */
#define W_XFN 4
#define W_EP 5
#define W_TIMEOUT 6
#define W_INTERVAL 7
#define W_SETUP 8
#define W_ISO 10
#define PRIVATE_MIN_WORDS 10u
#define URB_FLAGS_ALLOWED (IOP_URB_SHORT_NOT_OK | IOP_URB_ISO_ASAP | IOP_URB_ZERO_PACKET)

#define STATE_ADDED 0x00u
#define STATE_REMOVED 0x10u /* I2O_EVT_STATE_CHANGE_FAILED */

struct usb_tid;

/* One passthrough transfer in flight: the message it answers and its URB. */
struct usb_call {
    struct usb_tid *ut;
    struct iop_msg *m;     /* the poster's, until done */
    struct iop_urb *urb;   /* owned */
    uint8_t setup[8];
    struct usb_call *next;
};

struct usb_tid {
    struct iop_usb_tids *t;
    struct usb_tid *next;
    struct iop_usb_dev *dev;     /* a reference */
    uint16_t tid;
    struct iop_controller *iop;  /* where its LCT entry is (the current system's) */
    struct usb_call *calls;
};

struct iop_usb_tids {
    struct iop_usb_engine *engine; /* borrowed */
    struct iop_usb_policy policy;
    struct iop_usb_tids_hooks hooks;
    struct iop_system *sys;        /* borrowed: the current system */
    struct usb_tid *list;
    bool hotplug;
    unsigned long buses_seen[256 / (8 * sizeof(unsigned long))];
};

bool iop_usb_match_device(const struct iop_usb_match *m, uint16_t vid, uint16_t pid,
                          const struct iop_usb_dev_info *info) {
    if (!m->by_port)
        return m->vid == vid && (m->any_pid || m->pid == pid);
    return info && info->busnum == m->bus && info->port_depth == m->depth &&
           memcmp(info->port_path, m->ports, m->depth) == 0;
}

static bool matches(const struct iop_usb_match *rules, unsigned n, const struct iop_usb_dev *dev,
                    const struct iop_usb_match **which) {
    for (unsigned i = 0; i < n; i++)
        if (iop_usb_match_device(&rules[i], iop_usb_dev_vid(dev), iop_usb_dev_pid(dev), iop_usb_dev_info(dev))) {
            if (which)
                *which = &rules[i];
            return true;
        }
    return false;
}

/* The controller and the TID of the USB bus adapter USB devices hang below. */
static struct iop_device *usb_adapter(struct iop_system *sys) {
    for (unsigned u = 0; sys && u < MAX_I2O_CONTROLLERS; u++) {
        struct iop_controller *c = sys->iop[u];
        for (unsigned i = 0; c && i < c->n_dev; i++)
            if (c->dev[i]->usb_bus)
                return c->dev[i];
    }
    return NULL;
}

/* ---- Parameter groups from the descriptors ---- */

/* What SET_CONFIGURATION and SET_INTERFACE change: the active configuration, the
 * claim, which altsetting each interface has. */
static void fill_state(struct iop_device *d, struct iop_usb_dev *dev) {
    struct iop_params *p = d->params;
    uint8_t active = iop_usb_dev_active_config(dev);
    iop_params_set_uint(p, IOP_PARAMS_GROUP_USB_DEVICE, "ActiveConfiguration", NULL, 0, active);
    iop_params_set_uint(p, IOP_PARAMS_GROUP_USB_DEVICE, "Claimed", NULL, 0, iop_usb_dev_claimed(dev));
    struct iop_params_group *ig = iop_params_find_group(p, IOP_PARAMS_GROUP_USB_INTERFACES);
    struct iop_params_field_info kf;
    if (!ig || iop_params_field_info(ig, (unsigned)iop_params_group_key_field(ig), &kf) < 0)
        return;
    for (unsigned i = 0; i < iop_params_group_row_count(ig); i++) {
        const uint8_t *row = iop_params_row(ig, i);
        if (!row)
            continue;
        uint32_t key = iop_get_le32(row + kf.offset);
        uint8_t cfg = (uint8_t)(key >> 16), ifnum = (uint8_t)(key >> 8), alt = (uint8_t)key;
        bool current = cfg == active && alt == iop_usb_dev_altsetting(dev, ifnum);
        iop_params_set_uint(p, IOP_PARAMS_GROUP_USB_INTERFACES, "Current", &key, 4, current);
    }
}

static void fill_descriptor_groups(struct iop_device *d, struct iop_usb_dev *dev) {
    struct iop_params *p = d->params;
    const struct iop_usb_dev_info *info = iop_usb_dev_info(dev);
    const uint8_t *dd = iop_usb_dev_descriptor(dev);
    char path[32] = "";
    for (unsigned i = 0; i < info->port_depth && strlen(path) + 5 < sizeof(path); i++)
        snprintf(path + strlen(path), sizeof(path) - strlen(path), "%s%u", i ? "." : "", info->port_path[i]);
    const uint16_t g = IOP_PARAMS_GROUP_USB_DEVICE;
    iop_params_set_uint(p, g, "Bus", NULL, 0, info->busnum);
    iop_params_set_uint(p, g, "Device", NULL, 0, info->devnum);
    iop_params_set_uint(p, g, "Speed", NULL, 0, info->speed);
    iop_params_set_string(p, g, "PortPath", NULL, 0, path);
    iop_params_set_uint(p, g, "bcdUSB", NULL, 0, iop_get_le16(dd + 2));
    iop_params_set_uint(p, g, "bDeviceClass", NULL, 0, dd[4]);
    iop_params_set_uint(p, g, "bDeviceSubClass", NULL, 0, dd[5]);
    iop_params_set_uint(p, g, "bDeviceProtocol", NULL, 0, dd[6]);
    iop_params_set_uint(p, g, "bMaxPacketSize0", NULL, 0, dd[7]);
    iop_params_set_uint(p, g, "idVendor", NULL, 0, iop_get_le16(dd + 8));
    iop_params_set_uint(p, g, "idProduct", NULL, 0, iop_get_le16(dd + 10));
    iop_params_set_uint(p, g, "bcdDevice", NULL, 0, iop_get_le16(dd + 12));
    iop_params_set_uint(p, g, "iManufacturer", NULL, 0, dd[14]);
    iop_params_set_uint(p, g, "iProduct", NULL, 0, dd[15]);
    iop_params_set_uint(p, g, "iSerialNumber", NULL, 0, dd[16]);
    iop_params_set_uint(p, g, "bNumConfigurations", NULL, 0, dd[17]);
    static const char *const string_fields[IOP_USB_DEV_STRINGS] = {
        [IOP_USB_STRING_MANUFACTURER] = "Manufacturer",
        [IOP_USB_STRING_PRODUCT] = "Product",
        [IOP_USB_STRING_SERIAL] = "SerialNumber",
    };
    for (int i = 0; i < IOP_USB_DEV_STRINGS; i++) {
        const char *str = iop_usb_dev_string(dev, i);
        if (str)
            iop_params_set(p, g, string_fields[i], NULL, 0, str, iop_utf8_prefix(str, IOP_PARAMS_USB_STRING_SZ));
    }

    struct iop_params_group *cg = iop_params_find_group(p, IOP_PARAMS_GROUP_USB_CONFIGS);
    struct iop_params_group *ig = iop_params_find_group(p, IOP_PARAMS_GROUP_USB_INTERFACES);
    struct iop_params_group *eg = iop_params_find_group(p, IOP_PARAMS_GROUP_USB_ENDPOINTS);
    for (unsigned c = 0; c < iop_usb_dev_num_configs(dev); c++) {
        const uint8_t *buf;
        size_t len;
        if (iop_usb_dev_config(dev, c, &buf, &len) < 0 || len < IOP_USB_DT_CONFIG_SIZE || buf[1] != IOP_USB_DT_CONFIG)
            continue;
        uint8_t value = buf[5];
        if (iop_params_row_add(cg, &value, 1) < 0)
            continue;
        iop_params_set_uint(p, IOP_PARAMS_GROUP_USB_CONFIGS, "wTotalLength", &value, 1, iop_get_le16(buf + 2));
        iop_params_set_uint(p, IOP_PARAMS_GROUP_USB_CONFIGS, "bNumInterfaces", &value, 1, buf[4]);
        iop_params_set_uint(p, IOP_PARAMS_GROUP_USB_CONFIGS, "iConfiguration", &value, 1, buf[6]);
        iop_params_set_uint(p, IOP_PARAMS_GROUP_USB_CONFIGS, "bmAttributes", &value, 1, buf[7]);
        iop_params_set_uint(p, IOP_PARAMS_GROUP_USB_CONFIGS, "bMaxPower", &value, 1, buf[8]);
        /* The descriptors after the header: every interface and endpoint, walked with
         * each bLength checked against what is left (a device's bytes are hostile). */
        size_t total = iop_get_le16(buf + 2) < len ? iop_get_le16(buf + 2) : len;
        uint8_t ifnum = 0, alt = 0;
        bool in_iface = false;
        for (size_t off = buf[0]; off + 2 <= total;) {
            uint8_t dl = buf[off], dt = buf[off + 1];
            if (dl < 2 || off + dl > total)
                break;
            if (dt == IOP_USB_DT_INTERFACE && dl >= IOP_USB_DT_INTERFACE_SIZE) {
                ifnum = buf[off + 2];
                alt = buf[off + 3];
                in_iface = true;
                uint32_t key = (uint32_t)value << 16 | (uint32_t)ifnum << 8 | alt;
                if (iop_params_row_add(ig, &key, 4) >= 0) {
                    const uint16_t gi = IOP_PARAMS_GROUP_USB_INTERFACES;
                    iop_params_set_uint(p, gi, "bConfigurationValue", &key, 4, value);
                    iop_params_set_uint(p, gi, "bInterfaceNumber", &key, 4, ifnum);
                    iop_params_set_uint(p, gi, "bAlternateSetting", &key, 4, alt);
                    iop_params_set_uint(p, gi, "bNumEndpoints", &key, 4, buf[off + 4]);
                    iop_params_set_uint(p, gi, "bInterfaceClass", &key, 4, buf[off + 5]);
                    iop_params_set_uint(p, gi, "bInterfaceSubClass", &key, 4, buf[off + 6]);
                    iop_params_set_uint(p, gi, "bInterfaceProtocol", &key, 4, buf[off + 7]);
                    iop_params_set_uint(p, gi, "iInterface", &key, 4, buf[off + 8]);
                }
            } else if (dt == IOP_USB_DT_ENDPOINT && dl >= IOP_USB_DT_ENDPOINT_SIZE && in_iface) {
                uint8_t addr = buf[off + 2];
                uint32_t key = (uint32_t)value << 24 | (uint32_t)ifnum << 16 | (uint32_t)alt << 8 | addr;
                if (iop_params_row_add(eg, &key, 4) >= 0) {
                    const uint16_t ge = IOP_PARAMS_GROUP_USB_ENDPOINTS;
                    iop_params_set_uint(p, ge, "bConfigurationValue", &key, 4, value);
                    iop_params_set_uint(p, ge, "bInterfaceNumber", &key, 4, ifnum);
                    iop_params_set_uint(p, ge, "bAlternateSetting", &key, 4, alt);
                    iop_params_set_uint(p, ge, "bEndpointAddress", &key, 4, addr);
                    iop_params_set_uint(p, ge, "bmAttributes", &key, 4, buf[off + 3]);
                    iop_params_set_uint(p, ge, "wMaxPacketSize", &key, 4, iop_get_le16(buf + off + 4));
                    iop_params_set_uint(p, ge, "bInterval", &key, 4, buf[off + 6]);
                }
            }
            off += dl;
        }
    }
}

static const char *usb_class_name(uint8_t cls) {
    switch (cls) {
    case 0x00: return "USB device";
    case 0x01: return "USB audio";
    case 0x02: return "USB comms";
    case 0x03: return "USB HID";
    case 0x07: return "USB printer";
    case 0x08: return "USB storage";
    case 0x09: return "USB hub";
    case 0x0a: return "USB CDC data";
    case 0x0e: return "USB video";
    case 0xdc: return "USB diagnostic";
    case 0xe0: return "USB wireless";
    case 0xef: return "USB misc";
    case 0xff: return "USB vendor";
    }
    return "USB device";
}

/* The class a person would name the device by: the device's, or its first
 * interface's when the device defers to its interfaces (class 0). */
static uint8_t device_class(struct iop_usb_dev *dev) {
    const uint8_t *dd = iop_usb_dev_descriptor(dev);
    if (dd[4])
        return dd[4];
    const uint8_t *buf;
    size_t len;
    if (iop_usb_dev_num_configs(dev) && iop_usb_dev_config(dev, 0, &buf, &len) == 0)
        for (size_t off = 0; off + 9 <= len && buf[off] >= 2; off += buf[off])
            if (buf[off + 1] == IOP_USB_DT_INTERFACE)
                return buf[off + 5];
    return 0;
}

static const struct iop_device_ops usb_device_ops;

/* A device string into a fixed-size identity field (NUL included), cut between
 * characters; or the numeric fallback when the device has no such string. */
static void identity_str(char *dst, size_t size, const char *str, const char *fallback) {
    const char *s = str ? str : fallback;
    size_t n = iop_utf8_prefix(s, size - 1);
    memcpy(dst, s, n);
    dst[n] = 0;
}

/* Create ut's LCT entry in the current system. */
static int add_entry(struct usb_tid *ut) {
    struct iop_usb_tids *t = ut->t;
    struct iop_device *adapter = usb_adapter(t->sys);
    ut->iop = NULL;
    if (!adapter)
        return 0; /* no USB bus adapter configured: the device is not exposed */
    struct iop_controller *c = adapter->iop;
    struct iop_usb_dev *dev = ut->dev;
    const struct iop_usb_dev_info *info = iop_usb_dev_info(dev);
    if (!ut->tid || iop_controller_find_device(c, ut->tid)) {
        int tid = iop_controller_free_tid(c, IOP_USB_FIRST_TID);
        if (tid < 0)
            return tid;
        ut->tid = (uint16_t)tid;
    }
    uint8_t cls = device_class(dev);
    struct iop_device tmpl = {
        .tid = ut->tid,
        .class_id = IOP_CLASS_USB_DEVICE,
        .class_version = 1,
        .vendor_id = iop_usb_dev_vid(dev),
        .sub_class = (uint32_t)cls << 16 | iop_usb_dev_pid(dev),
        .user_tid = 0xFFF,
        .parent_tid = adapter->tid,
        .event_capabilities = I2O_EVT_IND_STATE_CHANGE | I2O_EVT_IND_FIELD_MODIFIED,
        .owner = ut,
        .ops = &usb_device_ops,
    };
    char tag[16];
    snprintf(tag, sizeof(tag), "USB%03u%02u", info->busnum % 1000, info->devnum % 100);
    memcpy(tmpl.identity_tag, tag, 8);
    struct iop_device *d;
    int r = iop_controller_add_device(c, &tmpl, &d);
    if (r < 0)
        return r;
    /* The names usbcore shows (sysfs manufacturer, product, serial), else numbers. */
    char vendor[17], product[17];
    snprintf(vendor, sizeof(vendor), "USB %04x", iop_usb_dev_vid(dev));
    snprintf(product, sizeof(product), "%04x:%04x", iop_usb_dev_vid(dev), iop_usb_dev_pid(dev));
    struct iop_config_device cd;
    memset(&cd, 0, sizeof(cd));
    identity_str(cd.vendor_info, sizeof(cd.vendor_info), iop_usb_dev_string(dev, IOP_USB_STRING_MANUFACTURER), vendor);
    identity_str(cd.product_info, sizeof(cd.product_info), iop_usb_dev_string(dev, IOP_USB_STRING_PRODUCT), product);
    identity_str(cd.description, sizeof(cd.description), NULL, usb_class_name(cls));
    identity_str(cd.serial, sizeof(cd.serial), iop_usb_dev_string(dev, IOP_USB_STRING_SERIAL), "");
    if ((r = iop_device_build_params(d, &cd)) < 0 || (r = iop_params_add_usb_groups(d->params)) < 0) {
        iop_controller_remove_device(c, ut->tid);
        return r;
    }
    fill_descriptor_groups(d, dev);
    fill_state(d, dev);
    iop_device_params_load(d);
    ut->iop = c;
    return 0;
}

static void raise_state(struct usb_tid *ut, uint32_t state) {
    struct iop_device *adapter = usb_adapter(ut->t->sys);
    if (!adapter)
        return;
    uint8_t data[8];
    iop_put_le32(data, ut->tid);
    iop_put_le32(data + 4, state);
    iop_controller_raise(adapter->iop, adapter->tid, I2O_EVT_IND_STATE_CHANGE, data, sizeof(data));
}

static void claim(struct iop_usb_tids *t, struct iop_usb_dev *dev) {
    const struct iop_usb_match *rule;
    if (!matches(t->policy.claim, t->policy.n_claim, dev, &rule))
        return;
    iop_usb_dev_set_detach_kernel_driver(dev, rule->detach);
    const uint8_t *buf;
    size_t len;
    uint8_t active = iop_usb_dev_active_config(dev);
    for (unsigned c = 0; c < iop_usb_dev_num_configs(dev); c++) {
        if (iop_usb_dev_config(dev, c, &buf, &len) < 0 || len < IOP_USB_DT_CONFIG_SIZE || buf[5] != active)
            continue;
        for (uint8_t i = 0; i < buf[4]; i++) {
            int r = iop_usb_dev_claim_interface(dev, i);
            if (r < 0)
                iop_log(LOG_WARNING, "USB %04x:%04x: claiming interface %u: %s%s", iop_usb_dev_vid(dev),
                        iop_usb_dev_pid(dev), i, strerror(-r),
                        r == -EBUSY && !rule->detach ? " (a kernel driver has it; detach_kernel_driver is off)" : "");
        }
    }
}

static void on_hotplug(void *data, struct iop_usb_dev *dev, enum iop_usb_hotplug_event ev) {
    struct iop_usb_tids *t = data;
    const struct iop_usb_dev_info *info = iop_usb_dev_info(dev);
    if (ev == IOP_USB_HOTPLUG_ADD) {
        if (t->policy.n_allow &&
            !matches(t->policy.allow, t->policy.n_allow, dev, NULL))
            return;
        unsigned long bit = 1ul << (info->busnum % (8 * sizeof(unsigned long)));
        unsigned long *word = &t->buses_seen[(info->busnum % 256) / (8 * sizeof(unsigned long))];
        if (!(*word & bit)) {
            *word |= bit;
            if (t->hooks.bus_seen)
                t->hooks.bus_seen(t->hooks.ctx, info->busnum);
        }
        struct usb_tid *ut = calloc(1, sizeof(*ut));
        if (!ut)
            return;
        ut->t = t;
        ut->dev = iop_usb_dev_ref(dev);
        claim(t, dev);
        int r = add_entry(ut);
        if (r < 0)
            iop_log(LOG_ERR, "USB %u-%u: no LCT entry: %s", info->busnum, info->devnum, strerror(-r));
        ut->next = t->list;
        t->list = ut;
        if (ut->iop) {
            iop_log(LOG_INFO, "USB %03u:%03u %04x:%04x is IOP %u TID 0x%03x", info->busnum, info->devnum,
                    iop_usb_dev_vid(dev), iop_usb_dev_pid(dev), ut->iop->unit, ut->tid);
            raise_state(ut, STATE_ADDED);
        }
        return;
    }
    for (struct usb_tid **p = &t->list; *p; p = &(*p)->next) {
        struct usb_tid *ut = *p;
        if (ut->dev != dev)
            continue;
        /* Its transfers complete through the engine (-ENODEV); their calls keep ut
         * alive until then. */
        if (ut->iop) {
            iop_controller_remove_device(ut->iop, ut->tid);
            raise_state(ut, STATE_REMOVED);
            iop_log(LOG_INFO, "USB %03u:%03u gone: TID 0x%03x removed", info->busnum, info->devnum, ut->tid);
        }
        ut->iop = NULL;
        *p = ut->next;
        ut->next = NULL;
        if (!ut->calls) {
            iop_usb_dev_unref(ut->dev);
            free(ut);
        } else {
            ut->t = NULL; /* orphan: freed by its last call */
        }
        return;
    }
}

/* ---- The private USB transfer message ---- */

static int reply_urb(struct iop_msg *m, const struct iop_urb *urb, int status) {
    uint8_t req;
    uint16_t dsc;
    if (status == 0) {
        req = IOP_REPLY_SUCCESS;
        dsc = IOP_DSC_SUCCESS;
    } else {
        req = urb && urb->actual_length ? IOP_REPLY_ERROR_PARTIAL_TRANSFER : IOP_REPLY_ERROR_NO_DATA_TRANSFER;
        dsc = status == -ENODEV || status == -ESHUTDOWN ? IOP_DSC_DEVICE_NOT_AVAILABLE
            : status == -ETIMEDOUT ? 0x0017 /* TIMEOUT */
            : status == -EACCES ? IOP_DSC_INAPPROPRIATE_FUNCTION
            : status == -EINVAL || status == -ENOENT || status == -ENOEXEC || status == -EBADR ||
                      status == -EMSGSIZE ? IOP_DSC_INVALID_PARAMETER
                                          : 0x0018 /* UNKNOWN_ERROR */;
    }
    unsigned words = 9;
    if (urb && urb->xfer == IOP_XFER_ISOC)
        words += 2 * (unsigned)urb->number_of_packets;
    if (words > m->reply_words)
        words = m->reply_words < 5 ? 5 : m->reply_words;
    iop_msg_reply(m, words, req, dsc);
    uint32_t w[] = { urb ? urb->actual_length : 0, (uint32_t)status, urb ? (uint32_t)urb->start_frame : 0,
                     urb ? (uint32_t)urb->error_count : 0 };
    for (unsigned i = 0; i < 4 && 5 + i < m->reply_words; i++)
        m->reply[5 + i] = w[i];
    for (int i = 0; urb && urb->xfer == IOP_XFER_ISOC && i < urb->number_of_packets; i++) {
        unsigned at = 9 + 2 * (unsigned)i;
        if (at + 1 >= m->reply_words)
            break;
        m->reply[at] = urb->iso_frame_desc[i].actual_length;
        m->reply[at + 1] = (uint32_t)urb->iso_frame_desc[i].status;
    }
    return req;
}

static void call_free(struct usb_call *call) {
    struct usb_tid *ut = call->ut;
    for (struct usb_call **p = &ut->calls; *p; p = &(*p)->next)
        if (*p == call) {
            *p = call->next;
            break;
        }
    iop_urb_free(call->urb);
    free(call);
    if (!ut->t && !ut->calls) { /* its device went away while the call ran */
        iop_usb_dev_unref(ut->dev);
        free(ut);
    }
}

static void claim(struct iop_usb_tids *t, struct iop_usb_dev *dev);

static void on_urb_done(struct iop_urb *urb) {
    struct usb_call *call = urb->context;
    struct iop_msg *m = call->m;
    struct usb_tid *ut = call->ut;
    enum iop_urb_set_request set = iop_urb_set_request(urb);
    if (urb->status == 0 && set != IOP_URB_PLAIN && ut->t) {
        /* A new configuration: the policy claims its interfaces, as it claimed the
         * first one's. */
        if (set == IOP_URB_SET_CONFIGURATION)
            claim(ut->t, ut->dev);
        struct iop_device *d = ut->iop ? iop_controller_find_device(ut->iop, ut->tid) : NULL;
        if (d)
            fill_state(d, ut->dev);
    }
    for (unsigned i = 0; i < m->n_sg; i++)
        if (!m->sg[i].to_iop)
            m->sg[i].done = urb->actual_length < m->sg[i].len ? urb->actual_length : m->sg[i].len;
    int rc = reply_urb(m, urb, urb->status);
    call_free(call);
    m->cancel = NULL;
    m->done(m, rc);
}

static void usb_cancel(struct iop_msg *m) {
    struct usb_call *call = m->device_priv;
    /* The caller gave up (a signal during its I2OPASSTHRU): discarded as usbfs discards
     * an URB for a process, completing with -ENOENT. */
    if (call)
        iop_urb_discard(call->urb);
}

static int refuse(struct iop_msg *m, uint16_t dsc) {
    iop_msg_reply(m, 5, IOP_REPLY_ERROR_NO_DATA_TRANSFER, dsc);
    return IOP_REPLY_ERROR_NO_DATA_TRANSFER;
}

static int usb_post(void *ctx, struct iop_device *d, struct iop_msg *m) {
    struct usb_tid *ut = ctx;
    (void)d;
    if ((m->frame[1] >> 24) != IOP_FN_PRIVATE)
        return -ENOSYS; /* UtilNOP, UtilParams...: the IOP answers as for any device */
    if (m->words < PRIVATE_MIN_WORDS)
        return refuse(m, IOP_DSC_MESSAGE_TOO_SMALL);
    if (m->frame[W_XFN] != (IOP_USB_ORG_ID << 16 | IOP_USB_XFN_TRANSFER))
        return refuse(m, IOP_DSC_UNSUPPORTED_FUNCTION);
    if (!m->done)
        return refuse(m, IOP_DSC_DEVICE_BUSY); /* the poster cannot wait for the URB */
    uint32_t w5 = m->frame[W_EP];
    unsigned ep = w5 & 0xFF, type = (w5 >> 8) & 3, flags = w5 >> 16;
    unsigned interval = m->frame[W_INTERVAL] & 0xFFFF, npackets = m->frame[W_INTERVAL] >> 16;
    if (flags & ~URB_FLAGS_ALLOWED || (w5 & 0xFC00) || (type != IOP_XFER_ISOC && npackets) ||
        (type == IOP_XFER_ISOC && (npackets == 0 || npackets > IOP_URB_ISO_PACKETS_MAX)))
        return refuse(m, IOP_DSC_INVALID_PARAMETER);
    /* ISO packet lengths: in the message after word 9 when they fit before the SGL,
     * else in a second SG element (the SGL offset has 4 bits). */
    unsigned body_end = m->sg_offset ? m->sg_offset : m->words;
    const uint8_t *table = NULL;
    if (type == IOP_XFER_ISOC && body_end < W_ISO + npackets) {
        if (body_end != W_ISO || m->n_sg != 2 || !m->sg[1].to_iop || m->sg[1].len != 4 * npackets)
            return refuse(m, IOP_DSC_MESSAGE_TOO_SMALL);
        table = m->sg[1].data;
    }
    /* The data buffer: one simple element, or none (plus the ISO table). */
    struct iop_msg_sg *data = NULL;
    if (m->n_sg > (table ? 2u : 1u))
        return refuse(m, IOP_DSC_INVALID_PARAMETER);
    if (m->n_sg >= 1)
        data = &m->sg[0];
    bool in = ep & IOP_USB_DIR_IN;
    struct usb_call *call = calloc(1, sizeof(*call));
    if (!call)
        return refuse(m, IOP_DSC_INSUFFICIENT_RESOURCE_HARD);
    int r = iop_urb_alloc((int)npackets, &call->urb);
    if (r < 0) {
        free(call);
        return refuse(m, IOP_DSC_INSUFFICIENT_RESOURCE_HARD);
    }
    struct iop_urb *urb = call->urb;
    call->ut = ut;
    call->m = m;
    urb->dev = ut->dev;
    urb->xfer = (uint8_t)type;
    urb->endpoint = ep & IOP_USB_ENDPOINT_NUMBER_MASK;
    urb->dir_in = in;
    urb->transfer_flags = flags;
    urb->transfer_buffer = data ? data->data : NULL;
    urb->transfer_buffer_length = data ? data->len : 0;
    urb->interval = (int)interval;
    urb->context = call;
    urb->complete = on_urb_done;
    if (type == IOP_XFER_CONTROL) {
        iop_put_le32(call->setup, m->frame[W_SETUP]);
        iop_put_le32(call->setup + 4, m->frame[W_SETUP + 1]);
        urb->setup_packet = call->setup;
        urb->dir_in = call->setup[0] & IOP_USB_DIR_IN;
    }
    if (data && data->to_iop == urb->dir_in) { /* an IN transfer needs an IOP-to-host buffer */
        iop_urb_free(call->urb);
        free(call);
        return refuse(m, IOP_DSC_INVALID_PARAMETER);
    }
    if (type == IOP_XFER_ISOC) {
        urb->number_of_packets = (int)npackets;
        uint32_t off = 0;
        for (unsigned i = 0; i < npackets; i++) {
            uint32_t len = table ? iop_get_le32(table + 4 * i) : m->frame[W_ISO + i];
            urb->iso_frame_desc[i].offset = off;
            urb->iso_frame_desc[i].length = len;
            off += len; /* the engine refuses packets outside the buffer */
        }
    }
    if (m->frame[W_TIMEOUT])
        iop_urb_set_timeout(urb, m->frame[W_TIMEOUT]);
    call->next = ut->calls;
    ut->calls = call;
    r = iop_urb_submit(urb);
    if (r < 0) {
        int rc = reply_urb(m, NULL, r);
        call_free(call);
        return rc;
    }
    m->device_priv = call;
    m->cancel = usb_cancel;
    return IOP_MSG_PENDING;
}

static const struct iop_device_ops usb_device_ops = {
    .post = usb_post,
};

int iop_usb_tids_new(struct iop_usb_engine *e, const struct iop_usb_policy *policy,
                     const struct iop_usb_tids_hooks *hooks, struct iop_usb_tids **ret) {
    assert(e && ret);
    struct iop_usb_tids *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->engine = e;
    if (policy)
        t->policy = *policy;
    if (hooks)
        t->hooks = *hooks;
    *ret = t;
    return 0;
}

int iop_usb_tids_attach(struct iop_usb_tids *t, struct iop_system *sys) {
    assert(t && sys);
    t->sys = sys;
    for (struct usb_tid *ut = t->list; ut; ut = ut->next) {
        int r = add_entry(ut);
        if (r < 0)
            return r;
    }
    if (!t->hotplug) {
        int r = iop_usb_engine_add_hotplug(t->engine, on_hotplug, t, true);
        if (r < 0)
            return r;
        t->hotplug = true;
    }
    return 0;
}

struct iop_usb_tids *iop_usb_tids_free(struct iop_usb_tids *t) {
    if (!t)
        return NULL;
    if (t->hotplug)
        iop_usb_engine_remove_hotplug(t->engine, on_hotplug, t);
    while (t->list) {
        struct usb_tid *ut = t->list;
        t->list = ut->next;
        if (ut->calls) {
            ut->t = NULL; /* its calls finish when the engine gives their URBs back */
            for (struct usb_call *c = ut->calls; c; c = c->next)
                iop_urb_unlink(c->urb);
        } else {
            iop_usb_dev_unref(ut->dev);
            free(ut);
        }
    }
    free(t);
    return NULL;
}

unsigned iop_usb_tids_count(const struct iop_usb_tids *t) {
    unsigned n = 0;
    for (const struct usb_tid *ut = t ? t->list : NULL; ut; ut = ut->next)
        n += ut->iop != NULL;
    return n;
}
