/* mime-dump FILE: print a message's IMAP ENVELOPE and BODYSTRUCTURE as
   "ENVELOPE <x>\nBODYSTRUCTURE <y>\n" (for comparing with Dovecot). */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "message-parser.h"
#include "imap-envelope.h"
#include "imap-bodystructure.h"

#include <stdio.h>

int main(int argc, char *argv[])
{
	string_t *out = str_create(1024);
	struct message_parser *parser;
	struct message_part *root;
	struct pool *pool;
	char buf[8192];
	size_t n;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "Usage: mime-dump FILE\n");
		return 2;
	}
	if ((f = fopen(argv[1], "rb")) == NULL) {
		fprintf(stderr, "fopen(%s) failed: %s\n", argv[1], strerror(errno));
		return 1;
	}
	/* the parser streams: the file is never held in memory whole */
	pool = pool_create("mime-dump", 16384);
	parser = message_parser_init(pool);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		message_parser_feed(parser, (const unsigned char *)buf, n);
	root = message_parser_deinit(&parser);
	if (ferror(f)) {
		fprintf(stderr, "fread(%s) failed: %s\n", argv[1], strerror(errno));
		return 1;
	}
	fclose(f);

	str_append(out, "ENVELOPE ");
	imap_envelope_write(out, pool, root);
	str_append(out, "\nBODYSTRUCTURE ");
	imap_bodystructure_write(out, pool, root);
	str_append_c(out, '\n');
	fwrite(str_data(out), 1, str_len(out), stdout);
	pool_destroy(&pool);
	str_free(&out);
	return 0;
}
