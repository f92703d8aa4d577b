/* Random block storage (I2O 1.5 BSA class) behind a block-storage TID: BsaBlockRead,
 * BsaBlockWrite and BsaCacheFlush messages, their data moving through the IOP's ISA DMA
 * channel (isa-path.h) in boundary-respecting chunks.
 *
 * Message layout (as Linux's i2o_block built them): word 4 ControlFlags |
 * TimeMultiplier << 16 | FetchAhead << 24 (ignored), word 5 TransferByteCount, words 6-7
 * the 64-bit LogicalByteAddress (low, high), the SGL from word 8: simple elements,
 * IOP-to-host for a read, host-to-IOP for a write.  Reply word 5: bytes transferred.
 * Addresses and counts must be whole blocks inside the configured capacity.
 *
 * The medium is a sparse file "disk-TTT.img" in the IOP's state directory, written in
 * place as a disk is (it survives restarts; BsaCacheFlush fsyncs it), each write whole
 * or not at all if the daemon dies during it (through "disk-TTT.jnl", bsa-journal.h);
 * or anonymous memory when the IOP has no state directory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct iop_device;
struct iop_msg;

#define IOP_FN_BSA_CACHE_FLUSH 0x37
/* One request moves at most this much (the largest a CUSE passthrough can carry). */
#define IOP_BSA_MAX_TRANSFER (128u * 1024u)

/* Post a BSA message to block-storage device d: the ReqStatus, or -ENOSYS for
 * functions this class does not have here. */
int iop_bsa_post(struct iop_device *d, struct iop_msg *m);
/* Close d's medium (with the device). */
void iop_bsa_close(struct iop_device *d);

/* The medium of a device with blocks (block storage, SCSI peripheral): its file
 * descriptor, opened on first use, or a negative errno.  The SCSI target model
 * (dpt.c) uses the same file, so one disk answers both protocols. */
int iop_bsa_medium(struct iop_device *d);
/* Move n bytes between a host buffer and the device through the IOP's ISA DMA channel
 * (a plain copy without one): the bytes delivered or a negative errno. */
int iop_bsa_dma(struct iop_device *d, bool to_iop, void *dst, const void *src, size_t n);
