/* Services: which ones roost runs, spawning their processes with the
   listeners inherited, reaping them and restarting with back-off. */
#include "lib.h"
#include "log.h"
#include "path-error.h"
#include "master.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
#include <event2/event.h>

/* Services roost implements. A service section with another name (a
   Dovecot config has imap-login, lmtp, dict ...) is left alone until roost
   implements it; adding it here is all it takes to run it. */
static const struct master_known_service master_known_services[] = {
	{ .name = "auth", .executable = "roost-auth" },
};

/* Dovecot services that roost doesn't need as processes: auth-worker
   work runs on roost-auth's thread pool. No "not started" note for them. */
static const char *const master_absorbed_services[] = {
	"auth-worker",
};

static void service_spawn(struct master_service *service);

const struct master_known_service *master_known_service_find(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(master_known_services); i++) {
		if (strcmp(master_known_services[i].name, name) == 0)
			return &master_known_services[i];
	}
	return NULL;
}

static bool service_is_absorbed(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(master_absorbed_services); i++) {
		if (strcmp(master_absorbed_services[i], name) == 0)
			return true;
	}
	return false;
}

static int64_t timespec_diff_msecs(const struct timespec *end,
				   const struct timespec *start)
{
	return (int64_t)(end->tv_sec - start->tv_sec) * 1000 +
		(end->tv_nsec - start->tv_nsec) / 1000000;
}

static void msecs_to_timeval(unsigned int msecs, struct timeval *tv_r)
{
	tv_r->tv_sec = msecs / 1000;
	tv_r->tv_usec = (msecs % 1000) * 1000;
}

/* Where the service's executable is: $ROOST_LIBEXEC_DIR, else beside
   roostd (an in-tree build has both in the build root), else LIBEXECDIR. */
static char *service_executable_path(struct master_context *ctx,
				     const struct master_known_service *known)
{
	char *path;

	if (ctx->libexec_env != NULL)
		return master_path_join(ctx->libexec_env, known->executable);
	if (ctx->self_dir != NULL) {
		path = master_path_join(ctx->self_dir, known->executable);
		if (access(path, X_OK) == 0)
			return path;
		free(path);
	}
	return master_path_join(LIBEXECDIR, known->executable);
}

/* "returned error 89", "killed with signal 9" (Dovecot's wording, which
   admins and their log watchers know). */
static char *process_status_describe(int status)
{
	const char *hint = "";
	int code;

	if (WIFSIGNALED(status)) {
		return x_printf("killed with signal %d%s", WTERMSIG(status),
				WCOREDUMP(status) ? " (core dumped)" : "");
	}
	if (!WIFEXITED(status))
		return x_printf("ended with wait status 0x%x", (unsigned int)status);
	code = WEXITSTATUS(status);
	if (code == 0)
		return x_strdup("exited with status 0");
	switch (code) {
	case MASTER_EXIT_EXEC_FAILED:
		hint = " (exec failed)";
		break;
	case 78:
		hint = " (configuration error)";
		break;
	case MASTER_EXIT_FATAL:
		hint = " (fatal error)";
		break;
	}
	return x_printf("returned error %d%s", code, hint);
}

/* ---- processes --------------------------------------------------------- */

static void process_kill_timeout(evutil_socket_t fd ATTR_UNUSED,
				 short what ATTR_UNUSED, void *context)
{
	struct master_process *process = context;

	log_warning("service(%s): child %ld still running %d s after SIGTERM - "
		    "sending SIGKILL", process->service_name,
		    (long)process->pid, MASTER_STOP_KILL_SECS);
	process->killed = true;
	(void)kill(process->pid, SIGKILL);
}

/* The process is no longer the service's current one: its death is
   expected and won't be restarted. */
static void process_detach(struct master_process *process)
{
	if (process->service != NULL) {
		if (process->service->process == process)
			process->service->process = NULL;
		process->service = NULL;
	}
}

static void process_stop(struct master_process *process, bool kill_now)
{
	struct timeval tv = { .tv_sec = MASTER_STOP_KILL_SECS };

	process_detach(process);
	if (kill_now) {
		process->killed = true;
		(void)kill(process->pid, SIGKILL);
		return;
	}
	if (process->stopping)
		return;
	process->stopping = true;
	if (kill(process->pid, SIGTERM) < 0 && errno != ESRCH) {
		log_error("service(%s): kill(%ld, SIGTERM) failed: %s",
			  process->service_name, (long)process->pid,
			  strerror(errno));
	}
	evtimer_add(process->kill_timer, &tv);
}

void master_processes_stop_all(struct master_context *ctx, bool kill_now)
{
	for (size_t i = 0; i < ctx->services.count; i++)
		evtimer_del(ctx->services.v[i]->restart_timer);
	for (size_t i = 0; i < ctx->processes.count; i++)
		process_stop(ctx->processes.v[i], kill_now);
}

static void process_free(struct master_process **_process)
{
	struct master_process *process = *_process;

	*_process = NULL;
	process_detach(process);
	event_free(process->kill_timer);
	free(process->service_name);
	free(process);
}

/* ---- restart back-off ------------------------------------------------ */

static void service_restart_timeout(evutil_socket_t fd ATTR_UNUSED,
				    short what ATTR_UNUSED, void *context)
{
	struct master_service *service = context;

	if (service->process == NULL && !service->ctx->shutting_down)
		service_spawn(service);
}

/* Immediate restart after the first failure, then 0.1 s doubling up to
   60 s. A child that dies right after start (bad config, missing
   executable, unknown user) so costs little CPU and fills no disk, and a
   child that was healthy for a minute starts over from "immediate". */
static unsigned int service_failure_delay_msecs(struct master_service *service,
						int64_t run_msecs)
{
	unsigned int shift;
	uint64_t delay;

	if (run_msecs >= MASTER_RESTART_RESET_SECS * 1000)
		service->failures = 0;
	service->failures++;
	if (service->failures == 1)
		return 0;
	shift = service->failures - 2;
	if (shift > 20)
		shift = 20;
	delay = (uint64_t)MASTER_RESTART_MIN_MSECS << shift;
	return delay > MASTER_RESTART_MAX_MSECS ?
		MASTER_RESTART_MAX_MSECS : (unsigned int)delay;
}

/* run_msecs < 0: the process couldn't even be started. */
static void service_failed(struct master_service *service, int64_t run_msecs,
			   const char *reason)
{
	struct timeval tv;
	unsigned int delay = service_failure_delay_msecs(service, run_msecs);

	if (service->ctx->shutting_down)
		return;
	if (delay == 0) {
		service_spawn(service);
		return;
	}
	if (run_msecs >= 0 && run_msecs < 1000) {
		log_error("service(%s): child died %.2f s after start, %u times "
			  "in a row - probably a configuration or startup "
			  "error, see the lines above; restarting in %.1f s",
			  service->name, (double)run_msecs / 1000.0,
			  service->failures, (double)delay / 1000.0);
	} else {
		log_error("service(%s): %u failures in a row (last: %s); "
			  "restarting in %.1f s", service->name,
			  service->failures, reason, (double)delay / 1000.0);
	}
	msecs_to_timeval(delay, &tv);
	evtimer_add(service->restart_timer, &tv);
}

/* ---- spawning -------------------------------------------------------- */

struct spawn_plan {
	const char *service_name;
	char *executable;
	const char *config_path;
	char *listeners_env;
	char master_pid[32];
	const int *fds;
	size_t fd_count;
	bool switch_user;
	const char *user;
	uid_t uid;
	gid_t gid;
};

/* As root, a service with user = ... runs as that user (and group, or the
   user's primary group). Without user = ..., roost keeps the service as
   root for now - Dovecot would default auth to default_internal_user, but
   roost-auth reads files (passwd-file, TLS keys) as root before it can
   drop privileges itself. Not root: everything runs as the invoking user. */
static int spawn_plan_user(const struct master_service *service,
			   struct spawn_plan *plan, char **error_r)
{
	struct passwd *pw;
	struct group *gr;
	char *end;
	unsigned long num;

	if (geteuid() != 0 || service->user[0] == '\0')
		return 0;
	errno = 0;
	pw = getpwnam(service->user);
	if (pw == NULL) {
		*error_r = x_printf("user %s: %s", service->user,
				    errno != 0 ? strerror(errno) :
				    "no such user");
		return -1;
	}
	plan->switch_user = true;
	plan->user = service->user;
	plan->uid = pw->pw_uid;
	plan->gid = pw->pw_gid;
	if (service->group[0] == '\0')
		return 0;
	num = strtoul(service->group, &end, 10);
	if (*end == '\0' && end != service->group) {
		plan->gid = (gid_t)num;
		return 0;
	}
	errno = 0;
	gr = getgrnam(service->group);
	if (gr == NULL) {
		*error_r = x_printf("group %s: %s", service->group,
				    errno != 0 ? strerror(errno) :
				    "no such group");
		return -1;
	}
	plan->gid = gr->gr_gid;
	return 0;
}

/* In the forked child: never returns. Only async-signal-safe-ish work
   until exec (roostd is single-threaded, so malloc is fine too). */
static void ATTR_NORETURN spawn_child_exec(const struct spawn_plan *plan)
{
	sigset_t mask;
	char *argv[4];
	char *error;
	int flags;

	/* exec() keeps blocked and ignored signals: undo roostd's */
	sigemptyset(&mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	signal(SIGPIPE, SIG_DFL);

	for (size_t i = 0; i < plan->fd_count; i++) {
		flags = fcntl(plan->fds[i], F_GETFD);
		if (flags < 0 ||
		    fcntl(plan->fds[i], F_SETFD, flags & ~FD_CLOEXEC) < 0) {
			log_error("service(%s): fcntl(%d, F_SETFD) failed: %s",
				  plan->service_name, plan->fds[i],
				  strerror(errno));
			_exit(MASTER_EXIT_EXEC_FAILED);
		}
	}
	if (setenv("ROOST_LISTENERS", plan->listeners_env, 1) < 0 ||
	    setenv("ROOST_MASTER_PID", plan->master_pid, 1) < 0) {
		log_error("service(%s): setenv() failed: %s",
			  plan->service_name, strerror(errno));
		_exit(MASTER_EXIT_EXEC_FAILED);
	}
	if (plan->switch_user) {
		if (setgid(plan->gid) < 0 ||
		    initgroups(plan->user, plan->gid) < 0 ||
		    setuid(plan->uid) < 0) {
			log_error("service(%s): switching to user %s "
				  "(uid=%ld gid=%ld) failed: %s",
				  plan->service_name, plan->user,
				  (long)plan->uid, (long)plan->gid,
				  strerror(errno));
			_exit(MASTER_EXIT_EXEC_FAILED);
		}
	}
	argv[0] = plan->executable;
	argv[1] = (char *)"-c";
	argv[2] = (char *)plan->config_path;
	argv[3] = NULL;
	execv(plan->executable, argv);
	error = path_error("execv", plan->executable, errno);
	log_error("service(%s): %s", plan->service_name, error);
	_exit(MASTER_EXIT_EXEC_FAILED);
}

static void service_spawn(struct master_service *service)
{
	struct master_context *ctx = service->ctx;
	struct master_process *process;
	struct spawn_plan plan;
	struct listener *listeners;
	int *fds;
	char *error = NULL;
	size_t count = service->listeners.count;
	pid_t pid;

	i_assert(service->process == NULL);
	evtimer_del(service->restart_timer);

	memset(&plan, 0, sizeof(plan));
	if (spawn_plan_user(service, &plan, &error) < 0) {
		log_error("service(%s): can't start: %s", service->name, error);
		free(error);
		service_failed(service, -1, "unknown user or group");
		return;
	}
	listeners = x_malloc(sizeof(*listeners) * (count + 1));
	fds = x_malloc(sizeof(*fds) * (count + 1));
	for (size_t i = 0; i < count; i++) {
		listeners[i] = service->listeners.v[i]->l;
		fds[i] = listeners[i].fd;
	}
	plan.service_name = service->name;
	plan.executable = service_executable_path(ctx, service->known);
	plan.config_path = ctx->config_path;
	plan.listeners_env = listen_to_env(listeners, count);
	snprintf(plan.master_pid, sizeof(plan.master_pid), "%ld",
		 (long)getpid());
	plan.fds = fds;
	plan.fd_count = count;

	pid = fork();
	if (pid == 0)
		spawn_child_exec(&plan);
	if (pid < 0) {
		log_error("service(%s): fork() failed: %s", service->name,
			  strerror(errno));
	} else {
		process = x_malloc(sizeof(*process));
		process->ctx = ctx;
		process->pid = pid;
		process->service_name = x_strdup(service->name);
		process->service = service;
		clock_gettime(CLOCK_MONOTONIC, &process->started);
		process->kill_timer = evtimer_new(ctx->base, process_kill_timeout,
						  process);
		array_push(&ctx->processes, process);
		service->process = process;
		log_debug("service(%s): started child %ld: %s", service->name,
			  (long)pid, plan.executable);
	}
	free(plan.executable);
	free(plan.listeners_env);
	free(listeners);
	free(fds);
	if (pid < 0)
		service_failed(service, -1, "fork() failed");
}

void master_services_start(struct master_context *ctx)
{
	for (size_t i = 0; i < ctx->services.count; i++) {
		struct master_service *service = ctx->services.v[i];

		if (service->process == NULL &&
		    !evtimer_pending(service->restart_timer, NULL))
			service_spawn(service);
	}
}

/* ---- reaping --------------------------------------------------------- */

static void process_died(struct master_process *process, int status)
{
	struct master_service *service = process->service;
	struct timespec now;
	int64_t run_msecs;
	char *desc;

	clock_gettime(CLOCK_MONOTONIC, &now);
	run_msecs = timespec_diff_msecs(&now, &process->started);
	desc = process_status_describe(status);

	if (service == NULL) {
		/* We asked it to stop (reload, shutdown, removed service). */
		if ((WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
		    (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) ||
		    (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
		     process->killed)) {
			log_debug("service(%s): child %ld stopped",
				  process->service_name, (long)process->pid);
		} else {
			log_warning("service(%s): child %ld %s while stopping",
				    process->service_name, (long)process->pid,
				    desc);
		}
		free(desc);
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		log_warning("service(%s): child %ld exited unexpectedly with "
			    "status 0", service->name, (long)process->pid);
	} else {
		log_error("service(%s): child %ld %s", service->name,
			  (long)process->pid, desc);
	}
	process_detach(process);
	service_failed(service, run_msecs, desc);
	free(desc);
}

void master_processes_reap(struct master_context *ctx)
{
	struct master_process *process;
	size_t i;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < ctx->processes.count; i++) {
			if (ctx->processes.v[i]->pid == pid)
				break;
		}
		if (i == ctx->processes.count) {
			log_debug("reaped unknown child %ld", (long)pid);
			continue;
		}
		process = ctx->processes.v[i];
		array_delete(&ctx->processes, i, 1);
		process_died(process, status);
		process_free(&process);
	}
	if (pid < 0 && errno != ECHILD)
		log_error("waitpid() failed: %s", strerror(errno));
	if (ctx->shutting_down && ctx->processes.count == 0)
		event_base_loopbreak(ctx->base);
}

/* ---- configuration -> services --------------------------------------- */

static struct master_service *
service_create(struct master_context *ctx,
	       const struct master_known_service *known,
	       const struct service_settings *set)
{
	struct master_service *service = x_malloc(sizeof(*service));

	service->ctx = ctx;
	service->name = x_strdup(set->name);
	service->known = known;
	service->user = x_strdup(set->user != NULL ? set->user : "");
	service->group = x_strdup(set->group != NULL ? set->group : "");
	service->restart_timer = evtimer_new(ctx->base, service_restart_timeout,
					     service);
	return service;
}

static void service_free(struct master_service **_service)
{
	struct master_service *service = *_service;

	*_service = NULL;
	if (service->process != NULL)
		process_stop(service->process, false);
	for (size_t i = 0; i < service->listeners.count; i++)
		master_listener_destroy(&service->listeners.v[i]);
	array_free(&service->listeners);
	event_free(service->restart_timer);
	free(service->name);
	free(service->user);
	free(service->group);
	free(service);
}

/* A new service and the listeners it should have. */
struct service_plan {
	const struct master_known_service *known;
	const struct service_settings *set;
	master_listener_spec_array_t specs;
	ARRAY(struct master_listener *) listeners;  /* parallel to specs */
};

typedef ARRAY(struct service_plan) service_plan_array_t;

static void service_plans_free(service_plan_array_t *plans)
{
	struct service_plan *plan;

	array_foreach(plans, plan) {
		for (size_t i = 0; i < plan->specs.count; i++)
			master_listener_spec_free_members(&plan->specs.v[i]);
		for (size_t i = 0; i < plan->listeners.count; i++)
			master_listener_destroy(&plan->listeners.v[i]);
		array_free(&plan->specs);
		array_free(&plan->listeners);
	}
	array_free(plans);
}

/* Move a still-fitting listener of an old service to the plan. */
static struct master_listener *
listener_take_old(struct master_context *ctx,
		  struct master_listener_spec *spec)
{
	struct master_listener *listener;

	for (size_t i = 0; i < ctx->services.count; i++) {
		struct master_service *old = ctx->services.v[i];

		for (size_t j = 0; j < old->listeners.count; j++) {
			listener = old->listeners.v[j];
			if (!master_listener_spec_can_keep(&listener->spec, spec))
				continue;
			array_delete(&old->listeners, j, 1);
			if (!spec->is_unix &&
			    listener->spec.reuse_port != spec->reuse_port) {
				log_warning("%s: inet_listener %s: the reuse_port "
					    "change takes effect when roostd "
					    "restarts", spec->def_where,
					    spec->name);
			}
			/* the new name and settings, the old socket */
			master_listener_spec_free_members(&listener->spec);
			listener->spec = *spec;
			memset(spec, 0, sizeof(*spec));
			free(listener->l.name);
			listener->l.name = x_strdup(listener->spec.name);
			return listener;
		}
	}
	return NULL;
}

int master_services_apply(struct master_context *ctx,
			  const struct roost_settings *new_set, bool startup,
			  char **error_r)
{
	const struct master_settings *mset = new_set->master;
	service_plan_array_t plans = ARRAY_INIT;
	master_service_array_t new_services = ARRAY_INIT;
	struct service_plan *plan;
	struct master_listener *listener;
	char *error;

	*error_r = NULL;
	/* 1. What the new configuration wants; any error here is a
	   configuration error and changes nothing. */
	for (size_t i = 0; i < mset->services.count; i++) {
		const struct service_settings *set = mset->services.v[i];
		const struct master_known_service *known =
			master_known_service_find(set->name);

		if (known == NULL) {
			if (startup && !service_is_absorbed(set->name)) {
				log_info("service(%s): not implemented by roost "
					 "yet - not started", set->name);
			}
			continue;
		}
		plan = array_append_space(&plans);
		plan->known = known;
		plan->set = set;
		if (master_listener_specs_get(ctx, mset, set, &plan->specs,
					      &error) < 0) {
			*error_r = x_printf("service(%s): %s", set->name, error);
			free(error);
			service_plans_free(&plans);
			return -1;
		}
	}
	if (plans.count == 0)
		log_warning("no service roost implements is configured "
			    "(expected a service auth) - nothing to run");

	/* 2. Keep the sockets that still fit, close the others (so that a
	   re-created unix socket finds its path free). */
	array_foreach(&plans, plan) {
		for (size_t i = 0; i < plan->specs.count; i++) {
			listener = listener_take_old(ctx, &plan->specs.v[i]);
			array_push(&plan->listeners, listener);
		}
	}
	for (size_t i = 0; i < ctx->services.count; i++) {
		struct master_service *old = ctx->services.v[i];

		for (size_t j = 0; j < old->listeners.count; j++)
			master_listener_destroy(&old->listeners.v[j]);
		array_clear(&old->listeners);
	}

	/* 3. Create the new sockets. */
	array_foreach(&plans, plan) {
		for (size_t i = 0; i < plan->specs.count; i++) {
			struct master_listener_spec *spec = &plan->specs.v[i];
			char *where;

			if (plan->listeners.v[i] != NULL)
				continue;
			where = x_strdup(spec->def_where);
			plan->listeners.v[i] = master_listener_create(spec, &error);
			if (plan->listeners.v[i] == NULL) {
				if (startup) {
					*error_r = x_printf("service(%s): %s: %s",
							    plan->set->name,
							    where, error);
					free(error);
					free(where);
					service_plans_free(&plans);
					return -1;
				}
				log_error("service(%s): %s: listener left out: %s",
					  plan->set->name, where, error);
				free(error);
			}
			free(where);
		}
	}

	/* 4. The old services go (their processes get SIGTERM); the new
	   ones start with no process and no failures. */
	for (size_t i = 0; i < ctx->services.count; i++)
		service_free(&ctx->services.v[i]);
	array_free(&ctx->services);
	array_foreach(&plans, plan) {
		struct master_service *service =
			service_create(ctx, plan->known, plan->set);

		for (size_t i = 0; i < plan->listeners.count; i++) {
			if (plan->listeners.v[i] != NULL) {
				array_push(&service->listeners,
					   plan->listeners.v[i]);
				plan->listeners.v[i] = NULL;
			}
		}
		array_push(&new_services, service);
	}
	service_plans_free(&plans);
	ctx->services = new_services;
	return 0;
}

void master_services_deinit(struct master_context *ctx)
{
	for (size_t i = 0; i < ctx->services.count; i++)
		service_free(&ctx->services.v[i]);
	array_free(&ctx->services);
	for (size_t i = 0; i < ctx->processes.count; i++)
		process_free(&ctx->processes.v[i]);
	array_free(&ctx->processes);
}
