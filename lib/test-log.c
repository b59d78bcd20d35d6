/* Unit tests for log.h: targets per level, context prefixes (lazy too),
   control characters in messages. */
#include "lib.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

static char dir[64];

static char *read_all(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return x_strdup("");
	char *buf = x_malloc(65536);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int refreshes;
static void refresh(struct log_ctx *ctx)
{
	refreshes++;
	ctx->prefix = "lazy(bob)";
}

static void test_levels_and_prefix(void **state ATTR_UNUSED)
{
	char path[128], info[128], debug[128];
	const char *error;

	snprintf(path, sizeof(path), "%s/main.log", dir);
	snprintf(info, sizeof(info), "%s/info.log", dir);
	snprintf(debug, sizeof(debug), "%s/debug.log", dir);
	log_init("unit");
	assert_int_equal(log_set_target(path, NULL, &error), 0);
	assert_int_equal(log_set_level_targets(info, debug, &error), 0);
	log_set_min_level(LOG_LEVEL_DEBUG);

	struct log_ctx ctx = { .prefix = "req(alice,1.2.3.4)" };
	log_msg(LOG_LEVEL_ERROR, &ctx, "disk %s", "full");
	log_warning("careful\nnewline");
	log_info("hello");
	log_debug("details");
	struct log_ctx lazy = { .prefix_dirty = true, .refresh_prefix = refresh };
	log_info("no ctx refresh");
	log_msg(LOG_LEVEL_INFO, &lazy, "first");
	log_msg(LOG_LEVEL_INFO, &lazy, "second");
	assert_int_equal(refreshes, 1);

	char *m = read_all("main.log"), *i = read_all("info.log"), *d = read_all("debug.log");
	assert_non_null(strstr(m, "unit("));
	assert_non_null(strstr(m, "Error: req(alice,1.2.3.4): disk full\n"));
	/* a newline in a message can't forge a second log line */
	assert_non_null(strstr(m, "Warning: careful?newline\n"));
	assert_null(strstr(m, "hello"));
	assert_non_null(strstr(i, "Info: hello\n"));
	assert_non_null(strstr(i, "Info: lazy(bob): first\n"));
	assert_null(strstr(i, "details"));
	assert_non_null(strstr(d, "Debug: details\n"));
	free(m); free(i); free(d);

	/* invalid target: error names the path, logging keeps working */
	assert_int_equal(log_set_target("/nonexistent/dir/x.log", NULL, &error), -1);
	assert_non_null(strstr(error, "open(/nonexistent/dir/x.log) failed"));
	log_set_fd(STDERR_FILENO);
	log_set_min_level(LOG_LEVEL_INFO);
}

static int setup(void **state ATTR_UNUSED)
{
	snprintf(dir, sizeof(dir), "/tmp/roost-test-log.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state ATTR_UNUSED)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels_and_prefix),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
