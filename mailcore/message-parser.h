#ifndef ROOST_MESSAGE_PARSER_H
#define ROOST_MESSAGE_PARSER_H
/* Streaming MIME structure parser (RFC 2045/2046, RFC 5322). Input is
   fed in chunks of any size (down to one byte); the parser keeps only the
   current line's start, the header fields that ENVELOPE and BODYSTRUCTURE
   need (copied into the pool) and one small record per part, so memory is
   bounded by the header sizes and the part count, never by body size.
   It builds a tree of parts with offsets, physical and virtual sizes
   (virtual: a bare LF counts as CRLF, as IMAP sizes are) and line counts.

   Bounds: like Dovecot, a multipart or message/rfc822 part at depth
   MESSAGE_PARSER_MAX_DEPTH - 1 is not descended into but becomes an
   application/octet-stream leaf (too_deep); the MESSAGE_PARSER_MAX_PARTS'th
   part is the last one: boundaries are ignored from there and it runs to
   the end of the input. A header field is kept up to
   MESSAGE_PARSER_MAX_FIELD_SIZE bytes and a part keeps at most
   MESSAGE_PARSER_MAX_HEADER_KEPT bytes of fields; the rest is counted in
   the sizes but dropped. Any byte sequence is accepted: parsing never
   fails. */
#include "lib.h"

#define MESSAGE_PARSER_MAX_DEPTH 100
#define MESSAGE_PARSER_MAX_PARTS 10000
#define MESSAGE_PARSER_MAX_FIELD_SIZE (2 * 1024 * 1024)
#define MESSAGE_PARSER_MAX_HEADER_KEPT (8 * 1024 * 1024)

struct pool;

/* A header value as it is in the message: after "Name:", up to and
   without the line ending of its last line; folded lines are joined with
   a LF. Copied into the parser's pool. */
struct message_header_value {
	const unsigned char *data;
	size_t size;
	bool present;
	/* later occurrences of the same field, in order */
	struct message_header_value *next;
};

enum message_header_id {
	MESSAGE_HDR_CONTENT_TYPE,
	MESSAGE_HDR_CONTENT_TRANSFER_ENCODING,
	MESSAGE_HDR_CONTENT_ID,
	MESSAGE_HDR_CONTENT_DESCRIPTION,
	MESSAGE_HDR_CONTENT_DISPOSITION,
	MESSAGE_HDR_CONTENT_LANGUAGE,
	MESSAGE_HDR_CONTENT_LOCATION,
	MESSAGE_HDR_CONTENT_MD5,
	MESSAGE_HDR_DATE,
	MESSAGE_HDR_SUBJECT,
	MESSAGE_HDR_FROM,
	MESSAGE_HDR_SENDER,
	MESSAGE_HDR_REPLY_TO,
	MESSAGE_HDR_TO,
	MESSAGE_HDR_CC,
	MESSAGE_HDR_BCC,
	MESSAGE_HDR_IN_REPLY_TO,
	MESSAGE_HDR_MESSAGE_ID,

	MESSAGE_HDR_COUNT
};

struct message_size {
	uint64_t physical;
	uint64_t virtual_size;
	uint64_t lines;
};

struct message_part {
	struct message_part *parent, *children, *next;
	struct message_part *last_child; /* for appending in O(1) */
	uint64_t header_offset, body_offset;
	struct message_size header_size, body_size;
	unsigned int children_count;
	/* Content-Type is multipart/ and had a boundary / is message/rfc822
	   (its one child is the enclosed message). */
	bool multipart, message_rfc822;
	/* In a multipart/digest: the default type is message/rfc822. */
	bool digest_child;
	/* A container nested too deep, shown as application/octet-stream */
	bool too_deep;
	/* The header had a MIME-Version field */
	bool mime_version;
	/* Each field's first occurrence (later ones chained by next). */
	struct message_header_value headers[MESSAGE_HDR_COUNT];
};

struct message_parser;

/* The part tree and all it points to are allocated from pool and live as
   long as it. */
struct message_parser *message_parser_init(struct pool *pool);
void message_parser_feed(struct message_parser *parser,
			 const unsigned char *data, size_t size);
/* End of input: returns the root part and frees the parser. */
struct message_part *message_parser_deinit(struct message_parser **parser);

/* Parse data[0..size) in one go. */
struct message_part *
message_parse(struct pool *pool, const unsigned char *data, size_t size);

/* Unfold a header value: skip the whitespace after the colon, drop line
   breaks (LF, CRLF; a bare CR stays), keep the folding whitespace.
   Dovecot turns NUL into U+FFFD in text fields (nul_to_replacement) but
   its address parser stops at a NUL (the C string ends there).
   Allocated from pool. */
char *message_header_unfold(struct pool *pool,
			    const struct message_header_value *value,
			    bool nul_to_replacement);

#endif
