/* auth-load: load generator for the Dovecot-compatible auth client
   protocol (shared/spec/auth-client-protocol.md), for benchmarking roost
   against Dovecot side by side.

   N connections to a client socket (unix path or loopback host:port), each
   doing the handshake and then keeping up to P AUTH PLAIN requests in
   flight (pipelined), for a duration or a total count, over a set of
   users. Reports auths/s, OK/FAIL counts, latency and errors; exit 0 only
   when nothing unexpected happened.

   Deliberately self-contained (libc + pthreads only, not lib/): the
   benchmark script can compile it with plain cc when the tree is not
   built, and the tool must not change when lib/ does. One epoll loop per
   thread, non-blocking sockets. */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINE_LENGTH 16384
#define INPUT_BUFFER_SIZE (64 * 1024)
#define LATENCY_BUCKETS 320
#define EXIT_UNEXPECTED 1
#define EXIT_USAGE 2

struct user_request {
	/* "\tPLAIN\tservice=...\tresp=<base64>\n": everything after the id */
	char *tail_ok;
	size_t tail_ok_len;
	char *tail_bad;         /* same with a wrong password */
	size_t tail_bad_len;
};

struct settings {
	const char *target;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int family;

	unsigned int connections;
	unsigned int pipeline;
	unsigned int threads;
	double duration_secs;
	uint64_t count;           /* 0 = until duration */
	double drain_secs;        /* wait this long for replies at the end */
	unsigned int wrong_percent;
	bool quiet;

	struct user_request *users;
	size_t user_count;
};

struct stats {
	uint64_t sent, ok, fail;
	uint64_t mismatches;      /* OK for a wrong password or FAIL for a right one */
	uint64_t protocol_errors, disconnects, lost, timeouts, connect_errors;
	uint64_t latency_sum_usecs;
	uint64_t latency[LATENCY_BUCKETS];
};

struct slot {
	uint32_t id;              /* 0 = free */
	bool expect_ok;
	uint64_t start_nsecs;
};

enum conn_state {
	CONN_CONNECTING,
	CONN_HANDSHAKE,
	CONN_READY,
	CONN_DEAD,
};

struct worker;

struct conn {
	struct worker *worker;
	int fd;
	enum conn_state state;
	bool version_seen, mech_seen, plain_seen;

	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_pos, out_size;
	bool epollout;

	struct slot *slots;
	uint32_t *free_slots;
	unsigned int free_count;
	uint32_t generation;
	size_t next_user;
};

struct worker {
	const struct settings *set;
	unsigned int index;
	pthread_t thread;
	int epfd;
	struct conn *conns;
	unsigned int conn_count;
	unsigned int live_count;
	uint64_t quota;           /* requests this worker may send; 0 = no limit */
	uint64_t end_nsecs;
	bool stopping;
	uint32_t rand_state;
	struct stats st;
	uint64_t first_nsecs, last_reply_nsecs;
	char first_error[256];
};

static uint64_t now_nsecs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void *xmalloc(size_t size)
{
	void *p = calloc(1, size == 0 ? 1 : size);
	if (p == NULL) {
		fprintf(stderr, "auth-load: out of memory (%zu bytes)\n", size);
		abort();
	}
	return p;
}

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size);
	if (p == NULL) {
		fprintf(stderr, "auth-load: out of memory (%zu bytes)\n", size);
		abort();
	}
	return p;
}

static void worker_error(struct worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void worker_error(struct worker *w, const char *fmt, ...)
{
	va_list args;

	if (w->first_error[0] != '\0')
		return;
	va_start(args, fmt);
	vsnprintf(w->first_error, sizeof(w->first_error), fmt, args);
	va_end(args);
}

/* ---- latency histogram: 8 sub-buckets per power of two (~12%) -------- */

static unsigned int latency_bucket(uint64_t usecs)
{
	if (usecs < 16)
		return (unsigned int)usecs;
	unsigned int msb = 63 - (unsigned int)__builtin_clzll(usecs);
	unsigned int sub = (unsigned int)(usecs >> (msb - 3)) & 7;
	unsigned int idx = 16 + (msb - 4) * 8 + sub;
	return idx < LATENCY_BUCKETS ? idx : LATENCY_BUCKETS - 1;
}

static uint64_t latency_bucket_value(unsigned int idx)
{
	if (idx < 16)
		return idx;
	unsigned int msb = (idx - 16) / 8 + 4;
	unsigned int sub = (idx - 16) % 8;
	return ((uint64_t)(8 + sub)) << (msb - 3);
}

static double latency_percentile_msecs(const struct stats *st, double pct)
{
	uint64_t total = 0, seen = 0;

	for (unsigned int i = 0; i < LATENCY_BUCKETS; i++)
		total += st->latency[i];
	if (total == 0)
		return 0;
	uint64_t want = (uint64_t)(total * pct / 100.0);
	if (want >= total)
		want = total - 1;
	for (unsigned int i = 0; i < LATENCY_BUCKETS; i++) {
		seen += st->latency[i];
		if (seen > want)
			return latency_bucket_value(i) / 1000.0;
	}
	return 0;
}

/* ---- users and request lines ------------------------------------------ */

static void base64_encode(const unsigned char *src, size_t size, char *dest)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i + 2 < size; i += 3) {
		dest[o++] = b64[src[i] >> 2];
		dest[o++] = b64[((src[i] & 3) << 4) | (src[i + 1] >> 4)];
		dest[o++] = b64[((src[i + 1] & 15) << 2) | (src[i + 2] >> 6)];
		dest[o++] = b64[src[i + 2] & 63];
	}
	if (i + 1 == size) {
		dest[o++] = b64[src[i] >> 2];
		dest[o++] = b64[(src[i] & 3) << 4];
		dest[o++] = '=';
		dest[o++] = '=';
	} else if (i + 2 == size) {
		dest[o++] = b64[src[i] >> 2];
		dest[o++] = b64[((src[i] & 3) << 4) | (src[i + 1] >> 4)];
		dest[o++] = b64[(src[i + 1] & 15) << 2];
		dest[o++] = '=';
	}
	dest[o] = '\0';
}

/* PLAIN (RFC 4616) without authzid: NUL user NUL password, as MTAs
   forward it. */
static char *build_tail(const char *service, const char *user,
			const char *pass, size_t *len_r)
{
	size_t ulen = strlen(user), plen = strlen(pass);
	size_t msg_len = 2 + ulen + plen;
	unsigned char *msg = xmalloc(msg_len);
	char *b64 = xmalloc((msg_len + 2) / 3 * 4 + 1);

	msg[0] = '\0';
	memcpy(msg + 1, user, ulen);
	msg[1 + ulen] = '\0';
	memcpy(msg + 2 + ulen, pass, plen);
	base64_encode(msg, msg_len, b64);

	size_t size = strlen(service) + strlen(b64) + 64;
	char *tail = xmalloc(size);
	int n = snprintf(tail, size, "\tPLAIN\tservice=%s\tnologin\tresp=%s\n",
			 service, b64);
	free(msg);
	free(b64);
	*len_r = (size_t)n;
	return tail;
}

static bool user_name_valid(const char *user)
{
	return *user != '\0' && strpbrk(user, "\t\n\r\001") == NULL;
}

static void add_user(struct settings *set, size_t *alloc, const char *service,
		     const char *user, const char *pass)
{
	if (set->user_count == *alloc) {
		*alloc = *alloc == 0 ? 64 : *alloc * 2;
		set->users = xrealloc(set->users, *alloc * sizeof(*set->users));
	}
	struct user_request *u = &set->users[set->user_count++];
	size_t bad_size = strlen(pass) + 16;
	char *bad = xmalloc(bad_size);

	snprintf(bad, bad_size, "%s-wrong", pass);
	u->tail_ok = build_tail(service, user, pass, &u->tail_ok_len);
	u->tail_bad = build_tail(service, user, bad, &u->tail_bad_len);
	free(bad);
}

/* File lines: "user:password" (split at the first ':'); '#' comments
   and empty lines are skipped. Returns -1 on error (printed). */
static int load_users_file(struct settings *set, const char *path,
			   const char *service)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t line_size = 0, alloc = 0;
	unsigned int lineno = 0;
	ssize_t len;

	if (f == NULL) {
		fprintf(stderr, "auth-load: fopen(%s) failed: %s\n", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &line_size, f)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		char *colon = strchr(line, ':');
		if (colon == NULL) {
			fprintf(stderr, "auth-load: %s:%u: expected user:password\n", path, lineno);
			free(line);
			fclose(f);
			return -1;
		}
		*colon = '\0';
		if (!user_name_valid(line)) {
			fprintf(stderr, "auth-load: %s:%u: invalid user name\n", path, lineno);
			free(line);
			fclose(f);
			return -1;
		}
		add_user(set, &alloc, service, line, colon + 1);
	}
	free(line);
	fclose(f);
	if (set->user_count == 0) {
		fprintf(stderr, "auth-load: %s: no users\n", path);
		return -1;
	}
	return 0;
}

static void generate_users(struct settings *set, const char *prefix,
			   unsigned int count, const char *pass,
			   const char *service)
{
	size_t alloc = 0;
	char name[256];

	for (unsigned int i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "%s%u", prefix, i);
		add_user(set, &alloc, service, name, pass);
	}
}

/* ---- target address ---------------------------------------------------- */

static bool sockaddr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return true;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			return sin6->sin6_addr.s6_addr[12] == 127;
	}
	return false;
}

/* A target containing '/' is a unix socket path; otherwise host:port or
   [v6]:port, which must resolve to a loopback address: this tool sends
   load only to servers on this machine. */
static int parse_target(struct settings *set, const char *target)
{
	set->target = target;
	if (strchr(target, '/') != NULL) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&set->addr;
		if (strlen(target) >= sizeof(sun->sun_path)) {
			fprintf(stderr, "auth-load: socket path longer than %zu bytes: %s\n",
				sizeof(sun->sun_path) - 1, target);
			return -1;
		}
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, target, strlen(target) + 1);
		set->addr_len = sizeof(*sun);
		set->family = AF_UNIX;
		return 0;
	}

	char host[256];
	const char *port;
	if (target[0] == '[') {
		const char *end = strchr(target, ']');
		if (end == NULL || end[1] != ':' || (size_t)(end - target) >= sizeof(host)) {
			fprintf(stderr, "auth-load: bad target %s (want [v6addr]:port)\n", target);
			return -1;
		}
		memcpy(host, target + 1, (size_t)(end - target - 1));
		host[end - target - 1] = '\0';
		port = end + 2;
	} else {
		const char *colon = strrchr(target, ':');
		if (colon == NULL || (size_t)(colon - target) >= sizeof(host)) {
			fprintf(stderr, "auth-load: bad target %s (want a /path or host:port)\n", target);
			return -1;
		}
		memcpy(host, target, (size_t)(colon - target));
		host[colon - target] = '\0';
		port = colon + 1;
	}

	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res;
	int ret = getaddrinfo(host, port, &hints, &res);
	if (ret != 0) {
		fprintf(stderr, "auth-load: getaddrinfo(%s, %s) failed: %s\n",
			host, port, gai_strerror(ret));
		return -1;
	}
	if (!sockaddr_is_loopback(res->ai_addr)) {
		fprintf(stderr, "auth-load: refusing %s: not a loopback address "
			"(load goes only to servers on this machine)\n", target);
		freeaddrinfo(res);
		return -1;
	}
	memcpy(&set->addr, res->ai_addr, res->ai_addrlen);
	set->addr_len = res->ai_addrlen;
	set->family = res->ai_family;
	freeaddrinfo(res);
	return 0;
}

/* ---- connections ------------------------------------------------------- */

static void conn_update_epoll(struct conn *conn, bool want_out)
{
	struct epoll_event ev = { .events = EPOLLIN | (want_out ? EPOLLOUT : 0),
				  .data.ptr = conn };

	if (want_out == conn->epollout)
		return;
	conn->epollout = want_out;
	(void)epoll_ctl(conn->worker->epfd, EPOLL_CTL_MOD, conn->fd, &ev);
}

static void conn_kill(struct conn *conn, bool server_closed)
{
	struct worker *w = conn->worker;
	unsigned int inflight = w->set->pipeline - conn->free_count;

	if (conn->state == CONN_DEAD)
		return;
	if (server_closed)
		w->st.disconnects++;
	/* requests that will never get a reply */
	if (conn->state == CONN_READY)
		w->st.lost += inflight;
	(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, conn->fd, NULL);
	(void)close(conn->fd);
	conn->fd = -1;
	conn->state = CONN_DEAD;
	w->live_count--;
}

static void conn_append(struct conn *conn, const char *data, size_t len)
{
	if (conn->out_len + len > conn->out_size) {
		if (conn->out_pos > 0) {
			memmove(conn->out, conn->out + conn->out_pos,
				conn->out_len - conn->out_pos);
			conn->out_len -= conn->out_pos;
			conn->out_pos = 0;
		}
		while (conn->out_len + len > conn->out_size)
			conn->out_size *= 2;
		conn->out = xrealloc(conn->out, conn->out_size);
	}
	memcpy(conn->out + conn->out_len, data, len);
	conn->out_len += len;
}

static void conn_flush(struct conn *conn)
{
	while (conn->out_pos < conn->out_len) {
		ssize_t n = write(conn->fd, conn->out + conn->out_pos,
				  conn->out_len - conn->out_pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_update_epoll(conn, true);
			return;
		}
		if (n < 0) {
			worker_error(conn->worker, "write(%s) failed: %s",
				     conn->worker->set->target, strerror(errno));
			conn_kill(conn, errno == EPIPE || errno == ECONNRESET);
			return;
		}
		conn->out_pos += (size_t)n;
	}
	conn->out_pos = conn->out_len = 0;
	conn_update_epoll(conn, false);
}

static bool worker_may_send(struct worker *w)
{
	return !w->stopping && (w->quota == 0 || w->st.sent < w->quota);
}

static uint32_t worker_random(struct worker *w)
{
	/* xorshift32: cheap and reproducible per thread */
	uint32_t x = w->rand_state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return w->rand_state = x;
}

/* Fill the pipeline up to P requests in flight. */
static void conn_fill(struct conn *conn)
{
	struct worker *w = conn->worker;
	const struct settings *set = w->set;
	char idbuf[32];

	if (conn->state != CONN_READY)
		return;
	while (conn->free_count > 0 && worker_may_send(w)) {
		uint32_t s = conn->free_slots[--conn->free_count];
		struct slot *slot = &conn->slots[s];
		const struct user_request *u = &set->users[conn->next_user];

		if (++conn->next_user == set->user_count)
			conn->next_user = 0;
		/* id - 1 = generation * P + slot: unique among the
		   outstanding ones, and finds the slot without a search */
		slot->id = conn->generation * set->pipeline + s + 1;
		if (++conn->generation >= UINT32_MAX / set->pipeline - 1)
			conn->generation = 0;
		slot->expect_ok = set->wrong_percent == 0 ||
			worker_random(w) % 100 >= set->wrong_percent;
		slot->start_nsecs = now_nsecs();

		int n = snprintf(idbuf, sizeof(idbuf), "AUTH\t%" PRIu32, slot->id);
		conn_append(conn, idbuf, (size_t)n);
		if (slot->expect_ok)
			conn_append(conn, u->tail_ok, u->tail_ok_len);
		else
			conn_append(conn, u->tail_bad, u->tail_bad_len);
		w->st.sent++;
	}
	conn_flush(conn);
}

/* Handshake line (auth-client-protocol.md 2.1). Returns -1 to kill. */
static int conn_handshake_line(struct conn *conn, char *line)
{
	struct worker *w = conn->worker;

	if (!conn->version_seen) {
		if (strncmp(line, "VERSION\t1\t", 10) != 0) {
			worker_error(w, "%s: expected VERSION 1, got: %.60s",
				     w->set->target, line);
			return -1;
		}
		conn->version_seen = true;
	} else if (strncmp(line, "MECH\t", 5) == 0) {
		conn->mech_seen = true;
		if (strncasecmp(line + 5, "PLAIN", 5) == 0 &&
		    (line[10] == '\0' || line[10] == '\t'))
			conn->plain_seen = true;
	} else if (strncmp(line, "SPID\t", 5) == 0 && !conn->mech_seen) {
		worker_error(w, "%s is an auth master/userdb socket, not a client socket",
			     w->set->target);
		return -1;
	} else if (strcmp(line, "DONE") == 0) {
		if (!conn->plain_seen) {
			worker_error(w, "%s does not offer PLAIN", w->set->target);
			return -1;
		}
		conn->state = CONN_READY;
		conn_fill(conn);
	}
	return 0;
}

static int conn_reply_line(struct conn *conn, char *line)
{
	struct worker *w = conn->worker;
	const struct settings *set = w->set;
	bool ok;
	const char *rest;

	if (strncmp(line, "OK\t", 3) == 0) {
		ok = true;
		rest = line + 3;
	} else if (strncmp(line, "FAIL\t", 5) == 0) {
		ok = false;
		rest = line + 5;
	} else {
		/* CONT (PLAIN has no continuation) or anything else */
		w->st.protocol_errors++;
		worker_error(w, "unexpected reply: %.80s", line);
		return -1;
	}

	char *end;
	errno = 0;
	unsigned long id = strtoul(rest, &end, 10);
	if (errno != 0 || end == rest || (*end != '\t' && *end != '\0') ||
	    id == 0 || id > UINT32_MAX) {
		w->st.protocol_errors++;
		worker_error(w, "reply with a bad id: %.80s", line);
		return -1;
	}
	uint32_t s = (uint32_t)((id - 1) % set->pipeline);
	struct slot *slot = &conn->slots[s];
	if (slot->id != id) {
		w->st.protocol_errors++;
		worker_error(w, "reply for an id we have not sent: %.80s", line);
		return -1;
	}

	uint64_t now = now_nsecs();
	uint64_t usecs = (now - slot->start_nsecs) / 1000;
	w->st.latency[latency_bucket(usecs)]++;
	w->st.latency_sum_usecs += usecs;
	w->last_reply_nsecs = now;
	if (ok)
		w->st.ok++;
	else
		w->st.fail++;
	if (ok != slot->expect_ok) {
		w->st.mismatches++;
		worker_error(w, "%s for a %s password: %.80s", ok ? "OK" : "FAIL",
			     slot->expect_ok ? "right" : "wrong", line);
	}
	slot->id = 0;
	conn->free_slots[conn->free_count++] = s;
	return 0;
}

static void conn_input(struct conn *conn)
{
	struct worker *w = conn->worker;

	for (;;) {
		ssize_t n = read(conn->fd, conn->in + conn->in_len,
				 INPUT_BUFFER_SIZE - conn->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			if (n == 0 || errno == ECONNRESET) {
				if (!w->stopping || conn->free_count < w->set->pipeline)
					worker_error(w, "%s closed the connection%s",
						     w->set->target,
						     conn->state == CONN_READY ? "" :
						     " during the handshake");
				conn_kill(conn, true);
			} else {
				worker_error(w, "read(%s) failed: %s",
					     w->set->target, strerror(errno));
				conn_kill(conn, false);
			}
			return;
		}
		conn->in_len += (size_t)n;

		size_t start = 0;
		char *lf;
		while ((lf = memchr(conn->in + start, '\n', conn->in_len - start)) != NULL) {
			*lf = '\0';
			char *line = conn->in + start;
			start = (size_t)(lf - conn->in) + 1;
			int ret;
			if (conn->state == CONN_READY) {
				ret = conn_reply_line(conn, line);
			} else {
				ret = conn_handshake_line(conn, line);
				if (ret < 0)
					w->st.protocol_errors++;
			}
			if (ret < 0) {
				conn_kill(conn, false);
				return;
			}
		}
		memmove(conn->in, conn->in + start, conn->in_len - start);
		conn->in_len -= start;
		if (conn->in_len > MAX_LINE_LENGTH) {
			w->st.protocol_errors++;
			worker_error(w, "%s sent a line longer than %d bytes",
				     w->set->target, MAX_LINE_LENGTH);
			conn_kill(conn, false);
			return;
		}
		if ((size_t)n < INPUT_BUFFER_SIZE / 2)
			break;
	}
	/* replies freed slots: refill, one write for the batch */
	conn_fill(conn);
}

static void conn_connected(struct conn *conn)
{
	char hello[64];
	int n = snprintf(hello, sizeof(hello), "VERSION\t1\t2\nCPID\t%ld\n",
			 (long)getpid());

	conn->state = CONN_HANDSHAKE;
	conn_append(conn, hello, (size_t)n);
	conn_flush(conn);
}

static int conn_start(struct worker *w, struct conn *conn)
{
	const struct settings *set = w->set;

	memset(conn, 0, sizeof(*conn));
	conn->worker = w;
	conn->in = xmalloc(INPUT_BUFFER_SIZE);
	conn->out_size = 4096;
	conn->out = xmalloc(conn->out_size);
	conn->slots = xmalloc(set->pipeline * sizeof(*conn->slots));
	conn->free_slots = xmalloc(set->pipeline * sizeof(*conn->free_slots));
	for (unsigned int i = 0; i < set->pipeline; i++)
		conn->free_slots[i] = set->pipeline - 1 - i;
	conn->free_count = set->pipeline;
	/* spread connections over the user list */
	conn->next_user = ((size_t)(conn - w->conns) * 7919 +
			   (size_t)w->index * 104729) % set->user_count;

	conn->fd = socket(set->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (conn->fd < 0) {
		worker_error(w, "socket() failed: %s", strerror(errno));
		conn->state = CONN_DEAD;
		return -1;
	}
	if (set->family != AF_UNIX) {
		int one = 1;
		(void)setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	w->live_count++;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = conn };
	conn->epollout = true;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, conn->fd, &ev) < 0) {
		worker_error(w, "epoll_ctl() failed: %s", strerror(errno));
		conn_kill(conn, false);
		return -1;
	}
	if (connect(conn->fd, (const struct sockaddr *)&set->addr, set->addr_len) < 0) {
		if (errno == EINPROGRESS) {
			conn->state = CONN_CONNECTING;
			return 0;
		}
		/* EAGAIN on a unix socket: listen backlog full */
		worker_error(w, "connect(%s) failed: %s", set->target, strerror(errno));
		w->st.connect_errors++;
		conn_kill(conn, false);
		return -1;
	}
	conn_connected(conn);
	return 0;
}

static void conn_free(struct conn *conn)
{
	if (conn->state != CONN_DEAD)
		conn_kill(conn, false);
	free(conn->in);
	free(conn->out);
	free(conn->slots);
	free(conn->free_slots);
}

static void conn_event(struct conn *conn, uint32_t events)
{
	if (conn->state == CONN_DEAD)
		return;
	if (conn->state == CONN_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		(void)getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			worker_error(conn->worker, "connect(%s) failed: %s",
				     conn->worker->set->target, strerror(err));
			conn->worker->st.connect_errors++;
			conn_kill(conn, false);
			return;
		}
		if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0)
			return;
		conn_connected(conn);
		return;
	}
	if ((events & EPOLLOUT) != 0)
		conn_flush(conn);
	if (conn->state != CONN_DEAD &&
	    (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0)
		conn_input(conn);
}

/* ---- worker loop ------------------------------------------------------- */

static unsigned int worker_inflight(const struct worker *w)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < w->conn_count; i++) {
		if (w->conns[i].state == CONN_READY)
			n += w->set->pipeline - w->conns[i].free_count;
	}
	return n;
}

static void *worker_run(void *context)
{
	struct worker *w = context;
	const struct settings *set = w->set;
	struct epoll_event events[64];
	uint64_t drain_end = 0;

	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0) {
		worker_error(w, "epoll_create1() failed: %s", strerror(errno));
		return NULL;
	}
	w->first_nsecs = now_nsecs();
	w->end_nsecs = w->first_nsecs + (uint64_t)(set->duration_secs * 1e9);
	for (unsigned int i = 0; i < w->conn_count; i++)
		(void)conn_start(w, &w->conns[i]);

	while (w->live_count > 0) {
		uint64_t now = now_nsecs();

		if (!w->stopping && (now >= w->end_nsecs ||
				     (w->quota != 0 && w->st.sent >= w->quota))) {
			w->stopping = true;
			drain_end = now + (uint64_t)(set->drain_secs * 1e9);
		}
		if (w->stopping) {
			unsigned int inflight = worker_inflight(w);
			if (inflight == 0)
				break;
			if (now >= drain_end) {
				w->st.timeouts += inflight;
				worker_error(w, "%u requests got no reply within %.0f s after the end",
					     inflight, set->drain_secs);
				break;
			}
		}

		uint64_t wake = w->stopping ? drain_end : w->end_nsecs;
		int timeout = wake <= now ? 0 : (int)((wake - now) / 1000000 + 1);
		if (timeout > 100)
			timeout = 100;
		int n = epoll_wait(w->epfd, events, (int)(sizeof(events) / sizeof(events[0])),
				   timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			worker_error(w, "epoll_wait() failed: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++)
			conn_event(events[i].data.ptr, events[i].events);
	}
	if (w->last_reply_nsecs == 0)
		w->last_reply_nsecs = now_nsecs();
	for (unsigned int i = 0; i < w->conn_count; i++)
		conn_free(&w->conns[i]);
	(void)close(w->epfd);
	return NULL;
}

/* ---- main -------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
"usage: auth-load -s SOCKET [options]\n"
"  -s SOCKET    auth client socket: /unix/path or host:port (loopback only)\n"
"  -c N         connections (default 8)\n"
"  -p P         requests in flight per connection (default 4)\n"
"  -d SECONDS   run this long (default 10)\n"
"  -n COUNT     stop after COUNT requests instead (the duration still bounds it)\n"
"  -f FILE      users from FILE, lines user:password\n"
"  -k K         else generate users PREFIX0..PREFIX<K-1> (default 1000)\n"
"  -U PREFIX    generated user name prefix (default \"user\")\n"
"  -P PASSWORD  password of generated users (default \"pass\")\n"
"  -w PERCENT   send this percentage with a wrong password (default 0)\n"
"  -S SERVICE   service= value (default smtp)\n"
"  -t THREADS   worker threads, connections split among them (default 1)\n"
"  -D SECONDS   wait this long for outstanding replies at the end (default 30)\n"
"  -q           print only the RESULT line\n"
"Exit status: 0 all replies as expected, 1 errors/mismatches/timeouts, 2 usage.\n");
}

static int parse_uint(const char *arg, unsigned int min, unsigned int max,
		      unsigned int *num_r)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || n < min || n > max)
		return -1;
	*num_r = (unsigned int)n;
	return 0;
}

int main(int argc, char **argv)
{
	struct settings set = {
		.connections = 8, .pipeline = 4, .threads = 1,
		.duration_secs = 10, .drain_secs = 30,
	};
	const char *target = NULL, *users_file = NULL;
	const char *prefix = "user", *password = "pass", *service = "smtp";
	unsigned int gen_count = 1000;
	int c;

	while ((c = getopt(argc, argv, "s:c:p:d:n:f:k:U:P:w:S:t:D:qh")) != -1) {
		char *end;
		switch (c) {
		case 's': target = optarg; break;
		case 'c':
			if (parse_uint(optarg, 1, 100000, &set.connections) < 0)
				goto bad_arg;
			break;
		case 'p':
			if (parse_uint(optarg, 1, 65536, &set.pipeline) < 0)
				goto bad_arg;
			break;
		case 'd':
			set.duration_secs = strtod(optarg, &end);
			if (*end != '\0' || set.duration_secs <= 0 || set.duration_secs > 86400)
				goto bad_arg;
			break;
		case 'n':
			set.count = strtoull(optarg, &end, 10);
			if (*end != '\0' || set.count == 0)
				goto bad_arg;
			break;
		case 'f': users_file = optarg; break;
		case 'k':
			if (parse_uint(optarg, 1, 100000000, &gen_count) < 0)
				goto bad_arg;
			break;
		case 'U': prefix = optarg; break;
		case 'P': password = optarg; break;
		case 'w':
			if (parse_uint(optarg, 0, 100, &set.wrong_percent) < 0)
				goto bad_arg;
			break;
		case 'S': service = optarg; break;
		case 't':
			if (parse_uint(optarg, 1, 1024, &set.threads) < 0)
				goto bad_arg;
			break;
		case 'D':
			set.drain_secs = strtod(optarg, &end);
			if (*end != '\0' || set.drain_secs < 0)
				goto bad_arg;
			break;
		case 'q': set.quiet = true; break;
		case 'h': usage(); return 0;
		default:
			usage();
			return EXIT_USAGE;
		}
		continue;
	bad_arg:
		fprintf(stderr, "auth-load: bad value for -%c: %s\n", c, optarg);
		return EXIT_USAGE;
	}
	if (target == NULL || optind != argc) {
		usage();
		return EXIT_USAGE;
	}
	if (strpbrk(service, "\t\n\r\001") != NULL || !user_name_valid(prefix)) {
		fprintf(stderr, "auth-load: -S and -U must not hold TAB/CR/LF\n");
		return EXIT_USAGE;
	}
	if (parse_target(&set, target) < 0)
		return EXIT_USAGE;
	if (users_file != NULL) {
		if (load_users_file(&set, users_file, service) < 0)
			return EXIT_USAGE;
	} else {
		generate_users(&set, prefix, gen_count, password, service);
	}
	if (set.threads > set.connections)
		set.threads = set.connections;
	signal(SIGPIPE, SIG_IGN);

	struct worker *workers = xmalloc(set.threads * sizeof(*workers));
	for (unsigned int i = 0; i < set.threads; i++) {
		struct worker *w = &workers[i];
		w->set = &set;
		w->index = i;
		w->conn_count = set.connections / set.threads +
			(i < set.connections % set.threads ? 1 : 0);
		w->conns = xmalloc(w->conn_count * sizeof(*w->conns));
		w->rand_state = 2463534242u + i * 7919u;
		if (set.count != 0) {
			w->quota = set.count / set.threads +
				(i < set.count % set.threads ? 1 : 0);
			if (w->quota == 0)
				w->conn_count = 0;
		}
	}

	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	uint64_t start = now_nsecs();
	if (set.threads == 1) {
		worker_run(&workers[0]);
	} else {
		for (unsigned int i = 0; i < set.threads; i++) {
			if (pthread_create(&workers[i].thread, NULL, worker_run, &workers[i]) != 0) {
				fprintf(stderr, "auth-load: pthread_create() failed\n");
				return EXIT_UNEXPECTED;
			}
		}
		for (unsigned int i = 0; i < set.threads; i++)
			pthread_join(workers[i].thread, NULL);
	}
	getrusage(RUSAGE_SELF, &ru1);

	struct stats total;
	uint64_t last = start;
	const char *first_error = NULL;
	memset(&total, 0, sizeof(total));
	for (unsigned int i = 0; i < set.threads; i++) {
		const struct stats *st = &workers[i].st;
		total.sent += st->sent;
		total.ok += st->ok;
		total.fail += st->fail;
		total.mismatches += st->mismatches;
		total.protocol_errors += st->protocol_errors;
		total.disconnects += st->disconnects;
		total.lost += st->lost;
		total.timeouts += st->timeouts;
		total.connect_errors += st->connect_errors;
		total.latency_sum_usecs += st->latency_sum_usecs;
		for (unsigned int b = 0; b < LATENCY_BUCKETS; b++)
			total.latency[b] += st->latency[b];
		if (workers[i].last_reply_nsecs > last)
			last = workers[i].last_reply_nsecs;
		if (first_error == NULL && workers[i].first_error[0] != '\0')
			first_error = workers[i].first_error;
	}

	uint64_t done = total.ok + total.fail;
	double elapsed = (double)(last - start) / 1e9;
	double rate = elapsed > 0 ? (double)done / elapsed : 0;
	double client_cpu =
		(double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
		(double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
		(double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
		(double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	uint64_t errors = total.protocol_errors + total.disconnects + total.lost +
		total.timeouts + total.connect_errors;

	if (!set.quiet) {
		printf("auth-load: %s, %u connections x %u in flight, %u thread(s), %zu users%s\n",
		       set.target, set.connections, set.pipeline, set.threads,
		       set.user_count, set.wrong_percent > 0 ? "" : ", all passwords right");
		printf("  auths      %" PRIu64 " in %.2f s = %.1f auths/s\n", done, elapsed, rate);
		printf("  OK/FAIL    %" PRIu64 " / %" PRIu64 "  (unexpected results: %" PRIu64 ")\n",
		       total.ok, total.fail, total.mismatches);
		printf("  latency    avg %.2f ms, p50 %.2f ms, p99 %.2f ms\n",
		       done > 0 ? (double)total.latency_sum_usecs / (double)done / 1000 : 0,
		       latency_percentile_msecs(&total, 50),
		       latency_percentile_msecs(&total, 99));
		printf("  errors     %" PRIu64 " (connect %" PRIu64 ", disconnects %" PRIu64
		       ", lost %" PRIu64 ", protocol %" PRIu64 ", timeouts %" PRIu64 ")\n",
		       errors, total.connect_errors, total.disconnects, total.lost,
		       total.protocol_errors, total.timeouts);
		printf("  client CPU %.2f s\n", client_cpu);
		if (first_error != NULL)
			printf("  first error: %s\n", first_error);
	}
	printf("RESULT auths=%" PRIu64 " ok=%" PRIu64 " fail=%" PRIu64
	       " mismatches=%" PRIu64 " errors=%" PRIu64 " elapsed=%.3f rate=%.1f"
	       " lat_avg_ms=%.3f lat_p50_ms=%.3f lat_p99_ms=%.3f client_cpu=%.2f\n",
	       done, total.ok, total.fail, total.mismatches, errors, elapsed, rate,
	       done > 0 ? (double)total.latency_sum_usecs / (double)done / 1000 : 0,
	       latency_percentile_msecs(&total, 50),
	       latency_percentile_msecs(&total, 99), client_cpu);
	if (set.quiet && first_error != NULL)
		fprintf(stderr, "auth-load: first error: %s\n", first_error);

	for (unsigned int i = 0; i < set.threads; i++)
		free(workers[i].conns);
	free(workers);
	for (size_t i = 0; i < set.user_count; i++) {
		free(set.users[i].tail_ok);
		free(set.users[i].tail_bad);
	}
	free(set.users);
	return errors == 0 && total.mismatches == 0 && done > 0 ? 0 : EXIT_UNEXPECTED;
}
