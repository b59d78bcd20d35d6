#ifndef ROOST_SETTINGS_H
#define ROOST_SETTINGS_H
/* Reading the whole dovecot.conf-syntax configuration into typed structs.
   One file holds global/service settings (master_settings) and auth
   settings (auth_settings); both are filled from the same parse. */
#include "lib.h"
#include "master-settings.h"
#include "auth-settings.h"

struct pool;

/* protocol NAME { ... }: auth settings, passdb and userdb sections that
   apply to requests with service=NAME (Dovecot 2.3 semantics: the
   protocol's passdbs/userdbs come before the global ones, its settings
   replace the global ones). */
struct roost_protocol_settings {
	const char *name;
	struct auth_settings *auth;
	const char *text;           /* the block as written, for roostd -n */
	const char *def_file;
	unsigned int def_line;
};

struct roost_settings {
	struct pool *pool;          /* everything below lives here */
	struct master_settings *master;
	struct auth_settings *auth;
	struct roost_protocol_settings **protocols;   /* NULL-terminated */
	unsigned int protocol_count;
	const char *config_path;
	/* Parser warnings ("file:line: ..."), NULL-terminated: the caller
	   logs them (Dovecot logs e.g. an ambiguous '#'). */
	const char **warnings;
	unsigned int warning_count;
};

/* Parse and validate path. On error returns -1 and error_r names
   file:line and the problem (unknown setting with the nearest known name,
   bad value, unsupported feature). The error string is allocated from
   err_pool, which the caller owns.

   Defaults are Dovecot 2.3's except base_dir (/run/roost), state_dir
   (/var/lib/roost), instance_name (roost), log_path ("" = stderr),
   protocols (none; anything else is "not implemented yet") and ssl (no;
   TLS is not implemented yet). The auth service exists by default (see
   master_settings_add_default_services()); service and listener sections
   merge into existing ones by name. Services get their final values
   (master_settings_resolve()). Checked: passdb/userdb drivers and
   mechanisms roost implements, %variables in auth_username_format and
   passdb/userdb args/default_fields/override_fields, and Dovecot's "No
   passdbs specified" rule. */
int roost_settings_read(const char *path, struct roost_settings **set_r,
			struct pool *err_pool, const char **error_r);
/* Same from a string (tests, embedded default config). */
int roost_settings_read_string(const char *text, const char *name,
			       struct roost_settings **set_r,
			       struct pool *err_pool, const char **error_r);
void roost_settings_free(struct roost_settings **set);

/* Print settings in dovecot.conf syntax to out: all of them, or only
   those differing from the defaults (roostd -a / -n). */
struct str;
void roost_settings_print(const struct roost_settings *set, bool only_changed,
			  struct str *out);

/* Look up a service by name; NULL if not configured. */
const struct service_settings *
roost_settings_find_service(const struct roost_settings *set, const char *name);

#endif
