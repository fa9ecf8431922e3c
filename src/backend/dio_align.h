/*
 * Direct I/O (O_DIRECT) alignment: what a storage needs, and how a request
 * that does not meet it is carried through an aligned bounce buffer, in
 * chunks.  Pure arithmetic apart from dio_align_query(), so that the unit
 * tests can check every case.
 */
#ifndef USCST_BACKEND_DIO_ALIGN_H
#define USCST_BACKEND_DIO_ALIGN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

/* Powers of two.  file: offsets and lengths on the storage; mem: buffer
 * addresses and segment lengths. */
struct dio_align {
	uint32_t file;
	uint32_t mem;
};

/* Largest alignment taken (a file system block of 64 KiB); above it the
 * storage is refused. */
#define DIO_ALIGN_MAX (64u * 1024)
/* Bounce buffers are aligned to a page at most (lib/buf_pool.h), so no
 * storage may need its memory aligned more. */
#define DIO_MEM_ALIGN_MAX 4096u

/*
 * The alignment of fd, opened with O_DIRECT:
 *  - block device: its logical block size (BLKSSZGET) for offsets, and
 *    statx's STATX_DIOALIGN memory alignment where the kernel has it
 *    (else the logical block size);
 *  - regular file: the file system block (st_blksize), or STATX_DIOALIGN's
 *    offset alignment if larger.  A direct write smaller than a file system
 *    block is legal on ext4 and XFS, but they serialise it against every
 *    other direct I/O of the file and zero the rest of a fresh block, so
 *    whole blocks are written: a smaller request goes through a
 *    read-modify-write of the covering blocks here, serialised only
 *    against the writes that overlap it.
 * Anything unknown or odd falls back to 4096.  0 or -errno (-EINVAL: an
 * alignment above DIO_ALIGN_MAX / DIO_MEM_ALIGN_MAX).
 */
int dio_align_query(int fd, struct dio_align *a);

static inline uint64_t dio_down(uint64_t x, uint32_t align) { return x & ~(uint64_t)(align - 1); }
static inline uint64_t dio_up(uint64_t x, uint32_t align) { return dio_down(x + align - 1, align); }

/* Whether [off, off+len) on the storage, with the data in iov[0..cnt),
 * can go to the storage as it is: offset and length on a.file, every
 * segment's address on a.mem and its length on a.file. */
bool dio_aligned(const struct dio_align *a, uint64_t off, uint64_t len, const struct iovec *iov,
		 unsigned cnt);

/*
 * One step of a bounced request [off, off+len): the aligned range
 * [start, end) of the storage that holds the request's bytes from
 * off+done on, at most max bytes (a multiple of a->file), and where those
 * bytes sit in it.  A write must first read the partial blocks at either
 * end (read_head: [start, start+file); read_tail: [end-file, end), unless
 * that is the head block already read).
 */
struct dio_chunk {
	uint64_t start, end;
	uint32_t skip;	   /* bytes of the chunk before the request's data */
	uint32_t data_len; /* request bytes in this chunk */
	bool read_head, read_tail;
};

/* done < len, max >= a->file, both multiples of a->file as said. */
void dio_next_chunk(const struct dio_align *a, uint64_t off, uint64_t len, uint64_t done,
		    uint32_t max, struct dio_chunk *c);

#endif
