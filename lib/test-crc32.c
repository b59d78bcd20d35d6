/* Unit tests for crc32.h */
#include "lib.h"
#include "crc32.h"

#include <stdio.h>
#include <setjmp.h>
#include <cmocka.h>

static const struct {
	const char *input;
	uint32_t expected;
} crc_vectors[] = {
	{ "", 0x00000000 },
	{ "a", 0xe8b7be43 },
	{ "abc", 0x352441c2 },
	/* the CRC-32 "check" value of the catalogue of parametrised CRCs */
	{ "123456789", 0xcbf43926 },
	{ "The quick brown fox jumps over the lazy dog", 0x414fa339 },
};

static void test_crc32_vectors(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(crc_vectors); i++) {
		assert_int_equal(crc32_str(crc_vectors[i].input), crc_vectors[i].expected);
		assert_int_equal(crc32_data(crc_vectors[i].input,
					    strlen(crc_vectors[i].input)),
				 crc_vectors[i].expected);
	}
}

static void test_crc32_binary(void **state ATTR_UNUSED)
{
	static const unsigned char zeros[32];
	unsigned char all[256];

	/* iSCSI/CRC catalogue: 32 zero bytes */
	assert_int_equal(crc32_data(zeros, sizeof(zeros)), 0x190a55ad);
	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)i;
	/* a NUL inside the data counts */
	assert_int_not_equal(crc32_data(all, 2), crc32_data(all + 1, 1));
	assert_int_equal(crc32_data(all, sizeof(all)), 0x29058c73);
}

static void test_crc32_more(void **state ATTR_UNUSED)
{
	const char *text = "The quick brown fox jumps over the lazy dog";
	size_t len = strlen(text);

	for (size_t split = 0; split <= len; split++) {
		uint32_t crc = crc32_data(text, split);
		crc = crc32_data_more(crc, text + split, len - split);
		assert_int_equal(crc, 0x414fa339);
	}
	assert_int_equal(crc32_str_more(crc32_str("12345"), "6789"), 0xcbf43926);
	/* order matters */
	assert_int_not_equal(crc32_str_more(crc32_str("pw"), "user"),
			     crc32_str_more(crc32_str("user"), "pw"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32_vectors),
		cmocka_unit_test(test_crc32_binary),
		cmocka_unit_test(test_crc32_more),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
