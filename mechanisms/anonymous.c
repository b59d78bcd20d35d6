/* ANONYMOUS (RFC 4505): one optional client message of trace information;
   the login becomes auth_anonymous_username. As Dovecot 2.3: no passdb is
   consulted, any trace is accepted (also one longer than the RFC's 255
   characters, or with NULs), and the OK line carries the bare
   "anonymous" field (added by the client connection for any login as the
   anonymous user). */
#include "lib.h"
#include "str.h"
#include "pool.h"
#include "sasl-mech.h"
#include "auth.h"
#include "auth-settings.h"
#include "auth-request.h"

/* RFC 4505 3: trace = 1*255TCHAR (or an email address). Longer traces are
   accepted like Dovecot does, but only this much of one is logged. */
#define ANONYMOUS_TRACE_LOG_MAX 255

/* Append the trace for a log line: printable ASCII as is, other bytes as
   \xNN (the trace is untrusted and may hold NULs, TABs, LFs). */
static void anonymous_trace_append(string_t *dest, const unsigned char *data,
				   size_t size)
{
	size_t n = size < ANONYMOUS_TRACE_LOG_MAX ? size : ANONYMOUS_TRACE_LOG_MAX;

	for (size_t i = 0; i < n; i++) {
		if (data[i] >= 0x20 && data[i] < 0x7f && data[i] != '\\')
			str_append_c(dest, (char)data[i]);
		else
			str_printfa(dest, "\\x%02x", data[i]);
	}
	if (n < size)
		str_printfa(dest, "... (%zu bytes)", size);
}

static void anonymous_auth(struct auth_request *request,
			   const unsigned char *data, size_t size)
{
	const struct auth_settings *set = request->auth->set;

	/* auth_mechs_init() refuses ANONYMOUS without an anonymous user */
	i_assert(set->auth_anonymous_username != NULL &&
		 set->auth_anonymous_username[0] != '\0');
	if (set->auth_verbose || auth_request_want_debug(request)) {
		string_t *trace = str_create(64);
		anonymous_trace_append(trace, data, size);
		auth_request_log_info(request, "ANONYMOUS: login (trace: %s)",
				      str_c(trace));
		str_free(&trace);
	}
	/* Not through auth_request_set_username(): as in Dovecot the
	   configured name is used as is (no realm, format or translation),
	   so the OK line's "anonymous" field still matches it. */
	request->user = pool_strdup(request->pool, set->auth_anonymous_username);
	auth_request_update_log_prefix(request);
	request->passdb_success = true;
	auth_request_success(request, NULL, 0);
}

static void anonymous_initial(struct auth_request *request, bool has_initial,
			      const unsigned char *data, size_t size)
{
	if (!has_initial) {
		/* RFC 4422 5: empty challenge, the client then sends the trace */
		auth_request_handler_reply_continue(request, NULL, 0);
		return;
	}
	anonymous_auth(request, data, size);
}

const struct sasl_mech sasl_mech_anonymous = {
	.name = "ANONYMOUS",
	.flags = SASL_MECH_SEC_ANONYMOUS | SASL_MECH_ALLOW_NULS,
	.passdb_need = SASL_MECH_NEED_NOTHING,
	.auth_initial = anonymous_initial,
	.auth_continue = anonymous_auth,
};
