/* iopctl internals: the command table and helpers shared by the command files. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct iopctl {
    const char *device;
    bool device_set;  /* -d was given */
    bool json;
    int fd;
};

/* Exit codes. */
#define IOPCTL_OK 0
#define IOPCTL_FAILED 1 /* the request failed (errno message printed) */
#define IOPCTL_USAGE 2
#define IOPCTL_NODEV 3  /* the device could not be opened */

struct iopctl_command {
    const char *name;
    const char *alias;
    const char *args;
    const char *help;
    int (*fn)(struct iopctl *ctl, int argc, char **argv);
    bool own_device; /* opens its own device: /dev/i2o/ctl is not opened for it */
};

int iopctl_fail(const char *what, int e);
int iopctl_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Strict number parsing (decimal or 0x hex): 0, or -EINVAL. */
int iopctl_parse_u32(const char *s, uint32_t max, uint32_t *out);
/* The number at the start of s, decimal or 0x hex as iopctl(1) says (no octal, sign or
 * blanks), and *end after it: 0, -EINVAL when s does not start with a digit, -ERANGE. */
int iopctl_strtou64(const char *s, char **end, uint64_t *out);
/* Bytes given as hex, two digits each and nothing else, into out (at most cap): how
 * many, or -EINVAL. */
int iopctl_parse_hex(const char *s, uint8_t *out, size_t cap);
/* A JSON string literal (with quotes) for s (at most maxlen bytes), into out: UTF-8
 * passes through, control characters and bytes that are not UTF-8 are escaped. */
void iopctl_json_str(FILE *out, const char *s, size_t maxlen);
/* s for a terminal: UTF-8 passes through, control characters and bytes that are not
 * UTF-8 are shown as \xHH (device strings may hold anything). */
void iopctl_text_str(FILE *out, const char *s, size_t maxlen);
/* One field of a parameter group (scalar groups), read with a FIELD_GET: its bytes
 * into out (at most size).  The number of bytes, or -1 when the IOP refused. */
int iopctl_field_get(struct iopctl *ctl, uint32_t iop, uint32_t tid, uint16_t group, uint16_t field, void *out,
                     size_t size);

/* Fetch an HRT/LCT-style table: I2OHRTGET/I2OLCTGET with the ENOBUFS retry.
 * Returns 0 and a malloc'ed buffer, or an errno. */
int iopctl_get_table(struct iopctl *ctl, unsigned long cmd, uint32_t iop, uint8_t **buf, uint32_t *len);

/* Memory below 4 GiB (MAP_32BIT) for buffers an SG element names by 32-bit address;
 * NULL on failure.  Unmap with munmap(p, n ? n : 1). */
void *iopctl_map32(size_t n);
/* The most bytes one simple SG element names: its byte count is bits 0-23 of the
 * flags/count word, so 16 MiB itself would be a count of 0 with a stray flag bit. */
#define IOPCTL_SG_COUNT_MAX 0x00FFFFFFu
/* A whole file (at most IOPCTL_SG_COUNT_MAX bytes, else EFBIG) into such memory;
 * IOPCTL_OK or the failure reported. */
int iopctl_read_file32(const char *path, uint8_t **buf, size_t *len);
int iopctl_write_file(const char *path, const void *buf, size_t len);

const char *iopctl_class_name(unsigned class_id);
const char *iopctl_bus_name(unsigned bus_type);

int iopctl_cmd_list(struct iopctl *ctl, int argc, char **argv);
int iopctl_cmd_validate(struct iopctl *ctl, int argc, char **argv);
int iopctl_cmd_hrt(struct iopctl *ctl, int argc, char **argv);
int iopctl_cmd_lct(struct iopctl *ctl, int argc, char **argv);
int iopctl_cmd_events(struct iopctl *ctl, int argc, char **argv);
int iopctl_cmd_sw(struct iopctl *ctl, int argc, char **argv);
int iopctl_cmd_get(struct iopctl *ctl, int argc, char **argv);
int iopctl_cmd_html(struct iopctl *ctl, int argc, char **argv);
int iopctl_cmd_passthru(struct iopctl *ctl, int argc, char **argv);
int iopctl_cmd_scsi(struct iopctl *ctl, int argc, char **argv);
int iopctl_cmd_usb(struct iopctl *ctl, int argc, char **argv);
int iopctl_cmd_set(struct iopctl *ctl, int argc, char **argv);
int iopctl_cmd_capture(struct iopctl *ctl, int argc, char **argv);
