#ifndef ROOST_VAR_EXPAND_H
#define ROOST_VAR_EXPAND_H
/* Dovecot 2.3 %variable expansion ("%Ln@%d", "%{user}", "%2.1Mu").

   Syntax after '%':  [-][0]offset-or-width [.[0][-]width] [modifiers] key
     key        one character from the table (%u), or {long_key} (%{user});
                %% is a literal '%'.
     width      %2u: the first 2 characters; %-2.2u counts the offset from
                the end (the last 2 characters); %0.-2u: all but the last
                2; a width starting with 0 (%04u) pads with '0' on the left
                instead of truncating.
     modifiers  applied left to right, before offset/width:
                L lowercase, U uppercase, E backslash-escape " ' and \,
                X decimal number -> hex, R reverse, M md5 (hex),
                N 32-bit md5-based hash in hex (%256Nu: modulo 256; the
                offset becomes zero padding: %2.256Nu gives 00..ff),
                H the same with Dovecot's old string hash, D "a.b.c" ->
                "a,dc=b,dc=c", T trim trailing whitespace.
   Built-in long keys (when the table has no such long_key): env:NAME,
   pid, uid, gid (effective), hostname (without domain).
   Dovecot 2.4's %{user | lower} filters and 2.3's %{if;...} and
   %{sha256:...} are not supported: they are reported as errors.

   Unknown variables make the call return -1 with error_r naming the first
   one ("Unknown variable '%x'" / "Unknown variable '%{foo}'"); the rest of
   the string is still expanded (an unknown variable expands to nothing),
   so a configuration check can report the error and a request can still
   log what it got. */
#include "lib.h"

struct str;

struct var_expand_table {
	char key;               /* '\0' if only long_key */
	const char *long_key;   /* NULL if only key */
	const char *value;      /* NULL expands to "" */
};
/* A table ends with an all-zero entry: { '\0', NULL, NULL } */

struct var_expand_func_table {
	const char *key;        /* "passdb" handles %{passdb:name[:default]} */
	/* data is the text after "key:". Return 1 with value_r set (NULL is
	   ""), 0 if unknown (-> "Unknown variable"), -1 on error with
	   error_r (a string that lives at least until var_expand returns). */
	int (*func)(const char *data, void *context, const char **value_r,
		    const char **error_r);
};
/* A func table ends with { NULL, NULL } */

/* Expand fmt into dest. Returns 0 on success, -1 on error; error_r is then
   a malloc()ed message the caller frees (NULL on success). table and funcs
   may be NULL. */
int var_expand(struct str *dest, const char *fmt,
	       const struct var_expand_table *table, char **error_r);
int var_expand_with_funcs(struct str *dest, const char *fmt,
			  const struct var_expand_table *table,
			  const struct var_expand_func_table *funcs,
			  void *context, char **error_r);

/* Does fmt use the variable key (e.g. 'u') or long_key (e.g. "user")?
   Either may be '\0' / NULL. */
bool var_has_key(const char *fmt, char key, const char *long_key);

/* Call func for each variable fmt references, in order, duplicates
   included (modifiers and width dropped): key is the short key or '\0',
   long_key/long_key_len the text inside %{...}. Stops at a malformed
   expression. For cache keys built from query templates. */
void var_expand_foreach_key(const char *fmt,
			    void (*func)(char key, const char *long_key,
					 size_t long_key_len, void *context),
			    void *context);

/* Check that fmt uses only variables of the table (and built-ins, and
   func prefixes from funcs): -1 with a malloc()ed error_r naming the first
   unknown one. For configuration checks. */
int var_expand_check(const char *fmt, const struct var_expand_table *table,
		     const struct var_expand_func_table *funcs,
		     char **error_r);

#endif
