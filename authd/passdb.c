/* passdb/userdb driver registries and configured instances. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "auth-settings.h"
#include "passdb.h"
#include "userdb.h"
#include "db-sql.h"
#include "db-ldap.h"
#include "db-pam.h"
#include "db-checkpassword.h"
#include "db-passwd.h"

#include <stdlib.h>
#include <strings.h>

/* Every driver name Dovecot knows is listed so that the config error can
   say "not compiled in / not implemented yet" instead of "unknown". */
static const struct passdb_driver *const passdb_drivers[] = {
	&passdb_driver_passwd_file,
	&passdb_driver_static,
	&passdb_driver_sql,
	&passdb_driver_ldap,
	&passdb_driver_pam,
	&passdb_driver_checkpassword,
	&passdb_driver_passwd,
	&passdb_driver_shadow,
	NULL
};
static const char *const passdb_planned[] = {
	"bsdauth",
	"imap", "lua", "oauth2", "dict", "vpopmail", NULL
};

static const struct userdb_driver *const userdb_drivers[] = {
	&userdb_driver_passwd_file,
	&userdb_driver_static,
	&userdb_driver_prefetch,
	&userdb_driver_sql,
	&userdb_driver_ldap,
	&userdb_driver_checkpassword,
	&userdb_driver_passwd,
	NULL
};
static const char *const userdb_planned[] = {
	"lua", "dict",
	"nss", "vpopmail", NULL
};

static const struct passdb_driver *passdb_extra_drivers[4];

void passdb_driver_register(const struct passdb_driver *driver)
{
	for (unsigned int i = 0; i < N_ELEMENTS(passdb_extra_drivers); i++) {
		if (passdb_extra_drivers[i] == NULL || passdb_extra_drivers[i] == driver) {
			passdb_extra_drivers[i] = driver;
			return;
		}
	}
	lib_panic(__FILE__, __LINE__, "passdb_driver_register: too many extra drivers");
}

const struct passdb_driver *passdb_driver_find(const char *name)
{
	for (unsigned int i = 0; passdb_drivers[i] != NULL; i++) {
		if (strcmp(passdb_drivers[i]->name, name) == 0)
			return passdb_drivers[i];
	}
	for (unsigned int i = 0; i < N_ELEMENTS(passdb_extra_drivers); i++) {
		if (passdb_extra_drivers[i] != NULL &&
		    strcmp(passdb_extra_drivers[i]->name, name) == 0)
			return passdb_extra_drivers[i];
	}
	return NULL;
}

static const struct userdb_driver *userdb_extra_drivers[4];

void userdb_driver_register(const struct userdb_driver *driver)
{
	for (unsigned int i = 0; i < N_ELEMENTS(userdb_extra_drivers); i++) {
		if (userdb_extra_drivers[i] == NULL || userdb_extra_drivers[i] == driver) {
			userdb_extra_drivers[i] = driver;
			return;
		}
	}
	lib_panic(__FILE__, __LINE__, "userdb_driver_register: too many extra drivers");
}

const struct userdb_driver *userdb_driver_find(const char *name)
{
	for (unsigned int i = 0; userdb_drivers[i] != NULL; i++) {
		if (strcmp(userdb_drivers[i]->name, name) == 0)
			return userdb_drivers[i];
	}
	for (unsigned int i = 0; i < N_ELEMENTS(userdb_extra_drivers); i++) {
		if (userdb_extra_drivers[i] != NULL &&
		    strcmp(userdb_extra_drivers[i]->name, name) == 0)
			return userdb_extra_drivers[i];
	}
	return NULL;
}

static bool in_list(const char *const *list, const char *name)
{
	for (; *list != NULL; list++) {
		if (strcmp(*list, name) == 0)
			return true;
	}
	return false;
}

int auth_db_parse_action(const char *value, enum passdb_result_action *action_r)
{
	static const struct { const char *name; enum passdb_result_action action; } actions[] = {
		{ "return-ok", PASSDB_ACTION_RETURN_OK },
		{ "return", PASSDB_ACTION_RETURN },
		{ "return-fail", PASSDB_ACTION_RETURN_FAIL },
		{ "continue", PASSDB_ACTION_CONTINUE },
		{ "continue-ok", PASSDB_ACTION_CONTINUE_OK },
		{ "continue-fail", PASSDB_ACTION_CONTINUE_FAIL },
	};
	for (size_t i = 0; i < N_ELEMENTS(actions); i++) {
		if (strcmp(actions[i].name, value) == 0) {
			*action_r = actions[i].action;
			return 0;
		}
	}
	return -1;
}

int auth_db_parse_skip(const char *value, enum auth_db_skip *skip_r)
{
	if (*value == '\0' || strcmp(value, "never") == 0)
		*skip_r = AUTH_DB_SKIP_NEVER;
	else if (strcmp(value, "authenticated") == 0)
		*skip_r = AUTH_DB_SKIP_AUTHENTICATED;
	else if (strcmp(value, "unauthenticated") == 0)
		*skip_r = AUTH_DB_SKIP_UNAUTHENTICATED;
	else
		return -1;
	return 0;
}

const char *const *auth_db_split_fields(struct pool *pool, const char *str)
{
	if (str == NULL || *str == '\0')
		return NULL;
	char *copy = pool_strdup(pool, str);
	ARRAY(const char *) list = ARRAY_INIT;
	char *saveptr = NULL;
	for (char *tok = strtok_r(copy, " ", &saveptr); tok != NULL;
	     tok = strtok_r(NULL, " ", &saveptr))
		array_push(&list, tok);
	const char **result = pool_alloc(pool, sizeof(char *) * (list.count + 1));
	for (size_t i = 0; i < list.count; i++)
		result[i] = list.v[i];
	array_free(&list);
	return result;
}

static int parse_results(struct pool *pool, const char *where,
			 const char *success, const char *failure,
			 const char *internalfail, const char *skip,
			 enum passdb_result_action *success_r,
			 enum passdb_result_action *failure_r,
			 enum passdb_result_action *internalfail_r,
			 enum auth_db_skip *skip_r, const char **error_r)
{
	*success_r = PASSDB_ACTION_RETURN_OK;
	*failure_r = PASSDB_ACTION_CONTINUE;
	*internalfail_r = PASSDB_ACTION_CONTINUE;
	if (success != NULL && *success != '\0' && auth_db_parse_action(success, success_r) < 0) {
		*error_r = pool_printf(pool, "%s: invalid result_success: %s", where, success);
		return -1;
	}
	if (failure != NULL && *failure != '\0' && auth_db_parse_action(failure, failure_r) < 0) {
		*error_r = pool_printf(pool, "%s: invalid result_failure: %s", where, failure);
		return -1;
	}
	if (internalfail != NULL && *internalfail != '\0' &&
	    auth_db_parse_action(internalfail, internalfail_r) < 0) {
		*error_r = pool_printf(pool, "%s: invalid result_internalfail: %s", where, internalfail);
		return -1;
	}
	if (auth_db_parse_skip(skip != NULL ? skip : "", skip_r) < 0) {
		/* userdb words (Dovecot): found = after a userdb found the user,
		   notfound = while none has */
		if (skip != NULL && strcmp(skip, "found") == 0) {
			*skip_r = AUTH_DB_SKIP_AUTHENTICATED;
			return 0;
		}
		if (skip != NULL && strcmp(skip, "notfound") == 0) {
			*skip_r = AUTH_DB_SKIP_UNAUTHENTICATED;
			return 0;
		}
		*error_r = pool_printf(pool, "%s: invalid skip: %s (never, authenticated, unauthenticated)",
				       where, skip);
		return -1;
	}
	return 0;
}

int auth_passdb_create(struct pool *pool, unsigned int id,
		       const struct auth_passdb_settings *set,
		       struct auth_passdb **passdb_r, const char **error_r)
{
	struct auth_passdb *passdb = pool_alloc(pool, sizeof(*passdb));
	const char *where = pool_printf(pool, "%s:%u: passdb %s", set->def_file != NULL ?
					set->def_file : "config", set->def_line, set->driver);
	const struct passdb_driver *driver = passdb_driver_find(set->driver);

	if (driver == NULL) {
		if (in_list(passdb_planned, set->driver))
			*error_r = pool_printf(pool, "%s: driver is not supported by roost yet", where);
		else
			*error_r = pool_printf(pool, "%s: unknown passdb driver "
					       "(supported: passwd-file, static, sql, ldap, pam, checkpassword, passwd, shadow)", where);
		return -1;
	}
	if (!driver->available) {
		*error_r = pool_printf(pool, "%s: driver is not compiled in", where);
		return -1;
	}
	passdb->id = id;
	passdb->set = set;
	passdb->deny = set->deny;
	passdb->master = set->master;
	passdb->default_fields = auth_db_split_fields(pool, set->default_fields);
	passdb->override_fields = auth_db_split_fields(pool, set->override_fields);
	passdb->mechanisms = auth_db_split_fields(pool, set->mechanisms);
	passdb->username_filter = set->username_filter != NULL && *set->username_filter != '\0' ?
		set->username_filter : NULL;
	if (parse_results(pool, where, set->result_success, set->result_failure,
			  set->result_internalfail, set->skip,
			  &passdb->result_success, &passdb->result_failure,
			  &passdb->result_internalfail, &passdb->skip, error_r) < 0)
		return -1;
	/* "pass = yes" is Dovecot's old spelling of result_success = continue */
	if (set->pass)
		passdb->result_success = PASSDB_ACTION_CONTINUE;
	const char *error;
	if (driver->preinit(pool, set->args != NULL ? set->args : "", &passdb->module, &error) < 0) {
		*error_r = pool_printf(pool, "%s: %s", where, error);
		return -1;
	}
	passdb->module->driver = driver;
	if (passdb->module->default_pass_scheme == NULL)
		passdb->module->default_pass_scheme = "PLAIN";
	if (driver->init != NULL && driver->init(passdb->module, &error) < 0) {
		*error_r = pool_printf(pool, "%s: %s", where, error);
		return -1;
	}
	*passdb_r = passdb;
	return 0;
}

int auth_userdb_create(struct pool *pool, unsigned int id,
		       const struct auth_userdb_settings *set,
		       struct auth_userdb **userdb_r, const char **error_r)
{
	struct auth_userdb *userdb = pool_alloc(pool, sizeof(*userdb));
	const char *where = pool_printf(pool, "%s:%u: userdb %s", set->def_file != NULL ?
					set->def_file : "config", set->def_line, set->driver);
	const struct userdb_driver *driver = userdb_driver_find(set->driver);

	if (driver == NULL) {
		if (in_list(userdb_planned, set->driver))
			*error_r = pool_printf(pool, "%s: driver is not supported by roost yet", where);
		else
			*error_r = pool_printf(pool, "%s: unknown userdb driver "
					       "(supported: passwd-file, static, prefetch, sql, ldap, checkpassword, passwd)", where);
		return -1;
	}
	if (!driver->available) {
		*error_r = pool_printf(pool, "%s: driver is not compiled in", where);
		return -1;
	}
	userdb->id = id;
	userdb->set = set;
	userdb->default_fields = auth_db_split_fields(pool, set->default_fields);
	userdb->override_fields = auth_db_split_fields(pool, set->override_fields);
	if (parse_results(pool, where, set->result_success, set->result_failure,
			  set->result_internalfail, set->skip,
			  &userdb->result_success, &userdb->result_failure,
			  &userdb->result_internalfail, &userdb->skip, error_r) < 0)
		return -1;
	const char *error;
	if (driver->preinit(pool, set->args != NULL ? set->args : "", &userdb->module, &error) < 0) {
		*error_r = pool_printf(pool, "%s: %s", where, error);
		return -1;
	}
	userdb->module->driver = driver;
	if (driver->init != NULL && driver->init(userdb->module, &error) < 0) {
		*error_r = pool_printf(pool, "%s: %s", where, error);
		return -1;
	}
	*userdb_r = userdb;
	return 0;
}
