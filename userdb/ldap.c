/* userdb ldap (Dovecot 2.3 userdb-ldap): user_filter finds the entry,
   user_attrs maps its attributes to userdb fields; iterate_filter and
   iterate_attrs (the "user" field) list the users. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "var-expand.h"
#include "auth.h"
#include "auth-request.h"
#include "db-ldap.h"
#include "userdb.h"

#include <stdlib.h>
#include <fnmatch.h>

struct ldap_userdb_module {
	struct userdb_module module;
	struct db_ldap *db;
};

struct userdb_ldap_request {
	struct auth_request *request;
	struct ldap_userdb_module *module;
	userdb_callback_t *callback;
};

static int ldap_preinit(struct pool *pool, const char *args,
			struct userdb_module **module_r, const char **error_r)
{
	struct ldap_userdb_module *module = pool_alloc(pool, sizeof(*module));

	if (db_ldap_init(pool, args, &module->db, error_r) < 0)
		return -1;
	const struct db_ldap_settings *set = db_ldap_get_settings(module->db);
	const char *templates[] = { set->base, set->user_filter, NULL };
	module->module.default_cache_key = db_ldap_cache_key(pool, templates, &set->user_map);
	*module_r = &module->module;
	return 0;
}

static void ldap_deinit(struct userdb_module *_module)
{
	struct ldap_userdb_module *module = (struct ldap_userdb_module *)_module;
	db_ldap_unref(&module->db);
}

static void ldap_set_userdb_field(const char *name, const char *value, void *context)
{
	struct auth_request *request = context;

	auth_request_set_userdb_field(request, pool_strdup(request->pool, name),
				      pool_strdup(request->pool, value));
}

static void ldap_user_search_done(const struct db_ldap_reply *reply, void *context)
{
	struct userdb_ldap_request *ctx = context;
	struct auth_request *request = ctx->request;
	const struct db_ldap_settings *set = db_ldap_get_settings(ctx->module->db);
	enum userdb_result result = USERDB_RESULT_INTERNAL_FAILURE;

	if (reply->ret < 0) {
		auth_request_log_error(request, "ldap: %s", reply->error);
	} else if (reply->entry_count == 0) {
		auth_request_log_debug(request, "ldap: unknown user (user_filter matched nothing)");
		result = USERDB_RESULT_USER_UNKNOWN;
	} else if (reply->entry_count > 1) {
		auth_request_log_error(request, "ldap: user_filter matched multiple "
				       "objects (%u), aborting", reply->entry_count);
	} else {
		auth_request_log_debug(request, "ldap: found %s", reply->entry->dn);
		db_ldap_apply_map(&set->user_map, reply->entry, request, request->pool,
				  ldap_set_userdb_field, request);
		result = USERDB_RESULT_OK;
	}
	ctx->callback(request, result);
	auth_request_unref(&request);
}

static void ldap_lookup(struct userdb_module *_module, struct auth_request *request,
			userdb_callback_t *callback)
{
	struct ldap_userdb_module *module = (struct ldap_userdb_module *)_module;
	const struct db_ldap_settings *set = db_ldap_get_settings(module->db);
	string_t *base = str_create(128), *filter = str_create(128);
	const char *error;

	if (db_ldap_expand(base, set->base, request, &error) < 0) {
		auth_request_log_error(request, "ldap: Failed to expand base=%s: %s",
				       set->base, error);
	} else if (db_ldap_expand(filter, set->user_filter, request, &error) < 0) {
		auth_request_log_error(request, "ldap: Failed to expand user_filter=%s: %s",
				       set->user_filter, error);
	} else {
		struct userdb_ldap_request *ctx = pool_alloc(request->pool, sizeof(*ctx));
		ctx->request = request;
		ctx->module = module;
		ctx->callback = callback;
		auth_request_log_debug(request, "ldap: search base=%s filter=%s",
				       str_c(base), str_c(filter));
		auth_request_ref(request);
		db_ldap_search(module->db, request->auth->base, str_c(base), str_c(filter),
			       set->user_map.attr_names, ldap_user_search_done, ctx);
		str_free(&base);
		str_free(&filter);
		return;
	}
	str_free(&base);
	str_free(&filter);
	callback(request, USERDB_RESULT_INTERNAL_FAILURE);
}

struct ldap_iterate_ctx {
	const struct db_ldap_settings *set;
	const char *mask;
	userdb_iterate_callback_t *callback;
	void *context;
	unsigned int missing_user;
};

static void ldap_iterate_entry(struct db_ldap_entry *entry, void *context)
{
	struct ldap_iterate_ctx *ctx = context;
	struct pool *pool = pool_create("ldap iterate", 256);
	const char *const *users = db_ldap_map_values(&ctx->set->iterate_map, entry,
						      "user", pool);

	if (users == NULL)
		ctx->missing_user++;
	for (; users != NULL && *users != NULL; users++) {
		if (ctx->mask == NULL || *ctx->mask == '\0' ||
		    fnmatch(ctx->mask, *users, 0) == 0)
			ctx->callback(*users, false, ctx->context);
	}
	pool_destroy(&pool);
}

static void ldap_iterate(struct userdb_module *_module,
			 struct auth *auth ATTR_UNUSED, const char *mask,
			 userdb_iterate_callback_t *callback, void *context)
{
	struct ldap_userdb_module *module = (struct ldap_userdb_module *)_module;
	const struct db_ldap_settings *set = db_ldap_get_settings(module->db);
	const char *path = db_ldap_get_config_path(module->db);
	struct ldap_iterate_ctx ctx = {
		.set = set, .mask = mask, .callback = callback, .context = context,
	};
	string_t *base = str_create(128), *filter = str_create(128);
	char *verror = NULL;
	const char *error;

	/* no request to take variables from (Dovecot's iteration has no
	   user either): variables expand to nothing */
	if (var_expand(base, set->base, NULL, &verror) < 0 ||
	    var_expand(filter, set->iterate_filter, NULL, &verror) < 0) {
		log_error("ldap(%s): Failed to expand base/iterate_filter: %s", path, verror);
		free(verror);
		str_free(&base);
		str_free(&filter);
		callback(NULL, true, context);
		return;
	}
	struct pool *pool = pool_create("ldap iterate", 512);
	int ret = db_ldap_search_sync(module->db, pool, str_c(base), str_c(filter),
				      set->iterate_map.attr_names, ldap_iterate_entry,
				      &ctx, &error);
	if (ret < 0)
		log_error("ldap(%s): Iterate failed: %s", path, error);
	else if (ctx.missing_user > 0)
		log_warning("ldap(%s): iterate: %u entries had no user field "
			    "(iterate_attrs = %s)", path, ctx.missing_user,
			    set->iterate_attrs);
	pool_destroy(&pool);
	str_free(&base);
	str_free(&filter);
	callback(NULL, ret < 0, context);
}

const struct userdb_driver userdb_driver_ldap = {
	.name = "ldap",
	.blocking = false,
#ifdef HAVE_LDAP
	.available = true,
#else
	.available = false,
#endif
	.preinit = ldap_preinit,
	.deinit = ldap_deinit,
	.lookup = ldap_lookup,
	.iterate = ldap_iterate,
};
