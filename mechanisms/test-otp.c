/* OTP (RFC 2444 / RFC 2289): the RFC 2289 appendix C vectors (hex and six
   words) for md4/md5/sha1, the six-word dictionary and checksum, and the
   mechanism against roost-auth in this process, with a small writable
   passdb driver defined here ("otp-test": the stored state lives in a
   variable, set_credentials replaces it). Every failure must FAIL with
   its reason in the log and release the user's OTP lock. */
#include "lib.h"
#include "str.h"
#include "base64.h"
#include "hex.h"
#include "log.h"
#include "pool.h"
#include "otp.h"
#include "otp-words.h"
#include "passdb.h"
#include "auth-request.h"
#include "auth.h"
#include "auth-client-connection.h"
#include "auth-settings.h"
#include "roost-settings.h"
#include "test-harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>
#include <fcntl.h>
#include <event2/event.h>
#include <setjmp.h>
#include <cmocka.h>

#define PASS1 "This is a test."
/* S(100) of PASS1 with seed TeSt (md5): spec/mechanisms.md */
#define ALICE_STORED "{OTP}md5 100 TeSt ccb788ab27b0683b"

/* ---- RFC 2289 appendix C ------------------------------------------------ */

static const struct {
	enum otp_algorithm algorithm;
	const char *passphrase, *seed;
	unsigned int seq;
	const char *hex, *words;
} rfc_vectors[] = {
	{ OTP_ALGORITHM_MD4, PASS1, "TeSt", 0, "D185 4218 EBBB 0B51", "ROME MUG FRED SCAN LIVE LACE" },
	{ OTP_ALGORITHM_MD4, PASS1, "TeSt", 1, "6347 3EF0 1CD0 B444", "CARD SAD MINI RYE COL KIN" },
	{ OTP_ALGORITHM_MD4, PASS1, "TeSt", 99, "C5E6 1277 6E6C 237A", "NOTE OUT IBIS SINK NAVE MODE" },
	{ OTP_ALGORITHM_MD4, "AbCdEfGhIjK", "alpha1", 0, "5007 6F47 EB1A DE4E", "AWAY SEN ROOK SALT LICE MAP" },
	{ OTP_ALGORITHM_MD4, "AbCdEfGhIjK", "alpha1", 1, "65D2 0D19 49B5 F7AB", "CHEW GRIM WU HANG BUCK SAID" },
	{ OTP_ALGORITHM_MD4, "AbCdEfGhIjK", "alpha1", 99, "D150 C82C CE6F 62D1", "ROIL FREE COG HUNK WAIT COCA" },
	{ OTP_ALGORITHM_MD4, "OTP's are good", "correct", 0, "849C 79D4 F6F5 5388", "FOOL STEM DONE TOOL BECK NILE" },
	{ OTP_ALGORITHM_MD4, "OTP's are good", "correct", 1, "8C09 92FB 2508 47B1", "GIST AMOS MOOT AIDS FOOD SEEM" },
	{ OTP_ALGORITHM_MD4, "OTP's are good", "correct", 99, "3F3B F4B4 145F D74B", "TAG SLOW NOV MIN WOOL KENO" },
	{ OTP_ALGORITHM_MD5, PASS1, "TeSt", 0, "9E87 6134 D904 99DD", "INCH SEA ANNE LONG AHEM TOUR" },
	{ OTP_ALGORITHM_MD5, PASS1, "TeSt", 1, "7965 E054 36F5 029F", "EASE OIL FUM CURE AWRY AVIS" },
	{ OTP_ALGORITHM_MD5, PASS1, "TeSt", 99, "50FE 1962 C496 5880", "BAIL TUFT BITS GANG CHEF THY" },
	{ OTP_ALGORITHM_MD5, "AbCdEfGhIjK", "alpha1", 0, "8706 6DD9 644B F206", "FULL PEW DOWN ONCE MORT ARC" },
	{ OTP_ALGORITHM_MD5, "AbCdEfGhIjK", "alpha1", 1, "7CD3 4C10 40AD D14B", "FACT HOOF AT FIST SITE KENT" },
	{ OTP_ALGORITHM_MD5, "AbCdEfGhIjK", "alpha1", 99, "5AA3 7A81 F212 146C", "BODE HOP JAKE STOW JUT RAP" },
	{ OTP_ALGORITHM_MD5, "OTP's are good", "correct", 0, "F205 7539 43DE 4CF9", "ULAN NEW ARMY FUSE SUIT EYED" },
	{ OTP_ALGORITHM_MD5, "OTP's are good", "correct", 1, "DDCD AC95 6F23 4937", "SKIM CULT LOB SLAM POE HOWL" },
	{ OTP_ALGORITHM_MD5, "OTP's are good", "correct", 99, "B203 E28F A525 BE47", "LONG IVY JULY AJAR BOND LEE" },
	{ OTP_ALGORITHM_SHA1, PASS1, "TeSt", 0, "BB9E 6AE1 979D 8FF4", "MILT VARY MAST OK SEES WENT" },
	{ OTP_ALGORITHM_SHA1, PASS1, "TeSt", 1, "63D9 3663 9734 385B", "CART OTTO HIVE ODE VAT NUT" },
	{ OTP_ALGORITHM_SHA1, PASS1, "TeSt", 99, "87FE C776 8B73 CCF9", "GAFF WAIT SKID GIG SKY EYED" },
	{ OTP_ALGORITHM_SHA1, "AbCdEfGhIjK", "alpha1", 0, "AD85 F658 EBE3 83C9", "LEST OR HEEL SCOT ROB SUIT" },
	{ OTP_ALGORITHM_SHA1, "AbCdEfGhIjK", "alpha1", 1, "D07C E229 B5CF 119B", "RITE TAKE GELD COST TUNE RECK" },
	{ OTP_ALGORITHM_SHA1, "AbCdEfGhIjK", "alpha1", 99, "27BC 7103 5AAF 3DC6", "MAY STAR TIN LYON VEDA STAN" },
	{ OTP_ALGORITHM_SHA1, "OTP's are good", "correct", 0, "D51F 3E99 BF8E 6F0B", "RUST WELT KICK FELL TAIL FRAU" },
	{ OTP_ALGORITHM_SHA1, "OTP's are good", "correct", 1, "82AE B52D 9437 74E4", "FLIT DOSE ALSO MEW DRUM DEFY" },
	{ OTP_ALGORITHM_SHA1, "OTP's are good", "correct", 99, "4F29 6A74 FE15 67EC", "AURA ALOE HURL WING BERG WAIT" },
};

/* "D185 4218 EBBB 0B51" -> bytes */
static void hex_spaced_decode(const char *text, unsigned char hash_r[OTP_HASH_SIZE])
{
	char hex[OTP_HASH_SIZE * 2];
	size_t len = 0, size;

	for (; *text != '\0'; text++) {
		if (*text != ' ') {
			assert_true(len < sizeof(hex));
			hex[len++] = *text;
		}
	}
	assert_int_equal(len, sizeof(hex));
	assert_int_equal(hex_decode_buf(hex, len, hash_r, OTP_HASH_SIZE, &size), 0);
}

static char *otp_hex(const unsigned char hash[OTP_HASH_SIZE])
{
	char *hex = x_malloc(OTP_HASH_SIZE * 2 + 1);
	hex_encode_buf(hex, OTP_HASH_SIZE * 2 + 1, hash, OTP_HASH_SIZE);
	return hex;
}

static char *otp_words(const unsigned char hash[OTP_HASH_SIZE])
{
	string_t *str = str_create(32);
	otp_words_encode(hash, str);
	return str_free_without_data(&str);
}

static void test_rfc2289_vectors(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(rfc_vectors); i++) {
		unsigned char hash[OTP_HASH_SIZE], expected[OTP_HASH_SIZE];
		unsigned char decoded[OTP_HASH_SIZE];
		const char *error;

		otp_compute(rfc_vectors[i].algorithm, rfc_vectors[i].seed,
			    (const unsigned char *)rfc_vectors[i].passphrase,
			    strlen(rfc_vectors[i].passphrase), rfc_vectors[i].seq, hash);
		hex_spaced_decode(rfc_vectors[i].hex, expected);
		if (memcmp(hash, expected, sizeof(hash)) != 0) {
			char *hex = otp_hex(hash);
			fail_msg("vector %zu: got %s, expected %s", i, hex, rfc_vectors[i].hex);
		}
		char *words = otp_words(hash);
		if (strcmp(words, rfc_vectors[i].words) != 0)
			fail_msg("vector %zu: got %s, expected %s", i, words, rfc_vectors[i].words);
		free(words);

		/* decoding: the words as given, lower case, extra whitespace */
		assert_int_equal(otp_words_decode(rfc_vectors[i].words,
						  strlen(rfc_vectors[i].words),
						  decoded, &error), 0);
		assert_memory_equal(decoded, expected, sizeof(decoded));
		string_t *lower = str_create(64);
		str_append(lower, " \t");
		for (const char *p = rfc_vectors[i].words; *p != '\0'; p++) {
			if (*p == ' ')
				str_append(lower, "  \t");
			else
				str_append_c(lower, (char)(*p - 'A' + 'a'));
		}
		str_append(lower, "\t ");
		memset(decoded, 0, sizeof(decoded));
		assert_int_equal(otp_words_decode(str_c(lower), str_len(lower),
						  decoded, &error), 0);
		assert_memory_equal(decoded, expected, sizeof(decoded));
		str_free(&lower);
	}
}

/* ---- the dictionary ----------------------------------------------------- */

static void test_dictionary(void **state ATTR_UNUSED)
{
	unsigned int short_count = 0;
	char lower[OTP_WORD_MAX_LEN + 1];

	/* RFC 2289 appendix D: 2048 words, the short ones first, each group
	   in strictly ascending order; every word finds its own index, in
	   any case */
	for (unsigned int i = 0; i < OTP_WORDS_DICTIONARY_SIZE; i++) {
		const char *word = otp_word(i);
		size_t len = strlen(word);

		assert_true(len >= 1 && len <= OTP_WORD_MAX_LEN);
		if (len < OTP_WORD_MAX_LEN) {
			assert_int_equal(short_count, i);
			short_count++;
		}
		if (i > 0 && (strlen(otp_word(i - 1)) < OTP_WORD_MAX_LEN) ==
		    (len < OTP_WORD_MAX_LEN))
			assert_true(strcmp(otp_word(i - 1), word) < 0);
		assert_int_equal(otp_word_find(word, len), (int)i);
		for (size_t k = 0; k <= len; k++)
			lower[k] = word[k] >= 'A' && word[k] <= 'Z' ?
				(char)(word[k] - 'A' + 'a') : word[k];
		assert_int_equal(otp_word_find(lower, len), (int)i);
	}
	assert_int_equal(short_count, 571);
	assert_string_equal(otp_word(0), "A");
	assert_string_equal(otp_word(570), "YOU");
	assert_string_equal(otp_word(571), "ABED");
	assert_string_equal(otp_word(2047), "YOKE");

	assert_int_equal(otp_word_find("", 0), -1);
	assert_int_equal(otp_word_find("ABCDE", 5), -1);
	assert_int_equal(otp_word_find("QQQ", 3), -1);
	assert_int_equal(otp_word_find("A1", 2), -1);
	assert_int_equal(otp_word_find("AB\0E", 4), -1);
	/* length bounds the lookup: "ABED" is found, "ABE" too, "ABEDX" not */
	assert_int_equal(otp_word_find("ABEDX", 4), 571);
	assert_int_equal(otp_word_find("ABEDX", 3), 1);
}

static void test_checksum_and_round_trip(void **state ATTR_UNUSED)
{
	static const unsigned char zero[OTP_HASH_SIZE] = { 0 };
	static const unsigned char ones[OTP_HASH_SIZE] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	unsigned char hash[OTP_HASH_SIZE], decoded[OTP_HASH_SIZE];
	const char *error;

	/* 32 pairs of value 3 = 96, mod 4 = 0; one pair of 1 -> 1 */
	assert_int_equal(otp_words_checksum(zero), 0);
	assert_int_equal(otp_words_checksum(ones), 0);
	memset(hash, 0, sizeof(hash));
	hash[7] = 0x01;
	assert_int_equal(otp_words_checksum(hash), 1);
	hash[0] = 0xc0;
	assert_int_equal(otp_words_checksum(hash), 0);
	hash[3] = 0x22;
	assert_int_equal(otp_words_checksum(hash), 0);
	hash[3] = 0x23;
	assert_int_equal(otp_words_checksum(hash), 1);
	hash[3] = 0x27;
	assert_int_equal(otp_words_checksum(hash), 2);
	/* all zero bits: word 0 six times */
	char *words = otp_words(zero);
	assert_string_equal(words, "A A A A A A");
	free(words);

	srand(2289);
	for (unsigned int n = 0; n < 2000; n++) {
		for (size_t i = 0; i < sizeof(hash); i++)
			hash[i] = (unsigned char)rand();
		words = otp_words(hash);
		memset(decoded, 0, sizeof(decoded));
		assert_int_equal(otp_words_decode(words, strlen(words), decoded, &error), 0);
		assert_memory_equal(decoded, hash, sizeof(hash));
		/* the last word holds the 2 checksum bits: flipping its lowest
		   bit breaks the checksum and nothing else */
		const char *last = strrchr(words, ' ') + 1;
		int index = otp_word_find(last, strlen(last));
		assert_true(index >= 0);
		string_t *bad = str_create(40);
		str_append_n(bad, words, (size_t)(last - words));
		str_append(bad, otp_word((unsigned int)index ^ 1));
		assert_int_equal(otp_words_decode(str_c(bad), str_len(bad), decoded, &error), -1);
		assert_string_equal(error, "six-word checksum mismatch");
		str_free(&bad);
		free(words);
	}

	static const struct {
		const char *input;
		const char *error;
	} bad[] = {
		{ "", "fewer than six words" },
		{ "   ", "fewer than six words" },
		{ "BAIL TUFT BITS GANG CHEF", "fewer than six words" },
		{ "BAIL TUFT BITS GANG CHEF THY THY", "more than six words" },
		{ "BAIL TUFT BITS GANG CHEF XYZZY", "word not in the RFC 2289 standard dictionary" },
		{ "BAIL TUFT BITS GANG CHEF QQQ", "word not in the RFC 2289 standard dictionary" },
		{ "BAIL TUFT BITS GANG CHEF TH1", "word not in the RFC 2289 standard dictionary" },
		{ "BAIL,TUFT BITS GANG CHEF THY", "word not in the RFC 2289 standard dictionary" },
		{ "BAIL TUFT BITS GANG CHEF\nTHY", "word not in the RFC 2289 standard dictionary" },
		{ "BAIL TUFT BITS GANG CHEF THE", "six-word checksum mismatch" },
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		error = NULL;
		if (otp_words_decode(bad[i].input, strlen(bad[i].input), decoded, &error) != -1)
			fail_msg("decoded invalid words: '%s'", bad[i].input);
		if (strstr(error, bad[i].error) == NULL)
			fail_msg("'%s': expected error '%s', got '%s'", bad[i].input,
				 bad[i].error, error);
	}
	/* truncated input: only the first len bytes count */
	const char *full = "BAIL TUFT BITS GANG CHEF THY";
	assert_int_equal(otp_words_decode(full, strlen(full) - 1, decoded, &error), -1);
	assert_int_equal(otp_words_decode(full, strlen(full), decoded, &error), 0);
}

/* ---- a writable passdb for the tests ------------------------------------ */

#define TEST_USERS 2
static const char *const test_user_names[TEST_USERS] = { "alice", "bob" };
static char *test_stored[TEST_USERS];   /* "{OTP}...", malloc()ed or NULL */
static bool test_store_fails;
static unsigned int test_store_count;

static int test_user_index(const char *user)
{
	for (int i = 0; i < TEST_USERS; i++) {
		if (strcasecmp(user, test_user_names[i]) == 0)
			return i;
	}
	return -1;
}

static void test_set_stored(unsigned int idx, const char *value)
{
	free(test_stored[idx]);
	test_stored[idx] = value == NULL ? NULL : x_strdup(value);
}

static int otp_test_preinit(struct pool *pool, const char *args ATTR_UNUSED,
			    struct passdb_module **module_r,
			    const char **error_r ATTR_UNUSED)
{
	struct passdb_module *module = pool_alloc(pool, sizeof(*module));

	module->default_pass_scheme = "PLAIN";
	*module_r = module;
	return 0;
}

static void otp_test_lookup_credentials(struct passdb_module *module ATTR_UNUSED,
					struct auth_request *request,
					passdb_lookup_callback_t *callback)
{
	int idx = test_user_index(request->user);

	if (idx < 0 || test_stored[idx] == NULL)
		callback(request, PASSDB_RESULT_USER_UNKNOWN, NULL);
	else
		callback(request, PASSDB_RESULT_OK, test_stored[idx]);
}

static void otp_test_set_credentials(struct passdb_module *module ATTR_UNUSED,
				     struct auth_request *request,
				     const char *credentials,
				     passdb_set_credentials_callback_t *callback)
{
	int idx = test_user_index(request->user);

	assert_true(idx >= 0);
	test_store_count++;
	if (test_store_fails) {
		auth_request_log_error(request, "otp-test: simulated update failure");
		callback(request, false);
		return;
	}
	test_set_stored((unsigned int)idx, credentials);
	callback(request, true);
}

static const struct passdb_driver otp_test_driver = {
	.name = "otp-test",
	.available = true,
	.preinit = otp_test_preinit,
	.lookup_credentials = otp_test_lookup_credentials,
	.set_credentials = otp_test_set_credentials,
};

/* ---- harness ------------------------------------------------------------ */

static int log_fd = -1;

static void open_log(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/log", tmpdir);
	log_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600);
	assert_true(log_fd >= 0);
	log_set_fd(log_fd);
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

static void handshake(struct harness *h)
{
	harness_connect(h, false, false);
	harness_send(h, "VERSION\t1\t2\nCPID\t42\n", false);
	free(harness_take(h));
}

/* As harness_init(), but the passdb is the otp-test driver: the settings
   only accept the drivers roost ships, so the config names "static" and
   the driver is swapped before the auth instance is built. */
static void otp_harness_init(struct harness *h)
{
	const char *error;
	char *conf = x_printf(
		"base_dir = %s/run\n"
		"auth_mechanisms = otp plain\n"
		"auth_failure_delay = 0\n"
		"disable_plaintext_auth = no\n"
		"passdb {\n driver = static\n args = password=unused\n}\n"
		"userdb {\n driver = static\n args = uid=500 gid=500 home=/home/%%u\n}\n",
		tmpdir);

	memset(h, 0, sizeof(*h));
	h->err_pool = pool_create("errors", 256);
	if (roost_settings_read_string(conf, "test.conf", &h->set, h->err_pool, &error) < 0)
		fail_msg("config: %s", error);
	free(conf);
	assert_int_equal(h->set->auth->passdbs.count, 1);
	h->set->auth->passdbs.v[0]->driver = "otp-test";
	h->set->auth->passdbs.v[0]->args = "";
	h->base = event_base_new();
	if (auth_create(h->base, h->set, &h->auth, &error) < 0)
		fail_msg("auth_create: %s", error);
	auth_client_connections_init(h->auth);
	h->out = str_create(1024);
	handshake(h);
	open_log();
}

/* passwd-file (read-only: no set_credentials) with the users file, then
   the writable otp-test driver (alone, passwd-file could not serve OTP:
   auth_create refuses that, see test_readonly_only_refused). */
static void readonly_harness_init(struct harness *h, const char *users)
{
	const char *error;
	write_file("otp-users", users);
	char *conf = x_printf(
		"base_dir = %s/run\n"
		"auth_mechanisms = otp\n"
		"auth_failure_delay = 0\n"
		"passdb {\n driver = passwd-file\n args = %s/otp-users\n}\n"
		"passdb {\n driver = static\n args = password=unused\n}\n"
		"userdb {\n driver = static\n args = uid=500 gid=500 home=/home/%%u\n}\n",
		tmpdir, tmpdir);
	memset(h, 0, sizeof(*h));
	h->err_pool = pool_create("errors", 256);
	if (roost_settings_read_string(conf, "test.conf", &h->set, h->err_pool, &error) < 0)
		fail_msg("config: %s", error);
	free(conf);
	assert_int_equal(h->set->auth->passdbs.count, 2);
	h->set->auth->passdbs.v[1]->driver = "otp-test";
	h->set->auth->passdbs.v[1]->args = "";
	h->base = event_base_new();
	if (auth_create(h->base, h->set, &h->auth, &error) < 0)
		fail_msg("auth_create: %s", error);
	auth_client_connections_init(h->auth);
	h->out = str_create(1024);
	handshake(h);
	open_log();
}

static void otp_harness_deinit(struct harness *h)
{
	harness_deinit(h);
	log_set_fd(2);
	close(log_fd);
	log_fd = -1;
	for (unsigned int i = 0; i < TEST_USERS; i++)
		test_set_stored(i, NULL);
	test_store_fails = false;
}

/* AUTH with the initial response data[0..size) */
static void send_auth(struct harness *h, unsigned int id, const void *data, size_t size)
{
	char *resp = test_b64(data, size);
	char *line = x_printf("AUTH\t%u\tOTP\tservice=imap\tresp=%s\n", id, resp);
	harness_send(h, line, false);
	free(line);
	free(resp);
}

static void send_identity(struct harness *h, unsigned int id, const char *authcid)
{
	char buf[128];
	size_t len = strlen(authcid);

	assert_true(len + 1 < sizeof(buf));
	buf[0] = '\0';
	memcpy(buf + 1, authcid, len);
	send_auth(h, id, buf, len + 1);
}

/* Expect "CONT\t<id>\t<base64>\n" in out; returns the decoded text
   (malloc()ed). */
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

static void expect_challenge(struct harness *h, unsigned int id, const char *challenge)
{
	char *out = harness_take(h);
	char *got = expect_cont(out, id);
	if (strcmp(got, challenge) != 0)
		fail_msg("expected challenge '%s', got '%s'", challenge, got);
	free(got);
	free(out);
}

/* AUTH as user and check the challenge */
static void start_exchange(struct harness *h, unsigned int id, const char *user,
			   const char *challenge)
{
	send_identity(h, id, user);
	expect_challenge(h, id, challenge);
}

static void send_response(struct harness *h, unsigned int id, const char *text)
{
	char *out = harness_cont(h, id, text, strlen(text));
	str_append(h->out, out);
	free(out);
}

static void expect_ok(struct harness *h, unsigned int id, const char *user)
{
	char *out = harness_take(h);
	char *expect = x_printf("OK\t%u\tuser=%s\n", id, user);
	if (strcmp(out, expect) != 0) {
		char *log = log_take();
		fail_msg("expected %s got %s (log: %s)", expect, out, log);
	}
	free(expect);
	free(out);
	free(log_take());
}

/* FAIL line equal to expect_line, and reason in the log */
static void expect_fail_line(struct harness *h, const char *expect_line, const char *reason)
{
	char *out = harness_take(h);
	if (strcmp(out, expect_line) != 0)
		fail_msg("expected %s got %s (reason %s)", expect_line, out, reason);
	free(out);
	char *log = log_take();
	if (strstr(log, reason) == NULL)
		fail_msg("expected log reason '%s' in: %s", reason, log);
	free(log);
}

static void expect_fail(struct harness *h, unsigned int id, const char *user,
			const char *reason)
{
	char *expect = user == NULL ? x_printf("FAIL\t%u\n", id) :
		x_printf("FAIL\t%u\tuser=%s\n", id, user);
	expect_fail_line(h, expect, reason);
	free(expect);
}

static void expect_temp_fail(struct harness *h, unsigned int id, const char *user,
			     const char *reason)
{
	char *expect = x_printf("FAIL\t%u\tuser=%s\tcode=temp_fail\treason=Temporary "
				"authentication failure, try again later\n", id, user);
	expect_fail_line(h, expect, reason);
	free(expect);
}

/* S(seq) as "hex:..." / "word:..." responses (malloc()ed) */
static char *hex_response(const char *prefix, enum otp_algorithm algorithm,
			  const char *seed, const char *passphrase, unsigned int seq)
{
	unsigned char hash[OTP_HASH_SIZE];
	otp_compute(algorithm, seed, (const unsigned char *)passphrase,
		    strlen(passphrase), seq, hash);
	char *hex = otp_hex(hash);
	char *ret = x_printf("%s%s", prefix, hex);
	free(hex);
	return ret;
}

static char *word_response(const char *prefix, enum otp_algorithm algorithm,
			   const char *seed, const char *passphrase, unsigned int seq)
{
	unsigned char hash[OTP_HASH_SIZE];
	otp_compute(algorithm, seed, (const unsigned char *)passphrase,
		    strlen(passphrase), seq, hash);
	char *words = otp_words(hash);
	char *ret = x_printf("%s%s", prefix, words);
	free(words);
	return ret;
}

static char *stored_state(enum otp_algorithm algorithm, const char *seed,
			  const char *passphrase, unsigned int seq)
{
	unsigned char hash[OTP_HASH_SIZE];
	otp_compute(algorithm, seed, (const unsigned char *)passphrase,
		    strlen(passphrase), seq, hash);
	char *hex = otp_hex(hash);
	char *ret = x_printf("{OTP}%s %u %s %s", otp_algorithm_name(algorithm),
			     seq, seed, hex);
	free(hex);
	return ret;
}

/* ---- end to end --------------------------------------------------------- */

static void test_handshake(void **state ATTR_UNUSED)
{
	struct harness h;
	otp_harness_init(&h);
	harness_connect(&h, false, false);
	harness_run(&h);
	char *out = harness_take(&h);
	/* Dovecot: MECH_SEC_DICTIONARY | MECH_SEC_ACTIVE */
	assert_contains(out, "MECH\tOTP\tdictionary\tactive\n");
	free(out);
	otp_harness_deinit(&h);
}

static void test_hex_and_words(void **state ATTR_UNUSED)
{
	struct harness h;
	otp_harness_init(&h);
	test_set_stored(0, ALICE_STORED);
	test_store_count = 0;

	/* spec example: seq 100 stored, challenge 99, the seed as Dovecot
	   sends it (lower-cased) */
	start_exchange(&h, 1, "alice", "otp-md5 99 test ext");
	send_response(&h, 1, "hex:50FE 1962 C496 5880");
	expect_ok(&h, 1, "alice");
	assert_string_equal(test_stored[0], "{OTP}md5 99 test 50fe1962c4965880");
	assert_int_equal(test_store_count, 1);

	/* next: 98, answered with words (mixed case, type prefix in any case) */
	start_exchange(&h, 2, "alice", "otp-md5 98 test ext");
	char *resp = word_response("WORD:", OTP_ALGORITHM_MD5, "TeSt", PASS1, 98);
	for (char *p = resp + 5; *p != '\0'; p += 2) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
		if (p[1] == '\0')
			break;
	}
	send_response(&h, 2, resp);
	expect_ok(&h, 2, "alice");
	char *expect = stored_state(OTP_ALGORITHM_MD5, "test", PASS1, 98);
	assert_string_equal(test_stored[0], expect);
	free(expect);

	/* replay of the OTP just used: the stored state moved on */
	start_exchange(&h, 3, "alice", "otp-md5 97 test ext");
	send_response(&h, 3, resp);
	expect_fail(&h, 3, "alice", "OTP: response mismatch (otp-md5 sequence 97)");
	free(resp);
	/* replay of the first one, as hex */
	start_exchange(&h, 4, "alice", "otp-md5 97 test ext");
	send_response(&h, 4, "hex:50fe1962c4965880");
	expect_fail(&h, 4, "alice", "response mismatch");
	/* a wrong passphrase */
	start_exchange(&h, 5, "alice", "otp-md5 97 test ext");
	resp = hex_response("hex:", OTP_ALGORITHM_MD5, "test", "This is a test!", 97);
	send_response(&h, 5, resp);
	free(resp);
	expect_fail(&h, 5, "alice", "response mismatch");
	/* the right one still works after the failures */
	start_exchange(&h, 6, "alice", "otp-md5 97 test ext");
	resp = word_response("word:", OTP_ALGORITHM_MD5, "test", PASS1, 97);
	send_response(&h, 6, resp);
	free(resp);
	expect_ok(&h, 6, "alice");
	assert_int_equal(test_store_count, 3);

	/* no initial response: empty challenge, then the identity */
	harness_send(&h, "AUTH\t7\tOTP\tservice=imap\n", false);
	char *out = harness_take(&h);
	assert_string_equal(out, "CONT\t7\t\n");
	free(out);
	out = harness_cont(&h, 7, "\0alice", 6);
	char *challenge = expect_cont(out, 7);
	assert_string_equal(challenge, "otp-md5 96 test ext");
	free(challenge);
	free(out);
	resp = hex_response("hex:", OTP_ALGORITHM_MD5, "test", PASS1, 96);
	send_response(&h, 7, resp);
	free(resp);
	expect_ok(&h, 7, "alice");

	/* authzid equal to authcid is no login as another user; a trailing
	   NUL field is ignored (Dovecot) */
	send_auth(&h, 8, "alice\0alice\0", 12);
	expect_challenge(&h, 8, "otp-md5 95 test ext");
	resp = hex_response("Hex:", OTP_ALGORITHM_MD5, "test", PASS1, 95);
	send_response(&h, 8, resp);
	free(resp);
	expect_ok(&h, 8, "alice");
	otp_harness_deinit(&h);
}

/* Every algorithm: stored S(100), answered with the RFC's S(99) words. */
static void test_algorithms(void **state ATTR_UNUSED)
{
	struct harness h;
	otp_harness_init(&h);
	unsigned int id = 1;
	for (size_t i = 0; i < N_ELEMENTS(rfc_vectors); i++) {
		if (rfc_vectors[i].seq != 99)
			continue;
		char *stored = stored_state(rfc_vectors[i].algorithm, rfc_vectors[i].seed,
					    rfc_vectors[i].passphrase, 100);
		test_set_stored(1, stored);
		free(stored);
		char *lower_seed = x_strdup(rfc_vectors[i].seed);
		for (char *p = lower_seed; *p != '\0'; p++) {
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		}
		char *challenge = x_printf("otp-%s 99 %s ext",
			otp_algorithm_name(rfc_vectors[i].algorithm), lower_seed);
		start_exchange(&h, id, "bob", challenge);
		char *resp = x_printf("word:%s", rfc_vectors[i].words);
		send_response(&h, id, resp);
		expect_ok(&h, id, "bob");
		id++;
		/* the stored hash is now the RFC's S(99) */
		unsigned char expected[OTP_HASH_SIZE];
		hex_spaced_decode(rfc_vectors[i].hex, expected);
		char *hex = otp_hex(expected);
		char *expect = x_printf("{OTP}%s 99 %s %s",
			otp_algorithm_name(rfc_vectors[i].algorithm), lower_seed, hex);
		assert_string_equal(test_stored[1], expect);
		free(expect);
		free(hex);
		free(resp);
		free(challenge);
		free(lower_seed);
	}
	otp_harness_deinit(&h);
}

static void test_init_responses(void **state ATTR_UNUSED)
{
	struct harness h;
	otp_harness_init(&h);
	test_set_stored(0, ALICE_STORED);

	/* init-hex: current OTP, new parameters, the new chain's S(500) */
	start_exchange(&h, 1, "alice", "otp-md5 99 test ext");
	char *new_otp = hex_response("", OTP_ALGORITHM_SHA1, "NewSeed7", "another passphrase", 500);
	char *resp = x_printf("init-hex:50FE 1962 C496 5880:SHA1 500 NewSeed7:%s", new_otp);
	send_response(&h, 1, resp);
	free(resp);
	expect_ok(&h, 1, "alice");
	char *expect = x_printf("{OTP}sha1 500 newseed7 %s", new_otp);
	assert_string_equal(test_stored[0], expect);
	free(expect);
	free(new_otp);

	/* the new chain is in use */
	start_exchange(&h, 2, "alice", "otp-sha1 499 newseed7 ext");
	resp = hex_response("hex:", OTP_ALGORITHM_SHA1, "newseed7", "another passphrase", 499);
	send_response(&h, 2, resp);
	free(resp);
	expect_ok(&h, 2, "alice");

	/* init-word, with whitespace around the parts, to an md4 chain */
	start_exchange(&h, 3, "alice", "otp-sha1 498 newseed7 ext");
	char *cur = word_response("", OTP_ALGORITHM_SHA1, "newseed7", "another passphrase", 498);
	new_otp = word_response("", OTP_ALGORITHM_MD4, "abc", "third passphrase", 20);
	resp = x_printf("INIT-WORD: %s : md4\t20 ABC :\t%s ", cur, new_otp);
	send_response(&h, 3, resp);
	free(resp);
	free(cur);
	free(new_otp);
	expect_ok(&h, 3, "alice");
	expect = stored_state(OTP_ALGORITHM_MD4, "abc", "third passphrase", 20);
	assert_string_equal(test_stored[0], expect);
	free(expect);
	start_exchange(&h, 4, "alice", "otp-md4 19 abc ext");
	resp = word_response("word:", OTP_ALGORITHM_MD4, "abc", "third passphrase", 19);
	send_response(&h, 4, resp);
	free(resp);
	expect_ok(&h, 4, "alice");

	/* init with a wrong current OTP changes nothing */
	char *before = x_strdup(test_stored[0]);
	start_exchange(&h, 5, "alice", "otp-md4 18 abc ext");
	new_otp = hex_response("", OTP_ALGORITHM_MD5, "xyz", "fourth passphrase", 50);
	resp = x_printf("init-hex:0123456789abcdef:md5 50 xyz:%s", new_otp);
	send_response(&h, 5, resp);
	free(resp);
	free(new_otp);
	expect_fail(&h, 5, "alice", "response mismatch (otp-md4 sequence 18)");
	assert_string_equal(test_stored[0], before);
	free(before);
	otp_harness_deinit(&h);
}

static void test_lock(void **state ATTR_UNUSED)
{
	struct harness h;
	otp_harness_init(&h);
	test_set_stored(0, ALICE_STORED);
	char *bob = stored_state(OTP_ALGORITHM_SHA1, "bobseed", "bob's passphrase", 10);
	test_set_stored(1, bob);
	free(bob);

	start_exchange(&h, 1, "alice", "otp-md5 99 test ext");
	/* RFC 2289 9.0: a second exchange for the same user is refused
	   (user names compare case-insensitively, as in Dovecot) */
	send_identity(&h, 2, "alice");
	expect_fail(&h, 2, "alice", "OTP: user is locked: another OTP exchange for "
		    "alice is in progress (race attack?)");
	/* (the default auth_username_format %Lu lower-cases the name) */
	send_identity(&h, 3, "ALICE");
	expect_fail(&h, 3, "alice", "user is locked");
	/* other users are not affected */
	start_exchange(&h, 4, "bob", "otp-sha1 9 bobseed ext");
	/* the first exchange completes; the lock goes with it */
	send_response(&h, 1, "hex:50FE 1962 C496 5880");
	expect_ok(&h, 1, "alice");
	start_exchange(&h, 5, "alice", "otp-md5 98 test ext");
	/* ends in failure: unlocked too */
	send_response(&h, 5, "hex:0000000000000000");
	expect_fail(&h, 5, "alice", "response mismatch");
	start_exchange(&h, 6, "alice", "otp-md5 98 test ext");
	/* a malformed response: unlocked too */
	send_response(&h, 6, "pass:secret");
	expect_fail(&h, 6, "alice", "unsupported response type");
	start_exchange(&h, 7, "alice", "otp-md5 98 test ext");
	send_identity(&h, 8, "bob");
	expect_fail(&h, 8, "bob", "user is locked");

	/* the client goes away in the middle of both exchanges */
	close(h.peer);
	harness_run(&h);
	free(harness_take(&h));
	handshake(&h);
	start_exchange(&h, 1, "alice", "otp-md5 98 test ext");
	start_exchange(&h, 2, "bob", "otp-sha1 9 bobseed ext");
	char *resp = hex_response("hex:", OTP_ALGORITHM_SHA1, "bobseed", "bob's passphrase", 9);
	send_response(&h, 2, resp);
	free(resp);
	expect_ok(&h, 2, "bob");
	/* CANCEL ends the request as well */
	harness_send(&h, "CANCEL\t1\n", false);
	free(harness_take(&h));
	start_exchange(&h, 3, "alice", "otp-md5 98 test ext");
	free(log_take());
	otp_harness_deinit(&h);
}

static void test_readonly_only_refused(void **state ATTR_UNUSED)
{
	struct harness h;
	const char *error;
	char *conf = x_printf(
		"base_dir = %s/run\n"
		"auth_mechanisms = plain otp\n"
		"passdb {\n driver = passwd-file\n args = %s/users\n}\n", tmpdir, tmpdir);
	write_file("users", "");
	memset(&h, 0, sizeof(h));
	h.err_pool = pool_create("errors", 256);
	if (roost_settings_read_string(conf, "test.conf", &h.set, h.err_pool, &error) < 0)
		fail_msg("config: %s", error);
	free(conf);
	h.base = event_base_new();
	assert_int_equal(auth_create(h.base, h.set, &h.auth, &error), -1);
	assert_contains(error, "OTP mechanism can't be supported with given passdbs: "
			"it needs a passdb that can store credentials");
	free((char *)error);
	event_base_free(h.base);
	roost_settings_free(&h.set);
	pool_destroy(&h.err_pool);
}

static void test_readonly_passdb(void **state ATTR_UNUSED)
{
	struct harness h;
	readonly_harness_init(&h, "alice:" ALICE_STORED "\ncarol:{PLAIN}secret\n");
	start_exchange(&h, 1, "alice", "otp-md5 99 test ext");
	send_response(&h, 1, "hex:50FE 1962 C496 5880");
	expect_temp_fail(&h, 1, "alice", "passdb passwd-file can't store credentials "
			 "(it is read-only");
	/* the lock is gone and nothing changed */
	start_exchange(&h, 2, "alice", "otp-md5 99 test ext");
	send_response(&h, 2, "hex:50FE 1962 C496 5880");
	expect_temp_fail(&h, 2, "alice", "OTP: the next OTP state could not be stored");
	/* a plaintext password is no OTP state (not derivable) */
	send_identity(&h, 3, "carol");
	expect_fail(&h, 3, "carol", "Requested OTP scheme, but we have only PLAIN");
	otp_harness_deinit(&h);

	/* a writable passdb whose update fails: internal failure as well */
	otp_harness_init(&h);
	test_set_stored(0, ALICE_STORED);
	test_store_fails = true;
	start_exchange(&h, 1, "alice", "otp-md5 99 test ext");
	send_response(&h, 1, "hex:50FE 1962 C496 5880");
	expect_temp_fail(&h, 1, "alice", "otp-test: simulated update failure");
	assert_string_equal(test_stored[0], ALICE_STORED);
	test_store_fails = false;
	start_exchange(&h, 2, "alice", "otp-md5 99 test ext");
	send_response(&h, 2, "hex:50FE 1962 C496 5880");
	expect_ok(&h, 2, "alice");
	otp_harness_deinit(&h);
}

static void test_bad_stored_state(void **state ATTR_UNUSED)
{
	static const struct {
		const char *stored;
		const char *reason;
		bool internal;
	} cases[] = {
		{ "{OTP}md5 1 test 50fe1962c4965880", "OTP: sequence number exhausted "
		  "(stored sequence 1)", false },
		{ "{OTP}md5 0 test 50fe1962c4965880", "sequence number exhausted", false },
		{ "{OTP}md6 100 test ccb788ab27b0683b", "OTP: invalid OTP data in passdb", true },
		{ "{OTP}md5 100 test ccb788ab27b0683", "invalid OTP data in passdb", true },
		{ "{OTP}md5 x test ccb788ab27b0683b", "invalid OTP data in passdb", true },
		{ "{OTP}md5 100 te-st ccb788ab27b0683b", "invalid OTP data in passdb", true },
		{ "{OTP}", "invalid OTP data in passdb", true },
		{ "{PLAIN}secret", "Requested OTP scheme, but we have only PLAIN", false },
		{ "secret", "Requested OTP scheme, but we have only PLAIN", false },
	};
	struct harness h;
	otp_harness_init(&h);
	for (unsigned int i = 0; i < N_ELEMENTS(cases); i++) {
		test_set_stored(0, cases[i].stored);
		send_identity(&h, i + 1, "alice");
		if (cases[i].internal)
			expect_temp_fail(&h, i + 1, "alice", cases[i].reason);
		else
			expect_fail(&h, i + 1, "alice", cases[i].reason);
	}
	/* unknown user */
	send_identity(&h, 100, "nobody");
	expect_fail(&h, 100, "nobody", "");
	/* after all of that alice can log in */
	test_set_stored(0, ALICE_STORED);
	start_exchange(&h, 101, "alice", "otp-md5 99 test ext");
	send_response(&h, 101, "hex:50FE 1962 C496 5880");
	expect_ok(&h, 101, "alice");
	otp_harness_deinit(&h);
}

static void test_bad_identity(void **state ATTR_UNUSED)
{
	static const struct {
		const char *data;
		size_t size;
		const char *reason;
		const char *fields;      /* after "FAIL\t<id>" */
	} cases[] = {
		{ "alice", 5, "OTP: invalid input (need authzid NUL authcid)", NULL },
		{ "", 0, "invalid input (need authzid NUL authcid)", NULL },
		{ "\0", 1, "OTP: empty authentication identity", NULL },
		{ "alice\0", 6, "empty authentication identity", NULL },
		{ "\0\0alice", 7, "empty authentication identity", NULL },
		{ "a\0alice\0c\0d", 11, "OTP: invalid input (too many NULs)", NULL },
		/* a response as the first message: wrong step order */
		{ "hex:50FE 1962 C496 5880", 23, "invalid input (need authzid NUL authcid)", NULL },
		{ "\0ali\tce", 8, "OTP: Username contains control characters", "\tuser=ali\001tce\n" },
		{ "bob\0alice", 9, "OTP: login as another user (bob) requires a master passdb",
		  "\tuser=alice\tcode=authz_fail\n" },
	};
	struct harness h;
	otp_harness_init(&h);
	test_set_stored(0, ALICE_STORED);
	for (unsigned int i = 0; i < N_ELEMENTS(cases); i++) {
		unsigned int id = i + 1;
		send_auth(&h, id, cases[i].data, cases[i].size);
		char *line = x_printf("FAIL\t%u%s", id, cases[i].fields == NULL ?
				      "\n" : cases[i].fields);
		expect_fail_line(&h, line, cases[i].reason);
		free(line);
	}
	/* oversized identity */
	char big[2000];
	memset(big, 'a', sizeof(big));
	big[0] = '\0';
	send_auth(&h, 50, big, sizeof(big));
	expect_fail(&h, 50, NULL, "OTP: identity too long (2000 > 1024 bytes)");
	/* the same in a CONT after the empty challenge */
	harness_send(&h, "AUTH\t51\tOTP\tservice=imap\n", false);
	free(harness_take(&h));
	char *out = harness_cont(&h, 51, big, sizeof(big));
	str_append(h.out, out);
	free(out);
	expect_fail(&h, 51, NULL, "identity too long");
	/* nothing stayed locked */
	start_exchange(&h, 52, "alice", "otp-md5 99 test ext");
	send_response(&h, 52, "hex:50FE 1962 C496 5880");
	expect_ok(&h, 52, "alice");
	assert_string_equal(test_stored[0], "{OTP}md5 99 test 50fe1962c4965880");
	otp_harness_deinit(&h);
}

/* Responses to "otp-md5 99 test ext" (stored S(100) of PASS1). */
static const struct {
	const char *response;
	const char *reason;
} bad_responses[] = {
	{ "", "OTP: unsupported response type (need hex:, word:, init-hex: or init-word:)" },
	{ "hex", "unsupported response type" },
	{ "50FE 1962 C496 5880", "unsupported response type" },
	{ "hex 50FE 1962 C496 5880", "unsupported response type" },
	{ "otp:50FE 1962 C496 5880", "unsupported response type" },
	{ "hex:", "OTP: invalid response: fewer than 16 hex digits" },
	{ "hex:50FE19", "invalid response: fewer than 16 hex digits" },
	{ "hex:50FE 1962 C496 588", "invalid response: fewer than 16 hex digits" },
	{ "hex:50FE 1962 C496 58800", "invalid response: more than 16 hex digits" },
	{ "hex:50FE 1962 C496 588G", "invalid response: not a hex digit" },
	{ "hex:0x50FE1962C4965880", "invalid response: not a hex digit" },
	{ "hex:50FE 1962 C496 5880\n", "invalid response: not a hex digit" },
	{ "hex:50FE 1962:C496 5880", "invalid response: not a hex digit" },
	{ "word:", "invalid response: fewer than six words" },
	{ "word:BAIL TUFT BITS GANG CHEF", "invalid response: fewer than six words" },
	{ "word:BAIL TUFT BITS GANG CHEF TH", "invalid response: word not in the RFC 2289 standard dictionary" },
	{ "word:BAIL TUFT BITS GANG CHEF THY THY", "invalid response: more than six words" },
	{ "word:BAIL TUFT BITS GANG CHEF XYZZY", "word not in the RFC 2289 standard dictionary" },
	{ "word:BAIL TUFT BITS GANG CHEF THE", "invalid response: six-word checksum mismatch" },
	{ "word:50FE 1962 C496 5880", "word not in the RFC 2289 standard dictionary" },
	{ "hex:BAIL TUFT BITS GANG CHEF THY", "not a hex digit" },
	{ "hex:0000 0000 0000 0000", "OTP: response mismatch (otp-md5 sequence 99)" },
	/* S(100) (the stored value) and S(98) are not S(99) */
	{ "hex:ccb788ab27b0683b", "response mismatch" },
	{ "word:INCH SEA ANNE LONG AHEM TOUR", "response mismatch" },
	{ "init-hex:", "OTP: invalid init response: need current-OTP:new-params:new-OTP" },
	{ "init-hex:50FE 1962 C496 5880", "need current-OTP:new-params:new-OTP" },
	{ "init-hex:50FE 1962 C496 5880:md5 50 abc", "need current-OTP:new-params:new-OTP" },
	{ "init-hex:50FE 1962 C496 5880:md5 50 abc:", "invalid init response: new OTP: fewer than 16 hex digits" },
	{ "init-hex:50FE 1962 C496 5880:md5 50 abc:0011223344556677:", "need current-OTP:new-params:new-OTP" },
	{ "init-hex::md5 50 abc:0011223344556677", "invalid init response: current OTP: fewer than 16 hex digits" },
	{ "init-hex:zz:md5 50 abc:0011223344556677", "invalid init response: current OTP: not a hex digit" },
	{ "init-hex:50FE 1962 C496 5880:md6 50 abc:0011223344556677", "invalid init response: unknown algorithm in new parameters" },
	{ "init-hex:50FE 1962 C496 5880:sha256 50 abc:0011223344556677", "unknown algorithm in new parameters" },
	{ "init-hex:50FE 1962 C496 5880:md5 1 abc:0011223344556677", "invalid init response: new sequence number out of range" },
	{ "init-hex:50FE 1962 C496 5880:md5 0 abc:0011223344556677", "new sequence number out of range" },
	{ "init-hex:50FE 1962 C496 5880:md5 1000001 abc:0011223344556677", "new sequence number out of range" },
	{ "init-hex:50FE 1962 C496 5880:md5 99999999999999999999 abc:0011223344556677", "invalid sequence number in new parameters" },
	{ "init-hex:50FE 1962 C496 5880:md5 -5 abc:0011223344556677", "invalid sequence number in new parameters" },
	{ "init-hex:50FE 1962 C496 5880:md5 5x abc:0011223344556677", "invalid sequence number in new parameters" },
	{ "init-hex:50FE 1962 C496 5880:md5 50:0011223344556677", "missing new parameters (need algorithm, sequence, seed)" },
	{ "init-hex:50FE 1962 C496 5880::0011223344556677", "missing new parameters" },
	{ "init-hex:50FE 1962 C496 5880:md5 50 abc def:0011223344556677", "too many new parameters" },
	{ "init-hex:50FE 1962 C496 5880:md5 50 abcdefghijklmnopq:0011223344556677", "new seed longer than 16 characters" },
	{ "init-hex:50FE 1962 C496 5880:md5 50 ab-c:0011223344556677", "new seed is not alphanumeric" },
	{ "init-hex:50FE 1962 C496 5880:md5 50 abc:BAIL TUFT BITS GANG CHEF THY", "new OTP: not a hex digit" },
	{ "init-word:BAIL TUFT BITS GANG CHEF THY:md5 50 abc:0011223344556677", "invalid init response: new OTP: word not in the RFC 2289 standard dictionary" },
	{ "init-word:BAIL TUFT BITS GANG CHEF:md5 50 abc:BAIL TUFT BITS GANG CHEF THY", "invalid init response: current OTP: fewer than six words" },
	{ "init-word:50FE 1962 C496 5880:md5 50 abc:BAIL TUFT BITS GANG CHEF THY", "current OTP: word not in the RFC 2289 standard dictionary" },
	/* truncated init-word */
	{ "init-word:BAIL TUFT BITS GANG CHEF THY:md5 50 ab", "need current-OTP:new-params:new-OTP" },
	/* right format, wrong current OTP */
	{ "init-word:INCH SEA ANNE LONG AHEM TOUR:md5 50 abc:BAIL TUFT BITS GANG CHEF THY", "response mismatch" },
	/* the identity again: wrong step order */
	{ "alice", "unsupported response type" },
};

static void test_bad_responses(void **state ATTR_UNUSED)
{
	struct harness h;
	otp_harness_init(&h);
	test_set_stored(0, ALICE_STORED);
	test_store_count = 0;
	unsigned int id = 1;
	for (size_t i = 0; i < N_ELEMENTS(bad_responses); i++, id++) {
		start_exchange(&h, id, "alice", "otp-md5 99 test ext");
		send_response(&h, id, bad_responses[i].response);
		expect_fail(&h, id, "alice", bad_responses[i].reason);
	}
	/* NUL in the response; the identity (with its NUL) again */
	start_exchange(&h, id, "alice", "otp-md5 99 test ext");
	char *out = harness_cont(&h, id, "hex:50FE\0 1962 C496 5880", 24);
	str_append(h.out, out);
	free(out);
	expect_fail(&h, id, "alice", "OTP: NUL in response");
	id++;
	start_exchange(&h, id, "alice", "otp-md5 99 test ext");
	out = harness_cont(&h, id, "\0alice", 6);
	str_append(h.out, out);
	free(out);
	expect_fail(&h, id, "alice", "NUL in response");
	id++;
	/* oversized: the right OTP padded with 600 spaces */
	start_exchange(&h, id, "alice", "otp-md5 99 test ext");
	string_t *big = str_create(700);
	str_append(big, "hex:50FE 1962 C496 5880");
	for (int i = 0; i < 600; i++)
		str_append_c(big, ' ');
	send_response(&h, id, str_c(big));
	expect_fail(&h, id, "alice", "OTP: response too long (623 > 512 bytes)");
	str_free(&big);
	id++;
	/* a CONT after the FAIL belongs to no request */
	send_response(&h, id - 1, "hex:50FE 1962 C496 5880");
	char *line = harness_take(&h);
	assert_true(strncmp(line, "FAIL\t", 5) == 0);
	free(line);
	free(log_take());

	/* nothing was stored, and the right answer still works */
	assert_int_equal(test_store_count, 0);
	assert_string_equal(test_stored[0], ALICE_STORED);
	start_exchange(&h, id, "alice", "otp-md5 99 test ext");
	send_response(&h, id, "hex:50FE 1962 C496 5880");
	expect_ok(&h, id, "alice");
	/* the byte-at-a-time delivery of a whole exchange */
	id++;
	char *resp = test_b64("\0alice", 6);
	char *auth = x_printf("AUTH\t%u\tOTP\tservice=imap\tresp=%s\n", id, resp);
	harness_send(&h, auth, true);
	free(auth);
	free(resp);
	expect_challenge(&h, id, "otp-md5 98 test ext");
	char *otp = hex_response("hex:", OTP_ALGORITHM_MD5, "test", PASS1, 98);
	resp = test_b64(otp, strlen(otp));
	char *cont = x_printf("CONT\t%u\t%s\n", id, resp);
	harness_send(&h, cont, true);
	free(cont);
	free(resp);
	free(otp);
	expect_ok(&h, id, "alice");
	otp_harness_deinit(&h);
}

static int setup(void **state ATTR_UNUSED)
{
	passdb_driver_register(&otp_test_driver);
	return test_harness_setup_dir();
}

static int teardown(void **state ATTR_UNUSED)
{
	return test_harness_remove_dir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc2289_vectors),
		cmocka_unit_test(test_dictionary),
		cmocka_unit_test(test_checksum_and_round_trip),
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_hex_and_words),
		cmocka_unit_test(test_algorithms),
		cmocka_unit_test(test_init_responses),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_readonly_passdb),
		cmocka_unit_test(test_readonly_only_refused),
		cmocka_unit_test(test_bad_stored_state),
		cmocka_unit_test(test_bad_identity),
		cmocka_unit_test(test_bad_responses),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
