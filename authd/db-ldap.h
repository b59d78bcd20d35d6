#ifndef ROOST_DB_LDAP_H
#define ROOST_DB_LDAP_H
/* The ldap passdb/userdb backend: Dovecot 2.3's dovecot-ldap.conf.ext
   settings, attribute mapping (pass_attrs/user_attrs/iterate_attrs), and
   one shared set of connections per settings file (passdb and userdb
   naming the same file share it, as in Dovecot).

   Connections (all on the event loop thread):
   - the main connection, bound as dn/dnpass (anonymous without dn), runs
     the searches; many may be in flight at once (message ids);
   - the bind connection runs the user binds of auth_bind = yes, one at a
     time (LDAP allows no other operation while a bind is in progress), so
     the main connection stays bound as dn.
   Each is opened lazily by the first request that needs it. Opening is
   synchronous (connect, StartTLS, the dn bind) but bounded by the network
   timeout (5 s unless ldaprc says NETWORK_TIMEOUT); the URIs are tried in
   order (failover). Replies are read when the socket is readable
   (libevent), never by blocking. A lost connection fails its pending
   requests with the reason (URI and libldap's error text); reconnects
   then wait 1 s, doubling up to 8 s, and requests arriving meanwhile fail
   at once with the last connect error. Every request has a timeout
   (ldaprc TIMEOUT, else 30 s); a timed out request is abandoned.

   Files: db-ldap-settings.c parses the settings and maps attributes (no
   libldap needed); db-ldap.c has the connections.

   Templates: %variables in base, the filters and auth_bind_userdn are
   escaped for LDAP (db_ldap_escape). Attribute templates know
   %{ldap:attr[:default]}, %{ldap_dn} and %$ (the attribute's value). */
#include "lib.h"

struct pool;
struct str;
struct event_base;
struct auth_request;

/* One entry of a search reply, copied out of libldap. Attribute names
   compare case-insensitively (as LDAP does). */
struct db_ldap_attr {
	const char *name;
	const char *const *values;    /* NULL-terminated, may be empty */
	bool used;                    /* for the debug line: mapped */
};

struct db_ldap_entry {
	const char *dn;
	struct db_ldap_attr *attrs;
	unsigned int attr_count;
};

/* One "ldapAttr=field" / "ldapAttr=field=template" / "=field=template" /
   "!ldapAttr" item of an attrs setting. */
struct db_ldap_field {
	const char *name;             /* roost field name; may have %vars */
	const char *ldap_attr;        /* "" for =field=template */
	const char *value_template;   /* NULL = the attribute's value */
	bool skip;                    /* !ldapAttr: fetched, not used */
};

struct db_ldap_attr_map {
	struct db_ldap_field *fields;
	unsigned int count;
	/* the attributes to ask for (NULL-terminated; libldap's char **) */
	char **attr_names;
	/* the request %variables the templates use ("%u %{rip}"), for the
	   cache key; "" if none */
	const char *request_vars;
};

/* dovecot-ldap.conf.ext. Strings live as long as the db. */
struct db_ldap_settings {
	const char *hosts;
	const char *uris;
	const char *dn;
	const char *dnpass;
	bool auth_bind;
	const char *auth_bind_userdn;
	bool tls;
	bool sasl_bind;
	const char *sasl_mech, *sasl_realm, *sasl_authz_id;
	const char *tls_ca_cert_file;
	const char *tls_ca_cert_dir;
	const char *tls_cert_file;
	const char *tls_key_file;
	const char *tls_cipher_suite;
	const char *tls_require_cert;
	const char *deref;
	const char *scope;
	const char *base;
	unsigned int ldap_version;
	const char *debug_level;
	const char *ldaprc_path;
	const char *user_attrs;
	const char *user_filter;
	const char *pass_attrs;
	const char *pass_filter;
	const char *iterate_attrs;
	const char *iterate_filter;
	const char *default_pass_scheme;
	bool userdb_warning_disable;
	bool blocking;

	/* parsed */
	const char *const *uri_list;   /* from uris, else from hosts */
	int deref_value;
	int scope_value;
	int require_cert_value;        /* -1 = libldap's default */
	struct db_ldap_attr_map pass_map, user_map, iterate_map;
};

/* The drivers (passdb/ldap.c, userdb/ldap.c), registered in passdb.c. */
struct passdb_driver;
struct userdb_driver;
extern const struct passdb_driver passdb_driver_ldap;
extern const struct userdb_driver userdb_driver_ldap;

struct db_ldap;

/* Open (or share) the db for this settings file. error_r is allocated
   from pool and names file:line for syntax errors. Nothing is connected
   yet. */
int db_ldap_init(struct pool *pool, const char *config_path,
		 struct db_ldap **db_r, const char **error_r);
/* The last unref fails the pending requests ("shutting down") and
   disconnects. */
void db_ldap_unref(struct db_ldap **db);
const struct db_ldap_settings *db_ldap_get_settings(const struct db_ldap *db);
const char *db_ldap_get_config_path(const struct db_ldap *db);

/* Parse a settings file without creating a db (unit tests). pool holds
   the result. */
int db_ldap_settings_read(struct pool *pool, const char *path,
			  struct db_ldap_settings *set, const char **error_r);
/* Parse one attrs setting into map (unit tests, settings). */
int db_ldap_parse_attrs(struct pool *pool, const char *attrs,
			struct db_ldap_attr_map *map, const char **error_r);

/* Escape a value for an LDAP filter or DN as Dovecot 2.3 does: the
   RFC 4515 specials * ( ) \ plus the RFC 4514 DN specials , # + < > ; "
   = and space, and bytes >= 0x80, become \XX (hex). Result from pool
   (or value itself when nothing needs escaping). Matches
   auth_request_escape_func_t. */
const char *db_ldap_escape(const char *value, void *context, struct pool *pool);

/* Expand template for request with every %variable escaped. Returns -1
   with error_r (request pool). */
int db_ldap_expand(struct str *dest, const char *template,
		   const struct auth_request *request, const char **error_r);

/* Apply map to entry: for each field call set_field(name, value). With
   request NULL (iteration) the templates see no request variables.
   Multiple values: the first is used, with a warning (logged through
   request when there is one). */
typedef void db_ldap_set_field_t(const char *name, const char *value,
				 void *context);
void db_ldap_apply_map(const struct db_ldap_attr_map *map,
		       struct db_ldap_entry *entry, struct auth_request *request,
		       struct pool *pool, db_ldap_set_field_t *set_field,
		       void *context);
/* The values of field name (e.g. "user" for iteration): a mapped
   attribute's values as they are (all of them), a template's one
   expansion. NULL when the entry has none. */
const char *const *db_ldap_map_values(const struct db_ldap_attr_map *map,
				      struct db_ldap_entry *entry,
				      const char *name, struct pool *pool);

/* ---- requests --------------------------------------------------------- */

struct db_ldap_reply {
	/* -1: failed (error says why, logged by the caller); 0 done */
	int ret;
	const char *error;
	/* search: how many entries, and the first one (NULL if none) */
	unsigned int entry_count;
	struct db_ldap_entry *entry;
	/* bind: libldap's result code (LDAP_SUCCESS,
	   LDAP_INVALID_CREDENTIALS...) when ret == 0 */
	int bind_result;
};

/* reply and everything in it is freed when the callback returns. */
typedef void db_ldap_callback_t(const struct db_ldap_reply *reply, void *context);

/* Search base (expanded; "" = the server's default) with filter on the
   main connection, asking for attrs. The callback is always called
   later, from the event loop, never from within this call. */
void db_ldap_search(struct db_ldap *db, struct event_base *base,
		    const char *search_base, const char *filter, char **attrs,
		    db_ldap_callback_t *callback, void *context);
/* Bind as dn with password on the bind connection. */
void db_ldap_bind(struct db_ldap *db, struct event_base *base,
		  const char *dn, const char *password,
		  db_ldap_callback_t *callback, void *context);

/* Iterate (userdb iteration; the master protocol drives it
   synchronously): a search on a connection of its own, in pages of 500
   (RFC 2696) where the server supports it. entry_callback is called for
   each entry. Returns 0, or -1 with error_r (pool). */
int db_ldap_search_sync(struct db_ldap *db, struct pool *pool,
			const char *search_base, const char *filter, char **attrs,
			void (*entry_callback)(struct db_ldap_entry *entry,
					       void *context),
			void *context, const char **error_r);

/* The cache key template of a driver using these templates plus the
   request variables of map (auth-cache.md 1.2). */
const char *db_ldap_cache_key(struct pool *pool, const char *const *templates,
			      const struct db_ldap_attr_map *map);

#endif
