/* {PBKDF2}$1$<salt>$<rounds>$<40 hex>: PBKDF2-HMAC-SHA1 (RFC 8018 5.2),
   dkLen 20. The salt is used as the ASCII text it is, not decoded. */
#include "lib.h"
#include "str.h"
#include "ct.h"
#include "hex.h"
#include "password-scheme-private.h"

#include <limits.h>
#include <openssl/evp.h>

#define PBKDF2_KEY_SIZE 20
#define PBKDF2_SALT_LEN 16
#define PBKDF2_ROUNDS_DEFAULT 5000

static int pbkdf2_run(const unsigned char *plain, size_t plain_len,
		      const char *salt, size_t salt_len, unsigned int rounds,
		      unsigned char key_r[PBKDF2_KEY_SIZE])
{
	if (plain_len > INT_MAX || salt_len > INT_MAX || rounds > INT_MAX ||
	    rounds == 0)
		return -1;
	if (PKCS5_PBKDF2_HMAC((const char *)plain, (int)plain_len,
			      (const unsigned char *)salt, (int)salt_len,
			      (int)rounds, EVP_sha1(), PBKDF2_KEY_SIZE,
			      key_r) != 1)
		return -1;
	return 0;
}

static int pbkdf2_verify(const struct password_scheme *scheme ATTR_UNUSED,
			 const unsigned char *plain, size_t plain_len,
			 const char *user ATTR_UNUSED,
			 const unsigned char *raw, size_t raw_len,
			 const char **error_r)
{
	const char *p = (const char *)raw, *end = p + raw_len;
	const char *salt, *salt_end, *rounds_start, *rounds_end;
	unsigned char stored[PBKDF2_KEY_SIZE], key[PBKDF2_KEY_SIZE];
	char rounds_str[16];
	unsigned int rounds;
	size_t size;
	bool equal;

	/* $1$salt$rounds$hash */
	if (raw_len < 3 || memcmp(p, "$1$", 3) != 0) {
		*error_r = "Invalid PBKDF2 passdb entry prefix";
		return -1;
	}
	salt = p + 3;
	salt_end = memchr(salt, '$', (size_t)(end - salt));
	rounds_start = salt_end == NULL ? NULL : salt_end + 1;
	rounds_end = rounds_start == NULL ? NULL :
		memchr(rounds_start, '$', (size_t)(end - rounds_start));
	if (rounds_end == NULL ||
	    memchr(rounds_end + 1, '$', (size_t)(end - rounds_end - 1)) != NULL ||
	    memchr(raw, '\0', raw_len) != NULL ||
	    (size_t)(rounds_end - rounds_start) >= sizeof(rounds_str)) {
		*error_r = "Invalid PBKDF2 passdb entry format";
		return -1;
	}
	memcpy(rounds_str, rounds_start, (size_t)(rounds_end - rounds_start));
	rounds_str[rounds_end - rounds_start] = '\0';
	if (str_to_uint(rounds_str, &rounds) < 0 || rounds == 0 ||
	    rounds > INT_MAX) {
		*error_r = "Invalid PBKDF2 passdb entry format";
		return -1;
	}
	if ((size_t)(end - rounds_end - 1) != PBKDF2_KEY_SIZE * 2 ||
	    hex_decode_buf(rounds_end + 1, PBKDF2_KEY_SIZE * 2, stored,
			   sizeof(stored), &size) < 0) {
		*error_r = "PBKDF2 hash not 160bit hex-encoded";
		return -1;
	}
	if (pbkdf2_run(plain, plain_len, salt, (size_t)(salt_end - salt),
		       rounds, key) < 0) {
		*error_r = "PBKDF2 computation failed";
		return -1;
	}
	equal = ct_memequal(key, stored, sizeof(key));
	explicit_bzero(key, sizeof(key));
	return equal ? 1 : 0;
}

static int pbkdf2_generate(const struct password_scheme *scheme ATTR_UNUSED,
			   const unsigned char *plain, size_t plain_len,
			   const char *user ATTR_UNUSED, unsigned int rounds,
			   string_t *dest, const char **error_r)
{
	char salt[PBKDF2_SALT_LEN + 1];
	unsigned char key[PBKDF2_KEY_SIZE];

	if (rounds == 0)
		rounds = PBKDF2_ROUNDS_DEFAULT;
	if (rounds > INT_MAX)
		rounds = INT_MAX;
	password_random_salt_chars(salt, PBKDF2_SALT_LEN);
	salt[PBKDF2_SALT_LEN] = '\0';
	if (pbkdf2_run(plain, plain_len, salt, PBKDF2_SALT_LEN, rounds,
		       key) < 0) {
		*error_r = "PBKDF2 computation failed";
		return -1;
	}
	str_printfa(dest, "$1$%s$%u$", salt, rounds);
	hex_encode(dest, key, sizeof(key));
	explicit_bzero(key, sizeof(key));
	return 0;
}

const struct password_scheme scheme_pbkdf2 = {
	.name = "PBKDF2", .family = "PBKDF2",
	.default_encoding = PASSWORD_ENCODING_NONE, .slow = true,
	.verify = pbkdf2_verify, .generate = pbkdf2_generate,
};
