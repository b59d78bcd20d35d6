/* userdb sql: user_query columns are the userdb fields; iterate_query
   lists the users (Dovecot 2.3 userdb-sql). */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "var-expand.h"
#include "auth.h"
#include "auth-settings.h"
#include "auth-request.h"
#include "auth-cache.h"
#include "db-sql.h"
#include "userdb.h"

#include <stdlib.h>
#include <fnmatch.h>

struct sql_userdb_module {
	struct userdb_module module;
	struct db_sql *db;
};

struct userdb_sql_request {
	struct auth_request *request;
	struct sql_userdb_module *module;
	userdb_callback_t *callback;
};

static int sql_preinit(struct pool *pool, const char *args,
		       struct userdb_module **module_r, const char **error_r)
{
	struct sql_userdb_module *module = pool_alloc(pool, sizeof(*module));

	while (*args == ' ' || *args == '\t')
		args++;
	if (db_sql_init(pool, args, true, &module->db, error_r) < 0)
		return -1;
	const struct sql_settings *set = db_sql_get_settings(module->db);
	const char *templates[] = { set->user_query, NULL };
	module->module.default_cache_key = auth_cache_parse_key(pool, templates);
	*module_r = &module->module;
	return 0;
}

static void sql_deinit(struct userdb_module *_module)
{
	struct sql_userdb_module *module = (struct sql_userdb_module *)_module;
	db_sql_unref(&module->db);
}

static void sql_user_query_done(struct sql_result **_result, const char *error,
				void *context)
{
	struct userdb_sql_request *ctx = context;
	struct auth_request *request = ctx->request;
	const struct sql_settings *set = db_sql_get_settings(ctx->module->db);
	const struct sql_result *result = *_result;
	enum userdb_result userdb_result = USERDB_RESULT_INTERNAL_FAILURE;

	if (error != NULL) {
		if (set->default_user_query) {
			auth_request_log_error(request, "sql: User query failed: %s "
					       "(using built-in default user_query: %s)",
					       error, set->user_query);
		} else {
			auth_request_log_error(request, "sql: User query failed: %s", error);
		}
	} else if (result->n_rows == 0) {
		auth_request_log_debug(request, "sql: unknown user");
		userdb_result = USERDB_RESULT_USER_UNKNOWN;
	} else {
		/* like Dovecot, the first row wins */
		for (unsigned int i = 0; i < result->n_columns; i++) {
			const char *value = sql_result_value(result, 0, i);
			if (result->names[i][0] != '\0' && value != NULL)
				auth_request_set_userdb_field(request,
					pool_strdup(request->pool, result->names[i]),
					pool_strdup(request->pool, value));
		}
		userdb_result = USERDB_RESULT_OK;
	}
	ctx->callback(request, userdb_result);
	auth_request_unref(&request);
}

static void sql_lookup(struct userdb_module *_module, struct auth_request *request,
		       userdb_callback_t *callback)
{
	struct sql_userdb_module *module = (struct sql_userdb_module *)_module;
	const struct sql_settings *set = db_sql_get_settings(module->db);
	string_t *query = str_create(256);
	const char *error;

	if (db_sql_expand(module->db, query, set->user_query, request, NULL, &error) < 0) {
		auth_request_log_error(request, "sql: Failed to expand user_query=%s: %s",
				       set->user_query, error);
		str_free(&query);
		callback(request, USERDB_RESULT_INTERNAL_FAILURE);
		return;
	}
	auth_request_log_debug(request, "sql: query: %s", str_c(query));

	struct userdb_sql_request *ctx = pool_alloc(request->pool, sizeof(*ctx));
	ctx->request = request;
	ctx->module = module;
	ctx->callback = callback;
	auth_request_ref(request);
	db_sql_query(module->db, request->auth->base, request->auth->workers,
		     str_c(query),
		     sql_user_query_done, ctx);
	str_free(&query);
}

/* The user name of one iterate_query row: "user", else "username" plus
   "@domain" when a domain column is there and not NULL. */
static int iterate_row_user(const struct sql_result *result, unsigned int row,
			    char **user_r)
{
	int idx = sql_result_find_column(result, "user");
	if (idx >= 0) {
		const char *user = sql_result_value(result, row, (unsigned int)idx);
		*user_r = user == NULL ? NULL : x_strdup(user);
		return 0;
	}
	idx = sql_result_find_column(result, "username");
	if (idx < 0)
		return -1;
	const char *user = sql_result_value(result, row, (unsigned int)idx);
	int domain_idx = sql_result_find_column(result, "domain");
	const char *domain = domain_idx < 0 ? NULL :
		sql_result_value(result, row, (unsigned int)domain_idx);
	if (user == NULL)
		*user_r = NULL;
	else if (domain == NULL)
		*user_r = x_strdup(user);
	else
		*user_r = x_printf("%s@%s", user, domain);
	return 0;
}

/* List the users of an iterate_query result (callback per user matching
   mask, then callback(NULL, failed)). Shared by the synchronous iteration
   and a db_sql_query() callback. */
static void sql_iterate_result(struct sql_userdb_module *module,
			       const struct sql_result *result, const char *mask,
			       userdb_iterate_callback_t *callback, void *context)
{
	const char *name = db_sql_get_display_name(module->db);
	bool failed = false;

	for (unsigned int row = 0; row < result->n_rows; row++) {
		char *user;
		if (iterate_row_user(result, row, &user) < 0) {
			log_error("sql(%s): Iterate query didn't return 'user' field", name);
			failed = true;
			break;
		}
		if (user == NULL) {
			log_error("sql(%s): Iterate query returned NULL user", name);
			failed = true;
			break;
		}
		if (mask == NULL || *mask == '\0' || fnmatch(mask, user, 0) == 0)
			callback(user, false, context);
		free(user);
	}
	callback(NULL, failed, context);
}

static void sql_iterate_log_error(struct sql_userdb_module *module, const char *error)
{
	const struct sql_settings *set = db_sql_get_settings(module->db);

	log_error("sql(%s): Iterate query failed: %s%s%s%s",
		  db_sql_get_display_name(module->db), error,
		  set->default_iterate_query ? " (using built-in default "
		  "iterate_query: " : "",
		  set->default_iterate_query ? set->iterate_query : "",
		  set->default_iterate_query ? ")" : "");
}

struct sql_iterate_ctx {
	struct sql_userdb_module *module;
	char *mask;
	userdb_iterate_callback_t *callback;
	void *context;
};

static void sql_iterate_done(struct sql_result **result, const char *error, void *_ctx)
{
	struct sql_iterate_ctx *ctx = _ctx;

	if (result == NULL || *result == NULL) {
		sql_iterate_log_error(ctx->module, error != NULL ? error : "no result");
		ctx->callback(NULL, true, ctx->context);
	} else {
		sql_iterate_result(ctx->module, *result, ctx->mask, ctx->callback,
				   ctx->context);
	}
	free(ctx->mask);
	free(ctx);
}

static void sql_iterate(struct userdb_module *_module, struct auth *auth,
			const char *mask, userdb_iterate_callback_t *callback,
			void *context)
{
	struct sql_userdb_module *module = (struct sql_userdb_module *)_module;
	const struct sql_settings *set = db_sql_get_settings(module->db);
	string_t *query = str_create(256);
	char *verror = NULL;

	/* No request to take variables from: the request variables are
	   empty, as Dovecot's iteration request has no user. */
	if (var_expand(query, set->iterate_query, auth_settings_var_table, &verror) < 0) {
		log_error("sql: Failed to expand iterate_query=%s: %s",
			  set->iterate_query, verror);
		free(verror);
		str_free(&query);
		callback(NULL, true, context);
		return;
	}
	/* the answer comes later, from the event loop (pgsql) or a worker
	   thread (mysql, sqlite): LIST waits for it without blocking */
	struct sql_iterate_ctx *ctx = x_malloc(sizeof(*ctx));
	ctx->module = module;
	ctx->mask = x_strdup(mask);
	ctx->callback = callback;
	ctx->context = context;
	db_sql_query(module->db, auth->base, auth->workers, str_c(query),
		     sql_iterate_done, ctx);
	str_free(&query);
}

const struct userdb_driver userdb_driver_sql = {
	.name = "sql",
	.blocking = false,
#if defined(HAVE_SQLITE) || defined(HAVE_PGSQL) || defined(HAVE_MYSQL)
	.available = true,
#else
	.available = false,
#endif
	.preinit = sql_preinit,
	.deinit = sql_deinit,
	.lookup = sql_lookup,
	.iterate = sql_iterate,
};
