#ifndef ROOST_MASTER_SETTINGS_H
#define ROOST_MASTER_SETTINGS_H
/* Global and service settings (Dovecot 2.3 names). Bound from the parsed
   config by settings_bind(); all strings live in the settings pool. */
#include "lib.h"
#include "array.h"

struct unix_listener_settings {
	const char *path;       /* section name; relative = under base_dir */
	unsigned int mode;      /* octal in the config, e.g. 0600 */
	const char *user;       /* "" = process user */
	const char *group;
	const char *file, *line_str; /* unused by code; see def_file/def_line */
	const char *def_file;   /* where the section was defined */
	unsigned int def_line;
};

struct inet_listener_settings {
	const char *name;       /* section name */
	const char *address;    /* "" = the global listen setting */
	unsigned int port;      /* 0 = disabled */
	bool ssl;
	bool reuse_port;
	bool haproxy;
	const char *def_file;
	unsigned int def_line;
};

struct service_settings {
	const char *name;       /* section name: auth, auth-worker, imap ... */
	const char *executable;
	const char *user;
	const char *group;
	unsigned int process_limit;
	unsigned int process_min_avail;
	unsigned int client_limit;
	uint64_t vsz_limit;     /* bytes */
	unsigned int idle_kill; /* seconds */
	ARRAY(struct unix_listener_settings *) unix_listeners;
	ARRAY(struct inet_listener_settings *) inet_listeners;
	const char *def_file;
	unsigned int def_line;
	/* true: roost runs this service (auth). false: a Dovecot service
	   roost accepts in the config for compatibility but does not run
	   (auth-worker, anvil, imap-login ...; with protocols = none
	   Dovecot would not run the protocol ones either). */
	bool implemented;
};

struct master_settings {
	const char *base_dir;
	const char *state_dir;
	const char *instance_name;
	const char *log_path;        /* "" or /dev/stderr = stderr; "syslog" */
	const char *info_log_path;
	const char *debug_log_path;
	const char *syslog_facility;
	const char *log_timestamp;
	const char *protocols;       /* space-separated; "none" or "" = none */
	const char *listen;
	const char *ssl;             /* only "no" implemented so far */
	const char *default_internal_user;
	const char *default_internal_group;
	const char *default_login_user;
	unsigned int default_process_limit;
	unsigned int default_client_limit;
	uint64_t default_vsz_limit;
	unsigned int default_idle_kill;  /* seconds */
	ARRAY(struct service_settings *) services;
};

/* Tables for lib/settings.h (defined in master-settings.c). */
struct setting_section_info;
extern const struct setting_section_info master_settings_info;
extern const struct setting_section_info service_settings_info;
extern const struct setting_section_info unix_listener_settings_info;
extern const struct setting_section_info inet_listener_settings_info;

struct pool;
/* def_file of the built-in default services and listeners (def_line 0) */
#define MASTER_SETTINGS_BUILTIN_FILE "(built-in default)"
/* Add the services that exist without configuration: auth with the
   unix listeners auth-client (0600), auth-master (0600) and auth-userdb
   (0666), relative to base_dir. Config sections merge into them by name. */
void master_settings_add_default_services(struct master_settings *set,
					  struct pool *pool);
/* After binding: resolve what Dovecot leaves to the service defaults, so
   users of the structs get final values:
     service process_limit / client_limit 0 -> default_process_limit /
     default_client_limit, vsz_limit unset -> default_vsz_limit,
     idle_kill 0 -> default_idle_kill, user/group "$default_internal_user",
     "$default_login_user", "$default_internal_group" -> their values. */
void master_settings_resolve(struct master_settings *set, struct pool *pool);

#endif
