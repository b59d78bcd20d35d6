/* PostgreSQL backend for the sql passdb/userdb (libpq): connect is a
   libpq conninfo string ("host=... dbname=... user=... password=...";
   db-sql.c has taken out Dovecot's maxconns= and all but one host=).
   connect_timeout=5 is added unless the string sets one (db-sql.c
   enforces it for the non-blocking connects, which libpq does not).

   Two ways to use a connection: the synchronous ops (blocking libpq
   calls, for db_sql_query_sync) and the async ops, which never block:
   PQconnectStart/PQconnectPoll, PQsendQuery + PQflush in non-blocking
   mode, PQconsumeInput/PQisBusy/PQgetResult when the socket is
   readable. The query text is sent as it is: its %variables were already
   escaped with PQescapeStringConn (Dovecot does the same). */
#include "lib.h"
#include "db-sql.h"

#ifdef HAVE_PGSQL
#include "str.h"
#include <stdlib.h>
#include <time.h>
#include <errno.h>
#include <poll.h>
#include <libpq-fe.h>

#define PGSQL_DEFAULT_CONNECT_TIMEOUT_SECS 5
/* A server that accepted the connection but does not answer must not hold
   the caller for ever (mysql has read_timeout for this). */
#define PGSQL_QUERY_TIMEOUT_SECS SQL_QUERY_TIMEOUT_SECS

struct pgsql_conn {
	PGconn *pg;
	/* async: the last result of the running query read so far */
	PGresult *res;
};

/* libpq messages span lines ("...failed: ...\n\tIs the server running"):
   one log line. */
static char *pgsql_error_text(const char *msg)
{
	string_t *str = str_create(128);
	for (const char *p = msg != NULL ? msg : "unknown error"; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\t' || *p == '\r') {
			if (str_len(str) > 0 && str_c(str)[str_len(str) - 1] != ' ')
				str_append_c(str, ' ');
		} else {
			str_append_c(str, *p);
		}
	}
	size_t len = str_len(str);
	while (len > 0 && str_c(str)[len - 1] == ' ')
		len--;
	str_truncate(str, len);
	return str_free_without_data(&str);
}

static int pgsql_check_connect(const char *connect, char **error_r)
{
	char *errmsg = NULL;
	PQconninfoOption *options = PQconninfoParse(connect, &errmsg);
	if (options == NULL) {
		*error_r = pgsql_error_text(errmsg != NULL ? errmsg :
					    "invalid connect string");
		PQfreemem(errmsg);
		return -1;
	}
	PQconninfoFree(options);
	return 0;
}

static char *pgsql_conninfo(const char *connect)
{
	return strstr(connect, "connect_timeout") != NULL ? x_strdup(connect) :
		x_printf("%s connect_timeout=%u", connect, PGSQL_DEFAULT_CONNECT_TIMEOUT_SECS);
}

/* Server notices (e.g. the shutdown message on an idle connection)
   would go to stderr by default. */
static void pgsql_notice_ignore(void *context ATTR_UNUSED, const char *message ATTR_UNUSED)
{
}

static enum sql_escape_flags pgsql_escape_flags(PGconn *pg)
{
	const char *scs = PQparameterStatus(pg, "standard_conforming_strings");
	return scs != NULL && str_eq(scs, "on") ? 0 : SQL_ESCAPE_BACKSLASH;
}

static struct pgsql_conn *pgsql_conn_new(PGconn *pg)
{
	struct pgsql_conn *conn = x_malloc(sizeof(*conn));
	conn->pg = pg;
	PQsetNoticeProcessor(pg, pgsql_notice_ignore, NULL);
	return conn;
}

static void *pgsql_connect(const char *connect, enum sql_escape_flags *flags_r,
			   char **error_r)
{
	char *conninfo = pgsql_conninfo(connect);
	PGconn *pg = PQconnectdb(conninfo);
	x_free_secret(conninfo, strlen(conninfo));
	if (pg == NULL) {
		*error_r = x_strdup("PQconnectdb() failed: out of memory");
		return NULL;
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		*error_r = pgsql_error_text(PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	*flags_r = pgsql_escape_flags(pg);
	return pgsql_conn_new(pg);
}

/* The conninfo without the password, in the order written. libpq's
   syntax: key [spaces] = [spaces] value, value either a word or '...'
   with backslash escapes. A "postgresql://" URI is shown without its
   user info part. */
static char *pgsql_display(const char *connect)
{
	string_t *str = str_create(64);
	const char *p = connect;

	if (str_begins(p, "postgresql://", NULL) || str_begins(p, "postgres://", NULL)) {
		const char *at = strchr(p, '@');
		const char *scheme_end = strstr(p, "://") + 3;
		if (at == NULL) {
			str_append(str, p);
		} else {
			str_append_n(str, p, (size_t)(scheme_end - p));
			str_append(str, at + 1);
		}
		return str_free_without_data(&str);
	}
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		const char *key = p;
		while (*p != '\0' && *p != '=' && *p != ' ' && *p != '\t')
			p++;
		size_t key_len = (size_t)(p - key);
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '=')
			p++;
		while (*p == ' ' || *p == '\t')
			p++;
		const char *value = p;
		if (*p == '\'') {
			for (p++; *p != '\0' && *p != '\''; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
			}
			if (*p == '\'')
				p++;
		} else {
			while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n')
				p++;
		}
		if (key_len == 8 && strncmp(key, "password", 8) == 0)
			continue;
		if (str_len(str) > 0)
			str_append_c(str, ' ');
		str_append_n(str, key, key_len);
		str_append_c(str, '=');
		str_append_n(str, value, (size_t)(p - value));
	}
	return str_free_without_data(&str);
}

static void pgsql_disconnect(void *handle)
{
	struct pgsql_conn *conn = handle;
	PQclear(conn->res);
	PQfinish(conn->pg);
	free(conn);
}

/* Send query and wait for its result for at most PGSQL_QUERY_TIMEOUT_SECS.
   Returns the (last) result, or NULL with error_r: the connection is then
   not usable any more (*timed_out_r tells whether the server was silent). */
static PGresult *pgsql_exec(PGconn *pg, const char *query, bool *timed_out_r,
			    char **error_r)
{
	if (PQsendQuery(pg, query) == 0) {
		*error_r = pgsql_error_text(PQerrorMessage(pg));
		return NULL;
	}
	/* the query is small: flush it whole (blocking connection) */
	if (PQflush(pg) != 0) {
		*error_r = pgsql_error_text(PQerrorMessage(pg));
		return NULL;
	}
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (PQisBusy(pg)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long elapsed_ms = (now.tv_sec - start.tv_sec) * 1000 +
			(now.tv_nsec - start.tv_nsec) / 1000000;
		long left_ms = PGSQL_QUERY_TIMEOUT_SECS * 1000L - elapsed_ms;
		if (left_ms <= 0) {
			/* ask the server to stop; the connection is dropped */
			PGcancel *cancel = PQgetCancel(pg);
			char errbuf[256];
			if (cancel != NULL) {
				(void)PQcancel(cancel, errbuf, sizeof(errbuf));
				PQfreeCancel(cancel);
			}
			*error_r = x_printf("Query timed out after %u s (no answer from the server)",
					    PGSQL_QUERY_TIMEOUT_SECS);
			*timed_out_r = true;
			return NULL;
		}
		struct pollfd pfd = { .fd = PQsocket(pg), .events = POLLIN };
		int ret = poll(&pfd, 1, (int)left_ms);
		if (ret < 0 && errno != EINTR) {
			*error_r = x_printf("poll() failed: %s", strerror(errno));
			return NULL;
		}
		if (ret > 0 && PQconsumeInput(pg) == 0) {
			*error_r = pgsql_error_text(PQerrorMessage(pg));
			return NULL;
		}
	}
	/* the last result is the one that counts (one statement) */
	PGresult *res = NULL, *next;
	while ((next = PQgetResult(pg)) != NULL) {
		PQclear(res);
		res = next;
	}
	if (res == NULL)
		*error_r = pgsql_error_text(PQerrorMessage(pg));
	return res;
}

/* Copy res (freed here) into result: 0, -1 query error, -2 connection
   lost. */
static int pgsql_result_convert(PGconn *pg, PGresult *res, struct sql_result *result,
				char **error_r)
{
	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK: {
		unsigned int n_columns = (unsigned int)PQnfields(res);
		unsigned int n_rows = (unsigned int)PQntuples(res);
		sql_result_alloc(result, n_columns, n_rows);
		for (unsigned int i = 0; i < n_columns; i++)
			result->names[i] = x_strdup(PQfname(res, (int)i));
		for (unsigned int row = 0; row < n_rows; row++) {
			for (unsigned int i = 0; i < n_columns; i++) {
				if (PQgetisnull(res, (int)row, (int)i))
					continue;
				result->values[(size_t)row * n_columns + i] =
					x_strdup(PQgetvalue(res, (int)row, (int)i));
			}
		}
		PQclear(res);
		return 0;
	}
	case PGRES_COMMAND_OK: {
		uint64_t affected = 0;
		const char *tuples = PQcmdTuples(res);
		if (tuples != NULL && *tuples != '\0')
			(void)str_to_uint64(tuples, &affected);
		sql_result_alloc(result, 0, 0);
		result->affected_rows = affected;
		PQclear(res);
		return 0;
	}
	default:
		break;
	}
	const char *msg = PQresultErrorMessage(res);
	*error_r = pgsql_error_text(msg != NULL && *msg != '\0' ? msg : PQerrorMessage(pg));
	PQclear(res);
	return PQstatus(pg) == CONNECTION_BAD ? -2 : -1;
}

static int pgsql_query(void *handle, const char *query, struct sql_result *result,
		       char **error_r)
{
	struct pgsql_conn *conn = handle;
	PGconn *pg = conn->pg;
	bool timed_out = false;
	PGresult *res = pgsql_exec(pg, query, &timed_out, error_r);

	if (res == NULL) {
		/* lost (retry on a new connection), or in an unknown state
		   after a timeout (a new connection, no retry) */
		return timed_out ? -3 : -2;
	}
	return pgsql_result_convert(pg, res, result, error_r);
}

/* ---- non-blocking (event loop) ----------------------------------------- */

static void *pgsql_connect_start(const char *connect, char **error_r)
{
	char *conninfo = pgsql_conninfo(connect);
	PGconn *pg = PQconnectStart(conninfo);
	x_free_secret(conninfo, strlen(conninfo));
	if (pg == NULL) {
		*error_r = x_strdup("PQconnectStart() failed: out of memory");
		return NULL;
	}
	if (PQstatus(pg) == CONNECTION_BAD) {
		*error_r = pgsql_error_text(PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	return pgsql_conn_new(pg);
}

static int pgsql_connect_poll(void *handle, bool *want_write_r,
			      enum sql_escape_flags *flags_r, char **error_r)
{
	struct pgsql_conn *conn = handle;

	switch (PQconnectPoll(conn->pg)) {
	case PGRES_POLLING_READING:
		*want_write_r = false;
		return 0;
	case PGRES_POLLING_WRITING:
		*want_write_r = true;
		return 0;
	case PGRES_POLLING_OK:
		if (PQsetnonblocking(conn->pg, 1) != 0) {
			*error_r = pgsql_error_text(PQerrorMessage(conn->pg));
			return -1;
		}
		*flags_r = pgsql_escape_flags(conn->pg);
		return 1;
	default:
		*error_r = pgsql_error_text(PQerrorMessage(conn->pg));
		return -1;
	}
}

static int pgsql_socket(void *handle)
{
	struct pgsql_conn *conn = handle;
	return PQsocket(conn->pg);
}

static int pgsql_flush(void *handle, char **error_r)
{
	struct pgsql_conn *conn = handle;
	int ret = PQflush(conn->pg);
	if (ret < 0)
		*error_r = pgsql_error_text(PQerrorMessage(conn->pg));
	return ret;
}

static int pgsql_send_query(void *handle, const char *query, char **error_r)
{
	struct pgsql_conn *conn = handle;
	i_assert(conn->res == NULL);
	if (PQsendQuery(conn->pg, query) == 0) {
		*error_r = pgsql_error_text(PQerrorMessage(conn->pg));
		return -1;
	}
	return pgsql_flush(handle, error_r);
}

static int pgsql_read_input(void *handle, struct sql_result *result, char **error_r)
{
	struct pgsql_conn *conn = handle;
	PGconn *pg = conn->pg;

	if (PQconsumeInput(pg) == 0) {
		*error_r = pgsql_error_text(PQerrorMessage(pg));
		return -2;
	}
	if (result == NULL) {
		/* idle: only a lost connection is news (a notice was eaten) */
		if (PQstatus(pg) == CONNECTION_BAD) {
			*error_r = pgsql_error_text(PQerrorMessage(pg));
			return -2;
		}
		return 1;
	}
	/* PQgetResult does not block while PQisBusy is false; the query is
	   complete when it returns NULL (one statement: the last result
	   counts) */
	while (!PQisBusy(pg)) {
		PGresult *res = PQgetResult(pg);
		if (res == NULL) {
			res = conn->res;
			conn->res = NULL;
			if (res == NULL) {
				*error_r = pgsql_error_text(PQerrorMessage(pg));
				return PQstatus(pg) == CONNECTION_BAD ? -2 : -1;
			}
			return pgsql_result_convert(pg, res, result, error_r);
		}
		PQclear(conn->res);
		conn->res = res;
	}
	return 1;
}

static void *pgsql_cancel_prepare(void *handle)
{
	struct pgsql_conn *conn = handle;
	return PQgetCancel(conn->pg);
}

static void pgsql_cancel_run(void *cancel)
{
	char errbuf[256];
	/* best effort: the connection is dropped anyway */
	(void)PQcancel(cancel, errbuf, sizeof(errbuf));
	PQfreeCancel(cancel);
}

static const struct sql_async_ops pgsql_async_ops = {
	.connect_start = pgsql_connect_start,
	.connect_poll = pgsql_connect_poll,
	.socket = pgsql_socket,
	.send_query = pgsql_send_query,
	.flush = pgsql_flush,
	.read_input = pgsql_read_input,
	.cancel_prepare = pgsql_cancel_prepare,
	.cancel_run = pgsql_cancel_run,
};

static char *pgsql_escape(void *handle, const char *value, enum sql_escape_flags flags)
{
	if (handle == NULL)
		return sql_escape_generic(value, flags);
	struct pgsql_conn *conn = handle;
	size_t len = strlen(value);
	char *to = x_malloc(size_add(size_mul(len, 2), 1));
	int error = 0;
	/* invalid multibyte input still gives a safe literal (the server
	   then rejects it as malformed: an internal failure) */
	(void)PQescapeStringConn(conn->pg, to, value, len, &error);
	return to;
}

const struct sql_backend sql_backend_pgsql = {
	.name = "pgsql",
	.available = true,
	.multi_host = true,
	.async = &pgsql_async_ops,
	.check_connect = pgsql_check_connect,
	.display = pgsql_display,
	.connect = pgsql_connect,
	.disconnect = pgsql_disconnect,
	.query = pgsql_query,
	.escape = pgsql_escape,
};
#else
const struct sql_backend sql_backend_pgsql = {
	.name = "pgsql",
	.available = false,
};
#endif
