/* passdb sql: password_query gives the stored password and extra fields,
   update_query stores new credentials (Dovecot 2.3 passdb-sql). */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "var-expand.h"
#include "auth.h"
#include "auth-settings.h"
#include "auth-request.h"
#include "auth-cache.h"
#include "db-sql.h"
#include "passdb.h"

#include <stdlib.h>

struct sql_passdb_module {
	struct passdb_module module;
	struct db_sql *db;
};

struct passdb_sql_request {
	struct auth_request *request;
	struct sql_passdb_module *module;
	passdb_lookup_callback_t *lookup_callback;
	passdb_set_credentials_callback_t *set_callback;
};

static int sql_preinit(struct pool *pool, const char *args,
		       struct passdb_module **module_r, const char **error_r)
{
	struct sql_passdb_module *module = pool_alloc(pool, sizeof(*module));

	while (*args == ' ' || *args == '\t')
		args++;
	if (db_sql_init(pool, args, false, &module->db, error_r) < 0)
		return -1;
	const struct sql_settings *set = db_sql_get_settings(module->db);
	const char *templates[] = { set->password_query, NULL };
	module->module.default_cache_key = auth_cache_parse_key(pool, templates);
	module->module.default_pass_scheme = set->default_pass_scheme;
	*module_r = &module->module;
	return 0;
}

static void sql_deinit(struct passdb_module *_module)
{
	struct sql_passdb_module *module = (struct sql_passdb_module *)_module;
	db_sql_unref(&module->db);
}

/* Columns of the single row -> fields; returns the stored password
   (request pool) or NULL. */
static const char *sql_passdb_save_row(struct auth_request *request,
				       const struct sql_result *result,
				       const char *default_scheme)
{
	const char *password = NULL;

	for (unsigned int i = 0; i < result->n_columns; i++) {
		const char *name = result->names[i];
		const char *value = sql_result_value(result, 0, i);
		if (*name == '\0' || value == NULL)
			continue;
		if (str_eq(name, "password"))
			password = pool_strdup(request->pool, value);
		else if (str_eq(name, "password_noscheme")) {
			/* a leading {...} is part of the password here */
			password = pool_printf(request->pool, "{%s}%s", default_scheme, value);
		} else
			auth_request_set_field(request, name, value, default_scheme);
	}
	return password;
}

static void sql_password_query_done(struct sql_result **_result, const char *error,
				    void *context)
{
	struct passdb_sql_request *ctx = context;
	struct auth_request *request = ctx->request;
	struct sql_passdb_module *module = ctx->module;
	const struct sql_settings *set = db_sql_get_settings(module->db);
	const struct sql_result *result = *_result;
	enum passdb_result passdb_result = PASSDB_RESULT_INTERNAL_FAILURE;
	const char *password = NULL;

	if (error != NULL) {
		if (set->default_password_query) {
			auth_request_log_error(request, "sql: Password query failed: %s "
					       "(using built-in default password_query: %s)",
					       error, set->password_query);
		} else {
			auth_request_log_error(request, "sql: Password query failed: %s", error);
		}
	} else if (result->n_rows == 0) {
		auth_request_log_debug(request, "sql: unknown user");
		passdb_result = PASSDB_RESULT_USER_UNKNOWN;
	} else if (sql_result_find_column(result, "password") < 0 &&
		   sql_result_find_column(result, "password_noscheme") < 0) {
		auth_request_log_error(request, "sql: Password query must return "
				       "a field named 'password'");
	} else if (result->n_rows > 1) {
		auth_request_log_error(request, "sql: Password query returned multiple matches");
	} else {
		password = sql_passdb_save_row(request, result,
					       module->module.default_pass_scheme);
		if (password == NULL && !request->skip_password_check) {
			auth_request_log_info(request, "sql: Empty password returned "
					      "without nopassword");
			passdb_result = PASSDB_RESULT_PASSWORD_MISMATCH;
		} else {
			passdb_result = PASSDB_RESULT_OK;
		}
	}
	ctx->lookup_callback(request, passdb_result, password);
	auth_request_unref(&request);
}

static void sql_lookup_credentials(struct passdb_module *_module,
				   struct auth_request *request,
				   passdb_lookup_callback_t *callback)
{
	struct sql_passdb_module *module = (struct sql_passdb_module *)_module;
	const struct sql_settings *set = db_sql_get_settings(module->db);
	string_t *query = str_create_secure(256);
	const char *error;

	if (db_sql_expand(module->db, query, set->password_query, request, NULL,
			  &error) < 0) {
		auth_request_log_error(request, "sql: Failed to expand password_query=%s: %s",
				       set->password_query, error);
		str_free(&query);
		callback(request, PASSDB_RESULT_INTERNAL_FAILURE, NULL);
		return;
	}
	/* "password verification by the SQL server" puts %w in the query */
	if (!request->auth->set->auth_debug_passwords &&
	    var_has_key(set->password_query, 'w', "password"))
		auth_request_log_debug(request, "sql: query: (hidden: it has the password)");
	else
		auth_request_log_debug(request, "sql: query: %s", str_c(query));

	struct passdb_sql_request *ctx = pool_alloc(request->pool, sizeof(*ctx));
	ctx->request = request;
	ctx->module = module;
	ctx->lookup_callback = callback;
	auth_request_ref(request);
	db_sql_query(module->db, request->auth->base, request->auth->workers,
		     str_c(query),
		     sql_password_query_done, ctx);
	str_free(&query);
}

static void sql_update_query_done(struct sql_result **result ATTR_UNUSED,
				  const char *error, void *context)
{
	struct passdb_sql_request *ctx = context;
	struct auth_request *request = ctx->request;
	const struct sql_settings *set = db_sql_get_settings(ctx->module->db);

	if (error != NULL) {
		if (set->default_update_query) {
			auth_request_log_error(request, "sql: Set credentials query failed: %s "
					       "(using built-in default update_query: %s)",
					       error, set->update_query);
		} else {
			auth_request_log_error(request, "sql: Set credentials query failed: %s",
					       error);
		}
	}
	ctx->set_callback(request, error == NULL);
	auth_request_unref(&request);
}

static void sql_set_credentials(struct passdb_module *_module,
				struct auth_request *request, const char *credentials,
				passdb_set_credentials_callback_t *callback)
{
	struct sql_passdb_module *module = (struct sql_passdb_module *)_module;
	const struct sql_settings *set = db_sql_get_settings(module->db);
	/* Dovecot 2.3 passes the new credentials as %w (the password) */
	const struct var_expand_table extra[] = {
		{ .key = 'w', .long_key = "password", .value = credentials },
		{ .key = '\0', .long_key = NULL, .value = NULL },
	};
	string_t *query = str_create_secure(256);
	const char *error;

	if (db_sql_expand(module->db, query, set->update_query, request, extra,
			  &error) < 0) {
		auth_request_log_error(request, "sql: Failed to expand update_query=%s: %s",
				       set->update_query, error);
		str_free(&query);
		callback(request, false);
		return;
	}
	struct passdb_sql_request *ctx = pool_alloc(request->pool, sizeof(*ctx));
	ctx->request = request;
	ctx->module = module;
	ctx->set_callback = callback;
	auth_request_ref(request);
	db_sql_query(module->db, request->auth->base, request->auth->workers,
		     str_c(query),
		     sql_update_query_done, ctx);
	str_free(&query);
}

const struct passdb_driver passdb_driver_sql = {
	.name = "sql",
	/* asynchronous by itself: pgsql on the event loop, the others on the
	   worker pool */
	.blocking = false,
#if defined(HAVE_SQLITE) || defined(HAVE_PGSQL) || defined(HAVE_MYSQL)
	.available = true,
#else
	.available = false,
#endif
	.preinit = sql_preinit,
	.deinit = sql_deinit,
	.lookup_credentials = sql_lookup_credentials,
	.set_credentials = sql_set_credentials,
};
