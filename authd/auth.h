#ifndef ROOST_AUTH_H
#define ROOST_AUTH_H
/* The auth service's state: settings, configured passdbs/userdbs, the
   enabled mechanisms, the worker pool. One per roost-auth process. */
#include "lib.h"
#include "array.h"

struct event_base;
struct pool;
struct roost_settings;
struct auth_settings;
struct sasl_mech;
struct auth_passdb;
struct auth_userdb;
struct worker_pool;
struct auth_request;

struct auth {
	struct pool *pool;
	struct event_base *base;
	struct roost_settings *root_set;
	const struct auth_settings *set;
	ARRAY(const struct sasl_mech *) mechs;
	ARRAY(struct auth_passdb *) passdbs;
	ARRAY(struct auth_userdb *) userdbs;
	struct worker_pool *workers;
	struct auth_cache *cache;     /* NULL = no auth cache */
	/* username chars allowed (256 entries), translation table */
	bool username_chars[256];
	bool username_chars_all;
	char username_translation[256];
	/* precomputed handshake lines "MECH\tPLAIN\tplaintext\n" ... */
	char *mech_handshake;
	unsigned int failure_delay_msecs;
	pid_t pid;
};

int auth_create(struct event_base *base, struct roost_settings *set,
		struct auth **auth_r, const char **error_r);
void auth_destroy(struct auth **auth);
const struct sasl_mech *auth_find_mech(const struct auth *auth, const char *name);

#endif
