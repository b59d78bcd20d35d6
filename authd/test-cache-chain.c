/* The auth cache inside the passdb/userdb chains (auth-cache.md 1): a
   counting in-memory test driver with a cache key, driven over the client
   and master protocols. Shows hits, negative hits, expiry, both directions
   of the password-change rule, credentials (CRAM-MD5) and userdb entries,
   the fallback to expired data on an internal failure, and flushing. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "log.h"
#include "auth.h"
#include "auth-settings.h"
#include "auth-cache.h"
#include "auth-request.h"
#include "auth-client-connection.h"
#include "auth-master-connection.h"
#include "passdb.h"
#include "userdb.h"
#include "test-harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <setjmp.h>
#include <cmocka.h>

/* ---- the test database -------------------------------------------------- */

static struct {
	char password[64];       /* alice's stored password */
	bool fail;               /* internal failure on every lookup */
	unsigned int passdb_lookups, userdb_lookups;
} db;
static time_t test_now = 1000000;

static time_t test_clock(void)
{
	return test_now;
}

static int testdb_preinit(struct pool *pool, const char *args ATTR_UNUSED,
			  struct passdb_module **module_r, const char **error_r ATTR_UNUSED)
{
	struct passdb_module *module = pool_alloc(pool, sizeof(*module));
	const char *const templates[] = { "SELECT pw FROM users WHERE name='%u'", NULL };
	module->default_cache_key = auth_cache_parse_key(pool, templates);
	*module_r = module;
	return 0;
}

static void testdb_lookup(struct passdb_module *module ATTR_UNUSED,
			  struct auth_request *request, passdb_lookup_callback_t *callback)
{
	db.passdb_lookups++;
	if (db.fail) {
		callback(request, PASSDB_RESULT_INTERNAL_FAILURE, NULL);
		return;
	}
	if (strcmp(request->user, "alice") != 0) {
		callback(request, PASSDB_RESULT_USER_UNKNOWN, NULL);
		return;
	}
	auth_request_set_field(request, "quota", "1G", NULL);
	auth_request_set_field(request, "userdb_home", "/home/alice", NULL);
	callback(request, PASSDB_RESULT_OK, db.password);
}

static const struct passdb_driver testdb_passdb = {
	.name = "testdb",
	.available = true,
	.preinit = testdb_preinit,
	.lookup_credentials = testdb_lookup,
};

static int testdb_userdb_preinit(struct pool *pool, const char *args ATTR_UNUSED,
				 struct userdb_module **module_r,
				 const char **error_r ATTR_UNUSED)
{
	struct userdb_module *module = pool_alloc(pool, sizeof(*module));
	const char *const templates[] = { "SELECT * FROM users WHERE name='%n' AND domain='%d'", NULL };
	module->default_cache_key = auth_cache_parse_key(pool, templates);
	*module_r = module;
	return 0;
}

static void testdb_userdb_lookup(struct userdb_module *module ATTR_UNUSED,
				 struct auth_request *request, userdb_callback_t *callback)
{
	db.userdb_lookups++;
	if (db.fail) {
		callback(request, USERDB_RESULT_INTERNAL_FAILURE);
		return;
	}
	if (strcmp(request->user, "alice") != 0) {
		callback(request, USERDB_RESULT_USER_UNKNOWN);
		return;
	}
	auth_request_set_userdb_field(request, "uid", "1001");
	auth_request_set_userdb_field(request, "mail", "maildir:~/Mail\twith tab");
	callback(request, USERDB_RESULT_OK);
}

/* iteration answered later from the event loop, as SQL/LDAP drivers may */
struct deferred_iter {
	userdb_iterate_callback_t *callback;
	void *context;
};

static void testdb_iterate_later(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
				 void *arg)
{
	struct deferred_iter *it = arg;
	it->callback("alice", false, it->context);
	it->callback("zed", false, it->context);
	it->callback(NULL, false, it->context);
	free(it);
}

static struct event_base *test_base;

static void testdb_userdb_iterate(struct userdb_module *module ATTR_UNUSED,
				  struct auth *auth ATTR_UNUSED,
				  const char *mask ATTR_UNUSED,
				  userdb_iterate_callback_t *callback, void *context)
{
	struct deferred_iter *it = x_malloc(sizeof(*it));
	it->callback = callback;
	it->context = context;
	struct timeval tv = { 0, 1000 };
	event_base_once(test_base, -1, EV_TIMEOUT, testdb_iterate_later, it, &tv);
}

static const struct userdb_driver testdb_userdb = {
	.name = "testdb",
	.available = true,
	.preinit = testdb_userdb_preinit,
	.lookup = testdb_userdb_lookup,
	.iterate = testdb_userdb_iterate,
};

static const char cache_config[] =
	"auth_mechanisms = plain cram-md5\n"
	"auth_cache_size = 1M\n"
	"auth_cache_ttl = 1 hour\n"
	"auth_cache_negative_ttl = 10 mins\n"
	"passdb {\n  driver = testdb\n}\n"
	"userdb {\n  driver = testdb\n}\n";

static void cache_setup(struct harness *h)
{
	snprintf(db.password, sizeof(db.password), "{PLAIN}pw1");
	db.fail = false;
	db.passdb_lookups = db.userdb_lookups = 0;
	harness_init(h, cache_config);
	assert_non_null(h->auth->cache);
	auth_cache_set_now_func(h->auth->cache, test_clock);
	harness_connect(h, false, false);
	harness_send(h, "VERSION\t1\t2\nCPID\t42\n", false);
	free(harness_take(h));
}

/* AUTH PLAIN user/password; returns the reply line (malloc()ed) */
static char *plain(struct harness *h, unsigned int id, const char *user, const char *pw)
{
	char raw[128], line[512];
	size_t ulen = strlen(user), plen = strlen(pw);
	raw[0] = '\0';
	memcpy(raw + 1, user, ulen);
	raw[1 + ulen] = '\0';
	memcpy(raw + 2 + ulen, pw, plen);
	char *b64 = test_b64(raw, 2 + ulen + plen);
	snprintf(line, sizeof(line), "AUTH\t%u\tPLAIN\tservice=imap\tresp=%s\n", id, b64);
	free(b64);
	harness_send(h, line, false);
	return harness_take(h);
}

static void expect(struct harness *h, unsigned int id, const char *user, const char *pw,
		   const char *reply_start, unsigned int lookups)
{
	char *out = plain(h, id, user, pw);
	if (strncmp(out, reply_start, strlen(reply_start)) != 0)
		fail_msg("AUTH %u %s/%s: expected '%s', got '%s'", id, user, pw, reply_start, out);
	if (db.passdb_lookups != lookups)
		fail_msg("AUTH %u %s/%s: %u passdb lookups, expected %u", id, user, pw,
			 db.passdb_lookups, lookups);
	free(out);
}

static void test_cache_key_parse(void **state ATTR_UNUSED)
{
	struct pool *pool = pool_create("test", 256);
	const char *const t1[] = { "SELECT a FROM t WHERE u='%u' AND s='%s' AND u2='%u'", NULL };
	assert_string_equal(auth_cache_parse_key(pool, t1), "%u\t%s");
	const char *const t2[] = { "x %n y %{domain} z %Lr", NULL };
	assert_string_equal(auth_cache_parse_key(pool, t2), "%u\t%r");
	const char *const t3[] = { "no variables", NULL };
	assert_null(auth_cache_parse_key(pool, t3));
	const char *const t4[] = { "%{ldap:uid} %n", "%{user} %%", NULL };
	assert_string_equal(auth_cache_parse_key(pool, t4), "%{ldap:uid}\t%n\t%u");
	pool_destroy(&pool);
}

static void test_cache_hits_and_negative(void **state ATTR_UNUSED)
{
	struct harness h;
	cache_setup(&h);
	expect(&h, 1, "alice", "pw1", "OK\t1\tuser=alice\tquota=1G", 1);
	/* hit: the fields come from the cache */
	expect(&h, 2, "alice", "pw1", "OK\t2\tuser=alice\tquota=1G", 1);
	expect(&h, 3, "alice", "bad", "FAIL\t3\tuser=alice", 2); /* last ok: recheck */
	expect(&h, 4, "alice", "bad", "FAIL\t4\tuser=alice", 2); /* now from cache */
	expect(&h, 5, "nobody", "x", "FAIL\t5\tuser=nobody", 3);
	expect(&h, 6, "nobody", "x", "FAIL\t6\tuser=nobody", 3); /* negative hit */

	struct auth_cache_stats stats;
	auth_cache_get_stats(h.auth->cache, &stats);
	assert_true(stats.hits >= 3);
	assert_int_equal(stats.negative_hits, 1);

	/* negative entries live negative_ttl, positive ones ttl */
	test_now += 11 * 60;
	expect(&h, 7, "nobody", "x", "FAIL\t7\tuser=nobody", 4);
	expect(&h, 8, "alice", "pw1", "OK\t8\tuser=alice", 4);
	test_now += 3600;
	expect(&h, 9, "alice", "pw1", "OK\t9\tuser=alice", 5);
	expect(&h, 10, "alice", "pw1", "OK\t10\tuser=alice", 5);
	harness_deinit(&h);
	test_now += 100000;
}

static void test_cache_password_change(void **state ATTR_UNUSED)
{
	struct harness h;
	cache_setup(&h);
	/* normal change: the old password worked, the user types the new one */
	expect(&h, 1, "alice", "pw1", "OK\t1", 1);
	snprintf(db.password, sizeof(db.password), "{PLAIN}pw2");
	expect(&h, 2, "alice", "pw2", "OK\t2", 2);
	expect(&h, 3, "alice", "pw2", "OK\t3", 2);
	/* the old password: the entry worked last, so the db is asked */
	expect(&h, 4, "alice", "pw1", "FAIL\t4", 3);
	/* the entry failed last: a wrong password fails from the cache */
	expect(&h, 5, "alice", "pw1", "FAIL\t5", 3);
	/* other direction (early attempt): the new password typed before the
	   change fails and is remembered as a failure ... */
	expect(&h, 6, "alice", "pw3", "FAIL\t6", 3);
	snprintf(db.password, sizeof(db.password), "{PLAIN}pw3");
	/* ... so after the change it still fails from the cache, until the
	   entry is older than negative_ttl */
	expect(&h, 7, "alice", "pw3", "FAIL\t7", 3);
	test_now += 11 * 60;
	expect(&h, 8, "alice", "pw3", "OK\t8", 4);
	/* the correct password always works from the cache */
	expect(&h, 9, "alice", "pw3", "OK\t9", 4);
	harness_deinit(&h);
	test_now += 100000;
}

static void test_cache_fallback_and_flush(void **state ATTR_UNUSED)
{
	struct harness h;
	cache_setup(&h);
	expect(&h, 1, "alice", "pw1", "OK\t1", 1);
	/* expired, and the database is down: the expired entry answers */
	test_now += 7200;
	db.fail = true;
	expect(&h, 2, "alice", "pw1", "OK\t2\tuser=alice\tquota=1G", 2);
	/* no entry at all: internal failure */
	expect(&h, 3, "nobody", "x", "FAIL\t3\tuser=nobody\tcode=temp_fail", 3);
	db.fail = false;

	/* flush one user through the master socket (doveadm auth cache
	   flush alice); names are normalised like logins (ALICE -> alice) */
	expect(&h, 4, "alice", "pw1", "OK\t4", 4);
	expect(&h, 5, "alice", "pw1", "OK\t5", 4);
	int client_fd = h.peer;
	harness_connect(&h, true, false);
	harness_send(&h, "VERSION\t1\t0\nCACHE-FLUSH\t7\tALICE\n", false);
	char *out = harness_take(&h);
	assert_contains(out, "OK\t7\t1\n");
	free(out);
	harness_send(&h, "CACHE-STATS\t8\n", false);
	out = harness_take(&h);
	assert_contains(out, "OK\t8\tcache=on\tmax_bytes=1048576\tentries=");
	assert_contains(out, "\thits=");
	free(out);
	int master_fd = h.peer;
	h.peer = client_fd;
	expect(&h, 6, "alice", "pw1", "OK\t6", 5);
	expect(&h, 7, "nobody", "x", "FAIL\t7", 6);
	/* flush everything */
	h.peer = master_fd;
	harness_send(&h, "CACHE-FLUSH\t9\n", false);
	out = harness_take(&h);
	assert_contains(out, "OK\t9\t2\n");
	free(out);
	h.peer = client_fd;
	expect(&h, 8, "alice", "pw1", "OK\t8", 7);
	harness_deinit(&h);
	test_now += 100000;
}

static void test_cache_credentials(void **state ATTR_UNUSED)
{
	struct harness h;
	cache_setup(&h);
	for (unsigned int i = 1; i <= 3; i++) {
		char line[128];
		snprintf(line, sizeof(line), "AUTH\t%u\tCRAM-MD5\tservice=imap\n", i);
		harness_send(&h, line, false);
		char *out = harness_take(&h);
		assert_contains(out, "CONT\t");
		free(out);
		/* a wrong response: the credentials lookup still happens */
		out = harness_cont(&h, i, "alice 0123456789abcdef0123456789abcdef", 38);
		assert_contains(out, "FAIL\t");
		free(out);
	}
	assert_int_equal(db.passdb_lookups, 1);
	/* the cached plaintext entry serves PLAIN as well */
	expect(&h, 10, "alice", "pw1", "OK\t10", 1);
	harness_deinit(&h);
	test_now += 100000;
}

static void test_cache_userdb(void **state ATTR_UNUSED)
{
	struct harness h;
	cache_setup(&h);
	harness_connect(&h, true, false);
	harness_send(&h, "VERSION\t1\t0\n", false);
	for (unsigned int i = 1; i <= 3; i++) {
		char line[64];
		snprintf(line, sizeof(line), "USER\t%u\talice\tservice=imap\n", i);
		harness_send(&h, line, false);
		char *out = harness_take(&h);
		snprintf(line, sizeof(line), "USER\t%u\talice\tuid=1001\tmail=maildir:~/Mail\001twith tab\n", i);
		assert_contains(out, line);
		free(out);
		harness_send(&h, "USER\t9\tnobody\tservice=imap\n", false);
		out = harness_take(&h);
		assert_contains(out, "NOTFOUND\t9\n");
		free(out);
	}
	assert_int_equal(db.userdb_lookups, 2);
	/* expired + database down: the old entry answers */
	test_now += 7200;
	db.fail = true;
	harness_send(&h, "USER\t10\talice\tservice=imap\n", false);
	char *out = harness_take(&h);
	assert_contains(out, "USER\t10\talice\tuid=1001");
	free(out);
	assert_int_equal(db.userdb_lookups, 3);
	harness_deinit(&h);
	test_now += 100000;
}

/* LIST with a userdb that answers later, then a synchronous one */
static void test_list_async(void **state ATTR_UNUSED)
{
	struct harness h;
	char *conf = x_printf("%s"
		"userdb {\n  driver = passwd-file\n  args = %s/users\n}\n",
		cache_config, tmpdir);
	write_file("users", "bob:x\ncarol:y\n");
	db.fail = false;
	snprintf(db.password, sizeof(db.password), "{PLAIN}pw1");
	harness_init(&h, conf);
	free(conf);
	test_base = h.base;
	harness_connect(&h, true, false);
	harness_send(&h, "VERSION\t1\t0\nLIST\t5\nUSER\t6\talice\tservice=imap\n", false);
	char *out = harness_take(&h);
	/* the USER reply may come first: LIST lines carry their id */
	assert_contains(out, "LIST\t5\talice\nLIST\t5\tzed\n");
	assert_contains(out, "LIST\t5\tbob\nLIST\t5\tcarol\nDONE\t5\t\n");
	assert_contains(out, "USER\t6\talice\t");
	free(out);
	/* the connection goes away while a listing is pending */
	harness_send(&h, "LIST\t7\n", false);
	harness_deinit(&h);
}

static int setup(void **state ATTR_UNUSED)
{
	auth_settings_allow_test_driver("testdb");
	passdb_driver_register(&testdb_passdb);
	userdb_driver_register(&testdb_userdb);
	return test_harness_setup_dir();
}

static int teardown(void **state ATTR_UNUSED)
{
	return test_harness_remove_dir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_key_parse),
		cmocka_unit_test(test_cache_hits_and_negative),
		cmocka_unit_test(test_cache_password_change),
		cmocka_unit_test(test_cache_fallback_and_flush),
		cmocka_unit_test(test_cache_credentials),
		cmocka_unit_test(test_cache_userdb),
		cmocka_unit_test(test_list_async),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
