/* Direct I/O alignment (backend/dio_align.h). */
#include "backend/dio_align.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#define FALLBACK_ALIGN 4096u

static bool power_of_two(uint64_t x) { return x && !(x & (x - 1)); }

static uint32_t or_fallback(uint64_t x) { return power_of_two(x) ? (uint32_t)x : FALLBACK_ALIGN; }

int dio_align_query(int fd, struct dio_align *a)
{
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_DIOALIGN, &sx) < 0)
		return -errno;
	bool have_dio = (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align;
	if (S_ISBLK(sx.stx_mode)) {
		int lbs = 0;
		if (ioctl(fd, BLKSSZGET, &lbs) < 0)
			return -errno;
		a->file = or_fallback((uint64_t)lbs);
	} else {
		uint32_t fs_block = or_fallback(sx.stx_blksize);
		uint32_t dio = have_dio ? or_fallback(sx.stx_dio_offset_align) : 0;
		a->file = dio > fs_block ? dio : fs_block;
	}
	a->mem = have_dio && sx.stx_dio_mem_align ? or_fallback(sx.stx_dio_mem_align) : a->file;
	if (a->mem > a->file)
		a->mem = a->file;
	if (a->file > DIO_ALIGN_MAX || a->mem > DIO_MEM_ALIGN_MAX)
		return -EINVAL;
	return 0;
}

bool dio_aligned(const struct dio_align *a, uint64_t off, uint64_t len, const struct iovec *iov,
		 unsigned cnt)
{
	uint64_t fmask = a->file - 1, mmask = a->mem - 1;
	if ((off | len) & fmask)
		return false;
	for (unsigned i = 0; i < cnt; i++)
		if (((uintptr_t)iov[i].iov_base & mmask) || (iov[i].iov_len & fmask))
			return false;
	return true;
}

void dio_next_chunk(const struct dio_align *a, uint64_t off, uint64_t len, uint64_t done,
		    uint32_t max, struct dio_chunk *c)
{
	uint64_t pos = off + done, req_end = off + len;
	c->start = dio_down(pos, a->file);
	uint64_t cover_end = dio_up(req_end, a->file);
	c->end = cover_end - c->start > max ? c->start + max : cover_end;
	uint64_t data_end = req_end < c->end ? req_end : c->end;
	c->skip = (uint32_t)(pos - c->start);
	c->data_len = (uint32_t)(data_end - pos);
	c->read_head = pos != c->start;
	/* The tail block is read unless the head read covers it already. */
	c->read_tail = data_end != c->end && !(c->read_head && c->end - c->start == a->file);
}
