#include "lib.h"
#include "pool.h"
#include "auth-fields.h"

#include <stdlib.h>

struct auth_fields *auth_fields_create(struct pool *pool)
{
	struct auth_fields *fields = pool_alloc(pool, sizeof(*fields));
	fields->pool = pool;
	return fields;
}

void auth_fields_free(struct auth_fields **_fields)
{
	struct auth_fields *fields = *_fields;
	if (fields == NULL)
		return;
	*_fields = NULL;
	array_free(&fields->fields);
}

static struct auth_field *find(const struct auth_fields *fields, const char *key)
{
	for (size_t i = 0; i < fields->fields.count; i++) {
		if (strcmp(fields->fields.v[i].key, key) == 0)
			return &fields->fields.v[i];
	}
	return NULL;
}

void auth_fields_set(struct auth_fields *fields, const char *key, const char *value)
{
	struct auth_field *field = find(fields, key);
	if (field == NULL) {
		field = array_append_space(&fields->fields);
		field->key = pool_strdup(fields->pool, key);
	}
	field->value = value == NULL ? NULL : pool_strdup(fields->pool, value);
}

bool auth_fields_remove(struct auth_fields *fields, const char *key)
{
	struct auth_field *field = find(fields, key);
	if (field == NULL)
		return false;
	array_delete(&fields->fields, (size_t)(field - fields->fields.v), 1);
	return true;
}

const struct auth_field *auth_fields_find(const struct auth_fields *fields, const char *key)
{
	return find(fields, key);
}

const char *auth_fields_get(const struct auth_fields *fields, const char *key)
{
	const struct auth_field *field = find(fields, key);
	return field == NULL ? NULL : (field->value == NULL ? "" : field->value);
}

bool auth_fields_exists(const struct auth_fields *fields, const char *key)
{
	return find(fields, key) != NULL;
}
