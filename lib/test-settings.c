/* Unit tests for settings.h. Value syntax expectations were checked
   against doveconf 2.3.19 (e.g. "5 min" -> "5 mins", "1048576" -> "1 M",
   "60000ms" is accepted for a seconds setting, "1500ms" is not). */
#include "lib.h"
#include "settings.h"
#include "config-parser.h"
#include "pool.h"
#include "str.h"

#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <setjmp.h>
#include <cmocka.h>

/* ---- value parsers ----------------------------------------------------- */

static void test_parse_bool(void **state ATTR_UNUSED)
{
	static const struct { const char *in; int ret; bool out; } t[] = {
		{ "yes", 0, true }, { "YES", 0, true }, { "yEs", 0, true },
		{ "y", 0, true }, { "Y", 0, true }, { "1", 0, true },
		{ "no", 0, false }, { "No", 0, false }, { "NO", 0, false },
		/* doveconf rejects these */
		{ "n", -1, false }, { "0", -1, false }, { "true", -1, false },
		{ "false", -1, false }, { "on", -1, false }, { "off", -1, false },
		{ "", -1, false }, { "yes ", -1, false }, { "maybe", -1, false },
	};
	for (size_t i = 0; i < N_ELEMENTS(t); i++) {
		bool out = !t[i].out;
		const char *error = NULL;
		int ret = settings_parse_bool(t[i].in, &out, &error);
		if (ret != t[i].ret)
			fail_msg("bool '%s': ret %d", t[i].in, ret);
		if (ret == 0 && out != t[i].out)
			fail_msg("bool '%s': wrong value", t[i].in);
		if (ret < 0)
			assert_string_equal(error, "use yes or no");
	}
}

static void test_parse_uint(void **state ATTR_UNUSED)
{
	static const struct { const char *in; int ret; unsigned int out; const char *error; } t[] = {
		{ "0", 0, 0, NULL }, { "10", 0, 10, NULL }, { "010", 0, 10, NULL },
		{ "4294967295", 0, 4294967295U, NULL },
		{ "4294967296", -1, 0, "number is too large (max 4294967295)" },
		{ "99999999999999999999999", -1, 0, "number is too large" },
		{ "-1", -1, 0, "not a number" }, { "1k", -1, 0, "not a number" },
		{ "", -1, 0, "not a number" }, { "abc", -1, 0, "not a number" },
		{ " 5", -1, 0, "not a number" }, { "5 ", -1, 0, "not a number" },
	};
	for (size_t i = 0; i < N_ELEMENTS(t); i++) {
		unsigned int out = 12345;
		const char *error = NULL;
		int ret = settings_parse_uint(t[i].in, &out, &error);
		if (ret != t[i].ret)
			fail_msg("uint '%s': ret %d", t[i].in, ret);
		if (ret == 0)
			assert_int_equal(out, t[i].out);
		else
			assert_string_equal(error, t[i].error);
	}
}

static void test_parse_octal(void **state ATTR_UNUSED)
{
	static const struct { const char *in; int ret; unsigned int out; const char *error; } t[] = {
		{ "0600", 0, 0600, NULL }, { "0666", 0, 0666, NULL },
		{ "0", 0, 0, NULL }, { "00", 0, 0, NULL }, { "07777", 0, 07777, NULL },
		/* Dovecot: no leading zero = decimal (999 = 01747) */
		{ "999", 0, 01747, NULL }, { "600", 0, 01130, NULL },
		{ "0999", -1, 0, "not an octal number" },
		{ "0x10", -1, 0, "not an octal number" },
		{ "017777", -1, 0, "mode is too large (max 07777)" },
		{ "4096", -1, 0, "mode is too large (max 07777)" },
		{ "abc", -1, 0, "not a number" }, { "", -1, 0, "not a number" },
	};
	for (size_t i = 0; i < N_ELEMENTS(t); i++) {
		unsigned int out = 12345;
		const char *error = NULL;
		int ret = settings_parse_octal(t[i].in, &out, &error);
		if (ret != t[i].ret)
			fail_msg("octal '%s': ret %d", t[i].in, ret);
		if (ret == 0)
			assert_int_equal(out, t[i].out);
		else
			assert_string_equal(error, t[i].error);
	}
}

#define KB 1024ULL
#define MB (1024ULL * 1024)
#define GB (1024ULL * 1024 * 1024)
#define TB (1024ULL * 1024 * 1024 * 1024)

static void test_parse_size(void **state ATTR_UNUSED)
{
	static const struct { const char *in; int ret; uint64_t out; } t[] = {
		{ "0", 0, 0 }, { "10", 0, 10 }, { "10b", 0, 10 }, { "10B", 0, 10 },
		{ "10k", 0, 10 * KB }, { "10K", 0, 10 * KB }, { "10kb", 0, 10 * KB },
		{ "10KB", 0, 10 * KB }, { "10kib", 0, 10 * KB }, { "10ki", 0, 10 * KB },
		{ "10 k", 0, 10 * KB }, { "10  k", 0, 10 * KB }, { "512k", 0, 512 * KB },
		{ "10M", 0, 10 * MB }, { "10m", 0, 10 * MB }, { "10mb", 0, 10 * MB },
		{ "10 MiB", 0, 10 * MB }, { "1G", 0, GB }, { "1g", 0, GB },
		{ "1T", 0, TB }, { "1t", 0, TB },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "17179869183G", 0, 17179869183ULL * GB },
		{ "17179869184G", -1, 0 }, { "18446744073709551616", -1, 0 },
		{ "1P", -1, 0 }, { "10x", -1, 0 }, { "10bytes", -1, 0 },
		{ "10 kbytes", -1, 0 }, { "1.5M", -1, 0 }, { "-1", -1, 0 },
		{ "", -1, 0 }, { "M", -1, 0 }, { "10kk", -1, 0 }, { "10bb", -1, 0 },
	};
	for (size_t i = 0; i < N_ELEMENTS(t); i++) {
		uint64_t out = 12345;
		const char *error = NULL;
		int ret = settings_parse_size(t[i].in, &out, &error);
		if (ret != t[i].ret)
			fail_msg("size '%s': ret %d", t[i].in, ret);
		if (ret == 0 && out != t[i].out)
			fail_msg("size '%s': got %llu", t[i].in,
				 (unsigned long long)out);
		if (ret < 0)
			assert_non_null(error);
	}
}

static void test_parse_time(void **state ATTR_UNUSED)
{
	static const struct {
		const char *in;
		int ret; unsigned int secs;       /* SET_TIME */
		int mret; unsigned int msecs;     /* SET_TIME_MSECS */
		const char *error;                /* SET_TIME's */
	} t[] = {
		{ "0", 0, 0, 0, 0, NULL },
		{ "0s", 0, 0, 0, 0, NULL }, { "0ms", 0, 0, 0, 0, NULL },
		{ "5s", 0, 5, 0, 5000, NULL }, { "5S", 0, 5, 0, 5000, NULL },
		{ "5sec", 0, 5, 0, 5000, NULL }, { "5secs", 0, 5, 0, 5000, NULL },
		{ "5second", 0, 5, 0, 5000, NULL }, { "5 seconds", 0, 5, 0, 5000, NULL },
		{ "5se", 0, 5, 0, 5000, NULL }, { "30 secs", 0, 30, 0, 30000, NULL },
		{ "2s", 0, 2, 0, 2000, NULL }, { "5  secs", 0, 5, 0, 5000, NULL },
		{ "5m", 0, 300, 0, 300000, NULL }, { "5mi", 0, 300, 0, 300000, NULL },
		{ "5 min", 0, 300, 0, 300000, NULL }, { "5 mins", 0, 300, 0, 300000, NULL },
		{ "5Minutes", 0, 300, 0, 300000, NULL },
		{ "1h", 0, 3600, 0, 3600000, NULL }, { "1hou", 0, 3600, 0, 3600000, NULL },
		{ "1 hour", 0, 3600, 0, 3600000, NULL },
		{ "1 day", 0, 86400, 0, 86400000, NULL }, { "2d", 0, 172800, 0, 172800000, NULL },
		{ "1w", 0, 604800, 0, 604800000, NULL }, { "1 weeks", 0, 604800, 0, 604800000, NULL },
		{ "60000ms", 0, 60, 0, 60000, NULL }, { "2000 msecs", 0, 2, 0, 2000, NULL },
		{ "5ms", -1, 0, 0, 5, "milliseconds are not supported for this setting" },
		{ "1500ms", -1, 0, 0, 1500, "milliseconds are not supported for this setting" },
		{ "5mil", -1, 0, 0, 5, "milliseconds are not supported for this setting" },
		{ "5milliseconds", -1, 0, 0, 5, "milliseconds are not supported for this setting" },
		{ "5mseconds", -1, 0, 0, 5, "milliseconds are not supported for this setting" },
		{ "4294967295s", 0, 4294967295U, -1, 0, NULL },
		{ "4294967ms", -1, 0, 0, 4294967, "milliseconds are not supported for this setting" },
		{ "4294967s", 0, 4294967, 0, 4294967000U, NULL },
		{ "4294968s", 0, 4294968, -1, 0, NULL },
		{ "4294967296s", -1, 0, -1, 0, "time interval is too large" },
		{ "71582789m", -1, 0, -1, 0, "time interval is too large" },
		{ "99999999999999999999999s", -1, 0, -1, 0, "time interval is too large" },
		{ "5", -1, 0, -1, 0, "time interval is missing a unit (add e.g. 's' for seconds)" },
		{ "05", -1, 0, -1, 0, "time interval is missing a unit (add e.g. 's' for seconds)" },
		{ "5hr", -1, 0, -1, 0, "unknown time unit (use ms, secs, mins, hours, days or weeks)" },
		{ "1y", -1, 0, -1, 0, "unknown time unit (use ms, secs, mins, hours, days or weeks)" },
		{ "5x", -1, 0, -1, 0, "unknown time unit (use ms, secs, mins, hours, days or weeks)" },
		{ "5 m s", -1, 0, -1, 0, "unknown time unit (use ms, secs, mins, hours, days or weeks)" },
		{ "1h 30m", -1, 0, -1, 0, "unknown time unit (use ms, secs, mins, hours, days or weeks)" },
		{ "5secss", -1, 0, -1, 0, "unknown time unit (use ms, secs, mins, hours, days or weeks)" },
		{ "5.5s", -1, 0, -1, 0, "unknown time unit (use ms, secs, mins, hours, days or weeks)" },
		{ "-5", -1, 0, -1, 0, "not a time interval (e.g. 30 secs, 5 mins)" },
		{ "abc", -1, 0, -1, 0, "not a time interval (e.g. 30 secs, 5 mins)" },
		{ "", -1, 0, -1, 0, "not a time interval (e.g. 30 secs, 5 mins)" },
	};
	for (size_t i = 0; i < N_ELEMENTS(t); i++) {
		unsigned int out = 12345;
		const char *error = NULL;
		int ret = settings_parse_time(t[i].in, &out, &error);
		if (ret != t[i].ret)
			fail_msg("time '%s': ret %d (%s)", t[i].in, ret, error);
		if (ret == 0 && out != t[i].secs)
			fail_msg("time '%s': got %u", t[i].in, out);
		if (ret < 0 && strcmp(error, t[i].error) != 0)
			fail_msg("time '%s': error '%s'", t[i].in, error);

		ret = settings_parse_time_msecs(t[i].in, &out, &error);
		if (ret != t[i].mret)
			fail_msg("msecs '%s': ret %d", t[i].in, ret);
		if (ret == 0 && out != t[i].msecs)
			fail_msg("msecs '%s': got %u", t[i].in, out);
	}
}

static void test_format(void **state ATTR_UNUSED)
{
	static const struct { uint64_t in; const char *out; } sizes[] = {
		{ 0, "0" }, { 10, "10 B" }, { 1025, "1025 B" }, { KB, "1 k" },
		{ 1536 * KB, "1536 k" }, { MB, "1 M" }, { 256 * MB, "256 M" },
		{ GB, "1 G" }, { 3 * TB, "3 T" }, { UINT64_MAX, "18446744073709551615 B" },
	};
	static const struct { unsigned int in; const char *out; } times[] = {
		{ 0, "0" }, { 2, "2 secs" }, { 59, "59 secs" }, { 60, "1 mins" },
		{ 90, "90 secs" }, { 3600, "1 hours" }, { 7200, "2 hours" },
		{ 86400, "1 days" }, { 604800, "1 weeks" }, { 1209600, "2 weeks" },
		{ UINT_MAX, "4294967295 secs" },
	};
	static const struct { unsigned int in; const char *out; } msecs[] = {
		{ 0, "0" }, { 5, "5 ms" }, { 1500, "1500 ms" }, { 2000, "2 secs" },
		{ 60000, "1 mins" },
	};
	string_t *str = str_create(32);

	for (size_t i = 0; i < N_ELEMENTS(sizes); i++) {
		str_truncate(str, 0);
		settings_format_size(str, sizes[i].in);
		assert_string_equal(str_c(str), sizes[i].out);
	}
	for (size_t i = 0; i < N_ELEMENTS(times); i++) {
		str_truncate(str, 0);
		settings_format_time(str, times[i].in);
		assert_string_equal(str_c(str), times[i].out);
	}
	for (size_t i = 0; i < N_ELEMENTS(msecs); i++) {
		str_truncate(str, 0);
		settings_format_time_msecs(str, msecs[i].in);
		assert_string_equal(str_c(str), msecs[i].out);
	}
	str_free(&str);
}

static void test_enum_has(void **state ATTR_UNUSED)
{
	assert_true(settings_enum_has("no:yes:required", "no"));
	assert_true(settings_enum_has("no:yes:required", "yes"));
	assert_true(settings_enum_has("no:yes:required", "required"));
	assert_false(settings_enum_has("no:yes:required", "req"));
	assert_false(settings_enum_has("no:yes:required", "No"));
	assert_false(settings_enum_has("no:yes:required", ""));
	assert_false(settings_enum_has("no:yes:required", "yes:required"));
	assert_true(settings_enum_has("single", "single"));
}

/* ---- binding ----------------------------------------------------------- */

struct test_listener {
	const char *name;
	unsigned int mode;
	const char *def_file;
	unsigned int def_line;
};

struct test_db {
	const char *name;
	const char *driver;
	bool flag;
	const char *def_file;
	unsigned int def_line;
};

struct test_service {
	const char *name;
	unsigned int limit;
	ARRAY(struct test_listener *) listeners;
	const char *def_file;
	unsigned int def_line;
};

struct test_settings {
	const char *str;
	bool flag;
	unsigned int num;
	unsigned int mode;
	uint64_t size;
	unsigned int secs;
	unsigned int msecs;
	const char *choice;
	const char *checked;
	ARRAY(struct test_service *) services;
	ARRAY(struct test_db *) dbs;
};

struct test_extra {
	const char *extra_name;
	bool extra_flag;
};

static int checked_check(void *set ATTR_UNUSED, const char *key,
			 const char *value, struct pool *pool,
			 const char **error_r)
{
	if (strcmp(value, "bad") != 0)
		return 0;
	*error_r = pool_printf(pool, "%s = %s: not allowed here", key, value);
	return -1;
}

static int db_check(void *_set, struct pool *pool ATTR_UNUSED,
		    const char **error_r)
{
	struct test_db *set = _set;

	if (set->driver[0] == '\0') {
		*error_r = "db is missing driver";
		return -1;
	}
	return 0;
}

#define LDEF(type, field, deflt) \
	{ type, #field, offsetof(struct test_listener, field), deflt, NULL, NULL }
static const struct setting_def listener_defs[] = {
	LDEF(SET_STR, name, NULL),
	LDEF(SET_OCTAL, mode, "0600"),
	SETTING_DEF_END
};
static const struct setting_section_info listener_info = {
	.type = "listener", .struct_size = sizeof(struct test_listener),
	.defs = listener_defs, .name_key = "name", .unique = true,
	.def_file_offset = offsetof(struct test_listener, def_file),
	.def_line_offset = offsetof(struct test_listener, def_line),
};

static const char *const service_unsupported[] = { "chroot", NULL };
#define SDEF(type, field, deflt) \
	{ type, #field, offsetof(struct test_service, field), deflt, NULL, NULL }
static const struct setting_def service_defs[] = {
	SDEF(SET_STR, name, NULL),
	SDEF(SET_UINT, limit, "10"),
	{ SET_SECTION_LIST, "listener", offsetof(struct test_service, listeners),
	  NULL, &listener_info, NULL },
	SETTING_DEF_END
};
static const struct setting_section_info service_info = {
	.type = "service", .struct_size = sizeof(struct test_service),
	.defs = service_defs, .name_key = "name", .unique = true,
	.def_file_offset = offsetof(struct test_service, def_file),
	.def_line_offset = offsetof(struct test_service, def_line),
	.unsupported_keys = service_unsupported,
};

#define DDEF(type, field, deflt) \
	{ type, #field, offsetof(struct test_db, field), deflt, NULL, NULL }
static const struct setting_def db_defs[] = {
	DDEF(SET_STR, name, NULL),
	DDEF(SET_STR, driver, NULL),
	DDEF(SET_BOOL, flag, "no"),
	SETTING_DEF_END
};
static const struct setting_section_info db_info = {
	.type = "db", .struct_size = sizeof(struct test_db),
	.defs = db_defs, .name_key = "name", .unique = false,
	.def_file_offset = offsetof(struct test_db, def_file),
	.def_line_offset = offsetof(struct test_db, def_line),
	.check = db_check,
};

static const char *const top_unsupported[] = { "mail_location", "ssl_cert", NULL };
static const char *const top_unsupported_sections[] = { "namespace", NULL };
#define TDEF(type, field, deflt, check) \
	{ type, #field, offsetof(struct test_settings, field), deflt, NULL, check }
static const struct setting_def test_defs[] = {
	TDEF(SET_STR, str, "default text", NULL),
	TDEF(SET_BOOL, flag, "yes", NULL),
	TDEF(SET_UINT, num, "30", NULL),
	TDEF(SET_OCTAL, mode, "0644", NULL),
	TDEF(SET_SIZE, size, "256M", NULL),
	TDEF(SET_TIME, secs, "2 secs", NULL),
	TDEF(SET_TIME_MSECS, msecs, "2000 ms", NULL),
	TDEF(SET_ENUM, choice, "no:yes:required", NULL),
	TDEF(SET_STR, checked, NULL, checked_check),
	{ SET_SECTION_LIST, "service", offsetof(struct test_settings, services),
	  NULL, &service_info, NULL },
	{ SET_SECTION_LIST, "db", offsetof(struct test_settings, dbs),
	  NULL, &db_info, NULL },
	SETTING_DEF_END
};
static const struct setting_section_info test_info = {
	.type = "", .struct_size = sizeof(struct test_settings),
	.defs = test_defs,
	.def_file_offset = SETTINGS_NO_OFFSET,
	.def_line_offset = SETTINGS_NO_OFFSET,
	.unsupported_keys = top_unsupported,
	.unsupported_sections = top_unsupported_sections,
};

static const struct setting_def extra_defs[] = {
	{ SET_STR, "extra_name", offsetof(struct test_extra, extra_name), "x", NULL, NULL },
	{ SET_BOOL, "extra_flag", offsetof(struct test_extra, extra_flag), "no", NULL, NULL },
	SETTING_DEF_END
};
static const struct setting_section_info extra_info = {
	.type = "", .struct_size = sizeof(struct test_extra), .defs = extra_defs,
	.def_file_offset = SETTINGS_NO_OFFSET, .def_line_offset = SETTINGS_NO_OFFSET,
};

struct bound {
	struct pool *pool;
	struct test_settings *set;
	struct test_extra *extra;
	struct settings_root roots[2];
};

static void bound_init(struct bound *b)
{
	b->pool = pool_create("test settings", 1024);
	b->set = settings_new(&test_info, b->pool);
	b->extra = settings_new(&extra_info, b->pool);
	b->roots[0].info = &test_info;
	b->roots[0].set = b->set;
	b->roots[1].info = &extra_info;
	b->roots[1].set = b->extra;
}

static void bound_free(struct bound *b)
{
	settings_free_arrays(&test_info, b->set);
	settings_free_arrays(&extra_info, b->extra);
	pool_destroy(&b->pool);
}

/* Parse and bind text; returns the bind/parse result. */
static int bind_text(struct bound *b, const char *text, const char **error_r)
{
	struct pool *parse_pool = pool_create("parse", 1024);
	struct config_tree *tree;
	const char *error;
	int ret;

	ret = config_parse_string(text, "t.conf", NULL, parse_pool, &tree, &error);
	if (ret == 0)
		ret = settings_bind_roots(b->roots, 2, tree->root, b->pool, &error);
	if (ret < 0)
		*error_r = pool_strdup(b->pool, error);
	pool_destroy(&parse_pool);
	return ret;
}

static void test_defaults(void **state ATTR_UNUSED)
{
	struct bound b;

	bound_init(&b);
	assert_string_equal(b.set->str, "default text");
	assert_true(b.set->flag);
	assert_int_equal(b.set->num, 30);
	assert_int_equal(b.set->mode, 0644);
	assert_true(b.set->size == 256 * MB);
	assert_int_equal(b.set->secs, 2);
	assert_int_equal(b.set->msecs, 2000);
	assert_string_equal(b.set->choice, "no");
	assert_string_equal(b.set->checked, "");
	assert_int_equal(b.set->services.count, 0);
	assert_string_equal(b.extra->extra_name, "x");
	bound_free(&b);
}

static void test_bind_values(void **state ATTR_UNUSED)
{
	struct bound b;
	const char *error = NULL;

	bound_init(&b);
	assert_int_equal(bind_text(&b,
		"str = hello world\n"
		"flag = no\n"
		"num = 7\n"
		"mode = 0600\n"
		"size = 10M\n"
		"secs = 5 mins\n"
		"msecs = 1500ms\n"
		"choice = required\n"
		"checked = good\n"
		"extra_name = second root\n"
		"extra_flag = y\n"
		"num = 8\n", &error), 0);
	assert_string_equal(b.set->str, "hello world");
	assert_false(b.set->flag);
	assert_int_equal(b.set->num, 8);
	assert_int_equal(b.set->mode, 0600);
	assert_true(b.set->size == 10 * MB);
	assert_int_equal(b.set->secs, 300);
	assert_int_equal(b.set->msecs, 1500);
	assert_string_equal(b.set->choice, "required");
	assert_string_equal(b.set->checked, "good");
	assert_string_equal(b.extra->extra_name, "second root");
	assert_true(b.extra->extra_flag);
	bound_free(&b);
}

static void test_bind_sections(void **state ATTR_UNUSED)
{
	const struct setting_def *service_def = settings_find_def(&test_info, "service");
	struct test_service *svc;
	struct bound b;
	const char *error = NULL;

	bound_init(&b);
	/* a default element that sections merge into */
	svc = settings_list_add(service_def, b.set, "auth", b.pool);
	svc->limit = 1;
	settings_list_add(settings_find_def(&service_info, "listener"), svc,
			  "client", b.pool);

	assert_int_equal(bind_text(&b,
		"service auth {\n"
		"  listener client {\n"
		"    mode = 0666\n"
		"  }\n"
		"  listener /abs/path {\n"
		"  }\n"
		"}\n"
		"db {\n"
		"  driver = one\n"
		"}\n"
		"db second {\n"
		"  driver = two\n"
		"  flag = yes\n"
		"}\n"
		"service other {\n"
		"  limit = 5\n"
		"}\n"
		"service auth {\n"
		"  listener client {\n"
		"    mode = 0660\n"
		"  }\n"
		"}\n", &error), 0);

	assert_int_equal(b.set->services.count, 2);
	svc = b.set->services.v[0];
	assert_string_equal(svc->name, "auth");
	assert_int_equal(svc->limit, 1);     /* kept from the default element */
	assert_string_equal(svc->def_file, "t.conf");
	assert_int_equal(svc->def_line, 18); /* the last section merged */
	assert_int_equal(svc->listeners.count, 2);
	assert_string_equal(svc->listeners.v[0]->name, "client");
	assert_int_equal(svc->listeners.v[0]->mode, 0660);
	assert_int_equal(svc->listeners.v[0]->def_line, 19);
	assert_string_equal(svc->listeners.v[1]->name, "/abs/path");
	assert_int_equal(svc->listeners.v[1]->mode, 0600);
	assert_int_equal(svc->listeners.v[1]->def_line, 5);
	svc = b.set->services.v[1];
	assert_string_equal(svc->name, "other");
	assert_int_equal(svc->limit, 5);
	assert_int_equal(svc->listeners.count, 0);

	/* non-unique: every section is an element, in order */
	assert_int_equal(b.set->dbs.count, 2);
	assert_string_equal(b.set->dbs.v[0]->name, "");
	assert_string_equal(b.set->dbs.v[0]->driver, "one");
	assert_false(b.set->dbs.v[0]->flag);
	assert_int_equal(b.set->dbs.v[0]->def_line, 8);
	assert_string_equal(b.set->dbs.v[1]->name, "second");
	assert_string_equal(b.set->dbs.v[1]->driver, "two");
	assert_true(b.set->dbs.v[1]->flag);

	assert_ptr_equal(settings_list_find(service_def, b.set, "other"),
			 b.set->services.v[1]);
	assert_null(settings_list_find(service_def, b.set, "nosuch"));
	bound_free(&b);
}

static const struct {
	const char *text;
	const char *error;
} bind_error_tests[] = {
	{ "flag = maybe\n", "t.conf:1: Invalid value for flag: \"maybe\": use yes or no" },
	{ "num = abc\n", "t.conf:1: Invalid value for num: \"abc\": not a number" },
	{ "num = 1\nsecs = abc\n",
	  "t.conf:2: Invalid value for secs: \"abc\": not a time interval (e.g. 30 secs, 5 mins)" },
	{ "secs = 5\n",
	  "t.conf:1: Invalid value for secs: \"5\": time interval is missing a unit (add e.g. 's' for seconds)" },
	{ "secs = 10 hr\n",
	  "t.conf:1: Invalid value for secs: \"10 hr\": unknown time unit (use ms, secs, mins, hours, days or weeks)" },
	{ "size = 10X\n",
	  "t.conf:1: Invalid value for size: \"10X\": unknown size unit (use B, k, M, G or T)" },
	{ "size = big\n",
	  "t.conf:1: Invalid value for size: \"big\": not a size (a number with an optional unit B, k, M, G or T)" },
	{ "mode = 0999\n", "t.conf:1: Invalid value for mode: \"0999\": not an octal number" },
	{ "choice = maybe\n",
	  "t.conf:1: Invalid value for choice: \"maybe\": allowed values are: no, yes, required" },
	{ "checked = bad\n", "t.conf:1: checked = bad: not allowed here" },
	/* unknown and unsupported names */
	{ "chioce = yes\n", "t.conf:1: Unknown setting: chioce (did you mean choice?)" },
	{ "extraname = x\n", "t.conf:1: Unknown setting: extraname (did you mean extra_name?)" },
	{ "name = x\n", "t.conf:1: Unknown setting: name" },
	{ "completely_different_thing = 1\n",
	  "t.conf:1: Unknown setting: completely_different_thing" },
	{ "mail_location = maildir:~/Maildir\n",
	  "t.conf:1: Setting mail_location is not supported by roost yet" },
	{ "mail_locaton = x\n",
	  "t.conf:1: Unknown setting: mail_locaton (did you mean mail_location?)" },
	{ "service auth {\n  chroot = x\n}\n",
	  "t.conf:2: Setting chroot (in service section) is not supported by roost yet" },
	{ "service auth {\n  limt = 1\n}\n",
	  "t.conf:2: Unknown setting in service section: limt (did you mean limit?)" },
	{ "service auth {\n  listener x {\n    mod = 1\n  }\n}\n",
	  "t.conf:3: Unknown setting in listener section: mod (did you mean mode?)" },
	{ "namespace inbox {\n  inbox = yes\n}\n",
	  "t.conf:1: Section namespace is not supported by roost yet" },
	{ "servic auth {\n}\n",
	  "t.conf:1: Unknown section: servic (did you mean service?)" },
	{ "service auth {\n  foo {\n  }\n}\n", "t.conf:2: Unknown section in service section: foo" },
	{ "service = x\n", "t.conf:1: service is a section, not a setting (use: service { ... })" },
	{ "num {\n}\n", "t.conf:1: num is a setting, not a section (use: num = value)" },
	{ "service {\n}\n", "t.conf:1: Section service is missing a name (use: service NAME { ... })" },
	{ "service auth {\n  listener x {\n    mode = 9999\n  }\n}\n",
	  "t.conf:3: Invalid value for mode: \"9999\": mode is too large (max 07777)" },
	{ "db {\n  flag = yes\n}\n", "t.conf:1: db is missing driver" },
	{ "service auth {\n  listener {\n  }\n}\n",
	  "t.conf:2: Section listener is missing a name (use: listener NAME { ... })" },
};

static void test_bind_errors(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(bind_error_tests); i++) {
		struct bound b;
		const char *error = NULL;

		bound_init(&b);
		if (bind_text(&b, bind_error_tests[i].text, &error) != -1)
			fail_msg("test %zu (%s): no error", i, bind_error_tests[i].text);
		if (strcmp(error, bind_error_tests[i].error) != 0)
			fail_msg("test %zu: got '%s', expected '%s'", i, error,
				 bind_error_tests[i].error);
		bound_free(&b);
	}
}

static void test_unsupported_empty_section(void **state ATTR_UNUSED)
{
	struct bound b;
	const char *error = NULL;

	/* an empty section of an unsupported type configures nothing */
	bound_init(&b);
	assert_int_equal(bind_text(&b, "namespace inbox {\n}\nnum = 3\n", &error), 0);
	assert_int_equal(b.set->num, 3);
	bound_free(&b);
}

/* ---- suggestions ------------------------------------------------------- */

static void test_edit_distance(void **state ATTR_UNUSED)
{
	static const struct { const char *a, *b; unsigned int dist; } t[] = {
		{ "", "", 0 }, { "a", "", 1 }, { "", "abc", 3 },
		{ "kitten", "sitting", 3 }, { "auth_mechanisms", "authmechanisms", 1 },
		{ "ABC", "abc", 0 }, { "flaw", "lawn", 2 }, { "same", "same", 0 },
	};
	for (size_t i = 0; i < N_ELEMENTS(t); i++) {
		assert_int_equal(settings_edit_distance(t[i].a, t[i].b), t[i].dist);
		assert_int_equal(settings_edit_distance(t[i].b, t[i].a), t[i].dist);
	}
}

static void test_suggest(void **state ATTR_UNUSED)
{
	const struct setting_section_info *infos[] = { &test_info, &extra_info };
	static const struct { const char *key; const char *suggestion; } t[] = {
		{ "flg", "flag" }, { "FLAG", "flag" }, { "choise", "choice" },
		{ "extra-flag", "extra_flag" }, { "flag_name", NULL },
		{ "name", NULL }, { "x", NULL }, { "mail_locatoin", "mail_location" },
		{ "namespaces", "namespace" }, { "", NULL },
	};
	for (size_t i = 0; i < N_ELEMENTS(t); i++) {
		const char *s = settings_suggest(infos, 2, t[i].key);
		if (t[i].suggestion == NULL) {
			if (s != NULL)
				fail_msg("%s: suggested %s", t[i].key, s);
		} else {
			if (s == NULL || strcmp(s, t[i].suggestion) != 0)
				fail_msg("%s: suggested %s", t[i].key,
					 s == NULL ? "nothing" : s);
		}
	}
	/* a huge key is not compared at all */
	char big[200];
	memset(big, 'f', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_null(settings_suggest(infos, 2, big));
}

/* ---- printing ---------------------------------------------------------- */

static void test_append_value(void **state ATTR_UNUSED)
{
	static const struct { const char *in, *out; } t[] = {
		{ "", "" }, { "plain", "plain" }, { "a b", "a b" },
		{ "%b %d %H:%M:%S ", "\"%b %d %H:%M:%S \"" },
		{ " lead", "\" lead\"" }, { "a#b", "\"a#b\"" },
		{ "\"q\"", "\"\\\"q\\\"\"" }, { "'q'", "\"'q'\"" },
		{ "<file", "\"<file\"" }, { "x<file", "x<file" },
		{ "$var", "\"$var\"" }, { "a $var", "\"a $var\"" },
		{ "x$var", "x$var" }, { "end\\", "\"end\\\\\"" },
		{ "a\\b", "a\\b" },
	};
	string_t *str = str_create(32);

	for (size_t i = 0; i < N_ELEMENTS(t); i++) {
		str_truncate(str, 0);
		settings_append_value(str, t[i].in);
		assert_string_equal(str_c(str), t[i].out);

		/* read back through the parser gives the original */
		struct pool *pool = pool_create("rt", 256);
		struct config_tree *tree;
		const char *error;
		char *text = x_printf("k = %s\n", str_c(str));
		assert_int_equal(config_parse_string(text, "rt.conf", NULL, pool,
						     &tree, &error), 0);
		assert_string_equal(tree->root->children->value, t[i].in);
		free(text);
		pool_destroy(&pool);
	}
	str_free(&str);
}

static const char print_all_expected[] =
	"checked = \n"
	"choice = no\n"
	"db {\n"
	"  driver = one\n"
	"  flag = no\n"
	"  name = \n"
	"}\n"
	"db {\n"
	"  driver = two\n"
	"  flag = yes\n"
	"  name = second\n"
	"}\n"
	"extra_flag = no\n"
	"extra_name = \"x y \"\n"
	"flag = yes\n"
	"mode = 0644\n"
	"msecs = 2 secs\n"
	"num = 30\n"
	"secs = 1 hours\n"
	"service auth-worker {\n"
	"  limit = 10\n"
	"}\n"
	"service auth {\n"
	"  limit = 1\n"
	"  listener client {\n"
	"    mode = 0600\n"
	"  }\n"
	"  listener login/x {\n"
	"    mode = 0600\n"
	"  }\n"
	"}\n"
	"size = 256 M\n"
	"str = default text\n";

static const char print_changed_expected[] =
	"db {\n"
	"  driver = one\n"
	"}\n"
	"db {\n"
	"  driver = two\n"
	"  flag = yes\n"
	"  name = second\n"
	"}\n"
	"extra_name = \"x y \"\n"
	"secs = 1 hours\n"
	"service auth-worker {\n"
	"}\n"
	"service auth {\n"
	"  listener login/x {\n"
	"  }\n"
	"}\n";

static void add_default_service(struct test_settings *set, struct pool *pool)
{
	struct test_service *svc;

	svc = settings_list_add(settings_find_def(&test_info, "service"), set,
				"auth", pool);
	svc->limit = 1;
	settings_list_add(settings_find_def(&service_info, "listener"), svc,
			  "client", pool);
}

static void test_print(void **state ATTR_UNUSED)
{
	struct bound b, defaults;
	const char *error = NULL;
	string_t *out = str_create(256), *out2 = str_create(256);

	bound_init(&b);
	bound_init(&defaults);
	add_default_service(b.set, b.pool);
	add_default_service(defaults.set, defaults.pool);
	assert_int_equal(bind_text(&b,
		"secs = 3600s\n"
		"extra_name = \"x y \"\n"
		"service auth-worker {\n}\n"
		"service auth {\n  listener login/x {\n  }\n}\n"
		"db {\n  driver = one\n}\n"
		"db second {\n  driver = two\n  flag = yes\n}\n", &error), 0);

	settings_print_roots(b.roots, defaults.roots, 2, false, out);
	assert_string_equal(str_c(out), print_all_expected);
	str_truncate(out, 0);
	settings_print_roots(b.roots, defaults.roots, 2, true, out);
	assert_string_equal(str_c(out), print_changed_expected);

	/* printing the defaults themselves changes nothing */
	str_truncate(out, 0);
	settings_print_roots(defaults.roots, defaults.roots, 2, true, out);
	assert_string_equal(str_c(out), "");

	/* -a output read back gives the same settings */
	str_truncate(out, 0);
	settings_print_roots(b.roots, NULL, 2, false, out);
	struct bound again;
	bound_init(&again);
	assert_int_equal(bind_text(&again, str_c(out), &error), 0);
	settings_print_roots(again.roots, NULL, 2, false, out2);
	assert_string_equal(str_c(out), str_c(out2));
	bound_free(&again);

	str_free(&out);
	str_free(&out2);
	bound_free(&b);
	bound_free(&defaults);
}

static void test_roots_default(void **state ATTR_UNUSED)
{
	struct bound b;

	bound_init(&b);
	assert_string_equal(settings_roots_default(b.roots, 2, "num", b.pool), "30");
	assert_string_equal(settings_roots_default(b.roots, 2, "secs", b.pool), "2 secs");
	assert_string_equal(settings_roots_default(b.roots, 2, "choice", b.pool), "no");
	assert_string_equal(settings_roots_default(b.roots, 2, "checked", b.pool), "");
	assert_string_equal(settings_roots_default(b.roots, 2, "extra_name", b.pool), "x");
	assert_null(settings_roots_default(b.roots, 2, "service", b.pool));
	assert_null(settings_roots_default(b.roots, 2, "nosuch", b.pool));
	bound_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_parse_octal),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_enum_has),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bind_values),
		cmocka_unit_test(test_bind_sections),
		cmocka_unit_test(test_bind_errors),
		cmocka_unit_test(test_unsupported_empty_section),
		cmocka_unit_test(test_edit_distance),
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_append_value),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_roots_default),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
