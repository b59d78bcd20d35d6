#ifndef ROOST_MAILDIR_KEYWORDS_H
#define ROOST_MAILDIR_KEYWORDS_H
/* Dovecot's dovecot-keywords: which IMAP keyword each Maildir keyword
   letter stands for. One "<id> <name>" line per keyword; id 0 is letter
   'a' in file names, id 25 is 'z'. Lines with ids 26 and up are accepted
   and ignored (no letter can refer to them). Names are IMAP atoms: no
   spaces, control characters or ( ) { ] % * " \ . */
#include "lib.h"
#include "maildir-filename.h"

struct pool;

#define MAILDIR_KEYWORDS_MAX_SIZE (64 * 1024)
#define MAILDIR_KEYWORD_MAX_LEN 255

struct maildir_keywords {
	/* names[id], or NULL when the id is unused; strings from the pool
	   given to parse/read/set */
	const char *names[MAILDIR_KEYWORDS_MAX];
};

/* Parse file content; path only names the file in errors. Returns 0, or
   -1 with *error_r (from pool) as "path:line: what is wrong". */
int maildir_keywords_parse(struct pool *pool, const char *path,
			   const unsigned char *data, size_t size,
			   struct maildir_keywords *kw_r, const char **error_r);
/* Returns 1 ok, 0 no such file (*kw_r empty), -1 error (from pool). */
int maildir_keywords_read(struct pool *pool, const char *path,
			  struct maildir_keywords *kw_r, const char **error_r);
/* Write atomically (temp file, fsync, rename). Returns 0 or -1. */
int maildir_keywords_write(struct pool *pool, const char *path,
			   const struct maildir_keywords *kw, const char **error_r);

/* Id of name, or -1. Keywords compare case-insensitively (RFC 3501 2.3.2
   keywords are atoms; Dovecot matches them without case). */
int maildir_keywords_lookup(const struct maildir_keywords *kw, const char *name);
/* Id of name, adding it in the first free slot. Returns the id, or -1
   when all 26 letters are taken or the name is not a valid keyword. */
int maildir_keywords_add(struct pool *pool, struct maildir_keywords *kw,
			 const char *name);
bool maildir_keyword_name_is_valid(const char *name);

#endif
