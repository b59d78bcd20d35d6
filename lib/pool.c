/* Arena pools: a chain of blocks; allocations are bumped from the newest
   block. Large allocations get a block of their own. */
#include "lib.h"
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>

#define POOL_ALIGN 16
#define POOL_MIN_BLOCK 256

struct pool_block {
	struct pool_block *prev;
	size_t size;    /* usable bytes after the header */
	size_t used;
	size_t last_offset; /* offset of the most recent allocation */
	/* data follows, aligned */
};

struct pool {
	const char *name;
	struct pool_block *block;  /* newest */
	size_t first_size;
	size_t total;
	bool secure;
};

#define BLOCK_HEADER_SIZE \
	((sizeof(struct pool_block) + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1))
#define BLOCK_DATA(b) ((unsigned char *)(b) + BLOCK_HEADER_SIZE)

static size_t align_up(size_t size)
{
	return size_add(size, POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
}

static struct pool_block *block_new(struct pool *pool, size_t size)
{
	struct pool_block *block;

	block = x_malloc(size_add(BLOCK_HEADER_SIZE, size));
	block->size = size;
	block->prev = pool->block;
	pool->block = block;
	pool->total += size;
	return block;
}

static void block_free(struct pool *pool, struct pool_block *block)
{
	if (pool->secure)
		explicit_bzero(BLOCK_DATA(block), block->used);
	pool->total -= block->size;
	free(block);
}

static struct pool *pool_create_real(const char *name, size_t size, bool secure)
{
	struct pool *pool = x_malloc(sizeof(*pool));

	pool->name = name;
	pool->secure = secure;
	pool->first_size = align_up(size < POOL_MIN_BLOCK ? POOL_MIN_BLOCK : size);
	block_new(pool, pool->first_size);
	return pool;
}

struct pool *pool_create(const char *name, size_t initial_size)
{
	return pool_create_real(name, initial_size, false);
}

struct pool *pool_create_secure(const char *name, size_t initial_size)
{
	return pool_create_real(name, initial_size, true);
}

void pool_clear(struct pool *pool)
{
	struct pool_block *block = pool->block;

	while (block->prev != NULL) {
		struct pool_block *prev = block->prev;
		block_free(pool, block);
		block = prev;
	}
	pool->block = block;
	/* the first block: wipe what was used so memory starts zeroed */
	memset(BLOCK_DATA(block), 0, block->used);
	block->used = 0;
	block->last_offset = 0;
}

void pool_destroy(struct pool **_pool)
{
	struct pool *pool = *_pool;

	if (pool == NULL)
		return;
	*_pool = NULL;
	while (pool->block != NULL) {
		struct pool_block *prev = pool->block->prev;
		block_free(pool, pool->block);
		pool->block = prev;
	}
	free(pool);
}

void *pool_alloc(struct pool *pool, size_t size)
{
	struct pool_block *block = pool->block;
	size_t asize = align_up(size == 0 ? 1 : size);

	if (block->size - block->used < asize) {
		size_t bsize = block->size * 2;
		if (bsize < asize)
			bsize = asize;
		if (bsize > 1024 * 1024 && asize <= 1024 * 1024)
			bsize = 1024 * 1024;
		block = block_new(pool, bsize);
	}
	void *mem = BLOCK_DATA(block) + block->used;
	block->last_offset = block->used;
	block->used += asize;
	return mem;
}

void *pool_realloc(struct pool *pool, void *mem, size_t old_size, size_t new_size)
{
	struct pool_block *block = pool->block;

	if (mem == NULL)
		return pool_alloc(pool, new_size);
	if (new_size <= old_size)
		return mem;
	if ((unsigned char *)mem == BLOCK_DATA(block) + block->last_offset &&
	    block->size - block->last_offset >= align_up(new_size)) {
		/* the most recent allocation: grow in place (the tail of the
		   block is still zero) */
		block->used = block->last_offset + align_up(new_size);
		return mem;
	}
	void *new_mem = pool_alloc(pool, new_size);
	memcpy(new_mem, mem, old_size);
	if (pool->secure)
		explicit_bzero(mem, old_size);
	return new_mem;
}

char *pool_strndup(struct pool *pool, const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *ret = pool_alloc(pool, size_add(len, 1));
	memcpy(ret, s, len);
	return ret;
}

char *pool_strdup(struct pool *pool, const char *s)
{
	if (s == NULL)
		return NULL;
	return pool_strndup(pool, s, strlen(s));
}

void *pool_memdup(struct pool *pool, const void *data, size_t size)
{
	void *ret = pool_alloc(pool, size);
	if (size > 0)
		memcpy(ret, data, size);
	return ret;
}

char *pool_vprintf(struct pool *pool, const char *fmt, va_list args)
{
	va_list args2;
	char buf[256];
	int len;

	va_copy(args2, args);
	len = vsnprintf(buf, sizeof(buf), fmt, args);
	if (len < 0)
		lib_panic(__FILE__, __LINE__, "vsnprintf(%s) failed", fmt);
	char *ret = pool_alloc(pool, (size_t)len + 1);
	if ((size_t)len < sizeof(buf))
		memcpy(ret, buf, (size_t)len + 1);
	else
		vsnprintf(ret, (size_t)len + 1, fmt, args2);
	va_end(args2);
	return ret;
}

char *pool_printf(struct pool *pool, const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	char *ret = pool_vprintf(pool, fmt, args);
	va_end(args);
	return ret;
}

char *pool_strconcat(struct pool *pool, const char *s, ...)
{
	va_list args;
	size_t total = 0;
	const char *p;

	va_start(args, s);
	for (p = s; p != NULL; p = va_arg(args, const char *))
		total = size_add(total, strlen(p));
	va_end(args);

	char *ret = pool_alloc(pool, size_add(total, 1));
	char *dest = ret;
	va_start(args, s);
	for (p = s; p != NULL; p = va_arg(args, const char *)) {
		size_t len = strlen(p);
		memcpy(dest, p, len);
		dest += len;
	}
	va_end(args);
	return ret;
}

size_t pool_allocated_size(const struct pool *pool)
{
	return pool->total;
}
