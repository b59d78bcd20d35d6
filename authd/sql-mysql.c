/* MySQL/MariaDB backend for the sql passdb/userdb (libmariadb). connect
   takes Dovecot's words: host (a path = unix socket), port, dbname, user,
   password, client_flags, option_file, option_group, connect_timeout
   (default 5 s), read_timeout and write_timeout (default 30 s). */
#include "lib.h"
#include "db-sql.h"

#ifdef HAVE_MYSQL
#include "pool.h"
#include <stdlib.h>
#include <mysql.h>
#include <errmsg.h>

struct mysql_params {
	const char *host, *user, *password, *dbname, *unix_socket;
	const char *option_file, *option_group;
	unsigned int port, client_flags;
	unsigned int connect_timeout, read_timeout, write_timeout;
};

static int parse_uint(const char *key, const char *value, unsigned int *num_r,
		      char **error_r)
{
	if (str_to_uint(value, num_r) < 0) {
		*error_r = x_printf("Invalid number for %s: %s", key, value);
		return -1;
	}
	return 0;
}

/* Parse connect into params (strings from pool). */
static int mysql_params_parse(struct pool *pool, const char *connect,
			      struct mysql_params *params, char **error_r)
{
	memset(params, 0, sizeof(*params));
	params->connect_timeout = 5;
	params->read_timeout = 30;
	params->write_timeout = 30;
	char *copy = pool_strdup(pool, connect), *saveptr = NULL;
	for (char *tok = strtok_r(copy, " \t", &saveptr); tok != NULL;
	     tok = strtok_r(NULL, " \t", &saveptr)) {
		char *eq = strchr(tok, '=');
		if (eq == NULL) {
			*error_r = x_printf("Missing '=' in connect string word: %s", tok);
			return -1;
		}
		*eq = '\0';
		const char *key = tok, *value = eq + 1;
		int ret = 0;
		if (str_eq(key, "host"))
			params->host = value;
		else if (str_eq(key, "user"))
			params->user = value;
		else if (str_eq(key, "password"))
			params->password = value;
		else if (str_eq(key, "dbname"))
			params->dbname = value;
		else if (str_eq(key, "port"))
			ret = parse_uint(key, value, &params->port, error_r);
		else if (str_eq(key, "client_flags"))
			ret = parse_uint(key, value, &params->client_flags, error_r);
		else if (str_eq(key, "connect_timeout"))
			ret = parse_uint(key, value, &params->connect_timeout, error_r);
		else if (str_eq(key, "read_timeout"))
			ret = parse_uint(key, value, &params->read_timeout, error_r);
		else if (str_eq(key, "write_timeout"))
			ret = parse_uint(key, value, &params->write_timeout, error_r);
		else if (str_eq(key, "option_file"))
			params->option_file = value;
		else if (str_eq(key, "option_group"))
			params->option_group = value;
		else {
			*error_r = x_printf("Unknown connect string word: %s "
					    "(roost supports host, port, dbname, user, password, "
					    "client_flags, option_file, option_group, "
					    "connect_timeout, read_timeout, write_timeout)", key);
			return -1;
		}
		if (ret < 0)
			return -1;
	}
	if (params->host != NULL && params->host[0] == '/') {
		params->unix_socket = params->host;
		params->host = NULL;
	}
	return 0;
}

static void mysql_global_init(void)
{
	static bool initialized = false;
	/* must run before threads use the library */
	if (!initialized) {
		initialized = true;
		(void)mysql_library_init(0, NULL, NULL);
	}
}

static int mysql_check_connect(const char *connect, char **error_r)
{
	struct pool *pool = pool_create("mysql connect", 256);
	struct mysql_params params;
	int ret = mysql_params_parse(pool, connect, &params, error_r);
	pool_destroy(&pool);
	return ret;
}

static void *mysql_connect(const char *connect, enum sql_escape_flags *flags_r,
			   char **error_r)
{
	struct pool *pool = pool_create_secure("mysql connect", 256);
	struct mysql_params params;
	MYSQL *mysql = NULL;

	if (mysql_params_parse(pool, connect, &params, error_r) < 0)
		goto out;
	mysql = mysql_init(NULL);
	if (mysql == NULL) {
		*error_r = x_strdup("mysql_init() failed: out of memory");
		goto out;
	}
	if (params.option_file != NULL)
		mysql_options(mysql, MYSQL_READ_DEFAULT_FILE, params.option_file);
	if (params.option_group != NULL)
		mysql_options(mysql, MYSQL_READ_DEFAULT_GROUP, params.option_group);
	mysql_options(mysql, MYSQL_OPT_CONNECT_TIMEOUT, &params.connect_timeout);
	mysql_options(mysql, MYSQL_OPT_READ_TIMEOUT, &params.read_timeout);
	mysql_options(mysql, MYSQL_OPT_WRITE_TIMEOUT, &params.write_timeout);
	if (mysql_real_connect(mysql, params.host, params.user, params.password,
			       params.dbname, params.port, params.unix_socket,
			       params.client_flags) == NULL) {
		*error_r = x_printf("%s (errno %u)", mysql_error(mysql), mysql_errno(mysql));
		mysql_close(mysql);
		mysql = NULL;
		goto out;
	}
	unsigned int status = 0;
	if (mariadb_get_infov(mysql, MARIADB_CONNECTION_SERVER_STATUS, &status) == 0 &&
	    (status & SERVER_STATUS_NO_BACKSLASH_ESCAPES) != 0)
		*flags_r = 0;
	else
		*flags_r = SQL_ESCAPE_BACKSLASH;
out:
	pool_destroy(&pool);
	return mysql;
}

static void mysql_disconnect(void *handle)
{
	mysql_close(handle);
}

static bool mysql_connection_lost(unsigned int err)
{
	return err == CR_SERVER_GONE_ERROR || err == CR_SERVER_LOST ||
		err == CR_CONNECTION_ERROR || err == CR_CONN_HOST_ERROR;
}

static int mysql_query_error(MYSQL *mysql, char **error_r)
{
	unsigned int err = mysql_errno(mysql);
	*error_r = x_printf("%s (errno %u)", mysql_error(mysql), err);
	return mysql_connection_lost(err) ? -2 : -1;
}

static int mysql_run_query(void *handle, const char *query, struct sql_result *result,
			   char **error_r)
{
	MYSQL *mysql = handle;

	if (mysql_real_query(mysql, query, strlen(query)) != 0)
		return mysql_query_error(mysql, error_r);
	MYSQL_RES *res = mysql_store_result(mysql);
	if (res == NULL) {
		if (mysql_field_count(mysql) != 0)
			return mysql_query_error(mysql, error_r);
		/* UPDATE/INSERT/DELETE */
		sql_result_alloc(result, 0, 0);
		result->affected_rows = (uint64_t)mysql_affected_rows(mysql);
		return 0;
	}
	unsigned int n_columns = mysql_num_fields(res);
	unsigned int n_rows = (unsigned int)mysql_num_rows(res);
	MYSQL_FIELD *fields = mysql_fetch_fields(res);
	sql_result_alloc(result, n_columns, n_rows);
	for (unsigned int i = 0; i < n_columns; i++)
		result->names[i] = x_strdup(fields[i].name);
	for (unsigned int row = 0; row < n_rows; row++) {
		MYSQL_ROW values = mysql_fetch_row(res);
		unsigned long *lengths = mysql_fetch_lengths(res);
		if (values == NULL || lengths == NULL)
			break;
		for (unsigned int i = 0; i < n_columns; i++) {
			if (values[i] == NULL)
				continue;
			result->values[(size_t)row * n_columns + i] =
				x_strndup(values[i], lengths[i]);
		}
	}
	mysql_free_result(res);
	return 0;
}

static char *mysql_escape(void *handle, const char *value, enum sql_escape_flags flags)
{
	if (handle == NULL)
		return sql_escape_generic(value, flags);
	size_t len = strlen(value);
	char *to = x_malloc(size_add(size_mul(len, 2), 1));
	(void)mysql_real_escape_string(handle, to, value, (unsigned long)len);
	return to;
}

const struct sql_backend sql_backend_mysql = {
	.name = "mysql",
	.available = true,
	.multi_host = true,
	.global_init = mysql_global_init,
	.check_connect = mysql_check_connect,
	.connect = mysql_connect,
	.disconnect = mysql_disconnect,
	.query = mysql_run_query,
	.escape = mysql_escape,
};
#else
const struct sql_backend sql_backend_mysql = {
	.name = "mysql",
	.available = false,
};
#endif
