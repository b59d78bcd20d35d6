/* {DIGEST-MD5}: MD5(user ":" realm ":" password), the HA1 precursor of
   RFC 2831 2.1.2.1. The user name "user@realm" is split at the last '@'
   (no '@': empty realm), so the hash is bound to user and realm. */
#include "lib.h"
#include "str.h"
#include "password-scheme-private.h"

#include <openssl/evp.h>

#define DIGEST_MD5_SIZE 16

static int digest_md5_generate(const struct password_scheme *scheme ATTR_UNUSED,
			       const unsigned char *plain, size_t plain_len,
			       const char *user, unsigned int rounds ATTR_UNUSED,
			       string_t *dest, const char **error_r)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	const char *realm;
	string_t *prefix;
	size_t size;

	if (user == NULL) {
		*error_r = "DIGEST-MD5 needs the user name (user@realm)";
		return -1;
	}
	realm = strrchr(user, '@');
	prefix = str_create_secure(strlen(user) + 2);
	if (realm != NULL) {
		str_append_n(prefix, user, (size_t)(realm - user));
		realm++;
	} else {
		str_append(prefix, user);
		realm = "";
	}
	str_append_c(prefix, ':');
	str_append(prefix, realm);
	str_append_c(prefix, ':');

	size = password_digest2("MD5", str_data(prefix), str_len(prefix),
				plain, plain_len, digest);
	str_free(&prefix);
	if (size != DIGEST_MD5_SIZE) {
		*error_r = "OpenSSL MD5 digest failed";
		return -1;
	}
	str_append_n(dest, digest, DIGEST_MD5_SIZE);
	explicit_bzero(digest, sizeof(digest));
	return 0;
}

const struct password_scheme scheme_digest_md5 = {
	.name = "DIGEST-MD5", .family = "DIGEST-MD5",
	.default_encoding = PASSWORD_ENCODING_HEX,
	.raw_size = DIGEST_MD5_SIZE,
	.generate = digest_md5_generate,
};
