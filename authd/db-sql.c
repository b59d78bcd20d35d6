/* sql passdb/userdb backend: settings file, shared connection pools and
   the query runner (see db-sql.h for the threading rules). */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "array.h"
#include "path-error.h"
#include "args-file.h"
#include "var-expand.h"
#include "worker-pool.h"
#include "auth-request.h"
#include "db-sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <limits.h>
#include <pthread.h>
#include <event2/event.h>

/* Longest logical line of a settings file (queries can be long). */
#define SQL_SETTINGS_MAX_LINE (64 * 1024)
#define SQL_CONNECT_MIN_DELAY_SECS 1
#define SQL_CONNECT_MAX_DELAY_SECS 16
/* Dovecot 2.3's maxconns default (connections per host) */
#define SQL_DEFAULT_MAX_CONNECTIONS 5
#define SQL_DEFAULT_CONNECT_TIMEOUT_SECS 5

/* Dovecot 2.3's built-in defaults (src/auth/db-sql.c). */
#define SQL_DEFAULT_PASSWORD_QUERY \
	"SELECT username, domain, password FROM users " \
	"WHERE username = '%n' AND domain = '%d'"
#define SQL_DEFAULT_USER_QUERY \
	"SELECT home, uid, gid FROM users WHERE username = '%n' AND domain = '%d'"
#define SQL_DEFAULT_UPDATE_QUERY \
	"UPDATE users SET password = '%w' WHERE username = '%n' AND domain = '%d'"
#define SQL_DEFAULT_ITERATE_QUERY "SELECT username, domain FROM users"

/* One host= of the connect string (the whole string without one). */
struct sql_host {
	struct db_sql *db;
	unsigned int index;
	const char *connect;       /* the backend's connect string: this host only */
	const char *display;       /* "pgsql(host=... dbname=...)" */

	/* back-off after failed connects; protected by db->lock (worker
	   threads) */
	uint64_t next_connect_msecs;
	uint64_t failed_msecs;     /* when the last connect failed */
	unsigned int connect_delay_secs;
	char *last_connect_error;

	/* async: connections (connecting or connected) to this host */
	unsigned int conn_count;
};

/* worker path: a connection borrowed by a worker thread */
struct sql_conn {
	void *handle;              /* NULL = not connected */
	struct sql_host *host;
	struct sql_conn *next;
};

enum sql_aconn_state {
	SQL_ACONN_CONNECTING,
	SQL_ACONN_IDLE,
	SQL_ACONN_BUSY,
};

/* async path: a connection driven by the event loop */
struct sql_aconn {
	struct sql_aconn *next;
	struct sql_host *host;
	void *handle;
	enum sql_aconn_state state;
	struct event *io_event;
	int io_fd;
	short io_what;
	struct event *connect_timeout_event;
	uint64_t started_msecs;
	bool flushing;             /* the query is not sent completely */
	struct sql_aquery *query;  /* BUSY: the running query */
};

struct sql_aquery {
	struct sql_aquery *next;   /* queue */
	struct db_sql *db;
	char *query;
	db_sql_callback_t *callback;
	void *context;
	struct event *timeout_event;
	struct sql_aconn *conn;    /* running on; NULL = queued */
	bool retried;              /* once after a lost connection */
};

struct db_sql {
	struct db_sql *next;       /* registry (event loop thread) */
	int refcount;
	struct pool *pool;
	const char *config_path;
	struct sql_settings set;
	const struct sql_backend *backend;
	const char *display_name;
	bool userdb_used;

	struct sql_host *hosts;
	unsigned int host_count;
	unsigned int max_connections;   /* per host (async) */
	unsigned int connect_timeout_secs;

	pthread_mutex_t lock;
	/* protected by lock: */
	struct sql_conn *idle;
	enum sql_escape_flags escape_flags;
	unsigned int next_host;    /* round-robin start */

	/* async (event loop thread only) */
	struct event_base *base;
	struct worker_pool *workers;
	struct event *kick_event;
	struct sql_aconn *aconns;
	struct sql_aquery *queue_head, **queue_tail;
};

static struct db_sql *db_sql_list;

static const struct sql_backend *const sql_backends[] = {
	&sql_backend_sqlite, &sql_backend_pgsql, &sql_backend_mysql,
};

static uint64_t monotonic_msecs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- results ----------------------------------------------------------- */

void sql_result_alloc(struct sql_result *result, unsigned int n_columns,
		      unsigned int n_rows)
{
	result->n_columns = n_columns;
	result->n_rows = n_rows;
	result->names = x_malloc(size_mul(n_columns, sizeof(char *)));
	result->values = x_malloc(size_mul(size_mul(n_columns, n_rows), sizeof(char *)));
}

int sql_result_find_column(const struct sql_result *result, const char *name)
{
	for (unsigned int i = 0; i < result->n_columns; i++) {
		if (strcmp(result->names[i], name) == 0)
			return (int)i;
	}
	return -1;
}

void sql_result_free(struct sql_result **_result)
{
	struct sql_result *result = *_result;
	if (result == NULL)
		return;
	*_result = NULL;
	size_t n = (size_t)result->n_columns * result->n_rows;
	for (size_t i = 0; i < n; i++) {
		/* rows may hold password hashes */
		if (result->values[i] != NULL)
			x_free_secret(result->values[i], strlen(result->values[i]));
	}
	for (unsigned int i = 0; i < result->n_columns; i++)
		free(result->names[i]);
	free(result->values);
	free(result->names);
	free(result);
}

char *sql_escape_generic(const char *value, enum sql_escape_flags flags)
{
	string_t *str = str_create(strlen(value) + 8);
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\'')
			str_append_c(str, '\'');
		else if (*p == '\\' && (flags & SQL_ESCAPE_BACKSLASH) != 0)
			str_append_c(str, '\\');
		str_append_c(str, *p);
	}
	return str_free_without_data(&str);
}

/* ---- settings file ----------------------------------------------------- */

static const char *const sql_setting_names[] = {
	"driver", "connect", "default_pass_scheme", "password_query",
	"user_query", "update_query", "iterate_query", "userdb_warning_disable",
	NULL
};

static unsigned int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 40 || lb > 40)
		return 99;
	unsigned int row[41];
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned int)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned int diag = row[0];
		row[0] = (unsigned int)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned int up = row[j];
			unsigned int cost = a[i - 1] == b[j - 1] ? 0 : 1;
			unsigned int best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static int parse_bool(const char *value, bool *result_r)
{
	if (str_ieq(value, "yes") || str_ieq(value, "y") || str_eq(value, "1"))
		*result_r = true;
	else if (str_ieq(value, "no") || str_ieq(value, "n") || str_eq(value, "0"))
		*result_r = false;
	else
		return -1;
	return 0;
}

static int sql_setting_set(struct pool *pool, struct sql_settings *set,
			   const char *key, const char *value, const char **error_r)
{
	const char *copy = pool_strdup(pool, value);

	if (str_eq(key, "driver"))
		set->driver = copy;
	else if (str_eq(key, "connect"))
		set->connect = copy;
	else if (str_eq(key, "default_pass_scheme"))
		set->default_pass_scheme = copy;
	else if (str_eq(key, "password_query")) {
		set->password_query = copy;
		set->default_password_query = false;
	} else if (str_eq(key, "user_query")) {
		set->user_query = copy;
		set->default_user_query = false;
	} else if (str_eq(key, "update_query")) {
		set->update_query = copy;
		set->default_update_query = false;
	} else if (str_eq(key, "iterate_query")) {
		set->iterate_query = copy;
		set->default_iterate_query = false;
	} else if (str_eq(key, "userdb_warning_disable")) {
		if (parse_bool(value, &set->userdb_warning_disable) < 0) {
			*error_r = pool_printf(pool, "Invalid boolean value for %s: %s "
					       "(use yes or no)", key, value);
			return -1;
		}
	} else {
		const char *nearest = NULL;
		unsigned int best = 3;
		for (unsigned int i = 0; sql_setting_names[i] != NULL; i++) {
			unsigned int d = edit_distance(key, sql_setting_names[i]);
			if (d < best) {
				best = d;
				nearest = sql_setting_names[i];
			}
		}
		*error_r = nearest == NULL ?
			pool_printf(pool, "Unknown setting: %s", key) :
			pool_printf(pool, "Unknown setting: %s (did you mean %s?)", key, nearest);
		return -1;
	}
	return 0;
}

static int sql_setting_set_cb(struct pool *pool, void *context, const char *key,
			      const char *value, const char **error_r)
{
	return sql_setting_set(pool, context, key, value, error_r);
}

/* The connect string without password=... (for log lines). */
static const char *connect_display(struct pool *pool, const char *connect)
{
	string_t *str = str_create(64);
	char *copy = x_strdup(connect), *saveptr = NULL;
	for (char *tok = strtok_r(copy, " \t", &saveptr); tok != NULL;
	     tok = strtok_r(NULL, " \t", &saveptr)) {
		if (str_begins(tok, "password=", NULL))
			continue;
		if (str_len(str) > 0)
			str_append_c(str, ' ');
		str_append(str, tok);
	}
	free(copy);
	const char *result = pool_strdup(pool, str_c(str));
	str_free(&str);
	return result;
}

/* The words of a connect string: split on spaces outside '...' (libpq's
   quoting, with backslash escapes). */
static char **connect_words(struct pool *pool, const char *connect, unsigned int *count_r)
{
	ARRAY(char *) words = ARRAY_INIT;
	const char *p = connect;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		const char *start = p;
		char quote = '\0';
		for (; *p != '\0'; p++) {
			if (quote != '\0') {
				if (*p == '\\' && p[1] != '\0')
					p++;
				else if (*p == quote)
					quote = '\0';
			} else if (*p == '\'') {
				quote = *p;
			} else if (*p == ' ' || *p == '\t' || *p == '\n') {
				break;
			}
		}
		array_push(&words, pool_strndup(pool, start, (size_t)(p - start)));
	}
	char **result = pool_alloc(pool, (words.count + 1) * sizeof(char *));
	for (size_t i = 0; i < words.count; i++)
		result[i] = words.v[i];
	*count_r = (unsigned int)words.count;
	array_free(&words);
	return result;
}

/* Dovecot's pooled drivers (pgsql, mysql): every host= word gets its own
   connections (up to maxconns=, which the database library must not
   see). Each host's connect string keeps the words in their order, with
   this host in the place of the first host= word. */
static int db_sql_parse_hosts(struct db_sql *db, const char **error_r)
{
	struct pool *pool = db->pool;
	const char *connect = db->set.connect;
	unsigned int count, host_count = 0, first_host = UINT_MAX;

	db->max_connections = SQL_DEFAULT_MAX_CONNECTIONS;
	db->connect_timeout_secs = SQL_DEFAULT_CONNECT_TIMEOUT_SECS;
	if (!db->backend->multi_host || str_begins(connect, "postgresql://", NULL) ||
	    str_begins(connect, "postgres://", NULL)) {
		db->hosts = pool_alloc(pool, sizeof(*db->hosts));
		db->hosts[0].connect = connect;
		db->host_count = 1;
		return 0;
	}
	char **words = connect_words(pool, connect, &count);
	const char **host_values = pool_alloc(pool, (count + 1) * sizeof(char *));
	for (unsigned int i = 0; i < count; i++) {
		const char *value;
		if (str_begins(words[i], "host=", &value)) {
			if (first_host == UINT_MAX)
				first_host = i;
			host_values[host_count++] = value;
		} else if (str_begins(words[i], "maxconns=", &value)) {
			if (str_to_uint(value, &db->max_connections) < 0 ||
			    db->max_connections == 0) {
				*error_r = pool_printf(pool, "Invalid value for maxconns: %s", value);
				return -1;
			}
			words[i] = NULL;
		} else if (str_begins(words[i], "connect_timeout=", &value)) {
			unsigned int secs;
			if (str_to_uint(value, &secs) == 0 && secs > 0)
				db->connect_timeout_secs = secs;
		}
	}
	db->host_count = host_count == 0 ? 1 : host_count;
	db->hosts = pool_alloc(pool, db->host_count * sizeof(*db->hosts));
	for (unsigned int h = 0; h < db->host_count; h++) {
		string_t *str = str_create(strlen(connect) + 8);
		for (unsigned int i = 0; i < count; i++) {
			if (words[i] == NULL)
				continue;
			if (str_begins(words[i], "host=", NULL) && i != first_host)
				continue;
			if (str_len(str) > 0)
				str_append_c(str, ' ');
			if (i == first_host) {
				str_append(str, "host=");
				str_append(str, host_values[h]);
			} else {
				str_append(str, words[i]);
			}
		}
		db->hosts[h].connect = pool_strdup(pool, str_c(str));
		str_free(&str);
	}
	return 0;
}

static int db_sql_create(const char *config_path, struct db_sql **db_r,
			 const char **error_r, struct pool *err_pool)
{
	struct pool *pool = pool_create("sql db", 1024);
	struct db_sql *db = pool_alloc(pool, sizeof(*db));
	const char *error;

	db->pool = pool;
	db->refcount = 1;
	db->config_path = pool_strdup(pool, config_path);
	db->set.default_pass_scheme = "MD5";
	db->set.password_query = SQL_DEFAULT_PASSWORD_QUERY;
	db->set.user_query = SQL_DEFAULT_USER_QUERY;
	db->set.update_query = SQL_DEFAULT_UPDATE_QUERY;
	db->set.iterate_query = SQL_DEFAULT_ITERATE_QUERY;
	db->set.default_password_query = true;
	db->set.default_user_query = true;
	db->set.default_update_query = true;
	db->set.default_iterate_query = true;

	if (args_file_read(pool, config_path, SQL_SETTINGS_MAX_LINE,
			   sql_setting_set_cb, &db->set, &error) < 0)
		goto fail;
	if (db->set.driver == NULL || *db->set.driver == '\0') {
		error = pool_printf(pool, "%s: driver not set (sqlite, pgsql or mysql)",
				    config_path);
		goto fail;
	}
	if (db->set.connect == NULL || *db->set.connect == '\0') {
		error = pool_printf(pool, "%s: connect string not set", config_path);
		goto fail;
	}
	for (size_t i = 0; i < N_ELEMENTS(sql_backends); i++) {
		if (str_eq(sql_backends[i]->name, db->set.driver))
			db->backend = sql_backends[i];
	}
	if (db->backend == NULL) {
		error = pool_printf(pool, "%s: Unknown sql driver: %s "
				    "(supported: sqlite, pgsql, mysql)",
				    config_path, db->set.driver);
		goto fail;
	}
	if (!db->backend->available) {
		error = pool_printf(pool, "%s: sql driver %s is not compiled in",
				    config_path, db->set.driver);
		goto fail;
	}
	if (db_sql_parse_hosts(db, &error) < 0) {
		error = pool_printf(pool, "%s: connect: %s", config_path, error);
		goto fail;
	}
	for (unsigned int h = 0; h < db->host_count; h++) {
		char *check_error = NULL;
		if (db->backend->check_connect != NULL &&
		    db->backend->check_connect(db->hosts[h].connect, &check_error) < 0) {
			error = pool_printf(pool, "%s: connect: %s", config_path, check_error);
			free(check_error);
			goto fail;
		}
	}
	if (db->backend->global_init != NULL)
		db->backend->global_init();
	if (db->backend->display != NULL) {
		char *display = db->backend->display(db->set.connect);
		db->display_name = pool_printf(pool, "%s(%s)", db->backend->name, display);
		free(display);
	} else {
		db->display_name = pool_printf(pool, "%s(%s)", db->backend->name,
					       connect_display(pool, db->set.connect));
	}
	for (unsigned int h = 0; h < db->host_count; h++) {
		struct sql_host *host = &db->hosts[h];
		host->db = db;
		host->index = h;
		/* without maxconns= and the other hosts */
		if (host->connect == db->set.connect) {
			host->display = db->display_name;
		} else if (db->backend->display != NULL) {
			char *display = db->backend->display(host->connect);
			host->display = pool_printf(pool, "%s(%s)", db->backend->name, display);
			free(display);
		} else {
			host->display = pool_printf(pool, "%s(%s)", db->backend->name,
						    connect_display(pool, host->connect));
		}
	}
	db->escape_flags = SQL_ESCAPE_BACKSLASH;
	db->queue_tail = &db->queue_head;
	pthread_mutex_init(&db->lock, NULL);
	*db_r = db;
	return 0;
fail:
	*error_r = pool_strdup(err_pool, error);
	pool_destroy(&pool);
	return -1;
}

static bool sql_settings_equal(const struct sql_settings *a,
			       const struct sql_settings *b)
{
	return str_eq(a->driver, b->driver) && str_eq(a->connect, b->connect) &&
		str_eq(a->default_pass_scheme, b->default_pass_scheme) &&
		str_eq(a->password_query, b->password_query) &&
		str_eq(a->user_query, b->user_query) &&
		str_eq(a->update_query, b->update_query) &&
		str_eq(a->iterate_query, b->iterate_query) &&
		a->userdb_warning_disable == b->userdb_warning_disable;
}

int db_sql_init(struct pool *pool, const char *config_path, bool userdb,
		struct db_sql **db_r, const char **error_r)
{
	struct db_sql *db;

	if (*config_path == '\0') {
		*error_r = "sql: args must be the path of the SQL settings file "
			"(dovecot-sql.conf.ext)";
		return -1;
	}
	if (db_sql_create(config_path, &db, error_r, pool) < 0)
		return -1;
	/* the same file read with the same content: share the connections
	   (a changed file, e.g. while a reloaded config is being set up,
	   gets its own) */
	for (struct db_sql *old = db_sql_list; old != NULL; old = old->next) {
		if (str_eq(old->config_path, config_path) &&
		    sql_settings_equal(&old->set, &db->set)) {
			db_sql_unref(&db);
			old->refcount++;
			old->userdb_used = old->userdb_used || userdb;
			*db_r = old;
			return 0;
		}
	}
	db->userdb_used = userdb;
	db->next = db_sql_list;
	db_sql_list = db;
	*db_r = db;
	return 0;
}

/* ---- hosts and back-off ------------------------------------------------- */
/* The worker path calls these with db->lock held; the async path runs on
   the event loop thread only (the two paths never share a db, except
   for db_sql_query_sync on the event loop thread). */

static bool host_in_backoff(const struct sql_host *host, uint64_t now)
{
	return host->last_connect_error != NULL && now < host->next_connect_msecs;
}

/* A connect to host started at started_msecs failed with error. Connects
   that were already running when an earlier one failed do not double the
   delay again. Returns the delay until the next attempt. */
static unsigned int host_connect_failed(struct sql_host *host, uint64_t started_msecs,
					const char *error)
{
	uint64_t now = monotonic_msecs();

	if (host->last_connect_error == NULL || started_msecs >= host->failed_msecs) {
		unsigned int delay = host->connect_delay_secs == 0 ?
			SQL_CONNECT_MIN_DELAY_SECS : host->connect_delay_secs * 2;
		if (delay > SQL_CONNECT_MAX_DELAY_SECS)
			delay = SQL_CONNECT_MAX_DELAY_SECS;
		host->connect_delay_secs = delay;
		host->next_connect_msecs = now + (uint64_t)delay * 1000;
		host->failed_msecs = now;
	}
	free(host->last_connect_error);
	host->last_connect_error = x_strdup(error);
	return host->connect_delay_secs;
}

/* Returns true when this ends a period of failed connects. */
static bool host_connect_succeeded(struct sql_host *host)
{
	bool reconnected = host->last_connect_error != NULL;

	x_free(host->last_connect_error);
	host->connect_delay_secs = 0;
	host->next_connect_msecs = 0;
	host->failed_msecs = 0;
	return reconnected;
}

/* Every host is backing off: the error of the one to be tried next
   (malloc()ed). */
static char *hosts_not_connected_error(const struct db_sql *db, uint64_t now)
{
	const struct sql_host *next = NULL;

	for (unsigned int i = 0; i < db->host_count; i++) {
		const struct sql_host *host = &db->hosts[i];
		if (host_in_backoff(host, now) &&
		    (next == NULL || host->next_connect_msecs < next->next_connect_msecs))
			next = host;
	}
	i_assert(next != NULL);
	uint64_t left = next->next_connect_msecs - now;
	return x_printf("Not connected to %s: %s (next connect attempt in %u.%u s)",
			next->display, next->last_connect_error,
			(unsigned int)(left / 1000), (unsigned int)(left % 1000 / 100));
}

/* ---- worker path: connections and queries (any thread) ------------------ */

static void db_sql_close_idle(struct db_sql *db)
{
	pthread_mutex_lock(&db->lock);
	struct sql_conn *conn = db->idle;
	db->idle = NULL;
	pthread_mutex_unlock(&db->lock);
	while (conn != NULL) {
		struct sql_conn *next = conn->next;
		if (conn->handle != NULL)
			db->backend->disconnect(conn->handle);
		free(conn);
		conn = next;
	}
}

static struct sql_conn *conn_borrow(struct db_sql *db)
{
	pthread_mutex_lock(&db->lock);
	/* prefer a connected handle, else the first (or a new) one */
	struct sql_conn **prev = &db->idle;
	for (struct sql_conn **p = &db->idle; *p != NULL; p = &(*p)->next) {
		if ((*p)->handle != NULL) {
			prev = p;
			break;
		}
	}
	struct sql_conn *conn = *prev;
	if (conn != NULL)
		*prev = conn->next;
	pthread_mutex_unlock(&db->lock);
	if (conn == NULL)
		conn = x_malloc(sizeof(*conn));
	conn->next = NULL;
	return conn;
}

static void conn_return(struct db_sql *db, struct sql_conn *conn)
{
	pthread_mutex_lock(&db->lock);
	conn->next = db->idle;
	db->idle = conn;
	pthread_mutex_unlock(&db->lock);
}

/* "a; b" of two malloc()ed notes (either may be NULL), freeing them */
static char *note_join(char *a, char *b)
{
	if (a == NULL)
		return b;
	if (b == NULL)
		return a;
	char *joined = x_printf("%s; %s", a, b);
	free(a);
	free(b);
	return joined;
}

/* Connect conn to the next host (round-robin) that is not backing off,
   trying the others when one fails. info_r/warning_r collect notes for
   the log: "Reconnected to ...", failed hosts while another one worked. */
static int conn_connect(struct db_sql *db, struct sql_conn *conn,
			char **info_r, char **warning_r, char **error_r)
{
	char *last_error = NULL;

	for (unsigned int attempt = 0; attempt < db->host_count; attempt++) {
		pthread_mutex_lock(&db->lock);
		uint64_t now = monotonic_msecs();
		struct sql_host *host = NULL;
		for (unsigned int i = 0; i < db->host_count; i++) {
			struct sql_host *candidate = &db->hosts[(db->next_host + i) % db->host_count];
			if (!host_in_backoff(candidate, now)) {
				host = candidate;
				break;
			}
		}
		if (host == NULL) {
			*error_r = last_error != NULL ? last_error :
				hosts_not_connected_error(db, now);
			pthread_mutex_unlock(&db->lock);
			return -1;
		}
		db->next_host = (host->index + 1) % db->host_count;
		pthread_mutex_unlock(&db->lock);

		enum sql_escape_flags flags = 0;
		char *error = NULL;
		void *handle = db->backend->connect(host->connect, &flags, &error);

		pthread_mutex_lock(&db->lock);
		if (handle == NULL) {
			unsigned int delay = host_connect_failed(host, now, error);
			pthread_mutex_unlock(&db->lock);
			*warning_r = note_join(*warning_r, last_error);
			last_error = x_printf("Connect to %s failed: %s (retrying in %u s)",
					      host->display, error, delay);
			free(error);
			continue;
		}
		bool reconnected = host_connect_succeeded(host);
		db->escape_flags = flags;
		pthread_mutex_unlock(&db->lock);
		*warning_r = note_join(*warning_r, last_error);
		if (reconnected)
			*info_r = note_join(*info_r, x_printf("Reconnected to %s", host->display));
		conn->handle = handle;
		conn->host = host;
		return 0;
	}
	*error_r = last_error;
	return -1;
}

/* Returns 0 or -1 with error_r; info_r and warning_r (may be NULL on
   return) are notes for the log about lost, failed or restored
   connections. All malloc()ed. */
static int db_sql_run(struct db_sql *db, const char *query,
		      struct sql_result **result_r, char **error_r, char **info_r,
		      char **warning_r)
{
	struct sql_conn *conn = conn_borrow(db);
	*info_r = NULL;
	*warning_r = NULL;
	for (unsigned int attempt = 0;; attempt++) {
		if (conn->handle == NULL &&
		    conn_connect(db, conn, info_r, warning_r, error_r) < 0)
			break;
		struct sql_result *result = x_malloc(sizeof(*result));
		char *error = NULL;
		int ret = db->backend->query(conn->handle, query, result, &error);
		if (ret == 0) {
			conn_return(db, conn);
			*result_r = result;
			return 0;
		}
		sql_result_free(&result);
		if (ret == -1) {
			*error_r = error;
			break;
		}
		/* the connection is gone: reconnect once and retry */
		const char *display = conn->host->display;
		db->backend->disconnect(conn->handle);
		conn->handle = NULL;
		if (ret == -3) {
			*error_r = x_printf("%s (%s)", error, display);
			free(error);
			break;
		}
		if (attempt > 0) {
			*error_r = x_printf("Connection to %s lost: %s", display, error);
			free(error);
			break;
		}
		*info_r = note_join(*info_r, x_printf("Connection to %s lost (%s), reconnecting",
						      display, error));
		free(error);
	}
	conn_return(db, conn);
	return -1;
}

static void db_sql_log_notes(char *info, char *warning)
{
	if (warning != NULL)
		log_warning("sql: %s", warning);
	if (info != NULL)
		log_info("sql: %s", info);
	free(warning);
	free(info);
}

int db_sql_query_sync(struct db_sql *db, const char *query,
		      struct sql_result **result_r, char **error_r)
{
	char *info, *warning;
	int ret = db_sql_run(db, query, result_r, error_r, &info, &warning);
	db_sql_log_notes(info, warning);
	return ret;
}

struct sql_query_job {
	struct worker_job job;
	struct db_sql *db;
	char *query;
	struct sql_result *result;
	char *error;
	char *info, *warning;
	db_sql_callback_t *callback;
	void *context;
};

static void sql_query_job_run(struct worker_job *_job)
{
	struct sql_query_job *job = (struct sql_query_job *)_job;
	if (db_sql_run(job->db, job->query, &job->result, &job->error, &job->info,
		       &job->warning) < 0)
		job->result = NULL;
}

static void sql_query_job_done(struct worker_job *_job)
{
	struct sql_query_job *job = (struct sql_query_job *)_job;

	db_sql_log_notes(job->info, job->warning);
	job->callback(&job->result, job->error, job->context);
	sql_result_free(&job->result);
	free(job->error);
	/* queries carry %w (update_query) */
	x_free_secret(job->query, strlen(job->query));
	db_sql_unref(&job->db);
	free(job);
}

/* ---- async path (event loop thread) ------------------------------------- */

static void db_sql_dispatch(struct db_sql *db);

/* Call the query's callback and free it. It is neither queued nor
   running any more. */
static void aquery_finish(struct sql_aquery *query, struct sql_result *result,
			  const char *error)
{
	i_assert(query->conn == NULL);
	event_free(query->timeout_event);
	query->callback(&result, error, query->context);
	sql_result_free(&result);
	x_free_secret(query->query, strlen(query->query));
	db_sql_unref(&query->db);
	free(query);
}

static void aquery_queue_remove(struct db_sql *db, struct sql_aquery *query)
{
	for (struct sql_aquery **p = &db->queue_head; *p != NULL; p = &(*p)->next) {
		if (*p == query) {
			*p = query->next;
			if (db->queue_tail == &query->next)
				db->queue_tail = p;
			query->next = NULL;
			return;
		}
	}
	i_unreached();
}

/* Fail every queued query with error (callbacks may queue new ones,
   which are kept). */
static void db_sql_fail_queued(struct db_sql *db, const char *error)
{
	struct sql_aquery *query = db->queue_head;

	db->queue_head = NULL;
	db->queue_tail = &db->queue_head;
	while (query != NULL) {
		struct sql_aquery *next = query->next;
		query->next = NULL;
		aquery_finish(query, NULL, error);
		query = next;
	}
}

static void aconn_io_cb(evutil_socket_t fd, short what, void *context);

/* Wait for what (EV_READ, EV_WRITE) on the handle's socket. */
static void aconn_set_io(struct sql_aconn *conn, short what)
{
	struct db_sql *db = conn->host->db;
	int fd = db->backend->async->socket(conn->handle);

	if (conn->io_event != NULL && conn->io_fd == fd && conn->io_what == what)
		return;
	if (conn->io_event != NULL)
		event_free(conn->io_event);
	conn->io_fd = fd;
	conn->io_what = what;
	conn->io_event = event_new(db->base, fd, what | EV_PERSIST, aconn_io_cb, conn);
	if (conn->io_event == NULL)
		lib_panic(__FILE__, __LINE__, "event_new() failed");
	event_add(conn->io_event, NULL);
}

static void aconn_destroy(struct sql_aconn *conn)
{
	struct db_sql *db = conn->host->db;

	i_assert(conn->query == NULL);
	for (struct sql_aconn **p = &db->aconns; *p != NULL; p = &(*p)->next) {
		if (*p == conn) {
			*p = conn->next;
			break;
		}
	}
	conn->host->conn_count--;
	if (conn->io_event != NULL)
		event_free(conn->io_event);
	if (conn->connect_timeout_event != NULL)
		event_free(conn->connect_timeout_event);
	db->backend->disconnect(conn->handle);
	free(conn);
}

/* Can a queued query still be served without a new error: a connection
   exists, or a host may be connected now? */
static bool db_sql_can_serve(const struct db_sql *db)
{
	uint64_t now = monotonic_msecs();

	if (db->aconns != NULL)
		return true;
	for (unsigned int i = 0; i < db->host_count; i++) {
		if (!host_in_backoff(&db->hosts[i], now))
			return true;
	}
	return false;
}

static void aconn_connect_failed(struct sql_aconn *conn, const char *error)
{
	struct db_sql *db = conn->host->db;
	struct sql_host *host = conn->host;
	bool first = host->last_connect_error == NULL ||
		conn->started_msecs >= host->failed_msecs;
	unsigned int delay = host_connect_failed(host, conn->started_msecs, error);
	char *msg = x_printf("Connect to %s failed: %s (retrying in %u s)",
			     host->display, error, delay);

	aconn_destroy(conn);
	if (db_sql_can_serve(db)) {
		/* other connections or hosts serve the queue meanwhile */
		if (first && db->host_count > 1)
			log_warning("sql: %s", msg);
		db_sql_dispatch(db);
	} else {
		db_sql_fail_queued(db, msg);
	}
	free(msg);
}

/* conn broke: its query (if any) is queued again once, else fails. */
static void aconn_lost(struct sql_aconn *conn, const char *error)
{
	struct db_sql *db = conn->host->db;
	struct sql_aquery *query = conn->query;
	const char *display = conn->host->display;

	if (query == NULL) {
		log_info("sql: Connection to %s lost: %s", display, error);
		aconn_destroy(conn);
		return;
	}
	conn->query = NULL;
	query->conn = NULL;
	if (!query->retried) {
		log_info("sql: Connection to %s lost (%s), reconnecting", display, error);
		aconn_destroy(conn);
		query->retried = true;
		query->next = db->queue_head;
		if (db->queue_head == NULL)
			db->queue_tail = &query->next;
		db->queue_head = query;
	} else {
		char *msg = x_printf("Connection to %s lost: %s", display, error);
		aconn_destroy(conn);
		aquery_finish(query, NULL, msg);
		free(msg);
	}
}

static void aconn_connected(struct sql_aconn *conn, enum sql_escape_flags flags)
{
	struct db_sql *db = conn->host->db;

	if (conn->connect_timeout_event != NULL)
		event_free(conn->connect_timeout_event);
	conn->connect_timeout_event = NULL;
	conn->state = SQL_ACONN_IDLE;
	if (host_connect_succeeded(conn->host))
		log_info("sql: Reconnected to %s", conn->host->display);
	pthread_mutex_lock(&db->lock);
	db->escape_flags = flags;
	pthread_mutex_unlock(&db->lock);
	aconn_set_io(conn, EV_READ);
}

static void aconn_connect_continue(struct sql_aconn *conn)
{
	const struct sql_async_ops *async = conn->host->db->backend->async;
	enum sql_escape_flags flags = 0;
	bool want_write = false;
	char *error = NULL;

	int ret = async->connect_poll(conn->handle, &want_write, &flags, &error);
	if (ret > 0)
		aconn_connected(conn, flags);
	else if (ret == 0 && async->socket(conn->handle) >= 0)
		aconn_set_io(conn, want_write ? EV_WRITE : EV_READ);
	else {
		if (error == NULL)
			error = x_strdup("connection has no socket");
		aconn_connect_failed(conn, error);
	}
	free(error);
}

static void aconn_connect_timeout_cb(evutil_socket_t fd ATTR_UNUSED,
				     short what ATTR_UNUSED, void *context)
{
	struct sql_aconn *conn = context;
	struct db_sql *db = conn->host->db;
	char *error = x_printf("Connect timed out after %u s", db->connect_timeout_secs);

	db->refcount++;
	aconn_connect_failed(conn, error);
	free(error);
	db_sql_unref(&db);
}

/* Start a connection to host. Returns -1 when that failed at once (the
   host is then backing off). */
static int aconn_start(struct sql_host *host, char **error_r)
{
	struct db_sql *db = host->db;
	const struct sql_async_ops *async = db->backend->async;
	uint64_t now = monotonic_msecs();
	char *error = NULL;

	void *handle = async->connect_start(host->connect, &error);
	if (handle != NULL && async->socket(handle) < 0) {
		db->backend->disconnect(handle);
		handle = NULL;
		error = x_strdup("connection has no socket");
	}
	if (handle == NULL) {
		unsigned int delay = host_connect_failed(host, now, error);
		*error_r = x_printf("Connect to %s failed: %s (retrying in %u s)",
				    host->display, error, delay);
		free(error);
		return -1;
	}
	struct sql_aconn *conn = x_malloc(sizeof(*conn));
	conn->host = host;
	conn->handle = handle;
	conn->state = SQL_ACONN_CONNECTING;
	conn->started_msecs = now;
	conn->next = db->aconns;
	db->aconns = conn;
	host->conn_count++;
	struct timeval tv = { .tv_sec = db->connect_timeout_secs, .tv_usec = 0 };
	conn->connect_timeout_event = evtimer_new(db->base, aconn_connect_timeout_cb, conn);
	evtimer_add(conn->connect_timeout_event, &tv);
	/* libpq: poll once the socket is writable */
	aconn_set_io(conn, EV_WRITE);
	return 0;
}

static void aconn_query_start(struct sql_aconn *conn, struct sql_aquery *query)
{
	const struct sql_async_ops *async = conn->host->db->backend->async;
	char *error = NULL;

	conn->state = SQL_ACONN_BUSY;
	conn->query = query;
	query->conn = conn;
	int ret = async->send_query(conn->handle, query->query, &error);
	if (ret < 0) {
		aconn_lost(conn, error);
	} else {
		conn->flushing = ret > 0;
		aconn_set_io(conn, conn->flushing ? EV_READ | EV_WRITE : EV_READ);
	}
	free(error);
}

/* The query's answer is complete (ret 0) or it failed (-1). */
static void aconn_query_done(struct sql_aconn *conn, struct sql_result *result,
			     const char *error)
{
	struct sql_aquery *query = conn->query;

	conn->query = NULL;
	query->conn = NULL;
	conn->state = SQL_ACONN_IDLE;
	conn->flushing = false;
	aconn_set_io(conn, EV_READ);
	aquery_finish(query, result, error);
}

static void aconn_io_cb(evutil_socket_t fd ATTR_UNUSED, short what, void *context)
{
	struct sql_aconn *conn = context;
	struct db_sql *db = conn->host->db;
	const struct sql_async_ops *async = db->backend->async;
	char *error = NULL;
	int ret;

	/* callbacks may drop the last other reference */
	db->refcount++;
	switch (conn->state) {
	case SQL_ACONN_CONNECTING:
		aconn_connect_continue(conn);
		break;
	case SQL_ACONN_IDLE:
		if (async->read_input(conn->handle, NULL, &error) < 0)
			aconn_lost(conn, error);
		break;
	case SQL_ACONN_BUSY:
		if ((what & EV_WRITE) != 0 && conn->flushing) {
			ret = async->flush(conn->handle, &error);
			if (ret < 0) {
				aconn_lost(conn, error);
				break;
			}
			conn->flushing = ret > 0;
			aconn_set_io(conn, conn->flushing ? EV_READ | EV_WRITE : EV_READ);
		}
		if ((what & EV_READ) == 0)
			break;
		struct sql_result *result = x_malloc(sizeof(*result));
		ret = async->read_input(conn->handle, result, &error);
		if (ret == 0) {
			aconn_query_done(conn, result, NULL);
			break;
		}
		sql_result_free(&result);
		if (ret == -1)
			aconn_query_done(conn, NULL, error);
		else if (ret < 0)
			aconn_lost(conn, error);
		break;
	}
	free(error);
	db_sql_dispatch(db);
	db_sql_unref(&db);
}

struct sql_cancel_job {
	struct worker_job job;
	const struct sql_async_ops *async;
	void *cancel;
};

static void sql_cancel_job_run(struct worker_job *_job)
{
	struct sql_cancel_job *job = (struct sql_cancel_job *)_job;
	job->async->cancel_run(job->cancel);
}

static void sql_cancel_job_done(struct worker_job *job)
{
	free(job);
}

static void sql_cancel_submit(struct db_sql *db, void *cancel)
{
	struct sql_cancel_job *job = x_malloc(sizeof(*job));
	job->job.run = sql_cancel_job_run;
	job->job.done = sql_cancel_job_done;
	job->async = db->backend->async;
	job->cancel = cancel;
	worker_pool_submit(db->workers, &job->job);
}

static void aquery_timeout_cb(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
			      void *context)
{
	struct sql_aquery *query = context;
	struct db_sql *db = query->db;
	struct sql_aconn *conn = query->conn;
	char *error;

	db->refcount++;
	if (conn == NULL) {
		aquery_queue_remove(db, query);
		error = x_printf("Query timed out after %u s waiting for a free "
				 "connection to %s", SQL_QUERY_TIMEOUT_SECS, db->display_name);
	} else {
		/* the connection is in an unknown state: drop it, and ask
		   the server to stop the statement (that may block: on a
		   worker thread) */
		error = x_printf("Query timed out after %u s (no answer from the server) (%s)",
				 SQL_QUERY_TIMEOUT_SECS, conn->host->display);
		void *cancel = db->backend->async->cancel_prepare(conn->handle);
		if (cancel != NULL && db->workers != NULL)
			sql_cancel_submit(db, cancel);
		else if (cancel != NULL)
			db->backend->async->cancel_run(cancel);
		conn->query = NULL;
		query->conn = NULL;
		aconn_destroy(conn);
	}
	aquery_finish(query, NULL, error);
	free(error);
	db_sql_dispatch(db);
	db_sql_unref(&db);
}

/* The idle connection to use next: hosts in turn. */
static struct sql_aconn *db_sql_find_idle(struct db_sql *db)
{
	for (unsigned int i = 0; i < db->host_count; i++) {
		const struct sql_host *host = &db->hosts[(db->next_host + i) % db->host_count];
		for (struct sql_aconn *conn = db->aconns; conn != NULL; conn = conn->next) {
			if (conn->host == host && conn->state == SQL_ACONN_IDLE) {
				db->next_host = (host->index + 1) % db->host_count;
				return conn;
			}
		}
	}
	return NULL;
}

/* The host to open a new connection to: not backing off, below
   maxconns, fewest connections (ties: in turn). */
static struct sql_host *db_sql_find_connectable(struct db_sql *db)
{
	uint64_t now = monotonic_msecs();
	struct sql_host *best = NULL;

	for (unsigned int i = 0; i < db->host_count; i++) {
		struct sql_host *host = &db->hosts[(db->next_host + i) % db->host_count];
		if (host_in_backoff(host, now) || host->conn_count >= db->max_connections)
			continue;
		if (best == NULL || host->conn_count < best->conn_count)
			best = host;
	}
	return best;
}

/* Give queued queries to idle connections, open connections for the
   rest, or fail them when no host can be reached. */
static void db_sql_dispatch(struct db_sql *db)
{
	struct sql_aconn *conn;

	while (db->queue_head != NULL && (conn = db_sql_find_idle(db)) != NULL) {
		struct sql_aquery *query = db->queue_head;
		db->queue_head = query->next;
		if (db->queue_head == NULL)
			db->queue_tail = &db->queue_head;
		query->next = NULL;
		aconn_query_start(conn, query);
	}
	if (db->queue_head == NULL)
		return;

	unsigned int queued = 0, connecting = 0;
	for (struct sql_aquery *query = db->queue_head; query != NULL; query = query->next)
		queued++;
	for (conn = db->aconns; conn != NULL; conn = conn->next) {
		if (conn->state == SQL_ACONN_CONNECTING)
			connecting++;
	}
	char *error = NULL;
	struct sql_host *host;
	while (connecting < queued && (host = db_sql_find_connectable(db)) != NULL) {
		char *start_error = NULL;
		if (aconn_start(host, &start_error) == 0) {
			connecting++;
			continue;
		}
		/* a host that failed while another one is tried is a warning */
		if (error != NULL)
			log_warning("sql: %s", error);
		free(error);
		error = start_error;
	}
	if (db->aconns != NULL) {
		/* the queue waits for these connections */
		if (error != NULL)
			log_warning("sql: %s", error);
	} else {
		/* nothing can serve the queue now */
		if (error == NULL)
			error = hosts_not_connected_error(db, monotonic_msecs());
		db_sql_fail_queued(db, error);
	}
	free(error);
}

static void db_sql_kick_cb(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
			   void *context)
{
	struct db_sql *db = context;

	db->refcount++;
	db_sql_dispatch(db);
	db_sql_unref(&db);
}

static void db_sql_aquery_submit(struct db_sql *db, struct event_base *base,
				 struct worker_pool *workers, const char *query_text,
				 db_sql_callback_t *callback, void *context)
{
	if (db->base != base) {
		/* the connections belong to one event loop */
		i_assert(db->aconns == NULL && db->queue_head == NULL);
		if (db->kick_event != NULL)
			event_free(db->kick_event);
		db->base = base;
		db->kick_event = event_new(base, -1, 0, db_sql_kick_cb, db);
		if (db->kick_event == NULL)
			lib_panic(__FILE__, __LINE__, "event_new() failed");
	}
	if (workers != NULL)
		db->workers = workers;

	struct sql_aquery *query = x_malloc(sizeof(*query));
	query->db = db;
	db->refcount++;
	query->query = x_strdup(query_text);
	query->callback = callback;
	query->context = context;
	struct timeval tv = { .tv_sec = SQL_QUERY_TIMEOUT_SECS, .tv_usec = 0 };
	query->timeout_event = evtimer_new(base, aquery_timeout_cb, query);
	if (query->timeout_event == NULL)
		lib_panic(__FILE__, __LINE__, "evtimer_new() failed");
	evtimer_add(query->timeout_event, &tv);
	*db->queue_tail = query;
	db->queue_tail = &query->next;
	/* the callback is never called from within db_sql_query */
	event_active(db->kick_event, 0, 0);
}

void db_sql_query(struct db_sql *db, struct event_base *base,
		  struct worker_pool *workers, const char *query,
		  db_sql_callback_t *callback, void *context)
{
	if (db->backend->async != NULL) {
		db_sql_aquery_submit(db, base, workers, query, callback, context);
		return;
	}

	struct sql_query_job *job = x_malloc(sizeof(*job));

	job->job.run = sql_query_job_run;
	job->job.done = sql_query_job_done;
	job->db = db;
	db->refcount++;
	job->query = x_strdup(query);
	job->callback = callback;
	job->context = context;
	worker_pool_submit(workers, &job->job);
}

/* ---- db lifetime -------------------------------------------------------- */

static void db_sql_close_async(struct db_sql *db)
{
	/* queries hold references: none is left */
	i_assert(db->queue_head == NULL);
	while (db->aconns != NULL)
		aconn_destroy(db->aconns);
	if (db->kick_event != NULL)
		event_free(db->kick_event);
	db->kick_event = NULL;
}

void db_sql_unref(struct db_sql **_db)
{
	struct db_sql *db = *_db;
	if (db == NULL)
		return;
	*_db = NULL;
	i_assert(db->refcount > 0);
	if (--db->refcount > 0)
		return;
	for (struct db_sql **p = &db_sql_list; *p != NULL; p = &(*p)->next) {
		if (*p == db) {
			*p = db->next;
			break;
		}
	}
	db_sql_close_async(db);
	db_sql_close_idle(db);
	for (unsigned int i = 0; i < db->host_count; i++)
		free(db->hosts[i].last_connect_error);
	pthread_mutex_destroy(&db->lock);
	pool_destroy(&db->pool);
}

const struct sql_settings *db_sql_get_settings(const struct db_sql *db)
{
	return &db->set;
}

const char *db_sql_get_display_name(const struct db_sql *db)
{
	return db->display_name;
}

/* ---- escaping ---------------------------------------------------------- */

static const char *db_sql_escape(const char *value, void *context, struct pool *pool)
{
	struct db_sql *db = context;
	char *escaped;
	void *handle = NULL;

	/* a connected handle knows the server's quoting rules (and for
	   pgsql the client encoding). Async connections belong to this
	   (the event loop) thread; escaping does no I/O on them. An idle
	   worker-path handle is not in use while we hold the lock. */
	for (struct sql_aconn *conn = db->aconns; conn != NULL; conn = conn->next) {
		if (conn->state == SQL_ACONN_IDLE ||
		    (conn->state == SQL_ACONN_BUSY && handle == NULL))
			handle = conn->handle;
		if (conn->state == SQL_ACONN_IDLE)
			break;
	}
	pthread_mutex_lock(&db->lock);
	for (struct sql_conn *conn = db->idle; conn != NULL && handle == NULL;
	     conn = conn->next)
		handle = conn->handle;
	escaped = db->backend->escape(handle, value, db->escape_flags);
	pthread_mutex_unlock(&db->lock);
	const char *result = pool_strdup(pool, escaped);
	x_free_secret(escaped, strlen(escaped));
	return result;
}

int db_sql_expand(struct db_sql *db, string_t *dest, const char *template,
		  const struct auth_request *request,
		  const struct var_expand_table *extra, const char **error_r)
{
	return auth_request_var_expand_with(dest, template, request, db_sql_escape,
					    db, extra, error_r);
}
