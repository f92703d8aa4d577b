/* iopctl html: a page of a device's configuration dialog (I2OHTML), optionally with a
 * query string that a form on the page would send. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/i2o-dev.h>

#include "tools/iopctl/iopctl.h"

int iopctl_cmd_html(struct iopctl *ctl, int argc, char **argv) {
    static const struct option opts[] = {
        { "query", required_argument, NULL, 'q' },
        {}
    };
    const char *query = NULL;
    uint32_t iop, tid, page = 0;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "q:", opts, NULL)) != -1) {
        if (c != 'q')
            return iopctl_usage("html IOP TID [PAGE] [--query NAME=VALUE&...]");
        query = optarg;
    }
    int rest = argc - optind;
    if (rest < 2 || rest > 3 || iopctl_parse_u32(argv[optind], UINT32_MAX, &iop) < 0 ||
        iopctl_parse_u32(argv[optind + 1], 0xFFF, &tid) < 0 ||
        (rest == 3 && iopctl_parse_u32(argv[optind + 2], UINT32_MAX, &page) < 0))
        return iopctl_usage("html IOP TID [PAGE] [--query NAME=VALUE&...]");

    unsigned int reslen = 16384;
    for (int attempt = 0; attempt < 3; attempt++) {
        char *buf = malloc(reslen + 1);
        if (!buf)
            return iopctl_fail("html", ENOMEM);
        unsigned int cap = reslen;
        struct i2o_html h = { .iop = iop, .tid = tid, .page = page, .resbuf = buf, .reslen = &reslen,
                              .qbuf = (void *)query, .qlen = query ? (unsigned)strlen(query) : 0 };
        if (ioctl(ctl->fd, I2OHTML, &h) == 0) {
            /* A page longer than the buffer (a driver that said so with success, not
             * ENOBUFS): buf[reslen] and the fwrite would run past the buffer. */
            if (reslen > cap) {
                free(buf);
                fprintf(stderr, "iopctl: I2OHTML: the driver answered %u bytes for a %u-byte buffer\n", reslen, cap);
                return IOPCTL_FAILED;
            }
            if (ctl->json) {
                printf("{\"iop\":%u,\"tid\":%u,\"page\":%u,\"html\":", iop, tid, page);
                buf[reslen] = 0;
                iopctl_json_str(stdout, buf, reslen);
                printf("}\n");
            } else {
                fwrite(buf, 1, reslen, stdout);
            }
            free(buf);
            return IOPCTL_OK;
        }
        int e = errno;
        free(buf);
        if (e != ENOBUFS || reslen <= cap)
            return iopctl_fail("I2OHTML", e);
        /* The page was built (and a query applied) once already; asking again with the
         * right size applies the same values, which changes nothing more. */
    }
    return iopctl_fail("I2OHTML", ENOBUFS);
}
