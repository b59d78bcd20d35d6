/* userdb passwd-file: uid, gid, home columns + userdb_* extra fields. */
#include "lib.h"
#include "pool.h"
#include "auth-request.h"
#include "auth-db-fields.h"
#include "db-passwd-file.h"
#include "userdb.h"

struct passwd_file_userdb_module {
	struct userdb_module module;
	struct db_passwd_file *db;
};

static int passwd_file_preinit(struct pool *pool, const char *args,
			       struct userdb_module **module_r, const char **error_r)
{
	struct passwd_file_userdb_module *module = pool_alloc(pool, sizeof(*module));

	if (db_passwd_file_create(pool, args, true, &module->db, error_r) < 0)
		return -1;
	*module_r = &module->module;
	return 0;
}

static void passwd_file_deinit(struct userdb_module *_module)
{
	struct passwd_file_userdb_module *module = (struct passwd_file_userdb_module *)_module;
	db_passwd_file_destroy(&module->db);
}

static void passwd_file_lookup(struct userdb_module *_module,
			       struct auth_request *request,
			       userdb_callback_t *callback)
{
	struct passwd_file_userdb_module *module = (struct passwd_file_userdb_module *)_module;
	const struct passwd_user *user;

	int ret = db_passwd_file_lookup(module->db, request, &user);
	if (ret < 0) {
		callback(request, USERDB_RESULT_INTERNAL_FAILURE);
		return;
	}
	if (ret == 0) {
		callback(request, USERDB_RESULT_USER_UNKNOWN);
		return;
	}
	if (user->uid[0] != '\0')
		auth_request_set_userdb_field(request, "uid", user->uid);
	if (user->gid[0] != '\0')
		auth_request_set_userdb_field(request, "gid", user->gid);
	if (user->home[0] != '\0')
		auth_request_set_userdb_field(request, "home", user->home);
	auth_db_fields_import(request, user->extra, AUTH_DB_FIELDS_USERDB);
	callback(request, USERDB_RESULT_OK);
}

struct iterate_ctx {
	userdb_iterate_callback_t *callback;
	void *context;
};

static void iterate_one(const char *user, void *context)
{
	struct iterate_ctx *ctx = context;
	ctx->callback(user, false, ctx->context);
}

static void passwd_file_iterate(struct userdb_module *_module,
				struct auth *auth ATTR_UNUSED, const char *mask,
				userdb_iterate_callback_t *callback, void *context)
{
	struct passwd_file_userdb_module *module = (struct passwd_file_userdb_module *)_module;
	struct iterate_ctx ctx = { callback, context };
	int ret = db_passwd_file_iterate(module->db, mask, iterate_one, &ctx);
	callback(NULL, ret < 0, context);
}

const struct userdb_driver userdb_driver_passwd_file = {
	.name = "passwd-file",
	.available = true,
	.preinit = passwd_file_preinit,
	.deinit = passwd_file_deinit,
	.lookup = passwd_file_lookup,
	.iterate = passwd_file_iterate,
};
