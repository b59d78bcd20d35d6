#ifndef ROOST_IMAP_ENVELOPE_H
#define ROOST_IMAP_ENVELOPE_H
/* IMAP ENVELOPE (RFC 3501 7.4.2) of a message part, in Dovecot 2.3's
   exact form, and the IMAP string writers BODYSTRUCTURE shares. */
#include "lib.h"
#include "str.h"

struct pool;
struct message_part;

/* Append the ENVELOPE of the message whose header is part's header
   (without the surrounding parentheses, as doveadm prints it). Temporary
   memory comes from pool. */
void imap_envelope_write(string_t *dest, struct pool *pool,
			 const struct message_part *part);

/* Quoted string ('"' and '\\' escaped), or a literal ({n} CRLF data)
   when s has 8-bit bytes, CR or LF. NULL gives NIL. */
void imap_append_nstring(string_t *dest, const char *s);
/* Text meant for humans (Subject, address display names), as Dovecot
   writes it: whitespace runs become one space, the ends are trimmed, and
   a literal is used when that changed anything or when '"', '\\' or 8-bit
   bytes occur. */
void imap_append_nstring_for_humans(string_t *dest, const char *s);

#endif
