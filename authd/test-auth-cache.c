/* Unit tests for auth-cache.h with a fake clock. */
#include "lib.h"
#include "auth-cache.h"

#include <stdio.h>
#include <time.h>
#include <setjmp.h>
#include <cmocka.h>

static time_t fake_now = 1000;
static time_t fake_clock(void) { return fake_now; }

static void test_hits_and_expiry(void **state ATTR_UNUSED)
{
	struct auth_cache *cache = auth_cache_create(10000, 60, 10, fake_clock);
	struct auth_cache_result r;
	struct auth_cache_stats st;

	assert_null(auth_cache_create(0, 60, 10, fake_clock));
	assert_null(auth_cache_create(100, 0, 10, fake_clock));

	assert_false(auth_cache_lookup(cache, "P1\talice", &r));
	auth_cache_insert(cache, "P1\talice", "{PLAIN}pw\tquota=1G", true);
	auth_cache_insert(cache, "P1\tnobody", "", false);
	assert_true(auth_cache_lookup(cache, "P1\talice", &r));
	assert_string_equal(r.value, "{PLAIN}pw\tquota=1G");
	assert_false(r.expired);
	assert_true(r.last_success);
	assert_true(auth_cache_lookup(cache, "P1\tnobody", &r));
	assert_string_equal(r.value, "");
	assert_false(r.expired);

	/* negative entries expire after negative_ttl, positive after ttl;
	   expired entries are still returned (fallback on db failure) */
	fake_now += 10;
	assert_true(auth_cache_lookup(cache, "P1\tnobody", &r));
	assert_true(r.expired);
	assert_true(auth_cache_lookup(cache, "P1\talice", &r));
	assert_false(r.expired);
	assert_true(r.negative_expired);
	fake_now += 50;
	assert_true(auth_cache_lookup(cache, "P1\talice", &r));
	assert_true(r.expired);

	auth_cache_set_last_success(cache, "P1\talice", false);
	assert_true(auth_cache_lookup(cache, "P1\talice", &r));
	assert_false(r.last_success);

	auth_cache_get_stats(cache, &st);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.negative_hits, 1);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.expired, 3);
	assert_int_equal(st.entries, 2);
	auth_cache_destroy(&cache);
	assert_null(cache);
}

static void test_lru_budget(void **state ATTR_UNUSED)
{
	/* room for a few entries only */
	struct auth_cache *cache = auth_cache_create(400, 60, 60, fake_clock);
	struct auth_cache_result r;
	char key[32];

	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "P1\tuser%d", i);
		auth_cache_insert(cache, key, "{PLAIN}0123456789", true);
		/* keep user0 hot */
		assert_true(auth_cache_lookup(cache, "P1\tuser0", &r));
	}
	struct auth_cache_stats st;
	auth_cache_get_stats(cache, &st);
	assert_true(st.bytes <= 400);
	assert_true(st.entries >= 2 && st.entries < 20);
	assert_true(st.evictions > 0);
	assert_true(auth_cache_lookup(cache, "P1\tuser0", &r));   /* LRU kept it */
	assert_true(auth_cache_lookup(cache, "P1\tuser19", &r));  /* newest */
	assert_false(auth_cache_lookup(cache, "P1\tuser1", &r));  /* evicted */
	/* an entry larger than the whole budget is not stored */
	char big[1000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	auth_cache_insert(cache, "P1\tbig", big, true);
	assert_false(auth_cache_lookup(cache, "P1\tbig", &r));
	auth_cache_destroy(&cache);
}

static void test_flush(void **state ATTR_UNUSED)
{
	struct auth_cache *cache = auth_cache_create(10000, 60, 0, fake_clock);
	struct auth_cache_result r;

	auth_cache_insert(cache, "P1\talice", "{PLAIN}a", true);
	auth_cache_insert(cache, "P2\talice\t192.0.2.1", "{PLAIN}a", true);
	auth_cache_insert(cache, "P1\talice2", "{PLAIN}b", true);
	auth_cache_insert(cache, "U1\tbob", "uid=1", true);
	/* negative_ttl 0: negative entries are not stored */
	auth_cache_insert(cache, "P1\tnobody", "", false);
	assert_false(auth_cache_lookup(cache, "P1\tnobody", &r));

	assert_int_equal(auth_cache_flush_user(cache, "alice"), 2);
	assert_false(auth_cache_lookup(cache, "P1\talice", &r));
	assert_true(auth_cache_lookup(cache, "P1\talice2", &r));
	assert_true(auth_cache_remove(cache, "U1\tbob"));
	assert_false(auth_cache_remove(cache, "U1\tbob"));
	assert_int_equal(auth_cache_flush(cache), 1);
	struct auth_cache_stats st;
	auth_cache_get_stats(cache, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	auth_cache_destroy(&cache);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hits_and_expiry),
		cmocka_unit_test(test_lru_budget),
		cmocka_unit_test(test_flush),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
