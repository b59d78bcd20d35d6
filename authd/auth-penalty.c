/* Per remote IP failure penalty: the table anvil keeps for Dovecot's auth
   processes (spec/auth-cache.md §2), here inside roost-auth. */
#include "lib.h"
#include "hash.h"
#include "crc32.h"
#include "roost-settings.h"
#include "auth-penalty.h"

#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>

struct penalty_entry {
	/* list ordered by last_update: head = updated longest ago */
	struct penalty_entry *prev, *next;
	char ident[AUTH_PENALTY_IDENT_SIZE];   /* the hash key */
	unsigned int level;
	uint64_t last_update_msecs;
	/* checksums of the latest failures, most recent first */
	uint32_t checksums[AUTH_PENALTY_CHECKSUM_COUNT];
	unsigned int checksum_count;
};

struct auth_penalty {
	struct hash_table *entries;    /* ident -> struct penalty_entry */
	struct penalty_entry *oldest, *newest;
	unsigned int max_entries;
	auth_penalty_clock_t *clock;
};

struct auth_penalty *auth_penalty_create(unsigned int max_entries,
					 auth_penalty_clock_t *clock)
{
	struct auth_penalty *penalty = x_malloc(sizeof(*penalty));

	i_assert(max_entries > 0);
	penalty->entries = hash_table_create_str(false);
	penalty->max_entries = max_entries;
	penalty->clock = clock;
	return penalty;
}

void auth_penalty_destroy(struct auth_penalty **_penalty)
{
	struct auth_penalty *penalty = *_penalty;

	if (penalty == NULL)
		return;
	*_penalty = NULL;
	for (struct penalty_entry *e = penalty->oldest; e != NULL;) {
		struct penalty_entry *next = e->next;
		free(e);
		e = next;
	}
	hash_table_destroy(&penalty->entries);
	free(penalty);
}

void auth_penalty_set_clock(struct auth_penalty *penalty,
			    auth_penalty_clock_t *clock)
{
	penalty->clock = clock;
}

uint64_t auth_penalty_now_msecs(const struct auth_penalty *penalty)
{
	return penalty->clock();
}

unsigned int auth_penalty_to_secs(unsigned int level)
{
	unsigned int secs = AUTH_PENALTY_INIT_SECS;

	if (level == 0)
		return 0;
	for (unsigned int i = 0; i < level && secs < AUTH_PENALTY_MAX_SECS; i++)
		secs *= 2;
	return secs < AUTH_PENALTY_MAX_SECS ? secs : AUTH_PENALTY_MAX_SECS;
}

bool auth_penalty_ident(const char *ip, char ident_r[AUTH_PENALTY_IDENT_SIZE])
{
	struct in_addr a4;
	struct in6_addr a6;
	char buf[INET6_ADDRSTRLEN];

	if (ip == NULL)
		return false;
	if (inet_pton(AF_INET, ip, &a4) == 1) {
		if (inet_ntop(AF_INET, &a4, buf, sizeof(buf)) == NULL)
			return false;
		snprintf(ident_r, AUTH_PENALTY_IDENT_SIZE, "%s", buf);
		return true;
	}
	if (inet_pton(AF_INET6, ip, &a6) != 1)
		return false;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		/* the same client as its plain IPv4 address */
		memcpy(&a4, &a6.s6_addr[12], sizeof(a4));
		if (inet_ntop(AF_INET, &a4, buf, sizeof(buf)) == NULL)
			return false;
		snprintf(ident_r, AUTH_PENALTY_IDENT_SIZE, "%s", buf);
		return true;
	}
	/* spec §2: one site usually owns a whole /48 */
	memset(&a6.s6_addr[6], 0, sizeof(a6.s6_addr) - 6);
	if (inet_ntop(AF_INET6, &a6, buf, sizeof(buf)) == NULL)
		return false;
	snprintf(ident_r, AUTH_PENALTY_IDENT_SIZE, "%s/48", buf);
	return true;
}

uint32_t auth_penalty_checksum(const char *user, const char *password)
{
	if (password == NULL)
		return 0;
	return crc32_str_more(crc32_str(password), user != NULL ? user : "");
}

/* ---- entry list ------------------------------------------------------- */

static void entry_unlink(struct auth_penalty *penalty, struct penalty_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		penalty->oldest = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		penalty->newest = e->prev;
	e->prev = e->next = NULL;
}

static void entry_append(struct auth_penalty *penalty, struct penalty_entry *e)
{
	e->prev = penalty->newest;
	e->next = NULL;
	if (penalty->newest != NULL)
		penalty->newest->next = e;
	else
		penalty->oldest = e;
	penalty->newest = e;
}

static void entry_remove(struct auth_penalty *penalty, struct penalty_entry *e)
{
	entry_unlink(penalty, e);
	(void)hash_table_remove_str(penalty->entries, e->ident);
	free(e);
}

/* The level after decay (spec §2): walk down from the top level; while
   the time since the last update reaches the walked level's wait, drop
   one level. */
static unsigned int entry_level(const struct penalty_entry *e, uint64_t now)
{
	uint64_t elapsed = now > e->last_update_msecs ? now - e->last_update_msecs : 0;
	unsigned int level = e->level, walk = AUTH_PENALTY_MAX_LEVEL;

	while (level > 0 && walk > 0 &&
	       elapsed >= (uint64_t)auth_penalty_to_secs(walk) * 1000) {
		level--;
		walk--;
	}
	return level;
}

static bool entry_expired(const struct penalty_entry *e, uint64_t now)
{
	return now >= e->last_update_msecs &&
		now - e->last_update_msecs >= (uint64_t)AUTH_PENALTY_MAX_SECS * 1000;
}

static bool entry_has_checksum(struct penalty_entry *e, uint32_t checksum)
{
	for (unsigned int i = 0; i < e->checksum_count; i++) {
		if (e->checksums[i] != checksum)
			continue;
		/* keep it among the latest */
		memmove(&e->checksums[1], &e->checksums[0], i * sizeof(e->checksums[0]));
		e->checksums[0] = checksum;
		return true;
	}
	return false;
}

static void entry_add_checksum(struct penalty_entry *e, uint32_t checksum)
{
	unsigned int keep = e->checksum_count < AUTH_PENALTY_CHECKSUM_COUNT ?
		e->checksum_count : AUTH_PENALTY_CHECKSUM_COUNT - 1;

	memmove(&e->checksums[1], &e->checksums[0], keep * sizeof(e->checksums[0]));
	e->checksums[0] = checksum;
	e->checksum_count = keep + 1;
}

/* ---- API -------------------------------------------------------------- */

unsigned int auth_penalty_lookup(struct auth_penalty *penalty, const char *ip)
{
	char ident[AUTH_PENALTY_IDENT_SIZE];

	if (!auth_penalty_ident(ip, ident))
		return 0;
	const struct penalty_entry *e = hash_table_lookup_str(penalty->entries, ident);
	return e == NULL ? 0 : entry_level(e, penalty->clock());
}

void auth_penalty_failure(struct auth_penalty *penalty, const char *ip,
			  uint32_t checksum)
{
	char ident[AUTH_PENALTY_IDENT_SIZE];
	uint64_t now = penalty->clock();

	if (!auth_penalty_ident(ip, ident))
		return;
	struct penalty_entry *e = hash_table_lookup_str(penalty->entries, ident);
	if (e == NULL) {
		auth_penalty_expire(penalty);
		if (hash_table_count(penalty->entries) >= penalty->max_entries)
			entry_remove(penalty, penalty->oldest);
		e = x_malloc(sizeof(*e));
		snprintf(e->ident, sizeof(e->ident), "%s", ident);
		hash_table_insert_str(penalty->entries, e->ident, e);
	} else {
		entry_unlink(penalty, e);
		e->level = entry_level(e, now);
	}
	if (checksum == 0 || !entry_has_checksum(e, checksum)) {
		if (e->level < AUTH_PENALTY_MAX_LEVEL)
			e->level++;
		if (checksum != 0)
			entry_add_checksum(e, checksum);
	}
	/* a repeated password does not escalate, but it is still a recent
	   failure: the level it has lasts from now */
	e->last_update_msecs = now;
	entry_append(penalty, e);
}

void auth_penalty_success(struct auth_penalty *penalty, const char *ip)
{
	char ident[AUTH_PENALTY_IDENT_SIZE];

	if (!auth_penalty_ident(ip, ident))
		return;
	struct penalty_entry *e = hash_table_lookup_str(penalty->entries, ident);
	if (e != NULL)
		entry_remove(penalty, e);
}

void auth_penalty_expire(struct auth_penalty *penalty)
{
	uint64_t now = penalty->clock();

	while (penalty->oldest != NULL && entry_expired(penalty->oldest, now))
		entry_remove(penalty, penalty->oldest);
}

size_t auth_penalty_count(const struct auth_penalty *penalty)
{
	return hash_table_count(penalty->entries);
}

bool auth_penalty_disabled_by_settings(const struct roost_settings *set)
{
	const struct service_settings *anvil =
		roost_settings_find_service(set, "anvil");

	if (anvil == NULL)
		return false;
	for (size_t i = 0; i < anvil->unix_listeners.count; i++) {
		const struct unix_listener_settings *l = anvil->unix_listeners.v[i];
		const char *name = strrchr(l->path, '/');

		name = name != NULL ? name + 1 : l->path;
		if (strcmp(name, "anvil-auth-penalty") == 0 && l->mode == 0)
			return true;
	}
	return false;
}
