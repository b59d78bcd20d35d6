#ifndef ROOST_HASH_H
#define ROOST_HASH_H
/* Open hash tables with chaining: string keys (optionally
   case-insensitive) or uint32 keys, pointer values. Keys are not copied:
   they must live as long as their entry. */
#include "lib.h"

struct hash_table;

struct hash_table *hash_table_create_str(bool case_insensitive);
struct hash_table *hash_table_create_uint(void);
void hash_table_destroy(struct hash_table **table);

void *hash_table_lookup_str(const struct hash_table *table, const char *key);
void *hash_table_lookup_uint(const struct hash_table *table, uint32_t key);
/* Insert or replace. */
void hash_table_insert_str(struct hash_table *table, const char *key, void *value);
void hash_table_insert_uint(struct hash_table *table, uint32_t key, void *value);
/* Returns true if the key existed. */
bool hash_table_remove_str(struct hash_table *table, const char *key);
bool hash_table_remove_uint(struct hash_table *table, uint32_t key);
size_t hash_table_count(const struct hash_table *table);
void hash_table_clear(struct hash_table *table);

/* Iterate: *iter starts at 0; returns false at the end. */
bool hash_table_iterate(const struct hash_table *table, size_t *iter,
			const char **str_key_r, uint32_t *uint_key_r,
			void **value_r);

#endif
