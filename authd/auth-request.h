#ifndef ROOST_AUTH_REQUEST_H
#define ROOST_AUTH_REQUEST_H
/* One authentication or lookup request: its pool, fields, mechanism state
   and passdb/userdb progress. Created by a protocol connection (client
   socket AUTH, master socket USER/PASS/REQUEST), reference counted: the
   connection holds one reference, pending asynchronous work another. */
#include "lib.h"
#include "log.h"
#include "passdb.h"
#include "userdb.h"

struct pool;
struct auth;
struct auth_fields;
struct sasl_mech;
struct auth_client_connection;

enum auth_request_state {
	AUTH_REQUEST_STATE_NEW,
	AUTH_REQUEST_STATE_MECH_CONTINUE,  /* waiting for the client's CONT */
	AUTH_REQUEST_STATE_PASSDB,         /* waiting for passdb */
	AUTH_REQUEST_STATE_USERDB,
	AUTH_REQUEST_STATE_FINISHED,
};

/* How the request ended (for the protocol layer). */
enum auth_request_result {
	AUTH_REQUEST_RESULT_NONE,
	AUTH_REQUEST_RESULT_CONTINUE,
	AUTH_REQUEST_RESULT_SUCCESS,
	AUTH_REQUEST_RESULT_FAILURE,
	AUTH_REQUEST_RESULT_INTERNAL_FAILURE,
};

struct auth_request;

/* Events delivered to the protocol layer that owns the request. */
struct auth_request_handler {
	void (*reply_continue)(struct auth_request *request,
			       const unsigned char *data, size_t size);
	void (*reply_success)(struct auth_request *request,
			      const unsigned char *data, size_t size);
	void (*reply_failure)(struct auth_request *request);
	void (*reply_internal_failure)(struct auth_request *request);
};

typedef void auth_request_lookup_credentials_callback_t(
	struct auth_request *request, enum passdb_result result,
	const unsigned char *credentials, size_t size);
typedef void auth_request_userdb_callback_t(struct auth_request *request,
					    enum userdb_result result);
typedef void auth_request_passdb_lookup_callback_t(struct auth_request *request,
						   enum passdb_result result);

struct auth_request {
	struct pool *pool;
	int refcount;
	struct auth *auth;
	unsigned int serial;          /* process-unique, for logging */
	uint32_t id;                  /* the client's request id */
	enum auth_request_state state;
	enum auth_request_result result;

	const struct auth_request_handler *handler;
	void *handler_context;        /* owner connection */

	const struct sasl_mech *mech;
	void *mech_state;             /* mech->state_size bytes */

	/* request parameters (AUTH line / USER line) */
	const char *service;
	const char *local_ip, *remote_ip;
	const char *real_local_ip, *real_remote_ip;
	unsigned int local_port, remote_port;
	const char *session_id;
	const char *client_id;
	const char *local_name;
	const char *cert_username;
	bool secured;
	bool secured_tls;
	bool valid_client_cert;
	bool no_penalty;
	bool final_resp_ok;
	bool final_ack_pending;       /* final data sent in a CONT, waiting for the client */
	bool debug;
	pid_t client_pid;

	/* identities */
	const char *user;             /* translated, current */
	const char *original_username;/* as the client gave it */
	const char *requested_login_user; /* authorization id (master user login) */
	const char *master_user;      /* set once a master user logged in as user */
	bool master_phase;            /* running the master passdbs */
	bool master_lookup_target;    /* master passdb said continue: check target */
	void (*private_mech_plain_cb)(struct auth_request *request, enum passdb_result result);
	const char *mech_password;    /* typed password (secure, wiped) */

	/* passdb/userdb state */
	unsigned int passdb_idx;
	unsigned int userdb_idx;
	struct auth_fields *extra_fields;   /* passdb extra fields */
	struct auth_fields *userdb_fields;  /* userdb reply fields */
	bool passdb_success;          /* an earlier passdb said OK */
	bool passdb_failure;          /* an earlier passdb said fail (continue-fail) */
	bool passdb_internal_failure; /* a passdb failed internally */
	bool userdb_success;
	bool userdb_prefetch_set;     /* a passdb returned userdb_* fields */
	bool skip_password_check;     /* nopassword/ANONYMOUS */
	bool no_failure_delay;        /* passdb returned nodelay */
	bool user_changed_by_passdb;
	const char *credentials_scheme;
	struct auth_passdb *credentials_passdb; /* answered the credentials lookup */
	unsigned char *credentials;   /* from the passdb that answered (pool) */
	size_t credentials_size;
	/* where the stored password came from ("file:line"), for errors */
	const char *password_source;
	enum passdb_result last_passdb_result;
	passdb_verify_callback_t *private_verify_cb;
	void (*private_plain_callback)(struct auth_request *request, enum passdb_result result);
	auth_request_lookup_credentials_callback_t *private_credentials_cb;
	auth_request_userdb_callback_t *private_userdb_cb;
	auth_request_passdb_lookup_callback_t *private_passdb_lookup_cb;
	userdb_callback_t *private_static_userdb_cb;

	/* auth cache (auth-cache.md 1): the key of the lookup that went to
	   the database (for the insert), what the passdb stored, the fields
	   the db set (recorded while cache_record != NULL) */
	const char *cache_key;
	const char *cache_stored;
	struct str *cache_record;
	bool cache_hit;              /* this passdb's answer came from the cache */
	bool cache_last_success, cache_neg_expired;
	bool cache_skip_once;        /* password changed? go to the db this time */

	/* timing */
	uint64_t create_msecs;
	struct auth_request *timeout_prev, *timeout_next;

	struct log_ctx log;
	char log_prefix_buf[192];
};

struct auth_request *auth_request_new(struct auth *auth,
				      const struct sasl_mech *mech,
				      const struct auth_request_handler *handler,
				      void *handler_context);
void auth_request_ref(struct auth_request *request);
void auth_request_unref(struct auth_request **request);
/* Rebuild the log prefix after user/ip changes. */
void auth_request_update_log_prefix(struct auth_request *request);

/* Parse one "name=value" / "name" AUTH or USER parameter. Returns false for
   parameters it does not know (callers ignore those). */
bool auth_request_import_param(struct auth_request *request, const char *key,
			       const char *value);

/* Start the mechanism. */
void auth_request_initial(struct auth_request *request, bool has_initial,
			  const unsigned char *data, size_t size);
void auth_request_continue(struct auth_request *request,
			   const unsigned char *data, size_t size);

/* For mechanisms: */
/* Set the authentication user name (applies realm, username_format,
   translation and allowed-chars checks). Returns false and logs if the name
   is invalid. */
bool auth_request_set_username(struct auth_request *request, const char *username,
			       const char **error_r);
bool auth_request_set_login_username(struct auth_request *request,
				     const char *username, const char **error_r);
void auth_request_verify_plain(struct auth_request *request, const char *password,
			       void (*callback)(struct auth_request *, enum passdb_result));
void auth_request_lookup_credentials(struct auth_request *request, const char *scheme,
				     auth_request_lookup_credentials_callback_t *callback);
/* Store new credentials ("{SCHEME}data") in the passdb that answered the
   last credentials lookup (OTP's next sequence). callback(false) when
   that passdb is read-only or the update failed (logged). The cached
   entry of the user is dropped either way. */
void auth_request_set_credentials(struct auth_request *request, const char *credentials,
				  passdb_set_credentials_callback_t *callback);
void auth_request_success(struct auth_request *request, const unsigned char *data,
			  size_t size);
void auth_request_fail(struct auth_request *request);
void auth_request_internal_failure(struct auth_request *request);
void auth_request_handler_reply_continue(struct auth_request *request,
					 const unsigned char *data, size_t size);
/* Standard reaction to a plaintext verification result. */
void auth_request_verify_plain_callback_finish(struct auth_request *request,
					       enum passdb_result result);

/* Passdb lookup without a password (master PASS; static userdb check). */
void auth_request_lookup_passdb(struct auth_request *request,
				auth_request_passdb_lookup_callback_t *callback);
/* userdb lookup chain. */
void auth_request_lookup_user(struct auth_request *request,
			      auth_request_userdb_callback_t *callback);

/* For drivers: */
/* Set a passdb extra field, handling the special ones (user, nopassword,
   nodelay, userdb_*). */
void auth_request_set_field(struct auth_request *request, const char *key,
			    const char *value, const char *default_scheme);
void auth_request_set_userdb_field(struct auth_request *request, const char *key,
				   const char *value);
/* Expand %variables for this request into dest. Unknown variables are
   logged and expand to "". Returns -1 on error. */
struct str;
int auth_request_var_expand(struct str *dest, const char *template,
			    const struct auth_request *request, const char **error_r);
/* The same with every value passed through escape (SQL/LDAP quoting; the
   result may be allocated from pool) and extra variables that come before
   (and so override) the request's own. Either may be NULL. */
struct var_expand_table;
typedef const char *auth_request_escape_func_t(const char *value, void *context,
					       struct pool *pool);
int auth_request_var_expand_with(struct str *dest, const char *template,
				 const struct auth_request *request,
				 auth_request_escape_func_t *escape, void *escape_context,
				 const struct var_expand_table *extra,
				 const char **error_r);

bool auth_request_want_debug(const struct auth_request *request);
#define auth_request_log_debug(request, ...) \
	ctx_debug(&(request)->log, __VA_ARGS__)
#define auth_request_log_info(request, ...) \
	log_msg(LOG_LEVEL_INFO, &(request)->log, __VA_ARGS__)
#define auth_request_log_error(request, ...) \
	log_msg(LOG_LEVEL_ERROR, &(request)->log, __VA_ARGS__)
#define auth_request_log_warning(request, ...) \
	log_msg(LOG_LEVEL_WARNING, &(request)->log, __VA_ARGS__)

uint64_t auth_now_msecs(void);
/* Free the pools kept for reuse (at shutdown). */
void auth_request_pool_cache_free(void);

#endif
