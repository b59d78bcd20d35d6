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
	struct worker_pool *workers;  /* shared with the protocol auths */
	struct auth_cache *cache;     /* NULL = no auth cache */
	/* protocol NAME { } blocks: one auth each (its own passdbs, userdbs,
	   mechanisms and cache; the default auth's workers). service_name is
	   NULL for the default auth. */
	const char *service_name;
	struct auth *parent;
	ARRAY(struct auth *) services;
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
/* The auth for requests with this service= (a protocol block), else auth. */
struct auth *auth_find_service(struct auth *auth, const char *service);
/* Flush the caches of auth and its protocol auths: all entries (users
   NULL) or those of the users; returns the number removed. */
unsigned int auth_caches_flush(struct auth *auth, const char *const *users,
			       unsigned int user_count);

#endif
