/* iovec helpers for backends and their callers (include/uscst/iov.h). */
#include <string.h>

#include <uscst/iov.h>

uint64_t uscst_iov_length(const struct iovec *iov, unsigned cnt)
{
	uint64_t total = 0;
	for (unsigned i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	return total;
}

bool uscst_iov_seek(const struct iovec *iov, unsigned cnt, uint64_t at, unsigned *idx, size_t *off)
{
	for (unsigned i = 0; i < cnt; i++) {
		if (at < iov[i].iov_len) {
			*idx = i;
			*off = (size_t)at;
			return true;
		}
		at -= iov[i].iov_len;
	}
	return false;
}

/* One walk for the three copies: fn(segment bytes, arg bytes, len) on each
 * piece of [at, at + n) in turn. */
typedef void (*piece_fn)(uint8_t *seg, uint8_t *arg, size_t len, int c);

static size_t walk(const struct iovec *iov, unsigned cnt, uint64_t at, uint8_t *arg, size_t n,
		   int c, piece_fn fn)
{
	unsigned i;
	size_t off, done = 0;
	if (!uscst_iov_seek(iov, cnt, at, &i, &off))
		return 0;
	for (; i < cnt && done < n; i++, off = 0) {
		size_t len = iov[i].iov_len - off;
		if (len > n - done)
			len = n - done;
		/* An empty element may have a NULL base: memcpy must not see it. */
		if (!len)
			continue;
		fn((uint8_t *)iov[i].iov_base + off, arg ? arg + done : NULL, len, c);
		done += len;
	}
	return done;
}

static void piece_from(uint8_t *seg, uint8_t *src, size_t len, int c) { memcpy(seg, src, len); }

static void piece_to(uint8_t *seg, uint8_t *dst, size_t len, int c) { memcpy(dst, seg, len); }

static void piece_set(uint8_t *seg, uint8_t *unused, size_t len, int c) { memset(seg, c, len); }

size_t uscst_iov_from_buf(const struct iovec *iov, unsigned cnt, uint64_t at, const void *src,
			  size_t n)
{
	return walk(iov, cnt, at, (uint8_t *)src, n, 0, piece_from);
}

size_t uscst_iov_to_buf(const struct iovec *iov, unsigned cnt, uint64_t at, void *dst, size_t n)
{
	return walk(iov, cnt, at, dst, n, 0, piece_to);
}

size_t uscst_iov_memset(const struct iovec *iov, unsigned cnt, uint64_t at, int c, size_t n)
{
	return walk(iov, cnt, at, NULL, n, c, piece_set);
}
