/* Reading a new device's descriptors with real control URBs through the engine
 * itself, as usb_new_device() does: the device descriptor, the active configuration
 * (GET_CONFIGURATION), then each configuration descriptor, first its 9-byte header
 * for wTotalLength, then all of it; then the strings usb_enumerate_device() caches,
 * in its order: product, manufacturer, serial number, the LANGID table (string 0)
 * read first, before the first of them, as usb_string() does.  Each string read
 * follows usb_string_sub(): 255 bytes, else 2 bytes for bLength and then exactly
 * that; each of those retried up to 3 times on a stall, an empty answer or another
 * descriptor type (usb_get_string()).  The reads are asynchronous (one URB, each
 * completion submits the next step), so a slow or silent device delays only its own
 * registration.  They appear in usbmon like every other URB.  They are standard
 * requests, allowed on an unclaimed device. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/usb/internal.h"
#include "lib/usb/strings.h"
#include "lib/util/bytes.h"
#include "lib/util/log.h"

/* USB_CTRL_GET_TIMEOUT: how long the kernel waits for a descriptor. */
#define ENUM_TIMEOUT_MS 5000

enum enum_step {
    STEP_DEVICE,        /* GET_DESCRIPTOR(DEVICE), 18 bytes */
    STEP_CONFIGURATION, /* GET_CONFIGURATION, 1 byte */
    STEP_CONFIG_HEADER, /* GET_DESCRIPTOR(CONFIG, idx), 9 bytes */
    STEP_CONFIG_FULL,   /* GET_DESCRIPTOR(CONFIG, idx), wTotalLength bytes */
    STEP_STRING,        /* GET_DESCRIPTOR(STRING, idx), langid: one of usb_string_sub's reads */
};

/* usb_string_sub's three reads of one string. */
enum string_read {
    READ_FULL,  /* 255 bytes */
    READ_HEAD,  /* 2 bytes: bLength */
    READ_EXACT, /* bLength bytes */
};

/* usb_get_string() tries each read this often on a stall, an empty answer or a
 * descriptor of another type. */
#define STRING_TRIES 3
/* The strings usb_enumerate_device() caches, in its order, by their index's offset in
 * the device descriptor. */
static const struct {
    uint8_t desc_offset;
    enum iop_usb_dev_string which;
} string_order[IOP_USB_DEV_STRINGS] = {
    { 15, IOP_USB_STRING_PRODUCT },
    { 14, IOP_USB_STRING_MANUFACTURER },
    { 16, IOP_USB_STRING_SERIAL },
};

struct iop_usb_enum {
    struct iop_usb_dev *dev;    /* borrowed: it owns us */
    struct iop_urb *urb;        /* owned */
    uint8_t setup[IOP_USB_SETUP_SIZE];
    uint8_t *buf;               /* owned, the current read's buffer */
    enum enum_step step;
    unsigned idx;               /* configuration being read */
    unsigned n_configs;         /* bNumConfigurations, capped */
    bool have_cached;
    uint8_t cached[IOP_USB_DT_DEVICE_SIZE];
    /* Strings (STEP_STRING) */
    unsigned str_slot;          /* position in string_order */
    bool reading_langid;        /* this read is string 0, the LANGID table */
    bool have_langid, no_strings;
    uint16_t langid;
    uint8_t str_index;
    enum string_read str_read;
    unsigned str_tries;
    uint8_t sbuf[IOP_USB_STRING_READ_MAX + 1]; /* usbcore's tbuf: the last read's bytes */
};

void iop_usb_enum_free(struct iop_usb_enum *en) {
    if (!en)
        return;
    iop_urb_free(en->urb);
    free(en->buf);
    free(en);
}

static int submit_read(struct iop_usb_enum *en, enum enum_step step, uint8_t request,
                       uint16_t value, uint16_t index, uint16_t len) {
    free(en->buf);
    en->buf = calloc(1, len ? len : 1);
    if (!en->buf)
        return -ENOMEM;
    en->step = step;
    en->setup[0] = IOP_USB_DIR_IN | IOP_USB_TYPE_STANDARD | IOP_USB_RECIP_DEVICE;
    en->setup[1] = request;
    iop_put_le16(en->setup + 2, value);
    iop_put_le16(en->setup + 4, index);
    iop_put_le16(en->setup + 6, len);
    en->urb->transfer_buffer = en->buf;
    en->urb->transfer_buffer_length = len;
    return iop_urb_submit(en->urb);
}

/* Done (or given up): register what we have, free the enumeration state. */
static void finish(struct iop_usb_enum *en) {
    struct iop_usb_dev *dev = en->dev;
    dev->enumr = NULL;
    /* GET_CONFIGURATION failed or said 0 on a device with one configuration: the
     * kernel configures single-configuration devices, so take that one. */
    if (dev->active_config == 0 && dev->n_configs == 1 && dev->configs[0].buf)
        dev->active_config = dev->configs[0].buf[5];
    iop_usb_dev_rebuild_endpoints(dev);
    iop_usb_enum_free(en); /* frees our URB reference from inside its handler: allowed */
    iop_usb_dev_publish(dev);
}

static int next_string(struct iop_usb_enum *en);

static int next_config(struct iop_usb_enum *en) {
    if (en->idx >= en->n_configs)
        return next_string(en);
    return submit_read(en, STEP_CONFIG_HEADER, IOP_USB_REQ_GET_DESCRIPTOR,
                       (uint16_t)(IOP_USB_DT_CONFIG << 8 | en->idx), 0, IOP_USB_DT_CONFIG_SIZE);
}

/* ---- Strings ---- */

static int read_string(struct iop_usb_enum *en, enum string_read which, uint16_t len) {
    en->str_read = which;
    en->str_tries = 0;
    return submit_read(en, STEP_STRING, IOP_USB_REQ_GET_DESCRIPTOR,
                       (uint16_t)(IOP_USB_DT_STRING << 8 | en->str_index),
                       en->reading_langid ? 0 : en->langid, len);
}

/* Start usb_string_sub() for the next string the device has; 1 when none is left. */
static int next_string(struct iop_usb_enum *en) {
    const uint8_t *dd = en->dev->desc;
    while (en->str_slot < IOP_USB_DEV_STRINGS && dd[string_order[en->str_slot].desc_offset] == 0)
        en->str_slot++;
    if (en->str_slot >= IOP_USB_DEV_STRINGS || en->no_strings)
        return 1;
    en->reading_langid = !en->have_langid;
    en->str_index = en->reading_langid ? 0 : dd[string_order[en->str_slot].desc_offset];
    return read_string(en, READ_FULL, IOP_USB_STRING_READ_MAX);
}

/* usb_string_sub() has its result rc (a trimmed length or a negative status). */
static int string_done(struct iop_usb_enum *en, int rc) {
    struct iop_usb_dev *dev = en->dev;
    if (en->reading_langid) {
        if (iop_usb_string_langid(en->sbuf, rc, &en->langid) < 0) {
            iop_info("usb %u-%u: string descriptor 0 read error: %d; no strings", dev->info.busnum,
                     dev->info.devnum, rc);
            en->no_strings = true;
            return 1;
        }
        if (rc < 4)
            iop_warn("usb %u-%u: language id specifier not provided by device, defaulting to English",
                     dev->info.busnum, dev->info.devnum);
        en->have_langid = true;
        return next_string(en); /* the same slot, now its string */
    }
    enum iop_usb_dev_string which = string_order[en->str_slot].which;
    if (rc >= 2) {
        char s[IOP_USB_STRING_UTF8_MAX];
        if (iop_usb_string_decode(en->sbuf, rc, s, sizeof(s)) > 0) {
            free(dev->strings[which]);
            dev->strings[which] = strdup(s);
        }
    } else {
        iop_debug("usb %u-%u: string %u unreadable: %d", dev->info.busnum, dev->info.devnum,
                  en->str_index, rc);
    }
    en->str_slot++;
    return next_string(en);
}

/* One read of usb_string_sub() ended: what usb_get_string() returned after its
 * retries (received length or a negative status). */
static int string_read_done(struct iop_usb_enum *en, int rc) {
    const uint8_t *buf = en->buf;
    switch (en->str_read) {
    case READ_FULL:
        if (rc >= 2)
            break;
        /* Ask for bLength only, then for exactly that much. */
        return read_string(en, READ_HEAD, 2);
    case READ_HEAD:
        if (rc != 2)
            return string_done(en, rc < 0 ? rc : -EINVAL);
        if (buf[0] == 0)
            return string_done(en, -EINVAL); /* usb_get_string(size 0): -EINVAL, no request */
        return read_string(en, READ_EXACT, buf[0]);
    case READ_EXACT:
        break;
    }
    if (rc < 2)
        return string_done(en, rc < 0 ? rc : -EINVAL);
    memcpy(en->sbuf, buf, (size_t)rc);
    return string_done(en, iop_usb_string_trim(en->sbuf, (size_t)rc));
}

/* A string read completed: usb_get_string()'s retry loop around it. */
static int on_string(struct iop_usb_enum *en, int st, uint32_t got) {
    int result = st < 0 ? st : (int)got;
    if (result > 1 && en->buf[1] != IOP_USB_DT_STRING)
        result = -ENODATA;
    if ((result == 0 || result == -EPIPE || result == -ENODATA) && ++en->str_tries < STRING_TRIES) {
        en->urb->transfer_buffer_length = iop_get_le16(en->setup + 6);
        memset(en->buf, 0, en->urb->transfer_buffer_length);
        return iop_urb_submit(en->urb);
    }
    return string_read_done(en, result);
}

static void on_read(struct iop_urb *urb) {
    struct iop_usb_enum *en = urb->context;
    struct iop_usb_dev *dev = en->dev;
    int st = urb->status;
    uint32_t got = urb->actual_length;
    int r = 0;

    if (dev->state == DEV_GONE) {
        /* Unplugged or shut down while enumerating: it was never announced. */
        dev->enumr = NULL;
        iop_usb_enum_free(en);
        return;
    }
    switch (en->step) {
    case STEP_DEVICE:
        if (st == 0 && got == IOP_USB_DT_DEVICE_SIZE && en->buf[1] == IOP_USB_DT_DEVICE) {
            memcpy(dev->desc, en->buf, IOP_USB_DT_DEVICE_SIZE);
        } else if (en->have_cached) {
            iop_warn("usb %u-%u: GET_DESCRIPTOR(DEVICE) failed (%d, %u bytes); using the cached copy",
                     dev->info.busnum, dev->info.devnum, st, got);
            memcpy(dev->desc, en->cached, IOP_USB_DT_DEVICE_SIZE);
        } else {
            iop_warn("usb %u-%u: GET_DESCRIPTOR(DEVICE) failed (%d, %u bytes)", dev->info.busnum,
                     dev->info.devnum, st, got);
            finish(en);
            return;
        }
        iop_usb_dev_rebuild_endpoints(dev); /* bMaxPacketSize0 is known now */
        en->n_configs = dev->desc[17] < IOP_USB_MAX_CONFIGS ? dev->desc[17] : IOP_USB_MAX_CONFIGS;
        dev->n_configs = en->n_configs;
        r = submit_read(en, STEP_CONFIGURATION, IOP_USB_REQ_GET_CONFIGURATION, 0, 0, 1);
        break;
    case STEP_CONFIGURATION:
        if (st == 0 && got == 1)
            dev->active_config = en->buf[0];
        else
            iop_debug("usb %u-%u: GET_CONFIGURATION failed (%d)", dev->info.busnum,
                      dev->info.devnum, st);
        en->idx = 0;
        r = next_config(en);
        break;
    case STEP_CONFIG_HEADER:
        if (st == 0 && got == IOP_USB_DT_CONFIG_SIZE && en->buf[1] == IOP_USB_DT_CONFIG &&
            iop_get_le16(en->buf + 2) >= IOP_USB_DT_CONFIG_SIZE) {
            r = submit_read(en, STEP_CONFIG_FULL, IOP_USB_REQ_GET_DESCRIPTOR,
                            (uint16_t)(IOP_USB_DT_CONFIG << 8 | en->idx), 0,
                            iop_get_le16(en->buf + 2));
        } else {
            iop_warn("usb %u-%u: configuration %u header unreadable (%d, %u bytes)",
                     dev->info.busnum, dev->info.devnum, en->idx, st, got);
            en->idx++;
            r = next_config(en);
        }
        break;
    case STEP_STRING:
        r = on_string(en, st, got);
        break;
    case STEP_CONFIG_FULL:
        if (st == 0 && got >= IOP_USB_DT_CONFIG_SIZE) {
            /* A short answer is kept, as usb_get_configuration() keeps it. */
            if (got < urb->transfer_buffer_length)
                iop_warn("usb %u-%u: configuration %u is %u bytes, wTotalLength says %u",
                         dev->info.busnum, dev->info.devnum, en->idx, got,
                         urb->transfer_buffer_length);
            dev->configs[en->idx].buf = en->buf;
            dev->configs[en->idx].len = got;
            en->buf = NULL;
        } else {
            iop_warn("usb %u-%u: configuration %u unreadable (%d)", dev->info.busnum,
                     dev->info.devnum, en->idx, st);
        }
        en->idx++;
        r = next_config(en);
        break;
    }
    if (r != 0) {
        if (r < 0)
            iop_warn("usb %u-%u: descriptor read stopped: %s", dev->info.busnum,
                     dev->info.devnum, strerror(-r));
        finish(en);
    }
}

int iop_usb_enum_start(struct iop_usb_dev *dev, const uint8_t *cached_desc) {
    struct iop_usb_enum *en = calloc(1, sizeof(*en));
    if (!en)
        return -ENOMEM;
    en->dev = dev;
    if (cached_desc) {
        en->have_cached = true;
        memcpy(en->cached, cached_desc, IOP_USB_DT_DEVICE_SIZE);
    }
    int r = iop_urb_alloc(0, &en->urb);
    if (r < 0) {
        free(en);
        return r;
    }
    en->urb->dev = dev;
    en->urb->xfer = IOP_XFER_CONTROL;
    en->urb->endpoint = 0;
    en->urb->dir_in = true;
    en->urb->setup_packet = en->setup;
    en->urb->complete = on_read;
    en->urb->context = en;
    iop_urb_set_timeout(en->urb, ENUM_TIMEOUT_MS);
    dev->enumr = en;
    r = submit_read(en, STEP_DEVICE, IOP_USB_REQ_GET_DESCRIPTOR, IOP_USB_DT_DEVICE << 8, 0,
                    IOP_USB_DT_DEVICE_SIZE);
    if (r < 0) {
        dev->enumr = NULL;
        iop_usb_enum_free(en);
        return r;
    }
    return 0;
}
