/* Unit tests for the password schemes: every row of
   shared/vectors/password-schemes.tsv (hashes made by Dovecot's doveadm),
   generate -> verify round trips for every scheme, malformed input,
   credentials for the mechanisms, OTP (RFC 2289 appendix C). */
#include "lib.h"
#include "str.h"
#include "hex.h"
#include "password-scheme.h"
#include "otp.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <pthread.h>
#include <setjmp.h>
#include <cmocka.h>

#define TSV_NAME "password-schemes.tsv"
#define TSV_EXPECTED_ROWS 180
#define TSV_MAX_SIZE (1024 * 1024)

struct tsv_row {
	unsigned int line;
	char *scheme, *user, *password, *hash;
	bool match;
};

static struct tsv_row *tsv_rows;
static size_t tsv_row_count;
static char *tsv_data;

static void vectors_path(char *path, size_t size)
{
	const char *dir = getenv("ROOST_VECTORS_DIR");

	if (dir == NULL || *dir == '\0')
		dir = TOP_SRCDIR "/../shared/vectors";
	snprintf(path, size, "%s/%s", dir, TSV_NAME);
}

/* Load the TSV once. A missing or malformed file fails the tests that use
   it: the vectors are the contract, not an optional extra. */
static int tsv_load(void **state ATTR_UNUSED)
{
	char path[4096];
	FILE *f;
	size_t size, alloc = 0;
	char *line, *next;
	unsigned int lineno = 0;

	vectors_path(path, sizeof(path));
	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "Cannot open test vectors %s: %s "
			"(set ROOST_VECTORS_DIR)\n", path, strerror(errno));
		return -1;
	}
	tsv_data = x_malloc(TSV_MAX_SIZE + 1);
	size = fread(tsv_data, 1, TSV_MAX_SIZE, f);
	fclose(f);
	tsv_data[size] = '\0';

	for (line = tsv_data; line != NULL && *line != '\0'; line = next) {
		char *fields[5], *p = line;
		unsigned int n = 0;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (lineno++ == 0)
			continue;   /* header */
		while (n < 5) {
			fields[n++] = p;
			p = strchr(p, '\t');
			if (p == NULL)
				break;
			*p++ = '\0';
		}
		if (n != 5 || p != NULL) {
			fprintf(stderr, "%s:%u: expected 5 tab-separated fields\n",
				path, lineno);
			return -1;
		}
		if (tsv_row_count == alloc) {
			alloc = alloc == 0 ? 256 : alloc * 2;
			tsv_rows = x_realloc(tsv_rows, 0, alloc * sizeof(*tsv_rows));
		}
		struct tsv_row *row = &tsv_rows[tsv_row_count++];
		row->line = lineno;
		row->scheme = fields[0];
		row->user = fields[1];
		row->password = fields[2];
		row->hash = fields[3];
		if (str_eq(fields[4], "match"))
			row->match = true;
		else if (str_eq(fields[4], "nomatch"))
			row->match = false;
		else {
			fprintf(stderr, "%s:%u: bad expected value '%s'\n",
				path, lineno, fields[4]);
			return -1;
		}
	}
	return 0;
}

static int tsv_free(void **state ATTR_UNUSED)
{
	free(tsv_rows);
	free(tsv_data);
	return 0;
}

static int verify_str(const char *password, const char *stored,
		      const char *default_scheme, const char *user,
		      const char **error_r)
{
	return password_verify((const unsigned char *)password,
			       strlen(password), stored, default_scheme,
			       user, error_r);
}

static void test_tsv_vectors(void **state ATTR_UNUSED)
{
	unsigned int failures = 0;

	assert_int_equal(tsv_row_count, TSV_EXPECTED_ROWS);
	for (size_t i = 0; i < tsv_row_count; i++) {
		const struct tsv_row *row = &tsv_rows[i];
		const char *user = row->user[0] == '\0' ? NULL : row->user;
		const char *error = NULL;
		int ret = verify_str(row->password, row->hash, NULL, user,
				     &error);

		if (ret != (row->match ? 1 : 0)) {
			fprintf(stderr, "line %u: %s pw='%s' %s: got %d (%s), "
				"expected %s\n", row->line, row->scheme,
				row->password, row->hash, ret,
				error != NULL ? error : "", row->match ?
				"match" : "nomatch");
			failures++;
		}
		/* the scheme column names a known scheme */
		assert_true(password_scheme_is_known(row->scheme));
	}
	assert_int_equal(failures, 0);
}

/* The same rows through the two-step API roostadm pw -t uses. */
static void test_tsv_vectors_decode(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < tsv_row_count; i++) {
		const struct tsv_row *row = &tsv_rows[i];
		const char *user = row->user[0] == '\0' ? NULL : row->user;
		const char *data, *error;
		char scheme[64];
		unsigned char *raw;
		size_t data_len, raw_len;
		int ret;

		assert_true(password_get_scheme(row->hash, scheme, sizeof(scheme),
						&data, &data_len));
		assert_int_equal(password_decode(data, data_len, scheme, &raw,
						 &raw_len, &error), 1);
		ret = password_verify_raw((const unsigned char *)row->password,
					  strlen(row->password), scheme, user,
					  raw, raw_len, &error);
		if (ret != (row->match ? 1 : 0))
			fail_msg("line %u: verify_raw gave %d", row->line, ret);
		if (ret == 0)
			assert_string_equal(error, "Password mismatch");
		x_free_secret(raw, raw_len);
	}
}

static const char *const roundtrip_passwords[] = {
	"password", "correct horse battery staple", "p\xc3\xa4sswo\xcc\x88rd\xe2\x82\xac",
	"", "x",
	/* 100 bytes: past the 64-byte HMAC block and DES's 8 */
	"0123456789012345678901234567890123456789012345678901234567890123456789"
	"012345678901234567890123456789",
};

static size_t significant_length(const char *scheme)
{
	if (strncasecmp(scheme, "DES-CRYPT", 9) == 0)
		return 8;
	if (strncasecmp(scheme, "BLF-CRYPT", 9) == 0 ||
	    str_ieq(scheme, "CRYPT"))
		return 72;
	return SIZE_MAX;
}

static void roundtrip(const char *scheme, unsigned int rounds,
		      const char *password, const char *expect_prefix)
{
	const char *user = "user@example.com", *error = NULL;
	char *result = NULL;
	int ret;

	if (password_generate((const unsigned char *)password,
			      strlen(password), scheme, user, rounds,
			      &result, &error) != 0)
		fail_msg("generate %s: %s", scheme, error);
	if (expect_prefix != NULL &&
	    strncmp(result, expect_prefix, strlen(expect_prefix)) != 0)
		fail_msg("generate %s gave '%s', expected prefix '%s'",
			 scheme, result, expect_prefix);
	ret = verify_str(password, result, NULL, user, &error);
	if (ret != 1)
		fail_msg("%s: '%s' does not verify its own '%s': %d %s",
			 scheme, password, result, ret, error);
	/* one byte more never matches, except where the scheme ignores
	   bytes: PLAIN-TRUNC's truncation rule, DES (8 bytes), bcrypt (72) */
	if (strncmp(scheme, "PLAIN-TRUNC", 11) != 0 &&
	    strlen(password) < significant_length(scheme)) {
		char *wrong = x_printf("%sX", password);
		ret = verify_str(wrong, result, NULL, user, &error);
		if (ret != 0)
			fail_msg("%s: wrong password verified: %d", scheme, ret);
		free(wrong);
	}
	/* DES looks at 8 bytes only: other schemes see the last byte */
	if (password[0] != '\0' && strlen(password) <= 8) {
		char *wrong = x_strdup(password);
		wrong[strlen(wrong) - 1] ^= 1;
		ret = verify_str(wrong, result, NULL, user, &error);
		if (ret != 0)
			fail_msg("%s: changed password verified: %d", scheme, ret);
		free(wrong);
	}
	x_free_secret(result, strlen(result));
}

static bool scheme_is_slow_kdf(const char *scheme)
{
	return str_begins(scheme, "ARGON2", NULL);
}

static void test_roundtrip_all_schemes(void **state ATTR_UNUSED)
{
	const char *const *names = password_scheme_names();
	unsigned int count = 0;

	for (; *names != NULL; names++) {
		for (size_t i = 0; i < N_ELEMENTS(roundtrip_passwords); i++) {
			/* ARGON2 is expensive: two passwords are enough */
			if (scheme_is_slow_kdf(*names) && i > 1)
				break;
			roundtrip(*names, 0, roundtrip_passwords[i], NULL);
		}
		count++;
	}
#ifdef HAVE_ARGON2
	assert_int_equal(count, 31);
#else
	assert_int_equal(count, 29);
#endif
}

static void test_roundtrip_variants(void **state ATTR_UNUSED)
{
	static const struct {
		const char *scheme;
		unsigned int rounds;
		const char *prefix;
	} variants[] = {
		{ "CRYPT", 0, "{CRYPT}$2y$05$" },
		{ "BLF-CRYPT", 0, "{BLF-CRYPT}$2y$05$" },
		{ "BLF-CRYPT", 2, "{BLF-CRYPT}$2y$04$" },
		{ "blf-crypt", 6, "{BLF-CRYPT}$2y$06$" },
		{ "SHA256-CRYPT", 0, "{SHA256-CRYPT}$5$" },
		{ "SHA256-CRYPT", 500, "{SHA256-CRYPT}$5$rounds=1000$" },
		{ "SHA512-CRYPT", 2000, "{SHA512-CRYPT}$6$rounds=2000$" },
		{ "MD5-CRYPT", 0, "{MD5-CRYPT}$1$" },
		{ "MD5", 0, "{MD5}$1$" },
		{ "PBKDF2", 0, "{PBKDF2}$1$" },
		{ "PBKDF2", 10, "{PBKDF2}$1$" },
		{ "SCRAM-SHA-1", 0, "{SCRAM-SHA-1}4096," },
		{ "SCRAM-SHA-256", 5000, "{SCRAM-SHA-256}5000," },
		{ "OTP", 0, "{OTP}sha1 1024 " },
		{ "PLAIN-TRUNC", 0, "{PLAIN-TRUNC}8-password" },
		{ "SHA256.HEX", 0, "{SHA256.HEX}5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8" },
		{ "sha256.b64", 0, "{SHA256.B64}XohImNooBHFR0OVvjcYpJ3NgPQ1qq73WKhHvch0VQtg=" },
		{ "SHA256", 0, "{SHA256}XohImNooBHFR0OVvjcYpJ3NgPQ1qq73WKhHvch0VQtg=" },
		{ "PLAIN-MD5", 0, "{PLAIN-MD5}5f4dcc3b5aa765d61d8327deb882cf99" },
		{ "LDAP-MD5", 0, "{LDAP-MD5}X03MO1qnZdYdgyfeuILPmQ==" },
		{ "PLAIN.HEX", 0, "{PLAIN.HEX}70617373776f7264" },
		{ "PLAIN.base64", 0, "{PLAIN.BASE64}cGFzc3dvcmQ=" },
		{ "SSHA.hex", 0, "{SSHA.HEX}" },
		{ "SSHA512.b64", 0, "{SSHA512.B64}" },
		{ "CRAM-MD5.b64", 0, "{CRAM-MD5.B64}kYbYVeEeulJ6elLKgrMT4YDWIjTwrMkFG1JyQ9QeJ0A=" },
		{ "DIGEST-MD5", 0, "{DIGEST-MD5}3db764baa4df9e87dae6b22677532339" },
		{ "SHA512-CRYPT.hex", 0, "{SHA512-CRYPT.HEX}243624" },
		{ "SCRAM-SHA-1.b64", 0, "{SCRAM-SHA-1.B64}NDA5Ni" },
		{ "OTP.hex", 0, "{OTP.HEX}" },
#ifdef HAVE_ARGON2
		{ "ARGON2I", 0, "{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$" },
		{ "ARGON2I", 3, "{ARGON2I}$argon2i$v=19$m=32768,t=3,p=1$" },
		{ "ARGON2ID", 0, "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$" },
		{ "ARGON2ID", 1, "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$" },
#endif
	};
	for (size_t i = 0; i < N_ELEMENTS(variants); i++) {
		roundtrip(variants[i].scheme, variants[i].rounds, "password",
			  variants[i].prefix);
	}
}

static void test_generate_errors(void **state ATTR_UNUSED)
{
	const char *error = NULL;
	char *result = NULL;

	assert_int_equal(password_generate((const unsigned char *)"x", 1,
					   "FOO", NULL, 0, &result, &error), -1);
	assert_string_equal(error, "Unknown scheme: FOO");
	assert_int_equal(password_generate((const unsigned char *)"x", 1,
					   "SHA256.b32", NULL, 0, &result,
					   &error), -1);
	assert_int_equal(password_generate((const unsigned char *)"x", 1,
					   "DIGEST-MD5", NULL, 0, &result,
					   &error), -1);
	assert_non_null(strstr(error, "user"));
	/* crypt(3) takes C strings */
	assert_int_equal(password_generate((const unsigned char *)"a\0b", 3,
					   "SHA512-CRYPT", NULL, 0, &result,
					   &error), -1);
#ifdef HAVE_ARGON2
	assert_int_equal(password_generate((const unsigned char *)"x", 1,
					   "ARGON2I", NULL, 2, &result,
					   &error), -1);
#endif
	assert_null(result);
}

struct malformed_test {
	const char *stored;
	const char *default_scheme;
	const char *user;
	const char *password;
	int ret;
	const char *error;   /* substring of the error, NULL = don't care */
};

static const struct malformed_test malformed_tests[] = {
	/* unknown schemes and broken prefixes */
	{ "{FOO}x", NULL, NULL, "x", -1, "Unknown scheme: FOO" },
	{ "{}x", NULL, NULL, "x", -1, "Unknown scheme: " },
	{ "{PLAIN.foo}x", NULL, NULL, "x", -1, "Unknown scheme: PLAIN.foo" },
	{ "{PLAIN", NULL, NULL, "x", -1, "Missing {scheme} prefix" },
	{ "{", NULL, NULL, "{", -1, "Missing {scheme} prefix" },
	{ "{", "PLAIN", NULL, "{", 1, NULL },
	{ "{PLAIN", "PLAIN", NULL, "{PLAIN", 1, NULL },
	{ "", NULL, NULL, "", -1, "Missing {scheme} prefix" },
	{ "", "PLAIN", NULL, "", 1, NULL },
	{ "", "PLAIN", NULL, "x", 0, NULL },
	{ "x", "FOO", NULL, "x", -1, "Unknown scheme: FOO" },
	{ "password", "plain", NULL, "password", 1, NULL },
	{ "{plain}password", NULL, NULL, "password", 1, NULL },
	{ "{PLAIN}a}b", NULL, NULL, "a}b", 1, NULL },
	{ "{PLAIN}", NULL, NULL, "", 1, NULL },
	{ "{PLAIN}", NULL, NULL, "x", 0, NULL },
	/* "$1$" without prefix is MD5-CRYPT whatever the default */
	{ "$1$k2NObV58$PInp5AO10M6PV3kg1heht/", "PLAIN", NULL, "password", 1, NULL },
	{ "$1$k2NObV58$PInp5AO10M6PV3kg1heht/$junk", NULL, NULL, "password", 1, NULL },
	/* ... except that PBKDF2's format starts with "$1$" too */
	{ "$1$VhBadXTcN2l1AxcI$5000$0395793ab078f44ad7e11e4e0af49ff496d38e60", "PBKDF2", NULL, "password", 1, NULL },
	{ "$1$VhBadXTcN2l1AxcI$5000$0395793ab078f44ad7e11e4e0af49ff496d38e60", "pbkdf2", NULL, "passwordx", 0, NULL },
	/* bad encodings and lengths */
	{ "{SHA}AAAA", NULL, NULL, "x", -1, "Input length isn't valid (3 instead of 20)" },
	{ "{SHA}", NULL, NULL, "x", -1, "Input length isn't valid (0 instead of 20)" },
	{ "{SHA256}abc", NULL, NULL, "x", -1, "Input isn't valid base64 encoded data" },
	{ "{SHA256}!!!!", NULL, NULL, "x", -1, "base64" },
	{ "{SHA256.hex}zz", NULL, NULL, "x", -1, "Input isn't valid HEX encoded data" },
	{ "{SHA256.hex}XohImNooBHFR0OVvjcYpJ3NgPQ1qq73WKhHvch0VQtg=", NULL, NULL, "password", -1, "HEX" },
	{ "{SHA256.b64}5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", NULL, NULL, "password", -1, "length" },
	{ "{PLAIN-MD5}5f4dcc3b5aa765d61d8327deb882cf9", NULL, NULL, "password", -1, "base64" },
	{ "{PLAIN-MD5}5F4DCC3B5AA765D61D8327DEB882CF99", NULL, NULL, "password", 1, NULL },
	{ "{PLAIN-MD5}X03MO1qnZdYdgyfeuILPmQ==", NULL, NULL, "password", 1, NULL },
	{ "{LDAP-MD5}X03MO1qnZdYdgyfeuILPmQ", NULL, NULL, "password", -1, "base64" },
	{ "{LDAP-MD5}X03MO1qnZdYdgyfeuILP mQ==", NULL, NULL, "password", 1, NULL },
	{ "{LDAP-MD5}X03MO1qnZdYdgyfeuILPmQ==AAAA", NULL, NULL, "password", -1, "base64" },
	{ "{PLAIN.b64}cGFzc3dvcmQ", NULL, NULL, "password", -1, "base64" },
	{ "{PLAIN.hex}70617373776f726", NULL, NULL, "password", -1, "HEX" },
	{ "{PLAIN.hex}70617373776F7264", NULL, NULL, "password", 1, NULL },
	{ "{CRAM-MD5}d06d4e1b26fccaa4b0b61801132340a354b21152711fb604ca3e035e7015116", NULL, NULL, "tanstaaftanstaaf", -1, NULL },
	{ "{DIGEST-MD5}3db764baa4df9e87dae6b22677532339", NULL, NULL, "password", -1, "user" },
	{ "{DIGEST-MD5}3db764baa4df9e87dae6b22677532339", NULL, "user@other", "password", 0, NULL },
	/* salted digests */
	{ "{SSHA}AAAA", NULL, NULL, "x", -1, "SSHA password is too short" },
	{ "{SMD5}", NULL, NULL, "x", -1, "SMD5 password is too short" },
	{ "{SSHA256}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", NULL, NULL, "x", -1, "too short" },
	{ "{SSHA}afb7396e14a5ce5b63bc72013a08ee1f81034c906397434c", NULL, NULL, "password", 0, NULL },
	/* crypt */
	{ "{CRYPT}", NULL, NULL, "", 0, NULL },
	{ "{SHA512-CRYPT}garbage", NULL, NULL, "x", 0, NULL },
	{ "{SHA512-CRYPT}*0", NULL, NULL, "x", 0, NULL },
	{ "{SHA512-CRYPT}$6$HqumxFOHbHHJth80$sG6GXIJ", NULL, NULL, "password", 0, NULL },
	{ "{SHA512-CRYPT}$6$HqumxFOHbHHJth80$", NULL, NULL, "password", 0, NULL },
	{ "{BLF-CRYPT}$2y$05$qHvo0pYMRd4XCG/DU6wVIOn6x0gPoXVdbjAJSEg0cH/bGXUb0cTg", NULL, NULL, "password", 0, NULL },
	{ "{BLF-CRYPT}$2y$99$qHvo0pYMRd4XCG/DU6wVIOn6x0gPoXVdbjAJSEg0cH/bGXUb0cTgO", NULL, NULL, "password", 0, NULL },
	{ "{DES-CRYPT}4Btn/bWAT/9M", NULL, NULL, "password", 0, NULL },
	/* any crypt hash under any crypt name, as in Dovecot */
	{ "{DES-CRYPT}$1$k2NObV58$PInp5AO10M6PV3kg1heht/", NULL, NULL, "password", 1, NULL },
	{ "{SHA256-CRYPT}$6$HqumxFOHbHHJth80$sG6GXIJ.46veAmdSXNVaeahx54Y3GAMDRCjw.oFOqDZtLUB1iJboJ2l8aPSaLMJlf1vBxpKw0ZuJvsKySi6QN.", NULL, NULL, "password", 1, NULL },
	{ "{MD5}garbage", NULL, NULL, "password", -1, "Not a valid MD5-CRYPT or PLAIN-MD5 password" },
	{ "{MD5}5f4dcc3b5aa765d61d8327deb882cf99", NULL, NULL, "password", 1, NULL },
	{ "{MD5}X03MO1qnZdYdgyfeuILPmQ==", NULL, NULL, "password", 1, NULL },
	/* PLAIN-TRUNC */
	{ "{PLAIN-TRUNC}abc", NULL, NULL, "abc", -1, "PLAIN-TRUNC missing length: prefix" },
	{ "{PLAIN-TRUNC}", NULL, NULL, "", -1, "PLAIN-TRUNC missing length: prefix" },
	{ "{PLAIN-TRUNC}3-abc", NULL, NULL, "abcdef", 1, NULL },
	{ "{PLAIN-TRUNC}3-abc", NULL, NULL, "abc", 1, NULL },
	{ "{PLAIN-TRUNC}3-abc", NULL, NULL, "ab", 0, NULL },
	{ "{PLAIN-TRUNC}3-abc", NULL, NULL, "abd", 0, NULL },
	{ "{PLAIN-TRUNC}4-abc", NULL, NULL, "abc", 1, NULL },
	{ "{PLAIN-TRUNC}4-abc", NULL, NULL, "abcd", 0, NULL },
	{ "{PLAIN-TRUNC}0-", NULL, NULL, "anything", 1, NULL },
	{ "{PLAIN-TRUNC}99999999999999999999999999-abc", NULL, NULL, "abc", -1, NULL },
	/* PBKDF2 */
	{ "{PBKDF2}garbage", NULL, NULL, "x", -1, "Invalid PBKDF2 passdb entry prefix" },
	{ "{PBKDF2}$1$VhBadXTcN2l1AxcI$5000$0395793ab078f44ad7e11e4e0af49ff496d38e6", NULL, NULL, "password", -1, "PBKDF2 hash not 160bit hex-encoded" },
	{ "{PBKDF2}$1$VhBadXTcN2l1AxcI$5000$0395793ab078f44ad7e11e4e0af49ff496d38e6z", NULL, NULL, "password", -1, "160bit" },
	{ "{PBKDF2}$1$VhBadXTcN2l1AxcI$x$0395793ab078f44ad7e11e4e0af49ff496d38e60", NULL, NULL, "password", -1, "Invalid PBKDF2 passdb entry format" },
	{ "{PBKDF2}$1$VhBadXTcN2l1AxcI$0$0395793ab078f44ad7e11e4e0af49ff496d38e60", NULL, NULL, "password", -1, "format" },
	{ "{PBKDF2}$1$VhBadXTcN2l1AxcI$5000", NULL, NULL, "password", -1, "format" },
	{ "{PBKDF2}$1$VhBadXTcN2l1AxcI$5000$0395793ab078f44ad7e11e4e0af49ff496d38e60$", NULL, NULL, "password", -1, "format" },
	{ "{PBKDF2}$1$VhBadXTcN2l1AxcI$5000$0395793AB078F44AD7E11E4E0AF49FF496D38E60", NULL, NULL, "password", 1, NULL },
	/* SCRAM */
	{ "{SCRAM-SHA-1}garbage", NULL, NULL, "pencil", -1, "Invalid SCRAM-SHA-1 passdb entry format" },
	{ "{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=,extra", NULL, NULL, "pencil", -1, "entry format" },
	{ "{SCRAM-SHA-1}0,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=", NULL, NULL, "pencil", -1, "Invalid SCRAM-SHA-1 iteration count in passdb" },
	{ "{SCRAM-SHA-1}4095,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=", NULL, NULL, "pencil", -1, "iteration count" },
	{ "{SCRAM-SHA-1}abc,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=", NULL, NULL, "pencil", -1, "iteration count" },
	{ "{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE", NULL, NULL, "pencil", -1, "Invalid SCRAM-SHA-1 ServerKey in passdb" },
	{ "{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y,D+CSWLOshSulAsxiupA+qs2/fTE=", NULL, NULL, "pencil", -1, "Invalid SCRAM-SHA-1 StoredKey in passdb" },
	{ "{SCRAM-SHA-1}4096,!!,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=", NULL, NULL, "pencil", -1, "salt" },
	{ "{SCRAM-SHA-256}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=", NULL, NULL, "pencil", -1, "StoredKey" },
	{ "{SCRAM-SHA-1}4096,,,", NULL, NULL, "pencil", -1, NULL },
	/* OTP */
	{ "{OTP}garbage", NULL, NULL, "x", -1, "Invalid OTP data in passdb" },
	{ "{OTP}md6 99 TeSt 50FE1962C4965880", NULL, NULL, "This is a test.", -1, "Invalid OTP data" },
	{ "{OTP}md5 99 TeSt 50FE1962C49658", NULL, NULL, "This is a test.", -1, "Invalid OTP data" },
	{ "{OTP}md5 99 TeSt 50FE1962C4965880ff", NULL, NULL, "This is a test.", -1, "Invalid OTP data" },
	{ "{OTP}md5 -1 TeSt 50FE1962C4965880", NULL, NULL, "This is a test.", -1, "Invalid OTP data" },
	{ "{OTP}md5 99  50FE1962C4965880", NULL, NULL, "This is a test.", -1, "Invalid OTP data" },
	{ "{OTP}md5 99 TeSt0123456789abc 50FE1962C4965880", NULL, NULL, "This is a test.", -1, "Invalid OTP data" },
	{ "{OTP}md5 99999999999 TeSt 50FE1962C4965880", NULL, NULL, "This is a test.", -1, "Invalid OTP data" },
	{ "{OTP}md5 99 TeSt 50FE1962C4965880", NULL, NULL, "This is a test.", 1, NULL },
	{ "{OTP}MD5 99 test 50fe 1962 c496 5880", NULL, NULL, "This is a test.", 1, NULL },
#ifdef HAVE_ARGON2
	/* ARGON2 */
	{ "{ARGON2I}garbage", NULL, NULL, "x", -1, "ARGON2I" },
	{ "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$vaJAIqSZDIcqq9WNscCcKg$", NULL, NULL, "password", -1, NULL },
	{ "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$$O0P9dumLodi7YneuE76Wx2WqstXldH2mbR3RIZErMq8", NULL, NULL, "password", -1, NULL },
	{ "{ARGON2I}$argon2id$v=19$m=65536,t=3,p=1$vaJAIqSZDIcqq9WNscCcKg$O0P9dumLodi7YneuE76Wx2WqstXldH2mbR3RIZErMq8", NULL, NULL, "password", 1, NULL },
#endif
};

static void test_malformed(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(malformed_tests); i++) {
		const struct malformed_test *t = &malformed_tests[i];
		const char *error = NULL;
		int ret = verify_str(t->password, t->stored, t->default_scheme,
				     t->user, &error);

		if (ret != t->ret) {
			fail_msg("'%s' (default %s) pw '%s': got %d (%s), "
				 "expected %d", t->stored,
				 t->default_scheme == NULL ? "-" : t->default_scheme,
				 t->password, ret, error == NULL ? "" : error,
				 t->ret);
		}
		if (ret < 0) {
			assert_non_null(error);
			if (t->error != NULL && strstr(error, t->error) == NULL)
				fail_msg("'%s': error '%s' lacks '%s'",
					 t->stored, error, t->error);
		}
	}
}

static void test_overlong(void **state ATTR_UNUSED)
{
	const size_t big = 100000;
	char *password = x_malloc(big + 1), *stored, *result;
	const char *error;

	memset(password, 'a', big);
	/* huge plaintext stored and typed */
	stored = x_printf("{PLAIN}%s", password);
	assert_int_equal(verify_str(password, stored, NULL, NULL, &error), 1);
	free(stored);
	/* huge scheme name */
	stored = x_printf("{%s}x", password);
	assert_int_equal(verify_str("x", stored, NULL, NULL, &error), -1);
	assert_non_null(strstr(error, "Unknown scheme"));
	assert_false(password_scheme_is_known(password));
	free(stored);
	/* huge base64 where a digest belongs */
	stored = x_printf("{SHA256}%s", password);
	assert_int_equal(verify_str("x", stored, NULL, NULL, &error), -1);
	free(stored);
	/* huge typed password against digests and crypt */
	assert_int_equal(verify_str(password, "{SHA256}XohImNooBHFR0OVvjcYpJ3NgPQ1qq73WKhHvch0VQtg=",
				    NULL, NULL, &error), 0);
	assert_int_equal(verify_str(password, "{SHA512-CRYPT}$6$HqumxFOHbHHJth80$sG6GXIJ.46veAmdSXNVaeahx54Y3GAMDRCjw.oFOqDZtLUB1iJboJ2l8aPSaLMJlf1vBxpKw0ZuJvsKySi6QN.",
				    NULL, NULL, &error), 0);
	/* bcrypt uses 72 bytes: a long password works (Dovecot's built-in
	   bcrypt has no length limit) and only its prefix counts */
	assert_int_equal(password_generate((const unsigned char *)password, 600,
					   "BLF-CRYPT", NULL, 4, &result,
					   &error), 0);
	assert_int_equal(password_verify((const unsigned char *)password, 600,
					 result, NULL, NULL, &error), 1);
	assert_int_equal(password_verify((const unsigned char *)password, 72,
					 result, NULL, NULL, &error), 1);
	assert_int_equal(password_verify((const unsigned char *)password, 71,
					 result, NULL, NULL, &error), 0);
	free(result);
	/* SHA512-CRYPT refuses more than libxcrypt's 512-byte limit
	   (doveadm would print "{SHA512-CRYPT}*0") */
	assert_int_equal(password_generate((const unsigned char *)password, 600,
					   "SHA512-CRYPT", NULL, 0, &result,
					   &error), -1);
	free(password);
}

static void test_nul_in_password(void **state ATTR_UNUSED)
{
	const char *error;

	/* digests hash all bytes */
	assert_int_equal(password_verify((const unsigned char *)"password\0x", 10,
					 "{SHA256}XohImNooBHFR0OVvjcYpJ3NgPQ1qq73WKhHvch0VQtg=",
					 NULL, NULL, &error), 0);
	assert_int_equal(password_verify((const unsigned char *)"password\0x", 10,
					 "{PLAIN}password", NULL, NULL, &error), 0);
	/* crypt never sees a truncated C string */
	assert_int_equal(password_verify((const unsigned char *)"password\0x", 10,
					 "{MD5-CRYPT}$1$k2NObV58$PInp5AO10M6PV3kg1heht/",
					 NULL, NULL, &error), 0);
	assert_int_equal(password_verify((const unsigned char *)"password", 8,
					 "{MD5-CRYPT}$1$k2NObV58$PInp5AO10M6PV3kg1heht/",
					 NULL, NULL, &error), 1);
	/* a base64 PLAIN may hold a NUL */
	assert_int_equal(password_verify((const unsigned char *)"a\0b", 3,
					 "{PLAIN.b64}YQBi", NULL, NULL, &error), 1);
}

static void test_split_scheme(void **state ATTR_UNUSED)
{
	char scheme[16];
	const char *data, *p;
	size_t len;

	p = password_split_scheme("{sha256.hex}abc", scheme, sizeof(scheme));
	assert_non_null(p);
	assert_string_equal(p, "abc");
	assert_string_equal(scheme, "SHA256.HEX");
	p = password_split_scheme("{}", scheme, sizeof(scheme));
	assert_string_equal(p, "");
	assert_string_equal(scheme, "");
	assert_null(password_split_scheme("abc", scheme, sizeof(scheme)));
	assert_null(password_split_scheme("{abc", scheme, sizeof(scheme)));
	assert_null(password_split_scheme("", scheme, sizeof(scheme)));
	assert_null(password_split_scheme(NULL, scheme, sizeof(scheme)));
	assert_null(password_split_scheme("{0123456789ABCDEF}x", scheme,
					  sizeof(scheme)));
	assert_non_null(password_split_scheme("{0123456789ABCDE}x", scheme,
					      sizeof(scheme)));
	assert_null(password_split_scheme("x{PLAIN}y", scheme, sizeof(scheme)));

	assert_true(password_get_scheme("{Sha.hex}x", scheme, sizeof(scheme),
					&data, &len));
	assert_string_equal(scheme, "Sha.hex");
	assert_int_equal(len, 1);
	assert_true(password_get_scheme("$1$salt$hash$rest", scheme,
					sizeof(scheme), &data, &len));
	assert_string_equal(scheme, "MD5-CRYPT");
	assert_int_equal(len, strlen("$1$salt$hash"));
	assert_false(password_get_scheme("$1$salt", scheme, sizeof(scheme),
					 &data, &len));
	assert_false(password_get_scheme("plain", scheme, sizeof(scheme),
					 &data, &len));
}

static void test_scheme_names(void **state ATTR_UNUSED)
{
	const char *const *names = password_scheme_names();

	assert_string_equal(names[0], "SHA1");
	for (; *names != NULL; names++) {
		char name[64];

		assert_true(password_scheme_is_known(*names));
		snprintf(name, sizeof(name), "%s.b64", *names);
		assert_true(password_scheme_is_known(name));
		snprintf(name, sizeof(name), "%s.HEX", *names);
		assert_true(password_scheme_is_known(name));
		snprintf(name, sizeof(name), "%s.base64", *names);
		assert_true(password_scheme_is_known(name));
		snprintf(name, sizeof(name), "%s.b32", *names);
		assert_false(password_scheme_is_known(name));
	}
	assert_true(password_scheme_is_known("plain"));
	assert_false(password_scheme_is_known("FOO"));
	assert_false(password_scheme_is_known(""));
	assert_false(password_scheme_is_known("."));
	assert_false(password_scheme_is_known("LANMAN"));
	assert_false(password_scheme_is_known("NTLM"));
}

static void test_is_slow(void **state ATTR_UNUSED)
{
	assert_true(password_verify_is_slow("{SHA512-CRYPT}$6$x$y", NULL));
	assert_true(password_verify_is_slow("{BLF-CRYPT}$2y$05$x", NULL));
	assert_true(password_verify_is_slow("{PBKDF2}$1$x", NULL));
	assert_true(password_verify_is_slow("{SCRAM-SHA-256}4096,x", NULL));
	assert_true(password_verify_is_slow("$2y$05$abc", "CRYPT"));
	assert_true(password_verify_is_slow("$1$abc$def", "PLAIN"));
#ifdef HAVE_ARGON2
	assert_true(password_verify_is_slow("{ARGON2ID}$argon2id$", NULL));
#endif
	assert_false(password_verify_is_slow("{PLAIN}x", NULL));
	assert_false(password_verify_is_slow("{SHA256}x", NULL));
	assert_false(password_verify_is_slow("{CRAM-MD5}x", NULL));
	assert_false(password_verify_is_slow("x", "PLAIN-MD5"));
	assert_false(password_verify_is_slow("{FOO}x", NULL));
	assert_false(password_verify_is_slow("x", NULL));
}

static void get_credentials(const char *stored, const char *default_scheme,
			    const char *wanted, const char *user,
			    int expect_ret, const char *expect_hex)
{
	unsigned char *raw = NULL;
	size_t raw_len = 0;
	const char *error = NULL;
	int ret;

	ret = password_get_credentials(stored, default_scheme, wanted, user,
				       &raw, &raw_len, &error);
	if (ret != expect_ret)
		fail_msg("credentials %s from %s: got %d (%s), expected %d",
			 wanted, stored, ret, error == NULL ? "" : error,
			 expect_ret);
	if (ret <= 0) {
		if (ret < 0)
			assert_non_null(error);
		return;
	}
	assert_int_equal(raw[raw_len], '\0');
	if (expect_hex != NULL) {
		string_t *hex = str_create(64);
		hex_encode(hex, raw, raw_len);
		assert_string_equal(str_c(hex), expect_hex);
		str_free(&hex);
	}
	x_free_secret(raw, raw_len);
}

static void test_credentials(void **state ATTR_UNUSED)
{
	const char *cram = "d06d4e1b26fccaa4b0b61801132340a354b21152711fb604ca3e035e7015116b";

	/* RFC 2195 CRAM-MD5 context from plaintext and from stored forms */
	get_credentials("{PLAIN}tanstaaftanstaaf", NULL, "CRAM-MD5", NULL, 1, cram);
	get_credentials("tanstaaftanstaaf", "CLEARTEXT", "cram-md5", NULL, 1, cram);
	get_credentials("{CRAM-MD5}d06d4e1b26fccaa4b0b61801132340a354b21152711fb604ca3e035e7015116b",
			NULL, "CRAM-MD5", NULL, 1, cram);
	get_credentials("{HMAC-MD5}d06d4e1b26fccaa4b0b61801132340a354b21152711fb604ca3e035e7015116b",
			NULL, "CRAM-MD5", NULL, 1, cram);
	get_credentials("{CRAM-MD5.b64}0G1OGyb8yqSwthgBEyNAo1SyEVJxH7YEyj4DXnAVEWs=",
			NULL, "HMAC-MD5", NULL, 1, cram);
	/* RFC 2831 DIGEST-MD5 */
	get_credentials("{PLAIN}secret", NULL, "DIGEST-MD5",
			"chris@elwood.innosoft.com", 1,
			"eb5a750053e4d2c34aa84bbc9b0b6ee7");
	get_credentials("{DIGEST-MD5}eb5a750053e4d2c34aa84bbc9b0b6ee7", NULL,
			"DIGEST-MD5", "chris@elwood.innosoft.com", 1,
			"eb5a750053e4d2c34aa84bbc9b0b6ee7");
	get_credentials("{PLAIN}secret", NULL, "DIGEST-MD5", NULL, -1, NULL);
	/* plaintext */
	get_credentials("{PLAIN}x", NULL, "PLAIN", NULL, 1, "78");
	get_credentials("{CLEAR}x", NULL, "PLAIN", NULL, 1, "78");
	get_credentials("x", "PLAIN", "CLEARTEXT", NULL, 1, "78");
	get_credentials("{PLAIN.hex}78", NULL, "PLAIN", NULL, 1, "78");
	get_credentials("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", NULL, "PLAIN", NULL, 0, NULL);
	get_credentials("{PLAIN-TRUNC}1-x", NULL, "PLAIN", NULL, 0, NULL);
	/* not derivable */
	get_credentials("{SHA512-CRYPT}$6$HqumxFOHbHHJth80$sG6GXIJ.46veAmdSXNVaeahx54Y3GAMDRCjw.oFOqDZtLUB1iJboJ2l8aPSaLMJlf1vBxpKw0ZuJvsKySi6QN.",
			NULL, "CRAM-MD5", NULL, 0, NULL);
	get_credentials("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", NULL, "SHA1", NULL, 1,
			"5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8");
	get_credentials("{PLAIN}x", NULL, "OTP", NULL, 0, NULL);
	get_credentials("{OTP}md5 99 TeSt 50fe1962c4965880", NULL, "OTP", NULL, 1,
			"6d643520393920546553742035306665313936326334393635383830");
	/* errors */
	get_credentials("{FOO}x", NULL, "PLAIN", NULL, -1, NULL);
	get_credentials("{PLAIN}x", NULL, "FOO", NULL, -1, NULL);
	get_credentials("{SHA}AAAA", NULL, "SHA", NULL, -1, NULL);
	get_credentials("x", NULL, "PLAIN", NULL, -1, NULL);
}

static void test_credentials_scram(void **state ATTR_UNUSED)
{
	static const char *const schemes[] = { "SCRAM-SHA-1", "SCRAM-SHA-256" };

	for (size_t i = 0; i < N_ELEMENTS(schemes); i++) {
		struct scram_credentials cred;
		unsigned char *raw;
		size_t raw_len;
		const char *error;
		char *stored;

		/* derived with a random salt: verifies against the password */
		assert_int_equal(password_get_credentials("{PLAIN}pencil", NULL,
							  schemes[i], NULL, &raw,
							  &raw_len, &error), 1);
		assert_int_equal(scram_credentials_parse(schemes[i], raw, raw_len,
							 &cred, &error), 0);
		assert_int_equal(cred.iterations, 4096);
		assert_int_equal(cred.salt_size, 16);
		assert_int_equal(cred.key_size, i == 0 ? 20 : 32);
		stored = x_printf("{%s}%s", schemes[i], (const char *)raw);
		assert_int_equal(verify_str("pencil", stored, NULL, NULL, &error), 1);
		assert_int_equal(verify_str("pencilx", stored, NULL, NULL, &error), 0);
		free(stored);
		x_free_secret(raw, raw_len);
	}
	/* RFC 5802 section 5 */
	struct scram_credentials cred;
	const char *error;
	const char *rfc = "4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=";
	assert_int_equal(scram_credentials_parse("SCRAM-SHA-1",
						 (const unsigned char *)rfc,
						 strlen(rfc), &cred, &error), 0);
	assert_int_equal(cred.salt_size, 12);
	assert_memory_equal(cred.salt, "\x41\x25\xc2\x47\xe4\x3a\xb1\xe9\x3c\x6d\xff\x76", 12);
	assert_int_equal(scram_credentials_parse("SCRAM-SHA-256",
						 (const unsigned char *)rfc,
						 strlen(rfc), &cred, &error), -1);
	assert_int_equal(scram_credentials_parse("PLAIN",
						 (const unsigned char *)rfc,
						 strlen(rfc), &cred, &error), -1);
}

static void test_cram_md5_hmac(void **state ATTR_UNUSED)
{
	/* RFC 2195 section 2 */
	const char *challenge = "<1896.697170952@postoffice.reston.mci.net>";
	unsigned char *raw, digest[16];
	size_t raw_len;
	const char *error;
	char hex[33];

	assert_int_equal(password_get_credentials("{PLAIN}tanstaaftanstaaf", NULL,
						  "CRAM-MD5", NULL, &raw,
						  &raw_len, &error), 1);
	assert_int_equal(raw_len, CRAM_MD5_CONTEXT_SIZE);
	cram_md5_hmac_from_context(raw, challenge, strlen(challenge), digest);
	hex_encode_buf(hex, sizeof(hex), digest, sizeof(digest));
	assert_string_equal(hex, "b913a602c7eda7a495b4e6e7334d3890");
	x_free_secret(raw, raw_len);
}

/* RFC 2289 appendix C */
static const struct {
	const char *algo, *passphrase, *seed;
	unsigned int seq;
	const char *hex;
} otp_tests[] = {
	{ "md4", "This is a test.", "TeSt", 0, "D1854218EBBB0B51" },
	{ "md4", "This is a test.", "TeSt", 1, "63473EF01CD0B444" },
	{ "md4", "This is a test.", "TeSt", 99, "C5E612776E6C237A" },
	{ "md4", "AbCdEfGhIjK", "alpha1", 0, "50076F47EB1ADE4E" },
	{ "md4", "AbCdEfGhIjK", "alpha1", 1, "65D20D1949B5F7AB" },
	{ "md4", "AbCdEfGhIjK", "alpha1", 99, "D150C82CCE6F62D1" },
	{ "md4", "OTP's are good", "correct", 0, "849C79D4F6F55388" },
	{ "md4", "OTP's are good", "correct", 1, "8C0992FB250847B1" },
	{ "md4", "OTP's are good", "correct", 99, "3F3BF4B4145FD74B" },
	{ "md5", "This is a test.", "TeSt", 0, "9E876134D90499DD" },
	{ "md5", "This is a test.", "TeSt", 1, "7965E05436F5029F" },
	{ "md5", "This is a test.", "TeSt", 99, "50FE1962C4965880" },
	{ "md5", "AbCdEfGhIjK", "alpha1", 0, "87066DD9644BF206" },
	{ "md5", "AbCdEfGhIjK", "alpha1", 1, "7CD34C1040ADD14B" },
	{ "md5", "AbCdEfGhIjK", "alpha1", 99, "5AA37A81F212146C" },
	{ "md5", "OTP's are good", "correct", 0, "F205753943DE4CF9" },
	{ "md5", "OTP's are good", "correct", 1, "DDCDAC956F234937" },
	{ "md5", "OTP's are good", "correct", 99, "B203E28FA525BE47" },
	{ "sha1", "This is a test.", "TeSt", 0, "BB9E6AE1979D8FF4" },
	{ "sha1", "This is a test.", "TeSt", 1, "63D936639734385B" },
	{ "sha1", "This is a test.", "TeSt", 99, "87FEC7768B73CCF9" },
	{ "sha1", "AbCdEfGhIjK", "alpha1", 0, "AD85F658EBE383C9" },
	{ "sha1", "AbCdEfGhIjK", "alpha1", 1, "D07CE229B5CF119B" },
	{ "sha1", "AbCdEfGhIjK", "alpha1", 99, "27BC71035AAF3DC6" },
	{ "sha1", "OTP's are good", "correct", 0, "D51F3E99BF8E6F0B" },
	{ "sha1", "OTP's are good", "correct", 1, "82AEB52D943774E4" },
	{ "sha1", "OTP's are good", "correct", 99, "4F296A74FE1567EC" },
};

static void test_otp_rfc2289(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(otp_tests); i++) {
		enum otp_algorithm algo;
		unsigned char result[OTP_HASH_SIZE];
		char hex[OTP_HASH_SIZE * 2 + 1];

		assert_int_equal(otp_algorithm_parse(otp_tests[i].algo, &algo), 0);
		otp_compute(algo, otp_tests[i].seed,
			    (const unsigned char *)otp_tests[i].passphrase,
			    strlen(otp_tests[i].passphrase), otp_tests[i].seq,
			    result);
		hex_encode_buf(hex, sizeof(hex), result, sizeof(result));
		for (char *p = hex; *p != '\0'; p++) {
			if (*p >= 'a' && *p <= 'f')
				*p = (char)(*p - 'a' + 'A');
		}
		if (!str_eq(hex, otp_tests[i].hex))
			fail_msg("OTP %s %s %u: %s != %s", otp_tests[i].algo,
				 otp_tests[i].seed, otp_tests[i].seq, hex,
				 otp_tests[i].hex);
	}
}

static void test_otp_state(void **state ATTR_UNUSED)
{
	struct otp_state st;
	char *formatted;

	assert_int_equal(otp_state_parse("md5 100 TeSt ccb788ab27b0683b", 29, &st), 0);
	assert_int_equal(st.algorithm, OTP_ALGORITHM_MD5);
	assert_int_equal(st.seq, 100);
	assert_string_equal(st.seed, "test");
	formatted = otp_state_format(&st);
	assert_string_equal(formatted, "md5 100 test ccb788ab27b0683b");
	free(formatted);
	/* S(99) folded once more gives the stored S(100) (mechanism check) */
	unsigned char s99[8] = { 0x50, 0xfe, 0x19, 0x62, 0xc4, 0x96, 0x58, 0x80 };
	unsigned char next[8];
	otp_fold_hash(OTP_ALGORITHM_MD5, s99, sizeof(s99), next);
	assert_memory_equal(next, st.hash, 8);

	assert_int_equal(otp_state_parse("md5 100 TeSt ccb788ab27b0683b", 20, &st), -1);
	assert_int_equal(otp_state_parse("", 0, &st), -1);
	assert_int_equal(otp_state_parse("sha1", 4, &st), -1);
	assert_int_equal(otp_state_parse("sha1 1", 6, &st), -1);
	assert_int_equal(otp_state_parse("sha1 1 x", 8, &st), -1);
	assert_int_equal(otp_state_parse("sha1 1 x 0011223344556677", 25, &st), 0);
	assert_int_equal(otp_state_parse("sha1 1 x 0011223344556677 ", 26, &st), 0);
	assert_int_equal(otp_state_parse("sha1 1 x 0011223344556677 z", 27, &st), -1);
	assert_int_equal(otp_state_parse("sha1 1 x\0000011223344556677", 25, &st), -1);
}

/* Concurrent verification from several threads (the auth worker pool):
   errors and results must not leak between threads. */
#define THREAD_COUNT 4
#define THREAD_ITERATIONS 20

static void *verify_thread(void *context)
{
	uintptr_t id = (uintptr_t)context;
	uintptr_t failures = 0;

	for (unsigned int i = 0; i < THREAD_ITERATIONS; i++) {
		const char *error = NULL;
		int ret;

		if ((id + i) % 2 == 0) {
			ret = verify_str("password", "{SHA512-CRYPT}$6$HqumxFOHbHHJth80$sG6GXIJ.46veAmdSXNVaeahx54Y3GAMDRCjw.oFOqDZtLUB1iJboJ2l8aPSaLMJlf1vBxpKw0ZuJvsKySi6QN.",
					 NULL, NULL, &error);
			if (ret != 1)
				failures++;
		} else {
			char stored[32];

			snprintf(stored, sizeof(stored), "{BAD%u}x",
				 (unsigned int)id);
			ret = verify_str("x", stored, NULL, NULL, &error);
			char expect[32];
			snprintf(expect, sizeof(expect), "Unknown scheme: BAD%u",
				 (unsigned int)id);
			if (ret != -1 || !str_eq(error, expect))
				failures++;
		}
	}
	return (void *)failures;
}

static void test_threads(void **state ATTR_UNUSED)
{
	pthread_t threads[THREAD_COUNT];
	void *result;

	for (uintptr_t i = 0; i < THREAD_COUNT; i++) {
		assert_int_equal(pthread_create(&threads[i], NULL,
						verify_thread, (void *)i), 0);
	}
	for (unsigned int i = 0; i < THREAD_COUNT; i++) {
		assert_int_equal(pthread_join(threads[i], &result), 0);
		assert_int_equal((uintptr_t)result, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tsv_vectors),
		cmocka_unit_test(test_tsv_vectors_decode),
		cmocka_unit_test(test_roundtrip_all_schemes),
		cmocka_unit_test(test_roundtrip_variants),
		cmocka_unit_test(test_generate_errors),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test(test_nul_in_password),
		cmocka_unit_test(test_split_scheme),
		cmocka_unit_test(test_scheme_names),
		cmocka_unit_test(test_is_slow),
		cmocka_unit_test(test_credentials),
		cmocka_unit_test(test_credentials_scram),
		cmocka_unit_test(test_cram_md5_hmac),
		cmocka_unit_test(test_otp_rfc2289),
		cmocka_unit_test(test_otp_state),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, tsv_load, tsv_free);
}
