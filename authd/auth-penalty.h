#ifndef ROOST_AUTH_PENALTY_H
#define ROOST_AUTH_PENALTY_H
/* Per remote IP failure penalty (spec/auth-cache.md §2), kept in the auth
   process: roost has one auth process, so it needs no anvil.

   Each remote IP (IPv6 grouped by /48, IPv4-mapped IPv6 counted as IPv4)
   has a level 0..AUTH_PENALTY_MAX_LEVEL and the time of its last update.
   A credential failure raises the level by one, unless the same
   user+password checksum is among the IP's last
   AUTH_PENALTY_CHECKSUM_COUNT failures (a client retrying one wrong
   password does not escalate). A success forgets the IP. Before the
   next AUTH from the IP starts, the protocol layer waits
   auth_penalty_to_secs(level) seconds.

   Decay (as Dovecot 2.3): walking down from AUTH_PENALTY_MAX_LEVEL, one
   level is dropped while the time since the last update is at least
   auth_penalty_to_secs() of the level being walked. Since that is 15 s
   for the two top levels, a penalty stays whole for 15 s and then is
   gone; entries are removed then (auth_penalty_expire()).

   The table holds at most max_entries IPs; a new IP evicts the one
   updated longest ago. All times come from the table's clock (msecs,
   monotonic), which tests replace. */
#include "lib.h"

#define AUTH_PENALTY_MAX_LEVEL 4
#define AUTH_PENALTY_INIT_SECS 2
#define AUTH_PENALTY_MAX_SECS 15
#define AUTH_PENALTY_CHECKSUM_COUNT 10
#define AUTH_PENALTY_DEFAULT_MAX_ENTRIES 100000

struct roost_settings;
struct auth_penalty;

typedef uint64_t auth_penalty_clock_t(void);

/* max_entries > 0. clock returns monotonic milliseconds. */
struct auth_penalty *auth_penalty_create(unsigned int max_entries,
					 auth_penalty_clock_t *clock);
void auth_penalty_destroy(struct auth_penalty **penalty);
void auth_penalty_set_clock(struct auth_penalty *penalty,
			    auth_penalty_clock_t *clock);
uint64_t auth_penalty_now_msecs(const struct auth_penalty *penalty);

/* min(2 * 2^level, 15) for level > 0; 0 for level 0. */
unsigned int auth_penalty_to_secs(unsigned int level);

/* The table key for a textual remote IP: the IPv4 address, or the IPv6
   /48 prefix ("2001:db8:1::/48"). Returns false (ident_r untouched) if ip
   is not an IP address: such requests get no penalty. */
#define AUTH_PENALTY_IDENT_SIZE 64
bool auth_penalty_ident(const char *ip, char ident_r[AUTH_PENALTY_IDENT_SIZE]);

/* Checksum of a failed attempt's password and user (0 = unknown, e.g. a
   mechanism without a plaintext password: such failures always count). */
uint32_t auth_penalty_checksum(const char *user, const char *password);

/* The IP's level now, after decay (0 for unknown IPs). */
unsigned int auth_penalty_lookup(struct auth_penalty *penalty, const char *ip);
/* A credential failure from ip; checksum from auth_penalty_checksum(). */
void auth_penalty_failure(struct auth_penalty *penalty, const char *ip,
			  uint32_t checksum);
/* A success from ip: its level goes back to 0. */
void auth_penalty_success(struct auth_penalty *penalty, const char *ip);
/* Remove entries whose penalty has decayed away. */
void auth_penalty_expire(struct auth_penalty *penalty);
size_t auth_penalty_count(const struct auth_penalty *penalty);

/* Dovecot turns the penalty off by making anvil's listener unusable:
   service anvil { unix_listener anvil-auth-penalty { mode = 0 } }.
   Returns true if the settings say so. */
bool auth_penalty_disabled_by_settings(const struct roost_settings *set);

#endif
