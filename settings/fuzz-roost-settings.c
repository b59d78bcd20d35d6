/* libFuzzer target: the whole configuration reader (parse, bind, check,
   print) on arbitrary input. Not built by make; see
   lib/fuzz-config-parser.c for how to build (add the settings/ sources,
   lib/settings.c and -Isettings). */
#include "lib.h"
#include "roost-settings.h"
#include "pool.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pool *err_pool = pool_create("fuzz", 1024);
	struct roost_settings *set;
	const char *error;
	char *text = x_strndup((const char *)data, size);

	/* relative includes resolve under a directory that doesn't exist */
	if (roost_settings_read_string(text, "/nonexistent/fuzz.conf", &set,
				       err_pool, &error) == 0) {
		string_t *out = str_create(1024);
		roost_settings_print(set, true, out);
		roost_settings_print(set, false, out);
		str_free(&out);
		roost_settings_free(&set);
	}
	free(text);
	pool_destroy(&err_pool);
	return 0;
}
