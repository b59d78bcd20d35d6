/* Open-addressing hash table (linear probing, tombstones, power-of-two
   sizes, grows at 70% load). */
#include "lib.h"
#include "hash.h"

#include <stdlib.h>
#include <strings.h>

enum slot_state { SLOT_EMPTY = 0, SLOT_USED, SLOT_DELETED };

struct slot {
	enum slot_state state;
	uint32_t hash;
	const char *str_key;
	uint32_t uint_key;
	void *value;
};

struct hash_table {
	bool is_str, icase;
	size_t size;      /* power of two */
	size_t count;     /* used */
	size_t deleted;
	struct slot *slots;
};

static uint32_t hash_str(const char *s, bool icase)
{
	/* FNV-1a */
	uint32_t h = 2166136261U;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (icase && c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		h ^= c;
		h *= 16777619U;
	}
	return h;
}

static uint32_t hash_uint(uint32_t k)
{
	k ^= k >> 16;
	k *= 0x7feb352dU;
	k ^= k >> 15;
	k *= 0x846ca68bU;
	k ^= k >> 16;
	return k;
}

static struct hash_table *hash_table_create(bool is_str, bool icase)
{
	struct hash_table *table = x_malloc(sizeof(*table));
	table->is_str = is_str;
	table->icase = icase;
	table->size = 16;
	table->slots = x_malloc(sizeof(struct slot) * table->size);
	return table;
}

struct hash_table *hash_table_create_str(bool case_insensitive)
{
	return hash_table_create(true, case_insensitive);
}

struct hash_table *hash_table_create_uint(void)
{
	return hash_table_create(false, false);
}

void hash_table_destroy(struct hash_table **_table)
{
	struct hash_table *table = *_table;
	if (table == NULL)
		return;
	*_table = NULL;
	free(table->slots);
	free(table);
}

static bool slot_matches(const struct hash_table *table, const struct slot *slot,
			 uint32_t hash, const char *str_key, uint32_t uint_key)
{
	if (slot->state != SLOT_USED || slot->hash != hash)
		return false;
	if (!table->is_str)
		return slot->uint_key == uint_key;
	return table->icase ? strcasecmp(slot->str_key, str_key) == 0 :
		strcmp(slot->str_key, str_key) == 0;
}

static struct slot *find_slot(const struct hash_table *table, uint32_t hash,
			      const char *str_key, uint32_t uint_key)
{
	size_t mask = table->size - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		struct slot *slot = &table->slots[i];
		if (slot->state == SLOT_EMPTY)
			return NULL;
		if (slot_matches(table, slot, hash, str_key, uint_key))
			return slot;
	}
}

static void insert_nocheck(struct hash_table *table, uint32_t hash,
			   const char *str_key, uint32_t uint_key, void *value)
{
	size_t mask = table->size - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		struct slot *slot = &table->slots[i];
		if (slot->state != SLOT_USED) {
			if (slot->state == SLOT_DELETED)
				table->deleted--;
			slot->state = SLOT_USED;
			slot->hash = hash;
			slot->str_key = str_key;
			slot->uint_key = uint_key;
			slot->value = value;
			table->count++;
			return;
		}
	}
}

static void resize(struct hash_table *table, size_t new_size)
{
	struct slot *old = table->slots;
	size_t old_size = table->size;

	table->slots = x_malloc(size_mul(sizeof(struct slot), new_size));
	table->size = new_size;
	table->count = 0;
	table->deleted = 0;
	for (size_t i = 0; i < old_size; i++) {
		if (old[i].state == SLOT_USED)
			insert_nocheck(table, old[i].hash, old[i].str_key,
				       old[i].uint_key, old[i].value);
	}
	free(old);
}

static void insert(struct hash_table *table, uint32_t hash,
		   const char *str_key, uint32_t uint_key, void *value)
{
	struct slot *slot = find_slot(table, hash, str_key, uint_key);
	if (slot != NULL) {
		slot->str_key = str_key;
		slot->value = value;
		return;
	}
	if ((table->count + table->deleted + 1) * 10 > table->size * 7) {
		size_t new_size = table->size;
		if ((table->count + 1) * 10 > table->size * 5)
			new_size = size_mul(new_size, 2);
		resize(table, new_size);
	}
	insert_nocheck(table, hash, str_key, uint_key, value);
}

static bool remove_slot(struct hash_table *table, struct slot *slot)
{
	if (slot == NULL)
		return false;
	slot->state = SLOT_DELETED;
	slot->value = NULL;
	table->count--;
	table->deleted++;
	return true;
}

void *hash_table_lookup_str(const struct hash_table *table, const char *key)
{
	struct slot *slot = find_slot(table, hash_str(key, table->icase), key, 0);
	return slot == NULL ? NULL : slot->value;
}

void *hash_table_lookup_uint(const struct hash_table *table, uint32_t key)
{
	struct slot *slot = find_slot(table, hash_uint(key), NULL, key);
	return slot == NULL ? NULL : slot->value;
}

void hash_table_insert_str(struct hash_table *table, const char *key, void *value)
{
	i_assert(table->is_str);
	insert(table, hash_str(key, table->icase), key, 0, value);
}

void hash_table_insert_uint(struct hash_table *table, uint32_t key, void *value)
{
	i_assert(!table->is_str);
	insert(table, hash_uint(key), NULL, key, value);
}

bool hash_table_remove_str(struct hash_table *table, const char *key)
{
	return remove_slot(table, find_slot(table, hash_str(key, table->icase), key, 0));
}

bool hash_table_remove_uint(struct hash_table *table, uint32_t key)
{
	return remove_slot(table, find_slot(table, hash_uint(key), NULL, key));
}

size_t hash_table_count(const struct hash_table *table)
{
	return table->count;
}

void hash_table_clear(struct hash_table *table)
{
	memset(table->slots, 0, sizeof(struct slot) * table->size);
	table->count = table->deleted = 0;
}

bool hash_table_iterate(const struct hash_table *table, size_t *iter,
			const char **str_key_r, uint32_t *uint_key_r,
			void **value_r)
{
	for (; *iter < table->size; (*iter)++) {
		const struct slot *slot = &table->slots[*iter];
		if (slot->state == SLOT_USED) {
			if (str_key_r != NULL)
				*str_key_r = slot->str_key;
			if (uint_key_r != NULL)
				*uint_key_r = slot->uint_key;
			*value_r = slot->value;
			(*iter)++;
			return true;
		}
	}
	return false;
}
