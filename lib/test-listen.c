/* Unit tests for listen.h: unix and inet listeners, the ROOST_LISTENERS
   hand-over. */
#include "lib.h"
#include "listen.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <setjmp.h>
#include <cmocka.h>

struct test_dir {
	char dir[64];
	char path[96];
};

static int setup_dir(void **state)
{
	struct test_dir *td = x_malloc(sizeof(*td));

	/* /tmp, not the build dir: sun_path holds only 107 bytes */
	snprintf(td->dir, sizeof(td->dir), "/tmp/roost-test-listen.XXXXXX");
	if (mkdtemp(td->dir) == NULL)
		return -1;
	snprintf(td->path, sizeof(td->path), "%s/sock", td->dir);
	*state = td;
	return 0;
}

static int teardown_dir(void **state)
{
	struct test_dir *td = *state;

	(void)unlink(td->path);
	(void)rmdir(td->dir);
	free(td);
	return 0;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The mode is exact whatever the umask, and the socket accepts. */
static void test_unix_mode(void **state)
{
	static const struct {
		mode_t umask;
		unsigned int mode;
	} tests[] = {
		{ 0022, 0600 }, { 0077, 0666 }, { 0000, 0600 }, { 0022, 0660 },
		{ 0777, 0640 },
	};
	struct test_dir *td = *state;
	struct stat st;
	char *error;
	int fd, client;

	for (size_t i = 0; i < N_ELEMENTS(tests); i++) {
		mode_t old = umask(tests[i].umask);

		fd = listen_unix(td->path, tests[i].mode, "", "", &error);
		umask(old);
		assert_true(fd >= 0);
		assert_null(error);
		assert_int_equal(stat(td->path, &st), 0);
		assert_true(S_ISSOCK(st.st_mode));
		assert_int_equal(st.st_mode & 07777, tests[i].mode);
		/* close-on-exec and non-blocking, per listen.h */
		assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
		assert_true((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
		client = unix_connect(td->path);
		assert_true(client >= 0);
		close(client);
		close(fd);
		assert_int_equal(unlink(td->path), 0);
	}
}

/* A socket file nobody listens on is replaced. */
static void test_unix_stale(void **state)
{
	struct test_dir *td = *state;
	struct sockaddr_un sa;
	struct stat st_before, st_after;
	char *error;
	int fd, client;

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", td->path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	close(fd);   /* the "crashed" server leaves its socket file behind */
	assert_int_equal(stat(td->path, &st_before), 0);
	assert_true(unix_connect(td->path) < 0);

	fd = listen_unix(td->path, 0600, "", "", &error);
	assert_true(fd >= 0);
	assert_null(error);
	assert_int_equal(stat(td->path, &st_after), 0);
	assert_true(S_ISSOCK(st_after.st_mode));
	/* (the inode number may be reused, so a live connect is the proof) */
	client = unix_connect(td->path);
	assert_true(client >= 0);
	close(client);
	close(fd);
}

/* A live server's socket is never taken over. */
static void test_unix_live(void **state)
{
	struct test_dir *td = *state;
	char *error;
	int fd, fd2, client;

	fd = listen_unix(td->path, 0600, "", "", &error);
	assert_true(fd >= 0);
	fd2 = listen_unix(td->path, 0600, "", "", &error);
	assert_int_equal(fd2, -1);
	assert_non_null(error);
	assert_non_null(strstr(error, td->path));
	assert_non_null(strstr(error, "already listening"));
	free(error);
	/* the first server still gets its connections */
	client = unix_connect(td->path);
	assert_true(client >= 0);
	close(client);
	close(fd);
}

/* Not a socket: refused, and the file is left alone. */
static void test_unix_not_socket(void **state)
{
	struct test_dir *td = *state;
	struct stat st;
	char *error;
	int fd;

	fd = open(td->path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "data", 4), 4);
	close(fd);
	fd = listen_unix(td->path, 0600, "", "", &error);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(error, "not a socket"));
	free(error);
	assert_int_equal(stat(td->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 4);
}

static void test_unix_errors(void **state)
{
	struct test_dir *td = *state;
	char long_path[200], missing[160], uid_str[32], gid_str[32];
	struct stat st;
	char *error;
	int fd;

	/* too long for sun_path */
	memset(long_path, 'x', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	assert_int_equal(listen_unix(long_path, 0600, "", "", &error), -1);
	assert_non_null(strstr(error, "path length"));
	free(error);

	/* directory missing: bind() error names the call and the path */
	snprintf(missing, sizeof(missing), "%s/nodir/sock", td->dir);
	assert_int_equal(listen_unix(missing, 0600, "", "", &error), -1);
	assert_non_null(strstr(error, "bind("));
	assert_non_null(strstr(error, missing));
	assert_non_null(strstr(error, strerror(ENOENT)));
	free(error);

	/* unknown user: error, and no socket file left behind */
	assert_int_equal(listen_unix(td->path, 0600, "roost-no-such-user-x", "",
				     &error), -1);
	assert_non_null(strstr(error, "roost-no-such-user-x"));
	free(error);
	assert_int_equal(stat(td->path, &st), -1);

	/* chown to ourselves by number always works */
	snprintf(uid_str, sizeof(uid_str), "%ld", (long)getuid());
	snprintf(gid_str, sizeof(gid_str), "%ld", (long)getgid());
	fd = listen_unix(td->path, 0660, uid_str, gid_str, &error);
	assert_true(fd >= 0);
	assert_int_equal(stat(td->path, &st), 0);
	assert_int_equal(st.st_uid, getuid());
	assert_int_equal(st.st_gid, getgid());
	close(fd);
}

static unsigned int fd_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void test_inet(void **state ATTR_UNUSED)
{
	struct sockaddr_in sin;
	char *error;
	unsigned int port;
	int fd, fd2, client;

	fd = listen_inet("127.0.0.1", 0, false, &error);
	assert_true(fd >= 0);
	assert_null(error);
	port = fd_port(fd);
	assert_true(port > 0);

	client = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(client, (struct sockaddr *)&sin, sizeof(sin)), 0);
	close(client);

	/* same port again: the error names the address and errno */
	fd2 = listen_inet("127.0.0.1", port, false, &error);
	assert_int_equal(fd2, -1);
	assert_non_null(strstr(error, "bind(127.0.0.1:"));
	assert_non_null(strstr(error, strerror(EADDRINUSE)));
	free(error);
	close(fd);

	/* reuse_port lets two listeners share a port */
	fd = listen_inet("127.0.0.1", 0, true, &error);
	assert_true(fd >= 0);
	fd2 = listen_inet("127.0.0.1", fd_port(fd), true, &error);
	assert_true(fd2 >= 0);
	close(fd2);
	close(fd);

	fd = listen_inet("*", 0, false, &error);
	assert_true(fd >= 0);
	close(fd);
}

static void test_inet_ipv6(void **state ATTR_UNUSED)
{
	char *error;
	int fd;

	fd = listen_inet("::1", 0, false, &error);
	if (fd < 0) {
		/* a host without IPv6 */
		free(error);
		skip();
	}
	close(fd);
	fd = listen_inet("[::1]", 0, false, &error);
	assert_true(fd >= 0);
	close(fd);
	fd = listen_inet("::", 0, false, &error);
	assert_true(fd >= 0);
	close(fd);
}

static void test_inet_errors(void **state ATTR_UNUSED)
{
	static const char *const bad[] = {
		"localhost", "", "1.2.3", "300.1.1.1", "[::1", "not an ip",
	};
	char *error;

	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		assert_int_equal(listen_inet(bad[i], 0, false, &error), -1);
		assert_non_null(strstr(error, "not an IP address"));
		free(error);
	}
	assert_int_equal(listen_inet("127.0.0.1", 65536, false, &error), -1);
	assert_non_null(strstr(error, "invalid port"));
	free(error);
}

static void test_env_roundtrip(void **state)
{
	struct test_dir *td = *state;
	listener_array_t parsed = ARRAY_INIT;
	struct listener ls[2];
	char *value, *error;
	int ufd, ifd;

	ufd = listen_unix(td->path, 0600, "", "", &error);
	ifd = listen_inet("127.0.0.1", 0, false, &error);
	assert_true(ufd >= 0 && ifd >= 0);
	ls[0] = (struct listener){ .fd = ufd, .is_unix = true, .name = (char *)"sock" };
	ls[1] = (struct listener){ .fd = ifd, .is_unix = false, .name = (char *)"auth-inet" };
	value = listen_to_env(ls, 2);
	{
		char expected[64];

		snprintf(expected, sizeof(expected), "%d:unix:sock %d:inet:auth-inet",
			 ufd, ifd);
		assert_string_equal(value, expected);
	}
	assert_int_equal(setenv("ROOST_LISTENERS", value, 1), 0);
	free(value);

	assert_int_equal(listen_from_env(&parsed, &error), 2);
	assert_int_equal(parsed.count, 2);
	assert_int_equal(parsed.v[0].fd, ufd);
	assert_true(parsed.v[0].is_unix);
	assert_string_equal(parsed.v[0].name, "sock");
	assert_string_equal(parsed.v[0].path, td->path);
	assert_int_equal(parsed.v[1].fd, ifd);
	assert_false(parsed.v[1].is_unix);
	assert_string_equal(parsed.v[1].name, "auth-inet");
	assert_non_null(strstr(parsed.v[1].path, "127.0.0.1:"));
	for (size_t i = 0; i < parsed.count; i++)
		listener_free_members(&parsed.v[i]);
	array_free(&parsed);

	/* malformed values leave the array empty */
	{
		static const char *const bad[] = {
			"3", "3:unix", "x:unix:a", "3:tcp:a", "3:unix:", "-1:unix:a",
			"999:unix:closed",
		};
		for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
			char good_then_bad[64];

			snprintf(good_then_bad, sizeof(good_then_bad),
				 "%d:unix:ok %s", ufd, bad[i]);
			assert_int_equal(setenv("ROOST_LISTENERS", good_then_bad, 1), 0);
			assert_int_equal(listen_from_env(&parsed, &error), -1);
			assert_non_null(error);
			free(error);
			assert_int_equal(parsed.count, 0);
		}
	}
	unsetenv("ROOST_LISTENERS");
	assert_int_equal(listen_from_env(&parsed, &error), 0);
	array_free(&parsed);
	close(ufd);
	close(ifd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unix_mode, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_unix_stale, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_unix_live, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_unix_not_socket, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_unix_errors, setup_dir, teardown_dir),
		cmocka_unit_test(test_inet),
		cmocka_unit_test(test_inet_ipv6),
		cmocka_unit_test(test_inet_errors),
		cmocka_unit_test_setup_teardown(test_env_roundtrip, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
