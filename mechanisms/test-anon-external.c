/* ANONYMOUS and EXTERNAL over the client protocol, in process. Expected
   lines are Dovecot 2.3.19's answers to the same requests (captured live),
   except where a comment says roost differs. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "base64.h"
#include "roost-settings.h"
#include "auth.h"
#include "test-harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <event2/event.h>
#include <setjmp.h>
#include <cmocka.h>

#define NO_CERT_FAIL "reason=Client didn't present valid SSL certificate"

static char *mech_config(const char *extra)
{
	return x_printf("auth_mechanisms = plain anonymous external\n%s"
			"passdb {\n driver = passwd-file\n args = scheme=PLAIN %s/users\n}\n"
			"userdb {\n driver = passwd-file\n args = %s/users\n}\n",
			extra, tmpdir, tmpdir);
}

static void start(struct harness *h, const char *extra, bool bytewise)
{
	char *conf = mech_config(extra);
	harness_init(h, conf);
	free(conf);
	harness_connect(h, false, false);
	harness_send(h, "VERSION\t1\t2\nCPID\t42\n", bytewise);
	free(harness_take(h));
}

/* Send one line, check the whole reply. */
static void expect(struct harness *h, const char *line, const char *reply)
{
	harness_send(h, line, false);
	char *out = harness_take(h);
	if (strcmp(out, reply) != 0)
		fail_msg("sent %s expected %s got %s", line, reply, out);
	free(out);
}

static void test_handshake_flags(void **state ATTR_UNUSED)
{
	struct harness h;
	char *conf = mech_config("");
	harness_init(&h, conf);
	free(conf);
	harness_connect(&h, false, false);
	harness_run(&h);
	char *out = harness_take(&h);
	assert_contains(out, "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\n"
			"MECH\tANONYMOUS\tanonymous\nMECH\tEXTERNAL\nSPID\t");
	free(out);
	harness_deinit(&h);
}

static void test_anonymous(void **state ATTR_UNUSED)
{
	static const bool modes[] = { false, true };
	for (size_t m = 0; m < N_ELEMENTS(modes); m++) {
		struct harness h;
		start(&h, "", modes[m]);
		/* spec §9.8: trace@example.org */
		harness_send(&h, "AUTH\t11\tANONYMOUS\tservice=imap\t"
			     "resp=dHJhY2VAZXhhbXBsZS5vcmc=\n", modes[m]);
		char *out = harness_take(&h);
		assert_string_equal(out, "OK\t11\tuser=anonymous\tanonymous\n");
		free(out);
		harness_deinit(&h);
	}

	struct harness h;
	start(&h, "", false);
	/* empty trace ("=" and, with minor 2, an empty resp=) */
	expect(&h, "AUTH\t1\tANONYMOUS\tservice=imap\tresp==\n",
	       "OK\t1\tuser=anonymous\tanonymous\n");
	expect(&h, "AUTH\t2\tANONYMOUS\tservice=imap\tresp=\n",
	       "OK\t2\tuser=anonymous\tanonymous\n");
	/* no initial response: empty challenge, trace in the CONT */
	expect(&h, "AUTH\t3\tANONYMOUS\tservice=imap\n", "CONT\t3\t\n");
	expect(&h, "CONT\t3\tdHJhY2U=\n", "OK\t3\tuser=anonymous\tanonymous\n");
	expect(&h, "AUTH\t4\tANONYMOUS\tservice=imap\n", "CONT\t4\t\n");
	expect(&h, "CONT\t4\t\n", "OK\t4\tuser=anonymous\tanonymous\n");
	/* a second CONT after OK: the request is gone */
	expect(&h, "CONT\t4\t\n", "FAIL\t4\treason=Authentication request timed out\n");
	/* NUL, TAB, SOH, LF and invalid UTF-8 in the trace: accepted
	   (ANONYMOUS allows NULs; the trace is only logged, escaped) */
	expect(&h, "AUTH\t5\tANONYMOUS\tservice=imap\tdebug\tresp=YQBiCWMBZApk//4=\n",
	       "OK\t5\tuser=anonymous\tanonymous\n");
	/* the trace never becomes the user */
	expect(&h, "AUTH\t6\tANONYMOUS\tservice=imap\tresp=YWxpY2U=\n",
	       "OK\t6\tuser=anonymous\tanonymous\n");
	/* bad base64 */
	expect(&h, "AUTH\t7\tANONYMOUS\tservice=imap\tresp=!!\n",
	       "FAIL\t7\tcode=invalid_base64\treason=Invalid base64 data in initial response\n");
	/* PLAIN as the anonymous user is flagged too (Dovecot does) */
	expect(&h, "AUTH\t8\tPLAIN\tservice=imap\tresp=AGFub255bW91cwBhbm9ucHc=\n",
	       "OK\t8\tuser=anonymous\tanonymous\n");
	expect(&h, "AUTH\t9\tPLAIN\tservice=imap\tresp=AGFsaWNlAGFsaWNlcHc=\n",
	       "OK\t9\tuser=alice\n");
	harness_deinit(&h);
}

static void test_anonymous_oversized_trace(void **state ATTR_UNUSED)
{
	/* RFC 4505 caps the trace at 255 characters; Dovecot accepts more
	   (only the line limit bounds it), so does roost (logging at most
	   255 bytes of it). 12000 bytes -> 16000 base64 chars, just under
	   the 16384-byte line limit. */
	static const size_t sizes[] = { 255, 256, 12000 };
	struct harness h;
	start(&h, "auth_verbose = yes\n", false);
	for (size_t i = 0; i < N_ELEMENTS(sizes); i++) {
		unsigned char *trace = x_malloc(sizes[i]);
		memset(trace, 'x', sizes[i]);
		trace[sizes[i] / 2] = '\0';
		string_t *line = str_create(sizes[i] * 2);
		str_printfa(line, "AUTH\t%zu\tANONYMOUS\tservice=imap\tresp=", i + 1);
		base64_encode(line, trace, sizes[i]);
		str_append_c(line, '\n');
		char reply[64];
		snprintf(reply, sizeof(reply), "OK\t%zu\tuser=anonymous\tanonymous\n", i + 1);
		expect(&h, str_c(line), reply);
		str_free(&line);
		free(trace);
	}
	harness_deinit(&h);
}

static void test_anonymous_username(void **state ATTR_UNUSED)
{
	struct harness h;
	/* the configured name is used as is: no realm, no format */
	start(&h, "auth_anonymous_username = Guest\n"
	      "auth_default_realm = example.com\nauth_username_format = %Lu\n", false);
	expect(&h, "AUTH\t1\tANONYMOUS\tservice=imap\tresp=dA==\n",
	       "OK\t1\tuser=Guest\tanonymous\n");
	/* "anonymous" is now an ordinary name */
	expect(&h, "AUTH\t2\tANONYMOUS\tservice=imap\tresp=YW5vbnltb3Vz\n",
	       "OK\t2\tuser=Guest\tanonymous\n");
	harness_deinit(&h);

	/* Dovecot: "ANONYMOUS listed in mechanisms, but anonymous_username
	   not set" is fatal at start-up */
	struct pool *pool = pool_create("test", 256);
	struct roost_settings *set;
	struct event_base *base = event_base_new();
	struct auth *auth = NULL;
	const char *error;
	char *conf = x_printf("base_dir = %s/run\nauth_anonymous_username =\n%s",
			      tmpdir, "auth_mechanisms = plain anonymous\n"
			      "passdb {\n driver = static\n args = password=x\n}\n"
			      "userdb {\n driver = static\n args = uid=1 gid=1\n}\n");
	if (roost_settings_read_string(conf, "t.conf", &set, pool, &error) < 0)
		fail_msg("config: %s", error);
	assert_int_equal(auth_create(base, set, &auth, &error), -1);
	assert_string_equal(error, "auth_mechanisms: ANONYMOUS listed, "
			    "but auth_anonymous_username is empty");
	free((char *)error);
	roost_settings_free(&set);
	event_base_free(base);
	pool_destroy(&pool);
	free(conf);
}

#define CERT_CONFIG "auth_ssl_username_from_cert = yes\n"

static void test_external_success(void **state ATTR_UNUSED)
{
	static const bool modes[] = { false, true };
	for (size_t m = 0; m < N_ELEMENTS(modes); m++) {
		struct harness h;
		start(&h, CERT_CONFIG, modes[m]);
		/* Dovecot sends original_user= (empty: EXTERNAL gave no name) */
		harness_send(&h, "AUTH\t1\tEXTERNAL\tservice=imap\tvalid-client-cert\t"
			     "cert_username=certuser\tresp==\n", modes[m]);
		char *out = harness_take(&h);
		assert_string_equal(out, "OK\t1\tuser=certuser\toriginal_user=\n");
		free(out);
		harness_deinit(&h);
	}

	struct harness h;
	start(&h, CERT_CONFIG, false);
	/* authzid equal to the certificate's name */
	expect(&h, "AUTH\t2\tEXTERNAL\tservice=imap\tvalid-client-cert\t"
	       "cert_username=certuser\tresp=Y2VydHVzZXI=\n",
	       "OK\t2\tuser=certuser\toriginal_user=\n");
	/* no initial response: empty challenge, then an empty authzid */
	expect(&h, "AUTH\t3\tEXTERNAL\tservice=imap\tvalid-client-cert\t"
	       "cert_username=certuser\n", "CONT\t3\t\n");
	expect(&h, "CONT\t3\t\n", "OK\t3\tuser=certuser\toriginal_user=\n");
	/* the certificate's name goes through username_format like any */
	harness_deinit(&h);
	start(&h, CERT_CONFIG "auth_username_format = %Lu\n", false);
	expect(&h, "AUTH\t4\tEXTERNAL\tservice=imap\tvalid-client-cert\t"
	       "cert_username=CertUser\tresp=Q0VSVFVTRVI=\n",
	       "OK\t4\tuser=certuser\toriginal_user=\n");
	/* with auth_ssl_username_from_cert the name overrides PLAIN's too
	   (Dovecot: the password is checked for the certificate's user) */
	expect(&h, "AUTH\t5\tPLAIN\tservice=imap\tvalid-client-cert\t"
	       "cert_username=certuser\tresp=AGFsaWNlAGFsaWNlcHc=\n",
	       "OK\t5\tuser=certuser\toriginal_user=alice\n");
	harness_deinit(&h);
}

static void test_external_no_cert(void **state ATTR_UNUSED)
{
	struct harness h;
	start(&h, CERT_CONFIG, false);
	/* roost differs: Dovecot 2.3 accepts cert_username without
	   valid-client-cert (unless auth_ssl_require_client_cert) */
	expect(&h, "AUTH\t1\tEXTERNAL\tservice=imap\tcert_username=certuser\tresp==\n",
	       "FAIL\t1\t" NO_CERT_FAIL "\n");
	expect(&h, "AUTH\t2\tEXTERNAL\tservice=imap\tresp==\n",
	       "FAIL\t2\t" NO_CERT_FAIL "\n");
	/* also when the mechanism runs after the challenge */
	expect(&h, "AUTH\t3\tEXTERNAL\tservice=imap\n", "CONT\t3\t\n");
	expect(&h, "CONT\t3\t\n", "FAIL\t3\t" NO_CERT_FAIL "\n");
	harness_deinit(&h);
}

static void test_external_no_username(void **state ATTR_UNUSED)
{
	struct harness h;
	start(&h, CERT_CONFIG, false);
	/* Dovecot: "username not known" */
	expect(&h, "AUTH\t1\tEXTERNAL\tservice=imap\tvalid-client-cert\tresp==\n",
	       "FAIL\t1\n");
	expect(&h, "AUTH\t2\tEXTERNAL\tservice=imap\tvalid-client-cert\t"
	       "cert_username=\tresp==\n", "FAIL\t2\n");
	/* an authzid is no username */
	expect(&h, "AUTH\t3\tEXTERNAL\tservice=imap\tvalid-client-cert\t"
	       "resp=Y2VydHVzZXI=\n", "FAIL\t3\n");
	harness_deinit(&h);

	/* cert_username is ignored without auth_ssl_username_from_cert */
	start(&h, "", false);
	expect(&h, "AUTH\t4\tEXTERNAL\tservice=imap\tvalid-client-cert\t"
	       "cert_username=certuser\tresp==\n", "FAIL\t4\n");
	expect(&h, "AUTH\t5\tPLAIN\tservice=imap\tvalid-client-cert\t"
	       "cert_username=certuser\tresp=AGFsaWNlAGFsaWNlcHc=\n",
	       "OK\t5\tuser=alice\n");
	harness_deinit(&h);
}

static void test_external_authzid_mismatch(void **state ATTR_UNUSED)
{
	struct harness h;
	start(&h, CERT_CONFIG, false);
	/* Dovecot: "Master user login attempted without master passdbs",
	   FAIL without a code */
	expect(&h, "AUTH\t1\tEXTERNAL\tservice=imap\tvalid-client-cert\t"
	       "cert_username=certuser\tresp=YWxpY2U=\n", "FAIL\t1\tuser=certuser\n");
	/* compared after auth_username_format (default %Lu, as Dovecot) */
	expect(&h, "AUTH\t2\tEXTERNAL\tservice=imap\tvalid-client-cert\t"
	       "cert_username=certuser\tresp=Q0VSVFVTRVI=\n",
	       "OK\t2\tuser=certuser\toriginal_user=\n");
	expect(&h, "AUTH\t3\tEXTERNAL\tservice=imap\tvalid-client-cert\t"
	       "cert_username=certuser\tresp=Y2VydHVzZXJ4\n", "FAIL\t3\tuser=certuser\n");
	harness_deinit(&h);
}

static void test_external_passdb(void **state ATTR_UNUSED)
{
	struct harness h;
	start(&h, CERT_CONFIG, false);
	expect(&h, "AUTH\t1\tEXTERNAL\tservice=imap\tvalid-client-cert\t"
	       "cert_username=nosuch\tresp==\n", "FAIL\t1\tuser=nosuch\n");
	/* as Dovecot: the passdb verifies an empty password, so a user with
	   a password (and without nopassword) can't log in by certificate */
	expect(&h, "AUTH\t2\tEXTERNAL\tservice=imap\tvalid-client-cert\t"
	       "cert_username=alice\tresp==\n", "FAIL\t2\tuser=alice\n");
	/* nopassword user denied by its passdb extra field */
	expect(&h, "AUTH\t3\tEXTERNAL\tservice=imap\tvalid-client-cert\t"
	       "cert_username=disabled\tresp==\n", "FAIL\t3\tuser=disabled\n");
	harness_deinit(&h);
}

static void test_external_malformed(void **state ATTR_UNUSED)
{
	struct harness h;
	start(&h, CERT_CONFIG, false);
	/* EXTERNAL allows no NULs (spec §5) */
	expect(&h, "AUTH\t1\tEXTERNAL\tservice=imap\tvalid-client-cert\t"
	       "cert_username=certuser\tresp=YQBi\n", "FAIL\t1\n");
	expect(&h, "AUTH\t2\tEXTERNAL\tservice=imap\tvalid-client-cert\t"
	       "cert_username=certuser\tresp=%%%\n",
	       "FAIL\t2\tcode=invalid_base64\treason=Invalid base64 data in initial response\n");
	expect(&h, "AUTH\t3\tEXTERNAL\tservice=imap\tvalid-client-cert\t"
	       "cert_username=certuser\n", "CONT\t3\t\n");
	expect(&h, "CONT\t3\tAA==\n", "FAIL\t3\n");
	/* TAB / LF in the certificate's name (tab-escaped on the AUTH
	   line): refused, never echoed (user= is the empty SASL name) */
	expect(&h, "AUTH\t4\tEXTERNAL\tservice=imap\tvalid-client-cert\t"
	       "cert_username=cert\001tuser\tresp==\n", "FAIL\t4\tuser=\n");
	expect(&h, "AUTH\t5\tEXTERNAL\tservice=imap\tvalid-client-cert\t"
	       "cert_username=cert\001nuser\tresp==\n", "FAIL\t5\tuser=\n");
	harness_deinit(&h);
}

static int setup(void **state ATTR_UNUSED)
{
	if (test_harness_setup_dir() < 0)
		return -1;
	write_file("users",
		   "alice:alicepw:1001:1001::/home/alice::\n"
		   "anonymous:anonpw:1004:1004::/home/anon::\n"
		   "certuser::1003:1003::/home/cert::nopassword\n"
		   "disabled::1005:1005::/home/dis::nopassword allow_nets=192.0.2.1\n");
	return 0;
}

static int teardown(void **state ATTR_UNUSED)
{
	return test_harness_remove_dir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_flags),
		cmocka_unit_test(test_anonymous),
		cmocka_unit_test(test_anonymous_oversized_trace),
		cmocka_unit_test(test_anonymous_username),
		cmocka_unit_test(test_external_success),
		cmocka_unit_test(test_external_no_cert),
		cmocka_unit_test(test_external_no_username),
		cmocka_unit_test(test_external_authzid_mismatch),
		cmocka_unit_test(test_external_passdb),
		cmocka_unit_test(test_external_malformed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
