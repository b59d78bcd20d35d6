/* passdb passwd and shadow: the crypt() hash of a system user, from
   getpwnam_r() (pw_passwd) or getspnam_r() (sp_pwdp, needs root) on a
   worker thread (Dovecot 2.3 passdb-passwd / passdb-shadow). Scheme CRYPT;
   an empty, "*..." or "!..." password means a locked account, and for
   shadow an expired one (sp_expire in the past): user disabled, as
   Dovecot. The user name becomes the
   database's. Cache key "%u". args: only blocking=yes|no (ignored). */
#include "lib.h"
#include "pool.h"
#include "auth-request.h"
#include "db-passwd.h"
#include "passdb.h"

static int passwd_preinit_common(struct pool *pool, const char *args, const char *name,
				 struct passdb_module **module_r, const char **error_r)
{
	struct passdb_module *module = pool_alloc(pool, sizeof(*module));

	while (*args == ' ')
		args++;
	if (*args != '\0' && !str_eq(args, "blocking=yes") && !str_eq(args, "blocking=no")) {
		*error_r = pool_printf(pool, "%s: Unknown setting: %s", name, args);
		return -1;
	}
	module->default_pass_scheme = "CRYPT";
	module->default_cache_key = "%u";
	*module_r = module;
	return 0;
}

static int passwd_preinit(struct pool *pool, const char *args,
			  struct passdb_module **module_r, const char **error_r)
{
	return passwd_preinit_common(pool, args, "passwd", module_r, error_r);
}

static int shadow_preinit(struct pool *pool, const char *args,
			  struct passdb_module **module_r, const char **error_r)
{
	return passwd_preinit_common(pool, args, "shadow", module_r, error_r);
}

static void passwd_lookup_done(struct auth_request *request, int ret,
			       const struct db_passwd_entry *entry, void *context)
{
	passdb_lookup_callback_t *callback = *(passdb_lookup_callback_t **)context;

	if (ret < 0) {
		callback(request, PASSDB_RESULT_INTERNAL_FAILURE, NULL);
		return;
	}
	if (ret == 0) {
		callback(request, PASSDB_RESULT_USER_UNKNOWN, NULL);
		return;
	}
	auth_request_set_field(request, "user", entry->name, NULL);
	if (!db_passwd_is_valid_password(entry->password)) {
		auth_request_log_info(request, "%s: the account is locked (invalid "
				      "password field)", entry->shadow ? "shadow" : "passwd");
		callback(request, PASSDB_RESULT_USER_DISABLED, NULL);
		return;
	}
	if (entry->expired) {
		auth_request_log_info(request, "shadow: the account has expired");
		callback(request, PASSDB_RESULT_USER_DISABLED, NULL);
		return;
	}
	callback(request, PASSDB_RESULT_OK,
		 pool_printf(request->pool, "{CRYPT}%s", entry->password));
}

static void passwd_lookup_credentials(struct passdb_module *module ATTR_UNUSED,
				      struct auth_request *request,
				      passdb_lookup_callback_t *callback)
{
	passdb_lookup_callback_t **ctx = pool_alloc(request->pool, sizeof(*ctx));

	*ctx = callback;
	db_passwd_lookup(request, false, passwd_lookup_done, ctx);
}

static void shadow_lookup_credentials(struct passdb_module *module ATTR_UNUSED,
				      struct auth_request *request,
				      passdb_lookup_callback_t *callback)
{
	passdb_lookup_callback_t **ctx = pool_alloc(request->pool, sizeof(*ctx));

	*ctx = callback;
	db_passwd_lookup(request, true, passwd_lookup_done, ctx);
}

const struct passdb_driver passdb_driver_passwd = {
	.name = "passwd",
	.available = true,
	.preinit = passwd_preinit,
	.lookup_credentials = passwd_lookup_credentials,
};

const struct passdb_driver passdb_driver_shadow = {
	.name = "shadow",
	.available = true,
	.preinit = shadow_preinit,
	.lookup_credentials = shadow_lookup_credentials,
};
