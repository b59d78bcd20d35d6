#ifndef ROOST_IMAP_BODYSTRUCTURE_H
#define ROOST_IMAP_BODYSTRUCTURE_H
/* IMAP BODYSTRUCTURE (RFC 3501 7.4.2, extension data included) of a
   parsed message, in Dovecot 2.3's exact form (without the outermost
   parentheses, as doveadm prints it). Content-Type and
   Content-Disposition parameters follow RFC 2045 5.1; RFC 2231
   continuations (name*0, name*1, ...) are joined. */
#include "lib.h"
#include "str.h"

struct pool;
struct message_part;

/* Temporary memory comes from pool. */
void imap_bodystructure_write(string_t *dest, struct pool *pool,
			      const struct message_part *part);

/* Parsed "value; attr=value; ..." header (exposed for tests). */
struct mime_param {
	const char *name, *value;
};
struct mime_header_params {
	const char *value;         /* "type/subtype", "attachment", ... */
	struct mime_param *params; /* pool-allocated */
	unsigned int count;
};
/* Parse a Content-Type / Content-Disposition value. The main value is
   NULL when it is missing or invalid. Never fails. */
void mime_header_params_parse(struct pool *pool, const char *header,
			      struct mime_header_params *result_r);

#endif
