/* Maildir file names: base, S=/W= size fields and the ":2," info part
   with flag and keyword letters. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "maildir-filename.h"

static const struct {
	char letter;
	enum maildir_flag flag;
	const char *imap_name;
} flag_table[] = {
	/* ASCII order, as the Maildir spec asks for when writing */
	{ 'D', MAILDIR_FLAG_DRAFT, "\\Draft" },
	{ 'F', MAILDIR_FLAG_FLAGGED, "\\Flagged" },
	{ 'P', MAILDIR_FLAG_PASSED, NULL },
	{ 'R', MAILDIR_FLAG_REPLIED, "\\Answered" },
	{ 'S', MAILDIR_FLAG_SEEN, "\\Seen" },
	{ 'T', MAILDIR_FLAG_TRASHED, "\\Deleted" },
};

char maildir_flag_letter(enum maildir_flag flag)
{
	for (size_t i = 0; i < N_ELEMENTS(flag_table); i++)
		if (flag_table[i].flag == flag)
			return flag_table[i].letter;
	return '\0';
}

const char *maildir_flag_imap_name(enum maildir_flag flag)
{
	for (size_t i = 0; i < N_ELEMENTS(flag_table); i++)
		if (flag_table[i].flag == flag)
			return flag_table[i].imap_name;
	return NULL;
}

size_t maildir_filename_base_len(const char *name)
{
	const char *p = strchr(name, ':');

	return p == NULL ? strlen(name) : (size_t)(p - name);
}

static int parse_size_field(struct pool *pool, const char *field, size_t len,
			    uint64_t *value_r, bool *have_r,
			    const char **error_r)
{
	char *digits = pool_strndup(pool, field + 2, len - 2);

	if (*have_r) {
		*error_r = pool_printf(pool, "duplicate ,%c= field", field[0]);
		return -1;
	}
	if (str_to_uint64(digits, value_r) < 0) {
		*error_r = pool_printf(pool, "invalid ,%c= size '%s'",
				       field[0], digits);
		return -1;
	}
	*have_r = true;
	return 0;
}

static int parse_info(struct pool *pool, const char *info,
		      struct maildir_filename *fn, const char **error_r)
{
	string_t *other = str_create(8);

	for (const char *p = info; *p != '\0'; p++) {
		size_t i;

		if (*p >= 'a' && *p <= 'z') {
			fn->keywords |= 1U << (*p - 'a');
			continue;
		}
		if (*p < 'A' || *p > 'Z') {
			*error_r = pool_printf(pool,
				"invalid flag character 0x%02x after ':2,'",
				(unsigned char)*p);
			str_free(&other);
			return -1;
		}
		for (i = 0; i < N_ELEMENTS(flag_table); i++) {
			if (flag_table[i].letter == *p) {
				fn->flags |= flag_table[i].flag;
				break;
			}
		}
		if (i == N_ELEMENTS(flag_table) && strchr(str_c(other), *p) == NULL)
			str_append_c(other, *p);
	}
	fn->other_flags = pool_strdup(pool, str_c(other));
	str_free(&other);
	return 0;
}

int maildir_filename_parse(struct pool *pool, const char *name,
			   struct maildir_filename *fn_r, const char **error_r)
{
	size_t base_len = maildir_filename_base_len(name);
	const char *p, *end = name + base_len;
	string_t *other;

	memset(fn_r, 0, sizeof(*fn_r));
	fn_r->other_fields = "";
	fn_r->other_flags = "";
	if (strchr(name, '/') != NULL) {
		*error_r = "file name contains '/'";
		return -1;
	}
	p = memchr(name, ',', base_len);
	if (p == NULL)
		p = end;
	if (p == name) {
		*error_r = "empty base name";
		return -1;
	}
	fn_r->base = pool_strndup(pool, name, (size_t)(p - name));

	other = str_create(16);
	while (p < end) {
		const char *field = p + 1;
		const char *next = memchr(field, ',', (size_t)(end - field));
		size_t len;
		int ret = 0;

		if (next == NULL)
			next = end;
		len = (size_t)(next - field);
		if (len >= 2 && field[1] == '=' && field[0] == 'S')
			ret = parse_size_field(pool, field, len, &fn_r->size,
					       &fn_r->have_size, error_r);
		else if (len >= 2 && field[1] == '=' && field[0] == 'W')
			ret = parse_size_field(pool, field, len, &fn_r->vsize,
					       &fn_r->have_vsize, error_r);
		else if (len == 0) {
			*error_r = "empty ',' field";
			ret = -1;
		} else
			str_append_n(other, p, len + 1);
		if (ret < 0) {
			str_free(&other);
			return -1;
		}
		p = next;
	}
	fn_r->other_fields = pool_strdup(pool, str_c(other));
	str_free(&other);

	if (*end == '\0')
		return 0;
	/* maildir spec: ":2," starts the flags; ":1," is experimental
	   semantics we do not interpret */
	if (strncmp(end, ":2,", 3) == 0) {
		fn_r->have_info = true;
		return parse_info(pool, end + 3, fn_r, error_r);
	}
	if (strncmp(end, ":1,", 3) == 0)
		return 0;
	*error_r = "unknown info after ':' (expected ':2,')";
	return -1;
}

char *maildir_filename_build(struct pool *pool, const struct maildir_filename *fn,
			     bool with_info)
{
	string_t *str = str_create(64);
	char *ret;

	str_append(str, fn->base);
	if (fn->have_size) {
		str_append(str, ",S=");
		str_append_uint(str, fn->size);
	}
	if (fn->have_vsize) {
		str_append(str, ",W=");
		str_append_uint(str, fn->vsize);
	}
	if (fn->other_fields != NULL)
		str_append(str, fn->other_fields);
	if (with_info) {
		char letters[128];
		size_t n = 0;

		memset(letters, 0, sizeof(letters));
		for (size_t i = 0; i < N_ELEMENTS(flag_table); i++)
			if ((fn->flags & flag_table[i].flag) != 0)
				letters[(unsigned char)flag_table[i].letter] = 1;
		for (const char *p = fn->other_flags; p != NULL && *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				letters[(unsigned char)*p] = 1;
		for (unsigned int k = 0; k < MAILDIR_KEYWORDS_MAX; k++)
			if ((fn->keywords & (1U << k)) != 0)
				letters['a' + k] = 1;
		str_append(str, ":2,");
		for (n = 0; n < sizeof(letters); n++)
			if (letters[n] != 0)
				str_append_c(str, (char)n);
	}
	ret = pool_strdup(pool, str_c(str));
	str_free(&str);
	return ret;
}
