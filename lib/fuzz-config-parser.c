/* libFuzzer target: config parser and %variable expansion on arbitrary
   input. Not built by make; build and run with e.g.
     clang -g -O1 -fsanitize=fuzzer,address,undefined -include config.h \
       -Ilib lib/fuzz-config-parser.c lib/config-parser.c lib/var-expand.c \
       lib/lib.c lib/pool.c lib/str.c lib/array.c lib/log.c \
       lib/path-error.c -lcrypto -o fuzz-config-parser
     ./fuzz-config-parser -max_len=4096 -max_total_time=60 */
#include "lib.h"
#include "config-parser.h"
#include "pool.h"
#include "str.h"
#include "var-expand.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *
fuzz_lookup_default(const struct config_node *section ATTR_UNUSED,
		    const char *key, void *context ATTR_UNUSED)
{
	return strcmp(key, "known") == 0 ? "default value" : NULL;
}

static const struct var_expand_table table[] = {
	{ 'u', "user", "User@Example.com" },
	{ 'n', "username", "User" },
	{ 'd', "domain", "Example.com" },
	{ '\0', NULL, NULL }
};

static void expand_values(const struct config_node *section)
{
	const struct config_node *node;
	string_t *str;
	char *error;

	for (node = section->children; node != NULL; node = node->next) {
		if (node->type == CONFIG_NODE_SECTION) {
			expand_values(node);
			continue;
		}
		str = str_create(64);
		(void)var_expand(str, node->value, table, &error);
		free(error);
		(void)var_has_key(node->value, 'u', "user");
		str_free(&str);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_parse_settings set;
	struct pool *pool = pool_create("fuzz", 1024);
	struct config_tree *tree;
	const char *error;
	char *text = x_strndup((const char *)data, size);

	memset(&set, 0, sizeof(set));
	set.lookup_default = fuzz_lookup_default;
	/* small limits, so that the fuzzer reaches them */
	set.limits.max_line_length = 256;
	set.limits.max_value_length = 1024;
	set.limits.max_section_depth = 4;
	set.limits.max_nodes = 200;
	if (config_parse_string(text, "/nonexistent/fuzz.conf", &set, pool,
				&tree, &error) == 0)
		expand_values(tree->root);
	free(text);
	pool_destroy(&pool);
	return 0;
}
