/* iop_config_equal(): two parsed configurations compared member by member, for the
 * tests and the config fuzz target that hold the two ways of parsing against each other. */
#include <string.h>

#include "lib/config/config.h"

/* Field by field (padding is not compared: the parser fills structures member-wise). */
#define SAME(f) (a->f == b->f)
#define SAME_STR(f) (strcmp(a->f, b->f) == 0)

static bool adapter_equal(const struct iop_config_adapter *a, const struct iop_config_adapter *b) {
    return SAME(adapter_id) && SAME(bus_type) && SAME(bus_num) && SAME(state) && SAME(parent_tid) &&
           SAME(io_port) && SAME(mem_base) && SAME(csn) && SAME(dma_channel) && SAME(pci_bus) &&
           SAME(pci_device) && SAME(pci_function) && SAME(pci_vendor) && SAME(pci_product);
}

static bool group_equal(const struct iop_config_group *a, const struct iop_config_group *b) {
    if (!(SAME(number) && SAME_STR(name) && SAME(table) && SAME(row_add) && SAME(row_delete) &&
          SAME(clear) && SAME(n_fields) && SAME(n_rows)))
        return false;
    for (unsigned i = 0; i < a->n_fields; i++) {
        const struct iop_config_field *x = &a->field[i], *y = &b->field[i];
        if (strcmp(x->name, y->name) != 0 || x->type != y->type || x->size != y->size ||
            x->writable != y->writable || x->key != y->key || x->has_range != y->has_range ||
            x->min != y->min || x->max != y->max)
            return false;
    }
    return true;
}

static bool value_equal(const struct iop_config_value *a, const struct iop_config_value *b) {
    return SAME(group) && SAME(row) && SAME_STR(field) && SAME(is_string) && SAME(u) &&
           SAME_STR(path) && (a->s && b->s ? strcmp(a->s, b->s) == 0 : a->s == b->s);
}

static bool device_equal(const struct iop_config_device *a, const struct iop_config_device *b) {
    if (!(SAME(tid) && SAME(class_id) && SAME(class_version) && SAME(sub_class) && SAME(vendor_id) &&
          SAME(parent_tid) && SAME(user_tid) && SAME_STR(identity) && SAME(event_capabilities) &&
          SAME(device_flags) && SAME_STR(vendor_info) && SAME_STR(product_info) &&
          SAME_STR(description) && SAME_STR(revision) && SAME_STR(serial) && SAME(adapter_id) &&
          SAME(usb) && SAME(blocks) && SAME(block_size) && SAME(scsi_port) && SAME(scsi_bus) &&
          SAME(scsi_target) && SAME(scsi_lun) && SAME(n_groups) && SAME(n_values)))
        return false;
    for (unsigned i = 0; i < a->n_groups; i++)
        if (!group_equal(&a->group[i], &b->group[i]))
            return false;
    for (unsigned i = 0; i < a->n_values; i++)
        if (!value_equal(&a->value[i], &b->value[i]))
            return false;
    return true;
}

static bool match_equal(const struct iop_config_usb_match *a, const struct iop_config_usb_match *b) {
    return SAME(vid) && SAME(pid) && SAME(any_pid) && SAME(detach) && SAME(by_port) && SAME(bus) &&
           SAME(depth) && memcmp(a->ports, b->ports, sizeof(a->ports)) == 0;
}

static bool nodes_equal(const struct iop_config_nodes *a, const struct iop_config_nodes *b) {
    return SAME_STR(ctl) && SAME_STR(ctl_alias) && SAME(ctl_alias_enabled) && SAME_STR(usbmon) &&
           SAME_STR(usbmon_bin) && SAME_STR(usbmon_bin_alt) && SAME(usbmon_enabled) &&
           SAME_STR(user) && SAME_STR(group) && SAME(mode);
}

bool iop_config_equal(const struct iop_config *a, const struct iop_config *b) {
    if (!(SAME(n_iops) && nodes_equal(&a->nodes, &b->nodes) && SAME(usb.enabled) &&
          SAME(usb.n_allow) && SAME(usb.n_claim)))
        return false;
    for (unsigned i = 0; i < a->usb.n_allow; i++)
        if (!match_equal(&a->usb.allow[i], &b->usb.allow[i]))
            return false;
    for (unsigned i = 0; i < a->usb.n_claim; i++)
        if (!match_equal(&a->usb.claim[i], &b->usb.claim[i]))
            return false;
    for (unsigned i = 0; i < a->n_iops; i++) {
        const struct iop_config_iop *x = &a->iop[i], *y = &b->iop[i];
        if (x->unit != y->unit || strcmp(x->product_id, y->product_id) != 0 ||
            x->answers != y->answers || x->n_adapters != y->n_adapters ||
            x->n_devices != y->n_devices)
            return false;
        for (unsigned k = 0; k < x->n_adapters; k++)
            if (!adapter_equal(&x->adapter[k], &y->adapter[k]))
                return false;
        for (unsigned k = 0; k < x->n_devices; k++)
            if (!device_equal(&x->device[k], &y->device[k]))
                return false;
    }
    return true;
}
