/* IMAP ENVELOPE and RFC 5322 address parsing; see imap-envelope.h. */
#include "imap-envelope.h"
#include "message-parser.h"
#include "pool.h"

static bool needs_literal(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x80 || c == '\r' || c == '\n')
			return true;
	}
	return false;
}

static void append_literal(string_t *dest, const char *s, size_t len)
{
	str_append_c(dest, '{');
	str_append_uint(dest, len);
	str_append(dest, "}\r\n");
	str_append_n(dest, s, len);
}

static void append_string(string_t *dest, const char *s)
{
	if (s == NULL) {
		str_append(dest, "NIL");
		return;
	}
	if (needs_literal(s)) {
		append_literal(dest, s, strlen(s));
		return;
	}
	str_append_c(dest, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			str_append_c(dest, '\\');
		str_append_c(dest, *s);
	}
	str_append_c(dest, '"');
}

/* Dovecot's form for human text: whitespace runs become one space and the
   ends are trimmed; when that changed anything, or there are 8-bit bytes,
   '"' or '\\', the result goes out as a literal. */
static void append_string_for_humans(string_t *dest, const char *s)
{
	string_t *clean;
	bool literal = false, space = false;
	const char *p;

	if (s == NULL) {
		str_append(dest, "NIL");
		return;
	}
	clean = str_create(strlen(s) + 1);
	for (p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (c != ' ' || space || str_len(clean) == 0)
				literal = true;
			space = true;
			continue;
		}
		if (space && str_len(clean) > 0)
			str_append_c(clean, ' ');
		space = false;
		if (c >= 0x80 || c == '"' || c == '\\')
			literal = true;
		str_append_c(clean, (char)c);
	}
	if (space)
		literal = true;
	if (literal)
		append_literal(dest, str_c(clean), str_len(clean));
	else
		append_string(dest, str_c(clean));
	str_free(&clean);
}

void imap_append_nstring(string_t *dest, const char *s)
{
	append_string(dest, s);
}

void imap_append_nstring_for_humans(string_t *dest, const char *s)
{
	append_string_for_humans(dest, s);
}

/* ---- RFC 5322 3.4 address lists ---- */

struct addr_parser {
	const char *p;
	string_t *last_comment;
};

static void skip_cfws(struct addr_parser *ap)
{
	for (;;) {
		while (*ap->p == ' ' || *ap->p == '\t' || *ap->p == '\r' ||
		       *ap->p == '\n')
			ap->p++;
		if (*ap->p != '(')
			return;
		/* RFC 5322 3.2.2: comments nest */
		unsigned int level = 0;
		str_clear(ap->last_comment);
		for (; *ap->p != '\0'; ap->p++) {
			if (*ap->p == '\\' && ap->p[1] != '\0') {
				ap->p++;
			} else if (*ap->p == '(') {
				if (level++ == 0)
					continue;
			} else if (*ap->p == ')') {
				if (--level == 0) {
					ap->p++;
					break;
				}
			}
			str_append_c(ap->last_comment, *ap->p);
		}
	}
}

static bool is_atext(char c)
{
	return c != '\0' && strchr("()<>[]:;@\\,.\" \t\r\n", c) == NULL;
}

/* atom or quoted-string into dest (quotes removed when unquote) */
static int parse_word(struct addr_parser *ap, string_t *dest, bool unquote)
{
	if (*ap->p == '"') {
		if (!unquote)
			str_append_c(dest, '"');
		for (ap->p++; *ap->p != '"'; ap->p++) {
			if (*ap->p == '\0')
				return -1;
			if (*ap->p == '\\' && ap->p[1] != '\0') {
				if (!unquote)
					str_append_c(dest, '\\');
				ap->p++;
			}
			if (*ap->p == '\r' || *ap->p == '\n')
				continue;
			str_append_c(dest, *ap->p);
		}
		ap->p++;
		if (!unquote)
			str_append_c(dest, '"');
		return 1;
	}
	if (!is_atext(*ap->p))
		return 0;
	while (is_atext(*ap->p))
		str_append_c(dest, *ap->p++);
	return 1;
}

/* dot-atom / obs-local-part / domain: words joined by dots */
static int parse_dotted(struct addr_parser *ap, string_t *dest)
{
	int ret;

	skip_cfws(ap);
	if (*ap->p == '[') {
		/* RFC 5322 3.4.1 domain-literal */
		while (*ap->p != '\0' && *ap->p != ']')
			str_append_c(dest, *ap->p++);
		if (*ap->p != ']')
			return -1;
		str_append_c(dest, *ap->p++);
		return 1;
	}
	if ((ret = parse_word(ap, dest, true)) <= 0)
		return ret;
	for (;;) {
		skip_cfws(ap);
		if (*ap->p != '.')
			return 1;
		str_append_c(dest, '.');
		ap->p++;
		skip_cfws(ap);
		if (parse_word(ap, dest, true) <= 0)
			return 1;
	}
}

static void write_address(string_t *dest, const char *name, const char *route,
			  const char *mailbox, const char *host)
{
	str_append_c(dest, '(');
	imap_append_nstring_for_humans(dest, name);
	str_append_c(dest, ' ');
	imap_append_nstring(dest, route);
	str_append_c(dest, ' ');
	imap_append_nstring(dest, mailbox);
	str_append_c(dest, ' ');
	imap_append_nstring(dest, host);
	str_append_c(dest, ')');
}

/* addr-spec at ap->p; returns -1 on a syntax error inside it */
static int parse_addr_spec(struct addr_parser *ap, string_t *local,
			   string_t *domain, bool *has_at_r)
{
	*has_at_r = false;
	if (parse_dotted(ap, local) < 0)
		return -1;
	skip_cfws(ap);
	if (*ap->p != '@')
		return 0;
	*has_at_r = true;
	ap->p++;
	if (parse_dotted(ap, domain) < 0)
		return -1;
	if (str_len(domain) == 0)
		return -1;
	return 0;
}

/* One mailbox; returns -1 when parsing must stop. */
static int parse_mailbox(struct addr_parser *ap, string_t *dest,
			 struct pool *pool)
{
	string_t *phrase = str_create(64), *local = str_create(64),
		*domain = str_create(64), *route = str_create(32);
	const char *start = ap->p, *name = NULL;
	bool has_at, angle = false, error = false, quote_error = false;
	int ret = 0;

	str_clear(ap->last_comment);
	/* plain addr-spec? */
	skip_cfws(ap);
	bool quoted_start = *ap->p == '"';
	if (parse_addr_spec(ap, local, domain, &has_at) < 0)
		error = true;
	skip_cfws(ap);
	if (!error && (*ap->p == '\0' || *ap->p == ',' || *ap->p == ';')) {
		if (!has_at && quoted_start) {
			/* a lone quoted string is a name (Dovecot) */
			name = pool_strdup(pool, str_c(local));
			str_clear(local);
		} else if (str_len(ap->last_comment) > 0) {
			name = pool_strdup(pool, str_c(ap->last_comment));
		}
	} else if (!error && has_at && *ap->p != '<') {
		/* a complete addr-spec followed by junk: Dovecot keeps it
		   and stops parsing the list */
		if (str_len(ap->last_comment) > 0)
			name = pool_strdup(pool, str_c(ap->last_comment));
		ret = -1;
	} else {
		/* phrase "<" [route ":"] addr-spec ">" */
		ap->p = start;
		error = false;
		str_clear(local);
		str_clear(domain);
		for (;;) {
			skip_cfws(ap);
			if (*ap->p == '.') {
				str_append_c(phrase, '.');
				ap->p++;
				continue;
			}
			if (str_len(phrase) > 0 && (*ap->p == '"' || is_atext(*ap->p)))
				str_append_c(phrase, ' ');
			int r = parse_word(ap, phrase, true);
			if (r < 0) {
				error = quote_error = true;
				break;
			}
			if (r == 0)
				break;
		}
		if (!error && *ap->p == '<') {
			angle = true;
			ap->p++;
			skip_cfws(ap);
			/* obs-route: "@dom,@dom:" */
			while (*ap->p == '@' || *ap->p == ',') {
				if (*ap->p == ',') {
					str_append_c(route, *ap->p++);
					skip_cfws(ap);
					continue;
				}
				str_append_c(route, *ap->p++);
				(void)parse_dotted(ap, route);
				skip_cfws(ap);
				if (*ap->p == ':') {
					ap->p++;
					break;
				}
			}
			if (parse_addr_spec(ap, local, domain, &has_at) < 0)
				error = true;
			skip_cfws(ap);
			if (*ap->p == '>') {
				ap->p++;
				skip_cfws(ap);
				/* Dovecot stops at junk after the angle-addr */
				if (*ap->p != '\0' && *ap->p != ',' && *ap->p != ';')
					ret = -1;
			} else {
				/* unterminated: Dovecot keeps the mailbox and
				   reports the host as SYNTAX_ERROR */
				error = true;
				str_clear(domain);
			}
		} else {
			error = true;
		}
		if (str_len(phrase) > 0 && (angle || !error))
			name = pool_strdup(pool, str_c(phrase));
		if (!angle) {
			/* a phrase without an address: Dovecot keeps it as
			   the name unless its quoting was broken */
			name = NULL;
			if (!quote_error && str_len(phrase) > 0)
				name = pool_strdup(pool, str_c(phrase));
			while (*ap->p != '\0' && *ap->p != ',' && *ap->p != ';')
				ap->p++;
			error = false;
			has_at = false;
			str_clear(local);
			str_clear(domain);
		}
	}
	const char *mailbox = str_len(local) > 0 ?
		pool_strdup(pool, str_c(local)) : "MISSING_MAILBOX";
	const char *host = str_len(domain) > 0 ? pool_strdup(pool, str_c(domain)) :
		(has_at || error ? "SYNTAX_ERROR" : "MISSING_DOMAIN");
	if (has_at && str_len(domain) == 0)
		error = true;
	write_address(dest, name, str_len(route) > 0 ?
		      pool_strdup(pool, str_c(route)) : NULL, mailbox, host);
	if (error)
		ret = -1;
	str_free(&phrase);
	str_free(&local);
	str_free(&domain);
	str_free(&route);
	return ret;
}

/* Is there a group "display-name :" at ap->p? Sets *name_r. */
static bool parse_group_start(struct addr_parser *ap, string_t *name)
{
	const char *start = ap->p;

	for (;;) {
		skip_cfws(ap);
		if (*ap->p == ':') {
			ap->p++;
			return str_len(name) > 0;
		}
		if (str_len(name) > 0 && (*ap->p == '"' || is_atext(*ap->p)))
			str_append_c(name, ' ');
		if (*ap->p == '.') {
			str_append_c(name, *ap->p++);
			continue;
		}
		if (parse_word(ap, name, true) <= 0)
			break;
	}
	ap->p = start;
	str_clear(name);
	return false;
}

static void write_address_list(string_t *dest, struct pool *pool,
			       const char *value)
{
	struct addr_parser ap = { .p = value, .last_comment = str_create(64) };
	string_t *group = str_create(64);
	size_t start = str_len(dest);
	/* a comma first in the list also stands for an empty element */
	bool in_group = false, any = false, after_comma = true;

	str_append_c(dest, '(');
	for (;;) {
		skip_cfws(&ap);
		if (*ap.p == '\0')
			break;
		if (*ap.p == ',') {
			/* an empty element between two commas (Dovecot) */
			if (after_comma) {
				write_address(dest, NULL, NULL, "MISSING_MAILBOX",
					      "MISSING_DOMAIN");
				any = true;
			}
			after_comma = true;
			ap.p++;
			continue;
		}
		after_comma = false;
		if (*ap.p == ';') {
			ap.p++;
			if (in_group) {
				write_address(dest, NULL, NULL, NULL, NULL);
				in_group = false;
				continue;
			}
			/* ';' outside a group ends the list (Dovecot) */
			if (!any)
				write_address(dest, NULL, NULL, "MISSING_MAILBOX",
					      "MISSING_DOMAIN");
			any = true;
			break;
		}
		if (!in_group && parse_group_start(&ap, group)) {
			write_address(dest, NULL, NULL, str_c(group), NULL);
			str_clear(group);
			in_group = true;
			any = true;
			continue;
		}
		any = true;
		if (parse_mailbox(&ap, dest, pool) < 0)
			break;
	}
	if (in_group)
		write_address(dest, NULL, NULL, NULL, NULL);
	if (!any) {
		str_truncate(dest, start);
		str_append(dest, "NIL");
	} else {
		str_append_c(dest, ')');
	}
	str_free(&ap.last_comment);
	str_free(&group);
}

static void write_addresses(string_t *dest, struct pool *pool,
			    const struct message_part *part,
			    enum message_header_id id)
{
	const struct message_header_value *v = &part->headers[id];

	string_t *joined;

	if (!v->present) {
		str_append(dest, "NIL");
		return;
	}
	if (v->next == NULL) {
		write_address_list(dest, pool, message_header_unfold(pool, v, false));
		return;
	}
	/* Dovecot joins the addresses of repeated fields */
	joined = str_create(256);
	for (; v != NULL; v = v->next) {
		if (str_len(joined) > 0)
			str_append(joined, ", ");
		str_append(joined, message_header_unfold(pool, v, false));
	}
	write_address_list(dest, pool, pool_strdup(pool, str_c(joined)));
	str_free(&joined);
}

static void write_nstring_header(string_t *dest, struct pool *pool,
				 const struct message_part *part,
				 enum message_header_id id, bool humans)
{
	const struct message_header_value *v = &part->headers[id];

	/* Dovecot: of repeated Date, Subject, In-Reply-To and Message-ID
	   fields the last one counts */
	while (v->next != NULL)
		v = v->next;
	if (humans)
		append_string_for_humans(dest, v->present ?
					 message_header_unfold(pool, v, true) : NULL);
	else
		append_string(dest, v->present ?
			      message_header_unfold(pool, v, true) : NULL);
}

void imap_envelope_write(string_t *dest, struct pool *pool,
			 const struct message_part *part)
{
	enum message_header_id from = MESSAGE_HDR_FROM;

	write_nstring_header(dest, pool, part, MESSAGE_HDR_DATE, false);
	str_append_c(dest, ' ');
	write_nstring_header(dest, pool, part, MESSAGE_HDR_SUBJECT, true);
	str_append_c(dest, ' ');
	write_addresses(dest, pool, part, from);
	/* RFC 3501 7.4.2: missing Sender and Reply-To default to From */
	str_append_c(dest, ' ');
	write_addresses(dest, pool, part, part->headers[MESSAGE_HDR_SENDER].present ?
			MESSAGE_HDR_SENDER : from);
	str_append_c(dest, ' ');
	write_addresses(dest, pool, part, part->headers[MESSAGE_HDR_REPLY_TO].present ?
			MESSAGE_HDR_REPLY_TO : from);
	str_append_c(dest, ' ');
	write_addresses(dest, pool, part, MESSAGE_HDR_TO);
	str_append_c(dest, ' ');
	write_addresses(dest, pool, part, MESSAGE_HDR_CC);
	str_append_c(dest, ' ');
	write_addresses(dest, pool, part, MESSAGE_HDR_BCC);
	str_append_c(dest, ' ');
	write_nstring_header(dest, pool, part, MESSAGE_HDR_IN_REPLY_TO, false);
	str_append_c(dest, ' ');
	write_nstring_header(dest, pool, part, MESSAGE_HDR_MESSAGE_ID, false);
}
