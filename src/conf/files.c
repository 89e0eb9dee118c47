/*
 * files.c - the files the configuration names (the config file itself,
 * banner files, the users file, the TLS certificate, key and client CA)
 * may be changed only by root and the account keepftpd runs as, like
 * OpenSSH's StrictModes: the file and every directory on its real path
 * are owned by one of them and writable by no one else (a directory
 * with the sticky bit, such as /tmp, may be writable by others: they
 * cannot rename or remove what they do not own). A private key is also
 * not readable by others.
 * Runs in: the configuration parser child (start, SIGHUP, `-t`), quick
 * mode's start-up and the other commands that read a config file. Pure
 * but for stat(2) and realpath(3).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

/* Owned by root or by the account we run as. */
static int
owner_ok(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

static int
check_dir(const char *dir, char *why, size_t whysz)
{
	struct stat st;

	if (stat(dir, &st) < 0) {
		snprintf(why, whysz, "directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!owner_ok(&st)) {
		snprintf(why, whysz,
		    "directory %s is owned by uid %lu (only "
		    "root or the account keepftpd runs as may own it)",
		    dir, (unsigned long)st.st_uid);
		return -1;
	}
	if ((st.st_mode & 022) != 0 && (st.st_mode & S_ISVTX) == 0) {
		snprintf(why, whysz,
		    "directory %s is writable by group or "
		    "others (mode %04o)",
		    dir, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

static int
check_file(const char *path, int secret, char *why, size_t whysz)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(why, whysz, "%s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode))
		return 0; /* for its reader to refuse */
	if (!owner_ok(&st)) {
		snprintf(why, whysz,
		    "owned by uid %lu (only root or the "
		    "account keepftpd runs as may own it)",
		    (unsigned long)st.st_uid);
		return -1;
	}
	if ((st.st_mode & 022) != 0) {
		snprintf(why, whysz, "writable by group or others (mode %04o)",
		    (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (secret && (st.st_mode & 004) != 0) {
		snprintf(why, whysz,
		    "private key readable by others (mode "
		    "%04o)",
		    (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

int
conf_file_safe(const char *path, int secret, char *why, size_t whysz)
{
	char real[PATH_MAX], *slash;

	/* a file that cannot be found is for its reader to report */
	if (realpath(path, real) == NULL)
		return 0;
	if (check_dir("/", why, whysz) < 0)
		return -1;
	for (slash = strchr(real + 1, '/'); slash != NULL;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (check_dir(real, why, whysz) < 0)
			return -1;
		*slash = '/';
	}
	return check_file(real, secret, why, whysz);
}

int
conf_file_executable(const char *path, char *why, size_t whysz)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(why, whysz, "%s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) {
		snprintf(why, whysz,
		    "not a regular executable file (mode %04o)",
		    (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}
