/*
 * conf.h - every configuration option, declared once (X-macro): name,
 * type, default, range and documentation. The parser, the defaults,
 * `keepftpd -t` and docs/CONFIG.md all come from this table.
 * Runs in: the configuration parser child (parsing, conf_child.h); the
 * listener checks the flat struct it returns, forks inherit it.
 */
#ifndef KF_CONF_H
#define KF_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../common/limits.h"

/*
 * Bounds of the options below that hold more than one value.
 */
#define CONF_TEXT_MAX	    4096 /* bytes of a banner file */
#define CONF_TEXT_LINES_MAX 20 /* lines of a banner file */
#define CONF_VHOST_MAX	    16 /* vhost = lines */
#define CONF_HOST_MAX	    255 /* a vhost name, an RFC 7151 HOST argument */
#define CONF_PATTERNS_MAX   32 /* patterns in hide_patterns, deny_patterns */

/*
 * X(TYPE, name, default, min, max, doc)
 * TYPE: BOOL (yes/no), AUTO (yes/no/auto; conf_check turns auto into
 * yes or no, see conf_check), UINT (decimal, min..max), STR (at most max bytes,
 * no control characters), PATH (absolute path or empty), MODE (octal,
 * min..max), LISTEN (repeatable ADDR:PORT), TEXTFILE (a PATH whose text
 * is read while the configuration is loaded, into name_text), PATTERNS
 * (comma-separated file name globs, at most max bytes), VHOST
 * (repeatable NAME ANON_ROOT [BANNER_FILE]), PASVADDR (an IPv4 address
 * or a host name resolved at load, into name_ip), PASVMAP (repeatable
 * CIDR=ADDRESS lists, into struct conf_pasv_map), FOLDER (repeatable
 * NAME SOURCE_DIR MOUNT_PATH [ro|rw], into struct conf_folder).
 */
#define CONF_OPTIONS(X) \
	X(LISTEN, listen, "127.0.0.1:2121", 0, 0, \
	    "Address and port to listen on, as a.b.c.d:port or [v6addr]:port, " \
	    "optionally followed by `implicit` for implicit FTPS (TLS from " \
	    "the first byte, usually port 990; needs `tls_cert`) or by " \
	    "`proxy`: connections come through a load balancer that sends a " \
	    "PROXY protocol header (v1 or v2) first, and are accepted only " \
	    "from `proxy_from` (docs/OPERATIONS.md, Behind HAProxy). Repeat " \
	    "the key for several listeners (at most 8).") \
	X(PATH, tls_cert, "", 0, 0, \
	    "PEM certificate chain (leaf first) for FTPS; empty: no TLS. " \
	    "Loaded by the TLS relay spawner at start and on SIGHUP.") \
	X(PATH, tls_key, "", 0, 0, \
	    "PEM private key of `tls_cert` (empty: read from `tls_cert`). " \
	    "Only the TLS relay spawner and the per-session TLS relays " \
	    "hold it; the listener and the session monitors never do.") \
	X(STR, tls_min, "1.2", 3, 3, \
	    "Lowest TLS version accepted: 1.2 or 1.3.") \
	X(STR, tls_ciphers, \
	    "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20", 1, 512, \
	    "OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are OpenSSL's " \
	    "defaults, all AEAD).") \
	X(STR, tls_curves, "X25519:P-256:P-384", 1, 256, \
	    "Key exchange groups (ECDH curves), colon-separated, in order of " \
	    "preference.") \
	X(BOOL, tls_server_preference, "yes", 0, 1, \
	    "Choose the cipher by the server's order, not the client's.") \
	X(BOOL, tls_required_anon, "no", 0, 1, \
	    "Anonymous logins need TLS on the control connection (USER before " \
	    "AUTH TLS answers 530).") \
	X(AUTO, tls_required_users, "auto", 0, 1, \
	    "Logins other than anonymous need TLS on the control connection " \
	    "(USER before AUTH TLS answers 530). `auto`: yes when `tls_cert` " \
	    "is set, so that a server able to encrypt passwords never takes " \
	    "them in the clear (set `no` to allow plain-text logins beside " \
	    "FTPS). A user whose users-file flags hold `tls` needs it " \
	    "whatever this says.") \
	X(BOOL, tls_prot_required_anon, "no", 0, 1, \
	    "Anonymous sessions must use PROT P: data commands under PROT C " \
	    "answer 521.") \
	X(BOOL, tls_prot_required_users, "no", 0, 1, \
	    "Sessions other than anonymous must use PROT P: data commands " \
	    "under PROT C answer 521.") \
	X(BOOL, tls_data_reuse_required, "yes", 0, 1, \
	    "A TLS data connection must resume the control connection's TLS " \
	    "session, which proves it comes from the same client; others are " \
	    "refused (522) and logged. With `no`, any client may complete a " \
	    "data handshake and the post-login spawner and its workers must " \
	    "hold the real private key (see docs/SECURITY.md).") \
	X(BOOL, tls_accept_truncated, "no", 0, 1, \
	    "Accept a TLS upload that ends without close_notify (broken " \
	    "clients). With `no` such an upload fails, is not kept, and is " \
	    "logged as truncated.") \
	X(BOOL, tls_ccc_enable, "no", 0, 1, \
	    "Allow CCC (RFC 4217) after login: the control connection goes " \
	    "back to plain text (for NAT helpers and firewalls that read it); " \
	    "data connections keep their PROT level. Commands and replies " \
	    "after it travel in the clear.") \
	X(PATH, tls_client_ca, "", 0, 0, \
	    "PEM file of the CAs that sign client certificates. When set, the " \
	    "control handshake asks for a client certificate; one that does not " \
	    "verify against these CAs fails the handshake.") \
	X(BOOL, tls_client_cert_required, "no", 0, 1, \
	    "A client without a certificate fails the handshake (needs " \
	    "`tls_client_ca`).") \
	X(BOOL, tls_client_cert_login, "no", 0, 1, \
	    "A virtual user (users file) whose name is the common name (CN) of " \
	    "the client's verified certificate logs in without a password. " \
	    "This trusts the TLS relay's verification (docs/SECURITY.md); " \
	    "without it the certificate is checked but the password is still " \
	    "needed.") \
	X(STR, tls_sni_host, "", 0, 255, \
	    "When set, a TLS client must send this server name (SNI, " \
	    "compared without case); others are refused in the handshake.") \
	X(UINT, max_clients, "200", 1, 100000, \
	    "Most sessions at once; more are refused with 421.") \
	X(UINT, max_per_ip, "20", 0, 100000, \
	    "Most sessions at once from one client address (0: no limit).") \
	X(UINT, max_prelogin, "100", 1, 100000, \
	    "Most sessions at once that have not logged in (yet, or again " \
	    "after REIN); more are refused with 421, so that connections " \
	    "that never log in cannot take all of `max_clients`. Once 3/4 " \
	    "of it is reached, sessions not logged in after " \
	    "`login_timeout_busy` seconds are closed. At or above " \
	    "`max_clients` it bounds nothing.") \
	X(UINT, login_timeout_busy, "10", 1, 3600, \
	    "The shorter `login_timeout`, in seconds, of sessions not logged " \
	    "in while 3/4 of `max_prelogin` or more are in use.") \
	X(STR, allow_from, "", 0, 1024, \
	    "Client addresses allowed to connect, as a comma-separated list " \
	    "of a.b.c.d[/bits] and v6addr[/bits] (at most 64); empty: all. " \
	    "Others are refused with 421 before any process is started.") \
	X(STR, deny_from, "", 0, 1024, \
	    "Client addresses refused with 421 before any process is " \
	    "started (same syntax as `allow_from`); checked first.") \
	X(STR, proxy_from, "", 0, 1024, \
	    "Load balancers allowed on `proxy` listeners (same syntax as " \
	    "`allow_from`). A connection from one of them must start with a " \
	    "PROXY header, and the client address in it is the session's " \
	    "address for every check and log line; a connection from any " \
	    "other address on a `proxy` listener is closed before any FTP. " \
	    "On other listeners these addresses are ordinary clients.") \
	X(UINT, max_conn_rate, "0", 0, 100000, \
	    "Most new connections from one client address per " \
	    "`conn_rate_window` seconds; more are refused with 421 before " \
	    "any process is started (0: no limit).") \
	X(UINT, conn_rate_window, "60", 1, 86400, \
	    "Length in seconds of the window `max_conn_rate` counts in.") \
	X(UINT, ban_failures, "0", 0, 1000, \
	    "Failed logins from one client address, across sessions, within " \
	    "`ban_window` seconds that ban the address for `ban_seconds` " \
	    "(0: no bans). A banned address is refused with 421 before any " \
	    "process is started. See `keepftpd ban`.") \
	X(UINT, ban_window, "600", 1, 86400, \
	    "Seconds in which `ban_failures` failed logins must happen.") \
	X(UINT, ban_seconds, "3600", 1, 31536000, \
	    "Length of a ban, in seconds.") \
	X(PATH, admin_socket, "/run/keepftpd/admin.sock", 0, 0, \
	    "Unix socket of `keepftpd ban` (created mode 0600, its directory " \
	    "when missing; only root and the server's own account may use " \
	    "it). Read at start; a reload does not move it. Empty: no admin " \
	    "socket.") \
	X(STR, metrics_listen, "", 0, 64, \
	    "Address and port (a.b.c.d:port or [v6addr]:port) of the " \
	    "Prometheus metrics endpoint: `GET /metrics` answers the " \
	    "counters in the text format. Served by its own unprivileged, " \
	    "sandboxed process, kf-metrics, never by the listener or a " \
	    "monitor. Read at start; a reload does not move it. Empty: off " \
	    "(nothing listens, nothing is counted).") \
	X(BOOL, pasv_enable, "yes", 0, 1, \
	    "Allow passive data connections (PASV, EPSV).") \
	X(UINT, pasv_min_port, "40000", 1024, 65535, \
	    "Lowest port for passive data connections.") \
	X(UINT, pasv_max_port, "40999", 1024, 65535, \
	    "Highest port for passive data connections.") \
	X(PASVADDR, pasv_address, "", 0, 0, \
	    "Address announced in PASV replies (behind NAT): an IPv4 address " \
	    "or a host name, resolved when the configuration is loaded (and " \
	    "on SIGHUP, never per session) to its first IPv4 address; a name " \
	    "that does not resolve, or has only IPv6 addresses, is an error. " \
	    "PASV carries only IPv4 (RFC 2428), and EPSV announces only a " \
	    "port, so an IPv6 address is refused: IPv6 clients use EPSV, and " \
	    "PASV on an IPv6 control connection answers 425. Empty: the " \
	    "control connection's local address.") \
	X(PASVMAP, pasv_address_map, "", 0, 0, \
	    "Per client network, the address PASV announces instead of " \
	    "`pasv_address`: `CIDR=ADDRESS`, CIDR an IPv4 network a.b.c.d/bits " \
	    "(or ::ffff:a.b.c.d/bits), ADDRESS as in `pasv_address` (resolved " \
	    "the same way). The client's address is matched against each in " \
	    "order and the first match wins (an IPv4 client seen as " \
	    "::ffff:a.b.c.d matches as IPv4); no match: `pasv_address`. A " \
	    "comma-separated list, or repeat the key (at most 32 entries in " \
	    "all).") \
	X(BOOL, pasv_proxy, "no", 0, 1, \
	    "Passive data connections come through the load balancer too " \
	    "(docs/SCALE-OUT.md): for a session whose control connection " \
	    "came through a `proxy` listener with a client address, a " \
	    "passive data connection is accepted only from `proxy_from`, " \
	    "must start with a PROXY header (v1 or v2), and that header's " \
	    "source must be the session's client address; any other is " \
	    "closed unread and logged. Set `pasv_address` to the balancer's " \
	    "address. Sessions from other listeners, and health checks " \
	    "(LOCAL), are not affected. No: passive connections go straight " \
	    "to this node (announce its own address), and EPSV, whose reply " \
	    "names no address, is refused (502) on proxied sessions so that " \
	    "clients use PASV. Needs a `proxy` listener.") \
	X(BOOL, port_enable, "yes", 0, 1, \
	    "Allow active data connections (PORT, EPRT); only to the control " \
	    "connection's peer address and to ports >= 1024.") \
	X(BOOL, anonymous_enable, "no", 0, 1, \
	    "Allow the anonymous (and ftp) login.") \
	X(PATH, anon_root, "", 0, 0, \
	    "Root directory of anonymous sessions (required when anonymous_enable).") \
	X(BOOL, anon_write, "no", 0, 1, \
	    "Allow anonymous sessions to upload, rename, delete and make directories.") \
	X(STR, anon_upload_dirs, "", 0, 1024, \
	    "Drop-boxes of anonymous sessions: a comma-separated list of " \
	    "directories under anon_root (\"/incoming, /drop\"; at most 16) " \
	    "where anonymous users may upload new files, but not list, " \
	    "download, overwrite or delete; the rest of anon_root stays " \
	    "read-only (unless anon_write). See docs/PERMISSIONS.md.") \
	X(MODE, anon_upload_mode, "0600", 0, 0777, \
	    "Mode of files uploaded by anonymous sessions when " \
	    "anon_upload_dirs is set; anonymous sessions never download a " \
	    "file that others may not read, so such a file is served only " \
	    "once an administrator makes it world-readable.") \
	X(STR, anon_upload_owner, "", 0, 64, \
	    "System account that anonymous uploads into anon_upload_dirs " \
	    "are given to once complete (empty: they stay the anonymous " \
	    "account's): the monitor changes their owner, so the anonymous " \
	    "account can no longer read, append to or change them. Needs " \
	    "the server started as root; not root, anon_user or " \
	    "service_user. See docs/PERMISSIONS.md.") \
	X(STR, anon_user, "nobody", 1, 64, \
	    "System account anonymous sessions run as, when started as root.") \
	X(UINT, anon_max_sessions, "0", 0, KF_USER_SESSIONS_MAX, \
	    "Most anonymous sessions logged in at once across the server (0: " \
	    "no limit; counted by the listener, like a users-file " \
	    "`max_sessions=`); one more login is refused with 421.") \
	X(PATH, users_file, "", 0, 0, \
	    "Virtual users file (see `keepftpd user`). Empty: no virtual users.") \
	X(STR, users_backend, "file", 1, 16, \
	    "Where virtual users live: `file` (`users_file`) or `postgresql` " \
	    "(the table keepftpd_users reached through `pg_conninfo`; see " \
	    "docs/SCALE-OUT.md). With `postgresql` one unprivileged, " \
	    "sandboxed process, kf-pgauth, holds a pool of database " \
	    "connections and verifies the passwords; `users_file` is not " \
	    "read. Read at start; a reload does not change it.") \
	X(STR, pg_conninfo, "", 0, 1024, \
	    "libpq connection string of the users database (with " \
	    "`users_backend` = `postgresql`), e.g. `host=127.0.0.1 port=5432 " \
	    "dbname=ftp user=keepftpd password=...`. kf-pgauth runs in the " \
	    "empty root: give an address (host=IP or hostaddr=), not a host " \
	    "name or a Unix socket directory, when the server starts as " \
	    "root. Read at start.") \
	X(UINT, pg_timeout, "5", 1, 60, \
	    "Seconds a database connection may take to open, and a query to " \
	    "answer; past it the login answers 421 and the connection is " \
	    "dropped (reopened with backoff).") \
	X(UINT, pg_pool, "4", 1, 16, \
	    "Database connections kf-pgauth keeps open (logins share them).") \
	X(BOOL, pg_bans, "no", 0, 1, \
	    "Share bans through the users database (table keepftpd_bans, " \
	    "docs/SCALE-OUT.md): a ban that starts here (`ban_failures`) is " \
	    "written there, and the bans other nodes wrote are applied here " \
	    "within a few seconds (at most `ban_seconds`). Needs " \
	    "`users_backend` = `postgresql`. Read at start.") \
	X(BOOL, pam_enable, "no", 0, 1, \
	    "Let system users log in through PAM (needs root).") \
	X(STR, pam_service, "keepftpd", 1, 64, \
	    "PAM service name (/etc/pam.d/NAME).") \
	X(BOOL, pam_write, "yes", 0, 1, \
	    "System users may write in their home directory.") \
	X(STR, service_user, "nobody", 1, 64, \
	    "Unprivileged account of the pre-login worker, when started as root.") \
	X(PATH, empty_dir, "/run/keepftpd/empty", 0, 0, \
	    "Empty, root-owned directory the pre-login worker is chrooted into " \
	    "(created when missing).") \
	X(STR, banner, "keepftpd ready.", 0, 256, \
	    "Text of the 220 greeting (one line).") \
	X(TEXTFILE, banner_file, "", 0, 0, \
	    "File whose text replaces `banner` as the 220 greeting, sent as a " \
	    "multi-line reply. Read when the configuration is loaded (and on " \
	    "SIGHUP): at most 4096 bytes and 20 lines, UTF-8 or ASCII, no " \
	    "control characters but tab; workers never open it.") \
	X(VHOST, vhost, "", 0, 0, \
	    "A virtual host for the HOST command (RFC 7151): `NAME ANON_ROOT " \
	    "[BANNER_FILE]`, separated by blanks. NAME is a DNS name or an IP " \
	    "literal (letters, digits and `.-:[]`, at most 255 bytes, compared " \
	    "without case); anonymous logins (when `anonymous_enable`) after " \
	    "HOST NAME get ANON_ROOT as their root; BANNER_FILE (read like " \
	    "`banner_file`) is the 220 reply to HOST NAME. The paths cannot " \
	    "hold blanks. Repeat the key for more (at most 16); a name given " \
	    "twice is an error. Without any, HOST accepts any well-formed " \
	    "name and changes nothing.") \
	X(FOLDER, folder, "", 0, 0, \
	    "A shared folder: `NAME SOURCE_DIR MOUNT_PATH [ro|rw]`, separated " \
	    "by blanks. The directory SOURCE_DIR appears at MOUNT_PATH in the " \
	    "tree of every session given NAME (users-file flag " \
	    "`folders=NAME;...`, `anon_folders`). NAME: letters, digits, `_` " \
	    "and `-`, at most 32 bytes, unique. SOURCE_DIR: an absolute path. " \
	    "MOUNT_PATH: an absolute, clean path as the client sees it (not " \
	    "`/`, no `.` or `..`), which must exist as a directory in the " \
	    "user's root (a session whose tree lacks it, or has a symlink " \
	    "there, does not get the folder; it is never created). `ro` " \
	    "(the default): read-only for everyone; `rw`: writable for users " \
	    "who may write. Kernel-confined: as root a bind mount in a private " \
	    "mount namespace of the session, rootless a second Landlock rule " \
	    "and a second resolution root (docs/PERMISSIONS.md, Shared " \
	    "folders). Two folders may share a MOUNT_PATH (a session given " \
	    "both gets the first); one MOUNT_PATH may not lie inside " \
	    "another. Repeat the key for more (at most 16).") \
	X(STR, anon_folders, "", 0, KF_FOLDERS_LIST_MAX, \
	    "Shared folders (`folder` names, comma-separated) that anonymous " \
	    "sessions get; each must be a configured folder. Empty: none.") \
	X(BOOL, message_enable, "no", 0, 1, \
	    "On CWD, show the text of the new directory's `.message` file.") \
	X(BOOL, list_recursive, "no", 0, 1, \
	    "Allow recursive listings (LIST -R).") \
	X(PATTERNS, hide_patterns, "", 0, 1024, \
	    "Comma-separated glob patterns (`*`, `?`, `[...]`) of names left " \
	    "out of listings; blanks around a pattern are dropped. At most 32 " \
	    "patterns, none empty or holding `/`.") \
	X(PATTERNS, deny_patterns, "", 0, 1024, \
	    "Comma-separated glob patterns of names that cannot be accessed " \
	    "at all (same syntax as `hide_patterns`).") \
	X(UINT, hash_max_mib, "4096", 0, 1048576, \
	    "Checksum commands (HASH, XCRC, XMD5, XSHA1, XSHA256) refuse " \
	    "files larger than this many MiB (0: checksums disabled).") \
	X(UINT, anon_hash_max_mib, "64", 0, 1048576, \
	    "Anonymous sessions' checksums refuse files larger than this " \
	    "many MiB (at most `hash_max_mib`; 0: no checksums for them).") \
	X(STR, hash_store, "off", 3, 5, \
	    "`xattr`: while a file is uploaded (STOR, STOU), the digests of " \
	    "`hash_store_algos` are computed on the fly and stored with it " \
	    "in the `user.keepftpd.hash` extended attribute, with its size " \
	    "and mtime; HASH and XSHA256 etc. of the unchanged file answer " \
	    "from it at once (also above `hash_max_mib`), and read the file " \
	    "when its size or mtime changed. APPE and REST+STOR remove the " \
	    "stored digest. Where the file system has no user extended " \
	    "attributes, nothing is stored. `off`: nothing stored, nothing " \
	    "read back. Off by default: SHA-256 on the fly doubles the CPU " \
	    "an upload costs the server and about halves one upload's " \
	    "speed on a fast link (docs/PERFORMANCE.md); turn it on where " \
	    "clients check uploads with HASH. See docs/SECURITY.md (Stored " \
	    "digests).") \
	X(STR, hash_store_algos, "sha256", 3, 64, \
	    "The digests `hash_store = xattr` keeps, comma-separated: " \
	    "`sha256`, `sha1`, `sha512`, `md5`, `crc32` (or as FEAT names " \
	    "them, `SHA-256`). Each one costs upload CPU, MD5 the most " \
	    "(docs/PERFORMANCE.md).") \
	X(BOOL, upload_tmpfile, "yes", 0, 1, \
	    "STOR writes into an unnamed file (`O_TMPFILE`) that gets its " \
	    "name only when the upload succeeds, so a partial upload is " \
	    "never visible and nothing is left if the session dies. Where " \
	    "the file system or kernel cannot do that, or with `no`, a " \
	    "named `.kf-upload-*` file, hidden from listings and refused " \
	    "to every command.") \
	X(PATH, upload_hook, "", 0, 0, \
	    "Program run after each completed upload (STOR, APPE, STOU), " \
	    "with argv `[program, path-on-disk]` and no shell; environment " \
	    "`KEEPFTPD_USER`, `KEEPFTPD_CLIENT`, `KEEPFTPD_PATH` (the path " \
	    "as the client sees it), `KEEPFTPD_SIZE`, `KEEPFTPD_SESSION`, " \
	    "`KEEPFTPD_MODE` and `PATH=/usr/bin:/bin`; the file is also " \
	    "open on descriptor 3. It runs as the session's user (or " \
	    "`upload_hook_user`) with no capabilities and no_new_privs, " \
	    "stdin /dev/null, its output (at most 4 KiB) escaped into the " \
	    "log. A regular executable file owned by root or the server's " \
	    "account, writable by no one else (empty: no hook). See " \
	    "docs/OPERATIONS.md.") \
	X(STR, upload_hook_mode, "after", 1, 5, \
	    "`after`: the hook runs once the file has its name (the client " \
	    "does not wait for it). `check`: a STOR's hook runs before the " \
	    "file gets its name, with argv `[program, /dev/fd/3]`; exit 0 " \
	    "commits it, anything else (or a timeout) answers `550 Upload " \
	    "rejected` and the data is dropped. APPE, REST+STOR and STOU " \
	    "cannot be checked before their bytes land and are refused " \
	    "(550) in check mode.") \
	X(STR, upload_hook_user, "", 0, 32, \
	    "Run the hook as this system user instead of the session's " \
	    "(root refused; empty: the session's user). Ignored when the " \
	    "server does not run as root.") \
	X(UINT, upload_hook_timeout, "60", 1, 3600, \
	    "Seconds a hook may run; then its process group is killed " \
	    "(check mode: the upload is rejected).") \
	X(UINT, upload_hook_concurrency, "4", 1, 64, \
	    "Hooks running at once across all sessions; more wait in a " \
	    "queue of 64 (each session's uploads run one hook at a time).") \
	X(UINT, idle_timeout, "300", 1, 86400, \
	    "Seconds without a command before a session is closed.") \
	X(UINT, login_timeout, "60", 1, 3600, \
	    "Seconds from connect to a successful login.") \
	X(UINT, session_max_seconds, "0", 0, 604800, \
	    "Longest a session may last, counted from connect, in seconds " \
	    "(0: no limit). At the limit a running transfer ends with 426 " \
	    "and the session with 421.") \
	X(UINT, shutdown_grace, "60", 0, 86400, \
	    "At stop (SIGTERM, `systemctl stop`), seconds running transfers " \
	    "get to finish; idle and not logged-in sessions get 421 at " \
	    "once. Then, or at a second SIGTERM, what still runs ends with " \
	    "426 and a partial STOR is not kept. Keep the unit's " \
	    "TimeoutStopSec above it (plus about 10 s).") \
	X(UINT, data_timeout, "60", 1, 3600, \
	    "Seconds to wait for a data connection, or for progress on one.") \
	X(UINT, download_rate, "0", 0, 4000000000UL, \
	    "Most bytes a second a session's downloads (RETR) may move, " \
	    "paced in slices of 1/20 s (0: no limit). Each session has its " \
	    "own (one transfer at a time); `max_per_ip` bounds how many a " \
	    "client opens. A users-file `down_rate=` flag replaces it for " \
	    "that user.") \
	X(UINT, upload_rate, "0", 0, 4000000000UL, \
	    "Most bytes a second a session's uploads (STOR, APPE, STOU) may " \
	    "move (0: no limit), like `download_rate`. A users-file " \
	    "`up_rate=` flag replaces it for that user.") \
	X(UINT, anon_download_rate, "0", 0, 4000000000UL, \
	    "`download_rate` for anonymous sessions (0: `download_rate`).") \
	X(UINT, anon_upload_rate, "0", 0, 4000000000UL, \
	    "`upload_rate` for anonymous sessions (0: `upload_rate`).") \
	X(UINT, data_min_rate, "1024", 0, 4000000000UL, \
	    "Least bytes a second a transfer must move, measured over each " \
	    "window of `data_timeout` seconds; a slower one ends with 426 " \
	    "(an upload is then not kept). 0: no minimum. Never more than " \
	    "half of the transfer's own rate limit.") \
	X(PATH, quota_dir, "/var/lib/keepftpd/quota", 0, 0, \
	    "Directory of the usage files of users with a quota (users-file " \
	    "flags `quota_bytes=`, `quota_files=`): one file per user name, " \
	    "owned by the account the server runs as, never inside a " \
	    "session's root. A quota user whose file cannot be opened gets " \
	    "421 at login.") \
	X(UINT, login_fail_delay_ms, "1000", 0, 60000, \
	    "Delay before answering a failed login, doubled for each further failure in the session up to a cap of 30 s (`KF_LOGIN_DELAY_MAX_MS`), where it stays; a value above 30000 acts as 30000. The monitor sleeps it, so a worker cannot shorten it.") \
	X(UINT, max_login_failures, "3", 1, 100, \
	    "Failed logins in one session before it is closed.") \
	X(UINT, auth_concurrency, "4", 1, 64, \
	    "Password verifications running at once, across all sessions; " \
	    "further logins wait in the order they came. Read at start: " \
	    "a reload keeps the running value (logged).") \
	X(UINT, pwhash_opslimit, "2", 1, 20, \
	    "argon2id time cost for new password hashes: those `keepftpd " \
	    "user -c FILE` makes, the rehash on login, and the dummy hash " \
	    "an unknown name or a wrong password for a cheaper hash " \
	    "verifies (so it costs what a real user costs).") \
	X(UINT, pwhash_memlimit_kib, "32768", 8192, 4194304, \
	    "argon2id memory cost (KiB) for new password hashes, used like " \
	    "`pwhash_opslimit`.") \
	X(BOOL, pwhash_rehash, "no", 0, 1, \
	    "After a good password whose users-file hash is a legacy " \
	    "crypt(3) hash (sha512-crypt, bcrypt) or argon2id at another " \
	    "cost, replace that hash with argon2id at `pwhash_opslimit` and " \
	    "`pwhash_memlimit_kib` (the users file is rewritten atomically, " \
	    "keeping its owner and mode, under the lock `keepftpd user` " \
	    "takes). Inline users are never rewritten.") \
	X(MODE, umask, "022", 0, 0777, \
	    "umask applied to uploaded files and new directories.") \
	X(STR, log, "stderr", 1, 16, \
	    "Where log lines go: stderr or syslog (with `log_file` set, " \
	    "only the lines written before kf-log runs or while it cannot " \
	    "keep up).") \
	X(STR, log_level, "info", 1, 16, \
	    "Least severe level logged: error, warning, info or debug.") \
	X(PATH, log_file, "", 0, 0, \
	    "A file for the log, in `log_format`, instead of `log`. The " \
	    "listener opens it as root (append, no symlink, created with " \
	    "mode 0640) at start, on SIGHUP when the path changed and on " \
	    "SIGUSR1 (log rotation); kf-log, an unprivileged process, " \
	    "writes it. Empty: no file.") \
	X(STR, log_format, "text", 1, 16, \
	    "Format of `log_file`: `text` (the stderr line, byte for byte) " \
	    "or `json` (one object per line: time with milliseconds, level, " \
	    "event, session, client, client_port, user, then the line's " \
	    "fields and msg; every string escaped, invalid UTF-8 as " \
	    "\\u00XX). stderr and syslog always get text.") \
	X(PATH, xferlog_file, "", 0, 0, \
	    "A transfer log in the wu-ftpd xferlog(5) format, one line per " \
	    "finished transfer (status `c`) or broken one (`i`, with the " \
	    "bytes moved), opened and reopened like `log_file`. The time " \
	    "is UTC; the username is the login name; authentication-method " \
	    "is 0 and authenticated-user-id `*`. In the file name and the " \
	    "user name, space, control characters, backslash and bytes " \
	    "that are not UTF-8 are written as a backslash and three octal " \
	    "digits (`\\040` for a space), so that every line has its 14 " \
	    "space-separated fields. Empty: none.")

#define CONF_AUTO (-1) /* an AUTO option's `auto` before conf_check */

struct conf_listen {
	struct sockaddr_storage addr;
	socklen_t len;
	int implicit; /* implicit FTPS */
	int proxy; /* a PROXY protocol header first (proxy_from) */
};

/* One vhost line; name is lowercase, banner_text empty when not given. */
struct conf_vhost {
	char name[CONF_HOST_MAX + 1];
	char anon_root[KF_CONF_VALUE_MAX + 1];
	char banner_text[CONF_TEXT_MAX + 1];
};

/*
 * One folder line: source is absolute, mount an absolute clean virtual
 * path other than "/", writable 1 for `rw`.
 */
struct conf_folder {
	char name[KF_FOLDER_NAME_MAX + 1];
	char source[KF_CONF_VALUE_MAX + 1];
	char mount[KF_CONF_VALUE_MAX + 1];
	int writable;
};

/*
 * One pasv_address_map entry: clients in net/bits get addr in PASV.
 * net has no bit set past bits.
 */
struct conf_pasv_map {
	uint8_t net[4];
	uint8_t addr[4];
	unsigned bits; /* 0..32 */
};

#define CONF_FIELD_BOOL(n) int n;
#define CONF_FIELD_AUTO(n) int n; /* CONF_AUTO until conf_check */
#define CONF_FIELD_UINT(n) unsigned long n;
#define CONF_FIELD_MODE(n) unsigned n;
#define CONF_FIELD_STR(n)  char n[KF_CONF_VALUE_MAX + 1];
#define CONF_FIELD_PATH(n) char n[KF_CONF_VALUE_MAX + 1];
#define CONF_FIELD_LISTEN(n) \
	struct conf_listen n[KF_LISTEN_MAX]; \
	size_t n##_count;
#define CONF_FIELD_TEXTFILE(n) \
	char n[KF_CONF_VALUE_MAX + 1]; \
	char n##_text[CONF_TEXT_MAX + 1];
#define CONF_FIELD_PATTERNS(n) char n[KF_CONF_VALUE_MAX + 1];
#define CONF_FIELD_VHOST(n) \
	struct conf_vhost n[CONF_VHOST_MAX]; \
	size_t n##_count;
#define CONF_FIELD_FOLDER(n) \
	struct conf_folder n[KF_FOLDERS_MAX]; \
	size_t n##_count;
#define CONF_FIELD_PASVADDR(n) \
	char n[CONF_HOST_MAX + 1]; \
	uint8_t n##_ip[4];
#define CONF_FIELD_PASVMAP(n) \
	struct conf_pasv_map n[KF_PASV_MAP_MAX]; \
	size_t n##_count;
#define CONF_FIELD(t, n, d, lo, hi, doc) CONF_FIELD_##t(n)

/* Plain data: copying the struct copies the configuration. */
struct conf {
	CONF_OPTIONS(CONF_FIELD)
};

/* One error per problem, as "file:line: message". */
struct conf_errors {
	size_t count;
	char msg[16][512];
};

void conf_defaults(struct conf *);
int conf_parse(struct conf *, const char *name, const char *text, size_t len,
    struct conf_errors *);
int conf_load(struct conf *, const char *path, struct conf_errors *);
int conf_set(struct conf *, const char *key, const char *value,
    const char *where, struct conf_errors *);
/*
 * Checks across options, then settles each AUTO option still `auto`
 * (tls_required_users: yes when tls_cert is set). Every configuration
 * that is used goes through it.
 */
int conf_check(struct conf *, struct conf_errors *);
/*
 * The files the configuration names (users_file, tls_cert, tls_key,
 * tls_client_ca; the config file and banner files are checked as they
 * are read) are writable only by root and the account we run as, as
 * are the directories on their paths; the key is not readable by
 * others. Errors are "file: PATH: why". 0 or -1.
 */
int conf_check_files(const struct conf *, struct conf_errors *);
/* One such file (files.c); secret: a private key. 0, or -1 and why. */
int conf_file_safe(const char *path, int secret, char *why, size_t whysz);
/* A regular file with an execute bit (upload_hook). 0, or -1 and why. */
int conf_file_executable(const char *path, char *why, size_t whysz);
int conf_parse_listen(const char *text, struct conf_listen *);
void conf_print_doc(int fd);
/* keepftpd.conf.example: every option's text and default, from the table. */
void conf_print_example(int fd);
/* keepftpd.conf(5) in roff, from the same table (--config-man). */
void conf_print_man(int fd, const char *version, const char *date);

/*
 * A host name as HOST (RFC 7151) and vhost take it: 1..CONF_HOST_MAX
 * bytes of [A-Za-z0-9.:[]-]; written lowercase into out (CONF_HOST_MAX
 * + 1 bytes). 0, or -EINVAL.
 */
int conf_host_norm(const char *in, size_t n, char *out);
/*
 * A list of folder names (',' between them; conf_lookup.c) as a mask of
 * c->folder indices in *mask. The number of names that are no folder
 * (left out of the mask), or -EINVAL for a malformed list.
 */
int conf_folder_mask(const struct conf *c, const char *list, uint32_t *mask);
/* NAME of a folder: 1..KF_FOLDER_NAME_MAX of [A-Za-z0-9_-]. */
int conf_folder_name_ok(const char *s, size_t n);
/* The vhost named name (lowercase, as conf_host_norm writes it), or NULL. */
const struct conf_vhost *conf_vhost_find(const struct conf *, const char *name);
/* The 220 greeting: banner_file's text when set, else banner. */
const char *conf_greeting(const struct conf *);
/*
 * The address PASV announces to a client at peer: the first
 * pasv_address_map entry whose network holds it (an IPv4-mapped peer
 * as IPv4), else pasv_address. 1 and ip, or 0: none configured (the
 * control connection's local address).
 */
int conf_pasv_announce(const struct conf *, const struct sockaddr_storage *peer,
    uint8_t ip[4]);
/*
 * A pasv_address or map ADDRESS (parser child, resolve.c): an IPv4
 * literal, or a host name resolved to its first IPv4 address. 0 and
 * ip, or -1 and why (a sentence, for "KEY: 'VALUE' why").
 */
int conf_resolve_v4(const char *text, uint8_t ip[4], char *why, size_t whysz);

#endif
