#include "lib.h"
#include "str.h"
#include "auth-request.h"
#include "auth-db-fields.h"

#include <stdlib.h>

void auth_db_fields_import(struct auth_request *request, const char *fields,
			   enum auth_db_fields_target target)
{
	char *copy, *saveptr = NULL;
	string_t *value = str_create(64);

	if (fields == NULL || *fields == '\0') {
		str_free(&value);
		return;
	}
	copy = x_strdup(fields);
	for (char *tok = strtok_r(copy, " ", &saveptr); tok != NULL;
	     tok = strtok_r(NULL, " ", &saveptr)) {
		char *eq = strchr(tok, '=');
		const char *key = tok, *rest, *error;
		const char *val = NULL;

		if (eq != NULL) {
			*eq = '\0';
			str_truncate(value, 0);
			if (auth_request_var_expand(value, eq + 1, request, &error) < 0)
				auth_request_log_error(request, "Failed to expand field %s=%s: %s",
						       key, eq + 1, error);
			val = str_c(value);
		}
		switch (target) {
		case AUTH_DB_FIELDS_PASSDB:
			auth_request_set_field(request, key, val, NULL);
			break;
		case AUTH_DB_FIELDS_USERDB:
			if (str_begins(key, "userdb_", &rest))
				auth_request_set_userdb_field(request, rest, val);
			break;
		case AUTH_DB_FIELDS_USERDB_ALL:
			auth_request_set_userdb_field(request, key, val);
			break;
		}
	}
	free(copy);
	str_free(&value);
}
