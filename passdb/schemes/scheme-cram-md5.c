/* {CRAM-MD5} / {HMAC-MD5}: the HMAC-MD5 (RFC 2104) state after absorbing
   the key blocks, so CRAM-MD5 (RFC 2195) can be answered without the
   plaintext. 32 bytes: the MD5 chaining state A,B,C,D after compressing
   K^opad (outer), then the state after K^ipad (inner), each word uint32
   little-endian. K = the password zero-padded to 64 bytes, or MD5(password)
   if longer than 64 (RFC 2104 section 2). */
#include "lib.h"
#include "str.h"
#include "md5-block.h"
#include "password-scheme-private.h"

#include <openssl/evp.h>

#define HMAC_IPAD 0x36
#define HMAC_OPAD 0x5c

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		(uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int cram_md5_context(const unsigned char *plain, size_t plain_len,
			    unsigned char context_r[CRAM_MD5_CONTEXT_SIZE])
{
	unsigned char key[MD5_BLOCK_SIZE], block[MD5_BLOCK_SIZE];
	uint32_t state[4];
	unsigned int i;

	memset(key, 0, sizeof(key));
	if (plain_len > MD5_BLOCK_SIZE) {
		if (password_digest2("MD5", plain, plain_len, NULL, 0,
				     key) != MD5_DIGEST_SIZE)
			return -1;
	} else {
		memcpy(key, plain, plain_len);
	}

	for (i = 0; i < MD5_BLOCK_SIZE; i++)
		block[i] = key[i] ^ HMAC_OPAD;
	memcpy(state, md5_initial_state, sizeof(state));
	md5_block_compress(state, block);
	for (i = 0; i < 4; i++)
		put_le32(context_r + i * 4, state[i]);

	for (i = 0; i < MD5_BLOCK_SIZE; i++)
		block[i] = key[i] ^ HMAC_IPAD;
	memcpy(state, md5_initial_state, sizeof(state));
	md5_block_compress(state, block);
	for (i = 0; i < 4; i++)
		put_le32(context_r + 16 + i * 4, state[i]);

	explicit_bzero(key, sizeof(key));
	explicit_bzero(block, sizeof(block));
	explicit_bzero(state, sizeof(state));
	return 0;
}

void cram_md5_hmac_from_context(const unsigned char context[CRAM_MD5_CONTEXT_SIZE],
				const void *msg, size_t msg_size,
				unsigned char digest_r[16])
{
	struct md5_state_context ctx;
	unsigned char inner[MD5_DIGEST_SIZE];
	uint32_t state[4];
	unsigned int i;

	/* inner = MD5(K^ipad || msg), resumed after the first block */
	for (i = 0; i < 4; i++)
		state[i] = get_le32(context + 16 + i * 4);
	md5_state_init_from(&ctx, state, MD5_BLOCK_SIZE);
	md5_state_update(&ctx, msg, msg_size);
	md5_state_final(&ctx, inner);

	/* outer = MD5(K^opad || inner) */
	for (i = 0; i < 4; i++)
		state[i] = get_le32(context + i * 4);
	md5_state_init_from(&ctx, state, MD5_BLOCK_SIZE);
	md5_state_update(&ctx, inner, sizeof(inner));
	md5_state_final(&ctx, digest_r);

	explicit_bzero(inner, sizeof(inner));
	explicit_bzero(state, sizeof(state));
}

static int cram_md5_generate(const struct password_scheme *scheme ATTR_UNUSED,
			     const unsigned char *plain, size_t plain_len,
			     const char *user ATTR_UNUSED,
			     unsigned int rounds ATTR_UNUSED,
			     string_t *dest, const char **error_r)
{
	unsigned char context[CRAM_MD5_CONTEXT_SIZE];

	if (cram_md5_context(plain, plain_len, context) < 0) {
		*error_r = "OpenSSL MD5 digest failed";
		return -1;
	}
	str_append_n(dest, context, sizeof(context));
	explicit_bzero(context, sizeof(context));
	return 0;
}

#define CRAM_MD5_SCHEME(_name) { \
	.name = _name, .family = "CRAM-MD5", \
	.default_encoding = PASSWORD_ENCODING_HEX, \
	.raw_size = CRAM_MD5_CONTEXT_SIZE, \
	.generate = cram_md5_generate, \
}
const struct password_scheme scheme_cram_md5 = CRAM_MD5_SCHEME("CRAM-MD5");
const struct password_scheme scheme_hmac_md5 = CRAM_MD5_SCHEME("HMAC-MD5");
