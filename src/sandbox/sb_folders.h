/*
 * sb_folders.h - shared folders put in place for a post-login worker
 * (sb_folders.c). Not for use outside src/sandbox/.
 * Runs in: post-login workers, before their root and identity change.
 */
#ifndef KF_SB_FOLDERS_H
#define KF_SB_FOLDERS_H

struct sandbox_spec;

/*
 * Root: a mount namespace of the process's own, every mount a slave,
 * then each folder bound at its mount point under s->root (each
 * folder's fd left -1). A folder that cannot be bound is logged and
 * left out; without a namespace of its own (no CAP_SYS_ADMIN) all are,
 * and nothing is mounted.
 */
void sb_folders_mount(const struct sandbox_spec *s);
/*
 * Rootless: each folder whose mount point exists beneath rootfd gets
 * fd, an O_PATH descriptor of its source; the others -1 (logged).
 */
void sb_folders_open(const struct sandbox_spec *s, int rootfd);

#endif
