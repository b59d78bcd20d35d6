/* Global and service settings: tables, default services, checks. Defaults
   are Dovecot 2.3's (doveconf -a), except base_dir, state_dir,
   instance_name, log_path (stderr), protocols (none) and ssl (no). */
#include "lib.h"
#include "master-settings.h"
#include "unsupported-settings.h"
#include "pool.h"
#include "settings.h"

#include <stdint.h>

/* Words allowed in "protocols" that roost does not implement yet. */
static const char *const protocols_not_implemented[] = {
	"imap", "pop3", "lmtp", "submission", "sieve", NULL
};

static bool name_in_list(const char *const *list, const char *name)
{
	for (; *list != NULL; list++) {
		if (strcmp(*list, name) == 0)
			return true;
	}
	return false;
}

static int protocols_check(void *set ATTR_UNUSED, const char *key ATTR_UNUSED,
			   const char *value, struct pool *pool,
			   const char **error_r)
{
	const char *p = value, *start;
	char *word;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		start = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != ',')
			p++;
		word = pool_strndup(pool, start, (size_t)(p - start));
		if (strcmp(word, "none") == 0)
			continue;
		if (name_in_list(protocols_not_implemented, word)) {
			*error_r = pool_printf(pool, "protocols = %s: protocol "
				"%s is not implemented yet (use protocols = "
				"none)", value, word);
		} else {
			*error_r = pool_printf(pool, "protocols = %s: unknown "
				"protocol %s (use protocols = none)",
				value, word);
		}
		return -1;
	}
}

static int ssl_check(void *set ATTR_UNUSED, const char *key, const char *value,
		     struct pool *pool, const char **error_r)
{
	if (strcmp(value, "no") == 0)
		return 0;
	*error_r = pool_printf(pool, "%s = %s: TLS is not implemented yet "
			       "(only %s = no is supported)", key, value, key);
	return -1;
}

static int inet_ssl_check(void *set, const char *key, const char *value,
			  struct pool *pool, const char **error_r)
{
	const struct inet_listener_settings *l = set;

	if (!l->ssl)
		return 0;
	return ssl_check(set, key, value, pool, error_r);
}

static int port_check(void *set, const char *key ATTR_UNUSED,
		      const char *value, struct pool *pool,
		      const char **error_r)
{
	const struct inet_listener_settings *l = set;

	if (l->port <= 65535)
		return 0;
	*error_r = pool_printf(pool, "Invalid value for port: \"%s\": "
			       "must be 0..65535 (0 = disabled)", value);
	return -1;
}

/* ---- unix_listener ---------------------------------------------------- */

#define DEF(type, field, deflt) \
	{ type, #field, offsetof(struct unix_listener_settings, field), deflt, \
	  NULL, NULL }
static const struct setting_def unix_listener_defs[] = {
	DEF(SET_STR, path, NULL),
	DEF(SET_OCTAL, mode, "0600"),
	DEF(SET_STR, user, NULL),
	DEF(SET_STR, group, NULL),
	SETTING_DEF_END
};
#undef DEF

const struct setting_section_info unix_listener_settings_info = {
	.type = "unix_listener",
	.struct_size = sizeof(struct unix_listener_settings),
	.defs = unix_listener_defs,
	.name_key = "path",
	.unique = true,
	.def_file_offset = offsetof(struct unix_listener_settings, def_file),
	.def_line_offset = offsetof(struct unix_listener_settings, def_line),
};

/* ---- inet_listener ---------------------------------------------------- */

#define DEF(type, field, deflt, check) \
	{ type, #field, offsetof(struct inet_listener_settings, field), deflt, \
	  NULL, check }
static const struct setting_def inet_listener_defs[] = {
	DEF(SET_STR, name, NULL, NULL),
	DEF(SET_STR, address, NULL, NULL),
	DEF(SET_UINT, port, "0", port_check),
	DEF(SET_BOOL, ssl, "no", inet_ssl_check),
	DEF(SET_BOOL, reuse_port, "no", NULL),
	DEF(SET_BOOL, haproxy, "no", NULL),
	SETTING_DEF_END
};
#undef DEF

const struct setting_section_info inet_listener_settings_info = {
	.type = "inet_listener",
	.struct_size = sizeof(struct inet_listener_settings),
	.defs = inet_listener_defs,
	.name_key = "name",
	.unique = true,
	.def_file_offset = offsetof(struct inet_listener_settings, def_file),
	.def_line_offset = offsetof(struct inet_listener_settings, def_line),
};

/* ---- service ---------------------------------------------------------- */

/* Services roost runs. Every other Dovecot service name is accepted
   (and kept with implemented = false). */
static const char *const services_implemented[] = { "auth", NULL };

#define VSZ_LIMIT_UNSET "18446744073709551615"

static const char *const service_unsupported_keys[] = {
	"chroot", "drop_priv_before_exec", "extra_groups", "privileged_group",
	"protocol", "service_count", "type", NULL
};
static const char *const service_unsupported_sections[] = {
	"fifo_listener", NULL
};

static int service_check(void *_set, struct pool *pool, const char **error_r)
{
	struct service_settings *set = _set;
	const char *best = NULL;
	unsigned int dist, best_dist = UINT32_MAX;

	set->implemented = name_in_list(services_implemented, set->name);
	if (set->implemented || name_in_list(dovecot_service_names, set->name))
		return 0;
	for (const char *const *p = dovecot_service_names; *p != NULL; p++) {
		dist = settings_edit_distance(set->name, *p);
		if (dist < best_dist) {
			best_dist = dist;
			best = *p;
		}
	}
	if (best != NULL && best_dist <= 2) {
		*error_r = pool_printf(pool, "Unknown service: %s (did you "
				       "mean %s?)", set->name, best);
	} else {
		*error_r = pool_printf(pool, "Unknown service: %s", set->name);
	}
	return -1;
}

#define DEF(type, field, deflt) \
	{ type, #field, offsetof(struct service_settings, field), deflt, \
	  NULL, NULL }
#define DEFLIST(field, key, info) \
	{ SET_SECTION_LIST, key, offsetof(struct service_settings, field), \
	  NULL, &info, NULL }
static const struct setting_def service_defs[] = {
	DEF(SET_STR, name, NULL),
	DEF(SET_STR, executable, NULL),
	DEF(SET_STR, user, NULL),
	DEF(SET_STR, group, NULL),
	DEF(SET_UINT, process_limit, "0"),
	DEF(SET_UINT, process_min_avail, "0"),
	DEF(SET_UINT, client_limit, "0"),
	DEF(SET_SIZE, vsz_limit, VSZ_LIMIT_UNSET),
	DEF(SET_TIME, idle_kill, "0"),
	DEFLIST(unix_listeners, "unix_listener", unix_listener_settings_info),
	DEFLIST(inet_listeners, "inet_listener", inet_listener_settings_info),
	SETTING_DEF_END
};
#undef DEF
#undef DEFLIST

const struct setting_section_info service_settings_info = {
	.type = "service",
	.struct_size = sizeof(struct service_settings),
	.defs = service_defs,
	.name_key = "name",
	.unique = true,
	.def_file_offset = offsetof(struct service_settings, def_file),
	.def_line_offset = offsetof(struct service_settings, def_line),
	.unsupported_keys = service_unsupported_keys,
	.unsupported_sections = service_unsupported_sections,
	.check = service_check,
};

/* ---- top level -------------------------------------------------------- */

#define DEF(type, field, deflt, check) \
	{ type, #field, offsetof(struct master_settings, field), deflt, \
	  NULL, check }
static const struct setting_def master_defs[] = {
	DEF(SET_STR, base_dir, "/run/roost", NULL),
	DEF(SET_STR, state_dir, "/var/lib/roost", NULL),
	DEF(SET_STR, instance_name, "roost", NULL),
	DEF(SET_STR, log_path, "", NULL),
	DEF(SET_STR, info_log_path, "", NULL),
	DEF(SET_STR, debug_log_path, "", NULL),
	DEF(SET_STR, syslog_facility, "mail", NULL),
	DEF(SET_STR, log_timestamp, "%b %d %H:%M:%S ", NULL),
	DEF(SET_STR, protocols, "none", protocols_check),
	DEF(SET_STR, listen, "*, ::", NULL),
	DEF(SET_ENUM, ssl, "no:yes:required", ssl_check),
	DEF(SET_STR, default_internal_user, "dovecot", NULL),
	DEF(SET_STR, default_internal_group, "dovecot", NULL),
	DEF(SET_STR, default_login_user, "dovenull", NULL),
	DEF(SET_UINT, default_process_limit, "100", NULL),
	DEF(SET_UINT, default_client_limit, "1000", NULL),
	DEF(SET_SIZE, default_vsz_limit, "256M", NULL),
	DEF(SET_TIME, default_idle_kill, "1 min", NULL),
	{ SET_SECTION_LIST, "service", offsetof(struct master_settings, services),
	  NULL, &service_settings_info, NULL },
	SETTING_DEF_END
};
#undef DEF

const struct setting_section_info master_settings_info = {
	.type = "",
	.struct_size = sizeof(struct master_settings),
	.defs = master_defs,
	.def_file_offset = SETTINGS_NO_OFFSET,
	.def_line_offset = SETTINGS_NO_OFFSET,
	.unsupported_keys = dovecot_unsupported_settings,
	.unsupported_sections = dovecot_unsupported_sections,
};

static void add_unix_listener(const struct setting_def *list_def,
			      struct service_settings *service,
			      const char *path, unsigned int mode,
			      const char *user, struct pool *pool)
{
	struct unix_listener_settings *l;

	l = settings_list_add(list_def, service, path, pool);
	l->mode = mode;
	l->user = user;
	l->def_file = MASTER_SETTINGS_BUILTIN_FILE;
}

void master_settings_add_default_services(struct master_settings *set,
					  struct pool *pool)
{
	const struct setting_def *service_def, *unix_def;
	struct service_settings *auth;

	service_def = settings_find_def(&master_settings_info, "service");
	unix_def = settings_find_def(&service_settings_info, "unix_listener");
	i_assert(service_def != NULL && unix_def != NULL);

	/* Dovecot 2.3's service auth, minus the login/ and token-login/
	   listeners of Dovecot's own login processes */
	auth = settings_list_add(service_def, set, "auth", pool);
	auth->executable = "roost-auth";
	/* Dovecot runs auth as $default_internal_user ("dovecot"). roost has
	   no system user of its own yet, and a missing user would keep the
	   service from starting on a fresh machine: the built-in service
	   runs as roostd's user unless the config sets service auth { user }
	   (then roostd drops privileges to it before exec). */
	auth->user = "";
	auth->process_limit = 1;
	auth->implemented = true;
	auth->def_file = MASTER_SETTINGS_BUILTIN_FILE;
	add_unix_listener(unix_def, auth, "auth-client", 0600, "", pool);
	add_unix_listener(unix_def, auth, "auth-master", 0600, "", pool);
	add_unix_listener(unix_def, auth, "auth-userdb", 0666, "", pool);
}

static const char *resolve_user(const struct master_settings *set,
				const char *value)
{
	if (strcmp(value, "$default_internal_user") == 0)
		return set->default_internal_user;
	if (strcmp(value, "$default_login_user") == 0)
		return set->default_login_user;
	if (strcmp(value, "$default_internal_group") == 0)
		return set->default_internal_group;
	return value;
}

void master_settings_resolve(struct master_settings *set,
			     struct pool *pool ATTR_UNUSED)
{
	for (size_t i = 0; i < set->services.count; i++) {
		struct service_settings *service = set->services.v[i];

		if (service->process_limit == 0)
			service->process_limit = set->default_process_limit;
		if (service->client_limit == 0)
			service->client_limit = set->default_client_limit;
		if (service->vsz_limit == UINT64_MAX)
			service->vsz_limit = set->default_vsz_limit;
		if (service->idle_kill == 0)
			service->idle_kill = set->default_idle_kill;
		service->user = resolve_user(set, service->user);
		service->group = resolve_user(set, service->group);
		for (size_t j = 0; j < service->unix_listeners.count; j++) {
			struct unix_listener_settings *l =
				service->unix_listeners.v[j];
			l->user = resolve_user(set, l->user);
			l->group = resolve_user(set, l->group);
		}
	}
}
