/* Unit tests for base64.h. */
#include "lib.h"
#include "str.h"
#include "base64.h"

#include <stdio.h>
#include <setjmp.h>
#include <cmocka.h>

/* RFC 4648 section 10 test vectors */
static const struct {
	const char *raw, *encoded;
} rfc4648_tests[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static void test_encode(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(rfc4648_tests); i++) {
		string_t *str = str_create(1);
		char buf[16];
		size_t len = strlen(rfc4648_tests[i].raw);

		str_append(str, "x");
		base64_encode(str, rfc4648_tests[i].raw, len);
		assert_string_equal(str_c(str) + 1, rfc4648_tests[i].encoded);
		str_free(&str);

		assert_int_equal(base64_encode_buf(buf, sizeof(buf),
						   rfc4648_tests[i].raw, len),
				 strlen(rfc4648_tests[i].encoded));
		assert_string_equal(buf, rfc4648_tests[i].encoded);
		assert_int_equal(BASE64_ENCODED_SIZE(len),
				 strlen(rfc4648_tests[i].encoded));
	}
}

static void test_decode_valid(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(rfc4648_tests); i++) {
		string_t *str = str_create(1);
		const char *enc = rfc4648_tests[i].encoded;

		assert_int_equal(base64_decode(str, enc, strlen(enc)), 0);
		assert_int_equal(str_len(str), strlen(rfc4648_tests[i].raw));
		assert_memory_equal(str_data(str), rfc4648_tests[i].raw,
				    str_len(str));
		str_free(&str);
	}
}

/* Inputs that must be accepted, with what they decode to. */
static const struct {
	const char *input;
	const char *output;
	size_t output_len;
} lenient_tests[] = {
	/* whitespace anywhere */
	{ "Zm9v YmFy", "foobar", 6 },
	{ " Zm9v\r\nYmFy\t", "foobar", 6 },
	{ "Zg= =", "f", 1 },
	{ "Zg==\n", "f", 1 },
	/* non-zero unused bits are ignored (Dovecot accepts them) */
	{ "Zh==", "f", 1 },
	{ "Zm9=", "fo", 2 },
	/* binary output */
	{ "AAD/", "\0\0\377", 3 },
	{ "", "", 0 },
	{ "  ", "", 0 },
};

static void test_decode_lenient(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(lenient_tests); i++) {
		string_t *str = str_create(1);
		const char *in = lenient_tests[i].input;

		assert_int_equal(base64_decode(str, in, strlen(in)), 0);
		assert_int_equal(str_len(str), lenient_tests[i].output_len);
		assert_memory_equal(str_data(str), lenient_tests[i].output,
				    str_len(str));
		str_free(&str);
	}
}

static const char *const invalid_tests[] = {
	"Zg",           /* truncated: missing padding */
	"Zg=",          /* truncated padding */
	"Z",            /* single character */
	"Zm9vY",        /* partial group */
	"Zg===",        /* too much padding */
	"Z===",         /* padding after one char */
	"====",         /* only padding */
	"=Zg=",         /* padding first */
	"Zg==Zg==",     /* data after padding */
	"Zg==x",
	"Zm9v!mFy",     /* invalid characters */
	"Zm9v-_Fy",     /* base64url alphabet is not accepted */
	"Zm9v\001",
	"Zm9vYmFy\xc3\xa4",
	"Zm=v",         /* padding inside a group */
};

static void test_decode_invalid(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(invalid_tests); i++) {
		string_t *str = str_create(1);
		unsigned char buf[32];
		size_t size;
		const char *in = invalid_tests[i];

		if (base64_decode(str, in, strlen(in)) != -1)
			fail_msg("accepted invalid base64 '%s'", in);
		assert_int_equal(base64_decode_buf(in, strlen(in), buf,
						   sizeof(buf), &size), -1);
		str_free(&str);
	}
}

static void test_decode_buf(void **state ATTR_UNUSED)
{
	unsigned char buf[6];
	size_t size = 99;

	assert_int_equal(base64_decode_buf("Zm9vYmFy", 8, buf, sizeof(buf),
					   &size), 0);
	assert_int_equal(size, 6);
	assert_memory_equal(buf, "foobar", 6);
	/* does not fit */
	assert_int_equal(base64_decode_buf("Zm9vYmFy", 8, buf, 5, &size), -1);
	assert_int_equal(base64_decode_buf("Zm9vYg==", 8, buf, 3, &size), -1);
	/* the length limit counts: only "Zm9v" is looked at */
	assert_int_equal(base64_decode_buf("Zm9vYmFy", 4, buf, sizeof(buf),
					   &size), 0);
	assert_int_equal(size, 3);
	assert_true(base64_is_alphabet_char('+'));
	assert_false(base64_is_alphabet_char('='));
	assert_false(base64_is_alphabet_char('-'));
}

static void test_roundtrip(void **state ATTR_UNUSED)
{
	unsigned char data[256];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 3);
	for (size_t len = 0; len <= sizeof(data); len++) {
		string_t *enc = str_create(1), *dec = str_create(1);

		base64_encode(enc, data, len);
		assert_int_equal(str_len(enc), BASE64_ENCODED_SIZE(len));
		assert_int_equal(base64_decode(dec, str_c(enc), str_len(enc)), 0);
		assert_int_equal(str_len(dec), len);
		assert_memory_equal(str_data(dec), data, len);
		assert_true(str_len(dec) <= BASE64_DECODED_MAX_SIZE(str_len(enc)));
		/* every truncation of a padded encoding that isn't on a
		   group boundary is invalid */
		for (size_t cut = 1; cut < str_len(enc); cut++) {
			if (cut % 4 == 0)
				continue;
			str_truncate(dec, 0);
			assert_int_equal(base64_decode(dec, str_c(enc), cut), -1);
		}
		str_free(&enc);
		str_free(&dec);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_decode_valid),
		cmocka_unit_test(test_decode_lenient),
		cmocka_unit_test(test_decode_invalid),
		cmocka_unit_test(test_decode_buf),
		cmocka_unit_test(test_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
