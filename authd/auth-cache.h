#ifndef ROOST_AUTH_CACHE_H
#define ROOST_AUTH_CACHE_H
/* The auth cache (auth-cache.md §1): string keys ("P<passdb id>\t<expanded
   cache key>", "U<userdb id>\t...") to string values, with an LRU list and a
   byte budget. Entries expire after ttl (negative ones: empty value, after
   negative_ttl) but stay until their space is needed, so an internal
   failure of the database can fall back to expired data. Single-threaded
   (the event loop owns it). */
#include "lib.h"

struct auth_cache;

struct auth_cache_stats {
	uint64_t hits, negative_hits, misses, expired;
	uint64_t inserts, evictions;
	size_t entries, bytes;
};

struct auth_cache_result {
	const char *value;      /* "" = negative entry; valid until the next change */
	bool expired;           /* older than its ttl */
	bool negative_expired;  /* older than negative_ttl (password-change rule) */
	bool last_success;
};

/* max_bytes 0 or ttl 0 = no cache (create returns NULL). now_func NULL =
   monotonic seconds; tests pass their own clock. */
struct auth_cache *auth_cache_create(size_t max_bytes, unsigned int ttl_secs,
				     unsigned int negative_ttl_secs,
				     time_t (*now_func)(void));
void auth_cache_destroy(struct auth_cache **cache);
/* Tests: replace the clock. */
void auth_cache_set_now_func(struct auth_cache *cache, time_t (*now_func)(void));

/* Returns true if found (expired or not; the caller decides). A found,
   unexpired entry counts as a hit and moves to the LRU head. */
bool auth_cache_lookup(struct auth_cache *cache, const char *key,
		       struct auth_cache_result *result_r);
/* Insert or replace. value "" is a negative entry (not stored when
   negative_ttl is 0). */
void auth_cache_insert(struct auth_cache *cache, const char *key,
		       const char *value, bool last_success);
void auth_cache_set_last_success(struct auth_cache *cache, const char *key,
				 bool last_success);
bool auth_cache_remove(struct auth_cache *cache, const char *key);
/* Flush all entries; returns the count removed. */
unsigned int auth_cache_flush(struct auth_cache *cache);
/* Flush the entries of these users: keys whose expanded part is the user
   name or starts with "<user>\t". Returns the count removed. */
unsigned int auth_cache_flush_user(struct auth_cache *cache, const char *user);
/* The cache key template for a driver whose lookups use these templates
   (auth-cache.md 1.2): the distinct variables, TAB separated, %n and %d
   together replaced by %u. Allocated from pool; NULL if no variable is
   used (every lookup would be the same: the driver decides). */
struct pool;
const char *auth_cache_parse_key(struct pool *pool, const char *const *templates);

void auth_cache_get_stats(const struct auth_cache *cache,
			  struct auth_cache_stats *stats_r);

#endif
