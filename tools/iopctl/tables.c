/* iopctl hrt / lct: the IOP's tables, decoded from their wire layout. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/i2o-dev.h>

#include "lib/params/params-std.h"
#include "tools/iopctl/iopctl.h"

/* Field numbers in group 0xF100 (lib/params/params-std.c). */
#define F100_VENDOR_INFO 3
#define F100_PRODUCT_INFO 4

/* A 32-bit little-endian word of a table. */
static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* The tables are small; start with a page and grow to what ENOBUFS reports. */
int iopctl_get_table(struct iopctl *ctl, unsigned long cmd, uint32_t iop, uint8_t **buf, uint32_t *len) {
    unsigned int reslen = 4096;
    for (int attempt = 0; attempt < 4; attempt++) {
        uint8_t *b = malloc(reslen ? reslen : 1);
        if (!b)
            return ENOMEM;
        unsigned int cap = reslen;
        struct i2o_cmd_hrtlct c = { .iop = iop, .resbuf = b, .reslen = &reslen };
        if (ioctl(ctl->fd, cmd, &c) == 0) {
            *buf = b;
            *len = reslen;
            return 0;
        }
        int e = errno;
        free(b);
        if (e != ENOBUFS || reslen <= cap)
            return e;
    }
    return ENOBUFS;
}

const char *iopctl_class_name(unsigned class_id) {
    switch (class_id) {
    case I2O_CLASS_EXECUTIVE: return "executive";
    case I2O_CLASS_DDM: return "ddm";
    case I2O_CLASS_RANDOM_BLOCK_STORAGE: return "block-storage";
    case I2O_CLASS_SEQUENTIAL_STORAGE: return "sequential-storage";
    case I2O_CLASS_LAN: return "lan";
    case I2O_CLASS_WAN: return "wan";
    case I2O_CLASS_FIBRE_CHANNEL_PORT: return "fc-port";
    case I2O_CLASS_FIBRE_CHANNEL_PERIPHERAL: return "fc-peripheral";
    case I2O_CLASS_SCSI_PERIPHERAL: return "scsi-peripheral";
    case I2O_CLASS_ATE_PORT: return "ate-port";
    case I2O_CLASS_ATE_PERIPHERAL: return "ate-peripheral";
    case I2O_CLASS_FLOPPY_CONTROLLER: return "floppy-controller";
    case I2O_CLASS_FLOPPY_DEVICE: return "floppy";
    case I2O_CLASS_BUS_ADAPTER: return "bus-adapter";
    case I2O_CLASS_PEER_TRANSPORT_AGENT: return "peer-transport-agent";
    case I2O_CLASS_PEER_TRANSPORT: return "peer-transport";
    case 0x0F0: return "usb-device"; /* iopd's class for USB devices */
    }
    return "other";
}

const char *iopctl_bus_name(unsigned bus_type) {
    switch (bus_type) {
    case I2O_BUS_LOCAL: return "local";
    case I2O_BUS_ISA: return "isa";
    case I2O_BUS_EISA: return "eisa";
    case I2O_BUS_PCI: return "pci";
    case I2O_BUS_PCMCIA: return "pcmcia";
    case I2O_BUS_NUBUS: return "nubus";
    case I2O_BUS_CARDBUS: return "cardbus";
    case I2O_BUS_UNKNOWN: return "unknown";
    }
    return "other";
}

static int parse_iop(int argc, char **argv, const char *cmd, uint32_t *iop) {
    if (argc != 2 || iopctl_parse_u32(argv[1], UINT32_MAX, iop) < 0)
        return iopctl_usage("%s IOP", cmd);
    return 0;
}

/* The bus-specific 8 bytes, per i2o-dev.h's unions. */
static void print_bus(FILE *out, unsigned type, const uint8_t *b, bool json) {
    switch (type) {
    case I2O_BUS_ISA:
        fprintf(out, json ? "\"io_port\":%u,\"csn\":%u,\"dma_channel\":%u,\"mem_base\":%u"
                          : "io=0x%x csn=%u dma=%u mem=0x%x",
                le16(b), b[2], b[3], le32(b + 4));
        break;
    case I2O_BUS_PCI:
        fprintf(out, json ? "\"function\":%u,\"device\":%u,\"bus\":%u,\"vendor\":%u,\"product\":%u"
                          : "%02x:%02x.%u %04x:%04x",
                b[0], b[1], b[2], le16(b + 4), le16(b + 6));
        break;
    default:
        fprintf(out, json ? "\"io_port\":%u,\"mem_base\":%u" : "io=0x%x mem=0x%x", le16(b), le32(b + 4));
        break;
    }
}

int iopctl_cmd_hrt(struct iopctl *ctl, int argc, char **argv) {
    uint32_t iop, len = 0;
    uint8_t *t = NULL;
    int r;
    if ((r = parse_iop(argc, argv, "hrt", &iop)))
        return r;
    if ((r = iopctl_get_table(ctl, I2OHRTGET, iop, &t, &len)))
        return iopctl_fail("I2OHRTGET", r);
    if (len < 8) {
        free(t);
        return iopctl_fail("I2OHRTGET: short table", EPROTO);
    }
    unsigned n = le16(t), entry = t[2] * 4u;
    if (entry < 16 || 8 + (size_t)n * entry > len) {
        free(t);
        return iopctl_fail("I2OHRTGET: inconsistent table", EPROTO);
    }
    if (ctl->json)
        printf("{\"iop\":%u,\"change_ind\":%u,\"adapters\":[", iop, le32(t + 4));
    else
        printf("IOP %u HRT: %u adapter%s, change indicator %u\n%-10s %-6s %-5s %-3s %-7s %s\n", iop, n,
               n == 1 ? "" : "s", le32(t + 4), "ADAPTER", "PARENT", "STATE", "BUS", "TYPE", "DETAILS");
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *e = t + 8 + i * entry;
        uint32_t w = le32(e + 4);
        unsigned parent = w & 0xFFF, state = w >> 12 & 0xF, busnum = w >> 16 & 0xFF, type = w >> 24;
        if (ctl->json) {
            printf("%s{\"adapter_id\":%u,\"parent_tid\":%u,\"state\":%u,\"bus_num\":%u,\"bus\":\"%s\",",
                   i ? "," : "", le32(e), parent, state, busnum, iopctl_bus_name(type));
            print_bus(stdout, type, e + 8, true);
            printf("}");
        } else {
            printf("0x%08x 0x%03x  %-5u %-3u %-7s ", le32(e), parent, state, busnum, iopctl_bus_name(type));
            print_bus(stdout, type, e + 8, false);
            printf("\n");
        }
    }
    if (ctl->json)
        printf("]}\n");
    free(t);
    return IOPCTL_OK;
}

int iopctl_cmd_lct(struct iopctl *ctl, int argc, char **argv) {
    uint32_t iop, len = 0;
    uint8_t *t = NULL;
    int r;
    if ((r = parse_iop(argc, argv, "lct", &iop)))
        return r;
    if ((r = iopctl_get_table(ctl, I2OLCTGET, iop, &t, &len)))
        return iopctl_fail("I2OLCTGET", r);
    if (len < 12 || (le32(t) & 0xFFFF) * 4u > len) {
        free(t);
        return iopctl_fail("I2OLCTGET: inconsistent table", EPROTO);
    }
    unsigned words = le32(t) & 0xFFFF;
    unsigned n = words >= 3 ? (words - 3) / 9 : 0;
    if (ctl->json)
        printf("{\"iop\":%u,\"change_ind\":%u,\"devices\":[", iop, le32(t + 8));
    else
        printf("IOP %u LCT: %u entr%s, change indicator %u\n%-5s %-18s %-10s %-6s %-6s %-6s %-8s %-10s %-6s %s\n",
               iop, n, n == 1 ? "y" : "ies", le32(t + 8), "TID", "CLASS", "SUBCLASS", "VENDOR", "PARENT",
               "USER", "IDENTITY", "EVENTS", "CHANGE", "NAME");
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *e = t + 12 + i * 36;
        unsigned tid = le32(e) >> 16 & 0xFFF;
        uint32_t w3 = le32(e + 12), w5 = le32(e + 20);
        unsigned cls = w3 & 0xFFF, vendor_id = w3 >> 16, user = w5 & 0xFFF, parent = w5 >> 12 & 0xFFF;
        char ident[9];
        for (int k = 0; k < 8; k++)
            ident[k] = (e[24 + k] >= 0x20 && e[24 + k] < 0x7f) ? (char)e[24 + k] : ' ';
        ident[8] = 0;
        for (int k = 7; k >= 0 && ident[k] == ' '; k--)
            ident[k] = 0;
        /* The names from the device's identity group (0xF100): USB devices show the
         * strings they gave usbcore. */
        char vendor[IOP_PARAMS_VENDOR_INFO_SZ + 1] = "", product[IOP_PARAMS_PRODUCT_INFO_SZ + 1] = "";
        (void)iopctl_field_get(ctl, iop, tid, IOP_PARAMS_GROUP_DEV_IDENTITY, F100_VENDOR_INFO, vendor,
                               IOP_PARAMS_VENDOR_INFO_SZ);
        (void)iopctl_field_get(ctl, iop, tid, IOP_PARAMS_GROUP_DEV_IDENTITY, F100_PRODUCT_INFO, product,
                               IOP_PARAMS_PRODUCT_INFO_SZ);
        if (ctl->json) {
            printf("%s{\"tid\":%u,\"class_id\":%u,\"class\":\"%s\",\"sub_class\":%u,\"vendor_id\":%u,"
                   "\"parent_tid\":%u,\"user_tid\":%u,\"identity\":",
                   i ? "," : "", tid, cls, iopctl_class_name(cls), le32(e + 16), vendor_id, parent, user);
            iopctl_json_str(stdout, ident, 8);
            printf(",\"event_capabilities\":%u,\"change_ind\":%u,\"device_flags\":%u,\"vendor_info\":",
                   le32(e + 32), le32(e + 4), le32(e + 8));
            iopctl_json_str(stdout, vendor, sizeof(vendor));
            printf(",\"product_info\":");
            iopctl_json_str(stdout, product, sizeof(product));
            printf("}");
        } else {
            /* Every column fixed-width (the sub-class is a full 32-bit word), the
             * names last. */
            char subcl[16];
            snprintf(subcl, sizeof(subcl), "0x%04x", le32(e + 16));
            printf("0x%03x %-18s %-10s 0x%04x 0x%03x  0x%03x  %-8s 0x%08x %-6u ", tid, iopctl_class_name(cls),
                   subcl, vendor_id, parent, user, ident, le32(e + 32), le32(e + 4));
            iopctl_text_str(stdout, vendor, sizeof(vendor));
            printf("%s", vendor[0] && product[0] ? " " : "");
            iopctl_text_str(stdout, product, sizeof(product));
            printf("\n");
        }
    }
    if (ctl->json)
        printf("]}\n");
    free(t);
    return IOPCTL_OK;
}
