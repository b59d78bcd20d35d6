/* Unit tests for hash.h */
#include "lib.h"
#include "hash.h"

#include <stdio.h>
#include <setjmp.h>
#include <cmocka.h>

static void test_hash_uint(void **state ATTR_UNUSED)
{
	struct hash_table *t = hash_table_create_uint();
	static int values[10000];

	for (uint32_t i = 0; i < 10000; i++)
		hash_table_insert_uint(t, i * 7 + 1, &values[i]);
	assert_int_equal(hash_table_count(t), 10000);
	for (uint32_t i = 0; i < 10000; i++)
		assert_ptr_equal(hash_table_lookup_uint(t, i * 7 + 1), &values[i]);
	assert_null(hash_table_lookup_uint(t, 0));
	for (uint32_t i = 0; i < 10000; i += 2)
		assert_true(hash_table_remove_uint(t, i * 7 + 1));
	assert_false(hash_table_remove_uint(t, 1));
	assert_int_equal(hash_table_count(t), 5000);
	for (uint32_t i = 1; i < 10000; i += 2)
		assert_ptr_equal(hash_table_lookup_uint(t, i * 7 + 1), &values[i]);
	size_t iter = 0, n = 0;
	void *value;
	while (hash_table_iterate(t, &iter, NULL, NULL, &value))
		n++;
	assert_int_equal(n, 5000);
	/* churn: insert/remove many times must not fill with tombstones */
	for (uint32_t round = 0; round < 100000; round++) {
		hash_table_insert_uint(t, 1000000 + round, &values[0]);
		assert_true(hash_table_remove_uint(t, 1000000 + round));
	}
	assert_int_equal(hash_table_count(t), 5000);
	hash_table_destroy(&t);
	assert_null(t);
}

static void test_hash_str(void **state ATTR_UNUSED)
{
	struct hash_table *t = hash_table_create_str(true);
	int a, b;

	hash_table_insert_str(t, "Alice", &a);
	hash_table_insert_str(t, "bob", &b);
	assert_ptr_equal(hash_table_lookup_str(t, "alice"), &a);
	assert_ptr_equal(hash_table_lookup_str(t, "BOB"), &b);
	assert_null(hash_table_lookup_str(t, "carol"));
	hash_table_insert_str(t, "ALICE", &b);
	assert_int_equal(hash_table_count(t), 2);
	assert_ptr_equal(hash_table_lookup_str(t, "alice"), &b);
	hash_table_destroy(&t);

	t = hash_table_create_str(false);
	hash_table_insert_str(t, "Alice", &a);
	assert_null(hash_table_lookup_str(t, "alice"));
	hash_table_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_uint),
		cmocka_unit_test(test_hash_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
