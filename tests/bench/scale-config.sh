#!/bin/sh
# A configuration of N IOPs with M devices each, for scale benchmarks:
#   tests/bench/scale-config.sh N M [legacy] > big.json
# Every IOP has an ISA adapter with a DMA channel and the devices of the built-in
# configuration's kinds: per 100 devices one bus adapter (the parent of the next 99),
# then block storage (1 MiB, with a description), LAN, SCSI peripherals (1 MiB) and
# DDMs in turn, each with an identity; the disks spread over the 5 SCSI buses (100 on
# each at most: 127 targets per bus).  "legacy": without "scsi_bus" and SCSI
# peripherals' geometry, for daemons older than the SCSI target.  N <= 32, M <= 1023 (IOP_MAX_DEVICES with the
# executive).  Needs only awk.
set -eu
n=${1:?usage: scale-config.sh N M}
m=${2:?usage: scale-config.sh N M}
legacy=0
[ "${3:-}" = legacy ] && legacy=1
[ "$n" -ge 1 ] && [ "$n" -le 32 ] && [ "$m" -ge 1 ] && [ "$m" -le 1023 ] || {
    echo "scale-config.sh: N 1..32, M 1..1023" >&2; exit 2; }
awk -v n="$n" -v m="$m" -v legacy="$legacy" 'BEGIN {
    printf "{ \"iops\": [\n"
    for (u = 0; u < n; u++) {
        printf "  { \"unit\": %d, \"product_id\": \"scale IOP %d\",\n", u, u
        printf "    \"adapters\": [ { \"adapter_id\": 1, \"bus\": \"isa\", \"io_port\": \"0x330\", \"dma_channel\": 5 } ],\n"
        printf "    \"devices\": [\n"
        parent = 0
        for (i = 0; i < m; i++) {
            tid = 16 + i
            sep = i + 1 < m ? "," : ""
            if (i % 100 == 0) {
                parent = tid
                printf "      { \"tid\": %d, \"class\": \"bus-adapter\", \"identity\": \"BUS%d\", \"adapter\": 1 }%s\n", tid, i / 100, sep
                continue
            }
            k = i % 4
            bus = legacy ? "" : sprintf(", \"scsi_bus\": %d", int(i / 200))
            geom = legacy ? "" : ", \"blocks\": 2048, \"block_size\": 512"
            if (k == 0)
                printf "      { \"tid\": %d, \"class\": \"block-storage\", \"parent\": %d, \"identity\": \"D%d\", \"description\": \"scale disk %d\", \"blocks\": 2048, \"block_size\": 512%s }%s\n", tid, parent, i, i, bus, sep
            else if (k == 1)
                printf "      { \"tid\": %d, \"class\": \"lan\", \"parent\": %d, \"identity\": \"LAN%d\" }%s\n", tid, parent, i, sep
            else if (k == 2)
                printf "      { \"tid\": %d, \"class\": \"scsi-peripheral\", \"parent\": %d, \"identity\": \"S%d\"%s%s }%s\n", tid, parent, i, geom, bus, sep
            else
                printf "      { \"tid\": %d, \"class\": \"ddm\", \"parent\": %d, \"identity\": \"DDM%d\" }%s\n", tid, parent, i, sep
        }
        printf "    ] }%s\n", u + 1 < n ? "," : ""
    }
    printf "] }\n"
}'
