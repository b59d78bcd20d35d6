/* userdb static: the same fields (with %variables) for every user. Unless
   allow_all_users=yes, the user's existence is checked with a passdb
   lookup first (as Dovecot does), so USER for an unknown name gives
   NOTFOUND. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "auth.h"
#include "auth-request.h"
#include "auth-db-fields.h"
#include "userdb.h"

#include <stdlib.h>

struct static_userdb_module {
	struct userdb_module module;
	const char *fields;
	bool allow_all_users;
};

static int static_preinit(struct pool *pool, const char *args,
			  struct userdb_module **module_r, const char **error_r)
{
	struct static_userdb_module *module = pool_alloc(pool, sizeof(*module));
	string_t *rest = str_create(64);
	char *copy = x_strdup(args), *saveptr = NULL;

	for (char *tok = strtok_r(copy, " ", &saveptr); tok != NULL;
	     tok = strtok_r(NULL, " ", &saveptr)) {
		const char *value;
		if (str_begins(tok, "allow_all_users=", &value)) {
			module->allow_all_users = str_eq(value, "yes") || str_eq(value, "y");
			continue;
		}
		if (str_len(rest) > 0)
			str_append_c(rest, ' ');
		str_append(rest, tok);
	}
	free(copy);
	module->fields = pool_strdup(pool, str_c(rest));
	str_free(&rest);
	(void)error_r;
	*module_r = &module->module;
	return 0;
}

static void static_passdb_checked(struct auth_request *request,
				  enum passdb_result result)
{
	struct static_userdb_module *module = (struct static_userdb_module *)
		request->auth->userdbs.v[request->userdb_idx]->module;
	userdb_callback_t *callback = request->private_static_userdb_cb;

	switch (result) {
	case PASSDB_RESULT_OK:
		auth_db_fields_import(request, module->fields, AUTH_DB_FIELDS_USERDB_ALL);
		callback(request, USERDB_RESULT_OK);
		break;
	case PASSDB_RESULT_USER_UNKNOWN:
	case PASSDB_RESULT_USER_DISABLED:
	case PASSDB_RESULT_PASS_EXPIRED:
		callback(request, USERDB_RESULT_USER_UNKNOWN);
		break;
	case PASSDB_RESULT_SCHEME_NOT_AVAILABLE:
		auth_request_log_error(request, "userdb static: the passdbs can't "
				       "tell whether the user exists; set allow_all_users=yes");
		callback(request, USERDB_RESULT_INTERNAL_FAILURE);
		break;
	default:
		callback(request, USERDB_RESULT_INTERNAL_FAILURE);
		break;
	}
}

static void static_lookup(struct userdb_module *_module, struct auth_request *request,
			  userdb_callback_t *callback)
{
	struct static_userdb_module *module = (struct static_userdb_module *)_module;

	if (module->allow_all_users || request->passdb_success) {
		auth_db_fields_import(request, module->fields, AUTH_DB_FIELDS_USERDB_ALL);
		callback(request, USERDB_RESULT_OK);
		return;
	}
	/* existence check through the passdbs */
	request->private_static_userdb_cb = callback;
	auth_request_lookup_passdb(request, static_passdb_checked);
}

const struct userdb_driver userdb_driver_static = {
	.name = "static",
	.available = true,
	.preinit = static_preinit,
	.lookup = static_lookup,
};
