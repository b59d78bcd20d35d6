/* dovecot-keywords reading and writing. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "maildir-uidlist.h"
#include "maildir-keywords.h"

bool maildir_keyword_name_is_valid(const char *name)
{
	size_t len = 0;

	/* RFC 3501 9: flag-keyword = atom; atom-specials excluded */
	for (const char *p = name; *p != '\0'; p++, len++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return len > 0 && len <= MAILDIR_KEYWORD_MAX_LEN;
}

int maildir_keywords_lookup(const struct maildir_keywords *kw, const char *name)
{
	for (int i = 0; i < MAILDIR_KEYWORDS_MAX; i++)
		if (kw->names[i] != NULL && str_ieq(kw->names[i], name))
			return i;
	return -1;
}

int maildir_keywords_add(struct pool *pool, struct maildir_keywords *kw,
			 const char *name)
{
	int id = maildir_keywords_lookup(kw, name);

	if (id >= 0)
		return id;
	if (!maildir_keyword_name_is_valid(name))
		return -1;
	for (int i = 0; i < MAILDIR_KEYWORDS_MAX; i++) {
		if (kw->names[i] == NULL) {
			kw->names[i] = pool_strdup(pool, name);
			return i;
		}
	}
	return -1;
}

static const char *parse_line(struct pool *pool, char *line,
			      struct maildir_keywords *kw)
{
	char *sp = strchr(line, ' ');
	unsigned int id;

	if (sp == NULL)
		return "expected '<id> <keyword>'";
	*sp = '\0';
	if (str_to_uint(line, &id) < 0)
		return pool_printf(pool, "invalid keyword id '%.20s'", line);
	if (!maildir_keyword_name_is_valid(sp + 1))
		return pool_printf(pool, "invalid keyword name '%.64s'", sp + 1);
	if (id >= MAILDIR_KEYWORDS_MAX)
		return NULL; /* no file name letter can refer to it */
	if (kw->names[id] != NULL)
		return pool_printf(pool, "duplicate keyword id %u", id);
	if (maildir_keywords_lookup(kw, sp + 1) >= 0)
		return pool_printf(pool, "duplicate keyword '%s'", sp + 1);
	kw->names[id] = pool_strdup(pool, sp + 1);
	return NULL;
}

int maildir_keywords_parse(struct pool *pool, const char *path,
			   const unsigned char *data, size_t size,
			   struct maildir_keywords *kw_r, const char **error_r)
{
	const char *error = NULL;
	unsigned int line_no = 0;
	size_t pos = 0;

	memset(kw_r, 0, sizeof(*kw_r));
	while (pos < size && error == NULL) {
		const unsigned char *nl = memchr(data + pos, '\n', size - pos);
		size_t len = (nl == NULL ? size : (size_t)(nl - data)) - pos;

		line_no++;
		if (len > MAILDIR_KEYWORD_MAX_LEN + 16)
			error = "line too long";
		else if (nl == NULL)
			error = "truncated line (no newline at end of file)";
		else if (len == 0)
			error = "empty line";
		else if (memchr(data + pos, '\0', len) != NULL)
			error = "NUL byte in line";
		else {
			char *line = pool_strndup(pool, (const char *)data + pos, len);

			error = parse_line(pool, line, kw_r);
		}
		pos += len + 1;
	}
	if (error != NULL) {
		*error_r = pool_printf(pool, "%s:%u: %s", path, line_no, error);
		memset(kw_r, 0, sizeof(*kw_r));
		return -1;
	}
	return 0;
}

int maildir_keywords_read(struct pool *pool, const char *path,
			  struct maildir_keywords *kw_r, const char **error_r)
{
	unsigned char *data;
	size_t size;
	int ret;

	memset(kw_r, 0, sizeof(*kw_r));
	ret = maildir_file_read_all(pool, path, MAILDIR_KEYWORDS_MAX_SIZE,
				    &data, &size, error_r);
	if (ret <= 0)
		return ret;
	return maildir_keywords_parse(pool, path, data, size, kw_r, error_r) < 0 ? -1 : 1;
}

int maildir_keywords_write(struct pool *pool, const char *path,
			   const struct maildir_keywords *kw, const char **error_r)
{
	string_t *str = str_create(256);
	int ret;

	for (unsigned int i = 0; i < MAILDIR_KEYWORDS_MAX; i++) {
		if (kw->names[i] == NULL)
			continue;
		i_assert(maildir_keyword_name_is_valid(kw->names[i]));
		str_printfa(str, "%u %s\n", i, kw->names[i]);
	}
	ret = maildir_file_write_atomic(pool, path, str_data(str), str_len(str),
					error_r);
	str_free(&str);
	return ret;
}
