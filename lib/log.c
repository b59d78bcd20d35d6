/* Logging: one write() per line, so lines from several processes and
   threads sharing a file never interleave. */
#include "lib.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <strings.h>

#define LOG_LINE_MAX 8192

/* Process-wide logging state: set up once at start (and after fork),
   read by all threads. */
static struct {
	char service[64];
	int fd;           /* warnings and errors (log_path) */
	int info_fd;      /* info (info_log_path, default: fd) */
	int debug_fd;     /* debug (debug_log_path, default: info_fd) */
	bool use_syslog;
	enum log_level min_level;
} log_state = { "roost", STDERR_FILENO, STDERR_FILENO, STDERR_FILENO, false,
		LOG_LEVEL_INFO };

static void log_close_unused(int fd)
{
	if (fd > STDERR_FILENO && fd != log_state.fd && fd != log_state.info_fd &&
	    fd != log_state.debug_fd)
		close(fd);
}

static int log_open_path(const char *path, const char **error_r)
{
	static __thread char error_buf[512];

	if (path == NULL || *path == '\0' || strcmp(path, "/dev/stderr") == 0)
		return STDERR_FILENO;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(error_buf, sizeof(error_buf),
			 "open(%s) failed: %s (euid=%ld egid=%ld)", path,
			 strerror(errno), (long)geteuid(), (long)getegid());
		*error_r = error_buf;
	}
	return fd;
}

int log_set_level_targets(const char *info_path, const char *debug_path,
			  const char **error_r)
{
	int old_info = log_state.info_fd, old_debug = log_state.debug_fd;
	int info_fd = log_state.fd, debug_fd;

	if (log_state.use_syslog)
		return 0;
	if (info_path != NULL && *info_path != '\0') {
		info_fd = log_open_path(info_path, error_r);
		if (info_fd < 0)
			return -1;
	}
	debug_fd = info_fd;
	if (debug_path != NULL && *debug_path != '\0') {
		debug_fd = log_open_path(debug_path, error_r);
		if (debug_fd < 0) {
			if (info_fd != log_state.fd)
				close(info_fd);
			return -1;
		}
	}
	log_state.info_fd = info_fd;
	log_state.debug_fd = debug_fd;
	log_close_unused(old_info);
	log_close_unused(old_debug);
	return 0;
}

static const char *level_names[] = {
	[LOG_LEVEL_DEBUG] = "Debug: ",
	[LOG_LEVEL_INFO] = "Info: ",
	[LOG_LEVEL_WARNING] = "Warning: ",
	[LOG_LEVEL_ERROR] = "Error: ",
	[LOG_LEVEL_FATAL] = "Fatal: ",
	[LOG_LEVEL_PANIC] = "Panic: ",
};

void log_init(const char *service)
{
	log_set_service(service);
}

void log_set_service(const char *service)
{
	snprintf(log_state.service, sizeof(log_state.service), "%s", service);
}

const char *log_get_service(void)
{
	return log_state.service;
}

static int syslog_facility_parse(const char *name)
{
	static const struct { const char *name; int value; } facilities[] = {
		{ "mail", LOG_MAIL }, { "auth", LOG_AUTH },
		{ "authpriv", LOG_AUTHPRIV }, { "daemon", LOG_DAEMON },
		{ "user", LOG_USER }, { "local0", LOG_LOCAL0 },
		{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
		{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
		{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
		{ "local7", LOG_LOCAL7 },
	};
	if (name == NULL || *name == '\0')
		return LOG_MAIL;
	for (size_t i = 0; i < N_ELEMENTS(facilities); i++) {
		if (strcasecmp(name, facilities[i].name) == 0)
			return facilities[i].value;
	}
	return -1;
}

int log_set_target(const char *path, const char *syslog_facility,
		   const char **error_r)
{
	static __thread char error_buf[512];

	if (path != NULL && strcmp(path, "syslog") == 0) {
		int facility = syslog_facility_parse(syslog_facility);
		if (facility < 0) {
			snprintf(error_buf, sizeof(error_buf),
				 "Unknown syslog_facility: %s", syslog_facility);
			*error_r = error_buf;
			return -1;
		}
		openlog(log_state.service, LOG_PID | LOG_NDELAY, facility);
		log_set_fd(STDERR_FILENO);
		log_state.use_syslog = true;
		return 0;
	}
	/* path-error.h is not used here: building its message may log */
	int fd = log_open_path(path, error_r);
	if (fd < 0)
		return -1;
	log_set_fd(fd);
	return 0;
}

void log_set_fd(int fd)
{
	int old[3] = { log_state.fd, log_state.info_fd, log_state.debug_fd };

	log_state.fd = log_state.info_fd = log_state.debug_fd = fd;
	log_state.use_syslog = false;
	for (unsigned int i = 0; i < N_ELEMENTS(old); i++)
		log_close_unused(old[i]);
}

int log_get_fd(void)
{
	return log_state.fd;
}

void log_set_min_level(enum log_level level)
{
	log_state.min_level = level;
}

bool log_debug_enabled(void)
{
	return log_state.min_level <= LOG_LEVEL_DEBUG;
}

void log_vmsg(enum log_level level, const struct log_ctx *ctx,
	      const char *fmt, va_list args)
{
	char line[LOG_LINE_MAX];
	size_t pos = 0;
	int ret;
	int saved_errno = errno;

	if (level < log_state.min_level &&
	    !(level == LOG_LEVEL_DEBUG && ctx != NULL && ctx->debug)) {
		errno = saved_errno;
		return;
	}

	if (ctx != NULL && ctx->prefix_dirty && ctx->refresh_prefix != NULL) {
		/* the context belongs to the caller, who passed it to be
		   logged: refreshing its cached prefix is part of that */
		struct log_ctx *mctx = (struct log_ctx *)ctx;
		mctx->refresh_prefix(mctx);
		mctx->prefix_dirty = false;
	}
	if (!log_state.use_syslog) {
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		pos = strftime(line, sizeof(line), "%b %d %H:%M:%S ", &tm);
		ret = snprintf(line + pos, sizeof(line) - pos, "%s(%ld): ",
			       log_state.service, (long)getpid());
		if (ret > 0)
			pos += (size_t)ret;
	}
	ret = snprintf(line + pos, sizeof(line) - pos, "%s", level_names[level]);
	if (ret > 0)
		pos += (size_t)ret;
	if (ctx != NULL && ctx->prefix != NULL && pos < sizeof(line)) {
		ret = snprintf(line + pos, sizeof(line) - pos, "%s: ", ctx->prefix);
		if (ret > 0)
			pos += (size_t)ret;
	}
	if (pos < sizeof(line)) {
		errno = saved_errno;
		ret = vsnprintf(line + pos, sizeof(line) - pos, fmt, args);
		if (ret > 0)
			pos += (size_t)ret;
	}
	if (pos >= sizeof(line) - 1) {
		pos = sizeof(line) - 5;
		memcpy(line + pos, "...", 3);
		pos += 3;
	}
	/* Never let log lines be split by control characters from input. */
	for (size_t i = 0; i < pos; i++) {
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			line[i] = '?';
	}
	if (log_state.use_syslog) {
		static const int prios[] = {
			LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT, LOG_CRIT
		};
		line[pos] = '\0';
		syslog(prios[level], "%s", line);
	} else {
		line[pos++] = '\n';
		size_t done = 0;
		while (done < pos) {
			ssize_t n = write(level == LOG_LEVEL_DEBUG ? log_state.debug_fd :
					  level == LOG_LEVEL_INFO ? log_state.info_fd :
					  log_state.fd, line + done, pos - done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			done += (size_t)n;
		}
	}
	errno = saved_errno;
}

void log_msg(enum log_level level, const struct log_ctx *ctx,
	     const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	log_vmsg(level, ctx, fmt, args);
	va_end(args);
}

void log_fatal(const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	log_vmsg(LOG_LEVEL_FATAL, NULL, fmt, args);
	va_end(args);
	exit(89);
}
