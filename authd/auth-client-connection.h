#ifndef ROOST_AUTH_CLIENT_CONNECTION_H
#define ROOST_AUTH_CLIENT_CONNECTION_H
/* Auth client protocol 1.2 server side (spec/auth-client-protocol.md):
   handshake, AUTH/CONT/CANCEL, replies, failure delay, flow control. */
#include "lib.h"

struct auth;
struct auth_request;
struct auth_client_connection;

/* login = the connection is a login socket (auth-login): CPID must be
   unique and successful requests are kept for the master's REQUEST. */
struct auth_client_connection *
auth_client_connection_create(struct auth *auth, int fd, bool login);
void auth_client_connections_destroy_all(void);
/* Find a login connection by its CPID (for REQUEST). */
struct auth_client_connection *auth_client_connection_lookup(pid_t pid);
/* REQUEST support: take a finished successful request. Returns NULL with
   error_r if the cookie is wrong or the request is unknown/unfinished. */
struct auth_request *
auth_client_connection_claim_request(struct auth_client_connection *conn,
				     uint32_t id, const char *cookie_hex,
				     const char **error_r);

/* Periodic housekeeping: flush delayed failures, time out requests. */
void auth_client_connections_init(struct auth *auth);
void auth_client_connections_deinit(void);
unsigned int auth_client_connections_count(void);
/* The per-IP penalty table (NULL when the config disables the penalty);
   tests replace its clock. */
struct auth_penalty *auth_client_connections_penalty(void);

#endif
