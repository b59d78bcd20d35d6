/* Unit tests of the ldap backend's parts that need no server: the
   settings file, LDAP escaping, attribute maps and cache keys. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "db-ldap.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

static const char *write_conf(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/test-ldap.%ld.conf", (long)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_escape(void **state ATTR_UNUSED)
{
	static const struct { const char *in, *out; } tests[] = {
		{ "alice", "alice" },
		{ "*", "\\2A" },
		{ "a)(uid=*", "a\\29\\28uid\\3D\\2A" },
		{ "back\\slash", "back\\5Cslash" },
		{ "o'brien \"q\"", "o'brien\\20\\22q\\22" },
		{ "a,b+c<d>e;f#", "a\\2Cb\\2Bc\\3Cd\\3Ee\\3Bf\\23" },
		{ "j\xc3\xbcrgen", "j\\C3\\BCrgen" },
		{ "", "" },
	};
	struct pool *pool = pool_create("test", 256);
	for (size_t i = 0; i < N_ELEMENTS(tests); i++)
		assert_string_equal(db_ldap_escape(tests[i].in, NULL, pool), tests[i].out);
	pool_destroy(&pool);
}

static void test_settings(void **state ATTR_UNUSED)
{
	struct pool *pool = pool_create("test", 1024);
	struct db_ldap_settings set;
	const char *error = NULL;
	const char *path = write_conf(
		"# comment\n"
		"uris = ldap://127.0.0.1:1/ ldaps://127.0.0.1:2/\n"
		"dn = cn=authd,dc=example,dc=com\n"
		"dnpass = \"secret # not a comment\"\n"
		"base = ou=people,dc=example,dc=com  # trailing comment\n"
		"scope = onelevel\n"
		"pass_attrs = uid=user, userPassword=password, \\\n"
		"  =userdb_home=/home/%{ldap:uid}\n"
		"auth_bind = yes\n");

	assert_int_equal(db_ldap_settings_read(pool, path, &set, &error), 0);
	assert_string_equal(set.uri_list[0], "ldap://127.0.0.1:1/");
	assert_string_equal(set.uri_list[1], "ldaps://127.0.0.1:2/");
	assert_null(set.uri_list[2]);
	assert_string_equal(set.dnpass, "secret # not a comment");
	assert_string_equal(set.base, "ou=people,dc=example,dc=com");
	assert_int_equal(set.scope_value, 1);
	assert_true(set.auth_bind);
	/* defaults as Dovecot 2.3 */
	assert_string_equal(set.user_filter, "(&(objectClass=posixAccount)(uid=%u))");
	assert_string_equal(set.default_pass_scheme, "crypt");
	assert_int_equal(set.ldap_version, 3);
	assert_int_equal(set.pass_map.count, 3);
	assert_string_equal(set.pass_map.attr_names[0], "uid");
	assert_string_equal(set.pass_map.attr_names[1], "userPassword");
	assert_null(set.pass_map.attr_names[2]);

	/* hosts: the old form */
	path = write_conf("hosts = 127.0.0.1:389 ldap2\nbase =\n");
	assert_int_equal(db_ldap_settings_read(pool, path, &set, &error), 0);
	assert_string_equal(set.uri_list[0], "ldap://127.0.0.1:389");
	assert_string_equal(set.uri_list[1], "ldap://ldap2");
	assert_string_equal(set.base, "");
	pool_destroy(&pool);
}

static void test_settings_errors(void **state ATTR_UNUSED)
{
	static const struct { const char *text, *error; } tests[] = {
		{ "uris = ldap://x\nbsae = dc=x\n", ":2: Unknown setting: bsae (did you mean base?)" },
		{ "uris = ldap://x\n", ": No base given" },
		{ "base = dc=x\n", ": No uris or hosts set" },
		{ "uris = http://x\nbase = dc=x\n", ": Invalid LDAP URI: http://x" },
		{ "uris = ldaps://x\nbase = dc=x\ntls = yes\n", ": Don't use both tls=yes and ldaps URI" },
		{ "uris = ldap://x\nbase = dc=x\nscope = deep\n", ": Unknown scope option 'deep'" },
		{ "uris = ldap://x\nbase = dc=x\nderef = maybe\n", ": Unknown deref option 'maybe'" },
		{ "uris = ldap://x\nbase = dc=x\ntls_require_cert = sure\n",
		  ": Unknown tls_require_cert value 'sure'" },
		{ "uris = ldap://x\nbase = dc=x\nauth_bind = maybe\n",
		  ":3: Invalid boolean value for auth_bind: maybe (use yes or no)" },
		{ "uris = ldap://x\nbase = dc=x\nsasl_bind = yes\n", ": sasl_bind=yes is not supported" },
		{ "uris = ldap://x\nbase = dc=x\npass_attrs = @mail=x\n",
		  ": pass_attrs: Invalid attrs entry: @mail=x" },
		{ "uris = ldap://x\nbase = dc=x\nuser_attrs = uid=\n",
		  ": user_attrs: Invalid attrs entry: uid=" },
		{ "uris = ldap://x\nbase = dc=x\nnonsense line\n", ":3: Expected 'key = value'" },
	};
	struct pool *pool = pool_create("test", 1024);
	for (size_t i = 0; i < N_ELEMENTS(tests); i++) {
		struct db_ldap_settings set;
		const char *error = NULL;
		const char *path = write_conf(tests[i].text);
		assert_int_equal(db_ldap_settings_read(pool, path, &set, &error), -1);
		if (strstr(error, tests[i].error) == NULL)
			fail_msg("test %zu: error '%s' does not contain '%s'", i, error,
				 tests[i].error);
	}
	pool_destroy(&pool);
}

struct collected {
	char text[512];
};

static void collect_field(const char *name, const char *value, void *context)
{
	struct collected *c = context;
	size_t len = strlen(c->text);
	snprintf(c->text + len, sizeof(c->text) - len, "%s%s=%s", len > 0 ? " " : "",
		 name, value);
}

static void test_attr_map(void **state ATTR_UNUSED)
{
	struct pool *pool = pool_create("test", 1024);
	struct db_ldap_attr_map map;
	const char *error = NULL;
	const char *uid_values[] = { "alice", NULL };
	const char *home_values[] = { "/home/alice", NULL };
	const char *mail_values[] = { "a@example.com", "b@example.com", NULL };
	const char *quota_values[] = { "1024", NULL };
	struct db_ldap_attr attrs[] = {
		{ .name = "uid", .values = uid_values },
		{ .name = "homeDirectory", .values = home_values },
		{ .name = "mail", .values = mail_values },
		{ .name = "quotaMB", .values = quota_values },
	};
	struct db_ldap_entry entry = {
		.dn = "uid=alice,ou=people,dc=example,dc=com",
		.attrs = attrs, .attr_count = N_ELEMENTS(attrs),
	};
	struct collected c = { .text = "" };

	assert_int_equal(db_ldap_parse_attrs(pool,
		"uid=user, HOMEDIRECTORY=home, quotaMB=quota_rule=*:storage=%$M, "
		"=mail=%{ldap:mail}, =static=fixed, missingAttr=never, "
		"=dn=%{ldap_dn}, =def=%{ldap:nothere:dflt}, !mail, mailbox",
		&map, &error), 0);
	db_ldap_apply_map(&map, &entry, NULL, pool, collect_field, &c);
	assert_string_equal(c.text,
		"user=alice home=/home/alice quota_rule=*:storage=1024M "
		"mail=a@example.com static=fixed "
		"dn=uid=alice,ou=people,dc=example,dc=com def=dflt");
	/* the search asks for every attribute the map and templates use */
	const char *expected[] = { "uid", "HOMEDIRECTORY", "quotaMB", "mail",
				   "missingAttr", "nothere", "mailbox" };
	for (size_t i = 0; i < N_ELEMENTS(expected); i++)
		assert_string_equal(map.attr_names[i], expected[i]);
	assert_null(map.attr_names[N_ELEMENTS(expected)]);
	assert_string_equal(map.request_vars, "");

	/* iteration: all values of the user field */
	assert_int_equal(db_ldap_parse_attrs(pool, "mail=user", &map, &error), 0);
	const char *const *users = db_ldap_map_values(&map, &entry, "user", pool);
	assert_string_equal(users[0], "a@example.com");
	assert_string_equal(users[1], "b@example.com");
	assert_null(users[2]);
	pool_destroy(&pool);
}

static void test_cache_key(void **state ATTR_UNUSED)
{
	struct pool *pool = pool_create("test", 1024);
	struct db_ldap_attr_map map;
	const char *error = NULL;

	assert_int_equal(db_ldap_parse_attrs(pool,
		"uid=user,=home=/home/%d/%{ldap:uid},=rip=%{rip}", &map, &error), 0);
	assert_string_equal(map.request_vars, "%d %{rip}");
	const char *templates[] = { "ou=people,dc=example,dc=com",
				    "(&(objectClass=posixAccount)(uid=%n))", NULL };
	/* %n and %d together become %u; ldap variables are not part of it */
	assert_string_equal(db_ldap_cache_key(pool, templates, &map), "%u\t%r");
	pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_settings_errors),
		cmocka_unit_test(test_attr_map),
		cmocka_unit_test(test_cache_key),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);
	char path[64];
	snprintf(path, sizeof(path), "/tmp/test-ldap.%ld.conf", (long)getpid());
	unlink(path);
	return ret;
}
