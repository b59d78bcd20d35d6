#ifndef ROOST_DB_PASSWD_H
#define ROOST_DB_PASSWD_H
/* System users through NSS: getpwnam_r() / getspnam_r() on a worker
   thread (NSS may block on LDAP or sssd). Used by userdb passwd and
   passdb passwd / shadow. */
#include "lib.h"

struct auth_request;
struct passdb_driver;
struct userdb_driver;

struct db_passwd_entry {
	const char *name;       /* as in the database */
	const char *password;   /* pw_passwd / sp_pwdp */
	const char *uid, *gid, *home;   /* "" for shadow */
	bool shadow;
	bool expired;           /* shadow: sp_expire is in the past */
};

/* ret: 1 found (entry set), 0 unknown user, -1 error (logged). entry and
   its strings are valid during the callback. */
typedef void db_passwd_callback_t(struct auth_request *request, int ret,
				  const struct db_passwd_entry *entry, void *context);

/* Looks up request->user in passwd (shadow=false) or shadow. The callback
   runs in the event loop, never from inside this call. */
void db_passwd_lookup(struct auth_request *request, bool shadow,
		      db_passwd_callback_t *callback, void *context);
/* Dovecot's IS_VALID_PASSWD: "", "*..." and "!..." lock the account. */
bool db_passwd_is_valid_password(const char *password);

extern const struct userdb_driver userdb_driver_passwd;
extern const struct passdb_driver passdb_driver_passwd;
extern const struct passdb_driver passdb_driver_shadow;

#endif
