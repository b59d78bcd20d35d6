/* userdb checkpassword: the checkpassword program in lookup mode
   (AUTHORIZED=1; Dovecot 2.3 userdb-checkpassword, protocol in
   db-checkpassword.h). args: [timeout=SECS] /path/to/program [args].
   Only the userdb_* reply fields are used, without the prefix. Never
   cached (auth-cache.md 1.2). */
#include "lib.h"
#include "pool.h"
#include "auth-request.h"
#include "db-checkpassword.h"
#include "userdb.h"

struct checkpassword_userdb_module {
	struct userdb_module module;
	struct db_checkpassword *db;
};

static int checkpassword_preinit(struct pool *pool, const char *args,
				 struct userdb_module **module_r, const char **error_r)
{
	struct checkpassword_userdb_module *module = pool_alloc(pool, sizeof(*module));

	if (db_checkpassword_create(pool, args, &module->db, error_r) < 0)
		return -1;
	module->module.default_cache_key = NULL;
	*module_r = &module->module;
	return 0;
}

static void checkpassword_deinit(struct userdb_module *_module)
{
	struct checkpassword_userdb_module *module =
		(struct checkpassword_userdb_module *)_module;
	db_checkpassword_destroy(&module->db);
}

static void checkpassword_lookup_done(struct auth_request *request,
				      enum db_checkpassword_status status,
				      const char *const *fields, void *context)
{
	userdb_callback_t *callback = *(userdb_callback_t **)context;

	switch (status) {
	case DB_CHECKPASSWORD_STATUS_INTERNAL_FAILURE:
		callback(request, USERDB_RESULT_INTERNAL_FAILURE);
		break;
	case DB_CHECKPASSWORD_STATUS_FAILURE:
		callback(request, USERDB_RESULT_USER_UNKNOWN);
		break;
	case DB_CHECKPASSWORD_STATUS_OK:
		for (; *fields != NULL; fields++) {
			const char *rest, *eq;
			if (!str_begins(*fields, "userdb_", &rest))
				continue;
			eq = strchr(rest, '=');
			const char *key = eq == NULL ? rest :
				pool_strndup(request->pool, rest, (size_t)(eq - rest));
			if (*key != '\0')
				auth_request_set_userdb_field(request, key,
					pool_strdup(request->pool, eq == NULL ? "" : eq + 1));
		}
		callback(request, USERDB_RESULT_OK);
		break;
	}
}

static void checkpassword_lookup(struct userdb_module *_module, struct auth_request *request,
				 userdb_callback_t *callback)
{
	struct checkpassword_userdb_module *module =
		(struct checkpassword_userdb_module *)_module;
	userdb_callback_t **ctx = pool_alloc(request->pool, sizeof(*ctx));

	*ctx = callback;
	db_checkpassword_call(module->db, request, NULL, NULL,
			      checkpassword_lookup_done, ctx);
}

const struct userdb_driver userdb_driver_checkpassword = {
	.name = "checkpassword",
	.blocking = false,
	.available = true,
	.preinit = checkpassword_preinit,
	.deinit = checkpassword_deinit,
	.lookup = checkpassword_lookup,
};
