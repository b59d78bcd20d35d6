/* {SCRAM-SHA-1} / {SCRAM-SHA-256}: "i,salt,StoredKey,ServerKey" (salt and
   keys base64) as RFC 5802 section 3 defines the keys:
     SaltedPassword = PBKDF2-HMAC-H(password, salt, i)
     StoredKey = H(HMAC(SaltedPassword, "Client Key"))
     ServerKey = HMAC(SaltedPassword, "Server Key")
   The password is used as given (no SASLprep), as Dovecot does. */
#include "lib.h"
#include "str.h"
#include "base64.h"
#include "ct.h"
#include "randbytes.h"
#include "password-scheme-private.h"

#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* RFC 5802 5.1: the count SHOULD be at least 4096 */
#define SCRAM_ITERATIONS_MIN 4096
#define SCRAM_ITERATIONS_MAX INT_MAX
#define SCRAM_ITERATIONS_DEFAULT 4096
#define SCRAM_SALT_SIZE 16
#define SCRAM_MAX_FIELD_LEN 1024

struct scram_params {
	const char *digest_name;
	size_t key_size;
};

static const struct scram_params scram_sha1 = { "SHA1", 20 };
static const struct scram_params scram_sha256 = { "SHA256", 32 };

/* Compute StoredKey and ServerKey. 0 or -1 if OpenSSL failed. */
static int scram_keys(const struct scram_params *params,
		      const unsigned char *plain, size_t plain_len,
		      const unsigned char *salt, size_t salt_size,
		      unsigned int iterations,
		      unsigned char stored_key_r[SCRAM_MAX_KEY_SIZE],
		      unsigned char server_key_r[SCRAM_MAX_KEY_SIZE])
{
	const EVP_MD *md = EVP_get_digestbyname(params->digest_name);
	unsigned char salted[SCRAM_MAX_KEY_SIZE], client_key[SCRAM_MAX_KEY_SIZE];
	unsigned int len;
	int ret = -1;

	if (md == NULL || plain_len > INT_MAX || salt_size > INT_MAX ||
	    iterations > INT_MAX)
		return -1;
	if (PKCS5_PBKDF2_HMAC((const char *)plain, (int)plain_len,
			      salt, (int)salt_size, (int)iterations, md,
			      (int)params->key_size, salted) != 1)
		goto out;
	len = 0;
	if (HMAC(md, salted, (int)params->key_size,
		 (const unsigned char *)"Client Key", 10,
		 client_key, &len) == NULL || len != params->key_size)
		goto out;
	if (password_digest2(params->digest_name, client_key, params->key_size,
			     NULL, 0, stored_key_r) != params->key_size)
		goto out;
	len = 0;
	if (HMAC(md, salted, (int)params->key_size,
		 (const unsigned char *)"Server Key", 10,
		 server_key_r, &len) == NULL || len != params->key_size)
		goto out;
	ret = 0;
out:
	explicit_bzero(salted, sizeof(salted));
	explicit_bzero(client_key, sizeof(client_key));
	return ret;
}

static const struct scram_params *scram_params_find(const char *scheme)
{
	if (str_ieq(scheme, "SCRAM-SHA-1"))
		return &scram_sha1;
	if (str_ieq(scheme, "SCRAM-SHA-256"))
		return &scram_sha256;
	return NULL;
}

static int scram_decode_field(const char *field, size_t len,
			      unsigned char *dest, size_t dest_size,
			      size_t *size_r)
{
	if (len == 0 || len > SCRAM_MAX_FIELD_LEN)
		return -1;
	return base64_decode_buf(field, len, dest, dest_size, size_r);
}

int scram_credentials_parse(const char *scheme, const unsigned char *data,
			    size_t size, struct scram_credentials *cred_r,
			    const char **error_r)
{
	const struct scram_params *params = scram_params_find(scheme);
	const char *fields[4], *p = (const char *)data, *end = p + size;
	size_t lens[4], key_size;
	char iter_str[16];
	unsigned int n = 0;

	if (params == NULL) {
		*error_r = password_error("Not a SCRAM scheme: %s", scheme);
		return -1;
	}
	memset(cred_r, 0, sizeof(*cred_r));
	/* iter,salt,stored_key,server_key */
	while (n < N_ELEMENTS(fields)) {
		const char *comma = memchr(p, ',', (size_t)(end - p));

		fields[n] = p;
		lens[n] = (size_t)((comma == NULL ? end : comma) - p);
		n++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	if (n != N_ELEMENTS(fields) ||
	    fields[3] + lens[3] != end ||
	    memchr(data, '\0', size) != NULL) {
		*error_r = password_error("Invalid %s passdb entry format",
					  scheme);
		return -1;
	}
	if (lens[0] == 0 || lens[0] >= sizeof(iter_str)) {
		*error_r = password_error("Invalid %s iteration count in passdb",
					  scheme);
		return -1;
	}
	memcpy(iter_str, fields[0], lens[0]);
	iter_str[lens[0]] = '\0';
	if (str_to_uint(iter_str, &cred_r->iterations) < 0 ||
	    cred_r->iterations < SCRAM_ITERATIONS_MIN ||
	    cred_r->iterations > SCRAM_ITERATIONS_MAX) {
		*error_r = password_error("Invalid %s iteration count in passdb",
					  scheme);
		return -1;
	}
	if (scram_decode_field(fields[1], lens[1], cred_r->salt,
			       sizeof(cred_r->salt), &cred_r->salt_size) < 0) {
		*error_r = password_error("Invalid %s salt in passdb", scheme);
		return -1;
	}
	if (scram_decode_field(fields[2], lens[2], cred_r->stored_key,
			       sizeof(cred_r->stored_key), &key_size) < 0 ||
	    key_size != params->key_size) {
		*error_r = password_error("Invalid %s StoredKey in passdb",
					  scheme);
		return -1;
	}
	if (scram_decode_field(fields[3], lens[3], cred_r->server_key,
			       sizeof(cred_r->server_key), &key_size) < 0 ||
	    key_size != params->key_size) {
		*error_r = password_error("Invalid %s ServerKey in passdb",
					  scheme);
		return -1;
	}
	cred_r->key_size = params->key_size;
	return 0;
}

static int scram_verify(const struct password_scheme *scheme,
			const unsigned char *plain, size_t plain_len,
			const char *user ATTR_UNUSED,
			const unsigned char *raw, size_t raw_len,
			const char **error_r)
{
	const struct scram_params *params = scheme->context;
	struct scram_credentials cred;
	unsigned char stored_key[SCRAM_MAX_KEY_SIZE];
	unsigned char server_key[SCRAM_MAX_KEY_SIZE];
	int ret;

	if (scram_credentials_parse(scheme->name, raw, raw_len, &cred,
				    error_r) < 0)
		return -1;
	if (scram_keys(params, plain, plain_len, cred.salt, cred.salt_size,
		       cred.iterations, stored_key, server_key) < 0) {
		*error_r = password_error("%s key derivation failed",
					  scheme->name);
		ret = -1;
	} else {
		/* a matching StoredKey proves the password (the ServerKey is
		   not checked, as in Dovecot) */
		ret = ct_memequal(stored_key, cred.stored_key,
				  params->key_size) ? 1 : 0;
	}
	explicit_bzero(&cred, sizeof(cred));
	explicit_bzero(stored_key, sizeof(stored_key));
	explicit_bzero(server_key, sizeof(server_key));
	return ret;
}

static int scram_generate(const struct password_scheme *scheme,
			  const unsigned char *plain, size_t plain_len,
			  const char *user ATTR_UNUSED, unsigned int rounds,
			  string_t *dest, const char **error_r)
{
	const struct scram_params *params = scheme->context;
	unsigned char salt[SCRAM_SALT_SIZE];
	unsigned char stored_key[SCRAM_MAX_KEY_SIZE];
	unsigned char server_key[SCRAM_MAX_KEY_SIZE];

	if (rounds == 0)
		rounds = SCRAM_ITERATIONS_DEFAULT;
	else if (rounds < SCRAM_ITERATIONS_MIN)
		rounds = SCRAM_ITERATIONS_MIN;
	else if (rounds > SCRAM_ITERATIONS_MAX)
		rounds = SCRAM_ITERATIONS_MAX;
	random_bytes(salt, sizeof(salt));
	if (scram_keys(params, plain, plain_len, salt, sizeof(salt), rounds,
		       stored_key, server_key) < 0) {
		*error_r = password_error("%s key derivation failed",
					  scheme->name);
		return -1;
	}
	str_printfa(dest, "%u,", rounds);
	base64_encode(dest, salt, sizeof(salt));
	str_append_c(dest, ',');
	base64_encode(dest, stored_key, params->key_size);
	str_append_c(dest, ',');
	base64_encode(dest, server_key, params->key_size);
	explicit_bzero(stored_key, sizeof(stored_key));
	explicit_bzero(server_key, sizeof(server_key));
	return 0;
}

#define SCRAM_SCHEME(_name, _params) { \
	.name = _name, .family = _name, \
	.default_encoding = PASSWORD_ENCODING_NONE, .slow = true, \
	.verify = scram_verify, .generate = scram_generate, \
	.context = &_params, \
}
const struct password_scheme scheme_scram_sha1 =
	SCRAM_SCHEME("SCRAM-SHA-1", scram_sha1);
const struct password_scheme scheme_scram_sha256 =
	SCRAM_SCHEME("SCRAM-SHA-256", scram_sha256);
