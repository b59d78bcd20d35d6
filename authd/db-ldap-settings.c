/* ldap passdb/userdb backend: dovecot-ldap.conf.ext, attribute maps,
   LDAP escaping (see db-ldap.h). Needs no libldap, so the unit tests and a
   build without LDAP parse the same way. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "array.h"
#include "path-error.h"
#include "args-file.h"
#include "var-expand.h"
#include "auth.h"
#include "auth-settings.h"
#include "auth-request.h"
#include "auth-cache.h"
#include "db-ldap.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#define LDAP_SETTINGS_MAX_LINE (64 * 1024)

/* libldap's values (RFC 4511 4.5.1 enumerations; <ldap.h> for TLS) */
enum { DEREF_NEVER = 0, DEREF_SEARCHING = 1, DEREF_FINDING = 2, DEREF_ALWAYS = 3 };
enum { SCOPE_BASE = 0, SCOPE_ONELEVEL = 1, SCOPE_SUBTREE = 2 };
enum { TLS_NEVER = 0, TLS_HARD = 1, TLS_DEMAND = 2, TLS_ALLOW = 3, TLS_TRY = 4 };
/* ---- settings file ----------------------------------------------------- */

enum setting_type { SET_STR, SET_BOOL, SET_UINT };

struct setting_def {
	const char *name;
	enum setting_type type;
	size_t offset;
};

#define DEF(type, name) { #name, type, offsetof(struct db_ldap_settings, name) }
static const struct setting_def ldap_setting_defs[] = {
	DEF(SET_STR, hosts), DEF(SET_STR, uris), DEF(SET_STR, dn),
	DEF(SET_STR, dnpass), DEF(SET_BOOL, auth_bind), DEF(SET_STR, auth_bind_userdn),
	DEF(SET_BOOL, tls), DEF(SET_BOOL, sasl_bind), DEF(SET_STR, sasl_mech),
	DEF(SET_STR, sasl_realm), DEF(SET_STR, sasl_authz_id),
	DEF(SET_STR, tls_ca_cert_file), DEF(SET_STR, tls_ca_cert_dir),
	DEF(SET_STR, tls_cert_file), DEF(SET_STR, tls_key_file),
	DEF(SET_STR, tls_cipher_suite), DEF(SET_STR, tls_require_cert),
	DEF(SET_STR, deref), DEF(SET_STR, scope), DEF(SET_STR, base),
	DEF(SET_UINT, ldap_version), DEF(SET_STR, debug_level),
	DEF(SET_STR, ldaprc_path), DEF(SET_STR, user_attrs), DEF(SET_STR, user_filter),
	DEF(SET_STR, pass_attrs), DEF(SET_STR, pass_filter),
	DEF(SET_STR, iterate_attrs), DEF(SET_STR, iterate_filter),
	DEF(SET_STR, default_pass_scheme), DEF(SET_BOOL, userdb_warning_disable),
	DEF(SET_BOOL, blocking),
};
#undef DEF

/* Dovecot 2.3's defaults (src/auth/db-ldap.c) */
static const struct db_ldap_settings ldap_default_settings = {
	.deref = "never",
	.scope = "subtree",
	.ldap_version = 3,
	.debug_level = "0",
	.ldaprc_path = "",
	.user_attrs = "homeDirectory=home,uidNumber=uid,gidNumber=gid",
	.user_filter = "(&(objectClass=posixAccount)(uid=%u))",
	.pass_attrs = "uid=user,userPassword=password",
	.pass_filter = "(&(objectClass=posixAccount)(uid=%u))",
	.iterate_attrs = "uid=user",
	.iterate_filter = "(objectClass=posixAccount)",
	.default_pass_scheme = "crypt",
	.require_cert_value = -1,
};

static unsigned int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned int row[41];

	if (la > 40 || lb > 40)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned int)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned int diag = row[0];
		row[0] = (unsigned int)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned int up = row[j];
			unsigned int best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static int setting_set(struct pool *pool, struct db_ldap_settings *set,
		       const char *key, const char *value, const char **error_r)
{
	const struct setting_def *def = NULL;

	for (size_t i = 0; i < N_ELEMENTS(ldap_setting_defs); i++) {
		if (str_eq(ldap_setting_defs[i].name, key)) {
			def = &ldap_setting_defs[i];
			break;
		}
	}
	if (def == NULL) {
		const char *nearest = NULL;
		unsigned int best = 3;
		for (size_t i = 0; i < N_ELEMENTS(ldap_setting_defs); i++) {
			unsigned int d = edit_distance(key, ldap_setting_defs[i].name);
			if (d < best) {
				best = d;
				nearest = ldap_setting_defs[i].name;
			}
		}
		*error_r = nearest == NULL ?
			pool_printf(pool, "Unknown setting: %s", key) :
			pool_printf(pool, "Unknown setting: %s (did you mean %s?)", key, nearest);
		return -1;
	}
	void *ptr = (char *)set + def->offset;
	switch (def->type) {
	case SET_STR:
		*(const char **)ptr = pool_strdup(pool, value);
		break;
	case SET_BOOL:
		if (str_ieq(value, "yes") || str_ieq(value, "y") || str_eq(value, "1"))
			*(bool *)ptr = true;
		else if (str_ieq(value, "no") || str_ieq(value, "n") || str_eq(value, "0"))
			*(bool *)ptr = false;
		else {
			*error_r = pool_printf(pool, "Invalid boolean value for %s: %s "
					       "(use yes or no)", key, value);
			return -1;
		}
		break;
	case SET_UINT:
		if (str_to_uint(value, (unsigned int *)ptr) < 0) {
			*error_r = pool_printf(pool, "Invalid number for %s: %s", key, value);
			return -1;
		}
		break;
	}
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int setting_set_cb(struct pool *pool, void *context, const char *key,
			  const char *value, const char **error_r)
{
	return setting_set(pool, context, key, value, error_r);
}

/* ---- attribute maps ---------------------------------------------------- */

static bool is_ldap_var(char key, const char *long_key, size_t len)
{
	if (key == '$')
		return true;
	if (long_key == NULL)
		return false;
	return (len == 7 && strncmp(long_key, "ldap_dn", 7) == 0) ||
		(len >= 5 && strncmp(long_key, "ldap:", 5) == 0) ||
		(len >= 9 && strncmp(long_key, "ldap_ptr:", 9) == 0);
}

typedef ARRAY(const char *) string_array_t;

struct attr_scan_ctx {
	struct pool *pool;
	string_array_t *attr_names;
	string_t *request_vars;
	const char *error;
};

static void add_attr_name(string_array_t *names, const char *name)
{
	for (size_t i = 0; i < names->count; i++) {
		if (strcasecmp(names->v[i], name) == 0)
			return;
	}
	array_push(names, name);
}

static void attr_scan_var(char key, const char *long_key, size_t len, void *context)
{
	struct attr_scan_ctx *ctx = context;

	if (long_key != NULL && len >= 9 && strncmp(long_key, "ldap_ptr:", 9) == 0) {
		ctx->error = "%{ldap_ptr:...} (DN subqueries) is not supported";
		return;
	}
	if (long_key != NULL && len > 5 && strncmp(long_key, "ldap:", 5) == 0) {
		/* %{ldap:attr[:default]}: fetch attr too */
		const char *name = long_key + 5;
		size_t name_len = len - 5;
		const char *colon = memchr(name, ':', name_len);
		if (colon != NULL)
			name_len = (size_t)(colon - name);
		if (memchr(name, '@', name_len) != NULL) {
			ctx->error = "%{ldap:attr@name} (DN subqueries) is not supported";
			return;
		}
		if (name_len > 0)
			add_attr_name(ctx->attr_names, pool_strndup(ctx->pool, name, name_len));
		return;
	}
	if (is_ldap_var(key, long_key, len))
		return;
	if (str_len(ctx->request_vars) > 0)
		str_append_c(ctx->request_vars, ' ');
	if (long_key == NULL)
		str_printfa(ctx->request_vars, "%%%c", key);
	else {
		str_append(ctx->request_vars, "%{");
		str_append_n(ctx->request_vars, long_key, len);
		str_append_c(ctx->request_vars, '}');
	}
}

int db_ldap_parse_attrs(struct pool *pool, const char *attrs,
			struct db_ldap_attr_map *map, const char **error_r)
{
	ARRAY(struct db_ldap_field) fields = ARRAY_INIT;
	string_array_t names = ARRAY_INIT;
	string_t *request_vars = str_create(64);
	struct attr_scan_ctx scan = {
		.pool = pool, .attr_names = &names, .request_vars = request_vars,
	};
	char *copy = pool_strdup(pool, attrs != NULL ? attrs : "");
	char *saveptr = NULL;
	int ret = 0;

	for (char *item = strtok_r(copy, ",", &saveptr); item != NULL;
	     item = strtok_r(NULL, ",", &saveptr)) {
		/* "a=1, b=2" works: spaces around items are dropped */
		while (is_space(*item))
			item++;
		size_t n = strlen(item);
		while (n > 0 && is_space(item[n - 1]))
			item[--n] = '\0';
		if (*item == '\0')
			continue;

		struct db_ldap_field field = { .ldap_attr = "" };
		char *eq = strchr(item, '=');
		char *name;
		if (eq == NULL) {
			/* "attr": the field has the attribute's name */
			field.ldap_attr = item;
			name = item;
			if (*item == '!') {
				field.ldap_attr = item + 1;
				field.skip = true;
				name = "";
			}
		} else {
			*eq = '\0';
			field.ldap_attr = item;
			name = eq + 1;
			char *templ = strchr(name, '=');
			if (templ != NULL) {
				*templ++ = '\0';
				/* Dovecot: "attr=name=prefix" without %vars
				   means "prefix%$" */
				field.value_template = strchr(templ, '%') != NULL ? templ :
					pool_strconcat(pool, templ, "%$", NULL);
			} else if (*field.ldap_attr == '\0') {
				/* "=name": a static empty value */
				field.value_template = "";
			}
		}
		if (*item == '@' || *name == '@') {
			*error_r = pool_printf(pool, "Invalid attrs entry: %s%s%s "
					       "(DN subqueries with @ are not supported)",
					       item, eq != NULL ? "=" : "", eq != NULL ? name : "");
			ret = -1;
			break;
		}
		if (*name == '\0' && !field.skip) {
			*error_r = pool_printf(pool, "Invalid attrs entry: %s=", item);
			ret = -1;
			break;
		}
		field.name = name;
		if (*field.ldap_attr != '\0')
			add_attr_name(&names, field.ldap_attr);
		if (field.value_template != NULL)
			var_expand_foreach_key(field.value_template, attr_scan_var, &scan);
		var_expand_foreach_key(field.name, attr_scan_var, &scan);
		if (scan.error != NULL) {
			*error_r = pool_printf(pool, "Invalid attrs entry for %s: %s",
					       field.name, scan.error);
			ret = -1;
			break;
		}
		array_push(&fields, field);
	}
	if (ret == 0) {
		map->count = (unsigned int)fields.count;
		map->fields = pool_alloc(pool, sizeof(*map->fields) * (fields.count + 1));
		for (size_t i = 0; i < fields.count; i++)
			map->fields[i] = fields.v[i];
		map->attr_names = pool_alloc(pool, sizeof(char *) * (names.count + 1));
		for (size_t i = 0; i < names.count; i++)
			map->attr_names[i] = (char *)names.v[i];
		map->request_vars = pool_strdup(pool, str_c(request_vars));
	}
	array_free(&fields);
	array_free(&names);
	str_free(&request_vars);
	return ret;
}

static struct db_ldap_attr *entry_find_attr(struct db_ldap_entry *entry, const char *name)
{
	for (unsigned int i = 0; i < entry->attr_count; i++) {
		if (strcasecmp(entry->attrs[i].name, name) == 0)
			return &entry->attrs[i];
	}
	return NULL;
}

struct ldap_var_ctx {
	struct db_ldap_entry *entry;
	ARRAY(struct var_expand_table) table;
	struct pool *pool;
};

static void ldap_var_add(char key, const char *long_key, size_t len, void *context)
{
	struct ldap_var_ctx *ctx = context;

	if (long_key == NULL || len < 5 || strncmp(long_key, "ldap:", 5) != 0)
		return;
	/* %{ldap:attr[:default]}: the table entry has the whole key */
	const char *key_str = pool_strndup(ctx->pool, long_key, len);
	const char *attr_name = key_str + 5;
	const char *colon = strchr(attr_name, ':');
	const char *value = colon != NULL ? colon + 1 : "";
	if (colon != NULL)
		attr_name = pool_strndup(ctx->pool, attr_name, (size_t)(colon - attr_name));
	struct db_ldap_attr *attr = entry_find_attr(ctx->entry, attr_name);
	if (attr != NULL) {
		attr->used = true;
		if (attr->values[0] != NULL)
			value = attr->values[0];
	}
	struct var_expand_table item = { .key = key, .long_key = key_str, .value = value };
	array_push(&ctx->table, item);
}

/* Expand an attribute template (no escaping: the result is a field
   value, not LDAP input). */
static int expand_template(string_t *dest, const char *template, const char *value,
			   struct db_ldap_entry *entry, struct auth_request *request,
			   struct pool *pool, const char **error_r)
{
	struct ldap_var_ctx ctx = { .entry = entry, .table = ARRAY_INIT, .pool = pool };
	struct var_expand_table item = { .key = '$', .value = value };
	int ret;

	array_push(&ctx.table, item);
	struct var_expand_table dn_item = { .long_key = "ldap_dn", .value = entry->dn };
	array_push(&ctx.table, dn_item);
	var_expand_foreach_key(template, ldap_var_add, &ctx);
	struct var_expand_table end = { .key = '\0' };
	array_push(&ctx.table, end);

	if (request != NULL) {
		ret = auth_request_var_expand_with(dest, template, request, NULL, NULL,
						   ctx.table.v, error_r);
	} else {
		char *error = NULL;
		ret = var_expand(dest, template, ctx.table.v, &error);
		if (ret < 0)
			*error_r = pool_strdup(pool, error != NULL ? error : "expansion failed");
		free(error);
	}
	array_free(&ctx.table);
	return ret;
}

/* The value of field, or NULL if the entry gives it none. */
static const char *const *field_values(const struct db_ldap_field *field,
				       struct db_ldap_entry *entry,
				       struct auth_request *request, struct pool *pool)
{
	struct db_ldap_attr *attr = NULL;
	const char *error;

	if (*field->ldap_attr != '\0') {
		attr = entry_find_attr(entry, field->ldap_attr);
		if (attr == NULL || attr->values[0] == NULL)
			return NULL;
		attr->used = true;
		if (field->value_template == NULL)
			return attr->values;
	}
	if (attr != NULL && attr->values[1] != NULL) {
		if (request != NULL)
			auth_request_log_warning(request, "ldap: Multiple values found for '%s', "
						 "using value '%s'", field->name, attr->values[0]);
		else
			log_warning("ldap: Multiple values found for '%s', using value '%s'",
				    field->name, attr->values[0]);
	}
	string_t *str = str_create_secure(64);
	if (expand_template(str, field->value_template, attr != NULL ? attr->values[0] : "",
			    entry, request, pool, &error) < 0) {
		if (request != NULL)
			auth_request_log_warning(request, "ldap: Failed to expand template %s: %s",
						 field->value_template, error);
		else
			log_warning("ldap: Failed to expand template %s: %s",
				    field->value_template, error);
	}
	const char **values = pool_alloc(pool, sizeof(char *) * 2);
	values[0] = pool_strdup(pool, str_c(str));
	str_free(&str);
	return values;
}

static const char *field_name(const struct db_ldap_field *field, struct db_ldap_entry *entry,
			      struct auth_request *request, struct pool *pool)
{
	const char *error;

	if (strchr(field->name, '%') == NULL)
		return field->name;
	string_t *str = str_create(64);
	if (expand_template(str, field->name, "", entry, request, pool, &error) < 0) {
		if (request != NULL)
			auth_request_log_warning(request, "ldap: Failed to expand %s: %s",
						 field->name, error);
		else
			log_warning("ldap: Failed to expand %s: %s", field->name, error);
	}
	const char *name = pool_strdup(pool, str_c(str));
	str_free(&str);
	return name;
}

static bool attr_is_password(const struct db_ldap_attr_map *map, const char *attr)
{
	for (unsigned int i = 0; i < map->count; i++) {
		if (strcasecmp(map->fields[i].ldap_attr, attr) == 0 &&
		    (str_eq(map->fields[i].name, "password") ||
		     str_eq(map->fields[i].name, "password_noscheme")))
			return true;
	}
	return false;
}

/* Debug: what the server returned, passwords hidden, and the attributes
   no field used (a typo in an attrs setting shows up here). */
static void log_result(const struct db_ldap_attr_map *map,
		       const struct db_ldap_entry *entry, struct auth_request *request)
{
	string_t *str = str_create(256), *unused = str_create(64);
	bool show_passwords = request->auth->set->auth_debug_passwords;

	for (unsigned int i = 0; i < entry->attr_count; i++) {
		const struct db_ldap_attr *attr = &entry->attrs[i];
		str_printfa(str, "%s%s=", str_len(str) > 0 ? " " : "", attr->name);
		if (attr->values[0] == NULL)
			str_append(str, "<no values>");
		else if (!show_passwords && attr_is_password(map, attr->name))
			str_append(str, "<hidden>");
		else {
			for (unsigned int j = 0; attr->values[j] != NULL; j++)
				str_printfa(str, "%s%s", j > 0 ? "," : "", attr->values[j]);
		}
		if (!attr->used)
			str_printfa(unused, "%s%s", str_len(unused) > 0 ? "," : "", attr->name);
	}
	auth_request_log_debug(request, "ldap: result: %s%s%s%s",
			       str_len(str) > 0 ? str_c(str) : "no fields returned by the server",
			       str_len(unused) > 0 ? "; " : "", str_c(unused),
			       str_len(unused) > 0 ? " unused" : "");
	str_free(&str);
	str_free(&unused);
}

void db_ldap_apply_map(const struct db_ldap_attr_map *map,
		       struct db_ldap_entry *entry, struct auth_request *request,
		       struct pool *pool, db_ldap_set_field_t *set_field,
		       void *context)
{
	for (unsigned int i = 0; i < map->count; i++) {
		const struct db_ldap_field *field = &map->fields[i];
		if (field->skip) {
			struct db_ldap_attr *attr = entry_find_attr(entry, field->ldap_attr);
			if (attr != NULL)
				attr->used = true;
			continue;
		}
		const char *const *values = field_values(field, entry, request, pool);
		if (values == NULL)
			continue;
		if (values[1] != NULL) {
			if (request != NULL)
				auth_request_log_warning(request, "ldap: Multiple values found "
							 "for '%s', using value '%s'",
							 field->name, values[0]);
			else
				log_warning("ldap: Multiple values found for '%s', "
					    "using value '%s'", field->name, values[0]);
		}
		set_field(field_name(field, entry, request, pool), values[0], context);
	}
	if (request != NULL && auth_request_want_debug(request))
		log_result(map, entry, request);
}

const char *const *db_ldap_map_values(const struct db_ldap_attr_map *map,
				      struct db_ldap_entry *entry,
				      const char *name, struct pool *pool)
{
	for (unsigned int i = 0; i < map->count; i++) {
		const struct db_ldap_field *field = &map->fields[i];
		if (!field->skip && str_eq(field->name, name))
			return field_values(field, entry, NULL, pool);
	}
	return NULL;
}

/* ---- escaping and expansion -------------------------------------------- */

const char *db_ldap_escape(const char *value, void *context ATTR_UNUSED,
			   struct pool *pool)
{
	/* Dovecot 2.3's set: RFC 4515 filter specials and RFC 4514 DN
	   specials, so one escape serves filters, base and the bind DN */
	static const char specials[] = "*,\\#+<>;\"()= ";
	const char *p;

	for (p = value; *p != '\0'; p++) {
		if ((unsigned char)*p >= 0x80 || strchr(specials, *p) != NULL)
			break;
	}
	if (*p == '\0')
		return value;
	string_t *str = str_create(strlen(value) + 16);
	str_append_n(str, value, (size_t)(p - value));
	for (; *p != '\0'; p++) {
		if ((unsigned char)*p >= 0x80 || strchr(specials, *p) != NULL)
			str_printfa(str, "\\%02X", (unsigned char)*p);
		else
			str_append_c(str, *p);
	}
	const char *result = pool_strdup(pool, str_c(str));
	str_free(&str);
	return result;
}

int db_ldap_expand(string_t *dest, const char *template,
		   const struct auth_request *request, const char **error_r)
{
	return auth_request_var_expand_with(dest, template, request, db_ldap_escape,
					    NULL, NULL, error_r);
}

const char *db_ldap_cache_key(struct pool *pool, const char *const *templates,
			      const struct db_ldap_attr_map *map)
{
	ARRAY(const char *) list = ARRAY_INIT;

	for (; templates != NULL && *templates != NULL; templates++)
		array_push(&list, *templates);
	if (map != NULL && *map->request_vars != '\0')
		array_push(&list, map->request_vars);
	const char *end = NULL;
	array_push(&list, end);
	const char *key = auth_cache_parse_key(pool, list.v);
	array_free(&list);
	return key;
}


/* ---- settings ---------------------------------------------------------- */

static int parse_named(const char *value, const char *const *names,
		       const int *values, int *value_r)
{
	for (unsigned int i = 0; names[i] != NULL; i++) {
		if (strcasecmp(names[i], value) == 0) {
			*value_r = values[i];
			return 0;
		}
	}
	return -1;
}

static const char *const *split_spaces(struct pool *pool, const char *value,
				       const char *prefix)
{
	ARRAY(const char *) list = ARRAY_INIT;
	char *copy = pool_strdup(pool, value);
	char *saveptr = NULL;

	for (char *tok = strtok_r(copy, " \t,", &saveptr); tok != NULL;
	     tok = strtok_r(NULL, " \t,", &saveptr)) {
		const char *item = tok;
		if (prefix != NULL && strstr(tok, "://") == NULL)
			item = pool_strconcat(pool, prefix, tok, NULL);
		array_push(&list, item);
	}
	const char **result = pool_alloc(pool, sizeof(char *) * (list.count + 1));
	for (size_t i = 0; i < list.count; i++)
		result[i] = list.v[i];
	array_free(&list);
	return result;
}

static int settings_check(struct pool *pool, struct db_ldap_settings *set,
			  const char **error_r)
{
	static const char *const deref_names[] = { "never", "searching", "finding", "always", NULL };
	static const int deref_values[] = { DEREF_NEVER, DEREF_SEARCHING,
		DEREF_FINDING, DEREF_ALWAYS };
	static const char *const scope_names[] = { "base", "onelevel", "subtree", NULL };
	static const int scope_values[] = { SCOPE_BASE, SCOPE_ONELEVEL,
		SCOPE_SUBTREE };
	static const char *const reqcert_names[] = { "never", "hard", "demand", "allow", "try", NULL };
	static const int reqcert_values[] = { TLS_NEVER, TLS_HARD,
		TLS_DEMAND, TLS_ALLOW, TLS_TRY };
	const char *error;

	if (set->base == NULL) {
		*error_r = "No base given";
		return -1;
	}
	if (set->uris != NULL && *set->uris != '\0')
		set->uri_list = split_spaces(pool, set->uris, NULL);
	else if (set->hosts != NULL && *set->hosts != '\0')
		set->uri_list = split_spaces(pool, set->hosts, "ldap://");
	if (set->uri_list == NULL || set->uri_list[0] == NULL) {
		*error_r = "No uris or hosts set";
		return -1;
	}
	for (unsigned int i = 0; set->uri_list[i] != NULL; i++) {
		const char *uri = set->uri_list[i];
		if (strncasecmp(uri, "ldap://", 7) != 0 && strncasecmp(uri, "ldaps://", 8) != 0 &&
		    strncasecmp(uri, "ldapi://", 8) != 0) {
			*error_r = pool_printf(pool, "Invalid LDAP URI: %s", set->uri_list[i]);
			return -1;
		}
		if (set->tls && strncasecmp(uri, "ldaps://", 8) == 0) {
			*error_r = "Don't use both tls=yes and ldaps URI";
			return -1;
		}
	}
	if (set->sasl_bind) {
		*error_r = "sasl_bind=yes is not supported by roost yet (use simple binds)";
		return -1;
	}
	if (set->ldap_version < 3 && set->tls) {
		*error_r = "tls=yes requires ldap_version=3";
		return -1;
	}
	if (set->ldap_version < 2 || set->ldap_version > 3) {
		*error_r = pool_printf(pool, "Invalid ldap_version: %u", set->ldap_version);
		return -1;
	}
	if (parse_named(set->deref, deref_names, deref_values, &set->deref_value) < 0) {
		*error_r = pool_printf(pool, "Unknown deref option '%s'", set->deref);
		return -1;
	}
	if (parse_named(set->scope, scope_names, scope_values, &set->scope_value) < 0) {
		*error_r = pool_printf(pool, "Unknown scope option '%s'", set->scope);
		return -1;
	}
	if (set->tls_require_cert != NULL &&
	    parse_named(set->tls_require_cert, reqcert_names, reqcert_values,
			&set->require_cert_value) < 0) {
		*error_r = pool_printf(pool, "Unknown tls_require_cert value '%s'",
				       set->tls_require_cert);
		return -1;
	}
	if (db_ldap_parse_attrs(pool, set->pass_attrs, &set->pass_map, &error) < 0) {
		*error_r = pool_printf(pool, "pass_attrs: %s", error);
		return -1;
	}
	if (db_ldap_parse_attrs(pool, set->user_attrs, &set->user_map, &error) < 0) {
		*error_r = pool_printf(pool, "user_attrs: %s", error);
		return -1;
	}
	if (db_ldap_parse_attrs(pool, set->iterate_attrs, &set->iterate_map, &error) < 0) {
		*error_r = pool_printf(pool, "iterate_attrs: %s", error);
		return -1;
	}
	return 0;
}

int db_ldap_settings_read(struct pool *pool, const char *path,
			  struct db_ldap_settings *set, const char **error_r)
{
	const char *error;

	*set = ldap_default_settings;
	if (args_file_read(pool, path, LDAP_SETTINGS_MAX_LINE, setting_set_cb, set,
			   error_r) < 0)
		return -1;
	if (settings_check(pool, set, &error) < 0) {
		*error_r = pool_printf(pool, "%s: %s", path, error);
		return -1;
	}
	return 0;
}

