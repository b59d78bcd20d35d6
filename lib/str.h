#ifndef ROOST_STR_H
#define ROOST_STR_H
/* The one growing buffer type for text and binary data. It is always
   NUL-terminated (str_c() is a valid C string; binary data may contain
   NULs too). An optional maximum size bounds untrusted input: appends that
   would pass it are dropped and str_overflowed() turns true.
   A secure str wipes its memory when it grows or is freed. */
#include "lib.h"

typedef struct str {
	char *data;
	size_t len;
	size_t alloc;
	size_t max;      /* 0 = unlimited */
	bool overflow;
	bool secure;
} string_t;

string_t *str_create(size_t initial);
string_t *str_create_max(size_t initial, size_t max);
string_t *str_create_secure(size_t initial);
void str_free(string_t **str);
/* Returns the buffer's data as malloc()ed string and frees the str. */
char *str_free_without_data(string_t **str);

/* Reuse freed strs in this thread (one thread per process may enable it;
   disable frees the cache). For event-loop processes. */
void str_cache_enable(void);
void str_cache_disable(void);

/* Initialise a str living inside another struct or on the stack. */
void str_init(string_t *str, size_t initial, size_t max);
void str_deinit(string_t *str);

static inline const char *str_c(const string_t *str) { return str->data; }
static inline const unsigned char *str_data(const string_t *str)
	{ return (const unsigned char *)str->data; }
static inline size_t str_len(const string_t *str) { return str->len; }
static inline bool str_overflowed(const string_t *str) { return str->overflow; }

void str_append(string_t *str, const char *s);
void str_append_n(string_t *str, const void *data, size_t size);
void str_append_c(string_t *str, char c);
void str_append_str(string_t *dest, const string_t *src);
void str_printfa(string_t *str, const char *fmt, ...) ATTR_FORMAT(2, 3);
void str_vprintfa(string_t *str, const char *fmt, va_list args) ATTR_FORMAT(2, 0);
/* Decimal number, without printf. */
void str_append_uint(string_t *str, uint64_t num);
void str_truncate(string_t *str, size_t len);
static inline void str_clear(string_t *str) { str_truncate(str, 0); }
/* Remove size bytes from the beginning. */
void str_delete_head(string_t *str, size_t size);

/* Dovecot's TAB escaping (\001 escapes NUL, \001, TAB, CR, LF). */
void str_append_tabescaped(string_t *dest, const char *src);
void str_append_tabescaped_n(string_t *dest, const unsigned char *src, size_t size);
/* Unescape in place; returns the string. */
char *str_tabunescape(char *s);

/* Split s at sep in place into a NULL-terminated array allocated from
   pool (if pool is NULL, from the heap: free the array only). */
struct pool;
char **str_split(struct pool *pool, char *s, char sep, unsigned int *count_r);

#endif
