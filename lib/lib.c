/* Basic helpers: checked allocation, panic, small string utilities. */
#include "lib.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <strings.h>
#include <unistd.h>

static void ATTR_NORETURN out_of_memory(size_t size)
{
	/* Avoid allocating: write directly. */
	char buf[128];
	int len = snprintf(buf, sizeof(buf),
			   "Panic: out of memory allocating %zu bytes\n", size);
	if (len > 0) {
		ssize_t ret ATTR_UNUSED = write(STDERR_FILENO, buf, (size_t)len);
	}
	abort();
}

void *x_malloc(size_t size)
{
	void *mem = calloc(1, size == 0 ? 1 : size);
	if (mem == NULL)
		out_of_memory(size);
	return mem;
}

void *x_realloc(void *mem, size_t old_size, size_t new_size)
{
	void *ret = realloc(mem, new_size == 0 ? 1 : new_size);
	if (ret == NULL)
		out_of_memory(new_size);
	if (new_size > old_size)
		memset((char *)ret + old_size, 0, new_size - old_size);
	return ret;
}

char *x_strdup(const char *s)
{
	return x_strndup(s, strlen(s));
}

char *x_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *ret = x_malloc(size_add(len, 1));
	memcpy(ret, s, len);
	return ret;
}

char *x_vprintf(const char *fmt, va_list args)
{
	char *ret;
	if (vasprintf(&ret, fmt, args) < 0)
		out_of_memory(strlen(fmt));
	return ret;
}

char *x_printf(const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	char *ret = x_vprintf(fmt, args);
	va_end(args);
	return ret;
}

void x_free_secret(void *mem, size_t size)
{
	if (mem == NULL)
		return;
	explicit_bzero(mem, size);
	free(mem);
}

size_t size_add(size_t a, size_t b)
{
	size_t r;
	if (__builtin_add_overflow(a, b, &r))
		lib_panic(__FILE__, __LINE__, "size overflow: %zu + %zu", a, b);
	return r;
}

size_t size_mul(size_t a, size_t b)
{
	size_t r;
	if (__builtin_mul_overflow(a, b, &r))
		lib_panic(__FILE__, __LINE__, "size overflow: %zu * %zu", a, b);
	return r;
}

void lib_panic(const char *file, int line, const char *fmt, ...)
{
	va_list args;
	char *msg;

	va_start(args, fmt);
	if (vasprintf(&msg, fmt, args) < 0)
		msg = NULL;
	va_end(args);
	log_msg(LOG_LEVEL_PANIC, NULL, "%s (at %s:%d)",
		msg != NULL ? msg : fmt, file, line);
	abort();
}

bool str_eq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

bool str_ieq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

bool str_begins(const char *s, const char *prefix, const char **rest_r)
{
	size_t len = strlen(prefix);
	if (strncmp(s, prefix, len) != 0)
		return false;
	if (rest_r != NULL)
		*rest_r = s + len;
	return true;
}

int str_to_uint64(const char *s, uint64_t *num_r)
{
	uint64_t n = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned int digit = (unsigned int)(*s - '0');
		if (n > (UINT64_MAX - digit) / 10)
			return -1;
		n = n * 10 + digit;
	}
	*num_r = n;
	return 0;
}

int str_to_uint32(const char *s, uint32_t *num_r)
{
	uint64_t n;
	if (str_to_uint64(s, &n) < 0 || n > UINT32_MAX)
		return -1;
	*num_r = (uint32_t)n;
	return 0;
}

int str_to_uint(const char *s, unsigned int *num_r)
{
	uint64_t n;
	if (str_to_uint64(s, &n) < 0 || n > UINT_MAX)
		return -1;
	*num_r = (unsigned int)n;
	return 0;
}
