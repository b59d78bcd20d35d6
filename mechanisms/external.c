/* EXTERNAL (RFC 4422 App. A): the client was authenticated outside SASL,
   by a TLS client certificate its login process verified. The identity is
   the AUTH parameter cert_username (honoured only with
   auth_ssl_username_from_cert, as in Dovecot 2.3); the one client message
   is an optional authorization id. As Dovecot, the passdb is then asked to
   verify an empty password: the user must exist and the passdb must allow
   it (nopassword), and can still deny it (nologin, allow_nets, ...). */
#include "lib.h"
#include "str.h"
#include "sasl-mech.h"
#include "auth.h"
#include "auth-settings.h"
#include "auth-request.h"
#include "auth-fields.h"

static void external_verify_callback(struct auth_request *request,
				     enum passdb_result result)
{
	auth_request_verify_plain_callback_finish(request, result);
}

static void external_auth(struct auth_request *request,
			  const unsigned char *data, size_t size)
{
	const struct auth_settings *set = request->auth->set;
	const char *error;

	/* Stricter than Dovecot 2.3, which trusts cert_username alone: the
	   name is only as good as the certificate the client verified, so
	   the client must say it did (its own login processes always send
	   both together). */
	if (!request->valid_client_cert) {
		auth_request_log_info(request, "EXTERNAL: client didn't present "
				      "a valid SSL certificate");
		auth_fields_set(request->extra_fields, "reason",
				"Client didn't present valid SSL certificate");
		auth_request_fail(request);
		return;
	}
	if (!set->auth_ssl_username_from_cert || request->cert_username == NULL ||
	    request->cert_username[0] == '\0') {
		auth_request_log_info(request, "EXTERNAL: username not known%s",
				      set->auth_ssl_username_from_cert ? "" :
				      " (auth_ssl_username_from_cert = no)");
		auth_request_fail(request);
		return;
	}
	/* The mechanism itself gives no name: auth_request_set_username()
	   takes cert_username and applies realm, format and translation to
	   it. As Dovecot, the OK line then has original_user= (empty). */
	if (!auth_request_set_username(request, "", &error)) {
		auth_request_log_info(request, "EXTERNAL: %s", error);
		auth_request_fail(request);
		return;
	}
	if (size > 0) {
		/* RFC 4422 App. A.1: an authorization id; the same name as
		   the certificate's is no request to change identity */
		string_t *authzid = str_create(64);
		bool ok;

		str_append_n(authzid, data, size);
		ok = auth_request_set_login_username(request, str_c(authzid), &error);
		str_free(&authzid);
		if (!ok) {
			auth_request_log_info(request, "EXTERNAL: authorization id: %s", error);
			auth_request_fail(request);
			return;
		}
		if (strcmp(request->requested_login_user, request->user) == 0) {
			request->requested_login_user = NULL;
		} else {
			/* Dovecot 2.3 fails this without a code (its check
			   runs before any master passdb) */
			auth_request_log_info(request, "EXTERNAL: login as another user "
					      "(%s) requires a master passdb",
					      request->requested_login_user);
			auth_request_fail(request);
			return;
		}
	}
	auth_request_verify_plain(request, "", external_verify_callback);
}

static void external_initial(struct auth_request *request, bool has_initial,
			     const unsigned char *data, size_t size)
{
	if (!has_initial) {
		/* RFC 4422 5: empty challenge, the client then sends the
		   (possibly empty) authorization id */
		auth_request_handler_reply_continue(request, NULL, 0);
		return;
	}
	external_auth(request, data, size);
}

const struct sasl_mech sasl_mech_external = {
	.name = "EXTERNAL",
	.flags = 0,
	.passdb_need = SASL_MECH_NEED_VERIFY_PLAIN,
	.auth_initial = external_initial,
	.auth_continue = external_auth,
};
