/* "key = value" settings files (see args-file.h). */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "path-error.h"
#include "args-file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Cut a '#' comment that is outside quotes; returns the new length. */
static size_t strip_comment(char *line)
{
	char quote = '\0';
	size_t i;

	for (i = 0; line[i] != '\0'; i++) {
		char c = line[i];
		if (quote != '\0') {
			if (c == '\\' && line[i + 1] != '\0')
				i++;
			else if (c == quote)
				quote = '\0';
		} else if (c == '"' || c == '\'') {
			quote = c;
		} else if (c == '#') {
			line[i] = '\0';
			break;
		}
	}
	return i;
}

/* "value" or 'value' -> value with \x unescaped; else as is. */
static const char *unquote_value(struct pool *pool, const char *value)
{
	size_t len = strlen(value);

	if (len < 2 || (value[0] != '"' && value[0] != '\'') || value[len - 1] != value[0])
		return value;
	string_t *str = str_create_secure(len);
	for (size_t i = 1; i < len - 1; i++) {
		if (value[i] == '\\' && i + 1 < len - 1)
			i++;
		str_append_c(str, value[i]);
	}
	const char *result = pool_strdup(pool, str_c(str));
	str_free(&str);
	return result;
}

static int apply_line(struct pool *pool, const char *path, unsigned int lineno,
		      const char *line, args_file_set_func_t *set, void *context,
		      const char **error_r)
{
	const char *eq = strchr(line, '=');
	const char *error;

	if (eq == NULL) {
		*error_r = pool_printf(pool, "%s:%u: Expected 'key = value', got: %s",
				       path, lineno, line);
		return -1;
	}
	size_t key_len = (size_t)(eq - line);
	while (key_len > 0 && is_space(line[key_len - 1]))
		key_len--;
	const char *key = pool_strndup(pool, line, key_len);
	const char *value = eq + 1;
	while (is_space(*value))
		value++;
	if (*key == '\0') {
		*error_r = pool_printf(pool, "%s:%u: Missing setting name", path, lineno);
		return -1;
	}
	if (set(pool, context, key, unquote_value(pool, value), &error) < 0) {
		*error_r = pool_printf(pool, "%s:%u: %s", path, lineno, error);
		return -1;
	}
	return 0;
}

int args_file_read(struct pool *pool, const char *path, size_t max_line,
		   args_file_set_func_t *set, void *context, const char **error_r)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		char *error = path_error("open", path, errno);
		*error_r = pool_strdup(pool, error);
		free(error);
		return -1;
	}
	string_t *logical = str_create_secure(256);
	char *line = NULL;
	size_t line_alloc = 0;
	ssize_t len;
	unsigned int lineno = 0, start_line = 0;
	int ret = 0;

	while ((len = getline(&line, &line_alloc, f)) >= 0) {
		lineno++;
		if ((size_t)len > max_line || str_len(logical) + (size_t)len > max_line) {
			*error_r = pool_printf(pool, "%s:%u: Line too long (max %zu bytes)",
					       path, lineno, max_line);
			ret = -1;
			break;
		}
		char *p = line;
		while (is_space(*p))
			p++;
		size_t n = strip_comment(p);
		while (n > 0 && is_space(p[n - 1]))
			n--;
		p[n] = '\0';
		bool continued = n > 0 && p[n - 1] == '\\';
		if (continued)
			p[--n] = '\0';
		if (str_len(logical) == 0) {
			if (n == 0 && !continued)
				continue;
			start_line = lineno;
		} else if (n > 0 && !is_space(str_c(logical)[str_len(logical) - 1])) {
			/* continuation lines are joined with a space */
			str_append_c(logical, ' ');
		}
		str_append_n(logical, p, n);
		if (continued)
			continue;
		size_t l = str_len(logical);
		while (l > 0 && is_space(str_c(logical)[l - 1]))
			l--;
		str_truncate(logical, l);
		if (apply_line(pool, path, start_line, str_c(logical), set, context,
			       error_r) < 0) {
			ret = -1;
			break;
		}
		str_truncate(logical, 0);
	}
	if (ret == 0 && ferror(f)) {
		char *error = path_error("read", path, errno);
		*error_r = pool_strdup(pool, error);
		free(error);
		ret = -1;
	}
	if (ret == 0 && str_len(logical) > 0 &&
	    apply_line(pool, path, start_line, str_c(logical), set, context, error_r) < 0)
		ret = -1;
	if (line != NULL)
		x_free_secret(line, line_alloc);
	str_free(&logical);
	fclose(f);
	return ret;
}
