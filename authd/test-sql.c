/* Tests of the sql passdb/userdb with SQLite: the settings file, logins
   and lookups over the protocol servers (harness), quoting, credentials
   updates and a database that goes away and comes back. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "log.h"
#include "base64.h"
#include "roost-settings.h"
#include "auth.h"
#include "auth-request.h"
#include "auth-client-connection.h"
#include "auth-master-connection.h"
#include "passdb.h"
#include "userdb.h"
#include "db-sql.h"
#include "test-harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <setjmp.h>
#include <cmocka.h>

#ifdef HAVE_SQLITE
#include <sqlite3.h>

static char db_path[128];
static char conf_path[128];

static void db_exec(const char *sql)
{
	sqlite3 *db;
	char *errmsg = NULL;
	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &errmsg) != SQLITE_OK)
		fail_msg("sqlite: %s: %s", sql, errmsg);
	sqlite3_close(db);
}

static char *db_get(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *stmt;
	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	char *value = NULL;
	if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != NULL)
		value = x_strdup((const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return value;
}

static void db_reset(void)
{
	unlink(db_path);
	db_exec("CREATE TABLE users (username TEXT PRIMARY KEY, domain TEXT, "
		"password TEXT, home TEXT, uid INTEGER, gid INTEGER, quota TEXT);"
		"INSERT INTO users VALUES ('alice', 'example.com', '{PLAIN}alicepw', "
		"'/home/alice', 1001, 1001, '1G');"
		"INSERT INTO users VALUES ('bob', 'example.com', 'bobpw', "
		"'/home/bob', 1002, 1002, NULL);"
		"INSERT INTO users VALUES ('o''brien', 'example.com', '{PLAIN}obpw', "
		"'/home/ob', 1003, 1003, NULL);"
		"INSERT INTO users VALUES ('nopw', 'example.com', NULL, NULL, 1, 1, NULL);"
		"INSERT INTO users VALUES ('twin', 'a', '{PLAIN}x', NULL, 1, 1, NULL);"
		"INSERT INTO users VALUES ('twin2', 'a', '{PLAIN}x', NULL, 1, 1, NULL);");
}

/* the standard settings file: scheme PLAIN, %u queries */
static void write_sql_conf(const char *extra)
{
	char *content = x_printf(
		"# roost sql test\n"
		"driver = sqlite\n"
		"connect = %s\n"
		"default_pass_scheme = PLAIN\n"
		"password_query = SELECT username AS user, password, quota, \\\n"
		"   home AS userdb_home, uid AS userdb_uid \\\n"
		"   FROM users WHERE username = '%%u'\n"
		"user_query = SELECT home, uid, gid, quota AS quota_rule FROM users WHERE username = '%%u'\n"
		"iterate_query = SELECT username AS user FROM users ORDER BY username\n"
		"update_query = UPDATE users SET password = '%%w' WHERE username = '%%u'\n"
		"%s", db_path, extra);
	write_file("sql.conf", content);
	free(content);
}

static char *sql_config(const char *extra_auth)
{
	return x_printf("%s"
			"passdb {\n driver = sql\n args = %s\n}\n"
			"userdb {\n driver = sql\n args = %s\n}\n",
			extra_auth, conf_path, conf_path);
}

static char *plain_resp(const char *user, const char *password)
{
	size_t ulen = strlen(user), plen = strlen(password);
	char *raw = x_malloc(ulen + plen + 2);
	memcpy(raw + 1, user, ulen);
	memcpy(raw + ulen + 2, password, plen);
	char *b64 = test_b64(raw, ulen + plen + 2);
	free(raw);
	return b64;
}

static char *plain_auth(struct harness *h, unsigned int id, const char *user,
			const char *password)
{
	char *resp = plain_resp(user, password);
	char *line = x_printf("AUTH\t%u\tPLAIN\tservice=smtp\tresp=%s\n", id, resp);
	harness_send(h, line, false);
	free(line);
	free(resp);
	/* a query runs on a worker thread: wait for the reply */
	for (int i = 0; i < 40 && strchr(str_c(h->out), '\n') == NULL; i++)
		harness_run(h);
	return harness_take(h);
}

static char *read_log(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return x_strdup("");
	fclose(f);
	return test_read_file(path);
}

/* ---- settings file ----------------------------------------------------- */

static void test_settings_parse(void **state ATTR_UNUSED)
{
	struct pool *pool = pool_create("test", 256);
	struct db_sql *db, *db2;
	const char *error;

	write_file("parse.conf",
		   "  # comment line\n"
		   "\n"
		   "driver = sqlite   # trailing comment\n"
		   "connect = \"/tmp/x y.db\"\n"
		   "password_query = SELECT password FROM users \\\n"
		   "\tWHERE username = '%u' AND note = '# not a comment'\n"
		   "user_query = SELECT home FROM users WHERE username = '%n'\\\n"
		   "  AND domain = '%d'\n"
		   "userdb_warning_disable = yes\n");
	char *path = x_printf("%s/parse.conf", tmpdir);
	assert_int_equal(db_sql_init(pool, path, false, &db, &error), 0);
	const struct sql_settings *set = db_sql_get_settings(db);
	assert_string_equal(set->driver, "sqlite");
	assert_string_equal(set->connect, "/tmp/x y.db");
	assert_string_equal(set->password_query, "SELECT password FROM users "
			    "WHERE username = '%u' AND note = '# not a comment'");
	assert_string_equal(set->user_query, "SELECT home FROM users WHERE "
			    "username = '%n' AND domain = '%d'");
	/* Dovecot's defaults */
	assert_string_equal(set->default_pass_scheme, "MD5");
	assert_string_equal(set->update_query, "UPDATE users SET password = '%w' "
			    "WHERE username = '%n' AND domain = '%d'");
	assert_string_equal(set->iterate_query, "SELECT username, domain FROM users");
	assert_false(set->default_password_query);
	assert_true(set->default_update_query);
	assert_true(set->userdb_warning_disable);
	assert_string_equal(db_sql_get_display_name(db), "sqlite(/tmp/x y.db)");
	/* passdb and userdb naming the same file share the pool */
	assert_int_equal(db_sql_init(pool, path, true, &db2, &error), 0);
	assert_ptr_equal(db, db2);
	db_sql_unref(&db2);
	db_sql_unref(&db);
	assert_null(db);
	free(path);
	pool_destroy(&pool);
}

/* log lines name the database without its password */
static void test_display_name(void **state ATTR_UNUSED)
{
	static const struct {
		const char *driver, *connect, *display;
	} tests[] = {
		{ "sqlite", "/var/db/auth.db", "sqlite(/var/db/auth.db)" },
#ifdef HAVE_PGSQL
		{ "pgsql", "host=/tmp/x port = 5432 password = 'se cret\\' x' dbname=a user='u v'",
		  "pgsql(host=/tmp/x port=5432 dbname=a user='u v')" },
		{ "pgsql", "postgresql://authd:secret@db.example.com:5432/authdb",
		  "pgsql(postgresql://db.example.com:5432/authdb)" },
#endif
#ifdef HAVE_MYSQL
		{ "mysql", "host=db password=secret user=authd dbname=authdb",
		  "mysql(host=db user=authd dbname=authdb)" },
		/* Dovecot's pool words are not the database library's */
		{ "mysql", "host=db1 host=db2 maxconns=3 user=authd",
		  "mysql(host=db1 host=db2 maxconns=3 user=authd)" },
#endif
#ifdef HAVE_PGSQL
		{ "pgsql", "host=db1 host=/run/pg port=5433 maxconns=2 password=x dbname=a",
		  "pgsql(host=db1 host=/run/pg port=5433 maxconns=2 dbname=a)" },
#endif
	};
	struct pool *pool = pool_create("test", 256);
	char *path = x_printf("%s/display.conf", tmpdir);
	for (size_t i = 0; i < N_ELEMENTS(tests); i++) {
		struct db_sql *db;
		const char *error;
		char *content = x_printf("driver = %s\nconnect = %s\n", tests[i].driver,
					 tests[i].connect);
		write_file("display.conf", content);
		free(content);
		if (db_sql_init(pool, path, false, &db, &error) < 0)
			fail_msg("%s", error);
		assert_string_equal(db_sql_get_display_name(db), tests[i].display);
		db_sql_unref(&db);
	}
	free(path);
	pool_destroy(&pool);
}

static const struct {
	const char *content;
	const char *error;
} settings_errors[] = {
	{ "driver = sqlite\nconnect = /x\npasword_query = SELECT 1\n",
	  "settings.conf:3: Unknown setting: pasword_query (did you mean password_query?)" },
	{ "driver = sqlite\n\n# c\nfoo_bar_baz = 1\n", "settings.conf:4: Unknown setting: foo_bar_baz" },
	{ "driver = sqlite\nconnect\n", "settings.conf:2: Expected 'key = value'" },
	{ "connect = /x\n", "driver not set" },
	{ "driver = sqlite\n", "connect string not set" },
	{ "driver = oracle\nconnect = x\n", "Unknown sql driver: oracle (supported: sqlite, pgsql, mysql)" },
	{ "driver = sqlite\nconnect = /x\nuserdb_warning_disable = maybe\n",
	  "settings.conf:3: Invalid boolean value for userdb_warning_disable" },
	{ "driver = sqlite\nconnect = host=x dbname=y\n", "sqlite wants the path" },
#ifdef HAVE_PGSQL
	{ "driver = pgsql\nconnect = host=x 'dbname\n", "settings.conf: connect: " },
	{ "driver = pgsql\nconnect = host=x maxconns=0\n",
	  "settings.conf: connect: Invalid value for maxconns: 0" },
	{ "driver = pgsql\nconnect = host=x maxconns=many\n",
	  "settings.conf: connect: Invalid value for maxconns: many" },
	{ "driver = pgsql\nconnect = host=x host=y 'dbname\n", "settings.conf: connect: " },
#endif
#ifdef HAVE_MYSQL
	{ "driver = mysql\nconnect = host=x colour=blue\n",
	  "connect: Unknown connect string word: colour" },
#endif
};

static void test_settings_errors(void **state ATTR_UNUSED)
{
	struct pool *pool = pool_create("test", 256);
	struct db_sql *db;
	const char *error;

	for (size_t i = 0; i < N_ELEMENTS(settings_errors); i++) {
		write_file("settings.conf", settings_errors[i].content);
		char *path = x_printf("%s/settings.conf", tmpdir);
		assert_int_equal(db_sql_init(pool, path, false, &db, &error), -1);
		assert_contains(error, settings_errors[i].error);
		free(path);
	}
	char *path = x_printf("%s/nosuch.conf", tmpdir);
	assert_int_equal(db_sql_init(pool, path, false, &db, &error), -1);
	assert_contains(error, "open(");
	assert_contains(error, "nosuch.conf) failed: No such file or directory");
	free(path);
	assert_int_equal(db_sql_init(pool, "", false, &db, &error), -1);
	assert_contains(error, "args must be the path");
	pool_destroy(&pool);

	/* through the configuration: the error names the passdb section */
	struct roost_settings *set;
	struct auth *auth;
	struct pool *err_pool = pool_create("errors", 256);
	char *conf = x_printf("passdb {\n driver = sql\n args = %s/nosuch.conf\n}\n", tmpdir);
	assert_int_equal(roost_settings_read_string(conf, "test.conf", &set, err_pool,
						    &error), 0);
	struct event_base *base = event_base_new();
	assert_int_equal(auth_create(base, set, &auth, &error), -1);
	assert_contains(error, "test.conf:1: passdb sql: open(");
	free((char *)error);
	event_base_free(base);
	roost_settings_free(&set);
	pool_destroy(&err_pool);
	free(conf);
}

static void test_escape(void **state ATTR_UNUSED)
{
	static const struct {
		const char *in;
		enum sql_escape_flags flags;
		const char *out;
	} tests[] = {
		{ "alice", 0, "alice" },
		{ "o'brien", 0, "o''brien" },
		{ "a\\'b", 0, "a\\''b" },
		{ "a\\'b", SQL_ESCAPE_BACKSLASH, "a\\\\''b" },
		{ "''", SQL_ESCAPE_BACKSLASH, "''''" },
		{ "", 0, "" },
	};
	for (size_t i = 0; i < N_ELEMENTS(tests); i++) {
		char *out = sql_escape_generic(tests[i].in, tests[i].flags);
		assert_string_equal(out, tests[i].out);
		free(out);
	}
}

/* ---- lookups over the protocols ---------------------------------------- */

static void test_cache_keys(void **state ATTR_UNUSED)
{
	struct harness h;
	db_reset();
	write_sql_conf("");
	char *conf = sql_config("");
	harness_init(&h, conf);
	assert_string_equal(h.auth->passdbs.v[0]->module->default_cache_key, "%u");
	assert_string_equal(h.auth->passdbs.v[0]->module->default_pass_scheme, "PLAIN");
	assert_string_equal(h.auth->userdbs.v[0]->module->default_cache_key, "%u");
	harness_connect(&h, false, false);
	harness_deinit(&h);
	free(conf);

	write_sql_conf("password_query = SELECT password FROM users WHERE "
		       "username = '%n' AND domain = '%d' AND ip = '%r'\n"
		       "user_query = SELECT home FROM users WHERE username = '%n' "
		       "AND svc = '%{service}'\n");
	conf = sql_config("");
	harness_init(&h, conf);
	assert_string_equal(h.auth->passdbs.v[0]->module->default_cache_key, "%u\t%r");
	assert_non_null(strstr(h.auth->userdbs.v[0]->module->default_cache_key, "%n"));
	assert_non_null(strstr(h.auth->userdbs.v[0]->module->default_cache_key, "%s"));
	harness_connect(&h, false, false);
	harness_deinit(&h);
	free(conf);
}

static void test_plain_logins(void **state ATTR_UNUSED)
{
	struct harness h;
	char logpath[256];
	const char *error;

	snprintf(logpath, sizeof(logpath), "%s/plain.log", tmpdir);
	unlink(logpath);
	db_reset();
	write_sql_conf("");
	char *conf = sql_config("");
	assert_int_equal(log_set_target(logpath, NULL, &error), 0);
	harness_init(&h, conf);
	harness_connect(&h, false, false);
	harness_send(&h, "VERSION\t1\t2\nCPID\t1\n", false);
	free(harness_take(&h));

	char *out = plain_auth(&h, 1, "alice", "alicepw");
	/* extra field from the quota column */
	assert_contains(out, "OK\t1\tuser=alice\tquota=1G");
	free(out);
	out = plain_auth(&h, 2, "alice", "wrong");
	assert_contains(out, "FAIL\t2\tuser=alice");
	assert_null(strstr(out, "temp_fail"));
	free(out);
	out = plain_auth(&h, 3, "nosuch", "x");
	assert_contains(out, "FAIL\t3\tuser=nosuch");
	assert_null(strstr(out, "temp_fail"));
	free(out);
	/* no {SCHEME}: default_pass_scheme; NULL quota is not a field */
	out = plain_auth(&h, 4, "bob", "bobpw");
	assert_string_equal(out, "OK\t4\tuser=bob\n");
	free(out);
	/* NULL password without nopassword: a mismatch */
	out = plain_auth(&h, 5, "nopw", "");
	assert_contains(out, "FAIL\t5\tuser=nopw");
	assert_null(strstr(out, "temp_fail"));
	free(out);
	harness_deinit(&h);
	free(conf);

	/* more than one row, no password column, a broken query: internal
	   failures, logged */
	write_sql_conf("password_query = SELECT password FROM users WHERE domain = "
		       "CASE WHEN '%u' = 'twin' THEN 'a' ELSE 'none' END\n");
	conf = sql_config("");
	harness_init(&h, conf);
	harness_connect(&h, false, false);
	harness_send(&h, "VERSION\t1\t2\nCPID\t1\n", false);
	free(harness_take(&h));
	out = plain_auth(&h, 6, "twin", "x");
	assert_contains(out, "FAIL\t6\tuser=twin\tcode=temp_fail");
	free(out);
	out = plain_auth(&h, 7, "alice", "x");
	assert_contains(out, "FAIL\t7\tuser=alice\n");
	free(out);
	harness_deinit(&h);
	free(conf);

	write_sql_conf("password_query = SELECT home FROM users WHERE username = '%u'\n");
	conf = sql_config("");
	harness_init(&h, conf);
	harness_connect(&h, false, false);
	harness_send(&h, "VERSION\t1\t2\nCPID\t1\n", false);
	free(harness_take(&h));
	out = plain_auth(&h, 8, "alice", "alicepw");
	assert_contains(out, "FAIL\t8\tuser=alice\tcode=temp_fail");
	free(out);
	harness_deinit(&h);
	free(conf);

	write_sql_conf("password_query = SELECT password FROM nosuchtable WHERE x = '%u'\n");
	conf = sql_config("");
	harness_init(&h, conf);
	harness_connect(&h, false, false);
	harness_send(&h, "VERSION\t1\t2\nCPID\t1\n", false);
	free(harness_take(&h));
	out = plain_auth(&h, 9, "alice", "alicepw");
	assert_contains(out, "FAIL\t9\tuser=alice\tcode=temp_fail");
	free(out);
	harness_deinit(&h);
	free(conf);

	log_set_fd(2);
	char *log = read_log(logpath);
	assert_contains(log, "sql: Empty password returned without nopassword");
	assert_contains(log, "sql: Password query returned multiple matches");
	assert_contains(log, "sql: Password query must return a field named 'password'");
	assert_contains(log, "sql: Password query failed: no such table: nosuchtable");
	free(log);
}

static void test_password_fields(void **state ATTR_UNUSED)
{
	struct harness h;
	db_reset();
	/* password_noscheme: a leading {...} is part of the password;
	   nopassword and a NULL password; user renames */
	db_exec("INSERT INTO users VALUES ('curly', 'x', '{weird}pw', NULL, 1, 1, NULL);"
		"INSERT INTO users VALUES ('free', 'x', NULL, NULL, 1, 1, NULL);");
	write_sql_conf("password_query = SELECT password AS password_noscheme, "
		       "CASE WHEN username = 'free' THEN 'y' ELSE NULL END AS nopassword, "
		       "upper(username) AS user, '' AS empty "
		       "FROM users WHERE username = '%u'\n");
	char *conf = sql_config("");
	harness_init(&h, conf);
	harness_connect(&h, false, false);
	harness_send(&h, "VERSION\t1\t2\nCPID\t1\n", false);
	free(harness_take(&h));
	char *out = plain_auth(&h, 1, "curly", "{weird}pw");
	assert_contains(out, "OK\t1\tuser=CURLY");
	free(out);
	out = plain_auth(&h, 2, "free", "anything");
	assert_contains(out, "OK\t2\tuser=FREE");
	free(out);
	/* {PLAIN} is not a scheme with password_noscheme */
	out = plain_auth(&h, 3, "alice", "alicepw");
	assert_contains(out, "FAIL\t3\t");
	free(out);
	harness_deinit(&h);
	free(conf);
}

static char *cram_login(struct harness *h, unsigned int id, const char *user,
			const char *secret)
{
	char *line = x_printf("AUTH\t%u\tCRAM-MD5\tservice=smtp\n", id);
	harness_send(h, line, false);
	free(line);
	char *out = harness_take(h);
	char *prefix = x_printf("CONT\t%u\t", id);
	const char *cont = strstr(out, prefix);
	if (cont == NULL)
		fail_msg("no challenge: %s", out);
	cont += strlen(prefix);
	free(prefix);
	string_t *challenge = str_create(64);
	char *b64 = x_strndup(cont, strcspn(cont, "\n"));
	assert_int_equal(base64_decode(challenge, b64, strlen(b64)), 0);
	unsigned char mac[16];
	unsigned int mac_len = sizeof(mac);
	HMAC(EVP_md5(), secret, (int)strlen(secret), str_data(challenge),
	     str_len(challenge), mac, &mac_len);
	string_t *resp = str_create(64);
	str_printfa(resp, "%s ", user);
	for (unsigned int i = 0; i < mac_len; i++)
		str_printfa(resp, "%02x", mac[i]);
	char *enc = test_b64(str_data(resp), str_len(resp));
	line = x_printf("CONT\t%u\t%s\n", id, enc);
	harness_send(h, line, false);
	for (int i = 0; i < 40 && strchr(str_c(h->out), '\n') == NULL; i++)
		harness_run(h);
	free(line);
	free(enc);
	str_free(&resp);
	str_free(&challenge);
	free(b64);
	free(out);
	return harness_take(h);
}

static void test_cram_md5(void **state ATTR_UNUSED)
{
	struct harness h;
	db_reset();
	write_sql_conf("");
	char *conf = sql_config("auth_mechanisms = cram-md5 plain\n");
	harness_init(&h, conf);
	harness_connect(&h, false, false);
	harness_send(&h, "VERSION\t1\t2\nCPID\t1\n", false);
	free(harness_take(&h));
	char *out = cram_login(&h, 1, "alice", "alicepw");
	assert_contains(out, "OK\t1\tuser=alice");
	free(out);
	out = cram_login(&h, 2, "alice", "wrong");
	assert_contains(out, "FAIL\t2\tuser=alice");
	free(out);
	out = cram_login(&h, 3, "nosuch", "x");
	assert_contains(out, "FAIL\t3\tuser=nosuch");
	free(out);
	harness_deinit(&h);
	free(conf);
}

static void wait_for_line(struct harness *h, const char *needle)
{
	for (int i = 0; i < 40 && strstr(str_c(h->out), needle) == NULL; i++)
		harness_run(h);
}

static void test_userdb_and_iterate(void **state ATTR_UNUSED)
{
	struct harness h;
	db_reset();
	write_sql_conf("");
	char *conf = sql_config("");
	harness_init(&h, conf);
	harness_connect(&h, true, false);
	harness_send(&h, "VERSION\t1\t1\nUSER\t1\talice\tservice=lmtp\n"
		     "USER\t2\tnosuch\tservice=lmtp\nUSER\t3\tbob\tservice=lmtp\n"
		     "PASS\t4\talice\tservice=imap\n", false);
	wait_for_line(&h, "PASS\t4");
	wait_for_line(&h, "USER\t3");
	wait_for_line(&h, "NOTFOUND\t2");
	char *out = harness_take(&h);
	assert_contains(out, "USER\t1\talice\thome=/home/alice\tuid=1001\tgid=1001\t"
			"quota_rule=1G\n");
	assert_contains(out, "NOTFOUND\t2\n");
	/* NULL columns are left out */
	assert_contains(out, "USER\t3\tbob\thome=/home/bob\tuid=1002\tgid=1002\n");
	assert_contains(out, "PASS\t4\tuser=alice\tquota=1G");
	free(out);

	harness_send(&h, "LIST\t5\n", false);
	out = harness_take(&h);
	assert_string_equal(out, "LIST\t5\talice\nLIST\t5\tbob\nLIST\t5\tnopw\n"
			    "LIST\t5\to'brien\nLIST\t5\ttwin\nLIST\t5\ttwin2\nDONE\t5\t\n");
	free(out);
	harness_send(&h, "LIST\t6\tuser=t*\n", false);
	out = harness_take(&h);
	assert_string_equal(out, "LIST\t6\ttwin\nLIST\t6\ttwin2\nDONE\t6\t\n");
	free(out);
	harness_deinit(&h);
	free(conf);

	/* username + domain columns; a missing user column fails the listing */
	write_sql_conf("iterate_query = SELECT username, domain FROM users "
		       "WHERE username LIKE 'a%%' OR username = 'nopw%u'\n");
	conf = sql_config("");
	harness_init(&h, conf);
	harness_connect(&h, true, false);
	harness_send(&h, "VERSION\t1\t1\n", false);
	free(harness_take(&h));
	harness_send(&h, "LIST\t1\n", false);
	out = harness_take(&h);
	assert_string_equal(out, "LIST\t1\talice@example.com\nLIST\t1\tnopw@example.com\n"
			    "DONE\t1\t\n");
	free(out);
	harness_deinit(&h);
	free(conf);

	write_sql_conf("iterate_query = SELECT home FROM users\n");
	conf = sql_config("");
	harness_init(&h, conf);
	harness_connect(&h, true, false);
	harness_send(&h, "VERSION\t1\t1\n", false);
	free(harness_take(&h));
	harness_send(&h, "LIST\t1\n", false);
	out = harness_take(&h);
	assert_string_equal(out, "DONE\t1\tfail\n");
	free(out);
	harness_deinit(&h);
	free(conf);
}

/* A single quote in the user name must not end the SQL string. */
static void test_quoting(void **state ATTR_UNUSED)
{
	struct harness h;
	db_reset();
	write_sql_conf("");
	char *conf = sql_config("auth_username_chars =\n");
	harness_init(&h, conf);
	harness_connect(&h, false, false);
	harness_send(&h, "VERSION\t1\t2\nCPID\t1\n", false);
	free(harness_take(&h));
	char *out = plain_auth(&h, 1, "o'brien", "obpw");
	assert_contains(out, "OK\t1\tuser=o'brien");
	free(out);
	/* an injection attempt is just an unknown user */
	out = plain_auth(&h, 2, "x' OR '1'='1", "alicepw");
	assert_contains(out, "FAIL\t2\t");
	assert_null(strstr(out, "temp_fail"));
	free(out);
	harness_deinit(&h);
	free(conf);
}

static bool set_credentials_done;
static bool set_credentials_success;

static void set_credentials_callback(struct auth_request *request ATTR_UNUSED,
				     bool success)
{
	set_credentials_done = true;
	set_credentials_success = success;
}

static const struct auth_request_handler null_handler = { NULL, NULL, NULL, NULL };

static bool run_set_credentials(struct harness *h, const char *user,
				const char *credentials)
{
	const char *error;
	struct auth_request *request = auth_request_new(h->auth, NULL, &null_handler, NULL);
	assert_true(auth_request_set_username(request, user, &error));
	request->credentials_passdb = h->auth->passdbs.v[0];
	set_credentials_done = false;
	auth_request_set_credentials(request, credentials, set_credentials_callback);
	for (int i = 0; i < 2000 && !set_credentials_done; i++) {
		event_base_loop(h->base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
	assert_true(set_credentials_done);
	auth_request_unref(&request);
	return set_credentials_success;
}

static void test_set_credentials(void **state ATTR_UNUSED)
{
	struct harness h;
	db_reset();
	write_sql_conf("");
	char *conf = sql_config("");
	harness_init(&h, conf);
	harness_connect(&h, false, false);
	assert_true(run_set_credentials(&h, "alice", "{PLAIN}new'pw"));
	char *value = db_get("SELECT password FROM users WHERE username = 'alice'");
	assert_string_equal(value, "{PLAIN}new'pw");
	free(value);
	harness_send(&h, "VERSION\t1\t2\nCPID\t1\n", false);
	free(harness_take(&h));
	char *out = plain_auth(&h, 1, "alice", "new'pw");
	assert_contains(out, "OK\t1\tuser=alice");
	free(out);
	harness_deinit(&h);
	free(conf);

	/* a failing update_query reports false */
	write_sql_conf("update_query = UPDATE nosuchtable SET x = '%w'\n");
	conf = sql_config("");
	harness_init(&h, conf);
	assert_false(run_set_credentials(&h, "alice", "{PLAIN}x"));
	harness_connect(&h, false, false);
	harness_deinit(&h);
	free(conf);
}

/* The database file is missing: internal failure, logged, no hang; it
   comes back: logins work again after the connect backoff. */
static void test_db_down_and_back(void **state ATTR_UNUSED)
{
	struct harness h;
	char logpath[256];
	const char *error;

	snprintf(logpath, sizeof(logpath), "%s/down.log", tmpdir);
	unlink(logpath);
	unlink(db_path);
	write_sql_conf("");
	char *conf = sql_config("");
	assert_int_equal(log_set_target(logpath, NULL, &error), 0);
	harness_init(&h, conf);
	harness_connect(&h, false, false);
	harness_send(&h, "VERSION\t1\t2\nCPID\t1\n", false);
	free(harness_take(&h));
	char *out = plain_auth(&h, 1, "alice", "alicepw");
	assert_contains(out, "FAIL\t1\tuser=alice\tcode=temp_fail");
	free(out);
	/* within the backoff: fails at once with the last error */
	out = plain_auth(&h, 2, "alice", "alicepw");
	assert_contains(out, "FAIL\t2\tuser=alice\tcode=temp_fail");
	free(out);
	harness_connect(&h, true, false);
	harness_send(&h, "VERSION\t1\t1\nUSER\t3\talice\tservice=lmtp\n", false);
	wait_for_line(&h, "\t3");
	out = harness_take(&h);
	assert_contains(out, "FAIL\t3");
	free(out);

	db_reset();
	/* the first retry comes 1 s after the first failure */
	usleep(1100 * 1000);
	harness_connect(&h, false, false);
	harness_send(&h, "VERSION\t1\t2\nCPID\t1\n", false);
	free(harness_take(&h));
	out = plain_auth(&h, 4, "alice", "alicepw");
	assert_contains(out, "OK\t4\tuser=alice");
	free(out);
	harness_deinit(&h);
	free(conf);
	log_set_fd(2);
	char *log = read_log(logpath);
	char *expect = x_printf("Password query failed: Connect to sqlite(%s) failed: "
				"sqlite3_open_v2(%s) failed: unable to open database file",
				db_path, db_path);
	assert_contains(log, expect);
	free(expect);
	assert_contains(log, "Password query failed: Not connected to sqlite(");
	assert_contains(log, "User query failed: ");
	expect = x_printf("sql: Reconnected to sqlite(%s)", db_path);
	assert_contains(log, expect);
	free(expect);
	free(log);
}

#ifdef HAVE_PGSQL
/* pgsql on the event loop, with two hosts that are both down (socket
   directories without a server): the first failure is a warning, the
   request fails with the last one, and the next request within the
   back-off fails at once naming the host to be tried next. */
static void test_pgsql_hosts_down(void **state ATTR_UNUSED)
{
	struct harness h;
	char logpath[256];
	const char *error;

	snprintf(logpath, sizeof(logpath), "%s/pgdown.log", tmpdir);
	unlink(logpath);
	char *content = x_printf("driver = pgsql\n"
				 "connect = host=%s/pga host=%s/pgb port=5999 dbname=authdb "
				 "user=authd password=secretpw maxconns=2\n"
				 "password_query = SELECT password FROM users WHERE username = '%%u'\n"
				 "user_query = SELECT home FROM users WHERE username = '%%u'\n",
				 tmpdir, tmpdir);
	write_file("sql.conf", content);
	free(content);
	char *conf = sql_config("");
	assert_int_equal(log_set_target(logpath, NULL, &error), 0);
	harness_init(&h, conf);
	harness_connect(&h, false, false);
	harness_send(&h, "VERSION\t1\t2\nCPID\t1\n", false);
	free(harness_take(&h));
	char *out = plain_auth(&h, 1, "alice", "alicepw");
	assert_contains(out, "FAIL\t1\tuser=alice\tcode=temp_fail");
	free(out);
	out = plain_auth(&h, 2, "alice", "alicepw");
	assert_contains(out, "FAIL\t2\tuser=alice\tcode=temp_fail");
	free(out);
	harness_deinit(&h);
	free(conf);
	log_set_fd(2);

	char *log = read_log(logpath);
	char *expect = x_printf("Warning: sql: Connect to pgsql(host=%s/pga port=5999 "
				"dbname=authdb user=authd) failed: ", tmpdir);
	assert_contains(log, expect);
	free(expect);
	expect = x_printf("Password query failed: Connect to pgsql(host=%s/pgb port=5999 "
			  "dbname=authdb user=authd) failed: ", tmpdir);
	assert_contains(log, expect);
	free(expect);
	expect = x_printf("Password query failed: Not connected to pgsql(host=%s/pga ", tmpdir);
	assert_contains(log, expect);
	free(expect);
	assert_contains(log, "(retrying in 1 s)");
	assert_true(strstr(log, "secretpw") == NULL);
	assert_true(strstr(log, "maxconns") == NULL);
	free(log);
}
#endif

static int setup(void **state ATTR_UNUSED)
{
	if (test_harness_setup_dir() < 0)
		return -1;
	snprintf(db_path, sizeof(db_path), "%s/auth.db", tmpdir);
	snprintf(conf_path, sizeof(conf_path), "%s/sql.conf", tmpdir);
	return 0;
}

static int teardown(void **state ATTR_UNUSED)
{
	return test_harness_remove_dir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings_parse),
		cmocka_unit_test(test_settings_errors),
		cmocka_unit_test(test_display_name),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_cache_keys),
		cmocka_unit_test(test_plain_logins),
		cmocka_unit_test(test_password_fields),
		cmocka_unit_test(test_cram_md5),
		cmocka_unit_test(test_userdb_and_iterate),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_set_credentials),
		cmocka_unit_test(test_db_down_and_back),
#ifdef HAVE_PGSQL
		cmocka_unit_test(test_pgsql_hosts_down),
#endif
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
#else
int main(void)
{
	/* automake: skipped */
	return 77;
}
#endif
