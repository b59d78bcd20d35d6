/* Dovecot 2.3 configuration syntax: text -> tree of nodes with file:line. */
#include "lib.h"
#include "config-parser.h"
#include "array.h"
#include "path-error.h"
#include "pool.h"
#include "str.h"

#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#define DEFAULT_MAX_LINE_LENGTH (64 * 1024)
#define DEFAULT_MAX_FILE_SIZE (4 * 1024 * 1024)
#define DEFAULT_MAX_TOTAL_SIZE (32 * 1024 * 1024)
#define DEFAULT_MAX_VALUE_LENGTH (1024 * 1024)
#define DEFAULT_MAX_SECTION_DEPTH 16
#define DEFAULT_MAX_INCLUDE_DEPTH 16
#define DEFAULT_MAX_FILES 1000
#define DEFAULT_MAX_NODES 200000

#define IS_WHITE(c) ((c) == ' ' || (c) == '\t')

/* One file being parsed; linked to the file that included it, which is
   how include loops are found. */
struct parse_file {
	const char *path;
	const char *dir;        /* for relative !include and <file */
	dev_t dev;
	ino_t ino;
	bool have_id;           /* false for config_parse_string() text */
	unsigned int depth;     /* 0 = the top file */
	struct parse_file *parent;
};

struct parser {
	struct pool *pool;
	struct config_parse_limits limits;
	config_lookup_default_func_t *lookup_default;
	void *context;
	struct config_node *root;
	ARRAY(char *) warnings;
	size_t total_size;
	unsigned int file_count;
	unsigned int node_count;
	const char *error;
};

static int parse_data(struct parser *p, struct parse_file *file,
		      char *data, size_t size, struct config_node *section);

static void ATTR_FORMAT(4, 5)
parser_error(struct parser *p, const char *path, unsigned int line,
	     const char *fmt, ...)
{
	va_list args;
	char *msg;

	if (p->error != NULL)
		return; /* keep the first error */
	va_start(args, fmt);
	msg = x_vprintf(fmt, args);
	va_end(args);
	if (line > 0)
		p->error = pool_printf(p->pool, "%s:%u: %s", path, line, msg);
	else
		p->error = pool_printf(p->pool, "%s: %s", path, msg);
	free(msg);
}

static void ATTR_FORMAT(4, 5)
parser_warning(struct parser *p, const char *path, unsigned int line,
	       const char *fmt, ...)
{
	va_list args;
	char *msg;

	va_start(args, fmt);
	msg = x_vprintf(fmt, args);
	va_end(args);
	array_push(&p->warnings, x_printf("%s:%u: %s", path, line, msg));
	free(msg);
}

static const char *path_dirname(struct pool *pool, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return ".";
	if (slash == path)
		return "/";
	return pool_strndup(pool, path, (size_t)(slash - path));
}

static const char *path_resolve(struct pool *pool, const char *dir,
				const char *path)
{
	if (path[0] == '/' || strcmp(dir, ".") == 0)
		return pool_strdup(pool, path);
	return pool_strconcat(pool, dir, "/", path, NULL);
}

/* Read a whole regular file, at most max bytes. On failure returns -1 with
   *errno_r (0 if not a system error) and a malloc()ed *error_r. */
static int read_file_bounded(const char *path, size_t max, char **data_r,
			     size_t *size_r, struct stat *st_r, int *errno_r,
			     char **error_r)
{
	char *data;
	size_t size = 0, alloc;
	ssize_t ret;
	int fd;

	*errno_r = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		*errno_r = errno;
		*error_r = path_error("open", path, errno);
		return -1;
	}
	if (fstat(fd, st_r) < 0) {
		*errno_r = errno;
		*error_r = path_error("fstat", path, errno);
		close(fd);
		return -1;
	}
	if (S_ISDIR(st_r->st_mode)) {
		*errno_r = EISDIR;
		*error_r = x_printf("%s is a directory, not a file", path);
		close(fd);
		return -1;
	}
	alloc = 4096;
	data = x_malloc(alloc + 1);
	for (;;) {
		if (size == alloc) {
			if (alloc > max) {
				*error_r = x_printf("%s: File is too large "
						    "(more than %zu bytes)",
						    path, max);
				free(data);
				close(fd);
				return -1;
			}
			data = x_realloc(data, alloc + 1, alloc * 2 + 1);
			alloc *= 2;
		}
		ret = read(fd, data + size, alloc - size);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			*errno_r = errno;
			*error_r = path_error("read", path, errno);
			free(data);
			close(fd);
			return -1;
		}
		if (ret == 0)
			break;
		size += (size_t)ret;
	}
	close(fd);
	if (size > max) {
		*error_r = x_printf("%s: File is too large (more than %zu bytes)",
				    path, max);
		free(data);
		return -1;
	}
	data[size] = '\0';
	*data_r = data;
	*size_r = size;
	return 0;
}

static struct config_node *
node_add(struct parser *p, struct config_node *section,
	 enum config_node_type type, const char *key, const char *value,
	 const struct parse_file *file, unsigned int line)
{
	struct config_node *node;

	if (++p->node_count > p->limits.max_nodes) {
		parser_error(p, file->path, line,
			     "Too many settings and sections (max %u)",
			     p->limits.max_nodes);
		return NULL;
	}
	node = pool_alloc(p->pool, sizeof(*node));
	node->type = type;
	node->key = pool_strdup(p->pool, key);
	node->value = pool_strdup(p->pool, value);
	node->file = file->path;
	node->line = line;
	node->parent = section;
	if (section->children_tail == NULL)
		section->children = node;
	else
		section->children_tail->next = node;
	section->children_tail = node;
	return node;
}

static unsigned int section_depth(const struct config_node *section)
{
	unsigned int depth = 0;

	for (; section->parent != NULL; section = section->parent)
		depth++;
	return depth;
}

/* Value of $name: set earlier in this section or an enclosing one, else
   the caller's default. */
static const char *
variable_lookup(struct parser *p, struct config_node *section,
		const char *name)
{
	const struct config_node *sec, *node;

	for (sec = section; sec != NULL; sec = sec->parent) {
		node = config_node_find_key(sec, name);
		if (node != NULL)
			return node->value;
	}
	if (p->lookup_default != NULL)
		return p->lookup_default(section, name, p->context);
	return NULL;
}

/* Dovecot: in unquoted values every whitespace-separated word that starts
   with '$' is a variable. */
static int expand_variables(struct parser *p, const struct parse_file *file,
			    unsigned int line, struct config_node *section,
			    const char *value, string_t *dest)
{
	const char *s = value, *end, *replacement;
	char *name;

	while (*s != '\0') {
		if (*s != '$' || (s != value && !IS_WHITE(s[-1])) ||
		    s[1] == '\0' || IS_WHITE(s[1])) {
			str_append_c(dest, *s++);
			continue;
		}
		end = s + 1;
		while (*end != '\0' && !IS_WHITE(*end))
			end++;
		name = x_strndup(s + 1, (size_t)(end - (s + 1)));
		if (strncmp(name, "ENV:", 4) == 0) {
			replacement = getenv(name + 4);
			if (replacement == NULL)
				replacement = "";
		} else {
			replacement = variable_lookup(p, section, name);
		}
		if (replacement == NULL) {
			parser_error(p, file->path, line,
				     "Unknown variable: $%s", name);
			free(name);
			return -1;
		}
		free(name);
		str_append(dest, replacement);
		if (str_len(dest) > p->limits.max_value_length)
			break;
		s = end;
	}
	if (str_len(dest) > p->limits.max_value_length || str_overflowed(dest)) {
		parser_error(p, file->path, line,
			     "Value is too long after $variable expansion "
			     "(max %zu bytes)", p->limits.max_value_length);
		return -1;
	}
	return 0;
}

/* Parse a quoted string starting at *s (a quote). Returns the unescaped
   content (pool) and moves *s past the closing quote, or NULL if it has no
   closing quote. */
static char *parse_quoted(struct parser *p, const char **s)
{
	const char *src = *s;
	char quote = *src++;
	char *dest = pool_alloc(p->pool, strlen(src) + 1), *d = dest;

	for (; *src != '\0' && *src != quote; src++) {
		if (*src == '\\' && src[1] != '\0')
			src++;
		*d++ = *src;
	}
	if (*src != quote)
		return NULL;
	*s = src + 1;
	return dest;
}

static int read_value_file(struct parser *p, const struct parse_file *file,
			   unsigned int line, const char *key,
			   const char *path, const char **value_r)
{
	const char *full;
	char *data, *error;
	size_t size;
	struct stat st;
	int err;

	if (*path == '\0') {
		parser_error(p, file->path, line,
			     "%s: Missing file name after '<'", key);
		return -1;
	}
	full = path_resolve(p->pool, file->dir, path);
	if (read_file_bounded(full, p->limits.max_file_size, &data, &size,
			      &st, &err, &error) < 0) {
		parser_error(p, file->path, line, "%s: Can't read file %s: %s",
			     key, full, error);
		free(error);
		return -1;
	}
	if (memchr(data, '\0', size) != NULL) {
		parser_error(p, file->path, line,
			     "%s: File %s contains a NUL byte", key, full);
		free(data);
		return -1;
	}
	while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
		size--;
	*value_r = pool_strndup(p->pool, data, size);
	free(data);
	return 0;
}

static int parse_key_value(struct parser *p, const struct parse_file *file,
			   unsigned int line, struct config_node *section,
			   const char *key, const char *value)
{
	const char *final, *rest;
	string_t *str;

	if (*value == '<') {
		value++;
		while (IS_WHITE(*value))
			value++;
		if (read_value_file(p, file, line, key, value, &final) < 0)
			return -1;
	} else if (*value == '"' || *value == '\'') {
		rest = value;
		final = parse_quoted(p, &rest);
		if (final == NULL) {
			parser_error(p, file->path, line,
				     "Missing closing quote (%c) in value of %s",
				     *value, key);
			return -1;
		}
		while (IS_WHITE(*rest))
			rest++;
		if (*rest != '\0') {
			parser_error(p, file->path, line,
				     "Unexpected text after the quoted value "
				     "of %s: %s", key, rest);
			return -1;
		}
	} else {
		str = str_create_max(strlen(value) + 16,
				     p->limits.max_value_length + 1);
		if (expand_variables(p, file, line, section, value, str) < 0) {
			str_free(&str);
			return -1;
		}
		final = pool_strdup(p->pool, str_c(str));
		str_free(&str);
	}
	return node_add(p, section, CONFIG_NODE_KEY, key, final, file, line)
		== NULL ? -1 : 0;
}

static bool path_has_glob(const char *path)
{
	return strpbrk(path, "*?[{") != NULL;
}

static int include_file(struct parser *p, struct parse_file *parent,
			unsigned int line, struct config_node *section,
			const char *path, bool try)
{
	struct parse_file file, *f;
	struct stat st;
	char *data, *error;
	size_t size;
	int err, ret;

	if (parent->depth + 1 > p->limits.max_include_depth) {
		parser_error(p, parent->path, line,
			     "Includes nested too deeply (max %u): %s",
			     p->limits.max_include_depth, path);
		return -1;
	}
	if (++p->file_count > p->limits.max_files) {
		parser_error(p, parent->path, line,
			     "Too many included files (max %u)",
			     p->limits.max_files);
		return -1;
	}
	if (read_file_bounded(path, p->limits.max_file_size, &data, &size,
			      &st, &err, &error) < 0) {
		if (try && err == ENOENT) {
			free(error);
			return 0;
		}
		parser_error(p, parent->path, line, "%s%s: %s",
			     try ? "!include_try " : "!include ", path, error);
		free(error);
		return -1;
	}
	for (f = parent; f != NULL; f = f->parent) {
		if ((f->have_id && f->dev == st.st_dev && f->ino == st.st_ino) ||
		    strcmp(f->path, path) == 0) {
			parser_error(p, parent->path, line,
				     "Recursive include file: %s", path);
			free(data);
			return -1;
		}
	}
	p->total_size += size;
	if (p->total_size > p->limits.max_total_size) {
		parser_error(p, parent->path, line,
			     "Configuration is too large (more than %zu bytes "
			     "in all files)", p->limits.max_total_size);
		free(data);
		return -1;
	}
	memset(&file, 0, sizeof(file));
	file.path = pool_strdup(p->pool, path);
	file.dir = path_dirname(p->pool, file.path);
	file.dev = st.st_dev;
	file.ino = st.st_ino;
	file.have_id = true;
	file.depth = parent->depth + 1;
	file.parent = parent;
	ret = parse_data(p, &file, data, size, section);
	free(data);
	return ret;
}

static int parse_include(struct parser *p, struct parse_file *file,
			 unsigned int line, struct config_node *section,
			 const char *arg, bool try)
{
	const char *directive = try ? "!include_try" : "!include";
	const char *path, *rest;
	glob_t globbuf;
	int ret;

	if (*arg == '"' || *arg == '\'') {
		rest = arg;
		path = parse_quoted(p, &rest);
		if (path == NULL || *rest != '\0') {
			parser_error(p, file->path, line,
				     "%s: Invalid quoting in path: %s",
				     directive, arg);
			return -1;
		}
	} else {
		path = arg;
	}
	if (*path == '\0') {
		parser_error(p, file->path, line, "%s: Missing path", directive);
		return -1;
	}
	path = path_resolve(p->pool, file->dir, path);
	if (!path_has_glob(path))
		return include_file(p, file, line, section, path, try);

	memset(&globbuf, 0, sizeof(globbuf));
	ret = glob(path, GLOB_BRACE | GLOB_ERR, NULL, &globbuf);
	switch (ret) {
	case 0:
		break;
	case GLOB_NOMATCH:
		globfree(&globbuf);
		if (try)
			return 0;
		parser_error(p, file->path, line, "%s %s: No files match",
			     directive, path);
		return -1;
	case GLOB_NOSPACE:
		globfree(&globbuf);
		parser_error(p, file->path, line, "%s %s: glob() ran out of memory",
			     directive, path);
		return -1;
	default:
		globfree(&globbuf);
		parser_error(p, file->path, line, "%s %s: glob() failed: %s",
			     directive, path, strerror(errno));
		return -1;
	}
	ret = 0;
	/* glob() returns the names sorted, so conf.d/10-x before 20-y */
	for (size_t i = 0; i < globbuf.gl_pathc && ret == 0; i++) {
		ret = include_file(p, file, line, section,
				   globbuf.gl_pathv[i], try);
	}
	globfree(&globbuf);
	return ret;
}

/* "type [name] {" */
static int parse_section_start(struct parser *p, const struct parse_file *file,
			       unsigned int line, struct config_node **section,
			       const char *type, const char *rest)
{
	const char *name = "", *start;
	struct config_node *node;

	if (*rest == '"' || *rest == '\'') {
		start = rest;
		name = parse_quoted(p, &rest);
		if (name == NULL) {
			parser_error(p, file->path, line,
				     "Missing closing quote (%c) in section "
				     "name of %s", *start, type);
			return -1;
		}
	} else if (*rest != '{') {
		start = rest;
		while (*rest != '\0' && !IS_WHITE(*rest) && *rest != '{')
			rest++;
		name = pool_strndup(p->pool, start, (size_t)(rest - start));
	}
	while (IS_WHITE(*rest))
		rest++;
	if (*rest != '{') {
		if (*rest == '\0' && *name == '\0') {
			parser_error(p, file->path, line,
				     "Missing '=' after setting name: %s", type);
		} else if (*rest == '=') {
			parser_error(p, file->path, line,
				     "Setting name must not contain spaces: "
				     "%s %s", type, name);
		} else if (*rest == '\0') {
			parser_error(p, file->path, line,
				     "Expecting '=' (setting) or '{' (section) "
				     "after: %s %s", type, name);
		} else {
			parser_error(p, file->path, line,
				     "Expecting '{' after section %s %s, "
				     "got: %s", type, name, rest);
		}
		return -1;
	}
	rest++;
	while (IS_WHITE(*rest))
		rest++;
	if (*rest != '\0') {
		parser_error(p, file->path, line,
			     "Garbage after '{': %s (settings go on lines of "
			     "their own)", rest);
		return -1;
	}
	if (section_depth(*section) + 1 > p->limits.max_section_depth) {
		parser_error(p, file->path, line,
			     "Sections nested too deeply (max %u)",
			     p->limits.max_section_depth);
		return -1;
	}
	node = node_add(p, *section, CONFIG_NODE_SECTION, type, name, file, line);
	if (node == NULL)
		return -1;
	*section = node;
	return 0;
}

static int parse_line(struct parser *p, struct parse_file *file,
		      unsigned int line, struct config_node *base,
		      struct config_node **section, char *text)
{
	char *key = text, *s = text;

	while (*s != '\0' && !IS_WHITE(*s) && *s != '=' && *s != '{')
		s++;
	if (*s == '{') {
		if (s == key) {
			parser_error(p, file->path, line,
				     "Missing section type before '{'");
			return -1;
		}
		/* "passdb{": no space before the brace */
		size_t len = (size_t)(s - key);
		key = pool_strndup(p->pool, key, len);
	} else if (IS_WHITE(*s)) {
		*s++ = '\0';
		while (IS_WHITE(*s))
			s++;
	}
	if (*s == '=') {
		*s++ = '\0';
		while (IS_WHITE(*s))
			s++;
		if (*key == '\0') {
			parser_error(p, file->path, line,
				     "Missing setting name ('=' at the "
				     "beginning of line)");
			return -1;
		}
		if (*key == '!' || *key == '}') {
			parser_error(p, file->path, line,
				     "Invalid setting name: %s", key);
			return -1;
		}
		return parse_key_value(p, file, line, *section, key, s);
	}
	if (strcmp(key, "!include") == 0)
		return parse_include(p, file, line, *section, s, false);
	if (strcmp(key, "!include_try") == 0)
		return parse_include(p, file, line, *section, s, true);
	if (*key == '!') {
		parser_error(p, file->path, line, "Unknown directive: %s", key);
		return -1;
	}
	if (strcmp(key, "}") == 0) {
		if (*s != '\0') {
			parser_error(p, file->path, line,
				     "Garbage after '}': %s", s);
			return -1;
		}
		if (*section == base) {
			parser_error(p, file->path, line,
				     "Unexpected '}' (no section is open%s)",
				     base == p->root ? "" : " in this file");
			return -1;
		}
		*section = (*section)->parent;
		return 0;
	}
	if (key[0] == '}') {
		parser_error(p, file->path, line, "Unexpected '}': %s", key);
		return -1;
	}
	return parse_section_start(p, file, line, section, key, s);
}

/* Dovecot: outside quotes '#' starts a comment anywhere on the line. */
static void strip_comment(struct parser *p, const struct parse_file *file,
			  unsigned int line, char *text)
{
	char *s;

	for (s = text; *s != '\0'; s++) {
		if (*s == '"' || *s == '\'') {
			char quote = *s;
			for (s++; *s != '\0' && *s != quote; s++) {
				if (*s == '\\' && s[1] != '\0')
					s++;
			}
			if (*s == '\0')
				return;
		} else if (*s == '#') {
			if (s != text && !IS_WHITE(s[-1])) {
				parser_warning(p, file->path, line,
					"Ambiguous '#' character in line, "
					"treating it as comment. Add a space "
					"before it to remove this warning.");
			}
			*s = '\0';
			return;
		}
	}
}

static int parse_data(struct parser *p, struct parse_file *file,
		      char *data, size_t size, struct config_node *base)
{
	struct config_node *section = base;
	string_t *cont;
	unsigned int line = 0, cont_line = 0;
	size_t pos = 0, len;
	char *text, *nl;
	int ret = 0;

	cont = str_create_max(128, p->limits.max_line_length);
	while (pos < size && ret == 0) {
		line++;
		text = data + pos;
		nl = memchr(text, '\n', size - pos);
		len = nl != NULL ? (size_t)(nl - text) : size - pos;
		pos += len + (nl != NULL ? 1 : 0);

		if (len > p->limits.max_line_length) {
			parser_error(p, file->path, line,
				     "Line is too long (%zu bytes, max %zu)",
				     len, p->limits.max_line_length);
			ret = -1;
			break;
		}
		if (memchr(text, '\0', len) != NULL) {
			parser_error(p, file->path, line,
				     "Line contains a NUL byte");
			ret = -1;
			break;
		}
		if (len > 0 && text[len - 1] == '\r')
			len--;
		text[len] = '\0';

		while (IS_WHITE(*text))
			text++;
		if (*text == '\0' || *text == '#')
			continue;
		strip_comment(p, file, line, text);
		len = strlen(text);
		while (len > 0 && IS_WHITE(text[len - 1]))
			len--;
		text[len] = '\0';

		if (len > 0 && text[len - 1] == '\\') {
			/* continues on the next line */
			len--;
			while (len > 0 && IS_WHITE(text[len - 1]))
				len--;
			if (cont_line == 0)
				cont_line = line;
			if (len > 0) {
				str_append_n(cont, text, len);
				str_append_c(cont, ' ');
			}
			if (str_overflowed(cont)) {
				parser_error(p, file->path, cont_line,
					     "Continued line is too long "
					     "(max %zu bytes)",
					     p->limits.max_line_length);
				ret = -1;
			}
			continue;
		}
		if (cont_line != 0) {
			str_append(cont, text);
			if (str_overflowed(cont)) {
				parser_error(p, file->path, cont_line,
					     "Continued line is too long "
					     "(max %zu bytes)",
					     p->limits.max_line_length);
				ret = -1;
				break;
			}
			text = pool_strdup(p->pool, str_c(cont));
			ret = parse_line(p, file, cont_line, base, &section,
					 text);
			str_truncate(cont, 0);
			cont_line = 0;
		} else {
			ret = parse_line(p, file, line, base, &section, text);
		}
	}
	str_free(&cont);
	if (ret < 0)
		return -1;
	if (cont_line != 0) {
		parser_error(p, file->path, cont_line,
			     "File ends after a line continuation ('\\' at "
			     "the end of the last line)");
		return -1;
	}
	if (section != base) {
		if (*section->value != '\0') {
			parser_error(p, file->path, section->line,
				     "Section %s %s is not closed: missing '}' "
				     "before the end of the file",
				     section->key, section->value);
		} else {
			parser_error(p, file->path, section->line,
				     "Section %s is not closed: missing '}' "
				     "before the end of the file", section->key);
		}
		return -1;
	}
	return 0;
}

static void parser_init(struct parser *p, const struct config_parse_settings *set,
			struct pool *pool)
{
	memset(p, 0, sizeof(*p));
	p->pool = pool;
	if (set != NULL) {
		p->limits = set->limits;
		p->lookup_default = set->lookup_default;
		p->context = set->context;
	}
#define LIMIT_DEFAULT(field, value) \
	if (p->limits.field == 0) p->limits.field = (value)
	LIMIT_DEFAULT(max_line_length, DEFAULT_MAX_LINE_LENGTH);
	LIMIT_DEFAULT(max_file_size, DEFAULT_MAX_FILE_SIZE);
	LIMIT_DEFAULT(max_total_size, DEFAULT_MAX_TOTAL_SIZE);
	LIMIT_DEFAULT(max_value_length, DEFAULT_MAX_VALUE_LENGTH);
	LIMIT_DEFAULT(max_section_depth, DEFAULT_MAX_SECTION_DEPTH);
	LIMIT_DEFAULT(max_include_depth, DEFAULT_MAX_INCLUDE_DEPTH);
	LIMIT_DEFAULT(max_files, DEFAULT_MAX_FILES);
	LIMIT_DEFAULT(max_nodes, DEFAULT_MAX_NODES);
#undef LIMIT_DEFAULT
	p->root = pool_alloc(pool, sizeof(*p->root));
	p->root->type = CONFIG_NODE_SECTION;
	p->root->key = "";
	p->root->value = "";
	p->root->file = "";
}

static int parser_finish(struct parser *p, int ret, struct config_tree **tree_r,
			 const char **error_r)
{
	struct config_tree *tree;
	const char **warnings;

	if (ret == 0) {
		tree = pool_alloc(p->pool, sizeof(*tree));
		tree->root = p->root;
		warnings = pool_alloc(p->pool, (p->warnings.count + 1) *
				      sizeof(*warnings));
		for (size_t i = 0; i < p->warnings.count; i++)
			warnings[i] = pool_strdup(p->pool, p->warnings.v[i]);
		tree->warnings = warnings;
		tree->warning_count = (unsigned int)p->warnings.count;
		*tree_r = tree;
	} else {
		i_assert(p->error != NULL);
		*error_r = p->error;
		*tree_r = NULL;
	}
	for (size_t i = 0; i < p->warnings.count; i++)
		free(p->warnings.v[i]);
	array_free(&p->warnings);
	return ret;
}

int config_parse_file(const char *path, const struct config_parse_settings *set,
		      struct pool *pool, struct config_tree **tree_r,
		      const char **error_r)
{
	struct parser p;
	struct parse_file file;
	struct stat st;
	char *data, *error;
	size_t size;
	int err, ret;

	parser_init(&p, set, pool);
	p.file_count = 1;
	if (read_file_bounded(path, p.limits.max_file_size, &data, &size,
			      &st, &err, &error) < 0) {
		p.error = pool_strdup(pool, error);
		free(error);
		return parser_finish(&p, -1, tree_r, error_r);
	}
	p.total_size = size;
	memset(&file, 0, sizeof(file));
	file.path = pool_strdup(pool, path);
	file.dir = path_dirname(pool, file.path);
	file.dev = st.st_dev;
	file.ino = st.st_ino;
	file.have_id = true;
	ret = parse_data(&p, &file, data, size, p.root);
	free(data);
	return parser_finish(&p, ret, tree_r, error_r);
}

int config_parse_string(const char *text, const char *name,
			const struct config_parse_settings *set,
			struct pool *pool, struct config_tree **tree_r,
			const char **error_r)
{
	struct parser p;
	struct parse_file file;
	size_t size = strlen(text);
	char *data;
	int ret;

	parser_init(&p, set, pool);
	p.file_count = 1;
	if (size > p.limits.max_file_size) {
		p.error = pool_printf(pool, "%s: File is too large (more than "
				      "%zu bytes)", name, p.limits.max_file_size);
		return parser_finish(&p, -1, tree_r, error_r);
	}
	p.total_size = size;
	memset(&file, 0, sizeof(file));
	file.path = pool_strdup(pool, name);
	file.dir = path_dirname(pool, file.path);
	data = x_strndup(text, size);
	ret = parse_data(&p, &file, data, size, p.root);
	free(data);
	return parser_finish(&p, ret, tree_r, error_r);
}

const struct config_node *
config_node_find_key(const struct config_node *section, const char *key)
{
	const struct config_node *node, *found = NULL;

	for (node = section->children; node != NULL; node = node->next) {
		if (node->type == CONFIG_NODE_KEY && strcmp(node->key, key) == 0)
			found = node;
	}
	return found;
}

const char *config_node_where(const struct config_node *node, struct pool *pool)
{
	return pool_printf(pool, "%s:%u", node->file, node->line);
}
