/* Unit tests for roost-settings.h: the whole configuration of roostd and
   roost-auth, Dovecot 2.3 syntax and defaults. */
#include "lib.h"
#include "roost-settings.h"
#include "pool.h"
#include "str.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <setjmp.h>
#include <cmocka.h>

#define PASSDB "passdb {\n  driver = passwd-file\n  args = /etc/roost/users\n}\n"
/* what auth_mechanisms accepts (gssapi only when built with libkrb5) */
#ifdef HAVE_GSSAPI
#define SUPPORTED_MECHS "plain login anonymous cram-md5 digest-md5 external gssapi otp scram-sha-1 scram-sha-256"
#else
#define SUPPORTED_MECHS "plain login anonymous cram-md5 digest-md5 external otp scram-sha-1 scram-sha-256"
#endif

static struct roost_settings *read_ok(const char *text)
{
	struct pool *err_pool = pool_create("err", 256);
	struct roost_settings *set = NULL;
	const char *error = NULL;

	if (roost_settings_read_string(text, "t.conf", &set, err_pool, &error) < 0)
		fail_msg("unexpected error: %s\nconfig:\n%s", error, text);
	assert_non_null(set);
	pool_destroy(&err_pool);
	return set;
}

static const struct unix_listener_settings *
find_unix(const struct service_settings *service, const char *path)
{
	for (size_t i = 0; i < service->unix_listeners.count; i++) {
		if (strcmp(service->unix_listeners.v[i]->path, path) == 0)
			return service->unix_listeners.v[i];
	}
	return NULL;
}

static void test_defaults(void **state ATTR_UNUSED)
{
	struct roost_settings *set = read_ok(PASSDB);
	const struct master_settings *m = set->master;
	const struct auth_settings *a = set->auth;
	const struct service_settings *auth;
	const struct unix_listener_settings *l;

	assert_string_equal(set->config_path, "t.conf");
	assert_string_equal(m->base_dir, "/run/roost");
	assert_string_equal(m->state_dir, "/var/lib/roost");
	assert_string_equal(m->instance_name, "roost");
	assert_string_equal(m->log_path, "");
	assert_string_equal(m->protocols, "none");
	assert_string_equal(m->ssl, "no");
	assert_string_equal(m->listen, "*, ::");
	assert_string_equal(m->syslog_facility, "mail");
	assert_string_equal(m->log_timestamp, "%b %d %H:%M:%S ");
	assert_string_equal(m->default_internal_user, "dovecot");
	assert_string_equal(m->default_login_user, "dovenull");
	assert_int_equal(m->default_process_limit, 100);
	assert_int_equal(m->default_client_limit, 1000);
	assert_true(m->default_vsz_limit == 256ULL * 1024 * 1024);
	assert_int_equal(m->default_idle_kill, 60);

	/* Dovecot 2.3 auth defaults (doveconf -a) */
	assert_string_equal(a->auth_mechanisms, "plain");
	assert_string_equal(a->auth_username_format, "%Lu");
	assert_string_equal(a->auth_anonymous_username, "anonymous");
	assert_string_equal(a->auth_username_chars,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890.-_@");
	assert_string_equal(a->auth_verbose_passwords, "no");
	assert_false(a->auth_verbose);
	assert_false(a->auth_debug);
	assert_int_equal(a->auth_failure_delay, 2);
	assert_int_equal(a->auth_worker_max_count, 30);
	assert_true(a->auth_cache_size == 0);
	assert_int_equal(a->auth_cache_ttl, 3600);
	assert_int_equal(a->auth_cache_negative_ttl, 3600);
	assert_true(a->disable_plaintext_auth);
	assert_string_equal(a->auth_policy_server_url, "");

	assert_int_equal(a->passdbs.count, 1);
	const struct auth_passdb_settings *p = a->passdbs.v[0];
	assert_string_equal(p->driver, "passwd-file");
	assert_string_equal(p->args, "/etc/roost/users");
	assert_string_equal(p->name, "");
	assert_string_equal(p->skip, "never");
	assert_string_equal(p->result_success, "return-ok");
	assert_string_equal(p->result_failure, "continue");
	assert_string_equal(p->result_internalfail, "continue");
	assert_string_equal(p->auth_verbose, "default");
	assert_string_equal(p->def_file, "t.conf");
	assert_int_equal(p->def_line, 1);
	assert_int_equal(a->userdbs.count, 0);

	/* the default auth service and its listeners */
	assert_int_equal(m->services.count, 1);
	auth = roost_settings_find_service(set, "auth");
	assert_non_null(auth);
	assert_true(auth->implemented);
	assert_string_equal(auth->executable, "roost-auth");
	/* roost runs the built-in auth service as roostd's user */
	assert_string_equal(auth->user, "");
	assert_int_equal(auth->process_limit, 1);
	assert_int_equal(auth->client_limit, 1000);   /* default_client_limit */
	assert_true(auth->vsz_limit == 256ULL * 1024 * 1024);
	assert_int_equal(auth->idle_kill, 60);
	assert_int_equal(auth->unix_listeners.count, 3);
	assert_int_equal(auth->inet_listeners.count, 0);
	l = find_unix(auth, "auth-client");
	assert_non_null(l);
	assert_int_equal(l->mode, 0600);
	assert_string_equal(l->user, "");
	assert_string_equal(l->group, "");
	assert_string_equal(l->def_file, MASTER_SETTINGS_BUILTIN_FILE);
	l = find_unix(auth, "auth-master");
	assert_non_null(l);
	assert_int_equal(l->mode, 0600);
	assert_string_equal(l->user, "");
	l = find_unix(auth, "auth-userdb");
	assert_non_null(l);
	assert_int_equal(l->mode, 0666);
	assert_null(roost_settings_find_service(set, "imap"));
	assert_int_equal(set->warning_count, 0);
	assert_null(set->warnings[0]);
	roost_settings_free(&set);
	assert_null(set);
}

/* The Dovecot auth-only config of the shared service tests
   (dovecot-auth.inc.sh), as Dovecot 2.3 runs it. */
static const char dovecot_auth_conf[] =
	"instance_name = authtest-1234\n"
	"base_dir  = /tmp/x/dovecot-run\n"
	"state_dir = /tmp/x/dovecot-state\n"
	"log_path  = /tmp/x/dovecot.log\n"
	"protocols = none\n"
	"listen = 127.0.0.1\n"
	"ssl = no\n"
	"disable_plaintext_auth = no\n"
	"auth_mechanisms = plain login\n"
	"auth_verbose = yes\n"
	"# for tests: no 2 s delay before FAIL, and no growing per-IP penalty after failures\n"
	"auth_failure_delay = 0\n"
	"service anvil {\n"
	"  unix_listener anvil-auth-penalty {\n"
	"    mode = 0\n"
	"  }\n"
	"}\n"
	"passdb {\n"
	"  driver = passwd-file\n"
	"  args = scheme=PLAIN username_format=%u /tmp/x/users\n"
	"}\n"
	"userdb {\n"
	"  driver = passwd-file\n"
	"  args = username_format=%u /tmp/x/users\n"
	"}\n"
	"service auth {\n"
	"  unix_listener /tmp/x/auth-client {\n"
	"    mode = 0666\n"
	"  }\n"
	"  inet_listener auth-inet {\n"
	"    address = 127.0.0.1\n"
	"    port = 12345\n"
	"  }\n"
	"}\n";

static void test_dovecot_auth_conf(void **state ATTR_UNUSED)
{
	struct roost_settings *set = read_ok(dovecot_auth_conf);
	const struct service_settings *auth, *anvil;
	const struct unix_listener_settings *l;
	const struct inet_listener_settings *il;

	assert_string_equal(set->master->instance_name, "authtest-1234");
	assert_string_equal(set->master->base_dir, "/tmp/x/dovecot-run");
	assert_string_equal(set->master->listen, "127.0.0.1");
	assert_false(set->auth->disable_plaintext_auth);
	assert_true(set->auth->auth_verbose);
	assert_int_equal(set->auth->auth_failure_delay, 0);
	assert_string_equal(set->auth->auth_mechanisms, "plain login");
	assert_int_equal(set->auth->userdbs.count, 1);
	assert_string_equal(set->auth->userdbs.v[0]->args,
			    "username_format=%u /tmp/x/users");
	assert_string_equal(set->auth->userdbs.v[0]->skip, "never");

	auth = roost_settings_find_service(set, "auth");
	assert_int_equal(auth->unix_listeners.count, 4);
	l = find_unix(auth, "/tmp/x/auth-client");
	assert_non_null(l);
	assert_int_equal(l->mode, 0666);
	assert_string_equal(l->user, "");
	assert_string_equal(l->def_file, "t.conf");
	assert_int_equal(l->def_line, 27);
	/* the defaults are still there */
	assert_non_null(find_unix(auth, "auth-client"));
	assert_int_equal(auth->inet_listeners.count, 1);
	il = auth->inet_listeners.v[0];
	assert_string_equal(il->name, "auth-inet");
	assert_string_equal(il->address, "127.0.0.1");
	assert_int_equal(il->port, 12345);
	assert_false(il->ssl);
	assert_int_equal(il->def_line, 30);

	/* anvil is accepted for compatibility, not run */
	anvil = roost_settings_find_service(set, "anvil");
	assert_non_null(anvil);
	assert_false(anvil->implemented);
	l = find_unix(anvil, "anvil-auth-penalty");
	assert_non_null(l);
	assert_int_equal(l->mode, 0);
	roost_settings_free(&set);
}

static void test_listener_merge(void **state ATTR_UNUSED)
{
	struct roost_settings *set = read_ok(PASSDB
		"service auth {\n"
		"  unix_listener auth-userdb {\n"
		"    mode = 0600\n"
		"    user = vmail\n"
		"    group = mail\n"
		"  }\n"
		"  unix_listener /var/spool/postfix/private/auth {\n"
		"    mode = 0660\n"
		"    user = postfix\n"
		"    group = postfix\n"
		"  }\n"
		"  user = $default_internal_user\n"
		"  process_limit = 2\n"
		"  vsz_limit = 1G\n"
		"}\n"
		"service auth-worker {\n"
		"  user = vmail\n"
		"}\n"
		"default_client_limit = 50\n"
		"default_internal_user = roost\n");
	const struct service_settings *auth, *worker;
	const struct unix_listener_settings *l;

	auth = roost_settings_find_service(set, "auth");
	assert_int_equal(auth->unix_listeners.count, 4);
	l = find_unix(auth, "auth-userdb");
	assert_int_equal(l->mode, 0600);
	assert_string_equal(l->user, "vmail");
	assert_string_equal(l->group, "mail");
	assert_int_equal(l->def_line, 6);
	l = find_unix(auth, "/var/spool/postfix/private/auth");
	assert_int_equal(l->mode, 0660);
	assert_string_equal(l->user, "postfix");
	/* $default_internal_user expands to the value set so far (the
	   default: the config sets it only later) */
	assert_string_equal(auth->user, "dovecot");
	/* the built-in listener has no owner unless the config sets one */
	assert_string_equal(find_unix(auth, "auth-client")->user, "");
	assert_int_equal(auth->process_limit, 2);
	assert_int_equal(auth->client_limit, 50);
	assert_true(auth->vsz_limit == 1024ULL * 1024 * 1024);

	worker = roost_settings_find_service(set, "auth-worker");
	assert_non_null(worker);
	assert_false(worker->implemented);
	assert_string_equal(worker->user, "vmail");
	assert_int_equal(worker->process_limit, 100);
	assert_int_equal(set->master->services.count, 2);
	roost_settings_free(&set);
}

static const struct {
	const char *text;
	const char *error;
} error_tests[] = {
	/* not implemented yet */
	{ PASSDB "protocols = imap\n",
	  "t.conf:5: protocols = imap: protocol imap is not implemented yet (use protocols = none)" },
	{ PASSDB "protocols = none lmtp\n",
	  "t.conf:5: protocols = none lmtp: protocol lmtp is not implemented yet (use protocols = none)" },
	{ PASSDB "protocols = imapx\n",
	  "t.conf:5: protocols = imapx: unknown protocol imapx (use protocols = none)" },
	{ PASSDB "protocols = $protocols imap\n",
	  "t.conf:5: protocols = none imap: protocol imap is not implemented yet (use protocols = none)" },
	{ PASSDB "ssl = yes\n",
	  "t.conf:5: ssl = yes: TLS is not implemented yet (only ssl = no is supported)" },
	{ PASSDB "ssl = required\n",
	  "t.conf:5: ssl = required: TLS is not implemented yet (only ssl = no is supported)" },
	{ PASSDB "ssl = maybe\n",
	  "t.conf:5: Invalid value for ssl: \"maybe\": allowed values are: no, yes, required" },
	{ PASSDB "service auth {\n  inet_listener x {\n    port = 1\n    ssl = yes\n  }\n}\n",
	  "t.conf:8: ssl = yes: TLS is not implemented yet (only ssl = no is supported)" },
	{ PASSDB "service auth {\n  inet_listener x {\n    port = 70000\n  }\n}\n",
	  "t.conf:7: Invalid value for port: \"70000\": must be 0..65535 (0 = disabled)" },
	{ PASSDB "mail_location = maildir:~/Maildir\n",
	  "t.conf:5: Setting mail_location is not supported by roost yet" },
	{ PASSDB "auth_policy_server_url = http://x/\n",
	  "t.conf:5: auth_policy_server_url: The auth policy server is not supported by roost yet" },
	{ PASSDB "auth_ssl_require_client_cert = yes\n",
	  "t.conf:5: auth_ssl_require_client_cert = yes needs TLS client certificates: TLS is not implemented yet" },
	{ PASSDB "namespace inbox {\n  inbox = yes\n}\n",
	  "t.conf:5: Section namespace is not supported by roost yet" },
	{ PASSDB "service auth {\n  chroot = /x\n}\n",
	  "t.conf:6: Setting chroot (in service section) is not supported by roost yet" },
	{ PASSDB "service auth {\n  fifo_listener x {\n    mode = 0600\n  }\n}\n",
	  "t.conf:6: Section fifo_listener is not supported by roost yet" },
	/* unknown, with suggestions */
	{ PASSDB "authmechanisms = plain\n",
	  "t.conf:5: Unknown setting: authmechanisms (did you mean auth_mechanisms?)" },
	{ PASSDB "auth_failure_dealy = 2s\n",
	  "t.conf:5: Unknown setting: auth_failure_dealy (did you mean auth_failure_delay?)" },
	{ PASSDB "failure_delay = 2s\n",
	  "t.conf:5: Unknown setting: failure_delay (did you mean auth_failure_delay?)" },
	{ PASSDB "mail_locaton = x\n",
	  "t.conf:5: Unknown setting: mail_locaton (did you mean mail_location?)" },
	{ PASSDB "service auth {\n  unix_listener auth-client {\n    mod = 0600\n  }\n}\n",
	  "t.conf:7: Unknown setting in unix_listener section: mod (did you mean mode?)" },
	{ "passdb {\n  drvier = static\n}\n",
	  "t.conf:2: Unknown setting in passdb section: drvier (did you mean driver?)" },
	{ PASSDB "service authh {\n}\n", "t.conf:5: Unknown service: authh (did you mean auth?)" },
	{ PASSDB "service zzzz {\n}\n", "t.conf:5: Unknown service: zzzz" },
	{ PASSDB "pasdb {\n}\n", "t.conf:5: Unknown section: pasdb (did you mean passdb?)" },
	/* bad values */
	{ PASSDB "auth_failure_delay = abc\n",
	  "t.conf:5: Invalid value for auth_failure_delay: \"abc\": not a time interval (e.g. 30 secs, 5 mins)" },
	{ PASSDB "auth_failure_delay = 2\n",
	  "t.conf:5: Invalid value for auth_failure_delay: \"2\": time interval is missing a unit (add e.g. 's' for seconds)" },
	{ PASSDB "auth_cache_ttl = 1 fortnight\n",
	  "t.conf:5: Invalid value for auth_cache_ttl: \"1 fortnight\": unknown time unit (use ms, secs, mins, hours, days or weeks)" },
	{ PASSDB "auth_cache_size = 10X\n",
	  "t.conf:5: Invalid value for auth_cache_size: \"10X\": unknown size unit (use B, k, M, G or T)" },
	{ PASSDB "auth_cache_size = 10b\n", "t.conf:5: auth_cache_size value is too small (10 bytes)" },
	{ PASSDB "auth_debug = true\n", "t.conf:5: Invalid value for auth_debug: \"true\": use yes or no" },
	{ PASSDB "auth_worker_max_count = 0\n", "t.conf:5: auth_worker_max_count must be above zero" },
	{ PASSDB "auth_verbose_passwords = foo\n",
	  "t.conf:5: auth_verbose_passwords: Invalid value: foo (use no, plain or sha1, optionally with :N)" },
	{ PASSDB "auth_verbose_passwords = sha1:x\n",
	  "t.conf:5: auth_verbose_passwords: Invalid truncation number: 'x'" },
	{ PASSDB "auth_username_format = %{usr}@%d\n",
	  "t.conf:5: auth_username_format: Unknown variable '%{usr}'" },
	{ PASSDB "default_vsz_limit = lots\n",
	  "t.conf:5: Invalid value for default_vsz_limit: \"lots\": not a size (a number with an optional unit B, k, M, G or T)" },
	{ PASSDB "service auth {\n  unix_listener auth-client {\n    mode = 0999\n  }\n}\n",
	  "t.conf:7: Invalid value for mode: \"0999\": not an octal number" },
	/* mechanisms */
	{ PASSDB "auth_mechanisms = plain ntlm\n",
	  "t.conf:5: auth_mechanisms: Mechanism ntlm is not supported yet (supported: " SUPPORTED_MECHS ")" },
	{ PASSDB "auth_mechanisms = PLAIN SCRAM-SHA-256-PLUS\n",
	  "t.conf:5: auth_mechanisms: Mechanism SCRAM-SHA-256-PLUS is not supported yet (supported: " SUPPORTED_MECHS ")" },
	{ PASSDB "auth_mechanisms = plain lgoin\n",
	  "t.conf:5: auth_mechanisms: Unknown authentication mechanism: lgoin (did you mean login?) (supported: " SUPPORTED_MECHS ")" },
	{ PASSDB "auth_mechanisms = foo\n",
	  "t.conf:5: auth_mechanisms: Unknown authentication mechanism: foo (supported: " SUPPORTED_MECHS ")" },
	{ "passdb {\n  driver = static\n  mechanisms = rpa\n}\n",
	  "t.conf:3: mechanisms: Mechanism rpa is not supported yet (supported: " SUPPORTED_MECHS ")" },
#ifndef HAVE_GSSAPI
	{ PASSDB "auth_mechanisms = plain gssapi\n",
	  "t.conf:5: auth_mechanisms: Mechanism gssapi is not compiled in (roost was built without MIT Kerberos: install libkrb5-dev and reconfigure) (supported: " SUPPORTED_MECHS ")" },
#endif
	/* passdb / userdb */
	{ "passdb {\n  driver = bsdauth\n}\n", "t.conf:2: passdb driver bsdauth is not supported yet" },
	{ "passdb {\n  driver = imap\n}\n", "t.conf:2: passdb driver imap is not supported yet" },
	{ "passdb {\n  driver = vpopmail\n}\n", "t.conf:2: passdb driver vpopmail is not supported yet" },
	{ "passdb {\n  driver = passwd_file\n}\n",
	  "t.conf:2: Unknown passdb driver: passwd_file (did you mean passwd-file?)" },
	{ "passdb {\n  driver = xyzzy\n}\n", "t.conf:2: Unknown passdb driver: xyzzy" },
	{ "passdb {\n  args = x\n}\n", "t.conf:1: passdb is missing driver" },
	{ "passdb {\n  driver = static\n  pass = yes\n  result_success = continue-ok\n}\n",
	  "t.conf:1: Obsolete pass=yes setting mixed with non-default result_success" },
	{ "passdb {\n  driver = static\n  skip = sometimes\n}\n",
	  "t.conf:3: Invalid value for skip: \"sometimes\": allowed values are: never, authenticated, unauthenticated" },
	{ "passdb {\n  driver = static\n  result_failure = return-okay\n}\n",
	  "t.conf:3: Invalid value for result_failure: \"return-okay\": allowed values are: continue, return, return-ok, return-fail, continue-ok, continue-fail" },
	{ "passdb {\n  driver = static\n  args = password=%{pass}\n}\n",
	  "t.conf:3: args: Unknown variable '%{pass}'" },
	{ PASSDB "userdb {\n  driver = nss\n}\n", "t.conf:6: userdb driver nss is not supported yet" },
	{ PASSDB "userdb {\n  driver = static\n  skip = authenticated\n}\n",
	  "t.conf:7: Invalid value for skip: \"authenticated\": allowed values are: never, found, notfound" },
	{ PASSDB "userdb {\n}\n", "t.conf:5: userdb is missing driver" },
	{ PASSDB "userdb {\n  driver = static\n  default_fields = home=/home/%n uid=%{uidd}\n}\n",
	  "t.conf:7: default_fields: Unknown variable '%{uidd}'" },
	/* whole config */
	{ "", "t.conf: No passdbs specified in configuration file. PLAIN mechanism needs one" },
	{ "auth_mechanisms = login plain\n",
	  "t.conf: No passdbs specified in configuration file. LOGIN mechanism needs one" },
	{ "passdb {\n  driver = static\n  master = yes\n}\n",
	  "t.conf: No passdbs specified in configuration file. PLAIN mechanism needs one" },
	/* syntax errors come through with file:line */
	{ PASSDB "service auth {\n", "t.conf:5: Section service auth is not closed: missing '}' before the end of the file" },
	{ PASSDB "a = $nosuchsetting\n", "t.conf:5: Unknown variable: $nosuchsetting" },
};

static void test_errors(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(error_tests); i++) {
		struct pool *err_pool;
		struct roost_settings *set = (void *)1;
		const char *error = NULL;

		err_pool = pool_create("err", 256);
		if (roost_settings_read_string(error_tests[i].text, "t.conf",
					       &set, err_pool, &error) != -1)
			fail_msg("test %zu: no error for:\n%s", i, error_tests[i].text);
		assert_null(set);
		if (strcmp(error, error_tests[i].error) != 0)
			fail_msg("test %zu: got '%s', expected '%s'", i, error,
				 error_tests[i].error);
		pool_destroy(&err_pool);
	}
}

static void test_accepted(void **state ATTR_UNUSED)
{
	static const char *const texts[] = {
		PASSDB "protocols = none\n",
		PASSDB "protocols =\n",
		PASSDB "protocols = \"\"\n",
		PASSDB "ssl = no\n",
		PASSDB "auth_mechanisms =\n",
		"auth_mechanisms =\n",      /* no mechanisms: no passdb needed */
		PASSDB "auth_mechanisms = PLAIN,Login  plain\n",
		"passdb {\n  driver = static\n  args = nopassword=y\n  mechanisms = none plain\n}\n",
		"passdb {\n  driver = static\n  master = yes\n}\npassdb {\n  driver = passwd-file\n}\n",
		PASSDB "plugin {\n}\nprotocol imap {\n}\n",
		PASSDB "service imap-login {\n  inet_listener imap {\n    port = 0\n  }\n}\n",
		PASSDB "auth_username_format = %Ln@%{domain_last} %{passdb:x} %{env:HOME}\n",
		PASSDB "userdb {\n  driver = static\n  args = uid=vmail gid=vmail home=/var/vmail/%d/%n\n}\n",
		PASSDB "auth_cache_size = 1048576\n",
		PASSDB "auth_verbose_passwords = sha1:6\n",
		PASSDB "service auth {\n  unix_listener auth-client {\n    mode = 0\n  }\n}\n",
		"passdb{\n  driver=static\n}\n",
	};
	for (size_t i = 0; i < N_ELEMENTS(texts); i++) {
		struct roost_settings *set = read_ok(texts[i]);
		roost_settings_free(&set);
	}
}

static void test_compat_values(void **state ATTR_UNUSED)
{
	struct roost_settings *set = read_ok(PASSDB
		"auth_cache_size = 10\n"
		"auth_verbose_passwords = yes\n"
		"auth_mechanisms = PLAIN, Login\n"
		"auth_cache_ttl = 5 mins\n"
		"auth_debug = YES\n");

	/* Dovecot: a plain number below 1024 is megabytes */
	assert_true(set->auth->auth_cache_size == 10ULL * 1024 * 1024);
	/* "yes" is an alias of "plain" */
	assert_string_equal(set->auth->auth_verbose_passwords, "plain");
	assert_string_equal(set->auth->auth_mechanisms, "PLAIN, Login");
	assert_int_equal(set->auth->auth_cache_ttl, 300);
	assert_true(set->auth->auth_debug);
	roost_settings_free(&set);

	set = read_ok(PASSDB "auth_verbose_passwords = yes:8\n");
	assert_string_equal(set->auth->auth_verbose_passwords, "plain:8");
	roost_settings_free(&set);
}

static const char print_expected_changed[] =
	"auth_failure_delay = 0\n"
	"auth_mechanisms = plain login\n"
	"base_dir = /tmp/roost\n"
	"passdb {\n"
	"  args = /etc/roost/users\n"
	"  driver = passwd-file\n"
	"}\n"
	"service auth {\n"
	"  inet_listener auth-inet {\n"
	"    address = 127.0.0.1\n"
	"    port = 12345\n"
	"  }\n"
	"  unix_listener auth-userdb {\n"
	"    mode = 0600\n"
	"  }\n"
	"}\n"
	"userdb {\n"
	"  driver = static\n"
	"  name = u1\n"
	"}\n";

static void test_print(void **state ATTR_UNUSED)
{
	static const char conf[] =
		"base_dir = /tmp/roost\n"
		"auth_mechanisms = plain login\n"
		"auth_failure_delay = 0\n"
		PASSDB
		"userdb u1 {\n  driver = static\n}\n"
		"service auth {\n"
		"  unix_listener auth-userdb {\n    mode = 0600\n  }\n"
		"  unix_listener auth-client {\n    mode = 0600\n  }\n"
		"  inet_listener auth-inet {\n    address = 127.0.0.1\n    port = 12345\n  }\n"
		"}\n";
	struct roost_settings *set = read_ok(conf), *set2;
	string_t *out = str_create(1024), *out2 = str_create(1024);

	roost_settings_print(set, true, out);
	assert_string_equal(str_c(out), print_expected_changed);

	/* -n output read back gives the same -n output */
	set2 = read_ok(str_c(out));
	roost_settings_print(set2, true, out2);
	assert_string_equal(str_c(out), str_c(out2));
	roost_settings_free(&set2);

	/* -a: everything, and it reads back to the same */
	str_truncate(out, 0);
	roost_settings_print(set, false, out);
	assert_non_null(strstr(str_c(out), "\nauth_cache_ttl = 1 hours\n"));
	assert_non_null(strstr(str_c(out), "\nauth_failure_delay = 0\n"));
	assert_non_null(strstr(str_c(out), "\ndefault_vsz_limit = 256 M\n"));
	assert_non_null(strstr(str_c(out), "\nlog_timestamp = \"%b %d %H:%M:%S \"\n"));
	assert_non_null(strstr(str_c(out), "\nprotocols = none\n"));
	assert_non_null(strstr(str_c(out), "\nssl = no\n"));
	assert_non_null(strstr(str_c(out),
		"  unix_listener auth-client {\n"
		"    group = \n"
		"    mode = 0600\n"
		"    user = \n"
		"  }\n"));
	set2 = read_ok(str_c(out));
	str_truncate(out2, 0);
	roost_settings_print(set2, false, out2);
	assert_string_equal(str_c(out), str_c(out2));
	roost_settings_free(&set2);

	/* a config with only defaults prints nothing but its passdb */
	roost_settings_free(&set);
	set = read_ok(PASSDB);
	str_truncate(out, 0);
	roost_settings_print(set, true, out);
	assert_string_equal(str_c(out),
		"passdb {\n  args = /etc/roost/users\n  driver = passwd-file\n}\n");
	roost_settings_free(&set);

	/* inherited values follow the default_* settings */
	set = read_ok(PASSDB "default_internal_user = roost\n"
		      "default_client_limit = 10\n");
	str_truncate(out, 0);
	roost_settings_print(set, true, out);
	assert_string_equal(str_c(out),
		"default_client_limit = 10\n"
		"default_internal_user = roost\n"
		"passdb {\n  args = /etc/roost/users\n  driver = passwd-file\n}\n");
	roost_settings_free(&set);
	str_free(&out);
	str_free(&out2);
}

static void test_files(void **state ATTR_UNUSED)
{
	char dir[] = "/tmp/roost-test-settings.XXXXXX", path[128], cmd[128];
	struct pool *err_pool = pool_create("err", 256);
	struct roost_settings *set;
	const char *error, *expected;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/conf.d", dir);
	assert_int_equal(mkdir(path, 0700), 0);

	snprintf(path, sizeof(path), "%s/conf.d/10-auth.conf", dir);
	f = fopen(path, "w");
	fputs("auth_mechanisms = plain login\n"
	      "auth_realms = example.com # realm#2\n"
	      PASSDB, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/roost.conf", dir);
	f = fopen(path, "w");
	fputs("base_dir = /tmp/r\n!include conf.d/*.conf\n", f);
	fclose(f);

	assert_int_equal(roost_settings_read(path, &set, err_pool, &error), 0);
	assert_string_equal(set->config_path, path);
	assert_string_equal(set->auth->auth_mechanisms, "plain login");
	assert_string_equal(set->auth->auth_realms, "example.com");
	expected = pool_printf(err_pool, "%s/conf.d/10-auth.conf",  dir);
	assert_string_equal(set->auth->passdbs.v[0]->def_file, expected);
	assert_int_equal(set->auth->passdbs.v[0]->def_line, 3);
	assert_int_equal(set->warning_count, 0);
	roost_settings_free(&set);

	/* errors in an included file name that file */
	snprintf(path, sizeof(path), "%s/conf.d/20-bad.conf", dir);
	f = fopen(path, "w");
	fputs("auth_mechanisms = plain\nauth_failure_delay = soon\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/roost.conf", dir);
	assert_int_equal(roost_settings_read(path, &set, err_pool, &error), -1);
	assert_null(set);
	expected = pool_printf(err_pool, "%s/conf.d/20-bad.conf:2: Invalid value "
			       "for auth_failure_delay: \"soon\": not a time "
			       "interval (e.g. 30 secs, 5 mins)", dir);
	assert_string_equal(error, expected);

	/* warnings are handed to the caller */
	f = fopen(path, "w");
	fputs(PASSDB "auth_realms = a#b\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/conf.d/20-bad.conf", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/roost.conf", dir);
	assert_int_equal(roost_settings_read(path, &set, err_pool, &error), 0);
	assert_int_equal(set->warning_count, 1);
	expected = pool_printf(err_pool, "%s:5: Ambiguous '#' character in line, "
			       "treating it as comment. Add a space before it "
			       "to remove this warning.", path);
	assert_string_equal(set->warnings[0], expected);
	roost_settings_free(&set);

	/* missing file */
	snprintf(path, sizeof(path), "%s/nosuch.conf", dir);
	assert_int_equal(roost_settings_read(path, &set, err_pool, &error), -1);
	assert_non_null(strstr(error, "No such file or directory"));
	assert_non_null(strstr(error, path));

	/* ssl_cert = </missing: the file error names the setting */
	snprintf(path, sizeof(path), "%s/roost.conf", dir);
	f = fopen(path, "w");
	fputs(PASSDB "ssl_cert = </nonexistent/cert.pem\n", f);
	fclose(f);
	assert_int_equal(roost_settings_read(path, &set, err_pool, &error), -1);
	expected = pool_printf(err_pool, "%s:5: ssl_cert: Can't read file "
			       "/nonexistent/cert.pem: ", path);
	assert_true(strncmp(error, expected, strlen(expected)) == 0);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	pool_destroy(&err_pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_dovecot_auth_conf),
		cmocka_unit_test(test_listener_merge),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_compat_values),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
