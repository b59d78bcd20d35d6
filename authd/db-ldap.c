/* ldap passdb/userdb backend: the asynchronous connections (see
   db-ldap.h for the rules). */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "array.h"
#include "log.h"
#include "db-ldap.h"

#include <stdlib.h>
#include <time.h>
#include <event2/event.h>

#ifdef HAVE_LDAP
#include <ldap.h>

/* Dovecot 2.3 has no setting for these; ldaprc can change them
   (NETWORK_TIMEOUT, TIMEOUT) */
#define DB_LDAP_CONNECT_TIMEOUT_SECS 5
#define DB_LDAP_REQUEST_TIMEOUT_SECS 30
#define DB_LDAP_RECONNECT_MIN_MSECS 1000
#define DB_LDAP_RECONNECT_MAX_MSECS 8000
#define DB_LDAP_PAGE_SIZE 500

/* db-ldap-settings.c parses without <ldap.h> */
_Static_assert(LDAP_SCOPE_SUBTREE == 2 && LDAP_SCOPE_ONELEVEL == 1, "scope values");
_Static_assert(LDAP_DEREF_ALWAYS == 3, "deref values");
_Static_assert(LDAP_OPT_X_TLS_NEVER == 0 && LDAP_OPT_X_TLS_HARD == 1 &&
	       LDAP_OPT_X_TLS_DEMAND == 2 && LDAP_OPT_X_TLS_ALLOW == 3 &&
	       LDAP_OPT_X_TLS_TRY == 4, "tls_require_cert values");

/* ---- connections ------------------------------------------------------- */

struct db_ldap_request;

struct db_ldap_conn {
	struct db_ldap *db;
	const char *name;            /* "main" / "bind", for logs */
	bool bind_conn;
	LDAP *ld;
	const char *uri;             /* the connected one */
	struct event_base *base;
	struct event *read_event;
	struct event *kick_event;    /* connect + send, outside callers' stacks */
	/* sent requests (msgid != -1) first, then queued ones */
	struct db_ldap_request *head, *tail;
	uint64_t next_connect_msecs;
	unsigned int connect_delay_msecs;
	char *last_error;
	bool was_lost;               /* lost or failed: log the reconnect */
};

struct db_ldap_request {
	struct db_ldap_request *prev, *next;
	struct db_ldap_conn *conn;
	int msgid;                   /* -1 = not sent yet */
	bool bind;
	char *search_base, *filter;
	char **attrs;                /* the settings' (live as long as db) */
	char *dn, *password;
	struct event *timeout_event;
	struct pool *pool;           /* secure: reply entries */
	struct db_ldap_reply reply;
	db_ldap_callback_t *callback;
	void *context;
};

struct db_ldap {
	struct db_ldap *next;
	int refcount;
	struct pool *pool;
	const char *config_path;
	struct db_ldap_settings set;
	unsigned int request_timeout_secs;
	struct db_ldap_conn conn, bind_conn;
};

static struct db_ldap *db_ldap_list;

static uint64_t monotonic_msecs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* libldap's error text for rc, with the server's diagnostic message. */
static char *ldap_error_text(LDAP *ld, int rc)
{
	char *diag = NULL;
	char *text;

	if (ld != NULL)
		(void)ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	if (diag != NULL && *diag != '\0' && *diag == '(')
		text = x_printf("%s %s", ldap_err2string(rc), diag);
	else if (diag != NULL && *diag != '\0')
		text = x_printf("%s (%s)", ldap_err2string(rc), diag);
	else
		text = x_strdup(ldap_err2string(rc));
	if (diag != NULL)
		ldap_memfree(diag);
	return text;
}

static int ld_last_error(LDAP *ld)
{
	int rc = LDAP_OTHER;
	if (ld == NULL || ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &rc) != LDAP_OPT_SUCCESS)
		rc = LDAP_OTHER;
	return rc;
}

static int ld_set_options(struct db_ldap *db, LDAP *ld, char **error_r)
{
	const struct db_ldap_settings *set = &db->set;
	int version = (int)set->ldap_version;
	struct timeval *tv = NULL;
	int rc;

#define SET_OPT(opt, value, what) \
	if ((rc = ldap_set_option(ld, opt, value)) != LDAP_OPT_SUCCESS) { \
		*error_r = x_printf("Can't set %s: %s", what, ldap_err2string(rc)); \
		return -1; \
	}
	SET_OPT(LDAP_OPT_PROTOCOL_VERSION, &version, "ldap_version");
	SET_OPT(LDAP_OPT_DEREF, &set->deref_value, "deref");
	SET_OPT(LDAP_OPT_REFERRALS, LDAP_OPT_OFF, "referrals");
	SET_OPT(LDAP_OPT_RESTART, LDAP_OPT_ON, "restart");
	/* bound the synchronous connect, StartTLS and dn bind unless ldaprc
	   chose (NETWORK_TIMEOUT, TIMEOUT) */
	if (ldap_get_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    tv == NULL || tv->tv_sec < 0) {
		struct timeval connect_tv = { .tv_sec = DB_LDAP_CONNECT_TIMEOUT_SECS };
		SET_OPT(LDAP_OPT_NETWORK_TIMEOUT, &connect_tv, "network timeout");
	}
	if (tv != NULL)
		ldap_memfree(tv);
	tv = NULL;
	if (ldap_get_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    tv == NULL || tv->tv_sec < 0) {
		struct timeval api_tv = { .tv_sec = DB_LDAP_CONNECT_TIMEOUT_SECS };
		SET_OPT(LDAP_OPT_TIMEOUT, &api_tv, "timeout");
	}
	if (tv != NULL)
		ldap_memfree(tv);
	if (set->debug_level != NULL && !str_eq(set->debug_level, "0")) {
		int level = atoi(set->debug_level);
		SET_OPT(LDAP_OPT_DEBUG_LEVEL, &level, "debug_level");
	}

	bool tls_opts = false;
#define SET_TLS_STR(opt, value, what) \
	if (value != NULL && *value != '\0') { \
		SET_OPT(opt, value, what); \
		tls_opts = true; \
	}
	SET_TLS_STR(LDAP_OPT_X_TLS_CACERTFILE, set->tls_ca_cert_file, "tls_ca_cert_file");
	SET_TLS_STR(LDAP_OPT_X_TLS_CACERTDIR, set->tls_ca_cert_dir, "tls_ca_cert_dir");
	SET_TLS_STR(LDAP_OPT_X_TLS_CERTFILE, set->tls_cert_file, "tls_cert_file");
	SET_TLS_STR(LDAP_OPT_X_TLS_KEYFILE, set->tls_key_file, "tls_key_file");
	SET_TLS_STR(LDAP_OPT_X_TLS_CIPHER_SUITE, set->tls_cipher_suite, "tls_cipher_suite");
	if (set->require_cert_value >= 0) {
		SET_OPT(LDAP_OPT_X_TLS_REQUIRE_CERT, &set->require_cert_value, "tls_require_cert");
		tls_opts = true;
	}
	if (tls_opts) {
		/* the handle's options take effect in a new TLS context */
		int is_server = 0;
		SET_OPT(LDAP_OPT_X_TLS_NEWCTX, &is_server, "TLS context");
	}
#undef SET_TLS_STR
#undef SET_OPT
	return 0;
}

/* Connect to one URI: StartTLS if tls=yes, then (main connection) bind
   as dn. Synchronous, bounded by the network timeout. */
static int ld_open(struct db_ldap *db, const char *uri, bool bind_as_dn,
		   LDAP **ld_r, char **error_r)
{
	const struct db_ldap_settings *set = &db->set;
	LDAP *ld = NULL;
	char *error = NULL;
	int rc;

	rc = ldap_initialize(&ld, uri);
	if (rc != LDAP_SUCCESS) {
		*error_r = x_printf("ldap_initialize(%s) failed: %s", uri, ldap_err2string(rc));
		return -1;
	}
	if (ld_set_options(db, ld, &error) < 0) {
		*error_r = x_printf("%s: %s", uri, error);
		free(error);
		ldap_unbind_ext(ld, NULL, NULL);
		return -1;
	}
	if (set->tls) {
		rc = ldap_start_tls_s(ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			error = ldap_error_text(ld, rc);
			*error_r = x_printf("%s: ldap_start_tls_s() failed: %s", uri, error);
			free(error);
			ldap_unbind_ext(ld, NULL, NULL);
			return -1;
		}
	}
	if (bind_as_dn) {
		struct berval cred = { 0, NULL };
		if (set->dnpass != NULL) {
			cred.bv_val = (char *)set->dnpass;
			cred.bv_len = strlen(set->dnpass);
		}
		rc = ldap_sasl_bind_s(ld, set->dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			error = ldap_error_text(ld, rc);
			if (rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT || rc == LDAP_CONNECT_ERROR)
				*error_r = x_printf("%s: %s", uri, error);
			else
				*error_r = x_printf("%s: binding failed (dn %s): %s", uri,
						    set->dn != NULL ? set->dn : "(none)", error);
			free(error);
			ldap_unbind_ext(ld, NULL, NULL);
			return -1;
		}
	} else if (!set->tls) {
		rc = ldap_connect(ld);
		if (rc != LDAP_SUCCESS) {
			error = ldap_error_text(ld, rc);
			*error_r = x_printf("%s: %s", uri, error);
			free(error);
			ldap_unbind_ext(ld, NULL, NULL);
			return -1;
		}
	}
	*ld_r = ld;
	return 0;
}

/* Try the URIs in order (failover). error_r lists every failure. */
static int ld_open_any(struct db_ldap *db, bool bind_as_dn, LDAP **ld_r,
		       const char **uri_r, char **error_r)
{
	string_t *errors = str_create(128);

	for (unsigned int i = 0; db->set.uri_list[i] != NULL; i++) {
		char *error = NULL;
		if (ld_open(db, db->set.uri_list[i], bind_as_dn, ld_r, &error) == 0) {
			if (str_len(errors) > 0) {
				/* failover: say why the earlier ones were skipped */
				log_warning("LDAP %s: %s (using %s)", db->config_path,
					    str_c(errors), db->set.uri_list[i]);
			}
			str_free(&errors);
			*uri_r = db->set.uri_list[i];
			return 0;
		}
		if (str_len(errors) > 0)
			str_append(errors, "; ");
		str_append(errors, error);
		free(error);
	}
	*error_r = str_free_without_data(&errors);
	return -1;
}

static void conn_input(evutil_socket_t fd, short what, void *context);
static void conn_kick_cb(evutil_socket_t fd, short what, void *context);

static void request_free(struct db_ldap_request *req)
{
	if (req->timeout_event != NULL)
		event_free(req->timeout_event);
	if (req->password != NULL)
		x_free_secret(req->password, strlen(req->password));
	free(req->search_base);
	free(req->filter);
	free(req->dn);
	pool_destroy(&req->pool);
	free(req);
}

static void conn_unlink(struct db_ldap_conn *conn, struct db_ldap_request *req)
{
	if (req->prev != NULL)
		req->prev->next = req->next;
	else
		conn->head = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	else
		conn->tail = req->prev;
	req->prev = req->next = NULL;
}

static void request_finish(struct db_ldap_request *req)
{
	conn_unlink(req->conn, req);
	req->callback(&req->reply, req->context);
	request_free(req);
}

static void request_fail(struct db_ldap_request *req, const char *error)
{
	req->reply.ret = -1;
	req->reply.error = pool_strdup(req->pool, error);
	request_finish(req);
}

/* Fail the requests of conn (all, or only those sent on the connection
   that just broke). The list is detached first: callbacks may add new
   requests, which wait for the next kick. */
static void conn_fail_requests(struct db_ldap_conn *conn, bool sent_only, const char *error)
{
	struct db_ldap_request *list = conn->head, *failed = NULL, **failed_tail = &failed;

	conn->head = conn->tail = NULL;
	while (list != NULL) {
		struct db_ldap_request *req = list;
		list = req->next;
		req->prev = req->next = NULL;
		if (sent_only && req->msgid == -1) {
			/* not sent yet: it tries the next connection */
			req->prev = conn->tail;
			if (conn->tail != NULL)
				conn->tail->next = req;
			else
				conn->head = req;
			conn->tail = req;
			continue;
		}
		*failed_tail = req;
		failed_tail = &req->next;
	}
	while (failed != NULL) {
		struct db_ldap_request *req = failed;
		failed = req->next;
		req->next = NULL;
		req->reply.ret = -1;
		req->reply.error = pool_strdup(req->pool, error);
		req->callback(&req->reply, req->context);
		request_free(req);
	}
}

static void conn_close(struct db_ldap_conn *conn)
{
	if (conn->read_event != NULL) {
		event_free(conn->read_event);
		conn->read_event = NULL;
	}
	if (conn->ld != NULL) {
		ldap_unbind_ext(conn->ld, NULL, NULL);
		conn->ld = NULL;
	}
}

/* The connection broke: close it and fail what was sent on it (the
   queued requests try a new connection). */
static void conn_lost(struct db_ldap_conn *conn, const char *reason)
{
	char *error = x_printf("LDAP %s: connection to %s lost: %s",
			       conn->db->config_path, conn->uri, reason);
	bool busy = false;

	for (struct db_ldap_request *req = conn->head; req != NULL; req = req->next)
		busy = busy || req->msgid != -1;
	/* an idle connection closed by the server (idletimeout) is no
	   error: the next request reconnects */
	if (busy)
		log_error("%s", error);
	else
		log_info("%s", error);
	conn_close(conn);
	conn->was_lost = true;
	/* the server may come straight back: reconnect at the next request */
	conn->next_connect_msecs = 0;
	conn->connect_delay_msecs = 0;
	conn_fail_requests(conn, true, error);
	free(error);
	if (conn->head != NULL)
		event_active(conn->kick_event, EV_TIMEOUT, 0);
}

static int conn_connect(struct db_ldap_conn *conn, char **error_r)
{
	LDAP *ld;
	const char *uri;
	int fd = -1;

	if (ld_open_any(conn->db, !conn->bind_conn, &ld, &uri, error_r) < 0)
		return -1;
	if (ldap_get_option(ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS || fd < 0) {
		*error_r = x_printf("%s: Can't get the connection's fd", uri);
		ldap_unbind_ext(ld, NULL, NULL);
		return -1;
	}
	conn->ld = ld;
	conn->uri = uri;
	conn->read_event = event_new(conn->base, fd, EV_READ | EV_PERSIST, conn_input, conn);
	event_add(conn->read_event, NULL);
	if (conn->was_lost) {
		log_info("LDAP %s: Reconnected to %s", conn->db->config_path, uri);
		conn->was_lost = false;
	} else {
		log_debug("LDAP %s: %s connection to %s established%s",
			  conn->db->config_path, conn->name, uri,
			  conn->bind_conn ? "" : (conn->db->set.dn != NULL ?
						  " (bound as dn)" : ""));
	}
	return 0;
}

static int conn_send(struct db_ldap_conn *conn, struct db_ldap_request *req)
{
	const struct db_ldap_settings *set = &conn->db->set;
	int rc;

	if (req->bind) {
		struct berval cred = { strlen(req->password), req->password };
		rc = ldap_sasl_bind(conn->ld, req->dn, LDAP_SASL_SIMPLE, &cred,
				    NULL, NULL, &req->msgid);
	} else {
		rc = ldap_search_ext(conn->ld, *req->search_base == '\0' ? NULL :
				     req->search_base, set->scope_value, req->filter,
				     req->attrs, 0, NULL, NULL, NULL, -1, &req->msgid);
	}
	if (rc == LDAP_SUCCESS)
		return 0;
	req->msgid = -1;
	char *error = ldap_error_text(conn->ld, rc);
	if (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_UNAVAILABLE ||
	    rc == LDAP_TIMEOUT || rc == LDAP_LOCAL_ERROR || rc == LDAP_ENCODING_ERROR) {
		/* the connection is gone */
		conn_lost(conn, error);
		free(error);
		return -1;
	}
	char *msg = req->bind ?
		x_printf("ldap_sasl_bind(%s) failed: %s", req->dn, error) :
		x_printf("ldap_search_ext(base=%s, filter=%s) failed: %s",
			 req->search_base, req->filter, error);
	request_fail(req, msg);
	free(msg);
	free(error);
	return 1;
}

static void conn_kick_cb(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
			 void *context)
{
	struct db_ldap_conn *conn = context;
	char *error = NULL;

	if (conn->head == NULL)
		return;
	if (conn->ld == NULL) {
		uint64_t now = monotonic_msecs();
		if (now < conn->next_connect_msecs) {
			char *msg = x_printf("LDAP %s: Not connected to the server "
					     "(reconnecting in %u ms; last error: %s)",
					     conn->db->config_path,
					     (unsigned int)(conn->next_connect_msecs - now),
					     conn->last_error != NULL ? conn->last_error : "?");
			conn_fail_requests(conn, false, msg);
			free(msg);
			return;
		}
		if (conn_connect(conn, &error) < 0) {
			conn->connect_delay_msecs = conn->connect_delay_msecs == 0 ?
				DB_LDAP_RECONNECT_MIN_MSECS : conn->connect_delay_msecs * 2;
			if (conn->connect_delay_msecs > DB_LDAP_RECONNECT_MAX_MSECS)
				conn->connect_delay_msecs = DB_LDAP_RECONNECT_MAX_MSECS;
			conn->next_connect_msecs = monotonic_msecs() + conn->connect_delay_msecs;
			free(conn->last_error);
			conn->last_error = error;
			conn->was_lost = true;
			char *msg = x_printf("LDAP %s: Can't connect to server: %s",
					     conn->db->config_path, error);
			log_error("%s (retrying in %u ms)", msg, conn->connect_delay_msecs);
			conn_fail_requests(conn, false, msg);
			free(msg);
			return;
		}
		conn->connect_delay_msecs = 0;
		conn->next_connect_msecs = 0;
	}
	/* LDAP: no other operation while a bind is in progress on the same
	   connection, so the bind connection sends one at a time */
	for (struct db_ldap_request *req = conn->head, *next; req != NULL; req = next) {
		next = req->next;
		if (req->msgid != -1) {
			if (conn->bind_conn)
				return;
			continue;
		}
		int ret = conn_send(conn, req);
		if (ret < 0)
			return;   /* connection lost: everything failed or requeued */
		if (ret == 0 && conn->bind_conn)
			return;
	}
}

static void conn_kick(struct db_ldap_conn *conn)
{
	event_active(conn->kick_event, EV_TIMEOUT, 0);
}

static struct db_ldap_request *conn_find(struct db_ldap_conn *conn, int msgid)
{
	for (struct db_ldap_request *req = conn->head; req != NULL; req = req->next) {
		if (req->msgid == msgid)
			return req;
	}
	return NULL;
}

static struct db_ldap_entry *entry_copy(LDAP *ld, LDAPMessage *msg, struct pool *pool)
{
	struct db_ldap_entry *entry = pool_alloc(pool, sizeof(*entry));
	ARRAY(struct db_ldap_attr) attrs = ARRAY_INIT;
	BerElement *ber = NULL;
	char *dn = ldap_get_dn(ld, msg);

	entry->dn = pool_strdup(pool, dn != NULL ? dn : "");
	if (dn != NULL)
		ldap_memfree(dn);
	for (char *name = ldap_first_attribute(ld, msg, &ber); name != NULL;
	     name = ldap_next_attribute(ld, msg, ber)) {
		struct berval **vals = ldap_get_values_len(ld, msg, name);
		int count = vals == NULL ? 0 : ldap_count_values_len(vals);
		const char **values = pool_alloc(pool, sizeof(char *) * ((size_t)count + 1));
		for (int i = 0; i < count; i++)
			values[i] = pool_strndup(pool, vals[i]->bv_val, vals[i]->bv_len);
		if (vals != NULL)
			ldap_value_free_len(vals);
		struct db_ldap_attr attr = {
			.name = pool_strdup(pool, name), .values = values,
		};
		array_push(&attrs, attr);
		ldap_memfree(name);
	}
	if (ber != NULL)
		ber_free(ber, 0);
	entry->attr_count = (unsigned int)attrs.count;
	entry->attrs = pool_alloc(pool, sizeof(*entry->attrs) * (attrs.count + 1));
	for (size_t i = 0; i < attrs.count; i++)
		entry->attrs[i] = attrs.v[i];
	array_free(&attrs);
	return entry;
}

static void conn_handle_message(struct db_ldap_conn *conn, LDAPMessage *msg, int type)
{
	int msgid = ldap_msgid(msg);
	struct db_ldap_request *req = conn_find(conn, msgid);
	int rc = LDAP_OTHER;
	char *diag = NULL;

	if (req == NULL) {
		/* an abandoned (timed out) request's late answer */
		return;
	}
	switch (type) {
	case LDAP_RES_SEARCH_ENTRY:
		if (req->reply.entry_count++ == 0)
			req->reply.entry = entry_copy(conn->ld, msg, req->pool);
		return;
	case LDAP_RES_SEARCH_REFERENCE:
		return;
	case LDAP_RES_SEARCH_RESULT:
		if (ldap_parse_result(conn->ld, msg, &rc, NULL, &diag, NULL, NULL, 0) !=
		    LDAP_SUCCESS)
			rc = ld_last_error(conn->ld);
		if (rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_OBJECT ||
		    (rc == LDAP_SIZELIMIT_EXCEEDED && req->reply.entry_count > 1)) {
			/* no such base: nobody there (user unknown) */
			req->reply.ret = 0;
		} else {
			req->reply.ret = -1;
			req->reply.error = pool_printf(req->pool,
				"ldap_search(base=%s, filter=%s) failed: %s%s%s%s",
				req->search_base, req->filter, ldap_err2string(rc),
				diag != NULL && *diag != '\0' ? " (" : "",
				diag != NULL ? diag : "",
				diag != NULL && *diag != '\0' ? ")" : "");
		}
		break;
	case LDAP_RES_BIND:
		if (ldap_parse_result(conn->ld, msg, &rc, NULL, &diag, NULL, NULL, 0) !=
		    LDAP_SUCCESS)
			rc = ld_last_error(conn->ld);
		req->reply.ret = 0;
		req->reply.bind_result = rc;
		if (rc != LDAP_SUCCESS)
			req->reply.error = pool_printf(req->pool, "%s%s%s%s",
				ldap_err2string(rc),
				diag != NULL && *diag != '\0' ? " (" : "",
				diag != NULL ? diag : "",
				diag != NULL && *diag != '\0' ? ")" : "");
		break;
	default:
		req->reply.ret = -1;
		req->reply.error = pool_printf(req->pool, "Unexpected LDAP reply type 0x%x", type);
		break;
	}
	if (diag != NULL)
		ldap_memfree(diag);
	request_finish(req);
	if (conn->bind_conn && conn->head != NULL)
		conn_kick(conn);
}

static void conn_input(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
		       void *context)
{
	struct db_ldap_conn *conn = context;

	while (conn->ld != NULL) {
		struct timeval zero = { 0, 0 };
		LDAPMessage *msg = NULL;
		int type = ldap_result(conn->ld, LDAP_RES_ANY, LDAP_MSG_ONE, &zero, &msg);
		if (type == 0)
			return;
		if (type < 0) {
			int rc = ld_last_error(conn->ld);
			char *error = ldap_error_text(conn->ld, rc);
			conn_lost(conn, error);
			free(error);
			return;
		}
		if (ldap_msgid(msg) == 0 || type == LDAP_RES_EXTENDED) {
			/* RFC 4511 4.4.1: notice of disconnection */
			ldap_msgfree(msg);
			conn_lost(conn, "the server closed the connection (notice of disconnection)");
			return;
		}
		conn_handle_message(conn, msg, type);
		ldap_msgfree(msg);
	}
}

static void request_timeout_cb(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
			       void *context)
{
	struct db_ldap_request *req = context;
	struct db_ldap_conn *conn = req->conn;
	char *msg = x_printf("LDAP %s: %s timed out after %u secs (server %s)",
			     conn->db->config_path, req->bind ? "bind" : "search",
			     conn->db->request_timeout_secs,
			     conn->uri != NULL && conn->ld != NULL ? conn->uri : "not connected");
	bool was_sent = req->msgid != -1;

	if (was_sent && conn->ld != NULL)
		(void)ldap_abandon_ext(conn->ld, req->msgid, NULL, NULL);
	request_fail(req, msg);
	free(msg);
	if (was_sent && conn->bind_conn) {
		/* an abandoned bind leaves the connection's state unknown */
		conn_close(conn);
		if (conn->head != NULL)
			conn_kick(conn);
	}
}

static void conn_init(struct db_ldap *db, struct db_ldap_conn *conn, const char *name,
		      bool bind_conn)
{
	conn->db = db;
	conn->name = name;
	conn->bind_conn = bind_conn;
}

static void conn_set_base(struct db_ldap_conn *conn, struct event_base *base)
{
	if (conn->base != NULL)
		return;
	conn->base = base;
	conn->kick_event = event_new(base, -1, 0, conn_kick_cb, conn);
}

static void conn_deinit(struct db_ldap_conn *conn)
{
	conn_fail_requests(conn, false, "LDAP: Shutting down");
	conn_close(conn);
	if (conn->kick_event != NULL)
		event_free(conn->kick_event);
	conn->kick_event = NULL;
	free(conn->last_error);
	conn->last_error = NULL;
}

static void db_ldap_submit(struct db_ldap_conn *conn, struct event_base *base,
			   struct db_ldap_request *req)
{
	struct timeval tv = { .tv_sec = conn->db->request_timeout_secs };

	conn_set_base(conn, base);
	req->conn = conn;
	req->msgid = -1;
	req->pool = pool_create_secure("ldap reply", 1024);
	req->timeout_event = evtimer_new(base, request_timeout_cb, req);
	evtimer_add(req->timeout_event, &tv);
	req->prev = conn->tail;
	if (conn->tail != NULL)
		conn->tail->next = req;
	else
		conn->head = req;
	conn->tail = req;
	conn_kick(conn);
}

void db_ldap_search(struct db_ldap *db, struct event_base *base,
		    const char *search_base, const char *filter, char **attrs,
		    db_ldap_callback_t *callback, void *context)
{
	struct db_ldap_request *req = x_malloc(sizeof(*req));

	req->search_base = x_strdup(search_base);
	req->filter = x_strdup(filter);
	req->attrs = attrs;
	req->callback = callback;
	req->context = context;
	db_ldap_submit(&db->conn, base, req);
}

void db_ldap_bind(struct db_ldap *db, struct event_base *base,
		  const char *dn, const char *password,
		  db_ldap_callback_t *callback, void *context)
{
	struct db_ldap_request *req = x_malloc(sizeof(*req));

	req->bind = true;
	req->dn = x_strdup(dn);
	req->password = x_strdup(password);
	req->callback = callback;
	req->context = context;
	db_ldap_submit(&db->bind_conn, base, req);
}

int db_ldap_search_sync(struct db_ldap *db, struct pool *pool,
			const char *search_base, const char *filter, char **attrs,
			void (*entry_callback)(struct db_ldap_entry *entry,
					       void *context),
			void *context, const char **error_r)
{
	LDAP *ld;
	const char *uri;
	char *error = NULL;
	struct berval *cookie = NULL;
	int ret = 0;

	if (ld_open_any(db, true, &ld, &uri, &error) < 0) {
		*error_r = pool_printf(pool, "Can't connect to server: %s", error);
		free(error);
		return -1;
	}
	do {
		LDAPControl *page = NULL, **reply_controls = NULL;
		LDAPMessage *res = NULL;
		struct timeval tv = { .tv_sec = db->request_timeout_secs };
		int rc = ldap_create_page_control(ld, DB_LDAP_PAGE_SIZE, cookie, 0, &page);
		if (rc != LDAP_SUCCESS) {
			*error_r = pool_printf(pool, "%s: ldap_create_page_control() failed: %s",
					       uri, ldap_err2string(rc));
			ret = -1;
			break;
		}
		LDAPControl *controls[] = { page, NULL };
		rc = ldap_search_ext_s(ld, *search_base == '\0' ? NULL : search_base,
				       db->set.scope_value, filter, attrs, 0, controls,
				       NULL, &tv, LDAP_NO_LIMIT, &res);
		ldap_control_free(page);
		if (cookie != NULL) {
			ber_bvfree(cookie);
			cookie = NULL;
		}
		if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT) {
			error = ldap_error_text(ld, rc);
			*error_r = pool_printf(pool, "%s: ldap_search(base=%s, filter=%s) "
					       "failed: %s", uri, search_base, filter, error);
			free(error);
			if (res != NULL)
				ldap_msgfree(res);
			ret = -1;
			break;
		}
		for (LDAPMessage *msg = ldap_first_entry(ld, res); msg != NULL;
		     msg = ldap_next_entry(ld, msg)) {
			struct pool *entry_pool = pool_create("ldap iterate entry", 512);
			struct db_ldap_entry *entry = entry_copy(ld, msg, entry_pool);
			entry_callback(entry, context);
			pool_destroy(&entry_pool);
		}
		/* RFC 2696: an empty cookie ends the search */
		int errcode = 0;
		if (res != NULL &&
		    ldap_parse_result(ld, res, &errcode, NULL, NULL, NULL, &reply_controls, 0) ==
		    LDAP_SUCCESS && reply_controls != NULL) {
			LDAPControl *ctrl = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS,
							      reply_controls, NULL);
			struct berval new_cookie = { 0, NULL };
			ber_int_t estimate = 0;
			if (ctrl != NULL &&
			    ldap_parse_pageresponse_control(ld, ctrl, &estimate, &new_cookie) ==
			    LDAP_SUCCESS && new_cookie.bv_len > 0)
				cookie = ber_bvdup(&new_cookie);
			if (new_cookie.bv_val != NULL)
				ldap_memfree(new_cookie.bv_val);
			ldap_controls_free(reply_controls);
		}
		if (res != NULL)
			ldap_msgfree(res);
	} while (cookie != NULL);
	if (cookie != NULL)
		ber_bvfree(cookie);
	ldap_unbind_ext(ld, NULL, NULL);
	return ret;
}

/* ---- db registry ------------------------------------------------------- */

static int ldaprc_check(const struct db_ldap_settings *set, const char **error_r)
{
	if (*set->ldaprc_path == '\0')
		return 0;
	const char *current = getenv("LDAPRC");
	if (current != NULL && !str_eq(current, set->ldaprc_path)) {
		*error_r = "Multiple different ldaprc_path settings not allowed";
		return -1;
	}
	/* libldap reads it at its first initialization */
	setenv("LDAPRC", set->ldaprc_path, 1);
	return 0;
}

int db_ldap_init(struct pool *pool, const char *config_path,
		 struct db_ldap **db_r, const char **error_r)
{
	struct db_ldap *db;
	const char *error;

	while (*config_path == ' ' || *config_path == '\t')
		config_path++;
	if (*config_path == '\0') {
		*error_r = "LDAP: Configuration file path not given (args = /path/dovecot-ldap.conf.ext)";
		return -1;
	}
	for (db = db_ldap_list; db != NULL; db = db->next) {
		if (str_eq(db->config_path, config_path)) {
			db->refcount++;
			*db_r = db;
			return 0;
		}
	}
	struct pool *db_pool = pool_create_secure("ldap db", 4096);
	db = pool_alloc(db_pool, sizeof(*db));
	db->pool = db_pool;
	db->refcount = 1;
	db->config_path = pool_strdup(db_pool, config_path);
	if (db_ldap_settings_read(db_pool, config_path, &db->set, &error) < 0 ||
	    ldaprc_check(&db->set, &error) < 0) {
		*error_r = pool_strdup(pool, error);
		pool_destroy(&db_pool);
		return -1;
	}
	/* ldaprc TIMEOUT is the request timeout too */
	struct timeval *tv = NULL;
	db->request_timeout_secs = DB_LDAP_REQUEST_TIMEOUT_SECS;
	if (ldap_get_option(NULL, LDAP_OPT_TIMEOUT, &tv) == LDAP_OPT_SUCCESS && tv != NULL) {
		if (tv->tv_sec > 0)
			db->request_timeout_secs = (unsigned int)tv->tv_sec;
		ldap_memfree(tv);
	}
	conn_init(db, &db->conn, "main", false);
	conn_init(db, &db->bind_conn, "bind", true);
	db->next = db_ldap_list;
	db_ldap_list = db;
	*db_r = db;
	return 0;
}

void db_ldap_unref(struct db_ldap **_db)
{
	struct db_ldap *db = *_db;

	if (db == NULL)
		return;
	*_db = NULL;
	if (--db->refcount > 0)
		return;
	for (struct db_ldap **p = &db_ldap_list; *p != NULL; p = &(*p)->next) {
		if (*p == db) {
			*p = db->next;
			break;
		}
	}
	conn_deinit(&db->conn);
	conn_deinit(&db->bind_conn);
	struct pool *pool = db->pool;
	pool_destroy(&pool);
}

#else /* !HAVE_LDAP: the drivers register as "not compiled in" */

struct db_ldap { int refcount; struct db_ldap_settings set; const char *config_path; };

int db_ldap_init(struct pool *pool ATTR_UNUSED, const char *config_path ATTR_UNUSED,
		 struct db_ldap **db_r ATTR_UNUSED, const char **error_r)
{
	*error_r = "LDAP support not compiled in";
	return -1;
}

void db_ldap_unref(struct db_ldap **db)
{
	*db = NULL;
}

void db_ldap_search(struct db_ldap *db ATTR_UNUSED, struct event_base *base ATTR_UNUSED,
		    const char *search_base ATTR_UNUSED, const char *filter ATTR_UNUSED,
		    char **attrs ATTR_UNUSED, db_ldap_callback_t *callback ATTR_UNUSED,
		    void *context ATTR_UNUSED)
{
	lib_panic(__FILE__, __LINE__, "LDAP support not compiled in");
}

void db_ldap_bind(struct db_ldap *db ATTR_UNUSED, struct event_base *base ATTR_UNUSED,
		  const char *dn ATTR_UNUSED, const char *password ATTR_UNUSED,
		  db_ldap_callback_t *callback ATTR_UNUSED, void *context ATTR_UNUSED)
{
	lib_panic(__FILE__, __LINE__, "LDAP support not compiled in");
}

int db_ldap_search_sync(struct db_ldap *db ATTR_UNUSED, struct pool *pool ATTR_UNUSED,
			const char *search_base ATTR_UNUSED, const char *filter ATTR_UNUSED,
			char **attrs ATTR_UNUSED,
			void (*entry_callback)(struct db_ldap_entry *entry,
					       void *context) ATTR_UNUSED,
			void *context ATTR_UNUSED, const char **error_r)
{
	*error_r = "LDAP support not compiled in";
	return -1;
}

#endif

const struct db_ldap_settings *db_ldap_get_settings(const struct db_ldap *db)
{
	return &db->set;
}

const char *db_ldap_get_config_path(const struct db_ldap *db)
{
	return db->config_path;
}
