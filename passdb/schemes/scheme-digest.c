/* Plaintext schemes, unsalted digests and salted digests ({SSHA} style:
   digest(pw || salt) || salt). */
#include "lib.h"
#include "str.h"
#include "ct.h"
#include "md4.h"
#include "randbytes.h"
#include "password-scheme-private.h"

#include <openssl/evp.h>

/* Salt size of generated salted digests (verification takes any size). */
#define SALTED_DIGEST_SALT_SIZE 4

/* ---- PLAIN, CLEAR, CLEARTEXT ---- */

static int plain_generate(const struct password_scheme *scheme ATTR_UNUSED,
			  const unsigned char *plain, size_t plain_len,
			  const char *user ATTR_UNUSED,
			  unsigned int rounds ATTR_UNUSED,
			  string_t *dest, const char **error_r ATTR_UNUSED)
{
	str_append_n(dest, plain, plain_len);
	return 0;
}

#define PLAIN_SCHEME(_name) { \
	.name = _name, .family = "PLAIN", \
	.default_encoding = PASSWORD_ENCODING_NONE, \
	.generate = plain_generate, \
}
const struct password_scheme scheme_plain = PLAIN_SCHEME("PLAIN");
const struct password_scheme scheme_clear = PLAIN_SCHEME("CLEAR");
const struct password_scheme scheme_cleartext = PLAIN_SCHEME("CLEARTEXT");

/* ---- PLAIN-TRUNC: "<N>-<password>" ---- */

static int
plain_trunc_verify(const struct password_scheme *scheme ATTR_UNUSED,
		   const unsigned char *plain, size_t plain_len,
		   const char *user ATTR_UNUSED,
		   const unsigned char *raw, size_t raw_len,
		   const char **error_r)
{
	size_t i, trunc_len = 0, stored_len;

	for (i = 0; i < raw_len && raw[i] >= '0' && raw[i] <= '9'; i++) {
		if (trunc_len > (SIZE_MAX - 9) / 10) {
			*error_r = "PLAIN-TRUNC length prefix is too large";
			return -1;
		}
		trunc_len = trunc_len * 10 + (size_t)(raw[i] - '0');
	}
	if (i == raw_len || raw[i] != '-') {
		*error_r = "PLAIN-TRUNC missing length: prefix";
		return -1;
	}
	raw += i + 1;
	stored_len = raw_len - (i + 1);

	if (stored_len == trunc_len && plain_len >= trunc_len) {
		/* The database truncated the password to N bytes: accept a
		   typed password whose first N bytes match. */
		return ct_memequal(raw, plain, trunc_len) ? 1 : 0;
	}
	return ct_memequal_sized(raw, stored_len, plain, plain_len) ? 1 : 0;
}

static int
plain_trunc_generate(const struct password_scheme *scheme ATTR_UNUSED,
		     const unsigned char *plain, size_t plain_len,
		     const char *user ATTR_UNUSED,
		     unsigned int rounds ATTR_UNUSED,
		     string_t *dest, const char **error_r ATTR_UNUSED)
{
	/* doveadm 2.3 writes the bare password here, which its own verify
	   then rejects ("missing length: prefix"); write the verifiable
	   "<N>-<password>" form instead. */
	str_printfa(dest, "%zu-", plain_len);
	str_append_n(dest, plain, plain_len);
	return 0;
}

const struct password_scheme scheme_plain_trunc = {
	.name = "PLAIN-TRUNC", .family = "PLAIN-TRUNC",
	.default_encoding = PASSWORD_ENCODING_NONE,
	.not_derivable = true,
	.verify = plain_trunc_verify,
	.generate = plain_trunc_generate,
};

/* ---- unsalted digests ---- */

static int digest_generate(const struct password_scheme *scheme,
			   const unsigned char *plain, size_t plain_len,
			   const char *user ATTR_UNUSED,
			   unsigned int rounds ATTR_UNUSED,
			   string_t *dest, const char **error_r)
{
	const char *digest_name = scheme->context;
	unsigned char digest[EVP_MAX_MD_SIZE];
	size_t size;

	if (str_eq(digest_name, "MD4")) {
		md4_get_digest(plain, plain_len, digest);
		size = MD4_DIGEST_SIZE;
	} else {
		size = password_digest2(digest_name, plain, plain_len,
					NULL, 0, digest);
		if (size == 0) {
			*error_r = password_error("OpenSSL %s digest failed",
						  digest_name);
			return -1;
		}
	}
	i_assert(size == scheme->raw_size);
	str_append_n(dest, digest, size);
	explicit_bzero(digest, sizeof(digest));
	return 0;
}

#define DIGEST_SCHEME(_name, _family, _digest, _size, _encoding) { \
	.name = _name, .family = _family, \
	.default_encoding = _encoding, .raw_size = _size, \
	.generate = digest_generate, .context = _digest, \
}
const struct password_scheme scheme_plain_md4 =
	DIGEST_SCHEME("PLAIN-MD4", "PLAIN-MD4", "MD4", 16, PASSWORD_ENCODING_HEX);
const struct password_scheme scheme_plain_md5 =
	DIGEST_SCHEME("PLAIN-MD5", "PLAIN-MD5", "MD5", 16, PASSWORD_ENCODING_HEX);
const struct password_scheme scheme_ldap_md5 =
	DIGEST_SCHEME("LDAP-MD5", "PLAIN-MD5", "MD5", 16, PASSWORD_ENCODING_BASE64);
const struct password_scheme scheme_sha =
	DIGEST_SCHEME("SHA", "SHA1", "SHA1", 20, PASSWORD_ENCODING_BASE64);
const struct password_scheme scheme_sha1 =
	DIGEST_SCHEME("SHA1", "SHA1", "SHA1", 20, PASSWORD_ENCODING_BASE64);
const struct password_scheme scheme_sha256 =
	DIGEST_SCHEME("SHA256", "SHA256", "SHA256", 32, PASSWORD_ENCODING_BASE64);
const struct password_scheme scheme_sha512 =
	DIGEST_SCHEME("SHA512", "SHA512", "SHA512", 64, PASSWORD_ENCODING_BASE64);

/* ---- salted digests: digest(pw || salt) || salt ---- */

struct salted_digest {
	const char *digest_name;
	size_t digest_size;
};

static int salted_verify(const struct password_scheme *scheme,
			 const unsigned char *plain, size_t plain_len,
			 const char *user ATTR_UNUSED,
			 const unsigned char *raw, size_t raw_len,
			 const char **error_r)
{
	const struct salted_digest *params = scheme->context;
	unsigned char digest[EVP_MAX_MD_SIZE];
	size_t size;
	bool equal;

	if (raw_len <= params->digest_size) {
		*error_r = password_error("%s password is too short",
					  scheme->name);
		return -1;
	}
	size = password_digest2(params->digest_name, plain, plain_len,
				raw + params->digest_size,
				raw_len - params->digest_size, digest);
	if (size != params->digest_size) {
		*error_r = password_error("OpenSSL %s digest failed",
					  params->digest_name);
		return -1;
	}
	equal = ct_memequal(digest, raw, size);
	explicit_bzero(digest, sizeof(digest));
	return equal ? 1 : 0;
}

static int salted_generate(const struct password_scheme *scheme,
			   const unsigned char *plain, size_t plain_len,
			   const char *user ATTR_UNUSED,
			   unsigned int rounds ATTR_UNUSED,
			   string_t *dest, const char **error_r)
{
	const struct salted_digest *params = scheme->context;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned char salt[SALTED_DIGEST_SALT_SIZE];
	size_t size;

	random_bytes(salt, sizeof(salt));
	size = password_digest2(params->digest_name, plain, plain_len,
				salt, sizeof(salt), digest);
	if (size != params->digest_size) {
		*error_r = password_error("OpenSSL %s digest failed",
					  params->digest_name);
		return -1;
	}
	str_append_n(dest, digest, size);
	str_append_n(dest, salt, sizeof(salt));
	explicit_bzero(digest, sizeof(digest));
	return 0;
}

static const struct salted_digest salted_md5 = { "MD5", 16 };
static const struct salted_digest salted_sha1 = { "SHA1", 20 };
static const struct salted_digest salted_sha256 = { "SHA256", 32 };
static const struct salted_digest salted_sha512 = { "SHA512", 64 };

#define SALTED_SCHEME(_name, _params) { \
	.name = _name, .family = _name, \
	.default_encoding = PASSWORD_ENCODING_BASE64, \
	.verify = salted_verify, .generate = salted_generate, \
	.context = &_params, \
}
const struct password_scheme scheme_smd5 = SALTED_SCHEME("SMD5", salted_md5);
const struct password_scheme scheme_ssha = SALTED_SCHEME("SSHA", salted_sha1);
const struct password_scheme scheme_ssha256 =
	SALTED_SCHEME("SSHA256", salted_sha256);
const struct password_scheme scheme_ssha512 =
	SALTED_SCHEME("SSHA512", salted_sha512);
