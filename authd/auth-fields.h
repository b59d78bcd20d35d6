#ifndef ROOST_AUTH_FIELDS_H
#define ROOST_AUTH_FIELDS_H
/* Ordered key=value fields (passdb extra fields, userdb fields). Keys are
   unique; setting a key again replaces its value in place. A NULL value
   is a bare key ("nodelay"). Memory comes from the owner's pool. */
#include "lib.h"
#include "array.h"

struct pool;

struct auth_field {
	const char *key;
	const char *value;   /* NULL = no value */
};

struct auth_fields {
	struct pool *pool;
	ARRAY(struct auth_field) fields;
};

struct auth_fields *auth_fields_create(struct pool *pool);
void auth_fields_free(struct auth_fields **fields);
void auth_fields_set(struct auth_fields *fields, const char *key, const char *value);
bool auth_fields_remove(struct auth_fields *fields, const char *key);
/* Returns the field or NULL. */
const struct auth_field *auth_fields_find(const struct auth_fields *fields, const char *key);
const char *auth_fields_get(const struct auth_fields *fields, const char *key);
bool auth_fields_exists(const struct auth_fields *fields, const char *key);
static inline size_t auth_fields_count(const struct auth_fields *fields)
	{ return fields->fields.count; }

#endif
