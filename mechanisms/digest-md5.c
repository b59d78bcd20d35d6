/* DIGEST-MD5 (RFC 2831, historic per RFC 6331) as Dovecot 2.3 offers it:
   initial authentication only (nc=00000001), qop=auth only (no security
   layers), charset=utf-8, algorithm=md5-sess. The server needs
   {DIGEST-MD5} credentials, MD5(user ":" realm ":" password), which the
   passdb layer derives from a plaintext password when that is stored.

   Exchange: S digest-challenge -> C digest-response -> S rspauth=...
   (sent as an extra CONT by the protocol layer unless the client said
   final-resp-ok) -> C empty -> S OK. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "hex.h"
#include "ct.h"
#include "base64.h"
#include "randbytes.h"
#include "sasl-mech.h"
#include "auth.h"
#include "auth-request.h"
#include "auth-fields.h"
#include "auth-settings.h"

#include <strings.h>
#include <openssl/evp.h>

#define DIGEST_MD5_NONCE_BYTES 16
#define DIGEST_MD5_NONCE_LEN BASE64_ENCODED_SIZE(DIGEST_MD5_NONCE_BYTES)
#define DIGEST_MD5_HASH_SIZE 16
#define DIGEST_MD5_HEX_LEN (DIGEST_MD5_HASH_SIZE * 2)
/* Bounds on untrusted input: a whole digest-response and one value.
   Real responses are a few hundred bytes. */
#define DIGEST_MD5_RESPONSE_MAX 4096
#define DIGEST_MD5_VALUE_MAX 1024
/* RFC 2831 2.1.2: nc-value = 8LHEX; only the first authentication */
#define DIGEST_MD5_NC_FIRST "00000001"

enum digest_md5_directive {
	DIRECTIVE_USERNAME,
	DIRECTIVE_REALM,
	DIRECTIVE_NONCE,
	DIRECTIVE_CNONCE,
	DIRECTIVE_NC,
	DIRECTIVE_QOP,
	DIRECTIVE_DIGEST_URI,
	DIRECTIVE_RESPONSE,
	DIRECTIVE_MAXBUF,
	DIRECTIVE_CHARSET,
	DIRECTIVE_CIPHER,
	DIRECTIVE_AUTHZID,

	DIRECTIVE_COUNT
};

static const char *const directive_names[DIRECTIVE_COUNT] = {
	[DIRECTIVE_USERNAME] = "username",
	[DIRECTIVE_REALM] = "realm",
	[DIRECTIVE_NONCE] = "nonce",
	[DIRECTIVE_CNONCE] = "cnonce",
	[DIRECTIVE_NC] = "nc",
	[DIRECTIVE_QOP] = "qop",
	[DIRECTIVE_DIGEST_URI] = "digest-uri",
	[DIRECTIVE_RESPONSE] = "response",
	[DIRECTIVE_MAXBUF] = "maxbuf",
	[DIRECTIVE_CHARSET] = "charset",
	[DIRECTIVE_CIPHER] = "cipher",
	[DIRECTIVE_AUTHZID] = "authzid",
};

/* RFC 2831 2.1.2: these must be present exactly once */
static const enum digest_md5_directive required_directives[] = {
	DIRECTIVE_USERNAME, DIRECTIVE_NONCE, DIRECTIVE_CNONCE, DIRECTIVE_NC,
	DIRECTIVE_DIGEST_URI, DIRECTIVE_RESPONSE,
};

struct digest_md5_state {
	char nonce[DIGEST_MD5_NONCE_LEN + 1];
	bool challenge_sent;
	bool response_received;

	/* the client's digest-response (strings in the request pool) */
	const char *values[DIRECTIVE_COUNT];
	unsigned char response[DIGEST_MD5_HASH_SIZE];
};

/* ---- the challenge (RFC 2831 2.1.1) ------------------------------------ */

static void append_quoted(string_t *dest, const char *value)
{
	str_append_c(dest, '"');
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			str_append_c(dest, '\\');
		str_append_c(dest, *p);
	}
	str_append_c(dest, '"');
}

static void digest_md5_append_realms(struct auth_request *request, string_t *dest)
{
	const char *realms = request->auth->set->auth_realms;
	bool any = false;

	if (realms != NULL) {
		char *copy = x_strdup(realms);
		char *saveptr = NULL;
		for (char *realm = strtok_r(copy, " \t", &saveptr); realm != NULL;
		     realm = strtok_r(NULL, " \t", &saveptr)) {
			str_append(dest, "realm=");
			append_quoted(dest, realm);
			str_append_c(dest, ',');
			any = true;
		}
		free(copy);
	}
	if (!any) {
		/* as Dovecot: with no realms configured, an empty one (Cyrus
		   clients otherwise default to the destination host name) */
		str_append(dest, "realm=\"\",");
	}
}

static void digest_md5_initial(struct auth_request *request,
			       bool has_initial ATTR_UNUSED,
			       const unsigned char *data ATTR_UNUSED,
			       size_t size ATTR_UNUSED)
{
	struct digest_md5_state *state = request->mech_state;
	unsigned char rnd[DIGEST_MD5_NONCE_BYTES];
	string_t *challenge = str_create(256);

	/* Server-first: like Dovecot, an initial response (RFC 2831 2.2
	   subsequent authentication) is ignored and a fresh challenge sent. */
	random_bytes(rnd, sizeof(rnd));
	base64_encode_buf(state->nonce, sizeof(state->nonce), rnd, sizeof(rnd));
	explicit_bzero(rnd, sizeof(rnd));

	digest_md5_append_realms(request, challenge);
	str_printfa(challenge, "nonce=\"%s\",", state->nonce);
	str_append(challenge, "qop=\"auth\",charset=\"utf-8\",algorithm=\"md5-sess\"");
	state->challenge_sent = true;
	auth_request_handler_reply_continue(request, str_data(challenge),
					    str_len(challenge));
	str_free(&challenge);
}

/* ---- parsing the digest-response (RFC 2831 2.1.2, 7.1) ----------------- */

static bool is_lws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_token_char(unsigned char c)
{
	/* RFC 2616 2.2 token: CHAR except CTLs and separators */
	if (c <= 32 || c >= 127)
		return false;
	return strchr("()<>@,;:\\\"/[]?={}", c) == NULL;
}

static int directive_find(const unsigned char *key, size_t key_len)
{
	for (int i = 0; i < DIRECTIVE_COUNT; i++) {
		if (strlen(directive_names[i]) == key_len &&
		    strncasecmp(directive_names[i], (const char *)key, key_len) == 0)
			return i;
	}
	return -1;
}

/* Read one value at *pos: a token or a quoted-string with \-escapes.
   Returns 0 with *value_r in the request pool, or -1 with *error_r. */
static int parse_value(struct auth_request *request, const unsigned char *data,
		       size_t size, size_t *pos, const char **value_r,
		       const char **error_r)
{
	string_t *value = str_create_max(64, DIGEST_MD5_VALUE_MAX);
	size_t i = *pos;
	int ret = 0;

	if (i < size && data[i] == '"') {
		for (i++; i < size && data[i] != '"'; i++) {
			if (data[i] == '\\' && i + 1 < size)
				i++;
			str_append_c(value, (char)data[i]);
		}
		if (i == size) {
			*error_r = "unterminated quoted string";
			ret = -1;
		} else {
			i++;
		}
	} else {
		for (; i < size && data[i] != ',' && !is_lws(data[i]); i++) {
			if (data[i] == '"') {
				*error_r = "quote inside a token value";
				ret = -1;
				break;
			}
			str_append_c(value, (char)data[i]);
		}
	}
	if (ret == 0 && str_overflowed(value)) {
		*error_r = "value too long";
		ret = -1;
	}
	if (ret == 0)
		*value_r = pool_strdup(request->pool, str_c(value));
	str_free(&value);
	*pos = i;
	return ret;
}

static bool check_digest_uri(const char *uri)
{
	/* digest-uri-value = serv-type "/" host [ "/" serv-name ] */
	const char *slash = strchr(uri, '/');
	if (slash == NULL || slash == uri || slash[1] == '\0' || slash[1] == '/')
		return false;
	const char *slash2 = strchr(slash + 1, '/');
	if (slash2 == NULL)
		return true;
	return slash2[1] != '\0' && strchr(slash2 + 1, '/') == NULL;
}

/* Check one directive's value and remember it. */
static int handle_directive(struct auth_request *request,
			    enum digest_md5_directive directive,
			    const char *value, const char **error_r)
{
	struct digest_md5_state *state = request->mech_state;
	uint64_t num;
	size_t size;

	switch (directive) {
	case DIRECTIVE_USERNAME:
	case DIRECTIVE_CNONCE:
	case DIRECTIVE_AUTHZID:
		if (*value == '\0') {
			*error_r = pool_printf(request->pool, "empty %s",
					       directive_names[directive]);
			return -1;
		}
		break;
	case DIRECTIVE_REALM:
	case DIRECTIVE_CIPHER:
		/* cipher only matters with qop=auth-conf, never accepted */
		break;
	case DIRECTIVE_NONCE:
		/* the nonce is public: plain compare is fine */
		if (strcmp(value, state->nonce) != 0) {
			*error_r = "nonce is not the one we sent "
				"(unknown, foreign or replayed nonce)";
			return -1;
		}
		break;
	case DIRECTIVE_NC:
		if (strlen(value) != 8 || strspn(value, "0123456789abcdefABCDEF") != 8) {
			*error_r = "invalid nc (need 8 hex digits)";
			return -1;
		}
		if (strcmp(value, DIGEST_MD5_NC_FIRST) != 0) {
			*error_r = pool_printf(request->pool, "nc=%s: subsequent "
					       "authentication (nonce reuse) not supported",
					       value);
			return -1;
		}
		break;
	case DIRECTIVE_QOP:
		if (strcasecmp(value, "auth-int") == 0 ||
		    strcasecmp(value, "auth-conf") == 0) {
			*error_r = pool_printf(request->pool, "qop=%s not offered "
					       "(no security layers)", value);
			return -1;
		}
		if (strcasecmp(value, "auth") != 0) {
			*error_r = "unknown qop value";
			return -1;
		}
		break;
	case DIRECTIVE_DIGEST_URI:
		if (!check_digest_uri(value)) {
			*error_r = "invalid digest-uri (need serv-type/host[/serv-name])";
			return -1;
		}
		break;
	case DIRECTIVE_RESPONSE:
		/* RFC 2831 2.1.2: response-value = 32LHEX */
		if (strlen(value) != DIGEST_MD5_HEX_LEN ||
		    strspn(value, "0123456789abcdef") != DIGEST_MD5_HEX_LEN ||
		    hex_decode_buf(value, DIGEST_MD5_HEX_LEN, state->response,
				   sizeof(state->response), &size) < 0 ||
		    size != sizeof(state->response)) {
			*error_r = "invalid response (need 32 lower-case hex digits)";
			return -1;
		}
		break;
	case DIRECTIVE_MAXBUF:
		if (str_to_uint64(value, &num) < 0 || num == 0) {
			*error_r = "invalid maxbuf";
			return -1;
		}
		break;
	case DIRECTIVE_CHARSET:
		if (strcasecmp(value, "utf-8") != 0) {
			*error_r = "only charset=utf-8 is allowed";
			return -1;
		}
		break;
	case DIRECTIVE_COUNT:
		i_unreached();
	}
	state->values[directive] = value;
	return 0;
}

static int parse_digest_response(struct auth_request *request,
				 const unsigned char *data, size_t size,
				 const char **error_r)
{
	struct digest_md5_state *state = request->mech_state;
	size_t pos = 0;

	if (size == 0) {
		*error_r = "client sent no input";
		return -1;
	}
	if (size > DIGEST_MD5_RESPONSE_MAX) {
		*error_r = pool_printf(request->pool, "response too long "
				       "(%zu > %d bytes)", size, DIGEST_MD5_RESPONSE_MAX);
		return -1;
	}
	for (;;) {
		/* RFC 2616 2.1 #rule: empty list elements are allowed */
		while (pos < size && (is_lws(data[pos]) || data[pos] == ','))
			pos++;
		if (pos == size)
			break;

		size_t key_start = pos;
		while (pos < size && is_token_char(data[pos]))
			pos++;
		size_t key_len = pos - key_start;
		while (pos < size && is_lws(data[pos]))
			pos++;
		if (key_len == 0 || pos == size || data[pos] != '=') {
			*error_r = "malformed directive (need name=value)";
			return -1;
		}
		pos++;
		while (pos < size && is_lws(data[pos]))
			pos++;

		const char *value, *error;
		int directive = directive_find(data + key_start, key_len);
		if (parse_value(request, data, size, &pos, &value, &error) < 0) {
			*error_r = pool_printf(request->pool, "%.*s: %s",
					       (int)(key_len > 32 ? 32 : key_len),
					       (const char *)data + key_start, error);
			return -1;
		}
		while (pos < size && is_lws(data[pos]))
			pos++;
		if (pos < size && data[pos] != ',') {
			*error_r = pool_printf(request->pool, "%.*s: garbage after value",
					       (int)(key_len > 32 ? 32 : key_len),
					       (const char *)data + key_start);
			return -1;
		}
		if (directive < 0) {
			/* RFC 2831 2.1.2: unknown directives are ignored */
			continue;
		}
		if (state->values[directive] != NULL) {
			/* RFC 2831 2.1.2: each at most once */
			*error_r = pool_printf(request->pool, "%s must not appear "
					       "more than once", directive_names[directive]);
			return -1;
		}
		if (handle_directive(request, (enum digest_md5_directive)directive,
				     value, error_r) < 0)
			return -1;
	}
	for (size_t i = 0; i < N_ELEMENTS(required_directives); i++) {
		if (state->values[required_directives[i]] == NULL) {
			*error_r = pool_printf(request->pool, "missing %s",
					       directive_names[required_directives[i]]);
			return -1;
		}
	}
	/* RFC 2831 2.1.2: qop defaults to "auth" */
	if (state->values[DIRECTIVE_QOP] == NULL)
		state->values[DIRECTIVE_QOP] = "auth";
	return 0;
}

/* ---- verifying (RFC 2831 2.1.2.1, 2.1.3) ------------------------------- */

static bool md5_hex(const string_t *input, char hex_r[DIGEST_MD5_HEX_LEN + 1])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (EVP_Digest(str_data(input), str_len(input), digest, &len,
		       EVP_md5(), NULL) != 1 || len != DIGEST_MD5_HASH_SIZE)
		return false;
	hex_encode_buf(hex_r, DIGEST_MD5_HEX_LEN + 1, digest, DIGEST_MD5_HASH_SIZE);
	explicit_bzero(digest, sizeof(digest));
	return true;
}

/* HEX(KD(HEX(H(A1)), nonce:nc:cnonce:qop:HEX(H(A2)))) with
   A2 = prefix digest-uri; prefix "AUTHENTICATE:" for the client's
   response, ":" for the server's rspauth. */
static bool digest_md5_kd(const struct digest_md5_state *state,
			  const char a1_hex[DIGEST_MD5_HEX_LEN + 1],
			  const char *a2_prefix, char hex_r[DIGEST_MD5_HEX_LEN + 1])
{
	char a2_hex[DIGEST_MD5_HEX_LEN + 1];
	string_t *str = str_create_secure(256);
	bool ret;

	str_append(str, a2_prefix);
	str_append(str, state->values[DIRECTIVE_DIGEST_URI]);
	ret = md5_hex(str, a2_hex);
	str_clear(str);
	str_printfa(str, "%s:%s:%s:%s:%s:%s", a1_hex, state->nonce,
		    state->values[DIRECTIVE_NC], state->values[DIRECTIVE_CNONCE],
		    state->values[DIRECTIVE_QOP], a2_hex);
	ret = ret && md5_hex(str, hex_r);
	str_free(&str);
	return ret;
}

static void digest_md5_credentials_callback(struct auth_request *request,
					    enum passdb_result result,
					    const unsigned char *credentials,
					    size_t size)
{
	struct digest_md5_state *state = request->mech_state;
	char a1_hex[DIGEST_MD5_HEX_LEN + 1], response_hex[DIGEST_MD5_HEX_LEN + 1];
	char rspauth_hex[DIGEST_MD5_HEX_LEN + 1];
	unsigned char response[DIGEST_MD5_HASH_SIZE];
	size_t response_size;
	bool ok, match;

	if (result != PASSDB_RESULT_OK) {
		auth_request_verify_plain_callback_finish(request, result);
		return;
	}
	if (size != DIGEST_MD5_HASH_SIZE) {
		auth_request_log_error(request, "DIGEST-MD5: invalid credentials "
				       "length %zu (expected %d)", size,
				       DIGEST_MD5_HASH_SIZE);
		auth_request_internal_failure(request);
		return;
	}
	/* A1 = H(user:realm:pass) ":" nonce ":" cnonce [ ":" authzid ] */
	string_t *a1 = str_create_secure(128);
	str_append_n(a1, credentials, size);
	str_printfa(a1, ":%s:%s", state->nonce, state->values[DIRECTIVE_CNONCE]);
	if (state->values[DIRECTIVE_AUTHZID] != NULL) {
		str_append_c(a1, ':');
		str_append(a1, state->values[DIRECTIVE_AUTHZID]);
	}
	ok = md5_hex(a1, a1_hex) &&
		digest_md5_kd(state, a1_hex, "AUTHENTICATE:", response_hex) &&
		digest_md5_kd(state, a1_hex, ":", rspauth_hex);
	str_free(&a1);
	explicit_bzero(a1_hex, sizeof(a1_hex));
	if (!ok) {
		explicit_bzero(response_hex, sizeof(response_hex));
		auth_request_log_error(request, "DIGEST-MD5: OpenSSL MD5 digest failed");
		auth_request_internal_failure(request);
		return;
	}
	if (hex_decode_buf(response_hex, DIGEST_MD5_HEX_LEN, response,
			   sizeof(response), &response_size) < 0)
		i_unreached();
	match = ct_memequal(response, state->response, sizeof(response));
	explicit_bzero(response, sizeof(response));
	explicit_bzero(response_hex, sizeof(response_hex));
	if (!match) {
		auth_request_log_info(request, "DIGEST-MD5: password mismatch");
		auth_request_fail(request);
		return;
	}
	char rspauth[sizeof("rspauth=") + DIGEST_MD5_HEX_LEN];
	memcpy(rspauth, "rspauth=", 8);
	memcpy(rspauth + 8, rspauth_hex, DIGEST_MD5_HEX_LEN + 1);
	auth_request_success(request, (const unsigned char *)rspauth,
			     8 + DIGEST_MD5_HEX_LEN);
}

static void digest_md5_continue(struct auth_request *request,
				const unsigned char *data, size_t size)
{
	struct digest_md5_state *state = request->mech_state;
	const char *error, *username, *realm;

	/* the protocol layer passes a CONT only after our challenge, and
	   none after the response */
	i_assert(state->challenge_sent && !state->response_received);
	state->response_received = true;

	if (parse_digest_response(request, data, size, &error) < 0) {
		auth_request_log_info(request, "DIGEST-MD5: %s", error);
		auth_request_fail(request);
		return;
	}
	/* as Dovecot: a realm is appended to a user name without one, and
	   the {DIGEST-MD5} hash is looked up for "user@realm" */
	username = state->values[DIRECTIVE_USERNAME];
	realm = state->values[DIRECTIVE_REALM];
	if (realm != NULL && *realm != '\0' && strchr(username, '@') == NULL)
		username = pool_printf(request->pool, "%s@%s", username, realm);
	if (!auth_request_set_username(request, username, &error)) {
		auth_request_log_info(request, "DIGEST-MD5: %s", error);
		auth_request_fail(request);
		return;
	}
	const char *authzid = state->values[DIRECTIVE_AUTHZID];
	if (authzid != NULL && strcmp(authzid, username) != 0 &&
	    strcmp(authzid, state->values[DIRECTIVE_USERNAME]) != 0) {
		if (!auth_request_set_login_username(request, authzid, &error)) {
			auth_request_log_info(request, "DIGEST-MD5: authorization id: %s",
					      error);
			auth_request_fail(request);
			return;
		}
		/* Master-user logins come with master passdbs (as PLAIN). */
		auth_request_log_info(request, "DIGEST-MD5: login as another user (%s) "
				      "requires a master passdb",
				      request->requested_login_user);
		auth_fields_set(request->extra_fields, "code", "authz_fail");
		auth_request_fail(request);
		return;
	}
	auth_request_lookup_credentials(request, "DIGEST-MD5",
					digest_md5_credentials_callback);
}

static void digest_md5_free(struct auth_request *request)
{
	struct digest_md5_state *state = request->mech_state;

	if (state != NULL)
		explicit_bzero(state->response, sizeof(state->response));
}

const struct sasl_mech sasl_mech_digest_md5 = {
	.name = "DIGEST-MD5",
	.flags = SASL_MECH_SEC_DICTIONARY | SASL_MECH_SEC_ACTIVE |
		SASL_MECH_SEC_MUTUAL_AUTH,
	.passdb_need = SASL_MECH_NEED_LOOKUP_CREDENTIALS,
	.credentials_scheme = "DIGEST-MD5",
	.state_size = sizeof(struct digest_md5_state),
	.auth_initial = digest_md5_initial,
	.auth_continue = digest_md5_continue,
	.auth_free = digest_md5_free,
};
