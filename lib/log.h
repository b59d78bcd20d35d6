#ifndef ROOST_LOG_H
#define ROOST_LOG_H
/* Logging. A process calls log_init() once with its service name; every
   line then carries "service(pid)" plus, when logged through a log_ctx,
   the context's prefix (session/request id, user, remote IP):

     Nov 28 12:00:00 auth(1234): Error: [req 7 user=bob rip=1.2.3.4] ...

   Targets: stderr (default), a file (appended, O_APPEND so several
   processes can share it) or syslog. */
#include "lib.h"

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_FATAL,
	LOG_LEVEL_PANIC,
};

/* Context prefix for lines about one session or request. The prefix
   string is owned by the caller and must outlive the log calls. */
struct log_ctx {
	const char *prefix;     /* e.g. "req 7 user=bob rip=1.2.3.4", or NULL */
	bool debug;             /* force debug lines for this context */
	/* Optional lazy prefix: when prefix_dirty is set, refresh_prefix()
	   is called before a line is logged to rebuild prefix (so hot paths
	   that change the identity pay nothing unless something is logged). */
	bool prefix_dirty;
	void (*refresh_prefix)(struct log_ctx *ctx);
};

void log_init(const char *service);
const char *log_get_service(void);
/* Change the service name shown (e.g. after fork). */
void log_set_service(const char *service);
/* path: NULL or "" or "/dev/stderr" = stderr; "syslog" = syslog with
   facility; else a file opened O_APPEND. Returns -1 with error_r set if
   the file can't be opened (logging stays on stderr). */
int log_set_target(const char *path, const char *syslog_facility,
		   const char **error_r);
/* After log_set_target(): send info lines to info_path and debug lines to
   debug_path (Dovecot's info_log_path / debug_log_path). "" keeps them
   with the level above (debug -> info -> log_path). No-op for syslog. */
int log_set_level_targets(const char *info_path, const char *debug_path,
			  const char **error_r);
/* Use an already opened fd for every level. */
void log_set_fd(int fd);
int log_get_fd(void);
void log_set_min_level(enum log_level level);
bool log_debug_enabled(void);

void log_msg(enum log_level level, const struct log_ctx *ctx,
	     const char *fmt, ...) ATTR_FORMAT(3, 4);
void log_vmsg(enum log_level level, const struct log_ctx *ctx,
	      const char *fmt, va_list args) ATTR_FORMAT(3, 0);

#define log_debug(...)   log_msg(LOG_LEVEL_DEBUG, NULL, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_LEVEL_INFO, NULL, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, NULL, __VA_ARGS__)
#define log_error(...)   log_msg(LOG_LEVEL_ERROR, NULL, __VA_ARGS__)
/* Log at FATAL level and exit(89) (Dovecot's FATAL_DEFAULT). */
void log_fatal(const char *fmt, ...) ATTR_FORMAT(1, 2) ATTR_NORETURN;

#define ctx_debug(ctx, ...) \
	do { if (log_debug_enabled() || ((ctx) != NULL && (ctx)->debug)) \
		log_msg(LOG_LEVEL_DEBUG, (ctx), __VA_ARGS__); } while (0)
#define ctx_info(ctx, ...)    log_msg(LOG_LEVEL_INFO, (ctx), __VA_ARGS__)
#define ctx_warning(ctx, ...) log_msg(LOG_LEVEL_WARNING, (ctx), __VA_ARGS__)
#define ctx_error(ctx, ...)   log_msg(LOG_LEVEL_ERROR, (ctx), __VA_ARGS__)

#endif
