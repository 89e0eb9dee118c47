/*
 * migrate.c - `keepftpd migrate [FILE]`: reads a vsftpd.conf (default
 * /etc/vsftpd.conf) and prints an equivalent keepftpd.conf on stdout.
 * Every line printed is checked with conf_set, and the whole with
 * conf_check, so that `keepftpd -t` accepts the output; every vsftpd
 * option that could not be translated is named in a comment and on
 * stderr. vsftpd's built-in defaults apply to options the file does not
 * set (anonymous_enable=YES, local_umask=077, ...). docs/MIGRATING.md
 * has the table.
 * Runs in: the `keepftpd migrate` command (no server running).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/cursor.h"
#include "../common/limits.h"
#include "conf.h"
#include "migrate.h"

#define DEFAULT_VSFTPD	"/etc/vsftpd.conf"
#define NOTE_NONE	NULL
#define MIGRATE_PASV_LO 1024 /* keepftpd's lowest pasv_min_port */

/*
 * vsftpd's options: name, built-in default (vsftpd 3.0), and for those
 * the code below does not translate, why: "=..." is a comment only
 * (keepftpd does this always, or it does not matter), anything else
 * makes the option "not translated" when the file sets it to something
 * other than vsftpd's default.
 */
static const struct vopt {
	const char *name;
	const char *def;
	const char *note;
} vopts[] = {
	{ "listen", "NO", NOTE_NONE },
	{ "listen_ipv6", "NO", NOTE_NONE },
	{ "listen_port", "21", NOTE_NONE },
	{ "listen_address", "", NOTE_NONE },
	{ "listen_address6", "", NOTE_NONE },
	{ "implicit_ssl", "NO", NOTE_NONE },
	{ "anonymous_enable", "YES", NOTE_NONE },
	{ "anon_root", "", NOTE_NONE },
	{ "ftp_username", "ftp", NOTE_NONE },
	{ "anon_upload_enable", "NO", NOTE_NONE },
	{ "anon_mkdir_write_enable", "NO", NOTE_NONE },
	{ "anon_other_write_enable", "NO", NOTE_NONE },
	{ "anon_umask", "077", NOTE_NONE },
	{ "anon_max_rate", "0", NOTE_NONE },
	{ "no_anon_password", "NO",
	    "=keepftpd asks anonymous users for a password and accepts any" },
	{ "anon_world_readable_only", "YES",
	    "keepftpd serves anonymous users whatever the anon_user account "
	    "may read" },
	{ "local_enable", "NO", NOTE_NONE },
	{ "write_enable", "NO", NOTE_NONE },
	{ "local_umask", "077", NOTE_NONE },
	{ "local_max_rate", "0", NOTE_NONE },
	{ "pam_service_name", "ftp", NOTE_NONE },
	{ "chroot_local_user", "NO", NOTE_NONE },
	{ "chroot_list_enable", "NO", NOTE_NONE },
	{ "chroot_list_file", "/etc/vsftpd.chroot_list", NOTE_NONE },
	{ "allow_writeable_chroot", "NO",
	    "=keepftpd confines every session to its root, writable or not" },
	{ "passwd_chroot_enable", "NO",
	    "a /./ in the home directory does not move the session's root" },
	{ "secure_chroot_dir", "/usr/share/empty",
	    "=keepftpd's own empty_dir (/run/keepftpd/empty) is used" },
	{ "nopriv_user", "nobody", NOTE_NONE },
	{ "pasv_enable", "YES", NOTE_NONE },
	{ "port_enable", "YES", NOTE_NONE },
	{ "pasv_min_port", "0", NOTE_NONE },
	{ "pasv_max_port", "0", NOTE_NONE },
	{ "pasv_address", "", NOTE_NONE },
	{ "pasv_addr_resolve", "NO",
	    "pasv_address must be an IPv4 address, not a host name" },
	{ "pasv_promiscuous", "NO",
	    "keepftpd always checks that the data connection comes from the "
	    "client" },
	{ "port_promiscuous", "NO",
	    "keepftpd connects only to the client's own address" },
	{ "connect_from_port_20", "NO",
	    "=keepftpd's active data connections do not come from port 20" },
	{ "ftp_data_port", "20",
	    "=keepftpd's active data connections do not come from port 20" },
	{ "max_clients", "0", NOTE_NONE },
	{ "max_per_ip", "0", NOTE_NONE },
	{ "max_login_fails", "3", NOTE_NONE },
	{ "delay_failed_login", "1", NOTE_NONE },
	{ "delay_successful_login", "0",
	    "keepftpd does not delay good logins" },
	{ "idle_session_timeout", "300", NOTE_NONE },
	{ "data_connection_timeout", "300", NOTE_NONE },
	{ "accept_timeout", "60", "=data_timeout covers it" },
	{ "connect_timeout", "60", "=data_timeout covers it" },
	{ "ftpd_banner", "", NOTE_NONE },
	{ "banner_file", "", NOTE_NONE },
	{ "dirmessage_enable", "NO", NOTE_NONE },
	{ "message_file", ".message",
	    "keepftpd's directory message file is always .message" },
	{ "ls_recurse_enable", "NO", NOTE_NONE },
	{ "hide_file", "", NOTE_NONE },
	{ "deny_file", "", NOTE_NONE },
	{ "syslog_enable", "NO", NOTE_NONE },
	{ "xferlog_enable", "NO",
	    "not translated: set xferlog_file (wu-ftpd xferlog format) or "
	    "log_file in keepftpd.conf; each transfer is also a line of its "
	    "log" },
	{ "xferlog_std_format", "NO",
	    "keepftpd's xferlog_file is always the wu-ftpd (standard) "
	    "format" },
	{ "xferlog_file", "/var/log/xferlog",
	    "not translated: keepftpd's xferlog_file (wu-ftpd format) takes "
	    "a path" },
	{ "vsftpd_log_file", "/var/log/vsftpd.log",
	    "not translated: keepftpd's log_file takes a path (text or json)" },
	{ "dual_log_enable", "NO",
	    "keepftpd writes xferlog_file and log_file side by side when "
	    "both are set" },
	{ "log_ftp_protocol", "NO",
	    "keepftpd does not log every command (log_level = debug logs more)" },
	{ "use_localtime", "NO",
	    "keepftpd shows times in UTC (as MLSD and MDTM require)" },
	{ "ssl_enable", "NO", NOTE_NONE },
	{ "rsa_cert_file", "/usr/share/ssl/certs/vsftpd.pem", NOTE_NONE },
	{ "rsa_private_key_file", "", NOTE_NONE },
	{ "dsa_cert_file", "", "keepftpd takes one certificate (tls_cert)" },
	{ "dsa_private_key_file", "",
	    "keepftpd takes one certificate (tls_cert)" },
	{ "force_local_logins_ssl", "YES", NOTE_NONE },
	{ "force_local_data_ssl", "YES", NOTE_NONE },
	{ "force_anon_logins_ssl", "NO", NOTE_NONE },
	{ "force_anon_data_ssl", "NO", NOTE_NONE },
	{ "allow_anon_ssl", "NO",
	    "=keepftpd lets anonymous sessions use TLS when a certificate is "
	    "set" },
	{ "require_ssl_reuse", "YES", NOTE_NONE },
	{ "require_cert", "NO", NOTE_NONE },
	{ "validate_cert", "NO",
	    "=keepftpd always verifies client "
	    "certificates against tls_client_ca" },
	{ "ca_certs_file", "", NOTE_NONE },
	{ "ssl_ciphers", "DES-CBC3-SHA",
	    "keepftpd's TLS 1.2 ciphers are AEAD only (tls_ciphers); set it by "
	    "hand if needed" },
	{ "ssl_sslv2", "NO", "=keepftpd speaks TLS 1.2 and 1.3 only" },
	{ "ssl_sslv3", "NO", "=keepftpd speaks TLS 1.2 and 1.3 only" },
	{ "ssl_tlsv1", "YES", "=keepftpd speaks TLS 1.2 and 1.3 only" },
	{ "ssl_tlsv1_1", "NO", "=keepftpd speaks TLS 1.2 and 1.3 only" },
	{ "ssl_tlsv1_2", "NO", "=keepftpd speaks TLS 1.2 and 1.3 only" },
	{ "ssl_request_cert", "YES",
	    "=keepftpd asks for a client "
	    "certificate only with tls_client_ca" },
	{ "strict_ssl_read_eof", "NO",
	    "=keepftpd keeps no TLS upload that ends without close_notify "
	    "(tls_accept_truncated = no)" },
	{ "strict_ssl_write_shutdown", "NO",
	    "=keepftpd always ends TLS data connections with close_notify" },
	{ "debug_ssl", "NO", "=log_level = debug logs TLS errors" },
	{ "seccomp_sandbox", "YES", "=keepftpd always runs sandboxed" },
	{ "isolate", "YES", "=keepftpd always runs sandboxed" },
	{ "isolate_network", "YES", "=keepftpd always runs sandboxed" },
	{ "one_process_model", "NO",
	    "=keepftpd always runs one process per "
	    "role" },
	{ "run_as_launching_user", "NO",
	    "=keepftpd runs rootless when started by another user" },
	{ "background", "NO", "=keepftpd runs in the foreground (systemd)" },
	{ "session_support", "NO", "=keepftpd always opens a PAM session" },
	{ "setproctitle_enable", "NO", "=keepftpd names its processes" },
	{ "tcp_wrappers", "NO",
	    "use allow_from and deny_from instead of hosts.allow/hosts.deny" },
	{ "userlist_enable", "NO",
	    "list the users to refuse in /etc/ftpusers (pam_listfile in "
	    "/etc/pam.d/keepftpd)" },
	{ "userlist_deny", "YES",
	    "list the users to refuse in /etc/ftpusers (pam_listfile in "
	    "/etc/pam.d/keepftpd)" },
	{ "userlist_file", "/etc/vsftpd.user_list",
	    "list the users to refuse in /etc/ftpusers (pam_listfile in "
	    "/etc/pam.d/keepftpd)" },
	{ "userlist_log", "NO", "=failed logins are always logged" },
	{ "check_shell", "YES",
	    "=pam_shells in /etc/pam.d/keepftpd checks the shell" },
	{ "guest_enable", "NO",
	    "use virtual users (users_file, `keepftpd user add`)" },
	{ "guest_username", "ftp",
	    "use virtual users (users_file, `keepftpd user add`)" },
	{ "virtual_use_local_privs", "NO",
	    "use virtual users (users_file, `keepftpd user add`)" },
	{ "user_config_dir", "",
	    "per-user settings are users-file flags (`keepftpd user set`)" },
	{ "user_sub_token", "",
	    "virtual users have their own home (`keepftpd user add --home`)" },
	{ "local_root", "", "each user's root is their home directory" },
	{ "chown_uploads", "NO",
	    "keepftpd gives away anonymous uploads into drop-boxes only: "
	    "anon_upload_dirs with anon_upload_owner" },
	{ "chown_username", "root",
	    "keepftpd gives away anonymous uploads into drop-boxes only: "
	    "anon_upload_dirs with anon_upload_owner" },
	{ "chown_upload_mode", "0600",
	    "keepftpd gives away anonymous uploads into drop-boxes only: "
	    "anon_upload_dirs with anon_upload_mode" },
	{ "file_open_mode", "0666", "new files are 0666 less the umask" },
	{ "download_enable", "YES", "keepftpd has no upload-only mode" },
	{ "dirlist_enable", "YES", "keepftpd always allows listings" },
	{ "chmod_enable", "YES", "SITE CHMOD follows the write permission" },
	{ "cmds_allowed", "", "keepftpd has no per-command allow list" },
	{ "cmds_denied", "", "keepftpd has no per-command deny list" },
	{ "deny_email_enable", "NO",
	    "keepftpd does not check anonymous passwords" },
	{ "banned_email_file", "/etc/vsftpd.banned_emails",
	    "keepftpd does not check anonymous passwords" },
	{ "secure_email_list_enable", "NO",
	    "keepftpd does not check anonymous passwords" },
	{ "email_password_file", "/etc/vsftpd.email_passwords",
	    "keepftpd does not check anonymous passwords" },
	{ "hide_ids", "NO", "listings always show numeric ids" },
	{ "text_userdb_names", "NO", "=listings show numeric ids" },
	{ "ascii_upload_enable", "NO", "=TYPE A is always converted" },
	{ "ascii_download_enable", "NO", "=TYPE A is always converted" },
	{ "async_abor_enable", "NO", "=ABOR is always understood" },
	{ "lock_upload_files", "YES",
	    "=an upload is written under a temporary name and renamed" },
	{ "mdtm_write", "YES", "=MFMT sets modification times" },
	{ "tilde_user_enable", "NO", "=~user is not expanded" },
	{ "force_dot_files", "NO", "=LIST -a shows dot files" },
	{ "trans_chunk_size", "0", "=keepftpd paces in slices of 1/20 s" },
	{ "utf8_filesystem", "NO", "=keepftpd announces UTF8" },
	{ "reverse_lookup_enable", "YES", "=keepftpd logs addresses" },
	{ "ssl_sslv23", "NO", "=keepftpd speaks TLS 1.2 and 1.3 only" },
};

#define NVOPTS (sizeof(vopts) / sizeof(vopts[0]))

struct mig {
	const char *src;
	struct {
		const char *val;
		size_t vlen;
		size_t line; /* 0: not set in the file */
		int used;
	} set[NVOPTS];
	char *out;
	size_t outsz, outlen;
	int overflow;
	char rest[KF_MIGRATE_OUT_MAX]; /* not translated */
	size_t restlen;
	int nrest;
	struct conf conf; /* every line printed is set here first */
};

static void put(struct mig *, char *, size_t, size_t *, const char *, ...)
    __attribute__((format(printf, 5, 6)));

static void
put(struct mig *m, char *b, size_t sz, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(b + *len, sz - *len, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sz - *len) {
		m->overflow = 1;
		return;
	}
	*len += (size_t)k;
}

#define OUT(m, ...) put(m, (m)->out, (m)->outsz, &(m)->outlen, __VA_ARGS__)

static size_t
vfind(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < NVOPTS; i++)
		if (strlen(vopts[i].name) == n &&
		    memcmp(vopts[i].name, name, n) == 0)
			return i;
	return NVOPTS;
}

/* The value of a known option (the file's, else vsftpd's default), in b. */
static const char *
val(struct mig *m, const char *name, char *b, size_t bsz)
{
	size_t i = vfind(name, strlen(name)), n;

	if (i == NVOPTS)
		abort();
	m->set[i].used = 1;
	if (m->set[i].line == 0) {
		snprintf(b, bsz, "%s", vopts[i].def);
		return b;
	}
	n = m->set[i].vlen < bsz - 1 ? m->set[i].vlen : bsz - 1;
	memcpy(b, m->set[i].val, n);
	b[n] = '\0';
	return b;
}

/* The option is translated (or on purpose not) by the code. */
static void
use(struct mig *m, const char *name)
{
	m->set[vfind(name, strlen(name))].used = 1;
}

static int
isset(const struct mig *m, const char *name)
{
	size_t i = vfind(name, strlen(name));

	return i < NVOPTS && m->set[i].line != 0;
}

/* "name=value (line N)" of an option, for comments and messages. */
static void
where(const struct mig *m, const char *name, char *b, size_t bsz)
{
	size_t i = vfind(name, strlen(name));

	if (i < NVOPTS && m->set[i].line != 0)
		snprintf(b, bsz, "%s=%.*s (line %zu)", name,
		    (int)m->set[i].vlen, m->set[i].val, m->set[i].line);
	else if (i < NVOPTS)
		snprintf(b, bsz, "%s=%s (vsftpd's default)", name,
		    vopts[i].def);
	else
		snprintf(b, bsz, "%s", name);
}

static void
untranslated(struct mig *m, const char *name, const char *why)
{
	char w[KF_CONF_VALUE_MAX + 96];

	where(m, name, w, sizeof(w));
	put(m, m->rest, sizeof(m->rest), &m->restlen,
	    "# NOT TRANSLATED: %s: %s\n", w, why);
	fprintf(stderr, "keepftpd migrate: %s: %s: not translated: %s\n",
	    m->src, w, why);
	m->nrest++;
}

static void
note(struct mig *m, const char *name, const char *why)
{
	char w[KF_CONF_VALUE_MAX + 96];

	where(m, name, w, sizeof(w));
	OUT(m, "# vsftpd %s: %s\n", w, why);
}

/* YES/NO/TRUE/FALSE/1/0, any case; -1 if none of them. */
static int
vbool(const char *v)
{
	struct cursor c;

	cursor_init_str(&c, v);
	if ((cursor_eat_ci(&c, "YES") || cursor_eat_ci(&c, "TRUE") ||
		cursor_eat(&c, '1')) &&
	    cursor_eof(&c))
		return 1;
	cursor_init_str(&c, v);
	if ((cursor_eat_ci(&c, "NO") || cursor_eat_ci(&c, "FALSE") ||
		cursor_eat(&c, '0')) &&
	    cursor_eof(&c))
		return 0;
	return -1;
}

static int
getbool(struct mig *m, const char *name)
{
	char b[KF_CONF_VALUE_MAX + 1];
	int r = vbool(val(m, name, b, sizeof(b)));

	if (r < 0) {
		untranslated(m, name, "not YES or NO; vsftpd's default used");
		r = vbool(vopts[vfind(name, strlen(name))].def);
	}
	return r;
}

/* A decimal option; -1 (and not translated) if it is not one. */
static int
getuint(struct mig *m, const char *name, uint64_t *u)
{
	char b[KF_CONF_VALUE_MAX + 1];

	if (parse_u64(val(m, name, b, sizeof(b)), UINT32_MAX, u) < 0) {
		untranslated(m, name, "not a decimal number");
		return -1;
	}
	return 0;
}

/*
 * One keepftpd line, after conf_set accepted it; else the vsftpd option
 * `from` is not translated, with conf_set's reason.
 */
static int
emit(struct mig *m, const char *key, const char *value, const char *from)
{
	struct conf_errors e;
	char w[KF_CONF_VALUE_MAX + 96];
	const char *p;

	memset(&e, 0, sizeof(e));
	if (conf_set(&m->conf, key, value, "migrate", &e) < 0) {
		p = e.count > 0 ? e.msg[0] : "refused";
		if (strncmp(p, "migrate: ", 9) == 0)
			p += 9;
		untranslated(m, from, p);
		return -1;
	}
	where(m, from, w, sizeof(w));
	OUT(m, "# vsftpd %s\n", w);
	if (value[0] == '\0' || value[0] == ' ' || value[0] == '\t' ||
	    value[0] == '"' || value[strlen(value) - 1] == ' ' ||
	    value[strlen(value) - 1] == '\t') {
		OUT(m, "%s = \"", key);
		for (p = value; *p != '\0'; p++)
			OUT(m, "%s%c", *p == '"' || *p == '\\' ? "\\" : "", *p);
		OUT(m, "\"\n");
	} else
		OUT(m, "%s = %s\n", key, value);
	return 0;
}

static void
emit_bool(struct mig *m, const char *key, int v, const char *from)
{
	emit(m, key, v ? "yes" : "no", from);
}

static void
emit_uint(struct mig *m, const char *key, uint64_t v, const char *from)
{
	char b[24];

	snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
	emit(m, key, b, from);
}

/* ---------------------------------------------------------- sections */

static void
mig_listen(struct mig *m)
{
	char a4[KF_CONF_VALUE_MAX + 1], a6[KF_CONF_VALUE_MAX + 1];
	char spec[3 * KF_CONF_VALUE_MAX];
	const char *imp, *v4, *v6;
	int l4 = getbool(m, "listen"), l6 = getbool(m, "listen_ipv6");
	uint64_t port;
	size_t n = 0;

	if (getuint(m, "listen_port", &port) < 0)
		port = 21;
	else if (port == 0 || port > 65535) {
		untranslated(m, "listen_port", "not a port; 21 used");
		port = 21;
	}
	imp = "";
	if (getbool(m, "implicit_ssl") && m->conf.tls_cert[0] != '\0')
		imp = " implicit";
	else if (getbool(m, "implicit_ssl"))
		untranslated(m, "implicit_ssl",
		    "no certificate translated "
		    "(ssl_enable, rsa_cert_file); plain listeners");
	v4 = val(m, "listen_address", a4, sizeof(a4));
	v6 = val(m, "listen_address6", a6, sizeof(a6));
	if (!l4 && !l6) {
		note(m, "listen_ipv6",
		    "with listen=NO too, vsftpd was started "
		    "by inetd or a socket unit; keepftpd listens itself");
		l4 = l6 = 1;
	}
	spec[0] = '\0';
	if (l4)
		n += (size_t)snprintf(spec + n, sizeof(spec) - n, "%s:%llu%s",
		    v4[0] ? v4 : "0.0.0.0", (unsigned long long)port, imp);
	/* vsftpd's listen_ipv6 on :: takes IPv4 too; keepftpd's is v6 only */
	if (l6 && !l4 && v6[0] == '\0')
		n += (size_t)snprintf(spec + n, sizeof(spec) - n,
		    "0.0.0.0:%llu%s", (unsigned long long)port, imp);
	if (l6 && n < sizeof(spec))
		snprintf(spec + n, sizeof(spec) - n, "%s[%s]:%llu%s",
		    n > 0 ? ", " : "",
		    v6[0] ? v6 : "::", (unsigned long long)port, imp);
	emit(m, "listen", spec, l6 && !l4 ? "listen_ipv6" : "listen");
}

/* The anonymous root: anon_root, else the home of ftp_username. */
static int
anon_root(struct mig *m, char *root, size_t rsz, char *user, size_t usz)
{
	struct passwd *pw;
	const char *r;

	val(m, "ftp_username", user, usz);
	pw = getpwnam(user);
	r = val(m, "anon_root", root, rsz);
	if (r[0] != '\0')
		return 0;
	if (pw == NULL || pw->pw_dir == NULL || pw->pw_dir[0] != '/') {
		untranslated(m, "anonymous_enable",
		    "anon_root is not set and "
		    "the ftp_username account has no home here; anonymous "
		    "logins left disabled");
		return -1;
	}
	snprintf(root, rsz, "%s", pw->pw_dir);
	return 0;
}

static void
mig_anon_write(struct mig *m, int write)
{
	int up = getbool(m, "anon_upload_enable");
	int mk = getbool(m, "anon_mkdir_write_enable");
	int other = getbool(m, "anon_other_write_enable");

	if (!write || (!up && !mk && !other))
		return;
	if (up && mk && other) {
		emit(m, "anon_write", "yes", "anon_other_write_enable");
		return;
	}
	untranslated(m,
	    up	   ? "anon_upload_enable" :
		mk ? "anon_mkdir_write_enable" :
		     "anon_other_write_enable",
	    "keepftpd's anon_write allows upload, mkdir, rename and delete "
	    "together; left at no");
}

static void
mig_anon(struct mig *m, int write)
{
	char root[KF_CONF_VALUE_MAX + 1], user[KF_CONF_VALUE_MAX + 1];
	uint64_t rate;

	if (!getbool(m, "anonymous_enable")) {
		emit(m, "anonymous_enable", "no", "anonymous_enable");
		return;
	}
	if (anon_root(m, root, sizeof(root), user, sizeof(user)) < 0)
		return;
	if (emit(m, "anon_root", root,
		isset(m, "anon_root") ? "anon_root" : "ftp_username") < 0 ||
	    emit(m, "anonymous_enable", "yes", "anonymous_enable") < 0)
		return;
	if (getpwnam(user) != NULL)
		emit(m, "anon_user", user, "ftp_username");
	else
		untranslated(m, "ftp_username",
		    "no such account here; "
		    "anonymous sessions run as anon_user (nobody)");
	mig_anon_write(m, write);
	if (getuint(m, "anon_max_rate", &rate) == 0 && rate > 0) {
		emit_uint(m, "anon_download_rate", rate, "anon_max_rate");
		emit_uint(m, "anon_upload_rate", rate, "anon_max_rate");
	}
}

static void
mig_chroot(struct mig *m)
{
	if (!getbool(m, "chroot_local_user") ||
	    getbool(m, "chroot_list_enable")) {
		use(m, "chroot_list_file");
		untranslated(m, "chroot_local_user",
		    "keepftpd confines every "
		    "user to their home directory; users vsftpd left "
		    "unconfined are confined now");
		return;
	}
	note(m, "chroot_local_user",
	    "keepftpd confines every user to their "
	    "home directory");
}

static void
mig_local(struct mig *m, int write)
{
	char b[KF_CONF_VALUE_MAX + 1];

	if (!getbool(m, "local_enable")) {
		val(m, "pam_service_name", b, sizeof(b));
		use(m, "chroot_local_user");
		use(m, "chroot_list_enable");
		use(m, "chroot_list_file");
		return;
	}
	if (emit(m, "pam_enable", "yes", "local_enable") < 0)
		return;
	note(m, "pam_service_name",
	    "keepftpd's PAM service is keepftpd "
	    "(/etc/pam.d/keepftpd: /etc/ftpusers, common-auth, pam_shells)");
	emit_bool(m, "pam_write", write, "write_enable");
	mig_chroot(m);
}

/* An octal umask ("022", "0022", "2"); -1 if it is not one. */
static int
octal(const char *v, uint64_t *u)
{
	struct cursor c;

	cursor_init_str(&c, v);
	if (cursor_u64_base(&c, 8, 0777, u) < 0 || !cursor_eof(&c))
		return -1;
	return 0;
}

static void
mig_umask(struct mig *m, int anon_write)
{
	char a[KF_CONF_VALUE_MAX + 1], l[KF_CONF_VALUE_MAX + 1];
	uint64_t lu, au;

	if (octal(val(m, "local_umask", l, sizeof(l)), &lu) < 0) {
		untranslated(m, "local_umask", "not an octal umask");
		return;
	}
	snprintf(l, sizeof(l), "%03llo", (unsigned long long)lu);
	emit(m, "umask", l, "local_umask");
	if (anon_write &&
	    (octal(val(m, "anon_umask", a, sizeof(a)), &au) < 0 || au != lu))
		untranslated(m, "anon_umask",
		    "keepftpd has one umask for "
		    "every session (umask, from local_umask)");
}

static void
mig_data(struct mig *m)
{
	char b[KF_CONF_VALUE_MAX + 1];
	struct in_addr a4;
	uint64_t lo, hi;

	emit_bool(m, "pasv_enable", getbool(m, "pasv_enable"), "pasv_enable");
	emit_bool(m, "port_enable", getbool(m, "port_enable"), "port_enable");
	if (getuint(m, "pasv_min_port", &lo) == 0 &&
	    getuint(m, "pasv_max_port", &hi) == 0) {
		if (lo == 0 && hi == 0)
			note(m, "pasv_min_port",
			    "no range in vsftpd: keepftpd's "
			    "default 40000-40999 (open it in the firewall)");
		else if (lo == 0 || hi == 0 || lo > hi)
			untranslated(m,
			    lo == 0 ? "pasv_min_port" : "pasv_max_port",
			    "an incomplete or empty range; "
			    "keepftpd's default 40000-40999 used");
		else if (lo < MIGRATE_PASV_LO || hi > 65535)
			untranslated(m,
			    lo < MIGRATE_PASV_LO ? "pasv_min_port" :
						   "pasv_max_port",
			    "keepftpd's passive ports are "
			    "1024-65535; its default 40000-40999 used");
		else {
			emit_uint(m, "pasv_min_port", lo, "pasv_min_port");
			emit_uint(m, "pasv_max_port", hi, "pasv_max_port");
		}
	}
	if (val(m, "pasv_address", b, sizeof(b))[0] == '\0')
		return;
	if (inet_pton(AF_INET, b, &a4) != 1)
		untranslated(m, "pasv_address", "not an IPv4 address");
	else
		emit(m, "pasv_address", b, "pasv_address");
}

static void
mig_limits(struct mig *m)
{
	uint64_t u;

	if (getuint(m, "max_clients", &u) == 0) {
		if (u > 0)
			emit_uint(m, "max_clients", u, "max_clients");
		else
			note(m, "max_clients",
			    "no limit in vsftpd; keepftpd's "
			    "default max_clients = 200");
	}
	if (getuint(m, "max_per_ip", &u) == 0)
		emit_uint(m, "max_per_ip", u, "max_per_ip");
	if (getuint(m, "max_login_fails", &u) == 0 && u > 0)
		emit_uint(m, "max_login_failures", u, "max_login_fails");
	if (getuint(m, "delay_failed_login", &u) == 0 && u <= 30)
		emit_uint(m, "login_fail_delay_ms", u * 1000,
		    "delay_failed_login");
	if (getuint(m, "idle_session_timeout", &u) == 0)
		emit_uint(m, "idle_timeout", u, "idle_session_timeout");
	if (getuint(m, "data_connection_timeout", &u) == 0)
		emit_uint(m, "data_timeout", u, "data_connection_timeout");
}

static void
mig_rates(struct mig *m, int anon)
{
	uint64_t u, a;

	if (getuint(m, "local_max_rate", &u) < 0 || u == 0)
		return;
	emit_uint(m, "download_rate", u, "local_max_rate");
	emit_uint(m, "upload_rate", u, "local_max_rate");
	if (anon && getuint(m, "anon_max_rate", &a) == 0 && a == 0)
		untranslated(m, "anon_max_rate",
		    "no limit for anonymous "
		    "sessions cannot be said: they get local_max_rate");
}

/* hide_file={*.mp3,secret*} -> "*.mp3, secret*" */
static void
mig_patterns(struct mig *m, const char *from, const char *key)
{
	char b[KF_CONF_VALUE_MAX + 1], o[2 * KF_CONF_VALUE_MAX + 1];
	const char *v = val(m, from, b, sizeof(b));
	size_t i, n = 0, len = strlen(v);

	if (len == 0)
		return;
	if (len >= 2 && v[0] == '{' && v[len - 1] == '}') {
		v++;
		len -= 2;
	}
	for (i = 0; i < len && n + 2 < sizeof(o); i++) {
		if (v[i] == '{' || v[i] == '}' || v[i] == '/') {
			untranslated(m, from,
			    "only a {a,b} list of name "
			    "patterns translates (no nested braces, no /)");
			return;
		}
		o[n++] = v[i];
		if (v[i] == ',')
			o[n++] = ' ';
	}
	o[n] = '\0';
	emit(m, key, o, from);
}

static void
mig_text(struct mig *m)
{
	char b[KF_CONF_VALUE_MAX + 1];

	if (val(m, "ftpd_banner", b, sizeof(b))[0] != '\0')
		emit(m, "banner", b, "ftpd_banner");
	if (val(m, "banner_file", b, sizeof(b))[0] != '\0')
		emit(m, "banner_file", b, "banner_file");
	if (getbool(m, "dirmessage_enable"))
		emit(m, "message_enable", "yes", "dirmessage_enable");
	if (getbool(m, "ls_recurse_enable"))
		emit(m, "list_recursive", "yes", "ls_recurse_enable");
	mig_patterns(m, "hide_file", "hide_patterns");
	mig_patterns(m, "deny_file", "deny_patterns");
}

static void
mig_tls_client(struct mig *m)
{
	char b[KF_CONF_VALUE_MAX + 1];

	if (val(m, "ca_certs_file", b, sizeof(b))[0] != '\0' &&
	    emit(m, "tls_client_ca", b, "ca_certs_file") == 0 &&
	    getbool(m, "require_cert"))
		emit(m, "tls_client_cert_required", "yes", "require_cert");
	else if (getbool(m, "require_cert"))
		untranslated(m, "require_cert",
		    "needs ca_certs_file "
		    "(tls_client_ca)");
}

static void
mig_tls(struct mig *m, int anon, int local)
{
	char c[KF_CONF_VALUE_MAX + 1], k[KF_CONF_VALUE_MAX + 1];

	val(m, "rsa_cert_file", c, sizeof(c));
	val(m, "rsa_private_key_file", k, sizeof(k));
	if (!getbool(m, "ssl_enable"))
		return;
	if (emit(m, "tls_cert", c, "rsa_cert_file") < 0)
		return;
	if (access(c, R_OK) < 0) {
		OUT(m,
		    "# WARNING: %s cannot be read here: keepftpd -t fails "
		    "until it can\n",
		    c);
		fprintf(stderr,
		    "keepftpd migrate: %s: warning: rsa_cert_file %s "
		    "cannot be read here (keepftpd -t fails until it can)\n",
		    m->src, c);
	}
	if (k[0] != '\0')
		emit(m, "tls_key", k, "rsa_private_key_file");
	if (local) {
		emit_bool(m, "tls_required_users",
		    getbool(m, "force_local_logins_ssl"),
		    "force_local_logins_ssl");
		emit_bool(m, "tls_prot_required_users",
		    getbool(m, "force_local_data_ssl"), "force_local_data_ssl");
	}
	if (anon) {
		emit_bool(m, "tls_required_anon",
		    getbool(m, "force_anon_logins_ssl"),
		    "force_anon_logins_ssl");
		emit_bool(m, "tls_prot_required_anon",
		    getbool(m, "force_anon_data_ssl"), "force_anon_data_ssl");
	}
	emit_bool(m, "tls_data_reuse_required", getbool(m, "require_ssl_reuse"),
	    "require_ssl_reuse");
	mig_tls_client(m);
}

static void
mig_misc(struct mig *m)
{
	char b[KF_CONF_VALUE_MAX + 1];

	if (val(m, "nopriv_user", b, sizeof(b))[0] != '\0' &&
	    strcmp(b, "nobody") != 0) {
		if (getpwnam(b) != NULL)
			emit(m, "service_user", b, "nopriv_user");
		else
			untranslated(m, "nopriv_user", "no such account here");
	}
	emit(m, "log", getbool(m, "syslog_enable") ? "syslog" : "stderr",
	    "syslog_enable");
}

/* Every option set in the file that no section used: its note. */
static void
mig_leftovers(struct mig *m)
{
	size_t i;
	const char *n;

	for (i = 0; i < NVOPTS; i++) {
		if (m->set[i].line == 0 || m->set[i].used)
			continue;
		n = vopts[i].note;
		if (n != NULL && n[0] == '=')
			note(m, vopts[i].name, n + 1);
		else if (n != NULL &&
		    (m->set[i].vlen != strlen(vopts[i].def) ||
			memcmp(m->set[i].val, vopts[i].def, m->set[i].vlen) !=
			    0))
			untranslated(m, vopts[i].name, n);
		else if (n != NULL)
			note(m, vopts[i].name,
			    "vsftpd's default; nothing to do");
	}
}

/* ------------------------------------------------------------ parser */

static void
bad_line(struct mig *m, size_t no, const char *why)
{
	put(m, m->rest, sizeof(m->rest), &m->restlen,
	    "# NOT TRANSLATED: line %zu: %s\n", no, why);
	fprintf(stderr, "keepftpd migrate: %s:%zu: not translated: %s\n",
	    m->src, no, why);
	m->nrest++;
}

static int
is_key_char(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	    ch == '_';
}

/* One line "key=value"; comments and blank lines are skipped. */
static void
parse_line(struct mig *m, struct cursor *c, size_t no)
{
	const char *k, *v, *end;
	size_t kn, i;

	cursor_skip_ws(c);
	if (cursor_eof(c) || cursor_peek(c) == '#')
		return;
	for (k = c->p; !cursor_eof(c) && is_key_char(cursor_peek(c)); c->p++)
		;
	kn = (size_t)(c->p - k);
	if (kn == 0 || !cursor_eat(c, '=')) {
		bad_line(m, no, "not an option=value line");
		return;
	}
	for (v = c->p, end = c->end;
	     end > v && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	for (i = 0; v + i < end; i++)
		if ((unsigned char)v[i] < 0x20 && v[i] != '\t') {
			bad_line(m, no, "control character in the value");
			return;
		}
	if ((size_t)(end - v) > KF_CONF_VALUE_MAX) {
		bad_line(m, no, "value too long");
		return;
	}
	if ((i = vfind(k, kn)) == NVOPTS) {
		char why[128];

		snprintf(why, sizeof(why), "%.*s: unknown vsftpd option",
		    (int)(kn < 64 ? kn : 64), k);
		bad_line(m, no, why);
		return;
	}
	m->set[i].val = v; /* a later line wins, as in vsftpd */
	m->set[i].vlen = (size_t)(end - v);
	m->set[i].line = no;
}

static int
parse(struct mig *m, const char *text, size_t len)
{
	struct cursor line;
	const char *p = text, *nl, *end = text + len;
	size_t no = 0, n;

	while (p < end) {
		no++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > KF_MIGRATE_LINE_MAX)
			bad_line(m, no, "line too long");
		else if (memchr(p, '\0', n) != NULL)
			bad_line(m, no, "NUL byte");
		else {
			cursor_init(&line, p, n);
			parse_line(m, &line, no);
		}
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
}

static void
final_check(struct mig *m)
{
	struct conf_errors e;
	size_t i;

	memset(&e, 0, sizeof(e));
	if (conf_check(&m->conf, &e) == 0)
		return;
	/* not expected: each section keeps its lines consistent */
	for (i = 0; i < e.count && i < sizeof(e.msg) / sizeof(e.msg[0]); i++) {
		put(m, m->rest, sizeof(m->rest), &m->restlen,
		    "# NOT ACCEPTED: %s\n", e.msg[i]);
		fprintf(stderr,
		    "keepftpd migrate: %s: the output fails "
		    "keepftpd's checks: %s\n",
		    m->src, e.msg[i]);
		m->nrest++;
	}
}

int
migrate_vsftpd(const char *text, size_t len, const char *src, char *out,
    size_t outsz)
{
	static struct mig m;
	int write, anon, local;

	memset(&m, 0, sizeof(m));
	m.src = src;
	m.out = out;
	m.outsz = outsz;
	out[0] = '\0';
	conf_defaults(&m.conf);
	parse(&m, text, len);
	OUT(&m,
	    "# keepftpd.conf translated by `keepftpd migrate` from %s\n"
	    "# (vsftpd's defaults apply to the options it does not set).\n"
	    "# Check it: keepftpd -t -c /etc/keepftpd/keepftpd.conf\n"
	    "# Each line names the vsftpd option it comes from; what could "
	    "not be\n# translated is listed at the end. See "
	    "docs/MIGRATING.md.\n\n",
	    src);
	write = getbool(&m, "write_enable");
	anon = getbool(&m, "anonymous_enable");
	local = getbool(&m, "local_enable");
	mig_tls(&m, anon, local); /* first: implicit listeners need it */
	mig_listen(&m);
	mig_anon(&m, write);
	mig_local(&m, write);
	mig_umask(&m, anon && write);
	mig_data(&m);
	mig_limits(&m);
	mig_rates(&m, anon);
	mig_text(&m);
	mig_misc(&m);
	mig_leftovers(&m);
	final_check(&m);
	if (m.restlen > 0)
		OUT(&m, "\n# --- not translated (also on stderr) ---\n%s",
		    m.rest);
	if (!anon && !local)
		OUT(&m,
		    "\n# Note: no login is enabled (vsftpd had neither "
		    "anonymous_enable nor local_enable).\n");
	return m.overflow ? -1 : m.nrest;
}

/* ----------------------------------------------------------- command */

static int
read_file(const char *path, char *b, size_t bsz, size_t *len)
{
	ssize_t k;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -errno;
	*len = 0;
	while ((k = read(fd, b + *len, bsz - *len)) > 0)
		*len += (size_t)k;
	close(fd);
	if (k < 0)
		return -EIO;
	if (*len == bsz)
		return -EFBIG;
	return 0;
}

int
migrate_cli(int argc, char **argv)
{
	static char text[KF_MIGRATE_FILE_MAX + 1], out[KF_MIGRATE_OUT_MAX];
	const char *path = DEFAULT_VSFTPD, *from = "vsftpd";
	size_t len = 0;
	int i, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			printf("usage: keepftpd migrate [--from vsftpd] "
			       "[VSFTPD.CONF]\n");
			return 0;
		}
		if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (argv[i][0] != '-' && i == argc - 1)
			path = argv[i];
		else {
			fprintf(stderr,
			    "usage: keepftpd migrate [--from vsftpd] "
			    "[VSFTPD.CONF]\n");
			return 2;
		}
	}
	if (strcmp(from, "vsftpd") != 0) {
		fprintf(stderr,
		    "keepftpd migrate: --from %s: only vsftpd is "
		    "translated (pure-ftpd: see docs/MIGRATING.md)\n",
		    from);
		return 2;
	}
	if ((r = read_file(path, text, sizeof(text), &len)) < 0) {
		fprintf(stderr, "keepftpd migrate: %s: %s\n", path,
		    r == -EFBIG ? "file too large" : strerror(-r));
		return 1;
	}
	if ((r = migrate_vsftpd(text, len, path, out, sizeof(out))) < 0) {
		fprintf(stderr, "keepftpd migrate: %s: output too large\n",
		    path);
		return 1;
	}
	(void)fputs(out, stdout);
	if (r > 0)
		fprintf(stderr,
		    "keepftpd migrate: %d option%s not translated "
		    "(see the end of the output)\n",
		    r, r == 1 ? "" : "s");
	return fflush(stdout) == 0 ? 0 : 1;
}
