/* CRAM-MD5 (RFC 2195) in-process over a socketpair: the server's
   challenge is random, so the client side (OpenSSL HMAC, independent of
   the server's stored-context code) answers whatever challenge it gets,
   after checking itself against the RFC 2195 vector. */
#include "lib.h"
#include "str.h"
#include "base64.h"
#include "hex.h"
#include "log.h"
#include "test-harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* RFC 2195 2 */
#define RFC_SECRET "tanstaaftanstaaf"
#define RFC_CHALLENGE "<1896.697170952@postoffice.reston.mci.net>"
#define RFC_DIGEST "b913a602c7eda7a495b4e6e7334d3890"
#define RFC_STORED "{CRAM-MD5}d06d4e1b26fccaa4b0b61801132340a354b21152711fb604ca3e035e7015116b"

#define SHA512_CRYPT_STORED "{SHA512-CRYPT}$6$HqumxFOHbHHJth80$sG6GXIJ.46veAmdSXNVa" \
	"eahx54Y3GAMDRCjw.oFOqDZtLUB1iJboJ2l8aPSaLMJlf1vBxpKw0ZuJvsKySi6QN."

static char logpath[256];

static void client_digest(const char *secret, const char *challenge, char hex_r[33])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;

	assert_non_null(HMAC(EVP_md5(), secret, (int)strlen(secret),
			     (const unsigned char *)challenge, strlen(challenge),
			     mac, &mac_len));
	assert_int_equal(mac_len, 16);
	hex_encode_buf(hex_r, 33, mac, 16);
}

static void start(struct harness *h)
{
	char *conf = users_config();
	char *extra = x_printf("%sauth_mechanisms = cram-md5 digest-md5 plain\n", conf);
	harness_init(h, extra);
	free(extra);
	free(conf);
	harness_connect(h, false, false);
	harness_send(h, "VERSION\t1\t2\nCPID\t42\n", false);
	free(harness_take(h));
}

/* AUTH id CRAM-MD5; returns the decoded challenge (malloc()ed). */
static char *auth_challenge(struct harness *h, unsigned int id, const char *params)
{
	char *line = x_printf("AUTH\t%u\tCRAM-MD5\tservice=imap%s\n", id, params);
	harness_send(h, line, false);
	free(line);
	char *out = harness_take(h);
	char *prefix = x_printf("CONT\t%u\t", id);
	if (strncmp(out, prefix, strlen(prefix)) != 0)
		fail_msg("expected %s..., got %s", prefix, out);
	const char *b = out + strlen(prefix);
	size_t len = strcspn(b, "\n");
	assert_string_equal(b + len, "\n");
	string_t *dec = str_create(64);
	assert_int_equal(base64_decode(dec, b, len), 0);
	free(prefix);
	free(out);
	return str_free_without_data(&dec);
}

static char *respond(struct harness *h, unsigned int id, const char *user,
		     const char *secret, const char *challenge)
{
	char hex[33];
	client_digest(secret, challenge, hex);
	char *resp = x_printf("%s %s", user, hex);
	char *out = harness_cont(h, id, resp, strlen(resp));
	free(resp);
	return out;
}

static void test_rfc2195_vector(void **state ATTR_UNUSED)
{
	char hex[33];

	/* the client implementation against RFC 2195's example */
	client_digest(RFC_SECRET, RFC_CHALLENGE, hex);
	assert_string_equal(hex, RFC_DIGEST);
	char *enc = test_b64(RFC_CHALLENGE, strlen(RFC_CHALLENGE));
	assert_string_equal(enc, "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+");
	free(enc);

	struct harness h;
	start(&h);
	/* tim has RFC 2195's {CRAM-MD5} context stored, alice a plaintext */
	char *challenge = auth_challenge(&h, 1, "");
	char *out = respond(&h, 1, "tim", RFC_SECRET, challenge);
	assert_string_equal(out, "OK\t1\tuser=tim\n");
	free(out);
	free(challenge);
	challenge = auth_challenge(&h, 2, "");
	out = respond(&h, 2, "alice", "alicepw", challenge);
	assert_string_equal(out, "OK\t2\tuser=alice\n");
	free(out);
	free(challenge);
	harness_deinit(&h);
}

static void test_challenge_format(void **state ATTR_UNUSED)
{
	struct harness h;
	char hostname[256];

	start(&h);
	char *c1 = auth_challenge(&h, 1, "");
	char *c2 = auth_challenge(&h, 2, "");
	/* Dovecot: <16 random digits.unix time@hostname> */
	assert_true(gethostname(hostname, sizeof(hostname)) == 0);
	char *suffix = x_printf("@%s>", hostname);
	for (char *c = c1; c != NULL; c = c == c1 ? c2 : NULL) {
		assert_int_equal(c[0], '<');
		assert_int_equal(strspn(c + 1, "0123456789"), 16);
		assert_int_equal(c[17], '.');
		size_t tlen = strspn(c + 18, "0123456789");
		assert_true(tlen >= 10);
		assert_string_equal(c + 18 + tlen, suffix);
	}
	/* unique per request */
	assert_string_not_equal(c1, c2);
	free(suffix);
	free(c1);
	free(c2);
	harness_deinit(&h);
}

static void test_handshake_flags(void **state ATTR_UNUSED)
{
	struct harness h;
	char *conf = users_config();
	char *extra = x_printf("%sauth_mechanisms = cram-md5 digest-md5\n", conf);
	harness_init(&h, extra);
	harness_connect(&h, false, false);
	harness_run(&h);
	char *out = harness_take(&h);
	assert_contains(out, "VERSION\t1\t2\nMECH\tCRAM-MD5\tdictionary\tactive\n"
			"MECH\tDIGEST-MD5\tdictionary\tactive\tmutual-auth\nSPID\t");
	free(out);
	harness_deinit(&h);
	free(extra);
	free(conf);
}

static void test_failures(void **state ATTR_UNUSED)
{
	struct harness h;
	start(&h);
	/* wrong password, stored context and plaintext */
	char *challenge = auth_challenge(&h, 1, "");
	char *out = respond(&h, 1, "tim", "wrong", challenge);
	assert_string_equal(out, "FAIL\t1\tuser=tim\n");
	free(out);
	free(challenge);
	challenge = auth_challenge(&h, 2, "");
	out = respond(&h, 2, "alice", "alicepW", challenge);
	assert_string_equal(out, "FAIL\t2\tuser=alice\n");
	free(out);
	free(challenge);
	/* unknown user */
	challenge = auth_challenge(&h, 3, "");
	out = respond(&h, 3, "nosuch", "x", challenge);
	assert_string_equal(out, "FAIL\t3\tuser=nosuch\n");
	free(out);
	free(challenge);
	/* right digest, but for another challenge (replayed response) */
	char *old = auth_challenge(&h, 4, "");
	char *current = auth_challenge(&h, 5, "");
	out = respond(&h, 4, "tim", RFC_SECRET, current);
	assert_string_equal(out, "FAIL\t4\tuser=tim\n");
	free(out);
	out = respond(&h, 5, "tim", RFC_SECRET, current);
	assert_string_equal(out, "OK\t5\tuser=tim\n");
	free(out);
	free(old);
	free(current);
	harness_deinit(&h);
}

static const struct {
	const char *name;
	const char *response;   /* NULL: oversized */
	const char *expect;     /* FAIL line after "FAIL\t<id>" */
	const char *log;
} malformed[] = {
	{ "empty", "", "\n", "CRAM-MD5: missing digest" },
	{ "no space", "timb913a602c7eda7a495b4e6e7334d3890", "\n", "missing digest" },
	{ "leading space", " b913a602c7eda7a495b4e6e7334d3890", "\n", "missing digest" },
	{ "truncated after user", "tim ", "\tuser=tim\n", "invalid digest" },
	{ "truncated digest", "tim b913a602c7eda7a495b4e6e7334d389", "\tuser=tim\n", "invalid digest" },
	{ "long digest", "tim b913a602c7eda7a495b4e6e7334d38900", "\tuser=tim\n", "invalid digest" },
	{ "non-hex digest", "tim b913a602c7eda7a495b4e6e7334d38zz", "\tuser=tim\n", "invalid digest" },
	/* the name as typed, tab-escaped (spec §1.1) */
	{ "upper-case digest", "tim B913A602C7EDA7A495B4E6E7334D3890", "\tuser=tim\n", "invalid digest" },
	{ "tab in user", "t\tim b913a602c7eda7a495b4e6e7334d3890", "\tuser=t\001tim\n",
	  "control characters" },
	{ "oversized", NULL, "\n", "response too long (1025 > 1024 bytes)" },
};

static void test_malformed(void **state ATTR_UNUSED)
{
	struct harness h;
	const char *error;

	assert_int_equal(log_set_target(logpath, NULL, &error), 0);
	start(&h);
	for (unsigned int i = 0; i < N_ELEMENTS(malformed); i++) {
		unsigned int id = 10 + i;
		char *challenge = auth_challenge(&h, id, "");
		char *big = NULL;
		const char *resp = malformed[i].response;
		if (resp == NULL) {
			big = x_malloc(1026);
			memset(big, 'a', 1025);
			memcpy(big + 1025 - 33, " b913a602c7eda7a495b4e6e7334d3890", 33);
			resp = big;
		}
		assert_int_equal(truncate(logpath, 0), 0);
		char *out = harness_cont(&h, id, resp, strlen(resp));
		char *expect = x_printf("FAIL\t%u%s", id, malformed[i].expect);
		if (strcmp(out, expect) != 0)
			fail_msg("%s: expected %s got %s", malformed[i].name, expect, out);
		char *log = test_read_file(logpath);
		if (strstr(log, malformed[i].log) == NULL)
			fail_msg("%s: expected %s in log: %s", malformed[i].name,
				 malformed[i].log, log);
		free(log);
		free(expect);
		free(out);
		free(big);
		free(challenge);
	}
	/* NUL bytes: refused by the protocol layer (spec §5) */
	char *challenge = auth_challenge(&h, 30, "");
	char *out = harness_cont(&h, 30, "tim\0 b913a602c7eda7a495b4e6e7334d3890", 37);
	assert_string_equal(out, "FAIL\t30\n");
	free(out);
	free(challenge);
	harness_deinit(&h);
	log_set_fd(2);
}

static void test_step_order(void **state ATTR_UNUSED)
{
	struct harness h;
	start(&h);
	/* CONT before any AUTH */
	char *out = harness_cont(&h, 1, "tim x", 5);
	assert_string_equal(out, "FAIL\t1\treason=Authentication request timed out\n");
	free(out);
	/* an initial response is ignored (server-first), as in Dovecot */
	char *challenge = auth_challenge(&h, 2, "\tresp=dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
	assert_int_equal(challenge[0], '<');
	out = respond(&h, 2, "tim", RFC_SECRET, challenge);
	assert_string_equal(out, "OK\t2\tuser=tim\n");
	free(out);
	/* nothing more after OK: the request is gone */
	out = respond(&h, 2, "tim", RFC_SECRET, challenge);
	assert_string_equal(out, "FAIL\t2\treason=Authentication request timed out\n");
	free(out);
	free(challenge);
	/* and after a FAIL */
	challenge = auth_challenge(&h, 3, "");
	out = respond(&h, 3, "tim", "wrong", challenge);
	assert_string_equal(out, "FAIL\t3\tuser=tim\n");
	free(out);
	out = respond(&h, 3, "tim", RFC_SECRET, challenge);
	assert_string_equal(out, "FAIL\t3\treason=Authentication request timed out\n");
	free(out);
	free(challenge);
	harness_deinit(&h);
}

static void test_scheme_not_available(void **state ATTR_UNUSED)
{
	struct harness h;
	const char *error;

	assert_int_equal(log_set_target(logpath, NULL, &error), 0);
	assert_int_equal(truncate(logpath, 0), 0);
	start(&h);
	char *challenge = auth_challenge(&h, 1, "");
	char *out = respond(&h, 1, "sha", "password", challenge);
	assert_string_equal(out, "FAIL\t1\tuser=sha\n");
	free(out);
	free(challenge);
	harness_deinit(&h);
	log_set_fd(2);
	char *log = test_read_file(logpath);
	assert_contains(log, "CRAM-MD5(sha): Requested CRAM-MD5 scheme, but we have "
			"only SHA512-CRYPT (user sha, mechanism CRAM-MD5)");
	free(log);
}

static int setup(void **state ATTR_UNUSED)
{
	if (test_harness_setup_dir() < 0)
		return -1;
	snprintf(logpath, sizeof(logpath), "%s/log", tmpdir);
	write_file("users",
		   "tim:" RFC_STORED "\n"
		   "alice:{PLAIN}alicepw\n"
		   "sha:" SHA512_CRYPT_STORED "\n");
	return 0;
}

static int teardown(void **state ATTR_UNUSED)
{
	return test_harness_remove_dir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc2195_vector),
		cmocka_unit_test(test_challenge_format),
		cmocka_unit_test(test_handshake_flags),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_step_order),
		cmocka_unit_test(test_scheme_not_available),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
