/* Growing, optionally bounded, always NUL-terminated buffers. */
#include "lib.h"
#include "str.h"
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>

void str_init(string_t *str, size_t initial, size_t max)
{
	memset(str, 0, sizeof(*str));
	str->alloc = initial < 16 ? 16 : initial;
	str->data = x_malloc(str->alloc);
	str->max = max;
}

void str_deinit(string_t *str)
{
	if (str->data == NULL)
		return;
	if (str->secure)
		explicit_bzero(str->data, str->alloc);
	free(str->data);
	str->data = NULL;
	str->len = str->alloc = 0;
}

/* A small cache of freed strs (with their buffers) for the thread that
   enabled it, so hot paths that create and free a few strs per request
   don't pay for malloc/free each time. Other threads never use it. */
#define STR_CACHE_MAX 32
#define STR_CACHE_MAX_ALLOC 4096
static __thread bool str_cache_enabled;
static string_t *str_cache[STR_CACHE_MAX];
static unsigned int str_cache_count;

void str_cache_enable(void)
{
	str_cache_enabled = true;
}

void str_cache_disable(void)
{
	if (!str_cache_enabled)
		return;
	while (str_cache_count > 0) {
		string_t *str = str_cache[--str_cache_count];
		free(str->data);
		free(str);
	}
	str_cache_enabled = false;
}

static string_t *str_new(size_t initial, size_t max)
{
	if (str_cache_enabled && str_cache_count > 0) {
		string_t *str = str_cache[--str_cache_count];
		if (str->alloc >= initial || str->alloc >= STR_CACHE_MAX_ALLOC) {
			str->data[0] = '\0';
			str->len = 0;
			str->max = max;
			str->overflow = false;
			str->secure = false;
			return str;
		}
		free(str->data);
		str_init(str, initial, max);
		return str;
	}
	string_t *str = x_malloc(sizeof(*str));
	str_init(str, initial, max);
	return str;
}

string_t *str_create(size_t initial)
{
	return str_new(initial, 0);
}

string_t *str_create_max(size_t initial, size_t max)
{
	return str_new(initial, max);
}

string_t *str_create_secure(size_t initial)
{
	string_t *str = str_new(initial, 0);
	str->secure = true;
	return str;
}

void str_free(string_t **_str)
{
	string_t *str = *_str;
	if (str == NULL)
		return;
	*_str = NULL;
	if (str_cache_enabled && str_cache_count < STR_CACHE_MAX &&
	    str->alloc <= STR_CACHE_MAX_ALLOC) {
		/* wipe what a secure str held (and reset for reuse) */
		if (str->secure)
			explicit_bzero(str->data, str->alloc);
		str_cache[str_cache_count++] = str;
		return;
	}
	str_deinit(str);
	free(str);
}

char *str_free_without_data(string_t **_str)
{
	string_t *str = *_str;
	char *data = str->data;
	*_str = NULL;
	free(str);
	return data;
}

/* Make room for size more bytes (+NUL). Returns false if the maximum
   would be exceeded. */
static bool str_reserve(string_t *str, size_t size)
{
	size_t need = size_add(size_add(str->len, size), 1);

	if (str->max != 0 && need - 1 > str->max) {
		str->overflow = true;
		return false;
	}
	if (need <= str->alloc)
		return true;
	size_t new_alloc = str->alloc * 2;
	while (new_alloc < need)
		new_alloc = size_mul(new_alloc, 2);
	if (str->max != 0 && new_alloc > str->max + 1)
		new_alloc = str->max + 1;
	if (str->secure) {
		char *data = x_malloc(new_alloc);
		memcpy(data, str->data, str->len + 1);
		explicit_bzero(str->data, str->alloc);
		free(str->data);
		str->data = data;
	} else {
		str->data = x_realloc(str->data, str->alloc, new_alloc);
	}
	str->alloc = new_alloc;
	return true;
}

void str_append_n(string_t *str, const void *data, size_t size)
{
	if (size == 0 || !str_reserve(str, size))
		return;
	memcpy(str->data + str->len, data, size);
	str->len += size;
	str->data[str->len] = '\0';
}

void str_append(string_t *str, const char *s)
{
	str_append_n(str, s, strlen(s));
}

void str_append_c(string_t *str, char c)
{
	if (!str_reserve(str, 1))
		return;
	str->data[str->len++] = c;
	str->data[str->len] = '\0';
}

void str_append_str(string_t *dest, const string_t *src)
{
	str_append_n(dest, src->data, src->len);
}

void str_vprintfa(string_t *str, const char *fmt, va_list args)
{
	va_list args2;
	int len;

	va_copy(args2, args);
	size_t avail = str->alloc - str->len;
	len = vsnprintf(str->data + str->len, avail, fmt, args);
	if (len < 0)
		lib_panic(__FILE__, __LINE__, "vsnprintf(%s) failed", fmt);
	if ((size_t)len < avail && (str->max == 0 || str->len + (size_t)len <= str->max)) {
		str->len += (size_t)len;
	} else {
		str->data[str->len] = '\0';
		if (str_reserve(str, (size_t)len)) {
			vsnprintf(str->data + str->len, (size_t)len + 1, fmt, args2);
			str->len += (size_t)len;
		}
	}
	va_end(args2);
}

void str_printfa(string_t *str, const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	str_vprintfa(str, fmt, args);
	va_end(args);
}

void str_append_uint(string_t *str, uint64_t num)
{
	char buf[24];
	size_t pos = sizeof(buf);
	do {
		buf[--pos] = (char)('0' + num % 10);
		num /= 10;
	} while (num > 0);
	str_append_n(str, buf + pos, sizeof(buf) - pos);
}

void str_truncate(string_t *str, size_t len)
{
	if (len >= str->len)
		return;
	if (str->secure)
		explicit_bzero(str->data + len, str->len - len);
	str->len = len;
	str->data[len] = '\0';
}

void str_delete_head(string_t *str, size_t size)
{
	if (size >= str->len) {
		str_truncate(str, 0);
		return;
	}
	memmove(str->data, str->data + size, str->len - size);
	str->len -= size;
	if (str->secure)
		explicit_bzero(str->data + str->len, size);
	str->data[str->len] = '\0';
}

void str_append_tabescaped_n(string_t *dest, const unsigned char *src, size_t size)
{
	size_t start = 0;

	for (size_t i = 0; i < size; i++) {
		char esc;
		switch (src[i]) {
		case '\0': esc = '0'; break;
		case '\001': esc = '1'; break;
		case '\t': esc = 't'; break;
		case '\r': esc = 'r'; break;
		case '\n': esc = 'n'; break;
		default: continue;
		}
		str_append_n(dest, src + start, i - start);
		str_append_c(dest, '\001');
		str_append_c(dest, esc);
		start = i + 1;
	}
	str_append_n(dest, src + start, size - start);
}

void str_append_tabescaped(string_t *dest, const char *src)
{
	str_append_tabescaped_n(dest, (const unsigned char *)src, strlen(src));
}

char *str_tabunescape(char *s)
{
	char *p = strchr(s, '\001');
	if (p == NULL)
		return s;
	char *dest = p;
	for (; *p != '\0'; p++) {
		if (*p != '\001') {
			*dest++ = *p;
			continue;
		}
		p++;
		switch (*p) {
		case '\0':
			/* escape at the end: drop it */
			p--;
			break;
		case '0': *dest++ = '\0'; break;
		case '1': *dest++ = '\001'; break;
		case 't': *dest++ = '\t'; break;
		case 'r': *dest++ = '\r'; break;
		case 'n': *dest++ = '\n'; break;
		default: *dest++ = *p; break;
		}
	}
	*dest = '\0';
	return s;
}

char **str_split(struct pool *pool, char *s, char sep, unsigned int *count_r)
{
	unsigned int count = 1;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == sep)
			count++;
	}
	size_t size = size_mul((size_t)count + 1, sizeof(char *));
	char **arr = pool == NULL ? x_malloc(size) : pool_alloc(pool, size);
	unsigned int i = 0;
	arr[i++] = s;
	for (char *p = s; *p != '\0'; p++) {
		if (*p == sep) {
			*p = '\0';
			arr[i++] = p + 1;
		}
	}
	arr[i] = NULL;
	if (count_r != NULL)
		*count_r = count;
	return arr;
}
