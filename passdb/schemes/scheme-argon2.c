/* {ARGON2I} / {ARGON2ID}: the PHC string format
   "$argon2i$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt b64>$<hash b64>"
   (base64 without padding) through libargon2. Dovecot makes these with
   libsodium; the strings are the same. The variant is taken from the
   string, so an $argon2id$ value under {ARGON2I} verifies too (as with
   libsodium's crypto_pwhash_str_verify). */
#include "lib.h"
#include "str.h"
#include "randbytes.h"
#include "password-scheme-private.h"

#ifdef HAVE_ARGON2
#include <argon2.h>

#define ARGON2_SALT_SIZE 16
#define ARGON2_HASH_SIZE 32
#define ARGON2_LANES 1
/* libsodium refuses argon2i with fewer passes */
#define ARGON2I_PASSES_MIN 3

struct argon2_params {
	argon2_type type;
};

static const struct argon2_params argon2i_params = { Argon2_i };
static const struct argon2_params argon2id_params = { Argon2_id };

/* Passes and memory (KiB) for doveadm's -r, as Dovecot 2.3 chooses them
   from libsodium's interactive/moderate/sensitive limits. */
static int argon2_cost(argon2_type type, unsigned int rounds,
		       uint32_t *passes_r, uint32_t *memory_kib_r,
		       const char **error_r)
{
	if (type == Argon2_i) {
		if (rounds == 0)
			rounds = 4;
		if (rounds < ARGON2I_PASSES_MIN) {
			*error_r = password_error(
				"ARGON2I needs at least %u rounds, not %u",
				ARGON2I_PASSES_MIN, rounds);
			return -1;
		}
		*passes_r = rounds;
		if (rounds >= 8)
			*memory_kib_r = 512 * 1024;
		else if (rounds >= 6)
			*memory_kib_r = 128 * 1024;
		else
			*memory_kib_r = 32 * 1024;
	} else {
		/* memory from the requested rounds, passes at least 3 */
		if (rounds >= 4)
			*memory_kib_r = 1024 * 1024;
		else if (rounds == 3)
			*memory_kib_r = 256 * 1024;
		else
			*memory_kib_r = 64 * 1024;
		*passes_r = rounds < 3 ? 3 : rounds;
	}
	return 0;
}

static int argon2_scheme_verify(const struct password_scheme *scheme,
				const unsigned char *plain, size_t plain_len,
				const char *user ATTR_UNUSED,
				const unsigned char *raw, size_t raw_len,
				const char **error_r)
{
	argon2_type type;
	char *encoded;
	int ret;

	if (raw_len > 9 && memcmp(raw, "$argon2i$", 9) == 0)
		type = Argon2_i;
	else if (raw_len > 10 && memcmp(raw, "$argon2id$", 10) == 0)
		type = Argon2_id;
	else if (raw_len > 9 && memcmp(raw, "$argon2d$", 9) == 0)
		type = Argon2_d;
	else {
		*error_r = password_error("Invalid %s password: "
					  "not an $argon2i$/$argon2id$ string",
					  scheme->name);
		return -1;
	}
	if (memchr(raw, '\0', raw_len) != NULL) {
		*error_r = password_error("Invalid %s password", scheme->name);
		return -1;
	}
	encoded = x_strndup((const char *)raw, raw_len);
	ret = argon2_verify(encoded, plain, plain_len, type);
	free(encoded);
	if (ret == ARGON2_OK)
		return 1;
	if (ret == ARGON2_VERIFY_MISMATCH)
		return 0;
	*error_r = password_error("Invalid %s password: %s", scheme->name,
				  argon2_error_message(ret));
	return -1;
}

static int argon2_scheme_generate(const struct password_scheme *scheme,
				  const unsigned char *plain, size_t plain_len,
				  const char *user ATTR_UNUSED,
				  unsigned int rounds, string_t *dest,
				  const char **error_r)
{
	const struct argon2_params *params = scheme->context;
	unsigned char salt[ARGON2_SALT_SIZE], hash[ARGON2_HASH_SIZE];
	uint32_t passes, memory_kib;
	size_t encoded_len;
	char *encoded;
	int ret;

	if (argon2_cost(params->type, rounds, &passes, &memory_kib,
			error_r) < 0)
		return -1;
	random_bytes(salt, sizeof(salt));
	encoded_len = argon2_encodedlen(passes, memory_kib, ARGON2_LANES,
					sizeof(salt), sizeof(hash),
					params->type);
	encoded = x_malloc(encoded_len + 1);
	ret = argon2_hash(passes, memory_kib, ARGON2_LANES, plain, plain_len,
			  salt, sizeof(salt), hash, sizeof(hash),
			  encoded, encoded_len + 1, params->type,
			  ARGON2_VERSION_13);
	explicit_bzero(hash, sizeof(hash));
	if (ret != ARGON2_OK) {
		*error_r = password_error("argon2_hash(%s) failed: %s",
					  scheme->name,
					  argon2_error_message(ret));
		free(encoded);
		return -1;
	}
	str_append(dest, encoded);
	free(encoded);
	return 0;
}

#define ARGON2_SCHEME(_name, _params) { \
	.name = _name, .family = _name, \
	.default_encoding = PASSWORD_ENCODING_NONE, .slow = true, \
	.verify = argon2_scheme_verify, .generate = argon2_scheme_generate, \
	.context = &_params, \
}
const struct password_scheme scheme_argon2i =
	ARGON2_SCHEME("ARGON2I", argon2i_params);
const struct password_scheme scheme_argon2id =
	ARGON2_SCHEME("ARGON2ID", argon2id_params);

#endif
