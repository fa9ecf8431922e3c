/*
 * Limits the block emulation enforces and reports (Block Limits VPD page
 * B0h, Logical Block Provisioning VPD page B2h).  One place, so the VPD
 * pages and the handlers cannot disagree.
 */
#ifndef USCST_SBC_LIMITS_H
#define USCST_SBC_LIMITS_H

/* Largest READ/WRITE in bytes; MAXIMUM TRANSFER LENGTH = this / block size.
 * 32 MiB is 65536 blocks of 512 bytes: initiators (libiscsi's
 * WriteSame16.Unmap among them) write and read back as many blocks as one
 * WRITE SAME may cover with a 4-byte length.  It stays below the iSCSI
 * layer's Data-Out buffer cap (MAX_OUT_BUFFER, 64 MiB). */
#define SBC_MAX_TRANSFER_BYTES (32u * 1024 * 1024)
/* MAXIMUM ATOMIC TRANSFER LENGTH in bytes (WRITE ATOMIC(16), sbc_atomic.c):
 * the range lock makes any write atomic for the other commands, so the
 * limit is the one of every write. */
#define SBC_MAX_ATOMIC_TRANSFER_BYTES SBC_MAX_TRANSFER_BYTES
/* OPTIMAL TRANSFER LENGTH in bytes (reported in blocks). */
#define SBC_OPTIMAL_TRANSFER_BYTES (512u * 1024)
/* MAXIMUM COMPARE AND WRITE LENGTH (blocks, one byte in the CDB). */
#define SBC_MAX_CAW_BLOCKS 255u
/* MAXIMUM WRITE SAME LENGTH (blocks). */
#define SBC_MAX_WRITE_SAME_BLOCKS (1u << 22)
/* MAXIMUM UNMAP LBA COUNT and MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT. */
#define SBC_MAX_UNMAP_LBA_COUNT (1u << 22)
#define SBC_MAX_UNMAP_DESCRIPTORS 256u
/* OPTIMAL UNMAP GRANULARITY (blocks): a punched hole is at least a page. */
#define SBC_UNMAP_GRANULARITY_BYTES 4096u
/* WSNZ (Block Limits VPD): 0 = WRITE SAME with NUMBER OF LOGICAL BLOCKS 0
 * writes from the LBA to the end of the medium (within the maximum above). */
#define SBC_WSNZ 0
/* LBPRZ (READ CAPACITY(16), LBP VPD): unmapped blocks read as zeros. */
#define SBC_LBPRZ 1
/* ANC_SUP (LBP VPD): anchored blocks are not supported; ANCHOR is refused. */
#define SBC_ANC_SUP 0
/* LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT (READ CAPACITY(16)) comes from
 * the storage's physical block when the device's lb_per_pb_exp is set, up
 * to this size: a larger st_blksize (a network file system's 1 MiB) is a
 * transfer preference, not a sector the initiator should align to. */
#define SBC_MAX_PHYS_BLOCK_BYTES (64u * 1024)

#endif
