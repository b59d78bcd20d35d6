/* SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677), server side, as
   Dovecot 2.3 runs it: no channel binding (the -PLUS variants are not
   offered), salt and iteration count from the stored credentials
   ("i,salt,StoredKey,ServerKey", derived from a plaintext password by the
   passdb layer when that is what is stored), server-final "v=" delivered
   through auth_request_success().

     C: gs2-header client-first-bare        (n,,n=user,r=cnonce)
     S: r=cnonce+snonce,s=salt,i=iter
     C: c=base64(gs2-header),r=cnonce+snonce,p=proof
     S: v=ServerSignature

   Every malformed message fails the request with the reason in the log;
   the client only sees FAIL. */
#include "lib.h"
#include "str.h"
#include "pool.h"
#include "base64.h"
#include "ct.h"
#include "randbytes.h"
#include "sasl-mech.h"
#include "auth-request.h"
#include "auth-fields.h"
#include "password-scheme.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* Bounds on client input. Real clients send messages of ~100 bytes. */
#define SCRAM_MAX_MESSAGE_SIZE 2048
#define SCRAM_MAX_NAME_SIZE 255      /* decoded username / authzid */
#define SCRAM_MAX_NONCE_SIZE 256
#define SCRAM_MAX_FIELDS 32
/* Dovecot: 64 printable non-comma characters */
#define SCRAM_SERVER_NONCE_SIZE 64

struct scram_hash {
	const char *scheme;          /* credentials scheme */
	const EVP_MD *(*md)(void);
	size_t key_size;
};

static const struct scram_hash scram_hash_sha1 = {
	"SCRAM-SHA-1", EVP_sha1, 20
};
static const struct scram_hash scram_hash_sha256 = {
	"SCRAM-SHA-256", EVP_sha256, 32
};

enum scram_step {
	SCRAM_STEP_CLIENT_FIRST = 0,
	SCRAM_STEP_CREDENTIALS,      /* waiting for the passdb */
	SCRAM_STEP_CLIENT_FINAL,
	SCRAM_STEP_DONE,
};

struct scram_state {
	enum scram_step step;
	/* from the request's pool */
	const char *gs2_header;      /* "n,," / "y,," / "n,a=bob," as received */
	const char *client_first_bare;
	const char *client_nonce;
	const char *server_first;
	char server_nonce[SCRAM_SERVER_NONCE_SIZE + 1];
	struct scram_credentials cred;  /* secret: wiped in scram_free() */
};

extern const struct sasl_mech sasl_mech_scram_sha1;
extern const struct sasl_mech sasl_mech_scram_sha256;

static const struct scram_hash *scram_request_hash(const struct auth_request *request)
{
	return request->mech == &sasl_mech_scram_sha1 ?
		&scram_hash_sha1 : &scram_hash_sha256;
}

static void ATTR_FORMAT(2, 3)
scram_fail(struct auth_request *request, const char *fmt, ...)
{
	struct scram_state *state = request->mech_state;
	va_list args;
	char *msg;

	va_start(args, fmt);
	msg = x_vprintf(fmt, args);
	va_end(args);
	auth_request_log_info(request, "%s: %s", request->mech->name, msg);
	free(msg);
	state->step = SCRAM_STEP_DONE;
	explicit_bzero(&state->cred, sizeof(state->cred));
	auth_request_fail(request);
}

/* RFC 5802 5.1: saslname; "=2C" is ',' and "=3D" is '='; any other '='
   is invalid (and ',' cannot appear: it separates the attributes).
   Returns the decoded name from the request pool, or NULL. */
static const char *scram_unescape(struct auth_request *request,
				  const char *src, size_t len)
{
	string_t *dest;
	const char *ret = NULL;

	/* each decoded byte takes at most 3 input bytes */
	if (len == 0 || len > SCRAM_MAX_NAME_SIZE * 3)
		return NULL;
	dest = str_create(len + 1);
	for (size_t i = 0; i < len; i++) {
		if (src[i] != '=') {
			str_append_c(dest, src[i]);
		} else if (i + 2 < len && src[i + 1] == '2' && src[i + 2] == 'C') {
			str_append_c(dest, ',');
			i += 2;
		} else if (i + 2 < len && src[i + 1] == '3' && src[i + 2] == 'D') {
			str_append_c(dest, '=');
			i += 2;
		} else {
			goto out;
		}
	}
	if (str_len(dest) > 0 && str_len(dest) <= SCRAM_MAX_NAME_SIZE)
		ret = pool_strndup(request->pool, str_c(dest), str_len(dest));
out:
	str_free(&dest);
	return ret;
}

/* RFC 5802 7: printable = %x21-2B / %x2D-7E (no ',') */
static bool scram_nonce_is_valid(const char *nonce, size_t len)
{
	if (len == 0 || len > SCRAM_MAX_NONCE_SIZE)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (nonce[i] < 0x21 || nonce[i] > 0x7e || nonce[i] == ',')
			return false;
	}
	return true;
}

/* Split msg at ',' into fields[] (pointers into msg, lengths in lens[]).
   Returns the count, or 0 if there are more than max. */
static unsigned int scram_split(const char *msg, const char **fields,
				size_t *lens, unsigned int max)
{
	unsigned int n = 0;
	const char *p = msg;

	for (;;) {
		const char *comma = strchr(p, ',');
		if (n == max)
			return 0;
		fields[n] = p;
		lens[n] = comma == NULL ? strlen(p) : (size_t)(comma - p);
		n++;
		if (comma == NULL)
			return n;
		p = comma + 1;
	}
}

/* RFC 5802 7: attr-val = ALPHA "=" value. Extensions the server does not
   know are ignored, but an attribute the message already has may not
   appear again, and the field must have the attr-val form. */
static bool scram_extension_is_valid(const char *field, size_t len,
				     const char *known_attrs)
{
	if (len < 2 || field[1] != '=' ||
	    !((field[0] >= 'a' && field[0] <= 'z') ||
	      (field[0] >= 'A' && field[0] <= 'Z')))
		return false;
	return strchr(known_attrs, field[0]) == NULL;
}

static void scram_credentials_callback(struct auth_request *request,
				       enum passdb_result result,
				       const unsigned char *credentials,
				       size_t size)
{
	struct scram_state *state = request->mech_state;
	const struct scram_hash *hash = scram_request_hash(request);
	unsigned char rnd[SCRAM_SERVER_NONCE_SIZE];
	const char *error;

	if (result != PASSDB_RESULT_OK) {
		state->step = SCRAM_STEP_DONE;
		auth_request_verify_plain_callback_finish(request, result);
		return;
	}
	if (scram_credentials_parse(hash->scheme, credentials, size,
				    &state->cred, &error) < 0) {
		auth_request_log_error(request, "%s: %s", request->mech->name, error);
		state->step = SCRAM_STEP_DONE;
		explicit_bzero(&state->cred, sizeof(state->cred));
		auth_request_internal_failure(request);
		return;
	}
	i_assert(state->cred.key_size == hash->key_size);

	/* Like Dovecot: 64 characters from '!'..'}', ',' replaced by '~' */
	random_bytes(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++) {
		char c = (char)('!' + rnd[i] % ('~' - '!'));
		state->server_nonce[i] = c == ',' ? '~' : c;
	}
	state->server_nonce[SCRAM_SERVER_NONCE_SIZE] = '\0';

	string_t *msg = str_create(256);
	str_append(msg, "r=");
	str_append(msg, state->client_nonce);
	str_append(msg, state->server_nonce);
	str_append(msg, ",s=");
	base64_encode(msg, state->cred.salt, state->cred.salt_size);
	str_printfa(msg, ",i=%u", state->cred.iterations);
	state->server_first = pool_strndup(request->pool, str_c(msg), str_len(msg));
	str_free(&msg);

	state->step = SCRAM_STEP_CLIENT_FINAL;
	auth_request_handler_reply_continue(request,
		(const unsigned char *)state->server_first,
		strlen(state->server_first));
}

/* RFC 5802 7: client-first-message = gs2-header client-first-message-bare
     gs2-header = gs2-cbind-flag "," [ authzid ] ","
     client-first-message-bare = [reserved-mext ","] username "," nonce
                                 ["," extensions] */
static void scram_client_first(struct auth_request *request, const char *msg)
{
	struct scram_state *state = request->mech_state;
	const char *p = msg, *authzid = NULL, *username, *error;
	const char *fields[SCRAM_MAX_FIELDS];
	size_t lens[SCRAM_MAX_FIELDS];
	unsigned int count;

	if (p[0] == 'p' && p[1] == '=') {
		/* RFC 5802 6: the client requires channel binding */
		scram_fail(request, "Channel binding requested by the client, "
			   "but not supported (no -PLUS mechanism)");
		return;
	}
	if ((p[0] != 'n' && p[0] != 'y') || p[1] != ',') {
		scram_fail(request, "Invalid GS2 header");
		return;
	}
	p += 2;
	if (p[0] == 'a' && p[1] == '=') {
		const char *end = strchr(p, ',');
		if (end == NULL) {
			scram_fail(request, "Invalid GS2 header (no end after authzid)");
			return;
		}
		authzid = scram_unescape(request, p + 2, (size_t)(end - (p + 2)));
		if (authzid == NULL) {
			scram_fail(request, "Invalid authzid (empty, too long or bad '=' escape)");
			return;
		}
		p = end;
	}
	if (p[0] != ',') {
		scram_fail(request, "Invalid GS2 header (authzid field)");
		return;
	}
	p++;
	state->gs2_header = pool_strndup(request->pool, msg, (size_t)(p - msg));
	state->client_first_bare = pool_strdup(request->pool, p);

	count = scram_split(p, fields, lens, SCRAM_MAX_FIELDS);
	if (count == 0) {
		scram_fail(request, "Too many attributes in client-first-message");
		return;
	}
	/* RFC 5802 5.1: m= must cause authentication failure */
	if (lens[0] >= 2 && fields[0][0] == 'm' && fields[0][1] == '=') {
		scram_fail(request, "Mandatory extension (m=) not supported");
		return;
	}
	if (count < 2) {
		scram_fail(request, "Invalid client-first-message (missing attributes)");
		return;
	}
	if (lens[0] < 2 || fields[0][0] != 'n' || fields[0][1] != '=') {
		scram_fail(request, "Invalid client-first-message (username expected)");
		return;
	}
	username = scram_unescape(request, fields[0] + 2, lens[0] - 2);
	if (username == NULL) {
		scram_fail(request, "Invalid username (empty, too long or bad '=' escape)");
		return;
	}
	if (lens[1] < 2 || fields[1][0] != 'r' || fields[1][1] != '=') {
		scram_fail(request, "Invalid client-first-message (nonce expected)");
		return;
	}
	if (!scram_nonce_is_valid(fields[1] + 2, lens[1] - 2)) {
		scram_fail(request, "Invalid client nonce (empty, too long or "
			   "not printable)");
		return;
	}
	state->client_nonce = pool_strndup(request->pool, fields[1] + 2, lens[1] - 2);
	for (unsigned int i = 2; i < count; i++) {
		if (!scram_extension_is_valid(fields[i], lens[i], "nrm")) {
			scram_fail(request, "Invalid or duplicated attribute in "
				   "client-first-message");
			return;
		}
	}

	if (!auth_request_set_username(request, username, &error)) {
		scram_fail(request, "%s", error);
		return;
	}
	if (authzid != NULL && strcmp(authzid, username) != 0) {
		if (!auth_request_set_login_username(request, authzid, &error)) {
			scram_fail(request, "authorization id: %s", error);
			return;
		}
		/* master-user logins need master passdbs (as PLAIN) */
		auth_fields_set(request->extra_fields, "code", "authz_fail");
		scram_fail(request, "login as another user (%s) requires a "
			   "master passdb", request->requested_login_user);
		return;
	}
	state->step = SCRAM_STEP_CREDENTIALS;
	auth_request_lookup_credentials(request, scram_request_hash(request)->scheme,
					scram_credentials_callback);
}

static bool scram_hmac(const struct scram_hash *hash,
		       const unsigned char *key, size_t key_size,
		       const char *msg, size_t msg_size, unsigned char *out)
{
	unsigned int len = 0;
	return HMAC(hash->md(), key, (int)key_size, (const unsigned char *)msg,
		    msg_size, out, &len) != NULL && len == hash->key_size;
}

/* RFC 5802 7: client-final-message =
     channel-binding "," nonce ["," extensions] "," proof */
static void scram_client_final(struct auth_request *request, const char *msg)
{
	struct scram_state *state = request->mech_state;
	const struct scram_hash *hash = scram_request_hash(request);
	const char *fields[SCRAM_MAX_FIELDS];
	size_t lens[SCRAM_MAX_FIELDS];
	unsigned char proof[SCRAM_MAX_KEY_SIZE], signature[SCRAM_MAX_KEY_SIZE];
	unsigned char client_key[SCRAM_MAX_KEY_SIZE], stored_key[SCRAM_MAX_KEY_SIZE];
	unsigned int count, stored_len = 0;
	size_t proof_size;
	bool ok;

	count = scram_split(msg, fields, lens, SCRAM_MAX_FIELDS);
	if (count < 3) {
		scram_fail(request, "Invalid client-final-message (missing attributes)");
		return;
	}
	if (lens[0] < 2 || fields[0][0] != 'c' || fields[0][1] != '=') {
		scram_fail(request, "Invalid client-final-message (channel binding expected)");
		return;
	}
	/* RFC 5802 7: c= is base64(gs2-header), the exact header received
	   (downgrade protection: the flag must match too) */
	string_t *cbind = str_create(64);
	base64_encode(cbind, state->gs2_header, strlen(state->gs2_header));
	ok = lens[0] - 2 == str_len(cbind) &&
		memcmp(fields[0] + 2, str_c(cbind), str_len(cbind)) == 0;
	str_free(&cbind);
	if (!ok) {
		scram_fail(request, "Invalid channel binding data (c= does not "
			   "match the GS2 header)");
		return;
	}
	if (lens[1] < 2 || fields[1][0] != 'r' || fields[1][1] != '=') {
		scram_fail(request, "Invalid client-final-message (nonce expected)");
		return;
	}
	size_t cnonce_len = strlen(state->client_nonce);
	if (lens[1] - 2 != cnonce_len + SCRAM_SERVER_NONCE_SIZE ||
	    memcmp(fields[1] + 2, state->client_nonce, cnonce_len) != 0 ||
	    memcmp(fields[1] + 2 + cnonce_len, state->server_nonce,
		   SCRAM_SERVER_NONCE_SIZE) != 0) {
		scram_fail(request, "Wrong nonce");
		return;
	}
	const char *last = fields[count - 1];
	size_t last_len = lens[count - 1];
	if (last_len < 2 || last[0] != 'p' || last[1] != '=') {
		scram_fail(request, "Invalid client-final-message (proof expected last)");
		return;
	}
	for (unsigned int i = 2; i + 1 < count; i++) {
		if (!scram_extension_is_valid(fields[i], lens[i], "crp")) {
			scram_fail(request, "Invalid or duplicated attribute in "
				   "client-final-message");
			return;
		}
	}
	if (base64_decode_buf(last + 2, last_len - 2, proof, sizeof(proof),
			      &proof_size) < 0 || proof_size != hash->key_size) {
		scram_fail(request, "Invalid ClientProof");
		return;
	}

	/* RFC 5802 3: AuthMessage = client-first-message-bare ","
	   server-first-message "," client-final-message-without-proof */
	string_t *auth_message = str_create(512);
	str_append(auth_message, state->client_first_bare);
	str_append_c(auth_message, ',');
	str_append(auth_message, state->server_first);
	str_append_c(auth_message, ',');
	str_append_n(auth_message, msg, (size_t)(last - 1 - msg));

	/* ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage);
	   the proof is right if H(ClientKey) == StoredKey */
	ok = scram_hmac(hash, state->cred.stored_key, hash->key_size,
			str_c(auth_message), str_len(auth_message), signature);
	if (ok) {
		for (size_t i = 0; i < hash->key_size; i++)
			client_key[i] = proof[i] ^ signature[i];
		ok = EVP_Digest(client_key, hash->key_size, stored_key,
				&stored_len, hash->md(), NULL) == 1 &&
			stored_len == hash->key_size;
	}
	if (!ok) {
		auth_request_log_error(request, "%s: OpenSSL HMAC/digest failed",
				       request->mech->name);
		state->step = SCRAM_STEP_DONE;
		auth_request_internal_failure(request);
	} else if (!ct_memequal(stored_key, state->cred.stored_key, hash->key_size)) {
		scram_fail(request, "Password mismatch");
	} else if (!scram_hmac(hash, state->cred.server_key, hash->key_size,
			       str_c(auth_message), str_len(auth_message),
			       signature)) {
		auth_request_log_error(request, "%s: OpenSSL HMAC failed",
				       request->mech->name);
		state->step = SCRAM_STEP_DONE;
		auth_request_internal_failure(request);
	} else {
		/* RFC 5802 7: server-final-message = verifier ("v=") */
		string_t *reply = str_create(64);
		str_append(reply, "v=");
		base64_encode(reply, signature, hash->key_size);
		state->step = SCRAM_STEP_DONE;
		explicit_bzero(&state->cred, sizeof(state->cred));
		auth_request_success(request, str_data(reply), str_len(reply));
		str_free(&reply);
	}
	str_free(&auth_message);
	explicit_bzero(proof, sizeof(proof));
	explicit_bzero(signature, sizeof(signature));
	explicit_bzero(client_key, sizeof(client_key));
	explicit_bzero(stored_key, sizeof(stored_key));
}

static void scram_continue(struct auth_request *request,
			   const unsigned char *data, size_t size)
{
	struct scram_state *state = request->mech_state;

	if (size > SCRAM_MAX_MESSAGE_SIZE) {
		scram_fail(request, "Client message too long (%zu > %u bytes)",
			   size, SCRAM_MAX_MESSAGE_SIZE);
		return;
	}
	if (memchr(data, '\0', size) != NULL) {
		scram_fail(request, "NUL in client message");
		return;
	}
	char *msg = pool_strndup(request->pool, (const char *)data, size);
	switch (state->step) {
	case SCRAM_STEP_CLIENT_FIRST:
		scram_client_first(request, msg);
		break;
	case SCRAM_STEP_CLIENT_FINAL:
		scram_client_final(request, msg);
		break;
	case SCRAM_STEP_CREDENTIALS:
	case SCRAM_STEP_DONE:
		scram_fail(request, "Unexpected client message");
		break;
	}
}

static void scram_initial(struct auth_request *request, bool has_initial,
			  const unsigned char *data, size_t size)
{
	if (!has_initial) {
		/* RFC 4422: empty challenge, the client then sends client-first */
		auth_request_handler_reply_continue(request, NULL, 0);
		return;
	}
	scram_continue(request, data, size);
}

static void scram_free(struct auth_request *request)
{
	struct scram_state *state = request->mech_state;

	explicit_bzero(&state->cred, sizeof(state->cred));
	explicit_bzero(state->server_nonce, sizeof(state->server_nonce));
}

const struct sasl_mech sasl_mech_scram_sha1 = {
	.name = "SCRAM-SHA-1",
	.flags = SASL_MECH_SEC_MUTUAL_AUTH,
	.passdb_need = SASL_MECH_NEED_LOOKUP_CREDENTIALS,
	.credentials_scheme = "SCRAM-SHA-1",
	.state_size = sizeof(struct scram_state),
	.auth_initial = scram_initial,
	.auth_continue = scram_continue,
	.auth_free = scram_free,
};

const struct sasl_mech sasl_mech_scram_sha256 = {
	.name = "SCRAM-SHA-256",
	.flags = SASL_MECH_SEC_MUTUAL_AUTH,
	.passdb_need = SASL_MECH_NEED_LOOKUP_CREDENTIALS,
	.credentials_scheme = "SCRAM-SHA-256",
	.state_size = sizeof(struct scram_state),
	.auth_initial = scram_initial,
	.auth_continue = scram_continue,
	.auth_free = scram_free,
};
