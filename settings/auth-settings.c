/* roost-auth settings: tables (Dovecot 2.3 names and defaults) and
   checks. */
#include "lib.h"
#include "auth-settings.h"
#include "pool.h"
#include "settings.h"
#include "str.h"
#include "var-expand.h"

#include <stdio.h>
#include <strings.h>

struct support_entry {
	const char *name;
	enum auth_settings_support support;
};

/* Dovecot 2.3 mechanisms. When a mechanism gets implemented, switch it
   to AUTH_SUPPORT_IMPLEMENTED here. */
static const struct support_entry mechanisms[] = {
	{ "plain", AUTH_SUPPORT_IMPLEMENTED },
	{ "login", AUTH_SUPPORT_IMPLEMENTED },
	{ "anonymous", AUTH_SUPPORT_IMPLEMENTED },
	{ "apop", AUTH_SUPPORT_NOT_YET },
	{ "cram-md5", AUTH_SUPPORT_IMPLEMENTED },
	{ "digest-md5", AUTH_SUPPORT_IMPLEMENTED },
	{ "external", AUTH_SUPPORT_IMPLEMENTED },
	{ "gss-spnego", AUTH_SUPPORT_NOT_YET },
#ifdef HAVE_GSSAPI
	{ "gssapi", AUTH_SUPPORT_IMPLEMENTED },
#else
	{ "gssapi", AUTH_SUPPORT_NOT_YET },   /* built without libkrb5 */
#endif
	{ "ntlm", AUTH_SUPPORT_NOT_YET },
	{ "oauthbearer", AUTH_SUPPORT_NOT_YET },
	{ "otp", AUTH_SUPPORT_IMPLEMENTED },
	{ "rpa", AUTH_SUPPORT_NOT_YET },
	{ "scram-sha-1", AUTH_SUPPORT_IMPLEMENTED },
	{ "scram-sha-1-plus", AUTH_SUPPORT_NOT_YET },
	{ "scram-sha-256", AUTH_SUPPORT_IMPLEMENTED },
	{ "scram-sha-256-plus", AUTH_SUPPORT_NOT_YET },
	{ "xoauth2", AUTH_SUPPORT_NOT_YET },
	{ NULL, AUTH_SUPPORT_UNKNOWN }
};

static const struct support_entry passdb_drivers[] = {
	{ "passwd-file", AUTH_SUPPORT_IMPLEMENTED },
	{ "static", AUTH_SUPPORT_IMPLEMENTED },
	{ "bsdauth", AUTH_SUPPORT_NOT_YET },
	{ "checkpassword", AUTH_SUPPORT_IMPLEMENTED },
	{ "dict", AUTH_SUPPORT_NOT_YET },
	{ "imap", AUTH_SUPPORT_NOT_YET },
	{ "ldap", AUTH_SUPPORT_IMPLEMENTED },
	{ "lua", AUTH_SUPPORT_NOT_YET },
	{ "oauth2", AUTH_SUPPORT_NOT_YET },
	{ "pam", AUTH_SUPPORT_IMPLEMENTED },   /* "not compiled in" without libpam */
	{ "passwd", AUTH_SUPPORT_IMPLEMENTED },
	{ "shadow", AUTH_SUPPORT_IMPLEMENTED },
	{ "sql", AUTH_SUPPORT_IMPLEMENTED },
	{ "vpopmail", AUTH_SUPPORT_NOT_YET },
	{ NULL, AUTH_SUPPORT_UNKNOWN }
};

static const struct support_entry userdb_drivers[] = {
	{ "passwd-file", AUTH_SUPPORT_IMPLEMENTED },
	{ "static", AUTH_SUPPORT_IMPLEMENTED },
	{ "checkpassword", AUTH_SUPPORT_IMPLEMENTED },
	{ "dict", AUTH_SUPPORT_NOT_YET },
	{ "ldap", AUTH_SUPPORT_IMPLEMENTED },
	{ "lua", AUTH_SUPPORT_NOT_YET },
	{ "nss", AUTH_SUPPORT_NOT_YET },
	{ "passwd", AUTH_SUPPORT_IMPLEMENTED },
	{ "prefetch", AUTH_SUPPORT_IMPLEMENTED },
	{ "sql", AUTH_SUPPORT_IMPLEMENTED },
	{ "vpopmail", AUTH_SUPPORT_NOT_YET },
	{ NULL, AUTH_SUPPORT_UNKNOWN }
};

/* The variables of Dovecot 2.3 auth requests. */
const struct var_expand_table auth_settings_var_table[] = {
	{ 'u', "user", NULL },
	{ 'n', "username", NULL },
	{ 'd', "domain", NULL },
	{ 's', "service", NULL },
	{ 'h', "home", NULL },
	{ 'l', "lip", NULL },
	{ 'r', "rip", NULL },
	{ 'p', "pid", NULL },
	{ 'w', "password", NULL },
	{ '!', NULL, NULL },
	{ 'm', "mech", NULL },
	{ 'c', "secured", NULL },
	{ 'a', "lport", NULL },
	{ 'b', "rport", NULL },
	{ 'k', "cert", NULL },
	{ '\0', "login_user", NULL },
	{ '\0', "login_username", NULL },
	{ '\0', "login_domain", NULL },
	{ '\0', "session", NULL },
	{ '\0', "real_lip", NULL },
	{ '\0', "real_rip", NULL },
	{ '\0', "real_lport", NULL },
	{ '\0', "real_rport", NULL },
	{ '\0', "domain_first", NULL },
	{ '\0', "domain_last", NULL },
	{ '\0', "master_user", NULL },
	{ '\0', "session_pid", NULL },
	{ '\0', "orig_user", NULL },
	{ '\0', "orig_username", NULL },
	{ '\0', "orig_domain", NULL },
	{ '\0', "auth_user", NULL },
	{ '\0', "auth_username", NULL },
	{ '\0', "auth_domain", NULL },
	{ '\0', "local_name", NULL },
	{ '\0', "client_id", NULL },
	{ '\0', NULL, NULL }
};

static int var_func_unused(const char *data ATTR_UNUSED,
			   void *context ATTR_UNUSED,
			   const char **value_r ATTR_UNUSED,
			   const char **error_r ATTR_UNUSED)
{
	/* only used by var_expand_check(), which doesn't call it */
	return 0;
}

const struct var_expand_func_table auth_settings_var_funcs[] = {
	{ "passdb", var_func_unused },
	{ "userdb", var_func_unused },
	{ NULL, NULL }
};

static enum auth_settings_support
support_lookup(const struct support_entry *table, const char *name,
	       bool case_insensitive)
{
	for (; table->name != NULL; table++) {
		if (case_insensitive ? strcasecmp(table->name, name) == 0 :
		    strcmp(table->name, name) == 0)
			return table->support;
	}
	return AUTH_SUPPORT_UNKNOWN;
}

enum auth_settings_support auth_settings_mechanism_support(const char *name)
{
	return support_lookup(mechanisms, name, true);
}

enum auth_settings_support auth_settings_passdb_support(const char *driver)
{
	return support_lookup(passdb_drivers, driver, false);
}

enum auth_settings_support auth_settings_userdb_support(const char *driver)
{
	return support_lookup(userdb_drivers, driver, false);
}

const char *auth_settings_mechanisms_implemented(struct pool *pool)
{
	string_t *str = str_create(128);
	for (const struct support_entry *e = mechanisms; e->name != NULL; e++) {
		if (e->support != AUTH_SUPPORT_IMPLEMENTED)
			continue;
		if (str_len(str) > 0)
			str_append_c(str, ' ');
		str_append(str, e->name);
	}
	const char *ret = pool_strdup(pool, str_c(str));
	str_free(&str);
	return ret;
}

static const char *nearest_name(const struct support_entry *table,
				const char *name)
{
	const char *best = NULL;
	unsigned int dist, best_dist = (unsigned int)-1;

	if (strlen(name) > 64)
		return NULL;
	for (; table->name != NULL; table++) {
		dist = settings_edit_distance(name, table->name);
		if (dist < best_dist) {
			best_dist = dist;
			best = table->name;
		}
	}
	return best_dist <= 2 ? best : NULL;
}

/* Check a space/comma separated mechanism list. */
static int mechanisms_check(const char *key, const char *value,
			    bool allow_none, struct pool *pool,
			    const char **error_r)
{
	const char *p = value, *start, *suggestion;
	char *word;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		start = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != ',')
			p++;
		word = pool_strndup(pool, start, (size_t)(p - start));
		if (allow_none && strcasecmp(word, "none") == 0)
			continue;
		switch (auth_settings_mechanism_support(word)) {
		case AUTH_SUPPORT_IMPLEMENTED:
			continue;
		case AUTH_SUPPORT_NOT_YET:
#ifndef HAVE_GSSAPI
			if (strcasecmp(word, "gssapi") == 0) {
				*error_r = pool_printf(pool, "%s: Mechanism %s is "
					"not compiled in (roost was built without MIT "
					"Kerberos: install libkrb5-dev and reconfigure) "
					"(supported: %s)", key, word,
					auth_settings_mechanisms_implemented(pool));
				return -1;
			}
#endif
			*error_r = pool_printf(pool, "%s: Mechanism %s is not "
				"supported yet (supported: %s)", key, word,
				auth_settings_mechanisms_implemented(pool));
			return -1;
		case AUTH_SUPPORT_UNKNOWN:
			break;
		}
		suggestion = nearest_name(mechanisms, word);
		*error_r = pool_printf(pool, "%s: Unknown authentication "
			"mechanism: %s%s%s%s (supported: %s)", key, word,
			suggestion == NULL ? "" : " (did you mean ",
			suggestion == NULL ? "" : suggestion,
			suggestion == NULL ? "" : "?)",
			auth_settings_mechanisms_implemented(pool));
		return -1;
	}
}

static int auth_mechanisms_check(void *set ATTR_UNUSED, const char *key,
				 const char *value, struct pool *pool,
				 const char **error_r)
{
	return mechanisms_check(key, value, false, pool, error_r);
}

static int passdb_mechanisms_check(void *set ATTR_UNUSED, const char *key,
				   const char *value, struct pool *pool,
				   const char **error_r)
{
	return mechanisms_check(key, value, true, pool, error_r);
}

static int vars_check(void *set ATTR_UNUSED, const char *key,
		      const char *value, struct pool *pool,
		      const char **error_r)
{
	char *error;

	if (var_expand_check(value, auth_settings_var_table,
			     auth_settings_var_funcs, &error) == 0)
		return 0;
	*error_r = pool_printf(pool, "%s: %s", key, error);
	free(error);
	return -1;
}

static const char *test_driver_names[4];

void auth_settings_allow_test_driver(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(test_driver_names); i++) {
		if (test_driver_names[i] == NULL) {
			test_driver_names[i] = name;
			return;
		}
	}
}

static int driver_check(const char *db, const struct support_entry *table,
			const char *value, struct pool *pool,
			const char **error_r)
{
	const char *suggestion;

	for (size_t i = 0; i < N_ELEMENTS(test_driver_names); i++) {
		if (test_driver_names[i] != NULL && strcmp(test_driver_names[i], value) == 0)
			return 0;
	}

	switch (support_lookup(table, value, false)) {
	case AUTH_SUPPORT_IMPLEMENTED:
		return 0;
	case AUTH_SUPPORT_NOT_YET:
		*error_r = pool_printf(pool, "%s driver %s is not supported "
				       "yet", db, value);
		return -1;
	case AUTH_SUPPORT_UNKNOWN:
		break;
	}
	suggestion = nearest_name(table, value);
	*error_r = pool_printf(pool, "Unknown %s driver: %s%s%s%s", db, value,
			       suggestion == NULL ? "" : " (did you mean ",
			       suggestion == NULL ? "" : suggestion,
			       suggestion == NULL ? "" : "?)");
	return -1;
}

static int passdb_driver_check(void *set ATTR_UNUSED, const char *key ATTR_UNUSED,
			       const char *value, struct pool *pool,
			       const char **error_r)
{
	return driver_check("passdb", passdb_drivers, value, pool, error_r);
}

static int userdb_driver_check(void *set ATTR_UNUSED, const char *key ATTR_UNUSED,
			       const char *value, struct pool *pool,
			       const char **error_r)
{
	return driver_check("userdb", userdb_drivers, value, pool, error_r);
}

/* ---- passdb ----------------------------------------------------------- */

#define RESULT_VALUES_SUCCESS \
	"return-ok:return:return-fail:continue:continue-ok:continue-fail"
#define RESULT_VALUES_FAILURE \
	"continue:return:return-ok:return-fail:continue-ok:continue-fail"

static int passdb_check(void *_set, struct pool *pool ATTR_UNUSED,
			const char **error_r)
{
	struct auth_passdb_settings *set = _set;

	if (set->driver[0] == '\0') {
		*error_r = "passdb is missing driver";
		return -1;
	}
	if (set->pass && strcmp(set->result_success, "return-ok") != 0) {
		*error_r = "Obsolete pass=yes setting mixed with non-default "
			"result_success";
		return -1;
	}
	return 0;
}

#define DEF(type, field, deflt, check) \
	{ type, #field, offsetof(struct auth_passdb_settings, field), deflt, \
	  NULL, check }
static const struct setting_def passdb_defs[] = {
	DEF(SET_STR, name, NULL, NULL),
	DEF(SET_STR, driver, NULL, passdb_driver_check),
	DEF(SET_STR, args, NULL, vars_check),
	DEF(SET_STR, default_fields, NULL, vars_check),
	DEF(SET_STR, override_fields, NULL, vars_check),
	DEF(SET_STR, mechanisms, NULL, passdb_mechanisms_check),
	DEF(SET_STR, username_filter, NULL, NULL),
	DEF(SET_ENUM, skip, "never:authenticated:unauthenticated", NULL),
	DEF(SET_ENUM, result_success, RESULT_VALUES_SUCCESS, NULL),
	DEF(SET_ENUM, result_failure, RESULT_VALUES_FAILURE, NULL),
	DEF(SET_ENUM, result_internalfail, RESULT_VALUES_FAILURE, NULL),
	DEF(SET_BOOL, deny, "no", NULL),
	DEF(SET_BOOL, pass, "no", NULL),
	DEF(SET_BOOL, master, "no", NULL),
	DEF(SET_ENUM, auth_verbose, "default:yes:no", NULL),
	SETTING_DEF_END
};
#undef DEF

const struct setting_section_info auth_passdb_settings_info = {
	.type = "passdb",
	.struct_size = sizeof(struct auth_passdb_settings),
	.defs = passdb_defs,
	.name_key = "name",
	.unique = false,
	.def_file_offset = offsetof(struct auth_passdb_settings, def_file),
	.def_line_offset = offsetof(struct auth_passdb_settings, def_line),
	.check = passdb_check,
};

/* ---- userdb ----------------------------------------------------------- */

static int userdb_check(void *_set, struct pool *pool ATTR_UNUSED,
			const char **error_r)
{
	struct auth_userdb_settings *set = _set;

	if (set->driver[0] == '\0') {
		*error_r = "userdb is missing driver";
		return -1;
	}
	return 0;
}

#define DEF(type, field, deflt, check) \
	{ type, #field, offsetof(struct auth_userdb_settings, field), deflt, \
	  NULL, check }
static const struct setting_def userdb_defs[] = {
	DEF(SET_STR, name, NULL, NULL),
	DEF(SET_STR, driver, NULL, userdb_driver_check),
	DEF(SET_STR, args, NULL, vars_check),
	DEF(SET_STR, default_fields, NULL, vars_check),
	DEF(SET_STR, override_fields, NULL, vars_check),
	DEF(SET_ENUM, skip, "never:found:notfound", NULL),
	DEF(SET_ENUM, result_success, RESULT_VALUES_SUCCESS, NULL),
	DEF(SET_ENUM, result_failure, RESULT_VALUES_FAILURE, NULL),
	DEF(SET_ENUM, result_internalfail, RESULT_VALUES_FAILURE, NULL),
	DEF(SET_ENUM, auth_verbose, "default:yes:no", NULL),
	SETTING_DEF_END
};
#undef DEF

const struct setting_section_info auth_userdb_settings_info = {
	.type = "userdb",
	.struct_size = sizeof(struct auth_userdb_settings),
	.defs = userdb_defs,
	.name_key = "name",
	.unique = false,
	.def_file_offset = offsetof(struct auth_userdb_settings, def_file),
	.def_line_offset = offsetof(struct auth_userdb_settings, def_line),
	.check = userdb_check,
};

/* ---- top level -------------------------------------------------------- */

static int worker_max_count_check(void *_set, const char *key,
				  const char *value ATTR_UNUSED,
				  struct pool *pool ATTR_UNUSED,
				  const char **error_r)
{
	const struct auth_settings *set = _set;

	if (set->auth_worker_max_count > 0)
		return 0;
	*error_r = pool_printf(pool, "%s must be above zero", key);
	return -1;
}

static int cache_size_check(void *_set, const char *key,
			    const char *value ATTR_UNUSED, struct pool *pool,
			    const char **error_r)
{
	const struct auth_settings *set = _set;

	/* Dovecot: probably a mistake (old versions used megabytes) */
	if (set->auth_cache_size == 0 || set->auth_cache_size >= 1024)
		return 0;
	*error_r = pool_printf(pool, "%s value is too small (%llu bytes)", key,
			       (unsigned long long)set->auth_cache_size);
	return -1;
}

static int verbose_passwords_check(void *_set, const char *key,
				   const char *value, struct pool *pool,
				   const char **error_r)
{
	struct auth_settings *set = _set;
	const char *colon = strchr(value, ':'), *word = value;
	unsigned int num;

	if (colon != NULL) {
		if (str_to_uint(colon + 1, &num) < 0 || num == 0) {
			*error_r = pool_printf(pool, "%s: Invalid truncation "
					       "number: '%s'", key, colon + 1);
			return -1;
		}
		word = pool_strndup(pool, value, (size_t)(colon - value));
	}
	if (strcmp(word, "yes") == 0) {
		/* an alias of "plain" */
		set->auth_verbose_passwords = colon == NULL ? "plain" :
			pool_strconcat(pool, "plain", colon, NULL);
		return 0;
	}
	if (strcmp(word, "no") == 0 || strcmp(word, "plain") == 0 ||
	    strcmp(word, "sha1") == 0)
		return 0;
	*error_r = pool_printf(pool, "%s: Invalid value: %s (use no, plain or "
			       "sha1, optionally with :N)", key, value);
	return -1;
}

static int policy_server_check(void *set ATTR_UNUSED, const char *key,
			       const char *value, struct pool *pool,
			       const char **error_r)
{
	if (value[0] == '\0')
		return 0;
	*error_r = pool_printf(pool, "%s: The auth policy server is not "
			       "supported by roost yet", key);
	return -1;
}

static int client_cert_check(void *set ATTR_UNUSED, const char *key,
			     const char *value, struct pool *pool,
			     const char **error_r)
{
	bool enabled;
	const char *error;

	if (settings_parse_bool(value, &enabled, &error) < 0 || !enabled)
		return 0;
	*error_r = pool_printf(pool, "%s = yes needs TLS client certificates: "
			       "TLS is not implemented yet", key);
	return -1;
}

#define DEF(type, field, deflt, check) \
	{ type, #field, offsetof(struct auth_settings, field), deflt, \
	  NULL, check }
#define DEFLIST(field, key, info) \
	{ SET_SECTION_LIST, key, offsetof(struct auth_settings, field), \
	  NULL, &info, NULL }
static const struct setting_def auth_defs[] = {
	DEF(SET_STR, auth_mechanisms, "plain", auth_mechanisms_check),
	DEF(SET_STR, auth_realms, NULL, NULL),
	DEF(SET_STR, auth_default_realm, NULL, NULL),
	DEF(SET_STR, auth_username_chars,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890.-_@",
	    NULL),
	DEF(SET_STR, auth_username_translation, NULL, NULL),
	DEF(SET_STR, auth_username_format, "%Lu", vars_check),
	DEF(SET_STR, auth_master_user_separator, NULL, NULL),
	DEF(SET_STR, auth_anonymous_username, "anonymous", NULL),
	DEF(SET_BOOL, auth_verbose, "no", NULL),
	DEF(SET_STR, auth_verbose_passwords, "no", verbose_passwords_check),
	DEF(SET_BOOL, auth_debug, "no", NULL),
	DEF(SET_BOOL, auth_debug_passwords, "no", NULL),
	DEF(SET_TIME, auth_failure_delay, "2 secs", NULL),
	DEF(SET_UINT, auth_worker_max_count, "30", worker_max_count_check),
	DEF(SET_SIZE, auth_cache_size, "0", cache_size_check),
	DEF(SET_TIME, auth_cache_ttl, "1 hour", NULL),
	DEF(SET_TIME, auth_cache_negative_ttl, "1 hour", NULL),
	DEF(SET_BOOL, auth_cache_verify_password_with_worker, "no", NULL),
	DEF(SET_BOOL, disable_plaintext_auth, "yes", NULL),
	DEF(SET_BOOL, auth_ssl_require_client_cert, "no", client_cert_check),
	/* needs no TLS here: the name comes in the clients' AUTH lines
	   (cert_username=), used by EXTERNAL and overriding other
	   mechanisms' names as in Dovecot */
	DEF(SET_BOOL, auth_ssl_username_from_cert, "no", NULL),
	DEF(SET_STR, auth_gssapi_hostname, NULL, NULL),
	DEF(SET_STR, auth_krb5_keytab, NULL, NULL),
	DEF(SET_STR, auth_policy_server_url, NULL, policy_server_check),
	DEFLIST(passdbs, "passdb", auth_passdb_settings_info),
	DEFLIST(userdbs, "userdb", auth_userdb_settings_info),
	SETTING_DEF_END
};
#undef DEF
#undef DEFLIST

const struct setting_section_info auth_settings_info = {
	.type = "",
	.struct_size = sizeof(struct auth_settings),
	.defs = auth_defs,
	.def_file_offset = SETTINGS_NO_OFFSET,
	.def_line_offset = SETTINGS_NO_OFFSET,
};

int auth_settings_check(struct auth_settings *set, struct pool *pool,
			const char **error_r)
{
	const char *p = set->auth_mechanisms, *start;
	bool have_passdb = false;

	for (size_t i = 0; i < set->passdbs.count; i++) {
		if (!set->passdbs.v[i]->master)
			have_passdb = true;
	}
	if (have_passdb)
		return 0;
	/* Dovecot: every mechanism roost implements needs a passdb */
	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	if (*p == '\0')
		return 0;
	start = p;
	while (*p != '\0' && *p != ' ' && *p != '\t' && *p != ',')
		p++;
	string_t *name = str_create(16);
	for (const char *c = start; c < p; c++)
		str_append_c(name, (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c));
	*error_r = pool_printf(pool, "No passdbs specified in configuration "
			       "file. %s mechanism needs one", str_c(name));
	str_free(&name);
	return -1;
}
