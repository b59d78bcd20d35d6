/* LOGIN (draft-murchison-sasl-login): "Username:" and "Password:"
   prompts. An initial response is taken as the username. */
#include "lib.h"
#include "str.h"
#include "sasl-mech.h"
#include "auth-request.h"

struct login_state {
	bool have_username;
};

static void login_verify_callback(struct auth_request *request,
				  enum passdb_result result)
{
	auth_request_verify_plain_callback_finish(request, result);
}

static bool login_set_username(struct auth_request *request,
			       const unsigned char *data, size_t size)
{
	string_t *name = str_create(64);
	const char *error;
	bool ret;

	str_append_n(name, data, size);
	ret = auth_request_set_username(request, str_c(name), &error);
	if (!ret)
		auth_request_log_info(request, "LOGIN: %s", error);
	str_free(&name);
	return ret;
}

static void login_continue(struct auth_request *request,
			   const unsigned char *data, size_t size)
{
	struct login_state *state = request->mech_state;
	static const char prompt2[] = "Password:";

	if (!state->have_username) {
		if (!login_set_username(request, data, size)) {
			auth_request_fail(request);
			return;
		}
		state->have_username = true;
		auth_request_handler_reply_continue(request,
			(const unsigned char *)prompt2, sizeof(prompt2) - 1);
		return;
	}
	string_t *pass = str_create_secure(64);
	str_append_n(pass, data, size);
	auth_request_verify_plain(request, str_c(pass), login_verify_callback);
	str_free(&pass);
}

static void login_initial(struct auth_request *request, bool has_initial,
			  const unsigned char *data, size_t size)
{
	static const char prompt1[] = "Username:";

	if (has_initial && size > 0) {
		login_continue(request, data, size);
		return;
	}
	auth_request_handler_reply_continue(request,
		(const unsigned char *)prompt1, sizeof(prompt1) - 1);
}

const struct sasl_mech sasl_mech_login = {
	.name = "LOGIN",
	.flags = SASL_MECH_SEC_PLAINTEXT,
	.passdb_need = SASL_MECH_NEED_VERIFY_PLAIN,
	.state_size = sizeof(struct login_state),
	.auth_initial = login_initial,
	.auth_continue = login_continue,
};
