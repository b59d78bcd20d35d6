/* Auth request lifecycle: parameters, username normalisation, the passdb
   and userdb chains (with Dovecot's result_* semantics), and handing slow
   password verification to worker threads. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "hash.h"
#include "var-expand.h"
#include "net.h"
#include "worker-pool.h"
#include "password-scheme.h"
#include "auth-settings.h"
#include "sasl-mech.h"
#include "auth.h"
#include "auth-fields.h"
#include "auth-request.h"
#include "auth-cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <fnmatch.h>
#include <unistd.h>

static unsigned int auth_request_serial_counter;

uint64_t auth_now_msecs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Request pools are reused: creating one per authentication cost a
   noticeable share of the CPU time of a cheap (PLAIN) login. Pools are
   secure: clearing wipes everything the request stored. */
#define REQUEST_POOL_SIZE 1024
#define REQUEST_POOL_CACHE_MAX 64
static struct pool *request_pool_cache[REQUEST_POOL_CACHE_MAX];
static unsigned int request_pool_cache_count;

static struct pool *request_pool_get(void)
{
	if (request_pool_cache_count > 0)
		return request_pool_cache[--request_pool_cache_count];
	return pool_create_secure("auth request", REQUEST_POOL_SIZE);
}

static void request_pool_put(struct pool *pool)
{
	if (request_pool_cache_count < REQUEST_POOL_CACHE_MAX) {
		pool_clear(pool);
		request_pool_cache[request_pool_cache_count++] = pool;
	} else {
		pool_destroy(&pool);
	}
}

void auth_request_pool_cache_free(void)
{
	while (request_pool_cache_count > 0)
		pool_destroy(&request_pool_cache[--request_pool_cache_count]);
}

struct auth_request *auth_request_new(struct auth *auth,
				      const struct sasl_mech *mech,
				      const struct auth_request_handler *handler,
				      void *handler_context)
{
	struct pool *pool = request_pool_get();
	struct auth_request *request = pool_alloc(pool, sizeof(*request));

	request->pool = pool;
	request->refcount = 1;
	request->auth = auth;
	request->serial = ++auth_request_serial_counter;
	request->mech = mech;
	request->handler = handler;
	request->handler_context = handler_context;
	request->extra_fields = auth_fields_create(pool);
	request->userdb_fields = auth_fields_create(pool);
	request->create_msecs = auth_now_msecs();
	request->last_passdb_result = PASSDB_RESULT_USER_UNKNOWN;
	if (mech != NULL && mech->state_size > 0)
		request->mech_state = pool_alloc(pool, mech->state_size);
	request->debug = auth->set->auth_debug;
	request->log.debug = request->debug;
	auth_request_update_log_prefix(request);
	return request;
}

void auth_request_ref(struct auth_request *request)
{
	i_assert(request->refcount > 0);
	request->refcount++;
}

void auth_request_unref(struct auth_request **_request)
{
	struct auth_request *request = *_request;

	*_request = NULL;
	i_assert(request->refcount > 0);
	if (--request->refcount > 0)
		return;
	if (request->mech != NULL && request->mech->auth_free != NULL)
		request->mech->auth_free(request);
	auth_fields_free(&request->extra_fields);
	auth_fields_free(&request->userdb_fields);
	if (request->cache_record != NULL)
		str_free(&request->cache_record);
	request_pool_put(request->pool);
}

static void auth_request_refresh_log_prefix(struct log_ctx *ctx)
{
	struct auth_request *request = (struct auth_request *)
		((char *)ctx - offsetof(struct auth_request, log));
	/* mech(user,rip,<session>) with the unknown parts left out */
	char *buf = request->log_prefix_buf;
	size_t size = sizeof(request->log_prefix_buf);
	int len = snprintf(buf, size, "%s(%s",
			   request->mech != NULL ? request->mech->name : "lookup",
			   request->user != NULL ? request->user :
			   (request->original_username != NULL ?
			    request->original_username : "?"));
	if (len > 0 && (size_t)len < size && request->remote_ip != NULL)
		len += snprintf(buf + len, size - (size_t)len, ",%s", request->remote_ip);
	if (len > 0 && (size_t)len < size && request->session_id != NULL)
		len += snprintf(buf + len, size - (size_t)len, ",<%s>", request->session_id);
	if (len > 0 && (size_t)len < size)
		snprintf(buf + len, size - (size_t)len, ")");
	request->log.prefix = buf;
}

void auth_request_update_log_prefix(struct auth_request *request)
{
	request->log.refresh_prefix = auth_request_refresh_log_prefix;
	request->log.prefix_dirty = true;
	request->log.debug = request->debug;
}

bool auth_request_want_debug(const struct auth_request *request)
{
	return request->debug || log_debug_enabled();
}

bool auth_request_import_param(struct auth_request *request, const char *key,
			       const char *value)
{
	struct pool *pool = request->pool;
	unsigned int port;

	if (value == NULL) {
		if (strcmp(key, "secured") == 0)
			request->secured = true;
		else if (strcmp(key, "valid-client-cert") == 0)
			request->valid_client_cert = true;
		else if (strcmp(key, "no-penalty") == 0)
			request->no_penalty = true;
		else if (strcmp(key, "final-resp-ok") == 0)
			request->final_resp_ok = true;
		else if (strcmp(key, "debug") == 0) {
			request->debug = true;
			request->log.debug = true;
		} else
			return false;
		return true;
	}
	if (strcmp(key, "service") == 0)
		request->service = pool_strdup(pool, value);
	else if (strcmp(key, "lip") == 0)
		request->local_ip = pool_strdup(pool, value);
	else if (strcmp(key, "rip") == 0)
		request->remote_ip = pool_strdup(pool, value);
	else if (strcmp(key, "real_lip") == 0)
		request->real_local_ip = pool_strdup(pool, value);
	else if (strcmp(key, "real_rip") == 0)
		request->real_remote_ip = pool_strdup(pool, value);
	else if (strcmp(key, "lport") == 0) {
		if (str_to_uint(value, &port) == 0 && port < 65536)
			request->local_port = port;
	} else if (strcmp(key, "rport") == 0) {
		if (str_to_uint(value, &port) == 0 && port < 65536)
			request->remote_port = port;
	} else if (strcmp(key, "session") == 0)
		request->session_id = pool_strdup(pool, value);
	else if (strcmp(key, "client_id") == 0)
		request->client_id = pool_strdup(pool, value);
	else if (strcmp(key, "local_name") == 0)
		request->local_name = pool_strdup(pool, value);
	else if (strcmp(key, "cert_username") == 0)
		request->cert_username = pool_strdup(pool, value);
	else if (strcmp(key, "secured") == 0) {
		request->secured = true;
		request->secured_tls = strcmp(value, "tls") == 0;
	} else
		return false;
	return true;
}

/* ---- variable expansion ------------------------------------------------ */

/* buf must hold 21 bytes */
static void uint_to_str(uint64_t n, char *buf)
{
	char tmp[24];
	size_t i = 0;
	do {
		tmp[i++] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	for (size_t j = 0; j < i; j++)
		buf[j] = tmp[i - 1 - j];
	buf[i] = '\0';
}

static const char *user_part(struct pool *pool, const char *user, bool domain)
{
	if (user == NULL)
		return "";
	const char *at = strrchr(user, '@');
	if (at == NULL)
		return domain ? "" : user;
	return domain ? at + 1 : pool_strndup(pool, user, (size_t)(at - user));
}

int auth_request_var_expand(string_t *dest, const char *template,
			    const struct auth_request *request, const char **error_r)
{
	return auth_request_var_expand_with(dest, template, request, NULL, NULL,
					    NULL, error_r);
}

int auth_request_var_expand_with(string_t *dest, const char *template,
				 const struct auth_request *request,
				 auth_request_escape_func_t *escape, void *escape_context,
				 const struct var_expand_table *extra,
				 const char **error_r)
{
	struct pool *pool = request->pool;
	const char *user = request->user != NULL ? request->user :
		(request->original_username != NULL ? request->original_username : "");

	/* fast paths for the common templates (this runs several times per
	   authentication) */
	if (strchr(template, '%') == NULL) {
		str_append(dest, template);
		return 0;
	}
	if (template[0] == '%' && template[1] == 'u' && template[2] == '\0' &&
	    escape == NULL && extra == NULL) {
		str_append(dest, user);
		return 0;
	}

	const char *home = auth_fields_get(request->userdb_fields, "home");
	char pid_buf[24], lport[24], rport[24];

	uint_to_str((uint64_t)request->client_pid, pid_buf);
	uint_to_str(request->local_port, lport);
	uint_to_str(request->remote_port, rport);
	const struct var_expand_table table[] = {
		{ .key = 'u', .value = user, .long_key = "user" },
		{ .key = 'n', .value = user_part((struct pool *)pool, user, false), .long_key = "username" },
		{ .key = 'd', .value = user_part((struct pool *)pool, user, true), .long_key = "domain" },
		{ .key = 's', .value = request->service != NULL ? request->service : "", .long_key = "service" },
		{ .key = 'h', .value = home != NULL ? home : "", .long_key = "home" },
		{ .key = 'l', .value = request->local_ip != NULL ? request->local_ip : "", .long_key = "lip" },
		{ .key = 'r', .value = request->remote_ip != NULL ? request->remote_ip : "", .long_key = "rip" },
		{ .key = 'p', .value = pid_buf, .long_key = "pid" },
		{ .key = 'w', .value = request->mech_password != NULL ? request->mech_password : "", .long_key = "password" },
		{ .key = 'm', .value = request->mech != NULL ? request->mech->name : "", .long_key = "mech" },
		{ .key = 'c', .value = request->secured ? "secured" : "", .long_key = "secured" },
		{ .key = 'a', .value = lport, .long_key = "lport" },
		{ .key = 'b', .value = rport, .long_key = "rport" },
		{ .key = '\0', .value = request->original_username != NULL ? request->original_username : user, .long_key = "orig_user" },
		{ .key = '\0', .value = request->session_id != NULL ? request->session_id : "", .long_key = "session" },
		{ .key = '\0', .value = request->real_local_ip != NULL ? request->real_local_ip : "", .long_key = "real_lip" },
		{ .key = '\0', .value = request->real_remote_ip != NULL ? request->real_remote_ip : "", .long_key = "real_rip" },
		{ .key = '\0', .value = request->auth->set->auth_default_realm, .long_key = "default_realm" },
		{ .key = '\0', .value = NULL, .long_key = NULL },
	};
	const struct var_expand_table *use = table;
	struct var_expand_table *copy = NULL;
	if (escape != NULL || extra != NULL) {
		/* extra entries first: they override the request's */
		size_t n_extra = 0, n = N_ELEMENTS(table);
		while (extra != NULL && (extra[n_extra].key != '\0' ||
					 extra[n_extra].long_key != NULL))
			n_extra++;
		copy = x_malloc(sizeof(*copy) * (n_extra + n));
		for (size_t i = 0; i < n_extra; i++)
			copy[i] = extra[i];
		for (size_t i = 0; i < n; i++)
			copy[n_extra + i] = table[i];
		for (size_t i = 0; escape != NULL && i < n_extra + n - 1; i++) {
			if (copy[i].value != NULL)
				copy[i].value = escape(copy[i].value, escape_context,
						       request->pool);
		}
		use = copy;
	}
	char *error = NULL;
	int ret = var_expand(dest, template, use, &error);
	free(copy);
	if (ret < 0) {
		*error_r = pool_strdup(request->pool, error != NULL ? error : "expansion failed");
		free(error);
	}
	return ret;
}

/* ---- usernames --------------------------------------------------------- */

static bool username_fix(struct auth_request *request, const char *username,
			 const char **result_r, const char **error_r)
{
	struct auth *auth = request->auth;
	const struct auth_settings *set = auth->set;
	string_t *str = str_create(64);
	const char *error;

	if (*username == '\0') {
		*error_r = "Empty username";
		str_free(&str);
		return false;
	}
	str_append(str, username);
	if (strchr(username, '@') == NULL && set->auth_default_realm[0] != '\0') {
		str_append_c(str, '@');
		str_append(str, set->auth_default_realm);
	}
	for (size_t i = 0; i < str_len(str); i++) {
		unsigned char c = (unsigned char)str->data[i];
		if (auth->username_translation[c] != 0)
			str->data[i] = auth->username_translation[c];
	}
	if (!auth->username_chars_all) {
		for (size_t i = 0; i < str_len(str); i++) {
			unsigned char c = (unsigned char)str->data[i];
			if (!auth->username_chars[c]) {
				*error_r = pool_printf(request->pool,
					"Username character disallowed by auth_username_chars: "
					"0x%02x (username: %s)", c, username);
				str_free(&str);
				return false;
			}
		}
	}
	if (set->auth_username_format[0] != '\0') {
		string_t *dest = str_create(64);
		const char *saved_user = request->user;
		request->user = str_c(str);
		if (auth_request_var_expand(dest, set->auth_username_format, request, &error) < 0) {
			request->user = saved_user;
			*error_r = pool_printf(request->pool,
				"Failed to expand auth_username_format=%s: %s",
				set->auth_username_format, error);
			str_free(&dest);
			str_free(&str);
			return false;
		}
		request->user = saved_user;
		str_free(&str);
		str = dest;
	}
	if (str_len(str) == 0) {
		*error_r = "Empty username after auth_username_format";
		str_free(&str);
		return false;
	}
	*result_r = pool_strdup(request->pool, str_c(str));
	str_free(&str);
	return true;
}

bool auth_request_set_username(struct auth_request *request, const char *username,
			       const char **error_r)
{
	const char *fixed;

	if (request->original_username == NULL)
		request->original_username = pool_strdup(request->pool, username);
	/* Dovecot 2.3: with auth_ssl_username_from_cert the name from the
	   client's certificate overrides the one the mechanism got (EXTERNAL
	   gets none), but still goes through the checks below */
	if (request->auth->set->auth_ssl_username_from_cert &&
	    request->cert_username != NULL && request->cert_username[0] != '\0')
		username = request->cert_username;
	/* TAB/LF in a name would corrupt the protocol replies MTAs read
	   without unescaping (spec §1.1): refuse them up front. */
	if (strpbrk(username, "\t\r\n\001") != NULL) {
		*error_r = "Username contains control characters";
		return false;
	}
	/* auth-cache.md §3: "target*master" with auth_master_user_separator
	   (mechanism logins only, not userdb lookups) */
	const char *sep = request->auth->set->auth_master_user_separator;
	const char *split;
	if (request->mech != NULL && sep != NULL && *sep != '\0' &&
	    (split = strstr(username, sep)) != NULL && split != username &&
	    split[strlen(sep)] != '\0') {
		const char *target = pool_strndup(request->pool, username,
						  (size_t)(split - username));
		if (!auth_request_set_login_username(request, target, error_r))
			return false;
		username = split + strlen(sep);
	}
	if (!username_fix(request, username, &fixed, error_r))
		return false;
	request->user = fixed;
	auth_request_update_log_prefix(request);
	return true;
}

bool auth_request_set_login_username(struct auth_request *request,
				     const char *username, const char **error_r)
{
	const char *fixed;
	if (!username_fix(request, username, &fixed, error_r))
		return false;
	request->requested_login_user = fixed;
	return true;
}

/* ---- fields ------------------------------------------------------------ */

/* While a lookup goes to a cached database, remember each field it sets
   ("\tkey=value", tab-escaped) for the cache entry. */
static void cache_record_field(struct auth_request *request, const char *key,
			       const char *value)
{
	str_append_c(request->cache_record, '\t');
	str_append_tabescaped(request->cache_record, key);
	if (value != NULL) {
		str_append_c(request->cache_record, '=');
		str_append_tabescaped(request->cache_record, value);
	}
}

void auth_request_set_userdb_field(struct auth_request *request, const char *key,
				   const char *value)
{
	if (request->cache_record != NULL && request->state == AUTH_REQUEST_STATE_USERDB)
		cache_record_field(request, key, value);
	if (request->state == AUTH_REQUEST_STATE_PASSDB)
		request->userdb_prefetch_set = true;
	auth_fields_set(request->userdb_fields, key, value);
}

void auth_request_set_field(struct auth_request *request, const char *key,
			    const char *value, const char *default_scheme)
{
	const char *rest;

	if (request->cache_record != NULL && request->state != AUTH_REQUEST_STATE_USERDB)
		cache_record_field(request, key, value);

	if (strcmp(key, "user") == 0 || strcmp(key, "username") == 0) {
		if (value != NULL && *value != '\0' &&
		    (request->user == NULL || strcmp(value, request->user) != 0)) {
			request->user = pool_strdup(request->pool, value);
			request->user_changed_by_passdb = true;
			auth_request_update_log_prefix(request);
		}
		return;
	}
	if (strcmp(key, "nodelay") == 0) {
		request->no_failure_delay = true;
		auth_fields_set(request->extra_fields, key, value);
		return;
	}
	if (strcmp(key, "nopassword") == 0) {
		request->skip_password_check = true;
		return;
	}
	if (str_begins(key, "userdb_", &rest)) {
		request->userdb_prefetch_set = true;
		auth_request_set_userdb_field(request, rest, value);
		return;
	}
	auth_fields_set(request->extra_fields, key, value);
}

/* default_fields / override_fields: "key=template" entries. For a passdb
   (userdb=false) keys are passdb extra fields (userdb_* go to the userdb
   fields); for a userdb every key is a userdb field. Defaults don't
   replace what the driver set; overrides do. */
static void apply_templates(struct auth_request *request,
			    const char *const *templates, bool override, bool userdb)
{
	if (templates == NULL)
		return;
	for (; *templates != NULL; templates++) {
		const char *eq = strchr(*templates, '=');
		const char *key = eq == NULL ? *templates :
			pool_strndup(request->pool, *templates, (size_t)(eq - *templates));
		const char *value = NULL, *error, *rest;

		if (!override) {
			bool exists;
			if (userdb)
				exists = auth_fields_exists(request->userdb_fields, key);
			else if (str_begins(key, "userdb_", &rest))
				exists = auth_fields_exists(request->userdb_fields, rest);
			else
				exists = auth_fields_exists(request->extra_fields, key);
			if (exists)
				continue;
		}
		if (eq != NULL) {
			string_t *str = str_create(64);
			if (auth_request_var_expand(str, eq + 1, request, &error) < 0)
				auth_request_log_error(request, "Failed to expand %s: %s",
						       *templates, error);
			value = pool_strdup(request->pool, str_c(str));
			str_free(&str);
		}
		if (userdb)
			auth_request_set_userdb_field(request, key, value);
		else
			auth_request_set_field(request, key, value, NULL);
	}
}

#define apply_field_templates(request, templates, override) \
	apply_templates(request, templates, override, false)
#define apply_userdb_templates(request, templates, override) \
	apply_templates(request, templates, override, true)

/* ---- mechanism steps --------------------------------------------------- */

void auth_request_initial(struct auth_request *request, bool has_initial,
			  const unsigned char *data, size_t size)
{
	request->state = AUTH_REQUEST_STATE_NEW;
	request->mech->auth_initial(request, has_initial, data, size);
}

void auth_request_continue(struct auth_request *request,
			   const unsigned char *data, size_t size)
{
	i_assert(request->state == AUTH_REQUEST_STATE_MECH_CONTINUE);
	request->state = AUTH_REQUEST_STATE_NEW;
	request->mech->auth_continue(request, data, size);
}

void auth_request_handler_reply_continue(struct auth_request *request,
					 const unsigned char *data, size_t size)
{
	request->state = AUTH_REQUEST_STATE_MECH_CONTINUE;
	request->result = AUTH_REQUEST_RESULT_CONTINUE;
	request->handler->reply_continue(request, data, size);
}

void auth_request_success(struct auth_request *request,
			  const unsigned char *data, size_t size)
{
	request->state = AUTH_REQUEST_STATE_FINISHED;
	request->result = AUTH_REQUEST_RESULT_SUCCESS;
	if (request->auth->set->auth_verbose || auth_request_want_debug(request))
		auth_request_log_info(request, "Login successful");
	request->handler->reply_success(request, data, size);
}

void auth_request_fail(struct auth_request *request)
{
	request->state = AUTH_REQUEST_STATE_FINISHED;
	request->result = AUTH_REQUEST_RESULT_FAILURE;
	request->handler->reply_failure(request);
}

void auth_request_internal_failure(struct auth_request *request)
{
	request->state = AUTH_REQUEST_STATE_FINISHED;
	request->result = AUTH_REQUEST_RESULT_INTERNAL_FAILURE;
	request->handler->reply_internal_failure(request);
}

/* ---- passdb chain ------------------------------------------------------ */

static bool mech_allowed(const struct auth_passdb *passdb,
			 const struct auth_request *request)
{
	if (passdb->mechanisms == NULL)
		return true;
	const char *name = request->mech != NULL ? request->mech->name : "none";
	for (const char *const *m = passdb->mechanisms; *m != NULL; m++) {
		if (strcasecmp(*m, name) == 0)
			return true;
	}
	return false;
}

static bool username_filter_match(const char *filter, const char *user)
{
	/* Space-separated wildcards; "!pattern" excludes. */
	bool have_positive = false, matched = false;
	char *copy = x_strdup(filter);
	char *saveptr = NULL;

	for (char *tok = strtok_r(copy, " ", &saveptr); tok != NULL;
	     tok = strtok_r(NULL, " ", &saveptr)) {
		if (tok[0] == '!') {
			if (fnmatch(tok + 1, user, 0) == 0) {
				free(copy);
				return false;
			}
		} else {
			have_positive = true;
			if (fnmatch(tok, user, 0) == 0)
				matched = true;
		}
	}
	free(copy);
	return !have_positive || matched;
}

static bool passdb_should_skip(const struct auth_passdb *passdb,
			       const struct auth_request *request)
{
	/* master passdbs serve only the master phase, and only them */
	if (passdb->master != request->master_phase)
		return true;
	if (passdb->skip == AUTH_DB_SKIP_AUTHENTICATED && request->passdb_success)
		return true;
	if (passdb->skip == AUTH_DB_SKIP_UNAUTHENTICATED && !request->passdb_success)
		return true;
	if (!mech_allowed(passdb, request))
		return true;
	if (passdb->username_filter != NULL && request->user != NULL &&
	    !username_filter_match(passdb->username_filter, request->user))
		return true;
	return false;
}

static const char *passdb_result_text(enum passdb_result result)
{
	switch (result) {
	case PASSDB_RESULT_INTERNAL_FAILURE: return "internal failure";
	case PASSDB_RESULT_SCHEME_NOT_AVAILABLE: return "scheme not available";
	case PASSDB_RESULT_USER_UNKNOWN: return "unknown user";
	case PASSDB_RESULT_USER_DISABLED: return "user disabled";
	case PASSDB_RESULT_PASS_EXPIRED: return "password expired";
	case PASSDB_RESULT_NEXT: return "next";
	case PASSDB_RESULT_PASSWORD_MISMATCH: return "password mismatch";
	case PASSDB_RESULT_OK: return "ok";
	}
	return "?";
}

/* What the chain is for: verifying a typed password, a lookup without
   password (PASS, userdb existence checks), or credentials for a
   non-plaintext mechanism. All three go through passdb_handle_result(),
   so deny, allow_nets and the result_* actions apply to each. */
enum chain_kind { CHAIN_VERIFY_PLAIN, CHAIN_LOOKUP, CHAIN_CREDENTIALS };

static void passdb_chain_next(struct auth_request *request, enum chain_kind kind);
static void passdb_verify_lookup_callback(struct auth_request *request,
					  enum passdb_result result,
					  const char *stored_password);
static void passdb_lookup_only_callback(struct auth_request *request,
					enum passdb_result result,
					const char *stored_password);
static void credentials_lookup_callback(struct auth_request *request,
					enum passdb_result result,
					const char *stored_password);

/* ---- auth cache (auth-cache.md 1) ---------------------------------------- */

static const char *cache_escape_tab(const char *value, void *context ATTR_UNUSED,
				    struct pool *pool)
{
	if (strpbrk(value, "\t\r\n\001") == NULL)
		return value;
	string_t *str = str_create(strlen(value) + 8);
	str_append_tabescaped(str, value);
	const char *result = pool_strdup(pool, str_c(str));
	str_free(&str);
	return result;
}

/* "P<id>[+<master user>]\t<expanded key template>" */
static const char *cache_key_build(struct auth_request *request, char type,
				   unsigned int id, const char *template)
{
	string_t *str = str_create(128);
	const char *error, *key = NULL;

	str_append_c(str, type);
	str_append_uint(str, id);
	if (request->master_user != NULL) {
		str_append_c(str, '+');
		str_append_tabescaped(str, request->master_user);
	}
	str_append_c(str, '\t');
	if (auth_request_var_expand_with(str, template, request, cache_escape_tab,
					 NULL, NULL, &error) < 0)
		auth_request_log_error(request, "auth cache: can't expand the cache key %s: %s",
				       template, error);
	else
		key = pool_strdup(request->pool, str_c(str));
	str_free(&str);
	return key;
}

static void cache_record_start(struct auth_request *request)
{
	if (request->cache_record == NULL)
		request->cache_record = str_create_secure(128);
	else
		str_clear(request->cache_record);
}

static void cache_record_stop(struct auth_request *request)
{
	if (request->cache_record != NULL)
		str_free(&request->cache_record);
}

/* Apply the "\tkey=value..." fields of a cache entry. */
static void cache_restore_fields(struct auth_request *request, char *fields, bool userdb)
{
	char *next;

	for (; fields != NULL && *fields != '\0'; fields = next) {
		next = strchr(fields, '\t');
		if (next != NULL)
			*next++ = '\0';
		if (*fields == '\0')
			continue;
		char *eq = strchr(fields, '=');
		if (eq != NULL)
			*eq++ = '\0';
		str_tabunescape(fields);
		if (eq != NULL)
			str_tabunescape(eq);
		if (userdb)
			auth_request_set_userdb_field(request, fields, eq);
		else
			auth_request_set_field(request, fields, eq, NULL);
	}
}

static void passdb_cache_answer(struct auth_request *request, enum chain_kind kind,
				const struct auth_cache_result *res)
{
	char *value = pool_strdup(request->pool, res->value);
	enum passdb_result result = PASSDB_RESULT_OK;
	const char *stored = NULL;

	request->cache_hit = true;
	request->cache_last_success = res->last_success;
	request->cache_neg_expired = res->negative_expired;
	cache_record_stop(request);
	if (*value == '\0') {
		ctx_debug(&request->log, "auth cache: hit: user unknown");
		result = PASSDB_RESULT_USER_UNKNOWN;
	} else {
		char *tab = strchr(value, '\t');
		if (tab != NULL)
			*tab++ = '\0';
		str_tabunescape(value);
		ctx_debug(&request->log, "auth cache: hit%s", res->expired ? " (expired)" : "");
		cache_restore_fields(request, tab, false);
		stored = *value != '\0' ? value : NULL;
	}
	if (kind == CHAIN_VERIFY_PLAIN)
		passdb_verify_lookup_callback(request, result, stored);
	else if (kind == CHAIN_LOOKUP)
		passdb_lookup_only_callback(request, result, stored);
	else
		credentials_lookup_callback(request, result, stored);
}

/* Before asking passdb's database: answer from the cache if it can.
   Returns true if it did. */
static bool passdb_cache_try(struct auth_request *request, struct auth_passdb *passdb,
			     enum chain_kind kind)
{
	const char *template = passdb->module->default_cache_key;
	struct auth_cache_result res;

	if (request->auth->cache == NULL || template == NULL)
		return false;
	const char *key = cache_key_build(request, 'P', passdb->id, template);
	if (key == NULL)
		return false;
	request->cache_key = key;
	if (request->cache_skip_once) {
		request->cache_skip_once = false;
	} else if (auth_cache_lookup(request->auth->cache, key, &res)) {
		if (!res.expired) {
			passdb_cache_answer(request, kind, &res);
			return true;
		}
		ctx_debug(&request->log, "auth cache: expired entry, asking passdb #%u", passdb->id);
	} else {
		ctx_debug(&request->log, "auth cache: miss, asking passdb #%u", passdb->id);
	}
	cache_record_start(request);
	return false;
}

/* The database answered: store what the cache table of auth-cache.md 1.3
   says. */
static void passdb_cache_insert(struct auth_request *request, struct auth_passdb *passdb,
				enum chain_kind kind, enum passdb_result result)
{
	const char *key = request->cache_key;
	const char *stored = request->cache_stored;
	char *generated = NULL;

	request->cache_key = NULL;
	if (result == PASSDB_RESULT_USER_UNKNOWN) {
		auth_cache_insert(request->auth->cache, key, "", false);
	} else if (result == PASSDB_RESULT_OK || result == PASSDB_RESULT_PASSWORD_MISMATCH) {
		if (stored == NULL && kind == CHAIN_VERIFY_PLAIN &&
		    passdb->module->driver->verify_plain != NULL &&
		    !request->skip_password_check) {
			/* a verify-only passdb (PAM, LDAP bind): keep a salted
			   hash of the password that worked */
			const char *error;
			if (result != PASSDB_RESULT_OK ||
			    password_generate((const unsigned char *)request->mech_password,
					      strlen(request->mech_password), "SSHA256",
					      request->user, 0, &generated, &error) < 0) {
				cache_record_stop(request);
				return;
			}
			stored = generated;
		} else if (stored == NULL && result == PASSDB_RESULT_PASSWORD_MISMATCH) {
			cache_record_stop(request);
			return;
		}
		string_t *value = str_create_secure(128);
		if (stored != NULL)
			str_append_tabescaped(value, stored);
		if (request->cache_record != NULL)
			str_append(value, str_c(request->cache_record));
		if (str_len(value) == 0)
			str_append_c(value, '\t'); /* positive, nothing to keep */
		auth_cache_insert(request->auth->cache, key, str_c(value),
				  result == PASSDB_RESULT_OK);
		str_free(&value);
		if (generated != NULL)
			x_free_secret(generated, strlen(generated));
	}
	cache_record_stop(request);
}

/* An internal failure of the database: use the cached entry even if it
   expired (auth-cache.md 1.3). Returns true if it did. */
static bool passdb_cache_fallback(struct auth_request *request, struct auth_passdb *passdb,
				  enum chain_kind kind)
{
	struct auth_cache_result res;
	const char *key = request->cache_key;

	cache_record_stop(request);
	request->cache_key = NULL;
	if (!auth_cache_lookup(request->auth->cache, key, &res))
		return false;
	auth_request_log_info(request, "passdb #%u (%s) failed: falling back to "
			      "expired data from the auth cache", passdb->id,
			      passdb->module->driver->name);
	request->cache_key = key;
	passdb_cache_answer(request, kind, &res);
	return true;
}

static void cache_note_stored(struct auth_request *request, const char *stored)
{
	if (request->cache_key != NULL && !request->cache_hit)
		request->cache_stored = stored == NULL ? NULL :
			pool_strdup(request->pool, stored);
}

/* Finish the chain with a final result. */
static void passdb_chain_finish(struct auth_request *request, enum chain_kind kind,
				enum passdb_result result)
{
	request->last_passdb_result = result;
	if (result == PASSDB_RESULT_OK)
		request->passdb_success = true;
	if (kind == CHAIN_VERIFY_PLAIN) {
		request->private_plain_callback(request, result);
	} else if (kind == CHAIN_LOOKUP) {
		request->private_passdb_lookup_cb(request, result);
	} else {
		request->state = AUTH_REQUEST_STATE_NEW;
		if (result == PASSDB_RESULT_OK && request->credentials == NULL)
			result = PASSDB_RESULT_SCHEME_NOT_AVAILABLE;
		request->private_credentials_cb(request, result,
			result == PASSDB_RESULT_OK ? request->credentials : NULL,
			result == PASSDB_RESULT_OK ? request->credentials_size : 0);
		if (request->credentials != NULL)
			explicit_bzero(request->credentials, request->credentials_size);
		request->credentials = NULL;
	}
	/* drop the chain's reference taken in the start functions */
	auth_request_unref(&request);
}

/* allow_nets / allow_real_nets extra fields: the client's (real) remote
   IP must be in the list, "local" matching requests without one; a
   mismatch is treated exactly like a wrong password (auth-cache.md §5). */
static bool allow_nets_check(struct auth_request *request, const char *field,
			     const char *rip)
{
	const char *nets = auth_fields_get(request->extra_fields, field);
	struct ip_addr ip;

	if (nets == NULL)
		return true;
	bool have_ip = rip != NULL && net_addr_parse(rip, &ip) == 0;
	if (net_match_list(have_ip ? &ip : NULL, nets))
		return true;
	auth_request_log_info(request, "%s check failed: IP %s not in %s",
			      field, rip != NULL ? rip : "(local)", nets);
	return false;
}

static bool allow_nets_ok(struct auth_request *request)
{
	const char *real_rip = request->real_remote_ip != NULL ?
		request->real_remote_ip : request->remote_ip;
	return allow_nets_check(request, "allow_nets", request->remote_ip) &&
		allow_nets_check(request, "allow_real_nets", real_rip);
}

static void passdb_handle_result(struct auth_request *request, enum chain_kind kind,
				 enum passdb_result result)
{
	struct auth_passdb *passdb = request->auth->passdbs.v[request->passdb_idx];
	enum passdb_result_action action;

	if (request->cache_key != NULL && !request->cache_hit) {
		if (result == PASSDB_RESULT_INTERNAL_FAILURE &&
		    passdb_cache_fallback(request, passdb, kind))
			return;
		if (request->cache_key != NULL)
			passdb_cache_insert(request, passdb, kind, result);
	}
	if (result == PASSDB_RESULT_OK || result == PASSDB_RESULT_PASSWORD_MISMATCH ||
	    result == PASSDB_RESULT_USER_UNKNOWN)
		ctx_debug(&request->log, "passdb #%u (%s): %s", passdb->id,
			  passdb->module->driver->name, passdb_result_text(result));

	if (passdb->deny) {
		/* Any answer but "unknown user" means the name is listed:
		   deny files usually hold bare names without passwords. */
		if (result == PASSDB_RESULT_INTERNAL_FAILURE) {
			passdb_chain_finish(request, kind, result);
			return;
		}
		if (result != PASSDB_RESULT_USER_UNKNOWN) {
			auth_request_log_info(request, "User found from deny passdb");
			passdb_chain_finish(request, kind, PASSDB_RESULT_USER_DISABLED);
			return;
		}
		/* not in the deny list: continue */
		request->passdb_idx++;
		passdb_chain_next(request, kind);
		return;
	}
	if (result == PASSDB_RESULT_OK && !allow_nets_ok(request))
		result = PASSDB_RESULT_PASSWORD_MISMATCH;
	if (result == PASSDB_RESULT_OK && request->master_phase &&
	    passdb->result_success == PASSDB_ACTION_CONTINUE) {
		/* auth-cache.md §4: the master user is proven; the normal
		   passdbs must now show that the target user exists */
		request->master_lookup_target = true;
		passdb_chain_finish(request, kind, PASSDB_RESULT_OK);
		return;
	}
	if (result == PASSDB_RESULT_OK) {
		apply_field_templates(request, passdb->override_fields, true);
		action = passdb->result_success;
	} else if (result == PASSDB_RESULT_INTERNAL_FAILURE) {
		action = passdb->result_internalfail;
	} else if (result == PASSDB_RESULT_NEXT) {
		action = PASSDB_ACTION_CONTINUE;
	} else {
		action = passdb->result_failure;
	}
	if (result != PASSDB_RESULT_NEXT)
		request->last_passdb_result = result;

	switch (action) {
	case PASSDB_ACTION_RETURN_OK:
		passdb_chain_finish(request, kind, result == PASSDB_RESULT_OK ||
				    !request->passdb_failure ? result :
				    PASSDB_RESULT_PASSWORD_MISMATCH);
		return;
	case PASSDB_ACTION_RETURN:
		passdb_chain_finish(request, kind, result);
		return;
	case PASSDB_ACTION_RETURN_FAIL:
		passdb_chain_finish(request, kind, result == PASSDB_RESULT_OK ?
				    PASSDB_RESULT_PASSWORD_MISMATCH : result);
		return;
	case PASSDB_ACTION_CONTINUE:
		break;
	case PASSDB_ACTION_CONTINUE_OK:
		if (result == PASSDB_RESULT_OK)
			request->passdb_success = true;
		break;
	case PASSDB_ACTION_CONTINUE_FAIL:
		request->passdb_failure = true;
		break;
	}
	if (result == PASSDB_RESULT_INTERNAL_FAILURE)
		request->passdb_internal_failure = true;
	request->passdb_idx++;
	passdb_chain_next(request, kind);
}

struct verify_job {
	struct worker_job job;
	struct auth_request *request;
	char *stored;
	char *password;
	size_t password_len;
	char *default_scheme;
	char *user;
	int ret;
	const char *error;
	char error_buf[256];
	enum chain_kind kind;
};

static void verify_finish(struct auth_request *request, enum chain_kind kind,
			  int ret, const char *error, const char *stored)
{
	enum passdb_result result;

	if (ret < 0) {
		struct auth_passdb *passdb = request->auth->passdbs.v[request->passdb_idx];
		auth_request_log_error(request, "passdb %s%s%s%s: stored password of user %s: %s",
				       passdb->module->driver->name,
				       request->password_source != NULL ? " (" : "",
				       request->password_source != NULL ? request->password_source : "",
				       request->password_source != NULL ? ")" : "",
				       request->user, error);
		/* as Dovecot: a password we can't check does not match
		   (password-schemes.md §1), and the admin sees why */
		result = PASSDB_RESULT_PASSWORD_MISMATCH;
	} else if (ret == 0) {
		if (request->auth->set->auth_verbose || auth_request_want_debug(request)) {
			if (request->auth->set->auth_debug_passwords)
				auth_request_log_info(request, "Password mismatch (given password: %s)",
						      request->mech_password);
			else
				auth_request_log_info(request, "Password mismatch");
		}
		result = PASSDB_RESULT_PASSWORD_MISMATCH;
	} else {
		result = PASSDB_RESULT_OK;
	}
	(void)stored;
	if (request->cache_hit && request->cache_key != NULL && ret >= 0) {
		/* auth-cache.md 1.4: a mismatch against a password that
		   worked before (or an old entry) may mean it was changed */
		if (ret == 0 && (request->cache_last_success || request->cache_neg_expired)) {
			auth_cache_set_last_success(request->auth->cache, request->cache_key, false);
			ctx_debug(&request->log, "auth cache: password mismatch with the cached "
				  "password, asking the passdb (password changed?)");
			request->cache_skip_once = true;
			passdb_chain_next(request, kind);
			return;
		}
		auth_cache_set_last_success(request->auth->cache, request->cache_key, ret > 0);
	}
	passdb_handle_result(request, kind, result);
}

static void verify_job_run(struct worker_job *_job)
{
	struct verify_job *job = (struct verify_job *)_job;
	const char *error = NULL;

	job->ret = password_verify((const unsigned char *)job->password,
				   job->password_len, job->stored,
				   job->default_scheme, job->user, &error);
	if (job->ret < 0) {
		/* error strings may be thread-local: copy now */
		snprintf(job->error_buf, sizeof(job->error_buf), "%s",
			 error != NULL ? error : "Password verification failed");
		job->error = job->error_buf;
	}
}

static void verify_job_done(struct worker_job *_job)
{
	struct verify_job *job = (struct verify_job *)_job;
	struct auth_request *request = job->request;

	verify_finish(request, job->kind, job->ret, job->error, job->stored);
	x_free_secret(job->stored, strlen(job->stored));
	x_free_secret(job->password, job->password_len);
	free(job->default_scheme);
	free(job->user);
	free(job);
	auth_request_unref(&request);
}

static void passdb_verify_lookup_callback(struct auth_request *request,
					  enum passdb_result result,
					  const char *stored_password)
{
	struct auth_passdb *passdb = request->auth->passdbs.v[request->passdb_idx];

	cache_note_stored(request, stored_password);
	if (result != PASSDB_RESULT_OK) {
		if (result == PASSDB_RESULT_USER_UNKNOWN &&
		    (request->auth->set->auth_verbose || auth_request_want_debug(request)))
			auth_request_log_info(request, "%s: unknown user",
					      passdb->module->driver->name);
		passdb_handle_result(request, CHAIN_VERIFY_PLAIN, result);
		return;
	}
	if (passdb->deny) {
		/* listed: no password to check */
		passdb_handle_result(request, CHAIN_VERIFY_PLAIN, PASSDB_RESULT_OK);
		return;
	}
	apply_field_templates(request, passdb->default_fields, false);
	if (request->skip_password_check) {
		passdb_handle_result(request, CHAIN_VERIFY_PLAIN, PASSDB_RESULT_OK);
		return;
	}
	if (stored_password == NULL || *stored_password == '\0') {
		auth_request_log_info(request, "%s: No password set for the user "
				      "(use the nopassword field to allow any password)",
				      passdb->module->driver->name);
		passdb_handle_result(request, CHAIN_VERIFY_PLAIN,
				     PASSDB_RESULT_PASSWORD_MISMATCH);
		return;
	}
	const char *scheme = passdb->module->default_pass_scheme;
	const char *password = request->mech_password;
	if (password_verify_is_slow(stored_password, scheme)) {
		struct verify_job *job = x_malloc(sizeof(*job));
		job->job.run = verify_job_run;
		job->job.done = verify_job_done;
		job->request = request;
		job->kind = CHAIN_VERIFY_PLAIN;
		job->stored = x_strdup(stored_password);
		job->password_len = strlen(password);
		job->password = x_strndup(password, job->password_len);
		job->default_scheme = x_strdup(scheme);
		job->user = x_strdup(request->user);
		auth_request_ref(request);
		worker_pool_submit(request->auth->workers, &job->job);
		return;
	}
	const char *error = NULL;
	int ret = password_verify((const unsigned char *)password, strlen(password),
				  stored_password, scheme, request->user, &error);
	verify_finish(request, CHAIN_VERIFY_PLAIN, ret, error, stored_password);
}

static void passdb_driver_verify_callback(struct auth_request *request,
					  enum passdb_result result)
{
	struct auth_passdb *passdb = request->auth->passdbs.v[request->passdb_idx];
	if (result == PASSDB_RESULT_OK)
		apply_field_templates(request, passdb->default_fields, false);
	passdb_handle_result(request, CHAIN_VERIFY_PLAIN, result);
}

static void passdb_lookup_only_callback(struct auth_request *request,
					enum passdb_result result,
					const char *stored_password)
{
	struct auth_passdb *passdb = request->auth->passdbs.v[request->passdb_idx];
	cache_note_stored(request, stored_password);
	if (result == PASSDB_RESULT_OK)
		apply_field_templates(request, passdb->default_fields, false);
	passdb_handle_result(request, CHAIN_LOOKUP, result);
}

/* A passdb answered a credentials lookup: convert what it stores into the
   scheme the mechanism needs, then let the chain decide. */
static void credentials_lookup_callback(struct auth_request *request,
					enum passdb_result result,
					const char *stored_password)
{
	struct auth_passdb *passdb = request->auth->passdbs.v[request->passdb_idx];
	unsigned char *raw = NULL;
	size_t raw_len = 0;
	const char *error = NULL;

	cache_note_stored(request, stored_password);
	if (result != PASSDB_RESULT_OK || passdb->deny) {
		passdb_handle_result(request, CHAIN_CREDENTIALS, result);
		return;
	}
	apply_field_templates(request, passdb->default_fields, false);
	int ret = stored_password == NULL ? 0 :
		password_get_credentials(stored_password,
					 passdb->module->default_pass_scheme,
					 request->credentials_scheme, request->user,
					 &raw, &raw_len, &error);
	if (ret < 0) {
		auth_request_log_error(request, "%s", error);
		result = PASSDB_RESULT_INTERNAL_FAILURE;
	} else if (ret == 0) {
		/* say which stored scheme, for which user and mechanism: the
		   admin must change the passdb */
		char scheme[64];
		const char *data;
		size_t data_len;
		const char *stored_scheme = stored_password == NULL ? "no password" :
			password_get_scheme(stored_password, scheme, sizeof(scheme),
					    &data, &data_len) ?
			scheme : passdb->module->default_pass_scheme;
		auth_request_log_info(request,
			"Requested %s scheme, but we have only %s "
			"(user %s, mechanism %s)", request->credentials_scheme,
			stored_scheme != NULL ? stored_scheme : "an unknown scheme",
			request->user != NULL ? request->user : "?",
			request->mech != NULL ? request->mech->name : "none");
		result = PASSDB_RESULT_SCHEME_NOT_AVAILABLE;
	} else {
		/* kept in the (secure) request pool until the chain ends */
		if (request->credentials != NULL)
			explicit_bzero(request->credentials, request->credentials_size);
		request->credentials = pool_memdup(request->pool, raw, raw_len);
		request->credentials_size = raw_len;
		request->credentials_passdb = passdb;
		x_free_secret(raw, raw_len);
	}
	passdb_handle_result(request, CHAIN_CREDENTIALS, result);
}

static void passdb_chain_next(struct auth_request *request, enum chain_kind kind)
{
	struct auth *auth = request->auth;

	while (request->passdb_idx < auth->passdbs.count &&
	       passdb_should_skip(auth->passdbs.v[request->passdb_idx], request))
		request->passdb_idx++;

	if (request->passdb_idx >= auth->passdbs.count) {
		enum passdb_result result;
		if (request->passdb_success && !request->passdb_failure)
			result = PASSDB_RESULT_OK;
		else if (request->passdb_internal_failure)
			result = PASSDB_RESULT_INTERNAL_FAILURE;
		else if (request->last_passdb_result == PASSDB_RESULT_OK)
			result = PASSDB_RESULT_PASSWORD_MISMATCH; /* continue-fail */
		else
			result = request->last_passdb_result;
		passdb_chain_finish(request, kind, result);
		return;
	}
	struct auth_passdb *passdb = auth->passdbs.v[request->passdb_idx];
	const struct passdb_driver *driver = passdb->module->driver;

	request->state = AUTH_REQUEST_STATE_PASSDB;
	request->password_source = NULL;
	request->cache_key = NULL;
	request->cache_stored = NULL;
	request->cache_hit = false;
	if (kind != CHAIN_VERIFY_PLAIN && driver->lookup_credentials == NULL) {
		auth_request_log_error(request, "passdb %s doesn't support "
				       "credentials lookups", driver->name);
		passdb_handle_result(request, kind, PASSDB_RESULT_SCHEME_NOT_AVAILABLE);
		return;
	}
	if (passdb_cache_try(request, passdb, kind))
		return;
	if (kind == CHAIN_VERIFY_PLAIN) {
		if (driver->verify_plain != NULL)
			driver->verify_plain(passdb->module, request,
					     request->mech_password,
					     passdb_driver_verify_callback);
		else
			driver->lookup_credentials(passdb->module, request,
						   passdb_verify_lookup_callback);
	} else {
		driver->lookup_credentials(passdb->module, request,
					   kind == CHAIN_LOOKUP ? passdb_lookup_only_callback :
					   credentials_lookup_callback);
	}
}

static void master_target_checked(struct auth_request *request,
				  enum passdb_result result)
{
	if (result != PASSDB_RESULT_OK) {
		auth_request_log_info(request, "Master user %s logged in, but the "
				      "target user is not allowed (%s)",
				      request->master_user, passdb_result_text(result));
		auth_fields_set(request->extra_fields, "code", "authz_fail");
		result = PASSDB_RESULT_PASSWORD_MISMATCH;
	}
	request->skip_password_check = false;
	request->private_mech_plain_cb(request, result);
}

static void master_plain_done(struct auth_request *request, enum passdb_result result)
{
	request->master_phase = false;
	if (result != PASSDB_RESULT_OK) {
		request->private_mech_plain_cb(request, result);
		return;
	}
	/* the master user authenticated: continue as the target user */
	request->master_user = request->user;
	request->user = request->requested_login_user;
	request->requested_login_user = NULL;
	auth_fields_set(request->extra_fields, "auth_user", request->master_user);
	auth_request_update_log_prefix(request);
	auth_request_log_info(request, "Master user %s logged in as %s",
			      request->master_user, request->user);
	if (request->master_lookup_target)
		auth_request_lookup_passdb(request, master_target_checked);
	else
		request->private_mech_plain_cb(request, PASSDB_RESULT_OK);
}

void auth_request_verify_plain(struct auth_request *request, const char *password,
			       void (*callback)(struct auth_request *, enum passdb_result))
{
	request->mech_password = pool_strdup(request->pool, password);
	request->private_plain_callback = callback;
	if (request->requested_login_user != NULL &&
	    strcmp(request->requested_login_user, request->user) != 0) {
		bool have_master = false;
		for (size_t i = 0; i < request->auth->passdbs.count; i++)
			have_master = have_master || request->auth->passdbs.v[i]->master;
		if (!have_master) {
			auth_request_log_info(request, "Login as another user (%s) "
					      "refused: no master passdb configured",
					      request->requested_login_user);
			auth_fields_set(request->extra_fields, "code", "authz_fail");
			callback(request, PASSDB_RESULT_PASSWORD_MISMATCH);
			return;
		}
		request->master_phase = true;
		request->master_lookup_target = false;
		request->private_mech_plain_cb = callback;
		request->private_plain_callback = master_plain_done;
	}
	request->passdb_idx = 0;
	request->passdb_success = false;
	request->passdb_failure = false;
	request->passdb_internal_failure = false;
	request->last_passdb_result = PASSDB_RESULT_USER_UNKNOWN;
	if (request->auth->passdbs.count == 0) {
		auth_request_log_error(request, "No passdbs configured");
		callback(request, PASSDB_RESULT_INTERNAL_FAILURE);
		return;
	}
	auth_request_ref(request);
	passdb_chain_next(request, CHAIN_VERIFY_PLAIN);
}

void auth_request_lookup_passdb(struct auth_request *request,
				auth_request_passdb_lookup_callback_t *callback)
{
	request->private_passdb_lookup_cb = callback;
	request->passdb_idx = 0;
	request->passdb_success = false;
	request->passdb_failure = false;
	request->passdb_internal_failure = false;
	request->last_passdb_result = PASSDB_RESULT_USER_UNKNOWN;
	request->skip_password_check = true;
	if (request->auth->passdbs.count == 0) {
		callback(request, PASSDB_RESULT_USER_UNKNOWN);
		return;
	}
	auth_request_ref(request);
	passdb_chain_next(request, CHAIN_LOOKUP);
}

void auth_request_lookup_credentials(struct auth_request *request, const char *scheme,
				     auth_request_lookup_credentials_callback_t *callback)
{
	request->credentials_scheme = pool_strdup(request->pool, scheme);
	request->private_credentials_cb = callback;
	request->credentials = NULL;
	request->passdb_idx = 0;
	request->passdb_success = false;
	request->passdb_failure = false;
	request->passdb_internal_failure = false;
	request->last_passdb_result = PASSDB_RESULT_USER_UNKNOWN;
	if (request->auth->passdbs.count == 0) {
		callback(request, PASSDB_RESULT_USER_UNKNOWN, NULL, 0);
		return;
	}
	auth_request_ref(request);
	passdb_chain_next(request, CHAIN_CREDENTIALS);
}

void auth_request_set_credentials(struct auth_request *request, const char *credentials,
				  passdb_set_credentials_callback_t *callback)
{
	struct auth_passdb *passdb = request->credentials_passdb;

	if (passdb == NULL || passdb->module->driver->set_credentials == NULL) {
		auth_request_log_error(request, "passdb %s can't store credentials "
				       "(it is read-only; OTP needs a passdb with an update_query)",
				       passdb != NULL ? passdb->module->driver->name : "(none)");
		callback(request, false);
		return;
	}
	/* the cached credentials are stale now (OTP's sequence) */
	if (request->auth->cache != NULL && passdb->module->default_cache_key != NULL) {
		const char *key = cache_key_build(request, 'P', passdb->id,
						  passdb->module->default_cache_key);
		if (key != NULL && auth_cache_remove(request->auth->cache, key))
			ctx_debug(&request->log, "auth cache: entry dropped (credentials updated)");
	}
	passdb->module->driver->set_credentials(passdb->module, request, credentials, callback);
}

void auth_request_verify_plain_callback_finish(struct auth_request *request,
					       enum passdb_result result)
{
	switch (result) {
	case PASSDB_RESULT_OK:
		auth_request_success(request, NULL, 0);
		break;
	case PASSDB_RESULT_INTERNAL_FAILURE:
		auth_request_internal_failure(request);
		break;
	case PASSDB_RESULT_USER_DISABLED:
		auth_fields_set(request->extra_fields, "code", "user_disabled");
		auth_request_fail(request);
		break;
	case PASSDB_RESULT_PASS_EXPIRED:
		auth_fields_set(request->extra_fields, "code", "pass_expired");
		auth_request_fail(request);
		break;
	default:
		auth_request_fail(request);
		break;
	}
}

/* ---- userdb chain ------------------------------------------------------ */

static void userdb_chain_next(struct auth_request *request);

static void userdb_chain_finish(struct auth_request *request, enum userdb_result result)
{
	request->state = AUTH_REQUEST_STATE_FINISHED;
	request->private_userdb_cb(request, result);
	auth_request_unref(&request);
}

static void userdb_lookup_callback(struct auth_request *request,
				   enum userdb_result result);

static void userdb_cache_answer(struct auth_request *request,
				const struct auth_cache_result *res)
{
	char *value = pool_strdup(request->pool, res->value);

	request->cache_hit = true;
	cache_record_stop(request);
	if (*value == '\0') {
		ctx_debug(&request->log, "auth cache: userdb hit: user unknown");
		userdb_lookup_callback(request, USERDB_RESULT_USER_UNKNOWN);
		return;
	}
	ctx_debug(&request->log, "auth cache: userdb hit%s", res->expired ? " (expired)" : "");
	cache_restore_fields(request, value, true);
	userdb_lookup_callback(request, USERDB_RESULT_OK);
}

static bool userdb_cache_try(struct auth_request *request, struct auth_userdb *userdb)
{
	const char *template = userdb->module->default_cache_key;
	struct auth_cache_result res;

	if (request->auth->cache == NULL || template == NULL)
		return false;
	const char *key = cache_key_build(request, 'U', userdb->id, template);
	if (key == NULL)
		return false;
	request->cache_key = key;
	if (auth_cache_lookup(request->auth->cache, key, &res) && !res.expired) {
		userdb_cache_answer(request, &res);
		return true;
	}
	cache_record_start(request);
	return false;
}

/* Store the database's answer; on an internal failure answer from an
   expired entry if there is one (returns true then). */
static bool userdb_cache_update(struct auth_request *request, struct auth_userdb *userdb,
				enum userdb_result result)
{
	const char *key = request->cache_key;
	struct auth_cache_result res;

	request->cache_key = NULL;
	if (result == USERDB_RESULT_INTERNAL_FAILURE) {
		cache_record_stop(request);
		if (!auth_cache_lookup(request->auth->cache, key, &res))
			return false;
		auth_request_log_info(request, "userdb #%u (%s) failed: falling back to "
				      "expired data from the auth cache", userdb->id,
				      userdb->module->driver->name);
		userdb_cache_answer(request, &res);
		return true;
	}
	if (result == USERDB_RESULT_USER_UNKNOWN) {
		auth_cache_insert(request->auth->cache, key, "", false);
	} else if (result == USERDB_RESULT_OK) {
		const char *value = request->cache_record == NULL ||
			str_len(request->cache_record) == 0 ? "\t" :
			str_c(request->cache_record);
		auth_cache_insert(request->auth->cache, key, value, true);
	}
	cache_record_stop(request);
	return false;
}

static void userdb_lookup_callback(struct auth_request *request,
				   enum userdb_result result)
{
	struct auth_userdb *userdb = request->auth->userdbs.v[request->userdb_idx];
	enum passdb_result_action action;

	if (request->cache_key != NULL && !request->cache_hit &&
	    userdb_cache_update(request, userdb, result))
		return;

	if (result == USERDB_RESULT_OK) {
		apply_userdb_templates(request, userdb->override_fields, true);
		action = userdb->result_success;
		request->userdb_success = true;
	} else if (result == USERDB_RESULT_INTERNAL_FAILURE) {
		action = userdb->result_internalfail;
	} else {
		if (request->auth->set->auth_verbose || auth_request_want_debug(request))
			auth_request_log_info(request, "userdb %s: unknown user",
					      userdb->module->driver->name);
		action = userdb->result_failure;
	}
	switch (action) {
	case PASSDB_ACTION_RETURN_OK:
	case PASSDB_ACTION_RETURN:
		userdb_chain_finish(request, result);
		return;
	case PASSDB_ACTION_RETURN_FAIL:
		userdb_chain_finish(request, result == USERDB_RESULT_OK ?
				    USERDB_RESULT_USER_UNKNOWN : result);
		return;
	case PASSDB_ACTION_CONTINUE:
	case PASSDB_ACTION_CONTINUE_OK:
	case PASSDB_ACTION_CONTINUE_FAIL:
		break;
	}
	if (result == USERDB_RESULT_INTERNAL_FAILURE)
		request->passdb_failure = true; /* reused: "saw a tempfail" */
	request->userdb_idx++;
	userdb_chain_next(request);
}

static void userdb_chain_next(struct auth_request *request)
{
	struct auth *auth = request->auth;

	while (request->userdb_idx < auth->userdbs.count) {
		struct auth_userdb *userdb = auth->userdbs.v[request->userdb_idx];
		if (userdb->skip == AUTH_DB_SKIP_AUTHENTICATED && request->userdb_success)
			request->userdb_idx++;
		else if (userdb->skip == AUTH_DB_SKIP_UNAUTHENTICATED && !request->userdb_success)
			request->userdb_idx++;
		else
			break;
	}
	if (request->userdb_idx >= auth->userdbs.count) {
		if (request->userdb_success)
			userdb_chain_finish(request, USERDB_RESULT_OK);
		else if (request->passdb_failure)
			userdb_chain_finish(request, USERDB_RESULT_INTERNAL_FAILURE);
		else
			userdb_chain_finish(request, USERDB_RESULT_USER_UNKNOWN);
		return;
	}
	struct auth_userdb *userdb = auth->userdbs.v[request->userdb_idx];
	apply_userdb_templates(request, userdb->default_fields, false);
	request->state = AUTH_REQUEST_STATE_USERDB;
	request->cache_key = NULL;
	request->cache_hit = false;
	if (userdb_cache_try(request, userdb))
		return;
	userdb->module->driver->lookup(userdb->module, request, userdb_lookup_callback);
}

void auth_request_lookup_user(struct auth_request *request,
			      auth_request_userdb_callback_t *callback)
{
	request->private_userdb_cb = callback;
	request->userdb_idx = 0;
	request->userdb_success = false;
	request->passdb_failure = false;
	if (request->auth->userdbs.count == 0) {
		auth_request_log_error(request, "No userdbs configured");
		callback(request, USERDB_RESULT_INTERNAL_FAILURE);
		return;
	}
	auth_request_ref(request);
	userdb_chain_next(request);
}
