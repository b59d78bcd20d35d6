/* Unit tests for the PAM worker messages (db-pam.h). */
#include "lib.h"
#include "db-pam.h"

#include <stdio.h>
#include <setjmp.h>
#include <cmocka.h>

static const struct {
	const char *data;      /* the message */
	size_t size;
	unsigned int count;    /* fields wanted */
	int ret;
	const char *fields[4];
} parse_tests[] = {
	{ "R\0svc\0alice\0", 12, 3, 0, { "R", "svc", "alice" } },
	{ "\0\0\0", 3, 3, 0, { "", "", "" } },
	{ "a\0b\0", 4, 1, -1, { NULL } },        /* a field too many */
	{ "a\0b\0", 4, 3, -1, { NULL } },        /* a field too few */
	{ "a\0b", 3, 2, -1, { NULL } },          /* truncated: no final NUL */
	{ "", 0, 1, -1, { NULL } },              /* empty */
	{ "abc\0", 4, 1, 0, { "abc" } },
};

static void test_parse(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(parse_tests); i++) {
		unsigned char buf[64];
		const char *fields[4];

		memcpy(buf, parse_tests[i].data, parse_tests[i].size);
		int ret = pam_msg_parse(buf, parse_tests[i].size, fields,
					parse_tests[i].count);
		assert_int_equal(ret, parse_tests[i].ret);
		for (unsigned int f = 0; ret == 0 && f < parse_tests[i].count; f++)
			assert_string_equal(fields[f], parse_tests[i].fields[f]);
	}
}

static void test_build_roundtrip(void **state ATTR_UNUSED)
{
	const char *in[] = { "R", "imap", "bob@example.com", "pass word", "" };
	unsigned char buf[PAM_MSG_MAX_SIZE];
	const char *out[N_ELEMENTS(in)];

	size_t len = pam_msg_build(buf, sizeof(buf), in, N_ELEMENTS(in));
	assert_int_equal(len, 2 + 5 + 16 + 10 + 1);
	assert_int_equal(pam_msg_parse(buf, len, out, N_ELEMENTS(in)), 0);
	for (size_t i = 0; i < N_ELEMENTS(in); i++)
		assert_string_equal(out[i], in[i]);
}

static void test_build_too_long(void **state ATTR_UNUSED)
{
	unsigned char buf[8];
	const char *fits[] = { "abc", "def" };          /* 8 bytes exactly */
	const char *too_long[] = { "abc", "defg" };     /* 9 bytes */

	assert_int_equal(pam_msg_build(buf, sizeof(buf), fits, 2), 8);
	assert_int_equal(pam_msg_build(buf, sizeof(buf), too_long, 2), 0);
	assert_int_equal(pam_msg_build(buf, 0, fits, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_build_roundtrip),
		cmocka_unit_test(test_build_too_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
