/* Unit tests for auth-penalty.h (the table, with a fake clock) and for
   the penalty as the client protocol applies it (test-harness.h). */
#include "lib.h"
#include "str.h"
#include "auth-penalty.h"
#include "auth-client-connection.h"
#include "test-harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <setjmp.h>
#include <cmocka.h>

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

#define SECS(n) ((uint64_t)(n) * 1000)

/* ---- the table -------------------------------------------------------- */

static void test_penalty_to_secs(void **state ATTR_UNUSED)
{
	static const struct { unsigned int level, secs; } table[] = {
		{ 0, 0 }, { 1, 4 }, { 2, 8 }, { 3, 15 }, { 4, 15 }, { 5, 15 }, { 40, 15 },
	};
	for (size_t i = 0; i < N_ELEMENTS(table); i++)
		assert_int_equal(auth_penalty_to_secs(table[i].level), table[i].secs);
}

static void test_penalty_levels(void **state ATTR_UNUSED)
{
	static const unsigned int expected[] = { 1, 2, 3, 4, 4, 4 };
	struct auth_penalty *p = auth_penalty_create(100, fake_clock);

	fake_now = SECS(1000);
	assert_int_equal(auth_penalty_lookup(p, "192.0.2.1"), 0);
	for (size_t i = 0; i < N_ELEMENTS(expected); i++) {
		/* distinct passwords: each failure counts */
		auth_penalty_failure(p, "192.0.2.1", (uint32_t)i + 1);
		assert_int_equal(auth_penalty_lookup(p, "192.0.2.1"), expected[i]);
		fake_now += SECS(1);
	}
	/* the wait is capped at 15 s */
	assert_int_equal(auth_penalty_to_secs(auth_penalty_lookup(p, "192.0.2.1")), 15);
	/* other IPs are not affected */
	assert_int_equal(auth_penalty_lookup(p, "192.0.2.2"), 0);
	assert_int_equal(auth_penalty_count(p), 1);

	/* a success forgets the IP */
	auth_penalty_success(p, "192.0.2.1");
	assert_int_equal(auth_penalty_lookup(p, "192.0.2.1"), 0);
	assert_int_equal(auth_penalty_count(p), 0);
	auth_penalty_failure(p, "192.0.2.1", 77);
	assert_int_equal(auth_penalty_lookup(p, "192.0.2.1"), 1);
	auth_penalty_destroy(&p);
	assert_null(p);
}

static void test_penalty_decay(void **state ATTR_UNUSED)
{
	static const unsigned int levels[] = { 1, 2, 3, 4 };

	for (size_t i = 0; i < N_ELEMENTS(levels); i++) {
		struct auth_penalty *p = auth_penalty_create(100, fake_clock);
		fake_now = SECS(5000);
		for (unsigned int n = 0; n < levels[i]; n++)
			auth_penalty_failure(p, "2001:db8::1", n + 1);
		uint64_t last = fake_now;
		/* the level stays whole for 15 s after the last failure ... */
		fake_now = last + SECS(15) - 1;
		assert_int_equal(auth_penalty_lookup(p, "2001:db8::1"), levels[i]);
		auth_penalty_expire(p);
		assert_int_equal(auth_penalty_count(p), 1);
		/* ... then is gone, and so is the entry */
		fake_now = last + SECS(15);
		assert_int_equal(auth_penalty_lookup(p, "2001:db8::1"), 0);
		auth_penalty_expire(p);
		assert_int_equal(auth_penalty_count(p), 0);
		auth_penalty_destroy(&p);
	}

	/* a failure after the decay starts again at 1 */
	struct auth_penalty *p = auth_penalty_create(100, fake_clock);
	fake_now = SECS(100);
	auth_penalty_failure(p, "192.0.2.9", 1);
	auth_penalty_failure(p, "192.0.2.9", 2);
	auth_penalty_failure(p, "192.0.2.9", 3);
	fake_now += SECS(20);
	auth_penalty_failure(p, "192.0.2.9", 4);
	assert_int_equal(auth_penalty_lookup(p, "192.0.2.9"), 1);
	/* each failure restarts the 15 s */
	fake_now += SECS(10);
	auth_penalty_failure(p, "192.0.2.9", 5);
	fake_now += SECS(10);
	assert_int_equal(auth_penalty_lookup(p, "192.0.2.9"), 2);
	auth_penalty_destroy(&p);
}

static void test_penalty_ident(void **state ATTR_UNUSED)
{
	static const struct { const char *ip, *ident; } table[] = {
		{ "192.0.2.1", "192.0.2.1" },
		{ "::ffff:192.0.2.1", "192.0.2.1" },
		{ "2001:db8:1:2::1", "2001:db8:1::/48" },
		{ "2001:0db8:0001:ffff:1:2:3:4", "2001:db8:1::/48" },
		{ "2001:db8:2::1", "2001:db8:2::/48" },
		{ "::1", "::/48" },
	};
	static const char *const bad[] = { "", "host.example.com", "192.0.2", "1::2::3", NULL };
	char ident[AUTH_PENALTY_IDENT_SIZE];

	for (size_t i = 0; i < N_ELEMENTS(table); i++) {
		assert_true(auth_penalty_ident(table[i].ip, ident));
		assert_string_equal(ident, table[i].ident);
	}
	for (size_t i = 0; bad[i] != NULL; i++)
		assert_false(auth_penalty_ident(bad[i], ident));
	assert_false(auth_penalty_ident(NULL, ident));

	struct auth_penalty *p = auth_penalty_create(100, fake_clock);
	fake_now = SECS(100);
	/* one /48 is one client */
	auth_penalty_failure(p, "2001:db8:1:2::1", 1);
	auth_penalty_failure(p, "2001:db8:1:ffff::5", 2);
	assert_int_equal(auth_penalty_lookup(p, "2001:db8:1::9"), 2);
	assert_int_equal(auth_penalty_lookup(p, "2001:db8:2::1"), 0);
	/* IPv4 and its mapped form are one client; neighbours are not */
	auth_penalty_failure(p, "192.0.2.1", 1);
	assert_int_equal(auth_penalty_lookup(p, "::ffff:192.0.2.1"), 1);
	assert_int_equal(auth_penalty_lookup(p, "192.0.2.2"), 0);
	/* unparsable addresses get no entry */
	auth_penalty_failure(p, "host.example.com", 1);
	assert_int_equal(auth_penalty_lookup(p, "host.example.com"), 0);
	assert_int_equal(auth_penalty_count(p), 2);
	auth_penalty_destroy(&p);
}

static void test_penalty_checksum_repeat(void **state ATTR_UNUSED)
{
	const char *ip = "198.51.100.7";
	struct auth_penalty *p = auth_penalty_create(100, fake_clock);
	uint32_t a = auth_penalty_checksum("alice", "wrong");

	assert_int_not_equal(a, 0);
	assert_int_not_equal(a, auth_penalty_checksum("alice", "wrong2"));
	assert_int_not_equal(a, auth_penalty_checksum("bob", "wrong"));
	assert_int_equal(a, auth_penalty_checksum("alice", "wrong"));
	assert_int_equal(auth_penalty_checksum("alice", NULL), 0);

	fake_now = SECS(100);
	auth_penalty_failure(p, ip, a);
	assert_int_equal(auth_penalty_lookup(p, ip), 1);
	/* the same user+password again does not escalate */
	auth_penalty_failure(p, ip, a);
	auth_penalty_failure(p, ip, a);
	assert_int_equal(auth_penalty_lookup(p, ip), 1);
	/* a different one does */
	auth_penalty_failure(p, ip, auth_penalty_checksum("alice", "wrong2"));
	assert_int_equal(auth_penalty_lookup(p, ip), 2);
	auth_penalty_failure(p, ip, a);
	assert_int_equal(auth_penalty_lookup(p, ip), 2);
	/* unknown checksums (0) always count */
	auth_penalty_failure(p, ip, 0);
	auth_penalty_failure(p, ip, 0);
	assert_int_equal(auth_penalty_lookup(p, ip), 4);
	auth_penalty_destroy(&p);

	/* only the last 10 failures are remembered: fill the ring behind
	   a, letting the level decay (but not the entry expire) between
	   failures so that the level shows whether a was recognised */
	p = auth_penalty_create(100, fake_clock);
	fake_now = SECS(1000);
	auth_penalty_failure(p, ip, a);
	for (uint32_t i = 1; i <= 9; i++)
		auth_penalty_failure(p, ip, 1000 + i);
	assert_int_equal(auth_penalty_lookup(p, ip), 4);
	fake_now += SECS(15);
	assert_int_equal(auth_penalty_lookup(p, ip), 0);
	/* a is the 10th latest: recognised, no new level */
	auth_penalty_failure(p, ip, a);
	assert_int_equal(auth_penalty_lookup(p, ip), 0);
	/* now a is the latest; ten newer ones push it out */
	for (uint32_t i = 1; i <= 10; i++)
		auth_penalty_failure(p, ip, 2000 + i);
	fake_now += SECS(15);
	assert_int_equal(auth_penalty_lookup(p, ip), 0);
	auth_penalty_failure(p, ip, a);
	assert_int_equal(auth_penalty_lookup(p, ip), 1);
	auth_penalty_destroy(&p);
}

static void test_penalty_bound(void **state ATTR_UNUSED)
{
	struct auth_penalty *p = auth_penalty_create(3, fake_clock);
	char ip[32];

	fake_now = SECS(100);
	auth_penalty_failure(p, "10.0.0.1", 1);
	fake_now++;
	auth_penalty_failure(p, "10.0.0.2", 1);
	fake_now++;
	auth_penalty_failure(p, "10.0.0.3", 1);
	fake_now++;
	/* full: the one updated longest ago goes */
	auth_penalty_failure(p, "10.0.0.4", 1);
	assert_int_equal(auth_penalty_count(p), 3);
	assert_int_equal(auth_penalty_lookup(p, "10.0.0.1"), 0);
	assert_int_equal(auth_penalty_lookup(p, "10.0.0.2"), 1);
	/* an update makes an entry the newest */
	fake_now++;
	auth_penalty_failure(p, "10.0.0.2", 2);
	fake_now++;
	auth_penalty_failure(p, "10.0.0.5", 1);
	assert_int_equal(auth_penalty_count(p), 3);
	assert_int_equal(auth_penalty_lookup(p, "10.0.0.3"), 0);
	assert_int_equal(auth_penalty_lookup(p, "10.0.0.2"), 2);
	assert_int_equal(auth_penalty_lookup(p, "10.0.0.4"), 1);
	assert_int_equal(auth_penalty_lookup(p, "10.0.0.5"), 1);
	/* expired entries make room before anything is evicted */
	fake_now += SECS(15);
	auth_penalty_failure(p, "10.0.0.6", 1);
	assert_int_equal(auth_penalty_count(p), 1);
	auth_penalty_destroy(&p);

	/* the default bound, with a flood of distinct addresses */
	p = auth_penalty_create(AUTH_PENALTY_DEFAULT_MAX_ENTRIES, fake_clock);
	for (unsigned int i = 0; i < AUTH_PENALTY_DEFAULT_MAX_ENTRIES + 500; i++) {
		snprintf(ip, sizeof(ip), "10.%u.%u.%u", (i >> 16) & 0xff,
			 (i >> 8) & 0xff, i & 0xff);
		auth_penalty_failure(p, ip, 1);
	}
	assert_int_equal(auth_penalty_count(p), AUTH_PENALTY_DEFAULT_MAX_ENTRIES);
	assert_int_equal(auth_penalty_lookup(p, "10.0.0.0"), 0);
	assert_int_equal(auth_penalty_lookup(p, "10.0.1.243"), 0);
	assert_int_equal(auth_penalty_lookup(p, "10.0.1.244"), 1);
	auth_penalty_destroy(&p);
}

/* ---- the client protocol ---------------------------------------------- */

static uint64_t real_msecs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run the event loop for msecs of real time (the housekeeping timer that
   starts delayed requests ticks every 500 ms) or until needle arrives. */
static char *run_for(struct harness *h, unsigned int msecs, const char *needle)
{
	uint64_t end = real_msecs() + msecs;

	do {
		harness_run(h);
		if (needle != NULL && strstr(str_c(h->out), needle) != NULL)
			break;
	} while (real_msecs() < end);
	return harness_take(h);
}

/* \0alice\0alicepw, \0alice\0wrong, \0alice\0wrong2 */
#define RESP_OK "AGFsaWNlAGFsaWNlcHc="
#define RESP_WRONG "AGFsaWNlAHdyb25n"
#define RESP_WRONG2 "AGFsaWNlAHdyb25nMg=="
#define AUTH_FROM(id, rip, resp) \
	"AUTH\t" id "\tPLAIN\tservice=smtp\tlip=192.0.2.1\trip=" rip "\tresp=" resp "\n"

static struct auth_penalty *start(struct harness *h, const char *extra)
{
	char *users = users_config();
	char *conf = x_printf("%s%s", extra, users);

	harness_init(h, conf);
	free(conf);
	free(users);
	harness_connect(h, false, false);
	harness_send(h, "VERSION\t1\t2\nCPID\t42\n", false);
	free(harness_take(h));
	struct auth_penalty *p = auth_client_connections_penalty();
	if (p != NULL)
		auth_penalty_set_clock(p, fake_clock);
	fake_now = SECS(10000);
	return p;
}

static void test_protocol_delay_and_reset(void **state ATTR_UNUSED)
{
	struct harness h;
	struct auth_penalty *p = start(&h, "");
	char *out;

	assert_non_null(p);
	harness_send(&h, AUTH_FROM("1", "198.51.100.7", RESP_WRONG), false);
	out = harness_take(&h);
	assert_contains(out, "FAIL\t1\tuser=alice\n");
	free(out);
	assert_int_equal(auth_penalty_lookup(p, "198.51.100.7"), 1);

	/* level 1: the next AUTH from the IP waits 4 s before it starts */
	harness_send(&h, AUTH_FROM("2", "198.51.100.7", RESP_OK), false);
	out = run_for(&h, 700, NULL);
	assert_string_equal(out, "");
	free(out);
	fake_now += SECS(4) - 1;
	out = run_for(&h, 700, NULL);
	assert_string_equal(out, "");
	free(out);
	fake_now += 1;
	out = run_for(&h, 2000, "OK\t2");
	assert_contains(out, "OK\t2\tuser=alice");
	free(out);
	/* the success reset it */
	assert_int_equal(auth_penalty_lookup(p, "198.51.100.7"), 0);
	harness_send(&h, AUTH_FROM("3", "198.51.100.7", RESP_WRONG), false);
	out = harness_take(&h);
	assert_contains(out, "FAIL\t3\tuser=alice\n");
	free(out);
	assert_int_equal(auth_penalty_lookup(p, "198.51.100.7"), 1);

	/* the same wrong password again: delayed, but no higher level */
	harness_send(&h, AUTH_FROM("4", "198.51.100.7", RESP_WRONG), false);
	out = harness_take(&h);
	assert_string_equal(out, "");
	free(out);
	fake_now += SECS(4);
	out = run_for(&h, 2000, "FAIL\t4");
	assert_contains(out, "FAIL\t4\tuser=alice\n");
	free(out);
	assert_int_equal(auth_penalty_lookup(p, "198.51.100.7"), 1);
	/* another wrong password escalates */
	harness_send(&h, AUTH_FROM("5", "198.51.100.7", RESP_WRONG2), false);
	fake_now += SECS(4);
	out = run_for(&h, 2000, "FAIL\t5");
	assert_contains(out, "FAIL\t5\tuser=alice\n");
	free(out);
	assert_int_equal(auth_penalty_lookup(p, "198.51.100.7"), 2);
	harness_deinit(&h);
}

static void test_protocol_no_penalty(void **state ATTR_UNUSED)
{
	struct harness h;
	struct auth_penalty *p = start(&h, "");
	char *out;

	harness_send(&h, AUTH_FROM("1", "198.51.100.7", RESP_WRONG), false);
	free(harness_take(&h));
	assert_int_equal(auth_penalty_lookup(p, "198.51.100.7"), 1);

	/* no-penalty (trusted webmail): not delayed, and its failure does
	   not count; no rip and other IPs: not delayed either */
	harness_send(&h,
		     "AUTH\t2\tPLAIN\tservice=smtp\tno-penalty\trip=198.51.100.7\tresp=" RESP_WRONG2 "\n"
		     "AUTH\t3\tPLAIN\tservice=smtp\tno-penalty\trip=198.51.100.7\tresp=" RESP_OK "\n"
		     "AUTH\t4\tPLAIN\tservice=smtp\tresp=" RESP_WRONG2 "\n"
		     AUTH_FROM("5", "198.51.100.8", RESP_OK), false);
	out = harness_take(&h);
	assert_contains(out, "FAIL\t2\tuser=alice\n");
	assert_contains(out, "OK\t3\tuser=alice");
	assert_contains(out, "FAIL\t4\tuser=alice\n");
	assert_contains(out, "OK\t5\tuser=alice");
	free(out);
	/* the no-penalty success did not reset the IP either */
	assert_int_equal(auth_penalty_lookup(p, "198.51.100.7"), 1);
	harness_deinit(&h);
}

static void test_protocol_cancel_and_disconnect(void **state ATTR_UNUSED)
{
	struct harness h;
	struct auth_penalty *p = start(&h, "");
	char *out;

	harness_send(&h, AUTH_FROM("1", "2001:db8:1::1", RESP_WRONG), false);
	free(harness_take(&h));
	assert_int_equal(auth_penalty_lookup(p, "2001:db8:1:2::2"), 1);
	/* a delayed request can be cancelled; its id may be reused */
	harness_send(&h, AUTH_FROM("2", "2001:db8:1:2::2", RESP_OK) "CANCEL\t2\n"
		     AUTH_FROM("2", "2001:db8:1:2::2", RESP_WRONG2), false);
	out = harness_take(&h);
	assert_string_equal(out, "");
	free(out);
	fake_now += SECS(4);
	out = run_for(&h, 2000, "FAIL\t2");
	assert_string_equal(out, "FAIL\t2\tuser=alice\n");
	free(out);
	/* a disconnect with a delayed request pending */
	harness_send(&h, AUTH_FROM("3", "2001:db8:1::3", RESP_OK), false);
	out = harness_take(&h);
	assert_string_equal(out, "");
	free(out);
	harness_deinit(&h);
}

static void test_protocol_disabled(void **state ATTR_UNUSED)
{
	struct harness h;
	char *out;

	/* Dovecot's way to turn the penalty off */
	assert_null(start(&h, "service anvil {\n"
			  "  unix_listener anvil-auth-penalty {\n"
			  "    mode = 0\n"
			  "  }\n"
			  "}\n"));
	harness_send(&h, AUTH_FROM("1", "198.51.100.7", RESP_WRONG)
		     AUTH_FROM("2", "198.51.100.7", RESP_WRONG2)
		     AUTH_FROM("3", "198.51.100.7", RESP_OK), false);
	out = harness_take(&h);
	assert_contains(out, "FAIL\t1\tuser=alice\n");
	assert_contains(out, "FAIL\t2\tuser=alice\n");
	assert_contains(out, "OK\t3\tuser=alice");
	free(out);
	harness_deinit(&h);

	/* an anvil listener that is usable keeps it on */
	assert_non_null(start(&h, "service anvil {\n"
			      "  unix_listener anvil-auth-penalty {\n"
			      "    mode = 0600\n"
			      "  }\n"
			      "}\n"));
	harness_deinit(&h);
}

static int setup(void **state ATTR_UNUSED)
{
	if (test_harness_setup_dir() < 0)
		return -1;
	write_file("users", "alice:{PLAIN}alicepw:1001:1001::/home/alice::\n");
	return 0;
}

static int teardown(void **state ATTR_UNUSED)
{
	return test_harness_remove_dir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_penalty_to_secs),
		cmocka_unit_test(test_penalty_levels),
		cmocka_unit_test(test_penalty_decay),
		cmocka_unit_test(test_penalty_ident),
		cmocka_unit_test(test_penalty_checksum_repeat),
		cmocka_unit_test(test_penalty_bound),
		cmocka_unit_test(test_protocol_delay_and_reset),
		cmocka_unit_test(test_protocol_no_penalty),
		cmocka_unit_test(test_protocol_cancel_and_disconnect),
		cmocka_unit_test(test_protocol_disabled),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
