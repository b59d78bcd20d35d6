/* passdb static: the same password (or nopassword) for every user;
   args are fields: "password=secret" or "nopassword=y", plus any extra
   fields. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "auth-request.h"
#include "auth-db-fields.h"
#include "passdb.h"

#include <stdlib.h>

struct static_passdb_module {
	struct passdb_module module;
	const char *password;       /* template, NULL if none */
	const char *fields;         /* the other args */
};

static int static_preinit(struct pool *pool, const char *args,
			  struct passdb_module **module_r, const char **error_r)
{
	struct static_passdb_module *module = pool_alloc(pool, sizeof(*module));
	string_t *rest = str_create(64);
	char *copy = x_strdup(args), *saveptr = NULL;
	bool nopassword = false;

	module->module.default_pass_scheme = "PLAIN";
	for (char *tok = strtok_r(copy, " ", &saveptr); tok != NULL;
	     tok = strtok_r(NULL, " ", &saveptr)) {
		const char *value;
		if (str_begins(tok, "password=", &value))
			module->password = pool_strdup(pool, value);
		else {
			if (str_eq(tok, "nopassword") || str_begins(tok, "nopassword=", &value))
				nopassword = true;
			if (str_len(rest) > 0)
				str_append_c(rest, ' ');
			str_append(rest, tok);
		}
	}
	free(copy);
	module->fields = pool_strdup(pool, str_c(rest));
	str_free(&rest);
	if (module->password == NULL && !nopassword) {
		*error_r = "static passdb: args must have password=... or nopassword";
		return -1;
	}
	*module_r = &module->module;
	return 0;
}

static void static_lookup_credentials(struct passdb_module *_module,
				      struct auth_request *request,
				      passdb_lookup_callback_t *callback)
{
	struct static_passdb_module *module = (struct static_passdb_module *)_module;
	const char *password = NULL, *error;

	auth_db_fields_import(request, module->fields, AUTH_DB_FIELDS_PASSDB);
	if (module->password != NULL) {
		string_t *str = str_create_secure(64);
		if (auth_request_var_expand(str, module->password, request, &error) < 0) {
			auth_request_log_error(request, "static: failed to expand password: %s", error);
			str_free(&str);
			callback(request, PASSDB_RESULT_INTERNAL_FAILURE, NULL);
			return;
		}
		password = pool_strdup(request->pool, str_c(str));
		str_free(&str);
	}
	callback(request, PASSDB_RESULT_OK, password);
}

const struct passdb_driver passdb_driver_static = {
	.name = "static",
	.available = true,
	.preinit = static_preinit,
	.lookup_credentials = static_lookup_credentials,
};
