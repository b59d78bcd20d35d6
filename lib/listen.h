#ifndef ROOST_LISTEN_H
#define ROOST_LISTEN_H
/* Listening sockets, created by roostd (or by a service running
   standalone) and handed to service processes.

   Hand-over contract between roostd and a child: the listening fds are
   inherited (no CLOEXEC) and described in the environment variable
   ROOST_LISTENERS as space-separated "FD:KIND:NAME" items, e.g.
     ROOST_LISTENERS="3:unix:auth-client 4:unix:auth-userdb 5:inet:auth-inet"
   KIND is "unix" or "inet"; NAME is the listener's name (for unix
   listeners the basename of the socket path). The child also gets
   ROOST_MASTER_PID=<pid> so it knows it runs under roostd. */
#include "lib.h"
#include "array.h"

struct listener {
	int fd;
	bool is_unix;
	char *name;     /* basename of unix path, or inet listener name */
	char *path;     /* unix: full path, inet: "address:port" (for logs) */
};

/* The fds listen_unix() and listen_inet() return are non-blocking and
   close-on-exec; roostd clears close-on-exec in the child it hands a
   listener to.

   Create a unix socket at path (removing a stale socket first; refusing
   if a live server answers there), chmod mode, chown user/group (names or
   numbers; "" = leave). Returns fd or -1 with a malloc()ed error naming the
   call, path, errno and identity (see path-error.h). */
int listen_unix(const char *path, unsigned int mode, const char *user,
		const char *group, char **error_r);
/* Create a TCP listener on address:port. address is a literal IPv4/IPv6
   address, "*" (all IPv4) or "::" (all IPv6, v6only). */
int listen_inet(const char *address, unsigned int port, bool reuse_port,
		char **error_r);

/* A named array type: ARRAY() spelled out inside a prototype would be an
   anonymous struct no caller could pass. Declare yours as
     listener_array_t listeners = ARRAY_INIT; */
typedef ARRAY(struct listener) listener_array_t;

/* Parse ROOST_LISTENERS from the environment into listeners (appended).
   The fds get FD_CLOEXEC, so they don't leak into the service's own
   children. Returns number found (0 if the variable is unset), or -1 with
   error_r if the variable is malformed or names a closed fd. */
int listen_from_env(listener_array_t *listeners, char **error_r);
/* Build the ROOST_LISTENERS value for the given listeners (malloc()ed). */
char *listen_to_env(const struct listener *listeners, size_t count);
/* Free name and path. Does not close the fd (the owner closes it). */
void listener_free_members(struct listener *l);

#endif
