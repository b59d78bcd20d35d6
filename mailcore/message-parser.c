/* Streaming MIME structure parser; see message-parser.h. */
#include "message-parser.h"
#include "pool.h"
#include "str.h"

#include <strings.h>

/* Where the parser is in the input: byte offset and how many LFs and
   bare LFs (no CR before them) came before it. */
struct position {
	uint64_t offset, lf, bare_lf;
};

/* One open part, innermost last. */
struct level {
	struct message_part *part;
	struct position header_start, body_start, child_content_end;
	bool in_header;
	/* multipart whose boundary is active (not yet closed) */
	bool has_boundary;
	const char *boundary;
	size_t boundary_len;
	size_t header_kept;
};

struct message_parser {
	struct pool *pool;
	struct level levels[MESSAGE_PARSER_MAX_DEPTH];
	unsigned int depth;
	unsigned int part_count;
	/* part limit reached: the last part runs to the end of the input */
	bool boundaries_off;

	/* the current line: its start, its first bytes (up to the field
	   size limit), its full length without the LF, its last byte */
	struct position line_start;
	string_t *line;
	uint64_t line_len;
	unsigned char line_last;
	/* the line before line_start ended in CRLF */
	bool prev_line_crlf;

	/* the header field being collected (with its folded lines) */
	string_t *field;
	bool field_pending;
};

static const char *const header_names[MESSAGE_HDR_COUNT] = {
	[MESSAGE_HDR_CONTENT_TYPE] = "Content-Type",
	[MESSAGE_HDR_CONTENT_TRANSFER_ENCODING] = "Content-Transfer-Encoding",
	[MESSAGE_HDR_CONTENT_ID] = "Content-ID",
	[MESSAGE_HDR_CONTENT_DESCRIPTION] = "Content-Description",
	[MESSAGE_HDR_CONTENT_DISPOSITION] = "Content-Disposition",
	[MESSAGE_HDR_CONTENT_LANGUAGE] = "Content-Language",
	[MESSAGE_HDR_CONTENT_LOCATION] = "Content-Location",
	[MESSAGE_HDR_CONTENT_MD5] = "Content-MD5",
	[MESSAGE_HDR_DATE] = "Date",
	[MESSAGE_HDR_SUBJECT] = "Subject",
	[MESSAGE_HDR_FROM] = "From",
	[MESSAGE_HDR_SENDER] = "Sender",
	[MESSAGE_HDR_REPLY_TO] = "Reply-To",
	[MESSAGE_HDR_TO] = "To",
	[MESSAGE_HDR_CC] = "Cc",
	[MESSAGE_HDR_BCC] = "Bcc",
	[MESSAGE_HDR_IN_REPLY_TO] = "In-Reply-To",
	[MESSAGE_HDR_MESSAGE_ID] = "Message-ID",
};

static bool header_name_is(const unsigned char *name, size_t len,
			   const char *want)
{
	return strlen(want) == len &&
		strncasecmp((const char *)name, want, len) == 0;
}

static bool value_token_is(const struct message_header_value *v,
			   const char *type, bool prefix)
{
	size_t i = 0, len = strlen(type);

	if (!v->present)
		return false;
	while (i < v->size && (v->data[i] == ' ' || v->data[i] == '\t' ||
			       v->data[i] == '\r' || v->data[i] == '\n'))
		i++;
	if (v->size - i < len ||
	    strncasecmp((const char *)v->data + i, type, len) != 0)
		return false;
	if (prefix)
		return true;
	i += len;
	return i == v->size || strchr(" \t\r\n;(", v->data[i]) != NULL;
}

/* Find the boundary parameter of a Content-Type value. Minimal scanner
   here; the full parameter parser lives in imap-bodystructure.c. */
static bool find_boundary_param(const struct message_header_value *v,
				const unsigned char **name_r, size_t *len_r)
{
	size_t i = 0;

	while (i < v->size) {
		if (v->data[i] == '"') {
			for (i++; i < v->size && v->data[i] != '"'; i++) {
				if (v->data[i] == '\\')
					i++;
			}
			i++;
			continue;
		}
		if (v->data[i] != ';') {
			i++;
			continue;
		}
		for (i++; i < v->size && strchr(" \t\r\n", v->data[i]) != NULL; i++) ;
		if (v->size - i < 9 ||
		    strncasecmp((const char *)v->data + i, "boundary", 8) != 0)
			continue;
		i += 8;
		while (i < v->size && strchr(" \t\r\n", v->data[i]) != NULL) i++;
		if (i >= v->size || v->data[i] != '=')
			continue;
		for (i++; i < v->size && strchr(" \t\r\n", v->data[i]) != NULL; i++) ;
		if (i < v->size && v->data[i] == '"') {
			size_t start = ++i;
			while (i < v->size && v->data[i] != '"')
				i++;
			*name_r = v->data + start;
			*len_r = i - start;
		} else {
			size_t start = i;
			while (i < v->size &&
			       strchr(" \t\r\n;()<>@,:\\\"/[]?=", v->data[i]) == NULL)
				i++;
			*name_r = v->data + start;
			*len_r = i - start;
		}
		return *len_r > 0;
	}
	return false;
}

static struct message_part *part_new(struct message_parser *p,
				     struct message_part *parent)
{
	struct message_part *part = pool_alloc(p->pool, sizeof(*part));

	part->parent = parent;
	if (parent != NULL) {
		if (parent->last_child == NULL)
			parent->children = part;
		else
			parent->last_child->next = part;
		parent->last_child = part;
		parent->children_count++;
	}
	if (++p->part_count >= MESSAGE_PARSER_MAX_PARTS)
		p->boundaries_off = true;
	return part;
}

static void level_push(struct message_parser *p, struct message_part *part,
		       const struct position *header_start)
{
	struct level *lv;

	i_assert(p->depth < MESSAGE_PARSER_MAX_DEPTH);
	lv = &p->levels[p->depth++];
	memset(lv, 0, sizeof(*lv));
	lv->part = part;
	lv->in_header = true;
	lv->header_start = *header_start;
	part->header_offset = header_start->offset;
}

static void size_set(struct message_size *size, const struct position *start,
		     const struct position *end)
{
	size->physical = end->offset - start->offset;
	/* RFC 3501 uses CRLF sizes: a bare LF counts as two bytes */
	size->virtual_size = size->physical + (end->bare_lf - start->bare_lf);
	size->lines = end->lf - start->lf;
}

static void header_store(struct message_parser *p, struct level *lv,
			 const char *name, size_t name_len,
			 const char *value, size_t value_len)
{
	struct message_part *part = lv->part;
	struct message_header_value *v;
	unsigned int i;

	if (header_name_is((const unsigned char *)name, name_len, "MIME-Version")) {
		part->mime_version = true;
		return;
	}
	for (i = 0; i < MESSAGE_HDR_COUNT; i++) {
		if (header_name_is((const unsigned char *)name, name_len,
				   header_names[i]))
			break;
	}
	if (i == MESSAGE_HDR_COUNT ||
	    lv->header_kept + value_len > MESSAGE_PARSER_MAX_HEADER_KEPT)
		return;
	lv->header_kept += value_len;
	if (!part->headers[i].present) {
		v = &part->headers[i];
	} else {
		/* later occurrences, in order: address lists are joined,
		   other envelope fields take the last one */
		struct message_header_value **tail;

		v = pool_alloc(p->pool, sizeof(*v));
		for (tail = &part->headers[i].next; *tail != NULL;
		     tail = &(*tail)->next) ;
		*tail = v;
	}
	v->data = pool_memdup(p->pool, value, value_len);
	v->size = value_len;
	v->present = true;
}

static void field_finish(struct message_parser *p)
{
	const char *field = str_c(p->field), *colon;
	size_t name_len;

	if (!p->field_pending)
		return;
	p->field_pending = false;
	colon = memchr(field, ':', str_len(p->field));
	if (colon != NULL) {
		name_len = colon - field;
		while (name_len > 0 && (field[name_len - 1] == ' ' ||
					field[name_len - 1] == '\t'))
			name_len--;
		header_store(p, &p->levels[p->depth - 1], field, name_len,
			     colon + 1, str_len(p->field) - (colon + 1 - field));
	}
	str_clear(p->field);
}

static void field_append(struct message_parser *p, const char *data,
			 size_t size)
{
	size_t room = MESSAGE_PARSER_MAX_FIELD_SIZE - str_len(p->field);

	str_append_n(p->field, data, size < room ? size : room);
}

/* The header of the part at level i ended; its body starts at body_start.
   Decides what the body is and, for message/rfc822, opens the enclosed
   message's part. */
static void header_end(struct message_parser *p, unsigned int i,
		       const struct position *body_start)
{
	struct level *lv = &p->levels[i];
	struct message_part *part = lv->part, *child;
	const struct message_header_value *ct =
		&part->headers[MESSAGE_HDR_CONTENT_TYPE];
	const unsigned char *bname;
	size_t blen;
	bool can_nest = p->part_count < MESSAGE_PARSER_MAX_PARTS;

	lv->in_header = false;
	lv->body_start = *body_start;
	part->body_offset = body_start->offset;
	size_set(&part->header_size, &lv->header_start, body_start);

	if ((part->parent == NULL || part->parent->message_rfc822) &&
	    !part->mime_version && !ct->present) {
		/* Dovecot: a message with neither MIME-Version nor
		   Content-Type is not MIME; its other Content-* fields are
		   ignored (parts of a multipart need neither) */
		for (unsigned int h = MESSAGE_HDR_CONTENT_TRANSFER_ENCODING;
		     h <= MESSAGE_HDR_CONTENT_MD5; h++)
			memset(&part->headers[h], 0, sizeof(part->headers[h]));
	}
	if (i >= MESSAGE_PARSER_MAX_DEPTH - 1 &&
	    (value_token_is(ct, "multipart/", true) ||
	     value_token_is(ct, "message/rfc822", false) ||
	     (!ct->present && part->digest_child))) {
		part->too_deep = true;
		return;
	}
	if (value_token_is(ct, "multipart/", true)) {
		/* without a usable boundary it has no children and the
		   whole body is its preamble (Dovecot) */
		part->multipart = true;
		if (can_nest && find_boundary_param(ct, &bname, &blen)) {
			lv->has_boundary = true;
			lv->boundary = (const char *)bname;
			lv->boundary_len = blen;
		}
	} else if (can_nest && (value_token_is(ct, "message/rfc822", false) ||
				(!ct->present && part->digest_child))) {
		part->message_rfc822 = true;
		child = part_new(p, part);
		level_push(p, child, body_start);
	}
}

/* Close the innermost part at end (the start of a boundary line, or the
   end of the input). RFC 2046 5.1.1: the line ending before a boundary
   belongs to the boundary, unless it is still inside the header. */
static void level_end(struct message_parser *p, const struct position *end,
		      bool at_boundary)
{
	struct level *lv;
	struct position content_end = *end;

	/* a header cut short may open an enclosed message: end that too */
	while (p->levels[p->depth - 1].in_header)
		header_end(p, p->depth - 1, end);
	lv = &p->levels[p->depth - 1];
	if (lv->part->message_rfc822) {
		content_end = lv->child_content_end;
	} else if (at_boundary && end->offset > lv->body_start.offset) {
		content_end.offset--;
		content_end.lf--;
		if (p->prev_line_crlf) {
			if (end->offset - 2 >= lv->body_start.offset)
				content_end.offset--;
		} else {
			content_end.bare_lf--;
		}
	}
	if (content_end.offset < lv->body_start.offset)
		content_end = lv->body_start;
	size_set(&lv->part->body_size, &lv->body_start, &content_end);
	p->depth--;
	if (p->depth > 0)
		p->levels[p->depth - 1].child_content_end = content_end;
}

/* RFC 2046 5.1.1: a boundary line starts with "--" boundary. Like
   Dovecot, anything after the boundary on that line is ignored (so a
   boundary also matches a longer one it is a prefix of). The innermost
   boundary wins. Returns the level + 1, or 0. */
static unsigned int boundary_match(const struct message_parser *p,
				   const char *line, size_t len, bool *close_r)
{
	unsigned int i;

	*close_r = false;
	if (p->boundaries_off || len < 2 || line[0] != '-' || line[1] != '-')
		return 0;
	for (i = p->depth; i > 0; i--) {
		const struct level *lv = &p->levels[i - 1];
		if (!lv->has_boundary || len - 2 < lv->boundary_len ||
		    memcmp(line + 2, lv->boundary, lv->boundary_len) != 0)
			continue;
		*close_r = len - 2 - lv->boundary_len >= 2 &&
			line[2 + lv->boundary_len] == '-' &&
			line[3 + lv->boundary_len] == '-';
		return i;
	}
	return 0;
}

static void line_process(struct message_parser *p, bool has_lf)
{
	const char *line = str_c(p->line);
	size_t len = str_len(p->line), content_len = len;
	struct position next = p->line_start;
	unsigned int level;
	bool close, crlf = has_lf && p->line_last == '\r';

	next.offset += p->line_len + (has_lf ? 1 : 0);
	if (has_lf) {
		next.lf++;
		if (!crlf)
			next.bare_lf++;
	}
	if (content_len > 0 && line[content_len - 1] == '\r' &&
	    content_len == p->line_len)
		content_len--;

	if (p->levels[p->depth - 1].in_header && p->line_len == (crlf ? 1U : 0U)) {
		/* the empty line ends the header */
		field_finish(p);
		header_end(p, p->depth - 1, &next);
	} else if ((level = boundary_match(p, line, len, &close)) != 0) {
		field_finish(p);
		while (p->depth > level)
			level_end(p, &p->line_start, true);
		if (close) {
			p->levels[level - 1].has_boundary = false;
		} else {
			struct level *lv = &p->levels[level - 1];
			struct message_part *child = part_new(p, lv->part);

			child->digest_child = value_token_is(
				&lv->part->headers[MESSAGE_HDR_CONTENT_TYPE],
				"multipart/digest", false);
			level_push(p, child, &next);
		}
	} else if (p->levels[p->depth - 1].in_header) {
		/* RFC 5322 2.2.3: folded lines continue the field */
		if (p->field_pending && content_len > 0 &&
		    (line[0] == ' ' || line[0] == '\t')) {
			field_append(p, "\n", 1);
		} else {
			field_finish(p);
			p->field_pending = true;
		}
		field_append(p, line, content_len);
	}
	p->prev_line_crlf = crlf;
	p->line_start = next;
	p->line_len = 0;
	p->line_last = '\0';
	str_clear(p->line);
}

struct message_parser *message_parser_init(struct pool *pool)
{
	struct message_parser *p = x_malloc(sizeof(*p));
	struct position start = { 0, 0, 0 };

	p->pool = pool;
	p->line = str_create(256);
	p->field = str_create(256);
	level_push(p, part_new(p, NULL), &start);
	return p;
}

void message_parser_feed(struct message_parser *p, const unsigned char *data,
			 size_t size)
{
	while (size > 0) {
		const unsigned char *lf = memchr(data, '\n', size);
		size_t n = lf == NULL ? size : (size_t)(lf - data);
		size_t room = MESSAGE_PARSER_MAX_FIELD_SIZE + 1 - str_len(p->line);

		str_append_n(p->line, data, n < room ? n : room);
		p->line_len += n;
		if (n > 0)
			p->line_last = data[n - 1];
		if (lf == NULL)
			return;
		line_process(p, true);
		data += n + 1;
		size -= n + 1;
	}
}

struct message_part *message_parser_deinit(struct message_parser **_p)
{
	struct message_parser *p = *_p;
	struct message_part *root = p->levels[0].part;

	*_p = NULL;
	if (p->line_len > 0)
		line_process(p, false);
	field_finish(p);
	while (p->depth > 0)
		level_end(p, &p->line_start, false);
	str_free(&p->line);
	str_free(&p->field);
	x_free(p);
	return root;
}

struct message_part *
message_parse(struct pool *pool, const unsigned char *data, size_t size)
{
	struct message_parser *p = message_parser_init(pool);

	message_parser_feed(p, data, size);
	return message_parser_deinit(&p);
}

char *message_header_unfold(struct pool *pool,
			    const struct message_header_value *value,
			    bool nul_to_replacement)
{
	char *out = pool_alloc(pool, value->size * 3 + 1);
	size_t i = 0, len = 0;

	/* whitespace after the colon is not part of the value, but the
	   folding whitespace of later lines is (as Dovecot keeps it) */
	while (i < value->size && (value->data[i] == ' ' || value->data[i] == '\t'))
		i++;
	for (; i < value->size; i++) {
		unsigned char c = value->data[i];

		if (c == '\n' || (c == '\r' && i + 1 < value->size &&
				  value->data[i + 1] == '\n'))
			continue;
		if (c == '\0' && nul_to_replacement) {
			/* as Dovecot: NUL becomes U+FFFD */
			memcpy(out + len, "\xef\xbf\xbd", 3);
			len += 3;
			continue;
		}
		out[len++] = (char)c;
	}
	out[len] = '\0';
	return out;
}
