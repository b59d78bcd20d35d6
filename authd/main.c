/* roost-auth: the auth daemon. Runs under roostd (listeners inherited,
   described by ROOST_LISTENERS) or standalone (`roost-auth -c FILE`
   creates the auth service's listeners itself). */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "array.h"
#include "log.h"
#include "listen.h"
#include "path-error.h"
#include "roost-settings.h"
#include "auth.h"
#include "auth-cache.h"
#include "auth-client-connection.h"
#include "auth-master-connection.h"

#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <unistd.h>
#include <getopt.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <event2/event.h>

#ifndef SYSCONFDIR
#  define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG_PATH SYSCONFDIR "/roost/roost.conf"

enum listener_role {
	ROLE_CLIENT,
	ROLE_LOGIN,
	ROLE_MASTER,
	ROLE_USERDB,
};

struct auth_listener {
	struct listener l;
	enum listener_role role;
	struct event *ev;
	struct auth *auth;
	bool created_here;   /* standalone: remove the socket at exit */
};

typedef ARRAY(struct auth_listener *) auth_listener_array_t;

static bool ends_with(const char *s, const char *suffix)
{
	size_t len = strlen(s), slen = strlen(suffix);
	return len >= slen && strcmp(s + len - slen, suffix) == 0;
}

/* Dovecot decides a listener's role from its name (spec §8). */
static enum listener_role listener_role_from_name(const char *name)
{
	if (ends_with(name, "-master"))
		return ROLE_MASTER;
	if (ends_with(name, "-userdb"))
		return ROLE_USERDB;
	if (ends_with(name, "-login") || strcmp(name, "login") == 0)
		return ROLE_LOGIN;
	return ROLE_CLIENT;
}

/* Accepting is paused while the process serves client_limit connections
   (as Dovecot's service client_limit) or when the process is out of file
   descriptors; a timer re-checks, so a connection flood waits in the
   listen backlog instead of costing memory or a busy loop. */
static struct {
	struct event_base *base;
	auth_listener_array_t *listeners;
	unsigned int client_limit;
	struct event *resume_timer;
	bool paused;
} accepting;

static unsigned int connection_count(void)
{
	return auth_client_connections_count() + auth_master_connections_count();
}

static void listeners_pause(unsigned int msecs)
{
	struct timeval tv = { msecs / 1000, (msecs % 1000) * 1000 };

	if (!accepting.paused) {
		for (size_t i = 0; i < accepting.listeners->count; i++)
			event_del(accepting.listeners->v[i]->ev);
		accepting.paused = true;
	}
	event_add(accepting.resume_timer, &tv);
}

static void listeners_resume_check(evutil_socket_t fd ATTR_UNUSED,
				   short what ATTR_UNUSED, void *context ATTR_UNUSED)
{
	if (connection_count() >= accepting.client_limit) {
		listeners_pause(100);
		return;
	}
	for (size_t i = 0; i < accepting.listeners->count; i++)
		event_add(accepting.listeners->v[i]->ev, NULL);
	accepting.paused = false;
	log_info("Accepting connections again (%u connections)", connection_count());
}

static void listener_accept(evutil_socket_t fd, short what ATTR_UNUSED, void *context)
{
	struct auth_listener *listener = context;

	for (int i = 0; i < 64; i++) {
		if (connection_count() >= accepting.client_limit) {
			log_warning("service auth: client_limit (%u) reached, "
				    "new connections wait", accepting.client_limit);
			listeners_pause(100);
			return;
		}
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				log_error("accept(%s) failed: %s (%u connections): "
					  "not accepting for 1 s", listener->l.path,
					  strerror(errno), connection_count());
				listeners_pause(1000);
			} else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
				log_error("accept(%s) failed: %s", listener->l.path,
					  strerror(errno));
			}
			return;
		}
		switch (listener->role) {
		case ROLE_CLIENT:
			auth_client_connection_create(listener->auth, cfd, false);
			break;
		case ROLE_LOGIN:
			auth_client_connection_create(listener->auth, cfd, true);
			break;
		case ROLE_MASTER:
			auth_master_connection_create(listener->auth, cfd, false);
			break;
		case ROLE_USERDB:
			auth_master_connection_create(listener->auth, cfd, true);
			break;
		}
	}
}

static const char *unix_path(struct pool *pool, const struct master_settings *set,
			     const char *path)
{
	if (path[0] == '/')
		return path;
	return pool_printf(pool, "%s/%s", set->base_dir, path);
}

static int mkdir_parents(const char *dir)
{
	char *copy = x_strdup(dir);
	for (char *p = copy + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(copy, 0755) < 0 && errno != EEXIST) {
				int err = errno;
				char *msg = path_error("mkdir", copy, err);
				log_error("%s", msg);
				free(msg);
				free(copy);
				return -1;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	free(copy);
	return 0;
}

/* Standalone mode: create the auth service's listeners from settings. */
static int create_listeners(struct roost_settings *set, struct pool *pool,
			    auth_listener_array_t *listeners)
{
	const struct service_settings *service = roost_settings_find_service(set, "auth");
	char *error;

	if (service == NULL) {
		log_error("No service auth in the configuration: nothing to listen on");
		return -1;
	}
	if (mkdir_parents(set->master->base_dir) < 0)
		return -1;
	for (size_t i = 0; i < service->unix_listeners.count; i++) {
		const struct unix_listener_settings *ul = service->unix_listeners.v[i];
		const char *path = unix_path(pool, set->master, ul->path);
		int fd = listen_unix(path, ul->mode, ul->user, ul->group, &error);
		if (fd < 0) {
			log_error("%s", error);
			free(error);
			return -1;
		}
		struct auth_listener *al = pool_alloc(pool, sizeof(*al));
		al->l.fd = fd;
		al->l.is_unix = true;
		const char *slash = strrchr(path, '/');
		al->l.name = x_strdup(slash == NULL ? path : slash + 1);
		al->l.path = x_strdup(path);
		al->created_here = true;
		array_push(listeners, al);
	}
	for (size_t i = 0; i < service->inet_listeners.count; i++) {
		const struct inet_listener_settings *il = service->inet_listeners.v[i];
		if (il->port == 0)
			continue;
		const char *addrs = il->address != NULL && *il->address != '\0' ?
			il->address : set->master->listen;
		char *copy = x_strdup(addrs), *saveptr = NULL;
		for (char *addr = strtok_r(copy, " ,", &saveptr); addr != NULL;
		     addr = strtok_r(NULL, " ,", &saveptr)) {
			int fd = listen_inet(addr, il->port, il->reuse_port, &error);
			if (fd < 0) {
				log_error("%s", error);
				free(error);
				free(copy);
				return -1;
			}
			struct auth_listener *al = pool_alloc(pool, sizeof(*al));
			al->l.fd = fd;
			al->l.name = x_strdup(il->name);
			al->l.path = x_printf("%s:%u", addr, il->port);
			array_push(listeners, al);
		}
		free(copy);
	}
	return 0;
}

static void signal_stop(evutil_socket_t sig, short what ATTR_UNUSED, void *context)
{
	struct event_base *base = context;
	log_info("Received signal %d, shutting down", (int)sig);
	event_base_loopbreak(base);
}

/* SIGHUP when running alone (under roostd the master restarts us
   instead): check the new configuration, and if it is valid re-execute
   with the same listening sockets, so clients see no refused connection.
   A broken configuration is logged and the running one stays. */
static struct {
	char **argv;
	const char *config_path;
	auth_listener_array_t *listeners;
	struct auth *auth;
} reexec;

static void cache_flush_all(const char *why)
{
	if (reexec.auth == NULL)
		return;
	log_info("%s received, %u cache entries flushed", why,
		 auth_caches_flush(reexec.auth, NULL, 0));
}

/* SIGUSR2: the cache statistics, as Dovecot logs them. */
static void signal_cache_stats(evutil_socket_t sig ATTR_UNUSED, short what ATTR_UNUSED,
			       void *context ATTR_UNUSED)
{
	struct auth_cache_stats stats;

	if (reexec.auth == NULL || reexec.auth->cache == NULL) {
		log_info("SIGUSR2 received: the auth cache is off (auth_cache_size = 0)");
		return;
	}
	auth_cache_get_stats(reexec.auth->cache, &stats);
	uint64_t lookups = stats.hits + stats.negative_hits + stats.misses + stats.expired;
	log_info("Authentication cache: %zu entries, %zu bytes; hits %llu (negative %llu), "
		 "misses %llu, expired %llu, %llu%% hit ratio; inserts %llu, evictions %llu",
		 stats.entries, stats.bytes,
		 (unsigned long long)(stats.hits + stats.negative_hits),
		 (unsigned long long)stats.negative_hits,
		 (unsigned long long)stats.misses, (unsigned long long)stats.expired,
		 (unsigned long long)(lookups == 0 ? 0 :
				      (stats.hits + stats.negative_hits) * 100 / lookups),
		 (unsigned long long)stats.inserts, (unsigned long long)stats.evictions);
}

/* SIGHUP under roostd (roostd itself restarts us on a reload): flush the
   cache, as Dovecot's auth process does. */
static void signal_flush(evutil_socket_t sig ATTR_UNUSED, short what ATTR_UNUSED,
			 void *context ATTR_UNUSED)
{
	cache_flush_all("SIGHUP");
}

static void signal_reload(evutil_socket_t sig ATTR_UNUSED, short what ATTR_UNUSED,
			  void *context ATTR_UNUSED)
{
	struct pool *err_pool = pool_create("reload", 256);
	struct roost_settings *set;
	const char *error;

	log_info("SIGHUP received - reloading configuration");
	cache_flush_all("SIGHUP");
	if (roost_settings_read(reexec.config_path, &set, err_pool, &error) < 0) {
		log_error("Not reloading: %s", error);
		pool_destroy(&err_pool);
		return;
	}
	roost_settings_free(&set);
	pool_destroy(&err_pool);

	ARRAY(struct listener) plain = ARRAY_INIT;
	for (size_t i = 0; i < reexec.listeners->count; i++) {
		struct auth_listener *al = reexec.listeners->v[i];
		int flags = fcntl(al->l.fd, F_GETFD);
		if (flags >= 0)
			(void)fcntl(al->l.fd, F_SETFD, flags & ~FD_CLOEXEC);
		array_push(&plain, al->l);
	}
	char *env = listen_to_env(plain.v, plain.count);
	array_free(&plain);
	setenv("ROOST_LISTENERS", env, 1);
	/* the new process owns the sockets now: it must not log the
	   config warnings twice, but it must unlink them at exit */
	setenv("ROOST_AUTH_REEXEC", "1", 1);
	free(env);
	execv("/proc/self/exe", reexec.argv);
	log_error("execv(/proc/self/exe) failed: %s - keeping the old configuration",
		  strerror(errno));
	unsetenv("ROOST_LISTENERS");
	unsetenv("ROOST_AUTH_REEXEC");
}

static void usage(void)
{
	fprintf(stderr, "usage: roost-auth [-c CONFIG] [-D] [-h]\n"
		"  -c CONFIG  configuration file (default " DEFAULT_CONFIG_PATH ")\n"
		"  -D         debug logging\n");
}

int main(int argc, char **argv)
{
	const char *config_path = DEFAULT_CONFIG_PATH;
	bool debug = false;
	int c;

	log_init("auth");
	while ((c = getopt(argc, argv, "c:Dh")) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'D': debug = true; break;
		case 'h': usage(); return 0;
		default: usage(); return 64;
		}
	}

	struct pool *err_pool = pool_create("errors", 1024);
	struct roost_settings *set;
	const char *error;
	if (roost_settings_read(config_path, &set, err_pool, &error) < 0) {
		fprintf(stderr, "roost-auth: %s\n", error);
		pool_destroy(&err_pool);
		return 89;
	}
	if (log_set_target(set->master->log_path, set->master->syslog_facility, &error) < 0)
		fprintf(stderr, "roost-auth: log_path: %s (logging to stderr)\n", error);
	else if (log_set_level_targets(set->master->info_log_path,
				       set->master->debug_log_path, &error) < 0)
		log_error("info_log_path/debug_log_path: %s", error);
	if (debug || set->auth->auth_debug || set->auth->auth_debug_passwords)
		log_set_min_level(LOG_LEVEL_DEBUG);
	/* under roostd the master already logged the config warnings */
	if (getenv("ROOST_MASTER_PID") == NULL) {
		for (unsigned int i = 0; i < set->warning_count; i++)
			log_warning("%s", set->warnings[i]);
	}

	signal(SIGPIPE, SIG_IGN);
	str_cache_enable();
	struct event_base *base = event_base_new();
	struct auth *auth;
	if (auth_create(base, set, &auth, &error) < 0) {
		log_error("%s", error);
		fprintf(stderr, "roost-auth: %s\n", error);
		free((char *)error);
		event_base_free(base);
		roost_settings_free(&set);
		pool_destroy(&err_pool);
		str_cache_disable();
		return 89;
	}

	struct pool *pool = pool_create("listeners", 1024);
	auth_listener_array_t listeners = ARRAY_INIT;
	const char *env = getenv("ROOST_LISTENERS");
	if (env != NULL) {
		listener_array_t inherited = ARRAY_INIT;
		char *lerror;
		if (listen_from_env(&inherited, &lerror) < 0) {
			log_error("ROOST_LISTENERS: %s", lerror);
			return 89;
		}
		bool own_sockets = getenv("ROOST_AUTH_REEXEC") != NULL;
		for (size_t i = 0; i < inherited.count; i++) {
			struct auth_listener *al = pool_alloc(pool, sizeof(*al));
			al->l = inherited.v[i];
			al->created_here = own_sockets;
			array_push(&listeners, al);
		}
		array_free(&inherited);
	} else if (create_listeners(set, pool, &listeners) < 0) {
		return 89;
	}
	if (listeners.count == 0) {
		log_error("No listeners configured for service auth");
		return 89;
	}
	for (size_t i = 0; i < listeners.count; i++) {
		struct auth_listener *al = listeners.v[i];
		al->role = listener_role_from_name(al->l.name);
		al->auth = auth;
		evutil_make_socket_nonblocking(al->l.fd);
		evutil_make_socket_closeonexec(al->l.fd);
		al->ev = event_new(base, al->l.fd, EV_READ | EV_PERSIST, listener_accept, al);
		event_add(al->ev, NULL);
	}
	auth_client_connections_init(auth);
	const struct service_settings *service = roost_settings_find_service(set, "auth");
	accepting.base = base;
	accepting.listeners = &listeners;
	accepting.client_limit = service != NULL && service->client_limit > 0 ?
		service->client_limit : 1000;
	accepting.resume_timer = evtimer_new(base, listeners_resume_check, NULL);

	struct event *sighup = NULL;
	if (getenv("ROOST_MASTER_PID") == NULL) {
		reexec.argv = argv;
		reexec.config_path = config_path;
		reexec.listeners = &listeners;
		sighup = evsignal_new(base, SIGHUP, signal_reload, NULL);
	} else {
		sighup = evsignal_new(base, SIGHUP, signal_flush, NULL);
	}
	event_add(sighup, NULL);
	reexec.auth = auth;
	struct event *sigusr2 = evsignal_new(base, SIGUSR2, signal_cache_stats, NULL);
	event_add(sigusr2, NULL);
	struct event *sigterm = evsignal_new(base, SIGTERM, signal_stop, base);
	struct event *sigint = evsignal_new(base, SIGINT, signal_stop, base);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	log_info("roost-auth started (%zu listeners, mechanisms: %s)",
		 listeners.count, set->auth->auth_mechanisms);

	event_base_dispatch(base);

	event_free(accepting.resume_timer);
	auth_client_connections_deinit();
	auth_master_connections_destroy_all();
	for (size_t i = 0; i < listeners.count; i++) {
		struct auth_listener *al = listeners.v[i];
		event_free(al->ev);
		if (al->created_here && al->l.is_unix)
			unlink(al->l.path);
		listener_free_members(&al->l);
	}
	array_free(&listeners);
	pool_destroy(&pool);
	auth_destroy(&auth);
	reexec.auth = NULL;
	event_free(sighup);
	event_free(sigusr2);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(base);
	roost_settings_free(&set);
	pool_destroy(&err_pool);
	str_cache_disable();
	return 0;
}
