/*
 * upload.h - the temporary file of a STOR, which replaces its target
 * only when the upload succeeded (invariant 8).
 *
 * Unnamed (O_TMPFILE): the file has no name until upload_tmp_place
 * links it in, so no other session can see or open a partial upload,
 * and the kernel frees it when the worker dies, kill -9 included. Used
 * when the file system makes O_TMPFILE files and the kernel lets this
 * unprivileged process link one in (linkat AT_EMPTY_PATH: Linux 6.10
 * for an fd the process opened itself; before, CAP_DAC_READ_SEARCH),
 * which upload_tmp_open checks before any byte is written. It is
 * locked too (OFD), for the moment its place gives it a temporary name.
 *
 * Named (the fallback, or upload_tmpfile = no): ".kf-upload-" and 12
 * random hex digits in the target's directory, created O_EXCL and held
 * under an OFD write lock for as long as its upload runs; sessions
 * hide and refuse such names (upload_tmp_is_name). A worker killed
 * mid-upload leaves its file behind, unlocked: the next named upload
 * into that directory removes it (upload_sweep). The quota never
 * counts a temporary file (sess_upload.c charges an upload at its commit).
 * Runs in: post-login worker.
 */
#ifndef KF_UPLOAD_H
#define KF_UPLOAD_H

#include <time.h>

#define UPLOAD_TMP_PREFIX ".kf-upload-"

struct upload_tmp {
	int fd; /* written by the upload; -1: none */
	int named; /* name exists in the directory */
	char name[32];
};

/*
 * A temporary file in dirfd (an O_PATH directory), unnamed when
 * unnamed_ok and possible, else named and locked. 0, or -1 with errno.
 */
int upload_tmp_open(int dirfd, int unnamed_ok, struct upload_tmp *);
/*
 * Gives the file the name to in dirfd, replacing what was there (never
 * following a symlink): link or rename. 0, or -1 with errno; on
 * failure the temporary file is still the caller's to discard.
 */
int upload_tmp_place(int dirfd, struct upload_tmp *, const char *to);
/* Closes the file; a named one's name is removed (not after a place). */
void upload_tmp_discard(int dirfd, struct upload_tmp *);
/* 1 when name is a temporary file's name. */
int upload_tmp_is_name(const char *name);
/*
 * Removes the orphans in dirfd: temporary files that no upload holds
 * locked and that have not changed for KF_UPLOAD_ORPHAN_AGE seconds. At
 * most KF_LIST_ENTRIES_MAX entries are looked at.
 */
void upload_sweep(int dirfd, time_t now);

#endif
