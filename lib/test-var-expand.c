/* Unit tests for var-expand.h. Expected values marked (dovecot) were
   produced by Dovecot 2.3.19 itself (auth_username_format with a static
   passdb, user "AbcDef@Sub.Example.COM"). */
#include "lib.h"
#include "str.h"
#include "var-expand.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

static const struct var_expand_table table[] = {
	{ 'u', "user", "AbcDef@Sub.Example.COM" },
	{ 'n', "username", "AbcDef" },
	{ 'd', "domain", "Sub.Example.COM" },
	{ 's', "service", "imap" },
	{ 'r', "rip", "192.0.2.1" },
	{ 'l', "lip", "198.51.100.7" },
	{ 'p', "pid", "4242" },
	{ 'w', "password", "se\"cr'et\\" },
	{ 'h', "home", NULL },
	{ 'i', NULL, "1234" },
	{ 'z', NULL, "12345" },
	{ 'o', NULL, "1" },
	{ 't', NULL, "trail  \t" },
	{ '\0', "session", "S3SS" },
	{ '\0', NULL, NULL }
};

static const struct {
	const char *fmt;
	const char *expected;
	const char *error;      /* NULL = success */
} tests[] = {
	{ "", "", NULL },
	{ "plain text", "plain text", NULL },
	{ "%u", "AbcDef@Sub.Example.COM", NULL },
	{ "%n-%d", "AbcDef-Sub.Example.COM", NULL },                  /* dovecot */
	{ "%{user}", "AbcDef@Sub.Example.COM", NULL },               /* dovecot */
	{ "%{username}@%{domain}", "AbcDef@Sub.Example.COM", NULL },
	{ "%s %r %l %p %{service}", "imap 192.0.2.1 198.51.100.7 4242 imap", NULL },
	{ "%{session}", "S3SS", NULL },
	{ "%h|%{home}|", "||", NULL },
	{ "100%%", "100%", NULL },
	{ "%%u", "%u", NULL },
	/* modifiers */
	{ "%Ln", "abcdef", NULL },                                   /* dovecot */
	{ "%Un", "ABCDEF", NULL },                                   /* dovecot */
	{ "%Lu", "abcdef@sub.example.com", NULL },
	{ "%L{user}", "abcdef@sub.example.com", NULL },              /* dovecot */
	{ "%1Ln", "a", NULL },                                       /* dovecot */
	{ "%Rn", "feDcbA", NULL },                                   /* dovecot */
	{ "%RLn", "fedcba", NULL },                                  /* dovecot */
	{ "%LRn", "fedcba", NULL },                                  /* dovecot */
	{ "%Mn", "6bd1640102364f991a38700b5de7023c", NULL },         /* dovecot */
	{ "%Nn", "2364f99", NULL },                                  /* dovecot */
	{ "%256Nn", "99", NULL },                                    /* dovecot */
	{ "%2.256Nn", "99", NULL },                                  /* dovecot */
	{ "%Hn", "4787ab6", NULL },                                  /* dovecot */
	{ "%2.256Hn", "b6", NULL },                                  /* dovecot */
	{ "%4.16Hn", "0006", NULL },
	{ "%Dd", "Sub,dc=Example,dc=COM", NULL },                    /* dovecot */
	{ "%Xn", "0", NULL },                                        /* dovecot */
	{ "%Xi", "4d2", NULL },
	{ "%En", "AbcDef", NULL },                                   /* dovecot */
	{ "%Ew", "se\\\"cr\\'et\\\\", NULL },
	{ "%Tt|", "trail|", NULL },
	/* offset and width */
	{ "%2n", "Ab", NULL },                                       /* dovecot */
	{ "%2.1n", "c", NULL },                                      /* dovecot */
	{ "%-2.2n", "ef", NULL },                                    /* dovecot */
	{ "%-2.2i", "34", NULL },
	{ "%-10.3n", "Abc", NULL },                                  /* dovecot */
	{ "%0.-2n", "AbcD", NULL },                                  /* dovecot */
	{ "%0.-10n", "", NULL },
	{ "%-2n", "Ab", NULL },                                      /* dovecot */
	{ "%5.2n", "f", NULL },                                      /* dovecot */
	{ "%9.2n", "", NULL },
	{ "%.3n", "Abc", NULL },                                     /* dovecot */
	{ "%3.n", "Def", NULL },                                     /* dovecot */
	{ "%04n", "AbcDef", NULL },                                  /* dovecot */
	{ "%04o %04i %04z", "0001 1234 12345", NULL },
	{ "%1.04o", "0000", NULL },                                  /* dovecot */
	{ "%1.04z", "2345", NULL },                                  /* dovecot */
	{ "%2.3u", "cDe", NULL },
	/* zero padding with a negative width pads nothing (found by fuzzing:
	   it used to try to pad to (size_t)-11) */
	{ "%.0-11n|%0.0-3i", "AbcDef|1234", NULL },
	/* errors: the rest is still expanded */
	{ "a%qb", "ab", "Unknown variable '%q'" },
	{ "%{nosuch}-%n", "-AbcDef", "Unknown variable '%{nosuch}'" },
	{ "%x%{y}", "", "Unknown variable '%x'" },
	{ "%L{user", "", "Missing '}' after %{" },
	{ "end%", "end", "Missing variable name after '%' at the end" },
	{ "end%2L", "end", "Missing variable name after '%' at the end" },
	{ "%{if;%d;eq;;a;b}", "",
	  "Conditional %{if;...} is not supported by roost yet: %{if;%d;eq;;a;b}" },
	{ "%{user | lower}", "",
	  "Filters %{... | ...} are Dovecot 2.4 syntax, not supported: %{user | lower}" },
};

static void test_table(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(tests); i++) {
		string_t *str = str_create(16);
		char *error = (char *)"not set";
		int ret = var_expand(str, tests[i].fmt, table, &error);

		if (tests[i].error == NULL) {
			if (ret != 0)
				fail_msg("%s: unexpected error %s", tests[i].fmt, error);
			assert_null(error);
		} else {
			if (ret != -1)
				fail_msg("%s: expected error", tests[i].fmt);
			assert_non_null(error);
			if (strcmp(error, tests[i].error) != 0)
				fail_msg("%s: error '%s', expected '%s'",
					 tests[i].fmt, error, tests[i].error);
		}
		if (strcmp(str_c(str), tests[i].expected) != 0)
			fail_msg("%s: got '%s', expected '%s'", tests[i].fmt,
				 str_c(str), tests[i].expected);
		free(error);
		str_free(&str);
	}
}

static void test_builtins(void **state ATTR_UNUSED)
{
	string_t *str = str_create(16);
	char *error, expected[64];

	setenv("ROOST_TEST_VAR", "envvalue", 1);
	assert_int_equal(var_expand(str, "%{env:ROOST_TEST_VAR}|%U{env:ROOST_TEST_VAR}|%{env:ROOST_NO_SUCH_VAR}|",
				    NULL, &error), 0);
	assert_string_equal(str_c(str), "envvalue|ENVVALUE||");
	str_truncate(str, 0);
	assert_int_equal(var_expand(str, "%{pid}", NULL, &error), 0);
	snprintf(expected, sizeof(expected), "%ld", (long)getpid());
	assert_string_equal(str_c(str), expected);
	str_truncate(str, 0);
	setenv("ROOST_HOSTNAME", "mx1", 1);
	assert_int_equal(var_expand(str, "%{hostname}", NULL, &error), 0);
	assert_string_equal(str_c(str), "mx1");
	/* a table entry wins over the built-in */
	str_truncate(str, 0);
	static const struct var_expand_table pid_table[] = {
		{ '\0', "pid", "tablepid" }, { '\0', NULL, NULL }
	};
	assert_int_equal(var_expand(str, "%{pid}", pid_table, &error), 0);
	assert_string_equal(str_c(str), "tablepid");
	str_free(&str);
}

static int func_passdb(const char *data, void *context, const char **value_r,
		       const char **error_r)
{
	int *calls = context;

	(*calls)++;
	if (strcmp(data, "fail") == 0) {
		*error_r = "lookup broke";
		return -1;
	}
	if (strcmp(data, "missing") == 0)
		return 0;
	*value_r = data;
	return 1;
}

static const struct var_expand_func_table funcs[] = {
	{ "passdb", func_passdb },
	{ NULL, NULL }
};

static void test_funcs(void **state ATTR_UNUSED)
{
	string_t *str = str_create(16);
	char *error;
	int calls = 0;

	assert_int_equal(var_expand_with_funcs(str, "[%U{passdb:abc}]", table,
					       funcs, &calls, &error), 0);
	assert_string_equal(str_c(str), "[ABC]");
	assert_int_equal(calls, 1);

	str_truncate(str, 0);
	assert_int_equal(var_expand_with_funcs(str, "%{passdb:fail}x", table,
					       funcs, &calls, &error), -1);
	assert_string_equal(error, "%{passdb:fail}: lookup broke");
	assert_string_equal(str_c(str), "x");
	free(error);

	str_truncate(str, 0);
	assert_int_equal(var_expand_with_funcs(str, "%{passdb:missing}", table,
					       funcs, &calls, &error), -1);
	assert_string_equal(error, "Unknown variable '%{passdb:missing}'");
	free(error);

	/* a prefix without a func is unknown */
	str_truncate(str, 0);
	assert_int_equal(var_expand_with_funcs(str, "%{userdb:x}", table,
					       funcs, &calls, &error), -1);
	assert_string_equal(error, "Unknown variable '%{userdb:x}'");
	free(error);
	str_free(&str);
}

static void test_check(void **state ATTR_UNUSED)
{
	char *error;

	assert_int_equal(var_expand_check("%Lu %{passdb:x} %{env:HOME}", table,
					  funcs, &error), 0);
	assert_null(error);
	assert_int_equal(var_expand_check("%Lu %{usr}", table, funcs, &error), -1);
	assert_string_equal(error, "Unknown variable '%{usr}'");
	free(error);
	assert_int_equal(var_expand_check("%Q", NULL, NULL, &error), -1);
	assert_string_equal(error, "Unknown variable '%Q'");
	free(error);
}

static void test_has_key(void **state ATTR_UNUSED)
{
	static const struct {
		const char *fmt; char key; const char *long_key; bool result;
	} has_tests[] = {
		{ "%u", 'u', "user", true },
		{ "%{user}", 'u', "user", true },
		{ "%Lu", 'u', NULL, true },
		{ "%2.1Lu", 'u', NULL, true },
		{ "%L{user}", '\0', "user", true },
		{ "%n@%d", 'u', "user", false },
		{ "%{username}", 'u', "user", false },
		{ "%%u", 'u', "user", false },
		{ "%w", 'w', "password", true },
		{ "%{password}", 'w', "password", true },
		{ "", 'u', "user", false },
		{ "%", 'u', "user", false },
		{ "%{user", 'u', "user", false },
	};

	for (size_t i = 0; i < N_ELEMENTS(has_tests); i++) {
		if (var_has_key(has_tests[i].fmt, has_tests[i].key,
				has_tests[i].long_key) != has_tests[i].result)
			fail_msg("var_has_key(%s) != %d", has_tests[i].fmt,
				 has_tests[i].result);
	}
}

static void test_long_input(void **state ATTR_UNUSED)
{
	/* many variables and a huge long key are handled without trouble */
	string_t *fmt = str_create(16), *str = str_create(16);
	char *error;

	for (int i = 0; i < 10000; i++)
		str_append(fmt, "%n");
	assert_int_equal(var_expand(str, str_c(fmt), table, &error), 0);
	assert_int_equal(str_len(str), 60000);

	str_truncate(fmt, 0);
	str_truncate(str, 0);
	str_append(fmt, "%{");
	for (int i = 0; i < 5000; i++)
		str_append_c(fmt, 'x');
	str_append(fmt, "}ok");
	assert_int_equal(var_expand(str, str_c(fmt), table, &error), -1);
	assert_string_equal(error, "Variable name too long");
	assert_string_equal(str_c(str), "ok");
	free(error);
	str_free(&fmt);
	str_free(&str);
}

int main(void)
{
	const struct CMUnitTest unit_tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_builtins),
		cmocka_unit_test(test_funcs),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_has_key),
		cmocka_unit_test(test_long_input),
	};
	return cmocka_run_group_tests(unit_tests, NULL, NULL);
}
