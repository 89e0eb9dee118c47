/*
 * tls.c - FTPS contexts: the control context with the configured
 * certificate chain and key, and the data connections' decoy context.
 * Private keys live in OpenSSL's secure heap where it is available
 * (cleared when freed). See tls.h and docs/SECURITY.md.
 * Runs in: relay and post-login spawners (load; the relay spawner of
 * `keepftpd -t` too), TLS relay and post-login worker (inherited
 * contexts). Never in the privileged image.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common/cursor.h"
#include "../common/limits.h"
#include "../common/log.h"
#include "../common/sys.h"
#include "tls.h"

/* One generation of contexts: replaced as a whole on SIGHUP. */
struct tls_set {
	SSL_CTX *real;
	SSL_CTX *decoy;
	char sni[CONF_HOST_MAX + 1]; /* tls_sni_host, or "" */
};

static struct tls_set *cur;
/*
 * OpenSSL's secure heap arena [lo, hi), found by the spawner that
 * loads the keys: every private key (the real one, the decoy) and the
 * DRBG states live there.
 * A worker that needs none of them maps fresh inaccessible pages over it
 * instead of freeing the contexts: nothing secret is left, no page of
 * the inherited heap is written (copied), and a stray use of the secure
 * heap afterwards ends the process instead of reading a key.
 */
static uintptr_t arena_lo, arena_hi;
static int fresh_refused; /* the last data ClientHello offered no session */
/* post-login worker: the control connection's TLS 1.2 session (DER) */
static unsigned char resume_der[KF_TLS_SESSION_MAX];
static size_t resume_len;

const char *
tls_error_text(char *buf, size_t n)
{
	unsigned long e, last = 0;

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last == 0)
		snprintf(buf, n, "no OpenSSL error");
	else
		ERR_error_string_n(last, buf, n);
	return buf;
}

/*
 * ALPN (ALPACA): a client that offers protocols must offer "ftp"; one
 * that offers none is served.
 */
static int
alpn_select(SSL *s, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned inlen, void *arg)
{
	unsigned i = 0, n;

	(void)s;
	(void)arg;
	while (i < inlen) {
		n = in[i];
		if (n == 0 || n > inlen - i - 1)
			break;
		if (n == 3 && memcmp(in + i + 1, "ftp", 3) == 0) {
			*out = in + i + 1;
			*outlen = 3;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + n;
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* Strict SNI: when tls_sni_host is set, the client must name it. */
static int
sni_check(SSL *s, int *alert, void *arg)
{
	const char *want = arg, *name;

	if (want[0] == '\0')
		return SSL_TLSEXT_ERR_OK;
	name = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);
	if (name != NULL && strcasecmp(name, want) == 0)
		return SSL_TLSEXT_ERR_OK;
	*alert = SSL_AD_UNRECOGNIZED_NAME;
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/*
 * The decoy context's first look at a data connection's ClientHello:
 * without a session to resume (no TLS 1.3 pre_shared_key, no TLS 1.2
 * ticket) it cannot belong to this session, so the handshake ends now
 * with an alert rather than after a full handshake. A ticket that does
 * not decrypt under this session's key is caught after the handshake
 * (tls_xfer.c: SSL_session_reused).
 */
/* The ClientHello offers TLS 1.3 (supported_versions holds 0x0304). */
static int
offers_tls13(SSL *s)
{
	const unsigned char *p;
	size_t n, i;

	if (!SSL_client_hello_get0_ext(s, TLSEXT_TYPE_supported_versions, &p,
		&n) ||
	    n < 1 || p[0] != n - 1)
		return 0;
	for (i = 1; i + 1 < n; i += 2)
		if (p[i] == 0x03 && p[i + 1] == 0x04)
			return 1;
	return 0;
}

/*
 * A TLS 1.3 hello must carry a pre_shared_key (its legacy session id is
 * random); a TLS 1.2 one a ticket or a session id.
 */
static int
offers_session(SSL *s)
{
	const unsigned char *p;
	size_t n;

	if (offers_tls13(s) && SSL_get_max_proto_version(s) != TLS1_2_VERSION)
		return SSL_client_hello_get0_ext(s, TLSEXT_TYPE_psk, &p, &n) &&
		    n > 0;
	if (SSL_client_hello_get0_ext(s, TLSEXT_TYPE_session_ticket, &p, &n) &&
	    n > 0)
		return 1;
	return SSL_client_hello_get0_session_id(s, &p) > 0;
}

static int
data_hello(SSL *s, int *alert, void *arg)
{
	(void)arg;
	fresh_refused = 0;
	if (offers_session(s))
		return SSL_CLIENT_HELLO_SUCCESS;
	fresh_refused = 1;
	*alert = SSL_AD_ACCESS_DENIED;
	return SSL_CLIENT_HELLO_ERROR;
}

int
tls_fresh_refused(void)
{
	int r = fresh_refused;

	fresh_refused = 0;
	return r;
}

/* Versions, ciphers, groups, options: the same for both contexts. */
static SSL_CTX *
ctx_base(const struct conf *c)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	uint64_t opts = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;

	if (ctx == NULL)
		return NULL;
	if (c->tls_server_preference)
		opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
	SSL_CTX_set_options(ctx, opts);
	/*
	 * No internal cache (it would not cross processes): TLS 1.3 and
	 * TLS 1.2 tickets carry the session; for TLS 1.2 session ids the
	 * relay hands the session over (MON_TLS_SESSION, tls_set_resume).
	 */
	SSL_CTX_set_session_cache_mode(ctx,
	    SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
	SSL_CTX_set_timeout(ctx, KF_TLS_SESSION_SECONDS);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	if (!SSL_CTX_set_min_proto_version(ctx,
		strcmp(c->tls_min, "1.3") == 0 ? TLS1_3_VERSION :
						 TLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, c->tls_ciphers) ||
	    !SSL_CTX_set1_groups_list(ctx, c->tls_curves)) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* A throw-away key of the real key's type (RSA, EC curve, EdDSA). */
static EVP_PKEY *
decoy_key(EVP_PKEY *real)
{
	char group[64];
	size_t glen;
	int id = EVP_PKEY_get_base_id(real);

	if (id == EVP_PKEY_RSA)
		return EVP_RSA_gen((unsigned)EVP_PKEY_get_bits(real));
	if (id == EVP_PKEY_EC &&
	    EVP_PKEY_get_group_name(real, group, sizeof(group), &glen))
		return EVP_EC_gen(group);
	if (id == EVP_PKEY_ED25519)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (id == EVP_PKEY_ED448)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	return EVP_EC_gen("P-256");
}

static X509 *
decoy_cert(EVP_PKEY *key)
{
	static const unsigned char cn[] = "keepftpd data decoy";
	int id = EVP_PKEY_get_base_id(key);
	X509 *x = X509_new();
	X509_NAME *name;

	if (x == NULL)
		return NULL;
	name = X509_get_subject_name(x);
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    !X509_set_pubkey(x, key) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1,
		0) ||
	    !X509_set_issuer_name(x, name) ||
	    !X509_sign(x, key,
		id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ?
		    NULL :
		    EVP_sha256())) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* The data context: same settings, a decoy certificate and key. */
static SSL_CTX *
decoy_ctx(const struct conf *c, EVP_PKEY *real)
{
	EVP_PKEY *key = decoy_key(real);
	X509 *cert = key != NULL ? decoy_cert(key) : NULL;
	SSL_CTX *ctx = cert != NULL ? ctx_base(c) : NULL;

	if (ctx != NULL &&
	    (!SSL_CTX_use_certificate(ctx, cert) ||
		!SSL_CTX_use_PrivateKey(ctx, key))) {
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
	if (ctx != NULL) {
		SSL_CTX_set_num_tickets(ctx, 0);
		SSL_CTX_set_client_hello_cb(ctx, data_hello, NULL);
	}
	X509_free(cert);
	EVP_PKEY_free(key);
	return ctx;
}

/*
 * The key file, read into a buffer we wipe (not through stdio, whose
 * buffer would keep the PEM text), decoded from memory.
 */
static EVP_PKEY *
read_key(const char *path)
{
	static char pem[KF_TLS_KEY_FILE_MAX];
	EVP_PKEY *key = NULL;
	size_t n = 0;
	ssize_t r;
	BIO *bio;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		ERR_raise_data(ERR_LIB_SYS, errno, "%s", path);
		return NULL;
	}
	while (
	    n < sizeof(pem) && (r = sys_read(fd, pem + n, sizeof(pem) - n)) > 0)
		n += (size_t)r;
	close(fd);
	if (n < sizeof(pem) && (bio = BIO_new_mem_buf(pem, (int)n)) != NULL) {
		key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	explicit_bzero(pem, sizeof(pem));
	return key;
}

/*
 * Client certificates: asked for (required when configured), verified
 * by OpenSSL against tls_client_ca; a certificate that does not verify
 * fails the handshake.
 */
static int
client_certs(SSL_CTX *ctx, const struct conf *c)
{
	STACK_OF(X509_NAME) * names;

	if (SSL_CTX_load_verify_locations(ctx, c->tls_client_ca, NULL) != 1 ||
	    (names = SSL_load_client_CA_file(c->tls_client_ca)) == NULL)
		return -1;
	SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx,
	    SSL_VERIFY_PEER |
		(c->tls_client_cert_required ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT :
					       0),
	    NULL);
	return 0;
}

/* The control context with the configured chain and key. */
static SSL_CTX *
real_ctx(const struct conf *c, char *why, size_t whysz)
{
	const char *key = c->tls_key[0] != '\0' ? c->tls_key : c->tls_cert;
	SSL_CTX *ctx = ctx_base(c);
	EVP_PKEY *pkey = NULL;
	char err[256];

	if (ctx == NULL) {
		snprintf(why, whysz,
		    "TLS settings (tls_min, tls_ciphers, "
		    "tls_curves): %s",
		    tls_error_text(err, sizeof(err)));
		return NULL;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1) {
		snprintf(why, whysz, "tls_cert %s: %s", c->tls_cert,
		    tls_error_text(err, sizeof(err)));
		goto fail;
	}
	if ((pkey = read_key(key)) == NULL ||
	    SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) ==
		    X509_R_KEY_VALUES_MISMATCH)
			snprintf(why, whysz,
			    "tls_key %s does not match "
			    "tls_cert %s",
			    key, c->tls_cert);
		else
			snprintf(why, whysz, "tls_key %s: %s", key,
			    tls_error_text(err, sizeof(err)));
		ERR_clear_error();
		goto fail;
	}
	EVP_PKEY_free(pkey);
	pkey = NULL;
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(why, whysz, "tls_key %s does not match tls_cert %s",
		    key, c->tls_cert);
		goto fail;
	}
	if (c->tls_client_ca[0] != '\0' && client_certs(ctx, c) < 0) {
		snprintf(why, whysz, "tls_client_ca %s: %s", c->tls_client_ca,
		    tls_error_text(err, sizeof(err)));
		goto fail;
	}
	return ctx;
fail:
	EVP_PKEY_free(pkey);
	SSL_CTX_free(ctx);
	return NULL;
}

static void
set_free(struct tls_set *s)
{
	if (s == NULL)
		return;
	SSL_CTX_free(s->real);
	SSL_CTX_free(s->decoy);
	free(s);
}

static struct tls_set *
set_build(const struct conf *c, char *why, size_t whysz)
{
	struct tls_set *s = calloc(1, sizeof(*s));
	char err[256];

	if (s == NULL) {
		snprintf(why, whysz, "out of memory");
		return NULL;
	}
	memcpy(s->sni, c->tls_sni_host,
	    strnlen(c->tls_sni_host, sizeof(s->sni) - 1));
	if ((s->real = real_ctx(c, why, whysz)) == NULL)
		goto fail;
	SSL_CTX_set_tlsext_servername_callback(s->real, sni_check);
	SSL_CTX_set_tlsext_servername_arg(s->real, s->sni);
	if ((s->decoy = decoy_ctx(c, SSL_CTX_get0_privatekey(s->real))) ==
	    NULL) {
		snprintf(why, whysz, "decoy data certificate: %s",
		    tls_error_text(err, sizeof(err)));
		goto fail;
	}
	return s;
fail:
	set_free(s);
	return NULL;
}

/*
 * The secure heap is one mapping between two PROT_NONE guard pages:
 * the readable and writable mapping that holds a secure allocation is
 * the whole arena. Anything unexpected leaves arena_hi 0 (workers then
 * free the contexts instead).
 */
/* "lo-hi perms ...": the range, and the cursor left at perms. */
static int
maps_range(struct cursor *c, uint64_t *lo, uint64_t *hi)
{
	if (cursor_u64_base(c, 16, UINTPTR_MAX, lo) < 0 ||
	    !cursor_eat(c, '-') ||
	    cursor_u64_base(c, 16, UINTPTR_MAX, hi) < 0 || !cursor_eat(c, ' '))
		return -EINVAL;
	return 0;
}

static void
find_arena(void)
{
	uint64_t lo, hi;
	struct cursor c;
	char line[512];
	void *probe;
	FILE *f;

	if ((probe = OPENSSL_secure_malloc(1)) == NULL)
		return;
	if (CRYPTO_secure_allocated(probe) &&
	    (f = fopen("/proc/self/maps", "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			cursor_init_str(&c, line);
			if (maps_range(&c, &lo, &hi) < 0 ||
			    (uintptr_t)probe < lo || (uintptr_t)probe >= hi)
				continue;
			if (cursor_eat(&c, 'r') && cursor_eat(&c, 'w') &&
			    hi - lo == KF_TLS_SECURE_HEAP) {
				arena_lo = lo;
				arena_hi = hi;
			}
			break;
		}
		(void)fclose(f);
	}
	OPENSSL_secure_free(probe);
}

/*
 * Private keys (the real one, and the decoy's) go to the secure heap,
 * one arena that tls_forget() unmaps whole: a worker that keeps no
 * context then frees nothing, so it neither touches (and copies) the
 * spawner's heap pages nor leaves a key behind.
 */
static void
secure_heap_once(void)
{
	static int heap_tried;

	if (heap_tried)
		return;
	heap_tried = 1;
	if (CRYPTO_secure_malloc_init(KF_TLS_SECURE_HEAP, 64) == 0)
		log_warn("TLS: no secure heap; keys live in the "
			 "ordinary heap (still cleared when freed)");
	else
		find_arena();
}

int
tls_load(const struct conf *c, char *why, size_t whysz)
{
	struct tls_set *s;

	if (!tls_configured(c)) {
		set_free(cur);
		cur = NULL;
		return 0;
	}
	secure_heap_once();
	if ((s = set_build(c, why, whysz)) == NULL)
		return -1;
	set_free(cur);
	cur = s;
	return 0;
}

/*
 * The post-login spawner: the data context only. With
 * tls_data_reuse_required the decoy, made from the type of the
 * certificate's public key: the private key is never read. Without
 * it, the real contexts (tls_load). 0 or -1 (logged).
 */
int
tls_load_data(const struct conf *c)
{
	struct tls_set *s;
	char why[512];
	X509 *x = NULL;
	BIO *b;

	if (!tls_configured(c) || !c->tls_data_reuse_required) {
		if (tls_load(c, why, sizeof(why)) == 0)
			return 0;
		log_err("TLS: %-s", why);
		return -1;
	}
	secure_heap_once();
	if ((b = BIO_new_file(c->tls_cert, "r")) != NULL) {
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	if (x == NULL || (s = calloc(1, sizeof(*s))) == NULL) {
		X509_free(x);
		log_err("TLS: cannot read the certificate tls_cert=%s",
		    c->tls_cert);
		return -1;
	}
	s->decoy = decoy_ctx(c, X509_get0_pubkey(x));
	X509_free(x);
	if (s->decoy == NULL) {
		free(s);
		log_err("TLS: cannot make the decoy data certificate");
		return -1;
	}
	set_free(cur);
	cur = s;
	return 0;
}

SSL_CTX *
tls_ctrl_ctx(void)
{
	return cur != NULL ? cur->real : NULL;
}

SSL_CTX *
tls_data_ctx(const struct conf *c)
{
	if (cur == NULL)
		return NULL;
	return c->tls_data_reuse_required ? cur->decoy : cur->real;
}

void
tls_forget(int keep_real, int keep_decoy)
{
	if (cur == NULL)
		return;
	if (!keep_real && !keep_decoy && arena_hi != 0 &&
	    mmap((void *)arena_lo, arena_hi - arena_lo, PROT_NONE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1,
		0) != MAP_FAILED) {
		/* the keys are gone with the arena; the rest is public */
		cur = NULL;
		arena_lo = arena_hi = 0;
		return;
	}
	if (!keep_real) {
		SSL_CTX_free(cur->real);
		cur->real = NULL;
	}
	if (!keep_decoy) {
		SSL_CTX_free(cur->decoy);
		cur->decoy = NULL;
	}
	if (cur->real == NULL && cur->decoy == NULL) {
		free(cur);
		cur = NULL;
		/* nothing left in the secure heap: unmap it */
		CRYPTO_secure_malloc_done();
	}
}

/* The data contexts' session lookup: the control session, by its id. */
static SSL_SESSION *
get_resume(SSL *s, const unsigned char *id, int idlen, int *copy)
{
	const unsigned char *p = resume_der, *sid;
	SSL_SESSION *sess;
	unsigned sidlen;

	(void)s;
	*copy = 0;
	if (resume_len == 0 ||
	    (sess = d2i_SSL_SESSION(NULL, &p, (long)resume_len)) == NULL)
		return NULL;
	sid = SSL_SESSION_get_id(sess, &sidlen);
	if (idlen > 0 && sidlen == (unsigned)idlen &&
	    CRYPTO_memcmp(sid, id, sidlen) == 0)
		return sess;
	SSL_SESSION_free(sess);
	return NULL;
}

int
tls_set_resume(SSL_CTX *ctx, const unsigned char *der, size_t n)
{
	if (n > sizeof(resume_der))
		return -1;
	memcpy(resume_der, der, n);
	resume_len = n;
	SSL_CTX_sess_set_get_cb(ctx, get_resume);
	return 0;
}

int
tls_bind_session(SSL_CTX *ctx, const struct tls_session_keys *k)
{
	if (SSL_CTX_set_tlsext_ticket_keys(ctx, (void *)(uintptr_t)k->ticket,
		sizeof(k->ticket)) != 1 ||
	    SSL_CTX_set_session_id_context(ctx, k->sid_ctx,
		sizeof(k->sid_ctx)) != 1)
		return -1;
	return 0;
}
