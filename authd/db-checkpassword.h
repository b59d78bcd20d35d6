#ifndef ROOST_DB_CHECKPASSWORD_H
#define ROOST_DB_CHECKPASSWORD_H
/* Running a checkpassword program (the qmail/DJB interface with Dovecot
   2.3's extensions), shared by passdb and userdb checkpassword.

   The program gets "user\0password\0\0" on fd 3 (at most 512 bytes; the
   timestamp is empty, as in Dovecot) and, as its arguments, the rest of
   args plus the path of roost's checkpassword-reply, which it executes on
   success. checkpassword-reply (or the program itself) writes the reply
   fields to fd 4: TAB separated key=value, values TAB-escaped. For
   lookups without a password (userdb, passdb credentials) AUTHORIZED=1 is
   set (plus CREDENTIALS_LOOKUP=1 and SCHEME= for credentials); a program
   that supports that sets AUTHORIZED=2 before running the reply helper,
   which then exits with 2.

   Exit codes, as Dovecot 2.3 reads them:
     verify:  0 = OK (fields required), 1 and vpopmail's 3 12 13 15 20 21
              22 23 = failure, 2 = internal ("userdb-only program?"),
              111 and anything else = internal (temporary) failure
     lookup:  2 = OK (fields required), 3 = user unknown, else internal
   A killed or crashed program is an internal failure. Environment: PATH,
   TZ, LANG, LC_ALL from the daemon's (nothing else: a USER or HOME of the
   daemon must not pass for the user's), plus PROTO=TCP ORIG_UID SERVICE TCPLOCALIP/LOCAL_IP
   TCPREMOTEIP/REMOTE_IP TCPLOCALPORT TCPREMOTEPORT MASTER_USER, the
   passdb extra fields so far (KEY=value, upper case) and AUTH_<VAR> for
   the request's %{variables} except the password.

   The program runs in its own process group, watched from the event loop
   (pipes + child-wait.h); after timeout_secs the whole group gets SIGKILL
   and the request fails as an internal failure. */
#include "lib.h"

struct pool;
struct auth_request;
struct passdb_driver;
struct userdb_driver;
struct db_checkpassword;

enum db_checkpassword_status {
	DB_CHECKPASSWORD_STATUS_INTERNAL_FAILURE = -1,
	DB_CHECKPASSWORD_STATUS_FAILURE = 0,
	DB_CHECKPASSWORD_STATUS_OK = 1,
};

/* fields: the reply, NULL-terminated "key=value" / "key" strings
   (unescaped); valid during the callback. NULL unless status is OK. */
typedef void db_checkpassword_callback_t(struct auth_request *request,
					 enum db_checkpassword_status status,
					 const char *const *fields, void *context);

/* args: "[timeout=SECS] /path/to/program [arguments]" (%variables are
   expanded per request); timeout= is roost's, default 60. */
int db_checkpassword_create(struct pool *pool, const char *args,
			    struct db_checkpassword **db_r, const char **error_r);
/* Kills running programs; their requests get INTERNAL_FAILURE. */
void db_checkpassword_destroy(struct db_checkpassword **db);
/* password NULL = a lookup (AUTHORIZED=1); credentials_scheme is set for
   passdb credentials lookups. The callback is called from the event
   loop, never from inside this call. */
void db_checkpassword_call(struct db_checkpassword *db, struct auth_request *request,
			   const char *password, const char *credentials_scheme,
			   db_checkpassword_callback_t *callback, void *context);

extern const struct passdb_driver passdb_driver_checkpassword;
extern const struct userdb_driver userdb_driver_checkpassword;

#endif
