#ifndef ROOST_DB_SQL_H
#define ROOST_DB_SQL_H
/* The sql passdb/userdb backend: Dovecot 2.3's dovecot-sql.conf.ext
   settings, one shared connection pool per settings file (passdb and
   userdb naming the same file share it, as in Dovecot).

   Two ways to run a query, chosen by the backend:
   - Asynchronous (pgsql, the backend has async ops): everything runs on
     the event loop thread. Each host= word of the connect string gets up
     to maxconns connections (Dovecot's words; default 5 per host),
     opened on demand without blocking (libpq PQconnectPoll), and queries
     go round-robin to an idle connection of a host that is up; when all
     are busy they wait in one FIFO queue. Every query has a deadline
     (SQL_QUERY_TIMEOUT_SECS from db_sql_query): a queued query then
     fails, a running one fails and its connection is dropped (the server
     is asked to cancel the statement from a worker thread).
   - On the auth worker threads (sqlite, mysql): a worker borrows a
     connection from the pool (connecting lazily, reconnecting once when
     the connection was lost) and copies the rows into plain malloc()ed
     memory; the callback then runs on the event loop thread. Nothing on
     a worker thread touches an auth request or logs. For mysql each new
     connection picks a host= in turn, skipping hosts in back-off.

   Either way db_sql_init/unref, db_sql_expand and db_sql_query run on
   the event loop thread and the callback is called later from the event
   loop, never from within db_sql_query.

   A database that is down fails fast: connect timeouts are set (pgsql
   connect_timeout, mysql connect/read/write timeouts, sqlite busy
   timeout), and after a failed connect further connects to that host
   wait 1 s, doubling up to 16 s. While no host can be connected, queued
   requests fail at once with the last connect error instead of each
   waiting for a timeout. A lost connection is reconnected and its query
   retried once. */
#include "lib.h"

/* How long a query may wait for its answer, queueing included (pgsql;
   mysql has read_timeout). */
#define SQL_QUERY_TIMEOUT_SECS 30

struct pool;
struct str;
struct auth_request;
struct worker_pool;
struct event_base;
struct var_expand_table;

/* dovecot-sql.conf.ext. Strings live as long as the db. */
struct sql_settings {
	const char *driver;
	const char *connect;
	const char *default_pass_scheme;   /* default "MD5" as in Dovecot */
	const char *password_query;
	const char *user_query;
	const char *update_query;
	const char *iterate_query;
	bool userdb_warning_disable;
	/* the queries still have Dovecot's built-in defaults (said in errors) */
	bool default_password_query, default_user_query;
	bool default_update_query, default_iterate_query;
};

/* Rows of one query, copied out of the driver (malloc()ed). */
struct sql_result {
	unsigned int n_columns;
	unsigned int n_rows;
	char **names;            /* n_columns column names */
	char **values;           /* n_rows * n_columns; NULL = SQL NULL */
	uint64_t affected_rows;  /* UPDATE/INSERT/DELETE */
};

static inline const char *
sql_result_value(const struct sql_result *result, unsigned int row,
		 unsigned int column)
{
	return result->values[(size_t)row * result->n_columns + column];
}
/* Column index of name, or -1. Names compare case-sensitively. */
int sql_result_find_column(const struct sql_result *result, const char *name);
void sql_result_free(struct sql_result **result);

/* One database library behind the pool (authd/sql-<name>.c). The
   synchronous ops (connect, disconnect, query) run on a worker thread
   with the connection held exclusively (or, for db_sql_query_sync, on
   the event loop thread); the async ops run on the event loop thread. */
enum sql_escape_flags {
	/* string literals take backslash escapes (pgsql
	   standard_conforming_strings=off, mysql without
	   NO_BACKSLASH_ESCAPES) */
	SQL_ESCAPE_BACKSLASH = 0x01,
};

/* Non-blocking connections driven by the event loop (see db-sql.c).
   handle is the backend's connection; every error_r is malloc()ed. */
struct sql_async_ops {
	/* Start connecting: the handle, or NULL with error_r. */
	void *(*connect_start)(const char *connect, char **error_r);
	/* Continue connecting after the socket became ready. Returns 1 when
	   connected (*escape_flags_r set), 0 while in progress (wait until
	   the socket is writable if *want_write_r, else readable), -1 failed
	   (the handle is then only good for disconnect). */
	int (*connect_poll)(void *handle, bool *want_write_r,
			    enum sql_escape_flags *escape_flags_r, char **error_r);
	/* The socket to wait on (it may change while connecting). */
	int (*socket)(void *handle);
	/* Send query. Returns 0 sent, 1 part of it still to send (wait until
	   writable and call flush), -1 the connection is not usable. */
	int (*send_query)(void *handle, const char *query, char **error_r);
	int (*flush)(void *handle, char **error_r);
	/* The socket is readable. While a query runs: 1 = the answer is not
	   complete yet, 0 = result filled, -1 = the query failed (connection
	   still usable), -2 = the connection is lost. On an idle connection
	   (result NULL): 1 = still fine, -2 = lost (server shutdown). */
	int (*read_input)(void *handle, struct sql_result *result, char **error_r);
	/* Ask the server to stop the running statement: prepare on the event
	   loop thread (NULL if not possible), run on a worker thread (it may
	   block for a connect), which also frees it. */
	void *(*cancel_prepare)(void *handle);
	void (*cancel_run)(void *cancel);
};

struct sql_backend {
	const char *name;            /* "sqlite", "pgsql", "mysql" */
	bool available;              /* compiled in */
	/* The connect string takes Dovecot's host= (several: one pool per
	   host) and maxconns= words; the backend sees one host= only. */
	bool multi_host;
	/* NULL: queries run on the worker threads */
	const struct sql_async_ops *async;
	/* Once per process before the first connect (event loop thread). */
	void (*global_init)(void);
	/* Check the connect string at configuration time (optional). error_r
	   is malloc()ed. */
	int (*check_connect)(const char *connect, char **error_r);
	/* The connect string without its password, for log lines
	   (malloc()ed; optional: else password=... words are dropped). */
	char *(*display)(const char *connect);
	/* Open a connection: NULL with a malloc()ed error_r. *escape_flags_r
	   tells how this server wants string literals escaped. */
	void *(*connect)(const char *connect, enum sql_escape_flags *escape_flags_r,
			 char **error_r);
	void (*disconnect)(void *handle);
	/* Run one statement. Returns 0 and fills result, -1 on a query error,
	   -2 when the connection was lost (it is then reconnected and the
	   statement retried once), -3 when it must be dropped without a
	   retry (timeout), each with a malloc()ed error_r. */
	int (*query)(void *handle, const char *query, struct sql_result *result,
		     char **error_r);
	/* Escape value for use inside a '...' string literal. handle is an
	   idle connected handle (exclusively held) or NULL when none is;
	   flags are those of the last successful connect (or
	   SQL_ESCAPE_BACKSLASH before any). Returns malloc()ed text. */
	char *(*escape)(void *handle, const char *value, enum sql_escape_flags flags);
};

/* The drivers (passdb/sql.c, userdb/sql.c), registered in passdb.c. */
struct passdb_driver;
struct userdb_driver;
extern const struct passdb_driver passdb_driver_sql;
extern const struct userdb_driver userdb_driver_sql;

extern const struct sql_backend sql_backend_sqlite;
extern const struct sql_backend sql_backend_pgsql;
extern const struct sql_backend sql_backend_mysql;

struct db_sql;

/* Open (or share) the db for this settings file. userdb tells which side
   uses it (for Dovecot's "user_query ignored" warning). error_r is
   allocated from pool and names file:line for syntax errors. */
int db_sql_init(struct pool *pool, const char *config_path, bool userdb,
		struct db_sql **db_r, const char **error_r);
void db_sql_unref(struct db_sql **db);
const struct sql_settings *db_sql_get_settings(const struct db_sql *db);
/* "pgsql(host=/tmp/x dbname=authdb user=authd)": driver and connect
   string without the password, for log lines. */
const char *db_sql_get_display_name(const struct db_sql *db);

/* Expand template (a query) for request, every %variable value escaped
   for the backend. extra entries override the request's variables.
   Returns -1 with error_r (request pool) on an expansion error. */
int db_sql_expand(struct db_sql *db, struct str *dest, const char *template,
		  const struct auth_request *request,
		  const struct var_expand_table *extra, const char **error_r);

/* result is NULL when error is set. Both are freed after the callback
   returns (the callback may steal result by setting *result to NULL). */
typedef void db_sql_callback_t(struct sql_result **result, const char *error,
			       void *context);
/* Run query (asynchronously from base's event loop, or on a worker
   thread), then call callback on the event loop thread, later, with the
   whole result. workers is used for the blocking work (for async
   backends: only cancelling a timed out statement; may then be NULL).
   Usable for any statement, e.g. the iterate query. */
void db_sql_query(struct db_sql *db, struct event_base *base,
		  struct worker_pool *workers, const char *query,
		  db_sql_callback_t *callback, void *context);
/* Run query in this thread (blocks; for userdb iteration, which the
   master protocol drives synchronously). It uses the synchronous ops on
   a connection of its own (pgsql: one beyond maxconns), first host up. Returns 0 with *result_r, or -1
   with a malloc()ed error_r. */
int db_sql_query_sync(struct db_sql *db, const char *query,
		      struct sql_result **result_r, char **error_r);

/* Helpers for the backends. */
/* Allocate result->names/values for n_columns x n_rows. */
void sql_result_alloc(struct sql_result *result, unsigned int n_columns,
		      unsigned int n_rows);
/* Escape for '...' literals without a connection (malloc()ed): single
   quotes are doubled; with SQL_ESCAPE_BACKSLASH backslashes are doubled
   too. Safe for MySQL and PostgreSQL in either quoting mode; values are
   exact when the flags match the server's. */
char *sql_escape_generic(const char *value, enum sql_escape_flags flags);

#endif
