/* CRAM-MD5 (RFC 2195): the server sends a unique challenge
   "<random.timestamp@hostname>", the client answers
   "username SP hex(HMAC-MD5(password, challenge))". The server needs the
   HMAC-MD5 context ({CRAM-MD5} credentials), derived from a plaintext
   password by the passdb layer when that is what is stored. */
#include "lib.h"
#include "str.h"
#include "hex.h"
#include "ct.h"
#include "randbytes.h"
#include "sasl-mech.h"
#include "auth-request.h"
#include "password-scheme.h"

#include <time.h>
#include <unistd.h>

/* "<" 16 digits "." time "@" hostname ">" */
#define CRAM_MD5_CHALLENGE_MAX (1 + 16 + 1 + 20 + 1 + 255 + 1 + 1)
#define CRAM_MD5_DIGEST_HEX_LEN 32
/* a user name longer than this is no user name (Dovecot limits lines to
   16 KB; nothing legitimate comes close to this) */
#define CRAM_MD5_RESPONSE_MAX 1024

struct cram_md5_state {
	char challenge[CRAM_MD5_CHALLENGE_MAX];
	size_t challenge_len;
	unsigned char digest[16];
};

static void cram_md5_make_challenge(struct cram_md5_state *state)
{
	unsigned char rnd[16];
	char digits[sizeof(rnd) + 1];
	char hostname[256];
	string_t *str;

	/* Dovecot: 16 random decimal digits, the time, the host name */
	random_bytes(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		digits[i] = (char)('0' + rnd[i] % 10);
	digits[sizeof(rnd)] = '\0';
	if (gethostname(hostname, sizeof(hostname)) < 0 || hostname[0] == '\0')
		memcpy(hostname, "localhost", sizeof("localhost"));
	hostname[sizeof(hostname) - 1] = '\0';

	str = str_create_max(CRAM_MD5_CHALLENGE_MAX, CRAM_MD5_CHALLENGE_MAX - 1);
	str_printfa(str, "<%s.%lld@%s>", digits, (long long)time(NULL), hostname);
	i_assert(!str_overflowed(str));
	memcpy(state->challenge, str_c(str), str_len(str) + 1);
	state->challenge_len = str_len(str);
	str_free(&str);
}

static bool is_lower_hex(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	}
	return true;
}

static void cram_md5_credentials_callback(struct auth_request *request,
					  enum passdb_result result,
					  const unsigned char *credentials,
					  size_t size)
{
	struct cram_md5_state *state = request->mech_state;
	unsigned char digest[16];
	bool match;

	if (result != PASSDB_RESULT_OK) {
		auth_request_verify_plain_callback_finish(request, result);
		return;
	}
	if (size != CRAM_MD5_CONTEXT_SIZE) {
		auth_request_log_error(request, "CRAM-MD5: invalid credentials "
				       "length %zu (expected %d)", size,
				       CRAM_MD5_CONTEXT_SIZE);
		auth_request_internal_failure(request);
		return;
	}
	cram_md5_hmac_from_context(credentials, state->challenge,
				   state->challenge_len, digest);
	/* RFC 2195 4: a MAC compare must not leak where it differs */
	match = ct_memequal(digest, state->digest, sizeof(digest));
	explicit_bzero(digest, sizeof(digest));
	if (!match) {
		auth_request_log_info(request, "CRAM-MD5: password mismatch");
		auth_request_fail(request);
		return;
	}
	auth_request_success(request, NULL, 0);
}

static void cram_md5_continue(struct auth_request *request,
			      const unsigned char *data, size_t size)
{
	struct cram_md5_state *state = request->mech_state;
	const unsigned char *space = NULL;
	const char *error;
	size_t digest_size;

	/* the protocol layer passes a CONT only after our challenge */
	i_assert(state->challenge_len > 0);
	if (size > CRAM_MD5_RESPONSE_MAX) {
		auth_request_log_info(request, "CRAM-MD5: response too long "
				      "(%zu > %d bytes)", size, CRAM_MD5_RESPONSE_MAX);
		auth_request_fail(request);
		return;
	}
	/* RFC 2195 2: user name SP digest. The user name may contain
	   spaces, so the digest starts after the last one. */
	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\0') {
			auth_request_log_info(request, "CRAM-MD5: NUL in response");
			auth_request_fail(request);
			return;
		}
		if (data[i] == ' ')
			space = data + i;
	}
	if (space == NULL || space == data) {
		auth_request_log_info(request, "CRAM-MD5: missing digest");
		auth_request_fail(request);
		return;
	}

	string_t *user = str_create(64);
	str_append_n(user, data, (size_t)(space - data));
	bool ok = auth_request_set_username(request, str_c(user), &error);
	str_free(&user);
	if (!ok) {
		auth_request_log_info(request, "CRAM-MD5: %s", error);
		auth_request_fail(request);
		return;
	}
	const char *hex = (const char *)space + 1;
	size_t hex_len = size - (size_t)(space + 1 - data);
	/* lower-case hex as in RFC 2195's example (and as Dovecot compares) */
	if (hex_len != CRAM_MD5_DIGEST_HEX_LEN ||
	    !is_lower_hex(hex, hex_len) ||
	    hex_decode_buf(hex, hex_len, state->digest, sizeof(state->digest),
			   &digest_size) < 0 || digest_size != sizeof(state->digest)) {
		auth_request_log_info(request, "CRAM-MD5: invalid digest "
				      "(need %d lower-case hex digits)", CRAM_MD5_DIGEST_HEX_LEN);
		auth_request_fail(request);
		return;
	}
	auth_request_lookup_credentials(request, "CRAM-MD5",
					cram_md5_credentials_callback);
}

static void cram_md5_initial(struct auth_request *request,
			     bool has_initial ATTR_UNUSED,
			     const unsigned char *data ATTR_UNUSED,
			     size_t size ATTR_UNUSED)
{
	struct cram_md5_state *state = request->mech_state;

	/* Server-first: like Dovecot, an initial response is ignored and
	   the challenge is sent. */
	cram_md5_make_challenge(state);
	auth_request_handler_reply_continue(request,
		(const unsigned char *)state->challenge, state->challenge_len);
}

static void cram_md5_free(struct auth_request *request)
{
	struct cram_md5_state *state = request->mech_state;

	if (state != NULL)
		explicit_bzero(state->digest, sizeof(state->digest));
}

const struct sasl_mech sasl_mech_cram_md5 = {
	.name = "CRAM-MD5",
	.flags = SASL_MECH_SEC_DICTIONARY | SASL_MECH_SEC_ACTIVE,
	.passdb_need = SASL_MECH_NEED_LOOKUP_CREDENTIALS,
	.credentials_scheme = "CRAM-MD5",
	.state_size = sizeof(struct cram_md5_state),
	.auth_initial = cram_md5_initial,
	.auth_continue = cram_md5_continue,
	.auth_free = cram_md5_free,
};
