#ifndef ROOST_AUTH_DB_FIELDS_H
#define ROOST_AUTH_DB_FIELDS_H
/* Helpers for drivers that store fields as "key=value key2=value2"
   (passwd-file extra fields, static args). */
#include "lib.h"

struct auth_request;

enum auth_db_fields_target {
	AUTH_DB_FIELDS_PASSDB,   /* userdb_* go to userdb fields, rest to passdb */
	AUTH_DB_FIELDS_USERDB,   /* only userdb_* (prefix stripped) */
	AUTH_DB_FIELDS_USERDB_ALL, /* every field is a userdb field */
};

/* %variables in values are expanded for the request. */
void auth_db_fields_import(struct auth_request *request, const char *fields,
			   enum auth_db_fields_target target);

#endif
