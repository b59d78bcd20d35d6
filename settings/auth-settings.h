#ifndef ROOST_AUTH_SETTINGS_H
#define ROOST_AUTH_SETTINGS_H
/* Settings of roost-auth (Dovecot 2.3 names and defaults). */
#include "lib.h"
#include "array.h"

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

#endif
