/*
 * idmap.h - uid -> user name and gid -> group name for listings.
 * Loaded by the listener before any fork (workers could not read the
 * files in their sandbox); lookups are pure memory reads.
 * Runs in: listener (idmap_load_system, at start and on SIGHUP), post-login
 * worker (lookups, inherited at fork).
 *
 * Only the files are read (passwd(5)/group(5) syntax: name:x:id:...),
 * never NSS: users known only to LDAP/SSSD show as numbers. At most
 * KF_IDMAP_ENTRIES_MAX users and as many groups are kept, from at most
 * KF_IDMAP_FILE_MAX bytes of each file. A name is kept only when it is
 * 1..KF_IDMAP_NAME_MAX bytes of [A-Za-z0-9._-]; a malformed line, a bad
 * id (not decimal, or 4294967295) or a bad name is skipped, so its id
 * shows as a number. The first line for an id wins, as with getpwuid.
 */
#ifndef KF_IDMAP_H
#define KF_IDMAP_H

#include <stddef.h>
#include <sys/types.h>

enum idmap_kind {
	IDMAP_USERS,
	IDMAP_GROUPS,
};

struct idmap;

struct idmap *idmap_new(void);
void idmap_free(struct idmap *);
int idmap_parse(struct idmap *, enum idmap_kind, const char *text, size_t len);
int idmap_load_file(struct idmap *, enum idmap_kind, const char *path);
struct idmap *idmap_load_system(void);
const char *idmap_user(const struct idmap *, uid_t);
const char *idmap_group(const struct idmap *, gid_t);
size_t idmap_count(const struct idmap *, enum idmap_kind);

/*
 * idmap_parse: adds the lines of text (the last may lack its newline).
 *   0, or -ENOMEM. Entries beyond the cap are ignored.
 * idmap_load_file: idmap_parse on a file, read in bounded chunks.
 *   0, or -errno (a missing file is -ENOENT; the map stays usable).
 * idmap_load_system: /etc/passwd and /etc/group; missing or unreadable
 *   files give an empty table. NULL only when out of memory.
 * idmap_user/idmap_group: the name, or NULL (show the number). A NULL
 *   map is allowed and knows no names.
 */

#endif
