/* libFuzzer target: the DIGEST-MD5 digest-response parser, driven through
   the mechanism interface (challenge, then the fuzz input as the client's
   response) against a static passdb. "%N" in the input is replaced by the
   nonce of the challenge so the fuzzer gets past the nonce check.
   Not built by make; build against a configured build directory (the
   mechanism itself is compiled instrumented, ahead of libauth.a), e.g.
     B=/work/build-mech1
     clang -g -O1 -fsanitize=fuzzer,address,undefined -include $B/config.h \
       -Ilib -Ipassdb/schemes -Ipassdb -Iauthd -Imechanisms -Isettings \
       mechanisms/fuzz-digest-md5.c mechanisms/digest-md5.c $B/authd/libauth.a \
       $B/settings/libsettings.a $B/passdb/schemes/libschemes.a \
       $B/lib/libroost.a -levent_pthreads -levent -lcrypto -lcrypt \
       -largon2 -lpthread -o fuzz-digest-md5
     ./fuzz-digest-md5 -max_len=8192 -max_total_time=60 */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "log.h"
#include "roost-settings.h"
#include "sasl-mech.h"
#include "auth.h"
#include "auth-request.h"

#include <stdlib.h>
#include <event2/event.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct sasl_mech sasl_mech_digest_md5;

static struct auth *fuzz_auth;
static struct pool *fuzz_error_pool;
static char fuzz_nonce[64];

static void fuzz_reply_continue(struct auth_request *request ATTR_UNUSED,
				const unsigned char *data, size_t size)
{
	/* the challenge: remember its nonce */
	string_t *str = str_create(size + 1);
	str_append_n(str, data, size);
	const char *p = strstr(str_c(str), "nonce=\"");
	fuzz_nonce[0] = '\0';
	if (p != NULL) {
		p += 7;
		size_t len = strcspn(p, "\"");
		if (len < sizeof(fuzz_nonce)) {
			memcpy(fuzz_nonce, p, len);
			fuzz_nonce[len] = '\0';
		}
	}
	str_free(&str);
}

static void fuzz_reply_success(struct auth_request *request ATTR_UNUSED,
			       const unsigned char *data ATTR_UNUSED,
			       size_t size ATTR_UNUSED)
{
}

static void fuzz_reply_failure(struct auth_request *request ATTR_UNUSED)
{
}

static const struct auth_request_handler fuzz_handler = {
	.reply_continue = fuzz_reply_continue,
	.reply_success = fuzz_reply_success,
	.reply_failure = fuzz_reply_failure,
	.reply_internal_failure = fuzz_reply_failure,
};

static void fuzz_init(void)
{
	static const char config[] =
		"base_dir = /tmp\n"
		"auth_mechanisms = digest-md5\n"
		"auth_realms = example.com\n"
		"passdb {\n driver = static\n args = password=secret\n}\n"
		"userdb {\n driver = static\n args = uid=1 gid=1 home=/tmp\n}\n";
	struct roost_settings *set;
	const char *error;

	fuzz_error_pool = pool_create("fuzz", 256);
	log_init("fuzz");
	log_set_min_level(LOG_LEVEL_ERROR);
	if (roost_settings_read_string(config, "fuzz.conf", &set, fuzz_error_pool, &error) < 0 ||
	    auth_create(event_base_new(), set, &fuzz_auth, &error) < 0)
		log_fatal("fuzz setup: %s", error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz_auth == NULL)
		fuzz_init();
	/* the protocol layer refuses NULs before the mechanism sees them */
	if (memchr(data, '\0', size) != NULL)
		return 0;

	struct auth_request *request =
		auth_request_new(fuzz_auth, &sasl_mech_digest_md5, &fuzz_handler, NULL);
	request->service = "imap";
	auth_request_initial(request, false, NULL, 0);

	string_t *input = str_create(size + 64);
	for (size_t i = 0; i < size; i++) {
		if (data[i] == '%' && i + 1 < size && data[i + 1] == 'N') {
			str_append(input, fuzz_nonce);
			i++;
		} else {
			str_append_c(input, (char)data[i]);
		}
	}
	if (request->state == AUTH_REQUEST_STATE_MECH_CONTINUE)
		auth_request_continue(request, str_data(input), str_len(input));
	str_free(&input);
	auth_request_unref(&request);
	return 0;
}
