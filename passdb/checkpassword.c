/* passdb checkpassword: an external checkpassword program verifies the
   password (Dovecot 2.3 passdb-checkpassword; protocol in
   db-checkpassword.h). args: [timeout=SECS] /path/to/program [args].
   Reply fields become extra fields (userdb_* prefetch the userdb); a
   "password" field is used only by credentials lookups. Never cached
   (auth-cache.md 1.2). */
#include "lib.h"
#include "pool.h"
#include "auth-request.h"
#include "db-checkpassword.h"
#include "passdb.h"

struct checkpassword_passdb_module {
	struct passdb_module module;
	struct db_checkpassword *db;
};

struct checkpassword_passdb_request {
	passdb_verify_callback_t *verify_callback;
	passdb_lookup_callback_t *lookup_callback;
};

static int checkpassword_preinit(struct pool *pool, const char *args,
				 struct passdb_module **module_r, const char **error_r)
{
	struct checkpassword_passdb_module *module = pool_alloc(pool, sizeof(*module));

	if (db_checkpassword_create(pool, args, &module->db, error_r) < 0)
		return -1;
	module->module.default_pass_scheme = "PLAIN";
	module->module.default_cache_key = NULL;
	*module_r = &module->module;
	return 0;
}

static void checkpassword_deinit(struct passdb_module *_module)
{
	struct checkpassword_passdb_module *module =
		(struct checkpassword_passdb_module *)_module;
	db_checkpassword_destroy(&module->db);
}

/* Sets the fields; returns the "password" field, or NULL. */
static const char *set_reply_fields(struct auth_request *request,
				    const char *const *fields)
{
	const char *password = NULL;

	for (; *fields != NULL; fields++) {
		const char *field = *fields, *eq = strchr(field, '=');
		const char *key = eq == NULL ? field :
			pool_strndup(request->pool, field, (size_t)(eq - field));
		const char *value = eq == NULL ? "" : eq + 1;

		if (*key == '\0')
			continue;
		if (str_eq(key, "password"))
			password = pool_strdup(request->pool, value);
		else
			auth_request_set_field(request, key, value, NULL);
	}
	return password;
}

static void checkpassword_verify_done(struct auth_request *request,
				      enum db_checkpassword_status status,
				      const char *const *fields, void *context)
{
	struct checkpassword_passdb_request *ctx = context;

	switch (status) {
	case DB_CHECKPASSWORD_STATUS_INTERNAL_FAILURE:
		ctx->verify_callback(request, PASSDB_RESULT_INTERNAL_FAILURE);
		break;
	case DB_CHECKPASSWORD_STATUS_FAILURE:
		ctx->verify_callback(request, PASSDB_RESULT_PASSWORD_MISMATCH);
		break;
	case DB_CHECKPASSWORD_STATUS_OK:
		/* a password field doesn't matter: the program checked it */
		(void)set_reply_fields(request, fields);
		ctx->verify_callback(request, PASSDB_RESULT_OK);
		break;
	}
}

static void checkpassword_verify_plain(struct passdb_module *_module,
				       struct auth_request *request, const char *password,
				       passdb_verify_callback_t *callback)
{
	struct checkpassword_passdb_module *module =
		(struct checkpassword_passdb_module *)_module;
	struct checkpassword_passdb_request *ctx = pool_alloc(request->pool, sizeof(*ctx));

	ctx->verify_callback = callback;
	db_checkpassword_call(module->db, request, password, NULL,
			      checkpassword_verify_done, ctx);
}

static void checkpassword_lookup_done(struct auth_request *request,
				      enum db_checkpassword_status status,
				      const char *const *fields, void *context)
{
	struct checkpassword_passdb_request *ctx = context;

	switch (status) {
	case DB_CHECKPASSWORD_STATUS_INTERNAL_FAILURE:
		ctx->lookup_callback(request, PASSDB_RESULT_INTERNAL_FAILURE, NULL);
		break;
	case DB_CHECKPASSWORD_STATUS_FAILURE:
		ctx->lookup_callback(request, PASSDB_RESULT_USER_UNKNOWN, NULL);
		break;
	case DB_CHECKPASSWORD_STATUS_OK: {
		const char *password = set_reply_fields(request, fields);
		/* without a {SCHEME} prefix it's in the scheme that was asked */
		if (password != NULL && password[0] != '{' &&
		    request->credentials_scheme != NULL)
			password = pool_printf(request->pool, "{%s}%s",
					       request->credentials_scheme, password);
		ctx->lookup_callback(request, PASSDB_RESULT_OK, password);
		break;
	}
	}
}

static void checkpassword_lookup_credentials(struct passdb_module *_module,
					     struct auth_request *request,
					     passdb_lookup_callback_t *callback)
{
	struct checkpassword_passdb_module *module =
		(struct checkpassword_passdb_module *)_module;
	struct checkpassword_passdb_request *ctx = pool_alloc(request->pool, sizeof(*ctx));

	ctx->lookup_callback = callback;
	db_checkpassword_call(module->db, request, NULL, request->credentials_scheme,
			      checkpassword_lookup_done, ctx);
}

const struct passdb_driver passdb_driver_checkpassword = {
	.name = "checkpassword",
	/* the program runs in its own process, watched from the event loop */
	.blocking = false,
	.available = true,
	.preinit = checkpassword_preinit,
	.deinit = checkpassword_deinit,
	.verify_plain = checkpassword_verify_plain,
	.lookup_credentials = checkpassword_lookup_credentials,
};
