/* Binding config trees to structs through setting_def tables, and printing
   them back. Value syntax follows Dovecot 2.3 (checked against doveconf). */
#include "lib.h"
#include "settings.h"
#include "config-parser.h"
#include "pool.h"
#include "str.h"

#include <limits.h>
#include <stdlib.h>
#include <strings.h>

#define FIELD(set, def, type) ((type *)(void *)((char *)(set) + (def)->offset))
#define CFIELD(set, def, type) \
	((const type *)(const void *)((const char *)(set) + (def)->offset))

/* Longer keys are not compared for suggestions (bounded work). */
#define SUGGEST_MAX_KEY_LEN 64
/* settings_bind_roots() and printing take at most this many roots */
#define SETTINGS_MAX_ROOTS 8

static const char *get_str(const void *set, const struct setting_def *def)
{
	return *(const char *const *)(const void *)
		((const char *)set + def->offset);
}

static void list_get(const void *set, const struct setting_def *def,
		     settings_ptr_array_t *arr)
{
	memcpy(arr, (const char *)set + def->offset, sizeof(*arr));
}

static void list_put(void *set, const struct setting_def *def,
		     const settings_ptr_array_t *arr)
{
	memcpy((char *)set + def->offset, arr, sizeof(*arr));
}

const struct setting_def *
settings_find_def(const struct setting_section_info *info, const char *key)
{
	const struct setting_def *def;

	for (def = info->defs; def->key != NULL; def++) {
		if (strcmp(def->key, key) == 0)
			return def;
	}
	return NULL;
}

static bool list_has(const char *const *list, const char *key)
{
	if (list == NULL)
		return false;
	for (; *list != NULL; list++) {
		if (strcmp(*list, key) == 0)
			return true;
	}
	return false;
}

/* ---- value parsing ---------------------------------------------------- */

int settings_parse_bool(const char *value, bool *result_r, const char **error_r)
{
	/* Dovecot 2.3 accepts exactly these (case-insensitive) */
	if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "y") == 0 ||
	    strcmp(value, "1") == 0) {
		*result_r = true;
		return 0;
	}
	if (strcasecmp(value, "no") == 0) {
		*result_r = false;
		return 0;
	}
	*error_r = "use yes or no";
	return -1;
}

static int parse_number(const char *value, uint64_t *num_r, const char **end_r,
			const char **error_r)
{
	uint64_t num = 0;
	const char *s = value;

	if (*s < '0' || *s > '9') {
		*error_r = "not a number";
		return -1;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned int digit = (unsigned int)(*s - '0');
		if (num > (UINT64_MAX - digit) / 10) {
			*error_r = "number is too large";
			return -1;
		}
		num = num * 10 + digit;
	}
	*num_r = num;
	*end_r = s;
	return 0;
}

int settings_parse_uint(const char *value, unsigned int *result_r,
			const char **error_r)
{
	uint64_t num;
	const char *end;

	if (parse_number(value, &num, &end, error_r) < 0)
		return -1;
	if (*end != '\0') {
		*error_r = "not a number";
		return -1;
	}
	if (num > UINT_MAX) {
		*error_r = "number is too large (max 4294967295)";
		return -1;
	}
	*result_r = (unsigned int)num;
	return 0;
}

int settings_parse_octal(const char *value, unsigned int *result_r,
			 const char **error_r)
{
	unsigned int num = 0;
	const char *s;

	if (value[0] != '0') {
		/* Dovecot: without a leading zero the number is decimal */
		if (settings_parse_uint(value, &num, error_r) < 0)
			return -1;
		if (num > 07777) {
			*error_r = "mode is too large (max 07777)";
			return -1;
		}
		*result_r = num;
		return 0;
	}
	for (s = value; *s != '\0'; s++) {
		if (*s < '0' || *s > '7') {
			*error_r = "not an octal number";
			return -1;
		}
		num = num * 8 + (unsigned int)(*s - '0');
		if (num > 07777) {
			*error_r = "mode is too large (max 07777)";
			return -1;
		}
	}
	*result_r = num;
	return 0;
}

int settings_parse_size(const char *value, uint64_t *result_r,
			const char **error_r)
{
	uint64_t num, multiply = 1;
	const char *s;

	if (parse_number(value, &num, &s, error_r) < 0) {
		if (*value >= '0' && *value <= '9')
			*error_r = "size is too large";
		else
			*error_r = "not a size (a number with an optional "
				"unit B, k, M, G or T)";
		return -1;
	}
	while (*s == ' ')
		s++;
	switch (*s) {
	case '\0':
		break;
	case 'b': case 'B':
		s++;
		break;
	case 'k': case 'K':
		multiply = 1024ULL;
		break;
	case 'm': case 'M':
		multiply = 1024ULL * 1024;
		break;
	case 'g': case 'G':
		multiply = 1024ULL * 1024 * 1024;
		break;
	case 't': case 'T':
		multiply = 1024ULL * 1024 * 1024 * 1024;
		break;
	default:
		*error_r = "unknown size unit (use B, k, M, G or T)";
		return -1;
	}
	if (multiply > 1) {
		s++;
		if (*s == 'i' || *s == 'I')
			s++;
		if (*s == 'b' || *s == 'B')
			s++;
	}
	if (*s != '\0') {
		*error_r = "unknown size unit (use B, k, M, G or T)";
		return -1;
	}
	if (num > UINT64_MAX / multiply) {
		*error_r = "size is too large";
		return -1;
	}
	*result_r = num * multiply;
	return 0;
}

/* Is unit a (case-insensitive) prefix of word? */
static bool unit_is(const char *unit, const char *word)
{
	size_t len = strlen(unit);

	return len <= strlen(word) && strncasecmp(unit, word, len) == 0;
}

static int parse_interval_msecs(const char *value, bool allow_msecs,
				uint64_t *msecs_r, const char **error_r)
{
	uint64_t num, multiply;
	const char *s;

	if (parse_number(value, &num, &s, error_r) < 0) {
		if (*value >= '0' && *value <= '9')
			*error_r = "time interval is too large";
		else
			*error_r = "not a time interval (e.g. 30 secs, 5 mins)";
		return -1;
	}
	while (*s == ' ')
		s++;
	if (*s == '\0') {
		if (num != 0) {
			*error_r = "time interval is missing a unit "
				"(add e.g. 's' for seconds)";
			return -1;
		}
		*msecs_r = 0;
		return 0;
	}
	if (unit_is(s, "secs") || unit_is(s, "seconds"))
		multiply = 1000;
	else if (unit_is(s, "mins") || unit_is(s, "minutes"))
		multiply = 60 * 1000;
	else if (unit_is(s, "msecs") || unit_is(s, "mseconds") ||
		 unit_is(s, "millisecs") || unit_is(s, "milliseconds")) {
		if (!allow_msecs && num % 1000 != 0) {
			*error_r = "milliseconds are not supported for this "
				"setting";
			return -1;
		}
		multiply = 1;
	} else if (unit_is(s, "hours"))
		multiply = 60 * 60 * 1000;
	else if (unit_is(s, "days"))
		multiply = 24ULL * 60 * 60 * 1000;
	else if (unit_is(s, "weeks"))
		multiply = 7ULL * 24 * 60 * 60 * 1000;
	else {
		*error_r = "unknown time unit (use ms, secs, mins, hours, "
			"days or weeks)";
		return -1;
	}
	if (num > UINT64_MAX / multiply) {
		*error_r = "time interval is too large";
		return -1;
	}
	*msecs_r = num * multiply;
	return 0;
}

int settings_parse_time(const char *value, unsigned int *secs_r,
			const char **error_r)
{
	uint64_t msecs;

	if (parse_interval_msecs(value, false, &msecs, error_r) < 0)
		return -1;
	if (msecs / 1000 > UINT_MAX) {
		*error_r = "time interval is too large";
		return -1;
	}
	*secs_r = (unsigned int)(msecs / 1000);
	return 0;
}

int settings_parse_time_msecs(const char *value, unsigned int *msecs_r,
			      const char **error_r)
{
	uint64_t msecs;

	if (parse_interval_msecs(value, true, &msecs, error_r) < 0)
		return -1;
	if (msecs > UINT_MAX) {
		*error_r = "time interval is too large";
		return -1;
	}
	*msecs_r = (unsigned int)msecs;
	return 0;
}

bool settings_enum_has(const char *values, const char *value)
{
	size_t len = strlen(value);
	const char *p = values, *end;

	for (;;) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) == len && strncmp(p, value, len) == 0)
			return true;
		if (*end == '\0')
			return false;
		p = end + 1;
	}
}

/* ---- formatting -------------------------------------------------------- */

void settings_format_size(string_t *out, uint64_t value)
{
	static const struct { uint64_t size; const char *unit; } units[] = {
		{ 1024ULL * 1024 * 1024 * 1024, "T" },
		{ 1024ULL * 1024 * 1024, "G" },
		{ 1024ULL * 1024, "M" },
		{ 1024ULL, "k" },
	};

	if (value == 0) {
		str_append(out, "0");
		return;
	}
	for (size_t i = 0; i < N_ELEMENTS(units); i++) {
		if (value % units[i].size == 0) {
			str_printfa(out, "%llu %s", (unsigned long long)
				    (value / units[i].size), units[i].unit);
			return;
		}
	}
	str_printfa(out, "%llu B", (unsigned long long)value);
}

void settings_format_time(string_t *out, unsigned int secs)
{
	static const struct { unsigned int secs; const char *unit; } units[] = {
		{ 7 * 24 * 60 * 60, "weeks" },
		{ 24 * 60 * 60, "days" },
		{ 60 * 60, "hours" },
		{ 60, "mins" },
	};

	if (secs == 0) {
		str_append(out, "0");
		return;
	}
	for (size_t i = 0; i < N_ELEMENTS(units); i++) {
		if (secs % units[i].secs == 0) {
			str_printfa(out, "%u %s", secs / units[i].secs,
				    units[i].unit);
			return;
		}
	}
	str_printfa(out, "%u secs", secs);
}

void settings_format_time_msecs(string_t *out, unsigned int msecs)
{
	if (msecs % 1000 != 0)
		str_printfa(out, "%u ms", msecs);
	else
		settings_format_time(out, msecs / 1000);
}

void settings_format_value(string_t *out, const struct setting_def *def,
			   const void *set)
{
	const char *s;

	switch (def->type) {
	case SET_STR:
	case SET_ENUM:
		s = get_str(set, def);
		str_append(out, s != NULL ? s : "");
		break;
	case SET_BOOL:
		str_append(out, *CFIELD(set, def, bool) ? "yes" : "no");
		break;
	case SET_UINT:
		str_printfa(out, "%u", *CFIELD(set, def, unsigned int));
		break;
	case SET_OCTAL:
		str_printfa(out, "0%o", *CFIELD(set, def, unsigned int));
		break;
	case SET_SIZE:
		settings_format_size(out, *CFIELD(set, def, uint64_t));
		break;
	case SET_TIME:
		settings_format_time(out, *CFIELD(set, def, unsigned int));
		break;
	case SET_TIME_MSECS:
		settings_format_time_msecs(out, *CFIELD(set, def, unsigned int));
		break;
	case SET_SECTION_LIST:
		i_unreached();
	}
}

static bool value_needs_quotes(const char *value)
{
	size_t len = strlen(value);

	if (len == 0)
		return false;
	if (value[0] == ' ' || value[0] == '\t' || value[len - 1] == ' ' ||
	    value[len - 1] == '\t' || value[len - 1] == '\\')
		return true;
	if (value[0] == '"' || value[0] == '\'' || value[0] == '<')
		return true;
	if (strpbrk(value, "#\n\r") != NULL)
		return true;
	/* a word starting with '$' would be expanded when read back */
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '$' && (p == value || p[-1] == ' ' || p[-1] == '\t'))
			return true;
	}
	return false;
}

void settings_append_value(string_t *out, const char *value)
{
	if (!value_needs_quotes(value)) {
		str_append(out, value);
		return;
	}
	str_append_c(out, '"');
	for (; *value != '\0'; value++) {
		if (*value == '"' || *value == '\\')
			str_append_c(out, '\\');
		str_append_c(out, *value);
	}
	str_append_c(out, '"');
}

/* ---- defaults and lists ------------------------------------------------ */

static void set_default(const struct setting_def *def, void *set,
			struct pool *pool)
{
	const char *value = def->default_value, *error, *colon;
	int ret = 0;

	switch (def->type) {
	case SET_STR:
		*FIELD(set, def, const char *) = value != NULL ? value : "";
		break;
	case SET_ENUM:
		i_assert(value != NULL);
		colon = strchr(value, ':');
		*FIELD(set, def, const char *) = colon == NULL ? value :
			pool_strndup(pool, value, (size_t)(colon - value));
		break;
	case SET_BOOL:
		ret = settings_parse_bool(value != NULL ? value : "no",
					  FIELD(set, def, bool), &error);
		break;
	case SET_UINT:
		ret = settings_parse_uint(value != NULL ? value : "0",
					  FIELD(set, def, unsigned int), &error);
		break;
	case SET_OCTAL:
		ret = settings_parse_octal(value != NULL ? value : "0",
					   FIELD(set, def, unsigned int), &error);
		break;
	case SET_SIZE:
		ret = settings_parse_size(value != NULL ? value : "0",
					  FIELD(set, def, uint64_t), &error);
		break;
	case SET_TIME:
		ret = settings_parse_time(value != NULL ? value : "0",
					  FIELD(set, def, unsigned int), &error);
		break;
	case SET_TIME_MSECS:
		ret = settings_parse_time_msecs(value != NULL ? value : "0",
						FIELD(set, def, unsigned int),
						&error);
		break;
	case SET_SECTION_LIST:
		break;
	}
	if (ret < 0) {
		lib_panic(__FILE__, __LINE__, "bad default for setting %s: %s",
			  def->key, error);
	}
}

void settings_set_defaults(const struct setting_section_info *info, void *set,
			   struct pool *pool)
{
	const struct setting_def *def;

	for (def = info->defs; def->key != NULL; def++)
		set_default(def, set, pool);
}

void *settings_new(const struct setting_section_info *info, struct pool *pool)
{
	void *set = pool_alloc(pool, info->struct_size);

	settings_set_defaults(info, set, pool);
	return set;
}

void *settings_list_add(const struct setting_def *def, void *set,
			const char *name, struct pool *pool)
{
	const struct setting_section_info *info = def->section;
	settings_ptr_array_t arr;
	const struct setting_def *name_def;
	void *elem;

	i_assert(def->type == SET_SECTION_LIST);
	elem = settings_new(info, pool);
	if (name != NULL && info->name_key != NULL) {
		name_def = settings_find_def(info, info->name_key);
		i_assert(name_def != NULL && name_def->type == SET_STR);
		*FIELD(elem, name_def, const char *) = pool_strdup(pool, name);
	}
	list_get(set, def, &arr);
	array_push(&arr, elem);
	list_put(set, def, &arr);
	return elem;
}

static const char *element_name(const struct setting_section_info *info,
				const void *elem)
{
	const struct setting_def *name_def;

	if (info->name_key == NULL)
		return "";
	name_def = settings_find_def(info, info->name_key);
	i_assert(name_def != NULL);
	return get_str(elem, name_def);
}

void *settings_list_find(const struct setting_def *def, const void *set,
			 const char *name)
{
	settings_ptr_array_t arr;

	list_get(set, def, &arr);
	for (size_t i = 0; i < arr.count; i++) {
		if (strcmp(element_name(def->section, arr.v[i]), name) == 0)
			return arr.v[i];
	}
	return NULL;
}

void settings_free_arrays(const struct setting_section_info *info, void *set)
{
	const struct setting_def *def;
	settings_ptr_array_t arr;

	for (def = info->defs; def->key != NULL; def++) {
		if (def->type != SET_SECTION_LIST)
			continue;
		list_get(set, def, &arr);
		for (size_t i = 0; i < arr.count; i++)
			settings_free_arrays(def->section, arr.v[i]);
		array_free(&arr);
		list_put(set, def, &arr);
	}
}

const char *settings_roots_default(const struct settings_root *roots,
				   unsigned int count, const char *key,
				   struct pool *pool)
{
	const struct setting_def *def;
	string_t *str;
	const char *ret;
	void *tmp;

	for (unsigned int i = 0; i < count; i++) {
		def = settings_find_def(roots[i].info, key);
		if (def == NULL)
			continue;
		if (def->type == SET_SECTION_LIST)
			return NULL;
		/* normalise through the parser, so "$x" gives the same
		   text a printed default would */
		tmp = pool_alloc(pool, roots[i].info->struct_size);
		set_default(def, tmp, pool);
		str = str_create(64);
		settings_format_value(str, def, tmp);
		ret = pool_strdup(pool, str_c(str));
		str_free(&str);
		return ret;
	}
	return NULL;
}

/* ---- suggestions ------------------------------------------------------- */

unsigned int settings_edit_distance(const char *a, const char *b)
{
	size_t alen = strlen(a), blen = strlen(b);
	unsigned int *prev, *cur, *tmp, result;

	prev = x_malloc((blen + 1) * sizeof(*prev));
	cur = x_malloc((blen + 1) * sizeof(*cur));
	for (size_t j = 0; j <= blen; j++)
		prev[j] = (unsigned int)j;
	for (size_t i = 1; i <= alen; i++) {
		cur[0] = (unsigned int)i;
		for (size_t j = 1; j <= blen; j++) {
			unsigned int cost = strncasecmp(a + i - 1, b + j - 1, 1)
				== 0 ? 0 : 1;
			unsigned int best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (prev[j - 1] + cost < best)
				best = prev[j - 1] + cost;
			cur[j] = best;
		}
		tmp = prev; prev = cur; cur = tmp;
	}
	result = prev[blen];
	free(prev);
	free(cur);
	return result;
}

static void suggest_consider(const char *key, size_t key_len,
			     const char *candidate, const char **best_r,
			     unsigned int *best_dist_r)
{
	unsigned int dist;
	size_t clen = strlen(candidate);

	if (clen > SUGGEST_MAX_KEY_LEN)
		return;
	dist = settings_edit_distance(key, candidate);
	/* "mechanisms" for "auth_mechanisms": a dropped prefix */
	if (clen > key_len + 1 && candidate[clen - key_len - 1] == '_' &&
	    strcasecmp(candidate + clen - key_len, key) == 0 && dist > 1)
		dist = 2;
	if (dist < *best_dist_r) {
		*best_dist_r = dist;
		*best_r = candidate;
	}
}

const char *settings_suggest(const struct setting_section_info *const *infos,
			     unsigned int count, const char *key)
{
	const char *best = NULL;
	unsigned int best_dist = UINT_MAX, max_dist;
	size_t key_len = strlen(key);
	const struct setting_def *def;
	const char *const *p;

	if (key_len == 0 || key_len > SUGGEST_MAX_KEY_LEN)
		return NULL;
	for (unsigned int i = 0; i < count; i++) {
		for (def = infos[i]->defs; def->key != NULL; def++)
			suggest_consider(key, key_len, def->key, &best, &best_dist);
		for (p = infos[i]->unsupported_keys; p != NULL && *p != NULL; p++)
			suggest_consider(key, key_len, *p, &best, &best_dist);
		for (p = infos[i]->unsupported_sections; p != NULL && *p != NULL; p++)
			suggest_consider(key, key_len, *p, &best, &best_dist);
	}
	max_dist = key_len <= 4 ? 1 : key_len <= 8 ? 2 : 3;
	return best_dist <= max_dist ? best : NULL;
}

/* ---- binding ----------------------------------------------------------- */

static int bind_children(const struct settings_root *roots, unsigned int count,
			 const struct config_node *section, struct pool *pool,
			 const char **error_r);

static void ATTR_FORMAT(4, 5)
bind_error(const struct config_node *node, struct pool *pool,
	   const char **error_r, const char *fmt, ...)
{
	va_list args;
	char *msg;

	va_start(args, fmt);
	msg = x_vprintf(fmt, args);
	va_end(args);
	*error_r = pool_printf(pool, "%s:%u: %s", node->file, node->line, msg);
	free(msg);
}

static const char *enum_list(struct pool *pool, const char *values)
{
	string_t *str = str_create(64);
	const char *ret;

	for (const char *p = values; *p != '\0'; p++) {
		if (*p == ':')
			str_append(str, ", ");
		else
			str_append_c(str, *p);
	}
	ret = pool_strdup(pool, str_c(str));
	str_free(&str);
	return ret;
}

static int set_value(const struct setting_def *def, void *set,
		     const char *value, struct pool *pool,
		     const char **reason_r)
{
	switch (def->type) {
	case SET_STR:
		*FIELD(set, def, const char *) = pool_strdup(pool, value);
		return 0;
	case SET_ENUM:
		if (!settings_enum_has(def->default_value, value)) {
			*reason_r = pool_strconcat(pool, "allowed values are: ",
				enum_list(pool, def->default_value), NULL);
			return -1;
		}
		*FIELD(set, def, const char *) = pool_strdup(pool, value);
		return 0;
	case SET_BOOL:
		return settings_parse_bool(value, FIELD(set, def, bool), reason_r);
	case SET_UINT:
		return settings_parse_uint(value, FIELD(set, def, unsigned int),
					   reason_r);
	case SET_OCTAL:
		return settings_parse_octal(value, FIELD(set, def, unsigned int),
					    reason_r);
	case SET_SIZE:
		return settings_parse_size(value, FIELD(set, def, uint64_t),
					   reason_r);
	case SET_TIME:
		return settings_parse_time(value, FIELD(set, def, unsigned int),
					   reason_r);
	case SET_TIME_MSECS:
		return settings_parse_time_msecs(value,
			FIELD(set, def, unsigned int), reason_r);
	case SET_SECTION_LIST:
		break;
	}
	i_unreached();
}

static const char *section_desc(const struct config_node *section)
{
	return section->parent == NULL ? NULL : section->key;
}

static int bind_key(const struct settings_root *roots, unsigned int count,
		    const struct config_node *section,
		    const struct config_node *node, struct pool *pool,
		    const char **error_r)
{
	const struct setting_section_info *infos[SETTINGS_MAX_ROOTS];
	const struct setting_def *def = NULL;
	const char *reason, *suggestion, *where = section_desc(section);
	void *set = NULL;
	unsigned int i;

	for (i = 0; i < count && def == NULL; i++) {
		def = settings_find_def(roots[i].info, node->key);
		set = roots[i].set;
	}
	if (def != NULL && def->type == SET_SECTION_LIST) {
		bind_error(node, pool, error_r,
			   "%s is a section, not a setting (use: %s { ... })",
			   node->key, node->key);
		return -1;
	}
	if (def != NULL) {
		if (set_value(def, set, node->value, pool, &reason) < 0) {
			bind_error(node, pool, error_r,
				   "Invalid value for %s: \"%s\": %s",
				   node->key, node->value, reason);
			return -1;
		}
		if (def->check != NULL &&
		    def->check(set, node->key, node->value, pool, &reason) < 0) {
			bind_error(node, pool, error_r, "%s", reason);
			return -1;
		}
		return 0;
	}
	for (i = 0; i < count; i++) {
		infos[i] = roots[i].info;
		if (list_has(roots[i].info->unsupported_keys, node->key)) {
			if (where == NULL) {
				bind_error(node, pool, error_r,
					   "Setting %s is not supported by "
					   "roost yet", node->key);
			} else {
				bind_error(node, pool, error_r,
					   "Setting %s (in %s section) is not "
					   "supported by roost yet",
					   node->key, where);
			}
			return -1;
		}
	}
	suggestion = settings_suggest(infos, count, node->key);
	bind_error(node, pool, error_r, "Unknown setting%s%s%s: %s%s%s%s",
		   where == NULL ? "" : " in ", where == NULL ? "" : where,
		   where == NULL ? "" : " section", node->key,
		   suggestion == NULL ? "" : " (did you mean ",
		   suggestion == NULL ? "" : suggestion,
		   suggestion == NULL ? "" : "?)");
	return -1;
}

static int bind_list_element(const struct setting_def *def, void *set,
			     const struct config_node *node, struct pool *pool,
			     const char **error_r)
{
	const struct setting_section_info *info = def->section;
	struct settings_root root;
	void *elem;
	const char *error;

	if (info->unique) {
		if (node->value[0] == '\0') {
			bind_error(node, pool, error_r,
				   "Section %s is missing a name "
				   "(use: %s NAME { ... })", node->key, node->key);
			return -1;
		}
		elem = settings_list_find(def, set, node->value);
		if (elem == NULL)
			elem = settings_list_add(def, set, node->value, pool);
	} else {
		if (node->value[0] != '\0' && info->name_key == NULL) {
			bind_error(node, pool, error_r,
				   "Section %s does not take a name: %s",
				   node->key, node->value);
			return -1;
		}
		elem = settings_list_add(def, set, node->value[0] == '\0' ?
					 NULL : node->value, pool);
	}
	if (info->def_file_offset != SETTINGS_NO_OFFSET) {
		*(const char **)(void *)((char *)elem + info->def_file_offset) =
			pool_strdup(pool, node->file);
	}
	if (info->def_line_offset != SETTINGS_NO_OFFSET) {
		*(unsigned int *)(void *)((char *)elem + info->def_line_offset) =
			node->line;
	}
	root.info = info;
	root.set = elem;
	if (bind_children(&root, 1, node, pool, error_r) < 0)
		return -1;
	if (info->check != NULL && info->check(elem, pool, &error) < 0) {
		bind_error(node, pool, error_r, "%s", error);
		return -1;
	}
	return 0;
}

static int bind_section_node(const struct settings_root *roots,
			     unsigned int count,
			     const struct config_node *section,
			     const struct config_node *node, struct pool *pool,
			     const char **error_r)
{
	const struct setting_section_info *infos[SETTINGS_MAX_ROOTS];
	const struct setting_def *def = NULL;
	const char *suggestion, *where = section_desc(section);
	void *set = NULL;
	unsigned int i;

	for (i = 0; i < count && def == NULL; i++) {
		def = settings_find_def(roots[i].info, node->key);
		set = roots[i].set;
	}
	if (def != NULL && def->type != SET_SECTION_LIST) {
		bind_error(node, pool, error_r,
			   "%s is a setting, not a section (use: %s = value)",
			   node->key, node->key);
		return -1;
	}
	if (def != NULL)
		return bind_list_element(def, set, node, pool, error_r);

	for (i = 0; i < count; i++) {
		infos[i] = roots[i].info;
		if (list_has(roots[i].info->unsupported_sections, node->key)) {
			/* an empty section configures nothing */
			if (node->children == NULL)
				return 0;
			bind_error(node, pool, error_r,
				   "Section %s is not supported by roost yet",
				   node->key);
			return -1;
		}
	}
	suggestion = settings_suggest(infos, count, node->key);
	bind_error(node, pool, error_r, "Unknown section%s%s%s: %s%s%s%s",
		   where == NULL ? "" : " in ", where == NULL ? "" : where,
		   where == NULL ? "" : " section", node->key,
		   suggestion == NULL ? "" : " (did you mean ",
		   suggestion == NULL ? "" : suggestion,
		   suggestion == NULL ? "" : "?)");
	return -1;
}

static int bind_children(const struct settings_root *roots, unsigned int count,
			 const struct config_node *section, struct pool *pool,
			 const char **error_r)
{
	const struct config_node *node;
	int ret;

	for (node = section->children; node != NULL; node = node->next) {
		if (node->type == CONFIG_NODE_KEY)
			ret = bind_key(roots, count, section, node, pool, error_r);
		else
			ret = bind_section_node(roots, count, section, node,
						pool, error_r);
		if (ret < 0)
			return -1;
	}
	return 0;
}

int settings_bind_roots(const struct settings_root *roots, unsigned int count,
			const struct config_node *section, struct pool *pool,
			const char **error_r)
{
	i_assert(count > 0 && count <= SETTINGS_MAX_ROOTS);
	return bind_children(roots, count, section, pool, error_r);
}

int settings_bind(const struct setting_section_info *info, void *set,
		  const struct config_node *section, struct pool *pool,
		  const char **error_r)
{
	struct settings_root root = { .info = info, .set = set };

	return settings_bind_roots(&root, 1, section, pool, error_r);
}

/* ---- printing ---------------------------------------------------------- */

struct print_entry {
	const struct setting_def *def;
	unsigned int root_idx;
	unsigned int order;
};

static int print_entry_cmp(const void *p1, const void *p2)
{
	const struct print_entry *e1 = p1, *e2 = p2;
	int ret = strcmp(e1->def->key, e2->def->key);

	if (ret != 0)
		return ret;
	return e1->order < e2->order ? -1 : e1->order > e2->order ? 1 : 0;
}

static void append_indent(string_t *out, unsigned int indent)
{
	for (unsigned int i = 0; i < indent; i++)
		str_append(out, "  ");
}

static void print_body(const struct settings_root *roots,
		       const struct settings_root *defaults, unsigned int count,
		       const char *skip_key, bool only_changed,
		       unsigned int indent, string_t *out, struct pool *pool);

/* "name/" ordering (as doveconf): "auth-worker" sorts before "auth" */
static int element_cmp_info_name(const struct setting_section_info *info,
				 const void *e1, const void *e2)
{
	const char *n1 = element_name(info, e1), *n2 = element_name(info, e2);
	size_t l1 = strlen(n1), l2 = strlen(n2);
	size_t min = l1 < l2 ? l1 : l2;
	int ret = memcmp(n1, n2, min);

	if (ret != 0)
		return ret;
	if (l1 == l2)
		return 0;
	/* the shorter one continues with '/' */
	if (l1 < l2)
		return '/' - (unsigned char)n2[min];
	return (unsigned char)n1[min] - '/';
}

static void sort_elements(const struct setting_section_info *info,
			  void **elems, size_t count)
{
	/* insertion sort: lists are short and this needs the info */
	for (size_t i = 1; i < count; i++) {
		void *e = elems[i];
		size_t j = i;
		while (j > 0 && element_cmp_info_name(info, elems[j - 1], e) > 0) {
			elems[j] = elems[j - 1];
			j--;
		}
		elems[j] = e;
	}
}

static void print_list(const struct setting_def *def, const void *set,
		       const void *default_set, bool only_changed,
		       unsigned int indent, string_t *out, struct pool *pool)
{
	const struct setting_section_info *info = def->section;
	settings_ptr_array_t arr;
	struct settings_root root, def_root;
	void **elems;
	const void *def_elem;
	string_t *body;

	list_get(set, def, &arr);
	if (arr.count == 0)
		return;
	elems = x_malloc(arr.count * sizeof(*elems));
	memcpy(elems, arr.v, arr.count * sizeof(*elems));
	if (info->unique)
		sort_elements(info, elems, arr.count);

	body = str_create(256);
	for (size_t i = 0; i < arr.count; i++) {
		def_elem = NULL;
		if (info->unique && default_set != NULL) {
			def_elem = settings_list_find(def, default_set,
				element_name(info, elems[i]));
		}
		root.info = info;
		root.set = elems[i];
		def_root.info = info;
		def_root.set = (void *)def_elem;
		str_truncate(body, 0);
		print_body(&root, def_elem == NULL ? NULL : &def_root, 1,
			   info->unique ? info->name_key : NULL, only_changed,
			   indent + 1, body, pool);
		if (only_changed && def_elem != NULL && str_len(body) == 0)
			continue;
		append_indent(out, indent);
		str_append(out, def->key);
		if (info->unique) {
			str_append_c(out, ' ');
			settings_append_value(out, element_name(info, elems[i]));
		}
		str_append(out, " {\n");
		str_append_str(out, body);
		append_indent(out, indent);
		str_append(out, "}\n");
	}
	str_free(&body);
	free(elems);
}

static void print_body(const struct settings_root *roots,
		       const struct settings_root *defaults, unsigned int count,
		       const char *skip_key, bool only_changed,
		       unsigned int indent, string_t *out, struct pool *pool)
{
	ARRAY(struct print_entry) entries = ARRAY_INIT;
	const void *default_sets[SETTINGS_MAX_ROOTS];
	struct print_entry *entry;
	const struct setting_def *def;
	string_t *value, *default_value;
	unsigned int order = 0;

	for (unsigned int i = 0; i < count; i++) {
		default_sets[i] = defaults != NULL && defaults[i].set != NULL ?
			defaults[i].set : settings_new(roots[i].info, pool);
		for (def = roots[i].info->defs; def->key != NULL; def++) {
			if (skip_key != NULL && strcmp(def->key, skip_key) == 0)
				continue;
			entry = array_append_space(&entries);
			entry->def = def;
			entry->root_idx = i;
			entry->order = order++;
		}
	}
	if (entries.count > 0)
		qsort(entries.v, entries.count, sizeof(*entries.v),
		      print_entry_cmp);

	value = str_create(128);
	default_value = str_create(128);
	array_foreach(&entries, entry) {
		const void *set = roots[entry->root_idx].set;
		const void *default_set = default_sets[entry->root_idx];

		def = entry->def;
		if (def->type == SET_SECTION_LIST) {
			print_list(def, set, defaults != NULL ? default_set : NULL,
				   only_changed, indent, out, pool);
			continue;
		}
		str_truncate(value, 0);
		settings_format_value(value, def, set);
		if (only_changed) {
			str_truncate(default_value, 0);
			settings_format_value(default_value, def, default_set);
			if (strcmp(str_c(value), str_c(default_value)) == 0)
				continue;
		}
		append_indent(out, indent);
		str_printfa(out, "%s = ", def->key);
		settings_append_value(out, str_c(value));
		str_append_c(out, '\n');
	}
	str_free(&value);
	str_free(&default_value);
	array_free(&entries);
}

void settings_print_roots(const struct settings_root *roots,
			  const struct settings_root *defaults,
			  unsigned int count, bool only_changed,
			  string_t *out)
{
	struct pool *pool = pool_create("settings print", 4096);

	i_assert(count > 0 && count <= SETTINGS_MAX_ROOTS);
	print_body(roots, defaults, count, NULL, only_changed, 0, out, pool);
	pool_destroy(&pool);
}
