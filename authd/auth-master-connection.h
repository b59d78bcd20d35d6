#ifndef ROOST_AUTH_MASTER_CONNECTION_H
#define ROOST_AUTH_MASTER_CONNECTION_H
/* Auth master / userdb protocol server (spec/auth-master-protocol.md):
   USER, PASS, LIST on both socket kinds; REQUEST and CACHE-FLUSH only on
   the master socket. */
#include "lib.h"

struct auth;

void auth_master_connection_create(struct auth *auth, int fd, bool userdb_only);
void auth_master_connections_destroy_all(void);
unsigned int auth_master_connections_count(void);

#endif
