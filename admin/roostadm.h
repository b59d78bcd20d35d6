#ifndef ROOST_ROOSTADM_H
#define ROOST_ROOSTADM_H
#include "lib.h"

/* Each command gets argv with argv[0] = the command name ("pw", "auth",
   "user") and returns the process exit code (same meanings as doveadm's:
   0 ok, 64 usage, 67 user unknown, 68 no such ..., 75 tempfail/mismatch,
   77 no permission, 78 config). */
int cmd_pw(int argc, char **argv);
int cmd_auth(int argc, char **argv);   /* auth test [-a SOCKET] [-x k=v] USER [PASS] */
int cmd_user(int argc, char **argv);   /* user [-a SOCKET] [-x k=v] USER */

/* Default sockets when -a is not given (base_dir of the default config). */
#define ROOSTADM_DEFAULT_AUTH_CLIENT "/run/roost/auth-client"
#define ROOSTADM_DEFAULT_AUTH_MASTER "/run/roost/auth-userdb"

#endif
