/* OTP (RFC 2444) over RFC 2289 one-time passwords, server side, as
   Dovecot 2.3 runs it:

     C: authzid NUL authcid
     S: otp-<algo> <seq-1> <seed> ext
     C: hex:<OTP> | word:<six words> |
        init-hex:<OTP>:<algo> <seq> <seed>:<new OTP> | init-word:...
     S: OK, once the new state is stored

   The passdb holds "<algo> <seq> <seed> <hex of S(seq)>" ({OTP}). The
   client answers with S(seq-1); fold(H(answer)) must equal the stored
   hash, and the answer becomes the stored hash for seq-1 (or, for the RFC
   2243 init-* responses, the new parameters and OTP replace the state).
   The login succeeds only once the passdb has stored the new state: a
   read-only passdb cannot serve OTP.

   RFC 2289 allows one exchange per user at a time (else an attacker who
   sees all but the last word could race the user), so the user is
   locked in this process from the challenge until the request ends.
   Every malformed message fails the request with the reason in the log;
   the client only sees FAIL. */
#include "lib.h"
#include "str.h"
#include "pool.h"
#include "ct.h"
#include "hash.h"
#include "hex.h"
#include "otp.h"
#include "otp-words.h"
#include "sasl-mech.h"
#include "auth-request.h"
#include "auth-fields.h"

#include <strings.h>

/* Bounds on client input. The longest legitimate message is an init-word
   response: about 100 bytes. */
#define OTP_MAX_IDENTITY_SIZE 1024
#define OTP_MAX_RESPONSE_SIZE 512

enum otp_step {
	OTP_STEP_IDENTITY = 0,
	OTP_STEP_CREDENTIALS,        /* waiting for the passdb lookup */
	OTP_STEP_RESPONSE,           /* challenge sent, user locked */
	OTP_STEP_UPDATE,             /* waiting for the passdb to store */
	OTP_STEP_DONE,
};

struct otp_mech_state {
	enum otp_step step;
	/* The stored state with the sequence already decremented: what the
	   challenge announced. Secret-ish (the current hash): wiped. */
	struct otp_state state;
	/* Our key in the lock table (malloc()ed), NULL when not locked. */
	char *locked_user;
};

/* User name (case-insensitive, as Dovecot) -> the request holding the
   lock. Created with the first lock, destroyed with the last unlock. */
static struct hash_table *otp_lock_table;

static bool otp_lock(struct auth_request *request)
{
	struct otp_mech_state *mstate = request->mech_state;

	i_assert(mstate->locked_user == NULL);
	if (otp_lock_table == NULL)
		otp_lock_table = hash_table_create_str(true);
	else if (hash_table_lookup_str(otp_lock_table, request->user) != NULL)
		return false;
	mstate->locked_user = x_strdup(request->user);
	hash_table_insert_str(otp_lock_table, mstate->locked_user, request);
	return true;
}

static void otp_unlock(struct auth_request *request)
{
	struct otp_mech_state *mstate = request->mech_state;

	if (mstate == NULL || mstate->locked_user == NULL)
		return;
	i_assert(hash_table_lookup_str(otp_lock_table, mstate->locked_user) == request);
	hash_table_remove_str(otp_lock_table, mstate->locked_user);
	x_free(mstate->locked_user);
	if (hash_table_count(otp_lock_table) == 0)
		hash_table_destroy(&otp_lock_table);
}

static void otp_finish(struct auth_request *request)
{
	struct otp_mech_state *mstate = request->mech_state;

	mstate->step = OTP_STEP_DONE;
	otp_unlock(request);
	explicit_bzero(&mstate->state, sizeof(mstate->state));
}

/* The client's fault: log why (info) and FAIL. */
static void ATTR_FORMAT(2, 3)
otp_fail(struct auth_request *request, const char *fmt, ...)
{
	va_list args;
	char *msg;

	va_start(args, fmt);
	msg = x_vprintf(fmt, args);
	va_end(args);
	auth_request_log_info(request, "OTP: %s", msg);
	free(msg);
	otp_finish(request);
	auth_request_fail(request);
}

static bool otp_is_lws(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 2289 6.0: 16 hex digits in either case; spaces and tabs may appear
   anywhere ("D185 4218 EBBB 0B51"). */
static int otp_hex_decode(const char *text, size_t len,
			  unsigned char hash_r[OTP_HASH_SIZE], const char **error_r)
{
	char hex[OTP_HASH_SIZE * 2];
	size_t hex_len = 0, decoded;

	for (size_t i = 0; i < len; i++) {
		if (otp_is_lws(text[i]))
			continue;
		if (hex_digit_value(text[i]) < 0) {
			*error_r = "not a hex digit";
			return -1;
		}
		if (hex_len == sizeof(hex)) {
			*error_r = "more than 16 hex digits";
			return -1;
		}
		hex[hex_len++] = text[i];
	}
	if (hex_len != sizeof(hex)) {
		*error_r = "fewer than 16 hex digits";
		return -1;
	}
	if (hex_decode_buf(hex, hex_len, hash_r, OTP_HASH_SIZE, &decoded) < 0)
		i_unreached();
	explicit_bzero(hex, sizeof(hex));
	return 0;
}

static int otp_decode(const char *text, size_t len, bool hex,
		      unsigned char hash_r[OTP_HASH_SIZE], const char **error_r)
{
	return hex ? otp_hex_decode(text, len, hash_r, error_r) :
		otp_words_decode(text, len, hash_r, error_r);
}

/* RFC 2243 new-params = algorithm SP sequence SP seed (LWS tolerated
   around and between the parts). */
static int otp_parse_new_params(const char *text, size_t len,
				struct otp_state *state, const char **error_r)
{
	const char *p = text, *end = text + len;
	const char *parts[3];
	size_t lens[3];
	unsigned int count = 0;
	char word[16];

	for (;;) {
		while (p < end && otp_is_lws(*p))
			p++;
		if (p == end)
			break;
		if (count == N_ELEMENTS(parts)) {
			*error_r = "too many new parameters (need algorithm, "
				"sequence, seed)";
			return -1;
		}
		parts[count] = p;
		while (p < end && !otp_is_lws(*p))
			p++;
		lens[count] = (size_t)(p - parts[count]);
		count++;
	}
	if (count < N_ELEMENTS(parts)) {
		*error_r = "missing new parameters (need algorithm, sequence, seed)";
		return -1;
	}

	if (lens[0] >= sizeof(word)) {
		*error_r = "unknown algorithm in new parameters";
		return -1;
	}
	memcpy(word, parts[0], lens[0]);
	word[lens[0]] = '\0';
	if (otp_algorithm_parse(word, &state->algorithm) < 0) {
		*error_r = "unknown algorithm in new parameters";
		return -1;
	}

	state->seq = 0;
	for (size_t i = 0; i < lens[1]; i++) {
		if (parts[1][i] < '0' || parts[1][i] > '9' ||
		    state->seq > OTP_MAX_SEQUENCE) {
			*error_r = "invalid sequence number in new parameters";
			return -1;
		}
		state->seq = state->seq * 10 + (unsigned int)(parts[1][i] - '0');
	}
	/* the next challenge announces seq-1, which must stay >= 1 (the
	   rule the challenge applies): a new sequence below 2 could never
	   be used */
	if (state->seq < 2 || state->seq > OTP_MAX_SEQUENCE) {
		*error_r = "new sequence number out of range";
		return -1;
	}

	/* RFC 2289 6.0: 1-16 alphanumerics, case-insensitive (stored
	   lower-case, as Dovecot does) */
	if (lens[2] > OTP_MAX_SEED_LEN) {
		*error_r = "new seed longer than 16 characters";
		return -1;
	}
	for (size_t i = 0; i < lens[2]; i++) {
		char c = parts[2][i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
			*error_r = "new seed is not alphanumeric";
			return -1;
		}
		state->seed[i] = c;
	}
	state->seed[lens[2]] = '\0';
	return 0;
}

static void otp_set_credentials_callback(struct auth_request *request, bool success)
{
	struct otp_mech_state *mstate = request->mech_state;

	i_assert(mstate->step == OTP_STEP_UPDATE);
	otp_finish(request);
	if (success) {
		auth_request_success(request, NULL, 0);
	} else {
		/* the OTP was right, but without the new state stored it
		   could be replayed: refuse (the cause is logged already) */
		auth_request_log_error(request, "OTP: the next OTP state could not "
				       "be stored: login refused");
		auth_request_internal_failure(request);
	}
	auth_request_unref(&request);
}

/* The response is right: store the next state, then succeed. */
static void otp_store_state(struct auth_request *request,
			    const struct otp_state *new_state)
{
	struct otp_mech_state *mstate = request->mech_state;
	char *formatted = otp_state_format(new_state);
	/* the request pool lives as long as a (possibly asynchronous)
	   driver may need the string, and it is wiped with the request */
	const char *credentials = pool_printf(request->pool, "{OTP}%s", formatted);

	x_free_secret(formatted, strlen(formatted));
	mstate->step = OTP_STEP_UPDATE;
	/* held until the passdb answers, even if the client goes away */
	auth_request_ref(request);
	auth_request_set_credentials(request, credentials, otp_set_credentials_callback);
}

static void otp_response(struct auth_request *request,
			 const unsigned char *data, size_t size)
{
	static const struct {
		const char *prefix;
		bool init, hex;
	} types[] = {
		{ "hex:", false, true },
		{ "word:", false, false },
		{ "init-hex:", true, true },
		{ "init-word:", true, false },
	};
	struct otp_mech_state *mstate = request->mech_state;
	struct otp_state new_state;
	unsigned char hash[OTP_HASH_SIZE], folded[OTP_HASH_SIZE];
	const char *text = (const char *)data, *end = text + size, *error;
	const char *colon1, *colon2;
	unsigned int type;
	bool match;

	if (size > OTP_MAX_RESPONSE_SIZE) {
		otp_fail(request, "response too long (%zu > %d bytes)",
			 size, OTP_MAX_RESPONSE_SIZE);
		return;
	}
	if (memchr(data, '\0', size) != NULL) {
		otp_fail(request, "NUL in response");
		return;
	}
	/* RFC 2243 3: the response type is case-insensitive */
	for (type = 0; type < N_ELEMENTS(types); type++) {
		size_t len = strlen(types[type].prefix);
		if (size >= len && strncasecmp(text, types[type].prefix, len) == 0) {
			text += len;
			break;
		}
	}
	if (type == N_ELEMENTS(types)) {
		otp_fail(request, "unsupported response type (need hex:, word:, "
			 "init-hex: or init-word:)");
		return;
	}

	memset(&new_state, 0, sizeof(new_state));
	if (!types[type].init) {
		if (otp_decode(text, (size_t)(end - text), types[type].hex,
			       hash, &error) < 0) {
			otp_fail(request, "invalid response: %s", error);
			return;
		}
		/* the answer becomes the stored hash for seq-1 */
		new_state = mstate->state;
		memcpy(new_state.hash, hash, sizeof(hash));
	} else {
		/* RFC 2243 3: current-OTP ":" new-params ":" new-OTP */
		colon1 = memchr(text, ':', (size_t)(end - text));
		colon2 = colon1 == NULL ? NULL :
			memchr(colon1 + 1, ':', (size_t)(end - colon1 - 1));
		if (colon2 == NULL || memchr(colon2 + 1, ':', (size_t)(end - colon2 - 1)) != NULL) {
			otp_fail(request, "invalid init response: need "
				 "current-OTP:new-params:new-OTP");
			return;
		}
		if (otp_decode(text, (size_t)(colon1 - text), types[type].hex,
			       hash, &error) < 0) {
			otp_fail(request, "invalid init response: current OTP: %s", error);
			return;
		}
		if (otp_parse_new_params(colon1 + 1, (size_t)(colon2 - colon1 - 1),
					 &new_state, &error) < 0) {
			explicit_bzero(hash, sizeof(hash));
			otp_fail(request, "invalid init response: %s", error);
			return;
		}
		if (otp_decode(colon2 + 1, (size_t)(end - colon2 - 1), types[type].hex,
			       new_state.hash, &error) < 0) {
			explicit_bzero(hash, sizeof(hash));
			explicit_bzero(&new_state, sizeof(new_state));
			otp_fail(request, "invalid init response: new OTP: %s", error);
			return;
		}
	}

	/* RFC 2289 5.0 (verification): one more hash of the answer must give
	   the stored value */
	otp_fold_hash(mstate->state.algorithm, hash, sizeof(hash), folded);
	match = ct_memequal(folded, mstate->state.hash, sizeof(folded));
	explicit_bzero(hash, sizeof(hash));
	explicit_bzero(folded, sizeof(folded));
	if (!match) {
		explicit_bzero(&new_state, sizeof(new_state));
		otp_fail(request, "response mismatch (otp-%s sequence %u)",
			 otp_algorithm_name(mstate->state.algorithm), mstate->state.seq);
		return;
	}
	otp_store_state(request, &new_state);
	explicit_bzero(&new_state, sizeof(new_state));
}

static void otp_credentials_callback(struct auth_request *request,
				     enum passdb_result result,
				     const unsigned char *credentials, size_t size)
{
	struct otp_mech_state *mstate = request->mech_state;
	string_t *challenge;

	i_assert(mstate->step == OTP_STEP_CREDENTIALS);
	if (result != PASSDB_RESULT_OK) {
		/* the passdb layer logged why (scheme missing, unknown user
		   with auth_verbose, internal errors) */
		otp_finish(request);
		auth_request_verify_plain_callback_finish(request, result);
		return;
	}
	if (otp_state_parse((const char *)credentials, size, &mstate->state) < 0) {
		auth_request_log_error(request, "OTP: invalid OTP data in passdb "
				       "(need \"<md4|md5|sha1> <seq> <seed> <16 hex digits>\")");
		otp_finish(request);
		auth_request_internal_failure(request);
		return;
	}
	/* Dovecot: the challenge's sequence must stay >= 1; then the user
	   must re-initialize (init-hex/init-word need a login, so the admin
	   has to store a new state) */
	if (mstate->state.seq <= 1) {
		otp_fail(request, "sequence number exhausted (stored sequence %u); "
			 "the OTP state must be re-initialized", mstate->state.seq);
		return;
	}
	mstate->state.seq--;
	/* RFC 2289 9.0: one exchange per user at a time */
	if (!otp_lock(request)) {
		otp_fail(request, "user is locked: another OTP exchange for %s "
			 "is in progress (race attack?)", request->user);
		return;
	}
	challenge = str_create(64);
	str_printfa(challenge, "otp-%s %u %s ext",
		    otp_algorithm_name(mstate->state.algorithm),
		    mstate->state.seq, mstate->state.seed);
	mstate->step = OTP_STEP_RESPONSE;
	auth_request_handler_reply_continue(request, str_data(challenge),
					    str_len(challenge));
	str_free(&challenge);
}

/* RFC 2444 5: authzid NUL authcid */
static void otp_identity(struct auth_request *request,
			 const unsigned char *data, size_t size)
{
	struct otp_mech_state *mstate = request->mech_state;
	const unsigned char *nul1, *nul2;
	const char *error;

	if (size > OTP_MAX_IDENTITY_SIZE) {
		otp_fail(request, "identity too long (%zu > %d bytes)",
			 size, OTP_MAX_IDENTITY_SIZE);
		return;
	}
	nul1 = memchr(data, '\0', size);
	if (nul1 == NULL) {
		otp_fail(request, "invalid input (need authzid NUL authcid)");
		return;
	}
	/* Dovecot accepts (and ignores) a trailing NUL-separated field;
	   more than two NULs is invalid */
	nul2 = memchr(nul1 + 1, '\0', size - (size_t)(nul1 + 1 - data));
	if (nul2 != NULL && memchr(nul2 + 1, '\0', size - (size_t)(nul2 + 1 - data)) != NULL) {
		otp_fail(request, "invalid input (too many NULs)");
		return;
	}
	size_t authcid_len = (size_t)((nul2 != NULL ? nul2 : data + size) - (nul1 + 1));
	if (authcid_len == 0) {
		otp_fail(request, "empty authentication identity");
		return;
	}
	string_t *authzid = str_create(64), *authcid = str_create(64);
	str_append_n(authzid, data, (size_t)(nul1 - data));
	str_append_n(authcid, nul1 + 1, authcid_len);
	bool ok = auth_request_set_username(request, str_c(authcid), &error);
	bool other_user = str_len(authzid) > 0 &&
		strcmp(str_c(authzid), str_c(authcid)) != 0;
	str_free(&authcid);
	if (!ok) {
		str_free(&authzid);
		otp_fail(request, "%s", error);
		return;
	}
	if (other_user) {
		ok = auth_request_set_login_username(request, str_c(authzid), &error);
		str_free(&authzid);
		if (!ok) {
			otp_fail(request, "authorization id: %s", error);
			return;
		}
		/* master-user logins need master passdbs, which only the
		   verify-plain path runs (as for SCRAM and DIGEST-MD5) */
		auth_fields_set(request->extra_fields, "code", "authz_fail");
		otp_fail(request, "login as another user (%s) requires a master "
			 "passdb", request->requested_login_user);
		return;
	}
	str_free(&authzid);
	mstate->step = OTP_STEP_CREDENTIALS;
	auth_request_lookup_credentials(request, "OTP", otp_credentials_callback);
}

static void otp_initial(struct auth_request *request, bool has_initial,
			const unsigned char *data, size_t size)
{
	if (!has_initial) {
		/* RFC 4422 5: empty challenge, the client then sends its
		   identity */
		auth_request_handler_reply_continue(request, NULL, 0);
		return;
	}
	otp_identity(request, data, size);
}

static void otp_continue(struct auth_request *request,
			 const unsigned char *data, size_t size)
{
	struct otp_mech_state *mstate = request->mech_state;

	switch (mstate->step) {
	case OTP_STEP_IDENTITY:
		otp_identity(request, data, size);
		return;
	case OTP_STEP_RESPONSE:
		otp_response(request, data, size);
		return;
	case OTP_STEP_CREDENTIALS:
	case OTP_STEP_UPDATE:
	case OTP_STEP_DONE:
		break;
	}
	/* the protocol layer passes a CONT only after one of our
	   challenges (request state MECH_CONTINUE) */
	i_unreached();
}

static void otp_free(struct auth_request *request)
{
	/* success, failure, disconnect or timeout: the lock goes with the
	   request (otp_finish() has usually released it already) */
	if (request->mech_state != NULL)
		otp_finish(request);
}

const struct sasl_mech sasl_mech_otp = {
	.name = "OTP",
	/* Dovecot: MECH_SEC_DICTIONARY | MECH_SEC_ACTIVE; the identity
	   message contains a NUL (auth-client-protocol.md 5) */
	.flags = SASL_MECH_SEC_DICTIONARY | SASL_MECH_SEC_ACTIVE |
		SASL_MECH_ALLOW_NULS,
	.passdb_need = SASL_MECH_NEED_LOOKUP_CREDENTIALS,
	.credentials_scheme = "OTP",
	.state_size = sizeof(struct otp_mech_state),
	.auth_initial = otp_initial,
	.auth_continue = otp_continue,
	.auth_free = otp_free,
};
