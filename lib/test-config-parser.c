/* Unit tests for config-parser.h. Where Dovecot 2.3 behaves the same the
   expectations were checked with doveconf 2.3.19. */
#include "lib.h"
#include "config-parser.h"
#include "path-error.h"
#include "pool.h"
#include "str.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <setjmp.h>
#include <cmocka.h>

/* "line:key=value;" for keys, "line:type[name]{...}" for sections */
static void dump_section(string_t *out, const struct config_node *section)
{
	const struct config_node *node;

	for (node = section->children; node != NULL; node = node->next) {
		assert_ptr_equal(node->parent, section);
		if (node->type == CONFIG_NODE_KEY) {
			str_printfa(out, "%u:%s=%s;", node->line, node->key,
				    node->value);
		} else {
			str_printfa(out, "%u:%s[%s]{", node->line, node->key,
				    node->value);
			dump_section(out, node);
			str_append(out, "}");
		}
	}
}

static const char *
test_lookup_default(const struct config_node *section ATTR_UNUSED,
		    const char *key, void *context)
{
	int *calls = context;

	(*calls)++;
	if (strcmp(key, "mail_plugins") == 0)
		return "";
	if (strcmp(key, "default_internal_user") == 0)
		return "dovecot";
	return NULL;
}

static const struct {
	const char *input;
	const char *dump;       /* NULL if an error is expected */
	const char *error;
	unsigned int warnings;
} string_tests[] = {
	/* key = value */
	{ "a = b\n", "1:a=b;", NULL, 0 },
	{ "a=b", "1:a=b;", NULL, 0 },
	{ "  a   =   b c  \t\n", "1:a=b c;", NULL, 0 },
	{ "a =\n", "1:a=;", NULL, 0 },
	{ "a = b = c\n", "1:a=b = c;", NULL, 0 },
	{ "a = 1\na = 2\n", "1:a=1;2:a=2;", NULL, 0 },
	{ "a = b\r\nc = d\r\n", "1:a=b;2:c=d;", NULL, 0 },
	{ "\n\n  \n\ta = b\n", "4:a=b;", NULL, 0 },
	/* comments */
	{ "# comment\n  # indented\na = b # trailing\n", "3:a=b;", NULL, 0 },
	{ "a = abc#def\n", "1:a=abc;", NULL, 1 },
	{ "a = \"quoted # not comment\"\n", "1:a=quoted # not comment;", NULL, 0 },
	{ "a = 'x#y' # c\n", "1:a=x#y;", NULL, 0 },
	{ "a = it's # open quote keeps the rest\n",
	  "1:a=it's # open quote keeps the rest;", NULL, 0 },
	/* quotes */
	{ "a = \"x\\\"y\\\\z\\n\"\n", "1:a=x\"y\\zn;", NULL, 0 },
	{ "a = 'single \\' q'\n", "1:a=single ' q;", NULL, 0 },
	{ "a = \"  spaces kept  \"\n", "1:a=  spaces kept  ;", NULL, 0 },
	{ "a = \"\"\n", "1:a=;", NULL, 0 },
	{ "a = abc\"def\"\n", "1:a=abc\"def\";", NULL, 0 },
	{ "a = \"abc\n", NULL, "t.conf:1: Missing closing quote (\") in value of a", 0 },
	{ "a = 'abc\\'\n", NULL, "t.conf:1: Missing closing quote (') in value of a", 0 },
	{ "a = \"abc\" trailing\n", NULL,
	  "t.conf:1: Unexpected text after the quoted value of a: trailing", 0 },
	/* continuation */
	{ "a = x \\\n   y \\\nz\nb = c\n", "1:a=x y z;4:b=c;", NULL, 0 },
	{ "a = \\\n  x\n", "1:a=x;", NULL, 0 },
	{ "a = \\\n\\\n  \\\nx\n", "1:a=x;", NULL, 0 },
	{ "a = x \\\n# comment lines are skipped\n\n y\n", "1:a=x y;", NULL, 0 },
	{ "service auth \\\n {\n}\n", "1:service[auth]{}", NULL, 0 },
	{ "a = x \\", NULL,
	  "t.conf:1: File ends after a line continuation ('\\' at the end of the last line)", 0 },
	{ "a = x \\\n", NULL,
	  "t.conf:1: File ends after a line continuation ('\\' at the end of the last line)", 0 },
	/* sections */
	{ "service auth {\n  user = x\n}\n", "1:service[auth]{2:user=x;}", NULL, 0 },
	{ "passdb {\n driver = static\n}\npassdb {\n}\n",
	  "1:passdb[]{2:driver=static;}4:passdb[]{}", NULL, 0 },
	{ "service \"my auth\" {\n}\n", "1:service[my auth]{}", NULL, 0 },
	{ "service  auth  {  \n}  \n", "1:service[auth]{}", NULL, 0 },
	{ "a {\n b {\n  c {\n   d = e\n  }\n }\n}\nf = g\n",
	  "1:a[]{2:b[]{3:c[]{4:d=e;}}}8:f=g;", NULL, 0 },
	{ "local 10.0.0.0/8 {\n}\n", "1:local[10.0.0.0/8]{}", NULL, 0 },
	{ "service auth {\n", NULL,
	  "t.conf:1: Section service auth is not closed: missing '}' before the end of the file", 0 },
	{ "a {\n b {\n }\n c x {\n", NULL,
	  "t.conf:4: Section c x is not closed: missing '}' before the end of the file", 0 },
	{ "service auth {\n}\n}\n", NULL, "t.conf:3: Unexpected '}' (no section is open)", 0 },
	{ "service auth { user = x }\n", NULL,
	  "t.conf:1: Garbage after '{': user = x } (settings go on lines of their own)", 0 },
	{ "service auth {\n} x\n", NULL, "t.conf:2: Garbage after '}': x", 0 },
	{ "service auth{\n}\n", "1:service[auth]{}", NULL, 0 },
	{ "passdb{\n}\n", "1:passdb[]{}", NULL, 0 },
	{ "}}\n", NULL, "t.conf:1: Unexpected '}': }}", 0 },
	{ "service auth\n{\n}\n", NULL,
	  "t.conf:1: Expecting '=' (setting) or '{' (section) after: service auth", 0 },
	{ "foo bar baz {\n}\n", NULL,
	  "t.conf:1: Expecting '{' after section foo bar, got: baz {", 0 },
	{ "{\n", NULL, "t.conf:1: Missing section type before '{'", 0 },
	/* garbage */
	{ "garbage\n", NULL, "t.conf:1: Missing '=' after setting name: garbage", 0 },
	{ "a b = c\n", NULL, "t.conf:1: Setting name must not contain spaces: a b", 0 },
	{ "= x\n", NULL, "t.conf:1: Missing setting name ('=' at the beginning of line)", 0 },
	{ "a = b\n!foo x\n", NULL, "t.conf:2: Unknown directive: !foo", 0 },
	{ "!include\n", NULL, "t.conf:1: !include: Missing path", 0 },
	/* $variables */
	{ "a = 1\nb = $a 2\n", "1:a=1;2:b=1 2;", NULL, 0 },
	{ "a = 1\nb = x$a\n", "1:a=1;2:b=x$a;", NULL, 0 },
	{ "a = 1\nb = \"$a\"\n", "1:a=1;2:b=$a;", NULL, 0 },
	{ "a = $\n", "1:a=$;", NULL, 0 },
	{ "a = x\na = $a y\na = $a z\n", "1:a=x;2:a=x y;3:a=x y z;", NULL, 0 },
	{ "mail_plugins = $mail_plugins quota\n", "1:mail_plugins= quota;", NULL, 0 },
	{ "a = 1\ns {\n  b = $a\n  a = 2\n  c = $a\n}\nd = $a\n",
	  "1:a=1;2:s[]{3:b=1;4:a=2;5:c=2;}7:d=1;", NULL, 0 },
	{ "service auth {\n  user = $default_internal_user\n}\n",
	  "1:service[auth]{2:user=dovecot;}", NULL, 0 },
	{ "a = $ENV:ROOST_TEST_ENV x $ENV:ROOST_TEST_NO_SUCH\n",
	  "1:a=envval x ;", NULL, 0 },
	{ "a = $nonexistent\n", NULL, "t.conf:1: Unknown variable: $nonexistent", 0 },
	{ "a = 1\nb = $a,$a\n", NULL, "t.conf:2: Unknown variable: $a,$a", 0 },
};

static void test_strings(void **state ATTR_UNUSED)
{
	struct config_parse_settings set;
	int calls = 0;

	memset(&set, 0, sizeof(set));
	set.lookup_default = test_lookup_default;
	set.context = &calls;
	setenv("ROOST_TEST_ENV", "envval", 1);
	unsetenv("ROOST_TEST_NO_SUCH");

	for (size_t i = 0; i < N_ELEMENTS(string_tests); i++) {
		struct pool *pool = pool_create("test", 1024);
		struct config_tree *tree = NULL;
		const char *error = NULL;
		int ret = config_parse_string(string_tests[i].input, "t.conf",
					      &set, pool, &tree, &error);

		if (string_tests[i].dump != NULL) {
			if (ret != 0)
				fail_msg("test %zu (%s): error %s", i,
					 string_tests[i].input, error);
			string_t *out = str_create(64);
			dump_section(out, tree->root);
			if (strcmp(str_c(out), string_tests[i].dump) != 0)
				fail_msg("test %zu (%s): got %s", i,
					 string_tests[i].input, str_c(out));
			if (tree->warning_count != string_tests[i].warnings)
				fail_msg("test %zu: %u warnings", i,
					 tree->warning_count);
			assert_null(tree->warnings[tree->warning_count]);
			str_free(&out);
		} else {
			if (ret != -1)
				fail_msg("test %zu (%s): no error", i,
					 string_tests[i].input);
			assert_null(tree);
			if (strcmp(error, string_tests[i].error) != 0)
				fail_msg("test %zu: error '%s', expected '%s'",
					 i, error, string_tests[i].error);
		}
		pool_destroy(&pool);
	}
	assert_true(calls > 0);
}

static void test_warning_text(void **state ATTR_UNUSED)
{
	struct pool *pool = pool_create("test", 1024);
	struct config_tree *tree;
	const char *error;

	assert_int_equal(config_parse_string("a = b\nc = d#x\n", "w.conf", NULL,
					     pool, &tree, &error), 0);
	assert_int_equal(tree->warning_count, 1);
	assert_string_equal(tree->warnings[0], "w.conf:2: Ambiguous '#' "
			    "character in line, treating it as comment. Add a "
			    "space before it to remove this warning.");
	pool_destroy(&pool);
}

/* ---- files ------------------------------------------------------------ */

static char tmpdir[64];

static void write_file(const char *name, const char *content, size_t size)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, size), (ssize_t)size);
	close(fd);
}

#define WRITE(name, text) write_file(name, text, strlen(text))

static const char *tmp_path(struct pool *pool, const char *name)
{
	return pool_printf(pool, "%s/%s", tmpdir, name);
}

/* path_error()'s text for a failed call on the file name in tmpdir */
static const char *tmp_error(struct pool *pool, const char *call,
			     const char *name, int err)
{
	char *msg = path_error(call, tmp_path(pool, name), err);
	const char *ret = pool_strdup(pool, msg);

	free(msg);
	return ret;
}

static int setup_dir(void **state ATTR_UNUSED)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/roost-test-config.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	char sub[128];
	snprintf(sub, sizeof(sub), "%s/conf.d", tmpdir);
	mkdir(sub, 0700);
	return 0;
}

static int teardown_dir(void **state ATTR_UNUSED)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int parse_tmp(struct pool *pool, const char *name,
		     const struct config_parse_settings *set,
		     struct config_tree **tree_r, const char **error_r)
{
	return config_parse_file(tmp_path(pool, name), set, pool, tree_r,
				 error_r);
}

static const char *dump_tree(struct pool *pool, const struct config_tree *tree)
{
	string_t *out = str_create(64);
	const char *ret;

	dump_section(out, tree->root);
	ret = pool_strdup(pool, str_c(out));
	str_free(&out);
	return ret;
}

static void test_include(void **state ATTR_UNUSED)
{
	struct pool *pool = pool_create("test", 1024);
	struct config_tree *tree;
	const char *error;

	WRITE("conf.d/20-b.conf", "b = 2\n");
	WRITE("conf.d/10-a.conf", "a = 1\n");
	WRITE("conf.d/README", "not a config\n");
	WRITE("secret.txt", "s3cret\n\n");
	WRITE("main.conf",
	      "first = x\n"
	      "!include conf.d/*.conf\n"
	      "!include_try conf.d/nosuch-*.conf\n"
	      "!include_try nosuch.conf\n"
	      "service auth {\n"
	      "  !include inner.conf\n"
	      "}\n"
	      "pw = <secret.txt\n"
	      "pw2 = <  secret.txt\n"
	      "last = $b\n");
	WRITE("inner.conf", "user = inner\n");
	assert_int_equal(parse_tmp(pool, "main.conf", NULL, &tree, &error), 0);
	assert_string_equal(dump_tree(pool, tree),
		"1:first=x;1:a=1;1:b=2;5:service[auth]{1:user=inner;}"
		"8:pw=s3cret;9:pw2=s3cret;10:last=2;");
	/* each node remembers its own file */
	const struct config_node *a = tree->root->children->next;
	assert_string_equal(a->key, "a");
	assert_string_equal(a->file, tmp_path(pool, "conf.d/10-a.conf"));
	assert_string_equal(tree->root->children->file, tmp_path(pool, "main.conf"));
	pool_destroy(&pool);
}

static void test_include_errors(void **state ATTR_UNUSED)
{
	struct pool *pool = pool_create("test", 1024);
	struct config_tree *tree;
	const char *error, *expected;

	/* missing file: path and errno text */
	WRITE("missing.conf", "a = b\n!include nosuch.conf\n");
	assert_int_equal(parse_tmp(pool, "missing.conf", NULL, &tree, &error), -1);
	expected = pool_printf(pool, "%s:2: !include %s: %s",
			       tmp_path(pool, "missing.conf"),
			       tmp_path(pool, "nosuch.conf"),
			       tmp_error(pool, "open", "nosuch.conf", ENOENT));
	assert_non_null(strstr(expected, "No such file or directory"));
	assert_string_equal(error, expected);

	/* no glob match */
	WRITE("noglob.conf", "!include conf.d/*.nomatch\n");
	assert_int_equal(parse_tmp(pool, "noglob.conf", NULL, &tree, &error), -1);
	expected = pool_printf(pool, "%s:1: !include %s: No files match",
			       tmp_path(pool, "noglob.conf"),
			       tmp_path(pool, "conf.d/*.nomatch"));
	assert_string_equal(error, expected);

	/* a directory */
	WRITE("dir.conf", "!include_try conf.d\n");
	assert_int_equal(parse_tmp(pool, "dir.conf", NULL, &tree, &error), -1);
	expected = pool_printf(pool, "%s:1: !include_try %s: %s is a directory, "
			       "not a file", tmp_path(pool, "dir.conf"),
			       tmp_path(pool, "conf.d"), tmp_path(pool, "conf.d"));
	assert_string_equal(error, expected);

	/* self include */
	WRITE("self.conf", "a = 1\n!include self.conf\n");
	assert_int_equal(parse_tmp(pool, "self.conf", NULL, &tree, &error), -1);
	expected = pool_printf(pool, "%s:2: Recursive include file: %s",
			       tmp_path(pool, "self.conf"),
			       tmp_path(pool, "self.conf"));
	assert_string_equal(error, expected);

	/* loop through two files, named through another path */
	WRITE("loop1.conf", "!include_try conf.d/../loop2.conf\n");
	WRITE("loop2.conf", "x = 1\n!include loop1.conf\n");
	assert_int_equal(parse_tmp(pool, "loop1.conf", NULL, &tree, &error), -1);
	expected = pool_printf(pool, "%s:2: Recursive include file: %s",
			       tmp_path(pool, "conf.d/../loop2.conf"),
			       tmp_path(pool, "conf.d/../loop1.conf"));
	assert_string_equal(error, expected);

	/* a section opened in an included file must be closed there */
	WRITE("open.conf", "service auth {\n");
	WRITE("useopen.conf", "!include open.conf\n}\n");
	assert_int_equal(parse_tmp(pool, "useopen.conf", NULL, &tree, &error), -1);
	expected = pool_printf(pool, "%s:1: Section service auth is not closed: "
			       "missing '}' before the end of the file",
			       tmp_path(pool, "open.conf"));
	assert_string_equal(error, expected);

	/* ... and can't close the includer's section */
	WRITE("close.conf", "}\n");
	WRITE("useclose.conf", "service auth {\n!include close.conf\n}\n");
	assert_int_equal(parse_tmp(pool, "useclose.conf", NULL, &tree, &error), -1);
	expected = pool_printf(pool, "%s:1: Unexpected '}' (no section is open "
			       "in this file)", tmp_path(pool, "close.conf"));
	assert_string_equal(error, expected);

	/* <file that is missing */
	WRITE("value.conf", "ssl_key = <nosuch.pem\n");
	assert_int_equal(parse_tmp(pool, "value.conf", NULL, &tree, &error), -1);
	expected = pool_printf(pool, "%s:1: ssl_key: Can't read file %s: %s",
			       tmp_path(pool, "value.conf"),
			       tmp_path(pool, "nosuch.pem"),
			       tmp_error(pool, "open", "nosuch.pem", ENOENT));
	assert_string_equal(error, expected);

	WRITE("value2.conf", "ssl_key = <\n");
	assert_int_equal(parse_tmp(pool, "value2.conf", NULL, &tree, &error), -1);
	expected = pool_printf(pool, "%s:1: ssl_key: Missing file name after '<'",
			       tmp_path(pool, "value2.conf"));
	assert_string_equal(error, expected);

	/* the top file itself */
	assert_int_equal(parse_tmp(pool, "nosuch-top.conf", NULL, &tree, &error), -1);
	expected = tmp_error(pool, "open", "nosuch-top.conf", ENOENT);
	assert_string_equal(error, expected);
	pool_destroy(&pool);
}

static void test_include_depth(void **state ATTR_UNUSED)
{
	struct pool *pool = pool_create("test", 1024);
	struct config_parse_settings set;
	struct config_tree *tree;
	const char *error, *expected;
	char name[32], content[64];

	/* chain0 -> chain1 -> ... -> chain5 */
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "chain%d.conf", i);
		if (i < 5)
			snprintf(content, sizeof(content),
				 "k%d = v\n!include chain%d.conf\n", i, i + 1);
		else
			snprintf(content, sizeof(content), "end = yes\n");
		WRITE(name, content);
	}
	memset(&set, 0, sizeof(set));
	set.limits.max_include_depth = 5;
	assert_int_equal(parse_tmp(pool, "chain0.conf", &set, &tree, &error), 0);
	set.limits.max_include_depth = 4;
	assert_int_equal(parse_tmp(pool, "chain0.conf", &set, &tree, &error), -1);
	expected = pool_printf(pool, "%s:2: Includes nested too deeply (max 4): %s",
			       tmp_path(pool, "chain4.conf"),
			       tmp_path(pool, "chain5.conf"));
	assert_string_equal(error, expected);

	/* the same file included many times (not a loop) is bounded by
	   max_files */
	WRITE("leaf.conf", "x = 1\n");
	WRITE("many.conf", "!include leaf.conf\n!include leaf.conf\n"
	      "!include leaf.conf\n!include leaf.conf\n");
	memset(&set, 0, sizeof(set));
	set.limits.max_files = 4;
	assert_int_equal(parse_tmp(pool, "many.conf", &set, &tree, &error), -1);
	expected = pool_printf(pool, "%s:4: Too many included files (max 4)",
			       tmp_path(pool, "many.conf"));
	assert_string_equal(error, expected);
	set.limits.max_files = 5;
	assert_int_equal(parse_tmp(pool, "many.conf", &set, &tree, &error), 0);
	pool_destroy(&pool);
}

static void test_limits(void **state ATTR_UNUSED)
{
	struct pool *pool = pool_create("test", 1024);
	struct config_parse_settings set;
	struct config_tree *tree;
	const char *error, *expected;
	string_t *text = str_create(1024);

	memset(&set, 0, sizeof(set));

	/* the default line limit is 64 KiB */
	str_append(text, "a = ");
	for (int i = 0; i < 65536; i++)
		str_append_c(text, 'x');
	str_append(text, "\n");
	assert_int_equal(config_parse_string(str_c(text), "big.conf", NULL,
					     pool, &tree, &error), -1);
	assert_string_equal(error, "big.conf:1: Line is too long (65540 bytes, "
			    "max 65536)");

	/* a line just at the limit is fine */
	str_truncate(text, 0);
	str_append(text, "a = ");
	for (int i = 0; i < 65536 - 4; i++)
		str_append_c(text, 'x');
	assert_int_equal(config_parse_string(str_c(text), "ok.conf", NULL,
					     pool, &tree, &error), 0);

	/* a continued line is bounded too */
	set.limits.max_line_length = 20;
	assert_int_equal(config_parse_string("a = 1234567890 \\\n 1234567890\n",
					     "c.conf", &set, pool, &tree,
					     &error), -1);
	assert_string_equal(error, "c.conf:1: Continued line is too long (max 20 bytes)");

	/* file size */
	memset(&set, 0, sizeof(set));
	set.limits.max_file_size = 100;
	str_truncate(text, 0);
	for (int i = 0; i < 20; i++)
		str_append(text, "key = value\n");
	assert_int_equal(config_parse_string(str_c(text), "s.conf", &set,
					     pool, &tree, &error), -1);
	assert_string_equal(error, "s.conf: File is too large (more than 100 bytes)");
	write_file("huge.conf", str_c(text), str_len(text));
	assert_int_equal(parse_tmp(pool, "huge.conf", &set, &tree, &error), -1);
	expected = pool_printf(pool, "%s: File is too large (more than 100 bytes)",
			       tmp_path(pool, "huge.conf"));
	assert_string_equal(error, expected);
	set.limits.max_file_size = 240;
	assert_int_equal(parse_tmp(pool, "huge.conf", &set, &tree, &error), 0);

	/* a big <file value */
	WRITE("bigvalue.conf", "v = <huge.conf\n");
	set.limits.max_file_size = 100;
	assert_int_equal(parse_tmp(pool, "bigvalue.conf", &set, &tree, &error), -1);
	expected = pool_printf(pool, "%s:1: v: Can't read file %s: %s: File is "
			       "too large (more than 100 bytes)",
			       tmp_path(pool, "bigvalue.conf"),
			       tmp_path(pool, "huge.conf"),
			       tmp_path(pool, "huge.conf"));
	assert_string_equal(error, expected);

	/* total size of all files */
	memset(&set, 0, sizeof(set));
	set.limits.max_total_size = 300;
	WRITE("total.conf", "!include huge.conf\n!include huge.conf\n");
	assert_int_equal(parse_tmp(pool, "total.conf", &set, &tree, &error), -1);
	expected = pool_printf(pool, "%s:2: Configuration is too large (more "
			       "than 300 bytes in all files)",
			       tmp_path(pool, "total.conf"));
	assert_string_equal(error, expected);

	/* NUL byte in a file */
	write_file("nul.conf", "a = b\nc = d\0e\n", 14);
	assert_int_equal(parse_tmp(pool, "nul.conf", NULL, &tree, &error), -1);
	expected = pool_printf(pool, "%s:2: Line contains a NUL byte",
			       tmp_path(pool, "nul.conf"));
	assert_string_equal(error, expected);

	/* section depth */
	memset(&set, 0, sizeof(set));
	set.limits.max_section_depth = 3;
	assert_int_equal(config_parse_string("a {\nb {\nc {\n}\n}\n}\n", "d.conf",
					     &set, pool, &tree, &error), 0);
	assert_int_equal(config_parse_string("a {\nb {\nc {\nd {\n}\n}\n}\n}\n",
					     "d.conf", &set, pool, &tree,
					     &error), -1);
	assert_string_equal(error, "d.conf:4: Sections nested too deeply (max 3)");
	/* default depth: 16 */
	str_truncate(text, 0);
	for (int i = 0; i < 17; i++)
		str_append(text, "s {\n");
	assert_int_equal(config_parse_string(str_c(text), "d.conf", NULL, pool,
					     &tree, &error), -1);
	assert_string_equal(error, "d.conf:17: Sections nested too deeply (max 16)");

	/* node count */
	set.limits.max_nodes = 3;
	assert_int_equal(config_parse_string("a=1\nb=2\nc=3\n", "n.conf", &set,
					     pool, &tree, &error), 0);
	assert_int_equal(config_parse_string("a=1\nb=2\nc=3\nd=4\n", "n.conf",
					     &set, pool, &tree, &error), -1);
	assert_string_equal(error, "n.conf:4: Too many settings and sections (max 3)");

	/* $ expansion can't blow up */
	memset(&set, 0, sizeof(set));
	set.limits.max_value_length = 1000;
	str_truncate(text, 0);
	str_append(text, "a = xxxxxxxxxxxxxxxx\n");
	for (int i = 0; i < 40; i++)
		str_append(text, "a = $a $a\n");
	assert_int_equal(config_parse_string(str_c(text), "e.conf", &set, pool,
					     &tree, &error), -1);
	assert_string_equal(error, "e.conf:7: Value is too long after $variable "
			    "expansion (max 1000 bytes)");
	str_free(&text);
	pool_destroy(&pool);
}

static void test_truncated(void **state ATTR_UNUSED)
{
	/* every prefix of a valid config either parses or fails cleanly
	   with a file:line error (run under the sanitizers) */
	static const char text[] =
		"a = \"quoted # x\" # comment\n"
		"service auth {\n"
		"  unix_listener auth-client {\n"
		"    mode = 0600\n"
		"  }\n"
		"  user = $a \\\n"
		"    more\n"
		"}\n"
		"b = 'q'\n";
	struct pool *pool = pool_create("test", 1024);
	struct config_tree *tree;
	const char *error;
	unsigned int ok = 0, failed = 0;

	for (size_t len = 0; len <= sizeof(text) - 1; len++) {
		char *prefix = x_strndup(text, len);
		int ret = config_parse_string(prefix, "p.conf", NULL, pool,
					      &tree, &error);
		if (ret == 0) {
			ok++;
		} else {
			assert_int_equal(ret, -1);
			assert_true(strncmp(error, "p.conf:", 7) == 0);
			failed++;
		}
		free(prefix);
		pool_clear(pool);
	}
	assert_true(ok > 0);
	assert_true(failed > 0);
	assert_int_equal(config_parse_string(text, "p.conf", NULL, pool, &tree,
					     &error), 0);
	pool_destroy(&pool);
}

static void test_find_key(void **state ATTR_UNUSED)
{
	struct pool *pool = pool_create("test", 1024);
	struct config_tree *tree;
	const struct config_node *node;
	const char *error;

	assert_int_equal(config_parse_string("a = 1\nsec {\n a = 3\n}\na = 2\n",
					     "f.conf", NULL, pool, &tree,
					     &error), 0);
	node = config_node_find_key(tree->root, "a");
	assert_non_null(node);
	assert_string_equal(node->value, "2");
	assert_string_equal(config_node_where(node, pool), "f.conf:5");
	assert_null(config_node_find_key(tree->root, "sec"));
	assert_null(config_node_find_key(tree->root, "b"));
	pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_warning_text),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_include_errors),
		cmocka_unit_test(test_include_depth),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_find_key),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
