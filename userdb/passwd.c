/* userdb passwd: system users through NSS, getpwnam_r() (Dovecot 2.3
   userdb-passwd). Fields as Dovecot's: system_groups_user (the passwd
   name, for the supplementary groups), uid, gid, home; the user name
   becomes the passwd entry's. The shell is not a userdb field (Dovecot
   doesn't return it either). The lookup runs on a worker thread
   (db-passwd.h). Cache key "%u" (auth-cache.md 1.2). No iteration
   (doveadm user '*'). */
#include "lib.h"
#include "pool.h"
#include "auth-request.h"
#include "db-passwd.h"
#include "userdb.h"

static int passwd_preinit(struct pool *pool, const char *args,
			  struct userdb_module **module_r, const char **error_r)
{
	struct userdb_module *module = pool_alloc(pool, sizeof(*module));

	/* Dovecot 2.3 accepts blocking=yes|no (and nothing else) */
	while (*args == ' ')
		args++;
	if (*args != '\0' && !str_eq(args, "blocking=yes") && !str_eq(args, "blocking=no")) {
		*error_r = pool_printf(pool, "passwd: Unknown setting: %s", args);
		return -1;
	}
	module->default_cache_key = "%u";
	*module_r = module;
	return 0;
}

static void passwd_lookup_done(struct auth_request *request, int ret,
			       const struct db_passwd_entry *entry, void *context)
{
	userdb_callback_t *callback = *(userdb_callback_t **)context;

	if (ret < 0) {
		callback(request, USERDB_RESULT_INTERNAL_FAILURE);
		return;
	}
	if (ret == 0) {
		auth_request_log_debug(request, "passwd: unknown user");
		callback(request, USERDB_RESULT_USER_UNKNOWN);
		return;
	}
	auth_request_set_field(request, "user", entry->name, NULL);
	auth_request_set_userdb_field(request, "system_groups_user", entry->name);
	auth_request_set_userdb_field(request, "uid", entry->uid);
	auth_request_set_userdb_field(request, "gid", entry->gid);
	auth_request_set_userdb_field(request, "home", entry->home);
	callback(request, USERDB_RESULT_OK);
}

static void passwd_lookup(struct userdb_module *module ATTR_UNUSED,
			  struct auth_request *request, userdb_callback_t *callback)
{
	userdb_callback_t **ctx = pool_alloc(request->pool, sizeof(*ctx));

	*ctx = callback;
	db_passwd_lookup(request, false, passwd_lookup_done, ctx);
}

const struct userdb_driver userdb_driver_passwd = {
	.name = "passwd",
	/* NSS blocks: db_passwd_lookup() runs it on the worker pool */
	.blocking = false,
	.available = true,
	.preinit = passwd_preinit,
	.lookup = passwd_lookup,
};
