/*
 * path.c - lexical clean-up of client paths, and the parent directory
 * of a path opened through fs_open (walk.c), which keeps every lookup
 * inside the session root.
 * Runs in: post-login worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "../common/limits.h"
#include "path.h"

/* Appends one component; ".." pops, "." and "" are skipped. */
static int
push(char *out, size_t outsz, size_t *len, const char *comp, size_t n)
{
	if (n == 0 || (n == 1 && comp[0] == '.'))
		return 0;
	if (n == 2 && comp[0] == '.' && comp[1] == '.') {
		while (*len > 0 && out[*len - 1] != '/')
			(*len)--;
		if (*len > 0)
			(*len)--; /* the slash; "/" stays as len 0 */
		return 0;
	}
	if (n > KF_NAME_MAX)
		return -ENAMETOOLONG;
	if (*len + 1 + n >= outsz)
		return -ENAMETOOLONG;
	out[(*len)++] = '/';
	memcpy(out + *len, comp, n);
	*len += n;
	return 0;
}

static int
push_all(char *out, size_t outsz, size_t *len, const char *s)
{
	const char *slash;
	int r;

	while (*s != '\0') {
		slash = strchr(s, '/');
		if (slash == NULL)
			slash = s + strlen(s);
		if ((r = push(out, outsz, len, s, (size_t)(slash - s))) < 0)
			return r;
		s = *slash == '/' ? slash + 1 : slash;
	}
	return 0;
}

/*
 * out = clean(cwd + "/" + arg), or clean(arg) when arg is absolute.
 * ".." never rises above "/". An empty arg means cwd.
 */
int
path_resolve(const char *cwd, const char *arg, char *out, size_t outsz)
{
	size_t len = 0;
	int r;

	if (outsz < 2)
		return -ENAMETOOLONG;
	if (strlen(arg) > KF_PATH_MAX)
		return -ENAMETOOLONG;
	if (arg[0] != '/' && (r = push_all(out, outsz, &len, cwd)) < 0)
		return r;
	if ((r = push_all(out, outsz, &len, arg)) < 0)
		return r;
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	return 0;
}

/* "/a/b" -> "/a" and "b". The root has no name: -EINVAL. */
int
path_split(const char *vpath, char *parent, size_t psz, const char **name)
{
	const char *slash = strrchr(vpath, '/');
	size_t n;

	if (slash == NULL || slash[1] == '\0')
		return -EINVAL;
	n = (size_t)(slash - vpath);
	if (n == 0)
		n = 1; /* parent is "/" */
	if (n >= psz)
		return -ENAMETOOLONG;
	memcpy(parent, vpath, n);
	parent[n] = '\0';
	*name = slash + 1;
	return 0;
}

/*
 * The directory holding vpath's last component, as a dirfd for the
 * *at() calls, which then act on one plain name (no slash, not a dot
 * name) and do not follow a final symlink. A shared folder's mount
 * point itself is EBUSY.
 */
int
fs_open_parent(int rootfd, const char *vpath, const char **name)
{
	return fs_open_parent_real(rootfd, vpath, name, NULL, 0);
}

int
fs_open_parent_real(int rootfd, const char *vpath, const char **name,
    char *real, size_t realsz)
{
	char parent[KF_PATH_MAX + 1];
	size_t n, k;
	int fd;

	if (path_split(vpath, parent, sizeof(parent), name) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (fs_folder_mount_point(vpath)) {
		/* as a mount point is to rmdir and rename: rootless too */
		errno = EBUSY;
		return -1;
	}
	fd = fs_open_real(rootfd, parent, O_PATH | O_DIRECTORY, 0, real,
	    realsz);
	if (fd < 0 || real == NULL)
		return fd;
	n = strcmp(real, "/") == 0 ? 0 : strlen(real);
	k = strlen(*name);
	if (n + 1 + k >= realsz) {
		close(fd);
		errno = ENAMETOOLONG;
		return -1;
	}
	real[n] = '/';
	memcpy(real + n + 1, *name, k + 1);
	return fd;
}
