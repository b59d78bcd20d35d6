/* SCRAM-SHA-1 / SCRAM-SHA-256 against roost-auth in this process: the RFC
   5802 and RFC 7677 example exchanges (client side computed here with
   OpenSSL, the server nonce being random), stored SCRAM and PLAIN
   passwords, and malformed client messages, each of which must FAIL with
   its reason in the log. */
#include "lib.h"
#include "str.h"
#include "base64.h"
#include "log.h"
#include "test-harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <setjmp.h>
#include <cmocka.h>

#define SHA1_STORED "{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92," \
	"6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE="
#define SHA256_STORED "{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==," \
	"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=," \
	"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
#define SHA1_NONCE "fyko+d2lbbFgONRv9qkxdawL"
#define SHA256_NONCE "rOprNGfwEbeRWgbNEkqO"

static int log_fd = -1;

/* ---- the client side ---------------------------------------------------- */

static const EVP_MD *md_for(const char *mech)
{
	return strcmp(mech, "SCRAM-SHA-1") == 0 ? EVP_sha1() : EVP_sha256();
}

static char *b64s(const char *text)
{
	return test_b64(text, strlen(text));
}

/* The proof for client-final-without-proof, and the "v=..." the server
   must answer. All malloc()ed. */
static void scram_client_compute(const char *mech, const char *password,
				 const char *bare, const char *server_first,
				 const char *final_noproof,
				 char **proof_b64_r, char **verifier_r)
{
	const EVP_MD *md = md_for(mech);
	int key_size = EVP_MD_size(md);
	unsigned char salt[256], salted[32], client_key[32], stored_key[32];
	unsigned char server_key[32], client_sig[32], server_sig[32], proof[32];
	unsigned int len;
	size_t salt_size;

	const char *s = strstr(server_first, ",s=");
	const char *i = strstr(server_first, ",i=");
	assert_non_null(s);
	assert_non_null(i);
	assert_int_equal(base64_decode_buf(s + 3, (size_t)(i - s - 3), salt,
					   sizeof(salt), &salt_size), 0);
	int iter = atoi(i + 3);
	assert_true(iter >= 4096);
	assert_int_equal(PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt,
					   (int)salt_size, iter, md, key_size, salted), 1);
	HMAC(md, salted, key_size, (const unsigned char *)"Client Key", 10, client_key, &len);
	EVP_Digest(client_key, (size_t)key_size, stored_key, &len, md, NULL);
	HMAC(md, salted, key_size, (const unsigned char *)"Server Key", 10, server_key, &len);
	char *auth_message = x_printf("%s,%s,%s", bare, server_first, final_noproof);
	HMAC(md, stored_key, key_size, (const unsigned char *)auth_message,
	     strlen(auth_message), client_sig, &len);
	HMAC(md, server_key, key_size, (const unsigned char *)auth_message,
	     strlen(auth_message), server_sig, &len);
	for (int k = 0; k < key_size; k++)
		proof[k] = client_key[k] ^ client_sig[k];
	*proof_b64_r = test_b64(proof, (size_t)key_size);
	char *v = test_b64(server_sig, (size_t)key_size);
	*verifier_r = x_printf("v=%s", v);
	free(v);
	free(auth_message);
}

/* The client itself must reproduce the RFC example proofs. */
static void test_client_vectors(void **state ATTR_UNUSED)
{
	char *proof, *v;

	scram_client_compute("SCRAM-SHA-1", "pencil", "n=user,r=" SHA1_NONCE,
		"r=" SHA1_NONCE "3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
		"c=biws,r=" SHA1_NONCE "3rfcNHYJY1ZVvWVs7j", &proof, &v);
	assert_string_equal(proof, "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
	assert_string_equal(v, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
	free(proof);
	free(v);
	scram_client_compute("SCRAM-SHA-256", "pencil", "n=user,r=" SHA256_NONCE,
		"r=" SHA256_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		"c=biws,r=" SHA256_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", &proof, &v);
	assert_string_equal(proof, "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
	assert_string_equal(v, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
	free(proof);
	free(v);
}

/* ---- harness helpers ---------------------------------------------------- */

static void scram_harness_init(struct harness *h, const char *extra)
{
	char *conf = x_printf(
		"auth_mechanisms = scram-sha-1 scram-sha-256\n%s"
		"passdb {\n driver = passwd-file\n args = scheme=PLAIN %s/scram-users\n}\n"
		"userdb {\n driver = static\n args = uid=500 gid=500 home=/home/%%u\n}\n",
		extra, tmpdir);
	harness_init(h, conf);
	free(conf);
	harness_connect(h, false, false);
	harness_send(h, "VERSION\t1\t2\nCPID\t42\n", false);
	free(harness_take(h));

	char path[128];
	snprintf(path, sizeof(path), "%s/log", tmpdir);
	log_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600);
	assert_true(log_fd >= 0);
	log_set_fd(log_fd);
}

static void scram_harness_deinit(struct harness *h)
{
	harness_deinit(h);
	log_set_fd(2);
	close(log_fd);
	log_fd = -1;
}

/* The log written since the last call (malloc()ed), and reset. */
static char *log_take(void)
{
	off_t size = lseek(log_fd, 0, SEEK_END);
	char *buf = x_malloc((size_t)size + 1);
	assert_int_equal(pread(log_fd, buf, (size_t)size, 0), size);
	buf[size] = '\0';
	assert_int_equal(ftruncate(log_fd, 0), 0);
	return buf;
}

static void write_users(const char *users)
{
	write_file("scram-users", users);
}

/* Expect "CONT\t<id>\t<base64>\n"; returns the decoded text (malloc()ed). */
static char *expect_cont(const char *out, unsigned int id)
{
	char prefix[32];
	snprintf(prefix, sizeof(prefix), "CONT\t%u\t", id);
	if (strncmp(out, prefix, strlen(prefix)) != 0)
		fail_msg("expected %s..., got: %s", prefix, out);
	const char *data = out + strlen(prefix);
	const char *nl = strchr(data, '\n');
	assert_non_null(nl);
	assert_string_equal(nl, "\n");
	string_t *s = str_create(64);
	assert_int_equal(base64_decode(s, data, (size_t)(nl - data)), 0);
	return str_free_without_data(&s);
}

static void send_auth(struct harness *h, unsigned int id, const char *mech,
		      const char *params, const char *client_first)
{
	char *resp = b64s(client_first);
	char *line = x_printf("AUTH\t%u\t%s\tservice=imap%s\tresp=%s\n",
			      id, mech, params, resp);
	harness_send(h, line, false);
	free(line);
	free(resp);
}

static void send_cont(struct harness *h, unsigned int id, const char *text)
{
	char *data = b64s(text);
	char *line = x_printf("CONT\t%u\t%s\n", id, data);
	harness_send(h, line, false);
	free(line);
	free(data);
}

/* Send client-first, check server-first; returns it (malloc()ed). */
static char *do_first(struct harness *h, unsigned int id, const char *mech,
		      const char *params, const char *client_first,
		      const char *nonce)
{
	send_auth(h, id, mech, params, client_first);
	char *out = harness_take(h);
	char *server_first = expect_cont(out, id);
	free(out);
	/* r=<client nonce><64 printable non-comma chars>,s=...,i=... */
	assert_true(strncmp(server_first, "r=", 2) == 0);
	assert_true(strncmp(server_first + 2, nonce, strlen(nonce)) == 0);
	const char *snonce = server_first + 2 + strlen(nonce);
	const char *end = strchr(snonce, ',');
	assert_non_null(end);
	assert_int_equal(end - snonce, 64);
	for (const char *p = snonce; p < end; p++)
		assert_true(*p >= 0x21 && *p <= 0x7e);
	assert_true(strncmp(end, ",s=", 3) == 0);
	return server_first;
}

/* The final message for gs2 header and server-first; *verifier_r gets
   the expected "v=". */
static char *make_final(const char *mech, const char *password,
			const char *gs2, const char *bare,
			const char *server_first, char **verifier_r)
{
	char *cbind = b64s(gs2);
	const char *comma = strchr(server_first, ',');
	char *noproof = x_printf("c=%s,%.*s", cbind, (int)(comma - server_first),
				 server_first);
	char *proof;
	scram_client_compute(mech, password, bare, server_first, noproof,
			     &proof, verifier_r);
	char *final = x_printf("%s,p=%s", noproof, proof);
	free(proof);
	free(noproof);
	free(cbind);
	return final;
}

/* A complete successful exchange; checks the final data in both modes. */
static void run_success(struct harness *h, unsigned int id, const char *mech,
			bool final_resp_ok, const char *gs2, const char *bare,
			const char *nonce, const char *password,
			const char *expect_user)
{
	char *client_first = x_printf("%s%s", gs2, bare);
	char *server_first = do_first(h, id, mech,
				      final_resp_ok ? "\tfinal-resp-ok" : "",
				      client_first, nonce);
	if (strcmp(mech, "SCRAM-SHA-1") == 0 && strcmp(password, "pencil") == 0 &&
	    strcmp(expect_user, "user") == 0)
		assert_non_null(strstr(server_first, ",s=QSXCR+Q6sek8bf92,i=4096"));
	char *verifier;
	char *final = make_final(mech, password, gs2, bare, server_first, &verifier);
	send_cont(h, id, final);
	char *out = harness_take(h);
	char *expect;
	if (final_resp_ok) {
		char *v64 = b64s(verifier);
		expect = x_printf("OK\t%u\tuser=%s\tresp=%s\n", id, expect_user, v64);
		free(v64);
		assert_string_equal(out, expect);
	} else {
		/* spec §4.1: v= in a CONT, an empty CONT from the client, OK */
		char *got = expect_cont(out, id);
		assert_string_equal(got, verifier);
		free(got);
		free(out);
		char *line = x_printf("CONT\t%u\t\n", id);
		harness_send(h, line, false);
		free(line);
		out = harness_take(h);
		expect = x_printf("OK\t%u\tuser=%s\n", id, expect_user);
		assert_string_equal(out, expect);
	}
	free(expect);
	free(out);
	free(final);
	free(verifier);
	free(server_first);
	free(client_first);
}

static void expect_fail(struct harness *h, unsigned int id, const char *user,
			const char *reason)
{
	char *out = harness_take(h);
	char *expect = user == NULL ? x_printf("FAIL\t%u\n", id) :
		x_printf("FAIL\t%u\tuser=%s\n", id, user);
	if (strcmp(out, expect) != 0)
		fail_msg("expected %s got %s (reason %s)", expect, out, reason);
	free(expect);
	free(out);
	char *log = log_take();
	if (strstr(log, reason) == NULL)
		fail_msg("expected log reason '%s' in: %s", reason, log);
	free(log);
}

/* ---- tests -------------------------------------------------------------- */

static void test_handshake(void **state ATTR_UNUSED)
{
	struct harness h;
	write_users("user:" SHA1_STORED "\n");
	char *conf = x_printf(
		"auth_mechanisms = plain scram-sha-1 scram-sha-256\n"
		"passdb {\n driver = passwd-file\n args = %s/scram-users\n}\n", tmpdir);
	harness_init(&h, conf);
	free(conf);
	harness_connect(&h, false, false);
	harness_run(&h);
	char *out = harness_take(&h);
	assert_contains(out, "MECH\tPLAIN\tplaintext\nMECH\tSCRAM-SHA-1\tmutual-auth\n"
			"MECH\tSCRAM-SHA-256\tmutual-auth\n");
	free(out);
	harness_deinit(&h);
}

static void test_rfc_examples(void **state ATTR_UNUSED)
{
	static const bool modes[] = { false, true };
	for (size_t m = 0; m < N_ELEMENTS(modes); m++) {
		struct harness h;
		write_users("user:" SHA1_STORED "\n");
		scram_harness_init(&h, "");
		run_success(&h, 1, "SCRAM-SHA-1", modes[m], "n,,",
			    "n=user,r=" SHA1_NONCE, SHA1_NONCE, "pencil", "user");
		scram_harness_deinit(&h);

		write_users("user:" SHA256_STORED "\n");
		scram_harness_init(&h, "");
		run_success(&h, 1, "SCRAM-SHA-256", modes[m], "n,,",
			    "n=user,r=" SHA256_NONCE, SHA256_NONCE, "pencil", "user");
		/* stored SCRAM-SHA-256 cannot serve SCRAM-SHA-1 */
		send_auth(&h, 2, "SCRAM-SHA-1", "", "n,,n=user,r=abc");
		expect_fail(&h, 2, "user", "Requested SCRAM-SHA-1 scheme");
		scram_harness_deinit(&h);
	}
}

static void test_plain_stored(void **state ATTR_UNUSED)
{
	struct harness h;
	write_users("alice:{PLAIN}alicepw\nbob:bobpw\nus=er,x:pw3\n");
	scram_harness_init(&h, "auth_username_chars =\n");
	run_success(&h, 1, "SCRAM-SHA-1", false, "n,,", "n=alice,r=abcdef", "abcdef",
		    "alicepw", "alice");
	run_success(&h, 2, "SCRAM-SHA-256", true, "n,,", "n=bob,r=x!~y", "x!~y",
		    "bobpw", "bob");
	/* y: client supports channel binding, thinks we don't */
	run_success(&h, 3, "SCRAM-SHA-256", false, "y,,", "n=bob,r=nonce3", "nonce3",
		    "bobpw", "bob");
	/* authzid equal to the user is no master login */
	run_success(&h, 4, "SCRAM-SHA-1", true, "n,a=alice,", "n=alice,r=n4", "n4",
		    "alicepw", "alice");
	/* saslname escapes */
	run_success(&h, 5, "SCRAM-SHA-256", true, "n,,", "n=us=3Der=2Cx,r=n5", "n5",
		    "pw3", "us=er,x");
	/* unknown extensions are ignored */
	run_success(&h, 6, "SCRAM-SHA-256", true, "n,,", "n=bob,r=n6,x=ext", "n6",
		    "bobpw", "bob");
	/* no initial response: empty challenge first */
	harness_send(&h, "AUTH\t7\tSCRAM-SHA-1\tservice=imap\n", false);
	char *out = harness_take(&h);
	assert_string_equal(out, "CONT\t7\t\n");
	free(out);
	send_cont(&h, 7, "n,,n=alice,r=n7");
	out = harness_take(&h);
	free(expect_cont(out, 7));
	free(out);
	scram_harness_deinit(&h);
}

static void test_wrong_password_unknown_user(void **state ATTR_UNUSED)
{
	struct harness h;
	write_users("alice:{PLAIN}alicepw\nuser:" SHA256_STORED "\n");
	scram_harness_init(&h, "");
	static const char *const mechs[] = { "SCRAM-SHA-1", "SCRAM-SHA-256" };
	for (unsigned int i = 0; i < 2; i++) {
		char *server_first = do_first(&h, 1 + i, mechs[i], "", "n,,n=alice,r=abc", "abc");
		char *verifier;
		char *final = make_final(mechs[i], "wrong", "n,,", "n=alice,r=abc",
					 server_first, &verifier);
		send_cont(&h, 1 + i, final);
		expect_fail(&h, 1 + i, "alice", "Password mismatch");
		free(final);
		free(verifier);
		free(server_first);
	}
	/* stored SCRAM credentials, wrong password */
	char *server_first = do_first(&h, 3, "SCRAM-SHA-256", "", "n,,n=user,r=abc", "abc");
	char *verifier;
	char *final = make_final("SCRAM-SHA-256", "pencil2", "n,,", "n=user,r=abc",
				 server_first, &verifier);
	send_cont(&h, 3, final);
	expect_fail(&h, 3, "user", "Password mismatch");
	free(final);
	free(verifier);
	free(server_first);

	send_auth(&h, 4, "SCRAM-SHA-256", "", "n,,n=nosuch,r=abc");
	/* the passdb layer logs unknown users only with auth_verbose */
	expect_fail(&h, 4, "nosuch", "");
	scram_harness_deinit(&h);
}

static const struct {
	const char *client_first;
	const char *reason;
	bool has_user;
} bad_first[] = {
	{ "p=tls-unique,,n=alice,r=abc", "Channel binding requested", false },
	{ "x,,n=alice,r=abc", "Invalid GS2 header", false },
	{ "n,n=alice,r=abc", "Invalid GS2 header", false },
	{ "nn,,n=alice,r=abc", "Invalid GS2 header", false },
	{ "", "Invalid GS2 header", false },
	{ "n", "Invalid GS2 header", false },
	{ "n,,", "Invalid client-first-message (missing attributes)", false },
	{ "n,a=alice", "Invalid GS2 header (no end after authzid)", false },
	{ "n,a=,n=alice,r=abc", "Invalid authzid", false },
	{ "n,a=bo=2b,n=alice,r=abc", "Invalid authzid", false },
	{ "n,b=alice,n=alice,r=abc", "Invalid GS2 header (authzid field)", false },
	{ "n,,m=ext,n=alice,r=abc", "Mandatory extension (m=) not supported", false },
	{ "n,,n=alice", "missing attributes", false },
	{ "n,,r=abc,n=alice", "username expected", false },
	{ "n,,n=,r=abc", "Invalid username", false },
	{ "n,,n=ali=ce,r=abc", "Invalid username", false },
	{ "n,,n=alice=2,r=abc", "Invalid username", false },
	{ "n,,n=alice=3d,r=abc", "Invalid username", false },
	{ "n,,n=alice,x=abc", "nonce expected", false },
	{ "n,,n=alice,r=", "Invalid client nonce", false },
	{ "n,,n=alice,r=a b", "Invalid client nonce", false },
	{ "n,,n=alice,r=abc,r=def", "Invalid or duplicated attribute", false },
	{ "n,,n=alice,r=abc,n=bob", "Invalid or duplicated attribute", false },
	{ "n,,n=alice,r=abc,", "Invalid or duplicated attribute", false },
	{ "n,,n=alice,r=abc,1=x", "Invalid or duplicated attribute", false },
	{ "n,,n=alice,r=abc,xyz", "Invalid or duplicated attribute", false },
	/* a client-final message as the first step */
	{ "c=biws,r=abc,p=AAAA", "Invalid GS2 header", false },
};

static void test_bad_client_first(void **state ATTR_UNUSED)
{
	struct harness h;
	write_users("alice:{PLAIN}alicepw\n");
	scram_harness_init(&h, "");
	for (unsigned int i = 0; i < N_ELEMENTS(bad_first); i++) {
		send_auth(&h, i + 1, i % 2 == 0 ? "SCRAM-SHA-1" : "SCRAM-SHA-256", "",
			  bad_first[i].client_first);
		expect_fail(&h, i + 1, NULL, bad_first[i].reason);
	}
	/* master-user login: authzid differs from the user */
	send_auth(&h, 100, "SCRAM-SHA-256", "", "n,a=bob,n=alice,r=abc");
	char *out = harness_take(&h);
	assert_string_equal(out, "FAIL\t100\tuser=alice\tcode=authz_fail\n");
	free(out);
	free(log_take());

	/* oversized: a 3000-byte nonce; a long name */
	string_t *big = str_create(4096);
	str_append(big, "n,,n=alice,r=");
	for (int i = 0; i < 3000; i++)
		str_append_c(big, 'x');
	send_auth(&h, 101, "SCRAM-SHA-1", "", str_c(big));
	expect_fail(&h, 101, NULL, "Client message too long (3013 > 2048 bytes)");
	str_truncate(big, 0);
	str_append(big, "n,,n=alice,r=");
	for (int i = 0; i < 257; i++)
		str_append_c(big, 'x');
	send_auth(&h, 102, "SCRAM-SHA-1", "", str_c(big));
	expect_fail(&h, 102, NULL, "Invalid client nonce");
	str_truncate(big, 0);
	str_append(big, "n,,n=");
	for (int i = 0; i < 256; i++)
		str_append_c(big, 'a');
	str_append(big, ",r=abc");
	send_auth(&h, 103, "SCRAM-SHA-1", "", str_c(big));
	expect_fail(&h, 103, NULL, "Invalid username");
	/* too many attributes */
	str_truncate(big, 0);
	str_append(big, "n,,n=alice,r=abc");
	for (int i = 0; i < 40; i++)
		str_append(big, ",x=1");
	send_auth(&h, 104, "SCRAM-SHA-1", "", str_c(big));
	expect_fail(&h, 104, NULL, "Too many attributes");
	str_free(&big);

	/* NUL: "n,,n=alice\0,r=abc" */
	harness_send(&h, "AUTH\t105\tSCRAM-SHA-1\tservice=imap\tresp=biwsbj1hbGljZQAscj1hYmM=\n", false);
	expect_fail(&h, 105, NULL, "Unexpected NUL in initial response");
	/* empty initial response */
	harness_send(&h, "AUTH\t106\tSCRAM-SHA-1\tservice=imap\tresp=\n", false);
	expect_fail(&h, 106, NULL, "Invalid GS2 header");
	scram_harness_deinit(&h);
}

/* Client-final variants: %c is replaced by the right c=, %r by the right
   r=, %p by the right p= (computed over what precedes it), %q by the
   p= of a wrong password. */
static const struct {
	const char *gs2;             /* gs2 header of the client-first */
	const char *final;
	const char *reason;
} bad_final[] = {
	{ "n,,", "%c,%r", "missing attributes" },
	{ "n,,", "%c", "missing attributes" },
	{ "n,,", "", "missing attributes" },
	{ "n,,", "%r,%c,%p", "channel binding expected" },
	{ "n,,", "c=eSws,%r,%p", "Invalid channel binding data" },
	{ "y,,", "c=biws,%r,%p", "Invalid channel binding data" },
	{ "n,,", "c=cD10bHMtdW5pcXVlLCw=,%r,%p", "Invalid channel binding data" },
	{ "n,a=alice,", "c=biws,%r,%p", "Invalid channel binding data" },
	{ "n,,", "c=biws=,%r,%p", "Invalid channel binding data" },
	{ "n,,", "%c,r=abc,%p", "Wrong nonce" },
	{ "n,,", "%c,%rx,%p", "Wrong nonce" },
	{ "n,,", "%c,r=,%p", "Wrong nonce" },
	{ "n,,", "%c,x=1,%p", "nonce expected" },
	{ "n,,", "%c,%r,%r,%p", "Invalid or duplicated attribute" },
	{ "n,,", "%c,%r,c=biws,%p", "Invalid or duplicated attribute" },
	{ "n,,", "%c,%r,,%p", "Invalid or duplicated attribute" },
	{ "n,,", "%c,%r,%p,x=1", "proof expected last" },
	{ "n,,", "%c,%r,p=", "Invalid ClientProof" },
	{ "n,,", "%c,%r,p=!!!!", "Invalid ClientProof" },
	{ "n,,", "%c,%r,p=AAAA", "Invalid ClientProof" },
	{ "n,,", "%c,%r,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	  "Invalid ClientProof" },
	/* the client-first again as the second step */
	{ "n,,", "n,,n=alice,r=abc", "channel binding expected" },
	/* unknown extension before the proof: fine, then a wrong proof */
	{ "n,,", "%c,%r,x=1,%q", "Password mismatch" },
};

static char *expand_final(const char *template, const char *mech,
			  const char *gs2, const char *bare,
			  const char *server_first)
{
	string_t *out = str_create(256);
	char *cbind = b64s(gs2);
	const char *comma = strchr(server_first, ',');

	for (const char *p = template; *p != '\0'; p++) {
		if (*p != '%') {
			str_append_c(out, *p);
		} else if (*++p == 'c') {
			str_printfa(out, "c=%s", cbind);
		} else if (*p == 'r') {
			str_append_n(out, server_first, (size_t)(comma - server_first));
		} else {
			/* the right proof for what precedes ",p=" */
			char *proof, *v;
			assert_true(str_len(out) > 0);
			char *noproof = x_printf("%.*s", (int)str_len(out) - 1, str_c(out));
			scram_client_compute(mech, *p == 'p' ? "alicepw" : "wrong",
					     bare, server_first,
					     noproof, &proof, &v);
			str_printfa(out, "p=%s", proof);
			free(noproof);
			free(proof);
			free(v);
		}
	}
	free(cbind);
	return str_free_without_data(&out);
}

static void test_bad_client_final(void **state ATTR_UNUSED)
{
	struct harness h;
	write_users("alice:{PLAIN}alicepw\n");
	scram_harness_init(&h, "");
	for (unsigned int i = 0; i < N_ELEMENTS(bad_final); i++) {
		const char *mech = i % 2 == 0 ? "SCRAM-SHA-1" : "SCRAM-SHA-256";
		char *client_first = x_printf("%sn=alice,r=abc", bad_final[i].gs2);
		char *server_first = do_first(&h, i + 1, mech, "", client_first, "abc");
		char *final = expand_final(bad_final[i].final, mech, bad_final[i].gs2,
					   "n=alice,r=abc", server_first);
		send_cont(&h, i + 1, final);
		expect_fail(&h, i + 1, "alice", bad_final[i].reason);
		free(final);
		free(server_first);
		free(client_first);
	}
	/* sanity: the template language itself produces a valid exchange */
	char *server_first = do_first(&h, 200, "SCRAM-SHA-256", "", "n,,n=alice,r=abc", "abc");
	char *final = expand_final("%c,%r,%p", "SCRAM-SHA-256", "n,,", "n=alice,r=abc",
				   server_first);
	send_cont(&h, 200, final);
	char *out = harness_take(&h);
	free(expect_cont(out, 200));
	free(out);
	/* a third message after the server-final is only the ack */
	send_cont(&h, 200, "junk");
	out = harness_take(&h);
	assert_string_equal(out, "OK\t200\tuser=alice\n");
	free(out);
	free(final);
	free(server_first);

	/* oversized client-final */
	server_first = do_first(&h, 201, "SCRAM-SHA-1", "", "n,,n=alice,r=abc", "abc");
	string_t *big = str_create(4096);
	str_append(big, "c=biws,r=");
	for (int i = 0; i < 2100; i++)
		str_append_c(big, 'x');
	send_cont(&h, 201, str_c(big));
	expect_fail(&h, 201, "alice", "Client message too long");
	str_free(&big);
	free(server_first);
	scram_harness_deinit(&h);
}

static int setup(void **state ATTR_UNUSED)
{
	return test_harness_setup_dir();
}

static int teardown(void **state ATTR_UNUSED)
{
	return test_harness_remove_dir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_vectors),
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_rfc_examples),
		cmocka_unit_test(test_plain_stored),
		cmocka_unit_test(test_wrong_password_unknown_user),
		cmocka_unit_test(test_bad_client_first),
		cmocka_unit_test(test_bad_client_final),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
