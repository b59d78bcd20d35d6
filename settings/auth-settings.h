#ifndef ROOST_AUTH_SETTINGS_H
#define ROOST_AUTH_SETTINGS_H
/* Settings of roost-auth (Dovecot 2.3 names and defaults). */
#include "lib.h"
#include "array.h"
#include "var-expand.h"

struct auth_passdb_settings {
	const char *name;            /* section name or "" */
	const char *driver;
	const char *args;
	const char *default_fields;
	const char *override_fields;
	const char *mechanisms;      /* "" = all */
	const char *username_filter;
	const char *skip;            /* never | authenticated | unauthenticated */
	const char *result_success;  /* return-ok | return | return-fail | continue | continue-ok | continue-fail */
	const char *result_failure;
	const char *result_internalfail;
	bool deny;
	bool pass;
	bool master;
	const char *auth_verbose;    /* default: inherit */
	const char *def_file;
	unsigned int def_line;
};
/* As in Dovecot: pass = yes is the obsolete spelling of
   result_success = continue (mixing it with another result_success is a
   configuration error); skip, result_* and auth_verbose hold one of the
   allowed words (auth_verbose "default" = the global auth_verbose).
   mechanisms: space/comma separated, "" = all. */

struct auth_userdb_settings {
	const char *name;
	const char *driver;
	const char *args;
	const char *default_fields;
	const char *override_fields;
	const char *skip;
	const char *result_success;
	const char *result_failure;
	const char *result_internalfail;
	const char *auth_verbose;
	const char *def_file;
	unsigned int def_line;
};

struct auth_settings {
	const char *auth_mechanisms;           /* "plain" */
	const char *auth_realms;
	const char *auth_default_realm;
	const char *auth_username_chars;
	const char *auth_username_translation;
	const char *auth_username_format;      /* "%Lu" */
	const char *auth_master_user_separator;
	const char *auth_anonymous_username;   /* "anonymous" */
	bool auth_verbose;
	const char *auth_verbose_passwords;    /* no | plain | sha1 */
	bool auth_debug;
	bool auth_debug_passwords;
	unsigned int auth_failure_delay;       /* seconds, default 2 */
	unsigned int auth_worker_max_count;    /* default 30 */
	uint64_t auth_cache_size;              /* bytes, default 0 */
	unsigned int auth_cache_ttl;           /* seconds, default 3600 */
	unsigned int auth_cache_negative_ttl;  /* seconds, default 3600 */
	bool auth_cache_verify_password_with_worker;
	bool disable_plaintext_auth;           /* default yes */
	bool auth_ssl_require_client_cert;
	bool auth_ssl_username_from_cert;
	const char *auth_gssapi_hostname;
	const char *auth_krb5_keytab;
	const char *auth_policy_server_url;    /* must stay "" (not implemented) */
	ARRAY(struct auth_passdb_settings *) passdbs;
	ARRAY(struct auth_userdb_settings *) userdbs;
};
/* Notes: auth_verbose_passwords is "no", "plain" or "sha1", optionally
   with ":N" (truncate to N characters); "yes" is stored as "plain".
   As in Dovecot, auth_debug_passwords implies auth_debug, which implies
   auth_verbose: the structs hold what the config says, the auth process
   applies the implication. auth_mechanisms is space/comma separated,
   case-insensitive. Without userdbs Dovecot 2.3 uses none (static
   userdb with no fields). */

/* Tables for lib/settings.h (defined in auth-settings.c). */
struct setting_section_info;
extern const struct setting_section_info auth_settings_info;
extern const struct setting_section_info auth_passdb_settings_info;
extern const struct setting_section_info auth_userdb_settings_info;

/* The %variables an auth request expands (all values NULL), and the
   %{passdb:...}/%{userdb:...} prefixes: what the configuration check
   accepts in auth_username_format and passdb/userdb args, default_fields
   and override_fields. The request code must provide the same names. */
extern const struct var_expand_table auth_settings_var_table[];
extern const struct var_expand_func_table auth_settings_var_funcs[];

/* What roost knows about a mechanism or driver name. */
enum auth_settings_support {
	AUTH_SUPPORT_UNKNOWN = 0,    /* not a Dovecot 2.3 name */
	AUTH_SUPPORT_NOT_YET,        /* Dovecot has it, roost not yet */
	AUTH_SUPPORT_IMPLEMENTED,
};
/* Mechanism names are case-insensitive ("PLAIN" = "plain"). */
enum auth_settings_support auth_settings_mechanism_support(const char *name);
enum auth_settings_support auth_settings_passdb_support(const char *driver);
enum auth_settings_support auth_settings_userdb_support(const char *driver);
/* Space-separated lowercase list of the implemented mechanisms
   ("plain login"). */
struct pool;
const char *auth_settings_mechanisms_implemented(struct pool *pool);
/* Unit tests: accept this passdb/userdb driver name (a driver the test
   registers itself). */
void auth_settings_allow_test_driver(const char *name);

struct pool;
/* Checks that need the whole auth configuration (after binding):
   "No passdbs specified in configuration file. PLAIN mechanism needs
   one". error_r has no file name; the caller adds it. */
int auth_settings_check(struct auth_settings *set, struct pool *pool,
			const char **error_r);

#endif
