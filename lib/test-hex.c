/* Unit tests for hex.h. */
#include "lib.h"
#include "str.h"
#include "hex.h"

#include <stdio.h>
#include <setjmp.h>
#include <cmocka.h>

static const struct {
	const char *raw;
	size_t raw_len;
	const char *encoded;
} hex_tests[] = {
	{ "", 0, "" },
	{ "\0", 1, "00" },
	{ "\x01\x23\x45\x67\x89\xab\xcd\xef", 8, "0123456789abcdef" },
	{ "\xff\xfe", 2, "fffe" },
	{ "password", 8, "70617373776f7264" },
};

static void test_encode(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(hex_tests); i++) {
		string_t *str = str_create(1);
		char buf[64];

		hex_encode(str, hex_tests[i].raw, hex_tests[i].raw_len);
		assert_string_equal(str_c(str), hex_tests[i].encoded);
		hex_encode_buf(buf, sizeof(buf), hex_tests[i].raw,
			       hex_tests[i].raw_len);
		assert_string_equal(buf, hex_tests[i].encoded);
		str_free(&str);
	}
}

static void test_decode(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(hex_tests); i++) {
		string_t *str = str_create(1);
		const char *enc = hex_tests[i].encoded;
		unsigned char buf[32];
		size_t size;

		assert_int_equal(hex_decode(str, enc, strlen(enc)), 0);
		assert_int_equal(str_len(str), hex_tests[i].raw_len);
		assert_memory_equal(str_data(str), hex_tests[i].raw,
				    hex_tests[i].raw_len);
		assert_int_equal(hex_decode_buf(enc, strlen(enc), buf,
						sizeof(buf), &size), 0);
		assert_int_equal(size, hex_tests[i].raw_len);
		assert_memory_equal(buf, hex_tests[i].raw, size);
		str_free(&str);
	}
	/* upper case input */
	string_t *str = str_create(1);
	assert_int_equal(hex_decode(str, "ABCDEF", 6), 0);
	assert_memory_equal(str_data(str), "\xab\xcd\xef", 3);
	str_free(&str);
}

static const char *const invalid_tests[] = {
	"0",        /* odd length: truncated */
	"abc",
	"0g",       /* not a hex digit */
	"zz",
	"00 11",    /* no whitespace */
	" 0011",
	"0011\n",
	"-1",
	"0x11",
};

static void test_decode_invalid(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(invalid_tests); i++) {
		string_t *str = str_create(1);
		unsigned char buf[16];
		size_t size;
		const char *in = invalid_tests[i];

		if (hex_decode(str, in, strlen(in)) != -1)
			fail_msg("accepted invalid hex '%s'", in);
		assert_int_equal(str_len(str), 0);
		assert_int_equal(hex_decode_buf(in, strlen(in), buf,
						sizeof(buf), &size), -1);
		str_free(&str);
	}
	/* output too small */
	unsigned char small[2];
	size_t size;
	assert_int_equal(hex_decode_buf("001122", 6, small, sizeof(small),
					&size), -1);
	assert_int_equal(hex_digit_value('f'), 15);
	assert_int_equal(hex_digit_value('G'), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_decode_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
