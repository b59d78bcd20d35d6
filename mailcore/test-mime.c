/* Unit tests for the MIME parser, ENVELOPE and BODYSTRUCTURE. Known
   outputs were produced by Dovecot 2.3.19 (doveadm fetch). */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "message-parser.h"
#include "imap-envelope.h"
#include "imap-bodystructure.h"

#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <cmocka.h>

struct dump {
	struct pool *pool;
	struct message_part *root;
	string_t *envelope, *body;
};

static void dump_init(struct dump *d, const void *data, size_t size)
{
	d->pool = pool_create("test-mime", 1024);
	d->root = message_parse(d->pool, data, size);
	d->envelope = str_create(256);
	d->body = str_create(256);
	imap_envelope_write(d->envelope, d->pool, d->root);
	imap_bodystructure_write(d->body, d->pool, d->root);
}

static void dump_deinit(struct dump *d)
{
	pool_destroy(&d->pool);
	str_free(&d->envelope);
	str_free(&d->body);
}

static const struct {
	const char *input, *envelope, *bodystructure;
} known[] = {
	{ "From: a@b.c\r\nSubject: hi\r\n\r\nbody\r\n",
	  "NIL \"hi\" ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) "
	  "((NIL NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL",
	  "\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1 "
	  "NIL NIL NIL NIL" },
	/* bare LF counts as CRLF in sizes */
	{ "Subject: x\n\nab\ncd\n",
	  "NIL \"x\" NIL NIL NIL NIL NIL NIL NIL NIL",
	  "\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 8 2 "
	  "NIL NIL NIL NIL" },
	{ "", "NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL",
	  "\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 "
	  "NIL NIL NIL NIL" },
	{ "Content-Type: multipart/mixed; boundary=x\n\n--x\n\na\n--x--\n",
	  "NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0 "
	  "NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"x\") NIL NIL NIL" },
	/* prefix of a longer boundary line still matches (Dovecot) */
	{ "Content-Type: multipart/mixed; boundary=\"abc\"\n\n--abc\n\n1\n--abcdef\nx\n--abc\n\n2\n",
	  "NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0 NIL NIL NIL NIL)"
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 NIL NIL NIL NIL)"
	  " \"mixed\" (\"boundary\" \"abc\") NIL NIL NIL" },
	{ "To: Team: a@b.c;\n\n",
	  "NIL NIL NIL NIL NIL ((NIL NIL \"Team\" NIL)(NIL NIL \"a\" \"b.c\")"
	  "(NIL NIL NIL NIL)) NIL NIL NIL NIL",
	  "\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 "
	  "NIL NIL NIL NIL" },
	{ "From: <>\nTo: x, @y, \"Q\" <q@>, z@w\n\n",
	  "NIL NIL ((NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) "
	  "((NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) "
	  "((NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) "
	  "((NIL NIL \"x\" \"MISSING_DOMAIN\")(NIL NIL \"MISSING_MAILBOX\" \"y\")"
	  "(\"Q\" NIL \"q\" \"SYNTAX_ERROR\")) NIL NIL NIL NIL",
	  "\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 "
	  "NIL NIL NIL NIL" },
	/* 8-bit text becomes a literal */
	{ "Subject: \xc3\xa4\n\n",
	  "NIL {2}\r\n\xc3\xa4 NIL NIL NIL NIL NIL NIL NIL NIL",
	  "\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 "
	  "NIL NIL NIL NIL" },
};

static void test_known(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(known); i++) {
		struct dump d;

		dump_init(&d, known[i].input, strlen(known[i].input));
		assert_string_equal(str_c(d.envelope), known[i].envelope);
		assert_string_equal(str_c(d.body), known[i].bodystructure);
		dump_deinit(&d);
	}
}

static void test_params(void **state ATTR_UNUSED)
{
	struct pool *pool = pool_create("test", 1024);
	struct mime_header_params hp;

	mime_header_params_parse(pool, "Text/Plain (c) ; CharSet = \"a\\\"b\" ;"
				 " x*1=\"b\"; x*0=a; y*0*=utf-8''%41; y*1=c; bad; =v",
				 &hp);
	assert_string_equal(hp.value, "Text/Plain");
	assert_int_equal(hp.count, 3);
	assert_string_equal(hp.params[0].name, "CharSet");
	assert_string_equal(hp.params[0].value, "a\"b");
	assert_string_equal(hp.params[1].name, "x");
	assert_string_equal(hp.params[1].value, "ab");
	assert_string_equal(hp.params[2].name, "y*");
	assert_string_equal(hp.params[2].value, "utf-8''%41c");

	mime_header_params_parse(pool, ";;;\"", &hp);
	assert_null(hp.value);
	assert_int_equal(hp.count, 0);
	pool_destroy(&pool);
}

static const char multipart_sample[] =
	"From: \"A (x)\" <a@b.c>, (c) d@e.f\r\n"
	"To: g: h@i.j, \"k\\\"l\" <m@n.o>;\r\n"
	"Subject: =?utf-8?q?x?= \t folded\r\n continued\r\n"
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
	"\r\n"
	"--b1\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"Subject: inner\r\n"
	"Content-Type: multipart/alternative; boundary=b2\r\n"
	"\r\n"
	"--b2\r\n"
	"Content-Type: text/plain; name*0=a; name*1=b\r\n"
	"\r\n"
	"x\r\n"
	"--b2--\r\n"
	"--b1\r\n"
	"Content-Type: application/octet-stream\r\n"
	"Content-Disposition: attachment; filename=\"q\"\r\n"
	"Content-Language: en\r\n"
	"\r\n"
	"data\r\n"
	"--b1--\r\n";

/* Every prefix of a nested message parses, and the output is balanced. */
static void test_truncated(void **state ATTR_UNUSED)
{
	size_t len = strlen(multipart_sample);

	for (size_t i = 0; i <= len; i++) {
		char *copy = malloc(i + 1);
		struct dump d;

		memcpy(copy, multipart_sample, i);
		dump_init(&d, copy, i);
		assert_true(str_len(d.body) > 0);
		assert_true(d.root->body_size.physical <= i);
		dump_deinit(&d);
		free(copy);
	}
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245 + 12345;
	return rnd_state >> 8;
}

/* Random mutations of the sample: no crash, sizes within the input. */
static void test_malformed(void **state ATTR_UNUSED)
{
	static const char alphabet[] = "-\r\n:;\"\\()<>@,= b1*\x80\xff\t";
	size_t len = strlen(multipart_sample);
	char *buf = malloc(len);

	for (unsigned int round = 0; round < 3000; round++) {
		struct dump d;

		memcpy(buf, multipart_sample, len);
		for (unsigned int j = 0; j < 1 + rnd() % 8; j++)
			buf[rnd() % len] = alphabet[rnd() % (sizeof(alphabet) - 1)];
		dump_init(&d, buf, len - rnd() % 8);
		assert_true(d.root->header_size.physical +
			    d.root->body_size.physical <= len);
		dump_deinit(&d);
	}
	free(buf);
}

static void append_repeat(string_t *str, const char *s, unsigned int n)
{
	while (n-- > 0)
		str_append(str, s);
}

/* Deep nesting is cut at MESSAGE_PARSER_MAX_DEPTH; many parts at
   MESSAGE_PARSER_MAX_PARTS; pool memory stays linear in the input, with
   the part tree bounded by MESSAGE_PARSER_MAX_PARTS. */
#define MEMORY_BOUND(input_size) \
	(64 * (input_size) + 65536 + \
	 2 * MESSAGE_PARSER_MAX_PARTS * sizeof(struct message_part))
static void test_oversized(void **state ATTR_UNUSED)
{
	string_t *msg = str_create(1024);
	unsigned int depth = 0;
	const struct message_part *part;
	struct dump d;

	for (unsigned int i = 0; i < 5000; i++)
		str_printfa(msg, "Content-Type: multipart/mixed; boundary=\"%u\"\n\n--%u\n", i, i);
	str_append(msg, "\nleaf\n");
	dump_init(&d, str_data(msg), str_len(msg));
	for (part = d.root; part->children != NULL; part = part->children)
		depth++;
	assert_true(depth < MESSAGE_PARSER_MAX_DEPTH);
	assert_true(pool_allocated_size(d.pool) < MEMORY_BOUND(str_len(msg)));
	dump_deinit(&d);

	str_clear(msg);
	str_append(msg, "Content-Type: multipart/mixed; boundary=x\n\n");
	append_repeat(msg, "--x\n\n", MESSAGE_PARSER_MAX_PARTS + 50);
	dump_init(&d, str_data(msg), str_len(msg));
	assert_true(d.root->children_count < MESSAGE_PARSER_MAX_PARTS);
	assert_int_equal(d.root->children_count, MESSAGE_PARSER_MAX_PARTS - 1);
	assert_true(pool_allocated_size(d.pool) < MEMORY_BOUND(str_len(msg)));
	dump_deinit(&d);

	/* one huge header line and a long address list */
	str_clear(msg);
	str_append(msg, "Subject: ");
	append_repeat(msg, "x", 1 << 20);
	str_append(msg, "\nTo: ");
	append_repeat(msg, "a@b, (((c))) \"d\" <e@f>, g:;, ", 20000);
	str_append(msg, "\nContent-Type: text/plain");
	append_repeat(msg, "; p=v", 5000);
	str_append(msg, "\n\n");
	dump_init(&d, str_data(msg), str_len(msg));
	assert_true(str_len(d.envelope) > (1 << 20));
	assert_true(pool_allocated_size(d.pool) < MEMORY_BOUND(str_len(msg)));
	dump_deinit(&d);
	str_free(&msg);
}

static void dump_chunked(struct dump *d, const unsigned char *data,
			 size_t size, size_t chunk_max)
{
	struct message_parser *parser;

	d->pool = pool_create("test-mime", 1024);
	parser = message_parser_init(d->pool);
	for (size_t pos = 0; pos < size; ) {
		size_t n = chunk_max == 1 ? 1 : 1 + rnd() % chunk_max;
		if (n > size - pos)
			n = size - pos;
		message_parser_feed(parser, data + pos, n);
		pos += n;
	}
	d->root = message_parser_deinit(&parser);
	assert_null(parser);
	d->envelope = str_create(256);
	d->body = str_create(256);
	imap_envelope_write(d->envelope, d->pool, d->root);
	imap_bodystructure_write(d->body, d->pool, d->root);
}

static void assert_same_chunked(const unsigned char *data, size_t size)
{
	struct dump whole, chunked;

	dump_init(&whole, data, size);
	for (size_t chunk_max = 1; chunk_max <= 64; chunk_max *= 4) {
		dump_chunked(&chunked, data, size, chunk_max);
		assert_string_equal(str_c(chunked.envelope), str_c(whole.envelope));
		assert_string_equal(str_c(chunked.body), str_c(whole.body));
		dump_deinit(&chunked);
	}
	dump_deinit(&whole);
}

/* Feeding one byte at a time or in random chunks gives the same result. */
static void test_streaming(void **state ATTR_UNUSED)
{
	size_t len = strlen(multipart_sample);
	char *buf = malloc(len);

	for (size_t i = 0; i < N_ELEMENTS(known); i++)
		assert_same_chunked((const unsigned char *)known[i].input,
				    strlen(known[i].input));
	assert_same_chunked((const unsigned char *)multipart_sample, len);
	for (unsigned int round = 0; round < 300; round++) {
		memcpy(buf, multipart_sample, len);
		for (unsigned int j = 0; j < 1 + rnd() % 8; j++)
			buf[rnd() % len] = "-\r\n:; b1\t"[rnd() % 10];
		assert_same_chunked((const unsigned char *)buf, len);
	}
	free(buf);
}

/* Memory does not grow with the body: 64 MB of body lines, fed in
   chunks, leave the pool small. */
static void test_body_memory_bounded(void **state ATTR_UNUSED)
{
	static const char header[] =
		"Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n\r\n";
	struct pool *pool = pool_create("test-mime", 1024);
	struct message_parser *parser = message_parser_init(pool);
	struct message_part *root;
	unsigned char chunk[65536];

	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = i % 80 == 79 ? '\n' : 'a' + i % 26;
	message_parser_feed(parser, (const unsigned char *)header, strlen(header));
	for (unsigned int i = 0; i < 1024; i++)
		message_parser_feed(parser, chunk, sizeof(chunk));
	/* one line of 1 MB too */
	for (unsigned int i = 0; i < 16; i++)
		message_parser_feed(parser, (const unsigned char *)"x", 1),
		memset(chunk, 'y', sizeof(chunk)),
		message_parser_feed(parser, chunk, sizeof(chunk));
	message_parser_feed(parser, (const unsigned char *)"\r\n--z--\r\n", 9);
	root = message_parser_deinit(&parser);
	assert_int_equal(root->children_count, 1);
	assert_true(root->children->body_size.physical > 64 * 1024 * 1024);
	assert_true(pool_allocated_size(pool) < 64 * 1024);
	pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_streaming),
		cmocka_unit_test(test_body_memory_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
