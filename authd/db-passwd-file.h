#ifndef ROOST_DB_PASSWD_FILE_H
#define ROOST_DB_PASSWD_FILE_H
/* passwd-file databases shared by the passdb and userdb drivers:
     user:password:uid:gid:(gecos):home:(shell):extra_fields
   Files are read into memory and re-read when their mtime, size or inode
   change. The path may hold %variables (one file per expansion, e.g.
   /etc/mail/%d/passwd). */
#include "lib.h"

struct pool;
struct auth_request;

struct passwd_user {
	const char *name;
	const char *password;     /* "" if empty */
	const char *uid, *gid;    /* "" if empty */
	const char *home;
	const char *extra;        /* space-separated key=value, or "" */
	const char *source;       /* "path:line", for error messages */
};

struct db_passwd_file;

/* args: "[scheme=X] [username_format=F] PATH". */
int db_passwd_file_create(struct pool *pool, const char *args, bool userdb,
			  struct db_passwd_file **db_r, const char **error_r);
void db_passwd_file_destroy(struct db_passwd_file **db);
const char *db_passwd_file_default_scheme(const struct db_passwd_file *db);

/* Returns 1 found, 0 not found, -1 internal error (logged). */
int db_passwd_file_lookup(struct db_passwd_file *db, struct auth_request *request,
			  const struct passwd_user **user_r);
/* Iterate all users of a non-templated file. Returns -1 on error. */
int db_passwd_file_iterate(struct db_passwd_file *db, const char *mask,
			   void (*callback)(const char *user, void *context),
			   void *context);

#endif
