#ifndef ROOST_MASTER_H
#define ROOST_MASTER_H
/* roostd: reads the configuration, binds the listeners, spawns the service
   processes with the listeners inherited, restarts them when they die,
   reloads on SIGHUP and stops everything on SIGTERM/SIGINT.

   All state hangs off one struct master_context, passed explicitly; there
   is no mutable global configuration. */
#include "lib.h"
#include "array.h"
#include "listen.h"
#include "roost-settings.h"

#include <time.h>
#include <sys/stat.h>

struct event_base;
struct event;

/* Exit code for fatal startup errors (configuration errors included), the
   same as Dovecot's fatal exit (FATAL_DEFAULT), so init scripts and tests
   written for Dovecot read it the same way. */
#define MASTER_EXIT_FATAL 89
/* A forked child whose exec() failed exits with this (Dovecot's
   FATAL_EXEC). */
#define MASTER_EXIT_EXEC_FAILED 84

/* How long a stopping child gets between SIGTERM and SIGKILL. */
#define MASTER_STOP_KILL_SECS 5
/* Restart back-off: immediate after the first failure, then 0.1 s doubling
   up to 60 s; a child that ran this long resets the failure count. */
#define MASTER_RESTART_MIN_MSECS 100
#define MASTER_RESTART_MAX_MSECS (60 * 1000)
#define MASTER_RESTART_RESET_SECS 60

/* A service roost implements: config section name -> executable under the
   libexec directory. */
struct master_known_service {
	const char *name;
	const char *executable;
};

/* What a listener should be, from the settings. */
struct master_listener_spec {
	bool is_unix;
	char *name;       /* ROOST_LISTENERS name */
	char *path;       /* unix: absolute path */
	unsigned int mode;
	char *user, *group;
	char *address;    /* inet: one address from the address list */
	unsigned int port;
	bool reuse_port;
	char *def_where;  /* "file:line" of the listener section, for errors */
};

struct master_listener {
	struct master_listener_spec spec;
	struct listener l;   /* fd, is_unix, name, path (for logs) */
	/* unix: identity of the socket file we created, so that we only
	   remove our own file on shutdown */
	dev_t dev;
	ino_t ino;
	bool have_file;
};

struct master_process;

struct master_service {
	struct master_context *ctx;
	char *name;
	const struct master_known_service *known;
	char *user, *group;      /* service settings; "" = as roostd */
	ARRAY(struct master_listener *) listeners;

	struct master_process *process;   /* the running child, or NULL */
	unsigned int failures;   /* unexpected deaths in a row */
	struct event *restart_timer;
};

struct master_process {
	struct master_context *ctx;
	pid_t pid;
	char *service_name;      /* copy: the service may be gone */
	/* NULL once the process is obsolete (reload, shutdown, or its
	   service was removed): its death is then not restarted */
	struct master_service *service;
	struct timespec started;
	bool stopping;           /* we sent SIGTERM */
	bool killed;             /* we sent SIGKILL */
	struct event *kill_timer;
};

typedef ARRAY(struct master_service *) master_service_array_t;

struct master_context {
	struct event_base *base;
	struct roost_settings *set;
	char *config_path;       /* absolute */
	char *base_dir;          /* absolute */
	char *start_cwd;         /* to resolve a relative base_dir */
	char *self_dir;          /* directory of the roostd binary, or NULL */
	char *libexec_env;       /* $ROOST_LIBEXEC_DIR, or NULL */
	bool foreground;

	int pid_fd;
	char *pid_path;

	master_service_array_t services;
	ARRAY(struct master_process *) processes;

	bool shutting_down;
	struct event *signal_events[5];
};

/* instance.c */
/* mkdir -p dir with mode 0755 for the created components. */
int master_mkdir_parents(const char *dir, char **error_r);
/* Lock base_dir/master.pid (exclusive, held until exit). Returns 1 if
   locked, 0 if another roostd holds it (error_r says which PID), -1 on
   error. */
int master_pidfile_lock(struct master_context *ctx, char **error_r);
/* Write pid into the locked file (the daemon's, after forking). */
int master_pidfile_write(struct master_context *ctx, pid_t pid,
			 char **error_r);
void master_pidfile_remove(struct master_context *ctx);
/* "dir/file" or file if absolute. malloc()ed. */
char *master_path_join(const char *dir, const char *file);

/* service.c */
const struct master_known_service *master_known_service_find(const char *name);
/* Replace ctx->services by the services of new_set, keeping the fds of
   listeners that didn't change. At startup (no old services) any listener
   error fails the whole call; on reload it is logged and the listener is
   left out. Old processes become obsolete and are sent SIGTERM. Doesn't
   spawn: call master_services_start(). */
int master_services_apply(struct master_context *ctx,
			  const struct roost_settings *new_set, bool startup,
			  char **error_r);
/* Spawn a process for every service that has none. */
void master_services_start(struct master_context *ctx);
/* Reap children (SIGCHLD) and schedule restarts. */
void master_processes_reap(struct master_context *ctx);
/* SIGTERM every process (SIGKILL after MASTER_STOP_KILL_SECS); with
   kill_now, SIGKILL right away. */
void master_processes_stop_all(struct master_context *ctx, bool kill_now);
/* Close every listener, removing the unix sockets we created, and free the
   services. */
void master_services_deinit(struct master_context *ctx);

/* service-listen.c */
/* The listener specs a service's settings describe (appended to specs).
   Returns -1 with error_r if one can't be used (bad path, unresolvable
   address). */
typedef ARRAY(struct master_listener_spec) master_listener_spec_array_t;
int master_listener_specs_get(struct master_context *ctx,
			      const struct master_settings *mset,
			      const struct service_settings *set,
			      master_listener_spec_array_t *specs,
			      char **error_r);
void master_listener_spec_free_members(struct master_listener_spec *spec);
/* Can the old listener's socket serve the new spec (kept across reload)? */
bool master_listener_spec_can_keep(const struct master_listener_spec *old,
				   const struct master_listener_spec *new);
/* Create the socket; the spec is moved into the returned listener. */
struct master_listener *
master_listener_create(struct master_listener_spec *spec, char **error_r);
/* Close the fd; unlink the unix socket if it is still the one we made. */
void master_listener_destroy(struct master_listener **listener);

#endif
