/* IMAP BODYSTRUCTURE; see imap-bodystructure.h. */
#include "imap-bodystructure.h"
#include "imap-envelope.h"
#include "message-parser.h"
#include "pool.h"

#include <ctype.h>
#include <stdlib.h>
#include <strings.h>

#define MIME_MAX_PARAMS 256

/* RFC 2045 5.1 tspecials */
static bool is_token_char(char c)
{
	return (unsigned char)c > ' ' && c != 0x7f &&
		strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static void skip_cfws(const char **p)
{
	unsigned int level;

	for (;;) {
		while (**p == ' ' || **p == '\t')
			(*p)++;
		if (**p != '(')
			return;
		for (level = 0; **p != '\0'; (*p)++) {
			if (**p == '\\' && (*p)[1] != '\0')
				(*p)++;
			else if (**p == '(')
				level++;
			else if (**p == ')' && --level == 0) {
				(*p)++;
				break;
			}
		}
	}
}

static char *parse_token(struct pool *pool, const char **p)
{
	const char *start = *p;

	while (is_token_char(**p))
		(*p)++;
	return *p == start ? NULL : pool_strndup(pool, start, *p - start);
}

static char *parse_value(struct pool *pool, const char **p)
{
	string_t *str;
	char *ret;

	if (**p != '"')
		return parse_token(pool, p);
	str = str_create(64);
	for ((*p)++; **p != '"' && **p != '\0'; (*p)++) {
		if (**p == '\\' && (*p)[1] != '\0')
			(*p)++;
		str_append_c(str, **p);
	}
	if (**p == '"')
		(*p)++;
	ret = pool_strdup(pool, str_c(str));
	str_free(&str);
	return ret;
}

/* RFC 2231 3: join name*0, name*1[*], ... in section order. Sections
   that are encoded (name*N*) make the joined name "name*". */
struct section {
	const char *base;
	size_t base_len;
	unsigned long index;
	bool encoded;
	const char *value;
	bool used, lone;
};

static void join_continuations(struct pool *pool, struct mime_param *params,
			       unsigned int *count)
{
	struct section sec[MIME_MAX_PARAMS];
	unsigned int i, j, out = 0, n = *count;
	struct mime_param result[MIME_MAX_PARAMS];

	for (i = 0; i < n; i++) {
		const char *star = strchr(params[i].name, '*');
		char *end;

		memset(&sec[i], 0, sizeof(sec[i]));
		sec[i].index = (unsigned long)-1;
		if (star != NULL && star[1] == '\0') {
			/* name*=charset'lang'value: no sections, but still
			   placed after the plain parameters (Dovecot) */
			sec[i].lone = true;
			continue;
		}
		if (star == NULL || !isdigit((unsigned char)star[1]))
			continue;
		sec[i].index = strtoul(star + 1, &end, 10);
		if (*end != '\0' && !(end[0] == '*' && end[1] == '\0')) {
			sec[i].index = (unsigned long)-1;
			continue;
		}
		sec[i].base = params[i].name;
		sec[i].base_len = star - params[i].name;
		sec[i].encoded = *end == '*';
		sec[i].value = params[i].value;
	}
	/* plain parameters first, joined ones after them (Dovecot) */
	for (i = 0; i < n; i++) {
		if (sec[i].base == NULL && !sec[i].lone)
			result[out++] = params[i];
	}
	for (i = 0; i < n; i++) {
		if (sec[i].lone)
			result[out++] = params[i];
	}
	for (i = 0; i < n; i++) {
		if (sec[i].used || sec[i].base == NULL || sec[i].index != 0)
			continue;
		/* section 0 of a continued parameter: collect 1, 2, ... */
		unsigned int order[MIME_MAX_PARAMS], order_count = 0, k;
		unsigned long want = 1;
		bool found = true, encoded = false;

		order[order_count++] = i;
		sec[i].used = true;
		while (found) {
			found = false;
			for (j = 0; j < n; j++) {
				if (!sec[j].used && sec[j].base != NULL &&
				    sec[j].index == want &&
				    sec[j].base_len == sec[i].base_len &&
				    memcmp(sec[j].base, sec[i].base, sec[i].base_len) == 0) {
					order[order_count++] = j;
					sec[j].used = true;
					want++;
					found = true;
					break;
				}
			}
		}
		for (k = 0; k < order_count; k++)
			encoded = encoded || sec[order[k]].encoded;
		string_t *value = str_create(128);
		/* RFC 2231 4: an encoded value starts with charset'lang' */
		if (encoded && !sec[i].encoded)
			str_append(value, "''");
		for (k = 0; k < order_count; k++) {
			const struct section *s = &sec[order[k]];
			if (!encoded || s->encoded) {
				str_append(value, s->value);
				continue;
			}
			/* plain section inside an encoded value: %-escape */
			for (const char *c = s->value; *c != '\0'; c++) {
				if (is_token_char(*c) && *c != '*' && *c != '\'' &&
				    *c != '%')
					str_append_c(value, *c);
				else
					str_printfa(value, "%%%02X", (unsigned char)*c);
			}
		}
		result[out].name = pool_printf(pool, "%.*s%s", (int)sec[i].base_len,
					       sec[i].base, encoded ? "*" : "");
		result[out].value = pool_strdup(pool, str_c(value));
		out++;
		str_free(&value);
	}
	memcpy(params, result, out * sizeof(*params));
	*count = out;
}

void mime_header_params_parse(struct pool *pool, const char *header,
			      struct mime_header_params *result_r)
{
	struct mime_param params[MIME_MAX_PARAMS];
	const char *p = header;
	string_t *main_value = str_create(64);

	memset(result_r, 0, sizeof(*result_r));
	result_r->params = params;
	skip_cfws(&p);
	while (is_token_char(*p) || *p == '/') {
		str_append_c(main_value, *p++);
		skip_cfws(&p);
	}
	if (str_len(main_value) > 0)
		result_r->value = pool_strdup(pool, str_c(main_value));
	str_free(&main_value);

	/* RFC 2045 5.1; like Dovecot, the first invalid parameter ends the
	   list */
	while (*p != '\0' && result_r->count < MIME_MAX_PARAMS) {
		char *name, *value;

		skip_cfws(&p);
		if (*p != ';')
			break;
		p++;
		skip_cfws(&p);
		if ((name = parse_token(pool, &p)) == NULL)
			break;
		skip_cfws(&p);
		if (*p != '=')
			break;
		p++;
		skip_cfws(&p);
		if ((value = parse_value(pool, &p)) == NULL)
			break;
		result_r->params[result_r->count].name = name;
		result_r->params[result_r->count].value = value;
		result_r->count++;
	}
	join_continuations(pool, params, &result_r->count);
	/* only what is used goes to the pool: memory stays O(input) */
	result_r->params = result_r->count == 0 ? NULL :
		pool_memdup(pool, params, result_r->count * sizeof(params[0]));
}

static char *header_value(struct pool *pool, const struct message_part *part,
			  enum message_header_id id)
{
	if (!part->headers[id].present)
		return NULL;
	return message_header_unfold(pool, &part->headers[id], true);
}

static void write_params(string_t *dest, const struct mime_header_params *hp,
			 bool add_charset)
{
	unsigned int i;

	if (hp->count == 0 && !add_charset) {
		str_append(dest, "NIL");
		return;
	}
	/* names keep their case, as Dovecot prints them */
	str_append_c(dest, '(');
	for (i = 0; i < hp->count; i++) {
		if (i > 0)
			str_append_c(dest, ' ');
		imap_append_nstring(dest, hp->params[i].name);
		str_append_c(dest, ' ');
		imap_append_nstring(dest, hp->params[i].value);
	}
	if (add_charset) {
		/* RFC 2045 5.2: the default charset, after the others */
		str_append(dest, i > 0 ? " " : "");
		str_append(dest, "\"charset\" \"us-ascii\"");
	}
	str_append_c(dest, ')');
}

static void write_disposition(string_t *dest, struct pool *pool,
			      const struct message_part *part)
{
	struct mime_header_params hp;
	char *value = header_value(pool, part, MESSAGE_HDR_CONTENT_DISPOSITION);

	if (value == NULL) {
		str_append(dest, "NIL");
		return;
	}
	mime_header_params_parse(pool, value, &hp);
	str_append_c(dest, '(');
	/* present but without a value: "" (Dovecot) */
	imap_append_nstring(dest, hp.value != NULL ? hp.value : "");
	str_append_c(dest, ' ');
	write_params(dest, &hp, false);
	str_append_c(dest, ')');
}

static void write_language(string_t *dest, struct pool *pool,
			   const struct message_part *part)
{
	char *value = header_value(pool, part, MESSAGE_HDR_CONTENT_LANGUAGE);
	const char *p = value;
	unsigned int count = 0;

	if (value == NULL) {
		str_append(dest, "NIL");
		return;
	}
	/* RFC 3282: Language-List = Language-Tag *("," Language-Tag) */
	for (;;) {
		skip_cfws(&p);
		while (*p == ',') {
			p++;
			skip_cfws(&p);
		}
		char *tag = parse_token(pool, &p);
		if (tag == NULL)
			break;
		str_append(dest, count == 0 ? "(" : " ");
		imap_append_nstring(dest, tag);
		count++;
	}
	str_append(dest, count == 0 ? "NIL" : ")");
}

static void write_extension_tail(string_t *dest, struct pool *pool,
				 const struct message_part *part)
{
	str_append_c(dest, ' ');
	write_disposition(dest, pool, part);
	str_append_c(dest, ' ');
	write_language(dest, pool, part);
	str_append_c(dest, ' ');
	imap_append_nstring(dest, header_value(pool, part,
					       MESSAGE_HDR_CONTENT_LOCATION));
}

static void split_type(struct pool *pool, const char *value,
		       const char **type_r, const char **subtype_r)
{
	const char *slash = value == NULL ? NULL : strchr(value, '/');

	if (value == NULL) {
		*type_r = "text";
		*subtype_r = "plain";
		return;
	}
	if (slash == NULL) {
		/* "Content-Type: text" is printed as "text" "" (Dovecot) */
		*type_r = value;
		*subtype_r = "";
		return;
	}
	*type_r = pool_strndup(pool, value, slash - value);
	*subtype_r = slash + 1;
}

static void write_part(string_t *dest, struct pool *pool,
		       const struct message_part *part);

static void write_multipart(string_t *dest, struct pool *pool,
			    const struct message_part *part,
			    const struct mime_header_params *hp,
			    const char *subtype)
{
	const struct message_part *child;

	if (part->children == NULL) {
		/* RFC 3501 requires at least one part */
		str_append(dest, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") "
			   "NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)");
	}
	for (child = part->children; child != NULL; child = child->next) {
		str_append_c(dest, '(');
		write_part(dest, pool, child);
		str_append_c(dest, ')');
	}
	str_append_c(dest, ' ');
	imap_append_nstring(dest, subtype);
	str_append_c(dest, ' ');
	write_params(dest, hp, false);
	write_extension_tail(dest, pool, part);
}

static void write_part(string_t *dest, struct pool *pool,
		       const struct message_part *part)
{
	struct mime_header_params hp;
	const char *type, *subtype, *cte;
	char *ct = header_value(pool, part, MESSAGE_HDR_CONTENT_TYPE);
	bool text, has_charset = false;
	unsigned int i;

	memset(&hp, 0, sizeof(hp));
	if (ct != NULL)
		mime_header_params_parse(pool, ct, &hp);
	if (hp.value == NULL && part->digest_child)
		hp.value = "message/rfc822";
	split_type(pool, hp.value, &type, &subtype);
	if (ct != NULL && hp.value == NULL) {
		/* a Content-Type without a type shows as "" "" (Dovecot) */
		type = subtype = "";
	}
	if (part->too_deep) {
		type = "application";
		subtype = "octet-stream";
	}
	if (part->multipart) {
		write_multipart(dest, pool, part, &hp, subtype);
		return;
	}
	text = strcasecmp(type, "text") == 0;
	for (i = 0; i < hp.count; i++) {
		if (strcasecmp(hp.params[i].name, "charset") == 0)
			has_charset = true;
	}
	imap_append_nstring(dest, type);
	str_append_c(dest, ' ');
	imap_append_nstring(dest, subtype);
	str_append_c(dest, ' ');
	write_params(dest, &hp, text && !has_charset);
	str_append_c(dest, ' ');
	imap_append_nstring(dest, header_value(pool, part, MESSAGE_HDR_CONTENT_ID));
	str_append_c(dest, ' ');
	imap_append_nstring(dest, header_value(pool, part,
					       MESSAGE_HDR_CONTENT_DESCRIPTION));
	str_append_c(dest, ' ');
	cte = header_value(pool, part, MESSAGE_HDR_CONTENT_TRANSFER_ENCODING);
	if (cte != NULL) {
		const char *p = cte;
		skip_cfws(&p);
		cte = parse_token(pool, &p);
	}
	imap_append_nstring(dest, cte != NULL ? cte : "7bit");
	str_append_c(dest, ' ');
	str_append_uint(dest, part->body_size.virtual_size);
	if (text) {
		str_append_c(dest, ' ');
		str_append_uint(dest, part->body_size.lines);
	} else if (part->message_rfc822 && part->children != NULL) {
		str_append(dest, " (");
		imap_envelope_write(dest, pool, part->children);
		str_append(dest, ") (");
		write_part(dest, pool, part->children);
		str_append(dest, ") ");
		str_append_uint(dest, part->body_size.lines);
	}
	str_append_c(dest, ' ');
	imap_append_nstring(dest, header_value(pool, part, MESSAGE_HDR_CONTENT_MD5));
	write_extension_tail(dest, pool, part);
}

void imap_bodystructure_write(string_t *dest, struct pool *pool,
			      const struct message_part *part)
{
	write_part(dest, pool, part);
}
