#ifndef ROOST_POOL_H
#define ROOST_POOL_H
/* Memory pools: arenas for one lifetime (auth request, IMAP command,
   session). Everything allocated from a pool is freed at once by
   pool_destroy(). Memory starts zeroed; allocation never fails.
   A pool created with pool_create_secure() wipes all its memory with
   explicit_bzero() before releasing it (for passwords and keys). */
#include "lib.h"

struct pool;

struct pool *pool_create(const char *name, size_t initial_size);
struct pool *pool_create_secure(const char *name, size_t initial_size);
void pool_destroy(struct pool **pool);
/* Free everything allocated so far but keep the pool (first block). */
void pool_clear(struct pool *pool);

void *pool_alloc(struct pool *pool, size_t size);
/* Grow the most recent allocation in place when possible. */
void *pool_realloc(struct pool *pool, void *mem, size_t old_size, size_t new_size);
char *pool_strdup(struct pool *pool, const char *s);
char *pool_strndup(struct pool *pool, const char *s, size_t n);
void *pool_memdup(struct pool *pool, const void *data, size_t size);
char *pool_printf(struct pool *pool, const char *fmt, ...) ATTR_FORMAT(2, 3);
char *pool_vprintf(struct pool *pool, const char *fmt, va_list args) ATTR_FORMAT(2, 0);
/* Concatenate NULL-terminated list of strings. */
char *pool_strconcat(struct pool *pool, const char *s, ...) __attribute__((sentinel));
/* Bytes currently allocated from the system for this pool. */
size_t pool_allocated_size(const struct pool *pool);

#endif
