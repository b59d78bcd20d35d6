/* Dovecot 2.3 %variable expansion. */
#include "lib.h"
#include "var-expand.h"
#include "str.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <openssl/evp.h>

#define MAX_MODIFIERS 10
/* A long key is bounded so that a garbage format can't make us copy much. */
#define MAX_LONG_KEY_LEN 1024

struct expand_context {
	int offset;
	int width;
	bool zero_padding;
};

typedef void modifier_func_t(string_t *out, const char *value,
			     struct expand_context *ctx);

static void m_lcase(string_t *out, const char *value,
		    struct expand_context *ctx ATTR_UNUSED)
{
	for (; *value != '\0'; value++)
		str_append_c(out, (char)tolower((unsigned char)*value));
}

static void m_ucase(string_t *out, const char *value,
		    struct expand_context *ctx ATTR_UNUSED)
{
	for (; *value != '\0'; value++)
		str_append_c(out, (char)toupper((unsigned char)*value));
}

static void m_escape(string_t *out, const char *value,
		     struct expand_context *ctx ATTR_UNUSED)
{
	for (; *value != '\0'; value++) {
		if (*value == '"' || *value == '\'' || *value == '\\')
			str_append_c(out, '\\');
		str_append_c(out, *value);
	}
}

static void m_hex(string_t *out, const char *value,
		  struct expand_context *ctx ATTR_UNUSED)
{
	uint64_t num;

	/* Dovecot: not a number -> 0 */
	if (str_to_uint64(value, &num) < 0)
		num = 0;
	str_printfa(out, "%llx", (unsigned long long)num);
}

static void m_reverse(string_t *out, const char *value,
		      struct expand_context *ctx ATTR_UNUSED)
{
	size_t len = strlen(value);

	while (len > 0)
		str_append_c(out, value[--len]);
}

static void md5_digest(const char *value, unsigned char digest[16])
{
	unsigned int len = 16;

	if (EVP_Digest(value, strlen(value), digest, &len, EVP_md5(), NULL) != 1)
		lib_panic(__FILE__, __LINE__, "EVP_Digest(md5) failed");
}

static void append_hash(string_t *out, uint64_t value,
			struct expand_context *ctx)
{
	char buf[32];
	int len;

	if (ctx->width > 0) {
		value %= (uint64_t)ctx->width;
		ctx->width = 0;
	}
	len = snprintf(buf, sizeof(buf), "%x", (unsigned int)value);
	/* the offset is the minimum length, padded with zeros */
	for (; ctx->offset > len; ctx->offset--)
		str_append_c(out, '0');
	ctx->offset = 0;
	str_append(out, buf);
}

/* Dovecot's old string hash (PJW/ELF style) */
static void m_hash(string_t *out, const char *value, struct expand_context *ctx)
{
	const unsigned char *s = (const unsigned char *)value;
	unsigned int h = 0, g;

	for (; *s != '\0'; s++) {
		h = (h << 4) + *s;
		if ((g = h & 0xf0000000U) != 0) {
			h = h ^ (g >> 24);
			h = h ^ g;
		}
	}
	append_hash(out, h, ctx);
}

static void m_newhash(string_t *out, const char *value,
		      struct expand_context *ctx)
{
	unsigned char digest[16];
	uint64_t num = 0;

	md5_digest(value, digest);
	for (unsigned int i = 0; i < sizeof(num); i++)
		num = (num << 8) | digest[i];
	append_hash(out, num, ctx);
}

static void m_md5(string_t *out, const char *value,
		  struct expand_context *ctx ATTR_UNUSED)
{
	unsigned char digest[16];

	md5_digest(value, digest);
	for (unsigned int i = 0; i < sizeof(digest); i++)
		str_printfa(out, "%02x", digest[i]);
}

static void m_ldap_dn(string_t *out, const char *value,
		      struct expand_context *ctx ATTR_UNUSED)
{
	for (; *value != '\0'; value++) {
		if (*value == '.')
			str_append(out, ",dc=");
		else
			str_append_c(out, *value);
	}
}

static void m_trim(string_t *out, const char *value,
		   struct expand_context *ctx ATTR_UNUSED)
{
	size_t len = strlen(value);

	while (len > 0 && isspace((unsigned char)value[len - 1]))
		len--;
	str_append_n(out, value, len);
}

static const struct {
	char key;
	modifier_func_t *func;
} modifiers[] = {
	{ 'L', m_lcase },
	{ 'U', m_ucase },
	{ 'E', m_escape },
	{ 'X', m_hex },
	{ 'R', m_reverse },
	{ 'H', m_hash },
	{ 'N', m_newhash },
	{ 'M', m_md5 },
	{ 'D', m_ldap_dn },
	{ 'T', m_trim },
};

static modifier_func_t *modifier_find(char c)
{
	for (size_t i = 0; i < N_ELEMENTS(modifiers); i++) {
		if (modifiers[i].key == c)
			return modifiers[i].func;
	}
	return NULL;
}

/* The parts of one %-expression. */
struct var_expr {
	struct expand_context ctx;
	modifier_func_t *mods[MAX_MODIFIERS];
	unsigned int mod_count;
	bool is_long;
	char key;
	const char *long_key;   /* not NUL-terminated */
	size_t long_key_len;
};

/* Parse the expression after a '%'. Returns the position after it, or
   NULL with error (a static string) if it is malformed. */
static const char *parse_expr(const char *s, struct var_expr *expr,
			      const char **error_r)
{
	int sign = 1, num;

	memset(expr, 0, sizeof(*expr));
	/* [<offset>.]<width>[<modifiers>]<variable> */
	if (*s == '-') {
		sign = -1;
		s++;
	}
	if (*s == '0') {
		expr->ctx.zero_padding = true;
		s++;
	}
	for (num = 0; *s >= '0' && *s <= '9'; s++) {
		if (num < 100000)
			num = num * 10 + (*s - '0');
	}
	expr->ctx.width = num;
	if (*s == '.') {
		expr->ctx.offset = sign * expr->ctx.width;
		sign = 1;
		s++;
		/* a zero before the offset means nothing; zero padding is
		   given with the width */
		expr->ctx.zero_padding = false;
		if (*s == '0') {
			expr->ctx.zero_padding = true;
			s++;
		}
		if (*s == '-') {
			sign = -1;
			s++;
		}
		for (num = 0; *s >= '0' && *s <= '9'; s++) {
			if (num < 100000)
				num = num * 10 + (*s - '0');
		}
		expr->ctx.width = sign * num;
	}
	while (expr->mod_count < MAX_MODIFIERS) {
		modifier_func_t *func = modifier_find(*s);
		if (func == NULL)
			break;
		expr->mods[expr->mod_count++] = func;
		s++;
	}
	if (*s == '\0') {
		*error_r = "Missing variable name after '%' at the end";
		return NULL;
	}
	if (*s != '{') {
		expr->key = *s;
		return s + 1;
	}
	/* %{long_key}, braces may nest */
	const char *start = ++s;
	unsigned int depth = 1;
	for (; *s != '\0'; s++) {
		if (*s == '{')
			depth++;
		else if (*s == '}' && --depth == 0)
			break;
	}
	if (*s == '\0') {
		*error_r = "Missing '}' after %{";
		return NULL;
	}
	expr->is_long = true;
	expr->long_key = start;
	expr->long_key_len = (size_t)(s - start);
	return s + 1;
}

static bool table_lookup_long(const struct var_expand_table *table,
			      const char *key, const char **value_r)
{
	if (table == NULL)
		return false;
	for (; table->key != '\0' || table->long_key != NULL; table++) {
		if (table->long_key != NULL && strcmp(table->long_key, key) == 0) {
			*value_r = table->value != NULL ? table->value : "";
			return true;
		}
	}
	return false;
}

static bool table_lookup_short(const struct var_expand_table *table, char key,
			       const char **value_r)
{
	if (table == NULL)
		return false;
	for (; table->key != '\0' || table->long_key != NULL; table++) {
		if (table->key == key) {
			*value_r = table->value != NULL ? table->value : "";
			return true;
		}
	}
	return false;
}

/* Built-in long keys. Returns a malloc()ed value or NULL. */
static char *builtin_lookup(const char *key)
{
	char host[256];
	const char *value;

	if (strncmp(key, "env:", 4) == 0) {
		value = getenv(key + 4);
		return x_strdup(value != NULL ? value : "");
	}
	if (strcmp(key, "pid") == 0)
		return x_printf("%ld", (long)getpid());
	if (strcmp(key, "uid") == 0)
		return x_printf("%ld", (long)geteuid());
	if (strcmp(key, "gid") == 0)
		return x_printf("%ld", (long)getegid());
	if (strcmp(key, "hostname") == 0) {
		value = getenv("ROOST_HOSTNAME");
		if (value != NULL)
			return x_strdup(value);
		if (gethostname(host, sizeof(host) - 1) < 0)
			return x_strdup("");
		host[sizeof(host) - 1] = '\0';
		return x_strndup(host, strcspn(host, "."));
	}
	return NULL;
}

struct expand_state {
	const struct var_expand_table *table;
	const struct var_expand_func_table *funcs;
	void *context;
	bool check_only;
	char *error;            /* first error */
};

static void ATTR_FORMAT(2, 3)
state_error(struct expand_state *state, const char *fmt, ...)
{
	va_list args;

	if (state->error != NULL)
		return;
	va_start(args, fmt);
	state->error = x_vprintf(fmt, args);
	va_end(args);
}

/* Look up a long key; returns a malloc()ed value, or NULL (error set). */
static char *lookup_long(struct expand_state *state, const char *key)
{
	const struct var_expand_func_table *f;
	const char *value, *colon, *error = NULL;
	char *builtin;
	size_t prefix_len;
	int ret;

	if (table_lookup_long(state->table, key, &value))
		return x_strdup(value);
	builtin = builtin_lookup(key);
	if (builtin != NULL)
		return builtin;
	colon = strchr(key, ':');
	if (colon != NULL && state->funcs != NULL) {
		prefix_len = (size_t)(colon - key);
		for (f = state->funcs; f->key != NULL; f++) {
			if (strlen(f->key) != prefix_len ||
			    strncmp(f->key, key, prefix_len) != 0)
				continue;
			if (state->check_only)
				return x_strdup("");
			value = NULL;
			ret = f->func(colon + 1, state->context, &value, &error);
			if (ret > 0)
				return x_strdup(value != NULL ? value : "");
			if (ret < 0) {
				state_error(state, "%%{%s}: %s", key,
					    error != NULL ? error : "failed");
				return NULL;
			}
			break;
		}
	}
	if (strncmp(key, "if;", 3) == 0) {
		state_error(state, "Conditional %%{if;...} is not supported "
			    "by roost yet: %%{%s}", key);
	} else if (strchr(key, '|') != NULL) {
		state_error(state, "Filters %%{... | ...} are Dovecot 2.4 "
			    "syntax, not supported: %%{%s}", key);
	} else {
		state_error(state, "Unknown variable '%%{%s}'", key);
	}
	return NULL;
}

static void apply_expr(string_t *dest, struct var_expr *expr, const char *value)
{
	string_t *tmp[2];
	const char *var = value;
	size_t len;

	tmp[0] = str_create(64);
	tmp[1] = str_create(64);
	for (unsigned int i = 0; i < expr->mod_count; i++) {
		string_t *out = tmp[i % 2];
		str_truncate(out, 0);
		expr->mods[i](out, var, &expr->ctx);
		var = str_c(out);
	}

	len = strlen(var);
	if (expr->ctx.offset < 0) {
		/* from the end; if the offset is beyond the start, take
		   the whole string */
		if (len > (size_t)-expr->ctx.offset)
			var += len + expr->ctx.offset;
	} else {
		size_t skip = (size_t)expr->ctx.offset;
		var += skip < len ? skip : len;
	}
	len = strlen(var);
	if (expr->ctx.width == 0) {
		str_append_n(dest, var, len);
	} else if (!expr->ctx.zero_padding) {
		size_t width;
		if (expr->ctx.width < 0) {
			size_t cut = (size_t)-expr->ctx.width;
			width = cut < len ? len - cut : 0;
		} else {
			width = (size_t)expr->ctx.width;
		}
		str_append_n(dest, var, width < len ? width : len);
	} else {
		/* %05u-style padding, no truncation (a negative width pads
		   nothing, as in Dovecot) */
		for (int i = (int)(len < INT_MAX ? len : INT_MAX);
		     i < expr->ctx.width; i++)
			str_append_c(dest, '0');
		str_append_n(dest, var, len);
	}
	str_free(&tmp[0]);
	str_free(&tmp[1]);
}

static int expand(struct expand_state *state, string_t *dest, const char *fmt,
		  char **error_r)
{
	struct var_expr expr;
	const char *s = fmt, *next, *value, *error;
	char *key, *long_value;

	while (*s != '\0') {
		if (*s != '%') {
			next = strchr(s, '%');
			if (next == NULL)
				next = s + strlen(s);
			if (dest != NULL)
				str_append_n(dest, s, (size_t)(next - s));
			s = next;
			continue;
		}
		next = parse_expr(s + 1, &expr, &error);
		if (next == NULL) {
			state_error(state, "%s", error);
			/* nothing sensible follows */
			break;
		}
		s = next;
		long_value = NULL;
		if (expr.is_long) {
			if (expr.long_key_len > MAX_LONG_KEY_LEN) {
				state_error(state, "Variable name too long");
				continue;
			}
			key = x_strndup(expr.long_key, expr.long_key_len);
			long_value = lookup_long(state, key);
			free(key);
			if (long_value == NULL)
				continue;
			value = long_value;
		} else if (table_lookup_short(state->table, expr.key, &value)) {
			/* found */
		} else if (expr.key == '%') {
			value = "%";
		} else {
			state_error(state, "Unknown variable '%%%c'", expr.key);
			continue;
		}
		if (dest != NULL)
			apply_expr(dest, &expr, value);
		free(long_value);
	}
	*error_r = state->error;
	return state->error == NULL ? 0 : -1;
}

int var_expand_with_funcs(string_t *dest, const char *fmt,
			  const struct var_expand_table *table,
			  const struct var_expand_func_table *funcs,
			  void *context, char **error_r)
{
	struct expand_state state = {
		.table = table, .funcs = funcs, .context = context,
	};

	return expand(&state, dest, fmt, error_r);
}

int var_expand(string_t *dest, const char *fmt,
	       const struct var_expand_table *table, char **error_r)
{
	return var_expand_with_funcs(dest, fmt, table, NULL, NULL, error_r);
}

int var_expand_check(const char *fmt, const struct var_expand_table *table,
		     const struct var_expand_func_table *funcs, char **error_r)
{
	struct expand_state state = {
		.table = table, .funcs = funcs, .check_only = true,
	};

	return expand(&state, NULL, fmt, error_r);
}

bool var_has_key(const char *fmt, char key, const char *long_key)
{
	struct var_expr expr;
	const char *s = fmt, *error;

	while ((s = strchr(s, '%')) != NULL) {
		s = parse_expr(s + 1, &expr, &error);
		if (s == NULL)
			return false;
		if (expr.is_long) {
			if (long_key != NULL &&
			    strlen(long_key) == expr.long_key_len &&
			    strncmp(long_key, expr.long_key,
				    expr.long_key_len) == 0)
				return true;
		} else if (key != '\0' && expr.key == key) {
			return true;
		}
	}
	return false;
}

void var_expand_foreach_key(const char *fmt,
			    void (*func)(char key, const char *long_key,
					 size_t long_key_len, void *context),
			    void *context)
{
	struct var_expr expr;
	const char *s = fmt, *error;

	while ((s = strchr(s, '%')) != NULL) {
		s = parse_expr(s + 1, &expr, &error);
		if (s == NULL)
			return;
		if (expr.is_long)
			func('\0', expr.long_key, expr.long_key_len, context);
		else if (expr.key != '%')
			func(expr.key, NULL, 0, context);
	}
}
