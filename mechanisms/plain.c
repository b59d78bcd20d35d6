/* PLAIN (RFC 4616): [authzid] NUL authcid NUL passwd, in one message. */
#include "lib.h"
#include "str.h"
#include "sasl-mech.h"
#include "auth-request.h"
#include "auth-fields.h"

static void plain_verify_callback(struct auth_request *request,
				  enum passdb_result result)
{
	auth_request_verify_plain_callback_finish(request, result);
}

static void plain_auth(struct auth_request *request,
		       const unsigned char *data, size_t size)
{
	const unsigned char *nul1, *nul2;
	const char *error;

	nul1 = memchr(data, '\0', size);
	nul2 = nul1 == NULL ? NULL : memchr(nul1 + 1, '\0', size - (size_t)(nul1 + 1 - data));
	if (nul2 == NULL) {
		auth_request_log_info(request, "PLAIN: invalid input (need authzid NUL authcid NUL password)");
		auth_request_fail(request);
		return;
	}
	/* RFC 4616 2: the password must not contain NUL */
	if (memchr(nul2 + 1, '\0', size - (size_t)(nul2 + 1 - data)) != NULL) {
		auth_request_log_info(request, "PLAIN: NUL in password");
		auth_request_fail(request);
		return;
	}
	string_t *authzid = str_create(64), *authcid = str_create(64);
	string_t *pass = str_create_secure(64);
	str_append_n(authzid, data, (size_t)(nul1 - data));
	str_append_n(authcid, nul1 + 1, (size_t)(nul2 - nul1 - 1));
	str_append_n(pass, nul2 + 1, size - (size_t)(nul2 + 1 - data));

	if (!auth_request_set_username(request, str_c(authcid), &error)) {
		auth_request_log_info(request, "PLAIN: %s", error);
		auth_request_fail(request);
	} else if (str_len(authzid) > 0 &&
		   strcmp(str_c(authzid), str_c(authcid)) != 0 &&
		   !auth_request_set_login_username(request, str_c(authzid), &error)) {
		auth_request_log_info(request, "PLAIN: authorization id: %s", error);
		auth_request_fail(request);
	} else {
		auth_request_verify_plain(request, str_c(pass), plain_verify_callback);
	}
	str_free(&authzid);
	str_free(&authcid);
	str_free(&pass);
}

static void plain_initial(struct auth_request *request, bool has_initial,
			  const unsigned char *data, size_t size)
{
	if (!has_initial) {
		/* RFC 4422: empty challenge, the client then sends the data */
		auth_request_handler_reply_continue(request, NULL, 0);
		return;
	}
	plain_auth(request, data, size);
}

const struct sasl_mech sasl_mech_plain = {
	.name = "PLAIN",
	.flags = SASL_MECH_SEC_PLAINTEXT | SASL_MECH_ALLOW_NULS,
	.passdb_need = SASL_MECH_NEED_VERIFY_PLAIN,
	.auth_initial = plain_initial,
	.auth_continue = plain_auth,
};
