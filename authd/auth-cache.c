/* LRU cache with a byte budget; see auth-cache.h. */
#include "lib.h"
#include "hash.h"
#include "pool.h"
#include "str.h"
#include "var-expand.h"
#include "auth-cache.h"

#include <stdlib.h>
#include <time.h>

struct cache_node {
	struct cache_node *prev, *next;   /* LRU: head = most recent */
	time_t created;
	bool last_success;
	size_t size;                      /* accounted bytes */
	char *value;
	char key[];                       /* NUL-terminated */
};

struct auth_cache {
	struct hash_table *table;         /* key -> node */
	struct cache_node *head, *tail;
	size_t max_bytes, bytes;
	unsigned int ttl, negative_ttl;
	time_t (*now)(void);
	struct auth_cache_stats stats;
};

static time_t monotonic_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

struct auth_cache *auth_cache_create(size_t max_bytes, unsigned int ttl_secs,
				     unsigned int negative_ttl_secs,
				     time_t (*now_func)(void))
{
	if (max_bytes == 0 || ttl_secs == 0)
		return NULL;
	struct auth_cache *cache = x_malloc(sizeof(*cache));
	cache->table = hash_table_create_str(false);
	cache->max_bytes = max_bytes;
	cache->ttl = ttl_secs;
	cache->negative_ttl = negative_ttl_secs;
	cache->now = now_func != NULL ? now_func : monotonic_now;
	return cache;
}

static void node_unlink(struct auth_cache *cache, struct cache_node *node)
{
	if (node->prev != NULL)
		node->prev->next = node->next;
	else
		cache->head = node->next;
	if (node->next != NULL)
		node->next->prev = node->prev;
	else
		cache->tail = node->prev;
	node->prev = node->next = NULL;
}

static void node_link_head(struct auth_cache *cache, struct cache_node *node)
{
	node->next = cache->head;
	node->prev = NULL;
	if (cache->head != NULL)
		cache->head->prev = node;
	cache->head = node;
	if (cache->tail == NULL)
		cache->tail = node;
}

static void node_free(struct auth_cache *cache, struct cache_node *node)
{
	hash_table_remove_str(cache->table, node->key);
	node_unlink(cache, node);
	cache->bytes -= node->size;
	/* cached passwords are secrets */
	x_free_secret(node->value, strlen(node->value) + 1);
	x_free_secret(node, sizeof(*node) + strlen(node->key) + 1);
}

void auth_cache_set_now_func(struct auth_cache *cache, time_t (*now_func)(void))
{
	cache->now = now_func;
}

void auth_cache_destroy(struct auth_cache **_cache)
{
	struct auth_cache *cache = *_cache;
	if (cache == NULL)
		return;
	*_cache = NULL;
	auth_cache_flush(cache);
	hash_table_destroy(&cache->table);
	free(cache);
}

bool auth_cache_lookup(struct auth_cache *cache, const char *key,
		       struct auth_cache_result *result_r)
{
	struct cache_node *node = hash_table_lookup_str(cache->table, key);

	memset(result_r, 0, sizeof(*result_r));
	if (node == NULL) {
		cache->stats.misses++;
		return false;
	}
	time_t age = cache->now() - node->created;
	bool negative = node->value[0] == '\0';
	result_r->value = node->value;
	result_r->last_success = node->last_success;
	result_r->negative_expired = age >= (time_t)cache->negative_ttl;
	result_r->expired = age >= (time_t)(negative ? cache->negative_ttl : cache->ttl);
	if (result_r->expired) {
		cache->stats.expired++;
	} else {
		if (negative)
			cache->stats.negative_hits++;
		else
			cache->stats.hits++;
		node_unlink(cache, node);
		node_link_head(cache, node);
	}
	return true;
}

void auth_cache_insert(struct auth_cache *cache, const char *key,
		       const char *value, bool last_success)
{
	if (value[0] == '\0' && cache->negative_ttl == 0)
		return;
	struct cache_node *old = hash_table_lookup_str(cache->table, key);
	if (old != NULL)
		node_free(cache, old);

	size_t key_len = strlen(key), value_len = strlen(value);
	size_t size = sizeof(struct cache_node) + key_len + 1 + value_len + 1;
	if (size > cache->max_bytes)
		return;
	while (cache->bytes + size > cache->max_bytes && cache->tail != NULL) {
		node_free(cache, cache->tail);
		cache->stats.evictions++;
	}
	struct cache_node *node = x_malloc(sizeof(*node) + key_len + 1);
	memcpy(node->key, key, key_len + 1);
	node->value = x_strndup(value, value_len);
	node->created = cache->now();
	node->last_success = last_success;
	node->size = size;
	cache->bytes += size;
	hash_table_insert_str(cache->table, node->key, node);
	node_link_head(cache, node);
	cache->stats.inserts++;
}

void auth_cache_set_last_success(struct auth_cache *cache, const char *key,
				 bool last_success)
{
	struct cache_node *node = hash_table_lookup_str(cache->table, key);
	if (node != NULL)
		node->last_success = last_success;
}

bool auth_cache_remove(struct auth_cache *cache, const char *key)
{
	struct cache_node *node = hash_table_lookup_str(cache->table, key);
	if (node == NULL)
		return false;
	node_free(cache, node);
	return true;
}

unsigned int auth_cache_flush(struct auth_cache *cache)
{
	unsigned int count = 0;
	while (cache->head != NULL) {
		node_free(cache, cache->head);
		count++;
	}
	return count;
}

/* key = "P<id>\t<part>\t<part>..." (tab-escaped parts): does the first
   expanded part equal user? */
static bool key_has_user(const char *key, const char *user)
{
	const char *tab = strchr(key, '\t');
	if (tab == NULL)
		return false;
	size_t len = strlen(user);
	return strncmp(tab + 1, user, len) == 0 &&
		(tab[1 + len] == '\0' || tab[1 + len] == '\t');
}

unsigned int auth_cache_flush_user(struct auth_cache *cache, const char *user)
{
	unsigned int count = 0;
	struct cache_node *node = cache->head;
	while (node != NULL) {
		struct cache_node *next = node->next;
		if (key_has_user(node->key, user)) {
			node_free(cache, node);
			count++;
		}
		node = next;
	}
	return count;
}

void auth_cache_get_stats(const struct auth_cache *cache,
			  struct auth_cache_stats *stats_r)
{
	*stats_r = cache->stats;
	stats_r->entries = hash_table_count(cache->table);
	stats_r->bytes = cache->bytes;
}

struct cache_key_ctx {
	string_t *vars[32];
	unsigned int count;
	bool overflow;
};

static void cache_key_add(char key, const char *long_key, size_t long_key_len,
			  void *context)
{
	struct cache_key_ctx *ctx = context;
	string_t *var = str_create(16);

	if (key == '\0') {
		/* the long names of the common short keys */
		static const struct { const char *name; char key; } aliases[] = {
			{ "user", 'u' }, { "username", 'n' }, { "domain", 'd' },
			{ "service", 's' }, { "rip", 'r' }, { "lip", 'l' },
		};
		for (size_t i = 0; i < N_ELEMENTS(aliases); i++) {
			if (strlen(aliases[i].name) == long_key_len &&
			    memcmp(aliases[i].name, long_key, long_key_len) == 0)
				key = aliases[i].key;
		}
	}
	if (key != '\0') {
		str_append_c(var, '%');
		str_append_c(var, key);
	} else {
		str_append(var, "%{");
		str_append_n(var, long_key, long_key_len);
		str_append_c(var, '}');
	}
	for (unsigned int i = 0; i < ctx->count; i++) {
		if (str_eq(str_c(ctx->vars[i]), str_c(var))) {
			str_free(&var);
			return;
		}
	}
	if (ctx->count == N_ELEMENTS(ctx->vars)) {
		ctx->overflow = true;
		str_free(&var);
		return;
	}
	ctx->vars[ctx->count++] = var;
}

const char *auth_cache_parse_key(struct pool *pool, const char *const *templates)
{
	struct cache_key_ctx ctx = { .count = 0 };
	bool have_n = false, have_d = false, have_u = false;

	for (; templates != NULL && *templates != NULL; templates++)
		var_expand_foreach_key(*templates, cache_key_add, &ctx);
	for (unsigned int i = 0; i < ctx.count; i++) {
		const char *v = str_c(ctx.vars[i]);
		have_n = have_n || str_eq(v, "%n");
		have_d = have_d || str_eq(v, "%d");
		have_u = have_u || str_eq(v, "%u");
	}
	string_t *key = str_create(64);
	bool merged = have_n && have_d;
	if (merged && !have_u)
		str_append(key, "%u");
	for (unsigned int i = 0; i < ctx.count; i++) {
		const char *v = str_c(ctx.vars[i]);
		if (merged && (str_eq(v, "%n") || str_eq(v, "%d")))
			continue;
		if (str_len(key) > 0)
			str_append_c(key, '\t');
		str_append(key, v);
	}
	/* more variables than we track: a partial key could mix users up,
	   so such a driver is not cached at all */
	const char *result = str_len(key) == 0 ? NULL : pool_strdup(pool, str_c(key));
	if (ctx.overflow)
		result = NULL;
	for (unsigned int i = 0; i < ctx.count; i++)
		str_free(&ctx.vars[i]);
	str_free(&key);
	return result;
}
