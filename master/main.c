/* roostd: options, startup, signals and the main loop. */
#include "lib.h"
#include "log.h"
#include "pool.h"
#include "str.h"
#include "master.h"

#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <event2/event.h>

#define MASTER_DEFAULT_CONFIG SYSCONFDIR "/roost/roost.conf"
#define EXIT_USAGE 64   /* EX_USAGE */

static void ATTR_NORETURN usage(FILE *out, int exit_code)
{
	fprintf(out,
"Usage: roostd [-F] [-c FILE]\n"
"       roostd [-c FILE] -n | -a\n"
"       roostd --version | -h\n"
"  -c FILE    configuration file (default " MASTER_DEFAULT_CONFIG ");\n"
"             a Dovecot 2.3 dovecot.conf is accepted too\n"
"  -F         stay in the foreground\n"
"  -n         print the settings that differ from the defaults and exit\n"
"  -a         print all settings and exit\n"
"  --version  print the version and exit\n"
"Signals: HUP reloads the configuration, TERM/INT stop, USR1 reopens the log.\n");
	exit(exit_code);
}

static char *path_make_absolute(const char *cwd, const char *path)
{
	if (path[0] == '/' || cwd == NULL)
		return x_strdup(path);
	return master_path_join(cwd, path);
}

static bool str_eq_null(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

static bool log_path_is_stderr(const char *path)
{
	return path == NULL || path[0] == '\0' ||
		strcmp(path, "/dev/stderr") == 0;
}

static void master_context_free(struct master_context *ctx)
{
	if (ctx->set != NULL)
		roost_settings_free(&ctx->set);
	x_free(ctx->config_path);
	x_free(ctx->base_dir);
	x_free(ctx->start_cwd);
	x_free(ctx->self_dir);
	x_free(ctx->libexec_env);
	x_free(ctx->pid_path);
}

/* Fatal error before the main loop: the invoker sees it on stderr, the
   log gets it too when it is elsewhere. */
static void ATTR_NORETURN ATTR_FORMAT(2, 3)
startup_fatal(struct master_context *ctx, const char *fmt, ...)
{
	va_list args;
	char *msg;

	va_start(args, fmt);
	msg = x_vprintf(fmt, args);
	va_end(args);
	fprintf(stderr, "roostd: Fatal: %s\n", msg);
	if (ctx->set != NULL && !log_path_is_stderr(ctx->set->master->log_path))
		log_msg(LOG_LEVEL_FATAL, NULL, "%s", msg);
	free(msg);
	if (ctx->base != NULL)
		master_services_deinit(ctx);
	master_pidfile_remove(ctx);
	if (ctx->base != NULL)
		event_base_free(ctx->base);
	master_context_free(ctx);
	exit(MASTER_EXIT_FATAL);
}

/* Returns -1 with *error_r (malloc()ed) naming file:line on error. */
static int settings_read(const char *path, struct roost_settings **set_r,
			 char **error_r)
{
	struct pool *err_pool = pool_create("config errors", 1024);
	const char *error;
	int ret = 0;

	if (roost_settings_read(path, set_r, err_pool, &error) < 0) {
		*error_r = x_strdup(error);
		ret = -1;
	}
	pool_destroy(&err_pool);
	return ret;
}

static void settings_log_warnings(const struct roost_settings *set)
{
	for (unsigned int i = 0; i < set->warning_count; i++)
		log_warning("%s", set->warnings[i]);
}

static int log_target_apply(const struct master_settings *mset,
			    char **error_r)
{
	const char *error;

	if (log_set_target(mset->log_path, mset->syslog_facility, &error) < 0) {
		*error_r = x_printf("log_path=%s: %s", mset->log_path, error);
		return -1;
	}
	if (log_set_level_targets(mset->info_log_path, mset->debug_log_path,
				  &error) < 0) {
		*error_r = x_printf("info_log_path/debug_log_path: %s", error);
		return -1;
	}
	return 0;
}

static char *self_dir_get(void)
{
	char buf[PATH_MAX];
	ssize_t len;
	char *slash;

	len = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (len <= 0)
		return NULL;
	buf[len] = '\0';
	slash = strrchr(buf, '/');
	if (slash == NULL)
		return NULL;
	*slash = '\0';
	return x_strdup(buf[0] == '\0' ? "/" : buf);
}

/* Send stray stderr output of roostd and its children (before they open
   their log) to the log file when there is one. With log_path empty, stderr
   stays as it was: a service manager (systemd) collects it. */
static void stderr_redirect(const struct master_settings *mset)
{
	int fd;

	if (log_path_is_stderr(mset->log_path))
		return;
	if (strcmp(mset->log_path, "syslog") == 0) {
		fd = open("/dev/null", O_WRONLY);
		if (fd >= 0 && fd != STDERR_FILENO) {
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
	} else if (log_get_fd() > STDERR_FILENO) {
		dup2(log_get_fd(), STDERR_FILENO);
	}
}

static void master_daemonize(struct master_context *ctx)
{
	char *error;
	pid_t pid;
	int fd;

	pid = fork();
	if (pid < 0)
		startup_fatal(ctx, "fork() failed: %s", strerror(errno));
	if (pid > 0) {
		/* The parent writes the child's PID before exiting, so that
		   whoever waits for us (init script, systemd Type=forking)
		   finds the right one. The flock is shared with the child. */
		if (master_pidfile_write(ctx, pid, &error) < 0) {
			fprintf(stderr, "roostd: %s\n", error);
			free(error);
		}
		_exit(0);
	}
	if (setsid() < 0)
		log_warning("setsid() failed: %s", strerror(errno));
	if (chdir("/") < 0)
		log_warning("chdir(/) failed: %s", strerror(errno));
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	stderr_redirect(ctx->set->master);
	if (event_reinit(ctx->base) < 0)
		startup_fatal(ctx, "event_reinit() failed after fork");
}

/* ---- signals ---------------------------------------------------------- */

static void master_reload(struct master_context *ctx)
{
	struct roost_settings *new_set;
	const struct master_settings *old_mset = ctx->set->master;
	char *error, *new_base_dir;
	bool log_changed;

	if (ctx->shutting_down)
		return;
	if (settings_read(ctx->config_path, &new_set, &error) < 0) {
		log_error("Configuration reload failed, keeping the old "
			  "configuration: %s", error);
		free(error);
		return;
	}
	/* the PID file lock and the sockets' directory stay where they are */
	new_base_dir = path_make_absolute(ctx->start_cwd,
					  new_set->master->base_dir);
	if (strcmp(new_base_dir, ctx->base_dir) != 0) {
		log_error("Configuration reload failed, keeping the old "
			  "configuration: base_dir can't be changed by a "
			  "reload (%s -> %s), restart roostd",
			  ctx->base_dir, new_base_dir);
		free(new_base_dir);
		roost_settings_free(&new_set);
		return;
	}
	free(new_base_dir);
	settings_log_warnings(new_set);

	if (master_services_apply(ctx, new_set, false, &error) < 0) {
		log_error("Configuration reload failed, keeping the old "
			  "configuration: %s", error);
		free(error);
		roost_settings_free(&new_set);
		return;
	}
	log_changed = !str_eq_null(old_mset->log_path, new_set->master->log_path) ||
		!str_eq_null(old_mset->syslog_facility,
			     new_set->master->syslog_facility);
	roost_settings_free(&ctx->set);
	ctx->set = new_set;
	if (log_changed) {
		if (log_target_apply(ctx->set->master, &error) < 0) {
			log_error("%s - logging to stderr", error);
			free(error);
		} else if (!ctx->foreground) {
			stderr_redirect(ctx->set->master);
		}
	}
	/* the new children read the new configuration */
	master_services_start(ctx);
	log_info("Configuration reloaded");
}

static void master_signal(evutil_socket_t signo, short what ATTR_UNUSED,
			  void *context)
{
	struct master_context *ctx = context;
	char *error;

	switch (signo) {
	case SIGCHLD:
		master_processes_reap(ctx);
		break;
	case SIGHUP:
		log_info("SIGHUP received - reloading configuration");
		master_reload(ctx);
		break;
	case SIGUSR1:
		/* log rotation */
		if (log_target_apply(ctx->set->master, &error) < 0) {
			log_error("%s", error);
			free(error);
		} else if (!ctx->foreground) {
			stderr_redirect(ctx->set->master);
		}
		break;
	case SIGTERM:
	case SIGINT:
		if (ctx->shutting_down) {
			log_warning("%s received again - killing the children",
				    strsignal((int)signo));
			master_processes_stop_all(ctx, true);
			break;
		}
		log_info("%s received - shutting down",
			 signo == SIGTERM ? "SIGTERM" : "SIGINT");
		ctx->shutting_down = true;
		master_processes_stop_all(ctx, false);
		if (ctx->processes.count == 0)
			event_base_loopbreak(ctx->base);
		break;
	}
}

static void master_signals_init(struct master_context *ctx)
{
	static const int signals[] = { SIGCHLD, SIGHUP, SIGUSR1, SIGTERM, SIGINT };

	i_assert(N_ELEMENTS(signals) == N_ELEMENTS(ctx->signal_events));
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < N_ELEMENTS(signals); i++) {
		ctx->signal_events[i] = evsignal_new(ctx->base, signals[i],
						     master_signal, ctx);
		if (ctx->signal_events[i] == NULL ||
		    evsignal_add(ctx->signal_events[i], NULL) < 0)
			startup_fatal(ctx, "evsignal_add(%d) failed", signals[i]);
	}
}

static void master_signals_deinit(struct master_context *ctx)
{
	for (size_t i = 0; i < N_ELEMENTS(ctx->signal_events); i++) {
		if (ctx->signal_events[i] != NULL)
			event_free(ctx->signal_events[i]);
		ctx->signal_events[i] = NULL;
	}
}

/* ---- main ------------------------------------------------------------- */

static void print_settings(const struct roost_settings *set, bool only_changed)
{
	string_t *out = str_create(4096);

	roost_settings_print(set, only_changed, out);
	fwrite(str_c(out), 1, str_len(out), stdout);
	str_free(&out);
}

int main(int argc, char *argv[])
{
	static const struct option long_options[] = {
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct master_context ctx;
	const char *config_arg = MASTER_DEFAULT_CONFIG;
	char cwd[PATH_MAX];
	char *error;
	int c, print_mode = 0, ret;

	memset(&ctx, 0, sizeof(ctx));
	ctx.pid_fd = -1;
	log_init("master");

	while ((c = getopt_long(argc, argv, "c:Fnah", long_options, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_arg = optarg;
			break;
		case 'F':
			ctx.foreground = true;
			break;
		case 'n':
		case 'a':
			print_mode = c;
			break;
		case 'V':
			printf("roostd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout, 0);
		default:
			usage(stderr, EXIT_USAGE);
		}
	}
	if (optind != argc)
		usage(stderr, EXIT_USAGE);

	/* Children get -c with this path, and run after we chdir("/"). */
	ctx.start_cwd = getcwd(cwd, sizeof(cwd)) != NULL ? x_strdup(cwd) : NULL;
	ctx.config_path = path_make_absolute(ctx.start_cwd, config_arg);
	if (settings_read(ctx.config_path, &ctx.set, &error) < 0) {
		fprintf(stderr, "roostd: Fatal: %s\n", error);
		free(error);
		master_context_free(&ctx);
		return MASTER_EXIT_FATAL;
	}
	if (print_mode != 0) {
		for (unsigned int i = 0; i < ctx.set->warning_count; i++)
			fprintf(stderr, "roostd: Warning: %s\n", ctx.set->warnings[i]);
		print_settings(ctx.set, print_mode == 'n');
		master_context_free(&ctx);
		return 0;
	}
	if (log_target_apply(ctx.set->master, &error) < 0)
		startup_fatal(&ctx, "%s", error);
	settings_log_warnings(ctx.set);

	ctx.self_dir = self_dir_get();
	if (getenv("ROOST_LIBEXEC_DIR") != NULL &&
	    getenv("ROOST_LIBEXEC_DIR")[0] != '\0')
		ctx.libexec_env = x_strdup(getenv("ROOST_LIBEXEC_DIR"));
	ctx.base_dir = path_make_absolute(ctx.start_cwd,
					  ctx.set->master->base_dir);
	if (master_mkdir_parents(ctx.base_dir, &error) < 0)
		startup_fatal(&ctx, "base_dir: %s", error);
	ret = master_pidfile_lock(&ctx, &error);
	if (ret <= 0)
		startup_fatal(&ctx, "%s", error);

	ctx.base = event_base_new();
	if (ctx.base == NULL)
		startup_fatal(&ctx, "event_base_new() failed");
	/* Bind before daemonizing: a port in use is reported to the
	   invoker, with a non-zero exit. */
	if (master_services_apply(&ctx, ctx.set, true, &error) < 0)
		startup_fatal(&ctx, "%s", error);
	if (!ctx.foreground)
		master_daemonize(&ctx);
	master_signals_init(&ctx);

	log_info("roostd %s starting up (config %s, base_dir %s)",
		 PACKAGE_VERSION, ctx.config_path, ctx.base_dir);
	master_services_start(&ctx);
	if (event_base_dispatch(ctx.base) < 0)
		log_error("event_base_dispatch() failed");

	master_services_deinit(&ctx);
	master_signals_deinit(&ctx);
	master_pidfile_remove(&ctx);
	log_info("roostd stopped");
	event_base_free(ctx.base);
	master_context_free(&ctx);
	return 0;
}
