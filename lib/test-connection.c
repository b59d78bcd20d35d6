/* Unit tests for connection.h over socketpairs: input delivered one byte
   at a time, overlong lines, NUL bytes, EOF with buffered lines, and
   output flow control. */
#include "lib.h"
#include "connection.h"
#include "str.h"

#include <stdio.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <event2/event.h>
#include <setjmp.h>
#include <cmocka.h>

struct test_ctx {
	struct event_base *base;
	struct connection *conn;
	string_t *lines;
	int errors;
	enum connection_error last_error;
	bool disconnected;
	bool echo;
};

static int t_input_line(struct connection *conn, char *line, size_t len)
{
	struct test_ctx *ctx = connection_get_context(conn);
	assert_int_equal(strlen(line), len);
	str_append(ctx->lines, line);
	str_append_c(ctx->lines, '|');
	if (ctx->echo) {
		/* 1 KiB reply per line: fills the output buffer fast */
		char reply[1024];
		memset(reply, 'r', sizeof(reply));
		connection_send(conn, reply, sizeof(reply));
	}
	return 0;
}

static void t_input_error(struct connection *conn, enum connection_error error)
{
	struct test_ctx *ctx = connection_get_context(conn);
	ctx->errors++;
	ctx->last_error = error;
	connection_destroy(&ctx->conn);
	event_base_loopbreak(ctx->base);
}

static void t_disconnected(struct connection *conn, int err)
{
	struct test_ctx *ctx = connection_get_context(conn);
	ctx->disconnected = true;
	connection_destroy(&ctx->conn);
	event_base_loopbreak(ctx->base);
}

static const struct connection_vfuncs t_vfuncs = {
	.input_line = t_input_line,
	.input_error = t_input_error,
	.disconnected = t_disconnected,
};

static void run_loop(struct test_ctx *ctx)
{
	struct timeval tv = { 0, 20000 };
	event_base_loopexit(ctx->base, &tv);
	event_base_dispatch(ctx->base);
}

static void setup_ctx(struct test_ctx *ctx, int *peer_r, size_t max_line)
{
	int fds[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	memset(ctx, 0, sizeof(*ctx));
	ctx->base = event_base_new();
	ctx->lines = str_create(64);
	struct connection_settings set = { .max_line_length = max_line };
	ctx->conn = connection_create(ctx->base, fds[0], &set, &t_vfuncs, ctx);
	*peer_r = fds[1];
}

static void teardown_ctx(struct test_ctx *ctx, int peer)
{
	connection_destroy(&ctx->conn);
	close(peer);
	str_free(&ctx->lines);
	event_base_free(ctx->base);
}

static void test_byte_at_a_time(void **state ATTR_UNUSED)
{
	struct test_ctx ctx;
	int peer;
	const char *input = "hello\r\nworld\n\nlast";

	setup_ctx(&ctx, &peer, 100);
	for (const char *p = input; *p != '\0'; p++) {
		assert_int_equal(write(peer, p, 1), 1);
		run_loop(&ctx);
	}
	assert_string_equal(str_c(ctx.lines), "hello|world||");
	/* EOF after an unterminated line: disconnected, partial line dropped */
	shutdown(peer, SHUT_WR);
	run_loop(&ctx);
	assert_true(ctx.disconnected);
	assert_int_equal(ctx.errors, 0);
	teardown_ctx(&ctx, peer);
}

static void test_too_long(void **state ATTR_UNUSED)
{
	struct test_ctx ctx;
	int peer;
	char buf[300];

	setup_ctx(&ctx, &peer, 100);
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(write(peer, "ok\n", 3), 3);
	assert_int_equal(write(peer, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	run_loop(&ctx);
	assert_string_equal(str_c(ctx.lines), "ok|");
	assert_int_equal(ctx.errors, 1);
	assert_int_equal(ctx.last_error, CONNECTION_ERROR_LINE_TOO_LONG);
	teardown_ctx(&ctx, peer);

	/* exactly max length is fine, max+1 with LF is not */
	setup_ctx(&ctx, &peer, 10);
	assert_int_equal(write(peer, "0123456789\n01234567890\n", 23), 23);
	run_loop(&ctx);
	assert_string_equal(str_c(ctx.lines), "0123456789|");
	assert_int_equal(ctx.errors, 1);
	teardown_ctx(&ctx, peer);
}

static void test_nul(void **state ATTR_UNUSED)
{
	struct test_ctx ctx;
	int peer;

	setup_ctx(&ctx, &peer, 100);
	assert_int_equal(write(peer, "a\0b\n", 4), 4);
	run_loop(&ctx);
	assert_int_equal(ctx.errors, 1);
	assert_int_equal(ctx.last_error, CONNECTION_ERROR_NUL_BYTE);
	assert_string_equal(str_c(ctx.lines), "");
	teardown_ctx(&ctx, peer);
}

static void test_output_throttle(void **state ATTR_UNUSED)
{
	struct test_ctx ctx;
	int peer;
	char line[1000];

	setup_ctx(&ctx, &peer, 100);
	ctx.echo = true;
	fcntl(peer, F_SETFL, O_NONBLOCK);
	/* the peer never reads: the connection must stop taking input once
	   its output buffer is over the high watermark */
	size_t written = 0;
	for (int i = 0; i < 500; i++) {
		for (int j = 0; j < 10; j++) {
			if (write(peer, "x\n", 2) != 2)
				break;
			written++;
		}
		run_loop(&ctx);
	}
	/* more was offered than fits in 50 KiB of 1 KiB replies */
	assert_true(written > 100);
	size_t pending = connection_output_pending(ctx.conn);
	assert_true(pending < 50 * 1024 + 2048);
	/* now read everything: input resumes and all lines get processed */
	size_t total = 0;
	for (int i = 0; i < 2000 && str_len(ctx.lines) < written * 2; i++) {
		ssize_t n;
		while ((n = read(peer, line, sizeof(line))) > 0)
			total += (size_t)n;
		run_loop(&ctx);
	}
	assert_int_equal(str_len(ctx.lines), written * 2); /* "x|" each */
	assert_true(total > 0);
	teardown_ctx(&ctx, peer);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_output_throttle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
