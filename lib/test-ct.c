/* Unit tests for ct.h and randbytes.h. */
#include "lib.h"
#include "ct.h"
#include "randbytes.h"

#include <stdio.h>
#include <setjmp.h>
#include <cmocka.h>

static const struct {
	const char *a, *b;
	size_t size;
	bool equal;
} ct_tests[] = {
	{ "", "", 0, true },
	{ "a", "b", 0, true },          /* nothing compared */
	{ "abc", "abc", 3, true },
	{ "abc", "abd", 3, false },     /* last byte */
	{ "xbc", "abc", 3, false },     /* first byte */
	{ "a\0c", "a\0d", 3, false },   /* past a NUL */
	{ "a\0c", "a\0c", 3, true },
	{ "\x80", "\x00", 1, false },   /* high bit only */
	{ "\x01", "\x00", 1, false },   /* low bit only */
};

static void test_ct_memequal(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(ct_tests); i++) {
		assert_int_equal(ct_memequal(ct_tests[i].a, ct_tests[i].b,
					     ct_tests[i].size),
				 ct_tests[i].equal);
	}
	assert_true(ct_memequal_sized("abc", 3, "abc", 3));
	assert_false(ct_memequal_sized("abc", 3, "abcd", 4));
	assert_false(ct_memequal_sized("abc", 3, "ab", 2));
	assert_true(ct_memequal_sized("", 0, "x", 0));
}

static void test_random_bytes(void **state ATTR_UNUSED)
{
	unsigned char a[64], b[64], zero[64];

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	memset(zero, 0, sizeof(zero));
	random_bytes(a, sizeof(a));
	random_bytes(b, sizeof(b));
	/* 2^-512 chance of a false failure */
	assert_memory_not_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, zero, sizeof(a));
	random_bytes(a, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ct_memequal),
		cmocka_unit_test(test_random_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
