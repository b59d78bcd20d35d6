/* Building the auth service from settings. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "log.h"
#include "worker-pool.h"
#include "roost-settings.h"
#include "auth-settings.h"
#include "sasl-mech.h"
#include "passdb.h"
#include "userdb.h"
#include "auth.h"
#include "auth-cache.h"
#include "auth-request.h"

#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

static int auth_mechs_init(struct auth *auth, const char **error_r)
{
	char *copy = x_strdup(auth->set->auth_mechanisms);
	char *saveptr = NULL;
	string_t *lines = str_create(256);
	int ret = 0;

	for (char *tok = strtok_r(copy, " ,\t", &saveptr); tok != NULL;
	     tok = strtok_r(NULL, " ,\t", &saveptr)) {
		const struct sasl_mech *mech = sasl_mech_find(tok);
		if (mech == NULL) {
			*error_r = pool_printf(auth->pool, "auth_mechanisms: unsupported "
					       "mechanism: %s", tok);
			ret = -1;
			break;
		}
		if (auth_find_mech(auth, mech->name) != NULL)
			continue;
		if ((mech->flags & SASL_MECH_SEC_ANONYMOUS) != 0 &&
		    (auth->set->auth_anonymous_username == NULL ||
		     auth->set->auth_anonymous_username[0] == '\0')) {
			*error_r = pool_printf(auth->pool, "auth_mechanisms: %s listed, "
					       "but auth_anonymous_username is empty",
					       mech->name);
			ret = -1;
			break;
		}
		array_push(&auth->mechs, mech);
		str_printfa(lines, "MECH\t%s", mech->name);
		sasl_mech_flags_append(lines, mech->flags);
		str_append_c(lines, '\n');
	}
	free(copy);
	auth->mech_handshake = pool_strdup(auth->pool, str_c(lines));
	str_free(&lines);
	return ret;
}

static void auth_username_chars_init(struct auth *auth)
{
	const char *chars = auth->set->auth_username_chars;

	auth->username_chars_all = chars == NULL || *chars == '\0';
	for (; chars != NULL && *chars != '\0'; chars++)
		auth->username_chars[(unsigned char)*chars] = true;

	/* auth_username_translation: pairs "from to from to ..." */
	const char *tr = auth->set->auth_username_translation;
	for (; tr != NULL && tr[0] != '\0' && tr[1] != '\0'; tr += 2)
		auth->username_translation[(unsigned char)tr[0]] = tr[1];
}

/* As Dovecot at start-up: a mechanism that needs stored credentials
   (CRAM-MD5, DIGEST-MD5, SCRAM) needs a passdb that can look them up, and
   OTP one that can also store them. */
static int auth_mechs_check_passdbs(struct auth *auth, const char **error_r)
{
	if (auth->passdbs.count == 0)
		return 0;
	for (size_t i = 0; i < auth->mechs.count; i++) {
		const struct sasl_mech *mech = auth->mechs.v[i];
		bool ok = false, writable = mech->credentials_scheme != NULL &&
			strcmp(mech->credentials_scheme, "OTP") == 0;

		if (mech->passdb_need != SASL_MECH_NEED_LOOKUP_CREDENTIALS)
			continue;
		for (size_t j = 0; j < auth->passdbs.count && !ok; j++) {
			const struct passdb_driver *driver = auth->passdbs.v[j]->module->driver;
			if (auth->passdbs.v[j]->deny || driver->lookup_credentials == NULL)
				continue;
			ok = !writable || driver->set_credentials != NULL;
		}
		if (!ok) {
			*error_r = pool_printf(auth->pool, "%s mechanism can't be supported "
				"with given passdbs: %s", mech->name, writable ?
				"it needs a passdb that can store credentials "
				"(sql with an update_query)" :
				"none of them can look up stored credentials "
				"(pam, checkpassword and ldap auth_bind only verify passwords)");
			return -1;
		}
	}
	return 0;
}

static int auth_create_one(struct event_base *base, struct roost_settings *root_set,
			   struct auth *parent, struct auth **auth_r, const char **error_r);

int auth_create(struct event_base *base, struct roost_settings *root_set,
		struct auth **auth_r, const char **error_r)
{
	struct auth *auth;

	if (auth_create_one(base, root_set, NULL, &auth, error_r) < 0)
		return -1;
	for (unsigned int i = 0; i < root_set->protocol_count; i++) {
		const struct roost_protocol_settings *ps = root_set->protocols[i];
		struct roost_settings *child_set = pool_memdup(auth->pool, root_set,
							       sizeof(*child_set));
		struct auth *child;
		const char *error;

		child_set->auth = ps->auth;
		if (auth_create_one(base, child_set, auth, &child, &error) < 0) {
			*error_r = x_printf("%s:%u: protocol %s: %s", ps->def_file,
					    ps->def_line, ps->name, error);
			free((char *)error);
			auth_destroy(&auth);
			return -1;
		}
		child->service_name = ps->name;
		array_push(&auth->services, child);
	}
	*auth_r = auth;
	return 0;
}

struct auth *auth_find_service(struct auth *auth, const char *service)
{
	if (service == NULL)
		return auth;
	for (size_t i = 0; i < auth->services.count; i++) {
		if (strcasecmp(auth->services.v[i]->service_name, service) == 0)
			return auth->services.v[i];
	}
	return auth;
}

unsigned int auth_caches_flush(struct auth *auth, const char *const *users,
			       unsigned int user_count)
{
	unsigned int flushed = 0;

	if (auth->cache != NULL) {
		if (users == NULL)
			flushed += auth_cache_flush(auth->cache);
		for (unsigned int i = 0; users != NULL && i < user_count; i++)
			flushed += auth_cache_flush_user(auth->cache, users[i]);
	}
	for (size_t i = 0; i < auth->services.count; i++)
		flushed += auth_caches_flush(auth->services.v[i], users, user_count);
	return flushed;
}

static int auth_create_one(struct event_base *base, struct roost_settings *root_set,
			   struct auth *parent, struct auth **auth_r, const char **error_r)
{
	struct pool *pool = pool_create("auth", 4096);
	struct auth *auth = pool_alloc(pool, sizeof(*auth));

	auth->pool = pool;
	auth->base = base;
	auth->parent = parent;
	auth->root_set = root_set;
	/* a private copy, so the implications below don't touch the shared
	   settings: auth_debug_passwords => auth_debug => auth_verbose */
	struct auth_settings *set = pool_memdup(pool, root_set->auth, sizeof(*set));
	if (set->auth_debug_passwords)
		set->auth_debug = true;
	if (set->auth_debug)
		set->auth_verbose = true;
	auth->set = set;
	auth->pid = getpid();
	auth->failure_delay_msecs = auth->set->auth_failure_delay * 1000;
	auth_username_chars_init(auth);

	if (auth_mechs_init(auth, error_r) < 0)
		goto fail;
	for (size_t i = 0; i < auth->set->passdbs.count; i++) {
		struct auth_passdb *passdb;
		if (auth_passdb_create(pool, (unsigned int)i + 1, auth->set->passdbs.v[i],
				       &passdb, error_r) < 0)
			goto fail;
		array_push(&auth->passdbs, passdb);
	}
	for (size_t i = 0; i < auth->set->userdbs.count; i++) {
		struct auth_userdb *userdb;
		if (auth_userdb_create(pool, (unsigned int)i + 1, auth->set->userdbs.v[i],
				       &userdb, error_r) < 0)
			goto fail;
		array_push(&auth->userdbs, userdb);
	}
	if (auth_mechs_check_passdbs(auth, error_r) < 0)
		goto fail;
	if (auth->mechs.count > 0 && auth->passdbs.count == 0) {
		*error_r = "No passdbs specified in configuration file. "
			"PLAIN mechanism needs one";
		goto fail;
	}
	auth->cache = auth_cache_create((size_t)auth->set->auth_cache_size,
					auth->set->auth_cache_ttl,
					auth->set->auth_cache_negative_ttl, NULL);
	if (auth->cache != NULL) {
		bool any = false;
		for (size_t i = 0; i < auth->passdbs.count; i++)
			any = any || auth->passdbs.v[i]->module->default_cache_key != NULL;
		for (size_t i = 0; i < auth->userdbs.count; i++)
			any = any || auth->userdbs.v[i]->module->default_cache_key != NULL;
		if (!any)
			log_info("auth_cache_size is set, but no configured passdb or "
				 "userdb is cached (passwd-file and static are in "
				 "memory already; sql, ldap and pam are cached)");
	}
	unsigned int threads = auth->set->auth_worker_max_count;
	if (threads == 0)
		threads = 1;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	/* CPU-bound hashing gains nothing past the core count; blocking
	   drivers (PAM) may want more: auth_worker_max_count caps both. */
	if (cores > 0 && threads > (unsigned int)cores * 4)
		threads = (unsigned int)cores * 4;
	auth->workers = parent != NULL ? parent->workers :
		worker_pool_create(base, threads);
	*auth_r = auth;
	return 0;
fail:
	/* error strings live in pool: copy before destroying */
	*error_r = x_strdup(*error_r);
	auth->workers = NULL;
	auth_destroy(&auth);
	return -1;
}

void auth_destroy(struct auth **_auth)
{
	struct auth *auth = *_auth;
	if (auth == NULL)
		return;
	*_auth = NULL;
	/* first let the shared workers finish (their jobs may belong to any
	   of the auths), then the protocol auths go */
	if (auth->parent == NULL)
		worker_pool_destroy(&auth->workers);
	else
		auth->workers = NULL;
	for (size_t i = 0; i < auth->services.count; i++)
		auth_destroy(&auth->services.v[i]);
	array_free(&auth->services);
	auth_cache_destroy(&auth->cache);
	for (size_t i = 0; i < auth->passdbs.count; i++) {
		struct passdb_module *module = auth->passdbs.v[i]->module;
		if (module->driver->deinit != NULL)
			module->driver->deinit(module);
	}
	for (size_t i = 0; i < auth->userdbs.count; i++) {
		struct userdb_module *module = auth->userdbs.v[i]->module;
		if (module->driver->deinit != NULL)
			module->driver->deinit(module);
	}
	auth_request_pool_cache_free();
	array_free(&auth->mechs);
	array_free(&auth->passdbs);
	array_free(&auth->userdbs);
	struct pool *pool = auth->pool;
	pool_destroy(&pool);
}

const struct sasl_mech *auth_find_mech(const struct auth *auth, const char *name)
{
	for (size_t i = 0; i < auth->mechs.count; i++) {
		if (strcasecmp(auth->mechs.v[i]->name, name) == 0)
			return auth->mechs.v[i];
	}
	return NULL;
}
