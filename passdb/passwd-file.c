/* passdb passwd-file: stored password + extra fields from the file. */
#include "lib.h"
#include "pool.h"
#include "auth-request.h"
#include "auth-db-fields.h"
#include "db-passwd-file.h"
#include "passdb.h"

struct passwd_file_passdb_module {
	struct passdb_module module;
	struct db_passwd_file *db;
};

static int passwd_file_preinit(struct pool *pool, const char *args,
			       struct passdb_module **module_r, const char **error_r)
{
	struct passwd_file_passdb_module *module = pool_alloc(pool, sizeof(*module));

	if (db_passwd_file_create(pool, args, false, &module->db, error_r) < 0)
		return -1;
	module->module.default_pass_scheme = db_passwd_file_default_scheme(module->db);
	*module_r = &module->module;
	return 0;
}

static void passwd_file_deinit(struct passdb_module *_module)
{
	struct passwd_file_passdb_module *module = (struct passwd_file_passdb_module *)_module;
	db_passwd_file_destroy(&module->db);
}

static void passwd_file_lookup_credentials(struct passdb_module *_module,
					   struct auth_request *request,
					   passdb_lookup_callback_t *callback)
{
	struct passwd_file_passdb_module *module = (struct passwd_file_passdb_module *)_module;
	const struct passwd_user *user;

	int ret = db_passwd_file_lookup(module->db, request, &user);
	if (ret < 0) {
		callback(request, PASSDB_RESULT_INTERNAL_FAILURE, NULL);
		return;
	}
	if (ret == 0) {
		callback(request, PASSDB_RESULT_USER_UNKNOWN, NULL);
		return;
	}
	request->password_source = pool_strdup(request->pool, user->source);
	auth_db_fields_import(request, user->extra, AUTH_DB_FIELDS_PASSDB);
	/* uid/gid/home columns prefetch the userdb fields */
	if (user->uid[0] != '\0')
		auth_request_set_userdb_field(request, "uid", user->uid);
	if (user->gid[0] != '\0')
		auth_request_set_userdb_field(request, "gid", user->gid);
	if (user->home[0] != '\0')
		auth_request_set_userdb_field(request, "home", user->home);
	callback(request, PASSDB_RESULT_OK, user->password);
}

const struct passdb_driver passdb_driver_passwd_file = {
	.name = "passwd-file",
	.available = true,
	.preinit = passwd_file_preinit,
	.deinit = passwd_file_deinit,
	.lookup_credentials = passwd_file_lookup_credentials,
};
