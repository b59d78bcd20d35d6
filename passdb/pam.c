/* passdb pam: the typed password is checked by PAM (Dovecot 2.3
   passdb-pam). args: [session=yes] [setcred=yes] [failure_show_msg=yes]
   [max_requests=N] [cache_key=TEMPLATE] [timeout=SECS] [SERVICE]
   - SERVICE is the last word, %variables allowed (%s = imap, smtp ...);
     "*" is Dovecot's old spelling of %Ls; default "dovecot".
   - blocking=yes is accepted and ignored, as in Dovecot 2.3 (PAM always
     runs outside the event loop here: db-pam.h).
   - timeout=SECS is roost's: how long a conversation may take before the
     worker is killed and the request fails (default 60, Dovecot's auth
     worker lookup timeout).
   Results are cached only with cache_key= (auth-cache.md 1.2). */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "auth.h"
#include "auth-settings.h"
#include "auth-request.h"
#include "auth-cache.h"
#include "passdb.h"
#ifdef HAVE_PAM
#include "db-pam.h"
#endif

#include <stdlib.h>

#define PAM_DEFAULT_SERVICE "dovecot"
#define PAM_DEFAULT_MAX_REQUESTS 100
#define PAM_DEFAULT_TIMEOUT_SECS 60

struct pam_passdb_module {
	struct passdb_module module;
	const char *service_name;     /* template */
#ifdef HAVE_PAM
	struct db_pam_settings set;
	struct db_pam *db;
#endif
};

struct pam_passdb_request {
	struct pam_passdb_module *module;
	const char *service;
	passdb_verify_callback_t *callback;
};

static int parse_yes(const char *value)
{
	return str_eq(value, "yes") || str_eq(value, "y") ? 1 :
		str_eq(value, "no") || str_eq(value, "n") ? 0 : -1;
}

static int pam_preinit(struct pool *pool, const char *args,
		       struct passdb_module **module_r, const char **error_r)
{
	struct pam_passdb_module *module = pool_alloc(pool, sizeof(*module));
	unsigned int count;
	char **words = str_split(pool, pool_strdup(pool, args), ' ', &count);
	unsigned int max_requests = PAM_DEFAULT_MAX_REQUESTS;
	unsigned int timeout_secs = PAM_DEFAULT_TIMEOUT_SECS;
	bool session = false, setcred = false, failure_show_msg = false;
	const char *word_last = NULL;

	module->service_name = PAM_DEFAULT_SERVICE;
	module->module.default_pass_scheme = "PLAIN";
	for (unsigned int i = 0; i < count; i++) {
		if (*words[i] != '\0')
			word_last = words[i];
	}
	for (unsigned int i = 0; i < count; i++) {
		const char *word = words[i], *value;
		int yes = 0;

		if (*word == '\0')
			continue;
		if (str_eq(word, "-session"))
			session = true;
		else if (str_begins(word, "session=", &value) && (yes = parse_yes(value)) >= 0)
			session = yes == 1;
		else if (str_begins(word, "setcred=", &value) && (yes = parse_yes(value)) >= 0)
			setcred = yes == 1;
		else if (str_begins(word, "failure_show_msg=", &value) &&
			 (yes = parse_yes(value)) >= 0)
			failure_show_msg = yes == 1;
		else if (str_begins(word, "blocking=", &value) && parse_yes(value) >= 0)
			; /* Dovecot 2.3 ignores it too */
		else if (str_begins(word, "cache_key=", &value)) {
			const char *templates[] = { value, NULL };
			module->module.default_cache_key = *value == '\0' ? NULL :
				auth_cache_parse_key(pool, templates);
		} else if (str_begins(word, "max_requests=", &value)) {
			if (str_to_uint(value, &max_requests) < 0) {
				*error_r = pool_printf(pool, "pam: Invalid max_requests "
						       "value: %s (a number, 0 = unlimited)", value);
				return -1;
			}
		} else if (str_begins(word, "timeout=", &value)) {
			if (str_to_uint(value, &timeout_secs) < 0 || timeout_secs == 0 ||
			    timeout_secs > 3600) {
				*error_r = pool_printf(pool, "pam: Invalid timeout value: %s "
						       "(seconds, 1..3600)", value);
				return -1;
			}
		} else if (str_eq(word, "*"))
			module->service_name = "%Ls";
		else if (word == word_last && strchr(word, '=') == NULL)
			module->service_name = word;
		else {
			*error_r = pool_printf(pool, "pam: Unknown setting: %s (known: "
					       "session=yes setcred=yes failure_show_msg=yes "
					       "max_requests=N cache_key=KEY timeout=SECS "
					       "and the service name last)", word);
			return -1;
		}
	}
#ifdef HAVE_PAM
	module->set.session = session;
	module->set.setcred = setcred;
	module->set.failure_show_msg = failure_show_msg;
	module->set.max_requests = max_requests;
	module->set.timeout_secs = timeout_secs;
#else
	(void)session; (void)setcred; (void)failure_show_msg;
	(void)max_requests; (void)timeout_secs;
#endif
	*module_r = &module->module;
	return 0;
}

#ifdef HAVE_PAM
static int pam_init(struct passdb_module *_module, const char **error_r ATTR_UNUSED)
{
	struct pam_passdb_module *module = (struct pam_passdb_module *)_module;

	module->db = db_pam_create(&module->set);
	return 0;
}

static void pam_deinit(struct passdb_module *_module)
{
	struct pam_passdb_module *module = (struct pam_passdb_module *)_module;

	db_pam_destroy(&module->db);
}

static void pam_verify_done(struct auth_request *request,
			    const struct db_pam_reply *reply, void *context)
{
	struct pam_passdb_request *ctx = context;
	const char *call = reply->call;

	switch (reply->result) {
	case PASSDB_RESULT_OK:
		auth_request_log_debug(request, "pam(%s): authenticated", ctx->service);
		/* PAM may have canonicalized the name */
		if (reply->pam_user[0] != '\0')
			auth_request_set_field(request, "user", reply->pam_user, NULL);
		break;
	case PASSDB_RESULT_USER_UNKNOWN:
		if (request->auth->set->auth_verbose || auth_request_want_debug(request))
			auth_request_log_info(request, "pam(%s): unknown user", ctx->service);
		break;
	case PASSDB_RESULT_PASSWORD_MISMATCH:
		if (request->auth->set->auth_debug_passwords) {
			auth_request_log_info(request, "pam(%s): %s() failed: %s "
					      "(password mismatch?) (given password: %s)",
					      ctx->service, call, reply->error,
					      request->mech_password != NULL ?
					      request->mech_password : "");
		} else {
			auth_request_log_info(request, "pam(%s): %s() failed: %s "
					      "(password mismatch?)", ctx->service, call,
					      reply->error);
		}
		break;
	case PASSDB_RESULT_PASS_EXPIRED:
		auth_request_log_info(request, "pam(%s): %s() failed: %s",
				      ctx->service, call, reply->error);
		break;
	default:
		/* timeouts and worker deaths were logged by db-pam already */
		if (call[0] != '\0') {
			auth_request_log_error(request, "pam(%s): %s() failed: %s "
					       "(PAM status %d)", ctx->service, call,
					       reply->error, reply->pam_status);
		}
		break;
	}
	if (reply->result != PASSDB_RESULT_OK && reply->message[0] != '\0')
		auth_request_set_field(request, "reason", reply->message, NULL);
	ctx->callback(request, reply->result);
}

static void pam_verify_plain(struct passdb_module *_module, struct auth_request *request,
			     const char *password, passdb_verify_callback_t *callback)
{
	struct pam_passdb_module *module = (struct pam_passdb_module *)_module;
	string_t *str = str_create(64);
	const char *error;

	if (auth_request_var_expand(str, module->service_name, request, &error) < 0) {
		auth_request_log_error(request, "pam: Failed to expand service name %s: %s",
				       module->service_name, error);
		str_free(&str);
		callback(request, PASSDB_RESULT_INTERNAL_FAILURE);
		return;
	}
	/* the service names a file in /etc/pam.d */
	if (str_len(str) == 0 || strchr(str_c(str), '/') != NULL) {
		auth_request_log_error(request, "pam: Invalid PAM service name \"%s\" "
				       "(from %s)", str_c(str), module->service_name);
		str_free(&str);
		callback(request, PASSDB_RESULT_INTERNAL_FAILURE);
		return;
	}
	struct pam_passdb_request *ctx = pool_alloc(request->pool, sizeof(*ctx));
	ctx->module = module;
	ctx->service = pool_strdup(request->pool, str_c(str));
	ctx->callback = callback;
	str_free(&str);
	auth_request_log_debug(request, "pam: lookup service=%s", ctx->service);
	db_pam_verify(module->db, request, ctx->service, password, pam_verify_done, ctx);
}
#endif

const struct passdb_driver passdb_driver_pam = {
	.name = "pam",
	/* blocking, but db-pam runs it in its own worker processes */
	.blocking = false,
#ifdef HAVE_PAM
	.available = true,
	.preinit = pam_preinit,
	.init = pam_init,
	.deinit = pam_deinit,
	.verify_plain = pam_verify_plain,
#else
	.available = false,
	.preinit = pam_preinit,
#endif
};
