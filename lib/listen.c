/* Listening sockets for roostd and standalone services. */
#include "lib.h"
#include "str.h"
#include "path-error.h"
#include "listen.h"

#include <stdio.h>
#include <unistd.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

/* The kernel caps this at net.core.somaxconn. Auth clients (Postfix smtpd,
   login processes) connect in bursts at startup, so ask for plenty. */
#define LISTEN_BACKLOG SOMAXCONN

/* "call(where) failed: strerror (euid=.. egid=..)" for calls that have no
   path the permission helper could inspect (sockets, addresses). */
static char *call_error(const char *call, const char *where, int err)
{
	char *identity = path_error_identity();
	char *error = x_printf("%s(%s) failed: %s (%s)", call, where,
			       strerror(err), identity);

	free(identity);
	return error;
}

/* path_error() plus a note about what we were trying to do. */
static char *path_error_note(const char *call, const char *path, int err,
			     const char *note)
{
	char *base = path_error(call, path, err);
	char *error = x_printf("%s (%s)", base, note);

	free(base);
	return error;
}

static bool str_is_number(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
	}
	return true;
}

static int lookup_uid(const char *user, uid_t *uid_r, char **error_r)
{
	struct passwd pw, *result;
	char buf[4096];
	unsigned int num;
	int ret;

	if (str_is_number(user)) {
		if (str_to_uint(user, &num) < 0) {
			*error_r = x_printf("invalid uid '%s'", user);
			return -1;
		}
		*uid_r = (uid_t)num;
		return 0;
	}
	ret = getpwnam_r(user, &pw, buf, sizeof(buf), &result);
	if (ret != 0) {
		*error_r = x_printf("getpwnam_r(%s) failed: %s", user, strerror(ret));
		return -1;
	}
	if (result == NULL) {
		*error_r = x_printf("unknown user '%s'", user);
		return -1;
	}
	*uid_r = pw.pw_uid;
	return 0;
}

static int lookup_gid(const char *group, gid_t *gid_r, char **error_r)
{
	struct group gr, *result;
	char buf[16384];
	unsigned int num;
	int ret;

	if (str_is_number(group)) {
		if (str_to_uint(group, &num) < 0) {
			*error_r = x_printf("invalid gid '%s'", group);
			return -1;
		}
		*gid_r = (gid_t)num;
		return 0;
	}
	ret = getgrnam_r(group, &gr, buf, sizeof(buf), &result);
	if (ret != 0) {
		*error_r = x_printf("getgrnam_r(%s) failed: %s", group, strerror(ret));
		return -1;
	}
	if (result == NULL) {
		*error_r = x_printf("unknown group '%s'", group);
		return -1;
	}
	*gid_r = gr.gr_gid;
	return 0;
}

/* After bind() failed with EADDRINUSE: is a server listening at path?
   Returns 1 if a live server answers, 0 if the socket is stale (or gone),
   -1 with error_r if it can't be told (or the path is no socket at all). */
static int unix_socket_in_use(const char *path, const struct sockaddr_un *sa,
			      char **error_r)
{
	struct stat st;
	int fd, err;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = path_error("lstat", path, errno);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		/* connect() to a regular file fails with ECONNREFUSED too;
		   never take that as permission to delete the file. */
		*error_r = x_printf("listen_unix(%s): file exists and is not a socket",
				    path);
		return -1;
	}
	/* Non-blocking, so a live server with a full backlog answers EAGAIN
	   instead of hanging us. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*error_r = call_error("socket", "AF_UNIX", errno);
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0) {
		close(fd);
		return 1;
	}
	err = errno;
	close(fd);
	switch (err) {
	case ECONNREFUSED:
	case ENOENT:
		return 0;
	case EAGAIN:
	case EINPROGRESS:
		return 1;
	default:
		*error_r = path_error("connect", path, err);
		return -1;
	}
}

static int unix_bind(int fd, const char *path, const struct sockaddr_un *sa,
		     char **error_r)
{
	mode_t old_umask;
	int ret, err;

	for (unsigned int attempt = 0;; attempt++) {
		/* Until the chmod() below, nobody but the owner may connect,
		   whatever umask the caller runs with. */
		old_umask = umask(0077);
		ret = bind(fd, (const struct sockaddr *)sa, sizeof(*sa));
		err = errno;
		umask(old_umask);
		if (ret == 0)
			return 0;
		if (err != EADDRINUSE || attempt > 0) {
			*error_r = path_error("bind", path, err);
			return -1;
		}
		ret = unix_socket_in_use(path, sa, error_r);
		if (ret < 0)
			return -1;
		if (ret > 0) {
			*error_r = x_printf("listen_unix(%s): another server is "
					    "already listening on this socket", path);
			return -1;
		}
		/* stale socket left by a crashed process */
		if (unlink(path) < 0 && errno != ENOENT) {
			*error_r = path_error_note("unlink", path, errno,
						   "removing stale socket");
			return -1;
		}
	}
}

static int unix_set_owner_mode(const char *path, unsigned int mode,
			       const char *user, const char *group,
			       char **error_r)
{
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	char *note;

	if (user != NULL && user[0] != '\0' &&
	    lookup_uid(user, &uid, error_r) < 0)
		goto lookup_failed;
	if (group != NULL && group[0] != '\0' &&
	    lookup_gid(group, &gid, error_r) < 0)
		goto lookup_failed;

	/* chown first: until chmod() the mode is owner-only (see bind). */
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    chown(path, uid, gid) < 0) {
		note = x_printf("wanted user=%s group=%s",
				user != NULL && user[0] != '\0' ? user : "-",
				group != NULL && group[0] != '\0' ? group : "-");
		*error_r = path_error_note("chown", path, errno, note);
		free(note);
		return -1;
	}
	if (chmod(path, (mode_t)mode) < 0) {
		note = x_printf("wanted mode=0%o", mode);
		*error_r = path_error_note("chmod", path, errno, note);
		free(note);
		return -1;
	}
	return 0;

lookup_failed:
	note = *error_r;
	*error_r = x_printf("listen_unix(%s): %s", path, note);
	free(note);
	return -1;
}

int listen_unix(const char *path, unsigned int mode, const char *user,
		const char *group, char **error_r)
{
	struct sockaddr_un sa;
	size_t path_len = strlen(path);
	int fd;

	*error_r = NULL;
	if (path_len == 0 || path_len >= sizeof(sa.sun_path)) {
		*error_r = x_printf("listen_unix(%s): path length %zu is not "
				    "within 1..%zu bytes", path, path_len,
				    sizeof(sa.sun_path) - 1);
		return -1;
	}
	if (mode > 07777) {
		*error_r = x_printf("listen_unix(%s): invalid mode 0%o", path, mode);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, path_len);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*error_r = call_error("socket", "AF_UNIX", errno);
		return -1;
	}
	if (unix_bind(fd, path, &sa, error_r) < 0) {
		close(fd);
		return -1;
	}
	/* From here on the socket file is ours: remove it on failure. */
	if (unix_set_owner_mode(path, mode, user, group, error_r) < 0)
		goto failed;
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		*error_r = path_error("listen", path, errno);
		goto failed;
	}
	return fd;

failed:
	(void)unlink(path);
	close(fd);
	return -1;
}

/* "1.2.3.4:143" or "[::1]:143" */
static char *sockaddr_to_text(const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		return x_printf("%s:%u", host, (unsigned int)ntohs(sin->sin_port));
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		return x_printf("[%s]:%u", host, (unsigned int)ntohs(sin6->sin6_port));
	}
	return x_printf("(address family %d)", sa->sa_family);
}

static int inet_setsockopt(int fd, int level, int option, const char *name,
			   const char *where, char **error_r)
{
	int one = 1;
	char *call;

	if (setsockopt(fd, level, option, &one, sizeof(one)) == 0)
		return 0;
	call = x_printf("setsockopt(%s)", name);
	*error_r = call_error(call, where, errno);
	free(call);
	return -1;
}

int listen_inet(const char *address, unsigned int port, bool reuse_port,
		char **error_r)
{
	struct addrinfo hints, *ai;
	struct in_addr v4;
	char *host, *where = NULL;
	char port_str[16];
	size_t len;
	int fd = -1, ret;

	*error_r = NULL;
	if (port > 65535) {
		*error_r = x_printf("listen_inet(%s): invalid port %u", address, port);
		return -1;
	}
	if (strcmp(address, "*") == 0)
		host = x_strdup("0.0.0.0");
	else if (address[0] == '[' && (len = strlen(address)) > 2 &&
		 address[len - 1] == ']')
		host = x_strndup(address + 1, len - 2);
	else
		host = x_strdup(address);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(port_str, sizeof(port_str), "%u", port);
	/* getaddrinfo() also takes inet_aton() shorthands ("1.2.3"):
	   IPv4 must be dotted quad. */
	if (strchr(host, ':') == NULL && inet_pton(AF_INET, host, &v4) != 1)
		ret = EAI_NONAME;
	else
		ret = getaddrinfo(host, port_str, &hints, &ai);
	if (ret != 0) {
		*error_r = x_printf("listen_inet(%s): not an IP address "
				    "(want a literal IPv4 or IPv6 address, "
				    "* or ::)", address);
		free(host);
		return -1;
	}
	free(host);
	where = sockaddr_to_text(ai->ai_addr);

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*error_r = call_error("socket", where, errno);
		goto failed;
	}
	/* Restarting roostd must not wait for TIME_WAIT connections. */
	if (inet_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR",
			    where, error_r) < 0)
		goto failed;
	if (reuse_port &&
	    inet_setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT",
			    where, error_r) < 0)
		goto failed;
	/* "::" means IPv6 only, so that "*, ::" can bind both families on
	   the same port (Dovecot's listen semantics). */
	if (ai->ai_family == AF_INET6 &&
	    inet_setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY",
			    where, error_r) < 0)
		goto failed;
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		*error_r = call_error("bind", where, errno);
		goto failed;
	}
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		*error_r = call_error("listen", where, errno);
		goto failed;
	}
	freeaddrinfo(ai);
	free(where);
	return fd;

failed:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	free(where);
	return -1;
}

/* Where an inherited listener is bound, for log lines. */
static char *listener_fd_describe(int fd, bool is_unix, const char *name)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return x_strdup(name);
	if (is_unix) {
		const struct sockaddr_un *sun = (const struct sockaddr_un *)&ss;

		if (ss.ss_family != AF_UNIX || sun->sun_path[0] == '\0')
			return x_strdup(name);
		return x_strndup(sun->sun_path, sizeof(sun->sun_path));
	}
	return sockaddr_to_text((const struct sockaddr *)&ss);
}

static int listen_parse_item(char *item, struct listener *l, char **error_r)
{
	char *kind, *name;
	unsigned int fd;
	int flags;

	kind = strchr(item, ':');
	name = kind == NULL ? NULL : strchr(kind + 1, ':');
	if (name == NULL) {
		*error_r = x_printf("ROOST_LISTENERS: item '%s' is not FD:KIND:NAME",
				    item);
		return -1;
	}
	*kind++ = '\0';
	*name++ = '\0';
	if (str_to_uint(item, &fd) < 0 || fd > INT32_MAX) {
		*error_r = x_printf("ROOST_LISTENERS: invalid fd '%s'", item);
		return -1;
	}
	if (strcmp(kind, "unix") == 0)
		l->is_unix = true;
	else if (strcmp(kind, "inet") == 0)
		l->is_unix = false;
	else {
		*error_r = x_printf("ROOST_LISTENERS: fd %u has unknown kind '%s'",
				    fd, kind);
		return -1;
	}
	if (name[0] == '\0') {
		*error_r = x_printf("ROOST_LISTENERS: fd %u has an empty name", fd);
		return -1;
	}
	flags = fcntl((int)fd, F_GETFD);
	if (flags < 0) {
		*error_r = x_printf("ROOST_LISTENERS: fd %u (%s) is not open: %s",
				    fd, name, strerror(errno));
		return -1;
	}
	if (fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
		*error_r = x_printf("fcntl(%u, FD_CLOEXEC) failed: %s",
				    fd, strerror(errno));
		return -1;
	}
	l->fd = (int)fd;
	l->name = x_strdup(name);
	l->path = listener_fd_describe(l->fd, l->is_unix, name);
	return 0;
}

int listen_from_env(listener_array_t *listeners, char **error_r)
{
	const char *value = getenv("ROOST_LISTENERS");
	size_t first = listeners->count;
	struct listener l;
	char *copy, *item, *saveptr = NULL;
	int count = 0;

	*error_r = NULL;
	if (value == NULL)
		return 0;
	copy = x_strdup(value);
	for (item = strtok_r(copy, " \t", &saveptr); item != NULL;
	     item = strtok_r(NULL, " \t", &saveptr)) {
		memset(&l, 0, sizeof(l));
		if (listen_parse_item(item, &l, error_r) < 0) {
			/* leave the caller's array as it was */
			while (listeners->count > first)
				listener_free_members(&listeners->v[--listeners->count]);
			free(copy);
			return -1;
		}
		array_push(listeners, l);
		count++;
	}
	free(copy);
	return count;
}

char *listen_to_env(const struct listener *listeners, size_t count)
{
	string_t *str = str_create(64);

	for (size_t i = 0; i < count; i++) {
		/* The format has no quoting; roostd refuses such names. */
		i_assert(strpbrk(listeners[i].name, " \t\n") == NULL);
		if (i > 0)
			str_append_c(str, ' ');
		str_printfa(str, "%d:%s:%s", listeners[i].fd,
			    listeners[i].is_unix ? "unix" : "inet",
			    listeners[i].name);
	}
	return str_free_without_data(&str);
}

void listener_free_members(struct listener *l)
{
	x_free(l->name);
	x_free(l->path);
}
