/*
 * hash_store.c - digests stored with uploaded files (hash_store.h):
 * the upload's tap, the extended attribute written, removed, and read
 * back under a size and mtime check.
 * Runs in: post-login worker.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "../common/limits.h"
#include "hash.h"
#include "hash_rec.h"
#include "hash_store.h"

_Static_assert(HASH_REC_MAX <= KF_HASH_XATTR_MAX,
    "a stored digest record fits KF_HASH_XATTR_MAX");

void
hash_store_begin(struct hash_store *h, unsigned mask)
{
	h->m = mask != 0 ? hash_multi_new(mask) : NULL;
	h->bytes = 0;
	h->failed = 0;
}

void
hash_store_tap(void *arg, const char *p, size_t n)
{
	struct hash_store *h = arg;

	if (h->m == NULL || h->failed)
		return;
	if (hash_multi_update(h->m, p, n) < 0)
		h->failed = 1;
	h->bytes += n;
}

/* The file's size and mtime, as a record holds them. */
static int
rec_stat(const struct stat *sb, struct hash_rec *r)
{
	if (sb->st_mtim.tv_sec < 0 || sb->st_mtim.tv_nsec < 0 ||
	    sb->st_mtim.tv_nsec >= 1000000000L)
		return -EINVAL;
	r->size = (uint64_t)sb->st_size;
	r->mtime_sec = (uint64_t)sb->st_mtim.tv_sec;
	r->mtime_nsec = (uint32_t)sb->st_mtim.tv_nsec;
	return 0;
}

int
hash_store_commit(struct hash_store *h, int fd)
{
	unsigned char out[KF_HASH_XATTR_MAX];
	struct hash_rec r;
	struct stat sb;
	int len;

	if (h->m == NULL || h->failed)
		return -ENODATA;
	memset(&r, 0, sizeof(r));
	if (fstat(fd, &sb) < 0)
		return -errno;
	/* another writer's bytes are in the file, not in the digest */
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != h->bytes ||
	    rec_stat(&sb, &r) < 0)
		return -ESTALE;
	if (hash_multi_final(h->m, &r) < 0 ||
	    (len = hash_rec_encode(&r, out, sizeof(out))) < 0)
		return -EIO;
	if (fsetxattr(fd, HASH_REC_XATTR, out, (size_t)len, 0) < 0)
		return -errno;
	return 0;
}

void
hash_store_end(struct hash_store *h)
{
	hash_multi_free(h->m);
	h->m = NULL;
}

void
hash_store_drop(int fd)
{
	(void)fremovexattr(fd, HASH_REC_XATTR);
}

size_t
hash_store_lookup(int fd, const struct stat *sb, unsigned id, unsigned char *md)
{
	unsigned char buf[KF_HASH_XATTR_MAX];
	struct hash_rec r, now;
	size_t len;
	ssize_t n;

	n = fgetxattr(fd, HASH_REC_XATTR, buf, sizeof(buf));
	if (n <= 0 || hash_rec_parse(buf, (size_t)n, &r) < 0)
		return 0;
	if (rec_stat(sb, &now) < 0 || now.size != r.size ||
	    now.mtime_sec != r.mtime_sec || now.mtime_nsec != r.mtime_nsec)
		return 0;
	if ((len = hash_names_digest_len(id)) == 0 ||
	    (r.mask & (1U << id)) == 0)
		return 0;
	memcpy(md, r.digest[id], len);
	return len;
}
