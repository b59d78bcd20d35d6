/* sql passdb/userdb backend: settings file, shared connection pools and
   the query runner (see db-sql.h for the threading rules). */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "path-error.h"
#include "var-expand.h"
#include "worker-pool.h"
#include "auth-request.h"
#include "db-sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <pthread.h>

/* Longest logical line of a settings file (queries can be long). */
#define SQL_SETTINGS_MAX_LINE (64 * 1024)
#define SQL_CONNECT_MIN_DELAY_SECS 1
#define SQL_CONNECT_MAX_DELAY_SECS 16

/* Dovecot 2.3's built-in defaults (src/auth/db-sql.c). */
#define SQL_DEFAULT_PASSWORD_QUERY \
	"SELECT username, domain, password FROM users " \
	"WHERE username = '%n' AND domain = '%d'"
#define SQL_DEFAULT_USER_QUERY \
	"SELECT home, uid, gid FROM users WHERE username = '%n' AND domain = '%d'"
#define SQL_DEFAULT_UPDATE_QUERY \
	"UPDATE users SET password = '%w' WHERE username = '%n' AND domain = '%d'"
#define SQL_DEFAULT_ITERATE_QUERY "SELECT username, domain FROM users"

struct sql_conn {
	void *handle;              /* NULL = not connected */
	struct sql_conn *next;
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

	pthread_mutex_t lock;
	/* protected by lock: */
	struct sql_conn *idle;
	enum sql_escape_flags escape_flags;
	uint64_t next_connect_msecs;
	unsigned int connect_delay_secs;
	char *last_connect_error;
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

/* Cut a '#' comment that is outside quotes; returns the new length. */
static size_t strip_comment(char *line)
{
	char quote = '\0';
	size_t i;
	for (i = 0; line[i] != '\0'; i++) {
		char c = line[i];
		if (quote != '\0') {
			if (c == '\\' && line[i + 1] != '\0')
				i++;
			else if (c == quote)
				quote = '\0';
		} else if (c == '"' || c == '\'') {
			quote = c;
		} else if (c == '#') {
			line[i] = '\0';
			break;
		}
	}
	return i;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* "value" or 'value' -> value with \x unescaped; else as is. */
static const char *unquote_value(struct pool *pool, const char *value)
{
	size_t len = strlen(value);
	if (len < 2 || (value[0] != '"' && value[0] != '\'') || value[len - 1] != value[0])
		return value;
	string_t *str = str_create(len);
	for (size_t i = 1; i < len - 1; i++) {
		if (value[i] == '\\' && i + 1 < len - 1)
			i++;
		str_append_c(str, value[i]);
	}
	const char *result = pool_strdup(pool, str_c(str));
	str_free(&str);
	return result;
}

static int sql_settings_apply_line(struct pool *pool, struct sql_settings *set,
				   const char *path, unsigned int lineno,
				   const char *line, const char **error_r)
{
	const char *eq = strchr(line, '=');
	const char *error;

	if (eq == NULL) {
		*error_r = pool_printf(pool, "%s:%u: Expected 'key = value', got: %s",
				       path, lineno, line);
		return -1;
	}
	size_t key_len = (size_t)(eq - line);
	while (key_len > 0 && is_space(line[key_len - 1]))
		key_len--;
	const char *key = pool_strndup(pool, line, key_len);
	const char *value = eq + 1;
	while (is_space(*value))
		value++;
	if (*key == '\0') {
		*error_r = pool_printf(pool, "%s:%u: Missing setting name", path, lineno);
		return -1;
	}
	if (sql_setting_set(pool, set, key, unquote_value(pool, value), &error) < 0) {
		*error_r = pool_printf(pool, "%s:%u: %s", path, lineno, error);
		return -1;
	}
	return 0;
}

static int sql_settings_read(struct pool *pool, const char *path,
			     struct sql_settings *set, const char **error_r)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		char *error = path_error("open", path, errno);
		*error_r = pool_strdup(pool, error);
		free(error);
		return -1;
	}
	string_t *logical = str_create(256);
	char *line = NULL;
	size_t line_alloc = 0;
	ssize_t len;
	unsigned int lineno = 0, start_line = 0;
	int ret = 0;

	while ((len = getline(&line, &line_alloc, f)) >= 0) {
		lineno++;
		if ((size_t)len > SQL_SETTINGS_MAX_LINE ||
		    str_len(logical) + (size_t)len > SQL_SETTINGS_MAX_LINE) {
			*error_r = pool_printf(pool, "%s:%u: Line too long (max %u bytes)",
					       path, lineno, SQL_SETTINGS_MAX_LINE);
			ret = -1;
			break;
		}
		char *p = line;
		while (is_space(*p))
			p++;
		size_t n = strip_comment(p);
		while (n > 0 && is_space(p[n - 1]))
			n--;
		p[n] = '\0';
		bool continued = n > 0 && p[n - 1] == '\\';
		if (continued) {
			p[--n] = '\0';
		}
		if (str_len(logical) == 0) {
			if (n == 0 && !continued)
				continue;
			start_line = lineno;
		} else if (n > 0 && !is_space(str_c(logical)[str_len(logical) - 1])) {
			/* continuation lines are joined with a space */
			str_append_c(logical, ' ');
		}
		str_append_n(logical, p, n);
		if (continued)
			continue;
		size_t l = str_len(logical);
		while (l > 0 && is_space(str_c(logical)[l - 1]))
			l--;
		str_truncate(logical, l);
		if (sql_settings_apply_line(pool, set, path, start_line, str_c(logical),
					    error_r) < 0) {
			ret = -1;
			break;
		}
		str_truncate(logical, 0);
	}
	if (ret == 0 && ferror(f)) {
		char *error = path_error("read", path, errno);
		*error_r = pool_strdup(pool, error);
		free(error);
		ret = -1;
	}
	if (ret == 0 && str_len(logical) > 0 &&
	    sql_settings_apply_line(pool, set, path, start_line, str_c(logical), error_r) < 0)
		ret = -1;
	free(line);
	str_free(&logical);
	fclose(f);
	return ret;
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

	if (sql_settings_read(pool, config_path, &db->set, &error) < 0)
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
	char *check_error = NULL;
	if (db->backend->check_connect != NULL &&
	    db->backend->check_connect(db->set.connect, &check_error) < 0) {
		error = pool_printf(pool, "%s: connect: %s", config_path, check_error);
		free(check_error);
		goto fail;
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
	db->escape_flags = SQL_ESCAPE_BACKSLASH;
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

static void db_sql_close_idle(struct db_sql *db)
{
	pthread_mutex_lock(&db->lock);
	struct sql_conn *conn = db->idle;
	db->idle = NULL;
	free(db->last_connect_error);
	db->last_connect_error = NULL;
	db->next_connect_msecs = 0;
	db->connect_delay_secs = 0;
	pthread_mutex_unlock(&db->lock);
	while (conn != NULL) {
		struct sql_conn *next = conn->next;
		if (conn->handle != NULL)
			db->backend->disconnect(conn->handle);
		free(conn);
		conn = next;
	}
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
	db_sql_close_idle(db);
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

	/* an idle connected handle knows the server's quoting rules (and
	   for pgsql the client encoding); it is not in use while we hold
	   the lock */
	pthread_mutex_lock(&db->lock);
	void *handle = NULL;
	for (struct sql_conn *conn = db->idle; conn != NULL; conn = conn->next) {
		if (conn->handle != NULL) {
			handle = conn->handle;
			break;
		}
	}
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

/* ---- connections and queries (any thread) ------------------------------- */

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

/* Connect conn, honouring the backoff after failures. *reconnected_r is
   set when this ends a period of failed connects. */
static int conn_connect(struct db_sql *db, struct sql_conn *conn,
			bool *reconnected_r, char **error_r)
{
	uint64_t now = monotonic_msecs();

	pthread_mutex_lock(&db->lock);
	if (db->last_connect_error != NULL && now < db->next_connect_msecs) {
		uint64_t left = db->next_connect_msecs - now;
		*error_r = x_printf("Not connected to %s: %s (next connect attempt in "
				    "%u.%u s)", db->display_name, db->last_connect_error,
				    (unsigned int)(left / 1000), (unsigned int)(left % 1000 / 100));
		pthread_mutex_unlock(&db->lock);
		return -1;
	}
	pthread_mutex_unlock(&db->lock);

	enum sql_escape_flags flags = 0;
	char *error = NULL;
	void *handle = db->backend->connect(db->set.connect, &flags, &error);

	pthread_mutex_lock(&db->lock);
	if (handle == NULL) {
		unsigned int delay = db->connect_delay_secs == 0 ?
			SQL_CONNECT_MIN_DELAY_SECS : db->connect_delay_secs * 2;
		if (delay > SQL_CONNECT_MAX_DELAY_SECS)
			delay = SQL_CONNECT_MAX_DELAY_SECS;
		db->connect_delay_secs = delay;
		db->next_connect_msecs = monotonic_msecs() + (uint64_t)delay * 1000;
		free(db->last_connect_error);
		db->last_connect_error = x_strdup(error);
		pthread_mutex_unlock(&db->lock);
		*error_r = x_printf("Connect to %s failed: %s (retrying in %u s)",
				    db->display_name, error, delay);
		free(error);
		return -1;
	}
	*reconnected_r = db->last_connect_error != NULL;
	free(db->last_connect_error);
	db->last_connect_error = NULL;
	db->connect_delay_secs = 0;
	db->next_connect_msecs = 0;
	db->escape_flags = flags;
	pthread_mutex_unlock(&db->lock);
	conn->handle = handle;
	return 0;
}

/* Returns 0 or -1 with error_r; info_r (may be NULL on return) is a note
   for the log about a lost or restored connection. All malloc()ed. */
static int db_sql_run(struct db_sql *db, const char *query,
		      struct sql_result **result_r, char **error_r, char **info_r)
{
	struct sql_conn *conn = conn_borrow(db);
	*info_r = NULL;
	for (unsigned int attempt = 0;; attempt++) {
		if (conn->handle == NULL) {
			bool reconnected = false;
			if (conn_connect(db, conn, &reconnected, error_r) < 0)
				break;
			if (reconnected && *info_r == NULL)
				*info_r = x_printf("Reconnected to %s", db->display_name);
		}
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
		db->backend->disconnect(conn->handle);
		conn->handle = NULL;
		if (ret == -3) {
			*error_r = x_printf("%s (%s)", error, db->display_name);
			free(error);
			break;
		}
		if (attempt > 0) {
			*error_r = x_printf("Connection to %s lost: %s", db->display_name, error);
			free(error);
			break;
		}
		free(*info_r);
		*info_r = x_printf("Connection to %s lost (%s), reconnecting",
				   db->display_name, error);
		free(error);
	}
	conn_return(db, conn);
	return -1;
}

int db_sql_query_sync(struct db_sql *db, const char *query,
		      struct sql_result **result_r, char **error_r)
{
	char *info;
	int ret = db_sql_run(db, query, result_r, error_r, &info);
	if (info != NULL)
		log_info("sql: %s", info);
	free(info);
	return ret;
}

struct sql_query_job {
	struct worker_job job;
	struct db_sql *db;
	char *query;
	struct sql_result *result;
	char *error;
	char *info;
	db_sql_callback_t *callback;
	void *context;
};

static void sql_query_job_run(struct worker_job *_job)
{
	struct sql_query_job *job = (struct sql_query_job *)_job;
	if (db_sql_run(job->db, job->query, &job->result, &job->error, &job->info) < 0)
		job->result = NULL;
}

static void sql_query_job_done(struct worker_job *_job)
{
	struct sql_query_job *job = (struct sql_query_job *)_job;

	if (job->info != NULL)
		log_info("sql: %s", job->info);
	job->callback(&job->result, job->error, job->context);
	sql_result_free(&job->result);
	free(job->error);
	free(job->info);
	/* queries carry %w (update_query) */
	x_free_secret(job->query, strlen(job->query));
	db_sql_unref(&job->db);
	free(job);
}

void db_sql_query(struct db_sql *db, struct worker_pool *workers,
		  const char *query, db_sql_callback_t *callback, void *context)
{
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
