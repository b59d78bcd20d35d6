#ifndef ROOST_MAILDIR_UIDLIST_H
#define ROOST_MAILDIR_UIDLIST_H
/* Dovecot's dovecot-uidlist: the UID <-> file name map of a Maildir.

   Version 3 (Dovecot 1.1+), the one written here:
     3 V<uidvalidity> N<next uid> G<mailbox guid, 32 hex> [other fields]
     <uid> [<ext fields>] :<file name>
   Header fields come in any order; unknown ones are kept and written back.
   Record ext fields are a key letter followed by a value (S<size>,
   W<vsize>, G<guid> ...); all are kept verbatim, S and W are also parsed.
   The file name is the part before ":2," (what stays the same when flags
   change). Version 1 (Courier) is read too: "1 <uidvalidity> <next uid>"
   and "<uid> <file name>" lines.

   Parsing is strict about structure and bounded: every malformed, truncated
   or oversized input is an error naming the path, the line and what is
   wrong. UIDs must be strictly increasing. The header's next UID may lag
   behind the last record (Dovecot appends records without rewriting the
   header), so next_uid is max(header N, last UID + 1). */
#include "lib.h"
#include "array.h"

struct pool;

/* Longest line accepted (file names are at most 255 bytes; ext fields
   are short). */
#define MAILDIR_UIDLIST_MAX_LINE 8192
/* Largest file read (about 3 million messages). */
#define MAILDIR_UIDLIST_MAX_SIZE (256u * 1024 * 1024)
#define MAILDIR_GUID_HEX_LEN 32

struct maildir_uidlist_record {
	uint32_t uid;
	/* Ext fields between the UID and ':', space separated, verbatim;
	   "" when none. */
	const char *ext;
	bool have_size, have_vsize;
	uint64_t size, vsize;   /* from S and W ext fields */
	const char *filename;   /* never empty, no '/' */
};

struct maildir_uidlist {
	struct pool *pool;      /* owns every string below */
	unsigned int version;   /* 1 or 3 as read; always 3 when written */
	uint32_t uid_validity;  /* never 0 after a successful parse */
	uint32_t header_next_uid;
	uint32_t next_uid;      /* max(header_next_uid, last uid + 1) */
	const char *guid;       /* 32 lowercase hex digits, or "" */
	const char *header_ext; /* unknown header fields, verbatim, or "" */
	ARRAY(struct maildir_uidlist_record) records; /* ordered by uid */
};

struct maildir_uidlist *maildir_uidlist_create(void);
void maildir_uidlist_destroy(struct maildir_uidlist **list);

/* Parse a whole file's content into an empty list. path is only used in
   error messages. Returns 0, or -1 with *error_r (from list->pool, valid
   until destroy) as "path:line: what is wrong". On error the list is left
   empty. */
int maildir_uidlist_parse(struct maildir_uidlist *list, const char *path,
			  const unsigned char *data, size_t size,
			  const char **error_r);
/* Read and parse path. Returns 1 ok, 0 the file does not exist (the list
   stays empty), -1 error (read failure with errno text, or a parse error). */
int maildir_uidlist_read(struct maildir_uidlist *list, const char *path,
			 const char **error_r);

/* Add a record at the end; uid must be above the last one. ext may be
   NULL. Returns 0, or -1 with *error_r (from list->pool). */
int maildir_uidlist_append(struct maildir_uidlist *list, uint32_t uid,
			   const char *ext, const char *filename,
			   const char **error_r);
/* Record with this uid, or NULL. */
const struct maildir_uidlist_record *
maildir_uidlist_lookup(const struct maildir_uidlist *list, uint32_t uid);

/* Serialise as version 3. The result is a str the caller frees. */
struct str *maildir_uidlist_format(const struct maildir_uidlist *list);
/* Write atomically: temp file in the same directory, fsync, rename, fsync
   of the directory. Returns 0, or -1 with *error_r from list->pool. */
int maildir_uidlist_write(struct maildir_uidlist *list, const char *path,
			  const char **error_r);

/* Helpers shared by the Maildir control files (dovecot-keywords too).
   Read a whole file of at most max_size bytes into a NUL-terminated buffer
   from pool. Returns 1, 0 when it does not exist, -1 with *error_r (from
   pool). */
int maildir_file_read_all(struct pool *pool, const char *path, size_t max_size,
			  unsigned char **data_r, size_t *size_r,
			  const char **error_r);
/* Replace path atomically with data (mode 0600). Returns 0 or -1 with
   *error_r (from pool). */
int maildir_file_write_atomic(struct pool *pool, const char *path,
			      const void *data, size_t size,
			      const char **error_r);

#endif
