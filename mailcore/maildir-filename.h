#ifndef ROOST_MAILDIR_FILENAME_H
#define ROOST_MAILDIR_FILENAME_H
/* Maildir message file names as Dovecot writes them:

     <base>[,S=<size>][,W=<vsize>][:2,<flags>]

   <base> is the unique part (time.Mpid.host ...). S= is the file size,
   W= the size with CRLF line ends. After ":2," come the standard flag
   letters (D F P R S T, uppercase, ASCII order) and Dovecot's keyword
   letters: 'a' is keyword id 0 of dovecot-keywords, 'b' id 1 ... 'z' id 25.
   Unknown ",X=..." fields are kept in other_fields and written back; unknown
   uppercase flag letters are kept in other_flags (the Maildir spec reserves
   them for experiments). */
#include "lib.h"

struct pool;

enum maildir_flag {
	MAILDIR_FLAG_DRAFT   = 1 << 0, /* D = \Draft */
	MAILDIR_FLAG_FLAGGED = 1 << 1, /* F = \Flagged */
	MAILDIR_FLAG_PASSED  = 1 << 2, /* P = forwarded; no IMAP system flag */
	MAILDIR_FLAG_REPLIED = 1 << 3, /* R = \Answered */
	MAILDIR_FLAG_SEEN    = 1 << 4, /* S = \Seen */
	MAILDIR_FLAG_TRASHED = 1 << 5, /* T = \Deleted */
};

/* Keyword letters a..z: at most 26 keywords per Maildir. */
#define MAILDIR_KEYWORDS_MAX 26

struct maildir_filename {
	/* Unique part, never empty, without ',' ':' or '/'. */
	const char *base;
	/* ",X=..." fields other than S and W, each with its leading ',';
	   "" when none. */
	const char *other_fields;
	bool have_size, have_vsize;
	uint64_t size, vsize;
	/* true when the name has ":2," (the flags may still be empty). */
	bool have_info;
	unsigned int flags;       /* enum maildir_flag bits */
	uint32_t keywords;        /* bit n = keyword id n (letter 'a' + n) */
	const char *other_flags;  /* unknown uppercase letters; "" when none */
};

/* Parse a file name. Strings in *fn_r and *error_r come from pool.
   Returns 0, or -1 with *error_r saying what is wrong (the caller adds
   the path). */
int maildir_filename_parse(struct pool *pool, const char *name,
			   struct maildir_filename *fn_r, const char **error_r);

/* Build a file name from parts; flags are written in ASCII order. If
   with_info is false, ":2,..." is left out (as in dovecot-uidlist).
   The result comes from pool. */
char *maildir_filename_build(struct pool *pool, const struct maildir_filename *fn,
			     bool with_info);

/* The part of a file name before ':' (what stays the same when flags
   change). Returns the length of that part. */
size_t maildir_filename_base_len(const char *name);

/* Flag letter for one enum maildir_flag bit, or '\0'. */
char maildir_flag_letter(enum maildir_flag flag);
/* IMAP system flag name ("\\Seen") for one bit, or NULL (P has none). */
const char *maildir_flag_imap_name(enum maildir_flag flag);

#endif
