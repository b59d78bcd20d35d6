#ifndef ROOST_PATH_ERROR_H
#define ROOST_PATH_ERROR_H
/* Error text for a failed system call on a path, with identity and, for
   EACCES/EPERM, the directory that lacks which permission:

   open(/home/u/Maildir/x) failed: Permission denied (euid=1000(u)
       egid=1000(u) missing +x perm: /home/u)

   The returned string is malloc()ed; the caller frees it. errno is
   preserved. */
#include "lib.h"

/* call: "open", "mkdir" ... err: the errno value. want_write tells
   whether the call needed write access to the final path. */
char *path_error(const char *call, const char *path, int err);
/* Just the identity part: "euid=1000(u) egid=1000(u)" */
char *path_error_identity(void);
/* For EACCES: find which component lacks which permission. Returns NULL
   if nothing could be determined. */
char *path_error_find_missing_perm(const char *path, bool want_write);

#endif
