#ifndef ROOST_CONNECTION_H
#define ROOST_CONNECTION_H
/* Line-oriented stream connections on libevent.

   Input is split at LF; a line longer than max_line_length, or one holding
   a NUL byte, is an error reported through the input_error callback (the
   owner logs the reason and destroys the connection): untrusted input never
   grows memory beyond max_line_length.

   Output is buffered; when more than output_high bytes wait unsent,
   reading pauses (so a client that never reads cannot make us buffer
   without bound) and resumes below output_low. The owner can also pause
   input itself (connection_input_pause) while it has too much work queued
   for this peer. */
#include "lib.h"

struct event_base;
struct connection;

enum connection_error {
	CONNECTION_ERROR_LINE_TOO_LONG,
	CONNECTION_ERROR_NUL_BYTE,
};

struct connection_vfuncs {
	/* One complete line, LF (and a CR before it) removed. Return 0 to
	   continue, -1 if the connection was destroyed by the callback. */
	int (*input_line)(struct connection *conn, char *line, size_t len);
	/* Malformed input; the connection is still alive. */
	void (*input_error)(struct connection *conn, enum connection_error error);
	/* Peer closed or I/O error (errno_value = 0 for a clean EOF). The
	   owner must destroy the connection. */
	void (*disconnected)(struct connection *conn, int errno_value);
	/* Output buffer drained below output_low (optional). */
	void (*output_drained)(struct connection *conn);
};

struct connection_settings {
	size_t max_line_length;
	size_t output_high;   /* default 50 KiB */
	size_t output_low;    /* default 17 KiB */
};

/* Takes ownership of fd (closed on destroy). context is the owner's. */
struct connection *
connection_create(struct event_base *base, int fd,
		  const struct connection_settings *set,
		  const struct connection_vfuncs *vfuncs, void *context);
void connection_destroy(struct connection **conn);

void *connection_get_context(const struct connection *conn);
int connection_get_fd(const struct connection *conn);

void connection_send(struct connection *conn, const void *data, size_t size);
static inline void connection_send_str(struct connection *conn, const char *s)
	{ connection_send(conn, s, strlen(s)); }
size_t connection_output_pending(const struct connection *conn);

/* Pause/resume reading (owner's flow control; independent of the output
   watermark pause). Resuming processes lines already buffered. */
void connection_input_pause(struct connection *conn);
void connection_input_resume(struct connection *conn);
/* Stop processing further input from inside input_line (e.g. after a
   protocol error that will close the connection). */
void connection_input_stop(struct connection *conn);

/* Peer credentials of a unix socket (SO_PEERCRED); -1 if not unix. */
int connection_get_peer_cred(const struct connection *conn, pid_t *pid_r,
			     uid_t *uid_r, gid_t *gid_r);

#endif
