/* Line-oriented connections: libevent events with evbuffers. Output is
   flushed once per event loop iteration (a write event is armed on the
   first send), so pipelined requests get batched replies. */
#include "lib.h"
#include "connection.h"
#include "str.h"

#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>
#include <event2/event.h>
#include <event2/buffer.h>

#define DEFAULT_OUTPUT_HIGH (50 * 1024)
#define DEFAULT_OUTPUT_LOW (17 * 1024)
#define READ_CHUNK 16384

struct connection {
	struct event_base *base;
	int fd;
	struct connection_settings set;
	const struct connection_vfuncs *v;
	void *context;

	struct event *read_ev, *write_ev;
	struct evbuffer *inbuf, *outbuf;
	string_t line;

	bool owner_paused;     /* connection_input_pause() */
	bool output_paused;    /* too much unsent output */
	bool input_stopped;    /* connection_input_stop() */
	bool read_ev_added;
	bool eof;
	int eof_errno;
	bool in_callback;
	bool destroy_pending;
};

static void connection_update_read(struct connection *conn)
{
	bool want = !conn->owner_paused && !conn->output_paused &&
		!conn->input_stopped && !conn->eof;

	if (want && !conn->read_ev_added) {
		event_add(conn->read_ev, NULL);
		conn->read_ev_added = true;
	} else if (!want && conn->read_ev_added) {
		event_del(conn->read_ev);
		conn->read_ev_added = false;
	}
}

static bool can_process(const struct connection *conn)
{
	return !conn->owner_paused && !conn->output_paused &&
		!conn->input_stopped && !conn->destroy_pending;
}

/* Returns -1 if the connection was destroyed. */
static int connection_process_lines(struct connection *conn)
{
	while (can_process(conn)) {
		struct evbuffer_ptr ptr;
		size_t eol_len = 0;
		size_t avail = evbuffer_get_length(conn->inbuf);

		if (avail == 0)
			break;
		ptr = evbuffer_search_eol(conn->inbuf, NULL, &eol_len,
					  EVBUFFER_EOL_LF);
		if (ptr.pos < 0) {
			if (avail > conn->set.max_line_length) {
				conn->input_stopped = true;
				conn->v->input_error(conn, CONNECTION_ERROR_LINE_TOO_LONG);
				return conn->destroy_pending ? -1 : 0;
			}
			break;
		}
		size_t len = (size_t)ptr.pos;
		if (len > conn->set.max_line_length) {
			conn->input_stopped = true;
			conn->v->input_error(conn, CONNECTION_ERROR_LINE_TOO_LONG);
			return conn->destroy_pending ? -1 : 0;
		}
		str_truncate(&conn->line, 0);
		str_append_n(&conn->line, evbuffer_pullup(conn->inbuf, (ssize_t)len + 1), len);
		evbuffer_drain(conn->inbuf, len + 1);
		if (len > 0 && conn->line.data[len - 1] == '\r') {
			len--;
			str_truncate(&conn->line, len);
		}
		if (memchr(conn->line.data, '\0', len) != NULL) {
			conn->input_stopped = true;
			conn->v->input_error(conn, CONNECTION_ERROR_NUL_BYTE);
			return conn->destroy_pending ? -1 : 0;
		}
		if (conn->v->input_line(conn, conn->line.data, len) < 0)
			return -1;
	}
	return 0;
}

static void connection_free(struct connection *conn)
{
	/* best effort: push out what's left (e.g. a reply before an error
	   closed the connection) */
	if (evbuffer_get_length(conn->outbuf) > 0 && conn->fd >= 0 &&
	    !(conn->eof && conn->eof_errno != 0))
		(void)evbuffer_write(conn->outbuf, conn->fd);
	event_free(conn->read_ev);
	event_free(conn->write_ev);
	evbuffer_free(conn->inbuf);
	evbuffer_free(conn->outbuf);
	str_deinit(&conn->line);
	if (conn->fd >= 0)
		close(conn->fd);
	free(conn);
}

static void connection_read_cb(evutil_socket_t fd, short what ATTR_UNUSED,
			       void *context)
{
	struct connection *conn = context;
	int ret = 0;

	if (conn->read_ev_added && !conn->eof) {
		ret = evbuffer_read(conn->inbuf, fd, READ_CHUNK);
		if (ret == 0) {
			conn->eof = true;
			conn->eof_errno = 0;
		} else if (ret < 0 && errno != EAGAIN && errno != EINTR) {
			conn->eof = true;
			conn->eof_errno = errno;
		}
	}
	conn->in_callback = true;
	if (connection_process_lines(conn) < 0) {
		/* destroyed inside: connection_destroy() deferred the free */
		connection_free(conn);
		return;
	}
	conn->in_callback = false;
	if (conn->destroy_pending) {
		connection_free(conn);
		return;
	}
	if (conn->eof && !conn->input_stopped) {
		/* Lines already received were processed (unless paused: then
		   the owner learns of the EOF once it resumes). */
		if (!conn->owner_paused && !conn->output_paused) {
			conn->input_stopped = true;
			connection_update_read(conn);
			conn->v->disconnected(conn, conn->eof_errno);
			return;
		}
	}
	connection_update_read(conn);
}

static void connection_write_cb(evutil_socket_t fd, short what ATTR_UNUSED,
				void *context)
{
	struct connection *conn = context;

	while (evbuffer_get_length(conn->outbuf) > 0) {
		int ret = evbuffer_write(conn->outbuf, fd);
		if (ret < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			/* Peer is gone: drop output, report via the read side. */
			evbuffer_drain(conn->outbuf, evbuffer_get_length(conn->outbuf));
			conn->eof = true;
			conn->eof_errno = errno;
			conn->input_stopped = true;
			connection_update_read(conn);
			conn->v->disconnected(conn, errno);
			return;
		}
		if (ret == 0)
			break;
	}
	size_t pending = evbuffer_get_length(conn->outbuf);
	if (pending > 0)
		event_add(conn->write_ev, NULL);
	if (conn->output_paused && pending <= conn->set.output_low) {
		conn->output_paused = false;
		connection_update_read(conn);
		/* process lines buffered while paused */
		event_active(conn->read_ev, EV_READ, 0);
	}
	if (pending <= conn->set.output_low && conn->v->output_drained != NULL)
		conn->v->output_drained(conn);
}

struct connection *
connection_create(struct event_base *base, int fd,
		  const struct connection_settings *set,
		  const struct connection_vfuncs *vfuncs, void *context)
{
	struct connection *conn = x_malloc(sizeof(*conn));

	conn->base = base;
	conn->fd = fd;
	conn->set = *set;
	if (conn->set.output_high == 0)
		conn->set.output_high = DEFAULT_OUTPUT_HIGH;
	if (conn->set.output_low == 0 || conn->set.output_low > conn->set.output_high)
		conn->set.output_low = conn->set.output_high / 3;
	if (conn->set.max_line_length == 0)
		conn->set.max_line_length = 8192;
	conn->v = vfuncs;
	conn->context = context;
	evutil_make_socket_nonblocking(fd);
	evutil_make_socket_closeonexec(fd);
	conn->read_ev = event_new(base, fd, EV_READ | EV_PERSIST,
				  connection_read_cb, conn);
	conn->write_ev = event_new(base, fd, EV_WRITE, connection_write_cb, conn);
	conn->inbuf = evbuffer_new();
	conn->outbuf = evbuffer_new();
	str_init(&conn->line, 256, 0);
	connection_update_read(conn);
	return conn;
}

void connection_destroy(struct connection **_conn)
{
	struct connection *conn = *_conn;

	if (conn == NULL)
		return;
	*_conn = NULL;
	if (conn->in_callback) {
		/* freed by the read callback once the stack unwinds */
		conn->destroy_pending = true;
		event_del(conn->read_ev);
		event_del(conn->write_ev);
		return;
	}
	connection_free(conn);
}

void *connection_get_context(const struct connection *conn)
{
	return conn->context;
}

int connection_get_fd(const struct connection *conn)
{
	return conn->fd;
}

void connection_send(struct connection *conn, const void *data, size_t size)
{
	if (conn->eof && conn->eof_errno != 0)
		return;
	evbuffer_add(conn->outbuf, data, size);
	if (!event_pending(conn->write_ev, EV_WRITE, NULL))
		event_add(conn->write_ev, NULL);
	if (!conn->output_paused &&
	    evbuffer_get_length(conn->outbuf) > conn->set.output_high) {
		conn->output_paused = true;
		connection_update_read(conn);
	}
}

size_t connection_output_pending(const struct connection *conn)
{
	return evbuffer_get_length(conn->outbuf);
}

void connection_input_pause(struct connection *conn)
{
	conn->owner_paused = true;
	connection_update_read(conn);
}

void connection_input_resume(struct connection *conn)
{
	if (!conn->owner_paused)
		return;
	conn->owner_paused = false;
	connection_update_read(conn);
	event_active(conn->read_ev, EV_READ, 0);
}

void connection_input_stop(struct connection *conn)
{
	conn->input_stopped = true;
	connection_update_read(conn);
}

int connection_get_peer_cred(const struct connection *conn, pid_t *pid_r,
			     uid_t *uid_r, gid_t *gid_r)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(conn->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -1;
	*pid_r = cred.pid;
	*uid_r = cred.uid;
	*gid_r = cred.gid;
	return 0;
}
