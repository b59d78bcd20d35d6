/* Unit tests for pool.h */
#include "lib.h"
#include "pool.h"

#include <stdio.h>
#include <setjmp.h>
#include <cmocka.h>

static void test_pool_alloc(void **state ATTR_UNUSED)
{
	struct pool *pool = pool_create("test", 10);

	for (int i = 0; i < 1000; i++) {
		unsigned char *p = pool_alloc(pool, (size_t)i + 1);
		for (int j = 0; j <= i; j++)
			assert_int_equal(p[j], 0);
		memset(p, 0xff, (size_t)i + 1);
	}
	pool_clear(pool);
	unsigned char *p = pool_alloc(pool, 100);
	for (int j = 0; j < 100; j++)
		assert_int_equal(p[j], 0);
	/* big allocation gets its own block */
	p = pool_alloc(pool, 3 * 1024 * 1024);
	assert_int_equal(p[3 * 1024 * 1024 - 1], 0);
	pool_destroy(&pool);
	assert_null(pool);
}

static void test_pool_realloc(void **state ATTR_UNUSED)
{
	struct pool *pool = pool_create_secure("test", 64);
	char *s = pool_strdup(pool, "abc");
	s = pool_realloc(pool, s, 4, 8);
	assert_string_equal(s, "abc");
	assert_int_equal(s[7], 0);
	s = pool_realloc(pool, s, 8, 5000);
	assert_string_equal(s, "abc");
	assert_int_equal(s[4999], 0);
	pool_destroy(&pool);
}

static void test_pool_strings(void **state ATTR_UNUSED)
{
	struct pool *pool = pool_create("test", 64);
	assert_string_equal(pool_printf(pool, "%s=%d", "x", 5), "x=5");
	char big[1000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_string_equal(pool_printf(pool, "%s", big), big);
	assert_string_equal(pool_strconcat(pool, "a", "bc", "", "d", NULL), "abcd");
	assert_string_equal(pool_strndup(pool, "abcdef", 3), "abc");
	assert_null(pool_strdup(pool, NULL));
	pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_alloc),
		cmocka_unit_test(test_pool_realloc),
		cmocka_unit_test(test_pool_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
