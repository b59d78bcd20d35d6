#ifndef ROOST_PASSDB_H
#define ROOST_PASSDB_H
/* passdb drivers and configured passdb instances.

   A driver is one const struct in passdb/<name>.c. It either looks up the
   stored password (lookup_credentials: the generic code then verifies the
   typed password, on a worker thread when the scheme is slow) or verifies
   a password itself (verify_plain: PAM, LDAP bind). */
#include "lib.h"

struct auth_request;
struct auth_passdb_settings;
struct pool;

enum passdb_result {
	PASSDB_RESULT_INTERNAL_FAILURE = -1,
	PASSDB_RESULT_SCHEME_NOT_AVAILABLE = -2,
	PASSDB_RESULT_USER_UNKNOWN = -3,
	PASSDB_RESULT_USER_DISABLED = -4,
	PASSDB_RESULT_PASS_EXPIRED = -5,
	PASSDB_RESULT_NEXT = -6,
	PASSDB_RESULT_PASSWORD_MISMATCH = 0,
	PASSDB_RESULT_OK = 1,
};

/* Driver callbacks: the driver sets fields on request->extra_fields (and
   userdb_* on request->userdb_fields) before calling. */
typedef void passdb_verify_callback_t(struct auth_request *request,
				      enum passdb_result result);
/* stored_password is "{SCHEME}data" or data in the driver's default
   scheme (passdb->default_pass_scheme); NULL when not found or nopassword. */
typedef void passdb_lookup_callback_t(struct auth_request *request,
				      enum passdb_result result,
				      const char *stored_password);

struct passdb_module;

/* set_credentials result (OTP writes its new state back). */
typedef void passdb_set_credentials_callback_t(struct auth_request *request,
					       bool success);

struct passdb_driver {
	const char *name;
	/* The driver runs blocking code: call it on a worker thread. */
	bool blocking;
	/* Compiled in? If false, configuring it fails with "not compiled in". */
	bool available;
	/* Parse args; allocate the module from pool. */
	int (*preinit)(struct pool *pool, const char *args,
		       struct passdb_module **module_r, const char **error_r);
	int (*init)(struct passdb_module *module, const char **error_r);
	void (*deinit)(struct passdb_module *module);
	void (*verify_plain)(struct passdb_module *module,
			     struct auth_request *request, const char *password,
			     passdb_verify_callback_t *callback);
	void (*lookup_credentials)(struct passdb_module *module,
				   struct auth_request *request,
				   passdb_lookup_callback_t *callback);
	/* Optional: store new credentials ("{SCHEME}data") for the request's
	   user (SQL update_query). NULL = the passdb is read-only. */
	void (*set_credentials)(struct passdb_module *module,
				struct auth_request *request,
				const char *credentials,
				passdb_set_credentials_callback_t *callback);
};

/* Base of every driver's module struct (first member). */
struct passdb_module {
	const struct passdb_driver *driver;
	const char *default_pass_scheme;  /* "PLAIN" unless scheme= */
	/* Cache key template ("%u\t%r"...), NULL = results are not cached
	   (auth-cache.md 1.2). Set by preinit; auth_cache_parse_key()
	   derives it from the driver's query templates. */
	const char *default_cache_key;
};

enum passdb_result_action {
	PASSDB_ACTION_RETURN_OK,
	PASSDB_ACTION_RETURN,
	PASSDB_ACTION_RETURN_FAIL,
	PASSDB_ACTION_CONTINUE,
	PASSDB_ACTION_CONTINUE_OK,
	PASSDB_ACTION_CONTINUE_FAIL,
};

enum auth_db_skip {
	AUTH_DB_SKIP_NEVER,
	AUTH_DB_SKIP_AUTHENTICATED,
	AUTH_DB_SKIP_UNAUTHENTICATED,
};

/* A configured passdb { } section. */
struct auth_passdb {
	unsigned int id;
	const struct auth_passdb_settings *set;
	struct passdb_module *module;
	const char *const *default_fields;   /* "key=template" list */
	const char *const *override_fields;
	const char *const *mechanisms;       /* NULL = all */
	const char *username_filter;
	enum auth_db_skip skip;
	enum passdb_result_action result_success, result_failure, result_internalfail;
	bool deny;
	bool master;      /* master users: consulted for the authenticating
			     identity of a login as another user */
};

const struct passdb_driver *passdb_driver_find(const char *name);
/* Unit tests: make an extra driver findable by name (at most 4). */
void passdb_driver_register(const struct passdb_driver *driver);
int auth_passdb_create(struct pool *pool, unsigned int id,
		       const struct auth_passdb_settings *set,
		       struct auth_passdb **passdb_r, const char **error_r);
int auth_db_parse_action(const char *value, enum passdb_result_action *action_r);
int auth_db_parse_skip(const char *value, enum auth_db_skip *skip_r);
/* Split "a=1 b=%u c" into a NULL-terminated list (pool). */
const char *const *auth_db_split_fields(struct pool *pool, const char *str);

extern const struct passdb_driver passdb_driver_passwd_file;
extern const struct passdb_driver passdb_driver_static;

#endif
