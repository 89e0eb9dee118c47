/*
 * migrate.h - `keepftpd migrate FILE`: a vsftpd.conf translated into
 * a keepftpd.conf on stdout.
 * Runs in: the `keepftpd migrate` command (no server running).
 */
#ifndef KF_MIGRATE_H
#define KF_MIGRATE_H

/* The command; argv[0] is "migrate". Exit status: 0, 1 (file), 2 (usage). */
int migrate_cli(int argc, char **argv);

/*
 * Translate vsftpd.conf text (len bytes, from file name `src`) into
 * keepftpd.conf text appended to out (NUL-terminated, at most outsz
 * bytes); each option not translated is also one line on stderr. The
 * number of options not translated, or -1 if out is too small.
 */
int migrate_vsftpd(const char *text, size_t len, const char *src, char *out,
    size_t outsz);

#endif
