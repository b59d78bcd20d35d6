/* Password schemes: registry, {SCHEME} parsing, encodings, and the generic
   verify/generate/credentials paths. The schemes live in scheme-*.c. */
#include "lib.h"
#include "str.h"
#include "base64.h"
#include "hex.h"
#include "ct.h"
#include "randbytes.h"
#include "password-scheme-private.h"

#include <stdio.h>
#include <openssl/evp.h>

/* Longest scheme name we look at ("SCRAM-SHA-256.BASE64" is 20). */
#define SCHEME_NAME_MAX 64

/* In the order doveadm pw -l prints them (Dovecot 2.3.19). */
static const struct password_scheme *const password_schemes[] = {
	&scheme_sha1, &scheme_ssha512, &scheme_scram_sha256, &scheme_blf_crypt,
	&scheme_plain, &scheme_hmac_md5, &scheme_otp, &scheme_sha512,
	&scheme_sha, &scheme_des_crypt, &scheme_crypt, &scheme_ssha,
	&scheme_md5_crypt, &scheme_plain_md4, &scheme_plain_md5,
	&scheme_scram_sha1, &scheme_sha512_crypt, &scheme_clear,
	&scheme_cleartext,
#ifdef HAVE_ARGON2
	&scheme_argon2i, &scheme_argon2id,
#endif
	&scheme_ssha256, &scheme_md5, &scheme_pbkdf2, &scheme_sha256,
	&scheme_cram_md5, &scheme_plain_trunc, &scheme_sha256_crypt,
	&scheme_smd5, &scheme_digest_md5, &scheme_ldap_md5,
};

static const char *const password_scheme_name_list[] = {
	"SHA1", "SSHA512", "SCRAM-SHA-256", "BLF-CRYPT", "PLAIN", "HMAC-MD5",
	"OTP", "SHA512", "SHA", "DES-CRYPT", "CRYPT", "SSHA", "MD5-CRYPT",
	"PLAIN-MD4", "PLAIN-MD5", "SCRAM-SHA-1", "SHA512-CRYPT", "CLEAR",
	"CLEARTEXT",
#ifdef HAVE_ARGON2
	"ARGON2I", "ARGON2ID",
#endif
	"SSHA256", "MD5", "PBKDF2", "SHA256", "CRAM-MD5", "PLAIN-TRUNC",
	"SHA256-CRYPT", "SMD5", "DIGEST-MD5", "LDAP-MD5",
	NULL
};

static __thread char password_error_buf[512];

const char *password_error(const char *fmt, ...)
{
	char tmp[sizeof(password_error_buf)];
	va_list args;

	/* format via tmp: an argument may point to password_error_buf */
	va_start(args, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, args);
	va_end(args);
	memcpy(password_error_buf, tmp, sizeof(password_error_buf));
	return password_error_buf;
}

void password_random_salt_chars(char *buf, size_t size)
{
	static const char salt_chars[] =
		"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned char rnd[64];

	while (size > 0) {
		size_t n = size < sizeof(rnd) ? size : sizeof(rnd);

		random_bytes(rnd, n);
		/* 64 characters: byte % 64 is uniform */
		for (size_t i = 0; i < n; i++)
			buf[i] = salt_chars[rnd[i] % 64];
		buf += n;
		size -= n;
	}
}

size_t password_digest2(const char *digest_name,
			const void *a, size_t a_size,
			const void *b, size_t b_size,
			unsigned char *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const EVP_MD *md = EVP_get_digestbyname(digest_name);
	unsigned int len = 0;

	if (ctx == NULL)
		lib_panic(__FILE__, __LINE__, "EVP_MD_CTX_new() failed");
	if (md == NULL ||
	    EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, a, a_size) != 1 ||
	    (b_size > 0 && EVP_DigestUpdate(ctx, b, b_size) != 1) ||
	    EVP_DigestFinal_ex(ctx, out, &len) != 1)
		len = 0;
	EVP_MD_CTX_free(ctx);
	return len;
}

static const struct password_scheme *password_scheme_find(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(password_schemes); i++) {
		if (str_ieq(password_schemes[i]->name, name))
			return password_schemes[i];
	}
	return NULL;
}

const struct password_scheme *
password_scheme_lookup(const char *name, enum password_encoding *encoding_r,
		       bool *explicit_encoding_r)
{
	char base[SCHEME_NAME_MAX];
	const char *dot = strchr(name, '.');
	const struct password_scheme *scheme;
	size_t len = dot == NULL ? strlen(name) : (size_t)(dot - name);

	*explicit_encoding_r = false;
	if (len >= sizeof(base))
		return NULL;
	memcpy(base, name, len);
	base[len] = '\0';
	scheme = password_scheme_find(base);
	if (scheme == NULL)
		return NULL;

	if (dot == NULL) {
		*encoding_r = scheme->default_encoding;
		return scheme;
	}
	*explicit_encoding_r = true;
	if (str_ieq(dot + 1, "b64") || str_ieq(dot + 1, "base64"))
		*encoding_r = PASSWORD_ENCODING_BASE64;
	else if (str_ieq(dot + 1, "hex"))
		*encoding_r = PASSWORD_ENCODING_HEX;
	else
		return NULL;   /* unknown suffix: unknown scheme, as Dovecot */
	return scheme;
}

bool password_scheme_is_known(const char *scheme)
{
	enum password_encoding encoding;
	bool explicit_encoding;

	return password_scheme_lookup(scheme, &encoding,
				      &explicit_encoding) != NULL;
}

const char *const *password_scheme_names(void)
{
	return password_scheme_name_list;
}

const char *password_split_scheme(const char *stored, char *scheme_r,
				  size_t scheme_size)
{
	const char *end;
	size_t len;

	if (stored == NULL || stored[0] != '{')
		return NULL;
	end = strchr(stored, '}');
	if (end == NULL)
		return NULL;
	len = (size_t)(end - (stored + 1));
	if (scheme_size == 0 || len >= scheme_size)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char c = stored[1 + i];
		scheme_r[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
	}
	scheme_r[len] = '\0';
	return end + 1;
}

bool password_get_scheme(const char *stored, char *scheme_r, size_t scheme_size,
			 const char **data_r, size_t *data_len_r)
{
	const char *p, *end;
	size_t len;

	i_assert(scheme_size > 0);
	if (stored == NULL)
		return false;
	if (strncmp(stored, "$1$", 3) == 0 &&
	    (p = strchr(stored + 3, '$')) != NULL) {
		/* $1$<salt>$<hash>[$<ignored>] */
		end = strchr(p + 1, '$');
		snprintf(scheme_r, scheme_size, "%s", "MD5-CRYPT");
		*data_r = stored;
		*data_len_r = end != NULL ? (size_t)(end - stored) : strlen(stored);
		return true;
	}
	if (stored[0] != '{' || (end = strchr(stored, '}')) == NULL)
		return false;
	len = (size_t)(end - (stored + 1));
	if (len >= scheme_size)
		len = scheme_size - 1;
	memcpy(scheme_r, stored + 1, len);
	scheme_r[len] = '\0';
	*data_r = end + 1;
	*data_len_r = strlen(end + 1);
	return true;
}

int password_decode_guess(const char *data, size_t len, size_t raw_size,
			  unsigned char *out)
{
	size_t size;

	if (len == raw_size * 2 &&
	    hex_decode_buf(data, len, out, raw_size, &size) == 0)
		return 0;
	if (base64_decode_buf(data, len, out, raw_size, &size) == 0 &&
	    size == raw_size)
		return 0;
	return -1;
}

/* Decode into dest (a secure string). 1 ok, -1 error. */
static int
password_decode_into(const struct password_scheme *scheme,
		     enum password_encoding encoding, bool explicit_encoding,
		     const char *data, size_t len, string_t *dest,
		     const char **error_r)
{
	bool guessed = false;

	if (!explicit_encoding && encoding != PASSWORD_ENCODING_NONE &&
	    scheme->raw_size != 0) {
		/* No suffix and a fixed raw size: hex has exactly twice the
		   size, anything else is base64. */
		encoding = len == scheme->raw_size * 2 ?
			PASSWORD_ENCODING_HEX : PASSWORD_ENCODING_BASE64;
		guessed = true;
	}
	switch (encoding) {
	case PASSWORD_ENCODING_NONE:
		str_append_n(dest, data, len);
		break;
	case PASSWORD_ENCODING_HEX:
		if (hex_decode(dest, data, len) == 0)
			break;
		if (!guessed) {
			*error_r = "Input isn't valid HEX encoded data";
			return -1;
		}
		/* some lengths are valid hex and base64: try base64 too */
		str_truncate(dest, 0);
		/* fall through */
	case PASSWORD_ENCODING_BASE64:
		if (base64_decode(dest, data, len) < 0) {
			*error_r = "Input isn't valid base64 encoded data";
			return -1;
		}
		break;
	}
	if (scheme->raw_size != 0 && str_len(dest) != scheme->raw_size) {
		*error_r = password_error(
			"Input length isn't valid (%zu instead of %zu)",
			str_len(dest), scheme->raw_size);
		return -1;
	}
	return 1;
}

static void str_to_raw(string_t **str, unsigned char **raw_r, size_t *raw_len_r)
{
	*raw_len_r = str_len(*str);
	/* the buffer is NUL-terminated after len; the secure str wiped any
	   older copies while growing */
	*raw_r = (unsigned char *)str_free_without_data(str);
}

int password_decode(const char *data, size_t data_len, const char *scheme_name,
		    unsigned char **raw_r, size_t *raw_len_r,
		    const char **error_r)
{
	const struct password_scheme *scheme;
	enum password_encoding encoding;
	bool explicit_encoding;
	string_t *dest;

	scheme = password_scheme_lookup(scheme_name, &encoding,
					&explicit_encoding);
	if (scheme == NULL) {
		*error_r = "Unknown scheme";
		return 0;
	}
	dest = str_create_secure(data_len + 1);
	if (password_decode_into(scheme, encoding, explicit_encoding,
				 data, data_len, dest, error_r) < 0) {
		str_free(&dest);
		return -1;
	}
	str_to_raw(&dest, raw_r, raw_len_r);
	return 1;
}

static int
password_verify_scheme(const struct password_scheme *scheme,
		       const unsigned char *plain, size_t plain_len,
		       const char *user, const unsigned char *raw,
		       size_t raw_len, const char **error_r)
{
	int ret;

	if (scheme->verify != NULL) {
		ret = scheme->verify(scheme, plain, plain_len, user,
				     raw, raw_len, error_r);
	} else {
		/* generate the value again and compare */
		string_t *generated = str_create_secure(64);

		ret = scheme->generate(scheme, plain, plain_len, user, 0,
				       generated, error_r);
		if (ret == 0) {
			ret = ct_memequal_sized(str_data(generated),
						str_len(generated),
						raw, raw_len) ? 1 : 0;
		}
		str_free(&generated);
	}
	if (ret == 0)
		*error_r = "Password mismatch";
	return ret;
}

int password_verify_raw(const unsigned char *plain, size_t plain_len,
			const char *scheme_name, const char *user,
			const unsigned char *raw, size_t raw_len,
			const char **error_r)
{
	const struct password_scheme *scheme;
	enum password_encoding encoding;
	bool explicit_encoding;

	scheme = password_scheme_lookup(scheme_name, &encoding,
					&explicit_encoding);
	if (scheme == NULL) {
		*error_r = "Unknown scheme";
		return -1;
	}
	return password_verify_scheme(scheme, plain, plain_len, user,
				      raw, raw_len, error_r);
}

/* Find scheme and data of a stored password, falling back to
   default_scheme. */
static int
password_parse_stored(const char *stored, const char *default_scheme,
		      char scheme_r[SCHEME_NAME_MAX + 1],
		      const char **data_r, size_t *data_len_r,
		      const char **error_r)
{
	if (stored == NULL) {
		*error_r = "No stored password";
		return -1;
	}
	/* Dovecot takes "$1$salt$..." as MD5-CRYPT whatever the default
	   scheme; but PBKDF2's own format starts with "$1$" too. */
	if ((stored[0] == '{' || default_scheme == NULL ||
	     !str_ieq(default_scheme, "PBKDF2")) &&
	    password_get_scheme(stored, scheme_r, SCHEME_NAME_MAX + 1,
				data_r, data_len_r))
		return 0;
	if (default_scheme == NULL) {
		*error_r = "Missing {scheme} prefix from password "
			"and no default scheme";
		return -1;
	}
	snprintf(scheme_r, SCHEME_NAME_MAX + 1, "%s", default_scheme);
	*data_r = stored;
	*data_len_r = strlen(stored);
	return 0;
}

static const struct password_scheme *
password_parse_lookup(const char *stored, const char *default_scheme,
		      enum password_encoding *encoding_r,
		      bool *explicit_encoding_r,
		      char scheme_name[SCHEME_NAME_MAX + 1],
		      const char **data_r, size_t *data_len_r,
		      const char **error_r)
{
	const struct password_scheme *scheme;

	if (password_parse_stored(stored, default_scheme, scheme_name,
				  data_r, data_len_r, error_r) < 0)
		return NULL;
	scheme = password_scheme_lookup(scheme_name, encoding_r,
					explicit_encoding_r);
	if (scheme == NULL) {
		*error_r = password_error("Unknown scheme: %s", scheme_name);
		return NULL;
	}
	return scheme;
}

int password_verify(const unsigned char *plain, size_t plain_len,
		    const char *stored, const char *default_scheme,
		    const char *user, const char **error_r)
{
	const struct password_scheme *scheme;
	enum password_encoding encoding;
	bool explicit_encoding;
	char scheme_name[SCHEME_NAME_MAX + 1];
	const char *data, *error;
	size_t data_len;
	string_t *raw;
	int ret;

	scheme = password_parse_lookup(stored, default_scheme, &encoding,
				       &explicit_encoding, scheme_name,
				       &data, &data_len, error_r);
	if (scheme == NULL)
		return -1;

	raw = str_create_secure(data_len + 1);
	if (password_decode_into(scheme, encoding, explicit_encoding,
				 data, data_len, raw, &error) < 0) {
		*error_r = password_error("Invalid %s password: %s",
					  scheme->name, error);
		str_free(&raw);
		return -1;
	}
	ret = password_verify_scheme(scheme, plain, plain_len, user,
				     str_data(raw), str_len(raw), error_r);
	str_free(&raw);
	return ret;
}

bool password_verify_is_slow(const char *stored, const char *default_scheme)
{
	const struct password_scheme *scheme;
	enum password_encoding encoding;
	bool explicit_encoding;
	char scheme_name[SCHEME_NAME_MAX + 1];
	const char *data, *error;
	size_t data_len;

	scheme = password_parse_lookup(stored, default_scheme, &encoding,
				       &explicit_encoding, scheme_name,
				       &data, &data_len, &error);
	return scheme != NULL && scheme->slow;
}

/* Encode raw per encoding and append to dest. */
static void password_encode(enum password_encoding encoding,
			    const string_t *raw, string_t *dest)
{
	switch (encoding) {
	case PASSWORD_ENCODING_NONE:
		str_append_n(dest, str_data(raw), str_len(raw));
		break;
	case PASSWORD_ENCODING_BASE64:
		base64_encode(dest, str_data(raw), str_len(raw));
		break;
	case PASSWORD_ENCODING_HEX:
		hex_encode(dest, str_data(raw), str_len(raw));
		break;
	}
}

int password_generate(const unsigned char *plain, size_t plain_len,
		      const char *scheme_name, const char *user,
		      unsigned int rounds, char **result_r,
		      const char **error_r)
{
	const struct password_scheme *scheme;
	enum password_encoding encoding;
	bool explicit_encoding;
	string_t *raw, *result;

	scheme = password_scheme_lookup(scheme_name, &encoding,
					&explicit_encoding);
	if (scheme == NULL) {
		*error_r = password_error("Unknown scheme: %s", scheme_name);
		return -1;
	}
	raw = str_create_secure(128);
	if (scheme->generate(scheme, plain, plain_len, user, rounds,
			     raw, error_r) < 0) {
		str_free(&raw);
		return -1;
	}
	result = str_create_secure(size_add(strlen(scheme_name) + 3,
					    size_mul(str_len(raw), 2)));
	str_append_c(result, '{');
	for (const char *p = scheme_name; *p != '\0'; p++) {
		str_append_c(result, *p >= 'a' && *p <= 'z' ?
			     (char)(*p - 'a' + 'A') : *p);
	}
	str_append_c(result, '}');
	password_encode(encoding, raw, result);
	str_free(&raw);
	*result_r = str_free_without_data(&result);
	return 0;
}

int password_get_credentials(const char *stored, const char *default_scheme,
			     const char *wanted_scheme, const char *user,
			     unsigned char **raw_r, size_t *raw_len_r,
			     const char **error_r)
{
	const struct password_scheme *scheme, *wanted;
	enum password_encoding encoding, wanted_encoding;
	bool explicit_encoding, wanted_explicit;
	char scheme_name[SCHEME_NAME_MAX + 1];
	const char *data, *error;
	size_t data_len;
	string_t *raw, *derived;

	scheme = password_parse_lookup(stored, default_scheme, &encoding,
				       &explicit_encoding, scheme_name,
				       &data, &data_len, error_r);
	if (scheme == NULL)
		return -1;
	wanted = password_scheme_lookup(wanted_scheme, &wanted_encoding,
					&wanted_explicit);
	if (wanted == NULL) {
		*error_r = password_error("Unknown scheme: %s", wanted_scheme);
		return -1;
	}
	if (!str_eq(scheme->family, wanted->family) &&
	    (!str_eq(scheme->family, "PLAIN") || wanted->not_derivable))
		return 0;

	raw = str_create_secure(data_len + 1);
	if (password_decode_into(scheme, encoding, explicit_encoding,
				 data, data_len, raw, &error) < 0) {
		*error_r = password_error("Invalid %s password: %s",
					  scheme->name, error);
		str_free(&raw);
		return -1;
	}
	if (str_eq(scheme->family, wanted->family)) {
		str_to_raw(&raw, raw_r, raw_len_r);
		return 1;
	}

	/* plaintext: derive the wanted credentials */
	derived = str_create_secure(128);
	if (wanted->generate(wanted, str_data(raw), str_len(raw), user, 0,
			     derived, error_r) < 0) {
		str_free(&raw);
		str_free(&derived);
		return -1;
	}
	str_free(&raw);
	str_to_raw(&derived, raw_r, raw_len_r);
	return 1;
}
