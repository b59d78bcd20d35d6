#ifndef ROOST_ARGS_FILE_H
#define ROOST_ARGS_FILE_H
/* Reader for the "key = value" settings files that passdb/userdb args
   point to (Dovecot's dovecot-sql.conf.ext, dovecot-ldap.conf.ext):
   '#' starts a comment outside quotes, blank lines are skipped, a trailing
   backslash joins the next line with one space, a value in "..." or '...'
   is unquoted (backslash takes the next character). The reader knows no
   keys: set() is called for each one, and its error gets "file:line: "
   in front. The file's text may hold passwords: buffers are wiped. */
#include "lib.h"

struct pool;

typedef int args_file_set_func_t(struct pool *pool, void *context, const char *key,
				 const char *value, const char **error_r);

/* Returns 0, or -1 with *error_r (from pool) naming file:line, or the
   open/read failure with errno text. Lines (joined) over max_line bytes
   are an error. */
int args_file_read(struct pool *pool, const char *path, size_t max_line,
		   args_file_set_func_t *set, void *context, const char **error_r);

#endif
