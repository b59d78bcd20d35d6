/* Test harness for roost-auth: an auth instance from a config string in
   this process, with socketpair connections to its protocol servers. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "log.h"
#include "roost-settings.h"
#include "auth.h"
#include "auth-client-connection.h"
#include "auth-master-connection.h"
#include "test-harness.h"
#include "base64.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <event2/event.h>
#include <setjmp.h>
#include <cmocka.h>

char tmpdir[64];


void write_file(const char *name, const char *content)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

void harness_init(struct harness *h, const char *extra_config)
{
	string_t *conf = str_create(1024);
	const char *error;

	memset(h, 0, sizeof(*h));
	str_printfa(conf,
		"base_dir = %s/run\n"
		"auth_mechanisms = plain login\n"
		"auth_failure_delay = 0\n"
		"disable_plaintext_auth = no\n"
		"%s", tmpdir, extra_config);
	h->err_pool = pool_create("errors", 256);
	if (roost_settings_read_string(str_c(conf), "test.conf", &h->set,
				       h->err_pool, &error) < 0)
		fail_msg("config: %s", error);
	str_free(&conf);
	h->base = event_base_new();
	if (auth_create(h->base, h->set, &h->auth, &error) < 0)
		fail_msg("auth_create: %s", error);
	auth_client_connections_init(h->auth);
	h->out = str_create(1024);
}

void harness_connect(struct harness *h, bool master, bool userdb_only)
{
	int fds[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	h->peer = fds[1];
	if (master)
		auth_master_connection_create(h->auth, fds[0], userdb_only);
	else
		auth_client_connection_create(h->auth, fds[0], false);
	str_truncate(h->out, 0);
}

void harness_run(struct harness *h)
{
	char buf[4096];
	ssize_t n;

	for (int i = 0; i < 50; i++) {
		event_base_loop(h->base, EVLOOP_NONBLOCK);
		while ((n = read(h->peer, buf, sizeof(buf))) > 0)
			str_append_n(h->out, buf, (size_t)n);
		if (n == 0) {
			str_append(h->out, "<EOF>");
			break;
		}
		usleep(1000);
	}
}

void harness_send(struct harness *h, const char *data, bool bytewise)
{
	size_t len = strlen(data);
	if (!bytewise) {
		assert_int_equal(write(h->peer, data, len), (ssize_t)len);
		harness_run(h);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		assert_int_equal(write(h->peer, data + i, 1), 1);
		event_base_loop(h->base, EVLOOP_NONBLOCK);
	}
	harness_run(h);
}

/* The output since the last call, and reset. */
char *harness_take(struct harness *h)
{
	char *s = x_strdup(str_c(h->out));
	str_truncate(h->out, 0);
	return s;
}

void harness_deinit(struct harness *h)
{
	close(h->peer);
	harness_run(h);
	auth_master_connections_destroy_all();
	auth_client_connections_deinit();
	auth_destroy(&h->auth);
	event_base_free(h->base);
	roost_settings_free(&h->set);
	pool_destroy(&h->err_pool);
	str_free(&h->out);
}

char *users_config(void)
{
	return x_printf("passdb {\n driver = passwd-file\n args = scheme=PLAIN %s/users\n}\n"
			"userdb {\n driver = passwd-file\n args = %s/users\n}\n", tmpdir, tmpdir);
}

void assert_contains(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle) == NULL)
		fail_msg("expected %s in output: %s", needle, haystack);
}

int test_harness_setup_dir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/roost-test-auth.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int test_harness_remove_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

char *test_b64(const void *data, size_t size)
{
	string_t *str = str_create(64);
	base64_encode(str, data, size);
	return str_free_without_data(&str);
}

char *harness_cont(struct harness *h, unsigned int id, const void *data, size_t size)
{
	char *enc = test_b64(data, size);
	char *line = x_printf("CONT\t%u\t%s\n", id, enc);
	harness_send(h, line, false);
	free(line);
	free(enc);
	return harness_take(h);
}

char *test_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	string_t *str = str_create(4096);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		str_append_n(str, buf, n);
	fclose(f);
	return str_free_without_data(&str);
}
