#ifndef ROOST_SETTINGS_LIB_H
#define ROOST_SETTINGS_LIB_H
/* Table-driven binding of a parsed configuration tree (config-parser.h) to
   C structs, with Dovecot 2.3 value syntax, and printing them back in
   config syntax (doveconf -n / -a style).

   A struct is described by a setting_section_info: its size and a table of
   setting_defs (type, key, offsetof, default as config text). Field types:
     SET_STR        const char *
     SET_BOOL       bool            yes / y / 1, no (any case)
     SET_UINT       unsigned int    decimal
     SET_OCTAL      unsigned int    file mode: 0600 is octal, 600 decimal
                                    (as Dovecot); at most 07777
     SET_SIZE       uint64_t        bytes: "0", "1024", "10 k", "512kB",
                                    "10M", "1 G", "2T" (units of 1024)
     SET_TIME       unsigned int    seconds: "0", "30 secs", "5m", "1 hour",
                                    "2 days", "1w"; a unit is required for
                                    non-zero values; "ms" only if the total
                                    is whole seconds
     SET_TIME_MSECS unsigned int    milliseconds, same syntax plus ms/msecs
     SET_ENUM       const char *    default_value lists the allowed words
                                    separated by ':'; the first is the
                                    default. Case-sensitive (as Dovecot).
     SET_SECTION_LIST  ARRAY(struct x *) of repeated sections, each bound
                    with def->section.

   Unit words accepted (any case, any prefix of the word, as Dovecot):
   ms/msecs/mseconds/millisecs/milliseconds, secs/seconds, mins/minutes,
   hours, days, weeks. Sizes: B, k/K, M, G, T, optionally followed by "i"
   and/or "B" ("10MiB", "10kb").

   Errors always start with "file:line: ". Unknown keys suggest the
   nearest known name; keys in a section's unsupported_keys list are
   reported as known to Dovecot but not supported by roost. */
#include "lib.h"
#include "array.h"

struct pool;
struct str;
struct config_node;

enum setting_type {
	SET_STR,
	SET_BOOL,
	SET_UINT,
	SET_OCTAL,
	SET_SIZE,
	SET_TIME,
	SET_TIME_MSECS,
	SET_ENUM,
	SET_SECTION_LIST,
};

struct setting_section_info;

/* Extra check of one value after it was parsed into set (the struct the
   def belongs to). value is the text from the config. Return -1 with
   error_r (no file:line; the binder adds it), allocated from pool or
   static. The check may also normalise the field. */
typedef int setting_check_func_t(void *set, const char *key, const char *value,
				 struct pool *pool, const char **error_r);

struct setting_def {
	enum setting_type type;
	const char *key;
	size_t offset;
	/* Default as config text ("2 secs", "yes", "0600"); NULL means ""
	   (STR) or 0/no. SET_ENUM: "first:second:...". */
	const char *default_value;
	/* SET_SECTION_LIST only */
	const struct setting_section_info *section;
	setting_check_func_t *check;     /* may be NULL */
};
#define SETTING_DEF_END { .key = NULL }

#define SETTINGS_NO_OFFSET ((size_t)-1)

struct setting_section_info {
	/* Section type as written in the config ("service"); used in
	   messages. "" for the top level. */
	const char *type;
	size_t struct_size;
	const struct setting_def *defs;     /* ends with SETTING_DEF_END */
	/* Key (in defs, SET_STR) that receives the section name, or NULL
	   if the section takes no name. */
	const char *name_key;
	/* Sections with the same name are one element: a later section
	   (and the defaults) is merged into it. A name is then required. */
	bool unique;
	/* const char * and unsigned int fields receiving the file:line of
	   the (last) section defining an element; SETTINGS_NO_OFFSET if
	   the struct has none. */
	size_t def_file_offset, def_line_offset;
	/* Dovecot 2.3 names roost does not implement yet (NULL-terminated
	   lists, or NULL). A section listed here is accepted if empty. */
	const char *const *unsupported_keys;
	const char *const *unsupported_sections;
	/* Called after an element was bound. error_r as for checks; the
	   binder prefixes the section's file:line. */
	int (*check)(void *set, struct pool *pool, const char **error_r);
};

/* Several structs filled from the same section (top level: master +
   auth settings). */
struct settings_root {
	const struct setting_section_info *info;
	void *set;
};

/* Generic view of an ARRAY(struct x *) field. */
typedef ARRAY(void *) settings_ptr_array_t;

/* Allocate a struct from pool with every field at its default. */
void *settings_new(const struct setting_section_info *info, struct pool *pool);
/* Fill an allocated (zeroed) struct with defaults. */
void settings_set_defaults(const struct setting_section_info *info, void *set,
			   struct pool *pool);
/* Append a new element with defaults to the SECTION_LIST at def (of set);
   name (may be NULL) goes to the name_key field. */
void *settings_list_add(const struct setting_def *def, void *set,
			const char *name, struct pool *pool);
/* Element of a unique SECTION_LIST by name, or NULL. */
void *settings_list_find(const struct setting_def *def, const void *set,
			 const char *name);
/* Free the heap arrays of SECTION_LISTs, recursively (the structs and
   strings themselves live in the pool). */
void settings_free_arrays(const struct setting_section_info *info, void *set);

/* Bind the children of section (a config tree node) into the roots'
   structs. Strings are copied to pool. Returns 0, or -1 with error_r
   ("file:line: ...", allocated from pool). */
int settings_bind_roots(const struct settings_root *roots, unsigned int count,
			const struct config_node *section, struct pool *pool,
			const char **error_r);
int settings_bind(const struct setting_section_info *info, void *set,
		  const struct config_node *section, struct pool *pool,
		  const char **error_r);

/* The default value text of a top-level key, or NULL if no root has it
   (for the parser's $key expansion). */
const char *settings_roots_default(const struct settings_root *roots,
				   unsigned int count, const char *key,
				   struct pool *pool);

/* Find a def by key (any type); NULL if none. */
const struct setting_def *
settings_find_def(const struct setting_section_info *info, const char *key);

/* Nearest name to key among the defs (and unsupported names) of the
   given infos, or NULL if none is close. */
const char *settings_suggest(const struct setting_section_info *const *infos,
			     unsigned int count, const char *key);
/* Edit distance (Levenshtein), case-insensitive. */
unsigned int settings_edit_distance(const char *a, const char *b);

/* Value parsers. error_r is a static string saying why. */
int settings_parse_bool(const char *value, bool *result_r, const char **error_r);
int settings_parse_uint(const char *value, unsigned int *result_r,
			const char **error_r);
int settings_parse_octal(const char *value, unsigned int *result_r,
			 const char **error_r);
int settings_parse_size(const char *value, uint64_t *result_r,
			const char **error_r);
int settings_parse_time(const char *value, unsigned int *secs_r,
			const char **error_r);
int settings_parse_time_msecs(const char *value, unsigned int *msecs_r,
			      const char **error_r);
/* Does the ':'-separated list contain value? */
bool settings_enum_has(const char *values, const char *value);

/* Value formatters (doveconf style: "2 secs", "1 hours", "256 M",
   "0600"), appending to out. */
void settings_format_size(struct str *out, uint64_t value);
void settings_format_time(struct str *out, unsigned int secs);
void settings_format_time_msecs(struct str *out, unsigned int msecs);
/* The value of def in set as config text (not quoted). */
void settings_format_value(struct str *out, const struct setting_def *def,
			   const void *set);
/* Append value as a config value: quoted with "..." and backslash escapes
   if it has a '#', quotes, backslashes or surrounding whitespace. */
void settings_append_value(struct str *out, const char *value);

/* Print the roots' settings as config text: keys sorted by name, sections
   in their sorted place, nested and indented by two spaces per level.
   Unique lists are sorted by name, other lists keep their order.
   only_changed: print only values differing from defaults. defaults are
   roots of the same infos holding the default values (with default
   elements of unique lists, e.g. the default services); NULL compares
   against the defs' defaults. */
void settings_print_roots(const struct settings_root *roots,
			  const struct settings_root *defaults,
			  unsigned int count, bool only_changed,
			  struct str *out);

#endif
