/* A user-memory accessor over a table of mapped regions: the in-process stand-in for a
 * caller's address space.  Addresses outside every region fault (-EFAULT), as do
 * writes to read-only regions, so tests can hand handlers NULL, unmapped and
 * short buffers and see exactly what the kernel's copy_{from,to}_user would do.
 * iopctl-style callers in the same process map their buffers at their own address. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/umem/umem.h"

#define IOP_UMEM_SPACE_REGIONS 32

struct iop_umem_space {
    struct iop_umem um;
    struct {
        uint64_t uaddr;
        void *host; /* borrowed */
        size_t len;
        bool writable;
    } region[IOP_UMEM_SPACE_REGIONS];
    unsigned n_regions;
    unsigned n_syncs; /* how often a handler asked for the declared ranges */
};

void iop_umem_space_init(struct iop_umem_space *s);
/* Map len bytes of host memory at user address uaddr.  -ENOSPC when the table is full,
 * -EINVAL for an empty or wrapping range. */
int iop_umem_space_map(struct iop_umem_space *s, uint64_t uaddr, void *host, size_t len, bool writable);
/* Map host memory at its own address (uaddr == (uintptr_t)host). */
int iop_umem_space_map_self(struct iop_umem_space *s, void *host, size_t len, bool writable);
