#ifndef ROOST_LIB_H
#define ROOST_LIB_H
/* Common definitions every roost source file includes first. */

#define _GNU_SOURCE 1
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <string.h>
#include <errno.h>
#include <sys/types.h>

#define ATTR_FORMAT(fmt, args) __attribute__((format(printf, fmt, args)))
#define ATTR_NORETURN __attribute__((noreturn))
#define ATTR_UNUSED __attribute__((unused))
#define ATTR_WARN_UNUSED __attribute__((warn_unused_result))

#define N_ELEMENTS(arr) (sizeof(arr) / sizeof((arr)[0]))

/* Bugs abort loudly (logged through the log module). */
void lib_panic(const char *file, int line, const char *fmt, ...)
	ATTR_FORMAT(3, 4) ATTR_NORETURN;
#define i_assert(expr) \
	do { if (__builtin_expect(!(expr), 0)) \
		lib_panic(__FILE__, __LINE__, "assertion failed: %s", #expr); \
	} while (0)
#define i_unreached() lib_panic(__FILE__, __LINE__, "unreachable code reached")

/* Heap helpers: memory starts zeroed, allocation never returns NULL
   (failure logs and aborts). x_free() sets the pointer to NULL. */
void *x_malloc(size_t size);
void *x_realloc(void *mem, size_t old_size, size_t new_size);
char *x_strdup(const char *s);
char *x_strndup(const char *s, size_t n);
char *x_printf(const char *fmt, ...) ATTR_FORMAT(1, 2);
char *x_vprintf(const char *fmt, va_list args) ATTR_FORMAT(1, 0);
#define x_free(p) do { free(p); (p) = NULL; } while (0)
/* Wipe a secret and free it. */
void x_free_secret(void *mem, size_t size);

/* Size arithmetic that aborts on overflow. */
size_t size_add(size_t a, size_t b);
size_t size_mul(size_t a, size_t b);

#include <stdlib.h>

/* Case-insensitive ASCII compare helpers. */
bool str_eq(const char *a, const char *b);
bool str_ieq(const char *a, const char *b);
bool str_begins(const char *s, const char *prefix, const char **rest_r);

/* Parse unsigned integers strictly (no sign, no spaces, no trailing text).
   Return 0 on success, -1 on error or overflow. */
int str_to_uint32(const char *s, uint32_t *num_r);
int str_to_uint64(const char *s, uint64_t *num_r);
int str_to_uint(const char *s, unsigned int *num_r);

#endif
