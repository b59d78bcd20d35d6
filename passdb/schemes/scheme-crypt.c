/* crypt(3) families through libxcrypt's reentrant crypt_rn():
   CRYPT, DES-CRYPT, MD5-CRYPT (and {MD5}), SHA256-CRYPT, SHA512-CRYPT,
   BLF-CRYPT. Verification of every family is crypt(pw, stored) == stored,
   so any hash libxcrypt knows ($1$, $5$, $6$, $2a/b/y$, $y$, DES, ...)
   verifies under any of these names, as in Dovecot. */
#include "lib.h"
#include "str.h"
#include "ct.h"
#include "randbytes.h"
#include "password-scheme-private.h"

#include <crypt.h>
#include <stdio.h>
#include <openssl/evp.h>

/* Limits as doveadm applies them to -r. */
#define BLF_COST_DEFAULT 5
#define BLF_COST_MIN 4
#define BLF_COST_MAX 31
#define SHA_CRYPT_ROUNDS_DEFAULT 5000
#define SHA_CRYPT_ROUNDS_MIN 1000
#define SHA_CRYPT_ROUNDS_MAX 999999999
#define SHA_CRYPT_SALT_LEN 16
#define MD5_CRYPT_SALT_LEN 8
#define DES_CRYPT_SALT_LEN 2
#define BLF_SALT_BYTES 16
/* bcrypt only uses the first 72 bytes of the password. */
#define BLF_MAX_PASSWORD_LEN 72

enum crypt_family {
	CRYPT_FAMILY_DES,
	CRYPT_FAMILY_MD5,
	CRYPT_FAMILY_SHA256,
	CRYPT_FAMILY_SHA512,
	CRYPT_FAMILY_BLF,
};

struct crypt_params {
	enum crypt_family family;
};

/* Run crypt_rn(plain, setting). Returns a malloc()ed hash, or NULL with
   errno set (libxcrypt refuses the setting or the passphrase). */
static char *crypt_run(const unsigned char *plain, size_t plain_len,
		       const char *setting)
{
	struct crypt_data *data;
	char *phrase, *out, *result = NULL;
	int saved_errno;

	if (memchr(plain, '\0', plain_len) != NULL) {
		/* crypt() takes a C string */
		errno = EINVAL;
		return NULL;
	}
	if (strncmp(setting, "$2", 2) == 0 && plain_len > BLF_MAX_PASSWORD_LEN) {
		/* bcrypt ignores the rest anyway; libxcrypt would refuse
		   passphrases over CRYPT_MAX_PASSPHRASE_SIZE */
		plain_len = BLF_MAX_PASSWORD_LEN;
	}
	phrase = x_malloc(plain_len + 1);
	memcpy(phrase, plain, plain_len);
	data = x_malloc(sizeof(*data));   /* zeroed: "initialized" = 0 */

	errno = 0;
	out = crypt_rn(phrase, setting, data, (int)sizeof(*data));
	saved_errno = errno;
	if (out != NULL && out[0] != '*')
		result = x_strdup(out);
	else if (saved_errno == 0)
		saved_errno = EINVAL;

	x_free_secret(phrase, plain_len + 1);
	x_free_secret(data, sizeof(*data));
	errno = saved_errno;
	return result;
}

static int crypt_verify(const struct password_scheme *scheme ATTR_UNUSED,
			const unsigned char *plain, size_t plain_len,
			const char *user ATTR_UNUSED,
			const unsigned char *raw, size_t raw_len,
			const char **error_r ATTR_UNUSED)
{
	char *setting, *hash;
	bool equal;

	/* An empty hash would make some crypt() implementations return an
	   empty string: never a match. */
	if (raw_len == 0 || memchr(raw, '\0', raw_len) != NULL)
		return 0;
	setting = x_strndup((const char *)raw, raw_len);
	hash = crypt_run(plain, plain_len, setting);
	free(setting);
	if (hash == NULL) {
		/* invalid setting or unusable passphrase: like crypt()
		   returning "*0", a mismatch */
		return 0;
	}
	equal = ct_memequal_sized(hash, strlen(hash), raw, raw_len);
	x_free_secret(hash, strlen(hash));
	return equal ? 1 : 0;
}

static int crypt_generate(const struct password_scheme *scheme,
			  const unsigned char *plain, size_t plain_len,
			  const char *user ATTR_UNUSED, unsigned int rounds,
			  string_t *dest, const char **error_r)
{
	const struct crypt_params *params = scheme->context;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	char salt[SHA_CRYPT_SALT_LEN + 1];
	unsigned char rbytes[BLF_SALT_BYTES];
	char *hash;

	switch (params->family) {
	case CRYPT_FAMILY_DES:
		password_random_salt_chars(salt, DES_CRYPT_SALT_LEN);
		salt[DES_CRYPT_SALT_LEN] = '\0';
		snprintf(setting, sizeof(setting), "%s", salt);
		break;
	case CRYPT_FAMILY_MD5:
		password_random_salt_chars(salt, MD5_CRYPT_SALT_LEN);
		salt[MD5_CRYPT_SALT_LEN] = '\0';
		snprintf(setting, sizeof(setting), "$1$%s", salt);
		break;
	case CRYPT_FAMILY_SHA256:
	case CRYPT_FAMILY_SHA512: {
		const char *prefix =
			params->family == CRYPT_FAMILY_SHA256 ? "$5$" : "$6$";

		if (rounds == 0)
			rounds = SHA_CRYPT_ROUNDS_DEFAULT;
		else if (rounds < SHA_CRYPT_ROUNDS_MIN)
			rounds = SHA_CRYPT_ROUNDS_MIN;
		else if (rounds > SHA_CRYPT_ROUNDS_MAX)
			rounds = SHA_CRYPT_ROUNDS_MAX;
		password_random_salt_chars(salt, SHA_CRYPT_SALT_LEN);
		salt[SHA_CRYPT_SALT_LEN] = '\0';
		/* the default count is left out of the string */
		if (rounds == SHA_CRYPT_ROUNDS_DEFAULT)
			snprintf(setting, sizeof(setting), "%s%s", prefix, salt);
		else
			snprintf(setting, sizeof(setting), "%srounds=%u$%s",
				 prefix, rounds, salt);
		break;
	}
	case CRYPT_FAMILY_BLF:
		if (rounds == 0)
			rounds = BLF_COST_DEFAULT;
		else if (rounds < BLF_COST_MIN)
			rounds = BLF_COST_MIN;
		else if (rounds > BLF_COST_MAX)
			rounds = BLF_COST_MAX;
		random_bytes(rbytes, sizeof(rbytes));
		if (crypt_gensalt_rn("$2y$", rounds, (const char *)rbytes,
				     (int)sizeof(rbytes), setting,
				     (int)sizeof(setting)) == NULL) {
			*error_r = password_error(
				"crypt_gensalt_rn($2y$, %u) failed: %m", rounds);
			return -1;
		}
		break;
	}

	hash = crypt_run(plain, plain_len, setting);
	if (hash == NULL) {
		if (memchr(plain, '\0', plain_len) != NULL) {
			*error_r = password_error(
				"%s: the password contains a NUL byte",
				scheme->name);
		} else {
			*error_r = password_error("crypt() failed for %s: %m",
						  scheme->name);
		}
		return -1;
	}
	str_append(dest, hash);
	x_free_secret(hash, strlen(hash));
	return 0;
}

static const struct crypt_params crypt_des = { CRYPT_FAMILY_DES };
static const struct crypt_params crypt_md5 = { CRYPT_FAMILY_MD5 };
static const struct crypt_params crypt_sha256 = { CRYPT_FAMILY_SHA256 };
static const struct crypt_params crypt_sha512 = { CRYPT_FAMILY_SHA512 };
static const struct crypt_params crypt_blf = { CRYPT_FAMILY_BLF };

#define CRYPT_SCHEME(_name, _family, _params) { \
	.name = _name, .family = _family, \
	.default_encoding = PASSWORD_ENCODING_NONE, .slow = true, \
	.verify = crypt_verify, .generate = crypt_generate, \
	.context = &_params, \
}
/* Dovecot 2.3 generates bcrypt for plain CRYPT (<= 2.2: DES). */
const struct password_scheme scheme_crypt =
	CRYPT_SCHEME("CRYPT", "CRYPT", crypt_blf);
const struct password_scheme scheme_des_crypt =
	CRYPT_SCHEME("DES-CRYPT", "DES-CRYPT", crypt_des);
const struct password_scheme scheme_md5_crypt =
	CRYPT_SCHEME("MD5-CRYPT", "MD5-CRYPT", crypt_md5);
const struct password_scheme scheme_sha256_crypt =
	CRYPT_SCHEME("SHA256-CRYPT", "SHA256-CRYPT", crypt_sha256);
const struct password_scheme scheme_sha512_crypt =
	CRYPT_SCHEME("SHA512-CRYPT", "SHA512-CRYPT", crypt_sha512);
const struct password_scheme scheme_blf_crypt =
	CRYPT_SCHEME("BLF-CRYPT", "BLF-CRYPT", crypt_blf);

/* {MD5} is MD5-CRYPT, but Dovecot also accepts a PLAIN-MD5 value in it
   (hex or base64). */
static int md5_verify(const struct password_scheme *scheme,
		      const unsigned char *plain, size_t plain_len,
		      const char *user,
		      const unsigned char *raw, size_t raw_len,
		      const char **error_r)
{
	unsigned char stored[16], digest[EVP_MAX_MD_SIZE];
	bool equal;

	if (raw_len >= 3 && memcmp(raw, "$1$", 3) == 0) {
		return crypt_verify(scheme, plain, plain_len, user,
				    raw, raw_len, error_r);
	}
	if (memchr(raw, '\0', raw_len) != NULL ||
	    password_decode_guess((const char *)raw, raw_len,
				  sizeof(stored), stored) < 0) {
		*error_r = "Not a valid MD5-CRYPT or PLAIN-MD5 password";
		return -1;
	}
	if (password_digest2("MD5", plain, plain_len, NULL, 0, digest) != 16) {
		*error_r = "OpenSSL MD5 digest failed";
		return -1;
	}
	equal = ct_memequal(digest, stored, sizeof(stored));
	explicit_bzero(digest, sizeof(digest));
	return equal ? 1 : 0;
}

const struct password_scheme scheme_md5 = {
	.name = "MD5", .family = "MD5-CRYPT",
	.default_encoding = PASSWORD_ENCODING_NONE, .slow = true,
	.verify = md5_verify, .generate = crypt_generate,
	.context = &crypt_md5,
};
