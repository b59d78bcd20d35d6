/* {OTP}: RFC 2289 one-time password state "<algo> <seq> <seed> <hash>".
   Verifying a plaintext passphrase recomputes S(seq) from it. */
#include "lib.h"
#include "str.h"
#include "ct.h"
#include "hex.h"
#include "md4.h"
#include "randbytes.h"
#include "otp.h"
#include "password-scheme-private.h"

#include <stdio.h>
#include <openssl/evp.h>

/* What doveadm pw -s OTP creates. */
#define OTP_DEFAULT_ALGORITHM OTP_ALGORITHM_SHA1
#define OTP_DEFAULT_SEQUENCE 1024
#define OTP_GENERATED_SEED_BYTES 8

static const char *const otp_algorithm_names[] = {
	[OTP_ALGORITHM_MD4] = "md4",
	[OTP_ALGORITHM_MD5] = "md5",
	[OTP_ALGORITHM_SHA1] = "sha1",
};

int otp_algorithm_parse(const char *name, enum otp_algorithm *algorithm_r)
{
	for (unsigned int i = 0; i < N_ELEMENTS(otp_algorithm_names); i++) {
		if (str_ieq(name, otp_algorithm_names[i])) {
			*algorithm_r = (enum otp_algorithm)i;
			return 0;
		}
	}
	return -1;
}

const char *otp_algorithm_name(enum otp_algorithm algorithm)
{
	i_assert((unsigned int)algorithm < N_ELEMENTS(otp_algorithm_names));
	return otp_algorithm_names[algorithm];
}

void otp_fold_hash(enum otp_algorithm algorithm, const void *data,
		   size_t size, unsigned char result_r[OTP_HASH_SIZE])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int i;

	switch (algorithm) {
	case OTP_ALGORITHM_MD4:
	case OTP_ALGORITHM_MD5:
		if (algorithm == OTP_ALGORITHM_MD4)
			md4_get_digest(data, size, digest);
		else if (password_digest2("MD5", data, size, NULL, 0,
					  digest) != 16)
			lib_panic(__FILE__, __LINE__, "OpenSSL MD5 failed");
		/* RFC 2289 6.0: XOR the two halves */
		for (i = 0; i < OTP_HASH_SIZE; i++)
			result_r[i] = digest[i] ^ digest[i + 8];
		break;
	case OTP_ALGORITHM_SHA1: {
		uint32_t w[5], w0, w1;

		if (password_digest2("SHA1", data, size, NULL, 0,
				     digest) != 20)
			lib_panic(__FILE__, __LINE__, "OpenSSL SHA1 failed");
		/* RFC 2289 appendix A: fold the five big-endian words into
		   two, output little-endian (the reference code's byte
		   order, which the RFC's test vectors use) */
		for (i = 0; i < 5; i++) {
			w[i] = (uint32_t)digest[i * 4] << 24 |
				(uint32_t)digest[i * 4 + 1] << 16 |
				(uint32_t)digest[i * 4 + 2] << 8 |
				digest[i * 4 + 3];
		}
		w0 = w[0] ^ w[2] ^ w[4];
		w1 = w[1] ^ w[3];
		for (i = 0; i < 4; i++) {
			result_r[i] = (unsigned char)(w0 >> (8 * i));
			result_r[4 + i] = (unsigned char)(w1 >> (8 * i));
		}
		explicit_bzero(w, sizeof(w));
		break;
	}
	}
	explicit_bzero(digest, sizeof(digest));
}

void otp_compute(enum otp_algorithm algorithm, const char *seed,
		 const unsigned char *passphrase, size_t passphrase_len,
		 unsigned int seq, unsigned char result_r[OTP_HASH_SIZE])
{
	string_t *input = str_create_secure(strlen(seed) + passphrase_len + 1);

	/* RFC 2289 6.0: the seed is case-insensitive: hash it lower-case */
	for (const char *p = seed; *p != '\0'; p++) {
		str_append_c(input, *p >= 'A' && *p <= 'Z' ?
			     (char)(*p - 'A' + 'a') : *p);
	}
	str_append_n(input, passphrase, passphrase_len);
	otp_fold_hash(algorithm, str_data(input), str_len(input), result_r);
	str_free(&input);
	for (unsigned int i = 0; i < seq; i++)
		otp_fold_hash(algorithm, result_r, OTP_HASH_SIZE, result_r);
}

static bool otp_is_lws(char c)
{
	return c == ' ' || c == '\t';
}

int otp_state_parse(const char *data, size_t size, struct otp_state *state_r)
{
	const char *p = data, *end = data + size, *start;
	char word[16], hex[OTP_HASH_SIZE * 2];
	size_t len, hex_len = 0, decoded;

	memset(state_r, 0, sizeof(*state_r));
	if (memchr(data, '\0', size) != NULL)
		return -1;

	/* algorithm */
	for (start = p; p < end && !otp_is_lws(*p); p++) ;
	len = (size_t)(p - start);
	if (p == end || len == 0 || len >= sizeof(word))
		return -1;
	memcpy(word, start, len);
	word[len] = '\0';
	if (otp_algorithm_parse(word, &state_r->algorithm) < 0)
		return -1;
	p++;

	/* sequence */
	for (start = p; p < end && *p >= '0' && *p <= '9'; p++) ;
	len = (size_t)(p - start);
	if (p == end || !otp_is_lws(*p) || len == 0 || len >= sizeof(word))
		return -1;
	memcpy(word, start, len);
	word[len] = '\0';
	if (str_to_uint(word, &state_r->seq) < 0 ||
	    state_r->seq > OTP_MAX_SEQUENCE)
		return -1;
	p++;

	/* seed: 1-16 alphanumerics */
	for (len = 0; p < end && len < OTP_MAX_SEED_LEN &&
		     ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z')); p++, len++) {
		state_r->seed[len] = *p >= 'A' && *p <= 'Z' ?
			(char)(*p - 'A' + 'a') : *p;
	}
	state_r->seed[len] = '\0';
	if (len == 0 || p == end || *p != ' ')
		return -1;
	p++;

	/* hash: 16 hex digits, spaces/tabs allowed between them */
	for (; p < end && hex_len < sizeof(hex); p++) {
		if (hex_digit_value(*p) >= 0)
			hex[hex_len++] = *p;
		else if (!otp_is_lws(*p))
			return -1;
	}
	for (; p < end; p++) {
		if (!otp_is_lws(*p))
			return -1;
	}
	if (hex_len != sizeof(hex) ||
	    hex_decode_buf(hex, hex_len, state_r->hash, sizeof(state_r->hash),
			   &decoded) < 0)
		return -1;
	return 0;
}

char *otp_state_format(const struct otp_state *state)
{
	char hex[OTP_HASH_SIZE * 2 + 1];

	hex_encode_buf(hex, sizeof(hex), state->hash, sizeof(state->hash));
	return x_printf("%s %u %s %s", otp_algorithm_name(state->algorithm),
			state->seq, state->seed, hex);
}

static int otp_verify(const struct password_scheme *scheme ATTR_UNUSED,
		      const unsigned char *plain, size_t plain_len,
		      const char *user ATTR_UNUSED,
		      const unsigned char *raw, size_t raw_len,
		      const char **error_r)
{
	struct otp_state state;
	unsigned char hash[OTP_HASH_SIZE];
	bool equal;

	if (otp_state_parse((const char *)raw, raw_len, &state) < 0) {
		*error_r = "Invalid OTP data in passdb";
		return -1;
	}
	otp_compute(state.algorithm, state.seed, plain, plain_len,
		    state.seq, hash);
	equal = ct_memequal(hash, state.hash, sizeof(hash));
	explicit_bzero(hash, sizeof(hash));
	explicit_bzero(&state, sizeof(state));
	return equal ? 1 : 0;
}

static int otp_generate(const struct password_scheme *scheme ATTR_UNUSED,
			const unsigned char *plain, size_t plain_len,
			const char *user ATTR_UNUSED,
			unsigned int rounds ATTR_UNUSED,
			string_t *dest, const char **error_r ATTR_UNUSED)
{
	struct otp_state state;
	unsigned char seed[OTP_GENERATED_SEED_BYTES];
	char *formatted;

	memset(&state, 0, sizeof(state));
	state.algorithm = OTP_DEFAULT_ALGORITHM;
	state.seq = OTP_DEFAULT_SEQUENCE;
	random_bytes(seed, sizeof(seed));
	hex_encode_buf(state.seed, sizeof(state.seed), seed, sizeof(seed));
	otp_compute(state.algorithm, state.seed, plain, plain_len,
		    state.seq, state.hash);
	formatted = otp_state_format(&state);
	str_append(dest, formatted);
	x_free_secret(formatted, strlen(formatted));
	explicit_bzero(&state, sizeof(state));
	return 0;
}

const struct password_scheme scheme_otp = {
	.name = "OTP", .family = "OTP",
	.default_encoding = PASSWORD_ENCODING_NONE,
	/* the state must live in the passdb: never made up from PLAIN */
	.not_derivable = true,
	.verify = otp_verify, .generate = otp_generate,
};
