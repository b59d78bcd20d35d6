/* In-process tests of roost-auth: the client and master protocol servers,
   username normalisation and passdb/userdb chains, over socketpairs with
   input delivered whole or one byte at a time. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "log.h"
#include "roost-settings.h"
#include "auth.h"
#include "auth-client-connection.h"
#include "auth-master-connection.h"
#include "test-harness.h"
#include "base64.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <event2/event.h>
#include <setjmp.h>
#include <cmocka.h>

static void test_handshake(void **state ATTR_UNUSED)
{
	struct harness h;
	char *conf = users_config();
	harness_init(&h, conf);
	harness_connect(&h, false, false);
	harness_run(&h);
	char *out = harness_take(&h);
	char expect[128];
	snprintf(expect, sizeof(expect), "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\n"
		 "MECH\tLOGIN\tplaintext\nSPID\t%ld\nCUID\t", (long)getpid());
	assert_true(strncmp(out, expect, strlen(expect)) == 0);
	const char *cookie = strstr(out, "COOKIE\t");
	assert_non_null(cookie);
	assert_true(strlen(cookie) == 7 + 32 + 1 + 5);
	assert_string_equal(cookie + 7 + 32, "\nDONE\n");
	free(out);
	harness_deinit(&h);
	free(conf);
}

static void test_plain(void **state ATTR_UNUSED)
{
	static const bool modes[] = { false, true };
	for (size_t m = 0; m < N_ELEMENTS(modes); m++) {
		struct harness h;
		char *conf = users_config();
		harness_init(&h, conf);
		harness_connect(&h, false, false);
		harness_send(&h, "VERSION\t1\t2\nCPID\t42\n", modes[m]);
		free(harness_take(&h));
		/* \0alice\0alicepw, \0alice\0wrong, \0nosuch\0x, \0ALICE\0alicepw */
		harness_send(&h, "AUTH\t1\tPLAIN\tservice=smtp\tresp=AGFsaWNlAGFsaWNlcHc=\n"
			     "AUTH\t2\tplain\tservice=smtp\tnologin\tlip=127.0.0.1\trip=127.0.0.1\tresp=AGFsaWNlAHdyb25n\n"
			     "AUTH\t3\tPLAIN\tservice=smtp\tresp=AG5vc3VjaAB4\n"
			     "AUTH\t4\tPLAIN\tservice=smtp\tresp=AEFMSUNFAGFsaWNlcHc=\n", modes[m]);
		char *out = harness_take(&h);
		assert_contains(out, "OK\t1\tuser=alice\tquota=1G\n");
		assert_contains(out, "FAIL\t2\tuser=alice\n");
		assert_contains(out, "FAIL\t3\tuser=nosuch\n");
		/* auth_username_format = %Lu lowercases */
		assert_contains(out, "OK\t4\tuser=alice\toriginal_user=ALICE");
		free(out);
		harness_deinit(&h);
		free(conf);
	}
}

static void test_login_and_cont(void **state ATTR_UNUSED)
{
	struct harness h;
	char *conf = users_config();
	harness_init(&h, conf);
	harness_connect(&h, false, false);
	/* minor 0: an empty resp= means "no initial response" (Exim) */
	harness_send(&h, "VERSION\t1\t0\nCPID\t42\n", false);
	free(harness_take(&h));
	harness_send(&h, "AUTH\t1\tLOGIN\tservice=smtp\tresp=\n", false);
	char *out = harness_take(&h);
	assert_string_equal(out, "CONT\t1\tVXNlcm5hbWU6\n");
	free(out);
	harness_send(&h, "CONT\t1\tYm9i\n", false);
	out = harness_take(&h);
	assert_string_equal(out, "CONT\t1\tUGFzc3dvcmQ6\n");
	free(out);
	harness_send(&h, "CONT\t1\tYm9icHc=\n", false);
	out = harness_take(&h);
	assert_string_equal(out, "OK\t1\tuser=bob\n");
	free(out);
	/* PLAIN without initial response: empty challenge */
	harness_send(&h, "AUTH\t2\tPLAIN\tservice=imap\n", false);
	out = harness_take(&h);
	assert_string_equal(out, "CONT\t2\t\n");
	free(out);
	harness_send(&h, "CONT\t2\t!!!\n", false);
	out = harness_take(&h);
	assert_string_equal(out, "FAIL\t2\tcode=invalid_base64\treason=Invalid base64 data in continued response\n");
	free(out);
	harness_send(&h, "CONT\t99\tAAAA\n", false);
	out = harness_take(&h);
	assert_string_equal(out, "FAIL\t99\treason=Authentication request timed out\n");
	free(out);
	harness_send(&h, "AUTH\t5\tPLAIN\tservice=imap\tresp=###\n", false);
	out = harness_take(&h);
	assert_string_equal(out, "FAIL\t5\tcode=invalid_base64\treason=Invalid base64 data in initial response\n");
	free(out);
	/* LOGIN does not allow NULs */
	harness_send(&h, "AUTH\t6\tLOGIN\tservice=imap\tresp=AGE=\n", false);
	out = harness_take(&h);
	assert_string_equal(out, "FAIL\t6\n");
	free(out);
	harness_deinit(&h);
	free(conf);
}

static const struct {
	const char *name;
	const char *input;
} closing_inputs[] = {
	{ "AUTH before VERSION", "AUTH\t1\tPLAIN\tservice=smtp\n" },
	{ "bad major", "VERSION\t2\t0\n" },
	{ "no CPID", "VERSION\t1\t2\nAUTH\t1\tPLAIN\tservice=smtp\n" },
	{ "unknown command", "VERSION\t1\t2\nCPID\t1\nFOO\t1\n" },
	{ "duplicate id", "VERSION\t1\t2\nCPID\t1\nAUTH\t1\tPLAIN\tservice=smtp\nAUTH\t1\tPLAIN\tservice=smtp\n" },
	{ "unknown mech", "VERSION\t1\t2\nCPID\t1\nAUTH\t1\tFOO\tservice=smtp\n" },
	{ "no service", "VERSION\t1\t2\nCPID\t1\nAUTH\t1\tPLAIN\n" },
	{ "id zero", "VERSION\t1\t2\nCPID\t1\nAUTH\t0\tPLAIN\tservice=smtp\n" },
	{ "param after resp", "VERSION\t1\t2\nCPID\t1\nAUTH\t1\tPLAIN\tservice=smtp\tresp=AA==\tsecured\n" },
	{ "NUL byte", "VERSION\t1\t2\nCPID\t1\nAU\001TH\n" },
	{ "broken CONT", "VERSION\t1\t2\nCPID\t1\nCONT\tx\n" },
};

static void test_closing_inputs(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(closing_inputs); i++) {
		struct harness h;
		char *conf = users_config();
		harness_init(&h, conf);
		harness_connect(&h, false, false);
		harness_run(&h);
		free(harness_take(&h));
		const char *input = closing_inputs[i].input;
		if (strcmp(closing_inputs[i].name, "NUL byte") == 0) {
			/* replace the \001 marker by a real NUL */
			char buf[64];
			size_t len = strlen(input);
			memcpy(buf, input, len);
			char *p = memchr(buf, '\001', len);
			*p = '\0';
			assert_int_equal(write(h.peer, buf, len), (ssize_t)len);
			harness_run(&h);
		} else {
			harness_send(&h, input, false);
		}
		char *out = harness_take(&h);
		if (strstr(out, "<EOF>") == NULL)
			fail_msg("%s: connection not closed, got: %s", closing_inputs[i].name, out);
		free(out);
		harness_deinit(&h);
		free(conf);
	}
}

static void test_overlong_line(void **state ATTR_UNUSED)
{
	struct harness h;
	char *conf = users_config();
	harness_init(&h, conf);
	harness_connect(&h, false, false);
	harness_send(&h, "VERSION\t1\t2\nCPID\t1\n", false);
	free(harness_take(&h));
	char *big = x_malloc(20000);
	memset(big, 'A', 19999);
	memcpy(big, "AUTH\t1\tPLAIN\tservice=smtp\tresp=", 31);
	(void)write(h.peer, big, 19999);
	harness_run(&h);
	char *out = harness_take(&h);
	assert_contains(out, "<EOF>");
	free(out);
	free(big);
	harness_deinit(&h);
	free(conf);
}

static void test_chain_and_format(void **state ATTR_UNUSED)
{
	struct harness h;
	char *conf = x_printf(
		"auth_default_realm = example.com\n"
		"auth_username_format = %%Ln\n"
		"passdb {\n driver = passwd-file\n args = scheme=PLAIN %s/deny\n deny = yes\n}\n"
		"passdb {\n driver = passwd-file\n args = scheme=PLAIN %s/empty\n}\n"
		"passdb {\n driver = passwd-file\n args = scheme=PLAIN %s/users\n"
		" override_fields = via=%%s\n}\n"
		"userdb {\n driver = static\n args = uid=500 gid=500 home=/home/%%u\n}\n",
		tmpdir, tmpdir, tmpdir);
	harness_init(&h, conf);
	harness_connect(&h, false, false);
	harness_send(&h, "VERSION\t1\t2\nCPID\t1\n", false);
	free(harness_take(&h));
	/* Alice@Example.COM -> alice (%Ln); carol is in the deny file */
	harness_send(&h, "AUTH\t1\tPLAIN\tservice=smtp\tresp=AEFsaWNlQEV4YW1wbGUuQ09NAGFsaWNlcHc=\n"
		     "AUTH\t2\tPLAIN\tservice=smtp\tresp=AGNhcm9sAGNhcm9scHc=\n", false);
	char *out = harness_take(&h);
	assert_contains(out, "OK\t1\tuser=alice\toriginal_user=Alice@Example.COM\tquota=1G\tvia=smtp\n");
	assert_contains(out, "FAIL\t2\tuser=carol\tcode=user_disabled\n");
	free(out);
	close(h.peer);
	/* the static userdb checks existence through the passdbs */
	harness_connect(&h, true, true);
	harness_send(&h, "VERSION\t1\t0\nUSER\t7\tbob\tservice=lmtp\nUSER\t8\tnobody\tservice=lmtp\n"
		     "PASS\t9\talice\tservice=doveadm\n", false);
	out = harness_take(&h);
	char *expect = x_printf("VERSION\t1\t1\nSPID\t%ld\n"
				"USER\t7\tbob\tuid=500\tgid=500\thome=/home/bob\n"
				"NOTFOUND\t8\n", (long)getpid());
	assert_contains(out, expect);
	assert_contains(out, "PASS\t9\tuser=alice\tquota=1G\tvia=doveadm\n");
	free(expect);
	free(out);
	harness_deinit(&h);
	free(conf);
}

static void test_master_userdb(void **state ATTR_UNUSED)
{
	struct harness h;
	char *conf = users_config();
	harness_init(&h, conf);
	harness_connect(&h, true, true);
	harness_send(&h, "VERSION\t1\t1\nUSER\t1\talice\tservice=lmtp\tlip=127.0.0.1\n"
		     "USER\t2\tnosuch\tservice=lmtp\nLIST\t3\tuser=*\n", true);
	char *out = harness_take(&h);
	assert_contains(out, "USER\t1\talice\tuid=1001\tgid=1001\thome=/home/alice\tquota_rule=*:storage=1G\n");
	assert_contains(out, "NOTFOUND\t2\n");
	assert_contains(out, "LIST\t3\talice\nLIST\t3\tbob\nLIST\t3\tcarol\nDONE\t3\t\n");
	free(out);
	/* REQUEST is refused on the userdb socket: unknown command, close */
	harness_send(&h, "REQUEST\t4\t1\t1\t00\n", false);
	out = harness_take(&h);
	assert_contains(out, "<EOF>");
	free(out);
	/* USER without service= closes too */
	harness_connect(&h, true, false);
	harness_send(&h, "VERSION\t1\t1\nCACHE-FLUSH\t5\nUSER\t6\talice\n", false);
	out = harness_take(&h);
	assert_contains(out, "OK\t5\t0\n");
	assert_contains(out, "<EOF>");
	free(out);
	harness_deinit(&h);
	free(conf);
}

static void test_many_pipelined(void **state ATTR_UNUSED)
{
	struct harness h;
	char *conf = users_config();
	harness_init(&h, conf);
	harness_connect(&h, false, false);
	harness_send(&h, "VERSION\t1\t2\nCPID\t1\n", false);
	free(harness_take(&h));
	/* 5000 requests: more than the per-connection bound of requests in
	   flight; the writer side blocks, so feed and drain alternately */
	string_t *input = str_create(5000 * 60);
	for (unsigned int i = 1; i <= 5000; i++)
		str_printfa(input, "AUTH\t%u\tPLAIN\tservice=smtp\tresp=AGFsaWNlAGFsaWNlcHc=\n", i);
	size_t sent = 0;
	unsigned int oks = 0;
	for (int round = 0; round < 10000 && oks < 5000; round++) {
		if (sent < str_len(input)) {
			ssize_t n = write(h.peer, str_c(input) + sent, str_len(input) - sent);
			if (n > 0)
				sent += (size_t)n;
		}
		harness_run(&h);
		char *out = harness_take(&h);
		for (char *p = out; (p = strstr(p, "OK\t")) != NULL; p++)
			oks++;
		free(out);
	}
	assert_int_equal(oks, 5000);
	str_free(&input);
	harness_deinit(&h);
	free(conf);
}

static void test_passwd_file_reload(void **state ATTR_UNUSED)
{
	struct harness h;
	char *conf = x_printf("passdb {\n driver = passwd-file\n args = scheme=PLAIN %s/reload\n}\n", tmpdir);

	write_file("reload", "erin:first\n");
	harness_init(&h, conf);
	harness_connect(&h, false, false);
	harness_send(&h, "VERSION\t1\t2\nCPID\t1\n"
		     "AUTH\t1\tPLAIN\tservice=smtp\tresp=AGVyaW4AZmlyc3Q=\n", false);
	char *out = harness_take(&h);
	assert_contains(out, "OK\t1\tuser=erin\n");
	free(out);
	/* a new password (the file changes size and mtime) */
	write_file("reload", "erin:second-password\nfrank:x\n");
	harness_send(&h, "AUTH\t2\tPLAIN\tservice=smtp\tresp=AGVyaW4AZmlyc3Q=\n"
		     "AUTH\t3\tPLAIN\tservice=smtp\tresp=AGVyaW4Ac2Vjb25kLXBhc3N3b3Jk\n"
		     "AUTH\t4\tPLAIN\tservice=smtp\tresp=AGZyYW5rAHg=\n", false);
	out = harness_take(&h);
	assert_contains(out, "FAIL\t2\tuser=erin\n");
	assert_contains(out, "OK\t3\tuser=erin\n");
	assert_contains(out, "OK\t4\tuser=frank\n");
	free(out);
	/* the file disappears: an internal failure, not "unknown user" */
	char path[256];
	snprintf(path, sizeof(path), "%s/reload", tmpdir);
	unlink(path);
	harness_send(&h, "AUTH\t5\tPLAIN\tservice=smtp\tresp=AGZyYW5rAHg=\n", false);
	out = harness_take(&h);
	assert_contains(out, "FAIL\t5\tuser=frank\tcode=temp_fail\t");
	free(out);
	harness_deinit(&h);
	free(conf);
}

static void test_disable_plaintext(void **state ATTR_UNUSED)
{
	struct harness h;
	char *users = users_config();
	char *conf = x_printf("disable_plaintext_auth = yes\n%s", users);
	harness_init(&h, conf);
	harness_connect(&h, false, false);
	harness_send(&h, "VERSION\t1\t0\nCPID\t1\n"
		     /* remote, not TLS: refused */
		     "AUTH\t1\tPLAIN\tservice=smtp\tlip=192.0.2.1\trip=198.51.100.7\tresp=AGFsaWNlAGFsaWNlcHc=\n"
		     /* remote over TLS (Postfix sends secured): allowed */
		     "AUTH\t2\tPLAIN\tservice=smtp\tlip=192.0.2.1\trip=198.51.100.7\tsecured\tresp=AGFsaWNlAGFsaWNlcHc=\n"
		     /* loopback client: allowed */
		     "AUTH\t3\tLOGIN\tservice=smtp\tlip=127.0.0.1\trip=127.0.0.1\n"
		     /* rip equal to lip: allowed */
		     "AUTH\t4\tPLAIN\tservice=smtp\tlip=192.0.2.1\trip=192.0.2.1\tresp=AGFsaWNlAGFsaWNlcHc=\n", false);
	char *out = harness_take(&h);
	assert_contains(out, "FAIL\t1\treason=Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\n");
	assert_contains(out, "OK\t2\tuser=alice");
	assert_contains(out, "CONT\t3\tVXNlcm5hbWU6\n");
	assert_contains(out, "OK\t4\tuser=alice");
	free(out);
	harness_deinit(&h);
	free(conf);
	free(users);
}

static void test_unknown_scheme_logged(void **state ATTR_UNUSED)
{
	struct harness h;
	char *conf = users_config();
	char logpath[256];
	const char *error;

	snprintf(logpath, sizeof(logpath), "%s/log", tmpdir);
	write_file("users",
		   "# comment\n"
		   "alice:{PLAIN}alicepw:1001:1001::/home/alice::quota=1G userdb_quota_rule=*:storage=1G\n"
		   "bob:bobpw:1002:1002::/home/bob::\n"
		   "carol:carolpw\n"
		   "dave:{NOSUCH}xyz\n");
	assert_int_equal(log_set_target(logpath, NULL, &error), 0);
	harness_init(&h, conf);
	harness_connect(&h, false, false);
	harness_send(&h, "VERSION\t1\t2\nCPID\t1\n"
		     "AUTH\t1\tPLAIN\tservice=smtp\tresp=AGRhdmUAeHl6\n", false);
	char *out = harness_take(&h);
	assert_contains(out, "FAIL\t1\tuser=dave\n");
	free(out);
	harness_deinit(&h);
	log_set_fd(2);
	FILE *f = fopen(logpath, "r");
	assert_non_null(f);
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	/* names the user, the file and line, and the problem */
	char *expect = x_printf("Error: PLAIN(dave): passdb passwd-file (%s/users:5): "
				"stored password of user dave: ", tmpdir);
	assert_contains(buf, expect);
	assert_contains(buf, "NOSUCH");
	free(expect);
	free(conf);
}

static void test_login_request_handover(void **state ATTR_UNUSED)
{
	struct harness h;
	char *conf = users_config();
	int fds[2];

	harness_init(&h, conf);
	/* the login process: a login socket keeps successful requests */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	auth_client_connection_create(h.auth, fds[0], true);
	int login_peer = fds[1];
	h.peer = login_peer;
	harness_send(&h, "VERSION\t1\t2\nCPID\t5555\n"
		     "AUTH\t7\tPLAIN\tservice=imap\tresp=AGFsaWNlAGFsaWNlcHc=\n", false);
	char *out = harness_take(&h);
	assert_contains(out, "OK\t7\tuser=alice");
	const char *cookie = strstr(out, "COOKIE\t");
	assert_non_null(cookie);
	char cookie_hex[33];
	memcpy(cookie_hex, cookie + 7, 32);
	cookie_hex[32] = '\0';
	free(out);

	/* the post-login side claims it on the master socket, once */
	harness_connect(&h, true, false);
	char *line = x_printf("VERSION\t1\t1\n"
			      "REQUEST\t100\t5555\t7\t%s\n"
			      "REQUEST\t101\t5555\t7\t%s\n"
			      "REQUEST\t102\t5555\t8\t00000000000000000000000000000000\n"
			      "REQUEST\t103\t4444\t7\t%s\n", cookie_hex, cookie_hex, cookie_hex);
	harness_send(&h, line, false);
	free(line);
	out = harness_take(&h);
	/* userdb_* fields the passdb gave come first, then the userdb's */
	assert_contains(out, "USER\t100\talice\tquota_rule=*:storage=1G\tuid=1001\t"
			"gid=1001\thome=/home/alice\tauth_mech=PLAIN\n");
	assert_contains(out, "FAIL\t101\n");   /* already claimed */
	assert_contains(out, "FAIL\t102\n");   /* bad cookie */
	assert_contains(out, "FAIL\t103\n");   /* no such client pid */
	free(out);

	/* a second login connection may not reuse the live CPID */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	auth_client_connection_create(h.auth, fds[0], true);
	close(h.peer);
	h.peer = fds[1];
	harness_send(&h, "VERSION\t1\t2\nCPID\t5555\n", false);
	out = harness_take(&h);
	assert_contains(out, "<EOF>");
	free(out);
	close(login_peer);
	harness_deinit(&h);
	free(conf);
}

/* userdb prefetch: the passdb's userdb_* fields are the userdb answer;
   without them the next userdb is asked, and alone it is an internal
   failure (Dovecot 2.3's userdb prefetch). */
static void test_userdb_prefetch(void **state ATTR_UNUSED)
{
	struct harness h;
	int fds[2];
	char *conf = x_printf(
		"passdb {\n  driver = passwd-file\n  args = scheme=PLAIN %s/users\n}\n"
		"userdb {\n  driver = prefetch\n}\n"
		"userdb {\n  driver = static\n  args = uid=7 gid=7 home=/static/%%u\n}\n",
		tmpdir);
	harness_init(&h, conf);
	free(conf);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	auth_client_connection_create(h.auth, fds[0], true);
	int login_peer = fds[1];
	h.peer = login_peer;
	/* alice has uid/gid/home and userdb_quota_rule in the passwd-file,
	   carol only a password */
	harness_send(&h, "VERSION\t1\t2\nCPID\t6666\n"
		     "AUTH\t1\tPLAIN\tservice=imap\tresp=AGFsaWNlAGFsaWNlcHc=\n"
		     "AUTH\t2\tPLAIN\tservice=imap\tresp=AGNhcm9sAGNhcm9scHc=\n", false);
	char *out = harness_take(&h);
	assert_contains(out, "OK\t1\tuser=alice");
	assert_contains(out, "OK\t2\tuser=carol");
	const char *cookie_field = strstr(out, "COOKIE\t");
	assert_non_null(cookie_field);
	char cookie[33];
	memcpy(cookie, cookie_field + 7, 32);
	cookie[32] = '\0';
	free(out);
	harness_connect(&h, true, false);
	char *line = x_printf("VERSION\t1\t1\nREQUEST\t10\t6666\t1\t%s\n"
			      "REQUEST\t11\t6666\t2\t%s\n", cookie, cookie);
	harness_send(&h, line, false);
	free(line);
	out = harness_take(&h);
	/* prefetched: no static fields */
	assert_contains(out, "USER\t10\talice\tquota_rule=*:storage=1G\tuid=1001\t"
			"gid=1001\thome=/home/alice\tauth_mech=PLAIN\n");
	/* carol: nothing prefetched, the static userdb answers */
	assert_contains(out, "USER\t11\tcarol\tauth_mech=PLAIN\tuid=7\tgid=7\thome=/static/carol\n");
	free(out);
	/* a plain USER lookup: no passdb ran, the static userdb answers */
	harness_send(&h, "USER\t12\tcarol\tservice=lmtp\n", false);
	out = harness_take(&h);
	assert_contains(out, "USER\t12\tcarol\tuid=7\tgid=7\thome=/static/carol\n");
	free(out);
	close(login_peer);
	harness_deinit(&h);

	/* prefetch alone: a USER lookup is an internal failure */
	conf = x_printf("passdb {\n  driver = passwd-file\n  args = scheme=PLAIN %s/users\n}\n"
			"userdb {\n  driver = prefetch\n}\n", tmpdir);
	harness_init(&h, conf);
	free(conf);
	harness_connect(&h, true, false);
	harness_send(&h, "VERSION\t1\t1\nUSER\t1\talice\tservice=lmtp\n", false);
	out = harness_take(&h);
	assert_contains(out, "\nFAIL\t1");
	free(out);
	harness_deinit(&h);
}

struct chain_case {
	const char *name;
	const char *config;   /* @DIR@ = tmpdir */
	const char *user, *password, *params;
	const char *expect;   /* start of the reply after "<id>\t" */
};

#define FILE1 "passdb {\n driver = passwd-file\n args = scheme=PLAIN @DIR@/chain1\n"
#define FILE2 "passdb {\n driver = passwd-file\n args = scheme=PLAIN @DIR@/chain2\n"
#define MASTERS "auth_master_user_separator = *\n" \
	"passdb {\n driver = passwd-file\n args = scheme=PLAIN @DIR@/masters\n" \
	" master = yes\n pass = yes\n}\n"

static const struct chain_case chain_cases[] = {
	/* defaults: success returns, failure continues */
	{ "default ok first", FILE1 "}\n" FILE2 "}\n", "alice", "a1", "", "OK\t1\tuser=alice" },
	{ "default ok second", FILE1 "}\n" FILE2 "}\n", "alice", "a2", "", "OK\t1\tuser=alice" },
	{ "default unknown then ok", FILE1 "}\n" FILE2 "}\n", "bob", "b2", "", "OK\t1\tuser=bob" },
	{ "default all fail", FILE1 "}\n" FILE2 "}\n", "bob", "x", "", "FAIL\t1\tuser=bob\n" },
	/* return-fail stops at the first failure */
	{ "return-fail", FILE1 " result_failure = return-fail\n}\n" FILE2 "}\n",
	  "alice", "a2", "", "FAIL\t1\tuser=alice\n" },
	/* return: this passdb's result, success or not */
	{ "return on failure", FILE1 " result_failure = return\n}\n" FILE2 "}\n",
	  "bob", "b2", "", "FAIL\t1\tuser=bob\n" },
	/* continue on success: the next passdb decides */
	{ "continue then mismatch", FILE1 " result_success = continue\n}\n" FILE2 "}\n",
	  "alice", "a1", "", "FAIL\t1\tuser=alice\n" },
	{ "pass=yes is continue", FILE1 " pass = yes\n}\n" FILE2 "}\n",
	  "alice", "a1", "", "FAIL\t1\tuser=alice\n" },
	/* continue-ok: success unless a later passdb fails it */
	{ "continue-ok", FILE1 " result_success = continue-ok\n}\n" FILE2 "}\n",
	  "alice", "a1", "", "OK\t1\tuser=alice" },
	{ "continue-ok then return-fail", FILE1 " result_success = continue-ok\n}\n"
	  FILE2 " result_failure = return-fail\n}\n", "alice", "a1", "", "FAIL\t1\tuser=alice\n" },
	/* continue-fail: failure unless... nothing later can undo it */
	{ "continue-fail", FILE1 " result_success = continue-fail\n}\n" FILE2 "}\n",
	  "alice", "a1", "", "FAIL\t1\tuser=alice\n" },
	/* skip = authenticated: not consulted after a success */
	{ "skip authenticated", FILE1 " result_success = continue-ok\n}\n"
	  FILE2 " skip = authenticated\n result_failure = return-fail\n}\n",
	  "alice", "a1", "", "OK\t1\tuser=alice" },
	/* internal failure (missing file) continues by default ... */
	{ "internalfail continue", "passdb {\n driver = passwd-file\n args = @DIR@/missing\n}\n"
	  FILE2 "}\n", "alice", "a2", "", "OK\t1\tuser=alice" },
	/* ... and is a temporary failure when nothing succeeds */
	{ "internalfail", "passdb {\n driver = passwd-file\n args = @DIR@/missing\n}\n"
	  FILE2 "}\n", "bob", "x", "", "FAIL\t1\tuser=bob\tcode=temp_fail" },
	{ "internalfail return-fail", "passdb {\n driver = passwd-file\n args = @DIR@/missing\n"
	  " result_internalfail = return-fail\n}\n" FILE2 "}\n", "alice", "a2", "",
	  "FAIL\t1\tuser=alice\tcode=temp_fail" },
	/* deny passdb */
	{ "deny", "passdb {\n driver = passwd-file\n args = @DIR@/chain2\n deny = yes\n}\n"
	  FILE1 "}\n", "alice", "a1", "", "FAIL\t1\tuser=alice\tcode=user_disabled\n" },
	/* mechanisms filter: this passdb is only for LOGIN */
	{ "mechanisms filter", FILE1 " mechanisms = login\n}\n" FILE2 "}\n",
	  "alice", "a1", "", "FAIL\t1\tuser=alice\n" },
	/* username_filter */
	{ "username_filter", FILE1 " username_filter = b* !alice\n}\n" FILE2 "}\n",
	  "alice", "a1", "", "FAIL\t1\tuser=alice\n" },
	/* extra fields: allow_nets */
	{ "allow_nets in", FILE1 "}\n", "erin", "e1", "\trip=192.0.2.9", "OK\t1\tuser=erin\n" },
	{ "allow_nets out", FILE1 "}\n", "erin", "e1", "\trip=198.51.100.1", "FAIL\t1\tuser=erin\n" },
	{ "allow_nets local", FILE1 "}\n", "erin", "e1", "", "FAIL\t1\tuser=erin\n" },
	/* nologin + reason and proxy fields reach the client (not pass=) */
	{ "nologin proxy", FILE1 "}\n", "dave", "d1", "",
	  "OK\t1\tuser=dave\tnologin\treason=Moved\tproxy\thost=192.0.2.7\tport=143\n" },
	/* master users: "target*master", master passdb with pass = yes */
	{ "master user", MASTERS FILE2 "}\n", "alice*admin", "adminpw", "",
	  "OK\t1\tuser=alice\toriginal_user=alice*admin\tauth_user=admin\n" },
	{ "master user wrong password", MASTERS FILE2 "}\n", "alice*admin", "a2", "",
	  "FAIL\t1\tuser=admin\n" },
	{ "master user unknown target", MASTERS FILE2 "}\n", "nosuch*admin", "adminpw", "",
	  "FAIL\t1\tuser=nosuch\tcode=authz_fail\n" },
	{ "not a master user", MASTERS FILE2 "}\n", "alice*bob", "b2", "",
	  "FAIL\t1\tuser=bob\n" },
	{ "normal login beside masters", MASTERS FILE2 "}\n", "bob", "b2", "",
	  "OK\t1\tuser=bob\n" },
	{ "no master passdb", "auth_master_user_separator = *\n" FILE2 "}\n",
	  "alice*bob", "b2", "", "FAIL\t1\tuser=bob\tcode=authz_fail\n" },
	/* nodelay reaches a FAIL */
	{ "nodelay", FILE1 "}\n", "frank", "wrong", "", "FAIL\t1\tuser=frank\tnodelay\n" },
};

static void test_passdb_chain_actions(void **state ATTR_UNUSED)
{
	write_file("chain1",
		   "alice:a1\n"
		   "dave:d1::::::nologin reason=Moved proxy host=192.0.2.7 port=143 pass=secret\n"
		   "erin:e1::::::allow_nets=192.0.2.0/24,2001:db8::/32\n"
		   "frank:f1::::::nodelay\n");
	write_file("chain2", "alice:a2\nbob:b2\n");
	write_file("masters", "admin:adminpw\n");
	for (size_t i = 0; i < N_ELEMENTS(chain_cases); i++) {
		const struct chain_case *c = &chain_cases[i];
		struct harness h;
		/* replace @DIR@ by tmpdir */
		string_t *confstr = str_create(256);
		for (const char *p = c->config; *p != '\0'; p++) {
			if (strncmp(p, "@DIR@", 5) == 0) {
				str_append(confstr, tmpdir);
				p += 4;
			} else {
				str_append_c(confstr, *p);
			}
		}
		char *conf = str_free_without_data(&confstr);
		harness_init(&h, conf);
		harness_connect(&h, false, false);
		char resp[128];
		size_t ulen = strlen(c->user), plen = strlen(c->password);
		resp[0] = '\0';
		memcpy(resp + 1, c->user, ulen);
		resp[1 + ulen] = '\0';
		memcpy(resp + 2 + ulen, c->password, plen);
		string_t *b64 = str_create(128);
		base64_encode(b64, resp, 2 + ulen + plen);
		char *line = x_printf("VERSION\t1\t2\nCPID\t1\nAUTH\t1\tPLAIN\tservice=smtp%s\tresp=%s\n",
				      c->params, str_c(b64));
		harness_send(&h, line, false);
		char *out = harness_take(&h);
		const char *reply = strstr(out, "DONE\n");
		if (reply == NULL || strncmp(reply + 5, c->expect, strlen(c->expect)) != 0)
			fail_msg("%s: expected %s, got: %s", c->name, c->expect,
				 reply != NULL ? reply + 5 : out);
		free(out);
		free(line);
		str_free(&b64);
		harness_deinit(&h);
		free(conf);
	}
}

/* Non-plaintext mechanisms go through the same chain: a deny passdb and
   allow_nets stop a CRAM-MD5 login that the next passdb could serve. */
static char *cram_login(struct harness *h, const char *user, const char *secret,
			const char *params)
{
	char *line = x_printf("AUTH\t1\tCRAM-MD5\tservice=smtp%s\n", params);
	harness_send(h, line, false);
	free(line);
	char *out = harness_take(h);
	const char *cont = strstr(out, "CONT\t1\t");
	if (cont == NULL)
		fail_msg("no challenge: %s", out);
	string_t *challenge = str_create(64);
	char *b64 = x_strndup(cont + 7, strcspn(cont + 7, "\n"));
	assert_int_equal(base64_decode(challenge, b64, strlen(b64)), 0);
	unsigned char mac[16];
	unsigned int mac_len = sizeof(mac);
	HMAC(EVP_md5(), secret, (int)strlen(secret), str_data(challenge),
	     str_len(challenge), mac, &mac_len);
	string_t *resp = str_create(64);
	str_printfa(resp, "%s ", user);
	for (unsigned int i = 0; i < mac_len; i++)
		str_printfa(resp, "%02x", mac[i]);
	char *reply = harness_cont(h, 1, str_c(resp), str_len(resp));
	str_free(&resp);
	str_free(&challenge);
	free(b64);
	free(out);
	return reply;
}

static void test_credentials_chain(void **state ATTR_UNUSED)
{
	struct harness h;
	char *conf = x_printf("auth_mechanisms = cram-md5\n"
		"passdb {\n driver = passwd-file\n args = %s/chain2\n deny = yes\n}\n"
		"passdb {\n driver = passwd-file\n args = scheme=PLAIN %s/chain1\n}\n",
		tmpdir, tmpdir);
	write_file("chain1", "alice:a1\ncarl:c1\nerin:e1::::::allow_nets=192.0.2.0/24\n");
	write_file("chain2", "alice:\n");
	harness_init(&h, conf);
	harness_connect(&h, false, false);
	harness_send(&h, "VERSION\t1\t2\nCPID\t1\n", false);
	free(harness_take(&h));
	char *out = cram_login(&h, "carl", "c1", "");
	assert_contains(out, "OK\t1\tuser=carl");
	free(out);
	out = cram_login(&h, "alice", "a1", "");
	assert_contains(out, "FAIL\t1\tuser=alice");
	free(out);
	out = cram_login(&h, "erin", "e1", "\trip=192.0.2.5");
	assert_contains(out, "OK\t1\tuser=erin");
	free(out);
	out = cram_login(&h, "erin", "e1", "\trip=198.51.100.5");
	assert_contains(out, "FAIL\t1\tuser=erin");
	free(out);
	harness_deinit(&h);
	free(conf);
}

static void test_userdb_skip_found(void **state ATTR_UNUSED)
{
	struct harness h;
	char *conf = x_printf(
		"passdb {\n driver = static\n args = nopassword\n}\n"
		"userdb {\n driver = passwd-file\n args = %s/users\n}\n"
		"userdb {\n driver = static\n args = uid=9 gid=9 allow_all_users=yes\n"
		" skip = found\n}\n", tmpdir);
	harness_init(&h, conf);
	harness_connect(&h, true, true);
	harness_send(&h, "VERSION\t1\t1\nUSER\t1\talice\tservice=lmtp\n"
		     "USER\t2\tzed\tservice=lmtp\n", false);
	char *out = harness_take(&h);
	/* alice: the passwd-file userdb found her, the static one is skipped */
	assert_contains(out, "USER\t1\talice\tuid=1001\tgid=1001\thome=/home/alice\t"
			"quota_rule=*:storage=1G\n");
	/* zed is not in the file: the static userdb answers */
	assert_contains(out, "USER\t2\tzed\tuid=9\tgid=9\n");
	free(out);
	harness_deinit(&h);
	free(conf);
}

static int setup(void **state ATTR_UNUSED)
{
	if (test_harness_setup_dir() < 0)
		return -1;
	write_file("users",
		   "# comment\n"
		   "alice:{PLAIN}alicepw:1001:1001::/home/alice::quota=1G userdb_quota_rule=*:storage=1G\n"
		   "bob:bobpw:1002:1002::/home/bob::\n"
		   "carol:carolpw\n");
	write_file("deny", "carol:\n");
	write_file("empty", "");
	return 0;
}

static int teardown(void **state ATTR_UNUSED)
{
	return test_harness_remove_dir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_login_and_cont),
		cmocka_unit_test(test_closing_inputs),
		cmocka_unit_test(test_overlong_line),
		cmocka_unit_test(test_chain_and_format),
		cmocka_unit_test(test_master_userdb),
		cmocka_unit_test(test_many_pipelined),
		cmocka_unit_test(test_passwd_file_reload),
		cmocka_unit_test(test_disable_plaintext),
		cmocka_unit_test(test_unknown_scheme_logged),
		cmocka_unit_test(test_login_request_handover),
		cmocka_unit_test(test_passdb_chain_actions),
		cmocka_unit_test(test_credentials_chain),
		cmocka_unit_test(test_userdb_skip_found),
		cmocka_unit_test(test_userdb_prefetch),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
