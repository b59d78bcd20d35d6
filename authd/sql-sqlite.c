/* SQLite backend for the sql passdb/userdb: connect = path of the
   database file (opened read-write, never created). */
#include "lib.h"
#include "db-sql.h"

#ifdef HAVE_SQLITE
#include <stdlib.h>
#include <sqlite3.h>

/* How long a statement waits for another process's write lock. */
#define SQLITE_BUSY_TIMEOUT_MSECS 5000

static void *sqlite_connect(const char *connect, enum sql_escape_flags *flags_r,
			    char **error_r)
{
	sqlite3 *db = NULL;
	int ret = sqlite3_open_v2(connect, &db, SQLITE_OPEN_READWRITE |
				  SQLITE_OPEN_FULLMUTEX, NULL);
	if (ret != SQLITE_OK) {
		*error_r = x_printf("sqlite3_open_v2(%s) failed: %s", connect,
				    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(ret));
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, SQLITE_BUSY_TIMEOUT_MSECS);
	/* SQLite reads '' only; a backslash is an ordinary character */
	*flags_r = 0;
	return db;
}

static void sqlite_disconnect(void *handle)
{
	sqlite3_close(handle);
}

struct row_buf {
	char **values;
	size_t count, alloc;
};

static int sqlite_query(void *handle, const char *query, struct sql_result *result,
			char **error_r)
{
	sqlite3 *db = handle;
	sqlite3_stmt *stmt = NULL;
	int ret = sqlite3_prepare_v2(db, query, -1, &stmt, NULL);
	if (ret != SQLITE_OK) {
		*error_r = x_strdup(sqlite3_errmsg(db));
		return -1;
	}
	if (stmt == NULL) {
		/* empty statement */
		sql_result_alloc(result, 0, 0);
		return 0;
	}
	unsigned int n_columns = (unsigned int)sqlite3_column_count(stmt);
	struct row_buf rows = { NULL, 0, 0 };
	while ((ret = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (rows.count + n_columns > rows.alloc) {
			size_t new_alloc = rows.alloc == 0 ? 16 : rows.alloc * 2;
			while (new_alloc < rows.count + n_columns)
				new_alloc *= 2;
			rows.values = x_realloc(rows.values, rows.alloc * sizeof(char *),
						new_alloc * sizeof(char *));
			rows.alloc = new_alloc;
		}
		for (unsigned int i = 0; i < n_columns; i++) {
			const unsigned char *text = sqlite3_column_text(stmt, (int)i);
			rows.values[rows.count++] = text == NULL ? NULL :
				x_strndup((const char *)text,
					  (size_t)sqlite3_column_bytes(stmt, (int)i));
		}
	}
	if (ret != SQLITE_DONE) {
		*error_r = x_strdup(sqlite3_errmsg(db));
		for (size_t i = 0; i < rows.count; i++)
			free(rows.values[i]);
		free(rows.values);
		sqlite3_finalize(stmt);
		return -1;
	}
	unsigned int n_rows = n_columns == 0 ? 0 : (unsigned int)(rows.count / n_columns);
	sql_result_alloc(result, n_columns, n_rows);
	for (unsigned int i = 0; i < n_columns; i++) {
		const char *name = sqlite3_column_name(stmt, (int)i);
		result->names[i] = x_strdup(name != NULL ? name : "");
	}
	for (size_t i = 0; i < rows.count; i++)
		result->values[i] = rows.values[i];
	free(rows.values);
	result->affected_rows = (uint64_t)sqlite3_changes(db);
	sqlite3_finalize(stmt);
	return 0;
}

static char *sqlite_escape(void *handle ATTR_UNUSED, const char *value,
			   enum sql_escape_flags flags ATTR_UNUSED)
{
	return sql_escape_generic(value, 0);
}

static int sqlite_check_connect(const char *connect, char **error_r)
{
	if (strchr(connect, '=') != NULL && connect[0] != '/') {
		*error_r = x_printf("sqlite wants the path of the database file, "
				    "not a connect string: %s", connect);
		return -1;
	}
	return 0;
}

const struct sql_backend sql_backend_sqlite = {
	.name = "sqlite",
	.available = true,
	.check_connect = sqlite_check_connect,
	.connect = sqlite_connect,
	.disconnect = sqlite_disconnect,
	.query = sqlite_query,
	.escape = sqlite_escape,
};
#else
const struct sql_backend sql_backend_sqlite = {
	.name = "sqlite",
	.available = false,
};
#endif
