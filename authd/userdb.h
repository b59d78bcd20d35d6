#ifndef ROOST_USERDB_H
#define ROOST_USERDB_H
/* userdb drivers and configured userdb instances. */
#include "lib.h"
#include "passdb.h"

struct auth;
struct auth_request;
struct auth_userdb_settings;
struct pool;

enum userdb_result {
	USERDB_RESULT_INTERNAL_FAILURE = -1,
	USERDB_RESULT_USER_UNKNOWN = -2,
	USERDB_RESULT_OK = 1,
};

/* The driver has set request->userdb_fields before calling. */
typedef void userdb_callback_t(struct auth_request *request,
			       enum userdb_result result);
/* Iteration: called with each user name, then with NULL at the end
   (failed=true if iteration failed). */
typedef void userdb_iterate_callback_t(const char *user, bool failed, void *context);

struct userdb_module;

struct userdb_driver {
	const char *name;
	bool blocking;
	bool available;
	int (*preinit)(struct pool *pool, const char *args,
		       struct userdb_module **module_r, const char **error_r);
	int (*init)(struct userdb_module *module, const char **error_r);
	void (*deinit)(struct userdb_module *module);
	void (*lookup)(struct userdb_module *module, struct auth_request *request,
		       userdb_callback_t *callback);
	/* optional. callback(user) for each user, then callback(NULL) once;
	   either during the call or later from the event loop (the caller
	   keeps context alive until the NULL call) */
	void (*iterate)(struct userdb_module *module, struct auth *auth,
			const char *user_mask, userdb_iterate_callback_t *callback,
			void *context);
};

struct userdb_module {
	const struct userdb_driver *driver;
	/* Cache key template, NULL = not cached (see passdb_module). */
	const char *default_cache_key;
};

struct auth_userdb {
	unsigned int id;
	const struct auth_userdb_settings *set;
	struct userdb_module *module;
	const char *const *default_fields;
	const char *const *override_fields;
	enum auth_db_skip skip;
	enum passdb_result_action result_success, result_failure, result_internalfail;
};

const struct userdb_driver *userdb_driver_find(const char *name);
/* Unit tests: make an extra driver findable by name (at most 4). */
void userdb_driver_register(const struct userdb_driver *driver);
int auth_userdb_create(struct pool *pool, unsigned int id,
		       const struct auth_userdb_settings *set,
		       struct auth_userdb **userdb_r, const char **error_r);

extern const struct userdb_driver userdb_driver_passwd_file;
extern const struct userdb_driver userdb_driver_static;
extern const struct userdb_driver userdb_driver_prefetch;

#endif
