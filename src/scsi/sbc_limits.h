/*
 * Limits the block emulation enforces and reports (Block Limits VPD page
 * B0h, Logical Block Provisioning VPD page B2h).  One place, so the VPD
 * pages and the handlers cannot disagree.
 */
#ifndef USCST_SBC_LIMITS_H
#define USCST_SBC_LIMITS_H

/* Largest READ/WRITE in bytes; MAXIMUM TRANSFER LENGTH = this / block size. */
#define SBC_MAX_TRANSFER_BYTES (8u * 1024 * 1024)
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

#endif
