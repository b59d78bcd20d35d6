/* DIGEST-MD5 (RFC 2831) in-process over a socketpair. The server's nonce
   is random, so the client side (OpenSSL MD5, written from RFC 2831
   2.1.2.1 independently of the server) is first checked against the RFC's
   example, then answers whatever challenge it gets. */
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

/* RFC 2831 4 */
#define RFC_USER "chris"
#define RFC_REALM "elwood.innosoft.com"
#define RFC_PASS "secret"
#define RFC_STORED "{DIGEST-MD5}eb5a750053e4d2c34aa84bbc9b0b6ee7"

#define SHA512_CRYPT_STORED "{SHA512-CRYPT}$6$HqumxFOHbHHJth80$sG6GXIJ.46veAmdSXNVa" \
	"eahx54Y3GAMDRCjw.oFOqDZtLUB1iJboJ2l8aPSaLMJlf1vBxpKw0ZuJvsKySi6QN."

static char logpath[256];

struct client {
	const char *user, *realm, *pass;
	const char *nonce, *cnonce, *nc, *qop, *uri, *authzid;
};

static void md5_hex(const void *data, size_t size, char hex_r[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	assert_int_equal(EVP_Digest(data, size, md, &len, EVP_md5(), NULL), 1);
	assert_int_equal(len, 16);
	hex_encode_buf(hex_r, 33, md, 16);
}

/* response (a2_prefix "AUTHENTICATE:") or rspauth (":") */
static void client_compute(const struct client *c, const char *a2_prefix, char hex_r[33])
{
	unsigned char ha1pre[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char a1_hex[33], a2_hex[33];

	char *s = x_printf("%s:%s:%s", c->user, c->realm, c->pass);
	assert_int_equal(EVP_Digest(s, strlen(s), ha1pre, &len, EVP_md5(), NULL), 1);
	free(s);
	string_t *a1 = str_create(128);
	str_append_n(a1, ha1pre, 16);
	str_printfa(a1, ":%s:%s", c->nonce, c->cnonce);
	if (c->authzid != NULL)
		str_printfa(a1, ":%s", c->authzid);
	md5_hex(str_data(a1), str_len(a1), a1_hex);
	str_free(&a1);
	s = x_printf("%s%s", a2_prefix, c->uri);
	md5_hex(s, strlen(s), a2_hex);
	free(s);
	s = x_printf("%s:%s:%s:%s:%s:%s", a1_hex, c->nonce, c->nc, c->cnonce,
		     c->qop, a2_hex);
	md5_hex(s, strlen(s), hex_r);
	free(s);
}

static char *client_response(const struct client *c)
{
	char resp[33];
	client_compute(c, "AUTHENTICATE:", resp);
	string_t *str = str_create(256);
	str_printfa(str, "username=\"%s\",", c->user);
	if (c->realm[0] != '\0')
		str_printfa(str, "realm=\"%s\",", c->realm);
	str_printfa(str, "nonce=\"%s\",cnonce=\"%s\",nc=%s,qop=%s,"
		    "digest-uri=\"%s\",response=%s,charset=utf-8",
		    c->nonce, c->cnonce, c->nc, c->qop, c->uri, resp);
	if (c->authzid != NULL)
		str_printfa(str, ",authzid=\"%s\"", c->authzid);
	return str_free_without_data(&str);
}

static void start(struct harness *h, const char *realms)
{
	char *conf = users_config();
	char *extra = x_printf("%sauth_mechanisms = cram-md5 digest-md5 plain\n%s",
			       conf, realms);
	harness_init(h, extra);
	free(extra);
	free(conf);
	harness_connect(h, false, false);
	harness_send(h, "VERSION\t1\t2\nCPID\t42\n", false);
	free(harness_take(h));
}

/* AUTH id DIGEST-MD5; returns the decoded challenge (malloc()ed) and
   its nonce in nonce_r. */
static char *auth_challenge(struct harness *h, unsigned int id, const char *params,
			    char nonce_r[64])
{
	char *line = x_printf("AUTH\t%u\tDIGEST-MD5\tservice=imap%s\n", id, params);
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
	const char *n = strstr(str_c(dec), "nonce=\"");
	assert_non_null(n);
	n += 7;
	size_t nlen = strcspn(n, "\"");
	assert_true(nlen < 64);
	memcpy(nonce_r, n, nlen);
	nonce_r[nlen] = '\0';
	return str_free_without_data(&dec);
}

/* The whole exchange for c (nonce filled in); expects success for user. */
static void exchange_ok(struct harness *h, unsigned int id, struct client *c,
			const char *user)
{
	char nonce[64], rspauth[33];
	char *challenge = auth_challenge(h, id, "", nonce);
	c->nonce = nonce;
	char *resp = client_response(c);
	char *out = harness_cont(h, id, resp, strlen(resp));
	client_compute(c, ":", rspauth);
	char *expect_rsp = x_printf("rspauth=%s", rspauth);
	char *enc = test_b64(expect_rsp, strlen(expect_rsp));
	char *expect = x_printf("CONT\t%u\t%s\n", id, enc);
	assert_string_equal(out, expect);
	free(out);
	out = harness_cont(h, id, "", 0);
	free(expect);
	expect = x_printf("OK\t%u\tuser=%s\n", id, user);
	assert_string_equal(out, expect);
	free(expect);
	free(out);
	free(enc);
	free(expect_rsp);
	free(resp);
	free(challenge);
	c->nonce = NULL;
}

static void test_rfc2831_vector(void **state ATTR_UNUSED)
{
	/* the client implementation against RFC 2831 4's IMAP and ACAP examples */
	struct client c = {
		.user = RFC_USER, .realm = RFC_REALM, .pass = RFC_PASS,
		.nonce = "OA6MG9tEQGm2hh", .cnonce = "OA6MHXh6VqTrRk", .nc = "00000001",
		.qop = "auth", .uri = "imap/elwood.innosoft.com",
	};
	char hex[33];
	client_compute(&c, "AUTHENTICATE:", hex);
	assert_string_equal(hex, "d388dad90d4bbd760a152321f2143af7");
	client_compute(&c, ":", hex);
	assert_string_equal(hex, "ea40f60335c427b5527b84dbabcdfffd");
	c.nonce = "OA9BSXrbuRhWay";
	c.cnonce = "OA9BSuZWMSpW8m";
	c.uri = "acap/elwood.innosoft.com";
	client_compute(&c, "AUTHENTICATE:", hex);
	assert_string_equal(hex, "6084c6db3fede7352c551284490fd0fc");
	client_compute(&c, ":", hex);
	assert_string_equal(hex, "2f0b3d7c3c2e486600ef710726aa2eae");

	/* chris@elwood.innosoft.com has the RFC's {DIGEST-MD5} hash stored */
	struct harness h;
	start(&h, "auth_realms = example.com elwood.innosoft.com\n");
	c.cnonce = "OA6MHXh6VqTrRk";
	c.uri = "imap/elwood.innosoft.com";
	exchange_ok(&h, 1, &c, "chris@elwood.innosoft.com");
	harness_deinit(&h);
}

static void test_challenge(void **state ATTR_UNUSED)
{
	struct harness h;
	char nonce[64], nonce2[64];
	unsigned char raw[32];
	size_t raw_size;

	start(&h, "auth_realms = example.com elwood.innosoft.com\n");
	char *challenge = auth_challenge(&h, 1, "", nonce);
	char *expect = x_printf("realm=\"example.com\",realm=\"elwood.innosoft.com\","
				"nonce=\"%s\",qop=\"auth\",charset=\"utf-8\","
				"algorithm=\"md5-sess\"", nonce);
	assert_string_equal(challenge, expect);
	/* 16 random bytes, base64 */
	assert_int_equal(strlen(nonce), 24);
	assert_int_equal(base64_decode_buf(nonce, 24, raw, sizeof(raw), &raw_size), 0);
	assert_int_equal(raw_size, 16);
	free(challenge);
	free(expect);
	challenge = auth_challenge(&h, 2, "", nonce2);
	assert_string_not_equal(nonce, nonce2);
	free(challenge);
	harness_deinit(&h);

	/* no realms configured: an empty one, as Dovecot */
	start(&h, "");
	challenge = auth_challenge(&h, 1, "", nonce);
	expect = x_printf("realm=\"\",nonce=\"%s\",qop=\"auth\",charset=\"utf-8\","
			  "algorithm=\"md5-sess\"", nonce);
	assert_string_equal(challenge, expect);
	free(challenge);
	free(expect);
	harness_deinit(&h);
}

static void test_success(void **state ATTR_UNUSED)
{
	struct harness h;
	struct client c = {
		.user = "alice", .realm = "example.com", .pass = "alicepw",
		.cnonce = "OA6MHXh6VqTrRk", .nc = "00000001", .qop = "auth",
		.uri = "imap/elwood",
	};
	start(&h, "auth_realms = example.com\n");
	/* plaintext stored: the hash is derived for alice@example.com */
	exchange_ok(&h, 1, &c, "alice@example.com");
	/* a user name that has a realm is taken as is, and the derived
	   {DIGEST-MD5} hash of "alice@example.com" splits at the last @:
	   the client computed HA1 over "alice:example.com:alicepw" */
	struct client c2 = c;
	char nonce[64], resp_hex[33];
	char *challenge = auth_challenge(&h, 2, "", nonce);
	c2.nonce = nonce;
	client_compute(&c2, "AUTHENTICATE:", resp_hex);
	char *resp = x_printf("username=\"alice@example.com\",nonce=\"%s\","
			      "cnonce=\"%s\",nc=00000001,qop=auth,digest-uri=\"imap/elwood\","
			      "response=%s", nonce, c2.cnonce, resp_hex);
	char *out = harness_cont(&h, 2, resp, strlen(resp));
	assert_true(strncmp(out, "CONT\t2\t", 7) == 0);
	free(out);
	out = harness_cont(&h, 2, "", 0);
	assert_string_equal(out, "OK\t2\tuser=alice@example.com\n");
	free(out);
	free(resp);
	free(challenge);
	/* no realm at all: HA1 over "bob::bobpw" */
	struct client c3 = {
		.user = "bob", .realm = "", .pass = "bobpw",
		.cnonce = "abc", .nc = "00000001", .qop = "auth",
		.uri = "smtp/mx.example.com/example.com",
	};
	exchange_ok(&h, 3, &c3, "bob");
	/* authzid equal to the user is fine (and part of A1) */
	c3.authzid = "bob";
	exchange_ok(&h, 4, &c3, "bob");

	/* final-resp-ok: rspauth comes in OK's resp= */
	challenge = auth_challenge(&h, 5, "\tfinal-resp-ok", nonce);
	c3.nonce = nonce;
	c3.authzid = NULL;
	resp = client_response(&c3);
	out = harness_cont(&h, 5, resp, strlen(resp));
	char rsp[33];
	client_compute(&c3, ":", rsp);
	char *rspline = x_printf("rspauth=%s", rsp);
	char *enc = test_b64(rspline, strlen(rspline));
	char *expect = x_printf("OK\t5\tuser=bob\tresp=%s\n", enc);
	assert_string_equal(out, expect);
	free(expect);
	free(enc);
	free(rspline);
	free(out);
	free(resp);
	free(challenge);
	harness_deinit(&h);
}

static void test_failures(void **state ATTR_UNUSED)
{
	struct harness h;
	const char *error;
	char nonce[64];

	assert_int_equal(log_set_target(logpath, NULL, &error), 0);
	start(&h, "auth_realms = example.com\n");
	struct client c = {
		.user = "alice", .realm = "example.com", .pass = "wrong",
		.cnonce = "xyz", .nc = "00000001", .qop = "auth", .uri = "imap/host",
	};
	/* wrong password */
	char *challenge = auth_challenge(&h, 1, "", nonce);
	c.nonce = nonce;
	char *resp = client_response(&c);
	assert_int_equal(truncate(logpath, 0), 0);
	char *out = harness_cont(&h, 1, resp, strlen(resp));
	assert_string_equal(out, "FAIL\t1\tuser=alice@example.com\n");
	char *log = test_read_file(logpath);
	assert_contains(log, "DIGEST-MD5: password mismatch");
	free(log);
	free(out);
	free(resp);
	free(challenge);
	/* unknown user */
	c.user = "nosuch";
	challenge = auth_challenge(&h, 2, "", nonce);
	c.nonce = nonce;
	resp = client_response(&c);
	out = harness_cont(&h, 2, resp, strlen(resp));
	assert_string_equal(out, "FAIL\t2\tuser=nosuch@example.com\n");
	free(out);
	free(resp);
	free(challenge);
	/* authzid of another user: needs a master passdb */
	c.user = "alice";
	c.pass = "alicepw";
	c.authzid = "bob";
	challenge = auth_challenge(&h, 3, "", nonce);
	c.nonce = nonce;
	resp = client_response(&c);
	out = harness_cont(&h, 3, resp, strlen(resp));
	assert_string_equal(out, "FAIL\t3\tuser=alice@example.com\tcode=authz_fail\n");
	free(out);
	free(resp);
	free(challenge);

	/* replay: a successful response, sent again in a new request (its
	   nonce differs) */
	c.authzid = NULL;
	challenge = auth_challenge(&h, 4, "", nonce);
	c.nonce = nonce;
	resp = client_response(&c);
	out = harness_cont(&h, 4, resp, strlen(resp));
	assert_true(strncmp(out, "CONT\t4\t", 7) == 0);
	free(out);
	out = harness_cont(&h, 4, "", 0);
	assert_string_equal(out, "OK\t4\tuser=alice@example.com\n");
	free(out);
	free(challenge);
	challenge = auth_challenge(&h, 5, "", nonce);
	assert_int_equal(truncate(logpath, 0), 0);
	out = harness_cont(&h, 5, resp, strlen(resp));
	assert_string_equal(out, "FAIL\t5\n");
	log = test_read_file(logpath);
	assert_contains(log, "DIGEST-MD5(?): DIGEST-MD5: nonce is not the one we sent");
	free(log);
	free(out);
	free(resp);
	free(challenge);
	harness_deinit(&h);
	log_set_fd(2);
}

/* Malformed digest-responses: "%N" is replaced by our nonce, "%R" by a
   valid response value (for a wrong password: only parsing matters). */
static const struct {
	const char *response;
	const char *log;
} malformed[] = {
	{ "", "client sent no input" },
	{ ",,, ", "missing username" },
	{ "realm=\"example.com\",nonce=\"%N\",cnonce=\"x\",nc=00000001,qop=auth,"
	  "digest-uri=\"imap/h\",response=%R", "missing username" },
	{ "username=\"alice\",cnonce=\"x\",nc=00000001,qop=auth,"
	  "digest-uri=\"imap/h\",response=%R", "missing nonce" },
	{ "username=\"alice\",nonce=\"%N\",nc=00000001,qop=auth,"
	  "digest-uri=\"imap/h\",response=%R", "missing cnonce" },
	{ "username=\"alice\",nonce=\"%N\",cnonce=\"x\",qop=auth,"
	  "digest-uri=\"imap/h\",response=%R", "missing nc" },
	{ "username=\"alice\",nonce=\"%N\",cnonce=\"x\",nc=00000001,qop=auth,"
	  "response=%R", "missing digest-uri" },
	{ "username=\"alice\",nonce=\"%N\",cnonce=\"x\",nc=00000001,qop=auth,"
	  "digest-uri=\"imap/h\"", "missing response" },
	{ "username=\"alice\",username=\"bob\",nonce=\"%N\"", "username must not appear more than once" },
	{ "realm=\"a\",username=\"alice\",realm=\"b\"", "realm must not appear more than once" },
	{ "nc=00000001,NC=00000001", "nc must not appear more than once" },
	{ "username=\"alice\",nonce=\"%N\",cnonce=\"x\",nc=00000001,qop=auth-int,"
	  "digest-uri=\"imap/h\",response=%R", "qop=auth-int not offered" },
	{ "qop=auth-conf", "qop=auth-conf not offered" },
	{ "qop=\"auth,auth-int\"", "unknown qop value" },
	{ "username=\"alice\",nonce=\"%N\",cnonce=\"x\",nc=00000002,qop=auth,"
	  "digest-uri=\"imap/h\",response=%R", "nc=00000002: subsequent authentication" },
	{ "nc=1", "invalid nc" },
	{ "nc=0000000g", "invalid nc" },
	{ "username=\"alice\",nonce=\"OA6MG9tEQGm2hh\"", "nonce is not the one we sent" },
	{ "nonce=\"\"", "nonce is not the one we sent" },
	{ "username=\"alice", "username: unterminated quoted string" },
	{ "username=\"alice\" x", "username: garbage after value" },
	{ "username=al\"ice", "username: quote inside a token value" },
	{ "=alice", "malformed directive" },
	{ "username", "malformed directive" },
	{ "user name=x", "malformed directive" },
	{ "username=\"\"", "empty username" },
	{ "cnonce=\"\"", "empty cnonce" },
	{ "authzid=\"\"", "empty authzid" },
	{ "charset=iso-8859-1", "only charset=utf-8 is allowed" },
	{ "response=d388dad90d4bbd760a152321f2143af", "invalid response" },
	{ "response=d388dad90d4bbd760a152321f2143afz", "invalid response" },
	{ "response=D388DAD90D4BBD760A152321F2143AF7", "invalid response" },
	{ "digest-uri=\"imap\"", "invalid digest-uri" },
	{ "digest-uri=\"/host\"", "invalid digest-uri" },
	{ "digest-uri=\"imap/\"", "invalid digest-uri" },
	{ "digest-uri=\"imap/h/s/x\"", "invalid digest-uri" },
	{ "maxbuf=0", "invalid maxbuf" },
	{ "maxbuf=-1", "invalid maxbuf" },
	/* truncated in the middle of a valid response */
	{ "username=\"alice\",realm=\"example.com\",nonce=\"%N\",cnonce=\"x\",nc=000", "invalid nc" },
	{ "username=\"alice\",realm=\"example.com\",nonce=\"%N\",cnonce=\"x\",nc=00000001,"
	  "qop=auth,digest-uri=\"imap/h\",resp", "malformed directive" },
	/* oversized */
	{ "#value", "username: value too long" },
	{ "#total", "response too long (4097 > 4096 bytes)" },
};

static char *expand(const char *tmpl, const char *nonce)
{
	string_t *str = str_create(256);
	if (strcmp(tmpl, "#value") == 0) {
		str_append(str, "username=\"");
		for (int i = 0; i < 1025; i++)
			str_append_c(str, 'a');
		str_append_c(str, '"');
		return str_free_without_data(&str);
	}
	if (strcmp(tmpl, "#total") == 0) {
		str_append(str, "username=\"alice\"");
		while (str_len(str) < 4097)
			str_append_c(str, ',');
		return str_free_without_data(&str);
	}
	for (const char *p = tmpl; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 'N') {
			str_append(str, nonce);
			p++;
		} else if (p[0] == '%' && p[1] == 'R') {
			str_append(str, "d388dad90d4bbd760a152321f2143af7");
			p++;
		} else {
			str_append_c(str, *p);
		}
	}
	return str_free_without_data(&str);
}

static void test_malformed(void **state ATTR_UNUSED)
{
	struct harness h;
	const char *error;
	char nonce[64];

	assert_int_equal(log_set_target(logpath, NULL, &error), 0);
	start(&h, "auth_realms = example.com\n");
	for (unsigned int i = 0; i < N_ELEMENTS(malformed); i++) {
		unsigned int id = 100 + i;
		char *challenge = auth_challenge(&h, id, "", nonce);
		char *resp = expand(malformed[i].response, nonce);
		assert_int_equal(truncate(logpath, 0), 0);
		char *out = harness_cont(&h, id, resp, strlen(resp));
		/* parse errors fail before the user name is taken */
		char *expect = x_printf("FAIL\t%u\n", id);
		if (strcmp(out, expect) != 0)
			fail_msg("%s: expected %s got %s", malformed[i].response, expect, out);
		char *log = test_read_file(logpath);
		char *reason = x_printf("DIGEST-MD5: %s", malformed[i].log);
		if (strstr(log, reason) == NULL)
			fail_msg("%s: expected '%s' in log: %s", malformed[i].response,
				 reason, log);
		free(reason);
		free(log);
		free(expect);
		free(out);
		free(resp);
		free(challenge);
	}
	/* NUL bytes: refused by the protocol layer (spec §5) */
	char *challenge = auth_challenge(&h, 300, "", nonce);
	char *out = harness_cont(&h, 300, "username=\"a\0b\"", 14);
	assert_string_equal(out, "FAIL\t300\n");
	free(out);
	free(challenge);
	harness_deinit(&h);
	log_set_fd(2);
}

static void test_step_order(void **state ATTR_UNUSED)
{
	struct harness h;
	char nonce[64];
	struct client c = {
		.user = "alice", .realm = "example.com", .pass = "alicepw",
		.cnonce = "xyz", .nc = "00000001", .qop = "auth", .uri = "imap/host",
	};

	start(&h, "auth_realms = example.com\n");
	/* CONT before AUTH */
	char *out = harness_cont(&h, 1, "username=\"alice\"", 16);
	assert_string_equal(out, "FAIL\t1\treason=Authentication request timed out\n");
	free(out);
	/* a client-first response (RFC 2831 2.2) is ignored: a challenge
	   comes back, as in Dovecot */
	char *challenge = auth_challenge(&h, 2, "\tresp=dXNlcm5hbWU9ImFsaWNlIg==", nonce);
	assert_true(strncmp(challenge, "realm=\"example.com\",nonce=\"", 27) == 0);
	c.nonce = nonce;
	char *resp = client_response(&c);
	out = harness_cont(&h, 2, resp, strlen(resp));
	assert_true(strncmp(out, "CONT\t2\t", 7) == 0);
	free(out);
	out = harness_cont(&h, 2, "", 0);
	assert_string_equal(out, "OK\t2\tuser=alice@example.com\n");
	free(out);
	/* after OK the request is gone: the response once more */
	out = harness_cont(&h, 2, resp, strlen(resp));
	assert_string_equal(out, "FAIL\t2\treason=Authentication request timed out\n");
	free(out);
	free(resp);
	free(challenge);
	harness_deinit(&h);
}

static void test_scheme_not_available(void **state ATTR_UNUSED)
{
	struct harness h;
	const char *error;
	char nonce[64];
	struct client c = {
		.user = "sha", .realm = "example.com", .pass = "password",
		.cnonce = "xyz", .nc = "00000001", .qop = "auth", .uri = "imap/host",
	};

	assert_int_equal(log_set_target(logpath, NULL, &error), 0);
	assert_int_equal(truncate(logpath, 0), 0);
	start(&h, "auth_realms = example.com\n");
	char *challenge = auth_challenge(&h, 1, "", nonce);
	c.nonce = nonce;
	char *resp = client_response(&c);
	char *out = harness_cont(&h, 1, resp, strlen(resp));
	assert_string_equal(out, "FAIL\t1\tuser=sha@example.com\n");
	free(out);
	free(resp);
	free(challenge);
	harness_deinit(&h);
	log_set_fd(2);
	char *log = test_read_file(logpath);
	assert_contains(log, "DIGEST-MD5(sha@example.com): Requested DIGEST-MD5 scheme, "
			"but we have only SHA512-CRYPT (user sha@example.com, "
			"mechanism DIGEST-MD5)");
	free(log);
}

static int setup(void **state ATTR_UNUSED)
{
	if (test_harness_setup_dir() < 0)
		return -1;
	snprintf(logpath, sizeof(logpath), "%s/log", tmpdir);
	write_file("users",
		   RFC_USER "@" RFC_REALM ":" RFC_STORED "\n"
		   "alice@example.com:{PLAIN}alicepw\n"
		   "bob:{PLAIN}bobpw\n"
		   "sha@example.com:" SHA512_CRYPT_STORED "\n");
	return 0;
}

static int teardown(void **state ATTR_UNUSED)
{
	return test_harness_remove_dir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc2831_vector),
		cmocka_unit_test(test_challenge),
		cmocka_unit_test(test_success),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_step_order),
		cmocka_unit_test(test_scheme_not_available),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
