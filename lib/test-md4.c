/* Unit tests for md4.h and md5-block.h. */
#include "lib.h"
#include "str.h"
#include "hex.h"
#include "md4.h"
#include "md5-block.h"

#include <stdio.h>
#include <setjmp.h>
#include <cmocka.h>
#include <openssl/evp.h>

/* RFC 1320 appendix A.5 */
static const struct {
	const char *input, *digest;
} md4_tests[] = {
	{ "", "31d6cfe0d16ae931b73c59d7e0c089c0" },
	{ "a", "bde52cb31de33e46245e05fbdbd6fb24" },
	{ "abc", "a448017aaf21d8525fc10ae87aa6729d" },
	{ "message digest", "d9130a8164549fe818874806e1c7014b" },
	{ "abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9" },
	{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	  "043f8582f241db351ce627e153e7f0e4" },
	{ "1234567890123456789012345678901234567890"
	  "1234567890123456789012345678901234567890",
	  "e33b4ddc9c38f2199c3e7b164fcc0536" },
};

/* RFC 1321 appendix A.5 */
static const struct {
	const char *input, *digest;
} md5_tests[] = {
	{ "", "d41d8cd98f00b204e9800998ecf8427e" },
	{ "a", "0cc175b9c0f1b6a831c399e269772661" },
	{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
	{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
	{ "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
	{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	  "d174ab98d277d9f5a5611c2c9f419d9f" },
	{ "1234567890123456789012345678901234567890"
	  "1234567890123456789012345678901234567890",
	  "57edf4a22be3c955ac49da2e2107b67a" },
};

static void assert_digest_hex(const unsigned char *digest, const char *hex)
{
	char buf[33];

	hex_encode_buf(buf, sizeof(buf), digest, 16);
	assert_string_equal(buf, hex);
}

static void test_md4_rfc(void **state ATTR_UNUSED)
{
	unsigned char digest[MD4_DIGEST_SIZE];

	for (size_t i = 0; i < N_ELEMENTS(md4_tests); i++) {
		const char *in = md4_tests[i].input;
		struct md4_context ctx;

		md4_get_digest(in, strlen(in), digest);
		assert_digest_hex(digest, md4_tests[i].digest);

		/* one byte at a time gives the same */
		md4_init(&ctx);
		for (size_t j = 0; in[j] != '\0'; j++)
			md4_update(&ctx, in + j, 1);
		md4_final(&ctx, digest);
		assert_digest_hex(digest, md4_tests[i].digest);
	}
}

static void test_md4_block_boundaries(void **state ATTR_UNUSED)
{
	/* lengths around the 56/64-byte padding boundaries, split updates */
	unsigned char data[200], d1[16], d2[16];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 31 + 7);
	for (size_t len = 50; len <= 140; len++) {
		struct md4_context ctx;

		md4_get_digest(data, len, d1);
		md4_init(&ctx);
		md4_update(&ctx, data, len / 3);
		md4_update(&ctx, data + len / 3, len - len / 3);
		md4_final(&ctx, d2);
		assert_memory_equal(d1, d2, 16);
	}
}

static void test_md5_rfc(void **state ATTR_UNUSED)
{
	unsigned char digest[MD5_DIGEST_SIZE];

	for (size_t i = 0; i < N_ELEMENTS(md5_tests); i++) {
		struct md5_state_context ctx;
		const char *in = md5_tests[i].input;

		md5_state_init(&ctx);
		md5_state_update(&ctx, in, strlen(in));
		md5_state_final(&ctx, digest);
		assert_digest_hex(digest, md5_tests[i].digest);
	}
}

static void test_md5_vs_openssl(void **state ATTR_UNUSED)
{
	unsigned char data[300], d1[EVP_MAX_MD_SIZE], d2[16];
	unsigned int len1;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 13 + 5);
	for (size_t len = 0; len <= sizeof(data); len++) {
		struct md5_state_context ctx;

		assert_int_equal(EVP_Digest(data, len, d1, &len1, EVP_md5(),
					    NULL), 1);
		md5_state_init(&ctx);
		for (size_t j = 0; j < len; j += 7)
			md5_state_update(&ctx, data + j, len - j < 7 ? len - j : 7);
		md5_state_final(&ctx, d2);
		assert_memory_equal(d1, d2, 16);
	}
}

static void test_md5_resume(void **state ATTR_UNUSED)
{
	/* compressing one block by hand and resuming equals hashing it all */
	unsigned char block[MD5_BLOCK_SIZE], d1[EVP_MAX_MD_SIZE], d2[16];
	unsigned char all[MD5_BLOCK_SIZE + 3];
	struct md5_state_context ctx;
	uint32_t st[4];
	unsigned int len1;

	for (size_t i = 0; i < sizeof(block); i++)
		block[i] = (unsigned char)(0x36 ^ i);
	memcpy(all, block, sizeof(block));
	memcpy(all + sizeof(block), "abc", 3);
	assert_int_equal(EVP_Digest(all, sizeof(all), d1, &len1, EVP_md5(),
				    NULL), 1);

	memcpy(st, md5_initial_state, sizeof(st));
	md5_block_compress(st, block);
	md5_state_init_from(&ctx, st, MD5_BLOCK_SIZE);
	md5_state_update(&ctx, "abc", 3);
	md5_state_final(&ctx, d2);
	assert_memory_equal(d1, d2, 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_md4_rfc),
		cmocka_unit_test(test_md4_block_boundaries),
		cmocka_unit_test(test_md5_rfc),
		cmocka_unit_test(test_md5_vs_openssl),
		cmocka_unit_test(test_md5_resume),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
