/* Unit tests for str.h and small lib.h helpers. */
#include "lib.h"
#include "str.h"
#include "pool.h"
#include "path-error.h"

#include <stdio.h>
#include <setjmp.h>
#include <cmocka.h>

static void test_append(void **state ATTR_UNUSED)
{
	string_t *str = str_create(1);

	for (int i = 0; i < 1000; i++)
		str_append(str, "ab");
	assert_int_equal(str_len(str), 2000);
	assert_int_equal(strlen(str_c(str)), 2000);
	str_truncate(str, 3);
	assert_string_equal(str_c(str), "aba");
	str_printfa(str, "%d-%s", 42, "x");
	assert_string_equal(str_c(str), "aba42-x");
	str_delete_head(str, 2);
	assert_string_equal(str_c(str), "a42-x");
	str_append_n(str, "\0z", 2);
	assert_int_equal(str_len(str), 7);
	str_free(&str);
	assert_null(str);
}

static void test_append_uint(void **state ATTR_UNUSED)
{
	static const struct { uint64_t n; const char *s; } tests[] = {
		{ 0, "0" }, { 7, "7" }, { 10, "10" }, { 4294967295U, "4294967295" },
		{ UINT64_MAX, "18446744073709551615" },
	};
	string_t *str = str_create(4);
	for (size_t i = 0; i < N_ELEMENTS(tests); i++) {
		str_truncate(str, 0);
		str_append(str, "x");
		str_append_uint(str, tests[i].n);
		assert_string_equal(str_c(str) + 1, tests[i].s);
	}
	str_free(&str);
}

static void test_cache(void **state ATTR_UNUSED)
{
	str_cache_enable();
	string_t *a = str_create_secure(16);
	str_append(a, "secret");
	char *data = a->data;
	str_free(&a);
	/* reused: same buffer, empty, wiped, not secure, no max */
	string_t *b = str_create_max(8, 5);
	assert_ptr_equal(b->data, data);
	assert_int_equal(str_len(b), 0);
	assert_false(b->secure);
	assert_int_equal(memcmp(b->data + 1, "ecret", 5) == 0, 0);
	str_append(b, "123456");
	assert_true(str_overflowed(b));
	str_free(&b);
	/* bigger than the cached buffer: works */
	string_t *c = str_create(10000);
	str_append(c, "x");
	assert_string_equal(str_c(c), "x");
	str_free(&c);
	str_cache_disable();
}

static void test_max(void **state ATTR_UNUSED)
{
	string_t *str = str_create_max(4, 10);

	str_append(str, "0123456789");
	assert_false(str_overflowed(str));
	str_append_c(str, 'x');
	assert_true(str_overflowed(str));
	assert_int_equal(str_len(str), 10);
	str_printfa(str, "%s", "more");
	assert_int_equal(str_len(str), 10);
	assert_string_equal(str_c(str), "0123456789");
	str_free(&str);

	/* printf that just fits and one that doesn't */
	str = str_create_max(4, 5);
	str_printfa(str, "%s", "12345");
	assert_false(str_overflowed(str));
	str_truncate(str, 0);
	str_printfa(str, "%s", "123456");
	assert_true(str_overflowed(str));
	assert_int_equal(str_len(str), 0);
	str_free(&str);
}

static const struct {
	const char *raw; size_t raw_len; const char *escaped;
} tab_tests[] = {
	{ "plain", 5, "plain" },
	{ "a\tb", 3, "a\001tb" },
	{ "\r\n", 2, "\001r\001n" },
	{ "\001", 1, "\0011" },
	{ "x\0y", 3, "x\0010y" },
	{ "", 0, "" },
};

static void test_tabescape(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(tab_tests); i++) {
		string_t *str = str_create(8);
		str_append_tabescaped_n(str, (const unsigned char *)tab_tests[i].raw,
					tab_tests[i].raw_len);
		assert_string_equal(str_c(str), tab_tests[i].escaped);
		char *copy = x_strdup(str_c(str));
		str_tabunescape(copy);
		assert_memory_equal(copy, tab_tests[i].raw, tab_tests[i].raw_len);
		free(copy);
		str_free(&str);
	}
	/* unknown escape keeps the byte, trailing escape is dropped */
	char s1[] = "a\001xb\001";
	assert_string_equal(str_tabunescape(s1), "axb");
}

static void test_split(void **state ATTR_UNUSED)
{
	struct pool *pool = pool_create("test", 64);
	char s[] = "a\tbb\t\tc";
	unsigned int count;
	char **parts = str_split(pool, s, '\t', &count);

	assert_int_equal(count, 4);
	assert_string_equal(parts[0], "a");
	assert_string_equal(parts[1], "bb");
	assert_string_equal(parts[2], "");
	assert_string_equal(parts[3], "c");
	assert_null(parts[4]);
	pool_destroy(&pool);
}

static void test_uint(void **state ATTR_UNUSED)
{
	static const struct { const char *s; int ret; uint32_t value; } tests[] = {
		{ "0", 0, 0 }, { "42", 0, 42 }, { "4294967295", 0, 4294967295U },
		{ "4294967296", -1, 0 }, { "", -1, 0 }, { "-1", -1, 0 },
		{ "1a", -1, 0 }, { " 1", -1, 0 }, { "99999999999999999999999", -1, 0 },
	};
	for (size_t i = 0; i < N_ELEMENTS(tests); i++) {
		uint32_t n = 12345;
		assert_int_equal(str_to_uint32(tests[i].s, &n), tests[i].ret);
		if (tests[i].ret == 0)
			assert_int_equal(n, tests[i].value);
	}
}

static void test_path_error(void **state ATTR_UNUSED)
{
	char *msg = path_error("open", "/nonexistent/dir/file", ENOENT);
	assert_non_null(strstr(msg, "open(/nonexistent/dir/file) failed: No such file or directory (euid="));
	assert_non_null(strstr(msg, "egid="));
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_append_uint),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_max),
		cmocka_unit_test(test_tabescape),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_path_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
