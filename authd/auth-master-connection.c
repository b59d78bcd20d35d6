/* The master/userdb side of roost-auth: LMTP/LDA/doveadm lookups and the
   post-login REQUEST hand-over. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "connection.h"
#include "auth.h"
#include "auth-cache.h"
#include "auth-settings.h"
#include "userdb.h"
#include "sasl-mech.h"
#include "auth-fields.h"
#include "auth-request.h"
#include "auth-client-connection.h"
#include "auth-master-connection.h"

#include <stdio.h>
#include <stdlib.h>

/* spec §1: these sockets read at most 1024 bytes per line */
#define AUTH_MASTER_MAX_LINE_LENGTH 1024

struct auth_master_connection {
	struct auth_master_connection *prev, *next;
	int refcount;
	struct auth *auth;
	struct connection *conn;
	bool userdb_only;
	bool version_received;
	bool destroyed;
	struct log_ctx log;
	char log_prefix[64];
};

static struct auth_master_connection *master_connections;
static unsigned int master_counter;
static unsigned int master_connection_count;

static void master_destroy(struct auth_master_connection *master);

static void master_unref(struct auth_master_connection *master)
{
	if (--master->refcount == 0)
		free(master);
}

static void master_send(struct auth_master_connection *master, const char *line)
{
	if (!master->destroyed)
		connection_send_str(master->conn, line);
}

static void append_fields(string_t *str, const struct auth_fields *fields)
{
	const struct auth_field *field;
	array_foreach(&fields->fields, field) {
		str_append_c(str, '\t');
		str_append_tabescaped(str, field->key);
		if (field->value != NULL) {
			str_append_c(str, '=');
			str_append_tabescaped(str, field->value);
		}
	}
}

/* Requests from this connection keep a reference to it. */
static const struct auth_request_handler master_handler = { 0 };

static struct auth_request *
master_request_new(struct auth_master_connection *master, uint32_t id)
{
	struct auth_request *request =
		auth_request_new(master->auth, NULL, &master_handler, master);
	request->id = id;
	master->refcount++;
	return request;
}

static void master_request_done(struct auth_request *request)
{
	struct auth_master_connection *master = request->handler_context;
	auth_request_unref(&request);
	master_unref(master);
}

static bool parse_request_params(struct auth_master_connection *master,
				 struct auth_request *request, char **args)
{
	for (; *args != NULL; args++) {
		char *eq = strchr(*args, '=');
		if (eq == NULL) {
			(void)auth_request_import_param(request, str_tabunescape(*args), NULL);
			continue;
		}
		*eq = '\0';
		(void)auth_request_import_param(request, *args, str_tabunescape(eq + 1));
	}
	if (request->service == NULL) {
		ctx_error(&master->log, "BUG: Master sent a request without service=");
		return false;
	}
	/* protocol NAME { } blocks: that service's passdbs and userdbs */
	struct auth *service_auth = auth_find_service(master->auth, request->service);
	if (service_auth != request->auth) {
		request->auth = service_auth;
		request->debug = request->debug || service_auth->set->auth_debug;
		request->log.debug = request->debug;
	}
	auth_request_update_log_prefix(request);
	return true;
}

static void user_callback(struct auth_request *request, enum userdb_result result)
{
	struct auth_master_connection *master = request->handler_context;
	string_t *str = str_create(128);

	switch (result) {
	case USERDB_RESULT_OK:
		str_printfa(str, "USER\t%u\t", request->id);
		str_append_tabescaped(str, request->user);
		append_fields(str, request->userdb_fields);
		break;
	case USERDB_RESULT_USER_UNKNOWN:
		str_printfa(str, "NOTFOUND\t%u", request->id);
		break;
	case USERDB_RESULT_INTERNAL_FAILURE: {
		const char *reason = auth_fields_get(request->userdb_fields, "reason");
		str_printfa(str, "FAIL\t%u", request->id);
		if (reason != NULL) {
			str_append(str, "\treason=");
			str_append_tabescaped(str, reason);
		}
		break;
	}
	}
	str_append_c(str, '\n');
	master_send(master, str_c(str));
	str_free(&str);
	master_request_done(request);
}

/* USER/PASS id name [params]: parse and create the request. Returns -1
   to close the connection, 0 if the request was answered already (bad
   name: *request_r NULL), 1 with *request_r ready for the lookup. */
static int master_request_begin(struct auth_master_connection *master,
				const char *cmd, char **args, unsigned int count,
				struct auth_request **request_r)
{
	uint32_t id;
	const char *error;

	*request_r = NULL;
	if (count < 3 || str_to_uint32(args[1], &id) < 0) {
		ctx_error(&master->log, "BUG: Master sent broken %s", cmd);
		return -1;
	}
	struct auth_request *request = master_request_new(master, id);
	if (!parse_request_params(master, request, args + 3)) {
		master_request_done(request);
		return -1;
	}
	if (!auth_request_set_username(request, str_tabunescape(args[2]), &error)) {
		/* an invalid name can't exist: NOTFOUND (spec §3) */
		auth_request_log_info(request, "%s lookup: %s", cmd, error);
		char buf[64];
		snprintf(buf, sizeof(buf), "NOTFOUND\t%u\n", id);
		master_send(master, buf);
		master_request_done(request);
		return 0;
	}
	*request_r = request;
	return 1;
}

static int master_handle_user(struct auth_master_connection *master, char **args,
			      unsigned int count)
{
	struct auth_request *request;
	int ret = master_request_begin(master, "USER", args, count, &request);
	if (ret > 0)
		auth_request_lookup_user(request, user_callback);
	return ret < 0 ? -1 : 0;
}

static void pass_callback(struct auth_request *request, enum passdb_result result)
{
	struct auth_master_connection *master = request->handler_context;
	string_t *str = str_create(128);

	switch (result) {
	case PASSDB_RESULT_OK:
		str_printfa(str, "PASS\t%u\tuser=", request->id);
		str_append_tabescaped(str, request->user);
		append_fields(str, request->extra_fields);
		break;
	case PASSDB_RESULT_USER_UNKNOWN:
	case PASSDB_RESULT_USER_DISABLED:
	case PASSDB_RESULT_PASS_EXPIRED:
		str_printfa(str, "NOTFOUND\t%u", request->id);
		break;
	case PASSDB_RESULT_SCHEME_NOT_AVAILABLE:
		str_printfa(str, "FAIL\t%u\treason=Configured passdbs don't support "
			    "credentials lookups", request->id);
		break;
	default:
		str_printfa(str, "FAIL\t%u", request->id);
		break;
	}
	str_append_c(str, '\n');
	master_send(master, str_c(str));
	str_free(&str);
	master_request_done(request);
}

static int master_handle_pass(struct auth_master_connection *master, char **args,
			      unsigned int count)
{
	struct auth_request *request;
	int ret = master_request_begin(master, "PASS", args, count, &request);
	if (ret > 0)
		auth_request_lookup_passdb(request, pass_callback);
	return ret < 0 ? -1 : 0;
}

/* LIST runs the userdbs' iterations one after another. A driver calls
   the callback for each user and once with NULL at the end, now or later
   (SQL/LDAP drivers may answer from the event loop), so the context lives
   on the heap and holds a reference to the connection. */
struct list_ctx {
	struct auth_master_connection *master;
	uint32_t id;
	char *mask;
	size_t userdb_idx;
	bool any, failed;
	bool running;      /* inside a driver's iterate() call */
	bool finished;     /* the current driver sent its end */
};

static void list_next(struct list_ctx *ctx);

static void list_callback(const char *user, bool failed, void *context)
{
	struct list_ctx *ctx = context;
	if (user == NULL) {
		ctx->failed = ctx->failed || failed;
		ctx->finished = true;
		/* a synchronous driver returns to list_next's loop */
		if (!ctx->running)
			list_next(ctx);
		return;
	}
	string_t *str = str_create(64);
	str_printfa(str, "LIST\t%u\t", ctx->id);
	str_append_tabescaped(str, user);
	str_append_c(str, '\n');
	master_send(ctx->master, str_c(str));
	str_free(&str);
}

static void list_next(struct list_ctx *ctx)
{
	struct auth *auth = ctx->master->auth;

	while (ctx->userdb_idx < auth->userdbs.count) {
		struct userdb_module *module = auth->userdbs.v[ctx->userdb_idx++]->module;
		if (module->driver->iterate == NULL)
			continue;
		ctx->any = true;
		ctx->finished = false;
		ctx->running = true;
		module->driver->iterate(module, auth, ctx->mask, list_callback, ctx);
		ctx->running = false;
		if (!ctx->finished)
			return;   /* list_callback(NULL) continues later */
	}
	char buf[64];
	snprintf(buf, sizeof(buf), "DONE\t%u\t%s\n", ctx->id,
		 !ctx->any || ctx->failed ? "fail" : "");
	master_send(ctx->master, buf);
	master_unref(ctx->master);
	free(ctx->mask);
	free(ctx);
}

static int master_handle_list(struct auth_master_connection *master, char **args,
			      unsigned int count)
{
	uint32_t id;
	const char *mask = "*";

	if (count < 2 || str_to_uint32(args[1], &id) < 0) {
		ctx_error(&master->log, "BUG: Master sent broken LIST");
		return -1;
	}
	for (unsigned int i = 2; i < count; i++) {
		const char *value;
		if (str_begins(args[i], "user=", &value))
			mask = str_tabunescape(args[i] + 5);
	}
	struct list_ctx *ctx = x_malloc(sizeof(*ctx));
	memset(ctx, 0, sizeof(*ctx));
	ctx->master = master;
	ctx->id = id;
	ctx->mask = x_strdup(mask);
	master->refcount++;
	list_next(ctx);
	return 0;
}

static int master_handle_request(struct auth_master_connection *master, char **args,
				 unsigned int count)
{
	uint32_t id, client_pid, auth_id;
	const char *error;
	char buf[64];

	/* REQUEST id client-pid client-auth-id cookie [params] */
	if (count < 5 || str_to_uint32(args[1], &id) < 0 ||
	    str_to_uint32(args[2], &client_pid) < 0 ||
	    str_to_uint32(args[3], &auth_id) < 0) {
		ctx_error(&master->log, "BUG: Master sent broken REQUEST");
		return -1;
	}
	struct auth_client_connection *client = auth_client_connection_lookup((pid_t)client_pid);
	if (client == NULL) {
		ctx_error(&master->log, "Master requested auth for nonexistent client %u",
			  client_pid);
		snprintf(buf, sizeof(buf), "FAIL\t%u\n", id);
		master_send(master, buf);
		return 0;
	}
	struct auth_request *login_request =
		auth_client_connection_claim_request(client, auth_id, args[4], &error);
	if (login_request == NULL) {
		ctx_error(&master->log, "Master requested auth for client %u request %u: %s",
			  client_pid, auth_id, error);
		snprintf(buf, sizeof(buf), "FAIL\t%u\n", id);
		master_send(master, buf);
		return 0;
	}
	/* continue with the claimed request as a userdb lookup */
	login_request->id = id;
	login_request->handler = &master_handler;
	login_request->handler_context = master;
	master->refcount++;
	auth_fields_set(login_request->userdb_fields, "auth_mech",
			login_request->mech->name);
	if (login_request->master_user != NULL)
		auth_fields_set(login_request->userdb_fields, "master_user",
				login_request->master_user);
	auth_request_lookup_user(login_request, user_callback);
	return 0;
}

static int master_handle_cache_flush(struct auth_master_connection *master,
				     char **args, unsigned int count)
{
	uint32_t id;
	char buf[64];

	if (count < 2 || str_to_uint32(args[1], &id) < 0) {
		ctx_error(&master->log, "BUG: Master sent broken CACHE-FLUSH");
		return -1;
	}
	unsigned int flushed = 0;
	struct auth_cache *cache = master->auth->cache;
	if (count == 2) {
		flushed = auth_caches_flush(master->auth, NULL, 0);
	} else {
		/* the keys hold user names as the lookups saw them: after
		   realm, translation and auth_username_format */
		for (unsigned int i = 2; i < count; i++) {
			struct auth_request *request =
				auth_request_new(master->auth, NULL, &master_handler, master);
			const char *error;
			const char *names[2] = { args[i], NULL };
			unsigned int n = 1;
			if (auth_request_set_username(request, args[i], &error) &&
			    strcmp(request->user, args[i]) != 0)
				names[n++] = request->user;
			flushed += auth_caches_flush(master->auth, names, n);
			auth_request_unref(&request);
		}
	}
	ctx_info(&master->log, "auth cache: %u entries flushed%s", flushed,
		 cache == NULL && master->auth->services.count == 0 ?
		 " (the cache is off)" : "");
	snprintf(buf, sizeof(buf), "OK\t%u\t%u\n", id, flushed);
	master_send(master, buf);
	return 0;
}

/* roost's own: "CACHE-STATS\t<id>" -> "OK\t<id>\tsize=..\thits=.." */
static int master_handle_cache_stats(struct auth_master_connection *master,
				     char **args, unsigned int count)
{
	uint32_t id;
	struct auth_cache_stats stats;

	if (count < 2 || str_to_uint32(args[1], &id) < 0) {
		ctx_error(&master->log, "BUG: Master sent broken CACHE-STATS");
		return -1;
	}
	string_t *str = str_create(256);
	str_append(str, "OK\t");
	str_append_uint(str, id);
	if (master->auth->cache == NULL) {
		str_append(str, "\tcache=off\n");
	} else {
		auth_cache_get_stats(master->auth->cache, &stats);
		const struct { const char *name; uint64_t value; } values[] = {
			{ "max_bytes", master->auth->set->auth_cache_size },
			{ "entries", stats.entries }, { "bytes", stats.bytes },
			{ "hits", stats.hits }, { "negative_hits", stats.negative_hits },
			{ "misses", stats.misses }, { "expired", stats.expired },
			{ "inserts", stats.inserts }, { "evictions", stats.evictions },
		};
		str_append(str, "\tcache=on");
		for (size_t i = 0; i < N_ELEMENTS(values); i++) {
			str_append_c(str, '\t');
			str_append(str, values[i].name);
			str_append_c(str, '=');
			str_append_uint(str, values[i].value);
		}
		str_append_c(str, '\n');
	}
	master_send(master, str_c(str));
	str_free(&str);
	return 0;
}

static int master_input_line(struct connection *conn, char *line, size_t len)
{
	struct auth_master_connection *master = connection_get_context(conn);
	char *args[64];
	unsigned int count = 0;
	int ret;

	(void)len;
	args[count++] = line;
	for (char *p = line; *p != '\0' && count < N_ELEMENTS(args) - 1; p++) {
		if (*p == '\t') {
			*p = '\0';
			args[count++] = p + 1;
		}
	}
	args[count] = NULL;

	if (!master->version_received) {
		unsigned int major;
		if (count < 3 || strcmp(args[0], "VERSION") != 0 ||
		    str_to_uint(args[1], &major) < 0 || major != 1) {
			ctx_error(&master->log, "Master client didn't send a valid "
				  "VERSION 1 line first");
			master_destroy(master);
			return -1;
		}
		master->version_received = true;
		return 0;
	}
	if (strcmp(args[0], "USER") == 0)
		ret = master_handle_user(master, args, count);
	else if (strcmp(args[0], "PASS") == 0)
		ret = master_handle_pass(master, args, count);
	else if (strcmp(args[0], "LIST") == 0)
		ret = master_handle_list(master, args, count);
	else if (strcmp(args[0], "REQUEST") == 0 && !master->userdb_only)
		ret = master_handle_request(master, args, count);
	else if (strcmp(args[0], "CACHE-FLUSH") == 0 && !master->userdb_only)
		ret = master_handle_cache_flush(master, args, count);
	else if (strcmp(args[0], "CACHE-STATS") == 0 && !master->userdb_only)
		ret = master_handle_cache_stats(master, args, count);
	else if (strcmp(args[0], "CPID") == 0) {
		ctx_error(&master->log, "Authentication client trying to connect to "
			  "master socket");
		ret = -1;
	} else {
		ctx_error(&master->log, "BUG: Unknown command in %s socket: %.64s",
			  master->userdb_only ? "userdb" : "master", args[0]);
		ret = -1;
	}
	if (ret < 0) {
		master_destroy(master);
		return -1;
	}
	return 0;
}

static void master_input_error(struct connection *conn, enum connection_error error)
{
	struct auth_master_connection *master = connection_get_context(conn);
	if (error == CONNECTION_ERROR_LINE_TOO_LONG)
		ctx_error(&master->log, "BUG: Master client sent us more than %d bytes",
			  AUTH_MASTER_MAX_LINE_LENGTH);
	else
		ctx_error(&master->log, "BUG: Master client sent a NUL byte in a line");
	master_destroy(master);
}

static void master_disconnected(struct connection *conn, int err ATTR_UNUSED)
{
	master_destroy(connection_get_context(conn));
}

static const struct connection_vfuncs master_vfuncs = {
	.input_line = master_input_line,
	.input_error = master_input_error,
	.disconnected = master_disconnected,
};

void auth_master_connection_create(struct auth *auth, int fd, bool userdb_only)
{
	struct auth_master_connection *master = x_malloc(sizeof(*master));
	struct connection_settings set = {
		.max_line_length = AUTH_MASTER_MAX_LINE_LENGTH,
	};
	char buf[64];

	master->refcount = 1;
	master->auth = auth;
	master->userdb_only = userdb_only;
	snprintf(master->log_prefix, sizeof(master->log_prefix), "%s(%u)",
		 userdb_only ? "userdb-client" : "master-client", ++master_counter);
	master->log.prefix = master->log_prefix;
	master->conn = connection_create(auth->base, fd, &set, &master_vfuncs, master);
	snprintf(buf, sizeof(buf), "VERSION\t1\t1\nSPID\t%ld\n", (long)auth->pid);
	connection_send_str(master->conn, buf);

	master->next = master_connections;
	if (master_connections != NULL)
		master_connections->prev = master;
	master_connections = master;
	master_connection_count++;
}

static void master_destroy(struct auth_master_connection *master)
{
	if (master->destroyed)
		return;
	master->destroyed = true;
	if (master->prev != NULL)
		master->prev->next = master->next;
	else
		master_connections = master->next;
	if (master->next != NULL)
		master->next->prev = master->prev;
	master_connection_count--;
	connection_destroy(&master->conn);
	master_unref(master);
}

void auth_master_connections_destroy_all(void)
{
	while (master_connections != NULL)
		master_destroy(master_connections);
}

unsigned int auth_master_connections_count(void)
{
	return master_connection_count;
}
