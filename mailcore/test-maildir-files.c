/* Unit tests for maildir-filename, maildir-keywords and maildir-uidlist. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "maildir-filename.h"
#include "maildir-keywords.h"
#include "maildir-uidlist.h"

#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

/* As Dovecot 2.3 wrote it (the header's N lags behind the appended
   record 3), plus ext fields and an unknown header field. */
static const char sample_uidlist[] =
	"3 V1795882322 N3 G2715423652fd0a6bf275000083ecc375 X77\n"
	"1 :1795882322.M909965P30194.vm,S=30,W=34\n"
	"2 S30 W34 :1795882322.M934037P30196.vm,S=30,W=34\n"
	"3 G0123456789abcdef0123456789abcdef Zfuture :1795882322.M954169P30198.vm\n";

/* ---------------------------------------------------------- file names */

static void test_filename_parse(void **state ATTR_UNUSED)
{
	static const struct {
		const char *name;
		const char *base;
		int size, vsize;       /* -1 = absent */
		bool info;
		unsigned int flags;
		uint32_t keywords;
		const char *other_fields, *other_flags;
	} tests[] = {
		{ "1.M1P2.host", "1.M1P2.host", -1, -1, false, 0, 0, "", "" },
		{ "1.M1P2.host,S=30,W=34", "1.M1P2.host", 30, 34, false, 0, 0, "", "" },
		{ "1.M1P2.host,S=30,W=34:2,", "1.M1P2.host", 30, 34, true, 0, 0, "", "" },
		{ "b,S=5:2,S", "b", 5, -1, true, MAILDIR_FLAG_SEEN, 0, "", "" },
		{ "b,W=7,S=5:2,DFPRST", "b", 5, 7, true,
		  MAILDIR_FLAG_DRAFT | MAILDIR_FLAG_FLAGGED | MAILDIR_FLAG_PASSED |
		  MAILDIR_FLAG_REPLIED | MAILDIR_FLAG_SEEN | MAILDIR_FLAG_TRASHED,
		  0, "", "" },
		{ "b:2,Fa", "b", -1, -1, true, MAILDIR_FLAG_FLAGGED, 1, "", "" },
		{ "b:2,RSbz", "b", -1, -1, true,
		  MAILDIR_FLAG_REPLIED | MAILDIR_FLAG_SEEN, (1U << 1) | (1U << 25), "", "" },
		{ "b,X=y,S=1:2,SQ", "b", 1, -1, true, MAILDIR_FLAG_SEEN, 0, ",X=y", "Q" },
		{ "b:1,whatever", "b", -1, -1, false, 0, 0, "", "" },
	};
	struct pool *pool = pool_create("test", 1024);

	for (size_t i = 0; i < N_ELEMENTS(tests); i++) {
		struct maildir_filename fn;
		const char *error = NULL;

		if (maildir_filename_parse(pool, tests[i].name, &fn, &error) < 0)
			fail_msg("%s: %s", tests[i].name, error);
		assert_string_equal(fn.base, tests[i].base);
		assert_int_equal(fn.have_size, tests[i].size >= 0);
		if (tests[i].size >= 0)
			assert_int_equal(fn.size, tests[i].size);
		assert_int_equal(fn.have_vsize, tests[i].vsize >= 0);
		if (tests[i].vsize >= 0)
			assert_int_equal(fn.vsize, tests[i].vsize);
		assert_int_equal(fn.have_info, tests[i].info);
		assert_int_equal(fn.flags, tests[i].flags);
		assert_int_equal(fn.keywords, tests[i].keywords);
		assert_string_equal(fn.other_fields, tests[i].other_fields);
		assert_string_equal(fn.other_flags, tests[i].other_flags);
	}
	pool_destroy(&pool);
}

static void test_filename_invalid(void **state ATTR_UNUSED)
{
	static const struct {
		const char *name, *error;
	} tests[] = {
		{ "", "empty base name" },
		{ ",S=1", "empty base name" },
		{ ":2,S", "empty base name" },
		{ "a/b", "file name contains '/'" },
		{ "b,S=x", "invalid ,S= size 'x'" },
		{ "b,S=", "invalid ,S= size ''" },
		{ "b,S=-1", "invalid ,S= size '-1'" },
		{ "b,S=99999999999999999999", "invalid ,S= size '99999999999999999999'" },
		{ "b,S=1,S=2", "duplicate ,S= field" },
		{ "b,W=1,W=2", "duplicate ,W= field" },
		{ "b,,S=1", "empty ',' field" },
		{ "b:3,S", "unknown info after ':' (expected ':2,')" },
		{ "b:", "unknown info after ':' (expected ':2,')" },
		{ "b:2,S1", "invalid flag character 0x31 after ':2,'" },
		{ "b:2,S:", "invalid flag character 0x3a after ':2,'" },
	};
	struct pool *pool = pool_create("test", 1024);

	for (size_t i = 0; i < N_ELEMENTS(tests); i++) {
		struct maildir_filename fn;
		const char *error = NULL;

		if (maildir_filename_parse(pool, tests[i].name, &fn, &error) == 0)
			fail_msg("'%s' parsed but must fail", tests[i].name);
		assert_string_equal(error, tests[i].error);
	}
	pool_destroy(&pool);
}

static void test_filename_build_round_trip(void **state ATTR_UNUSED)
{
	static const char *const names[] = {
		"1.M1P2.host",
		"1.M1P2.host,S=30,W=34:2,",
		"b,S=5:2,S",
		"b,S=5,W=7:2,DFPRST",
		"b:2,FRab",
		"b,S=1,X=y:2,QSz",
	};
	struct pool *pool = pool_create("test", 1024);

	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		struct maildir_filename fn;
		const char *error;

		assert_int_equal(maildir_filename_parse(pool, names[i], &fn, &error), 0);
		assert_string_equal(maildir_filename_build(pool, &fn, fn.have_info),
				    names[i]);
	}
	/* letters come out in ASCII order whatever the input order */
	struct maildir_filename fn;
	const char *error;
	assert_int_equal(maildir_filename_parse(pool, "b:2,bSaF", &fn, &error), 0);
	assert_string_equal(maildir_filename_build(pool, &fn, true), "b:2,FSab");
	assert_string_equal(maildir_filename_build(pool, &fn, false), "b");

	memset(&fn, 0, sizeof(fn));
	fn.base = "x";
	fn.have_size = true;
	fn.size = 12;
	fn.flags = MAILDIR_FLAG_SEEN | MAILDIR_FLAG_DRAFT;
	fn.keywords = 1U << 2;
	assert_string_equal(maildir_filename_build(pool, &fn, true), "x,S=12:2,DSc");
	assert_int_equal(maildir_filename_base_len("x,S=12:2,DSc"), 6);
	assert_int_equal(maildir_filename_base_len("x"), 1);
	assert_int_equal(maildir_flag_letter(MAILDIR_FLAG_REPLIED), 'R');
	assert_string_equal(maildir_flag_imap_name(MAILDIR_FLAG_TRASHED), "\\Deleted");
	assert_null(maildir_flag_imap_name(MAILDIR_FLAG_PASSED));
	pool_destroy(&pool);
}

/* ------------------------------------------------------------ keywords */

static void test_keywords_parse(void **state ATTR_UNUSED)
{
	static const char text[] = "0 $Important\n1 foo\n25 last\n30 ignored\n";
	struct pool *pool = pool_create("test", 1024);
	struct maildir_keywords kw;
	const char *error = NULL;

	assert_int_equal(maildir_keywords_parse(pool, "kw", (const void *)text,
						strlen(text), &kw, &error), 0);
	assert_string_equal(kw.names[0], "$Important");
	assert_string_equal(kw.names[1], "foo");
	assert_null(kw.names[2]);
	assert_string_equal(kw.names[25], "last");
	assert_int_equal(maildir_keywords_lookup(&kw, "FOO"), 1);
	assert_int_equal(maildir_keywords_lookup(&kw, "bar"), -1);
	assert_int_equal(maildir_keywords_add(pool, &kw, "bar"), 2);
	assert_int_equal(maildir_keywords_add(pool, &kw, "bar"), 2);
	assert_int_equal(maildir_keywords_add(pool, &kw, "bad name"), -1);
	/* empty file: no keywords */
	assert_int_equal(maildir_keywords_parse(pool, "kw", (const void *)"", 0,
						&kw, &error), 0);
	assert_null(kw.names[0]);
	pool_destroy(&pool);
}

static void test_keywords_invalid(void **state ATTR_UNUSED)
{
	static const struct {
		const char *text, *error;
	} tests[] = {
		{ "0 a\n1", "kw:2: truncated line (no newline at end of file)" },
		{ "0 a\n\n", "kw:2: empty line" },
		{ "0\n", "kw:1: expected '<id> <keyword>'" },
		{ "x a\n", "kw:1: invalid keyword id 'x'" },
		{ "-1 a\n", "kw:1: invalid keyword id '-1'" },
		{ "0 \n", "kw:1: invalid keyword name ''" },
		{ "0 a b\n", "kw:1: invalid keyword name 'a b'" },
		{ "0 a(\n", "kw:1: invalid keyword name 'a('" },
		{ "0 a\n0 b\n", "kw:2: duplicate keyword id 0" },
		{ "0 a\n1 A\n", "kw:2: duplicate keyword 'A'" },
	};
	struct pool *pool = pool_create("test", 1024);

	for (size_t i = 0; i < N_ELEMENTS(tests); i++) {
		struct maildir_keywords kw;
		const char *error = NULL;

		if (maildir_keywords_parse(pool, "kw", (const void *)tests[i].text,
					   strlen(tests[i].text), &kw, &error) == 0)
			fail_msg("'%s' parsed but must fail", tests[i].text);
		assert_string_equal(error, tests[i].error);
	}
	pool_destroy(&pool);
}

static char *make_temp_dir(void)
{
	char *dir = x_strdup("/tmp/roost-test-maildir.XXXXXX");

	assert_non_null(mkdtemp(dir));
	return dir;
}

static void test_keywords_write_read(void **state ATTR_UNUSED)
{
	struct pool *pool = pool_create("test", 1024);
	char *dir = make_temp_dir();
	char *path = pool_printf(pool, "%s/dovecot-keywords", dir);
	struct maildir_keywords kw, kw2;
	const char *error = NULL;
	unsigned char *data;
	size_t size;

	assert_int_equal(maildir_keywords_read(pool, path, &kw, &error), 0);
	memset(&kw, 0, sizeof(kw));
	assert_int_equal(maildir_keywords_add(pool, &kw, "$Important"), 0);
	assert_int_equal(maildir_keywords_add(pool, &kw, "foo"), 1);
	kw.names[0] = NULL; /* a hole stays a hole */
	if (maildir_keywords_write(pool, path, &kw, &error) < 0)
		fail_msg("%s", error);
	assert_int_equal(maildir_file_read_all(pool, path, 100, &data, &size, &error), 1);
	assert_string_equal((const char *)data, "1 foo\n");
	assert_int_equal(maildir_keywords_read(pool, path, &kw2, &error), 1);
	assert_null(kw2.names[0]);
	assert_string_equal(kw2.names[1], "foo");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	free(dir);
	pool_destroy(&pool);
}


static void test_keywords_and_filename_truncation(void **state ATTR_UNUSED)
{
	static const char kw_text[] = "0 $Important\n1 foo\n";
	static const char name[] = "1795882322.M954169P30198.vm,S=32,W=36:2,RSb";
	struct pool *pool = pool_create("test", 1024);

	for (size_t len = 0; len <= strlen(kw_text); len++) {
		struct maildir_keywords kw;
		const char *error = NULL;
		char *copy = x_malloc(len + 1);
		int ret;

		memcpy(copy, kw_text, len);
		ret = maildir_keywords_parse(pool, "kw", (unsigned char *)copy, len,
					     &kw, &error);
		if (len > 0 && kw_text[len - 1] != '\n') {
			assert_int_equal(ret, -1);
			assert_non_null(strstr(error, "kw:"));
		} else
			assert_int_equal(ret, 0);
		free(copy);
	}
	/* every prefix of a file name either parses or fails cleanly, and
	   whatever parses builds back to the same prefix */
	for (size_t len = 0; len <= strlen(name); len++) {
		char *prefix = pool_strndup(pool, name, len);
		struct maildir_filename fn;
		const char *error = NULL;

		if (maildir_filename_parse(pool, prefix, &fn, &error) < 0) {
			assert_non_null(error);
			continue;
		}
		if (fn.have_info || strchr(prefix, ':') == NULL)
			assert_string_equal(maildir_filename_build(pool, &fn,
					    fn.have_info), prefix);
	}
	pool_destroy(&pool);
}

/* ------------------------------------------------------------- uidlist */

static int parse_text(struct maildir_uidlist *list, const char *text, size_t size,
		      const char **error_r)
{
	return maildir_uidlist_parse(list, "ul", (const unsigned char *)text, size,
				     error_r);
}

static void test_uidlist_parse_sample(void **state ATTR_UNUSED)
{
	struct maildir_uidlist *list = maildir_uidlist_create();
	const struct maildir_uidlist_record *rec;
	const char *error = NULL;

	if (parse_text(list, sample_uidlist, strlen(sample_uidlist), &error) < 0)
		fail_msg("%s", error);
	assert_int_equal(list->version, 3);
	assert_int_equal(list->uid_validity, 1795882322u);
	assert_int_equal(list->header_next_uid, 3);
	assert_int_equal(list->next_uid, 4);
	assert_string_equal(list->guid, "2715423652fd0a6bf275000083ecc375");
	assert_string_equal(list->header_ext, "X77");
	assert_int_equal(list->records.count, 3);
	rec = &list->records.v[0];
	assert_int_equal(rec->uid, 1);
	assert_string_equal(rec->ext, "");
	assert_false(rec->have_size);
	assert_string_equal(rec->filename, "1795882322.M909965P30194.vm,S=30,W=34");
	rec = maildir_uidlist_lookup(list, 2);
	assert_non_null(rec);
	assert_string_equal(rec->ext, "S30 W34");
	assert_true(rec->have_size && rec->have_vsize);
	assert_int_equal(rec->size, 30);
	assert_int_equal(rec->vsize, 34);
	rec = maildir_uidlist_lookup(list, 3);
	assert_string_equal(rec->ext, "G0123456789abcdef0123456789abcdef Zfuture");
	assert_string_equal(rec->filename, "1795882322.M954169P30198.vm");
	assert_null(maildir_uidlist_lookup(list, 4));
	assert_null(maildir_uidlist_lookup(list, 0));
	maildir_uidlist_destroy(&list);
	assert_null(list);
}

static void test_uidlist_version1(void **state ATTR_UNUSED)
{
	static const char text[] = "1 12345 10\n3 a.b.c\n7 d.e.f:2,S\n";
	struct maildir_uidlist *list = maildir_uidlist_create();
	const char *error = NULL;
	string_t *out;

	if (parse_text(list, text, strlen(text), &error) < 0)
		fail_msg("%s", error);
	assert_int_equal(list->version, 1);
	assert_int_equal(list->uid_validity, 12345);
	assert_int_equal(list->next_uid, 10);
	assert_int_equal(list->records.count, 2);
	assert_string_equal(list->records.v[1].filename, "d.e.f:2,S");
	out = maildir_uidlist_format(list);
	assert_string_equal(str_c(out), "3 V12345 N10\n3 :a.b.c\n7 :d.e.f:2,S\n");
	str_free(&out);
	maildir_uidlist_destroy(&list);
}

static void test_uidlist_format_round_trip(void **state ATTR_UNUSED)
{
	struct maildir_uidlist *list = maildir_uidlist_create();
	struct maildir_uidlist *list2 = maildir_uidlist_create();
	const char *error = NULL;
	string_t *out, *out2;

	assert_int_equal(parse_text(list, sample_uidlist, strlen(sample_uidlist),
				    &error), 0);
	out = maildir_uidlist_format(list);
	/* the only change: N is brought up to date */
	assert_string_equal(str_c(out),
		"3 V1795882322 N4 G2715423652fd0a6bf275000083ecc375 X77\n"
		"1 :1795882322.M909965P30194.vm,S=30,W=34\n"
		"2 S30 W34 :1795882322.M934037P30196.vm,S=30,W=34\n"
		"3 G0123456789abcdef0123456789abcdef Zfuture :1795882322.M954169P30198.vm\n");
	assert_int_equal(parse_text(list2, str_c(out), str_len(out), &error), 0);
	out2 = maildir_uidlist_format(list2);
	assert_string_equal(str_c(out), str_c(out2));

	/* append obeys the same rules */
	assert_int_equal(maildir_uidlist_append(list, 9, "S1", "new.msg", &error), 0);
	assert_int_equal(list->next_uid, 10);
	assert_int_equal(maildir_uidlist_append(list, 9, NULL, "x", &error), -1);
	assert_string_equal(error, "duplicate UID 9");
	assert_int_equal(maildir_uidlist_append(list, 5, NULL, "x", &error), -1);
	assert_string_equal(error, "UID 5 is not above previous UID 9");
	assert_int_equal(maildir_uidlist_append(list, 10, NULL, "a/b", &error), -1);
	assert_int_equal(maildir_uidlist_append(list, 10, NULL, "a\nb", &error), -1);
	assert_int_equal(maildir_uidlist_append(list, 10, "x :y", "a", &error), -1);
	assert_int_equal(maildir_uidlist_append(list, 10, NULL, "", &error), -1);
	assert_int_equal(list->records.count, 4);
	str_free(&out);
	str_free(&out2);
	maildir_uidlist_destroy(&list);
	maildir_uidlist_destroy(&list2);
}

static void test_uidlist_invalid(void **state ATTR_UNUSED)
{
	static const struct {
		const char *text, *error;
	} tests[] = {
		{ "", "ul: empty file" },
		{ "3", "ul:1: truncated line (no newline at end of file)" },
		{ "\n", "ul:1: empty line" },
		{ "3\n", "ul:1: header has no fields after the version" },
		{ "2 V1 N1\n", "ul:1: unsupported version '2' (only 1 and 3 are known)" },
		{ "3 N1\n", "ul:1: header lacks the UIDVALIDITY (V) field" },
		{ "3 V1\n", "ul:1: header lacks the next UID (N) field" },
		{ "3 V0 N1\n", "ul:1: invalid UIDVALIDITY field 'V0'" },
		{ "3 Vx N1\n", "ul:1: invalid UIDVALIDITY field 'Vx'" },
		{ "3 V4294967296 N1\n", "ul:1: invalid UIDVALIDITY field 'V4294967296'" },
		{ "3 V1 N1 V2\n", "ul:1: duplicate UIDVALIDITY field 'V2'" },
		{ "3 V1 N0\n", "ul:1: invalid next UID field 'N0'" },
		{ "3 V1 N1 N2\n", "ul:1: duplicate next UID field 'N2'" },
		{ "3 V1 N1 Gabc\n", "ul:1: invalid GUID field 'Gabc' (want 32 hex digits)" },
		{ "3 V1  N1\n", "ul:1: empty header field (double space)" },
		{ "3 V1 N1\r\n", "ul:1: carriage return in line" },
		{ "3 V1 N1\n\n", "ul:2: empty line" },
		{ "3 V1 N1\n1\n", "ul:2: record has no file name" },
		{ "3 V1 N1\n1 a\n", "ul:2: record lacks ' :' before the file name" },
		{ "3 V1 N1\n1 :\n", "ul:2: empty file name" },
		{ "3 V1 N1\n1 S1 :\n", "ul:2: empty file name" },
		{ "3 V1 N1\n1 :a/b\n", "ul:2: file name contains '/'" },
		{ "3 V1 N1\n0 :a\n", "ul:2: invalid UID '0'" },
		{ "3 V1 N1\n-1 :a\n", "ul:2: invalid UID '-1'" },
		{ "3 V1 N1\n4294967296 :a\n", "ul:2: invalid UID '4294967296'" },
		{ "3 V1 N1\n4294967295 :a\n", "ul: UID space exhausted (UID 4294967295)" },
		{ "3 V1 N1\n1 :a\n1 :b\n", "ul:3: duplicate UID 1" },
		{ "3 V1 N1\n2 :a\n1 :b\n", "ul:3: UID 1 is not above previous UID 2" },
		{ "3 V1 N1\n1 Sx :a\n", "ul:2: invalid size in field 'Sx'" },
		{ "3 V1 N1\n1 S1 S2 :a\n", "ul:2: duplicate S field" },
		{ "3 V1 N1\n1 W1 W2 :a\n", "ul:2: duplicate W field" },
		{ "3 V1 N1\n1 S1  :a\n", "ul:2: empty extension field (double space)" },
		{ "3 V1 N1\n1 \x01x :a\n", "ul:2: invalid extension field key 0x01" },
		{ "3 V1 N1\n1 :a\n2 :b", "ul:3: truncated line (no newline at end of file)" },
		{ "1 5\n", "ul:1: version 1 header lacks the next UID" },
		{ "1 x 5\n", "ul:1: invalid UIDVALIDITY 'x'" },
		{ "1 5 0\n", "ul:1: invalid next UID '0'" },
	};

	for (size_t i = 0; i < N_ELEMENTS(tests); i++) {
		struct maildir_uidlist *list = maildir_uidlist_create();
		const char *error = NULL;

		if (parse_text(list, tests[i].text, strlen(tests[i].text), &error) == 0)
			fail_msg("'%s' parsed but must fail", tests[i].text);
		assert_string_equal(error, tests[i].error);
		assert_int_equal(list->records.count, 0);
		assert_int_equal(list->uid_validity, 0);
		maildir_uidlist_destroy(&list);
	}
	/* a NUL inside a line */
	struct maildir_uidlist *list = maildir_uidlist_create();
	const char *error = NULL;
	static const char nul_text[] = "3 V1 N1\n1 :a\0b\n";
	assert_int_equal(parse_text(list, nul_text, sizeof(nul_text) - 1, &error), -1);
	assert_string_equal(error, "ul:2: NUL byte in line");
	maildir_uidlist_destroy(&list);
}

static void test_uidlist_every_truncation(void **state ATTR_UNUSED)
{
	size_t full = strlen(sample_uidlist);

	for (size_t len = 0; len < full; len++) {
		struct maildir_uidlist *list = maildir_uidlist_create();
		const char *error = NULL;
		/* heap copy of exactly len bytes so a read past the end
		   shows up under a sanitizer */
		char *copy = x_malloc(len + 1);
		int ret;

		memcpy(copy, sample_uidlist, len);
		ret = maildir_uidlist_parse(list, "ul", (unsigned char *)copy, len,
					    &error);
		if (len == 0 || sample_uidlist[len - 1] != '\n') {
			/* cut inside a line: always an error with a line number */
			if (ret == 0)
				fail_msg("truncated at %zu parsed", len);
			assert_non_null(strstr(error, "ul"));
		} else {
			/* cut at a line end: a valid shorter file */
			assert_int_equal(ret, 0);
			assert_int_equal(list->uid_validity, 1795882322u);
		}
		free(copy);
		maildir_uidlist_destroy(&list);
	}
}

static void test_uidlist_byte_flips(void **state ATTR_UNUSED)
{
	size_t full = strlen(sample_uidlist);
	static const unsigned char replacements[] = {
		0x00, ' ', ':', '\n', '\r', '/', '0', '9', 'V', 'N', 'G', 'S', 0xff, 0x80,
	};
	unsigned int failed = 0, parsed = 0;

	for (size_t pos = 0; pos < full; pos++) {
		for (size_t r = 0; r < N_ELEMENTS(replacements) + 8; r++) {
			struct maildir_uidlist *list = maildir_uidlist_create();
			unsigned char *copy = x_malloc(full);
			const char *error = NULL;

			memcpy(copy, sample_uidlist, full);
			if (r < N_ELEMENTS(replacements))
				copy[pos] = replacements[r];
			else
				copy[pos] ^= (unsigned char)(1U << (r - N_ELEMENTS(replacements)));
			if (maildir_uidlist_parse(list, "ul", copy, full, &error) < 0) {
				/* errors name the path and, past the header
				   checks, a line */
				assert_true(strncmp(error, "ul:", 3) == 0);
				assert_int_equal(list->records.count, 0);
				failed++;
			} else {
				/* whatever parsed holds the invariants */
				assert_int_not_equal(list->uid_validity, 0);
				for (size_t i = 1; i < list->records.count; i++)
					assert_true(list->records.v[i].uid >
						    list->records.v[i - 1].uid);
				for (size_t i = 0; i < list->records.count; i++) {
					assert_true(list->records.v[i].filename[0] != '\0');
					assert_null(strchr(list->records.v[i].filename, '/'));
					assert_true(list->next_uid > list->records.v[i].uid);
				}
				parsed++;
			}
			free(copy);
			maildir_uidlist_destroy(&list);
		}
	}
	assert_true(failed > 0);
	assert_true(parsed > 0);
}

static void test_uidlist_oversized(void **state ATTR_UNUSED)
{
	struct maildir_uidlist *list = maildir_uidlist_create();
	string_t *str = str_create(MAILDIR_UIDLIST_MAX_LINE * 2);
	const char *error = NULL;
	/* "1 :xxx" exactly at the limit: accepted */
	str_append(str, "3 V1 N1\n1 :");
	while (str_len(str) - 8 < MAILDIR_UIDLIST_MAX_LINE)
		str_append_c(str, 'x');
	str_append_c(str, '\n');
	if (parse_text(list, str_c(str), str_len(str), &error) < 0)
		fail_msg("%s", error);
	assert_int_equal(list->records.count, 1);
	/* one byte more: rejected with the line number */
	str_truncate(str, str_len(str) - 1);
	str_append(str, "x\n");
	assert_int_equal(parse_text(list, str_c(str), str_len(str), &error), -1);
	assert_string_equal(error, "ul:2: line too long (over 8192 bytes)");
	/* a huge line without newline is refused without reading it all
	   into a line buffer */
	str_clear(str);
	str_append(str, "3 V1 N1 ");
	for (int i = 0; i < 100000; i++)
		str_append_c(str, 'Q');
	assert_int_equal(parse_text(list, str_c(str), str_len(str), &error), -1);
	assert_string_equal(error, "ul:1: line too long (over 8192 bytes)");
	str_free(&str);
	maildir_uidlist_destroy(&list);
}

static void test_uidlist_write_read(void **state ATTR_UNUSED)
{
	char *dir = make_temp_dir();
	char *path = x_printf("%s/dovecot-uidlist", dir);
	struct maildir_uidlist *list = maildir_uidlist_create();
	struct maildir_uidlist *list2 = maildir_uidlist_create();
	const char *error = NULL;
	struct stat st;

	assert_int_equal(maildir_uidlist_read(list, path, &error), 0);
	assert_int_equal(parse_text(list, sample_uidlist, strlen(sample_uidlist),
				    &error), 0);
	if (maildir_uidlist_write(list, path, &error) < 0)
		fail_msg("%s", error);
	/* overwrite: still atomic, no temp file left */
	assert_int_equal(maildir_uidlist_append(list, 5, NULL, "five", &error), 0);
	if (maildir_uidlist_write(list, path, &error) < 0)
		fail_msg("%s", error);
	assert_int_equal(maildir_uidlist_read(list2, path, &error), 1);
	assert_int_equal(list2->records.count, 4);
	assert_int_equal(list2->next_uid, 6);
	assert_string_equal(list2->records.v[3].filename, "five");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* the directory holds only the final file */
	char *cmd = x_printf("test $(ls -A %s | wc -l) = 1", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);

	/* a write into a missing directory fails naming the path */
	char *bad = x_printf("%s/missing/dovecot-uidlist", dir);
	assert_int_equal(maildir_uidlist_write(list, bad, &error), -1);
	assert_non_null(strstr(error, bad));
	assert_non_null(strstr(error, "No such file or directory"));
	free(bad);

	/* a directory in place of the file */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(maildir_uidlist_read(list2, path, &error), -1);
	assert_non_null(strstr(error, "not a regular file"));
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(rmdir(dir), 0);
	maildir_uidlist_destroy(&list);
	maildir_uidlist_destroy(&list2);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filename_parse),
		cmocka_unit_test(test_filename_invalid),
		cmocka_unit_test(test_filename_build_round_trip),
		cmocka_unit_test(test_keywords_parse),
		cmocka_unit_test(test_keywords_invalid),
		cmocka_unit_test(test_keywords_write_read),
		cmocka_unit_test(test_keywords_and_filename_truncation),
		cmocka_unit_test(test_uidlist_parse_sample),
		cmocka_unit_test(test_uidlist_version1),
		cmocka_unit_test(test_uidlist_format_round_trip),
		cmocka_unit_test(test_uidlist_invalid),
		cmocka_unit_test(test_uidlist_every_truncation),
		cmocka_unit_test(test_uidlist_byte_flips),
		cmocka_unit_test(test_uidlist_oversized),
		cmocka_unit_test(test_uidlist_write_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
