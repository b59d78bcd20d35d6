/* passdb ldap (Dovecot 2.3 passdb-ldap): two modes.
   - Password lookup (auth_bind = no): pass_filter finds the entry,
     pass_attrs maps its attributes to fields; the "password" field is the
     stored password, which the generic code verifies.
   - Authentication binds (auth_bind = yes): the LDAP server checks the
     password. The user's DN comes from a pass_filter search (whose
     pass_attrs fields are kept), or from the auth_bind_userdn template
     without a search; the bind runs on a connection of its own.
   Credentials lookups (CRAM-MD5, master PASS) search in both modes. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "auth.h"
#include "auth-settings.h"
#include "auth-request.h"
#include "db-ldap.h"
#include "passdb.h"

#ifdef HAVE_LDAP
#  include <ldap.h>
#endif

struct ldap_passdb_module {
	struct passdb_module module;
	struct db_ldap *db;
};

struct passdb_ldap_request {
	struct auth_request *request;
	struct ldap_passdb_module *module;
	passdb_lookup_callback_t *lookup_callback;
	passdb_verify_callback_t *verify_callback;
	const char *password;         /* the stored one (lookup) */
	bool auth_bind;
};

static int ldap_preinit(struct pool *pool, const char *args,
			struct passdb_module **module_r, const char **error_r)
{
	struct ldap_passdb_module *module = pool_alloc(pool, sizeof(*module));

	if (db_ldap_init(pool, args, &module->db, error_r) < 0)
		return -1;
	const struct db_ldap_settings *set = db_ldap_get_settings(module->db);
	const char *templates[] = {
		set->base, set->pass_filter,
		set->auth_bind && set->auth_bind_userdn != NULL ? set->auth_bind_userdn : NULL,
		NULL
	};
	module->module.default_cache_key = db_ldap_cache_key(pool, templates, &set->pass_map);
	module->module.default_pass_scheme = set->default_pass_scheme;
	*module_r = &module->module;
	return 0;
}

/* Password lookup mode: the generic code verifies passwords (on a worker
   thread for slow schemes), which it does for drivers without
   verify_plain. Same name, so configs and logs say "ldap". */
static const struct passdb_driver passdb_driver_ldap_lookup;

static int ldap_init(struct passdb_module *_module, const char **error_r ATTR_UNUSED)
{
	struct ldap_passdb_module *module = (struct ldap_passdb_module *)_module;

	if (!db_ldap_get_settings(module->db)->auth_bind)
		_module->driver = &passdb_driver_ldap_lookup;
	return 0;
}

static void ldap_deinit(struct passdb_module *_module)
{
	struct ldap_passdb_module *module = (struct ldap_passdb_module *)_module;
	db_ldap_unref(&module->db);
}

static void ldap_set_field(const char *name, const char *value, void *context)
{
	struct passdb_ldap_request *ctx = context;
	struct auth_request *request = ctx->request;
	const char *scheme = ctx->module->module.default_pass_scheme;

	if (str_eq(name, "password")) {
		/* auth binds: the server checked the password */
		if (!ctx->auth_bind)
			ctx->password = pool_strdup(request->pool, value);
	} else if (str_eq(name, "password_noscheme")) {
		/* a leading {...} is part of the password here */
		if (!ctx->auth_bind)
			ctx->password = pool_printf(request->pool, "{%s}%s", scheme, value);
	} else {
		auth_request_set_field(request, pool_strdup(request->pool, name),
				       pool_strdup(request->pool, value), scheme);
	}
}

/* Common checks of a pass_filter search: 1 = one entry (fields saved),
   else the passdb result to return. */
static int ldap_search_result(struct passdb_ldap_request *ctx,
			      const struct db_ldap_reply *reply,
			      enum passdb_result *result_r)
{
	struct auth_request *request = ctx->request;
	const struct db_ldap_settings *set = db_ldap_get_settings(ctx->module->db);

	if (reply->ret < 0) {
		auth_request_log_error(request, "ldap: %s", reply->error);
		*result_r = PASSDB_RESULT_INTERNAL_FAILURE;
		return 0;
	}
	if (reply->entry_count == 0) {
		auth_request_log_debug(request, "ldap: unknown user (pass_filter matched nothing)");
		*result_r = PASSDB_RESULT_USER_UNKNOWN;
		return 0;
	}
	if (reply->entry_count > 1) {
		auth_request_log_error(request, "ldap: pass_filter matched multiple "
				       "objects (%u), aborting", reply->entry_count);
		*result_r = PASSDB_RESULT_INTERNAL_FAILURE;
		return 0;
	}
	auth_request_log_debug(request, "ldap: found %s", reply->entry->dn);
	db_ldap_apply_map(&set->pass_map, reply->entry, request, request->pool,
			  ldap_set_field, ctx);
	return 1;
}

static void ldap_lookup_done(const struct db_ldap_reply *reply, void *context)
{
	struct passdb_ldap_request *ctx = context;
	struct auth_request *request = ctx->request;
	enum passdb_result result = PASSDB_RESULT_OK;

	if (ldap_search_result(ctx, reply, &result) > 0)
		result = PASSDB_RESULT_OK;
	ctx->lookup_callback(request, result,
			     result == PASSDB_RESULT_OK ? ctx->password : NULL);
	auth_request_unref(&request);
}

/* Expand base and filter; -1 logged. */
static int ldap_expand_search(struct auth_request *request, const struct db_ldap_settings *set,
			      const char *filter_template, const char *what,
			      const char **base_r, const char **filter_r)
{
	string_t *base = str_create(128), *filter = str_create(128);
	const char *error;
	int ret = 0;

	if (db_ldap_expand(base, set->base, request, &error) < 0) {
		auth_request_log_error(request, "ldap: Failed to expand base=%s: %s",
				       set->base, error);
		ret = -1;
	} else if (db_ldap_expand(filter, filter_template, request, &error) < 0) {
		auth_request_log_error(request, "ldap: Failed to expand %s=%s: %s",
				       what, filter_template, error);
		ret = -1;
	} else {
		*base_r = pool_strdup(request->pool, str_c(base));
		*filter_r = pool_strdup(request->pool, str_c(filter));
		auth_request_log_debug(request, "ldap: search base=%s filter=%s",
				       *base_r, *filter_r);
	}
	str_free(&base);
	str_free(&filter);
	return ret;
}

static void ldap_lookup_credentials(struct passdb_module *_module,
				    struct auth_request *request,
				    passdb_lookup_callback_t *callback)
{
	struct ldap_passdb_module *module = (struct ldap_passdb_module *)_module;
	const struct db_ldap_settings *set = db_ldap_get_settings(module->db);
	const char *base, *filter;

	if (ldap_expand_search(request, set, set->pass_filter, "pass_filter",
			       &base, &filter) < 0) {
		callback(request, PASSDB_RESULT_INTERNAL_FAILURE, NULL);
		return;
	}
	struct passdb_ldap_request *ctx = pool_alloc(request->pool, sizeof(*ctx));
	ctx->request = request;
	ctx->module = module;
	ctx->lookup_callback = callback;
	auth_request_ref(request);
	db_ldap_search(module->db, request->auth->base, base, filter,
		       set->pass_map.attr_names, ldap_lookup_done, ctx);
}

/* ---- auth binds -------------------------------------------------------- */

static void ldap_bind_done(const struct db_ldap_reply *reply, void *context)
{
	struct passdb_ldap_request *ctx = context;
	struct auth_request *request = ctx->request;
	enum passdb_result result;

	if (reply->ret < 0) {
		auth_request_log_error(request, "ldap: %s", reply->error);
		result = PASSDB_RESULT_INTERNAL_FAILURE;
	} else if (reply->bind_result == 0 /* LDAP_SUCCESS */) {
		result = PASSDB_RESULT_OK;
#ifdef HAVE_LDAP
	} else if (reply->bind_result == LDAP_INVALID_CREDENTIALS) {
		auth_request_log_info(request, "ldap: invalid credentials");
		result = PASSDB_RESULT_PASSWORD_MISMATCH;
#endif
	} else {
		auth_request_log_error(request, "ldap: bind failed: %s", reply->error);
		result = PASSDB_RESULT_INTERNAL_FAILURE;
	}
	ctx->verify_callback(request, result);
	auth_request_unref(&request);
}

static void ldap_bind_search_done(const struct db_ldap_reply *reply, void *context)
{
	struct passdb_ldap_request *ctx = context;
	struct auth_request *request = ctx->request;
	enum passdb_result result;

	if (ldap_search_result(ctx, reply, &result) == 0) {
		ctx->verify_callback(request, result);
		auth_request_unref(&request);
		return;
	}
	auth_request_log_debug(request, "ldap: binding as %s", reply->entry->dn);
	/* the reference moves to the bind */
	db_ldap_bind(ctx->module->db, request->auth->base, reply->entry->dn,
		     request->mech_password, ldap_bind_done, ctx);
}

static void ldap_verify_plain(struct passdb_module *_module, struct auth_request *request,
			      const char *password, passdb_verify_callback_t *callback)
{
	struct ldap_passdb_module *module = (struct ldap_passdb_module *)_module;
	const struct db_ldap_settings *set = db_ldap_get_settings(module->db);
	const char *error;

	if (*password == '\0') {
		/* many servers treat an empty password as an anonymous bind,
		   which succeeds (RFC 4513 5.1.2) */
		auth_request_log_info(request, "ldap: Login attempt with empty password");
		callback(request, PASSDB_RESULT_PASSWORD_MISMATCH);
		return;
	}
	struct passdb_ldap_request *ctx = pool_alloc(request->pool, sizeof(*ctx));
	ctx->request = request;
	ctx->module = module;
	ctx->verify_callback = callback;
	ctx->auth_bind = true;

	if (set->auth_bind_userdn != NULL && *set->auth_bind_userdn != '\0') {
		string_t *dn = str_create(128);
		if (db_ldap_expand(dn, set->auth_bind_userdn, request, &error) < 0) {
			auth_request_log_error(request, "ldap: Failed to expand "
					       "auth_bind_userdn=%s: %s",
					       set->auth_bind_userdn, error);
			str_free(&dn);
			callback(request, PASSDB_RESULT_INTERNAL_FAILURE);
			return;
		}
		auth_request_log_debug(request, "ldap: binding as %s", str_c(dn));
		auth_request_ref(request);
		db_ldap_bind(module->db, request->auth->base, str_c(dn), password,
			     ldap_bind_done, ctx);
		str_free(&dn);
		return;
	}
	const char *base, *filter;
	if (ldap_expand_search(request, set, set->pass_filter, "pass_filter",
			       &base, &filter) < 0) {
		callback(request, PASSDB_RESULT_INTERNAL_FAILURE);
		return;
	}
	auth_request_ref(request);
	db_ldap_search(module->db, request->auth->base, base, filter,
		       set->pass_map.attr_names, ldap_bind_search_done, ctx);
}

#ifdef HAVE_LDAP
#  define LDAP_AVAILABLE true
#else
#  define LDAP_AVAILABLE false
#endif

const struct passdb_driver passdb_driver_ldap = {
	.name = "ldap",
	/* asynchronous from the event loop */
	.blocking = false,
	.available = LDAP_AVAILABLE,
	.preinit = ldap_preinit,
	.init = ldap_init,
	.deinit = ldap_deinit,
	.verify_plain = ldap_verify_plain,
	.lookup_credentials = ldap_lookup_credentials,
};

static const struct passdb_driver passdb_driver_ldap_lookup = {
	.name = "ldap",
	.blocking = false,
	.available = LDAP_AVAILABLE,
	.preinit = ldap_preinit,
	.init = ldap_init,
	.deinit = ldap_deinit,
	.lookup_credentials = ldap_lookup_credentials,
};
