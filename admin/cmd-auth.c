/* roostadm "auth test", "auth lookup" and "user": one-shot clients of the
   auth client protocol (AUTH PLAIN) and of the auth master protocol (PASS,
   USER, LIST).

   Options, standard output and exit codes follow doveadm 2.3 (found by
   running it against a Dovecot 2.3.19 auth server), so scripts written for
   doveadm keep working against roost and roost can be checked against
   Dovecot with the same commands; tests/test_roostadm_auth.py compares the
   two byte for byte. Error messages (stderr) are our own and name socket,
   errno and identity. Known differences: "user" with several names prints
   the blank separator lines where they belong (doveadm's buffering moves
   them to the end), and it does not apply doveadm's mail-storage checks
   (such as first_valid_uid), since roostadm reads no configuration.

   One request at a time needs no event loop: a blocking socket, with
   poll() bounding every wait. */
#include "lib.h"
#include "str.h"
#include "path-error.h"
#include "roostadm.h"

#include <ctype.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sysexits.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* The server sends its handshake at once (auth-client-protocol.md 2.1). */
#define AUTH_HANDSHAKE_TIMEOUT_MSECS (10 * 1000)
/* Dovecot's clients wait 155 s for a reply (auth-client-protocol.md 4.3);
   a slow passdb behind a busy server may really take that long. */
#define AUTH_REPLY_TIMEOUT_MSECS (155 * 1000)
/* Replies carry extra fields; Dovecot's client library accepts 8192 byte
   lines, allow more so a long reply is shown rather than refused. */
#define AUTH_MAX_LINE_LENGTH (64 * 1024)

#define AUTH_TEST_USAGE \
	"usage: roostadm auth test [-a SOCKET] [-x key=value] [-M MASTER_USER] USER [PASS]\n"
#define USER_USAGE \
	"usage: roostadm user [-a SOCKET] [-x key=value] [-f FIELD] [-u] USER|MASK [USER|MASK...]\n"

struct auth_conn {
	int fd;
	const char *path;
	/* Bytes read and not yet returned as lines; the first skip bytes
	   are the line returned last time. */
	string_t *input;
	size_t skip;
	char *error;
	/* the server closed the connection (EOF, EPIPE, ECONNRESET) */
	bool disconnected;
};

/* ---- connection ------------------------------------------------------ */

static const char *auth_conn_set_error(struct auth_conn *conn, char *error)
{
	free(conn->error);
	conn->error = error;
	return error;
}

static void auth_conn_init(struct auth_conn *conn, const char *path)
{
	memset(conn, 0, sizeof(*conn));
	conn->fd = -1;
	conn->path = path;
	conn->input = str_create(1024);
}

static void auth_conn_deinit(struct auth_conn *conn)
{
	if (conn->fd != -1)
		(void)close(conn->fd);
	conn->fd = -1;
	str_free(&conn->input);
	x_free(conn->error);
}

static int auth_conn_connect(struct auth_conn *conn, const char **error_r)
{
	struct sockaddr_un sa;
	struct timeval tv = { .tv_sec = AUTH_HANDSHAKE_TIMEOUT_MSECS / 1000 };

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(conn->path) >= sizeof(sa.sun_path)) {
		*error_r = auth_conn_set_error(conn, x_printf(
			"connect(%s) failed: socket path longer than %zu bytes",
			conn->path, sizeof(sa.sun_path) - 1));
		return -1;
	}
	memcpy(sa.sun_path, conn->path, strlen(conn->path) + 1);

	conn->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (conn->fd == -1) {
		*error_r = auth_conn_set_error(conn,
			x_printf("socket(AF_UNIX) failed: %s", strerror(errno)));
		return -1;
	}
	/* A unix connect() blocks while the listen backlog is full;
	   SO_SNDTIMEO bounds it (and every later send). */
	(void)setsockopt(conn->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(conn->fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		if (err == EAGAIN || err == EWOULDBLOCK) {
			*error_r = auth_conn_set_error(conn, x_printf(
				"connect(%s) timed out after %d s (server not accepting connections)",
				conn->path, AUTH_HANDSHAKE_TIMEOUT_MSECS / 1000));
		} else {
			*error_r = auth_conn_set_error(conn,
				path_error("connect", conn->path, err));
		}
		(void)close(conn->fd);
		conn->fd = -1;
		return -1;
	}
	return 0;
}

static int auth_conn_send(struct auth_conn *conn, const string_t *data,
			  const char **error_r)
{
	size_t done = 0;

	while (done < str_len(data)) {
		ssize_t ret = send(conn->fd, str_data(data) + done,
				   str_len(data) - done, MSG_NOSIGNAL);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			int err = errno;

			if (err == EPIPE || err == ECONNRESET) {
				conn->disconnected = true;
				*error_r = auth_conn_set_error(conn, x_printf(
					"auth server %s closed the connection", conn->path));
			} else if (err == EAGAIN || err == EWOULDBLOCK) {
				*error_r = auth_conn_set_error(conn, x_printf(
					"send(%s) timed out after %d s",
					conn->path, AUTH_HANDSHAKE_TIMEOUT_MSECS / 1000));
			} else {
				*error_r = auth_conn_set_error(conn, x_printf(
					"send(%s) failed: %s", conn->path, strerror(err)));
			}
			return -1;
		}
		done += (size_t)ret;
	}
	return 0;
}

static long long monotonic_msecs(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read one LF-terminated line. *line_r stays valid until the next call.
   Returns 1 with a line, 0 when the server closed the connection (a
   partial last line is dropped), -1 on error or timeout. */
static int auth_conn_read_line(struct auth_conn *conn, int timeout_msecs,
			       char **line_r, const char **error_r)
{
	long long deadline = monotonic_msecs() + timeout_msecs;
	char buf[4096];

	if (conn->skip > 0) {
		str_delete_head(conn->input, conn->skip);
		conn->skip = 0;
	}
	for (;;) {
		char *lf = memchr(conn->input->data, '\n', str_len(conn->input));
		if (lf != NULL) {
			*lf = '\0';
			conn->skip = (size_t)(lf - conn->input->data) + 1;
			*line_r = conn->input->data;
			return 1;
		}
		if (str_len(conn->input) > AUTH_MAX_LINE_LENGTH) {
			*error_r = auth_conn_set_error(conn, x_printf(
				"auth server %s sent a line longer than %d bytes",
				conn->path, AUTH_MAX_LINE_LENGTH));
			return -1;
		}

		long long left = deadline - monotonic_msecs();
		struct pollfd pfd = { .fd = conn->fd, .events = POLLIN };
		int ret = left <= 0 ? 0 : poll(&pfd, 1, (int)left);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			*error_r = auth_conn_set_error(conn,
				x_printf("poll() failed: %s", strerror(errno)));
			return -1;
		}
		if (ret == 0) {
			*error_r = auth_conn_set_error(conn, x_printf(
				"auth server %s did not answer within %d s",
				conn->path, timeout_msecs / 1000));
			return -1;
		}

		ssize_t n = read(conn->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ECONNRESET)
			n = 0;
		if (n < 0) {
			*error_r = auth_conn_set_error(conn, x_printf(
				"read(%s) failed: %s", conn->path, strerror(errno)));
			return -1;
		}
		if (n == 0) {
			conn->disconnected = true;
			return 0;
		}
		str_append_n(conn->input, buf, (size_t)n);
	}
}

/* Like auth_conn_read_line(), but EOF is an error too. */
static int auth_conn_read_line_eof(struct auth_conn *conn, int timeout_msecs,
				   const char *waiting_for, char **line_r,
				   const char **error_r)
{
	int ret = auth_conn_read_line(conn, timeout_msecs, line_r, error_r);

	if (ret == 0) {
		*error_r = auth_conn_set_error(conn, x_printf(
			"auth server %s closed the connection while we waited for %s",
			conn->path, waiting_for));
		return -1;
	}
	return ret;
}

/* Split a line at TABs in place; the array is malloc()ed (free it). */
static char **split_line(char *line, unsigned int *count_r)
{
	return str_split(NULL, line, '\t', count_r);
}

static bool reply_id_matches(const char *field, unsigned int id)
{
	unsigned int num;

	return field != NULL && str_to_uint(field, &num) == 0 && num == id;
}

/* ---- auth test ------------------------------------------------------- */

struct auth_test {
	const char *socket_path;
	const char *user;
	const char *master_user;
	string_t *params;          /* "\tkey=value" items after service= */
	const char *service;
};

/* The first handshake line of both sockets: VERSION 1 <minor>. */
static int check_version_line(struct auth_conn *conn, char **args,
			      unsigned int count, const char **error_r)
{
	if (!str_eq(args[0], "VERSION") || count < 3) {
		*error_r = auth_conn_set_error(conn, x_printf(
			"%s is not an auth socket: it did not start with VERSION",
			conn->path));
		return -1;
	}
	if (!str_eq(args[1], "1")) {
		*error_r = auth_conn_set_error(conn, x_printf(
			"auth server %s speaks protocol major version %s, we speak 1",
			conn->path, args[1]));
		return -1;
	}
	return 0;
}

/* Check the server handshake (auth-client-protocol.md 2.1).
   Returns 0 ok, -1 error. */
static int auth_client_handshake(struct auth_conn *conn, const char **error_r)
{
	bool version_seen = false, mech_seen = false, plain_seen = false;
	char *line;

	for (;;) {
		if (auth_conn_read_line_eof(conn, AUTH_HANDSHAKE_TIMEOUT_MSECS,
					    "its handshake", &line, error_r) < 0)
			return -1;

		unsigned int count;
		char **args = split_line(line, &count);
		const char *cmd = args[0];

		if (!version_seen) {
			if (check_version_line(conn, args, count, error_r) < 0) {
				free(args);
				return -1;
			}
			version_seen = true;
		} else if (str_eq(cmd, "MECH") && count >= 2) {
			mech_seen = true;
			if (str_ieq(args[1], "PLAIN"))
				plain_seen = true;
		} else if (str_eq(cmd, "SPID") && !mech_seen) {
			/* The master/userdb socket sends SPID and no MECH:
			   the check Postfix and Exim do too. */
			free(args);
			*error_r = auth_conn_set_error(conn, x_printf(
				"%s is an auth master/userdb socket, not an auth client socket",
				conn->path));
			return -1;
		} else if (str_eq(cmd, "DONE")) {
			free(args);
			break;
		}
		/* other lines (CUID, COOKIE, future ones) are not ours */
		free(args);
	}
	if (!plain_seen) {
		*error_r = auth_conn_set_error(conn, x_printf(
			"auth server %s does not offer the PLAIN mechanism (auth_mechanisms)",
			conn->path));
		return -1;
	}
	return 0;
}

static void base64_append(string_t *dest, const unsigned char *src, size_t size)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < size; i += 3) {
		str_append_c(dest, b64[src[i] >> 2]);
		str_append_c(dest, b64[((src[i] & 0x03) << 4) | (src[i + 1] >> 4)]);
		str_append_c(dest, b64[((src[i + 1] & 0x0f) << 2) | (src[i + 2] >> 6)]);
		str_append_c(dest, b64[src[i + 2] & 0x3f]);
	}
	if (i + 1 == size) {
		str_append_c(dest, b64[src[i] >> 2]);
		str_append_c(dest, b64[(src[i] & 0x03) << 4]);
		str_append(dest, "==");
	} else if (i + 2 == size) {
		str_append_c(dest, b64[src[i] >> 2]);
		str_append_c(dest, b64[((src[i] & 0x03) << 4) | (src[i + 1] >> 4)]);
		str_append_c(dest, b64[(src[i + 1] & 0x0f) << 2]);
		str_append_c(dest, '=');
	}
}

/* The terminal state to restore if a signal arrives while echo is off. */
static struct termios saved_termios;
static volatile sig_atomic_t termios_saved = 0;

static void password_prompt_signal(int signo)
{
	if (termios_saved)
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
	signal(signo, SIG_DFL);
	raise(signo);
}

/* Read the password: on a terminal with a prompt and without echo,
   otherwise one line from stdin (like doveadm). Returns a secure str. */
static string_t *read_password(void)
{
	string_t *pass = str_create_secure(64);
	bool tty = isatty(STDIN_FILENO) != 0;
	struct sigaction sa, old_int, old_term, old_hup;
	char c;

	if (tty) {
		struct termios noecho;

		/* echo goes off before the prompt shows: whoever answers
		   the prompt cannot race it */
		if (tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = password_prompt_signal;
			sigemptyset(&sa.sa_mask);
			(void)sigaction(SIGINT, &sa, &old_int);
			(void)sigaction(SIGTERM, &sa, &old_term);
			(void)sigaction(SIGHUP, &sa, &old_hup);
			termios_saved = 1;
			noecho = saved_termios;
			noecho.c_lflag &= ~(tcflag_t)ECHO;
			(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho);
		}
		fputs("Password: ", stderr);
		fflush(stderr);
	}
	for (;;) {
		ssize_t n = read(STDIN_FILENO, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c == '\n')
			break;
		str_append_c(pass, c);
	}
	c = '\0';
	if (str_len(pass) > 0 && str_c(pass)[str_len(pass) - 1] == '\r')
		str_truncate(pass, str_len(pass) - 1);
	if (tty) {
		if (termios_saved) {
			(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_termios);
			termios_saved = 0;
			(void)sigaction(SIGINT, &old_int, NULL);
			(void)sigaction(SIGTERM, &old_term, NULL);
			(void)sigaction(SIGHUP, &old_hup, NULL);
		}
		fputc('\n', stderr);
	}
	return pass;
}

/* Build the AUTH command. PLAIN message (RFC 4616):
   authzid NUL authcid NUL passwd; doveadm sends the user as authzid too,
   and with -M the master user as authcid. */
static string_t *auth_test_build_request(const struct auth_test *test,
					 const string_t *pass)
{
	const char *authcid = test->master_user != NULL ?
		test->master_user : test->user;
	string_t *plain = str_create_secure(128);
	string_t *cmd = str_create_secure(256);

	str_append(plain, test->user);
	str_append_c(plain, '\0');
	str_append(plain, authcid);
	str_append_c(plain, '\0');
	str_append_n(plain, str_data(pass), str_len(pass));

	str_append(cmd, "AUTH\t1\tPLAIN\tservice=");
	str_append_tabescaped(cmd, test->service);
	str_append_str(cmd, test->params);
	str_append(cmd, "\tresp=");
	base64_append(cmd, str_data(plain), str_len(plain));
	str_append_c(cmd, '\n');
	str_free(&plain);
	return cmd;
}

static void auth_test_print_result(const struct auth_test *test, bool success,
				   char **fields)
{
	printf("passdb: %s auth %s\n", test->user,
	       success ? "succeeded" : "failed");
	if (fields[0] == NULL)
		return;
	printf("extra fields:\n");
	for (; *fields != NULL; fields++)
		printf("  %s\n", str_tabunescape(*fields));
}

/* Returns the exit code. */
static int auth_test_run(const struct auth_test *test, const string_t *pass)
{
	char temp[] = "temp";
	char *temp_fields[] = { temp, NULL };
	struct auth_conn conn;
	const char *error;
	char *line;
	int ret, exit_code;

	auth_conn_init(&conn, test->socket_path);
	if (auth_conn_connect(&conn, &error) < 0) {
		fprintf(stderr, "Error: %s\n", error);
		auth_conn_deinit(&conn);
		/* doveadm auth test exits with EX_NOPERM here */
		return EX_NOPERM;
	}

	/* Pipelined like Dovecot's own clients: the server must not wait
	   for us before sending its handshake, nor we for it. */
	string_t *hello = str_create(64);
	str_printfa(hello, "VERSION\t1\t2\nCPID\t%ld\n", (long)getpid());
	ret = auth_conn_send(&conn, hello, &error);
	str_free(&hello);
	if (ret == 0)
		ret = auth_client_handshake(&conn, &error);
	if (ret < 0) {
		fprintf(stderr, "Error: %s\n", error);
		auth_conn_deinit(&conn);
		return EX_TEMPFAIL;
	}

	string_t *cmd = auth_test_build_request(test, pass);
	ret = auth_conn_send(&conn, cmd, &error);
	str_free(&cmd);

	if (ret == 0)
		ret = auth_conn_read_line_eof(&conn, AUTH_REPLY_TIMEOUT_MSECS,
					      "the AUTH reply", &line, &error);
	if (ret < 0) {
		/* Like doveadm: a lost server is a temporary failure of
		   the request. */
		fprintf(stderr, "Error: %s\n", error);
		auth_test_print_result(test, false, temp_fields);
		auth_conn_deinit(&conn);
		return EX_TEMPFAIL;
	}

	unsigned int count;
	char **args = split_line(line, &count);
	if (count < 2 || !reply_id_matches(args[1], 1)) {
		fprintf(stderr, "Error: auth server %s sent a reply for another request (we sent id 1): %s %s\n",
			conn.path, args[0], count < 2 ? "" : args[1]);
		exit_code = EX_TEMPFAIL;
	} else if (str_eq(args[0], "OK") || str_eq(args[0], "FAIL")) {
		bool success = str_eq(args[0], "OK");
		auth_test_print_result(test, success, args + 2);
		exit_code = success ? 0 : EX_NOPERM;
	} else if (str_eq(args[0], "CONT")) {
		fprintf(stderr, "Error: auth server %s asked for a SASL continuation; PLAIN has none\n",
			conn.path);
		exit_code = EX_TEMPFAIL;
	} else {
		fprintf(stderr, "Error: auth server %s sent an unknown reply: %s\n",
			conn.path, args[0]);
		exit_code = EX_TEMPFAIL;
	}
	free(args);
	fflush(stdout);
	auth_conn_deinit(&conn);
	return exit_code;
}

static int cmd_auth_test(int argc, char **argv)
{
	struct auth_test test = {
		.socket_path = ROOSTADM_DEFAULT_AUTH_CLIENT,
		.service = "doveadm",
	};
	string_t *pass;
	int c, exit_code;

	test.params = str_create(64);
	optind = 1;
	opterr = 0;
	while ((c = getopt(argc, argv, "+a:x:M:")) != -1) {
		switch (c) {
		case 'a':
			test.socket_path = optarg;
			break;
		case 'x':
			if (strncmp(optarg, "service=", 8) == 0) {
				test.service = optarg + 8;
			} else {
				/* passed as given, like doveadm; the server
				   ignores what it does not know */
				str_append_c(test.params, '\t');
				str_append_tabescaped(test.params, optarg);
			}
			break;
		case 'M':
			test.master_user = optarg;
			break;
		default:
			fputs(AUTH_TEST_USAGE, stderr);
			str_free(&test.params);
			return EX_USAGE;
		}
	}
	if (argc - optind < 1 || argc - optind > 2) {
		fputs(AUTH_TEST_USAGE, stderr);
		str_free(&test.params);
		return EX_USAGE;
	}
	test.user = argv[optind];
	if (argc - optind == 2) {
		pass = str_create_secure(64);
		str_append(pass, argv[optind + 1]);
	} else {
		pass = read_password();
	}
	exit_code = auth_test_run(&test, pass);
	str_free(&pass);
	str_free(&test.params);
	return exit_code;
}

/* ---- user ------------------------------------------------------------ */

struct user_lookup {
	const char *show_field;   /* -f */
	bool userdb_only;         /* -u: plain userdb view */
	string_t *params;
	unsigned int next_id;
};

/* Keys of -x that doveadm passes on to a userdb lookup; it drops the
   rest silently, and so do we. */
static bool user_info_key_known(const char *arg)
{
	static const char *const keys[] = {
		"service=", "lip=", "rip=", "lport=", "rport=",
	};
	for (size_t i = 0; i < N_ELEMENTS(keys); i++) {
		if (strncmp(arg, keys[i], strlen(keys[i])) == 0)
			return true;
	}
	return false;
}

/* Handshake on the master/userdb socket (auth-master-protocol.md 2):
   VERSION then SPID. A MECH line means the client socket. */
static int auth_master_handshake(struct auth_conn *conn, const char **error_r)
{
	bool version_seen = false;
	char *line;

	for (;;) {
		if (auth_conn_read_line_eof(conn, AUTH_HANDSHAKE_TIMEOUT_MSECS,
					    "its handshake", &line, error_r) < 0)
			return -1;

		unsigned int count;
		char **args = split_line(line, &count);
		const char *cmd = args[0];

		if (!version_seen) {
			if (check_version_line(conn, args, count, error_r) < 0) {
				free(args);
				return -1;
			}
			version_seen = true;
		} else if (str_eq(cmd, "MECH")) {
			free(args);
			*error_r = auth_conn_set_error(conn, x_printf(
				"%s is an auth client socket, not an auth master/userdb socket",
				conn->path));
			return -1;
		} else if (str_eq(cmd, "SPID")) {
			free(args);
			return 0;
		}
		free(args);
	}
}

/* Connect to the master/userdb socket and do the handshake. */
static int auth_master_open(struct auth_conn *conn, const char **error_r)
{
	string_t *hello;
	int ret;

	if (auth_conn_connect(conn, error_r) < 0)
		return -1;
	/* doveadm announces minor 0 here */
	hello = str_create(32);
	str_append(hello, "VERSION\t1\t0\n");
	ret = auth_conn_send(conn, hello, error_r);
	str_free(&hello);
	if (ret == 0)
		ret = auth_master_handshake(conn, error_r);
	return ret;
}

static const char *field_value(char *const *fields, const char *key,
			       bool *found_r)
{
	size_t key_len = strlen(key);

	*found_r = false;
	for (; *fields != NULL; fields++) {
		if (strncmp(*fields, key, key_len) != 0)
			continue;
		if ((*fields)[key_len] == '=') {
			*found_r = true;
			return *fields + key_len + 1;
		}
		if ((*fields)[key_len] == '\0') {
			*found_r = true;
			return "";
		}
	}
	return "";
}

static bool is_fixed_field(const char *field)
{
	static const char *const fixed[] = { "uid", "gid", "home", "mail" };
	size_t len = strcspn(field, "=");

	for (size_t i = 0; i < N_ELEMENTS(fixed); i++) {
		if (strlen(fixed[i]) == len && strncmp(field, fixed[i], len) == 0)
			return true;
	}
	return false;
}

/* doveadm's "key : value" view of reply fields (user -u, auth lookup). */
static void print_field_list(char *const *fields)
{
	for (; *fields != NULL; fields++) {
		const char *eq = strchr(*fields, '=');
		if (eq == NULL)
			printf("  %-10s\n", *fields);
		else
			printf("  %-10.*s: %s\n", (int)(eq - *fields), *fields, eq + 1);
	}
}

/* Print a found user. fields are already unescaped. */
static void user_print(const struct user_lookup *lookup, const char *user,
		       const char *returned_user, char *const *fields)
{
	bool found;

	if (lookup->show_field != NULL) {
		const char *value;

		if (str_eq(lookup->show_field, "user")) {
			if (lookup->userdb_only || !str_eq(user, returned_user))
				printf("%s\n", returned_user);
			return;
		}
		value = field_value(fields, lookup->show_field, &found);
		/* doveadm's mail-user view always has uid, gid, home and
		   mail, so they print (empty) even when the userdb had none */
		if (found || (!lookup->userdb_only &&
			      is_fixed_field(lookup->show_field)))
			printf("%s\n", value);
		return;
	}
	if (lookup->userdb_only) {
		printf("userdb: %s\n", user);
		printf("  %-10s: %s\n", "user", returned_user);
		print_field_list(fields);
		return;
	}
	if (!str_eq(user, returned_user))
		printf("user\t%s\n", returned_user);
	printf("uid\t%s\n", field_value(fields, "uid", &found));
	printf("gid\t%s\n", field_value(fields, "gid", &found));
	printf("home\t%s\n", field_value(fields, "home", &found));
	printf("mail\t%s\n", field_value(fields, "mail", &found));
	for (; *fields != NULL; fields++) {
		if (is_fixed_field(*fields))
			continue;
		const char *eq = strchr(*fields, '=');
		if (eq == NULL)
			printf("%s\t\n", *fields);
		else
			printf("%.*s\t%s\n", (int)(eq - *fields), *fields, eq + 1);
	}
}

/* One USER lookup. Returns the exit code for it. */
static int user_lookup_one(struct user_lookup *lookup, struct auth_conn *conn,
			   const char *user)
{
	unsigned int id = ++lookup->next_id;
	string_t *cmd = str_create(128);
	const char *error;
	char *line;
	int ret, exit_code;

	str_printfa(cmd, "USER\t%u\t", id);
	str_append_tabescaped(cmd, user);
	str_append_str(cmd, lookup->params);
	str_append_c(cmd, '\n');
	ret = auth_conn_send(conn, cmd, &error);
	str_free(&cmd);
	if (ret == 0)
		ret = auth_conn_read_line_eof(conn, AUTH_REPLY_TIMEOUT_MSECS,
					      "the USER reply", &line, &error);
	if (ret < 0) {
		fprintf(stderr, "Error: userdb lookup(%s): %s\n", user, error);
		return EX_TEMPFAIL;
	}

	unsigned int count;
	char **args = split_line(line, &count);
	if (count < 2 || !reply_id_matches(args[1], id)) {
		fprintf(stderr, "Error: userdb lookup(%s): auth server %s sent a reply for another request (we sent id %u): %s %s\n",
			user, conn->path, id, args[0], count < 2 ? "" : args[1]);
		exit_code = EX_TEMPFAIL;
	} else if (str_eq(args[0], "USER") && count >= 3) {
		for (unsigned int i = 2; i < count; i++)
			str_tabunescape(args[i]);
		user_print(lookup, user, args[2], args + 3);
		exit_code = 0;
	} else if (str_eq(args[0], "NOTFOUND")) {
		if (lookup->userdb_only)
			printf("userdb lookup: user %s doesn't exist\n", user);
		else
			fprintf(lookup->show_field != NULL ? stderr : stdout,
				"\nuserdb lookup: user %s doesn't exist\n", user);
		exit_code = EX_NOUSER;
	} else if (str_eq(args[0], "FAIL")) {
		bool found;
		for (unsigned int i = 2; i < count; i++)
			str_tabunescape(args[i]);
		const char *reason = field_value(args + 2, "reason", &found);
		if (found)
			fprintf(stderr, "Error: userdb lookup failed for %s: %s\n",
				user, reason);
		else
			fprintf(stderr, "Error: userdb lookup failed for %s\n", user);
		exit_code = EX_TEMPFAIL;
	} else {
		fprintf(stderr, "Error: userdb lookup(%s): auth server %s sent an unknown reply: %s\n",
			user, conn->path, args[0]);
		exit_code = EX_TEMPFAIL;
	}
	free(args);
	return exit_code;
}

/* Match name against a mask where '*' is any run of characters and '?'
   one character (no other specials, unlike fnmatch), ignoring ASCII case
   as doveadm does. */
static bool wildcard_match(const char *name, const char *mask)
{
	const char *star = NULL, *star_name = NULL;

	while (*name != '\0') {
		if (*mask == '*') {
			star = mask++;
			star_name = name;
		} else if (*mask == '?' ||
			   tolower((unsigned char)*mask) == tolower((unsigned char)*name)) {
			mask++;
			name++;
		} else if (star != NULL) {
			mask = star + 1;
			name = ++star_name;
		} else {
			return false;
		}
	}
	while (*mask == '*')
		mask++;
	return *mask == '\0';
}

/* LIST with a user mask (auth-master-protocol.md 5): print the names.
   Dovecot 2.3's server sends every user whatever the mask (its doveadm
   filters), so we filter here too. */
static int user_list(struct user_lookup *lookup, struct auth_conn *conn,
		     const char *mask)
{
	unsigned int id = ++lookup->next_id;
	string_t *cmd = str_create(128);
	const char *error;
	char *line;
	int ret;

	str_printfa(cmd, "LIST\t%u\tuser=", id);
	str_append_tabescaped(cmd, mask);
	str_append_str(cmd, lookup->params);
	str_append_c(cmd, '\n');
	ret = auth_conn_send(conn, cmd, &error);
	str_free(&cmd);
	for (;;) {
		if (ret >= 0)
			ret = auth_conn_read_line_eof(conn, AUTH_REPLY_TIMEOUT_MSECS,
						      "the LIST reply", &line, &error);
		if (ret < 0) {
			fprintf(stderr, "Error: user listing failed: %s\n", error);
			return EX_TEMPFAIL;
		}

		unsigned int count;
		char **args = split_line(line, &count);
		if (count < 2 || !reply_id_matches(args[1], id)) {
			fprintf(stderr, "Error: user listing: auth server %s sent a reply for another request (we sent id %u): %s %s\n",
				conn->path, id, args[0], count < 2 ? "" : args[1]);
			free(args);
			return EX_TEMPFAIL;
		}
		if (str_eq(args[0], "LIST") && count >= 3) {
			const char *name = str_tabunescape(args[2]);
			if (wildcard_match(name, mask))
				printf("%s\n", name);
		} else if (str_eq(args[0], "DONE")) {
			bool failed = count >= 3 && str_eq(args[2], "fail");
			free(args);
			if (failed) {
				fprintf(stderr, "Error: user listing failed (no userdb that can list users?)\n");
				return EX_TEMPFAIL;
			}
			return 0;
		} else {
			fprintf(stderr, "Error: user listing: auth server %s sent an unknown reply: %s\n",
				conn->path, args[0]);
			free(args);
			return EX_TEMPFAIL;
		}
		free(args);
	}
}

static bool is_user_mask(const char *user)
{
	return strpbrk(user, "*?") != NULL;
}

int cmd_user(int argc, char **argv)
{
	struct user_lookup lookup = { .show_field = NULL };
	const char *socket_path = ROOSTADM_DEFAULT_AUTH_MASTER;
	const char *service = "doveadm";
	struct auth_conn conn;
	const char *error;
	bool masks = false;
	int c, ret, exit_code = 0;

	lookup.params = str_create(64);
	optind = 1;
	opterr = 0;
	while ((c = getopt(argc, argv, "+a:x:f:u")) != -1) {
		switch (c) {
		case 'a':
			socket_path = optarg;
			break;
		case 'x':
			if (strncmp(optarg, "service=", 8) == 0) {
				service = optarg + 8;
			} else if (user_info_key_known(optarg)) {
				str_append_c(lookup.params, '\t');
				str_append_tabescaped(lookup.params, optarg);
			}
			break;
		case 'f':
			lookup.show_field = optarg;
			break;
		case 'u':
			lookup.userdb_only = true;
			break;
		default:
			fputs(USER_USAGE, stderr);
			str_free(&lookup.params);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(USER_USAGE, stderr);
		str_free(&lookup.params);
		return EX_USAGE;
	}
	/* service= goes first, as doveadm sends it */
	string_t *params = str_create(64);
	str_append(params, "\tservice=");
	str_append_tabescaped(params, service);
	str_append_str(params, lookup.params);
	str_free(&lookup.params);
	lookup.params = params;

	for (int i = optind; i < argc; i++) {
		if (is_user_mask(argv[i]))
			masks = true;
	}
	/* doveadm prints the table header before it even connects */
	if (!masks && lookup.show_field == NULL && !lookup.userdb_only) {
		printf("field\tvalue\n");
		fflush(stdout);
	}

	auth_conn_init(&conn, socket_path);
	if (auth_master_open(&conn, &error) < 0) {
		fprintf(stderr, "Error: userdb lookup(%s): %s\n", argv[optind], error);
		auth_conn_deinit(&conn);
		str_free(&lookup.params);
		return EX_TEMPFAIL;
	}

	for (int i = optind; i < argc; i++) {
		if (masks) {
			ret = user_list(&lookup, &conn, argv[i]);
		} else {
			if (i > optind)
				printf("\n");
			ret = user_lookup_one(&lookup, &conn, argv[i]);
		}
		fflush(stdout);
		if (ret != 0)
			exit_code = ret;
		if (conn.disconnected)
			break;
	}
	auth_conn_deinit(&conn);
	str_free(&lookup.params);
	return exit_code;
}

/* ---- auth lookup: PASS (auth-master-protocol.md 4) -------------------- */

#define AUTH_LOOKUP_USAGE \
	"usage: roostadm auth lookup [-a SOCKET] [-x key=value] [-f FIELD] USER [USER...]\n"

/* One PASS lookup. Returns the exit code for it. */
static int auth_lookup_one(struct auth_conn *conn, unsigned int id,
			   const char *user, const string_t *params,
			   const char *show_field)
{
	string_t *cmd = str_create(128);
	const char *error;
	char *line;
	int ret, exit_code;

	str_printfa(cmd, "PASS\t%u\t", id);
	str_append_tabescaped(cmd, user);
	str_append_str(cmd, params);
	str_append_c(cmd, '\n');
	ret = auth_conn_send(conn, cmd, &error);
	str_free(&cmd);
	if (ret == 0)
		ret = auth_conn_read_line_eof(conn, AUTH_REPLY_TIMEOUT_MSECS,
					      "the PASS reply", &line, &error);
	if (ret < 0) {
		fprintf(stderr, "Error: passdb lookup(%s): %s\n", user, error);
		return EX_TEMPFAIL;
	}

	unsigned int count;
	char **args = split_line(line, &count);
	for (unsigned int i = 2; i < count; i++)
		str_tabunescape(args[i]);
	if (count < 2 || !reply_id_matches(args[1], id)) {
		fprintf(stderr, "Error: passdb lookup(%s): auth server %s sent a reply for another request (we sent id %u): %s %s\n",
			user, conn->path, id, args[0], count < 2 ? "" : args[1]);
		exit_code = EX_TEMPFAIL;
	} else if (str_eq(args[0], "PASS")) {
		if (show_field != NULL) {
			bool found;
			const char *value = field_value(args + 2, show_field, &found);
			if (found)
				printf("%s\n", value);
		} else {
			printf("passdb: %s\n", user);
			print_field_list(args + 2);
		}
		exit_code = 0;
	} else if (str_eq(args[0], "NOTFOUND")) {
		printf("passdb lookup: user %s doesn't exist\n", user);
		exit_code = EX_NOUSER;
	} else if (str_eq(args[0], "FAIL")) {
		bool found;
		const char *reason = field_value(args + 2, "reason", &found);
		if (found)
			fprintf(stderr, "Error: passdb lookup failed for %s: %s\n",
				user, reason);
		else
			fprintf(stderr, "Error: passdb lookup failed for %s\n", user);
		exit_code = EX_TEMPFAIL;
	} else {
		fprintf(stderr, "Error: passdb lookup(%s): auth server %s sent an unknown reply: %s\n",
			user, conn->path, args[0]);
		exit_code = EX_TEMPFAIL;
	}
	free(args);
	return exit_code;
}

static int cmd_auth_lookup(int argc, char **argv)
{
	const char *socket_path = ROOSTADM_DEFAULT_AUTH_MASTER;
	const char *service = "doveadm", *show_field = NULL;
	string_t *extra = str_create(64), *params;
	struct auth_conn conn;
	const char *error;
	int c, ret, exit_code = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt(argc, argv, "+a:x:f:")) != -1) {
		switch (c) {
		case 'a':
			socket_path = optarg;
			break;
		case 'x':
			/* unlike user, doveadm passes every -x on here */
			if (strncmp(optarg, "service=", 8) == 0) {
				service = optarg + 8;
			} else {
				str_append_c(extra, '\t');
				str_append_tabescaped(extra, optarg);
			}
			break;
		case 'f':
			show_field = optarg;
			break;
		default:
			fputs(AUTH_LOOKUP_USAGE, stderr);
			str_free(&extra);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(AUTH_LOOKUP_USAGE, stderr);
		str_free(&extra);
		return EX_USAGE;
	}
	params = str_create(64);
	str_append(params, "\tservice=");
	str_append_tabescaped(params, service);
	str_append_str(params, extra);
	str_free(&extra);

	auth_conn_init(&conn, socket_path);
	if (auth_master_open(&conn, &error) < 0) {
		fprintf(stderr, "Error: passdb lookup(%s): %s\n", argv[optind], error);
		auth_conn_deinit(&conn);
		str_free(&params);
		return EX_TEMPFAIL;
	}
	for (int i = optind; i < argc; i++) {
		if (i > optind && show_field == NULL)
			printf("\n");
		ret = auth_lookup_one(&conn, (unsigned int)(i - optind + 1), argv[i],
				      params, show_field);
		fflush(stdout);
		if (ret != 0)
			exit_code = ret;
		if (conn.disconnected)
			break;
	}
	auth_conn_deinit(&conn);
	str_free(&params);
	return exit_code;
}

/* ---- auth cache flush / auth stats -------------------------------------- */

/* Send one command on auth-master and return its reply's fields after
   "OK<TAB>id" (malloc()ed line in *line_r), or an exit code. */
static int auth_master_command(const char *socket_path, const char *what,
			       const string_t *cmd, char **line_r, char ***args_r,
			       unsigned int *count_r)
{
	struct auth_conn conn;
	const char *error;
	char *line;

	auth_conn_init(&conn, socket_path);
	if (auth_master_open(&conn, &error) < 0 ||
	    auth_conn_send(&conn, cmd, &error) < 0 ||
	    auth_conn_read_line_eof(&conn, AUTH_REPLY_TIMEOUT_MSECS, what, &line, &error) < 0) {
		fprintf(stderr, "Error: %s: %s\n", what, error);
		auth_conn_deinit(&conn);
		return EX_TEMPFAIL;
	}
	*line_r = x_strdup(line);
	auth_conn_deinit(&conn);
	*args_r = split_line(*line_r, count_r);
	if (*count_r < 2 || !str_eq((*args_r)[0], "OK") || !reply_id_matches((*args_r)[1], 1)) {
		fprintf(stderr, "Error: %s: auth server %s answered: %s\n", what,
			socket_path, (*args_r)[0]);
		free(*args_r);
		free(*line_r);
		return EX_TEMPFAIL;
	}
	return 0;
}

/* Parse "-a SOCKET" options from argv (getopt from index 1): returns
   false after printing usage for anything else. */
static bool parse_socket_option(int argc, char **argv, const char **socket_path,
				const char *usage)
{
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt(argc, argv, "+a:")) != -1) {
		if (c != 'a') {
			fputs(usage, stderr);
			return false;
		}
		*socket_path = optarg;
	}
	return true;
}

static int cmd_auth_cache(int argc, char **argv)
{
	static const char usage[] = "usage: roostadm auth cache flush [-a SOCKET] [USER...]\n";
	const char *socket_path = ROOSTADM_DEFAULT_AUTH_MASTER;

	if (!parse_socket_option(argc, argv, &socket_path, usage))
		return EX_USAGE;
	if (optind >= argc || !str_eq(argv[optind], "flush")) {
		fputs(usage, stderr);
		return EX_USAGE;
	}
	/* options may also follow "flush" */
	int rest = optind;
	argc -= rest;
	argv += rest;
	if (!parse_socket_option(argc, argv, &socket_path, usage))
		return EX_USAGE;
	string_t *cmd = str_create(128);
	str_append(cmd, "CACHE-FLUSH\t1");
	for (int i = optind; i < argc; i++) {
		str_append_c(cmd, '\t');
		str_append_tabescaped(cmd, argv[i]);
	}
	str_append_c(cmd, '\n');
	char *line, **args;
	unsigned int count;
	int ret = auth_master_command(socket_path, "auth cache flush", cmd, &line, &args, &count);
	str_free(&cmd);
	if (ret != 0)
		return ret;
	printf("%s cache entries flushed\n", count > 2 ? args[2] : "0");
	free(args);
	free(line);
	return 0;
}

static int cmd_auth_stats(int argc, char **argv)
{
	const char *socket_path = ROOSTADM_DEFAULT_AUTH_MASTER;

	if (!parse_socket_option(argc, argv, &socket_path,
				 "usage: roostadm auth stats [-a SOCKET]\n"))
		return EX_USAGE;
	string_t *cmd = str_create(32);
	str_append(cmd, "CACHE-STATS\t1\n");
	char *line, **args;
	unsigned int count;
	int ret = auth_master_command(socket_path, "auth stats", cmd, &line, &args, &count);
	str_free(&cmd);
	if (ret != 0)
		return ret;
	/* "key=value" fields, one per line: cache=on, entries=.., hits=.. */
	for (unsigned int i = 2; i < count; i++) {
		char *eq = strchr(args[i], '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		printf("cache_%s: %s\n", str_eq(args[i], "cache") ? "enabled" : args[i],
		       str_eq(args[i], "cache") ? (str_eq(eq + 1, "on") ? "yes" : "no") : eq + 1);
	}
	free(args);
	free(line);
	return 0;
}

/* ---- auth: subcommands -------------------------------------------------- */

int cmd_auth(int argc, char **argv)
{
	if (argc >= 2 && str_eq(argv[1], "test"))
		return cmd_auth_test(argc - 1, argv + 1);
	if (argc >= 2 && str_eq(argv[1], "lookup"))
		return cmd_auth_lookup(argc - 1, argv + 1);
	if (argc >= 2 && str_eq(argv[1], "cache"))
		return cmd_auth_cache(argc - 1, argv + 1);
	if (argc >= 2 && str_eq(argv[1], "stats"))
		return cmd_auth_stats(argc - 1, argv + 1);
	fprintf(stderr, "usage: roostadm auth COMMAND [ARGS]\n"
		"  test [-a SOCKET] [-x key=value] [-M MASTER_USER] USER [PASS]\n"
		"  lookup [-a SOCKET] [-x key=value] [-f FIELD] USER [USER...]\n"
		"  cache flush [-a SOCKET] [USER...]\n"
		"  stats [-a SOCKET]\n");
	return EX_USAGE;
}
