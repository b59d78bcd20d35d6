/* The client side of roost-auth: MTAs (Postfix, Exim), login processes
   and other SASL consumers. Byte-compatible with Dovecot 2.3's auth
   client protocol 1.2 (see ../shared/spec/auth-client-protocol.md). */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "hash.h"
#include "base64.h"
#include "randbytes.h"
#include "ct.h"
#include "connection.h"
#include "auth-settings.h"
#include "sasl-mech.h"
#include "auth.h"
#include "auth-fields.h"
#include "auth-request.h"
#include "auth-penalty.h"
#include "auth-client-connection.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <event2/event.h>

/* spec §1: GSSAPI tokens make long lines; Dovecot's limit */
#define AUTH_CLIENT_MAX_LINE_LENGTH 16384
/* spec §4.3: abort requests not finished within 150 s */
#define AUTH_REQUEST_TIMEOUT_MSECS (150 * 1000)
/* Unclaimed login requests are dropped after the same time. */
#define AUTH_CLIENT_HOUSEKEEPING_MSECS 500
/* Bounds on requests in flight: per connection, and for the process.
   A connection over its bound stops being read until replies catch up,
   so a flood of pipelined requests costs memory in the socket buffers,
   not here. */
#define AUTH_CLIENT_MAX_REQUESTS_PER_CONN 1024
#define AUTH_MAX_REQUESTS_IN_FLIGHT 16384

struct auth_client_connection {
	struct auth_client_connection *prev, *next;
	int refcount;
	struct auth *auth;
	struct connection *conn;
	struct hash_table *requests;    /* id -> struct auth_request */
	unsigned int cuid;
	unsigned char cookie[16];
	char cookie_hex[33];
	pid_t pid;
	unsigned int minor;
	bool login;
	bool version_received;
	bool handshake_done;
	bool destroyed;
	bool paused_by_limit;
	struct log_ctx log;
	char log_prefix[64];
};

struct delayed_failure {
	struct delayed_failure *next;
	struct auth_client_connection *client;
	uint64_t send_at_msecs;
	char *line;
};

static struct {
	struct auth *auth;
	struct auth_client_connection *connections;
	unsigned int count;
	unsigned int cuid_counter;
	unsigned int in_flight;
	struct hash_table *login_by_pid;
	struct delayed_failure *delayed_head, *delayed_tail;
	struct event *timer;
} clients;

static void auth_client_connection_destroy(struct auth_client_connection *client,
					   const char *reason);

static void client_unref(struct auth_client_connection *client)
{
	i_assert(client->refcount > 0);
	if (--client->refcount > 0)
		return;
	hash_table_destroy(&client->requests);
	free(client);
}

static void client_send(struct auth_client_connection *client, const char *line,
			size_t len)
{
	if (client->destroyed)
		return;
	connection_send(client->conn, line, len);
}

/* ---- request bookkeeping ---------------------------------------------- */

static void resume_paused_connections(void)
{
	if (clients.in_flight > AUTH_MAX_REQUESTS_IN_FLIGHT * 9 / 10)
		return;
	for (struct auth_client_connection *c = clients.connections; c != NULL; c = c->next) {
		if (c->paused_by_limit &&
		    hash_table_count(c->requests) < AUTH_CLIENT_MAX_REQUESTS_PER_CONN) {
			c->paused_by_limit = false;
			connection_input_resume(c->conn);
		}
	}
}

/* Forget the request on its connection (it may live on elsewhere). */
static void client_remove_request(struct auth_client_connection *client,
				  struct auth_request *request)
{
	if (hash_table_lookup_uint(client->requests, request->id) != request)
		return;
	hash_table_remove_uint(client->requests, request->id);
	/* a passdb or worker may still hold the request: its late reply
	   must not reach this connection */
	request->handler_context = NULL;
	i_assert(clients.in_flight > 0);
	clients.in_flight--;
	auth_request_unref(&request);
	if (client->paused_by_limit || clients.in_flight < AUTH_MAX_REQUESTS_IN_FLIGHT)
		resume_paused_connections();
}

/* ---- per-IP penalty (spec/auth-cache.md §2) ---------------------------- */

/* An AUTH whose mechanism starts once its IP's penalty has passed. The
   request stays in its connection's table meanwhile, so CANCEL and a
   disconnect drop it as usual. */
struct penalty_delayed {
	struct penalty_delayed *next;
	struct auth_client_connection *client;
	struct auth_request *request;
	uint64_t start_at_msecs;
	bool has_initial;
	string_t *initial;      /* secure: may hold a password */
};

static struct {
	struct auth_penalty *table;     /* NULL: penalty disabled */
	struct penalty_delayed *delayed;
} penalty;

static bool request_penalty_applies(const struct auth_request *request)
{
	return penalty.table != NULL && request->remote_ip != NULL &&
		!request->no_penalty;
}

static void penalty_request_failure(struct auth_request *request)
{
	/* spec §2: nodelay failures do not raise the penalty either */
	if (!request_penalty_applies(request) || request->no_failure_delay)
		return;
	auth_penalty_failure(penalty.table, request->remote_ip,
			     auth_penalty_checksum(request->user, request->mech_password));
}

static void penalty_request_success(struct auth_request *request)
{
	if (request_penalty_applies(request))
		auth_penalty_success(penalty.table, request->remote_ip);
}

/* Returns true if the mechanism's start was postponed (the initial
   response is copied). */
static bool penalty_delay_start(struct auth_client_connection *client,
				struct auth_request *request, bool has_initial,
				const unsigned char *data, size_t size)
{
	if (!request_penalty_applies(request))
		return false;
	unsigned int level = auth_penalty_lookup(penalty.table, request->remote_ip);
	if (level == 0)
		return false;
	unsigned int secs = auth_penalty_to_secs(level);
	auth_request_log_debug(request, "Penalty: delaying the start by %u secs "
			       "(level %u)", secs, level);

	struct penalty_delayed *d = x_malloc(sizeof(*d));
	d->client = client;
	client->refcount++;
	auth_request_ref(request);
	d->request = request;
	d->start_at_msecs = auth_penalty_now_msecs(penalty.table) + secs * 1000ULL;
	d->has_initial = has_initial;
	d->initial = str_create_secure(size + 1);
	str_append_n(d->initial, data, size);
	d->next = penalty.delayed;
	penalty.delayed = d;
	return true;
}

static void penalty_delayed_free(struct penalty_delayed *d)
{
	str_free(&d->initial);
	auth_request_unref(&d->request);
	client_unref(d->client);
	free(d);
}

/* Start the delayed requests that are due (all = drop every one unstarted). */
static void penalty_run_delayed(bool drop_all)
{
	uint64_t now = drop_all ? 0 : auth_penalty_now_msecs(penalty.table);
	struct penalty_delayed **p = &penalty.delayed;

	while (*p != NULL) {
		struct penalty_delayed *d = *p;
		if (!drop_all && d->start_at_msecs > now) {
			p = &d->next;
			continue;
		}
		*p = d->next;
		if (!drop_all && !d->client->destroyed &&
		    hash_table_lookup_uint(d->client->requests, d->request->id) == d->request)
			auth_request_initial(d->request, d->has_initial,
					     str_data(d->initial), str_len(d->initial));
		penalty_delayed_free(d);
	}
	if (!drop_all)
		auth_penalty_expire(penalty.table);
}

struct auth_penalty *auth_client_connections_penalty(void)
{
	return penalty.table;
}

/* ---- replies ---------------------------------------------------------- */

static void reply_continue(struct auth_request *request,
			   const unsigned char *data, size_t size)
{
	struct auth_client_connection *client = request->handler_context;

	if (client == NULL)
		return;
	string_t *str = str_create(64 + size * 2);

	str_append(str, "CONT\t");
	str_append_uint(str, request->id);
	str_append_c(str, '\t');
	base64_encode(str, data, size);
	str_append_c(str, '\n');
	client_send(client, str_c(str), str_len(str));
	str_free(&str);
}

/* Fields never sent to clients: internal to roost-auth. */
static bool field_is_internal(const char *key)
{
	static const char *const internal[] = {
		"nopassword", "nodelay", "noauthenticate", "allow_nets",
		"allow_real_nets", "code", "password", "password_noscheme",
		"user", "original_user", NULL
	};
	for (unsigned int i = 0; internal[i] != NULL; i++) {
		if (strcmp(key, internal[i]) == 0)
			return true;
	}
	return false;
}

static void append_field(string_t *str, const char *key, const char *value)
{
	str_append_c(str, '\t');
	str_append_tabescaped(str, key);
	if (value != NULL) {
		str_append_c(str, '=');
		str_append_tabescaped(str, value);
	}
}

static void reply_success(struct auth_request *request,
			  const unsigned char *data, size_t size)
{
	struct auth_client_connection *client = request->handler_context;

	if (client == NULL)
		return;
	penalty_request_success(request);
	if (size > 0 && !request->final_resp_ok) {
		/* spec §4.1: the final server data (rspauth=, v=) goes in a
		   CONT; the client answers with an empty CONT, then OK */
		reply_continue(request, data, size);
		request->final_ack_pending = true;
		request->state = AUTH_REQUEST_STATE_MECH_CONTINUE;
		return;
	}
	string_t *str = str_create(128);

	str_append(str, "OK\t");
	str_append_uint(str, request->id);
	str_append(str, "\tuser=");
	str_append_tabescaped(str, request->user);
	if (request->original_username != NULL &&
	    strcmp(request->original_username, request->user) != 0)
		append_field(str, "original_user", request->original_username);
	const struct auth_field *field;
	array_foreach(&request->extra_fields->fields, field) {
		if (field_is_internal(field->key))
			continue;
		/* spec §8 / auth-cache.md §5: proxy fields reach every client,
		   but the password (pass=) only login processes */
		if (!client->login && strcmp(field->key, "pass") == 0)
			continue;
		append_field(str, field->key, field->value);
	}
	/* as Dovecot 2.3: any login as the anonymous user (ANONYMOUS or
	   another mechanism) is flagged */
	const char *anonymous_user = client->auth->set->auth_anonymous_username;
	if (anonymous_user != NULL && anonymous_user[0] != '\0' &&
	    strcmp(request->user, anonymous_user) == 0)
		str_append(str, "\tanonymous");
	if (size > 0) {
		i_assert(request->final_resp_ok);
		str_append(str, "\tresp=");
		base64_encode(str, data, size);
	}
	str_append_c(str, '\n');
	client_send(client, str_c(str), str_len(str));
	str_free(&str);

	if (client->login) {
		/* keep it for the master's REQUEST (timed out by housekeeping) */
		request->create_msecs = auth_now_msecs();
		return;
	}
	client_remove_request(client, request);
}

static void queue_failure(struct auth_client_connection *client, char *line,
			  bool delay)
{
	uint64_t delay_msecs = delay ? client->auth->failure_delay_msecs : 0;

	if (delay_msecs == 0) {
		client_send(client, line, strlen(line));
		free(line);
		return;
	}
	struct delayed_failure *df = x_malloc(sizeof(*df));
	df->client = client;
	client->refcount++;
	df->line = line;
	df->send_at_msecs = auth_now_msecs() + delay_msecs;
	if (clients.delayed_tail == NULL)
		clients.delayed_head = df;
	else
		clients.delayed_tail->next = df;
	clients.delayed_tail = df;
}

static void reply_fail_common(struct auth_request *request, const char *code,
			      const char *reason, bool delay)
{
	struct auth_client_connection *client = request->handler_context;

	if (client == NULL)
		return;
	string_t *str = str_create(128);

	str_append(str, "FAIL\t");
	str_append_uint(str, request->id);
	if (request->user != NULL || request->original_username != NULL) {
		str_append(str, "\tuser=");
		str_append_tabescaped(str, request->user != NULL ? request->user :
				      request->original_username);
	}
	const char *field_code = auth_fields_get(request->extra_fields, "code");
	if (code == NULL)
		code = field_code;
	if (code != NULL)
		append_field(str, "code", code);
	const char *field_reason = auth_fields_get(request->extra_fields, "reason");
	if (field_reason != NULL)
		reason = field_reason;
	if (reason != NULL)
		append_field(str, "reason", reason);
	if (request->no_failure_delay)
		str_append(str, "\tnodelay");
	str_append_c(str, '\n');
	client_remove_request(client, request);
	queue_failure(client, str_free_without_data(&str), delay && !request->no_failure_delay);
}

static void reply_failure(struct auth_request *request)
{
	penalty_request_failure(request);
	reply_fail_common(request, NULL, NULL, true);
}

static void reply_internal_failure(struct auth_request *request)
{
	reply_fail_common(request, "temp_fail",
			  "Temporary authentication failure, try again later", false);
}

static const struct auth_request_handler client_request_handler = {
	.reply_continue = reply_continue,
	.reply_success = reply_success,
	.reply_failure = reply_failure,
	.reply_internal_failure = reply_internal_failure,
};

/* FAIL for a request that never became a request object. */
static void send_fail_id(struct auth_client_connection *client, uint32_t id,
			 const char *fields)
{
	char buf[256];
	int len = snprintf(buf, sizeof(buf), "FAIL\t%u%s%s\n", id,
			   fields != NULL ? "\t" : "", fields != NULL ? fields : "");
	client_send(client, buf, (size_t)len);
}

/* ---- input ------------------------------------------------------------ */

static bool is_local_ip(const char *rip, const char *lip)
{
	/* MTAs and login processes always send rip=; a request without it
	   comes from a local tool on the socket (doveadm/roostadm auth test) */
	if (rip == NULL)
		return true;
	if (lip != NULL && strcmp(rip, lip) == 0)
		return true;
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, rip, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, rip, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
			(IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return false;
}

/* Returns -1 if the connection must be closed (error logged). */
static int client_handle_auth(struct auth_client_connection *client, char **args,
			      unsigned int count)
{
	uint32_t id;
	const struct sasl_mech *mech;

	/* AUTH id mech [params] */
	if (count < 3 || str_to_uint32(args[1], &id) < 0 || id == 0) {
		ctx_error(&client->log, "BUG: Authentication client sent broken AUTH request");
		return -1;
	}
	if (hash_table_lookup_uint(client->requests, id) != NULL) {
		ctx_error(&client->log, "BUG: Authentication client sent a duplicate ID %u", id);
		return -1;
	}
	/* protocol NAME { } blocks: the service picks the passdbs and
	   userdbs; the mechanisms are the global ones (the handshake's), as
	   in Dovecot 2.3's auth server, where a protocol's auth_mechanisms
	   only matters to that protocol's login process */
	struct auth *auth = client->auth;
	for (unsigned int i = 3; i < count && auth->services.count > 0; i++) {
		const char *value;
		if (str_begins(args[i], "service=", &value)) {
			auth = auth_find_service(client->auth, value);
			break;
		}
	}
	mech = auth_find_mech(client->auth, args[2]);
	if (mech == NULL) {
		/* Dovecot closes the connection here (spec §3.1) */
		ctx_error(&client->log, "BUG: Authentication client requested "
			  "unsupported mechanism %.64s", args[2]);
		return -1;
	}

	struct auth_request *request =
		auth_request_new(auth, mech, &client_request_handler, client);
	request->id = id;
	request->client_pid = client->pid;
	const char *resp = NULL;
	bool has_resp = false;
	for (unsigned int i = 3; i < count; i++) {
		char *arg = args[i];
		if (has_resp) {
			ctx_error(&client->log, "BUG: Authentication client sent "
				  "AUTH parameters after 'resp'");
			auth_request_unref(&request);
			return -1;
		}
		char *eq = strchr(arg, '=');
		if (eq == NULL) {
			(void)auth_request_import_param(request, str_tabunescape(arg), NULL);
			continue;
		}
		*eq = '\0';
		if (strcmp(arg, "resp") == 0) {
			has_resp = true;
			resp = eq + 1;
			continue;
		}
		(void)auth_request_import_param(request, arg, str_tabunescape(eq + 1));
	}
	if (request->service == NULL) {
		ctx_error(&client->log, "BUG: Authentication client didn't specify service");
		auth_request_unref(&request);
		return -1;
	}
	auth_request_update_log_prefix(request);

	hash_table_insert_uint(client->requests, id, request);
	clients.in_flight++;
	if (hash_table_count(client->requests) >= AUTH_CLIENT_MAX_REQUESTS_PER_CONN ||
	    clients.in_flight >= AUTH_MAX_REQUESTS_IN_FLIGHT) {
		client->paused_by_limit = true;
		connection_input_pause(client->conn);
	}

	const struct auth_settings *set = request->auth->set;
	if (set->auth_ssl_require_client_cert && !request->valid_client_cert) {
		reply_fail_common(request, NULL, "Client didn't present valid SSL certificate", false);
		return 0;
	}
	if ((mech->flags & SASL_MECH_SEC_PLAINTEXT) != 0 && set->disable_plaintext_auth &&
	    !request->secured && !is_local_ip(request->remote_ip, request->local_ip)) {
		auth_request_log_info(request, "Plaintext authentication disallowed on "
				      "non-secure connection (disable_plaintext_auth=yes, "
				      "client did not send 'secured')");
		reply_fail_common(request, NULL, "Plaintext authentication disallowed on "
				  "non-secure (SSL/TLS) connections.", false);
		return 0;
	}

	/* spec §2.2: with minor < 2 an empty resp= means "no response" */
	bool has_initial = has_resp && (*resp != '\0' || client->minor >= 2);
	string_t *data = str_create_secure(64);
	if (has_initial && strcmp(resp, "=") != 0 &&
	    base64_decode(data, resp, strlen(resp)) < 0) {
		str_free(&data);
		reply_fail_common(request, "invalid_base64",
				  "Invalid base64 data in initial response", false);
		return 0;
	}
	if ((mech->flags & SASL_MECH_ALLOW_NULS) == 0 &&
	    memchr(str_data(data), '\0', str_len(data)) != NULL) {
		str_free(&data);
		auth_request_log_info(request, "Unexpected NUL in initial response");
		reply_fail_common(request, NULL, NULL, false);
		return 0;
	}
	if (penalty_delay_start(client, request, has_initial, str_data(data), str_len(data))) {
		str_free(&data);
		return 0;
	}
	auth_request_ref(request);
	auth_request_initial(request, has_initial, str_data(data), str_len(data));
	auth_request_unref(&request);
	str_free(&data);
	return 0;
}

static int client_handle_cont(struct auth_client_connection *client, char **args,
			      unsigned int count)
{
	uint32_t id;

	if (count < 3 || str_to_uint32(args[1], &id) < 0 || id == 0) {
		ctx_error(&client->log, "BUG: Authentication client sent broken CONT request");
		return -1;
	}
	struct auth_request *request = hash_table_lookup_uint(client->requests, id);
	if (request == NULL) {
		send_fail_id(client, id, "reason=Authentication request timed out");
		return 0;
	}
	if (request->state != AUTH_REQUEST_STATE_MECH_CONTINUE) {
		reply_fail_common(request, NULL, "Unexpected continuation", false);
		return 0;
	}
	if (request->final_ack_pending) {
		/* the client saw the final server data: now the OK */
		request->final_ack_pending = false;
		request->state = AUTH_REQUEST_STATE_FINISHED;
		reply_success(request, NULL, 0);
		return 0;
	}
	string_t *data = str_create_secure(64);
	if (base64_decode(data, args[2], strlen(args[2])) < 0) {
		str_free(&data);
		reply_fail_common(request, "invalid_base64",
				  "Invalid base64 data in continued response", false);
		return 0;
	}
	if ((request->mech->flags & SASL_MECH_ALLOW_NULS) == 0 &&
	    memchr(str_data(data), '\0', str_len(data)) != NULL) {
		str_free(&data);
		auth_request_log_info(request, "Unexpected NUL in continued response");
		reply_fail_common(request, NULL, NULL, false);
		return 0;
	}
	auth_request_ref(request);
	auth_request_continue(request, str_data(data), str_len(data));
	auth_request_unref(&request);
	str_free(&data);
	return 0;
}

static int client_handle_cancel(struct auth_client_connection *client, char **args,
				unsigned int count)
{
	uint32_t id;

	if (count < 2 || str_to_uint32(args[1], &id) < 0) {
		ctx_error(&client->log, "BUG: Authentication client sent broken CANCEL");
		return -1;
	}
	struct auth_request *request = hash_table_lookup_uint(client->requests, id);
	if (request != NULL) {
		/* the request may still be in a passdb/worker: it finishes
		   there and its reply is dropped (handler_context NULL) */
		client_remove_request(client, request);
	}
	return 0;
}

static int client_handshake_line(struct auth_client_connection *client,
				 char **args, unsigned int count)
{
	if (!client->version_received) {
		unsigned int major;
		if (count != 3 || strcmp(args[0], "VERSION") != 0 ||
		    str_to_uint(args[1], &major) < 0 ||
		    str_to_uint(args[2], &client->minor) < 0) {
			ctx_error(&client->log, "Authentication client didn't send a "
				  "valid VERSION line first");
			return -1;
		}
		if (major != 1) {
			ctx_error(&client->log, "Authentication client is using an "
				  "incompatible protocol version %u (server: 1)", major);
			return -1;
		}
		client->version_received = true;
		return 0;
	}
	unsigned int pid;
	if (count != 2 || strcmp(args[0], "CPID") != 0 ||
	    str_to_uint(args[1], &pid) < 0 || pid == 0) {
		ctx_error(&client->log, "BUG: Authentication client sent invalid "
			  "handshake line (expected CPID)");
		return -1;
	}
	if (client->login) {
		if (hash_table_lookup_uint(clients.login_by_pid, pid) != NULL) {
			ctx_error(&client->log, "BUG: Authentication client gave a PID "
				  "%u of an existing connection", pid);
			return -1;
		}
		hash_table_insert_uint(clients.login_by_pid, pid, client);
	}
	client->pid = (pid_t)pid;
	client->handshake_done = true;
	snprintf(client->log_prefix, sizeof(client->log_prefix),
		 "client(cuid=%u pid=%u)", client->cuid, pid);
	return 0;
}

static int client_input_line(struct connection *conn, char *line, size_t len)
{
	struct auth_client_connection *client = connection_get_context(conn);
	char *args[64];
	unsigned int count = 0;
	int ret;

	(void)len;
	/* split at TABs (at most N_ELEMENTS(args); the rest stays in the last) */
	args[count++] = line;
	for (char *p = line; *p != '\0' && count < N_ELEMENTS(args); p++) {
		if (*p == '\t') {
			*p = '\0';
			args[count++] = p + 1;
		}
	}
	if (!client->handshake_done)
		ret = client_handshake_line(client, args, count);
	else if (strcmp(args[0], "AUTH") == 0)
		ret = client_handle_auth(client, args, count);
	else if (strcmp(args[0], "CONT") == 0)
		ret = client_handle_cont(client, args, count);
	else if (strcmp(args[0], "CANCEL") == 0)
		ret = client_handle_cancel(client, args, count);
	else {
		ctx_error(&client->log, "BUG: Authentication client sent unknown command: %.64s",
			  args[0]);
		ret = -1;
	}
	if (ret < 0) {
		auth_client_connection_destroy(client, NULL);
		return -1;
	}
	return 0;
}

static void client_input_error(struct connection *conn, enum connection_error error)
{
	struct auth_client_connection *client = connection_get_context(conn);

	if (error == CONNECTION_ERROR_LINE_TOO_LONG)
		ctx_error(&client->log, "BUG: Auth client sent us more than %d bytes",
			  AUTH_CLIENT_MAX_LINE_LENGTH);
	else
		ctx_error(&client->log, "BUG: Auth client sent a NUL byte in a line");
	auth_client_connection_destroy(client, NULL);
}

static void client_disconnected(struct connection *conn, int err)
{
	struct auth_client_connection *client = connection_get_context(conn);
	auth_client_connection_destroy(client, err == 0 ? NULL : strerror(err));
}

static const struct connection_vfuncs client_vfuncs = {
	.input_line = client_input_line,
	.input_error = client_input_error,
	.disconnected = client_disconnected,
};

struct auth_client_connection *
auth_client_connection_create(struct auth *auth, int fd, bool login)
{
	struct auth_client_connection *client = x_malloc(sizeof(*client));
	struct connection_settings set = {
		.max_line_length = AUTH_CLIENT_MAX_LINE_LENGTH,
	};

	client->refcount = 1;
	client->auth = auth;
	client->login = login;
	client->cuid = ++clients.cuid_counter;
	client->requests = hash_table_create_uint();
	random_bytes(client->cookie, sizeof(client->cookie));
	for (size_t i = 0; i < sizeof(client->cookie); i++)
		snprintf(client->cookie_hex + i * 2, 3, "%02x", client->cookie[i]);
	snprintf(client->log_prefix, sizeof(client->log_prefix),
		 "client(cuid=%u)", client->cuid);
	client->log.prefix = client->log_prefix;
	client->conn = connection_create(auth->base, fd, &set, &client_vfuncs, client);

	/* spec §2.1: send the whole handshake at once without waiting for
	   the client (Exim reads it before sending anything) */
	string_t *str = str_create(256);
	str_append(str, "VERSION\t1\t2\n");
	str_append(str, auth->mech_handshake);
	str_printfa(str, "SPID\t%ld\nCUID\t%u\nCOOKIE\t%s\nDONE\n",
		    (long)auth->pid, client->cuid, client->cookie_hex);
	connection_send(client->conn, str_c(str), str_len(str));
	str_free(&str);

	client->next = clients.connections;
	if (clients.connections != NULL)
		clients.connections->prev = client;
	clients.connections = client;
	clients.count++;
	return client;
}

static void auth_client_connection_destroy(struct auth_client_connection *client,
					   const char *reason)
{
	if (client->destroyed)
		return;
	client->destroyed = true;
	if (reason != NULL)
		ctx_debug(&client->log, "Disconnected: %s", reason);

	if (client->prev != NULL)
		client->prev->next = client->next;
	else
		clients.connections = client->next;
	if (client->next != NULL)
		client->next->prev = client->prev;
	clients.count--;
	if (client->login && client->pid != 0 &&
	    hash_table_lookup_uint(clients.login_by_pid, (uint32_t)client->pid) == client)
		hash_table_remove_uint(clients.login_by_pid, (uint32_t)client->pid);

	/* spec §4.3: outstanding requests are dropped; pending passdb work
	   finishes and its result is discarded */
	size_t iter = 0;
	void *value;
	ARRAY(struct auth_request *) list = ARRAY_INIT;
	while (hash_table_iterate(client->requests, &iter, NULL, NULL, &value))
		array_push(&list, value);
	for (size_t i = 0; i < list.count; i++)
		client_remove_request(client, list.v[i]);
	array_free(&list);

	connection_destroy(&client->conn);
	client_unref(client);
	resume_paused_connections();
}

struct auth_client_connection *auth_client_connection_lookup(pid_t pid)
{
	return hash_table_lookup_uint(clients.login_by_pid, (uint32_t)pid);
}

struct auth_request *
auth_client_connection_claim_request(struct auth_client_connection *client,
				     uint32_t id, const char *cookie_hex,
				     const char **error_r)
{
	if (strlen(cookie_hex) != 32 ||
	    !ct_memequal(cookie_hex, client->cookie_hex, 32)) {
		*error_r = "Invalid cookie";
		return NULL;
	}
	struct auth_request *request = hash_table_lookup_uint(client->requests, id);
	if (request == NULL) {
		*error_r = "Unknown or expired request";
		return NULL;
	}
	if (request->state != AUTH_REQUEST_STATE_FINISHED ||
	    request->result != AUTH_REQUEST_RESULT_SUCCESS) {
		*error_r = "Request not finished successfully";
		return NULL;
	}
	auth_request_ref(request);
	client_remove_request(client, request);
	request->handler = NULL;
	request->handler_context = NULL;
	return request;
}

/* ---- housekeeping ----------------------------------------------------- */

static void flush_delayed_failures(uint64_t now)
{
	while (clients.delayed_head != NULL &&
	       clients.delayed_head->send_at_msecs <= now) {
		struct delayed_failure *df = clients.delayed_head;
		clients.delayed_head = df->next;
		if (clients.delayed_head == NULL)
			clients.delayed_tail = NULL;
		client_send(df->client, df->line, strlen(df->line));
		free(df->line);
		client_unref(df->client);
		free(df);
	}
}

static void timeout_requests(uint64_t now)
{
	for (struct auth_client_connection *c = clients.connections; c != NULL;) {
		struct auth_client_connection *next = c->next;
		size_t iter = 0;
		void *value;
		ARRAY(struct auth_request *) expired = ARRAY_INIT;

		while (hash_table_iterate(c->requests, &iter, NULL, NULL, &value)) {
			struct auth_request *request = value;
			if (now - request->create_msecs >= AUTH_REQUEST_TIMEOUT_MSECS &&
			    (request->state == AUTH_REQUEST_STATE_MECH_CONTINUE ||
			     request->state == AUTH_REQUEST_STATE_FINISHED))
				array_push(&expired, request);
		}
		for (size_t i = 0; i < expired.count; i++) {
			auth_request_log_info(expired.v[i], "Request timed out after %u secs",
					      AUTH_REQUEST_TIMEOUT_MSECS / 1000);
			client_remove_request(c, expired.v[i]);
		}
		array_free(&expired);
		c = next;
	}
}

static void housekeeping_timer(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
			       void *context ATTR_UNUSED)
{
	static uint64_t last_timeout_check;
	uint64_t now = auth_now_msecs();

	flush_delayed_failures(now);
	if (penalty.table != NULL)
		penalty_run_delayed(false);
	if (now - last_timeout_check >= 5000) {
		last_timeout_check = now;
		timeout_requests(now);
	}
}

void auth_client_connections_init(struct auth *auth)
{
	struct timeval tv = { 0, AUTH_CLIENT_HOUSEKEEPING_MSECS * 1000 };

	clients.auth = auth;
	clients.login_by_pid = hash_table_create_uint();
	if (!auth_penalty_disabled_by_settings(auth->root_set))
		penalty.table = auth_penalty_create(AUTH_PENALTY_DEFAULT_MAX_ENTRIES,
						    auth_now_msecs);
	clients.timer = event_new(auth->base, -1, EV_PERSIST, housekeeping_timer, NULL);
	event_add(clients.timer, &tv);
}

void auth_client_connections_destroy_all(void)
{
	while (clients.connections != NULL)
		auth_client_connection_destroy(clients.connections, "shutting down");
}

void auth_client_connections_deinit(void)
{
	auth_client_connections_destroy_all();
	flush_delayed_failures(UINT64_MAX);
	penalty_run_delayed(true);
	auth_penalty_destroy(&penalty.table);
	if (clients.timer != NULL)
		event_free(clients.timer);
	hash_table_destroy(&clients.login_by_pid);
	memset(&clients, 0, sizeof(clients));
}

unsigned int auth_client_connections_count(void)
{
	return clients.count;
}
