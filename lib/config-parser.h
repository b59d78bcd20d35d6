#ifndef ROOST_CONFIG_PARSER_H
#define ROOST_CONFIG_PARSER_H
/* Parser for Dovecot 2.3 configuration syntax (dovecot.conf). It knows no
   setting names: it turns text into a tree of nodes, each remembering the
   file and line it came from. lib/settings.h binds a tree to structs.

   Syntax (as Dovecot 2.3 reads it, with the differences noted):
     key = value          value runs to the end of the line, surrounding
                          whitespace trimmed. "..." or '...' quote it;
                          inside quotes a backslash takes the next
                          character literally. Text after the closing
                          quote is an error (Dovecot keeps it silently).
     # comment            a '#' outside quotes starts a comment anywhere on
                          a line; if not preceded by whitespace a warning
                          is recorded (Dovecot warns the same way).
     line \               a trailing backslash joins the next line, with
                          one space between the parts.
     key = <path          the value is the content of the file, with
                          trailing CR/LF trimmed (Dovecot keeps them);
                          relative to the including file's directory.
     key = $other more    in unquoted values a word starting with '$' is
                          replaced: $ENV:NAME by the environment variable
                          (empty if unset), $key by the value key got
                          earlier in this section or an enclosing one,
                          else by the caller's default (lookup_default).
                          Unknown names are an error.
     type [name] {        opens a section (name may be quoted), closed by
     }                    a line with only '}'. A section must be closed
                          in the file that opened it.
     !include PATH        glob(3) pattern, relative to the including file's
                          directory; no match is an error.
     !include_try PATH    the same, but a missing file is fine.

   Every error reads "file:line: what is wrong". Resource use is bounded by
   struct config_parse_limits. */
#include "lib.h"

struct pool;

enum config_node_type {
	CONFIG_NODE_KEY,
	CONFIG_NODE_SECTION,
};

struct config_node {
	enum config_node_type type;
	/* KEY: the setting name. SECTION: the section type ("service");
	   the root node has "". */
	const char *key;
	/* KEY: the value, after unquoting, <file and $ expansion.
	   SECTION: the section name, or "" if none was given. */
	const char *value;
	const char *file;       /* path as given/resolved, for messages */
	unsigned int line;      /* 1-based; 0 for the root */
	struct config_node *parent;
	/* SECTION: children in file order (linked through next) */
	struct config_node *children, *children_tail;
	struct config_node *next;
};

/* Bounds. A zero field means the default given in brackets. */
struct config_parse_limits {
	size_t max_line_length;       /* [65536] physical or joined line */
	size_t max_file_size;         /* [4 MiB] one file, also for <file */
	size_t max_total_size;        /* [32 MiB] all files read together */
	size_t max_value_length;      /* [1 MiB] a value after $ expansion */
	unsigned int max_section_depth;  /* [16] */
	unsigned int max_include_depth;  /* [16] */
	unsigned int max_files;       /* [1000] files opened in total */
	unsigned int max_nodes;       /* [200000] nodes in the tree */
};

/* Default value for "$key" when key was not set earlier in the config.
   Returns NULL if the key is unknown (the parser then fails with
   "Unknown variable: $key"). The section argument is the section the
   reference appears in (root for top level). */
typedef const char *
config_lookup_default_func_t(const struct config_node *section,
			     const char *key, void *context);

struct config_parse_settings {
	struct config_parse_limits limits;
	config_lookup_default_func_t *lookup_default;   /* may be NULL */
	void *context;
};

struct config_tree {
	struct config_node *root;       /* a SECTION with key "" */
	/* Warnings ("file:line: ..."), NULL-terminated; never NULL. */
	const char *const *warnings;
	unsigned int warning_count;
};

/* Parse the file at path. The tree, its strings and the error message are
   allocated from pool, which the caller owns (one pool_destroy() frees
   it all). set may be NULL for defaults. Returns 0 on success, -1 with
   error_r on failure. */
int config_parse_file(const char *path, const struct config_parse_settings *set,
		      struct pool *pool, struct config_tree **tree_r,
		      const char **error_r);
/* Parse text as if it were the content of a file called name. Relative
   !include and <file paths are resolved against the directory of name
   (the current directory if name has none). */
int config_parse_string(const char *text, const char *name,
			const struct config_parse_settings *set,
			struct pool *pool, struct config_tree **tree_r,
			const char **error_r);

/* Tree helpers. */
/* The last KEY child of section called key, or NULL. */
const struct config_node *
config_node_find_key(const struct config_node *section, const char *key);
/* "file:line" of a node, allocated from pool. */
const char *config_node_where(const struct config_node *node, struct pool *pool);

#endif
