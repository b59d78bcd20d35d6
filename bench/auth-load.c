/* auth-load: load generator for the Dovecot-compatible auth client
   protocol (shared/spec/auth-client-protocol.md), for benchmarking roost
   against Dovecot side by side.

   N connections to a client socket (unix path or loopback host:port), each
   doing the handshake and then keeping up to P AUTH requests in flight
   (pipelined), for a duration or a total count, over a set of users.
   Mechanisms: PLAIN (one line each way), CRAM-MD5 (challenge, response)
   and SCRAM-SHA-256 (client-first, server-first, client-final, server
   signature checked; -F asks for it inside OK). Reports auths/s, OK/FAIL
   counts, latency and errors; exit 0 only when nothing unexpected
   happened.

   Deliberately self-contained (libc + pthreads + libcrypto, not lib/):
   the benchmark script can compile it with plain cc when the tree is not
   built, and the tool must not change when lib/ does. One epoll loop per
   thread, non-blocking sockets; the multi-step exchanges are a small state
   machine per request slot, so many of them interleave on a connection. */
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

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#define MAX_LINE_LENGTH 16384
#define INPUT_BUFFER_SIZE (64 * 1024)
#define LATENCY_BUCKETS 320
#define EXIT_UNEXPECTED 1
#define EXIT_USAGE 2

#define SCRAM_NONCE_LEN 24
#define SCRAM_KEY_LEN SHA256_DIGEST_LENGTH
#define SCRAM_MIN_ITERATIONS 4096
#define SCRAM_MAX_ITERATIONS 1000000
#define SCRAM_CACHE_MAX 4096      /* entries per thread, then start over */

enum mech {
	MECH_PLAIN,
	MECH_CRAM_MD5,
	MECH_SCRAM_SHA_256,
};

static const char *const mech_names[] = {
	[MECH_PLAIN] = "PLAIN",
	[MECH_CRAM_MD5] = "CRAM-MD5",
	[MECH_SCRAM_SHA_256] = "SCRAM-SHA-256",
};

struct user_request {
	char *user, *pass, *bad_pass;   /* bad_pass: the wrong password */
	char *sasl_user;                /* SCRAM saslname (',' '=' escaped) */
	/* PLAIN: "\tPLAIN\tservice=...\tresp=<base64>\n"; CRAM-MD5:
	   "\tCRAM-MD5\tservice=...\n" (tail_bad the same): everything after
	   the id. SCRAM builds its line per request (fresh nonce). */
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
	enum mech mech;
	bool final_resp_ok;       /* SCRAM: ask for v= inside OK */
	const char *service;

	struct user_request *users;
	size_t user_count;
};

struct stats {
	uint64_t sent, ok, fail;
	uint64_t mismatches;      /* OK for a wrong password or FAIL for a right one */
	uint64_t bad_server_sigs; /* SCRAM v= missing or wrong (counted as mismatch) */
	uint64_t pbkdf2_runs;     /* SCRAM SaltedPassword cache misses */
	uint64_t protocol_errors, disconnects, lost, timeouts, connect_errors;
	uint64_t latency_sum_usecs;
	uint64_t latency[LATENCY_BUCKETS];
};

enum slot_step {
	STEP_FIRST,               /* AUTH sent; PLAIN: OK/FAIL; others: CONT */
	STEP_RESPONSE,            /* CRAM: response sent, OK/FAIL next;
				     SCRAM: client-final sent, v= next */
	STEP_FINAL,               /* SCRAM: empty CONT sent, OK next */
};

struct slot {
	uint32_t id;              /* 0 = free */
	bool expect_ok;
	enum slot_step step;
	bool sig_verified;        /* SCRAM: v= matched */
	size_t user;              /* index into settings.users */
	uint64_t start_nsecs;
	char nonce[SCRAM_NONCE_LEN + 1];
	unsigned char server_sig[SCRAM_KEY_LEN];
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
	bool version_seen, mech_seen, mech_offered;

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

/* SCRAM SaltedPassword cache: PBKDF2 depends only on (password, salt,
   iterations), so the client's own 4096 rounds run once per distinct
   stored hash, not per auth. Open addressing, per thread, no locks. */
struct scram_cache_entry {
	char *key;                /* "password\0salt_b64\0iterations" packed */
	size_t key_len;
	unsigned char salted[SCRAM_KEY_LEN];
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
	struct scram_cache_entry *scram_cache;  /* 2 * SCRAM_CACHE_MAX slots */
	unsigned int scram_cache_count;
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

static int base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Strict-enough decoder for server data: returns the length written to
   dest (room for len / 4 * 3 bytes + 1, NUL-terminated) or -1. */
static ssize_t base64_decode(const char *src, size_t len, unsigned char *dest)
{
	size_t o = 0;
	unsigned int acc = 0, bits = 0, pad = 0;

	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (src[i] == '=') {
			if (i + 2 < len)
				return -1;
			pad++;
			continue;
		}
		int v = base64_value((unsigned char)src[i]);
		if (v < 0 || pad > 0)
			return -1;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			dest[o++] = (unsigned char)(acc >> bits);
			acc &= (1U << bits) - 1;
		}
	}
	dest[o] = '\0';
	return (ssize_t)o;
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

/* RFC 5802 saslname: ',' -> "=2C", '=' -> "=3D" */
static char *scram_escape(const char *user)
{
	char *out = xmalloc(strlen(user) * 3 + 1), *o = out;

	for (; *user != '\0'; user++) {
		if (*user == ',') {
			memcpy(o, "=2C", 3);
			o += 3;
		} else if (*user == '=') {
			memcpy(o, "=3D", 3);
			o += 3;
		} else {
			*o++ = *user;
		}
	}
	*o = '\0';
	return out;
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
	u->user = strdup(user);
	u->pass = strdup(pass);
	u->bad_pass = bad;
	u->sasl_user = scram_escape(user);
	if (u->user == NULL || u->pass == NULL) {
		fprintf(stderr, "auth-load: out of memory\n");
		abort();
	}
	if (set->mech == MECH_PLAIN) {
		u->tail_ok = build_tail(service, user, pass, &u->tail_ok_len);
		u->tail_bad = build_tail(service, user, bad, &u->tail_bad_len);
	} else if (set->mech == MECH_CRAM_MD5) {
		size_t size = strlen(service) + 64;
		u->tail_ok = xmalloc(size);
		u->tail_ok_len = (size_t)snprintf(u->tail_ok, size,
			"\tCRAM-MD5\tservice=%s\tnologin\n", service);
		u->tail_bad = strdup(u->tail_ok);
		u->tail_bad_len = u->tail_ok_len;
	}
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

/* ---- CRAM-MD5 and SCRAM-SHA-256 client side ---------------------------- */

#define SCRAM_MAX_USER 255        /* escaped user name, checked at startup */
#define SCRAM_MAX_SERVER_MSG 1024 /* decoded server-first / server-final */

static void conn_send_cont(struct conn *conn, uint32_t id,
			   const void *data, size_t len)
{
	char head[40];
	char *b64 = xmalloc((len + 2) / 3 * 4 + 2);
	int n = snprintf(head, sizeof(head), "CONT\t%" PRIu32 "\t", id);

	base64_encode(data, len, b64);
	size_t blen = strlen(b64);
	b64[blen++] = '\n';
	conn_append(conn, head, (size_t)n);
	conn_append(conn, b64, blen);
	free(b64);
}

static void scram_send_first(struct conn *conn, struct slot *slot,
			     const struct user_request *u)
{
	static const char chars[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct worker *w = conn->worker;
	const struct settings *set = w->set;
	char first[SCRAM_MAX_USER + SCRAM_NONCE_LEN + 16];
	char b64[sizeof(first) / 3 * 4 + 8];
	char head[64];

	for (unsigned int i = 0; i < SCRAM_NONCE_LEN; i++)
		slot->nonce[i] = chars[(worker_random(w) >> 8) & 63];
	slot->nonce[SCRAM_NONCE_LEN] = '\0';
	int n = snprintf(first, sizeof(first), "n,,n=%s,r=%s",
			 u->sasl_user, slot->nonce);
	base64_encode((const unsigned char *)first, (size_t)n, b64);
	n = snprintf(head, sizeof(head), "AUTH\t%" PRIu32 "\tSCRAM-SHA-256\tservice=",
		     slot->id);
	conn_append(conn, head, (size_t)n);
	conn_append(conn, set->service, strlen(set->service));
	const char *params = set->final_resp_ok ?
		"\tnologin\tfinal-resp-ok\tresp=" : "\tnologin\tresp=";
	conn_append(conn, params, strlen(params));
	conn_append(conn, b64, strlen(b64));
	conn_append(conn, "\n", 1);
}

static uint64_t fnv1a(const char *data, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)data[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* SaltedPassword for (password, salt, iterations), from the per-thread
   cache or PBKDF2. Returns false when the salt is not base64. */
static bool scram_salted_password(struct worker *w, const char *pass,
				  const char *salt_b64, size_t salt_b64_len,
				  unsigned int iterations,
				  unsigned char salted_r[SCRAM_KEY_LEN])
{
	const size_t table_size = 2 * SCRAM_CACHE_MAX;
	size_t plen = strlen(pass);
	size_t key_len = plen + 1 + salt_b64_len + 1 + sizeof(iterations);
	char *key = xmalloc(key_len);

	memcpy(key, pass, plen + 1);
	memcpy(key + plen + 1, salt_b64, salt_b64_len);
	key[plen + 1 + salt_b64_len] = '\0';
	memcpy(key + plen + 2 + salt_b64_len, &iterations, sizeof(iterations));

	if (w->scram_cache == NULL)
		w->scram_cache = xmalloc(table_size * sizeof(*w->scram_cache));
	size_t pos = fnv1a(key, key_len) % table_size;
	while (w->scram_cache[pos].key != NULL) {
		struct scram_cache_entry *e = &w->scram_cache[pos];
		if (e->key_len == key_len && memcmp(e->key, key, key_len) == 0) {
			memcpy(salted_r, e->salted, SCRAM_KEY_LEN);
			free(key);
			return true;
		}
		pos = (pos + 1) % table_size;
	}

	unsigned char *salt = xmalloc(salt_b64_len / 4 * 3 + 1);
	ssize_t salt_len = base64_decode(salt_b64, salt_b64_len, salt);
	if (salt_len <= 0) {
		free(salt);
		free(key);
		return false;
	}
	w->st.pbkdf2_runs++;
	if (PKCS5_PBKDF2_HMAC(pass, (int)plen, salt, (int)salt_len,
			      (int)iterations, EVP_sha256(),
			      SCRAM_KEY_LEN, salted_r) != 1) {
		fprintf(stderr, "auth-load: PKCS5_PBKDF2_HMAC() failed\n");
		abort();
	}
	free(salt);

	if (w->scram_cache_count >= SCRAM_CACHE_MAX) {
		/* bounded: start over rather than evict one by one */
		for (size_t i = 0; i < table_size; i++) {
			free(w->scram_cache[i].key);
			w->scram_cache[i].key = NULL;
		}
		w->scram_cache_count = 0;
		pos = fnv1a(key, key_len) % table_size;
	}
	w->scram_cache[pos].key = key;
	w->scram_cache[pos].key_len = key_len;
	memcpy(w->scram_cache[pos].salted, salted_r, SCRAM_KEY_LEN);
	w->scram_cache_count++;
	return true;
}

static void hmac_sha256(const unsigned char *key, size_t key_len,
			const void *data, size_t len,
			unsigned char out[SCRAM_KEY_LEN])
{
	unsigned int out_len = SCRAM_KEY_LEN;

	if (HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) == NULL) {
		fprintf(stderr, "auth-load: HMAC() failed\n");
		abort();
	}
}

/* server-first "r=<nonce>,s=<salt>,i=<iterations>[,...]" -> client-final */
static int scram_server_first(struct conn *conn, struct slot *slot,
			      const char *msg, size_t msg_len)
{
	struct worker *w = conn->worker;
	const struct user_request *u = &w->set->users[slot->user];
	const char *r, *r_end, *salt, *salt_end, *iter;
	char *end;

	if (strncmp(msg, "r=", 2) != 0)
		goto bad;
	r = msg + 2;
	r_end = strchr(r, ',');
	if (r_end == NULL || (size_t)(r_end - r) <= SCRAM_NONCE_LEN ||
	    memcmp(r, slot->nonce, SCRAM_NONCE_LEN) != 0 ||
	    strncmp(r_end, ",s=", 3) != 0)
		goto bad;
	salt = r_end + 3;
	salt_end = strchr(salt, ',');
	if (salt_end == NULL || salt_end == salt || strncmp(salt_end, ",i=", 3) != 0)
		goto bad;
	iter = salt_end + 3;
	errno = 0;
	unsigned long iterations = strtoul(iter, &end, 10);
	if (errno != 0 || end == iter || (*end != '\0' && *end != ',') ||
	    iterations < SCRAM_MIN_ITERATIONS || iterations > SCRAM_MAX_ITERATIONS)
		goto bad;

	unsigned char salted[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN];
	unsigned char stored_key[SCRAM_KEY_LEN], server_key[SCRAM_KEY_LEN];
	unsigned char client_sig[SCRAM_KEY_LEN], proof[SCRAM_KEY_LEN];
	if (!scram_salted_password(w, slot->expect_ok ? u->pass : u->bad_pass,
				   salt, (size_t)(salt_end - salt),
				   (unsigned int)iterations, salted))
		goto bad;
	hmac_sha256(salted, sizeof(salted), "Client Key", 10, client_key);
	SHA256(client_key, sizeof(client_key), stored_key);
	hmac_sha256(salted, sizeof(salted), "Server Key", 10, server_key);

	/* AuthMessage = client-first-bare "," server-first ","
	   client-final-without-proof */
	size_t nonce_len = (size_t)(r_end - r);
	size_t am_size = strlen(u->sasl_user) + msg_len + nonce_len + 64;
	char *am = xmalloc(am_size);
	int am_len = snprintf(am, am_size, "n=%s,r=%s,%s,c=biws,r=%.*s",
			      u->sasl_user, slot->nonce, msg,
			      (int)nonce_len, r);
	hmac_sha256(stored_key, sizeof(stored_key), am, (size_t)am_len, client_sig);
	hmac_sha256(server_key, sizeof(server_key), am, (size_t)am_len,
		    slot->server_sig);
	free(am);
	for (unsigned int i = 0; i < SCRAM_KEY_LEN; i++)
		proof[i] = client_key[i] ^ client_sig[i];

	char proof_b64[SCRAM_KEY_LEN / 3 * 4 + 8];
	base64_encode(proof, sizeof(proof), proof_b64);
	size_t final_size = nonce_len + sizeof(proof_b64) + 32;
	char *final = xmalloc(final_size);
	int final_len = snprintf(final, final_size, "c=biws,r=%.*s,p=%s",
				 (int)nonce_len, r, proof_b64);
	conn_send_cont(conn, slot->id, final, (size_t)final_len);
	free(final);
	slot->step = STEP_RESPONSE;
	return 0;
bad:
	w->st.protocol_errors++;
	worker_error(w, "bad SCRAM server-first message: %.80s", msg);
	return -1;
}

/* server-final (base64 text) "v=<ServerSignature>": sets sig_verified */
static void scram_server_final(struct worker *w, struct slot *slot,
			       const char *b64, size_t len)
{
	unsigned char msg[SCRAM_MAX_SERVER_MSG + 1];
	char expected[SCRAM_KEY_LEN / 3 * 4 + 8];

	if (len / 4 * 3 > SCRAM_MAX_SERVER_MSG ||
	    base64_decode(b64, len, msg) < 0) {
		worker_error(w, "SCRAM server-final is not base64: %.80s", b64);
		return;
	}
	base64_encode(slot->server_sig, sizeof(slot->server_sig), expected);
	if (strncmp((const char *)msg, "v=", 2) == 0 &&
	    strcmp((const char *)msg + 2, expected) == 0)
		slot->sig_verified = true;
	else if (slot->expect_ok)
		worker_error(w, "SCRAM server signature mismatch: got %.60s, want v=%s",
			     (const char *)msg, expected);
}

/* CRAM-MD5 challenge -> "user hexdigest" */
static void cram_md5_response(struct conn *conn, struct slot *slot,
			      const unsigned char *challenge, size_t len)
{
	const struct user_request *u = &conn->worker->set->users[slot->user];
	const char *pass = slot->expect_ok ? u->pass : u->bad_pass;
	unsigned char digest[16];
	unsigned int digest_len = sizeof(digest);

	if (HMAC(EVP_md5(), pass, (int)strlen(pass), challenge, len,
		 digest, &digest_len) == NULL) {
		fprintf(stderr, "auth-load: HMAC() failed\n");
		abort();
	}
	size_t ulen = strlen(u->user);
	char *resp = xmalloc(ulen + 1 + 32 + 1);
	memcpy(resp, u->user, ulen);
	resp[ulen] = ' ';
	for (unsigned int i = 0; i < 16; i++)
		snprintf(resp + ulen + 1 + i * 2, 3, "%02x", digest[i]);
	conn_send_cont(conn, slot->id, resp, ulen + 33);
	free(resp);
	slot->step = STEP_RESPONSE;
}

/* CONT <id> <base64> for an outstanding request. Returns -1 to kill. */
static int conn_continue(struct conn *conn, struct slot *slot, const char *data)
{
	struct worker *w = conn->worker;
	enum mech mech = w->set->mech;
	size_t len = strlen(data);
	unsigned char msg[SCRAM_MAX_SERVER_MSG + 1];

	if (mech == MECH_SCRAM_SHA_256 && slot->step == STEP_RESPONSE) {
		scram_server_final(w, slot, data, len);
		conn_send_cont(conn, slot->id, "", 0);
		slot->step = STEP_FINAL;
		return 0;
	}
	if (mech == MECH_PLAIN || slot->step != STEP_FIRST) {
		w->st.protocol_errors++;
		worker_error(w, "unexpected CONT for %s: %.80s",
			     mech_names[mech], data);
		return -1;
	}
	ssize_t mlen = len / 4 * 3 > SCRAM_MAX_SERVER_MSG ? -1 :
		base64_decode(data, len, msg);
	if (mlen < 0) {
		w->st.protocol_errors++;
		worker_error(w, "CONT data is not base64 (or too long): %.80s", data);
		return -1;
	}
	if (mech == MECH_CRAM_MD5) {
		cram_md5_response(conn, slot, msg, (size_t)mlen);
		return 0;
	}
	if (memchr(msg, '\0', (size_t)mlen) != NULL) {
		w->st.protocol_errors++;
		worker_error(w, "SCRAM server-first contains NUL");
		return -1;
	}
	return scram_server_first(conn, slot, (const char *)msg, (size_t)mlen);
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

		slot->user = conn->next_user;
		if (++conn->next_user == set->user_count)
			conn->next_user = 0;
		/* id - 1 = generation * P + slot: unique among the
		   outstanding ones, and finds the slot without a search */
		slot->id = conn->generation * set->pipeline + s + 1;
		if (++conn->generation >= UINT32_MAX / set->pipeline - 1)
			conn->generation = 0;
		slot->expect_ok = set->wrong_percent == 0 ||
			worker_random(w) % 100 >= set->wrong_percent;
		slot->step = STEP_FIRST;
		slot->sig_verified = false;
		slot->start_nsecs = now_nsecs();

		if (set->mech == MECH_SCRAM_SHA_256) {
			scram_send_first(conn, slot, u);
			w->st.sent++;
			continue;
		}
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
		const char *name = mech_names[w->set->mech];
		size_t nlen = strlen(name);
		conn->mech_seen = true;
		if (strncasecmp(line + 5, name, nlen) == 0 &&
		    (line[5 + nlen] == '\0' || line[5 + nlen] == '\t'))
			conn->mech_offered = true;
	} else if (strncmp(line, "SPID\t", 5) == 0 && !conn->mech_seen) {
		worker_error(w, "%s is an auth master/userdb socket, not a client socket",
			     w->set->target);
		return -1;
	} else if (strcmp(line, "DONE") == 0) {
		if (!conn->mech_offered) {
			worker_error(w, "%s does not offer %s", w->set->target,
				     mech_names[w->set->mech]);
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
	bool ok = false, cont = false;
	const char *rest;

	if (strncmp(line, "OK\t", 3) == 0) {
		ok = true;
		rest = line + 3;
	} else if (strncmp(line, "FAIL\t", 5) == 0) {
		rest = line + 5;
	} else if (strncmp(line, "CONT\t", 5) == 0) {
		cont = true;
		rest = line + 5;
	} else {
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
	if (cont)
		return conn_continue(conn, slot, *end == '\t' ? end + 1 : end);

	bool sig_bad = false;
	if (set->mech != MECH_PLAIN && ok && slot->step == STEP_FIRST) {
		w->st.protocol_errors++;
		worker_error(w, "OK before the %s exchange finished: %.80s",
			     mech_names[set->mech], line);
		return -1;
	}
	if (set->mech == MECH_SCRAM_SHA_256 && ok) {
		if (slot->step == STEP_RESPONSE) {
			/* final-resp-ok: v= comes as resp= in OK */
			const char *resp = strstr(end, "\tresp=");
			if (resp != NULL) {
				resp += 6;
				size_t rlen = strcspn(resp, "\t");
				scram_server_final(w, slot, resp, rlen);
			}
		}
		if (!slot->sig_verified) {
			sig_bad = true;
			w->st.bad_server_sigs++;
			worker_error(w, "OK without a valid SCRAM server signature: %.80s",
				     line);
		}
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
	if (sig_bad && ok == slot->expect_ok)
		w->st.mismatches++;
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
	if (w->scram_cache != NULL) {
		for (size_t i = 0; i < 2 * SCRAM_CACHE_MAX; i++)
			free(w->scram_cache[i].key);
		free(w->scram_cache);
		w->scram_cache = NULL;
	}
	(void)close(w->epfd);
	return NULL;
}

/* ---- main -------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
"usage: auth-load -s SOCKET [options]\n"
"  -s SOCKET    auth client socket: /unix/path or host:port (loopback only)\n"
"  -m MECH      PLAIN (default), CRAM-MD5 or SCRAM-SHA-256\n"
"  -F           SCRAM: send final-resp-ok (server signature inside OK, one\n"
"               round trip less; default: the extra CONT round, as Postfix)\n"
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
	const char *mech = "PLAIN";
	unsigned int gen_count = 1000;
	int c;

	while ((c = getopt(argc, argv, "s:m:Fc:p:d:n:f:k:U:P:w:S:t:D:qh")) != -1) {
		char *end;
		switch (c) {
		case 's': target = optarg; break;
		case 'm': mech = optarg; break;
		case 'F': set.final_resp_ok = true; break;
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
	if (strcasecmp(mech, "PLAIN") == 0)
		set.mech = MECH_PLAIN;
	else if (strcasecmp(mech, "CRAM-MD5") == 0)
		set.mech = MECH_CRAM_MD5;
	else if (strcasecmp(mech, "SCRAM-SHA-256") == 0)
		set.mech = MECH_SCRAM_SHA_256;
	else {
		fprintf(stderr, "auth-load: -m takes PLAIN, CRAM-MD5 or SCRAM-SHA-256\n");
		return EXIT_USAGE;
	}
	set.service = service;
	if (parse_target(&set, target) < 0)
		return EXIT_USAGE;
	if (users_file != NULL) {
		if (load_users_file(&set, users_file, service) < 0)
			return EXIT_USAGE;
	} else {
		generate_users(&set, prefix, gen_count, password, service);
	}
	for (size_t i = 0; i < set.user_count; i++) {
		if (set.mech == MECH_SCRAM_SHA_256 &&
		    strlen(set.users[i].sasl_user) > SCRAM_MAX_USER) {
			fprintf(stderr, "auth-load: user name longer than %d bytes: %.40s...\n",
				SCRAM_MAX_USER, set.users[i].user);
			return EXIT_USAGE;
		}
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
		total.bad_server_sigs += st->bad_server_sigs;
		total.pbkdf2_runs += st->pbkdf2_runs;
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
		printf("auth-load: %s %s%s, %u connections x %u in flight, %u thread(s), %zu users%s\n",
		       set.target, mech_names[set.mech],
		       set.mech == MECH_SCRAM_SHA_256 && set.final_resp_ok ?
		       " (final-resp-ok)" : "",
		       set.connections, set.pipeline, set.threads,
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
		if (set.mech == MECH_SCRAM_SHA_256)
			printf("  SCRAM      %" PRIu64 " bad server signatures, %" PRIu64
			       " client PBKDF2 runs (rest cached)\n",
			       total.bad_server_sigs, total.pbkdf2_runs);
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
		free(set.users[i].user);
		free(set.users[i].pass);
		free(set.users[i].bad_pass);
		free(set.users[i].sasl_user);
	}
	free(set.users);
	return errors == 0 && total.mismatches == 0 && done > 0 ? 0 : EXIT_UNEXPECTED;
}
